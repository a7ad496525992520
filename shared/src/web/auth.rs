//! The token check: `Authorization: Bearer <token>` or `?token=<token>` (calendar and feed
//! readers can only put it in the URL), compared in constant time. The token is never logged.
//! A browser that opened a page with `?token=` gets it back as an HttpOnly, same-site cookie,
//! so the dashboard's own links work without carrying the token in every URL.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The read side's token (`None`: no check; then only loopback or IAM-authorized callers
/// reach it).
#[derive(Clone, Default)]
pub struct TokenCheck(Option<Arc<str>>);

impl TokenCheck {
    pub fn new(token: Option<String>) -> TokenCheck {
        TokenCheck(token.map(Arc::from))
    }
}

pub async fn require_token(
    State(TokenCheck(token)): State<TokenCheck>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = token.as_deref() else {
        return next.run(request).await;
    };
    let is_expected = |offered: &str| bool::from(offered.as_bytes().ct_eq(expected.as_bytes()));
    let from_query = query_token(&request);
    if bearer(&request).is_some_and(|t| is_expected(&t))
        || cookie_token(&request).is_some_and(|t| is_expected(&t))
    {
        next.run(request).await
    } else if from_query.as_deref().is_some_and(is_expected) {
        let mut response = next.run(request).await;
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            url::form_urlencoded::byte_serialize(expected.as_bytes()).collect::<String>()
        );
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        response
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid token is required (Authorization: Bearer <token>, or ?token=)\n",
        )
            .into_response()
    }
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_owned())
}

/// The cookie a browser got when it opened a page with `?token=`.
const COOKIE: &str = "statusrelay_token";

fn cookie_token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| {
                url::form_urlencoded::parse(format!("t={value}").as_bytes())
                    .map(|(_, decoded)| decoded.into_owned())
                    .next()
                    .unwrap_or_default()
            })
        })
}

fn query_token(request: &Request) -> Option<String> {
    url::form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
}

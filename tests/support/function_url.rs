//! A Lambda function URL on loopback: each HTTP request becomes the payload 2.0 event the
//! service would send, goes to the function through the runtime API, and its response comes
//! back as HTTP. A browser can then use a function as it would use the deployed URL.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::lambda::RuntimeApi;

pub const DOMAIN: &str = "abcdefghij.lambda-url.us-east-1.on.aws";

/// The event a function URL sends for a request (payload format 2.0). `headers` names are
/// lower case, as the service sends them.
pub fn request_event(method: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut header_map = Map::new();
    header_map.insert("host".into(), DOMAIN.into());
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        // The service sets the function URL's own host, whatever the client sent.
        if name == "host" {
            continue;
        }
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| Value::from(c.trim())));
            continue;
        }
        // Repeated headers arrive joined by commas.
        let joined = match header_map.get(&name).and_then(Value::as_str) {
            Some(before) => format!("{before},{value}"),
            None => (*value).to_owned(),
        };
        header_map.insert(name, joined.into());
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": DOMAIN,
            "domainPrefix": "abcdefghij",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "statusrelay-tests"
            },
            "requestId": "f6a1c3b0-0000-4000-8000-000000000000",
            "routeKey": "$default",
            "stage": "$default",
            "time": "07/Dec/2026:12:00:00 +0000",
            "timeEpoch": 1_796_644_800_000_i64
        },
        "isBase64Encoded": false
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        let params: Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    event
}

/// A function URL response, decoded.
#[derive(Debug)]
pub struct UrlResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

impl UrlResponse {
    pub fn of(response: &Value) -> UrlResponse {
        let body = response["body"].as_str().unwrap_or_default();
        let body = if response["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("base64 body")
        } else {
            body.as_bytes().to_vec()
        };
        UrlResponse {
            status: response["statusCode"].as_u64().expect("statusCode") as u16,
            headers: response["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            cookies: response["cookies"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a text body")
    }
}

/// Serves the function behind `api` on a loopback port until the test ends.
pub async fn serve(api: Arc<RuntimeApi>) -> SocketAddr {
    let app = Router::new().fallback(forward).with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn forward(State(api): State<Arc<RuntimeApi>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let target = request
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let borrowed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let event = request_event(&method, &target, &borrowed);
    let reply = match api.invoke(&event).await {
        Ok(reply) => UrlResponse::of(&reply),
        Err(error) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(error))
                .unwrap();
        }
    };
    let mut response = Response::builder()
        .status(reply.status)
        .body(Body::from(reply.body))
        .unwrap();
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    for cookie in &reply.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append("set-cookie", value);
        }
    }
    response
}

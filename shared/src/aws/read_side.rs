//! The dashboard function's core: who may read (a token kept in SSM, or IAM in front of the
//! function URL) and the read side's router over the table ([`super::dashboard`]), the same
//! router and pages the watcher serves locally.

use std::sync::Arc;

use axum::Router;

use super::dashboard::TableReads;
use super::table::Table;
use crate::config::ProviderConfig;
use crate::web::{self, ReadSide, Site, TokenCheck};

/// How requests to the function URL are let in (`DASHBOARD_AUTH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The URL is public; every request but the static assets carries the token (bearer
    /// header, `?token=`, or the cookie a `?token=` visit sets), as `http_token` locally.
    Token(String),
    /// The function URL's `AWS_IAM` auth: only signed requests of allowed principals arrive.
    Iam,
}

/// Access as the template configures it: `DASHBOARD_AUTH` (`token`, the default, or
/// `aws_iam`) and, for a token, the SSM parameter named by `DASHBOARD_TOKEN_PARAMETER`.
pub async fn access_from_env(ssm: &aws_sdk_ssm::Client) -> Result<Access, String> {
    let mode = std::env::var("DASHBOARD_AUTH").unwrap_or_else(|_| "token".to_owned());
    match mode.trim().to_ascii_lowercase().as_str() {
        "aws_iam" => Ok(Access::Iam),
        "token" => {
            let name = super::required_env("DASHBOARD_TOKEN_PARAMETER")?;
            let token = crate::ssm::fetch_one(ssm, &name).await?.ok_or_else(|| {
                format!(
                    "the dashboard's token parameter {name} does not exist: create it with \
                     `aws ssm put-parameter --name {name} --type SecureString --value <token>`"
                )
            })?;
            let token = token.trim().to_owned();
            // A short token in a public URL is a guessable password.
            if token.len() < 16 {
                return Err(format!(
                    "the dashboard's token in {name} has {} characters; use at least 16",
                    token.len()
                ));
            }
            Ok(Access::Token(token))
        }
        other => Err(format!(
            "DASHBOARD_AUTH is {other:?}; expected token or aws_iam"
        )),
    }
}

/// The dashboard's site: the read routes over the table, behind `access`.
pub fn router(providers: Vec<ProviderConfig>, table: Table, shards: u32, access: Access) -> Router {
    web::set_site(Site {
        deliveries: false,
        served_by: "the statusrelay dashboard function",
    });
    let token = match access {
        Access::Token(token) => TokenCheck::new(Some(token)),
        Access::Iam => TokenCheck::default(),
    };
    let reads = Arc::new(TableReads::new(table, providers.clone(), shards));
    let side = Arc::new(ReadSide::new(providers, reads));
    web::finish(web::read_routes(side, token))
}

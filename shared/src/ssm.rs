//! Parameter Store: configs kept in SSM (`STATUSRELAY_CONFIG=ssm:/name`) and `ssm:NAME`
//! secrets inside a config, fetched (decrypted) before the config is parsed so that parsing
//! stays synchronous and its errors keep their file:line:column.

use std::collections::HashMap;
use std::path::Path;

use crate::config::{Config, ConfigError, Scope, Secrets, intake_token_references, ssm_references};
use crate::sources::error_chain;

/// `GetParameters` takes at most ten names.
const BATCH: usize = 10;

/// Loads a config from `ssm:<parameter>` or a file, then (for [`Scope::Everything`]) resolves
/// its `ssm:` references.
pub async fn load_config(
    source: &str,
    ssm: &aws_sdk_ssm::Client,
    scope: Scope,
) -> Result<Config, ConfigError> {
    let failure = |message: String| ConfigError {
        path: source.into(),
        position: None,
        message,
    };
    let text = match source.strip_prefix("ssm:") {
        Some(name) => fetch(ssm, &[name.to_owned()])
            .await
            .map_err(failure)?
            .remove(name)
            .ok_or_else(|| {
                failure(format!(
                    "SSM parameter {name} was not found or is not readable"
                ))
            })?,
        None => std::fs::read_to_string(source)
            .map_err(|e| failure(format!("cannot read config: {e}")))?,
    };
    match scope {
        Scope::Providers => Config::parse_providers(Path::new(source), &text),
        Scope::Intake => {
            let secrets = fetch_named(&intake_token_references(&text), ssm)
                .await
                .map_err(failure)?;
            Config::parse_intake(Path::new(source), &text, &secrets)
        }
        Scope::Everything => {
            let secrets = fetch_references(&text, ssm).await.map_err(failure)?;
            Config::parse_with(Path::new(source), &text, &secrets)
        }
    }
}

/// One parameter's value (decrypted); `None` when it does not exist or is not readable.
pub async fn fetch_one(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>, String> {
    Ok(fetch(ssm, &[name.to_owned()]).await?.remove(name))
}

/// Fetches every `ssm:` reference in a config's text. Missing parameters are left out, so
/// the parser reports them at their position.
pub async fn fetch_references(text: &str, ssm: &aws_sdk_ssm::Client) -> Result<Secrets, String> {
    fetch_named(&ssm_references(text), ssm).await
}

/// The secrets behind `names` (none fetched when there are none).
async fn fetch_named(names: &[String], ssm: &aws_sdk_ssm::Client) -> Result<Secrets, String> {
    if names.is_empty() {
        return Ok(Secrets::default());
    }
    Ok(Secrets {
        ssm: fetch(ssm, names).await?,
    })
}

async fn fetch(
    ssm: &aws_sdk_ssm::Client,
    names: &[String],
) -> Result<HashMap<String, String>, String> {
    let mut values = HashMap::new();
    for chunk in names.chunks(BATCH) {
        let output = ssm
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| format!("cannot read SSM parameters: {}", error_chain(&e)))?;
        for parameter in output.parameters() {
            if let (Some(name), Some(value)) = (parameter.name(), parameter.value()) {
                values.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    Ok(values)
}

//! Where the Lambdas read their configuration: a bundled file, or an SSM parameter so it can
//! change without a redeploy.

use std::path::Path;

use crate::config::{Config, ConfigError};

/// `ssm:<parameter name>` or a file path.
pub async fn load(source: &str, ssm: &aws_sdk_ssm::Client) -> Result<Config, ConfigError> {
    let Some(name) = source.strip_prefix("ssm:") else {
        return Config::load(Path::new(source));
    };
    let failure = |message: String| ConfigError {
        path: source.into(),
        position: None,
        message,
    };
    let output = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            failure(format!(
                "cannot read the SSM parameter: {}",
                crate::sources::error_chain(&e)
            ))
        })?;
    let text = output
        .parameter()
        .and_then(|p| p.value())
        .ok_or_else(|| failure("the SSM parameter has no value".into()))?;
    Config::parse(Path::new(source), text)
}

//! Standard Webhooks (v1) signatures: HMAC-SHA256 over `{id}.{timestamp}.{body}`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A webhook signing secret. Never printed.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Accepts the spec's `whsec_<base64>` form. Messages never include the value.
    pub fn parse(secret: &str) -> Result<SigningKey, String> {
        let Some(encoded) = secret.strip_prefix("whsec_") else {
            return Err(
                "must be a Standard Webhooks secret: \"whsec_\" followed by base64 (e.g. `openssl rand -base64 32`)"
                    .into(),
            );
        };
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "the part after \"whsec_\" is not valid base64".to_owned())?;
        if key.len() < 16 {
            return Err(format!(
                "the key is {} bytes; use at least 24 random bytes",
                key.len()
            ));
        }
        Ok(SigningKey(key))
    }

    /// The MAC over the signed content `{id}.{timestamp}.{body}`.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header value for one attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// Checks a `webhook-signature` header (space-separated list) in constant time.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|candidate| {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(expected) = STANDARD.decode(encoded) else {
                return false;
            };
            self.mac(id, timestamp, body)
                .verify_slice(&expected)
                .is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let key = SigningKey::parse(SECRET).unwrap();
        assert_eq!(
            key.sign(ID, TIMESTAMP, BODY),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn verify_accepts_rotated_lists_and_rejects_tampering() {
        let key = SigningKey::parse(SECRET).unwrap();
        let good = key.sign(ID, TIMESTAMP, BODY);
        assert!(key.verify(ID, TIMESTAMP, BODY, &format!("v1,bm9wZQ== {good}")));
        assert!(!key.verify(ID, TIMESTAMP + 1, BODY, &good));
        assert!(!key.verify(ID, TIMESTAMP, b"{}", &good));
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        let err = SigningKey::parse("hunter2-hunter2-hunter2").unwrap_err();
        assert!(!err.contains("hunter2"));
        assert!(SigningKey::parse("whsec_%%%").is_err());
        assert_eq!(
            format!("{:?}", SigningKey::parse(SECRET).unwrap()),
            "SigningKey(<redacted>)"
        );
    }
}

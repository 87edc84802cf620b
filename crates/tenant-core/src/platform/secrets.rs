//! Secrets a brand stores (its SMTP password, later its payment keys) are sealed with
//! AES-256-GCM under the server's encryption key before they reach a store, so a copy of a
//! store or a backup does not reveal them. A sealed value names the key it was sealed with
//! (the first bytes of the key's SHA-256), so a server holding another key says so instead
//! of failing obscurely; the purpose is bound in as associated data, so a sealed value
//! cannot be moved to another field.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The length of an encryption key, in bytes.
pub const KEY_LEN: usize = 32;
const FORMAT: &str = "v1";

/// The server's encryption key.
pub struct SecretKey {
    key: LessSafeKey,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<SecretKey> {
        if bytes.len() != KEY_LEN {
            return Err(Error::Invalid(format!(
                "an encryption key is {KEY_LEN} bytes, this one is {}",
                bytes.len()
            )));
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| Error::Invalid("the encryption key is not usable".to_owned()))?;
        let digest = Sha256::digest(bytes);
        Ok(SecretKey {
            key: LessSafeKey::new(key),
            id: digest[..4].iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    /// A key from its text form: the 32 bytes in base64 (standard or URL-safe, padding
    /// optional), surrounding white space ignored.
    pub fn from_text(text: &str) -> Result<SecretKey> {
        let text = text.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(text.replace('+', "-").replace('/', "_"))
            .map_err(|e| Error::Invalid(format!("the encryption key is not base64: {e}")))?;
        SecretKey::from_bytes(&bytes)
    }

    /// A new random key in its text form.
    pub fn generate_text() -> Result<String> {
        let mut bytes = [0_u8; KEY_LEN];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Invalid(format!("no randomness for a new key: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A short name of the key (not secret), as sealed values carry it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plain` for `purpose`.
    pub fn seal(&self, purpose: &str, plain: &str) -> Result<String> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::Invalid(format!("no randomness to seal a secret: {e}")))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::Invalid("a secret could not be sealed".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{FORMAT}.{}.{}",
            self.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens a value sealed for `purpose`; the error says whether another key sealed it.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String> {
        let mut pieces = sealed.splitn(3, '.');
        let (Some(FORMAT), Some(id), Some(body)) = (pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(Error::Invalid(
                "the stored secret is not in a known form".to_owned(),
            ));
        };
        if id != self.id {
            return Err(Error::Invalid(format!(
                "the stored secret was sealed with another encryption key (key {id}, this server has key {}): give every server the same encryption_key, or enter the secret again",
                self.id
            )));
        }
        let mut data = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Error::Invalid("the stored secret is damaged".to_owned()))?;
        if data.len() < NONCE_LEN {
            return Err(Error::Invalid("the stored secret is damaged".to_owned()));
        }
        let mut nonce = [0_u8; NONCE_LEN];
        nonce.copy_from_slice(&data[..NONCE_LEN]);
        let mut cipher = data.split_off(NONCE_LEN);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut cipher,
            )
            .map_err(|_| Error::Invalid("the stored secret is damaged".to_owned()))?;
        String::from_utf8(plain.to_vec())
            .map_err(|_| Error::Invalid("the stored secret is damaged".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_text(&SecretKey::generate_text().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_purpose() {
        let one = key();
        let sealed = one.seal("smtp_password", "hunter2").unwrap_or_default();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            one.open("smtp_password", &sealed).ok().as_deref(),
            Some("hunter2")
        );
        assert!(one.open("payment_key", &sealed).is_err());
        let other = key();
        let refused = other
            .open("smtp_password", &sealed)
            .err()
            .map(|e| e.to_string());
        assert!(refused.is_some_and(|m| m.contains("another encryption key")));
        // The same secret sealed twice looks different.
        assert_ne!(
            sealed,
            one.seal("smtp_password", "hunter2").unwrap_or_default()
        );
        let mut tampered = sealed.clone();
        tampered.push('A');
        assert!(one.open("smtp_password", &tampered).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretKey::from_text("short").is_err());
        assert!(SecretKey::from_text("not base64 at all!").is_err());
        let text = SecretKey::generate_text().unwrap_or_default();
        let standard = text.replace('-', "+").replace('_', "/") + "=";
        let a = SecretKey::from_text(&text).map(|k| k.id().to_owned()).ok();
        let b = SecretKey::from_text(&standard)
            .map(|k| k.id().to_owned())
            .ok();
        assert!(a.is_some() && a == b);
    }
}

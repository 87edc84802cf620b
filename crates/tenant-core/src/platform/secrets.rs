//! Secrets a brand stores (its SMTP password, later its payment keys) are sealed with
//! AES-256-GCM under the server's encryption key before they reach a store, so a copy of a
//! store or a backup does not reveal them. A sealed value names the key it was sealed with
//! (the first bytes of the key's SHA-256), so a server holding another key says so instead
//! of failing obscurely; the purpose is bound in as associated data, so a sealed value
//! cannot be moved to another field.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hmac};
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
    /// For [`SecretKey::mac`]: HMAC-SHA256 under a key derived from the same bytes.
    mac: hmac::Key,
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
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, bytes),
            b"tasksession message authentication",
        );
        Ok(SecretKey {
            key: LessSafeKey::new(key),
            mac: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
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

    /// A new random key (for tests).
    #[cfg(test)]
    pub(crate) fn random() -> SecretKey {
        SecretKey::from_text(&SecretKey::generate_text().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
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

    /// An authentication code of `data` for `purpose` (HMAC-SHA256): made and checked only
    /// with this key, for tokens that must be short.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.mac);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(data);
        let tag = context.sign();
        let mut out = [0_u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether `code` is the start (at least 8 bytes) of [`SecretKey::mac`] of `data`,
    /// compared in constant time.
    pub fn verify_mac(&self, purpose: &str, data: &[u8], code: &[u8]) -> bool {
        let full = self.mac(purpose, data);
        code.len() >= 8
            && code.len() <= full.len()
            && constant_time::verify_slices_are_equal(&full[..code.len()], code).is_ok()
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
        SecretKey::random()
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
    fn a_mac_checks_only_with_its_key_purpose_and_data() {
        let one = key();
        let code = one.mac("reply", b"abc");
        assert!(one.verify_mac("reply", b"abc", &code[..10]));
        assert!(!one.verify_mac("reply", b"abd", &code[..10]));
        assert!(!one.verify_mac("other", b"abc", &code[..10]));
        assert!(!one.verify_mac("reply", b"abc", &code[..4]), "too short");
        assert!(!key().verify_mac("reply", b"abc", &code[..10]));
        let mut flipped = code;
        flipped[3] ^= 1;
        assert!(!one.verify_mac("reply", b"abc", &flipped[..10]));
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

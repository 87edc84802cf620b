//! The verifying keys a build trusts, by key id, and the signing-key file the vendor's tool
//! keeps.
//!
//! Release builds trust only the vendor keys compiled in below ([`VENDOR_KEYS`]); more than one
//! can be listed, so a key can be rotated without invalidating licences already issued. The
//! `dev-keys` feature also trusts the committed development key, whose private half is in
//! `keys/development-signing-key.txt` so that tests and demos can issue licences. Nothing at
//! run time can add a key to [`Keyring::builtin`].

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::armour::{self, ArmourError};

/// Vendor verifying keys trusted by every build: `(key id, Ed25519 public key)`.
/// Add a new key here (keep the old one) to rotate.
pub const VENDOR_KEYS: &[(&str, [u8; 32])] = &[("vendor-2026-11", VENDOR_2026_11)];

const VENDOR_2026_11: [u8; 32] = [
    0x31, 0x37, 0x6a, 0x47, 0xe4, 0x91, 0x5a, 0xc9, 0x09, 0x83, 0x3b, 0x89, 0x25, 0x5a, 0xd5, 0xef,
    0xf1, 0x78, 0x01, 0xdf, 0x27, 0x5b, 0xf3, 0x58, 0x7f, 0x71, 0xea, 0x5a, 0x8e, 0x2a, 0x15, 0x17,
];

/// The label of a signing-key file's armour.
pub const SIGNING_KEY_LABEL: &str = "TASK SESSION LICENCE SIGNING KEY";

/// The committed development signing key (its public half is trusted only with `dev-keys`).
#[cfg(feature = "dev-keys")]
pub const DEVELOPMENT_SIGNING_KEY: &str = include_str!("../keys/development-signing-key.txt");

/// The name of a signing key, carried in every licence: 1 to 32 of `a-z`, `0-9`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks the spelling of a key id.
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = (1..=32).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(KeyId(text.to_owned()))
        } else {
            Err(format!(
                "key id '{text}' must be 1 to 32 characters of a-z, 0-9 and '-'"
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of trusted verifying keys.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<(KeyId, VerifyingKey)>,
}

impl Keyring {
    /// The keys this build trusts: the vendor's, plus the development key with `dev-keys`.
    pub fn builtin() -> Self {
        let mut keys: Vec<(KeyId, VerifyingKey)> = VENDOR_KEYS
            .iter()
            .filter_map(|(id, bytes)| {
                Some((
                    KeyId::parse(id).ok()?,
                    VerifyingKey::from_bytes(bytes).ok()?,
                ))
            })
            .collect();
        keys.extend(development_key());
        Keyring { keys }
    }

    /// A keyring of exactly these keys (the vendor's tool and tests; the server uses
    /// [`Keyring::builtin`]).
    pub fn from_keys(keys: impl IntoIterator<Item = (KeyId, VerifyingKey)>) -> Self {
        Keyring {
            keys: keys.into_iter().collect(),
        }
    }

    /// The verifying key for `id`, if trusted.
    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(key_id, _)| key_id == id)
            .map(|(_, key)| key)
    }

    /// The ids of every trusted key.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|(id, _)| id)
    }
}

/// The development key's public half: trusted only in `dev-keys` builds.
#[cfg(feature = "dev-keys")]
fn development_key() -> Option<(KeyId, VerifyingKey)> {
    let dev = SigningKeyFile::parse(DEVELOPMENT_SIGNING_KEY.as_bytes()).ok()?;
    Some((dev.key_id.clone(), dev.verifying_key()))
}

#[cfg(not(feature = "dev-keys"))]
fn development_key() -> Option<(KeyId, VerifyingKey)> {
    None
}

/// A vendor signing key as kept on disk by `tasksession-licence keygen`.
pub struct SigningKeyFile {
    /// The id licences signed with this key carry.
    pub key_id: KeyId,
    signing_key: SigningKey,
}

impl fmt::Debug for SigningKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyFile")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKeyFile {
    /// A key from 32 secret bytes (from the system's random source when generating).
    pub fn from_seed(key_id: KeyId, seed: [u8; 32]) -> Self {
        SigningKeyFile {
            key_id,
            signing_key: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads a signing-key file.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let block = armour::parse(bytes, SIGNING_KEY_LABEL).map_err(|error| match error {
            ArmourError::NoBlock(found) => format!("not a signing key file ({found})"),
            ArmourError::Malformed(detail) => format!("damaged signing key file ({detail})"),
        })?;
        let key_id = match block.headers.as_slice() {
            [(name, value)] if name == "Key-Id" => KeyId::parse(value)?,
            _ => return Err("signing key file must have exactly one 'Key-Id' header".to_owned()),
        };
        let [(_, body)] = block.sections.as_slice() else {
            return Err("signing key file must have exactly one section".to_owned());
        };
        let seed: [u8; 32] = armour::decode(body)
            .map_err(|error| format!("signing key is not valid base64 ({error})"))?
            .try_into()
            .map_err(|_| "signing key must be 32 bytes".to_owned())?;
        Ok(Self::from_seed(key_id, seed))
    }

    /// The file's text; it holds the secret key, so write it with mode 0600.
    pub fn to_text(&self) -> String {
        armour::write(
            SIGNING_KEY_LABEL,
            &[("Key-Id", self.key_id.as_str())],
            &[("", self.signing_key.as_bytes())],
        )
    }

    /// The public half, for [`VENDOR_KEYS`].
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// Signs `message` (a licence payload).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.signing_key.sign(message).to_bytes()
    }
}

//! Task Session licences: the file format, the three plans, Ed25519 signatures and the
//! licence's state over time.
//!
//! Pure by design: callers hand in the file's bytes, the current time and the last time the
//! platform saw, and get a typed [`Verdict`] back. No I/O, no clock, no network, so every
//! state can be tested with an injected time and the result is the same offline.

mod armour;
mod error;
mod keyring;
mod licence;
mod plan;

pub use armour::normalised_lines;
pub use error::{LicenceError, Result};
pub use keyring::{KeyId, Keyring, SigningKeyFile, VENDOR_KEYS};
pub use licence::{
    Assessment, ClockWentBackwards, FORMAT_VERSION, GRACE_DAYS, Licence, LicenceRequest,
    LicenceState, Unsigned, Verdict, assess, is_domain_name, issue, one_year_after, read_unsigned,
    verify,
};
pub use plan::{Plan, UnknownPlan};

#[cfg(feature = "dev-keys")]
pub use keyring::DEVELOPMENT_SIGNING_KEY;
#[cfg(feature = "dev-keys")]
pub use licence::issue_with_development_key;

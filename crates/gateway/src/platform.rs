//! Opening the platform for a command: the licence is judged before any store is touched,
//! then again against the latest time the platform has seen, so a clock set back never
//! extends a licence. Also the mapping of tenant-core errors to exit codes and the public
//! base address used in links.

use secrecy::ExposeSecret as _;
use tenant_core::{Backend, Error, Hostname, Platform, Standing};
use time::OffsetDateTime;

use crate::config::Config;
use crate::licence;
use crate::outcome::Failure;

/// The platform, opened and migrated, with the licence standing judged now.
#[derive(Debug)]
pub struct Opened {
    /// The registry and stores.
    pub platform: Platform,
    /// What the licence allows now.
    pub standing: Standing,
}

/// The configured backend.
pub fn backend(config: &Config) -> Result<Backend, Failure> {
    let url = config
        .database_url
        .as_ref()
        .map(|url| url.expose_secret().to_owned());
    Backend::from_url(url.as_deref(), &config.data_dir).map_err(failure)
}

/// Checks the licence, opens the platform store (bringing it up to date) and judges the
/// licence again no earlier than the last time seen.
pub async fn open(config: &Config) -> Result<Opened, Failure> {
    licence::installed_standing(config, None)?;
    let platform = Platform::open(&backend(config)?).await.map_err(failure)?;
    let now = OffsetDateTime::now_utc();
    let previous = platform.record_last_seen(now).await.map_err(failure)?;
    let standing = licence::installed_standing(config, previous)?;
    Ok(Opened { platform, standing })
}

/// The exit code PRODUCT.md gives each kind of failure: 2 for malformed input, 1 for a
/// well-formed request that was refused or failed.
pub fn failure(error: Error) -> Failure {
    let message = error.to_string();
    match error {
        Error::Invalid(_) | Error::Field { .. } | Error::Name(_) | Error::DatabaseUrl(_) => {
            Failure::BadInput(message)
        }
        Error::NotLicensed(_)
        | Error::Unauthenticated(_)
        | Error::SecondFactorRequired
        | Error::Forbidden(_)
        | Error::NotFound(_)
        | Error::Conflict(_)
        | Error::StoreTooNew { .. }
        | Error::StoreBehind(_)
        | Error::Io { .. }
        | Error::Database(_)
        | Error::PasswordHash(_)
        | Error::Random(_) => Failure::Refused(message),
    }
}

/// `https://DOMAIN` plus `:PORT` when the public HTTPS port is not 443; `http://` (with the
/// HTTP port) only for `localhost` names in development mode.
pub fn public_base(config: &Config, domain: &Hostname, standing: &Standing) -> String {
    let name = domain.as_str();
    let is_localhost = name == "localhost" || name.ends_with(".localhost");
    if is_localhost && *standing == Standing::Development {
        let port = config.listen.http.port();
        return match port {
            80 | 0 => format!("http://{name}"),
            port => format!("http://{name}:{port}"),
        };
    }
    // A listener on port 0 gets its port at start; links then assume 443 (set
    // public_https_port when clients use another).
    let port = config
        .public_https_port
        .unwrap_or_else(|| config.listen.https.port());
    match port {
        443 | 0 => format!("https://{name}"),
        port => format!("https://{name}:{port}"),
    }
}

/// A runtime for a one-shot command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Refused(format!("cannot start the async runtime: {e}")))
}

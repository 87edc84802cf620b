//! Opening the platform for a command: the licence is judged before any store is touched,
//! then again against the latest time the platform has seen, so a clock set back never
//! extends a licence. Also the mapping of tenant-core errors to exit codes and the public
//! base address used in links.

use secrecy::ExposeSecret as _;
use tenant_core::objects::{self, FileLimits, FileStore, S3Settings};
use tenant_core::platform::secrets::SecretKey;
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
    platform.use_sealing_key(encryption_key(config)?);
    platform.use_file_store(file_store(config)?);
    let now = OffsetDateTime::now_utc();
    let previous = platform.record_last_seen(now).await.map_err(failure)?;
    let standing = licence::installed_standing(config, previous)?;
    Ok(Opened { platform, standing })
}

/// Largest file an S3 store takes: content is moved to its address with one copy, which
/// S3 allows up to 5 GiB.
const S3_LARGEST_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// The configured file store (`[files]`), with the limits of what goes into it.
pub fn file_store(config: &Config) -> Result<FileStore, Failure> {
    let files = &config.files;
    let limits = FileLimits {
        max_upload_bytes: config.limits.max_upload_bytes,
        brand_quota_bytes: files.brand_quota_bytes,
    };
    match files.store.as_str() {
        "s3" => {
            let bucket = files.s3_bucket.clone().ok_or_else(|| {
                Failure::BadInput(
                    "files.s3_bucket: set the bucket when files.store is s3".to_owned(),
                )
            })?;
            if limits.max_upload_bytes > S3_LARGEST_COPY {
                return Err(Failure::BadInput(format!(
                    "limits.max_upload_bytes is {} but an S3 file store takes files of 5 GiB at most",
                    limits.max_upload_bytes
                )));
            }
            let settings = S3Settings {
                endpoint: files.s3_endpoint.clone(),
                region: files.s3_region.clone(),
                bucket,
                access_key_id: files.s3_access_key_id.clone(),
                secret_access_key: files
                    .s3_secret_access_key
                    .as_ref()
                    .map(|secret| secret.expose_secret().to_owned()),
            };
            FileStore::s3(&settings, limits).map_err(failure)
        }
        _ => {
            FileStore::local(&objects::default_local_dir(&config.data_dir), limits).map_err(failure)
        }
    }
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
        | Error::Unavailable(_)
        | Error::DatabaseUnreachable { .. }
        | Error::StoreMissing(_)
        | Error::StoreUnusable(_)
        | Error::PasswordHash(_)
        | Error::TooLarge(_)
        | Error::QuotaExceeded(_)
        | Error::UnsupportedMediaType(_)
        | Error::Objects(_)
        | Error::TooManyStreams(_)
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

/// The file the encryption key is kept in when `encryption_key` is not configured.
pub const KEY_FILE: &str = "encryption.key";

/// The key brand secrets are sealed with: `encryption_key` when configured, else
/// `{data_dir}/encryption.key`, made (readable by the owner only) on first use. A key file
/// is written whole under another name and linked into place, so a crash never leaves a
/// half-written key and two processes starting together agree on one key.
pub fn encryption_key(config: &Config) -> Result<SecretKey, Failure> {
    if let Some(text) = &config.encryption_key {
        return SecretKey::from_text(text.expose_secret()).map_err(|e| {
            Failure::BadInput(format!(
                "encryption_key: {e}; make one with 'head -c 32 /dev/urandom | base64'"
            ))
        });
    }
    let path = config.data_dir.join(KEY_FILE);
    let read = |path: &std::path::Path| -> Result<SecretKey, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Refused(format!("cannot read {}: {e}", path.display())))?;
        SecretKey::from_text(&text).map_err(|e| {
            Failure::BadInput(format!(
                "{}: {e}; restore the key file from a backup (secrets sealed with it cannot be read without it)",
                path.display()
            ))
        })
    };
    if path.exists() {
        return read(&path);
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Failure::Refused(format!("cannot create {}: {e}", config.data_dir.display()))
    })?;
    let text = SecretKey::generate_text().map_err(|e| Failure::Refused(e.to_string()))?;
    let staging = config
        .data_dir
        .join(format!(".{KEY_FILE}.{}", std::process::id()));
    write_private(&staging, &format!("{text}\n"))
        .map_err(|e| Failure::Refused(format!("cannot write {}: {e}", staging.display())))?;
    let linked = std::fs::hard_link(&staging, &path);
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made a new encryption key for brand secrets; keep it with your backups")
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Failure::Refused(format!(
                "cannot create {}: {e}",
                path.display()
            )));
        }
    }
    read(&path)
}

/// Writes `text` to a new file only its owner may read, and flushes it to disk.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::ffi::OsString;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: Vec<(OsString, OsString)> = vars
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect();
        Config::load(None, vars).unwrap()
    }

    #[test]
    fn the_key_file_is_made_once_kept_private_and_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        let first = encryption_key(&config(&[("TASKSESSION_DATA_DIR", data)])).unwrap();
        let second = encryption_key(&config(&[("TASKSESSION_DATA_DIR", data)])).unwrap();
        assert_eq!(first.id(), second.id());
        let sealed = first.seal("test", "secret").unwrap();
        assert_eq!(second.open("test", &sealed).unwrap(), "secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("data").join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the key");
        }
    }

    #[test]
    fn a_configured_key_wins_and_a_bad_one_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let text = SecretKey::generate_text().unwrap();
        let key = encryption_key(&config(&[
            ("TASKSESSION_DATA_DIR", data),
            ("TASKSESSION_ENCRYPTION_KEY", &text),
        ]))
        .unwrap();
        assert_eq!(key.id(), SecretKey::from_text(&text).unwrap().id());
        assert!(!dir.path().join(KEY_FILE).exists());
        let refused = encryption_key(&config(&[
            ("TASKSESSION_DATA_DIR", data),
            ("TASKSESSION_ENCRYPTION_KEY", "too-short"),
        ]))
        .unwrap_err();
        assert!(
            matches!(&refused, Failure::BadInput(m) if m.contains("encryption_key") && m.contains("urandom")),
            "{refused:?}"
        );
    }
}

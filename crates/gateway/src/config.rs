//! Configuration: built-in defaults, then the TOML file, then `TASKSESSION_…` environment
//! variables, each layer overriding the one before.
//!
//! Every key is listed once in [`KEYS`] with how its value is checked; that table drives the
//! unknown-key check for the file, the mapping of environment variables to keys, and the
//! validation that names the offending key and where it came from. Secrets (`database_url`,
//! `operator.token`, `smtp.password`) may instead be given as `…_file`, a path whose content
//! is the value; they are held as [`SecretString`] so they never reach a log.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// The file read when `--config` is not given; it is optional.
pub const DEFAULT_CONFIG_FILE: &str = "tasksession.toml";
/// The prefix of every environment variable that sets a key.
pub const ENV_PREFIX: &str = "TASKSESSION_";

/// How a key's value is checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Path,
    Secret,
    Address,
    Port,
    Count,
    /// A number of bytes, 0 allowed (0: no limit).
    Bytes,
    Bool,
    OneOf(&'static [&'static str]),
    Url(&'static [&'static str]),
}

/// Every key: `(section, key, kind)`; the section is `""` for top-level keys.
const KEYS: &[(&str, &str, Kind)] = &[
    ("", "data_dir", Kind::Path),
    ("", "database_url", Kind::Secret),
    ("", "licence_path", Kind::Path),
    ("", "public_https_port", Kind::Port),
    ("", "log_format", Kind::OneOf(&["text", "json"])),
    ("", "encryption_key", Kind::Secret),
    ("listen", "http", Kind::Address),
    ("listen", "https", Kind::Address),
    ("listen", "operator", Kind::Address),
    ("operator", "token", Kind::Secret),
    ("acme", "directory_url", Kind::Url(&["https://"])),
    ("acme", "contact_email", Kind::Text),
    ("acme", "ca_bundle", Kind::Path),
    (
        "acme",
        "challenge",
        Kind::OneOf(&["http-01", "tls-alpn-01"]),
    ),
    ("smtp", "host", Kind::Text),
    ("smtp", "port", Kind::Port),
    ("smtp", "username", Kind::Text),
    ("smtp", "password", Kind::Secret),
    ("smtp", "tls", Kind::OneOf(&["starttls", "tls", "none"])),
    ("smtp", "from", Kind::Text),
    ("smtp", "allow_private_hosts", Kind::Bool),
    ("reply", "address", Kind::Text),
    ("reply", "listen", Kind::Address),
    ("reply", "authserv_id", Kind::Text),
    ("reply", "max_message_bytes", Kind::Count),
    ("files", "store", Kind::OneOf(&["local", "s3"])),
    ("files", "s3_endpoint", Kind::Url(&["https://", "http://"])),
    ("files", "s3_region", Kind::Text),
    ("files", "s3_bucket", Kind::Text),
    ("files", "s3_access_key_id", Kind::Text),
    ("files", "s3_secret_access_key", Kind::Secret),
    ("files", "brand_quota_bytes", Kind::Bytes),
    (
        "payments",
        "stripe_api",
        Kind::Url(&["https://", "http://"]),
    ),
    (
        "payments",
        "paypal_api",
        Kind::Url(&["https://", "http://"]),
    ),
    ("payments", "ca_bundle", Kind::Path),
    ("limits", "max_body_bytes", Kind::Count),
    ("limits", "max_upload_bytes", Kind::Count),
    ("limits", "request_timeout_s", Kind::Count),
    ("limits", "sign_in_per_minute_per_address", Kind::Count),
    ("limits", "sign_in_per_minute_per_account", Kind::Count),
    ("limits", "max_connections", Kind::Count),
    ("limits", "header_read_timeout_s", Kind::Count),
];

const SECTIONS: &[&str] = &[
    "listen", "operator", "acme", "smtp", "reply", "files", "payments", "limits",
];
const FILE_SUFFIX: &str = "_file";

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// Output format of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration, after defaults, file and environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the platform keeps its data.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means SQLite under `data_dir`.
    #[serde(default)]
    pub database_url: Option<SecretString>,
    /// Explicit licence file; default `{data_dir}/licence.txt`.
    #[serde(default)]
    licence_path: Option<PathBuf>,
    /// The public HTTPS port used in links, when a load balancer maps 443 elsewhere.
    #[serde(default)]
    pub public_https_port: Option<u16>,
    /// Text or JSON log lines.
    #[serde(default)]
    pub log_format: LogFormat,
    /// The key brand secrets (SMTP passwords) are sealed with: 32 bytes in base64. Default:
    /// `{data_dir}/encryption.key`, made on first start.
    #[serde(default)]
    pub encryption_key: Option<SecretString>,
    /// Listener addresses.
    #[serde(default)]
    pub listen: Listen,
    /// Operator API settings.
    #[serde(default)]
    pub operator: Operator,
    /// ACME settings.
    #[serde(default)]
    pub acme: Acme,
    /// Platform default outgoing mail.
    #[serde(default)]
    pub smtp: Smtp,
    /// Replies by e-mail to notification mails.
    #[serde(default)]
    pub reply: Reply,
    /// Where brands' files are kept.
    #[serde(default)]
    pub files: Files,
    /// Where the payment providers' APIs are.
    #[serde(default)]
    pub payments: Payments,
    /// Request and rate limits.
    #[serde(default)]
    pub limits: Limits,
}

/// `[payments]`: the providers' API bases (their live APIs unless set: a sandbox, or a
/// stand-in on loopback in tests) and extra trusted roots for them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Payments {
    /// Stripe's API.
    pub stripe_api: String,
    /// PayPal's REST API (`https://api-m.sandbox.paypal.com` for its sandbox).
    pub paypal_api: String,
    /// Extra trusted roots for them.
    pub ca_bundle: Option<PathBuf>,
}

impl Default for Payments {
    fn default() -> Self {
        Payments {
            stripe_api: "https://api.stripe.com".to_owned(),
            paypal_api: "https://api-m.paypal.com".to_owned(),
            ca_bundle: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// `[listen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// Plain HTTP (ACME challenges, redirects, development).
    pub http: SocketAddr,
    /// HTTPS.
    pub https: SocketAddr,
    /// Health, metrics and the operator API.
    pub operator: SocketAddr,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            http: SocketAddr::from(([0, 0, 0, 0], 8080)),
            https: SocketAddr::from(([0, 0, 0, 0], 8443)),
            operator: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// `[operator]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Operator {
    /// Bearer token for `/metrics` and `/operator/v1`.
    pub token: Option<SecretString>,
}

/// `[acme]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acme {
    /// The CA's directory; `None` keeps self-signed certificates.
    pub directory_url: Option<String>,
    /// Contact address given to the CA.
    pub contact_email: Option<String>,
    /// Extra trusted roots for a private or test CA.
    pub ca_bundle: Option<PathBuf>,
    /// Default challenge type.
    pub challenge: String,
}

impl Default for Acme {
    fn default() -> Self {
        Acme {
            directory_url: None,
            contact_email: None,
            ca_bundle: None,
            challenge: "http-01".to_owned(),
        }
    }
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// Mail server; `None` means mail is not configured.
    pub host: Option<String>,
    /// Mail server port.
    pub port: u16,
    /// Login name.
    pub username: Option<String>,
    /// Login password.
    pub password: Option<SecretString>,
    /// `starttls`, `tls` or `none`.
    pub tls: String,
    /// Sender address.
    pub from: Option<String>,
    /// Whether brands' own mail servers may be on loopback, private, link-local or
    /// unspecified addresses (off: a brand admin cannot point mail at the server's own
    /// network).
    pub allow_private_hosts: bool,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: None,
            port: 587,
            username: None,
            password: None,
            tls: "starttls".to_owned(),
            from: None,
            allow_private_hosts: false,
        }
    }
}

/// `[reply]`: off unless `address` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reply {
    /// The address replies go to, such as `reply@replies.example.com`: each notification
    /// mail's reply address is this with a token after a `+`. Its domain's MX must lead to
    /// `listen` (directly, or through a mail server that relays it).
    pub address: Option<String>,
    /// Where the SMTP receiver listens.
    pub listen: SocketAddr,
    /// The mail server whose `Authentication-Results` to trust and require (its
    /// authserv-id); unset: the reply address's token and the sender's address are the
    /// proof.
    pub authserv_id: Option<String>,
    /// The largest mail taken, in bytes.
    pub max_message_bytes: u64,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            address: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 2525)),
            authserv_id: None,
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

/// `[files]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Files {
    /// `local` (under `{data_dir}/files`) or `s3`.
    pub store: String,
    /// The S3-compatible service's address; none is Amazon S3.
    pub s3_endpoint: Option<String>,
    /// The bucket's region.
    pub s3_region: String,
    /// The bucket.
    pub s3_bucket: Option<String>,
    /// The access key's id; none takes credentials from the environment.
    pub s3_access_key_id: Option<String>,
    /// Its secret.
    pub s3_secret_access_key: Option<SecretString>,
    /// Bytes of files one brand may keep (0: no quota).
    pub brand_quota_bytes: u64,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            store: "local".to_owned(),
            s3_endpoint: None,
            s3_region: "us-east-1".to_owned(),
            s3_bucket: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            brand_quota_bytes: 0,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body outside uploads.
    pub max_body_bytes: u64,
    /// Largest uploaded file.
    pub max_upload_bytes: u64,
    /// Longest time one request may take.
    pub request_timeout_s: u64,
    /// Sign-in attempts per minute from one address.
    pub sign_in_per_minute_per_address: u64,
    /// Sign-in attempts per minute for one account.
    pub sign_in_per_minute_per_account: u64,
    /// Open client connections at most, over both public listeners.
    pub max_connections: u64,
    /// Seconds a client has to send a request head; also the HTTP/1.1 keep-alive idle limit.
    pub header_read_timeout_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            request_timeout_s: 30,
            sign_in_per_minute_per_address: 10,
            sign_in_per_minute_per_account: 5,
            max_connections: 10_000,
            header_read_timeout_s: 10,
        }
    }
}

impl Config {
    /// Loads the configuration from `file` (or the optional default file) and `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = match file {
            Some(path) => read_file(path, true)?,
            None => read_file(Path::new(DEFAULT_CONFIG_FILE), false)?,
        };
        for (name, value) in env {
            let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
                continue;
            };
            let value = value.into_string().map_err(|_| {
                error(format!(
                    "environment variable {name} is not valid UTF-8 text"
                ))
            })?;
            let (section, key) = key_of_env_var(name)?;
            let source = format!("environment variable {name}");
            let value = typed_value(section, &key, &value, &source)?;
            insert(&mut merged, section, key, value);
        }
        resolve_secret_files(&mut merged)?;
        toml::Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| error(format!("configuration: {}", e.message())))
    }

    /// The licence file: `licence_path`, or `{data_dir}/licence.txt`.
    pub fn licence_path(&self) -> PathBuf {
        self.licence_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("licence.txt"))
    }
}

fn read_file(path: &Path, required: bool) -> Result<toml::Table, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(toml::Table::new());
        }
        Err(e) => {
            return Err(error(format!(
                "cannot read configuration file {}: {e}",
                path.display()
            )));
        }
    };
    let source = path.display().to_string();
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| error(format!("{source}: {}", one_line(&e.to_string()))))?;
    for (name, value) in &table {
        if SECTIONS.contains(&name.as_str()) {
            let toml::Value::Table(section) = value else {
                return Err(error(format!(
                    "{source}: '{name}' must be a [{name}] section"
                )));
            };
            for (key, value) in section {
                check_file_value(name, key, value, &source)?;
            }
        } else {
            check_file_value("", name, value, &source)?;
        }
    }
    Ok(table)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn dotted(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_owned()
    } else {
        format!("{section}.{key}")
    }
}

fn kind_of(section: &str, key: &str) -> Option<Kind> {
    KEYS.iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, kind)| *kind)
}

/// The kind of `key` in `section`, accepting `…_file` for secrets (as a path).
fn kind_or_file(section: &str, key: &str) -> Option<Kind> {
    kind_of(section, key).or_else(|| {
        let base = key.strip_suffix(FILE_SUFFIX)?;
        matches!(kind_of(section, base)?, Kind::Secret).then_some(Kind::Path)
    })
}

fn known_keys(section: &str) -> String {
    let mut names: Vec<String> = KEYS
        .iter()
        .filter(|(s, _, _)| *s == section)
        .map(|(_, k, _)| (*k).to_owned())
        .collect();
    if section.is_empty() {
        names.extend(SECTIONS.iter().map(|s| format!("[{s}]")));
    }
    names.join(", ")
}

fn check_file_value(
    section: &str,
    key: &str,
    value: &toml::Value,
    source: &str,
) -> Result<(), ConfigError> {
    let Some(kind) = kind_or_file(section, key) else {
        let place = if section.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in [{section}]")
        };
        return Err(error(format!(
            "{source}: unknown key '{}' {place}; known keys there: {}",
            dotted(section, key),
            known_keys(section)
        )));
    };
    let source = format!("{source}: key '{}'", dotted(section, key));
    let text = match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(number) if matches!(kind, Kind::Port | Kind::Count | Kind::Bytes) => {
            number.to_string()
        }
        toml::Value::Boolean(flag) if matches!(kind, Kind::Bool) => flag.to_string(),
        other => {
            return Err(error(format!(
                "{source}: expected {}, found {}",
                expected(kind),
                other.type_str()
            )));
        }
    };
    typed_value(section, key, &text, &source).map(|_| ())
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Port | Kind::Count | Kind::Bytes => "a whole number",
        Kind::Bool => "true or false",
        _ => "a string",
    }
}

/// Maps `TASKSESSION_SECTION_KEY` or `TASKSESSION_KEY` to its key. The first word is a
/// section only if it names one.
fn key_of_env_var(name: &str) -> Result<(&'static str, String), ConfigError> {
    let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    for section in SECTIONS {
        if let Some(key) = rest.strip_prefix(section).and_then(|r| r.strip_prefix('_'))
            && kind_or_file(section, key).is_some()
        {
            return Ok((section, key.to_owned()));
        }
    }
    if kind_or_file("", &rest).is_some() {
        return Ok(("", rest));
    }
    Err(error(format!(
        "unknown environment variable {name}: it names no configuration key; unset it, or see the README's Configuration section for the keys"
    )))
}

/// Checks `text` against the key's kind and returns it as a TOML value.
fn typed_value(
    section: &str,
    key: &str,
    text: &str,
    source: &str,
) -> Result<toml::Value, ConfigError> {
    let kind = kind_or_file(section, key)
        .ok_or_else(|| error(format!("{source}: unknown key '{}'", dotted(section, key))))?;
    let invalid = |why: String| error(format!("{source}: {why}"));
    match kind {
        Kind::Text | Kind::Secret | Kind::Path => {
            if text.trim().is_empty() {
                return Err(invalid("must not be empty".to_owned()));
            }
        }
        Kind::Address => {
            text.parse::<SocketAddr>().map_err(|_| {
                invalid(format!(
                    "'{text}' is not an address:port (for example 0.0.0.0:8443 or [::]:8443; port 0 picks a free port)"
                ))
            })?;
        }
        Kind::Port => {
            let port = text
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| invalid(format!("'{text}' is not a port from 1 to 65535")))?;
            return Ok(toml::Value::Integer(i64::from(port)));
        }
        Kind::Count => {
            let count = text
                .parse::<u32>()
                .ok()
                .filter(|count| *count > 0)
                .ok_or_else(|| invalid(format!("'{text}' is not a whole number above 0")))?;
            return Ok(toml::Value::Integer(i64::from(count)));
        }
        Kind::Bytes => {
            let bytes = text
                .parse::<i64>()
                .ok()
                .filter(|bytes| *bytes >= 0)
                .ok_or_else(|| invalid(format!("'{text}' is not a number of bytes (0 or more)")))?;
            return Ok(toml::Value::Integer(bytes));
        }
        Kind::Bool => {
            return match text {
                "true" => Ok(toml::Value::Boolean(true)),
                "false" => Ok(toml::Value::Boolean(false)),
                _ => Err(invalid(format!("'{text}' is not true or false"))),
            };
        }
        Kind::OneOf(choices) => {
            if !choices.contains(&text) {
                return Err(invalid(format!(
                    "'{text}' is not one of {}",
                    choices.join(", ")
                )));
            }
        }
        Kind::Url(schemes) => {
            if !schemes.iter().any(|scheme| text.starts_with(scheme)) {
                return Err(invalid(format!(
                    "'{text}' must start with {}",
                    schemes.join(" or ")
                )));
            }
        }
    }
    if section.is_empty() && key == "database_url" {
        check_database_url(text).map_err(invalid)?;
    }
    Ok(toml::Value::String(text.to_owned()))
}

fn check_database_url(text: &str) -> Result<(), String> {
    if ["sqlite://", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| text.starts_with(scheme))
    {
        Ok(())
    } else {
        Err("must start with sqlite:// or postgres://".to_owned())
    }
}

fn insert(table: &mut toml::Table, section: &str, key: String, value: toml::Value) {
    if section.is_empty() {
        table.insert(key, value);
        return;
    }
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(section_table) = entry {
        section_table.insert(key, value);
    }
}

/// Replaces every `…_file` key with the content of the file it names.
fn resolve_secret_files(table: &mut toml::Table) -> Result<(), ConfigError> {
    for (section, key, kind) in KEYS {
        if !matches!(kind, Kind::Secret) {
            continue;
        }
        let holder = if section.is_empty() {
            Some(&mut *table)
        } else {
            match table.get_mut(*section) {
                Some(toml::Value::Table(inner)) => Some(inner),
                _ => None,
            }
        };
        let Some(holder) = holder else { continue };
        let file_key = format!("{key}{FILE_SUFFIX}");
        let Some(path) = holder.remove(&file_key) else {
            continue;
        };
        let name = dotted(section, key);
        if holder.contains_key(*key) {
            return Err(error(format!(
                "both '{name}' and '{name}{FILE_SUFFIX}' are set; keep one"
            )));
        }
        let path = path.as_str().unwrap_or_default().to_owned();
        let secret = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read '{name}{FILE_SUFFIX}' ({path}): {e}")))?;
        let secret = secret.trim_end_matches(['\r', '\n']).to_owned();
        typed_value(
            section,
            key,
            &secret,
            &format!("the file in '{name}{FILE_SUFFIX}'"),
        )?;
        holder.insert((*key).to_owned(), toml::Value::String(secret));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn with_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasksession.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn no_file_and_no_environment_gives_the_embedded_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.toml");
        // The default file is optional; an explicit one is not.
        assert!(Config::load(Some(&missing), env(&[])).is_err());
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.licence_path(), PathBuf::from("data/licence.txt"));
        assert_eq!(config.listen.http.port(), 8080);
        assert_eq!(config.listen.https.port(), 8443);
        assert_eq!(config.listen.operator, "127.0.0.1:9090".parse().unwrap());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.database_url.is_none());
    }

    #[test]
    fn environment_overrides_the_file_with_the_section_rule() {
        let (_dir, path) = with_file(
            "data_dir = \"/srv/ts\"\n[listen]\nhttp = \"127.0.0.1:80\"\n[acme]\ndirectory_url = \"https://ca.test/dir\"\n",
        );
        let config = Config::load(
            Some(&path),
            env(&[
                ("TASKSESSION_LISTEN_HTTP", "127.0.0.1:0"),
                ("TASKSESSION_DATA_DIR", "/var/lib/ts"),
                ("TASKSESSION_ACME_DIRECTORY_URL", "https://other.test/dir"),
                ("TASKSESSION_LIMITS_MAX_BODY_BYTES", "2048"),
                ("TASKSESSION_LOG_FORMAT", "json"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen.http.port(), 0);
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/ts"));
        assert_eq!(
            config.licence_path(),
            PathBuf::from("/var/lib/ts/licence.txt")
        );
        assert_eq!(
            config.acme.directory_url.as_deref(),
            Some("https://other.test/dir")
        );
        assert_eq!(config.limits.max_body_bytes, 2048);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let (_dir, path) = with_file("[listen]\nhtps = \"0.0.0.0:443\"\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(message.contains("listen.htps"), "{message}");
        assert!(message.contains("https"), "{message}");
        let (_dir, path) = with_file("colour = \"blue\"\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(message.contains("'colour'"), "{message}");
    }

    #[test]
    fn an_unknown_environment_variable_is_named() {
        let message = Config::load(None, env(&[("TASKSESSION_LISTEN_HTTPS_PORT", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("TASKSESSION_LISTEN_HTTPS_PORT"),
            "{message}"
        );
        let message = Config::load(None, env(&[("TASKSESSION_DATADIR", "x")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("TASKSESSION_DATADIR"), "{message}");
    }

    #[test]
    fn bad_values_are_named_with_their_source() {
        let message = Config::load(None, env(&[("TASKSESSION_LISTEN_HTTP", "localhost")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("TASKSESSION_LISTEN_HTTP") && message.contains("address:port"),
            "{message}"
        );
        let (_dir, path) = with_file("[smtp]\nport = \"many\"\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(message.contains("smtp.port"), "{message}");
        let (_dir, path) = with_file("[smtp]\ntls = \"ssl\"\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(
            message.contains("smtp.tls") && message.contains("starttls"),
            "{message}"
        );
        let (_dir, path) = with_file("database_url = \"mysql://x\"\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(message.contains("database_url"), "{message}");
        let (_dir, path) = with_file("listen = 3\n");
        assert!(Config::load(Some(&path), env(&[])).is_err());
        let (_dir, path) = with_file("data_dir = \n");
        assert!(Config::load(Some(&path), env(&[])).is_err());
    }

    #[test]
    fn secrets_can_come_from_files_and_stay_out_of_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "s3cret-token\n").unwrap();
        let config = Config::load(
            None,
            env(&[
                (
                    "TASKSESSION_OPERATOR_TOKEN_FILE",
                    token_file.to_str().unwrap(),
                ),
                ("TASKSESSION_SMTP_PASSWORD", "mail-pass"),
            ]),
        )
        .unwrap();
        let token = config.operator.token.as_ref().unwrap();
        assert_eq!(token.expose_secret(), "s3cret-token");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret-token") && !debug.contains("mail-pass"),
            "{debug}"
        );

        let both = Config::load(
            None,
            env(&[
                (
                    "TASKSESSION_OPERATOR_TOKEN_FILE",
                    token_file.to_str().unwrap(),
                ),
                ("TASKSESSION_OPERATOR_TOKEN", "x"),
            ]),
        );
        assert!(both.unwrap_err().to_string().contains("keep one"));
        let missing = Config::load(
            None,
            env(&[("TASKSESSION_OPERATOR_TOKEN_FILE", "/nonexistent/t")]),
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("operator.token_file")
        );
    }

    #[test]
    fn the_sample_configuration_in_deploy_loads() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/tasksession.toml");
        let config = Config::load(Some(&sample), env(&[])).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/tasksession"));
        assert_eq!(config.limits.max_upload_bytes, 104_857_600);
    }
}

//! The crate's one error type. Each variant is a decision the HTTP and CLI layers map in
//! one `match` without a catch-all arm.

use std::path::PathBuf;

use crate::names::NameError;

/// What can go wrong in the platform registry, a tenant store or a domain service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse (a domain name, an email address, a brand name, a role).
    #[error("{0}")]
    Invalid(String),

    /// One field of a request that does not pass validation.
    #[error("{field}: {message}")]
    Field {
        /// The field's name as the API spells it.
        field: &'static str,
        /// What is wrong, as a sentence.
        message: String,
    },

    /// No valid session or token: sign in first.
    #[error("{0}")]
    Unauthenticated(String),

    /// The password was right, and the account also needs a two-factor code.
    #[error("Enter the 6-digit code from your authenticator app, or one of your recovery codes.")]
    SecondFactorRequired,

    /// In scope, but the actor's role does not allow it.
    #[error("{0}")]
    Forbidden(String),

    /// A name or email that does not parse.
    #[error(transparent)]
    Name(#[from] NameError),

    /// A well-formed request the licence does not allow.
    #[error("{0}")]
    NotLicensed(String),

    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),

    /// The thing to create exists already, or the state does not allow the change.
    #[error("{0}")]
    Conflict(String),

    /// `database_url` is not one this build can use.
    #[error("database_url {0}")]
    DatabaseUrl(String),

    /// A store was written by a newer release than this binary.
    #[error(
        "the {store} is at schema version {found}, newer than this release knows ({known}); run the newer release or restore a backup"
    )]
    StoreTooNew {
        /// Which store.
        store: String,
        /// The version found.
        found: i64,
        /// The latest version this binary has.
        known: i64,
    },

    /// A tenant's store is behind the binary and must be migrated before it is served.
    #[error("the store of {0} is not up to date; run 'tasksession migrate'")]
    StoreBehind(String),

    /// A file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// The database said no.
    #[error("database error: {0}")]
    Database(sqlx::Error),

    /// The store cannot be used at the moment (a database that is down or restarting,
    /// killed connections, a disk that is full or read-only, a locked file, no free
    /// connection in time): the request may be tried again shortly, and nothing about it
    /// was wrong.
    #[error("the store is unavailable: {0}")]
    Unavailable(sqlx::Error),

    /// The PostgreSQL server of `database_url` cannot be reached (or refuses us).
    #[error(
        "database_url: cannot connect to PostgreSQL at {server} ({cause}); check the address in database_url and that the server is running"
    )]
    DatabaseUnreachable {
        /// `host:port`.
        server: String,
        /// What went wrong.
        cause: String,
    },

    /// A store that should exist is gone (a deleted file or directory): the brand is not
    /// served until the operator restores it; it is never recreated empty.
    #[error(
        "the brand's store is missing ({0}); restore it with 'tasksession restore' or remove the domain"
    )]
    StoreMissing(String),

    /// A store's files are there but cannot be used safely (for example a SQLite `-shm`
    /// file that cannot be written).
    #[error(
        "the brand's store cannot be used ({0}); check the files' owner, permissions and free space"
    )]
    StoreUnusable(String),

    /// The password hasher failed.
    /// A body or an upload over its limit (413).
    #[error("{0}")]
    TooLarge(String),

    /// The brand's files would pass its storage quota (507).
    #[error("{0}")]
    QuotaExceeded(String),

    /// A body of a type the action does not take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),

    /// Too many live-update streams open at once for one user (429).
    #[error("{0}")]
    TooManyStreams(String),

    /// The file store failed or is not configured (503).
    #[error("the file store is unavailable: {0}")]
    Objects(String),

    #[error("password hashing failed: {0}")]
    PasswordHash(String),

    /// The system's random source failed.
    #[error("the system's random source failed: {0}")]
    Random(String),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if is_transient(&error) {
            Error::Unavailable(error)
        } else {
            Error::Database(error)
        }
    }
}

/// Whether `error` says the store is unavailable for now rather than that the request
/// was wrong: lost or refused connections, a pool with no free connection in time, and the
/// database errors of a full, read-only, locked or failing disk (SQLite result codes) or
/// of a server that is shutting down, out of resources or unreachable, or of a schema that
/// is gone (PostgreSQL classes 08, 53, 57P, 58, and 25006, 3F000, 42P01).
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                let sqlite = code.parse::<i64>().unwrap_or_default();
                // SQLite: the primary result code is the low byte of the extended one.
                // PERM, BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN.
                return matches!(sqlite & 0xff, 3 | 5 | 6 | 7 | 8 | 10 | 13 | 14);
            }
            // A tenant schema or table that is gone (dropped by hand) is a store fault too.
            code.starts_with("08")
                || code == "3F000"
                || code == "42P01"
                || code.starts_with("53")
                || code.starts_with("57P")
                || code.starts_with("58")
                || code == "25006"
        }
        _ => false,
    }
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation failure of `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Error::Field {
            field,
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether this is a violation of the unique constraint on `table.column`. Constraints
    /// are named `{table}_{column}` in every migration; PostgreSQL reports that name and
    /// SQLite reports `table.column`.
    pub fn is_unique_violation(&self, table: &str, column: &str) -> bool {
        match self {
            Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                db.constraint() == Some(&format!("{table}_{column}"))
                    || db.message().contains(&format!("{table}.{column}"))
            }
            _ => false,
        }
    }
}

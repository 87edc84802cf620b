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
    Database(#[from] sqlx::Error),

    /// The password hasher failed.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),

    /// The system's random source failed.
    #[error("the system's random source failed: {0}")]
    Random(String),
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

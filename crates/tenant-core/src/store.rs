//! Where data lives: the platform store and one store per tenant, on SQLite or PostgreSQL.
//!
//! # Isolation by construction
//! A tenant's data is in its own SQLite file (`tenants/<id>/tenant.db` beside
//! `platform.db`) or its own PostgreSQL schema (`tenant_<id>`). Code reaches a store only
//! through a handle: [`crate::TenantStore`] for one tenant, handed out by the platform
//! registry for a tenant it has resolved, and the registry's own platform handle. Both wrap
//! the private [`Db`]; the only way to run SQL is a [`Tx`] begun from a handle, so no query
//! takes a tenant id as a parameter and there is no global pool to reach for. On PostgreSQL
//! every transaction first sets `search_path` to its handle's schema *transaction-locally*
//! (`set_config(…, true)`), so a pooled connection never carries one tenant's path into the
//! next unit of work; a tenant transaction cannot even name the platform's tables. SQLite has
//! no schemas, which is also why the SQL is unqualified on both backends: one text serves
//! both, and the search path does the qualifying on PostgreSQL.
//!
//! # One SQL text, one Rust body
//! [`on_tx!`] expands a body once per backend, so each arm is type-checked against its own
//! driver while the query is written once. `$1` placeholders work on both.
//!
//! # Migrations
//! Each store keeps its own history in `schema_migrations`. [`migrate`] applies what is
//! missing, one transaction per migration, and refuses a store newer than this binary.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// How long a connection waits for a locked SQLite file before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections are closed after this long, so unused tenant files are let go.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The configured database backend.
#[derive(Debug, Clone)]
pub enum Backend {
    /// `platform.db` plus `tenants/<id>/tenant.db` in one directory.
    Sqlite {
        /// The directory holding `platform.db` and `tenants/`.
        dir: PathBuf,
    },
    /// One PostgreSQL database: a `platform` schema and one schema per tenant.
    Postgres {
        /// The connection URL (may hold a password: never log it).
        url: String,
        /// Connections in the one shared pool.
        max_connections: u32,
    },
}

/// Connections in the shared PostgreSQL pool unless told otherwise.
pub const POSTGRES_POOL_SIZE: u32 = 16;

impl Backend {
    /// Reads `database_url`: `sqlite://DIR` (the directory of `platform.db`; default
    /// `data_dir`) or `postgres://…`.
    pub fn from_url(url: Option<&str>, data_dir: &Path) -> Result<Self> {
        let Some(url) = url else {
            return Ok(Backend::Sqlite {
                dir: data_dir.to_owned(),
            });
        };
        if let Some(dir) = url.strip_prefix("sqlite://") {
            if dir.is_empty() {
                return Err(Error::DatabaseUrl(
                    "sqlite:// needs a directory, for example sqlite:///var/lib/tasksession"
                        .to_owned(),
                ));
            }
            return Ok(Backend::Sqlite {
                dir: PathBuf::from(dir),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url)
                .map_err(|e| Error::DatabaseUrl(format!("is not a usable PostgreSQL URL: {e}")))?;
            return Ok(Backend::Postgres {
                url: url.to_owned(),
                max_connections: POSTGRES_POOL_SIZE,
            });
        }
        Err(Error::DatabaseUrl(
            "must start with sqlite:// or postgres://".to_owned(),
        ))
    }

    /// `sqlite` or `postgres`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// A handle to one store: a SQLite pool, or the shared PostgreSQL pool and a schema.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres { pool: PgPool, schema: Arc<str> },
}

/// A transaction on one store. Commit explicitly; dropping it rolls back.
#[derive(Debug)]
pub(crate) struct Tx {
    pub(crate) inner: TxInner,
    /// Begun with [`Db::write`].
    writing: bool,
}

#[derive(Debug)]
pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per backend.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match &mut $tx.inner {
            $crate::store::TxInner::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::store::TxInner::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Db {
    /// Opens (creating if missing) a SQLite file with WAL, `synchronous=NORMAL`, a busy
    /// timeout and foreign keys; connections close when idle.
    pub(crate) async fn open_sqlite(file: &Path) -> Result<Db> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(IDLE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    /// Connects the one shared PostgreSQL pool.
    pub(crate) async fn connect_postgres(url: &str, max_connections: u32) -> Result<PgPool> {
        let options = PgConnectOptions::from_str(url)?;
        Ok(PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .idle_timeout(IDLE_TIMEOUT)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?)
    }

    /// A read transaction (`BEGIN`).
    pub(crate) async fn read(&self) -> Result<Tx> {
        self.begin("begin", "begin", false).await
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, so it waits for the write lock up
    /// front (a read-then-write transaction would otherwise fail with SQLITE_BUSY).
    pub(crate) async fn write(&self) -> Result<Tx> {
        self.begin("begin immediate", "begin", true).await
    }

    /// A read transaction whose every statement sees one snapshot (for backups taken while
    /// the platform runs): SQLite's WAL readers already do; PostgreSQL needs REPEATABLE READ.
    pub(crate) async fn snapshot(&self) -> Result<Tx> {
        self.begin(
            "begin",
            "begin isolation level repeatable read, read only",
            false,
        )
        .await
    }

    async fn begin(
        &self,
        sqlite_begin: &'static str,
        postgres_begin: &'static str,
        writing: bool,
    ) -> Result<Tx> {
        match self {
            Db::Sqlite(pool) => Ok(Tx {
                inner: TxInner::Sqlite(pool.begin_with(Cow::Borrowed(sqlite_begin)).await?),
                writing,
            }),
            Db::Postgres { pool, schema } => {
                let mut tx = pool.begin_with(Cow::Borrowed(postgres_begin)).await?;
                sqlx::query("select set_config('search_path', $1, true)")
                    .bind(&**schema)
                    .execute(&mut *tx)
                    .await?;
                Ok(Tx {
                    inner: TxInner::Postgres(tx),
                    writing,
                })
            }
        }
    }

    /// Closes the pool (SQLite) so its file can be moved or deleted; no-op on PostgreSQL,
    /// whose pool is shared.
    pub(crate) async fn close(&self) {
        if let Db::Sqlite(pool) = self {
            pool.close().await;
        }
    }
}

impl Tx {
    /// In a PostgreSQL write transaction, waits until no other transaction of this store
    /// holds `subject`, and holds it until this one ends, so decisions that read several
    /// rows (is this the last admin?) cannot be made by two transactions on the same old
    /// rows under READ COMMITTED. SQLite's write transactions already run one at a time.
    pub(crate) async fn serialize(&mut self, subject: &str) -> Result<()> {
        if let (TxInner::Postgres(tx), true) = (&mut self.inner, self.writing) {
            sqlx::query(
                "select pg_advisory_xact_lock(hashtextextended(current_setting('search_path') || ':' || $1, 0))",
            )
            .bind(subject)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Makes the transaction's changes durable.
    pub(crate) async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// The current time as stored: UTC, truncated to microseconds on both backends.
pub fn now() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

/// Drops sub-microsecond precision, which PostgreSQL would drop anyway.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1000).unwrap_or(at)
}

/// A new id: 12 hex digits of milliseconds since the epoch, 4 of a per-process sequence and
/// 8 random ones. Ids sort by creation time (strictly, within one process), so keyset
/// pagination can order by id.
pub fn new_id() -> Result<String> {
    static LAST: std::sync::Mutex<(u64, u16)> = std::sync::Mutex::new((0, 0));
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| Error::Random(e.to_string()))?;
    let now_millis = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or_default()
        & 0xffff_ffff_ffff;
    let (millis, sequence) = {
        let mut last = LAST
            .lock()
            .map_err(|_| Error::Random("id clock poisoned".to_owned()))?;
        *last = if now_millis > last.0 {
            (now_millis, 0)
        } else if last.1 < u16::MAX {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last
    };
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{millis:012x}{sequence:04x}{random}"))
}

/// One migration: a version, a name and its SQL for one backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// A store's migrations for both backends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migrations {
    pub(crate) sqlite: &'static [Migration],
    pub(crate) postgres: &'static [Migration],
}

impl Migrations {
    fn for_db(&self, db: &Db) -> &'static [Migration] {
        match db {
            Db::Sqlite(_) => self.sqlite,
            Db::Postgres { .. } => self.postgres,
        }
    }

    /// The version a store is at once every migration here has run.
    pub(crate) fn latest(&self) -> i64 {
        self.sqlite.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// A store's migrations from `migrations/{store}/{sqlite,postgres}/{file}.sql`; a file
/// missing for either backend is a compile error.
macro_rules! migrations {
    ($store:literal: $(($version:literal, $file:literal)),+ $(,)?) => {
        Migrations {
            sqlite: &[$(Migration {
                version: $version,
                name: $file,
                sql: include_str!(concat!("../../../migrations/", $store, "/sqlite/", $file, ".sql")),
            }),+],
            postgres: &[$(Migration {
                version: $version,
                name: $file,
                sql: include_str!(concat!("../../../migrations/", $store, "/postgres/", $file, ".sql")),
            }),+],
        }
    };
}

pub(crate) const PLATFORM_MIGRATIONS: Migrations = migrations!("platform": (1, "0001_platform"), (2, "0002_certificates"), (3, "0003_acme"), (4, "0004_acme_issuance"));
pub(crate) const TENANT_MIGRATIONS: Migrations = migrations!("tenant": (1, "0001_users"), (2, "0002_access"), (3, "0003_mail"), (4, "0004_totp"), (5, "0005_settings"), (6, "0006_access_review"), (7, "0007_totp_failures"), (8, "0008_projects"), (9, "0009_tasks"));

const MIGRATIONS_TABLE_SQLITE: &str = "create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at text not null
)";
const MIGRATIONS_TABLE_POSTGRES: &str = "create table if not exists schema_migrations (
    version bigint primary key,
    name text not null,
    applied_at timestamptz not null
)";

/// The version a store is at (0 when it has never been migrated).
pub(crate) async fn current_version(db: &Db) -> Result<i64> {
    let mut tx = db.read().await?;
    let exists: bool = on_tx!(tx, |conn| {
        let sql = match db {
            Db::Sqlite(_) => {
                "select count(*) > 0 from sqlite_master where type = 'table' and name = 'schema_migrations'"
            }
            Db::Postgres { .. } => {
                "select count(*) > 0 from information_schema.tables where table_schema = current_schema() and table_name = 'schema_migrations'"
            }
        };
        sqlx::query_scalar(sql).fetch_one(conn).await?
    });
    if !exists {
        return Ok(0);
    }
    let version: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select max(version) from schema_migrations")
            .fetch_one(conn)
            .await?
    });
    Ok(version.unwrap_or(0))
}

/// Fails when a store was written by a newer release.
pub(crate) async fn check_not_newer(db: &Db, migrations: &Migrations, name: &str) -> Result<i64> {
    let found = current_version(db).await?;
    let known = migrations.latest();
    if found > known {
        return Err(Error::StoreTooNew {
            store: name.to_owned(),
            found,
            known,
        });
    }
    Ok(found)
}

/// Applies every missing migration, one transaction each; returns how many ran.
pub(crate) async fn migrate(db: &Db, migrations: &Migrations, name: &str) -> Result<usize> {
    check_not_newer(db, migrations, name).await?;
    {
        let mut tx = db.write().await?;
        let create = match db {
            Db::Sqlite(_) => MIGRATIONS_TABLE_SQLITE,
            Db::Postgres { .. } => MIGRATIONS_TABLE_POSTGRES,
        };
        on_tx!(tx, |conn| {
            sqlx::query(create).execute(conn).await?;
        });
        tx.commit().await?;
    }
    let mut applied = 0;
    for migration in migrations.for_db(db) {
        let mut tx = db.write().await?;
        let done: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar("select count(*) from schema_migrations where version = $1")
                .bind(migration.version)
                .fetch_one(conn)
                .await?
        });
        if done > 0 {
            continue;
        }
        on_tx!(tx, |conn| {
            sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
            sqlx::query(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(now())
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        tracing::debug!(store = name, version = migration.version, "migrated");
        applied += 1;
    }
    Ok(applied)
}

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

use crate::cache::{CHANGES_CHANNEL, Freshness, StoreCaches};
use crate::error::{Error, Result};
use crate::platform::secrets::SecretKey;

/// How long a connection waits for a locked SQLite file before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle PostgreSQL connections are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a unit of work waits for a pooled connection (or a new one) before the store
/// counts as unavailable. Short, so an unreachable database is reported within seconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether opening a SQLite store may create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    /// Make the file (and its directory) when it is missing: `domain add`, `restore`, and
    /// the platform store on first start.
    IfMissing,
    /// A missing file is [`Error::StoreMissing`].
    Never,
}

/// Fails with [`Error::StoreMissing`] when a store's file is gone (or is not a file).
pub(crate) fn check_store_file(file: &Path) -> Result<()> {
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(Error::StoreMissing(format!(
                "{} is not a file",
                file.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::StoreMissing(format!(
                "{} is missing",
                file.display()
            )));
        }
        Err(e) => return Err(Error::io(file, e)),
    }
    Ok(())
}

/// A SQLite store's file as it was when its pool opened, so that each request can ask with
/// one short `statx(2)` whether it is still there: the brand's folder or file deleted,
/// moved away or replaced by another file. The lookup starts from a descriptor of the
/// folder of every brand's store (`O_PATH`: it reads nothing, and closing it drops none of
/// the process's POSIX locks, unlike an ordinary descriptor; see [`writable`]), so it
/// walks two names rather than the whole path, and nothing is put together per request.
#[derive(Debug)]
pub(crate) struct StoreFile {
    stores: Arc<rustix::fd::OwnedFd>,
    relative: std::ffi::CString,
    inode: (u64, u32, u32),
    path: PathBuf,
}

/// What [`StoreFile::check`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Watched {
    /// The same file is there.
    Same,
    /// Another file is there now: the pool must be opened again.
    Replaced,
}

/// A descriptor of `dir` (the folder of every brand's store) to look files up from.
pub(crate) fn stores_folder(dir: &Path) -> Result<Arc<rustix::fd::OwnedFd>> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(Arc::new)
    .map_err(|e| missing_or_io(dir, std::io::Error::from(e)))
}

impl StoreFile {
    /// Watches `relative` (`ID/tenant.db`) in the folder `stores` (which is `dir`);
    /// [`Error::StoreMissing`] when it is not there or not a file.
    pub(crate) fn watch(
        stores: Arc<rustix::fd::OwnedFd>,
        dir: &Path,
        relative: &str,
    ) -> Result<StoreFile> {
        let path = dir.join(relative);
        let relative = std::ffi::CString::new(relative)
            .map_err(|_| Error::StoreMissing(format!("{} is not a file name", path.display())))?;
        let mut watched = StoreFile {
            stores,
            relative,
            inode: (0, 0, 0),
            path,
        };
        watched.inode = watched.look()?;
        Ok(watched)
    }

    /// The file's inode and device now; [`Error::StoreMissing`] when there is none.
    fn look(&self) -> Result<(u64, u32, u32)> {
        use rustix::fs::{AtFlags, FileType, StatxFlags};
        let found = rustix::fs::statx(
            &*self.stores,
            self.relative.as_c_str(),
            AtFlags::STATX_DONT_SYNC,
            StatxFlags::TYPE | StatxFlags::INO,
        )
        .map_err(|e| missing_or_io(&self.path, std::io::Error::from(e)))?;
        if FileType::from_raw_mode(u32::from(found.stx_mode)) != FileType::RegularFile {
            return Err(Error::StoreMissing(format!(
                "{} is not a file",
                self.path.display()
            )));
        }
        Ok((found.stx_ino, found.stx_dev_major, found.stx_dev_minor))
    }

    /// Whether the file the pool opened is still the one at its place.
    pub(crate) fn check(&self) -> Result<Watched> {
        Ok(if self.look()? == self.inode {
            Watched::Same
        } else {
            Watched::Replaced
        })
    }
}

fn missing_or_io(file: &Path, error: std::io::Error) -> Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        Error::StoreMissing(format!("{} is missing", file.display()))
    } else {
        Error::io(file, error)
    }
}

/// Whether this process may write `file`, asked with `access(2)`: never by opening it, since
/// closing any descriptor of a file drops every POSIX lock this process holds on it,
/// SQLite's included. (That let another process think it was the only one on the store,
/// rebuild the wal-index under this one's mapping and end it with SIGBUS.)
fn writable(file: &Path) -> std::io::Result<()> {
    rustix::fs::access(file, rustix::fs::Access::WRITE_OK).map_err(std::io::Error::from)
}

/// A SQLite store's `-shm` file, the wal-index that SQLite maps into memory. A mapping of a
/// file that cannot be written turns into SIGBUS, a signal that would end every brand's
/// requests instead of one brand's error. So the file is checked before the pool opens and
/// before each transaction: it must be a regular file this process may write.
/// (What cannot be caught: a file cut short while it is mapped; README, *Storage faults*.)
#[derive(Debug)]
pub(crate) struct WalIndex {
    path: PathBuf,
}

impl WalIndex {
    fn of(file: &Path) -> Self {
        let mut shm = file.as_os_str().to_owned();
        shm.push("-shm");
        WalIndex {
            path: PathBuf::from(shm),
        }
    }

    /// Fails with [`Error::StoreUnusable`] when SQLite could not use the file safely.
    pub(crate) fn check(&self) -> Result<()> {
        let unusable = |why: String| Error::StoreUnusable(format!("{} {why}", self.path.display()));
        match std::fs::metadata(&self.path) {
            Ok(meta) if !meta.is_file() => Err(unusable("is not a regular file".to_owned())),
            Ok(_) => match writable(&self.path) {
                Ok(()) => Ok(()),
                // Removed by the last connection of another pool since it was looked at.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(unusable(format!("cannot be written: {e}"))),
            },
            // SQLite makes it with the first connection and removes it with the last.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }
}

/// Pools test a connection before handing it out (a ping, which on SQLite also waits for
/// the rollback of a dropped transaction to be done), then this check: a connection still
/// inside a transaction that no unit of work owns is closed, never reused.
macro_rules! not_in_transaction {
    () => {
        |conn, _| {
            Box::pin(async move {
                use sqlx::Connection as _;
                if conn.is_in_transaction() {
                    tracing::warn!("discarding a pooled connection left inside a transaction");
                    return Ok(false);
                }
                Ok(true)
            })
        }
    };
}

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
    Sqlite(SqlitePool, Arc<WalIndex>),
    Postgres { pool: PgPool, schema: Arc<str> },
}

/// A transaction on one store. Commit explicitly; dropping it rolls back.
#[derive(Debug)]
pub(crate) struct Tx {
    pub(crate) inner: TxInner,
    /// Begun with [`Db::write`].
    writing: bool,
    /// The store whose cached values its commit makes unusable, and whether all of them
    /// (`true`, [`TenantStore::write`]) or only remembered answers
    /// ([`TenantStore::write_uncached`]).
    changes: Option<(Arc<Freshness>, bool)>,
    /// On PostgreSQL, the start of the notice an appended event sends to other servers.
    event_notice: Option<String>,
    /// Whether an event was appended (its commit wakes the store's streams).
    emitted: bool,
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
    /// Opens a SQLite file with WAL, `synchronous=NORMAL`, a busy timeout and foreign keys;
    /// connections close when idle. With [`Create::IfMissing`] a missing file (and its
    /// directory) is made; with [`Create::Never`] a missing store is an error
    /// ([`Error::StoreMissing`]), so a store that disappeared is never recreated empty.
    pub(crate) async fn open_sqlite(file: &Path, create: Create) -> Result<Db> {
        match create {
            Create::IfMissing => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
            }
            Create::Never => {
                check_store_file(file)?;
                // SQLite would quietly open a file it cannot write read-only, and the pool
                // would keep that connection after the file became writable again.
                writable(file).map_err(|e| {
                    Error::StoreUnusable(format!("{} cannot be written: {e}", file.display()))
                })?;
                WalIndex::of(file).check()?;
            }
        }
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(create == Create::IfMissing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        // No idle timeout and no maximum lifetime: SQLite touches the wal-index when a
        // connection closes, so connections close only when the pool is closed, which the
        // registry does only once the wal-index is usable (see `WalIndex`).
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .before_acquire(not_in_transaction!())
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool, Arc::new(WalIndex::of(file))))
    }

    /// Connects the one shared PostgreSQL pool.
    pub(crate) async fn connect_postgres(url: &str, max_connections: u32) -> Result<PgPool> {
        let options = PgConnectOptions::from_str(url)?;
        let server = format!("{}:{}", options.get_host(), options.get_port());
        PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .idle_timeout(IDLE_TIMEOUT)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .before_acquire(not_in_transaction!())
            .connect_with(options)
            .await
            .map_err(|error| {
                let cause = match &error {
                    sqlx::Error::PoolTimedOut => {
                        format!("no connection within {} s", ACQUIRE_TIMEOUT.as_secs())
                    }
                    other => other.to_string(),
                };
                Error::DatabaseUnreachable { server, cause }
            })
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

    /// Begins a transaction in a task of its own, so that a caller that is dropped while
    /// waiting (a client that went away, a request deadline, shutdown) never leaves a
    /// connection inside a transaction that no [`Tx`] owns: the task always finishes, and a
    /// transaction nobody receives is dropped there, which rolls it back. (sqlx 0.8's SQLite
    /// `begin_with` acknowledges the `BEGIN` and then awaits again before it hands out the
    /// transaction; a drop in between returned the connection to the pool mid-transaction.)
    /// The pools' check before each use discards any connection that still comes back in a
    /// transaction, whatever the cause.
    async fn begin(
        &self,
        sqlite_begin: &'static str,
        postgres_begin: &'static str,
        writing: bool,
    ) -> Result<Tx> {
        if let Db::Sqlite(_, wal_index) = self {
            wal_index.check()?;
        }
        let db = self.clone();
        let begun = tokio::spawn(async move {
            match db {
                Db::Sqlite(pool, _) => Ok(TxInner::Sqlite(
                    pool.begin_with(Cow::Borrowed(sqlite_begin)).await?,
                )),
                Db::Postgres { pool, schema } => {
                    let mut tx = pool.begin_with(Cow::Borrowed(postgres_begin)).await?;
                    sqlx::query("select set_config('search_path', $1, true)")
                        .bind(&*schema)
                        .execute(&mut *tx)
                        .await?;
                    Ok(TxInner::Postgres(tx))
                }
            }
        });
        let inner: Result<TxInner> = begun
            .await
            .map_err(|_| Error::Unavailable(sqlx::Error::WorkerCrashed))?;
        Ok(Tx {
            inner: inner?,
            writing,
            changes: None,
            event_notice: None,
            emitted: false,
        })
    }

    /// Whether closing this store's connections is safe now: not while a SQLite wal-index
    /// cannot be written (closing writes to its mapping, which would be SIGBUS).
    pub(crate) fn closable(&self) -> bool {
        match self {
            Db::Sqlite(_, wal_index) => wal_index.check().is_ok(),
            Db::Postgres { .. } => true,
        }
    }

    /// Closes the pool (SQLite) so its file can be moved or deleted; no-op on PostgreSQL,
    /// whose pool is shared.
    pub(crate) async fn close(&self) {
        if let Db::Sqlite(pool, _) = self {
            pool.close().await;
        }
    }
}

impl Tx {
    /// Whether this is a SQLite transaction (for the few statements that differ).
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self.inner, TxInner::Sqlite(_))
    }

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

    /// Makes the transaction's changes durable (and, for a transaction that may have
    /// changed what the caches hold, every cached value of its store unusable).
    pub(crate) async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        match &self.changes {
            Some((fresh, true)) => fresh.changed(),
            Some((fresh, false)) => fresh.data_changed(),
            None => {}
        }
        if let (true, Some((fresh, _))) = (self.emitted, &self.changes) {
            fresh.events.poke();
        }
        Ok(())
    }

    /// Notes that event `id` was appended: other servers are told at commit (PostgreSQL
    /// delivers a notification only if its transaction commits), this one's streams are
    /// woken by the commit itself.
    pub(crate) async fn emitted(&mut self, id: i64) -> Result<()> {
        self.emitted = true;
        if let (TxInner::Postgres(tx), Some(notice)) = (&mut self.inner, &self.event_notice) {
            sqlx::query("select pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(format!("{notice} {id}"))
                .execute(&mut **tx)
                .await?;
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
            Db::Sqlite(..) => self.sqlite,
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

pub(crate) const PLATFORM_MIGRATIONS: Migrations = migrations!("platform": (1, "0001_platform"), (2, "0002_certificates"), (3, "0003_acme"), (4, "0004_acme_issuance"), (5, "0005_search"));
pub(crate) const TENANT_MIGRATIONS: Migrations = migrations!("tenant": (1, "0001_users"), (2, "0002_access"), (3, "0003_mail"), (4, "0004_totp"), (5, "0005_settings"), (6, "0006_access_review"), (7, "0007_totp_failures"), (8, "0008_projects"), (9, "0009_tasks"), (10, "0010_search"), (11, "0011_files"), (12, "0012_events"), (13, "0013_notifications"), (14, "0014_conversations"), (15, "0015_chat"), (16, "0016_search_talk"), (17, "0017_mail_replies"), (18, "0018_invoices"), (19, "0019_billing"), (20, "0020_company_tax_id"));

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

/// Whether a store has a migration history at all (a store whose file was replaced by an
/// empty one, or whose schema is gone, has none).
pub(crate) async fn has_history(db: &Db) -> Result<bool> {
    let mut tx = db.read().await?;
    history_exists(db, &mut tx).await
}

async fn history_exists(db: &Db, tx: &mut Tx) -> Result<bool> {
    Ok(on_tx!(tx, |conn| {
        let sql = match db {
            Db::Sqlite(..) => {
                "select count(*) > 0 from sqlite_master where type = 'table' and name = 'schema_migrations'"
            }
            Db::Postgres { .. } => {
                "select count(*) > 0 from information_schema.tables where table_schema = current_schema() and table_name = 'schema_migrations'"
            }
        };
        sqlx::query_scalar(sql).fetch_one(conn).await?
    }))
}

/// The version a store is at (0 when it has never been migrated).
pub(crate) async fn current_version(db: &Db) -> Result<i64> {
    let mut tx = db.read().await?;
    if !history_exists(db, &mut tx).await? {
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
            Db::Sqlite(..) => MIGRATIONS_TABLE_SQLITE,
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

/// One tenant's store: the only way to reach its data. Only the registry makes one ([`TenantStore::new`]).
#[derive(Debug, Clone)]
pub struct TenantStore {
    pub(crate) db: Db,
    key: Arc<SecretKey>,
    pub(crate) cached: StoreCaches,
    /// The brand's part of the file store, when the server has one.
    pub(crate) files: Option<crate::objects::BrandFiles>,
}

impl TenantStore {
    /// The key the brand's secrets (two-factor secrets) are sealed with: the server's
    /// encryption key once the platform was given it ([`Platform::use_sealing_key`]).
    pub(crate) fn sealing_key(&self) -> &SecretKey {
        &self.key
    }

    pub(crate) async fn read(&self) -> Result<Tx> {
        self.db.read().await
    }

    /// A write transaction; when it commits, nothing cached of this store before is used
    /// again, in this process at once and in other servers on PostgreSQL through `NOTIFY`
    /// (which PostgreSQL delivers only if the transaction commits).
    pub(crate) async fn write(&self) -> Result<Tx> {
        self.write_changing(true).await
    }

    /// A write transaction for data that the caches of looks, settings and sign-ins do not
    /// hold (work items, the mail outbox, when a session or token was last used): its
    /// commit leaves those usable and makes only remembered answers unusable.
    pub(crate) async fn write_uncached(&self) -> Result<Tx> {
        self.write_changing(false).await
    }

    async fn write_changing(&self, all: bool) -> Result<Tx> {
        let mut tx = self.db.write().await?;
        if let (TxInner::Postgres(inner), Db::Postgres { schema, .. }) = (&mut tx.inner, &self.db) {
            sqlx::query("select pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(self.cached.caches.notice(schema, all))
                .execute(&mut **inner)
                .await?;
            tx.event_notice = Some(self.cached.caches.event_notice(schema));
        }
        tx.changes = Some((Arc::clone(&self.cached.fresh), all));
        Ok(tx)
    }

    pub(crate) async fn snapshot(&self) -> Result<Tx> {
        self.db.snapshot().await
    }

    /// The answer `load` gives (serialised, say a JSON page of a list), kept until this
    /// store next changes ([`crate::cache`]): the same `key` gets the kept bytes without
    /// reading the store. Only for answers that depend on nothing but the store's committed
    /// data and `key` (not on who asks, beyond a permission checked before, nor on the
    /// time); the key names what the answer is and everything it was asked with. Any
    /// committed write to the store, of any kind, lets go of every remembered answer.
    pub async fn remembered<F, Fut>(&self, key: String, load: F) -> Result<Arc<Vec<u8>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>>>,
    {
        let cached = &self.cached;
        let key = (cached.id(), key);
        if let Some(answer) = cached.get_at(&cached.caches.answers, &key, cached.data_stamp()) {
            return Ok(answer);
        }
        let stamp = cached.data_stamp();
        let answer = Arc::new(load().await?);
        cached.keep(&cached.caches.answers, key, stamp, Arc::clone(&answer));
        Ok(answer)
    }
}

impl TenantStore {
    pub(crate) fn new(
        db: Db,
        key: Arc<SecretKey>,
        cached: StoreCaches,
        files: Option<crate::objects::BrandFiles>,
    ) -> Self {
        TenantStore {
            db,
            key,
            cached,
            files,
        }
    }
}

/// How a column of a table is written in backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Text,
    OptionalText,
    Time,
    OptionalTime,
    Integer,
}

/// A table in backups: its name and its columns (the first is the key rows are ordered by).
pub(crate) type Table = (&'static str, &'static [(&'static str, Column)]);

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(dir: &Path) -> StoreFile {
        StoreFile::watch(stores_folder(dir).unwrap(), dir, "brand/tenant.db").unwrap()
    }

    #[test]
    fn a_store_file_deleted_moved_or_replaced_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let brand = dir.path().join("brand");
        std::fs::create_dir(&brand).unwrap();
        let file = brand.join("tenant.db");
        std::fs::write(&file, b"first").unwrap();
        let store = watched(dir.path());
        assert_eq!(store.check().unwrap(), Watched::Same);
        // Written to in place: still the same file.
        std::fs::write(&file, b"changed").unwrap();
        assert_eq!(store.check().unwrap(), Watched::Same);

        // Another file renamed over it.
        let other = brand.join("other.db");
        std::fs::write(&other, b"other").unwrap();
        std::fs::rename(&other, &file).unwrap();
        assert_eq!(store.check().unwrap(), Watched::Replaced);

        // The file moved away, or the brand's folder moved away: missing.
        let store = watched(dir.path());
        std::fs::rename(&file, brand.join("aside.db")).unwrap();
        assert!(matches!(store.check(), Err(Error::StoreMissing(_))));
        std::fs::rename(brand.join("aside.db"), &file).unwrap();
        assert_eq!(store.check().unwrap(), Watched::Same, "put back");
        std::fs::rename(&brand, dir.path().join("aside")).unwrap();
        assert!(matches!(store.check(), Err(Error::StoreMissing(_))));
        std::fs::rename(dir.path().join("aside"), &brand).unwrap();

        // Deleted, or a folder in its place.
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(store.check(), Err(Error::StoreMissing(_))));
        std::fs::create_dir(&file).unwrap();
        let refused = store.check();
        assert!(
            matches!(&refused, Err(Error::StoreMissing(why)) if why.contains("not a file")),
            "{refused:?}"
        );
        assert!(matches!(
            StoreFile::watch(
                stores_folder(dir.path()).unwrap(),
                dir.path(),
                "none/tenant.db"
            ),
            Err(Error::StoreMissing(_))
        ));
    }
}

//! The platform registry: which tenants exist, on which domain, in which state, and the one
//! way to reach a tenant's store.
//!
//! Creating a tenant spans two stores that share no transaction on SQLite, so it goes in
//! steps: a `pending` platform row, then the tenant's store created and migrated, then the
//! row marked `active`. While it works, the creating process holds a lock (a locked file
//! beside the tenant's directory on SQLite, a session advisory lock on PostgreSQL) that dies
//! with it. [`Platform::open`] sweeps every pending tenant whose lock is free: its creator
//! was killed, so its half-made store and its row are removed. A tenant is therefore either
//! whole or absent, whatever moment a crash hits.

use std::collections::{HashMap, HashSet};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgPool;
use time::OffsetDateTime;

use crate::cache::{Caches, Freshness, Notice, StoreCaches};
use crate::error::{Error, Result};
use crate::names::Hostname;
use crate::objects::{BrandFiles, FileStore};
use crate::platform::directory::{Entry, TenantDirectory};
use crate::platform::entitlement::{self, Serving, Standing};
use crate::platform::secrets::SecretKey;
use crate::platform::tenant::{
    TENANT_COLUMNS, Tenant, TenantContext, TenantId, TenantRow, TenantState, parse_brand,
};
use crate::store::TenantStore;
use crate::store::{
    self, Backend, Create, Db, PLATFORM_MIGRATIONS, TENANT_MIGRATIONS, Tx, new_id, now, on_tx,
};

/// What happened to one tenant in [`Platform::migrate_tenants`].
#[derive(Debug)]
pub struct TenantMigration {
    /// The tenant.
    pub tenant: Tenant,
    /// Migrations applied, or why it failed (the tenant stays at its last good version).
    pub result: Result<usize>,
}

/// A brand's store as kept open between requests: everything a request needs of it, made
/// once when it opens rather than on every request.
#[derive(Debug, Clone)]
struct OpenStore {
    db: Db,
    fresh: Arc<Freshness>,
    /// SQLite: the store's file, to notice at once when it is deleted, moved or replaced.
    file: Option<Arc<store::StoreFile>>,
    /// The brand's part of the file store, if the server has one.
    files: Option<BrandFiles>,
}

/// The platform: its own store, and the registry of tenants and their stores.
#[derive(Debug)]
pub struct Platform {
    backend: Backend,
    pub(crate) db: Db,
    postgres: Option<PgPool>,
    tenant_dbs: Mutex<HashMap<TenantId, OpenStore>>,
    /// What nearly every request reads, kept for every brand (see [`crate::cache`]).
    caches: Arc<Caches>,
    /// Tenants whose store was found at this binary's schema version; checked once, not on
    /// every request. Cleared for a tenant whenever its store is migrated or closed.
    current: Mutex<HashSet<TenantId>>,
    /// What brands' secrets are sealed with.
    sealing_key: std::sync::RwLock<Arc<SecretKey>>,
    /// Pools let go of while their store could not be closed safely (a SQLite wal-index that
    /// cannot be written): kept, unused, until they can be.
    quarantined: Mutex<Vec<Db>>,
    /// Where brands' files are kept, once the server says ([`Platform::use_file_store`]).
    files: std::sync::RwLock<Option<FileStore>>,
    /// SQLite: the folder of every brand's store, held open once a store is opened.
    stores_folder: Mutex<Option<Arc<rustix::fd::OwnedFd>>>,
}

impl Platform {
    /// Connects, brings the platform store up to date and sweeps tenants whose creation was
    /// interrupted. Tenant stores are opened on first use.
    pub async fn open(backend: &Backend) -> Result<Self> {
        let (db, postgres) = match backend {
            Backend::Sqlite { dir } => (
                Db::open_sqlite(&dir.join("platform.db"), Create::IfMissing).await?,
                None,
            ),
            Backend::Postgres {
                url,
                max_connections,
            } => {
                let pool = Db::connect_postgres(url, *max_connections).await?;
                create_schema(&pool, "platform").await?;
                (
                    Db::Postgres {
                        pool: pool.clone(),
                        schema: Arc::from("platform"),
                    },
                    Some(pool),
                )
            }
        };
        store::migrate(&db, &PLATFORM_MIGRATIONS, "platform store").await?;
        let platform = Platform {
            backend: backend.clone(),
            db,
            postgres,
            tenant_dbs: Mutex::new(HashMap::new()),
            // PostgreSQL: other servers' changes must be followed first.
            caches: Arc::new(Caches::new(matches!(backend, Backend::Sqlite { .. }))),
            current: Mutex::new(HashSet::new()),
            quarantined: Mutex::new(Vec::new()),
            sealing_key: std::sync::RwLock::new(Arc::new(ephemeral_key()?)),
            files: std::sync::RwLock::new(None),
            stores_folder: Mutex::new(None),
        };
        platform.sweep_interrupted().await?;
        Ok(platform)
    }

    /// Seals brands' secrets with `key`, the server's encryption key (until this is called,
    /// with a random key of this process only: fit for tests, not for data that must
    /// outlive the process).
    pub fn use_sealing_key(&self, key: SecretKey) {
        if let Ok(mut slot) = self.sealing_key.write() {
            *slot = Arc::new(key);
        }
    }

    /// Keeps brands' files in `files` (until this is called, brands have no files: every
    /// file action answers that the server has no file store).
    pub fn use_file_store(&self, files: FileStore) {
        if let Ok(mut dbs) = self.tenant_dbs.lock() {
            for (id, open) in dbs.iter_mut() {
                open.files = Some(files.for_brand(id));
            }
        }
        if let Ok(mut slot) = self.files.write() {
            *slot = Some(files);
        }
    }

    /// The server's file store, if it has one.
    pub fn file_store(&self) -> Option<FileStore> {
        self.files.read().ok().and_then(|files| files.clone())
    }

    fn brand_files(&self, id: &TenantId) -> Option<BrandFiles> {
        self.file_store().map(|files| files.for_brand(id))
    }

    fn sealing_key(&self) -> Arc<SecretKey> {
        self.sealing_key
            .read()
            .map(|key| Arc::clone(&key))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    /// The backend in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Every tenant, oldest first.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let mut tx = self.db.read().await?;
        all_tenants(&mut tx).await
    }

    /// The tenant on `domain`, whatever its state.
    pub async fn tenant_by_domain(&self, domain: &Hostname) -> Result<Option<Tenant>> {
        let mut tx = self.db.read().await?;
        find_by_domain(&mut tx, domain).await
    }

    /// Adds a brand on `domain` within what `standing` allows, creating and migrating its
    /// store; the tenant is whole or absent afterwards whatever happens.
    pub async fn add_domain(
        &self,
        domain: &Hostname,
        brand: &str,
        standing: &Standing,
    ) -> Result<Tenant> {
        let brand = parse_brand(brand)?;
        if standing.read_only() {
            return Err(Error::NotLicensed(
                "the licence has expired, so no domain can be added; install a renewed licence first"
                    .to_owned(),
            ));
        }
        if let Some(reason) = standing.refuses_name(domain) {
            return Err(Error::NotLicensed(reason));
        }
        let id = TenantId::parse(&new_id()?)?;
        let guard = self.lock_creation(&id).await?;

        let mut tx = self.write_tenants().await?;
        if let Some(existing) = find_by_domain(&mut tx, domain).await? {
            return Err(Error::Conflict(match existing.state {
                TenantState::Removed => format!(
                    "{domain} was removed and its data kept; serve it again with 'tasksession domain activate {domain}', or delete it first with 'tasksession domain remove {domain} --purge --confirm {domain}'"
                ),
                _ => format!("{domain} already exists (brand '{}')", existing.brand),
            }));
        }
        let tenants = all_tenants(&mut tx).await?;
        check_room(&tenants, standing, domain)?;
        let at = now();
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into tenants (tenant_id, domain, brand, state, created_at, updated_at) values ($1, $2, $3, 'pending', $4, $4)",
            )
            .bind(id.as_str())
            .bind(domain.as_str())
            .bind(&brand)
            .bind(at)
            .execute(conn)
            .await?;
        });
        tx.commit().await?;
        crate::fault::pause_at("tenant_pending");

        let created = self.create_tenant_store(&id).await;
        crate::fault::pause_at("tenant_store_created");
        let activated = match created {
            Ok(()) => self.mark_active(&id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = activated {
            if let Err(cleanup) = self.delete_tenant(&id).await {
                tracing::error!(tenant = %id, error = %cleanup, "cleaning up a failed tenant");
            }
            drop(guard);
            return Err(e);
        }
        drop(guard);
        Ok(Tenant {
            id,
            domain: domain.clone(),
            brand,
            state: TenantState::Active,
            created_at: at,
        })
    }

    /// A write transaction on the tenants table that no other writer can interleave with:
    /// SQLite's `BEGIN IMMEDIATE` already serialises writers; PostgreSQL needs a table lock,
    /// so two processes adding domains cannot both take the plan's last place.
    async fn write_tenants(&self) -> Result<Tx> {
        let mut tx = self.db.write().await?;
        if let Db::Postgres { .. } = &self.db {
            on_tx!(tx, |conn| {
                sqlx::query("lock table tenants in share row exclusive mode")
                    .execute(conn)
                    .await?;
            });
        }
        Ok(tx)
    }

    async fn mark_active(&self, id: &TenantId) -> Result<()> {
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query("update tenants set state = 'active', updated_at = $2 where tenant_id = $1 and state = 'pending'")
                .bind(id.as_str())
                .bind(now())
                .execute(conn)
                .await?;
        });
        tx.commit().await
    }

    /// Sets the operator's state of the tenant on `domain`. Activating checks the licence.
    pub async fn set_state(
        &self,
        domain: &Hostname,
        state: TenantState,
        standing: &Standing,
    ) -> Result<Tenant> {
        if state == TenantState::Active
            && let Some(tenant) = self.tenant_by_domain(domain).await?
            && matches!(tenant.state, TenantState::Suspended | TenantState::Removed)
        {
            // `serve` brings only active brands' stores up to date at its start, so one
            // that was suspended across an upgrade is brought up to date here. A store that
            // is missing or unusable is shown as such once served, as before.
            match self.migrate_tenant(&tenant).await {
                Ok(_) | Err(Error::StoreMissing(_) | Error::StoreUnusable(_)) => {}
                Err(error) => return Err(error),
            }
        }
        let mut tx = self.write_tenants().await?;
        let mut tenant = find_by_domain(&mut tx, domain)
            .await?
            .filter(|t| t.state != TenantState::Pending)
            .ok_or_else(|| not_found(domain))?;
        if tenant.state == state {
            // Already active as far as the operator goes, but the licence may still keep it
            // from being served: say so rather than report success.
            if state == TenantState::Active {
                let tenants = all_tenants(&mut tx).await?;
                let serving = entitlement::serving(&tenants, standing);
                let position = tenants.iter().position(|t| t.id == tenant.id);
                if let Some(Serving::SuspendedByLicence(reason)) =
                    position.and_then(|index| serving.get(index))
                {
                    return Err(Error::NotLicensed(format!(
                        "{reason}; remove or suspend another domain to serve it"
                    )));
                }
            }
            return Ok(tenant);
        }
        if state == TenantState::Active {
            if let Some(reason) = standing.refuses_name(domain) {
                return Err(Error::NotLicensed(reason));
            }
            let tenants = all_tenants(&mut tx).await?;
            check_room(&tenants, standing, domain)?;
        }
        on_tx!(tx, |conn| {
            sqlx::query("update tenants set state = $2, updated_at = $3 where tenant_id = $1")
                .bind(tenant.id.as_str())
                .bind(state.as_str())
                .bind(now())
                .execute(conn)
                .await?;
        });
        tx.commit().await?;
        tenant.state = state;
        Ok(tenant)
    }

    /// Deletes a removed tenant's store and row for good.
    pub async fn purge(&self, domain: &Hostname) -> Result<Tenant> {
        let tenant = self
            .tenant_by_domain(domain)
            .await?
            .ok_or_else(|| not_found(domain))?;
        if tenant.state != TenantState::Removed {
            return Err(Error::Conflict(format!(
                "{domain} is {}; only a removed domain can be purged: run 'tasksession domain remove {domain}' first",
                tenant.state.as_str()
            )));
        }
        self.delete_tenant(&tenant.id).await?;
        Ok(tenant)
    }

    /// Whether each tenant is served under `standing`.
    pub async fn serving(&self, standing: &Standing) -> Result<Vec<(Tenant, Serving)>> {
        let tenants = self.tenants().await?;
        let serving = entitlement::serving(&tenants, standing);
        Ok(tenants.into_iter().zip(serving).collect())
    }

    /// The directory the gateway routes by: every tenant's serving state under `standing`.
    pub async fn directory(&self, standing: &Standing) -> Result<TenantDirectory> {
        Ok(TenantDirectory::build(self.tenants().await?, standing))
    }

    /// The context for a tenant found in the directory: its store, opened on first use.
    /// A store that is not at this binary's schema version is never handed out.
    pub async fn context(&self, entry: &Entry) -> Result<TenantContext> {
        let store = self.store_of(&entry.tenant.id).await?;
        Ok(TenantContext {
            tenant: entry.tenant.clone(),
            read_only: entry.read_only,
            store,
        })
    }

    /// The context for a request to `domain`, if a tenant is there (one-off use; the
    /// gateway keeps a [`TenantDirectory`] instead).
    pub async fn context_for(
        &self,
        domain: &Hostname,
        standing: &Standing,
    ) -> Result<Option<(TenantContext, Serving)>> {
        let directory = self.directory(standing).await?;
        let Some(entry) = directory.lookup(domain) else {
            return Ok(None);
        };
        Ok(Some((self.context(entry).await?, entry.serving.clone())))
    }

    /// Closes `tenant`'s pool (SQLite); it is opened again by the next [`Platform::context`].
    /// Contexts taken before stay tied to the closed pool, so call this only when none is in
    /// use.
    pub async fn release(&self, tenant: &Tenant) {
        if let Some(db) = self.take_pool(&tenant.id) {
            db.close().await;
        }
    }

    /// The store of `tenant` for `restore`: made anew (empty, at this binary's schema) when
    /// its file or schema is missing, which only `domain add` and `restore` may do.
    pub async fn restorable_store(&self, tenant: &Tenant) -> Result<TenantStore> {
        match self.tenant_store(tenant).await {
            Err(Error::StoreMissing(_)) => {
                self.create_tenant_store(&tenant.id).await?;
                self.store_of(&tenant.id).await
            }
            other => other,
        }
    }

    /// The store of `tenant` (for operator commands that act inside one tenant).
    pub async fn tenant_store(&self, tenant: &Tenant) -> Result<TenantStore> {
        if tenant.state == TenantState::Pending {
            return Err(not_found(&tenant.domain));
        }
        self.store_of(&tenant.id).await
    }

    async fn store_of(&self, id: &TenantId) -> Result<TenantStore> {
        // A file deleted while its pool is open would still take writes, into the void.
        let open = match self.cached_db(id) {
            Some(open) => match open.file.as_ref().map(|file| file.check()) {
                None | Some(Ok(store::Watched::Same)) => open,
                Some(Ok(store::Watched::Replaced)) => {
                    // Another file was put in its place: that one is served from now on.
                    self.drop_pool(id);
                    self.tenant_db(id, Create::Never).await?
                }
                Some(Err(missing)) => {
                    self.drop_pool(id);
                    return Err(missing);
                }
            },
            None => self.tenant_db(id, Create::Never).await?,
        };
        let OpenStore {
            db, fresh, files, ..
        } = open;
        let cached = StoreCaches {
            fresh,
            caches: Arc::clone(&self.caches),
        };
        if self
            .current
            .lock()
            .is_ok_and(|current| current.contains(id))
        {
            return Ok(TenantStore::new(db, self.sealing_key(), cached, files));
        }
        let version = store::check_not_newer(&db, &TENANT_MIGRATIONS, id.as_str()).await?;
        if version == 0 && !store::has_history(&db).await? {
            // Never migrated: an empty file or a schema that is gone, not a brand's data.
            self.drop_pool(id);
            return Err(Error::StoreMissing(format!(
                "the store of {id} holds no data"
            )));
        }
        if version < TENANT_MIGRATIONS.latest() {
            return Err(Error::StoreBehind(id.to_string()));
        }
        if let Ok(mut current) = self.current.lock() {
            current.insert(id.clone());
        }
        Ok(TenantStore::new(db, self.sealing_key(), cached, files))
    }

    /// Forgets that `id`'s store was found current, so the next use checks again.
    /// (Whatever made this necessary, a migration or a closed store, may also have changed
    /// what is cached of it.)
    fn forget_current(&self, id: &TenantId) {
        if let Ok(mut current) = self.current.lock() {
            current.remove(id);
        }
        if let Some(open) = self.cached_db(id) {
            open.fresh.changed();
        }
    }

    /// After `tenant`'s store failed (an I/O error, a full or read-only disk, killed
    /// connections): its pool is let go, so the next request opens fresh connections and
    /// works as soon as the fault is gone. (A SQLite connection that hit a write error can
    /// stay unusable until it is closed.) Work in flight finishes on the old pool.
    pub fn recover_store(&self, tenant: &Tenant) {
        self.drop_pool(&tenant.id);
    }

    /// Takes `id`'s pool out of the cache (the next use opens it again, and checks its
    /// version again).
    fn take_pool(&self, id: &TenantId) -> Option<Db> {
        self.forget_current(id);
        self.tenant_dbs
            .lock()
            .ok()
            .and_then(|mut dbs| dbs.remove(id))
            .map(|open| open.db)
    }

    /// Forgets `id`'s pool and closes it in the background (its file is gone or unusable).
    fn drop_pool(&self, id: &TenantId) {
        let cached = self.take_pool(id);
        let mut closing: Vec<Db> = cached.into_iter().collect();
        if let Ok(mut quarantined) = self.quarantined.lock() {
            closing.append(&mut quarantined);
            let (closable, kept): (Vec<Db>, Vec<Db>) = closing.into_iter().partition(Db::closable);
            if !kept.is_empty() {
                tracing::warn!(
                    pools = kept.len(),
                    "keeping a brand's connections open until its wal-index can be written"
                );
            }
            *quarantined = kept;
            closing = closable;
        }
        for db in closing {
            tokio::spawn(async move { db.close().await });
        }
    }

    async fn tenant_db(&self, id: &TenantId, create: Create) -> Result<OpenStore> {
        if let Some(open) = self.cached_db(id) {
            return Ok(open);
        }
        let (db, file) = match &self.backend {
            Backend::Sqlite { .. } => {
                let path = self.tenant_file(id);
                // Watched from before the pool opens (when the file must exist already):
                // a file replaced in between is noticed by the next request.
                let file = match create {
                    Create::Never => Some(self.watch_store_file(id)?),
                    Create::IfMissing => None,
                };
                let db = Db::open_sqlite(&path, create).await?;
                let file = match file {
                    Some(file) => file,
                    None => self.watch_store_file(id)?,
                };
                (db, Some(file))
            }
            Backend::Postgres { .. } => (
                Db::Postgres {
                    pool: self.postgres_pool()?.clone(),
                    schema: Arc::from(id.schema()),
                },
                None,
            ),
        };
        let open = OpenStore {
            db,
            fresh: Freshness::new(),
            file,
            files: self.brand_files(id),
        };
        if let Ok(mut dbs) = self.tenant_dbs.lock() {
            dbs.insert(id.clone(), open.clone());
        }
        Ok(open)
    }

    /// Watches `id`'s SQLite file (see [`store::StoreFile`]).
    fn watch_store_file(&self, id: &TenantId) -> Result<Arc<store::StoreFile>> {
        let dir = self.tenants_dir().unwrap_or_default();
        let stores = {
            let mut held = self
                .stores_folder
                .lock()
                .map_err(|_| Error::Invalid("the store folder lock is poisoned".to_owned()))?;
            match held.as_ref() {
                Some(stores) => Arc::clone(stores),
                None => {
                    let stores = store::stores_folder(&dir)?;
                    *held = Some(Arc::clone(&stores));
                    stores
                }
            }
        };
        let relative = store_file_name(id);
        match store::StoreFile::watch(stores, &dir, &relative) {
            Ok(file) => Ok(Arc::new(file)),
            Err(error) => {
                // The folder held may be one that was since replaced: look again from its
                // path once.
                let stores = store::stores_folder(&dir).map_err(|_| error)?;
                if let Ok(mut held) = self.stores_folder.lock() {
                    *held = Some(Arc::clone(&stores));
                }
                Ok(Arc::new(store::StoreFile::watch(stores, &dir, &relative)?))
            }
        }
    }

    fn cached_db(&self, id: &TenantId) -> Option<OpenStore> {
        self.tenant_dbs.lock().ok()?.get(id).cloned()
    }

    fn postgres_pool(&self) -> Result<&PgPool> {
        self.postgres
            .as_ref()
            .ok_or_else(|| Error::Invalid("no PostgreSQL pool".to_owned()))
    }

    fn tenants_dir(&self) -> Option<PathBuf> {
        match &self.backend {
            Backend::Sqlite { dir } => Some(dir.join("tenants")),
            Backend::Postgres { .. } => None,
        }
    }

    fn tenant_file(&self, id: &TenantId) -> PathBuf {
        self.tenants_dir()
            .unwrap_or_default()
            .join(store_file_name(id))
    }

    async fn create_tenant_store(&self, id: &TenantId) -> Result<()> {
        if let Backend::Postgres { .. } = &self.backend {
            create_schema(self.postgres_pool()?, &id.schema()).await?;
        }
        let db = self.tenant_db(id, Create::IfMissing).await?.db;
        store::migrate(&db, &TENANT_MIGRATIONS, id.as_str()).await?;
        Ok(())
    }

    /// Removes a tenant's store and its platform row.
    async fn delete_tenant(&self, id: &TenantId) -> Result<()> {
        if let Some(db) = self.take_pool(id) {
            db.close().await;
        }
        // Its files first: should this fail, the brand is still there to purge again.
        if let Some(files) = self.file_store() {
            files.remove_brand(id).await?;
        }
        match &self.backend {
            Backend::Sqlite { .. } => {
                let dir = self.tenants_dir().unwrap_or_default().join(id.as_str());
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(dir, e)),
                }
            }
            Backend::Postgres { .. } => {
                sqlx::query(&format!("drop schema if exists {} cascade", id.schema()))
                    .execute(self.postgres_pool()?)
                    .await?;
            }
        }
        let mut tx = self.db.write().await?;
        on_tx!(tx, |conn| {
            sqlx::query("delete from tenants where tenant_id = $1")
                .bind(id.as_str())
                .execute(conn)
                .await?;
        });
        tx.commit().await
    }

    /// Removes tenants left pending by a creator that is gone.
    async fn sweep_interrupted(&self) -> Result<()> {
        let pending: Vec<Tenant> = self
            .tenants()
            .await?
            .into_iter()
            .filter(|t| t.state == TenantState::Pending)
            .collect();
        for tenant in pending {
            if let Some(guard) = self.try_lock_creation(&tenant.id).await? {
                // Its creator may have finished between the list and the lock (it makes the
                // brand active before letting go of the lock): only a brand still pending
                // once the lock is ours was left by a creator that is gone.
                let still_pending = self
                    .tenants()
                    .await?
                    .iter()
                    .any(|t| t.id == tenant.id && t.state == TenantState::Pending);
                if !still_pending {
                    continue;
                }
                tracing::warn!(domain = %tenant.domain, "removing a brand whose creation was interrupted");
                self.delete_tenant(&tenant.id).await?;
                drop(guard);
                self.remove_lock_file(&tenant.id);
            }
        }
        Ok(())
    }

    fn lock_file(&self, id: &TenantId) -> Option<PathBuf> {
        self.tenants_dir()
            .map(|dir| dir.join(format!("{}.creating", id.as_str())))
    }

    fn remove_lock_file(&self, id: &TenantId) {
        if let Some(path) = self.lock_file(id) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Takes the lock that says "this tenant is being created by a live process".
    async fn lock_creation(&self, id: &TenantId) -> Result<CreationGuard> {
        match self.try_lock_creation(id).await? {
            Some(guard) => Ok(guard),
            None => Err(Error::Conflict(format!("tenant {id} is being created"))),
        }
    }

    async fn try_lock_creation(&self, id: &TenantId) -> Result<Option<CreationGuard>> {
        match &self.backend {
            Backend::Sqlite { .. } => {
                let path = self.lock_file(id).unwrap_or_default();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(CreationGuard::File { _file: file, path })),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
                }
            }
            Backend::Postgres { .. } => {
                let mut conn = self.postgres_pool()?.acquire().await?;
                let locked: bool =
                    sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended($1, 0))")
                        .bind(format!("tasksession-create-{id}"))
                        .fetch_one(&mut *conn)
                        .await?;
                if locked {
                    Ok(Some(CreationGuard::Postgres {
                        _connection: conn.detach(),
                    }))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Remembers `now` as the latest time seen and returns the previous one.
    pub async fn record_last_seen(&self, at: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        let mut tx = self.db.write().await?;
        let previous: Option<OffsetDateTime> = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select last_seen from licence_bookkeeping where licence_bookkeeping_id = 1",
            )
            .fetch_optional(conn)
            .await?
        });
        let latest = previous.map_or(at, |p| p.max(at));
        let stamp = now();
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into licence_bookkeeping (licence_bookkeeping_id, last_seen, created_at, updated_at) values (1, $1, $2, $2)
                 on conflict (licence_bookkeeping_id) do update set last_seen = $1, updated_at = $2",
            )
            .bind(store::truncate_to_micros(latest))
            .bind(stamp)
            .execute(conn)
            .await?;
        });
        tx.commit().await?;
        Ok(previous)
    }

    /// Brings every tenant store up to date; one failing tenant does not stop the others.
    /// `progress` is called after each tenant.
    pub async fn migrate_tenants(
        &self,
        progress: impl FnMut(&TenantMigration),
    ) -> Result<Vec<TenantMigration>> {
        self.migrate_where(|t| t.state != TenantState::Pending, progress)
            .await
    }

    /// Brings the stores of active tenants up to date, as [`Platform::migrate_tenants`]
    /// does for all: what `serve` does before serving. The others' stores are brought up
    /// to date when they are activated (see [`Platform::set_state`]) or by `migrate`, so a
    /// start does not open thousands of suspended brands' stores.
    pub async fn migrate_active_tenants(
        &self,
        progress: impl FnMut(&TenantMigration),
    ) -> Result<Vec<TenantMigration>> {
        self.migrate_where(|t| t.state == TenantState::Active, progress)
            .await
    }

    async fn migrate_where(
        &self,
        which: impl Fn(&Tenant) -> bool,
        mut progress: impl FnMut(&TenantMigration),
    ) -> Result<Vec<TenantMigration>> {
        let mut report = Vec::new();
        for tenant in self.tenants().await? {
            if !which(&tenant) {
                continue;
            }
            let result = self.migrate_tenant(&tenant).await;
            let entry = TenantMigration { tenant, result };
            progress(&entry);
            report.push(entry);
        }
        Ok(report)
    }

    /// Brings one tenant's store up to date; answers how many migrations it applied.
    async fn migrate_tenant(&self, tenant: &Tenant) -> Result<usize> {
        self.forget_current(&tenant.id);
        let result = match self.tenant_db(&tenant.id, Create::Never).await {
            Ok(open) => store::migrate(&open.db, &TENANT_MIGRATIONS, tenant.domain.as_str()).await,
            Err(e) => Err(e),
        };
        // Two-factor secrets that an older release kept in clear are sealed now.
        let result = match result {
            Ok(applied) => match self.store_of(&tenant.id).await {
                Ok(store) => crate::accounts::totp::seal_stored_secrets(&store)
                    .await
                    .map(|_| applied),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        // Only active brands are served: the others' stores are closed again, so that
        // thousands of suspended brands cost no memory (they open when used).
        if tenant.state != TenantState::Active {
            self.release(tenant).await;
        }
        result
    }

    /// Follows what other servers on the same PostgreSQL database change, so that nothing
    /// they change is served from this process's caches (see [`crate::cache`]); returns at
    /// once on SQLite. Runs until the task is dropped. Until it listens, and whenever its
    /// connection is lost, no cached value is used.
    pub async fn follow_changes(&self) {
        let Backend::Postgres { url, .. } = &self.backend else {
            return;
        };
        loop {
            // A connection of its own, outside the pool requests use.
            let mut listener = match sqlx::postgres::PgListener::connect(url).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot follow other servers' changes; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen(crate::cache::CHANGES_CHANNEL).await {
                tracing::warn!(%error, "cannot follow other servers' changes; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            self.caches.trust(true);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => self.changed_elsewhere(notification.payload()),
                    // The connection was lost and is listening again: whatever changed in
                    // between is unknown, so everything cached is let go.
                    Ok(None) => {
                        self.caches.trust(true);
                        self.catch_up_everywhere();
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the connection that follows other servers' changes");
                        self.caches.trust(false);
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
        }
    }

    /// Whether cached values are used now: always on SQLite; on PostgreSQL while
    /// [`Platform::follow_changes`] listens.
    pub fn follows_changes(&self) -> bool {
        self.caches.trusted()
    }

    /// Another server committed a change to a store (`payload`: [`Caches::notice`]).
    fn changed_elsewhere(&self, payload: &str) {
        let Some(notice) = self.caches.noticed(payload) else {
            return;
        };
        let (Notice::Changed { schema, .. } | Notice::Event { schema, .. }) = notice;
        let Some(id) = schema
            .strip_prefix("tenant_")
            .and_then(|id| TenantId::parse(id).ok())
        else {
            return;
        };
        if let Some(OpenStore { fresh, .. }) = self.cached_db(&id) {
            match notice {
                Notice::Changed { all: true, .. } => fresh.changed(),
                Notice::Changed { all: false, .. } => fresh.data_changed(),
                Notice::Event { id: event_id, .. } => {
                    if fresh.events.known().is_none_or(|known| known < event_id) {
                        fresh.events.poke();
                    }
                }
            }
        }
    }

    /// Wakes every open brand's live-update streams to look for what they may have missed
    /// (the connection that follows other servers was lost for a while).
    fn catch_up_everywhere(&self) {
        if let Ok(dbs) = self.tenant_dbs.lock() {
            for open in dbs.values() {
                open.fresh.events.poke();
            }
        }
    }

    /// Ends every live-update stream: the server is stopping.
    pub fn close_streams(&self) {
        self.caches.close_streams();
    }

    /// Closes every pool (call before exit so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        let mut dbs: Vec<Db> = self
            .tenant_dbs
            .lock()
            .map(|mut dbs| dbs.drain().map(|(_, open)| open.db).collect())
            .unwrap_or_default();
        if let Ok(mut quarantined) = self.quarantined.lock() {
            dbs.append(&mut quarantined);
        }
        for db in dbs {
            if db.closable() {
                db.close().await;
            } else {
                // Closing would write to a wal-index mapping that cannot be written
                // (SIGBUS); the process ends without it and SQLite recovers at next open.
                std::mem::forget(db);
            }
        }
        self.db.close().await;
        if let Some(pool) = &self.postgres {
            pool.close().await;
        }
    }
}

/// A key for this process only.
fn ephemeral_key() -> Result<SecretKey> {
    let mut bytes = [0_u8; crate::platform::secrets::KEY_LEN];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    SecretKey::from_bytes(&bytes)
}

/// Held while a tenant is being created; released when dropped or when the process dies.
#[derive(Debug)]
enum CreationGuard {
    File { _file: std::fs::File, path: PathBuf },
    Postgres { _connection: sqlx::PgConnection },
}

impl Drop for CreationGuard {
    fn drop(&mut self) {
        if let CreationGuard::File { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
        // A detached PostgreSQL connection closes when dropped, which releases its
        // session advisory lock.
    }
}

fn not_found(domain: &Hostname) -> Error {
    Error::NotFound(format!(
        "no domain {domain}; 'tasksession domain list' shows the domains there are"
    ))
}

async fn create_schema(pool: &PgPool, schema: &str) -> Result<()> {
    // Schema names are built from validated ids only, so they need no quoting.
    sqlx::query(&format!("create schema if not exists {schema}"))
        .execute(pool)
        .await?;
    Ok(())
}

async fn find_by_domain(tx: &mut Tx, domain: &Hostname) -> Result<Option<Tenant>> {
    let row: Option<TenantRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {TENANT_COLUMNS} from tenants where domain = $1"
        ))
        .bind(domain.as_str())
        .fetch_optional(conn)
        .await?
    });
    row.map(Tenant::try_from).transpose()
}

async fn all_tenants(tx: &mut Tx) -> Result<Vec<Tenant>> {
    let rows: Vec<TenantRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {TENANT_COLUMNS} from tenants order by tenant_id"
        ))
        .fetch_all(conn)
        .await?
    });
    rows.into_iter().map(Tenant::try_from).collect()
}

/// Fails when one more active domain would exceed what `standing` allows. Pending tenants
/// count, so two concurrent additions cannot both take the last place.
fn check_room(tenants: &[Tenant], standing: &Standing, adding: &Hostname) -> Result<()> {
    let taken: Vec<&Tenant> = tenants
        .iter()
        .filter(|t| matches!(t.state, TenantState::Active | TenantState::Pending))
        .filter(|t| standing.refuses_name(&t.domain).is_none())
        .filter(|t| &t.domain != adding)
        .collect();
    if taken.len() >= standing.max_domains() {
        let names: Vec<&str> = taken.iter().map(|t| t.domain.as_str()).collect();
        return Err(Error::NotLicensed(format!(
            "cannot serve {adding}: {} and {} active ({}); suspend or remove one first, or move to a plan with more domains",
            standing.plan_phrase(),
            if taken.len() == 1 {
                "1 is".to_owned()
            } else {
                format!("{} are", taken.len())
            },
            names.join(", ")
        )));
    }
    Ok(())
}

/// A brand's SQLite file within the folder of every brand's store: `ID/tenant.db`.
fn store_file_name(id: &TenantId) -> String {
    format!("{}/tenant.db", id.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;
    use crate::store::TxInner;
    use crate::test_support as support;

    async fn search_path(tx: &mut Tx) -> String {
        on_tx!(tx, |conn| {
            sqlx::query_scalar::<_, String>("select current_setting('search_path')")
                .fetch_one(conn)
                .await
                .unwrap()
        })
    }

    /// A pooled connection that comes back inside a transaction no one owns (which a unit of
    /// work dropped at the wrong moment used to leave) is closed before the next use, and
    /// units of work dropped at random points never leave one behind.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_never_reused_and_cancelled_work_leaves_none()
    {
        use sqlx::Connection as _;
        for store in support::both().await {
            let platform = Platform::open(&store.backend).await.unwrap();
            let a = platform
                .add_domain(&support::host("a.test"), "A", &Standing::Development)
                .await
                .unwrap();
            let tenant_store = platform.tenant_store(&a).await.unwrap();
            // Leak a transaction: its connection goes back to the pool still inside it.
            match &tenant_store.db {
                Db::Sqlite(pool, _) => {
                    let mut conn = pool.acquire().await.unwrap();
                    std::mem::forget(conn.begin().await.unwrap());
                    assert!(conn.is_in_transaction());
                }
                Db::Postgres { pool, .. } => {
                    let mut conn = pool.acquire().await.unwrap();
                    std::mem::forget(conn.begin().await.unwrap());
                    assert!(conn.is_in_transaction());
                }
            }
            for _ in 0..8 {
                let mut tx = tenant_store.write().await.unwrap();
                let depth_ok = match &mut tx.inner {
                    TxInner::Sqlite(tx) => tx.is_in_transaction(),
                    TxInner::Postgres(tx) => tx.is_in_transaction(),
                };
                assert!(depth_ok);
                tx.commit().await.unwrap();
            }
            // Units of work cancelled at every point of their begin and first query.
            for wait in 0..400_u64 {
                let work = async {
                    let mut tx = tenant_store.write().await?;
                    on_tx!(tx, |conn| {
                        sqlx::query("select count(*) from users")
                            .execute(conn)
                            .await?;
                    });
                    tx.commit().await
                };
                let _ = tokio::time::timeout(Duration::from_micros(wait * 5), work).await;
            }
            for _ in 0..8 {
                let tx = tenant_store.write().await.unwrap();
                tx.commit().await.unwrap();
            }
            platform.close().await;
            store.cleanup().await;
        }
    }

    /// With one pooled connection, every unit of work runs on the same connection: each
    /// sees only its own schema, and the path is gone once its transaction ends.
    #[tokio::test]
    async fn a_pooled_postgres_connection_never_carries_a_search_path_into_the_next_transaction() {
        let Some(store) = support::postgres(1).await else {
            return;
        };
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = platform
            .add_domain(&support::host("a.test"), "A", &Standing::Development)
            .await
            .unwrap();
        let b = platform
            .add_domain(&support::host("b.test"), "B", &Standing::Development)
            .await
            .unwrap();
        let store_a = platform.tenant_store(&a).await.unwrap();
        let store_b = platform.tenant_store(&b).await.unwrap();
        for _ in 0..3 {
            let mut tx = store_a.read().await.unwrap();
            assert_eq!(search_path(&mut tx).await, format!("tenant_{}", a.id));
            tx.commit().await.unwrap();
            let mut tx = store_b.write().await.unwrap();
            assert_eq!(search_path(&mut tx).await, format!("tenant_{}", b.id));
            drop(tx); // rolled back, not committed: the path must not survive either
            let mut tx = platform.db.read().await.unwrap();
            assert_eq!(search_path(&mut tx).await, "platform");
            tx.commit().await.unwrap();
        }
        let pool = platform.postgres_pool().unwrap().clone();
        let mut conn = pool.acquire().await.unwrap();
        let bare: String = sqlx::query_scalar("select current_setting('search_path')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert!(
            !bare.contains("tenant_") && !bare.contains("platform"),
            "{bare}"
        );
        drop(conn);
        // A tenant's transaction cannot even name the platform's tables.
        let mut tx = store_a.read().await.unwrap();
        let reach: Result<i64, sqlx::Error> = on_tx!(tx, |conn| {
            sqlx::query_scalar("select count(*) from tenants")
                .fetch_one(conn)
                .await
        });
        assert!(reach.is_err());
        drop(tx);
        platform.close().await;
        store.cleanup().await;
    }
}

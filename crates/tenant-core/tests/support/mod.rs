//! Test stores on both backends: a fresh SQLite directory, and a fresh PostgreSQL database
//! created for the test and dropped after it. PostgreSQL is at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot be reached the PostgreSQL
//! half is skipped with a notice, except with `CI=true`, where that is a failure.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a different part

use std::str::FromStr as _;
use tenant_core::accounts::invitations;

use licensing::{LicenceRequest, LicenceState, Plan};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tenant_core::{Backend, Standing};
use time::OffsetDateTime;

/// One backend for one test.
pub struct TestStore {
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestStore {
    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        self.backend.kind()
    }

    /// Drops the PostgreSQL database (the SQLite directory goes with the value).
    pub async fn cleanup(self) {
        if let Some((admin_url, database)) = &self.postgres {
            let mut admin = PgConnection::connect(admin_url).await.unwrap();
            sqlx::query(&format!("drop database if exists {database} with (force)"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh SQLite store.
pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    TestStore {
        backend: Backend::Sqlite {
            dir: dir.path().join("data"),
        },
        _dir: Some(dir),
        postgres: None,
    }
}

/// A fresh PostgreSQL database, or `None` (outside CI) when PostgreSQL is not reachable.
pub async fn postgres(max_connections: u32) -> Option<TestStore> {
    let admin_url = postgres_admin_url();
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(admin) => admin,
        Err(e) if !in_ci() => {
            eprintln!("PostgreSQL not reachable at {admin_url} ({e}): PostgreSQL half skipped");
            return None;
        }
        Err(e) => panic!("PostgreSQL not reachable at {admin_url} with CI=true: {e}"),
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    drop_stale_databases(&mut admin, now).await;
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).unwrap();
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let database = format!("ts_test_{now}_{suffix}");
    sqlx::query(&format!("create database {database}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = PgConnectOptions::from_str(&admin_url)
        .unwrap()
        .database(&database);
    let url = format!(
        "postgres://{}@{}:{}/{}",
        url.get_username(),
        url.get_host(),
        url.get_port(),
        database
    );
    Some(TestStore {
        backend: Backend::Postgres {
            url,
            max_connections,
        },
        _dir: None,
        postgres: Some((admin_url, database)),
    })
}

/// Test databases older than an hour were left by a test that panicked.
async fn drop_stale_databases(admin: &mut PgConnection, now: i64) {
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'ts_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let created: Option<i64> = name.split('_').nth(2).and_then(|t| t.parse().ok());
        if created.is_some_and(|t| now - t > 3600) {
            let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// SQLite, then PostgreSQL when reachable.
pub async fn both() -> Vec<TestStore> {
    let mut stores = vec![sqlite()];
    stores.extend(postgres(8).await);
    stores
}

/// A development-key licence standing.
pub fn licensed(plan: Plan, domains: &[&str], state: LicenceState) -> Standing {
    let text = licensing::issue_with_development_key(&LicenceRequest {
        id: "lic-test".to_owned(),
        licensee: "Test Agency".to_owned(),
        plan,
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        issued_at: OffsetDateTime::now_utc().date(),
        expires_at: None,
    })
    .unwrap();
    let licence = licensing::verify(text.as_bytes(), &licensing::Keyring::builtin()).unwrap();
    Standing::Licensed { licence, state }
}

pub fn host(name: &str) -> tenant_core::Hostname {
    tenant_core::Hostname::parse(name).unwrap()
}

/// Adds the development-mode domain `name` and opens its tenant context.
#[allow(dead_code)]
pub async fn context(platform: &tenant_core::Platform, name: &str) -> tenant_core::TenantContext {
    let domain = host(name);
    platform
        .add_domain(&domain, "Brand", &Standing::Development)
        .await
        .unwrap();
    platform
        .context_for(&domain, &Standing::Development)
        .await
        .unwrap()
        .unwrap()
        .0
}

/// The password every test user gets.
#[allow(dead_code)]
pub const PASSWORD: &str = "correct horse battery staple";

/// Invites `email` with `role` (and `company` for client roles), accepts the invitation
/// and signs in: the principal a request with that session would carry.
#[allow(dead_code)]
pub async fn signed_in_user(
    store: &tenant_core::TenantStore,
    email: &str,
    role: &str,
    company: Option<&str>,
) -> tenant_core::access::Principal {
    use tenant_core::accounts::users::NewUser;
    let mut new = NewUser::new(tenant_core::Email::parse(email).unwrap(), "Test User", role);
    new.company_id = company.map(str::to_owned);
    let (_, invitation) = invitations::invite_user(store, &new).await.unwrap();
    invitations::accept_invitation(store, invitation.token.reveal(), PASSWORD)
        .await
        .unwrap();
    sign_in_as(store, email).await
}

/// Signs `email` (an active user with [`PASSWORD`]) in: the principal of a new request.
#[allow(dead_code)]
pub async fn sign_in_as(
    store: &tenant_core::TenantStore,
    email: &str,
) -> tenant_core::access::Principal {
    signed_in_session(store, email).await.0
}

/// [`sign_in_as`], with the session's secret (what the cookie would carry).
#[allow(dead_code)]
pub async fn signed_in_session(
    store: &tenant_core::TenantStore,
    email: &str,
) -> (tenant_core::access::Principal, String) {
    use tenant_core::accounts::sessions::{self, ClientInfo, Presented};
    let client = ClientInfo {
        address: "192.0.2.1".to_owned(),
        user_agent: "test".to_owned(),
    };
    let signed_in = sessions::sign_in(store, email, PASSWORD, None, &client)
        .await
        .unwrap();
    let secret = signed_in.secret.reveal().to_owned();
    let principal = sessions::authenticate(store, Presented::Session(&secret), "192.0.2.1")
        .await
        .unwrap();
    (principal, secret)
}

/// Waits until `platform` follows other servers' changes (at once on SQLite).
pub async fn following(
    platform: &std::sync::Arc<tenant_core::Platform>,
) -> tokio::task::JoinHandle<()> {
    let follower = tokio::spawn({
        let platform = std::sync::Arc::clone(platform);
        async move { platform.follow_changes().await }
    });
    for _ in 0..200 {
        if platform.follows_changes() {
            return follower;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("never began to follow changes");
}

/// Invites `email` as `name` with `role` (in `company`), accepts and signs in: like
/// [`signed_in_user`], with a name of one's own (mentions find people by name).
#[allow(dead_code)]
pub async fn person(
    store: &tenant_core::TenantStore,
    email: &str,
    name: &str,
    role: &str,
    company: Option<&str>,
) -> tenant_core::access::Principal {
    use tenant_core::accounts::users::NewUser;
    let mut new = NewUser::new(tenant_core::Email::parse(email).unwrap(), name, role);
    new.company_id = company.map(str::to_owned);
    let (_, invitation) = invitations::invite_user(store, &new).await.unwrap();
    invitations::accept_invitation(store, invitation.token.reveal(), PASSWORD)
        .await
        .unwrap();
    sign_in_as(store, email).await
}

/// A result's shape, for tables of who gets what: `ok`, or the error's status.
#[allow(dead_code)]
pub fn outcome<T>(result: &Result<T, tenant_core::Error>) -> &'static str {
    use tenant_core::Error;
    match result {
        Ok(_) => "ok",
        Err(Error::NotFound(_)) => "404",
        Err(Error::Forbidden(_)) => "403",
        Err(Error::Conflict(_)) => "409",
        Err(Error::Field { .. }) => "422",
        Err(_) => "other",
    }
}

/// [`signed_in_user`] with the built-in `admin` role.
#[allow(dead_code)]
pub async fn signed_in_admin(
    store: &tenant_core::TenantStore,
    email: &str,
) -> tenant_core::access::Principal {
    signed_in_user(store, email, "admin", None).await
}

/// Runs SQL in a tenant's store behind the platform's back (to simulate time passing or
/// damage).
#[allow(dead_code)]
pub async fn run_in_tenant(backend: &Backend, tenant: &tenant_core::Tenant, statements: &[&str]) {
    match backend {
        Backend::Sqlite { dir } => {
            let file = dir
                .join("tenants")
                .join(tenant.id.as_str())
                .join("tenant.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
        }
        Backend::Postgres { url, .. } => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(&format!("set search_path to tenant_{}", tenant.id))
                .execute(&mut conn)
                .await
                .unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&mut conn).await.unwrap();
            }
        }
    }
}

/// A file store for one test: a fresh local directory, or the S3-compatible server of the
/// test run (`TEST_S3_ENDPOINT`, default `http://127.0.0.1:8333`, bucket
/// `tasksession-test`, the keys `.ci/run` starts SeaweedFS with).
pub struct TestFiles {
    pub kind: &'static str,
    pub store: tenant_core::objects::FileStore,
    /// The local directory (for looking at what is on disk).
    pub dir: Option<tempfile::TempDir>,
}

pub fn s3_settings() -> tenant_core::objects::S3Settings {
    tenant_core::objects::S3Settings {
        endpoint: Some(
            std::env::var("TEST_S3_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:8333".to_owned()),
        ),
        region: "us-east-1".to_owned(),
        bucket: std::env::var("TEST_S3_BUCKET").unwrap_or_else(|_| "tasksession-test".to_owned()),
        access_key_id: Some(
            std::env::var("TEST_S3_ACCESS_KEY_ID").unwrap_or_else(|_| "tasksession".to_owned()),
        ),
        secret_access_key: Some(
            std::env::var("TEST_S3_SECRET_ACCESS_KEY")
                .unwrap_or_else(|_| "tasksession-secret".to_owned()),
        ),
    }
}

/// A local file store and, when it answers, the S3 one (with `CI=true` it must answer).
pub async fn file_stores(limits: tenant_core::objects::FileLimits) -> Vec<TestFiles> {
    let dir = tempfile::tempdir().unwrap();
    let local = tenant_core::objects::FileStore::local(&dir.path().join("files"), limits).unwrap();
    let mut stores = vec![TestFiles {
        kind: "local",
        store: local,
        dir: Some(dir),
    }];
    let s3 = tenant_core::objects::FileStore::s3(&s3_settings(), limits).unwrap();
    match s3.check().await {
        Ok(()) => stores.push(TestFiles {
            kind: "s3",
            store: s3,
            dir: None,
        }),
        Err(e) if !in_ci() => eprintln!("S3 store not reachable ({e}): S3 half skipped"),
        Err(e) => panic!("S3 store not reachable with CI=true: {e}"),
    }
    stores
}

/// A project named "Website" made by `admin`, of `company` or internal.
pub async fn project(
    store: &tenant_core::TenantStore,
    admin: &tenant_core::access::Principal,
    company: Option<&str>,
) -> tenant_core::work::projects::Project {
    use tenant_core::access::{self, Scope, permissions::need};
    use tenant_core::work::projects::{self, NewProject};
    let permit = access::permit::<need::ProjectsCreate>(admin, Scope::Brand).unwrap();
    projects::create_project(
        store,
        &permit,
        &NewProject {
            name: "Website".to_owned(),
            description: String::new(),
            company_id: company.map(str::to_owned),
        },
    )
    .await
    .unwrap()
}

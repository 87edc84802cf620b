//! Tenancy benchmarks: routing a host name to its tenant with 5 and 10,000 tenants,
//! opening a cold tenant store, and inserting and paging users in a tenant of 100,000 users,
//! on SQLite and PostgreSQL (`TEST_POSTGRES_URL`, default the local server; skipped when
//! unreachable). Run: `cargo bench -p tenant-core --bench tenancy`.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

use std::hint::black_box;
use std::io::{BufReader, Write as _};
use std::str::FromStr as _;
use std::time::Duration;
use tenant_core::accounts::invitations;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sha2::Digest as _;
use sqlx::Connection as _;
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Scope};
use tenant_core::accounts::sessions::{self, Presented};
use tenant_core::accounts::users::{self, NewUser, UserFilter};
use tenant_core::platform::backup;
use tenant_core::{
    Backend, Email, Hostname, Platform, Standing, Tenant, TenantDirectory, TenantId, TenantState,
};
use time::OffsetDateTime;
use tokio::runtime::Runtime;

const USERS: usize = 100_000;
/// A personal access token of the seeded admin (user 0), to list users as the API does.
const ADMIN_TOKEN: &str = "tsp_benchmark-admin-token";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn synthetic_tenants(count: usize) -> Vec<Tenant> {
    (0..count)
        .map(|i| Tenant {
            id: TenantId::parse(&format!("{i:024x}")).unwrap(),
            domain: Hostname::parse(&format!("brand{i}.example.com")).unwrap(),
            brand: format!("Brand {i}"),
            state: TenantState::Active,
            created_at: OffsetDateTime::UNIX_EPOCH,
        })
        .collect()
}

fn host_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("host_lookup");
    for count in [5, 10_000] {
        let standing = Standing::Development;
        let directory = TenantDirectory::build(synthetic_tenants(count), &standing);
        let raw = format!("Brand{}.Example.COM.", count / 2);
        group.bench_with_input(BenchmarkId::new("tenants", count), &raw, |b, raw| {
            b.iter(|| {
                let host = Hostname::parse(black_box(raw)).unwrap();
                black_box(directory.lookup(&host).is_some())
            });
        });
    }
    group.finish();
}

struct Store {
    kind: &'static str,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

fn stores(rt: &Runtime) -> Vec<Store> {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![Store {
        kind: "sqlite",
        backend: Backend::Sqlite {
            dir: dir.path().to_owned(),
        },
        _dir: Some(dir),
        postgres: None,
    }];
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let database = format!("ts_bench_{}", OffsetDateTime::now_utc().unix_timestamp());
    let created = rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
        sqlx::query(&format!("create database {database}"))
            .execute(&mut conn)
            .await
            .ok()
    });
    match created {
        Some(_) => {
            let options = sqlx::postgres::PgConnectOptions::from_str(&admin).unwrap();
            let url = format!(
                "postgres://{}@{}:{}/{database}",
                options.get_username(),
                options.get_host(),
                options.get_port()
            );
            stores.push(Store {
                kind: "postgres",
                backend: Backend::Postgres {
                    url,
                    max_connections: 8,
                },
                _dir: None,
                postgres: Some((admin, database)),
            });
        }
        None => eprintln!("PostgreSQL not reachable at {admin}: PostgreSQL benchmarks skipped"),
    }
    stores
}

fn drop_database(rt: &Runtime, store: &Store) {
    if let Some((admin, database)) = &store.postgres {
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(&format!("drop database if exists {database} with (force)"))
                .execute(&mut conn)
                .await
                .unwrap();
        });
    }
}

/// A backup file of `count` users, restored in one transaction to seed a large tenant.
fn seed_file(count: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let at = "2026-01-01T00:00:00Z";
    writeln!(
        file,
        r#"{{"format":"tasksession-backup","version":1,"tenant_schema":2,"domain":"big.test","brand":"Big","created_at":"{at}"}}"#
    )
    .unwrap();
    for i in 0..count {
        let role = if i == 0 { "admin" } else { "staff" };
        writeln!(
            file,
            r#"{{"table":"users","row":{{"user_id":"{i:024x}","email":"user{i}@big.test","email_key":"user{i}@big.test","name":"User {i}","kind":"staff","role_id":"{role}","company_id":null,"status":"active","password_hash":null,"created_at":"{at}","updated_at":"{at}"}}}}"#
        )
        .unwrap();
    }
    let hash: String = sha2::Sha256::digest(ADMIN_TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    writeln!(
        file,
        r#"{{"table":"access_tokens","row":{{"access_token_id":"t","user_id":"{:024x}","name":"bench","token_hash":"{hash}","expires_at":null,"last_used_at":null,"created_at":"{at}","updated_at":"{at}"}}}}"#,
        0
    )
    .unwrap();
    writeln!(file, r#"{{"end":true,"rows":{}}}"#, count + 1).unwrap();
    file
}

fn tenant_stores(c: &mut Criterion) {
    let rt = runtime();
    let seed = seed_file(USERS);
    for store in stores(&rt) {
        let platform = rt.block_on(Platform::open(&store.backend)).unwrap();
        let standing = Standing::Development;
        let tenant = rt
            .block_on(platform.add_domain(&Hostname::parse("big.test").unwrap(), "Big", &standing))
            .unwrap();
        let directory = rt.block_on(platform.directory(&standing)).unwrap();
        let entry = directory.lookup(&tenant.domain).unwrap().clone();
        let context = rt.block_on(platform.context(&entry)).unwrap();
        rt.block_on(async {
            let mut input = BufReader::new(std::fs::File::open(seed.path()).unwrap());
            backup::read_header(&mut input).unwrap();
            backup::import(context.store(), &mut input, |_| {})
                .await
                .unwrap();
        });

        let mut group = c.benchmark_group(format!("{}_tenant", store.kind));
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(5));
        group.bench_function("open_cold", |b| {
            b.iter(|| {
                rt.block_on(async {
                    platform.release(&entry.tenant).await;
                    let context = platform.context(&entry).await.unwrap();
                    black_box(
                        sessions::authenticate(
                            context.store(),
                            Presented::Token(ADMIN_TOKEN),
                            "bench",
                        )
                        .await
                        .unwrap(),
                    );
                })
            });
        });
        // open_cold closed the pool the seeding context held: take a fresh one.
        let context = rt.block_on(platform.context(&entry)).unwrap();
        let mut next = 0u64;
        group.bench_function("insert_user_of_100k", |b| {
            b.iter(|| {
                next += 1;
                let new = NewUser {
                    email: Email::parse(&format!("new{next}@big.test")).unwrap(),
                    name: "New".to_owned(),
                    role: "staff".to_owned(),
                    company_id: None,
                    switches: None,
                    access_expires_at: None,
                };
                rt.block_on(invitations::invite_user(context.store(), &new))
                    .unwrap();
            });
        });
        let admin = rt
            .block_on(sessions::authenticate(
                context.store(),
                Presented::Token(ADMIN_TOKEN),
                "bench",
            ))
            .unwrap();
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let all = UserFilter::default();
        let list = |cursor: Option<&str>, filter: &UserFilter| {
            rt.block_on(users::list_users(
                context.store(),
                &permit,
                filter,
                cursor,
                50,
            ))
            .unwrap()
        };
        group.bench_function("list_first_page_of_100k", |b| {
            b.iter(|| assert_eq!(list(None, &all).items.len(), 50));
        });
        let deep = format!("{:024x}", USERS - 1000);
        group.bench_function("list_deep_page_of_100k", |b| {
            b.iter(|| assert_eq!(list(Some(&deep), &all).items.len(), 50));
        });
        let mut page = 0usize;
        group.bench_function("list_page_of_50_of_100k", |b| {
            b.iter(|| {
                page = (page + 7919) % (USERS - 100);
                let cursor = format!("{page:024x}");
                assert_eq!(list(Some(&cursor), &all).items.len(), 50);
            });
        });
        let search = UserFilter {
            q: Some("user 99999".to_owned()),
            ..UserFilter::default()
        };
        group.bench_function("search_one_of_100k", |b| {
            b.iter(|| assert_eq!(list(None, &search).items.len(), 1));
        });
        // A few letters that 1,111 users share: the first page of 50.
        let common = UserFilter {
            q: Some("user 12".to_owned()),
            ..UserFilter::default()
        };
        group.bench_function("search_common_of_100k", |b| {
            b.iter(|| assert_eq!(list(None, &common).items.len(), 50));
        });
        group.finish();
        rt.block_on(platform.close());
        drop_database(&rt, &store);
    }
}

criterion_group!(benches, host_lookup, tenant_stores);
criterion_main!(benches);

//! The platform registry on both backends: domains within the licence, whole-or-absent
//! tenants, suspension by plan, migrations and the store version check.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use licensing::{LicenceState, Plan};
use sqlx::Connection as _;
use support::{both, host, licensed, run_in_tenant};
use tenant_core::accounts::invitations;
use tenant_core::accounts::users::NewUser;
use tenant_core::{Backend, Email, Error, Platform, Serving, Standing, TenantState};

fn staff(email: &str) -> NewUser {
    NewUser::new(Email::parse(email).unwrap(), "Someone", "staff")
}

#[tokio::test]
async fn development_mode_allows_five_development_names_and_refuses_a_sixth_or_a_real_name() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let standing = Standing::Development;
        for name in [
            "localhost",
            "a.localhost",
            "b.localhost",
            "shop.test",
            "c.localhost",
        ] {
            platform
                .add_domain(&host(name), "Brand", &standing)
                .await
                .unwrap();
        }
        let sixth = platform
            .add_domain(&host("d.localhost"), "Brand", &standing)
            .await;
        match sixth {
            Err(Error::NotLicensed(reason)) => {
                assert!(reason.contains("allows 5 domains"), "{reason}");
            }
            other => panic!("{}: {other:?}", store.kind()),
        }
        let real = platform
            .add_domain(&host("acme.com"), "Brand", &standing)
            .await;
        assert!(matches!(real, Err(Error::NotLicensed(ref r)) if r.contains("development mode")));
        assert_eq!(platform.tenants().await.unwrap().len(), 5);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn each_plan_accepts_its_number_of_real_domains_and_refuses_one_more() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let multi = licensed(Plan::Multi, &[], LicenceState::Valid);
        for i in 0..5 {
            platform
                .add_domain(&host(&format!("brand{i}.example.com")), "Brand", &multi)
                .await
                .unwrap();
        }
        let sixth = platform
            .add_domain(&host("brand5.example.com"), "B", &multi)
            .await;
        assert!(
            matches!(sixth, Err(Error::NotLicensed(ref r)) if r.contains("plan 'multi' allows 5")),
            "{sixth:?}"
        );
        platform.close().await;
        store.cleanup().await;
    }
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        for plan in [Plan::Single, Plan::Lifetime] {
            let standing = licensed(plan, &[], LicenceState::Valid);
            let name = format!("{plan}.example.com");
            platform
                .add_domain(&host(&name), "One", &standing)
                .await
                .unwrap();
            let second = platform
                .add_domain(&host("second.example.com"), "Two", &standing)
                .await;
            assert!(
                matches!(second, Err(Error::NotLicensed(_))),
                "{plan}: {second:?}"
            );
            platform
                .set_state(&host(&name), TenantState::Removed, &standing)
                .await
                .unwrap();
        }
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_bound_licence_serves_only_its_names_and_an_expired_one_adds_nothing() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let bound = licensed(Plan::Multi, &["projects.acme.com"], LicenceState::Valid);
        let other = platform
            .add_domain(&host("other.acme.com"), "X", &bound)
            .await;
        assert!(matches!(other, Err(Error::NotLicensed(ref r)) if r.contains("bound to")));
        platform
            .add_domain(&host("projects.acme.com"), "Acme", &bound)
            .await
            .unwrap();
        let expired = licensed(Plan::Multi, &[], LicenceState::Expired);
        let refused = platform
            .add_domain(&host("late.acme.com"), "Late", &expired)
            .await;
        assert!(matches!(refused, Err(Error::NotLicensed(ref r)) if r.contains("expired")));
        let grace = licensed(Plan::Multi, &[], LicenceState::Grace { days_left: 3 });
        platform
            .add_domain(&host("grace.acme.com"), "Grace", &grace)
            .await
            .unwrap();
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn moving_to_a_smaller_plan_keeps_the_oldest_active_and_suspends_the_rest() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let multi = licensed(Plan::Multi, &[], LicenceState::Valid);
        for name in [
            "first.example.com",
            "second.example.com",
            "third.example.com",
        ] {
            platform
                .add_domain(&host(name), "Brand", &multi)
                .await
                .unwrap();
        }
        let single = licensed(Plan::Single, &[], LicenceState::Valid);
        let serving: Vec<(String, Serving)> = platform
            .serving(&single)
            .await
            .unwrap()
            .into_iter()
            .map(|(t, s)| (t.domain.to_string(), s))
            .collect();
        assert_eq!(
            serving[0],
            ("first.example.com".to_owned(), Serving::Active)
        );
        assert!(matches!(serving[1].1, Serving::SuspendedByLicence(_)));
        assert!(matches!(serving[2].1, Serving::SuspendedByLicence(_)));
        // Data is kept: the suspended tenant's store still opens.
        let (context, serving) = platform
            .context_for(&host("third.example.com"), &single)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(serving, Serving::SuspendedByLicence(_)));
        invitations::invite_user(context.store(), &staff("kept@example.com"))
            .await
            .unwrap();
        // Removing the oldest lets the next one in.
        platform
            .set_state(&host("first.example.com"), TenantState::Removed, &single)
            .await
            .unwrap();
        let serving = platform.serving(&single).await.unwrap();
        assert_eq!(serving[1].1, Serving::Active);
        // Activating past the limit is refused; the expired state makes tenants read-only.
        let again = platform
            .set_state(&host("first.example.com"), TenantState::Active, &single)
            .await;
        assert!(matches!(again, Err(Error::NotLicensed(_))), "{again:?}");
        let expired = licensed(Plan::Single, &[], LicenceState::Expired);
        let (context, _) = platform
            .context_for(&host("second.example.com"), &expired)
            .await
            .unwrap()
            .unwrap();
        assert!(context.read_only);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_domain_is_unique_and_a_removed_one_can_be_activated_or_purged() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let standing = Standing::Development;
        platform
            .add_domain(&host("acme.test"), "Acme", &standing)
            .await
            .unwrap();
        let twice = platform
            .add_domain(&host("ACME.test."), "Acme", &standing)
            .await;
        assert!(matches!(twice, Err(Error::Conflict(_))), "{twice:?}");
        platform
            .set_state(&host("acme.test"), TenantState::Removed, &standing)
            .await
            .unwrap();
        let readd = platform
            .add_domain(&host("acme.test"), "Acme", &standing)
            .await;
        assert!(matches!(readd, Err(Error::Conflict(ref r)) if r.contains("domain activate")));
        platform
            .set_state(&host("acme.test"), TenantState::Active, &standing)
            .await
            .unwrap();
        let active_purge = platform.purge(&host("acme.test")).await;
        assert!(matches!(active_purge, Err(Error::Conflict(_))));
        platform
            .set_state(&host("acme.test"), TenantState::Removed, &standing)
            .await
            .unwrap();
        platform.purge(&host("acme.test")).await.unwrap();
        assert!(platform.tenants().await.unwrap().is_empty());
        let missing = platform
            .set_state(&host("nowhere.test"), TenantState::Suspended, &standing)
            .await;
        assert!(matches!(missing, Err(Error::NotFound(_))));
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn every_tenant_gets_its_own_file_or_schema_and_purge_deletes_it() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let standing = Standing::Development;
        let a = platform
            .add_domain(&host("a.test"), "A", &standing)
            .await
            .unwrap();
        let b = platform
            .add_domain(&host("b.test"), "B", &standing)
            .await
            .unwrap();
        match &store.backend {
            Backend::Sqlite { dir } => {
                for tenant in [&a, &b] {
                    assert!(
                        dir.join("tenants")
                            .join(tenant.id.as_str())
                            .join("tenant.db")
                            .exists()
                    );
                }
            }
            Backend::Postgres { url, .. } => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let schemas: Vec<String> = sqlx::query_scalar(
                    "select table_schema from information_schema.tables where table_name = 'users' order by 1",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                assert_eq!(
                    schemas,
                    vec![format!("tenant_{}", a.id), format!("tenant_{}", b.id)]
                );
            }
        }
        platform
            .set_state(&host("a.test"), TenantState::Removed, &standing)
            .await
            .unwrap();
        platform.purge(&host("a.test")).await.unwrap();
        match &store.backend {
            Backend::Sqlite { dir } => {
                assert!(!dir.join("tenants").join(a.id.as_str()).exists());
                assert!(dir.join("tenants").join(b.id.as_str()).exists());
            }
            Backend::Postgres { url, .. } => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let count: i64 = sqlx::query_scalar(
                    "select count(*) from information_schema.schemata where schema_name = $1",
                )
                .bind(format!("tenant_{}", a.id))
                .fetch_one(&mut conn)
                .await
                .unwrap();
                assert_eq!(count, 0);
            }
        }
        platform.close().await;
        store.cleanup().await;
    }
}

/// What winds a tenant store back to version 0: no migration recorded, no table left.
/// How many tenant migrations this release has (one file per migration and backend).
fn tenant_migrations() -> usize {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/tenant/sqlite");
    std::fs::read_dir(dir).unwrap().count()
}

const WIND_BACK: &[&str] = &[
    "delete from schema_migrations",
    "drop table if exists recurring_invoices",
    "drop table if exists payment_events",
    "drop table if exists invoice_reminders",
    "drop table if exists invoice_counters",
    "drop table if exists invoice_history",
    "drop table if exists invoice_payments",
    "drop table if exists invoice_lines",
    "drop table if exists invoices",
    "drop table if exists mail_replies",
    "drop table if exists notifications",
    "drop table if exists notification_settings",
    "drop table if exists search_text",
    "drop table if exists search_items",
    "drop table if exists chat_reads",
    "drop table if exists chat_messages",
    "drop table if exists chat_direct_members",
    "drop table if exists chat_channels",
    "drop table if exists attachments",
    "drop table if exists comments",
    "drop table if exists discussions",
    "drop table events",
    // SQLite's search index (PostgreSQL's goes with its tables).
    "drop table if exists users_search",
    "drop table if exists projects_search",
    "drop table if exists search_keys",
    "drop table brand_settings",
    "drop table recovery_codes",
    "drop table totp_credentials",
    "drop table password_resets",
    "drop table outbox",
    "drop table audit_log",
    "drop table access_tokens",
    "drop table sessions",
    "drop table file_versions",
    "drop table files",
    "drop table file_blobs",
    "drop table tasks",
    "drop table project_teams",
    "drop table project_members",
    "drop table projects",
    "drop table team_members",
    "drop table teams",
    "drop table companies",
    "drop table roles",
    "drop table invitations",
    "drop table users",
];

#[tokio::test]
async fn migrate_reports_a_broken_tenant_by_name_and_migrates_the_others() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let standing = Standing::Development;
        let mut tenants = Vec::new();
        for name in ["one.test", "two.test", "three.test"] {
            tenants.push(
                platform
                    .add_domain(&host(name), "B", &standing)
                    .await
                    .unwrap(),
            );
        }
        platform.close().await;
        // Wind every tenant back to version 0. "two.test" keeps its tables, so re-running
        // its first migration fails there.
        for tenant in &tenants {
            let keep_tables = tenant.domain.as_str() == "two.test";
            let statements = if keep_tables {
                vec!["delete from schema_migrations"]
            } else {
                WIND_BACK.to_vec()
            };
            run_in_tenant(&store.backend, tenant, &statements).await;
        }
        let platform = Platform::open(&store.backend).await.unwrap();
        let behind = platform.context_for(&host("one.test"), &standing).await;
        assert!(matches!(behind, Err(Error::StoreBehind(_))), "{behind:?}");
        let mut seen = Vec::new();
        let report = platform
            .migrate_tenants(|entry| seen.push(entry.tenant.domain.to_string()))
            .await
            .unwrap();
        assert_eq!(seen, ["one.test", "two.test", "three.test"]);
        for entry in &report {
            match entry.tenant.domain.as_str() {
                "two.test" => assert!(entry.result.is_err(), "{:?}", entry.result),
                _ => assert_eq!(
                    entry.result.as_ref().unwrap(),
                    &tenant_migrations(),
                    "every tenant migration"
                ),
            }
        }
        assert!(
            platform
                .context_for(&host("one.test"), &standing)
                .await
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            platform.context_for(&host("two.test"), &standing).await,
            Err(Error::StoreBehind(_))
        ));
        // Running again changes nothing for the healthy ones.
        let again = platform.migrate_tenants(|_| {}).await.unwrap();
        assert_eq!(
            again.iter().filter(|e| matches!(e.result, Ok(0))).count(),
            2
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_store_newer_than_the_binary_is_refused() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let tenant = platform
            .add_domain(&host("new.test"), "New", &Standing::Development)
            .await
            .unwrap();
        platform.close().await;
        run_in_tenant(
            &store.backend,
            &tenant,
            &["insert into schema_migrations (version, name, applied_at) values (999, 'future', '2030-01-01T00:00:00Z')"],
        )
        .await;
        let platform = Platform::open(&store.backend).await.unwrap();
        let refused = platform
            .context_for(&host("new.test"), &Standing::Development)
            .await;
        assert!(
            matches!(refused, Err(Error::StoreTooNew { found: 999, .. })),
            "{refused:?}"
        );
        platform.close().await;
        run_in_platform(
            &store.backend,
            "insert into schema_migrations (version, name, applied_at) values (999, 'future', '2030-01-01T00:00:00Z')",
        )
        .await;
        let refused = Platform::open(&store.backend).await;
        assert!(
            matches!(refused, Err(Error::StoreTooNew { .. })),
            "{refused:?}"
        );
        store.cleanup().await;
    }
}

#[tokio::test]
async fn last_seen_never_moves_backwards() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let later = time::macros::datetime!(2030-01-01 00:00 UTC);
        let earlier = time::macros::datetime!(2029-01-01 00:00 UTC);
        assert_eq!(platform.record_last_seen(later).await.unwrap(), None);
        assert_eq!(
            platform.record_last_seen(earlier).await.unwrap(),
            Some(later)
        );
        assert_eq!(
            platform.record_last_seen(earlier).await.unwrap(),
            Some(later)
        );
        platform.close().await;
        store.cleanup().await;
    }
}

/// Runs statements directly in a tenant's store, as a damaged deployment would have it.
async fn run_in_platform(backend: &Backend, statement: &str) {
    match backend {
        Backend::Sqlite { dir } => {
            let file = dir.join("platform.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres { url, .. } => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("set search_path to platform")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    }
}

#[tokio::test]
async fn activating_a_domain_the_licence_keeps_suspended_is_refused_not_reported_as_done() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let multi = licensed(Plan::Multi, &[], LicenceState::Valid);
        platform
            .add_domain(&host("a.example.com"), "A", &multi)
            .await
            .unwrap();
        platform
            .add_domain(&host("b.example.com"), "B", &multi)
            .await
            .unwrap();
        let single = licensed(Plan::Single, &[], LicenceState::Valid);
        let refused = platform
            .set_state(&host("b.example.com"), TenantState::Active, &single)
            .await;
        assert!(matches!(refused, Err(Error::NotLicensed(_))), "{refused:?}");
        // The oldest one is served, so activating it is a no-op success.
        platform
            .set_state(&host("a.example.com"), TenantState::Active, &single)
            .await
            .unwrap();
        platform.close().await;
        store.cleanup().await;
    }
}

/// `serve` brings only active brands' stores up to date; a suspended brand's store that is
/// behind is left closed at start and brought up to date when it is activated.
#[tokio::test]
async fn a_suspended_brand_is_migrated_when_activated_not_at_every_start() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let standing = Standing::Development;
        let live = platform
            .add_domain(&host("live.test"), "Live", &standing)
            .await
            .unwrap();
        let asleep = platform
            .add_domain(&host("asleep.test"), "Asleep", &standing)
            .await
            .unwrap();
        platform
            .set_state(&host("asleep.test"), TenantState::Suspended, &standing)
            .await
            .unwrap();
        platform.close().await;
        for tenant in [&live, &asleep] {
            run_in_tenant(&store.backend, tenant, WIND_BACK).await;
        }
        let platform = Platform::open(&store.backend).await.unwrap();
        let report = platform.migrate_active_tenants(|_| {}).await.unwrap();
        let migrated: Vec<&str> = report.iter().map(|e| e.tenant.domain.as_str()).collect();
        assert_eq!(migrated, ["live.test"]);
        assert_eq!(report[0].result.as_ref().unwrap(), &tenant_migrations());
        let behind = platform.tenant_store(&asleep).await;
        assert!(matches!(behind, Err(Error::StoreBehind(_))), "{behind:?}");
        platform
            .set_state(&host("asleep.test"), TenantState::Active, &standing)
            .await
            .unwrap();
        let awake = platform
            .context_for(&host("asleep.test"), &standing)
            .await
            .unwrap();
        assert!(awake.is_some(), "served at its current version");
        platform.close().await;
        store.cleanup().await;
    }
}

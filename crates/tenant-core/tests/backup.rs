//! Backup and restore: a brand moved SQLite → PostgreSQL → SQLite keeps identical content,
//! and a damaged backup restores nothing.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::BufReader;
use tenant_core::accounts::credentials;
use tenant_core::accounts::invitations;
use tenant_core::work::sharing;

use support::{host, postgres, sqlite};
use tenant_core::accounts::users::{self, NewUser};
use tenant_core::platform::backup;
use tenant_core::work::projects;
use tenant_core::{Email, Error, Platform, Standing, Tenant, TenantStore};

async fn brand(platform: &Platform, name: &str) -> (Tenant, TenantStore) {
    let tenant = platform
        .add_domain(&host(name), "Moving Brand", &Standing::Development)
        .await
        .unwrap();
    let store = platform.tenant_store(&tenant).await.unwrap();
    (tenant, store)
}

async fn export_text(tenant: &Tenant, store: &TenantStore) -> String {
    let mut out = Vec::new();
    backup::export(tenant, store, &mut out, |_| {})
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// The row lines of a backup (the header carries the time it was taken).
fn rows(text: &str) -> Vec<&str> {
    text.lines().skip(1).collect()
}

async fn restore_text(store: &TenantStore, text: &str) -> Result<backup::Summary, Error> {
    let mut input = BufReader::new(text.as_bytes());
    backup::read_header(&mut input)?;
    backup::import(store, &mut input, |_| {}).await
}

#[tokio::test]
async fn a_brand_moved_from_sqlite_to_postgres_and_back_keeps_identical_content() {
    let Some(pg) = postgres(4).await else { return };
    let first = sqlite();
    let last = sqlite();

    let source = Platform::open(&first.backend).await.unwrap();
    let (tenant, store) = brand(&source, "moving.test").await;
    for i in 0..25 {
        let role = if i == 0 { "admin" } else { "staff" }.to_owned();
        let new = NewUser {
            email: Email::parse(&format!("Person{i}@Moving.test")).unwrap(),
            name: format!("Person {i} — ünïcödé"),
            role,
            company_id: None,
            switches: None,
            access_expires_at: None,
        };
        let (_, invitation) = invitations::invite_user(&store, &new).await.unwrap();
        if i % 2 == 0 {
            invitations::accept_invitation(
                &store,
                invitation.token.reveal(),
                "correct horse battery",
            )
            .await
            .unwrap();
        }
    }
    // One more user, with two-factor sign-in: the secret and the recovery codes move too.
    let ada = support::signed_in_user(&store, "ada@moving.test", "staff", None).await;
    let enrollment =
        tenant_core::accounts::totp::begin(&store, &ada, support::PASSWORD, "Moving Brand")
            .await
            .unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrollment.secret.as_bytes())
        .unwrap();
    let step = tenant_core::accounts::totp::step_of(time::OffsetDateTime::now_utc());
    tenant_core::accounts::totp::confirm(
        &store,
        &ada,
        &tenant_core::accounts::totp::code_at(&secret, step),
    )
    .await
    .unwrap();
    // An archived project shared with Ada: projects and their members move too.
    let boss = support::signed_in_admin(&store, "boss@moving.test").await;
    let permit = tenant_core::access::permit::<
        tenant_core::access::permissions::need::ProjectsCreate,
    >(&boss, tenant_core::access::Scope::Brand)
    .unwrap();
    let project = projects::create_project(
        &store,
        &permit,
        &projects::NewProject {
            name: "Relaunch — ünïcödé".to_owned(),
            description: "Two\nlines".to_owned(),
            company_id: None,
        },
    )
    .await
    .unwrap();
    sharing::share(
        &store,
        &boss,
        &project.id,
        sharing::Sharing::User(ada.user_id()),
    )
    .await
    .unwrap();
    tenant_core::work::tasks::create_task(
        &store,
        &boss,
        &project.id,
        &tenant_core::work::tasks::NewTask {
            title: "Shop — ünïcödé".to_owned(),
            description: String::new(),
            status: Some("review".to_owned()),
            visibility: Some("client".to_owned()),
            assignee: Some(ada.user_id().to_owned()),
            due_on: Some("2027-01-31".to_owned()),
        },
    )
    .await
    .unwrap();
    projects::set_archived(&store, &boss, &project.id, true)
        .await
        .unwrap();
    let original = export_text(&tenant, &store).await;
    // Users, invitations, an audit entry per invitation and per acceptance, Ada's user,
    // invitation, two audit entries, credential, ten recovery codes and her audit entry for
    // turning it on; the boss's user, invitation and two audit entries, the project, its
    // two members, a task and four audit entries; and the end line.
    assert_eq!(rows(&original).len(), 25 + 25 + 25 + 13 + 16 + 4 + 8 + 1);
    assert!(original.contains(r#""table":"totp_credentials""#));
    assert!(original.contains(r#""table":"project_members""#));
    assert!(original.contains(r#""due_on":"2027-01-31""#));

    let middle = Platform::open(&pg.backend).await.unwrap();
    let (pg_tenant, pg_store) = brand(&middle, "moving.test").await;
    let summary = restore_text(&pg_store, &original).await.unwrap();
    assert_eq!(summary.total(), 88 + 16 + 4 + 8);
    let via_postgres = export_text(&pg_tenant, &pg_store).await;
    assert_eq!(rows(&via_postgres), rows(&original));

    let back = Platform::open(&last.backend).await.unwrap();
    let (back_tenant, back_store) = brand(&back, "moving.test").await;
    restore_text(&back_store, &via_postgres).await.unwrap();
    assert_eq!(
        rows(&export_text(&back_tenant, &back_store).await),
        rows(&original)
    );
    // Passwords survive the move.
    let email = Email::parse("person0@moving.test").unwrap();
    assert!(
        credentials::check_user_password(&back_store, &email, "correct horse battery")
            .await
            .unwrap()
            .is_some()
    );
    source.close().await;
    middle.close().await;
    back.close().await;
    pg.cleanup().await;
}

#[tokio::test]
async fn a_damaged_or_cut_backup_restores_nothing_and_a_full_brand_is_refused() {
    let store = sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let (tenant, source) = brand(&platform, "source.test").await;
    for i in 0..3 {
        let new = NewUser::new(
            Email::parse(&format!("p{i}@source.test")).unwrap(),
            "P",
            "staff",
        );
        invitations::invite_user(&source, &new).await.unwrap();
    }
    let good = export_text(&tenant, &source).await;
    let (_, target) = brand(&platform, "target.test").await;

    let cut: String = good.lines().take(3).map(|l| format!("{l}\n")).collect();
    assert!(
        matches!(restore_text(&target, &cut).await, Err(Error::Invalid(ref m)) if m.contains("cut off"))
    );
    let mangled = good.replacen("\"users\"", "\"userz\"", 1);
    assert!(
        matches!(restore_text(&target, &mangled).await, Err(Error::Invalid(ref m)) if m.contains("unknown table"))
    );
    let (header, body) = good.split_once('\n').unwrap();
    let bad_time = format!("{header}\n{}", body.replacen("Z\"", "not-a-time\"", 1));
    assert!(
        matches!(restore_text(&target, &bad_time).await, Err(Error::Invalid(ref m)) if m.contains("RFC 3339"))
    );
    assert_eq!(
        users::count_users(&target).await.unwrap(),
        0,
        "nothing restored"
    );

    let mut not_backup = BufReader::new("hello\n".as_bytes());
    assert!(matches!(
        backup::read_header(&mut not_backup),
        Err(Error::Invalid(_))
    ));

    restore_text(&target, &good).await.unwrap();
    assert_eq!(users::count_users(&target).await.unwrap(), 3);
    let twice = restore_text(&target, &good).await;
    assert!(matches!(twice, Err(Error::Conflict(_))), "{twice:?}");
    platform.close().await;
}

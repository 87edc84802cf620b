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

/// A company with an invoice sent (its first number) and paid in part; its id.
async fn invoice_sent_and_paid_in_part(
    store: &TenantStore,
    boss: &tenant_core::access::Principal,
) -> String {
    use tenant_core::access::{Scope, permissions::need, permit};
    use tenant_core::finance::{invoices, invoicing};
    let clients = permit::<need::ClientsManage>(boss, Scope::Brand).unwrap();
    let company = tenant_core::accounts::companies::create_company(store, &clients, "Acme", "")
        .await
        .unwrap();
    let manage = permit::<need::InvoicesManage>(boss, Scope::Brand).unwrap();
    invoicing::set_invoicing(
        store,
        &manage,
        &invoicing::InvoicingChange {
            legal_name: Some("Moving Studio".to_owned()),
            address: Some("Quay 1".to_owned()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let sent = send_another(store, boss, &company.id).await;
    invoices::record_payment(
        store,
        &manage,
        &sent.id,
        &invoices::NewPayment {
            amount: "10.00".to_owned(),
            paid_on: None,
            method: "bank_transfer".to_owned(),
            reference: None,
        },
    )
    .await
    .unwrap();
    company.id
}

/// A draft of two lines for `company`, sent.
async fn send_another(
    store: &TenantStore,
    boss: &tenant_core::access::Principal,
    company: &str,
) -> tenant_core::finance::invoices::Invoice {
    use tenant_core::access::{Scope, permissions::need, permit};
    use tenant_core::finance::invoices::{self, NewInvoice, NewLine};
    let create = permit::<need::InvoicesCreate>(boss, Scope::Brand).unwrap();
    let line = |description: &str| NewLine {
        description: description.to_owned(),
        quantity: "2".to_owned(),
        unit_price: "40.50".to_owned(),
        tax_rate: "19".to_owned(),
        discount: None,
    };
    let draft = invoices::create_invoice(
        store,
        &create,
        &NewInvoice {
            company: company.to_owned(),
            lines: vec![line("Design — ünïcödé"), line("Copy")],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let manage = permit::<need::InvoicesManage>(boss, Scope::Brand).unwrap();
    invoices::send_invoice(store, &manage, &draft.id)
        .await
        .unwrap()
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
    // Conversations move too: a discussion, a comment on the task, a chat channel with a
    // message (and its writer's read cursor).
    let task_id = tenant_core::work::tasks::list_tasks(&store, &boss, &project.id)
        .await
        .unwrap()[0]
        .id
        .clone();
    tenant_core::talk::discussions::create_discussion(
        &store,
        &boss,
        &project.id,
        &tenant_core::talk::discussions::NewDiscussion {
            subject: "Launch plan".to_owned(),
            body: "**When** do we go live?".to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tenant_core::talk::comments::post_comment(
        &store,
        &ada,
        &project.id,
        tenant_core::talk::threads::ThreadRef::Task(&task_id),
        &tenant_core::talk::comments::NewComment {
            body: "Ready for the walrus review".to_owned(),
            files: Vec::new(),
        },
    )
    .await
    .unwrap();
    let channel = tenant_core::talk::chat::create_channel(
        &store,
        &boss,
        &tenant_core::talk::chat::NewChannel {
            name: "general".to_owned(),
            team: None,
        },
    )
    .await
    .unwrap();
    tenant_core::talk::chat::post_message(&store, &boss, &channel.id, "Morning")
        .await
        .unwrap();
    projects::set_archived(&store, &boss, &project.id, true)
        .await
        .unwrap();
    // Invoices move with their numbering: a company, the invoicing settings, an invoice
    // sent (number 1) and paid in part.
    let company = invoice_sent_and_paid_in_part(&store, &boss).await;
    let original = export_text(&tenant, &store).await;
    // Users, invitations, an audit entry per invitation and per acceptance, Ada's user,
    // invitation, two audit entries, credential, ten recovery codes and her audit entry for
    // turning it on; the boss's user, invitation and two audit entries, the project, its
    // two members, a task and four audit entries; Ada's two notifications (added to the
    // project, assigned the task); six events (the project made, a member added, the task
    // made, the project archived, and the two notifications); a discussion, a comment, a
    // chat channel, its message and a read cursor, with four more events; a company and
    // the invoicing settings with an audit entry each, an invoice with two lines, three
    // history entries (made, sent, paid) and one saying the company has nobody to mail it
    // to, three audit entries, its payment and the numbering counter; and the end line.
    assert_eq!(
        rows(&original).len(),
        25 + 25 + 25 + 13 + 16 + 4 + 8 + 2 + 6 + 5 + 4 + 16 + 1
    );
    assert!(original.contains(r#""table":"invoice_counters""#));
    assert!(original.contains(r#""table":"chat_reads""#));
    assert!(original.contains(r#""table":"totp_credentials""#));
    assert!(original.contains(r#""table":"project_members""#));
    assert!(original.contains(r#""due_on":"2027-01-31""#));

    let middle = Platform::open(&pg.backend).await.unwrap();
    let (pg_tenant, pg_store) = brand(&middle, "moving.test").await;
    let summary = restore_text(&pg_store, &original).await.unwrap();
    assert_eq!(summary.total(), 88 + 16 + 4 + 8 + 2 + 6 + 5 + 4 + 16);
    let via_postgres = export_text(&pg_tenant, &pg_store).await;
    assert_eq!(rows(&via_postgres), rows(&original));
    // What was restored is found by search at once (the index is made as rows arrive).
    let boss_there = support::sign_in_as(&pg_store, "boss@moving.test").await;
    let found = tenant_core::talk::search::search(&pg_store, &boss_there, "walrus", 5)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");

    let back = Platform::open(&last.backend).await.unwrap();
    let (back_tenant, back_store) = brand(&back, "moving.test").await;
    restore_text(&back_store, &via_postgres).await.unwrap();
    assert_eq!(
        rows(&export_text(&back_tenant, &back_store).await),
        rows(&original)
    );
    // The numbering went with it: the next invoice sent there is number 2.
    let boss_back = support::sign_in_as(&back_store, "boss@moving.test").await;
    let next = send_another(&back_store, &boss_back, &company).await;
    assert_eq!(
        next.number,
        Some(format!("{}-0002", time::OffsetDateTime::now_utc().year()))
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

/// Uploads `bytes` as a new file (or, with `replaces`, a new version) of `project`.
async fn put_file(
    store: &TenantStore,
    admin: &tenant_core::access::Principal,
    project: &str,
    bytes: &[u8],
    replaces: Option<&str>,
) -> tenant_core::work::files::FileItem {
    use tenant_core::work::files::{self, UploadForm};
    let mut upload = files::begin_upload(store, admin, project).await.unwrap();
    for chunk in bytes.chunks(300_000) {
        upload
            .write(bytes::Bytes::copy_from_slice(chunk))
            .await
            .unwrap();
    }
    let form = UploadForm {
        replaces: replaces.map(str::to_owned),
        ..UploadForm::default()
    };
    upload.finish("report.bin", &form).await.unwrap()
}

async fn fetch(
    store: &TenantStore,
    admin: &tenant_core::access::Principal,
    project: &str,
    file: &str,
    version: i64,
) -> Vec<u8> {
    use futures_util::TryStreamExt as _;
    let download =
        tenant_core::work::files::open_download(store, admin, project, file, Some(version))
            .await
            .unwrap();
    let chunks: Vec<bytes::Bytes> = download
        .stream(None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

#[tokio::test]
async fn a_brand_moved_from_local_files_to_s3_keeps_every_version_and_a_damaged_content_restores_nothing()
 {
    let limits = tenant_core::objects::FileLimits::default();
    let stores = support::file_stores(limits).await;
    let (local, s3) = match stores.as_slice() {
        [local, s3] => (local, s3),
        [local] => (local, local),
        _ => unreachable!(),
    };
    let from = sqlite();
    let source = Platform::open(&from.backend).await.unwrap();
    source.use_file_store(local.store.clone());
    let (tenant, store) = brand(&source, "files-moving.test").await;
    let admin = support::signed_in_admin(&store, "admin@files-moving.test").await;
    let project = support::project(&store, &admin, None).await;
    let first: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    let second = b"a short second version".to_vec();
    let file = put_file(&store, &admin, &project.id, &first, None).await;
    put_file(&store, &admin, &project.id, &second, Some(&file.id)).await;
    let text = export_text(&tenant, &store).await;
    assert!(
        text.contains(r#""version":2"#),
        "the format version went up"
    );
    assert!(text.lines().last().unwrap().contains(r#""contents":2"#));

    let to = postgres(4).await;
    let to_backend = to.as_ref().map_or(&from.backend, |pg| &pg.backend);
    let target = Platform::open(to_backend).await.unwrap();
    target.use_file_store(s3.store.clone());

    // A content damaged in the backup: refused, and nothing is kept of it.
    let (damaged_tenant, damaged_store) = brand(&target, "damaged.test").await;
    let data_line = text
        .lines()
        .position(|l| l.starts_with(r#"{"data":""#))
        .unwrap();
    let damaged: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == data_line {
                line.replacen("A", "B", 1)
            } else {
                line.to_owned()
            }
        })
        .collect();
    let refused = restore_text(&damaged_store, &(damaged.join("\n") + "\n")).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(m)) if m.contains("SHA-256")),
        "{refused:?}"
    );
    let left = s3.store.brand_objects(&damaged_tenant.id).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let cut_off: String = text
        .lines()
        .take(data_line + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(restore_text(&damaged_store, &cut_off).await.is_err());

    // Whole: every version comes back from the other store.
    let (moved_tenant, moved_store) = brand(&target, "moved.test").await;
    restore_text(&moved_store, &text).await.unwrap();
    let moved_admin = support::sign_in_as(&moved_store, "admin@files-moving.test").await;
    assert!(fetch(&moved_store, &moved_admin, &project.id, &file.id, 1).await == first);
    assert_eq!(
        fetch(&moved_store, &moved_admin, &project.id, &file.id, 2).await,
        second
    );
    let kept = s3.store.brand_objects(&moved_tenant.id).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    source.close().await;
    target.close().await;
    if let Some(pg) = to {
        pg.cleanup().await;
    }
}

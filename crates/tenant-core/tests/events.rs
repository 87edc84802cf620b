//! The brand's events on both backends: who receives which event on a live stream (each
//! kind of change × admin, member, non-member, the project's client, another company's
//! client, a deactivated user), resuming after a dropped stream with nothing lost and
//! nothing twice, streams that end when their user loses access, the per-user bound, the
//! project's activity feed, and delivery from one server to a stream on another on one
//! PostgreSQL database.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use support::{both, context, project, signed_in_admin, signed_in_user};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::sessions;
use tenant_core::accounts::{companies, lifecycle};
use tenant_core::events::{self, Credential, Follower, Next};
use tenant_core::objects::{FileLimits, FileStore};
use tenant_core::work::activity;
use tenant_core::work::files::{self, FileChange, UploadForm};
use tenant_core::work::projects::{self, ProjectChange};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask, TaskChange};
use tenant_core::{Error, Platform, TenantStore};

/// Signs `email` in and opens their stream after `after` (or from now).
async fn open(store: &TenantStore, email: &str, after: Option<&str>) -> (Principal, Follower) {
    let (principal, secret) = support::signed_in_session(store, email).await;
    let follower = events::follow(store, principal.clone(), Credential::Session(secret), after)
        .await
        .unwrap();
    (principal, follower)
}

/// What a stream received: `kind subject-name` per event, until nothing came for `quiet`
/// (or the stream ended: then `None` is last).
async fn drain(follower: &mut Follower, quiet: Duration) -> (Vec<String>, Vec<String>, bool) {
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    loop {
        match tokio::time::timeout(quiet, follower.next()).await {
            Err(_) => return (seen, ids, false),
            Ok(Next::End) => return (seen, ids, true),
            Ok(Next::Heartbeat) => {}
            Ok(Next::Events(batch)) => {
                for (id, view) in batch {
                    ids.push(id.to_string());
                    assert_eq!(view["id"], Value::String(id.to_string()));
                    seen.push(describe(&view));
                }
            }
        }
    }
}

fn describe(view: &Value) -> String {
    let data = &view["data"];
    let name = data["title"]
        .as_str()
        .or_else(|| data["name"].as_str())
        .or_else(|| data["sentence"].as_str())
        .unwrap_or("?");
    let mut text = format!("{} {name}", view["kind"].as_str().unwrap_or("?"));
    if data.get("assignee").is_some() {
        text.push_str(" +staff");
    }
    text
}

fn task(title: &str, visibility: &str) -> NewTask {
    NewTask {
        title: title.to_owned(),
        visibility: Some(visibility.to_owned()),
        ..NewTask::default()
    }
}

#[tokio::test]
async fn each_viewer_receives_exactly_the_events_they_may_see() {
    for store in both().await {
        let dir = tempfile::tempdir().unwrap();
        let platform = Platform::open(&store.backend).await.unwrap();
        platform.use_file_store(
            FileStore::local(&dir.path().join("files"), FileLimits::default()).unwrap(),
        );
        let a = context(&platform, "events.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@events.test").await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let other = companies::create_company(s, &clients, "Other", "")
            .await
            .unwrap();
        let site = project(s, &admin, Some(&acme.id)).await;
        let member = signed_in_user(s, "member@events.test", "staff", None).await;
        signed_in_user(s, "outsider@events.test", "staff", None).await;
        signed_in_user(s, "client@acme.test", "client", Some(&acme.id)).await;
        signed_in_user(s, "client@other.test", "client", Some(&other.id)).await;
        let gone = signed_in_user(s, "gone@events.test", "staff", None).await;
        for user in [&member, &gone] {
            sharing::share(s, &admin, &site.id, Sharing::User(user.user_id()))
                .await
                .unwrap();
        }

        let (_, mut as_admin) = open(s, "admin@events.test", None).await;
        let (_, mut as_member) = open(s, "member@events.test", None).await;
        let (_, mut as_outsider) = open(s, "outsider@events.test", None).await;
        let (_, mut as_client) = open(s, "client@acme.test", None).await;
        let (_, mut as_other) = open(s, "client@other.test", None).await;
        let (_, mut as_gone) = open(s, "gone@events.test", None).await;

        // Deactivation ends the stream before anything else happens.
        let users = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        lifecycle::deactivate_user(s, &users, gone.user_id())
            .await
            .unwrap();
        let (seen, _, ended) = drain(&mut as_gone, Duration::from_secs(3)).await;
        assert!(ended, "{}: a deactivated user's stream ends", store.kind());
        assert!(seen.is_empty());

        let secret = tasks::create_task(s, &admin, &site.id, &task("Secret", "internal"))
            .await
            .unwrap();
        let logo = tasks::create_task(s, &admin, &site.id, &task("Logo", "client"))
            .await
            .unwrap();
        let to_review = TaskChange {
            status: Some("review".to_owned()),
            ..TaskChange::default()
        };
        tasks::update_task(s, &admin, &site.id, &logo.id, &to_review)
            .await
            .unwrap();
        let hide = TaskChange {
            visibility: Some("internal".to_owned()),
            ..TaskChange::default()
        };
        tasks::update_task(s, &admin, &site.id, &logo.id, &hide)
            .await
            .unwrap();
        tasks::delete_task(s, &admin, &site.id, &secret.id)
            .await
            .unwrap();
        let mut uploaded = Vec::new();
        for (name, visibility) in [("notes.txt", "internal"), ("brief.txt", "client")] {
            let mut upload = files::begin_upload(s, &admin, &site.id).await.unwrap();
            upload
                .write(Bytes::from_static(b"some words"))
                .await
                .unwrap();
            let form = UploadForm {
                visibility: Some(visibility.to_owned()),
                ..UploadForm::default()
            };
            uploaded.push(upload.finish(name, &form).await.unwrap().id);
        }
        let (notes, brief) = (&uploaded[0], &uploaded[1]);
        files::delete_file(s, &admin, &site.id, brief)
            .await
            .unwrap();
        files::restore_file(s, &admin, &site.id, brief)
            .await
            .unwrap();
        for visibility in ["client", "internal"] {
            let change = FileChange {
                visibility: Some(visibility.to_owned()),
                ..FileChange::default()
            };
            files::update_file(s, &admin, &site.id, notes, &change)
                .await
                .unwrap();
        }
        let rename = ProjectChange {
            name: Some("Renamed".to_owned()),
            ..ProjectChange::default()
        };
        projects::update_project(s, &admin, &site.id, &rename)
            .await
            .unwrap();
        for archive in [true, false] {
            projects::set_archived(s, &admin, &site.id, archive)
                .await
                .unwrap();
        }

        let staff_view = [
            "task.created Secret +staff",
            "task.created Logo +staff",
            "task.moved Logo +staff",
            "task.changed Logo +staff",
            "task.removed Secret",
            "file.added notes.txt",
            "file.added brief.txt",
            "file.removed brief.txt",
            "file.restored brief.txt",
            "file.changed notes.txt",
            "file.changed notes.txt",
            "project.changed Renamed",
            "project.archived Renamed",
            "project.unarchived Renamed",
        ];
        let quiet = Duration::from_secs(2);
        for (who, follower, expected) in [
            ("admin", &mut as_admin, &staff_view[..]),
            ("member", &mut as_member, &staff_view[..]),
            ("outsider", &mut as_outsider, &[][..]),
            (
                "client of the company",
                &mut as_client,
                &[
                    "task.created Logo",
                    "task.moved Logo",
                    "task.removed Logo",
                    "file.added brief.txt",
                    "file.removed brief.txt",
                    "file.restored brief.txt",
                    // Shared with clients, then no longer: to them it is gone.
                    "file.changed notes.txt",
                    "file.removed notes.txt",
                    "project.changed Renamed",
                    "project.archived Renamed",
                    "project.unarchived Renamed",
                ][..],
            ),
            ("client of another company", &mut as_other, &[][..]),
        ] {
            let (seen, _, ended) = drain(follower, quiet).await;
            assert_eq!(seen, expected, "{}: {who}", store.kind());
            assert!(!ended, "{}: {who}'s stream stays open", store.kind());
        }

        // Adding the outsider to the project: from then on they receive its events, and
        // the member who is taken off it no longer does.
        sharing::share(
            s,
            &admin,
            &site.id,
            Sharing::User(&staff_id(s, &admin, "outsider@events.test").await),
        )
        .await
        .unwrap();
        sharing::unshare(s, &admin, &site.id, Sharing::User(member.user_id()))
            .await
            .unwrap();
        tasks::create_task(s, &admin, &site.id, &task("After", "internal"))
            .await
            .unwrap();
        let (seen, _, _) = drain(&mut as_outsider, quiet).await;
        assert_eq!(
            seen,
            [
                "project.member_added Test User",
                "notification Test User added you to the project Renamed.",
                "project.member_removed Test User",
                "task.created After +staff"
            ],
            "{}",
            store.kind()
        );
        let (seen, _, _) = drain(&mut as_member, quiet).await;
        assert!(seen.is_empty(), "{}: {seen:?}", store.kind());

        // The activity feed shows the same, newest first, and to the client only what
        // they may see.
        let feed = activity::project_activity(s, &admin, &site.id, None, 200)
            .await
            .unwrap();
        let kinds: Vec<&str> = feed.items.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds.first(), Some(&"task.created"));
        assert_eq!(kinds.last(), Some(&"project.created"));
        // Staff do not get what only clients were told (the card clients no longer see).
        let removed: Vec<Option<&str>> = feed
            .items
            .iter()
            .filter(|e| e.kind == "task.removed")
            .map(|e| e.text("title"))
            .collect();
        assert_eq!(removed, [Some("Secret")], "{}", store.kind());
        let client = support::sign_in_as(s, "client@acme.test").await;
        let feed = activity::project_activity(s, &client, &site.id, None, 200)
            .await
            .unwrap();
        let shown: Vec<String> = feed
            .items
            .iter()
            .map(|e| describe(&e.view(&client)))
            .collect();
        assert_eq!(
            shown,
            [
                "project.unarchived Renamed",
                "project.archived Renamed",
                "project.changed Renamed",
                "file.removed notes.txt",
                "file.changed notes.txt",
                "file.restored brief.txt",
                "file.removed brief.txt",
                "file.added brief.txt",
                "task.removed Logo",
                "task.moved Logo",
                "task.created Logo",
                "project.created Website",
            ],
            "{}",
            store.kind()
        );
        // Another company's contact does not reach the project at all.
        let stranger = support::sign_in_as(s, "client@other.test").await;
        assert!(matches!(
            activity::project_activity(s, &stranger, &site.id, None, 50).await,
            Err(Error::NotFound(_))
        ));
        // Paging goes back without repeating.
        let first = activity::project_activity(s, &admin, &site.id, None, 3)
            .await
            .unwrap();
        let next = activity::project_activity(s, &admin, &site.id, first.next_cursor.as_deref(), 3)
            .await
            .unwrap();
        assert_eq!(first.items.len(), 3);
        assert!(next.items.iter().all(|e| e.id < first.items[2].id));

        platform.close().await;
        store.cleanup().await;
    }
}

async fn staff_id(store: &TenantStore, admin: &Principal, email: &str) -> String {
    let permit = access::permit::<need::UsersManage>(admin, Scope::Brand).unwrap();
    let filter = tenant_core::accounts::users::UserFilter {
        q: Some(email.to_owned()),
        ..Default::default()
    };
    tenant_core::accounts::users::list_users(store, &permit, &filter, None, 10)
        .await
        .unwrap()
        .items[0]
        .id
        .clone()
}

#[tokio::test]
async fn a_resumed_stream_gets_everything_it_missed_once() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "resume.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@resume.test").await;
        let site = project(s, &admin, None).await;
        let (_, mut stream) = open(s, "admin@resume.test", None).await;
        for title in ["One", "Two"] {
            tasks::create_task(s, &admin, &site.id, &task(title, "internal"))
                .await
                .unwrap();
        }
        let (seen, ids, _) = drain(&mut stream, Duration::from_secs(2)).await;
        assert_eq!(seen, ["task.created One +staff", "task.created Two +staff"]);
        // The connection drops; meanwhile more happens, across more than one batch.
        drop(stream);
        for n in 0..520 {
            tasks::create_task(s, &admin, &site.id, &task(&format!("T{n}"), "internal"))
                .await
                .unwrap();
        }
        let last = ids.last().unwrap().clone();
        let (_, mut resumed) = open(s, "admin@resume.test", Some(&last)).await;
        let (seen, ids, _) = drain(&mut resumed, Duration::from_secs(2)).await;
        let expected: Vec<String> = (0..520)
            .map(|n| format!("task.created T{n} +staff"))
            .collect();
        assert_eq!(seen, expected, "{}", store.kind());
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // A cursor from the future is taken as now; a cursor that is not a number is
        // refused.
        let (_, mut future) = open(s, "admin@resume.test", Some("999999999")).await;
        tasks::create_task(s, &admin, &site.id, &task("Now", "internal"))
            .await
            .unwrap();
        let (seen, _, _) = drain(&mut future, Duration::from_secs(2)).await;
        assert_eq!(seen, ["task.created Now +staff"]);
        let principal = support::sign_in_as(s, "admin@resume.test").await;
        assert!(matches!(
            events::follow(
                s,
                principal,
                Credential::Session("x".to_owned()),
                Some("ten")
            )
            .await,
            Err(Error::Field { .. })
        ));
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_stream_ends_when_its_user_signs_out_or_their_role_changes_and_streams_are_bounded() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "bounds.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@bounds.test").await;
        let staff = signed_in_user(s, "staff@bounds.test", "staff", None).await;

        let (principal, mut signed_out) = open(s, "staff@bounds.test", None).await;
        sessions::sign_out(s, &principal).await.unwrap();
        let (_, _, ended) = drain(&mut signed_out, Duration::from_secs(3)).await;
        assert!(ended, "{}: signing out ends the stream", store.kind());

        let (_, mut demoted) = open(s, "staff@bounds.test", None).await;
        let users = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let change = tenant_core::accounts::users::UserChange {
            role: Some("admin".to_owned()),
            ..Default::default()
        };
        tenant_core::accounts::users::update_user(s, &users, staff.user_id(), &change)
            .await
            .unwrap();
        let (_, _, ended) = drain(&mut demoted, Duration::from_secs(3)).await;
        assert!(ended, "{}: a new role ends the stream", store.kind());

        let mut open_streams = Vec::new();
        for _ in 0..events::STREAMS_PER_USER {
            open_streams.push(open(s, "admin@bounds.test", None).await.1);
        }
        let principal = support::sign_in_as(s, "admin@bounds.test").await;
        assert!(matches!(
            events::follow(
                s,
                principal.clone(),
                Credential::Session("x".to_owned()),
                None
            )
            .await,
            Err(Error::TooManyStreams(_))
        ));
        open_streams.pop();
        assert!(
            events::follow(s, principal, Credential::Session("x".to_owned()), None)
                .await
                .is_ok()
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_card_moved_through_one_server_reaches_a_stream_on_another() {
    let Some(store) = support::postgres(8).await else {
        return;
    };
    let one = Platform::open(&store.backend).await.unwrap();
    let a = context(&one, "replicas.test").await;
    let admin = signed_in_admin(a.store(), "admin@replicas.test").await;
    let site = project(a.store(), &admin, None).await;
    let card = tasks::create_task(a.store(), &admin, &site.id, &task("Card", "internal"))
        .await
        .unwrap();

    let two = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
    let following = support::following(&two).await;
    let on_two = two
        .context_for(
            &support::host("replicas.test"),
            &tenant_core::Standing::Development,
        )
        .await
        .unwrap()
        .unwrap()
        .0;
    let (_, mut stream) = open(on_two.store(), "admin@replicas.test", None).await;
    let mut latencies = Vec::new();
    for (round, column) in ["in_progress", "review", "done", "todo"].iter().enumerate() {
        let change = TaskChange {
            status: Some((*column).to_owned()),
            ..TaskChange::default()
        };
        let started = Instant::now();
        tasks::update_task(a.store(), &admin, &site.id, &card.id, &change)
            .await
            .unwrap();
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap_or_else(|_| panic!("round {round}: nothing arrived on the other server"));
        let Next::Events(batch) = next else {
            panic!("round {round}: {next:?}");
        };
        latencies.push(started.elapsed());
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].1["kind"], "task.moved");
        assert_eq!(batch[0].1["data"]["status"], *column);
    }
    eprintln!("delivery from one server to a stream on the other: {latencies:?}");
    following.abort();
    one.close().await;
    two.close().await;
    store.cleanup().await;
}

#[tokio::test]
async fn events_past_their_time_are_pruned_and_the_rest_kept() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "prune.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@prune.test").await;
        let site = project(s, &admin, None).await;
        for title in ["Old", "New"] {
            tasks::create_task(s, &admin, &site.id, &task(title, "internal"))
                .await
                .unwrap();
        }
        let now = time::OffsetDateTime::now_utc();
        let old = now - time::Duration::days(events::KEPT_DAYS + 1);
        let when = match store.kind() {
            "sqlite" => format!(
                "'{}'",
                old.format(&time::format_description::well_known::Rfc3339)
                    .unwrap()
            ),
            _ => format!("now() - interval '{} days'", events::KEPT_DAYS + 1),
        };
        support::run_in_tenant(
            &store.backend,
            &a.tenant,
            &[&format!(
                "update events set created_at = {when} where data like '%\"Old\"%' or kind = 'project.created'"
            )],
        )
        .await;
        assert_eq!(events::prune(s, now).await.unwrap(), 2, "{}", store.kind());
        assert_eq!(events::prune(s, now).await.unwrap(), 0);
        let feed = activity::project_activity(s, &admin, &site.id, None, 50)
            .await
            .unwrap();
        let left: Vec<Option<&str>> = feed.items.iter().map(|e| e.text("title")).collect();
        assert_eq!(left, [Some("New")], "{}", store.kind());
        platform.close().await;
        store.cleanup().await;
    }
}

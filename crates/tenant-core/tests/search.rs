//! Search on both backends over a corpus where every client-visible text has an internal
//! twin: each kind of caller finds exactly what they may see (and every result opens for
//! them), best first, with the matched words marked, prefixes included; the index follows
//! every change in the change's own transaction.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use bytes::Bytes;
use support::{both, context, person, project, sign_in_as};
use tenant_core::access::permissions::{PermissionSet, need};
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::users::UserChange;
use tenant_core::accounts::{companies, users};
use tenant_core::objects::{FileLimits, FileStore};
use tenant_core::talk::chat::{self, NewChannel};
use tenant_core::talk::comments::{self, NewComment};
use tenant_core::talk::discussions::{self, NewDiscussion};
use tenant_core::talk::search::{self, FoundKind, MARK_END, MARK_START};
use tenant_core::talk::threads::ThreadRef;
use tenant_core::work::files::{self, FileChange, UploadForm};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask};
use tenant_core::{Error, Platform, TenantStore};

fn say(body: &str) -> NewComment {
    NewComment {
        body: body.to_owned(),
        files: Vec::new(),
    }
}

/// What `who` finds for `q`, as `kind title` sorted.
async fn finds(store: &TenantStore, who: &Principal, q: &str) -> Vec<String> {
    let mut found: Vec<String> = search::search(store, who, q, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|f| format!("{} {}", f.kind.as_str(), f.title))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn each_caller_finds_exactly_what_they_may_see() {
    for test_store in both().await {
        let dir = tempfile::tempdir().unwrap();
        let platform = Platform::open(&test_store.backend).await.unwrap();
        platform.use_file_store(
            FileStore::local(&dir.path().join("files"), FileLimits::default()).unwrap(),
        );
        let a = context(&platform, "find.test").await;
        let s = a.store();
        let admin = person(s, "admin@find.test", "Ada Admin", "admin", None).await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let other = companies::create_company(s, &clients, "Globex", "")
            .await
            .unwrap();
        let member = person(s, "mia@find.test", "Mia Member", "staff", None).await;
        let outsider = person(s, "otto@find.test", "Otto Outsider", "staff", None).await;
        let contact = person(s, "cleo@acme.test", "Cleo Client", "client", Some(&acme.id)).await;
        let stranger = person(
            s,
            "sam@globex.test",
            "Sam Stranger",
            "client",
            Some(&other.id),
        )
        .await;
        let switched_id = person(s, "sid@acme.test", "Sid Switched", "client", Some(&acme.id))
            .await
            .user_id()
            .to_owned();
        users::update_user(
            s,
            &access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap(),
            &switched_id,
            &UserChange {
                switches: Some(Some(
                    PermissionSet::parse_words(["files.download"]).unwrap(),
                )),
                ..UserChange::default()
            },
        )
        .await
        .unwrap();
        let switched = sign_in_as(s, "sid@acme.test").await;

        // The client's project, and an internal twin of it the member is not on.
        let site = project(s, &admin, Some(&acme.id)).await;
        tenant_core::work::projects::update_project(
            s,
            &admin,
            &site.id,
            &tenant_core::work::projects::ProjectChange {
                name: Some("Zebra portal".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let hidden = project(s, &admin, None).await;
        tenant_core::work::projects::update_project(
            s,
            &admin,
            &hidden.id,
            &tenant_core::work::projects::ProjectChange {
                name: Some("Zebra internal".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        sharing::share(s, &admin, &site.id, Sharing::User(member.user_id()))
            .await
            .unwrap();
        let task = |title: &str, visibility: &str| NewTask {
            title: title.to_owned(),
            visibility: Some(visibility.to_owned()),
            ..NewTask::default()
        };
        let shown = tasks::create_task(s, &admin, &site.id, &task("Zebra stripes shown", "client"))
            .await
            .unwrap();
        let secret = tasks::create_task(
            s,
            &admin,
            &site.id,
            &task("Zebra stripes secret", "internal"),
        )
        .await
        .unwrap();
        tasks::create_task(s, &admin, &hidden.id, &task("Zebra elsewhere", "internal"))
            .await
            .unwrap();
        for (subject, visibility) in [
            ("Zebra open talk", "client"),
            ("Zebra closed talk", "internal"),
        ] {
            discussions::create_discussion(
                s,
                &admin,
                &site.id,
                &NewDiscussion {
                    subject: subject.to_owned(),
                    body: "about the zebras".to_owned(),
                    visibility: Some(visibility.to_owned()),
                    files: Vec::new(),
                },
            )
            .await
            .unwrap();
        }
        comments::post_comment(
            s,
            &admin,
            &site.id,
            ThreadRef::Task(&shown.id),
            &say("zebrafish for the client"),
        )
        .await
        .unwrap();
        comments::post_comment(
            s,
            &admin,
            &site.id,
            ThreadRef::Task(&secret.id),
            &say("zebrafish for us"),
        )
        .await
        .unwrap();
        comments::post_comment(
            s,
            &admin,
            &site.id,
            ThreadRef::Messages,
            &say("zebrafish message"),
        )
        .await
        .unwrap();
        for (name, visibility) in [
            ("zebra-mockup.png", "client"),
            ("zebra-costs.png", "internal"),
        ] {
            let mut upload = files::begin_upload(s, &admin, &site.id).await.unwrap();
            upload
                .write(Bytes::from_static(b"\x89PNG\r\n\x1a\n0000"))
                .await
                .unwrap();
            upload
                .finish(
                    name,
                    &UploadForm {
                        visibility: Some(visibility.to_owned()),
                        ..UploadForm::default()
                    },
                )
                .await
                .unwrap();
        }
        let general = chat::create_channel(
            s,
            &member,
            &NewChannel {
                name: "general".to_owned(),
                team: None,
            },
        )
        .await
        .unwrap();
        chat::post_message(s, &member, &general.id, "a zebra crossed the office")
            .await
            .unwrap();

        let expected: [(&str, &Principal, Vec<&str>); 6] = [
            (
                "admin",
                &admin,
                vec![
                    "chat #general",
                    "comment Messages",
                    "comment Zebra stripes secret",
                    "comment Zebra stripes shown",
                    "discussion Zebra closed talk",
                    "discussion Zebra open talk",
                    "file zebra-costs.png",
                    "file zebra-mockup.png",
                    "project Zebra internal",
                    "project Zebra portal",
                    "task Zebra elsewhere",
                    "task Zebra stripes secret",
                    "task Zebra stripes shown",
                ],
            ),
            (
                "member",
                &member,
                vec![
                    "chat #general",
                    "comment Messages",
                    "comment Zebra stripes secret",
                    "comment Zebra stripes shown",
                    "discussion Zebra closed talk",
                    "discussion Zebra open talk",
                    "file zebra-costs.png",
                    "file zebra-mockup.png",
                    "project Zebra portal",
                    "task Zebra stripes secret",
                    "task Zebra stripes shown",
                ],
            ),
            ("outsider", &outsider, vec!["chat #general"]),
            (
                "contact",
                &contact,
                vec![
                    "comment Messages",
                    "comment Zebra stripes shown",
                    "discussion Zebra open talk",
                    "file zebra-mockup.png",
                    "project Zebra portal",
                    "task Zebra stripes shown",
                ],
            ),
            ("stranger", &stranger, vec![]),
            (
                "switched",
                &switched,
                vec![
                    "file zebra-mockup.png",
                    "project Zebra portal",
                    "task Zebra stripes shown",
                ],
            ),
        ];
        for (who, principal, expected) in &expected {
            assert_eq!(
                finds(s, principal, "zeb").await,
                *expected,
                "{}: {who}",
                test_store.kind()
            );
        }

        // Best first, with the words marked; every word must match.
        let found = search::search(s, &admin, "zebra stripes secret", 10)
            .await
            .unwrap();
        assert_eq!(found[0].kind, FoundKind::Task);
        assert_eq!(found[0].title, "Zebra stripes secret");
        assert!(
            found[0]
                .snippet
                .contains(&format!("{MARK_START}Zebra{MARK_END}")),
            "{:?}",
            found[0].snippet
        );
        assert!(finds(s, &admin, "zebra giraffe").await.is_empty());
        assert!(
            finds(s, &admin, "\"*-").await.is_empty(),
            "no words: nothing"
        );
        assert!(matches!(
            search::search(s, &admin, &"x".repeat(201), 10).await,
            Err(Error::Field { .. })
        ));

        // The index follows changes at once.
        let comment = comments::post_comment(
            s,
            &admin,
            &site.id,
            ThreadRef::Task(&shown.id),
            &say("okapi spotted"),
        )
        .await
        .unwrap();
        assert_eq!(
            finds(s, &contact, "okapi").await,
            ["comment Zebra stripes shown"]
        );
        comments::edit_comment(
            s,
            &admin,
            &site.id,
            &comment.id,
            None,
            &say("antelope spotted"),
        )
        .await
        .unwrap();
        assert!(finds(s, &contact, "okapi").await.is_empty());
        assert_eq!(finds(s, &contact, "antelope").await.len(), 1);
        comments::remove_comment(s, &admin, &site.id, &comment.id, None)
            .await
            .unwrap();
        assert!(finds(s, &admin, "antelope").await.is_empty());
        let mockup = search::search(s, &admin, "mockup", 5).await.unwrap();
        assert_eq!(
            mockup.len(),
            1,
            "{}: a word inside a file name",
            test_store.kind()
        );
        files::update_file(
            s,
            &admin,
            &site.id,
            &mockup[0].id,
            &FileChange {
                name: Some("giraffe.png".to_owned()),
                ..FileChange::default()
            },
        )
        .await
        .unwrap();
        assert!(finds(s, &admin, "mockup").await.is_empty());
        assert_eq!(finds(s, &contact, "giraffe").await, ["file giraffe.png"]);
        tasks::delete_task(s, &admin, &site.id, &secret.id)
            .await
            .unwrap();
        assert!(
            !finds(s, &admin, "zebrafish")
                .await
                .iter()
                .any(|f| f.contains("secret")),
            "a removed task's comments are gone from the index"
        );
        test_store.cleanup().await;
    }
}

/// `count` comments saying `text N` in one statement, in index order after what is there
/// (the index's triggers fill as they would one by one): ids `{prefix}N`.
fn many_comments(
    sqlite: bool,
    count: u32,
    prefix: &str,
    project: &str,
    thread: (&str, Option<&str>),
    author: &str,
    text: &str,
) -> String {
    let task = thread.1.map_or("null".to_owned(), |t| format!("'{t}'"));
    let kind = thread.0;
    let body = format!("'{text} ' || i");
    if sqlite {
        format!(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < {count})
             insert into comments (comment_id, project_id, thread, task_id, body, body_html, author_id, created_at, updated_at)
             select '{prefix}' || i, '{project}', '{kind}', {task}, {body}, '<p>' || {body} || '</p>', '{author}',
                    '2026-01-01 00:00:00.0 +00:00:00', '2026-01-01 00:00:00.0 +00:00:00' from n"
        )
    } else {
        format!(
            "insert into comments (comment_id, project_id, thread, task_id, body, body_html, author_id, created_at, updated_at)
             select '{prefix}' || i, '{project}', '{kind}', {task}, {body}, '<p>' || {body} || '</p>', '{author}', now(), now()
             from generate_series(1, {count}) i"
        )
    }
}

#[tokio::test]
async fn a_client_finds_their_few_matches_behind_many_newer_internal_ones() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "deep.test").await;
        let s = a.store();
        let admin = person(s, "admin@deep.test", "Ada Admin", "admin", None).await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let site = project(s, &admin, Some(&acme.id)).await;
        let contact = person(s, "cleo@acme.test", "Cleo Client", "client", Some(&acme.id)).await;
        let internal = tasks::create_task(
            s,
            &admin,
            &site.id,
            &NewTask {
                title: "Internal budget".to_owned(),
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
        // Ten client messages, then 1,200 newer internal comments with the same word:
        // several ranking windows of matches the client may not see come first.
        let sqlite = test_store.kind() == "sqlite";
        let statements = [
            many_comments(
                sqlite,
                10,
                "m",
                &site.id,
                ("messages", None),
                admin.user_id(),
                "kickoff agenda",
            ),
            many_comments(
                sqlite,
                1_200,
                "t",
                &site.id,
                ("task", Some(&internal.id)),
                admin.user_id(),
                "kickoff internal costs",
            ),
        ];
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        support::run_in_tenant(&test_store.backend, &a.tenant, &refs).await;

        let found = search::search(s, &contact, "kickoff", 50).await.unwrap();
        assert_eq!(found.len(), 10, "{}: {found:?}", test_store.kind());
        assert!(
            found
                .iter()
                .all(|f| f.kind == FoundKind::Comment && f.title == "Messages"),
            "{found:?}"
        );
        assert!(
            found.iter().all(|f| f.snippet.contains("agenda")),
            "{found:?}"
        );
        // The admin sees everything: a full page, newest matches first.
        let everything = search::search(s, &admin, "kickoff", 50).await.unwrap();
        assert_eq!(everything.len(), 50);
        assert!(
            everything.iter().all(|f| f.title == "Internal budget"),
            "{everything:?}"
        );
        // A word only the internal comments have finds nothing for the client.
        assert!(
            search::search(s, &contact, "costs", 50)
                .await
                .unwrap()
                .is_empty()
        );
        platform.close().await;
        test_store.cleanup().await;
    }
}

//! Conversations on both backends: task comments, discussions and client messages seen by
//! exactly those who see their item (admin, member, non-member, the project's client,
//! another company's client, a contact whose switches are off), on every read, write and
//! event; mentions told to those who can see and refused for those who cannot; editing and
//! removing (own, moderated); attachments; Markdown kept safe.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{both, context, outcome, person, project, sign_in_as};
use tenant_core::access::permissions::{PermissionSet, need};
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::users::UserChange;
use tenant_core::accounts::{companies, users};
use tenant_core::events::{self, Credential, Follower, Next};
use tenant_core::objects::{FileLimits, FileStore};
use tenant_core::talk::comments::{self, NewComment};
use tenant_core::talk::discussions::{self, DiscussionChange, NewDiscussion};
use tenant_core::talk::notifications::{self, Kind};
use tenant_core::talk::replies;
use tenant_core::talk::threads::ThreadRef;
use tenant_core::work::files::{self, UploadForm};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask, TaskChange};
use tenant_core::{Error, Platform, TenantStore};

/// A task of `project` with only a title, by `by`.
async fn titled_task(s: &TenantStore, by: &Principal, project: &str, title: &str) -> tasks::Task {
    tasks::create_task(
        s,
        by,
        project,
        &NewTask {
            title: title.to_owned(),
            ..NewTask::default()
        },
    )
    .await
    .unwrap()
}

fn say(body: &str) -> NewComment {
    NewComment {
        body: body.to_owned(),
        files: Vec::new(),
    }
}

/// The kinds and subjects a stream received until it was quiet for a moment.
async fn received(follower: &mut Follower) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(400), follower.next()).await {
        match next {
            Next::Events(batch) => {
                for (_, view) in batch {
                    let data = &view["data"];
                    let name = data["title"]
                        .as_str()
                        .or_else(|| data["subject"].as_str())
                        .unwrap_or("?");
                    seen.push(format!("{} {name}", view["kind"].as_str().unwrap_or("?")));
                }
            }
            Next::Heartbeat => {}
            Next::End => break,
        }
    }
    seen.retain(|e| !e.starts_with("notification"));
    seen
}

struct Cast {
    admin: Principal,
    member: Principal,
    outsider: Principal,
    contact: Principal,
    stranger: Principal,
    switched: Principal,
}

impl Cast {
    fn each(&self) -> [(&'static str, &Principal); 6] {
        [
            ("admin", &self.admin),
            ("member", &self.member),
            ("outsider", &self.outsider),
            ("contact", &self.contact),
            ("stranger", &self.stranger),
            ("switched", &self.switched),
        ]
    }
}

/// The brand of every test: an admin, a staff member on the project and one who is not,
/// the project's company's contact, another company's contact, and a contact of the
/// project's company whose switches leave only file downloads.
async fn cast(store: &TenantStore) -> (Cast, tenant_core::work::projects::Project) {
    let admin = person(store, "admin@talk.test", "Ada Admin", "admin", None).await;
    let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let acme = companies::create_company(store, &clients, "Acme", "")
        .await
        .unwrap();
    let other = companies::create_company(store, &clients, "Globex", "")
        .await
        .unwrap();
    let site = project(store, &admin, Some(&acme.id)).await;
    let member = person(store, "mia@talk.test", "Mia Member", "staff", None).await;
    let outsider = person(store, "otto@talk.test", "Otto Outsider", "staff", None).await;
    let contact = person(
        store,
        "cleo@acme.test",
        "Cleo Client",
        "client",
        Some(&acme.id),
    )
    .await;
    let stranger = person(
        store,
        "sam@globex.test",
        "Sam Stranger",
        "client",
        Some(&other.id),
    )
    .await;
    let switched_id = person(
        store,
        "sid@acme.test",
        "Sid Switched",
        "client",
        Some(&acme.id),
    )
    .await
    .user_id()
    .to_owned();
    let change = UserChange {
        switches: Some(Some(
            PermissionSet::parse_words(["files.download"]).unwrap(),
        )),
        ..UserChange::default()
    };
    users::update_user(
        store,
        &access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap(),
        &switched_id,
        &change,
    )
    .await
    .unwrap();
    let switched = sign_in_as(store, "sid@acme.test").await;
    sharing::share(store, &admin, &site.id, Sharing::User(member.user_id()))
        .await
        .unwrap();
    (
        Cast {
            admin,
            member,
            outsider,
            contact,
            stranger,
            switched,
        },
        site,
    )
}

async fn follow(store: &TenantStore, email: &str) -> Follower {
    let (principal, secret) = support::signed_in_session(store, email).await;
    events::follow(store, principal, Credential::Session(secret), None)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_conversation_is_seen_and_written_by_exactly_those_who_see_its_item() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let new_task = |title: &str, visibility: &str| NewTask {
            title: title.to_owned(),
            visibility: Some(visibility.to_owned()),
            ..NewTask::default()
        };
        let internal_task =
            tasks::create_task(s, &cast.admin, &site.id, &new_task("Budget", "internal"))
                .await
                .unwrap();
        let client_task = tasks::create_task(
            s,
            &cast.admin,
            &site.id,
            &new_task("Approve the homepage", "client"),
        )
        .await
        .unwrap();
        let internal_talk = discussions::create_discussion(
            s,
            &cast.admin,
            &site.id,
            &NewDiscussion {
                subject: "Margins".to_owned(),
                body: "Only for us".to_owned(),
                ..NewDiscussion::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(internal_talk.visibility.as_str(), "internal", "the default");
        let client_talk = discussions::create_discussion(
            s,
            &cast.admin,
            &site.id,
            &NewDiscussion {
                subject: "Kick-off".to_owned(),
                body: "Welcome **all**".to_owned(),
                visibility: Some("client".to_owned()),
                ..NewDiscussion::default()
            },
        )
        .await
        .unwrap();
        assert!(client_talk.body.html().contains("<strong>all</strong>"));

        let threads = [
            ("internal task", ThreadRef::Task(&internal_task.id)),
            ("client task", ThreadRef::Task(&client_task.id)),
            (
                "internal discussion",
                ThreadRef::Discussion(&internal_talk.id),
            ),
            ("client discussion", ThreadRef::Discussion(&client_talk.id)),
            ("messages", ThreadRef::Messages),
        ];
        // Who gets what, in the order of `Cast::each`.
        let expected: [(&str, [&str; 6]); 5] = [
            ("internal task", ["ok", "ok", "404", "404", "404", "404"]),
            ("client task", ["ok", "ok", "404", "ok", "404", "403"]),
            (
                "internal discussion",
                ["ok", "ok", "404", "404", "404", "404"],
            ),
            ("client discussion", ["ok", "ok", "404", "ok", "404", "403"]),
            ("messages", ["ok", "ok", "404", "ok", "404", "403"]),
        ];
        let mut followers = Vec::new();
        for email in [
            "admin@talk.test",
            "mia@talk.test",
            "otto@talk.test",
            "cleo@acme.test",
            "sam@globex.test",
            "sid@acme.test",
        ] {
            followers.push(follow(s, email).await);
        }
        for ((name, thread), (row, statuses)) in threads.iter().zip(expected) {
            assert_eq!(*name, row);
            for ((who, actor), status) in cast.each().into_iter().zip(statuses) {
                let list = comments::list_comments(s, actor, &site.id, *thread, None, 50).await;
                assert_eq!(
                    outcome(&list),
                    status,
                    "{}: {who} reads {name}",
                    test_store.kind()
                );
                let posted = comments::post_comment(
                    s,
                    actor,
                    &site.id,
                    *thread,
                    &say(&format!("{who} on {name}")),
                )
                .await;
                assert_eq!(
                    outcome(&posted),
                    status,
                    "{}: {who} writes in {name}",
                    test_store.kind()
                );
            }
            let seen = comments::list_comments(s, &cast.admin, &site.id, *thread, None, 50)
                .await
                .unwrap();
            let writers = statuses.iter().filter(|s| **s == "ok").count();
            assert_eq!(
                seen.items.len(),
                writers,
                "{name}: nothing refused was kept"
            );
        }

        // Discussions listed: each sees the ones they may.
        for ((who, actor), expected) in cast
            .each()
            .into_iter()
            .zip(["ok 2", "ok 2", "404", "ok 1", "404", "403"])
        {
            let listed = discussions::list_discussions(s, actor, &site.id, None, 50).await;
            let shape = match &listed {
                Ok(page) => format!("ok {}", page.items.len()),
                Err(_) => outcome(&listed).to_owned(),
            };
            assert_eq!(shape, expected, "{who} lists discussions");
        }

        // Events: each stream got the comments of the threads its user sees, and nothing
        // else (the switched contact, who may not take part, not even client-visible ones).
        let mut got = Vec::new();
        for follower in &mut followers {
            got.push(received(follower).await);
        }
        let count =
            |seen: &Vec<String>, kind: &str| seen.iter().filter(|e| e.starts_with(kind)).count();
        // Admin and member: every comment written (admin 5 threads, member 5, contact 3).
        assert_eq!(count(&got[0], "comment.added"), 10, "{:?}", got[0]);
        assert_eq!(count(&got[0], "message.added"), 3);
        assert_eq!(got[0], got[1], "admin and member see the same");
        assert!(got[2].is_empty(), "the outsider sees nothing: {:?}", got[2]);
        assert_eq!(count(&got[3], "comment.added"), 6, "{:?}", got[3]);
        assert_eq!(count(&got[3], "message.added"), 3);
        assert!(
            !got[3]
                .iter()
                .any(|e| e.contains("Budget") || e.contains("Margins")),
            "{:?}",
            got[3]
        );
        assert!(got[4].is_empty(), "another company's contact: {:?}", got[4]);
        assert!(got[5].is_empty(), "the switched contact: {:?}", got[5]);

        // The activity feed follows the same rule.
        let feed =
            tenant_core::work::activity::project_activity(s, &cast.switched, &site.id, None, 200)
                .await
                .unwrap();
        assert!(
            feed.items
                .iter()
                .all(|e| !e.kind.starts_with("comment") && !e.kind.starts_with("message")),
            "the switched contact's activity shows no conversation"
        );

        // A task made internal takes its comments out of the contact's sight.
        tasks::update_task(
            s,
            &cast.admin,
            &site.id,
            &client_task.id,
            &TaskChange {
                visibility: Some("internal".to_owned()),
                ..TaskChange::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            outcome(
                &comments::list_comments(
                    s,
                    &cast.contact,
                    &site.id,
                    ThreadRef::Task(&client_task.id),
                    None,
                    50
                )
                .await
            ),
            "404"
        );
        // And a discussion made internal by an admin, too; its clients are told it is gone.
        let mut contact_stream = follow(s, "cleo@acme.test").await;
        discussions::update_discussion(
            s,
            &cast.admin,
            &site.id,
            &client_talk.id,
            &DiscussionChange {
                visibility: Some("internal".to_owned()),
                ..DiscussionChange::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            received(&mut contact_stream).await,
            ["discussion.removed Kick-off"]
        );
        assert_eq!(
            outcome(
                &discussions::get_discussion(s, &cast.contact, &site.id, &client_talk.id).await
            ),
            "404"
        );

        // A project for no client company has no client messages.
        let internal_project = project(s, &cast.admin, None).await;
        assert_eq!(
            outcome(
                &comments::post_comment(
                    s,
                    &cast.admin,
                    &internal_project.id,
                    ThreadRef::Messages,
                    &say("hi")
                )
                .await
            ),
            "409"
        );
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn mentions_reach_those_who_can_see_and_are_refused_for_those_who_cannot() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let internal = titled_task(s, &cast.admin, &site.id, "Budget").await;
        let thread = ThreadRef::Task(&internal.id);

        // A client on an internal task: refused, with the field, and nothing kept.
        let refused = comments::post_comment(
            s,
            &cast.admin,
            &site.id,
            thread,
            &say("@Cleo Client please look"),
        )
        .await;
        match &refused {
            Err(Error::Field { field, message }) => {
                assert_eq!(*field, "body");
                assert!(message.contains("Cleo Client cannot see"), "{message}");
            }
            other => panic!("{}: {other:?}", test_store.kind()),
        }
        // A colleague not on the project: refused the same way; by e-mail address too.
        for body in ["ping @Otto Outsider", "ping @otto@talk.test."] {
            let refused =
                comments::post_comment(s, &cast.admin, &site.id, thread, &say(body)).await;
            assert_eq!(outcome(&refused), "422", "{body}");
        }
        assert!(
            comments::list_comments(s, &cast.admin, &site.id, thread, None, 50)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert!(
            notifications::list(s, &cast.contact, false, None, 50)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        // A colleague on it: told in the app, with a link to the comment, and by mail.
        let posted = comments::post_comment(
            s,
            &cast.admin,
            &site.id,
            thread,
            &say("@Mia Member, can you check? Also @nobody and `@Otto Outsider` in code, mail me at a@b.test"),
        )
        .await
        .unwrap();
        let told = notifications::list(s, &cast.member, false, None, 50)
            .await
            .unwrap()
            .items;
        let mention = told.iter().find(|n| n.kind == Kind::Mentioned).unwrap();
        assert_eq!(
            mention.link,
            format!(
                "/projects/{}/tasks/{}#comment-{}",
                site.id, internal.id, posted.id
            )
        );
        assert!(
            mention
                .sentence
                .starts_with("Ada Admin mentioned you in the task \u{201c}Budget\u{201d}"),
            "{}",
            mention.sentence
        );
        let mails = tenant_core::brand::outbox::outbox(s, 50).await.unwrap();
        assert!(
            mails
                .iter()
                .any(|m| m.kind == "notification" && m.recipient == "mia@talk.test"),
            "mailed at once"
        );
        // Who `@` completes to on the internal task: staff who see it.
        let names: Vec<String> = comments::mentionable(s, &cast.admin, &site.id, thread, None)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Ada Admin", "Mia Member"], "{}", test_store.kind());
        let messages: Vec<String> =
            comments::mentionable(s, &cast.contact, &site.id, ThreadRef::Messages, Some("cl"))
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect();
        assert_eq!(
            messages,
            ["Cleo Client"],
            "a switched contact is not offered"
        );

        // Replying in the thread tells who took part (the admin), once, as a conversation.
        comments::post_comment(s, &cast.member, &site.id, thread, &say("Done, @Ada Admin."))
            .await
            .unwrap();
        let admin_told = notifications::list(s, &cast.admin, false, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(
            admin_told.len(),
            1,
            "mentioned, so not told twice: {admin_told:?}"
        );
        assert_eq!(admin_told[0].kind, Kind::Mentioned);
        comments::post_comment(s, &cast.member, &site.id, thread, &say("One more thing"))
            .await
            .unwrap();
        let admin_told = notifications::list(s, &cast.admin, false, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(admin_told[0].kind, Kind::Commented);

        // Client messages: a contact's message tells the project's members.
        comments::post_comment(
            s,
            &cast.contact,
            &site.id,
            ThreadRef::Messages,
            &say("When is the launch?"),
        )
        .await
        .unwrap();
        let member_told = notifications::list(s, &cast.member, false, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(member_told[0].kind, Kind::ClientMessage);
        assert!(member_told[0].sentence.contains("When is the launch?"));
        assert!(
            notifications::list(s, &cast.outsider, false, None, 50)
                .await
                .unwrap()
                .items
                .is_empty(),
            "not a member, not told"
        );
        // And the agency's answer tells the company's contacts who take part in messages.
        comments::post_comment(
            s,
            &cast.member,
            &site.id,
            ThreadRef::Messages,
            &say("Next week, @Cleo Client"),
        )
        .await
        .unwrap();
        let contact_told = notifications::list(s, &cast.contact, false, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(contact_told.len(), 1);
        assert_eq!(contact_told[0].kind, Kind::Mentioned);
        assert!(
            notifications::list(s, &cast.switched, false, None, 50)
                .await
                .unwrap()
                .items
                .is_empty(),
            "the switched contact does not take part"
        );
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn authors_edit_and_remove_their_own_words_and_admins_moderate() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let talk = discussions::create_discussion(
            s,
            &cast.member,
            &site.id,
            &NewDiscussion {
                subject: "Fonts".to_owned(),
                body: "Which?".to_owned(),
                ..NewDiscussion::default()
            },
        )
        .await
        .unwrap();
        let thread = ThreadRef::Discussion(&talk.id);
        let mine = comments::post_comment(s, &cast.member, &site.id, thread, &say("Serif"))
            .await
            .unwrap();
        // Not the author: 403 for editing, for removing (but an admin removes).
        let edit = say("Sans");
        assert_eq!(
            outcome(
                &comments::edit_comment(s, &cast.admin, &site.id, &mine.id, Some(thread), &edit)
                    .await
            ),
            "403"
        );
        let edited =
            comments::edit_comment(s, &cast.member, &site.id, &mine.id, Some(thread), &edit)
                .await
                .unwrap();
        assert_eq!(edited.body.as_ref().unwrap().markdown(), "Sans");
        assert!(edited.edited_at.is_some());
        // Through another thread it is not found.
        let task = titled_task(s, &cast.admin, &site.id, "T").await;
        assert_eq!(
            outcome(
                &comments::edit_comment(
                    s,
                    &cast.member,
                    &site.id,
                    &mine.id,
                    Some(ThreadRef::Task(&task.id)),
                    &edit
                )
                .await
            ),
            "404"
        );
        let theirs = comments::post_comment(s, &cast.admin, &site.id, thread, &say("Mono"))
            .await
            .unwrap();
        assert_eq!(
            outcome(&comments::remove_comment(s, &cast.member, &site.id, &theirs.id, None).await),
            "403"
        );
        let removed = comments::remove_comment(s, &cast.admin, &site.id, &mine.id, None)
            .await
            .unwrap();
        assert!(removed.body.is_none() && removed.removed_at.is_some());
        let listed = comments::list_comments(s, &cast.member, &site.id, thread, None, 50)
            .await
            .unwrap();
        assert_eq!(
            listed.items.len(),
            2,
            "a removed comment stays in its place"
        );
        assert!(listed.items[0].body.is_none());
        assert_eq!(
            outcome(
                &comments::edit_comment(s, &cast.member, &site.id, &mine.id, None, &edit).await
            ),
            "409",
            "a removed comment cannot be brought back by editing"
        );
        let audit = tenant_core::audit::list_audit(
            s,
            &access::permit::<need::AuditView>(&cast.admin, Scope::Brand).unwrap(),
            &Default::default(),
            None,
            50,
        )
        .await
        .unwrap();
        assert!(
            audit.items.iter().any(|e| e.action == "comment.remove"),
            "moderation is audited"
        );

        // Discussions: the author edits; an admin removes it with its comments.
        assert_eq!(
            outcome(
                &discussions::update_discussion(
                    s,
                    &cast.admin,
                    &site.id,
                    &talk.id,
                    &DiscussionChange {
                        subject: Some("X".to_owned()),
                        ..DiscussionChange::default()
                    }
                )
                .await
            ),
            "403"
        );
        discussions::delete_discussion(s, &cast.admin, &site.id, &talk.id)
            .await
            .unwrap();
        assert_eq!(
            outcome(&comments::list_comments(s, &cast.member, &site.id, thread, None, 50).await),
            "404"
        );
        // A client cannot start an internal discussion; theirs are client-visible.
        let asked = NewDiscussion {
            subject: "Question".to_owned(),
            body: "Hello".to_owned(),
            visibility: Some("internal".to_owned()),
            ..NewDiscussion::default()
        };
        assert_eq!(
            outcome(&discussions::create_discussion(s, &cast.contact, &site.id, &asked).await),
            "422"
        );
        let theirs = discussions::create_discussion(
            s,
            &cast.contact,
            &site.id,
            &NewDiscussion {
                visibility: None,
                ..asked
            },
        )
        .await
        .unwrap();
        assert_eq!(theirs.visibility.as_str(), "client");
        // An archived project takes no more words.
        tenant_core::work::projects::set_archived(s, &cast.admin, &site.id, true)
            .await
            .unwrap();
        assert_eq!(
            outcome(
                &comments::post_comment(
                    s,
                    &cast.member,
                    &site.id,
                    ThreadRef::Messages,
                    &say("late")
                )
                .await
            ),
            "409"
        );
        assert_eq!(
            outcome(
                &comments::list_comments(s, &cast.member, &site.id, ThreadRef::Messages, None, 50)
                    .await
            ),
            "ok",
            "but is still read"
        );
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn attachments_are_files_of_the_project_that_the_thread_may_show() {
    for test_store in both().await {
        let dir = tempfile::tempdir().unwrap();
        let platform = Platform::open(&test_store.backend).await.unwrap();
        platform.use_file_store(
            FileStore::local(&dir.path().join("files"), FileLimits::default()).unwrap(),
        );
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let upload = async |name: &str, visibility: &str| {
            let mut upload = files::begin_upload(s, &cast.admin, &site.id).await.unwrap();
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
                .unwrap()
        };
        let internal = upload("plan.png", "internal").await;
        let shared = upload("mockup.png", "client").await;
        let other_project = project(s, &cast.admin, None).await;

        let with = |files: Vec<String>| NewComment {
            body: "See attached".to_owned(),
            files,
        };
        // The client messages are client-visible: an internal file cannot go there.
        let refused = comments::post_comment(
            s,
            &cast.member,
            &site.id,
            ThreadRef::Messages,
            &with(vec![internal.id.clone()]),
        )
        .await;
        assert_eq!(outcome(&refused), "422");
        let elsewhere = comments::post_comment(
            s,
            &cast.admin,
            &other_project.id,
            ThreadRef::Messages,
            &with(vec![shared.id.clone()]),
        )
        .await;
        assert_eq!(outcome(&elsewhere), "409");
        let talk = discussions::create_discussion(
            s,
            &cast.admin,
            &site.id,
            &NewDiscussion {
                subject: "Files".to_owned(),
                body: "b".to_owned(),
                visibility: Some("client".to_owned()),
                ..NewDiscussion::default()
            },
        )
        .await
        .unwrap();
        let posted = comments::post_comment(
            s,
            &cast.member,
            &site.id,
            ThreadRef::Discussion(&talk.id),
            &with(vec![
                shared.id.clone(),
                shared.id.clone(),
                "nope".to_owned(),
            ]),
        )
        .await;
        assert_eq!(outcome(&posted), "422", "an unknown file");
        let posted = comments::post_comment(
            s,
            &cast.member,
            &site.id,
            ThreadRef::Discussion(&talk.id),
            &with(vec![shared.id.clone(), shared.id.clone()]),
        )
        .await
        .unwrap();
        assert_eq!(posted.attachments.len(), 1, "each file once");
        assert!(posted.attachments[0].is_image());

        // Made internal later, the file drops out of what the contact is shown.
        files::update_file(
            s,
            &cast.admin,
            &site.id,
            &shared.id,
            &files::FileChange {
                visibility: Some("internal".to_owned()),
                ..files::FileChange::default()
            },
        )
        .await
        .unwrap();
        let seen = comments::list_comments(
            s,
            &cast.contact,
            &site.id,
            ThreadRef::Discussion(&talk.id),
            None,
            50,
        )
        .await
        .unwrap();
        assert!(
            seen.items[0].attachments.is_empty(),
            "{}",
            test_store.kind()
        );
        let staff_seen = comments::list_comments(
            s,
            &cast.member,
            &site.id,
            ThreadRef::Discussion(&talk.id),
            None,
            50,
        )
        .await
        .unwrap();
        assert_eq!(staff_seen.items[0].attachments.len(), 1);
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_markdown_is_stored_and_served_harmless() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let nested = "> ".repeat(5000) + "deep";
        for hostile in [
            "<script>alert(1)</script>",
            "[click](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
            "![x](https://tracker.test/p.png)",
            "<a href=\"https://x.test\" onclick=\"steal()\">x</a>",
            "<iframe src=\"https://x.test\"></iframe>",
            "[x](JaVaScRiPt:alert(1))",
            nested.as_str(),
        ] {
            let comment = comments::post_comment(
                s,
                &cast.member,
                &site.id,
                ThreadRef::Messages,
                &say(hostile),
            )
            .await
            .unwrap();
            let html = comment.body.as_ref().unwrap().html().to_lowercase();
            // Every tag is a harmless one, with no handler and no script address.
            for tag in html
                .split('<')
                .skip(1)
                .map(|t| t.split('>').next().unwrap_or(""))
            {
                let name = tag
                    .trim_start_matches('/')
                    .split([' ', '/'])
                    .next()
                    .unwrap_or("");
                assert!(
                    ["p", "a", "blockquote", "code", "pre", "strong", "em"].contains(&name),
                    "{hostile} gave <{tag}> in {html}"
                );
                assert!(
                    !tag.contains(" on") && !tag.contains("javascript"),
                    "{hostile} gave {html}"
                );
            }
            assert!(html.matches("<blockquote>").count() <= 24);
            assert_eq!(
                comment.body.as_ref().unwrap().markdown(),
                hostile.trim(),
                "the text is kept as typed"
            );
        }
        test_store.cleanup().await;
    }
}

/// A mail as a mail program sends it: `From`, a `Message-ID`, the extra headers and a
/// plain-text body.
fn mail(from: &str, message_id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: reply+token@replies.talk.test\r\nSubject: Re: Ada mentioned you\r\nMessage-ID: <{message_id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

const BY_MAIL: replies::Envelope<'static> = replies::Envelope {
    sender: "mia@talk.test",
    authserv_id: None,
};

#[tokio::test]
async fn a_reply_by_mail_becomes_a_comment_only_from_the_person_told() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let task = titled_task(s, &cast.admin, &site.id, "Budget").await;
        let thread = ThreadRef::Task(&task.id);
        comments::post_comment(
            s,
            &cast.admin,
            &site.id,
            thread,
            &say("@Mia Member can you check?"),
        )
        .await
        .unwrap();
        let told = notifications::list(s, &cast.member, false, None, 50)
            .await
            .unwrap();
        assert_eq!(told.items[0].kind, Kind::Mentioned);
        let notification = told.items[0].id.clone();
        let count = || async {
            comments::list_comments(s, &cast.admin, &site.id, thread, None, 50)
                .await
                .unwrap()
                .items
                .len()
        };
        assert_eq!(count().await, 1);

        // Forged senders: another person's address, a look-alike, two senders.
        let body = "Checked, all good.\r\n\r\nOn Tue, Ada wrote:\r\n> ##- Write your reply above this line -##\r\n> @Mia Member can you check?\r\n";
        for from in [
            "Otto Outsider <otto@talk.test>",
            "\"Mia Member\" <mia@talk.evil>",
            "mia@talk.test, otto@talk.test",
        ] {
            let refused =
                replies::receive(s, &notification, BY_MAIL, &mail(from, "m0@x", "", body)).await;
            assert!(
                matches!(refused, Err(Error::Forbidden(_))),
                "{}: {from}: {refused:?}",
                test_store.kind()
            );
        }
        assert_eq!(count().await, 1, "a forged reply changes nothing");

        // The person told, in whatever case their address is typed: one comment by them,
        // without the quoted mail; delivered twice, still one.
        let genuine = mail("Mia Member <MIA@Talk.Test>", "m1@mail.test", "", body);
        let posted = replies::receive(s, &notification, BY_MAIL, &genuine)
            .await
            .unwrap();
        let replies::Received::Posted(comment) = posted else {
            panic!("{posted:?}");
        };
        assert_eq!(comment.author_id.as_deref(), Some(cast.member.user_id()));
        assert_eq!(
            comment
                .body
                .as_ref()
                .map(|b| b.markdown().to_owned())
                .as_deref(),
            Some("Checked, all good.")
        );
        assert_eq!(count().await, 2);
        let again = replies::receive(s, &notification, BY_MAIL, &genuine)
            .await
            .unwrap();
        assert_eq!(again, replies::Received::Again(comment.id.clone()));
        assert_eq!(count().await, 2);
        // The admin, who wrote before, is told of the reply like of any comment.
        let admin_told = notifications::list(s, &cast.admin, false, None, 50)
            .await
            .unwrap();
        assert!(
            admin_told.items.iter().any(|n| n.kind == Kind::Commented),
            "{admin_told:?}"
        );

        // Automatic mail is dropped; a reply with nothing of its own is refused.
        let dropped = [
            (
                BY_MAIL,
                mail(
                    "mia@talk.test",
                    "m2@x",
                    "Auto-Submitted: auto-replied\r\n",
                    "I am away",
                ),
            ),
            (
                replies::Envelope {
                    sender: "",
                    authserv_id: None,
                },
                mail("mia@talk.test", "m3@x", "", "Delivery failed"),
            ),
            (
                BY_MAIL,
                mail("mia@talk.test", "m4@x", "Precedence: bulk\r\n", "News"),
            ),
        ];
        for (envelope, raw) in dropped {
            let outcome = replies::receive(s, &notification, envelope, &raw)
                .await
                .unwrap();
            assert!(
                matches!(outcome, replies::Received::Dropped(_)),
                "{outcome:?}"
            );
        }
        let empty = mail("mia@talk.test", "m5@x", "", "> only the quote\r\n");
        assert!(matches!(
            replies::receive(s, &notification, BY_MAIL, &empty).await,
            Err(Error::Invalid(_))
        ));
        assert_eq!(count().await, 2);

        // With a trusted receiving server, its DMARC verdict is required too.
        let trusting = replies::Envelope {
            sender: "mia@talk.test",
            authserv_id: Some("mx.talk.test"),
        };
        let unvouched = mail(
            "mia@talk.test",
            "m6@x",
            "Authentication-Results: evil.test; dmarc=pass header.from=talk.test\r\n",
            "Unvouched",
        );
        assert!(matches!(
            replies::receive(s, &notification, trusting, &unvouched).await,
            Err(Error::Forbidden(_))
        ));
        let vouched = mail(
            "mia@talk.test",
            "m7@x",
            "Authentication-Results: mx.talk.test; dkim=pass header.d=talk.test; dmarc=pass header.from=talk.test\r\n",
            "Vouched for",
        );
        let outcome = replies::receive(s, &notification, trusting, &vouched)
            .await
            .unwrap();
        assert!(
            matches!(outcome, replies::Received::Posted(_)),
            "{outcome:?}"
        );
        assert_eq!(count().await, 3);

        // A mention the person may not make is refused like in the app.
        let mention = mail("mia@talk.test", "m8@x", "", "@Cleo Client see this");
        assert!(matches!(
            replies::receive(s, &notification, BY_MAIL, &mention).await,
            Err(Error::Field { field: "body", .. })
        ));

        // An address that names no notification, and a deactivated person: refused.
        let unknown = replies::receive(
            s,
            "0193a5b2c3d40001a1b2c3d4",
            BY_MAIL,
            &mail("mia@talk.test", "m9@x", "", "hi"),
        )
        .await;
        assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
        let manage = access::permit::<need::UsersManage>(&cast.admin, Scope::Brand).unwrap();
        tenant_core::accounts::lifecycle::deactivate_user(s, &manage, cast.member.user_id())
            .await
            .unwrap();
        let gone = replies::receive(
            s,
            &notification,
            BY_MAIL,
            &mail("mia@talk.test", "m10@x", "", "still here?"),
        )
        .await;
        assert!(matches!(gone, Err(Error::Unauthenticated(_))), "{gone:?}");
        assert_eq!(count().await, 3);
        platform.close().await;
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn a_client_answers_a_client_message_by_mail_from_an_html_mail() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        comments::post_comment(
            s,
            &cast.admin,
            &site.id,
            ThreadRef::Messages,
            &say("The draft is ready"),
        )
        .await
        .unwrap();
        let told = notifications::list(s, &cast.contact, false, None, 50)
            .await
            .unwrap();
        let notice = told
            .items
            .iter()
            .find(|n| n.kind == Kind::ClientMessage)
            .unwrap_or_else(|| panic!("{told:?}"));
        let raw = "From: Cleo Client <cleo@acme.test>\r\nMessage-ID: <h1@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Thanks, <b>approved</b>.</p><blockquote><p>##- Write your reply above this line -##</p></blockquote></body></html>";
        let envelope = replies::Envelope {
            sender: "cleo@acme.test",
            authserv_id: None,
        };
        let outcome = replies::receive(s, &notice.id, envelope, raw.as_bytes())
            .await
            .unwrap();
        let replies::Received::Posted(comment) = outcome else {
            panic!("{outcome:?}");
        };
        let text = comment
            .body
            .as_ref()
            .map(|b| b.markdown().to_owned())
            .unwrap_or_default();
        assert!(
            text.contains("Thanks,") && text.contains("approved"),
            "{text}"
        );
        assert!(!text.contains("reply above"), "{text}");
        let messages =
            comments::list_comments(s, &cast.member, &site.id, ThreadRef::Messages, None, 50)
                .await
                .unwrap();
        assert_eq!(messages.items.len(), 2);
        assert_eq!(
            messages.items[1].author_id.as_deref(),
            Some(cast.contact.user_id())
        );
        platform.close().await;
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn unread_conversations_are_counted_per_thread_until_the_thread_is_opened() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "talk.test").await;
        let s = a.store();
        let (cast, site) = cast(s).await;
        let task = titled_task(s, &cast.admin, &site.id, "Logo").await;
        let thread = ThreadRef::Task(&task.id);
        for body in ["@Mia Member first", "@Mia Member second"] {
            comments::post_comment(s, &cast.admin, &site.id, thread, &say(body))
                .await
                .unwrap();
        }
        comments::post_comment(
            s,
            &cast.admin,
            &site.id,
            ThreadRef::Messages,
            &say("Hello Acme"),
        )
        .await
        .unwrap();
        let today = time::OffsetDateTime::now_utc().date();
        let work = tenant_core::work::my_work::my_work(s, &cast.member, today)
            .await
            .unwrap();
        let task_link = format!("/projects/{}/tasks/{}", site.id, task.id);
        let threads: Vec<(&str, i64)> = work
            .conversations
            .iter()
            .map(|c| (c.link.as_str(), c.unread))
            .collect();
        assert!(
            threads.contains(&(task_link.as_str(), 2)),
            "{}: {threads:?}",
            test_store.kind()
        );
        // The contact's home has the client messages, never the internal task.
        let contact = tenant_core::work::my_work::my_work(s, &cast.contact, today)
            .await
            .unwrap();
        let links: Vec<&str> = contact
            .conversations
            .iter()
            .map(|c| c.link.as_str())
            .collect();
        assert_eq!(
            links,
            vec![format!("/projects/{}/messages", site.id).as_str()]
        );

        notifications::read_thread(s, &cast.member, &task_link)
            .await
            .unwrap();
        let work = tenant_core::work::my_work::my_work(s, &cast.member, today)
            .await
            .unwrap();
        assert!(
            work.conversations.iter().all(|c| c.link != task_link),
            "{:?}",
            work.conversations
        );
        // Another person's reading marks nothing of theirs.
        notifications::read_thread(s, &cast.admin, &format!("/projects/{}/messages", site.id))
            .await
            .unwrap();
        let contact = tenant_core::work::my_work::my_work(s, &cast.contact, today)
            .await
            .unwrap();
        assert_eq!(contact.conversations.len(), 1);
        platform.close().await;
        test_store.cleanup().await;
    }
}

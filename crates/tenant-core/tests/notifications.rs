//! Notifications on both backends: who is told of what (never the actor, never someone
//! who cannot see it), in the app and by mail as each user chose, the daily digest,
//! reminders of tasks due made once, marking read, and unsubscribing without signing in.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, context, project, signed_in_admin, signed_in_user};
use tenant_core::Error;
use tenant_core::Platform;
use tenant_core::TenantStore;
use tenant_core::access::Principal;
use tenant_core::brand::outbox;
use tenant_core::talk::notifications::{self, Email, Kind, Unsubscribe, Which};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask, TaskChange};
use time::{Duration, OffsetDateTime};

async fn sentences(store: &TenantStore, who: &Principal) -> Vec<String> {
    notifications::list(store, who, false, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.sentence)
        .collect()
}

/// The outbox's mails of `kind`, as (recipient, status).
async fn mails(store: &TenantStore, kind: &str) -> Vec<String> {
    outbox::outbox(store, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind)
        .map(|m| m.recipient)
        .collect()
}

#[tokio::test]
async fn people_are_told_of_what_concerns_them_and_only_what_they_may_see() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "tell.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@tell.test").await;
        let ada = signed_in_user(s, "ada@tell.test", "staff", None).await;
        let site = project(s, &admin, None).await;
        sharing::share(s, &admin, &site.id, Sharing::User(ada.user_id()))
            .await
            .unwrap();
        assert_eq!(
            sentences(s, &ada).await,
            ["Test User added you to the project Website."],
            "{}",
            store.kind()
        );
        assert_eq!(mails(s, "notification").await, ["ada@tell.test"]);

        // Assigned: in the app and mailed at once (the default).
        let task = tasks::create_task(
            s,
            &admin,
            &site.id,
            &NewTask {
                title: "Logo".to_owned(),
                assignee: Some(ada.user_id().to_owned()),
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            sentences(s, &ada).await[0],
            "Test User assigned you \u{201c}Logo\u{201d} in Website."
        );
        assert_eq!(mails(s, "notification").await.len(), 2);
        // Moved by someone else: in the app, mail waits for the digest.
        let to_review = TaskChange {
            status: Some("review".to_owned()),
            ..TaskChange::default()
        };
        tasks::update_task(s, &admin, &site.id, &task.id, &to_review)
            .await
            .unwrap();
        assert_eq!(
            sentences(s, &ada).await[0],
            "Test User moved \u{201c}Logo\u{201d} to Review in Website."
        );
        assert_eq!(mails(s, "notification").await.len(), 2);
        // Her own change tells nobody (she is the actor), and the admin is not on it.
        let back = TaskChange {
            status: Some("todo".to_owned()),
            ..TaskChange::default()
        };
        tasks::update_task(s, &ada, &site.id, &task.id, &back)
            .await
            .unwrap();
        assert_eq!(sentences(s, &ada).await.len(), 3);
        assert!(sentences(s, &admin).await.is_empty());

        // Taken off the project, she is told nothing more of it.
        sharing::unshare(s, &admin, &site.id, Sharing::User(ada.user_id()))
            .await
            .unwrap();
        tasks::update_task(s, &admin, &site.id, &task.id, &to_review)
            .await
            .unwrap();
        assert_eq!(sentences(s, &ada).await.len(), 3, "{}", store.kind());

        // The digest: due at 07:00 UTC with what came before; once.
        assert!(mails(s, "digest").await.is_empty());
        let tomorrow_morning = (OffsetDateTime::now_utc() + Duration::days(1))
            .replace_time(time::Time::from_hms(7, 30, 0).unwrap());
        assert_eq!(
            notifications::send_digests(s, tomorrow_morning)
                .await
                .unwrap(),
            1
        );
        assert_eq!(mails(s, "digest").await, ["ada@tell.test"]);
        assert_eq!(
            notifications::send_digests(s, tomorrow_morning)
                .await
                .unwrap(),
            0
        );

        // Marking read: her own only.
        let unread = notifications::badge(s, &ada).await.unwrap().0;
        assert_eq!(unread, 3);
        let first = notifications::list(s, &ada, true, None, 10)
            .await
            .unwrap()
            .items[0]
            .id
            .clone();
        assert_eq!(
            notifications::mark_read(s, &admin, &Which::Ids(vec![first.clone()]))
                .await
                .unwrap(),
            0
        );
        assert_eq!(notifications::badge(s, &ada).await.unwrap().0, 3);
        assert_eq!(
            notifications::mark_read(s, &ada, &Which::Ids(vec![first]))
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            notifications::mark_read(s, &ada, &Which::All)
                .await
                .unwrap(),
            0
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn settings_reminders_and_unsubscribing_work_as_chosen() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "choose.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@choose.test").await;
        let ada = signed_in_user(s, "ada@choose.test", "staff", None).await;
        let site = project(s, &admin, None).await;
        sharing::share(s, &admin, &site.id, Sharing::User(ada.user_id()))
            .await
            .unwrap();

        // Bad settings change nothing.
        for bad in [
            vec![("assigned".to_owned(), None, Some("weekly".to_owned()))],
            vec![
                ("assigned".to_owned(), Some(false), None),
                ("mentions".to_owned(), Some(false), None),
            ],
        ] {
            assert!(matches!(
                notifications::change_settings(s, &ada, &bad).await,
                Err(Error::Field { .. })
            ));
        }
        let settings = notifications::settings(s, &ada).await.unwrap();
        assert!(settings.iter().all(|(_, setting)| setting.in_app));
        // Nothing at all for assignments: no notification is made.
        notifications::change_settings(
            s,
            &ada,
            &[("assigned".to_owned(), Some(false), Some("never".to_owned()))],
        )
        .await
        .unwrap();
        let before = notifications::badge(s, &ada).await.unwrap().0;
        let tomorrow = OffsetDateTime::now_utc().date().next_day().unwrap();
        let task = tasks::create_task(
            s,
            &admin,
            &site.id,
            &NewTask {
                title: "Print".to_owned(),
                assignee: Some(ada.user_id().to_owned()),
                due_on: Some(tomorrow.to_string()),
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(notifications::badge(s, &ada).await.unwrap().0, before);

        // Due tomorrow: told once, however often the job runs.
        let today = OffsetDateTime::now_utc().date();
        assert_eq!(
            notifications::remind_due(s, today, "Choose").await.unwrap(),
            1
        );
        assert_eq!(
            notifications::remind_due(s, today, "Choose").await.unwrap(),
            0
        );
        let list = notifications::list(s, &ada, true, None, 10)
            .await
            .unwrap()
            .items;
        assert_eq!(list[0].kind, Kind::DueTomorrow);
        assert_eq!(list[0].actor_name, "Choose");
        assert_eq!(
            list[0].link,
            format!("/projects/{}/tasks/{}", site.id, task.id)
        );
        // Two days on, it is overdue: told once more.
        let later = today.next_day().unwrap().next_day().unwrap();
        assert_eq!(
            notifications::remind_due(s, later, "Choose").await.unwrap(),
            1
        );
        assert_eq!(
            notifications::remind_due(s, later, "Choose").await.unwrap(),
            0
        );

        // Unsubscribing from a kind's mail by its link: no sign-in; the app still tells.
        let token =
            notifications::unsubscribe_token(s, ada.user_id(), Unsubscribe::Kind(Kind::Overdue))
                .unwrap();
        let (email, what) = notifications::unsubscribe(s, &token).await.unwrap();
        assert_eq!(email, "ada@choose.test");
        assert_eq!(what, Unsubscribe::Kind(Kind::Overdue));
        let settings = notifications::settings(s, &ada).await.unwrap();
        let overdue = settings
            .iter()
            .find(|(k, _)| *k == Kind::Overdue)
            .unwrap()
            .1;
        assert_eq!(overdue.email, Email::Never);
        assert!(overdue.in_app);
        // A token altered, or one of another brand, is not valid.
        let at = token.len() - 8;
        let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
        let altered = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
        assert!(matches!(
            notifications::unsubscribe(s, &altered).await,
            Err(Error::NotFound(_))
        ));
        let b = context(&platform, "other.test").await;
        assert!(matches!(
            notifications::unsubscribe(b.store(), &token).await,
            Err(Error::NotFound(_))
        ));
        platform.close().await;
        store.cleanup().await;
    }
}

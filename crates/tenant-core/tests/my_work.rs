//! The home page's "my work" on both backends: a staff member's open tasks grouped by
//! when they are due and only in projects they reach, projects with progress, a client
//! contact's view (client-visible tasks only), and an admin's brand health.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, context, project, signed_in_admin, signed_in_user};
use tenant_core::Platform;
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Scope};
use tenant_core::accounts::companies;
use tenant_core::work::my_work::{Due, my_work};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask};
use time::Duration;

#[tokio::test]
async fn each_viewer_sees_their_own_work_and_nothing_out_of_reach() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "work.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@work.test").await;
        let permit = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &permit, "Acme", "")
            .await
            .unwrap();
        let ada = signed_in_user(s, "ada@work.test", "staff", None).await;
        let client = signed_in_user(s, "cleo@acme.test", "client", Some(&acme.id)).await;
        let site = project(s, &admin, Some(&acme.id)).await;
        let other = project(s, &admin, None).await;
        for project in [&site, &other] {
            sharing::share(s, &admin, &project.id, Sharing::User(ada.user_id()))
                .await
                .unwrap();
        }
        let today = time::OffsetDateTime::now_utc().date();
        let add = async |project: &str,
                         title: &str,
                         visibility: &str,
                         status: &str,
                         due: Option<time::Date>| {
            tasks::create_task(
                s,
                &admin,
                project,
                &NewTask {
                    title: title.to_owned(),
                    visibility: Some(visibility.to_owned()),
                    status: Some(status.to_owned()),
                    assignee: Some(ada.user_id().to_owned()),
                    due_on: due.map(|d| d.to_string()),
                    ..NewTask::default()
                },
            )
            .await
            .unwrap()
        };
        add(
            &site.id,
            "Late",
            "internal",
            "todo",
            Some(today - Duration::days(2)),
        )
        .await;
        add(&site.id, "Now", "client", "review", Some(today)).await;
        add(
            &other.id,
            "Soon",
            "internal",
            "todo",
            Some(today + Duration::days(3)),
        )
        .await;
        add(&other.id, "Someday", "internal", "todo", None).await;
        add(&other.id, "Finished", "internal", "done", Some(today)).await;

        let work = my_work(s, &ada, today).await.unwrap();
        let mine: Vec<(&str, Due)> = work
            .tasks
            .iter()
            .map(|t| (t.title.as_str(), t.due))
            .collect();
        assert_eq!(
            mine,
            [
                ("Late", Due::Overdue),
                ("Now", Due::Today),
                ("Soon", Due::ThisWeek),
                ("Someday", Due::Later)
            ],
            "{}",
            store.kind()
        );
        let progress: Vec<(i64, i64)> = work.projects.iter().map(|p| (p.done, p.total)).collect();
        assert_eq!(progress, [(0, 2), (1, 3)], "{}", store.kind());
        assert!(work.health.is_none());
        assert!(work.unread >= 5);

        // Taken off a project, its tasks leave her home page even while assigned to her.
        sharing::unshare(s, &admin, &other.id, Sharing::User(ada.user_id()))
            .await
            .unwrap();
        let work = my_work(s, &ada, today).await.unwrap();
        let mine: Vec<&str> = work.tasks.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(mine, ["Late", "Now"]);

        // The client: their company's project, progress over client-visible tasks, and
        // the client-visible task waiting in Review.
        let work = my_work(s, &client, today).await.unwrap();
        let names: Vec<&str> = work.projects.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Website"]);
        assert_eq!((work.projects[0].done, work.projects[0].total), (0, 1));
        let waiting: Vec<&str> = work.tasks.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(waiting, ["Now"]);
        assert!(work.health.is_none());

        // The admin: the brand's health (an invitation not yet accepted).
        signed_in_user(s, "bo@work.test", "staff", None).await;
        let new = tenant_core::accounts::users::NewUser::new(
            tenant_core::Email::parse("pending@work.test").unwrap(),
            "Pending",
            "staff",
        );
        tenant_core::accounts::invitations::invite_user(s, &new)
            .await
            .unwrap();
        let work = my_work(s, &admin, today).await.unwrap();
        assert_eq!(work.health.unwrap().pending_invitations, 1);
        platform.close().await;
        store.cleanup().await;
    }
}

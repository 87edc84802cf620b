//! Tasks on both backends: the board's columns and order, each change's permission, what
//! client contacts see (client-visible tasks of their company's projects only), archived
//! projects, assignees, and bad input changing nothing.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, context, project, signed_in_admin, signed_in_user};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::work::projects::{self, Project};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask, Step, Task, TaskChange, TaskStatus, Visibility};
use tenant_core::{Error, Platform, TenantStore};

fn new_task(title: &str, visibility: Visibility) -> NewTask {
    NewTask {
        title: title.to_owned(),
        description: String::new(),
        status: None,
        visibility: Some(visibility.as_str().to_owned()),
        assignee: None,
        due_on: None,
    }
}

async fn add(
    store: &TenantStore,
    actor: &Principal,
    project: &Project,
    title: &str,
    visibility: Visibility,
) -> Task {
    tasks::create_task(store, actor, &project.id, &new_task(title, visibility))
        .await
        .unwrap()
}

/// The board as `(column, [titles top to bottom])`, empty columns left out.
async fn board(
    store: &TenantStore,
    actor: &Principal,
    project: &Project,
) -> Vec<(&'static str, Vec<String>)> {
    let list = tasks::list_tasks(store, actor, &project.id).await.unwrap();
    let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
    for task in list {
        match out.last_mut() {
            Some((status, titles)) if *status == task.status.as_str() => titles.push(task.title),
            _ => out.push((task.status.as_str(), vec![task.title])),
        }
    }
    out
}

fn moved(status: Option<TaskStatus>, position: Option<i64>) -> TaskChange {
    TaskChange {
        status: status.map(|s| s.as_str().to_owned()),
        position,
        ..TaskChange::default()
    }
}

#[tokio::test]
async fn tasks_keep_their_column_and_order_as_they_move() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "board.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@board.test").await;
        let site = project(s, &admin, None).await;
        let logo = add(s, &admin, &site, "Logo", Visibility::Client).await;
        let copy = add(s, &admin, &site, "Copy", Visibility::Internal).await;
        let shop = add(s, &admin, &site, "Shop", Visibility::Client).await;
        assert_eq!((logo.position, copy.position, shop.position), (0, 1, 2));
        assert_eq!(
            board(s, &admin, &site).await,
            [(
                "todo",
                vec!["Logo".to_owned(), "Copy".to_owned(), "Shop".to_owned()]
            )]
        );

        // Shop to the top of the column; Copy to review; Logo to the top of review.
        tasks::update_task(s, &admin, &site.id, &shop.id, &moved(None, Some(0)))
            .await
            .unwrap();
        tasks::update_task(
            s,
            &admin,
            &site.id,
            &copy.id,
            &moved(Some(TaskStatus::Review), None),
        )
        .await
        .unwrap();
        let logo_moved = tasks::update_task(
            s,
            &admin,
            &site.id,
            &logo.id,
            &moved(Some(TaskStatus::Review), Some(0)),
        )
        .await
        .unwrap();
        assert_eq!(
            (logo_moved.status, logo_moved.position),
            (TaskStatus::Review, 0)
        );
        assert_eq!(
            board(s, &admin, &site).await,
            [
                ("todo", vec!["Shop".to_owned()]),
                ("review", vec!["Logo".to_owned(), "Copy".to_owned()]),
            ]
        );
        // A position past the end is the bottom.
        tasks::update_task(s, &admin, &site.id, &logo.id, &moved(None, Some(99)))
            .await
            .unwrap();
        assert_eq!(
            board(s, &admin, &site).await[1],
            ("review", vec!["Copy".to_owned(), "Logo".to_owned()])
        );
        // Naming the column a task is in keeps its place (and is no change at all).
        let stay = tasks::update_task(
            s,
            &admin,
            &site.id,
            &copy.id,
            &moved(Some(TaskStatus::Review), None),
        )
        .await
        .unwrap();
        assert_eq!(stay.position, 0);
        // Steps go from where the task is: Copy down, then right, then left again.
        let step = |step| TaskChange {
            step: Some(step),
            ..TaskChange::default()
        };
        tasks::update_task(s, &admin, &site.id, &copy.id, &step(Step::Down))
            .await
            .unwrap();
        assert_eq!(
            board(s, &admin, &site).await[1],
            ("review", vec!["Logo".to_owned(), "Copy".to_owned()])
        );
        let right = tasks::update_task(s, &admin, &site.id, &copy.id, &step(Step::Right))
            .await
            .unwrap();
        assert_eq!((right.status, right.position), (TaskStatus::Done, 0));
        let beyond = tasks::update_task(s, &admin, &site.id, &copy.id, &step(Step::Right)).await;
        assert!(matches!(beyond, Err(Error::Field { .. })), "{beyond:?}");
        tasks::update_task(s, &admin, &site.id, &copy.id, &step(Step::Left))
            .await
            .unwrap();
        assert_eq!(
            board(s, &admin, &site).await[1],
            ("review", vec!["Logo".to_owned(), "Copy".to_owned()])
        );
        let audit_permit = access::permit::<need::AuditView>(&admin, Scope::Brand).unwrap();
        let entries = tenant_core::audit::list_audit(
            s,
            &audit_permit,
            &tenant_core::audit::Filter::default(),
            None,
            200,
        )
        .await
        .unwrap()
        .items;
        let moves = entries
            .iter()
            .filter(|e| e.target_id == copy.id && e.action == "task.move")
            .count();
        assert_eq!(
            moves, 4,
            "review, down, right, left; staying put is no move"
        );
        // Removing one closes the gap.
        tasks::delete_task(s, &admin, &site.id, &copy.id)
            .await
            .unwrap();
        let left = tasks::get_task(s, &admin, &site.id, &logo.id)
            .await
            .unwrap();
        assert_eq!(left.position, 0);
        let gone = tasks::get_task(s, &admin, &site.id, &copy.id).await;
        assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

/// Many moves, some to the same spot again and again (so a column runs out of room
/// between two cards and is spaced out again) and some between columns: after each, the
/// board is what the same moves make of a plain list, and each task's place is its index.
#[tokio::test]
async fn a_long_run_of_moves_keeps_every_column_in_the_order_asked_for() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "moves.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@moves.test").await;
        let site = project(s, &admin, None).await;
        let columns = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::Done];
        let mut model: Vec<Vec<Task>> = vec![Vec::new(), Vec::new(), Vec::new()];
        for i in 0..12 {
            model[0].push(add(s, &admin, &site, &format!("Card {i}"), Visibility::Internal).await);
        }
        // A fixed pseudo-random walk: (from column, index, to column, place).
        let mut seed: u64 = 7;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            usize::try_from(seed >> 33).unwrap() % bound.max(1)
        };
        for round in 0..60 {
            let start = next(3);
            let from = (0..3)
                .map(|c| (start + c) % 3)
                .find(|c| !model[*c].is_empty())
                .unwrap();
            let index = next(model[from].len());
            let card = model[from].remove(index);
            // Every third move goes to place 1 of the first column, over and over.
            let (to, place) = if round % 3 == 0 {
                (0, 1.min(model[0].len()))
            } else {
                let to = next(3);
                (to, next(model[to].len() + 1))
            };
            let moved_card = tasks::update_task(
                s,
                &admin,
                &site.id,
                &card.id,
                &moved(Some(columns[to]), Some(i64::try_from(place).unwrap())),
            )
            .await
            .unwrap();
            assert_eq!(
                (moved_card.status, moved_card.position),
                (columns[to], i64::try_from(place).unwrap()),
                "round {round}"
            );
            model[to].insert(place, card);
            let list = tasks::list_tasks(s, &admin, &site.id).await.unwrap();
            for (c, column) in columns.iter().enumerate() {
                let seen: Vec<(&str, i64)> = list
                    .iter()
                    .filter(|t| t.status == *column)
                    .map(|t| (t.id.as_str(), t.position))
                    .collect();
                let wanted: Vec<(&str, i64)> = model[c]
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.id.as_str(), i64::try_from(i).unwrap()))
                    .collect();
                assert_eq!(seen, wanted, "round {round}, column {}", column.as_str());
            }
        }
        // One task read alone is at its index too.
        let last = model[0].last().unwrap();
        let one = tasks::get_task(s, &admin, &site.id, &last.id)
            .await
            .unwrap();
        assert_eq!(one.position, i64::try_from(model[0].len() - 1).unwrap());
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn each_change_needs_its_permission_and_the_project_in_reach() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "rights.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@rights.test").await;
        let site = project(s, &admin, None).await;
        // Built-in staff: tasks.create, edit, assign and move, but not delete.
        let dana = signed_in_user(s, "dana@rights.test", "staff", None).await;
        let eli = signed_in_user(s, "eli@rights.test", "staff", None).await;
        let task = add(s, &admin, &site, "Logo", Visibility::Internal).await;

        // Not on the project: it does not exist for Eli.
        let hidden = tasks::list_tasks(s, &eli, &site.id).await;
        assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");
        let hidden =
            tasks::create_task(s, &eli, &site.id, &new_task("Mine", Visibility::Internal)).await;
        assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");

        sharing::share(s, &admin, &site.id, Sharing::User(dana.user_id()))
            .await
            .unwrap();
        let made = add(s, &dana, &site, "Banner", Visibility::Internal).await;
        let assign = TaskChange {
            assignee: Some(Some(dana.user_id().to_owned())),
            title: Some("Banner, wide".to_owned()),
            ..TaskChange::default()
        };
        let done = tasks::update_task(s, &dana, &site.id, &made.id, &assign)
            .await
            .unwrap();
        assert_eq!(done.assignee_name.as_deref(), Some("Test User"));
        tasks::update_task(
            s,
            &dana,
            &site.id,
            &task.id,
            &moved(Some(TaskStatus::Done), None),
        )
        .await
        .unwrap();
        let may_move = tasks::update_task(
            s,
            &dana,
            &site.id,
            &task.id,
            &moved(Some(TaskStatus::Review), None),
        )
        .await;
        assert!(may_move.is_ok(), "staff may move: {may_move:?}");
        let refused = tasks::delete_task(s, &dana, &site.id, &task.id).await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        assert!(
            tasks::get_task(s, &dana, &site.id, &task.id).await.is_ok(),
            "nothing was removed"
        );

        // Assignees are staff on the project.
        let field_of = |result: tenant_core::Result<Task>| match result {
            Err(Error::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        let to_eli = TaskChange {
            assignee: Some(Some(eli.user_id().to_owned())),
            ..TaskChange::default()
        };
        assert_eq!(
            field_of(tasks::update_task(s, &admin, &site.id, &task.id, &to_eli).await),
            "assignee"
        );
        sharing::share(s, &admin, &site.id, Sharing::User(eli.user_id()))
            .await
            .unwrap();
        let assigned = tasks::update_task(s, &admin, &site.id, &task.id, &to_eli)
            .await
            .unwrap();
        assert_eq!(assigned.assignee_id.as_deref(), Some(eli.user_id()));

        // Bad input is named and changes nothing.
        let before = tasks::get_task(s, &admin, &site.id, &task.id)
            .await
            .unwrap();
        let blank = TaskChange {
            title: Some("  ".to_owned()),
            status: Some("todo".to_owned()),
            ..TaskChange::default()
        };
        assert_eq!(
            field_of(tasks::update_task(s, &admin, &site.id, &task.id, &blank).await),
            "title"
        );
        assert_eq!(
            field_of(
                tasks::update_task(s, &admin, &site.id, &task.id, &moved(None, Some(-1))).await
            ),
            "position"
        );
        assert_eq!(
            tasks::get_task(s, &admin, &site.id, &task.id)
                .await
                .unwrap(),
            before
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn client_contacts_see_only_client_visible_tasks_of_their_companys_projects() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "portal.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@portal.test").await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let globex = companies::create_company(s, &clients, "Globex", "")
            .await
            .unwrap();
        let site = project(s, &admin, Some(&acme.id)).await;
        let other = project(s, &admin, Some(&globex.id)).await;
        let shared = add(s, &admin, &site, "Approve the logo", Visibility::Client).await;
        let internal = add(s, &admin, &site, "Margin check", Visibility::Internal).await;
        add(s, &admin, &other, "Globex only", Visibility::Client).await;

        let cleo = signed_in_user(s, "cleo@acme.test", "client", Some(&acme.id)).await;
        assert_eq!(
            board(s, &cleo, &site).await,
            [("todo", vec!["Approve the logo".to_owned()])]
        );
        let hidden = tasks::get_task(s, &cleo, &site.id, &internal.id).await;
        assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");
        let foreign = tasks::list_tasks(s, &cleo, &other.id).await;
        assert!(matches!(foreign, Err(Error::NotFound(_))), "{foreign:?}");
        // In scope but no client role may change tasks (403); an internal one is not
        // there at all (404).
        let refused =
            tasks::create_task(s, &cleo, &site.id, &new_task("Mine", Visibility::Client)).await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        let refused = tasks::update_task(
            s,
            &cleo,
            &site.id,
            &shared.id,
            &moved(Some(TaskStatus::Done), None),
        )
        .await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        let hidden = tasks::delete_task(s, &cleo, &site.id, &internal.id).await;
        assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");

        // Places are counted among what Cleo sees, so they do not give internal tasks
        // away: a third task, below the internal one, is second for her.
        let third = add(s, &admin, &site, "Pick a font", Visibility::Client).await;
        assert_eq!(third.position, 2);
        let seen: Vec<i64> = tasks::list_tasks(s, &cleo, &site.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.position)
            .collect();
        assert_eq!(seen, [0, 1]);
        let one = tasks::get_task(s, &cleo, &site.id, &third.id)
            .await
            .unwrap();
        assert_eq!(one.position, 1);
        tasks::delete_task(s, &admin, &site.id, &third.id)
            .await
            .unwrap();

        // Making the internal task client-visible shows it to Cleo.
        let open = TaskChange {
            visibility: Some("client".to_owned()),
            ..TaskChange::default()
        };
        tasks::update_task(s, &admin, &site.id, &internal.id, &open)
            .await
            .unwrap();
        assert_eq!(
            tasks::list_tasks(s, &cleo, &site.id).await.unwrap().len(),
            2
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_archived_projects_tasks_can_be_read_but_not_changed() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "kept.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@kept.test").await;
        let site = project(s, &admin, None).await;
        let task = add(s, &admin, &site, "Logo", Visibility::Internal).await;
        projects::set_archived(s, &admin, &site.id, true)
            .await
            .unwrap();
        assert_eq!(
            tasks::list_tasks(s, &admin, &site.id).await.unwrap().len(),
            1
        );
        let refused =
            tasks::create_task(s, &admin, &site.id, &new_task("More", Visibility::Internal)).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        let refused = tasks::update_task(
            s,
            &admin,
            &site.id,
            &task.id,
            &moved(Some(TaskStatus::Done), None),
        )
        .await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        let refused = tasks::delete_task(s, &admin, &site.id, &task.id).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

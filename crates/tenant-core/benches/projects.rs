//! Projects and tasks benchmarks, on SQLite and PostgreSQL (`TEST_POSTGRES_URL`, default
//! the local server; skipped when unreachable), in a brand of 2,000 projects:
//! - a page of 50 projects for a staff member who reaches 50 of them through a team, for
//!   an admin (who sees every project) and for a client contact of a company with 20;
//! - a board of 500 tasks, read whole, and a card moved between the top and the bottom
//!   of that 500-card column, and between the top and its middle (the same two
//!   neighbours each time, so the column is spaced out again every tenth move or so);
//! - the home page ("my work") of the staff member, who has 2,000 tasks assigned across
//!   the 50 projects they reach (a quarter of them done), due over six weeks.
//!
//! Run: `cargo bench -p tenant-core --bench projects`.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::accounts::teams;
use tenant_core::work::projects::{self, NewProject, ProjectFilter, ProjectStatus};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::work::tasks::{self, NewTask, TaskChange, Visibility};
use tenant_core::{Platform, TenantContext, TenantStore};
use tokio::runtime::Runtime;

const PROJECTS: usize = 2_000;
const TASKS: usize = 500;
const MY_TASKS: usize = 2_000;

struct Seeded {
    kind: &'static str,
    _platform: Platform,
    context: TenantContext,
    admin: Principal,
    staff: Principal,
    client: Principal,
    board: String,
    card: String,
}

async fn seed(store: &support::TestStore) -> Seeded {
    let platform = Platform::open(&store.backend).await.unwrap();
    let context = support::context(&platform, "bench.test").await;
    let s: &TenantStore = context.store();
    let admin = support::signed_in_admin(s, "admin@bench.test").await;
    let staff = support::signed_in_user(s, "staff@bench.test", "staff", None).await;
    let teams_permit = access::permit::<need::TeamsManage>(&admin, Scope::Brand).unwrap();
    let team = teams::create_team(s, &teams_permit, "Design")
        .await
        .unwrap();
    teams::add_member(s, &teams_permit, &team.id, staff.user_id())
        .await
        .unwrap();
    let clients_permit = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let company = companies::create_company(s, &clients_permit, "Acme", "")
        .await
        .unwrap();
    let client = support::signed_in_user(s, "cleo@acme.test", "client", Some(&company.id)).await;
    let create = access::permit::<need::ProjectsCreate>(&admin, Scope::Brand).unwrap();
    let mut board = String::new();
    let mut theirs = Vec::new();
    for i in 0..PROJECTS {
        let project = projects::create_project(
            s,
            &create,
            &NewProject {
                name: format!("Project {i}"),
                description: String::new(),
                company_id: (i % 100 == 0).then(|| company.id.clone()),
            },
        )
        .await
        .unwrap();
        if i % 40 == 0 {
            sharing::share(s, &admin, &project.id, Sharing::Team(&team.id))
                .await
                .unwrap();
            theirs.push(project.id.clone());
        }
        if i == 0 {
            board = project.id;
        }
    }
    let mut card = String::new();
    for i in 0..TASKS {
        let task = tasks::create_task(
            s,
            &admin,
            &board,
            &NewTask {
                title: format!("Task {i}"),
                description: String::new(),
                status: None,
                visibility: Some(
                    if i % 2 == 0 {
                        Visibility::Client
                    } else {
                        Visibility::Internal
                    }
                    .as_str()
                    .to_owned(),
                ),
                assignee: None,
                due_on: None,
            },
        )
        .await
        .unwrap();
        card = task.id;
    }
    let today = time::OffsetDateTime::now_utc().date();
    for i in 0..MY_TASKS {
        let project = &theirs[i % theirs.len()];
        let due = today + time::Duration::days((i % 42) as i64 - 7);
        tasks::create_task(
            s,
            &admin,
            project,
            &NewTask {
                title: format!("Mine {i}"),
                status: Some(if i % 4 == 0 { "done" } else { "todo" }.to_owned()),
                assignee: Some(staff.user_id().to_owned()),
                due_on: Some(due.to_string()),
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
    }
    // As autovacuum would have by now in a brand that grew to this size: the planner's
    // statistics (PostgreSQL; SQLite plans from its indexes alone).
    if store.kind() == "postgres" {
        support::run_in_tenant(&store.backend, &context.tenant, &["analyze"]).await;
    }
    Seeded {
        kind: store.kind(),
        _platform: platform,
        context,
        admin,
        staff,
        client,
        board,
        card,
    }
}

fn benchmarks(c: &mut Criterion) {
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = rt.block_on(support::both());
    let seeded: Vec<Seeded> = stores.iter().map(|s| rt.block_on(seed(s))).collect();
    let active = ProjectFilter {
        status: Some(ProjectStatus::Active),
        ..ProjectFilter::default()
    };

    let mut group = c.benchmark_group("project_list_page");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for seeded in &seeded {
        for (who, principal, expected) in [
            ("member_via_team", &seeded.staff, 50),
            ("view_all", &seeded.admin, 50),
            ("client_contact", &seeded.client, 20),
        ] {
            group.bench_function(BenchmarkId::new(who, seeded.kind), |b| {
                b.iter(|| {
                    let page = rt
                        .block_on(projects::list_projects(
                            seeded.context.store(),
                            principal,
                            &active,
                            None,
                            50,
                        ))
                        .unwrap();
                    assert_eq!(page.items.len(), expected);
                    black_box(page)
                });
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("board_500_tasks");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for seeded in &seeded {
        group.bench_function(BenchmarkId::new("read_staff", seeded.kind), |b| {
            b.iter(|| {
                let board = rt
                    .block_on(tasks::list_tasks(
                        seeded.context.store(),
                        &seeded.admin,
                        &seeded.board,
                    ))
                    .unwrap();
                assert_eq!(board.len(), TASKS);
                black_box(board)
            });
        });
        group.bench_function(BenchmarkId::new("read_client", seeded.kind), |b| {
            b.iter(|| {
                let board = rt
                    .block_on(tasks::list_tasks(
                        seeded.context.store(),
                        &seeded.client,
                        &seeded.board,
                    ))
                    .unwrap();
                assert_eq!(board.len(), TASKS / 2);
                black_box(board)
            });
        });
        let mut top = true;
        for (name, away) in [("move_top_bottom", TASKS), ("move_top_middle", TASKS / 2)] {
            group.bench_function(BenchmarkId::new(name, seeded.kind), |b| {
                b.iter(|| {
                    top = !top;
                    let change = TaskChange {
                        position: Some(if top { 0 } else { away as i64 }),
                        ..TaskChange::default()
                    };
                    let task = rt
                        .block_on(tasks::update_task(
                            seeded.context.store(),
                            &seeded.admin,
                            &seeded.board,
                            &seeded.card,
                            &change,
                        ))
                        .unwrap();
                    black_box(task)
                });
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("home_page");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let today = time::OffsetDateTime::now_utc().date();
    for seeded in &seeded {
        group.bench_function(BenchmarkId::new("my_work_staff", seeded.kind), |b| {
            b.iter(|| {
                let work = rt
                    .block_on(tenant_core::work::my_work::my_work(
                        seeded.context.store(),
                        &seeded.staff,
                        today,
                    ))
                    .unwrap();
                assert_eq!(work.projects.len(), 50);
                assert_eq!(work.tasks.len(), 100);
                black_box(work)
            });
        });
    }
    group.finish();

    for (store, seeded) in stores.into_iter().zip(seeded) {
        drop(seeded);
        rt.block_on(store.cleanup());
    }
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);

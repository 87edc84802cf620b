//! "My work": what a signed-in user's home page shows, read in one transaction with a
//! fixed handful of queries however many projects and tasks there are. Staff: their open
//! tasks across the projects they reach, grouped by when they are due, and those
//! projects with their progress. Client contacts: their company's projects with progress
//! (client-visible tasks only) and the client-visible tasks waiting for their look (the
//! Review column). Admins (`users.manage`) also get the brand's health: invitations not
//! yet accepted and users whose access ends within two weeks.

use time::{Date, Duration, OffsetDateTime};

use crate::access::permissions::Permission;
use crate::access::{Principal, UserKind};
use crate::error::Result;
use crate::fields::parse_date;
use crate::store::{TenantStore, on_tx};
use crate::talk::notifications;
use crate::work::projects::{ProjectStatus, reach_of};
use crate::work::tasks::TaskStatus;

/// At most this many of each list.
const SHOWN: i64 = 100;

/// When a task is due, as the home page groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    /// Before today.
    Overdue,
    /// Today.
    Today,
    /// Within the next six days.
    ThisWeek,
    /// Later, or with no date.
    Later,
}

impl Due {
    /// The groups in the order shown.
    pub const ALL: [Due; 4] = [Due::Overdue, Due::Today, Due::ThisWeek, Due::Later];

    /// The API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Due::Overdue => "overdue",
            Due::Today => "today",
            Due::ThisWeek => "this_week",
            Due::Later => "later",
        }
    }

    /// The heading.
    pub fn label(self) -> &'static str {
        match self {
            Due::Overdue => "Overdue",
            Due::Today => "Due today",
            Due::ThisWeek => "This week",
            Due::Later => "Later",
        }
    }

    fn of(due_on: Option<Date>, today: Date) -> Due {
        match due_on {
            Some(d) if d < today => Due::Overdue,
            Some(d) if d == today => Due::Today,
            Some(d) if d <= today + Duration::days(6) => Due::ThisWeek,
            _ => Due::Later,
        }
    }
}

/// A task on the home page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyTask {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its column.
    pub status: TaskStatus,
    /// When it is due.
    pub due_on: Option<Date>,
    /// Its group.
    pub due: Due,
    /// Its project.
    pub project_id: String,
    /// The project's name.
    pub project_name: String,
}

/// A project on the home page, with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyProject {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Active or archived.
    pub status: ProjectStatus,
    /// The client company's name.
    pub company_name: Option<String>,
    /// Tasks done (of those the viewer sees).
    pub done: i64,
    /// Tasks in all (of those the viewer sees).
    pub total: i64,
}

/// The brand's health, for admins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Health {
    /// Invitations sent and not yet accepted.
    pub pending_invitations: i64,
    /// Users whose access ends within two weeks: (id, name, when).
    pub access_ending: Vec<(String, String, OffsetDateTime)>,
}

/// Everything the home page shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MyWork {
    /// Staff: their open tasks, soonest due first. Clients: the client-visible tasks in
    /// Review, waiting for their look.
    pub tasks: Vec<MyTask>,
    /// The active projects they reach, by name, with progress.
    pub projects: Vec<MyProject>,
    /// Their unread notifications.
    pub unread: i64,
    /// The conversations with unread mentions, comments or client messages, newest first
    /// (at most five).
    pub conversations: Vec<notifications::UnreadConversation>,
    /// For admins.
    pub health: Option<Health>,
}

type TaskRow = (String, String, String, Option<String>, String, String);

/// The ids of the projects a viewer reaches (`$1`: whom the reach concerns), by the reach's
/// mode (see [`reach_of`]).
fn reached_projects(mode: &str) -> &'static str {
    match mode {
        "all" => "select project_id from projects where $1 = $1",
        "company" => "select project_id from projects where company_id = $1",
        _ => {
            "select project_id from project_members where user_id = $1
             union
             select project_teams.project_id from project_teams
             join team_members on team_members.team_id = project_teams.team_id
             where team_members.user_id = $1"
        }
    }
}
type ProjectRow = (String, String, String, Option<String>, i64, Option<i64>);

/// The home page of `viewer` as of `today`.
#[tracing::instrument(skip_all)]
pub async fn my_work(store: &TenantStore, viewer: &Principal, today: Date) -> Result<MyWork> {
    let (mode, who) = reach_of(viewer);
    let client = viewer.kind() == UserKind::Client;
    // Written per kind of viewer rather than chosen by a parameter, so the database plans
    // each for what it is.
    let (which_tasks, counted) = if client {
        (
            "tasks.visibility = 'client' and tasks.status = 'review' and $2 <> ''",
            "tasks.visibility = 'client'",
        )
    } else {
        ("tasks.assignee_id = $2 and tasks.status <> 'done'", "1 = 1")
    };
    // The projects in reach first, by the index of the viewer's way in (memberships and
    // teams, or the company), then only their rows: the query does not test every
    // project of the brand for reach.
    let reached = reached_projects(mode);
    let mut tx = store.read().await?;
    let tasks: Vec<TaskRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "with reached as ({reached})
             select tasks.task_id, tasks.title, tasks.status, tasks.due_on, projects.project_id, projects.name
             from tasks join projects on projects.project_id = tasks.project_id
             where projects.status = 'active' and tasks.project_id in (select project_id from reached)
               and {which_tasks}
             order by case when tasks.due_on is null then 1 else 0 end, tasks.due_on, tasks.task_id
             limit $3"
        ))
        .bind(who)
        .bind(viewer.user_id())
        .bind(SHOWN)
        .fetch_all(conn)
        .await?
    });
    let projects: Vec<ProjectRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "with reached as ({reached}),
             progress as (
                 select tasks.project_id, count(*) as total,
                        sum(case when tasks.status = 'done' then 1 else 0 end) as done
                 from tasks
                 where tasks.project_id in (select project_id from reached) and {counted}
                 group by tasks.project_id)
             select projects.project_id, projects.name, projects.status, companies.name,
                    coalesce(progress.total, 0), progress.done
             from reached
             join projects on projects.project_id = reached.project_id
             left join companies on companies.company_id = projects.company_id
             left join progress on progress.project_id = projects.project_id
             where projects.status = 'active'
             order by projects.name, projects.project_id
             limit $2"
        ))
        .bind(who)
        .bind(SHOWN)
        .fetch_all(conn)
        .await?
    });
    let unread = notifications::unread_count(&mut tx, viewer.user_id()).await?;
    let conversations = notifications::unread_conversations(&mut tx, viewer.user_id(), 5).await?;
    let health = if !client && viewer.permissions().contains(Permission::UsersManage) {
        let now = OffsetDateTime::now_utc();
        let pending: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar("select count(*) from users where status = 'invited'")
                .fetch_one(conn)
                .await?
        });
        let ending: Vec<(String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select user_id, name, access_expires_at from users
                 where status = 'active' and access_expires_at > $1 and access_expires_at <= $2
                 order by access_expires_at, user_id limit 50",
            )
            .bind(now)
            .bind(now + Duration::days(14))
            .fetch_all(conn)
            .await?
        });
        Some(Health {
            pending_invitations: pending,
            access_ending: ending,
        })
    } else {
        None
    };
    let tasks = tasks
        .into_iter()
        .map(|(id, title, status, due_on, project_id, project_name)| {
            let due_on = due_on
                .as_deref()
                .map(|d| parse_date("due_on", d))
                .transpose()?;
            Ok(MyTask {
                id,
                title,
                status: TaskStatus::parse(&status)?,
                due: Due::of(due_on, today),
                due_on,
                project_id,
                project_name,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let projects = projects
        .into_iter()
        .map(|(id, name, status, company_name, total, done)| {
            Ok(MyProject {
                id,
                name,
                status: ProjectStatus::parse(&status)?,
                company_name,
                done: done.unwrap_or(0),
                total,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MyWork {
        tasks,
        projects,
        unread,
        conversations,
        health,
    })
}

//! Tasks: the cards of a project's Kanban board. A task's column is its status (to do, in
//! progress, review, done) and its place in the column its position. Every task is
//! internal (staff only) or client-visible; a client contact sees only the client-visible
//! tasks of their own company's projects, and an internal task does not exist for them.
//!
//! Whoever reaches the project sees its tasks. Creating needs `tasks.create`; changing the
//! title, description, due date or visibility `tasks.edit`; the assignee `tasks.assign`;
//! the column or position `tasks.move`; removing `tasks.delete`. Nothing changes on an
//! archived project, and changes to one project run one at a time.

use serde_json::json;
use time::{Date, Month, OffsetDateTime};

use crate::access::UserKind;
use crate::access::permissions::need;
use crate::access::{self, Actor, Principal};
use crate::audit;
use crate::error::{Error, Result};
use crate::fields::{long_text, single_line};
use crate::store::TenantStore;
use crate::store::{Tx, new_id, now, on_tx};
use crate::work::projects::{self, Project};

/// A column of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Being worked on.
    InProgress,
    /// Waiting for a look.
    Review,
    /// Finished.
    Done,
}

impl TaskStatus {
    /// The columns, left to right.
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::Review,
        TaskStatus::Done,
    ];

    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Review => "review",
            TaskStatus::Done => "done",
        }
    }

    /// The column's heading.
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Todo => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::Review => "Review",
            TaskStatus::Done => "Done",
        }
    }

    /// Reads the word; anything else is a field error naming it.
    pub fn parse(text: &str) -> Result<Self> {
        TaskStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                Error::field(
                    "status",
                    format!("'{text}' is not a column: use todo, in_progress, review or done"),
                )
            })
    }
}

/// Who sees a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Staff only.
    Internal,
    /// Also the client company's contacts.
    Client,
}

impl Visibility {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Client => "client",
        }
    }

    /// Reads the word; anything else is a field error naming it.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "internal" => Ok(Visibility::Internal),
            "client" => Ok(Visibility::Client),
            other => Err(Error::field(
                "visibility",
                format!("'{other}' is not a visibility: use internal or client"),
            )),
        }
    }
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// What is to be done.
    pub title: String,
    /// More about it (may be empty).
    pub description: String,
    /// Its column.
    pub status: TaskStatus,
    /// Its place in the column, from 0 at the top.
    pub position: i64,
    /// Who sees it.
    pub visibility: Visibility,
    /// The staff member it is assigned to.
    pub assignee_id: Option<String>,
    /// Their name.
    pub assignee_name: Option<String>,
    /// When it is due.
    pub due_on: Option<Date>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

impl Task {
    fn audit_state(&self) -> serde_json::Value {
        json!({
            "title": self.title,
            "status": self.status.as_str(),
            "position": self.position,
            "visibility": self.visibility.as_str(),
            "assignee": self.assignee_id,
            "due_on": self.due_on.map(|d| d.to_string()),
        })
    }
}

/// A new task: in `status` (default to do), at the bottom of its column.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// What is to be done.
    pub title: String,
    /// More about it.
    pub description: String,
    /// Its column (default to do).
    pub status: Option<TaskStatus>,
    /// Who sees it.
    pub visibility: Visibility,
    /// A staff member on the project (needs `tasks.assign`).
    pub assignee_id: Option<String>,
    /// When it is due.
    pub due_on: Option<Date>,
}

/// A change to a task; `None` keeps a field. Each field needs its permission (see the
/// module's documentation).
#[derive(Debug, Clone, Default)]
pub struct TaskChange {
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Another visibility.
    pub visibility: Option<Visibility>,
    /// Another due date, or none.
    pub due_on: Option<Option<Date>>,
    /// Another assignee, or none.
    pub assignee_id: Option<Option<String>>,
    /// Another column.
    pub status: Option<TaskStatus>,
    /// Another place in the column (0 is the top; past the end is the bottom).
    pub position: Option<i64>,
    /// One step from where the task is (instead of `status` and `position`).
    pub step: Option<Step>,
}

/// Reads a date written `YYYY-MM-DD` given in `field`.
pub fn parse_date(field: &'static str, text: &str) -> Result<Date> {
    let wrong = || Error::field(field, format!("'{text}' is not a date like 2027-01-31"));
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(wrong());
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4
        || month.len() != 2
        || day.len() != 2
        || !(digits(year) && digits(month) && digits(day))
    {
        return Err(wrong());
    }
    let year: i32 = year.parse().map_err(|_| wrong())?;
    let month: u8 = month.parse().map_err(|_| wrong())?;
    let day: u8 = day.parse().map_err(|_| wrong())?;
    let month = Month::try_from(month).map_err(|_| wrong())?;
    Date::from_calendar_date(year, month, day).map_err(|_| wrong())
}

fn parse_title(text: &str) -> Result<String> {
    single_line("title", "a task's title", text, 300)
}

const COLUMNS: &str = "tasks.task_id, tasks.project_id, tasks.title, tasks.description, tasks.status,
     tasks.position, tasks.visibility, tasks.assignee_id, users.name, tasks.due_on, tasks.created_at";

const TASKS: &str = "tasks left join users on users.user_id = tasks.assignee_id";

#[derive(sqlx::FromRow)]
struct TaskRow {
    task_id: String,
    project_id: String,
    title: String,
    description: String,
    status: String,
    position: i64,
    visibility: String,
    assignee_id: Option<String>,
    name: Option<String>,
    due_on: Option<String>,
    created_at: OffsetDateTime,
}

impl TryFrom<TaskRow> for Task {
    type Error = Error;

    fn try_from(row: TaskRow) -> Result<Task> {
        Ok(Task {
            id: row.task_id,
            project_id: row.project_id,
            title: row.title,
            description: row.description,
            status: TaskStatus::parse(&row.status)?,
            position: row.position,
            visibility: Visibility::parse(&row.visibility)?,
            assignee_id: row.assignee_id,
            assignee_name: row.name,
            due_on: row
                .due_on
                .as_deref()
                .map(|d| parse_date("due_on", d))
                .transpose()?,
            created_at: row.created_at,
        })
    }
}

/// The visibility word a viewer is limited to (`client` for client contacts, none for
/// staff), bound where the queries say `($N = '' or tasks.visibility = $N)`.
fn limited_to(actor: &Principal) -> &'static str {
    match actor.kind() {
        UserKind::Client => Visibility::Client.as_str(),
        UserKind::Staff => "",
    }
}

fn no_such_task() -> Error {
    Error::NotFound("there is no such task on this project".to_owned())
}

async fn find_task(
    tx: &mut Tx,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
) -> Result<Task> {
    let row: Option<TaskRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {TASKS}
             where tasks.task_id = $1 and tasks.project_id = $2 and ($3 = '' or tasks.visibility = $3)"
        ))
        .bind(task_id)
        .bind(project_id)
        .bind(limited_to(actor))
        .fetch_optional(conn)
        .await?
    });
    let mut task = Task::try_from(row.ok_or_else(no_such_task)?)?;
    if actor.kind() == UserKind::Client {
        // A contact is shown the task's place among the tasks they see, so positions do
        // not give away internal tasks.
        task.position = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select count(*) from tasks
                 where project_id = $1 and status = $2 and visibility = 'client'
                   and (position < $3 or (position = $3 and task_id < $4))",
            )
            .bind(project_id)
            .bind(task.status.as_str())
            .bind(task.position)
            .bind(&task.id)
            .fetch_one(conn)
            .await?
        });
    }
    Ok(task)
}

/// Every task of a project the actor reaches (a client contact: the client-visible ones),
/// column by column, top to bottom.
#[tracing::instrument(skip_all)]
pub async fn list_tasks(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Vec<Task>> {
    let mut tx = store.read().await?;
    projects::reachable(&mut tx, actor, project_id).await?;
    let rows: Vec<TaskRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {TASKS}
             where tasks.project_id = $1 and ($2 = '' or tasks.visibility = $2)
             order by tasks.position, tasks.task_id"
        ))
        .bind(project_id)
        .bind(limited_to(actor))
        .fetch_all(conn)
        .await?
    });
    let mut tasks = rows
        .into_iter()
        .map(Task::try_from)
        .collect::<Result<Vec<_>>>()?;
    tasks.sort_by_key(|t| t.status);
    if actor.kind() == UserKind::Client {
        // Places among the tasks a contact sees (see `find_task`).
        let mut place = 0;
        let mut column = None;
        for task in &mut tasks {
            if column != Some(task.status) {
                column = Some(task.status);
                place = 0;
            }
            task.position = place;
            place += 1;
        }
    }
    Ok(tasks)
}

/// One task of a project the actor reaches.
#[tracing::instrument(skip_all)]
pub async fn get_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
) -> Result<Task> {
    let mut tx = store.read().await?;
    projects::reachable(&mut tx, actor, project_id).await?;
    find_task(&mut tx, actor, project_id, task_id).await
}

/// Who can take the project's tasks: staff on it (directly or through a team) who are not
/// deactivated, as `(id, name)` by name. For staff who reach the project.
#[tracing::instrument(skip_all)]
pub async fn assignable(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Vec<(String, String)>> {
    let mut tx = store.read().await?;
    projects::reachable(&mut tx, actor, project_id).await?;
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users are not shown who works on a project".to_owned(),
        ));
    }
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(
            "select u.user_id, u.name from users u
             where u.kind = 'staff' and u.status <> 'deactivated'
               and (exists(select 1 from project_members m where m.project_id = $1 and m.user_id = u.user_id)
                 or exists(select 1 from project_teams pt join team_members tm on tm.team_id = pt.team_id
                           where pt.project_id = $1 and tm.user_id = u.user_id))
             order by u.name, u.user_id",
        )
        .bind(project_id)
        .fetch_all(conn)
        .await?
    }))
}

/// An assignee must be a staff member on the project (directly or through a team) and
/// not deactivated.
async fn check_assignee(tx: &mut Tx, project: &Project, user_id: &str) -> Result<()> {
    let status: Option<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select kind, status from users where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    match status {
        Some((kind, status)) if kind == "staff" && status != "deactivated" => {}
        _ => {
            return Err(Error::field(
                "assignee",
                format!("'{user_id}' is not a staff member who can take tasks"),
            ));
        }
    }
    if !projects::is_member(tx, &project.id, user_id).await? {
        return Err(Error::field(
            "assignee",
            "only people on the project can be assigned: add them to it first",
        ));
    }
    Ok(())
}

/// How many tasks a column holds, not counting `leaving`.
async fn column_size(
    tx: &mut Tx,
    project_id: &str,
    status: TaskStatus,
    leaving: &str,
) -> Result<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from tasks where project_id = $1 and status = $2 and task_id <> $3",
        )
        .bind(project_id)
        .bind(status.as_str())
        .bind(leaving)
        .fetch_one(conn)
        .await?
    }))
}

/// Shifts the tasks of a column from `from` down by one (`by` = 1, opening a place at
/// `from`) or up by one (`by` = -1, closing the place above `from`), leaving `moving`
/// where it is. Positions stay 0, 1, 2… with one statement however long the column.
async fn shift(
    tx: &mut Tx,
    project_id: &str,
    status: TaskStatus,
    from: i64,
    by: i64,
    moving: &str,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set position = position + $4
             where project_id = $1 and status = $2 and position >= $3 and task_id <> $5",
        )
        .bind(project_id)
        .bind(status.as_str())
        .bind(from)
        .bind(by)
        .bind(moving)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Adds a task at the bottom of its column (`tasks.create`; an assignee also needs
/// `tasks.assign`).
#[tracing::instrument(skip_all)]
pub async fn create_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    new: &NewTask,
) -> Result<Task> {
    let at = now();
    let mut tx = store.write().await?;
    let project =
        projects::for_change::<need::TasksCreate>(&mut tx, actor, project_id, false).await?;
    if new.assignee_id.is_some() {
        access::permit::<need::TasksAssign>(actor, project.scope())?;
    }
    let title = parse_title(&new.title)?;
    let description = long_text("description", &new.description)?;
    if let Some(assignee) = &new.assignee_id {
        check_assignee(&mut tx, &project, assignee).await?;
    }
    let status = new.status.unwrap_or(TaskStatus::Todo);
    let position = column_size(&mut tx, project_id, status, "").await?;
    let id = new_id()?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into tasks (task_id, project_id, title, description, status, position, visibility, assignee_id, due_on, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(&title)
        .bind(&description)
        .bind(status.as_str())
        .bind(position)
        .bind(new.visibility.as_str())
        .bind(&new.assignee_id)
        .bind(new.due_on.map(|d| d.to_string()))
        .bind(actor.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let task = find_task(&mut tx, actor, project_id, &id).await?;
    audit::record(
        &mut tx,
        &Actor::from(actor),
        "task.create",
        "task",
        &id,
        None,
        Some(task.audit_state()),
    )
    .await?;
    tx.commit().await?;
    Ok(task)
}

/// One step on the board, worked out from where the task is when the change runs (so two
/// clicks at once each move it one step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One column to the left, at the bottom.
    Left,
    /// One column to the right, at the bottom.
    Right,
    /// One place up.
    Up,
    /// One place down.
    Down,
}

/// What a change touches, for the permissions it needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Touches {
    /// Title, description, visibility or due date (`tasks.edit`).
    pub edit: bool,
    /// The assignee (`tasks.assign`).
    pub assign: bool,
    /// Column or position (`tasks.move`).
    pub moves: bool,
}

impl TaskChange {
    /// What this change touches.
    pub fn touches(&self) -> Touches {
        Touches {
            edit: self.title.is_some()
                || self.description.is_some()
                || self.visibility.is_some()
                || self.due_on.is_some(),
            assign: self.assignee_id.is_some(),
            moves: self.status.is_some() || self.position.is_some() || self.step.is_some(),
        }
    }
}

/// Whether `actor` may make a change touching `touches` to the task `task_id` (or, with
/// none, create a task, assigning it if `touches.assign`): not found out of reach,
/// forbidden without a permission, a conflict on an archived project. For answering in
/// that order before the input is read; the change itself checks again under the
/// project's lock.
#[tracing::instrument(skip_all)]
pub async fn check_may(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: Option<&str>,
    touches: Touches,
) -> Result<()> {
    let mut tx = store.read().await?;
    let project = projects::reachable(&mut tx, actor, project_id).await?;
    let scope = project.scope();
    match task_id {
        Some(task_id) => {
            find_task(&mut tx, actor, project_id, task_id).await?;
        }
        None => {
            access::permit::<need::TasksCreate>(actor, scope)?;
        }
    }
    if touches.edit {
        access::permit::<need::TasksEdit>(actor, scope)?;
    }
    if touches.assign {
        access::permit::<need::TasksAssign>(actor, scope)?;
    }
    if touches.moves {
        access::permit::<need::TasksMove>(actor, scope)?;
    }
    if task_id.is_none() || touches != Touches::default() {
        projects::refuse_archived(&project)?;
    }
    Ok(())
}

/// Changes a task; each field given needs its permission, all are checked before
/// anything is written. A change that changes nothing is not written or audited.
#[tracing::instrument(skip_all)]
pub async fn update_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
    change: &TaskChange,
) -> Result<Task> {
    let at = now();
    let mut tx = store.write().await?;
    // Scope first (the project, then the task), then every permission the change needs
    // (the first takes the project's lock), then the input.
    projects::reachable(&mut tx, actor, project_id).await?;
    let unlocked = find_task(&mut tx, actor, project_id, task_id).await?;
    let touches = change.touches();
    if touches == Touches::default() {
        return Ok(unlocked);
    }
    let project = projects::locked(&mut tx, actor, project_id).await?;
    let scope = project.scope();
    if touches.edit {
        access::permit::<need::TasksEdit>(actor, scope)?;
    }
    if touches.assign {
        access::permit::<need::TasksAssign>(actor, scope)?;
    }
    if touches.moves {
        access::permit::<need::TasksMove>(actor, scope)?;
    }
    projects::refuse_archived(&project)?;
    let before = find_task(&mut tx, actor, project_id, task_id).await?;
    let title = change.title.as_deref().map(parse_title).transpose()?;
    let description = change
        .description
        .as_deref()
        .map(|d| long_text("description", d))
        .transpose()?;
    if let Some(Some(assignee)) = &change.assignee_id {
        check_assignee(&mut tx, &project, assignee).await?;
    }
    if let Some(position) = change.position
        && position < 0
    {
        return Err(Error::field(
            "position",
            "a position is 0 (the top) or more",
        ));
    }
    // Where the task goes: a step from where it is now, or the column and place asked
    // for (a column alone keeps the place when it is the same column, else the bottom).
    let column_index = TaskStatus::ALL
        .iter()
        .position(|s| *s == before.status)
        .unwrap_or_default();
    let (status, place) = match change.step {
        Some(Step::Left | Step::Right) => {
            let next = if change.step == Some(Step::Left) {
                column_index.checked_sub(1)
            } else {
                Some(column_index + 1)
            };
            let status = next
                .and_then(|i| TaskStatus::ALL.get(i))
                .copied()
                .ok_or_else(|| Error::field("status", "there is no column that way"))?;
            (status, None)
        }
        Some(Step::Up) => (before.status, Some((before.position - 1).max(0))),
        Some(Step::Down) => (before.status, Some(before.position + 1)),
        None => {
            let status = change.status.unwrap_or(before.status);
            let place = change
                .position
                .or((status == before.status).then_some(before.position));
            (status, place)
        }
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set title = $2, description = $3, visibility = $4, due_on = $5, assignee_id = $6, status = $7, updated_at = $8
             where task_id = $1",
        )
        .bind(task_id)
        .bind(title.as_deref().unwrap_or(&before.title))
        .bind(description.as_deref().unwrap_or(&before.description))
        .bind(change.visibility.unwrap_or(before.visibility).as_str())
        .bind(change.due_on.unwrap_or(before.due_on).map(|d| d.to_string()))
        .bind(change.assignee_id.clone().unwrap_or_else(|| before.assignee_id.clone()))
        .bind(status.as_str())
        .bind(at)
        .execute(conn)
        .await?;
    });
    if touches.moves {
        // Close the place it leaves, open the one it takes.
        let others = column_size(&mut tx, project_id, status, task_id).await?;
        let place = place.map_or(others, |p| p.min(others));
        shift(
            &mut tx,
            project_id,
            before.status,
            before.position + 1,
            -1,
            task_id,
        )
        .await?;
        shift(&mut tx, project_id, status, place, 1, task_id).await?;
        on_tx!(tx, |conn| {
            sqlx::query("update tasks set position = $2 where task_id = $1")
                .bind(task_id)
                .bind(place)
                .execute(conn)
                .await?;
        });
    }
    let after = find_task(&mut tx, actor, project_id, task_id).await?;
    if after == before {
        // Nothing changed: nothing to keep.
        return Ok(before);
    }
    let action = match touches {
        Touches {
            moves: true,
            edit: false,
            assign: false,
        } => "task.move",
        Touches {
            assign: true,
            edit: false,
            moves: false,
        } => "task.assign",
        _ => "task.update",
    };
    audit::record(
        &mut tx,
        &Actor::from(actor),
        action,
        "task",
        task_id,
        Some(before.audit_state()),
        Some(after.audit_state()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a task (`tasks.delete`).
#[tracing::instrument(skip_all)]
pub async fn delete_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    projects::reachable(&mut tx, actor, project_id).await?;
    find_task(&mut tx, actor, project_id, task_id).await?;
    projects::for_change::<need::TasksDelete>(&mut tx, actor, project_id, false).await?;
    let task = find_task(&mut tx, actor, project_id, task_id).await?;
    on_tx!(tx, |conn| {
        sqlx::query("delete from tasks where task_id = $1")
            .bind(task_id)
            .execute(conn)
            .await?;
    });
    shift(
        &mut tx,
        project_id,
        task.status,
        task.position + 1,
        -1,
        task_id,
    )
    .await?;
    audit::record(
        &mut tx,
        &Actor::from(actor),
        "task.delete",
        "task",
        task_id,
        Some(task.audit_state()),
        None,
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_named() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()).ok(), Some(status));
        }
        assert!(
            TaskStatus::parse("doing")
                .unwrap_err()
                .to_string()
                .contains("doing")
        );
        for visibility in [Visibility::Internal, Visibility::Client] {
            assert_eq!(
                Visibility::parse(visibility.as_str()).ok(),
                Some(visibility)
            );
        }
        assert!(Visibility::parse("public").is_err());
    }

    #[test]
    fn dates_are_read_strictly() {
        let date = parse_date("due_on", "2027-01-31").unwrap();
        assert_eq!(date.to_string(), "2027-01-31");
        for bad in [
            "2027-02-30",
            "2027-1-31",
            "31.01.2027",
            "",
            "2027-01-31T00:00",
            "+027-01-31",
            "2027-+1-31",
        ] {
            assert!(parse_date("due_on", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn titles_are_checked() {
        assert_eq!(parse_title(" Logo ").ok().as_deref(), Some("Logo"));
        assert!(parse_title("").is_err());
        assert!(parse_title(&"x".repeat(301)).is_err());
    }
}

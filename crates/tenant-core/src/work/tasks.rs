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
use time::{Date, OffsetDateTime};

use crate::access::UserKind;
use crate::access::permissions::need;
use crate::access::{Actor, Principal};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::fields::{long_text, parse_date, single_line};
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};
use crate::talk::notifications::{self, Kind, Notice};
use crate::work::{self, InProject, Inside, Read};
use crate::work::{board, projects};

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
            "project": self.project_id,
            "title": self.title,
            "status": self.status.as_str(),
            "position": self.position,
            "visibility": self.visibility.as_str(),
            "assignee": self.assignee_id,
            "due_on": self.due_on.map(|d| d.to_string()),
        })
    }
}

/// A new task as it was typed (a form or a JSON body); it is read after the grant, so
/// the caller learns about reach and permission before anything about the input.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// What is to be done.
    pub title: String,
    /// More about it (may be empty).
    pub description: String,
    /// Its column's word (default `todo`); it goes to the bottom of it.
    pub status: Option<String>,
    /// `internal` (the default) or `client`.
    pub visibility: Option<String>,
    /// The user id of a staff member on the project (needs `tasks.assign`); empty is
    /// nobody.
    pub assignee: Option<String>,
    /// When it is due, `YYYY-MM-DD`; empty is no date.
    pub due_on: Option<String>,
}

/// A change to a task as it was typed; `None` keeps a field. Each part needs its
/// permission (see the module's documentation), asked before the input is read.
#[derive(Debug, Clone, Default)]
pub struct TaskChange {
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Another visibility's word.
    pub visibility: Option<String>,
    /// Another due date (`YYYY-MM-DD`); `Some(None)` or an empty text removes it.
    pub due_on: Option<Option<String>>,
    /// Another assignee's user id; `Some(None)` or an empty text is nobody.
    pub assignee: Option<Option<String>>,
    /// Another column's word.
    pub status: Option<String>,
    /// Another place in the column (0 is the top; past the end is the bottom).
    pub position: Option<i64>,
    /// One step from where the card is when the change runs (the board's arrows).
    pub step: Option<Step>,
}

/// Which permissions a change needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Touches {
    edit: bool,
    assign: bool,
    moves: bool,
}

impl TaskChange {
    fn touches(&self) -> Touches {
        Touches {
            edit: self.title.is_some()
                || self.description.is_some()
                || self.visibility.is_some()
                || self.due_on.is_some(),
            assign: self.assignee.is_some(),
            moves: self.status.is_some() || self.position.is_some() || self.step.is_some(),
        }
    }
}

/// An optional text field where empty means none.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn parse_due(text: Option<&str>) -> Result<Option<Date>> {
    given(text).map(|d| parse_date("due_on", d)).transpose()
}

fn parse_title(text: &str) -> Result<String> {
    single_line("title", "a task's title", text, 300)
}

const COLUMNS: &str = "tasks.task_id, tasks.project_id, tasks.title, tasks.description, tasks.status,
     tasks.position, tasks.visibility, tasks.assignee_id, users.name, tasks.due_on, tasks.created_at";

/// `COLUMNS` with the task's place in its column among the tasks the viewer sees (`$3`:
/// see `limited_to`) instead of its stored ordering key.
const PLACED_COLUMNS: &str = "tasks.task_id, tasks.project_id, tasks.title, tasks.description, tasks.status,
     (select count(*) from tasks other
      where other.project_id = tasks.project_id and other.status = tasks.status
        and ($3 = '' or other.visibility = $3)
        and (other.position < tasks.position or (other.position = tasks.position and other.task_id < tasks.task_id))) as position,
     tasks.visibility, tasks.assignee_id, users.name, tasks.due_on, tasks.created_at";

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

/// A client contact sees only client-visible tasks.
fn limited_to(actor: &Principal) -> &'static str {
    match actor.kind() {
        UserKind::Client => Visibility::Client.as_str(),
        UserKind::Staff => "",
    }
}

fn no_such_task() -> Error {
    Error::NotFound("there is no such task on this project".to_owned())
}

/// The task `task_id` of the project the caller is inside, as they may see it: not found
/// when it is on another project, or internal and the caller a client contact.
pub(crate) async fn find_task(tx: &mut Tx, inside: &impl Inside, task_id: &str) -> Result<Task> {
    let actor = inside.principal();
    let project_id = inside.project().id.as_str();
    // The stored key orders the column (see `board`); the place shown is the task's rank
    // among the tasks of its column the caller sees, so a contact's places do not give
    // away internal tasks.
    let row: Option<TaskRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {PLACED_COLUMNS} from {TASKS}
             where tasks.task_id = $1 and tasks.project_id = $2 and ($3 = '' or tasks.visibility = $3)"
        ))
        .bind(task_id)
        .bind(project_id)
        .bind(limited_to(actor))
        .fetch_optional(conn)
        .await?
    });
    let task = Task::try_from(row.ok_or_else(no_such_task)?)?;
    Ok(task)
}

/// The board: every task the caller sees, column by column, top to bottom.
#[tracing::instrument(skip_all)]
pub async fn list_tasks(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Vec<Task>> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
    board(&mut tx, &grant).await
}

/// Checks that `actor` may read the board of `project_id`, as [`list_tasks`] does first:
/// for callers that keep the board's answer ([`TenantStore::remembered`]), which depends
/// only on the project and on whether the caller is a client contact.
#[tracing::instrument(skip_all)]
pub async fn check_board_access(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<()> {
    let mut tx = store.read().await?;
    work::enter::<Read>(&mut tx, actor, project_id).await?;
    Ok(())
}

async fn board(tx: &mut Tx, grant: &InProject<'_, Read>) -> Result<Vec<Task>> {
    let actor = grant.principal();
    let rows: Vec<TaskRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {TASKS}
             where tasks.project_id = $1 and ($2 = '' or tasks.visibility = $2)
             order by tasks.position, tasks.task_id"
        ))
        .bind(grant.project_id())
        .bind(limited_to(actor))
        .fetch_all(conn)
        .await?
    });
    let mut tasks = rows
        .into_iter()
        .map(Task::try_from)
        .collect::<Result<Vec<_>>>()?;
    tasks.sort_by_key(|t| t.status);
    // Places among the tasks of each column the caller sees (see `find_task`).
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
    Ok(tasks)
}

/// One task.
#[tracing::instrument(skip_all)]
pub async fn get_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
) -> Result<Task> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
    find_task(&mut tx, &grant, task_id).await
}

/// The staff a task of the project can be assigned to: its members, directly or through a
/// team, who are not deactivated, by name. Client contacts are not shown who works on it.
#[tracing::instrument(skip_all)]
pub async fn assignable(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Vec<(String, String)>> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
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
        .bind(grant.project_id())
        .fetch_all(conn)
        .await?
    }))
}

/// Checks that `user_id` can take tasks of the project: an active or invited staff member
/// on it.
async fn check_assignee(
    tx: &mut Tx,
    grant: &InProject<'_, need::TasksAssign>,
    user_id: &str,
) -> Result<()> {
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
    if !projects::is_member(tx, grant.project_id(), user_id).await? {
        return Err(Error::field(
            "assignee",
            "only people on the project can be assigned: add them to it first",
        ));
    }
    Ok(())
}

/// Adds a task (`tasks.create`, and `tasks.assign` to give it an assignee) at the bottom of
/// its column.
#[tracing::instrument(skip_all)]
pub async fn create_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    new: &NewTask,
) -> Result<Task> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let grant = work::enter::<need::TasksCreate>(&mut tx, actor, project_id).await?;
    let assignee = given(new.assignee.as_deref());
    let assigning = assignee
        .map(|_| grant.also::<need::TasksAssign>())
        .transpose()?;
    let title = parse_title(&new.title)?;
    let description = long_text("description", &new.description)?;
    let status = new
        .status
        .as_deref()
        .map(TaskStatus::parse)
        .transpose()?
        .unwrap_or(TaskStatus::Todo);
    let visibility = given(new.visibility.as_deref())
        .map(Visibility::parse)
        .transpose()?
        .unwrap_or(Visibility::Internal);
    let due_on = parse_due(new.due_on.as_deref())?;
    if let (Some(grant), Some(assignee)) = (&assigning, assignee) {
        check_assignee(&mut tx, grant, assignee).await?;
    }
    let position = board::bottom(&mut tx, project_id, status.as_str(), "").await?;
    let id = new_id()?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into tasks (task_id, project_id, title, description, status, position, visibility, assignee_id, due_on, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(&id)
        .bind(grant.project_id())
        .bind(&title)
        .bind(&description)
        .bind(status.as_str())
        .bind(position)
        .bind(visibility.as_str())
        .bind(assignee)
        .bind(due_on.map(|d| d.to_string()))
        .bind(actor.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let task = find_task(&mut tx, &grant, &id).await?;
    audit::note(&grant.actor(), "task.create", Target::new("task", &id))
        .after(task.audit_state())
        .write(&mut tx)
        .await?;
    task_event("task.created", &task)
        .emit(&mut tx, &grant.actor())
        .await?;
    if let Some(assignee) = &task.assignee_id {
        let sentence = format!(
            "{} assigned you \u{201c}{}\u{201d} in {}.",
            actor.name(),
            task.title,
            grant.project().name
        );
        let notice = task_notice(Kind::Assigned, &task, sentence);
        notifications::notify(&mut tx, &grant.actor(), assignee, notice).await?;
    }
    tx.commit().await?;
    Ok(task)
}

/// Changes a task: the title, description, due date or visibility (`tasks.edit`), the
/// assignee (`tasks.assign`), the column or place (`tasks.move`), in one change. The
/// project and the task are found first (404), then each permission the change needs
/// (403), then an archived project is refused (409), then the input is read (422).
#[tracing::instrument(skip_all)]
pub async fn update_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
    change: &TaskChange,
) -> Result<Task> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let approach = work::approach(&mut tx, actor, project_id).await?;
    let before = find_task(&mut tx, &approach, task_id).await?;
    let touches = change.touches();
    if touches == Touches::default() {
        return Ok(before);
    }
    let editing = touches
        .edit
        .then(|| approach.permit::<need::TasksEdit>())
        .transpose()?;
    let assigning = touches
        .assign
        .then(|| approach.permit::<need::TasksAssign>())
        .transpose()?;
    let moving = touches
        .moves
        .then(|| approach.permit::<need::TasksMove>())
        .transpose()?;
    if let Some(grant) = &editing {
        let fields = Fields::read(change, &before)?;
        write_fields(&mut tx, grant, task_id, &fields, at).await?;
    }
    if let Some(grant) = &assigning {
        let assignee = change.assignee.as_ref().and_then(|a| given(a.as_deref()));
        if let Some(assignee) = assignee {
            check_assignee(&mut tx, grant, assignee).await?;
        }
        write_assignee(&mut tx, grant, task_id, assignee, at).await?;
    }
    if let Some(grant) = &moving {
        let (status, place) = destination(change, &before)?;
        write_place(&mut tx, grant, &before, status, place, at).await?;
    }
    let after = find_task(&mut tx, &approach, task_id).await?;
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
    audit::note(&Actor::from(actor), action, Target::new("task", task_id))
        .before(before.audit_state())
        .after(after.audit_state())
        .write(&mut tx)
        .await?;
    let kind = if action == "task.move" {
        "task.moved"
    } else {
        "task.changed"
    };
    let mut changed = task_event(kind, &after);
    if before.status != after.status {
        changed = changed.also(json!({"from_status": before.status.as_str()}));
    }
    changed
        .emit_change(
            &mut tx,
            &Actor::from(actor),
            before.visibility,
            "task.removed",
            json!({"title": before.title, "hidden": true}),
        )
        .await?;
    tell_assignee(&mut tx, actor, &approach, &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// The edited fields of a change, read, with the task's own where the change keeps them.
struct Fields {
    title: String,
    description: String,
    visibility: Visibility,
    due_on: Option<Date>,
}

impl Fields {
    fn read(change: &TaskChange, before: &Task) -> Result<Fields> {
        Ok(Fields {
            title: change
                .title
                .as_deref()
                .map(parse_title)
                .transpose()?
                .unwrap_or_else(|| before.title.clone()),
            description: change
                .description
                .as_deref()
                .map(|d| long_text("description", d))
                .transpose()?
                .unwrap_or_else(|| before.description.clone()),
            visibility: change
                .visibility
                .as_deref()
                .map(Visibility::parse)
                .transpose()?
                .unwrap_or(before.visibility),
            due_on: match &change.due_on {
                Some(due) => parse_due(due.as_deref())?,
                None => before.due_on,
            },
        })
    }
}

async fn write_fields(
    tx: &mut Tx,
    _grant: &InProject<'_, need::TasksEdit>,
    task_id: &str,
    fields: &Fields,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "update tasks set title = $2, description = $3, visibility = $4, due_on = $5, updated_at = $6
             where task_id = $1",
        )
        .bind(task_id)
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(fields.visibility.as_str())
        .bind(fields.due_on.map(|d| d.to_string()))
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

async fn write_assignee(
    tx: &mut Tx,
    _grant: &InProject<'_, need::TasksAssign>,
    task_id: &str,
    assignee: Option<&str>,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("update tasks set assignee_id = $2, updated_at = $3 where task_id = $1")
            .bind(task_id)
            .bind(assignee)
            .bind(at)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Where a moved task goes: a step from where it is now, or the column and place asked
/// for (a column alone keeps the place when it is the same column, else the bottom).
fn destination(change: &TaskChange, before: &Task) -> Result<(TaskStatus, Option<i64>)> {
    if let Some(position) = change.position
        && position < 0
    {
        return Err(Error::field(
            "position",
            "a position is 0 (the top) or more",
        ));
    }
    let column_index = TaskStatus::ALL
        .iter()
        .position(|s| *s == before.status)
        .unwrap_or_default();
    Ok(match change.step {
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
            let status = change
                .status
                .as_deref()
                .map(TaskStatus::parse)
                .transpose()?
                .unwrap_or(before.status);
            let place = change
                .position
                .or((status == before.status).then_some(before.position));
            (status, place)
        }
    })
}

/// Puts the task at `place` of column `status` among the tasks the mover sees (the bottom
/// when `None` or past it); only the task itself is written (see `board`).
async fn write_place(
    tx: &mut Tx,
    grant: &InProject<'_, need::TasksMove>,
    before: &Task,
    status: TaskStatus,
    place: Option<i64>,
    at: OffsetDateTime,
) -> Result<()> {
    board::place(
        tx,
        grant.project_id(),
        &before.id,
        (status.as_str(), place),
        limited_to(grant.principal()),
        at,
    )
    .await
    .map(|_| ())
}

/// Removes a task (`tasks.delete`).
#[tracing::instrument(skip_all)]
pub async fn delete_task(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    task_id: &str,
) -> Result<()> {
    let mut tx = store.write_uncached().await?;
    let approach = work::approach(&mut tx, actor, project_id).await?;
    let task = find_task(&mut tx, &approach, task_id).await?;
    let grant = approach.permit::<need::TasksDelete>()?;
    on_tx!(tx, |conn| {
        // Its comments go with it (the database's cascade), and so do their attachments.
        sqlx::query(
            "delete from attachments where item_id in (select comment_id from comments where task_id = $1)",
        )
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("delete from tasks where task_id = $1")
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
    });
    audit::note(&grant.actor(), "task.delete", Target::new("task", task_id))
        .before(task.audit_state())
        .write(&mut tx)
        .await?;
    events::event("task.removed", Some(&task.project_id), Some(&task.id))
        .visible(task.visibility)
        .data(json!({"title": task.title}))
        .emit(&mut tx, &grant.actor())
        .await?;
    tx.commit().await
}

/// The notification of `kind` about `task`, linking to it.
fn task_notice(kind: Kind, task: &Task, sentence: String) -> Notice<'_> {
    Notice {
        kind,
        project_id: Some(&task.project_id),
        subject_id: &task.id,
        sentence,
        link: format!("/projects/{}/tasks/{}", task.project_id, task.id),
        once: None,
    }
}

/// Tells the task's assignee of a change by someone else: that it is theirs now, or how
/// a task of theirs moved or changed.
async fn tell_assignee(
    tx: &mut Tx,
    actor: &Principal,
    inside: &impl Inside,
    before: &Task,
    after: &Task,
) -> Result<()> {
    let Some(assignee) = &after.assignee_id else {
        return Ok(());
    };
    let project = &inside.project().name;
    let (kind, sentence) = if after.assignee_id != before.assignee_id {
        (
            Kind::Assigned,
            format!(
                "{} assigned you \u{201c}{}\u{201d} in {project}.",
                actor.name(),
                after.title
            ),
        )
    } else if after.status != before.status {
        (
            Kind::TaskChanged,
            format!(
                "{} moved \u{201c}{}\u{201d} to {} in {project}.",
                actor.name(),
                after.title,
                after.status.label()
            ),
        )
    } else if after.position != before.position {
        // A new place in the same column is not worth telling.
        return Ok(());
    } else {
        (
            Kind::TaskChanged,
            format!(
                "{} changed \u{201c}{}\u{201d} in {project}.",
                actor.name(),
                after.title
            ),
        )
    };
    let notice = task_notice(kind, after, sentence);
    notifications::notify(tx, &Actor::from(actor), assignee, notice).await?;
    Ok(())
}

/// The event of a change to `task`, as everyone who sees the task may see it (the
/// assignee only for staff, as the API shows it).
fn task_event<'a>(kind: &'a str, task: &'a Task) -> events::NewEvent<'a> {
    events::event(kind, Some(&task.project_id), Some(&task.id))
        .visible(task.visibility)
        .data(json!({
            "title": task.title,
            "status": task.status.as_str(),
            "due_on": task.due_on.map(|d| d.to_string()),
        }))
        .staff_data(json!({
            "assignee": task.assignee_id,
            "assignee_name": task.assignee_name,
        }))
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "tasks",
    &[
        ("task_id", Column::Text),
        ("project_id", Column::Text),
        ("title", Column::Text),
        ("description", Column::Text),
        ("status", Column::Text),
        ("position", Column::Integer),
        ("visibility", Column::Text),
        ("assignee_id", Column::OptionalText),
        ("due_on", Column::OptionalText),
        ("created_by", Column::OptionalText),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

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

//! The tenant's audit log: every change to users, roles, permissions, teams, clients,
//! branding and settings, written in the same transaction as the change itself (so a change
//! without its entry cannot be committed), with who, what, before/after, when and from where.

use serde_json::Value;
use time::OffsetDateTime;

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::error::{Error, Result};
use crate::paging::Page;
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};

/// What an entry is about: a kind of thing (`user`, `task`, `settings`, …) and which one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    kind: &'a str,
    id: &'a str,
}

impl<'a> Target<'a> {
    pub(crate) fn new(kind: &'a str, id: &'a str) -> Self {
        Target { kind, id }
    }
}

/// An entry being made: who did what to what, with the states before and after where
/// there are any. Written with [`Note::write`] inside the transaction that makes the
/// change, so a change without its entry cannot be committed.
#[derive(Debug)]
#[must_use = "an audit note is kept only once written"]
pub(crate) struct Note<'a> {
    actor: &'a Actor,
    action: &'a str,
    target: Target<'a>,
    before: Option<Value>,
    after: Option<Value>,
}

/// The one way to audit: `audit::note(actor, "task.update", target).before(..).after(..)
/// .write(tx)`.
pub(crate) fn note<'a>(actor: &'a Actor, action: &'a str, target: Target<'a>) -> Note<'a> {
    Note {
        actor,
        action,
        target,
        before: None,
        after: None,
    }
}

impl Note<'_> {
    /// The state before the change.
    pub(crate) fn before(self, state: Value) -> Self {
        self.before_maybe(Some(state))
    }

    /// The state before the change, if it had one.
    pub(crate) fn before_maybe(mut self, state: Option<Value>) -> Self {
        self.before = state;
        self
    }

    /// The state after the change.
    pub(crate) fn after(self, state: Value) -> Self {
        self.after_maybe(Some(state))
    }

    /// The state after the change, if it has one.
    pub(crate) fn after_maybe(mut self, state: Option<Value>) -> Self {
        self.after = state;
        self
    }

    /// Writes the entry in the change's transaction.
    pub(crate) async fn write(self, tx: &mut Tx) -> Result<()> {
        let at = now();
        let before = self.before.map(|v| v.to_string());
        let after = self.after.map(|v| v.to_string());
        let (actor, action, target) = (self.actor, self.action, self.target);
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into audit_log (audit_id, actor_id, actor_name, action, target_type, target_id, before_state, after_state, client_address, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
            )
            .bind(new_id()?)
            .bind(&actor.user_id)
            .bind(&actor.name)
            .bind(action)
            .bind(target.kind)
            .bind(target.id)
            .bind(&before)
            .bind(&after)
            .bind(&actor.address)
            .bind(at)
            .execute(conn)
            .await?;
        });
        Ok(())
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its id (sorts by time).
    pub id: String,
    /// The acting user; `None` for the operator.
    pub actor_id: Option<String>,
    /// The actor's name at the time.
    pub actor_name: String,
    /// What was done, e.g. `user.deactivate`.
    pub action: String,
    /// What kind of thing it was done to.
    pub target_type: String,
    /// Which one.
    pub target_id: String,
    /// The state before, where there was one.
    pub before: Option<Value>,
    /// The state after, where there is one.
    pub after: Option<Value>,
    /// Where the request came from.
    pub client_address: String,
    /// When.
    pub at: OffsetDateTime,
    /// The target's name now, or as the entry recorded it when it is gone.
    pub target_name: Option<String>,
    /// For a task, the project it is (or was) on.
    pub target_project: Option<String>,
    /// Whom the change concerned besides the target (a member added to a team, the user or
    /// team a project was shared with, a task's new assignee), with their name.
    pub subject: Option<Subject>,
}

/// Someone or something an entry names besides its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `user` or `team`.
    pub kind: &'static str,
    /// Its id.
    pub id: String,
    /// Its name now, if it still exists.
    pub name: Option<String>,
}

/// The current name of the thing of `kind` with `id`, if it exists.
async fn name_of(tx: &mut Tx, kind: &str, id: &str) -> Result<Option<(String, Option<String>)>> {
    let sql = match kind {
        "user" => "select name, null from users where user_id = $1",
        "team" => "select name, null from teams where team_id = $1",
        "role" => "select name, null from roles where role_id = $1",
        "client" => "select name, null from companies where company_id = $1",
        "project" => "select name, null from projects where project_id = $1",
        "task" => "select title, project_id from tasks where task_id = $1",
        _ => return Ok(None),
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as::<_, (String, Option<String>)>(sql)
            .bind(id)
            .fetch_optional(conn)
            .await?
    }))
}

/// The name an entry's own states recorded (for things since removed).
fn recorded_name(entry: &Entry) -> Option<String> {
    [&entry.after, &entry.before]
        .into_iter()
        .flatten()
        .find_map(|state| {
            state
                .get("name")
                .or_else(|| state.get("title"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// Fills in the names an entry shows: its target's, and its subject's.
async fn resolve_names(tx: &mut Tx, entry: &mut Entry) -> Result<()> {
    if let Some((name, project)) = name_of(tx, &entry.target_type, &entry.target_id).await? {
        entry.target_name = Some(name);
        entry.target_project = project;
    } else {
        entry.target_name = recorded_name(entry);
        entry.target_project = [&entry.before, &entry.after]
            .into_iter()
            .flatten()
            .find_map(|state| state.get("project").and_then(Value::as_str))
            .map(str::to_owned);
    }
    let subject = [&entry.after, &entry.before]
        .into_iter()
        .flatten()
        .find_map(|state| {
            let field = |key: &'static str, kind: &'static str| {
                state
                    .get(key)
                    .and_then(Value::as_str)
                    .map(|id| (kind, id.to_owned()))
            };
            match entry.target_type.as_str() {
                "team" | "project" => field("user", "user").or_else(|| field("team", "team")),
                "task" if entry.action == "task.assign" => field("assignee", "user"),
                _ => None,
            }
        });
    if let Some((kind, id)) = subject {
        let name = name_of(tx, kind, &id).await?.map(|(name, _)| name);
        entry.subject = Some(Subject { kind, id, name });
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    audit_id: String,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    target_type: String,
    target_id: String,
    before_state: Option<String>,
    after_state: Option<String>,
    client_address: String,
    created_at: OffsetDateTime,
}

fn parse_state(text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| Error::Invalid(format!("an audit entry holds bad JSON: {e}")))
    })
    .transpose()
}

/// What to show of the log.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this actor's entries.
    pub actor_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries before this time.
    pub until: Option<OffsetDateTime>,
}

/// A page of the log, newest first, continuing before `cursor`.
#[tracing::instrument(skip_all)]
pub async fn list_audit(
    store: &TenantStore,
    _permit: &Permitted<'_, need::AuditView>,
    filter: &Filter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Entry>> {
    let limit = limit.clamp(1, 200);
    let mut tx = store.read().await?;
    let rows: Vec<EntryRow> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select audit_id, actor_id, actor_name, action, target_type, target_id, before_state, after_state, client_address, created_at
             from audit_log
             where ($1 = '' or audit_id < $1)
               and ($2 = '' or actor_id = $2)
               and ($3 = '' or action = $3)
               and ($4 is null or created_at >= $4)
               and ($5 is null or created_at < $5)
             order by audit_id desc limit $6",
        )
        .bind(cursor.unwrap_or(""))
        .bind(filter.actor_id.as_deref().unwrap_or(""))
        .bind(filter.action.as_deref().unwrap_or(""))
        .bind(filter.since)
        .bind(filter.until)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items = rows
        .into_iter()
        .map(|row| {
            Ok(Entry {
                id: row.audit_id,
                actor_id: row.actor_id,
                actor_name: row.actor_name,
                action: row.action,
                target_type: row.target_type,
                target_id: row.target_id,
                before: parse_state(row.before_state)?,
                after: parse_state(row.after_state)?,
                client_address: row.client_address,
                at: row.created_at,
                target_name: None,
                target_project: None,
                subject: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for entry in &mut items {
        resolve_names(&mut tx, entry).await?;
    }
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "audit_log",
    &[
        ("audit_id", Column::Text),
        ("actor_id", Column::OptionalText),
        ("actor_name", Column::Text),
        ("action", Column::Text),
        ("target_type", Column::Text),
        ("target_id", Column::Text),
        ("before_state", Column::OptionalText),
        ("after_state", Column::OptionalText),
        ("client_address", Column::Text),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

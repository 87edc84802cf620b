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
use crate::store::{Tx, new_id, now, on_tx};

/// Writes one entry inside the transaction that makes the change.
pub(crate) async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    let at = now();
    let before = before.map(|v| v.to_string());
    let after = after.map(|v| v.to_string());
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into audit_log (audit_id, actor_id, actor_name, action, target_type, target_id, before_state, after_state, client_address, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(new_id()?)
        .bind(&actor.user_id)
        .bind(&actor.name)
        .bind(action)
        .bind(target_type)
        .bind(target_id)
        .bind(&before)
        .bind(&after)
        .bind(&actor.address)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
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
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

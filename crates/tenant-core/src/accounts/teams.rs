//! Teams: named groups of staff, used to give several people access at once (a project
//! shared with a team reaches all its members). Any staff member may see the teams;
//! `teams.manage` changes them. Removing a team takes it off its projects.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::UserKind;
use crate::access::permissions::need;
use crate::access::{Actor, Permitted, Principal};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Its id.
    pub id: String,
    /// Its name, unique in the brand.
    pub name: String,
    /// Its members' user ids.
    pub members: Vec<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

fn no_such_team() -> Error {
    Error::NotFound("there is no such team".to_owned())
}

fn staff_only(actor: &Principal) -> Result<()> {
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users cannot see the brand's teams".to_owned(),
        ));
    }
    Ok(())
}

async fn members_of(tx: &mut Tx, team_id: &str) -> Result<Vec<String>> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("select user_id from team_members where team_id = $1 order by user_id")
            .bind(team_id)
            .fetch_all(conn)
            .await?
    }))
}

async fn find_team(tx: &mut Tx, team_id: &str) -> Result<Team> {
    let row: Option<(String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
        sqlx::query_as("select team_id, name, created_at from teams where team_id = $1")
            .bind(team_id)
            .fetch_optional(conn)
            .await?
    });
    let (id, name, created_at) = row.ok_or_else(no_such_team)?;
    let members = members_of(tx, &id).await?;
    Ok(Team {
        id,
        name,
        members,
        created_at,
    })
}

/// Every team with its members (staff only).
#[tracing::instrument(skip_all)]
pub async fn list_teams(store: &TenantStore, actor: &Principal) -> Result<Vec<Team>> {
    staff_only(actor)?;
    let mut tx = store.read().await?;
    let rows: Vec<(String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
        sqlx::query_as("select team_id, name, created_at from teams order by name")
            .fetch_all(conn)
            .await?
    });
    let mut teams = Vec::with_capacity(rows.len());
    for (id, name, created_at) in rows {
        let members = members_of(&mut tx, &id).await?;
        teams.push(Team {
            id,
            name,
            members,
            created_at,
        });
    }
    Ok(teams)
}

/// One team (staff only).
#[tracing::instrument(skip_all)]
pub async fn get_team(store: &TenantStore, actor: &Principal, team_id: &str) -> Result<Team> {
    staff_only(actor)?;
    let mut tx = store.read().await?;
    find_team(&mut tx, team_id).await
}

fn parse_team_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a team's name must be 1 to 100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn map_unique(error: sqlx::Error, name: &str) -> Error {
    let error = Error::from(error);
    if error.is_unique_violation("teams", "name") {
        Error::Conflict(format!("a team named '{name}' exists already"))
    } else {
        error
    }
}

/// Makes a team.
#[tracing::instrument(skip_all)]
pub async fn create_team(
    store: &TenantStore,
    permit: &Permitted<'_, need::TeamsManage>,
    name: &str,
) -> Result<Team> {
    let team = Team {
        id: new_id()?,
        name: parse_team_name(name)?,
        members: Vec::new(),
        created_at: now(),
    };
    let mut tx = store.write().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into teams (team_id, name, created_at, updated_at) values ($1, $2, $3, $3)",
        )
        .bind(&team.id)
        .bind(&team.name)
        .bind(team.created_at)
        .execute(conn)
        .await
        .map_err(|e| map_unique(e, &team.name))?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "team.create",
        Target::new("team", &team.id),
    )
    .after(json!({"name": team.name}))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(team)
}

/// Renames a team.
#[tracing::instrument(skip_all)]
pub async fn rename_team(
    store: &TenantStore,
    permit: &Permitted<'_, need::TeamsManage>,
    team_id: &str,
    name: &str,
) -> Result<Team> {
    let name = parse_team_name(name)?;
    let mut tx = store.write().await?;
    let before = find_team(&mut tx, team_id).await?;
    on_tx!(tx, |conn| {
        sqlx::query("update teams set name = $2, updated_at = $3 where team_id = $1")
            .bind(team_id)
            .bind(&name)
            .bind(now())
            .execute(conn)
            .await
            .map_err(|e| map_unique(e, &name))?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "team.update",
        Target::new("team", team_id),
    )
    .before(json!({"name": before.name}))
    .after(json!({"name": name}))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(Team { name, ..before })
}

/// Removes a team (its members stay users; only the grouping goes).
#[tracing::instrument(skip_all)]
pub async fn delete_team(
    store: &TenantStore,
    permit: &Permitted<'_, need::TeamsManage>,
    team_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    let team = find_team(&mut tx, team_id).await?;
    on_tx!(tx, |conn| {
        sqlx::query("delete from team_members where team_id = $1")
            .bind(team_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("delete from project_teams where team_id = $1")
            .bind(team_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("delete from teams where team_id = $1")
            .bind(team_id)
            .execute(&mut *conn)
            .await?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "team.delete",
        Target::new("team", team_id),
    )
    .before(json!({"name": team.name, "members": team.members}))
    .write(&mut tx)
    .await?;
    tx.commit().await
}

/// Adds a staff user to a team (adding a member twice changes nothing).
#[tracing::instrument(skip_all)]
pub async fn add_member(
    store: &TenantStore,
    permit: &Permitted<'_, need::TeamsManage>,
    team_id: &str,
    user_id: &str,
) -> Result<Team> {
    let at = now();
    let mut tx = store.write().await?;
    let team = find_team(&mut tx, team_id).await?;
    let kind: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select kind from users where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    match kind.as_deref() {
        None => {
            return Err(Error::field(
                "user",
                format!("there is no user '{user_id}'"),
            ));
        }
        Some("staff") => {}
        Some(_) => return Err(Error::field("user", "only staff can be team members")),
    }
    if team.members.iter().any(|m| m == user_id) {
        return Ok(team);
    }
    on_tx!(tx, |conn| {
        sqlx::query("insert into team_members (team_id, user_id, created_at, updated_at) values ($1, $2, $3, $3)")
            .bind(team_id)
            .bind(user_id)
            .bind(at)
            .execute(conn)
            .await?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "team.member_add",
        Target::new("team", team_id),
    )
    .after(json!({"user": user_id}))
    .write(&mut tx)
    .await?;
    let team = find_team(&mut tx, team_id).await?;
    tx.commit().await?;
    Ok(team)
}

/// Takes a user out of a team.
#[tracing::instrument(skip_all)]
pub async fn remove_member(
    store: &TenantStore,
    permit: &Permitted<'_, need::TeamsManage>,
    team_id: &str,
    user_id: &str,
) -> Result<Team> {
    let mut tx = store.write().await?;
    find_team(&mut tx, team_id).await?;
    let removed = on_tx!(tx, |conn| {
        sqlx::query("delete from team_members where team_id = $1 and user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected()
    });
    if removed == 0 {
        return Err(Error::NotFound("that user is not in this team".to_owned()));
    }
    audit::note(
        &Actor::from(permit.principal()),
        "team.member_remove",
        Target::new("team", team_id),
    )
    .before(json!({"user": user_id}))
    .write(&mut tx)
    .await?;
    let team = find_team(&mut tx, team_id).await?;
    tx.commit().await?;
    Ok(team)
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[
    (
        "teams",
        &[
            ("team_id", Column::Text),
            ("name", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "team_members",
        &[
            ("team_id", Column::Text),
            ("user_id", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

//! Who a project is shared with: staff members added directly, and teams, whose members
//! all reach it (`projects.edit` to change; whoever reaches the project sees it).

use serde_json::json;

use crate::access::permissions::need;
use crate::access::{Principal, UserKind};
use crate::accounts::users::UserStatus;
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::store::TenantStore;
use crate::store::{Tx, now, on_tx};
use crate::talk::notifications::{self, Kind, Notice};
use crate::work::projects::{Project, find_any, reachable};
use crate::work::{self, Read};

/// Who or what a project is shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing<'a> {
    /// A staff member, directly.
    User(&'a str),
    /// Every member of a team.
    Team(&'a str),
}

impl Sharing<'_> {
    fn audit(self) -> serde_json::Value {
        match self {
            Sharing::User(id) => json!({"user": id}),
            Sharing::Team(id) => json!({"team": id}),
        }
    }

    /// The event of sharing (`added`) or no longer sharing the project, with the member's
    /// or team's name (staff only: client contacts are not shown the agency's side).
    async fn emit(
        self,
        tx: &mut Tx,
        grant: &work::InProject<'_, need::ProjectsEdit>,
        added: bool,
    ) -> Result<()> {
        let (kind, sql, id) = match (self, added) {
            (Sharing::User(id), true) => (
                "project.member_added",
                "select name from users where user_id = $1",
                id,
            ),
            (Sharing::User(id), false) => (
                "project.member_removed",
                "select name from users where user_id = $1",
                id,
            ),
            (Sharing::Team(id), true) => (
                "project.team_added",
                "select name from teams where team_id = $1",
                id,
            ),
            (Sharing::Team(id), false) => (
                "project.team_removed",
                "select name from teams where team_id = $1",
                id,
            ),
        };
        let name: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar(sql)
                .bind(id)
                .fetch_optional(conn)
                .await?
        });
        events::event(kind, Some(grant.project_id()), Some(id))
            .data(json!({"name": name}))
            .emit(tx, &grant.actor())
            .await
            .map(|_| ())
    }
}

async fn check_sharing(tx: &mut Tx, with: Sharing<'_>) -> Result<()> {
    match with {
        Sharing::User(user_id) => {
            let found: Option<(String, String)> = on_tx!(tx, |conn| {
                sqlx::query_as("select kind, status from users where user_id = $1")
                    .bind(user_id)
                    .fetch_optional(conn)
                    .await?
            });
            match found {
                None => Err(Error::field(
                    "user",
                    format!("there is no user '{user_id}'"),
                )),
                Some((kind, _)) if kind != UserKind::Staff.as_str() => Err(Error::field(
                    "user",
                    "client contacts see their company's projects already; only staff are added to a project",
                )),
                Some((_, status)) if status == UserStatus::Deactivated.as_str() => Err(
                    Error::field("user", "this user is deactivated; reactivate them first"),
                ),
                Some(_) => Ok(()),
            }
        }
        Sharing::Team(team_id) => {
            let found: Option<String> = on_tx!(tx, |conn| {
                sqlx::query_scalar("select team_id from teams where team_id = $1")
                    .bind(team_id)
                    .fetch_optional(conn)
                    .await?
            });
            found
                .map(|_| ())
                .ok_or_else(|| Error::field("team", format!("there is no team '{team_id}'")))
        }
    }
}

/// Shares a project with a staff member or a team (`projects.edit`); sharing twice changes
/// nothing.
#[tracing::instrument(skip_all)]
pub async fn share(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    with: Sharing<'_>,
) -> Result<Project> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let grant = work::enter::<need::ProjectsEdit>(&mut tx, actor, project_id).await?;
    let project = grant.project().clone();
    if let Sharing::User(_) = with {
        // Not someone being deactivated or deleted at this moment.
        tx.serialize("users").await?;
    }
    check_sharing(&mut tx, with).await?;
    let already = match with {
        Sharing::User(id) => project.members.iter().any(|m| m == id),
        Sharing::Team(id) => project.teams.iter().any(|t| t == id),
    };
    if already {
        return Ok(project);
    }
    let sql = match with {
        Sharing::User(_) => {
            "insert into project_members (project_id, user_id, created_at, updated_at) values ($1, $2, $3, $3)"
        }
        Sharing::Team(_) => {
            "insert into project_teams (project_id, team_id, created_at, updated_at) values ($1, $2, $3, $3)"
        }
    };
    let (Sharing::User(id) | Sharing::Team(id)) = with;
    on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(project_id)
            .bind(id)
            .bind(at)
            .execute(conn)
            .await?;
    });
    audit::note(
        &grant.actor(),
        "project.share",
        Target::new("project", project_id),
    )
    .after(with.audit())
    .write(&mut tx)
    .await?;
    with.emit(&mut tx, &grant, true).await?;
    tell_added(&mut tx, &grant, with).await?;
    let project = reachable(&mut tx, actor, project_id).await?;
    tx.commit().await?;
    Ok(project)
}

/// Tells whoever was added (a staff member, or each member of a team) that they are on the
/// project now.
async fn tell_added(
    tx: &mut Tx,
    grant: &work::InProject<'_, need::ProjectsEdit>,
    with: Sharing<'_>,
) -> Result<()> {
    let project = grant.project();
    let actor = grant.principal().name();
    let (people, sentence): (Vec<String>, String) = match with {
        Sharing::User(id) => (
            vec![id.to_owned()],
            format!("{actor} added you to the project {}.", project.name),
        ),
        Sharing::Team(id) => {
            let members: Vec<String> = on_tx!(tx, |conn| {
                sqlx::query_scalar(
                    "select user_id from team_members where team_id = $1 order by user_id",
                )
                .bind(id)
                .fetch_all(conn)
                .await?
            });
            let team: Option<String> = on_tx!(tx, |conn| {
                sqlx::query_scalar("select name from teams where team_id = $1")
                    .bind(id)
                    .fetch_optional(conn)
                    .await?
            });
            (
                members,
                format!(
                    "{actor} added your team {} to the project {}.",
                    team.unwrap_or_default(),
                    project.name
                ),
            )
        }
    };
    for person in &people {
        let notice = Notice {
            kind: Kind::AddedToProject,
            project_id: Some(&project.id),
            subject_id: &project.id,
            sentence: sentence.clone(),
            link: format!("/projects/{}", project.id),
            once: None,
        };
        notifications::notify(tx, &grant.actor(), person, notice).await?;
    }
    Ok(())
}

/// Stops sharing a project with a staff member or a team (`projects.edit`). Taking the last
/// way in from someone without `projects.view_all` leaves the project out of their reach.
#[tracing::instrument(skip_all)]
pub async fn unshare(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    with: Sharing<'_>,
) -> Result<Project> {
    let mut tx = store.write_uncached().await?;
    let grant = work::enter::<need::ProjectsEdit>(&mut tx, actor, project_id).await?;
    let (sql, missing) = match with {
        Sharing::User(_) => (
            "delete from project_members where project_id = $1 and user_id = $2",
            "that user is not a member of this project",
        ),
        Sharing::Team(_) => (
            "delete from project_teams where project_id = $1 and team_id = $2",
            "that team is not on this project",
        ),
    };
    let (Sharing::User(id) | Sharing::Team(id)) = with;
    let removed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(project_id)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
    });
    if removed == 0 {
        return Err(Error::NotFound(missing.to_owned()));
    }
    audit::note(
        &grant.actor(),
        "project.unshare",
        Target::new("project", project_id),
    )
    .before(with.audit())
    .write(&mut tx)
    .await?;
    with.emit(&mut tx, &grant, false).await?;
    // The actor may just have removed their own way in.
    let project = match reachable(&mut tx, actor, project_id).await {
        Ok(project) => project,
        Err(Error::NotFound(_)) => {
            let mut project = find_any(&mut tx, project_id).await?;
            project.members.clear();
            project.teams.clear();
            project
        }
        Err(other) => return Err(other),
    };
    tx.commit().await?;
    Ok(project)
}

/// A member or team of a project, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// The user's or team's id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// A user's e-mail address (`None` for a team).
    pub email: Option<String>,
    /// A user's status word (`None` for a team).
    pub status: Option<&'static str>,
}

/// Who a project is shared with, by name: its direct members and its teams (for staff who
/// reach it; client contacts are not shown the agency's side).
#[tracing::instrument(skip_all)]
pub async fn shared_with(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<(Vec<Shared>, Vec<Shared>)> {
    let mut tx = store.read().await?;
    work::enter::<Read>(&mut tx, actor, project_id).await?;
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users are not shown who works on a project".to_owned(),
        ));
    }
    let members: Vec<(String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select u.user_id, u.name, u.email, u.status from project_members m
             join users u on u.user_id = m.user_id
             where m.project_id = $1 order by u.name, u.user_id",
        )
        .bind(project_id)
        .fetch_all(conn)
        .await?
    });
    let teams: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select t.team_id, t.name from project_teams pt join teams t on t.team_id = pt.team_id
             where pt.project_id = $1 order by t.name, t.team_id",
        )
        .bind(project_id)
        .fetch_all(conn)
        .await?
    });
    let members = members
        .into_iter()
        .map(|(id, name, email, status)| {
            Ok(Shared {
                id,
                name,
                email: Some(email),
                status: Some(UserStatus::parse(&status)?.as_str()),
            })
        })
        .collect::<Result<_>>()?;
    let teams = teams
        .into_iter()
        .map(|(id, name)| Shared {
            id,
            name,
            email: None,
            status: None,
        })
        .collect();
    Ok((members, teams))
}

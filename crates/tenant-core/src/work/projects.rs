//! Projects: a piece of work for a client company, or internal work. Staff reach the
//! projects they are members of, directly or through a team, unless their role has
//! `projects.view_all`; a client contact reaches their own company's projects and nothing
//! else (PRODUCT.md, "Roles and permissions"). A project out of someone's reach does not
//! exist for them (404); one in reach that their role may not change is 403.
//!
//! Archiving keeps everything and makes a project read-only until it is unarchived.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::UserKind;
use crate::access::permissions::{Permission, need};
use crate::access::{Actor, Permitted, Principal, Scope};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::fields::{long_text, single_line};
use crate::paging::{Page, Search};
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};
use crate::work::tasks::Visibility;
use crate::work::{self, Read};

/// Whether a project is being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    /// Open for work.
    Active,
    /// Finished or set aside: everything is kept and can be read, nothing changed.
    Archived,
}

impl ProjectStatus {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Active => "active",
            ProjectStatus::Archived => "archived",
        }
    }

    /// Reads the word; anything else is an error naming it.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "active" => Ok(ProjectStatus::Active),
            "archived" => Ok(ProjectStatus::Archived),
            other => Err(Error::Invalid(format!(
                "'{other}' is not a project status (active or archived)"
            ))),
        }
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is about (may be empty).
    pub description: String,
    /// The client company it is for; `None` for internal work.
    pub company_id: Option<String>,
    /// That company's name.
    pub company_name: Option<String>,
    /// Active or archived.
    pub status: ProjectStatus,
    /// When it was archived, while it is.
    pub archived_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// Staff added directly (user ids).
    pub members: Vec<String>,
    /// Teams it is shared with (team ids).
    pub teams: Vec<String>,
}

impl Project {
    fn audit_state(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "description": self.description,
            "company": self.company_id,
            "status": self.status.as_str(),
        })
    }

    pub(crate) fn scope(&self) -> Scope<'_> {
        self.company_id
            .as_deref()
            .map_or(Scope::Brand, Scope::Company)
    }
}

/// A project in a list of someone's projects (the access review).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Active or archived.
    pub status: ProjectStatus,
}

/// What a new project is.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    /// Its name.
    pub name: String,
    /// What it is about.
    pub description: String,
    /// The client company it is for, if any.
    pub company_id: Option<String>,
}

/// A change to a project: `None` keeps a field; `company_id: Some(None)` makes the project
/// internal.
#[derive(Debug, Clone, Default)]
pub struct ProjectChange {
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Another client company, or none.
    pub company_id: Option<Option<String>>,
}

/// Which projects to list.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Only this status (`None`: both).
    pub status: Option<ProjectStatus>,
    /// Only projects of this client company.
    pub company_id: Option<String>,
    /// Part of the name (case-insensitive).
    pub q: Option<String>,
}

/// The columns of a project row, selected `FROM` [`PROJECTS`].
const COLUMNS: &str =
    "projects.project_id, projects.name, projects.description, projects.company_id,
     projects.status, projects.archived_at, projects.created_at, companies.name";

/// Projects with their company's name.
const PROJECTS: &str = "projects left join companies on companies.company_id = projects.company_id";

type ProjectRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<OffsetDateTime>,
    OffsetDateTime,
    Option<String>,
);

fn from_row(row: ProjectRow) -> Result<Project> {
    let (id, name, description, company_id, status, archived_at, created_at, company_name) = row;
    Ok(Project {
        id,
        name,
        description,
        company_id,
        company_name,
        status: ProjectStatus::parse(&status)?,
        archived_at,
        created_at,
        members: Vec::new(),
        teams: Vec::new(),
    })
}

fn no_such_project() -> Error {
    Error::NotFound("there is no such project".to_owned())
}

/// How far someone reaches: every project, their own memberships, or their company's.
#[derive(Debug, Clone, Copy)]
enum Reach<'a> {
    All,
    Member(&'a str),
    Company(&'a str),
}

impl<'a> Reach<'a> {
    fn of(actor: &'a Principal) -> Self {
        match actor.kind() {
            UserKind::Client => Reach::Company(actor.company_id().unwrap_or("")),
            UserKind::Staff if actor.permissions().contains(Permission::ProjectsViewAll) => {
                Reach::All
            }
            UserKind::Staff => Reach::Member(actor.user_id()),
        }
    }

    /// The mode and whom it concerns, bound as `$R` and `$W` in [`reach_clause`].
    fn binds(self) -> (&'static str, &'a str) {
        match self {
            Reach::All => ("all", ""),
            Reach::Member(user) => ("member", user),
            Reach::Company(company) => ("company", company),
        }
    }
}

/// The reach of `actor` as bound in [`reach_clause`]: its mode and whom it concerns.
pub(crate) fn reach_binds(actor: &Principal) -> (&'static str, &str) {
    Reach::of(actor).binds()
}

/// The SQL condition "the project row `projects` is within reach", with the reach's mode
/// bound at `$r` and whom it concerns at `$w`.
pub(crate) fn reach_clause(r: u8, w: u8) -> String {
    format!(
        "(${r} = 'all'
          or (${r} = 'company' and projects.company_id = ${w})
          or (${r} = 'member' and (
                exists(select 1 from project_members m
                       where m.project_id = projects.project_id and m.user_id = ${w})
             or exists(select 1 from project_teams pt join team_members tm on tm.team_id = pt.team_id
                       where pt.project_id = projects.project_id and tm.user_id = ${w}))))"
    )
}

async fn fill_members(tx: &mut Tx, project: &mut Project) -> Result<()> {
    fill_members_of(tx, std::slice::from_mut(project)).await
}

/// Fills in the members and teams of a page of projects with two queries, whatever its
/// length (at most 200, the longest page).
async fn fill_members_of(tx: &mut Tx, page: &mut [Project]) -> Result<()> {
    if page.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = page.iter().map(|p| p.id.clone()).collect();
    let list = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut pairs = Vec::with_capacity(2);
    for (table, column) in [("project_members", "user_id"), ("project_teams", "team_id")] {
        let sql = format!(
            "select project_id, {column} from {table} where project_id in ({list}) order by project_id, {column}"
        );
        let rows: Vec<(String, String)> = on_tx!(tx, |conn| {
            let mut query = sqlx::query_as(&sql);
            for id in &ids {
                query = query.bind(id);
            }
            query.fetch_all(conn).await?
        });
        pairs.push(rows);
    }
    let mut pairs = pairs.into_iter();
    let (members, teams) = (
        pairs.next().unwrap_or_default(),
        pairs.next().unwrap_or_default(),
    );
    for project in page.iter_mut() {
        project.members = members
            .iter()
            .filter(|(id, _)| *id == project.id)
            .map(|(_, user)| user.clone())
            .collect();
        project.teams = teams
            .iter()
            .filter(|(id, _)| *id == project.id)
            .map(|(_, team)| team.clone())
            .collect();
    }
    Ok(())
}

/// The project `project_id` if `actor` reaches it, with its members; not found otherwise.
pub(crate) async fn reachable(tx: &mut Tx, actor: &Principal, project_id: &str) -> Result<Project> {
    let (mode, who) = Reach::of(actor).binds();
    let row: Option<ProjectRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {PROJECTS} where projects.project_id = $1 and {}",
            reach_clause(2, 3)
        ))
        .bind(project_id)
        .bind(mode)
        .bind(who)
        .fetch_optional(conn)
        .await?
    });
    let mut project = from_row(row.ok_or_else(no_such_project)?)?;
    fill_members(tx, &mut project).await?;
    Ok(project)
}

/// The mode and whom it concerns of `actor`'s reach, bound at `$R` and `$W` of
/// [`reach_clause`].
pub(crate) fn reach_of(actor: &Principal) -> (&'static str, &str) {
    Reach::of(actor).binds()
}

/// Which of `project_ids` `actor` reaches (at most 200 at a time), in one query.
pub(crate) async fn reached(
    tx: &mut Tx,
    actor: &Principal,
    project_ids: &[&str],
) -> Result<Vec<String>> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (mode, who) = Reach::of(actor).binds();
    let list = (3..3 + project_ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select projects.project_id from projects where projects.project_id in ({list}) and {}",
        reach_clause(1, 2)
    );
    Ok(on_tx!(tx, |conn| {
        let mut query = sqlx::query_scalar(&sql).bind(mode).bind(who);
        for id in project_ids {
            query = query.bind(*id);
        }
        query.fetch_all(conn).await?
    }))
}

/// The projects `actor` reaches, oldest first, starting after `cursor`.
#[tracing::instrument(skip_all)]
pub async fn list_projects(
    store: &TenantStore,
    actor: &Principal,
    filter: &ProjectFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Project>> {
    let limit = limit.clamp(1, 200);
    let (mode, who) = Reach::of(actor).binds();
    let search = Search::of(filter.q.as_deref());
    let mut tx = store.read().await?;
    let sqlite = tx.is_sqlite();
    let matching = Search::clause(
        search.as_ref(),
        sqlite,
        "project",
        "projects.project_id",
        &["lower(projects.name)"],
        4,
    );
    let rows: Vec<ProjectRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {PROJECTS}
             where projects.project_id > $1
               and ($2 = '' or projects.status = $2)
               and ($3 = '' or projects.company_id = $3)
               {matching}
               and {}
             order by projects.project_id limit $7",
            reach_clause(5, 6)
        ))
        // A search is planned for its own text (a plan made for any text could not
        // tell a rare word, best found by index, from a common one).
        .persistent(search.is_none())
        .bind(cursor.unwrap_or(""))
        .bind(filter.status.map_or("", ProjectStatus::as_str))
        .bind(filter.company_id.as_deref().unwrap_or(""))
        .bind(Search::bound(search.as_ref(), sqlite))
        .bind(mode)
        .bind(who)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let more = rows.len() > limit as usize;
    let mut items = rows
        .into_iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    fill_members_of(&mut tx, &mut items).await?;
    let next_cursor = more.then(|| items.last().map(|p| p.id.clone())).flatten();
    Ok(Page { items, next_cursor })
}

/// One project, if `actor` reaches it.
#[tracing::instrument(skip_all)]
pub async fn get_project(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Project> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
    Ok(grant.project().clone())
}

fn parse_project_name(text: &str) -> Result<String> {
    single_line("name", "a project's name", text, 200)
}

fn parse_description(text: &str) -> Result<String> {
    long_text("description", text)
}

/// The id and name of the client company `company_id` (none for blank); a field error if
/// there is no such company.
async fn check_company(tx: &mut Tx, company_id: Option<&str>) -> Result<Option<(String, String)>> {
    let Some(company_id) = company_id.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let found: Option<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select company_id, name from companies where company_id = $1")
            .bind(company_id)
            .fetch_optional(conn)
            .await?
    });
    found.map(Some).ok_or_else(|| {
        Error::field(
            "company",
            format!("there is no client company '{company_id}'"),
        )
    })
}

/// Makes a project; its maker becomes its first member.
#[tracing::instrument(skip_all)]
pub async fn create_project(
    store: &TenantStore,
    permit: &Permitted<'_, need::ProjectsCreate>,
    new: &NewProject,
) -> Result<Project> {
    let name = parse_project_name(&new.name)?;
    let description = parse_description(&new.description)?;
    let at = now();
    let actor = permit.principal();
    let mut tx = store.write_uncached().await?;
    let (company_id, company_name) = check_company(&mut tx, new.company_id.as_deref())
        .await?
        .unzip();
    let project = Project {
        id: new_id()?,
        name,
        description,
        company_id,
        company_name,
        status: ProjectStatus::Active,
        archived_at: None,
        created_at: at,
        members: vec![actor.user_id().to_owned()],
        teams: Vec::new(),
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into projects (project_id, name, description, company_id, status, archived_at, created_at, updated_at)
             values ($1, $2, $3, $4, 'active', null, $5, $5)",
        )
        .bind(&project.id)
        .bind(&project.name)
        .bind(&project.description)
        .bind(&project.company_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "insert into project_members (project_id, user_id, created_at, updated_at) values ($1, $2, $3, $3)",
        )
        .bind(&project.id)
        .bind(actor.user_id())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    });
    audit::note(
        &Actor::from(actor),
        "project.create",
        Target::new("project", &project.id),
    )
    .after(project.audit_state())
    .write(&mut tx)
    .await?;
    project_event("project.created", &project)
        .emit(&mut tx, &Actor::from(actor))
        .await?;
    tx.commit().await?;
    Ok(project)
}

/// Changes a project's name, description or client company (`projects.edit`).
#[tracing::instrument(skip_all)]
pub async fn update_project(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    change: &ProjectChange,
) -> Result<Project> {
    let mut tx = store.write_uncached().await?;
    // Out of reach (404) and not allowed (403) come before what is wrong with the input.
    let grant = work::enter::<need::ProjectsEdit>(&mut tx, actor, project_id).await?;
    let before = grant.project().clone();
    let name = change.name.as_deref().map(parse_project_name).transpose()?;
    let description = change
        .description
        .as_deref()
        .map(parse_description)
        .transpose()?;
    let company_id = match &change.company_id {
        Some(company) => check_company(&mut tx, company.as_deref())
            .await?
            .map(|(id, _)| id),
        None => before.company_id.clone(),
    };
    let name = name.unwrap_or_else(|| before.name.clone());
    let description = description.unwrap_or_else(|| before.description.clone());
    if (&name, &description, &company_id) == (&before.name, &before.description, &before.company_id)
    {
        return Ok(before);
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update projects set name = $2, description = $3, company_id = $4, updated_at = $5 where project_id = $1",
        )
        .bind(project_id)
        .bind(&name)
        .bind(&description)
        .bind(&company_id)
        .bind(now())
        .execute(conn)
        .await?;
    });
    let mut after = find_any(&mut tx, project_id).await?;
    fill_members(&mut tx, &mut after).await?;
    audit::note(
        &grant.actor(),
        "project.update",
        Target::new("project", project_id),
    )
    .before(before.audit_state())
    .after(after.audit_state())
    .write(&mut tx)
    .await?;
    project_event("project.changed", &after)
        .emit(&mut tx, &grant.actor())
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Archives (`archive`) or unarchives a project (`projects.archive`). Doing what is
/// already done changes nothing.
#[tracing::instrument(skip_all)]
pub async fn set_archived(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    archive: bool,
) -> Result<Project> {
    let mut tx = store.write_uncached().await?;
    let grant = work::enter_archived::<need::ProjectsArchive>(&mut tx, actor, project_id).await?;
    let before = grant.project().clone();
    let (status, archived_at) = if archive {
        (ProjectStatus::Archived, Some(now()))
    } else {
        (ProjectStatus::Active, None)
    };
    if before.status == status {
        return Ok(before);
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update projects set status = $2, archived_at = $3, updated_at = $4 where project_id = $1",
        )
        .bind(project_id)
        .bind(status.as_str())
        .bind(archived_at)
        .bind(now())
        .execute(conn)
        .await?;
    });
    let after = Project {
        status,
        archived_at,
        ..before.clone()
    };
    audit::note(
        &grant.actor(),
        if archive {
            "project.archive"
        } else {
            "project.unarchive"
        },
        Target::new("project", project_id),
    )
    .before(json!({"status": before.status.as_str()}))
    .after(json!({"status": status.as_str()}))
    .write(&mut tx)
    .await?;
    let kind = if archive {
        "project.archived"
    } else {
        "project.unarchived"
    };
    project_event(kind, &after)
        .emit(&mut tx, &grant.actor())
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// The event of a change to `project`: seen by its client company's contacts too when it
/// has one (they see the project itself).
fn project_event<'a>(kind: &'a str, project: &'a Project) -> events::NewEvent<'a> {
    let visibility = if project.company_id.is_some() {
        Visibility::Client
    } else {
        Visibility::Internal
    };
    events::event(kind, Some(&project.id), Some(&project.id))
        .visible(visibility)
        .data(json!({"name": project.name, "status": project.status.as_str()}))
}

pub(crate) async fn find_any(tx: &mut Tx, project_id: &str) -> Result<Project> {
    let row: Option<ProjectRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {PROJECTS} where projects.project_id = $1"
        ))
        .bind(project_id)
        .fetch_optional(conn)
        .await?
    });
    from_row(row.ok_or_else(no_such_project)?)
}

/// The projects a user reaches without `projects.view_all`: a staff member's, directly or
/// through a team; a client contact's company's. Oldest first.
pub(crate) async fn projects_of(
    tx: &mut Tx,
    user_id: &str,
    kind: UserKind,
    company_id: Option<&str>,
) -> Result<Vec<ProjectRef>> {
    let (mode, who) = match kind {
        UserKind::Client => ("company", company_id.unwrap_or("")),
        UserKind::Staff => ("member", user_id),
    };
    let rows: Vec<(String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select project_id, name, status from projects where {} order by project_id",
            reach_clause(1, 2)
        ))
        .bind(mode)
        .bind(who)
        .fetch_all(conn)
        .await?
    });
    rows.into_iter()
        .map(|(id, name, status)| {
            Ok(ProjectRef {
                id,
                name,
                status: ProjectStatus::parse(&status)?,
            })
        })
        .collect()
}

/// Whether `user_id` is on the project, directly or through a team.
pub(crate) async fn is_member(tx: &mut Tx, project_id: &str, user_id: &str) -> Result<bool> {
    let found: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(&format!(
            "select count(*) from projects where project_id = $1 and {}",
            reach_clause(2, 3)
        ))
        .bind(project_id)
        .bind("member")
        .bind(user_id)
        .fetch_one(conn)
        .await?
    });
    Ok(found > 0)
}

/// How many projects are linked to a client company.
pub(crate) async fn count_for_company(tx: &mut Tx, company_id: &str) -> Result<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from projects where company_id = $1")
            .bind(company_id)
            .fetch_one(conn)
            .await?
    }))
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[
    (
        "projects",
        &[
            ("project_id", Column::Text),
            ("name", Column::Text),
            ("description", Column::Text),
            ("company_id", Column::OptionalText),
            ("status", Column::Text),
            ("archived_at", Column::OptionalTime),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "project_members",
        &[
            ("project_id", Column::Text),
            ("user_id", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "project_teams",
        &[
            ("project_id", Column::Text),
            ("team_id", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_round_trip_and_unknown_words_are_named() {
        for status in [ProjectStatus::Active, ProjectStatus::Archived] {
            assert_eq!(ProjectStatus::parse(status.as_str()).ok(), Some(status));
        }
        let error = ProjectStatus::parse("done").unwrap_err();
        assert!(error.to_string().contains("done"), "{error}");
    }

    #[test]
    fn names_and_descriptions_are_checked() {
        assert_eq!(
            parse_project_name("  Website  ").ok().as_deref(),
            Some("Website")
        );
        assert!(parse_project_name("   ").is_err());
        assert!(parse_project_name(&"x".repeat(201)).is_err());
        assert!(parse_project_name("a\u{7}b").is_err());
        assert!(parse_description("line one\nline two\ttab").is_ok());
        assert_eq!(
            parse_description("one\r\n\r\ntwo\r\n").ok().as_deref(),
            Some("one\n\ntwo"),
            "form line ends become one kind"
        );
        assert!(parse_description("bell\u{7}").is_err());
        assert!(parse_description(&"x".repeat(20_001)).is_err());
    }
}

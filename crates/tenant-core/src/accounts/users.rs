//! A brand's users: staff and client accounts, listing, editing, deactivation and
//! deletion. Invitations, password resets and credentials live beside it
//! ([`super::invitations`], [`super::password_reset`], [`super::credentials`]).
//!
//! Email addresses are unique per tenant, compared case-folded; the same address in two
//! tenants is two unrelated users, since each tenant has its own store.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::permissions::{CLIENT_ALLOWED, PermissionSet, need};
use crate::access::{Actor, Permitted, Principal, UserKind};
use crate::accounts::roles::{self, Role};
use crate::audit::{self, Target};

use crate::error::{Error, Result};
use crate::fields::parse_name;
use crate::names::Email;
use crate::paging::{Page, Search};
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, now, on_tx};

/// Where a user is in their lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Invited; has not set a password yet.
    Invited,
    /// Can sign in.
    Active,
    /// Cannot sign in; every record kept.
    Deactivated,
}

impl UserStatus {
    /// Reads the API's word.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "invited" => Ok(UserStatus::Invited),
            "active" => Ok(UserStatus::Active),
            "deactivated" => Ok(UserStatus::Deactivated),
            other => Err(Error::Invalid(format!("unknown user status '{other}'"))),
        }
    }

    /// The word used in lists and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }
}

/// A user of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (sorts by creation time).
    pub id: String,
    /// The address as given.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Staff or client.
    pub kind: UserKind,
    /// The role's id.
    pub role_id: String,
    /// The client company, for client users.
    pub company_id: Option<String>,
    /// Lifecycle status.
    pub status: UserStatus,
    /// A client contact's switches, which narrow their role; `None` narrows nothing.
    pub switches: Option<PermissionSet>,
    /// After this the account deactivates itself.
    pub access_expires_at: Option<OffsetDateTime>,
    /// The last successful sign-in.
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// When the user was added.
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    user_id: String,
    email: String,
    name: String,
    kind: String,
    role_id: String,
    company_id: Option<String>,
    status: String,
    switches: Option<String>,
    access_expires_at: Option<OffsetDateTime>,
    last_sign_in_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl UserRow {
    /// The user's id.
    pub(crate) fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// The one description of a user row: every query that reads users names these columns
/// and reads them into a [`UserRow`].
pub(crate) const USER_COLUMNS: &str = "user_id, email, name, kind, role_id, company_id, status, switches, access_expires_at, last_sign_in_at, created_at";

/// [`USER_COLUMNS`] of the users table joined as `u`.
pub(crate) static JOINED_USER_COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        USER_COLUMNS
            .split(", ")
            .map(|column| format!("u.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    });

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<Self> {
        Ok(User {
            id: row.user_id,
            email: row.email,
            name: row.name,
            kind: UserKind::parse(&row.kind)?,
            role_id: row.role_id,
            company_id: row.company_id,
            status: UserStatus::parse(&row.status)?,
            switches: row
                .switches
                .map(|s| PermissionSet::parse_words(s.split_whitespace()))
                .transpose()?,
            access_expires_at: row.access_expires_at,
            last_sign_in_at: row.last_sign_in_at,
            created_at: row.created_at,
        })
    }
}

impl User {
    pub(crate) fn audit_state(&self) -> serde_json::Value {
        json!({
            "email": self.email,
            "name": self.name,
            "kind": self.kind.as_str(),
            "role": self.role_id,
            "company": self.company_id,
            "status": self.status.as_str(),
            "switches": self.switches.map(PermissionSet::to_words),
            "access_expires_at": self.access_expires_at.map(|t| t.unix_timestamp()),
        })
    }
}

/// Who to invite.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Their address.
    pub email: Email,
    /// Their display name.
    pub name: String,
    /// Their role's id (`admin`, `staff`, `client` or a custom role).
    pub role: String,
    /// Their client company (client users only).
    pub company_id: Option<String>,
    /// A client contact's switches.
    pub switches: Option<PermissionSet>,
    /// When their access ends by itself.
    pub access_expires_at: Option<OffsetDateTime>,
}

impl NewUser {
    /// A user with role `role`, no company, switches or access expiry.
    pub fn new(email: Email, name: &str, role: &str) -> Self {
        NewUser {
            email,
            name: name.to_owned(),
            role: role.to_owned(),
            company_id: None,
            switches: None,
            access_expires_at: None,
        }
    }
}

pub(crate) async fn find_user(tx: &mut Tx, user_id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(conn)
        .await?
    });
    row.map(User::try_from).transpose()
}

fn no_such_user() -> Error {
    Error::NotFound("there is no such user".to_owned())
}

/// The user `user_id`. In a write transaction, changes to the brand's users are made one
/// at a time from here on (see [`Tx::serialize`]): no lost updates, no two admins removed
/// at once.
pub(crate) async fn require_user(tx: &mut Tx, user_id: &str) -> Result<User> {
    tx.serialize("users").await?;
    find_user(tx, user_id).await?.ok_or_else(no_such_user)
}

/// Likewise a staff member can be managed only by someone whose permissions cover theirs,
/// so a user manager cannot deactivate, demote or delete an admin.
pub(crate) async fn check_manageable(tx: &mut Tx, actor: &Principal, user: &User) -> Result<()> {
    if user.kind == UserKind::Client {
        return Ok(());
    }
    let Some(role) = roles::find_role(tx, &user.role_id).await? else {
        return Ok(());
    };
    if role.permissions.is_subset(actor.permissions()) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{} has permissions you do not have, so you cannot change their account",
            user.name
        )))
    }
}

/// Opens a write transaction on `user_id`, whom the permit's holder must be able to manage
/// (the power rule); returns it with the user and the time.
pub(crate) async fn managed_user(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<(Tx, User, OffsetDateTime)> {
    let at = now();
    let mut tx = store.write().await?;
    let user = require_user(&mut tx, user_id).await?;
    check_manageable(&mut tx, permit.principal(), &user).await?;
    Ok((tx, user, at))
}

/// Audits something a user did for themself through a link (`via`).
pub(crate) async fn record_self(tx: &mut Tx, user: &User, via: &str, action: &str) -> Result<()> {
    let actor = Actor {
        user_id: Some(user.id.clone()),
        name: user.name.clone(),
        address: via.to_owned(),
    };
    audit::note(&actor, action, Target::new("user", &user.id))
        .write(tx)
        .await
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Part of the name or e-mail address (case-insensitive).
    pub q: Option<String>,
    /// Only staff or only clients.
    pub kind: Option<UserKind>,
    /// Only this status.
    pub status: Option<UserStatus>,
    /// Only contacts of this company.
    pub company_id: Option<String>,
    /// Only holders of this role.
    pub role: Option<String>,
}

/// One page of users, oldest first, starting after `cursor`.
#[tracing::instrument(skip_all)]
pub async fn list_users(
    store: &TenantStore,
    _permit: &Permitted<'_, need::UsersManage>,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<User>> {
    query_users(store, filter, cursor, limit).await
}

/// The contacts of one client company (staff with `clients.manage`, or the company's own
/// contacts, see [`crate::companies`]).
pub(crate) async fn query_users(
    store: &TenantStore,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<User>> {
    let limit = limit.clamp(1, 200);
    let search = Search::of(filter.q.as_deref());
    let mut tx = store.read().await?;
    let sqlite = tx.is_sqlite();
    let (from, order, matching) = match &search {
        // SQLite: the trigram index gives its matches in key order, so the page is read
        // straight off it and reading stops after one page, however many users match.
        // (Keys follow the order users were added in; the page starts after the
        // cursor's user.)
        Some(Search {
            phrase: Some(_), ..
        }) if sqlite => (
            "users_search s cross join search_keys k on k.search_key = s.rowid
             cross join users u on u.user_id = k.item_id",
            "s.rowid",
            "and s.users_search match $4 and k.kind = 'user'
             and s.rowid > coalesce((select search_key from search_keys where kind = 'user' and item_id = $1), 0)"
                .to_owned(),
        ),
        _ => (
            "users u",
            "u.user_id",
            format!(
                "and u.user_id > $1 {}",
                Search::clause(
                    search.as_ref(),
                    sqlite,
                    "user",
                    "u.user_id",
                    &["u.email_key", "lower(u.name)"],
                    4,
                )
            ),
        ),
    };
    let rows: Vec<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {} from {from}
             where ($2 = '' or u.kind = $2)
               and ($3 = '' or u.status = $3)
               {matching}
               and ($5 = '' or u.company_id = $5)
               and ($6 = '' or u.role_id = $6)
             order by {order} limit $7",
            *JOINED_USER_COLUMNS
        ))
        // A search is planned for its own text (a plan made for any text could not
        // tell a rare word, best found by index, from a common one).
        .persistent(search.is_none())
        .bind(cursor.unwrap_or(""))
        .bind(filter.kind.map_or("", UserKind::as_str))
        .bind(filter.status.map_or("", UserStatus::as_str))
        .bind(Search::bound(search.as_ref(), sqlite))
        .bind(filter.company_id.as_deref().unwrap_or(""))
        .bind(filter.role.as_deref().unwrap_or(""))
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items: Vec<User> = rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<_>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|u| u.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// One user: yourself always; anyone with `users.manage`; a colleague's contact of the same
/// company for a client (as the portal shows them). Otherwise staff are refused (403) and
/// clients are told there is no such user (404).
#[tracing::instrument(skip_all)]
pub async fn get_user(store: &TenantStore, actor: &Principal, user_id: &str) -> Result<User> {
    let mut tx = store.read().await?;
    let user = require_user(&mut tx, user_id).await?;
    if user.id == actor.user_id() {
        return Ok(user);
    }
    match actor.kind() {
        UserKind::Client => {
            if user.company_id.is_some() && user.company_id.as_deref() == actor.company_id() {
                Ok(user)
            } else {
                Err(no_such_user())
            }
        }
        UserKind::Staff => {
            crate::access::permit::<need::UsersManage>(actor, crate::access::Scope::Brand)?;
            Ok(user)
        }
    }
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// A new display name.
    pub name: Option<String>,
    /// A new role (of the same kind).
    pub role: Option<String>,
    /// New switches (client contacts); `Some(None)` removes them.
    pub switches: Option<Option<PermissionSet>>,
    /// A new access expiry; `Some(None)` removes it.
    pub access_expires_at: Option<Option<OffsetDateTime>>,
}

/// How many active admins the brand has (after [`require_user`] in a write transaction,
/// so two admins removed at once on PostgreSQL cannot each count the other).
pub(crate) async fn active_admins(tx: &mut Tx) -> Result<i64> {
    tx.serialize("users").await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from users where role_id = 'admin' and status = 'active'",
        )
        .fetch_one(conn)
        .await?
    }))
}

pub(crate) fn last_admin(user: &User) -> Error {
    Error::Conflict(format!(
        "{} is the brand's only active admin; make someone else an admin first",
        user.name
    ))
}

/// Edits a user. A role change applies on the user's very next request.
#[tracing::instrument(skip_all)]
pub async fn update_user(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
    change: &UserChange,
) -> Result<User> {
    let (mut tx, before, at) = managed_user(store, permit, user_id).await?;
    let mut user = before.clone();
    if let Some(name) = &change.name {
        user.name = parse_name(name)?;
    }
    if let Some(role_id) = &change.role {
        let role = roles::require_role(&mut tx, role_id).await?;
        check_grantable(Some(permit.principal()), &role)?;
        if role.kind != user.kind {
            return Err(Error::field(
                "role",
                format!(
                    "'{}' is a {} role and {} is a {} user",
                    role.name,
                    role.kind.as_str(),
                    user.name,
                    user.kind.as_str()
                ),
            ));
        }
        if before.role_id == "admin"
            && role.id != "admin"
            && before.status == UserStatus::Active
            && active_admins(&mut tx).await? <= 1
        {
            return Err(last_admin(&before));
        }
        user.role_id = role.id;
    }
    if let Some(switches) = change.switches {
        check_switches(user.kind, switches)?;
        user.switches = switches;
    }
    if let Some(expiry) = change.access_expires_at {
        if expiry.is_some_and(|end| end <= at) {
            return Err(Error::field(
                "access_expires_at",
                "the access expiry must be in the future",
            ));
        }
        if expiry.is_some()
            && user.role_id == "admin"
            && before.status == UserStatus::Active
            && active_admins(&mut tx).await? <= 1
        {
            return Err(Error::Conflict(format!(
                "{} is the brand's only active admin and must not lose access on a date; make someone else an admin first",
                user.name
            )));
        }
        user.access_expires_at = expiry;
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update users set name = $2, role_id = $3, switches = $4, access_expires_at = $5, updated_at = $6,
                 access_expiry_warned_at = case when $7 then null else access_expiry_warned_at end
             where user_id = $1",
        )
        .bind(user_id)
        .bind(&user.name)
        .bind(&user.role_id)
        .bind(user.switches.map(PermissionSet::to_words))
        .bind(user.access_expires_at)
        .bind(at)
        .bind(user.access_expires_at != before.access_expires_at)
        .execute(conn)
        .await?;
    });
    record_user(
        &mut tx,
        permit.principal(),
        "user.update",
        user_id,
        Some(&before),
        Some(&user),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Writes the audit entry of a change to a user.
pub(crate) async fn record_user(
    tx: &mut Tx,
    actor: &Principal,
    action: &str,
    user_id: &str,
    before: Option<&User>,
    after: Option<&User>,
) -> Result<()> {
    let before = before.map(User::audit_state);
    let after = after.map(User::audit_state);
    audit::note(&Actor::from(actor), action, Target::new("user", user_id))
        .before_maybe(before)
        .after_maybe(after)
        .write(tx)
        .await
}

/// How many users a tenant has.
pub async fn count_users(store: &TenantStore) -> Result<i64> {
    let mut tx = store.read().await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from users")
            .fetch_one(conn)
            .await?
    }))
}

/// Permissions whose holders pick staff members (for a team, for a project) and so may see
/// who the staff are without seeing the whole user list.
pub trait PicksStaff: crate::access::permissions::Requirement {}

impl PicksStaff for need::TeamsManage {}

impl PicksStaff for need::ProjectsEdit {}

/// Every staff member who is not deactivated, by name: the people a team or a project can
/// hold.
pub async fn staff_directory<R: PicksStaff>(
    store: &TenantStore,
    _permit: &Permitted<'_, R>,
) -> Result<Vec<User>> {
    let mut tx = store.read().await?;
    let rows: Vec<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where kind = 'staff' and status <> 'deactivated' order by name, user_id limit 1000"
        ))
        .fetch_all(conn)
        .await?
    });
    rows.into_iter().map(User::try_from).collect()
}

pub(crate) fn check_switches(kind: UserKind, switches: Option<PermissionSet>) -> Result<()> {
    match (kind, switches) {
        (UserKind::Staff, Some(_)) => Err(Error::field(
            "switches",
            "switches narrow a client contact's role; staff have none",
        )),
        (UserKind::Client, Some(set)) if !set.is_subset(CLIENT_ALLOWED) => {
            let refused: Vec<&str> = set.not_for_clients().map(|p| p.as_str()).collect();
            Err(Error::field(
                "switches",
                format!("a client contact cannot be given {}", refused.join(", ")),
            ))
        }
        _ => Ok(()),
    }
}

/// A staff role may be given only by someone who holds every permission in it, so
/// managing users never becomes a way to more power than one's own (the operator may give
/// any). Client roles are exempt: they hold only client permissions and can never be a
/// staff member's own.
pub(crate) fn check_grantable(granter: Option<&Principal>, role: &Role) -> Result<()> {
    match granter {
        Some(granter)
            if role.kind == UserKind::Staff
                && !role.permissions.is_subset(granter.permissions()) =>
        {
            Err(Error::Forbidden(format!(
                "you cannot give the role '{}': it has permissions you do not have",
                role.name
            )))
        }
        _ => Ok(()),
    }
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "users",
    &[
        ("user_id", Column::Text),
        ("email", Column::Text),
        ("email_key", Column::Text),
        ("name", Column::Text),
        ("kind", Column::Text),
        ("role_id", Column::Text),
        ("company_id", Column::OptionalText),
        ("status", Column::Text),
        ("password_hash", Column::OptionalText),
        ("switches", Column::OptionalText),
        ("access_expires_at", Column::OptionalTime),
        ("last_sign_in_at", Column::OptionalTime),
        ("access_expiry_warned_at", Column::OptionalTime),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

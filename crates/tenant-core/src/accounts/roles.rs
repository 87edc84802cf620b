//! Roles: the built-in `admin` (every permission, never editable), `staff` and `client`
//! (editable defaults), and custom roles with any subset of the permission words. A role's
//! kind says whether it is given to staff or to client users; a client role may hold only
//! the permissions PRODUCT.md lists for clients.
//!
//! Built-in roles live in code; the `roles` table holds custom roles and edited built-in
//! defaults, so a fresh store needs no seed rows (and a restore never collides with one).

use serde_json::json;

use crate::access::UserKind;
use crate::access::permissions::{PermissionSet, default_client, default_staff, need};
use crate::access::{Actor, Permitted, Principal};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};

/// The ids of the built-in roles.
pub const BUILTIN_IDS: [&str; 3] = ["admin", "staff", "client"];

/// A role as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `admin`, `staff`, `client` or a generated id.
    pub id: String,
    /// The name shown in the UI.
    pub name: String,
    /// Given to staff or to client users.
    pub kind: UserKind,
    /// What it allows.
    pub permissions: PermissionSet,
    /// One of the three built-in roles.
    pub builtin: bool,
    /// Whether it may be changed (every role but `admin`).
    pub editable: bool,
}

fn builtin(id: &str) -> Option<Role> {
    let (name, kind, permissions, editable) = match id {
        "admin" => ("Admin", UserKind::Staff, PermissionSet::all(), false),
        "staff" => ("Staff", UserKind::Staff, default_staff(), true),
        "client" => ("Client", UserKind::Client, default_client(), true),
        _ => return None,
    };
    Some(Role {
        id: id.to_owned(),
        name: name.to_owned(),
        kind,
        permissions,
        builtin: true,
        editable,
    })
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    role_id: String,
    name: String,
    kind: String,
    permissions: String,
}

impl RoleRow {
    fn into_role(self) -> Result<Role> {
        let builtin = BUILTIN_IDS.contains(&self.role_id.as_str());
        Ok(Role {
            editable: self.role_id != "admin",
            kind: UserKind::parse(&self.kind)?,
            permissions: PermissionSet::parse_words(self.permissions.split_whitespace())?,
            id: self.role_id,
            name: self.name,
            builtin,
        })
    }
}

/// The role `role_id` inside a transaction, built-in defaults included.
pub(crate) async fn find_role(tx: &mut Tx, role_id: &str) -> Result<Option<Role>> {
    if role_id == "admin" {
        return Ok(builtin("admin"));
    }
    let row: Option<RoleRow> = on_tx!(tx, |conn| {
        sqlx::query_as("select role_id, name, kind, permissions from roles where role_id = $1")
            .bind(role_id)
            .fetch_optional(conn)
            .await?
    });
    match row {
        Some(row) => row.into_role().map(Some),
        None => Ok(builtin(role_id)),
    }
}

/// The role `role_id`, or a 422 naming the field `role` when there is none.
pub(crate) async fn require_role(tx: &mut Tx, role_id: &str) -> Result<Role> {
    find_role(tx, role_id)
        .await?
        .ok_or_else(|| Error::field("role", format!("there is no role '{role_id}'")))
}

/// Every role, built-in ones first.
pub(crate) async fn all_roles(tx: &mut Tx) -> Result<Vec<Role>> {
    let rows: Vec<RoleRow> = on_tx!(tx, |conn| {
        sqlx::query_as("select role_id, name, kind, permissions from roles order by role_id")
            .fetch_all(conn)
            .await?
    });
    let stored: Vec<Role> = rows
        .into_iter()
        .map(RoleRow::into_role)
        .collect::<Result<_>>()?;
    let mut roles: Vec<Role> = BUILTIN_IDS
        .iter()
        .filter_map(|id| {
            stored
                .iter()
                .find(|r| r.id == *id)
                .cloned()
                .or_else(|| builtin(id))
        })
        .collect();
    roles.extend(stored.into_iter().filter(|r| !r.builtin));
    Ok(roles)
}

/// Every role, built-in first. Staff may see the list (to know what colleagues can do);
/// client users may not.
#[tracing::instrument(skip_all)]
pub async fn list_roles(store: &TenantStore, actor: &Principal) -> Result<Vec<Role>> {
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users cannot see the brand's roles".to_owned(),
        ));
    }
    let mut tx = store.read().await?;
    all_roles(&mut tx).await
}

/// One role (staff only, like [`list_roles`]).
#[tracing::instrument(skip_all)]
pub async fn get_role(store: &TenantStore, actor: &Principal, role_id: &str) -> Result<Role> {
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users cannot see the brand's roles".to_owned(),
        ));
    }
    let mut tx = store.read().await?;
    find_role(&mut tx, role_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no role '{role_id}'")))
}

/// A role's name: 1 to 100 characters, no control characters.
fn parse_role_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a role's name must be 1 to 100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn check_client_permissions(kind: UserKind, permissions: PermissionSet) -> Result<()> {
    if kind == UserKind::Client {
        let refused: Vec<&str> = permissions.not_for_clients().map(|p| p.as_str()).collect();
        if !refused.is_empty() {
            return Err(Error::field(
                "permissions",
                format!(
                    "a client role cannot hold {}; client roles may hold only files.upload, files.download, discussions.participate, messages.clients, invoices.view and invoices.pay",
                    refused.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A staff role's permissions can be set only within the actor's own, so `roles.manage`
/// never leads to more power than one holds (client roles hold only client permissions).
fn check_within(actor: &Principal, kind: UserKind, permissions: PermissionSet) -> Result<()> {
    if kind == UserKind::Staff && !permissions.is_subset(actor.permissions()) {
        return Err(Error::Forbidden(
            "you cannot give a role permissions you do not have yourself".to_owned(),
        ));
    }
    Ok(())
}

fn audit_state(role: &Role) -> serde_json::Value {
    json!({
        "name": role.name,
        "kind": role.kind.as_str(),
        "permissions": role.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
    })
}

/// What a new custom role is.
#[derive(Debug, Clone)]
pub struct NewRole {
    /// Its name.
    pub name: String,
    /// Staff or client.
    pub kind: UserKind,
    /// Its permissions.
    pub permissions: PermissionSet,
}

/// Creates a custom role.
#[tracing::instrument(skip_all)]
pub async fn create_role(
    store: &TenantStore,
    permit: &Permitted<'_, need::RolesManage>,
    new: &NewRole,
) -> Result<Role> {
    let name = parse_role_name(&new.name)?;
    check_client_permissions(new.kind, new.permissions)?;
    check_within(permit.principal(), new.kind, new.permissions)?;
    let role = Role {
        id: new_id()?,
        name,
        kind: new.kind,
        permissions: new.permissions,
        builtin: false,
        editable: true,
    };
    let mut tx = store.write().await?;
    if all_roles(&mut tx)
        .await?
        .iter()
        .any(|r| r.name.eq_ignore_ascii_case(&role.name))
    {
        return Err(name_taken(&role.name));
    }
    insert_role(&mut tx, &role).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "role.create",
        Target::new("role", &role.id),
    )
    .after(audit_state(&role))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(role)
}

fn name_taken(name: &str) -> Error {
    Error::Conflict(format!("a role named '{name}' exists already"))
}

async fn insert_role(tx: &mut Tx, role: &Role) -> Result<()> {
    let at = now();
    let inserted = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into roles (role_id, name, kind, permissions, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)
             on conflict (role_id) do update set name = $2, permissions = $4, updated_at = $5",
        )
        .bind(&role.id)
        .bind(&role.name)
        .bind(role.kind.as_str())
        .bind(role.permissions.to_words())
        .bind(at)
        .execute(conn)
        .await
        .map(|_| ())
    });
    match inserted.map_err(Error::from) {
        Err(e) if e.is_unique_violation("roles", "name") => Err(name_taken(&role.name)),
        other => other,
    }
}

/// A change to a role; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleChange {
    /// A new name.
    pub name: Option<String>,
    /// A new permission set.
    pub permissions: Option<PermissionSet>,
}

/// Changes a role (not `admin`). Takes effect on every holder's next request, since
/// permissions are read with the session on each request.
#[tracing::instrument(skip_all, fields(role_id))]
pub async fn update_role(
    store: &TenantStore,
    permit: &Permitted<'_, need::RolesManage>,
    role_id: &str,
    change: &RoleChange,
) -> Result<Role> {
    let mut tx = store.write().await?;
    // One change to roles and their holders at a time (see `Tx::serialize`).
    tx.serialize("users").await?;
    let before = find_role(&mut tx, role_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no role '{role_id}'")))?;
    if !before.editable {
        return Err(Error::Forbidden(
            "the admin role always has every permission and cannot be changed".to_owned(),
        ));
    }
    check_within(permit.principal(), before.kind, before.permissions)?;
    let mut role = before.clone();
    if let Some(name) = &change.name {
        role.name = parse_role_name(name)?;
        let clash = all_roles(&mut tx)
            .await?
            .into_iter()
            .any(|r| r.id != role.id && r.name.eq_ignore_ascii_case(&role.name));
        if clash {
            return Err(name_taken(&role.name));
        }
    }
    if let Some(permissions) = change.permissions {
        check_client_permissions(role.kind, permissions)?;
        check_within(permit.principal(), role.kind, permissions)?;
        role.permissions = permissions;
    }
    insert_role(&mut tx, &role).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "role.update",
        Target::new("role", &role.id),
    )
    .before(audit_state(&before))
    .after(audit_state(&role))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// Removes a custom role that no user holds.
#[tracing::instrument(skip_all, fields(role_id))]
pub async fn delete_role(
    store: &TenantStore,
    permit: &Permitted<'_, need::RolesManage>,
    role_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    // One change to roles and their holders at a time (see `Tx::serialize`).
    tx.serialize("users").await?;
    let role = find_role(&mut tx, role_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no role '{role_id}'")))?;
    if role.builtin {
        return Err(Error::Conflict(format!(
            "the built-in role '{}' cannot be removed",
            role.id
        )));
    }
    let holders: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from users where role_id = $1")
            .bind(role_id)
            .fetch_one(conn)
            .await?
    });
    if holders > 0 {
        return Err(Error::Conflict(format!(
            "{holders} user(s) have the role '{}'; give them another role first",
            role.name
        )));
    }
    on_tx!(tx, |conn| {
        sqlx::query("delete from roles where role_id = $1")
            .bind(role_id)
            .execute(conn)
            .await?;
    });
    audit::note(
        &Actor::from(permit.principal()),
        "role.delete",
        Target::new("role", role_id),
    )
    .before(audit_state(&role))
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "roles",
    &[
        ("role_id", Column::Text),
        ("name", Column::Text),
        ("kind", Column::Text),
        ("permissions", Column::Text),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

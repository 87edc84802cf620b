//! A user's lifecycle after their invitation: deactivation (signed out everywhere at once,
//! everything they did kept), reactivation, the end of access on its expiry date, and
//! deletion.

use time::OffsetDateTime;

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::accounts::users::{
    User, UserStatus, active_admins, check_manageable, find_user, last_admin, managed_user,
    record_user, require_user,
};
use crate::audit::{self, Target};
use crate::brand::outbox::{self, MailKind};
use crate::error::{Error, Result};
use crate::store::TenantStore;
use crate::store::{Tx, now, on_tx};

/// Queues the notice that the user's access ended (`reason`: `admin` or `access_expired`).
async fn notify_deactivated(
    tx: &mut Tx,
    user: (&str, &str),
    reason: &str,
    at: OffsetDateTime,
) -> Result<()> {
    let (email, name) = user;
    outbox::enqueue(
        tx,
        MailKind::Deactivated,
        email,
        &serde_json::json!({ "name": name, "reason": reason }),
        at,
    )
    .await
}

/// Sets a user's status inside `tx` and, when deactivating, ends their sessions and tokens.
async fn set_status(
    tx: &mut Tx,
    user_id: &str,
    status: UserStatus,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("update users set status = $2, updated_at = $3 where user_id = $1")
            .bind(user_id)
            .bind(status.as_str())
            .bind(at)
            .execute(conn)
            .await?;
    });
    if status == UserStatus::Deactivated {
        end_sessions(tx, user_id).await?;
    }
    Ok(())
}

/// Deactivates a user whose access expiry has passed (inside the caller's transaction).
/// Only the first of several callers at once (a request, the sweep, another replica) does
/// it, so the user is told and the audit log says it once.
pub(crate) async fn end_access(tx: &mut Tx, user_id: &str, at: OffsetDateTime) -> Result<()> {
    let ended = on_tx!(tx, |conn| {
        sqlx::query(
            "update users set status = 'deactivated', updated_at = $2 where user_id = $1 and status = 'active'",
        )
        .bind(user_id)
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected()
    });
    if ended == 0 {
        return Ok(());
    }
    end_sessions(tx, user_id).await?;
    if let Some(user) = find_user(tx, user_id).await? {
        notify_deactivated(tx, (&user.email, &user.name), "access_expired", at).await?;
    }
    let actor = Actor {
        user_id: None,
        name: "access expiry".to_owned(),
        address: "system".to_owned(),
    };
    audit::note(&actor, "user.access_expired", Target::new("user", user_id))
        .write(tx)
        .await
}

/// Deactivates every active user whose access expiry has passed (the background sweep;
/// sign-in and every request also check it). Returns how many were deactivated.
#[tracing::instrument(skip_all)]
pub async fn expire_access(store: &TenantStore) -> Result<u64> {
    let at = now();
    let mut tx = store.write().await?;
    let due: Vec<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select user_id from users where status = 'active' and access_expires_at <= $1",
        )
        .bind(at)
        .fetch_all(conn)
        .await?
    });
    for user_id in &due {
        end_access(&mut tx, user_id, at).await?;
    }
    tx.commit().await?;
    Ok(due.len() as u64)
}

/// Deactivates a user: sign-in, sessions and tokens end at once; every record is kept.
#[tracing::instrument(skip_all)]
pub async fn deactivate_user(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<User> {
    let (mut tx, before, at) = managed_user(store, permit, user_id).await?;
    if before.id == permit.principal().user_id() {
        return Err(Error::Conflict("you cannot deactivate yourself".to_owned()));
    }
    if before.status == UserStatus::Deactivated {
        return Ok(before);
    }
    if before.role_id == "admin"
        && before.status == UserStatus::Active
        && active_admins(&mut tx).await? <= 1
    {
        return Err(last_admin(&before));
    }
    revoke_open_invitations(&mut tx, user_id, at).await?;
    set_status(&mut tx, user_id, UserStatus::Deactivated, at).await?;
    if before.status == UserStatus::Active {
        notify_deactivated(&mut tx, (&before.email, &before.name), "admin", at).await?;
    }
    let user = User {
        status: UserStatus::Deactivated,
        ..before.clone()
    };
    record_user(
        &mut tx,
        permit.principal(),
        "user.deactivate",
        user_id,
        Some(&before),
        Some(&user),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Restores a deactivated user's access (as active if they had set a password, else as
/// invited, needing a new invitation). A passed access expiry is cleared.
#[tracing::instrument(skip_all)]
pub async fn reactivate_user(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<User> {
    let (mut tx, before, at) = managed_user(store, permit, user_id).await?;
    if before.status != UserStatus::Deactivated {
        return Ok(before);
    }
    let has_password: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select password_hash from users where user_id = $1")
            .bind(user_id)
            .fetch_one(conn)
            .await?
    });
    let status = if has_password.is_some() {
        UserStatus::Active
    } else {
        UserStatus::Invited
    };
    set_status(&mut tx, user_id, status, at).await?;
    let mut user = User {
        status,
        ..before.clone()
    };
    if before.access_expires_at.is_some_and(|end| end <= at) {
        on_tx!(tx, |conn| {
            sqlx::query("update users set access_expires_at = null where user_id = $1")
                .bind(user_id)
                .execute(conn)
                .await?;
        });
        user.access_expires_at = None;
    }
    record_user(
        &mut tx,
        permit.principal(),
        "user.reactivate",
        user_id,
        Some(&before),
        Some(&user),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes a user who has no history: never signed in and never acted. Anyone else is
/// deactivated instead (409), so no record loses its author.
#[tracing::instrument(skip_all)]
pub async fn delete_user(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    let user = require_user(&mut tx, user_id).await?;
    check_manageable(&mut tx, permit.principal(), &user).await?;
    let acted: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from audit_log where actor_id = $1")
            .bind(user_id)
            .fetch_one(conn)
            .await?
    });
    if user.last_sign_in_at.is_some() || acted > 0 {
        return Err(Error::Conflict(format!(
            "{} has history in this workspace and cannot be deleted; deactivate them instead",
            user.name
        )));
    }
    on_tx!(tx, |conn| {
        for sql in [
            "delete from invitations where user_id = $1",
            "delete from team_members where user_id = $1",
            "delete from project_members where user_id = $1",
            "update tasks set assignee_id = null where assignee_id = $1",
            "delete from sessions where user_id = $1",
            "delete from access_tokens where user_id = $1",
            "delete from users where user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
        }
    });
    record_user(
        &mut tx,
        permit.principal(),
        "user.delete",
        user_id,
        Some(&user),
        None,
    )
    .await?;
    tx.commit().await
}

/// Ends every session and token of a user (deactivation), inside the caller's transaction.
pub(crate) async fn end_sessions(tx: &mut Tx, user_id: &str) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("delete from sessions where user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("delete from access_tokens where user_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

pub(crate) async fn revoke_open_invitations(
    tx: &mut Tx,
    user_id: &str,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "update invitations set expires_at = $2, updated_at = $2 where user_id = $1 and accepted_at is null and expires_at > $2",
        )
        .bind(user_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        // Their invitation mails not yet sent would carry a dead link: give them up, and
        // erase the token they hold.
        sqlx::query(
            "update outbox set status = 'abandoned', params = '{}', last_error = 'the invitation was revoked or sent again', updated_at = $2
             where kind = 'invitation' and status = 'pending'
               and recipient = (select email from users where user_id = $1)",
        )
        .bind(user_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

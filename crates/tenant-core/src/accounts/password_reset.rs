//! Password reset: a one-hour link by mail, asked for by the user (without revealing who
//! has an account) or sent by an admin; using it ends every session of the user.

use time::{Duration, OffsetDateTime};

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::accounts::credentials::{
    LinkToken, check_password, hash_password, random_token, token_hash,
};
use crate::accounts::lifecycle;
use crate::accounts::users::{
    USER_COLUMNS, User, UserRow, UserStatus, managed_user, record_self, record_user,
};
use crate::audit::{self, Target};
use crate::brand::outbox::{self, MailKind};
use crate::error::{Error, Result};
use crate::names::Email;
use crate::store::TenantStore;
use crate::store::{Tx, new_id, now, on_tx};

/// How long a password reset link works.
pub const RESET_LIFETIME: Duration = Duration::hours(1);

/// Queues a password reset mail for the active user with `email`, if there is one; the
/// answer is the same either way, so nobody learns who has an account.
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(store: &TenantStore, email: &Email) -> Result<()> {
    let at = now();
    let mut tx = store.write().await?;
    tx.serialize("users").await?;
    let found: Option<(String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select user_id, email, name from users where email_key = $1 and status = 'active'",
        )
        .bind(email.key())
        .fetch_optional(conn)
        .await?
    });
    if let Some((user_id, email, name)) = found {
        insert_password_reset(&mut tx, (&user_id, &email, &name), at).await?;
        let actor = Actor {
            user_id: None,
            name: "password reset".to_owned(),
            address: "self-service".to_owned(),
        };
        audit::note(
            &actor,
            "user.password_reset_requested",
            Target::new("user", &user_id),
        )
        .write(&mut tx)
        .await?;
    }
    tx.commit().await
}

/// Sends an active user a password reset link (an admin helping someone locked out).
#[tracing::instrument(skip_all)]
pub async fn send_password_reset(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<(User, LinkToken)> {
    let (mut tx, user, at) = managed_user(store, permit, user_id).await?;
    if user.status != UserStatus::Active {
        return Err(Error::Conflict(format!(
            "{} is {}; only active users can reset a password",
            user.name,
            user.status.as_str()
        )));
    }
    let token = insert_password_reset(&mut tx, (&user.id, &user.email, &user.name), at).await?;
    record_user(
        &mut tx,
        permit.principal(),
        "user.password_reset_sent",
        user_id,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((user, token))
}

/// Stores a reset link for the user (earlier open ones stop working) and queues its mail.
async fn insert_password_reset(
    tx: &mut Tx,
    user: (&str, &str, &str),
    at: OffsetDateTime,
) -> Result<LinkToken> {
    let (user_id, email, name) = user;
    let token = random_token()?;
    let expires_at = at + RESET_LIFETIME;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update password_resets set used_at = $2 where user_id = $1 and used_at is null",
        )
        .bind(user_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "insert into password_resets (reset_id, user_id, token_hash, expires_at, created_at)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(new_id()?)
        .bind(user_id)
        .bind(token_hash(&token))
        .bind(expires_at)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    });
    outbox::enqueue(
        tx,
        MailKind::PasswordReset,
        email,
        &serde_json::json!({ "name": name, "token": token, "expires_at": expires_at.unix_timestamp() }),
        at,
    )
    .await?;
    Ok(LinkToken::new(token))
}

fn reset_not_valid() -> Error {
    Error::NotFound(
        "this password reset link is not valid: it was used, replaced by a newer one, or is more than an hour old; ask for a new one".to_owned(),
    )
}

/// Sets a new password with a reset link's token, once; every session and personal access
/// token of the user ends.
#[tracing::instrument(skip_all)]
pub async fn reset_password(store: &TenantStore, token: &str, password: &str) -> Result<User> {
    check_password(password)?;
    const OPEN_RESET: &str = "select r.user_id from password_resets r join users u on u.user_id = r.user_id
         where r.token_hash = $1 and r.used_at is null and r.expires_at > $2 and u.status = 'active'";
    let (mut tx, user_id, hash, at) =
        redeem_link(store, token, password, OPEN_RESET, reset_not_valid).await?;
    let row: UserRow = on_tx!(tx, |conn| {
        sqlx::query(
            "update password_resets set used_at = $2 where user_id = $1 and used_at is null",
        )
        .bind(&user_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query_as(&format!(
            "update users set password_hash = $2, updated_at = $3 where user_id = $1 returning {USER_COLUMNS}"
        ))
        .bind(&user_id)
        .bind(&hash)
        .bind(at)
        .fetch_one(&mut *conn)
        .await?
    });
    lifecycle::end_sessions(&mut tx, &user_id).await?;
    let user = User::try_from(row)?;
    record_self(&mut tx, &user, "password reset", "user.password_reset").await?;
    tx.commit().await?;
    Ok(user)
}

/// Redeems a one-time link: checks `token` with `open_sql` (binding its hash and the time;
/// answering the user id) before the costly hash of `password`, so random tokens cost
/// nothing, then again in the write transaction it returns, with the user id, the hash and
/// the time.
pub(crate) async fn redeem_link(
    store: &TenantStore,
    token: &str,
    password: &str,
    open_sql: &'static str,
    not_valid: fn() -> Error,
) -> Result<(Tx, String, String, OffsetDateTime)> {
    check_password(password)?;
    let open: Option<String> = {
        let mut tx = store.read().await?;
        on_tx!(tx, |conn| {
            sqlx::query_scalar(open_sql)
                .bind(token_hash(token))
                .bind(now())
                .fetch_optional(conn)
                .await?
        })
    };
    if open.is_none() {
        return Err(not_valid());
    }
    let hash = hash_password(password.to_owned()).await?;
    let at = now();
    let mut tx = store.write().await?;
    tx.serialize("users").await?;
    let user_id: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(open_sql)
            .bind(token_hash(token))
            .bind(at)
            .fetch_optional(conn)
            .await?
    });
    let user_id = user_id.ok_or_else(not_valid)?;
    Ok((tx, user_id, hash, at))
}

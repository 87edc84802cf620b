//! Invitations: a new user gets a link by mail, sets a password with it and becomes
//! active. Tokens are random, shown once, and stored only as a SHA-256 hash.

use time::{Duration, OffsetDateTime};

use crate::access::permissions::{PermissionSet, need};
use crate::access::{Actor, Permitted, Principal, UserKind};
use crate::accounts::credentials::{LinkToken, random_token, token_hash};
use crate::accounts::lifecycle::revoke_open_invitations;
use crate::accounts::password_reset::redeem_link;
use crate::accounts::roles;
use crate::accounts::users::{
    NewUser, USER_COLUMNS, User, UserRow, UserStatus, check_grantable, check_manageable,
    check_switches, managed_user, record_self, record_user, require_user,
};
use crate::audit::{self, Target};
use crate::brand::outbox::{self, MailKind};
use crate::error::{Error, Result};
use crate::fields::parse_name;
use crate::store::TenantStore;
use crate::store::{Column, Table};
use crate::store::{Tx, new_id, now, on_tx};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// A created invitation.
#[derive(Debug)]
pub struct Invitation {
    /// The token for the link.
    pub token: LinkToken,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
}

async fn company_exists(tx: &mut Tx, company_id: &str) -> Result<bool> {
    let found: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select company_id from companies where company_id = $1")
            .bind(company_id)
            .fetch_optional(conn)
            .await?
    });
    Ok(found.is_some())
}

/// Invites a user as the operator (command line); the web API goes through [`invite`].
#[tracing::instrument(skip_all, fields(role = new.role))]
pub async fn invite_user(store: &TenantStore, new: &NewUser) -> Result<(User, Invitation)> {
    create_invited(store, None, new).await
}

/// Invites a user: staff with any staff role, or a client contact of a company.
#[tracing::instrument(skip_all, fields(role = new.role))]
pub async fn invite(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    new: &NewUser,
) -> Result<(User, Invitation)> {
    create_invited(store, Some(permit.principal()), new).await
}

/// Invites a contact of a client company (the Clients page's way in).
#[tracing::instrument(skip_all, fields(role = new.role))]
pub async fn invite_contact(
    store: &TenantStore,
    permit: &Permitted<'_, need::ClientsManage>,
    new: &NewUser,
) -> Result<(User, Invitation)> {
    if new.company_id.is_none() {
        return Err(Error::field(
            "company",
            "a contact belongs to a client company",
        ));
    }
    create_invited(store, Some(permit.principal()), new).await
}

async fn create_invited(
    store: &TenantStore,
    granter: Option<&Principal>,
    new: &NewUser,
) -> Result<(User, Invitation)> {
    let actor = granter.map_or_else(Actor::operator, Actor::from);
    let actor = &actor;
    let name = parse_name(&new.name)?;
    let user_id = new_id()?;
    let token = random_token()?;
    let at = now();
    let expires_at = at + INVITATION_LIFETIME;
    if new.access_expires_at.is_some_and(|end| end <= at) {
        return Err(Error::field(
            "access_expires_at",
            "the access expiry must be in the future",
        ));
    }
    let mut tx = store.write().await?;
    let role = roles::require_role(&mut tx, &new.role).await?;
    check_grantable(granter, &role)?;
    let kind = role.kind;
    match (kind, &new.company_id) {
        (UserKind::Client, None) => {
            return Err(Error::field(
                "company",
                "a client role is for a contact of a client company: choose their company under Client company (the API field company)",
            ));
        }
        (UserKind::Staff, Some(_)) => {
            return Err(Error::field(
                "company",
                format!(
                    "role '{}' is a staff role; only client users belong to a company",
                    role.id
                ),
            ));
        }
        (UserKind::Client, Some(company)) => {
            if !company_exists(&mut tx, company).await? {
                return Err(Error::field(
                    "company",
                    format!("there is no client company '{company}'"),
                ));
            }
        }
        (UserKind::Staff, None) => {}
    }
    check_switches(kind, new.switches)?;
    let switches = new.switches.map(PermissionSet::to_words);
    let inserted = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into users (user_id, email, email_key, name, kind, role_id, company_id, status, switches, access_expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, 'invited', $8, $9, $10, $10)",
        )
        .bind(&user_id)
        .bind(new.email.as_str())
        .bind(new.email.key())
        .bind(&name)
        .bind(kind.as_str())
        .bind(&role.id)
        .bind(&new.company_id)
        .bind(&switches)
        .bind(new.access_expires_at)
        .bind(at)
        .execute(conn)
        .await
        .map(|_| ())
    });
    if let Err(e) = inserted {
        let e = Error::from(e);
        if e.is_unique_violation("users", "email_key") {
            return Err(Error::Conflict(format!(
                "a user with the email {} already exists in this brand",
                new.email
            )));
        }
        return Err(e);
    }
    insert_invitation(
        &mut tx,
        (&user_id, new.email.as_str(), &name),
        &token,
        expires_at,
        at,
    )
    .await?;
    let user = User {
        id: user_id,
        email: new.email.as_str().to_owned(),
        name,
        kind,
        role_id: role.id,
        company_id: new.company_id.clone(),
        status: UserStatus::Invited,
        switches: new.switches,
        access_expires_at: new.access_expires_at,
        last_sign_in_at: None,
        created_at: at,
    };
    audit::note(actor, "user.invite", Target::new("user", &user.id))
        .after(user.audit_state())
        .write(&mut tx)
        .await?;
    tx.commit().await?;
    Ok((
        user,
        Invitation {
            token: LinkToken::new(token),
            expires_at,
        },
    ))
}

/// Stores an invitation and queues its mail in the same transaction.
async fn insert_invitation(
    tx: &mut Tx,
    user: (&str, &str, &str),
    token: &str,
    expires_at: OffsetDateTime,
    at: OffsetDateTime,
) -> Result<()> {
    let (user_id, email, name) = user;
    outbox::enqueue(
        tx,
        MailKind::Invitation,
        email,
        &serde_json::json!({ "name": name, "token": token, "expires_at": expires_at.unix_timestamp() }),
        at,
    )
    .await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invitations (invitation_id, user_id, token_hash, expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(new_id()?)
        .bind(user_id)
        .bind(token_hash(token))
        .bind(expires_at)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Sends a new invitation link to an invited user; earlier links stop working.
#[tracing::instrument(skip_all)]
pub async fn resend_invitation(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<(User, Invitation)> {
    let token = random_token()?;
    let at = now();
    let expires_at = at + INVITATION_LIFETIME;
    let mut tx = store.write().await?;
    let user = require_user(&mut tx, user_id).await?;
    check_manageable(&mut tx, permit.principal(), &user).await?;
    if user.status != UserStatus::Invited {
        return Err(Error::Conflict(format!(
            "{} has already accepted their invitation",
            user.name
        )));
    }
    revoke_open_invitations(&mut tx, user_id, at).await?;
    insert_invitation(
        &mut tx,
        (user_id, &user.email, &user.name),
        &token,
        expires_at,
        at,
    )
    .await?;
    record_user(
        &mut tx,
        permit.principal(),
        "user.invitation_resend",
        user_id,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((
        user,
        Invitation {
            token: LinkToken::new(token),
            expires_at,
        },
    ))
}

/// Revokes an invited user's open invitation links.
#[tracing::instrument(skip_all)]
pub async fn revoke_invitation(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<()> {
    let (mut tx, user, at) = managed_user(store, permit, user_id).await?;
    if user.status != UserStatus::Invited {
        return Err(Error::Conflict(format!(
            "{} has already accepted their invitation",
            user.name
        )));
    }
    revoke_open_invitations(&mut tx, user_id, at).await?;
    record_user(
        &mut tx,
        permit.principal(),
        "user.invitation_revoke",
        user_id,
        None,
        None,
    )
    .await?;
    tx.commit().await
}

fn invitation_not_valid() -> Error {
    Error::NotFound(
        "this invitation link is not valid any more (used, expired or mistyped); ask for a new one"
            .to_owned(),
    )
}

/// Accepts an invitation: sets the password (argon2id) and activates the user. A used,
/// expired or unknown token is refused the same way, so tokens cannot be probed.
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(store: &TenantStore, token: &str, password: &str) -> Result<User> {
    const OPEN_INVITATION: &str = "select user_id from invitations where token_hash = $1 and accepted_at is null and expires_at > $2";
    let (mut tx, user_id, hash, at) = redeem_link(
        store,
        token,
        password,
        OPEN_INVITATION,
        invitation_not_valid,
    )
    .await?;
    let row: UserRow = on_tx!(tx, |conn| {
        sqlx::query(
            "update invitations set accepted_at = $2, updated_at = $2 where token_hash = $1",
        )
        .bind(token_hash(token))
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query_as(&format!(
            "update users set password_hash = $2, status = 'active', updated_at = $3 where user_id = $1 and status = 'invited' returning {USER_COLUMNS}"
        ))
        .bind(&user_id)
        .bind(&hash)
        .bind(at)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::Conflict("this user is no longer waiting for an invitation".to_owned()))?
    });
    let user = User::try_from(row)?;
    record_self(&mut tx, &user, "invitation", "user.invitation_accept").await?;
    tx.commit().await?;
    Ok(user)
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "invitations",
    &[
        ("invitation_id", Column::Text),
        ("user_id", Column::Text),
        ("token_hash", Column::Text),
        ("expires_at", Column::Time),
        ("accepted_at", Column::OptionalTime),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

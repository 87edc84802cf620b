//! A brand's users: staff and client accounts, their invitations and passwords.
//!
//! Email addresses are unique per tenant, compared case-folded; the same address in two
//! tenants is two unrelated users, since each tenant has its own store. Passwords are hashed
//! with argon2id on the blocking pool. Invitation tokens are random, shown once, and stored
//! only as a SHA-256 hash.

use std::fmt;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::Digest as _;
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;

use crate::access::{Actor, Permitted, Principal};
use crate::audit;
use crate::error::{Error, Result};
use crate::mail::{self, MailKind};
use crate::names::Email;
use crate::permissions::{CLIENT_ALLOWED, PermissionSet, need};
use crate::registry::TenantStore;
use crate::roles::{self, Role};
use crate::sessions;
use crate::store::{Tx, new_id, now, on_tx};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);
/// How long a password reset link works.
pub const RESET_LIFETIME: Duration = Duration::hours(1);

/// Staff or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// A member of the agency team.
    Staff,
    /// A contact of a client company.
    Client,
}

impl UserKind {
    /// The word used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::Client => "client",
        }
    }

    /// Reads the API's word.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "staff" => Ok(UserKind::Staff),
            "client" => Ok(UserKind::Client),
            other => Err(Error::Invalid(format!("unknown user kind '{other}'"))),
        }
    }
}

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

pub(crate) const USER_COLUMNS: &str = "user_id, email, name, kind, role_id, company_id, status, switches, access_expires_at, last_sign_in_at, created_at";

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
    fn audit_state(&self) -> serde_json::Value {
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

/// An invitation's secret token, shown once (in the link) and stored only hashed.
pub struct InvitationToken(String);

impl InvitationToken {
    /// The token for the `{base}/invite/{token}` link.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(…)")
    }
}

/// A created invitation.
#[derive(Debug)]
pub struct Invitation {
    /// The token for the link.
    pub token: InvitationToken,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
}

/// A page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<String>,
}

/// Reads a person's display name.
pub fn parse_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a name must be 1 to 200 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn token_hash(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

async fn find_user(tx: &mut Tx, user_id: &str) -> Result<Option<User>> {
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
async fn require_user(tx: &mut Tx, user_id: &str) -> Result<User> {
    tx.serialize("users").await?;
    find_user(tx, user_id).await?.ok_or_else(no_such_user)
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

fn check_switches(kind: UserKind, switches: Option<PermissionSet>) -> Result<()> {
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

/// A staff role may be given only by someone who holds every permission in it, so
/// managing users never becomes a way to more power than one's own (the operator may give
/// any). Client roles are exempt: they hold only client permissions and can never be a
/// staff member's own.
fn check_grantable(granter: Option<&Principal>, role: &Role) -> Result<()> {
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

/// Likewise a staff member can be managed only by someone whose permissions cover theirs,
/// so a user manager cannot deactivate, demote or delete an admin.
async fn check_manageable(tx: &mut Tx, actor: &Principal, user: &User) -> Result<()> {
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
                "a client user belongs to a client company: give its id",
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
    audit::record(
        &mut tx,
        actor,
        "user.invite",
        "user",
        &user.id,
        None,
        Some(user.audit_state()),
    )
    .await?;
    tx.commit().await?;
    Ok((
        user,
        Invitation {
            token: InvitationToken(token),
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
    mail::enqueue(
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
            token: InvitationToken(token),
            expires_at,
        },
    ))
}

async fn revoke_open_invitations(tx: &mut Tx, user_id: &str, at: OffsetDateTime) -> Result<()> {
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
        audit::record(
            &mut tx,
            &actor,
            "user.password_reset_requested",
            "user",
            &user_id,
            None,
            None,
        )
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
) -> Result<User> {
    let (mut tx, user, at) = managed_user(store, permit, user_id).await?;
    if user.status != UserStatus::Active {
        return Err(Error::Conflict(format!(
            "{} is {}; only active users can reset a password",
            user.name,
            user.status.as_str()
        )));
    }
    insert_password_reset(&mut tx, (&user.id, &user.email, &user.name), at).await?;
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
    Ok(user)
}

/// Turns off a user's two-factor sign-in for them (a lost phone and lost recovery codes):
/// they sign in with their password again and, where the brand requires it, set it up
/// anew. Audited, and the user is told by mail.
#[tracing::instrument(skip_all)]
pub async fn reset_two_factor(
    store: &TenantStore,
    permit: &Permitted<'_, need::UsersManage>,
    user_id: &str,
) -> Result<User> {
    let (mut tx, user, at) = managed_user(store, permit, user_id).await?;
    if !crate::totp::is_enabled(&mut tx, user_id).await? {
        return Err(Error::Conflict(format!(
            "{} does not use two-factor sign-in",
            user.name
        )));
    }
    crate::totp::remove(&mut tx, user_id).await?;
    mail::enqueue(
        &mut tx,
        MailKind::TwoFactorChanged,
        &user.email,
        &serde_json::json!({ "name": user.name, "enabled": false }),
        at,
    )
    .await?;
    record_user(
        &mut tx,
        permit.principal(),
        "user.totp_reset",
        user_id,
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Stores a reset link for the user (earlier open ones stop working) and queues its mail.
async fn insert_password_reset(
    tx: &mut Tx,
    user: (&str, &str, &str),
    at: OffsetDateTime,
) -> Result<()> {
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
    mail::enqueue(
        tx,
        MailKind::PasswordReset,
        email,
        &serde_json::json!({ "name": name, "token": token, "expires_at": expires_at.unix_timestamp() }),
        at,
    )
    .await
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
    sessions::end_all(&mut tx, &user_id).await?;
    let user = User::try_from(row)?;
    record_self(&mut tx, &user, "password reset", "user.password_reset").await?;
    tx.commit().await?;
    Ok(user)
}

/// Redeems a one-time link: checks `token` with `open_sql` (binding its hash and the time;
/// answering the user id) before the costly hash of `password`, so random tokens cost
/// nothing, then again in the write transaction it returns, with the user id, the hash and
/// the time.
async fn redeem_link(
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

/// Queues the notice that the user's access ended (`reason`: `admin` or `access_expired`).
async fn notify_deactivated(
    tx: &mut Tx,
    user: (&str, &str),
    reason: &str,
    at: OffsetDateTime,
) -> Result<()> {
    let (email, name) = user;
    mail::enqueue(
        tx,
        MailKind::Deactivated,
        email,
        &serde_json::json!({ "name": name, "reason": reason }),
        at,
    )
    .await
}

/// Opens a write transaction on `user_id`, whom the permit's holder must be able to manage
/// (the power rule); returns it with the user and the time.
async fn managed_user(
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
async fn record_self(tx: &mut Tx, user: &User, via: &str, action: &str) -> Result<()> {
    let actor = Actor {
        user_id: Some(user.id.clone()),
        name: user.name.clone(),
        address: via.to_owned(),
    };
    audit::record(tx, &actor, action, "user", &user.id, None, None).await
}

/// Whether `password` is the password of the user `user_id` (before a change that needs it
/// again, such as turning two-factor sign-in on or off).
pub async fn verify_own_password(
    store: &TenantStore,
    user_id: &str,
    password: &str,
) -> Result<bool> {
    let mut tx = store.read().await?;
    let hash: Option<Option<String>> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select password_hash from users where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    drop(tx);
    match hash.flatten() {
        Some(hash) => verify_password(password.to_owned(), hash).await,
        None => Ok(false),
    }
}

/// Whether `password` is the user's (argon2id verification on the blocking pool).
pub async fn check_user_password(
    store: &TenantStore,
    email: &Email,
    password: &str,
) -> Result<Option<User>> {
    let mut tx = store.read().await?;
    let row: Option<(String, Option<String>)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select user_id, password_hash from users where email_key = $1 and status = 'active'",
        )
        .bind(email.key())
        .fetch_optional(conn)
        .await?
    });
    let Some((user_id, Some(hash))) = row else {
        return Ok(None);
    };
    if !verify_password(password.to_owned(), hash).await? {
        return Ok(None);
    }
    find_user(&mut tx, &user_id).await
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

/// A case-insensitive `like` pattern (with `escape '\\'`) matching text that contains
/// `q`; `None` for a blank search.
pub(crate) fn like_pattern(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let escaped: String = q
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(format!("%{escaped}%"))
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
    let pattern = filter.q.as_deref().and_then(like_pattern);
    let mut tx = store.read().await?;
    let rows: Vec<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users
             where user_id > $1
               and ($2 = '' or kind = $2)
               and ($3 = '' or status = $3)
               and ($4 = '' or email_key like $4 escape '\\' or lower(name) like $4 escape '\\')
               and ($5 = '' or company_id = $5)
               and ($6 = '' or role_id = $6)
             order by user_id limit $7"
        ))
        .bind(cursor.unwrap_or(""))
        .bind(filter.kind.map_or("", UserKind::as_str))
        .bind(filter.status.map_or("", UserStatus::as_str))
        .bind(pattern.as_deref().unwrap_or(""))
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
async fn active_admins(tx: &mut Tx) -> Result<i64> {
    tx.serialize("users").await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from users where role_id = 'admin' and status = 'active'",
        )
        .fetch_one(conn)
        .await?
    }))
}

fn last_admin(user: &User) -> Error {
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
async fn record_user(
    tx: &mut Tx,
    actor: &Principal,
    action: &str,
    user_id: &str,
    before: Option<&User>,
    after: Option<&User>,
) -> Result<()> {
    let before = before.map(User::audit_state);
    let after = after.map(User::audit_state);
    audit::record(
        tx,
        &Actor::from(actor),
        action,
        "user",
        user_id,
        before,
        after,
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
        sessions::end_all(tx, user_id).await?;
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
    sessions::end_all(tx, user_id).await?;
    if let Some(user) = find_user(tx, user_id).await? {
        notify_deactivated(tx, (&user.email, &user.name), "access_expired", at).await?;
    }
    let actor = Actor {
        user_id: None,
        name: "access expiry".to_owned(),
        address: "system".to_owned(),
    };
    audit::record(
        tx,
        &actor,
        "user.access_expired",
        "user",
        user_id,
        None,
        None,
    )
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

/// How many users a tenant has.
pub async fn count_users(store: &TenantStore) -> Result<i64> {
    let mut tx = store.read().await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from users")
            .fetch_one(conn)
            .await?
    }))
}

fn check_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(10..=1024).contains(&length) {
        return Err(Error::field(
            "password",
            "a password must be 10 to 1024 characters long",
        ));
    }
    Ok(())
}

/// argon2id with the crate's defaults, which are OWASP's current minimum (19 MiB, 2
/// passes, 1 lane).
pub(crate) fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

/// Password hashing runs on the blocking pool, at most this many at once, so a burst of
/// sign-ins queues instead of taking every core from the requests around it.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.saturating_sub(1).max(1))
});

async fn on_hashing_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| Error::PasswordHash(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::PasswordHash(e.to_string()))?
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    on_hashing_pool(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::Random(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::PasswordHash(e.to_string()))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::PasswordHash(e.to_string()))
    })
    .await
}

/// Checks a password against an argon2 hash on the blocking pool.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    on_hashing_pool(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::PasswordHash(e.to_string()))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

/// Changes the signed-in user's own password after checking the current one (a wrong one
/// is a field error on `current_password`). Every other session and every personal access
/// token of the user ends; the session it is changed from stays signed in.
pub async fn change_own_password(
    store: &TenantStore,
    principal: &Principal,
    current: &str,
    new: &str,
) -> Result<()> {
    principal.require_totp_set_up()?;
    check_password(new)?;
    if !verify_own_password(store, principal.user_id(), current).await? {
        return Err(Error::field(
            "current_password",
            "that is not your current password",
        ));
    }
    let hash = hash_password(new.to_owned()).await?;
    let at = now();
    let keep = match principal.credential() {
        crate::access::Credential::Session { session_id } => session_id.clone(),
        crate::access::Credential::Token { .. } => String::new(),
    };
    let mut tx = store.write().await?;
    let user_id = principal.user_id().to_owned();
    let row: UserRow = on_tx!(tx, |conn| {
        sqlx::query("delete from sessions where user_id = $1 and session_id <> $2")
            .bind(&user_id)
            .bind(&keep)
            .execute(&mut *conn)
            .await?;
        sqlx::query("delete from access_tokens where user_id = $1")
            .bind(&user_id)
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
    let user = User::try_from(row)?;
    record_self(&mut tx, &user, "password change", "user.password_change").await?;
    tx.commit().await?;
    Ok(())
}

/// Permissions whose holders pick staff members (for a team, for a project) and so may see
/// who the staff are without seeing the whole user list.
pub trait PicksStaff: crate::permissions::Requirement {}
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

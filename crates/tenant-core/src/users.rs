//! A brand's users: staff and client accounts, their invitations and passwords.
//!
//! Email addresses are unique per tenant, compared case-folded; the same address in two
//! tenants is two unrelated users, since each tenant has its own store. Passwords are hashed
//! with argon2id on the blocking pool. Invitation tokens are random, shown once, and stored
//! only as a SHA-256 hash.

use std::fmt;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::names::Email;
use crate::registry::TenantStore;
use crate::store::{new_id, now, on_tx};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// Staff or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// A member of the agency team.
    Staff,
    /// A contact of a client company.
    Client,
}

impl UserKind {
    fn as_str(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::Client => "client",
        }
    }

    fn parse(text: &str) -> Result<Self> {
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
    fn parse(text: &str) -> Result<Self> {
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

/// The built-in roles; custom roles come with the roles module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Everything.
    Admin,
    /// The default staff role.
    Staff,
    /// The default client role.
    Client,
}

impl BuiltinRole {
    /// Reads a role id.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "admin" => Ok(BuiltinRole::Admin),
            "staff" => Ok(BuiltinRole::Staff),
            "client" => Ok(BuiltinRole::Client),
            other => Err(Error::Invalid(format!(
                "unknown role '{other}': use admin, staff or client"
            ))),
        }
    }

    /// The role's id.
    pub fn id(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Staff => "staff",
            BuiltinRole::Client => "client",
        }
    }

    /// Client roles are for client users; the others for staff.
    pub fn kind(self) -> UserKind {
        match self {
            BuiltinRole::Admin | BuiltinRole::Staff => UserKind::Staff,
            BuiltinRole::Client => UserKind::Client,
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
    /// When the user was added.
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: String,
    email: String,
    name: String,
    kind: String,
    role_id: String,
    company_id: Option<String>,
    status: String,
    created_at: OffsetDateTime,
}

const USER_COLUMNS: &str = "user_id, email, name, kind, role_id, company_id, status, created_at";

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
            created_at: row.created_at,
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
    /// Their role.
    pub role: BuiltinRole,
    /// Their client company (client users only).
    pub company_id: Option<String>,
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

fn parse_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "name '{text}' must be 1 to 200 characters without control characters"
        )));
    }
    Ok(name.to_owned())
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn token_hash(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates an invited user and their invitation.
#[tracing::instrument(skip_all, fields(role = new.role.id()))]
pub async fn invite_user(store: &TenantStore, new: &NewUser) -> Result<(User, Invitation)> {
    let name = parse_name(&new.name)?;
    let kind = new.role.kind();
    match (kind, &new.company_id) {
        (UserKind::Client, None) => {
            return Err(Error::Invalid(
                "a client user belongs to a client company: give its id".to_owned(),
            ));
        }
        (UserKind::Staff, Some(_)) => {
            return Err(Error::Invalid(format!(
                "role '{}' is a staff role; only client users belong to a company",
                new.role.id()
            )));
        }
        _ => {}
    }
    let user_id = new_id()?;
    let token = random_token()?;
    let at = now();
    let expires_at = at + INVITATION_LIFETIME;
    let mut tx = store.write().await?;
    let inserted = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into users (user_id, email, email_key, name, kind, role_id, company_id, status, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, 'invited', $8, $8)",
        )
        .bind(&user_id)
        .bind(new.email.as_str())
        .bind(new.email.key())
        .bind(&name)
        .bind(kind.as_str())
        .bind(new.role.id())
        .bind(&new.company_id)
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
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into invitations (invitation_id, user_id, token_hash, expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(new_id()?)
        .bind(&user_id)
        .bind(token_hash(&token))
        .bind(expires_at)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await?;
    let user = User {
        id: user_id,
        email: new.email.as_str().to_owned(),
        name,
        kind,
        role_id: new.role.id().to_owned(),
        company_id: new.company_id.clone(),
        status: UserStatus::Invited,
        created_at: at,
    };
    Ok((
        user,
        Invitation {
            token: InvitationToken(token),
            expires_at,
        },
    ))
}

/// Accepts an invitation: sets the password (argon2id) and activates the user. A used,
/// expired or unknown token is refused the same way, so tokens cannot be probed.
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(store: &TenantStore, token: &str, password: &str) -> Result<User> {
    check_password(password)?;
    let hash = hash_password(password.to_owned()).await?;
    let at = now();
    let mut tx = store.write().await?;
    let user_id: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select user_id from invitations where token_hash = $1 and accepted_at is null and expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(at)
        .fetch_optional(conn)
        .await?
    });
    let user_id = user_id.ok_or_else(|| {
        Error::NotFound(
            "this invitation link is not valid any more (used, expired or mistyped); ask for a new one"
                .to_owned(),
        )
    })?;
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
    tx.commit().await?;
    User::try_from(row)
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
    let row: UserRow = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where user_id = $1"
        ))
        .bind(&user_id)
        .fetch_one(conn)
        .await?
    });
    User::try_from(row).map(Some)
}

/// One page of users, oldest first, starting after `cursor`.
pub async fn list_users(
    store: &TenantStore,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<User>> {
    let limit = limit.clamp(1, 200);
    let mut tx = store.read().await?;
    let rows: Vec<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS} from users where user_id > $1 order by user_id limit $2"
        ))
        .bind(cursor.unwrap_or(""))
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
        return Err(Error::Invalid(
            "a password must be 10 to 1024 characters long".to_owned(),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Error::Random(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::PasswordHash(e.to_string()))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::PasswordHash(e.to_string()))
    })
    .await
    .map_err(|e| Error::PasswordHash(e.to_string()))?
}

/// Checks a password against an argon2 hash on the blocking pool.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::PasswordHash(e.to_string()))?;
        Ok(argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::PasswordHash(e.to_string()))?
}

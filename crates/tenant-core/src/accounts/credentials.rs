//! Credentials: argon2id password hashing (on the blocking pool, a few at a time), the
//! random tokens of links and sessions and their stored SHA-256 hashes, and password
//! checks and changes.

use std::fmt;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;
use tokio::sync::Semaphore;

use crate::access::Principal;
use crate::accounts::users::{USER_COLUMNS, User, UserRow, find_user, record_self};
use crate::error::{Error, Result};
use crate::names::Email;
use crate::store::TenantStore;
use crate::store::{now, on_tx};

pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn token_hash(token: &str) -> String {
    digest_hex(&token_digest(token))
}

/// The SHA-256 of a token (the key of cached sessions and tokens).
pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// A [`token_digest`] as stored: lower-case hex.
pub(crate) fn digest_hex(digest: &[u8; 32]) -> String {
    data_encoding::HEXLOWER.encode(digest)
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

pub(crate) fn check_password(password: &str) -> Result<()> {
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
        crate::access::Credential::Token { .. } | crate::access::Credential::Mail { .. } => {
            String::new()
        }
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

/// What a one-time link of a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `{base}/invite/{token}`: set a password and join.
    Invitation,
    /// `{base}/reset/{token}`: set a new password.
    Reset,
}

/// The one place the links of invitations and password resets are spelled:
/// `{base}/invite/{token}` and `{base}/reset/{token}`.
pub fn link(base: &str, kind: LinkKind, token: &str) -> String {
    let base = base.trim_end_matches('/');
    match kind {
        LinkKind::Invitation => format!("{base}/invite/{token}"),
        LinkKind::Reset => format!("{base}/reset/{token}"),
    }
}

/// A one-time link's secret token, shown once (in the link) and stored only hashed; its
/// `Debug` never shows it.
pub struct LinkToken(String);

impl LinkToken {
    pub(crate) fn new(token: String) -> Self {
        LinkToken(token)
    }

    /// The token itself.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The link of `kind` with this token, under `base` (`https://domain`).
    pub fn link(&self, base: &str, kind: LinkKind) -> String {
        link(base, kind, &self.0)
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

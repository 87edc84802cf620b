//! Signing in, server-side sessions and personal access tokens, and turning a presented
//! secret back into a [`Principal`] on every request.
//!
//! Secrets (session cookies, tokens) are 256 random bits, shown once and stored only as a
//! SHA-256 hash. A session ends after [`SESSION_IDLE`] without use or [`SESSION_ABSOLUTE`]
//! after sign-in, whichever is first. Every request reads the user's status, role and
//! switches afresh, so deactivation and role changes apply on the very next request.

use crate::accounts::credentials;
use crate::store::{Column, Table};
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

use time::{Duration, OffsetDateTime};

use crate::access::UserKind;
use crate::access::permissions::PermissionSet;
use crate::access::{Credential, Principal};
use crate::accounts::credentials::{random_token, token_hash};
use crate::accounts::lifecycle;
use crate::accounts::roles;
use crate::accounts::users::{JOINED_USER_COLUMNS, User, UserRow, UserStatus};
use crate::error::{Error, Result};
use crate::names::Email;
use crate::store::TenantStore;
use crate::store::{Tx, new_id, now, on_tx};

/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::hours(24);
/// A session ends this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::days(14);
/// `last_seen_at` is written at most this often per session (not on every request).
const LAST_SEEN_GRANULARITY: Duration = Duration::minutes(1);
/// Personal access tokens start with this, so they are recognisable in secret scanners.
pub const TOKEN_PREFIX: &str = "tsp_";

/// The answer to a failed sign-in; the same for an unknown address and a wrong password.
pub const WRONG_CREDENTIALS: &str = "The e-mail address or password is not right.";

/// A secret shown once: a session cookie's value or a personal access token.
pub struct Secret(String);

impl Secret {
    /// The secret, for the cookie or the one-time display.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A hash to verify against when there is no user, so that an unknown address takes as
/// long to refuse as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let salt = SaltString::encode_b64(b"tasksession-none").ok()?;
    credentials::argon2()
        .hash_password(b"no user has this password", &salt)
        .ok()
        .map(|h| h.to_string())
});

/// Where a sign-in comes from.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's IP address.
    pub address: String,
    /// The `User-Agent` header, cut to 200 characters.
    pub user_agent: String,
}

/// A new session.
#[derive(Debug)]
pub struct SignedIn {
    /// The cookie's value.
    pub secret: Secret,
    /// When the session ends at the latest.
    pub expires_at: OffsetDateTime,
    /// Who signed in.
    pub principal: Principal,
}

fn deactivated_message() -> Error {
    Error::Unauthenticated(
        "Your access to this workspace has been deactivated. Ask an administrator if you need it back."
            .to_owned(),
    )
}

async fn principal_of(
    tx: &mut Tx,
    account: User,
    credential: Credential,
    address: &str,
) -> Result<Principal> {
    let role = roles::find_role(tx, &account.role_id).await?;
    let kind = account.kind;
    let mut permissions = role.map(|r| r.permissions).unwrap_or(PermissionSet::EMPTY);
    if let Some(switches) = account.switches {
        permissions = permissions.intersection(switches);
    }
    let totp_setup_required = kind == UserKind::Staff
        && crate::brand::settings::security_in(tx)
            .await?
            .require_totp_for_staff
        && !crate::accounts::totp::is_enabled(tx, &account.id).await?;
    Ok(Principal {
        user_id: account.id,
        name: account.name,
        email: account.email,
        kind,
        company_id: account.company_id,
        role_id: account.role_id,
        permissions,
        credential,
        address: address.to_owned(),
        totp_setup_required,
    })
}

/// Whether the account may be used now; an access-expiry date that has passed deactivates
/// the account on the spot (in `tx`, which the caller commits).
async fn check_usable(tx: &mut Tx, account: &User, at: OffsetDateTime) -> Result<bool> {
    if account.status != UserStatus::Active {
        return Ok(false);
    }
    if account.access_expires_at.is_some_and(|end| end <= at) {
        lifecycle::end_access(tx, &account.id, at).await?;
        return Ok(false);
    }
    Ok(true)
}

/// The principal of `user_id` answering notification mail `notification_id` by e-mail, in
/// `tx`: only an active user whose access has not ended.
pub(crate) async fn principal_by_mail(
    tx: &mut Tx,
    user_id: &str,
    notification_id: &str,
) -> Result<Principal> {
    let row: Option<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {} from users u where u.user_id = $1",
            *JOINED_USER_COLUMNS
        ))
        .bind(user_id)
        .fetch_optional(conn)
        .await?
    });
    let account = row
        .map(User::try_from)
        .transpose()?
        .ok_or_else(deactivated_message)?;
    if !check_usable(tx, &account, now()).await? {
        return Err(deactivated_message());
    }
    let credential = Credential::Mail {
        notification_id: notification_id.to_owned(),
    };
    principal_of(tx, account, credential, "").await
}

/// Signs in with e-mail and password: a new session, or [`Error::Unauthenticated`] with
/// [`WRONG_CREDENTIALS`] for an unknown address and a wrong password alike. A deactivated
/// user who gives the right password is told their access was deactivated. An account with
/// two-factor sign-in also needs `second_factor` (a current code or a recovery code):
/// without one the answer is [`Error::SecondFactorRequired`].
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    store: &TenantStore,
    email: &str,
    password: &str,
    second_factor: Option<&str>,
    client: &ClientInfo,
) -> Result<SignedIn> {
    let wrong = || Error::Unauthenticated(WRONG_CREDENTIALS.to_owned());
    let email = Email::parse(email).ok();
    let found: Option<(UserRow, Option<String>)> = match &email {
        Some(email) => {
            let mut tx = store.read().await?;
            on_tx!(tx, |conn| {
                let account: Option<UserRow> = sqlx::query_as(&format!(
                    "select {} from users u where u.email_key = $1",
                    *JOINED_USER_COLUMNS
                ))
                .bind(email.key())
                .fetch_optional(&mut *conn)
                .await?;
                match account {
                    Some(account) => {
                        let hash: Option<String> = sqlx::query_scalar(
                            "select password_hash from users where user_id = $1",
                        )
                        .bind(account.user_id())
                        .fetch_one(&mut *conn)
                        .await?;
                        Some((account, hash))
                    }
                    None => None,
                }
            })
        }
        None => None,
    };
    let (account, hash) = match found {
        Some((account, Some(hash))) => (Some(User::try_from(account)?), hash),
        _ => (None, DUMMY_HASH.clone().unwrap_or_default()),
    };
    let matches = credentials::verify_password(password.to_owned(), hash).await?;
    let Some(account) = account.filter(|_| matches) else {
        return Err(wrong());
    };
    let at = now();
    let mut tx = store.write().await?;
    if !check_usable(&mut tx, &account, at).await? {
        tx.commit().await?;
        return Err(deactivated_message());
    }
    if crate::accounts::totp::check_second_factor(
        &mut tx,
        store.sealing_key(),
        &account.id,
        second_factor,
        at,
    )
    .await?
        == crate::accounts::totp::SecondFactor::Wrong
    {
        // Keep the raised count of wrong codes.
        let locked = crate::accounts::totp::codes_locked(&mut tx, &account.id).await?;
        tx.commit().await?;
        return Err(crate::accounts::totp::wrong_code(locked));
    }
    let secret = random_token()?;
    let session_id = new_id()?;
    let expires_at = at + SESSION_ABSOLUTE;
    let user_agent: String = client.user_agent.chars().take(200).collect();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into sessions (session_id, user_id, token_hash, client_address, user_agent, last_seen_at, expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $6, $6)",
        )
        .bind(&session_id)
        .bind(&account.id)
        .bind(token_hash(&secret))
        .bind(&client.address)
        .bind(&user_agent)
        .bind(at)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query("update users set last_sign_in_at = $2 where user_id = $1")
            .bind(&account.id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
    });
    let principal = principal_of(
        &mut tx,
        account,
        Credential::Session { session_id },
        &client.address,
    )
    .await?;
    tx.commit().await?;
    Ok(SignedIn {
        secret: Secret(secret),
        expires_at,
        principal,
    })
}

/// A secret presented with a request.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// The session cookie's value.
    Session(&'a str),
    /// A bearer token.
    Token(&'a str),
}

fn not_signed_in() -> Error {
    Error::Unauthenticated("Sign in to continue.".to_owned())
}

/// Who is behind a session or token as the caches keep it ([`crate::cache`]): the
/// principal (without the request's address) and the limits checked on every use.
#[derive(Debug)]
pub(crate) struct Signed {
    principal: Principal,
    /// When the session or token ends at the latest.
    expires_at: Option<OffsetDateTime>,
    /// When the session or token was last used, as written to the store.
    last_used: Mutex<Option<OffsetDateTime>>,
    /// The user's access-expiry date.
    access_expires_at: Option<OffsetDateTime>,
}

impl Signed {
    fn last_used(&self) -> Option<OffsetDateTime> {
        self.last_used.lock().map(|t| *t).unwrap_or(None)
    }

    /// Whether it still signs its user in at `at`, by the limits it was loaded with. (A
    /// session that looks idle is checked against the store again: another server may have
    /// seen it used.)
    fn usable(&self, at: OffsetDateTime) -> bool {
        let session = matches!(self.principal.credential, Credential::Session { .. });
        let idle = session && self.last_used().is_none_or(|t| t + SESSION_IDLE <= at);
        self.expires_at.is_none_or(|end| end > at)
            && !idle
            && self.access_expires_at.is_none_or(|end| end > at)
    }

    /// Whether its last use is to be written now: at most once per
    /// [`LAST_SEEN_GRANULARITY`]; the first request to find it due marks it written.
    fn claim_touch(&self, at: OffsetDateTime) -> bool {
        let Ok(mut last) = self.last_used.lock() else {
            return false;
        };
        let due = last.is_none_or(|t| t + LAST_SEEN_GRANULARITY <= at);
        if due {
            *last = Some(at);
        }
        due
    }
}

/// Who is behind a session cookie or a bearer token, as of now: from the cache when
/// nothing that could change the answer has been written since it was loaded, else from
/// the store.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    store: &TenantStore,
    presented: Presented<'_>,
    address: &str,
) -> Result<Principal> {
    signed_in(store, presented, address, true).await
}

/// Who is behind a credential that is still being used by a request already let in (a
/// live-update stream checking again): as [`authenticate`], but without counting as use,
/// so an open page alone does not keep a session from going idle.
pub async fn recheck(
    store: &TenantStore,
    presented: Presented<'_>,
    address: &str,
) -> Result<Principal> {
    signed_in(store, presented, address, false).await
}

async fn signed_in(
    store: &TenantStore,
    presented: Presented<'_>,
    address: &str,
    touch: bool,
) -> Result<Principal> {
    let at = now();
    let (session, secret) = match presented {
        Presented::Session(secret) => (true, secret),
        Presented::Token(secret) => (false, secret),
    };
    if !session && !secret.starts_with(TOKEN_PREFIX) {
        return Err(not_signed_in());
    }
    let digest = credentials::token_digest(secret);
    let cached = &store.cached;
    let key = (cached.id(), session, digest);
    let signed = match cached
        .get(&cached.caches.principals, &key)
        .filter(|signed| signed.usable(at))
    {
        Some(signed) => signed,
        None => {
            let stamp = cached.stamp();
            let signed = Arc::new(load_signed(store, session, &digest, at).await?);
            cached.keep(&cached.caches.principals, key, stamp, Arc::clone(&signed));
            signed
        }
    };
    if touch && signed.claim_touch(at) {
        touch_credential(store, signed.principal.credential(), at).await?;
    }
    let mut principal = signed.principal.clone();
    address.clone_into(&mut principal.address);
    Ok(principal)
}

async fn load_signed(
    store: &TenantStore,
    session: bool,
    digest: &[u8; 32],
    at: OffsetDateTime,
) -> Result<Signed> {
    let hash = credentials::digest_hex(digest);
    let mut tx = store.read().await?;
    let (account, credential, expires_at, last_used) = if session {
        let row: Option<(String, OffsetDateTime, OffsetDateTime)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select session_id, last_seen_at, expires_at from sessions where token_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(conn)
            .await?
        });
        let Some((session_id, last_seen, expires_at)) = row else {
            return Err(not_signed_in());
        };
        if expires_at <= at || last_seen + SESSION_IDLE <= at {
            return Err(Error::Unauthenticated(
                "Your session has ended. Sign in again.".to_owned(),
            ));
        }
        let account = account_of_session(&mut tx, &session_id).await?;
        (
            account,
            Credential::Session { session_id },
            Some(expires_at),
            Some(last_seen),
        )
    } else {
        let row: Option<(String, Option<OffsetDateTime>, Option<OffsetDateTime>)> = on_tx!(
            tx,
            |conn| {
                sqlx::query_as(
                    "select access_token_id, expires_at, last_used_at from access_tokens where token_hash = $1",
                )
                .bind(&hash)
                .fetch_optional(conn)
                .await?
            }
        );
        let Some((token_id, expires_at, last_used)) = row else {
            return Err(not_signed_in());
        };
        if expires_at.is_some_and(|end| end <= at) {
            return Err(Error::Unauthenticated(
                "This access token has expired.".to_owned(),
            ));
        }
        let account = account_of_token(&mut tx, &token_id).await?;
        (
            account,
            Credential::Token { token_id },
            expires_at,
            last_used,
        )
    };
    let Some(account) = account else {
        return Err(not_signed_in());
    };
    let usable = account.status == UserStatus::Active
        && account.access_expires_at.is_none_or(|end| end > at);
    if !usable {
        drop(tx);
        if account.access_expires_at.is_some_and(|end| end <= at) {
            let mut tx = store.write().await?;
            lifecycle::end_access(&mut tx, &account.id, at).await?;
            tx.commit().await?;
        }
        return Err(deactivated_message());
    }
    let access_expires_at = account.access_expires_at;
    let principal = principal_of(&mut tx, account, credential, "").await?;
    Ok(Signed {
        principal,
        expires_at,
        last_used: Mutex::new(last_used),
        access_expires_at,
    })
}

async fn account_of_session(tx: &mut Tx, session_id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {} from sessions s join users u on u.user_id = s.user_id where s.session_id = $1",
            *JOINED_USER_COLUMNS
        ))
        .bind(session_id)
        .fetch_optional(conn)
        .await?
    });
    row.map(User::try_from).transpose()
}

async fn account_of_token(tx: &mut Tx, token_id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {} from access_tokens t join users u on u.user_id = t.user_id where t.access_token_id = $1",
            *JOINED_USER_COLUMNS
        ))
        .bind(token_id)
        .fetch_optional(conn)
        .await?
    });
    row.map(User::try_from).transpose()
}

async fn touch_credential(
    store: &TenantStore,
    credential: &Credential,
    at: OffsetDateTime,
) -> Result<()> {
    if matches!(credential, Credential::Mail { .. }) {
        return Ok(());
    }
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        match credential {
            Credential::Session { session_id } => {
                sqlx::query("update sessions set last_seen_at = $2 where session_id = $1")
                    .bind(session_id)
                    .bind(at)
                    .execute(conn)
                    .await?
            }
            Credential::Token { token_id } => {
                sqlx::query("update access_tokens set last_used_at = $2 where access_token_id = $1")
                    .bind(token_id)
                    .bind(at)
                    .execute(conn)
                    .await?
            }
            Credential::Mail { .. } => return Ok(()),
        };
    });
    tx.commit().await
}

/// Ends the session the principal is using (sign-out). A token is not ended this way.
#[tracing::instrument(skip_all)]
pub async fn sign_out(store: &TenantStore, principal: &Principal) -> Result<()> {
    if let Credential::Session { session_id } = principal.credential() {
        delete_session(store, principal.user_id(), session_id).await?;
    }
    Ok(())
}

async fn delete_session(store: &TenantStore, user_id: &str, session_id: &str) -> Result<bool> {
    let mut tx = store.write().await?;
    let deleted = on_tx!(tx, |conn| {
        sqlx::query("delete from sessions where session_id = $1 and user_id = $2")
            .bind(session_id)
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(deleted > 0)
}

/// One of a user's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Its id.
    pub id: String,
    /// Where it signed in from.
    pub client_address: String,
    /// The browser.
    pub user_agent: String,
    /// When it signed in.
    pub created_at: OffsetDateTime,
    /// When it was last used (to the minute).
    pub last_seen_at: OffsetDateTime,
    /// When it ends at the latest.
    pub expires_at: OffsetDateTime,
    /// The session this request uses.
    pub current: bool,
}

/// Deletes the sessions that have ended (past their absolute limit, or idle too long):
/// they can never sign anyone in again (the background sweep). Returns how many went.
#[tracing::instrument(skip_all)]
pub async fn forget_ended(store: &TenantStore) -> Result<u64> {
    const ENDED: &str = "from sessions where expires_at <= $1 or last_seen_at <= $2";
    let at = now();
    // Most minutes nothing has ended: look before taking the write lock.
    let mut tx = store.read().await?;
    let due: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(&format!("select count(*) {ENDED}"))
            .bind(at)
            .bind(at - SESSION_IDLE)
            .fetch_one(conn)
            .await?
    });
    drop(tx);
    if due == 0 {
        return Ok(0);
    }
    let mut tx = store.write().await?;
    let gone = on_tx!(tx, |conn| {
        sqlx::query(&format!("delete {ENDED}"))
            .bind(at)
            .bind(at - SESSION_IDLE)
            .execute(conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(gone)
}

/// The principal's own live sessions, newest first.
#[tracing::instrument(skip_all)]
pub async fn list_sessions(store: &TenantStore, principal: &Principal) -> Result<Vec<SessionInfo>> {
    let at = now();
    let mut tx = store.read().await?;
    let rows: Vec<(
        String,
        String,
        String,
        OffsetDateTime,
        OffsetDateTime,
        OffsetDateTime,
    )> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select session_id, client_address, user_agent, created_at, last_seen_at, expires_at
                 from sessions where user_id = $1 and expires_at > $2 and last_seen_at > $3
                 order by session_id desc",
        )
        .bind(principal.user_id())
        .bind(at)
        .bind(at - SESSION_IDLE)
        .fetch_all(conn)
        .await?
    });
    let current = match principal.credential() {
        Credential::Session { session_id } => Some(session_id.as_str()),
        Credential::Token { .. } | Credential::Mail { .. } => None,
    };
    Ok(rows
        .into_iter()
        .map(
            |(id, client_address, user_agent, created_at, last_seen_at, expires_at)| SessionInfo {
                current: current == Some(id.as_str()),
                id,
                client_address,
                user_agent,
                created_at,
                last_seen_at,
                expires_at,
            },
        )
        .collect())
}

/// Ends one of the principal's own sessions; another user's session is "not found".
#[tracing::instrument(skip_all)]
pub async fn revoke_session(
    store: &TenantStore,
    principal: &Principal,
    session_id: &str,
) -> Result<()> {
    if delete_session(store, principal.user_id(), session_id).await? {
        Ok(())
    } else {
        Err(Error::NotFound("there is no such session".to_owned()))
    }
}

/// A personal access token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Its id.
    pub id: String,
    /// The owner's label for it.
    pub name: String,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// Makes a personal access token for the principal; the secret is returned once.
#[tracing::instrument(skip_all)]
pub async fn create_token(
    store: &TenantStore,
    principal: &Principal,
    name: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<(AccessToken, Secret)> {
    principal.require_totp_set_up()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a token's name must be 1 to 100 characters without control characters",
        ));
    }
    let at = now();
    if expires_at.is_some_and(|end| end <= at) {
        return Err(Error::field(
            "expires_at",
            "the expiry must be in the future",
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_token()?);
    let token = AccessToken {
        id: new_id()?,
        name: name.to_owned(),
        expires_at,
        last_used_at: None,
        created_at: at,
    };
    let mut tx = store.write().await?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into access_tokens (access_token_id, user_id, name, token_hash, expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&token.id)
        .bind(principal.user_id())
        .bind(&token.name)
        .bind(token_hash(&secret))
        .bind(expires_at)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await?;
    Ok((token, Secret(secret)))
}

/// The principal's own tokens, newest first.
#[tracing::instrument(skip_all)]
pub async fn list_tokens(store: &TenantStore, principal: &Principal) -> Result<Vec<AccessToken>> {
    let mut tx = store.read().await?;
    let rows: Vec<TokenRow> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select access_token_id, name, expires_at, last_used_at, created_at
             from access_tokens where user_id = $1 order by access_token_id desc",
        )
        .bind(principal.user_id())
        .fetch_all(conn)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|row| AccessToken {
            id: row.access_token_id,
            name: row.name,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            created_at: row.created_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    access_token_id: String,
    name: String,
    expires_at: Option<OffsetDateTime>,
    last_used_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

/// Revokes one of the principal's own tokens; another user's is "not found".
#[tracing::instrument(skip_all)]
pub async fn revoke_token(
    store: &TenantStore,
    principal: &Principal,
    token_id: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    let deleted = on_tx!(tx, |conn| {
        sqlx::query("delete from access_tokens where access_token_id = $1 and user_id = $2")
            .bind(token_id)
            .bind(principal.user_id())
            .execute(conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    if deleted == 0 {
        return Err(Error::NotFound("there is no such token".to_owned()));
    }
    Ok(())
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[(
    "access_tokens",
    &[
        ("access_token_id", Column::Text),
        ("user_id", Column::Text),
        ("name", Column::Text),
        ("token_hash", Column::Text),
        ("expires_at", Column::OptionalTime),
        ("last_used_at", Column::OptionalTime),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

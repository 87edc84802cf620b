//! Two-factor sign-in with time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second
//! steps, 6 digits), as authenticator apps make them, and ten single-use recovery codes.
//! A code is accepted one step either side of now, and never twice; turning two-factor
//! sign-in on or off needs the password and mails the user.

use crate::accounts::credentials;
use crate::store::{Column, Table};
use data_encoding::BASE32_NOPAD;
use time::OffsetDateTime;

use crate::access::UserKind;
use crate::access::permissions::need;
use crate::access::{Actor, Permitted, Principal};
use crate::accounts::users::{User, managed_user, record_user};
use crate::audit::{self, Target};
use crate::brand::outbox::{self, MailKind};
use crate::error::{Error, Result};
use crate::names::percent_encode;
use crate::platform::secrets::SecretKey;
use crate::store::TenantStore;
use crate::store::{Tx, new_id, now, on_tx};

/// Seconds per time step (RFC 6238 §4's default).
pub const STEP_SECONDS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Recovery codes made when two-factor sign-in is turned on.
pub const RECOVERY_CODES: usize = 10;

/// The code for `step` (RFC 4226 §5.3's dynamic truncation).
pub fn code_at(secret: &[u8], step: u64) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let digest = aws_lc_rs::hmac::sign(&key, &step.to_be_bytes());
    let bytes = digest.as_ref();
    let offset = usize::from(bytes[bytes.len() - 1] & 0x0f);
    let value = u32::from_be_bytes([
        bytes[offset] & 0x7f,
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ]);
    format!(
        "{:0width$}",
        value % 10_u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The time step of `at`.
pub fn step_of(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0) / STEP_SECONDS
}

/// The step `code` belongs to, if it is right for a step next to `now`'s and later than
/// `last_step` (so a code works once).
fn matching_step(secret: &[u8], code: &str, now: OffsetDateTime, last_step: u64) -> Option<u64> {
    let current = step_of(now);
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|step| *step > last_step)
        .find(|step| constant_time_eq(code_at(secret, *step).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A secret waiting for its first code.
#[derive(Clone)]
pub struct Enrollment {
    /// The secret, base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment(…)")
    }
}

/// Whether a user has two-factor sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Turned on (a code was confirmed).
    pub enabled: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// Whether `user_id` has two-factor sign-in turned on.
pub(crate) async fn is_enabled(tx: &mut Tx, user_id: &str) -> Result<bool> {
    let confirmed: Option<Option<OffsetDateTime>> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select confirmed_at from totp_credentials where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    Ok(confirmed.flatten().is_some())
}

/// The caller's two-factor status.
pub async fn status(store: &TenantStore, principal: &Principal) -> Result<Status> {
    let mut tx = store.read().await?;
    let enabled = is_enabled(&mut tx, principal.user_id()).await?;
    let left: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from recovery_codes where user_id = $1 and used_at is null",
        )
        .bind(principal.user_id())
        .fetch_one(conn)
        .await?
    });
    Ok(Status {
        enabled,
        recovery_codes_left: if enabled { left } else { 0 },
    })
}

async fn require_password(
    store: &TenantStore,
    principal: &Principal,
    password: &str,
) -> Result<()> {
    if credentials::verify_own_password(store, principal.user_id(), password).await? {
        Ok(())
    } else {
        Err(Error::field("password", "the password is not right"))
    }
}

/// Starts turning two-factor sign-in on: a new secret for the caller's app (`issuer` names
/// the brand in the app). Nothing changes at sign-in until [`confirm`].
pub async fn begin(
    store: &TenantStore,
    principal: &Principal,
    password: &str,
    issuer: &str,
) -> Result<Enrollment> {
    require_password(store, principal, password).await?;
    let mut secret = [0_u8; 20];
    getrandom::fill(&mut secret).map_err(|e| Error::Invalid(format!("no randomness: {e}")))?;
    let encoded = BASE32_NOPAD.encode(&secret);
    let at = now();
    let mut tx = store.write().await?;
    if is_enabled(&mut tx, principal.user_id()).await? {
        return Err(Error::Conflict(
            "two-factor sign-in is already on; turn it off first to move it to another app"
                .to_owned(),
        ));
    }
    let sealed = store.sealing_key().seal(SECRET_PURPOSE, &encoded)?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into totp_credentials (user_id, secret, confirmed_at, last_step, created_at, updated_at)
             values ($1, $2, null, 0, $3, $3)
             on conflict (user_id) do update set secret = $2, confirmed_at = null, last_step = 0, updated_at = $3",
        )
        .bind(principal.user_id())
        .bind(&sealed)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await?;
    let label = format!("{issuer}:{}", principal.email());
    Ok(Enrollment {
        otpauth_url: format!(
            "otpauth://totp/{}?secret={encoded}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent_encode(&label),
            percent_encode(issuer)
        ),
        secret: encoded,
    })
}

/// Turns two-factor sign-in on with a first code from the app; returns the recovery codes
/// (shown once) and mails the user.
pub async fn confirm(
    store: &TenantStore,
    principal: &Principal,
    code: &str,
) -> Result<Vec<String>> {
    let at = now();
    let mut tx = store.write().await?;
    let pending: Option<(String, Option<OffsetDateTime>)> = on_tx!(tx, |conn| {
        sqlx::query_as("select secret, confirmed_at from totp_credentials where user_id = $1")
            .bind(principal.user_id())
            .fetch_optional(conn)
            .await?
    });
    let secret = match pending {
        Some((secret, None)) => secret,
        Some((_, Some(_))) => {
            return Err(Error::Conflict(
                "two-factor sign-in is already on".to_owned(),
            ));
        }
        None => {
            return Err(Error::Conflict(
                "start by asking for a secret (POST /api/v1/me/totp)".to_owned(),
            ));
        }
    };
    let secret = decode(store.sealing_key(), &secret)?;
    let step = matching_step(&secret, code.trim(), at, 0).ok_or_else(|| {
        Error::field(
            "code",
            "the code is not right; enter the current one from your app",
        )
    })?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    on_tx!(tx, |conn| {
        sqlx::query(
            "update totp_credentials set confirmed_at = $2, last_step = $3, updated_at = $2 where user_id = $1",
        )
        .bind(principal.user_id())
        .bind(at)
        .bind(i64::try_from(step).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
    });
    forget_recovery_codes(&mut tx, principal.user_id()).await?;
    on_tx!(tx, |conn| {
        for _ in 0..RECOVERY_CODES {
            let code = recovery_code()?;
            sqlx::query(
                "insert into recovery_codes (code_id, user_id, code_hash, created_at) values ($1, $2, $3, $4)",
            )
            .bind(new_id()?)
            .bind(principal.user_id())
            .bind(credentials::token_hash(&normalise_recovery(&code)))
            .bind(at)
            .execute(&mut *conn)
            .await?;
            codes.push(code);
        }
    });
    changed(&mut tx, principal, true, at).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor sign-in off (the password is needed) and mails the user.
pub async fn disable(store: &TenantStore, principal: &Principal, password: &str) -> Result<()> {
    require_password(store, principal, password).await?;
    let at = now();
    let mut tx = store.write().await?;
    if principal.kind() == UserKind::Staff
        && crate::brand::settings::security_in(&mut tx)
            .await?
            .require_totp_for_staff
    {
        return Err(Error::Conflict(
            "this workspace requires two-factor sign-in for staff, so it cannot be turned off"
                .to_owned(),
        ));
    }
    let was_on = is_enabled(&mut tx, principal.user_id()).await?;
    remove(&mut tx, principal.user_id()).await?;
    if was_on {
        changed(&mut tx, principal, false, at).await?;
    }
    tx.commit().await
}

/// Removes a user's two-factor secret and recovery codes within `tx`.
pub(crate) async fn remove(tx: &mut Tx, user_id: &str) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("delete from totp_credentials where user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await?;
    });
    forget_recovery_codes(tx, user_id).await
}

async fn forget_recovery_codes(tx: &mut Tx, user_id: &str) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// Audits the change and mails the user about it.
async fn changed(
    tx: &mut Tx,
    principal: &Principal,
    enabled: bool,
    at: OffsetDateTime,
) -> Result<()> {
    outbox::enqueue(
        tx,
        MailKind::TwoFactorChanged,
        principal.email(),
        &serde_json::json!({ "name": principal.name(), "enabled": enabled }),
        at,
    )
    .await?;
    let action = if enabled {
        "user.totp_enabled"
    } else {
        "user.totp_disabled"
    };
    audit::note(
        &Actor::from(principal),
        action,
        Target::new("user", principal.user_id()),
    )
    .write(tx)
    .await
}

fn decode(key: &SecretKey, stored: &str) -> Result<Vec<u8>> {
    let opened;
    let encoded = if is_sealed(stored) {
        opened = key.open(SECRET_PURPOSE, stored)?;
        opened.as_str()
    } else {
        // Written by a release that kept secrets in clear and not sealed yet (see
        // `seal_stored_secrets`).
        stored
    };
    BASE32_NOPAD
        .decode(encoded.as_bytes())
        .map_err(|e| Error::Invalid(format!("a stored two-factor secret is unreadable: {e}")))
}

/// What two-factor secrets are sealed for (bound into the sealed value).
const SECRET_PURPOSE: &str = "totp_secret";

/// Whether a stored secret is sealed (`v1.<key id>.<data>`) rather than base32 in clear.
fn is_sealed(stored: &str) -> bool {
    stored.starts_with("v1.")
}

/// Seals every two-factor secret still stored in clear (by a release before they were
/// sealed, or brought in by restoring such a backup); returns how many. Run for every
/// brand when its store is migrated and after a restore.
pub async fn seal_stored_secrets(store: &TenantStore) -> Result<usize> {
    let mut tx = store.write().await?;
    let clear: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select user_id, secret from totp_credentials where secret not like 'v1.%'")
            .fetch_all(conn)
            .await?
    });
    for (user_id, secret) in &clear {
        let sealed = store.sealing_key().seal(SECRET_PURPOSE, secret)?;
        on_tx!(tx, |conn| {
            sqlx::query("update totp_credentials set secret = $2 where user_id = $1")
                .bind(user_id)
                .bind(&sealed)
                .execute(conn)
                .await?;
        });
    }
    tx.commit().await?;
    Ok(clear.len())
}

/// `xxxxx-xxxxx` from a 31-letter alphabet without look-alikes.
fn recovery_code() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0_u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| Error::Invalid(format!("no randomness: {e}")))?;
    let letters: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(format!("{}-{}", &letters[..5], &letters[5..]))
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Wrong codes in a row after which only a recovery code signs in.
pub const MAX_CODE_FAILURES: i32 = 10;

/// The outcome of [`check_second_factor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondFactor {
    /// No two-factor sign-in, or a right code: go on.
    Passed,
    /// A wrong code; the count of failures was raised in the transaction, which the caller
    /// commits before refusing.
    Wrong,
}

/// At sign-in, after the password: nothing when the user has no two-factor sign-in;
/// otherwise `presented` must be a current code (not used before) or an unused recovery
/// code, which is then used up. After [`MAX_CODE_FAILURES`] wrong codes in a row only a
/// recovery code is accepted; any right code resets the count.
pub(crate) async fn check_second_factor(
    tx: &mut Tx,
    key: &SecretKey,
    user_id: &str,
    presented: Option<&str>,
    at: OffsetDateTime,
) -> Result<SecondFactor> {
    let credential: Option<(String, Option<OffsetDateTime>, i64, i32)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select secret, confirmed_at, last_step, failures from totp_credentials where user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(conn)
        .await?
    });
    let Some((secret, Some(_), last_step, failures)) = credential else {
        return Ok(SecondFactor::Passed);
    };
    let Some(presented) = presented.map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(Error::SecondFactorRequired);
    };
    let secret = decode(key, &secret)?;
    let last_step = u64::try_from(last_step).unwrap_or(0);
    let code_step = (failures < MAX_CODE_FAILURES)
        .then(|| matching_step(&secret, presented, at, last_step))
        .flatten();
    if let Some(step) = code_step {
        // Only if no sign-in at the same moment used this step first (PostgreSQL's write
        // transactions do not wait for each other here).
        let taken = on_tx!(tx, |conn| {
            sqlx::query(
                "update totp_credentials set last_step = $2, failures = 0, updated_at = $3
                 where user_id = $1 and last_step < $2",
            )
            .bind(user_id)
            .bind(i64::try_from(step).unwrap_or(i64::MAX))
            .bind(at)
            .execute(conn)
            .await?
            .rows_affected()
        });
        if taken == 1 {
            return Ok(SecondFactor::Passed);
        }
    }
    let used: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "update recovery_codes set used_at = $3
             where user_id = $1 and code_hash = $2 and used_at is null returning code_id",
        )
        .bind(user_id)
        .bind(credentials::token_hash(&normalise_recovery(presented)))
        .bind(at)
        .fetch_optional(conn)
        .await?
    });
    on_tx!(tx, |conn| {
        sqlx::query(&format!(
            "update totp_credentials set failures = {}, updated_at = $2 where user_id = $1",
            if used.is_some() { "0" } else { "failures + 1" }
        ))
        .bind(user_id)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(if used.is_some() {
        SecondFactor::Passed
    } else {
        SecondFactor::Wrong
    })
}

/// Why a second factor was refused, for the one signing in.
pub(crate) fn wrong_code(failures_exceeded: bool) -> Error {
    Error::Unauthenticated(if failures_exceeded {
        "Too many wrong codes: sign in with one of your recovery codes.".to_owned()
    } else {
        "That code is not right. Enter the current code from your authenticator app, or one of your recovery codes.".to_owned()
    })
}

/// Whether `user_id` has had [`MAX_CODE_FAILURES`] wrong codes in a row.
pub(crate) async fn codes_locked(tx: &mut Tx, user_id: &str) -> Result<bool> {
    let failures: Option<i32> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select failures from totp_credentials where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    Ok(failures.is_some_and(|f| f >= MAX_CODE_FAILURES))
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
    if !is_enabled(&mut tx, user_id).await? {
        return Err(Error::Conflict(format!(
            "{} does not use two-factor sign-in",
            user.name
        )));
    }
    remove(&mut tx, user_id).await?;
    outbox::enqueue(
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

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[
    (
        "totp_credentials",
        &[
            ("user_id", Column::Text),
            ("secret", Column::Text),
            ("confirmed_at", Column::OptionalTime),
            ("last_step", Column::Integer),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "recovery_codes",
        &[
            ("code_id", Column::Text),
            ("user_id", Column::Text),
            ("code_hash", Column::Text),
            ("used_at", Column::OptionalTime),
            ("created_at", Column::Time),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // RFC 6238 Appendix B, SHA-1, secret "12345678901234567890", 8 digits there; the
        // last 6 digits are the 6-digit code.
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(code_at(secret, time / STEP_SECONDS), eight[2..]);
        }
    }

    #[test]
    fn a_code_works_one_step_either_side_and_only_once() {
        let secret = b"12345678901234567890";
        let now = OffsetDateTime::from_unix_timestamp(1_234_567_890)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let step = step_of(now);
        let previous = code_at(secret, step - 1);
        assert_eq!(matching_step(secret, &previous, now, 0), Some(step - 1));
        assert_eq!(
            matching_step(secret, &previous, now, step - 1),
            None,
            "used"
        );
        assert_eq!(
            matching_step(secret, &code_at(secret, step - 2), now, 0),
            None
        );
        assert_eq!(matching_step(secret, "000000x", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_read_without_case_or_dashes() {
        let code = recovery_code().unwrap_or_default();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalise_recovery(&code.to_uppercase()),
            normalise_recovery(&code)
        );
        assert_eq!(normalise_recovery(" ab-CD "), "abcd");
    }
}

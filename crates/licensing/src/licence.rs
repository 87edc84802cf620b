//! The licence itself: its payload, how it is issued (signed) and verified, and its state
//! at a given time.
//!
//! File format, version 1:
//! ```text
//! -----BEGIN TASK SESSION LICENCE-----
//! Version: 1
//! Key-Id: vendor-2026-11
//!
//! <payload: UTF-8 JSON, base64, 64 columns>
//! -----SIGNATURE-----
//! <Ed25519 signature over the exact payload bytes, base64>
//! -----END TASK SESSION LICENCE-----
//! ```
//! The payload is a JSON object with exactly these fields: `product` (`"tasksession"`),
//! `format` (1), `id`, `licensee`, `plan` (`single` | `lifetime` | `multi`), `max_domains`,
//! `domains` (bound names, may be empty), `issued_at` and `expires_at` (`YYYY-MM-DD`, UTC;
//! `expires_at` is `null` for `lifetime`), `key_id` (equal to the `Key-Id` header).

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::armour::{self, ArmourError};
use crate::error::{LicenceError, Result};
use crate::keyring::{KeyId, Keyring, SigningKeyFile};
use crate::plan::Plan;

/// The armour label of a licence file.
pub const LICENCE_LABEL: &str = "TASK SESSION LICENCE";
/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The `product` field every Task Session licence carries.
pub const PRODUCT: &str = "tasksession";
/// Days after expiry during which everything keeps working.
pub const GRACE_DAYS: i64 = 14;
/// How far the clock may run behind the last time seen before it is reported.
pub const CLOCK_TOLERANCE: Duration = Duration::DAY;

const SIGNATURE_SECTION: &str = "SIGNATURE";

time::serde::format_description!(ymd, Date, "[year]-[month]-[day]");

/// The payload exactly as serialised; the field order here is the order in the file.
#[derive(Debug, Clone, Serialize)]
struct Payload {
    product: String,
    format: u32,
    id: String,
    licensee: String,
    plan: Plan,
    max_domains: u32,
    domains: Vec<String>,
    #[serde(with = "ymd")]
    issued_at: Date,
    #[serde(with = "ymd::option")]
    expires_at: Option<Date>,
    key_id: String,
}

/// A licence whose signature and plan rules have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    /// The vendor's id for this licence.
    pub id: String,
    /// Who the licence is for.
    pub licensee: String,
    /// The plan.
    pub plan: Plan,
    /// How many domains may be active (always the plan's number).
    pub max_domains: u32,
    /// The names this licence is bound to; empty means any names.
    pub domains: Vec<String>,
    /// The day it was issued (UTC).
    pub issued_at: Date,
    /// The first day (UTC) on which it is no longer valid; `None` for `lifetime`.
    pub expires_at: Option<Date>,
    /// The key that signed it.
    pub key_id: KeyId,
}

/// What the vendor asks to be issued.
#[derive(Debug, Clone)]
pub struct LicenceRequest {
    /// The licence id (free text, 1 to 64 characters).
    pub id: String,
    /// Who the licence is for.
    pub licensee: String,
    /// The plan.
    pub plan: Plan,
    /// Domains to bind the licence to (empty: any).
    pub domains: Vec<String>,
    /// Day of issue.
    pub issued_at: Date,
    /// Expiry; `None` means one year from issue for yearly plans.
    pub expires_at: Option<Date>,
}

/// The licence's standing at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenceState {
    /// Before expiry (or `lifetime`).
    Valid,
    /// Expired less than [`GRACE_DAYS`] ago: everything works, with a warning.
    Grace {
        /// Whole days (rounded up) until the grace period ends.
        days_left: u32,
    },
    /// Past the grace period: brands are read-only.
    Expired,
}

impl fmt::Display for LicenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LicenceState::Valid => f.write_str("valid"),
            LicenceState::Grace { days_left: 1 } => f.write_str("grace (1 day left)"),
            LicenceState::Grace { days_left } => write!(f, "grace ({days_left} days left)"),
            LicenceState::Expired => f.write_str("expired"),
        }
    }
}

/// The verdict on a licence file at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed, well-formed and in its term.
    Valid {
        /// The licence.
        licence: Licence,
    },
    /// Signed and well-formed, expired less than [`GRACE_DAYS`] ago.
    Grace {
        /// The licence.
        licence: Licence,
        /// Whole days (rounded up) until the grace period ends.
        days_left: u32,
    },
    /// Signed and well-formed, past its grace period.
    Expired {
        /// The licence.
        licence: Licence,
    },
    /// Refused: the server must not start on it.
    Invalid {
        /// Why.
        reason: LicenceError,
    },
}

impl Verdict {
    /// The licence, unless the file was invalid.
    pub fn licence(&self) -> Option<&Licence> {
        match self {
            Verdict::Valid { licence }
            | Verdict::Grace { licence, .. }
            | Verdict::Expired { licence } => Some(licence),
            Verdict::Invalid { .. } => None,
        }
    }
}

/// The system clock is behind the last time the platform saw; the later time was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockWentBackwards {
    /// The clock's reading.
    pub now: OffsetDateTime,
    /// The last time seen, which was used instead.
    pub last_seen: OffsetDateTime,
}

impl fmt::Display for ClockWentBackwards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let behind = self.last_seen - self.now;
        write!(
            f,
            "the system clock is {} hours behind the last time this platform saw; licence checks use the later time, so fix the clock (NTP)",
            behind.whole_hours()
        )
    }
}

/// A verdict together with what the caller must remember and report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The verdict.
    pub verdict: Verdict,
    /// Set when the clock ran behind `last_seen` by more than [`CLOCK_TOLERANCE`].
    pub clock_warning: Option<ClockWentBackwards>,
    /// The time to store as the new `last_seen`: never earlier than the old one.
    pub last_seen: OffsetDateTime,
}

/// Judges a licence file at `now`, given the latest time the platform has seen before.
///
/// The clock never extends a licence: the state is computed at the later of `now` and
/// `last_seen`.
pub fn assess(
    file: &[u8],
    now: OffsetDateTime,
    last_seen: Option<OffsetDateTime>,
    keyring: &Keyring,
) -> Assessment {
    let effective = last_seen.map_or(now, |seen| seen.max(now));
    let clock_warning = last_seen
        .filter(|seen| *seen - now > CLOCK_TOLERANCE)
        .map(|last_seen| ClockWentBackwards { now, last_seen });
    let verdict = match verify(file, keyring) {
        Err(reason) => Verdict::Invalid { reason },
        Ok(licence) => match licence.state_at(effective) {
            LicenceState::Valid => Verdict::Valid { licence },
            LicenceState::Grace { days_left } => Verdict::Grace { licence, days_left },
            LicenceState::Expired => Verdict::Expired { licence },
        },
    };
    Assessment {
        verdict,
        clock_warning,
        last_seen: effective,
    }
}

/// Checks a licence file's armour, signature and plan rules; time plays no part.
pub fn verify(file: &[u8], keyring: &Keyring) -> Result<Licence> {
    let unsigned = read_unsigned(file)?;
    let key = keyring
        .get(&unsigned.key_id)
        .ok_or_else(|| LicenceError::UnknownKeyId(unsigned.key_id.to_string()))?;
    check_signature(key, &unsigned.payload, &unsigned.signature)?;
    licence_from_payload(&unsigned.payload, &unsigned.key_id)
}

/// A licence file's content read without checking its signature, for `inspect`.
#[derive(Debug, Clone)]
pub struct Unsigned {
    /// The `Key-Id` header.
    pub key_id: KeyId,
    /// The exact payload bytes.
    pub payload: Vec<u8>,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl Unsigned {
    /// The payload as indented JSON text, or the reason it cannot be shown as such.
    pub fn payload_pretty(&self) -> Result<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.payload)
            .map_err(|error| bad_payload("(payload)", &error))?;
        serde_json::to_string_pretty(&value).map_err(|error| bad_payload("(payload)", &error))
    }

    /// The payload's fields checked against the plan rules, without trusting the signature.
    pub fn licence_unchecked(&self) -> Result<Licence> {
        licence_from_payload(&self.payload, &self.key_id)
    }
}

/// Reads a licence file's parts without trusting them.
pub fn read_unsigned(file: &[u8]) -> Result<Unsigned> {
    let block = armour::parse(file, LICENCE_LABEL).map_err(|error| match error {
        ArmourError::NoBlock(found) => LicenceError::NotATaskSessionLicence(found),
        ArmourError::Malformed(detail) => LicenceError::MalformedArmour(detail),
    })?;
    let (version, key_id) = match block.headers.as_slice() {
        [(v, version), (k, key_id)] if v == "Version" && k == "Key-Id" => (version, key_id),
        _ => {
            return Err(LicenceError::MalformedArmour(
                "the headers must be 'Version' then 'Key-Id'".to_owned(),
            ));
        }
    };
    if version != &FORMAT_VERSION.to_string() {
        return Err(LicenceError::UnsupportedVersion(version.clone()));
    }
    let key_id = KeyId::parse(key_id).map_err(LicenceError::MalformedArmour)?;
    let [(_, payload), (signature_name, signature)] = block.sections.as_slice() else {
        return Err(LicenceError::MalformedArmour(
            "expected a payload and one '-----SIGNATURE-----' section".to_owned(),
        ));
    };
    if signature_name != SIGNATURE_SECTION {
        return Err(LicenceError::MalformedArmour(format!(
            "unexpected section '-----{signature_name}-----'"
        )));
    }
    let payload = armour::decode(payload).map_err(|detail| LicenceError::BadBase64 {
        section: "payload",
        detail,
    })?;
    let signature = armour::decode(signature).map_err(|detail| LicenceError::BadBase64 {
        section: "signature",
        detail,
    })?;
    Ok(Unsigned {
        key_id,
        payload,
        signature,
    })
}

fn check_signature(key: &VerifyingKey, payload: &[u8], signature: &[u8]) -> Result<()> {
    let signature = Signature::from_slice(signature).map_err(|_| LicenceError::WrongSignature)?;
    key.verify_strict(payload, &signature)
        .map_err(|_| LicenceError::WrongSignature)
}

fn bad_payload(field: &str, problem: &dyn fmt::Display) -> LicenceError {
    LicenceError::BadPayloadField {
        field: field.to_owned(),
        problem: problem.to_string(),
    }
}

fn licence_from_payload(bytes: &[u8], header_key_id: &KeyId) -> Result<Licence> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| bad_payload("(payload)", &format!("is not JSON ({error})")))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err(bad_payload("(payload)", &"is not a JSON object"));
    };
    if fields.get("product").and_then(|p| p.as_str()) != Some(PRODUCT) {
        return Err(LicenceError::NotATaskSessionLicence(
            "its payload is for another product".to_owned(),
        ));
    }
    let format: u32 = take(&mut fields, "format")?;
    if format != FORMAT_VERSION {
        return Err(LicenceError::UnsupportedVersion(format.to_string()));
    }
    let payload = Payload {
        product: take(&mut fields, "product")?,
        format,
        id: take(&mut fields, "id")?,
        licensee: take(&mut fields, "licensee")?,
        plan: take(&mut fields, "plan")?,
        max_domains: take(&mut fields, "max_domains")?,
        domains: take(&mut fields, "domains")?,
        issued_at: take_date(&mut fields, "issued_at")?
            .ok_or_else(|| bad_payload("issued_at", &"must be a date, not null"))?,
        expires_at: take_date(&mut fields, "expires_at")?,
        key_id: take(&mut fields, "key_id")?,
    };
    if let Some(unknown) = fields.keys().next() {
        return Err(bad_payload(
            unknown,
            &"is not a field of a version 1 licence",
        ));
    }
    if payload.key_id != header_key_id.as_str() {
        return Err(bad_payload(
            "key_id",
            &format!("'{}' differs from the Key-Id header", payload.key_id),
        ));
    }
    check_text("id", &payload.id)?;
    check_text("licensee", &payload.licensee)?;
    check_domains(&payload.domains)?;
    check_plan(&payload)?;
    Ok(Licence {
        id: payload.id,
        licensee: payload.licensee,
        plan: payload.plan,
        max_domains: payload.max_domains,
        domains: payload.domains,
        issued_at: payload.issued_at,
        expires_at: payload.expires_at,
        key_id: header_key_id.clone(),
    })
}

type Fields = serde_json::Map<String, serde_json::Value>;

/// Removes `field` from the payload and reads it as a `T`, naming the field on failure.
fn take<T: serde::de::DeserializeOwned>(fields: &mut Fields, field: &str) -> Result<T> {
    let value = fields
        .remove(field)
        .ok_or_else(|| bad_payload(field, &"is missing"))?;
    serde_json::from_value(value)
        .map_err(|error| bad_payload(field, &format!("is invalid ({error})")))
}

fn take_date(fields: &mut Fields, field: &str) -> Result<Option<Date>> {
    let text: Option<String> = take(fields, field)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.map(|text| {
        Date::parse(&text, format).map_err(|_| {
            bad_payload(
                field,
                &format!("'{text}' is not a date in the form YYYY-MM-DD"),
            )
        })
    })
    .transpose()
}

fn check_text(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() || text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(bad_payload(
            field,
            &"must be 1 to 200 characters with no control characters",
        ));
    }
    Ok(())
}

fn check_domains(domains: &[String]) -> Result<()> {
    for (index, name) in domains.iter().enumerate() {
        if !is_domain_name(name) {
            return Err(bad_payload(
                "domains",
                &format!("has '{name}', which is not a lower-case domain name"),
            ));
        }
        if domains[..index].contains(name) {
            return Err(bad_payload("domains", &format!("lists '{name}' twice")));
        }
    }
    Ok(())
}

/// A lower-case ASCII (IDNA-encoded) host name with at least two labels.
pub fn is_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn check_plan(payload: &Payload) -> Result<()> {
    let plan = payload.plan;
    if payload.max_domains != plan.max_domains() {
        return Err(LicenceError::PlanMismatch(format!(
            "domain count {} does not match its plan '{plan}', which allows {}",
            payload.max_domains,
            plan.max_domains()
        )));
    }
    if payload.domains.len() > plan.max_domains() as usize {
        return Err(LicenceError::PlanMismatch(format!(
            "{} bound domains are more than its plan '{plan}' allows ({})",
            payload.domains.len(),
            plan.max_domains()
        )));
    }
    match (plan.has_term(), payload.expires_at) {
        (true, None) => Err(LicenceError::PlanMismatch(format!(
            "plan '{plan}' runs for a term but the licence has no expiry date"
        ))),
        (false, Some(_)) => Err(LicenceError::PlanMismatch(format!(
            "plan '{plan}' never expires but the licence has an expiry date"
        ))),
        (true, Some(expires)) if expires <= payload.issued_at => {
            Err(LicenceError::PlanMismatch(format!(
                "expiry date {expires} is not after its issue date {}",
                payload.issued_at
            )))
        }
        _ => Ok(()),
    }
}

impl Licence {
    /// The moment the licence stops being valid (start of `expires_at`, UTC).
    pub fn expires_at_instant(&self) -> Option<OffsetDateTime> {
        self.expires_at
            .map(|date| date.with_time(Time::MIDNIGHT).assume_utc())
    }

    /// The licence's state at `at`.
    pub fn state_at(&self, at: OffsetDateTime) -> LicenceState {
        let Some(expiry) = self.expires_at_instant() else {
            return LicenceState::Valid;
        };
        let grace_end = expiry + Duration::days(GRACE_DAYS);
        if at < expiry {
            LicenceState::Valid
        } else if at < grace_end {
            let left = grace_end - at;
            let whole = left.whole_days();
            let days_left = if left > Duration::days(whole) {
                whole + 1
            } else {
                whole
            };
            LicenceState::Grace {
                days_left: u32::try_from(days_left).unwrap_or(u32::MAX),
            }
        } else {
            LicenceState::Expired
        }
    }

    /// Whether the licence allows serving `domain` (any name when it is not bound).
    pub fn allows_domain(&self, domain: &str) -> bool {
        self.domains.is_empty() || self.domains.iter().any(|bound| bound == domain)
    }
}

/// Signs a licence with `key`, checking the request against the same rules as [`verify`].
pub fn issue(request: &LicenceRequest, key: &SigningKeyFile) -> Result<String> {
    let expires_at = match (request.plan.has_term(), request.expires_at) {
        (true, None) => Some(one_year_after(request.issued_at)),
        (_, expires) => expires,
    };
    let payload = Payload {
        product: PRODUCT.to_owned(),
        format: FORMAT_VERSION,
        id: request.id.clone(),
        licensee: request.licensee.clone(),
        plan: request.plan,
        max_domains: request.plan.max_domains(),
        domains: request.domains.clone(),
        issued_at: request.issued_at,
        expires_at,
        key_id: key.key_id.as_str().to_owned(),
    };
    let bytes = serde_json::to_vec(&payload).map_err(|error| bad_payload("(payload)", &error))?;
    licence_from_payload(&bytes, &key.key_id)?;
    let signature = key.sign(&bytes);
    Ok(armour::write(
        LICENCE_LABEL,
        &[
            ("Version", &FORMAT_VERSION.to_string()),
            ("Key-Id", key.key_id.as_str()),
        ],
        &[("", &bytes), (SIGNATURE_SECTION, &signature)],
    ))
}

/// The same day one year later (28 February for 29 February).
pub fn one_year_after(date: Date) -> Date {
    let year = date.year() + 1;
    Date::from_calendar_date(year, date.month(), date.day())
        .or_else(|_| Date::from_calendar_date(year, date.month(), date.day() - 1))
        .unwrap_or(date)
}

/// Signs with the committed development key (`dev-keys` builds only).
#[cfg(feature = "dev-keys")]
pub fn issue_with_development_key(request: &LicenceRequest) -> Result<String> {
    let key = SigningKeyFile::parse(crate::keyring::DEVELOPMENT_SIGNING_KEY.as_bytes())
        .map_err(LicenceError::MalformedArmour)?;
    issue(request, &key)
}

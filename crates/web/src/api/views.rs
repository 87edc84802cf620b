//! JSON shapes of the API (PRODUCT.md "JSON shapes"): ids as strings in `id`, times as
//! RFC 3339 in UTC, lists as `{"items": [...], "next_cursor": ...}`.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::IntoResponse as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use tenant_core::Error;
use tenant_core::access::permissions::PermissionSet;
use tenant_core::accounts::companies::Company;
use tenant_core::accounts::roles::Role;
use tenant_core::accounts::sessions::{AccessToken, SessionInfo};
use tenant_core::accounts::teams::Team;
use tenant_core::accounts::users::User;
use tenant_core::audit::Entry;
use tenant_core::paging::Page;

use crate::http::error::{ApiError, ApiResult};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A time as the API writes it.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Reads a time the API was given in `field`, as UTC (stored times compare as text on
/// SQLite, so they must all carry the same offset).
pub fn parse_time(field: &'static str, text: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|at| at.to_offset(time::UtcOffset::UTC))
        .map_err(|_| {
            Error::field(
                field,
                format!("'{text}' is not a date and time like 2027-01-31T17:00:00Z"),
            )
        })
}

/// Reads a list of permission words given in `field`; an unknown word is named.
pub fn parse_permissions(field: &'static str, words: &[String]) -> Result<PermissionSet, Error> {
    PermissionSet::parse_words(words.iter().map(String::as_str))
        .map_err(|e| Error::field(field, e.to_string()))
}

/// The words of a permission set.
pub fn words(set: PermissionSet) -> Vec<&'static str> {
    set.iter().map(|p| p.as_str()).collect()
}

/// For PATCH fields that can be set, cleared (`null`) or left out.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A user.
pub fn user(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "kind": user.kind.as_str(),
        "role": user.role_id,
        "company": user.company_id,
        "status": user.status.as_str(),
        "switches": user.switches.map(words),
        "access_expires_at": user.access_expires_at.map(rfc3339),
        "last_sign_in_at": user.last_sign_in_at.map(rfc3339),
        "created_at": rfc3339(user.created_at),
    })
}

/// A role.
pub fn role(role: &Role) -> Value {
    json!({
        "id": role.id,
        "name": role.name,
        "kind": role.kind.as_str(),
        "permissions": words(role.permissions),
        "builtin": role.builtin,
        "editable": role.editable,
    })
}

/// A team.
pub fn team(team: &Team) -> Value {
    json!({
        "id": team.id,
        "name": team.name,
        "members": team.members,
        "created_at": rfc3339(team.created_at),
    })
}

/// A client company.
pub fn company(company: &Company) -> Value {
    json!({
        "id": company.id,
        "name": company.name,
        "details": company.details,
        "currency": company.currency,
        "country": company.country,
        "tax_id": company.tax_id,
        "created_at": rfc3339(company.created_at),
    })
}

/// A session.
pub fn session(session: &SessionInfo) -> Value {
    json!({
        "id": session.id,
        "client_address": session.client_address,
        "user_agent": session.user_agent,
        "created_at": rfc3339(session.created_at),
        "last_seen_at": rfc3339(session.last_seen_at),
        "expires_at": rfc3339(session.expires_at),
        "current": session.current,
    })
}

/// A personal access token (never its secret).
pub fn token(token: &AccessToken) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "expires_at": token.expires_at.map(rfc3339),
        "last_used_at": token.last_used_at.map(rfc3339),
        "created_at": rfc3339(token.created_at),
    })
}

/// An audit entry.
pub fn audit_entry(entry: &Entry) -> Value {
    json!({
        "id": entry.id,
        "actor": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
        "client_address": entry.client_address,
        "at": rfc3339(entry.at),
    })
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, Default)]
pub struct Paging {
    /// How many (default 50, at most 200).
    pub limit: Option<u32>,
    /// Where to continue.
    pub cursor: Option<String>,
}

impl Paging {
    /// The checked window of `list`.
    pub fn window(&self, list: &'static str) -> Result<Window, ApiError> {
        window(list, self.limit, self.cursor.as_deref())
    }
}

/// The checked `?limit=&cursor=` of a list that the store reads whole (roles, teams, a
/// team's members, sessions, tokens, a project's tasks), taken from the query string beside
/// the route's other parameters; paged here by [`page_whole`].
#[derive(Debug)]
pub struct WholeList(pub Window);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for WholeList {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query: std::collections::HashMap<String, String> =
            axum::extract::Query::try_from_uri(&parts.uri)
                .map(|axum::extract::Query(q)| q)
                .map_err(|e| ApiError::BadBody(e.body_text()))?;
        let limit = match query.get("limit") {
            None => None,
            Some(text) => Some(text.parse::<u32>().map_err(|_| {
                tenant_core::Error::field("limit", "limit must be a whole number from 1 to 200")
            })?),
        };
        Ok(WholeList(check_window(
            limit,
            query.get("cursor").map(String::as_str),
            |_| true,
        )?))
    }
}

/// One page of a list read whole: the items after the cursor's id, at most `limit`, and a
/// cursor when more follow. A cursor whose id is not in the list (any more) gets 422.
pub fn page_whole<T>(
    list: &'static str,
    items: &[T],
    window: &WholeList,
    id_of: impl Fn(&T) -> &str,
    view: impl Fn(&T) -> Value,
) -> Result<Value, tenant_core::Error> {
    let window = &window.0;
    let start = match &window.after {
        None => 0,
        Some(after) => {
            let at = window
                .list
                .as_deref()
                .filter(|named| *named == list)
                .and_then(|_| items.iter().position(|item| id_of(item) == after));
            match at {
                Some(at) => at + 1,
                None => {
                    return Err(tenant_core::Error::field(
                        "cursor",
                        format!(
                            "this cursor does not belong to this list: use the next_cursor of a page of {list}"
                        ),
                    ));
                }
            }
        }
    };
    let limit = usize::try_from(window.limit).unwrap_or(usize::MAX);
    let page: Vec<&T> = items.iter().skip(start).take(limit).collect();
    let more = start + page.len() < items.len();
    let next = page
        .last()
        .filter(|_| more)
        .map(|last| format!("{list}.{}", id_of(last)));
    Ok(json!({
        "items": page.into_iter().map(view).collect::<Vec<_>>(),
        "next_cursor": next,
    }))
}

/// A list's checked `?limit=&cursor=`: where to continue (the last id of the page before)
/// and how many.
#[derive(Debug)]
pub struct Window {
    /// The last id seen, from the cursor.
    pub after: Option<String>,
    /// How many, 1 to 200 (default 50).
    pub limit: u32,
    /// The list the cursor names (checked by [`window`]; by [`page_whole`] for lists read
    /// whole).
    list: Option<String>,
}

/// Checks a list's `?limit=` (1 to 200, default 50) and `?cursor=`: a cursor is the list's
/// name and the last id of the page before (`users.01a2…`), so one that was not made by
/// this list (garbage, or another list's) is refused with 422 instead of being read as an
/// empty last page.
pub fn window(
    list: &'static str,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Window, ApiError> {
    let window = check_window(limit, cursor, |id| {
        id.len() == 24 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })?;
    match &window.list {
        Some(named) if named != list => Err(foreign_cursor(list)),
        _ => Ok(window),
    }
}

/// [`window`] for a list whose cursor is an event id (a number): activity feeds.
pub fn event_window(
    list: &'static str,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Window, ApiError> {
    let window = check_window(limit, cursor, |id| {
        id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit())
    })?;
    match &window.list {
        Some(named) if named != list => Err(foreign_cursor(list)),
        _ => Ok(window),
    }
}

fn foreign_cursor(list: &str) -> ApiError {
    tenant_core::Error::field(
        "cursor",
        format!(
            "this cursor does not belong to this list: use the next_cursor of a page of {list}"
        ),
    )
    .into()
}

/// Checks `limit` (1 to 200, default 50) and splits `cursor` into its list's name and an id
/// that `id_ok` accepts.
fn check_window(
    limit: Option<u32>,
    cursor: Option<&str>,
    id_ok: impl Fn(&str) -> bool,
) -> Result<Window, ApiError> {
    let limit = match limit {
        None => 50,
        Some(n @ 1..=200) => n,
        Some(_) => {
            return Err(tenant_core::Error::field("limit", "limit must be from 1 to 200").into());
        }
    };
    let Some(cursor) = cursor else {
        return Ok(Window {
            after: None,
            limit,
            list: None,
        });
    };
    let parsed = cursor.split_once('.').filter(|(list, id)| {
        !list.is_empty()
            && list.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            && !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            && id_ok(id)
    });
    match parsed {
        Some((list, id)) => Ok(Window {
            after: Some(id.to_owned()),
            limit,
            list: Some(list.to_owned()),
        }),
        None => Err(tenant_core::Error::field(
            "cursor",
            "this is not a cursor of this list: use the next_cursor of the page before",
        )
        .into()),
    }
}

/// A page of `list` in the list shape, its `next_cursor` made for [`window`] to read.
pub fn page_of<T>(list: &'static str, page: Page<T>, view: impl Fn(&T) -> Value) -> Value {
    json!({
        "items": page.items.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor.map(|id| format!("{list}.{id}")),
    })
}

/// A JSON value as the bytes of an answer's body.
pub(crate) fn json_bytes(value: &Value) -> Vec<u8> {
    // A `Value` always serialises (its map keys are strings).
    serde_json::to_vec(value).unwrap_or_default()
}

/// A `200` JSON answer of bytes made by [`json_bytes`] (kept by
/// [`tenant_core::TenantStore::remembered`]).
pub(crate) fn json_answer(body: std::sync::Arc<Vec<u8>>) -> axum::response::Response {
    let bytes = crate::http::headers::kept(body);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// An empty success.
#[derive(Debug, Serialize)]
pub struct Done {
    /// Always true.
    pub ok: bool,
}

/// The `?limit=&cursor=` of a list, or the sentence saying what is wrong with it.
pub(crate) fn paging(query: Result<Query<Paging>, QueryRejection>) -> ApiResult<Paging> {
    query
        .map(|Query(p)| p)
        .map_err(|e| ApiError::BadBody(e.body_text()))
}

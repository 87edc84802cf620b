//! `GET /api/v1/search?q=`: what the caller may see that matches, best first; see
//! [`tenant_core::talk::search`].

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::talk::search::{self, Found, MARK_END, MARK_START};

use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// A snippet as HTML: its text escaped, its matched words in `<mark>`.
pub(crate) fn highlighted(snippet: &str) -> String {
    let mut html = String::with_capacity(snippet.len() + 16);
    for c in snippet.chars() {
        match c {
            MARK_START => html.push_str("<mark>"),
            MARK_END => html.push_str("</mark>"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '&' => html.push_str("&amp;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html
}

/// A snippet as plain text (the marks taken out).
fn plain(snippet: &str) -> String {
    snippet
        .chars()
        .filter(|c| *c != MARK_START && *c != MARK_END)
        .collect()
}

/// A result as the API shows it.
pub(crate) fn found_view(found: &Found) -> Value {
    json!({
        "kind": found.kind.as_str(),
        "id": found.id,
        "project": found.project_id,
        "title": found.title,
        "snippet": plain(&found.snippet),
        "highlighted": highlighted(&found.snippet),
        "link": found.link,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /api/v1/search?q=&limit=` (at most 50, default 20).
pub(crate) async fn search(
    caller: Caller,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let found = search::search(
        caller.tenant.store(),
        &caller.principal,
        &query.q,
        query.limit.unwrap_or(20),
    )
    .await?;
    Ok(Json(json!({
        "items": found.iter().map(found_view).collect::<Vec<_>>(),
        "next_cursor": null,
    })))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    vec![route(
        axum::http::Method::GET,
        "/api/v1/search",
        "Search what you may see (projects, tasks, discussions, comments and messages, chat, file names), best first: ?q=&limit= (at most 50)",
        Access::SignedIn,
        &[],
        routing::get(search),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_and_marked() {
        let snippet = format!("a <b>{MARK_START}logo{MARK_END}</b> & \"x\"");
        assert_eq!(
            highlighted(&snippet),
            "a &lt;b&gt;<mark>logo</mark>&lt;/b&gt; &amp; &quot;x&quot;"
        );
        assert_eq!(plain(&snippet), "a <b>logo</b> & \"x\"");
    }
}

//! `/search?q=`: the header's search box, the results the viewer may see, best first,
//! each with where it matched (the matched words marked) and a link to it.

use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use maud::{PreEscaped, html};
use serde::Deserialize;
use tenant_core::talk::search::{self, FoundKind};

use crate::api::search::highlighted;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::layout::{Section, notice};

/// The search page.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/search", "GET", get(show))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn kind_label(kind: FoundKind) -> &'static str {
    match kind {
        FoundKind::Project => "Project",
        FoundKind::Task => "Task",
        FoundKind::Discussion => "Discussion",
        FoundKind::Comment => "Comment",
        FoundKind::Chat => "Chat",
        FoundKind::File => "File",
    }
}

/// `GET /search?q=`.
async fn show(viewer: Viewer, Query(query): Query<SearchQuery>) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let q = query.q.trim();
    let results = if q.is_empty() {
        Ok(Vec::new())
    } else {
        search::search(viewer.tenant.store(), principal, q, 50).await
    };
    let (found, problem) = match results {
        Ok(found) => (found, None),
        Err(error) => {
            let status = crate::http::error::status_of(&error);
            (
                Vec::new(),
                Some((
                    status,
                    crate::http::error::ApiError::Core(error).page_message(),
                )),
            )
        }
    };
    let body = html! {
        h1 { "Search" }
        form.card method="get" action="/search" role="search" {
            label for="f-q" { "Find" }
            input id="f-q" type="search" name="q" value=(q) maxlength="200" autofocus;
            div.actions { button type="submit" { "Search" } }
        }
        @if let Some((_, message)) = &problem { (notice(message, true)) }
        @else if !q.is_empty() {
            section.card aria-labelledby="results" {
                h2 id="results" {
                    @if found.is_empty() { "Nothing found for \u{201c}" (q) "\u{201d}" }
                    @else { (found.len()) @if found.len() == 1 { " result" } @else { " results" } " for \u{201c}" (q) "\u{201d}" }
                }
                ol.results {
                    @for item in &found {
                        li {
                            span.badge { (kind_label(item.kind)) } " "
                            a href=(item.link) { (item.title) }
                            @if !item.snippet.is_empty() {
                                p.snippet { (PreEscaped(highlighted(&item.snippet))) }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = problem.map_or(axum::http::StatusCode::OK, |(status, _)| status);
    Ok(viewer.page_with_status(status, "Search", Section::Other, body))
}

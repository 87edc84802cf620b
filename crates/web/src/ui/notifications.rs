//! The Notifications page (the bell's list, marking read, and how each kind reaches the
//! viewer) and the unsubscribe page a notification mail links to, which needs no sign-in:
//! its sealed token is the proof, and it names nothing but the brand's own name.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use tenant_core::talk::notifications::{self, Email, Kind, Unsubscribe, Which};

use crate::http::error::status_of;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Pairs, field};
use crate::ui::layout::{Section, csrf_field, notice};

/// The pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/assets/live.js", "GET", get(script))
        .route("/notifications", "GET", get(list))
        .route("/notifications/read", "POST", axum::routing::post(read))
        .route(
            "/notifications/settings",
            "POST",
            axum::routing::post(save_settings),
        )
        .route(
            "/unsubscribe/{token}",
            "GET POST",
            get(confirm_unsubscribe).post(unsubscribe),
        )
}

/// Every signed-in page's live updates and bell.
const SCRIPT: &str = include_str!("live.js");

/// `GET /assets/live.js`.
async fn script() -> Response {
    crate::ui::layout::script_answer(SCRIPT)
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /notifications`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let store = viewer.tenant.store();
    let page = notifications::list(store, principal, false, query.cursor.as_deref(), 50).await;
    let settings = notifications::settings(store, principal).await;
    let message = match query.done.as_deref() {
        Some("read") => Some("Marked read."),
        Some("settings") => Some("Your notification settings are saved."),
        _ => None,
    };
    let dates = viewer.look.date_format;
    let body = html! {
        h1 { "Notifications" }
        @if let Some(text) = message { (notice(text, false)) }
        section.card aria-labelledby="list" {
            h2 id="list" { "What happened" }
            @match &page {
                Ok(page) if page.items.is_empty() => p.hint { "Nothing yet. You are told here when someone assigns you a task, moves or changes one of yours, adds you to a project, or when a task of yours is due." },
                Ok(page) => {
                    form method="post" action="/notifications/read" {
                        (csrf_field(&viewer.token))
                        input type="hidden" name="all" value="1";
                        div.actions style="margin-top:0" { button.secondary type="submit" { "Mark all read" } }
                    }
                    ol.activity {
                        @for item in &page.items {
                            li.unread[item.read_at.is_none()] {
                                @if item.read_at.is_none() { span.status { "new" } " " }
                                a href=(item.link) { (item.sentence) }
                                " " span.hint { (dates.date(item.created_at.date())) " " (format!("{:02}:{:02}", item.created_at.hour(), item.created_at.minute())) " UTC" }
                                @if item.read_at.is_none() {
                                    form method="post" action="/notifications/read" {
                                        (csrf_field(&viewer.token))
                                        input type="hidden" name="id" value=(item.id);
                                        button.secondary type="submit" aria-label={ "Mark read: " (item.sentence) } { "Mark read" }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(next) = &page.next_cursor {
                        p { a href={ "/notifications?cursor=" (next) } { "Older →" } }
                    }
                },
                Err(_) => p.hint { "Your notifications cannot be listed right now." },
            }
        }
        section.card aria-labelledby="settings" {
            h2 id="settings" { "How you are told" }
            @match &settings {
                Ok(settings) => form method="post" action="/notifications/settings" {
                    (csrf_field(&viewer.token))
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "In the app" } th scope="col" { "By e-mail" } } }
                        tbody {
                            @for (kind, setting) in settings {
                                tr {
                                    th scope="row" { (kind.label()) }
                                    td { label.check { input type="checkbox" name={ (kind.as_str()) ".in_app" } value="1" checked[setting.in_app]; "Show" } }
                                    td {
                                        select name={ (kind.as_str()) ".email" } aria-label={ "E-mail: " (kind.label()) } {
                                            @for (word, label) in [(Email::Now, "At once"), (Email::Daily, "In a daily digest"), (Email::Never, "Never")] {
                                                option value=(word.as_str()) selected[setting.email == word] { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p.hint { "The daily digest is sent at 07:00 UTC with what came since the last one." }
                    div.actions { button type="submit" { "Save settings" } }
                },
                Err(_) => p.hint { "Your settings cannot be read right now." },
            }
        }
    };
    Ok(viewer.page("Notifications", Section::Other, body))
}

/// `POST /notifications/read`: one (`id`) or all (`all`).
pub(crate) async fn read(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let which = if field(&pairs, "all") == "1" {
        Which::All
    } else {
        Which::Ids(vec![field(&pairs, "id").to_owned()])
    };
    match notifications::mark_read(viewer.tenant.store(), principal, &which).await {
        Ok(_) => Ok(Redirect::to("/notifications?done=read").into_response()),
        Err(error) => Err(viewer.refusal("Notifications", Section::Other, error)),
    }
}

/// `POST /notifications/settings`: every kind's box and choice (kinds the form did not
/// carry are kept as they are).
pub(crate) async fn save_settings(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let changes: Vec<(String, Option<bool>, Option<String>)> = Kind::ALL
        .iter()
        .map(|kind| {
            let word = kind.as_str();
            let email_field = format!("{word}.email");
            // A kind the form did not show (a page from before it existed) is kept.
            if !pairs.iter().any(|(name, _)| *name == email_field) {
                return (word.to_owned(), None, None);
            }
            let shown = field(&pairs, &format!("{word}.in_app")) == "1";
            let email = field(&pairs, &email_field).to_owned();
            (word.to_owned(), Some(shown), Some(email))
        })
        .collect();
    match notifications::change_settings(viewer.tenant.store(), principal, &changes).await {
        Ok(_) => Ok(Redirect::to("/notifications?done=settings").into_response()),
        Err(error) => Err(viewer.refusal("Notifications", Section::Other, error)),
    }
}

fn what_stops(what: Unsubscribe) -> String {
    match what {
        Unsubscribe::All => "every notification e-mail".to_owned(),
        Unsubscribe::Kind(kind) => format!("e-mails when: {}", kind.label().to_lowercase()),
    }
}

/// `GET /unsubscribe/{token}`: says what the button stops (a link opened by a mail
/// scanner changes nothing).
pub(crate) async fn confirm_unsubscribe(viewer: Viewer, Path(token): Path<String>) -> Response {
    let brand = viewer.look.name.clone();
    match notifications::read_unsubscribe(viewer.tenant.store(), &token).await {
        Ok((_, email, what)) => viewer.page(
            "Unsubscribe",
            Section::Other,
            html! {
                div.narrow { div.card {
                    h1 { "Unsubscribe" }
                    p { "Stop " (what_stops(what)) " from " (brand) " to " strong { (email) } "?" }
                    p.hint { "You still see notifications in the app; you can turn mail on again in your notification settings." }
                    form method="post" action={ "/unsubscribe/" (token) } {
                        div.actions { button type="submit" { "Unsubscribe" } }
                    }
                } }
            },
        ),
        Err(error) => viewer.page_with_status(
            status_of(&error),
            "Unsubscribe",
            Section::Other,
            html! { div.narrow { div.card { h1 { "Unsubscribe" } (notice("This unsubscribe link is not valid. Change what you are mailed in your notification settings.", true)) } } },
        ),
    }
}

/// `POST /unsubscribe/{token}`: the page's button, or a mail program's one-click
/// unsubscribe (RFC 8058: `List-Unsubscribe=One-Click`). No session and no origin check:
/// the sealed token is the proof.
pub(crate) async fn unsubscribe(viewer: Viewer, Path(token): Path<String>) -> Response {
    let brand = viewer.look.name.clone();
    match notifications::unsubscribe(viewer.tenant.store(), &token).await {
        Ok((email, what)) => viewer.page(
            "Unsubscribed",
            Section::Other,
            html! {
                div.narrow { div.card {
                    h1 { "Unsubscribed" }
                    p { (brand) " no longer sends " (what_stops(what)) " to " strong { (email) } "." }
                } }
            },
        ),
        Err(error) => viewer.page_with_status(
            status_of(&error),
            "Unsubscribe",
            Section::Other,
            html! { div.narrow { div.card { h1 { "Unsubscribe" } (notice("This unsubscribe link is not valid. Change what you are mailed in your notification settings.", true)) } } },
        ),
    }
}

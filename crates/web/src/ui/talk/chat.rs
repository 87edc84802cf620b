//! The team chat pages (staff with `chat.team`): `/chat` lists the viewer's channels with
//! their unread counts and opens new ones; `/chat/{channel}` shows a channel's newest
//! messages (older ones a page at a time) and the box to write, and reading it moves the
//! viewer's read cursor to its newest message. Everything works without JavaScript;
//! `/assets/talk.js` adds messages as they are written and keeps the counts live.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use tenant_core::Error;
use tenant_core::access::Principal;
use tenant_core::talk::chat::{self, Channel, ChannelKind, ChatMessage, NewChannel};

use crate::http::error::status_of;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Failed, Pairs, error_line, field, sent};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The chat pages.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/chat", "GET", get(show_list))
        .route("/chat/channels", "POST", post(create_channel))
        .route("/chat/direct", "POST", post(open_direct))
        .route("/chat/{channel}", "GET", get(show_channel))
        .route("/chat/{channel}/messages", "POST", post(post_message))
}

fn channel_label(channel: &Channel) -> String {
    match channel.kind {
        ChannelKind::Direct => channel.name.clone(),
        _ => format!("#{}", channel.name),
    }
}

/// The list of the viewer's channels, the current one marked.
fn channel_nav(channels: &[Channel], current: Option<&str>) -> Markup {
    html! {
        nav.channels aria-label="Channels" {
            @if channels.is_empty() { p.hint { "No channels yet." } }
            ul {
                @for c in channels {
                    li data-channel=(c.id) {
                        a href={ "/chat/" (c.id) } aria-current=[(current == Some(c.id.as_str())).then_some("page")] {
                            (channel_label(c))
                            @if c.kind == ChannelKind::Team { " " span.hint { "(team)" } }
                        }
                        " "
                        span.unread.count aria-label={ (c.unread) " unread" } hidden[c.unread == 0] { (c.unread) }
                    }
                }
            }
        }
    }
}

/// `GET /chat`.
async fn show_list(viewer: Viewer) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_list(&viewer, principal, None, None, StatusCode::OK).await)
}

async fn render_list(
    viewer: &Viewer,
    principal: &Principal,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let channels = match chat::list_channels(store, principal).await {
        Ok(channels) => channels,
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => return viewer.refusal("Chat", Section::Chat, error),
    };
    let colleagues = chat::colleagues(store, principal, None)
        .await
        .unwrap_or_default();
    let teams = tenant_core::accounts::teams::list_teams(store, principal)
        .await
        .unwrap_or_default();
    let typed = Failed::typed(failed, "channel");
    let name = typed.map(|t| field(t, "name")).unwrap_or("").to_owned();
    let body = html! {
        h1 { "Chat" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        div.chat {
            (channel_nav(&channels, None))
            div {
                section.card aria-labelledby="new-channel" {
                    h2 id="new-channel" { "New channel" }
                    form method="post" action="/chat/channels" novalidate {
                        (csrf_field(&viewer.token))
                        (Field::new("name", "Name").value(&name).required().maxlength(80)
                            .error(Failed::error(failed, "channel", "name").as_deref()))
                        label for="f-team" { "Who is in it" }
                        select id="f-team" name="team" {
                            option value="" { "All staff" }
                            @for team in &teams { option value=(team.id) { "The team " (team.name) } }
                        }
                        (error_line(Failed::error(failed, "channel", "team")))
                        div.actions { button type="submit" { "Open channel" } }
                    }
                }
                section.card aria-labelledby="direct" {
                    h2 id="direct" { "Direct message" }
                    @if colleagues.is_empty() {
                        p.hint { "Nobody else uses team chat yet." }
                    } @else {
                        form method="post" action="/chat/direct" {
                            (csrf_field(&viewer.token))
                            label for="f-user" { "With" }
                            select id="f-user" name="user" {
                                @for (id, name) in &colleagues { option value=(id) { (name) } }
                            }
                            (error_line(Failed::error(failed, "direct", "user")))
                            div.actions { button type="submit" { "Open" } }
                        }
                    }
                }
            }
        }
        script src="/assets/talk.js" defer {}
    };
    viewer.page_with_status(status, "Chat", Section::Chat, body)
}

/// `POST /chat/channels`.
async fn create_channel(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let new = NewChannel {
        name: field(&pairs, "name").to_owned(),
        team: sent(&pairs, "team"),
    };
    match chat::create_channel(viewer.tenant.store(), principal, &new).await {
        Ok(channel) => Ok(Redirect::to(&format!("/chat/{}", channel.id)).into_response()),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("channel", pairs, error);
            Ok(render_list(
                &viewer,
                principal,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

/// `POST /chat/direct`.
async fn open_direct(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    match chat::open_direct(viewer.tenant.store(), principal, field(&pairs, "user")).await {
        Ok(channel) => Ok(Redirect::to(&format!("/chat/{}", channel.id)).into_response()),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("direct", pairs, error);
            Ok(render_list(
                &viewer,
                principal,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HistoryQuery {
    #[serde(default)]
    before: Option<String>,
}

/// `GET /chat/{channel}`: its newest 50 messages (`?before=` for older ones); reading
/// the newest moves the viewer's read cursor to it.
async fn show_channel(
    viewer: Viewer,
    Path(channel): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_channel(
        &viewer,
        principal,
        &channel,
        query.before.as_deref(),
        None,
        None,
        StatusCode::OK,
    )
    .await)
}

fn message_item(viewer: &Viewer, message: &ChatMessage) -> Markup {
    let dates = viewer.look.date_format;
    html! {
        li.comment id={ "message-" (message.id) } data-comment=(message.id) {
            p.meta {
                strong { (message.author_name.as_deref().unwrap_or("Someone no longer here")) }
                " · " time datetime=(crate::api::views::rfc3339(message.created_at)) {
                    (dates.date(message.created_at.date())) " "
                    (format!("{:02}:{:02}", message.created_at.hour(), message.created_at.minute())) " UTC"
                }
            }
            div.body { (PreEscaped(message.body.html())) }
        }
    }
}

async fn render_channel(
    viewer: &Viewer,
    principal: &Principal,
    channel_id: &str,
    before: Option<&str>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let page = match chat::list_messages(store, principal, channel_id, before, 50).await {
        Ok(page) => page,
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => return viewer.refusal("Chat", Section::Chat, error),
    };
    // Showing the newest messages reads them.
    if before.is_none()
        && let Some(newest) = page.items.first()
        && let Err(error) = chat::mark_read(store, principal, channel_id, &newest.id).await
    {
        tracing::warn!(error = %error, "could not move a read cursor");
    }
    let channels = chat::list_channels(store, principal)
        .await
        .unwrap_or_default();
    let Some(channel) = channels.iter().find(|c| c.id == channel_id) else {
        return viewer.refusal(
            "Chat",
            Section::Chat,
            Error::NotFound("there is no such channel".to_owned()),
        );
    };
    let typed = Failed::typed(failed, "message");
    let text = typed.map(|t| field(t, "body")).unwrap_or("").to_owned();
    let title = channel_label(channel);
    let body = html! {
        p { a href="/chat" { "← Chat" } }
        h1 { (title) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        div.chat {
            (channel_nav(&channels, Some(channel_id)))
            section.card.thread.chat-room aria-labelledby="room" data-channel=(channel.id) data-thread="chat" {
                h2 id="room" { "Messages" }
                @if let Some(older) = &page.next_cursor {
                    p { a href={ "/chat/" (channel.id) "?before=" (older) } { "← Older messages" } }
                }
                ol.comments aria-live="polite" {
                    @for m in page.items.iter().rev() { (message_item(viewer, m)) }
                }
                @if page.items.is_empty() { p.hint.empty { "Nothing written yet: say hello." } }
                @if before.is_some() { p { a href={ "/chat/" (channel.id) } { "Newest messages →" } } }
                form.comment-form method="post" action={ "/chat/" (channel.id) "/messages" } novalidate {
                    (csrf_field(&viewer.token))
                    label for="f-body" { "Message" }
                    textarea id="f-body" name="body" rows="3" required maxlength="20000" data-mentions="on" { (text) }
                    p.hint { "Markdown works; @ and a name mentions someone in this channel." }
                    (error_line(Failed::error(failed, "message", "body")))
                    div.actions { button type="submit" { "Send" } }
                }
            }
        }
        script src="/assets/talk.js" defer {}
    };
    viewer.page_with_status(status, &title, Section::Chat, body)
}

/// `POST /chat/{channel}/messages`.
async fn post_message(
    viewer: Viewer,
    headers: HeaderMap,
    Path(channel): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    match chat::post_message(
        viewer.tenant.store(),
        principal,
        &channel,
        field(&pairs, "body"),
    )
    .await
    {
        Ok(message) => {
            Ok(Redirect::to(&format!("/chat/{channel}#message-{}", message.id)).into_response())
        }
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("message", pairs, error);
            Ok(render_channel(
                &viewer,
                principal,
                &channel,
                None,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

//! `/api/v1/chat/…`: team chat for staff with `chat.team` (channels, direct channels,
//! history, read cursors); see [`tenant_core::talk::chat`].

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::talk::chat::{self, Channel, ChatMessage, NewChannel};

use crate::api::views::{self, rfc3339};
use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// A channel as the API shows it to one of its members.
pub(crate) fn channel_view(channel: &Channel) -> Value {
    json!({
        "id": channel.id,
        "kind": channel.kind.as_str(),
        "name": channel.name,
        "team": channel.team_id,
        "user": channel.other_user_id,
        "unread": channel.unread,
        "last_message_at": channel.last_message_at.map(rfc3339),
        "created_at": rfc3339(channel.created_at),
    })
}

/// A chat message as the API shows it.
pub(crate) fn message_view(message: &ChatMessage) -> Value {
    json!({
        "id": message.id,
        "channel": message.channel_id,
        "body": message.body.markdown(),
        "html": message.body.html(),
        "author": message.author_id.as_ref().map(|id| json!({"id": id, "name": message.author_name})),
        "created_at": rfc3339(message.created_at),
    })
}

/// `GET /api/v1/chat/channels`: the caller's channels with their unread counts.
pub(crate) async fn list_channels(caller: Caller) -> ApiResult<Json<Value>> {
    let channels = chat::list_channels(caller.tenant.store(), &caller.principal).await?;
    let unread: i64 = channels.iter().map(|c| c.unread).sum();
    Ok(Json(json!({
        "items": channels.iter().map(channel_view).collect::<Vec<_>>(),
        "next_cursor": null,
        "unread": unread,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateChannel {
    name: String,
    #[serde(default)]
    team: Option<String>,
}

/// `POST /api/v1/chat/channels`: open to all staff, or a team's with `team`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create_channel(
    caller: Caller,
    body: Result<Json<CreateChannel>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let new = NewChannel {
        name: body.name,
        team: body.team,
    };
    let channel = chat::create_channel(caller.tenant.store(), &caller.principal, &new).await?;
    Ok((StatusCode::CREATED, Json(channel_view(&channel))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Direct {
    user: String,
}

/// `POST /api/v1/chat/direct`: opens (or finds) the direct channel with `user`.
#[tracing::instrument(skip_all)]
pub(crate) async fn open_direct(
    caller: Caller,
    body: Result<Json<Direct>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let channel = chat::open_direct(caller.tenant.store(), &caller.principal, &body.user).await?;
    Ok(Json(channel_view(&channel)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/chat/channels/{channel_id}/messages`: newest first; `next_cursor` pages
/// back.
pub(crate) async fn list_messages(
    caller: Caller,
    Path(channel_id): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("chat", query.limit, query.cursor.as_deref())?;
    let page = chat::list_messages(
        caller.tenant.store(),
        &caller.principal,
        &channel_id,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("chat", page, message_view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Post {
    body: String,
}

/// `POST /api/v1/chat/channels/{channel_id}/messages`.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_message(
    caller: Caller,
    Path(channel_id): Path<String>,
    body: Result<Json<Post>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let message = chat::post_message(
        caller.tenant.store(),
        &caller.principal,
        &channel_id,
        &body.body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(message_view(&message))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Read {
    up_to: String,
}

/// `POST /api/v1/chat/channels/{channel_id}/read`: moves the caller's read cursor.
#[tracing::instrument(skip_all)]
pub(crate) async fn mark_read(
    caller: Caller,
    Path(channel_id): Path<String>,
    body: Result<Json<Read>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let channel = chat::mark_read(
        caller.tenant.store(),
        &caller.principal,
        &channel_id,
        &body.up_to,
    )
    .await?;
    Ok(Json(channel_view(&channel)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MentionQuery {
    #[serde(default)]
    q: Option<String>,
}

/// `GET /api/v1/chat/channels/{channel_id}/mentionable?q=`: the channel's members, for `@`
/// to complete to.
pub(crate) async fn mentionable(
    caller: Caller,
    Path(channel_id): Path<String>,
    query: Result<Query<MentionQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let people = chat::mentionable(
        caller.tenant.store(),
        &caller.principal,
        &channel_id,
        query.q.as_deref(),
    )
    .await?;
    Ok(Json(crate::api::talk::conversations::people_view(
        &caller.principal,
        &people,
    )))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    vec![
        route(
            M::GET,
            "/api/v1/chat/channels",
            "Your team chat channels (open, your teams', your direct ones) with unread counts",
            Permission(P::ChatTeam),
            NONE,
            routing::get(list_channels),
        ),
        route(
            M::POST,
            "/api/v1/chat/channels",
            "Open a channel for all staff, or for a team (team: its id; you must be in it or hold teams.manage)",
            Permission(P::ChatTeam),
            &[("name", "string", true), ("team", "string", false)],
            routing::post(create_channel),
        ),
        route(
            M::POST,
            "/api/v1/chat/direct",
            "Open (or find) the direct channel with a staff member (user: their id)",
            Permission(P::ChatTeam),
            &[("user", "string", true)],
            routing::post(open_direct),
        ),
        route(
            M::GET,
            "/api/v1/chat/channels/{channel_id}/mentionable",
            "Who @ completes to in a channel: its members but you (?q= a part of the name or address)",
            Permission(P::ChatTeam),
            NONE,
            routing::get(mentionable),
        ),
        route(
            M::GET,
            "/api/v1/chat/channels/{channel_id}/messages",
            "A channel's history, newest first (next_cursor pages back)",
            Permission(P::ChatTeam),
            NONE,
            routing::get(list_messages),
        ),
        route(
            M::POST,
            "/api/v1/chat/channels/{channel_id}/messages",
            "Write in a channel (Markdown body; @ mentions of its members)",
            Permission(P::ChatTeam),
            &[("body", "string", true)],
            routing::post(post_message),
        ),
        route(
            M::POST,
            "/api/v1/chat/channels/{channel_id}/read",
            "Mark the channel read up to a message (up_to: its id; never moves back); answers the channel with its unread count",
            Permission(P::ChatTeam),
            &[("up_to", "string", true)],
            routing::post(mark_read),
        ),
    ]
}

//! `/api/v1/projects/{id}/discussions`, `…/tasks/{task_id}/comments`, `…/messages`,
//! `…/comments/{comment_id}` and `…/mentionable`: a project's conversations. Each handler
//! reads its input and calls the one service entry of its action in
//! [`tenant_core::talk`], which opens the thread (reach, the item, its permission) before
//! it reads the input.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::Principal;
use tenant_core::talk::comments::{self, Comment, NewComment};
use tenant_core::talk::discussions::{self, Discussion, DiscussionChange, NewDiscussion};
use tenant_core::talk::markdown::Body;
use tenant_core::talk::threads::{Attachment, Person, ThreadKind, ThreadRef};

use crate::api::views::{self, rfc3339};
use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

fn attachment_view(project_id: &str, attachment: &Attachment) -> Value {
    json!({
        "id": attachment.file_id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "image": attachment.is_image(),
        "url": format!("/api/v1/projects/{project_id}/files/{}/content", attachment.file_id),
    })
}

/// A comment as the API shows it (a removed one without its text).
pub(crate) fn comment_view(comment: &Comment) -> Value {
    json!({
        "id": comment.id,
        "project": comment.project_id,
        "thread": comment.thread.as_str(),
        "item": comment.item_id,
        "body": comment.body.as_ref().map(Body::markdown),
        "html": comment.body.as_ref().map(Body::html),
        "author": comment.author_id.as_ref().map(|id| json!({
            "id": id,
            "name": comment.author_name,
            "kind": comment.author_kind.map(|k| k.as_str()),
        })),
        "attachments": comment.attachments.iter().map(|a| attachment_view(&comment.project_id, a)).collect::<Vec<_>>(),
        "visibility": comment.visibility.as_str(),
        "edited_at": comment.edited_at.map(rfc3339),
        "removed": comment.removed_at.is_some(),
        "removed_at": comment.removed_at.map(rfc3339),
        "created_at": rfc3339(comment.created_at),
    })
}

/// A discussion as the API shows it.
pub(crate) fn discussion_view(discussion: &Discussion) -> Value {
    json!({
        "id": discussion.id,
        "project": discussion.project_id,
        "subject": discussion.subject,
        "body": discussion.body.markdown(),
        "html": discussion.body.html(),
        "visibility": discussion.visibility.as_str(),
        "author": discussion.author_id.as_ref().map(|id| json!({"id": id, "name": discussion.author_name})),
        "attachments": discussion.attachments.iter().map(|a| attachment_view(&discussion.project_id, a)).collect::<Vec<_>>(),
        "comments": discussion.comments,
        "last_activity_at": rfc3339(discussion.last_activity_at),
        "edited_at": discussion.edited_at.map(rfc3339),
        "created_at": rfc3339(discussion.created_at),
    })
}

/// Someone `@` completes to; `mention` is what to type (the e-mail address when the
/// name is shared in the list).
fn person_view(viewer: &Principal, person: &Person, shared_name: bool) -> Value {
    let staff = viewer.kind() == tenant_core::access::UserKind::Staff;
    json!({
        "id": person.id,
        "name": person.name,
        "kind": person.kind.as_str(),
        "email": staff.then_some(&person.email),
        "mention": if shared_name { format!("@{}", person.email) } else { format!("@{}", person.name) },
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

fn list_window(
    list: &'static str,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<views::Window> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    views::window(list, query.limit, query.cursor.as_deref())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentBody {
    body: String,
    #[serde(default)]
    files: Vec<String>,
}

impl From<CommentBody> for NewComment {
    fn from(body: CommentBody) -> NewComment {
        NewComment {
            body: body.body,
            files: body.files,
        }
    }
}

async fn list_thread(
    caller: &Caller,
    id: &str,
    thread: ThreadRef<'_>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let list = match thread.kind() {
        ThreadKind::Messages => "messages",
        _ => "comments",
    };
    let window = list_window(list, query)?;
    let page = comments::list_comments(
        caller.tenant.store(),
        &caller.principal,
        id,
        thread,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of(list, page, comment_view)))
}

async fn post_thread(
    caller: &Caller,
    id: &str,
    thread: ThreadRef<'_>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let comment = comments::post_comment(
        caller.tenant.store(),
        &caller.principal,
        id,
        thread,
        &body.into(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(comment_view(&comment))))
}

/// `GET /api/v1/projects/{id}/tasks/{task_id}/comments`: oldest first.
pub(crate) async fn list_task_comments(
    caller: Caller,
    Path((id, task_id)): Path<(String, String)>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    list_thread(&caller, &id, ThreadRef::Task(&task_id), query).await
}

/// `POST /api/v1/projects/{id}/tasks/{task_id}/comments`.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_task_comment(
    caller: Caller,
    Path((id, task_id)): Path<(String, String)>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    post_thread(&caller, &id, ThreadRef::Task(&task_id), body).await
}

/// `GET /api/v1/projects/{id}/messages`: oldest first.
pub(crate) async fn list_messages(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    list_thread(&caller, &id, ThreadRef::Messages, query).await
}

/// `POST /api/v1/projects/{id}/messages`.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_message(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    post_thread(&caller, &id, ThreadRef::Messages, body).await
}

/// `GET /api/v1/projects/{id}/discussions/{discussion_id}/comments`: oldest first.
pub(crate) async fn list_discussion_comments(
    caller: Caller,
    Path((id, discussion_id)): Path<(String, String)>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    list_thread(&caller, &id, ThreadRef::Discussion(&discussion_id), query).await
}

/// `POST /api/v1/projects/{id}/discussions/{discussion_id}/comments`.
#[tracing::instrument(skip_all)]
pub(crate) async fn post_discussion_comment(
    caller: Caller,
    Path((id, discussion_id)): Path<(String, String)>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    post_thread(&caller, &id, ThreadRef::Discussion(&discussion_id), body).await
}

async fn edit_in(
    caller: &Caller,
    id: &str,
    comment_id: &str,
    expected: Option<ThreadRef<'_>>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let comment = comments::edit_comment(
        caller.tenant.store(),
        &caller.principal,
        id,
        comment_id,
        expected,
        &body.into(),
    )
    .await?;
    Ok(Json(comment_view(&comment)))
}

async fn remove_in(
    caller: &Caller,
    id: &str,
    comment_id: &str,
    expected: Option<ThreadRef<'_>>,
) -> ApiResult<Json<Value>> {
    let comment = comments::remove_comment(
        caller.tenant.store(),
        &caller.principal,
        id,
        comment_id,
        expected,
    )
    .await?;
    Ok(Json(comment_view(&comment)))
}

/// `PATCH /api/v1/projects/{id}/comments/{comment_id}`: any thread's comment.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit_comment(
    caller: Caller,
    Path((id, comment_id)): Path<(String, String)>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    edit_in(&caller, &id, &comment_id, None, body).await
}

/// `DELETE /api/v1/projects/{id}/comments/{comment_id}`: leaves "comment removed".
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_comment(
    caller: Caller,
    Path((id, comment_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    remove_in(&caller, &id, &comment_id, None).await
}

/// `PATCH /api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit_discussion_comment(
    caller: Caller,
    Path((id, discussion_id, comment_id)): Path<(String, String, String)>,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let thread = Some(ThreadRef::Discussion(&discussion_id));
    edit_in(&caller, &id, &comment_id, thread, body).await
}

/// `DELETE /api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn remove_discussion_comment(
    caller: Caller,
    Path((id, discussion_id, comment_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let thread = Some(ThreadRef::Discussion(&discussion_id));
    remove_in(&caller, &id, &comment_id, thread).await
}

/// `GET /api/v1/projects/{id}/discussions`: newest first.
pub(crate) async fn list_discussions(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let window = list_window("discussions", query)?;
    let page = discussions::list_discussions(
        caller.tenant.store(),
        &caller.principal,
        &id,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("discussions", page, discussion_view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateDiscussion {
    subject: String,
    body: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    files: Vec<String>,
}

/// `POST /api/v1/projects/{id}/discussions`: internal unless `visibility` is `client`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create_discussion(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CreateDiscussion>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let new = NewDiscussion {
        subject: body.subject,
        body: body.body,
        visibility: body.visibility,
        files: body.files,
    };
    let discussion =
        discussions::create_discussion(caller.tenant.store(), &caller.principal, &id, &new).await?;
    Ok((StatusCode::CREATED, Json(discussion_view(&discussion))))
}

/// `GET /api/v1/projects/{id}/discussions/{discussion_id}`.
pub(crate) async fn get_discussion(
    caller: Caller,
    Path((id, discussion_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let discussion = discussions::get_discussion(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &discussion_id,
    )
    .await?;
    Ok(Json(discussion_view(&discussion)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditDiscussion {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    files: Option<Vec<String>>,
}

/// `PATCH /api/v1/projects/{id}/discussions/{discussion_id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit_discussion(
    caller: Caller,
    Path((id, discussion_id)): Path<(String, String)>,
    body: Result<Json<EditDiscussion>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let change = DiscussionChange {
        subject: body.subject,
        body: body.body,
        visibility: body.visibility,
        files: body.files,
    };
    let discussion = discussions::update_discussion(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &discussion_id,
        &change,
    )
    .await?;
    Ok(Json(discussion_view(&discussion)))
}

/// `DELETE /api/v1/projects/{id}/discussions/{discussion_id}`: with its comments.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete_discussion(
    caller: Caller,
    Path((id, discussion_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    discussions::delete_discussion(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &discussion_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MentionQuery {
    thread: String,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// `GET /api/v1/projects/{id}/mentionable?thread=task|discussion|messages&item=&q=`: the
/// people who see the thread, for `@` to complete to.
pub(crate) async fn mentionable(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<MentionQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let item = query.item.as_deref().unwrap_or("");
    let thread = match ThreadKind::parse("thread", &query.thread)? {
        ThreadKind::Task => ThreadRef::Task(item),
        ThreadKind::Discussion => ThreadRef::Discussion(item),
        ThreadKind::Messages => ThreadRef::Messages,
    };
    let people = comments::mentionable(
        caller.tenant.store(),
        &caller.principal,
        &id,
        thread,
        query.q.as_deref(),
    )
    .await?;
    Ok(Json(people_view(&caller.principal, &people)))
}

/// The people `@` completes to, as a list: each with what to type (the e-mail address
/// when another of them has the same name).
pub(crate) fn people_view(viewer: &Principal, people: &[Person]) -> Value {
    let items: Vec<Value> = people
        .iter()
        .map(|p| {
            let shared = people
                .iter()
                .any(|o| o.id != p.id && o.name.eq_ignore_ascii_case(&p.name));
            person_view(viewer, p, shared)
        })
        .collect();
    json!({"items": items, "next_cursor": null})
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const COMMENT: &[(&str, &str, bool)] = &[("body", "string", true), ("files", "array", false)];
    const DISCUSS: Access = Project(Some(P::DiscussionsParticipate));
    const MESSAGES: Access = Project(Some(P::MessagesClients));
    vec![
        route(
            M::GET,
            "/api/v1/projects/{id}/discussions",
            "The project's discussions the caller sees, newest first",
            DISCUSS,
            NONE,
            routing::get(list_discussions),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/discussions",
            "Start a discussion: subject and body (Markdown; @ mentions), internal unless visibility is client (a client contact's are always client-visible), files: ids of the project's files",
            DISCUSS,
            &[
                ("subject", "string", true),
                ("body", "string", true),
                ("visibility", "string", false),
                ("files", "array", false),
            ],
            routing::post(create_discussion),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/discussions/{discussion_id}",
            "One discussion with its opening post",
            DISCUSS,
            NONE,
            routing::get(get_discussion),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/discussions/{discussion_id}",
            "Change a discussion: subject, body and files (its author), visibility (its author or an admin)",
            DISCUSS,
            &[
                ("subject", "string", false),
                ("body", "string", false),
                ("visibility", "string", false),
                ("files", "array", false),
            ],
            routing::patch(edit_discussion),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/discussions/{discussion_id}",
            "Remove a discussion with its comments (its author or an admin)",
            DISCUSS,
            NONE,
            routing::delete(delete_discussion),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments",
            "A discussion's comments, oldest first",
            DISCUSS,
            NONE,
            routing::get(list_discussion_comments),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments",
            "Comment on a discussion (Markdown body; @ mentions; files: ids of the project's files)",
            DISCUSS,
            COMMENT,
            routing::post(post_discussion_comment),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}",
            "Edit a comment of the discussion (its author)",
            DISCUSS,
            COMMENT,
            routing::patch(edit_discussion_comment),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/discussions/{discussion_id}/comments/{comment_id}",
            "Remove a comment of the discussion (its author or an admin): it stays as \"comment removed\"",
            DISCUSS,
            NONE,
            routing::delete(remove_discussion_comment),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/tasks/{task_id}/comments",
            "A task's comments, oldest first (seen by whoever sees the task)",
            DISCUSS,
            NONE,
            routing::get(list_task_comments),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/tasks/{task_id}/comments",
            "Comment on a task (Markdown body; @ mentions; files: ids of the project's files)",
            DISCUSS,
            COMMENT,
            routing::post(post_task_comment),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/messages",
            "The project's client messages (its one conversation between the client company's contacts and the agency), oldest first",
            MESSAGES,
            NONE,
            routing::get(list_messages),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/messages",
            "Write in the project's client messages (always client-visible; the project must be for a client company)",
            MESSAGES,
            COMMENT,
            routing::post(post_message),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/comments/{comment_id}",
            "Edit a comment or message of any of the project's conversations (its author)",
            Conversation,
            COMMENT,
            routing::patch(edit_comment),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/comments/{comment_id}",
            "Remove a comment or message (its author or an admin): it stays as \"comment removed\"",
            Conversation,
            NONE,
            routing::delete(remove_comment),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/mentionable",
            "Who @ completes to in a conversation: ?thread=task|discussion|messages&item=<task or discussion id>&q=",
            Conversation,
            NONE,
            routing::get(mentionable),
        ),
    ]
}

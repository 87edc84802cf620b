//! The pages of a project's conversations: the comments on a task's page, the Discussions
//! tab and each discussion's page, the Messages tab (the conversation with the client,
//! also the client portal's), and editing a comment. Every form works without JavaScript;
//! `/assets/talk.js` adds new comments as they are written (from the events stream) and
//! completes `@` mentions. What may be done is decided by [`tenant_core::talk`]; the pages
//! only leave out what the viewer could not use.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use tenant_core::Error;
use tenant_core::access::permissions::Permission;
use tenant_core::access::{Principal, UserKind};
use tenant_core::talk::comments::{self, Comment, NewComment};
use tenant_core::talk::discussions::{self, DiscussionChange, NewDiscussion};
use tenant_core::talk::threads::{Attachment, ThreadKind, ThreadRef};
use tenant_core::work::files::{self, FileFilter};
use tenant_core::work::projects::{self, Project, ProjectStatus};
use tenant_core::work::tasks::Visibility;

use crate::http::error::status_of;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{DoneQuery, Failed, Pairs, error_line, field, sent};
use crate::ui::layout::{Field, Section, csrf_field, notice};
use crate::ui::work::projects::{Tab, project_head};

const SCRIPT: &str = include_str!("talk.js");

/// The conversations' pages.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/assets/talk.js", "GET", get(script))
        .route(
            "/projects/{id}/tasks/{task}/comments",
            "POST",
            post(post_task_comment),
        )
        .route(
            "/projects/{id}/discussions",
            "GET POST",
            get(list_discussions).post(create_discussion),
        )
        .route(
            "/projects/{id}/discussions/{discussion}",
            "GET",
            get(show_discussion),
        )
        .route(
            "/projects/{id}/discussions/{discussion}/comments",
            "POST",
            post(post_discussion_comment),
        )
        .route(
            "/projects/{id}/discussions/{discussion}/edit",
            "POST",
            post(edit_discussion),
        )
        .route(
            "/projects/{id}/discussions/{discussion}/delete",
            "GET POST",
            get(confirm_delete_discussion).post(delete_discussion),
        )
        .route(
            "/projects/{id}/messages",
            "GET POST",
            get(show_messages).post(post_message),
        )
        .route(
            "/projects/{id}/comments/{comment}/edit",
            "GET POST",
            get(show_edit_comment).post(edit_comment),
        )
        .route(
            "/projects/{id}/comments/{comment}/remove",
            "POST",
            post(remove_comment),
        )
}

/// `GET /assets/talk.js`.
async fn script() -> Response {
    crate::ui::layout::script_answer(SCRIPT)
}

/// Whether the viewer's role lets them take part in a kind of thread (the store decides;
/// this only leaves out what they could not use).
pub(crate) fn takes_part(principal: &Principal, kind: ThreadKind) -> bool {
    principal.permissions().contains(kind.permission())
}

/// Whether the project has client messages at all (it is for a client company).
pub(crate) fn has_messages(project: &Project) -> bool {
    project.company_id.is_some()
}

fn thread_words(thread: ThreadRef<'_>) -> (&'static str, &'static str) {
    match thread.kind() {
        ThreadKind::Messages => ("Messages", "Write a message"),
        _ => ("Comments", "Add a comment"),
    }
}

/// Where a thread's comments are posted.
fn post_path(project_id: &str, thread: ThreadRef<'_>) -> String {
    match thread {
        ThreadRef::Task(task) => format!("/projects/{project_id}/tasks/{task}/comments"),
        ThreadRef::Discussion(d) => format!("/projects/{project_id}/discussions/{d}/comments"),
        ThreadRef::Messages => format!("/projects/{project_id}/messages"),
    }
}

/// A thread's page.
fn thread_page(project_id: &str, thread: ThreadRef<'_>) -> String {
    match thread {
        ThreadRef::Task(task) => format!("/projects/{project_id}/tasks/{task}"),
        ThreadRef::Discussion(d) => format!("/projects/{project_id}/discussions/{d}"),
        ThreadRef::Messages => format!("/projects/{project_id}/messages"),
    }
}

fn attachments_list(project_id: &str, attachments: &[Attachment], can_download: bool) -> Markup {
    html! {
        @if !attachments.is_empty() {
            ul.attachments {
                @for file in attachments {
                    @let content = format!("/api/v1/projects/{project_id}/files/{}/content", file.file_id);
                    li {
                        @if can_download {
                            @if file.is_image() {
                                a href=(content) {
                                    img.attached src={ "/api/v1/projects/" (project_id) "/files/" (file.file_id) "/preview" } alt=(file.name);
                                }
                                " "
                            }
                            a href=(content) { (file.name) }
                        } @else {
                            (file.name)
                        }
                        " " span.hint { "(" (files::human_bytes(u64::try_from(file.size).unwrap_or_default())) ")" }
                    }
                }
            }
        }
    }
}

/// One comment of a thread, with what its viewer may do to it.
fn comment_item(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    comment: &Comment,
    writable: bool,
) -> Markup {
    let own = comment.author_id.as_deref() == Some(principal.user_id());
    let moderates = principal.role_id() == "admin";
    let can_download = principal.permissions().contains(Permission::FilesDownload);
    let dates = viewer.look.date_format;
    html! {
        li.comment id={ "comment-" (comment.id) } data-comment=(comment.id) {
            p.meta {
                strong { (comment.author_name.as_deref().unwrap_or("Someone no longer here")) }
                @if comment.author_kind == Some(UserKind::Client) { " " span.badge { "client" } }
                " · " time datetime=(crate::api::views::rfc3339(comment.created_at)) {
                    (dates.date(comment.created_at.date())) " " (format!("{:02}:{:02}", comment.created_at.hour(), comment.created_at.minute())) " UTC"
                }
                @if comment.edited_at.is_some() && comment.removed_at.is_none() { " · " span.hint { "edited" } }
            }
            @match &comment.body {
                Some(body) => {
                    div.body { (PreEscaped(body.html())) }
                    (attachments_list(&project.id, &comment.attachments, can_download))
                    @if writable && (own || moderates) {
                        div.actions.inline {
                            @if own {
                                a href={ "/projects/" (project.id) "/comments/" (comment.id) "/edit" } { "Edit" }
                            }
                            form method="post" action={ "/projects/" (project.id) "/comments/" (comment.id) "/remove" } {
                                (csrf_field(&viewer.token))
                                button.link type="submit" aria-label={ "Remove the comment of " (comment.author_name.as_deref().unwrap_or("someone")) } { "Remove" }
                            }
                        }
                    }
                }
                None => { p.hint.removed { "Comment removed." } }
            }
        }
    }
}

/// The files a post could carry: the project's files the viewer sees (at most 100, newest
/// first), as a choice of several.
async fn file_choice(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    typed: &[String],
) -> Markup {
    let store = viewer.tenant.store();
    let files = files::list_files(
        store,
        principal,
        &project.id,
        &FileFilter::default(),
        None,
        100,
    )
    .await
    .map(|page| page.items)
    .unwrap_or_default();
    html! {
        @if !files.is_empty() {
            label for="f-files" { "Attach files of the project" }
            select id="f-files" name="files" multiple size="3" {
                @for file in &files {
                    option value=(file.id) selected[typed.contains(&file.id)] {
                        (file.current.name)
                        @if file.visibility == Visibility::Internal && principal.kind() == UserKind::Staff { " (internal)" }
                    }
                }
            }
            p.hint { "Hold Ctrl (or ⌘) to choose several. Only client-visible files can go into what the client sees." }
        }
    }
}

/// The values of a form field that may be sent several times.
fn all_of(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(key, value)| key == name && !value.trim().is_empty())
        .map(|(_, value)| value.clone())
        .collect()
}

/// A thread's comments and the form to write in it: on a task's page, a discussion's and
/// the Messages tab. Nothing when the viewer may not take part in it.
pub(crate) async fn thread_section(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    thread: ThreadRef<'_>,
    failed: Option<&Failed>,
) -> Markup {
    let store = viewer.tenant.store();
    let page = match comments::list_comments(store, principal, &project.id, thread, None, 200).await
    {
        Ok(page) => page,
        Err(_) => return html! {},
    };
    // Seen: the viewer's notifications of this thread are read now.
    let link = match thread {
        ThreadRef::Task(id) => format!("/projects/{}/tasks/{id}", project.id),
        ThreadRef::Discussion(id) => format!("/projects/{}/discussions/{id}", project.id),
        ThreadRef::Messages => format!("/projects/{}/messages", project.id),
    };
    if let Err(error) = tenant_core::talk::notifications::read_thread(store, principal, &link).await
    {
        tracing::warn!(%error, "cannot mark a thread's notifications read");
    }
    let (heading, prompt) = thread_words(thread);
    let writable = project.status != ProjectStatus::Archived;
    let typed = Failed::typed(failed, "comment");
    let body = typed.map(|t| field(t, "body")).unwrap_or("");
    let chosen = typed.map(|t| all_of(t, "files")).unwrap_or_default();
    let item = match thread {
        ThreadRef::Task(id) | ThreadRef::Discussion(id) => id,
        ThreadRef::Messages => "",
    };
    let no_company = thread == ThreadRef::Messages && !has_messages(project);
    html! {
        section.card.thread aria-labelledby="conversation" data-project=(project.id) data-thread=(thread.kind().as_str()) data-item=(item) {
            h2 id="conversation" { (heading) }
            @if thread.kind() == ThreadKind::Messages {
                p.hint { "The conversation between " (project.company_name.as_deref().unwrap_or("the client")) " and the agency: everyone on the project and the client's contacts see it." }
            }
            ol.comments aria-live="polite" {
                @for comment in &page.items { (comment_item(viewer, principal, project, comment, writable)) }
            }
            @if page.items.is_empty() { p.hint.empty { "Nothing written yet." } }
            @if let Some(next) = &page.next_cursor {
                p.hint { "Showing the first 200. " a href={ "/api/v1/projects/" (project.id) "/comments?cursor=" (next) } { "The rest through the API" } }
            }
            @if writable && !no_company {
                form.comment-form method="post" action=(post_path(&project.id, thread)) novalidate {
                    (csrf_field(&viewer.token))
                    label for="f-body" { (prompt) }
                    textarea id="f-body" name="body" rows="4" required maxlength="20000" data-mentions="on"
                        aria-describedby="f-body-hint" { (body) }
                    p.hint id="f-body-hint" { "Markdown works: **bold**, _italic_, lists, `code`, links. Type @ and a name to mention someone who can see this." }
                    (error_line(Failed::error(failed, "comment", "body")))
                    (file_choice(viewer, principal, project, &chosen).await)
                    (error_line(Failed::error(failed, "comment", "files")))
                    div.actions { button type="submit" { @if thread.kind() == ThreadKind::Messages { "Send message" } @else { "Post comment" } } }
                }
            }
        }
        script src="/assets/talk.js" defer {}
    }
}

/// Posts a comment from a form and goes to it, or shows the thread's page again with what
/// was typed and the error in place.
async fn post_in(
    viewer: Viewer,
    headers: HeaderMap,
    project_id: &str,
    thread: ThreadRef<'_>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let new = NewComment {
        body: field(&pairs, "body").to_owned(),
        files: all_of(&pairs, "files"),
    };
    match comments::post_comment(viewer.tenant.store(), principal, project_id, thread, &new).await {
        Ok(comment) => Ok(Redirect::to(&format!(
            "{}#comment-{}",
            thread_page(project_id, thread),
            comment.id
        ))
        .into_response()),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("comment", pairs, error);
            Ok(render_thread(
                &viewer,
                principal,
                project_id,
                thread,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

/// A thread's page (the task's, the discussion's, or the Messages tab).
async fn render_thread(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    match thread {
        ThreadRef::Task(task) => {
            crate::ui::work::tasks::render_task(
                viewer, principal, project_id, task, message, failed, status,
            )
            .await
        }
        ThreadRef::Discussion(d) => {
            render_discussion(viewer, principal, project_id, d, message, failed, status).await
        }
        ThreadRef::Messages => {
            render_messages(viewer, principal, project_id, message, failed, status).await
        }
    }
}

/// `POST /projects/{id}/tasks/{task}/comments`.
async fn post_task_comment(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, task)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    post_in(viewer, headers, &project_id, ThreadRef::Task(&task), form).await
}

/// `POST /projects/{id}/discussions/{discussion}/comments`.
async fn post_discussion_comment(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, discussion)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    post_in(
        viewer,
        headers,
        &project_id,
        ThreadRef::Discussion(&discussion),
        form,
    )
    .await
}

/// `POST /projects/{id}/messages`.
async fn post_message(
    viewer: Viewer,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    post_in(viewer, headers, &project_id, ThreadRef::Messages, form).await
}

fn done_message(done: Option<&str>) -> Option<(String, bool)> {
    let text = match done? {
        "started" => "The discussion is started.",
        "saved" => "Saved.",
        "removed" => "The comment is removed.",
        "deleted" => "The discussion is removed.",
        _ => return None,
    };
    Some((text.to_owned(), false))
}

/// `GET /projects/{id}/messages`: the Messages tab.
async fn show_messages(
    viewer: Viewer,
    Path(project_id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_messages(
        &viewer,
        principal,
        &project_id,
        done_message(query.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await)
}

async fn render_messages(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, project_id).await {
        Ok(project) => project,
        Err(error) => return viewer.refusal("Messages", Section::Projects, error),
    };
    if !takes_part(principal, ThreadKind::Messages) {
        return viewer.forbidden();
    }
    let body = html! {
        (project_head(viewer, principal, &project, Tab::Messages, message.as_ref()))
        @if !has_messages(&project) {
            (notice("This project is internal work, not for a client company, so it has no client messages. Give it a client in its settings to talk with them here.", false))
        }
        (thread_section(viewer, principal, &project, ThreadRef::Messages, failed).await)
    };
    viewer.page_with_status(
        status,
        &format!("Messages · {}", project.name),
        Section::Projects,
        body,
    )
}

/// `GET /projects/{id}/discussions`: the Discussions tab.
async fn list_discussions(
    viewer: Viewer,
    Path(project_id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_discussions(
        &viewer,
        principal,
        &project_id,
        done_message(query.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await)
}

async fn render_discussions(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, project_id).await {
        Ok(project) => project,
        Err(error) => return viewer.refusal("Discussions", Section::Projects, error),
    };
    let list = match discussions::list_discussions(store, principal, project_id, None, 200).await {
        Ok(page) => page.items,
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => return viewer.refusal("Discussions", Section::Projects, error),
    };
    let staff = principal.kind() == UserKind::Staff;
    let writable = project.status != ProjectStatus::Archived;
    let typed = Failed::typed(failed, "discussion");
    let value = |name: &str| typed.map(|t| field(t, name)).unwrap_or("").to_owned();
    let dates = viewer.look.date_format;
    let body = html! {
        (project_head(viewer, principal, &project, Tab::Discussions, message.as_ref()))
        section.card aria-labelledby="discussions" {
            h2 id="discussions" { "Discussions" }
            @if list.is_empty() {
                p.hint { "No discussions yet." }
            } @else {
                ul.discussions {
                    @for d in &list {
                        li {
                            a href={ "/projects/" (project.id) "/discussions/" (d.id) } { (d.subject) }
                            @if staff && d.visibility == Visibility::Client { " " span.badge { "client-visible" } }
                            br;
                            span.hint {
                                (d.author_name.as_deref().unwrap_or("Someone no longer here"))
                                " · " (d.comments) @if d.comments == 1 { " comment" } @else { " comments" }
                                " · last " (dates.date(d.last_activity_at.date()))
                            }
                        }
                    }
                }
            }
        }
        @if writable {
            section.card aria-labelledby="start" {
                h2 id="start" { "Start a discussion" }
                form method="post" action={ "/projects/" (project.id) "/discussions" } novalidate {
                    (csrf_field(&viewer.token))
                    (Field::new("subject", "Subject").value(&value("subject")).required().maxlength(200)
                        .error(Failed::error(failed, "discussion", "subject").as_deref()))
                    label for="f-body" { "What it is about" }
                    textarea id="f-body" name="body" rows="5" required maxlength="20000" { (value("body")) }
                    p.hint { "Markdown works. Type @ and a name to mention someone." }
                    (error_line(Failed::error(failed, "discussion", "body")))
                    @if staff {
                        label for="f-visibility" { "Who sees it" }
                        select id="f-visibility" name="visibility" {
                            option value="internal" { "Staff only (internal)" }
                            @if has_messages(&project) {
                                option value="client" selected[value("visibility") == "client"] { "Also the client (client-visible)" }
                            }
                        }
                        (error_line(Failed::error(failed, "discussion", "visibility")))
                    } @else {
                        p.hint { "The agency's team on this project sees what you write here." }
                    }
                    div.actions { button type="submit" { "Start discussion" } }
                }
            }
        }
    };
    viewer.page_with_status(
        status,
        &format!("Discussions · {}", project.name),
        Section::Projects,
        body,
    )
}

/// `POST /projects/{id}/discussions`.
async fn create_discussion(
    viewer: Viewer,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let new = NewDiscussion {
        subject: field(&pairs, "subject").to_owned(),
        body: field(&pairs, "body").to_owned(),
        visibility: sent(&pairs, "visibility"),
        files: all_of(&pairs, "files"),
    };
    match discussions::create_discussion(viewer.tenant.store(), principal, &project_id, &new).await
    {
        Ok(d) => Ok(Redirect::to(&format!(
            "/projects/{project_id}/discussions/{}?done=started",
            d.id
        ))
        .into_response()),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("discussion", pairs, error);
            Ok(render_discussions(
                &viewer,
                principal,
                &project_id,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

/// `GET /projects/{id}/discussions/{discussion}`.
async fn show_discussion(
    viewer: Viewer,
    Path((project_id, discussion)): Path<(String, String)>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_discussion(
        &viewer,
        principal,
        &project_id,
        &discussion,
        done_message(query.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await)
}

async fn render_discussion(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    discussion_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let found = match projects::get_project(store, principal, project_id).await {
        Ok(project) => discussions::get_discussion(store, principal, project_id, discussion_id)
            .await
            .map(|d| (project, d)),
        Err(error) => Err(error),
    };
    let (project, discussion) = match found {
        Ok(found) => found,
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => return viewer.refusal("Discussion", Section::Projects, error),
    };
    let own = discussion.author_id.as_deref() == Some(principal.user_id());
    let moderates = principal.role_id() == "admin";
    let staff = principal.kind() == UserKind::Staff;
    let writable = project.status != ProjectStatus::Archived;
    let dates = viewer.look.date_format;
    let typed = Failed::typed(failed, "edit");
    let value = |name: &str, current: &str| typed.map_or(current, |t| field(t, name)).to_owned();
    let can_download = principal.permissions().contains(Permission::FilesDownload);
    let body = html! {
        (project_head(viewer, principal, &project, Tab::Discussions, None))
        p { a href={ "/projects/" (project.id) "/discussions" } { "← All discussions" } }
        h2.subject { (discussion.subject) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        article.card.opening {
            p.meta {
                strong { (discussion.author_name.as_deref().unwrap_or("Someone no longer here")) }
                " · " (dates.date(discussion.created_at.date()))
                @if discussion.edited_at.is_some() { " · " span.hint { "edited" } }
                @if staff {
                    " · " @match discussion.visibility { Visibility::Client => "staff and the client see it", Visibility::Internal => "staff only" }
                }
            }
            div.body { (PreEscaped(discussion.body.html())) }
            (attachments_list(&project.id, &discussion.attachments, can_download))
        }
        (thread_section(viewer, principal, &project, ThreadRef::Discussion(&discussion.id), failed).await)
        @if writable && own {
            section.card aria-labelledby="edit" {
                h2 id="edit" { "Edit the discussion" }
                form method="post" action={ "/projects/" (project.id) "/discussions/" (discussion.id) "/edit" } novalidate {
                    (csrf_field(&viewer.token))
                    (Field::new("subject", "Subject").value(&value("subject", &discussion.subject)).required().maxlength(200)
                        .error(Failed::error(failed, "edit", "subject").as_deref()))
                    label for="f-edit-body" { "Opening post" }
                    textarea id="f-edit-body" name="body" rows="5" maxlength="20000" { (value("body", discussion.body.markdown())) }
                    (error_line(Failed::error(failed, "edit", "body")))
                    @if staff {
                        label for="f-edit-visibility" { "Who sees it" }
                        select id="f-edit-visibility" name="visibility" {
                            option value="internal" { "Staff only (internal)" }
                            option value="client" selected[value("visibility", discussion.visibility.as_str()) == "client"] { "Also the client (client-visible)" }
                        }
                    }
                    div.actions { button type="submit" { "Save" } }
                }
            }
        }
        @if writable && (own || moderates) {
            section.card aria-labelledby="remove" {
                h2 id="remove" { "Remove" }
                form method="get" action={ "/projects/" (project.id) "/discussions/" (discussion.id) "/delete" } {
                    div.actions { button.secondary type="submit" { "Remove discussion" } }
                }
            }
        }
    };
    viewer.page_with_status(status, &discussion.subject, Section::Projects, body)
}

/// `POST /projects/{id}/discussions/{discussion}/edit`.
async fn edit_discussion(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, discussion)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let change = DiscussionChange {
        subject: sent(&pairs, "subject"),
        body: sent(&pairs, "body"),
        visibility: sent(&pairs, "visibility"),
        files: None,
    };
    match discussions::update_discussion(
        viewer.tenant.store(),
        principal,
        &project_id,
        &discussion,
        &change,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/projects/{project_id}/discussions/{discussion}?done=saved"
        ))
        .into_response()),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("edit", pairs, error);
            Ok(render_discussion(
                &viewer,
                principal,
                &project_id,
                &discussion,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

/// `GET /projects/{id}/discussions/{discussion}/delete`: asks first.
async fn confirm_delete_discussion(
    viewer: Viewer,
    Path((project_id, discussion)): Path<(String, String)>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let found =
        discussions::get_discussion(viewer.tenant.store(), principal, &project_id, &discussion)
            .await
            .map_err(|error| match error {
                Error::Forbidden(_) => viewer.forbidden(),
                error => viewer.refusal("Discussion", Section::Projects, error),
            })?;
    if found.author_id.as_deref() != Some(principal.user_id()) && principal.role_id() != "admin" {
        return Err(viewer.forbidden());
    }
    Ok(viewer.confirm(
        Section::Projects,
        &format!("Remove the discussion {}?", found.subject),
        "The discussion and all its comments are gone for everyone; the audit log keeps a record of it.",
        &format!("/projects/{project_id}/discussions/{discussion}/delete"),
        "Yes, remove the discussion",
        &format!("/projects/{project_id}/discussions/{discussion}"),
    ))
}

/// `POST /projects/{id}/discussions/{discussion}/delete`.
async fn delete_discussion(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, discussion)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    match discussions::delete_discussion(viewer.tenant.store(), principal, &project_id, &discussion)
        .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("/projects/{project_id}/discussions?done=deleted"))
                .into_response(),
        ),
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => Err(viewer.refusal("Discussion", Section::Projects, error)),
    }
}

/// The page where a comment's author edits it.
async fn render_edit_comment(
    viewer: &Viewer,
    principal: &Principal,
    project_id: &str,
    comment_id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let found = match comments::get_comment(store, principal, project_id, comment_id).await {
        Ok(found) => found,
        Err(Error::Forbidden(_)) => return viewer.forbidden(),
        Err(error) => return viewer.refusal("Comment", Section::Projects, error),
    };
    let (comment, thread_link) = found;
    if comment.author_id.as_deref() != Some(principal.user_id()) {
        return viewer.forbidden();
    }
    let Some(current) = &comment.body else {
        return viewer.refusal(
            "Comment",
            Section::Projects,
            Error::Conflict("this comment was removed and cannot be edited".to_owned()),
        );
    };
    let typed = Failed::typed(failed, "comment");
    let text = typed
        .map_or(current.markdown(), |t| field(t, "body"))
        .to_owned();
    let body = html! {
        p { a href={ (thread_link) "#comment-" (comment.id) } { "← Back to the conversation" } }
        h1 { "Edit your comment" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card {
            form method="post" action={ "/projects/" (project_id) "/comments/" (comment.id) "/edit" } novalidate {
                (csrf_field(&viewer.token))
                label for="f-body" { "Comment" }
                textarea id="f-body" name="body" rows="6" required maxlength="20000" { (text) }
                (error_line(Failed::error(failed, "comment", "body")))
                @for file in &comment.attachments { input type="hidden" name="files" value=(file.file_id); }
                div.actions { button type="submit" { "Save" } a href={ (thread_link) "#comment-" (comment.id) } { "Cancel" } }
            }
        }
    };
    viewer.page_with_status(status, "Edit your comment", Section::Projects, body)
}

/// `GET /projects/{id}/comments/{comment}/edit`.
async fn show_edit_comment(
    viewer: Viewer,
    Path((project_id, comment)): Path<(String, String)>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    Ok(render_edit_comment(
        &viewer,
        principal,
        &project_id,
        &comment,
        None,
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /projects/{id}/comments/{comment}/edit`.
async fn edit_comment(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, comment)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let new = NewComment {
        body: field(&pairs, "body").to_owned(),
        files: all_of(&pairs, "files"),
    };
    let store = viewer.tenant.store();
    match comments::edit_comment(store, principal, &project_id, &comment, None, &new).await {
        Ok(edited) => {
            let link = comments::get_comment(store, principal, &project_id, &edited.id)
                .await
                .map(|(_, link)| link)
                .unwrap_or_else(|_| format!("/projects/{project_id}"));
            Ok(Redirect::to(&format!("{link}#comment-{}", edited.id)).into_response())
        }
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => {
            let status = status_of(&error);
            let (failed, message) = Failed::new("comment", pairs, error);
            Ok(render_edit_comment(
                &viewer,
                principal,
                &project_id,
                &comment,
                Some((message, true)),
                Some(&failed),
                status,
            )
            .await)
        }
    }
}

/// `POST /projects/{id}/comments/{comment}/remove`: its author or an admin.
async fn remove_comment(
    viewer: Viewer,
    headers: HeaderMap,
    Path((project_id, comment)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let store = viewer.tenant.store();
    match comments::remove_comment(store, principal, &project_id, &comment, None).await {
        Ok(removed) => {
            let link = comments::get_comment(store, principal, &project_id, &removed.id)
                .await
                .map(|(_, link)| link)
                .unwrap_or_else(|_| format!("/projects/{project_id}"));
            Ok(
                Redirect::to(&format!("{link}?done=removed#comment-{}", removed.id))
                    .into_response(),
            )
        }
        Err(Error::Forbidden(_)) => Err(viewer.forbidden()),
        Err(error) => Err(viewer.refusal("Comment", Section::Projects, error)),
    }
}

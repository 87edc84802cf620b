//! A project's Files pages: the list (newest first, a page at a time, with thumbnails),
//! an upload form that works without JavaScript and shows a progress bar and takes a file
//! dropped onto the page with it (`/assets/files.js`), each file's page with its versions
//! and forms to add a version, rename, change who sees it, move it to the trash and back,
//! and the project's trash. Client contacts get the same pages, showing what they may see
//! and do. What may be done is decided by [`tenant_core::work::files`].

use axum::Form;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::permissions::Permission;
use tenant_core::access::{Principal, UserKind};
use tenant_core::work::files::{self, FileChange, FileFilter, FileItem, human_bytes};
use tenant_core::work::projects::{self, Project, ProjectStatus};

use crate::api::work::files::{make_previews_soon, receive_upload};
use crate::http::error::{ApiError, status_of};
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{Pairs, sent};
use crate::ui::layout::{Section, csrf_field, notice};

/// The Files pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/assets/files.js", "GET", get(script))
        .route("/projects/{id}/files", "GET POST", get(list).post(upload))
        .route("/projects/{id}/files/{file}", "GET", get(show))
        .route("/projects/{id}/files/{file}/edit", "POST", post(edit))
        .route("/projects/{id}/files/{file}/delete", "POST", post(delete))
        .route("/projects/{id}/files/{file}/restore", "POST", post(restore))
}

/// The script that adds a progress bar and dropping files to the upload forms.
const SCRIPT: &str = include_str!("files.js");

/// `GET /assets/files.js`.
async fn script() -> Response {
    crate::ui::layout::script_answer(SCRIPT)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    trash: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Files shown on one page of the list.
const PAGE: u32 = 50;

fn done_text(done: Option<&str>) -> Option<(String, bool)> {
    let text = match done? {
        "uploaded" => "The file is uploaded.",
        "version" => "The new version is uploaded.",
        "saved" => "Saved.",
        "trashed" => "The file is in the project's trash. It can be restored for 30 days.",
        "restored" => "The file is restored.",
        _ => return None,
    };
    Some((text.to_owned(), false))
}

/// What an upload or a change that was refused is answered with: its status and sentence.
fn refusal(error: ApiError) -> (StatusCode, String) {
    let status = match &error {
        ApiError::Core(error) => status_of(error),
        ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::BadBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        ApiError::CrossOrigin | ApiError::TotpSetupRequired => StatusCode::FORBIDDEN,
        ApiError::MailFailed(_) | ApiError::ProviderFailed(_) => StatusCode::BAD_GATEWAY,
        ApiError::WebhookRefused(_) => StatusCode::BAD_REQUEST,
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, error.page_message())
}

/// `GET /projects/{id}/files`.
pub(crate) async fn list(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let message = done_text(query.done.as_deref());
    Ok(render_list(&viewer, principal, &id, &query, message, StatusCode::OK).await)
}

async fn render_list(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    query: &ListQuery,
    message: Option<(String, bool)>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, id).await {
        Ok(project) => project,
        Err(error) => return viewer.refusal("Files", Section::Projects, error),
    };
    let trash = query.trash.is_some();
    let filter = FileFilter {
        task: None,
        q: query.q.clone().filter(|q| !q.trim().is_empty()),
        trash,
    };
    let page = match files::list_files(store, principal, id, &filter, query.cursor.as_deref(), PAGE)
        .await
    {
        Ok(page) => page,
        Err(error) => return viewer.refusal("Files", Section::Projects, error),
    };
    let base = format!("/projects/{}/files", project.id);
    let can_upload = may(principal, Permission::FilesUpload, &project);
    let can_delete =
        may(principal, Permission::FilesDelete, &project) && principal.kind() == UserKind::Staff;
    let title = if trash { "Trash" } else { "Files" };
    let body = html! {
        (crate::ui::work::projects::project_head(viewer, principal, &project, crate::ui::work::projects::Tab::Files, message.as_ref()))
        @if !trash && can_upload { (upload_form(viewer, &project, None)) }
        section.card aria-labelledby="files" {
            h2 id="files" { @if trash { "In the trash" } @else { "The project's files" } }
            @if trash {
                p.hint { "Files in the trash are removed for good 30 days after they were put there." }
            }
            form method="get" action=(base) role="search" {
                @if trash { input type="hidden" name="trash" value="1"; }
                label for="q" { "Find by name" }
                input id="q" name="q" type="search" value=(query.q.as_deref().unwrap_or(""));
                button.secondary type="submit" { "Find" }
            }
            @if page.items.is_empty() {
                p.hint { @if trash { "The trash is empty." } @else { "No files yet." } }
            } @else {
                table.files {
                    thead { tr { th { "" } th { "Name" } th { "Size" } th { "Who sees it" } th { "Uploaded" } th { "" } } }
                    tbody {
                        @for file in &page.items { (file_row(viewer, principal, &project, file)) }
                    }
                }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href={ (base) "?cursor=" (next) @if trash { "&trash=1" } } { "More files →" } }
            }
            @if can_delete && !trash {
                p { a href={ (base) "?trash=1" } { "The project's trash" } }
            }
            @if trash { p { a href=(base) { "← Back to the files" } } }
        }
        script src="/assets/files.js" defer {}
    };
    viewer.page_with_status(status, title, Section::Projects, body)
}

fn may(principal: &Principal, permission: Permission, project: &Project) -> bool {
    principal.permissions().contains(permission) && project.status != ProjectStatus::Archived
}

fn content_url(project: &Project, file: &FileItem, version: Option<i64>) -> String {
    match version {
        Some(v) => format!(
            "/api/v1/projects/{}/files/{}/content?version={v}",
            project.id, file.id
        ),
        None => format!("/api/v1/projects/{}/files/{}/content", project.id, file.id),
    }
}

fn visibility_badge(file: &FileItem) -> Markup {
    match file.visibility.as_str() {
        "client" => html! { span.status.on { "client-visible" } },
        _ => html! { span.status { "internal" } },
    }
}

fn file_row(viewer: &Viewer, principal: &Principal, project: &Project, file: &FileItem) -> Markup {
    let dates = viewer.look.date_format;
    let page = format!("/projects/{}/files/{}", project.id, file.id);
    html! {
        tr {
            td {
                @if file.preview_ready && principal.permissions().contains(Permission::FilesDownload) {
                    img.thumb src={ "/api/v1/projects/" (project.id) "/files/" (file.id) "/preview" } alt="" width="48" height="48";
                }
            }
            td {
                a href=(page) { (file.current.name) }
                @if file.current.version > 1 { " " span.hint { "v" (file.current.version) } }
            }
            td { (human_bytes(u64::try_from(file.current.size).unwrap_or_default())) }
            td { (visibility_badge(file)) }
            td {
                (dates.date(file.current.created_at.date()))
                @if let Some(name) = &file.current.uploaded_by_name { " · " (name) }
            }
            td {
                @if file.deleted_at.is_none() && principal.permissions().contains(Permission::FilesDownload) {
                    a href=(content_url(project, file, None)) download=(file.current.name) { "Download" }
                }
            }
        }
    }
}

/// The upload form: a new file, or (with `replaces`) a new version of one. The form token
/// comes first, so the server checks it before it reads the file.
fn upload_form(viewer: &Viewer, project: &Project, replaces: Option<&FileItem>) -> Markup {
    upload_form_for(viewer, project, replaces, None)
}

fn upload_form_for(
    viewer: &Viewer,
    project: &Project,
    replaces: Option<&FileItem>,
    task: Option<&str>,
) -> Markup {
    let staff = viewer
        .principal
        .as_ref()
        .is_some_and(|p| p.kind() == UserKind::Staff);
    html! {
        section.card aria-labelledby="upload" {
            h2 id="upload" { @if replaces.is_some() { "Upload a new version" } @else { "Upload a file" } }
            form.upload method="post" enctype="multipart/form-data" action={ "/projects/" (project.id) "/files" } data-upload="" {
                (csrf_field(&viewer.token))
                @if let Some(file) = replaces {
                    input type="hidden" name="replaces" value=(file.id);
                }
                @if let Some(task) = task {
                    input type="hidden" name="task" value=(task);
                }
                @if staff && replaces.is_none() {
                    label for="visibility" { "Who sees it" }
                    select id="visibility" name="visibility" {
                        option value="internal" selected { "Staff only (internal)" }
                        option value="client" { "Also the client (client-visible)" }
                    }
                }
                div.drop {
                    label for="file" { "File" }
                    input id="file" name="file" type="file" required;
                    p.hint { "Or drop a file here." }
                }
                progress hidden max="100" value="0" aria-label="Upload progress" {}
                p.hint role="status" aria-live="polite" data-upload-status="" {}
                div.actions { button type="submit" { "Upload" } }
            }
        }
    }
}

/// `POST /projects/{id}/files`: the upload form (a new file or a new version).
pub(crate) async fn upload(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let Ok(mut multipart) = multipart else {
        return Err(viewer.page_with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Files",
            Section::Projects,
            notice("Send the file with the page's upload form.", true),
        ));
    };
    // The form's token is its first field: a forged upload is refused before its bytes
    // are read.
    let token = match multipart.next_field().await {
        Ok(Some(first)) if first.name() == Some("csrf") => first.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    viewer.check_form(&headers, &token)?;
    let store = viewer.tenant.store();
    match receive_upload(store, principal, &id, Ok(multipart)).await {
        Ok(file) => {
            make_previews_soon(store);
            let to = match (&file.task_id, file.current.version) {
                (_, 2..) => format!("/projects/{id}/files/{}?done=version", file.id),
                (Some(task), _) => format!("/projects/{id}/tasks/{task}?done=file"),
                (None, _) => format!("/projects/{id}/files?done=uploaded"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(error) => {
            let (status, text) = refusal(error);
            if status == StatusCode::NOT_FOUND {
                return Err(viewer.page_with_status(
                    status,
                    "Files",
                    Section::Projects,
                    notice(&text, true),
                ));
            }
            let query = ListQuery {
                trash: None,
                cursor: None,
                q: None,
                done: None,
            };
            Ok(render_list(&viewer, principal, &id, &query, Some((text, true)), status).await)
        }
    }
}

/// `GET /projects/{id}/files/{file}`: a file with its versions.
pub(crate) async fn show(
    viewer: Viewer,
    Path((id, file_id)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let message = done_text(query.done.as_deref());
    Ok(render_file(&viewer, principal, &id, &file_id, message, StatusCode::OK).await)
}

async fn render_file(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    file_id: &str,
    message: Option<(String, bool)>,
    status: StatusCode,
) -> Response {
    let store = viewer.tenant.store();
    let project = match projects::get_project(store, principal, id).await {
        Ok(project) => project,
        Err(error) => return viewer.refusal("File", Section::Projects, error),
    };
    let (file, versions) = match files::get_file(store, principal, id, file_id).await {
        Ok(found) => found,
        Err(error) => return viewer.refusal("File", Section::Projects, error),
    };
    let staff = principal.kind() == UserKind::Staff;
    let in_trash = file.deleted_at.is_some();
    let can_upload = may(principal, Permission::FilesUpload, &project) && !in_trash;
    let can_edit = can_upload && staff;
    let can_delete = may(principal, Permission::FilesDelete, &project) && staff;
    let can_download = principal.permissions().contains(Permission::FilesDownload) && !in_trash;
    let dates = viewer.look.date_format;
    let base = format!("/projects/{}/files/{}", project.id, file.id);
    let body = html! {
        p { a href={ "/projects/" (project.id) "/files" } { "← Files of " (project.name) } }
        h1 { (file.current.name) " " (visibility_badge(&file)) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        @if in_trash { (notice("This file is in the project's trash.", false)) }
        section.card aria-labelledby="about" {
            h2 id="about" { "About" }
            @if file.preview_ready && principal.permissions().contains(Permission::FilesDownload) {
                p { img.preview src={ "/api/v1/projects/" (project.id) "/files/" (file.id) "/preview" } alt={ "Preview of " (file.current.name) }; }
            }
            p { strong { "Size:" } " " (human_bytes(u64::try_from(file.current.size).unwrap_or_default())) " · " (file.current.content_type) }
            @if can_download {
                p { a href=(content_url(&project, &file, None)) download=(file.current.name) { "Download" } }
            }
        }
        section.card aria-labelledby="versions" {
            h2 id="versions" { "Versions" }
            table {
                thead { tr { th { "Version" } th { "Name" } th { "Size" } th { "Uploaded" } th { "" } } }
                tbody {
                    @for version in &versions {
                        tr {
                            td { (version.version) }
                            td { (version.name) }
                            td { (human_bytes(u64::try_from(version.size).unwrap_or_default())) }
                            td {
                                (dates.date(version.created_at.date()))
                                @if let Some(name) = &version.uploaded_by_name { " · " (name) }
                            }
                            td {
                                @if can_download {
                                    a href=(content_url(&project, &file, Some(version.version))) download=(version.name) { "Download" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_upload { (upload_form(viewer, &project, Some(&file))) }
        @if can_edit {
            section.card aria-labelledby="edit" {
                h2 id="edit" { "Edit" }
                form method="post" action={ (base) "/edit" } {
                    (csrf_field(&viewer.token))
                    label for="name" { "Name" }
                    input id="name" name="name" value=(file.current.name) maxlength="255" required;
                    label for="visibility" { "Who sees it" }
                    select id="visibility" name="visibility" {
                        option value="internal" selected[file.visibility.as_str() == "internal"] { "Staff only (internal)" }
                        option value="client" selected[file.visibility.as_str() == "client"] { "Also the client (client-visible)" }
                    }
                    div.actions { button type="submit" { "Save file" } }
                }
            }
        }
        @if can_delete {
            section.card aria-labelledby="trash" {
                @if in_trash {
                    h2 id="trash" { "Restore" }
                    form method="post" action={ (base) "/restore" } {
                        (csrf_field(&viewer.token))
                        div.actions { button type="submit" { "Restore the file" } }
                    }
                } @else {
                    h2 id="trash" { "Move to the trash" }
                    p.hint { "It can be restored for 30 days; then it is removed for good." }
                    form method="post" action={ (base) "/delete" } {
                        (csrf_field(&viewer.token))
                        div.actions { button.secondary type="submit" { "Move to the trash" } }
                    }
                }
            }
        }
        script src="/assets/files.js" defer {}
    };
    viewer.page_with_status(status, &file.current.name, Section::Projects, body)
}

/// `POST /projects/{id}/files/{file}/edit`: name and visibility.
pub(crate) async fn edit(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, file_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let change = FileChange {
        name: sent(&pairs, "name"),
        visibility: sent(&pairs, "visibility"),
        task: None,
    };
    let done = files::update_file(viewer.tenant.store(), principal, &id, &file_id, &change)
        .await
        .map(|_| format!("/projects/{id}/files/{file_id}?done=saved"));
    Ok(answer_action(&viewer, principal, &id, &file_id, done).await)
}

/// A file page's action answered: on to `done`'s page, or the file's page again with the
/// refusal and its status.
async fn answer_action(
    viewer: &Viewer,
    principal: &Principal,
    id: &str,
    file_id: &str,
    done: Result<String, tenant_core::Error>,
) -> Response {
    match done {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(error) => {
            let status = status_of(&error);
            let text = ApiError::Core(error).page_message();
            render_file(viewer, principal, id, file_id, Some((text, true)), status).await
        }
    }
}

/// `POST /projects/{id}/files/{file}/delete`: to the trash.
pub(crate) async fn delete(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, file_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let done = files::delete_file(viewer.tenant.store(), principal, &id, &file_id)
        .await
        .map(|_| format!("/projects/{id}/files?done=trashed"));
    Ok(answer_action(&viewer, principal, &id, &file_id, done).await)
}

/// `POST /projects/{id}/files/{file}/restore`: out of the trash.
pub(crate) async fn restore(
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, file_id)): Path<(String, String)>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, _) = viewer.signed_in_form(&headers, form)?;
    let done = files::restore_file(viewer.tenant.store(), principal, &id, &file_id)
        .await
        .map(|_| format!("/projects/{id}/files/{file_id}?done=restored"));
    Ok(answer_action(&viewer, principal, &id, &file_id, done).await)
}

/// A task page's Files card: the files attached to the task, and an upload that attaches
/// one.
pub(crate) async fn task_files_card(
    viewer: &Viewer,
    principal: &Principal,
    project: &Project,
    task_id: &str,
) -> Markup {
    let filter = FileFilter {
        task: Some(task_id.to_owned()),
        ..FileFilter::default()
    };
    let attached = files::list_files(
        viewer.tenant.store(),
        principal,
        &project.id,
        &filter,
        None,
        200,
    )
    .await
    .map_err(|error| ApiError::Core(error).page_message());
    let can_upload = may(principal, Permission::FilesUpload, project);
    html! {
        section.card aria-labelledby="task-files" {
            h2 id="task-files" { "Files" }
            @match &attached {
                Ok(page) if page.items.is_empty() => p.hint { "No files are attached to this task." },
                Ok(page) => table.files { tbody { @for file in &page.items { (file_row(viewer, principal, project, file)) } } },
                Err(text) => p.hint { (text) },
            }
        }
        @if can_upload { (upload_form_for(viewer, project, None, Some(task_id))) }
        script src="/assets/files.js" defer {}
    }
}

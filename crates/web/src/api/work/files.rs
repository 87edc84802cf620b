//! `/api/v1/projects/{id}/files`: a project's files. Uploads are read as a stream
//! (`multipart/form-data`, one `file` part) straight into [`tenant_core::work::files`],
//! which checks the grant before the first byte and the limits while the bytes arrive;
//! downloads stream from the file store with `Range`, `ETag` and `If-None-Match`, under a
//! sandboxing content policy.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::TenantStore;
use tenant_core::access::{Principal, UserKind};
use tenant_core::work::files::{
    self, Download, FileChange, FileFilter, FileItem, FileVersion, UploadForm,
};

use crate::api::views::{self, rfc3339};
use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// A file as `viewer` may see it (client contacts are not shown who on the agency's side
/// uploaded a version).
pub(crate) fn file_view(viewer: &Principal, file: &FileItem) -> Value {
    json!({
        "id": file.id,
        "project": file.project_id,
        "task": file.task_id,
        "name": file.current.name,
        "visibility": file.visibility.as_str(),
        "version": file.current.version,
        "size": file.current.size,
        "content_type": file.current.content_type,
        "sha256": file.current.sha256,
        "uploaded_by": uploader(viewer, &file.current),
        "uploaded_at": rfc3339(file.current.created_at),
        "created_at": rfc3339(file.created_at),
        "in_trash": file.deleted_at.is_some(),
        "deleted_at": file.deleted_at.map(rfc3339),
        "has_preview": file.preview_ready,
    })
}

fn uploader(viewer: &Principal, version: &FileVersion) -> Value {
    match (&version.uploaded_by, &version.uploaded_by_name) {
        (Some(id), Some(name)) if viewer.kind() == UserKind::Staff => {
            json!({"id": id, "name": name})
        }
        (Some(_), Some(name)) => json!({ "name": name }),
        _ => Value::Null,
    }
}

fn version_view(viewer: &Principal, version: &FileVersion) -> Value {
    json!({
        "version": version.version,
        "name": version.name,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "uploaded_by": uploader(viewer, version),
        "uploaded_at": rfc3339(version.created_at),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    task: Option<String>,
    q: Option<String>,
    trash: Option<bool>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/v1/projects/{id}/files?task=&q=&trash=`: newest first.
pub(crate) async fn list(
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("files", query.limit, query.cursor.as_deref())?;
    let filter = FileFilter {
        task: query.task.filter(|t| !t.is_empty()),
        q: query.q,
        trash: query.trash.unwrap_or(false),
    };
    let page = files::list_files(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &filter,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("files", page, |f| {
        file_view(&caller.principal, f)
    })))
}

/// `GET /api/v1/projects/{id}/files/{file_id}`: with its versions, newest first.
pub(crate) async fn get(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (file, versions) =
        files::get_file(caller.tenant.store(), &caller.principal, &id, &file_id).await?;
    let mut view = file_view(&caller.principal, &file);
    view["versions"] = versions
        .iter()
        .map(|v| version_view(&caller.principal, v))
        .collect();
    Ok(Json(view))
}

/// Longest text field of an upload form (`visibility`, `task`, `replaces`).
const FIELD_BYTES: usize = 1024;

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else {
        ApiError::BadBody(format!(
            "the upload could not be read: {}",
            error.body_text()
        ))
    }
}

/// Reads a short text field of a form, refusing one longer than [`FIELD_BYTES`].
async fn text_field(
    name: &'static str,
    mut field: axum::extract::multipart::Field<'_>,
) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > FIELD_BYTES {
            return Err(tenant_core::Error::field(name, "this field is too long").into());
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| tenant_core::Error::field(name, "this field is not UTF-8 text").into())
}

/// Streams a `multipart/form-data` upload into the project: the grant is checked before
/// the body is read, the file part goes to the store as it arrives. Shared by the API and
/// the Files page.
pub(crate) async fn receive_upload(
    store: &TenantStore,
    principal: &Principal,
    project_id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<FileItem> {
    let mut upload = files::begin_upload(store, principal, project_id).await?;
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::Core(tenant_core::Error::UnsupportedMediaType(format!(
            "send the file as multipart/form-data with one part named file ({})",
            rejection.body_text()
        )))
    })?;
    let mut form = UploadForm::default();
    let mut name = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                if name.is_some() {
                    return Err(
                        tenant_core::Error::field("file", "send one file per upload").into(),
                    );
                }
                name = Some(field.file_name().unwrap_or("file").to_owned());
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    upload.write(chunk).await?;
                }
            }
            "visibility" => form.visibility = Some(text_field("visibility", field).await?),
            "task" => form.task = Some(text_field("task", field).await?),
            "replaces" => form.replaces = Some(text_field("replaces", field).await?),
            // The page's form carries its CSRF token, checked before this is reached.
            "csrf" => {
                text_field("csrf", field).await?;
            }
            other => {
                return Err(tenant_core::Error::field(
                    "file",
                    format!(
                        "'{}' is not a field of an upload: send file, and optionally visibility, task and replaces",
                        other.chars().take(40).collect::<String>()
                    ),
                )
                .into());
            }
        }
    }
    let Some(name) = name else {
        return Err(tenant_core::Error::field("file", "choose a file to upload").into());
    };
    Ok(upload.finish(&name, &form).await?)
}

/// `POST /api/v1/projects/{id}/files`: `multipart/form-data` with one `file` part and
/// optionally `visibility`, `task`, `replaces`.
#[tracing::instrument(skip_all)]
pub(crate) async fn upload(
    caller: Caller,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let file = receive_upload(caller.tenant.store(), &caller.principal, &id, multipart).await?;
    make_previews_soon(caller.tenant.store());
    Ok((
        StatusCode::CREATED,
        Json(file_view(&caller.principal, &file)),
    ))
}

/// Makes the previews of new images in the background (the server's minute sweep makes
/// any this misses, after a restart for instance).
pub(crate) fn make_previews_soon(store: &TenantStore) {
    let store = store.clone();
    tokio::spawn(async move {
        if let Err(error) = tenant_core::work::previews::make_previews(&store).await {
            tracing::warn!(%error, "previews not made");
        }
    });
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "views::double_option")]
    task: Option<Option<String>>,
}

/// `PATCH /api/v1/projects/{id}/files/{file_id}`: rename, visibility, task.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
    body: Result<Json<EditBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
    let change = FileChange {
        name: body.name,
        visibility: body.visibility,
        task: body.task,
    };
    let file = files::update_file(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &file_id,
        &change,
    )
    .await?;
    Ok(Json(file_view(&caller.principal, &file)))
}

/// `DELETE /api/v1/projects/{id}/files/{file_id}`: to the project's trash.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let file = files::delete_file(caller.tenant.store(), &caller.principal, &id, &file_id).await?;
    Ok(Json(file_view(&caller.principal, &file)))
}

/// `POST /api/v1/projects/{id}/files/{file_id}/restore`: out of the trash.
#[tracing::instrument(skip_all)]
pub(crate) async fn restore(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let file = files::restore_file(caller.tenant.store(), &caller.principal, &id, &file_id).await?;
    Ok(Json(file_view(&caller.principal, &file)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContentQuery {
    version: Option<i64>,
}

/// `GET /api/v1/projects/{id}/files/{file_id}/content?version=`.
pub(crate) async fn content(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
    query: Result<Query<ContentQuery>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let download = files::open_download(
        caller.tenant.store(),
        &caller.principal,
        &id,
        &file_id,
        query.version,
    )
    .await?;
    send_download(&download, &headers).await
}

/// The answer to a download: `304` when the browser has it, `206` for one satisfiable
/// byte range, `416` for one that is not, else the whole content.
pub(crate) async fn send_download(download: &Download, headers: &HeaderMap) -> ApiResult<Response> {
    let version = &download.version;
    let etag = format!("\"{}\"", version.sha256);
    let size = u64::try_from(version.size).unwrap_or_default();
    if headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        content_headers(response.headers_mut(), version, &etag);
        return Ok(response);
    }
    let if_range_matches = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|tag| tag.trim() == etag);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_matches)
        .map(|text| byte_range(text, size));
    let (status, range) = match range {
        Some(Ranged::Unsatisfiable) => {
            let mut response = (
                StatusCode::RANGE_NOT_SATISFIABLE,
                Json(json!({"error": {"code": "range_not_satisfiable", "message": format!("The file has {size} bytes.")}})),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
        Some(Ranged::Bytes(range)) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        Some(Ranged::Whole) | None => (StatusCode::OK, None),
    };
    // An empty file has nothing to stream (and a store may refuse a read of zero bytes).
    let body = if size == 0 {
        Body::empty()
    } else {
        Body::from_stream(download.stream(range.clone()).await?)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    content_headers(headers, version, &etag);
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(range) = &range
        && let Ok(value) =
            HeaderValue::from_str(&format!("bytes {}-{}/{size}", range.start, range.end - 1))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// The headers of a file's content: its type (never one a browser would run), a sandbox
/// so that nothing in it runs with the site's rights even when shown, and how to show it.
fn content_headers(headers: &mut HeaderMap, version: &FileVersion, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(version.served_type()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let disposition = content_disposition(version.shows_inline(), &version.name);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
}

/// `Content-Disposition` (RFC 6266): `inline` or `attachment`, an ASCII `filename` for old
/// clients and the UTF-8 name as `filename*` (RFC 8187).
pub fn content_disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A `Range` header read against a content of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// One range within the content (`start..end`, end exclusive).
    Bytes(std::ops::Range<u64>),
    /// A range that starts past the end.
    Unsatisfiable,
    /// A header that is not one byte range (several, or not understood): answered with
    /// the whole content, as RFC 9110 §14.2 allows.
    Whole,
}

/// Reads `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2).
pub(crate) fn byte_range(text: &str, size: u64) -> Ranged {
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let number = |t: &str| -> Option<u64> {
        let t = t.trim();
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match (number(first), number(last), last.trim().is_empty()) {
        (Some(start), _, _) if start >= size => Ranged::Unsatisfiable,
        (Some(start), None, true) => Ranged::Bytes(start..size),
        (Some(start), Some(end), _) if end >= start => Ranged::Bytes(start..(end + 1).min(size)),
        (None, Some(suffix), _) if first.trim().is_empty() => {
            if suffix == 0 {
                Ranged::Unsatisfiable
            } else {
                Ranged::Bytes(size.saturating_sub(suffix)..size)
            }
        }
        _ => Ranged::Whole,
    }
}

/// `GET /api/v1/projects/{id}/files/{file_id}/preview`: a small PNG of an image.
pub(crate) async fn preview(
    caller: Caller,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, bytes) =
        files::open_preview(caller.tenant.store(), &caller.principal, &id, &file_id).await?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
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
            "/api/v1/projects/{id}/files",
            "The project's files, newest first (?task=, ?q= on names, ?trash=true for the trash: staff with files.delete); client contacts get the client-visible ones",
            Project(None),
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/files",
            "Upload a file: multipart/form-data with one part named file, and optionally visibility (internal, the default for staff, or client), task, and replaces (a file id: adds a new version)",
            Project(Some(P::FilesUpload)),
            &[
                ("file", "binary", true),
                ("visibility", "string", false),
                ("task", "string", false),
                ("replaces", "string", false),
            ],
            routing::post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/files/{file_id}",
            "One file with its versions, newest first",
            Project(None),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/projects/{id}/files/{file_id}",
            "Rename a file, change its visibility or its task (staff)",
            Project(Some(P::FilesUpload)),
            &[
                ("name", "string", false),
                ("visibility", "string", false),
                ("task", "string|null", false),
            ],
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/projects/{id}/files/{file_id}",
            "Move a file to the project's trash (restorable for 30 days)",
            Project(Some(P::FilesDelete)),
            NONE,
            routing::delete(delete),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/files/{file_id}/content",
            "The file's bytes (?version=N for an older version), with Range, ETag and If-None-Match; images and PDF inline in a sandbox, everything else as an attachment",
            Project(Some(P::FilesDownload)),
            NONE,
            routing::get(content),
        ),
        route(
            M::GET,
            "/api/v1/projects/{id}/files/{file_id}/preview",
            "A small PNG (at most 320 pixels a side) of an image file: 404 until it is made, and for other files and images refused by the decoder's limits",
            Project(Some(P::FilesDownload)),
            NONE,
            routing::get(preview),
        ),
        route(
            M::POST,
            "/api/v1/projects/{id}/files/{file_id}/restore",
            "Take a file back out of the project's trash",
            Project(Some(P::FilesDelete)),
            NONE,
            routing::post(restore),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-9", 100), Ranged::Bytes(0..10));
        assert_eq!(byte_range("bytes=90-", 100), Ranged::Bytes(90..100));
        assert_eq!(byte_range("bytes=-10", 100), Ranged::Bytes(90..100));
        assert_eq!(byte_range("bytes=-1000", 100), Ranged::Bytes(0..100));
        assert_eq!(byte_range("bytes=50-1000", 100), Ranged::Bytes(50..100));
        assert_eq!(byte_range("bytes=100-", 100), Ranged::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 100), Ranged::Unsatisfiable);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), Ranged::Whole);
        assert_eq!(byte_range("bytes=9-3", 100), Ranged::Whole);
        assert_eq!(byte_range("items=0-1", 100), Ranged::Whole);
        assert_eq!(byte_range("bytes=+1-2", 100), Ranged::Whole);
    }

    #[test]
    fn names_are_given_to_browsers_safely() {
        assert_eq!(
            content_disposition(false, "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition(true, "Grüße \"x\".png"),
            "inline; filename=\"Gr__e _x_.png\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22.png"
        );
        assert!(HeaderValue::from_str(&content_disposition(false, "a\u{7f}b\u{202e}.svg")).is_ok());
    }
}

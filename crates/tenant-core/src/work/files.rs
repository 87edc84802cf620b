//! Files of a project: uploaded in a stream, kept by content (SHA-256) in the brand's part
//! of the file store ([`crate::objects`]), with versions and a trash.
//!
//! Whoever reaches the project sees its files' names and versions (client contacts only
//! client-visible files, and an internal file does not exist for them); downloading needs
//! `files.download`, uploading (a new file or a new version) `files.upload`, renaming and
//! changing the visibility `files.upload` and staff, moving to the trash and restoring
//! `files.delete` (never a client permission). Nothing changes on an archived project.
//!
//! An upload is checked before its first byte is taken (the project grant), counted while
//! it streams (`limits.max_upload_bytes`, the brand's quota), written to a staging object,
//! and only once its last byte is in does one transaction take the project's lock, move the
//! content to its address and write the rows: an upload cut off half-way leaves no row and,
//! once its staging upload is aborted, no object. Files in the trash are purged after
//! [`TRASH_DAYS`] days, and content no version refers to any more is removed with them.

use std::collections::HashSet;

use object_store::{GetOptions, GetRange, ObjectStore as _, ObjectStoreExt as _, WriteMultipart};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::access::permissions::need;
use crate::access::{Actor, Principal, UserKind};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::fields::single_line;
use crate::objects::{self, BrandFiles};
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};
use crate::work::tasks::Visibility;
use crate::work::{self, Inside, Read};

/// Days a file stays in the project's trash before it is purged.
pub const TRASH_DAYS: i64 = 30;

/// Bytes of an upload kept to tell its type by.
const SNIFF_BYTES: usize = 8192;

/// Parts an upload is sent to the file store in (S3 takes parts of 5 MiB or more, and at
/// most 10,000 of them: 50 GB a file).
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one upload on their way to the store at once (what an upload holds in memory
/// is about this many parts plus one).
const PARTS_IN_FLIGHT: usize = 1;

/// A file as its viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileItem {
    /// Its id.
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// The task it is attached to.
    pub task_id: Option<String>,
    /// Who sees it.
    pub visibility: Visibility,
    /// When it was moved to the trash.
    pub deleted_at: Option<OffsetDateTime>,
    /// When it was first uploaded.
    pub created_at: OffsetDateTime,
    /// The current version (the newest).
    pub current: FileVersion,
    /// Whether the current version's preview is made.
    pub preview_ready: bool,
}

/// One version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    /// 1 for the first upload, then 2, 3, …
    pub version: i64,
    /// The file's name as this version was uploaded (or renamed to).
    pub name: String,
    /// Its length in bytes.
    pub size: i64,
    /// Its type, told from its bytes.
    pub content_type: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: Option<String>,
    /// Their name.
    pub uploaded_by_name: Option<String>,
    /// When.
    pub created_at: OffsetDateTime,
}

impl FileVersion {
    /// Whether a browser may show this type inline (in a sandbox): images and PDF.
    pub fn shows_inline(&self) -> bool {
        INLINE_TYPES.contains(&self.content_type.as_str())
    }

    /// The type to send: the sniffed type, except that anything a browser could run as a
    /// page or script is sent as plain bytes.
    pub fn served_type(&self) -> &str {
        if ACTIVE_TYPES.contains(&self.content_type.as_str()) {
            "application/octet-stream"
        } else if self.content_type == "text/plain" {
            "text/plain; charset=utf-8"
        } else {
            &self.content_type
        }
    }
}

const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
];

/// Types the previewer reads.
pub const PREVIEW_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

const ACTIVE_TYPES: &[&str] = &[
    "text/html",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "application/xhtml+xml",
    "text/javascript",
    "application/javascript",
    "application/x-sh",
];

impl FileItem {
    fn audit_state(&self) -> serde_json::Value {
        json!({
            "project": self.project_id,
            "task": self.task_id,
            "name": self.current.name,
            "visibility": self.visibility.as_str(),
            "version": self.current.version,
            "size": self.current.size,
            "sha256": self.current.sha256,
            "in_trash": self.deleted_at.is_some(),
        })
    }
}

/// What a list of files shows.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    /// Only files attached to this task.
    pub task: Option<String>,
    /// Only files whose name contains this, case-insensitively.
    pub q: Option<String>,
    /// The trash instead of the files (staff with `files.delete`).
    pub trash: bool,
}

/// The fields of an upload besides its bytes, as typed.
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    /// `internal` (the default for staff) or `client`; client contacts' uploads are always
    /// client-visible.
    pub visibility: Option<String>,
    /// A task of the project to attach the file to.
    pub task: Option<String>,
    /// A file of the project this upload is a new version of.
    pub replaces: Option<String>,
}

/// A change of a file's name or visibility, as typed.
#[derive(Debug, Clone, Default)]
pub struct FileChange {
    /// A new name.
    pub name: Option<String>,
    /// Another visibility's word.
    pub visibility: Option<String>,
    /// Another task (`Some(None)` or empty: none).
    pub task: Option<Option<String>>,
}

/// A file name as it may be kept and shown: the last part of whatever path a browser
/// sent, without control characters, at most 255 characters; never used as a path.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(255)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// The type of content told from its first bytes, never from what a client says.
pub fn sniff(head: &[u8]) -> String {
    // Binary formats by their magic numbers; markup is told apart below (an SVG image
    // starts as any XML document does).
    if let Some(kind) = infer::get(head)
        && kind.matcher_type() != infer::MatcherType::Text
    {
        return kind.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A character cut off at the end of the sniffed bytes is still text.
        Err(error) if error.error_len().is_none() && head.len() - error.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "application/octet-stream".to_owned(),
    };
    let start: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_lowercase();
    let markup = |tag: &str| start.contains(tag);
    if markup("<svg") {
        "image/svg+xml".to_owned()
    } else if markup("<!doctype html") || markup("<html") || markup("<script") || markup("<body") {
        "text/html".to_owned()
    } else if start.starts_with("<?xml") {
        "application/xml".to_owned()
    } else {
        "text/plain".to_owned()
    }
}

const COLUMNS: &str = "files.file_id, files.project_id, files.task_id, files.visibility, files.deleted_at, files.created_at,
     v.version, v.name, v.size_bytes, v.content_type, v.sha256, v.uploaded_by, users.name as uploader_name, v.created_at as version_created_at, blobs.preview";

const FILES: &str =
    "files join file_versions v on v.file_id = files.file_id and v.version = files.current_version
     join file_blobs blobs on blobs.sha256 = v.sha256
     left join users on users.user_id = v.uploaded_by";

#[derive(sqlx::FromRow)]
struct FileRow {
    file_id: String,
    project_id: String,
    task_id: Option<String>,
    visibility: String,
    deleted_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    version: i64,
    name: String,
    size_bytes: i64,
    content_type: String,
    sha256: String,
    uploaded_by: Option<String>,
    uploader_name: Option<String>,
    version_created_at: OffsetDateTime,
    preview: String,
}

impl TryFrom<FileRow> for FileItem {
    type Error = Error;

    fn try_from(row: FileRow) -> Result<FileItem> {
        Ok(FileItem {
            id: row.file_id,
            project_id: row.project_id,
            task_id: row.task_id,
            visibility: Visibility::parse(&row.visibility)?,
            deleted_at: row.deleted_at,
            created_at: row.created_at,
            current: FileVersion {
                version: row.version,
                name: row.name,
                size: row.size_bytes,
                content_type: row.content_type,
                sha256: row.sha256,
                uploaded_by: row.uploaded_by,
                uploaded_by_name: row.uploader_name,
                created_at: row.version_created_at,
            },
            preview_ready: row.preview == "ready",
        })
    }
}

/// A client contact sees only client-visible files.
fn limited_to(actor: &Principal) -> &'static str {
    match actor.kind() {
        UserKind::Client => Visibility::Client.as_str(),
        UserKind::Staff => "",
    }
}

fn no_such_file() -> Error {
    Error::NotFound("there is no such file on this project".to_owned())
}

/// Which files [`find_file`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Files,
    Trash,
    Either,
}

async fn find_file(
    tx: &mut Tx,
    inside: &impl Inside,
    file_id: &str,
    place: Where,
) -> Result<FileItem> {
    let trash = match place {
        Where::Files => "and files.deleted_at is null",
        Where::Trash => "and files.deleted_at is not null",
        Where::Either => "",
    };
    let row: Option<FileRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {FILES}
             where files.file_id = $1 and files.project_id = $2 and ($3 = '' or files.visibility = $3) {trash}"
        ))
        .bind(file_id)
        .bind(&inside.project().id)
        .bind(limited_to(inside.principal()))
        .fetch_optional(conn)
        .await?
    });
    FileItem::try_from(row.ok_or_else(no_such_file)?)
}

/// The brand's files, or a clear error when this server has no file store.
pub(crate) fn files_of(store: &TenantStore) -> Result<&BrandFiles> {
    store
        .files
        .as_ref()
        .ok_or_else(|| Error::Objects("this server has no file store configured".to_owned()))
}

/// Who sees a project's files at all: holders of any file permission (a role without
/// any, such as a bookkeeper's, has no access to project files, not even their names).
fn check_sees_files(actor: &Principal, scope: crate::access::Scope<'_>) -> Result<()> {
    use crate::access::permissions::Permission;
    let any = [
        Permission::FilesDownload,
        Permission::FilesUpload,
        Permission::FilesDelete,
    ]
    .into_iter()
    .any(|p| crate::access::decide(actor, p, scope) == crate::access::Decision::Allow);
    if any {
        return Ok(());
    }
    crate::access::permit::<need::FilesDownload>(actor, scope).map(|_| ())
}

/// The project's files (or its trash), newest first, a page at a time.
#[tracing::instrument(skip_all)]
pub async fn list_files(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    filter: &FileFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<FileItem>> {
    let limit = limit.clamp(1, 200);
    let mut tx = store.read().await?;
    let approach = work::enter::<Read>(&mut tx, actor, project_id).await?;
    check_sees_files(actor, approach.project().scope())?;
    if filter.trash {
        if actor.kind() == UserKind::Client {
            return Err(Error::Forbidden(
                "client users do not see a project's trash".to_owned(),
            ));
        }
        crate::access::permit::<need::FilesDelete>(actor, approach.project().scope())?;
    }
    let pattern = crate::paging::like_pattern(filter.q.as_deref().unwrap_or(""));
    let rows: Vec<FileRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {FILES}
             where files.project_id = $1 and ($2 = '' or files.visibility = $2)
               and ($3 = '' or files.file_id < $3)
               and ($4 = '' or files.task_id = $4)
               and ($5 = '' or lower(v.name) like $5 escape '\\')
               and (files.deleted_at is null) = $6
             order by files.file_id desc limit $7"
        ))
        .bind(project_id)
        .bind(limited_to(actor))
        .bind(cursor.unwrap_or(""))
        .bind(filter.task.as_deref().unwrap_or(""))
        .bind(pattern.as_deref().unwrap_or(""))
        .bind(!filter.trash)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let more = rows.len() > limit as usize;
    let items = rows
        .into_iter()
        .take(limit as usize)
        .map(FileItem::try_from)
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = more.then(|| items.last().map(|f| f.id.clone())).flatten();
    Ok(Page { items, next_cursor })
}

/// One file (in the files or, for staff, in the trash) with every version, newest first.
#[tracing::instrument(skip_all)]
pub async fn get_file(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
) -> Result<(FileItem, Vec<FileVersion>)> {
    let mut tx = store.read().await?;
    let grant = work::enter::<Read>(&mut tx, actor, project_id).await?;
    check_sees_files(actor, grant.project().scope())?;
    let place = match actor.kind() {
        UserKind::Client => Where::Files,
        UserKind::Staff => Where::Either,
    };
    let file = find_file(&mut tx, &grant, file_id, place).await?;
    let versions = versions_of(&mut tx, file_id).await?;
    Ok((file, versions))
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    name: String,
    size_bytes: i64,
    content_type: String,
    sha256: String,
    uploaded_by: Option<String>,
    uploader_name: Option<String>,
    created_at: OffsetDateTime,
}

impl From<VersionRow> for FileVersion {
    fn from(row: VersionRow) -> Self {
        FileVersion {
            version: row.version,
            name: row.name,
            size: row.size_bytes,
            content_type: row.content_type,
            sha256: row.sha256,
            uploaded_by: row.uploaded_by,
            uploaded_by_name: row.uploader_name,
            created_at: row.created_at,
        }
    }
}

async fn versions_of(tx: &mut Tx, file_id: &str) -> Result<Vec<FileVersion>> {
    let rows: Vec<VersionRow> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select v.version, v.name, v.size_bytes, v.content_type, v.sha256, v.uploaded_by,
                    users.name as uploader_name, v.created_at
             from file_versions v left join users on users.user_id = v.uploaded_by
             where v.file_id = $1 order by v.version desc",
        )
        .bind(file_id)
        .fetch_all(conn)
        .await?
    });
    Ok(rows.into_iter().map(FileVersion::from).collect())
}

/// A file's content, ready to be sent: which version, and where its bytes are.
#[derive(Debug)]
pub struct Download {
    /// The file.
    pub file: FileItem,
    /// The version asked for.
    pub version: FileVersion,
    files: BrandFiles,
}

/// The bytes of a [`Download`], as the store streams them.
pub type ByteStream = futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>;

impl Download {
    /// The bytes from `range` (`start..end`, end exclusive; all of them for `None`).
    pub async fn stream(&self, range: Option<std::ops::Range<u64>>) -> Result<ByteStream> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = self
            .files
            .objects
            .get_opts(&objects::blob_path(&self.version.sha256), options)
            .await?;
        Ok(match found.payload {
            object_store::GetResultPayload::File(file, _) => file_stream(file, found.range),
            object_store::GetResultPayload::Stream(stream) => stream,
        })
    }
}

/// Bytes read from a local file at a time (the file store's own stream reads 8 KiB at a
/// time, each on a thread of its own: a download of 1 GiB took five times the CPU).
const READ_BYTES: usize = 256 * 1024;

/// `range` of a local file as a stream, read [`READ_BYTES`] at a time.
fn file_stream(file: std::fs::File, range: std::ops::Range<u64>) -> ByteStream {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let failed = |error: std::io::Error| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(error),
    };
    let file = tokio::fs::File::from_std(file);
    let state = (
        file,
        range.start,
        range.end.saturating_sub(range.start),
        false,
    );
    Box::pin(futures_util::stream::unfold(
        state,
        move |(mut file, start, left, sought)| async move {
            if left == 0 {
                return None;
            }
            if !sought && let Err(error) = file.seek(std::io::SeekFrom::Start(start)).await {
                return Some((Err(failed(error)), (file, start, 0, true)));
            }
            let mut buffer =
                vec![0u8; usize::try_from(left).map_or(READ_BYTES, |l| l.min(READ_BYTES))];
            match file.read(&mut buffer).await {
                Ok(0) => {
                    let cut = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file is shorter than it was",
                    );
                    Some((Err(failed(cut)), (file, start, 0, true)))
                }
                Ok(read) => {
                    buffer.truncate(read);
                    Some((
                        Ok(bytes::Bytes::from(buffer)),
                        (file, start, left - read as u64, true),
                    ))
                }
                Err(error) => Some((Err(failed(error)), (file, start, 0, true))),
            }
        },
    ))
}

/// Opens version `version` (the current one for `None`) of a file for download
/// (`files.download`): not found when out of sight, in the trash, or no such version.
#[tracing::instrument(skip_all)]
pub async fn open_download(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
    version: Option<i64>,
) -> Result<Download> {
    let files = files_of(store)?.clone();
    let mut tx = store.read().await?;
    let approach = work::enter::<Read>(&mut tx, actor, project_id).await?;
    let file = find_file(&mut tx, &approach, file_id, Where::Files).await?;
    crate::access::permit::<need::FilesDownload>(actor, approach.project().scope())?;
    let version = match version {
        None => file.current.clone(),
        Some(n) => versions_of(&mut tx, file_id)
            .await?
            .into_iter()
            .find(|v| v.version == n)
            .ok_or_else(|| Error::NotFound(format!("this file has no version {n}")))?,
    };
    Ok(Download {
        file,
        version,
        files,
    })
}

/// A preview's bytes (a PNG), if one was made.
#[tracing::instrument(skip_all)]
pub async fn open_preview(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
) -> Result<(FileItem, bytes::Bytes)> {
    let files = files_of(store)?.clone();
    let mut tx = store.read().await?;
    let approach = work::enter::<Read>(&mut tx, actor, project_id).await?;
    let file = find_file(&mut tx, &approach, file_id, Where::Files).await?;
    // A preview is a copy of the content: it is for those who may download it.
    crate::access::permit::<need::FilesDownload>(actor, approach.project().scope())?;
    let state: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select preview from file_blobs where sha256 = $1")
            .bind(&file.current.sha256)
            .fetch_optional(conn)
            .await?
    });
    drop(tx);
    if state.as_deref() != Some("ready") {
        return Err(Error::NotFound(match state.as_deref() {
            Some("pending") => "the preview is still being made".to_owned(),
            _ => "this file has no preview".to_owned(),
        }));
    }
    let found = match files
        .objects
        .get(&objects::preview_path(&file.current.sha256))
        .await
    {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(Error::NotFound("this file has no preview".to_owned()));
        }
        Err(other) => return Err(other.into()),
    };
    let bytes = found.bytes().await?;
    Ok((file, bytes))
}

/// An upload on its way in: checked before its first byte (the project grant with
/// `files.upload`), counted and hashed as it streams into a staging object.
pub struct Upload {
    target: Destination,
    files: BrandFiles,
    writer: Option<WriteMultipart>,
    hasher: aws_lc_rs::digest::Context,
    head: Vec<u8>,
    size: u64,
    used: u64,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("project_id", &self.target.project_id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // An upload dropped before it finished (the client left, a limit was passed):
        // its staging upload is aborted, so no part of it stays in the store.
        if let Some(writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(%error, "an unfinished upload could not be aborted");
                }
            });
        }
    }
}

/// Starts an upload to `project_id`: the project reached, `files.upload`, not archived,
/// the brand's quota not full, before anything is read of the body.
#[tracing::instrument(skip_all)]
pub async fn begin_upload(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
) -> Result<Upload> {
    let files = files_of(store)?.clone();
    let mut tx = store.read().await?;
    // A read transaction: the project's lock is taken only when the upload is finished,
    // not for as long as its bytes take to arrive.
    let approach = work::enter::<Read>(&mut tx, actor, project_id).await?;
    crate::access::permit::<need::FilesUpload>(actor, approach.project().scope())?;
    work::refuse_archived(approach.project())?;
    let used = used_bytes(&mut tx).await?;
    drop(tx);
    let quota = files.limits.brand_quota_bytes;
    if quota > 0 && used >= quota {
        return Err(quota_exceeded(quota));
    }
    let staging_id = new_id()?;
    let multipart = files
        .objects
        .put_multipart(&objects::staging_path(&staging_id))
        .await?;
    Ok(Upload {
        target: Destination {
            store: store.clone(),
            actor: actor.clone(),
            project_id: project_id.to_owned(),
            files: files.clone(),
            staging_id,
        },
        files,
        writer: Some(WriteMultipart::new_with_chunk_size(multipart, PART_BYTES)),
        hasher: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
        head: Vec::with_capacity(SNIFF_BYTES),
        size: 0,
        used,
    })
}

fn too_large(max: u64) -> Error {
    Error::TooLarge(format!(
        "the file is larger than this server accepts ({} at most)",
        human_bytes(max)
    ))
}

fn quota_exceeded(quota: u64) -> Error {
    Error::QuotaExceeded(format!(
        "the brand's files would take more than its storage quota of {}; delete files (and empty the trash) or ask the operator for more",
        human_bytes(quota)
    ))
}

/// A byte count as people read it (`1.5 MiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl Upload {
    /// Takes the next bytes of the file: refused at once (and the upload aborted) when the
    /// file passes the server's limit or the brand's quota.
    pub async fn write(&mut self, chunk: bytes::Bytes) -> Result<()> {
        self.size += chunk.len() as u64;
        let limits = self.files.limits;
        if self.size > limits.max_upload_bytes {
            self.abort().await;
            return Err(too_large(limits.max_upload_bytes));
        }
        if limits.brand_quota_bytes > 0 && self.used + self.size > limits.brand_quota_bytes {
            self.abort().await;
            return Err(quota_exceeded(limits.brand_quota_bytes));
        }
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(&chunk);
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::Objects("the upload was already stopped".to_owned()));
        };
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(chunk);
        Ok(())
    }

    /// Stops the upload and removes what it wrote.
    pub async fn abort(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(%error, "an unfinished upload could not be aborted");
        }
    }

    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Finishes the upload: the last part is sent, then, under the project's lock, the
    /// fields are read, the content is moved to its address (unless the brand has it
    /// already) and the file or its new version is written. `name` is the name the
    /// browser gave the file.
    pub async fn finish(mut self, name: &str, form: &UploadForm) -> Result<FileItem> {
        let Some(writer) = self.writer.take() else {
            return Err(Error::Objects("the upload was already stopped".to_owned()));
        };
        let staging = objects::staging_path(&self.target.staging_id);
        if let Err(error) = writer.finish().await {
            return Err(error.into());
        }
        let sha256 = hex(self.hasher.clone().finish().as_ref());
        let content_type = sniff(&self.head);
        let outcome = self
            .target
            .record(name, form, self.size, &sha256, &content_type)
            .await;
        // The staging object has been moved to its address, or is not needed: the brand
        // had this content already, or the upload was refused.
        if let Err(error) = self.files.objects.delete(&staging).await
            && !matches!(error, object_store::Error::NotFound { .. })
        {
            tracing::warn!(%error, "a finished upload's staging object could not be removed");
        }
        outcome
    }
}

/// Where a finished upload goes.
struct Destination {
    store: TenantStore,
    actor: Principal,
    project_id: String,
    files: BrandFiles,
    staging_id: String,
}

impl Destination {
    async fn record(
        &self,
        name: &str,
        form: &UploadForm,
        size: u64,
        sha256: &str,
        content_type: &str,
    ) -> Result<FileItem> {
        let at = now();
        let actor = &self.actor;
        let mut tx = self.store.write_uncached().await?;
        let approach = work::approach(&mut tx, actor, &self.project_id).await?;
        let replaced = match form
            .replaces
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(id) => Some(
                find_file(&mut tx, &approach, id, Where::Files)
                    .await
                    .map_err(|_| {
                        Error::field(
                            "replaces",
                            format!("'{id}' is not a file of this project you can see"),
                        )
                    })?,
            ),
            None => None,
        };
        let grant = approach.permit::<need::FilesUpload>()?;
        let name = clean_name(name);
        let visibility = upload_visibility(actor, form.visibility.as_deref(), replaced.as_ref())?;
        let task = match form
            .task
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(task) => Some(check_task(&mut tx, &grant, task).await?),
            None => replaced.as_ref().and_then(|f| f.task_id.clone()),
        };
        tx.serialize(&format!("blob:{sha256}")).await?;
        let known: Option<i64> = on_tx!(tx, |conn| {
            sqlx::query_scalar("select size_bytes from file_blobs where sha256 = $1")
                .bind(sha256)
                .fetch_optional(conn)
                .await?
        });
        let bytes = size;
        let size =
            i64::try_from(size).map_err(|_| too_large(self.files.limits.max_upload_bytes))?;
        if known.is_none() {
            let quota = self.files.limits.brand_quota_bytes;
            if quota > 0 {
                // Uploads to different projects finish one at a time while a quota is
                // counted, so two cannot each fit in what only one of them fits in.
                tx.serialize("files:quota").await?;
            }
            if quota > 0 && used_bytes(&mut tx).await? + bytes > quota {
                return Err(quota_exceeded(quota));
            }
            let preview = if PREVIEW_TYPES.contains(&content_type) {
                "pending"
            } else {
                "none"
            };
            on_tx!(tx, |conn| {
                sqlx::query(
                    "insert into file_blobs (sha256, size_bytes, preview, created_at, updated_at) values ($1, $2, $3, $4, $4)",
                )
                .bind(sha256)
                .bind(size)
                .bind(preview)
                .bind(at)
                .execute(conn)
                .await?;
            });
            // Moved while the rows are not committed: should the commit fail, the object
            // has no row and the purge removes it.
            self.files
                .objects
                .rename(
                    &objects::staging_path(&self.staging_id),
                    &objects::blob_path(sha256),
                )
                .await?;
        }
        let (file_id, version) = match &replaced {
            Some(file) => {
                let version = file.current.version + 1;
                on_tx!(tx, |conn| {
                    sqlx::query(
                        "update files set current_version = $2, visibility = $3, task_id = $4, updated_at = $5 where file_id = $1",
                    )
                    .bind(&file.id)
                    .bind(version)
                    .bind(visibility.as_str())
                    .bind(task.as_deref())
                    .bind(at)
                    .execute(conn)
                    .await?;
                });
                (file.id.clone(), version)
            }
            None => {
                let id = new_id()?;
                on_tx!(tx, |conn| {
                    sqlx::query(
                        "insert into files (file_id, project_id, task_id, visibility, current_version, created_by, created_at, updated_at)
                         values ($1, $2, $3, $4, 1, $5, $6, $6)",
                    )
                    .bind(&id)
                    .bind(grant.project_id())
                    .bind(task.as_deref())
                    .bind(visibility.as_str())
                    .bind(actor.user_id())
                    .bind(at)
                    .execute(conn)
                    .await?;
                });
                (id, 1)
            }
        };
        on_tx!(tx, |conn| {
            sqlx::query(
                "insert into file_versions (file_id, version, name, sha256, size_bytes, content_type, uploaded_by, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(&file_id)
            .bind(version)
            .bind(&name)
            .bind(sha256)
            .bind(size)
            .bind(content_type)
            .bind(actor.user_id())
            .bind(at)
            .execute(conn)
            .await?;
        });
        let file = find_file(&mut tx, &grant, &file_id, Where::Files).await?;
        let action = if replaced.is_some() {
            "file.version"
        } else {
            "file.upload"
        };
        audit::note(&grant.actor(), action, Target::new("file", &file_id))
            .before_maybe(replaced.as_ref().map(FileItem::audit_state))
            .after(file.audit_state())
            .write(&mut tx)
            .await?;
        let kind = if replaced.is_some() {
            "file.changed"
        } else {
            "file.added"
        };
        file_event(kind, &file)
            .emit_change(
                &mut tx,
                &grant.actor(),
                replaced.as_ref().map_or(file.visibility, |r| r.visibility),
                "file.removed",
                json!({"name": replaced.as_ref().map_or(&file.current.name, |r| &r.current.name), "hidden": true}),
            )
            .await?;
        tx.commit().await?;
        Ok(file)
    }
}

/// The event of a change to `file`, as everyone who sees the file may see it.
fn file_event<'a>(kind: &'a str, file: &'a FileItem) -> events::NewEvent<'a> {
    events::event(kind, Some(&file.project_id), Some(&file.id))
        .visible(file.visibility)
        .data(json!({
            "name": file.current.name,
            "version": file.current.version,
            "size": file.current.size,
        }))
        .staff_data(json!({"task": file.task_id}))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The visibility of an upload: a client contact's is always client-visible (they could
/// not see it otherwise); staff choose, a new version keeping its file's by default.
fn upload_visibility(
    actor: &Principal,
    asked: Option<&str>,
    replaced: Option<&FileItem>,
) -> Result<Visibility> {
    let asked = asked
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(Visibility::parse)
        .transpose()?;
    match actor.kind() {
        UserKind::Client => match asked {
            Some(Visibility::Internal) => Err(Error::field(
                "visibility",
                "files from client users are always visible to their company",
            )),
            _ => Ok(Visibility::Client),
        },
        UserKind::Staff => Ok(asked
            .or(replaced.map(|f| f.visibility))
            .unwrap_or(Visibility::Internal)),
    }
}

/// Checks that `task_id` is a task of the project the caller sees.
async fn check_task(tx: &mut Tx, inside: &impl Inside, task_id: &str) -> Result<String> {
    let found: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select task_id from tasks where task_id = $1 and project_id = $2 and ($3 = '' or visibility = $3)",
        )
        .bind(task_id)
        .bind(&inside.project().id)
        .bind(limited_to(inside.principal()))
        .fetch_optional(conn)
        .await?
    });
    found.ok_or_else(|| {
        Error::field(
            "task",
            format!("'{task_id}' is not a task of this project you can see"),
        )
    })
}

/// Bytes the brand's files take: each distinct content once, versions and trash included.
async fn used_bytes(tx: &mut Tx) -> Result<u64> {
    let used: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select cast(coalesce(sum(size_bytes), 0) as bigint) from file_blobs")
            .fetch_one(conn)
            .await?
    });
    Ok(u64::try_from(used).unwrap_or_default())
}

/// How much of its quota a brand uses: `(used, quota)`, the quota 0 for none.
#[tracing::instrument(skip_all)]
pub async fn usage(store: &TenantStore) -> Result<(u64, u64)> {
    let files = files_of(store)?;
    let mut tx = store.read().await?;
    Ok((used_bytes(&mut tx).await?, files.limits.brand_quota_bytes))
}

/// Renames a file, changes who sees it or the task it is attached to (`files.upload`,
/// staff only).
#[tracing::instrument(skip_all)]
pub async fn update_file(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
    change: &FileChange,
) -> Result<FileItem> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let approach = work::approach(&mut tx, actor, project_id).await?;
    let before = find_file(&mut tx, &approach, file_id, Where::Files).await?;
    if actor.kind() == UserKind::Client {
        return Err(Error::Forbidden(
            "client users cannot rename files or change who sees them".to_owned(),
        ));
    }
    let grant = approach.permit::<need::FilesUpload>()?;
    let name = change
        .name
        .as_deref()
        .map(|n| single_line("name", "a file's name", n, 255).map(|n| clean_name(&n)))
        .transpose()?
        .unwrap_or_else(|| before.current.name.clone());
    let visibility = change
        .visibility
        .as_deref()
        .map(Visibility::parse)
        .transpose()?
        .unwrap_or(before.visibility);
    let task = match &change.task {
        None => before.task_id.clone(),
        Some(task) => match task.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(task) => Some(check_task(&mut tx, &grant, task).await?),
        },
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "update files set visibility = $2, task_id = $3, updated_at = $4 where file_id = $1",
        )
        .bind(file_id)
        .bind(visibility.as_str())
        .bind(task.as_deref())
        .bind(at)
        .execute(conn)
        .await?;
    });
    on_tx!(tx, |conn| {
        sqlx::query("update file_versions set name = $3, updated_at = $4 where file_id = $1 and version = $2")
            .bind(file_id)
            .bind(before.current.version)
            .bind(&name)
            .bind(at)
            .execute(conn)
            .await?;
    });
    let after = find_file(&mut tx, &grant, file_id, Where::Files).await?;
    if after == before {
        return Ok(before);
    }
    audit::note(&grant.actor(), "file.update", Target::new("file", file_id))
        .before(before.audit_state())
        .after(after.audit_state())
        .write(&mut tx)
        .await?;
    file_event("file.changed", &after)
        .emit_change(
            &mut tx,
            &grant.actor(),
            before.visibility,
            "file.removed",
            json!({"name": before.current.name, "hidden": true}),
        )
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a file to the project's trash (`files.delete`): restorable for [`TRASH_DAYS`]
/// days.
#[tracing::instrument(skip_all)]
pub async fn delete_file(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
) -> Result<FileItem> {
    trash_or_restore(store, actor, project_id, file_id, true).await
}

/// Takes a file back out of the trash (`files.delete`).
#[tracing::instrument(skip_all)]
pub async fn restore_file(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
) -> Result<FileItem> {
    trash_or_restore(store, actor, project_id, file_id, false).await
}

async fn trash_or_restore(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    file_id: &str,
    to_trash: bool,
) -> Result<FileItem> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let approach = work::approach(&mut tx, actor, project_id).await?;
    let place = if to_trash { Where::Files } else { Where::Trash };
    if !to_trash && actor.kind() == UserKind::Client {
        // The trash is the agency's: a client contact does not see what is in it.
        return Err(no_such_file());
    }
    let before = find_file(&mut tx, &approach, file_id, place).await?;
    let grant = approach.permit::<need::FilesDelete>()?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "update files set deleted_at = $2, deleted_by = $3, updated_at = $4 where file_id = $1",
        )
        .bind(file_id)
        .bind(to_trash.then_some(at))
        .bind(to_trash.then(|| actor.user_id()))
        .bind(at)
        .execute(conn)
        .await?;
    });
    let after = find_file(&mut tx, &grant, file_id, Where::Either).await?;
    let action = if to_trash {
        "file.delete"
    } else {
        "file.restore"
    };
    audit::note(&grant.actor(), action, Target::new("file", file_id))
        .before(before.audit_state())
        .after(after.audit_state())
        .write(&mut tx)
        .await?;
    let kind = if to_trash {
        "file.removed"
    } else {
        "file.restored"
    };
    file_event(kind, &after)
        .emit(&mut tx, &grant.actor())
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// What one purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Files removed from the trash for good.
    pub files: u64,
    /// Contents removed from the store (no version referred to them any more).
    pub contents: u64,
}

/// Empties what has been in the trash for [`TRASH_DAYS`] days as of `at` and removes the
/// content no version refers to any more (and its preview); each file purged is in the
/// audit log. Cheap when there is nothing to do (two indexed queries).
#[tracing::instrument(skip_all)]
pub async fn purge(store: &TenantStore, at: OffsetDateTime) -> Result<Purged> {
    let files = files_of(store)?.clone();
    let mut purged = Purged::default();
    let cutoff = at - Duration::days(TRASH_DAYS);
    let mut tx = store.write_uncached().await?;
    let expired: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select file_id, project_id from files where deleted_at is not null and deleted_at <= $1")
            .bind(cutoff)
            .fetch_all(conn)
            .await?
    });
    for (file_id, project_id) in &expired {
        on_tx!(tx, |conn| {
            sqlx::query("delete from file_versions where file_id = $1")
                .bind(file_id)
                .execute(conn)
                .await?;
        });
        on_tx!(tx, |conn| {
            sqlx::query("delete from files where file_id = $1")
                .bind(file_id)
                .execute(conn)
                .await?;
        });
        audit::note(&Actor::system(), "file.purge", Target::new("file", file_id))
            .before(json!({"project": project_id, "in_trash": true}))
            .write(&mut tx)
            .await?;
        purged.files += 1;
    }
    let unreferenced: Vec<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select b.sha256 from file_blobs b
             where not exists(select 1 from file_versions v where v.sha256 = b.sha256)",
        )
        .fetch_all(conn)
        .await?
    });
    for sha256 in &unreferenced {
        tx.serialize(&format!("blob:{sha256}")).await?;
        on_tx!(tx, |conn| {
            sqlx::query("delete from file_blobs where sha256 = $1")
                .bind(sha256)
                .execute(conn)
                .await?;
        });
    }
    // Objects go once their rows are gone for good: should the commit fail, the rows stay
    // and refer to bytes that are still there.
    tx.commit().await?;
    for sha256 in &unreferenced {
        remove_object(&files, &objects::blob_path(sha256)).await?;
        remove_object(&files, &objects::preview_path(sha256)).await?;
        purged.contents += 1;
    }
    Ok(purged)
}

/// Removes what interrupted work left in the brand's part of the file store a day or more
/// before `at`: staging objects of uploads a crash cut off, and content that a transaction
/// moved into place but never committed. It lists every object, so it runs seldom.
#[tracing::instrument(skip_all)]
pub async fn sweep_leftovers(store: &TenantStore, at: OffsetDateTime) -> Result<u64> {
    let files = files_of(store)?.clone();
    sweep_staging(store, &files, at).await
}

async fn remove_object(files: &BrandFiles, path: &object_store::path::Path) -> Result<()> {
    match files.objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Removes staging objects a day old or more (uploads a crash cut off), and content
/// objects no row refers to that are as old (moved into place by a transaction that
/// never committed).
async fn sweep_staging(store: &TenantStore, files: &BrandFiles, at: OffsetDateTime) -> Result<u64> {
    use futures_util::TryStreamExt as _;
    let before = at - Duration::days(1);
    let old = |meta: &object_store::ObjectMeta| {
        OffsetDateTime::from_unix_timestamp(meta.last_modified.timestamp())
            .is_ok_and(|t| t <= before)
    };
    let mut removed = 0;
    let staged: Vec<object_store::ObjectMeta> = files
        .objects
        .list(Some(&objects::staging_prefix()))
        .try_collect()
        .await?;
    for meta in staged.iter().filter(|m| old(m)) {
        remove_object(files, &meta.location).await?;
        removed += 1;
    }
    let blobs: Vec<object_store::ObjectMeta> = files
        .objects
        .list(Some(&object_store::path::Path::from("blobs")))
        .try_collect()
        .await?;
    let mut tx = store.read().await?;
    let known: HashSet<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar::<_, String>("select sha256 from file_blobs")
            .fetch_all(conn)
            .await?
    })
    .into_iter()
    .collect();
    drop(tx);
    for meta in blobs.iter().filter(|m| old(m)) {
        let name = meta.location.filename().unwrap_or_default().to_owned();
        if !known.contains(&name) {
            remove_object(files, &meta.location).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// This module's tables in backups (parents first), each with its columns (the first is
/// the key rows are ordered by).
pub(crate) const BACKUP: &[Table] = &[
    (
        "file_blobs",
        &[
            ("sha256", Column::Text),
            ("size_bytes", Column::Integer),
            ("preview", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "files",
        &[
            ("file_id", Column::Text),
            ("project_id", Column::Text),
            ("task_id", Column::OptionalText),
            ("visibility", Column::Text),
            ("current_version", Column::Integer),
            ("deleted_at", Column::OptionalTime),
            ("deleted_by", Column::OptionalText),
            ("created_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "file_versions",
        &[
            ("file_id", Column::Text),
            ("version", Column::Integer),
            ("name", Column::Text),
            ("sha256", Column::Text),
            ("size_bytes", Column::Integer),
            ("content_type", Column::Text),
            ("uploaded_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(clean_name("evil\u{202e}gpj.exe"), "evilgpj.exe");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name("Grüße.pdf"), "Grüße.pdf");
        assert_eq!(clean_name(&"x".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\">"),
            "image/svg+xml"
        );
        assert_eq!(sniff(b"  <svg onload=alert(1)>"), "image/svg+xml");
        assert_eq!(sniff(b"<!DOCTYPE html><html>"), "text/html");
        assert_eq!(sniff(b"hello\n"), "text/plain");
        assert_eq!(sniff(&[0, 159, 146, 150, 1, 2]), "application/octet-stream");
    }

    #[test]
    fn active_types_are_never_sent_as_themselves() {
        let version = |content_type: &str| FileVersion {
            version: 1,
            name: "x".to_owned(),
            size: 1,
            content_type: content_type.to_owned(),
            sha256: String::new(),
            uploaded_by: None,
            uploaded_by_name: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        for active in ["text/html", "image/svg+xml", "application/xml"] {
            assert_eq!(version(active).served_type(), "application/octet-stream");
            assert!(!version(active).shows_inline());
        }
        assert!(version("image/png").shows_inline());
        assert!(version("application/pdf").shows_inline());
        assert!(!version("text/plain").shows_inline());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(100 * 1024 * 1024), "100.0 MiB");
    }
}

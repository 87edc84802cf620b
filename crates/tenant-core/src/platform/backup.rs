//! Backup and restore of one tenant in a portable, documented format — also how a brand
//! moves between SQLite and PostgreSQL.
//!
//! # Format (`tasksession-backup`, version 2)
//! UTF-8 JSON Lines. The first line is a header:
//! `{"format":"tasksession-backup","version":1,"tenant_schema":N,"domain":…,"brand":…,
//! "created_at":…}`. Then one line per row, tables in dependency order:
//! `{"table":"users","row":{"user_id":"…",…}}`, every column present, text as strings, times
//! as RFC 3339 strings in UTC with microseconds, absent values as `null`. Then the bytes of
//! every file content the rows refer to (version 2): `{"content":"<sha256>","size":N}`
//! followed by `{"data":"<base64>"}` lines of at most 1 MiB of bytes each, until N bytes;
//! a restore checks each content against its SHA-256 and writes it to whichever file
//! store the server uses. The last line is `{"end":true,"rows":N,"contents":M}`, so a
//! cut-off file is recognised. Version 1 (before files) still restores. A backup is read in one
//! snapshot while the platform keeps running; a restore writes everything in one
//! transaction, so it lands whole or not at all. Sessions are not backed up: after a
//! restore everyone signs in again (personal access tokens do move with the brand).

use std::io::{BufRead, Write};
use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, Result};
use crate::platform::tenant::Tenant;
use crate::store::TenantStore;
use crate::store::{Column, TENANT_MIGRATIONS, Table, Tx, on_tx, truncate_to_micros};

/// The format's name in the header.
pub const FORMAT: &str = "tasksession-backup";
/// The format version this build writes (it reads this one and every one before).
pub const VERSION: u64 = 2;

/// Bytes of a file's content per `data` line.
const DATA_BYTES: usize = 1024 * 1024;

/// The oldest tenant schema whose backups restore as they are: the migrations after it only
/// add tables that older backups lack (settings, two-factor credentials, projects and tasks,
/// restored empty) or that backups never carry (the mail outbox and password reset links).
const OLDEST_RESTORABLE_SCHEMA: i64 = 2;

/// Every tenant table at the current tenant schema version, parents before children: each
/// module declares its own.
static TABLES: LazyLock<Vec<Table>> = LazyLock::new(|| {
    [
        crate::brand::settings::BACKUP,
        crate::accounts::roles::BACKUP,
        crate::accounts::companies::BACKUP,
        crate::accounts::users::BACKUP,
        crate::accounts::invitations::BACKUP,
        crate::accounts::totp::BACKUP,
        crate::accounts::teams::BACKUP,
        crate::work::projects::BACKUP,
        crate::work::tasks::BACKUP,
        crate::work::files::BACKUP,
        crate::finance::invoices::BACKUP,
        crate::talk::discussions::BACKUP,
        crate::talk::comments::BACKUP,
        crate::talk::chat::BACKUP,
        crate::accounts::sessions::BACKUP,
        crate::audit::BACKUP,
        crate::events::BACKUP,
        crate::talk::notifications::BACKUP,
    ]
    .concat()
});

/// What a backup or restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows per table, in table order.
    pub rows: Vec<(&'static str, u64)>,
}

impl Summary {
    /// All rows.
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

fn format_time(at: OffsetDateTime) -> Result<String> {
    at.format(&Rfc3339)
        .map_err(|e| Error::Invalid(format!("cannot format a time: {e}")))
}

fn write_line(out: &mut dyn Write, value: &Value) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| Error::Invalid(format!("cannot write the backup: {e}")))?;
    out.write_all(b"\n")
        .map_err(|e| Error::io("(backup output)", e))
}

/// Writes a backup of `tenant` to `out`; `progress` gets the running row count.
pub async fn export(
    tenant: &Tenant,
    store: &TenantStore,
    out: &mut dyn Write,
    mut progress: impl FnMut(u64),
) -> Result<Summary> {
    let mut tx = store.snapshot().await?;
    write_line(
        out,
        &json!({
            "format": FORMAT,
            "version": VERSION,
            "tenant_schema": TENANT_MIGRATIONS.latest(),
            "domain": tenant.domain.as_str(),
            "brand": tenant.brand,
            "created_at": format_time(OffsetDateTime::now_utc())?,
        }),
    )?;
    let mut summary = Summary { rows: Vec::new() };
    let mut total: u64 = 0;
    for (table, columns) in TABLES.iter() {
        let rows = fetch_table(&mut tx, table, columns).await?;
        for row in &rows {
            write_line(out, &json!({ "table": table, "row": row }))?;
            total += 1;
            if total.is_multiple_of(1000) {
                progress(total);
            }
        }
        summary.rows.push((table, rows.len() as u64));
    }
    let contents = export_contents(&mut tx, store, out).await?;
    write_line(
        out,
        &json!({ "end": true, "rows": total, "contents": contents }),
    )?;
    out.flush().map_err(|e| Error::io("(backup output)", e))?;
    progress(total);
    Ok(summary)
}

/// Writes the bytes of every content the snapshot's rows refer to.
async fn export_contents(tx: &mut Tx, store: &TenantStore, out: &mut dyn Write) -> Result<u64> {
    use base64::Engine as _;
    use futures_util::StreamExt as _;
    use object_store::ObjectStoreExt as _;
    let contents: Vec<(String, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as("select sha256, size_bytes from file_blobs order by sha256")
            .fetch_all(conn)
            .await?
    });
    if contents.is_empty() {
        return Ok(0);
    }
    let files = store.files.as_ref().ok_or_else(|| {
        Error::Objects(
            "this server has no file store configured, so the brand's files cannot be backed up"
                .to_owned(),
        )
    })?;
    for (sha256, size) in &contents {
        write_line(out, &json!({ "content": sha256, "size": size }))?;
        let mut stream = files
            .objects
            .get(&crate::objects::blob_path(sha256))
            .await?
            .into_stream();
        let mut pending: Vec<u8> = Vec::with_capacity(DATA_BYTES);
        let mut written: i64 = 0;
        while let Some(chunk) = stream.next().await {
            let mut chunk = &chunk?[..];
            while !chunk.is_empty() {
                let take = (DATA_BYTES - pending.len()).min(chunk.len());
                pending.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
                if pending.len() == DATA_BYTES {
                    write_line(
                        out,
                        &json!({ "data": base64::engine::general_purpose::STANDARD.encode(&pending) }),
                    )?;
                    written += pending.len() as i64;
                    pending.clear();
                }
            }
        }
        if !pending.is_empty() {
            write_line(
                out,
                &json!({ "data": base64::engine::general_purpose::STANDARD.encode(&pending) }),
            )?;
            written += pending.len() as i64;
        }
        if written != *size {
            return Err(Error::Objects(format!(
                "the file store holds {written} bytes of content {sha256}, not {size}"
            )));
        }
    }
    Ok(contents.len() as u64)
}

/// A content being restored: where its bytes go, and how many are still to come.
struct Restoring {
    sha256: String,
    left: u64,
    writer: object_store::WriteMultipart,
    hasher: aws_lc_rs::digest::Context,
}

async fn fetch_table(
    tx: &mut Tx,
    table: &str,
    columns: &[(&str, Column)],
) -> Result<Vec<Map<String, Value>>> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "select {} from {table} order by {}",
        names.join(", "),
        names[0]
    );
    let out = on_tx!(tx, |conn| {
        use sqlx::Row as _;
        let rows = sqlx::query(&sql).fetch_all(conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut map = Map::new();
            for (index, (name, column)) in columns.iter().enumerate() {
                let value = match column {
                    Column::Text => Value::String(row.try_get::<String, _>(index)?),
                    Column::OptionalText => row
                        .try_get::<Option<String>, _>(index)?
                        .map_or(Value::Null, Value::String),
                    Column::Time => Value::String(format_time(row.try_get(index)?)?),
                    Column::Integer => Value::from(row.try_get::<i64, _>(index)?),
                    Column::OptionalTime => {
                        match row.try_get::<Option<OffsetDateTime>, _>(index)? {
                            Some(at) => Value::String(format_time(at)?),
                            None => Value::Null,
                        }
                    }
                };
                map.insert((*name).to_owned(), value);
            }
            out.push(map);
        }
        out
    });
    Ok(out)
}

/// The header of a backup, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The domain it was taken from.
    pub domain: String,
    /// The brand name.
    pub brand: String,
    /// The tenant schema version of its rows.
    pub tenant_schema: i64,
}

fn bad_line(line: usize, what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("backup line {line}: {what}"))
}

/// Reads and checks the header line.
pub fn read_header(input: &mut dyn BufRead) -> Result<Header> {
    let mut first = String::new();
    input
        .read_line(&mut first)
        .map_err(|e| Error::io("(backup input)", e))?;
    let value: Value = serde_json::from_str(&first).map_err(|_| {
        Error::Invalid("this is not a Task Session backup (no header line)".to_owned())
    })?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::Invalid(
            "this is not a Task Session backup (no 'tasksession-backup' header)".to_owned(),
        ));
    }
    let version = value.get("version").and_then(Value::as_u64).unwrap_or(0);
    if !(1..=VERSION).contains(&version) {
        return Err(Error::Invalid(format!(
            "backup format version {version} is not supported by this release (it reads versions 1 to {VERSION})"
        )));
    }
    let text = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad_line(1, format!("header field '{field}' is missing")))
    };
    let tenant_schema = value
        .get("tenant_schema")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad_line(1, "header field 'tenant_schema' is missing"))?;
    if !(OLDEST_RESTORABLE_SCHEMA..=TENANT_MIGRATIONS.latest()).contains(&tenant_schema) {
        return Err(Error::Invalid(format!(
            "the backup holds tenant schema version {tenant_schema} and this release writes version {}; restore it with the release that made it, migrate, and back up again",
            TENANT_MIGRATIONS.latest()
        )));
    }
    Ok(Header {
        domain: text("domain")?,
        brand: text("brand")?,
        tenant_schema,
    })
}

/// Restores the rows after the header into `store`, which must hold no users yet. Every
/// line is checked; on any problem nothing is written.
pub async fn import(
    store: &TenantStore,
    input: &mut dyn BufRead,
    mut progress: impl FnMut(u64),
) -> Result<Summary> {
    let mut tx = store.write().await?;
    let existing: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from users")
            .fetch_one(conn)
            .await?
    });
    if existing > 0 {
        return Err(Error::Conflict(format!(
            "the brand already has {existing} user(s); restore only into an empty brand (add a new domain, or purge and re-add this one)"
        )));
    }
    let mut counts: Vec<(&'static str, u64)> = TABLES.iter().map(|(t, _)| (*t, 0)).collect();
    let mut table_index = 0;
    let mut line_number = 1;
    let mut ended = None;
    let mut line = String::new();
    let mut restoring: Option<Restoring> = None;
    // Contents written to the file store, removed again should the restore fail.
    let mut written: Vec<String> = Vec::new();
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|e| Error::io("(backup input)", e))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if line.trim().is_empty() {
            continue;
        }
        if ended.is_some() {
            return Err(bad_line(line_number, "text after the end line"));
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| bad_line(line_number, format!("not JSON ({e})")))?;
        if value.get("content").is_some() || value.get("data").is_some() {
            let restored = restore_content(store, &mut restoring, &value)
                .await
                .map_err(|e| bad_line(line_number, e));
            match restored {
                Ok(Some(sha256)) => written.push(sha256),
                Ok(None) => {}
                Err(error) => {
                    forget_contents(store, &written).await;
                    return Err(error);
                }
            }
            continue;
        }
        if restoring.is_some() {
            forget_contents(store, &written).await;
            return Err(bad_line(line_number, "a file's content is cut off"));
        }
        if value.get("end").and_then(Value::as_bool) == Some(true) {
            ended = Some(
                value
                    .get("rows")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX),
            );
            if let Some(contents) = value.get("contents").and_then(Value::as_u64)
                && contents != written.len() as u64
            {
                forget_contents(store, &written).await;
                return Err(Error::Invalid(format!(
                    "the backup's end line says {contents} file contents but {} were read; nothing was restored",
                    written.len()
                )));
            }
            continue;
        }
        let table = value
            .get("table")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_line(line_number, "no 'table'"))?;
        let position = TABLES
            .iter()
            .position(|(name, _)| *name == table)
            .ok_or_else(|| bad_line(line_number, format!("unknown table '{table}'")))?;
        if position < table_index {
            return Err(bad_line(
                line_number,
                format!("table '{table}' out of order"),
            ));
        }
        table_index = position;
        let (name, columns) = TABLES[position];
        let row = value
            .get("row")
            .and_then(Value::as_object)
            .ok_or_else(|| bad_line(line_number, "no 'row' object"))?;
        insert_row(&mut tx, name, columns, row)
            .await
            .map_err(|e| bad_line(line_number, e))?;
        counts[position].1 += 1;
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        if total.is_multiple_of(1000) {
            progress(total);
        }
    }
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    if let Err(error) = check_contents(&mut tx, &written, restoring.is_some()).await {
        forget_contents(store, &written).await;
        return Err(error);
    }
    match ended {
        None => {
            return Err(Error::Invalid(
                "the backup is cut off (no end line); nothing was restored".to_owned(),
            ));
        }
        Some(expected) if expected != total => {
            return Err(Error::Invalid(format!(
                "the backup's end line says {expected} rows but {total} were read; nothing was restored"
            )));
        }
        Some(_) => {}
    }
    if !tx.is_sqlite() {
        // PostgreSQL plans from table statistics, which a bulk load leaves stale until
        // autovacuum comes by: a search over 100,000 restored users took 35 ms by a scan
        // instead of 3 ms from its trigram index. (SQLite keeps none unless asked.)
        for (table, _) in TABLES.iter() {
            on_tx!(tx, |conn| {
                sqlx::query(&format!("analyze {table}"))
                    .execute(conn)
                    .await?;
            });
        }
    }
    // Previews are not carried: they are made again from the contents.
    on_tx!(tx, |conn| {
        sqlx::query("update file_blobs set preview = 'pending' where preview = 'ready'")
            .execute(conn)
            .await?;
    });
    if let Err(error) = tx.commit().await {
        forget_contents(store, &written).await;
        return Err(error);
    }
    progress(total);
    Ok(Summary { rows: counts })
}

/// Takes one `content` or `data` line: begins a content, or writes its next bytes; gives
/// the SHA-256 of a content whose last byte came and matched.
async fn restore_content(
    store: &TenantStore,
    restoring: &mut Option<Restoring>,
    value: &Value,
) -> Result<Option<String>> {
    use base64::Engine as _;
    use object_store::ObjectStoreExt as _;
    if let Some(sha256) = value.get("content") {
        if restoring.is_some() {
            return Err(Error::Invalid("a file's content is cut off".to_owned()));
        }
        let sha256 = sha256
            .as_str()
            .filter(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| Error::Invalid("'content' must be a SHA-256 in hex".to_owned()))?;
        let size = value
            .get("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Invalid("a content needs its 'size'".to_owned()))?;
        let files = store.files.as_ref().ok_or_else(|| {
            Error::Objects(
                "this server has no file store configured for the backup's files".to_owned(),
            )
        })?;
        let upload = files
            .objects
            .put_multipart(&crate::objects::blob_path(sha256))
            .await?;
        let mut next = Restoring {
            sha256: sha256.to_owned(),
            left: size,
            writer: object_store::WriteMultipart::new(upload),
            hasher: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
        };
        if size == 0 {
            return finish_content(next).await.map(Some);
        }
        next.left = size;
        *restoring = Some(next);
        return Ok(None);
    }
    let Some(current) = restoring.as_mut() else {
        return Err(Error::Invalid(
            "'data' without a 'content' line before it".to_owned(),
        ));
    };
    let data = value
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .ok_or_else(|| Error::Invalid("'data' must be base64".to_owned()))?;
    let length = data.len() as u64;
    if length > current.left {
        return Err(Error::Invalid(format!(
            "content {} has more bytes than its size",
            current.sha256
        )));
    }
    current.left -= length;
    current.hasher.update(&data);
    current.writer.wait_for_capacity(1).await?;
    current.writer.put(data.into());
    if current.left > 0 {
        return Ok(None);
    }
    match restoring.take() {
        Some(done) => finish_content(done).await.map(Some),
        None => Ok(None),
    }
}

async fn finish_content(done: Restoring) -> Result<String> {
    let digest = done.hasher.finish();
    let got: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    if got != done.sha256 {
        let _ = done.writer.abort().await;
        return Err(Error::Invalid(format!(
            "content {} does not match its SHA-256 (the backup is damaged)",
            done.sha256
        )));
    }
    done.writer.finish().await?;
    Ok(done.sha256)
}

/// Checks that every content the restored rows refer to came with the backup.
async fn check_contents(tx: &mut Tx, written: &[String], cut_off: bool) -> Result<()> {
    if cut_off {
        return Err(Error::Invalid(
            "the backup is cut off inside a file's content; nothing was restored".to_owned(),
        ));
    }
    let referred: Vec<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select sha256 from file_blobs order by sha256")
            .fetch_all(conn)
            .await?
    });
    if let Some(missing) = referred.iter().find(|sha| !written.contains(sha)) {
        return Err(Error::Invalid(format!(
            "the backup has no bytes for the file content {missing}; nothing was restored"
        )));
    }
    Ok(())
}

/// Removes contents a failed restore had written (best effort: the daily sweep removes
/// what is left).
async fn forget_contents(store: &TenantStore, written: &[String]) {
    use object_store::ObjectStoreExt as _;
    let Some(files) = store.files.as_ref() else {
        return;
    };
    for sha256 in written {
        let _ = files
            .objects
            .delete(&crate::objects::blob_path(sha256))
            .await;
    }
}

async fn insert_row(
    tx: &mut Tx,
    table: &str,
    columns: &[(&str, Column)],
    row: &Map<String, Value>,
) -> Result<()> {
    if let Some(unknown) = row.keys().find(|k| !columns.iter().any(|(c, _)| c == k)) {
        return Err(Error::Invalid(format!(
            "unknown column '{unknown}' in {table}"
        )));
    }
    let mut values = Vec::with_capacity(columns.len());
    for (name, column) in columns {
        let value = row.get(*name).unwrap_or(&Value::Null);
        values.push(CellValue::read(name, *column, value)?);
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "insert into {table} ({}) values ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    on_tx!(tx, |conn| {
        let mut query = sqlx::query(&sql);
        for value in &values {
            query = match value {
                CellValue::Text(text) => query.bind(text.clone()),
                CellValue::Time(at) => query.bind(*at),
                CellValue::Integer(n) => query.bind(*n),
            };
        }
        query.execute(conn).await?;
    });
    Ok(())
}

enum CellValue {
    Text(Option<String>),
    Time(Option<OffsetDateTime>),
    Integer(i64),
}

impl CellValue {
    fn read(name: &str, column: Column, value: &Value) -> Result<Self> {
        let nullable = matches!(column, Column::OptionalText | Column::OptionalTime);
        if value.is_null() {
            if !nullable {
                return Err(Error::Invalid(format!("column '{name}' must not be null")));
            }
            return Ok(match column {
                Column::Time | Column::OptionalTime => CellValue::Time(None),
                Column::Text | Column::OptionalText | Column::Integer => CellValue::Text(None),
            });
        }
        if column == Column::Integer {
            return value
                .as_i64()
                .map(CellValue::Integer)
                .ok_or_else(|| Error::Invalid(format!("column '{name}' must be a whole number")));
        }
        let text = value
            .as_str()
            .ok_or_else(|| Error::Invalid(format!("column '{name}' must be a string")))?;
        Ok(match column {
            Column::Text | Column::OptionalText | Column::Integer => {
                CellValue::Text(Some(text.to_owned()))
            }
            Column::Time | Column::OptionalTime => {
                let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                    Error::Invalid(format!("column '{name}': '{text}' is not an RFC 3339 time"))
                })?;
                CellValue::Time(Some(truncate_to_micros(at.to_offset(time::UtcOffset::UTC))))
            }
        })
    }
}

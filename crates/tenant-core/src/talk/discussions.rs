//! Project discussions: a subject and an opening post, internal (staff only, the default)
//! or client-visible, followed by comments ([`crate::talk::comments`]). Reading and
//! writing need `discussions.participate`; a client contact sees only the client-visible
//! discussions of their company's projects, and what they start is always client-visible.
//! Its author edits the subject and the post; its author or an admin changes who sees it
//! and removes it (with its comments, written to the audit log).

use serde_json::json;
use time::OffsetDateTime;

use crate::access::permissions::Permission;
use crate::access::{Principal, UserKind};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::fields::single_line;
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};
use crate::talk::markdown::Body;
use crate::talk::threads::{self, Attachment, InThread, Purpose, ThreadRef};
use crate::work::tasks::Visibility;
use crate::work::{self, Inside};

/// A discussion as its viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discussion {
    /// Its id.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// What it is about.
    pub subject: String,
    /// The opening post.
    pub body: Body,
    /// Who sees it.
    pub visibility: Visibility,
    /// Who started it.
    pub author_id: Option<String>,
    /// Their name.
    pub author_name: Option<String>,
    /// The files of the opening post the viewer may see.
    pub attachments: Vec<Attachment>,
    /// Comments not removed.
    pub comments: i64,
    /// When someone last wrote in it.
    pub last_activity_at: OffsetDateTime,
    /// When the opening post was last edited.
    pub edited_at: Option<OffsetDateTime>,
    /// When it was started.
    pub created_at: OffsetDateTime,
}

/// A discussion as it was typed.
#[derive(Debug, Clone, Default)]
pub struct NewDiscussion {
    /// What it is about.
    pub subject: String,
    /// The opening post (Markdown).
    pub body: String,
    /// `internal` (the default) or `client`.
    pub visibility: Option<String>,
    /// Ids of files of the project to attach.
    pub files: Vec<String>,
}

/// A change to a discussion; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct DiscussionChange {
    /// A new subject (its author).
    pub subject: Option<String>,
    /// A new opening post (its author).
    pub body: Option<String>,
    /// Another visibility (its author or an admin).
    pub visibility: Option<String>,
    /// Other files for the opening post (its author).
    pub files: Option<Vec<String>>,
}

fn parse_subject(text: &str) -> Result<String> {
    single_line("subject", "a discussion's subject", text, 200)
}

const COLUMNS: &str = "d.discussion_id, d.project_id, d.subject, d.body, d.body_html, d.visibility, d.author_id, u.name,
     (select count(*) from comments c where c.discussion_id = d.discussion_id and c.removed_at is null) as comments,
     (select max(c.created_at) from comments c where c.discussion_id = d.discussion_id) as last_comment_at,
     d.edited_at, d.created_at";

const DISCUSSIONS: &str = "discussions d left join users u on u.user_id = d.author_id";

#[derive(sqlx::FromRow)]
struct DiscussionRow {
    discussion_id: String,
    project_id: String,
    subject: String,
    body: String,
    body_html: String,
    visibility: String,
    author_id: Option<String>,
    name: Option<String>,
    comments: i64,
    last_comment_at: Option<OffsetDateTime>,
    edited_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl TryFrom<DiscussionRow> for Discussion {
    type Error = Error;

    fn try_from(row: DiscussionRow) -> Result<Discussion> {
        Ok(Discussion {
            id: row.discussion_id,
            project_id: row.project_id,
            subject: row.subject,
            body: Body::stored(row.body, row.body_html),
            visibility: Visibility::parse(&row.visibility)?,
            author_id: row.author_id,
            author_name: row.name,
            attachments: Vec::new(),
            comments: row.comments,
            last_activity_at: row
                .last_comment_at
                .unwrap_or(row.created_at)
                .max(row.created_at),
            edited_at: row.edited_at,
            created_at: row.created_at,
        })
    }
}

async fn fill_attachments(tx: &mut Tx, viewer: &Principal, list: &mut [Discussion]) -> Result<()> {
    let ids: Vec<&str> = list.iter().map(|d| d.id.as_str()).collect();
    let found = threads::attachments_of(tx, viewer, &ids).await?;
    for discussion in list.iter_mut() {
        discussion.attachments = found
            .iter()
            .filter(|(item, _)| *item == discussion.id)
            .map(|(_, a)| a.clone())
            .collect();
    }
    Ok(())
}

/// A project's discussions the viewer sees, newest first, after `cursor`.
#[tracing::instrument(skip_all)]
pub async fn list_discussions(
    store: &TenantStore,
    viewer: &Principal,
    project_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Discussion>> {
    let limit = i64::from(limit.clamp(1, 200));
    let mut tx = store.read().await?;
    let approach = work::approach_reading(&mut tx, viewer, project_id).await?;
    approach.permit_word(Permission::DiscussionsParticipate, false)?;
    let client = viewer.kind() == UserKind::Client;
    let rows: Vec<DiscussionRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {DISCUSSIONS}
             where d.project_id = $1 and ($2 = 0 or d.visibility = 'client')
               and ($3 = '' or d.discussion_id < $3)
             order by d.discussion_id desc limit $4"
        ))
        .bind(&approach.project().id)
        .bind(i64::from(client))
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items = rows
        .into_iter()
        .map(Discussion::try_from)
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|d| d.id.clone())
    } else {
        None
    };
    fill_attachments(&mut tx, viewer, &mut items).await?;
    Ok(Page { items, next_cursor })
}

async fn find_discussion(tx: &mut Tx, inside: &InThread<'_>) -> Result<Discussion> {
    let id = inside.thread().item_id.clone().unwrap_or_default();
    let row: Option<DiscussionRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {DISCUSSIONS} where d.discussion_id = $1"
        ))
        .bind(&id)
        .fetch_optional(conn)
        .await?
    });
    let mut discussion = Discussion::try_from(row.ok_or_else(|| {
        Error::NotFound("there is no such discussion on this project".to_owned())
    })?)?;
    fill_attachments(
        tx,
        inside.principal(),
        std::slice::from_mut(&mut discussion),
    )
    .await?;
    Ok(discussion)
}

/// One discussion (its opening post; its comments are listed apart).
#[tracing::instrument(skip_all)]
pub async fn get_discussion(
    store: &TenantStore,
    viewer: &Principal,
    project_id: &str,
    discussion_id: &str,
) -> Result<Discussion> {
    let mut tx = store.read().await?;
    let inside = threads::open(
        &mut tx,
        viewer,
        project_id,
        ThreadRef::Discussion(discussion_id),
        Purpose::Read,
    )
    .await?;
    find_discussion(&mut tx, &inside).await
}

/// Reads a visibility typed by `actor`: a client contact's posts are always
/// client-visible (asking for internal is a field error).
fn visibility_for(actor: &Principal, typed: Option<&str>) -> Result<Option<Visibility>> {
    let typed = typed.map(str::trim).filter(|t| !t.is_empty());
    let visibility = typed.map(Visibility::parse).transpose()?;
    if actor.kind() == UserKind::Client {
        if visibility == Some(Visibility::Internal) {
            return Err(Error::field(
                "visibility",
                "what a client contact writes is always client-visible",
            ));
        }
        return Ok(Some(Visibility::Client));
    }
    Ok(visibility)
}

/// Starts a discussion (`discussions.participate`) and tells the people it mentions.
#[tracing::instrument(skip_all)]
pub async fn create_discussion(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    new: &NewDiscussion,
) -> Result<Discussion> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let approach = work::approach(&mut tx, actor, project_id).await?;
    approach.permit_word(Permission::DiscussionsParticipate, true)?;
    let subject = parse_subject(&new.subject)?;
    let body = Body::parse("body", &new.body)?;
    let visibility =
        visibility_for(actor, new.visibility.as_deref())?.unwrap_or(Visibility::Internal);
    let id = new_id()?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into discussions (discussion_id, project_id, subject, body, body_html, visibility, author_id, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(&approach.project().id)
        .bind(&subject)
        .bind(body.markdown())
        .bind(body.html())
        .bind(visibility.as_str())
        .bind(actor.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let inside = threads::open(
        &mut tx,
        actor,
        project_id,
        ThreadRef::Discussion(&id),
        Purpose::Write,
    )
    .await?;
    let files = threads::check_attachments(&mut tx, &inside, &new.files).await?;
    let mentioned = threads::mentioned(&mut tx, &inside, "body", body.markdown()).await?;
    threads::attach(&mut tx, &id, &files, at).await?;
    let discussion = find_discussion(&mut tx, &inside).await?;
    discussion_event("discussion.added", &discussion)
        .emit(&mut tx, &inside.actor())
        .await?;
    let link = inside.thread().link.clone();
    threads::tell_mentioned(&mut tx, &inside, &discussion.id, &link, &body, &mentioned).await?;
    tx.commit().await?;
    Ok(discussion)
}

/// Changes a discussion: subject, opening post and files (its author), visibility (its
/// author or an admin; a client contact cannot make it internal).
#[tracing::instrument(skip_all)]
pub async fn update_discussion(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    discussion_id: &str,
    change: &DiscussionChange,
) -> Result<Discussion> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let inside = threads::open(
        &mut tx,
        actor,
        project_id,
        ThreadRef::Discussion(discussion_id),
        Purpose::Write,
    )
    .await?;
    let before = find_discussion(&mut tx, &inside).await?;
    let words = change.subject.is_some() || change.body.is_some() || change.files.is_some();
    if words {
        threads::check_author(&inside, before.author_id.as_deref())?;
    }
    if change.visibility.is_some() {
        threads::check_remover(&inside, before.author_id.as_deref())?;
    }
    let subject = change
        .subject
        .as_deref()
        .map(parse_subject)
        .transpose()?
        .unwrap_or_else(|| before.subject.clone());
    let body = change
        .body
        .as_deref()
        .map(|b| Body::parse("body", b))
        .transpose()?;
    let visibility = visibility_for(actor, change.visibility.as_deref())?
        .filter(|_| change.visibility.is_some())
        .unwrap_or(before.visibility);
    // The files and mentions are checked against who will see it (client contacts never
    // see internal files, whatever they are attached to).
    on_tx!(tx, |conn| {
        sqlx::query("update discussions set visibility = $2 where discussion_id = $1")
            .bind(discussion_id)
            .bind(visibility.as_str())
            .execute(conn)
            .await?;
    });
    let inside = threads::open(
        &mut tx,
        actor,
        project_id,
        ThreadRef::Discussion(discussion_id),
        Purpose::Write,
    )
    .await?;
    if let Some(files) = &change.files {
        let files = threads::check_attachments(&mut tx, &inside, files).await?;
        threads::attach(&mut tx, discussion_id, &files, at).await?;
    }
    if let Some(body) = &body {
        threads::mentioned(&mut tx, &inside, "body", body.markdown()).await?;
    }
    let (markdown, html, edited) = match &body {
        Some(body) => (body.markdown(), body.html(), Some(at)),
        None => (before.body.markdown(), before.body.html(), before.edited_at),
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "update discussions set subject = $2, body = $3, body_html = $4, edited_at = $5, updated_at = $6
             where discussion_id = $1",
        )
        .bind(discussion_id)
        .bind(&subject)
        .bind(markdown)
        .bind(html)
        .bind(edited)
        .bind(at)
        .execute(conn)
        .await?;
    });
    let after = find_discussion(&mut tx, &inside).await?;
    if after == before {
        return Ok(before);
    }
    if after.visibility != before.visibility {
        audit::note(
            &inside.actor(),
            "discussion.visibility",
            Target::new("discussion", discussion_id),
        )
        .before(json!({"visibility": before.visibility.as_str()}))
        .after(json!({"visibility": after.visibility.as_str()}))
        .write(&mut tx)
        .await?;
    }
    discussion_event("discussion.changed", &after)
        .emit_change(
            &mut tx,
            &inside.actor(),
            before.visibility,
            "discussion.removed",
            json!({"subject": before.subject, "hidden": true}),
        )
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a discussion with its comments (its author or an admin), written to the audit
/// log.
#[tracing::instrument(skip_all)]
pub async fn delete_discussion(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    discussion_id: &str,
) -> Result<()> {
    let mut tx = store.write_uncached().await?;
    let inside = threads::open(
        &mut tx,
        actor,
        project_id,
        ThreadRef::Discussion(discussion_id),
        Purpose::Write,
    )
    .await?;
    let before = find_discussion(&mut tx, &inside).await?;
    threads::check_remover(&inside, before.author_id.as_deref())?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "delete from attachments where item_id = $1
                or item_id in (select comment_id from comments where discussion_id = $1)",
        )
        .bind(discussion_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("delete from discussions where discussion_id = $1")
            .bind(discussion_id)
            .execute(&mut *conn)
            .await?;
    });
    audit::note(
        &inside.actor(),
        "discussion.delete",
        Target::new("discussion", discussion_id),
    )
    .before(json!({
        "project": before.project_id,
        "subject": before.subject,
        "visibility": before.visibility.as_str(),
        "author": before.author_id,
        "comments": before.comments,
    }))
    .write(&mut tx)
    .await?;
    events::event(
        "discussion.removed",
        Some(&before.project_id),
        Some(discussion_id),
    )
    .visible(before.visibility)
    .needs(Permission::DiscussionsParticipate)
    .data(json!({"subject": before.subject}))
    .emit(&mut tx, &inside.actor())
    .await?;
    tx.commit().await
}

fn discussion_event<'a>(kind: &'a str, discussion: &'a Discussion) -> events::NewEvent<'a> {
    events::event(kind, Some(&discussion.project_id), Some(&discussion.id))
        .visible(discussion.visibility)
        .needs(Permission::DiscussionsParticipate)
        .data(json!({
            "subject": discussion.subject,
            "author_name": discussion.author_name,
            "html": discussion.body.html(),
        }))
}

/// This module's tables in backups.
pub(crate) const BACKUP: &[Table] = &[(
    "discussions",
    &[
        ("discussion_id", Column::Text),
        ("project_id", Column::Text),
        ("subject", Column::Text),
        ("body", Column::Text),
        ("body_html", Column::Text),
        ("visibility", Column::Text),
        ("author_id", Column::OptionalText),
        ("edited_at", Column::OptionalTime),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

//! Comments: what people write in a thread (a task's comments, a discussion's, the
//! project's client messages), oldest first. A comment is seen by whoever sees its thread
//! ([`crate::talk::threads`]); its author edits it, its author or an admin removes it (the
//! row stays as "comment removed", without its text or files). Writing one tells, in the
//! same transaction: the people it mentions; whoever takes part in the thread (a task's
//! assignee, a discussion's author, everyone who wrote in it before); for client
//! messages, the project's members when a contact writes and the company's contacts when
//! the agency does; each only if they see the thread. Its event goes to every open page
//! of someone who sees the thread.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::{Principal, UserKind};
use crate::audit::{self, Target};
use crate::error::{Error, Result};
use crate::events;
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};
use crate::talk::markdown::Body;
use crate::talk::notifications::{self, Kind, Notice};
use crate::talk::threads::{
    self, Among, Attachment, InThread, Person, Purpose, ThreadKind, ThreadRef,
};
use crate::work::tasks::Visibility;

/// A comment as its viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: String,
    /// The project.
    pub project_id: String,
    /// Which kind of thread.
    pub thread: ThreadKind,
    /// The task's or discussion's id (`None` for client messages).
    pub item_id: Option<String>,
    /// What it says; `None` once removed.
    pub body: Option<Body>,
    /// Who wrote it (`None` when that user is gone).
    pub author_id: Option<String>,
    /// Their name.
    pub author_name: Option<String>,
    /// Whether they are staff or a client contact.
    pub author_kind: Option<UserKind>,
    /// The files it carries that the viewer may see.
    pub attachments: Vec<Attachment>,
    /// Who sees it (its thread's visibility).
    pub visibility: Visibility,
    /// When it was last edited.
    pub edited_at: Option<OffsetDateTime>,
    /// When it was removed.
    pub removed_at: Option<OffsetDateTime>,
    /// When it was written.
    pub created_at: OffsetDateTime,
}

/// A comment as it was typed.
#[derive(Debug, Clone, Default)]
pub struct NewComment {
    /// Markdown.
    pub body: String,
    /// Ids of files of the same project to attach.
    pub files: Vec<String>,
}

const COLUMNS: &str =
    "c.comment_id, c.project_id, c.thread, c.task_id, c.discussion_id, c.body, c.body_html,
     c.author_id, u.name, u.kind, c.edited_at, c.removed_at, c.created_at";

const COMMENTS: &str = "comments c left join users u on u.user_id = c.author_id";

#[derive(sqlx::FromRow)]
struct CommentRow {
    comment_id: String,
    project_id: String,
    thread: String,
    task_id: Option<String>,
    discussion_id: Option<String>,
    body: String,
    body_html: String,
    author_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    edited_at: Option<OffsetDateTime>,
    removed_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl CommentRow {
    fn into_comment(self, visibility: Visibility) -> Result<Comment> {
        Ok(Comment {
            thread: ThreadKind::parse("thread", &self.thread)?,
            item_id: self.task_id.or(self.discussion_id),
            body: self
                .removed_at
                .is_none()
                .then(|| Body::stored(self.body, self.body_html)),
            author_kind: self.kind.as_deref().map(UserKind::parse).transpose()?,
            id: self.comment_id,
            project_id: self.project_id,
            author_id: self.author_id,
            author_name: self.name,
            attachments: Vec::new(),
            visibility,
            edited_at: self.edited_at,
            removed_at: self.removed_at,
            created_at: self.created_at,
        })
    }
}

/// The condition (with `c.`) for the comments of the thread, with its id bound at `$1`.
fn thread_clause(inside: &InThread<'_>) -> (&'static str, String) {
    let thread = inside.thread();
    match thread.kind {
        ThreadKind::Task => ("c.task_id = $1", thread.item_id.clone().unwrap_or_default()),
        ThreadKind::Discussion => (
            "c.discussion_id = $1",
            thread.item_id.clone().unwrap_or_default(),
        ),
        ThreadKind::Messages => (
            "c.project_id = $1 and c.thread = 'messages'",
            inside.project().id.clone(),
        ),
    }
}

/// Fills in the attachments the viewer may see.
async fn fill_attachments(tx: &mut Tx, viewer: &Principal, comments: &mut [Comment]) -> Result<()> {
    let ids: Vec<&str> = comments
        .iter()
        .filter(|c| c.removed_at.is_none())
        .map(|c| c.id.as_str())
        .collect();
    let found = threads::attachments_of(tx, viewer, &ids).await?;
    for comment in comments.iter_mut() {
        comment.attachments = found
            .iter()
            .filter(|(item, _)| *item == comment.id)
            .map(|(_, a)| a.clone())
            .collect();
    }
    Ok(())
}

/// A thread's comments, oldest first, after `cursor` (a comment id), at most `limit`
/// (1 to 200).
#[tracing::instrument(skip_all)]
pub async fn list_comments(
    store: &TenantStore,
    viewer: &Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Comment>> {
    let mut tx = store.read().await?;
    let inside = threads::open(&mut tx, viewer, project_id, thread, Purpose::Read).await?;
    page_of(&mut tx, &inside, cursor, limit).await
}

async fn page_of(
    tx: &mut Tx,
    inside: &InThread<'_>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Comment>> {
    let limit = i64::from(limit.clamp(1, 200));
    let (clause, key) = thread_clause(inside);
    let rows: Vec<CommentRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {COMMENTS}
             where {clause} and c.comment_id > $2
             order by c.comment_id limit $3"
        ))
        .bind(&key)
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
    });
    let visibility = inside.thread().visibility;
    let mut items = rows
        .into_iter()
        .map(|row| row.into_comment(visibility))
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|c| c.id.clone())
    } else {
        None
    };
    fill_attachments(tx, inside.principal(), &mut items).await?;
    Ok(Page { items, next_cursor })
}

/// The comment `comment_id` of the thread, as its viewer sees it.
async fn find_comment(tx: &mut Tx, inside: &InThread<'_>, comment_id: &str) -> Result<Comment> {
    let (clause, key) = thread_clause(inside);
    let row: Option<CommentRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from {COMMENTS} where {clause} and c.comment_id = $2"
        ))
        .bind(&key)
        .bind(comment_id)
        .fetch_optional(conn)
        .await?
    });
    let mut comment = row
        .ok_or_else(no_such_comment)?
        .into_comment(inside.thread().visibility)?;
    fill_attachments(tx, inside.principal(), std::slice::from_mut(&mut comment)).await?;
    Ok(comment)
}

fn no_such_comment() -> Error {
    Error::NotFound("there is no such comment here".to_owned())
}

/// A thread named by an owned id.
pub(crate) struct FoundThread {
    pub(crate) kind: ThreadKind,
    pub(crate) item: String,
}

impl FoundThread {
    pub(crate) fn as_ref(&self) -> ThreadRef<'_> {
        match self.kind {
            ThreadKind::Task => ThreadRef::Task(&self.item),
            ThreadKind::Discussion => ThreadRef::Discussion(&self.item),
            ThreadKind::Messages => ThreadRef::Messages,
        }
    }
}

/// The thread of comment `comment_id` of the project.
pub(crate) async fn thread_ref_of(
    tx: &mut Tx,
    project_id: &str,
    comment_id: &str,
) -> Result<FoundThread> {
    let (thread, item) = thread_of(tx, project_id, comment_id).await?;
    Ok(FoundThread {
        kind: ThreadKind::parse("thread", &thread)?,
        item: item.unwrap_or_default(),
    })
}

/// Which thread a comment of the project is in, whatever its kind (for the routes that
/// name only the comment).
async fn thread_of(
    tx: &mut Tx,
    project_id: &str,
    comment_id: &str,
) -> Result<(String, Option<String>)> {
    let row: Option<(String, Option<String>, Option<String>)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select thread, task_id, discussion_id from comments where comment_id = $1 and project_id = $2",
        )
        .bind(comment_id)
        .bind(project_id)
        .fetch_optional(conn)
        .await?
    });
    let (thread, task, discussion) = row.ok_or_else(no_such_comment)?;
    Ok((thread, task.or(discussion)))
}

/// Opens the thread of comment `comment_id`: the one named (`expected`), or whichever it
/// is in. A comment of another thread is not found.
async fn open_comment_thread<'a>(
    tx: &mut Tx,
    actor: &'a Principal,
    project_id: &str,
    comment_id: &str,
    expected: Option<ThreadRef<'_>>,
) -> Result<InThread<'a>> {
    // The project is reached first, so a comment of an unreachable project says as
    // little as the project does.
    crate::work::approach(tx, actor, project_id).await?;
    let found = thread_ref_of(tx, project_id, comment_id).await?;
    if expected.is_some_and(|e| e != found.as_ref()) {
        return Err(no_such_comment());
    }
    threads::open(tx, actor, project_id, found.as_ref(), Purpose::Write).await
}

/// One comment, as its viewer sees it, with its thread's page (a path on the brand's
/// site).
#[tracing::instrument(skip_all)]
pub async fn get_comment(
    store: &TenantStore,
    viewer: &Principal,
    project_id: &str,
    comment_id: &str,
) -> Result<(Comment, String)> {
    let mut tx = store.read().await?;
    crate::work::approach_reading(&mut tx, viewer, project_id).await?;
    let found = thread_ref_of(&mut tx, project_id, comment_id).await?;
    let inside = threads::open(&mut tx, viewer, project_id, found.as_ref(), Purpose::Read).await?;
    let comment = find_comment(&mut tx, &inside, comment_id).await?;
    Ok((comment, inside.thread().link.clone()))
}

/// Writes a comment in a thread (its permission) and tells those it concerns.
#[tracing::instrument(skip_all)]
pub async fn post_comment(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    new: &NewComment,
) -> Result<Comment> {
    let mut tx = store.write_uncached().await?;
    let comment = write_comment(&mut tx, actor, project_id, thread, new).await?;
    tx.commit().await?;
    Ok(comment)
}

/// [`post_comment`] in `tx`, which the caller commits.
pub(crate) async fn write_comment(
    tx: &mut Tx,
    actor: &Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    new: &NewComment,
) -> Result<Comment> {
    let at = now();
    let inside = threads::open(tx, actor, project_id, thread, Purpose::Write).await?;
    if inside.thread().kind == ThreadKind::Messages && inside.project().company_id.is_none() {
        return Err(Error::Conflict(
            "this project is not for a client company, so it has no client messages".to_owned(),
        ));
    }
    let body = Body::parse("body", &new.body)?;
    let files = threads::check_attachments(tx, &inside, &new.files).await?;
    let mentioned = threads::mentioned(tx, &inside, "body", body.markdown()).await?;
    let id = new_id()?;
    let thread = inside.thread().clone();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into comments (comment_id, project_id, thread, task_id, discussion_id, body, body_html, author_id, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(&inside.project().id)
        .bind(thread.kind.as_str())
        .bind(thread.task_id())
        .bind(thread.discussion_id())
        .bind(body.markdown())
        .bind(body.html())
        .bind(actor.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    threads::attach(tx, &id, &files, at).await?;
    let comment = find_comment(tx, &inside, &id).await?;
    comment_event(&inside, "added", &comment)
        .emit(tx, &inside.actor())
        .await?;
    tell(tx, &inside, &comment, &body, &mentioned).await?;
    Ok(comment)
}

/// The event of a comment, seen by whoever sees its thread (`comment.*`, or `message.*`
/// in the client messages).
fn comment_event<'a>(
    inside: &'a InThread<'_>,
    what: &str,
    comment: &'a Comment,
) -> events::NewEvent<'a> {
    let thread = inside.thread();
    let kind = match (thread.kind, what) {
        (ThreadKind::Messages, "added") => "message.added",
        (ThreadKind::Messages, "changed") => "message.changed",
        (ThreadKind::Messages, _) => "message.removed",
        (_, "added") => "comment.added",
        (_, "changed") => "comment.changed",
        _ => "comment.removed",
    };
    events::event(kind, Some(&comment.project_id), Some(&comment.id))
        .visible(thread.visibility)
        .needs(thread.kind.permission())
        .data(json!({
            "thread": thread.kind.as_str(),
            "item": thread.item_id,
            "title": thread.title,
            "author_name": comment.author_name,
            "html": comment.body.as_ref().map(Body::html),
            "removed": comment.removed_at.is_some(),
        }))
}

/// Tells the people a new comment concerns (see the module's text).
async fn tell(
    tx: &mut Tx,
    inside: &InThread<'_>,
    comment: &Comment,
    body: &Body,
    mentioned: &[Person],
) -> Result<()> {
    let thread = inside.thread();
    let actor = inside.actor();
    let name = inside.principal().name();
    let link = format!("{}#comment-{}", thread.link, comment.id);
    let excerpt = body.excerpt(140);
    let project = &inside.project().name;
    threads::tell_mentioned(tx, inside, &comment.id, &link, body, mentioned).await?;
    let mut told: Vec<String> = vec![inside.principal().user_id().to_owned()];
    told.extend(mentioned.iter().map(|p| p.id.clone()));
    // Whoever took part: the thread's owner and everyone who wrote in it before; in the
    // client messages, the other side.
    let mut taking_part: Vec<String> = thread.owner_id.iter().cloned().collect();
    let (clause, key) = thread_clause(inside);
    let writers: Vec<Option<String>> = on_tx!(tx, |conn| {
        sqlx::query_scalar(&format!(
            "select distinct c.author_id from comments c where {clause} and c.comment_id <> $2 and c.author_id is not null"
        ))
        .bind(&key)
        .bind(&comment.id)
        .fetch_all(conn)
        .await?
    });
    taking_part.extend(writers.into_iter().flatten());
    let kind = if thread.kind == ThreadKind::Messages {
        let other_side: Vec<String> = match inside.principal().kind() {
            UserKind::Client => on_tx!(tx, |conn| {
                sqlx::query_scalar(
                    "select m.user_id from project_members m where m.project_id = $1
                     union select tm.user_id from project_teams pt join team_members tm on tm.team_id = pt.team_id
                     where pt.project_id = $1",
                )
                .bind(&inside.project().id)
                .fetch_all(conn)
                .await?
            }),
            UserKind::Staff => on_tx!(tx, |conn| {
                sqlx::query_scalar(
                    "select user_id from users where kind = 'client' and company_id = $1",
                )
                .bind(inside.project().company_id.as_deref().unwrap_or(""))
                .fetch_all(conn)
                .await?
            }),
        };
        taking_part.extend(other_side);
        Kind::ClientMessage
    } else {
        Kind::Commented
    };
    taking_part.retain(|id| !told.contains(id));
    taking_part.sort();
    taking_part.dedup();
    let seeing = threads::audience(
        tx,
        inside.project(),
        thread.visibility,
        thread.kind.permission(),
        Among {
            q: None,
            ids: Some(&taking_part),
        },
        taking_part.len() as i64,
    )
    .await?;
    for person in seeing {
        let sentence = match kind {
            Kind::ClientMessage => format!(
                "{name} wrote in the client messages of {project}: \u{201c}{excerpt}\u{201d}"
            ),
            _ => format!(
                "{name} wrote in {} ({project}): \u{201c}{excerpt}\u{201d}",
                thread.described()
            ),
        };
        let notice = Notice {
            kind,
            project_id: Some(&comment.project_id),
            subject_id: &comment.id,
            sentence,
            link: link.clone(),
            once: None,
        };
        notifications::notify(tx, &actor, &person.id, notice).await?;
    }
    Ok(())
}

/// Changes what a comment says (its author only; a removed comment stays removed).
/// Mentions added by the change are checked like a new comment's and told.
#[tracing::instrument(skip_all)]
pub async fn edit_comment(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    comment_id: &str,
    expected: Option<ThreadRef<'_>>,
    new: &NewComment,
) -> Result<Comment> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let inside = open_comment_thread(&mut tx, actor, project_id, comment_id, expected).await?;
    let before = find_comment(&mut tx, &inside, comment_id).await?;
    threads::check_author(&inside, before.author_id.as_deref())?;
    if before.removed_at.is_some() {
        return Err(Error::Conflict(
            "this comment was removed and cannot be edited".to_owned(),
        ));
    }
    let body = Body::parse("body", &new.body)?;
    let files = threads::check_attachments(&mut tx, &inside, &new.files).await?;
    let mentioned = threads::mentioned(&mut tx, &inside, "body", body.markdown()).await?;
    let old_mentions = match &before.body {
        Some(old) => threads::mentioned(&mut tx, &inside, "body", old.markdown())
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "update comments set body = $2, body_html = $3, edited_at = $4, updated_at = $4 where comment_id = $1",
        )
        .bind(comment_id)
        .bind(body.markdown())
        .bind(body.html())
        .bind(at)
        .execute(conn)
        .await?;
    });
    threads::attach(&mut tx, comment_id, &files, at).await?;
    let after = find_comment(&mut tx, &inside, comment_id).await?;
    comment_event(&inside, "changed", &after)
        .emit(&mut tx, &inside.actor())
        .await?;
    let new_mentions: Vec<Person> = mentioned
        .into_iter()
        .filter(|p| !old_mentions.contains(p))
        .collect();
    let link = format!("{}#comment-{}", inside.thread().link, after.id);
    threads::tell_mentioned(&mut tx, &inside, &after.id, &link, &body, &new_mentions).await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a comment (its author, or an admin): it stays in the thread as "comment
/// removed", without its text and files. Removing someone else's is written to the audit
/// log.
#[tracing::instrument(skip_all)]
pub async fn remove_comment(
    store: &TenantStore,
    actor: &Principal,
    project_id: &str,
    comment_id: &str,
    expected: Option<ThreadRef<'_>>,
) -> Result<Comment> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let inside = open_comment_thread(&mut tx, actor, project_id, comment_id, expected).await?;
    let before = find_comment(&mut tx, &inside, comment_id).await?;
    threads::check_remover(&inside, before.author_id.as_deref())?;
    if before.removed_at.is_some() {
        return Ok(before);
    }
    on_tx!(tx, |conn| {
        sqlx::query(
            "update comments set body = '', body_html = '', removed_at = $2, removed_by = $3, updated_at = $2
             where comment_id = $1",
        )
        .bind(comment_id)
        .bind(at)
        .bind(actor.user_id())
        .execute(conn)
        .await?;
    });
    threads::attach(&mut tx, comment_id, &[], at).await?;
    if before.author_id.as_deref() != Some(actor.user_id()) {
        audit::note(
            &inside.actor(),
            "comment.remove",
            Target::new("comment", comment_id),
        )
        .before(json!({
            "project": before.project_id,
            "thread": before.thread.as_str(),
            "item": before.item_id,
            "author": before.author_id,
        }))
        .write(&mut tx)
        .await?;
    }
    let after = find_comment(&mut tx, &inside, comment_id).await?;
    comment_event(&inside, "removed", &after)
        .emit(&mut tx, &inside.actor())
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// The people `@` completes to in a thread: those who see it, whose name or e-mail
/// address contains `q`, by name (at most 10).
#[tracing::instrument(skip_all)]
pub async fn mentionable(
    store: &TenantStore,
    viewer: &Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    q: Option<&str>,
) -> Result<Vec<Person>> {
    let mut tx = store.read().await?;
    let inside = threads::open(&mut tx, viewer, project_id, thread, Purpose::Read).await?;
    threads::mentionable(&mut tx, &inside, q, 10).await
}

/// This module's tables in backups (parents first).
pub(crate) const BACKUP: &[Table] = &[
    (
        "comments",
        &[
            ("comment_id", Column::Text),
            ("project_id", Column::Text),
            ("thread", Column::Text),
            ("task_id", Column::OptionalText),
            ("discussion_id", Column::OptionalText),
            ("body", Column::Text),
            ("body_html", Column::Text),
            ("author_id", Column::OptionalText),
            ("edited_at", Column::OptionalTime),
            ("removed_at", Column::OptionalTime),
            ("removed_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "attachments",
        &[
            ("item_id", Column::Text),
            ("file_id", Column::Text),
            ("position", Column::Integer),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

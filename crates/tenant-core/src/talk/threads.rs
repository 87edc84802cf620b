//! The door into a project's conversations, shared by task comments, discussions and the
//! client messages: which thread, who sees it, who may be mentioned in it, and which files
//! may be attached to it.
//!
//! A thread is a task's comments, a discussion (its opening post and comments), or the
//! project's one client messages conversation. [`open`] checks, in this order: the
//! project is within reach (404), the task or discussion exists and the caller sees it
//! (404: an internal item does not exist for a client contact), the thread's permission
//! (`discussions.participate` for tasks and discussions, `messages.clients` for messages:
//! 403), and for a change that the project is not archived (409). Only then is input
//! read. It returns an [`InThread`], which every read and write of a thread demands.
//!
//! Who sees a thread ([`audience`]): active staff who reach the project and hold the
//! thread's permission, and, when the thread is client-visible, the active contacts of the
//! project's company whose role and switches hold it. Mentions and notifications go only
//! to them.

use time::OffsetDateTime;

use crate::access::permissions::Permission;
use crate::access::{Actor, Principal, UserKind};
use crate::accounts::roles;
use crate::error::{Error, Result};
use crate::names::Email;
use crate::paging::like_pattern;
use crate::store::{Tx, on_tx};
use crate::work::projects::Project;
use crate::work::tasks::{self, Visibility};
use crate::work::{self, Approach};

/// Which kind of conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadKind {
    /// A task's comments.
    Task,
    /// A discussion's comments.
    Discussion,
    /// The project's client messages.
    Messages,
}

impl ThreadKind {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadKind::Task => "task",
            ThreadKind::Discussion => "discussion",
            ThreadKind::Messages => "messages",
        }
    }

    /// Reads the word; anything else is a field error naming it.
    pub fn parse(field: &'static str, text: &str) -> Result<Self> {
        match text {
            "task" => Ok(ThreadKind::Task),
            "discussion" => Ok(ThreadKind::Discussion),
            "messages" => Ok(ThreadKind::Messages),
            other => Err(Error::field(
                field,
                format!("'{other}' is not a conversation: use task, discussion or messages"),
            )),
        }
    }

    /// The permission that lets someone read and write threads of this kind.
    pub fn permission(self) -> Permission {
        match self {
            ThreadKind::Task | ThreadKind::Discussion => Permission::DiscussionsParticipate,
            ThreadKind::Messages => Permission::MessagesClients,
        }
    }
}

/// A thread as asked for: the task's or discussion's id, or the project's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadRef<'a> {
    /// The comments of this task.
    Task(&'a str),
    /// The comments of this discussion.
    Discussion(&'a str),
    /// The project's client messages.
    Messages,
}

impl ThreadRef<'_> {
    /// Its kind.
    pub fn kind(self) -> ThreadKind {
        match self {
            ThreadRef::Task(_) => ThreadKind::Task,
            ThreadRef::Discussion(_) => ThreadKind::Discussion,
            ThreadRef::Messages => ThreadKind::Messages,
        }
    }
}

/// A thread as found under the grant.
#[derive(Debug, Clone)]
pub struct Thread {
    /// Its kind.
    pub kind: ThreadKind,
    /// The task's or discussion's id (`None` for the messages).
    pub item_id: Option<String>,
    /// The task's title, the discussion's subject, or "Messages".
    pub title: String,
    /// Who sees it (client messages are always client-visible).
    pub visibility: Visibility,
    /// Whom it concerns first: the task's assignee or the discussion's author.
    pub(crate) owner_id: Option<String>,
    /// Its page on the brand's site.
    pub link: String,
}

impl Thread {
    /// The stored task id (for `comments.task_id`).
    pub(crate) fn task_id(&self) -> Option<&str> {
        self.item_id
            .as_deref()
            .filter(|_| self.kind == ThreadKind::Task)
    }

    /// The stored discussion id (for `comments.discussion_id`).
    pub(crate) fn discussion_id(&self) -> Option<&str> {
        self.item_id
            .as_deref()
            .filter(|_| self.kind == ThreadKind::Discussion)
    }

    /// How a sentence names it ("the task “Logo”").
    pub fn described(&self) -> String {
        match self.kind {
            ThreadKind::Task => format!("the task \u{201c}{}\u{201d}", self.title),
            ThreadKind::Discussion => format!("the discussion \u{201c}{}\u{201d}", self.title),
            ThreadKind::Messages => "the client messages".to_owned(),
        }
    }
}

/// Proof that the principal may read (or, when opened for a change, write) a thread;
/// only [`open`] makes one.
#[derive(Debug)]
pub struct InThread<'a> {
    principal: &'a Principal,
    approach: Approach<'a>,
    thread: Thread,
}

impl<'a> InThread<'a> {
    /// Who is in.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The project.
    pub fn project(&self) -> &Project {
        work::Inside::project(&self.approach)
    }

    /// The thread.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// The audit log's and the events' name for whoever is in.
    pub fn actor(&self) -> Actor {
        Actor::from(self.principal())
    }

    /// Whether the principal moderates the brand's conversations (removes what others
    /// wrote): the built-in admin role.
    pub fn moderates(&self) -> bool {
        self.principal().role_id() == "admin"
    }
}

/// Whether a change is to be made (lock the project, refuse it archived) or only a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reading.
    Read,
    /// Writing.
    Write,
}

/// The door into a thread (see the module's text).
pub(crate) async fn open<'a>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
    thread: ThreadRef<'_>,
    purpose: Purpose,
) -> Result<InThread<'a>> {
    let approach = match purpose {
        Purpose::Write => work::approach(tx, principal, project_id).await?,
        Purpose::Read => work::approach_reading(tx, principal, project_id).await?,
    };
    let found = find(tx, &approach, thread).await?;
    approach.permit_word(thread.kind().permission(), purpose == Purpose::Write)?;
    Ok(InThread {
        principal,
        approach,
        thread: found,
    })
}

async fn find(tx: &mut Tx, approach: &Approach<'_>, thread: ThreadRef<'_>) -> Result<Thread> {
    let project_id = &work::Inside::project(approach).id;
    match thread {
        ThreadRef::Task(task_id) => {
            let task = tasks::find_task(tx, approach, task_id).await?;
            Ok(Thread {
                kind: ThreadKind::Task,
                link: format!("/projects/{project_id}/tasks/{}", task.id),
                item_id: Some(task.id),
                title: task.title,
                visibility: task.visibility,
                owner_id: task.assignee_id,
            })
        }
        ThreadRef::Discussion(discussion_id) => {
            let client = work::Inside::principal(approach).kind() == UserKind::Client;
            let row: Option<(String, String, Option<String>)> = on_tx!(tx, |conn| {
                sqlx::query_as(
                    "select subject, visibility, author_id from discussions
                     where discussion_id = $1 and project_id = $2 and ($3 = 0 or visibility = 'client')",
                )
                .bind(discussion_id)
                .bind(project_id)
                .bind(i64::from(client))
                .fetch_optional(conn)
                .await?
            });
            let (subject, visibility, author) = row.ok_or_else(|| {
                Error::NotFound("there is no such discussion on this project".to_owned())
            })?;
            Ok(Thread {
                kind: ThreadKind::Discussion,
                item_id: Some(discussion_id.to_owned()),
                title: subject,
                visibility: Visibility::parse(&visibility)?,
                owner_id: author,
                link: format!("/projects/{project_id}/discussions/{discussion_id}"),
            })
        }
        ThreadRef::Messages => Ok(Thread {
            kind: ThreadKind::Messages,
            item_id: None,
            title: "Messages".to_owned(),
            visibility: Visibility::Client,
            owner_id: None,
            link: format!("/projects/{project_id}/messages"),
        }),
    }
}

/// Someone in a thread's audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their user id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// Staff or client.
    pub kind: UserKind,
}

/// Which of a thread's audience to find.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Among<'a> {
    /// Whose name or e-mail address contains this text.
    pub(crate) q: Option<&'a str>,
    /// Only these users.
    pub(crate) ids: Option<&'a [String]>,
}

/// The people who see a thread of `project` with `visibility` whose readers need
/// `permission` (see the module's text), by name, at most `limit`.
pub(crate) async fn audience(
    tx: &mut Tx,
    project: &Project,
    visibility: Visibility,
    permission: Permission,
    among: Among<'_>,
    limit: i64,
) -> Result<Vec<Person>> {
    if among.ids.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    // The roles that hold the permission, and the staff roles that see every project.
    let mut staff_roles = vec![String::new()];
    let mut everywhere = vec![String::new()];
    let mut client_roles = vec![String::new()];
    for role in roles::all_roles(tx).await? {
        if !role.permissions.contains(permission) {
            continue;
        }
        match role.kind {
            UserKind::Staff => {
                if role.permissions.contains(Permission::ProjectsViewAll) {
                    everywhere.push(role.id.clone());
                }
                staff_roles.push(role.id);
            }
            UserKind::Client => client_roles.push(role.id),
        }
    }
    let mut n = 5;
    let mut list = |count: usize| {
        let text = (0..count)
            .map(|i| format!("${}", n + i))
            .collect::<Vec<_>>()
            .join(", ");
        n += count;
        text
    };
    let staff_list = list(staff_roles.len());
    let everywhere_list = list(everywhere.len());
    let client_list = list(client_roles.len());
    let ids = among.ids.unwrap_or_default();
    let id_clause = if among.ids.is_some() {
        format!("and u.user_id in ({})", list(ids.len()))
    } else {
        String::new()
    };
    let sql = format!(
        "select u.user_id, u.name, u.email, u.kind from users u
         where u.status = 'active'
           and ((u.kind = 'staff' and u.role_id in ({staff_list})
                  and (u.role_id in ({everywhere_list})
                    or exists(select 1 from project_members m where m.project_id = $1 and m.user_id = u.user_id)
                    or exists(select 1 from project_teams pt join team_members tm on tm.team_id = pt.team_id
                              where pt.project_id = $1 and tm.user_id = u.user_id)))
             or (u.kind = 'client' and $2 = 'client' and u.company_id = $3 and u.role_id in ({client_list})
                  and (u.switches is null or (' ' || u.switches || ' ') like $4)))
           and (${q} = '' or lower(u.name) like ${q} escape '\\' or u.email_key like ${q} escape '\\')
           {id_clause}
         order by lower(u.name), u.user_id
         limit ${limit}",
        q = n,
        limit = n + 1,
    );
    let pattern = among.q.and_then(like_pattern).unwrap_or_default();
    let switch = format!("% {} %", permission.as_str());
    let rows: Vec<(String, String, String, String)> = on_tx!(tx, |conn| {
        let mut query = sqlx::query_as(&sql)
            .bind(&project.id)
            .bind(visibility.as_str())
            .bind(project.company_id.as_deref().unwrap_or(""))
            .bind(&switch);
        for role in staff_roles.iter().chain(&everywhere).chain(&client_roles) {
            query = query.bind(role);
        }
        for id in ids {
            query = query.bind(id);
        }
        query.bind(&pattern).bind(limit).fetch_all(conn).await?
    });
    rows.into_iter()
        .map(|(id, name, email, kind)| {
            Ok(Person {
                id,
                name,
                email,
                kind: UserKind::parse(&kind)?,
            })
        })
        .collect()
}

/// The people of a thread's audience whose name or e-mail address contains `q`: what
/// `@` completes to.
pub(crate) async fn mentionable(
    tx: &mut Tx,
    inside: &InThread<'_>,
    q: Option<&str>,
    limit: i64,
) -> Result<Vec<Person>> {
    let thread = inside.thread();
    audience(
        tx,
        inside.project(),
        thread.visibility,
        thread.kind.permission(),
        Among { q, ids: None },
        limit,
    )
    .await
}

/// The people a body mentions, each once: an `@` at the start of a word (outside code)
/// followed by an active user's e-mail address or name (the longest name that fits).
/// Someone mentioned who does not see the thread is a field error naming them; an `@`
/// that names no one is plain text.
pub(crate) async fn mentioned(
    tx: &mut Tx,
    inside: &InThread<'_>,
    field: &'static str,
    markdown: &str,
) -> Result<Vec<Person>> {
    let found = mentioned_users(tx, field, markdown).await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = found.iter().map(|(id, _)| id.clone()).collect();
    let thread = inside.thread();
    let seeing = audience(
        tx,
        inside.project(),
        thread.visibility,
        thread.kind.permission(),
        Among {
            q: None,
            ids: Some(&ids),
        },
        ids.len() as i64,
    )
    .await?;
    if let Some((_, name)) = found
        .iter()
        .find(|(id, _)| !seeing.iter().any(|p| p.id == *id))
    {
        let what = match (thread.kind, thread.visibility) {
            (ThreadKind::Messages, _) => "the client messages".to_owned(),
            (_, Visibility::Internal) => format!("this internal {}", thread.kind.as_str()),
            (_, Visibility::Client) => format!("this {}", thread.kind.as_str()),
        };
        return Err(Error::field(
            field,
            format!("{name} cannot see {what}: mention only people who can see it"),
        ));
    }
    Ok(seeing)
}

/// Tells the people a post (`subject_id`, shown at `link`) mentions, as a `mentioned`
/// notification each (the caller has checked that they see the thread).
pub(crate) async fn tell_mentioned(
    tx: &mut Tx,
    inside: &InThread<'_>,
    subject_id: &str,
    link: &str,
    body: &crate::talk::markdown::Body,
    people: &[Person],
) -> Result<()> {
    for person in people {
        let sentence = format!(
            "{} mentioned you in {} ({}): \u{201c}{}\u{201d}",
            inside.principal().name(),
            inside.thread().described(),
            inside.project().name,
            body.excerpt(140)
        );
        let notice = crate::talk::notifications::Notice {
            kind: crate::talk::notifications::Kind::Mentioned,
            project_id: Some(&inside.project().id),
            subject_id,
            sentence,
            link: link.to_owned(),
            once: None,
        };
        crate::talk::notifications::notify(tx, &inside.actor(), &person.id, notice).await?;
    }
    Ok(())
}

/// The active users a body mentions (see [`mentioned`]), each once, as (id, name),
/// whoever may see what: the caller checks that.
pub(crate) async fn mentioned_users(
    tx: &mut Tx,
    field: &'static str,
    markdown: &str,
) -> Result<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = Vec::new();
    for rest in mention_starts(markdown) {
        if let Some(person) = resolve(tx, &rest).await?
            && !found.iter().any(|(id, _)| *id == person.0)
        {
            found.push(person);
        }
        if found.len() > 50 {
            return Err(Error::field(field, "mention at most 50 people at a time"));
        }
    }
    Ok(found)
}

/// The text after each `@` that starts a word, outside code (at most 200 characters of
/// it).
fn mention_starts(markdown: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut starts = Vec::new();
    let mut in_code = false;
    for event in Parser::new(markdown) {
        let text = match event {
            Event::Start(Tag::CodeBlock(_)) => {
                in_code = true;
                continue;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                continue;
            }
            Event::Text(text) if !in_code => text,
            _ => continue,
        };
        let mut previous: Option<char> = None;
        for (at, c) in text.char_indices() {
            if c == '@' && previous.is_none_or(|p| !(p.is_alphanumeric() || p == '@')) {
                let rest: String = text[at + 1..].chars().take(200).collect();
                if !rest.is_empty() {
                    starts.push(rest);
                }
            }
            previous = Some(c);
        }
    }
    starts
}

/// Characters that may end a mention without being part of it.
fn trailing(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | ';' | ':' | '!' | '?' | ')' | '(' | '"' | '\'' | '\u{201d}' | '\u{2019}'
    )
}

/// The active user `rest` (the text after an `@`) names: by e-mail address, else by the
/// longest name it starts with (followed by the end or by neither a letter nor a digit).
async fn resolve(tx: &mut Tx, rest: &str) -> Result<Option<(String, String)>> {
    let token: &str = rest.split_whitespace().next().unwrap_or("");
    let address = token.trim_end_matches(trailing);
    if address.contains('@')
        && let Ok(email) = Email::parse(address)
    {
        return Ok(on_tx!(tx, |conn| {
            sqlx::query_as(
                "select user_id, name from users where email_key = $1 and status = 'active'",
            )
            .bind(email.key())
            .fetch_optional(conn)
            .await?
        }));
    }
    let first: String = token
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '\'' || *c == '.')
        .collect::<String>()
        .trim_end_matches(trailing)
        .to_owned();
    let Some(pattern) = like_pattern(&first) else {
        return Ok(None);
    };
    // `like_pattern` matches anywhere; a name must start with the word.
    let prefix = pattern.strip_prefix('%').unwrap_or(&pattern).to_owned();
    let candidates: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select user_id, name from users
             where status = 'active' and lower(name) like $1 escape '\\'
             order by user_id limit 200",
        )
        .bind(&prefix)
        .fetch_all(conn)
        .await?
    });
    let lowered = rest.to_lowercase();
    Ok(candidates
        .into_iter()
        .filter(|(_, name)| {
            let name = name.to_lowercase();
            lowered.starts_with(&name)
                && lowered[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
        })
        .max_by_key(|(_, name)| name.chars().count()))
}

/// A file attached to a discussion or comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file's id.
    pub file_id: String,
    /// Its current name.
    pub name: String,
    /// Its type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
}

impl Attachment {
    /// Whether pages show it inline (an image that has a preview type).
    pub fn is_image(&self) -> bool {
        crate::work::files::PREVIEW_TYPES.contains(&self.content_type.as_str())
    }
}

/// The most files one post may carry.
pub const MOST_ATTACHMENTS: usize = 10;

/// Checks files to attach to a post in the thread: files of the same project, not in the
/// trash, that everyone who sees the thread may see (a client-visible thread takes only
/// client-visible files). Returns them in order, each once.
pub(crate) async fn check_attachments(
    tx: &mut Tx,
    inside: &InThread<'_>,
    files: &[String],
) -> Result<Vec<String>> {
    let mut unique: Vec<String> = Vec::new();
    for file in files {
        let file = file.trim();
        if !file.is_empty() && !unique.iter().any(|f| f == file) {
            unique.push(file.to_owned());
        }
    }
    if unique.len() > MOST_ATTACHMENTS {
        return Err(Error::field(
            "files",
            format!("attach at most {MOST_ATTACHMENTS} files to one post"),
        ));
    }
    let client_caller = inside.principal().kind() == UserKind::Client;
    for file in &unique {
        let row: Option<(String, Option<OffsetDateTime>)> = on_tx!(tx, |conn| {
            sqlx::query_as(
                "select visibility, deleted_at from files where file_id = $1 and project_id = $2",
            )
            .bind(file)
            .bind(&inside.project().id)
            .fetch_optional(conn)
            .await?
        });
        match row {
            Some((visibility, None)) if !(client_caller && visibility != "client") => {
                if inside.thread().visibility == Visibility::Client && visibility != "client" {
                    return Err(Error::field(
                        "files",
                        format!(
                            "the file '{file}' is internal and this conversation is client-visible: make the file client-visible first"
                        ),
                    ));
                }
            }
            _ => {
                return Err(Error::field(
                    "files",
                    format!("'{file}' is not a file of this project"),
                ));
            }
        }
    }
    Ok(unique)
}

/// Writes the attachments of `item_id` (a discussion or comment), replacing any.
pub(crate) async fn attach(
    tx: &mut Tx,
    item_id: &str,
    files: &[String],
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query("delete from attachments where item_id = $1")
            .bind(item_id)
            .execute(&mut *conn)
            .await?;
        for (position, file) in files.iter().enumerate() {
            sqlx::query(
                "insert into attachments (item_id, file_id, position, created_at, updated_at)
                 values ($1, $2, $3, $4, $4)",
            )
            .bind(item_id)
            .bind(file)
            .bind(position as i64)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}

/// The attachments of `items` that `viewer` may see (client contacts: client-visible
/// files only; nobody: files in the trash), by item, in order.
pub(crate) async fn attachments_of(
    tx: &mut Tx,
    viewer: &Principal,
    items: &[&str],
) -> Result<Vec<(String, Attachment)>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let list = (2..items.len() + 2)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select a.item_id, f.file_id, v.name, v.content_type, v.size_bytes from attachments a
         join files f on f.file_id = a.file_id
         join file_versions v on v.file_id = f.file_id and v.version = f.current_version
         where a.item_id in ({list}) and f.deleted_at is null and ($1 = 0 or f.visibility = 'client')
         order by a.item_id, a.position"
    );
    let client = i64::from(viewer.kind() == UserKind::Client);
    let rows: Vec<(String, String, String, String, i64)> = on_tx!(tx, |conn| {
        let mut query = sqlx::query_as(&sql).bind(client);
        for item in items {
            query = query.bind(*item);
        }
        query.fetch_all(conn).await?
    });
    Ok(rows
        .into_iter()
        .map(|(item, file_id, name, content_type, size)| {
            (
                item,
                Attachment {
                    file_id,
                    name,
                    content_type,
                    size,
                },
            )
        })
        .collect())
}

/// Refuses a change to someone else's words: only the author edits a post.
pub(crate) fn check_author(inside: &InThread<'_>, author_id: Option<&str>) -> Result<()> {
    if author_id == Some(inside.principal().user_id()) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only its author can edit what someone wrote".to_owned(),
        ))
    }
}

/// Refuses removing someone else's post, unless the principal moderates.
pub(crate) fn check_remover(inside: &InThread<'_>, author_id: Option<&str>) -> Result<()> {
    if author_id == Some(inside.principal().user_id()) || inside.moderates() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only its author or an admin can remove what someone wrote".to_owned(),
        ))
    }
}

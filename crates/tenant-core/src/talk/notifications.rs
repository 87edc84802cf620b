//! Notifications: telling someone of a change that concerns them, in the app (the bell)
//! and by e-mail through the outbox, at once or in a daily digest, as each user chose per
//! kind. A notification is written in the same transaction as the change it is about (so
//! neither is kept without the other), never to the person who made the change, and
//! never of something its recipient cannot see: the recipient must be an active user who
//! reaches the project. Its in-app form also goes to the recipient's open pages as a
//! `notification` event ([`crate::events`]).
//!
//! Kinds now: assigned to a task, a task you are assigned moved or changed, added to a
//! project, a task of yours due tomorrow, and overdue (the last two from a background job,
//! once per task and due date).

use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, Time};

use crate::access::{Actor, Principal};
use crate::brand::outbox::{self, MailKind};
use crate::error::{Error, Result};
use crate::events;
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Someone assigned you a task.
    Assigned,
    /// A task assigned to you moved or changed.
    TaskChanged,
    /// Someone added you to a project (directly or through a team).
    AddedToProject,
    /// A task of yours is due tomorrow.
    DueTomorrow,
    /// A task of yours is past its due date.
    Overdue,
    /// Someone mentioned you in a comment, discussion or message.
    Mentioned,
    /// Someone wrote in a conversation you take part in (a task of yours, a discussion you
    /// started or wrote in).
    Commented,
    /// A new client message on a project of yours (from the client, or to you as its
    /// contact).
    ClientMessage,
}

/// How a kind is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Email {
    /// One mail per notification, at once.
    Now,
    /// Gathered into one mail a day.
    Daily,
    /// Not mailed.
    Never,
}

impl Email {
    /// The API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Email::Now => "now",
            Email::Daily => "daily",
            Email::Never => "never",
        }
    }

    /// Reads the word; anything else is a field error naming it.
    pub fn parse(field: &'static str, text: &str) -> Result<Self> {
        match text {
            "now" => Ok(Email::Now),
            "daily" => Ok(Email::Daily),
            "never" => Ok(Email::Never),
            other => Err(Error::field(
                field,
                format!("'{other}' is not a choice: use now, daily or never"),
            )),
        }
    }
}

impl Kind {
    /// Every kind, in the order settings show them.
    pub const ALL: [Kind; 8] = [
        Kind::Assigned,
        Kind::TaskChanged,
        Kind::AddedToProject,
        Kind::DueTomorrow,
        Kind::Overdue,
        Kind::Mentioned,
        Kind::Commented,
        Kind::ClientMessage,
    ];

    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assigned => "assigned",
            Kind::TaskChanged => "task_changed",
            Kind::AddedToProject => "added_to_project",
            Kind::DueTomorrow => "due_tomorrow",
            Kind::Overdue => "overdue",
            Kind::Mentioned => "mentioned",
            Kind::Commented => "commented",
            Kind::ClientMessage => "client_message",
        }
    }

    /// What settings call it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Assigned => "A task is assigned to me",
            Kind::TaskChanged => "A task assigned to me moves or changes",
            Kind::AddedToProject => "I am added to a project",
            Kind::DueTomorrow => "A task of mine is due tomorrow",
            Kind::Overdue => "A task of mine is overdue",
            Kind::Mentioned => "Someone mentions me",
            Kind::Commented => "Someone writes in a conversation I take part in",
            Kind::ClientMessage => "A new client message on my project",
        }
    }

    /// Reads the word; anything else is a field error naming it.
    pub fn parse(text: &str) -> Result<Self> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                Error::field(
                    "kinds",
                    format!(
                        "'{text}' is not a kind of notification: use {}",
                        Kind::ALL.map(Kind::as_str).join(", ")
                    ),
                )
            })
    }

    /// Until a user chooses: everything in the app; mail at once for what asks for
    /// action soon, the rest in the daily digest.
    fn default_setting(self) -> Setting {
        let email = match self {
            Kind::Assigned
            | Kind::AddedToProject
            | Kind::DueTomorrow
            | Kind::Overdue
            | Kind::Mentioned
            | Kind::Commented
            | Kind::ClientMessage => Email::Now,
            Kind::TaskChanged => Email::Daily,
        };
        Setting {
            in_app: true,
            email,
        }
    }
}

/// How one kind reaches one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Shown under the bell.
    pub in_app: bool,
    /// Mailed at once, daily or never.
    pub email: Email,
}

/// A notification as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: String,
    /// What it is about.
    pub kind: Kind,
    /// The project it concerns.
    pub project_id: Option<String>,
    /// The task or project it concerns.
    pub subject_id: Option<String>,
    /// Who caused it (the brand's name for the background job's).
    pub actor_name: String,
    /// What happened, as a sentence.
    pub sentence: String,
    /// Where to look (a path on the brand's site).
    pub link: String,
    /// When it was read, if it was.
    pub read_at: Option<OffsetDateTime>,
    /// When.
    pub created_at: OffsetDateTime,
}

/// A notification being made; see [`notify`].
#[derive(Debug)]
pub(crate) struct Notice<'a> {
    pub(crate) kind: Kind,
    /// The project it concerns (`None`: team chat, where the caller has checked that the
    /// recipient is in the channel).
    pub(crate) project_id: Option<&'a str>,
    pub(crate) subject_id: &'a str,
    pub(crate) sentence: String,
    pub(crate) link: String,
    /// Made at most once with this key (the background job's reminders).
    pub(crate) once: Option<String>,
}

/// Whether `user_id` is an active user who reaches `project_id` (a member, directly or
/// through a team, or a contact of its company); without a project, an active staff
/// member.
async fn can_see(
    tx: &mut Tx,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<Option<(String, String)>> {
    let Some(project_id) = project_id else {
        return Ok(on_tx!(tx, |conn| {
            sqlx::query_as(
                "select email, name from users where user_id = $1 and status = 'active' and kind = 'staff'",
            )
            .bind(user_id)
            .fetch_optional(conn)
            .await?
        }));
    };
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(
            "select u.email, u.name from users u join projects p on p.project_id = $2
             where u.user_id = $1 and u.status = 'active'
               and ((u.kind = 'client' and p.company_id is not null and p.company_id = u.company_id)
                 or (u.kind = 'staff' and (
                       exists(select 1 from project_members m where m.project_id = p.project_id and m.user_id = u.user_id)
                    or exists(select 1 from project_teams pt join team_members tm on tm.team_id = pt.team_id
                              where pt.project_id = p.project_id and tm.user_id = u.user_id))))",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_optional(conn)
        .await?
    }))
}

/// The setting of `kind` for `user_id` (the default until they choose).
async fn setting_of(tx: &mut Tx, user_id: &str, kind: Kind) -> Result<Setting> {
    let row: Option<(i64, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select in_app, email from notification_settings where user_id = $1 and kind = $2",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .fetch_optional(conn)
        .await?
    });
    match row {
        Some((in_app, email)) => Ok(Setting {
            in_app: in_app != 0,
            email: Email::parse("email", &email)?,
        }),
        None => Ok(kind.default_setting()),
    }
}

/// Tells `recipient` of `notice` in `tx`, as they chose; nothing when they made the change
/// themselves, cannot see it, or chose neither the app nor mail for its kind. Returns
/// whether a notification was made.
pub(crate) async fn notify(
    tx: &mut Tx,
    actor: &Actor,
    recipient: &str,
    notice: Notice<'_>,
) -> Result<bool> {
    if actor.user_id.as_deref() == Some(recipient) {
        return Ok(false);
    }
    let Some((email, name)) = can_see(tx, recipient, notice.project_id).await? else {
        return Ok(false);
    };
    let setting = setting_of(tx, recipient, notice.kind).await?;
    if !setting.in_app && setting.email == Email::Never {
        return Ok(false);
    }
    let at = now();
    let id = new_id()?;
    let mail_state = match setting.email {
        Email::Now => "sent",
        Email::Daily => "daily",
        Email::Never => "none",
    };
    let inserted = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into notifications (notification_id, user_id, kind, project_id, subject_id, actor_name, sentence, link, in_app, email, once_key, read_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, null, $12, $12)
             on conflict (once_key) do nothing",
        )
        .bind(&id)
        .bind(recipient)
        .bind(notice.kind.as_str())
        .bind(notice.project_id)
        .bind(notice.subject_id)
        .bind(&actor.name)
        .bind(&notice.sentence)
        .bind(&notice.link)
        .bind(i64::from(setting.in_app))
        .bind(mail_state)
        .bind(notice.once.as_deref())
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected()
    });
    if inserted == 0 {
        return Ok(false);
    }
    if setting.email == Email::Now {
        outbox::enqueue(
            tx,
            MailKind::Notification,
            &email,
            &json!({
                "name": name,
                "sentence": notice.sentence,
                "link": notice.link,
                "user": recipient,
                "kind": notice.kind.as_str(),
                "notification": id,
                "project": notice.project_id,
            }),
            at,
        )
        .await?;
    }
    if setting.in_app {
        events::event("notification", notice.project_id, Some(&id))
            .for_user(recipient)
            .data(json!({
                "kind": notice.kind.as_str(),
                "sentence": notice.sentence,
                "link": notice.link,
            }))
            .emit(tx, actor)
            .await?;
    }
    Ok(true)
}

const COLUMNS: &str = "notification_id, kind, project_id, subject_id, actor_name, sentence, link, read_at, created_at";

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

fn from_row(row: Row) -> Result<Notification> {
    let (id, kind, project_id, subject_id, actor_name, sentence, link, read_at, created_at) = row;
    Ok(Notification {
        id,
        kind: Kind::parse(&kind)?,
        project_id,
        subject_id,
        actor_name,
        sentence,
        link,
        read_at,
        created_at,
    })
}

/// The caller's notifications (those they see in the app), newest first, after `cursor`;
/// only unread ones with `unread`.
#[tracing::instrument(skip_all)]
pub async fn list(
    store: &TenantStore,
    viewer: &Principal,
    unread: bool,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Notification>> {
    let limit = i64::from(limit.clamp(1, 200));
    let mut tx = store.read().await?;
    let rows: Vec<Row> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from notifications
             where user_id = $1 and in_app = 1 and ($2 = 0 or read_at is null)
               and ($3 = '' or notification_id < $3)
             order by notification_id desc limit $4"
        ))
        .bind(viewer.user_id())
        .bind(i64::from(unread))
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items = rows.into_iter().map(from_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|n| n.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// How many of the caller's notifications are unread, and the brand's newest event id
/// (where their pages' live updates start): what every signed-in page shows, in one read.
pub async fn badge(store: &TenantStore, viewer: &Principal) -> Result<(i64, i64)> {
    let mut tx = store.read().await?;
    Ok(on_tx!(tx, |conn| {
        sqlx::query_as(
            "select (select count(*) from notifications where user_id = $1 and in_app = 1 and read_at is null),
                    (select coalesce(max(event_id), 0) from events)",
        )
        .bind(viewer.user_id())
        .fetch_one(conn)
        .await?
    }))
}

/// How many of `user_id`'s notifications (those the bell shows) are unread.
pub(crate) async fn unread_count(tx: &mut Tx, user_id: &str) -> Result<i64> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select count(*) from notifications where user_id = $1 and in_app = 1 and read_at is null",
        )
        .bind(user_id)
        .fetch_one(conn)
        .await?
    }))
}

/// The kinds that are about a conversation (a comment, a discussion, a client message).
const CONVERSATION_KINDS: &str = "('mentioned', 'commented', 'client_message')";

/// A conversation with something the viewer has not seen: a thread with unread
/// notifications of mentions, comments or client messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadConversation {
    /// The thread's page.
    pub link: String,
    /// The newest unread notification's sentence.
    pub sentence: String,
    /// How many unread notifications it has.
    pub unread: i64,
    /// When the newest came.
    pub at: OffsetDateTime,
}

/// The viewer's conversations with unread notifications, newest first, at most `limit`
/// (read from the newest 200 unread notifications of those kinds).
pub(crate) async fn unread_conversations(
    tx: &mut Tx,
    user_id: &str,
    limit: usize,
) -> Result<Vec<UnreadConversation>> {
    let rows: Vec<(String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select link, sentence, created_at from notifications
             where user_id = $1 and in_app = 1 and read_at is null and kind in {CONVERSATION_KINDS}
             order by created_at desc, notification_id desc limit 200"
        ))
        .bind(user_id)
        .fetch_all(conn)
        .await?
    });
    let mut found: Vec<UnreadConversation> = Vec::new();
    for (link, sentence, at) in rows {
        let thread = link.split('#').next().unwrap_or_default().to_owned();
        match found.iter_mut().find(|c| c.link == thread) {
            Some(known) => known.unread += 1,
            None => found.push(UnreadConversation {
                link: thread,
                sentence,
                unread: 1,
                at,
            }),
        }
    }
    found.truncate(limit);
    Ok(found)
}

/// Marks read the viewer's notifications of mentions, comments and client messages of the
/// thread shown at `thread_link` (the page was opened, so they were seen). Writes only
/// when there is something to mark.
#[tracing::instrument(skip_all)]
pub async fn read_thread(store: &TenantStore, viewer: &Principal, thread_link: &str) -> Result<()> {
    let matching = format!(
        "user_id = $1 and read_at is null and kind in {CONVERSATION_KINDS}
         and (link = $2 or substr(link, 1, length($2) + 1) = $2 || '#')"
    );
    let mut tx = store.read().await?;
    let any: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(&format!(
            "select notification_id from notifications where {matching} limit 1"
        ))
        .bind(viewer.user_id())
        .bind(thread_link)
        .fetch_optional(conn)
        .await?
    });
    drop(tx);
    if any.is_none() {
        return Ok(());
    }
    let at = now();
    let mut tx = store.write_uncached().await?;
    on_tx!(tx, |conn| {
        sqlx::query(&format!(
            "update notifications set read_at = $3, updated_at = $3 where {matching}"
        ))
        .bind(viewer.user_id())
        .bind(thread_link)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await
}

/// Which notifications [`mark_read`] marks.
#[derive(Debug, Clone)]
pub enum Which {
    /// These (of the caller's own; others are ignored).
    Ids(Vec<String>),
    /// All of the caller's.
    All,
}

/// Marks the caller's notifications read; returns how many are still unread.
#[tracing::instrument(skip_all)]
pub async fn mark_read(store: &TenantStore, viewer: &Principal, which: &Which) -> Result<i64> {
    if let Which::Ids(ids) = which
        && ids.len() > 200
    {
        return Err(Error::field("ids", "at most 200 ids at a time"));
    }
    let at = now();
    let mut tx = store.write_uncached().await?;
    match which {
        Which::All => {
            on_tx!(tx, |conn| {
                sqlx::query("update notifications set read_at = $2, updated_at = $2 where user_id = $1 and read_at is null")
                    .bind(viewer.user_id())
                    .bind(at)
                    .execute(conn)
                    .await?;
            });
        }
        Which::Ids(ids) => {
            for id in ids {
                on_tx!(tx, |conn| {
                    sqlx::query("update notifications set read_at = $3, updated_at = $3 where user_id = $1 and notification_id = $2 and read_at is null")
                        .bind(viewer.user_id())
                        .bind(id)
                        .bind(at)
                        .execute(conn)
                        .await?;
                });
            }
        }
    }
    let unread = unread_count(&mut tx, viewer.user_id()).await?;
    tx.commit().await?;
    Ok(unread)
}

/// The caller's setting of every kind.
#[tracing::instrument(skip_all)]
pub async fn settings(store: &TenantStore, viewer: &Principal) -> Result<Vec<(Kind, Setting)>> {
    let mut tx = store.read().await?;
    let mut out = Vec::with_capacity(Kind::ALL.len());
    for kind in Kind::ALL {
        out.push((kind, setting_of(&mut tx, viewer.user_id(), kind).await?));
    }
    Ok(out)
}

/// Changes the caller's settings of the kinds named (others stay); `changes` are
/// `(kind word, in_app, email word)` as typed, all checked before any is kept.
#[tracing::instrument(skip_all)]
pub async fn change_settings(
    store: &TenantStore,
    viewer: &Principal,
    changes: &[(String, Option<bool>, Option<String>)],
) -> Result<Vec<(Kind, Setting)>> {
    let mut tx = store.write_uncached().await?;
    let mut parsed = Vec::with_capacity(changes.len());
    for (word, in_app, email) in changes {
        let kind = Kind::parse(word)?;
        let current = setting_of(&mut tx, viewer.user_id(), kind).await?;
        let email = match email {
            Some(text) => Email::parse("email", text)?,
            None => current.email,
        };
        parsed.push((
            kind,
            Setting {
                in_app: in_app.unwrap_or(current.in_app),
                email,
            },
        ));
    }
    let at = now();
    for (kind, setting) in &parsed {
        keep_setting(&mut tx, viewer.user_id(), *kind, *setting, at).await?;
    }
    tx.commit().await?;
    settings(store, viewer).await
}

async fn keep_setting(
    tx: &mut Tx,
    user_id: &str,
    kind: Kind,
    setting: Setting,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into notification_settings (user_id, kind, in_app, email, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)
             on conflict (user_id, kind) do update set in_app = $3, email = $4, updated_at = $5",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(i64::from(setting.in_app))
        .bind(setting.email.as_str())
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// What an unsubscribe link stops: mail of one kind, or every notification mail (the
/// digest's link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribe {
    /// Mail of this kind.
    Kind(Kind),
    /// Every kind's mail.
    All,
}

const UNSUBSCRIBE: &str = "unsubscribe";

/// The token of an unsubscribe link for `user_id`: sealed with the server's key, so it
/// cannot be made or altered without it, and it names nothing readable.
pub fn unsubscribe_token(store: &TenantStore, user_id: &str, what: Unsubscribe) -> Result<String> {
    let word = match what {
        Unsubscribe::Kind(kind) => kind.as_str(),
        Unsubscribe::All => "all",
    };
    store
        .sealing_key()
        .seal(UNSUBSCRIBE, &format!("{user_id} {word}"))
}

/// The unsubscribe address of a notification mail or digest made by this module (its
/// outbox `params` name the user and, for a single notification, the kind).
pub fn unsubscribe_url(store: &TenantStore, base: &str, params: &Value) -> Result<String> {
    let user = params
        .get("user")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Invalid("the mail names no user".to_owned()))?;
    let what = match params.get("kind").and_then(Value::as_str) {
        Some(kind) => Unsubscribe::Kind(Kind::parse(kind)?),
        None => Unsubscribe::All,
    };
    Ok(format!(
        "{base}/unsubscribe/{}",
        unsubscribe_token(store, user, what)?
    ))
}

/// Who and what an unsubscribe token stands for, if it is one of this brand's users'.
pub async fn read_unsubscribe(
    store: &TenantStore,
    token: &str,
) -> Result<(String, String, Unsubscribe)> {
    let invalid = || Error::NotFound("this unsubscribe link is not valid".to_owned());
    let plain = store
        .sealing_key()
        .open(UNSUBSCRIBE, token)
        .map_err(|_| invalid())?;
    let (user_id, word) = plain.split_once(' ').ok_or_else(invalid)?;
    let what = if word == "all" {
        Unsubscribe::All
    } else {
        Unsubscribe::Kind(Kind::parse(word).map_err(|_| invalid())?)
    };
    let mut tx = store.read().await?;
    let found: Option<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select user_id, email from users where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    let (user_id, email) = found.ok_or_else(invalid)?;
    Ok((user_id, email, what))
}

/// Stops the mail an unsubscribe token stands for (the in-app notifications stay); no
/// sign-in needed, the token is the proof. Returns the address and what was stopped.
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(store: &TenantStore, token: &str) -> Result<(String, Unsubscribe)> {
    let (user_id, email, what) = read_unsubscribe(store, token).await?;
    let kinds: Vec<Kind> = match what {
        Unsubscribe::Kind(kind) => vec![kind],
        Unsubscribe::All => Kind::ALL.to_vec(),
    };
    let mut tx = store.write_uncached().await?;
    let at = now();
    for kind in kinds {
        let current = setting_of(&mut tx, &user_id, kind).await?;
        let setting = Setting {
            email: Email::Never,
            ..current
        };
        keep_setting(&mut tx, &user_id, kind, setting, at).await?;
    }
    // What was waiting for the digest is not sent either.
    on_tx!(tx, |conn| {
        sqlx::query("update notifications set email = 'none', updated_at = $2 where user_id = $1 and email = 'daily'")
            .bind(&user_id)
            .bind(at)
            .execute(conn)
            .await?;
    });
    tx.commit().await?;
    Ok((email, what))
}

/// The moment the digest of the day is due: 07:00 UTC today, or yesterday's before then.
fn digest_boundary(at: OffsetDateTime) -> OffsetDateTime {
    let seven = Time::from_hms(7, 0, 0).unwrap_or(Time::MIDNIGHT);
    let today = at.replace_time(seven);
    if at >= today {
        today
    } else {
        today - Duration::days(1)
    }
}

/// Sends the daily digests that are due at `at` (a background job): one mail per user
/// with everything for the digest made before the day's 07:00 UTC. Returns how many
/// mails were queued.
#[tracing::instrument(skip_all)]
pub async fn send_digests(store: &TenantStore, at: OffsetDateTime) -> Result<u64> {
    let boundary = digest_boundary(at);
    // Most minutes nothing is due: a read finds that without taking the write lock.
    let waiting: i64 = {
        let mut tx = store.read().await?;
        on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select count(*) from notifications where email = 'daily' and created_at < $1",
            )
            .bind(boundary)
            .fetch_one(conn)
            .await?
        })
    };
    if waiting == 0 {
        return Ok(0);
    }
    let mut tx = store.write_uncached().await?;
    let rows: Vec<(String, String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select n.user_id, u.email, u.name, n.sentence, n.link from notifications n
             join users u on u.user_id = n.user_id
             where n.email = 'daily' and n.created_at < $1 and u.status = 'active'
             order by n.user_id, n.notification_id",
        )
        .bind(boundary)
        .fetch_all(conn)
        .await?
    });
    let mut mails: Vec<(String, String, String, Vec<Value>)> = Vec::new();
    for (user_id, email, name, sentence, link) in rows {
        let item = json!({"sentence": sentence, "link": link});
        match mails.last_mut() {
            Some((last, _, _, items)) if *last == user_id => items.push(item),
            _ => mails.push((user_id, email, name, vec![item])),
        }
    }
    for (user_id, email, name, items) in &mails {
        outbox::enqueue(
            &mut tx,
            MailKind::Digest,
            email,
            &json!({"name": name, "items": items, "user": user_id}),
            at,
        )
        .await?;
    }
    on_tx!(tx, |conn| {
        sqlx::query("update notifications set email = 'sent', updated_at = $2 where email = 'daily' and created_at < $1")
            .bind(boundary)
            .bind(at)
            .execute(conn)
            .await?;
    });
    // Committed even with no mail to send (every recipient deactivated): what waited is
    // done with.
    tx.commit().await?;
    Ok(mails.len() as u64)
}

/// Reminds assignees of their tasks due tomorrow and of those overdue as of `today` (a
/// background job): once per task and due date each. Returns how many were made.
#[tracing::instrument(skip_all)]
pub async fn remind_due(store: &TenantStore, today: Date, brand: &str) -> Result<u64> {
    let tomorrow = today.next_day().unwrap_or(today);
    let mut tx = store.read().await?;
    let due: Vec<(String, String, String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select t.task_id, t.project_id, t.title, t.assignee_id, t.due_on, p.name from tasks t
             join projects p on p.project_id = t.project_id
             where t.assignee_id is not null and t.status <> 'done' and p.status = 'active'
               and t.due_on is not null and (t.due_on = $1 or t.due_on < $2)
               and not exists (select 1 from notifications n
                               where n.once_key = (case when t.due_on = $1 then 'due_tomorrow:' else 'overdue:' end) || t.task_id || ':' || t.due_on)",
        )
        .bind(tomorrow.to_string())
        .bind(today.to_string())
        .fetch_all(conn)
        .await?
    });
    drop(tx);
    if due.is_empty() {
        return Ok(0);
    }
    let actor = Actor {
        user_id: None,
        name: brand.to_owned(),
        address: "server".to_owned(),
    };
    let mut tx = store.write_uncached().await?;
    let mut made = 0;
    for (task_id, project_id, title, assignee, due_on, project) in &due {
        let tomorrow_due = *due_on == tomorrow.to_string();
        let (kind, prefix, sentence) = if tomorrow_due {
            (
                Kind::DueTomorrow,
                "due_tomorrow",
                format!("\u{201c}{title}\u{201d} in {project} is due tomorrow."),
            )
        } else if due_on.as_str() < today.to_string().as_str() {
            (
                Kind::Overdue,
                "overdue",
                format!("\u{201c}{title}\u{201d} in {project} was due on {due_on}."),
            )
        } else {
            // Due today: neither tomorrow nor overdue yet.
            continue;
        };
        let notice = Notice {
            kind,
            project_id: Some(project_id),
            subject_id: task_id,
            sentence,
            link: format!("/projects/{project_id}/tasks/{task_id}"),
            once: Some(format!("{prefix}:{task_id}:{due_on}")),
        };
        if notify(&mut tx, &actor, assignee, notice).await? {
            made += 1;
        }
    }
    tx.commit().await?;
    Ok(made)
}

/// This module's tables in backups.
pub(crate) const BACKUP: &[Table] = &[
    (
        "notification_settings",
        &[
            ("user_id", Column::Text),
            ("kind", Column::Text),
            ("in_app", Column::Integer),
            ("email", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "notifications",
        &[
            ("notification_id", Column::Text),
            ("user_id", Column::Text),
            ("kind", Column::Text),
            ("project_id", Column::OptionalText),
            ("subject_id", Column::OptionalText),
            ("actor_name", Column::Text),
            ("sentence", Column::Text),
            ("link", Column::Text),
            ("in_app", Column::Integer),
            ("email", Column::Text),
            ("once_key", Column::OptionalText),
            ("read_at", Column::OptionalTime),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_due_at_seven_utc() {
        let day = |d: u8, h: u8| {
            Date::from_calendar_date(2027, time::Month::March, d)
                .unwrap()
                .with_time(Time::from_hms(h, 0, 0).unwrap())
                .assume_utc()
        };
        assert_eq!(digest_boundary(day(10, 8)), day(10, 7));
        assert_eq!(digest_boundary(day(10, 6)), day(9, 7));
        assert_eq!(digest_boundary(day(10, 7)), day(10, 7));
    }

    #[test]
    fn words_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()).ok(), Some(kind));
        }
        assert!(Kind::parse("mentions").is_err());
        assert!(Email::parse("email", "weekly").is_err());
    }
}

//! Team chat: the brand's staff talking outside projects, with `chat.team`. Channels are
//! open to all staff, or to one team's members; a direct channel is between two staff
//! members (opened once, found again after). Client contacts never see chat.
//!
//! A channel's members are those who see it: every staff member with `chat.team` for an
//! open channel, the team's members with `chat.team` for a team's, the two people of a
//! direct one; anyone else is told it does not exist (404). Messages are Markdown like
//! comments ([`crate::talk::markdown`]), history pages back from the newest, and each
//! member has a read cursor per channel (the newest message they have read): the unread
//! count is the number of others' messages after it, counted when asked, so two servers
//! writing at once can never make it drift. A message's event goes only to the channel's
//! members; a mention of someone outside the channel is refused like one on an internal
//! task.

use serde_json::json;
use time::OffsetDateTime;

use crate::access::permissions::{Permission, need};
use crate::access::{self, Actor, Principal, Scope, UserKind};
use crate::accounts::roles;
use crate::error::{Error, Result};
use crate::events;
use crate::fields::single_line;
use crate::paging::Page;
use crate::store::{Column, Table, TenantStore, Tx, new_id, now, on_tx};
use crate::talk::markdown::Body;
use crate::talk::notifications::{self, Kind, Notice};
use crate::talk::threads::Person;

/// Who a channel is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Every staff member with `chat.team`.
    Open,
    /// One team's members.
    Team,
    /// Two staff members.
    Direct,
}

impl ChannelKind {
    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Open => "open",
            ChannelKind::Team => "team",
            ChannelKind::Direct => "direct",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "open" => Ok(ChannelKind::Open),
            "team" => Ok(ChannelKind::Team),
            "direct" => Ok(ChannelKind::Direct),
            other => Err(Error::Invalid(format!("unknown channel kind '{other}'"))),
        }
    }
}

/// A channel as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its id.
    pub id: String,
    /// Who it is for.
    pub kind: ChannelKind,
    /// Its name; for a direct channel, the other person's name.
    pub name: String,
    /// The team of a team's channel.
    pub team_id: Option<String>,
    /// The other person of a direct channel.
    pub other_user_id: Option<String>,
    /// Others' messages after the viewer's read cursor.
    pub unread: i64,
    /// The newest message's id, if any.
    pub last_message_id: Option<String>,
    /// When the newest message was written.
    pub last_message_at: Option<OffsetDateTime>,
    /// When it was opened.
    pub created_at: OffsetDateTime,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its id.
    pub id: String,
    /// Its channel.
    pub channel_id: String,
    /// What it says.
    pub body: Body,
    /// Who wrote it.
    pub author_id: Option<String>,
    /// Their name.
    pub author_name: Option<String>,
    /// When.
    pub created_at: OffsetDateTime,
}

/// A new channel as typed.
#[derive(Debug, Clone, Default)]
pub struct NewChannel {
    /// Its name (unique in the brand, whatever the case).
    pub name: String,
    /// A team's id for a team's channel; none for an open one.
    pub team: Option<String>,
}

/// Team chat is for staff with `chat.team`.
fn check_chat(principal: &Principal) -> Result<()> {
    if principal.kind() != UserKind::Staff {
        return Err(Error::Forbidden(
            "team chat is for the agency's staff".to_owned(),
        ));
    }
    access::permit::<need::ChatTeam>(principal, Scope::Brand).map(|_| ())
}

/// The SQL condition "user `$u` is a member of channel `c`" (their `chat.team` checked
/// apart).
fn member_clause(u: u8) -> String {
    member_clause_of(&format!("${u}"))
}

/// [`member_clause`] for the user whose id is the SQL expression `who`.
fn member_clause_of(who: &str) -> String {
    format!(
        "(c.kind = 'open'
          or (c.kind = 'team' and exists(select 1 from team_members tm where tm.team_id = c.team_id and tm.user_id = {who}))
          or (c.kind = 'direct' and exists(select 1 from chat_direct_members d where d.channel_id = c.channel_id and d.user_id = {who})))"
    )
}

/// Whether `principal` is a member of channel `channel_id` (for the events stream).
pub(crate) async fn is_member(
    tx: &mut Tx,
    principal: &Principal,
    channel_id: &str,
) -> Result<bool> {
    if check_chat(principal).is_err() {
        return Ok(false);
    }
    let found: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(&format!(
            "select count(*) from chat_channels c where c.channel_id = $1 and {}",
            member_clause(2)
        ))
        .bind(channel_id)
        .bind(principal.user_id())
        .fetch_one(conn)
        .await?
    });
    Ok(found > 0)
}

const CHANNEL_COLUMNS: &str = "c.channel_id, c.kind,
     case when c.kind = 'direct'
          then coalesce((select u.name from chat_direct_members d join users u on u.user_id = d.user_id
                         where d.channel_id = c.channel_id and d.user_id <> $1), '')
          else c.name end as name,
     c.team_id,
     (select d.user_id from chat_direct_members d where d.channel_id = c.channel_id and d.user_id <> $1) as other_user_id,
     (select count(*) from chat_messages m
      where m.channel_id = c.channel_id and m.removed_at is null
        and (m.author_id is null or m.author_id <> $1)
        and m.seq > coalesce((select r.last_read from chat_reads r where r.channel_id = c.channel_id and r.user_id = $1), 0)) as unread,
     (select m.message_id from chat_messages m where m.channel_id = c.channel_id order by m.seq desc limit 1) as last_message_id,
     (select max(m.created_at) from chat_messages m where m.channel_id = c.channel_id) as last_message_at,
     c.created_at";

#[derive(sqlx::FromRow)]
struct ChannelRow {
    channel_id: String,
    kind: String,
    name: String,
    team_id: Option<String>,
    other_user_id: Option<String>,
    unread: i64,
    last_message_id: Option<String>,
    last_message_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl TryFrom<ChannelRow> for Channel {
    type Error = Error;

    fn try_from(row: ChannelRow) -> Result<Channel> {
        Ok(Channel {
            id: row.channel_id,
            kind: ChannelKind::parse(&row.kind)?,
            name: row.name,
            team_id: row.team_id,
            other_user_id: row.other_user_id,
            unread: row.unread,
            last_message_id: row.last_message_id,
            last_message_at: row.last_message_at,
            created_at: row.created_at,
        })
    }
}

/// The channels the viewer is a member of: open and team channels by name, then direct
/// ones, most recent first, each with its unread count.
#[tracing::instrument(skip_all)]
pub async fn list_channels(store: &TenantStore, viewer: &Principal) -> Result<Vec<Channel>> {
    check_chat(viewer)?;
    let mut tx = store.read().await?;
    channels_of(&mut tx, viewer, None).await
}

async fn channels_of(tx: &mut Tx, viewer: &Principal, only: Option<&str>) -> Result<Vec<Channel>> {
    let rows: Vec<ChannelRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {CHANNEL_COLUMNS} from chat_channels c
             where {} and ($2 = '' or c.channel_id = $2)
             order by case when c.kind = 'direct' then 1 else 0 end, lower(c.name), c.channel_id",
            member_clause(1)
        ))
        .bind(viewer.user_id())
        .bind(only.unwrap_or(""))
        .fetch_all(conn)
        .await?
    });
    let mut channels = rows
        .into_iter()
        .map(Channel::try_from)
        .collect::<Result<Vec<_>>>()?;
    // Direct channels: the most recent conversation first.
    channels.sort_by(|a, b| {
        let direct = |c: &Channel| c.kind == ChannelKind::Direct;
        direct(a).cmp(&direct(b)).then_with(|| {
            if direct(a) {
                b.last_message_id.cmp(&a.last_message_id)
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    Ok(channels)
}

/// How many messages of others are unread in all the viewer's channels (the header's and
/// the home page's count); 0 for whoever has no chat.
pub async fn unread_total(store: &TenantStore, viewer: &Principal) -> Result<i64> {
    if check_chat(viewer).is_err() {
        return Ok(0);
    }
    let mut tx = store.read().await?;
    Ok(channels_of(&mut tx, viewer, None)
        .await?
        .iter()
        .map(|c| c.unread)
        .sum())
}

/// Proof that the principal is a member of the channel; only [`enter`] makes one.
#[derive(Debug)]
pub struct InChannel<'a> {
    principal: &'a Principal,
    channel: Channel,
}

impl InChannel<'_> {
    /// Who is in.
    pub fn principal(&self) -> &Principal {
        self.principal
    }

    /// The channel, as its member sees it.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }
}

/// The door into a channel: chat for the principal (403), then membership (404).
async fn enter<'a>(
    tx: &mut Tx,
    principal: &'a Principal,
    channel_id: &str,
) -> Result<InChannel<'a>> {
    check_chat(principal)?;
    let channel = channels_of(tx, principal, Some(channel_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::NotFound("there is no such channel".to_owned()))?;
    Ok(InChannel { principal, channel })
}

/// One channel.
#[tracing::instrument(skip_all)]
pub async fn get_channel(
    store: &TenantStore,
    viewer: &Principal,
    channel_id: &str,
) -> Result<Channel> {
    let mut tx = store.read().await?;
    Ok(enter(&mut tx, viewer, channel_id).await?.channel)
}

/// Opens a channel: open to all staff, or a team's (whose member the creator must be,
/// unless they hold `teams.manage`).
#[tracing::instrument(skip_all)]
pub async fn create_channel(
    store: &TenantStore,
    actor: &Principal,
    new: &NewChannel,
) -> Result<Channel> {
    check_chat(actor)?;
    let at = now();
    let name = single_line("name", "a channel's name", &new.name, 80)?;
    let name = name.trim_start_matches('#').trim().to_owned();
    if name.is_empty() {
        return Err(Error::field("name", "give the channel a name"));
    }
    let mut tx = store.write_uncached().await?;
    tx.serialize("chat").await?;
    let team = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(team) = team {
        let row: Option<(String,)> = on_tx!(tx, |conn| {
            sqlx::query_as("select team_id from teams where team_id = $1")
                .bind(team)
                .fetch_optional(conn)
                .await?
        });
        if row.is_none() {
            return Err(Error::field("team", format!("there is no team '{team}'")));
        }
        let member: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "select count(*) from team_members where team_id = $1 and user_id = $2",
            )
            .bind(team)
            .bind(actor.user_id())
            .fetch_one(conn)
            .await?
        });
        if member == 0 && !actor.permissions().contains(Permission::TeamsManage) {
            return Err(Error::Forbidden(
                "only the team's members (or teams.manage) open a channel for it".to_owned(),
            ));
        }
    }
    let key = name.to_lowercase();
    let taken: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from chat_channels where name_key = $1")
            .bind(&key)
            .fetch_one(conn)
            .await?
    });
    if taken > 0 {
        return Err(Error::Conflict(format!(
            "there is already a channel called '{name}'"
        )));
    }
    let id = new_id()?;
    let kind = if team.is_some() {
        ChannelKind::Team
    } else {
        ChannelKind::Open
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into chat_channels (channel_id, kind, name, name_key, team_id, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(kind.as_str())
        .bind(&name)
        .bind(&key)
        .bind(team)
        .bind(actor.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let channel = enter(&mut tx, actor, &id).await?.channel;
    events::event("chat.channel_added", None, Some(&id))
        .for_channel(&id)
        .needs(Permission::ChatTeam)
        .data(json!({"channel": id, "name": channel.name, "kind": kind.as_str()}))
        .emit(&mut tx, &Actor::from(actor))
        .await?;
    tx.commit().await?;
    Ok(channel)
}

/// Whether `user_id` is an active staff member whose role holds `chat.team`.
async fn chats(tx: &mut Tx, user_id: &str) -> Result<Option<String>> {
    let row: Option<(String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as("select name, kind, status, role_id from users where user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?
    });
    let Some((name, kind, status, role)) = row else {
        return Ok(None);
    };
    if kind != "staff" || status != "active" {
        return Ok(None);
    }
    let holds = roles::find_role(tx, &role)
        .await?
        .is_some_and(|r| r.permissions.contains(Permission::ChatTeam));
    Ok(holds.then_some(name))
}

/// The direct channel between the actor and `user_id`: found, or opened the first time.
#[tracing::instrument(skip_all)]
pub async fn open_direct(store: &TenantStore, actor: &Principal, user_id: &str) -> Result<Channel> {
    check_chat(actor)?;
    let user_id = user_id.trim();
    if user_id == actor.user_id() {
        return Err(Error::field(
            "user",
            "a direct channel is with someone else",
        ));
    }
    let at = now();
    let mut tx = store.write_uncached().await?;
    tx.serialize("chat").await?;
    if chats(&mut tx, user_id).await?.is_none() {
        return Err(Error::field(
            "user",
            format!("'{user_id}' is not an active staff member who uses team chat"),
        ));
    }
    let existing: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select a.channel_id from chat_direct_members a
             join chat_direct_members b on b.channel_id = a.channel_id
             where a.user_id = $1 and b.user_id = $2",
        )
        .bind(actor.user_id())
        .bind(user_id)
        .fetch_optional(conn)
        .await?
    });
    let id = match existing {
        Some(id) => id,
        None => {
            let id = new_id()?;
            on_tx!(tx, |conn| {
                sqlx::query(
                    "insert into chat_channels (channel_id, kind, name, name_key, team_id, created_by, created_at, updated_at)
                     values ($1, 'direct', '', null, null, $2, $3, $3)",
                )
                .bind(&id)
                .bind(actor.user_id())
                .bind(at)
                .execute(&mut *conn)
                .await?;
                for member in [actor.user_id(), user_id] {
                    sqlx::query(
                        "insert into chat_direct_members (channel_id, user_id, created_at, updated_at) values ($1, $2, $3, $3)",
                    )
                    .bind(&id)
                    .bind(member)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                }
            });
            id
        }
    };
    let channel = enter(&mut tx, actor, &id).await?.channel;
    tx.commit().await?;
    Ok(channel)
}

/// A channel's history, newest first, before `cursor` (a message id), at most `limit`.
#[tracing::instrument(skip_all)]
pub async fn list_messages(
    store: &TenantStore,
    viewer: &Principal,
    channel_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<ChatMessage>> {
    let limit = i64::from(limit.clamp(1, 200));
    let mut tx = store.read().await?;
    let inside = enter(&mut tx, viewer, channel_id).await?;
    let rows: Vec<MessageRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {MESSAGE_COLUMNS} from {MESSAGES}
             where m.channel_id = $1 and m.removed_at is null
               and ($2 = '' or m.seq < (select b.seq from chat_messages b where b.message_id = $2 and b.channel_id = $1))
             order by m.seq desc limit $3"
        ))
        .bind(&inside.channel.id)
        .bind(cursor.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
    });
    let mut items: Vec<ChatMessage> = rows.into_iter().map(ChatMessage::from).collect();
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|m| m.id.clone())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

const MESSAGE_COLUMNS: &str =
    "m.message_id, m.channel_id, m.body, m.body_html, m.author_id, u.name, m.created_at";
const MESSAGES: &str = "chat_messages m left join users u on u.user_id = m.author_id";

#[derive(sqlx::FromRow)]
struct MessageRow {
    message_id: String,
    channel_id: String,
    body: String,
    body_html: String,
    author_id: Option<String>,
    name: Option<String>,
    created_at: OffsetDateTime,
}

impl From<MessageRow> for ChatMessage {
    fn from(row: MessageRow) -> ChatMessage {
        ChatMessage {
            id: row.message_id,
            channel_id: row.channel_id,
            body: Body::stored(row.body, row.body_html),
            author_id: row.author_id,
            author_name: row.name,
            created_at: row.created_at,
        }
    }
}

/// The members of a channel who hold `chat.team` and are active, among `ids` (all of
/// them when `None`), as (id, name).
async fn members_among(
    tx: &mut Tx,
    inside: &InChannel<'_>,
    ids: &[String],
) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for id in ids {
        let row: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar(&format!(
                "select count(*) from chat_channels c where c.channel_id = $1 and {}",
                member_clause(2)
            ))
            .bind(&inside.channel.id)
            .bind(id)
            .fetch_one(conn)
            .await?
        });
        if row > 0
            && let Some(name) = chats(tx, id).await?
        {
            found.push((id.clone(), name));
        }
    }
    Ok(found)
}

/// Writes a message in a channel; those it mentions (members only: anyone else is a field
/// error) are told. The writer's own read cursor moves to it.
#[tracing::instrument(skip_all)]
pub async fn post_message(
    store: &TenantStore,
    actor: &Principal,
    channel_id: &str,
    body: &str,
) -> Result<ChatMessage> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let inside = enter(&mut tx, actor, channel_id).await?;
    let body = Body::parse("body", body)?;
    let mentioned = crate::talk::threads::mentioned_users(&mut tx, "body", body.markdown()).await?;
    let ids: Vec<String> = mentioned.iter().map(|(id, _)| id.clone()).collect();
    let members = members_among(&mut tx, &inside, &ids).await?;
    if let Some((_, name)) = mentioned
        .iter()
        .find(|(id, _)| !members.iter().any(|(m, _)| m == id))
    {
        return Err(Error::field(
            "body",
            format!("{name} is not in this channel: mention only its members"),
        ));
    }
    let id = new_id()?;
    // One writer per channel at a time until commit: numbers follow commit order.
    tx.serialize(&format!("chat:{}", inside.channel.id)).await?;
    let seq: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "insert into chat_messages (message_id, channel_id, seq, body, body_html, author_id, created_at, updated_at)
             select $1, $2, coalesce(max(seq), 0) + 1, $3, $4, $5, $6, $6 from chat_messages where channel_id = $2
             returning seq",
        )
        .bind(&id)
        .bind(&inside.channel.id)
        .bind(body.markdown())
        .bind(body.html())
        .bind(actor.user_id())
        .bind(at)
        .fetch_one(conn)
        .await?
    });
    move_cursor(&mut tx, &inside.channel.id, actor.user_id(), seq, at).await?;
    let channel = &inside.channel;
    let label = match channel.kind {
        ChannelKind::Direct => "a direct message".to_owned(),
        _ => format!("#{}", channel.name),
    };
    events::event("chat.message", None, Some(&id))
        .for_channel(&channel.id)
        .needs(Permission::ChatTeam)
        .data(json!({
            "channel": channel.id,
            "author_name": actor.name(),
            "html": body.html(),
        }))
        .emit(&mut tx, &Actor::from(actor))
        .await?;
    for (member, _) in &members {
        let notice = Notice {
            kind: Kind::Mentioned,
            project_id: None,
            subject_id: &id,
            sentence: format!(
                "{} mentioned you in {label}: \u{201c}{}\u{201d}",
                actor.name(),
                body.excerpt(140)
            ),
            link: format!("/chat/{}#message-{id}", channel.id),
            once: None,
        };
        notifications::notify(&mut tx, &Actor::from(actor), member, notice).await?;
    }
    let message = ChatMessage {
        id,
        channel_id: channel.id.clone(),
        body,
        author_id: Some(actor.user_id().to_owned()),
        author_name: Some(actor.name().to_owned()),
        created_at: at,
    };
    tx.commit().await?;
    Ok(message)
}

/// Moves `user_id`'s read cursor of the channel to `up_to`, never back.
async fn move_cursor(
    tx: &mut Tx,
    channel_id: &str,
    user_id: &str,
    up_to: i64,
    at: OffsetDateTime,
) -> Result<()> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into chat_reads (channel_id, user_id, last_read, created_at, updated_at)
             values ($1, $2, $3, $4, $4)
             on conflict (channel_id, user_id) do update
             set last_read = case when excluded.last_read > chat_reads.last_read then excluded.last_read else chat_reads.last_read end,
                 updated_at = excluded.updated_at",
        )
        .bind(channel_id)
        .bind(user_id)
        .bind(up_to)
        .bind(at)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Marks the channel read up to message `up_to` (a message of the channel; a cursor never
/// moves back); returns the channel with what is still unread.
#[tracing::instrument(skip_all)]
pub async fn mark_read(
    store: &TenantStore,
    viewer: &Principal,
    channel_id: &str,
    up_to: &str,
) -> Result<Channel> {
    let at = now();
    let mut tx = store.write_uncached().await?;
    let inside = enter(&mut tx, viewer, channel_id).await?;
    let found: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select seq from chat_messages where message_id = $1 and channel_id = $2",
        )
        .bind(up_to)
        .bind(&inside.channel.id)
        .fetch_optional(conn)
        .await?
    });
    let Some(seq) = found else {
        return Err(Error::field(
            "up_to",
            "that is not a message of this channel",
        ));
    };
    move_cursor(&mut tx, &inside.channel.id, viewer.user_id(), seq, at).await?;
    let channel = enter(&mut tx, viewer, channel_id).await?.channel;
    events::event("chat.read", None, Some(&channel.id))
        .for_user(viewer.user_id())
        .data(json!({"channel": channel.id, "unread": channel.unread}))
        .emit(&mut tx, &Actor::from(viewer))
        .await?;
    tx.commit().await?;
    Ok(channel)
}

/// The staff one may open a direct channel with: active staff who use team chat, but
/// oneself, by name, whose name or address contains `q` (at most 20).
#[tracing::instrument(skip_all)]
pub async fn colleagues(
    store: &TenantStore,
    viewer: &Principal,
    q: Option<&str>,
) -> Result<Vec<(String, String)>> {
    check_chat(viewer)?;
    let mut tx = store.read().await?;
    let found = staff_who_chat(&mut tx, viewer, q, None, 20).await?;
    Ok(found.into_iter().map(|p| (p.id, p.name)).collect())
}

/// Who `@` completes to in a channel: its members (who use team chat) but oneself, by
/// name, whose name or address contains `q` (at most 10).
#[tracing::instrument(skip_all)]
pub async fn mentionable(
    store: &TenantStore,
    viewer: &Principal,
    channel_id: &str,
    q: Option<&str>,
) -> Result<Vec<Person>> {
    let mut tx = store.read().await?;
    let inside = enter(&mut tx, viewer, channel_id).await?;
    staff_who_chat(&mut tx, viewer, q, Some(&inside.channel.id), 10).await
}

/// Active staff who use team chat, but `viewer`, by name, whose name or address contains
/// `q`, members of `channel` when given, at most `limit`.
async fn staff_who_chat(
    tx: &mut Tx,
    viewer: &Principal,
    q: Option<&str>,
    channel: Option<&str>,
    limit: usize,
) -> Result<Vec<Person>> {
    let pattern = q.and_then(crate::paging::like_pattern).unwrap_or_default();
    let rows: Vec<(String, String, String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select u.user_id, u.name, u.email, u.role_id from users u
             where u.kind = 'staff' and u.status = 'active' and u.user_id <> $1
               and ($2 = '' or lower(u.name) like $2 escape '\\' or u.email_key like $2 escape '\\')
               and ($3 = '' or exists(select 1 from chat_channels c where c.channel_id = $3 and {}))
             order by lower(u.name), u.user_id limit 200",
            member_clause_of("u.user_id")
        ))
        .bind(viewer.user_id())
        .bind(&pattern)
        .bind(channel.unwrap_or_default())
        .fetch_all(conn)
        .await?
    });
    let mut found = Vec::new();
    for (id, name, email, role) in rows {
        let holds = roles::find_role(tx, &role)
            .await?
            .is_some_and(|r| r.permissions.contains(Permission::ChatTeam));
        if holds {
            found.push(Person {
                id,
                name,
                email,
                kind: UserKind::Staff,
            });
        }
        if found.len() == limit {
            break;
        }
    }
    Ok(found)
}

/// This module's tables in backups (parents first).
pub(crate) const BACKUP: &[Table] = &[
    (
        "chat_channels",
        &[
            ("channel_id", Column::Text),
            ("kind", Column::Text),
            ("name", Column::Text),
            ("name_key", Column::OptionalText),
            ("team_id", Column::OptionalText),
            ("created_by", Column::OptionalText),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "chat_direct_members",
        &[
            ("channel_id", Column::Text),
            ("user_id", Column::Text),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "chat_messages",
        &[
            ("message_id", Column::Text),
            ("channel_id", Column::Text),
            ("seq", Column::Integer),
            ("body", Column::Text),
            ("body_html", Column::Text),
            ("author_id", Column::OptionalText),
            ("edited_at", Column::OptionalTime),
            ("removed_at", Column::OptionalTime),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
    (
        "chat_reads",
        &[
            ("channel_id", Column::Text),
            ("user_id", Column::Text),
            ("last_read", Column::Integer),
            ("created_at", Column::Time),
            ("updated_at", Column::Time),
        ],
    ),
];

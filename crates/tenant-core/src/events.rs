//! What happened in a brand, for everyone who should see it: live updates of open pages
//! (`GET /api/v1/events`), project activity feeds and notifications all read one table.
//!
//! # Writing
//! A change that someone else should see appends its event with [`event`]`(…).emit(tx,
//! actor)` inside the change's own transaction, so a change and its event commit together
//! or not at all. Appends are serialised per brand (SQLite's write transactions already run
//! one at a time; PostgreSQL takes an advisory lock until commit) and take `max + 1` as
//! their id, so ids grow in commit order: a reader that has seen id N has seen every event
//! before it, and "everything after my cursor" never skips one that commits late.
//!
//! # Following
//! Each opened store has an [`EventHub`]. A commit that appended events pokes it; on
//! PostgreSQL it also sends `NOTIFY` (brand, last event id), which every other server
//! follows ([`crate::Platform::follow_changes`]) and turns into a poke of its own hub. A
//! poke wakes the brand's streams; the first of them reads what is new from the store
//! (one query, however many streams are open) into a ring of recent events that the others
//! then read from memory. Each stream also looks again every few seconds, so a lost
//! notification delays an event, never loses it; a stream whose cursor is older than the
//! ring reads from the store.
//!
//! # Who sees what
//! Checked per event and per viewer ([`Follower`], [`visible`]): an event of a project goes
//! only to those who reach the project now, an internal item's event never to a client
//! contact, a notification only to its user. A stream checks its user again whenever
//! users, roles or teams change and at each heartbeat: a user who was deactivated, signed
//! out or whose permissions changed has the stream closed (a browser opens it again with
//! the new permissions, resuming from its last event id).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::access::permissions::Permission;
use crate::access::{Actor, Principal, UserKind};
use crate::accounts::sessions::{self, Presented};
use crate::error::{Error, Result};
use crate::store::{Column, Table, TenantStore, Tx, now, on_tx};
use crate::work::projects;
use crate::work::tasks::Visibility;

/// How often an open stream sends a heartbeat (an SSE comment) and checks its user again.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often a stream looks at the store even without a poke (a lost notification).
const CATCH_UP: Duration = Duration::from_secs(5);
/// Streams one user may have open on one server at once.
pub const STREAMS_PER_USER: usize = 10;
/// Events kept in memory per brand for its streams.
const RING: usize = 4096;
/// Events read from the store at a time.
const BATCH: i64 = 500;
/// Events older than this are pruned (activity feeds show this far back).
pub const KEPT_DAYS: i64 = 90;

/// Who, beyond reaching the project and the visibility, sees an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewers {
    /// Everyone the project and the visibility let see it.
    All,
    /// Only client contacts (an item that clients no longer see: to them it is gone).
    Clients,
    /// One user only (a notification).
    User,
    /// The members of one chat channel.
    Channel,
}

impl Viewers {
    fn as_str(self) -> &'static str {
        match self {
            Viewers::All => "all",
            Viewers::Clients => "clients",
            Viewers::User => "user",
            Viewers::Channel => "channel",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "all" => Ok(Viewers::All),
            "clients" => Ok(Viewers::Clients),
            "user" => Ok(Viewers::User),
            "channel" => Ok(Viewers::Channel),
            other => Err(Error::Invalid(format!("unknown event viewers '{other}'"))),
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its cursor.
    pub id: i64,
    /// What happened (`task.moved`, `file.added`, …).
    pub kind: String,
    /// The project it happened in.
    pub project_id: Option<String>,
    /// The task, file or member it is about.
    pub subject_id: Option<String>,
    /// Who may see it (with the project's reach).
    pub visibility: Visibility,
    viewers: Viewers,
    user_id: Option<String>,
    channel_id: Option<String>,
    /// The permission a viewer must hold besides (a conversation's).
    permission: Option<Permission>,
    /// Who did it (`None`: the server or the operator).
    pub actor_id: Option<String>,
    /// Their name then.
    pub actor_name: String,
    data: Value,
    staff_data: Value,
    /// When.
    pub created_at: OffsetDateTime,
}

impl Event {
    /// The event as `viewer` is shown it (staff also get what only staff see).
    pub fn view(&self, viewer: &Principal) -> Value {
        let mut data = match &self.data {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        if viewer.kind() == UserKind::Staff
            && let Value::Object(staff) = &self.staff_data
        {
            for (key, value) in staff {
                data.insert(key.clone(), value.clone());
            }
        }
        json!({
            "id": self.id.to_string(),
            "kind": self.kind,
            "project": self.project_id,
            "subject": self.subject_id,
            "visibility": self.visibility.as_str(),
            "actor": {"id": self.actor_id, "name": self.actor_name},
            "at": self.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "data": Value::Object(data),
        })
    }

    /// Whether a yes-or-no field of what everyone who sees it is shown is yes.
    pub fn flag(&self, field: &str) -> bool {
        self.data
            .get(field)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A field of what everyone who sees it is shown.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(Value::as_str)
    }
}

/// An event being made; see [`event`].
#[derive(Debug)]
#[must_use = "an event is kept only once emitted"]
pub(crate) struct NewEvent<'a> {
    kind: &'a str,
    project_id: Option<&'a str>,
    subject_id: Option<&'a str>,
    visibility: Visibility,
    viewers: Viewers,
    user_id: Option<&'a str>,
    channel_id: Option<&'a str>,
    permission: Option<Permission>,
    data: Value,
    staff_data: Value,
}

/// The one way to record an event: `events::event("task.moved", Some(project), Some(task))
/// .visible(task.visibility).data(json!({...})).emit(tx, &actor)`. Internal (staff only)
/// unless made visible.
pub(crate) fn event<'a>(
    kind: &'a str,
    project_id: Option<&'a str>,
    subject_id: Option<&'a str>,
) -> NewEvent<'a> {
    NewEvent {
        kind,
        project_id,
        subject_id,
        visibility: Visibility::Internal,
        viewers: Viewers::All,
        user_id: None,
        channel_id: None,
        permission: None,
        data: json!({}),
        staff_data: json!({}),
    }
}

impl<'a> NewEvent<'a> {
    /// Who may see it.
    pub(crate) fn visible(mut self, visibility: Visibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// What everyone who sees it is shown.
    pub(crate) fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// More of what everyone who sees it is shown (fields of a JSON object).
    pub(crate) fn also(mut self, more: Value) -> Self {
        if let (Value::Object(data), Value::Object(more)) = (&mut self.data, more) {
            data.extend(more);
        }
        self
    }

    /// What only staff are shown besides (who a task is assigned to).
    pub(crate) fn staff_data(mut self, data: Value) -> Self {
        self.staff_data = data;
        self
    }

    /// Only for those who also hold `permission` (a conversation's event).
    pub(crate) fn needs(mut self, permission: Permission) -> Self {
        self.permission = Some(permission);
        self
    }

    /// Only for the members of chat channel `channel_id`.
    pub(crate) fn for_channel(mut self, channel_id: &'a str) -> Self {
        self.viewers = Viewers::Channel;
        self.channel_id = Some(channel_id);
        self
    }

    /// Only for `user_id` (a notification).
    pub(crate) fn for_user(mut self, user_id: &'a str) -> Self {
        self.viewers = Viewers::User;
        self.user_id = Some(user_id);
        self
    }

    /// Appends the event in `tx` (see the module's text); its commit wakes the streams.
    pub(crate) async fn emit(self, tx: &mut Tx, actor: &Actor) -> Result<i64> {
        tx.serialize("events").await?;
        let at = now();
        let id: i64 = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "insert into events (event_id, kind, project_id, subject_id, visibility, viewers, user_id, actor_id, actor_name, data, staff_data, created_at, updated_at, permission, channel_id)
                 select coalesce(max(event_id), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13 from events
                 returning event_id",
            )
            .bind(self.kind)
            .bind(self.project_id)
            .bind(self.subject_id)
            .bind(self.visibility.as_str())
            .bind(self.viewers.as_str())
            .bind(self.user_id)
            .bind(actor.user_id.as_deref())
            .bind(&actor.name)
            .bind(self.data.to_string())
            .bind(self.staff_data.to_string())
            .bind(at)
            .bind(self.permission.map(Permission::as_str))
            .bind(self.channel_id)
            .fetch_one(conn)
            .await?
        });
        tx.emitted(id).await?;
        Ok(id)
    }

    /// Appends the event of a change to an item whose visibility went from `before` to
    /// the event's: when clients saw it and no longer do, they get `removed_kind` (with
    /// `data` only), since to them the item is gone.
    pub(crate) async fn emit_change(
        self,
        tx: &mut Tx,
        actor: &Actor,
        before: Visibility,
        removed_kind: &'a str,
        removed_data: Value,
    ) -> Result<i64> {
        if before == Visibility::Client && self.visibility == Visibility::Internal {
            NewEvent {
                kind: removed_kind,
                visibility: Visibility::Client,
                viewers: Viewers::Clients,
                permission: self.permission,
                data: removed_data,
                staff_data: json!({}),
                ..event(removed_kind, self.project_id, self.subject_id)
            }
            .emit(tx, actor)
            .await?;
        }
        self.emit(tx, actor).await
    }
}

const COLUMNS: &str = "event_id, kind, project_id, subject_id, visibility, viewers, user_id, channel_id, permission, actor_id, actor_name, data, staff_data, created_at";

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: i64,
    kind: String,
    project_id: Option<String>,
    subject_id: Option<String>,
    visibility: String,
    viewers: String,
    user_id: Option<String>,
    channel_id: Option<String>,
    permission: Option<String>,
    actor_id: Option<String>,
    actor_name: String,
    data: String,
    staff_data: String,
    created_at: OffsetDateTime,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Event> {
        let parse = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| json!({}));
        Ok(Event {
            id: row.event_id,
            kind: row.kind,
            project_id: row.project_id,
            subject_id: row.subject_id,
            visibility: Visibility::parse(&row.visibility)?,
            viewers: Viewers::parse(&row.viewers)?,
            user_id: row.user_id,
            channel_id: row.channel_id,
            permission: row
                .permission
                .as_deref()
                .map(Permission::parse)
                .transpose()?,
            actor_id: row.actor_id,
            actor_name: row.actor_name,
            data: parse(&row.data),
            staff_data: parse(&row.staff_data),
            created_at: row.created_at,
        })
    }
}

/// Up to `limit` events after `cursor`, oldest first.
async fn read_after(tx: &mut Tx, cursor: i64, limit: i64) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from events where event_id > $1 order by event_id limit $2"
        ))
        .bind(cursor)
        .bind(limit)
        .fetch_all(conn)
        .await?
    });
    rows.into_iter().map(Event::try_from).collect()
}

/// The id of the newest event (0 when there is none).
async fn newest(tx: &mut Tx) -> Result<i64> {
    let id: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select max(event_id) from events")
            .fetch_one(conn)
            .await?
    });
    Ok(id.unwrap_or(0))
}

/// The events of one project that `viewer` may see, newest first, before `before` (an
/// event id), at most `limit`: the project's activity feed. The caller has entered the
/// project (so the viewer reaches it).
pub(crate) async fn of_project(
    tx: &mut Tx,
    viewer: &Principal,
    project_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>> {
    let client = viewer.kind() == UserKind::Client;
    let rows: Vec<EventRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from events
             where project_id = $1 and event_id < $2
               and (($3 = 'client' and visibility = 'client' and viewers in ('all', 'clients'))
                 or ($3 = 'staff' and viewers = 'all'))
               and (permission is null or $5 like '% ' || permission || ' %')
             order by event_id desc limit $4"
        ))
        .bind(project_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(if client { "client" } else { "staff" })
        .bind(limit)
        .bind(format!(" {} ", viewer.permissions().to_words()))
        .fetch_all(conn)
        .await?
    });
    rows.into_iter().map(Event::try_from).collect()
}

/// Removes events older than [`KEPT_DAYS`] (a background job); returns how many.
pub async fn prune(store: &TenantStore, at: OffsetDateTime) -> Result<u64> {
    let cutoff = at - time::Duration::days(KEPT_DAYS);
    let mut tx = store.write_uncached().await?;
    let removed = on_tx!(tx, |conn| {
        sqlx::query("delete from events where created_at < $1")
            .bind(cutoff)
            .execute(conn)
            .await?
            .rows_affected()
    });
    tx.commit().await?;
    Ok(removed)
}

/// The key under which a stream remembers whether its viewer is in a chat channel (beside
/// the projects it reaches).
fn channel_key(channel_id: &str) -> String {
    format!("channel:{channel_id}")
}

/// Whether `viewer`, who reaches the projects (and chat channels) in `reached`, sees
/// `event`.
fn visible(event: &Event, viewer: &Principal, reached: impl Fn(&str) -> bool) -> bool {
    let client = viewer.kind() == UserKind::Client;
    let in_reach = || event.project_id.as_deref().map_or(!client, &reached);
    if let Some(permission) = event.permission
        && !viewer.permissions().contains(permission)
    {
        return false;
    }
    match event.viewers {
        Viewers::User => event.user_id.as_deref() == Some(viewer.user_id()),
        Viewers::Channel => {
            !client
                && event
                    .channel_id
                    .as_deref()
                    .is_some_and(|channel| reached(&channel_key(channel)))
        }
        Viewers::Clients => client && in_reach(),
        Viewers::All => (!client || event.visibility == Visibility::Client) && in_reach(),
    }
}

/// The recent events of one opened store and the signals its streams wait on (see the
/// module's text).
#[derive(Debug)]
pub(crate) struct EventHub {
    /// Counts pokes: something may have been appended.
    pokes: watch::Sender<u64>,
    /// Counts changes to users, roles, teams and settings: streams check their user again.
    people: watch::Sender<u64>,
    /// One reader at a time refreshes the ring.
    scan: tokio::sync::Mutex<Scan>,
    ring: Mutex<Ring>,
    /// Open streams per user.
    streams: Arc<Mutex<HashMap<String, usize>>>,
}

#[derive(Debug, Default)]
struct Scan {
    /// The poke count the last refresh began at.
    seen: u64,
    at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Ring {
    /// Every event up to this id is in `events` or older than `floor`; `None` before the
    /// first refresh.
    known: Option<i64>,
    /// Events after this id are all in `events` (up to `known`).
    floor: i64,
    events: VecDeque<Arc<Event>>,
}

impl EventHub {
    pub(crate) fn new() -> Self {
        EventHub {
            pokes: watch::Sender::new(0),
            people: watch::Sender::new(0),
            scan: tokio::sync::Mutex::new(Scan::default()),
            ring: Mutex::new(Ring::default()),
            streams: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Something may have been appended (a local commit, or another server's notice).
    pub(crate) fn poke(&self) {
        self.pokes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Users, roles, teams or settings changed.
    pub(crate) fn people_changed(&self) {
        self.people.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The newest event this hub has read, if it has read any (to skip a notice of one
    /// already seen).
    pub(crate) fn known(&self) -> Option<i64> {
        self.ring.lock().ok().and_then(|ring| ring.known)
    }

    /// Reads what is new into the ring, unless it was read since the last poke and less
    /// than [`CATCH_UP`] ago: however many streams wake at once, one reads.
    async fn refresh(&self, store: &TenantStore) -> Result<()> {
        let mut scan = self.scan.lock().await;
        let pokes = *self.pokes.borrow();
        if scan.seen == pokes && scan.at.is_some_and(|at| at.elapsed() < CATCH_UP) {
            return Ok(());
        }
        let known = self.known();
        let mut tx = store.read().await?;
        match known {
            None => {
                let newest = newest(&mut tx).await?;
                if let Ok(mut ring) = self.ring.lock() {
                    ring.known = Some(newest);
                    ring.floor = newest;
                }
            }
            Some(mut known) => loop {
                let batch = read_after(&mut tx, known, BATCH).await?;
                let full = batch.len() as i64 == BATCH;
                let Ok(mut ring) = self.ring.lock() else {
                    break;
                };
                for event in batch {
                    known = event.id;
                    ring.events.push_back(Arc::new(event));
                    if ring.events.len() > RING
                        && let Some(old) = ring.events.pop_front()
                    {
                        ring.floor = old.id;
                    }
                }
                ring.known = Some(known);
                if !full {
                    break;
                }
            },
        }
        scan.seen = pokes;
        scan.at = Some(Instant::now());
        Ok(())
    }

    /// The events after `cursor` from memory, or `None` when the ring does not reach back
    /// that far.
    fn after(&self, cursor: i64) -> Option<Vec<Arc<Event>>> {
        let ring = self.ring.lock().ok()?;
        ring.known?;
        if cursor < ring.floor {
            return None;
        }
        let start = ring.events.partition_point(|e| e.id <= cursor);
        Some(ring.events.range(start..).cloned().collect())
    }

    /// A place for one more stream of `user_id`, or an error past [`STREAMS_PER_USER`].
    fn open_stream(&self, user_id: &str) -> Result<StreamSlot> {
        let mut streams = self
            .streams
            .lock()
            .map_err(|_| Error::TooManyStreams("live updates are not available".to_owned()))?;
        let open = streams.entry(user_id.to_owned()).or_default();
        if *open >= STREAMS_PER_USER {
            return Err(Error::TooManyStreams(format!(
                "you have {STREAMS_PER_USER} live-update streams open already: close a tab or try again in a moment"
            )));
        }
        *open += 1;
        Ok(StreamSlot {
            streams: Arc::clone(&self.streams),
            user_id: user_id.to_owned(),
        })
    }
}

/// One open stream's place in the per-user count, given back on drop.
#[derive(Debug)]
struct StreamSlot {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    user_id: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut streams) = self.streams.lock()
            && let Some(open) = streams.get_mut(&self.user_id)
        {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.user_id);
            }
        }
    }
}

/// What a stream yields next.
#[derive(Debug)]
pub enum Next {
    /// Events the viewer may see, oldest first, each with its JSON for them.
    Events(Vec<(i64, Value)>),
    /// Nothing new for a while: a heartbeat keeps the connection open.
    Heartbeat,
    /// The stream is over (the user's access changed, or the server is stopping).
    End,
}

/// A credential kept by a stream to check its user again.
#[derive(Debug, Clone)]
pub enum Credential {
    /// The session cookie's value.
    Session(String),
    /// A bearer token.
    Token(String),
}

impl Credential {
    fn presented(&self) -> Presented<'_> {
        match self {
            Credential::Session(secret) => Presented::Session(secret),
            Credential::Token(secret) => Presented::Token(secret),
        }
    }
}

/// One viewer's stream of the events they may see.
#[derive(Debug)]
pub struct Follower {
    store: TenantStore,
    hub: Arc<EventHub>,
    credential: Credential,
    principal: Principal,
    cursor: i64,
    /// Whether the viewer reaches a project, as last checked (forgotten when people or
    /// projects' members change).
    reach: HashMap<String, bool>,
    pokes: watch::Receiver<u64>,
    people: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    next_heartbeat: tokio::time::Instant,
    _slot: StreamSlot,
}

/// Opens `principal`'s stream (authenticated by `credential` a moment ago) after the
/// event `after` (`Last-Event-ID`; an id newer than the newest is taken as the newest), or
/// from now.
#[tracing::instrument(skip_all)]
pub async fn follow(
    store: &TenantStore,
    principal: Principal,
    credential: Credential,
    after: Option<&str>,
) -> Result<Follower> {
    let hub = Arc::clone(&store.cached.fresh.events);
    let slot = hub.open_stream(principal.user_id())?;
    let newest = {
        let mut tx = store.read().await?;
        newest(&mut tx).await?
    };
    let cursor = match after.map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|id| *id >= 0)
            .ok_or_else(|| {
                Error::field(
                    "last_event_id",
                    format!("'{text}' is not an event id: use the id of the last event received"),
                )
            })?
            .min(newest),
        None => newest,
    };
    let mut pokes = hub.pokes.subscribe();
    pokes.mark_changed();
    Ok(Follower {
        store: store.clone(),
        people: hub.people.subscribe(),
        closing: store.cached.caches.closing(),
        hub,
        credential,
        principal,
        cursor,
        reach: HashMap::new(),
        pokes,
        next_heartbeat: tokio::time::Instant::now() + HEARTBEAT,
        _slot: slot,
    })
}

impl Follower {
    /// The id of the last event this stream has passed (sent or not the viewer's to see).
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Waits for what comes next: events the viewer may see, a heartbeat, or the end.
    pub async fn next(&mut self) -> Next {
        loop {
            if *self.closing.borrow() {
                return Next::End;
            }
            // Due even while events keep coming: the user is checked again at least this
            // often (a session's time limits, a token's expiry).
            if tokio::time::Instant::now() >= self.next_heartbeat {
                return self.heartbeat().await;
            }
            match self.deliverable().await {
                Ok(Some(events)) => return Next::Events(events),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "a live-update stream stopped");
                    return Next::End;
                }
            }
            let catch_up = tokio::time::sleep(CATCH_UP);
            tokio::select! {
                changed = self.pokes.changed() => if changed.is_err() { return Next::End },
                changed = self.people.changed() => {
                    if changed.is_err() || !self.still_allowed().await {
                        return Next::End;
                    }
                }
                _ = self.closing.changed() => return Next::End,
                () = tokio::time::sleep_until(self.next_heartbeat) => return self.heartbeat().await,
                () = catch_up => {}
            }
        }
    }

    /// The heartbeat, once the user is checked again (or the end, if they may no longer
    /// follow the stream).
    async fn heartbeat(&mut self) -> Next {
        self.next_heartbeat = tokio::time::Instant::now() + HEARTBEAT;
        if self.still_allowed().await {
            Next::Heartbeat
        } else {
            Next::End
        }
    }

    /// Whether the stream's user may still follow it as they opened it: signed in, not
    /// deactivated, with the same kind, company and permissions. Forgets what it knew of
    /// their reach.
    async fn still_allowed(&mut self) -> bool {
        self.reach.clear();
        let address = self.principal.address().to_owned();
        match sessions::recheck(&self.store, self.credential.presented(), &address).await {
            Ok(now) => {
                now.user_id() == self.principal.user_id()
                    && now.kind() == self.principal.kind()
                    && now.company_id() == self.principal.company_id()
                    && now.permissions() == self.principal.permissions()
                    && now.must_set_up_totp() == self.principal.must_set_up_totp()
            }
            Err(_) => false,
        }
    }

    /// The next events after the cursor the viewer may see; `None` when there are none
    /// yet (the cursor has moved past any they may not).
    async fn deliverable(&mut self) -> Result<Option<Vec<(i64, Value)>>> {
        self.hub.refresh(&self.store).await?;
        loop {
            let batch: Vec<Arc<Event>> = match self.hub.after(self.cursor) {
                Some(batch) => batch,
                None => {
                    let mut tx = self.store.read().await?;
                    read_after(&mut tx, self.cursor, BATCH)
                        .await?
                        .into_iter()
                        .map(Arc::new)
                        .collect()
                }
            };
            let Some(last) = batch.last().map(|e| e.id) else {
                return Ok(None);
            };
            self.learn_reach(&batch).await?;
            let shown: Vec<(i64, Value)> = batch
                .iter()
                .filter(|event| {
                    visible(event, &self.principal, |project| {
                        self.reach.get(project).copied().unwrap_or(false)
                    })
                })
                .map(|event| (event.id, event.view(&self.principal)))
                .collect();
            self.cursor = last;
            if !shown.is_empty() {
                return Ok(Some(shown));
            }
        }
    }

    /// Checks the viewer's reach of the batch's projects it does not know yet; a change of
    /// a project's members or company makes it forget what it knew.
    async fn learn_reach(&mut self, batch: &[Arc<Event>]) -> Result<()> {
        if batch.iter().any(|e| e.kind.starts_with("project.")) {
            self.reach.clear();
        }
        if batch.iter().any(|e| e.kind.starts_with("chat.channel")) {
            self.reach.retain(|key, _| !key.starts_with("channel:"));
        }
        let mut unknown: Vec<&str> = batch
            .iter()
            .filter_map(|e| e.project_id.as_deref())
            .filter(|p| !self.reach.contains_key(*p))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        let mut channels: Vec<&str> = batch
            .iter()
            .filter_map(|e| e.channel_id.as_deref())
            .filter(|c| !self.reach.contains_key(&channel_key(c)))
            .collect();
        channels.sort_unstable();
        channels.dedup();
        if unknown.is_empty() && channels.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.read().await?;
        for channel in channels {
            let member = crate::talk::chat::is_member(&mut tx, &self.principal, channel).await?;
            self.reach.insert(channel_key(channel), member);
        }
        for chunk in unknown.chunks(200) {
            let reached = projects::reached(&mut tx, &self.principal, chunk).await?;
            for project in chunk {
                let reaches = reached.iter().any(|r| r == project);
                self.reach.insert((*project).to_owned(), reaches);
            }
        }
        Ok(())
    }
}

/// This module's tables in backups.
pub(crate) const BACKUP: &[Table] = &[(
    "events",
    &[
        ("event_id", Column::Integer),
        ("kind", Column::Text),
        ("project_id", Column::OptionalText),
        ("subject_id", Column::OptionalText),
        ("visibility", Column::Text),
        ("viewers", Column::Text),
        ("user_id", Column::OptionalText),
        ("channel_id", Column::OptionalText),
        ("permission", Column::OptionalText),
        ("actor_id", Column::OptionalText),
        ("actor_name", Column::Text),
        ("data", Column::Text),
        ("staff_data", Column::Text),
        ("created_at", Column::Time),
        ("updated_at", Column::Time),
    ],
)];

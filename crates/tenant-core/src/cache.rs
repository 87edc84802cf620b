//! What nearly every request reads, kept in memory (moka): a brand's look and the settings
//! read on every page, who is behind a session cookie or an access token, and answers
//! that depend on nothing but a store's data ([`crate::TenantStore::remembered`]).
//!
//! # Never stale
//! Every tenant store has a [`Freshness`]: a generation number that changes when a
//! transaction that may change what a cache holds commits (every write transaction, unless
//! it is begun as one that no cache reads: work items, the mail outbox, a session's last
//! use). Each cached value is stamped with the generation read *before* the value was
//! loaded, and is used only while the store's generation is still that one. So a change
//! (a deactivation, a role change, a sign-out, a new look) applies to the very next request
//! in this process, without anyone having to name which entries it touches. Generations
//! come from one counter for the whole process and are never reused, so a store that was
//! closed and opened again never matches values cached before.
//!
//! Other processes: with PostgreSQL, a transaction that bumps the generation also sends
//! `NOTIFY` (delivered only if it commits), and every server follows the channel
//! ([`crate::Platform::follow_changes`]); until it follows it, or while its connection is
//! lost, it trusts no cached value. SQLite stores are served by one process.
//!
//! What is checked on every use, cached or not: a session's idle and absolute limits, a
//! token's expiry and a user's access-expiry date, all against the clock of the request.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use tokio::sync::watch;

use crate::accounts::sessions::Signed;
use crate::brand::branding::Look;
use crate::events::EventHub;

/// The channel PostgreSQL servers tell each other about changes on (payload: the schema).
pub(crate) const CHANGES_CHANNEL: &str = "tasksession_changes";

/// Cached entries unused this long are let go (they would be loaded again on use).
const IDLE: Duration = Duration::from_secs(15 * 60);

static GENERATIONS: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, Ordering::Relaxed)
}

/// How current the cached values of one opened store are (see the module's text).
#[derive(Debug)]
pub(crate) struct Freshness {
    /// Which opened store this is, for cache keys: never reused within the process.
    id: u64,
    /// Replaced by every commit that may change what the caches of looks, settings and
    /// sign-ins hold.
    generation: AtomicU64,
    /// Replaced by every commit of any write at all (what remembered answers are
    /// stamped with).
    data: AtomicU64,
    /// The store's recent events and its live-update streams' signals.
    pub(crate) events: Arc<EventHub>,
}

impl Freshness {
    pub(crate) fn new() -> Arc<Self> {
        let generation = next_generation();
        Arc::new(Freshness {
            id: generation,
            generation: AtomicU64::new(generation),
            data: AtomicU64::new(generation),
            events: Arc::new(EventHub::new()),
        })
    }

    /// The store's key in the caches.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Something cached of this store may have changed: nothing cached before is used again.
    pub(crate) fn changed(&self) {
        self.generation.store(next_generation(), Ordering::Release);
        self.data_changed();
        self.events.people_changed();
    }

    /// Data no cache of looks, settings or sign-ins holds has changed: remembered answers
    /// are not used again.
    pub(crate) fn data_changed(&self) {
        self.data.store(next_generation(), Ordering::Release);
    }
}

/// A cached value and the generation of its store when it was loaded.
#[derive(Debug, Clone)]
pub(crate) struct Stamped<V> {
    generation: u64,
    value: V,
}

/// The key of a session or token in [`Caches::principals`]: the opened store, whether it is
/// a session (`true`) or a token, and the SHA-256 of the secret.
pub(crate) type SecretKey = (u64, bool, [u8; 32]);

/// The process's caches, shared by every brand (bounded, so 10,000 brands cost no more
/// than their busy part).
#[derive(Debug)]
pub struct Caches {
    /// Whether cached values may be used: always with SQLite; with PostgreSQL only while
    /// this process follows other servers' changes.
    trusted: AtomicBool,
    /// Who this process is in the notifications it sends (so it skips its own, which it
    /// has applied at commit already).
    origin: u64,
    pub(crate) looks: Cache<u64, Stamped<Arc<(String, Look)>>>,
    pub(crate) custom_email: Cache<u64, Stamped<bool>>,
    pub(crate) principals: Cache<SecretKey, Stamped<Arc<Signed>>>,
    pub(crate) answers: Cache<(u64, String), Stamped<Arc<Vec<u8>>>>,
    /// Turns true when the server stops: live-update streams end.
    closing: watch::Sender<bool>,
}

/// At most this many bytes of remembered answers are kept, for every brand together.
const ANSWER_BYTES: u64 = 16 * 1024 * 1024;

impl Caches {
    pub(crate) fn new(trusted: bool) -> Self {
        let mut origin = [0u8; 8];
        // A clash (or a failed draw) only costs the other process some cache misses.
        let _ = getrandom::fill(&mut origin);
        Caches {
            trusted: AtomicBool::new(trusted),
            origin: u64::from_le_bytes(origin),
            looks: Cache::builder()
                .max_capacity(20_000)
                .time_to_idle(IDLE)
                .build(),
            custom_email: Cache::builder()
                .max_capacity(20_000)
                .time_to_idle(IDLE)
                .build(),
            principals: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(IDLE)
                .build(),
            answers: Cache::builder()
                .weigher(|key: &(u64, String), answer: &Stamped<Arc<Vec<u8>>>| {
                    let bytes = key.1.len() + answer.value.len();
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .max_capacity(ANSWER_BYTES)
                .time_to_idle(IDLE)
                .build(),
            closing: watch::Sender::new(false),
        }
    }

    /// What live-update streams watch to end when the server stops.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every live-update stream (the server is stopping).
    pub(crate) fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Uses cached values from now on (changes elsewhere are followed), or stops using
    /// them and forgets them (they could not be followed).
    pub(crate) fn trust(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::Release);
        self.looks.invalidate_all();
        self.custom_email.invalidate_all();
        self.principals.invalidate_all();
        self.answers.invalidate_all();
    }

    pub(crate) fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// The payload of the notification a change to the store of `schema` sends (`all`:
    /// it may change what every cache holds; else only remembered answers).
    pub(crate) fn notice(&self, schema: &str, all: bool) -> String {
        let what = if all { "all" } else { "data" };
        format!("{:016x} {schema} {what}", self.origin)
    }

    /// The start of the notification an event appended to the store of `schema` sends
    /// (the event's id follows).
    pub(crate) fn event_notice(&self, schema: &str) -> String {
        format!("{:016x} {schema} event", self.origin)
    }

    /// What a notification another process sent says, or `None` for this process's own
    /// (or an unknown payload).
    pub(crate) fn noticed<'a>(&self, payload: &'a str) -> Option<Notice<'a>> {
        let mut words = payload.split(' ');
        let origin = u64::from_str_radix(words.next()?, 16).ok()?;
        let schema = words.next()?;
        let notice = match words.next() {
            Some("event") => Notice::Event {
                schema,
                id: words.next()?.parse().ok()?,
            },
            what => Notice::Changed {
                schema,
                all: what != Some("data"),
            },
        };
        (origin != self.origin).then_some(notice)
    }
}

/// What another server told about a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice<'a> {
    /// A write committed: every cache (`all`) or only remembered answers are stale.
    Changed { schema: &'a str, all: bool },
    /// An event was appended.
    Event { schema: &'a str, id: i64 },
}

/// One store's view of the caches: where its values are looked up and kept.
#[derive(Debug, Clone)]
pub(crate) struct StoreCaches {
    pub(crate) fresh: Arc<Freshness>,
    pub(crate) caches: Arc<Caches>,
}

/// The generation a value about to be loaded is stamped with, or `None` when cached values
/// are not to be used now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp(Option<u64>);

impl StoreCaches {
    /// Takes the stamp for a value about to be loaded: before loading, so a change that
    /// commits meanwhile makes the value unusable rather than kept.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp(self.caches.trusted().then(|| self.fresh.generation()))
    }

    /// [`StoreCaches::stamp`] for remembered answers, which any write makes unusable.
    pub(crate) fn data_stamp(&self) -> Stamp {
        Stamp(
            self.caches
                .trusted()
                .then(|| self.fresh.data.load(Ordering::Acquire)),
        )
    }

    /// The cached value under `key`, if it is of the store's current generation.
    pub(crate) fn get<K, V>(&self, cache: &Cache<K, Stamped<V>>, key: &K) -> Option<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.get_at(cache, key, self.stamp())
    }

    /// The cached value under `key`, if it was stamped with `now`.
    pub(crate) fn get_at<K, V>(
        &self,
        cache: &Cache<K, Stamped<V>>,
        key: &K,
        now: Stamp,
    ) -> Option<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let Stamp(Some(generation)) = now else {
            return None;
        };
        cache
            .get(key)
            .filter(|entry| entry.generation == generation)
            .map(|entry| entry.value)
    }

    /// Keeps `value`, loaded after `stamp` was taken.
    pub(crate) fn keep<K, V>(&self, cache: &Cache<K, Stamped<V>>, key: K, stamp: Stamp, value: V)
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if let Stamp(Some(generation)) = stamp {
            cache.insert(key, Stamped { generation, value });
        }
    }

    /// The store's key in the caches.
    pub(crate) fn id(&self) -> u64 {
        self.fresh.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(trusted: bool) -> StoreCaches {
        StoreCaches {
            fresh: Freshness::new(),
            caches: Arc::new(Caches::new(trusted)),
        }
    }

    #[test]
    fn a_value_is_used_until_its_store_changes() {
        let store = store(true);
        let stamp = store.stamp();
        store.keep(&store.caches.custom_email, store.id(), stamp, true);
        assert_eq!(
            store.get(&store.caches.custom_email, &store.id()),
            Some(true)
        );
        store.fresh.changed();
        assert_eq!(store.get(&store.caches.custom_email, &store.id()), None);
    }

    #[test]
    fn a_value_loaded_while_a_change_committed_is_never_used() {
        let store = store(true);
        let stamp = store.stamp();
        // The change commits after the stamp was taken, before the value is kept.
        store.fresh.changed();
        store.keep(&store.caches.custom_email, store.id(), stamp, true);
        assert_eq!(store.get(&store.caches.custom_email, &store.id()), None);
    }

    #[test]
    fn a_reopened_store_never_sees_values_of_the_old_one() {
        let caches = Arc::new(Caches::new(true));
        let old = StoreCaches {
            fresh: Freshness::new(),
            caches: Arc::clone(&caches),
        };
        old.keep(&caches.custom_email, 7, old.stamp(), true);
        let reopened = StoreCaches {
            fresh: Freshness::new(),
            caches,
        };
        assert_eq!(reopened.get(&reopened.caches.custom_email, &7), None);
    }

    #[test]
    fn nothing_is_used_or_kept_while_changes_elsewhere_are_not_followed() {
        let store = store(false);
        store.keep(&store.caches.custom_email, store.id(), store.stamp(), true);
        assert_eq!(
            store.caches.custom_email.get(&store.id()).map(|e| e.value),
            None
        );
        store.caches.trust(true);
        store.keep(&store.caches.custom_email, store.id(), store.stamp(), true);
        assert_eq!(
            store.get(&store.caches.custom_email, &store.id()),
            Some(true)
        );
        store.caches.trust(false);
        assert_eq!(store.get(&store.caches.custom_email, &store.id()), None);
    }
}

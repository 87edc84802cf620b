//! Store faults as the operator sees them: while a brand's store cannot be used, every
//! request to it is answered 503, but the log says so once per burst (the first failure,
//! then a count at most once a minute) and once more when the store works again, so a
//! failing disk does not bury the log under one line per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a burst that goes on is logged again.
const REPEAT_EVERY: Duration = Duration::from_secs(60);

/// The brands whose store is failing now.
#[derive(Debug, Default)]
pub struct StoreFaults {
    /// Whether any brand is failing (so healthy requests take no lock).
    any: AtomicBool,
    bursts: Mutex<HashMap<String, Burst>>,
}

#[derive(Debug)]
struct Burst {
    since: Instant,
    logged: Instant,
    failed: u64,
    unlogged: u64,
}

impl StoreFaults {
    /// A request to `domain` failed because its store could not be used, for `cause`.
    pub fn failed(&self, domain: &str, cause: &str) {
        let Ok(mut bursts) = self.bursts.lock() else {
            return;
        };
        self.any.store(true, Ordering::Release);
        let now = Instant::now();
        match bursts.get_mut(domain) {
            None => {
                tracing::error!(
                    %domain,
                    %cause,
                    "brand store unavailable: its requests are answered 503 until it works again"
                );
                bursts.insert(
                    domain.to_owned(),
                    Burst {
                        since: now,
                        logged: now,
                        failed: 1,
                        unlogged: 0,
                    },
                );
            }
            Some(burst) => {
                burst.failed += 1;
                burst.unlogged += 1;
                if now.duration_since(burst.logged) >= REPEAT_EVERY {
                    tracing::error!(
                        %domain,
                        %cause,
                        failed_since_last_report = burst.unlogged,
                        failing_for_s = now.duration_since(burst.since).as_secs(),
                        "brand store still unavailable"
                    );
                    burst.logged = now;
                    burst.unlogged = 0;
                }
            }
        }
    }

    /// A request to `domain` was served by its store: ends a burst if one was going on.
    pub fn served(&self, domain: &str) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut bursts) = self.bursts.lock() else {
            return;
        };
        if let Some(burst) = bursts.remove(domain) {
            tracing::info!(
                %domain,
                failed_requests = burst.failed,
                failing_for_s = burst.since.elapsed().as_secs(),
                "brand store works again"
            );
        }
        if bursts.is_empty() {
            self.any.store(false, Ordering::Release);
        }
    }

    /// Whether `domain`'s store failed last time it was used.
    pub fn failing(&self, domain: &str) -> bool {
        self.any.load(Ordering::Acquire)
            && self
                .bursts
                .lock()
                .is_ok_and(|bursts| bursts.contains_key(domain))
    }
}

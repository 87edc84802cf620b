//! Sign-in throttling per client address and per account (`[limits]
//! sign_in_per_minute_per_address`, `sign_in_per_minute_per_account`), in fixed one-minute
//! windows kept in memory. Every attempt counts against the address; only failed attempts
//! count against the account. Following OWASP's advice against lock-out by strangers, an
//! attempt from a device the account has signed in from before (it carries that account's
//! device cookie, see `session::device_cookie`) is not held to the account's limit, and its
//! failures do not count against it: five wrong passwords from anywhere else never keep
//! the owner out. Password reset requests are counted apart from sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many keys, expired windows are swept on the next attempt.
const SWEEP_AT: usize = 10_000;

/// Limits per minute; zero turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Attempts per client address.
    pub per_address: u32,
    /// Failed attempts per account.
    pub per_account: u32,
}

/// The counters.
#[derive(Debug)]
pub struct SignInLimiter {
    limits: SignInLimits,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl SignInLimiter {
    /// A limiter with no attempts counted.
    pub fn new(limits: SignInLimits) -> Self {
        SignInLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn seconds_left(start: Instant, now: Instant) -> u64 {
        WINDOW.saturating_sub(now - start).as_secs().max(1)
    }

    /// Counts an attempt from `address` for `account` (both already scoped to one tenant);
    /// `Err(seconds)` when either is over its limit. A `trusted` device (one the account
    /// signed in from before) is held to the address limit only.
    pub fn attempt(&self, address: &str, account: &str, trusted: bool) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        if windows.len() > SWEEP_AT {
            windows.retain(|_, (start, _)| now - *start < WINDOW);
        }
        if self.limits.per_account > 0
            && !trusted
            && let Some((start, count)) = windows.get(&format!("account {account}"))
            && now - *start < WINDOW
            && *count >= self.limits.per_account
        {
            return Err(Self::seconds_left(*start, now));
        }
        if self.limits.per_address > 0 {
            let entry = windows
                .entry(format!("address {address}"))
                .or_insert((now, 0));
            if now - entry.0 >= WINDOW {
                *entry = (now, 0);
            }
            if entry.1 >= self.limits.per_address {
                return Err(Self::seconds_left(entry.0, now));
            }
            entry.1 += 1;
        }
        Ok(())
    }

    /// Counts a failed attempt against `account`.
    pub fn failed(&self, account: &str) {
        if self.limits.per_account == 0 {
            return;
        }
        let now = Instant::now();
        if let Ok(mut windows) = self.windows.lock() {
            let entry = windows
                .entry(format!("account {account}"))
                .or_insert((now, 0));
            if now - entry.0 >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_stopped_after_its_limit_and_others_are_not() {
        let limiter = SignInLimiter::new(SignInLimits {
            per_address: 3,
            per_account: 0,
        });
        for _ in 0..3 {
            assert!(limiter.attempt("a", "x", false).is_ok());
        }
        let wait = limiter.attempt("a", "y", false).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(
            limiter.attempt("a", "y", true).is_err(),
            "a device is no way round it"
        );
        assert!(limiter.attempt("b", "x", false).is_ok());
    }

    #[test]
    fn only_failures_count_against_an_account() {
        let limiter = SignInLimiter::new(SignInLimits {
            per_address: 0,
            per_account: 2,
        });
        for _ in 0..5 {
            assert!(limiter.attempt("a", "acct", false).is_ok());
        }
        limiter.failed("acct");
        limiter.failed("acct");
        assert!(
            limiter.attempt("b", "acct", false).is_err(),
            "from any address"
        );
        assert!(limiter.attempt("b", "other", false).is_ok());
    }

    #[test]
    fn a_device_the_account_signed_in_from_is_not_locked_out_by_others_failures() {
        let limiter = SignInLimiter::new(SignInLimits {
            per_address: 0,
            per_account: 2,
        });
        limiter.failed("acct");
        limiter.failed("acct");
        assert!(limiter.attempt("stranger", "acct", false).is_err());
        assert!(limiter.attempt("owner", "acct", true).is_ok());
    }
}

//! Test-only pauses at named points of multi-step work, so a test can kill the process at
//! exactly that moment. Compiled in only with the `fault-injection` feature (never in a
//! release build); the point to pause at is read from `TS_FAULT_PAUSE_AT`.

/// Blocks forever when `TS_FAULT_PAUSE_AT` names `point`, after announcing it on stderr.
#[cfg(feature = "fault-injection")]
pub fn pause_at(point: &str) {
    if std::env::var("TS_FAULT_PAUSE_AT").as_deref() == Ok(point) {
        eprintln!("paused at {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Does nothing without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
pub fn pause_at(_point: &str) {}

//! The platform's licence: reading the installed file, judging it at the current time, and
//! the `licence show|verify|install` commands.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use licensing::{Keyring, Licence, LicenceState, Verdict};
use tenant_core::Standing;
use tenant_core::platform::entitlement::DEVELOPMENT_NAMES;
use time::OffsetDateTime;

use crate::config::Config;
use crate::outcome::{Failure, Outcome};

/// Reads a licence file. `Ok(None)` only when `allow_missing` and it does not exist.
fn read_licence_file(path: &Path, allow_missing: bool) -> Result<Option<Vec<u8>>, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if allow_missing && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::BadInput(format!(
            "cannot read licence file {}: {e}",
            path.display()
        ))),
    }
}

/// Judges licence bytes now (never earlier than `last_seen`), turning an invalid file into
/// a failure naming `path`.
fn judge(
    bytes: &[u8],
    path: &Path,
    last_seen: Option<OffsetDateTime>,
) -> Result<Standing, Failure> {
    let assessment = licensing::assess(
        bytes,
        OffsetDateTime::now_utc(),
        last_seen,
        &Keyring::builtin(),
    );
    if let Some(warning) = assessment.clock_warning {
        tracing::warn!(%warning, "system clock");
    }
    match assessment.verdict {
        Verdict::Invalid { reason } => Err(Failure::BadInput(format!(
            "licence {} is invalid: {reason}",
            path.display()
        ))),
        Verdict::Valid { licence } => Ok(Standing::Licensed {
            licence,
            state: LicenceState::Valid,
        }),
        Verdict::Grace { licence, days_left } => Ok(Standing::Licensed {
            licence,
            state: LicenceState::Grace { days_left },
        }),
        Verdict::Expired { licence } => Ok(Standing::Licensed {
            licence,
            state: LicenceState::Expired,
        }),
    }
}

/// The standing of the installed licence (development mode when there is no file), judged
/// no earlier than `last_seen`, the latest time the platform has seen.
pub fn installed_standing(
    config: &Config,
    last_seen: Option<OffsetDateTime>,
) -> Result<Standing, Failure> {
    let path = config.licence_path();
    match read_licence_file(&path, true)? {
        None => Ok(Standing::Development),
        Some(bytes) => judge(&bytes, &path, last_seen),
    }
}

/// The standing of `file`, or of the installed licence.
fn standing_of(config: &Config, file: Option<&Path>) -> Result<(Standing, PathBuf), Failure> {
    match file {
        Some(file) => {
            let bytes = read_licence_file(file, false)?.unwrap_or_default();
            Ok((judge(&bytes, file, None)?, file.to_owned()))
        }
        None => Ok((installed_standing(config, None)?, config.licence_path())),
    }
}

/// The lines `show` and `verify` print.
pub fn describe(standing: &Standing, path: &Path) -> String {
    let Standing::Licensed { licence, state } = standing else {
        return format!(
            "no licence installed at {}: development mode (up to 5 domains named {DEVELOPMENT_NAMES})\n",
            path.display()
        );
    };
    let domains = if licence.domains.is_empty() {
        format!("{} (any names)", licence.max_domains)
    } else {
        format!(
            "{} (bound to {})",
            licence.max_domains,
            licence.domains.join(", ")
        )
    };
    let today = OffsetDateTime::now_utc().date();
    let expires = match licence.expires_at {
        None => "never".to_owned(),
        Some(date) => {
            let days = (date - today).whole_days();
            match days {
                d if d > 1 => format!("{date} (in {d} days)"),
                1 => format!("{date} (tomorrow)"),
                0 => format!("{date} (today)"),
                d => format!("{date} ({} days ago)", -d),
            }
        }
    };
    let state = match state {
        LicenceState::Valid => "valid".to_owned(),
        LicenceState::Grace { .. } => format!(
            "{state}: everything works; install a renewed licence before the brands become read-only"
        ),
        LicenceState::Expired => {
            "expired: every brand is read-only until a renewed licence is installed".to_owned()
        }
    };
    let rows = [
        ("licence", licence.id.clone()),
        ("licensee", licence.licensee.clone()),
        ("plan", licence.plan.to_string()),
        ("domains", domains),
        ("issued", licence.issued_at.to_string()),
        ("expires", expires),
        ("state", state),
        ("key", licence.key_id.to_string()),
        ("file", path.display().to_string()),
    ];
    rows.iter()
        .map(|(name, value)| format!("{name:<10}{value}\n"))
        .collect()
}

/// Says that `licence` is past its grace period, followed by `remedy`.
fn expired_message(licence: &Licence, remedy: &str) -> String {
    let expired = licence
        .expires_at
        .map_or_else(String::new, |date| format!(" on {date}"));
    format!(
        "the licence expired{expired} and its {}-day grace period has ended; {remedy}",
        licensing::GRACE_DAYS
    )
}

/// `licence show [FILE]`: prints the licence; fails only on an unreadable or invalid file.
pub fn show(config: &Config, file: Option<&Path>) -> Outcome {
    let (standing, path) = standing_of(config, file)?;
    print!("{}", describe(&standing, &path));
    Ok(())
}

/// `licence verify [FILE]`: prints the licence; exit 0 valid or grace, 1 expired or none.
pub fn verify(config: &Config, file: Option<&Path>) -> Outcome {
    let (standing, path) = standing_of(config, file)?;
    print!("{}", describe(&standing, &path));
    match standing {
        Standing::Development => Err(Failure::Refused(format!(
            "no licence is installed at {}; install one with 'tasksession licence install FILE'",
            path.display()
        ))),
        Standing::Licensed {
            licence,
            state: LicenceState::Expired,
        } => Err(Failure::Refused(expired_message(
            &licence,
            "brands are read-only until a renewed licence is installed with 'tasksession licence install FILE'",
        ))),
        Standing::Licensed { .. } => Ok(()),
    }
}

/// `licence install FILE`: verifies, then atomically replaces the installed licence.
pub fn install(config: &Config, file: &Path) -> Outcome {
    let bytes = read_licence_file(file, false)?.unwrap_or_default();
    let standing = judge(&bytes, file, None)?;
    if let Standing::Licensed {
        licence,
        state: LicenceState::Expired,
    } = &standing
    {
        return Err(Failure::Refused(format!(
            "not installed: {}",
            expired_message(licence, "ask the vendor for a renewed licence")
        )));
    }
    let target = config.licence_path();
    write_atomically(&target, &bytes).map_err(|e| {
        Failure::Refused(format!(
            "cannot install the licence at {}: {e}",
            target.display()
        ))
    })?;
    print!("{}", describe(&standing, &target));
    println!("installed; a running server applies it within seconds");
    Ok(())
}

/// Writes `bytes` to a temporary file beside `target`, syncs it, then renames it over
/// `target`, so a crash leaves either the old licence or the new one.
fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let temporary = dir.join(format!(
        ".{}.new",
        target
            .file_name()
            .map_or_else(|| "licence".into(), |name| name.to_string_lossy())
    ));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, target)?;
    if let Ok(dir) = std::fs::File::open(&dir) {
        dir.sync_all()?;
    }
    Ok(())
}

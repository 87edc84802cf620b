//! `tasksession backup` and `tasksession restore`: one brand to and from a portable file,
//! which is also how a brand moves between SQLite and PostgreSQL (back up with one
//! `database_url`, restore with the other).

use std::io::{BufReader, BufWriter};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use tenant_core::TenantState;
use tenant_core::accounts::users;
use tenant_core::platform::backup::{self, Summary};

use crate::config::Config;
use crate::domains::{parse_domain, with_platform};
use crate::outcome::{Failure, Outcome};
use crate::platform::failure;

fn spinner(verb: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("{verb}…"));
    bar
}

fn describe(summary: &Summary) -> String {
    let parts: Vec<String> = summary
        .rows
        .iter()
        .map(|(table, n)| format!("{n} {table}"))
        .collect();
    format!("{} ({} rows)", parts.join(", "), summary.total())
}

/// `backup --domain DOMAIN --out FILE`.
pub fn backup(config: &Config, domain: &str, out: &Path) -> Outcome {
    let domain = parse_domain(domain)?;
    let temporary = out.with_extension("partial");
    let summary = with_platform(config, async |platform, _standing| {
        let tenant = platform
            .tenant_by_domain(&domain)
            .await
            .map_err(failure)?
            .filter(|t| t.state != TenantState::Pending)
            .ok_or_else(|| {
                Failure::Refused(format!(
                    "no domain {domain}; 'tasksession domain list' shows the domains there are"
                ))
            })?;
        let store = platform.tenant_store(&tenant).await.map_err(failure)?;
        let file = std::fs::File::create(&temporary)
            .map_err(|e| Failure::Refused(format!("cannot create {}: {e}", temporary.display())))?;
        let mut writer = BufWriter::new(file);
        let bar = spinner("backing up");
        let result = backup::export(&tenant, &store, &mut writer, |rows| {
            bar.set_message(format!("backing up: {rows} rows"));
            bar.tick();
        })
        .await;
        bar.finish_and_clear();
        let summary = result.map_err(failure)?;
        let file = writer
            .into_inner()
            .map_err(|e| Failure::Refused(format!("cannot write {}: {e}", temporary.display())))?;
        file.sync_all()
            .map_err(|e| Failure::Refused(format!("cannot write {}: {e}", temporary.display())))?;
        Ok(summary)
    });
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
    };
    std::fs::rename(&temporary, out).map_err(|e| {
        Failure::Refused(format!("cannot move the backup to {}: {e}", out.display()))
    })?;
    println!(
        "backed up {domain}: {} to {}",
        describe(&summary),
        out.display()
    );
    Ok(())
}

/// `restore --domain DOMAIN --from FILE`.
pub fn restore(config: &Config, domain: &str, from: &Path) -> Outcome {
    let domain = parse_domain(domain)?;
    let open = || {
        std::fs::File::open(from)
            .map(BufReader::new)
            .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", from.display())))
    };
    let header = backup::read_header(&mut open()?)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", from.display())))?;
    with_platform(config, async |platform, standing| {
        if standing.read_only() {
            return Err(Failure::Refused(
                "the licence has expired and every brand is read-only; install a renewed licence to restore".to_owned(),
            ));
        }
        let existing = platform.tenant_by_domain(&domain).await.map_err(failure)?;
        let (tenant, created) = match existing {
            Some(tenant) => (tenant, false),
            None => (
                platform
                    .add_domain(&domain, &header.brand, standing)
                    .await
                    .map_err(failure)?,
                true,
            ),
        };
        let store = platform.restorable_store(&tenant).await.map_err(failure)?;
        if !created && users::count_users(&store).await.map_err(failure)? > 0 {
            return Err(Failure::Refused(format!(
                "{domain} already has users; restore only into an empty brand (restore under a new domain, or purge {domain} first)"
            )));
        }
        let mut input = open()?;
        backup::read_header(&mut input).map_err(failure)?;
        let bar = spinner("restoring");
        let result = backup::import(&store, &mut input, |rows| {
            bar.set_message(format!("restoring: {rows} rows"));
            bar.tick();
        })
        .await;
        bar.finish_and_clear();
        // A backup from a release that kept two-factor secrets in clear is sealed here.
        let result = match result {
            Ok(summary) => tenant_core::accounts::totp::seal_stored_secrets(&store)
                .await
                .map(|_| summary),
            Err(error) => Err(error),
        };
        match result {
            Ok(summary) => {
                println!(
                    "restored {} from {} into {domain}: {}",
                    header.domain,
                    from.display(),
                    describe(&summary)
                );
                Ok(())
            }
            Err(e) => {
                if created {
                    let undo = async {
                        platform
                            .set_state(&domain, TenantState::Removed, standing)
                            .await?;
                        platform.purge(&domain).await
                    };
                    if let Err(undo) = undo.await {
                        eprintln!(
                            "warning: could not remove the brand created for the restore: {undo}"
                        );
                    }
                }
                let failure = failure(e);
                Err(match failure {
                    Failure::BadInput(message) => Failure::BadInput(format!(
                        "{}: {message}; nothing was restored",
                        from.display()
                    )),
                    Failure::Refused(message) => Failure::Refused(message),
                })
            }
        }
    })
}

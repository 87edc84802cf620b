//! `tasksession migrate`: brings the platform store and every brand's store up to date,
//! with a progress bar. A brand whose migration fails is named and left at its last good
//! version while the others proceed; the exit code says that something failed.

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::outcome::{Failure, Outcome};
use crate::platform::{self, Opened};

/// Runs the migrations.
pub fn run(config: &Config) -> Outcome {
    platform::runtime()?.block_on(async {
        let Opened { platform, .. } = platform::open(config).await?;
        println!("platform store is up to date");
        let count = platform.tenants().await.map_err(platform::failure)?.len();
        let bar = ProgressBar::new(count as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} brands {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let report = platform
            .migrate_tenants(|entry| {
                bar.set_message(entry.tenant.domain.to_string());
                bar.inc(1);
            })
            .await
            .map_err(platform::failure);
        bar.finish_and_clear();
        platform.close().await;
        let report = report?;
        let mut failed = Vec::new();
        for entry in &report {
            match &entry.result {
                Ok(0) => println!("{}: up to date", entry.tenant.domain),
                Ok(n) => println!("{}: applied {n} migration(s)", entry.tenant.domain),
                Err(e) => {
                    println!("{}: FAILED: {e}", entry.tenant.domain);
                    failed.push(entry.tenant.domain.to_string());
                }
            }
        }
        if failed.is_empty() {
            println!("{} brand(s) up to date", report.len());
            Ok(())
        } else {
            Err(Failure::Refused(format!(
                "migration failed for {} of {} brand(s): {}; they stay at their last good version and are not served until fixed",
                failed.len(),
                report.len(),
                failed.join(", ")
            )))
        }
    })
}

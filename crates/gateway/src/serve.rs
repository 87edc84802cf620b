//! `tasksession serve`: check the licence before binding anything, then run the listeners
//! until SIGTERM or SIGINT.
//!
//! For now the operator listener answers `/healthz`; the public listeners, routing and
//! TLS are added by the gateway itself. The licence is judged again every hour while running.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use licensing::LicenceState;
use tokio::net::TcpListener;

use crate::config::Config;
use tenant_core::entitlement::DEVELOPMENT_NAMES;
use tenant_core::{Platform, Standing};
use time::OffsetDateTime;

use crate::licence;
use crate::outcome::{Failure, Outcome};
use crate::platform::{self, Opened};

/// How often the licence is judged again while running.
const LICENCE_RECHECK: Duration = Duration::from_secs(60 * 60);

/// Runs the platform until a shutdown signal.
pub fn run(config: Config) -> Outcome {
    // Judge the licence before touching any store or binding anything.
    licence::installed_standing(&config, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Refused(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let Opened { platform, standing } = platform::open(&config).await?;
        report_standing(&standing);
        if let Err(failure) = migrate_brands(&platform).await {
            platform.close().await;
            return Err(failure);
        }
        let platform = Arc::new(platform);
        let outcome = serve(config, Arc::clone(&platform), standing).await;
        platform.close().await;
        outcome
    })
}

/// Brings every brand's store up to date before serving. A store written by a newer release
/// stops the start; a brand whose migration fails is logged and not served.
async fn migrate_brands(platform: &Platform) -> Outcome {
    let report = platform
        .migrate_tenants(|_| {})
        .await
        .map_err(platform::failure)?;
    for entry in report {
        let domain = entry.tenant.domain;
        match entry.result {
            Ok(0) => {}
            Ok(applied) => tracing::info!(%domain, applied, "brand store migrated"),
            Err(error @ tenant_core::Error::StoreTooNew { .. }) => {
                return Err(Failure::Refused(format!("{domain}: {error}")));
            }
            Err(error) => tracing::error!(
                %domain,
                %error,
                "brand store migration failed: the brand is not served until 'tasksession migrate' succeeds"
            ),
        }
    }
    Ok(())
}

fn report_standing(standing: &Standing) {
    match standing {
        Standing::Development => tracing::warn!(
            "no licence installed: development mode (up to 5 domains named {DEVELOPMENT_NAMES}); install one with 'tasksession licence install FILE'"
        ),
        Standing::Licensed { licence, state } => match state {
            LicenceState::Valid => tracing::info!(
                licence = %licence.id,
                plan = %licence.plan,
                licensee = %licence.licensee,
                expires = %licence.expires_at.map_or_else(|| "never".to_owned(), |d| d.to_string()),
                "licence valid"
            ),
            LicenceState::Grace { days_left } => tracing::warn!(
                licence = %licence.id,
                days_left,
                "licence expired; in grace period: install a renewed licence before brands become read-only"
            ),
            LicenceState::Expired => tracing::warn!(
                licence = %licence.id,
                "licence expired and grace period over: every brand is read-only until a renewed licence is installed"
            ),
        },
    }
}

async fn serve(config: Config, platform: Arc<Platform>, standing: Standing) -> Outcome {
    let shutdown = shutdown_signal()?;
    let operator_address = config.listen.operator;
    let operator = TcpListener::bind(operator_address).await.map_err(|e| {
        Failure::Refused(format!(
            "cannot listen on operator address {operator_address}: {e}; choose another with [listen] operator or TASKSESSION_LISTEN_OPERATOR"
        ))
    })?;
    let bound = operator
        .local_addr()
        .map_err(|e| Failure::Refused(format!("cannot read the bound operator address: {e}")))?;
    tracing::info!("listening operator={bound}");

    let standing = Arc::new(RwLock::new(standing));
    let recheck = tokio::spawn(recheck_licence(config, platform, Arc::clone(&standing)));

    let app = Router::new().route("/healthz", get(|| async { "ok\n" }));
    let served = axum::serve(operator, app)
        .with_graceful_shutdown(shutdown)
        .await;
    recheck.abort();
    served.map_err(|e| Failure::Refused(format!("operator listener failed: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

/// Judges the installed licence every [`LICENCE_RECHECK`]; a file that turned invalid is
/// reported and the last good standing kept, so a bad copy never stops a running platform.
async fn recheck_licence(config: Config, platform: Arc<Platform>, standing: Arc<RwLock<Standing>>) {
    let mut ticker = tokio::time::interval(LICENCE_RECHECK);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let last_seen = match platform.record_last_seen(OffsetDateTime::now_utc()).await {
            Ok(previous) => previous,
            Err(e) => {
                tracing::error!("cannot record the licence check time: {e}");
                None
            }
        };
        match licence::installed_standing(&config, last_seen) {
            Ok(now) => {
                let changed = standing.read().map(|old| *old != now).unwrap_or(true);
                if changed {
                    report_standing(&now);
                    if let Ok(mut slot) = standing.write() {
                        *slot = now;
                    }
                }
            }
            Err(failure) => {
                tracing::error!("{failure}; keeping the last good licence until it is fixed")
            }
        }
    }
}

/// Registers for SIGTERM and SIGINT at once (so a signal that arrives before the server is
/// polled is not lost) and returns the future that completes on the first of them.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let register = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Failure::Refused(format!("cannot listen for {name}: {e}")))
    };
    let mut terminate = register(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = register(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

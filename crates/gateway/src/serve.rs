//! `tasksession serve`: check the licence before touching anything, bring the stores up to
//! date, then run the `http`, `https` and `operator` listeners until SIGTERM or SIGINT. The
//! directory of brands is refreshed every few seconds and the licence judged every hour.

use std::sync::Arc;
use std::time::Duration;

use licensing::LicenceState;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::acme::{AcmeSettings, Issuer};
use crate::config::Config;
use tenant_core::platform::entitlement::DEVELOPMENT_NAMES;
use tenant_core::{Platform, Standing};
use time::OffsetDateTime;

use crate::edge::{Edge, RequestLimits};
use crate::licence;
use crate::listeners::{self, ConnectionLimits};
use crate::mail::Mailer;
use crate::operator::{self, OperatorState};
use crate::outcome::{Failure, Outcome};
use crate::platform::{self, Opened};
use crate::replies;
use crate::tls;

/// How often the licence is judged again while running.
const LICENCE_RECHECK: Duration = Duration::from_secs(60 * 60);
/// How often the directory of brands is re-read (domains changed by the CLI).
const DIRECTORY_REFRESH: Duration = Duration::from_secs(5);
/// After SIGTERM, how much longer than the request deadline the server waits for work in
/// flight, and then for stores to close: the process ends within
/// `limits.request_timeout_s` + 2 × this.
pub const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);
/// How often users whose access expiry has passed are deactivated.
const ACCESS_SWEEP: Duration = Duration::from_secs(60);
/// Sweeps of [`ACCESS_SWEEP`] between two sweeps of the file store for leftovers (a day).
const LEFTOVER_SWEEP_TICKS: u32 = 24 * 60;

/// Runs the platform until a shutdown signal.
pub fn run(config: Config) -> Outcome {
    // Judge the licence before touching any store or binding anything.
    licence::installed_standing(&config, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Refused(format!("cannot start the async runtime: {e}")))?;
    let outcome = runtime.block_on(async {
        let Opened { platform, standing } = platform::open(&config).await?;
        report_standing(&standing);
        if let Some(files) = platform.file_store() {
            if let Err(error) = files.check().await {
                platform.close().await;
                return Err(Failure::Refused(format!(
                    "{error}; check the [files] settings"
                )));
            }
            tracing::info!(
                store = files.describe(),
                "files are kept in the {}",
                files.describe()
            );
        }
        if let Err(failure) = migrate_brands(&platform).await {
            platform.close().await;
            return Err(failure);
        }
        let platform = Arc::new(platform);
        let outcome = serve(config, Arc::clone(&platform), standing).await;
        if tokio::time::timeout(SHUTDOWN_MARGIN, platform.close())
            .await
            .is_err()
        {
            tracing::warn!("stores did not close in time; SQLite replays its WAL at next start");
        }
        outcome
    });
    // Tasks still running (a handler past its deadline, a stuck store) are not waited for.
    runtime.shutdown_timeout(SHUTDOWN_MARGIN);
    outcome
}

/// Brings every active brand's store up to date before serving (suspended and removed
/// brands' stores when they are activated, or by `migrate`). A store written by a newer
/// release stops the start; a brand whose migration fails is logged and not served.
async fn migrate_brands(platform: &Platform) -> Outcome {
    let report = platform
        .migrate_active_tenants(|_| {})
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
            Err(
                error
                @ (tenant_core::Error::StoreMissing(_) | tenant_core::Error::StoreUnusable(_)),
            ) => tracing::error!(
                %domain,
                %error,
                "brand not served: its visitors get a 503 page until the store is back"
            ),
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
    tls::install_crypto_provider();
    let issuer = AcmeSettings::from_config(&config)?
        .map(|settings| Issuer::new(Arc::clone(&platform), settings).map(Arc::new))
        .transpose()?;
    let directory = platform
        .directory(&standing)
        .await
        .map_err(platform::failure)?;
    let certificates = Arc::new(
        tls::load(&platform, &directory)
            .await
            .map_err(Failure::Refused)?,
    );
    let tls_config = tls::server_config(Arc::clone(&certificates)).map_err(Failure::Refused)?;

    let http = bind(config.listen.http, "http").await?;
    let https = bind(config.listen.https, "https").await?;
    let operator = bind(config.listen.operator, "operator").await?;
    let address = |listener: &TcpListener| {
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".to_owned())
    };
    let https_port = https.local_addr().map(|a| a.port()).unwrap_or(443);
    tracing::info!(
        "listening http={} https={} operator={}",
        address(&http),
        address(&https),
        address(&operator)
    );

    // Links in mail use the ports actually bound (port 0 picks one at start).
    let mut link_config = config.clone();
    for (slot, listener) in [
        (&mut link_config.listen.http, &http),
        (&mut link_config.listen.https, &https),
    ] {
        if let Ok(bound) = listener.local_addr() {
            *slot = bound;
        }
    }
    // Read once: the mailer signs reply addresses with the key the receiver checks them by.
    let key = Arc::new(platform::encryption_key(&config)?);
    let reply_settings = replies::Settings::from_config(&config)?;
    let reply_address = reply_settings.as_ref().map(|s| s.address.clone());
    let mailer = Arc::new(Mailer::from_config(
        &link_config,
        Arc::clone(&key),
        reply_address,
    )?);
    let limits = &config.limits;
    let edge = Arc::new(Edge::new(
        Arc::clone(&platform),
        directory,
        standing,
        certificates,
        RequestLimits {
            max_body_bytes: limits.max_body_bytes,
            max_upload_bytes: limits.max_upload_bytes,
            request_timeout: Duration::from_secs(limits.request_timeout_s),
            sign_in: web::SignInLimits {
                per_address: u32::try_from(limits.sign_in_per_minute_per_address)
                    .unwrap_or(u32::MAX),
                per_account: u32::try_from(limits.sign_in_per_minute_per_account)
                    .unwrap_or(u32::MAX),
            },
        },
        config.public_https_port.unwrap_or(https_port),
        crate::edge::Outbound {
            postmaster: Arc::clone(&mailer) as Arc<dyn web::api::Postmaster>,
            payments: Arc::new(crate::payments::PaymentClient::from_config(
                &config.payments,
            )?),
        },
    ));
    let connection_limits = ConnectionLimits {
        max_connections: usize::try_from(limits.max_connections).unwrap_or(usize::MAX),
        header_read_timeout: Duration::from_secs(limits.header_read_timeout_s),
    };
    let connections = listeners::Connections::new(connection_limits.max_connections);
    let (stop, stopped) = watch::channel(false);

    let refresh = tokio::spawn(keep_current(config.clone(), Arc::clone(&edge)));
    // With PostgreSQL, other servers' changes empty this one's caches.
    let follow = tokio::spawn({
        let platform = Arc::clone(&platform);
        async move { platform.follow_changes().await }
    });
    let sweep = tokio::spawn(expire_access(Arc::clone(&edge)));
    let acme = issuer
        .clone()
        .map(|issuer| tokio::spawn(issuer.run(Arc::clone(&edge), stopped.clone())));
    if !mailer.platform_default() {
        tracing::warn!(
            "[smtp] is not configured: brands without their own e-mail settings do not mail invitations and password reset links (invitation answers carry the link instead)"
        );
    }
    let mail = Some(tokio::spawn(mailer.run(Arc::clone(&edge), stopped.clone())));
    let replies = match reply_settings {
        Some(settings) => {
            let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
                Failure::Refused(format!(
                    "cannot listen for replies by mail on {}: {e}; choose another address with [reply] listen or TASKSESSION_REPLY_LISTEN",
                    settings.listen
                ))
            })?;
            tracing::info!(
                "taking replies by mail to {} at smtp={}",
                settings.address.with_token("…"),
                address(&listener)
            );
            Some(tokio::spawn(replies::serve(
                listener,
                Arc::new(settings),
                Arc::clone(&edge),
                Arc::clone(&key),
                stopped.clone(),
            )))
        }
        None => None,
    };
    let public_http = tokio::spawn(listeners::serve(
        http,
        None,
        Arc::clone(&edge),
        connection_limits,
        Arc::clone(&connections),
        stopped.clone(),
    ));
    let public_https = tokio::spawn(listeners::serve(
        https,
        Some(tls_config),
        Arc::clone(&edge),
        connection_limits,
        connections,
        stopped.clone(),
    ));
    let token = config.operator.token.clone().map(Arc::new);
    let operator_app = operator::router(OperatorState {
        edge: Arc::clone(&edge),
        token,
        acme: issuer.is_some(),
    });
    let mut operator_stopped = stopped;
    let operator_task = tokio::spawn(async move {
        axum::serve(operator, operator_app)
            .with_graceful_shutdown(async move {
                let _ = operator_stopped.changed().await;
            })
            .await
    });

    shutdown.await;
    let _ = stop.send(true);
    // Live-update streams never finish by themselves: end them so connections drain.
    edge.platform.close_streams();
    refresh.abort();
    sweep.abort();
    follow.abort();
    // Requests in flight get until their deadline, then the process ends whatever state a
    // store or a client is in.
    let grace = Duration::from_secs(limits.request_timeout_s) + SHUTDOWN_MARGIN;
    let drained = tokio::time::timeout(grace, async {
        for task in [acme, mail, replies].into_iter().flatten() {
            let _ = task.await;
        }
        let _ = public_http.await;
        let _ = public_https.await;
        if let Ok(Err(error)) = operator_task.await {
            tracing::error!(%error, "operator listener failed");
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_s = grace.as_secs(),
            "stopping with work still in flight after the shutdown grace period"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(address: std::net::SocketAddr, name: &str) -> Result<TcpListener, Failure> {
    TcpListener::bind(address).await.map_err(|e| {
        Failure::Refused(format!(
            "cannot listen on {name} address {address}: {e}; choose another with [listen] {name} or TASKSESSION_LISTEN_{}",
            name.to_ascii_uppercase()
        ))
    })
}

/// Keeps the edge's directory, licence standing and certificates current: the directory
/// every [`DIRECTORY_REFRESH`] (domains added or changed by the CLI), the licence every
/// [`LICENCE_RECHECK`] and as soon as its file changes (`licence install`). A licence file
/// that turned invalid is reported and the last good standing kept, so a bad copy never
/// stops a running platform.
async fn keep_current(config: Config, edge: Arc<Edge>) {
    let mut ticker = tokio::time::interval(DIRECTORY_REFRESH);
    ticker.tick().await;
    let mut last_licence_check = tokio::time::Instant::now();
    let licence_path = config.licence_path();
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut licence_modified = modified(&licence_path);
    loop {
        ticker.tick().await;
        let mut standing = edge.standing();
        let now_modified = modified(&licence_path);
        if last_licence_check.elapsed() >= LICENCE_RECHECK || now_modified != licence_modified {
            licence_modified = now_modified;
            last_licence_check = tokio::time::Instant::now();
            let last_seen = match edge
                .platform
                .record_last_seen(OffsetDateTime::now_utc())
                .await
            {
                Ok(previous) => previous,
                Err(e) => {
                    tracing::error!("cannot record the licence check time: {e}");
                    None
                }
            };
            match licence::installed_standing(&config, last_seen) {
                Ok(now) => {
                    if now != standing {
                        report_standing(&now);
                        standing = now;
                    }
                }
                Err(failure) => {
                    tracing::error!("{failure}; keeping the last good licence until it is fixed")
                }
            }
        }
        match edge.platform.directory(&standing).await {
            Ok(directory) => {
                tls::refresh(&edge.certificates, &edge.platform, &directory).await;
                edge.update(directory, standing);
            }
            Err(error) => tracing::error!(%error, "cannot refresh the tenant directory"),
        }
    }
}

/// Deactivates, in every brand, the users whose access expiry has passed, every
/// [`ACCESS_SWEEP`], so an expired account shows as deactivated even before it is used
/// again (using it also deactivates it at once); forgets sessions that have ended; and
/// mails the admins about access that ends within a week.
async fn expire_access(edge: Arc<Edge>) {
    let mut ticker = tokio::time::interval(ACCESS_SWEEP);
    let mut ticks: u32 = 0;
    loop {
        ticker.tick().await;
        // What interrupted uploads left in the file store: at start, then once a day.
        let sweep_files = ticks.is_multiple_of(LEFTOVER_SWEEP_TICKS);
        ticks = ticks.wrapping_add(1);
        let directory = edge.directory();
        for domain in directory.domains() {
            let Some(entry) = directory.lookup(domain) else {
                continue;
            };
            if entry.serving != tenant_core::Serving::Active {
                continue;
            }
            let context = match edge.platform.context(entry).await {
                Ok(context) => context,
                Err(error) => {
                    tracing::error!(%domain, %error, "cannot check access expiry");
                    continue;
                }
            };
            match tenant_core::accounts::lifecycle::expire_access(context.store()).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(%domain, count, "deactivated users whose access expired")
                }
                Err(error) => tracing::error!(%domain, %error, "cannot check access expiry"),
            }
            if let Err(error) = tenant_core::accounts::sessions::forget_ended(context.store()).await
            {
                tracing::error!(%domain, %error, "cannot forget ended sessions");
            }
            match tenant_core::work::files::purge(context.store(), time::OffsetDateTime::now_utc())
                .await
            {
                Ok(purged) if purged == tenant_core::work::files::Purged::default() => {}
                Ok(purged) => tracing::info!(
                    %domain,
                    files = purged.files,
                    contents = purged.contents,
                    "emptied the trash of files past their time"
                ),
                Err(error) => tracing::error!(%domain, %error, "cannot empty the trash of files"),
            }
            match tenant_core::work::previews::make_previews(context.store()).await {
                Ok(done) if done == tenant_core::work::previews::Previewed::default() => {}
                Ok(done) => {
                    tracing::info!(%domain, made = done.made, refused = done.refused, "made previews of images")
                }
                Err(error) => tracing::error!(%domain, %error, "cannot make previews"),
            }
            if sweep_files {
                match tenant_core::events::prune(context.store(), time::OffsetDateTime::now_utc())
                    .await
                {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(%domain, count, "pruned old events"),
                    Err(error) => tracing::error!(%domain, %error, "cannot prune old events"),
                }
                match tenant_core::work::files::sweep_leftovers(
                    context.store(),
                    time::OffsetDateTime::now_utc(),
                )
                .await
                {
                    Ok(0) => {}
                    Ok(count) => {
                        tracing::info!(%domain, count, "removed what interrupted uploads left")
                    }
                    Err(error) => {
                        tracing::error!(%domain, %error, "cannot sweep the file store")
                    }
                }
            }
            let now = time::OffsetDateTime::now_utc();
            match tenant_core::talk::notifications::remind_due(
                context.store(),
                now.date(),
                &context.tenant.brand,
            )
            .await
            {
                Ok(0) => {}
                Ok(count) => tracing::info!(%domain, count, "reminded assignees of tasks due"),
                Err(error) => tracing::error!(%domain, %error, "cannot remind of tasks due"),
            }
            match tenant_core::finance::recurring::make_due(context.store(), now.date()).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(%domain, count, "made recurring invoices"),
                Err(error) => tracing::error!(%domain, %error, "cannot make recurring invoices"),
            }
            match tenant_core::finance::mailing::remind_invoices(context.store(), now.date()).await
            {
                Ok(0) => {}
                Ok(count) => tracing::info!(%domain, count, "reminded clients of invoices"),
                Err(error) => tracing::error!(%domain, %error, "cannot remind of invoices"),
            }
            match tenant_core::talk::notifications::send_digests(context.store(), now).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(%domain, count, "queued daily digests"),
                Err(error) => tracing::error!(%domain, %error, "cannot send daily digests"),
            }
            match tenant_core::access::access_review::warn_expiring_access(context.store()).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::info!(%domain, count, "told admins of access ending within a week")
                }
                Err(error) => tracing::error!(%domain, %error, "cannot warn of access ending soon"),
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

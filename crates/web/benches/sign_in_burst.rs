//! What a burst of sign-ins costs everyone else: a steady stream of cheap authenticated
//! requests (`GET /api/v1/me` with a personal access token, 200 per second from 8 callers)
//! runs through the real router and a real tenant store, first alone and then while 200
//! sign-ins arrive at once. Prints the GETs' p50/p99 for both phases and how long the
//! burst took, on SQLite and on PostgreSQL (`TEST_POSTGRES_URL`, default the local server;
//! skipped when unreachable).
//!
//! Run: `cargo bench -p web --bench sign_in_burst`

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

#[path = "../../tenant-core/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tenant_core::accounts::invitations;

use axum::body::Body;
use axum::http::{Request, header};
use support::{PASSWORD, host, postgres, signed_in_admin, sqlite};
use tenant_core::accounts::sessions;
use tenant_core::accounts::users::NewUser;
use tenant_core::{Email, Platform, Standing, TenantContext};
use tower::ServiceExt as _;
use web::{ClientConnection, SignInLimits, WebState};

const BURST: usize = 200;
const GET_CALLERS: usize = 8;
const GET_INTERVAL: Duration = Duration::from_millis(40); // 8 callers × 25/s = 200/s
const PHASE: Duration = Duration::from_secs(5);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn request(
    context: &TenantContext,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let mut request = builder
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    request.extensions_mut().insert(context.clone());
    request.extensions_mut().insert(ClientConnection {
        address: [127, 0, 0, 1].into(),
        base: "https://bench.localhost".to_owned(),
        mail: false,
        licence_notice: None,
    });
    request
}

async fn steady_gets(
    router: axum::Router,
    context: TenantContext,
    token: String,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..GET_CALLERS {
        let (router, context, token, stop) = (
            router.clone(),
            context.clone(),
            token.clone(),
            Arc::clone(&stop),
        );
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut tick = tokio::time::interval(GET_INTERVAL);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let started = Instant::now();
                let response = router
                    .clone()
                    .oneshot(request(&context, "GET", "/api/v1/me", Some(&token), None))
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                latencies.push(started.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap());
    }
    all.sort();
    all
}

async fn run(kind: &str, store: support::TestStore) {
    let platform = Platform::open(&store.backend).await.unwrap();
    let domain = host("bench.localhost");
    platform
        .add_domain(&domain, "Bench", &Standing::Development)
        .await
        .unwrap();
    let (context, _) = platform
        .context_for(&domain, &Standing::Development)
        .await
        .unwrap()
        .unwrap();
    let admin = signed_in_admin(context.store(), "admin@bench.localhost").await;
    let (_, token) = sessions::create_token(context.store(), &admin, "bench", None)
        .await
        .unwrap();
    let token = token.reveal().to_owned();
    for i in 0..BURST {
        let new = NewUser::new(
            Email::parse(&format!("user{i}@bench.localhost")).unwrap(),
            "User",
            "staff",
        );
        let (_, invitation) = invitations::invite_user(context.store(), &new)
            .await
            .unwrap();
        invitations::accept_invitation(context.store(), invitation.token.reveal(), PASSWORD)
            .await
            .unwrap();
    }
    let router = web::router(WebState::new(SignInLimits {
        per_address: 0,
        per_account: 0,
    }));

    let stop = Arc::new(AtomicBool::new(false));
    let quiet = tokio::spawn(steady_gets(
        router.clone(),
        context.clone(),
        token.clone(),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(PHASE).await;
    stop.store(true, Ordering::Relaxed);
    let quiet = quiet.await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let busy = tokio::spawn(steady_gets(
        router.clone(),
        context.clone(),
        token.clone(),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let burst_started = Instant::now();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let (router, context) = (router.clone(), context.clone());
        burst.spawn(async move {
            let body = format!(r#"{{"email":"user{i}@bench.localhost","password":"{PASSWORD}"}}"#);
            let response = router
                .oneshot(request(
                    &context,
                    "POST",
                    "/api/v1/session",
                    None,
                    Some(body),
                ))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        });
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap();
    }
    let burst_took = burst_started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let busy = busy.await.unwrap();

    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| {kind} | {} | {} | {} | {} | {} | {} | {:.1} s ({:.0}/s) |",
        quiet.len(),
        ms(percentile(&quiet, 0.5)),
        ms(percentile(&quiet, 0.99)),
        busy.len(),
        ms(percentile(&busy, 0.5)),
        ms(percentile(&busy, 0.99)),
        burst_took.as_secs_f64(),
        BURST as f64 / burst_took.as_secs_f64(),
    );
    platform.close().await;
    store.cleanup().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "GET /api/v1/me at 200/s, alone and during {BURST} concurrent sign-ins ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| store | GETs alone | p50 alone | p99 alone | GETs in burst | p50 in burst | p99 in burst | burst took |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    runtime.block_on(async {
        run("SQLite", sqlite()).await;
        if let Some(pg) = postgres(10).await {
            run("PostgreSQL", pg).await;
        }
    });
}

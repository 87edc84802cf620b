//! Conversations benchmarks, on SQLite and PostgreSQL (`TEST_POSTGRES_URL`, default the
//! local server; skipped when unreachable):
//! - search in a brand whose project holds 100,000 client messages (seeded in one
//!   statement; the index's triggers fill it as they would one by one): a word found
//!   once, two words found together in about 6,700 messages, and a word in all 100,000,
//!   for the project's member and for the client's contact;
//! - a chat message from post to delivery on a stream of another member: in one server,
//!   and on PostgreSQL from one server to a stream on a second one (through `NOTIFY`).
//!   Besides criterion's estimate, 200 rounds print their p50 and p99.
//!
//! Run: `cargo bench -p tenant-core --bench talk`.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::events::{self, Credential, Follower, Next};
use tenant_core::talk::chat::{self, NewChannel};
use tenant_core::talk::search;
use tenant_core::work::projects::{self, NewProject};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::{Platform, TenantContext, TenantStore};
use tokio::runtime::Runtime;

const MESSAGES: usize = 100_000;

struct Seeded {
    kind: &'static str,
    platform: Arc<Platform>,
    context: TenantContext,
    staff: Principal,
    client: Principal,
    channel: String,
}

fn seed_sql(sqlite: bool, project: &str, author: &str) -> String {
    let topic = "case i % 5 when 0 then 'homepage' when 1 then 'logo' when 2 then 'invoice' when 3 then 'banner' else 'menu' end";
    let state = "case i % 3 when 0 then 'done' when 1 then 'late' else 'fine' end";
    let text = format!(
        "'Update ' || i || ': the ' || {topic} || ' for ticket' || i || ' looks ' || {state}"
    );
    if sqlite {
        format!(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < {MESSAGES})
             insert into comments (comment_id, project_id, thread, body, body_html, author_id, created_at, updated_at)
             select printf('%024x', i), '{project}', 'messages', {text}, '<p>' || {text} || '</p>', '{author}',
                    '2026-01-01 00:00:00.0 +00:00:00', '2026-01-01 00:00:00.0 +00:00:00' from n"
        )
    } else {
        format!(
            "insert into comments (comment_id, project_id, thread, body, body_html, author_id, created_at, updated_at)
             select lpad(to_hex(i), 24, '0'), '{project}', 'messages', {text}, '<p>' || {text} || '</p>', '{author}', now(), now()
             from generate_series(1, {MESSAGES}) i"
        )
    }
}

async fn seed(store: &support::TestStore) -> Seeded {
    let platform = Arc::new(Platform::open(&store.backend).await.unwrap());
    let tenant = platform
        .add_domain(
            &support::host("talk.test"),
            "Brand",
            &tenant_core::Standing::Development,
        )
        .await
        .unwrap();
    let context = platform
        .context_for(
            &support::host("talk.test"),
            &tenant_core::Standing::Development,
        )
        .await
        .unwrap()
        .unwrap()
        .0;
    let s: &TenantStore = context.store();
    let admin = support::signed_in_admin(s, "admin@talk.test").await;
    let staff = support::signed_in_user(s, "staff@talk.test", "staff", None).await;
    let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let acme = companies::create_company(s, &clients, "Acme", "")
        .await
        .unwrap();
    let client = support::signed_in_user(s, "client@acme.test", "client", Some(&acme.id)).await;
    let permit = access::permit::<need::ProjectsCreate>(&admin, Scope::Brand).unwrap();
    let project = projects::create_project(
        s,
        &permit,
        &NewProject {
            name: "Website".to_owned(),
            description: String::new(),
            company_id: Some(acme.id.clone()),
        },
    )
    .await
    .unwrap();
    sharing::share(s, &admin, &project.id, Sharing::User(staff.user_id()))
        .await
        .unwrap();
    let sqlite = store.kind() == "sqlite";
    let mut statements = vec![seed_sql(sqlite, &project.id, admin.user_id())];
    if !sqlite {
        statements.push("analyze".to_owned());
    }
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    support::run_in_tenant(&store.backend, &tenant, &refs).await;
    let channel = chat::create_channel(
        s,
        &admin,
        &NewChannel {
            name: "general".to_owned(),
            team: None,
        },
    )
    .await
    .unwrap()
    .id;
    Seeded {
        kind: store.kind(),
        platform,
        context,
        staff,
        client,
        channel,
    }
}

async fn follower(store: &TenantStore, email: &str) -> Follower {
    let (principal, secret) = support::signed_in_session(store, email).await;
    events::follow(store, principal, Credential::Session(secret), None)
        .await
        .unwrap()
}

/// Posts one chat message through `from` and waits until `stream` delivers it.
async fn round(
    from: &TenantStore,
    author: &Principal,
    channel: &str,
    stream: &mut Follower,
    n: usize,
) -> Duration {
    let started = Instant::now();
    let text = format!("round {n}");
    chat::post_message(from, author, channel, &text)
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
        {
            Next::Events(batch) => {
                if batch.iter().any(|(_, v)| {
                    v["kind"] == "chat.message"
                        && v["data"]["html"]
                            .as_str()
                            .is_some_and(|h| h.contains(&text))
                }) {
                    return started.elapsed();
                }
            }
            Next::Heartbeat => {}
            Next::End => panic!("the stream ended"),
        }
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let stores = runtime.block_on(support::both());
    let mut group = c.benchmark_group("talk");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    for store in &stores {
        eprintln!("seeding {MESSAGES} messages on {} …", store.kind());
        let seeded = runtime.block_on(seed(store));
        let s = seeded.context.store();
        for (label, q) in [
            ("one match", "ticket4242"),
            ("6,700 matches", "homepage late"),
            ("all 100,000", "looks"),
        ] {
            for (who, principal) in [("member", &seeded.staff), ("client", &seeded.client)] {
                let found = runtime
                    .block_on(search::search(s, principal, q, 20))
                    .unwrap();
                assert!(!found.is_empty(), "{q} finds nothing for the {who}");
                group.bench_function(
                    BenchmarkId::new(format!("search {label} as {who}"), seeded.kind),
                    |b| {
                        b.iter(|| {
                            black_box(
                                runtime
                                    .block_on(search::search(s, principal, q, 20))
                                    .unwrap(),
                            )
                        })
                    },
                );
            }
        }

        // Post to delivery, in one server.
        let mut stream = runtime.block_on(follower(s, "staff@talk.test"));
        let admin = runtime.block_on(support::sign_in_as(s, "admin@talk.test"));
        let mut n = 0;
        let samples: Vec<Duration> = (0..200)
            .map(|_| {
                n += 1;
                runtime.block_on(round(s, &admin, &seeded.channel, &mut stream, n))
            })
            .collect();
        let (p50, p99) = percentiles(samples);
        eprintln!(
            "{}: chat post to delivery, one server: p50 {p50:?}, p99 {p99:?}",
            seeded.kind
        );
        group.bench_function(
            BenchmarkId::new("chat post to delivery, one server", seeded.kind),
            |b| {
                b.iter_custom(|iterations| {
                    (0..iterations)
                        .map(|_| {
                            n += 1;
                            runtime.block_on(round(s, &admin, &seeded.channel, &mut stream, n))
                        })
                        .sum()
                })
            },
        );

        // Post to delivery from one server to a stream on another (PostgreSQL).
        if seeded.kind == "postgres" {
            let two = Arc::new(runtime.block_on(Platform::open(&store.backend)).unwrap());
            let following = runtime.block_on(support::following(&two));
            let on_two = runtime
                .block_on(two.context_for(
                    &support::host("talk.test"),
                    &tenant_core::Standing::Development,
                ))
                .unwrap()
                .unwrap()
                .0;
            let mut remote = runtime.block_on(follower(on_two.store(), "staff@talk.test"));
            let samples: Vec<Duration> = (0..200)
                .map(|_| {
                    n += 1;
                    runtime.block_on(round(s, &admin, &seeded.channel, &mut remote, n))
                })
                .collect();
            let (p50, p99) = percentiles(samples);
            eprintln!("postgres: chat post to delivery, another server: p50 {p50:?}, p99 {p99:?}");
            group.bench_function(
                BenchmarkId::new("chat post to delivery, another server", seeded.kind),
                |b| {
                    b.iter_custom(|iterations| {
                        (0..iterations)
                            .map(|_| {
                                n += 1;
                                runtime.block_on(round(s, &admin, &seeded.channel, &mut remote, n))
                            })
                            .sum()
                    })
                },
            );
            following.abort();
        }
        let _ = &seeded.platform;
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

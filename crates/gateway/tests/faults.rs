//! Ordinary faults through the real binary, on SQLite and PostgreSQL: clients that abandon
//! requests at random points (HTTP/1.1 and HTTP/2), a store made unwritable for a moment,
//! killed PostgreSQL connections, a store that disappears while serving or is missing at
//! start, and a SQLite wal-index that cannot be written. After each, the brand answers
//! normally on the next request, the other brands never notice, and SIGTERM still ends
//! the process promptly.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::local_json_request as request;
use support::{Addresses, CapturingVerifier, PostgresDb, Server, Workdir, header, http_exchange};

const PASSWORD: &str = "correct horse battery staple";

/// A brand with a signed-in admin's personal access token and session cookie.
struct Brand {
    host: String,
    token: String,
    cookie: String,
}

fn bearer(brand: &Brand) -> String {
    format!("Authorization: Bearer {}\r\n", brand.token)
}

/// `domain add` with an invited admin; returns the invitation token.
fn add_brand(work: &Workdir, domain: &str) -> String {
    support::add_brand_with_admin(work, domain, &format!("admin@{domain}"))
}

/// Accepts the invitation, signs in and makes a personal access token.
fn sign_in(at: SocketAddr, domain: &str, invitation: &str) -> Brand {
    let body = serde_json::json!({ "password": PASSWORD }).to_string();
    let path = format!("/api/v1/invitations/{invitation}/accept");
    let accepted = http_exchange(at, &request("POST", domain, &path, "", &body));
    assert!(accepted.status < 300, "{accepted:?}");
    let body =
        serde_json::json!({ "email": format!("admin@{domain}"), "password": PASSWORD }).to_string();
    let signed_in = http_exchange(at, &request("POST", domain, "/api/v1/session", "", &body));
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let cookie = support::session_cookie(&signed_in);
    let auth = format!("Cookie: {cookie}\r\n");
    let made = http_exchange(
        at,
        &request(
            "POST",
            domain,
            "/api/v1/tokens",
            &auth,
            r#"{"name":"faults"}"#,
        ),
    );
    assert!(made.status < 300, "{made:?}");
    let token: serde_json::Value = serde_json::from_str(&made.body).unwrap();
    Brand {
        host: domain.to_owned(),
        token: token["token"].as_str().unwrap().to_owned(),
        cookie,
    }
}

fn list_users(at: SocketAddr, brand: &Brand) -> support::Exchange {
    http_exchange(
        at,
        &request("GET", &brand.host, "/api/v1/users", &bearer(brand), ""),
    )
}

fn add_team(at: SocketAddr, brand: &Brand, name: &str) -> support::Exchange {
    let body = serde_json::json!({ "name": name }).to_string();
    http_exchange(
        at,
        &request("POST", &brand.host, "/api/v1/teams", &bearer(brand), &body),
    )
}

fn home_page(at: SocketAddr, brand: &Brand) -> support::Exchange {
    let auth = format!("Cookie: {}\r\n", brand.cookie);
    http_exchange(at, &request("GET", &brand.host, "/", &auth, ""))
}

/// A small xorshift generator: the tests need spread, not quality.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Self {
        let nanos = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        );
        Random((seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ nanos) | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// HTTP/1.1 clients that send a read or a write and go away after 0 to 8 ms, whether or
/// not the answer came.
fn abandon_http1(at: SocketAddr, brand: &Brand, clients: u64, each: u64) {
    std::thread::scope(|scope| {
        for client in 0..clients {
            scope.spawn(move || {
                let mut random = Random::new(client);
                for n in 0..each {
                    let raw = if n % 3 == 0 {
                        let body = format!(r#"{{"name":"abandoned {client} {n}"}}"#);
                        request("POST", &brand.host, "/api/v1/teams", &bearer(brand), &body)
                    } else {
                        request("GET", &brand.host, "/api/v1/users", &bearer(brand), "")
                    };
                    let Ok(mut socket) = TcpStream::connect(at) else {
                        continue;
                    };
                    let _ = socket.write_all(&raw);
                    std::thread::sleep(Duration::from_micros(random.below(8_000)));
                    drop(socket);
                }
            });
        }
    });
}

/// HTTP/2 streams over TLS that are reset after 0 to 8 ms (a dropped response future
/// sends RST_STREAM), several per connection, then the connection dropped.
fn abandon_http2(at: SocketAddr, brand: &Brand, connections: u64, streams: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = support::tls_client(CapturingVerifier::new(), &[b"h2"]);
        let mut tasks = Vec::new();
        for connection in 0..connections {
            let config = Arc::clone(&config);
            let host = brand.host.clone();
            let token = brand.token.clone();
            tasks.push(tokio::spawn(async move {
                let mut random = Random::new(1000 + connection);
                let tcp = tokio::net::TcpStream::connect(at).await.unwrap();
                let name = rustls::pki_types::ServerName::try_from(host.clone()).unwrap();
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .unwrap();
                let (mut sender, driver) = hyper::client::conn::http2::handshake(
                    hyper_util::rt::TokioExecutor::new(),
                    hyper_util::rt::TokioIo::new(tls),
                )
                .await
                .unwrap();
                let driver = tokio::spawn(driver);
                for n in 0..streams {
                    let (method, path, body) = if n % 3 == 0 {
                        (
                            "POST",
                            "/api/v1/teams",
                            format!(r#"{{"name":"h2 abandoned {connection} {n}"}}"#),
                        )
                    } else {
                        ("GET", "/api/v1/users", String::new())
                    };
                    let request = hyper::Request::builder()
                        .method(method)
                        .uri(format!("https://{host}{path}"))
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                        .unwrap();
                    if sender.ready().await.is_err() {
                        break;
                    }
                    let answer = sender.send_request(request);
                    let wait = Duration::from_micros(random.below(8_000));
                    let _ = tokio::time::timeout(wait, answer).await;
                }
                driver.abort();
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
}

/// Reads and writes that must all succeed, after whatever came before.
fn assert_answers_normally(at: SocketAddr, brand: &Brand, label: &str) {
    for n in 0..30 {
        let listed = list_users(at, brand);
        assert_eq!(listed.status, 200, "{label}: read {n}: {listed:?}");
        if n % 3 == 0 {
            let added = add_team(at, brand, &format!("{label} after {n}"));
            assert_eq!(added.status, 201, "{label}: write {n}: {added:?}");
        }
    }
    let page = home_page(at, brand);
    assert_eq!(page.status, 200, "{label}: home page: {}", page.head);
}

/// SIGTERM ends the process cleanly, within the stated bound: the request deadline (5 s
/// here) plus 5 s for work in flight and 5 s for the stores (README, *Storage faults*).
/// A process whose pool was poisoned used to ignore SIGTERM altogether.
fn assert_stops_promptly(server: &mut Server) {
    let asked = Instant::now();
    server.terminate();
    let status = server.wait();
    assert!(status.success(), "exit {status:?}");
    assert!(
        asked.elapsed() <= Duration::from_secs(16),
        "took {:?} to stop",
        asked.elapsed()
    );
}

fn abandon_then_serve(mut command: StdCommand, work: &Workdir) {
    let a = add_brand(work, "a.localhost");
    let b = add_brand(work, "b.localhost");
    command.env("TASKSESSION_LIMITS_REQUEST_TIMEOUT_S", "5");
    let mut server = Server::start(command);
    let Addresses { http, https, .. } = server.addresses();
    let a = sign_in(http, "a.localhost", &a);
    let b = sign_in(http, "b.localhost", &b);
    for round in 0..3 {
        abandon_http1(http, &a, 16, 40);
        abandon_http2(https, &a, 8, 30);
        assert_answers_normally(http, &a, &format!("round {round}"));
        assert_answers_normally(http, &b, &format!("other brand, round {round}"));
    }
    assert_stops_promptly(&mut server);
}

#[test]
fn requests_abandoned_at_random_points_leave_a_sqlite_brand_answering_normally() {
    let work = Workdir::new();
    abandon_then_serve(work.std_command(), &work);
}

#[test]
fn requests_abandoned_at_random_points_leave_a_postgresql_brand_answering_normally() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    let work = Workdir::new();
    // The CLI that adds the brands and the server both read it.
    work.write(
        "tasksession.toml",
        &format!("database_url = \"{}\"\n", database.url()),
    );
    abandon_then_serve(work.std_command(), &work);
}

/// `chattr` flags, which hold even for root: the way these tests make a file unwritable.
fn chattr(flag: &str, path: &Path) -> bool {
    let done = StdCommand::new("chattr")
        .args([flag, &path.display().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        done || !support::in_ci(),
        "chattr {flag} {} failed with CI=true",
        path.display()
    );
    done
}

/// Undoes `chattr +i` even when the test fails half-way, so the temporary folder can go.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: &[PathBuf]) -> Option<Self> {
        for path in paths {
            if !chattr("+i", path) {
                return None;
            }
        }
        Some(Immutable(paths.to_vec()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = StdCommand::new("chattr").args(["-i"]).arg(path).status();
        }
    }
}

/// The folder of the only brand store whose database file lists `domain`'s admin.
fn store_dir(work: &Workdir, domain: &str) -> PathBuf {
    let tenants = work.path().join("data").join("tenants");
    let needle = format!("admin@{domain}");
    std::fs::read_dir(&tenants)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|dir| {
            ["tenant.db", "tenant.db-wal"].iter().any(|file| {
                let mut text = Vec::new();
                std::fs::File::open(dir.join(file))
                    .and_then(|mut f| f.read_to_end(&mut text))
                    .is_ok()
                    && String::from_utf8_lossy(&text).contains(&needle)
            })
        })
        .unwrap()
}

/// A 503 in the API's error shape with `Retry-After`.
fn assert_unavailable(answer: &support::Exchange, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {answer:?}");
    assert!(
        header(&answer.head, "retry-after").is_some(),
        "{what}: {}",
        answer.head
    );
}

#[test]
fn a_sqlite_store_made_unwritable_answers_503_then_works_on_the_next_request() {
    let work = Workdir::new();
    let a = add_brand(&work, "a.localhost");
    let b = add_brand(&work, "b.localhost");
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    let a = sign_in(http, "a.localhost", &a);
    let b = sign_in(http, "b.localhost", &b);
    assert_eq!(add_team(http, &a, "before").status, 201);
    let dir = store_dir(&work, "a.localhost");
    let files = [dir.join("tenant.db"), dir.join("tenant.db-wal")];
    {
        let Some(_immutable) = Immutable::set(&files) else {
            return;
        };
        for n in 0..5 {
            let added = add_team(http, &a, &format!("while read-only {n}"));
            assert_unavailable(&added, "a write to a read-only store");
            assert!(added.body.contains(r#""code":"unavailable""#), "{added:?}");
        }
        // A page is not "signed out" because the store failed: no cookie is cleared.
        let page = home_page(http, &a);
        assert!(
            header(&page.head, "set-cookie").is_none(),
            "the session survives a store fault: {}",
            page.head
        );
        assert_eq!(add_team(http, &b, "the other brand").status, 201);
    }
    let added = add_team(http, &a, "after");
    assert_eq!(added.status, 201, "the very next request works: {added:?}");
    assert_eq!(home_page(http, &a).status, 200);
    // The operator reads of the burst once, naming the brand, and of its end once.
    server.wait_for_line("brand store works again");
    let reported: Vec<&String> = server
        .seen
        .iter()
        .filter(|line| line.contains("brand store unavailable"))
        .collect();
    assert_eq!(reported.len(), 1, "{:?}", server.seen);
    assert!(reported[0].contains("a.localhost"), "{}", reported[0]);
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn killed_postgresql_connections_and_a_read_only_database_heal_without_a_restart() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    let work = Workdir::new();
    work.write(
        "tasksession.toml",
        &format!("database_url = \"{}\"\n", database.url()),
    );
    let a = add_brand(&work, "a.localhost");
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    let a = sign_in(http, "a.localhost", &a);
    // Waits (up to 5 s each) until every other connection to the database is gone.
    let kill = format!(
        "select count(pg_terminate_backend(pid, 5000)) from pg_stat_activity where datname = '{}' and pid <> pg_backend_pid()",
        database.name
    );
    for round in 0..3 {
        assert_eq!(list_users(http, &a).status, 200);
        database.query(&kill);
        // A pooled connection that was killed is found dead before use and replaced.
        let listed = list_users(http, &a);
        assert_eq!(listed.status, 200, "round {round}: {listed:?}");
        let added = add_team(http, &a, &format!("after kill {round}"));
        assert_eq!(added.status, 201, "round {round}: {added:?}");
    }
    database.query(&format!(
        "alter database {} set default_transaction_read_only = on",
        database.name
    ));
    database.query(&kill);
    let refused = add_team(http, &a, "while read-only");
    assert_unavailable(&refused, "a write to a read-only database");
    // From another database: this one only runs read-only transactions now.
    support::psql(
        &support::postgres_admin_url(),
        &format!(
            "alter database {} set default_transaction_read_only = off",
            database.name
        ),
    )
    .unwrap();
    database.query(&kill);
    let added = add_team(http, &a, "after read-only");
    assert_eq!(added.status, 201, "{added:?}");
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn a_sqlite_store_removed_while_serving_or_missing_at_start_is_not_served_nor_recreated() {
    let work = Workdir::new();
    let a = add_brand(&work, "a.localhost");
    let b = add_brand(&work, "b.localhost");
    let mut server = Server::start(work.std_command());
    let Addresses { http, operator, .. } = server.addresses();
    let a = sign_in(http, "a.localhost", &a);
    let b = sign_in(http, "b.localhost", &b);
    let dir = store_dir(&work, "a.localhost");
    let aside = work.path().join("aside");
    std::fs::rename(&dir, &aside).unwrap();

    assert_unavailable(&list_users(http, &a), "a read of a removed store");
    assert_unavailable(&add_team(http, &a, "into the void"), "a write");
    let page = home_page(http, &a);
    assert_eq!(page.status, 503, "{}", page.head);
    assert!(
        !page.body.contains("Brand"),
        "the page names no brand: {}",
        page.body
    );
    assert_eq!(list_users(http, &b).status, 200, "the other brand goes on");
    assert!(!dir.exists(), "the removed store is never recreated");
    let (status, ready) = support::http_get(operator, "/readyz");
    assert_eq!(status, 200);
    assert!(
        ready.contains("not served: a.localhost") && ready.contains("missing"),
        "{ready}"
    );
    assert!(!ready.contains("b.localhost"), "{ready}");
    server.terminate();
    assert!(server.wait().success());

    // Missing at start: reported, not served, not recreated; the other brand is served.
    let listed = work.command().args(["domain", "list"]).assert().code(0);
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert!(
        listed.contains("unavailable") && listed.contains("not served: a.localhost"),
        "{listed}"
    );
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    assert_unavailable(
        &list_users(http, &a),
        "a brand whose store is missing at start",
    );
    assert_eq!(list_users(http, &b).status, 200);
    assert!(!dir.exists(), "not recreated at start either");
    server.terminate();
    assert!(server.wait().success());

    // Put back, it is served again.
    std::fs::rename(&aside, &dir).unwrap();
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    assert_eq!(list_users(http, &a).status, 200);
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn a_postgresql_schema_dropped_while_serving_is_not_served_nor_recreated() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    let work = Workdir::new();
    work.write(
        "tasksession.toml",
        &format!("database_url = \"{}\"\n", database.url()),
    );
    let a = add_brand(&work, "a.localhost");
    let b = add_brand(&work, "b.localhost");
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    let a = sign_in(http, "a.localhost", &a);
    let b = sign_in(http, "b.localhost", &b);
    let schema = database.query(
        "select table_schema from information_schema.tables where table_name = 'users' and table_schema like 'tenant_%' order by table_schema limit 1",
    );
    // The first brand added has the lower id.
    database.query(&format!("drop schema {schema} cascade"));
    let listed = list_users(http, &a);
    assert_unavailable(&listed, "a read of a dropped schema");
    assert_eq!(list_users(http, &b).status, 200, "the other brand goes on");
    let count = database.query(&format!(
        "select count(*) from information_schema.schemata where schema_name = '{schema}'"
    ));
    assert_eq!(count, "0", "the dropped schema is never recreated");
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn an_unwritable_sqlite_wal_index_is_refused_instead_of_ending_the_process() {
    let work = Workdir::new();
    let a = add_brand(&work, "a.localhost");
    let b = add_brand(&work, "b.localhost");
    let mut server = Server::start(work.std_command());
    let http = server.addresses().http;
    let a = sign_in(http, "a.localhost", &a);
    let b = sign_in(http, "b.localhost", &b);
    let dir = store_dir(&work, "a.localhost");
    let shm = dir.join("tenant.db-shm");
    assert!(shm.exists(), "a served store has its wal-index");
    {
        let Some(_immutable) = Immutable::set(std::slice::from_ref(&shm)) else {
            return;
        };
        for n in 0..5 {
            assert_unavailable(&list_users(http, &a), "a read");
            assert_unavailable(&add_team(http, &a, &format!("refused {n}")), "a write");
        }
        assert_eq!(add_team(http, &b, "the other brand").status, 201);
        // Let idle connections go and come back: the process must still be alive.
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "the process lives"
        );
    }
    assert_eq!(add_team(http, &a, "after").status, 201);
    server.terminate();
    assert!(server.wait().success());
}

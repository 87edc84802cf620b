//! The findings of a security and first-use review, each through the real binary: sign-in
//! throttling that lets the owner in, the test mail that cannot probe the server's network,
//! the two-factor requirement on pages as in the API, `Host` fields, list paging, body
//! limits, and the command line's edges (closed pipes, `--data-dir`, an unreachable
//! PostgreSQL).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::local_json_request as request;
use support::{Exchange, Server, Workdir, http_exchange};

const PASSWORD: &str = "correct horse battery staple";

/// Accepts the admin's invitation of `domain` (added before the server started: the
/// server reads new domains every few seconds).
fn accept(at: SocketAddr, domain: &str, invitation: &str) {
    let body = serde_json::json!({ "password": PASSWORD }).to_string();
    let path = format!("/api/v1/invitations/{invitation}/accept");
    let accepted = http_exchange(at, &request("POST", domain, &path, "", &body));
    assert!(accepted.status < 300, "{accepted:?}");
}

/// `domain add` with an invited admin; returns the invitation token.
fn invite(work: &Workdir, domain: &str) -> String {
    support::add_brand_with_admin(work, domain, &format!("admin@{domain}"))
}

fn sign_in(at: SocketAddr, domain: &str, password: &str, cookies: &str) -> Exchange {
    let body =
        serde_json::json!({ "email": format!("admin@{domain}"), "password": password }).to_string();
    let extra = if cookies.is_empty() {
        String::new()
    } else {
        format!("Cookie: {cookies}\r\n")
    };
    http_exchange(
        at,
        &request("POST", domain, "/api/v1/session", &extra, &body),
    )
}

/// The `name=value` of every cookie an answer sets.
fn set_cookies(answer: &Exchange) -> Vec<String> {
    answer
        .head
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .collect()
}

fn cookie_named(answer: &Exchange, name: &str) -> String {
    set_cookies(answer)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {}", answer.head))
}

#[test]
fn a_strangers_wrong_passwords_and_reset_requests_never_lock_the_owner_out() {
    let work = Workdir::new();
    let invitation_0 = invite(&work, "a.localhost");
    let invitation_1 = invite(&work, "b.localhost");
    let invitation_2 = invite(&work, "c.localhost");
    let mut command = work.std_command();
    command
        .env("TASKSESSION_LIMITS_SIGN_IN_PER_MINUTE_PER_ACCOUNT", "3")
        .env("TASKSESSION_LIMITS_SIGN_IN_PER_MINUTE_PER_ADDRESS", "100");
    let mut server = Server::start(command);
    let at = server.addresses().http;
    accept(at, "a.localhost", &invitation_0);
    accept(at, "b.localhost", &invitation_1);
    accept(at, "c.localhost", &invitation_2);

    // The owner signs in once on their own browser, which keeps a device cookie.
    let first = sign_in(at, "a.localhost", PASSWORD, "");
    assert_eq!(first.status, 200, "{first:?}");
    let device = cookie_named(&first, "__Host-ts_device");
    assert!(
        first.head.to_ascii_lowercase().contains("httponly"),
        "{}",
        first.head
    );

    // A stranger tries wrong passwords until the account is locked for them.
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(sign_in(at, "a.localhost", &format!("guess {n}"), "").status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    let locked = sign_in(at, "a.localhost", PASSWORD, "");
    assert_eq!(
        locked.status, 429,
        "even the right password, from elsewhere"
    );
    // A forged or foreign device cookie is no way round it.
    let forged = sign_in(at, "a.localhost", PASSWORD, "__Host-ts_device=forged");
    assert_eq!(forged.status, 429);

    // The owner, on the device they signed in from before, gets in.
    let owner = sign_in(at, "a.localhost", PASSWORD, &device);
    assert_eq!(owner.status, 200, "{owner:?}");
    // The device cookie of one brand's account does not help on another.
    for n in 0..3 {
        sign_in(at, "b.localhost", &format!("guess {n}"), "");
    }
    assert_eq!(sign_in(at, "b.localhost", PASSWORD, &device).status, 429);

    // Reset requests for someone's address never count against their sign-in.
    let work_c = "c.localhost";
    let body = serde_json::json!({ "email": format!("admin@{work_c}") }).to_string();
    for _ in 0..6 {
        let asked = http_exchange(
            at,
            &request("POST", work_c, "/api/v1/password-reset", "", &body),
        );
        assert!(matches!(asked.status, 200 | 202 | 429), "{asked:?}");
    }
    let after_resets = sign_in(at, work_c, PASSWORD, "");
    assert_eq!(after_resets.status, 200, "{after_resets:?}");
    server.terminate();
    assert!(server.wait().success());
}

/// A TCP service on loopback that greets with a banner no one outside should read.
struct FakeService {
    listener: TcpListener,
}

const BANNER: &str = "internal-banner-7f3a";

impl FakeService {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        FakeService { listener }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// Answers connections for `time`: the banner, then a refusal quoting it.
    fn serve_for(&self, time: Duration) -> usize {
        let deadline = Instant::now() + time;
        let mut served = 0;
        while Instant::now() < deadline {
            match self.listener.accept() {
                Ok((mut socket, _)) => {
                    served += 1;
                    let _ = socket.set_nonblocking(false);
                    let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = write!(socket, "220 {BANNER} ready\r\n");
                    let mut buffer = [0_u8; 512];
                    let _ = socket.read(&mut buffer);
                    let _ = write!(socket, "554 {BANNER} says no\r\n");
                    let _ = socket.read(&mut buffer);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        served
    }
}

fn admin_cookie(at: SocketAddr, domain: &str) -> String {
    let signed_in = sign_in(at, domain, PASSWORD, "");
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    format!(
        "Cookie: {}\r\n",
        cookie_named(&signed_in, "__Host-ts_session")
    )
}

fn test_mail_through(at: SocketAddr, cookie: &str, port: u16) -> Exchange {
    let settings = serde_json::json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from_address": "projects@a.localhost",
    })
    .to_string();
    let saved = http_exchange(
        at,
        &request(
            "PUT",
            "a.localhost",
            "/api/v1/settings/email",
            cookie,
            &settings,
        ),
    );
    assert_eq!(saved.status, 200, "{saved:?}");
    let body = r#"{"to":"ada@a.localhost"}"#;
    let send = request(
        "POST",
        "a.localhost",
        "/api/v1/settings/email/test",
        cookie,
        body,
    );
    http_exchange(at, &send)
}

#[test]
fn the_test_mail_cannot_reach_the_servers_own_network_nor_show_what_answers_there() {
    let service = FakeService::start();
    let work = Workdir::new();
    let invitation_0 = invite(&work, "a.localhost");
    let mut server = Server::start(work.std_command());
    let at = server.addresses().http;
    accept(at, "a.localhost", &invitation_0);
    let cookie = admin_cookie(at, "a.localhost");
    let refused = test_mail_through(at, &cookie, service.port());
    assert!(refused.status >= 400, "{refused:?}");
    assert!(refused.body.contains("private"), "{}", refused.body);
    assert_eq!(
        service.serve_for(Duration::from_millis(300)),
        0,
        "no connection is made"
    );
    server.terminate();
    assert!(server.wait().success());

    // The operator may allow private hosts; the remote service's words still go only to
    // the operator's log.
    let mut command = work.std_command();
    command.env("TASKSESSION_SMTP_ALLOW_PRIVATE_HOSTS", "true");
    let mut server = Server::start(command);
    let at = server.addresses().http;
    let cookie = admin_cookie(at, "a.localhost");
    let answered = std::thread::scope(|scope| {
        let served = scope.spawn(|| service.serve_for(Duration::from_secs(8)));
        let answer = test_mail_through(at, &cookie, service.port());
        (answer, served.join().unwrap())
    });
    let (failed, served) = answered;
    assert!(served >= 1, "the allowed host was tried");
    assert!(failed.status >= 400, "{failed:?}");
    assert!(!failed.body.contains(BANNER), "{}", failed.body);
    server.wait_for_line(BANNER);
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn a_staff_member_who_must_set_up_two_factor_makes_no_token_on_the_profile_page() {
    let work = Workdir::new();
    let invitation_0 = invite(&work, "a.localhost");
    let mut server = Server::start(work.std_command());
    let at = server.addresses().http;
    accept(at, "a.localhost", &invitation_0);
    let admin = admin_cookie(at, "a.localhost");
    let call = |method: &str, path: &str, body: &str| {
        http_exchange(at, &request(method, "a.localhost", path, &admin, body))
    };
    // The admin turns on their own two-factor sign-in, then requires it of all staff.
    let begun = call(
        "POST",
        "/api/v1/me/totp",
        &format!(r#"{{"password":"{PASSWORD}"}}"#),
    );
    assert_eq!(begun.status, 201, "{begun:?}");
    let enrollment: serde_json::Value = serde_json::from_str(&begun.body).unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrollment["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let step = tenant_core::accounts::totp::step_of(time::OffsetDateTime::now_utc());
    let code = tenant_core::accounts::totp::code_at(&secret, step);
    let confirmed = call("PUT", "/api/v1/me/totp", &format!(r#"{{"code":"{code}"}}"#));
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let required = call(
        "PUT",
        "/api/v1/settings/security",
        r#"{"require_totp_for_staff":true}"#,
    );
    assert_eq!(required.status, 200, "{required:?}");
    // Sam joins the staff and signs in: Sam has not set up two-factor sign-in yet.
    let invited = call(
        "POST",
        "/api/v1/users",
        r#"{"email":"sam@a.localhost","name":"Sam","role":"staff"}"#,
    );
    assert_eq!(invited.status, 201, "{invited:?}");
    let invited: serde_json::Value = serde_json::from_str(&invited.body).unwrap();
    let link = invited["invitation_url"].as_str().unwrap();
    accept(at, "a.localhost", link.rsplit_once("/invite/").unwrap().1);
    let body = serde_json::json!({ "email": "sam@a.localhost", "password": PASSWORD }).to_string();
    let sam = http_exchange(
        at,
        &request("POST", "a.localhost", "/api/v1/session", "", &body),
    );
    assert_eq!(sam.status, 200, "{sam:?}");
    let cookie = format!("Cookie: {}\r\n", cookie_named(&sam, "__Host-ts_session"));
    let profile = http_exchange(at, &request("GET", "a.localhost", "/profile", &cookie, ""));
    assert_eq!(profile.status, 200, "{}", profile.head);
    let csrf = profile
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = format!("csrf={csrf}&name=sneaky");
    let made = http_exchange(
        at,
        format!(
            "POST /profile/tokens HTTP/1.1\r\nHost: a.localhost\r\nOrigin: http://a.localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{cookie}Connection: close\r\n\r\n{form}",
            form.len()
        )
        .as_bytes(),
    );
    assert!(
        !made.body.contains("tsp_"),
        "no token is shown: {}",
        made.body
    );
    assert!(
        made.status == 303 || made.status == 403,
        "refused or sent to set up two-factor sign-in: {}",
        made.head
    );
    // The same through the API.
    let api = http_exchange(
        at,
        &request(
            "POST",
            "a.localhost",
            "/api/v1/tokens",
            &cookie,
            r#"{"name":"x"}"#,
        ),
    );
    assert_eq!(api.status, 403, "{api:?}");
    server.terminate();
    assert!(server.wait().success());
    // And none was stored.
    let tenants = work.path().join("data").join("tenants");
    let dir = std::fs::read_dir(&tenants)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let count = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from access_tokens').fetchone()[0])",
        ])
        .arg(dir.join("tenant.db"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&count.stdout).trim(),
        "0",
        "{count:?}"
    );
}

fn raw(at: SocketAddr, text: &str) -> Exchange {
    http_exchange(at, text.as_bytes())
}

#[test]
fn repeated_or_malformed_host_fields_get_400_before_routing() {
    let work = Workdir::new();
    invite(&work, "a.localhost");
    let mut server = Server::start(work.std_command());
    let at = server.addresses().http;
    let good = raw(
        at,
        "GET /sign-in HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(good.status, 200);
    for bad in [
        "GET /sign-in HTTP/1.1\r\nHost: a.localhost\r\nHost: a.localhost\r\nConnection: close\r\n\r\n",
        "GET /sign-in HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\nConnection: close\r\n\r\n",
        "GET /sign-in HTTP/1.1\r\nHost: user@a.localhost\r\nConnection: close\r\n\r\n",
        "GET /sign-in HTTP/1.1\r\nHost: a .localhost\r\nConnection: close\r\n\r\n",
        "GET /sign-in HTTP/1.1\r\nHost: a.localhost/x\r\nConnection: close\r\n\r\n",
        "GET /sign-in HTTP/1.1\r\nConnection: close\r\n\r\n",
    ] {
        let answer = raw(at, bad);
        assert_eq!(answer.status, 400, "{bad:?}: {answer:?}");
    }
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn list_cursors_and_limits_that_are_not_the_lists_own_get_422_naming_the_parameter() {
    let work = Workdir::new();
    let invitation_0 = invite(&work, "a.localhost");
    let mut server = Server::start(work.std_command());
    let at = server.addresses().http;
    accept(at, "a.localhost", &invitation_0);
    let cookie = admin_cookie(at, "a.localhost");
    let invited = http_exchange(
        at,
        &request(
            "POST",
            "a.localhost",
            "/api/v1/users",
            &cookie,
            r#"{"email":"sam@a.localhost","name":"Sam","role":"staff"}"#,
        ),
    );
    assert_eq!(invited.status, 201, "{invited:?}");
    let get = |path: &str| http_exchange(at, &request("GET", "a.localhost", path, &cookie, ""));
    let first = get("/api/v1/users?limit=1");
    assert_eq!(first.status, 200, "{first:?}");
    let page: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let next = page["next_cursor"].as_str().unwrap().to_owned();
    let second = get(&format!("/api/v1/users?limit=1&cursor={next}"));
    assert_eq!(second.status, 200, "{second:?}");
    let second: serde_json::Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(second["items"][0]["id"], page["items"][0]["id"]);

    // A list read whole pages the same way.
    let roles = get("/api/v1/roles?limit=1");
    assert_eq!(roles.status, 200, "{roles:?}");
    let roles: serde_json::Value = serde_json::from_str(&roles.body).unwrap();
    assert_eq!(roles["items"].as_array().unwrap().len(), 1);
    let next_role = roles["next_cursor"].as_str().unwrap().to_owned();
    let more = get(&format!("/api/v1/roles?limit=200&cursor={next_role}"));
    assert_eq!(more.status, 200, "{more:?}");
    let more: serde_json::Value = serde_json::from_str(&more.body).unwrap();
    assert!(!more["items"].as_array().unwrap().is_empty());
    assert_ne!(more["items"][0]["id"], roles["items"][0]["id"]);
    assert!(more["next_cursor"].is_null());

    let foreign = format!("projects.{}", next.rsplit('.').next().unwrap());
    for (path, field) in [
        ("/api/v1/users?cursor=garbage".to_owned(), "cursor"),
        (format!("/api/v1/users?cursor={foreign}"), "cursor"),
        (format!("/api/v1/projects?cursor={next}"), "cursor"),
        ("/api/v1/audit?cursor=zzz".to_owned(), "cursor"),
        ("/api/v1/clients?cursor=1".to_owned(), "cursor"),
        ("/api/v1/access-review?cursor=x".to_owned(), "cursor"),
        ("/api/v1/roles?cursor=garbage".to_owned(), "cursor"),
        (format!("/api/v1/teams?cursor={next_role}"), "cursor"),
        ("/api/v1/tokens?cursor=tokens.nothere".to_owned(), "cursor"),
        ("/api/v1/me/sessions?limit=0".to_owned(), "limit"),
        ("/api/v1/roles?limit=many".to_owned(), "limit"),
        ("/api/v1/users?limit=0".to_owned(), "limit"),
        ("/api/v1/users?limit=201".to_owned(), "limit"),
        ("/api/v1/projects?limit=500".to_owned(), "limit"),
    ] {
        let answer = get(&path);
        assert_eq!(answer.status, 422, "{path}: {answer:?}");
        let error: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert!(
            error["error"]["fields"][field].is_string(),
            "{path}: {}",
            answer.body
        );
    }
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn every_body_over_its_limit_gets_too_large_whether_its_length_is_declared_or_chunked() {
    let work = Workdir::new();
    let invitation_0 = invite(&work, "a.localhost");
    let mut command = work.std_command();
    command.env("TASKSESSION_LIMITS_MAX_BODY_BYTES", "1000");
    let mut server = Server::start(command);
    let at = server.addresses().http;
    accept(at, "a.localhost", &invitation_0);
    let cookie = admin_cookie(at, "a.localhost");
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(5000));
    let declared = http_exchange(
        at,
        &request("POST", "a.localhost", "/api/v1/teams", &cookie, &big),
    );
    assert_eq!(declared.status, 413, "{declared:?}");
    assert!(
        declared.body.contains(r#""code":"too_large""#),
        "{}",
        declared.body
    );
    let chunked = format!(
        "POST /api/v1/teams HTTP/1.1\r\nHost: a.localhost\r\nOrigin: http://a.localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n{cookie}Connection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let chunked = http_exchange(at, chunked.as_bytes());
    assert_eq!(chunked.status, 413, "{chunked:?}");
    assert!(
        chunked.body.contains(r#""code":"too_large""#),
        "{}",
        chunked.body
    );
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn a_list_whose_reader_goes_away_ends_quietly() {
    let work = Workdir::new();
    for n in 0..3 {
        work.command()
            .args(["domain", "add", &format!("b{n}.localhost"), "--brand", "B"])
            .assert()
            .code(0);
    }
    for args in [&["domain", "list"][..], &["domain", "list", "--json"][..]] {
        let mut child = work
            .std_command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 141)),
            "{args:?}: {:?} {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn every_command_takes_data_dir_and_demo_says_how() {
    let work = Workdir::new();
    work.command()
        .args([
            "domain",
            "add",
            "x.localhost",
            "--brand",
            "X",
            "--data-dir",
            "elsewhere",
        ])
        .assert()
        .code(0);
    assert!(work.path().join("elsewhere").join("platform.db").exists());
    let listed = work
        .command()
        .args(["domain", "list", "--data-dir", "elsewhere"])
        .assert()
        .code(0);
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert!(listed.contains("x.localhost"), "{listed}");
    let listed = work
        .command()
        .args(["--data-dir", "elsewhere", "domain", "list", "--json"])
        .assert()
        .code(0);
    assert!(String::from_utf8_lossy(&listed.get_output().stdout).contains("x.localhost"));
    assert!(!work.path().join("data").exists(), "no stray ./data");
}

#[test]
fn serve_with_an_unreachable_postgresql_says_which_within_seconds_and_exits_1() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let work = Workdir::new();
    let started = Instant::now();
    let output = work
        .command()
        .env(
            "TASKSESSION_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/nothing"),
        )
        .args(["serve"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("database_url"), "{stderr}");
}

#[test]
fn at_the_connection_cap_idle_keep_alive_connections_make_room_for_a_new_client() {
    let work = Workdir::new();
    invite(&work, "a.localhost");
    let mut command = work.std_command();
    command
        .env("TASKSESSION_LIMITS_MAX_CONNECTIONS", "20")
        .env("TASKSESSION_LIMITS_HEADER_READ_TIMEOUT_S", "60");
    let mut server = Server::start(command);
    let at = server.addresses().http;
    // Twenty clients each ask once, keep their connection open and go quiet.
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut socket = std::net::TcpStream::connect(at).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket
            .write_all(b"GET /sign-in HTTP/1.1\r\nHost: a.localhost\r\n\r\n")
            .unwrap();
        let mut buffer = [0_u8; 4096];
        let read = socket.read(&mut buffer).unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
        idle.push(socket);
    }
    // A new client is served (within the exchange's 20 s read timeout), not only once the
    // idle ones time out after 60 s.
    let answer = raw(
        at,
        "GET /sign-in HTTP/1.1\r\nHost: a.localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    drop(idle);
    server.terminate();
    assert!(server.wait().success());
}

//! Identity through the real binary: an invited admin sets a password, signs in over HTTPS
//! and uses the host-only session cookie, which another brand does not accept; malformed
//! bodies and sign-in floods get the API's error answers; and SIGTERM during a slow request
//! lets that request finish before the process exits 0.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::{
    CapturingVerifier, Server, Workdir, add_brand_with_admin, header, https_exchange, tls_client,
};

const PASSWORD: &str = "correct horse battery staple";

fn json_request(method: &str, host: &str, path: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nOrigin: https://{host}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn sign_in(at: SocketAddr, host: &str, email: &str, password: &str) -> support::Exchange {
    let body = format!(r#"{{"email":"{email}","password":"{password}"}}"#);
    https_exchange(
        at,
        host,
        &json_request("POST", host, "/api/v1/session", &body, ""),
    )
}

#[test]
fn an_invited_admin_signs_in_over_https_and_the_cookie_works_only_on_its_own_brand() {
    let work = Workdir::new();
    let token = add_brand_with_admin(&work, "a.localhost", "admin@a.localhost");
    add_brand_with_admin(&work, "b.localhost", "admin@a.localhost");
    let mut server = start(work.std_command());
    let at = server.addresses().https;

    let accept = https_exchange(
        at,
        "a.localhost",
        &json_request(
            "POST",
            "a.localhost",
            &format!("/api/v1/invitations/{token}/accept"),
            &format!(r#"{{"password":"{PASSWORD}"}}"#),
            "",
        ),
    );
    assert_eq!(accept.status, 200, "{accept:?}");
    assert!(
        accept.body.contains(r#""status":"active""#),
        "{}",
        accept.body
    );
    let again = https_exchange(
        at,
        "a.localhost",
        &json_request(
            "POST",
            "a.localhost",
            &format!("/api/v1/invitations/{token}/accept"),
            &format!(r#"{{"password":"{PASSWORD}"}}"#),
            "",
        ),
    );
    assert_eq!(again.status, 404, "an invitation works once: {again:?}");

    let signed_in = sign_in(at, "a.localhost", "admin@a.localhost", PASSWORD);
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let cookie = header(&signed_in.head, "set-cookie").unwrap().to_owned();
    for attribute in [
        "__Host-ts_session=",
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.to_lowercase().contains("domain="),
        "host-only: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap();

    let me = https_exchange(
        at,
        "a.localhost",
        format!("GET /api/v1/me HTTP/1.1\r\nHost: a.localhost\r\nCookie: {pair}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(me.status, 200, "{me:?}");
    assert!(me.body.contains("admin@a.localhost"), "{}", me.body);
    assert!(me.body.contains("users.manage"), "{}", me.body);

    // The same e-mail on brand B is another user, and A's cookie means nothing there.
    let on_b = https_exchange(
        at,
        "b.localhost",
        format!("GET /api/v1/me HTTP/1.1\r\nHost: b.localhost\r\nCookie: {pair}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(on_b.status, 401, "{on_b:?}");
    assert!(
        on_b.body.contains(r#""code":"unauthenticated""#),
        "{}",
        on_b.body
    );

    // A cookie-authenticated change from another site is refused; another port on the
    // same host is another site.
    for origin in ["https://evil.example", "https://a.localhost:8444"] {
        let forged = https_exchange(
            at,
            "a.localhost",
            &json_request(
                "POST",
                "a.localhost",
                "/api/v1/teams",
                r#"{"name":"Forged"}"#,
                &format!("Cookie: {pair}\r\n"),
            )
            .replace_origin(origin),
        );
        assert_eq!(forged.status, 403, "{origin}: {forged:?}");
    }

    let malformed = https_exchange(
        at,
        "a.localhost",
        &json_request("POST", "a.localhost", "/api/v1/session", "{not json", ""),
    );
    assert_eq!(malformed.status, 422, "{malformed:?}");
    assert!(
        malformed.body.contains(r#""code":"validation_failed""#),
        "{}",
        malformed.body
    );
    server.terminate();
    assert!(server.wait().success());
}

/// `serve` as behind a load balancer that maps port 443 to its HTTPS listener, so the
/// sites' origins are `https://DOMAIN`, which the requests here send.
fn start(mut command: std::process::Command) -> Server {
    command.env("TASKSESSION_PUBLIC_HTTPS_PORT", "443");
    Server::start(command)
}

/// Replaces the `Origin` header's value in a raw request.
trait ReplaceOrigin {
    fn replace_origin(self, origin: &str) -> Vec<u8>;
}

impl ReplaceOrigin for Vec<u8> {
    fn replace_origin(self, origin: &str) -> Vec<u8> {
        let text = String::from_utf8(self).unwrap();
        let start = text.find("Origin: ").unwrap() + "Origin: ".len();
        let end = start + text[start..].find("\r\n").unwrap();
        format!("{}{origin}{}", &text[..start], &text[end..]).into_bytes()
    }
}

#[test]
fn repeated_failed_sign_ins_get_429_with_retry_after_and_the_same_answer_for_unknown_emails() {
    let work = Workdir::new();
    add_brand_with_admin(&work, "a.localhost", "admin@a.localhost");
    let mut command = work.std_command();
    command.env("TASKSESSION_LIMITS_SIGN_IN_PER_MINUTE_PER_ACCOUNT", "2");
    let mut server = start(command);
    let at = server.addresses().https;
    let unknown = sign_in(at, "a.localhost", "nobody@a.localhost", PASSWORD);
    let wrong = sign_in(at, "a.localhost", "admin@a.localhost", "not the password");
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.status, 401);
    assert_eq!(
        unknown.body, wrong.body,
        "no way to tell who has an account"
    );
    sign_in(
        at,
        "a.localhost",
        "admin@a.localhost",
        "not the password either",
    );
    let limited = sign_in(at, "a.localhost", "admin@a.localhost", "third try");
    assert_eq!(limited.status, 429, "{limited:?}");
    let retry: u64 = header(&limited.head, "retry-after")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(limited.body.contains(r#""code":"rate_limited""#));
    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn sigterm_during_a_slow_request_lets_it_finish_and_exits_0() {
    let work = Workdir::new();
    add_brand_with_admin(&work, "a.localhost", "admin@a.localhost");
    let mut server = start(work.std_command());
    let at = server.addresses().https;

    let config = tls_client(CapturingVerifier::new(), &[b"http/1.1"]);
    let name = rustls::pki_types::ServerName::try_from("a.localhost").unwrap();
    let connection = rustls::ClientConnection::new(config, name).unwrap();
    let socket = TcpStream::connect(at).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let body = format!(r#"{{"email":"admin@a.localhost","password":"{PASSWORD}"}}"#);
    let request = json_request("POST", "a.localhost", "/api/v1/session", &body, "");
    let (first, rest) = request.split_at(request.len() - 20);
    tls.write_all(first).unwrap();
    tls.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    server.terminate();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );
    tls.write_all(rest).unwrap();
    tls.flush().unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let answer = String::from_utf8_lossy(&raw);
    // The invitation was never accepted, so the (complete, well-formed) sign-in is refused
    // with the API's answer: proof the request was read to its end and handled.
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains(r#""code":"unauthenticated""#), "{answer}");
    let status = server.wait();
    assert!(status.success(), "exit {status:?}");
}

//! The edge as a client meets it: the real binary on port 0, reached over TLS with and
//! without SNI, HTTP/1.1 and HTTP/2, odd hosts, oversized requests, slow clients, an expired
//! licence and the operator listener.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use licensing::Plan;
use support::{
    Addresses, CapturingVerifier, Server, Workdir, get_request, http_exchange, https_exchange,
    licence, tls_client, today,
};
use tenant_core::platform::acme::ChallengeType;
use time::Duration as Days;

/// A platform with brands on `names` (development mode), running.
fn running(names: &[(&str, &str)], env: &[(&str, &str)]) -> (Workdir, Server, Addresses) {
    let work = Workdir::new();
    for (domain, brand) in names {
        work.command()
            .args(["domain", "add", domain, "--brand", brand])
            .assert()
            .code(0);
    }
    let mut command = work.std_command();
    for (name, value) in env {
        command.env(name, value);
    }
    let mut server = Server::start(command);
    let addresses = server.addresses();
    (work, server, addresses)
}

fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn each_brand_reached_by_its_sni_gets_its_own_certificate_and_page() {
    let (_work, mut server, at) = running(
        &[("alpha.test", "Alpha Studio"), ("beta.test", "Beta Works")],
        &[],
    );
    let alpha = https_exchange(at.https, "alpha.test", &get_request("alpha.test", "/"));
    let beta = https_exchange(at.https, "beta.test", &get_request("beta.test", "/"));
    assert_eq!(alpha.status, 200, "{}", alpha.head);
    assert!(alpha.body.contains("Alpha Studio") && !alpha.body.contains("Beta"));
    assert!(beta.body.contains("Beta Works") && !beta.body.contains("Alpha"));
    let (alpha_cert, beta_cert) = (alpha.certificate.unwrap(), beta.certificate.unwrap());
    assert!(contains_bytes(&alpha_cert, "alpha.test") && !contains_bytes(&alpha_cert, "beta.test"));
    assert!(contains_bytes(&beta_cert, "beta.test"));
    assert_ne!(alpha_cert, beta_cert);
    for header in [
        "x-content-type-options: nosniff",
        "referrer-policy:",
        "frame-ancestors 'none'",
    ] {
        assert!(
            alpha.head.to_ascii_lowercase().contains(header),
            "{header} in {}",
            alpha.head
        );
    }
    assert!(
        !alpha
            .head
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "no HSTS on a self-signed certificate"
    );
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn an_unknown_host_and_a_tls_name_that_differs_from_the_host_get_421_naming_no_tenant() {
    let (_work, _server, at) = running(
        &[("alpha.test", "Alpha Studio"), ("beta.test", "Beta Works")],
        &[],
    );
    let unknown = https_exchange(at.https, "nowhere.test", &get_request("nowhere.test", "/"));
    assert_eq!(unknown.status, 421);
    let mismatch = https_exchange(at.https, "alpha.test", &get_request("beta.test", "/"));
    assert_eq!(mismatch.status, 421);
    for answer in [&unknown, &mismatch] {
        assert!(
            !answer.body.contains("Alpha")
                && !answer.body.contains("Beta")
                && !answer.body.contains(".test")
        );
    }
    // X-Forwarded-Host never routes.
    let forwarded = https_exchange(
        at.https,
        "127.0.0.1",
        b"GET / HTTP/1.1\r\nHost: nowhere.test\r\nX-Forwarded-Host: alpha.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(forwarded.status, 421);
}

#[test]
fn a_client_without_sni_gets_the_fallback_certificate_and_is_routed_by_host() {
    let (_work, _server, at) = running(&[("alpha.test", "Alpha Studio")], &[]);
    // An IP address as the server name: rustls sends no SNI.
    let answer = https_exchange(at.https, "127.0.0.1", &get_request("alpha.test", "/"));
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("Alpha Studio"));
    let certificate = answer.certificate.unwrap();
    assert!(
        !contains_bytes(&certificate, "alpha.test"),
        "the fallback, not the brand's"
    );
}

/// The key exchange a client gets, offering `groups` (in its order of preference), over
/// TLS 1.3 or TLS 1.2; the page's status, or the handshake's error.
fn key_exchange(
    https: std::net::SocketAddr,
    groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<(String, u16), String> {
    let suites = rustls::crypto::aws_lc_rs::default_provider().cipher_suites;
    negotiate(https, groups, suites, version).map(|(group, _, status)| (group, status))
}

/// The key exchange and cipher suite a client gets, offering `groups` and `suites` in its
/// order of preference; with the page's status.
fn negotiate(
    https: std::net::SocketAddr,
    groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>,
    suites: Vec<rustls::SupportedCipherSuite>,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<(String, String, u16), String> {
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: groups,
        cipher_suites: suites,
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let verifier = CapturingVerifier::new();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[version])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("alpha.test").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = TcpStream::connect_timeout(&https, Duration::from_secs(10)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    tls.write_all(&get_request("alpha.test", "/sign-in"))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let group = tls
        .conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()))
        .ok_or("no key exchange")?;
    let suite = tls
        .conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .ok_or("no cipher suite")?;
    Ok((group, suite, support::parse_exchange(&raw, None).status))
}

#[test]
fn aes_128_gcm_is_chosen_first_whatever_the_client_prefers_and_every_aead_suite_works() {
    use rustls::crypto::aws_lc_rs::cipher_suite::*;
    use rustls::crypto::aws_lc_rs::kx_group::X25519;
    use rustls::version::{TLS12, TLS13};
    let (_work, _server, at) = running(&[("alpha.test", "Alpha Studio")], &[]);
    let suite = |suites, version| {
        negotiate(at.https, vec![X25519], suites, version).map(|(_, suite, status)| (suite, status))
    };
    // OpenSSL's order (curl, wrk): AES-256-GCM first. The server's order decides.
    assert_eq!(
        suite(
            vec![
                TLS13_AES_256_GCM_SHA384,
                TLS13_CHACHA20_POLY1305_SHA256,
                TLS13_AES_128_GCM_SHA256
            ],
            &TLS13
        ),
        Ok(("TLS13_AES_128_GCM_SHA256".to_owned(), 200))
    );
    assert_eq!(
        suite(
            vec![
                TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            ],
            &TLS12
        ),
        Ok(("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_owned(), 200))
    );
    // A client with one suite gets it.
    for (only, name) in [
        (TLS13_AES_256_GCM_SHA384, "TLS13_AES_256_GCM_SHA384"),
        (
            TLS13_CHACHA20_POLY1305_SHA256,
            "TLS13_CHACHA20_POLY1305_SHA256",
        ),
    ] {
        assert_eq!(suite(vec![only], &TLS13), Ok((name.to_owned(), 200)));
    }
    assert_eq!(
        suite(vec![TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256], &TLS12),
        Ok((
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".to_owned(),
            200
        ))
    );
}

#[test]
fn the_post_quantum_hybrid_key_exchange_is_chosen_first_and_classic_clients_still_connect() {
    use rustls::crypto::aws_lc_rs::kx_group::{SECP256R1, SECP384R1, X25519, X25519MLKEM768};
    use rustls::version::{TLS12, TLS13};
    let (_work, _server, at) = running(&[("alpha.test", "Alpha Studio")], &[]);
    // A current browser's offer: the hybrid first, X25519 beside it.
    assert_eq!(
        key_exchange(at.https, vec![X25519MLKEM768, X25519, SECP256R1], &TLS13),
        Ok(("X25519MLKEM768".to_owned(), 200))
    );
    // Only the hybrid, or only a classic group (OpenSSL 3.0, older browsers): each works.
    assert_eq!(
        key_exchange(at.https, vec![X25519MLKEM768], &TLS13),
        Ok(("X25519MLKEM768".to_owned(), 200))
    );
    for (group, name) in [
        (X25519, "X25519"),
        (SECP256R1, "secp256r1"),
        (SECP384R1, "secp384r1"),
    ] {
        assert_eq!(
            key_exchange(at.https, vec![group], &TLS13),
            Ok((name.to_owned(), 200))
        );
    }
    // TLS 1.2 has no hybrid: X25519 with forward secrecy still.
    assert_eq!(
        key_exchange(at.https, vec![X25519MLKEM768, X25519], &TLS12),
        Ok(("X25519".to_owned(), 200))
    );
}

#[test]
fn hosts_are_normalised_for_case_port_trailing_dot_and_international_names() {
    let (_work, _server, at) = running(
        &[("alpha.test", "Alpha Studio"), ("bücher.test", "Bücher")],
        &[],
    );
    for host in [
        "ALPHA.Test",
        "alpha.test:443",
        "alpha.test.",
        "Alpha.Test.:8443",
    ] {
        let answer = https_exchange(at.https, "127.0.0.1", &get_request(host, "/"));
        assert_eq!(answer.status, 200, "Host: {host}");
        assert!(answer.body.contains("Alpha Studio"), "Host: {host}");
    }
    let answer = https_exchange(
        at.https,
        "xn--bcher-kva.test",
        &get_request("XN--BCHER-KVA.TEST", "/"),
    );
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("B&#252;cher") || answer.body.contains("Bücher"));
    let bracketed = https_exchange(at.https, "127.0.0.1", &get_request("[::1]", "/"));
    assert_eq!(bracketed.status, 421);
}

#[test]
fn http2_requests_are_routed_by_authority_alone() {
    let (_work, _server, at) = running(&[("alpha.test", "Alpha Studio")], &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let verifier = CapturingVerifier::new();
        let connector =
            tokio_rustls::TlsConnector::from(tls_client(Arc::clone(&verifier), &[b"h2"]));
        let tcp = tokio::net::TcpStream::connect(at.https).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("alpha.test").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut sender, connection) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tls),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let request = axum::http::Request::get("https://alpha.test/")
            .body(http_body_util::Empty::<axum::body::Bytes>::new())
            .unwrap();
        assert!(request.headers().get("host").is_none());
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), axum::http::Version::HTTP_2);
        use http_body_util::BodyExt as _;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("Alpha Studio"));
    });
}

#[test]
fn a_megabyte_header_gets_431_and_an_oversized_body_413() {
    let (_work, _server, at) = running(
        &[("a.localhost", "Local")],
        &[("TASKSESSION_LIMITS_MAX_BODY_BYTES", "1000")],
    );
    let big = "x".repeat(1024 * 1024);
    let request =
        format!("GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    let answer = http_exchange(at.http, request.as_bytes());
    assert_eq!(answer.status, 431, "{}", answer.head);
    let body = "y".repeat(5000);
    let request = format!(
        "POST /api/v1/brand HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = http_exchange(at.http, request.as_bytes());
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert!(answer.body.contains("\"too_large\""));
    // The server still answers normally afterwards.
    assert_eq!(
        http_exchange(at.http, &get_request("a.localhost", "/")).status,
        200
    );
}

#[test]
fn a_slowloris_client_is_cut_off_while_another_client_keeps_being_served() {
    let (_work, _server, at) = running(
        &[("a.localhost", "Local")],
        &[("TASKSESSION_LIMITS_HEADER_READ_TIMEOUT_S", "2")],
    );
    let slow = std::thread::spawn(move || {
        let mut socket = TcpStream::connect(at.http).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let started = Instant::now();
        let request = b"GET / HTTP/1.1\r\nHost: a.localhost\r\nX-Slow: ";
        let mut buffer = [0u8; 512];
        for byte in request.iter().chain(std::iter::repeat(&b'z')) {
            if socket.write_all(&[*byte]).is_err() {
                return started.elapsed();
            }
            match socket.read(&mut buffer) {
                Ok(0) => return started.elapsed(),
                Ok(_) => return started.elapsed(),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return started.elapsed(),
            }
            std::thread::sleep(Duration::from_millis(300));
            if started.elapsed() > Duration::from_secs(30) {
                break;
            }
        }
        started.elapsed()
    });
    let mut served = 0;
    while !slow.is_finished() {
        assert_eq!(
            http_exchange(at.http, &get_request("a.localhost", "/")).status,
            200
        );
        served += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let lasted = slow.join().unwrap();
    assert!(
        lasted < Duration::from_secs(30),
        "the slow client was never cut off"
    );
    assert!(
        served >= 3,
        "other clients were served meanwhile ({served})"
    );
}

#[test]
fn the_http_listener_redirects_to_https_keeping_path_and_query() {
    let (_work, _server, at) = running(
        &[("alpha.test", "Alpha Studio"), ("a.localhost", "Local")],
        &[],
    );
    let answer = http_exchange(at.http, &get_request("alpha.test", "/projects?tab=board"));
    assert_eq!(answer.status, 308);
    let location = format!(
        "location: https://alpha.test:{}/projects?tab=board",
        at.https.port()
    );
    assert!(
        answer.head.to_ascii_lowercase().contains(&location),
        "{}",
        answer.head
    );
    // In development mode localhost names are served over plain HTTP too.
    let local = http_exchange(at.http, &get_request("a.localhost", "/"));
    assert_eq!(local.status, 200);
    assert!(local.body.contains("Local"));
    assert_eq!(
        http_exchange(at.http, &get_request("nowhere.test", "/")).status,
        421
    );
}

#[test]
fn a_suspended_domain_gets_a_brand_neutral_403_page() {
    let work = Workdir::new();
    work.command()
        .args(["domain", "add", "alpha.test", "--brand", "Alpha Studio"])
        .assert()
        .code(0);
    work.command()
        .args(["domain", "suspend", "alpha.test"])
        .assert()
        .code(0);
    let mut server = Server::start(work.std_command());
    let at = server.addresses();
    let answer = https_exchange(at.https, "alpha.test", &get_request("alpha.test", "/"));
    assert_eq!(answer.status, 403);
    assert!(!answer.body.contains("Alpha") && !answer.body.to_lowercase().contains("task session"));
}

#[test]
fn an_expired_licence_answers_writes_with_402_and_reads_with_200() {
    let work = Workdir::new();
    work.write("data/licence.txt", &licence(Plan::Multi, today(), None));
    work.command()
        .args(["domain", "add", "projects.example.com", "--brand", "Acme"])
        .assert()
        .code(0);
    work.write(
        "data/licence.txt",
        &licence(
            Plan::Multi,
            today() - Days::days(500),
            Some(today() - Days::days(30)),
        ),
    );
    let mut server = Server::start(work.std_command());
    server.wait_for_line("read-only");
    let at = server.addresses();
    let read = https_exchange(
        at.https,
        "projects.example.com",
        &get_request("projects.example.com", "/api/v1/brand"),
    );
    assert_eq!(read.status, 200, "{}", read.head);
    assert!(read.body.contains("\"read_only\":true"));
    let write = https_exchange(
        at.https,
        "projects.example.com",
        b"POST /api/v1/brand HTTP/1.1\r\nHost: projects.example.com\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(write.status, 402, "{}", write.head);
    assert!(write.body.contains("\"code\":\"read_only\""));
    let page = https_exchange(
        at.https,
        "projects.example.com",
        b"POST / HTTP/1.1\r\nHost: projects.example.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(page.status, 402);
    assert!(!page.body.contains("Acme"), "brand-neutral");
}

#[test]
fn the_operator_listener_keeps_metrics_and_its_api_behind_the_token() {
    let (_work, _server, at) = running(
        &[("alpha.test", "Alpha Studio")],
        &[("TASKSESSION_OPERATOR_TOKEN", "op-secret-123")],
    );
    https_exchange(at.https, "alpha.test", &get_request("alpha.test", "/"));
    let plain = |path: &str, token: Option<&str>| {
        let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
        http_exchange(
            at.operator,
            format!("GET {path} HTTP/1.1\r\nHost: ops\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    assert_eq!(plain("/healthz", None).status, 200);
    assert_eq!(plain("/readyz", None).status, 200);
    assert_eq!(plain("/metrics", None).status, 401);
    assert_eq!(plain("/metrics", Some("wrong")).status, 401);
    assert_eq!(plain("/operator/v1/domains", None).status, 401);
    let metrics = plain("/metrics", Some("op-secret-123"));
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("tasksession_requests_total{tenant=\"alpha.test\",status=\"200\"} 1"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("tasksession_tls_handshakes_total"));
    assert!(
        metrics
            .body
            .contains("tasksession_licence_state{state=\"development\"} 1")
    );
    assert!(
        metrics
            .body
            .contains("tasksession_certificate_expiry_seconds{domain=\"alpha.test\"}")
    );
    let domains = plain("/operator/v1/domains", Some("op-secret-123"));
    assert_eq!(domains.status, 200);
    assert!(domains.body.contains("\"domain\":\"alpha.test\""));
    let licence = plain("/operator/v1/licence", Some("op-secret-123"));
    assert!(licence.body.contains("\"state\":\"development\""));
    let certificates = plain("/operator/v1/certificates", Some("op-secret-123"));
    assert!(certificates.body.contains("\"source\":\"self-signed\""));
    assert!(!certificates.body.contains("PRIVATE KEY"));
}

#[test]
fn a_domain_added_while_running_is_served_within_seconds() {
    let (work, _server, at) = running(&[("alpha.test", "Alpha Studio")], &[]);
    work.command()
        .args(["domain", "add", "gamma.test", "--brand", "Gamma"])
        .assert()
        .code(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = https_exchange(at.https, "gamma.test", &get_request("gamma.test", "/"));
        if answer.status == 200 {
            assert!(answer.body.contains("Gamma"));
            assert!(contains_bytes(&answer.certificate.unwrap(), "gamma.test"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gamma.test not served after 20 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_licence_installed_while_running_takes_effect_without_a_restart() {
    let work = Workdir::new();
    work.write("data/licence.txt", &licence(Plan::Multi, today(), None));
    work.command()
        .args(["domain", "add", "projects.example.com", "--brand", "Acme"])
        .assert()
        .code(0);
    let mut server = Server::start(work.std_command());
    let at = server.addresses();
    let write = || {
        https_exchange(
            at.https,
            "projects.example.com",
            b"POST /api/v1/brand HTTP/1.1\r\nHost: projects.example.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .status
    };
    assert_eq!(
        write(),
        405,
        "writes reach the brand while the licence is valid"
    );
    // The vendor's renewal is late: the installed licence is now past its grace period.
    work.write(
        "data/licence.txt",
        &licence(
            Plan::Multi,
            today() - Days::days(500),
            Some(today() - Days::days(30)),
        ),
    );
    server.wait_for_line("read-only");
    let deadline = Instant::now() + Duration::from_secs(20);
    while write() != 402 {
        assert!(
            Instant::now() < deadline,
            "the expired licence was not applied"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // A damaged file is reported and the last good standing kept.
    work.write("data/licence.txt", "garbage");
    server.wait_for_line("keeping the last good licence");
    assert_eq!(write(), 402);
}

#[test]
fn a_client_that_connects_and_says_nothing_is_cut_off() {
    let (_work, _server, at) = running(
        &[("a.localhost", "Local")],
        &[("TASKSESSION_LIMITS_HEADER_READ_TIMEOUT_S", "2")],
    );
    let mut silent = TcpStream::connect(at.http).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 16];
    let read = silent.read(&mut buffer);
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "kept open {:?}",
        started.elapsed()
    );
}

#[test]
fn connections_over_the_cap_wait_while_every_one_is_busy_until_one_closes() {
    let (_work, _server, at) = running(
        &[("a.localhost", "Local")],
        &[("TASKSESSION_LIMITS_MAX_CONNECTIONS", "2")],
    );
    // Two clients take both places, each in the middle of sending a request body (busy, not
    // idle: an idle one would be closed to make room).
    let busy = || {
        let mut socket = TcpStream::connect(at.http).unwrap();
        socket
            .write_all(
                b"POST /api/v1/session HTTP/1.1\r\nHost: a.localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\"",
            )
            .unwrap();
        socket
    };
    let first = busy();
    let second = busy();
    std::thread::sleep(Duration::from_millis(300));
    let (done, answered) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let answer = http_exchange(at.http, &get_request("a.localhost", "/"));
        let _ = done.send(answer.status);
    });
    assert!(
        answered.recv_timeout(Duration::from_secs(1)).is_err(),
        "a third connection was served while two were open"
    );
    drop(first);
    let status = answered.recv_timeout(Duration::from_secs(15)).unwrap();
    assert_eq!(status, 200);
    drop(second);
}

#[test]
fn an_http_01_answer_in_the_platform_store_is_served_for_its_domain_on_both_listeners() {
    let (work, _server, at) = running(&[("a.localhost", "A"), ("b.localhost", "B")], &[]);
    // Another replica (here: this test) puts the answer in the shared platform store.
    let (runtime, platform) = platform_of(&work);
    runtime.block_on(async {
        let domain = tenant_core::Hostname::parse("a.localhost").unwrap();
        let until = time::OffsetDateTime::now_utc() + Days::minutes(5);
        platform
            .put_challenge(
                &domain,
                ChallengeType::Http01,
                "Tok_en-1",
                "Tok_en-1.thumb",
                until,
            )
            .await
            .unwrap();
        platform.close().await;
    });
    let path = "/.well-known/acme-challenge/Tok_en-1";
    // The CA sends the port in Host; plain HTTP is answered, not redirected.
    let plain = http_exchange(at.http, &get_request("a.localhost:80", path));
    assert_eq!(plain.status, 200, "{plain:?}");
    assert_eq!(plain.body, "Tok_en-1.thumb");
    let secure = https_exchange(at.https, "a.localhost", &get_request("a.localhost", path));
    assert_eq!(secure.status, 200);
    assert_eq!(secure.body, "Tok_en-1.thumb");
    let other_brand = http_exchange(at.http, &get_request("b.localhost", path));
    assert_eq!(
        other_brand.status, 404,
        "an answer is for its own domain only"
    );
    let unknown = http_exchange(
        at.http,
        &get_request("a.localhost", "/.well-known/acme-challenge/nope"),
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn a_domain_can_be_added_with_its_own_acme_challenge_type_and_a_bad_one_is_refused() {
    let work = Workdir::new();
    work.command()
        .args([
            "domain",
            "add",
            "a.localhost",
            "--brand",
            "A",
            "--acme-challenge",
            "tls-alpn-01",
        ])
        .assert()
        .code(0);
    work.command()
        .args([
            "domain",
            "add",
            "b.localhost",
            "--brand",
            "B",
            "--acme-challenge",
            "dns-01",
        ])
        .assert()
        .code(2);
    let (runtime, platform) = platform_of(&work);
    runtime.block_on(async {
        let a = tenant_core::Hostname::parse("a.localhost").unwrap();
        assert_eq!(
            platform.challenge_type(&a).await.unwrap(),
            Some(tenant_core::platform::acme::ChallengeType::TlsAlpn01)
        );
        let b = tenant_core::Hostname::parse("b.localhost").unwrap();
        assert!(
            platform.tenant_by_domain(&b).await.unwrap().is_none(),
            "nothing added"
        );
        platform.close().await;
    });
}

/// The platform store of a work directory, opened beside the running server (as another
/// replica would).
fn platform_of(work: &Workdir) -> (tokio::runtime::Runtime, tenant_core::Platform) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = tenant_core::Backend::Sqlite {
        dir: work.path().join("data"),
    };
    let platform = runtime
        .block_on(tenant_core::Platform::open(&backend))
        .unwrap();
    (runtime, platform)
}

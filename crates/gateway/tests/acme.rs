//! Automatic HTTPS against a real ACME CA: Pebble (Debian's `pebble`) on loopback with
//! `pebble-challtestsrv` as its DNS. Five domains get certificates by HTTP-01 and
//! TLS-ALPN-01 and a verifying TLS client gets each domain's own chain and page; a short
//! validity is renewed; with Pebble stopped the last certificate keeps being served and the
//! failure shows in `cert status` and `/metrics`, and issuance resumes (on a new account)
//! when Pebble is back; two replicas on one PostgreSQL order each certificate once; and
//! `cert import` checks what it is given.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::pebble::{Pebble, PebbleOptions, free_port, verified_get};
use support::{PostgresDb, Server, Workdir, get_request, http_exchange};

const DOMAINS: [(&str, &str, Option<&str>); 5] = [
    ("alpha.test", "Alpha Studio", None),
    ("beta.test", "Beta Works", Some("tls-alpn-01")),
    ("gamma.test", "Gamma Design", None),
    ("delta.test", "Delta Agency", Some("tls-alpn-01")),
    ("epsilon.test", "Epsilon Labs", Some("http-01")),
];
const OPERATOR_TOKEN: &str = "operator-secret-for-acme-tests";

/// Pebble validating on two new free ports, which the server under test then listens on:
/// (Pebble, http port, https port).
fn pebble_on_free_ports(validity_seconds: Option<u64>) -> Option<(Pebble, u16, u16)> {
    let (http_port, https_port) = (free_port(false), free_port(false));
    let pebble = Pebble::start(PebbleOptions {
        http_port,
        tls_port: https_port,
        validity_seconds,
    })?;
    Some((pebble, http_port, https_port))
}

fn add_domains(work: &Workdir, domains: &[(&str, &str, Option<&str>)], database: Option<&str>) {
    for (domain, brand, challenge) in domains {
        let mut command = work.command();
        if let Some(url) = database {
            command.env("TASKSESSION_DATABASE_URL", url);
        }
        command.args(["domain", "add", domain, "--brand", brand]);
        if let Some(challenge) = challenge {
            command.args(["--acme-challenge", challenge]);
        }
        command.assert().code(0);
    }
}

/// Points the work directory's `tasksession.toml` at `pebble`, for `serve` and the CLI.
fn configure_acme(work: &Workdir, pebble: &Pebble) {
    work.write(
        "tasksession.toml",
        &format!(
            "[acme]\ndirectory_url = \"{}\"\nca_bundle = \"{}\"\ncontact_email = \"ops@agency.test\"\n",
            pebble.directory_url,
            pebble.ca_bundle.display()
        ),
    );
}

/// `serve` with ACME pointed at `pebble`, its `http` and `https` listeners on the given
/// ports (0: any), and `database` (SQLite in the work directory when `None`).
fn start_server(
    work: &Workdir,
    pebble: &Pebble,
    ports: (u16, u16),
    database: Option<&str>,
) -> Server {
    configure_acme(work, pebble);
    let mut command = work.std_command();
    command
        .env("TASKSESSION_LISTEN_HTTP", format!("127.0.0.1:{}", ports.0))
        .env("TASKSESSION_LISTEN_HTTPS", format!("127.0.0.1:{}", ports.1))
        .env("TASKSESSION_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("TASKSESSION_LOG_FORMAT", "json");
    if let Some(url) = database {
        command.env("TASKSESSION_DATABASE_URL", url);
    }
    let mut server = Server::start(command);
    server.addresses();
    server
}

/// Waits until `domain` on `https` presents a chain that verifies against Pebble's current
/// root and serves the brand's page; returns the leaf certificate.
fn wait_for_ca_certificate(
    https: SocketAddr,
    domain: &str,
    brand: &str,
    root: &str,
    within: Duration,
) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        match verified_get(https, domain, root) {
            Ok(answer) if answer.status == 200 && answer.body.contains(brand) => {
                return answer.certificate.unwrap();
            }
            Ok(answer) => last = format!("status {}: {}", answer.status, answer.head),
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{domain} has no certificate from Pebble after {within:?}: {last}");
}

fn cert_status(work: &Workdir, database: Option<&str>) -> serde_json::Value {
    let mut command = work.command();
    if let Some(url) = database {
        command.env("TASKSESSION_DATABASE_URL", url);
    }
    let output = command.args(["cert", "status", "--json"]).assert().code(0);
    serde_json::from_slice(&output.get_output().stdout).unwrap()
}

fn status_of<'a>(status: &'a serde_json::Value, domain: &str) -> &'a serde_json::Value {
    status
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["domain"] == domain)
        .unwrap()
}

fn metrics(operator: SocketAddr) -> String {
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {OPERATOR_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let answer = http_exchange(operator, request.as_bytes());
    assert_eq!(answer.status, 200, "{}", answer.head);
    answer.body
}

#[test]
fn five_domains_get_certificates_by_http01_and_tls_alpn01_and_each_name_gets_its_own() {
    let Some((pebble, http_port, https_port)) = pebble_on_free_ports(None) else {
        return;
    };
    let work = Workdir::new();
    add_domains(&work, &DOMAINS, None);
    let started = Instant::now();
    let mut server = start_server(&work, &pebble, (http_port, https_port), None);
    let https = server.addresses().https;
    let root = pebble.root_pem();
    let mut leaves = Vec::new();
    for (domain, brand, _) in DOMAINS {
        leaves.push(wait_for_ca_certificate(
            https,
            domain,
            brand,
            &root,
            Duration::from_secs(60),
        ));
    }
    eprintln!(
        "all five domains served with CA-issued certificates {} ms after serve started",
        started.elapsed().as_millis()
    );
    // Each name got its own certificate, naming it and no other brand.
    for (index, (domain, _, _)) in DOMAINS.iter().enumerate() {
        let leaf = &leaves[index];
        assert!(leaf.windows(domain.len()).any(|w| w == domain.as_bytes()));
        for (other, _, _) in DOMAINS.iter().filter(|(d, _, _)| d != domain) {
            assert!(!leaf.windows(other.len()).any(|w| w == other.as_bytes()));
        }
    }
    // Both challenge types were used, each for the domains set to it.
    let log = pebble.log();
    assert!(log.contains("Attempting to validate w/ HTTP: http://alpha.test:"));
    assert!(
        !log.contains("http://beta.test:"),
        "beta.test is set to tls-alpn-01"
    );
    assert!(log.contains("beta.test") && log.contains("delta.test"));
    assert_eq!(pebble.issued(), 5);

    let status = cert_status(&work, None);
    for (domain, _, _) in DOMAINS {
        let row = status_of(&status, domain);
        assert_eq!(row["source"], "acme", "{row}");
        assert!(
            row["issuer"]
                .as_str()
                .unwrap()
                .starts_with("Pebble Intermediate CA")
        );
        assert_eq!(row["auto_renew"], true);
        assert_eq!(row["failures"], 0);
        assert!(row["next_renewal"].as_str().unwrap() > row["not_before"].as_str().unwrap());
    }
    // A CA-issued certificate turns HSTS on.
    let answer = verified_get(https, "alpha.test", &root).unwrap();
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("strict-transport-security")
    );
    // The challenge certificate is never given to a normal client.
    let plain = support::https_exchange(https, "beta.test", &get_request("beta.test", "/"));
    assert_eq!(plain.status, 200);
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn a_short_lived_certificate_is_renewed_and_the_new_one_served() {
    let Some((pebble, http_port, https_port)) = pebble_on_free_ports(Some(24)) else {
        return;
    };
    let work = Workdir::new();
    add_domains(&work, &DOMAINS[..2], None);
    let mut server = start_server(&work, &pebble, (http_port, https_port), None);
    let https = server.addresses().https;
    let root = pebble.root_pem();
    let first = wait_for_ca_certificate(
        https,
        "beta.test",
        "Beta Works",
        &root,
        Duration::from_secs(60),
    );
    // Renewal is due with a third of the 24 s left; wait for a different leaf.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = wait_for_ca_certificate(
            https,
            "beta.test",
            "Beta Works",
            &root,
            Duration::from_secs(30),
        );
        if now != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "beta.test was not renewed within 60 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        pebble.issued() >= 3,
        "both domains issued, then at least one renewed"
    );
}

#[test]
fn with_the_ca_down_the_last_certificate_is_served_and_the_failure_shown_until_it_is_back() {
    let Some((mut pebble, http_port, https_port)) = pebble_on_free_ports(Some(30)) else {
        return;
    };
    let work = Workdir::new();
    add_domains(&work, &DOMAINS[..1], None);
    let mut server = start_server(&work, &pebble, (http_port, https_port), None);
    let at = server.addresses();
    let old_root = pebble.root_pem();
    let first = wait_for_ca_certificate(
        at.https,
        "alpha.test",
        "Alpha Studio",
        &old_root,
        Duration::from_secs(60),
    );
    pebble.stop();

    // Renewal comes due 20 s after issuance and fails; the failure is visible.
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let status = cert_status(&work, None);
        let row = status_of(&status, "alpha.test").clone();
        if row["failures"].as_i64().unwrap() >= 1 {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "no failed renewal within 60 s: {row}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let error = row["last_error"].as_str().unwrap();
    assert!(
        error.contains("Connect") || error.contains("connect"),
        "{error}"
    );
    assert!(
        row["next_renewal_note"]
            .as_str()
            .unwrap()
            .starts_with("retry at")
    );
    assert!(
        metrics(at.operator)
            .contains("tasksession_certificate_order_failures{domain=\"alpha.test\"} 1")
    );

    // The last good certificate is still served, also once it has expired.
    std::thread::sleep(Duration::from_secs(12));
    let still = support::https_exchange(at.https, "alpha.test", &get_request("alpha.test", "/"));
    assert_eq!(still.status, 200);
    assert_eq!(
        still.certificate.unwrap(),
        first,
        "the CA-issued certificate stays in use"
    );

    // Pebble is back with a new root and no memory of the account: the server registers
    // again and issues once its back-off (about a minute) has passed.
    pebble.resume();
    let new_root = pebble.root_pem();
    assert_ne!(new_root, old_root);
    let renewed = wait_for_ca_certificate(
        at.https,
        "alpha.test",
        "Alpha Studio",
        &new_root,
        Duration::from_secs(120),
    );
    assert_ne!(renewed, first);
    let status = cert_status(&work, None);
    assert_eq!(status_of(&status, "alpha.test")["failures"], 0);
    assert_eq!(
        pebble
            .log()
            .matches("There are now 1 accounts in memory")
            .count(),
        2,
        "one account before Pebble's restart, a new one after"
    );
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn two_replicas_on_one_postgresql_order_each_certificate_once() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    let url = database.url();
    let Some((pebble, http_port, https_port)) = pebble_on_free_ports(None) else {
        return;
    };
    let work = Workdir::new();
    add_domains(&work, &DOMAINS, Some(&url));
    // Only the first replica owns the ports Pebble validates on; the second's challenge
    // answers reach Pebble through the first, from the shared store.
    let mut first = start_server(&work, &pebble, (http_port, https_port), Some(&url));
    let other_work = Workdir::new();
    let mut second = start_server(&other_work, &pebble, (0, 0), Some(&url));
    let root = pebble.root_pem();
    let (first_https, second_https) = (first.addresses().https, second.addresses().https);
    for (domain, brand, _) in DOMAINS {
        let a = wait_for_ca_certificate(first_https, domain, brand, &root, Duration::from_secs(60));
        let b =
            wait_for_ca_certificate(second_https, domain, brand, &root, Duration::from_secs(30));
        assert_eq!(a, b, "both replicas serve the one certificate of {domain}");
    }
    assert_eq!(pebble.orders(), 5, "{}", pebble.log());
    assert_eq!(pebble.issued(), 5);
    let ordered_by = |server: &mut Server| {
        while let Ok(line) = server.lines.try_recv() {
            server.seen.push(line);
        }
        server
            .seen
            .iter()
            .filter(|line| line.contains("certificate issued"))
            .count()
    };
    let (by_first, by_second) = (ordered_by(&mut first), ordered_by(&mut second));
    eprintln!("certificates ordered by the first replica: {by_first}, by the second: {by_second}");
    assert_eq!(by_first + by_second, 5);

    // `cert renew` in a third process, bound to no port: Pebble checks the TLS-ALPN-01
    // answer on the first replica, which finds it in the shared store; both replicas then
    // serve the new certificate without a restart.
    let old = wait_for_ca_certificate(
        first_https,
        "beta.test",
        "Beta Works",
        &root,
        Duration::from_secs(5),
    );
    let renew = work
        .command()
        .env("TASKSESSION_DATABASE_URL", &url)
        .args(["cert", "renew", "beta.test"])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&renew.get_output().stderr).into_owned();
    assert!(
        stderr.contains("ordering a certificate for beta.test"),
        "{stderr}"
    );
    if !stderr.contains("answering the tls-alpn-01 challenge") {
        // Pebble sometimes hands back the account's still-valid authorization for the name
        // even with PEBBLE_AUTHZREUSE=0; then no challenge is asked.
        eprintln!("the CA reused beta.test's authorization: no challenge this time");
    }
    for https in [first_https, second_https] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while wait_for_ca_certificate(
            https,
            "beta.test",
            "Beta Works",
            &root,
            Duration::from_secs(5),
        ) == old
        {
            assert!(
                Instant::now() < deadline,
                "a replica still serves the old certificate"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    assert_eq!(pebble.issued(), 6, "the renewal was issued once");
    first.terminate();
    second.terminate();
    assert_eq!(first.wait().code(), Some(0));
    assert_eq!(second.wait().code(), Some(0));
}

/// A CA and a leaf for `names` signed by it, as PEM: (chain, key).
fn bought_certificate(names: &[&str], days: (i64, i64)) -> (String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Bought CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(days.0);
    params.not_after = now + time::Duration::days(days.1);
    let leaf = params.signed_by(&key, &issuer).unwrap();
    (leaf.pem(), key.serialize_pem())
}

#[test]
fn cert_import_checks_the_key_the_name_and_the_dates_and_renew_needs_acme() {
    let work = Workdir::new();
    add_domains(&work, &DOMAINS[..1], None);
    let (chain, key) = bought_certificate(&["*.test"], (-1, 90));
    let (_, other_key) = bought_certificate(&["alpha.test"], (-1, 90));
    let (other_name, other_name_key) = bought_certificate(&["www.example.com"], (-1, 90));
    let (expired, expired_key) = bought_certificate(&["alpha.test"], (-90, -1));
    let import = |chain: &str, key: &str, domain: &str| {
        let cert_path = work.write("import/cert.pem", chain);
        let key_path = work.write("import/key.pem", key);
        let output = work
            .command()
            .args(["cert", "import", domain, "--cert"])
            .arg(&cert_path)
            .arg("--key")
            .arg(&key_path)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = import(&chain, &other_key, "alpha.test");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("key does not belong"), "{stderr}");
    let (code, stderr) = import(&other_name, &other_name_key, "alpha.test");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("does not cover alpha.test"), "{stderr}");
    let (code, stderr) = import(&expired, &expired_key, "alpha.test");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("expired"), "{stderr}");
    let (code, stderr) = import("not a certificate", &key, "alpha.test");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("certificate file"), "{stderr}");
    let (code, stderr) = import(&chain, &key, "unknown.test");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no domain unknown.test"), "{stderr}");
    let status = cert_status(&work, None);
    assert_ne!(
        status_of(&status, "alpha.test")["source"],
        "imported",
        "refused imports change nothing"
    );

    let (code, stderr) = import(&chain, &key, "alpha.test");
    assert_eq!(code, Some(0), "{stderr}");
    let status = cert_status(&work, None);
    let row = status_of(&status, "alpha.test");
    assert_eq!(row["source"], "imported");
    assert_eq!(row["issuer"], "Bought CA");
    assert_eq!(row["auto_renew"], false);
    assert!(
        row["next_renewal_note"]
            .as_str()
            .unwrap()
            .contains("imported")
    );

    // The running server serves the imported certificate.
    let mut server = Server::start(work.std_command());
    let https = server.addresses().https;
    let answer = support::https_exchange(https, "alpha.test", &get_request("alpha.test", "/"));
    let leaf = answer.certificate.unwrap();
    let expected = rustls_pemfile::certs(&mut chain.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(leaf, expected.as_ref());
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "a CA's certificate turns HSTS on: {}",
        answer.head
    );
    server.terminate();
    server.wait();

    // A self-signed certificate imported is served, but never with HSTS.
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let own = rcgen::CertificateParams::new(vec!["alpha.test".to_owned()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap();
    let (code, stderr) = import(&own.pem(), &key_pair.serialize_pem(), "alpha.test");
    assert_eq!(code, Some(0), "{stderr}");
    let mut server = Server::start(work.std_command());
    let https = server.addresses().https;
    let answer = support::https_exchange(https, "alpha.test", &get_request("alpha.test", "/"));
    assert_eq!(answer.certificate.unwrap(), own.der().as_ref());
    assert!(
        !answer
            .head
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "HSTS with a self-signed certificate: {}",
        answer.head
    );

    let renew = work
        .command()
        .args(["cert", "renew", "alpha.test"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&renew.get_output().stderr).into_owned();
    assert!(stderr.contains("ACME is not configured"), "{stderr}");
    work.command()
        .args(["cert", "status", "nowhere.test"])
        .assert()
        .code(1);
    work.command()
        .args(["cert", "status", "not a domain"])
        .assert()
        .code(2);
}

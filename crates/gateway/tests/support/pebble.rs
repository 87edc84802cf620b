//! Pebble, the ACME test CA (Debian package `pebble`), run on loopback for one test with its
//! own TLS certificate, and `pebble-challtestsrv` as its DNS, answering 127.0.0.1 for every
//! name. Pebble makes a new root at every start, so the root is fetched from its management
//! port each time it is needed.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Exchange, in_ci, parse_exchange};

/// A free loopback port for TCP (and UDP, when `udp`).
pub fn free_port(udp: bool) -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if !udp || UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A free loopback TCP port below the kernel's ephemeral range, for a listener that is
/// stopped and started again on the same port: no outgoing connection and no `free_port`
/// of another test can take it in between, as they could take an ephemeral one.
pub fn restartable_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(12000);
    let mut seed = [0u8; 2];
    loop {
        getrandom::fill(&mut seed).unwrap();
        let port = 10000 + u16::from_le_bytes(seed) % (low - 10000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Where the CA checks challenges: the `http` and `https` ports of the server under test.
#[derive(Debug, Clone, Copy)]
pub struct PebbleOptions {
    pub http_port: u16,
    pub tls_port: u16,
    /// `certificateValidityPeriod` in seconds (Pebble's default is five years).
    pub validity_seconds: Option<u64>,
}

pub struct Pebble {
    dir: tempfile::TempDir,
    /// The ACME directory URL, for `TASKSESSION_ACME_DIRECTORY_URL`.
    pub directory_url: String,
    /// The CA of Pebble's own HTTPS certificate, for `TASKSESSION_ACME_CA_BUNDLE`.
    pub ca_bundle: PathBuf,
    acme: SocketAddr,
    management: SocketAddr,
    dns: SocketAddr,
    pebble: Option<Child>,
    dns_server: Child,
}

/// Pebble's HTTPS certificate: a test CA and a leaf for 127.0.0.1 and localhost.
fn write_tls_files(dir: &Path) -> PathBuf {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Pebble's HTTPS test CA");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
    let bundle = dir.join("ca.pem");
    std::fs::write(&bundle, ca_cert.pem()).unwrap();
    bundle
}

fn wait_for_port(address: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Pebble {
    /// Starts Pebble and its DNS, or returns `None` with a notice when Pebble is not
    /// installed (with `CI=true` that is a failure instead).
    pub fn start(options: PebbleOptions) -> Option<Pebble> {
        let installed = Command::new("pebble")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !installed {
            assert!(
                !in_ci(),
                "pebble is not installed and CI=true (apt-get install pebble)"
            );
            eprintln!("pebble is not installed (apt-get install pebble): ACME test skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ca_bundle = write_tls_files(dir.path());
        // Pebble is stopped and started again on these two in some tests.
        let acme: SocketAddr = format!("127.0.0.1:{}", restartable_port()).parse().unwrap();
        let management: SocketAddr = format!("127.0.0.1:{}", restartable_port()).parse().unwrap();
        let dns: SocketAddr = format!("127.0.0.1:{}", free_port(true)).parse().unwrap();
        let dns_management = format!("127.0.0.1:{}", free_port(false));
        let mut settings = serde_json::json!({
            "listenAddress": acme.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": options.http_port,
            "tlsPort": options.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        });
        if let Some(seconds) = options.validity_seconds {
            settings["certificateValidityPeriod"] = seconds.into();
        }
        std::fs::write(
            dir.path().join("pebble.json"),
            serde_json::json!({ "pebble": settings }).to_string(),
        )
        .unwrap();
        let dns_log = std::fs::File::create(dir.path().join("dns.log")).unwrap();
        let dns_server = Command::new("pebble-challtestsrv")
            .args([
                "-dns01",
                &dns.to_string(),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &dns_management,
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ])
            .stdout(dns_log.try_clone().unwrap())
            .stderr(dns_log)
            .spawn()
            .unwrap();
        let mut pebble = Pebble {
            directory_url: format!("https://{acme}/dir"),
            ca_bundle,
            acme,
            management,
            dns,
            pebble: None,
            dns_server,
            dir,
        };
        wait_for_port(dns_management.parse().unwrap(), "pebble-challtestsrv");
        pebble.resume();
        Some(pebble)
    }

    /// Pebble's log (every start appends).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// Certificates Pebble has issued since the test began.
    pub fn issued(&self) -> usize {
        self.log().matches("Issued certificate serial").count()
    }

    /// Orders Pebble has received since the test began.
    pub fn orders(&self) -> usize {
        self.log().matches("Added order").count()
    }

    /// Stops Pebble (its DNS keeps running); it forgets every account and order.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.pebble.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Pebble (again), with a new root.
    pub fn resume(&mut self) {
        assert!(self.pebble.is_none(), "pebble is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("pebble.log"))
            .unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(self.dir.path().join("pebble.json"))
            .arg("-dnsserver")
            .arg(self.dns.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.pebble = Some(child);
        wait_for_port(self.acme, "pebble");
        wait_for_port(self.management, "pebble's management interface");
    }

    /// The root certificate (PEM) Pebble signs with since its last start.
    pub fn root_pem(&self) -> String {
        let exchange = super::https_exchange(
            self.management,
            "localhost",
            b"GET /roots/0 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(exchange.status, 200, "{}", exchange.head);
        exchange.body
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
        let _ = self.dns_server.kill();
        let _ = self.dns_server.wait();
    }
}

/// An HTTPS GET to `address` with `sni`, verifying the server's chain against `root_pem`
/// and the name; the answer, or why the handshake failed.
pub fn verified_get(address: SocketAddr, sni: &str, root_pem: &str) -> Result<Exchange, String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pemfile::certs(&mut root_pem.as_bytes()) {
        roots.add(certificate.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = TcpStream::connect_timeout(&address, Duration::from_secs(10)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // As curl and browsers do: no delayed-ACK stall in what the test times.
    socket.set_nodelay(true).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    tls.write_all(&super::get_request(sni, "/"))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if raw.is_empty() => return Err(e.to_string()),
        Err(_) => {}
    }
    let certificate = tls
        .conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec());
    Ok(parse_exchange(&raw, certificate))
}

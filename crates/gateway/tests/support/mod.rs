//! What the `tasksession` end-to-end tests share: a clean working directory and
//! environment per test, development-key licences, and a running server.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a different part

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use licensing::{LicenceRequest, Plan};
use time::{Date, OffsetDateTime};

/// A temporary working directory: `./tasksession.toml` and `./data` live inside it.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The installed licence's default place.
    pub fn installed_licence(&self) -> PathBuf {
        self.path().join("data").join("licence.txt")
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `tasksession` run in this directory with no `TASKSESSION_…` variables inherited.
    pub fn command(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_command())
    }

    /// The same as a std command, for a server that runs in the background.
    pub fn std_command(&self) -> StdCommand {
        self.program(binary())
    }

    /// `program` run in this directory with no `TASKSESSION_…` variables inherited.
    pub fn program(&self, program: &str) -> StdCommand {
        let mut command = StdCommand::new(program);
        command.current_dir(self.path());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TASKSESSION_") {
                command.env_remove(name);
            }
        }
        command
    }
}

/// `domain add DOMAIN` with `email` invited as its admin; returns the invitation token.
pub fn add_brand_with_admin(work: &Workdir, domain: &str, email: &str) -> String {
    let added = work
        .command()
        .args([
            "domain",
            "add",
            domain,
            "--brand",
            "Brand",
            "--admin-email",
            email,
        ])
        .assert()
        .code(0);
    let stdout = String::from_utf8(added.get_output().stdout.clone()).unwrap();
    let link = stdout
        .lines()
        .find(|line| line.contains("/invite/"))
        .unwrap()
        .trim()
        .to_owned();
    link.rsplit_once("/invite/").unwrap().1.to_owned()
}

/// A complete HTTP/1.1 request with a JSON body, a same-origin `Origin` for the plain-HTTP
/// development site of `host`, and `extra` header lines (each ending in CRLF).
pub fn local_json_request(
    method: &str,
    host: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The value of the header `name` in a response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tasksession")
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// A development-key licence.
pub fn licence(plan: Plan, issued_at: Date, expires_at: Option<Date>) -> String {
    licensing::issue_with_development_key(&LicenceRequest {
        id: "lic-e2e".to_owned(),
        licensee: "Acme Agency".to_owned(),
        plan,
        domains: vec![],
        issued_at,
        expires_at,
    })
    .unwrap()
}

/// A valid multi licence issued today.
pub fn multi_licence() -> String {
    licence(Plan::Multi, today(), None)
}

/// `text` with one payload character changed.
pub fn tampered(text: &str) -> String {
    let at = text.find("eyJ").unwrap() + 10;
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// The bound listener addresses of a running server.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    pub http: SocketAddr,
    pub https: SocketAddr,
    pub operator: SocketAddr,
}

/// A `tasksession serve` process whose stdout is read line by line.
pub struct Server {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Server {
    /// Starts `serve`; listeners not set by the test bind free ports on 127.0.0.1.
    pub fn start(command: StdCommand) -> Self {
        Self::run(command, &["serve"])
    }

    /// Starts `tasksession ARGS…` that serves (`serve`, `demo`), as [`Server::start`].
    pub fn run(mut command: StdCommand, args: &[&str]) -> Self {
        for name in [
            "TASKSESSION_LISTEN_HTTP",
            "TASKSESSION_LISTEN_HTTPS",
            "TASKSESSION_LISTEN_OPERATOR",
        ] {
            let set = command
                .get_envs()
                .any(|(key, value)| key == name && value.is_some());
            if !set {
                command.env(name, "127.0.0.1:0");
            }
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a log line containing `needle`, failing after 30 seconds.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?} within 30 s; saw {:?}; status {:?}",
                    self.seen,
                    self.child.try_wait()
                ),
            }
        }
    }

    /// The addresses logged as `listening http=… https=… operator=…`.
    pub fn addresses(&mut self) -> Addresses {
        let line = match self.seen.iter().find(|l| l.contains("listening")) {
            Some(line) => line.clone(),
            None => self.wait_for_line("listening"),
        };
        let find = |key: &str| -> SocketAddr {
            let start = line.find(&format!("{key}=")).unwrap() + key.len() + 1;
            let address: String = line[start..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect();
            address.parse().unwrap()
        };
        Addresses {
            http: find("http"),
            https: find("https"),
            operator: find("operator"),
        }
    }

    /// The address logged as `operator=…`.
    pub fn operator_address(&mut self) -> SocketAddr {
        self.addresses().operator
    }

    pub fn terminate(&mut self) {
        let status = StdCommand::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to 30 seconds for the process to end.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the server did not stop within 30 s");
    }

    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut text).unwrap();
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET; returns the status code and body.
pub fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Whether this is a CI run, where a missing component fails a test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PostgreSQL server's administrative URL: `TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/postgres` (user `postgres`, trust authentication).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Runs `sql` with the `psql` command on the database at `url`; returns its output
/// (unaligned, tuples only) or why it failed.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let output = StdCommand::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// A fresh PostgreSQL database for one test, named `ts_test_<unix seconds>_<random hex>` and
/// dropped when the value is (even when the test panics).
pub struct PostgresDb {
    pub name: String,
    admin_url: String,
}

impl PostgresDb {
    /// Creates the database, or returns `None` with a notice when PostgreSQL cannot be reached
    /// (with `CI=true` that is a failure instead). Test databases older than an hour, left
    /// by a run that was killed, are dropped first.
    pub fn create() -> Option<Self> {
        let admin_url = postgres_admin_url();
        if let Err(e) = psql(&admin_url, "select 1") {
            let e = e.replace('\n', " ");
            assert!(
                !in_ci(),
                "PostgreSQL not reachable at {admin_url} with CI=true: {e}"
            );
            eprintln!("PostgreSQL not reachable at {admin_url} ({e}): PostgreSQL test skipped");
            return None;
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let stale = psql(
            &admin_url,
            "select datname from pg_database where datname like 'ts\\_test\\_%'",
        )
        .unwrap_or_default();
        for name in stale.lines() {
            let created: Option<i64> = name.split('_').nth(2).and_then(|t| t.parse().ok());
            if created.is_some_and(|t| now - t > 3600) {
                let _ = psql(
                    &admin_url,
                    &format!("drop database if exists {name} with (force)"),
                );
            }
        }
        let mut random = [0u8; 4];
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut random)
            .unwrap();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("ts_test_{now}_{suffix}");
        psql(&admin_url, &format!("create database {name}")).unwrap();
        Some(PostgresDb { name, admin_url })
    }

    /// The database's URL, for `TASKSESSION_DATABASE_URL`.
    pub fn url(&self) -> String {
        let (server, _) = self.admin_url.rsplit_once('/').unwrap();
        format!("{server}/{}", self.name)
    }

    /// Runs `sql` in the database and returns its output; panics on an error.
    pub fn query(&self, sql: &str) -> String {
        psql(&self.url(), sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.admin_url,
            &format!("drop database if exists {} with (force)", self.name),
        ) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Accepts any server certificate and keeps the one presented, so tests can look at it.
#[derive(Debug)]
pub struct CapturingVerifier {
    pub presented: std::sync::Mutex<Option<Vec<u8>>>,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
}

impl CapturingVerifier {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(CapturingVerifier {
            presented: std::sync::Mutex::new(None),
            provider: std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        })
    }
}

impl rustls::client::danger::ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        *self.presented.lock().unwrap() = Some(end_entity.as_ref().to_vec());
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client config that records the server's certificate in `verifier`.
pub fn tls_client(
    verifier: std::sync::Arc<CapturingVerifier>,
    alpn: &[&[u8]],
) -> std::sync::Arc<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    std::sync::Arc::new(config)
}

/// A raw HTTP/1.1 exchange's outcome.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub head: String,
    pub body: String,
    /// The server's certificate (TLS only).
    pub certificate: Option<Vec<u8>>,
}

pub fn parse_exchange(raw: &[u8], certificate: Option<Vec<u8>>) -> Exchange {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Exchange {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
        certificate,
    }
}

/// Sends `request` (a complete HTTP/1.1 request; use `Connection: close`) over TLS, with
/// `sni` as the server name (an IP address sends no SNI), and reads the whole answer.
pub fn https_exchange(address: SocketAddr, sni: &str, request: &[u8]) -> Exchange {
    let verifier = CapturingVerifier::new();
    let config = tls_client(std::sync::Arc::clone(&verifier), &[b"http/1.1"]);
    let name = rustls::pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(config, name).unwrap();
    let socket = TcpStream::connect_timeout(&address, Duration::from_secs(10)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    tls.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let certificate = verifier.presented.lock().unwrap().clone();
    parse_exchange(&raw, certificate)
}

/// The same over plain TCP.
pub fn http_exchange(address: SocketAddr, request: &[u8]) -> Exchange {
    let mut socket = TcpStream::connect_timeout(&address, Duration::from_secs(10)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = socket.read_to_end(&mut raw);
    parse_exchange(&raw, None)
}

/// A GET with the given Host header, closing the connection after the answer.
pub fn get_request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// `POST /api/v1/session` with an e-mail address and password.
#[allow(dead_code)]
pub fn sign_in_request(host: &str, email: &str, password: &str) -> Vec<u8> {
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `name=value` of the session cookie an answer sets.
#[allow(dead_code)]
pub fn session_cookie(answer: &Exchange) -> String {
    answer
        .head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}
pub mod pebble;
pub mod smtp;
pub mod stand_in;

//! A real SMTP server for tests: Python's `aiosmtpd` (`pip install aiosmtpd`) on loopback,
//! keeping every message it receives in a Maildir, read back with Python's `email` package.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::in_ci;

/// A message as received: headers and the decoded text and HTML parts.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    /// The headers and text part as they arrived, for a person to read.
    pub raw_head: String,
    /// Files sent with it.
    #[serde(default)]
    pub attachments: Vec<Attached>,
}

/// A file sent with a message.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Attached {
    pub name: String,
    pub content_type: String,
    /// Its bytes, base64.
    pub base64: String,
}

pub struct SmtpServer {
    dir: tempfile::TempDir,
    pub address: SocketAddr,
    child: Option<Child>,
    /// The user name and password the server insists on, if any.
    login: Option<(String, String)>,
}

/// aiosmtpd storing into a Maildir, insisting on AUTH with the given login when one is
/// given (over plain SMTP, as tests run without TLS).
const SERVE: &str = r#"
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
host, port, maildir, login = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:6]
def authenticate(server, session, envelope, mechanism, data):
    ok = bool(login) and isinstance(data, LoginPassword) and [data.login.decode(), data.password.decode()] == login
    return AuthResult(success=ok, handled=False)
options = dict(authenticator=authenticate, auth_required=True, auth_require_tls=False) if login else {}
Controller(Mailbox(maildir), hostname=host, port=port, **options).start()
while True:
    time.sleep(3600)
"#;

const READ_MAILDIR: &str = r#"
import email, email.policy, json, mailbox, sys
out = []
for key, message in sorted(mailbox.Maildir(sys.argv[1], create=False).items(), key=lambda kv: kv[1].get_date() if hasattr(kv[1], 'get_date') else 0):
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    text = parsed.get_body(preferencelist=('plain',))
    html = parsed.get_body(preferencelist=('html',))
    head = ''.join(f'{k}: {v}\n' for k, v in parsed.items())
    out.append({
        'from': str(parsed['From']), 'to': str(parsed['To']), 'subject': str(parsed['Subject']),
        'message_id': str(parsed['Message-ID']),
        'text': text.get_content() if text else '', 'html': html.get_content() if html else '',
        'raw_head': head,
        'attachments': [{'name': part.get_filename() or '', 'content_type': part.get_content_type(), 'base64': __import__('base64').b64encode(part.get_content()).decode()} for part in parsed.iter_attachments()],
    })
print(json.dumps(out))
"#;

impl SmtpServer {
    /// Whether aiosmtpd can run here; `false` with a notice (a failure with `CI=true`).
    pub fn available() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                !in_ci(),
                "aiosmtpd is not installed and CI=true (pip install aiosmtpd)"
            );
            eprintln!("aiosmtpd is not installed (pip install aiosmtpd): mail test skipped");
        }
        ok
    }

    /// Starts a server on a free port that accepts mail only after AUTH with this login.
    pub fn start_with_login(username: &str, password: &str) -> Option<SmtpServer> {
        Self::open(0, Some((username.to_owned(), password.to_owned())))
    }

    /// Starts a server on `port` (0: a free one).
    pub fn start(port: u16) -> Option<SmtpServer> {
        Self::open(port, None)
    }

    fn open(port: u16, login: Option<(String, String)>) -> Option<SmtpServer> {
        if !Self::available() {
            return None;
        }
        let port = if port == 0 {
            super::pebble::free_port(false)
        } else {
            port
        };
        let dir = tempfile::tempdir().unwrap();
        let mut server = SmtpServer {
            address: format!("127.0.0.1:{port}").parse().unwrap(),
            dir,
            child: None,
            login,
        };
        server.resume();
        Some(server)
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Starts (again) on the same port and Maildir.
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("smtpd.log")).unwrap();
        let mut command = Command::new("python3");
        command
            .args(["-c", SERVE, "127.0.0.1"])
            .arg(self.address.port().to_string())
            .arg(self.maildir());
        if let Some((username, password)) = &self.login {
            command.args([username, password]);
        }
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        if !self.maildir().join("new").exists() {
            return Vec::new();
        }
        let output = Command::new("python3")
            .args(["-c", READ_MAILDIR])
            .arg(self.maildir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Waits up to `within` until `count` messages have arrived; returns them.
    pub fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} messages within {within:?}",
                messages.len()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The token at the end of `/{kind}/TOKEN` in a mail's text.
pub fn link_token(text: &str, kind: &str) -> String {
    let marker = format!("/{kind}/");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

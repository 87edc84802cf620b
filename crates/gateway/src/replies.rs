//! The reply receiver: a small SMTP server (RFC 5321) that takes replies to notification
//! mails when `[reply] address` is set, and makes each a comment
//! (`tenant_core::talk::replies` has the rules). Mail for any other address is refused
//! at `RCPT`, before its content is sent; a reply that cannot be posted is refused after
//! `DATA` with the reason, which the sending mail server returns to its sender; a store
//! that is unavailable answers "try again later" (4xx), so nothing is lost. It speaks
//! plain SMTP with `SIZE`, `8BITMIME`, `PIPELINING` and `ENHANCEDSTATUSCODES`; put a mail
//! server in front of it for TLS and for checking senders (`authserv_id`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tenant_core::Serving;
use tenant_core::talk::replies::{self, Envelope, Received, ReplyAddress};
use tokio::io::{AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::edge::Edge;
use crate::outcome::Failure;

/// Connections served at once; more are told to come back later.
const CONNECTIONS: usize = 64;
/// How long the receiver waits for a command or a line of data (RFC 5321 asks for at
/// least five minutes; two is plenty for a mail server on the other end).
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one connection may last in all.
const SESSION_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The longest command line taken (RFC 5321 allows 512 octets).
const COMMAND_LINE: usize = 2048;
/// The longest line of message data (RFC 5321 allows 1,000 octets; some senders write
/// longer ones).
const DATA_LINE: usize = 64 * 1024;
/// Recipients of one mail at most.
const RECIPIENTS: usize = 10;
/// Bad commands after which the connection is closed.
const ERRORS: usize = 10;

/// The receiver's settings, from `[reply]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address replies go to.
    pub address: ReplyAddress,
    /// Where it listens.
    pub listen: SocketAddr,
    /// The mail server whose `Authentication-Results` are required.
    pub authserv_id: Option<String>,
    /// The largest mail taken.
    pub max_message_bytes: usize,
}

impl Settings {
    /// The settings of `[reply]`, or `None` when replies by mail are off.
    pub fn from_config(config: &Config) -> Result<Option<Settings>, Failure> {
        let Some(text) = config.reply.address.as_deref() else {
            return Ok(None);
        };
        let address = ReplyAddress::parse(text)
            .map_err(|e| Failure::BadInput(format!("reply.address: {e}")))?;
        Ok(Some(Settings {
            address,
            listen: config.reply.listen,
            authserv_id: config.reply.authserv_id.clone(),
            max_message_bytes: usize::try_from(config.reply.max_message_bytes)
                .unwrap_or(usize::MAX),
        }))
    }
}

/// Takes replies on `listener` until `stop` turns true. A connection in the middle of a
/// mail when the server stops is closed without an answer: the sender tries again.
pub async fn serve(
    listener: TcpListener,
    settings: Arc<Settings>,
    edge: Arc<Edge>,
    key: Arc<tenant_core::platform::secrets::SecretKey>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "the reply receiver could not accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let session = Session {
            settings: Arc::clone(&settings),
            edge: Arc::clone(&edge),
            key: Arc::clone(&key),
            peer,
        };
        let slot = Arc::clone(&slots).try_acquire_owned();
        let mut stopped = stop.clone();
        tokio::spawn(async move {
            let mut stream = stream;
            let Ok(_slot) = slot else {
                let _ = stream
                    .write_all(b"421 4.3.2 Too many connections, try again later\r\n")
                    .await;
                return;
            };
            tokio::select! {
                outcome = tokio::time::timeout(SESSION_TIMEOUT, session.run(&mut stream)) => {
                    if let Ok(Err(error)) = outcome {
                        tracing::debug!(%peer, %error, "reply connection ended");
                    }
                }
                _ = stopped.changed() => {}
            }
        });
    }
}

/// One mail accepted for one reply address.
struct Recipient {
    entry: tenant_core::Entry,
    notification_id: String,
}

struct Session {
    settings: Arc<Settings>,
    edge: Arc<Edge>,
    key: Arc<tenant_core::platform::secrets::SecretKey>,
    peer: SocketAddr,
}

/// What reading a line found.
enum Line {
    /// A line, without its line break.
    Text(Vec<u8>),
    /// A line longer than allowed (read to its end and dropped).
    TooLong,
    /// The other side closed the connection.
    Closed,
}

async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::ReadHalf<'_>>,
    limit: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = tokio::time::timeout(READ_TIMEOUT, reader.fill_buf())
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no data in time"))??;
        if available.is_empty() {
            return Ok(Line::Closed);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long && line.len() + used <= limit + 2 {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
        }
        reader.consume(used);
        if done {
            if too_long {
                return Ok(Line::TooLong);
            }
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            return Ok(Line::Text(line));
        }
    }
}

async fn reply(out: &mut (impl AsyncWrite + Unpin), text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes()).await?;
    out.write_all(b"\r\n").await?;
    out.flush().await
}

/// The address inside `<…>` after `prefix` (`FROM:` or `TO:`), and what follows it.
fn path_of<'a>(argument: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    // A source route (`@a,@b:user@host`) is ignored, as RFC 5321 allows.
    let path = path.rsplit_once(':').map_or(path, |(_, p)| p);
    Some((path, rest[end + 1..].trim()))
}

/// One line of text fit for an SMTP reply: printable ASCII, at most 400 characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(400)
        .collect()
}

impl Session {
    async fn run(self, stream: &mut TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.split();
        let mut reader = BufReader::new(read);
        let host = self.settings.address.domain().to_owned();
        reply(
            &mut write,
            &format!("220 {host} ESMTP Task Session replies"),
        )
        .await?;
        let mut greeted = false;
        let mut sender: Option<String> = None;
        let mut recipients: Vec<Recipient> = Vec::new();
        let mut errors = 0;
        loop {
            if errors >= ERRORS {
                reply(&mut write, "421 4.7.0 Too many errors, closing").await?;
                return Ok(());
            }
            let line = match read_line(&mut reader, COMMAND_LINE).await? {
                Line::Closed => return Ok(()),
                Line::TooLong => {
                    errors += 1;
                    reply(&mut write, "500 5.5.6 Line too long").await?;
                    continue;
                }
                Line::Text(line) => line,
            };
            let line = String::from_utf8_lossy(&line).into_owned();
            let (verb, argument) = line
                .split_once(' ')
                .map_or((line.as_str(), ""), |(v, a)| (v, a.trim()));
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" | "HELO" if argument.is_empty() => {
                    errors += 1;
                    reply(&mut write, "501 5.5.4 Say who you are").await?;
                }
                "EHLO" => {
                    greeted = true;
                    sender = None;
                    recipients.clear();
                    let max = self.settings.max_message_bytes;
                    reply(
                        &mut write,
                        &format!(
                            "250-{host}\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES"
                        ),
                    )
                    .await?;
                }
                "HELO" => {
                    greeted = true;
                    sender = None;
                    recipients.clear();
                    reply(&mut write, &format!("250 {host}")).await?;
                }
                "MAIL" if !greeted => {
                    errors += 1;
                    reply(&mut write, "503 5.5.1 Say EHLO first").await?;
                }
                "MAIL" if sender.is_some() => {
                    errors += 1;
                    reply(&mut write, "503 5.5.1 A mail is already under way").await?;
                }
                "MAIL" => match path_of(argument, "FROM:") {
                    Some((path, parameters)) => {
                        let size = parameters
                            .split_whitespace()
                            .filter_map(|p| p.split_once('='))
                            .find(|(k, _)| k.eq_ignore_ascii_case("SIZE"))
                            .and_then(|(_, v)| v.parse::<usize>().ok());
                        if size.is_some_and(|size| size > self.settings.max_message_bytes) {
                            reply(
                                &mut write,
                                "552 5.3.4 The mail is larger than this server takes",
                            )
                            .await?;
                        } else {
                            sender = Some(path.to_owned());
                            reply(&mut write, "250 2.1.0 OK").await?;
                        }
                    }
                    None => {
                        errors += 1;
                        reply(&mut write, "501 5.5.4 Write MAIL FROM:<address>").await?;
                    }
                },
                "RCPT" if sender.is_none() => {
                    errors += 1;
                    reply(&mut write, "503 5.5.1 Say MAIL FROM first").await?;
                }
                "RCPT" => match path_of(argument, "TO:") {
                    Some((path, _)) => {
                        if recipients.len() >= RECIPIENTS {
                            reply(&mut write, "452 4.5.3 Too many recipients").await?;
                            continue;
                        }
                        match self.recipient(path) {
                            Ok(recipient) => {
                                recipients.push(recipient);
                                reply(&mut write, "250 2.1.5 OK").await?;
                            }
                            Err(refusal) => {
                                errors += 1;
                                reply(&mut write, &refusal).await?;
                            }
                        }
                    }
                    None => {
                        errors += 1;
                        reply(&mut write, "501 5.5.4 Write RCPT TO:<address>").await?;
                    }
                },
                "DATA" if recipients.is_empty() => {
                    errors += 1;
                    reply(&mut write, "503 5.5.1 No valid recipient").await?;
                }
                "DATA" => {
                    reply(&mut write, "354 End the mail with <CRLF>.<CRLF>").await?;
                    let Some(raw) = self.read_data(&mut reader).await? else {
                        return Ok(());
                    };
                    let answer = match raw {
                        Ok(raw) => {
                            self.deliver(sender.as_deref().unwrap_or_default(), &recipients, &raw)
                                .await
                        }
                        Err(answer) => answer,
                    };
                    sender = None;
                    recipients.clear();
                    reply(&mut write, &answer).await?;
                }
                "RSET" => {
                    sender = None;
                    recipients.clear();
                    reply(&mut write, "250 2.0.0 OK").await?;
                }
                "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
                "VRFY" => reply(&mut write, "252 2.5.0 Cannot verify, send the mail").await?,
                "HELP" => {
                    reply(
                        &mut write,
                        "214 2.0.0 This server takes replies to notification mails",
                    )
                    .await?;
                }
                "QUIT" => {
                    reply(&mut write, "221 2.0.0 Bye").await?;
                    return Ok(());
                }
                _ => {
                    errors += 1;
                    reply(&mut write, "500 5.5.2 Command not recognised").await?;
                }
            }
        }
    }

    /// The brand and notification a recipient address names, or the refusal to send.
    fn recipient(&self, path: &str) -> Result<Recipient, String> {
        let unknown = || "550 5.1.1 No such reply address here".to_owned();
        let token = self.settings.address.token_of(path).ok_or_else(unknown)?;
        let (tenant_id, notification_id) =
            replies::read_token(&self.key, token).ok_or_else(unknown)?;
        let directory = self.edge.directory();
        let entry = directory.by_id(&tenant_id).ok_or_else(unknown)?;
        if entry.serving != Serving::Active {
            return Err("550 5.7.1 This workspace does not take replies at the moment".to_owned());
        }
        if entry.read_only {
            return Err(
                "550 5.7.1 This workspace is read-only: its licence has expired".to_owned(),
            );
        }
        Ok(Recipient {
            entry: entry.clone(),
            notification_id,
        })
    }

    /// The mail's data up to the closing dot, unstuffed; `Err` with the answer when it is
    /// larger than allowed; `None` when the connection closed.
    async fn read_data(
        &self,
        reader: &mut BufReader<tokio::net::tcp::ReadHalf<'_>>,
    ) -> std::io::Result<Option<Result<Vec<u8>, String>>> {
        let mut raw = Vec::new();
        let mut too_large = false;
        loop {
            let line = match read_line(reader, DATA_LINE).await? {
                Line::Closed => return Ok(None),
                Line::TooLong => {
                    too_large = true;
                    continue;
                }
                Line::Text(line) => line,
            };
            if line == b"." {
                break;
            }
            if too_large {
                continue;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if raw.len() + line.len() + 2 > self.settings.max_message_bytes {
                too_large = true;
                raw.clear();
                continue;
            }
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
        if too_large {
            return Ok(Some(Err(
                "552 5.3.4 The mail is larger than this server takes".to_owned(),
            )));
        }
        Ok(Some(Ok(raw)))
    }

    /// Posts the mail for every recipient; the answer is the first success, or else the
    /// first refusal (a store that is unavailable asks to try again later).
    async fn deliver(&self, sender: &str, recipients: &[Recipient], raw: &[u8]) -> String {
        let mut success = None;
        let mut refusal = None;
        for recipient in recipients {
            let domain = &recipient.entry.tenant.domain;
            let answer = match self.edge.platform.context(&recipient.entry).await {
                Ok(context) => {
                    let envelope = Envelope {
                        sender,
                        authserv_id: self.settings.authserv_id.as_deref(),
                    };
                    let outcome = replies::receive(
                        context.store(),
                        &recipient.notification_id,
                        envelope,
                        raw,
                    )
                    .await;
                    self.answer(domain, outcome)
                }
                Err(error) => {
                    tracing::error!(%domain, %error, "cannot open the brand store for a reply");
                    Err(
                        "451 4.3.0 The workspace cannot take the reply now, try again later"
                            .to_owned(),
                    )
                }
            };
            match answer {
                Ok(text) => {
                    success.get_or_insert(text);
                }
                Err(text) => {
                    refusal.get_or_insert(text);
                }
            }
        }
        success
            .or(refusal)
            .unwrap_or_else(|| "554 5.5.0 No recipient".to_owned())
    }

    fn answer(
        &self,
        domain: &tenant_core::Hostname,
        outcome: tenant_core::Result<Received>,
    ) -> Result<String, String> {
        let peer = self.peer;
        match outcome {
            Ok(Received::Posted(comment)) => {
                tracing::info!(%domain, %peer, comment = %comment.id, "a reply by mail became a comment");
                Ok("250 2.0.0 Your reply is posted".to_owned())
            }
            Ok(Received::Again(comment)) => {
                tracing::info!(%domain, %peer, %comment, "a reply by mail arrived again; kept once");
                Ok("250 2.0.0 This reply was already posted".to_owned())
            }
            Ok(Received::Dropped(reason)) => {
                tracing::info!(%domain, %peer, reason, "automatic mail to a reply address dropped");
                Ok("250 2.0.0 Taken; automatic mail is not posted".to_owned())
            }
            Err(
                error @ (tenant_core::Error::Unavailable(_)
                | tenant_core::Error::Database(_)
                | tenant_core::Error::Io { .. }),
            ) => {
                tracing::warn!(%domain, %peer, %error, "a reply by mail could not be stored now");
                Err("451 4.3.0 The workspace cannot take the reply now, try again later".to_owned())
            }
            Err(error) => {
                tracing::info!(%domain, %peer, %error, "a reply by mail was refused");
                let code = match &error {
                    tenant_core::Error::Invalid(_) | tenant_core::Error::Field { .. } => {
                        "550 5.6.0"
                    }
                    _ => "550 5.7.1",
                };
                Err(format!("{code} {}", one_line(&error.to_string())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_mail_and_rcpt_commands() {
        assert_eq!(
            path_of("FROM:<pat@alpha.test> SIZE=100", "FROM:"),
            Some(("pat@alpha.test", "SIZE=100"))
        );
        assert_eq!(path_of("from: <>", "FROM:"), Some(("", "")));
        assert_eq!(
            path_of("TO:<@relay.test:reply+x@r.test>", "TO:"),
            Some(("reply+x@r.test", ""))
        );
        assert_eq!(path_of("TO:reply@r.test", "TO:"), None);
        assert_eq!(path_of("FROM:<unclosed", "FROM:"), None);
        assert_eq!(path_of("", "FROM:"), None);
    }

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars = vars
            .iter()
            .map(|(k, v)| (std::ffi::OsString::from(k), std::ffi::OsString::from(v)));
        Config::load(None, vars).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn replies_are_off_by_default_and_a_bad_address_is_refused_by_name() {
        assert!(matches!(Settings::from_config(&config(&[])), Ok(None)));
        let on = Settings::from_config(&config(&[
            ("TASKSESSION_REPLY_ADDRESS", "reply@replies.example.com"),
            ("TASKSESSION_REPLY_LISTEN", "127.0.0.1:2526"),
        ]));
        let Ok(Some(on)) = on else {
            panic!("{on:?}");
        };
        assert_eq!(on.address.domain(), "replies.example.com");
        assert_eq!(on.listen.port(), 2526);
        assert_eq!(on.max_message_bytes, 10 * 1024 * 1024);
        for bad in [
            "not an address",
            "much-too-long@replies.example.com",
            "re+ply@x.example.com",
        ] {
            let refused = Settings::from_config(&config(&[("TASKSESSION_REPLY_ADDRESS", bad)]));
            assert!(
                matches!(&refused, Err(Failure::BadInput(m)) if m.starts_with("reply.address")),
                "{bad}: {refused:?}"
            );
        }
    }

    #[test]
    fn answers_are_one_printable_line() {
        assert_eq!(one_line("a\r\nb\u{e9}"), "a??b?");
        assert_eq!(one_line(&"x".repeat(1000)).len(), 400);
    }
}

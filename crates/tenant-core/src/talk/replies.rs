//! Reply by e-mail. A notification mail about a comment, a discussion or a client message
//! carries a reply address, `{local}+{token}@{domain}` (the server's `[reply] address`
//! with a token after a `+`), whose token names the brand and the notification and is
//! signed with the server's key, so it can be neither made up nor moved to another item or
//! person. A mail sent there becomes a comment in the same thread, written by the person
//! the notification went to, if
//!
//! - the token is valid and the notification is still kept;
//! - the mail's `From` is that person's address (one address, nothing else);
//! - when the receiver is told to trust a mail server's checks (`authserv_id`), that
//!   server's `Authentication-Results` says the sender's domain passed DMARC, or aligned
//!   DKIM or SPF;
//! - the person is still active and may still write in the thread (the same checks as
//!   the web: the item's visibility, `discussions.participate` or `messages.clients`, a
//!   contact's switches).
//!
//! Anything else is refused with a sentence the sending mail server returns to the sender.
//! Automatic mail (out-of-office answers, bounces, lists) is taken and dropped. Quoted text,
//! the marker line of the notification mail and the signature are cut off. The same mail
//! delivered twice (by `Message-ID`) makes one comment. Attachments are not kept.

use std::sync::LazyLock;

use data_encoding::{Encoding, HEXLOWER, Specification};
use mail_parser::MessageParser;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::access::Principal;
use crate::accounts::sessions;
use crate::error::{Error, Result};
use crate::names::Email;
use crate::platform::secrets::SecretKey;
use crate::platform::tenant::TenantId;
use crate::store::{TenantStore, now, on_tx};
use crate::talk::comments::{self, Comment, FoundThread, NewComment};
use crate::talk::notifications::Kind;
use crate::talk::threads::ThreadKind;

/// What the tokens' authentication codes are made for.
const PURPOSE: &str = "reply address";
/// Bytes of the brand's id, of the notification's id and of the code in a token.
const TENANT_BYTES: usize = 12;
const NOTIFICATION_BYTES: usize = 12;
const CODE_BYTES: usize = 10;
/// Characters of a token: 34 bytes in base32.
pub const TOKEN_LEN: usize = 55;
/// The longest local part `[reply] address` may have: with `+` and the token it must fit
/// the 64 characters RFC 5321 allows.
pub const LONGEST_LOCAL: usize = 64 - 1 - TOKEN_LEN;
/// The line a notification mail puts above what it quotes: a reply is cut there.
pub const MARKER: &str = "##- Write your reply above this line -##";
/// The longest mail text read, in bytes (a comment holds far less).
const LONGEST_TEXT: usize = 256 * 1024;

/// Lower-case base32 without padding, read in either case (mail systems may change it).
static BASE32: LazyLock<Option<Encoding>> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.translate.to.push_str("abcdefghijklmnopqrstuvwxyz");
    spec.encoding().ok()
});

/// The address replies go to, `local@domain`, as the server's configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAddress {
    local: String,
    domain: String,
}

impl ReplyAddress {
    /// Reads `reply@replies.example.com`: a plain local part of at most
    /// [`LONGEST_LOCAL`] letters, digits, `.`, `-` or `_`, and a domain name.
    pub fn parse(text: &str) -> Result<ReplyAddress> {
        let email = Email::parse(text).map_err(|e| Error::Invalid(e.to_string()))?;
        let (local, domain) = email.as_str().split_once('@').unwrap_or_default();
        let plain = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !plain || local.len() > LONGEST_LOCAL {
            return Err(Error::Invalid(format!(
                "'{text}': the part before the @ must be at most {LONGEST_LOCAL} letters, digits, '.', '-' or '_' (such as reply@replies.example.com), so that a reply token fits beside it"
            )));
        }
        Ok(ReplyAddress {
            local: local.to_ascii_lowercase(),
            domain: domain.to_owned(),
        })
    }

    /// The domain whose mail the receiver takes.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The address with `token`.
    pub fn with_token(&self, token: &str) -> String {
        format!("{}+{token}@{}", self.local, self.domain)
    }

    /// The token of `recipient` (an envelope recipient), if it is one of these addresses.
    pub fn token_of<'a>(&self, recipient: &'a str) -> Option<&'a str> {
        let (local, domain) = recipient.rsplit_once('@')?;
        let (base, token) = local.split_once('+')?;
        (base.eq_ignore_ascii_case(&self.local)
            && domain
                .trim_end_matches('.')
                .eq_ignore_ascii_case(&self.domain)
            && token.len() == TOKEN_LEN)
            .then_some(token)
    }
}

/// The token of a reply address for notification `notification_id` of brand `tenant`.
pub fn token(key: &SecretKey, tenant: &TenantId, notification_id: &str) -> Result<String> {
    let unusable = || Error::Invalid("this notification cannot have a reply address".to_owned());
    let encoding = BASE32.as_ref().ok_or_else(unusable)?;
    let mut data = HEXLOWER
        .decode(tenant.as_str().as_bytes())
        .map_err(|_| unusable())?;
    let notification = HEXLOWER
        .decode(notification_id.as_bytes())
        .map_err(|_| unusable())?;
    if data.len() != TENANT_BYTES || notification.len() != NOTIFICATION_BYTES {
        return Err(unusable());
    }
    data.extend_from_slice(&notification);
    let code = key.mac(PURPOSE, &data);
    data.extend_from_slice(&code[..CODE_BYTES]);
    Ok(encoding.encode(&data))
}

/// The brand and notification a token names, if its code is right.
pub fn read_token(key: &SecretKey, token: &str) -> Option<(TenantId, String)> {
    let data = BASE32.as_ref()?.decode(token.as_bytes()).ok()?;
    if data.len() != TENANT_BYTES + NOTIFICATION_BYTES + CODE_BYTES {
        return None;
    }
    let (named, code) = data.split_at(TENANT_BYTES + NOTIFICATION_BYTES);
    if !key.verify_mac(PURPOSE, named, code) {
        return None;
    }
    let (tenant, notification) = named.split_at(TENANT_BYTES);
    let tenant = TenantId::parse(&HEXLOWER.encode(tenant)).ok()?;
    Some((tenant, HEXLOWER.encode(notification)))
}

/// Whether a notification mail made with these outbox `params` can be answered by mail:
/// a mention, a comment or a client message in a project (not team chat).
pub fn answerable(params: &Value) -> Option<&str> {
    let kind = params.get("kind").and_then(Value::as_str)?;
    let kind = Kind::parse(kind).ok()?;
    let in_project = params
        .get("project")
        .and_then(Value::as_str)
        .is_some_and(|p| !p.is_empty());
    (matches!(
        kind,
        Kind::Mentioned | Kind::Commented | Kind::ClientMessage
    ) && in_project)
        .then(|| params.get("notification").and_then(Value::as_str))
        .flatten()
}

/// What the receiver knows of a mail besides its content.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// `MAIL FROM`; empty for a bounce.
    pub sender: &'a str,
    /// Trust `Authentication-Results` from this mail server (the one that took the mail
    /// from the internet) and require it to vouch for the sender; `None`: the token and
    /// the `From` address are the proof.
    pub authserv_id: Option<&'a str>,
}

/// What became of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// It is this new comment.
    Posted(Box<Comment>),
    /// It was delivered before and is this comment.
    Again(String),
    /// Automatic mail (an out-of-office answer, a bounce): taken and dropped, for this
    /// reason.
    Dropped(&'static str),
}

/// The reply `raw` (a whole mail as received) to notification `notification_id` of the
/// brand of `store`: checked as the module says and made a comment.
#[tracing::instrument(skip_all)]
pub async fn receive(
    store: &TenantStore,
    notification_id: &str,
    envelope: Envelope<'_>,
    raw: &[u8],
) -> Result<Received> {
    let mail = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Error::Invalid("the mail could not be read".to_owned()))?;
    if let Some(reason) = automatic(envelope.sender, &mail) {
        return Ok(Received::Dropped(reason));
    }
    let from = sole_sender(&mail)?;
    if let Some(authserv_id) = envelope.authserv_id {
        vouched(&mail, authserv_id, &from)?;
    }
    let text = mail
        .body_text(0)
        .map(|t| t.chars().take(LONGEST_TEXT).collect::<String>())
        .unwrap_or_default();
    let text = reply_text(&text);
    if text.is_empty() {
        return Err(Error::Invalid(
            "the reply has no text of its own above the quoted mail".to_owned(),
        ));
    }

    let mut tx = store.write_uncached().await?;
    let no_longer = || {
        Error::NotFound("this reply address is no longer valid: answer in the workspace".to_owned())
    };
    let row: Option<(String, String, Option<String>, Option<String>)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select user_id, kind, project_id, subject_id from notifications where notification_id = $1",
        )
        .bind(notification_id)
        .fetch_optional(conn)
        .await?
    });
    let (user_id, kind, project_id, subject_id) = row.ok_or_else(no_longer)?;
    let answerable = matches!(
        Kind::parse(&kind),
        Ok(Kind::Mentioned | Kind::Commented | Kind::ClientMessage)
    );
    let (Some(project_id), Some(subject_id), true) = (project_id, subject_id, answerable) else {
        return Err(no_longer());
    };
    let principal = sessions::principal_by_mail(&mut tx, &user_id, notification_id).await?;
    check_sender(&principal, &from)?;

    let key = message_key(&user_id, &mail, raw);
    let before: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select comment_id from mail_replies where message_key = $1")
            .bind(&key)
            .fetch_optional(conn)
            .await?
    });
    if let Some(comment_id) = before {
        return Ok(Received::Again(comment_id));
    }
    let thread = thread_of(&mut tx, &project_id, &subject_id)
        .await?
        .ok_or_else(no_longer)?;
    let new = NewComment {
        body: text,
        files: Vec::new(),
    };
    let comment =
        comments::write_comment(&mut tx, &principal, &project_id, thread.as_ref(), &new).await?;
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into mail_replies (message_key, comment_id, user_id, received_at) values ($1, $2, $3, $4)",
        )
        .bind(&key)
        .bind(&comment.id)
        .bind(&user_id)
        .bind(at)
        .execute(conn)
        .await?;
    });
    tx.commit().await?;
    Ok(Received::Posted(Box::new(comment)))
}

/// Why a mail is automatic and dropped, if it is: a bounce (no envelope sender), an
/// auto-reply (RFC 3834 `Auto-Submitted`), or list and bulk mail.
fn automatic(sender: &str, mail: &mail_parser::Message<'_>) -> Option<&'static str> {
    if sender.trim().is_empty() {
        return Some("a delivery report (no sender)");
    }
    for (name, value) in mail.headers_raw() {
        let value = value.trim().to_ascii_lowercase();
        if name.eq_ignore_ascii_case("Auto-Submitted") && value != "no" {
            return Some("an automatic answer (Auto-Submitted)");
        }
        if name.eq_ignore_ascii_case("Precedence")
            && matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply")
        {
            return Some("bulk or automatic mail (Precedence)");
        }
        if name.eq_ignore_ascii_case("X-Autoreply") || name.eq_ignore_ascii_case("X-Autorespond") {
            return Some("an automatic answer");
        }
    }
    None
}

/// The one address in `From`.
fn sole_sender(mail: &mail_parser::Message<'_>) -> Result<Email> {
    let refused = || {
        Error::Forbidden(
            "the reply must come from exactly one address: the one the notification was sent to"
                .to_owned(),
        )
    };
    let from = mail.from().ok_or_else(refused)?;
    let mut addresses = from.iter().filter_map(|a| a.address());
    let (Some(address), None) = (addresses.next(), addresses.next()) else {
        return Err(refused());
    };
    Email::parse(address).map_err(|_| refused())
}

/// That `Authentication-Results` of `authserv_id` vouch for `from`'s domain: DMARC passed,
/// or DKIM passed for that domain, or SPF passed for a sender of that domain. Results
/// from any other server are not read (anyone could write them).
fn vouched(mail: &mail_parser::Message<'_>, authserv_id: &str, from: &Email) -> Result<()> {
    let domain = from
        .as_str()
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    let passes = mail
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .any(|(_, value)| results_vouch(value, authserv_id, &domain));
    if passes {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "the receiving mail server could not confirm that this mail comes from {domain} (no DMARC, DKIM or SPF pass): reply from your own mail account"
        )))
    }
}

/// Whether one `Authentication-Results` value (RFC 8601) is `authserv_id`'s and vouches
/// for `domain`.
fn results_vouch(value: &str, authserv_id: &str, domain: &str) -> bool {
    let unfolded: String = value
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let without_comments = strip_comments(&unfolded);
    let mut parts = without_comments.split(';');
    let server = parts.next().unwrap_or_default().split_whitespace().next();
    if !server.is_some_and(|s| s.eq_ignore_ascii_case(authserv_id)) {
        return false;
    }
    parts.any(|result| {
        let mut words = result.split_whitespace();
        let Some((method, outcome)) = words.next().and_then(|w| w.split_once('=')) else {
            return false;
        };
        if !outcome.eq_ignore_ascii_case("pass") {
            return false;
        }
        let properties: Vec<(String, String)> = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        let of_domain = |key: &str| {
            properties.iter().any(|(k, v)| {
                k == key && (v == domain || v.rsplit_once('@').is_some_and(|(_, d)| d == domain))
            })
        };
        match method.to_ascii_lowercase().as_str() {
            "dmarc" => properties
                .iter()
                .all(|(k, v)| k != "header.from" || v == domain),
            "dkim" => of_domain("header.d") || of_domain("header.i"),
            "spf" => of_domain("smtp.mailfrom"),
            _ => false,
        }
    })
}

/// `text` without its parenthesised comments (RFC 5322 CFWS).
fn strip_comments(text: &str) -> String {
    let mut depth = 0_usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// That the mail comes from the address of the person the notification went to.
fn check_sender(principal: &Principal, from: &Email) -> Result<()> {
    let own = Email::parse(principal.email()).map(|e| e.key()).ok();
    if own.as_deref() == Some(from.key().as_str()) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "this reply came from {}, but the mail it answers went to another address: reply from the address the notification was sent to",
            from.as_str()
        )))
    }
}

/// What identifies one delivery of a mail for one person: its `Message-ID`, or else its
/// content.
fn message_key(user_id: &str, mail: &mail_parser::Message<'_>, raw: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(user_id.as_bytes());
    hash.update([0]);
    match mail.message_id() {
        Some(id) => hash.update(id.as_bytes()),
        None => hash.update(raw),
    }
    HEXLOWER.encode(&hash.finalize())
}

/// The thread of the notification's subject: a comment's thread, or the discussion itself.
async fn thread_of(
    tx: &mut crate::store::Tx,
    project_id: &str,
    subject_id: &str,
) -> Result<Option<FoundThread>> {
    match comments::thread_ref_of(tx, project_id, subject_id).await {
        Ok(found) => return Ok(Some(found)),
        Err(Error::NotFound(_)) => {}
        Err(error) => return Err(error),
    }
    let discussion: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select discussion_id from discussions where discussion_id = $1 and project_id = $2",
        )
        .bind(subject_id)
        .bind(project_id)
        .fetch_optional(conn)
        .await?
    });
    Ok(discussion.map(|item| FoundThread {
        kind: ThreadKind::Discussion,
        item,
    }))
}

/// The text a person wrote in a reply: everything above the notification's marker line,
/// the quoted text and its attribution line ("On … wrote:"), a forwarded or original
/// message, and the signature (after `-- `), without control characters.
pub fn reply_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (at, line) in lines.iter().copied().enumerate() {
        let trimmed = line.trim();
        // Outlook's header block of the quoted mail: "From: …" then "Sent: …" or "Date: …".
        let header_block = trimmed.starts_with("From:")
            && lines.get(at + 1).is_some_and(|next| {
                let next = next.trim_start();
                next.starts_with("Sent:") || next.starts_with("Date:")
            });
        let ends = header_block
            || trimmed.contains(MARKER)
            || trimmed.starts_with('>')
            || trimmed == "--"
            || line.trim_end() == "--"
            || line == "-- "
            || trimmed.starts_with("-----Original Message-----")
            || trimmed.starts_with("---------- Forwarded message")
            || (trimmed.len() >= 20 && trimmed.chars().all(|c| c == '_'));
        if ends {
            break;
        }
        kept.push(line);
    }
    // The attribution line above the quote, possibly wrapped over two lines.
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    if kept.last().is_some_and(|l| attribution_end(l.trim())) {
        let last = kept.pop().unwrap_or_default().trim();
        if !last.starts_with("On ") && kept.last().is_some_and(|l| l.trim().starts_with("On ")) {
            kept.pop();
        }
    }
    let kept = kept.join("\n");
    kept.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Whether `line` ends an attribution ("On Mon, 1 Dec 2026, Ada <ada@x> wrote:" and its
/// German and French forms).
fn attribution_end(line: &str) -> bool {
    line.ends_with("wrote:") || line.ends_with("schrieb:") || line.ends_with("écrit :")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::random()
    }

    #[test]
    fn a_token_names_its_brand_and_notification_and_cannot_be_altered() {
        let key = key();
        let tenant = TenantId::parse("0193a5b2c3d4e5f60718293a").unwrap_or_else(|e| panic!("{e}"));
        let notification = "0193a5b2c3d40001a1b2c3d4";
        let token = token(&key, &tenant, notification).unwrap_or_default();
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let read = read_token(&key, &token);
        assert_eq!(read, Some((tenant.clone(), notification.to_owned())));
        // Mail systems may change the case.
        assert_eq!(read_token(&key, &token.to_uppercase()), read);
        // Another server's key, or any changed character, reads nothing.
        assert_eq!(read_token(&self::key(), &token), None);
        for at in [0, 20, 40, TOKEN_LEN - 2] {
            let mut changed: Vec<char> = token.chars().collect();
            changed[at] = if changed[at] == 'a' { 'b' } else { 'a' };
            let changed: String = changed.into_iter().collect();
            assert_eq!(read_token(&key, &changed), None, "changed at {at}");
        }
        assert_eq!(read_token(&key, "short"), None);
        assert_eq!(read_token(&key, &"!".repeat(TOKEN_LEN)), None);
    }

    #[test]
    fn reply_addresses_fit_the_standard_and_are_recognised() {
        let address =
            ReplyAddress::parse("Reply@Replies.Example.com").unwrap_or_else(|e| panic!("{e}"));
        let token = "a".repeat(TOKEN_LEN);
        let full = address.with_token(&token);
        assert_eq!(full, format!("reply+{token}@replies.example.com"));
        assert!(
            full.split('@')
                .next()
                .is_some_and(|local| local.len() <= 64)
        );
        assert_eq!(address.token_of(&full), Some(token.as_str()));
        assert_eq!(
            address.token_of(&full.to_uppercase()).map(str::len),
            Some(TOKEN_LEN)
        );
        assert_eq!(
            address.token_of(&format!("reply+{token}@other.example.com")),
            None
        );
        assert_eq!(
            address.token_of(&format!("other+{token}@replies.example.com")),
            None
        );
        assert_eq!(address.token_of("reply@replies.example.com"), None);
        assert_eq!(address.token_of("reply+short@replies.example.com"), None);
        assert!(ReplyAddress::parse("a-very-long-local@x.example.com").is_err());
        assert!(ReplyAddress::parse("no at sign").is_err());
        assert!(ReplyAddress::parse("re+ply@x.example.com").is_err());
    }

    #[test]
    fn only_the_written_text_of_a_reply_is_kept() {
        let mail = "Looks good, ship it.\r\n\r\nThanks!\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Alpha Studio <noreply@agency.test>\r\nwrote:\r\n> ##- Write your reply above this line -##\r\n> Ada mentioned you";
        assert_eq!(reply_text(mail), "Looks good, ship it.\n\nThanks!");
        let signed = "Yes.\n-- \nPat Doe\nAlpha Studio";
        assert_eq!(reply_text(signed), "Yes.");
        let outlook = "Done\n\n________________________________\nFrom: Alpha Studio\nSent: today";
        assert_eq!(reply_text(outlook), "Done");
        let headers = "Agreed\r\n\r\nFrom: Alpha Studio <noreply@agency.test>\r\nSent: Tuesday\r\nTo: Pat\r\n\r\nHello Pat,";
        assert_eq!(reply_text(headers), "Agreed");
        let marker = format!("Fine by me\n\n{MARKER}\nAda mentioned you");
        assert_eq!(reply_text(&marker), "Fine by me");
        let one_line = "ok\nOn Mon, 30 Nov 2026, Ada <ada@alpha.test> wrote:\n> hi";
        assert_eq!(reply_text(one_line), "ok");
        assert_eq!(reply_text("> only quoted"), "");
        assert_eq!(reply_text("bell\u{7} and\u{1b}escape"), "bell  and escape");
        // Markdown the person wrote stays as it is.
        assert_eq!(
            reply_text("- one\n- two\n\n**bold**"),
            "- one\n- two\n\n**bold**"
        );
    }

    #[test]
    fn authentication_results_count_only_from_the_trusted_server_and_for_the_domain() {
        let trusted = "mx.agency.test";
        assert!(results_vouch(
            "mx.agency.test; dkim=pass header.d=alpha.test; spf=fail smtp.mailfrom=x.test",
            trusted,
            "alpha.test"
        ));
        assert!(results_vouch(
            "mx.agency.test 1; dmarc=pass (p=reject) header.from=alpha.test",
            trusted,
            "alpha.test"
        ));
        assert!(results_vouch(
            "mx.agency.test;\r\n spf=pass smtp.mailfrom=pat@alpha.test",
            trusted,
            "alpha.test"
        ));
        // Another server's word, another domain, or a failure does not count.
        assert!(!results_vouch(
            "evil.test; dmarc=pass header.from=alpha.test",
            trusted,
            "alpha.test"
        ));
        assert!(!results_vouch(
            "mx.agency.test; dkim=pass header.d=evil.test",
            trusted,
            "alpha.test"
        ));
        assert!(!results_vouch(
            "mx.agency.test; dmarc=pass header.from=evil.test",
            trusted,
            "alpha.test"
        ));
        assert!(!results_vouch(
            "mx.agency.test; dmarc=fail header.from=alpha.test",
            trusted,
            "alpha.test"
        ));
        assert!(!results_vouch(
            "mx.agency.test; none",
            trusted,
            "alpha.test"
        ));
        assert!(!results_vouch(
            "mx.agency.test (dmarc=pass header.from=alpha.test); dkim=fail",
            trusted,
            "alpha.test"
        ));
    }

    #[test]
    fn only_mentions_comments_and_client_messages_in_projects_are_answerable() {
        let params = |kind: &str, project: Option<&str>| serde_json::json!({"kind": kind, "project": project, "notification": "n1"});
        assert_eq!(answerable(&params("mentioned", Some("p1"))), Some("n1"));
        assert_eq!(answerable(&params("commented", Some("p1"))), Some("n1"));
        assert_eq!(
            answerable(&params("client_message", Some("p1"))),
            Some("n1")
        );
        assert_eq!(answerable(&params("mentioned", None)), None, "team chat");
        assert_eq!(answerable(&params("assigned", Some("p1"))), None);
        assert_eq!(answerable(&serde_json::json!({"kind": "mentioned"})), None);
    }
}

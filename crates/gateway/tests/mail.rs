//! Mail through the real binary and a real SMTP server (aiosmtpd), on SQLite and on
//! PostgreSQL: the first admin's invitation arrives in the brand's name and its link sets
//! a password that signs in; a reset mail's link works once and ends every session; an
//! unknown address gets the same answer and no mail; and with the SMTP server down, then
//! up, the mail is delivered exactly once; and two-factor sign-in, turned on with a code
//! computed like an authenticator app's, is then needed at sign-in and announced by mail,
//! and once required for staff a new staff member can only set it up.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::smtp::{SmtpServer, link_token};
use support::{PostgresDb, Server, Workdir, https_exchange, session_cookie};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";

fn json_request(method: &str, host: &str, path: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nOrigin: https://{host}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn post(at: SocketAddr, host: &str, path: &str, body: &str, extra: &str) -> support::Exchange {
    https_exchange(at, host, &json_request("POST", host, path, body, extra))
}

fn sign_in(at: SocketAddr, password: &str) -> support::Exchange {
    post(
        at,
        "alpha.test",
        "/api/v1/session",
        &format!(r#"{{"email":"ada@alpha.test","password":"{password}"}}"#),
        "",
    )
}

/// `serve` with `[smtp]` pointed at `smtp` and the store at `database`, behind a mapping of
/// port 443 so the site's origin is `https://alpha.test`.
fn start(work: &Workdir, smtp: SocketAddr, database: Option<&str>) -> Server {
    let mut command = work.std_command();
    command
        .env("TASKSESSION_SMTP_HOST", "127.0.0.1")
        .env("TASKSESSION_SMTP_PORT", smtp.port().to_string())
        .env("TASKSESSION_SMTP_TLS", "none")
        .env("TASKSESSION_SMTP_FROM", "noreply@agency.test")
        // The brands' own test SMTP servers run on loopback too.
        .env("TASKSESSION_SMTP_ALLOW_PRIVATE_HOSTS", "true")
        .env("TASKSESSION_PUBLIC_HTTPS_PORT", "443");
    if let Some(url) = database {
        command.env("TASKSESSION_DATABASE_URL", url);
    }
    Server::start(command)
}

fn add_brand(work: &Workdir, database: Option<&str>) {
    let mut command = work.command();
    if let Some(url) = database {
        command.env("TASKSESSION_DATABASE_URL", url);
    }
    command
        .args([
            "domain",
            "add",
            "alpha.test",
            "--brand",
            "Alpha Studio",
            "--admin-email",
            "ada@alpha.test",
        ])
        .assert()
        .code(0);
}

/// Sets [`PASSWORD`] through the invitation mail's link.
fn accept(at: SocketAddr, invitation: &support::smtp::Received) {
    let token = link_token(&invitation.text, "invite");
    let accepted = post(
        at,
        "alpha.test",
        &format!("/api/v1/invitations/{token}/accept"),
        &format!(r#"{{"password":"{PASSWORD}"}}"#),
        "",
    );
    assert_eq!(accepted.status, 200, "{accepted:?}");
}

/// A brand whose first admin took the mailed invitation and signed in over HTTPS.
struct Admin {
    smtp: SmtpServer,
    work: Workdir,
    server: Server,
    at: SocketAddr,
    /// The invitation as received.
    invitation: support::smtp::Received,
    /// `Cookie: …\r\n` for the admin's session.
    cookie: String,
}

fn admin_signed_in(database: Option<&str>) -> Option<Admin> {
    let smtp = SmtpServer::start(0)?;
    let work = Workdir::new();
    add_brand(&work, database);
    let mut server = start(&work, smtp.address, database);
    let at = server.addresses().https;
    let invitation = smtp.wait_for(1, Duration::from_secs(30)).remove(0);
    accept(at, &invitation);
    let signed_in = sign_in(at, PASSWORD);
    assert_eq!(signed_in.status, 200, "{signed_in:?}");
    let cookie = format!("Cookie: {}\r\n", session_cookie(&signed_in));
    Some(Admin {
        smtp,
        work,
        server,
        at,
        invitation,
        cookie,
    })
}

fn invitation_and_reset_mails_work(database: Option<&str>) {
    let Some(Admin {
        smtp,
        work: _work,
        mut server,
        at,
        invitation,
        cookie,
    }) = admin_signed_in(database)
    else {
        return;
    };
    // The first admin's invitation, in the brand's name (its link signed in above).
    eprintln!(
        "received invitation mail:\n{}\n{}",
        invitation.raw_head, invitation.text
    );
    assert_eq!(invitation.to, "ada@alpha.test");
    assert!(
        invitation
            .from
            .starts_with("Alpha Studio <noreply@agency.test>"),
        "{}",
        invitation.from
    );
    assert_eq!(invitation.subject, "You are invited to Alpha Studio");
    assert!(invitation.message_id.ends_with("@alpha.test>"));
    assert!(
        invitation.text.contains("https://alpha.test/invite/"),
        "{}",
        invitation.text
    );
    assert!(invitation.html.contains("Alpha Studio"));
    assert!(!invitation.text.to_lowercase().contains("task session"));

    // An unknown address gets the same answer and no mail.
    let unknown = post(
        at,
        "alpha.test",
        "/api/v1/password-reset",
        r#"{"email":"nobody@alpha.test"}"#,
        "",
    );
    let known = post(
        at,
        "alpha.test",
        "/api/v1/password-reset",
        r#"{"email":"ada@alpha.test"}"#,
        "",
    );
    assert_eq!((unknown.status, known.status), (202, 202));
    assert_eq!(unknown.body, known.body);
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    let mails_after = smtp.messages();
    assert_eq!(
        mails_after.len(),
        2,
        "one reset mail, none for the unknown address"
    );
    let reset = &mails[1];
    assert_eq!(reset.to, "ada@alpha.test");
    assert_eq!(reset.subject, "Set a new password for Alpha Studio");
    let token = link_token(&reset.text, "reset");
    let path = format!("/api/v1/password-reset/{token}");
    let body = format!(r#"{{"password":"{NEW_PASSWORD}"}}"#);
    let first = post(at, "alpha.test", &path, &body, "");
    assert_eq!(first.status, 200, "{first:?}");
    let again = post(at, "alpha.test", &path, &body, "");
    assert_eq!(again.status, 404, "the link works once: {again:?}");
    // The session from before the reset has ended; the new password signs in.
    let me = https_exchange(
        at,
        "alpha.test",
        format!("GET /api/v1/me HTTP/1.1\r\nHost: alpha.test\r\n{cookie}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(me.status, 401, "{me:?}");
    assert_eq!(sign_in(at, PASSWORD).status, 401);
    assert_eq!(sign_in(at, NEW_PASSWORD).status, 200);
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn invitation_and_reset_mails_arrive_in_the_brands_name_on_sqlite() {
    invitation_and_reset_mails_work(None);
}

#[test]
fn invitation_and_reset_mails_arrive_in_the_brands_name_on_postgresql() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    invitation_and_reset_mails_work(Some(&database.url()));
}

#[test]
fn with_the_smtp_server_down_then_up_the_mail_is_delivered_exactly_once() {
    if !SmtpServer::available() {
        return;
    }
    let port = support::pebble::free_port(false);
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let work = Workdir::new();
    add_brand(&work, None);
    let mut server = start(&work, address, None);
    server.wait_for_line("mail not sent");
    // The invitation waits in the outbox; the server keeps running.
    let Some(smtp) = SmtpServer::start(port) else {
        return;
    };
    // The retry comes about a minute after the failure.
    let mails = smtp.wait_for(1, Duration::from_secs(120));
    assert_eq!(mails[0].subject, "You are invited to Alpha Studio");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn two_factor_sign_in_is_turned_on_over_https_needed_at_sign_in_and_announced_by_mail() {
    let Some(Admin {
        smtp,
        work: _work,
        mut server,
        at,
        cookie,
        ..
    }) = admin_signed_in(None)
    else {
        return;
    };
    let begun = post(
        at,
        "alpha.test",
        "/api/v1/me/totp",
        &format!(r#"{{"password":"{PASSWORD}"}}"#),
        &cookie,
    );
    assert_eq!(begun.status, 201, "{begun:?}");
    let enrollment: serde_json::Value = serde_json::from_str(&begun.body).unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrollment["secret"].as_str().unwrap().as_bytes())
        .unwrap();
    let step = tenant_core::accounts::totp::step_of(time::OffsetDateTime::now_utc());
    let confirm = https_exchange(
        at,
        "alpha.test",
        &json_request(
            "PUT",
            "alpha.test",
            "/api/v1/me/totp",
            &format!(
                r#"{{"code":"{}"}}"#,
                tenant_core::accounts::totp::code_at(&secret, step)
            ),
            &cookie,
        ),
    );
    assert_eq!(confirm.status, 200, "{confirm:?}");
    let codes: serde_json::Value = serde_json::from_str(&confirm.body).unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);

    let needs_code = sign_in(at, PASSWORD);
    assert_eq!(needs_code.status, 401);
    assert!(
        needs_code.body.contains(r#""code":"totp_required""#),
        "{}",
        needs_code.body
    );
    let with_code = post(
        at,
        "alpha.test",
        "/api/v1/session",
        &format!(
            r#"{{"email":"ada@alpha.test","password":"{PASSWORD}","totp":"{}"}}"#,
            tenant_core::accounts::totp::code_at(&secret, step + 1)
        ),
        "",
    );
    assert_eq!(with_code.status, 200, "{with_code:?}");

    let notice = smtp.wait_for(2, Duration::from_secs(30)).remove(1);
    assert_eq!(
        notice.subject,
        "Two-factor sign-in is on for your Alpha Studio account"
    );
    assert!(notice.from.starts_with("Alpha Studio <"));

    // The admin requires it of every staff member; a new one can then only set it up.
    let required = https_exchange(
        at,
        "alpha.test",
        &json_request(
            "PUT",
            "alpha.test",
            "/api/v1/settings/security",
            r#"{"require_totp_for_staff":true}"#,
            &cookie,
        ),
    );
    assert_eq!(required.status, 200, "{required:?}");
    let invited = post(
        at,
        "alpha.test",
        "/api/v1/users",
        r#"{"email":"sam@alpha.test","name":"Sam","role":"staff"}"#,
        &cookie,
    );
    assert_eq!(invited.status, 201, "{invited:?}");
    assert!(
        invited.body.contains(r#""invitation_mailed":true"#),
        "{}",
        invited.body
    );
    assert!(
        !invited.body.contains("invitation_url"),
        "the link goes only to Sam"
    );
    let sam_invitation = smtp.wait_for(3, Duration::from_secs(30)).remove(2);
    assert_eq!(sam_invitation.to, "sam@alpha.test");
    accept(at, &sam_invitation);
    let sam = post(
        at,
        "alpha.test",
        "/api/v1/session",
        &format!(r#"{{"email":"sam@alpha.test","password":"{PASSWORD}"}}"#),
        "",
    );
    assert_eq!(sam.status, 200, "{sam:?}");
    let sam_cookie = format!("Cookie: {}\r\n", session_cookie(&sam));
    let get = |path: &str| {
        https_exchange(
            at,
            "alpha.test",
            format!(
                "GET {path} HTTP/1.1\r\nHost: alpha.test\r\n{sam_cookie}Connection: close\r\n\r\n"
            )
            .as_bytes(),
        )
    };
    let roles = get("/api/v1/roles");
    assert_eq!(roles.status, 403, "{roles:?}");
    assert!(
        roles.body.contains(r#""code":"totp_setup_required""#),
        "{}",
        roles.body
    );
    assert_eq!(get("/api/v1/me/totp").status, 200);
    assert_eq!(get("/api/v1/me").status, 200);
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

/// `method path` with a JSON body as the signed-in admin; the answer's status and JSON.
fn call(admin: &Admin, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let answer = https_exchange(
        admin.at,
        "alpha.test",
        &json_request(method, "alpha.test", path, body, &admin.cookie),
    );
    let json = serde_json::from_str(&answer.body).unwrap_or(serde_json::Value::Null);
    (answer.status, json)
}

const BRAND_SMTP_PASSWORD: &str = "s3cret-smtp-pass";

fn a_brand_mails_through_its_own_smtp_server(database: Option<&str>) {
    let Some(mut admin) = admin_signed_in(database) else {
        return;
    };
    let own = SmtpServer::start_with_login("alpha-mailer", BRAND_SMTP_PASSWORD).unwrap();
    let (status, before) = call(&admin, "GET", "/api/v1/settings/email", "");
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["custom"], false);
    assert_eq!(before["platform_default"], true);

    let settings = |password: &str| {
        format!(
            r#"{{"host":"127.0.0.1","port":{},"tls":"none","username":"alpha-mailer","password":"{password}","from_name":"Alpha Projects","from_address":"projects@alpha.test"}}"#,
            own.address.port()
        )
    };
    let (status, saved) = call(
        &admin,
        "PUT",
        "/api/v1/settings/email",
        &settings(BRAND_SMTP_PASSWORD),
    );
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["custom"], true);
    assert_eq!(saved["password_set"], true);
    assert!(!saved.to_string().contains(BRAND_SMTP_PASSWORD));

    // Bad input changes nothing.
    let (status, refused) = call(
        &admin,
        "PUT",
        "/api/v1/settings/email",
        r#"{"host":"smtp.example.com","tls":"none","from_address":"not an address"}"#,
    );
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]["fields"]["from_address"].is_string(),
        "{refused}"
    );
    let (_, kept) = call(&admin, "GET", "/api/v1/settings/email", "");
    assert_eq!(kept["from_address"], "projects@alpha.test");
    assert_eq!(kept["password_set"], true);

    // The test mail goes through the brand's server, which insists on the login: so the
    // sealed password was opened and used.
    let (status, tested) = call(&admin, "POST", "/api/v1/settings/email/test", "");
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["via"], "brand");
    let received = own.wait_for(1, Duration::from_secs(30));
    assert_eq!(received[0].from, "Alpha Projects <projects@alpha.test>");
    assert_eq!(received[0].to, "ada@alpha.test");
    assert_eq!(received[0].subject, "Test mail from Alpha Studio");

    // The stored settings (and so a backup) hold the password sealed, never in clear.
    let out = admin.work.path().join("alpha.backup");
    let mut backup = admin.work.command();
    if let Some(url) = database {
        backup.env("TASKSESSION_DATABASE_URL", url);
    }
    backup
        .args(["backup", "--domain", "alpha.test", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("password_sealed"),
        "the settings are in the backup"
    );
    assert!(
        !text.contains(BRAND_SMTP_PASSWORD),
        "the password is sealed"
    );

    // Queued mail goes the brand's way too, after a restart (the key is kept).
    admin.server.terminate();
    assert_eq!(admin.server.wait().code(), Some(0));
    admin.server = start(&admin.work, admin.smtp.address, database);
    admin.at = admin.server.addresses().https;
    let (status, invited) = call(
        &admin,
        "POST",
        "/api/v1/users",
        r#"{"email":"bo@alpha.test","name":"Bo","role":"staff"}"#,
    );
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["invitation_mailed"], true);
    let received = own.wait_for(2, Duration::from_secs(30));
    assert_eq!(received[1].subject, "You are invited to Alpha Studio");
    assert_eq!(received[1].from, "Alpha Projects <projects@alpha.test>");

    // A wrong password: the test mail reports the server's refusal.
    let (status, _) = call(&admin, "PUT", "/api/v1/settings/email", &settings("wrong"));
    assert_eq!(status, 200);
    let (status, failed) = call(&admin, "POST", "/api/v1/settings/email/test", "");
    assert_eq!(status, 502, "{failed}");
    assert_eq!(failed["error"]["code"], "mail_failed");
    let reason = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(reason.contains(&own.address.port().to_string()), "{reason}");

    // Removed: mail goes through the platform's server again.
    let (status, cleared) = call(&admin, "DELETE", "/api/v1/settings/email", "");
    assert_eq!(
        (status, &cleared["custom"]),
        (200, &serde_json::json!(false))
    );
    let (status, tested) = call(
        &admin,
        "POST",
        "/api/v1/settings/email/test",
        r#"{"to":"ops@alpha.test"}"#,
    );
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["via"], "platform");
    let platform = admin.smtp.wait_for(2, Duration::from_secs(30));
    assert_eq!(platform[1].to, "ops@alpha.test");
    assert_eq!(platform[1].from, "Alpha Studio <noreply@agency.test>");
    assert_eq!(own.messages().len(), 2, "nothing more went the brand's way");

    let (status, audit) = call(
        &admin,
        "GET",
        "/api/v1/audit?action=settings.email_update",
        "",
    );
    assert_eq!(status, 200);
    assert!(!audit.to_string().contains(BRAND_SMTP_PASSWORD));
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(2), "{audit}");
}

#[test]
fn a_brand_mails_through_its_own_smtp_server_on_sqlite() {
    a_brand_mails_through_its_own_smtp_server(None);
}

#[test]
fn a_brand_mails_through_its_own_smtp_server_on_postgresql() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    a_brand_mails_through_its_own_smtp_server(Some(&database.url()));
}

/// One SMTP conversation with the reply receiver: each command's answer (a DATA command
/// is followed by `data` and the closing dot, and answered twice).
fn smtp_talk(at: SocketAddr, commands: &[&str], data: &str) -> Vec<String> {
    use std::io::{BufRead as _, BufReader, Write as _};
    let stream = std::net::TcpStream::connect_timeout(&at, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let read_answer = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut answer = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            answer.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return answer.trim_end().to_owned();
            }
        }
    };
    let mut answers = vec![read_answer(&mut reader)];
    for command in commands {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        answers.push(read_answer(&mut reader));
        if command.eq_ignore_ascii_case("DATA")
            && answers.last().is_some_and(|a| a.starts_with("354"))
        {
            let stuffed: String = data
                .split("\r\n")
                .map(|line| {
                    if line.starts_with('.') {
                        format!(".{line}\r\n")
                    } else {
                        format!("{line}\r\n")
                    }
                })
                .collect();
            writer.write_all(stuffed.as_bytes()).unwrap();
            writer.write_all(b".\r\n").unwrap();
            answers.push(read_answer(&mut reader));
        }
    }
    answers
}

/// A reply from `from` to `to` through the receiver at `at`; the answer to its data.
fn send_reply(at: SocketAddr, from: &str, to: &str, message_id: &str, text: &str) -> String {
    let data = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: mention\r\nMessage-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Tue, Alpha Studio wrote:\r\n> ##- Write your reply above this line -##\r\n> .hidden dot line"
    );
    let answers = smtp_talk(
        at,
        &[
            "EHLO mail.example.test",
            &format!(
                "MAIL FROM:<{}>",
                from.rsplit('<')
                    .next()
                    .unwrap_or(from)
                    .trim_end_matches('>')
            ),
            &format!("RCPT TO:<{to}>"),
            "DATA",
            "QUIT",
        ],
        &data,
    );
    assert!(answers[0].starts_with("220"), "{answers:?}");
    assert!(answers[1].contains("SIZE"), "{answers:?}");
    assert!(answers[3].starts_with("250"), "RCPT: {answers:?}");
    assert!(answers[4].starts_with("354"), "{answers:?}");
    answers[5].clone()
}

#[test]
fn a_reply_to_a_mention_mail_becomes_a_comment_and_a_forged_one_is_refused() {
    let Some(smtp) = SmtpServer::start(0) else {
        return;
    };
    let work = Workdir::new();
    add_brand(&work, None);
    let mut command = work.std_command();
    command
        .env("TASKSESSION_SMTP_HOST", "127.0.0.1")
        .env("TASKSESSION_SMTP_PORT", smtp.address.port().to_string())
        .env("TASKSESSION_SMTP_TLS", "none")
        .env("TASKSESSION_SMTP_FROM", "noreply@agency.test")
        .env("TASKSESSION_PUBLIC_HTTPS_PORT", "443")
        .env("TASKSESSION_REPLY_ADDRESS", "reply@replies.agency.test")
        .env("TASKSESSION_REPLY_LISTEN", "127.0.0.1:0");
    let mut server = Server::start(command);
    let at = server.addresses().https;
    let line = server.wait_for_line("smtp=");
    let receiver: SocketAddr = line
        .split("smtp=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect::<String>()
        .parse()
        .unwrap();
    let invitation = smtp.wait_for(1, Duration::from_secs(30)).remove(0);
    accept(at, &invitation);
    let signed_in = sign_in(at, PASSWORD);
    let cookie = format!("Cookie: {}\r\n", session_cookie(&signed_in));
    let api = |method: &str, path: &str, body: &str| {
        let answer = https_exchange(
            at,
            "alpha.test",
            &json_request(method, "alpha.test", path, body, &cookie),
        );
        (
            answer.status,
            serde_json::from_str::<serde_json::Value>(&answer.body).unwrap_or_default(),
        )
    };
    let (status, pat) = api(
        "POST",
        "/api/v1/users",
        r#"{"email":"pat@alpha.test","name":"Pat Doe","role":"staff"}"#,
    );
    assert_eq!(status, 201, "{pat}");
    let pat_invitation = smtp.wait_for(2, Duration::from_secs(30)).remove(1);
    accept(at, &pat_invitation);
    let (status, project) = api("POST", "/api/v1/projects", r#"{"name":"Website"}"#);
    assert_eq!(status, 201, "{project}");
    let project = project["id"].as_str().unwrap().to_owned();
    let (status, _) = api(
        "POST",
        &format!("/api/v1/projects/{project}/members"),
        &format!(r#"{{"user":"{}"}}"#, pat["id"].as_str().unwrap()),
    );
    assert_eq!(status, 200);
    let (status, task) = api(
        "POST",
        &format!("/api/v1/projects/{project}/tasks"),
        r#"{"title":"Homepage"}"#,
    );
    assert_eq!(status, 201, "{task}");
    let comments_path = format!(
        "/api/v1/projects/{project}/tasks/{}/comments",
        task["id"].as_str().unwrap()
    );
    let (status, _) = api(
        "POST",
        &comments_path,
        r#"{"body":"@Pat Doe can you look at the hero image?"}"#,
    );
    assert_eq!(status, 201);

    // The mention mail carries a reply address and says where to write.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mention = loop {
        if let Some(found) = smtp
            .messages()
            .into_iter()
            .find(|m| m.to == "pat@alpha.test" && m.text.contains("mentioned"))
        {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mention mail: {:?}",
            smtp.messages()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let reply_to = mention
        .raw_head
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .unwrap_or_else(|| panic!("no Reply-To: {}", mention.raw_head))
        .trim()
        .to_owned();
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with("@replies.agency.test"),
        "{reply_to}"
    );
    assert!(reply_to.split('@').next().unwrap().len() <= 64);
    assert!(
        mention
            .text
            .contains("##- Write your reply above this line -##")
    );

    // A forged sender with the real address: refused after the data, nothing posted.
    let forged = send_reply(
        receiver,
        "Ada <ada@alpha.test>",
        &reply_to,
        "f1@mail.test",
        "Approved!",
    );
    assert!(forged.starts_with("550"), "{forged}");
    // A made-up or altered token: refused at RCPT.
    let mut altered: Vec<char> = reply_to.chars().collect();
    altered[10] = if altered[10] == 'a' { 'b' } else { 'a' };
    let altered: String = altered.into_iter().collect();
    let answers = smtp_talk(
        receiver,
        &[
            "HELO mail.example.test",
            "MAIL FROM:<pat@alpha.test>",
            &format!("RCPT TO:<{altered}>"),
            "RCPT TO:<postmaster@replies.agency.test>",
            "DATA",
            "QUIT",
        ],
        "",
    );
    assert!(answers[3].starts_with("550"), "{answers:?}");
    assert!(answers[4].starts_with("550"), "{answers:?}");
    assert!(
        answers[5].starts_with("503"),
        "no recipient, no data: {answers:?}"
    );
    let (_, listed) = api("GET", &comments_path, "");
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    // The person told: one comment by them, without the quote; a second delivery of the
    // same mail changes nothing.
    let posted = send_reply(
        receiver,
        "Pat Doe <pat@alpha.test>",
        &reply_to,
        "r1@mail.test",
        "Looking now.\r\n.It starts with a dot.",
    );
    assert!(posted.starts_with("250"), "{posted}");
    let again = send_reply(
        receiver,
        "Pat Doe <pat@alpha.test>",
        &reply_to,
        "r1@mail.test",
        "Looking now.",
    );
    assert!(again.starts_with("250"), "{again}");
    // And through Python's smtplib, another SMTP client than this test's, twice.
    let python = r#"
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Pat Doe <pat@alpha.test>"
m["To"] = sys.argv[3]
m["Subject"] = "Re: mention"
m["Message-ID"] = "<r2@mail.test>"
m.set_content("Sent from a mail program.\n\nOn Tue, Alpha Studio wrote:\n> ##- Write your reply above this line -##\n")
for _ in range(2):
    with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30) as s:
        s.send_message(m, from_addr="pat@alpha.test", to_addrs=[sys.argv[3]])
"#;
    let sent = std::process::Command::new("python3")
        .args(["-c", python])
        .arg(receiver.ip().to_string())
        .arg(receiver.port().to_string())
        .arg(&reply_to)
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let (_, listed) = api("GET", &comments_path, "");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{listed}");
    assert_eq!(items[2]["body"], "Sent from a mail program.", "{listed}");
    assert_eq!(items[1]["author"]["name"], "Pat Doe", "{listed}");
    assert_eq!(
        items[1]["body"], "Looking now.\n.It starts with a dot.",
        "{listed}"
    );
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

/// Sending an invoice mails it, with its PDF, to the company's contact in the brand's
/// name, and its history says so.
#[test]
fn a_sent_invoice_is_mailed_to_the_clients_contact_with_its_pdf() {
    let Some(admin) = admin_signed_in(None) else {
        return;
    };
    let (status, company) = call(
        &admin,
        "POST",
        "/api/v1/clients",
        r#"{"name":"Acme GmbH","details":"Hauptstraße 1\n10115 Berlin"}"#,
    );
    assert_eq!(status, 201, "{company}");
    let company = company["id"].as_str().unwrap().to_owned();
    let (status, invited) = call(
        &admin,
        "POST",
        "/api/v1/users",
        &format!(
            r#"{{"email":"cleo@acme.test","name":"Cleo","role":"client","company":"{company}"}}"#
        ),
    );
    assert_eq!(status, 201, "{invited}");
    let mails = admin.smtp.wait_for(2, Duration::from_secs(30));
    accept(admin.at, &mails[1]);
    let (status, settings) = call(
        &admin,
        "PUT",
        "/api/v1/settings/invoicing",
        r#"{"legal_name":"Alpha Studio GmbH","address":"Am Hafen 5\n20457 Hamburg","bank_details":"IBAN DE02 1203 0000 0000 2020 51"}"#,
    );
    assert_eq!(status, 200, "{settings}");
    let (status, draft) = call(
        &admin,
        "POST",
        "/api/v1/invoices",
        &format!(
            r#"{{"company":"{company}","lines":[{{"description":"Homepage design","quantity":"1","unit_price":"1200","tax_rate":"19"}}]}}"#
        ),
    );
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let (status, sent) = call(&admin, "POST", &format!("/api/v1/invoices/{id}/send"), "");
    assert_eq!(status, 200, "{sent}");
    let number = sent["number"].as_str().unwrap().to_owned();

    let mails = admin.smtp.wait_for(3, Duration::from_secs(30));
    let mail = &mails[2];
    assert!(mail.to.contains("cleo@acme.test"), "{mail:?}");
    assert_eq!(mail.subject, format!("Invoice {number} from Alpha Studio"));
    assert_eq!(mail.from, "Alpha Studio <noreply@agency.test>");
    assert!(mail.text.contains("1428.00 EUR"), "{}", mail.text);
    assert!(
        mail.text
            .contains(&format!("https://alpha.test/invoices/{id}")),
        "{}",
        mail.text
    );
    assert_eq!(mail.attachments.len(), 1, "{mail:?}");
    let pdf = &mail.attachments[0];
    assert_eq!(pdf.content_type, "application/pdf");
    assert_eq!(pdf.name, format!("invoice-{number}.pdf"));
    let bytes = data_encoding::BASE64.decode(pdf.base64.as_bytes()).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");

    // The history names the contact it went to (written once the server took it).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, invoice) = call(&admin, "GET", &format!("/api/v1/invoices/{id}"), "");
        assert_eq!(status, 200);
        let history = invoice["history"].to_string();
        if history.contains("The invoice mailed to cleo@acme.test") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{history}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

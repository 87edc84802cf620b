//! Live updates through the real binary: two `serve` processes on one PostgreSQL database
//! (two replicas), a card moved through one of them reaches an events stream open on the
//! other, and a stream resumed with `Last-Event-ID` on the other gets what it missed.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::{PostgresDb, Server, Workdir, header, local_json_request};

const HOST: &str = "live.localhost";
const PASSWORD: &str = "correct horse battery staple";

/// One request and its whole answer: (status, head, body).
fn exchange(at: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(at).unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn id_in(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["id"].as_str().unwrap().to_owned()
}

fn start(work: &Workdir, url: &str) -> Server {
    let mut command = work.std_command();
    command.env("TASKSESSION_DATABASE_URL", url);
    Server::start(command)
}

/// Opens `GET /api/v1/events` with `cookie` (and `Last-Event-ID` when given): the lines of
/// the stream, once its answer's head is read.
fn open_stream(at: SocketAddr, cookie: &str, last: Option<&str>) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(at).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let resume = last.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let request = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n{cookie}{resume}\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        header(&head, "content-type").is_some_and(|t| t.starts_with("text/event-stream")),
        "{head}"
    );
    reader
}

/// Reads the stream until an event of `kind` about `subject` comes: its id and JSON.
fn next_event(
    reader: &mut BufReader<TcpStream>,
    kind: &str,
    subject: &str,
) -> (String, serde_json::Value) {
    let mut id = String::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).unwrap();
        assert!(read > 0, "the stream ended before a {kind} event came");
        let line = line.trim_end();
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.to_owned();
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let event: serde_json::Value = serde_json::from_str(data).unwrap();
            if event["kind"] == kind && event["subject"] == subject {
                return (id, event);
            }
        }
    }
}

#[test]
fn a_card_moved_through_one_server_reaches_a_stream_on_another_and_resumes_there() {
    let Some(database) = PostgresDb::create() else {
        return;
    };
    let url = database.url();
    let first_work = Workdir::new();
    let added = first_work
        .command()
        .env("TASKSESSION_DATABASE_URL", &url)
        .args([
            "domain",
            "add",
            HOST,
            "--brand",
            "Live",
            "--admin-email",
            "admin@live.localhost",
        ])
        .assert()
        .code(0);
    let stdout = String::from_utf8(added.get_output().stdout.clone()).unwrap();
    let invitation = stdout
        .lines()
        .find_map(|line| {
            line.trim()
                .rsplit_once("/invite/")
                .map(|(_, t)| t.to_owned())
        })
        .unwrap();
    let mut first = start(&first_work, &url);
    let second_work = Workdir::new();
    let mut second = start(&second_work, &url);
    let (one, two) = (first.addresses().http, second.addresses().http);

    let (status, _, body) = exchange(
        one,
        &local_json_request(
            "POST",
            HOST,
            &format!("/api/v1/invitations/{invitation}/accept"),
            "",
            &format!(r#"{{"password":"{PASSWORD}"}}"#),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (status, head, _) = exchange(
        one,
        &local_json_request(
            "POST",
            HOST,
            "/api/v1/session",
            "",
            &format!(r#"{{"email":"admin@live.localhost","password":"{PASSWORD}"}}"#),
        ),
    );
    assert_eq!(status, 200, "{head}");
    let session = header(&head, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let cookie = format!("Cookie: {session}\r\n");
    let call = |at: SocketAddr, method: &str, path: &str, body: &str| {
        exchange(at, &local_json_request(method, HOST, path, &cookie, body))
    };
    let (status, _, body) = call(one, "POST", "/api/v1/projects", r#"{"name":"Live"}"#);
    assert_eq!(status, 201, "{body}");
    let project = id_in(&body);
    let (status, _, body) = call(
        one,
        "POST",
        &format!("/api/v1/projects/{project}/tasks"),
        r#"{"title":"Card"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let card = id_in(&body);

    // The stream is on the second server; the moves go through the first.
    let mut stream = open_stream(two, &cookie, None);
    let mut last = String::new();
    let mut took = Vec::new();
    for column in ["in_progress", "review", "done"] {
        let started = Instant::now();
        let (status, _, body) = call(
            one,
            "PATCH",
            &format!("/api/v1/projects/{project}/tasks/{card}"),
            &format!(r#"{{"status":"{column}"}}"#),
        );
        assert_eq!(status, 200, "{body}");
        let (id, event) = next_event(&mut stream, "task.moved", &card);
        took.push(started.elapsed());
        assert_eq!(event["data"]["status"], column);
        assert_eq!(event["project"].as_str(), Some(project.as_str()));
        last = id;
    }
    eprintln!("a move through one server reached the other's stream after {took:?}");
    drop(stream);

    // Dropped; two more moves happen; a stream resumed on the second server with the last
    // id it had gets exactly those, in order.
    for column in ["todo", "in_progress"] {
        let (status, _, body) = call(
            one,
            "PATCH",
            &format!("/api/v1/projects/{project}/tasks/{card}"),
            &format!(r#"{{"status":"{column}"}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }
    let mut resumed = open_stream(two, &cookie, Some(&last));
    let (first_id, event) = next_event(&mut resumed, "task.moved", &card);
    assert_eq!(event["data"]["status"], "todo");
    let (second_id, event) = next_event(&mut resumed, "task.moved", &card);
    assert_eq!(event["data"]["status"], "in_progress");
    let number = |id: &str| id.parse::<i64>().unwrap();
    assert!(number(&last) < number(&first_id) && number(&first_id) < number(&second_id));

    // Stopping a server ends its streams (rather than waiting for them through the
    // shutdown grace period): the open stream is closed by the server.
    second.terminate();
    loop {
        let mut line = String::new();
        match resumed.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => panic!("the stream was not ended when its server stopped: {error}"),
        }
    }
    assert_eq!(second.wait().code(), Some(0));
    first.terminate();
    assert_eq!(first.wait().code(), Some(0));
}

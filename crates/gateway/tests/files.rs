//! Files through the real binary: a 300 MiB upload and its download stream through the
//! server without it holding the file in memory (its peak resident memory is read from
//! `/proc`), an upload past `limits.max_upload_bytes` is refused while it streams, and an
//! upload whose client goes away half-way leaves no file and nothing in the store.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::{Server, Workdir, add_brand_with_admin, header};

const HOST: &str = "files.localhost";
const PASSWORD: &str = "correct horse battery staple";
const MIB: usize = 1024 * 1024;
const BOUNDARY: &str = "----tasksession-test-boundary";

/// One request and its whole answer, over plain HTTP (a `localhost` brand in development
/// mode).
fn exchange(at: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let (status, head, body) = exchange_bytes(at, request);
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// [`exchange`] with the body as bytes.
fn exchange_bytes(at: SocketAddr, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(at).unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

fn json(method: &str, path: &str, cookie: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nOrigin: http://{HOST}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{cookie}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn field<'a>(body: &'a str, name: &str) -> &'a str {
    let start = body.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
    let end = body[start..].find('"').unwrap() + start;
    &body[start..end]
}

/// The byte at `offset` of the test file (a pattern that no two nearby MiB share).
fn byte_at(offset: usize) -> u8 {
    ((offset / MIB) as u8).wrapping_mul(31) ^ (offset % 251) as u8
}

fn chunk(from: usize, len: usize) -> Vec<u8> {
    (from..from + len).map(byte_at).collect()
}

/// The server's peak resident memory so far, in bytes (`VmHWM`).
fn peak_rss(server: &Server) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Starts an upload of `size` bytes: the head and the form's opening, on a connection
/// the caller goes on writing the file's bytes to.
fn start_upload(at: SocketAddr, project: &str, cookie: &str, size: usize) -> (TcpStream, Vec<u8>) {
    start_named_upload(at, project, cookie, size, "big.bin")
}

fn start_named_upload(
    at: SocketAddr,
    project: &str,
    cookie: &str,
    size: usize,
    name: &str,
) -> (TcpStream, Vec<u8>) {
    // The browser's word for the type is ignored: the server tells it from the bytes.
    let opening = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"visibility\"\r\n\r\nclient\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
    );
    let closing = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    let length = opening.len() + size + closing.len();
    let mut stream = TcpStream::connect(at).unwrap();
    let head = format!(
        "POST /api/v1/projects/{project}/files HTTP/1.1\r\nHost: {HOST}\r\nOrigin: http://{HOST}\r\n{cookie}Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(opening.as_bytes()).unwrap();
    (stream, closing)
}

fn read_answer(mut stream: TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Accepts the admin's invitation and signs in: the `Cookie:` header line of the session.
fn sign_in(at: SocketAddr, token: &str) -> String {
    let (status, _, body) = exchange(
        at,
        &json(
            "POST",
            &format!("/api/v1/invitations/{token}/accept"),
            "",
            &format!(r#"{{"password":"{PASSWORD}"}}"#),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (status, head, _) = exchange(
        at,
        &json(
            "POST",
            "/api/v1/session",
            "",
            &format!(r#"{{"email":"admin@files.localhost","password":"{PASSWORD}"}}"#),
        ),
    );
    assert_eq!(status, 200, "{head}");
    let session = header(&head, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    format!("Cookie: {session}\r\n")
}

/// Uploads `bytes` as `name`; gives the file's id.
fn upload_small(at: SocketAddr, project: &str, cookie: &str, name: &str, bytes: &[u8]) -> String {
    let (mut stream, closing) = start_named_upload(at, project, cookie, bytes.len(), name);
    stream.write_all(bytes).unwrap();
    stream.write_all(&closing).unwrap();
    let (status, answer) = read_answer(stream);
    assert_eq!(status, 201, "{answer}");
    field(answer.split_once("\r\n\r\n").unwrap().1, "id").to_owned()
}

/// Files kept on disk for the brand (staging files of a local store included).
fn stored_files(work: &Workdir) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![work.path().join("data").join("files")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

#[test]
fn a_large_upload_and_its_download_stream_through_and_cut_off_or_oversized_uploads_leave_nothing() {
    let work = Workdir::new();
    let token = add_brand_with_admin(&work, HOST, "admin@files.localhost");
    let mut command = work.std_command();
    command.env(
        "TASKSESSION_LIMITS_MAX_UPLOAD_BYTES",
        (400 * MIB).to_string(),
    );
    let mut server = Server::start(command);
    let at = server.addresses().http;

    let cookie = sign_in(at, &token);
    let (status, _, body) = exchange(
        at,
        &json(
            "POST",
            "/api/v1/projects",
            &cookie,
            r#"{"name":"Big files"}"#,
        ),
    );
    assert_eq!(status, 201, "{body}");
    let project = field(&body, "id").to_owned();
    let before = peak_rss(&server);

    // 300 MiB in, in 1 MiB writes.
    let size = 300 * MIB;
    let (mut stream, closing) = start_upload(at, &project, &cookie, size);
    for offset in (0..size).step_by(MIB) {
        stream.write_all(&chunk(offset, MIB)).unwrap();
    }
    stream.write_all(&closing).unwrap();
    let (status, answer) = read_answer(stream);
    assert_eq!(status, 201, "{answer}");
    assert!(answer.contains(&format!("\"size\":{size}")), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let file = field(body, "id").to_owned();
    let after_upload = peak_rss(&server);

    // And out again, read and checked as it arrives.
    let mut stream = TcpStream::connect(at).unwrap();
    write!(
        stream,
        "GET /api/v1/projects/{project}/files/{file}/content HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::with_capacity(MIB, stream);
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
    assert_eq!(
        header(&head, "content-length"),
        Some(size.to_string().as_str())
    );
    assert_eq!(
        header(&head, "content-disposition").map(|d| d.starts_with("attachment")),
        Some(true)
    );
    assert!(
        header(&head, "content-security-policy")
            .unwrap()
            .starts_with("sandbox")
    );
    let mut offset = 0;
    let mut buffer = vec![0u8; MIB];
    loop {
        let read = reader.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        assert!(
            buffer[..read]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == byte_at(offset + i)),
            "the bytes at {offset} differ"
        );
        offset += read;
    }
    assert_eq!(offset, size, "the whole file came back");
    let after_download = peak_rss(&server);
    println!(
        "peak resident memory: {} MiB at start, {} MiB after a {} MiB upload, {} MiB after its download",
        before / MIB,
        after_upload / MIB,
        size / MIB,
        after_download / MIB
    );
    // What an upload holds is a part or two of 5 MiB, not the file.
    assert!(
        after_download < before + 64 * MIB,
        "peak memory grew from {} to {} MiB",
        before / MIB,
        after_download / MIB
    );

    // One range of it, and the browser's copy still good.
    let content = format!("/api/v1/projects/{project}/files/{file}/content");
    let etag = header(&head, "etag").unwrap().to_owned();
    let (status, head, body) = exchange_bytes(
        at,
        format!("GET {content} HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Range: bytes=1048570-1048579\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 206, "{head}");
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 1048570-1048579/{size}").as_str())
    );
    assert_eq!(body, chunk(1_048_570, 10));
    let (status, head, _) = exchange(
        at,
        format!("GET {content} HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Range: bytes={size}-\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 416, "{head}");
    let (status, head, body) = exchange(
        at,
        format!("GET {content} HTTP/1.1\r\nHost: {HOST}\r\n{cookie}If-None-Match: {etag}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 304, "{head}");
    assert!(body.is_empty());

    // A hostile SVG is never served as an image or a page; a real PNG shows inline, in a
    // sandbox too.
    let svg = upload_small(
        at,
        &project,
        &cookie,
        "pretty.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"fetch('/api/v1/me')\"><script>alert(document.cookie)</script></svg>",
    );
    let png = upload_small(
        at,
        &project,
        &cookie,
        "Grüße über.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0",
    );
    for (id, kind, disposition) in [
        (
            &svg,
            "application/octet-stream",
            "attachment; filename=\"pretty.svg\"",
        ),
        (
            &png,
            "image/png",
            "inline; filename=\"Gr__e _ber.png\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%C3%BCber.png",
        ),
    ] {
        let (status, head, _) = exchange(
            at,
            format!("GET /api/v1/projects/{project}/files/{id}/content HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Connection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 200, "{head}");
        assert_eq!(header(&head, "content-type"), Some(kind), "{head}");
        assert!(
            header(&head, "content-disposition")
                .unwrap()
                .starts_with(disposition),
            "{head}"
        );
        assert!(
            header(&head, "content-security-policy")
                .unwrap()
                .starts_with("sandbox"),
            "{head}"
        );
        assert_eq!(
            header(&head, "x-content-type-options"),
            Some("nosniff"),
            "{head}"
        );
    }

    // Past the limit: refused while streaming, before the client has sent it all.
    let (mut stream, _) = start_upload(at, &project, &cookie, 450 * MIB);
    let mut refused_after = None;
    for offset in (0..450 * MIB).step_by(MIB) {
        if stream.write_all(&chunk(offset, MIB)).is_err() {
            refused_after = Some(offset);
            break;
        }
    }
    let (status, answer) = read_answer(stream);
    assert!(
        status == 413 || refused_after.is_some(),
        "an upload over the limit is refused: {status} {answer}"
    );
    if status != 0 {
        assert_eq!(status, 413, "{answer}");
        assert!(answer.contains("too_large"), "{answer}");
    }

    // Cut off half-way: the client goes away.
    let (mut stream, _) = start_upload(at, &project, &cookie, 100 * MIB);
    for offset in (0..50 * MIB).step_by(MIB) {
        stream.write_all(&chunk(offset, MIB)).unwrap();
    }
    drop(stream);

    // Nothing stays of either: three files listed, their three contents on disk (and the
    // PNG's preview, if one was made: this one is too broken to preview).
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = stored_files(&work);
        if kept.iter().filter(|p| !p.contains("/previews/")).count() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let contents: Vec<&String> = kept.iter().filter(|p| !p.contains("/previews/")).collect();
    assert_eq!(
        contents.len(),
        3,
        "only the finished uploads' contents: {kept:?}"
    );
    assert!(contents.iter().all(|p| p.contains("/blobs/")), "{kept:?}");
    let (status, _, body) = exchange(
        at,
        &format!(
            "GET /api/v1/projects/{project}/files HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Connection: close\r\n\r\n"
        )
        .into_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(body.matches("\"sha256\"").count(), 3, "{body}");
    server.terminate();
}

/// The S3-compatible server `.ci/run` starts (SeaweedFS), as `TEST_S3_ENDPOINT` names it.
fn s3_endpoint() -> Option<String> {
    let endpoint =
        std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".to_owned());
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    match TcpStream::connect(address) {
        Ok(_) => Some(endpoint),
        Err(e) if !support::in_ci() => {
            eprintln!("no S3 server at {endpoint} ({e}): S3 test skipped");
            None
        }
        Err(e) => panic!("no S3 server at {endpoint} with CI=true: {e}"),
    }
}

#[test]
fn an_s3_file_store_from_the_configuration_keeps_the_files_and_a_wrong_one_stops_the_start() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let work = Workdir::new();
    let token = add_brand_with_admin(&work, HOST, "admin@files.localhost");
    let s3 = |command: &mut std::process::Command, secret: &str| {
        command
            .env("TASKSESSION_FILES_STORE", "s3")
            .env("TASKSESSION_FILES_S3_ENDPOINT", &endpoint)
            .env("TASKSESSION_FILES_S3_BUCKET", "tasksession-test")
            .env("TASKSESSION_FILES_S3_ACCESS_KEY_ID", "tasksession")
            .env("TASKSESSION_FILES_S3_SECRET_ACCESS_KEY", secret);
    };

    // No bucket: a configuration error (2) naming the key.
    let mut command = work.std_command();
    command.env("TASKSESSION_FILES_STORE", "s3").arg("serve");
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("files.s3_bucket"), "{stderr}");

    // A wrong secret: the server says so and does not start, and never prints the secret.
    let mut command = work.std_command();
    s3(&mut command, "not-the-secret-42");
    let output = command.arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("S3 bucket tasksession-test") && stderr.contains("[files]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-secret-42"),
        "the secret is in the error: {stderr}"
    );

    // The right one: files go to the bucket, none to the data directory.
    let mut command = work.std_command();
    s3(&mut command, "tasksession-secret");
    let mut server = Server::start(command);
    let at = server.addresses().http;
    let cookie = sign_in(at, &token);
    let (_, _, body) = exchange(
        at,
        &json(
            "POST",
            "/api/v1/projects",
            &cookie,
            r#"{"name":"In the bucket"}"#,
        ),
    );
    let project = field(&body, "id").to_owned();
    let bytes = chunk(0, 6 * MIB + 123);
    let file = upload_small(at, &project, &cookie, "large.bin", &bytes);
    let (status, head, body) = exchange_bytes(
        at,
        format!("GET /api/v1/projects/{project}/files/{file}/content HTTP/1.1\r\nHost: {HOST}\r\n{cookie}Connection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 200, "{head}");
    assert!(body == bytes, "the bytes came back from the bucket as sent");
    assert!(
        stored_files(&work).is_empty(),
        "files were written locally: {:?}",
        stored_files(&work)
    );
    server.terminate();
}

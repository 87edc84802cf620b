//! `tasksession demo`: five brands on `*.localhost`, each served in its own name and
//! colours, and each printed sign-in working; a second run serves the same brands with the
//! same sign-in details.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::net::SocketAddr;

use support::{Server, Workdir, get_request, http_exchange, session_cookie, sign_in_request};

/// The printed brands: (URL, name, admin e-mail, password).
fn printed(server: &mut Server) -> Vec<(String, String, String, String)> {
    server.wait_for_line("listening");
    let mut brands = Vec::new();
    let lines = server.seen.clone();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("http://") {
            let (url, name) = rest.split_once("  ").unwrap();
            let admin = lines[i + 1]
                .trim()
                .strip_prefix("admin")
                .unwrap()
                .trim()
                .to_owned();
            let password = lines[i + 4]
                .trim()
                .strip_prefix("password")
                .unwrap()
                .trim()
                .to_owned();
            brands.push((url.to_owned(), name.trim().to_owned(), admin, password));
        }
    }
    brands
}

fn demo(work: &Workdir, port: u16) -> Server {
    let mut command = work.std_command();
    command.env("TASKSESSION_LISTEN_HTTP", format!("127.0.0.1:{port}"));
    Server::run(command, &["demo", "--data-dir", "demo"])
}

#[test]
fn demo_serves_five_branded_sites_whose_printed_sign_ins_work_and_again_after_a_restart() {
    let work = Workdir::new();
    let port = support::pebble::free_port(false);
    let at: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut server = demo(&work, port);
    let brands = printed(&mut server);
    assert_eq!(brands.len(), 5, "{:?}", server.seen);
    let mut names = std::collections::HashSet::new();
    let mut colours = std::collections::HashSet::new();
    for (url, name, admin, password) in &brands {
        let host = url.split(':').next().unwrap();
        assert!(host.ends_with(".localhost"), "{url}");
        assert_eq!(url, &format!("{host}:{port}"));
        let page = http_exchange(at, &get_request(host, "/"));
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains(&format!("Sign in to {}", name.replace('&', "&amp;"))),
            "{}",
            page.body
        );
        let colour = page.body.split("--primary:").nth(1).unwrap()[..7].to_owned();
        colours.insert(colour);
        names.insert(name.clone());
        let signed_in = http_exchange(at, &sign_in_request(host, admin, password));
        assert_eq!(signed_in.status, 200, "{name}: {}", signed_in.body);
        assert!(
            signed_in.body.contains("\"role\":\"admin\""),
            "{}",
            signed_in.body
        );
        // The client contact reaches their company's projects: one active, one archived,
        // and not the internal one.
        let contact = format!("cleo@{host}");
        let signed_in = http_exchange(at, &sign_in_request(host, &contact, password));
        assert_eq!(signed_in.status, 200, "{contact}: {}", signed_in.body);
        let cookie = session_cookie(&signed_in);
        let get = |path: &str| {
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            );
            let answer = http_exchange(at, request.as_bytes());
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
            assert!(!answer.body.contains("Internal tooling"), "{}", answer.body);
            serde_json::from_str::<serde_json::Value>(&answer.body).unwrap()
        };
        for (status, expected) in [("active", 1), ("archived", 1), ("all", 2)] {
            let listed = get(&format!("/api/v1/projects?status={status}"));
            assert_eq!(
                listed["items"].as_array().map(Vec::len),
                Some(expected),
                "{name}, {status}: {listed}"
            );
        }
        // Its board shows the contact the three client-visible tasks of five.
        let active = get("/api/v1/projects");
        let id = active["items"][0]["id"].as_str().unwrap();
        let board = get(&format!("/api/v1/projects/{id}/tasks"));
        let titles: Vec<&str> = board["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["title"].as_str())
            .collect();
        assert_eq!(
            titles,
            [
                "Send the product photos",
                "Approve the homepage design",
                "Agree on the sitemap"
            ],
            "{name}"
        );
    }
    assert_eq!(names.len(), 5, "distinct names");
    assert_eq!(colours.len(), 5, "distinct colours");
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));

    // Again: the same brands and passwords, nothing seeded twice.
    let mut again = demo(&work, port);
    assert_eq!(printed(&mut again), brands);
    again.terminate();
    assert_eq!(again.wait().code(), Some(0));
}

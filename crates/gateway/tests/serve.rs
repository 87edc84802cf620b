//! `tasksession serve` as a process: configuration layering and errors, the licence check
//! before anything is bound, the operator listener and a clean stop on SIGTERM.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::contains;
use support::{Server, Workdir, http_get, multi_licence, tampered};

#[test]
fn serve_without_a_licence_runs_in_development_mode_answers_healthz_and_stops_on_sigterm() {
    let work = Workdir::new();
    let mut command = work.std_command();
    command.env("TASKSESSION_LISTEN_OPERATOR", "127.0.0.1:0");
    let mut server = Server::start(command);
    server.wait_for_line("development mode");
    let operator = server.operator_address();
    assert_ne!(operator.port(), 0);
    assert_eq!(http_get(operator, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(http_get(operator, "/nothing-here").0, 404);
    server.terminate();
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "stderr: {}", server.stderr());
}

#[test]
fn serve_with_a_valid_licence_logs_its_plan_as_json_when_asked() {
    let work = Workdir::new();
    work.write("data/licence.txt", &multi_licence());
    work.write(
        "tasksession.toml",
        "log_format = \"json\"\n[listen]\noperator = \"127.0.0.1:0\"\n",
    );
    let mut server = Server::start(work.std_command());
    let line = server.wait_for_line("licence valid");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["plan"], "multi");
    assert_eq!(event["level"], "INFO");
    server.operator_address();
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

#[test]
fn serve_refuses_to_start_on_a_changed_licence_with_exit_2_and_one_line() {
    let work = Workdir::new();
    work.write("data/licence.txt", &tampered(&multi_licence()));
    let output = work
        .command()
        .env("TASKSESSION_LISTEN_OPERATOR", "127.0.0.1:0")
        .env("TASKSESSION_LISTEN_HTTP", "127.0.0.1:0")
        .env("TASKSESSION_LISTEN_HTTPS", "127.0.0.1:0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is invalid") && stderr.contains("signature"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8(output.stdout)
            .unwrap()
            .contains("listening")
    );
}

#[test]
fn configuration_errors_name_the_key_and_exit_2() {
    let work = Workdir::new();
    work.command()
        .env("TASKSESSION_LISTEN_OPERATR", "127.0.0.1:0")
        .arg("serve")
        .assert()
        .code(2)
        .stderr(contains("TASKSESSION_LISTEN_OPERATR"));
    work.command()
        .env("TASKSESSION_LIMITS_MAX_BODY_BYTES", "lots")
        .arg("serve")
        .assert()
        .code(2)
        .stderr(contains("TASKSESSION_LIMITS_MAX_BODY_BYTES"));
    let config = work.write("custom.toml", "[listen]\noperater = \"127.0.0.1:0\"\n");
    work.command()
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .assert()
        .code(2)
        .stderr(contains("listen.operater").and(contains("operator")));
    work.command()
        .args(["--config", "absent.toml", "licence", "show"])
        .assert()
        .code(2)
        .stderr(contains("cannot read configuration file absent.toml"));
    work.write("tasksession.toml", "[listen\n");
    work.command().args(["licence", "show"]).assert().code(2);
}

#[test]
fn an_operator_address_in_use_is_refused_with_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let work = Workdir::new();
    work.command()
        .env("TASKSESSION_LISTEN_OPERATOR", &address)
        .env("TASKSESSION_LISTEN_HTTP", "127.0.0.1:0")
        .env("TASKSESSION_LISTEN_HTTPS", "127.0.0.1:0")
        .arg("serve")
        .assert()
        .code(1)
        .stderr(contains(format!(
            "cannot listen on operator address {address}"
        )));
}

//! `tasksession backup` and `restore` as an operator runs them: a brand moved from the
//! embedded SQLite default to PostgreSQL and back through the command line.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use predicates::str::contains;
use support::{PostgresDb, Workdir};

/// `tasksession` in `work` with extra environment variables.
fn command_with(work: &Workdir, env: &[(&str, &str)]) -> assert_cmd::Command {
    let mut command = work.command();
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn users_of(work: &Workdir, env: &[(&str, &str)], domain: &str) -> i64 {
    let output = command_with(work, env)
        .args(["domain", "list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == domain)
        .and_then(|d| d["users"].as_i64())
        .unwrap_or(-1)
}

#[test]
fn a_brand_moves_from_sqlite_to_postgresql_and_back_through_backup_and_restore() {
    let Some(db) = PostgresDb::create() else {
        return;
    };
    let postgres = [("TASKSESSION_DATABASE_URL", db.url())];
    let postgres: Vec<(&str, &str)> = postgres.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let work = Workdir::new();
    work.command()
        .args([
            "domain",
            "add",
            "moving.localhost",
            "--brand",
            "Moving",
            "--admin-email",
            "boss@moving.test",
        ])
        .assert()
        .code(0);
    for i in 0..3 {
        work.command()
            .args(["user", "add", "--domain", "moving.localhost", "--email"])
            .arg(format!("staff{i}@moving.test"))
            .args(["--name", "Staff", "--role", "staff"])
            .assert()
            .code(0);
    }
    let first = work.path().join("first.tsbackup");
    work.command()
        .args(["backup", "--domain", "moving.localhost", "--out"])
        .arg(&first)
        .assert()
        .code(0)
        .stdout(contains("4 users"));
    assert!(!work.path().join("first.partial").exists());

    command_with(&work, &postgres)
        .args(["restore", "--domain", "moving.localhost", "--from"])
        .arg(&first)
        .assert()
        .code(0)
        .stdout(contains("4 users"));
    assert_eq!(users_of(&work, &postgres, "moving.localhost"), 4);
    let schemas = db.query("select count(*) from information_schema.tables where table_name = 'users' and table_schema like 'tenant_%'");
    assert_eq!(schemas.trim(), "1");

    // Restoring again into the now non-empty brand is refused and changes nothing.
    command_with(&work, &postgres)
        .args(["restore", "--domain", "moving.localhost", "--from"])
        .arg(&first)
        .assert()
        .code(1)
        .stderr(contains("already has users"));

    let second = work.path().join("second.tsbackup");
    command_with(&work, &postgres)
        .args(["backup", "--domain", "moving.localhost", "--out"])
        .arg(&second)
        .assert()
        .code(0);
    let rows = |path: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(&second), rows(&first), "identical rows after the move");

    // Back into a fresh SQLite platform, under another name.
    let back = Workdir::new();
    back.command()
        .args(["restore", "--domain", "returned.localhost", "--from"])
        .arg(&second)
        .assert()
        .code(0);
    assert_eq!(users_of(&back, &[], "returned.localhost"), 4);
}

#[test]
fn a_bad_backup_file_exits_2_and_creates_no_brand() {
    let work = Workdir::new();
    let junk = work.write("junk.tsbackup", "{\"hello\": 1}\n");
    work.command()
        .args(["restore", "--domain", "new.localhost", "--from"])
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(contains("not a Task Session backup"));
    let cut = work.write(
        "cut.tsbackup",
        "{\"format\":\"tasksession-backup\",\"version\":1,\"tenant_schema\":2,\"domain\":\"x.test\",\"brand\":\"X\",\"created_at\":\"2026-01-01T00:00:00Z\"}\n",
    );
    work.command()
        .args(["restore", "--domain", "new.localhost", "--from"])
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(contains("cut off"));
    work.command()
        .args([
            "restore",
            "--domain",
            "new.localhost",
            "--from",
            "missing.tsbackup",
        ])
        .assert()
        .code(2);
    let output = work
        .command()
        .args(["domain", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "no brand left behind");
    work.command()
        .args([
            "backup",
            "--domain",
            "nowhere.localhost",
            "--out",
            "x.tsbackup",
        ])
        .assert()
        .code(1);
    assert!(!work.path().join("x.tsbackup").exists());
}

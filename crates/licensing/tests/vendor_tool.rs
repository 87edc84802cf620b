//! The vendor's `tasksession-licence` command, run as a real process.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::os::unix::fs::PermissionsExt as _;

use assert_cmd::Command;
use licensing::{KeyId, Keyring, Plan, SigningKeyFile, verify};
use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::contains;

fn tool() -> Command {
    Command::cargo_bin("tasksession-licence").unwrap()
}

#[test]
fn keygen_writes_a_private_key_readable_only_by_its_owner_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("vendor.key");
    tool()
        .args(["keygen", "--key-id", "vendor-2099-01", "--out"])
        .arg(&key)
        .assert()
        .success()
        .stdout(contains("vendor-2099-01").and(contains("VENDOR_KEYS")));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&key).unwrap();
    assert!(SigningKeyFile::parse(&before).is_ok());

    tool()
        .args(["keygen", "--out"])
        .arg(&key)
        .assert()
        .code(1)
        .stderr(contains("already exists"));
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn a_licence_issued_with_a_generated_key_verifies_against_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("vendor.key");
    let out = dir.path().join("licence.txt");
    tool()
        .args(["keygen", "--key-id", "vendor-test", "--out"])
        .arg(&key_path)
        .assert()
        .success();
    tool()
        .args([
            "issue",
            "--plan",
            "multi",
            "--licensee",
            "Acme Agency",
            "--domains",
            "a.example.com, B.Example.com",
            "--issued-at",
            "2026-03-01",
            "--key",
        ])
        .arg(&key_path)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let key = SigningKeyFile::parse(&std::fs::read(&key_path).unwrap()).unwrap();
    let keyring = Keyring::from_keys([(KeyId::parse("vendor-test").unwrap(), key.verifying_key())]);
    let licence = verify(&std::fs::read(&out).unwrap(), &keyring).unwrap();
    assert_eq!(licence.plan, Plan::Multi);
    assert_eq!(licence.licensee, "Acme Agency");
    assert_eq!(licence.domains, ["a.example.com", "b.example.com"]);
    assert_eq!(licence.expires_at.unwrap().to_string(), "2027-03-01");
}

#[test]
fn issue_with_the_development_key_prints_a_licence_the_builtin_keyring_trusts() {
    let output = tool()
        .args(["issue", "--dev", "--plan", "lifetime", "--licensee", "Demo"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let licence = verify(&output.stdout, &Keyring::builtin()).unwrap();
    assert_eq!(licence.plan, Plan::Lifetime);
    assert_eq!(licence.expires_at, None);
}

#[test]
fn bad_usage_exits_2_with_a_reason() {
    tool()
        .args([
            "issue",
            "--dev",
            "--plan",
            "lifetime",
            "--licensee",
            "X",
            "--expires",
            "2030-01-01",
        ])
        .assert()
        .code(2)
        .stderr(contains("--expires is not allowed"));
    tool()
        .args(["issue", "--dev", "--plan", "gold", "--licensee", "X"])
        .assert()
        .code(2)
        .stderr(contains("gold"));
    tool()
        .args([
            "issue",
            "--dev",
            "--plan",
            "single",
            "--licensee",
            "X",
            "--issued-at",
            "01/02/2026",
        ])
        .assert()
        .code(2)
        .stderr(contains("YYYY-MM-DD"));
    tool()
        .args([
            "issue",
            "--dev",
            "--plan",
            "single",
            "--licensee",
            "X",
            "--domains",
            "a.com,b.com",
        ])
        .assert()
        .code(2)
        .stderr(contains("bound domains"));
    tool()
        .args([
            "issue",
            "--plan",
            "single",
            "--licensee",
            "X",
            "--key",
            "/nonexistent/key",
        ])
        .assert()
        .code(2)
        .stderr(contains("cannot read"));
    tool()
        .args(["issue", "--plan", "single", "--licensee", "X"])
        .assert()
        .code(2);
}

#[test]
fn inspect_prints_the_payload_without_trusting_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("licence.txt");
    let text = licensing::issue_with_development_key(&licensing::LicenceRequest {
        id: "lic-inspect".to_owned(),
        licensee: "Inspect Me".to_owned(),
        plan: Plan::Single,
        domains: vec![],
        issued_at: time::macros::date!(2026 - 01 - 01),
        expires_at: None,
    })
    .unwrap();
    std::fs::write(&file, &text).unwrap();
    tool().arg("inspect").arg(&file).assert().success().stdout(
        contains("Inspect Me")
            .and(contains("not checked"))
            .and(contains("lic-inspect")),
    );
    std::fs::write(&file, "garbage").unwrap();
    tool()
        .arg("inspect")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("not a Task Session licence"));
}

//! `tasksession licence show|verify|install` and `serve`'s licence check, run as the real
//! binary, with the exit codes of PRODUCT.md: 0 success, 1 refused, 2 malformed.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use licensing::Plan;
use predicates::prelude::PredicateBooleanExt as _;
use predicates::str::contains;
use support::{Workdir, licence, multi_licence, tampered, today};
use time::Duration;

#[test]
fn verify_prints_plan_licensee_domains_and_expiry_of_a_multi_licence() {
    let work = Workdir::new();
    let file = work.write("multi.lic", &multi_licence());
    let expiry = licensing::one_year_after(today()).to_string();
    work.command()
        .args(["licence", "verify"])
        .arg(&file)
        .assert()
        .code(0)
        .stdout(
            contains("plan      multi")
                .and(contains("licensee  Acme Agency"))
                .and(contains("domains   5 (any names)"))
                .and(contains(format!("expires   {expiry}")))
                .and(contains("state     valid")),
        );
}

#[test]
fn a_one_byte_change_makes_verify_exit_2_with_the_reason() {
    let work = Workdir::new();
    let file = work.write("bad.lic", &tampered(&multi_licence()));
    work.command()
        .args(["licence", "verify"])
        .arg(&file)
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("is invalid").and(contains("signature does not match")));
}

#[test]
fn a_licence_in_grace_verifies_with_a_warning_and_an_expired_one_exits_1() {
    let work = Workdir::new();
    let grace = work.write(
        "grace.lic",
        &licence(
            Plan::Single,
            today() - Duration::days(400),
            Some(today() - Duration::days(4)),
        ),
    );
    work.command()
        .args(["licence", "verify"])
        .arg(&grace)
        .assert()
        .code(0)
        .stdout(contains("grace (10 days left)"));

    let expired = work.write(
        "expired.lic",
        &licence(
            Plan::Multi,
            today() - Duration::days(500),
            Some(today() - Duration::days(30)),
        ),
    );
    work.command()
        .args(["licence", "verify"])
        .arg(&expired)
        .assert()
        .code(1)
        .stdout(contains("expired"))
        .stderr(contains("grace period has ended"));
    // `show` only shows: an expired licence is not an error there.
    work.command()
        .args(["licence", "show"])
        .arg(&expired)
        .assert()
        .code(0)
        .stdout(contains("read-only"));
}

#[test]
fn with_no_licence_installed_verify_exits_1_and_show_names_development_mode() {
    let work = Workdir::new();
    work.command()
        .args(["licence", "verify"])
        .assert()
        .code(1)
        .stderr(contains("no licence is installed"));
    work.command()
        .args(["licence", "show"])
        .assert()
        .code(0)
        .stdout(contains("development mode"));
}

#[test]
fn an_unreadable_or_foreign_file_exits_2() {
    let work = Workdir::new();
    work.command()
        .args(["licence", "verify", "missing.lic"])
        .assert()
        .code(2)
        .stderr(contains("cannot read licence file missing.lic"));
    std::fs::create_dir(work.path().join("a-directory")).unwrap();
    work.command()
        .args(["licence", "show", "a-directory"])
        .assert()
        .code(2);
    let foreign = work.write("notes.txt", "Remember to buy milk\n");
    work.command()
        .args(["licence", "verify"])
        .arg(&foreign)
        .assert()
        .code(2)
        .stderr(contains("not a Task Session licence"));
    // An installed licence that became unreadable is an error, not development mode.
    work.write("data/licence.txt", "garbage");
    work.command()
        .args(["licence", "verify"])
        .assert()
        .code(2)
        .stderr(contains("data/licence.txt is invalid"));
}

#[test]
fn install_copies_a_good_licence_and_never_replaces_it_with_a_bad_or_expired_one() {
    let work = Workdir::new();
    let good = multi_licence();
    let file = work.write("good.lic", &good);
    work.command()
        .args(["licence", "install"])
        .arg(&file)
        .assert()
        .code(0)
        .stdout(contains("installed"));
    assert_eq!(
        std::fs::read_to_string(work.installed_licence()).unwrap(),
        good
    );
    work.command().args(["licence", "verify"]).assert().code(0);

    let bad = work.write("bad.lic", &tampered(&good));
    work.command()
        .args(["licence", "install"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("is invalid"));
    let expired = work.write(
        "expired.lic",
        &licence(
            Plan::Single,
            today() - Duration::days(500),
            Some(today() - Duration::days(30)),
        ),
    );
    work.command()
        .args(["licence", "install"])
        .arg(&expired)
        .assert()
        .code(1)
        .stderr(contains("not installed"));
    work.command()
        .args(["licence", "install", "nowhere.lic"])
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(work.installed_licence()).unwrap(),
        good
    );
}

#[test]
fn licence_path_from_the_config_file_is_where_install_writes() {
    let work = Workdir::new();
    work.write("tasksession.toml", "licence_path = \"keys/licence.txt\"\n");
    let file = work.write("good.lic", &multi_licence());
    work.command()
        .args(["licence", "install"])
        .arg(&file)
        .assert()
        .code(0);
    assert!(work.path().join("keys/licence.txt").exists());
    assert!(!work.installed_licence().exists());
}

#[test]
fn bad_usage_exits_2() {
    let work = Workdir::new();
    work.command()
        .args(["licence", "frobnicate"])
        .assert()
        .code(2);
    work.command().arg("--no-such-flag").assert().code(2);
    work.command().args(["licence", "install"]).assert().code(2);
    work.command()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(contains("serve"));
}

//! A build without the `dev-keys` feature, as shipped, must refuse development licences.
//!
//! `cargo test` unifies dev-dependency features, so the binaries the other tests run trust
//! the development key. This test builds `tasksession` and `tasksession-licence` again with
//! default features into their own target directory and runs them.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{Workdir, multi_licence};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn build_without_features(package: &str, bin: &str) -> PathBuf {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("no-dev-keys");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--package",
            package,
            "--bin",
            bin,
            "--target-dir",
        ])
        .arg(&target)
        .env_remove("CARGO_FEATURE_DEV_KEYS")
        // A build of its own, used once: no debug information and no incremental state
        // (the most of a cold debug build's time after compiling itself).
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_INCREMENTAL", "0")
        .status()
        .unwrap();
    assert!(status.success(), "building {bin} without features failed");
    target.join("debug").join(bin)
}

#[test]
fn a_build_without_dev_keys_refuses_a_development_licence() {
    let tasksession = build_without_features("gateway", "tasksession");
    let work = Workdir::new();
    let file = work.write("dev.lic", &multi_licence());
    let output = Command::new(&tasksession)
        .current_dir(work.path())
        .args(["licence", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("signed with key 'development-1', which this build does not trust"),
        "{stderr}"
    );

    // The same licence installed makes `serve` refuse to start.
    work.write("data/licence.txt", &multi_licence());
    let output = Command::new(&tasksession)
        .current_dir(work.path())
        .env("TASKSESSION_LISTEN_OPERATOR", "127.0.0.1:0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_vendor_tool_without_dev_keys_cannot_sign_with_the_development_key() {
    let tool = build_without_features("licensing", "tasksession-licence");
    let output = Command::new(&tool)
        .args(["issue", "--dev", "--plan", "multi", "--licensee", "X"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--dev"));
}

//! The web app in headless Chromium, against the real binary and a real SMTP server: the
//! flows of `browser-tests/flows.mjs` (first admins set passwords from their invitation
//! mails; an admin rebrands; an admin adds a staff member who takes the mailed invitation
//! and signs in; a deactivated user is sent to the sign-in page with a clear message; no
//! page, error page or mail of one brand shows the other; a project for a client company
//! is seen by its contacts only, archived, and flagged in the access review; an invoice is
//! sent, paid in part by hand and the rest by the client through the Stripe stand-in,
//! paid once its webhook arrived). Screenshots
//! of every page go to `target/browser-screenshots/`.
//!
//! Needs Debian's `chromium` and `npm ci` in `browser-tests/` (both done by `.ci/run`);
//! without them the test is skipped, or fails when `CI=true`.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::smtp::SmtpServer;
use support::stand_in::{PaymentStandIn, STRIPE_SECRET};
use support::{Server, Workdir, in_ci};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether Chromium, Node.js and playwright-core are here; a failure with `CI=true`.
fn browser_available() -> bool {
    let chromium = std::env::var("TS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let playwright = repository()
        .join("browser-tests/node_modules/playwright-core")
        .exists();
    let missing: Vec<&str> = [
        (!Path::new(&chromium).exists()).then_some("chromium (apt-get install chromium)"),
        (!node).then_some("node"),
        (!playwright).then_some("playwright-core (npm ci in browser-tests)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !in_ci(),
        "browser tests need {} and CI=true",
        missing.join(", ")
    );
    eprintln!("browser tests skipped: missing {}", missing.join(", "));
    false
}

fn add_brand(work: &Workdir, domain: &str, brand: &str) {
    work.command()
        .args(["domain", "add", domain, "--brand", brand, "--admin-email"])
        .arg(format!("admin@{domain}"))
        .assert()
        .code(0);
}

#[test]
fn the_web_app_works_in_chromium_for_admins_staff_and_visitors_of_two_brands() {
    if !browser_available() || !SmtpServer::available() {
        return;
    }
    let smtp = SmtpServer::start(0).unwrap();
    let work = Workdir::new();
    add_brand(&work, "alpha.localhost", "Alpha Studio");
    add_brand(&work, "beta.localhost", "Beta Works");
    let stand_in = PaymentStandIn::start();
    let mut command = work.std_command();
    command
        .env("TASKSESSION_PAYMENTS_STRIPE_API", stand_in.base())
        .env("TASKSESSION_PAYMENTS_PAYPAL_API", stand_in.base())
        .env("TASKSESSION_SMTP_HOST", "127.0.0.1")
        .env("TASKSESSION_SMTP_PORT", smtp.address.port().to_string())
        .env("TASKSESSION_SMTP_TLS", "none")
        .env("TASKSESSION_SMTP_FROM", "noreply@agency.test");
    let mut server = Server::start(command);
    let http = server.addresses().http;
    let screenshots = repository().join("target/browser-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    let output = Command::new("node")
        .arg(repository().join("browser-tests/flows.mjs"))
        .env("TS_HTTP_PORT", http.port().to_string())
        .env("TS_MAILDIR", smtp.maildir())
        .env("TS_SCREENSHOTS", &screenshots)
        .env("TS_STRIPE_SECRET", STRIPE_SECRET)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    if !output.status.success() {
        // Its log can only be read to the end once it has stopped.
        server.terminate();
        let _ = server.wait();
        panic!(
            "browser flows failed:\n{report}\nserver log:\n{}",
            server.stderr()
        );
    }
    assert!(report.contains("passed: 0 of 15 flows failed"), "{report}");
    server.terminate();
    assert_eq!(server.wait().code(), Some(0));
}

//! The payment providers' stand-in (`tests/stand-ins/payments.py`, Python's standard
//! library only) on loopback: Stripe's and PayPal's API formats, their hosted pages, and
//! webhooks signed their way.

#![allow(dead_code)] // each test binary uses part of the shared support

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The Stripe webhook signing secret the stand-in signs with.
pub const STRIPE_SECRET: &str = "whsec_standin_5f1c2a9e7b3d4c6a";
/// The PayPal webhook id the stand-in signs for.
pub const PAYPAL_WEBHOOK_ID: &str = "WH-STANDIN-7K2L9M4N";

/// A running stand-in, stopped when dropped.
pub struct PaymentStandIn {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PaymentStandIn {
    /// Starts it (Python 3 is on every machine the tests run on).
    pub fn start() -> PaymentStandIn {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/stand-ins/payments.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                "--stripe-secret",
                STRIPE_SECRET,
                "--paypal-webhook-id",
                PAYPAL_WEBHOOK_ID,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the payment stand-in");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("it says where it listens");
        let port = line
            .trim()
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("the stand-in did not start: {line:?}"));
        PaymentStandIn { child, port }
    }

    /// Its base URL, for `[payments] stripe_api` and `paypal_api`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for PaymentStandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Online payments through the real binary and the providers' stand-in
//! (`tests/stand-ins/payments.py`): a client contact pays the rest of a partly paid invoice
//! through Stripe Checkout and another through PayPal; each invoice is paid only once the
//! provider's signed webhook arrives. Webhooks with a bad signature, an old timestamp, a
//! different amount, or a replayed event id change nothing; "processing" is not "paid".

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::stand_in::{PAYPAL_WEBHOOK_ID, PaymentStandIn, STRIPE_SECRET};
use support::{Server, Workdir, add_brand_with_admin, header, http_exchange, local_json_request};
use tenant_core::finance::stripe;

const HOST: &str = "pay.localhost";
const PASSWORD: &str = "correct horse battery staple";
const STRIPE_KEY: &str = "sk_test_51StandInSecretKey4242";

struct Site {
    at: SocketAddr,
    /// `pay.localhost:PORT`, as a browser sends it (links and the provider's return
    /// address are made from it).
    host: String,
}

impl Site {
    fn call(&self, cookie: &str, method: &str, path: &str, body: &str) -> (u16, Value, String) {
        let answer = http_exchange(
            self.at,
            &local_json_request(method, &self.host, path, cookie, body),
        );
        let json = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        (answer.status, json, answer.head)
    }

    fn accept(&self, token: &str) {
        let (status, body, _) = self.call(
            "",
            "POST",
            &format!("/api/v1/invitations/{token}/accept"),
            &format!(r#"{{"password":"{PASSWORD}"}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }

    fn sign_in(&self, email: &str) -> String {
        let (status, body, head) = self.call(
            "",
            "POST",
            "/api/v1/session",
            &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
        );
        assert_eq!(status, 200, "{body}");
        let session = header(&head, "set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        format!("Cookie: {session}\r\n")
    }

    /// Sends `body` to the Stripe webhook with this signature header.
    fn stripe_webhook(&self, body: &str, signature: &str) -> (u16, Value) {
        let request = format!(
            "POST /api/v1/payments/webhooks/stripe HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host,
            body.len()
        );
        let answer = http_exchange(self.at, request.as_bytes());
        (
            answer.status,
            serde_json::from_str(&answer.body).unwrap_or(Value::Null),
        )
    }
}

/// A form POST to the stand-in's hosted page (the client pressing its button): where it
/// sends the browser next.
fn press(stand_in: &PaymentStandIn, page: &str, action: &str) -> String {
    let path = page
        .split_once("127.0.0.1")
        .unwrap()
        .1
        .split_once('/')
        .unwrap()
        .1;
    let body = format!("action={action}");
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        stand_in.port,
        body.len()
    );
    let address: SocketAddr = format!("127.0.0.1:{}", stand_in.port).parse().unwrap();
    let answer = http_exchange(address, request.as_bytes());
    assert_eq!(answer.status, 303, "{answer:?}");
    header(&answer.head, "location").unwrap().to_owned()
}

fn wait_for_status(site: &Site, cookie: &str, invoice: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, body, _) = site.call(cookie, "GET", &format!("/api/v1/invoices/{invoice}"), "");
        assert_eq!(code, 200, "{body}");
        if body["status"] == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "the invoice never became {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sent_invoice(site: &Site, admin: &str, company: &str, price: &str) -> String {
    let (status, draft, _) = site.call(
        admin,
        "POST",
        "/api/v1/invoices",
        &format!(
            r#"{{"company":"{company}","currency":"EUR","lines":[{{"description":"Design","quantity":"1","unit_price":"{price}","tax_rate":"19"}}]}}"#
        ),
    );
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let (status, sent, _) = site.call(admin, "POST", &format!("/api/v1/invoices/{id}/send"), "");
    assert_eq!(status, 200, "{sent}");
    id
}

fn completed(event: &str, session: &str, amount: i64, payment_status: &str) -> String {
    serde_json::json!({
        "id": event,
        "type": "checkout.session.completed",
        "data": {"object": {"id": session, "amount_total": amount, "currency": "eur", "payment_status": payment_status}},
    })
    .to_string()
}

#[test]
fn invoices_are_paid_online_only_on_the_providers_signed_webhooks() {
    let stand_in = PaymentStandIn::start();
    let work = Workdir::new();
    let token = add_brand_with_admin(&work, HOST, "admin@pay.localhost");
    let mut command = work.std_command();
    command
        .env("TASKSESSION_PAYMENTS_STRIPE_API", stand_in.base())
        .env("TASKSESSION_PAYMENTS_PAYPAL_API", stand_in.base());
    let mut server = Server::start(command);
    let at = server.addresses().http;
    let site = Site {
        at,
        host: format!("{HOST}:{}", at.port()),
    };
    site.accept(&token);
    let admin = site.sign_in("admin@pay.localhost");

    let settings = format!(
        r#"{{"gateways":{{"stripe":{{"enabled":true,"public_key":"pk_test_standin","secret_key":"{STRIPE_KEY}","webhook_secret":"{STRIPE_SECRET}"}},"paypal":{{"enabled":true,"public_key":"standin-client-id","secret_key":"standin-client-secret","webhook_secret":"{PAYPAL_WEBHOOK_ID}"}}}}}}"#
    );
    let (status, saved, _) = site.call(&admin, "PUT", "/api/v1/settings/payments", &settings);
    assert_eq!(status, 200, "{saved}");
    assert!(!saved.to_string().contains(STRIPE_SECRET), "{saved}");
    let (status, seller, _) = site.call(
        &admin,
        "PUT",
        "/api/v1/settings/invoicing",
        r#"{"legal_name":"Pay Studio GmbH","address":"Am Hafen 5\n20457 Hamburg"}"#,
    );
    assert_eq!(status, 200, "{seller}");
    let (status, company, _) =
        site.call(&admin, "POST", "/api/v1/clients", r#"{"name":"Acme GmbH"}"#);
    assert_eq!(status, 201, "{company}");
    let company = company["id"].as_str().unwrap().to_owned();
    let (status, invited, _) = site.call(
        &admin,
        "POST",
        "/api/v1/users",
        &format!(
            r#"{{"email":"cleo@acme.test","name":"Cleo","role":"client","company":"{company}"}}"#
        ),
    );
    assert_eq!(status, 201, "{invited}");
    let link = invited["invitation_url"].as_str().unwrap();
    site.accept(link.rsplit_once("/invite/").unwrap().1);
    let client = site.sign_in("cleo@acme.test");

    // Stripe: 1190.00 due, 190.00 paid by bank transfer, the rest online.
    let first = sent_invoice(&site, &admin, &company, "1000");
    let (status, paid, _) = site.call(
        &admin,
        "POST",
        &format!("/api/v1/invoices/{first}/payments"),
        r#"{"amount":"190.00","method":"bank_transfer","reference":"Acme 0001"}"#,
    );
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["invoice_status"], "partially_paid");
    let (status, refused, _) = site.call(
        &admin,
        "POST",
        &format!("/api/v1/invoices/{first}/checkout"),
        "",
    );
    assert_eq!(status, 403, "staff record payments instead: {refused}");
    let (status, checkout, _) = site.call(
        &client,
        "POST",
        &format!("/api/v1/invoices/{first}/checkout"),
        r#"{"provider":"stripe"}"#,
    );
    assert_eq!(status, 201, "{checkout}");
    assert_eq!(checkout["status"], "processing");
    let page = checkout["url"].as_str().unwrap().to_owned();
    assert!(page.starts_with(&stand_in.base()), "{page}");
    let invoice = wait_for_status(&site, &admin, &first, "partially_paid");
    assert_eq!(
        invoice["balance"], "1000.00",
        "a checkout started pays nothing"
    );
    let back = press(&stand_in, &page, "pay");
    assert!(
        back.starts_with(&format!("http://{}/", site.host))
            && back.contains(&format!("/invoices/{first}?payment=returned")),
        "{back}"
    );
    let invoice = wait_for_status(&site, &admin, &first, "paid");
    assert_eq!(invoice["balance"], "0.00");
    assert!(
        invoice["history"]
            .to_string()
            .contains("1000.00 EUR received"),
        "{invoice}"
    );
    let (_, payments, _) = site.call(
        &client,
        "GET",
        &format!("/api/v1/invoices/{first}/payments"),
        "",
    );
    assert!(payments.to_string().contains("\"stripe\""), "{payments}");

    // Forged, stale, different and repeated webhooks about a second invoice.
    let second = sent_invoice(&site, &admin, &company, "100");
    let (status, checkout, _) = site.call(
        &client,
        "POST",
        &format!("/api/v1/invoices/{second}/checkout"),
        "",
    );
    assert_eq!(status, 201, "{checkout}");
    assert_eq!(checkout["provider"], "stripe", "the first provider offered");
    let session = checkout["url"]
        .as_str()
        .unwrap()
        .rsplit_once('/')
        .unwrap()
        .1
        .to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let genuine = completed("evt_standin_genuine", &session, 11900, "paid");
    let (status, _) = site.stripe_webhook(
        &genuine,
        &stripe::sign(genuine.as_bytes(), "whsec_forged_secret", now),
    );
    assert_eq!(status, 400, "a bad signature");
    let (status, _) = site.stripe_webhook(
        &genuine,
        &stripe::sign(genuine.as_bytes(), STRIPE_SECRET, now - 600),
    );
    assert_eq!(status, 400, "an old timestamp");
    let (status, _) = site.stripe_webhook(&genuine, "t=1,v1=00");
    assert_eq!(status, 400, "a made-up header");
    let cheaper = completed("evt_standin_cheaper", &session, 100, "paid");
    let (status, answer) = site.stripe_webhook(
        &cheaper,
        &stripe::sign(cheaper.as_bytes(), STRIPE_SECRET, now),
    );
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("mismatch")),
        "{answer}"
    );
    let pending = completed("evt_standin_pending", &session, 11900, "unpaid");
    let (status, answer) = site.stripe_webhook(
        &pending,
        &stripe::sign(pending.as_bytes(), STRIPE_SECRET, now),
    );
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("processing")),
        "{answer}"
    );
    let invoice = wait_for_status(&site, &admin, &second, "sent");
    assert_eq!(invoice["paid"], "0.00", "nothing of those paid anything");
    let (status, answer) = site.stripe_webhook(
        &genuine,
        &stripe::sign(genuine.as_bytes(), STRIPE_SECRET, now),
    );
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("paid")),
        "{answer}"
    );
    let (status, answer) = site.stripe_webhook(
        &genuine,
        &stripe::sign(genuine.as_bytes(), STRIPE_SECRET, now + 1),
    );
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("replayed")),
        "{answer}"
    );
    let invoice = wait_for_status(&site, &admin, &second, "paid");
    assert_eq!(invoice["paid"], "119.00", "paid once");

    // PayPal: approved on its page, captured when the client comes back, paid on the
    // capture's webhook (verified through the stand-in's verification API).
    let third = sent_invoice(&site, &admin, &company, "50");
    let (status, checkout, _) = site.call(
        &client,
        "POST",
        &format!("/api/v1/invoices/{third}/checkout"),
        r#"{"provider":"paypal"}"#,
    );
    assert_eq!(status, 201, "{checkout}");
    let back = press(&stand_in, checkout["url"].as_str().unwrap(), "approve");
    assert!(
        back.contains("provider=paypal") && back.contains("token="),
        "{back}"
    );
    let path = back
        .split_once(&site.host)
        .unwrap()
        .1
        .trim_start_matches('/');
    let (status, _, _) = site.call(&client, "GET", &format!("/{path}"), "");
    assert_eq!(status, 200);
    let invoice = wait_for_status(&site, &admin, &third, "paid");
    assert_eq!(invoice["paid"], "59.50");
    let forged = r#"{"id":"WH-FORGED","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{}}"#;
    let request = format!(
        "POST /api/v1/payments/webhooks/paypal HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nPAYPAL-AUTH-ALGO: SHA256withRSA\r\nPAYPAL-CERT-URL: https://example.test/cert\r\nPAYPAL-TRANSMISSION-ID: 1\r\nPAYPAL-TRANSMISSION-SIG: Zm9yZ2Vk\r\nPAYPAL-TRANSMISSION-TIME: 2026-01-01T00:00:00Z\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{forged}",
        site.host,
        forged.len()
    );
    assert_eq!(
        http_exchange(site.at, request.as_bytes()).status,
        400,
        "a forged PayPal webhook"
    );

    // Unknown providers are not there; the keys never reach the log.
    let (status, _) = site.stripe_webhook("{}", "t=1,v1=00");
    assert_eq!(status, 400);
    let (status, _, _) = site.call("", "POST", "/api/v1/payments/webhooks/bitbank", "{}");
    assert_eq!(status, 404);
    server.terminate();
    let _ = server.wait();
    let log = server.stderr();
    for secret in [STRIPE_KEY, STRIPE_SECRET, "standin-client-secret"] {
        assert!(!log.contains(secret), "a secret in the log");
    }
}

//! Stripe's wire formats: Checkout Sessions (`POST /v1/checkout/sessions`, form-encoded,
//! the secret key as a bearer token, the payment's id as the idempotency key), expiring a
//! replaced session, and webhooks signed with `Stripe-Signature: t=…,v1=…` (HMAC-SHA256 of
//! `t.body` under the endpoint's signing secret, several `v1` while a secret is rolled).

use aws_lc_rs::hmac;

use crate::finance::online::{
    CheckoutPlan, EventAmount, EventKind, Provider, ProviderAnswer, ProviderCall, ProviderEvent,
    ProviderKeys, event_head,
};

/// How far a signature's timestamp may be from now, in seconds.
pub const TOLERANCE_S: i64 = 300;

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, String)]) -> Vec<u8> {
    fn encode(out: &mut String, text: &str) {
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(char::from(byte));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(&mut out, name);
        out.push('=');
        encode(&mut out, value);
    }
    out.into_bytes()
}

fn authorised(keys: &ProviderKeys) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {}", keys.secret_key)),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ]
}

/// The request that creates a Checkout Session for `plan`.
pub fn checkout_call(plan: &CheckoutPlan, success_url: &str, cancel_url: &str) -> ProviderCall {
    let name = if plan.number.is_empty() {
        format!("Invoice from {}", plan.seller)
    } else {
        format!("Invoice {} from {}", plan.number, plan.seller)
    };
    let pairs = [
        ("mode", "payment".to_owned()),
        ("success_url", success_url.to_owned()),
        ("cancel_url", cancel_url.to_owned()),
        ("client_reference_id", plan.invoice_id.clone()),
        ("expires_at", plan.expires_at.unix_timestamp().to_string()),
        ("line_items[0][quantity]", "1".to_owned()),
        (
            "line_items[0][price_data][currency]",
            plan.currency.code().to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            plan.amount.to_string(),
        ),
        ("line_items[0][price_data][product_data][name]", name),
        ("metadata[invoice_id]", plan.invoice_id.clone()),
        ("metadata[payment_id]", plan.payment_id.clone()),
        (
            "payment_intent_data[metadata][invoice_id]",
            plan.invoice_id.clone(),
        ),
    ];
    let mut headers = authorised(&plan.keys);
    headers.push(("idempotency-key", plan.payment_id.clone()));
    ProviderCall {
        method: "POST",
        path: "/v1/checkout/sessions".to_owned(),
        headers,
        body: form(&pairs),
    }
}

/// The request that expires an open session this server replaced.
pub fn expire_call(keys: &ProviderKeys, session_id: &str) -> ProviderCall {
    let safe: String = session_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    ProviderCall {
        method: "POST",
        path: format!("/v1/checkout/sessions/{safe}/expire"),
        headers: authorised(keys),
        body: Vec::new(),
    }
}

/// The session Stripe created: its id and the page the client pays on.
pub fn created(answer: &ProviderAnswer) -> Result<(String, String), String> {
    let value = answer.json(Provider::Stripe)?;
    let id = value["id"].as_str().filter(|id| id.starts_with("cs_"));
    let url = value["url"]
        .as_str()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    match (id, url) {
        (Some(id), Some(url)) => Ok((id.to_owned(), url.to_owned())),
        _ => Err("Stripe answered without a checkout session id and page".to_owned()),
    }
}

/// Checks a webhook's `Stripe-Signature` header over `body`: a `v1` signature under one of
/// `secrets`, and a timestamp within [`TOLERANCE_S`] of `now` (Unix seconds). The error
/// says what was wrong, never a secret.
pub fn verify(header: &str, body: &[u8], secrets: &[String], now: i64) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((name, value)) = item.trim().split_once('=') else {
            continue;
        };
        match name {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = data_encoding::HEXLOWER_PERMISSIVE.decode(value.as_bytes()) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err("the Stripe-Signature header has no timestamp".to_owned());
    };
    if signatures.is_empty() {
        return Err("the Stripe-Signature header has no v1 signature".to_owned());
    }
    if (now - timestamp).abs() > TOLERANCE_S {
        return Err(format!(
            "the signature's timestamp is more than {TOLERANCE_S} seconds from now: a replay, or a clock that is off"
        ));
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let valid = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        signatures
            .iter()
            .any(|signature| hmac::verify(&key, &signed, signature).is_ok())
    });
    if valid {
        Ok(())
    } else {
        Err("the signature does not match any of the brand's Stripe webhook secrets".to_owned())
    }
}

/// A signature header for `body` at `timestamp` under `secret` (what Stripe sends).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    format!(
        "t={timestamp},v1={}",
        data_encoding::HEXLOWER.encode(tag.as_ref())
    )
}

/// The event in a verified webhook's body.
pub fn event(body: &[u8]) -> Result<ProviderEvent, String> {
    let (value, id, type_name) = event_head(body, "type")?;
    let object = &value["data"]["object"];
    let kind = match type_name.as_str() {
        "checkout.session.completed" => match object["payment_status"].as_str() {
            Some("paid") => Some(EventKind::Succeeded),
            Some("unpaid") => Some(EventKind::Processing),
            _ => None,
        },
        "checkout.session.async_payment_succeeded" => Some(EventKind::Succeeded),
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            Some(EventKind::Failed)
        }
        _ => None,
    };
    let amount = match (object["amount_total"].as_i64(), object["currency"].as_str()) {
        (Some(minor), Some(currency)) => Some((EventAmount::Minor(minor), currency.to_owned())),
        _ => None,
    };
    Ok(ProviderEvent {
        id,
        type_name,
        kind,
        reference: object["id"].as_str().map(str::to_owned),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn a_signature_is_checked_over_the_timestamp_and_the_exact_body() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, SECRET, 1_000);
        let secrets = vec![SECRET.to_owned()];
        assert_eq!(verify(&header, body, &secrets, 1_000), Ok(()));
        assert_eq!(verify(&header, body, &secrets, 1_300), Ok(()));
        assert!(verify(&header, body, &secrets, 1_301).is_err(), "too old");
        assert!(
            verify(&header, body, &secrets, 699).is_err(),
            "from the future"
        );
        assert!(verify(&header, br#"{"id":"evt_2"}"#, &secrets, 1_000).is_err());
        assert!(verify(&header, body, &["whsec_other".to_owned()], 1_000).is_err());
        assert!(verify("t=1000", body, &secrets, 1_000).is_err());
        assert!(verify("", body, &secrets, 1_000).is_err());
        // A rolled secret: either of the two signatures, under either kept secret.
        let rolled = format!(
            "{},v1={}",
            sign(body, "whsec_new", 1_000),
            sign(body, SECRET, 1_000)
                .split("v1=")
                .nth(1)
                .unwrap_or_default()
        );
        assert_eq!(
            verify(&rolled, body, &["whsec_new".to_owned()], 1_000),
            Ok(())
        );
        assert_eq!(verify(&rolled, body, &secrets, 1_000), Ok(()));
        // The timestamp is signed: changing it breaks the signature.
        let moved = header.replacen("t=1000", "t=1001", 1);
        assert!(verify(&moved, body, &secrets, 1_000).is_err());
    }

    #[test]
    fn events_say_paid_only_when_the_money_is_there() {
        let completed = |status: &str| {
            format!(
                r#"{{"id":"evt_1","type":"checkout.session.completed","data":{{"object":{{"id":"cs_1","payment_status":"{status}","amount_total":1250,"currency":"eur"}}}}}}"#
            )
        };
        let paid = event(completed("paid").as_bytes()).unwrap();
        assert_eq!(paid.kind, Some(EventKind::Succeeded));
        assert_eq!(paid.reference.as_deref(), Some("cs_1"));
        assert_eq!(
            paid.amount,
            Some((EventAmount::Minor(1250), "eur".to_owned()))
        );
        let unpaid = event(completed("unpaid").as_bytes()).unwrap();
        assert_eq!(unpaid.kind, Some(EventKind::Processing));
        assert!(event(b"not json").is_err());
        assert!(event(br#"{"type":"x"}"#).is_err());
    }

    #[test]
    fn forms_are_encoded() {
        assert_eq!(
            form(&[("a[b]", "x y&z=é".to_owned()), ("c", "1".to_owned())]),
            b"a%5Bb%5D=x+y%26z%3D%C3%A9&c=1".to_vec()
        );
    }
}

//! PayPal's wire formats (REST API, Orders v2): an access token from the client id and
//! secret (`POST /v1/oauth2/token`), an order for the balance (`POST /v2/checkout/orders`,
//! intent `CAPTURE`, the payment's id as `PayPal-Request-Id`), its capture once the client
//! approved it, and webhooks verified through PayPal's own API
//! (`POST /v1/notifications/verify-webhook-signature` with the `PAYPAL-*` headers and the
//! brand's webhook id). Paid means a `PAYMENT.CAPTURE.COMPLETED` event, never the capture's
//! answer.

use base64::Engine;
use serde_json::{Value, json};

use crate::finance::online::{
    CheckoutPlan, EventAmount, EventKind, Provider, ProviderAnswer, ProviderCall, ProviderEvent,
    ProviderKeys, event_head,
};
use crate::finance::stripe::form;

/// The request for an access token.
pub fn token_call(keys: &ProviderKeys) -> ProviderCall {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", keys.public_key, keys.secret_key));
    ProviderCall {
        method: "POST",
        path: "/v1/oauth2/token".to_owned(),
        headers: vec![
            ("authorization", format!("Basic {basic}")),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ],
        body: form(&[("grant_type", "client_credentials".to_owned())]),
    }
}

/// The access token in PayPal's answer.
pub fn token(answer: &ProviderAnswer) -> Result<String, String> {
    answer.json(Provider::Paypal)?["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "PayPal answered without an access token".to_owned())
}

fn bearer(token: &str, request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {token}")),
        ("content-type", "application/json".to_owned()),
        ("paypal-request-id", request_id.to_owned()),
    ]
}

/// The request that creates an order for `plan`.
pub fn order_call(
    plan: &CheckoutPlan,
    token: &str,
    return_url: &str,
    cancel_url: &str,
) -> ProviderCall {
    let description = if plan.number.is_empty() {
        format!("Invoice from {}", plan.seller)
    } else {
        format!("Invoice {} from {}", plan.number, plan.seller)
    };
    let body = json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": plan.invoice_id,
            "custom_id": plan.payment_id,
            "invoice_id": plan.number,
            "description": description.chars().take(127).collect::<String>(),
            "amount": {"currency_code": plan.currency.code(), "value": plan.amount_text()},
        }],
        "payment_source": {"paypal": {"experience_context": {
            "return_url": return_url,
            "cancel_url": cancel_url,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        }}},
    });
    ProviderCall {
        method: "POST",
        path: "/v2/checkout/orders".to_owned(),
        headers: bearer(token, &plan.payment_id),
        body: body.to_string().into_bytes(),
    }
}

/// The order PayPal created: its id and the page the client approves it on.
pub fn order_created(answer: &ProviderAnswer) -> Result<(String, String), String> {
    let value = answer.json(Provider::Paypal)?;
    let id = value["id"].as_str().filter(|id| !id.is_empty());
    let link = value["links"].as_array().and_then(|links| {
        links
            .iter()
            .find(|l| matches!(l["rel"].as_str(), Some("payer-action" | "approve")))
            .and_then(|l| l["href"].as_str())
    });
    match (id, link) {
        (Some(id), Some(link)) if link.starts_with("https://") || link.starts_with("http://") => {
            Ok((id.to_owned(), link.to_owned()))
        }
        _ => Err("PayPal answered without an order id and approval page".to_owned()),
    }
}

fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The request that captures an approved order.
pub fn capture_call(token: &str, order_id: &str) -> ProviderCall {
    let order = safe_id(order_id);
    ProviderCall {
        method: "POST",
        path: format!("/v2/checkout/orders/{order}/capture"),
        headers: bearer(token, &format!("capture-{order}")),
        body: b"{}".to_vec(),
    }
}

/// The headers PayPal signs a webhook with.
pub const SIGNATURE_HEADERS: [(&str, &str); 5] = [
    ("auth_algo", "paypal-auth-algo"),
    ("cert_url", "paypal-cert-url"),
    ("transmission_id", "paypal-transmission-id"),
    ("transmission_sig", "paypal-transmission-sig"),
    ("transmission_time", "paypal-transmission-time"),
];

/// The request that asks PayPal whether a webhook is genuine: its signature headers (read
/// by `header`), the brand's webhook id and the event exactly as received.
pub fn verify_call(
    token: &str,
    header: &dyn Fn(&str) -> Option<String>,
    webhook_id: &str,
    body: &[u8],
) -> Result<ProviderCall, String> {
    serde_json::from_slice::<Value>(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let event = std::str::from_utf8(body).map_err(|_| "the event is not UTF-8".to_owned())?;
    let mut fields = serde_json::Map::new();
    for (field, name) in SIGNATURE_HEADERS {
        let value = header(name).ok_or_else(|| format!("the {name} header is missing"))?;
        fields.insert(field.to_owned(), Value::String(value));
    }
    fields.insert(
        "webhook_id".to_owned(),
        Value::String(webhook_id.to_owned()),
    );
    // The event goes in as received, byte for byte: PayPal checks its signature over it.
    let head = Value::Object(fields).to_string();
    let body = format!(
        "{},\"webhook_event\":{event}}}",
        head.strip_suffix('}').unwrap_or(&head)
    );
    Ok(ProviderCall {
        method: "POST",
        path: "/v1/notifications/verify-webhook-signature".to_owned(),
        headers: bearer(
            token,
            &format!(
                "verify-{}",
                safe_id(&header("paypal-transmission-id").unwrap_or_default())
            ),
        ),
        body: body.into_bytes(),
    })
}

/// Whether PayPal said the webhook is genuine.
pub fn verified(answer: &ProviderAnswer) -> Result<(), String> {
    match answer.json(Provider::Paypal)?["verification_status"].as_str() {
        Some("SUCCESS") => Ok(()),
        Some(other) => Err(format!("PayPal says the webhook is not genuine ({other})")),
        None => Err("PayPal answered without a verification status".to_owned()),
    }
}

/// The event in a webhook's body, and the order it approves, if it is an approval (the
/// order is then captured; it is paid on the capture's own event).
pub fn event(body: &[u8]) -> Result<(ProviderEvent, Option<String>), String> {
    let (value, id, type_name) = event_head(body, "event_type")?;
    let resource = &value["resource"];
    let kind = match type_name.as_str() {
        "PAYMENT.CAPTURE.COMPLETED" => Some(EventKind::Succeeded),
        "PAYMENT.CAPTURE.PENDING" => Some(EventKind::Processing),
        "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" => Some(EventKind::Failed),
        _ => None,
    };
    let approved = (type_name == "CHECKOUT.ORDER.APPROVED")
        .then(|| resource["id"].as_str().map(str::to_owned))
        .flatten();
    let reference = resource
        .pointer("/supplementary_data/related_ids/order_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let amount = match (
        resource.pointer("/amount/value").and_then(Value::as_str),
        resource
            .pointer("/amount/currency_code")
            .and_then(Value::as_str),
    ) {
        (Some(value), Some(currency)) => {
            Some((EventAmount::Decimal(value.to_owned()), currency.to_owned()))
        }
        _ => None,
    };
    Ok((
        ProviderEvent {
            id,
            type_name,
            kind,
            reference,
            amount,
        },
        approved,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_goes_to_verification_byte_for_byte() {
        let body = br#"{"id":"WH-1",  "event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
        let header = |name: &str| Some(format!("<{name}>"));
        let call = verify_call("token", &header, "WEBHOOK-1", body).unwrap();
        let text = String::from_utf8(call.body).unwrap();
        assert!(
            text.ends_with(
                r#","webhook_event":{"id":"WH-1",  "event_type":"PAYMENT.CAPTURE.COMPLETED"}}"#
            ),
            "{text}"
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["webhook_id"], "WEBHOOK-1");
        assert_eq!(parsed["transmission_sig"], "<paypal-transmission-sig>");
        let missing = |_: &str| None;
        assert!(verify_call("token", &missing, "WEBHOOK-1", body).is_err());
        assert!(verify_call("token", &header, "WEBHOOK-1", b"{no").is_err());
    }

    #[test]
    fn a_completed_capture_is_paid_by_its_order() {
        let body = br#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP-1","amount":{"currency_code":"EUR","value":"12.50"},"supplementary_data":{"related_ids":{"order_id":"ORDER-1"}}}}"#;
        let (event, approved) = event(body).unwrap();
        assert_eq!(event.kind, Some(EventKind::Succeeded));
        assert_eq!(event.reference.as_deref(), Some("ORDER-1"));
        assert_eq!(
            event.amount,
            Some((EventAmount::Decimal("12.50".to_owned()), "EUR".to_owned()))
        );
        assert_eq!(approved, None);
        let (approval, order) = super::event(
            br#"{"id":"WH-3","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"ORDER-1"}}"#,
        )
        .unwrap();
        assert_eq!(approval.kind, None);
        assert_eq!(order.as_deref(), Some("ORDER-1"));
    }
}

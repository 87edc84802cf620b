//! Online payments: `POST /api/v1/invoices/{id}/checkout` (a client contact starts paying
//! the balance at the brand's provider) and `POST /api/v1/payments/webhooks/{provider}`
//! (the provider's signed callback: the only thing that marks an invoice paid online).
//! The rules are in [`tenant_core::finance::online`]; the wire formats in
//! [`tenant_core::finance::stripe`] and [`tenant_core::finance::paypal`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::TenantContext;
use tenant_core::access::Principal;
use tenant_core::finance::invoices::Payment;
use tenant_core::finance::money::Currency;
use tenant_core::finance::online::{self, Outcome, Provider, ProviderCall, ProviderKeys};
use tenant_core::finance::{paypal, stripe};

use crate::api::{Access, Route, WebState, route};
use crate::http::caller::{Caller, Visitor};
use crate::http::error::{ApiError, ApiResult};

/// A checkout started: where the client pays, and the processing payment recorded.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) url: String,
    pub(crate) provider: Provider,
    pub(crate) payment: Payment,
    pub(crate) currency: Currency,
}

async fn send(
    state: &WebState,
    provider: Provider,
    call: ProviderCall,
) -> Result<online::ProviderAnswer, ApiError> {
    state
        .payments
        .call(provider, call)
        .await
        .map_err(ApiError::ProviderFailed)
}

async fn paypal_token(state: &WebState, keys: &ProviderKeys) -> Result<String, ApiError> {
    let answer = send(state, Provider::Paypal, paypal::token_call(keys)).await?;
    paypal::token(&answer).map_err(ApiError::ProviderFailed)
}

/// Starts an online payment of the invoice's balance for `principal` (a contact of its
/// company with `invoices.pay`): replaces open checkouts, creates one at the provider,
/// records it as processing. `base` is the site's address the provider sends the client
/// back to.
pub(crate) async fn start(
    state: &WebState,
    tenant: &TenantContext,
    principal: &Principal,
    base: &str,
    invoice_id: &str,
    provider: Option<&str>,
) -> Result<Started, ApiError> {
    let store = tenant.store();
    let plan = online::plan_checkout(
        store,
        principal,
        state.postmaster.key(),
        invoice_id,
        provider,
    )
    .await?;
    let provider = plan.keys.provider;
    let page = format!("{base}/invoices/{invoice_id}");
    let (reference, url) = match provider {
        Provider::Stripe => {
            for session in &plan.replaces {
                let expired = send(state, provider, stripe::expire_call(&plan.keys, session)).await;
                if let Err(error) =
                    expired.and_then(|a| a.json(provider).map_err(ApiError::ProviderFailed))
                {
                    tracing::warn!(?error, "a replaced Stripe checkout could not be expired");
                }
            }
            let call = stripe::checkout_call(
                &plan,
                &format!("{page}?payment=returned"),
                &format!("{page}?payment=cancelled"),
            );
            let answer = send(state, provider, call).await?;
            stripe::created(&answer).map_err(ApiError::ProviderFailed)?
        }
        Provider::Paypal => {
            let token = paypal_token(state, &plan.keys).await?;
            let call = paypal::order_call(
                &plan,
                &token,
                &format!("{page}?payment=returned&provider=paypal"),
                &format!("{page}?payment=cancelled"),
            );
            let answer = send(state, provider, call).await?;
            paypal::order_created(&answer).map_err(ApiError::ProviderFailed)?
        }
    };
    let payment = online::record_checkout(store, principal, &plan, &reference).await?;
    Ok(Started {
        url,
        provider,
        payment,
        currency: plan.currency,
    })
}

/// Captures an approved PayPal order if its payment is still processing (the client came
/// back, or PayPal said it was approved). It is paid on the capture's own webhook.
pub(crate) async fn capture_paypal(
    state: &WebState,
    tenant: &TenantContext,
    order_id: &str,
) -> Result<bool, ApiError> {
    let store = tenant.store();
    if online::still_processing(store, Provider::Paypal, order_id)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let keys = online::provider_keys(store, state.postmaster.key(), Provider::Paypal).await?;
    let token = paypal_token(state, &keys).await?;
    let answer = send(
        state,
        Provider::Paypal,
        paypal::capture_call(&token, order_id),
    )
    .await?;
    answer
        .json(Provider::Paypal)
        .map_err(ApiError::ProviderFailed)?;
    Ok(true)
}

/// The body of `POST /api/v1/invoices/{id}/checkout`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckoutBody {
    #[serde(default)]
    provider: Option<String>,
}

/// `POST /api/v1/invoices/{id}/checkout`: the page to send the client to.
#[tracing::instrument(skip_all)]
pub(crate) async fn checkout(
    State(state): State<WebState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body: CheckoutBody = if body.iter().all(u8::is_ascii_whitespace) {
        CheckoutBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadBody(format!("the body is not valid: {e}")))?
    };
    let started = start(
        &state,
        &caller.tenant,
        &caller.principal,
        &caller.connection.base,
        &id,
        body.provider.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "provider": started.provider.as_str(),
            "url": started.url,
            "payment": started.payment.id,
            "amount": started.currency.format(started.payment.amount),
            "currency": started.currency.code(),
            "status": started.payment.status,
        })),
    ))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `POST /api/v1/payments/webhooks/{provider}`: checked, then applied once.
#[tracing::instrument(skip_all, fields(provider = %name))]
pub(crate) async fn webhook(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let provider = Provider::parse(&name)?;
    let store = visitor.tenant.store();
    let keys = online::provider_keys(store, state.postmaster.key(), provider)
        .await
        .map_err(|e| ApiError::WebhookRefused(e.to_string()))?;
    let (event, approved) = match provider {
        Provider::Stripe => {
            let signature = header_text(&headers, "stripe-signature").ok_or_else(|| {
                ApiError::WebhookRefused("the Stripe-Signature header is missing".to_owned())
            })?;
            let now = tenant_core::store::now().unix_timestamp();
            stripe::verify(&signature, &body, &keys.webhook_secrets, now)
                .map_err(ApiError::WebhookRefused)?;
            (
                stripe::event(&body).map_err(ApiError::WebhookRefused)?,
                None,
            )
        }
        Provider::Paypal => {
            let webhook_id = keys.webhook_secrets.first().cloned().unwrap_or_default();
            let token = paypal_token(&state, &keys).await?;
            let lookup = |name: &str| header_text(&headers, name);
            let call = paypal::verify_call(&token, &lookup, &webhook_id, &body)
                .map_err(ApiError::WebhookRefused)?;
            let answer = send(&state, provider, call).await?;
            paypal::verified(&answer).map_err(ApiError::WebhookRefused)?;
            paypal::event(&body).map_err(ApiError::WebhookRefused)?
        }
    };
    let outcome = online::apply_event(store, provider, &event).await?;
    tracing::info!(event = %event.id, kind = %event.type_name, outcome = outcome.as_str(), "payment webhook");
    if let Some(order) = approved.filter(|_| outcome != Outcome::Replayed)
        && let Err(error) = capture_paypal(&state, &visitor.tenant, &order).await
    {
        tracing::warn!(?error, "an approved PayPal order could not be captured");
    }
    Ok(Json(json!({"received": true, "outcome": outcome.as_str()})))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    vec![
        route(
            M::POST,
            "/api/v1/invoices/{id}/checkout",
            "Start paying the invoice's balance online (a contact of its company with invoices.pay): answers the provider's page to go to; paid once the provider's webhook confirms it",
            Permission(P::InvoicesPay),
            &[("provider", "string", false)],
            routing::post(checkout),
        ),
        route(
            M::POST,
            "/api/v1/payments/webhooks/{provider}",
            "The payment provider's signed callback (stripe: Stripe-Signature; paypal: verified through PayPal's API); each event is applied once",
            Public,
            &[],
            routing::post(webhook),
        ),
    ]
}

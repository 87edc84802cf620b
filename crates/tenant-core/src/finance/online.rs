//! Online payments: a client contact starts a checkout at the brand's payment provider
//! (Stripe or PayPal) for what is left of a sent invoice, and the invoice is paid only when
//! the provider's signed webhook says the money arrived.
//!
//! The rules:
//! - A checkout is for the whole balance, in the invoice's currency, and is recorded at once
//!   as a `processing` payment that does not count as paid. A new checkout of the same
//!   invoice replaces the open ones (they are marked `failed`; the caller expires them at
//!   the provider).
//! - A webhook is applied once: its event id is kept in `payment_events` in the same
//!   transaction that applies it, so a replay (or two replicas receiving the same event)
//!   changes nothing.
//! - An event whose amount or currency differs from the payment's changes nothing but the
//!   invoice's history.
//! - "Processing" is not "paid": only a succeeded event adds to what was paid. Money that
//!   arrives for an invoice that was paid or cancelled meanwhile is recorded as received and
//!   flagged in the history for a refund; it never pays more than the invoice's total.
//!
//! The provider's wire formats are in [`super::stripe`] and [`super::paypal`]; this module
//! holds no network code: the caller sends each [`ProviderCall`].

use time::{Duration, OffsetDateTime};

use crate::access::permissions::need;
use crate::access::{self, Actor, Principal, Scope, UserKind};
use crate::audit::{self, Target};
use crate::brand::settings::{self, GatewaySettings};
use crate::error::{Error, Result};
use crate::finance::invoices::{
    self, Invoice, Payment, Status, find_invoice, no_such_invoice, note_history, visible_invoice,
};
use crate::finance::invoicing::Kind;
use crate::finance::money::Currency;
use crate::platform::secrets::SecretKey;
use crate::store::{TenantStore, Tx, new_id, now, on_tx};

/// How long a checkout stays open at the provider.
pub const CHECKOUT_OPEN: Duration = Duration::minutes(60);

/// A provider clients pay through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Stripe Checkout.
    Stripe,
    /// PayPal Checkout (Orders v2).
    Paypal,
}

impl Provider {
    /// Every provider, in the order they are offered.
    pub const ALL: [Provider; 2] = [Provider::Stripe, Provider::Paypal];

    /// Its name in settings, routes and payments.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Paypal => "paypal",
        }
    }

    /// Its name as its makers spell it.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Stripe => "Stripe",
            Provider::Paypal => "PayPal",
        }
    }

    /// The provider named `name` (404 for any other name: the webhook route is public).
    pub fn parse(name: &str) -> Result<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "there is no payment provider '{name}': online payments go through stripe or paypal"
                ))
            })
    }
}

/// A request to the provider's API, made by the caller (the server's HTTP client).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderCall {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path and query below the provider's API base (`/v1/checkout/sessions`).
    pub path: String,
    /// Headers (`Authorization` among them: never log them).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for ProviderCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCall")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl ProviderAnswer {
    /// The body as JSON, when the status is a success; otherwise the provider's own
    /// message as the error.
    pub fn json(&self, provider: Provider) -> std::result::Result<serde_json::Value, String> {
        let value: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        if (200..300).contains(&self.status) {
            return value.ok_or_else(|| {
                format!(
                    "{} answered with something that is not JSON",
                    provider.label()
                )
            });
        }
        let message = value.as_ref().and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error_description"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        });
        Err(match message {
            Some(message) => format!(
                "{} refused: {message} (HTTP {})",
                provider.label(),
                self.status
            ),
            None => format!("{} answered HTTP {}", provider.label(), self.status),
        })
    }
}

/// A gateway's keys, opened for a call.
#[derive(Clone)]
pub struct ProviderKeys {
    /// The provider.
    pub provider: Provider,
    /// The public key (PayPal: the client id).
    pub public_key: String,
    /// The secret key.
    pub secret_key: String,
    /// The webhook secrets, newest first (PayPal: its webhook id).
    pub webhook_secrets: Vec<String>,
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKeys")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

fn keys_of(provider: Provider, gateway: &GatewaySettings, key: &SecretKey) -> Result<ProviderKeys> {
    let sealed = gateway
        .secret_sealed
        .as_deref()
        .ok_or_else(|| not_offered(provider))?;
    Ok(ProviderKeys {
        provider,
        public_key: gateway.public_key.clone().unwrap_or_default(),
        secret_key: settings::open_payment_secret(key, sealed)?,
        webhook_secrets: gateway
            .webhook_secrets_sealed
            .iter()
            .map(|s| settings::open_payment_secret(key, s))
            .collect::<Result<_>>()?,
    })
}

fn not_offered(provider: Provider) -> Error {
    Error::Conflict(format!(
        "this brand does not take payments through {}",
        provider.label()
    ))
}

/// A provider's keys for its webhooks and calls: only when the brand turned it on with its
/// secret key and a webhook secret.
pub async fn provider_keys(
    store: &TenantStore,
    key: &SecretKey,
    provider: Provider,
) -> Result<ProviderKeys> {
    let mut tx = store.read().await?;
    let payments = settings::payments_in(&mut tx).await?;
    let gateway = payments
        .gateways
        .get(provider.as_str())
        .filter(|g| g.ready())
        .ok_or_else(|| not_offered(provider))?;
    keys_of(provider, gateway, key)
}

/// The providers a client is offered for paying online.
pub async fn offered(store: &TenantStore) -> Result<Vec<Provider>> {
    let mut tx = store.read().await?;
    let payments = settings::payments_in(&mut tx).await?;
    Ok(Provider::ALL
        .into_iter()
        .filter(|p| {
            payments
                .gateways
                .get(p.as_str())
                .is_some_and(GatewaySettings::ready)
        })
        .collect())
}

/// A checkout about to be created at the provider.
#[derive(Debug, Clone)]
pub struct CheckoutPlan {
    /// The provider and its keys.
    pub keys: ProviderKeys,
    /// The payment's id (the provider's idempotency key too).
    pub payment_id: String,
    /// The invoice.
    pub invoice_id: String,
    /// Its number.
    pub number: String,
    /// The brand's name, for the provider's page.
    pub seller: String,
    /// What is paid: the whole balance, in minor units.
    pub amount: i64,
    /// In this currency.
    pub currency: Currency,
    /// When the checkout closes at the provider.
    pub expires_at: OffsetDateTime,
    /// The provider's references of open checkouts this one replaces (to expire there).
    pub replaces: Vec<String>,
}

impl CheckoutPlan {
    /// The amount as a decimal string (`"1234.50"`).
    pub fn amount_text(&self) -> String {
        self.currency.format(self.amount)
    }
}

fn payer(viewer: &Principal, invoice: &Invoice) -> Result<()> {
    if viewer.kind() != UserKind::Client {
        return Err(Error::Forbidden(
            "online payment is for the company's contacts; staff record a payment instead"
                .to_owned(),
        ));
    }
    access::permit::<need::InvoicesPay>(viewer, Scope::Company(&invoice.company_id))?;
    Ok(())
}

fn payable(invoice: &Invoice) -> Result<()> {
    let open = invoice.kind == Kind::Invoice
        && matches!(
            invoice.status,
            Status::Sent | Status::PartiallyPaid | Status::Overdue
        );
    if !open || invoice.balance() <= 0 {
        return Err(Error::Conflict(format!(
            "there is nothing to pay on this invoice: it is {}",
            invoice.status.as_str().replace('_', " ")
        )));
    }
    Ok(())
}

/// The open checkouts of an invoice at a provider: their references.
async fn open_checkouts(tx: &mut Tx, invoice_id: &str, provider: Provider) -> Result<Vec<String>> {
    let references: Vec<Option<String>> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select provider_reference from invoice_payments
             where invoice_id = $1 and method = $2 and status = 'processing'",
        )
        .bind(invoice_id)
        .bind(provider.as_str())
        .fetch_all(conn)
        .await?
    });
    Ok(references.into_iter().flatten().collect())
}

/// Checks that `viewer` (a contact of the invoice's company with `invoices.pay`) may pay
/// the invoice online through `provider` (the first one offered when `None`), and plans
/// the checkout for its whole balance.
#[tracing::instrument(skip_all)]
pub async fn plan_checkout(
    store: &TenantStore,
    viewer: &Principal,
    key: &SecretKey,
    invoice_id: &str,
    provider: Option<&str>,
) -> Result<CheckoutPlan> {
    let mut tx = store.read().await?;
    let invoice = visible_invoice(&mut tx, viewer, invoice_id).await?;
    payer(viewer, &invoice)?;
    payable(&invoice)?;
    let payments = settings::payments_in(&mut tx).await?;
    let ready = |p: Provider| {
        payments
            .gateways
            .get(p.as_str())
            .filter(|g| g.ready())
            .map(|g| (p, g))
    };
    let (provider, gateway) = match provider.filter(|p| !p.trim().is_empty()) {
        Some(name) => {
            let provider = Provider::ALL
                .into_iter()
                .find(|p| p.as_str() == name.trim())
                .ok_or_else(|| Error::field("provider", "the provider is stripe or paypal"))?;
            ready(provider).ok_or_else(|| not_offered(provider))?
        }
        None => Provider::ALL.into_iter().find_map(ready).ok_or_else(|| {
            Error::Conflict(
                "this brand takes no online payments: pay by bank transfer as the invoice says"
                    .to_owned(),
            )
        })?,
    };
    let keys = keys_of(provider, gateway, key)?;
    let replaces = open_checkouts(&mut tx, invoice_id, provider).await?;
    Ok(CheckoutPlan {
        keys,
        payment_id: new_id()?,
        invoice_id: invoice.id.clone(),
        number: invoice.number.clone().unwrap_or_default(),
        seller: invoice.seller.name.clone(),
        amount: invoice.balance(),
        currency: invoice.currency,
        expires_at: now() + CHECKOUT_OPEN,
        replaces,
    })
}

/// Records the checkout the provider created (`reference`: its session or order id) as a
/// processing payment, and marks the checkouts it replaces failed. Nothing is paid yet.
#[tracing::instrument(skip_all)]
pub async fn record_checkout(
    store: &TenantStore,
    viewer: &Principal,
    plan: &CheckoutPlan,
    reference: &str,
) -> Result<Payment> {
    let mut tx = store.write_uncached().await?;
    let invoice = visible_invoice(&mut tx, viewer, &plan.invoice_id).await?;
    payer(viewer, &invoice)?;
    payable(&invoice)?;
    if invoice.balance() != plan.amount {
        return Err(Error::Conflict(
            "the invoice changed meanwhile: look at it again".to_owned(),
        ));
    }
    let provider = plan.keys.provider;
    let at = now();
    on_tx!(tx, |conn| {
        sqlx::query(
            "update invoice_payments set status = 'failed', updated_at = $3
             where invoice_id = $1 and method = $2 and status = 'processing'",
        )
        .bind(&plan.invoice_id)
        .bind(provider.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "insert into invoice_payments (invoice_payment_id, invoice_id, amount, paid_on, method, reference, status, provider_reference, recorded_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, '', 'processing', $6, $7, $8, $8)",
        )
        .bind(&plan.payment_id)
        .bind(&plan.invoice_id)
        .bind(plan.amount)
        .bind(at.date().to_string())
        .bind(provider.as_str())
        .bind(reference)
        .bind(viewer.user_id())
        .bind(at)
        .execute(conn)
        .await?;
    });
    let actor = Actor::from(viewer);
    note_history(
        &mut tx,
        &plan.invoice_id,
        &actor,
        "checkout",
        &format!(
            "An online payment of {} {} was started at {}; it counts once {} confirms it",
            plan.amount_text(),
            plan.currency.code(),
            provider.label(),
            provider.label()
        ),
    )
    .await?;
    audit::note(&actor, "invoice.checkout", Target::new("invoice", &plan.invoice_id))
        .after(serde_json::json!({"provider": provider.as_str(), "amount": plan.amount_text(), "currency": plan.currency.code(), "payment": plan.payment_id}))
        .write(&mut tx)
        .await?;
    let payment = invoices::payments_of(&mut tx, &plan.invoice_id)
        .await?
        .into_iter()
        .find(|p| p.id == plan.payment_id)
        .ok_or_else(|| Error::Invalid("the checkout just recorded is missing".to_owned()))?;
    tx.commit().await?;
    Ok(payment)
}

/// The id of the payment through `provider` with the provider's `reference` (session or
/// order id), if it is still processing: only then may it be completed (a PayPal order is
/// captured only then).
pub async fn still_processing(
    store: &TenantStore,
    provider: Provider,
    reference: &str,
) -> Result<Option<String>> {
    let mut tx = store.read().await?;
    let found: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "select invoice_payment_id from invoice_payments
             where method = $1 and provider_reference = $2 and status = 'processing'",
        )
        .bind(provider.as_str())
        .bind(reference)
        .fetch_optional(conn)
        .await?
    });
    Ok(found)
}

/// What a provider's event says about a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The money arrived.
    Succeeded,
    /// Accepted but not yet arrived (a bank debit on its way): not paid.
    Processing,
    /// It failed, was declined, or the checkout expired.
    Failed,
}

/// An amount as the provider states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAmount {
    /// In minor units (Stripe).
    Minor(i64),
    /// As a decimal string (PayPal).
    Decimal(String),
}

/// A provider's event, its signature already verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's event id (the key of idempotency).
    pub id: String,
    /// The provider's event type.
    pub type_name: String,
    /// What it means for a payment; `None` for types this server does not act on.
    pub kind: Option<EventKind>,
    /// The checkout's reference (Stripe session id, PayPal order id).
    pub reference: Option<String>,
    /// The amount and currency the event is for.
    pub amount: Option<(EventAmount, String)>,
}

/// A webhook body's JSON, its event id and its type (under `type_key`): what every
/// provider's event has.
pub(crate) fn event_head(
    body: &[u8],
    type_key: &str,
) -> std::result::Result<(serde_json::Value, String, String), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let id = value["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 200)
        .ok_or("the event has no id")?
        .to_owned();
    let type_name: String = value[type_key]
        .as_str()
        .ok_or_else(|| format!("the event has no {type_key}"))?
        .chars()
        .take(100)
        .collect();
    Ok((value, id, type_name))
}

/// What a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The invoice is paid by it (in full or in part).
    Paid,
    /// The money arrived for an invoice that was already paid or cancelled: flagged for a
    /// refund in the invoice's history.
    Refund,
    /// Still processing: nothing paid.
    Processing,
    /// The payment failed.
    Failed,
    /// This event was handled before: nothing changed.
    Replayed,
    /// The amount or currency differs from the checkout's: nothing changed.
    Mismatch,
    /// It is not about a payment of this brand, or not of a type acted on.
    Ignored,
}

impl Outcome {
    /// A word for the answer and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Refund => "refund",
            Outcome::Processing => "processing",
            Outcome::Failed => "failed",
            Outcome::Replayed => "replayed",
            Outcome::Mismatch => "mismatch",
            Outcome::Ignored => "ignored",
        }
    }
}

/// The actor a provider's webhook acts as.
fn provider_actor(provider: Provider) -> Actor {
    Actor {
        user_id: None,
        name: provider.label().to_owned(),
        address: "webhook".to_owned(),
    }
}

/// Applies a verified event once: all of it, or (on any error) nothing, not even the note
/// that it was seen, so the provider's retry is applied.
#[tracing::instrument(skip_all, fields(provider = provider.as_str(), event = %event.type_name))]
pub async fn apply_event(
    store: &TenantStore,
    provider: Provider,
    event: &ProviderEvent,
) -> Result<Outcome> {
    let mut tx = store.write_uncached().await?;
    let event_key = format!("{} {}", provider.as_str(), event.id);
    let at = now();
    let first = on_tx!(tx, |conn| {
        sqlx::query(
            "insert into payment_events (payment_event_id, invoice_id, kind, created_at, updated_at)
             values ($1, null, $2, $3, $3) on conflict (payment_event_id) do nothing",
        )
        .bind(&event_key)
        .bind(&event.type_name)
        .bind(at)
        .execute(conn)
        .await?
        .rows_affected()
    }) == 1;
    if !first {
        return Ok(Outcome::Replayed);
    }
    let (Some(kind), Some(reference)) = (event.kind, event.reference.as_deref()) else {
        tx.commit().await?;
        return Ok(Outcome::Ignored);
    };
    let found: Option<(String, String, i64, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select invoice_payment_id, invoice_id, amount, status from invoice_payments
             where method = $1 and provider_reference = $2",
        )
        .bind(provider.as_str())
        .bind(reference)
        .fetch_optional(conn)
        .await?
    });
    let Some((payment_id, invoice_id, amount, status)) = found else {
        tx.commit().await?;
        return Ok(Outcome::Ignored);
    };
    on_tx!(tx, |conn| {
        sqlx::query("update payment_events set invoice_id = $2 where payment_event_id = $1")
            .bind(&event_key)
            .bind(&invoice_id)
            .execute(conn)
            .await?;
    });
    let invoice = find_invoice(&mut tx, &invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    let actor = provider_actor(provider);
    let money = |minor: i64| {
        format!(
            "{} {}",
            invoice.currency.format(minor),
            invoice.currency.code()
        )
    };
    let stated = event.amount.as_ref().and_then(|(value, currency)| {
        let currency = Currency::parse("currency", currency).ok()?;
        let minor = match value {
            EventAmount::Minor(minor) => *minor,
            EventAmount::Decimal(text) => currency.parse_amount("amount", text).ok()?,
        };
        Some((minor, currency))
    });
    let matches = matches!(stated, Some((minor, currency)) if minor == amount && currency == invoice.currency);
    if !matches && kind != EventKind::Failed {
        let said = match (&stated, &event.amount) {
            (Some((minor, currency)), _) => {
                format!("{} {}", currency.format(*minor), currency.code())
            }
            (None, Some((value, currency))) => format!("{value:?} {currency}"),
            (None, None) => "no amount".to_owned(),
        };
        note_history(
            &mut tx,
            &invoice_id,
            &actor,
            "payment_mismatch",
            &format!(
                "{} reported {} for the online payment of {}; nothing was changed",
                provider.label(),
                said,
                money(amount)
            ),
        )
        .await?;
        audit::note(
            &actor,
            "invoice.payment_mismatch",
            Target::new("invoice", &invoice_id),
        )
        .after(serde_json::json!({"event": event.id, "stated": said, "expected": money(amount)}))
        .write(&mut tx)
        .await?;
        tx.commit().await?;
        return Ok(Outcome::Mismatch);
    }
    let outcome = match kind {
        EventKind::Processing => {
            if status == "processing" {
                note_history(
                    &mut tx,
                    &invoice_id,
                    &actor,
                    "payment_processing",
                    &format!(
                        "{} accepted the online payment of {}; it is not paid until the money arrives",
                        provider.label(),
                        money(amount)
                    ),
                )
                .await?;
            }
            Outcome::Processing
        }
        EventKind::Failed => {
            let changed = set_status(&mut tx, &payment_id, &["processing"], "failed").await?;
            if changed {
                note_history(
                    &mut tx,
                    &invoice_id,
                    &actor,
                    "payment_failed",
                    &format!(
                        "The online payment of {} did not go through at {}",
                        money(amount),
                        provider.label()
                    ),
                )
                .await?;
            }
            Outcome::Failed
        }
        EventKind::Succeeded => {
            // A replaced checkout that still went through is money received all the same.
            if !set_status(&mut tx, &payment_id, &["processing", "failed"], "succeeded").await? {
                tx.commit().await?;
                return Ok(Outcome::Replayed);
            }
            on_tx!(tx, |conn| {
                sqlx::query(
                    "update invoice_payments set paid_on = $2 where invoice_payment_id = $1",
                )
                .bind(&payment_id)
                .bind(at.date().to_string())
                .execute(conn)
                .await?;
            });
            if invoices::add_paid(&mut tx, &invoice_id, amount).await? {
                note_history(
                    &mut tx,
                    &invoice_id,
                    &actor,
                    "payment",
                    &format!(
                        "{} received on {} ({} online)",
                        money(amount),
                        at.date(),
                        provider.label()
                    ),
                )
                .await?;
                Outcome::Paid
            } else {
                note_history(
                    &mut tx,
                    &invoice_id,
                    &actor,
                    "payment_refund_due",
                    &format!(
                        "{} received {} online, but the invoice no longer owed it: refund it at {}",
                        provider.label(),
                        money(amount),
                        provider.label()
                    ),
                )
                .await?;
                Outcome::Refund
            }
        }
    };
    let after = find_invoice(&mut tx, &invoice_id)
        .await?
        .ok_or_else(no_such_invoice)?;
    audit::note(&actor, "invoice.payment_event", Target::new("invoice", &invoice_id))
        .before(invoice.audit_state())
        .after(serde_json::json!({"event": event.id, "type": event.type_name, "outcome": outcome.as_str(), "invoice": after.audit_state()}))
        .write(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn set_status(tx: &mut Tx, payment_id: &str, from: &[&str], to: &str) -> Result<bool> {
    let sql = "update invoice_payments set status = $2, updated_at = $5
               where invoice_payment_id = $1 and status in ($3, $4)";
    let first = from.first().copied().unwrap_or("processing");
    let second = from.get(1).copied().unwrap_or(first);
    let changed = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(payment_id)
            .bind(to)
            .bind(first)
            .bind(second)
            .bind(now())
            .execute(conn)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

//! `/api/v1/invoices` and `/api/v1/settings/invoicing`: drafts, sending, payments recorded
//! by hand, cancelling with a credit note. Money is a decimal string in the currency's
//! minor-unit precision (`"1234.50"`), never a float. Who sees and does what is decided in
//! [`tenant_core::finance::invoices`].

use crate::api::{Access, Route, route};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, UserKind, permit};
use tenant_core::finance::invoices::{
    self, HistoryEntry, Invoice, InvoiceChange, InvoiceFilter, NewInvoice, NewLine, NewPayment,
    Payment,
};
use tenant_core::finance::invoicing::{self, InvoicingChange};

use crate::api::views::{self, double_option, rfc3339};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// An invoice as the API shows it; `history` only for staff.
pub(crate) fn invoice_view(invoice: &Invoice, history: Option<&[HistoryEntry]>) -> Value {
    let money = |amount: i64| invoice.currency.format(amount);
    json!({
        "id": invoice.id,
        "kind": invoice.kind.as_str(),
        "number": invoice.number,
        "status": invoice.status.as_str(),
        "company": invoice.company_id,
        "company_name": invoice.company_name,
        "project": invoice.project_id,
        "corrects": invoice.corrects,
        "credited_by": invoice.credited_by,
        "currency": invoice.currency.code(),
        "issued_on": invoice.issued_on.to_string(),
        "due_on": invoice.due_on.to_string(),
        "notes": invoice.notes,
        "terms": invoice.terms,
        "seller": {
            "name": invoice.seller.name,
            "address": invoice.seller.address,
            "tax_id": invoice.seller.tax_id,
            "bank_details": invoice.seller.bank_details,
            "country": invoice.seller.country,
        },
        "buyer": {"name": invoice.buyer.name, "details": invoice.buyer.details, "country": invoice.buyer.country, "tax_id": invoice.buyer.tax_id},
        "lines": invoice.lines.iter().map(|l| json!({
            "description": l.description,
            "quantity": l.line.quantity.to_string(),
            "unit_price": l.line.unit_price.to_string(),
            "tax_rate": l.line.tax_rate.to_string(),
            "discount": l.line.discount.to_string(),
            "net": money(l.net),
        })).collect::<Vec<_>>(),
        "taxes": invoice.taxes.iter().map(|t| json!({
            "rate": t.rate.to_string(), "base": money(t.base), "tax": money(t.tax),
        })).collect::<Vec<_>>(),
        "net": money(invoice.net),
        "tax": money(invoice.tax),
        "total": money(invoice.total),
        "paid": money(invoice.paid),
        "balance": money(invoice.balance()),
        "sent_at": invoice.sent_at.map(rfc3339),
        "cancelled_at": invoice.cancelled_at.map(rfc3339),
        "created_at": rfc3339(invoice.created_at),
        "history": history.map(|entries| entries.iter().map(|h| json!({
            "action": h.action, "detail": h.detail, "actor_name": h.actor_name, "at": rfc3339(h.at),
        })).collect::<Vec<_>>()),
    })
}

/// A payment as the API shows it.
pub(crate) fn payment_view(invoice: &Invoice, payment: &Payment) -> Value {
    json!({
        "id": payment.id,
        "invoice": invoice.id,
        "amount": invoice.currency.format(payment.amount),
        "currency": invoice.currency.code(),
        "paid_on": payment.paid_on.to_string(),
        "method": payment.method,
        "reference": payment.reference,
        "status": payment.status,
        "recorded_by": payment.recorded_by,
        "created_at": rfc3339(payment.created_at),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    company: Option<String>,
    status: Option<String>,
    project: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/v1/invoices?company=&status=&project=`.
pub(crate) async fn list(
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let window = views::window("invoices", query.limit, query.cursor.as_deref())?;
    let filter = InvoiceFilter {
        company: query.company,
        status: query.status,
        project: query.project.filter(|p| !p.is_empty()),
    };
    let page = invoices::list_invoices(
        caller.tenant.store(),
        &caller.principal,
        &filter,
        window.after.as_deref(),
        window.limit,
    )
    .await?;
    Ok(Json(views::page_of("invoices", page, |i| {
        invoice_view(i, None)
    })))
}

/// The invoice with its history for staff.
async fn full_view(caller: &Caller, invoice: &Invoice) -> ApiResult<Value> {
    let history = history_for(caller, &invoice.id).await?;
    Ok(invoice_view(invoice, history.as_deref()))
}

async fn history_for(caller: &Caller, invoice_id: &str) -> ApiResult<Option<Vec<HistoryEntry>>> {
    let viewer = &caller.principal;
    if viewer.kind() != UserKind::Staff {
        return Ok(None);
    }
    let Ok(permit) = permit::<need::InvoicesView>(viewer, Scope::Brand) else {
        return Ok(None);
    };
    Ok(Some(
        invoices::history(caller.tenant.store(), &permit, invoice_id).await?,
    ))
}

/// `GET /api/v1/invoices/{id}`.
pub(crate) async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let invoice = invoices::get_invoice(caller.tenant.store(), &caller.principal, &id).await?;
    Ok(Json(full_view(&caller, &invoice).await?))
}

/// `POST /api/v1/invoices`: a draft.
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    caller: Caller,
    body: Result<Json<NewInvoice>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::InvoicesCreate>(&caller.principal, Scope::Brand)?;
    let Json(new) = body?;
    let invoice = invoices::create_invoice(caller.tenant.store(), &permit, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(full_view(&caller, &invoice).await?),
    ))
}

/// `GET /api/v1/invoices/{id}/pdf`: the invoice as printed (a draft's marked as such).
pub(crate) async fn pdf(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let invoice = invoices::get_invoice(caller.tenant.store(), &caller.principal, &id).await?;
    let look = tenant_core::brand::branding::look(&caller.tenant).await?;
    crate::api::finance::pdf::pdf_response(&invoice, &look).await
}

/// `GET /api/v1/invoices/{id}/e-invoice`: the sent invoice as EN 16931 CII XML, when the
/// brand turned e-invoices on.
pub(crate) async fn e_invoice(
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let store = caller.tenant.store();
    let invoice = invoices::get_invoice(store, &caller.principal, &id).await?;
    if !invoicing::e_invoices_on(store).await? {
        return Err(ApiError::Core(tenant_core::Error::Conflict(
            "this brand makes no e-invoices: turn them on in the invoicing settings".to_owned(),
        )));
    }
    let corrected = match &invoice.corrects {
        Some(corrected) => Some(invoices::get_invoice(store, &caller.principal, corrected).await?),
        None => None,
    };
    let e_invoice = crate::api::finance::einvoice::e_invoice_of(&invoice, corrected.as_ref())?;
    Ok(crate::api::finance::einvoice::xml_response(
        &invoice, &e_invoice,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    #[serde(default)]
    company: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    project: Option<Option<String>>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    issued_on: Option<String>,
    #[serde(default)]
    due_on: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    terms: Option<String>,
    #[serde(default)]
    lines: Option<Vec<NewLine>>,
}

/// `PATCH /api/v1/invoices/{id}`: drafts only.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesCreate>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let change = InvoiceChange {
        company: body.company,
        project: body.project,
        currency: body.currency,
        issued_on: body.issued_on,
        due_on: body.due_on,
        notes: body.notes,
        terms: body.terms,
        lines: body.lines,
    };
    let invoice = invoices::update_invoice(caller.tenant.store(), &permit, &id, &change).await?;
    Ok(Json(full_view(&caller, &invoice).await?))
}

/// `DELETE /api/v1/invoices/{id}`: drafts only.
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::InvoicesCreate>(&caller.principal, Scope::Brand)?;
    invoices::delete_invoice(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/invoices/{id}/send`: gives the number.
#[tracing::instrument(skip_all)]
pub(crate) async fn send(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let invoice = invoices::send_invoice(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(full_view(&caller, &invoice).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelBody {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/invoices/{id}/cancel`: with a credit note.
#[tracing::instrument(skip_all)]
pub(crate) async fn cancel(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CancelBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let (invoice, credit_note) =
        invoices::cancel_invoice(caller.tenant.store(), &permit, &id, &body.reason).await?;
    let mut view = full_view(&caller, &invoice).await?;
    view["credit_note"] = full_view(&caller, &credit_note).await?;
    Ok(Json(view))
}

/// `GET /api/v1/invoices/{id}/payments`.
pub(crate) async fn payments(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let store = caller.tenant.store();
    let (invoice, list) =
        invoices::get_invoice_with_payments(store, &caller.principal, &id).await?;
    Ok(Json(json!({
        "items": list.iter().map(|p| payment_view(&invoice, p)).collect::<Vec<_>>(),
        "next_cursor": null,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentBody {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    paid_on: Option<String>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: Option<String>,
}

/// `POST /api/v1/invoices/{id}/payments`: a payment recorded by hand.
#[tracing::instrument(skip_all)]
pub(crate) async fn record_payment(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<PaymentBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let Json(body) = body?;
    let new = NewPayment {
        amount: body.amount,
        paid_on: body.paid_on,
        method: body.method,
        reference: body.reference,
    };
    let (invoice, payment) =
        invoices::record_payment(caller.tenant.store(), &permit, &id, &new).await?;
    let mut view = payment_view(&invoice, &payment);
    view["invoice_status"] = json!(invoice.status.as_str());
    view["balance"] = json!(invoice.currency.format(invoice.balance()));
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /api/v1/settings/invoicing`.
#[tracing::instrument(skip_all)]
pub(crate) async fn settings(caller: Caller) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let view = invoicing::invoicing(caller.tenant.store(), &permit).await?;
    Ok(Json(view.view()))
}

/// `PUT /api/v1/settings/invoicing`: fields left out keep their value.
#[tracing::instrument(skip_all)]
pub(crate) async fn set_settings(
    caller: Caller,
    body: Result<Json<InvoicingChange>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let Json(change) = body?;
    let view = invoicing::set_invoicing(caller.tenant.store(), &permit, &change).await?;
    Ok(Json(view.view()))
}

/// This module's routes of `/api/v1`.
pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NONE: &[(&str, &str, bool)] = &[];
    const DRAFT: &[(&str, &str, bool)] = &[
        ("company", "string", true),
        ("project", "string", false),
        ("currency", "string", false),
        ("issued_on", "string", false),
        ("due_on", "string", false),
        ("notes", "string", false),
        ("terms", "string", false),
        ("lines", "objects", false),
    ];
    const DRAFT_EDIT: &[(&str, &str, bool)] = &[
        ("company", "string", false),
        ("project", "string|null", false),
        ("currency", "string", false),
        ("issued_on", "string", false),
        ("due_on", "string", false),
        ("notes", "string", false),
        ("terms", "string", false),
        ("lines", "objects", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/invoices",
            "Invoices and credit notes (?company=&status=&project=); a client contact sees their company's sent ones",
            Permission(P::InvoicesView),
            NONE,
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/invoices",
            "Make a draft invoice: lines of description, quantity, unit_price, tax_rate (percent), discount (percent)",
            Permission(P::InvoicesCreate),
            DRAFT,
            routing::post(create),
        ),
        route(
            M::GET,
            "/api/v1/invoices/{id}",
            "One invoice with its lines, tax breakdown, and (for staff) history",
            Permission(P::InvoicesView),
            NONE,
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/invoices/{id}",
            "Change a draft (lines given replace all lines)",
            Permission(P::InvoicesCreate),
            DRAFT_EDIT,
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/invoices/{id}",
            "Remove a draft",
            Permission(P::InvoicesCreate),
            NONE,
            routing::delete(delete),
        ),
        route(
            M::POST,
            "/api/v1/invoices/{id}/send",
            "Send a draft: it gets the next number and today's date",
            Permission(P::InvoicesManage),
            NONE,
            routing::post(send),
        ),
        route(
            M::POST,
            "/api/v1/invoices/{id}/cancel",
            "Cancel a sent invoice with a credit note",
            Permission(P::InvoicesManage),
            &[("reason", "string", true)],
            routing::post(cancel),
        ),
        route(
            M::GET,
            "/api/v1/invoices/{id}/pdf",
            "The invoice or credit note as a PDF (a draft's marked as a draft)",
            Permission(P::InvoicesView),
            NONE,
            routing::get(pdf),
        ),
        route(
            M::GET,
            "/api/v1/invoices/{id}/e-invoice",
            "The sent invoice or credit note as an EN 16931 e-invoice (CII XML, Factur-X / ZUGFeRD EN 16931 profile), when the brand turned them on",
            Permission(P::InvoicesView),
            NONE,
            routing::get(e_invoice),
        ),
        route(
            M::GET,
            "/api/v1/invoices/{id}/payments",
            "An invoice's payments",
            Permission(P::InvoicesView),
            NONE,
            routing::get(payments),
        ),
        route(
            M::POST,
            "/api/v1/invoices/{id}/payments",
            "Record a payment made by bank transfer, cash, card, cheque or other (never more than is left)",
            Permission(P::InvoicesManage),
            &[
                ("amount", "string", true),
                ("paid_on", "string", false),
                ("method", "string", true),
                ("reference", "string", false),
            ],
            routing::post(record_payment),
        ),
        route(
            M::GET,
            "/api/v1/settings/invoicing",
            "The invoicing settings: legal details, number patterns and next numbers, currency, terms, reminders",
            Permission(P::InvoicesManage),
            NONE,
            routing::get(settings),
        ),
        route(
            M::PUT,
            "/api/v1/settings/invoicing",
            "Change the invoicing settings (fields left out keep their value; a next number never goes back)",
            Permission(P::InvoicesManage),
            &[
                ("legal_name", "string", false),
                ("address", "string", false),
                ("tax_id", "string", false),
                ("bank_details", "string", false),
                ("country", "string", false),
                ("number_pattern", "string", false),
                ("credit_note_pattern", "string", false),
                ("next_invoice_number", "integer", false),
                ("next_credit_note_number", "integer", false),
                ("currency", "string", false),
                ("payment_days", "integer", false),
                ("terms", "string", false),
                ("reminder_days", "integers", false),
                ("e_invoice", "boolean", false),
            ],
            routing::put(set_settings),
        ),
    ]
}

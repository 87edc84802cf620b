//! `/api/v1/invoices/recurring`: schedules that make an invoice every month, quarter or
//! year (`invoices.manage`); the background job makes them, each period once.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing;
use serde_json::{Value, json};
use tenant_core::access::permissions::need;
use tenant_core::access::{Scope, permit};
use tenant_core::finance::recurring::{self, NewRecurring, Recurring, RecurringChange};

use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;

/// A schedule as the API shows it.
pub(crate) fn recurring_view(schedule: &Recurring) -> Value {
    let t = &schedule.template;
    json!({
        "id": schedule.id,
        "company": schedule.company_id,
        "project": schedule.project_id,
        "currency": t.currency,
        "notes": t.notes,
        "terms": t.terms,
        "lines": t.lines.iter().map(|l| json!({
            "description": l.description,
            "quantity": l.quantity,
            "unit_price": l.unit_price,
            "tax_rate": l.tax_rate,
            "discount": l.discount,
        })).collect::<Vec<_>>(),
        "frequency": schedule.frequency.as_str(),
        "next_on": schedule.next_on.to_string(),
        "ends_on": schedule.ends_on.map(|d| d.to_string()),
        "send": schedule.send,
        "status": schedule.status,
        "last_invoice": schedule.last_invoice_id,
    })
}

/// `GET /api/v1/invoices/recurring`.
pub(crate) async fn list(caller: Caller) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let items = recurring::list_recurring(caller.tenant.store(), &permit).await?;
    Ok(Json(
        json!({ "items": items.iter().map(recurring_view).collect::<Vec<_>>() }),
    ))
}

/// `POST /api/v1/invoices/recurring`.
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    caller: Caller,
    body: Result<Json<NewRecurring>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let Json(new) = body?;
    let made = recurring::create_recurring(caller.tenant.store(), &permit, &new).await?;
    Ok((StatusCode::CREATED, Json(recurring_view(&made))))
}

/// `GET /api/v1/invoices/recurring/{id}`.
pub(crate) async fn get(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let found = recurring::get_recurring(caller.tenant.store(), &permit, &id).await?;
    Ok(Json(recurring_view(&found)))
}

/// `PATCH /api/v1/invoices/recurring/{id}`.
#[tracing::instrument(skip_all)]
pub(crate) async fn edit(
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<RecurringChange>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    let Json(change) = body?;
    let after = recurring::update_recurring(caller.tenant.store(), &permit, &id, &change).await?;
    Ok(Json(recurring_view(&after)))
}

/// `DELETE /api/v1/invoices/recurring/{id}`: it ends; what it made stays.
#[tracing::instrument(skip_all)]
pub(crate) async fn end(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let permit = permit::<need::InvoicesManage>(&caller.principal, Scope::Brand)?;
    recurring::end_recurring(caller.tenant.store(), &permit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn routes() -> Vec<Route> {
    use Access::*;
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    const NEW: &[(&str, &str, bool)] = &[
        ("company", "string", true),
        ("project", "string", false),
        ("currency", "string", false),
        ("notes", "string", false),
        ("terms", "string", false),
        ("lines", "objects", true),
        ("frequency", "monthly|quarterly|yearly", true),
        ("next_on", "string", false),
        ("ends_on", "string", false),
        ("send", "boolean", false),
    ];
    const CHANGE: &[(&str, &str, bool)] = &[
        ("status", "active|paused", false),
        ("ends_on", "string", false),
        ("send", "boolean", false),
    ];
    vec![
        route(
            M::GET,
            "/api/v1/invoices/recurring",
            "Recurring invoices: schedules that make an invoice every month, quarter or year",
            Permission(P::InvoicesManage),
            &[],
            routing::get(list),
        ),
        route(
            M::POST,
            "/api/v1/invoices/recurring",
            "Make a schedule: the invoice's company, project, currency, notes, terms and lines, its frequency, first date (next_on), end (ends_on), and whether each is sent at once (send) or left as a draft",
            Permission(P::InvoicesManage),
            NEW,
            routing::post(create),
        ),
        route(
            M::GET,
            "/api/v1/invoices/recurring/{id}",
            "One schedule",
            Permission(P::InvoicesManage),
            &[],
            routing::get(get),
        ),
        route(
            M::PATCH,
            "/api/v1/invoices/recurring/{id}",
            "Pause or resume a schedule (status), change its end or whether it sends",
            Permission(P::InvoicesManage),
            CHANGE,
            routing::patch(edit),
        ),
        route(
            M::DELETE,
            "/api/v1/invoices/recurring/{id}",
            "End a schedule (the invoices it made stay)",
            Permission(P::InvoicesManage),
            &[],
            routing::delete(end),
        ),
    ]
}

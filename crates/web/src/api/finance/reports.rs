//! `GET /api/v1/reports/finance`: what clients owe and how much is overdue, what was
//! received per month, and the tax invoiced per rate, as JSON or one table as CSV
//! (`?format=csv&table=outstanding|paid|taxes`).

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::{IntoResponse, Response};
use axum::routing;
use serde::Deserialize;
use serde_json::{Value, json};
use tenant_core::finance::reports::{self, FinanceReport};

use crate::api::{Access, Route, route};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};

/// The report's query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// The first day (`YYYY-MM-DD`); the year's first when not given.
    pub from: Option<String>,
    /// The last day; the year's last when not given.
    pub to: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
    /// For CSV: `outstanding`, `paid` or `taxes`.
    pub table: Option<String>,
}

/// The report as the API shows it: amounts as decimal strings with their currency.
pub(crate) fn report_view(report: &FinanceReport) -> Value {
    json!({
        "from": report.from.to_string(),
        "to": report.to.to_string(),
        "outstanding": report.outstanding.iter().map(|o| json!({
            "company": o.company_id,
            "company_name": o.company_name,
            "currency": o.currency.code(),
            "invoices": o.invoices,
            "outstanding": o.currency.format(o.outstanding),
            "overdue": o.currency.format(o.overdue),
        })).collect::<Vec<_>>(),
        "paid": report.paid.iter().map(|p| json!({
            "month": p.month,
            "currency": p.currency.code(),
            "payments": p.payments,
            "amount": p.currency.format(p.amount),
        })).collect::<Vec<_>>(),
        "taxes": report.taxes.iter().map(|t| json!({
            "currency": t.currency.code(),
            "rate": t.rate.normalize().to_string(),
            "base": t.currency.format(t.base),
            "tax": t.currency.format(t.tax),
        })).collect::<Vec<_>>(),
    })
}

/// The report the query asks for, as `caller` may see it.
pub(crate) async fn report_for(caller: &Caller, query: &ReportQuery) -> ApiResult<FinanceReport> {
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = reports::period(query.from.as_deref(), query.to.as_deref(), today)?;
    Ok(reports::finance_report(caller.tenant.store(), &caller.principal, from, to, today).await?)
}

/// One table of `report` as a CSV download.
pub(crate) fn csv_response(report: &FinanceReport, table: &str) -> ApiResult<Response> {
    let text = reports::report_csv(report, table)?;
    let name = format!("finance-{table}-{}-{}.csv", report.from, report.to);
    Ok(crate::api::finance::pdf::saved_as(
        text.into_bytes(),
        "text/csv; charset=utf-8",
        &name,
    ))
}

/// `GET /api/v1/reports/finance`.
pub(crate) async fn finance(
    caller: Caller,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| ApiError::BadBody(e.body_text()))?;
    let csv = match query.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::Core(tenant_core::Error::field(
                "format",
                format!("'{other}' is not a format: json or csv"),
            )));
        }
    };
    let report = report_for(&caller, &query).await?;
    if csv {
        csv_response(&report, query.table.as_deref().unwrap_or("outstanding"))
    } else {
        Ok(Json(report_view(&report)).into_response())
    }
}

pub(crate) fn routes() -> Vec<Route> {
    use axum::http::Method as M;
    use tenant_core::access::permissions::Permission as P;
    vec![route(
        M::GET,
        "/api/v1/reports/finance",
        "Finance report (?from=&to=, this year by default): outstanding and overdue per client, paid per month, tax per rate; ?format=csv&table=outstanding|paid|taxes for one table as CSV; staff only",
        Access::Permission(P::InvoicesView),
        &[],
        routing::get(finance),
    )]
}

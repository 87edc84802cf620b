//! The Finance page (`/finance`, staff with `invoices.view`): what each client owes and how
//! much of it is overdue, what was received per month, and the tax invoiced per rate in a
//! period (this year by default), each table also as a CSV download from the API.

use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use tenant_core::finance::reports;

use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::layout::Section;

/// The Finance page's routes.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/finance", "GET", get(finance))
}

/// The period chosen.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /finance?from=&to=`.
pub(crate) async fn finance(
    viewer: Viewer,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let today = time::OffsetDateTime::now_utc().date();
    let report = match reports::period(query.from.as_deref(), query.to.as_deref(), today) {
        Ok((from, to)) => {
            reports::finance_report(viewer.tenant.store(), principal, from, to, today).await
        }
        Err(error) => Err(error),
    };
    let report = report.map_err(|error| viewer.refusal("Finance", Section::Finance, error))?;
    let period = format!("from={}&to={}", report.from, report.to);
    let csv = |table: &str| format!("/api/v1/reports/finance?format=csv&table={table}&{period}");
    let body = html! {
        h1 { "Finance" }
        form.card method="get" action="/finance" {
            div.row {
                div {
                    label for="f-from" { "From" }
                    input id="f-from" type="date" name="from" value=(report.from.to_string());
                }
                div {
                    label for="f-to" { "To" }
                    input id="f-to" type="date" name="to" value=(report.to.to_string());
                }
            }
            div.actions { button.secondary type="submit" { "Show" } }
        }
        section.card aria-labelledby="owed" {
            h2 id="owed" { "Outstanding today" }
            @if report.outstanding.is_empty() {
                p { "Nothing is owed." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Client" }
                        th scope="col" { "Open invoices" }
                        th scope="col" { "Outstanding" }
                        th scope="col" { "Of which overdue" }
                    } }
                    tbody {
                        @for row in &report.outstanding {
                            tr {
                                td { a href={ "/invoices?company=" (row.company_id) } { (row.company_name) } }
                                td { (row.invoices) }
                                td { (row.currency.format(row.outstanding)) " " (row.currency.code()) }
                                td { (row.currency.format(row.overdue)) " " (row.currency.code()) }
                            }
                        }
                    }
                }
            }
            p { a href=(csv("outstanding")) { "Download as CSV" } }
        }
        section.card aria-labelledby="paid" {
            h2 id="paid" { "Received per month" }
            @if report.paid.is_empty() {
                p { "No payments in this period." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Month" }
                        th scope="col" { "Payments" }
                        th scope="col" { "Received" }
                    } }
                    tbody {
                        @for row in &report.paid {
                            tr {
                                td { (row.month) }
                                td { (row.payments) }
                                td { (row.currency.format(row.amount)) " " (row.currency.code()) }
                            }
                        }
                    }
                }
            }
            p { a href=(csv("paid")) { "Download as CSV" } }
        }
        section.card aria-labelledby="taxes" {
            h2 id="taxes" { "Tax invoiced per rate" }
            p.hint { "Invoices and credit notes issued in the period; a credit note takes its tax back." }
            @if report.taxes.is_empty() {
                p { "No invoices issued in this period." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Rate" }
                        th scope="col" { "Taxed amount" }
                        th scope="col" { "Tax" }
                    } }
                    tbody {
                        @for row in &report.taxes {
                            tr {
                                td { (row.rate.normalize()) " %" }
                                td { (row.currency.format(row.base)) " " (row.currency.code()) }
                                td { (row.currency.format(row.tax)) " " (row.currency.code()) }
                            }
                        }
                    }
                }
            }
            p { a href=(csv("taxes")) { "Download as CSV" } }
        }
    };
    Ok(viewer.page("Finance", Section::Finance, body))
}

//! The recurring invoices pages (`invoices.manage`): the schedules, a new schedule (the
//! invoice editor with a frequency, a first date, an end and "send at once" in place of
//! the dates), and a schedule's page, where it is paused, resumed, given another end or
//! ended. The background job makes the invoices; each page calls the same service as the
//! API (`/api/v1/invoices/recurring`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tenant_core::access::Principal;
use tenant_core::access::permissions::need;
use tenant_core::finance::recurring::{self, NewRecurring, Recurring, RecurringChange};

use crate::http::error::status_of;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::finance::invoices::{
    Choices, EditorForm, EditorValues, blank_as_none, company_choices, editor,
};
use crate::ui::forms::{DoneQuery, Failed, Pairs, field};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The recurring invoices pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/invoices/recurring", "GET POST", get(list).post(create))
        .route("/invoices/recurring/new", "GET", get(new_schedule))
        .route(
            "/invoices/recurring/{id}",
            "GET POST",
            get(show).post(change),
        )
        .route("/invoices/recurring/{id}/end", "POST", post(end))
}

const FREQUENCIES: &[(&str, &str)] = &[
    ("monthly", "Every month"),
    ("quarterly", "Every three months"),
    ("yearly", "Every year"),
];

fn frequency_label(word: &str) -> &'static str {
    FREQUENCIES
        .iter()
        .find(|(w, _)| *w == word)
        .map_or("", |(_, label)| label)
}

/// Company names by id, for the schedules' rows.
async fn company_names(viewer: &Viewer, principal: &Principal) -> HashMap<String, String> {
    company_choices(viewer, principal)
        .await
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect()
}

fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => "The recurring invoice was saved; its first invoice is made on its first date.",
        "changed" => "The recurring invoice was changed.",
        "ended" => "The recurring invoice was ended; the invoices it made stay.",
        _ => return None,
    })
}

/// `GET /invoices/recurring`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesManage>()?;
    let schedules = recurring::list_recurring(viewer.tenant.store(), &permit)
        .await
        .map_err(|e| viewer.refusal("Recurring invoices", Section::Invoices, e))?;
    let names = company_names(&viewer, permit.principal()).await;
    let date = |d| viewer.look.date_format.date(d);
    let body = html! {
        p { a href="/invoices" { "← Invoices" } }
        h1 { "Recurring invoices" }
        @if let Some(text) = done_text(query.done.as_deref()) { (notice(text, false)) }
        div.actions { a.button href="/invoices/recurring/new" { "New recurring invoice" } }
        section.card aria-labelledby="schedules" {
            h2 id="schedules" { "Schedules" }
            @if schedules.is_empty() {
                p { "No recurring invoice yet. One makes an invoice for a client every month, quarter or year, as a draft to look over or sent at once." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Client" } th scope="col" { "How often" }
                        th scope="col" { "Next invoice" } th.optional scope="col" { "Ends" }
                        th.optional scope="col" { "Made as" } th scope="col" { "Status" }
                    } }
                    tbody {
                        @for schedule in &schedules {
                            tr {
                                td { a href={ "/invoices/recurring/" (schedule.id) } {
                                    (names.get(&schedule.company_id).map_or("A client company", String::as_str))
                                } }
                                td { (frequency_label(schedule.frequency.as_str())) }
                                td { @if schedule.status == "ended" { "—" } @else { (date(schedule.next_on)) } }
                                td.optional { (schedule.ends_on.map_or_else(|| "never".to_owned(), date)) }
                                td.optional { (if schedule.send { "sent at once" } else { "a draft" }) }
                                td { (status_badge(&schedule.status)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer.page("Recurring invoices", Section::Invoices, body))
}

fn status_badge(status: &str) -> Markup {
    let class = match status {
        "active" => "status on",
        "ended" => "status off",
        _ => "status",
    };
    html! { span class=(class) { (status) } }
}

/// A schedule's own fields as typed: frequency, first date, end, sending.
struct ScheduleValues {
    frequency: String,
    next_on: String,
    ends_on: String,
    send: bool,
}

impl ScheduleValues {
    fn typed(pairs: &Pairs) -> Self {
        ScheduleValues {
            frequency: field(pairs, "frequency").to_owned(),
            next_on: field(pairs, "next_on").to_owned(),
            ends_on: field(pairs, "ends_on").to_owned(),
            send: field(pairs, "send") == "on",
        }
    }
}

async fn render_new(
    viewer: &Viewer,
    principal: &Principal,
    values: &EditorValues,
    schedule: &ScheduleValues,
    rows: usize,
    failed: Option<(&Failed, &str)>,
    status: StatusCode,
) -> Response {
    let choices = Choices::of(viewer, principal).await;
    let failed_form = failed.map(|(f, _)| f);
    let error = |name: &str| Failed::error(failed_form, "schedule", name);
    let dates = html! {
        div {
            label for="f-frequency" { "How often" }
            select id="f-frequency" name="frequency" aria-invalid=[error("frequency").map(|_| "true")] {
                @for (word, label) in FREQUENCIES {
                    option value=(word) selected[*word == schedule.frequency] { (label) }
                }
            }
            @if let Some(text) = error("frequency") { p.field-error role="alert" { (text) } }
        }
        div { (Field::new("next_on", "First invoice on").kind("date").value(&schedule.next_on)
            .error(error("next_on").as_deref())
            .hint("Today or later; empty for today. Later invoices fall on the same day of the month.")) }
        div { (Field::new("ends_on", "Last invoice by").kind("date").value(&schedule.ends_on)
            .error(error("ends_on").as_deref())
            .hint("Empty: it goes on until it is ended.")) }
        div {
            label.check { input type="checkbox" name="send" value="on" checked[schedule.send]; " Send each invoice at once (else each waits as a draft)" }
        }
    };
    let form = EditorForm {
        action: "/invoices/recurring",
        choices: &choices,
        values,
        rows,
        failed: failed_form,
        form: "schedule",
        dates,
        save: "Save recurring invoice",
    };
    let body = html! {
        p { a href="/invoices/recurring" { "← Recurring invoices" } }
        h1 { "New recurring invoice" }
        @if let Some((_, text)) = failed { (notice(text, true)) }
        (editor(viewer, &form))
    };
    viewer.page_with_status(status, "New recurring invoice", Section::Invoices, body)
}

/// `GET /invoices/recurring/new`.
pub(crate) async fn new_schedule(viewer: Viewer) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesManage>()?;
    let values = EditorValues::typed(&Pairs::default());
    let schedule = ScheduleValues {
        frequency: "monthly".to_owned(),
        next_on: tenant_core::store::now().date().to_string(),
        ends_on: String::new(),
        send: false,
    };
    Ok(render_new(
        &viewer,
        permit.principal(),
        &values,
        &schedule,
        3,
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /invoices/recurring`: saves a new schedule, or shows the form with one more row.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    let values = EditorValues::typed(&pairs);
    let schedule = ScheduleValues::typed(&pairs);
    if field(&pairs, "action") == "add_line" {
        return Ok(render_new(
            &viewer,
            permit.principal(),
            &values,
            &schedule,
            values.lines.len() + 1,
            None,
            StatusCode::OK,
        )
        .await);
    }
    let new = NewRecurring {
        company: values.company.clone(),
        project: blank_as_none(&values.project),
        currency: blank_as_none(&values.currency),
        notes: Some(values.notes.clone()),
        terms: Some(values.terms.clone()).filter(|t| !t.trim().is_empty()),
        lines: values.lines.clone(),
        frequency: schedule.frequency.clone(),
        next_on: blank_as_none(&schedule.next_on),
        ends_on: blank_as_none(&schedule.ends_on),
        send: schedule.send,
    };
    Ok(
        match recurring::create_recurring(viewer.tenant.store(), &permit, &new).await {
            Ok(made) => {
                Redirect::to(&format!("/invoices/recurring/{}?done=saved", made.id)).into_response()
            }
            Err(error) => {
                let status = status_of(&error);
                let (failed, text) = Failed::new("schedule", pairs, error);
                render_new(
                    &viewer,
                    permit.principal(),
                    &values,
                    &schedule,
                    values.lines.len(),
                    Some((&failed, &text)),
                    status,
                )
                .await
            }
        },
    )
}

async fn render_schedule(
    viewer: &Viewer,
    id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesManage>()?;
    let schedule: Recurring = recurring::get_recurring(viewer.tenant.store(), &permit, id)
        .await
        .map_err(|e| viewer.refusal("Recurring invoice", Section::Invoices, e))?;
    let names = company_names(viewer, permit.principal()).await;
    let company = names
        .get(&schedule.company_id)
        .map_or("A client company", String::as_str);
    let date = |d| viewer.look.date_format.date(d);
    let t = &schedule.template;
    let ended = schedule.status == "ended";
    let typed = Failed::typed(failed, "change");
    let end_value = typed.map_or_else(
        || schedule.ends_on.map(|d| d.to_string()).unwrap_or_default(),
        |t| field(t, "ends_on").to_owned(),
    );
    let title = format!("Recurring invoice for {company}");
    let body = html! {
        p { a href="/invoices/recurring" { "← Recurring invoices" } }
        h1 { (title) " " (status_badge(&schedule.status)) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        section.card aria-label="The schedule" {
            dl.facts {
                dt { "Client" } dd { (company) }
                dt { "How often" } dd { (frequency_label(schedule.frequency.as_str())) ", on day " (schedule.day) }
                @if !ended { dt { "Next invoice" } dd { (date(schedule.next_on)) } }
                dt { "Ends" } dd { (schedule.ends_on.map_or_else(|| "never".to_owned(), date)) }
                dt { "Each invoice" } dd { (if schedule.send { "is sent at once" } else { "waits as a draft" }) }
                @if let Some(currency) = &t.currency { dt { "Currency" } dd { (currency) } }
                @if let Some(last) = &schedule.last_invoice_id {
                    dt { "Made last" } dd { a href={ "/invoices/" (last) } { "open the invoice" } }
                }
            }
            table {
                thead { tr {
                    th scope="col" { "Description" } th scope="col" { "Quantity" } th scope="col" { "Unit price" }
                    th scope="col" { "Tax" } th.optional scope="col" { "Discount" }
                } }
                tbody {
                    @for line in &t.lines {
                        tr {
                            td { (line.description) } td { (line.quantity) } td { (line.unit_price) }
                            td { (line.tax_rate) " %" }
                            td.optional { @if let Some(d) = line.discount.as_deref().filter(|d| !d.trim().is_empty()) { (d) " %" } }
                        }
                    }
                }
            }
            @if let Some(notes) = t.notes.as_deref().filter(|n| !n.is_empty()) { p { (notes) } }
            @if let Some(terms) = t.terms.as_deref().filter(|n| !n.is_empty()) { p.hint { (terms) } }
        }
        @if !ended {
            section.card aria-labelledby="change" {
                h2 id="change" { "Change" }
                form method="post" action={ "/invoices/recurring/" (schedule.id) } novalidate {
                    (csrf_field(&viewer.token))
                    div.row {
                        div {
                            label for="f-status" { "Status" }
                            select id="f-status" name="status" {
                                option value="active" selected[schedule.status == "active"] { "active" }
                                option value="paused" selected[schedule.status == "paused"] { "paused (makes nothing until resumed)" }
                            }
                        }
                        div { (Field::new("ends_on", "Last invoice by").kind("date").value(&end_value)
                            .error(Failed::error(failed, "change", "ends_on").as_deref())
                            .hint("Empty: it goes on until it is ended.")) }
                    }
                    label.check { input type="checkbox" name="send" value="on" checked[typed.map_or(schedule.send, |t| field(t, "send") == "on")]; " Send each invoice at once" }
                    div.actions { button type="submit" { "Save changes" } }
                }
                form method="post" action={ "/invoices/recurring/" (schedule.id) "/end" } {
                    (csrf_field(&viewer.token))
                    p.hint { "Ending it makes no more invoices; those it made stay. It cannot be started again." }
                    div.actions { button.secondary type="submit" { "End recurring invoice" } }
                }
            }
        }
    };
    Ok(viewer.page_with_status(status, &title, Section::Invoices, body))
}

/// `GET /invoices/recurring/{id}`.
pub(crate) async fn show(
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let message = done_text(query.done.as_deref()).map(|t| (t.to_owned(), false));
    render_schedule(&viewer, &id, message, None, StatusCode::OK).await
}

/// `POST /invoices/recurring/{id}`: pauses, resumes, changes the end or the sending.
pub(crate) async fn change(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    let change = RecurringChange {
        status: Some(field(&pairs, "status").to_owned()).filter(|s| !s.is_empty()),
        ends_on: Some(field(&pairs, "ends_on").trim().to_owned()),
        send: Some(field(&pairs, "send") == "on"),
    };
    match recurring::update_recurring(viewer.tenant.store(), &permit, &id, &change).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/invoices/recurring/{id}?done=changed")).into_response())
        }
        Err(error) => {
            let status = status_of(&error);
            let (failed, text) = Failed::new("change", pairs, error);
            render_schedule(&viewer, &id, Some((text, true)), Some(&failed), status).await
        }
    }
}

/// `POST /invoices/recurring/{id}/end`.
pub(crate) async fn end(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, _) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    match recurring::end_recurring(viewer.tenant.store(), &permit, &id).await {
        Ok(()) => Ok(Redirect::to("/invoices/recurring?done=ended").into_response()),
        Err(error) => {
            let status = status_of(&error);
            let text = crate::http::error::ApiError::Core(error).page_message();
            render_schedule(&viewer, &id, Some((text, true)), None, status).await
        }
    }
}

//! The Invoices pages: the list with filters (staff with `invoices.view`; a client contact
//! sees their company's sent invoices), the draft editor (lines are added without
//! JavaScript: "Add a line" sends the form back with one more empty row), the invoice page
//! with its totals, tax per rate, payments, history and actions (send, record a payment,
//! cancel with a credit note, remove a draft), and the invoicing settings. Every action
//! calls the same service as the API.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tenant_core::access::permissions::need;
use tenant_core::access::{Principal, Scope, UserKind, permit};
use tenant_core::accounts::companies::{self, Company};
use tenant_core::finance::invoices::{
    self, Invoice, InvoiceChange, InvoiceFilter, NewInvoice, NewLine, NewPayment, Status,
};
use tenant_core::finance::invoicing::{self, InvoicingChange, Kind};
use tenant_core::finance::money::Currency;
use tenant_core::finance::online;
use tenant_core::work::projects::{self, Project, ProjectFilter, ProjectStatus};

use crate::api::WebState;

use crate::http::error::status_of;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::{DoneQuery, Failed, Pairs, field, sent};
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The Invoices pages' routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/invoices", "GET POST", get(list).post(create))
        .route("/invoices/new", "GET", get(new_draft))
        .route("/invoices/{id}", "GET", get(show))
        .route("/invoices/{id}/pdf", "GET", get(pdf))
        .route(
            "/invoices/{id}/edit",
            "GET POST",
            get(edit_draft).post(save_draft),
        )
        .route("/invoices/{id}/send", "POST", post(send))
        .route("/invoices/{id}/delete", "POST", post(delete))
        .route("/invoices/{id}/cancel", "POST", post(cancel))
        .route("/invoices/{id}/payments", "POST", post(record_payment))
        .route("/invoices/{id}/pay", "POST", post(pay))
        .route("/assets/invoice.js", "GET", get(script))
        .route(
            "/settings/invoicing",
            "GET POST",
            get(settings).post(save_settings),
        )
}

/// The editor's live totals (see the file).
const SCRIPT: &str = include_str!("invoice.js");

/// `GET /assets/invoice.js`.
async fn script() -> Response {
    crate::ui::layout::script_answer(SCRIPT)
}

/// Empty rows a new draft starts with.
const FIRST_ROWS: usize = 3;

/// A status as a badge.
pub(crate) fn status_badge(status: Status) -> Markup {
    let class = match status {
        Status::Paid => "status on",
        Status::Overdue | Status::Cancelled => "status off",
        Status::Draft | Status::Sent | Status::PartiallyPaid => "status",
    };
    html! { span class=(class) { (status.as_str().replace('_', " ")) } }
}

fn title_of(invoice: &Invoice) -> String {
    let what = match invoice.kind {
        Kind::Invoice => "Invoice",
        Kind::CreditNote => "Credit note",
    };
    match &invoice.number {
        Some(number) => format!("{what} {number}"),
        None => "Draft invoice".to_owned(),
    }
}

fn amount(invoice: &Invoice, minor: i64) -> String {
    format!(
        "{} {}",
        invoice.currency.format(minor),
        invoice.currency.code()
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

const STATUSES: &[&str] = &[
    "draft",
    "sent",
    "partially_paid",
    "overdue",
    "paid",
    "cancelled",
];

/// The companies a staff member making invoices (or recurring invoices) picks from.
pub(crate) async fn company_choices(viewer: &Viewer, principal: &Principal) -> Vec<Company> {
    let store = viewer.tenant.store();
    let listed = if let Ok(permit) = permit::<need::InvoicesCreate>(principal, Scope::Brand) {
        companies::company_directory(store, &permit).await
    } else if let Ok(permit) = permit::<need::InvoicesManage>(principal, Scope::Brand) {
        companies::company_directory(store, &permit).await
    } else {
        Ok(Vec::new())
    };
    listed.unwrap_or_default()
}

/// `GET /invoices?status=&company=`.
pub(crate) async fn list(
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let filter = InvoiceFilter {
        company: query.company.clone().filter(|c| !c.is_empty()),
        status: query.status.clone().filter(|s| !s.is_empty()),
        project: None,
    };
    let listed =
        invoices::list_invoices(viewer.tenant.store(), principal, &filter, None, 200).await;
    let page = listed.map_err(|error| viewer.refusal("Invoices", Section::Invoices, error))?;
    let staff = principal.kind() == UserKind::Staff;
    let can_create = permit::<need::InvoicesCreate>(principal, Scope::Brand).is_ok();
    let can_manage = permit::<need::InvoicesManage>(principal, Scope::Brand).is_ok();
    let choices = if staff {
        company_choices(&viewer, principal).await
    } else {
        Vec::new()
    };
    let chosen_status = query.status.as_deref().unwrap_or_default();
    let chosen_company = query.company.as_deref().unwrap_or_default();
    let body = html! {
        h1 { "Invoices" }
        @if query.done.as_deref() == Some("deleted") { (notice("The draft was removed.", false)) }
        @if can_create || can_manage {
            div.actions {
                @if can_create { a.button href="/invoices/new" { "New invoice" } }
                @if can_manage {
                    a href="/invoices/recurring" { "Recurring invoices" }
                    a href="/settings/invoicing" { "Invoicing settings" }
                }
            }
        }
        form.card method="get" action="/invoices" {
            div.row {
                div {
                    label for="f-status" { "Status" }
                    select id="f-status" name="status" {
                        option value="" { "Any" }
                        @for status in STATUSES {
                            @if staff || *status != "draft" {
                                option value=(status) selected[*status == chosen_status] { (status.replace('_', " ")) }
                            }
                        }
                    }
                }
                @if staff && !choices.is_empty() {
                    div {
                        label for="f-company" { "Client company" }
                        select id="f-company" name="company" {
                            option value="" { "All" }
                            @for company in &choices {
                                option value=(company.id) selected[company.id == chosen_company] { (company.name) }
                            }
                        }
                    }
                }
            }
            div.actions { button.secondary type="submit" { "Show" } }
        }
        section.card aria-labelledby="list" {
            h2 id="list" { "Invoices and credit notes" }
            @if page.items.is_empty() {
                p { "No invoices here yet." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Number" }
                        @if staff { th scope="col" { "Client" } }
                        th scope="col" { "Issued" }
                        th.optional scope="col" { "Due" }
                        th scope="col" { "Total" }
                        th scope="col" { "Left to pay" }
                        th scope="col" { "Status" }
                    } }
                    tbody {
                        @for invoice in &page.items {
                            tr {
                                td { a href={ "/invoices/" (invoice.id) } { (title_of(invoice)) } }
                                @if staff { td { (invoice.company_name) } }
                                td { (viewer.look.date_format.date(invoice.issued_on)) }
                                td.optional { (viewer.look.date_format.date(invoice.due_on)) }
                                td { (amount(invoice, invoice.total)) }
                                td { (amount(invoice, invoice.balance())) }
                                td { (status_badge(invoice.status)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer.page("Invoices", Section::Invoices, body))
}

/// The lines typed in an editor form: rows `line.N.*`, blank rows left out.
pub(crate) fn typed_lines(pairs: &Pairs) -> Vec<NewLine> {
    let mut rows: Vec<usize> = pairs
        .iter()
        .filter_map(|(key, _)| key.strip_prefix("line.")?.split('.').next()?.parse().ok())
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows.into_iter()
        .take(invoices::MOST_LINES + 1)
        .map(|row| {
            let get = |part: &str| field(pairs, &format!("line.{row}.{part}")).to_owned();
            NewLine {
                description: get("description"),
                quantity: get("quantity"),
                unit_price: get("unit_price"),
                tax_rate: get("tax_rate"),
                discount: Some(get("discount")),
            }
        })
        .filter(|line| {
            !(line.description.trim().is_empty()
                && line.quantity.trim().is_empty()
                && line.unit_price.trim().is_empty())
        })
        .collect()
}

/// What an editor shows: the typed form, else the draft, else a new draft's defaults.
pub(crate) struct EditorValues {
    pub(crate) company: String,
    pub(crate) project: String,
    pub(crate) currency: String,
    issued_on: String,
    due_on: String,
    pub(crate) notes: String,
    pub(crate) terms: String,
    pub(crate) lines: Vec<NewLine>,
}

impl EditorValues {
    pub(crate) fn typed(pairs: &Pairs) -> Self {
        EditorValues {
            company: field(pairs, "company").to_owned(),
            project: field(pairs, "project").to_owned(),
            currency: field(pairs, "currency").to_owned(),
            issued_on: field(pairs, "issued_on").to_owned(),
            due_on: field(pairs, "due_on").to_owned(),
            notes: field(pairs, "notes").to_owned(),
            terms: field(pairs, "terms").to_owned(),
            lines: typed_lines(pairs),
        }
    }

    fn of(invoice: &Invoice) -> Self {
        EditorValues {
            company: invoice.company_id.clone(),
            project: invoice.project_id.clone().unwrap_or_default(),
            currency: invoice.currency.code().to_owned(),
            issued_on: invoice.issued_on.to_string(),
            due_on: invoice.due_on.to_string(),
            notes: invoice.notes.clone(),
            terms: invoice.terms.clone(),
            lines: invoice.lines.iter().map(NewLine::from).collect(),
        }
    }
}

fn line_row(index: usize, line: Option<&NewLine>) -> Markup {
    let value = |get: fn(&NewLine) -> &str| line.map(get).unwrap_or_default().to_owned();
    let discount = line.and_then(|l| l.discount.clone()).unwrap_or_default();
    let name = |part: &str| format!("line.{index}.{part}");
    let place = index + 1;
    html! {
        tr {
            td { input type="text" name=(name("description")) value=(value(|l| &l.description)) aria-label={ "Line " (place) ": description" } maxlength="500"; }
            td { input type="text" inputmode="decimal" name=(name("quantity")) value=(value(|l| &l.quantity)) aria-label={ "Line " (place) ": quantity" } size="6"; }
            td { input type="text" inputmode="decimal" name=(name("unit_price")) value=(value(|l| &l.unit_price)) aria-label={ "Line " (place) ": unit price" } size="8"; }
            td { input type="text" inputmode="decimal" name=(name("tax_rate")) value=(value(|l| &l.tax_rate)) aria-label={ "Line " (place) ": tax rate in percent" } size="5"; }
            td { input type="text" inputmode="decimal" name=(name("discount")) value=(discount) aria-label={ "Line " (place) ": discount in percent" } size="5"; }
            td.net data-net="" {}
        }
    }
}

/// What an editor shows besides the values: where it is sent, what can be picked, the
/// fields of its dates (an invoice's issue and due dates, a schedule's frequency and
/// dates) and the words of its button.
pub(crate) struct EditorForm<'a> {
    pub(crate) action: &'a str,
    pub(crate) choices: &'a Choices,
    pub(crate) values: &'a EditorValues,
    /// How many line rows it shows (at least the typed lines, at least one).
    pub(crate) rows: usize,
    pub(crate) failed: Option<&'a Failed>,
    /// The form's name in field errors (`draft`, `schedule`).
    pub(crate) form: &'static str,
    pub(crate) dates: Markup,
    pub(crate) save: &'static str,
}

/// What an invoice editor offers to pick: the client companies, their projects, and the
/// currencies with their decimals (for the live totals).
pub(crate) struct Choices {
    companies: Vec<Company>,
    projects: Vec<Project>,
    /// The brand's currency, for companies without their own.
    currency: String,
}

impl Choices {
    /// The companies and projects `principal` may invoice and reaches.
    pub(crate) async fn of(viewer: &Viewer, principal: &Principal) -> Choices {
        let store = viewer.tenant.store();
        let companies = company_choices(viewer, principal).await;
        let filter = ProjectFilter {
            status: Some(ProjectStatus::Active),
            ..ProjectFilter::default()
        };
        let projects = if companies.is_empty() {
            Vec::new()
        } else {
            projects::list_projects(store, principal, &filter, None, 200)
                .await
                .map(|page| page.items)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.company_id.is_some())
                .collect()
        };
        let currency = invoicing::default_currency(store)
            .await
            .unwrap_or_else(|_| "EUR".to_owned());
        Choices {
            companies,
            projects,
            currency,
        }
    }
}

/// Every known currency and its decimals, `EUR:2,JPY:0,…`, for the editor's script.
fn currency_table() -> String {
    Currency::known()
        .map(|c| format!("{}:{}", c.code(), c.minor_units()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The draft editor (also the recurring invoice editor): company, project, currency,
/// dates, lines, notes and terms. Without JavaScript totals are worked out on saving;
/// with it (`/assets/invoice.js`) they follow the typing, by the server's rule.
pub(crate) fn editor(viewer: &Viewer, form: &EditorForm<'_>) -> Markup {
    let error = |name: &str| Failed::error(form.failed, form.form, name);
    let values = form.values;
    let lines_error = error("lines");
    let rows = form.rows.max(values.lines.len()).max(1);
    let company_currency = |company: &Company| {
        company
            .currency
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| form.choices.currency.clone())
    };
    html! {
        form.card.invoice-editor method="post" action=(form.action) novalidate
            data-currencies=(currency_table()) data-currency=(form.choices.currency) {
            (csrf_field(&viewer.token))
            label for="f-company" { "Client company" }
            select id="f-company" name="company" required aria-invalid=[error("company").map(|_| "true")] {
                option value="" { "Choose…" }
                @for company in &form.choices.companies {
                    option value=(company.id) data-currency=(company_currency(company)) selected[company.id == values.company] { (company.name) }
                }
            }
            @if let Some(text) = error("company") { p.field-error role="alert" { (text) } }
            label for="f-project" { "Project (optional)" }
            select id="f-project" name="project" aria-invalid=[error("project").map(|_| "true")] {
                option value="" { "None" }
                @for project in &form.choices.projects {
                    option value=(project.id) data-company=[project.company_id.as_deref()] selected[project.id == values.project] {
                        (project.name) " (" (project.company_name.as_deref().unwrap_or_default()) ")"
                    }
                }
            }
            @if let Some(text) = error("project") { p.field-error role="alert" { (text) } }
            div.row {
                div { (Field::new("currency", "Currency").value(&values.currency).maxlength(3)
                    .error(error("currency").as_deref())
                    .hint("Empty for the company's currency, else the brand's.")) }
                (form.dates)
            }
            h2 { "Lines" }
            p.hint { "Prices without tax; tax rate and discount in percent. Each line's net is rounded to the cent, the tax once per rate." }
            @if let Some(text) = &lines_error { p.field-error role="alert" { (text) } }
            table {
                thead { tr {
                    th scope="col" { "Description" } th scope="col" { "Quantity" } th scope="col" { "Unit price" }
                    th scope="col" { "Tax %" } th scope="col" { "Discount %" } th scope="col" { "Net" }
                } }
                tbody {
                    @for index in 0..rows { (line_row(index, values.lines.get(index))) }
                }
            }
            div.actions { button.secondary type="submit" name="action" value="add_line" { "Add a line" } }
            div id="live-totals" aria-live="polite" hidden {}
            noscript { p.hint { "Totals are worked out when the draft is saved." } }
            label for="f-notes" { "Notes to the client" }
            textarea id="f-notes" name="notes" rows="2" { (values.notes) }
            label for="f-terms" { "Payment terms" }
            textarea id="f-terms" name="terms" rows="2" { (values.terms) }
            div.actions { button type="submit" name="action" value="save" { (form.save) } }
        }
        script src="/assets/invoice.js" defer {}
    }
}

/// Which draft an editor is for.
#[derive(Clone, Copy)]
enum Editing<'a> {
    New,
    Draft(&'a str),
}

impl Editing<'_> {
    fn title(self) -> &'static str {
        match self {
            Editing::New => "New invoice",
            Editing::Draft(_) => "Edit draft invoice",
        }
    }

    fn action(self) -> String {
        match self {
            Editing::New => "/invoices".to_owned(),
            Editing::Draft(id) => format!("/invoices/{id}/edit"),
        }
    }
}

async fn render_editor(
    viewer: &Viewer,
    principal: &Principal,
    editing: Editing<'_>,
    values: &EditorValues,
    rows: usize,
    failed: Option<(&Failed, &str)>,
    status: StatusCode,
) -> Response {
    let choices = Choices::of(viewer, principal).await;
    let (title, action) = (editing.title(), editing.action());
    let failed_form = failed.map(|(f, _)| f);
    let error = |name: &str| Failed::error(failed_form, "draft", name);
    let dates = html! {
        div { (Field::new("issued_on", "Issue date").kind("date").value(&values.issued_on)
            .error(error("issued_on").as_deref())
            .hint("Sending makes it the sending day.")) }
        div { (Field::new("due_on", "Due date").kind("date").value(&values.due_on)
            .error(error("due_on").as_deref())) }
    };
    let form = EditorForm {
        action: &action,
        choices: &choices,
        values,
        rows,
        failed: failed_form,
        form: "draft",
        dates,
        save: "Save draft",
    };
    let body = html! {
        p { a href="/invoices" { "← Invoices" } }
        h1 { (title) }
        @if let Some((_, text)) = failed { (notice(text, true)) }
        (editor(viewer, &form))
    };
    viewer.page_with_status(status, title, Section::Invoices, body)
}

/// `GET /invoices/new`.
pub(crate) async fn new_draft(viewer: Viewer) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesCreate>()?;
    let values = EditorValues {
        company: String::new(),
        project: String::new(),
        currency: String::new(),
        issued_on: String::new(),
        due_on: String::new(),
        notes: String::new(),
        terms: String::new(),
        lines: Vec::new(),
    };
    Ok(render_editor(
        &viewer,
        permit.principal(),
        Editing::New,
        &values,
        FIRST_ROWS,
        None,
        StatusCode::OK,
    )
    .await)
}

pub(crate) fn blank_as_none(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `POST /invoices`: saves a new draft, or shows the editor with one more row.
pub(crate) async fn create(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesCreate>(&headers, form)?;
    let values = EditorValues::typed(&pairs);
    if field(&pairs, "action") == "add_line" {
        return Ok(render_editor(
            &viewer,
            permit.principal(),
            Editing::New,
            &values,
            values.lines.len() + 1,
            None,
            StatusCode::OK,
        )
        .await);
    }
    let new = NewInvoice {
        company: values.company.clone(),
        project: blank_as_none(&values.project),
        currency: blank_as_none(&values.currency),
        issued_on: blank_as_none(&values.issued_on),
        due_on: blank_as_none(&values.due_on),
        notes: Some(values.notes.clone()),
        terms: Some(values.terms.clone()).filter(|t| !t.trim().is_empty()),
        lines: values.lines.clone(),
    };
    Ok(
        match invoices::create_invoice(viewer.tenant.store(), &permit, &new).await {
            Ok(invoice) => {
                Redirect::to(&format!("/invoices/{}?done=saved", invoice.id)).into_response()
            }
            Err(error) => {
                let status = status_of(&error);
                let (failed, text) = Failed::new("draft", pairs, error);
                render_editor(
                    &viewer,
                    permit.principal(),
                    Editing::New,
                    &values,
                    values.lines.len(),
                    Some((&failed, &text)),
                    status,
                )
                .await
            }
        },
    )
}

/// `GET /invoices/{id}/edit`: a draft's editor.
pub(crate) async fn edit_draft(
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesCreate>()?;
    let invoice = invoices::get_invoice(viewer.tenant.store(), permit.principal(), &id)
        .await
        .map_err(|e| viewer.refusal("Invoice", Section::Invoices, e))?;
    if invoice.status != Status::Draft {
        return Ok(Redirect::to(&format!("/invoices/{id}")).into_response());
    }
    let values = EditorValues::of(&invoice);
    Ok(render_editor(
        &viewer,
        permit.principal(),
        Editing::Draft(&id),
        &values,
        values.lines.len(),
        None,
        StatusCode::OK,
    )
    .await)
}

/// `POST /invoices/{id}/edit`: saves the draft, or shows it with one more row.
pub(crate) async fn save_draft(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesCreate>(&headers, form)?;
    let values = EditorValues::typed(&pairs);
    if field(&pairs, "action") == "add_line" {
        return Ok(render_editor(
            &viewer,
            permit.principal(),
            Editing::Draft(&id),
            &values,
            values.lines.len() + 1,
            None,
            StatusCode::OK,
        )
        .await);
    }
    let change = InvoiceChange {
        company: Some(values.company.clone()),
        project: Some(blank_as_none(&values.project)),
        currency: blank_as_none(&values.currency),
        issued_on: blank_as_none(&values.issued_on),
        due_on: blank_as_none(&values.due_on),
        notes: Some(values.notes.clone()),
        terms: Some(values.terms.clone()),
        lines: Some(values.lines.clone()),
    };
    Ok(
        match invoices::update_invoice(viewer.tenant.store(), &permit, &id, &change).await {
            Ok(invoice) => {
                Redirect::to(&format!("/invoices/{}?done=saved", invoice.id)).into_response()
            }
            Err(error) => {
                let status = status_of(&error);
                let (failed, text) = Failed::new("draft", pairs, error);
                render_editor(
                    &viewer,
                    permit.principal(),
                    Editing::Draft(&id),
                    &values,
                    values.lines.len(),
                    Some((&failed, &text)),
                    status,
                )
                .await
            }
        },
    )
}

fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => "The draft was saved.",
        "sent" => "The invoice was sent with its number.",
        "paid" => "The payment was recorded.",
        "cancelled" => "The invoice was cancelled; its credit note is below.",
        _ => return None,
    })
}

fn party(title: &str, name: &str, lines: &str, extra: &[(&str, &str)]) -> Markup {
    html! {
        div {
            h2 { (title) }
            p { strong { (name) } }
            @for line in lines.lines() { (line) br; }
            @for (label, value) in extra {
                @if !value.is_empty() { p { (label) ": " (value) } }
            }
        }
    }
}

/// The invoice itself as printed: parties, dates, lines, tax per rate, totals.
fn document(viewer: &Viewer, invoice: &Invoice) -> Markup {
    let date = |d| viewer.look.date_format.date(d);
    html! {
        section.card aria-label="The invoice" {
            div.row {
                (party("From", &invoice.seller.name, &invoice.seller.address, &[("Tax id", invoice.seller.tax_id.as_str())]))
                (party("To", &invoice.buyer.name, &invoice.buyer.details, &[("Tax id", invoice.buyer.tax_id.as_str())]))
                div {
                    dl.facts {
                        dt { "Number" } dd { (invoice.number.as_deref().unwrap_or("given when sent")) }
                        dt { "Issued" } dd { (date(invoice.issued_on)) }
                        @if invoice.kind == Kind::Invoice { dt { "Due" } dd { (date(invoice.due_on)) } }
                        dt { "Status" } dd { (status_badge(invoice.status)) }
                        @if let Some(corrects) = &invoice.corrects {
                            dt { "Corrects" } dd { a href={ "/invoices/" (corrects) } { "the cancelled invoice" } }
                        }
                        @if let Some(credit) = &invoice.credited_by {
                            dt { "Credit note" } dd { a href={ "/invoices/" (credit) } { "open it" } }
                        }
                    }
                }
            }
            table {
                thead { tr {
                    th scope="col" { "Description" } th scope="col" { "Quantity" } th scope="col" { "Unit price" }
                    th scope="col" { "Tax" } th.optional scope="col" { "Discount" } th scope="col" { "Net" }
                } }
                tbody {
                    @for line in &invoice.lines {
                        tr {
                            td { (line.description) }
                            td { (line.line.quantity.to_string()) }
                            td { (line.line.unit_price.to_string()) }
                            td { (line.line.tax_rate.to_string()) " %" }
                            td.optional { @if !line.line.discount.is_zero() { (line.line.discount.to_string()) " %" } }
                            td { (amount(invoice, line.net)) }
                        }
                    }
                }
            }
            dl.facts aria-label="Totals" {
                dt { "Net" } dd { (amount(invoice, invoice.net)) }
                @for share in &invoice.taxes {
                    dt { "Tax " (share.rate.to_string()) " % of " (amount(invoice, share.base)) } dd { (amount(invoice, share.tax)) }
                }
                dt { "Total" } dd { strong { (amount(invoice, invoice.total)) } }
                @if invoice.kind == Kind::Invoice && invoice.status != Status::Draft {
                    dt { "Paid" } dd { (amount(invoice, invoice.paid)) }
                    dt { "Left to pay" } dd { strong { (amount(invoice, invoice.balance())) } }
                }
            }
            @if !invoice.notes.is_empty() { p { (invoice.notes) } }
            @if !invoice.terms.is_empty() { p.hint { (invoice.terms) } }
            @if invoice.kind == Kind::Invoice && !invoice.seller.bank_details.is_empty() && invoice.status != Status::Draft {
                p.hint { "Pay to: " @for line in invoice.seller.bank_details.lines() { (line) " " } }
            }
        }
    }
}

async fn render_invoice(
    viewer: &Viewer,
    id: &str,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let store = viewer.tenant.store();
    let (invoice, payments) = invoices::get_invoice_with_payments(store, principal, id)
        .await
        .map_err(|e| viewer.refusal("Invoice", Section::Invoices, e))?;
    let history = match permit::<need::InvoicesView>(principal, Scope::Brand) {
        Ok(view) if principal.kind() == UserKind::Staff => invoices::history(store, &view, id)
            .await
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let can_create = permit::<need::InvoicesCreate>(principal, Scope::Brand).is_ok();
    let can_manage = permit::<need::InvoicesManage>(principal, Scope::Brand).is_ok();
    let draft = invoice.status == Status::Draft;
    let e_invoice = !draft && invoicing::e_invoices_on(store).await.unwrap_or(false);
    let open = invoice.kind == Kind::Invoice
        && matches!(
            invoice.status,
            Status::Sent | Status::PartiallyPaid | Status::Overdue
        );
    let cancellable =
        invoice.kind == Kind::Invoice && !draft && invoice.status != Status::Cancelled;
    let payable_online = open
        && invoice.balance() > 0
        && principal.kind() == UserKind::Client
        && permit::<need::InvoicesPay>(principal, Scope::Company(&invoice.company_id)).is_ok();
    let providers = if payable_online {
        online::offered(store).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let project = match &invoice.project_id {
        Some(project) if principal.kind() == UserKind::Staff => {
            projects::get_project(store, principal, project).await.ok()
        }
        _ => None,
    };
    let processing = payments.iter().any(|p| p.status == "processing");
    let typed = Failed::typed(failed, "payment");
    let error = |name: &str| Failed::error(failed, "payment", name);
    let today = tenant_core::store::now().date().to_string();
    let title = title_of(&invoice);
    let body = html! {
        p { a href="/invoices" { "← Invoices" } }
        h1 { (title) " " (status_badge(invoice.status)) }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        @if draft && (can_create || can_manage) {
            div.actions {
                @if can_create { a.button href={ "/invoices/" (invoice.id) "/edit" } { "Edit draft" } }
                @if can_manage {
                    form method="post" action={ "/invoices/" (invoice.id) "/send" } {
                        (csrf_field(&viewer.token))
                        button type="submit" { "Send invoice" }
                    }
                }
                @if can_create {
                    form method="post" action={ "/invoices/" (invoice.id) "/delete" } {
                        (csrf_field(&viewer.token))
                        button.secondary type="submit" { "Remove draft" }
                    }
                }
            }
        }
        p {
            a href={ "/invoices/" (invoice.id) "/pdf" } download { "Download PDF" }
            @if e_invoice {
                " · " a href={ "/api/v1/invoices/" (invoice.id) "/e-invoice" } download { "Download e-invoice (XML)" }
            }
        }
        @if !providers.is_empty() {
            section.card.pay aria-labelledby="pay" {
                h2 id="pay" { "Pay " (amount(&invoice, invoice.balance())) " now" }
                @if processing {
                    p.hint { "A payment of this invoice was started and is not confirmed yet. Starting again replaces it." }
                }
                form method="post" action={ "/invoices/" (invoice.id) "/pay" } {
                    (csrf_field(&viewer.token))
                    div.actions {
                        @for provider in &providers {
                            button type="submit" name="provider" value=(provider.as_str()) { "Pay now with " (provider.label()) }
                        }
                    }
                }
                p.hint { "You pay on " (providers.iter().map(|p| p.label()).collect::<Vec<_>>().join(" or ")) "'s own page; this invoice shows it paid as soon as the payment is confirmed." }
            }
        }
        @if let Some(project) = &project {
            p { "Project: " a href={ "/projects/" (project.id) } { (project.name) } }
        }
        (document(viewer, &invoice))
        @if !draft && invoice.kind == Kind::Invoice {
            section.card aria-labelledby="payments" {
                h2 id="payments" { "Payments" }
                @if payments.is_empty() {
                    p { "No payment yet." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Paid on" } th scope="col" { "Amount" } th scope="col" { "Method" } th.optional scope="col" { "Reference" } th scope="col" { "Status" } } }
                        tbody {
                            @for payment in &payments {
                                tr {
                                    td { (viewer.look.date_format.date(payment.paid_on)) }
                                    td { (amount(&invoice, payment.amount)) }
                                    td { (payment.method.replace('_', " ")) }
                                    td.optional { (payment.reference) }
                                    td { (payment.status) }
                                }
                            }
                        }
                    }
                }
                @if open && can_manage {
                    h3 { "Record a payment" }
                    form method="post" action={ "/invoices/" (invoice.id) "/payments" } novalidate {
                        (csrf_field(&viewer.token))
                        div.row {
                            div { (Field::new("amount", "Amount").inputmode("decimal")
                                .value(typed.map_or(invoice.currency.format(invoice.balance()).as_str(), |t| field(t, "amount")))
                                .error(error("amount").as_deref()).required()) }
                            div { (Field::new("paid_on", "Paid on").kind("date")
                                .value(typed.map_or(today.as_str(), |t| field(t, "paid_on")))
                                .error(error("paid_on").as_deref())) }
                            div {
                                label for="f-method" { "Method" }
                                select id="f-method" name="method" {
                                    @for method in invoices::METHODS {
                                        option value=(method) selected[typed.is_some_and(|t| field(t, "method") == *method)] { (method.replace('_', " ")) }
                                    }
                                }
                                @if let Some(text) = error("method") { p.field-error role="alert" { (text) } }
                            }
                            div { (Field::new("reference", "Reference")
                                .value(typed.map_or("", |t| field(t, "reference")))
                                .error(error("reference").as_deref())) }
                        }
                        div.actions { button type="submit" { "Record payment" } }
                    }
                }
            }
        }
        @if cancellable && can_manage {
            details.card {
                summary { "Cancel with a credit note" }
                form method="post" action={ "/invoices/" (invoice.id) "/cancel" } novalidate {
                    (csrf_field(&viewer.token))
                    (Field::new("reason", "Reason (printed on the credit note)")
                        .value(Failed::typed(failed, "cancel").map_or("", |t| field(t, "reason")))
                        .error(Failed::error(failed, "cancel", "reason").as_deref()).required())
                    p.hint { "A sent invoice is never changed: a credit note with every line negated cancels it. Payments already made stay recorded." }
                    div.actions { button type="submit" { "Cancel invoice" } }
                }
            }
        }
        @if !history.is_empty() {
            section.card aria-labelledby="history" {
                h2 id="history" { "History" }
                ol.activity {
                    @for entry in &history {
                        li { (viewer.look.date_format.moment(entry.at)) " · " (entry.actor_name) ": " (entry.detail) }
                    }
                }
            }
        }
    };
    Ok(viewer.page_with_status(status, &title, Section::Invoices, body))
}

/// The invoice page's query: what was just done, and a return from a payment provider.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InvoiceQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    payment: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    /// PayPal's order id on its way back.
    #[serde(default)]
    token: Option<String>,
}

/// `GET /invoices/{id}`; back from a provider's page, it says what happens next (and
/// captures an approved PayPal order: it is paid on PayPal's webhook).
pub(crate) async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<InvoiceQuery>,
) -> Result<Response, Response> {
    let mut message = done_text(query.done.as_deref()).map(|t| (t.to_owned(), false));
    match query.payment.as_deref() {
        Some("returned") => {
            let mut text = "Thank you. Your payment is being confirmed by the payment provider; this invoice shows it paid as soon as it is.".to_owned();
            let mut failed = false;
            if query.provider.as_deref() == Some("paypal")
                && let Some(order) = query.token.as_deref()
                && let Err(error) =
                    crate::api::finance::payments::capture_paypal(&state, &viewer.tenant, order)
                        .await
            {
                text = error.page_message();
                failed = true;
            }
            message = Some((text, failed));
        }
        Some("cancelled") => {
            message = Some((
                "The payment was cancelled; nothing was charged.".to_owned(),
                false,
            ));
        }
        _ => {}
    }
    render_invoice(&viewer, &id, message, None, StatusCode::OK).await
}

/// `POST /invoices/{id}/pay`: starts an online payment and sends the client to the
/// provider's page.
pub(crate) async fn pay(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (principal, pairs) = viewer.signed_in_form(&headers, form)?;
    let provider = field(&pairs, "provider");
    let started = crate::api::finance::payments::start(
        &state,
        &viewer.tenant,
        principal,
        &viewer.connection.base,
        &id,
        (!provider.is_empty()).then_some(provider),
    )
    .await;
    match started {
        // A page that moves on by itself, not a redirect: the page's form-action policy
        // keeps forms to this site, and browsers apply it to a form's redirects too.
        Ok(started) => {
            let label = started.provider.label();
            let body = html! {
                meta http-equiv="refresh" content={ "0;url=" (started.url) };
                h1 { "Taking you to " (label) "…" }
                p { "You pay " (started.currency.format(started.payment.amount)) " " (started.currency.code()) " on " (label) "'s own page, then come back here." }
                p { a.button href=(started.url) { "Continue to " (label) } }
            };
            Ok(viewer.page(&format!("Pay with {label}"), Section::Invoices, body))
        }
        Err(crate::http::error::ApiError::Core(error)) => {
            failed_action(&viewer, &id, "pay", pairs, error).await
        }
        Err(error) => {
            let status = StatusCode::BAD_GATEWAY;
            render_invoice(
                &viewer,
                &id,
                Some((error.page_message(), true)),
                None,
                status,
            )
            .await
        }
    }
}

/// `GET /invoices/{id}/pdf`: the download.
pub(crate) async fn pdf(viewer: Viewer, Path(id): Path<String>) -> Result<Response, Response> {
    let principal = viewer.require()?;
    let invoice = invoices::get_invoice(viewer.tenant.store(), principal, &id)
        .await
        .map_err(|e| viewer.refusal("Invoice", Section::Invoices, e))?;
    crate::api::finance::pdf::pdf_response(&invoice, &viewer.look)
        .await
        .map_err(IntoResponse::into_response)
}

/// A failed action on the invoice page: the page again with the sentence, or the form's
/// field error in place.
async fn failed_action(
    viewer: &Viewer,
    id: &str,
    target: &str,
    pairs: Pairs,
    error: tenant_core::Error,
) -> Result<Response, Response> {
    let status = status_of(&error);
    let (failed, text) = Failed::new(target, pairs, error);
    render_invoice(viewer, id, Some((text, true)), Some(&failed), status).await
}

/// `POST /invoices/{id}/send`.
pub(crate) async fn send(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    match invoices::send_invoice(viewer.tenant.store(), &permit, &id).await {
        Ok(_) => Ok(Redirect::to(&format!("/invoices/{id}?done=sent")).into_response()),
        Err(error) => failed_action(&viewer, &id, "send", pairs, error).await,
    }
}

/// `POST /invoices/{id}/delete`: removes a draft.
pub(crate) async fn delete(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesCreate>(&headers, form)?;
    match invoices::delete_invoice(viewer.tenant.store(), &permit, &id).await {
        Ok(()) => Ok(Redirect::to("/invoices?done=deleted").into_response()),
        Err(error) => failed_action(&viewer, &id, "delete", pairs, error).await,
    }
}

/// `POST /invoices/{id}/cancel`.
pub(crate) async fn cancel(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    let reason = field(&pairs, "reason").to_owned();
    match invoices::cancel_invoice(viewer.tenant.store(), &permit, &id, &reason).await {
        Ok((_, credit)) => {
            Ok(Redirect::to(&format!("/invoices/{}?done=cancelled", credit.id)).into_response())
        }
        Err(error) => failed_action(&viewer, &id, "cancel", pairs, error).await,
    }
}

/// `POST /invoices/{id}/payments`: records a payment by hand.
pub(crate) async fn record_payment(
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    let new = NewPayment {
        amount: field(&pairs, "amount").to_owned(),
        paid_on: blank_as_none(field(&pairs, "paid_on")),
        method: field(&pairs, "method").to_owned(),
        reference: blank_as_none(field(&pairs, "reference")),
    };
    match invoices::record_payment(viewer.tenant.store(), &permit, &id, &new).await {
        Ok(_) => Ok(Redirect::to(&format!("/invoices/{id}?done=paid")).into_response()),
        Err(error) => failed_action(&viewer, &id, "payment", pairs, error).await,
    }
}

const SETTING_FIELDS: &[(&str, &str, &str)] = &[
    (
        "legal_name",
        "Legal name",
        "As registered; printed as the seller.",
    ),
    ("tax_id", "VAT or tax id", ""),
    (
        "country",
        "Country",
        "Two letters (ISO 3166-1), such as DE: needed for e-invoices.",
    ),
    (
        "number_pattern",
        "Invoice number pattern",
        "Text with {YYYY}, {YY}, {MM} and one {seq} or {seq:N} (at least N digits).",
    ),
    (
        "next_invoice_number",
        "Next invoice number",
        "The running number the next invoice sent this period gets; it never goes back to one given.",
    ),
    ("credit_note_pattern", "Credit note number pattern", ""),
    ("next_credit_note_number", "Next credit note number", ""),
    (
        "currency",
        "Default currency",
        "For companies without their own (ISO 4217: EUR, USD, GBP…).",
    ),
    (
        "payment_days",
        "Payment days",
        "Days from issue to due date.",
    ),
    (
        "reminder_days",
        "Reminder days",
        "Up to three, relative to the due date, separated by commas: -3, 7, 14.",
    ),
];

/// The settings form's values: what was typed, else what is stored.
fn setting_values(view: &invoicing::InvoicingView) -> Pairs {
    let s = &view.settings;
    [
        ("legal_name", s.legal_name.clone()),
        ("address", s.address.clone()),
        ("tax_id", s.tax_id.clone()),
        ("bank_details", s.bank_details.clone()),
        ("country", s.country.clone()),
        ("number_pattern", s.number_pattern.clone()),
        ("next_invoice_number", view.next_invoice_number.to_string()),
        ("credit_note_pattern", s.credit_note_pattern.clone()),
        (
            "next_credit_note_number",
            view.next_credit_note_number.to_string(),
        ),
        ("currency", s.currency.clone()),
        ("payment_days", s.payment_days.to_string()),
        ("terms", s.terms.clone()),
        (
            "reminder_days",
            s.reminder_days
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn render_settings(
    viewer: &Viewer,
    permit: &tenant_core::access::Permitted<'_, need::InvoicesManage>,
    message: Option<(String, bool)>,
    failed: Option<&Failed>,
    status: StatusCode,
) -> Response {
    let stored = match invoicing::invoicing(viewer.tenant.store(), permit).await {
        Ok(view) => view,
        Err(error) => return viewer.refusal("Invoicing", Section::Settings, error),
    };
    let values = Failed::typed(failed, "settings")
        .cloned()
        .unwrap_or_else(|| setting_values(&stored));
    let error = |name: &str| Failed::error(failed, "settings", name);
    let body = html! {
        p { a href="/invoices" { "← Invoices" } }
        h1 { "Invoicing settings" }
        @if let Some((text, error)) = &message { (notice(text, *error)) }
        form.card method="post" action="/settings/invoicing" novalidate {
            (csrf_field(&viewer.token))
            p.hint { "Printed on every invoice sent from now on; invoices sent before keep what they were sent with." }
            @for (name, label, hint) in SETTING_FIELDS {
                @let problem = error(name);
                @let input = Field::new(name, label).value(field(&values, name)).error(problem.as_deref());
                @if hint.is_empty() { (input) } @else { (input.hint(hint)) }
            }
            label for="f-address" { "Address" }
            textarea id="f-address" name="address" rows="3" aria-invalid=[error("address").map(|_| "true")] { (field(&values, "address")) }
            @if let Some(text) = error("address") { p.field-error role="alert" { (text) } }
            label for="f-bank_details" { "Bank details" }
            textarea id="f-bank_details" name="bank_details" rows="3" { (field(&values, "bank_details")) }
            @if let Some(text) = error("bank_details") { p.field-error role="alert" { (text) } }
            label for="f-terms" { "Default payment terms" }
            textarea id="f-terms" name="terms" rows="2" { (field(&values, "terms")) }
            input type="hidden" name="e_invoice_shown" value="1";
            label.check { input type="checkbox" name="e_invoice" value="on" checked[stored.settings.e_invoice]; " Offer an EN 16931 e-invoice (XRechnung / ZUGFeRD CII) with every invoice" }
            div.actions { button type="submit" { "Save invoicing settings" } }
        }
    };
    viewer.page_with_status(status, "Invoicing settings", Section::Settings, body)
}

/// `GET /settings/invoicing`.
pub(crate) async fn settings(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::InvoicesManage>()?;
    let message = (query.done.as_deref() == Some("saved"))
        .then(|| ("The invoicing settings were saved.".to_owned(), false));
    Ok(render_settings(&viewer, &permit, message, None, StatusCode::OK).await)
}

/// A whole number typed in `name`; blank keeps the stored value.
fn typed_number<T: std::str::FromStr>(
    pairs: &Pairs,
    name: &'static str,
) -> Result<Option<T>, tenant_core::Error> {
    let text = field(pairs, name).trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| tenant_core::Error::field(name, format!("'{text}' is not a whole number")))
}

fn change_of(pairs: &Pairs) -> Result<InvoicingChange, tenant_core::Error> {
    // A field the form did not send keeps its value.
    let text = |name: &str| sent(pairs, name);
    let reminder_days = sent(pairs, "reminder_days")
        .map(|days| {
            days.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| {
                    d.parse::<i32>().map_err(|_| {
                        tenant_core::Error::field(
                            "reminder_days",
                            format!("'{d}' is not a number of days"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(InvoicingChange {
        legal_name: text("legal_name"),
        address: text("address"),
        tax_id: text("tax_id"),
        bank_details: text("bank_details"),
        country: text("country"),
        number_pattern: text("number_pattern"),
        credit_note_pattern: text("credit_note_pattern"),
        next_invoice_number: typed_number(pairs, "next_invoice_number")?,
        next_credit_note_number: typed_number(pairs, "next_credit_note_number")?,
        currency: text("currency"),
        payment_days: typed_number(pairs, "payment_days")?,
        terms: text("terms"),
        reminder_days,
        // A check box sends nothing when off: the form says it was there.
        e_invoice: sent(pairs, "e_invoice_shown").map(|_| field(pairs, "e_invoice") == "on"),
    })
}

/// `POST /settings/invoicing`.
pub(crate) async fn save_settings(
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, Response> {
    let (permit, pairs) = viewer.submitted::<need::InvoicesManage>(&headers, form)?;
    let saved = match change_of(&pairs) {
        Ok(change) => invoicing::set_invoicing(viewer.tenant.store(), &permit, &change).await,
        Err(error) => Err(error),
    };
    Ok(match saved {
        Ok(_) => Redirect::to("/settings/invoicing?done=saved").into_response(),
        Err(error) => {
            let status = status_of(&error);
            let (failed, text) = Failed::new("settings", pairs, error);
            render_settings(&viewer, &permit, Some((text, true)), Some(&failed), status).await
        }
    })
}

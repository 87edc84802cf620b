//! An invoice as its PDF (`GET /api/v1/invoices/{id}/pdf` and the page's download): the
//! words and amounts of [`tenant_core::finance::invoices::Invoice`] in the brand's name,
//! colour and date format, made by the `documents` crate off the request's thread.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tenant_core::brand::branding::Look;
use tenant_core::finance::invoices::{Invoice, Status};
use tenant_core::finance::invoicing::Kind;

use crate::api::work::files::content_disposition;
use crate::http::error::ApiError;

/// What the PDF prints.
pub(crate) fn printed(invoice: &Invoice, look: &Look) -> documents::Invoice {
    let money = |minor: i64| {
        format!(
            "{} {}",
            invoice.currency.format(minor),
            invoice.currency.code()
        )
    };
    let date = |d| look.date_format.date(d);
    let draft = invoice.status == Status::Draft;
    let title = match (invoice.kind, draft) {
        (Kind::CreditNote, _) => "Credit note",
        (Kind::Invoice, true) => "Draft invoice",
        (Kind::Invoice, false) => "Invoice",
    };
    let mut facts = vec![
        (
            "Number".to_owned(),
            invoice
                .number
                .clone()
                .unwrap_or_else(|| "not yet given".to_owned()),
        ),
        ("Issue date".to_owned(), date(invoice.issued_on)),
    ];
    if invoice.kind == Kind::Invoice {
        facts.push(("Due date".to_owned(), date(invoice.due_on)));
    }
    facts.push(("Currency".to_owned(), invoice.currency.code().to_owned()));
    if invoice.status == Status::Cancelled {
        facts.push(("Status".to_owned(), "cancelled".to_owned()));
    }
    let mut totals = vec![("Net".to_owned(), money(invoice.net), false)];
    for share in &invoice.taxes {
        totals.push((
            format!("Tax {} % on {}", share.rate, money(share.base)),
            money(share.tax),
            false,
        ));
    }
    totals.push(("Total".to_owned(), money(invoice.total), true));
    if invoice.kind == Kind::Invoice && !draft && invoice.paid > 0 {
        totals.push(("Paid".to_owned(), money(invoice.paid), false));
        totals.push(("Left to pay".to_owned(), money(invoice.balance()), true));
    }
    let mut paragraphs = Vec::new();
    if !invoice.notes.is_empty() {
        paragraphs.push(invoice.notes.clone());
    }
    if !invoice.terms.is_empty() {
        paragraphs.push(invoice.terms.clone());
    }
    if invoice.kind == Kind::Invoice && !invoice.seller.bank_details.is_empty() {
        paragraphs.push(format!(
            "Please pay {} by {} to: {}",
            money(invoice.balance().max(0)),
            date(invoice.due_on),
            invoice.seller.bank_details.replace('\n', ", ")
        ));
    }
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    documents::Invoice {
        title: title.to_owned(),
        number: invoice.number.clone().unwrap_or_default(),
        brand: look.name.clone(),
        colour: look.primary.clone(),
        seller: documents::Party {
            name: invoice.seller.name.clone(),
            lines: lines(&invoice.seller.address),
            tax_id: invoice.seller.tax_id.clone(),
        },
        buyer: documents::Party {
            name: invoice.buyer.name.clone(),
            lines: lines(&invoice.buyer.details),
            tax_id: invoice.buyer.tax_id.clone(),
        },
        facts,
        rows: invoice
            .lines
            .iter()
            .map(|line| documents::Row {
                description: line.description.clone(),
                quantity: line.line.quantity.to_string(),
                unit_price: line.line.unit_price.to_string(),
                tax_rate: format!("{} %", line.line.tax_rate),
                discount: if line.line.discount.is_zero() {
                    String::new()
                } else {
                    format!("{} %", line.line.discount)
                },
                net: money(line.net),
            })
            .collect(),
        totals,
        paragraphs,
    }
}

/// The file name of an invoice's document: `invoice-2026-0001.pdf`.
pub(crate) fn file_name(invoice: &Invoice, extension: &str) -> String {
    let kind = match invoice.kind {
        Kind::Invoice => "invoice",
        Kind::CreditNote => "credit-note",
    };
    let number: String = invoice
        .number
        .as_deref()
        .unwrap_or("draft")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{kind}-{number}.{extension}")
}

/// The PDF of `invoice` in the brand's look, made on a blocking thread.
async fn pdf_bytes(invoice: &Invoice, look: &Look) -> Result<Vec<u8>, &'static str> {
    let printed = printed(invoice, look);
    tokio::task::spawn_blocking(move || documents::invoice_pdf(&printed))
        .await
        .map_err(|_| "the PDF task ended early")?
        .map_err(|error| {
            tracing::error!(%error, "an invoice PDF could not be made");
            "an invoice PDF could not be made"
        })
}

/// The PDF answer of `invoice`, made on a blocking thread.
pub(crate) async fn pdf_response(invoice: &Invoice, look: &Look) -> Result<Response, ApiError> {
    let bytes = pdf_bytes(invoice, look).await.map_err(ApiError::Internal)?;
    Ok(download(bytes, "application/pdf", invoice, "pdf"))
}

/// The PDF of `invoice` as a mail attachment: its file name (`invoice-2026-0001.pdf`) and
/// bytes.
pub async fn invoice_attachment(
    invoice: &Invoice,
    look: &Look,
) -> Result<(String, Vec<u8>), &'static str> {
    Ok((file_name(invoice, "pdf"), pdf_bytes(invoice, look).await?))
}

/// A document of `invoice` to download: never kept by caches, never sniffed, saved as
/// `invoice-2026-0001.{extension}`.
pub(crate) fn download(
    bytes: Vec<u8>,
    content_type: &'static str,
    invoice: &Invoice,
    extension: &str,
) -> Response {
    saved_as(bytes, content_type, &file_name(invoice, extension))
}

/// A document to download under `name`: never kept by caches, never sniffed.
pub(crate) fn saved_as(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(false, name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

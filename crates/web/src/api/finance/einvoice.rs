//! An invoice as its structured e-invoice (`GET /api/v1/invoices/{id}/e-invoice`): EN 16931
//! CII XML made by `documents::cii` from the sent invoice, for brands that turned e-invoices
//! on in their invoicing settings. Credit notes carry positive amounts under type 381, as
//! the standard reads them. A company without its own country is taken to be in the
//! seller's.

use axum::response::Response;
use tenant_core::finance::invoices::{Invoice, Status};
use tenant_core::finance::invoicing::Kind;
use tenant_core::finance::money::Line;

fn yyyymmdd(date: time::Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The IBAN in bank details written by hand ("IBAN DE02 1203 0000 0000 2020 51"), if one
/// is there: two letters, two digits and 11 to 30 letters or digits, spaces ignored.
pub(crate) fn iban_in(bank_details: &str) -> Option<String> {
    bank_details.lines().find_map(|line| {
        let upper = line.to_ascii_uppercase();
        let rest = upper
            .find("IBAN")
            .map_or(upper.as_str(), |at| &upper[at + 4..]);
        let compact: String = rest
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        let bytes = compact.as_bytes();
        let looks = bytes.len() >= 15
            && bytes.len() <= 34
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..4].iter().all(u8::is_ascii_digit)
            && bytes[4..].iter().all(u8::is_ascii_alphanumeric);
        looks.then_some(compact)
    })
}

/// What the e-invoice says, or why there is none.
pub(crate) fn e_invoice_of(
    invoice: &Invoice,
    corrected: Option<&Invoice>,
) -> Result<documents::cii::EInvoice, tenant_core::Error> {
    if invoice.status == Status::Draft {
        return Err(tenant_core::Error::Conflict(
            "a draft has no e-invoice: it is made when the invoice is sent".to_owned(),
        ));
    }
    if invoice.seller.country.is_empty() {
        return Err(tenant_core::Error::Conflict(
            "the invoice was sent before the seller's country was set: an e-invoice names it"
                .to_owned(),
        ));
    }
    let credit = invoice.kind == Kind::CreditNote;
    // A credit note's amounts are positive in the e-invoice: its type says it credits.
    let sign = if credit { -1 } else { 1 };
    let money = |minor: i64| invoice.currency.format(minor * sign);
    let mut lines = Vec::with_capacity(invoice.lines.len());
    for line in &invoice.lines {
        let quantity = if credit {
            -line.line.quantity
        } else {
            line.line.quantity
        };
        let allowance = if line.line.discount.is_zero() {
            None
        } else {
            let gross = Line {
                discount: Default::default(),
                ..line.line.clone()
            }
            .net(invoice.currency)?;
            Some(money(gross - line.net))
        };
        lines.push(documents::cii::ELine {
            name: line.description.clone(),
            quantity: quantity.to_string(),
            price: line.line.unit_price.to_string(),
            allowance,
            net: money(line.net),
            rate: line.line.tax_rate.to_string(),
        });
    }
    let party = |name: &str, address: &str, country: &str, vat_id: &str| documents::cii::EParty {
        name: name.to_owned(),
        address: address.lines().map(str::to_owned).collect(),
        country: country.to_owned(),
        vat_id: vat_id.to_owned(),
    };
    let buyer_country = if invoice.buyer.country.is_empty() {
        &invoice.seller.country
    } else {
        &invoice.buyer.country
    };
    let (prepaid, due) = if credit {
        (0, 0)
    } else {
        (invoice.paid, invoice.balance())
    };
    Ok(documents::cii::EInvoice {
        number: invoice.number.clone().unwrap_or_default(),
        credit_note: credit,
        issued_on: yyyymmdd(invoice.issued_on),
        due_on: (!credit).then(|| yyyymmdd(invoice.due_on)),
        currency: invoice.currency.code().to_owned(),
        notes: vec![invoice.notes.clone()],
        seller: party(
            &invoice.seller.name,
            &invoice.seller.address,
            &invoice.seller.country,
            &invoice.seller.tax_id,
        ),
        buyer: party(
            &invoice.buyer.name,
            &invoice.buyer.details,
            buyer_country,
            &invoice.buyer.tax_id,
        ),
        lines,
        taxes: invoice
            .taxes
            .iter()
            .map(|t| documents::cii::ETax {
                rate: t.rate.to_string(),
                basis: money(t.base),
                amount: money(t.tax),
            })
            .collect(),
        line_total: money(invoice.net),
        tax_total: money(invoice.tax),
        grand_total: money(invoice.total),
        prepaid: invoice.currency.format(prepaid),
        due_payable: invoice.currency.format(due.max(0)),
        terms: Some(invoice.terms.clone()).filter(|t| !t.trim().is_empty()),
        iban: iban_in(&invoice.seller.bank_details),
        corrects: corrected.and_then(|c| {
            c.number
                .clone()
                .map(|number| (number, yyyymmdd(c.issued_on)))
        }),
    })
}

/// The XML answer.
pub(crate) fn xml_response(invoice: &Invoice, e_invoice: &documents::cii::EInvoice) -> Response {
    let xml = documents::cii::invoice_xml(e_invoice);
    super::pdf::download(
        xml.into_bytes(),
        "application/xml; charset=utf-8",
        invoice,
        "xml",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iban_is_found_in_bank_details_as_people_write_them() {
        assert_eq!(
            iban_in("Bank: Sparkasse\nIBAN: DE02 1203 0000 0000 2020 51\nBIC BYLADEM1001")
                .as_deref(),
            Some("DE02120300000000202051")
        );
        assert_eq!(
            iban_in("GB33BUKB20201555555555").as_deref(),
            Some("GB33BUKB20201555555555")
        );
        assert_eq!(iban_in("Pay by cheque"), None);
        assert_eq!(iban_in("IBAN: 1234"), None);
    }
}

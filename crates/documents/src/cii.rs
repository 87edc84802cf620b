//! The structured e-invoice: an invoice or credit note as UN/CEFACT Cross Industry Invoice
//! XML (D16B) in the EN 16931 profile, which Factur-X / ZUGFeRD 2 (profile EN 16931) and
//! the German XRechnung's CII syntax read. Elements come in the order the schema asks;
//! every text is escaped. It is given the words and numbers ([`EInvoice`]), already
//! rounded by the invoice's rule, and computes nothing.

use std::fmt::Write as _;

/// A party of the e-invoice.
#[derive(Debug, Clone, Default)]
pub struct EParty {
    /// Legal name (BT-27 / BT-44).
    pub name: String,
    /// Address lines, at most three are used (BT-35..BT-37 / BT-50..BT-52).
    pub address: Vec<String>,
    /// ISO 3166-1 alpha-2 country code (BT-40 / BT-55).
    pub country: String,
    /// VAT id (BT-31 / BT-48), if known.
    pub vat_id: String,
}

/// A line of the e-invoice.
#[derive(Debug, Clone, Default)]
pub struct ELine {
    /// What was sold (BT-153).
    pub name: String,
    /// How many (BT-129), a decimal.
    pub quantity: String,
    /// The price of one (BT-146), a decimal.
    pub price: String,
    /// The discount taken off the line (BT-136), an amount, when there is one.
    pub allowance: Option<String>,
    /// The line's net (BT-131), an amount.
    pub net: String,
    /// The VAT rate in percent (BT-152).
    pub rate: String,
}

/// The tax of one rate (BG-23).
#[derive(Debug, Clone, Default)]
pub struct ETax {
    /// Rate in percent (BT-119).
    pub rate: String,
    /// Sum of the nets at that rate (BT-116).
    pub basis: String,
    /// The tax (BT-117).
    pub amount: String,
}

/// An invoice or credit note as an e-invoice.
#[derive(Debug, Clone, Default)]
pub struct EInvoice {
    /// The number (BT-1).
    pub number: String,
    /// A credit note (type 381) rather than an invoice (380).
    pub credit_note: bool,
    /// Issue date, `YYYYMMDD` (BT-2).
    pub issued_on: String,
    /// Due date, `YYYYMMDD` (BT-9), for an invoice.
    pub due_on: Option<String>,
    /// ISO 4217 code (BT-5).
    pub currency: String,
    /// Notes (BT-22).
    pub notes: Vec<String>,
    /// Seller (BG-4).
    pub seller: EParty,
    /// Buyer (BG-7).
    pub buyer: EParty,
    /// Lines (BG-25).
    pub lines: Vec<ELine>,
    /// Tax per rate (BG-23).
    pub taxes: Vec<ETax>,
    /// Sum of line nets (BT-106).
    pub line_total: String,
    /// Total tax (BT-110).
    pub tax_total: String,
    /// Total with tax (BT-112).
    pub grand_total: String,
    /// Paid already (BT-113).
    pub prepaid: String,
    /// Left to pay (BT-115).
    pub due_payable: String,
    /// Payment terms (BT-20).
    pub terms: Option<String>,
    /// The seller's IBAN (BT-84), when the bank details name one: payment by transfer.
    pub iban: Option<String>,
    /// For a credit note: the number and date (`YYYYMMDD`) of the invoice it corrects (BG-3).
    pub corrects: Option<(String, String)>,
}

/// `text` with XML's five special characters escaped and control characters left out.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The VAT category of a rate: standard, or zero-rated.
fn category(rate: &str) -> &'static str {
    if rate.trim_start_matches(['0', '.']).is_empty() {
        "Z"
    } else {
        "S"
    }
}

struct Xml(String);

impl Xml {
    fn open(&mut self, name: &str) {
        let _ = write!(self.0, "<{name}>");
    }
    fn close(&mut self, name: &str) {
        let _ = write!(self.0, "</{name}>");
    }
    fn text(&mut self, name: &str, value: &str) {
        let _ = write!(self.0, "<{name}>{}</{name}>", escape(value));
    }
    fn with_attribute(&mut self, name: &str, attribute: &str, value: &str, text: &str) {
        let _ = write!(
            self.0,
            "<{name} {attribute}=\"{}\">{}</{name}>",
            escape(value),
            escape(text)
        );
    }
    fn date(&mut self, name: &str, yyyymmdd: &str) {
        self.open(name);
        self.with_attribute("udt:DateTimeString", "format", "102", yyyymmdd);
        self.close(name);
    }
    fn party(&mut self, name: &str, party: &EParty) {
        self.open(name);
        self.text("ram:Name", &party.name);
        self.open("ram:PostalTradeAddress");
        for (line, element) in party.address.iter().filter(|l| !l.trim().is_empty()).zip([
            "ram:LineOne",
            "ram:LineTwo",
            "ram:LineThree",
        ]) {
            self.text(element, line.trim());
        }
        self.text("ram:CountryID", &party.country);
        self.close("ram:PostalTradeAddress");
        if !party.vat_id.is_empty() {
            self.open("ram:SpecifiedTaxRegistration");
            self.with_attribute("ram:ID", "schemeID", "VA", &party.vat_id);
            self.close("ram:SpecifiedTaxRegistration");
        }
        self.close(name);
    }
    fn tax(&mut self, tax: &ETax) {
        self.open("ram:ApplicableTradeTax");
        self.text("ram:CalculatedAmount", &tax.amount);
        self.text("ram:TypeCode", "VAT");
        self.text("ram:BasisAmount", &tax.basis);
        self.text("ram:CategoryCode", category(&tax.rate));
        self.text("ram:RateApplicablePercent", &tax.rate);
        self.close("ram:ApplicableTradeTax");
    }
}

/// The e-invoice as CII XML (UTF-8).
pub fn invoice_xml(invoice: &EInvoice) -> String {
    let mut x = Xml(String::with_capacity(4096 + invoice.lines.len() * 900));
    x.0.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    x.0.push_str(concat!(
        r#"<rsm:CrossIndustryInvoice"#,
        r#" xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100""#,
        r#" xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100""#,
        r#" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100""#,
        r#" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">"#
    ));
    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.text("ram:ID", "urn:cen.eu:en16931:2017");
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");

    x.open("rsm:ExchangedDocument");
    x.text("ram:ID", &invoice.number);
    x.text(
        "ram:TypeCode",
        if invoice.credit_note { "381" } else { "380" },
    );
    x.date("ram:IssueDateTime", &invoice.issued_on);
    for note in invoice.notes.iter().filter(|n| !n.trim().is_empty()) {
        x.open("ram:IncludedNote");
        x.text("ram:Content", note);
        x.close("ram:IncludedNote");
    }
    x.close("rsm:ExchangedDocument");

    x.open("rsm:SupplyChainTradeTransaction");
    for (index, line) in invoice.lines.iter().enumerate() {
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.text("ram:LineID", &(index + 1).to_string());
        x.close("ram:AssociatedDocumentLineDocument");
        x.open("ram:SpecifiedTradeProduct");
        x.text("ram:Name", &line.name);
        x.close("ram:SpecifiedTradeProduct");
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.text("ram:ChargeAmount", &line.price);
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        x.open("ram:SpecifiedLineTradeDelivery");
        // C62: "one" (a unit without a name), UN/ECE Recommendation 20.
        x.with_attribute("ram:BilledQuantity", "unitCode", "C62", &line.quantity);
        x.close("ram:SpecifiedLineTradeDelivery");
        x.open("ram:SpecifiedLineTradeSettlement");
        x.open("ram:ApplicableTradeTax");
        x.text("ram:TypeCode", "VAT");
        x.text("ram:CategoryCode", category(&line.rate));
        x.text("ram:RateApplicablePercent", &line.rate);
        x.close("ram:ApplicableTradeTax");
        if let Some(allowance) = &line.allowance {
            x.open("ram:SpecifiedTradeAllowanceCharge");
            x.open("ram:ChargeIndicator");
            x.text("udt:Indicator", "false");
            x.close("ram:ChargeIndicator");
            x.text("ram:ActualAmount", allowance);
            x.text("ram:Reason", "Discount");
            x.close("ram:SpecifiedTradeAllowanceCharge");
        }
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.text("ram:LineTotalAmount", &line.net);
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }

    x.open("ram:ApplicableHeaderTradeAgreement");
    x.party("ram:SellerTradeParty", &invoice.seller);
    x.party("ram:BuyerTradeParty", &invoice.buyer);
    x.close("ram:ApplicableHeaderTradeAgreement");
    x.0.push_str("<ram:ApplicableHeaderTradeDelivery/>");

    x.open("ram:ApplicableHeaderTradeSettlement");
    x.text("ram:InvoiceCurrencyCode", &invoice.currency);
    if let Some(iban) = &invoice.iban {
        x.open("ram:SpecifiedTradeSettlementPaymentMeans");
        // 58: SEPA credit transfer (UNTDID 4461).
        x.text("ram:TypeCode", "58");
        x.open("ram:PayeePartyCreditorFinancialAccount");
        x.text("ram:IBANID", iban);
        x.close("ram:PayeePartyCreditorFinancialAccount");
        x.close("ram:SpecifiedTradeSettlementPaymentMeans");
    }
    for tax in &invoice.taxes {
        x.tax(tax);
    }
    if invoice.terms.is_some() || invoice.due_on.is_some() {
        x.open("ram:SpecifiedTradePaymentTerms");
        if let Some(terms) = invoice.terms.as_deref().filter(|t| !t.trim().is_empty()) {
            x.text("ram:Description", terms);
        }
        if let Some(due) = &invoice.due_on {
            x.date("ram:DueDateDateTime", due);
        }
        x.close("ram:SpecifiedTradePaymentTerms");
    }
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.text("ram:LineTotalAmount", &invoice.line_total);
    x.text("ram:TaxBasisTotalAmount", &invoice.line_total);
    x.with_attribute(
        "ram:TaxTotalAmount",
        "currencyID",
        &invoice.currency,
        &invoice.tax_total,
    );
    x.text("ram:GrandTotalAmount", &invoice.grand_total);
    x.text("ram:TotalPrepaidAmount", &invoice.prepaid);
    x.text("ram:DuePayableAmount", &invoice.due_payable);
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let Some((number, date)) = &invoice.corrects {
        x.open("ram:InvoiceReferencedDocument");
        x.text("ram:IssuerAssignedID", number);
        x.open("ram:FormattedIssueDateTime");
        x.with_attribute("qdt:DateTimeString", "format", "102", date);
        x.close("ram:FormattedIssueDateTime");
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    x.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_control_characters_are_left_out() {
        assert_eq!(
            escape("A & B <c> \"d\" 'e'\u{7}"),
            "A &amp; B &lt;c&gt; &quot;d&quot; &apos;e&apos;"
        );
    }

    #[test]
    fn a_zero_rate_is_zero_rated_and_any_other_standard() {
        assert_eq!(category("0"), "Z");
        assert_eq!(category("0.000"), "Z");
        assert_eq!(category("19"), "S");
        assert_eq!(category("7.7"), "S");
    }
}

//! The API of money: invoices, payments and their settings.

pub(crate) mod einvoice;
pub(crate) mod invoices;
pub(crate) mod payments;
pub(crate) mod pdf;
pub(crate) mod recurring;
pub(crate) mod reports;

//! The pages of money: invoices, payments and their settings.

pub(crate) mod invoices;
pub(crate) mod recurring;
pub(crate) mod reports;

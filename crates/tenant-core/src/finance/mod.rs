//! Money matters: exact amounts and totals of invoice lines ([`money`]), invoice numbers
//! made from a brand's pattern ([`numbering`]), the brand's invoicing settings
//! ([`invoicing`]) the invoices themselves ([`invoices`]) and their mail and
//! reminders ([`mailing`]), and online payments ([`online`], through [`stripe`] or
//! [`paypal`]).

pub mod invoices;
pub mod invoicing;
pub mod mailing;
pub mod money;
pub mod numbering;
pub mod online;
pub mod paypal;
pub mod recurring;
pub mod reports;
pub mod stripe;

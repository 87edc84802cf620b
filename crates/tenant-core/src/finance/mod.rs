//! Money matters: exact amounts and totals of invoice lines ([`money`]), invoice numbers
//! made from a brand's pattern ([`numbering`]), the brand's invoicing settings
//! ([`invoicing`]) the invoices themselves ([`invoices`]) and their mail and
//! reminders ([`mailing`]).

pub mod invoices;
pub mod invoicing;
pub mod mailing;
pub mod money;
pub mod numbering;
pub mod recurring;
pub mod reports;

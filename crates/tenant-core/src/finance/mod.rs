//! Money matters: exact amounts and totals of invoice lines ([`money`]), invoice numbers
//! made from a brand's pattern ([`numbering`]), the brand's invoicing settings
//! ([`invoicing`]) and the invoices themselves ([`invoices`]).

pub mod invoices;
pub mod invoicing;
pub mod money;
pub mod numbering;

//! Money matters: exact amounts and totals of invoice lines ([`money`]) and invoice
//! numbers made from a brand's pattern ([`numbering`]).

pub mod money;
pub mod numbering;

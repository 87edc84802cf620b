//! The API of who may do what: the audit log.

pub(crate) mod audit;

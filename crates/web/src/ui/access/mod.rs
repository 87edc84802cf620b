//! Pages of who may do what: the audit log and the access review.

pub(crate) mod access_review;
pub(crate) mod audit;

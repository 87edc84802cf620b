//! Telling people: notifications now; discussions, client messages, chat and search with
//! the conversations module.

pub mod notifications;

//! A brand's own look and settings, and its outgoing mail.

pub mod branding;
pub mod outbox;
pub mod settings;

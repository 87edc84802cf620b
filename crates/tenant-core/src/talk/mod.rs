//! Telling people: conversations inside projects (task comments, discussions, client
//! messages), team chat, their Markdown and mentions, notifications, and replies to them
//! by e-mail.

pub mod chat;
pub mod comments;
pub mod discussions;
pub mod markdown;
pub mod notifications;
pub mod replies;
pub mod search;
pub mod threads;

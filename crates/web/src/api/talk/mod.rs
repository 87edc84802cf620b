//! The API of conversations: discussions, task comments, client messages and team chat.

pub(crate) mod chat;
pub(crate) mod conversations;

//! The pages of conversations: task comments, discussions, client messages and team chat.

pub(crate) mod chat;
pub(crate) mod conversations;

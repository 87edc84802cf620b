//! The API of who uses the brand: sessions and one's own account, users, client
//! companies, roles and teams.

pub(crate) mod companies;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod teams;
pub(crate) mod users;

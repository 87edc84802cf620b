//! Pages of who uses the brand: signing in, users, client companies, roles, teams, and
//! one's own profile.

pub(crate) mod auth;
pub(crate) mod companies;
pub(crate) mod profile;
pub(crate) mod roles;
pub(crate) mod teams;
pub(crate) mod users;

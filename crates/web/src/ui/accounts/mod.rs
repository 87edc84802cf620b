//! Pages of who uses the brand: signing in, invitations and password resets, users,
//! client companies, roles, teams, and one's own profile.

pub(crate) mod companies;
pub(crate) mod invitations;
pub(crate) mod password_reset;
pub(crate) mod profile;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod teams;
pub(crate) mod users;

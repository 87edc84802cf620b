//! Who uses a brand: users and their invitations, password resets, credentials, sessions
//! and two-factor sign-in; roles, teams and client companies.

pub mod companies;
pub mod credentials;
pub mod invitations;
pub mod lifecycle;
pub mod password_reset;
pub mod roles;
pub mod sessions;
pub mod teams;
pub mod totp;
pub mod users;

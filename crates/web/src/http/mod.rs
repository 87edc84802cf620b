//! What every route shares before it reaches its module: who is calling ([`caller`] for
//! the API, [`viewer`] for pages), the same-site and form-token checks ([`csrf`]), sign-in
//! throttling ([`throttle`]), the one mapping of errors to a status, a code and a
//! sentence ([`error`]), the security headers ([`headers`]), and live updates as
//! Server-Sent Events ([`events`]).

pub mod caller;
pub mod csrf;
pub mod error;
pub(crate) mod events;
pub mod headers;
pub mod throttle;
pub(crate) mod viewer;

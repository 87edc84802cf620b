//! Form protection: a form that changes something carries a token derived from the
//! session, so only a page of this session can know it (the request must also come from
//! the site itself, see [`super::caller::check_origin`]).

use sha2::{Digest, Sha256};

/// The form token of a session: a digest of the session's secret, so only a page of this
/// session can know it.
pub fn form_token(session: &str) -> String {
    let digest = Sha256::digest(format!("form-token\n{session}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of two tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

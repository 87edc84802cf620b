//! How a command ends: the exit codes of PRODUCT.md and the one line said on stderr.

use std::fmt;

/// A command that did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// A well-formed request that was refused or failed (exit 1).
    Refused(String),
    /// Bad usage or malformed input (exit 2).
    BadInput(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused(_) => 1,
            Failure::BadInput(_) => 2,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(message) | Failure::BadInput(message) => f.write_str(message),
        }
    }
}

/// The result of a command.
pub type Outcome = Result<(), Failure>;

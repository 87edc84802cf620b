//! Every way a licence file can be refused, each with a one-line message that says what is
//! wrong and what to do about it.

/// Why a licence file was refused. The `Display` text is one line meant for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    /// The bytes carry no Task Session licence block at all, or a payload of another product.
    #[error(
        "this is not a Task Session licence ({0}); save the licence text you were sent, from '-----BEGIN TASK SESSION LICENCE-----' to '-----END TASK SESSION LICENCE-----'"
    )]
    NotATaskSessionLicence(String),

    /// The block is there but its structure is broken (missing end line, header, section).
    #[error(
        "the licence text is damaged ({0}); copy the whole block from '-----BEGIN' to '-----END' again"
    )]
    MalformedArmour(String),

    /// The block declares a format version this build does not read.
    #[error(
        "licence format version '{0}' is not supported by this release; upgrade Task Session or ask for a version 1 licence"
    )]
    UnsupportedVersion(String),

    /// A base64 section has a character or padding that base64 does not allow.
    #[error(
        "the licence {section} is not valid base64 ({detail}); copy the licence text again without changing it"
    )]
    BadBase64 {
        /// `payload` or `signature`.
        section: &'static str,
        /// What the decoder reported.
        detail: String,
    },

    /// The licence names a signing key this build does not trust.
    #[error(
        "the licence is signed with key '{0}', which this build does not trust; ask the vendor for a licence signed with a current key (development licences work only in development builds)"
    )]
    UnknownKeyId(String),

    /// The signature does not verify over the payload.
    #[error(
        "the licence signature does not match its content, so the text was changed after it was issued; install the original licence text again"
    )]
    WrongSignature,

    /// A payload field is missing, of the wrong type or out of range.
    #[error("licence field '{field}' {problem}; ask the vendor for a corrected licence")]
    BadPayloadField {
        /// The field's name in the payload.
        field: String,
        /// What is wrong with it, as a sentence fragment.
        problem: String,
    },

    /// The payload's domain count or expiry disagrees with its plan.
    #[error("the licence's {0}; ask the vendor for a corrected licence")]
    PlanMismatch(String),
}

/// The crate's result alias.
pub type Result<T, E = LicenceError> = std::result::Result<T, E>;

//! Hostnames and email addresses as the platform stores and compares them.
//!
//! A brand is found by the `Host` of an incoming request, and a user by the email
//! address they sign in with. Both arrive typed by people, in any case, sometimes with
//! a trailing dot, sometimes in Unicode, and sometimes as something that is not a name at
//! all (an IP address, a wildcard, a `host:port`). If two spellings of one name were
//! stored as two values, a brand could be registered twice or a login could miss its
//! account; if a non-name were stored, the certificate and routing layers would fail
//! much later and much less clearly. So every name is parsed once, at the edge, into a
//! normalised value whose string form is the only one ever stored or compared, and every
//! rejection says in one line what was wrong and what to type instead.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

/// DNS allows at most 253 characters in a name written without its trailing dot.
const MAX_HOSTNAME_LEN: usize = 253;
/// DNS allows at most 63 octets in one label.
const MAX_LABEL_LEN: usize = 63;
/// RFC 5321 limits a local part to 64 octets.
const MAX_LOCAL_PART_LEN: usize = 64;
/// RFC 5321 limits a forward path to 256 octets including the angle brackets.
const MAX_EMAIL_LEN: usize = 254;
/// Inputs longer than this cannot become a valid name even after IDNA mapping drops
/// ignorable characters, so they are refused before any Unicode processing is spent on
/// them.
const MAX_RAW_INPUT_LEN: usize = 1024;

/// Why a typed hostname or email address was refused.
///
/// One variant per rule, so callers (and tests) can react to the precise reason, and a
/// one-line `Display` that quotes the input, because these messages are shown to the
/// person who typed it: in the admin UI, in CLI output and in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing (or only whitespace) was given.
    #[error(
        "'{}' is not a domain name: it is empty; give a name such as projects.acme.com",
        .input.escape_debug()
    )]
    Empty {
        /// The input as typed.
        input: String,
    },

    /// An IPv4 or IPv6 address, bare or in brackets.
    #[error(
        "'{}' is not a domain name: IP addresses are not allowed; give a name such as projects.acme.com that points at this server",
        .input.escape_debug()
    )]
    IpLiteral {
        /// The input as typed.
        input: String,
    },

    /// A `*` somewhere in the name.
    #[error(
        "'{}' is not a domain name: wildcards are not allowed; give one exact name such as projects.acme.com",
        .input.escape_debug()
    )]
    Wildcard {
        /// The input as typed.
        input: String,
    },

    /// A `:` in the name, which can only be a port (or a scheme).
    #[error(
        "'{}' is not a domain name: it contains ':'; give the name alone, without a port or scheme, such as projects.acme.com",
        .input.escape_debug()
    )]
    Port {
        /// The input as typed.
        input: String,
    },

    /// Unicode that IDNA cannot turn into a DNS name (disallowed code points, bad
    /// punycode in an `xn--` label, mixed directions and the like).
    #[error(
        "'{}' is not a domain name: it is not a valid internationalised name (a character that domain names cannot use, or a malformed xn-- part)",
        .input.escape_debug()
    )]
    InvalidInternationalName {
        /// The input as typed.
        input: String,
    },

    /// A character other than a letter, digit, hyphen or dot.
    #[error(
        "'{}' is not a domain name: it contains {ch:?}; only letters, digits, hyphens and dots are allowed",
        .input.escape_debug()
    )]
    InvalidCharacter {
        /// The input as typed.
        input: String,
        /// The first offending character, after IDNA mapping.
        ch: char,
    },

    /// Two dots in a row, a leading dot, or more than one trailing dot.
    #[error(
        "'{}' is not a domain name: it has an empty part between dots (a leading dot, two dots in a row, or more than one trailing dot)",
        .input.escape_debug()
    )]
    EmptyLabel {
        /// The input as typed.
        input: String,
    },

    /// A label longer than DNS permits.
    #[error(
        "'{}' is not a domain name: the part '{label}' is {len} characters long; each part between dots may be at most 63",
        .input.escape_debug()
    )]
    LabelTooLong {
        /// The input as typed.
        input: String,
        /// The offending label, in its ASCII form.
        label: String,
        /// Its length in characters.
        len: usize,
    },

    /// A label beginning or ending with `-`.
    #[error(
        "'{}' is not a domain name: the part '{label}' starts or ends with a hyphen, which DNS does not allow",
        .input.escape_debug()
    )]
    HyphenAtLabelEdge {
        /// The input as typed.
        input: String,
        /// The offending label, in its ASCII form.
        label: String,
    },

    /// The whole name is longer than DNS permits.
    #[error(
        "'{}' is not a domain name: it is {len} characters long (in ASCII form); a domain name may be at most 253",
        .input.escape_debug()
    )]
    TooLong {
        /// The input as typed.
        input: String,
        /// Its length: in ASCII form, or as typed when refused before conversion.
        len: usize,
    },

    /// The last label is a number, which browsers and URL parsers read as an IPv4
    /// address.
    #[error(
        "'{}' is not a domain name: its last part is a number, which browsers treat as an IP address; give a name such as projects.acme.com",
        .input.escape_debug()
    )]
    NumericTopLabel {
        /// The input as typed.
        input: String,
    },

    /// A single label other than `localhost`.
    #[error(
        "'{}' is not a domain name: it has no dot; give a full name such as projects.acme.com (only localhost may stand alone)",
        .input.escape_debug()
    )]
    SingleLabel {
        /// The input as typed.
        input: String,
    },

    /// Nothing (or only whitespace) was given where an email address was expected.
    #[error(
        "'{}' is not an email address: it is empty; give an address such as ada@acme.com",
        .input.escape_debug()
    )]
    EmptyEmail {
        /// The input as typed.
        input: String,
    },

    /// Whitespace inside the address.
    #[error(
        "'{}' is not an email address: it contains a space or other whitespace",
        .input.escape_debug()
    )]
    EmailContainsWhitespace {
        /// The input as typed.
        input: String,
    },

    /// No `@` at all.
    #[error(
        "'{}' is not an email address: it has no @; give an address such as ada@acme.com",
        .input.escape_debug()
    )]
    MissingAt {
        /// The input as typed.
        input: String,
    },

    /// More than one `@`.
    #[error(
        "'{}' is not an email address: it has more than one @",
        .input.escape_debug()
    )]
    MultipleAt {
        /// The input as typed.
        input: String,
    },

    /// Nothing before the `@`.
    #[error(
        "'{}' is not an email address: the part before @ is empty",
        .input.escape_debug()
    )]
    EmptyLocalPart {
        /// The input as typed.
        input: String,
    },

    /// The part before the `@` is longer than SMTP permits.
    #[error(
        "'{}' is not an email address: the part before @ is {len} characters long; it may be at most 64",
        .input.escape_debug()
    )]
    LocalPartTooLong {
        /// The input as typed.
        input: String,
        /// Its length in characters.
        len: usize,
    },

    /// A character in the part before the `@` that needs quoting in SMTP or is not
    /// printable ASCII.
    #[error(
        "'{}' is not an email address: the part before @ contains {ch:?}, which is not allowed",
        .input.escape_debug()
    )]
    LocalPartInvalidCharacter {
        /// The input as typed.
        input: String,
        /// The first offending character.
        ch: char,
    },

    /// Nothing after the `@`.
    #[error(
        "'{}' is not an email address: the part after @ is empty",
        .input.escape_debug()
    )]
    EmptyDomainPart {
        /// The input as typed.
        input: String,
    },

    /// The part after the `@` is not a valid hostname; the inner error says why.
    #[error(
        "'{}' is not an email address: the part after @ is not usable: {reason}",
        .input.escape_debug()
    )]
    EmailDomain {
        /// The input as typed.
        input: String,
        /// Why the domain part was refused as a hostname.
        reason: Box<NameError>,
    },

    /// The part after the `@` is a single label such as `localhost`, which cannot
    /// receive mail from anywhere else.
    #[error(
        "'{}' is not an email address: the part after @ has no dot; give a full domain such as acme.com",
        .input.escape_debug()
    )]
    EmailDomainNeedsDot {
        /// The input as typed.
        input: String,
    },

    /// The whole address is longer than SMTP permits.
    #[error(
        "'{}' is not an email address: it is {len} characters long; an address may be at most 254",
        .input.escape_debug()
    )]
    EmailTooLong {
        /// The input as typed.
        input: String,
        /// Its length in characters (with the domain in ASCII form).
        len: usize,
    },
}

/// A domain name a brand is served on, in the one form used for routing, certificates
/// and uniqueness: lower-case ASCII (punycode for Unicode names), no trailing dot.
///
/// Holding a `Hostname` means the name is something DNS and ACME can accept and that a
/// browser will send back verbatim in `Host`, so a request can be matched to a brand by
/// plain string equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Hostname(String);

impl Hostname {
    /// Normalises and validates a typed domain name.
    ///
    /// Surrounding whitespace and one trailing dot (the DNS root, which people copy from
    /// zone files) are dropped, Unicode is converted to punycode with IDNA (UTS #46,
    /// which also lower-cases), and anything a brand cannot be served on is refused with
    /// the reason: IP literals, wildcards, ports, malformed labels, over-long names, a
    /// numeric last label (browsers would read it as IPv4), and single labels other than
    /// `localhost`.
    pub fn parse(input: &str) -> Result<Hostname, NameError> {
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let owned = || trimmed.to_owned();

        if trimmed.is_empty() {
            return Err(NameError::Empty { input: owned() });
        }
        if trimmed.len() > MAX_RAW_INPUT_LEN {
            return Err(NameError::TooLong {
                input: owned(),
                len: trimmed.chars().count(),
            });
        }
        // Checked on the raw text first so the error names the real mistake rather than
        // whatever IDNA or the character rules would say about it.
        check_not_ip_wildcard_or_port(trimmed, trimmed)?;

        let without_root = trimmed.strip_suffix('.').unwrap_or(trimmed);

        // The empty deny list lets ASCII through untouched, so the precise character
        // checks below can say which character is wrong; IDNA itself only has to deal
        // with Unicode mapping and punycode.
        let ascii = idna::domain_to_ascii_cow(without_root.as_bytes(), idna::AsciiDenyList::EMPTY)
            .map_err(|_| NameError::InvalidInternationalName { input: owned() })?;
        let ascii: &str = &ascii;

        if ascii.is_empty() {
            return Err(NameError::Empty { input: owned() });
        }
        // IDNA maps full-width forms (`１．２．３．４`, `＊`, `：`) to their ASCII
        // counterparts, so the same rules are applied again to what it produced.
        check_not_ip_wildcard_or_port(ascii, trimmed)?;

        if let Some(ch) = ascii
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
        {
            return Err(NameError::InvalidCharacter { input: owned(), ch });
        }

        for label in ascii.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel { input: owned() });
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong {
                    input: owned(),
                    label: label.to_owned(),
                    len: label.len(),
                });
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(NameError::HyphenAtLabelEdge {
                    input: owned(),
                    label: label.to_owned(),
                });
            }
        }

        if ascii.len() > MAX_HOSTNAME_LEN {
            return Err(NameError::TooLong {
                input: owned(),
                len: ascii.len(),
            });
        }

        let last = ascii.rsplit('.').next().unwrap_or(ascii);
        if is_numeric_label(last) {
            return Err(NameError::NumericTopLabel { input: owned() });
        }

        if !ascii.contains('.') && ascii != "localhost" {
            return Err(NameError::SingleLabel { input: owned() });
        }

        Ok(Hostname(ascii.to_owned()))
    }

    /// The normalised ASCII form: the one to store, compare and put in certificates.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name can only ever resolve on a developer's machine (`localhost`,
    /// `*.localhost`, `*.test`), so that production-only requirements such as public
    /// certificates can be waived for it without a separate setting.
    pub fn is_development_name(&self) -> bool {
        self.0 == "localhost" || self.0.ends_with(".localhost") || self.0.ends_with(".test")
    }

    /// The name as people read it, with punycode labels decoded, for showing in the UI;
    /// never for routing or comparison, where [`Hostname::as_str`] is the identity.
    pub fn to_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(&self.0);
        match result {
            Ok(()) => unicode,
            // Unreachable for a parsed name; the ASCII form is still correct to show,
            // unlike the replacement characters IDNA would put in `unicode`.
            Err(_) => self.0.clone(),
        }
    }
}

/// Refuses IP literals, wildcards and ports in `candidate`, reporting `input` in the
/// error so that the person sees what they typed.
fn check_not_ip_wildcard_or_port(candidate: &str, input: &str) -> Result<(), NameError> {
    if is_ip_literal(candidate) {
        return Err(NameError::IpLiteral {
            input: input.to_owned(),
        });
    }
    if candidate.contains('*') {
        return Err(NameError::Wildcard {
            input: input.to_owned(),
        });
    }
    if candidate.contains(':') {
        return Err(NameError::Port {
            input: input.to_owned(),
        });
    }
    Ok(())
}

/// Whether `s` is an IP address as people write one: bare, with a trailing dot, or in
/// URL brackets (optionally followed by a port).
fn is_ip_literal(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix('[') {
        let inner = rest.split(']').next().unwrap_or(rest);
        return inner.parse::<IpAddr>().is_ok();
    }
    s.parse::<IpAddr>().is_ok()
        || s.strip_suffix('.')
            .is_some_and(|s| s.parse::<IpAddr>().is_ok())
}

/// Whether a last label would make the WHATWG URL parser treat the host as IPv4:
/// decimal digits, or `0x` followed by hex digits.
fn is_numeric_label(label: &str) -> bool {
    if !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    label
        .strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Hostname {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hostname::parse(s)
    }
}

/// An email address a person signs in with or is mailed at.
///
/// The local part is kept exactly as typed, because some mail systems treat it as
/// case-sensitive and mail must reach the mailbox that was given; the domain part is
/// normalised like a [`Hostname`]. Equality is on that stored form; uniqueness of
/// accounts is on [`Email::key`], so `Ada@acme.com` and `ada@ACME.com` cannot become two
/// users.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates a typed address and normalises its domain.
    ///
    /// Deliberately narrower than RFC 5322: no quoted local parts, comments or address
    /// literals, because those are almost always typing mistakes in a sign-in form and
    /// are not portable across mail providers. The domain must have a dot, since a bare
    /// `localhost` cannot receive mail; development names such as `admin@acme.test` and
    /// `admin@brand1.localhost` are accepted.
    pub fn parse(input: &str) -> Result<Email, NameError> {
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let owned = || trimmed.to_owned();

        if trimmed.is_empty() {
            return Err(NameError::EmptyEmail { input: owned() });
        }
        if trimmed.len() > MAX_RAW_INPUT_LEN {
            return Err(NameError::EmailTooLong {
                input: owned(),
                len: trimmed.chars().count(),
            });
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(NameError::EmailContainsWhitespace { input: owned() });
        }

        let (local, domain) = match trimmed.split_once('@') {
            None => return Err(NameError::MissingAt { input: owned() }),
            Some((_, domain)) if domain.contains('@') => {
                return Err(NameError::MultipleAt { input: owned() });
            }
            Some(parts) => parts,
        };

        if local.is_empty() {
            return Err(NameError::EmptyLocalPart { input: owned() });
        }
        if let Some(ch) = local.chars().find(|&c| !is_local_part_char(c)) {
            return Err(NameError::LocalPartInvalidCharacter { input: owned(), ch });
        }
        // All characters are ASCII by now, so bytes and characters agree.
        if local.len() > MAX_LOCAL_PART_LEN {
            return Err(NameError::LocalPartTooLong {
                input: owned(),
                len: local.len(),
            });
        }

        if domain.is_empty() {
            return Err(NameError::EmptyDomainPart { input: owned() });
        }
        let host = Hostname::parse(domain).map_err(|reason| NameError::EmailDomain {
            input: owned(),
            reason: Box::new(reason),
        })?;
        if !host.as_str().contains('.') {
            return Err(NameError::EmailDomainNeedsDot { input: owned() });
        }

        let address = format!("{local}@{host}");
        if address.len() > MAX_EMAIL_LEN {
            return Err(NameError::EmailTooLong {
                input: owned(),
                len: address.len(),
            });
        }
        Ok(Email(address))
    }

    /// The stored form: local part as typed, domain normalised.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The whole address lower-cased: the value account uniqueness and sign-in lookup
    /// are keyed on, because people do not reliably repeat the case they first typed,
    /// and virtually every real mail provider ignores it.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Printable ASCII, minus the space and the characters that need quoting or escaping in
/// an unquoted SMTP local part.
fn is_local_part_char(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']' | '@'
        )
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

/// Percent-encodes `text` for a URL's path segment or query value: everything but
/// letters, digits, `-._~@:` is written as `%XX` bytes of its UTF-8.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b':' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(s: &str) -> Hostname {
        Hostname::parse(s).unwrap()
    }

    #[test]
    fn unicode_names_are_stored_as_punycode() {
        assert_eq!(host("Bücher.Example").as_str(), "xn--bcher-kva.example");
    }

    #[test]
    fn punycode_names_are_shown_in_unicode() {
        assert_eq!(host("Bücher.Example").to_unicode(), "bücher.example");
        assert_eq!(host("acme.com").to_unicode(), "acme.com");
    }

    #[test]
    fn upper_case_whitespace_and_one_trailing_dot_are_normalised_away() {
        assert_eq!(host("Acme.COM.").as_str(), "acme.com");
        assert_eq!(
            host("  Projects.Acme.com \t\n").as_str(),
            "projects.acme.com"
        );
    }

    #[test]
    fn two_trailing_dots_are_rejected() {
        assert!(matches!(
            Hostname::parse("acme.com.."),
            Err(NameError::EmptyLabel { .. })
        ));
    }

    #[test]
    fn empty_labels_are_rejected() {
        for input in ["a..b", ".a", ".acme.com", "."] {
            let err = Hostname::parse(input).unwrap_err();
            assert!(
                matches!(err, NameError::EmptyLabel { .. } | NameError::Empty { .. }),
                "{input}: {err:?}"
            );
        }
        assert!(matches!(
            Hostname::parse("a..b"),
            Err(NameError::EmptyLabel { .. })
        ));
    }

    #[test]
    fn empty_input_is_rejected() {
        assert!(matches!(Hostname::parse(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            Hostname::parse("   "),
            Err(NameError::Empty { .. })
        ));
    }

    #[test]
    fn ip_literals_are_rejected() {
        for input in [
            "1.2.3.4",
            "1.2.3.4.",
            "::1",
            "2001:db8::1",
            "[::1]",
            "[2001:db8::1]:8443",
            "１.２.３.４",
        ] {
            assert!(
                matches!(Hostname::parse(input), Err(NameError::IpLiteral { .. })),
                "{input}: {:?}",
                Hostname::parse(input)
            );
        }
    }

    #[test]
    fn wildcards_are_rejected() {
        for input in ["*.acme.com", "a*.acme.com", "acme.*", "＊.acme.com"] {
            assert!(
                matches!(Hostname::parse(input), Err(NameError::Wildcard { .. })),
                "{input}"
            );
        }
    }

    #[test]
    fn ports_are_rejected() {
        assert!(matches!(
            Hostname::parse("acme.com:8080"),
            Err(NameError::Port { .. })
        ));
        assert!(matches!(
            Hostname::parse("localhost:3000"),
            Err(NameError::Port { .. })
        ));
    }

    #[test]
    fn a_63_character_label_is_accepted_and_64_is_rejected() {
        let ok = format!("{}.com", "a".repeat(63));
        assert_eq!(host(&ok).as_str(), ok);

        let too_long = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            Hostname::parse(&too_long),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
    }

    #[test]
    fn a_name_over_253_characters_is_rejected() {
        let label = "a".repeat(63);
        let ok = format!("{label}.{label}.{label}.{}", "a".repeat(61));
        assert_eq!(ok.len(), 253);
        assert!(Hostname::parse(&ok).is_ok());

        let too_long = format!("{label}.{label}.{label}.{}", "a".repeat(62));
        assert!(matches!(
            Hostname::parse(&too_long),
            Err(NameError::TooLong { len: 254, .. })
        ));
        assert!(matches!(
            Hostname::parse(&"a".repeat(5000)),
            Err(NameError::TooLong { .. })
        ));
    }

    #[test]
    fn labels_starting_or_ending_with_a_hyphen_are_rejected() {
        for input in ["-acme.com", "acme-.com", "projects.-acme.com", "acme.com-"] {
            assert!(
                matches!(
                    Hostname::parse(input),
                    Err(NameError::HyphenAtLabelEdge { .. })
                ),
                "{input}"
            );
        }
        assert_eq!(host("my-brand.acme.com").as_str(), "my-brand.acme.com");
    }

    #[test]
    fn characters_outside_letters_digits_and_hyphens_are_rejected() {
        assert!(matches!(
            Hostname::parse("my_brand.acme.com"),
            Err(NameError::InvalidCharacter { ch: '_', .. })
        ));
        assert!(matches!(
            Hostname::parse("my brand.acme.com"),
            Err(NameError::InvalidCharacter { ch: ' ', .. })
        ));
        assert!(matches!(
            Hostname::parse("https://acme.com/"),
            Err(NameError::Port { .. })
        ));
        assert!(matches!(
            Hostname::parse("acme.com/path"),
            Err(NameError::InvalidCharacter { ch: '/', .. })
        ));
    }

    #[test]
    fn unicode_that_idna_cannot_map_is_rejected() {
        assert!(matches!(
            Hostname::parse("xn--a.com"),
            Err(NameError::InvalidInternationalName { .. })
        ));
    }

    #[test]
    fn a_numeric_last_label_is_rejected() {
        for input in ["acme.123", "1.2.3", "acme.0x1f", "123"] {
            assert!(
                matches!(
                    Hostname::parse(input),
                    Err(NameError::NumericTopLabel { .. })
                ),
                "{input}: {:?}",
                Hostname::parse(input)
            );
        }
        assert_eq!(host("123.acme.com").as_str(), "123.acme.com");
    }

    #[test]
    fn localhost_is_the_only_single_label_name_accepted() {
        assert_eq!(host("LocalHost").as_str(), "localhost");
        assert_eq!(host("localhost.").as_str(), "localhost");
        assert!(matches!(
            Hostname::parse("intranet"),
            Err(NameError::SingleLabel { .. })
        ));
    }

    #[test]
    fn development_names_are_recognised() {
        for name in ["brand1.localhost", "acme.test", "localhost", "a.b.test"] {
            assert!(host(name).is_development_name(), "{name}");
        }
        for name in [
            "acme.com",
            "test.com",
            "localhost.com",
            "mytest.org",
            "acme.testing",
        ] {
            assert!(!host(name).is_development_name(), "{name}");
        }
    }

    #[test]
    fn error_messages_are_one_line_and_quote_the_input() {
        let err = Hostname::parse("*.acme.com").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'*.acme.com' is not a domain name: wildcards are not allowed; give one exact name such as projects.acme.com"
        );
        let err = Hostname::parse("bad\nname").unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
        assert!(err.to_string().starts_with("'bad\\nname'"), "{err}");
    }

    #[test]
    fn hostnames_parse_from_str_and_serialise_as_strings() {
        let h: Hostname = "Acme.com".parse().unwrap();
        assert_eq!(h.to_string(), "acme.com");
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"acme.com\"");
    }

    #[test]
    fn a_valid_email_keeps_its_local_part_and_normalises_its_domain() {
        let email = Email::parse("  Ada.Lovelace+pm@Bücher.Example ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace+pm@xn--bcher-kva.example");
        assert_eq!(email.to_string(), email.as_str());
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Ada.Lovelace+pm@xn--bcher-kva.example\""
        );
        assert_eq!(
            Email::parse("Bob@ACME.com.").unwrap().as_str(),
            "Bob@acme.com"
        );
    }

    #[test]
    fn the_email_key_is_case_folded() {
        let a = Email::parse("Ada@ACME.com").unwrap();
        let b: Email = "ada@acme.COM".parse().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.key(), "ada@acme.com");
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn development_email_domains_are_accepted_but_bare_localhost_is_not() {
        assert!(Email::parse("admin@acme.test").is_ok());
        assert!(Email::parse("admin@brand1.localhost").is_ok());
        assert!(matches!(
            Email::parse("admin@localhost"),
            Err(NameError::EmailDomainNeedsDot { .. })
        ));
    }

    #[test]
    fn an_email_without_at_is_rejected() {
        assert!(matches!(
            Email::parse("bob.acme.com"),
            Err(NameError::MissingAt { .. })
        ));
    }

    #[test]
    fn an_email_with_two_ats_is_rejected() {
        assert!(matches!(
            Email::parse("bob@x@acme.com"),
            Err(NameError::MultipleAt { .. })
        ));
    }

    #[test]
    fn an_email_with_a_space_is_rejected() {
        for input in ["bob smith@acme.com", "bob@ acme.com", "bob@acme .com"] {
            assert!(
                matches!(
                    Email::parse(input),
                    Err(NameError::EmailContainsWhitespace { .. })
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn an_email_with_an_empty_part_is_rejected() {
        assert!(matches!(
            Email::parse(""),
            Err(NameError::EmptyEmail { .. })
        ));
        assert!(matches!(
            Email::parse("@acme.com"),
            Err(NameError::EmptyLocalPart { .. })
        ));
        let err = Email::parse("bob@").unwrap_err();
        assert!(matches!(err, NameError::EmptyDomainPart { .. }));
        assert_eq!(
            err.to_string(),
            "'bob@' is not an email address: the part after @ is empty"
        );
    }

    #[test]
    fn an_email_local_part_with_forbidden_characters_or_too_long_is_rejected() {
        for (input, bad) in [
            ("bob<x>@acme.com", '<'),
            ("\"bob\"@acme.com", '"'),
            ("bøb@acme.com", 'ø'),
        ] {
            assert!(
                matches!(
                    Email::parse(input),
                    Err(NameError::LocalPartInvalidCharacter { ch, .. }) if ch == bad
                ),
                "{input}"
            );
        }
        assert!(Email::parse(&format!("{}@acme.com", "a".repeat(64))).is_ok());
        assert!(matches!(
            Email::parse(&format!("{}@acme.com", "a".repeat(65))),
            Err(NameError::LocalPartTooLong { len: 65, .. })
        ));
    }

    #[test]
    fn an_email_with_a_bad_domain_is_rejected_with_the_domain_reason() {
        let err = Email::parse("bob@acme..com").unwrap_err();
        assert!(
            matches!(&err, NameError::EmailDomain { reason, .. } if matches!(**reason, NameError::EmptyLabel { .. })),
            "{err:?}"
        );
        assert!(!err.to_string().contains('\n'));
        assert!(matches!(
            Email::parse("bob@[127.0.0.1]"),
            Err(NameError::EmailDomain { .. })
        ));
        assert!(matches!(
            Email::parse("bob@intranet"),
            Err(NameError::EmailDomain { .. })
        ));
    }

    #[test]
    fn an_email_over_254_characters_is_rejected() {
        let label = "a".repeat(63);
        let domain = format!("{label}.{label}.{label}.{}", "a".repeat(57));
        let input = format!("{}@{domain}", "b".repeat(64));
        assert!(matches!(
            Email::parse(&input),
            Err(NameError::EmailTooLong { .. })
        ));
    }

    fn hostname_inputs() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9.-]{1,40}",
            "([a-z0-9-]{1,12}\\.){1,4}[a-zA-Z]{2,6}\\.?",
            "([a-zäöüßéñçøå中文日本ÄÖÜ-]{1,10}\\.){1,3}[a-zé]{2,5}",
            "\\PC{1,20}",
            "[ \\t]{0,2}[a-zA-Z0-9.:*\\[\\]_-]{1,30}[ \\t]{0,2}",
        ]
    }

    proptest! {
        #[test]
        fn parsing_a_parsed_hostname_again_returns_the_same_value(input in hostname_inputs()) {
            if let Ok(parsed) = Hostname::parse(&input) {
                prop_assert!(parsed.as_str().len() <= MAX_HOSTNAME_LEN);
                prop_assert!(parsed
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
                prop_assert_eq!(Hostname::parse(parsed.as_str()), Ok(parsed.clone()));
                prop_assert_eq!(Hostname::parse(&parsed.to_unicode()), Ok(parsed));
            }
        }

        #[test]
        fn parsing_a_parsed_email_again_returns_the_same_value(
            local in "[a-zA-Z0-9.+_-]{1,20}",
            domain in hostname_inputs(),
        ) {
            if let Ok(parsed) = Email::parse(&format!("{local}@{domain}")) {
                prop_assert_eq!(Email::parse(parsed.as_str()), Ok(parsed));
            }
        }
    }
}

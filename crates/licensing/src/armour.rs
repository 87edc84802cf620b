//! The text envelope shared by licences and signing keys: a `-----BEGIN LABEL-----` line,
//! `Name: value` header lines, base64 sections separated by `-----NAME-----` lines, and an
//! `-----END LABEL-----` line.
//!
//! Mail clients re-wrap, indent and re-terminate lines, so parsing first splits on any of
//! CR and LF, trims each line and drops empty ones ([`normalised_lines`]). Nothing else is
//! forgiven: a header must read exactly `Name: value`, and the base64 inside a section must
//! be canonical (no stray characters, padding or trailing bits), so any change to the
//! content itself is refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Columns per base64 line when writing.
pub const LINE_WIDTH: usize = 64;

/// A parsed block: its headers in order and its sections' base64 text, whitespace removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `Name: value` pairs, in file order.
    pub headers: Vec<(String, String)>,
    /// Sections in file order: the first one is unnamed (`""`), later ones carry the name of
    /// the `-----NAME-----` line that opens them.
    pub sections: Vec<(String, String)>,
}

/// Why a block could not be found or read; mapped to the caller's own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmourError {
    /// No `-----BEGIN {label}-----` line; carries what was found instead.
    NoBlock(String),
    /// The block is there but broken.
    Malformed(String),
}

/// The lines of `text` as parsing sees them: split at CR or LF, trimmed, blank ones dropped.
pub fn normalised_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

fn begin_line(label: &str) -> String {
    format!("-----BEGIN {label}-----")
}

fn end_line(label: &str) -> String {
    format!("-----END {label}-----")
}

/// Finds the `label` block in `bytes` (text outside it is ignored) and splits it up.
pub fn parse(bytes: &[u8], label: &str) -> Result<Block, ArmourError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ArmourError::NoBlock("the file is not text".to_owned()))?;
    let begin = begin_line(label);
    let end = end_line(label);
    let mut lines = normalised_lines(text).skip_while(|line| *line != begin);
    if lines.next().is_none() {
        let found = normalised_lines(text)
            .find(|line| line.starts_with("-----BEGIN "))
            .map(|line| format!("found '{line}' instead"))
            .unwrap_or_else(|| "no BEGIN line".to_owned());
        return Err(ArmourError::NoBlock(found));
    }

    let mut headers = Vec::new();
    let mut sections: Vec<(String, String)> = vec![(String::new(), String::new())];
    let mut in_headers = true;
    for line in lines {
        if line == end {
            if sections.iter().any(|(_, body)| body.is_empty()) {
                return Err(ArmourError::Malformed("a section is empty".to_owned()));
            }
            return Ok(Block { headers, sections });
        }
        if let Some(name) = section_marker(line) {
            in_headers = false;
            sections.push((name.to_owned(), String::new()));
            continue;
        }
        if line.starts_with("-----") {
            return Err(ArmourError::Malformed(format!("unexpected line '{line}'")));
        }
        if in_headers {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.strip_prefix(' ').filter(|v| !v.is_empty());
                match value {
                    Some(value) if is_header_name(name) => {
                        headers.push((name.to_owned(), value.to_owned()));
                        continue;
                    }
                    _ => {
                        return Err(ArmourError::Malformed(format!(
                            "header line '{line}' is not 'Name: value'"
                        )));
                    }
                }
            }
            in_headers = false;
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
        }
    }
    Err(ArmourError::Malformed(format!("no '{end}' line")))
}

fn section_marker(line: &str) -> Option<&str> {
    let name = line.strip_prefix("-----")?.strip_suffix("-----")?;
    let is_marker = !name.is_empty()
        && !name.starts_with("BEGIN ")
        && !name.starts_with("END ")
        && name.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
    is_marker.then_some(name)
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Decodes one section's canonical base64.
pub fn decode(body: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(body).map_err(|error| error.to_string())
}

/// Writes a block: headers, then each section as base64 at [`LINE_WIDTH`] columns.
pub fn write(label: &str, headers: &[(&str, &str)], sections: &[(&str, &[u8])]) -> String {
    let mut out = begin_line(label);
    out.push('\n');
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    for (index, (name, bytes)) in sections.iter().enumerate() {
        if index > 0 {
            out.push_str(&format!("-----{name}-----\n"));
        } else if !headers.is_empty() {
            out.push('\n');
        }
        let encoded = STANDARD.encode(bytes);
        for chunk in encoded.as_bytes().chunks(LINE_WIDTH) {
            // base64 output is ASCII, so every chunk is valid UTF-8.
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
    }
    out.push_str(&end_line(label));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_block_parses_back_to_its_parts() {
        let text = write(
            "TEST",
            &[("Version", "1")],
            &[("", b"hello"), ("SIG", b"xy")],
        );
        let block = parse(text.as_bytes(), "TEST").unwrap();
        assert_eq!(block.headers, vec![("Version".to_owned(), "1".to_owned())]);
        assert_eq!(decode(&block.sections[0].1).unwrap(), b"hello");
        assert_eq!(block.sections[1].0, "SIG");
        assert_eq!(decode(&block.sections[1].1).unwrap(), b"xy");
    }

    #[test]
    fn text_around_the_block_is_ignored() {
        let text = write("TEST", &[], &[("", b"hello")]);
        let wrapped = format!("Dear customer,\nhere it is:\n\n{text}\nRegards\n");
        assert!(parse(wrapped.as_bytes(), "TEST").is_ok());
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        // "aGVsbG8=" is "hello"; "aGVsbG9=" differs only in unused trailing bits.
        assert!(decode("aGVsbG8=").is_ok());
        assert!(decode("aGVsbG9=").is_err());
        assert!(decode("aGVsbG8").is_err());
        assert!(decode("aGVs bG8=").is_err());
    }

    #[test]
    fn a_missing_end_line_is_malformed() {
        let text = "-----BEGIN TEST-----\naGVsbG8=\n";
        assert_eq!(
            parse(text.as_bytes(), "TEST"),
            Err(ArmourError::Malformed(
                "no '-----END TEST-----' line".to_owned()
            ))
        );
    }

    #[test]
    fn another_kind_of_block_is_named() {
        let text = "-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n";
        assert_eq!(
            parse(text.as_bytes(), "TEST"),
            Err(ArmourError::NoBlock(
                "found '-----BEGIN PGP MESSAGE-----' instead".to_owned()
            ))
        );
    }
}

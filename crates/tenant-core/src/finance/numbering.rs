//! Invoice numbers from a brand's pattern, such as `{YYYY}-{seq:4}` (2026-0001): text,
//! the issue date's `{YYYY}`, `{YY}` or `{MM}`, and exactly one `{seq}` or `{seq:N}` (the
//! running number, at least N digits). Numbers run on within a period and start again
//! at the brand's first number in a new one: the period is the pattern without its
//! running number (`2026-` for `{YYYY}-{seq:4}`; one period for ever when the pattern
//! has no date in it). The store hands out the running numbers (gap-free, at sending).

use time::Date;

use crate::error::{Error, Result};

/// The longest pattern.
const LONGEST: usize = 60;
/// The most digits `{seq:N}` may ask for.
const WIDEST: usize = 12;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year,
    ShortYear,
    Month,
    Seq(usize),
}

/// A brand's numbering pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    pieces: Vec<Piece>,
}

impl Pattern {
    /// Reads a pattern typed into `field`: at most 60 characters of letters, digits and
    /// `- / . _ #`, the placeholders above, and exactly one running number.
    pub fn parse(field: &'static str, text: &str) -> Result<Pattern> {
        let text = text.trim();
        let wrong = |why: String| Error::field(field, why);
        if text.is_empty() || text.chars().count() > LONGEST {
            return Err(wrong(format!(
                "a number pattern has 1 to {LONGEST} characters, such as {{YYYY}}-{{seq:4}}"
            )));
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or_else(|| wrong("a '{' has no closing '}'".to_owned()))?;
                let name = &after[..end];
                pieces.push(match name {
                    "YYYY" => Piece::Year,
                    "YY" => Piece::ShortYear,
                    "MM" => Piece::Month,
                    "seq" => Piece::Seq(1),
                    other => match other.strip_prefix("seq:").map(str::parse::<usize>) {
                        Some(Ok(width)) if (1..=WIDEST).contains(&width) => Piece::Seq(width),
                        Some(_) => {
                            return Err(wrong(format!("{{seq:N}} takes N from 1 to {WIDEST}")));
                        }
                        None => {
                            return Err(wrong(format!(
                                "{{{other}}} is not a placeholder: use {{YYYY}}, {{YY}}, {{MM}} and {{seq}} or {{seq:N}}"
                            )));
                        }
                    },
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if let Some(c) = literal.chars().find(|c| {
                    !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.' | '_' | '#'))
                }) {
                    return Err(wrong(format!(
                        "'{c}' cannot be in an invoice number: use letters, digits and - / . _ #"
                    )));
                }
                pieces.push(Piece::Text(literal.to_owned()));
                rest = &rest[end..];
            }
        }
        let seqs = pieces.iter().filter(|p| matches!(p, Piece::Seq(_))).count();
        if seqs != 1 {
            return Err(wrong(
                "a number pattern has exactly one {seq} or {seq:N}".to_owned(),
            ));
        }
        Ok(Pattern {
            text: text.to_owned(),
            pieces,
        })
    }

    /// The pattern as typed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The number of running number `seq` issued on `date`.
    pub fn number(&self, date: Date, seq: u64) -> String {
        self.render(date, Some(seq))
    }

    /// The period a number issued on `date` belongs to: running numbers start again in a
    /// new one.
    pub fn period(&self, date: Date) -> String {
        self.render(date, None)
    }

    fn render(&self, date: Date, seq: Option<u64>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Year => out.push_str(&format!("{:04}", date.year())),
                Piece::ShortYear => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
                Piece::Month => out.push_str(&format!("{:02}", u8::from(date.month()))),
                Piece::Seq(width) => match seq {
                    Some(seq) => out.push_str(&format!("{seq:0width$}")),
                    None => out.push_str("{seq}"),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn pattern(text: &str) -> Pattern {
        Pattern::parse("number_pattern", text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn numbers_follow_the_pattern_and_periods_follow_its_dates() {
        let yearly = pattern("{YYYY}-{seq:4}");
        assert_eq!(yearly.number(date!(2026 - 12 - 31), 1), "2026-0001");
        assert_eq!(yearly.number(date!(2027 - 01 - 01), 12345), "2027-12345");
        assert_ne!(
            yearly.period(date!(2026 - 12 - 31)),
            yearly.period(date!(2027 - 01 - 01))
        );
        assert_eq!(
            yearly.period(date!(2026 - 01 - 01)),
            yearly.period(date!(2026 - 12 - 31))
        );
        let monthly = pattern("INV/{YY}{MM}/{seq:3}");
        assert_eq!(monthly.number(date!(2026 - 03 - 09), 7), "INV/2603/007");
        let endless = pattern("RE#{seq}");
        assert_eq!(endless.number(date!(2026 - 03 - 09), 42), "RE#42");
        assert_eq!(
            endless.period(date!(2020 - 01 - 01)),
            endless.period(date!(2030 - 06 - 01))
        );
    }

    #[test]
    fn a_pattern_needs_one_running_number_and_plain_characters() {
        for bad in [
            "",
            "{YYYY}",
            "{seq}-{seq}",
            "{YYYY}-{seq:0}",
            "{YYYY}-{seq:13}",
            "{DD}-{seq}",
            "{seq",
            "A {seq}",
            "<b>{seq}",
            &format!("{}{{seq}}", "x".repeat(60)),
        ] {
            assert!(
                matches!(
                    Pattern::parse("number_pattern", bad),
                    Err(Error::Field {
                        field: "number_pattern",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}

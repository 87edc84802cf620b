//! Reading the free text people type into fields: names, titles and descriptions. A
//! text that does not fit is a field error naming the field.

use time::{Date, Month};

use crate::error::{Error, Result};

/// A one-line text given in `field`: trimmed, 1 to `max` characters, no control
/// characters; `what` names it in the error ("a project's name").
pub fn single_line(field: &'static str, what: &str, text: &str, max: usize) -> Result<String> {
    let line = text.trim();
    if line.is_empty() || line.chars().count() > max || line.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!("{what} must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(line.to_owned())
}

/// A free text such as a description given in `field`: line ends made one kind (forms
/// send CRLF), trimmed, at most 20,000 characters, no control characters but line breaks
/// and tabs.
pub fn long_text(field: &'static str, text: &str) -> Result<String> {
    let text = text.replace("\r\n", "\n");
    let trimmed = text.trim();
    if trimmed.chars().count() > 20_000
        || trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::field(
            field,
            "a description may have at most 20,000 characters and no control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Reads a person's display name.
pub fn parse_name(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            "a name must be 1 to 200 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Reads a date written `YYYY-MM-DD` given in `field`.
pub fn parse_date(field: &'static str, text: &str) -> Result<Date> {
    let wrong = || Error::field(field, format!("'{text}' is not a date like 2027-01-31"));
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(wrong());
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4
        || month.len() != 2
        || day.len() != 2
        || !(digits(year) && digits(month) && digits(day))
    {
        return Err(wrong());
    }
    let year: i32 = year.parse().map_err(|_| wrong())?;
    let month: u8 = month.parse().map_err(|_| wrong())?;
    let day: u8 = day.parse().map_err(|_| wrong())?;
    let month = Month::try_from(month).map_err(|_| wrong())?;
    Date::from_calendar_date(year, month, day).map_err(|_| wrong())
}

/// Reads a country given in `field`: two letters (ISO 3166-1 alpha-2, any case), or
/// nothing when blank.
pub fn parse_country(field: &'static str, text: &str) -> Result<Option<String>> {
    let code = text.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Ok(None);
    }
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::field(
            field,
            format!(
                "'{text}' is not a country code: use its two letters (ISO 3166-1), such as DE, FR or GB"
            ),
        ));
    }
    Ok(Some(code))
}

//! A brand's white-label look: the name people see, colours, sign-in message, the sender
//! name of its mail, optional custom CSS, and a logo and favicon. Everything a page, a mail
//! or an error page of the brand shows comes from here, so nothing names the vendor or
//! another brand. Colours must keep text readable (WCAG AA contrast with white); custom CSS
//! may not load anything from elsewhere; images are checked by their bytes, not by what
//! the upload claims.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::access::permissions::need;
use crate::access::{Actor, Permitted};
use crate::audit::{self, Target};
use crate::brand::settings::{area_in, put_area};
use crate::error::{Error, Result};
use crate::platform::tenant::TenantContext;
use crate::store::TenantStore;
use crate::store::Tx;

/// The default primary colour (buttons, the header).
pub const DEFAULT_PRIMARY: &str = "#1f4e79";
/// The default accent colour (links, highlights).
pub const DEFAULT_ACCENT: &str = "#8a3b12";
/// The contrast every colour needs against white text or a white page (WCAG AA).
pub const MIN_CONTRAST: f64 = 4.5;
/// The largest custom CSS, in bytes.
pub const MAX_CSS: usize = 20 * 1024;

const AREA: &str = "branding";

/// The look as stored; unset fields take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// The name people see; the name the domain was added with when unset.
    pub name: Option<String>,
    /// `#rrggbb`.
    pub primary_colour: Option<String>,
    /// `#rrggbb`.
    pub accent_colour: Option<String>,
    /// A sentence on the sign-in page.
    pub sign_in_message: Option<String>,
    /// The display name mail is sent under.
    pub email_sender_name: Option<String>,
    /// Extra CSS for every page.
    pub custom_css: Option<String>,
    /// How dates are written on pages and in mail (a [`DateFormat`] word).
    pub date_format: Option<String>,
}

/// How a brand writes dates, one format everywhere (its people's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// `2027-01-31` (ISO 8601), the default.
    #[default]
    Iso,
    /// `31 January 2027`.
    DayMonthYear,
    /// `January 31, 2027`.
    MonthDayYear,
    /// `31.01.2027`.
    Dotted,
    /// `31/01/2027`.
    DaySlash,
    /// `01/31/2027`.
    MonthSlash,
}

impl DateFormat {
    /// Every format, in the order a picker offers them.
    pub const ALL: [DateFormat; 6] = [
        DateFormat::Iso,
        DateFormat::DayMonthYear,
        DateFormat::MonthDayYear,
        DateFormat::Dotted,
        DateFormat::DaySlash,
        DateFormat::MonthSlash,
    ];

    /// The stored and API word.
    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "iso",
            DateFormat::DayMonthYear => "day-month-year",
            DateFormat::MonthDayYear => "month-day-year",
            DateFormat::Dotted => "dd.mm.yyyy",
            DateFormat::DaySlash => "dd/mm/yyyy",
            DateFormat::MonthSlash => "mm/dd/yyyy",
        }
    }

    /// Reads the word; anything else is a field error naming the words.
    pub fn parse(text: &str) -> Result<Self> {
        DateFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == text.trim())
            .ok_or_else(|| {
                Error::field(
                    "date_format",
                    "use iso, day-month-year, month-day-year, dd.mm.yyyy, dd/mm/yyyy or mm/dd/yyyy",
                )
            })
    }

    /// `date` written this way.
    pub fn date(self, date: time::Date) -> String {
        let (year, day) = (date.year(), date.day());
        let month = u8::from(date.month());
        match self {
            DateFormat::Iso => format!("{year:04}-{month:02}-{day:02}"),
            DateFormat::DayMonthYear => format!("{day} {} {year}", date.month()),
            DateFormat::MonthDayYear => format!("{} {day}, {year}", date.month()),
            DateFormat::Dotted => format!("{day:02}.{month:02}.{year:04}"),
            DateFormat::DaySlash => format!("{day:02}/{month:02}/{year:04}"),
            DateFormat::MonthSlash => format!("{month:02}/{day:02}/{year:04}"),
        }
    }

    /// A moment written this way, with its time of day (UTC).
    pub fn moment(self, at: time::OffsetDateTime) -> String {
        let at = at.to_offset(time::UtcOffset::UTC);
        format!(
            "{} {:02}:{:02} UTC",
            self.date(at.date()),
            at.hour(),
            at.minute()
        )
    }
}

/// The look in effect, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// The name people see.
    pub name: String,
    /// `#rrggbb`.
    pub primary: String,
    /// `#rrggbb`.
    pub accent: String,
    /// A sentence on the sign-in page.
    pub sign_in_message: Option<String>,
    /// The display name mail is sent under.
    pub sender_name: String,
    /// Extra CSS (already checked).
    pub custom_css: Option<String>,
    /// The logo's digest when there is one (for cache-busting addresses).
    pub logo: Option<String>,
    /// The favicon's digest when there is one.
    pub favicon: Option<String>,
    /// How dates are written.
    pub date_format: DateFormat,
}

impl Look {
    /// What the API shows.
    pub fn view(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "primary_colour": self.primary,
            "accent_colour": self.accent,
            "sign_in_message": self.sign_in_message,
            "email_sender_name": self.sender_name,
            "custom_css": self.custom_css,
            "date_format": self.date_format.as_str(),
            "logo_url": self.logo.as_ref().map(|d| format!("/branding/logo?v={d}")),
            "favicon_url": self.favicon.as_ref().map(|d| format!("/branding/favicon?v={d}")),
        })
    }
}

/// An image of the brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// Shown in the header, on the sign-in page and in mail.
    Logo,
    /// The browser tab's icon.
    Favicon,
}

impl Asset {
    /// The name in addresses and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Asset::Logo => "logo",
            Asset::Favicon => "favicon",
        }
    }

    /// The largest accepted file, in bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            Asset::Logo => 512 * 1024,
            Asset::Favicon => 128 * 1024,
        }
    }

    fn area(self) -> String {
        format!("asset:{}", self.as_str())
    }

    /// Where its type and digest are kept apart from the bytes, so every page can name
    /// the image without reading it.
    fn meta_area(self) -> String {
        format!("asset-meta:{}", self.as_str())
    }

    /// The asset named `name`.
    pub fn parse(name: &str) -> Option<Asset> {
        match name {
            "logo" => Some(Asset::Logo),
            "favicon" => Some(Asset::Favicon),
            _ => None,
        }
    }
}

/// What pages need of a stored image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageMeta {
    content_type: String,
    digest: String,
}

/// A stored image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// The type its bytes show.
    pub content_type: String,
    /// SHA-256 of the bytes, hex, short.
    pub digest: String,
    /// The bytes, base64.
    data: String,
}

impl Image {
    /// The bytes.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        STANDARD
            .decode(&self.data)
            .map_err(|_| Error::Invalid("a stored image is damaged".to_owned()))
    }
}

/// The type of an image from its first bytes: PNG, JPEG, GIF, WebP, ICO or SVG.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if bytes.starts_with(&[0, 0, 1, 0]) {
        return Some("image/x-icon");
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let head = text.trim_start_matches('\u{feff}').trim_start();
    let lower = head.get(..head.len().min(512))?.to_ascii_lowercase();
    (lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")))
        .then_some("image/svg+xml")
}

/// `#rrggbb` in lower case, or a field error.
fn colour(field: &'static str, text: &str) -> Result<String> {
    let text = text.trim().to_ascii_lowercase();
    let ok = text.len() == 7
        && text.starts_with('#')
        && text[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(Error::field(
            field,
            "use a colour like #1f4e79 (a # and six hex digits)",
        ));
    }
    let ratio = contrast_with_white(&text);
    if ratio < MIN_CONTRAST {
        return Err(Error::field(
            field,
            format!(
                "{text} is too light: white text on it (and it on a white page) has a contrast of {ratio:.1}:1, and needs at least {MIN_CONTRAST}:1 to stay readable; choose a darker shade"
            ),
        ));
    }
    Ok(text)
}

/// The WCAG 2 contrast ratio of `#rrggbb` against white.
pub fn contrast_with_white(hex: &str) -> f64 {
    let channel = |i: usize| {
        let value = u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        let c = f64::from(value) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    1.05 / (luminance + 0.05)
}

/// Custom CSS that loads nothing from anywhere and cannot leave its `<style>` element.
fn css(text: &str) -> Result<Option<String>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > MAX_CSS {
        return Err(Error::field(
            "custom_css",
            format!("keep custom CSS under {} KiB", MAX_CSS / 1024),
        ));
    }
    let lower = text.to_ascii_lowercase();
    let refused = [
        ("@import", "@import (it loads another style sheet)"),
        ("url(", "url(…) (it loads a file; upload a logo instead)"),
        ("image-set(", "image-set(…) (it loads a file)"),
        ("expression(", "expression(…)"),
        ("javascript:", "javascript:"),
        ("behavior", "behavior"),
        ("-moz-binding", "-moz-binding"),
        ("</", "</ (it would end the style element)"),
        ("<!--", "<!--"),
        ("\\", "backslash escapes"),
        ("@font-face", "@font-face (it loads a font)"),
    ];
    if let Some((_, what)) = refused.iter().find(|(needle, _)| lower.contains(needle)) {
        return Err(Error::field(
            "custom_css",
            format!("custom CSS may not use {what}: it can only restyle this site"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Error::field(
            "custom_css",
            "custom CSS may not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Optional one-line text of at most `max` characters.
fn line(field: &'static str, text: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(text) = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!("use at most {max} characters on one line"),
        ));
    }
    Ok(Some(text))
}

/// Checks a whole new look; every field is checked before any is kept.
pub fn check(branding: Branding) -> Result<Branding> {
    Ok(Branding {
        name: line("name", branding.name, 100)?,
        primary_colour: branding
            .primary_colour
            .filter(|c| !c.trim().is_empty())
            .map(|c| colour("primary_colour", &c))
            .transpose()?,
        accent_colour: branding
            .accent_colour
            .filter(|c| !c.trim().is_empty())
            .map(|c| colour("accent_colour", &c))
            .transpose()?,
        sign_in_message: line("sign_in_message", branding.sign_in_message, 500)?,
        email_sender_name: line("email_sender_name", branding.email_sender_name, 100)?,
        custom_css: branding.custom_css.map(|c| css(&c)).transpose()?.flatten(),
        date_format: branding
            .date_format
            .filter(|f| !f.trim().is_empty())
            .map(|f| DateFormat::parse(&f).map(|f| f.as_str().to_owned()))
            .transpose()?,
    })
}

async fn look_in(tx: &mut Tx, registered: &str) -> Result<Look> {
    let branding: Branding = area_in(tx, AREA).await?.unwrap_or_default();
    let logo: Option<ImageMeta> = area_in(tx, &Asset::Logo.meta_area()).await?;
    let favicon: Option<ImageMeta> = area_in(tx, &Asset::Favicon.meta_area()).await?;
    let name = branding.name.unwrap_or_else(|| registered.to_owned());
    Ok(Look {
        sender_name: branding.email_sender_name.unwrap_or_else(|| name.clone()),
        name,
        primary: branding
            .primary_colour
            .unwrap_or_else(|| DEFAULT_PRIMARY.to_owned()),
        accent: branding
            .accent_colour
            .unwrap_or_else(|| DEFAULT_ACCENT.to_owned()),
        sign_in_message: branding.sign_in_message,
        custom_css: branding.custom_css,
        logo: logo.map(|i| i.digest),
        favicon: favicon.map(|i| i.digest),
        date_format: branding
            .date_format
            .as_deref()
            .and_then(|f| DateFormat::parse(f).ok())
            .unwrap_or_default(),
    })
}

/// The look of `context`'s brand (for every page and mail; no permission involved).
pub async fn look(context: &TenantContext) -> Result<Look> {
    look_of(context.store(), &context.tenant.brand).await
}

/// The look of the brand registered as `registered` in `store` (cached until the store
/// changes: [`crate::cache`]).
pub async fn look_of(store: &TenantStore, registered: &str) -> Result<Look> {
    let cached = &store.cached;
    let hit = cached
        .get(&cached.caches.looks, &cached.id())
        .filter(|entry| entry.0 == registered);
    if let Some(entry) = hit {
        return Ok(entry.1.clone());
    }
    let stamp = cached.stamp();
    let mut tx = store.read().await?;
    let look = look_in(&mut tx, registered).await?;
    drop(tx);
    let entry = Arc::new((registered.to_owned(), look.clone()));
    cached.keep(&cached.caches.looks, cached.id(), stamp, entry);
    Ok(look)
}

/// The stored settings (unset fields `None`).
pub async fn branding(store: &TenantStore) -> Result<Branding> {
    let mut tx = store.read().await?;
    Ok(area_in(&mut tx, AREA).await?.unwrap_or_default())
}

/// Replaces the look; audited.
pub async fn set_branding(
    context: &TenantContext,
    permit: &Permitted<'_, need::SettingsManage>,
    wanted: Branding,
) -> Result<Look> {
    let wanted = check(wanted)?;
    let mut tx = context.store().write().await?;
    let before: Branding = area_in(&mut tx, AREA).await?.unwrap_or_default();
    put_area(&mut tx, AREA, Some(&wanted)).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "branding.update",
        Target::new("branding", AREA),
    )
    .before(json!(before))
    .after(json!(wanted))
    .write(&mut tx)
    .await?;
    let look = look_in(&mut tx, &context.tenant.brand).await?;
    tx.commit().await?;
    Ok(look)
}

/// A stored image, if any (served to anyone: the sign-in page shows the logo).
pub async fn image(store: &TenantStore, asset: Asset) -> Result<Option<(Image, Vec<u8>)>> {
    let mut tx = store.read().await?;
    let Some(image) = area_in::<Image>(&mut tx, &asset.area()).await? else {
        return Ok(None);
    };
    let bytes = image.bytes()?;
    Ok(Some((image, bytes)))
}

/// Stores an uploaded image after checking its size and, by its bytes, its type.
pub async fn set_image(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
    asset: Asset,
    bytes: &[u8],
) -> Result<Image> {
    if bytes.is_empty() {
        return Err(Error::field("file", "the file is empty"));
    }
    if bytes.len() > asset.max_bytes() {
        return Err(Error::field(
            "file",
            format!(
                "the {} may be at most {} KiB; this file is {} KiB",
                asset.as_str(),
                asset.max_bytes() / 1024,
                bytes.len().div_ceil(1024)
            ),
        ));
    }
    let content_type = sniff(bytes)
        .ok_or_else(|| Error::field("file", "upload a PNG, JPEG, GIF, WebP, ICO or SVG image"))?;
    let digest: String = Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let image = Image {
        content_type: content_type.to_owned(),
        digest,
        data: STANDARD.encode(bytes),
    };
    let meta = ImageMeta {
        content_type: image.content_type.clone(),
        digest: image.digest.clone(),
    };
    let mut tx = store.write().await?;
    put_area(&mut tx, &asset.area(), Some(&image)).await?;
    put_area(&mut tx, &asset.meta_area(), Some(&meta)).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "branding.image_set",
        Target::new("branding", asset.as_str()),
    )
    .after(
        json!({"content_type": image.content_type, "bytes": bytes.len(), "digest": image.digest}),
    )
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(image)
}

/// Removes an image; whether there was one.
pub async fn remove_image(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
    asset: Asset,
) -> Result<bool> {
    let mut tx = store.write().await?;
    if area_in::<Image>(&mut tx, &asset.area()).await?.is_none() {
        return Ok(false);
    }
    put_area::<Image>(&mut tx, &asset.area(), None).await?;
    put_area::<ImageMeta>(&mut tx, &asset.meta_area(), None).await?;
    audit::note(
        &Actor::from(permit.principal()),
        "branding.image_remove",
        Target::new("branding", asset.as_str()),
    )
    .write(&mut tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_brands_one_way_and_unknown_formats_are_refused() {
        let day = time::Date::from_calendar_date(2027, time::Month::January, 31).unwrap();
        let written: Vec<String> = DateFormat::ALL.iter().map(|f| f.date(day)).collect();
        assert_eq!(
            written,
            [
                "2027-01-31",
                "31 January 2027",
                "January 31, 2027",
                "31.01.2027",
                "31/01/2027",
                "01/31/2027"
            ]
        );
        for format in DateFormat::ALL {
            assert_eq!(DateFormat::parse(format.as_str()).ok(), Some(format));
        }
        let refused = check(Branding {
            date_format: Some("yyyy".to_owned()),
            ..Branding::default()
        });
        assert!(
            matches!(
                refused,
                Err(Error::Field {
                    field: "date_format",
                    ..
                })
            ),
            "{refused:?}"
        );
        let at = time::macros::datetime!(2027-01-31 23:05 +02:00);
        assert_eq!(DateFormat::Iso.moment(at), "2027-01-31 21:05 UTC");
    }

    #[test]
    fn colours_need_contrast_with_white() {
        assert!((contrast_with_white("#000000") - 21.0).abs() < 0.01);
        assert!((contrast_with_white("#ffffff") - 1.0).abs() < 0.01);
        assert!(colour("primary_colour", DEFAULT_PRIMARY).is_ok());
        assert!(colour("accent_colour", DEFAULT_ACCENT).is_ok());
        assert_eq!(colour("p", " #1F4E79 ").ok().as_deref(), Some("#1f4e79"));
        let light = colour("primary_colour", "#ffdd00")
            .err()
            .map(|e| e.to_string());
        assert!(light.is_some_and(|m| m.contains("too light")));
        assert!(colour("p", "blue").is_err());
        assert!(colour("p", "#12345").is_err());
    }

    #[test]
    fn custom_css_cannot_load_anything_or_escape() {
        assert!(css("body { color: #222; }").is_ok());
        for bad in [
            "@import 'https://evil.test/x.css';",
            "body { background: url(https://evil.test/a.png) }",
            "body { background: URL( //evil.test ) }",
            "</style><script>alert(1)</script>",
            "body { background: u\\72l(x) }",
            "@font-face { font-family: x; src: local(x) }",
        ] {
            assert!(css(bad).is_err(), "{bad}");
        }
        assert_eq!(css("  ").ok(), Some(None));
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            sniff(b"  <svg xmlns='http://www.w3.org/2000/svg'/>"),
            Some("image/svg+xml")
        );
        assert_eq!(sniff(b"<?xml version='1.0'?><svg/>"), Some("image/svg+xml"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
    }
}

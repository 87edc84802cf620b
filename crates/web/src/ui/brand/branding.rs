//! The Branding page (`settings.manage`): name, colours, date format, sign-in message,
//! sender name, custom CSS, and the logo and favicon. Changes apply at once to every page and mail.

use axum::extract::{Extension, Multipart, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use tenant_core::TenantContext;
use tenant_core::access::Permitted;
use tenant_core::access::permissions::need;
use tenant_core::brand::branding::{self, Asset, Branding, DateFormat};

use crate::http::error::ApiError;
use crate::http::viewer::store_failure;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::forms::DoneQuery;
use crate::ui::layout::{Field, Section, csrf_field, notice};

/// The Branding page's routes.
pub(crate) fn routes() -> Pages {
    Pages::new()
        .route("/settings/branding", "GET POST", get(page).post(save))
        .route("/branding/{asset}", "GET", get(image))
}

fn form(
    viewer: &Viewer,
    values: &Branding,
    errors: &[(&'static str, String)],
    message: Option<(String, bool)>,
) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    };
    let look = &viewer.look;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let colour = |name: &str, label: &str, value: &str| {
        let id = format!("f-{name}");
        let err = error(name);
        html! {
            label for=(id) { (label) }
            input id=(id) name=(name) type="color" value=(value)
                aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| format!("{id}-error"))];
            @if let Some(m) = err { p.field-error id={ (id) "-error" } { (m) } }
        }
    };
    let chosen_format = values
        .date_format
        .as_deref()
        .and_then(|f| DateFormat::parse(f).ok())
        .unwrap_or(look.date_format);
    let example = time::Date::from_calendar_date(2027, time::Month::January, 31).ok();
    let name = text(&values.name);
    let sender = text(&values.email_sender_name);
    html! {
        h1 { "Branding" }
        @if let Some((text, is_error)) = &message { (notice(text, *is_error)) }
        form method="post" action="/settings/branding" enctype="multipart/form-data" novalidate {
            (csrf_field(&viewer.token))
            section.card {
                h2 { "Name and colours" }
                (Field::new("name", "Name shown to everyone").value(&name).error(error("name")).placeholder(&viewer.tenant.tenant.brand))
                div.row {
                    div { (colour("primary_colour", "Primary colour (header, buttons)", values.primary_colour.as_deref().unwrap_or(&look.primary))) }
                    div { (colour("accent_colour", "Accent colour (links, focus)", values.accent_colour.as_deref().unwrap_or(&look.accent))) }
                }
                p.hint { "Colours need a contrast of at least 4.5:1 with white so text stays readable." }
            }
            section.card {
                h2 { "Dates" }
                label for="f-date_format" { "How dates are written on every page and in mail" }
                select id="f-date_format" name="date_format" {
                    @for format in DateFormat::ALL {
                        option value=(format.as_str()) selected[format == chosen_format] {
                            @match example { Some(day) => (format.date(day)), None => (format.as_str()) }
                        }
                    }
                }
                @if let Some(m) = error("date_format") { p.field-error { (m) } }
            }
            section.card {
                h2 { "Sign-in page and e-mail" }
                label for="f-msg" { "Sign-in message" }
                textarea id="f-msg" name="sign_in_message" rows="2"
                    aria-invalid=[error("sign_in_message").map(|_| "true")] aria-describedby=[error("sign_in_message").map(|_| "f-msg-error")] {
                    (text(&values.sign_in_message))
                }
                @if let Some(m) = error("sign_in_message") { p.field-error id="f-msg-error" { (m) } }
                (Field::new("email_sender_name", "E-mail sender name").value(&sender).error(error("email_sender_name")))
            }
            section.card {
                h2 { "Logo and favicon" }
                p.hint { "PNG, JPEG, GIF, WebP, ICO or SVG; logo up to 512 KiB, favicon up to 128 KiB. Leave empty to keep the current one." }
                @if let Some(digest) = &look.logo {
                    p { img src={ "/branding/logo?v=" (digest) } alt="Current logo" style="max-height:3rem"; }
                }
                label for="f-logo" { "Logo" }
                input id="f-logo" name="logo" type="file" accept="image/*";
                @if let Some(m) = error("logo") { p.field-error { (m) } }
                label for="f-favicon" { "Favicon" }
                input id="f-favicon" name="favicon" type="file" accept="image/*";
                @if let Some(m) = error("favicon") { p.field-error { (m) } }
            }
            section.card {
                h2 { "Custom CSS" }
                p.hint { "Restyles this site only: it may not load anything (no url(), @import or fonts)." }
                label for="f-css" { "CSS" }
                textarea id="f-css" name="custom_css" rows="6"
                    aria-invalid=[error("custom_css").map(|_| "true")] aria-describedby=[error("custom_css").map(|_| "f-css-error")] {
                    (text(&values.custom_css))
                }
                @if let Some(m) = error("custom_css") { p.field-error id="f-css-error" { (m) } }
            }
            div.actions { button type="submit" { "Save branding" } }
        }
    }
}

fn allowed(viewer: &Viewer) -> Result<Permitted<'_, need::SettingsManage>, Response> {
    viewer.permit::<need::SettingsManage>()
}

/// `GET /settings/branding`.
pub(crate) async fn page(
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Response> {
    allowed(&viewer)?;
    let values = branding::branding(viewer.tenant.store())
        .await
        .unwrap_or_default();
    let message = (query.done.as_deref() == Some("saved")).then(|| {
        (
            "Branding saved. Every page and e-mail of this site uses it now.".to_owned(),
            false,
        )
    });
    let body = form(&viewer, &values, &[], message);
    Ok(viewer.page("Branding", Section::Settings, body))
}

/// `POST /settings/branding` (multipart: the text fields and optional image files).
pub(crate) async fn save(
    viewer: Viewer,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, Response> {
    let permit = allowed(&viewer)?;
    let mut values = Branding::default();
    let mut token = String::new();
    let mut images: Vec<(Asset, Vec<u8>)> = Vec::new();
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if let Ok(mut multipart) = multipart {
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => {
                    errors.push(("logo", format!("The upload did not arrive whole: {error}.")));
                    break;
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            let has_file = field.file_name().is_some_and(|f| !f.is_empty());
            let Ok(bytes) = field.bytes().await else {
                errors.push(("logo", "The upload did not arrive whole.".to_owned()));
                break;
            };
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            match name.as_str() {
                "csrf" => token = text(),
                "name" => values.name = Some(text()),
                "primary_colour" => values.primary_colour = Some(text()),
                "accent_colour" => values.accent_colour = Some(text()),
                "sign_in_message" => values.sign_in_message = Some(text()),
                "email_sender_name" => values.email_sender_name = Some(text()),
                "custom_css" => values.custom_css = Some(text()),
                "date_format" => values.date_format = Some(text()),
                "logo" | "favicon" if has_file && !bytes.is_empty() => {
                    if let Some(asset) = Asset::parse(&name) {
                        images.push((asset, bytes.to_vec()));
                    }
                }
                _ => {}
            }
        }
    }
    viewer.check_form(&headers, &token)?;
    // Check everything before keeping anything.
    let checked = match branding::check(values.clone()) {
        Ok(checked) => Some(checked),
        Err(tenant_core::Error::Field { field, message }) => {
            errors.push((
                field,
                ApiError::Core(tenant_core::Error::field(field, message)).page_message(),
            ));
            None
        }
        Err(error) => {
            errors.push(("name", ApiError::Core(error).page_message()));
            None
        }
    };
    for (asset, bytes) in &images {
        if bytes.len() > asset.max_bytes() || branding::sniff(bytes).is_none() {
            let field = asset.as_str();
            let message = if bytes.len() > asset.max_bytes() {
                format!(
                    "The {field} may be at most {} KiB.",
                    asset.max_bytes() / 1024
                )
            } else {
                format!("The {field} must be a PNG, JPEG, GIF, WebP, ICO or SVG image.")
            };
            errors.push((
                if *asset == Asset::Logo {
                    "logo"
                } else {
                    "favicon"
                },
                message,
            ));
        }
    }
    let saved = match (checked, errors.is_empty()) {
        (Some(checked), true) => {
            let mut result = branding::set_branding(&viewer.tenant, &permit, checked)
                .await
                .map(|_| ());
            for (asset, bytes) in &images {
                if result.is_ok() {
                    result = branding::set_image(viewer.tenant.store(), &permit, *asset, bytes)
                        .await
                        .map(|_| ());
                }
            }
            result
        }
        _ => Err(tenant_core::Error::Invalid(
            "check the marked fields".to_owned(),
        )),
    };
    match saved {
        Ok(()) => Ok(Redirect::to("/settings/branding?done=saved").into_response()),
        Err(error) => {
            let message = if errors.is_empty() {
                ApiError::Core(error).page_message()
            } else {
                "Nothing was saved: check the marked fields.".to_owned()
            };
            let body = form(&viewer, &values, &errors, Some((message, true)));
            Ok(viewer.page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Branding",
                Section::Settings,
                body,
            ))
        }
    }
}

/// `GET /branding/{asset}`: the logo or favicon, for anyone (the sign-in page shows them).
/// An SVG cannot run anything: it is served sandboxed.
pub(crate) async fn image(
    Extension(context): Extension<TenantContext>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = Asset::parse(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (image, bytes) = match branding::image(context.store(), asset).await {
        Ok(Some(found)) => found,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return store_failure(error),
    };
    let etag = format!("\"{}\"", image.digest);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = bytes.into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&image.content_type) {
        out.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

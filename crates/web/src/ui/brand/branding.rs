//! The Branding page (`settings.manage`): name, colours, sign-in message, sender name,
//! custom CSS, and the logo and favicon. Changes apply at once to every page and mail.

use axum::extract::{Extension, Multipart, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tenant_core::TenantContext;
use tenant_core::access::Permitted;
use tenant_core::access::permissions::need;
use tenant_core::brand::branding::{self, Asset, Branding};

use crate::escape_html as e;
use crate::http::error::ApiError;
use crate::http::viewer::store_failure;
use crate::ui::Viewer;
use crate::ui::layout::{Section, csrf_field, input, notice};

fn form(
    viewer: &Viewer,
    values: &Branding,
    errors: &[(&'static str, String)],
    message: Option<(String, bool)>,
) -> String {
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
        let err = error(name).map_or_else(String::new, |m| {
            format!("<p class=\"field-error\" id=\"{id}-error\">{}</p>", e(m))
        });
        let invalid = if err.is_empty() {
            String::new()
        } else {
            format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\"")
        };
        format!(
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{name}\" type=\"color\" value=\"{}\"{invalid}>{err}",
            e(value)
        )
    };
    let mut body = String::from("<h1>Branding</h1>");
    if let Some((text, is_error)) = message {
        body.push_str(&notice(&text, is_error));
    }
    let css_error = error("custom_css").map_or_else(String::new, |m| {
        format!("<p class=\"field-error\" id=\"f-css-error\">{}</p>", e(m))
    });
    let message_error = error("sign_in_message").map_or_else(String::new, |m| {
        format!("<p class=\"field-error\" id=\"f-msg-error\">{}</p>", e(m))
    });
    body.push_str(&format!(
        "<form method=\"post\" action=\"/settings/branding\" enctype=\"multipart/form-data\" novalidate>{}<section class=\"card\"><h2>Name and colours</h2>{}<div class=\"row\"><div>{}</div><div>{}</div></div><p class=\"hint\">Colours need a contrast of at least 4.5:1 with white so text stays readable.</p></section><section class=\"card\"><h2>Sign-in page and e-mail</h2><label for=\"f-msg\">Sign-in message</label><textarea id=\"f-msg\" name=\"sign_in_message\" rows=\"2\">{}</textarea>{message_error}{}</section><section class=\"card\"><h2>Logo and favicon</h2><p class=\"hint\">PNG, JPEG, GIF, WebP, ICO or SVG; logo up to 512 KiB, favicon up to 128 KiB. Leave empty to keep the current one.</p>{}<label for=\"f-logo\">Logo</label><input id=\"f-logo\" name=\"logo\" type=\"file\" accept=\"image/*\">{}<label for=\"f-favicon\">Favicon</label><input id=\"f-favicon\" name=\"favicon\" type=\"file\" accept=\"image/*\">{}</section><section class=\"card\"><h2>Custom CSS</h2><p class=\"hint\">Restyles this site only: it may not load anything (no url(), @import or fonts).</p><label for=\"f-css\">CSS</label><textarea id=\"f-css\" name=\"custom_css\" rows=\"6\">{}</textarea>{css_error}</section><div class=\"actions\"><button type=\"submit\">Save branding</button></div></form>",
        csrf_field(&viewer.token),
        input("name", "Name shown to everyone", "text", &text(&values.name), error("name"), &format!("placeholder=\"{}\"", e(&viewer.tenant.tenant.brand))),
        colour("primary_colour", "Primary colour (header, buttons)", values.primary_colour.as_deref().unwrap_or(&look.primary)),
        colour("accent_colour", "Accent colour (links, focus)", values.accent_colour.as_deref().unwrap_or(&look.accent)),
        e(&text(&values.sign_in_message)),
        input("email_sender_name", "E-mail sender name", "text", &text(&values.email_sender_name), error("email_sender_name"), ""),
        look.logo.as_ref().map_or_else(String::new, |d| format!("<p><img src=\"/branding/logo?v={}\" alt=\"Current logo\" style=\"max-height:3rem\"></p>", e(d))),
        error("logo").map_or_else(String::new, |m| format!("<p class=\"field-error\">{}</p>", e(m))),
        error("favicon").map_or_else(String::new, |m| format!("<p class=\"field-error\">{}</p>", e(m))),
        e(&text(&values.custom_css)),
    ));
    body
}

fn allowed(viewer: &Viewer) -> Result<Permitted<'_, need::SettingsManage>, Response> {
    viewer.permit::<need::SettingsManage>()
}

/// `GET /settings/branding`.
pub(crate) async fn page(viewer: Viewer) -> Response {
    if let Err(refused) = allowed(&viewer) {
        return refused;
    }
    let values = branding::branding(viewer.tenant.store())
        .await
        .unwrap_or_default();
    let body = form(&viewer, &values, &[], None);
    viewer.page("Branding", Section::Settings, body)
}

/// `POST /settings/branding` (multipart: the text fields and optional image files).
pub(crate) async fn save(
    viewer: Viewer,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let permit = match allowed(&viewer) {
        Ok(permit) => permit,
        Err(refused) => return refused,
    };
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
                "logo" | "favicon" if has_file && !bytes.is_empty() => {
                    if let Some(asset) = Asset::parse(&name) {
                        images.push((asset, bytes.to_vec()));
                    }
                }
                _ => {}
            }
        }
    }
    if let Err(refused) = viewer.check_form(&headers, &token) {
        return refused;
    }
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
        Ok(()) => {
            // Show the new look at once.
            let mut fresh = viewer;
            if let Ok(look) = branding::look(&fresh.tenant).await {
                fresh.look = look;
            }
            let values = branding::branding(fresh.tenant.store())
                .await
                .unwrap_or_default();
            let body = form(
                &fresh,
                &values,
                &[],
                Some((
                    "Branding saved. Every page and e-mail of this site uses it now.".to_owned(),
                    false,
                )),
            );
            fresh.page("Branding", Section::Settings, body)
        }
        Err(error) => {
            let message = if errors.is_empty() {
                ApiError::Core(error).page_message()
            } else {
                "Nothing was saved: check the marked fields.".to_owned()
            };
            let body = form(&viewer, &values, &errors, Some((message, true)));
            viewer.page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Branding",
                Section::Settings,
                body,
            )
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

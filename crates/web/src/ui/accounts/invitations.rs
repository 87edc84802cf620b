//! The page an invitation link opens: the invited user sets a password and joins.

use axum::Form;
use axum::extract::Path;
use axum::extract::rejection::FormRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::accounts::password_reset::{Link, PasswordForm, password_page, set_password};

/// The invitation link's route.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/invite/{token}", "GET POST", get(invite_page).post(accept))
}

/// `GET /invite/{token}`.
pub(crate) async fn invite_page(viewer: Viewer, Path(token): Path<String>) -> Response {
    password_page(&viewer, Link::Invitation, &token)
}

/// `POST /invite/{token}`.
pub(crate) async fn accept(
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    set_password(viewer, headers, form, token, Link::Invitation).await
}

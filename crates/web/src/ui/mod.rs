//! The web app: server-rendered pages in the brand's look, working without JavaScript.
//! A page is signed in by the same session cookie as the API; every form that changes
//! something carries a token derived from the session (and the request must come from the
//! site itself), and every action asks the same access policy as the API. Errors are
//! sentences shown where they happened, with what was typed kept.

// A refused page is a whole response, made once per request: boxing it gains nothing.
#![allow(clippy::result_large_err)]

pub(crate) mod accounts;
pub(crate) mod brand;
pub(crate) mod forms;
mod home;
pub(crate) mod layout;
pub(crate) mod work;

use axum::Router;
use axum::routing::{get, post};

use crate::api::WebState;
pub(crate) use crate::http::viewer::Viewer;
use accounts::{
    auth, companies as clients, profile, roles as roles_page, teams as admin_pages, users as people,
};
use brand::{branding as brand_page, settings as settings_pages};
use work::{projects as projects_page, tasks as board};

/// The pages' routes.
pub(crate) fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(home::home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/forgot-password",
            get(auth::forgot_page).post(auth::forgot),
        )
        .route("/reset/{token}", get(auth::reset_page).post(auth::reset))
        .route("/invite/{token}", get(auth::invite_page).post(auth::accept))
        .route("/users", get(people::list).post(people::add))
        .route("/users/{id}", get(people::show))
        .route("/users/{id}/{action}", post(people::act))
        .route("/clients", get(clients::list).post(clients::add))
        .route("/clients/{id}", get(clients::show).post(clients::edit))
        .route("/clients/{id}/contacts", post(clients::add_contact))
        .route("/clients/{id}/contacts/{user}", post(clients::switches))
        .route(
            "/projects",
            get(projects_page::list).post(projects_page::create),
        )
        .route("/projects/{id}", get(projects_page::show))
        .route("/projects/{id}/tasks/{task_id}", get(board::show))
        .route("/projects/{id}/{*rest}", post(projects_page::act))
        .route("/roles", get(roles_page::list).post(roles_page::create))
        .route("/roles/{id}", post(roles_page::update))
        .route("/roles/{id}/delete", post(roles_page::remove))
        .route(
            "/teams",
            get(admin_pages::teams_page).post(admin_pages::teams_action),
        )
        .route("/teams/{*rest}", post(admin_pages::teams_action))
        .route("/audit", get(admin_pages::audit_page))
        .route("/access-review", get(admin_pages::review_page))
        .route("/profile", get(profile::page))
        .route("/profile/{action}", post(profile::post_action))
        .route("/profile/{kind}/{id}", post(profile::post_item))
        .route("/settings", get(settings_pages::index))
        .route(
            "/settings/email",
            get(settings_pages::email).post(settings_pages::save_email),
        )
        .route(
            "/settings/payments",
            get(settings_pages::payments).post(settings_pages::save_payments),
        )
        .route(
            "/settings/security",
            get(settings_pages::security).post(settings_pages::save_security),
        )
        .route(
            "/settings/branding",
            get(brand_page::page).post(brand_page::save),
        )
        .route("/branding/{asset}", get(brand_page::image))
}

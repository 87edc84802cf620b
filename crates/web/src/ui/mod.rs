//! The web app: server-rendered pages in the brand's look, working without JavaScript.
//! A page is signed in by the same session cookie as the API; every form that changes
//! something carries a token derived from the session (and the request must come from the
//! site itself), and every action asks the same access policy as the API. Errors are
//! sentences shown where they happened, with what was typed kept; a change that worked
//! ends on the page's own address (Post/Redirect/Get).
//!
//! Every module owns its routes; [`router`] collects them, one line each. Pages are maud
//! templates (see [`layout`]).

// A refused page is a whole response, made once per request: boxing it gains nothing.
#![allow(clippy::result_large_err)]

pub(crate) mod access;
pub(crate) mod accounts;
pub(crate) mod brand;
pub(crate) mod finance;
pub(crate) mod forms;
mod home;
pub(crate) mod layout;
pub(crate) mod notifications;
mod search;
pub(crate) mod talk;
pub(crate) mod work;

use axum::Router;
use axum::routing::MethodRouter;

use crate::api::WebState;
pub(crate) use crate::http::viewer::Viewer;

/// A module's pages: their router, and each route's methods and path as written, which the
/// page tests walk so that no page route goes unchecked.
pub(crate) struct Pages {
    router: Router<WebState>,
    routes: Vec<(&'static str, &'static str)>,
}

impl Pages {
    pub(crate) fn new() -> Self {
        Pages {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// `path` answered by `handler` for `methods` (`"GET POST"`: the methods it handles).
    pub(crate) fn route(
        mut self,
        path: &'static str,
        methods: &'static str,
        handler: MethodRouter<WebState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        for method in methods.split_whitespace() {
            self.routes.push((method, path));
        }
        self
    }

    fn merge(mut self, other: Pages) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }
}

/// The pages' routes: each module's own, one line each.
pub(crate) fn router() -> Router<WebState> {
    pages().router
}

/// Every page route as (method, path).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    pages().routes
}

fn pages() -> Pages {
    Pages::new()
        .merge(home::routes())
        .merge(accounts::sessions::routes())
        .merge(accounts::password_reset::routes())
        .merge(accounts::invitations::routes())
        .merge(accounts::users::routes())
        .merge(accounts::companies::routes())
        .merge(accounts::roles::routes())
        .merge(accounts::teams::routes())
        .merge(accounts::profile::routes())
        .merge(brand::settings::routes())
        .merge(brand::branding::routes())
        .merge(work::projects::routes())
        .merge(work::tasks::routes())
        .merge(work::board::routes())
        .merge(notifications::routes())
        .merge(work::files::routes())
        .merge(talk::conversations::routes())
        .merge(talk::chat::routes())
        .merge(finance::invoices::routes())
        .merge(finance::recurring::routes())
        .merge(finance::reports::routes())
        .merge(search::routes())
        .merge(access::audit::routes())
        .merge(access::access_review::routes())
}

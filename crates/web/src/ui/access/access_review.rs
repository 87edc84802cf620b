//! The access review page (`users.manage`): everyone with access, the projects they
//! reach, and what deserves a look.

use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use tenant_core::access::access_review;
use tenant_core::access::permissions::{Permission, need};
use tenant_core::names::percent_encode;
use tenant_core::work::projects::ProjectStatus;

use crate::http::error::ApiError;
use crate::ui::Pages;
use crate::ui::Viewer;
use crate::ui::accounts::users::status_badge;
use crate::ui::layout::{Section, notice};

/// The access review's route.
pub(crate) fn routes() -> Pages {
    Pages::new().route("/access-review", "GET", get(review_page))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReviewQuery {
    #[serde(default)]
    cursor: Option<String>,
}

fn flag_text(flag: &str) -> &str {
    match flag {
        "admin" => "admin",
        "unused_90_days" => "unused for 90 days",
        "projects_all_archived" => "all their projects are archived",
        "invitation_expired" => "invitation expired",
        "access_expiring_soon" => "access ends soon",
        other => other,
    }
}

/// `GET /access-review`: every user with role, what they may do and what to look at.
pub(crate) async fn review_page(
    viewer: Viewer,
    Query(query): Query<ReviewQuery>,
) -> Result<Response, Response> {
    let permit = viewer.permit::<need::UsersManage>()?;
    let page =
        access_review::access_review(viewer.tenant.store(), &permit, query.cursor.as_deref(), 100)
            .await
            .map_err(|error| ApiError::Core(error).page_message());
    // A link only for those who can open every project.
    let sees_all = permit
        .principal()
        .permissions()
        .contains(Permission::ProjectsViewAll);
    let dates = viewer.look.date_format;
    let body = html! {
        h1 { "Access review" }
        p { "Everyone with access, the projects they reach, and what deserves a look: admins, accounts unused for 90 days, client contacts whose projects are all archived, invitations that ran out, and access that ends within 14 days." }
        @match &page {
            Ok(page) => section.card {
                table {
                    thead { tr {
                        th scope="col" { "Person" }
                        th scope="col" { "Role" }
                        th.optional scope="col" { "Projects" }
                        th.optional scope="col" { "Two-factor" }
                        th.optional scope="col" { "Last sign-in" }
                        th scope="col" { "Look at" }
                    } }
                    tbody {
                        @for row in &page.items {
                            tr {
                                td {
                                    a href={ "/users/" (row.user.id) } { (row.user.name) }
                                    br;
                                    span.hint { (row.user.email) " · " } (status_badge(row.user.status))
                                }
                                td { (row.role_name) }
                                td.optional {
                                    @if row.all_projects { "every project (their role)" @if !row.projects.is_empty() { ", " } }
                                    @for (i, project) in row.projects.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        @if sees_all { a href={ "/projects/" (project.id) } { (project.name) } } @else { (project.name) }
                                        @if project.status == ProjectStatus::Archived { " (archived)" }
                                    }
                                    @if !row.all_projects && row.projects.is_empty() { "none" }
                                }
                                td.optional { @if row.two_factor { "on" } @else { "off" } }
                                td.optional { @match row.user.last_sign_in_at { Some(at) => (dates.moment(at)), None => "never" } }
                                td {
                                    @for (i, flag) in row.flags.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (flag_text(flag.as_str()))
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.next_cursor {
                    p { a href={ "/access-review?cursor=" (percent_encode(next)) } { "More" } }
                }
            },
            Err(text) => (notice(text, true)),
        }
    };
    Ok(viewer.page("Access review", Section::Review, body))
}

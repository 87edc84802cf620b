//! Form helpers shared by pages: fields from a submitted form (repeated names included),
//! and the permission grid (modules × actions) used for roles and contact switches.

use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet};

use maud::{Markup, html};

/// A submitted form as name/value pairs, in order (check boxes repeat a name).
pub(crate) type Pairs = Vec<(String, String)>;

/// The first value of `name`, or `""`.
pub(crate) fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The permissions ticked under `name`; unknown words are ignored (they cannot be ticked).
pub(crate) fn permissions(pairs: &Pairs, name: &str) -> PermissionSet {
    let chosen: Vec<Permission> = pairs
        .iter()
        .filter(|(key, _)| key == name)
        .filter_map(|(_, value)| Permission::parse(value).ok())
        .collect();
    PermissionSet::of(&chosen)
}

/// The module and action of a permission word.
fn split(permission: Permission) -> (&'static str, &'static str) {
    permission
        .as_str()
        .split_once('.')
        .unwrap_or((permission.as_str(), ""))
}

/// A grid of check boxes named `name`: one row per module, one box per action. Only
/// `offered` permissions can be ticked; `read_only` shows the set without changing it.
pub(crate) fn permission_grid(
    name: &str,
    id_prefix: &str,
    selected: PermissionSet,
    offered: impl Fn(Permission) -> bool,
    read_only: bool,
) -> Markup {
    let mut rows: Vec<(&str, Vec<Permission>)> = Vec::new();
    for permission in Permission::ALL.iter().copied() {
        if !offered(permission) {
            continue;
        }
        let (module, _) = split(permission);
        match rows.iter_mut().find(|(m, _)| *m == module) {
            Some((_, list)) => list.push(permission),
            None => rows.push((module, vec![permission])),
        }
    }
    html! {
        table.grid {
            thead { tr { th scope="col" { "Module" } th scope="col" { "Actions" } } }
            tbody {
                @for (module, list) in &rows {
                    tr {
                        th scope="row" { (module) }
                        td {
                            @for permission in list {
                                @let id = format!("{id_prefix}-{}", permission.as_str().replace('.', "-"));
                                label.check for=(id) {
                                    input type="checkbox" id=(id) name=(name) value=(permission.as_str())
                                        checked[selected.contains(*permission)] disabled[read_only];
                                    " " (split(*permission).1.replace('_', " "))
                                }
                                " "
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `<option>`s for picking staff members: "Name (address)".
pub(crate) fn staff_options<'a>(
    staff: impl Iterator<Item = &'a tenant_core::accounts::users::User>,
) -> Markup {
    html! {
        @for user in staff {
            option value=(user.id) { (user.name) " (" (user.email) ")" }
        }
    }
}

/// `staff` or `client`.
pub(crate) fn kind_word(kind: UserKind) -> &'static str {
    match kind {
        UserKind::Staff => "staff",
        UserKind::Client => "client",
    }
}

/// A failed form: which one (`target`: "new" or the id of the thing it edits), what was
/// typed, and the field error to show in place (or the sentence for the top of the page).
#[derive(Debug, Default)]
pub(crate) struct Failed {
    pub target: String,
    pub typed: Pairs,
    pub field: Option<(&'static str, String)>,
}

impl Failed {
    /// A failure of the form `target` with `typed` input; a field error is kept for its
    /// place, any other error is answered as the page's sentence.
    pub(crate) fn new(target: &str, typed: Pairs, error: tenant_core::Error) -> (Failed, String) {
        match error {
            tenant_core::Error::Field { field, message } => {
                let text =
                    crate::http::error::ApiError::Core(tenant_core::Error::field(field, message))
                        .page_message();
                (
                    Failed {
                        target: target.to_owned(),
                        typed,
                        field: Some((field, text)),
                    },
                    "Nothing was saved: check the marked field.".to_owned(),
                )
            }
            other => (
                Failed {
                    target: target.to_owned(),
                    typed,
                    field: None,
                },
                crate::http::error::ApiError::Core(other).page_message(),
            ),
        }
    }

    /// The error of `field` in the form `target`, if that is what failed.
    pub(crate) fn error(failed: Option<&Failed>, target: &str, field: &str) -> Option<String> {
        failed
            .filter(|f| f.target == target)
            .and_then(|f| f.field.as_ref())
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.clone())
    }

    /// What was typed in the form `target`, if that is what failed.
    pub(crate) fn typed<'a>(failed: Option<&'a Failed>, target: &str) -> Option<&'a Pairs> {
        failed.filter(|f| f.target == target).map(|f| &f.typed)
    }
}

/// An error paragraph for a field that is not a single input (a grid, a list).
pub(crate) fn error_line(message: Option<String>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.field-error role="alert" { (message) }
        }
    }
}

/// A field the form sent, if it sent it (a form leaves out what the viewer may not change).
pub(crate) fn sent(pairs: &Pairs, name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// The query of a page reached after a change (Post/Redirect/Get): what was just done.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    pub(crate) done: Option<String>,
}

//! Form helpers shared by pages: fields from a submitted form (repeated names included),
//! and the permission grid (modules × actions) used for roles and contact switches.

use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet};

use crate::escape_html as e;

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
) -> String {
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
    let mut out = String::from(
        "<table class=\"grid\"><thead><tr><th scope=\"col\">Module</th><th scope=\"col\">Actions</th></tr></thead><tbody>",
    );
    for (module, list) in rows {
        out.push_str(&format!("<tr><th scope=\"row\">{}</th><td>", e(module)));
        for permission in list {
            let (_, action) = split(permission);
            let id = format!("{id_prefix}-{}", permission.as_str().replace('.', "-"));
            let checked = if selected.contains(permission) {
                " checked"
            } else {
                ""
            };
            let disabled = if read_only { " disabled" } else { "" };
            out.push_str(&format!(
                "<label class=\"check\" for=\"{id}\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"{}\"{checked}{disabled}> {}</label> ",
                e(name),
                permission.as_str(),
                e(&action.replace('_', " ")),
            ));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// `<option>`s for picking staff members: "Name (address)".
pub(crate) fn staff_options<'a>(
    staff: impl Iterator<Item = &'a tenant_core::accounts::users::User>,
) -> String {
    staff
        .map(|u| {
            format!(
                "<option value=\"{}\">{} ({})</option>",
                e(&u.id),
                e(&u.name),
                e(&u.email)
            )
        })
        .collect()
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
pub(crate) fn error_line(message: Option<String>) -> String {
    message.map_or_else(String::new, |m| {
        format!("<p class=\"field-error\" role=\"alert\">{}</p>", e(&m))
    })
}

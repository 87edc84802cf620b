//! Form helpers shared by pages: fields from a submitted form (repeated names included),
//! and the permission grid (modules × actions) used for roles and contact switches.

use tenant_core::permissions::{Permission, PermissionSet};
use tenant_core::users::UserKind;

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

/// `staff` or `client`.
pub(crate) fn kind_word(kind: UserKind) -> &'static str {
    match kind {
        UserKind::Staff => "staff",
        UserKind::Client => "client",
    }
}

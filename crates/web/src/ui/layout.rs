//! The page shell every page of a brand shares: its name, logo, favicon, colours and custom
//! CSS; navigation by what the viewer may do; and nothing that names the vendor or another
//! brand. Everything put into a page goes through [`escape_html`].

use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::brand::branding::Look;

use crate::escape_html as e;

/// The style sheet of every brand; colours come in as CSS variables.
pub(crate) const STYLE: &str = r#"
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1d1d1f;background:#f6f7f9}
body{margin:0}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header.bar{background:var(--primary);color:#fff;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1.25rem}
header.bar a{color:#fff}
header.bar .brand{display:flex;flex:none;align-items:center;gap:.6rem;font-weight:700;font-size:1.15rem;text-decoration:none;white-space:nowrap}
header.bar .brand img{max-height:2rem;max-width:8rem;background:#fff;border-radius:4px;padding:2px}
nav.main{display:flex;flex-wrap:wrap;gap:.25rem 1rem;flex:1}
nav.main a{text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
nav.main a[aria-current=page]{border-bottom-color:#fff}
.who{display:flex;align-items:center;gap:.75rem}
.who form{margin:0}
.who button{background:transparent;color:#fff;border:1px solid #fff}
main{max-width:64rem;margin:1.5rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:1.25rem;margin-bottom:1.25rem}
.narrow{max-width:26rem;margin:3rem auto}
.narrow .logo{display:block;max-height:4rem;max-width:12rem;margin:0 auto 1rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:0 0 .75rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=email],input[type=password],input[type=search],select,textarea{width:100%;padding:.55rem .6rem;border:1px solid #8a929c;border-radius:6px;font:inherit;background:#fff}
input[aria-invalid=true]{border-color:#b3261e}
.field-error{color:#b3261e;margin:.25rem 0 0;font-size:.95rem}
.hint{color:#4a5159;font-size:.92rem;margin:.2rem 0 0}
button,.button{display:inline-block;background:var(--primary);color:#fff;border:0;border-radius:6px;padding:.55rem 1rem;font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:var(--primary);border:1px solid var(--primary)}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1rem;align-items:center}
.notice{border-left:4px solid var(--accent);background:#fff;padding:.75rem 1rem;margin-bottom:1rem}
.notice.error{border-left-color:#b3261e}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
td form{display:inline;margin:0}
li form{display:inline;margin:0 0 0 .5rem}
.board{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.75rem;margin-bottom:1rem}
.column{background:#f0f2f5;border-radius:6px;padding:.5rem}
.column h3{font-size:1rem;margin:.25rem 0 .5rem}
.task{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.5rem;margin-bottom:.5rem}
.task p{margin:.25rem 0}
.moves{display:flex;gap:.25rem}
.moves form{margin:0}
.moves button{padding:.1rem .5rem;font-size:.9rem}
li button{padding:.15rem .6rem;font-size:.9rem}
td button{padding:.25rem .6rem;font-size:.9rem}
.status{font-size:.85rem;padding:.1rem .45rem;border-radius:99px;background:#eceff3}
.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem}
label.check{display:inline-flex;align-items:center;gap:.3rem;font-weight:400;margin:.15rem .9rem .15rem 0}
table.grid th[scope=row]{width:8rem;font-weight:600}
@media (max-width:40rem){th.optional,td.optional{display:none}header.bar{padding:.6rem .75rem}}
"#;

/// A page's place in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Projects,
    Users,
    Clients,
    Roles,
    Teams,
    Settings,
    Audit,
    Review,
    Profile,
    Other,
}

/// A page to render.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    pub look: &'a Look,
    pub title: &'a str,
    pub section: Section,
    /// The signed-in viewer, with the form token for the sign-out button.
    pub viewer: Option<(&'a Principal, &'a str)>,
    /// The page's own HTML (escaped by its maker).
    pub body: String,
}

fn nav(principal: &Principal, section: Section) -> String {
    let mut links = vec![
        ("/", "Home", Section::Home),
        ("/projects", "Projects", Section::Projects),
    ];
    let permissions = principal.permissions();
    if principal.kind() == UserKind::Staff {
        for (permission, href, label, at) in [
            (Permission::UsersManage, "/users", "Users", Section::Users),
            (
                Permission::ClientsManage,
                "/clients",
                "Clients",
                Section::Clients,
            ),
            (Permission::RolesManage, "/roles", "Roles", Section::Roles),
            (Permission::TeamsManage, "/teams", "Teams", Section::Teams),
            (
                Permission::SettingsManage,
                "/settings",
                "Settings",
                Section::Settings,
            ),
            (
                Permission::PaymentsSettings,
                "/settings/payments",
                "Payments",
                Section::Settings,
            ),
            (Permission::AuditView, "/audit", "Audit log", Section::Audit),
            (
                Permission::UsersManage,
                "/access-review",
                "Access review",
                Section::Review,
            ),
        ] {
            let duplicate =
                at == Section::Settings && links.iter().any(|(_, _, s)| *s == Section::Settings);
            if permissions.contains(permission) && !duplicate {
                links.push((href, label, at));
            }
        }
    }
    links
        .iter()
        .map(|(href, label, at)| {
            let current = if *at == section {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<a href=\"{href}\"{current}>{label}</a>")
        })
        .collect::<Vec<_>>()
        .join("")
}

/// The complete HTML of `page`.
pub(crate) fn render(page: &Page<'_>) -> String {
    let look = page.look;
    let brand = e(&look.name);
    let favicon = look.favicon.as_ref().map_or_else(String::new, |d| {
        format!("<link rel=\"icon\" href=\"/branding/favicon?v={}\">", e(d))
    });
    let logo = look.logo.as_ref().map_or_else(String::new, |d| {
        format!("<img src=\"/branding/logo?v={}\" alt=\"\">", e(d))
    });
    let custom = look
        .custom_css
        .as_deref()
        .map_or_else(String::new, |css| format!("<style>{css}</style>"));
    let header = match page.viewer {
        Some((principal, csrf)) => format!(
            "<header class=\"bar\"><a class=\"brand\" href=\"/\">{logo}<span>{brand}</span></a><nav class=\"main\" aria-label=\"Main\">{}</nav><div class=\"who\"><a href=\"/profile\">{}</a><form method=\"post\" action=\"/sign-out\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Sign out</button></form></div></header>",
            nav(principal, page.section),
            e(principal.name()),
            e(csrf),
        ),
        None => format!(
            "<header class=\"bar\"><a class=\"brand\" href=\"/\">{logo}<span>{brand}</span></a></header>"
        ),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · {brand}</title>{favicon}<style>:root{{--primary:{};--accent:{}}}{STYLE}</style>{custom}</head>\n<body><a class=\"skip\" href=\"#main\">Skip to content</a>{header}<main id=\"main\">{}</main></body></html>\n",
        e(page.title),
        e(&look.primary),
        e(&look.accent),
        page.body,
    )
}

/// A labelled input with its error in place and the typed value kept.
pub(crate) fn input(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
    extra: &str,
) -> String {
    input_id(&format!("f-{name}"), name, label, kind, value, error, extra)
}

/// [`input`] with its own element id (for forms repeated on one page).
pub(crate) fn input_id(
    id: &str,
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
    extra: &str,
) -> String {
    let (invalid, message) = match error {
        Some(error) => (
            format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\""),
            format!(
                "<p class=\"field-error\" id=\"{id}-error\">{}</p>",
                e(error)
            ),
        ),
        None => (String::new(), String::new()),
    };
    let value = if kind == "password" {
        String::new()
    } else {
        format!(" value=\"{}\"", e(value))
    };
    format!(
        "<label for=\"{id}\">{}</label><input id=\"{id}\" name=\"{name}\" type=\"{kind}\"{value}{invalid} {extra}>{message}",
        e(label)
    )
}

/// A notice box: information, or an error.
pub(crate) fn notice(text: &str, error: bool) -> String {
    let (class, role) = if error {
        ("notice error", "alert")
    } else {
        ("notice", "status")
    };
    format!("<div class=\"{class}\" role=\"{role}\">{}</div>", e(text))
}

/// A hidden form token field.
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        e(token)
    )
}

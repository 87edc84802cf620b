//! The page shell every page of a brand shares: its name, logo, favicon, colours and custom
//! CSS; navigation by what the viewer may do; and nothing that names the vendor or another
//! brand. Pages are maud templates: everything spliced into them is escaped, except the
//! brand's own custom CSS (its admins' to write) and the style sheet below.

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};
use tenant_core::access::Principal;
use tenant_core::access::UserKind;
use tenant_core::access::permissions::Permission;
use tenant_core::brand::branding::Look;

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
a.bell{position:relative;display:inline-flex;align-items:center;text-decoration:none}
a.bell .count{position:absolute;top:-.45rem;right:-.7rem;background:var(--accent);color:#fff;border-radius:99px;font-size:.75rem;padding:0 .35rem;line-height:1.3}
li.unread{font-weight:600}
main:has(.board){max-width:96rem}
.task[tabindex]{cursor:grab}
.task.dragging{opacity:.65;outline:2px dashed var(--accent);cursor:grabbing}
.task:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
nav.tabs{display:flex;flex-wrap:wrap;gap:.25rem;border-bottom:1px solid #dde1e6;margin:0 0 1rem}
nav.tabs a{padding:.45rem .9rem;text-decoration:none;border:1px solid transparent;border-bottom:0;border-radius:6px 6px 0 0;margin-bottom:-1px}
nav.tabs a[aria-current=page]{background:#fff;border-color:#dde1e6;font-weight:600}
ol.activity{list-style:none;padding:0;margin:0}ol.activity li{padding:.45rem 0;border-bottom:1px solid #eef0f3}
.moves form{margin:0}
.moves button{padding:.1rem .5rem;font-size:.9rem}
li button{padding:.15rem .6rem;font-size:.9rem}
td button{padding:.25rem .6rem;font-size:.9rem}
.status{font-size:.85rem;padding:.1rem .45rem;border-radius:99px;background:#eceff3}
.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem}
label.check{display:inline-flex;align-items:center;gap:.3rem;font-weight:400;margin:.15rem .9rem .15rem 0}
table.grid th[scope=row]{width:8rem;font-weight:600}
.menu-toggle,.menu-button{display:none}
.confirm{border-left:4px solid #b3261e}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.status.off{background:#f4dcda;color:#7a1a14}.status.on{background:#dcefe0;color:#14532d}
.thumb{width:48px;height:48px;object-fit:cover;border-radius:4px;display:block}.preview{max-width:100%;height:auto}
ol.comments{list-style:none;padding:0;margin:0}li.comment{border-top:1px solid #ddd;padding:.6rem 0}li.comment.fresh{background:#fffbe6}
li.comment .meta,article.opening .meta{margin:0 0 .3rem;font-size:.9rem}.comment .body>:first-child{margin-top:0}.comment .body>:last-child{margin-bottom:0}
.body pre{overflow-x:auto;background:#f5f5f5;padding:.5rem}.body blockquote{border-left:3px solid #ccc;margin-left:0;padding-left:.8rem}
ul.attachments{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.6rem}img.attached{max-width:12rem;max-height:9rem;display:block;border-radius:4px}
.actions.inline{display:flex;gap:.8rem;align-items:center;margin-top:.3rem}.actions.inline form{margin:0}button.link{background:none;border:0;padding:0;color:inherit;text-decoration:underline;cursor:pointer}
div.chat{display:grid;grid-template-columns:minmax(10rem,14rem) 1fr;gap:1rem;align-items:start}@media (max-width:37.5rem){div.chat{grid-template-columns:1fr}}
nav.channels ul{list-style:none;padding:0;margin:0}nav.channels li{padding:.2rem 0}nav.channels a[aria-current=page]{font-weight:bold}.unread.count{background:var(--accent);color:#fff;border-radius:1rem;padding:0 .45rem;font-size:.8rem}
form.search{margin:0 .6rem}form.search input{padding:.25rem .5rem;border-radius:4px;border:1px solid #fff;max-width:12rem}
ol.results{list-style:none;padding:0}ol.results li{padding:.5rem 0;border-top:1px solid #ddd}ol.results mark{background:#fff2a8;color:inherit}
ul.mentions{list-style:none;margin:0;padding:0;border:1px solid #bbb;border-radius:4px;max-width:20rem;background:#fff}ul.mentions li{padding:.3rem .6rem;cursor:pointer}ul.mentions li[aria-selected=true]{background:#e8eefc}
.drop{border:2px dashed #c5cbd3;border-radius:8px;padding:.75rem;margin:.5rem 0}.drop.dropping{border-color:var(--accent);background:#fff7f2}
progress{width:100%;height:1rem}
@media (max-width:40rem){th.optional,td.optional{display:none}header.bar{padding:.6rem .75rem}}
@media (max-width:37.5rem){.menu-toggle{display:block;position:absolute;opacity:0;width:1px;height:1px;margin:0}
.menu-button{display:inline-block;margin-left:auto;border:1px solid #fff;border-radius:6px;padding:.2rem .7rem;cursor:pointer}
nav.main,header.bar .who{display:none;flex-basis:100%;flex-direction:column}
.menu-toggle:checked~nav.main,.menu-toggle:checked~.who{display:flex}
.menu-toggle:focus-visible+.menu-button{outline:3px solid #fff;outline-offset:2px}}
"#;

/// A page's place in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Projects,
    Chat,
    Invoices,
    /// The Finance reports.
    Finance,
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
    /// The viewer's unread notifications and the newest event (the viewer's `live`).
    pub live: Option<(i64, i64)>,
    /// The page's own content.
    pub body: Markup,
}

/// The navigation links `principal` may use, as (address, label, section).
fn links(principal: &Principal) -> Vec<(&'static str, &'static str, Section)> {
    let mut links = vec![
        ("/", "Home", Section::Home),
        ("/projects", "Projects", Section::Projects),
    ];
    let permissions = principal.permissions();
    if principal.kind() == UserKind::Staff && permissions.contains(Permission::ChatTeam) {
        links.push(("/chat", "Chat", Section::Chat));
    }
    if permissions.contains(Permission::InvoicesView) {
        links.push(("/invoices", "Invoices", Section::Invoices));
        if principal.kind() == UserKind::Staff {
            links.push(("/finance", "Finance", Section::Finance));
        }
    }
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
}

/// The complete HTML of `page`.
pub(crate) fn render(page: &Page<'_>) -> Markup {
    let look = page.look;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · " (look.name) }
                @if let Some(digest) = &look.favicon {
                    link rel="icon" href={ "/branding/favicon?v=" (digest) };
                }
                style {
                    ":root{--primary:" (css_value(&look.primary)) ";--accent:" (css_value(&look.accent)) "}"
                    (PreEscaped(STYLE))
                }
                @if let Some(css) = &look.custom_css {
                    // The brand's own style sheet, written by its admins and checked when
                    // saved (no markup can close the element).
                    style { (PreEscaped(css)) }
                }
            }
            // The newest event when the page was made: its live updates start there.
            body data-events-after=[page.live.map(|(_, newest)| newest)] {
                a.skip href="#main" { "Skip to content" }
                header.bar {
                    a.brand href="/" {
                        @if let Some(digest) = &look.logo {
                            img src={ "/branding/logo?v=" (digest) } alt="";
                        }
                        span { (look.name) }
                    }
                    @if let Some((principal, csrf)) = page.viewer {
                        input.menu-toggle type="checkbox" id="menu-toggle" aria-label="Menu";
                        label.menu-button for="menu-toggle" aria-hidden="true" { "Menu" }
                        nav.main aria-label="Main" {
                            @for (href, label, at) in links(principal) {
                                a href=(href) aria-current=[(at == page.section).then_some("page")] { (label) }
                            }
                        }
                        form.search method="get" action="/search" role="search" {
                            input type="search" name="q" aria-label="Search" placeholder="Search" maxlength="200";
                        }
                        div.who {
                            @if let Some((unread, _)) = page.live {
                                a.bell href="/notifications"
                                    aria-label={ "Notifications, " (unread) " unread" } {
                                    svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false" {
                                        path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" {}
                                    }
                                    span.count hidden[unread <= 0] { @if unread > 0 { (unread) } }
                                }
                                span.visually-hidden id="bell-news" aria-live="polite" {}
                            }
                            a href="/profile" { (principal.name()) }
                            form method="post" action="/sign-out" {
                                (csrf_field(csrf))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" { (page.body) }
                @if page.live.is_some() { script src="/assets/live.js" defer {} }
            }
        }
    }
}

/// A colour for a CSS variable: the brand's colours are checked `#rrggbb` when saved; a
/// stored value that is not is left out rather than written into the style sheet.
fn css_value(colour: &str) -> &str {
    let fine = colour.len() <= 9
        && colour.starts_with('#')
        && colour[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if fine { colour } else { "inherit" }
}

/// A labelled input with its error in place and the typed value kept (never a password's).
#[derive(Debug, Clone, Default)]
pub(crate) struct Field<'a> {
    id: Option<String>,
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    error: Option<&'a str>,
    hint: Option<&'a str>,
    required: bool,
    autofocus: bool,
    autocomplete: Option<&'a str>,
    inputmode: Option<&'a str>,
    placeholder: Option<&'a str>,
    maxlength: Option<u32>,
    minlength: Option<u32>,
}

impl<'a> Field<'a> {
    /// A text input `name`, labelled `label`, with the id `f-{name}`.
    pub(crate) fn new(name: &'a str, label: &'a str) -> Self {
        Field {
            name,
            label,
            kind: "text",
            ..Field::default()
        }
    }

    /// Another element id (for forms repeated on one page).
    pub(crate) fn id(mut self, id: String) -> Self {
        self.id = Some(id);
        self
    }

    /// The input's type (`email`, `password`, `date`, …).
    pub(crate) fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }

    /// Its value (what was typed, or what is stored).
    pub(crate) fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    /// The field's error, shown under it.
    pub(crate) fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    /// A line of help under it.
    pub(crate) fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// It must be filled in.
    pub(crate) fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// It takes the focus when the page opens.
    pub(crate) fn autofocus(mut self) -> Self {
        self.autofocus = true;
        self
    }

    /// The browser's autocomplete hint.
    pub(crate) fn autocomplete(mut self, hint: &'a str) -> Self {
        self.autocomplete = Some(hint);
        self
    }

    /// The keyboard a phone should show.
    pub(crate) fn inputmode(mut self, mode: &'a str) -> Self {
        self.inputmode = Some(mode);
        self
    }

    /// An example shown while empty.
    pub(crate) fn placeholder(mut self, text: &'a str) -> Self {
        self.placeholder = Some(text);
        self
    }

    /// At most this many characters.
    pub(crate) fn maxlength(mut self, length: u32) -> Self {
        self.maxlength = Some(length);
        self
    }

    /// At least this many characters.
    pub(crate) fn minlength(mut self, length: u32) -> Self {
        self.minlength = Some(length);
        self
    }
}

impl Render for Field<'_> {
    fn render(&self) -> Markup {
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| format!("f-{}", self.name));
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let described = match (self.error.is_some(), self.hint.is_some()) {
            (true, true) => Some(format!("{error_id} {hint_id}")),
            (true, false) => Some(error_id.clone()),
            (false, true) => Some(hint_id.clone()),
            (false, false) => None,
        };
        let value = (self.kind != "password").then_some(self.value);
        html! {
            label for=(id) { (self.label) }
            input id=(id) name=(self.name) type=(self.kind) value=[value]
                aria-invalid=[self.error.map(|_| "true")] aria-describedby=[described]
                required[self.required] autofocus[self.autofocus]
                autocomplete=[self.autocomplete] inputmode=[self.inputmode]
                placeholder=[self.placeholder] maxlength=[self.maxlength] minlength=[self.minlength];
            @if let Some(error) = self.error {
                p.field-error id=(error_id) { (error) }
            }
            @if let Some(hint) = self.hint {
                p.hint id=(hint_id) { (hint) }
            }
        }
    }
}

/// A notice box: information, or an error.
pub(crate) fn notice(text: &str, error: bool) -> Markup {
    html! {
        @if error {
            div.notice.error role="alert" { (text) }
        } @else {
            div.notice role="status" { (text) }
        }
    }
}

/// A hidden form token field.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A page-wide answer that names no brand: for the edge (an unknown host, a malformed
/// request) and for a brand whose store cannot be read.
pub fn neutral_page(title: &str, text: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) } }
            body { h1 { (title) } p { (text) } }
        }
    }
    .into_string()
}

/// A text in paragraphs: blank lines part them, single line breaks stay.
pub(crate) fn paragraphs(text: &str) -> Markup {
    html! {
        @for paragraph in text.split("\n\n") {
            p {
                @for (i, line) in paragraph.split('\n').enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

/// A script of the pages, served from the binary (`script-src 'self'`), kept by browsers
/// for five minutes.
pub(crate) fn script_answer(source: &'static str) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse as _;
    let mut response = source.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

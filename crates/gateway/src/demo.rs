//! `tasksession demo`: five white-labelled brands on `*.localhost`, each with an admin,
//! staff, a custom role, a team, a client company with contacts and projects (one shared
//! with the team and with a board of tasks, one internal, one archived), seeded into a data
//! directory of their own and served at once. The sign-in details are printed, and kept in
//! the data directory so a second run serves the same brands again.

use std::path::{Path, PathBuf};
use tenant_core::accounts::invitations;
use tenant_core::work::sharing::{self, Sharing};

use tenant_core::access::UserKind;
use tenant_core::access::permissions::{PermissionSet, need};
use tenant_core::access::{Scope, permit};
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::accounts::sessions::{self, ClientInfo};
use tenant_core::accounts::users::NewUser;
use tenant_core::accounts::{companies, teams};
use tenant_core::brand::branding::{self, Asset, Branding};
use tenant_core::work::projects::{self, NewProject};
use tenant_core::work::tasks::{self, NewTask, TaskStatus, Visibility};
use tenant_core::{Email, Hostname, Platform, Standing, TenantContext};

use crate::config::Config;
use crate::outcome::{Failure, Outcome};
use crate::platform::{self, Opened, public_base};
use crate::{logging, serve};

/// The file the demo's sign-in details are kept in.
const CREDENTIALS: &str = "demo-sign-in.txt";

/// One demo brand.
struct DemoBrand {
    domain: &'static str,
    name: &'static str,
    primary: &'static str,
    accent: &'static str,
    client: &'static str,
    message: &'static str,
}

const BRANDS: [DemoBrand; 5] = [
    DemoBrand {
        domain: "alpha.localhost",
        name: "Alpha Studio",
        primary: "#1f4e79",
        accent: "#8a3b12",
        client: "Northwind Traders",
        message: "Welcome to the Alpha Studio workspace.",
    },
    DemoBrand {
        domain: "beacon.localhost",
        name: "Beacon Digital",
        primary: "#0b5d3b",
        accent: "#6b2c91",
        client: "Globex Retail",
        message: "Beacon Digital: your projects, in one place.",
    },
    DemoBrand {
        domain: "copper.localhost",
        name: "Copper & Co",
        primary: "#8a3b12",
        accent: "#1f4e79",
        client: "Initech",
        message: "Sign in to follow your project with Copper & Co.",
    },
    DemoBrand {
        domain: "delta.localhost",
        name: "Delta Works",
        primary: "#5b2a86",
        accent: "#0b5d3b",
        client: "Umbrella Foods",
        message: "Delta Works client and team workspace.",
    },
    DemoBrand {
        domain: "ember.localhost",
        name: "Ember Agency",
        primary: "#a1262a",
        accent: "#2d4a8a",
        client: "Stark Outfitters",
        message: "Good to see you at Ember Agency.",
    },
];

/// A logo made for the brand: its initial on a rounded square of its colour.
fn logo(brand: &DemoBrand) -> String {
    let initial = brand.name.chars().next().unwrap_or('•');
    maud::html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" {
            rect width="64" height="64" rx="14" fill=(brand.primary) {}
            circle cx="50" cy="14" r="7" fill=(brand.accent) {}
            text x="32" y="44" font-family="sans-serif" font-size="34" font-weight="700"
                fill="#ffffff" text-anchor="middle" { (initial) }
        }
    }
    .into_string()
}

/// A password for a demo brand's people.
fn password() -> Result<String, Failure> {
    let mut bytes = [0_u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| Failure::Refused(format!("no randomness: {e}")))?;
    let letters: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("demo-{}-{}", &letters[..6], &letters[6..12]))
}

fn seed_failure(domain: &str) -> impl Fn(tenant_core::Error) -> Failure + '_ {
    move |e| Failure::Refused(format!("cannot seed the demo brand {domain}: {e}"))
}

/// Adds one person with `password` (their invitation accepted).
async fn person(
    context: &TenantContext,
    new: NewUser,
    password: &str,
    domain: &str,
) -> Result<String, Failure> {
    let (user, invitation) = invitations::invite_user(context.store(), &new)
        .await
        .map_err(seed_failure(domain))?;
    invitations::accept_invitation(context.store(), invitation.token.reveal(), password)
        .await
        .map_err(seed_failure(domain))?;
    Ok(user.id)
}

fn email(local: &str, domain: &str) -> Result<Email, Failure> {
    Email::parse(&format!("{local}@{domain}"))
        .map_err(|e| Failure::Refused(format!("demo address: {e}")))
}

/// Seeds one brand; the lines to print about it.
async fn seed(
    platform: &Platform,
    standing: &Standing,
    brand: &DemoBrand,
) -> Result<String, Failure> {
    let domain = brand.domain;
    let fail = seed_failure(domain);
    let host = Hostname::parse(domain).map_err(|e| Failure::Refused(e.to_string()))?;
    platform
        .add_domain(&host, brand.name, standing)
        .await
        .map_err(&fail)?;
    let (context, _) = platform
        .context_for(&host, standing)
        .await
        .map_err(&fail)?
        .ok_or_else(|| Failure::Refused(format!("{domain} was added but cannot be opened")))?;
    let password = password()?;
    person(
        &context,
        NewUser::new(email("admin", domain)?, "Ada Admin", "admin"),
        &password,
        domain,
    )
    .await?;
    let client = ClientInfo {
        address: "127.0.0.1".to_owned(),
        user_agent: "tasksession demo".to_owned(),
    };
    let admin = sessions::sign_in(
        context.store(),
        &format!("admin@{domain}"),
        &password,
        None,
        &client,
    )
    .await
    .map_err(&fail)?
    .principal;
    let permit_of = |e| Failure::Refused(format!("demo admin: {e}"));

    // Look.
    let settings = permit::<need::SettingsManage>(&admin, Scope::Brand).map_err(permit_of)?;
    branding::set_branding(
        &context,
        &settings,
        Branding {
            name: None,
            primary_colour: Some(brand.primary.to_owned()),
            accent_colour: Some(brand.accent.to_owned()),
            sign_in_message: Some(brand.message.to_owned()),
            email_sender_name: Some(format!("{} Team", brand.name)),
            custom_css: None,
            date_format: None,
        },
    )
    .await
    .map_err(&fail)?;
    branding::set_image(
        context.store(),
        &settings,
        Asset::Logo,
        logo(brand).as_bytes(),
    )
    .await
    .map_err(&fail)?;
    branding::set_image(
        context.store(),
        &settings,
        Asset::Favicon,
        logo(brand).as_bytes(),
    )
    .await
    .map_err(&fail)?;

    // A custom role, and staff.
    let roles_permit = permit::<need::RolesManage>(&admin, Scope::Brand).map_err(permit_of)?;
    let words = [
        "projects.create",
        "projects.edit",
        "projects.archive",
        "tasks.create",
        "tasks.edit",
        "tasks.assign",
        "tasks.move",
        "files.upload",
        "files.download",
        "chat.team",
        "discussions.participate",
        "messages.clients",
        "invoices.view",
    ];
    let manager_role = roles::create_role(
        context.store(),
        &roles_permit,
        &NewRole {
            name: "Project Manager".to_owned(),
            kind: UserKind::Staff,
            permissions: PermissionSet::parse_words(words).map_err(&fail)?,
        },
    )
    .await
    .map_err(&fail)?;
    let staff = person(
        &context,
        NewUser::new(email("sam", domain)?, "Sam Staff", "staff"),
        &password,
        domain,
    )
    .await?;
    let manager = person(
        &context,
        NewUser::new(email("pat", domain)?, "Pat Manager", &manager_role.id),
        &password,
        domain,
    )
    .await?;

    // A team.
    let teams_permit = permit::<need::TeamsManage>(&admin, Scope::Brand).map_err(permit_of)?;
    let team = teams::create_team(context.store(), &teams_permit, "Design")
        .await
        .map_err(&fail)?;
    for member in [&staff, &manager] {
        teams::add_member(context.store(), &teams_permit, &team.id, member)
            .await
            .map_err(&fail)?;
    }

    // A client company with two contacts, one with fewer switches.
    let clients_permit = permit::<need::ClientsManage>(&admin, Scope::Brand).map_err(permit_of)?;
    let company = companies::create_company(
        context.store(),
        &clients_permit,
        brand.client,
        "A client of the demo: its contacts see only their own company.",
    )
    .await
    .map_err(&fail)?;
    let mut cleo = NewUser::new(email("cleo", domain)?, "Cleo Client", "client");
    cleo.company_id = Some(company.id.clone());
    let mut chris = NewUser::new(email("chris", domain)?, "Chris Contact", "client");
    chris.company_id = Some(company.id.clone());
    chris.switches = Some(
        PermissionSet::parse_words(["files.download", "discussions.participate"]).map_err(&fail)?,
    );
    for contact in [cleo, chris] {
        let (user, invitation) =
            invitations::invite_contact(context.store(), &clients_permit, &contact)
                .await
                .map_err(&fail)?;
        invitations::accept_invitation(context.store(), invitation.token.reveal(), &password)
            .await
            .map_err(&fail)?;
        let _ = user;
    }

    // Projects: the client's, shared with the team; an internal one; a finished one.
    let projects_permit =
        permit::<need::ProjectsCreate>(&admin, Scope::Brand).map_err(permit_of)?;
    let plans = [
        (
            format!("{} website", brand.client),
            "A new website: design, build and launch.",
            Some(company.id.clone()),
        ),
        (
            "Internal tooling".to_owned(),
            "Templates and checklists for the team.",
            None,
        ),
        (
            format!("{} launch campaign", brand.client),
            "Finished last season; kept for reference.",
            Some(company.id.clone()),
        ),
    ];
    let mut made = Vec::new();
    for (name, description, company_id) in plans {
        let new = NewProject {
            name,
            description: description.to_owned(),
            company_id,
        };
        made.push(
            projects::create_project(context.store(), &projects_permit, &new)
                .await
                .map_err(&fail)?,
        );
    }
    if let [website, tooling, campaign] = made.as_slice() {
        sharing::share(
            context.store(),
            &admin,
            &website.id,
            Sharing::Team(&team.id),
        )
        .await
        .map_err(&fail)?;
        // A board with work in every column, some of it for the client's eyes.
        let board = [
            (
                "Agree on the sitemap",
                TaskStatus::Done,
                Visibility::Client,
                None,
            ),
            (
                "Approve the homepage design",
                TaskStatus::Review,
                Visibility::Client,
                Some(&manager),
            ),
            (
                "Build the page templates",
                TaskStatus::InProgress,
                Visibility::Internal,
                Some(&staff),
            ),
            (
                "Check hosting costs",
                TaskStatus::Todo,
                Visibility::Internal,
                None,
            ),
            (
                "Send the product photos",
                TaskStatus::Todo,
                Visibility::Client,
                None,
            ),
        ];
        for (title, status, visibility, assignee) in board {
            let new = NewTask {
                title: title.to_owned(),
                description: String::new(),
                status: Some(status.as_str().to_owned()),
                visibility: Some(visibility.as_str().to_owned()),
                assignee: assignee.cloned(),
                due_on: None,
            };
            tasks::create_task(context.store(), &admin, &website.id, &new)
                .await
                .map_err(&fail)?;
        }
        sharing::share(context.store(), &admin, &tooling.id, Sharing::User(&staff))
            .await
            .map_err(&fail)?;
        projects::set_archived(context.store(), &admin, &campaign.id, true)
            .await
            .map_err(&fail)?;
    }
    sessions::sign_out(context.store(), &admin)
        .await
        .map_err(&fail)?;
    Ok(format!(
        "{name}\n  admin    admin@{domain}\n  staff    sam@{domain}, pat@{domain} (Project Manager)\n  clients  cleo@{domain}, chris@{domain} ({client})\n  password {password}\n",
        name = brand.name,
        client = brand.client,
    ))
}

/// The demo's configuration: its own SQLite data directory, everything else as configured.
fn demo_config(config: &Config, data_dir: Option<&Path>) -> Config {
    let mut demo = config.clone();
    demo.data_dir = data_dir.map_or_else(|| PathBuf::from("demo-data"), Path::to_path_buf);
    demo.database_url = None;
    demo
}

/// Seeds (once) and serves the demo.
pub fn run(config: &Config, data_dir: Option<&Path>) -> Outcome {
    let config = demo_config(config, data_dir);
    let credentials = config.data_dir.join(CREDENTIALS);
    let text = if credentials.exists() {
        std::fs::read_to_string(&credentials)
            .map_err(|e| Failure::Refused(format!("cannot read {}: {e}", credentials.display())))?
    } else {
        let runtime = platform::runtime()?;
        runtime.block_on(async {
            let Opened { platform, standing } = platform::open(&config).await?;
            let outcome = seed_all(&config, &platform, &standing).await;
            platform.close().await;
            outcome
        })?
    };
    let standing = Standing::Development;
    println!(
        "Task Session demo: five brands, data in {}\n",
        config.data_dir.display()
    );
    for (brand, block) in BRANDS.iter().zip(text.split("\n\n")) {
        let host = Hostname::parse(brand.domain).map_err(|e| Failure::Refused(e.to_string()))?;
        println!(
            "{}  {}",
            public_base(&config, &host, &standing),
            block.trim_end()
        );
        println!();
    }
    println!(
        "Open a link in Chromium or Firefox and sign in. Stop with Ctrl-C; run 'tasksession demo' again to serve the same brands.\nOther commands work on this data with the same folder, for example:\n  tasksession domain list --data-dir {}\n",
        config.data_dir.display()
    );
    logging::init(config.log_format);
    serve::run(config)
}

async fn seed_all(
    config: &Config,
    platform: &Platform,
    standing: &Standing,
) -> Result<String, Failure> {
    let existing = platform
        .directory(standing)
        .await
        .map_err(platform::failure)?;
    if existing.domains().next().is_some() {
        return Err(Failure::Refused(format!(
            "{} already holds brands that are not this demo's: choose another --data-dir",
            config.data_dir.display()
        )));
    }
    if *standing != Standing::Development {
        return Err(Failure::Refused(format!(
            "{} has a licence installed: the demo runs in development mode; choose another --data-dir",
            config.data_dir.display()
        )));
    }
    let mut blocks = Vec::new();
    for (index, brand) in BRANDS.iter().enumerate() {
        eprintln!("seeding {} ({}/{})", brand.name, index + 1, BRANDS.len());
        blocks.push(seed(platform, standing, brand).await?);
    }
    let text = blocks.join("\n");
    std::fs::write(config.data_dir.join(CREDENTIALS), &text)
        .map_err(|e| Failure::Refused(format!("cannot write the demo's sign-in details: {e}")))?;
    Ok(text)
}

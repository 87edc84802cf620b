//! Projects on both backends: who reaches which project (members, teams,
//! `projects.view_all`, a client company's contacts), archiving, checked input, the audit
//! trail, and the access review's projects and "all archived" flag.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, context, signed_in_admin, signed_in_user};
use tenant_core::access::UserKind;
use tenant_core::access::access_review::{self, Flag};
use tenant_core::access::permissions::{Permission, PermissionSet, default_staff, need};
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::accounts::lifecycle;
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::accounts::teams;
use tenant_core::accounts::users;
use tenant_core::audit::{self, Filter};
use tenant_core::work::projects::{
    self, NewProject, Project, ProjectChange, ProjectFilter, ProjectStatus,
};
use tenant_core::work::sharing::{self, Sharing};
use tenant_core::{Error, Platform, TenantStore};

async fn create(
    store: &TenantStore,
    actor: &Principal,
    name: &str,
    company: Option<&str>,
) -> Project {
    let permit = access::permit::<need::ProjectsCreate>(actor, Scope::Brand).unwrap();
    projects::create_project(
        store,
        &permit,
        &NewProject {
            name: name.to_owned(),
            description: format!("About {name}"),
            company_id: company.map(str::to_owned),
        },
    )
    .await
    .unwrap()
}

/// The names of the projects `actor` lists with `status`.
async fn names(
    store: &TenantStore,
    actor: &Principal,
    status: Option<ProjectStatus>,
) -> Vec<String> {
    let filter = ProjectFilter {
        status,
        ..ProjectFilter::default()
    };
    projects::list_projects(store, actor, &filter, None, 200)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.name)
        .collect()
}

async fn staff_role(
    store: &TenantStore,
    admin: &Principal,
    name: &str,
    extra: &[Permission],
) -> String {
    let permit = access::permit::<need::RolesManage>(admin, Scope::Brand).unwrap();
    let permissions: Vec<Permission> = default_staff()
        .iter()
        .chain(extra.iter().copied())
        .collect();
    roles::create_role(
        store,
        &permit,
        &NewRole {
            name: name.to_owned(),
            kind: UserKind::Staff,
            permissions: PermissionSet::of(&permissions),
        },
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn staff_reach_projects_as_members_or_through_a_team_and_view_all_reaches_every_one() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "reach.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@reach.test").await;
        let website = create(s, &admin, "Website", None).await;
        let intranet = create(s, &admin, "Intranet", None).await;
        assert_eq!(
            website.members,
            [admin.user_id()],
            "the maker is its first member"
        );

        let dana = signed_in_user(s, "dana@reach.test", "staff", None).await;
        assert!(names(s, &dana, None).await.is_empty());
        let hidden = projects::get_project(s, &dana, &website.id).await;
        assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");

        sharing::share(s, &admin, &website.id, Sharing::User(dana.user_id()))
            .await
            .unwrap();
        assert_eq!(names(s, &dana, None).await, ["Website"]);

        // A team brings the project to all its members, for as long as they are in it.
        let eli = signed_in_user(s, "eli@reach.test", "staff", None).await;
        let teams_permit = access::permit::<need::TeamsManage>(&admin, Scope::Brand).unwrap();
        let design = teams::create_team(s, &teams_permit, "Design")
            .await
            .unwrap();
        teams::add_member(s, &teams_permit, &design.id, eli.user_id())
            .await
            .unwrap();
        let shared = sharing::share(s, &admin, &intranet.id, Sharing::Team(&design.id))
            .await
            .unwrap();
        assert_eq!(shared.teams, [design.id.as_str()]);
        assert_eq!(names(s, &eli, None).await, ["Intranet"]);
        teams::remove_member(s, &teams_permit, &design.id, eli.user_id())
            .await
            .unwrap();
        assert!(names(s, &eli, None).await.is_empty());

        // Removing a team takes it off its projects.
        teams::delete_team(s, &teams_permit, &design.id)
            .await
            .unwrap();
        let after = projects::get_project(s, &admin, &intranet.id)
            .await
            .unwrap();
        assert!(after.teams.is_empty());

        // projects.view_all reaches every project without being a member.
        let lead_role = staff_role(s, &admin, "Lead", &[Permission::ProjectsViewAll]).await;
        let lead = signed_in_user(s, "lead@reach.test", &lead_role, None).await;
        assert_eq!(names(s, &lead, None).await, ["Website", "Intranet"]);
        // ... but seeing is not editing: their role has no projects.edit.
        let refused = projects::update_project(
            s,
            &lead,
            &website.id,
            &ProjectChange {
                name: Some("Renamed".to_owned()),
                ..ProjectChange::default()
            },
        )
        .await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");

        // An editor who is not on a project cannot reach it to change it either.
        let editor_role = staff_role(s, &admin, "Editor", &[Permission::ProjectsEdit]).await;
        let editor = signed_in_user(s, "editor@reach.test", &editor_role, None).await;
        let out_of_reach =
            sharing::share(s, &editor, &website.id, Sharing::User(editor.user_id())).await;
        assert!(
            matches!(out_of_reach, Err(Error::NotFound(_))),
            "{out_of_reach:?}"
        );
        // ... not even to be told what is wrong with a change (404 before 422).
        let blank = ProjectChange {
            name: Some("   ".to_owned()),
            ..ProjectChange::default()
        };
        let out_of_reach = projects::update_project(s, &editor, &website.id, &blank).await;
        assert!(
            matches!(out_of_reach, Err(Error::NotFound(_))),
            "{out_of_reach:?}"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn client_contacts_reach_only_their_own_companys_projects_and_change_none() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "portal.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@portal.test").await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let globex = companies::create_company(s, &clients, "Globex", "")
            .await
            .unwrap();
        let rebrand = create(s, &admin, "Acme rebrand", Some(&acme.id)).await;
        let launch = create(s, &admin, "Globex launch", Some(&globex.id)).await;
        create(s, &admin, "Internal tooling", None).await;

        let cleo = signed_in_user(s, "cleo@acme.test", "client", Some(&acme.id)).await;
        assert_eq!(names(s, &cleo, None).await, ["Acme rebrand"]);
        assert!(projects::get_project(s, &cleo, &rebrand.id).await.is_ok());
        let other = projects::get_project(s, &cleo, &launch.id).await;
        assert!(matches!(other, Err(Error::NotFound(_))), "{other:?}");
        // Asking for another company's list by name finds nothing either.
        let filter = ProjectFilter {
            company_id: Some(globex.id.clone()),
            ..ProjectFilter::default()
        };
        let page = projects::list_projects(s, &cleo, &filter, None, 50)
            .await
            .unwrap();
        assert!(page.items.is_empty());

        // Their own company's project: in scope, but no client role may change it (403);
        // another company's: out of scope (404).
        let change = ProjectChange {
            name: Some("Mine now".to_owned()),
            ..ProjectChange::default()
        };
        let own = projects::update_project(s, &cleo, &rebrand.id, &change).await;
        assert!(matches!(own, Err(Error::Forbidden(_))), "{own:?}");
        let foreign = projects::update_project(s, &cleo, &launch.id, &change).await;
        assert!(matches!(foreign, Err(Error::NotFound(_))), "{foreign:?}");
        let archive = projects::set_archived(s, &cleo, &rebrand.id, true).await;
        assert!(matches!(archive, Err(Error::Forbidden(_))), "{archive:?}");

        // A company with projects is not removed, even without contacts.
        let gone = companies::delete_company(s, &clients, &globex.id).await;
        assert!(matches!(gone, Err(Error::Conflict(_))), "{gone:?}");
        assert!(users::get_user(s, &admin, cleo.user_id()).await.is_ok());
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_archived_project_stays_readable_and_refuses_changes_until_unarchived() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "archive.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@archive.test").await;
        let dana = signed_in_user(s, "dana@archive.test", "staff", None).await;
        let old = create(s, &admin, "Old site", None).await;
        create(s, &admin, "New site", None).await;

        let archived = projects::set_archived(s, &admin, &old.id, true)
            .await
            .unwrap();
        assert_eq!(archived.status, ProjectStatus::Archived);
        assert!(archived.archived_at.is_some());
        assert_eq!(
            names(s, &admin, Some(ProjectStatus::Active)).await,
            ["New site"]
        );
        assert_eq!(
            names(s, &admin, Some(ProjectStatus::Archived)).await,
            ["Old site"]
        );
        let read = projects::get_project(s, &admin, &old.id).await.unwrap();
        assert_eq!(read.description, "About Old site", "nothing is lost");

        let rename = ProjectChange {
            name: Some("Older site".to_owned()),
            ..ProjectChange::default()
        };
        let refused = projects::update_project(s, &admin, &old.id, &rename).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        let refused = sharing::share(s, &admin, &old.id, Sharing::User(dana.user_id())).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        // Archiving twice changes nothing.
        let again = projects::set_archived(s, &admin, &old.id, true)
            .await
            .unwrap();
        assert_eq!(again.archived_at, archived.archived_at);

        let active = projects::set_archived(s, &admin, &old.id, false)
            .await
            .unwrap();
        assert_eq!(active.status, ProjectStatus::Active);
        assert_eq!(active.archived_at, None);
        let renamed = projects::update_project(s, &admin, &old.id, &rename)
            .await
            .unwrap();
        assert_eq!(renamed.name, "Older site");

        // Every change is in the audit log, once.
        let audit_permit = access::permit::<need::AuditView>(&admin, Scope::Brand).unwrap();
        let entries = audit::list_audit(s, &audit_permit, &Filter::default(), None, 200)
            .await
            .unwrap()
            .items;
        let actions: Vec<&str> = entries
            .iter()
            .filter(|e| e.target_id == old.id)
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "project.update",
                "project.unarchive",
                "project.archive",
                "project.create"
            ]
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn bad_input_is_named_and_changes_nothing() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "input.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@input.test").await;
        let permit = access::permit::<need::ProjectsCreate>(&admin, Scope::Brand).unwrap();
        let field_of = |result: tenant_core::Result<Project>| match result {
            Err(Error::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        let blank = NewProject {
            name: "   ".to_owned(),
            ..NewProject::default()
        };
        assert_eq!(
            field_of(projects::create_project(s, &permit, &blank).await),
            "name"
        );
        let nowhere = NewProject {
            name: "Site".to_owned(),
            company_id: Some("no-such-company".to_owned()),
            ..NewProject::default()
        };
        assert_eq!(
            field_of(projects::create_project(s, &permit, &nowhere).await),
            "company"
        );
        assert!(names(s, &admin, None).await.is_empty(), "nothing was made");

        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(s, &clients, "Acme", "")
            .await
            .unwrap();
        let site = create(s, &admin, "Site", Some(&acme.id)).await;
        let cleo = signed_in_user(s, "cleo@input.test", "client", Some(&acme.id)).await;
        assert_eq!(
            field_of(sharing::share(s, &admin, &site.id, Sharing::User(cleo.user_id())).await),
            "user",
            "contacts reach their company's projects already"
        );
        let gone = signed_in_user(s, "gone@input.test", "staff", None).await;
        let users_permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        lifecycle::deactivate_user(s, &users_permit, gone.user_id())
            .await
            .unwrap();
        assert_eq!(
            field_of(sharing::share(s, &admin, &site.id, Sharing::User(gone.user_id())).await),
            "user"
        );
        assert_eq!(
            field_of(sharing::share(s, &admin, &site.id, Sharing::Team("no-such-team")).await),
            "team"
        );
        let long = ProjectChange {
            description: Some("x".repeat(20_001)),
            ..ProjectChange::default()
        };
        assert_eq!(
            field_of(projects::update_project(s, &admin, &site.id, &long).await),
            "description"
        );
        let unchanged = projects::get_project(s, &admin, &site.id).await.unwrap();
        assert_eq!(unchanged, site);
        let missing = sharing::unshare(s, &admin, &site.id, Sharing::User(cleo.user_id())).await;
        assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");

        // Making the project internal unlinks the company; the contact no longer reaches it.
        let internal = ProjectChange {
            company_id: Some(None),
            ..ProjectChange::default()
        };
        let moved = projects::update_project(s, &admin, &site.id, &internal)
            .await
            .unwrap();
        assert_eq!(moved.company_id, None);
        assert!(names(s, &cleo, None).await.is_empty());
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn the_access_review_lists_projects_and_flags_contacts_whose_projects_are_all_archived() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "audit.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@audit.test").await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let done = companies::create_company(s, &clients, "Done Ltd", "")
            .await
            .unwrap();
        let busy = companies::create_company(s, &clients, "Busy Ltd", "")
            .await
            .unwrap();
        let new = companies::create_company(s, &clients, "New Ltd", "")
            .await
            .unwrap();
        let finished = create(s, &admin, "Finished", Some(&done.id)).await;
        let also = create(s, &admin, "Also finished", Some(&done.id)).await;
        let running = create(s, &admin, "Running", Some(&busy.id)).await;
        let stopped = create(s, &admin, "Stopped", Some(&busy.id)).await;
        for id in [&finished.id, &also.id, &stopped.id] {
            projects::set_archived(s, &admin, id, true).await.unwrap();
        }
        let dana = signed_in_user(s, "dana@audit.test", "staff", None).await;
        sharing::share(s, &admin, &running.id, Sharing::User(dana.user_id()))
            .await
            .unwrap();
        signed_in_user(s, "cleo@done.test", "client", Some(&done.id)).await;
        signed_in_user(s, "bo@busy.test", "client", Some(&busy.id)).await;
        signed_in_user(s, "nia@new.test", "client", Some(&new.id)).await;

        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let all = access_review::access_review(s, &permit, None, 200)
            .await
            .unwrap()
            .items;
        let of = |email: &str| all.iter().find(|r| r.user.email == email).unwrap();
        let project_names = |email: &str| {
            of(email)
                .projects
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(of("cleo@done.test").flags, [Flag::ProjectsAllArchived]);
        assert_eq!(
            project_names("cleo@done.test"),
            ["Finished", "Also finished"]
        );
        assert!(
            of("bo@busy.test").flags.is_empty(),
            "one project still runs"
        );
        assert_eq!(project_names("bo@busy.test"), ["Running", "Stopped"]);
        assert!(of("nia@new.test").flags.is_empty(), "no projects yet");
        assert_eq!(project_names("dana@audit.test"), ["Running"]);
        assert!(!of("dana@audit.test").all_projects);
        assert!(of("admin@audit.test").all_projects);
        assert_eq!(
            project_names("admin@audit.test").len(),
            4,
            "the maker of each"
        );

        // Unarchiving one clears the flag.
        projects::set_archived(s, &admin, &also.id, false)
            .await
            .unwrap();
        let all = access_review::access_review(s, &permit, None, 200)
            .await
            .unwrap()
            .items;
        let cleo = all
            .iter()
            .find(|r| r.user.email == "cleo@done.test")
            .unwrap();
        assert!(cleo.flags.is_empty(), "{:?}", cleo.flags);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn changes_to_one_project_at_the_same_moment_run_one_after_the_other() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "race.test").await;
        let s = a.store();
        let admin = signed_in_admin(s, "admin@race.test").await;
        let dana = signed_in_user(s, "dana@race.test", "staff", None).await;
        for round in 0..8 {
            let project = create(s, &admin, &format!("Race {round}"), None).await;
            // The same member added twice at once: both succeed, one row.
            let (first, second) = tokio::join!(
                sharing::share(s, &admin, &project.id, Sharing::User(dana.user_id())),
                sharing::share(s, &admin, &project.id, Sharing::User(dana.user_id())),
            );
            assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
            // Archiving and renaming at once: the rename either lands (first) or is
            // refused because the project is archived; it never fails otherwise.
            let rename = ProjectChange {
                name: Some(format!("Renamed {round}")),
                ..ProjectChange::default()
            };
            let (archived, renamed) = tokio::join!(
                projects::set_archived(s, &admin, &project.id, true),
                projects::update_project(s, &admin, &project.id, &rename),
            );
            archived.unwrap();
            let after = projects::get_project(s, &admin, &project.id).await.unwrap();
            assert_eq!(after.members.len(), 2, "the maker and Dana");
            match renamed {
                Ok(_) => assert_eq!(after.name, format!("Renamed {round}")),
                Err(Error::Conflict(_)) => assert_eq!(after.name, format!("Race {round}")),
                Err(other) => panic!("{other:?}"),
            }
        }
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn searching_projects_finds_what_contains_the_text_within_the_callers_reach() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "projsearch.test").await;
        let admin = signed_in_admin(a.store(), "admin@projsearch.test").await;
        let staff = signed_in_user(a.store(), "staff@projsearch.test", "staff", None).await;
        let titles = [
            "Website Relaunch",
            "website audit",
            "Brand 100% refresh",
            "Logo_v2",
            "Café Menu",
            "Spring Campaign",
        ];
        let mut made = Vec::new();
        for title in titles {
            made.push(create(a.store(), &admin, title, None).await);
        }
        let find = async |actor: &Principal, q: &str| {
            let filter = ProjectFilter {
                q: Some(q.to_owned()),
                ..ProjectFilter::default()
            };
            let mut found: Vec<String> =
                projects::list_projects(a.store(), actor, &filter, None, 200)
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|p| p.name)
                    .collect();
            found.sort();
            found
        };
        let expected = |names: &[&str], q: &str| {
            let q = q.trim().to_lowercase();
            let mut found: Vec<String> = names
                .iter()
                .filter(|n| n.to_lowercase().contains(&q))
                .map(|n| (*n).to_owned())
                .collect();
            found.sort();
            found
        };
        for q in [
            "web",
            "WEBSITE",
            "site re",
            "100%",
            "_v2",
            "café",
            "CAFÉ",
            "e",
            "gn",
            "none at all",
        ] {
            assert_eq!(
                find(&admin, q).await,
                expected(&titles, q),
                "{}: {q:?}",
                store.kind()
            );
        }
        // Staff who reach no project find nothing, whatever they search.
        assert!(find(&staff, "web").await.is_empty());
        // A rename is found at once, and the old name no longer.
        projects::update_project(
            a.store(),
            &admin,
            &made[0].id,
            &ProjectChange {
                name: Some("Intranet Relaunch".to_owned()),
                ..ProjectChange::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(find(&admin, "website").await, ["website audit"]);
        assert_eq!(find(&admin, "intranet").await, ["Intranet Relaunch"]);
        platform.close().await;
        store.cleanup().await;
    }
}

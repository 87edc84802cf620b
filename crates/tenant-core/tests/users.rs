//! Users of one brand on both backends: unique case-folded email per brand, invitations
//! with single-use tokens, argon2id passwords, keyset pagination, sessions and tokens,
//! deactivation, role changes, client companies and the audit log.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{PASSWORD, both, context, run_in_tenant, signed_in_admin, signed_in_user};
use tenant_core::access::UserKind;
use tenant_core::access::permissions::{Permission, PermissionSet, need};
use tenant_core::access::{self, Scope};
use tenant_core::accounts::companies;
use tenant_core::accounts::credentials;
use tenant_core::accounts::invitations;
use tenant_core::accounts::lifecycle;
use tenant_core::accounts::password_reset;
use tenant_core::accounts::roles::{self, NewRole, RoleChange};
use tenant_core::accounts::sessions::{self, ClientInfo, Presented, WRONG_CREDENTIALS};
use tenant_core::accounts::users::{self, NewUser, UserChange, UserFilter, UserStatus};
use tenant_core::audit::{self, Filter};
use tenant_core::{Email, Error, Platform};

fn new_user(email: &str, role: &str, company: Option<&str>) -> NewUser {
    let mut new = NewUser::new(Email::parse(email).unwrap(), "Ada Lovelace", role);
    new.company_id = company.map(str::to_owned);
    new
}

/// Signs in with [`PASSWORD`] and no second factor.
async fn password_sign_in(
    store: &tenant_core::TenantStore,
    email: &str,
) -> tenant_core::Result<sessions::SignedIn> {
    sessions::sign_in(store, email, PASSWORD, None, &client_info()).await
}

fn client_info() -> ClientInfo {
    ClientInfo {
        address: "192.0.2.7".to_owned(),
        user_agent: "test browser".to_owned(),
    }
}

/// Turns on two-factor sign-in for `principal` (with [`PASSWORD`]); its secret as shown
/// (base32).
async fn enroll(
    store: &tenant_core::TenantStore,
    principal: &tenant_core::access::Principal,
) -> String {
    use tenant_core::accounts::totp;
    let enrollment = totp::begin(store, principal, PASSWORD, "Brand")
        .await
        .unwrap();
    let secret = data_encoding::BASE32_NOPAD
        .decode(enrollment.secret.as_bytes())
        .unwrap();
    let step = totp::step_of(time::OffsetDateTime::now_utc());
    totp::confirm(store, principal, &totp::code_at(&secret, step))
        .await
        .unwrap();
    enrollment.secret
}

#[tokio::test]
async fn the_same_email_in_two_brands_is_two_unrelated_users_and_unique_within_one() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "a.test").await;
        let b = context(&platform, "b.test").await;
        let (in_a, _) =
            invitations::invite_user(a.store(), &new_user("Ada@Example.com", "admin", None))
                .await
                .unwrap();
        let (in_b, _) =
            invitations::invite_user(b.store(), &new_user("ada@example.com", "staff", None))
                .await
                .unwrap();
        assert_ne!(in_a.id, in_b.id);
        assert_eq!(in_a.email, "Ada@example.com");
        assert_eq!(in_a.kind, UserKind::Staff);
        assert_eq!(in_a.status, UserStatus::Invited);
        let again =
            invitations::invite_user(a.store(), &new_user("ADA@EXAMPLE.COM", "staff", None)).await;
        assert!(
            matches!(again, Err(Error::Conflict(ref m)) if m.contains("already exists")),
            "{again:?}"
        );
        assert_eq!(users::count_users(a.store()).await.unwrap(), 1);
        assert_eq!(users::count_users(b.store()).await.unwrap(), 1);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn roles_and_companies_must_agree() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "roles.test").await;
        let admin = signed_in_admin(a.store(), "boss@roles.test").await;
        let permit = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let company = companies::create_company(a.store(), &permit, "Acme", "")
            .await
            .unwrap();
        let client_without_company =
            invitations::invite_user(a.store(), &new_user("c@x.test", "client", None)).await;
        assert!(matches!(
            client_without_company,
            Err(Error::Field {
                field: "company",
                ..
            })
        ));
        let staff_with_company =
            invitations::invite_user(a.store(), &new_user("s@x.test", "staff", Some(&company.id)))
                .await;
        assert!(matches!(
            staff_with_company,
            Err(Error::Field {
                field: "company",
                ..
            })
        ));
        let unknown_company =
            invitations::invite_user(a.store(), &new_user("c@x.test", "client", Some("co-1")))
                .await;
        assert!(matches!(
            unknown_company,
            Err(Error::Field {
                field: "company",
                ..
            })
        ));
        let unknown_role =
            invitations::invite_user(a.store(), &new_user("o@x.test", "owner", None)).await;
        assert!(matches!(
            unknown_role,
            Err(Error::Field { field: "role", .. })
        ));
        let (client, _) = invitations::invite_user(
            a.store(),
            &new_user("c@x.test", "client", Some(&company.id)),
        )
        .await
        .unwrap();
        assert_eq!(client.kind, UserKind::Client);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_invitation_sets_an_argon2id_password_once() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "invite.test").await;
        let email = Email::parse("new@invite.test").unwrap();
        let (user, invitation) =
            invitations::invite_user(a.store(), &new_user("new@invite.test", "staff", None))
                .await
                .unwrap();
        let token = invitation.token.reveal().to_owned();
        assert_eq!(token.len(), 43);
        assert!(
            !format!("{invitation:?}").contains(&token),
            "tokens never reach Debug output"
        );

        let short = invitations::accept_invitation(a.store(), &token, "short").await;
        assert!(matches!(
            short,
            Err(Error::Field {
                field: "password",
                ..
            })
        ));
        let wrong =
            invitations::accept_invitation(a.store(), "not-a-token", "a long enough password")
                .await;
        assert!(matches!(wrong, Err(Error::NotFound(_))));
        assert_eq!(
            credentials::check_user_password(a.store(), &email, "a long enough password")
                .await
                .unwrap(),
            None
        );

        let active = invitations::accept_invitation(a.store(), &token, "a long enough password")
            .await
            .unwrap();
        assert_eq!(active.id, user.id);
        assert_eq!(active.status, UserStatus::Active);
        let reused =
            invitations::accept_invitation(a.store(), &token, "another long password").await;
        assert!(matches!(reused, Err(Error::NotFound(_))), "{reused:?}");

        let signed_in =
            credentials::check_user_password(a.store(), &email, "a long enough password")
                .await
                .unwrap();
        assert_eq!(signed_in.map(|u| u.id), Some(user.id));
        assert_eq!(
            credentials::check_user_password(a.store(), &email, "wrong password!!")
                .await
                .unwrap(),
            None
        );
        let hash = credentials::hash_password("x".repeat(12)).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn users_are_listed_in_pages_by_keyset_and_filtered() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "pages.test").await;
        let admin = signed_in_admin(a.store(), "admin@pages.test").await;
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        for i in 0..7 {
            invitations::invite_user(
                a.store(),
                &new_user(&format!("u{i}@pages.test"), "staff", None),
            )
            .await
            .unwrap();
        }
        let staff_only = UserFilter {
            role: Some("staff".to_owned()),
            ..UserFilter::default()
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = users::list_users(a.store(), &permit, &staff_only, cursor.as_deref(), 3)
                .await
                .unwrap();
            pages += 1;
            seen.extend(page.items.iter().map(|u| u.email.clone()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let expected: Vec<String> = (0..7).map(|i| format!("u{i}@pages.test")).collect();
        assert_eq!(seen, expected, "oldest first, each once");

        let search = UserFilter {
            q: Some("U3@PAGES".to_owned()),
            ..UserFilter::default()
        };
        let found = users::list_users(a.store(), &permit, &search, None, 50)
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
        assert_eq!(found.items[0].email, "u3@pages.test");
        let wildcard = UserFilter {
            q: Some("%".to_owned()),
            ..UserFilter::default()
        };
        let none = users::list_users(a.store(), &permit, &wildcard, None, 50)
            .await
            .unwrap();
        assert!(none.items.is_empty(), "% is matched literally");
        let invited = UserFilter {
            status: Some(UserStatus::Invited),
            ..UserFilter::default()
        };
        let page = users::list_users(a.store(), &permit, &invited, None, 50)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 7, "the signed-in admin is active");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn sign_in_gives_the_same_answer_for_an_unknown_address_and_a_wrong_password() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "signin.test").await;
        signed_in_user(a.store(), "known@signin.test", "staff", None).await;
        for (email, password) in [
            ("known@signin.test", "not the password"),
            ("nobody@signin.test", PASSWORD),
            ("not an address", PASSWORD),
        ] {
            let answer = sessions::sign_in(a.store(), email, password, None, &client_info()).await;
            assert!(
                matches!(answer, Err(Error::Unauthenticated(ref m)) if m == WRONG_CREDENTIALS),
                "{email}: {answer:?}"
            );
        }
        let ok = password_sign_in(a.store(), "KNOWN@signin.test")
            .await
            .unwrap();
        assert!(!format!("{ok:?}").contains(ok.secret.reveal()));
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn deactivated_user_session_and_token_are_rejected_on_next_request() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "deactivate.test").await;
        let admin = signed_in_admin(a.store(), "admin@deactivate.test").await;
        let staff = signed_in_user(a.store(), "staff@deactivate.test", "staff", None).await;
        let (_, token) = sessions::create_token(a.store(), &staff, "ci", None)
            .await
            .unwrap();
        let session = password_sign_in(a.store(), "staff@deactivate.test")
            .await
            .unwrap();
        let by_session = Presented::Session(session.secret.reveal());
        let by_token = Presented::Token(token.reveal());
        sessions::authenticate(a.store(), by_session, "x")
            .await
            .unwrap();
        sessions::authenticate(a.store(), by_token, "x")
            .await
            .unwrap();

        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let user = lifecycle::deactivate_user(a.store(), &permit, staff.user_id())
            .await
            .unwrap();
        assert_eq!(user.status, UserStatus::Deactivated);
        let notices: Vec<_> = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "deactivated")
            .collect();
        assert_eq!(notices.len(), 1, "the user is told");
        assert_eq!(notices[0].recipient, "staff@deactivate.test");
        for presented in [by_session, by_token] {
            let answer = sessions::authenticate(a.store(), presented, "x").await;
            assert!(
                matches!(answer, Err(Error::Unauthenticated(_))),
                "{answer:?}"
            );
        }
        let again = password_sign_in(a.store(), "staff@deactivate.test").await;
        assert!(
            matches!(again, Err(Error::Unauthenticated(ref m)) if m.contains("deactivated")),
            "{again:?}"
        );
        let delete = lifecycle::delete_user(a.store(), &permit, staff.user_id()).await;
        assert!(
            matches!(delete, Err(Error::Conflict(_))),
            "history is kept: {delete:?}"
        );
        let self_deactivate = lifecycle::deactivate_user(a.store(), &permit, admin.user_id()).await;
        assert!(matches!(self_deactivate, Err(Error::Conflict(_))));

        lifecycle::reactivate_user(a.store(), &permit, staff.user_id())
            .await
            .unwrap();
        password_sign_in(a.store(), "staff@deactivate.test")
            .await
            .unwrap();

        let (invited, _) =
            invitations::invite_user(a.store(), &new_user("never@deactivate.test", "staff", None))
                .await
                .unwrap();
        lifecycle::delete_user(a.store(), &permit, &invited.id)
            .await
            .unwrap();

        let audit_permit = access::permit::<need::AuditView>(&admin, Scope::Brand).unwrap();
        let filter = Filter {
            actor_id: Some(admin.user_id().to_owned()),
            ..Filter::default()
        };
        let log = audit::list_audit(a.store(), &audit_permit, &filter, None, 50)
            .await
            .unwrap();
        let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "user.delete",
                "user.reactivate",
                "user.deactivate",
                "user.invitation_accept"
            ],
            "newest first, the admin's own acceptance included"
        );
        assert_eq!(log.items[2].client_address, "192.0.2.1");
        assert_eq!(
            log.items[2].after.as_ref().unwrap()["status"],
            "deactivated"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_role_change_applies_on_the_next_request() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "rolechange.test").await;
        let admin = signed_in_admin(a.store(), "admin@rolechange.test").await;
        let roles_permit = access::permit::<need::RolesManage>(&admin, Scope::Brand).unwrap();
        let manager = roles::create_role(
            a.store(),
            &roles_permit,
            &NewRole {
                name: "Project Manager".to_owned(),
                kind: UserKind::Staff,
                permissions: PermissionSet::of(&[
                    Permission::ProjectsCreate,
                    Permission::UsersManage,
                ]),
            },
        )
        .await
        .unwrap();
        let staff = signed_in_user(a.store(), "pm@rolechange.test", "staff", None).await;
        let session = password_sign_in(a.store(), "pm@rolechange.test")
            .await
            .unwrap();
        let presented = Presented::Session(session.secret.reveal());
        let before = sessions::authenticate(a.store(), presented, "x")
            .await
            .unwrap();
        assert!(access::permit::<need::UsersManage>(&before, Scope::Brand).is_err());

        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let change = UserChange {
            role: Some(manager.id.clone()),
            ..UserChange::default()
        };
        users::update_user(a.store(), &permit, staff.user_id(), &change)
            .await
            .unwrap();
        let after = sessions::authenticate(a.store(), presented, "x")
            .await
            .unwrap();
        assert!(access::permit::<need::UsersManage>(&after, Scope::Brand).is_ok());

        // Editing the role itself applies at once too.
        let narrowed = RoleChange {
            permissions: Some(PermissionSet::of(&[Permission::ProjectsCreate])),
            ..RoleChange::default()
        };
        roles::update_role(a.store(), &roles_permit, &manager.id, &narrowed)
            .await
            .unwrap();
        let later = sessions::authenticate(a.store(), presented, "x")
            .await
            .unwrap();
        assert!(access::permit::<need::UsersManage>(&later, Scope::Brand).is_err());

        let in_use = roles::delete_role(a.store(), &roles_permit, &manager.id).await;
        assert!(matches!(in_use, Err(Error::Conflict(_))));
        let admin_role = roles::update_role(a.store(), &roles_permit, "admin", &narrowed).await;
        assert!(matches!(admin_role, Err(Error::Forbidden(_))));
        let client_role = roles::create_role(
            a.store(),
            &roles_permit,
            &NewRole {
                name: "Greedy client".to_owned(),
                kind: UserKind::Client,
                permissions: PermissionSet::of(&[Permission::FilesDelete]),
            },
        )
        .await;
        assert!(
            matches!(client_role, Err(Error::Field { field: "permissions", ref message }) if message.contains("files.delete")),
            "{client_role:?}"
        );
        let demote_last_admin = UserChange {
            role: Some("staff".to_owned()),
            ..UserChange::default()
        };
        let last =
            users::update_user(a.store(), &permit, admin.user_id(), &demote_last_admin).await;
        assert!(matches!(last, Err(Error::Conflict(_))), "{last:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_client_contact_never_sees_another_company() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "clients.test").await;
        let admin = signed_in_admin(a.store(), "admin@clients.test").await;
        let permit = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let acme = companies::create_company(a.store(), &permit, "Acme", "")
            .await
            .unwrap();
        let globex = companies::create_company(a.store(), &permit, "Globex", "")
            .await
            .unwrap();
        let alice = signed_in_user(a.store(), "alice@acme.test", "client", Some(&acme.id)).await;
        signed_in_user(a.store(), "bob@globex.test", "client", Some(&globex.id)).await;

        let own = companies::get_company(a.store(), &alice, &acme.id)
            .await
            .unwrap();
        assert_eq!(own.name, "Acme");
        let other = companies::get_company(a.store(), &alice, &globex.id).await;
        assert!(matches!(other, Err(Error::NotFound(_))), "{other:?}");
        let contacts = companies::list_contacts(a.store(), &alice, &globex.id, None, 50).await;
        assert!(matches!(contacts, Err(Error::NotFound(_))));
        let listed = companies::list_companies(a.store(), &alice, None, 50)
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0].id, acme.id);
        let colleagues = companies::list_contacts(a.store(), &alice, &acme.id, None, 50)
            .await
            .unwrap();
        assert_eq!(colleagues.items.len(), 1);
        assert!(access::permit::<need::FilesDownload>(&alice, Scope::Company(&globex.id)).is_err());
        let taken = companies::create_company(a.store(), &permit, "Acme", "").await;
        assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_invitation_does_not_work_after_it_expires_and_a_resend_replaces_it() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "expiry.test").await;
        let admin = signed_in_admin(a.store(), "admin@expiry.test").await;
        let (user, old) =
            invitations::invite_user(a.store(), &new_user("late@expiry.test", "staff", None))
                .await
                .unwrap();
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update invitations set expires_at = created_at"],
        )
        .await;
        let late = invitations::accept_invitation(a.store(), old.token.reveal(), PASSWORD).await;
        assert!(matches!(late, Err(Error::NotFound(_))), "{late:?}");

        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let (_, fresh) = invitations::resend_invitation(a.store(), &permit, &user.id)
            .await
            .unwrap();
        let (_, newer) = invitations::resend_invitation(a.store(), &permit, &user.id)
            .await
            .unwrap();
        let replaced =
            invitations::accept_invitation(a.store(), fresh.token.reveal(), PASSWORD).await;
        assert!(
            matches!(replaced, Err(Error::NotFound(_))),
            "a resend revokes the earlier link"
        );
        invitations::accept_invitation(a.store(), newer.token.reveal(), PASSWORD)
            .await
            .unwrap();
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn sessions_end_when_idle_or_past_their_absolute_limit_and_access_expiry_deactivates() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "ending.test").await;
        let admin = signed_in_admin(a.store(), "admin@ending.test").await;
        signed_in_user(a.store(), "idle@ending.test", "staff", None).await;
        let idle = password_sign_in(a.store(), "idle@ending.test")
            .await
            .unwrap();
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update sessions set expires_at = created_at where user_id <> (select user_id from users where email_key = 'admin@ending.test')"],
        )
        .await;
        let ended =
            sessions::authenticate(a.store(), Presented::Session(idle.secret.reveal()), "x").await;
        assert!(
            matches!(ended, Err(Error::Unauthenticated(ref m)) if m.contains("ended")),
            "{ended:?}"
        );

        let busy = password_sign_in(a.store(), "idle@ending.test")
            .await
            .unwrap();
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update sessions set last_seen_at = '2000-01-01 00:00:00+00:00' where expires_at > created_at and user_id <> (select user_id from users where email_key = 'admin@ending.test')"],
        )
        .await;
        let idle_out =
            sessions::authenticate(a.store(), Presented::Session(busy.secret.reveal()), "x").await;
        assert!(
            matches!(idle_out, Err(Error::Unauthenticated(ref m)) if m.contains("ended")),
            "a day without use ends a session: {idle_out:?}"
        );

        let temp = signed_in_user(a.store(), "temp@ending.test", "staff", None).await;
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        let change = UserChange {
            access_expires_at: Some(Some(tomorrow)),
            ..UserChange::default()
        };
        users::update_user(a.store(), &permit, temp.user_id(), &change)
            .await
            .unwrap();
        let session = password_sign_in(a.store(), "temp@ending.test")
            .await
            .unwrap();
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update users set access_expires_at = created_at where email_key = 'temp@ending.test'"],
        )
        .await;
        let expired =
            sessions::authenticate(a.store(), Presented::Session(session.secret.reveal()), "x")
                .await;
        assert!(
            matches!(expired, Err(Error::Unauthenticated(ref m)) if m.contains("deactivated")),
            "{expired:?}"
        );
        let user = users::get_user(a.store(), &admin, temp.user_id())
            .await
            .unwrap();
        assert_eq!(
            user.status,
            UserStatus::Deactivated,
            "the account deactivated itself"
        );

        // The sweep forgets the three ended sessions of "idle" and keeps the admin's.
        assert_eq!(sessions::forget_ended(a.store()).await.unwrap(), 3);
        assert_eq!(sessions::forget_ended(a.store()).await.unwrap(), 0);
        assert_eq!(
            sessions::list_sessions(a.store(), &admin)
                .await
                .unwrap()
                .len(),
            1
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_session_or_token_of_one_brand_is_unknown_in_another() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "one.test").await;
        let b = context(&platform, "two.test").await;
        let in_a = signed_in_admin(a.store(), "same@example.com").await;
        signed_in_admin(b.store(), "same@example.com").await;
        let (_, token) = sessions::create_token(a.store(), &in_a, "ci", None)
            .await
            .unwrap();
        let session = password_sign_in(a.store(), "same@example.com")
            .await
            .unwrap();
        for presented in [
            Presented::Token(token.reveal()),
            Presented::Session(session.secret.reveal()),
        ] {
            sessions::authenticate(a.store(), presented, "x")
                .await
                .unwrap();
            let elsewhere = sessions::authenticate(b.store(), presented, "x").await;
            assert!(
                matches!(elsewhere, Err(Error::Unauthenticated(_))),
                "{elsewhere:?}"
            );
        }
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_user_manager_cannot_give_or_touch_more_power_than_their_own() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "power.test").await;
        let admin = signed_in_admin(a.store(), "admin@power.test").await;
        let roles_permit = access::permit::<need::RolesManage>(&admin, Scope::Brand).unwrap();
        let people = roles::create_role(
            a.store(),
            &roles_permit,
            &NewRole {
                name: "People".to_owned(),
                kind: UserKind::Staff,
                permissions: PermissionSet::of(&[Permission::UsersManage]),
            },
        )
        .await
        .unwrap();
        let manager = signed_in_user(a.store(), "people@power.test", &people.id, None).await;
        let permit = access::permit::<need::UsersManage>(&manager, Scope::Brand).unwrap();

        let invite_admin =
            invitations::invite(a.store(), &permit, &new_user("x@power.test", "admin", None)).await;
        assert!(
            matches!(invite_admin, Err(Error::Forbidden(_))),
            "{invite_admin:?}"
        );
        let promote_self = UserChange {
            role: Some("admin".to_owned()),
            ..UserChange::default()
        };
        let promoted =
            users::update_user(a.store(), &permit, manager.user_id(), &promote_self).await;
        assert!(matches!(promoted, Err(Error::Forbidden(_))), "{promoted:?}");
        let demote_admin = lifecycle::deactivate_user(a.store(), &permit, admin.user_id()).await;
        assert!(
            matches!(demote_admin, Err(Error::Forbidden(_))),
            "{demote_admin:?}"
        );

        // Managing roles does not lead to more power either.
        let shaper_role = roles::create_role(
            a.store(),
            &roles_permit,
            &NewRole {
                name: "Role shaper".to_owned(),
                kind: UserKind::Staff,
                permissions: PermissionSet::of(&[Permission::RolesManage]),
            },
        )
        .await
        .unwrap();
        let shaper = signed_in_user(a.store(), "shaper@power.test", &shaper_role.id, None).await;
        let shaping = access::permit::<need::RolesManage>(&shaper, Scope::Brand).unwrap();
        let widen = RoleChange {
            permissions: Some(PermissionSet::all()),
            ..RoleChange::default()
        };
        let widened = roles::update_role(a.store(), &shaping, &shaper_role.id, &widen).await;
        assert!(matches!(widened, Err(Error::Forbidden(_))), "{widened:?}");
        let narrowed =
            roles::update_role(a.store(), &shaping, "staff", &RoleChange::default()).await;
        assert!(
            matches!(narrowed, Err(Error::Forbidden(_))),
            "a role with more power than the actor's cannot be edited: {narrowed:?}"
        );

        // Within their own power they can act: a user with a narrower role.
        let (peer, _) = invitations::invite(
            a.store(),
            &permit,
            &new_user("peer@power.test", &people.id, None),
        )
        .await
        .unwrap();
        lifecycle::deactivate_user(a.store(), &permit, &peer.id)
            .await
            .unwrap();
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "race.test").await;
        let ann = signed_in_admin(a.store(), "ann@race.test").await;
        let bob = signed_in_admin(a.store(), "bob@race.test").await;
        let by_ann = access::permit::<need::UsersManage>(&ann, Scope::Brand).unwrap();
        let by_bob = access::permit::<need::UsersManage>(&bob, Scope::Brand).unwrap();
        let to_staff = UserChange {
            role: Some("staff".to_owned()),
            ..UserChange::default()
        };
        let to_admin = UserChange {
            role: Some("admin".to_owned()),
            ..UserChange::default()
        };
        for round in 0..40 {
            let (store_1, store_2) = (a.store().clone(), a.store().clone());
            let (ann_1, bob_2) = (ann.clone(), bob.clone());
            let (bob_id, ann_id) = (bob.user_id().to_owned(), ann.user_id().to_owned());
            let (to_staff_1, to_staff_2) = (to_staff.clone(), to_staff.clone());
            let (first, second) = tokio::join!(
                tokio::spawn(async move {
                    let by_ann = access::permit::<need::UsersManage>(&ann_1, Scope::Brand)?;
                    users::update_user(&store_1, &by_ann, &bob_id, &to_staff_1).await
                }),
                tokio::spawn(async move {
                    let by_bob = access::permit::<need::UsersManage>(&bob_2, Scope::Brand)?;
                    users::update_user(&store_2, &by_bob, &ann_id, &to_staff_2).await
                }),
            );
            let (first, second) = (first.unwrap(), second.unwrap());
            let demoted = [&first, &second].iter().filter(|r| r.is_ok()).count();
            assert_eq!(
                demoted,
                1,
                "{} round {round}: {first:?} {second:?}",
                store.kind()
            );
            let refused = if first.is_ok() { &second } else { &first };
            assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
            // The one still an admin makes the other an admin again.
            let (permit, other) = if first.is_ok() {
                (&by_ann, bob.user_id())
            } else {
                (&by_bob, ann.user_id())
            };
            users::update_user(a.store(), permit, other, &to_admin)
                .await
                .unwrap();
        }

        // Nor may the only active admin be given an end date.
        users::update_user(a.store(), &by_ann, bob.user_id(), &to_staff)
            .await
            .unwrap();
        let expiring = UserChange {
            access_expires_at: Some(Some(
                time::OffsetDateTime::now_utc() + time::Duration::days(3),
            )),
            ..UserChange::default()
        };
        let refused = users::update_user(a.store(), &by_ann, ann.user_id(), &expiring).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_reset_link_is_mailed_only_for_an_account_and_works_once_within_the_hour() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "reset.test").await;
        let ada = signed_in_user(a.store(), "ada@reset.test", "staff", None).await;
        let queued = |kind: &'static str| {
            let store = a.store().clone();
            async move {
                tenant_core::brand::outbox::outbox(&store, 100)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|m| m.kind == kind)
                    .count()
            }
        };
        assert_eq!(
            queued("invitation").await,
            1,
            "the invitation was queued with the user"
        );

        password_reset::request_password_reset(
            a.store(),
            &Email::parse("nobody@reset.test").unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(queued("password_reset").await, 0);
        password_reset::request_password_reset(a.store(), &Email::parse("ADA@reset.test").unwrap())
            .await
            .unwrap();
        assert_eq!(queued("password_reset").await, 1);

        // The sender claims it once; a second sender finds nothing to send.
        let claimed =
            tenant_core::brand::outbox::claim_due(a.store(), "one", 10, time::Duration::minutes(2))
                .await
                .unwrap();
        let reset = claimed
            .iter()
            .find(|m| m.kind == tenant_core::brand::outbox::MailKind::PasswordReset)
            .unwrap()
            .clone();
        assert_eq!(reset.recipient, "ada@reset.test");
        let again =
            tenant_core::brand::outbox::claim_due(a.store(), "two", 10, time::Duration::minutes(2))
                .await
                .unwrap();
        assert!(again.is_empty(), "{again:?}");
        let token = reset.params["token"].as_str().unwrap().to_owned();
        tenant_core::brand::outbox::mark_sent(a.store(), &reset.id)
            .await
            .unwrap();
        let entry = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.mail_id == reset.id)
            .unwrap();
        assert_eq!(entry.status, "sent");

        assert_eq!(
            sessions::list_sessions(a.store(), &ada)
                .await
                .unwrap()
                .len(),
            1
        );
        let weak = password_reset::reset_password(a.store(), &token, "short").await;
        assert!(matches!(weak, Err(Error::Field { .. })), "{weak:?}");
        password_reset::reset_password(a.store(), &token, "a brand new passphrase")
            .await
            .unwrap();
        let twice =
            password_reset::reset_password(a.store(), &token, "another new passphrase").await;
        assert!(matches!(twice, Err(Error::NotFound(_))), "{twice:?}");
        // Sessions ended with the reset.
        assert!(
            sessions::list_sessions(a.store(), &ada)
                .await
                .unwrap_or_default()
                .is_empty(),
            "every session ended"
        );

        // A link older than an hour no longer works.
        password_reset::request_password_reset(a.store(), &Email::parse("ada@reset.test").unwrap())
            .await
            .unwrap();
        let claimed =
            tenant_core::brand::outbox::claim_due(a.store(), "one", 10, time::Duration::minutes(2))
                .await
                .unwrap();
        let late = claimed[0].params["token"].as_str().unwrap().to_owned();
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update password_resets set expires_at = created_at where used_at is null"],
        )
        .await;
        let expired =
            password_reset::reset_password(a.store(), &late, "a brand new passphrase").await;
        assert!(matches!(expired, Err(Error::NotFound(_))), "{expired:?}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn two_factor_sign_in_needs_a_fresh_code_or_a_recovery_code_once() {
    use tenant_core::accounts::totp;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "totp.test").await;
        let ada = signed_in_user(a.store(), "ada@totp.test", "staff", None).await;
        let sign_in = |code: Option<&str>| {
            let store = a.store().clone();
            let code = code.map(str::to_owned);
            async move {
                sessions::sign_in(
                    &store,
                    "ada@totp.test",
                    PASSWORD,
                    code.as_deref(),
                    &client_info(),
                )
                .await
            }
        };
        let wrong_password = totp::begin(a.store(), &ada, "not the password", "Brand").await;
        assert!(matches!(
            wrong_password,
            Err(Error::Field {
                field: "password",
                ..
            })
        ));
        let enrollment = totp::begin(a.store(), &ada, PASSWORD, "Brand")
            .await
            .unwrap();
        assert!(
            enrollment
                .otpauth_url
                .starts_with("otpauth://totp/Brand:ada%40totp.test?secret=")
                || enrollment
                    .otpauth_url
                    .starts_with("otpauth://totp/Brand:ada@totp.test?secret=")
        );
        // Not on until a code is confirmed.
        assert!(sign_in(None).await.is_ok());
        let secret = data_encoding::BASE32_NOPAD
            .decode(enrollment.secret.as_bytes())
            .unwrap();
        let now_step = totp::step_of(time::OffsetDateTime::now_utc());
        let wrong = totp::confirm(a.store(), &ada, "abcdef").await;
        assert!(
            matches!(wrong, Err(Error::Field { field: "code", .. })),
            "{wrong:?}"
        );
        let codes = totp::confirm(a.store(), &ada, &totp::code_at(&secret, now_step))
            .await
            .unwrap();
        assert_eq!(codes.len(), 10);
        let notices = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "two_factor_changed")
            .count();
        assert_eq!(notices, 1, "the user is told by mail");

        assert!(matches!(
            sign_in(None).await,
            Err(Error::SecondFactorRequired)
        ));
        assert!(matches!(
            sign_in(Some("abcdef")).await,
            Err(Error::Unauthenticated(_))
        ));
        let next: &'static str = Box::leak(totp::code_at(&secret, now_step + 1).into_boxed_str());
        assert!(sign_in(Some(next)).await.is_ok());
        assert!(
            matches!(sign_in(Some(next)).await, Err(Error::Unauthenticated(_))),
            "a code works once"
        );
        let recovery: &'static str = Box::leak(codes[3].to_uppercase().into_boxed_str());
        assert!(
            sign_in(Some(recovery)).await.is_ok(),
            "recovery codes ignore case"
        );
        assert!(matches!(
            sign_in(Some(recovery)).await,
            Err(Error::Unauthenticated(_))
        ));
        let status = totp::status(a.store(), &ada).await.unwrap();
        assert_eq!((status.enabled, status.recovery_codes_left), (true, 9));

        assert!(
            totp::disable(a.store(), &ada, "not the password")
                .await
                .is_err()
        );
        assert!(totp::status(a.store(), &ada).await.unwrap().enabled);
        totp::disable(a.store(), &ada, PASSWORD).await.unwrap();
        assert!(sign_in(None).await.is_ok());
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn required_two_factor_limits_staff_without_it_until_they_set_it_up() {
    use tenant_core::accounts::totp;
    use tenant_core::brand::settings;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "require.test").await;
        let boss = signed_in_admin(a.store(), "boss@require.test").await;
        signed_in_user(a.store(), "sam@require.test", "staff", None).await;
        let permit = access::permit::<need::SettingsManage>(&boss, Scope::Brand).unwrap();
        let required = settings::Security {
            require_totp_for_staff: true,
        };
        let too_soon = settings::set_security(a.store(), &permit, required).await;
        assert!(
            matches!(too_soon, Err(Error::Conflict(_))),
            "the admin needs it first"
        );
        let enroll = |principal: tenant_core::access::Principal| {
            let store = a.store().clone();
            async move {
                let enrollment = totp::begin(&store, &principal, PASSWORD, "Brand")
                    .await
                    .unwrap();
                let secret = data_encoding::BASE32_NOPAD
                    .decode(enrollment.secret.as_bytes())
                    .unwrap();
                let step = totp::step_of(time::OffsetDateTime::now_utc());
                totp::confirm(&store, &principal, &totp::code_at(&secret, step))
                    .await
                    .unwrap();
            }
        };
        enroll(boss.clone()).await;
        settings::set_security(a.store(), &permit, required)
            .await
            .unwrap();
        assert_eq!(
            settings::security(a.store(), &permit).await.unwrap(),
            required
        );

        let sam = password_sign_in(a.store(), "sam@require.test")
            .await
            .unwrap()
            .principal;
        assert!(sam.must_set_up_totp());
        enroll(sam.clone()).await;
        let refused = totp::disable(a.store(), &sam, PASSWORD).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
        let second = password_sign_in(a.store(), "sam@require.test").await;
        assert!(matches!(second, Err(Error::SecondFactorRequired)));
        let audit = audit::list_audit(
            a.store(),
            &access::permit::<need::AuditView>(&boss, Scope::Brand).unwrap(),
            &Filter {
                action: Some("settings.security_update".to_owned()),
                ..Filter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
        assert_eq!(audit.items.len(), 1);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn the_access_review_flags_what_to_look_at_and_admins_hear_of_access_ending() {
    use tenant_core::access::access_review::{self, Flag};
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "review.test").await;
        let boss = signed_in_admin(a.store(), "boss@review.test").await;
        let temp = signed_in_user(a.store(), "temp@review.test", "staff", None).await;
        invitations::invite_user(a.store(), &new_user("late@review.test", "staff", None))
            .await
            .unwrap();
        // Late's invitation ran out; Temp's access ends in three days.
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &["update invitations set expires_at = created_at where accepted_at is null"],
        )
        .await;
        let permit = access::permit::<need::UsersManage>(&boss, Scope::Brand).unwrap();
        let ends = UserChange {
            access_expires_at: Some(Some(
                time::OffsetDateTime::now_utc() + time::Duration::days(3),
            )),
            ..UserChange::default()
        };
        users::update_user(a.store(), &permit, temp.user_id(), &ends)
            .await
            .unwrap();

        let page = access_review::access_review(a.store(), &permit, None, 2)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        let rest = access_review::access_review(a.store(), &permit, page.next_cursor.as_deref(), 2)
            .await
            .unwrap();
        assert_eq!(rest.next_cursor, None);
        let all: Vec<_> = page.items.into_iter().chain(rest.items).collect();
        assert_eq!(all.len(), 3);
        let of = |email: &str| all.iter().find(|r| r.user.email == email).unwrap();
        assert_eq!(of("boss@review.test").flags, [Flag::Admin]);
        assert_eq!(of("boss@review.test").role_name, "Admin");
        assert_eq!(of("temp@review.test").flags, [Flag::AccessExpiringSoon]);
        assert!(
            of("temp@review.test")
                .permissions
                .contains(Permission::TasksEdit)
        );
        assert_eq!(of("late@review.test").flags, [Flag::InvitationExpired]);

        // The admins hear of it once per end date.
        assert_eq!(
            access_review::warn_expiring_access(a.store())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            access_review::warn_expiring_access(a.store())
                .await
                .unwrap(),
            0
        );
        let warnings: Vec<_> = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "access_expiring")
            .collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].recipient, "boss@review.test");
        let later = UserChange {
            access_expires_at: Some(Some(
                time::OffsetDateTime::now_utc() + time::Duration::days(5),
            )),
            ..UserChange::default()
        };
        users::update_user(a.store(), &permit, temp.user_id(), &later)
            .await
            .unwrap();
        assert_eq!(
            access_review::warn_expiring_access(a.store())
                .await
                .unwrap(),
            1,
            "a new end date is announced again"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn after_ten_wrong_codes_only_a_recovery_code_signs_in() {
    use tenant_core::accounts::totp;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "guess.test").await;
        let eve = signed_in_user(a.store(), "eve@guess.test", "staff", None).await;
        let enrollment = totp::begin(a.store(), &eve, PASSWORD, "Brand")
            .await
            .unwrap();
        let secret = data_encoding::BASE32_NOPAD
            .decode(enrollment.secret.as_bytes())
            .unwrap();
        let step = totp::step_of(time::OffsetDateTime::now_utc());
        let codes = totp::confirm(a.store(), &eve, &totp::code_at(&secret, step))
            .await
            .unwrap();
        let sign_in = |code: String| {
            let store = a.store().clone();
            async move {
                sessions::sign_in(
                    &store,
                    "eve@guess.test",
                    PASSWORD,
                    Some(&code),
                    &client_info(),
                )
                .await
            }
        };
        for _ in 0..totp::MAX_CODE_FAILURES {
            let wrong = sign_in("abcdef".to_owned()).await;
            assert!(matches!(wrong, Err(Error::Unauthenticated(_))), "{wrong:?}");
        }
        let right = totp::code_at(&secret, step + 1);
        let locked = sign_in(right.clone()).await;
        assert!(
            matches!(&locked, Err(Error::Unauthenticated(m)) if m.contains("recovery code")),
            "{locked:?}"
        );
        assert!(
            sign_in(codes[0].clone()).await.is_ok(),
            "a recovery code still works"
        );
        assert!(
            sign_in(right).await.is_ok(),
            "and codes work again after it"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_admin_can_turn_off_the_two_factor_sign_in_of_someone_who_lost_their_phone() {
    use tenant_core::accounts::totp;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "lost.test").await;
        let boss = signed_in_admin(a.store(), "boss@lost.test").await;
        let lou = signed_in_user(a.store(), "lou@lost.test", "staff", None).await;
        let permit = access::permit::<need::UsersManage>(&boss, Scope::Brand).unwrap();
        let none_yet = totp::reset_two_factor(a.store(), &permit, lou.user_id()).await;
        assert!(matches!(none_yet, Err(Error::Conflict(_))), "{none_yet:?}");
        enroll(a.store(), &lou).await;
        assert!(matches!(
            password_sign_in(a.store(), "lou@lost.test").await,
            Err(Error::SecondFactorRequired)
        ));
        totp::reset_two_factor(a.store(), &permit, lou.user_id())
            .await
            .unwrap();
        assert!(password_sign_in(a.store(), "lou@lost.test").await.is_ok());
        let notices = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "two_factor_changed" && m.recipient == "lou@lost.test")
            .count();
        assert_eq!(
            notices, 2,
            "told when it went on, and when the admin turned it off"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn payment_secrets_are_sealed_at_rest_shown_masked_and_kept_when_left_out() {
    use tenant_core::brand::settings::{self, GatewayChange};
    use tenant_core::platform::secrets::SecretKey;
    let key = SecretKey::from_text(&SecretKey::generate_text().unwrap()).unwrap();
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "a.test").await;
        let admin = signed_in_admin(a.store(), "admin@a.test").await;
        let permit = access::permit::<need::PaymentsSettings>(&admin, Scope::Brand).unwrap();
        let change = |secret: Option<Option<&str>>| {
            vec![(
                "stripe".to_owned(),
                GatewayChange {
                    enabled: Some(true),
                    public_key: Some(Some("pk_test_1".to_owned())),
                    secret_key: secret.map(|s| s.map(str::to_owned)),
                    webhook_secret: None,
                },
            )]
        };
        let saved = settings::set_payments(
            a.store(),
            &permit,
            &key,
            change(Some(Some("sk_live_abcdefgh4242"))),
        )
        .await
        .unwrap();
        let stored = serde_json::to_string(&saved).unwrap();
        assert!(!stored.contains("sk_live_abcdefgh4242"), "sealed: {stored}");
        let view = saved.view(&key).to_string();
        assert!(
            view.contains("••••4242") && !view.contains("abcdefgh"),
            "{view}"
        );
        // Left out: kept. An unknown gateway or turning one on without a secret: refused, nothing changes.
        let kept = settings::set_payments(a.store(), &permit, &key, change(None))
            .await
            .unwrap();
        assert!(kept.view(&key).to_string().contains("••••4242"));
        let unknown = vec![("bitbank".to_owned(), GatewayChange::default())];
        assert!(
            settings::set_payments(a.store(), &permit, &key, unknown)
                .await
                .is_err()
        );
        let bare = vec![(
            "paypal".to_owned(),
            GatewayChange {
                enabled: Some(true),
                ..GatewayChange::default()
            },
        )];
        assert!(matches!(
            settings::set_payments(a.store(), &permit, &key, bare).await,
            Err(Error::Field {
                field: "secret_key",
                ..
            })
        ));
        let now = settings::payments(a.store(), &permit).await.unwrap();
        assert_eq!(now, kept);
        let audit = audit::list_audit(
            a.store(),
            &access::permit::<need::AuditView>(&admin, Scope::Brand).unwrap(),
            &Filter {
                action: Some("settings.payments_update".to_owned()),
                ..Filter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
        assert_eq!(audit.items.len(), 2);
        assert!(
            !format!("{:?}", audit.items).contains("4242"),
            "no secret in the audit log"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_ends_the_other_sessions() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "a.test").await;
        signed_in_admin(a.store(), "admin@a.test").await;
        let this = password_sign_in(a.store(), "admin@a.test").await.unwrap();
        let here = this.principal.clone();
        let elsewhere = password_sign_in(a.store(), "admin@a.test").await.unwrap();
        let wrong = credentials::change_own_password(
            a.store(),
            &here,
            "not it at all",
            "a brand new password",
        )
        .await;
        assert!(
            matches!(
                wrong,
                Err(Error::Field {
                    field: "current_password",
                    ..
                })
            ),
            "{wrong:?}"
        );
        credentials::change_own_password(a.store(), &here, PASSWORD, "a brand new password")
            .await
            .unwrap();
        // The other session ended; this one goes on; the new password signs in, the old not.
        let other = sessions::authenticate(
            a.store(),
            Presented::Session(elsewhere.secret.reveal()),
            "192.0.2.7",
        )
        .await;
        assert!(matches!(other, Err(Error::Unauthenticated(_))), "{other:?}");
        let still = sessions::authenticate(
            a.store(),
            Presented::Session(this.secret.reveal()),
            "192.0.2.7",
        )
        .await;
        assert!(still.is_ok(), "{still:?}");
        assert!(password_sign_in(a.store(), "admin@a.test").await.is_err());
        assert!(
            sessions::sign_in(
                a.store(),
                "admin@a.test",
                "a brand new password",
                None,
                &client_info()
            )
            .await
            .is_ok()
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_revoked_or_renewed_invitation_is_never_mailed_with_its_dead_link() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "a.test").await;
        let admin = signed_in_admin(a.store(), "admin@a.test").await;
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let (bo, _) =
            invitations::invite(a.store(), &permit, &new_user("bo@a.test", "staff", None))
                .await
                .unwrap();
        let pending = |entries: &[tenant_core::brand::outbox::OutboxEntry]| {
            entries
                .iter()
                .filter(|e| {
                    e.recipient == "bo@a.test" && e.kind == "invitation" && e.status == "pending"
                })
                .count()
        };
        let before = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap();
        assert_eq!(pending(&before), 1);
        // Sent again: only the new mail waits.
        invitations::resend_invitation(a.store(), &permit, &bo.id)
            .await
            .unwrap();
        let resent = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap();
        assert_eq!(pending(&resent), 1);
        assert!(resent.iter().any(|e| e.recipient == "bo@a.test"
            && e.status == "abandoned"
            && e.last_error.as_deref() == Some("the invitation was revoked or sent again")));
        // Revoked: nothing waits.
        invitations::revoke_invitation(a.store(), &permit, &bo.id)
            .await
            .unwrap();
        let revoked = tenant_core::brand::outbox::outbox(a.store(), 100)
            .await
            .unwrap();
        assert_eq!(pending(&revoked), 0);
        // Other people's mail is untouched.
        let others = revoked
            .iter()
            .filter(|e| e.recipient != "bo@a.test" && e.status == "abandoned")
            .count();
        assert_eq!(others, 0);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn two_factor_secrets_are_sealed_in_the_store_and_backups_and_old_clear_ones_get_sealed() {
    use tenant_core::accounts::totp;
    use tenant_core::platform::backup;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "sealed.test").await;
        let ada = signed_in_user(a.store(), "ada@sealed.test", "staff", None).await;
        let shown = enroll(a.store(), &ada).await;
        let export = || async {
            let mut out = Vec::new();
            backup::export(&a.tenant, a.store(), &mut out, |_| {})
                .await
                .unwrap();
            String::from_utf8_lossy(&out).into_owned()
        };
        let text = export().await;
        assert!(text.contains("totp_credentials"), "the table is backed up");
        assert!(
            !text.contains(&shown),
            "the secret is sealed in the store and the backup"
        );

        // A secret that an older release stored in clear is sealed at migration, and
        // still signs in.
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &[&format!(
                "update totp_credentials set secret = '{}', last_step = 0",
                shown
            )],
        )
        .await;
        assert!(export().await.contains(&shown), "in clear now");
        let report = platform.migrate_tenants(|_| {}).await.unwrap();
        assert!(
            report.iter().all(|entry| entry.result.is_ok()),
            "{report:?}"
        );
        assert!(!export().await.contains(&shown), "sealed again");
        let secret = data_encoding::BASE32_NOPAD
            .decode(shown.as_bytes())
            .unwrap();
        let code = totp::code_at(&secret, totp::step_of(time::OffsetDateTime::now_utc()));
        let signed_in = sessions::sign_in(
            a.store(),
            "ada@sealed.test",
            PASSWORD,
            Some(&code),
            &client_info(),
        )
        .await;
        assert!(signed_in.is_ok(), "{:?}", signed_in.err());
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn cached_sign_ins_and_looks_are_used_until_a_change_that_matters_and_never_after() {
    use tenant_core::brand::branding;
    use tenant_core::brand::settings::{self, Security};
    for store in both().await {
        let platform = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
        let follower = support::following(&platform).await;
        let a = context(&platform, "cache.test").await;
        let admin = signed_in_admin(a.store(), "admin@cache.test").await;
        let users_permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let staff = signed_in_user(a.store(), "staff@cache.test", "staff", None).await;
        let session = password_sign_in(a.store(), "staff@cache.test")
            .await
            .unwrap();
        let (token_row, token) = sessions::create_token(a.store(), &staff, "ci", None)
            .await
            .unwrap();
        let by_session = Presented::Session(session.secret.reveal());
        let by_token = Presented::Token(token.reveal());
        let who = async |presented| sessions::authenticate(a.store(), presented, "x").await;
        let change_staff = async |change: UserChange| {
            users::update_user(a.store(), &users_permit, staff.user_id(), &change)
                .await
                .unwrap();
        };
        for presented in [by_session, by_token] {
            assert_eq!(who(presented).await.unwrap().name(), "Test User");
        }
        branding::look(&a).await.unwrap();

        // A change made behind the platform's back (no transaction of its own) is not
        // seen: the answers come from the caches.
        run_in_tenant(
            &store.backend,
            &a.tenant,
            &[
                "update users set name = 'Renamed Behind' where email_key = 'staff@cache.test'",
                "insert into brand_settings (area, value, updated_at) values ('branding', '{\"name\":\"Behind\"}', '2026-01-01 00:00:00+00:00')",
            ],
        )
        .await;
        for presented in [by_session, by_token] {
            assert_eq!(
                who(presented).await.unwrap().name(),
                "Test User",
                "{}: served from the cache",
                store.kind()
            );
        }
        assert_eq!(branding::look(&a).await.unwrap().name, "Brand");

        // Any change through the platform lets go of both at once.
        change_staff(UserChange {
            name: Some("Grace Hopper".to_owned()),
            ..UserChange::default()
        })
        .await;
        for presented in [by_session, by_token] {
            assert_eq!(who(presented).await.unwrap().name(), "Grace Hopper");
        }
        assert_eq!(branding::look(&a).await.unwrap().name, "Behind");

        // A role change applies to the very next request.
        change_staff(UserChange {
            role: Some("admin".to_owned()),
            ..UserChange::default()
        })
        .await;
        let promoted = who(by_session).await.unwrap();
        assert!(access::permit::<need::UsersManage>(&promoted, Scope::Brand).is_ok());
        change_staff(UserChange {
            role: Some("staff".to_owned()),
            ..UserChange::default()
        })
        .await;
        for presented in [by_session, by_token] {
            let demoted = who(presented).await.unwrap();
            assert!(access::permit::<need::UsersManage>(&demoted, Scope::Brand).is_err());
        }

        // Requiring two-factor sign-in limits the staff member on the next request.
        let settings_permit = access::permit::<need::SettingsManage>(&admin, Scope::Brand).unwrap();
        enroll(a.store(), &admin).await;
        assert!(!who(by_session).await.unwrap().must_set_up_totp());
        for required in [true, false] {
            let security = Security {
                require_totp_for_staff: required,
            };
            settings::set_security(a.store(), &settings_permit, security)
                .await
                .unwrap();
            assert_eq!(who(by_session).await.unwrap().must_set_up_totp(), required);
        }

        // Revoking the token and signing out end each at once; the other goes on.
        sessions::revoke_token(a.store(), &staff, &token_row.id)
            .await
            .unwrap();
        assert!(matches!(
            who(by_token).await,
            Err(Error::Unauthenticated(_))
        ));
        let signed = who(by_session).await.unwrap();
        sessions::sign_out(a.store(), &signed).await.unwrap();
        assert!(matches!(
            who(by_session).await,
            Err(Error::Unauthenticated(_))
        ));

        // Deactivation ends a cached session of another device at once.
        let other = password_sign_in(a.store(), "staff@cache.test")
            .await
            .unwrap();
        let by_other = Presented::Session(other.secret.reveal());
        who(by_other).await.unwrap();
        who(by_other).await.unwrap();
        lifecycle::deactivate_user(a.store(), &users_permit, staff.user_id())
            .await
            .unwrap();
        assert!(matches!(
            who(by_other).await,
            Err(Error::Unauthenticated(_))
        ));

        follower.abort();
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_change_on_one_server_is_seen_by_another_servers_cache_on_postgresql() {
    let Some(store) = support::postgres(4).await else {
        return;
    };
    let one = Platform::open(&store.backend).await.unwrap();
    let a = context(&one, "replicas.test").await;
    let admin = signed_in_admin(a.store(), "admin@replicas.test").await;
    signed_in_user(a.store(), "staff@replicas.test", "staff", None).await;
    let session = password_sign_in(a.store(), "staff@replicas.test")
        .await
        .unwrap();
    let presented = Presented::Session(session.secret.reveal());

    let two = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
    let follower = support::following(&two).await;
    let on_two = two
        .context_for(
            &support::host("replicas.test"),
            &tenant_core::Standing::Development,
        )
        .await
        .unwrap()
        .unwrap()
        .0;
    let staff = sessions::authenticate(on_two.store(), presented, "x")
        .await
        .unwrap();
    // Cached on the second server: a rename behind both servers' backs is not seen there.
    run_in_tenant(
        &store.backend,
        &a.tenant,
        &["update users set name = 'Behind' where email_key = 'staff@replicas.test'"],
    )
    .await;
    let cached = sessions::authenticate(on_two.store(), presented, "x")
        .await
        .unwrap();
    assert_eq!(cached.name(), "Test User");

    // A work item added on the first server lets go of answers the second remembered.
    let loads = std::sync::atomic::AtomicU8::new(0);
    let answer = async || {
        on_two
            .store()
            .remembered("answer".to_owned(), async || {
                Ok(vec![
                    loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                ])
            })
            .await
            .unwrap()
    };
    assert_eq!(*answer().await, [0]);
    assert_eq!(*answer().await, [0]);
    let create = access::permit::<need::ProjectsCreate>(&admin, Scope::Brand).unwrap();
    let new = tenant_core::work::projects::NewProject {
        name: "Elsewhere".to_owned(),
        description: String::new(),
        company_id: None,
    };
    tenant_core::work::projects::create_project(a.store(), &create, &new)
        .await
        .unwrap();
    let mut reloaded = answer().await;
    for _ in 0..100 {
        if *reloaded != [0] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        reloaded = answer().await;
    }
    assert_eq!(*reloaded, [1], "the second server loads it again");

    let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
    lifecycle::deactivate_user(a.store(), &permit, staff.user_id())
        .await
        .unwrap();
    let mut answer = sessions::authenticate(on_two.store(), presented, "x").await;
    for _ in 0..100 {
        if answer.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        answer = sessions::authenticate(on_two.store(), presented, "x").await;
    }
    assert!(
        matches!(answer, Err(Error::Unauthenticated(_))),
        "the second server lets go of its cached session: {answer:?}"
    );
    follower.abort();
    two.close().await;
    one.close().await;
    store.cleanup().await;
}

/// Every user `q` finds, through all pages.
async fn all_found(
    store: &tenant_core::TenantStore,
    permit: &access::Permitted<'_, need::UsersManage>,
    q: &str,
) -> Vec<String> {
    let filter = UserFilter {
        q: Some(q.to_owned()),
        ..UserFilter::default()
    };
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = users::list_users(store, permit, &filter, cursor.as_deref(), 7)
            .await
            .unwrap();
        found.extend(page.items.into_iter().map(|u| u.email.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return found,
        }
    }
}

#[tokio::test]
async fn searching_users_finds_exactly_what_contains_the_text_and_follows_every_change() {
    let names = [
        "Ada Lovelace",
        "ADA BYRON",
        "Grace Hopper",
        "grace o'malley",
        "Percy 100% Sure",
        "under_score Jones",
        "Quote \"Q\" Quinn",
        "rené dupont",
        "jürgen müller",
        "Lovelace Ada",
        "Al",
    ];
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "search.test").await;
        let admin = signed_in_admin(a.store(), "admin@search.test").await;
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let mut corpus = vec![("admin@search.test".to_owned(), "Test User".to_owned())];
        for (i, name) in names.iter().enumerate() {
            let email = format!("person{i}@search.test");
            let mut new = new_user(&email, "staff", None);
            new.name = (*name).to_owned();
            invitations::invite_user(a.store(), &new).await.unwrap();
            corpus.push((email, (*name).to_owned()));
        }
        let expected = |corpus: &[(String, String)], q: &str| {
            let q = q.trim().to_lowercase();
            let mut found: Vec<String> = corpus
                .iter()
                .filter(|(email, name)| email.contains(&q) || name.to_lowercase().contains(&q))
                .map(|(email, _)| email.clone())
                .collect();
            found.sort();
            found
        };
        let queries = [
            "a",
            "ad",
            "ada",
            "ADA",
            " lovelace ",
            "lace ada",
            "grace",
            "o'm",
            "100%",
            "0%",
            "%",
            "_",
            "r_s",
            "under_",
            "\"q\"",
            "rené",
            "RENÉ",
            "ürg",
            "müller",
            "search.test",
            "person1",
            "@search",
            "nobody here",
            "Al",
        ];
        let check = async |corpus: &[(String, String)]| {
            for q in queries {
                let mut found = all_found(a.store(), &permit, q).await;
                found.sort();
                assert_eq!(found, expected(corpus, q), "{}: q = {q:?}", store.kind());
            }
        };
        check(&corpus).await;

        // Renames and a new address are found at once; the old text no longer is.
        let first = async |q: &str| {
            let filter = UserFilter {
                q: Some(q.to_owned()),
                ..UserFilter::default()
            };
            let page = users::list_users(a.store(), &permit, &filter, None, 10).await;
            page.unwrap().items.remove(0)
        };
        let renamed = first("grace hopper").await;
        let change = UserChange {
            name: Some("Admiral Lovelace".to_owned()),
            ..UserChange::default()
        };
        users::update_user(a.store(), &permit, &renamed.id, &change)
            .await
            .unwrap();
        for entry in &mut corpus {
            if entry.1 == "Grace Hopper" {
                entry.1 = "Admiral Lovelace".to_owned();
            }
        }
        check(&corpus).await;
        // A user who never accepted can be deleted: gone from the search too.
        let gone = corpus.remove(1);
        let found = all_found(a.store(), &permit, "person0@").await;
        assert_eq!(found, std::slice::from_ref(&gone.0));
        let user = first(&gone.0).await;
        lifecycle::delete_user(a.store(), &permit, &user.id)
            .await
            .unwrap();
        check(&corpus).await;
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn remembered_answers_are_kept_until_any_write_to_their_brand() {
    use std::sync::atomic::{AtomicU8, Ordering};
    use tenant_core::work::projects::{self, NewProject};
    for store in both().await {
        let platform = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
        let follower = support::following(&platform).await;
        let a = context(&platform, "answers.test").await;
        let b = context(&platform, "other-answers.test").await;
        let admin = signed_in_admin(a.store(), "admin@answers.test").await;
        let loads = AtomicU8::new(0);
        let answer = async |store: &tenant_core::TenantStore| {
            store
                .remembered("the answer".to_owned(), async || {
                    Ok(vec![loads.fetch_add(1, Ordering::SeqCst) + 1])
                })
                .await
                .unwrap()
        };
        assert_eq!(*answer(a.store()).await, [1]);
        assert_eq!(*answer(a.store()).await, [1], "{}: kept", store.kind());
        assert_eq!(*answer(b.store()).await, [2], "another brand has its own");
        // A work item's change (no cache of sign-ins holds it) lets go of answers too.
        let permit = access::permit::<need::ProjectsCreate>(&admin, Scope::Brand).unwrap();
        let new = NewProject {
            name: "Launch".to_owned(),
            description: String::new(),
            company_id: None,
        };
        projects::create_project(a.store(), &permit, &new)
            .await
            .unwrap();
        assert_eq!(*answer(a.store()).await, [3]);
        assert_eq!(*answer(b.store()).await, [2], "the other brand's is kept");
        let users_permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let change = UserChange {
            name: Some("Renamed".to_owned()),
            ..UserChange::default()
        };
        users::update_user(a.store(), &users_permit, admin.user_id(), &change)
            .await
            .unwrap();
        assert_eq!(*answer(a.store()).await, [4]);
        follower.abort();
        platform.close().await;
        store.cleanup().await;
    }
}

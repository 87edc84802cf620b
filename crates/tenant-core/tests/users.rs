//! Users of one brand on both backends: unique case-folded email per brand, invitations
//! with single-use tokens, argon2id passwords and keyset pagination.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, host};
use tenant_core::users::{self, BuiltinRole, NewUser, UserKind, UserStatus};
use tenant_core::{Email, Error, Platform, Standing, TenantContext};

fn new_user(email: &str, role: BuiltinRole, company: Option<&str>) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        name: "Ada Lovelace".to_owned(),
        role,
        company_id: company.map(str::to_owned),
    }
}

async fn context(platform: &Platform, name: &str) -> TenantContext {
    let domain = host(name);
    platform
        .add_domain(&domain, "Brand", &Standing::Development)
        .await
        .unwrap();
    platform
        .context_for(&domain, &Standing::Development)
        .await
        .unwrap()
        .unwrap()
        .0
}

#[tokio::test]
async fn the_same_email_in_two_brands_is_two_unrelated_users_and_unique_within_one() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "a.test").await;
        let b = context(&platform, "b.test").await;
        let (in_a, _) = users::invite_user(
            a.store(),
            &new_user("Ada@Example.com", BuiltinRole::Admin, None),
        )
        .await
        .unwrap();
        let (in_b, _) = users::invite_user(
            b.store(),
            &new_user("ada@example.com", BuiltinRole::Staff, None),
        )
        .await
        .unwrap();
        assert_ne!(in_a.id, in_b.id);
        assert_eq!(in_a.email, "Ada@example.com");
        assert_eq!(in_a.kind, UserKind::Staff);
        assert_eq!(in_a.status, UserStatus::Invited);
        let again = users::invite_user(
            a.store(),
            &new_user("ADA@EXAMPLE.COM", BuiltinRole::Staff, None),
        )
        .await;
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
        let client_without_company =
            users::invite_user(a.store(), &new_user("c@x.test", BuiltinRole::Client, None)).await;
        assert!(matches!(client_without_company, Err(Error::Invalid(_))));
        let staff_with_company = users::invite_user(
            a.store(),
            &new_user("s@x.test", BuiltinRole::Staff, Some("co-1")),
        )
        .await;
        assert!(matches!(staff_with_company, Err(Error::Invalid(_))));
        let (client, _) = users::invite_user(
            a.store(),
            &new_user("c@x.test", BuiltinRole::Client, Some("co-1")),
        )
        .await
        .unwrap();
        assert_eq!(client.kind, UserKind::Client);
        assert!(matches!(
            BuiltinRole::parse("owner"),
            Err(Error::Invalid(_))
        ));
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
        let (user, invitation) = users::invite_user(
            a.store(),
            &new_user("new@invite.test", BuiltinRole::Staff, None),
        )
        .await
        .unwrap();
        let token = invitation.token.reveal().to_owned();
        assert_eq!(token.len(), 43);
        assert!(
            !format!("{invitation:?}").contains(&token),
            "tokens never reach Debug output"
        );

        let short = users::accept_invitation(a.store(), &token, "short").await;
        assert!(matches!(short, Err(Error::Invalid(_))));
        let wrong =
            users::accept_invitation(a.store(), "not-a-token", "a long enough password").await;
        assert!(matches!(wrong, Err(Error::NotFound(_))));
        assert_eq!(
            users::check_user_password(a.store(), &email, "a long enough password")
                .await
                .unwrap(),
            None
        );

        let active = users::accept_invitation(a.store(), &token, "a long enough password")
            .await
            .unwrap();
        assert_eq!(active.id, user.id);
        assert_eq!(active.status, UserStatus::Active);
        let reused = users::accept_invitation(a.store(), &token, "another long password").await;
        assert!(matches!(reused, Err(Error::NotFound(_))), "{reused:?}");

        let signed_in = users::check_user_password(a.store(), &email, "a long enough password")
            .await
            .unwrap();
        assert_eq!(signed_in.map(|u| u.id), Some(user.id));
        assert_eq!(
            users::check_user_password(a.store(), &email, "wrong password!!")
                .await
                .unwrap(),
            None
        );
        let hash = users::hash_password("x".repeat(12)).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn users_are_listed_in_pages_by_keyset() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = context(&platform, "pages.test").await;
        for i in 0..7 {
            users::invite_user(
                a.store(),
                &new_user(&format!("u{i}@pages.test"), BuiltinRole::Staff, None),
            )
            .await
            .unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = users::list_users(a.store(), cursor.as_deref(), 3)
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
        platform.close().await;
        store.cleanup().await;
    }
}

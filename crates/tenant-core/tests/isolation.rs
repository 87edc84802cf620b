//! Tenant isolation on both backends: concurrent writers in five tenants each read back
//! only their own rows, including when more work is in flight than there are connections.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::collections::BTreeSet;
use tenant_core::accounts::invitations;

use support::{host, postgres, sqlite};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Scope};
use tenant_core::accounts::users::{self, NewUser, UserFilter};
use tenant_core::{Email, Platform, Standing, TenantContext};

const TENANTS: usize = 5;
const USERS_EACH: usize = 12;

fn user(email: String) -> NewUser {
    NewUser::new(Email::parse(&email).unwrap(), "Person", "staff")
}

async fn contexts(platform: &Platform) -> Vec<TenantContext> {
    let mut contexts = Vec::new();
    for n in 0..TENANTS {
        let domain = host(&format!("brand{n}.test"));
        platform
            .add_domain(&domain, "Brand", &Standing::Development)
            .await
            .unwrap();
        let (context, _) = platform
            .context_for(&domain, &Standing::Development)
            .await
            .unwrap()
            .unwrap();
        contexts.push(context);
    }
    contexts
}

/// Writes to every tenant at once (interleaved task by task), then checks each tenant holds
/// exactly its own users.
async fn write_concurrently_and_check(platform: &Platform) {
    let contexts = contexts(platform).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..USERS_EACH {
        for (n, context) in contexts.iter().enumerate() {
            let context = context.clone();
            tasks.spawn(async move {
                // The same address in every tenant: unrelated users, one per store.
                invitations::invite_user(context.store(), &user(format!("shared{i}@example.com")))
                    .await
                    .unwrap();
                invitations::invite_user(context.store(), &user(format!("own{i}@brand{n}.test")))
                    .await
                    .unwrap();
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    for (n, context) in contexts.iter().enumerate() {
        let admin =
            support::signed_in_admin(context.store(), &format!("admin@brand{n}.test")).await;
        let permit = access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap();
        let filter = UserFilter {
            role: Some("staff".to_owned()),
            ..UserFilter::default()
        };
        let page = users::list_users(context.store(), &permit, &filter, None, 200)
            .await
            .unwrap();
        let emails: BTreeSet<String> = page.items.iter().map(|u| u.email.clone()).collect();
        let expected: BTreeSet<String> = (0..USERS_EACH)
            .flat_map(|i| {
                [
                    format!("shared{i}@example.com"),
                    format!("own{i}@brand{n}.test"),
                ]
            })
            .collect();
        assert_eq!(emails, expected, "tenant brand{n}.test");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_sqlite_tenants_written_concurrently_each_read_back_only_their_own_rows() {
    let store = sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    write_concurrently_and_check(&platform).await;
    platform.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_postgres_tenants_sharing_two_connections_each_read_back_only_their_own_rows() {
    let Some(store) = postgres(2).await else {
        return;
    };
    let platform = Platform::open(&store.backend).await.unwrap();
    write_concurrently_and_check(&platform).await;
    platform.close().await;
    store.cleanup().await;
}

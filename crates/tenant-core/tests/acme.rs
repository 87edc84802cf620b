//! ACME state in the platform store, on both backends: challenge answers are served per
//! domain and only while current, each domain keeps its challenge type, and of many
//! replicas racing for a domain's order lease exactly one wins until it runs out.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::sync::Arc;

use support::{both, host};
use tenant_core::Platform;
use tenant_core::acme::ChallengeType;
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn a_challenge_answer_is_given_for_its_own_domain_and_only_while_current() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = host("a.test");
        let b = host("b.test");
        let later = OffsetDateTime::now_utc() + Duration::minutes(10);
        platform
            .put_challenge(&a, "tok-1", "tok-1.thumbprint", later)
            .await
            .unwrap();
        assert_eq!(
            platform
                .challenge_answer(&a, "tok-1")
                .await
                .unwrap()
                .as_deref(),
            Some("tok-1.thumbprint")
        );
        assert_eq!(platform.challenge_answer(&b, "tok-1").await.unwrap(), None);
        assert_eq!(platform.challenge_answer(&a, "tok-2").await.unwrap(), None);
        assert_eq!(platform.challenge_answer(&a, "../x").await.unwrap(), None);
        assert!(
            platform
                .put_challenge(&a, "bad token", "x", later)
                .await
                .is_err()
        );

        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        platform
            .put_challenge(&a, "old", "old.thumbprint", past)
            .await
            .unwrap();
        assert_eq!(platform.challenge_answer(&a, "old").await.unwrap(), None);
        platform.remove_challenge("tok-1").await.unwrap();
        assert_eq!(platform.challenge_answer(&a, "tok-1").await.unwrap(), None);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn each_domain_keeps_its_challenge_type() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = host("a.test");
        assert_eq!(platform.challenge_type(&a).await.unwrap(), None);
        platform
            .set_challenge_type(&a, Some(ChallengeType::TlsAlpn01))
            .await
            .unwrap();
        assert_eq!(
            platform.challenge_type(&a).await.unwrap(),
            Some(ChallengeType::TlsAlpn01)
        );
        assert_eq!(
            platform.challenge_type(&host("b.test")).await.unwrap(),
            None
        );
        platform.set_challenge_type(&a, None).await.unwrap();
        assert_eq!(platform.challenge_type(&a).await.unwrap(), None);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn of_replicas_racing_for_an_order_lease_exactly_one_wins_until_it_runs_out() {
    for store in both().await {
        let platform = Arc::new(Platform::open(&store.backend).await.unwrap());
        let a = host("a.test");
        let mut racers = tokio::task::JoinSet::new();
        for replica in 0..8 {
            let (platform, a) = (Arc::clone(&platform), a.clone());
            racers.spawn(async move {
                let holder = format!("replica-{replica}");
                let won = platform
                    .take_order_lease(&a, &holder, Duration::minutes(5))
                    .await
                    .unwrap();
                (holder, won)
            });
        }
        let mut winners = Vec::new();
        while let Some(done) = racers.join_next().await {
            let (holder, won) = done.unwrap();
            if won {
                winners.push(holder);
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let winner = &winners[0];
        assert!(
            platform
                .take_order_lease(&a, winner, Duration::minutes(5))
                .await
                .unwrap(),
            "the holder renews its own lease"
        );
        assert!(
            !platform
                .take_order_lease(&a, "late", Duration::minutes(5))
                .await
                .unwrap()
        );
        platform.release_order_lease(&a, "late").await.unwrap();
        assert!(
            !platform
                .take_order_lease(&a, "late", Duration::minutes(5))
                .await
                .unwrap(),
            "only the holder can release"
        );
        platform.release_order_lease(&a, winner).await.unwrap();
        assert!(
            platform
                .take_order_lease(&a, "late", Duration::milliseconds(1))
                .await
                .unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            platform
                .take_order_lease(&a, "another", Duration::minutes(5))
                .await
                .unwrap(),
            "a lease that ran out can be taken"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

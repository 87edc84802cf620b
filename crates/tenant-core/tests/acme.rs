//! ACME state in the platform store, on both backends: challenge answers are served per
//! domain and only while current, each domain keeps its challenge type, and of many
//! replicas racing for a domain's order lease exactly one wins until it runs out; TLS-ALPN-01
//! answers are found by domain and never served as HTTP-01; the first stored account wins;
//! failures count up with their back-off and a success clears them with the certificate.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::sync::Arc;

use support::{both, host};
use tenant_core::Platform;
use tenant_core::platform::acme::ChallengeType;
use tenant_core::platform::certificates::{CertificateSource, StoredCertificate};
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn a_challenge_answer_is_given_for_its_own_domain_and_only_while_current() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = host("a.test");
        let b = host("b.test");
        let later = OffsetDateTime::now_utc() + Duration::minutes(10);
        platform
            .put_challenge(
                &a,
                ChallengeType::Http01,
                "tok-1",
                "tok-1.thumbprint",
                later,
            )
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
                .put_challenge(&a, ChallengeType::Http01, "bad token", "x", later)
                .await
                .is_err()
        );

        let past = OffsetDateTime::now_utc() - Duration::seconds(1);
        platform
            .put_challenge(&a, ChallengeType::Http01, "old", "old.thumbprint", past)
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

#[tokio::test]
async fn tls_alpn_answers_are_found_by_domain_and_never_served_over_http() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = host("a.test");
        let later = OffsetDateTime::now_utc() + Duration::minutes(10);
        platform
            .put_challenge(
                &a,
                ChallengeType::TlsAlpn01,
                "alpn-1",
                "alpn-1.thumb",
                later,
            )
            .await
            .unwrap();
        assert_eq!(
            platform.tls_alpn_answer(&a).await.unwrap().as_deref(),
            Some("alpn-1.thumb")
        );
        assert_eq!(platform.challenge_answer(&a, "alpn-1").await.unwrap(), None);
        assert_eq!(
            platform.tls_alpn_answer(&host("b.test")).await.unwrap(),
            None
        );
        platform.remove_challenge("alpn-1").await.unwrap();
        assert_eq!(platform.tls_alpn_answer(&a).await.unwrap(), None);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_stored_account_is_the_one_every_replica_uses() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let url = "https://ca.test/dir";
        assert_eq!(platform.acme_account(url).await.unwrap(), None);
        assert_eq!(
            platform.save_acme_account(url, "first").await.unwrap(),
            "first"
        );
        assert_eq!(
            platform.save_acme_account(url, "second").await.unwrap(),
            "first"
        );
        // A replica that saw "second" rejected cannot delete the account in use.
        platform.forget_acme_account(url, "second").await.unwrap();
        assert_eq!(
            platform.acme_account(url).await.unwrap().as_deref(),
            Some("first")
        );
        platform.forget_acme_account(url, "first").await.unwrap();
        assert_eq!(platform.acme_account(url).await.unwrap(), None);
        assert_eq!(
            platform
                .acme_account("https://other.test/dir")
                .await
                .unwrap(),
            None
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn failures_count_up_and_an_issued_certificate_clears_them() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let a = host("a.test");
        let now = OffsetDateTime::now_utc();
        platform
            .record_issuance_failure(&a, "CA unreachable", now + Duration::minutes(1))
            .await
            .unwrap();
        platform
            .record_issuance_failure(&a, "CA still unreachable", now + Duration::minutes(2))
            .await
            .unwrap();
        let state = platform.issuance_state(&a).await.unwrap().unwrap();
        assert_eq!(state.failures, 2);
        assert_eq!(state.last_error.as_deref(), Some("CA still unreachable"));
        assert!(state.next_attempt_at.unwrap() > now + Duration::seconds(100));

        let issued = StoredCertificate {
            domain: "a.test".to_owned(),
            source: CertificateSource::Acme,
            cert_pem: "chain".to_owned(),
            key_pem: "key".to_owned(),
            not_after: now + Duration::days(90),
            not_before: Some(now),
            renew_at: Some(now + Duration::days(60)),
            issuer: Some("Test CA".to_owned()),
        };
        platform.record_issuance(&issued).await.unwrap();
        let state = platform.issuance_state(&a).await.unwrap().unwrap();
        assert_eq!((state.failures, state.issued), (0, 1));
        assert_eq!(state.last_error, None);
        assert_eq!(state.next_attempt_at, None, "a success ends the back-off");
        let stored = platform.certificate("a.test").await.unwrap().unwrap();
        assert_eq!(stored.issuer.as_deref(), Some("Test CA"));
        assert_eq!(stored.source, CertificateSource::Acme);
        assert_eq!(
            stored.renew_at.map(|t| t.unix_timestamp()),
            issued.renew_at.map(|t| t.unix_timestamp())
        );
        assert_eq!(platform.issuance_states().await.unwrap().len(), 1);

        // A self-signed placeholder made at the same moment never replaces it.
        let placeholder = StoredCertificate {
            source: CertificateSource::SelfSigned,
            cert_pem: "self-signed".to_owned(),
            ..issued.clone()
        };
        platform.save_certificate(&placeholder).await.unwrap();
        let stored = platform.certificate("a.test").await.unwrap().unwrap();
        assert_eq!(
            (stored.source, stored.cert_pem.as_str()),
            (CertificateSource::Acme, "chain")
        );
        platform.close().await;
        store.cleanup().await;
    }
}

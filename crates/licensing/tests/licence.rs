//! The licence format, signature, plan rules and state over time, through the public API.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use licensing::{
    DEVELOPMENT_SIGNING_KEY, KeyId, Keyring, LicenceError, LicenceRequest, LicenceState, Plan,
    SigningKeyFile, Verdict, assess, issue, issue_with_development_key, normalised_lines, verify,
};
use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};

fn request(plan: Plan) -> LicenceRequest {
    LicenceRequest {
        id: "lic-test-1".to_owned(),
        licensee: "Acme Agency Ltd".to_owned(),
        plan,
        domains: vec![],
        issued_at: date!(2026 - 01 - 15),
        expires_at: None,
    }
}

fn dev_key() -> SigningKeyFile {
    SigningKeyFile::parse(DEVELOPMENT_SIGNING_KEY.as_bytes()).unwrap()
}

fn builtin() -> Keyring {
    Keyring::builtin()
}

/// A licence file around any payload, signed by `key` (for crafting broken licences).
fn craft(payload: &str, key: &SigningKeyFile) -> String {
    let signature = key.sign(payload.as_bytes());
    craft_parts(
        key.key_id.as_str(),
        &STANDARD.encode(payload),
        &STANDARD.encode(signature),
    )
}

fn craft_parts(key_id: &str, payload_b64: &str, signature_b64: &str) -> String {
    format!(
        "-----BEGIN TASK SESSION LICENCE-----\nVersion: 1\nKey-Id: {key_id}\n\n{payload_b64}\n-----SIGNATURE-----\n{signature_b64}\n-----END TASK SESSION LICENCE-----\n"
    )
}

const GOOD_PAYLOAD: &str = r#"{"product":"tasksession","format":1,"id":"lic-1","licensee":"Acme","plan":"multi","max_domains":5,"domains":[],"issued_at":"2026-01-15","expires_at":"2027-01-15","key_id":"development-1"}"#;

fn verify_text(text: &str) -> Result<licensing::Licence, LicenceError> {
    verify(text.as_bytes(), &builtin())
}

#[test]
fn a_crafted_payload_in_the_right_shape_verifies() {
    let licence = verify_text(&craft(GOOD_PAYLOAD, &dev_key())).unwrap();
    assert_eq!(licence.plan, Plan::Multi);
    assert_eq!(licence.max_domains, 5);
}

#[test]
fn every_plan_round_trips_with_its_rules() {
    for plan in Plan::ALL {
        let text = issue_with_development_key(&request(plan)).unwrap();
        let licence = verify_text(&text).unwrap();
        assert_eq!(licence.plan, plan);
        assert_eq!(licence.licensee, "Acme Agency Ltd");
        assert_eq!(licence.id, "lic-test-1");
        assert_eq!(licence.max_domains, plan.max_domains());
        assert_eq!(licence.issued_at, date!(2026 - 01 - 15));
        match plan {
            Plan::Lifetime => assert_eq!(licence.expires_at, None),
            Plan::Single | Plan::Multi => {
                assert_eq!(licence.expires_at, Some(date!(2027 - 01 - 15)))
            }
        }
    }
    assert_eq!(Plan::Single.max_domains(), 1);
    assert_eq!(Plan::Lifetime.max_domains(), 1);
    assert_eq!(Plan::Multi.max_domains(), 5);
}

#[test]
fn a_licence_rewrapped_at_60_columns_with_crlf_and_indentation_still_verifies() {
    let text = issue_with_development_key(&LicenceRequest {
        domains: vec!["projects.acme.com".to_owned(), "portal.acme.com".to_owned()],
        ..request(Plan::Multi)
    })
    .unwrap();
    let mut rewrapped = String::from("Hello, here is your licence:\r\n\r\n");
    let mut base64_run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        for chunk in run.as_bytes().chunks(60) {
            out.push_str("    ");
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push_str("\r\n");
        }
        run.clear();
    };
    for line in text.lines() {
        if line.starts_with("-----") || line.contains(": ") || line.is_empty() {
            flush(&mut base64_run, &mut rewrapped);
            rewrapped.push_str("  ");
            rewrapped.push_str(line);
            rewrapped.push_str("\r\n\r\n");
        } else {
            base64_run.push_str(line);
        }
    }
    assert_ne!(rewrapped, text);
    assert!(rewrapped.lines().all(|line| line.trim().len() <= 60));
    let licence = verify_text(&rewrapped).unwrap();
    assert_eq!(licence, verify_text(&text).unwrap());
}

fn mutate(text: &str, position: usize, byte: u8) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes[position] = byte;
    bytes
}

fn normalised(bytes: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    Some(normalised_lines(text).map(str::to_owned).collect())
}

fn plan_strategy() -> impl Strategy<Value = Plan> {
    prop_oneof![Just(Plan::Single), Just(Plan::Lifetime), Just(Plan::Multi)]
}

fn date_strategy() -> impl Strategy<Value = Date> {
    (2020i32..2040, 1u16..=365)
        .prop_map(|(year, day)| Date::from_ordinal_date(year, day).unwrap_or(date!(2026 - 06 - 01)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn issue_then_verify_round_trips_for_every_plan(
        plan in plan_strategy(),
        licensee in "[A-Za-z0-9][A-Za-z0-9 .,&'-]{0,60}",
        issued_at in date_strategy(),
        bound in 0usize..=5,
    ) {
        let domains: Vec<String> = (0..bound.min(plan.max_domains() as usize))
            .map(|i| format!("brand{i}.example.com"))
            .collect();
        let request = LicenceRequest {
            id: "lic-prop".to_owned(),
            licensee: licensee.clone(),
            plan,
            domains: domains.clone(),
            issued_at,
            expires_at: None,
        };
        let text = issue_with_development_key(&request).unwrap();
        let licence = verify_text(&text).unwrap();
        prop_assert_eq!(licence.plan, plan);
        prop_assert_eq!(licence.licensee, licensee);
        prop_assert_eq!(licence.domains, domains);
        prop_assert_eq!(licence.issued_at, issued_at);
        prop_assert_eq!(licence.expires_at.is_some(), plan.has_term());
    }

    #[test]
    fn any_change_to_a_non_whitespace_byte_is_rejected(
        plan in plan_strategy(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let text = issue_with_development_key(&request(plan)).unwrap();
        let candidates: Vec<usize> = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| !b.is_ascii_whitespace())
            .map(|(i, _)| i)
            .collect();
        let at = candidates[position.index(candidates.len())];
        prop_assume!(text.as_bytes()[at] != replacement);
        let mutated = mutate(&text, at, replacement);
        prop_assert!(verify(&mutated, &builtin()).is_err(),
            "changing byte {} to {:?} was accepted", at, replacement as char);
    }

    #[test]
    fn any_single_byte_change_is_rejected_unless_only_line_layout_changed(
        plan in plan_strategy(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let text = issue_with_development_key(&request(plan)).unwrap();
        let at = position.index(text.len());
        prop_assume!(text.as_bytes()[at] != replacement);
        let mutated = mutate(&text, at, replacement);
        let accepted = verify(&mutated, &builtin()).is_ok();
        let same_content = normalised(&mutated) == normalised(text.as_bytes());
        prop_assert_eq!(accepted, same_content,
            "byte {} to {:?}: accepted={} same_content={}", at, replacement as char, accepted, same_content);
    }
}

#[test]
fn state_moves_from_valid_to_grace_to_expired() {
    let licence =
        verify_text(&issue_with_development_key(&request(Plan::Single)).unwrap()).unwrap();
    let expiry = datetime!(2027-01-15 00:00 UTC);
    assert_eq!(
        licence.state_at(datetime!(2026-01-15 00:00 UTC)),
        LicenceState::Valid
    );
    assert_eq!(
        licence.state_at(expiry - Duration::SECOND),
        LicenceState::Valid
    );
    assert_eq!(
        licence.state_at(expiry),
        LicenceState::Grace { days_left: 14 }
    );
    assert_eq!(
        licence.state_at(expiry + Duration::hours(12)),
        LicenceState::Grace { days_left: 14 }
    );
    assert_eq!(
        licence.state_at(expiry + Duration::days(13)),
        LicenceState::Grace { days_left: 1 }
    );
    assert_eq!(
        licence.state_at(expiry + Duration::days(14) - Duration::SECOND),
        LicenceState::Grace { days_left: 1 }
    );
    assert_eq!(
        licence.state_at(expiry + Duration::days(14)),
        LicenceState::Expired
    );
    assert_eq!(
        licence.state_at(expiry + Duration::days(400)),
        LicenceState::Expired
    );
}

#[test]
fn a_lifetime_licence_never_expires() {
    let licence =
        verify_text(&issue_with_development_key(&request(Plan::Lifetime)).unwrap()).unwrap();
    assert_eq!(
        licence.state_at(datetime!(2126-01-15 00:00 UTC)),
        LicenceState::Valid
    );
}

#[test]
fn assess_gives_the_verdict_for_each_state() {
    let text = issue_with_development_key(&request(Plan::Multi)).unwrap();
    let at = |now: OffsetDateTime| assess(text.as_bytes(), now, None, &builtin()).verdict;
    assert!(matches!(
        at(datetime!(2026-06-01 0:00 UTC)),
        Verdict::Valid { .. }
    ));
    assert!(matches!(
        at(datetime!(2027-01-20 0:00 UTC)),
        Verdict::Grace { days_left: 9, .. }
    ));
    assert!(matches!(
        at(datetime!(2027-02-20 0:00 UTC)),
        Verdict::Expired { .. }
    ));
    let broken = assess(
        b"nonsense",
        datetime!(2026-06-01 0:00 UTC),
        None,
        &builtin(),
    );
    assert!(matches!(
        broken.verdict,
        Verdict::Invalid {
            reason: LicenceError::NotATaskSessionLicence(_)
        }
    ));
}

#[test]
fn a_clock_set_back_is_reported_and_never_extends_the_licence() {
    let text = issue_with_development_key(&request(Plan::Single)).unwrap();
    let last_seen = datetime!(2027-02-20 0:00 UTC); // already past grace
    let now = datetime!(2026-06-01 0:00 UTC); // clock wound back into the term
    let assessment = assess(text.as_bytes(), now, Some(last_seen), &builtin());
    assert!(matches!(assessment.verdict, Verdict::Expired { .. }));
    let warning = assessment.clock_warning.expect("a warning");
    assert_eq!(warning.last_seen, last_seen);
    assert!(warning.to_string().contains("behind"));
    assert_eq!(assessment.last_seen, last_seen);

    // Within a day: no warning, but still the later time counts.
    let slightly = assess(
        text.as_bytes(),
        last_seen - Duration::hours(23),
        Some(last_seen),
        &builtin(),
    );
    assert_eq!(slightly.clock_warning, None);
    assert!(matches!(slightly.verdict, Verdict::Expired { .. }));

    // A clock running forward moves last_seen forward.
    let forward = assess(
        text.as_bytes(),
        last_seen + Duration::DAY,
        Some(last_seen),
        &builtin(),
    );
    assert_eq!(forward.last_seen, last_seen + Duration::DAY);
}

fn refused(text: &str) -> LicenceError {
    verify_text(text).expect_err("should be refused")
}

#[test]
fn not_a_task_session_licence_is_named() {
    assert!(matches!(
        refused(""),
        LicenceError::NotATaskSessionLicence(_)
    ));
    assert!(matches!(
        refused("just some text\n"),
        LicenceError::NotATaskSessionLicence(_)
    ));
    let pgp = "-----BEGIN PGP MESSAGE-----\nabcd\n-----END PGP MESSAGE-----\n";
    match refused(pgp) {
        LicenceError::NotATaskSessionLicence(found) => assert!(found.contains("PGP")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify(&[0xff, 0xfe, 0x00], &builtin()),
        Err(LicenceError::NotATaskSessionLicence(_))
    ));
    let other_product = GOOD_PAYLOAD.replace("\"tasksession\"", "\"othertool\"");
    assert!(matches!(
        refused(&craft(&other_product, &dev_key())),
        LicenceError::NotATaskSessionLicence(_)
    ));
}

#[test]
fn damaged_armour_is_malformed() {
    let good = craft(GOOD_PAYLOAD, &dev_key());
    let no_end = good.replace("-----END TASK SESSION LICENCE-----", "");
    assert!(matches!(refused(&no_end), LicenceError::MalformedArmour(_)));
    let swapped = good.replace(
        "Version: 1\nKey-Id: development-1",
        "Key-Id: development-1\nVersion: 1",
    );
    assert!(matches!(
        refused(&swapped),
        LicenceError::MalformedArmour(_)
    ));
    let no_signature = good.replace("-----SIGNATURE-----\n", "");
    assert!(matches!(
        refused(&no_signature),
        LicenceError::MalformedArmour(_)
    ));
    let bad_header = good.replace("Version: 1", "Version:1");
    assert!(matches!(
        refused(&bad_header),
        LicenceError::MalformedArmour(_)
    ));
}

#[test]
fn another_format_version_is_unsupported() {
    let good = craft(GOOD_PAYLOAD, &dev_key());
    assert_eq!(
        refused(&good.replace("Version: 1", "Version: 2")),
        LicenceError::UnsupportedVersion("2".to_owned())
    );
    let format_two = GOOD_PAYLOAD.replace("\"format\":1", "\"format\":2");
    assert_eq!(
        refused(&craft(&format_two, &dev_key())),
        LicenceError::UnsupportedVersion("2".to_owned())
    );
}

#[test]
fn bad_base64_is_named_by_section() {
    let signature = STANDARD.encode(dev_key().sign(GOOD_PAYLOAD.as_bytes()));
    let payload = STANDARD.encode(GOOD_PAYLOAD);
    let bad_payload = craft_parts("development-1", &format!("{payload}!"), &signature);
    assert!(matches!(
        refused(&bad_payload),
        LicenceError::BadBase64 {
            section: "payload",
            ..
        }
    ));
    let bad_signature = craft_parts("development-1", &payload, &signature.replace('=', ""));
    assert!(matches!(
        refused(&bad_signature),
        LicenceError::BadBase64 {
            section: "signature",
            ..
        }
    ));
}

#[test]
fn an_untrusted_key_id_is_unknown() {
    let stranger = SigningKeyFile::from_seed(KeyId::parse("stranger-1").unwrap(), [7; 32]);
    let text = craft(
        &GOOD_PAYLOAD.replace("development-1", "stranger-1"),
        &stranger,
    );
    assert_eq!(
        refused(&text),
        LicenceError::UnknownKeyId("stranger-1".to_owned())
    );

    // A keyring without the development key refuses development licences the same way.
    let vendor_only = Keyring::from_keys(licensing::VENDOR_KEYS.iter().map(|(id, key)| {
        (
            KeyId::parse(id).unwrap(),
            ed25519_dalek::VerifyingKey::from_bytes(key).unwrap(),
        )
    }));
    let dev_licence = issue_with_development_key(&request(Plan::Multi)).unwrap();
    assert_eq!(
        verify(dev_licence.as_bytes(), &vendor_only),
        Err(LicenceError::UnknownKeyId("development-1".to_owned()))
    );
}

#[test]
fn a_signature_that_does_not_match_is_wrong() {
    // Same key id, different key.
    let impostor = SigningKeyFile::from_seed(KeyId::parse("development-1").unwrap(), [9; 32]);
    assert_eq!(
        refused(&craft(GOOD_PAYLOAD, &impostor)),
        LicenceError::WrongSignature
    );
    // The right key's signature over other bytes.
    let signature = STANDARD.encode(dev_key().sign(b"something else"));
    let text = craft_parts("development-1", &STANDARD.encode(GOOD_PAYLOAD), &signature);
    assert_eq!(refused(&text), LicenceError::WrongSignature);
    // A signature of the wrong length.
    let short = craft_parts(
        "development-1",
        &STANDARD.encode(GOOD_PAYLOAD),
        &STANDARD.encode([1u8; 10]),
    );
    assert_eq!(refused(&short), LicenceError::WrongSignature);
}

fn payload_field_error(payload: &str) -> (String, String) {
    match refused(&craft(payload, &dev_key())) {
        LicenceError::BadPayloadField { field, problem } => (field, problem),
        other => panic!("expected BadPayloadField for {payload}, got {other:?}"),
    }
}

#[test]
fn bad_payload_fields_are_named() {
    let cases = [
        (
            GOOD_PAYLOAD.replace("\"licensee\":\"Acme\",", ""),
            "licensee",
        ),
        (GOOD_PAYLOAD.replace("\"multi\"", "\"gold\""), "plan"),
        (
            GOOD_PAYLOAD.replace("\"licensee\":\"Acme\"", "\"licensee\":\"  \""),
            "licensee",
        ),
        (
            GOOD_PAYLOAD.replace(
                "\"issued_at\":\"2026-01-15\"",
                "\"issued_at\":\"15/01/2026\"",
            ),
            "issued_at",
        ),
        (
            GOOD_PAYLOAD.replace(
                "\"key_id\":\"development-1\"",
                "\"key_id\":\"vendor-2026-11\"",
            ),
            "key_id",
        ),
        (
            GOOD_PAYLOAD.replace("\"domains\":[]", "\"domains\":[\"Not A Domain\"]"),
            "domains",
        ),
        (
            GOOD_PAYLOAD.replace("\"domains\":[]", "\"domains\":[\"a.com\",\"a.com\"]"),
            "domains",
        ),
        (GOOD_PAYLOAD.replace("}", ",\"seats\":10}"), "seats"),
        (
            GOOD_PAYLOAD.replace("\"max_domains\":5", "\"max_domains\":\"5\""),
            "max_domains",
        ),
        ("not json".to_owned(), "(payload)"),
        ("[1,2]".to_owned(), "(payload)"),
    ];
    for (payload, field) in cases {
        let (named, problem) = payload_field_error(&payload);
        assert_eq!(named, field, "payload {payload}: {problem}");
    }
}

#[test]
fn a_payload_that_disagrees_with_its_plan_is_a_mismatch() {
    let cases = [
        GOOD_PAYLOAD.replace("\"max_domains\":5", "\"max_domains\":50"),
        GOOD_PAYLOAD.replace("\"multi\"", "\"single\""),
        GOOD_PAYLOAD
            .replace("\"multi\"", "\"lifetime\"")
            .replace("\"max_domains\":5", "\"max_domains\":1"),
        GOOD_PAYLOAD
            .replace("\"multi\"", "\"single\"")
            .replace("\"max_domains\":5", "\"max_domains\":1")
            .replace("\"expires_at\":\"2027-01-15\"", "\"expires_at\":null"),
        GOOD_PAYLOAD.replace(
            "\"expires_at\":\"2027-01-15\"",
            "\"expires_at\":\"2025-01-15\"",
        ),
        GOOD_PAYLOAD.replace(
            "\"domains\":[]",
            "\"domains\":[\"a.com\",\"b.com\",\"c.com\",\"d.com\",\"e.com\",\"f.com\"]",
        ),
    ];
    for payload in cases {
        assert!(
            matches!(
                refused(&craft(&payload, &dev_key())),
                LicenceError::PlanMismatch(_)
            ),
            "{payload}"
        );
    }
}

#[test]
fn every_error_message_is_one_line() {
    let errors = [
        refused(""),
        refused("-----BEGIN TASK SESSION LICENCE-----\n"),
        refused(&craft(GOOD_PAYLOAD, &dev_key()).replace("Version: 1", "Version: 9")),
        refused(&craft(
            &GOOD_PAYLOAD.replace("\"max_domains\":5", "\"max_domains\":3"),
            &dev_key(),
        )),
        refused(&craft(
            &GOOD_PAYLOAD.replace("\"id\":\"lic-1\",", ""),
            &dev_key(),
        )),
        LicenceError::WrongSignature,
        LicenceError::UnknownKeyId("x".to_owned()),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains(';'), "says what to do: {message}");
    }
}

#[test]
fn two_trusted_keys_verify_their_own_licences_for_rotation() {
    let old = SigningKeyFile::from_seed(KeyId::parse("vendor-2025-01").unwrap(), [1; 32]);
    let new = SigningKeyFile::from_seed(KeyId::parse("vendor-2026-01").unwrap(), [2; 32]);
    let keyring = Keyring::from_keys([
        (old.key_id.clone(), old.verifying_key()),
        (new.key_id.clone(), new.verifying_key()),
    ]);
    let by_old = issue(&request(Plan::Multi), &old).unwrap();
    let by_new = issue(&request(Plan::Multi), &new).unwrap();
    assert_eq!(
        verify(by_old.as_bytes(), &keyring).unwrap().key_id,
        old.key_id
    );
    assert_eq!(
        verify(by_new.as_bytes(), &keyring).unwrap().key_id,
        new.key_id
    );
    let only_new = Keyring::from_keys([(new.key_id.clone(), new.verifying_key())]);
    assert_eq!(
        verify(by_old.as_bytes(), &only_new),
        Err(LicenceError::UnknownKeyId("vendor-2025-01".to_owned()))
    );
}

#[test]
fn issuing_refuses_what_verifying_would_refuse() {
    let key = dev_key();
    let lifetime_with_expiry = LicenceRequest {
        expires_at: Some(date!(2030 - 01 - 01)),
        ..request(Plan::Lifetime)
    };
    assert!(matches!(
        issue(&lifetime_with_expiry, &key),
        Err(LicenceError::PlanMismatch(_))
    ));
    let two_domains_on_single = LicenceRequest {
        domains: vec!["a.com".to_owned(), "b.com".to_owned()],
        ..request(Plan::Single)
    };
    assert!(matches!(
        issue(&two_domains_on_single, &key),
        Err(LicenceError::PlanMismatch(_))
    ));
    let empty_licensee = LicenceRequest {
        licensee: String::new(),
        ..request(Plan::Single)
    };
    assert!(matches!(
        issue(&empty_licensee, &key),
        Err(LicenceError::BadPayloadField { .. })
    ));
}

#[test]
fn a_leap_day_licence_expires_on_the_28th() {
    assert_eq!(
        licensing::one_year_after(date!(2028 - 02 - 29)),
        date!(2029 - 02 - 28)
    );
    assert_eq!(
        licensing::one_year_after(date!(2026 - 11 - 28)),
        date!(2027 - 11 - 28)
    );
}

//! The registry rules of statements-v1, each with a passing and a failing
//! case, and the status rule replayed over the real Safe Harbor / Privacy
//! Shield / Data Privacy Framework history in data/recognitions.json.

use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{
    check_rules, verify_signatures, Change, ErrorClass, RecordHead, Registry, RouteFilter,
    RuleError, Submission,
};
use dfft_core::statement::{Action, Date, Jurisdiction, Mechanism, Status};
use serde_json::{json, Value};

const DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/recognitions.json"
));

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn j(s: &str) -> Jurisdiction {
    Jurisdiction::new(s).unwrap()
}

fn envelope(statement: &Value, signers: &[&SignerKey]) -> Envelope {
    Envelope::sign(serde_json::to_vec(statement).unwrap(), signers).unwrap()
}

fn submit(
    reg: &mut Registry,
    statement: &Value,
    signers: &[&SignerKey],
) -> Result<Change, RuleError> {
    reg.append_envelope(envelope(statement, signers))
}

fn genesis_stmt(keys: &[&SignerKey], threshold: u64) -> Value {
    let keys: Vec<String> = keys.iter().map(|k| k.verifier().to_string()).collect();
    json!({"kind":"genesis","origin":"registry.example.org/log","governance":{"keys":keys,"threshold":threshold},"issued_at":"2024-01-01T00:00:00Z"})
}

fn authority_stmt(action: &str, id: &str, competence: &[&str], keys: &[&SignerKey]) -> Value {
    let keys: Vec<String> = keys.iter().map(|k| k.verifier().to_string()).collect();
    json!({"kind":"authority","action":action,"authority":id,"name":format!("Authority {id}"),
        "competence":competence,"keys":keys,"issued_at":"2024-01-01T00:00:00Z"})
}

fn retire_stmt(id: &str) -> Value {
    json!({"kind":"authority","action":"retire","authority":id,"issued_at":"2024-01-01T00:00:00Z"})
}

fn rec(
    authority: &str,
    record: &str,
    action: &str,
    from: &str,
    to: &str,
    effective: &str,
) -> Value {
    json!({"kind":"recognition","authority":authority,"record":record,"action":action,
        "mechanism":"adequacy","from":from,"to":to,
        "legal_reference":{"id":"CELEX:32019D0419","title":"Decision"},
        "effective":effective,"issued_at":"2024-01-01T00:00:00Z"})
}

/// Governance keys and a registry with a 2-of-3 genesis and `eu.ec`
/// (competence EU, EEA) and `jp.ppc` (competence JP) enrolled.
struct Fixture {
    gov: [SignerKey; 3],
    ec: SignerKey,
    ppc: SignerKey,
    reg: Registry,
}

fn fixture() -> Fixture {
    let gov = [key("gov-a", 1), key("gov-b", 2), key("gov-c", 3)];
    let ec = key("eu.ec", 10);
    let ppc = key("jp.ppc", 11);
    let mut reg = Registry::new();
    submit(
        &mut reg,
        &genesis_stmt(&[&gov[0], &gov[1], &gov[2]], 2),
        &[&gov[0], &gov[1]],
    )
    .unwrap();
    submit(
        &mut reg,
        &authority_stmt("enroll", "eu.ec", &["EU", "EEA"], &[&ec]),
        &[&gov[0], &gov[2]],
    )
    .unwrap();
    submit(
        &mut reg,
        &authority_stmt("enroll", "jp.ppc", &["JP"], &[&ppc]),
        &[&gov[1], &gov[2]],
    )
    .unwrap();
    Fixture { gov, ec, ppc, reg }
}

fn class(e: &RuleError) -> u16 {
    e.class().http_status()
}

// ---- genesis ----

#[test]
fn entry_zero_must_be_genesis() {
    let gov = key("gov-a", 1);
    let mut reg = Registry::new();
    let e = submit(
        &mut reg,
        &authority_stmt("enroll", "eu.ec", &["EU"], &[&key("eu.ec", 2)]),
        &[&gov],
    )
    .unwrap_err();
    assert_eq!(e, RuleError::NoGenesis);
    assert_eq!(class(&e), 422);
    assert_eq!(reg.size(), 0);
    let c = submit(&mut reg, &genesis_stmt(&[&gov], 1), &[&gov]).unwrap();
    assert!(
        matches!(c, Change::Genesis { ref origin, .. } if origin == "registry.example.org/log")
    );
    assert_eq!(reg.size(), 1);
    assert_eq!(reg.origin(), Some("registry.example.org/log"));
    assert_eq!(reg.governance().unwrap().threshold, 1);
}

#[test]
fn entry_zero_recognition_is_refused_by_check_rules() {
    // check_rules on its own: index 0 must be a genesis whatever the state says.
    let ec = key("eu.ec", 10);
    let mut f = fixture();
    let sub = Submission::from_envelope(envelope(
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2020-01-01"),
        &[&f.ec],
    ))
    .unwrap();
    let a = f.reg.authority("eu.ec").cloned();
    let v = verify_signatures(sub, f.reg.governance(), a.as_ref()).unwrap();
    let e = check_rules(0, &v, f.reg.origin(), f.reg.governance(), a.as_ref(), None).unwrap_err();
    assert_eq!(
        e,
        RuleError::FirstEntryNotGenesis {
            kind: "recognition"
        }
    );
    assert_eq!(class(&e), 422);
    assert!(check_rules(3, &v, f.reg.origin(), f.reg.governance(), a.as_ref(), None).is_ok());
    let _ = (&mut f, ec);
}

#[test]
fn genesis_only_at_zero() {
    let mut f = fixture();
    let e = submit(&mut f.reg, &genesis_stmt(&[&f.gov[0]], 1), &[&f.gov[0]]).unwrap_err();
    assert_eq!(e, RuleError::GenesisNotFirst { index: 3 });
    assert_eq!(class(&e), 422);
}

#[test]
fn genesis_needs_threshold_of_its_own_keys() {
    let (a, b, outsider) = (key("gov-a", 1), key("gov-b", 2), key("gov-x", 9));
    let mut reg = Registry::new();
    let e = submit(&mut reg, &genesis_stmt(&[&a, &b], 2), &[&a]).unwrap_err();
    assert_eq!(
        e,
        RuleError::UnderThreshold {
            valid: 1,
            threshold: 2
        }
    );
    assert_eq!(class(&e), 403);
    let e = submit(&mut reg, &genesis_stmt(&[&a, &b], 1), &[&a, &outsider]).unwrap_err();
    assert!(matches!(e, RuleError::UnknownKey { .. }), "{e}");
    assert_eq!(class(&e), 403);
    assert!(submit(&mut reg, &genesis_stmt(&[&a, &b], 2), &[&b, &a]).is_ok());
}

// ---- authorities ----

#[test]
fn governance_threshold_for_authority_statements() {
    let mut f = fixture();
    let k = key("uk.ico", 20);
    let e = submit(
        &mut f.reg,
        &authority_stmt("enroll", "uk.ico", &["GB"], &[&k]),
        &[&f.gov[0]],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::UnderThreshold {
            valid: 1,
            threshold: 2
        }
    );
    assert_eq!(class(&e), 403);
    // An authority key is not a governance key.
    let e = submit(
        &mut f.reg,
        &authority_stmt("enroll", "uk.ico", &["GB"], &[&k]),
        &[&f.gov[0], &f.ec],
    )
    .unwrap_err();
    assert!(
        matches!(e, RuleError::UnknownKey { ref allowed, .. } if allowed == "a governance key"),
        "{e}"
    );
    assert_eq!(class(&e), 403);
    // A bad signature by a governance key is refused even if others reach the threshold.
    let mut env = envelope(
        &authority_stmt("enroll", "uk.ico", &["GB"], &[&k]),
        &[&f.gov[0], &f.gov[1], &f.gov[2]],
    );
    env.signatures[2].sig[0] ^= 1;
    let e = f.reg.append_envelope(env).unwrap_err();
    assert_eq!(
        e,
        RuleError::BadSignature {
            keyid: f.gov[2].verifier().keyid()
        }
    );
    assert_eq!(class(&e), 403);
    // Distinct keys: the same governance key cannot sign twice (refused at parse).
    let mut env = envelope(
        &authority_stmt("enroll", "uk.ico", &["GB"], &[&k]),
        &[&f.gov[0]],
    );
    env.signatures.push(env.signatures[0].clone());
    let e = Submission::parse(&env.canonical_bytes()).unwrap_err();
    assert_eq!(class(&e), 400);
    assert!(submit(
        &mut f.reg,
        &authority_stmt("enroll", "uk.ico", &["GB"], &[&k]),
        &[&f.gov[2], &f.gov[1]]
    )
    .is_ok());
    let a = f.reg.authority("uk.ico").unwrap();
    assert_eq!(a.set_at_index, 3);
    assert!(!a.retired);
}

#[test]
fn enroll_needs_a_new_id() {
    let mut f = fixture();
    let e = submit(
        &mut f.reg,
        &authority_stmt("enroll", "eu.ec", &["EU"], &[&key("eu.ec", 30)]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::AuthorityExists {
            authority: "eu.ec".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    assert!(submit(
        &mut f.reg,
        &authority_stmt("enroll", "eu.edpb", &["EEA"], &[&key("eu.edpb", 30)]),
        &[&f.gov[0], &f.gov[1]]
    )
    .is_ok());
}

#[test]
fn update_and_retire_need_an_existing_id() {
    let mut f = fixture();
    let k = key("xx.none", 30);
    let e = submit(
        &mut f.reg,
        &authority_stmt("update", "xx.none", &["EU"], &[&k]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::UnknownAuthority {
            authority: "xx.none".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    let e = submit(&mut f.reg, &retire_stmt("xx.none"), &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert_eq!(
        e,
        RuleError::UnknownAuthority {
            authority: "xx.none".to_owned()
        }
    );
    assert!(submit(
        &mut f.reg,
        &authority_stmt("update", "jp.ppc", &["JP"], &[&f.ppc]),
        &[&f.gov[0], &f.gov[1]]
    )
    .is_ok());
    assert!(submit(&mut f.reg, &retire_stmt("jp.ppc"), &[&f.gov[0], &f.gov[1]]).is_ok());
}

#[test]
fn key_rotation_refuses_the_old_key() {
    let mut f = fixture();
    let new = key("eu.ec", 40);
    let g = rec(
        "eu.ec",
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    );
    // Before rotation the old key works.
    submit(&mut f.reg, &g, &[&f.ec]).unwrap();
    submit(
        &mut f.reg,
        &authority_stmt("update", "eu.ec", &["EU", "EEA"], &[&new]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap();
    assert_eq!(f.reg.authority("eu.ec").unwrap().keys, vec![new.verifier()]);
    let renewed = rec(
        "eu.ec",
        "eu.ec/adequacy/jp",
        "renewed",
        "EEA",
        "JP",
        "2023-04-03",
    );
    let e = submit(&mut f.reg, &renewed, &[&f.ec]).unwrap_err();
    assert!(
        matches!(e, RuleError::UnknownKey { ref keyid, ref allowed } if *keyid == f.ec.verifier().keyid() && allowed.contains("eu.ec")),
        "{e}"
    );
    assert_eq!(class(&e), 403);
    // Old and new key together: the old one is still refused, not ignored.
    let e = submit(&mut f.reg, &renewed, &[&new, &f.ec]).unwrap_err();
    assert!(matches!(e, RuleError::UnknownKey { .. }), "{e}");
    assert!(submit(&mut f.reg, &renewed, &[&new]).is_ok());
}

#[test]
fn rotation_between_verification_and_sequencing_is_caught() {
    // Step 2 runs against the state before the rotation, step 3 after it.
    let mut f = fixture();
    let before = f.reg.authority("eu.ec").cloned().unwrap();
    let sub = Submission::from_envelope(envelope(
        &rec(
            "eu.ec",
            "eu.ec/adequacy/jp",
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        ),
        &[&f.ec],
    ))
    .unwrap();
    let verified = verify_signatures(sub, f.reg.governance(), Some(&before)).unwrap();
    assert_eq!(verified.signers(), &[f.ec.verifier()]);
    submit(
        &mut f.reg,
        &authority_stmt("update", "eu.ec", &["EU", "EEA"], &[&key("eu.ec", 41)]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap();
    let after = f.reg.authority("eu.ec").cloned().unwrap();
    let e = check_rules(
        f.reg.size(),
        &verified,
        f.reg.origin(),
        f.reg.governance(),
        Some(&after),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::UnknownKey { .. }), "{e}");
    assert_eq!(class(&e), 403);
    // Against the unchanged state it passes.
    assert!(check_rules(
        f.reg.size(),
        &verified,
        f.reg.origin(),
        f.reg.governance(),
        Some(&before),
        None
    )
    .is_ok());
}

#[test]
fn retired_authority_is_refused() {
    let mut f = fixture();
    submit(&mut f.reg, &retire_stmt("jp.ppc"), &[&f.gov[0], &f.gov[1]]).unwrap();
    let a = f.reg.authority("jp.ppc").unwrap();
    assert!(a.retired);
    assert_eq!(a.set_at_index, 3);
    assert_eq!(
        a.keys,
        vec![f.ppc.verifier()],
        "a retired authority keeps its last keys for the record"
    );
    let e = submit(
        &mut f.reg,
        &rec(
            "jp.ppc",
            "jp.ppc/adequacy/eea",
            "granted",
            "JP",
            "EEA",
            "2019-01-23",
        ),
        &[&f.ppc],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::AuthorityRetired {
            authority: "jp.ppc".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    let e = submit(
        &mut f.reg,
        &authority_stmt("update", "jp.ppc", &["JP"], &[&f.ppc]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::AuthorityRetired {
            authority: "jp.ppc".to_owned()
        }
    );
    // A second retire (another statement: a later issued_at; the same one
    // again would be a repeat, with no effect).
    let mut again = retire_stmt("jp.ppc");
    again["issued_at"] = json!("2024-01-02T00:00:00Z");
    let e = submit(&mut f.reg, &again, &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert_eq!(
        e,
        RuleError::AuthorityRetired {
            authority: "jp.ppc".to_owned()
        }
    );
    let mut again = authority_stmt("enroll", "jp.ppc", &["JP"], &[&f.ppc]);
    again["issued_at"] = json!("2024-01-03T00:00:00Z");
    let e = submit(&mut f.reg, &again, &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert_eq!(
        e,
        RuleError::AuthorityExists {
            authority: "jp.ppc".to_owned()
        }
    );
}

// ---- recognitions ----

#[test]
fn recognition_needs_an_enrolled_authority_and_its_key() {
    let mut f = fixture();
    let stranger = key("uk.ico", 50);
    let e = submit(
        &mut f.reg,
        &rec("uk.ico", "uk.ico/x", "granted", "GB", "JP", "2021-01-01"),
        &[&stranger],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::UnknownAuthority {
            authority: "uk.ico".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    // Signed by another authority's key.
    let e = submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2021-01-01"),
        &[&f.ppc],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::UnknownKey { .. }), "{e}");
    // A key with the authority's name that it never listed.
    let e = submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2021-01-01"),
        &[&key("eu.ec", 51)],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::UnknownKey { .. }), "{e}");
    assert_eq!(class(&e), 403);
    // Tampered payload.
    let mut env = envelope(
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2021-01-01"),
        &[&f.ec],
    );
    env.payload = serde_json::to_vec(&rec(
        "eu.ec",
        "eu.ec/x",
        "granted",
        "EEA",
        "US",
        "2021-01-01",
    ))
    .unwrap();
    let e = f.reg.append_envelope(env).unwrap_err();
    assert!(matches!(e, RuleError::BadSignature { .. }), "{e}");
    assert_eq!(class(&e), 403);
    assert!(submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2021-01-01"),
        &[&f.ec]
    )
    .is_ok());
}

#[test]
fn competence_covers_from() {
    let mut f = fixture();
    // JP authority, from EEA: not competent.
    let e = submit(
        &mut f.reg,
        &rec("jp.ppc", "jp.ppc/x", "granted", "EEA", "JP", "2020-01-01"),
        &[&f.ppc],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::NotCompetent { .. }), "{e}");
    assert_eq!(class(&e), 422);
    assert!(e.to_string().contains("its competence: JP"), "{e}");
    assert!(submit(
        &mut f.reg,
        &rec("jp.ppc", "jp.ppc/x", "granted", "JP", "EEA", "2020-01-01"),
        &[&f.ppc]
    )
    .is_ok());
    // EU/EEA competence covers a member state and the groups.
    for (record, from) in [
        ("eu.ec/de", "DE"),
        ("eu.ec/eu", "EU"),
        ("eu.ec/eea", "EEA"),
        ("eu.ec/no", "NO"),
    ] {
        assert!(
            submit(
                &mut f.reg,
                &rec("eu.ec", record, "granted", from, "JP", "2020-01-01"),
                &[&f.ec]
            )
            .is_ok(),
            "{from}"
        );
    }
    // GB is covered while a member, on the event's effective date, but the
    // EU's competence for it ends on 2020-12-31: a grant must end by then.
    let mut gb = rec(
        "eu.ec",
        "eu.ec/gb-2020",
        "granted",
        "GB",
        "JP",
        "2020-12-31",
    );
    assert_eq!(
        submit(&mut f.reg, &gb, &[&f.ec]).unwrap_err(),
        RuleError::BeyondCompetence {
            authority: "eu.ec".to_owned(),
            from: "GB".to_owned(),
            until: d("2020-12-31"),
        }
    );
    gb["expires"] = json!("2020-12-31");
    assert!(submit(&mut f.reg, &gb, &[&f.ec]).is_ok());
    let e = submit(
        &mut f.reg,
        &rec(
            "eu.ec",
            "eu.ec/gb-2021",
            "granted",
            "GB",
            "JP",
            "2021-01-01",
        ),
        &[&f.ec],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::NotCompetent { .. }), "{e}");
    // A member state's authority is not competent for the group; EU alone not for EEA.
    let de = key("de.bfdi", 60);
    let eu_only = key("eu.only", 61);
    submit(
        &mut f.reg,
        &authority_stmt("enroll", "de.bfdi", &["DE"], &[&de]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap();
    submit(
        &mut f.reg,
        &authority_stmt("enroll", "eu.only", &["EU"], &[&eu_only]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap();
    let e = submit(
        &mut f.reg,
        &rec("de.bfdi", "de.bfdi/x", "granted", "EEA", "JP", "2020-01-01"),
        &[&de],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::NotCompetent { .. }), "{e}");
    assert!(submit(
        &mut f.reg,
        &rec("de.bfdi", "de.bfdi/x", "granted", "DE", "JP", "2020-01-01"),
        &[&de]
    )
    .is_ok());
    let e = submit(
        &mut f.reg,
        &rec("eu.only", "eu.only/x", "granted", "EEA", "JP", "2020-01-01"),
        &[&eu_only],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::NotCompetent { .. }), "{e}");
    assert!(submit(
        &mut f.reg,
        &rec("eu.only", "eu.only/x", "granted", "EU", "JP", "2020-01-01"),
        &[&eu_only]
    )
    .is_ok());
    // A later event by a non-competent authority is refused too.
    let e = submit(
        &mut f.reg,
        &rec(
            "jp.ppc",
            "eu.ec/eea",
            "suspended",
            "EEA",
            "JP",
            "2021-01-01",
        ),
        &[&f.ppc],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::NotCompetent { .. }), "{e}");
}

#[test]
fn first_event_must_be_granted_and_granted_cannot_repeat() {
    let mut f = fixture();
    for action in [
        "amended",
        "renewed",
        "suspended",
        "reinstated",
        "invalidated",
        "revoked",
        "expired",
    ] {
        let e = submit(
            &mut f.reg,
            &rec("eu.ec", "eu.ec/jp", action, "EEA", "JP", "2019-01-23"),
            &[&f.ec],
        )
        .unwrap_err();
        assert!(
            matches!(e, RuleError::FirstEventNotGranted { .. }),
            "{action}: {e}"
        );
        assert_eq!(class(&e), 422);
    }
    assert!(f.reg.record("eu.ec/jp").is_none());
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2019-01-23"),
        &[&f.ec],
    )
    .unwrap();
    let e = submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2020-01-23"),
        &[&f.ec],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::GrantedAgain {
            record: "eu.ec/jp".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    for (i, action) in [
        "amended",
        "suspended",
        "reinstated",
        "renewed",
        "revoked",
        "reinstated",
        "expired",
        "invalidated",
    ]
    .iter()
    .enumerate()
    {
        // Each a distinct statement (a repeated one would have no effect).
        let mut ev = rec("eu.ec", "eu.ec/jp", action, "EEA", "JP", "2020-01-23");
        ev["notes"] = json!(format!("event {i}"));
        assert!(submit(&mut f.reg, &ev, &[&f.ec]).is_ok(), "{action}");
    }
    assert_eq!(f.reg.record("eu.ec/jp").unwrap().events.len(), 9);
}

#[test]
fn later_events_repeat_mechanism_from_and_to() {
    let mut f = fixture();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2019-01-23"),
        &[&f.ec],
    )
    .unwrap();
    let mut other_mech = rec("eu.ec", "eu.ec/jp", "amended", "EEA", "JP", "2020-01-01");
    other_mech["mechanism"] = json!("scc");
    for (v, field) in [
        (other_mech, "mechanism"),
        (
            rec("eu.ec", "eu.ec/jp", "amended", "EU", "JP", "2020-01-01"),
            "from",
        ),
        (
            rec("eu.ec", "eu.ec/jp", "amended", "EEA", "KR", "2020-01-01"),
            "to",
        ),
        (
            rec("eu.ec", "eu.ec/jp", "amended", "EEA", "*", "2020-01-01"),
            "to",
        ),
    ] {
        let e = submit(&mut f.reg, &v, &[&f.ec]).unwrap_err();
        assert!(
            matches!(e, RuleError::RecordMismatch { field: f2, .. } if f2 == field),
            "{e}"
        );
        assert_eq!(class(&e), 422);
    }
    assert!(submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "amended", "EEA", "JP", "2020-01-01"),
        &[&f.ec]
    )
    .is_ok());
}

#[test]
fn later_events_cannot_predate_the_grant() {
    let mut f = fixture();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2019-01-23"),
        &[&f.ec],
    )
    .unwrap();
    let e = submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "revoked", "EEA", "JP", "2019-01-22"),
        &[&f.ec],
    )
    .unwrap_err();
    assert!(matches!(e, RuleError::EffectiveBeforeGrant { .. }), "{e}");
    assert_eq!(class(&e), 422);
    assert!(submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "revoked", "EEA", "JP", "2019-01-23"),
        &[&f.ec]
    )
    .is_ok());
    assert_eq!(
        f.reg.record("eu.ec/jp").unwrap().status_on(d("2019-01-23")),
        Some(Status::Ended)
    );
}

#[test]
fn any_competent_authority_may_add_later_events() {
    let mut f = fixture();
    let court = key("eu.cjeu", 70);
    submit(
        &mut f.reg,
        &authority_stmt("enroll", "eu.cjeu", &["EU", "EEA"], &[&court]),
        &[&f.gov[0], &f.gov[1]],
    )
    .unwrap();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/us", "granted", "EEA", "US", "2000-07-26"),
        &[&f.ec],
    )
    .unwrap();
    submit(
        &mut f.reg,
        &rec(
            "eu.cjeu",
            "eu.ec/us",
            "invalidated",
            "EEA",
            "US",
            "2015-10-06",
        ),
        &[&court],
    )
    .unwrap();
    let head = f.reg.record("eu.ec/us").unwrap();
    assert_eq!(head.events[1].authority.as_str(), "eu.cjeu");
    assert_eq!(head.status_on(d("2015-10-06")), Some(Status::Ended));
}

#[test]
fn error_classes_map_to_http() {
    assert_eq!(ErrorClass::Malformed.http_status(), 400);
    assert_eq!(ErrorClass::Unauthorized.http_status(), 403);
    assert_eq!(ErrorClass::Rejected.http_status(), 422);
}

#[test]
fn replaying_entries_gives_the_same_registry() {
    let mut f = fixture();
    let mut entries = Vec::new();
    // Rebuild the fixture's log by hand to capture the entries.
    let mut reg = Registry::new();
    let envs = vec![
        envelope(
            &genesis_stmt(&[&f.gov[0], &f.gov[1], &f.gov[2]], 2),
            &[&f.gov[0], &f.gov[1]],
        ),
        envelope(
            &authority_stmt("enroll", "eu.ec", &["EU", "EEA"], &[&f.ec]),
            &[&f.gov[0], &f.gov[2]],
        ),
        envelope(
            &authority_stmt("enroll", "jp.ppc", &["JP"], &[&f.ppc]),
            &[&f.gov[1], &f.gov[2]],
        ),
        envelope(
            &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2019-01-23"),
            &[&f.ec],
        ),
    ];
    for env in envs {
        entries.push(env.canonical_bytes());
        reg.append_envelope(env).unwrap();
    }
    let mut auditor = Registry::new();
    for e in &entries {
        auditor.apply_entry(e).unwrap();
    }
    assert_eq!(auditor, reg);
    // A non-canonical entry is refused by the auditor.
    let mut pretty = Registry::new();
    let v: Value = serde_json::from_slice(&entries[0]).unwrap();
    let e = pretty
        .apply_entry(&serde_json::to_vec_pretty(&v).unwrap())
        .unwrap_err();
    assert_eq!(class(&e), 400);
    f.reg
        .apply_change(Change::Record(reg.record("eu.ec/jp").unwrap().clone()));
    assert_eq!(f.reg.size(), reg.size());
    assert!(f.reg.records().eq(reg.records()));
    assert!(f.reg.authorities().eq(reg.authorities()));
}

#[test]
fn record_heads_persist_as_json() {
    let mut f = fixture();
    let mut g = rec("eu.ec", "eu.ec/gb", "granted", "EEA", "GB", "2021-06-28");
    g["expires"] = json!("2025-06-27");
    submit(&mut f.reg, &g, &[&f.ec]).unwrap();
    let mut a = rec("eu.ec", "eu.ec/gb", "amended", "EEA", "GB", "2025-06-24");
    a["expires"] = json!(null);
    submit(&mut f.reg, &a, &[&f.ec]).unwrap();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/gb", "suspended", "EEA", "GB", "2026-01-01"),
        &[&f.ec],
    )
    .unwrap();
    let head = f.reg.record("eu.ec/gb").unwrap();
    let json = serde_json::to_value(head).unwrap();
    assert_eq!(json["events"][0]["expires"], "2025-06-27");
    assert_eq!(json["events"][1]["expires"], Value::Null);
    assert!(
        json["events"][2].get("expires").is_none(),
        "absent stays absent"
    );
    let back: RecordHead = serde_json::from_value(json).unwrap();
    assert_eq!(&back, head);
    let state = serde_json::to_string(f.reg.authority("eu.ec").unwrap()).unwrap();
    assert_eq!(
        &serde_json::from_str::<dfft_core::statement::registry::AuthorityState>(&state).unwrap(),
        f.reg.authority("eu.ec").unwrap()
    );
}

// ---- the real history ----

/// The data file's 3 authorities enrolled, then its 59 events signed and
/// applied in file order.
fn history() -> Registry {
    let data: Value = serde_json::from_str(DATA).unwrap();
    let gov = key("gov", 1);
    let mut reg = Registry::new();
    submit(&mut reg, &genesis_stmt(&[&gov], 1), &[&gov]).unwrap();
    let mut keys = std::collections::HashMap::new();
    for (i, a) in data["authorities"].as_array().unwrap().iter().enumerate() {
        let id = a["authority"].as_str().unwrap();
        let k = key(id, 100 + i as u8);
        let competence: Vec<&str> = a["competence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let mut s = authority_stmt("enroll", id, &competence, &[&k]);
        s["name"] = a["name"].clone();
        submit(&mut reg, &s, &[&gov]).unwrap();
        keys.insert(id.to_owned(), k);
    }
    assert_eq!(keys.len(), 3);
    let events = data["events"].as_array().unwrap();
    assert_eq!(events.len(), 59);
    for e in events {
        let mut s = e.clone();
        s["issued_at"] = json!(format!("{}T00:00:00Z", e["effective"].as_str().unwrap()));
        let signer = &keys[e["authority"].as_str().unwrap()];
        submit(&mut reg, &s, &[signer]).unwrap_or_else(|err| panic!("{err}: {s}"));
    }
    assert_eq!(reg.size(), 1 + 3 + 59);
    reg
}

fn route(reg: &Registry, from: &str, to: &str, date: &str) -> Vec<(String, Status)> {
    reg.route(&j(from), &j(to), d(date), RouteFilter::NONE)
        .into_iter()
        .map(|m| (m.record.record.to_string(), m.status))
        .collect()
}

const SAFE_HARBOR: &str = "eu.ec/eu-adq-us-safeharbor-2000";
const PRIVACY_SHIELD: &str = "eu.ec/eu-adq-us-privacyshield-2016";
const DPF: &str = "eu.ec/eu-adq-us-dpf-2023";

fn status_of(routes: &[(String, Status)], record: &str) -> Option<Status> {
    routes.iter().find(|(r, _)| r == record).map(|(_, s)| *s)
}

#[test]
fn history_loads_with_its_records() {
    let reg = history();
    assert_eq!(reg.authorities().count(), 3);
    assert_eq!(reg.records().count(), 25);
    let sh = reg.record(SAFE_HARBOR).unwrap();
    assert_eq!(
        sh.events
            .iter()
            .map(|e| (e.action, e.authority.as_str()))
            .collect::<Vec<_>>(),
        vec![(Action::Granted, "eu.ec"), (Action::Invalidated, "eu.cjeu")]
    );
    assert_eq!(sh.mechanism, Some(Mechanism::Adequacy));
    assert_eq!(reg.record(PRIVACY_SHIELD).unwrap().events.len(), 2);
    assert_eq!(reg.record(DPF).unwrap().events.len(), 2);
}

#[test]
fn eea_to_us_routes_through_the_years() {
    let reg = history();
    for x in ["DE", "GB", "EEA", "EU"] {
        // 2014: Safe Harbor in force; the later schemes do not exist yet.
        let r = route(&reg, x, "US", "2014-01-01");
        assert_eq!(status_of(&r, SAFE_HARBOR), Some(Status::InForce), "{x}");
        assert_eq!(status_of(&r, PRIVACY_SHIELD), None);
        assert_eq!(status_of(&r, DPF), None);
        assert_eq!(status_of(&r, "eu.ec/eu-scc-2001"), Some(Status::InForce));
        assert_eq!(
            status_of(&r, "eu.ec/eu-scc-2002-c2p"),
            Some(Status::InForce)
        );
        assert_eq!(r.len(), 3, "{r:?}");
        // 2016-01-01: Safe Harbor ended (invalidated 2015-10-06), Privacy Shield not yet (2016-07-12).
        let r = route(&reg, x, "US", "2016-01-01");
        assert_eq!(status_of(&r, SAFE_HARBOR), Some(Status::Ended), "{x}");
        assert_eq!(status_of(&r, PRIVACY_SHIELD), None);
        assert_eq!(r.len(), 3, "{r:?}");
        let r = route(&reg, x, "US", "2017-01-01");
        assert_eq!(status_of(&r, PRIVACY_SHIELD), Some(Status::InForce), "{x}");
    }
    // 2021 and 2024: GB is no longer in the EEA, so no EEA record covers it.
    for date in ["2021-01-01", "2024-01-01"] {
        assert_eq!(route(&reg, "GB", "US", date), vec![], "{date}");
    }
    for x in ["DE", "EEA", "NO"] {
        // 2021: Privacy Shield ended (invalidated 2020-07-16), DPF not yet.
        let r = route(&reg, x, "US", "2021-01-01");
        assert_eq!(status_of(&r, SAFE_HARBOR), Some(Status::Ended), "{x}");
        assert_eq!(status_of(&r, PRIVACY_SHIELD), Some(Status::Ended), "{x}");
        assert_eq!(status_of(&r, DPF), None);
        // 2024: the DPF in force (2023-07-10).
        let r = route(&reg, x, "US", "2024-01-01");
        assert_eq!(status_of(&r, DPF), Some(Status::InForce), "{x}");
        assert_eq!(status_of(&r, SAFE_HARBOR), Some(Status::Ended));
        assert_eq!(status_of(&r, PRIVACY_SHIELD), Some(Status::Ended));
        assert_eq!(
            status_of(&r, "eu.ec/eu-scc-2002-c2p"),
            Some(Status::Expired)
        );
        assert_eq!(status_of(&r, "eu.ec/eu-scc-2001"), Some(Status::Expired));
        assert_eq!(status_of(&r, "eu.ec/eu-scc-2021"), Some(Status::InForce));
        assert_eq!(
            status_of(&r, "eu.edpb/edpb-europrivacy-seal-2022"),
            Some(Status::InForce)
        );
    }
    // The mechanism filter.
    let adequacy: Vec<_> = reg
        .route(
            &j("DE"),
            &j("US"),
            d("2024-01-01"),
            RouteFilter::mechanism(Some(Mechanism::Adequacy)),
        )
        .into_iter()
        .map(|m| m.record.record.to_string())
        .collect();
    assert_eq!(adequacy, vec![DPF, PRIVACY_SHIELD, SAFE_HARBOR]);
    // Records from EU only (Hungary's pre-accession adequacy) do not answer for NO or EEA.
    assert!(route(&reg, "DE", "HU", "2001-01-01")
        .iter()
        .any(|(r, _)| r == "eu.ec/eu-adq-hu-2000"));
    assert!(!route(&reg, "NO", "HU", "2001-01-01")
        .iter()
        .any(|(r, _)| r == "eu.ec/eu-adq-hu-2000"));
    assert!(!route(&reg, "EEA", "HU", "2001-01-01")
        .iter()
        .any(|(r, _)| r == "eu.ec/eu-adq-hu-2000"));
}

#[test]
fn status_on_the_day_of_an_event_and_the_day_before() {
    let reg = history();
    let status = |record: &str, date: &str| reg.record(record).unwrap().status_on(d(date));
    let cases = [
        (SAFE_HARBOR, "2000-07-25", None),
        (SAFE_HARBOR, "2000-07-26", Some(Status::InForce)),
        (SAFE_HARBOR, "2015-10-05", Some(Status::InForce)),
        (SAFE_HARBOR, "2015-10-06", Some(Status::Ended)),
        (PRIVACY_SHIELD, "2016-07-11", None),
        (PRIVACY_SHIELD, "2016-07-12", Some(Status::InForce)),
        (PRIVACY_SHIELD, "2020-07-15", Some(Status::InForce)),
        (PRIVACY_SHIELD, "2020-07-16", Some(Status::Ended)),
        (DPF, "2023-07-09", None),
        (DPF, "2023-07-10", Some(Status::InForce)),
        (DPF, "2024-10-09", Some(Status::InForce)),
        ("eu.ec/eu-scc-2002-c2p", "2021-09-26", Some(Status::InForce)),
        ("eu.ec/eu-scc-2002-c2p", "2021-09-27", Some(Status::Expired)),
        // The 2001 clauses end with them (Art. 4 of Decision 2021/914).
        ("eu.ec/eu-scc-2001", "2021-09-26", Some(Status::InForce)),
        ("eu.ec/eu-scc-2001", "2021-09-27", Some(Status::Expired)),
        ("eu.ec/eu-scc-2001", "2022-01-01", Some(Status::Expired)),
        // The UK adequacy: expires 2025-06-27, extended on 2025-06-24 to
        // 2025-12-27, renewed on 2025-12-19 to 2031-12-27.
        ("eu.ec/eu-adq-gb-gdpr-2021", "2021-06-27", None),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2021-06-28",
            Some(Status::InForce),
        ),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2025-06-28",
            Some(Status::InForce),
        ),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2025-12-27",
            Some(Status::InForce),
        ),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2025-12-28",
            Some(Status::InForce),
        ),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2031-12-27",
            Some(Status::InForce),
        ),
        (
            "eu.ec/eu-adq-gb-gdpr-2021",
            "2031-12-28",
            Some(Status::Expired),
        ),
    ];
    for (record, date, want) in cases {
        assert_eq!(status(record, date), want, "{record} on {date}");
    }
    // Without the extensions the grant alone would have expired after 2025-06-27.
    let head = reg.record("eu.ec/eu-adq-gb-gdpr-2021").unwrap();
    let mut only_grant = head.clone();
    only_grant.events.truncate(1);
    assert_eq!(only_grant.status_on(d("2025-06-27")), Some(Status::InForce));
    assert_eq!(only_grant.status_on(d("2025-06-28")), Some(Status::Expired));
    let mut to_amend = head.clone();
    to_amend.events.truncate(2);
    assert_eq!(to_amend.status_on(d("2025-12-27")), Some(Status::InForce));
    assert_eq!(to_amend.status_on(d("2025-12-28")), Some(Status::Expired));
}

// ---- pre-verification (the auditor's parallel signature checks) ----

#[test]
fn preverified_signatures_change_no_verdict() {
    let f = fixture();
    // Same key name (so the same keyid prefix) but another key: a key the
    // registry does not hold for eu.ec.
    let stranger = key("eu.ec", 77);
    let g = rec(
        "eu.ec",
        "eu.ec/adequacy/jp",
        "granted",
        "EEA",
        "JP",
        "2019-01-23",
    );
    let parse = |signers: &[&SignerKey]| {
        Submission::parse_entry(&envelope(&g, signers).canonical_bytes()).unwrap()
    };

    // Pre-verified under the authority's own key: accepted, as without.
    let mut s = parse(&[&f.ec]);
    let ec_v = f.ec.verifier();
    assert_eq!(s.preverify(|_| vec![&ec_v]), 1);
    assert!(f.reg.check(s).is_ok());

    // Pre-verified under a key the authority does not hold: the registry
    // still refuses it, exactly as without pre-verification.
    let stranger_v = stranger.verifier();
    let mut s = parse(&[&stranger]);
    assert_eq!(s.preverify(|_| vec![&stranger_v]), 1);
    let with = f.reg.check(s).unwrap_err();
    let without = f.reg.check(parse(&[&stranger])).unwrap_err();
    assert_eq!(with, without);

    // A signature that fails pre-verification is not remembered, and a
    // wrong candidate list does not stop the real check: a bad signature
    // is still refused, a good one still accepted.
    let mut env = envelope(&g, &[&f.ec]);
    env.signatures[0].sig[10] ^= 1;
    let mut s = Submission::from_envelope(env).unwrap();
    assert_eq!(s.preverify(|_| vec![&ec_v]), 0);
    assert!(matches!(
        f.reg.check(s).unwrap_err(),
        RuleError::BadSignature { .. }
    ));
    let mut s = parse(&[&f.ec]);
    assert_eq!(s.preverify(|_| vec![&stranger_v]), 0);
    assert!(f.reg.check(s).is_ok());

    // The memo is not part of the value.
    let mut a = parse(&[&f.ec]);
    a.preverify(|_| vec![&ec_v]);
    assert_eq!(a, parse(&[&f.ec]));
}

// ---- issue 11: replays, stale governance, competence over time, ids ----

/// The attack of issue 11: an update with two governance signatures,
/// resubmitted with its signatures reordered or reduced, is the same
/// statement; it is never applied again.
#[test]
fn a_statement_applies_once_whatever_its_signatures() {
    let mut f = fixture();
    let old = key("eu.ec", 12);
    let new = key("eu.ec", 13);
    let up1 = authority_stmt("update", "eu.ec", &["JP", "US"], &[&f.ec, &old]);
    let env1 = envelope(&up1, &[&f.gov[0], &f.gov[1]]);
    let first = f.reg.size();
    f.reg.append_envelope(env1.clone()).unwrap();
    let up2 = authority_stmt("update", "eu.ec", &["JP"], &[&new]);
    f.reg
        .append_envelope(envelope(&up2, &[&f.gov[1], &f.gov[2]]))
        .unwrap();
    assert!(f
        .reg
        .authority("eu.ec")
        .unwrap()
        .key(&old.verifier().keyid())
        .is_none());
    // Reordered signatures, and a subset: both are the first update again.
    let mut reordered = env1.clone();
    reordered.signatures.reverse();
    assert_ne!(reordered.canonical_bytes(), env1.canonical_bytes());
    assert_eq!(reordered.statement_id(), env1.statement_id());
    let mut reduced = env1.clone();
    reduced.signatures.truncate(1);
    for replay in [reordered, reduced] {
        let at = f.reg.size();
        assert_eq!(
            f.reg.append_envelope(replay).unwrap(),
            Change::Repeated { first }
        );
        assert_eq!(f.reg.size(), at + 1, "counted as an entry");
    }
    // Nothing changed: the revoked key stays revoked, the competence JP.
    let a = f.reg.authority("eu.ec").unwrap();
    assert_eq!(a.keys, vec![new.verifier()]);
    assert_eq!(a.competence, vec![j("JP")]);
    assert_eq!(
        f.reg.repeated(),
        &[(first + 2, first), (first + 3, first)][..]
    );
    // A recognition by the revoked key from US stays refused.
    let e = submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/us", "granted", "US", "JP", "2024-01-01"),
        &[&old],
    )
    .unwrap_err();
    assert_eq!(class(&e), 403);
}

/// The same for a recognition: an old `suspended` re-sent after a
/// reinstatement has no effect.
#[test]
fn an_old_suspension_cannot_be_applied_again() {
    let mut f = fixture();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "granted", "EEA", "JP", "2019-01-23"),
        &[&f.ec],
    )
    .unwrap();
    let suspend = envelope(
        &rec("eu.ec", "eu.ec/jp", "suspended", "EEA", "JP", "2020-01-01"),
        &[&f.ec],
    );
    f.reg.append_envelope(suspend.clone()).unwrap();
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/jp", "reinstated", "EEA", "JP", "2020-06-01"),
        &[&f.ec],
    )
    .unwrap();
    let head = f.reg.record("eu.ec/jp").unwrap().clone();
    assert!(matches!(
        f.reg.append_envelope(suspend).unwrap(),
        Change::Repeated { .. }
    ));
    assert_eq!(f.reg.record("eu.ec/jp").unwrap(), &head);
    assert_eq!(head.status_on(d("2024-01-01")), Some(Status::InForce));
}

#[test]
fn update_and_retire_must_supersede_the_current_state() {
    let mut f = fixture();
    let current = f.reg.authority("jp.ppc").unwrap().set_at_index;
    let mut up = authority_stmt("update", "jp.ppc", &["JP"], &[&f.ppc]);
    up["supersedes"] = json!(current + 7);
    let e = submit(&mut f.reg, &up, &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert_eq!(
        e,
        RuleError::StaleAuthorityStatement {
            authority: "jp.ppc".to_owned(),
            supersedes: current + 7,
            current
        }
    );
    assert_eq!(class(&e), 422);
    up["supersedes"] = json!(current);
    let at = f.reg.size();
    submit(&mut f.reg, &up, &[&f.gov[0], &f.gov[1]]).unwrap();
    // A retire signed before that update, naming the old state, is stale.
    let mut retire = retire_stmt("jp.ppc");
    retire["supersedes"] = json!(current);
    let e = submit(&mut f.reg, &retire, &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert!(matches!(e, RuleError::StaleAuthorityStatement { current: c, .. } if c == at));
    retire["supersedes"] = json!(at);
    submit(&mut f.reg, &retire, &[&f.gov[0], &f.gov[1]]).unwrap();
    // An enrolment replaces nothing: `supersedes` is refused there.
    let mut en = authority_stmt("enroll", "ch.fdpic", &["CH"], &[&key("ch.fdpic", 20)]);
    en["supersedes"] = json!(1);
    assert_eq!(
        class(&submit(&mut f.reg, &en, &[&f.gov[0], &f.gov[1]]).unwrap_err()),
        400
    );
}

#[test]
fn authority_statements_naming_another_log_are_refused() {
    let mut f = fixture();
    let mut en = authority_stmt("enroll", "ch.fdpic", &["CH"], &[&key("ch.fdpic", 20)]);
    en["log"] = json!("other.example/log");
    let e = submit(&mut f.reg, &en, &[&f.gov[0], &f.gov[1]]).unwrap_err();
    assert_eq!(
        e,
        RuleError::WrongLog {
            log: "other.example/log".to_owned(),
            origin: "registry.example.org/log".to_owned()
        }
    );
    en["log"] = json!("registry.example.org/log");
    submit(&mut f.reg, &en, &[&f.gov[0], &f.gov[1]]).unwrap();
}

/// The United Kingdom left the EU: an EU authority rules on `from: GB`
/// only until 2020-12-31, and makes nothing true after that.
#[test]
fn competence_ends_with_brexit() {
    let mut f = fixture();
    let ec = f.reg.authority("eu.ec").unwrap().clone();
    assert_eq!(
        ec.competent_until(&j("GB"), d("2016-06-23")),
        Some(Some(d("2020-12-31")))
    );
    assert_eq!(ec.competent_until(&j("GB"), d("2021-01-01")), None);
    assert_eq!(ec.competent_until(&j("DE"), d("2021-01-01")), Some(None));
    // Backdated grant with no expiry: refused (it would be in force in 2026).
    let backdated = rec("eu.ec", "eu.ec/gb-bd", "granted", "GB", "US", "2020-12-31");
    assert!(matches!(
        submit(&mut f.reg, &backdated, &[&f.ec]).unwrap_err(),
        RuleError::BeyondCompetence { .. }
    ));
    // An expiry after the end of competence: refused too.
    let mut late = backdated.clone();
    late["expires"] = json!("2021-06-30");
    assert!(matches!(
        submit(&mut f.reg, &late, &[&f.ec]).unwrap_err(),
        RuleError::BeyondCompetence { .. }
    ));
    // Ending on the last day: accepted, and not in force in 2026.
    let mut ok = backdated.clone();
    ok["expires"] = json!("2020-12-31");
    submit(&mut f.reg, &ok, &[&f.ec]).unwrap();
    let head = f.reg.record("eu.ec/gb-bd").unwrap();
    assert_ne!(head.status_on(d("2026-01-01")), Some(Status::InForce));
    // A suspension makes nothing true: allowed without an expiry.
    submit(
        &mut f.reg,
        &rec(
            "eu.ec",
            "eu.ec/gb-bd",
            "suspended",
            "GB",
            "US",
            "2020-12-31",
        ),
        &[&f.ec],
    )
    .unwrap();
    // EEA members stay covered by EEA competence for ever (EU to EEA-only).
    let eea = j("EEA");
    assert_eq!(eea.covers_until(&j("NO"), d("2024-01-01")), Some(None));
    assert_eq!(
        eea.covers_until(&j("GB"), d("2000-01-01")),
        Some(Some(d("2020-12-31")))
    );
}

#[test]
fn new_records_are_named_under_their_authority() {
    let mut f = fixture();
    let e = submit(
        &mut f.reg,
        &rec(
            "eu.ec",
            "jp.ppc/squat",
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        ),
        &[&f.ec],
    )
    .unwrap_err();
    assert_eq!(
        e,
        RuleError::RecordNotOwned {
            record: "jp.ppc/squat".to_owned(),
            authority: "eu.ec".to_owned()
        }
    );
    assert_eq!(class(&e), 422);
    // Later events may come from another competent authority.
    submit(
        &mut f.reg,
        &rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2019-01-23"),
        &[&f.ec],
    )
    .unwrap();
    // Ids with empty, `.` or `..` segments are malformed.
    for bad in [
        "eu.ec//x",
        "eu.ec/./x",
        "eu.ec/../x",
        "/eu.ec/x",
        "eu.ec/x/",
        "eu.ec/..",
    ] {
        let e = submit(
            &mut f.reg,
            &rec("eu.ec", bad, "granted", "EEA", "JP", "2019-01-23"),
            &[&f.ec],
        )
        .unwrap_err();
        assert_eq!(class(&e), 400, "{bad}");
    }
}

/// Admission: the clock and the v2 fields, for new submissions only.
#[test]
fn admission_refuses_future_statements_and_v1_governance() {
    use dfft_core::statement::admission::{admit, AdmissionPolicy};
    use dfft_core::statement::Statement;
    let parse = |v: &Value| Statement::parse(&serde_json::to_vec(v).unwrap()).unwrap();
    let policy = AdmissionPolicy {
        max_future_skew_secs: 60,
    };
    // 2024-01-01T00:00:00Z
    let now = 1_704_067_200;
    let r = rec("eu.ec", "eu.ec/x", "granted", "EEA", "JP", "2019-01-23");
    assert!(admit(&parse(&r), now, &policy).is_ok());
    let mut r2 = r.clone();
    r2["issued_at"] = json!("2024-01-01T00:01:00Z");
    assert!(admit(&parse(&r2), now, &policy).is_ok(), "within the skew");
    r2["issued_at"] = json!("2024-01-01T00:01:01Z");
    assert!(matches!(
        admit(&parse(&r2), now, &policy),
        Err(RuleError::IssuedInFuture { .. })
    ));
    let mut en = authority_stmt("enroll", "ch.fdpic", &["CH"], &[&key("ch.fdpic", 20)]);
    assert!(matches!(
        admit(&parse(&en), now, &policy),
        Err(RuleError::V2FieldRequired { field: "log", .. })
    ));
    en["log"] = json!("registry.example.org/log");
    assert!(admit(&parse(&en), now, &policy).is_ok());
    let mut up = authority_stmt("update", "ch.fdpic", &["CH"], &[&key("ch.fdpic", 20)]);
    up["log"] = json!("registry.example.org/log");
    assert!(matches!(
        admit(&parse(&up), now, &policy),
        Err(RuleError::V2FieldRequired {
            field: "supersedes",
            ..
        })
    ));
}

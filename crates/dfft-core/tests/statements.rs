//! Statement and envelope parsing: every grammar of statements-v1 with a
//! passing and a failing case, DSSE strictness, and canonical form.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_core::statement::dsse::{DsseError, Envelope, MAX_ENTRY_SIZE, PAYLOAD_TYPE};
use dfft_core::statement::jcs;
use dfft_core::statement::registry::{ErrorClass, RuleError, Submission};
use dfft_core::statement::{
    Action, AuthorityAction, AuthorityId, AuthorityStatement, Date, Destination, FieldProblem,
    Jurisdiction, JurisdictionError, LegalReference, Mechanism, Recognition, RecordId, Statement,
    StatementError, Status, Subject, Timestamp,
};
use serde_json::{json, Value};

const DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/recognitions.json"
));

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn recognition() -> Value {
    json!({"kind":"recognition","authority":"eu.ec","record":"eu.ec/adequacy/jp",
        "action":"granted","mechanism":"adequacy","from":"EEA","to":"JP",
        "scope":"private-sector business operators under the APPI, with the Supplementary Rules",
        "legal_reference":{"id":"CELEX:32019D0419","title":"Commission Implementing Decision (EU) 2019/419","url":"https://eur-lex.europa.eu/eli/dec_impl/2019/419/oj"},
        "effective":"2019-01-23","expires":null,"issued_at":"2019-01-23T00:00:00Z"})
}

fn authority() -> Value {
    json!({"kind":"authority","action":"enroll","authority":"eu.ec","name":"European Commission",
        "competence":["EU","EEA"],"keys":[key("eu.ec", 1).verifier().to_string()],"issued_at":"2019-01-01T00:00:00Z"})
}

fn genesis() -> Value {
    json!({"kind":"genesis","origin":"registry.example.org/log",
        "governance":{"keys":[key("gov-a", 2).verifier().to_string(), key("gov-b", 3).verifier().to_string()],"threshold":2},
        "issued_at":"2019-01-01T00:00:00Z"})
}

fn parse(v: &Value) -> Result<Statement, StatementError> {
    Statement::parse(&serde_json::to_vec(v).unwrap())
}

fn with(mut v: Value, path: &[&str], new: Value) -> Value {
    let mut at = &mut v;
    for p in &path[..path.len() - 1] {
        at = at.get_mut(*p).unwrap();
    }
    at.as_object_mut()
        .unwrap()
        .insert(path[path.len() - 1].to_owned(), new);
    v
}

fn without(mut v: Value, path: &[&str]) -> Value {
    let mut at = &mut v;
    for p in &path[..path.len() - 1] {
        at = at.get_mut(*p).unwrap();
    }
    at.as_object_mut().unwrap().remove(path[path.len() - 1]);
    v
}

/// Asserts a field error on `field`, and that its message names the field.
fn field_err(r: Result<Statement, StatementError>, field: &str) -> FieldProblem {
    match r {
        Err(e @ StatementError::Field { .. }) => {
            assert!(e.to_string().contains(&format!("`{field}`")), "{e}");
            let StatementError::Field { field: f, problem } = e else {
                unreachable!()
            };
            assert_eq!(f, field);
            problem
        }
        other => panic!("expected a field error on {field}, got {other:?}"),
    }
}

fn schema_err(r: Result<Statement, StatementError>, needle: &str) {
    match r {
        Err(e @ StatementError::Schema { .. }) => assert!(e.to_string().contains(needle), "{e}"),
        other => panic!("expected a schema error mentioning {needle}, got {other:?}"),
    }
}

#[test]
fn the_spec_examples_parse() {
    let Statement::Recognition(r) = parse(&recognition()).unwrap() else {
        panic!()
    };
    assert_eq!(r.authority.as_str(), "eu.ec");
    assert_eq!(r.action, Action::Granted);
    assert_eq!(r.mechanism, Mechanism::Adequacy);
    assert_eq!(r.to, Destination::Code(Jurisdiction::new("JP").unwrap()));
    assert_eq!(r.expires, Some(None));
    let Statement::Authority(a) = parse(&authority()).unwrap() else {
        panic!()
    };
    assert_eq!(a.action, AuthorityAction::Enroll);
    assert_eq!(a.keys.unwrap()[0], key("eu.ec", 1).verifier());
    let Statement::Genesis(g) = parse(&genesis()).unwrap() else {
        panic!()
    };
    assert_eq!(g.governance.threshold, 2);
}

#[test]
fn every_event_of_the_data_file_parses_and_round_trips() {
    let data: Value = serde_json::from_str(DATA).unwrap();
    let events = data["events"].as_array().unwrap();
    assert_eq!(events.len(), 59);
    for e in events {
        let v = with(
            e.clone(),
            &["issued_at"],
            json!(format!("{}T00:00:00Z", e["effective"].as_str().unwrap())),
        );
        let s = parse(&v).unwrap_or_else(|err| panic!("{err}: {v}"));
        let back = Statement::parse(&s.to_payload().unwrap()).unwrap();
        assert_eq!(back, s);
        // The payload keeps every field it was given.
        assert_eq!(
            serde_json::from_slice::<Value>(&s.to_payload().unwrap()).unwrap(),
            v
        );
    }
}

#[test]
fn kinds() {
    assert!(matches!(
        parse(&json!({"kind":"index","size":1})),
        Err(StatementError::ReservedKind { .. })
    ));
    let e = parse(&json!({"kind":"index"})).unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
    assert!(matches!(
        parse(&json!({"kind":"policy"})),
        Err(StatementError::UnknownKind { .. })
    ));
    assert!(matches!(
        parse(&json!({"kind":1})),
        Err(StatementError::Json { .. })
    ));
    assert!(matches!(
        parse(&json!({"no":"kind"})),
        Err(StatementError::Json { .. })
    ));
    assert!(matches!(
        parse(&json!(["kind"])),
        Err(StatementError::Json { .. })
    ));
    // serde would take an array as fields by position; objects only.
    let positional = json!([
        "genesis",
        "registry.example.org/log",
        [[key("gov-a", 2).verifier().to_string()], 1],
        "2019-01-01T00:00:00Z"
    ]);
    assert!(matches!(
        parse(&positional),
        Err(StatementError::Json { .. })
    ));
    schema_err(
        parse(&with(
            recognition(),
            &["legal_reference"],
            json!(["CELEX:32019D0419", "Decision"]),
        )),
        "`legal_reference` must be a JSON object",
    );
    schema_err(
        parse(&with(recognition(), &["subject"], json!(["ACME"]))),
        "`subject` must be a JSON object",
    );
    schema_err(
        parse(&with(
            genesis(),
            &["governance"],
            json!([[key("gov-a", 2).verifier().to_string()], 1]),
        )),
        "`governance` must be a JSON object",
    );
    assert!(matches!(
        Statement::parse(b"not json"),
        Err(StatementError::Json { .. })
    ));
    assert!(matches!(
        Statement::parse(b""),
        Err(StatementError::Json { .. })
    ));
    let trailing = [serde_json::to_vec(&recognition()).unwrap(), b"{}".to_vec()].concat();
    assert!(matches!(
        Statement::parse(&trailing),
        Err(StatementError::Json { .. })
    ));
}

#[test]
fn unknown_missing_repeated_and_mistyped_fields_are_rejected() {
    schema_err(
        parse(&with(recognition(), &["comment"], json!("x"))),
        "unknown field `comment`",
    );
    schema_err(
        parse(&with(
            recognition(),
            &["legal_reference", "pages"],
            json!("x"),
        )),
        "unknown field `pages`",
    );
    schema_err(
        parse(&with(genesis(), &["governance", "quorum"], json!(1))),
        "unknown field `quorum`",
    );
    schema_err(
        parse(&with(authority(), &["retired"], json!(false))),
        "unknown field `retired`",
    );
    schema_err(
        parse(&with(
            recognition(),
            &["subject"],
            json!({"name":"ACME","country":"DE"}),
        )),
        "unknown field `country`",
    );
    schema_err(
        parse(&without(recognition(), &["effective"])),
        "missing field `effective`",
    );
    schema_err(
        parse(&without(recognition(), &["legal_reference"])),
        "missing field `legal_reference`",
    );
    schema_err(
        parse(&without(recognition(), &["legal_reference", "title"])),
        "missing field `title`",
    );
    schema_err(
        parse(&without(recognition(), &["issued_at"])),
        "missing field `issued_at`",
    );
    schema_err(
        parse(&without(genesis(), &["governance"])),
        "missing field `governance`",
    );
    schema_err(
        parse(&with(recognition(), &["exclusions"], json!("one"))),
        "invalid type",
    );
    schema_err(
        parse(&with(genesis(), &["governance", "threshold"], json!(1.5))),
        "invalid type",
    );
    schema_err(
        parse(&with(genesis(), &["governance", "threshold"], json!("1"))),
        "invalid type",
    );
    let dup = br#"{"kind":"recognition","authority":"eu.ec","authority":"eu.edpb","record":"eu.ec/x","action":"granted","mechanism":"scc","from":"EEA","to":"*","legal_reference":{"id":"A:b","title":"t"},"effective":"2020-01-01","issued_at":"2020-01-01T00:00:00Z"}"#;
    match Statement::parse(dup) {
        Err(e @ StatementError::Schema { .. }) => {
            assert!(e.to_string().contains("duplicate field `authority`"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let dup_kind = br#"{"kind":"genesis","kind":"recognition"}"#;
    assert!(Statement::parse(dup_kind).is_err());
}

#[test]
fn authority_and_record_ids() {
    assert!(parse(&with(recognition(), &["authority"], json!("uk.ico"))).is_ok());
    for bad in ["EU.EC", "e", "eu_ec", "eu/ec", &"a".repeat(65)] {
        assert!(matches!(
            field_err(
                parse(&with(recognition(), &["authority"], json!(bad))),
                "authority"
            ),
            FieldProblem::AuthorityId { .. }
        ));
        assert!(matches!(
            field_err(
                parse(&with(authority(), &["authority"], json!(bad))),
                "authority"
            ),
            FieldProblem::AuthorityId { .. }
        ));
    }
    assert!(parse(&with(
        recognition(),
        &["record"],
        json!("uk.ico/bcr_2024/acme-1.0")
    ))
    .is_ok());
    for bad in [
        "ab",
        "eu.ec/Adequacy",
        "eu.ec/adequacy jp",
        "eu.ec:jp",
        &"a".repeat(129),
    ] {
        assert!(matches!(
            field_err(
                parse(&with(recognition(), &["record"], json!(bad))),
                "record"
            ),
            FieldProblem::RecordId { .. }
        ));
    }
}

#[test]
fn actions_and_mechanisms() {
    for a in Action::ALL {
        let r = parse(&with(recognition(), &["action"], json!(a.as_str())));
        if a.is_listing_action() && *a != Action::Reinstated {
            // Listing actions (v2) are not a recognition's.
            assert!(
                matches!(
                    field_err(r, "action"),
                    FieldProblem::ActionNotForKind { .. }
                ),
                "{a}"
            );
        } else {
            assert!(r.is_ok(), "{a}");
        }
    }
    let p = field_err(
        parse(&with(recognition(), &["action"], json!("repealed"))),
        "action",
    );
    assert!(matches!(p, FieldProblem::UnknownAction { .. }));
    assert!(
        p.to_string().contains(
            "granted, amended, renewed, suspended, reinstated, invalidated, revoked, expired"
        ),
        "{p}"
    );
    for m in Mechanism::ALL {
        assert!(
            parse(&with(recognition(), &["mechanism"], json!(m.as_str()))).is_ok(),
            "{m}"
        );
    }
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["mechanism"], json!("SCC"))),
            "mechanism"
        ),
        FieldProblem::UnknownMechanism { .. }
    ));
    for a in ["enroll", "update"] {
        assert!(parse(&with(authority(), &["action"], json!(a))).is_ok());
    }
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["action"], json!("delete"))),
            "action"
        ),
        FieldProblem::UnknownAuthorityAction { .. }
    ));
}

#[test]
fn jurisdictions() {
    for ok in ["EU", "DE", "AE-DU", "IO:EPO"] {
        assert!(
            parse(&with(recognition(), &["from"], json!(ok))).is_ok(),
            "{ok}"
        );
        assert!(
            parse(&with(recognition(), &["to"], json!(ok))).is_ok(),
            "{ok}"
        );
    }
    assert!(parse(&with(recognition(), &["to"], json!("*"))).is_ok());
    assert_eq!(
        field_err(parse(&with(recognition(), &["from"], json!("*"))), "from"),
        FieldProblem::Jurisdiction(JurisdictionError::AnyNotAllowed)
    );
    assert!(matches!(
        field_err(parse(&with(recognition(), &["to"], json!("UK"))), "to"),
        FieldProblem::Jurisdiction(JurisdictionError::UnknownCountry { .. })
    ));
    assert!(matches!(
        field_err(parse(&with(recognition(), &["to"], json!("jp"))), "to"),
        FieldProblem::Jurisdiction(JurisdictionError::Syntax { .. })
    ));
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["competence"], json!(["EU", "*"]))),
            "competence[1]"
        ),
        FieldProblem::Jurisdiction(JurisdictionError::AnyNotAllowed)
    ));
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["competence"], json!(["EU", "EU"]))),
            "competence[1]"
        ),
        FieldProblem::Duplicate { .. }
    ));
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["competence"], json!([]))),
            "competence"
        ),
        FieldProblem::EmptyList
    ));
}

#[test]
fn legal_references() {
    for ok in [
        "ELI:http://data.europa.eu/eli/reg/2016/679/oj",
        "ECLI:EU:C:2020:559",
        "UKSI:2019/419",
        "CELEX:32016D1250",
    ] {
        assert!(
            parse(&with(recognition(), &["legal_reference", "id"], json!(ok))).is_ok(),
            "{ok}"
        );
    }
    for bad in [
        "32019D0419",
        "celex:32019D0419",
        "CELEX:",
        "CELEX:3201 9D0419",
    ] {
        assert!(
            matches!(
                field_err(
                    parse(&with(recognition(), &["legal_reference", "id"], json!(bad))),
                    "legal_reference.id"
                ),
                FieldProblem::LegalReferenceId { .. }
            ),
            "{bad}"
        );
    }
    let v = without(recognition(), &["legal_reference", "url"]);
    assert!(parse(&v).is_ok(), "url is optional");
    assert!(matches!(
        field_err(
            parse(&with(
                recognition(),
                &["legal_reference", "url"],
                json!("eur-lex.europa.eu")
            )),
            "legal_reference.url"
        ),
        FieldProblem::Url { .. }
    ));
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert!(parse(&with(
        recognition(),
        &["legal_reference", "sha256"],
        json!(sha)
    ))
    .is_ok());
    assert!(matches!(
        field_err(
            parse(&with(
                recognition(),
                &["legal_reference", "sha256"],
                json!(sha.to_uppercase())
            )),
            "legal_reference.sha256"
        ),
        FieldProblem::Sha256 { .. }
    ));
    assert!(matches!(
        field_err(
            parse(&with(
                recognition(),
                &["legal_reference", "title"],
                json!(" ")
            )),
            "legal_reference.title"
        ),
        FieldProblem::Blank
    ));
    assert!(matches!(
        field_err(
            parse(&with(
                recognition(),
                &["legal_reference", "title"],
                json!("a\nb")
            )),
            "legal_reference.title"
        ),
        FieldProblem::ControlCharacter { multiline: false }
    ));
}

#[test]
fn optional_fields() {
    let full = with(
        with(
            with(
                recognition(),
                &["exclusions"],
                json!(["public authorities", "credit data"]),
            ),
            &["subject"],
            json!({"name":"GLEIF","lei":"506700GE1G29325QX363"}),
        ),
        &["notes"],
        json!("first line\nsecond line"),
    );
    let Statement::Recognition(r) = parse(&full).unwrap() else {
        panic!()
    };
    assert_eq!(
        r.subject.unwrap().lei.as_deref(),
        Some("506700GE1G29325QX363")
    );
    assert!(
        parse(&with(recognition(), &["subject"], json!({"name":"ACME"}))).is_ok(),
        "lei is optional"
    );
    let minimal = without(
        without(without(recognition(), &["scope"]), &["expires"]),
        &["legal_reference", "url"],
    );
    let Statement::Recognition(r) = parse(&minimal).unwrap() else {
        panic!()
    };
    assert_eq!(r.expires, None);
    assert_eq!(r.scope, None);
    assert!(matches!(
        field_err(
            parse(&with(
                recognition(),
                &["subject"],
                json!({"name":"ACME","lei":"506700GE1G29325QX364"})
            )),
            "subject.lei"
        ),
        FieldProblem::Lei { .. }
    ));
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["subject"], json!({"name":""}))),
            "subject.name"
        ),
        FieldProblem::Blank
    ));
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["exclusions"], json!([]))),
            "exclusions"
        ),
        FieldProblem::EmptyList
    ));
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["exclusions"], json!(["ok", ""]))),
            "exclusions[1]"
        ),
        FieldProblem::Blank
    ));
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["scope"], json!("\u{1b}[2J"))),
            "scope"
        ),
        FieldProblem::ControlCharacter { multiline: true }
    ));
    assert!(matches!(
        field_err(parse(&with(recognition(), &["notes"], json!(""))), "notes"),
        FieldProblem::Blank
    ));
}

/// Single-line text (names, titles) refuses what reorders or hides text;
/// free text refuses bidirectional controls and Unicode separators but
/// keeps line feeds and joiners; "blank" ignores invisible characters.
#[test]
fn hidden_characters_in_text() {
    const BIDI: [char; 12] = [
        '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
        '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    ];
    const ZERO_WIDTH: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];
    const SEPARATORS: [char; 2] = ['\u{2028}', '\u{2029}'];
    let line_fields: [(&[&str], &str, Value); 3] = [
        (&["name"], "name", authority()),
        (
            &["legal_reference", "title"],
            "legal_reference.title",
            recognition(),
        ),
        (
            &["subject", "name"],
            "subject.name",
            with(recognition(), &["subject"], json!({"name": "x"})),
        ),
    ];
    let hidden = |p: FieldProblem, c: char| match &p {
        FieldProblem::HiddenCharacter { character, .. } => {
            assert_eq!(*character, c);
            let msg = p.to_string();
            assert!(msg.contains(&format!("U+{:04X}", u32::from(c))), "{msg}");
            msg
        }
        other => panic!(
            "expected HiddenCharacter for U+{:04X}, got {other:?}",
            u32::from(c)
        ),
    };
    for (path, field, base) in &line_fields {
        // "Commission" spelt backwards under an override shows as a
        // different name than the one signed.
        for c in BIDI.iter().chain(&ZERO_WIDTH).chain(&SEPARATORS) {
            let text = format!("European {c}noissimmoC");
            let msg = hidden(
                field_err(parse(&with(base.clone(), path, json!(text))), field),
                *c,
            );
            if BIDI.contains(c) {
                assert!(msg.contains("bidirectional"), "{msg}");
            } else if ZERO_WIDTH.contains(c) {
                assert!(msg.contains("zero-width"), "{msg}");
            } else {
                assert!(msg.contains("separator"), "{msg}");
            }
        }
        for blank in [
            "\u{3000}",
            "\u{00A0}",
            "\u{200B}",
            " \u{FEFF}\u{2060} ",
            "\u{00AD}\u{3164}",
            "\u{E0020}",
        ] {
            assert_eq!(
                field_err(parse(&with(base.clone(), path, json!(blank))), field),
                FieldProblem::Blank,
                "{blank:?} in {field}"
            );
        }
        // Visible text outside ASCII stays allowed.
        for ok in [
            "Comisión Europea",
            "Ma\u{0308}rta",
            "個人情報保護委員会",
            "هيئة\u{00A0}البيانات",
            "Nom\u{00A0}propre",
        ] {
            assert!(
                parse(&with(base.clone(), path, json!(ok))).is_ok(),
                "{ok:?} in {field}"
            );
        }
    }
    for (path, field) in [(&["scope"][..], "scope"), (&["notes"][..], "notes")] {
        for c in BIDI.iter().chain(&SEPARATORS) {
            let text = format!("first line\nsecond {c}line");
            hidden(
                field_err(parse(&with(recognition(), path, json!(text))), field),
                *c,
            );
        }
        for blank in ["\u{3000}\n\u{00A0}", "\u{200B}", "\n\u{FEFF}"] {
            assert_eq!(
                field_err(parse(&with(recognition(), path, json!(blank))), field),
                FieldProblem::Blank,
                "{blank:?} in {field}"
            );
        }
        // Line feeds and joiners stay allowed in free text.
        for ok in ["one\ntwo", "می\u{200C}خواهم", "👩\u{200D}💻 teams"] {
            assert!(
                parse(&with(recognition(), path, json!(ok))).is_ok(),
                "{ok:?} in {field}"
            );
        }
    }
    let p = field_err(
        parse(&with(
            recognition(),
            &["exclusions"],
            json!(["ok", "\u{2067}x"]),
        )),
        "exclusions[1]",
    );
    hidden(p, '\u{2067}');
}

#[test]
fn dates_and_timestamps() {
    assert!(parse(&with(recognition(), &["effective"], json!("2024-02-29"))).is_ok());
    for bad in [
        "2023-02-29",
        "2019-1-23",
        "23-01-2019",
        "2019-01-23T00:00:00Z",
    ] {
        assert!(
            matches!(
                field_err(
                    parse(&with(recognition(), &["effective"], json!(bad))),
                    "effective"
                ),
                FieldProblem::Date(_)
            ),
            "{bad}"
        );
    }
    let v = with(recognition(), &["expires"], json!("2025-06-27"));
    let Statement::Recognition(r) = parse(&v).unwrap() else {
        panic!()
    };
    assert_eq!(r.expires, Some(Some(Date::parse("2025-06-27").unwrap())));
    assert!(
        parse(&with(recognition(), &["expires"], json!("2019-01-23"))).is_ok(),
        "expires on the effective day"
    );
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["expires"], json!("2019-01-22"))),
            "expires"
        ),
        FieldProblem::ExpiresBeforeEffective { .. }
    ));
    assert!(matches!(
        field_err(
            parse(&with(recognition(), &["expires"], json!("never"))),
            "expires"
        ),
        FieldProblem::Date(_)
    ));
    for ok in ["2019-01-23T10:11:12Z", "2019-01-23T10:11:12.5Z"] {
        assert!(parse(&with(recognition(), &["issued_at"], json!(ok))).is_ok());
    }
    for bad in [
        "2019-01-23",
        "2019-01-23T10:11:12+01:00",
        "2019-01-23T25:00:00Z",
    ] {
        assert!(
            matches!(
                field_err(
                    parse(&with(recognition(), &["issued_at"], json!(bad))),
                    "issued_at"
                ),
                FieldProblem::Date(_)
            ),
            "{bad}"
        );
    }
}

#[test]
fn authority_statements() {
    let other = key("eu.edpb", 4).verifier().to_string();
    let p = field_err(
        parse(&with(authority(), &["keys"], json!([other]))),
        "keys[0]",
    );
    assert!(matches!(p, FieldProblem::KeyNameNotAuthority { .. }));
    assert!(p.to_string().contains("must equal its id `eu.ec`"), "{p}");
    let k = key("eu.ec", 1).verifier().to_string();
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["keys"], json!([k.clone(), k.clone()]))),
            "keys[1]"
        ),
        FieldProblem::DuplicateKey { .. }
    ));
    assert!(matches!(
        field_err(parse(&with(authority(), &["keys"], json!([]))), "keys"),
        FieldProblem::EmptyList
    ));
    assert!(matches!(
        field_err(
            parse(&with(
                authority(),
                &["keys"],
                json!(["eu.ec+00000000+AAAA"])
            )),
            "keys[0]"
        ),
        FieldProblem::VerifierKey { .. }
    ));
    let cosigner = SignerKey::from_seed_kind(
        KeyName::new("eu.ec").unwrap(),
        KeyKind::CosignatureV1,
        [9; 32],
    )
    .verifier()
    .to_string();
    assert!(matches!(
        field_err(
            parse(&with(authority(), &["keys"], json!([cosigner]))),
            "keys[0]"
        ),
        FieldProblem::NotEd25519 { .. }
    ));
    // Two keys of one authority are fine.
    assert!(parse(&with(
        authority(),
        &["keys"],
        json!([k.clone(), key("eu.ec", 5).verifier().to_string()])
    ))
    .is_ok());
    for field in ["name", "competence", "keys"] {
        assert!(matches!(
            field_err(parse(&without(authority(), &[field])), field),
            FieldProblem::RequiredForAction { action: "enroll" }
        ));
        assert!(matches!(
            field_err(
                parse(&without(
                    with(authority(), &["action"], json!("update")),
                    &[field]
                )),
                field
            ),
            FieldProblem::RequiredForAction { action: "update" }
        ));
    }
    let retire = json!({"kind":"authority","action":"retire","authority":"eu.ec","issued_at":"2030-01-01T00:00:00Z"});
    let Statement::Authority(a) = parse(&retire).unwrap() else {
        panic!()
    };
    assert_eq!((a.name, a.competence, a.keys), (None, None, None));
    for (field, value) in [
        ("name", json!("x")),
        ("competence", json!(["EU"])),
        ("keys", json!([k.clone()])),
    ] {
        assert!(matches!(
            field_err(parse(&with(retire.clone(), &[field], value)), field),
            FieldProblem::NotAllowedForAction { action: "retire" }
        ));
    }
    assert!(matches!(
        field_err(parse(&with(authority(), &["name"], json!(""))), "name"),
        FieldProblem::Blank
    ));
}

#[test]
fn genesis_statements() {
    for t in [0u64, 3] {
        assert!(matches!(
            field_err(
                parse(&with(genesis(), &["governance", "threshold"], json!(t))),
                "governance.threshold"
            ),
            FieldProblem::Threshold { .. }
        ));
    }
    assert!(parse(&with(genesis(), &["governance", "threshold"], json!(1))).is_ok());
    assert!(matches!(
        field_err(
            parse(&with(genesis(), &["governance", "keys"], json!([]))),
            "governance.keys"
        ),
        FieldProblem::EmptyList
    ));
    // The same public key under two names would count twice towards the threshold.
    let a = key("gov-a", 2).verifier().to_string();
    let same_key = SignerKey::from_seed(KeyName::new("gov-z").unwrap(), [2; 32])
        .verifier()
        .to_string();
    assert!(matches!(
        field_err(
            parse(&with(
                genesis(),
                &["governance", "keys"],
                json!([a, same_key])
            )),
            "governance.keys[1]"
        ),
        FieldProblem::DuplicateKey { .. }
    ));
    for bad in ["", "a+b", "has space"] {
        assert!(matches!(
            field_err(parse(&with(genesis(), &["origin"], json!(bad))), "origin"),
            FieldProblem::Origin { .. }
        ));
    }
}

#[test]
fn built_statements_serialise_to_valid_payloads() {
    let r = Statement::Recognition(Recognition {
        authority: AuthorityId::new("eu.ec").unwrap(),
        record: RecordId::new("eu.ec/bcr/acme").unwrap(),
        action: Action::Granted,
        mechanism: Mechanism::Bcr,
        from: Jurisdiction::new("EEA").unwrap(),
        to: Destination::Any,
        scope: None,
        exclusions: Some(vec!["marketing".to_owned()]),
        subject: Some(Subject {
            name: "GLEIF".to_owned(),
            lei: Some("506700GE1G29325QX363".to_owned()),
        }),
        requires_listing: None,
        legal_reference: LegalReference {
            id: "REF:x".to_owned(),
            title: "t".to_owned(),
            url: None,
            sha256: None,
        },
        effective: Date::parse("2024-01-01").unwrap(),
        expires: None,
        notes: None,
        issued_at: Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
    });
    let p = r.to_payload().unwrap();
    let v: Value = serde_json::from_slice(&p).unwrap();
    assert_eq!(v["kind"], "recognition");
    assert_eq!(v["to"], "*");
    assert!(v.get("expires").is_none(), "absent stays absent");
    let bad = Statement::Authority(AuthorityStatement {
        action: AuthorityAction::Enroll,
        authority: AuthorityId::new("eu.ec").unwrap(),
        name: None,
        competence: None,
        keys: None,
        programmes: None,
        log: None,
        supersedes: None,
        issued_at: Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
    });
    assert!(
        bad.to_payload().is_err(),
        "to_payload refuses what the registry would refuse"
    );
}

#[test]
fn status_serialises_snake_case() {
    assert_eq!(
        serde_json::to_value(Status::InForce).unwrap(),
        json!("in_force")
    );
    assert_eq!(
        serde_json::to_value([Status::Suspended, Status::Ended, Status::Expired]).unwrap(),
        json!(["suspended", "ended", "expired"])
    );
}

// ---- DSSE envelopes ----

fn envelope_json(env: &Envelope) -> Value {
    serde_json::from_slice(&env.canonical_bytes()).unwrap()
}

fn signed() -> Envelope {
    Envelope::sign(
        serde_json::to_vec(&recognition()).unwrap(),
        &[&key("eu.ec", 1)],
    )
    .unwrap()
}

fn env_err(v: &Value) -> DsseError {
    Envelope::parse(&serde_json::to_vec(v).unwrap()).unwrap_err()
}

#[test]
fn envelope_round_trip_and_canonical_form() {
    let env = signed();
    let bytes = env.canonical_bytes();
    assert_eq!(Envelope::parse(&bytes).unwrap(), env);
    assert_eq!(Envelope::parse_canonical(&bytes).unwrap(), env);
    // The hand-written canonical form is JCS's.
    assert_eq!(
        jcs::canonicalize(&serde_json::from_slice(&bytes).unwrap()).unwrap(),
        bytes
    );
    assert!(bytes.starts_with(b"{\"payload\":\""));
    // Another layout of the same envelope parses to the same thing and the
    // same entry, but is not itself a canonical entry.
    let v = envelope_json(&env);
    let pretty = serde_json::to_vec_pretty(&json!({"signatures": v["signatures"], "payloadType": v["payloadType"], "payload": v["payload"]})).unwrap();
    let again = Envelope::parse(&pretty).unwrap();
    assert_eq!(again.canonical_bytes(), bytes);
    assert_eq!(
        Envelope::parse_canonical(&pretty),
        Err(DsseError::NotCanonical)
    );
    // Signing and strict verification.
    let k = key("eu.ec", 1).verifier();
    assert!(env.signatures[0].verify(&k, &env.pae()));
    assert_eq!(env.signatures[0].keyid, k.keyid());
    assert_eq!(env.signatures[0].key_name(), "eu.ec");
    let mut tampered = env.clone();
    tampered.payload.push(b' ');
    assert!(!tampered.signatures[0].verify(&k, &tampered.pae()));
    assert!(!env.signatures[0].verify(&key("eu.ec", 7).verifier(), &env.pae()));
}

#[test]
fn envelope_strictness() {
    let v = envelope_json(&signed());
    assert!(matches!(
        env_err(&with(v.clone(), &["extra"], json!(1))),
        DsseError::Json { .. }
    ));
    assert!(matches!(
        env_err(&without(v.clone(), &["payloadType"])),
        DsseError::Json { .. }
    ));
    let mut sig_extra = v.clone();
    sig_extra["signatures"][0]["cert"] = json!("x");
    assert!(matches!(env_err(&sig_extra), DsseError::Json { .. }));
    let mut no_keyid = v.clone();
    no_keyid["signatures"][0]
        .as_object_mut()
        .unwrap()
        .remove("keyid");
    assert!(matches!(env_err(&no_keyid), DsseError::Json { .. }));
    assert_eq!(
        env_err(&with(
            v.clone(),
            &["payloadType"],
            json!("application/vnd.in-toto+json")
        )),
        DsseError::PayloadType {
            found: "application/vnd.in-toto+json".to_owned()
        }
    );
    assert_eq!(
        env_err(&with(v.clone(), &["signatures"], json!([]))),
        DsseError::NoSignatures
    );
    // Base64: unpadded, URL-safe alphabet, junk, non-canonical trailing bits.
    let payload = v["payload"].as_str().unwrap().to_owned();
    let unpadded = payload.trim_end_matches('=').to_owned();
    if unpadded != payload {
        assert!(matches!(
            env_err(&with(v.clone(), &["payload"], json!(unpadded))),
            DsseError::Base64 { .. }
        ));
    }
    assert!(matches!(
        env_err(&with(v.clone(), &["payload"], json!("eyJ-_w=="))),
        DsseError::Base64 { .. }
    ));
    assert!(matches!(
        env_err(&with(v.clone(), &["payload"], json!("not base64!"))),
        DsseError::Base64 { .. }
    ));
    assert!(
        matches!(
            env_err(&with(v.clone(), &["payload"], json!("QR=="))),
            DsseError::Base64 { .. }
        ),
        "non-zero trailing bits"
    );
    let mut short = v.clone();
    short["signatures"][0]["sig"] = json!(B64.encode([0u8; 63]));
    assert_eq!(
        env_err(&short),
        DsseError::SignatureLength { index: 0, len: 63 }
    );
    let mut long = v.clone();
    long["signatures"][0]["sig"] = json!(B64.encode([0u8; 72]));
    assert_eq!(
        env_err(&long),
        DsseError::SignatureLength { index: 0, len: 72 }
    );
    let mut bad_sig = v.clone();
    bad_sig["signatures"][0]["sig"] = json!("%%%");
    assert_eq!(
        env_err(&bad_sig),
        DsseError::Base64 {
            field: "signatures[0].sig".to_owned()
        }
    );
    for bad in ["eu.ec", "eu.ec+XYZ", "eu.ec+1A2B3C4D", "e u+1a2b3c4d"] {
        let mut k = v.clone();
        k["signatures"][0]["keyid"] = json!(bad);
        assert!(
            matches!(env_err(&k), DsseError::KeyId { index: 0, .. }),
            "{bad}"
        );
    }
    let mut dup = v.clone();
    let s0 = dup["signatures"][0].clone();
    dup["signatures"].as_array_mut().unwrap().push(s0);
    assert!(matches!(env_err(&dup), DsseError::DuplicateKeyId { .. }));
    assert!(matches!(
        Envelope::parse(b"[]"),
        Err(DsseError::Json { .. })
    ));
    let positional = json!([
        v["payload"],
        v["payloadType"],
        [[v["signatures"][0]["keyid"], v["signatures"][0]["sig"]]]
    ]);
    assert!(matches!(env_err(&positional), DsseError::Json { .. }));
    let mut sig_array = v.clone();
    sig_array["signatures"][0] = json!([v["signatures"][0]["keyid"], v["signatures"][0]["sig"]]);
    assert!(matches!(env_err(&sig_array), DsseError::Json { .. }));
    assert!(matches!(
        Envelope::sign(b"{}".to_vec(), &[]),
        Err(DsseError::NoSignatures)
    ));
    let k = key("eu.ec", 1);
    assert!(matches!(
        Envelope::sign(b"{}".to_vec(), &[&k, &k]),
        Err(DsseError::DuplicateKeyId { .. })
    ));
    assert_eq!(signed().payload_type, PAYLOAD_TYPE);
}

#[test]
fn entry_size_limit() {
    let big = with(recognition(), &["notes"], json!("x".repeat(MAX_ENTRY_SIZE)));
    let env = Envelope::sign(serde_json::to_vec(&big).unwrap(), &[&key("eu.ec", 1)]).unwrap();
    assert!(matches!(env.to_entry(), Err(DsseError::TooLarge { .. })));
    let e = Submission::from_envelope(env).unwrap_err();
    assert!(matches!(e, RuleError::Envelope(DsseError::TooLarge { .. })));
    assert_eq!(e.class(), ErrorClass::Malformed);
    assert!(signed().to_entry().is_ok());
}

#[test]
fn submissions_classify_malformed_input_as_400() {
    let e = Submission::parse(b"{").unwrap_err();
    assert_eq!(e.class().http_status(), 400);
    let env = Envelope::sign(
        serde_json::to_vec(&with(recognition(), &["extra"], json!(1))).unwrap(),
        &[&key("eu.ec", 1)],
    )
    .unwrap();
    let e = Submission::parse(&env.canonical_bytes()).unwrap_err();
    assert!(matches!(
        e,
        RuleError::Statement(StatementError::Schema { .. })
    ));
    assert_eq!(e.class().http_status(), 400);
    let sub = Submission::parse(&signed().canonical_bytes()).unwrap();
    assert_eq!(sub.entry(), signed().canonical_bytes());
    assert_eq!(sub.statement().kind(), "recognition");
}

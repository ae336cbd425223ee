//! Statements v2 `kind: rule`: strict parsing, the record rules applied to
//! rules, the route filters, and the route summary over both sides, with
//! the cases of issue 17: a prohibition for a destination group around its
//! effective date, a threshold rule on one data category and not another,
//! a rule revoked while a recognition stays in force, a recognition that
//! satisfies a rule, and a route the registry knows nothing about.

use dfft_core::note::{KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{Change, Registry, RouteFilter, RuleError};
use dfft_core::statement::{
    DataCategory, Date, Jurisdiction, Mechanism, Requirement, Statement, StatementError, Summary,
    Verdict,
};
use serde_json::{json, Value};

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn j(s: &str) -> Jurisdiction {
    Jurisdiction::new(s).unwrap()
}

fn rule(
    record: &str,
    action: &str,
    to: &str,
    requires: &str,
    categories: &[&str],
    effective: &str,
) -> Value {
    json!({"kind":"rule","authority":"cn.test","record":record,"action":action,"from":"CN","to":to,
        "applies_to":{"categories":categories},"requires":requires,
        "text":"What the rule says.","legal_reference":{"id":"CN-LAW:1","title":"Law 1"},
        "effective":effective,"issued_at":"2024-01-01T00:00:00Z"})
}

fn recognition(record: &str, action: &str, to: &str, mechanism: &str, effective: &str) -> Value {
    json!({"kind":"recognition","authority":"cn.test","record":record,"action":action,
        "mechanism":mechanism,"from":"CN","to":to,
        "legal_reference":{"id":"CN-LAW:2","title":"Decision 2"},
        "effective":effective,"issued_at":"2024-01-01T00:00:00Z"})
}

struct Fixture {
    dpa: SignerKey,
    reg: Registry,
}

impl Fixture {
    fn new() -> Fixture {
        let gov = key("gov", 1);
        let dpa = key("cn.test", 2);
        let other = key("tr.test", 3);
        let mut reg = Registry::new();
        let genesis = json!({"kind":"genesis","origin":"registry.example.org/log",
            "governance":{"keys":[gov.verifier().to_string()],"threshold":1},"issued_at":"2024-01-01T00:00:00Z"});
        let enrol = |id: &str, c: &str, k: &SignerKey| {
            json!({"kind":"authority","action":"enroll","authority":id,
            "name":format!("Authority {id}"),"competence":[c],"keys":[k.verifier().to_string()],
            "issued_at":"2024-01-01T00:00:00Z"})
        };
        for s in [
            genesis,
            enrol("cn.test", "CN", &dpa),
            enrol("tr.test", "TR", &other),
        ] {
            reg.append_envelope(Envelope::sign(serde_json::to_vec(&s).unwrap(), &[&gov]).unwrap())
                .unwrap();
        }
        Fixture { dpa, reg }
    }

    fn add(&mut self, s: &Value) -> Result<Change, RuleError> {
        self.reg
            .append_envelope(Envelope::sign(serde_json::to_vec(s).unwrap(), &[&self.dpa]).unwrap())
    }

    fn summary(&self, to: &str, at: &str, data: Option<DataCategory>) -> Summary {
        let filter = RouteFilter {
            mechanism: None,
            data,
        };
        let m = self.reg.route(&j("CN"), &j(to), d(at), filter);
        Summary::of(m.iter().map(|m| (m.record, m.status)))
    }
}

fn parse_err(v: &Value) -> String {
    Statement::parse(&serde_json::to_vec(v).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn a_rule_parses_strictly_and_round_trips() {
    let mut v = rule(
        "cn.test/r",
        "granted",
        "*",
        "prior_assessment",
        &["important_data", "personal"],
        "2022-09-01",
    );
    v["applies_to"]["thresholds"] = json!([{"measure":"individuals","at_least":1000000}]);
    v["satisfied_by"] = json!(["cn.test/scc"]);
    v["expires"] = Value::Null;
    v["notes"] = json!("confidence: medium.");
    let s = Statement::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    let Statement::Rule(r) = &s else {
        panic!("not a rule")
    };
    assert_eq!(r.requires, Requirement::PriorAssessment);
    assert_eq!(
        r.applies_to.categories,
        vec![DataCategory::ImportantData, DataCategory::Personal]
    );
    assert_eq!(
        r.applies_to.thresholds.as_ref().unwrap()[0].at_least,
        1_000_000
    );
    assert_eq!(s.kind(), "rule");
    let back = Statement::parse(&s.to_payload().unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn bad_rules_are_refused_naming_the_field() {
    let base = rule(
        "cn.test/r",
        "granted",
        "*",
        "prohibited",
        &["personal"],
        "2024-01-01",
    );
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|v| v["requires"] = json!("forbidden")),
            "unknown requirement `forbidden`",
        ),
        (
            with(&|v| v["applies_to"]["categories"] = json!(["personal", "biometric"])),
            "applies_to.categories[1]",
        ),
        (
            with(&|v| v["applies_to"]["categories"] = json!([])),
            "applies_to.categories",
        ),
        (
            with(&|v| v["applies_to"]["categories"] = json!(["personal", "personal"])),
            "applies_to.categories[1]",
        ),
        (
            with(&|v| {
                v["applies_to"]["thresholds"] = json!([{"measure":"individuals","at_least":0}])
            }),
            "at least 1",
        ),
        (
            with(&|v| v["applies_to"]["thresholds"] = json!([{"measure":"bytes","at_least":5}])),
            "unknown threshold measure",
        ),
        (
            with(&|v| v["applies_to"]["thresholds"] = json!([["individuals", 5]])),
            "must be a JSON object",
        ),
        (
            with(&|v| v["satisfied_by"] = json!(["cn.test/r"])),
            "its own record",
        ),
        (
            with(&|v| v["satisfied_by"] = json!(["cn.test/a", "cn.test/a"])),
            "satisfied_by[1]",
        ),
        (with(&|v| v["text"] = json!("  ")), "text"),
        (
            with(&|v| v["mechanism"] = json!("scc")),
            "unknown field `mechanism`",
        ),
        (
            with(&|v| v["applies_to"] = json!(["personal"])),
            "must be a JSON object",
        ),
    ];
    for (v, want) in cases {
        let e = parse_err(&v);
        assert!(e.contains(want), "{v}: {e}");
    }
    // Not a StatementError::UnknownKind: `rule` is a kind now.
    assert!(matches!(
        Statement::parse(&serde_json::to_vec(&base).unwrap()),
        Ok(Statement::Rule(_))
    ));
    let _ = StatementError::Json {
        detail: String::new(),
    };
}

#[test]
fn rules_follow_the_record_rules() {
    let mut f = Fixture::new();
    // Competence: cn.test may not state rules for data leaving TR.
    let mut other = rule(
        "cn.test/xb",
        "granted",
        "*",
        "prohibited",
        &["personal"],
        "2024-01-01",
    );
    other["from"] = json!("TR");
    assert!(matches!(f.add(&other), Err(RuleError::NotCompetent { .. })));
    // First event granted.
    let e = f.add(&rule(
        "cn.test/r",
        "amended",
        "*",
        "prohibited",
        &["personal"],
        "2024-01-01",
    ));
    assert!(
        matches!(e, Err(RuleError::FirstEventNotGranted { .. })),
        "{e:?}"
    );
    f.add(&rule(
        "cn.test/r",
        "granted",
        "*",
        "prohibited",
        &["personal"],
        "2024-01-01",
    ))
    .unwrap();
    // Later events repeat the terms the grant fixed, and the kind.
    let e = f
        .add(&rule(
            "cn.test/r",
            "amended",
            "*",
            "consent",
            &["personal"],
            "2024-02-01",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("requires"), "{e}");
    let e = f
        .add(&rule(
            "cn.test/r",
            "amended",
            "*",
            "prohibited",
            &["health"],
            "2024-02-01",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("categories"), "{e}");
    let e = f
        .add(&recognition(
            "cn.test/r",
            "amended",
            "*",
            "scc",
            "2024-02-01",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("kind"), "{e}");
    let e = f
        .add(&rule(
            "cn.test/r",
            "amended",
            "KR",
            "prohibited",
            &["personal"],
            "2024-02-01",
        ))
        .unwrap_err();
    assert!(
        matches!(e, RuleError::RecordMismatch { field: "to", .. }),
        "{e}"
    );
    // A recognition record cannot take a rule event either.
    f.add(&recognition(
        "cn.test/scc",
        "granted",
        "*",
        "scc",
        "2024-01-01",
    ))
    .unwrap();
    let e = f
        .add(&rule(
            "cn.test/scc",
            "revoked",
            "*",
            "prohibited",
            &["personal"],
            "2024-03-01",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("kind"), "{e}");
    // A rule's event before its grant is refused like a recognition's.
    let e = f
        .add(&rule(
            "cn.test/r",
            "revoked",
            "*",
            "prohibited",
            &["personal"],
            "2023-12-31",
        ))
        .unwrap_err();
    assert!(matches!(e, RuleError::EffectiveBeforeGrant { .. }), "{e}");
}

#[test]
fn a_prohibition_for_a_group_applies_from_its_effective_date() {
    let mut f = Fixture::new();
    f.add(&rule(
        "cn.test/no-eu",
        "granted",
        "EU",
        "prohibited",
        &["health"],
        "2025-04-08",
    ))
    .unwrap();
    for (to, at, verdict) in [
        ("DE", "2025-04-07", Verdict::NoInformation),
        ("DE", "2025-04-08", Verdict::Restricted),
        ("DE", "2025-04-09", Verdict::Restricted),
        ("EU", "2025-04-09", Verdict::Restricted),
        // Not a member: the group's rule does not speak about it.
        ("NO", "2025-04-09", Verdict::NoInformation),
        // GB was a member until 2020-12-31, membership read on the date.
        ("GB", "2025-04-09", Verdict::NoInformation),
    ] {
        let s = f.summary(to, at, None);
        assert_eq!(s.verdict, verdict, "CN -> {to} on {at}: {s:?}");
        if verdict == Verdict::Restricted {
            assert_eq!(s.restrictions[0].record.as_str(), "cn.test/no-eu");
            assert!(s.words().contains("Restricted"), "{}", s.words());
        }
    }
    // "No information" is never "allowed", in words too.
    let none = f.summary("DE", "2025-04-07", None);
    assert!(
        none.words().starts_with("No information"),
        "{}",
        none.words()
    );
}

#[test]
fn a_threshold_rule_on_one_category_is_filtered_by_data() {
    let mut f = Fixture::new();
    let mut r = rule(
        "cn.test/assess",
        "granted",
        "*",
        "prior_assessment",
        &["important_data", "personal"],
        "2022-09-01",
    );
    r["applies_to"]["thresholds"] = json!([{"measure":"individuals","at_least":1000000}]);
    f.add(&r).unwrap();
    f.add(&recognition(
        "cn.test/sc",
        "granted",
        "*",
        "scc",
        "2023-06-01",
    ))
    .unwrap();
    let at = "2024-01-01";
    // No filter: the rule is there.
    assert_eq!(f.summary("JP", at, None).verdict, Verdict::Restricted);
    // Sensitive personal data is personal data; core data is important data.
    for c in [
        DataCategory::Personal,
        DataCategory::SensitivePersonal,
        DataCategory::CoreData,
    ] {
        assert_eq!(
            f.summary("JP", at, Some(c)).verdict,
            Verdict::Restricted,
            "{c}"
        );
    }
    // Not to non-personal or health data: the SCC recognition remains.
    for c in [DataCategory::NonPersonal, DataCategory::Health] {
        let s = f.summary("JP", at, Some(c));
        assert_eq!(s.verdict, Verdict::Allowed, "{c}: {s:?}");
        assert_eq!(s.recognised[0].as_str(), "cn.test/sc");
    }
    // mechanism= filters recognitions only: the rule stays.
    let m = f.reg.route(
        &j("CN"),
        &j("JP"),
        d(at),
        RouteFilter::mechanism(Some(Mechanism::Adequacy)),
    );
    assert_eq!(m.len(), 1);
    assert!(m[0].record.is_rule());
}

#[test]
fn a_rule_revoked_while_a_recognition_stays_in_force() {
    let mut f = Fixture::new();
    f.add(&rule(
        "cn.test/consent",
        "granted",
        "*",
        "consent",
        &["personal"],
        "2020-01-01",
    ))
    .unwrap();
    f.add(&recognition(
        "cn.test/adq-jp",
        "granted",
        "JP",
        "adequacy",
        "2021-01-01",
    ))
    .unwrap();
    f.add(&rule(
        "cn.test/consent",
        "revoked",
        "*",
        "consent",
        &["personal"],
        "2024-09-01",
    ))
    .unwrap();
    let before = f.summary("JP", "2024-08-31", None);
    assert_eq!(before.verdict, Verdict::Conditions);
    assert_eq!(before.conditions[0].requires, Requirement::Consent);
    let after = f.summary("JP", "2024-09-01", None);
    assert_eq!(after.verdict, Verdict::Allowed, "{after:?}");
    assert!(after.conditions.is_empty());
    // Another destination: the revoked rule alone is not "allowed".
    assert_eq!(
        f.summary("US", "2024-09-01", None).verdict,
        Verdict::NoneInForce
    );
    assert_eq!(
        f.summary("US", "2021-06-01", None).verdict,
        Verdict::Conditions
    );
}

#[test]
fn a_recognition_satisfies_a_rule_that_names_it() {
    let mut f = Fixture::new();
    let mut r = rule(
        "cn.test/needs-sc",
        "granted",
        "*",
        "standard_contract",
        &["personal"],
        "2024-01-01",
    );
    r["satisfied_by"] = json!(["cn.test/sc-2024"]);
    f.add(&r).unwrap();
    // Before the contract exists: a condition, named.
    let s = f.summary("JP", "2024-03-01", None);
    assert_eq!(s.verdict, Verdict::Conditions);
    f.add(&recognition(
        "cn.test/sc-2024",
        "granted",
        "*",
        "scc",
        "2024-07-10",
    ))
    .unwrap();
    assert_eq!(
        f.summary("JP", "2024-07-09", None).verdict,
        Verdict::Conditions
    );
    let s = f.summary("JP", "2024-07-10", None);
    assert_eq!(s.verdict, Verdict::Allowed, "{s:?}");
    assert_eq!(s.met[0].met_by[0].as_str(), "cn.test/sc-2024");
    // A rule requiring a recognised basis with no list is met by any recognition.
    f.add(&rule(
        "cn.test/basis",
        "granted",
        "*",
        "recognition",
        &["personal"],
        "2024-08-01",
    ))
    .unwrap();
    let s = f.summary("JP", "2024-08-02", None);
    assert_eq!(s.verdict, Verdict::Allowed, "{s:?}");
    assert_eq!(s.met.len(), 2);
    // A restriction is met only by what it names: a prior approval stays.
    f.add(&rule(
        "cn.test/approve",
        "granted",
        "*",
        "prior_approval",
        &["personal"],
        "2024-09-01",
    ))
    .unwrap();
    assert_eq!(
        f.summary("JP", "2024-09-02", None).verdict,
        Verdict::Restricted
    );
}

#[test]
fn a_route_with_nothing_says_so() {
    let mut f = Fixture::new();
    f.add(&rule(
        "cn.test/r",
        "granted",
        "JP",
        "prohibited",
        &["personal"],
        "2024-01-01",
    ))
    .unwrap();
    let s = f.summary("KR", "2025-01-01", None);
    assert_eq!(s.verdict, Verdict::NoInformation);
    assert!(s.recognised.is_empty() && s.restrictions.is_empty());
    // As JSON: the verdict alone.
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        json!({"verdict": "no_information"})
    );
}

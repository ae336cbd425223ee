//! Counterparty checks (statements v2, issue 16) against the demo registry:
//! organisations listed under the real DPF programme of the demo's
//! `us.doc` (the organisations are made up for the test, and say so),
//! through the real API; every answer verified by the core (both layers,
//! complete or proven absent) and by `dfft counterparty`.

mod common;

use common::*;
use dfft_core::counterparty::CounterpartyAnswer;
use dfft_core::note::SignerKey;
use dfft_core::policy::Policy;
use serde_json::{json, Value};

const ORIGIN: &str = "demo.dfft-registry.invalid/log";
const DPF: &str = "us.doc/us-doc-dpf-eu-2023";

fn listing(org: &str, action: &str, effective: &str, data: &[&str]) -> Value {
    json!({"kind": "listing", "authority": "us.doc", "programme": DPF,
           "record": format!("{DPF}/{org}"), "action": action,
           "organisation": {"programme_id": org, "name": format!("Test organisation {org} (made up for a test)"),
                            "former_names": [format!("Old name of {org}")]},
           "data": data, "effective": effective, "issued_at": format!("{effective}T00:00:00Z")})
}

struct Fixture {
    reg: Registry,
    doc: SignerKey,
    policy: Policy,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::start_cmd(dir.path(), &["demo"]);
        let doc = SignerKey::parse(
            std::fs::read_to_string(dir.path().join("demo-keys/us.doc.DEMO.key"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        let policy = Policy::from_keys(reg.log_key.clone(), vec![], 0).unwrap();
        Fixture {
            reg,
            doc,
            policy,
            _dir: dir,
        }
    }

    fn add(&self, v: Value) -> (u16, Value) {
        self.reg.post(&sign(v, &[&self.doc]))
    }

    fn ask(&self, q: &str) -> (CounterpartyAnswer, String, Vec<String>) {
        let (s, body) = self.reg.get(&format!("/v1/counterparty?{q}"));
        assert_eq!(s, 200, "{q}: {}", String::from_utf8_lossy(&body));
        let a: CounterpartyAnswer = serde_json::from_slice(&body).unwrap();
        let v = a
            .verify(&self.policy, &self.reg.log_key)
            .expect("both layers verify");
        let reasons = v.verdict.bases.iter().map(|b| b.reason.clone()).collect();
        (a, v.verdict.verdict.to_owned(), reasons)
    }

    fn verdict(&self, org: &str, at: &str, data: Option<&str>) -> (String, Vec<String>) {
        let d = data.map(|d| format!("&data={d}")).unwrap_or_default();
        let (_, v, r) = self.ask(&format!("from=DE&to=US&org={org}&at={at}{d}"));
        (v, r)
    }
}

#[test]
fn a_listing_through_its_life_and_organisations_never_listed() {
    let f = Fixture::new();
    // acme: listed, recertified, lapsed, reinstated, withdrawn.
    for (action, at) in [
        ("listed", "2023-08-01"),
        ("recertified", "2024-08-01"),
        ("lapsed", "2025-08-02"),
        ("reinstated", "2025-09-15"),
        ("withdrawn", "2026-03-01"),
    ] {
        let (s, v) = f.add(listing("acme", action, at, &["hr", "non_hr"]));
        assert_eq!(s, 201, "{action}: {v}");
    }
    // globex: listed for non-HR data only, then removed.
    f.add(listing("globex", "listed", "2023-09-01", &["non_hr"]));
    let mut removed = listing("globex", "removed", "2024-05-01", &["non_hr"]);
    removed["reason"] = json!("persistent failure to comply (a test)");
    assert_eq!(f.add(removed).0, 201);

    // Around each change of acme: the day before, of and after.
    let cases = [
        ("2023-07-31", "other_basis", "not listed"),
        ("2023-08-01", "listed", "active"),
        ("2023-08-02", "listed", "active"),
        ("2024-07-31", "listed", "active"),
        ("2024-08-01", "listed", "active"),
        ("2025-08-01", "listed", "active"),
        ("2025-08-02", "other_basis", "lapsed"),
        ("2025-08-03", "other_basis", "lapsed"),
        ("2025-09-14", "other_basis", "lapsed"),
        ("2025-09-15", "listed", "active"),
        ("2026-02-28", "listed", "active"),
        ("2026-03-01", "other_basis", "withdrawn or removed"),
        ("2026-03-02", "other_basis", "withdrawn or removed"),
    ];
    for (at, want, reason) in cases {
        let (v, reasons) = f.verdict("acme", at, None);
        assert_eq!(v, want, "acme on {at}: {reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains(reason)),
            "acme on {at}: {reasons:?}"
        );
    }
    // The lapse in words: no new transfers, obligations remain.
    let (_, reasons) = f.verdict("acme", "2025-08-02", None);
    assert!(
        reasons[0].contains("no new transfers; obligations remain"),
        "{reasons:?}"
    );

    // HR vs non-HR: globex is listed for non-HR data only.
    assert_eq!(
        f.verdict("globex", "2024-01-01", Some("non_hr")).0,
        "listed"
    );
    let (v, reasons) = f.verdict("globex", "2024-01-01", Some("hr"));
    assert_eq!(v, "other_basis");
    assert!(reasons[0].contains("not for hr data"), "{reasons:?}");
    assert_eq!(f.verdict("globex", "2024-04-30", None).0, "listed");
    assert_eq!(f.verdict("globex", "2024-05-01", None).0, "other_basis");

    // Never listed: the map proves the absence.
    let (a, v, reasons) = f.ask("from=DE&to=US&org=initech&at=2024-01-01");
    assert_eq!(v, "other_basis");
    assert!(reasons[0].contains("not listed"));
    assert!(a.listings[0].record.is_none());

    // Before the DPF (2023-07-10) no recognition requires a listing: the
    // answer has no listing part at all.
    let (a, v, _) = f.ask("from=DE&to=US&org=acme&at=2023-07-01");
    assert!(a.listings.is_empty());
    assert_eq!(v, "other_basis", "the SCCs are in force");

    // The UK Extension is another programme: acme is not on it.
    let (a, v, reasons) = f.ask("from=GB&to=US&org=acme&at=2024-01-01");
    assert_eq!(a.listings.len(), 1);
    assert_eq!(
        a.listings[0].programme,
        "us.doc/us-doc-dpf-uk-extension-2023"
    );
    assert_eq!(v, "other_basis", "{reasons:?}");
}

#[test]
fn a_framework_that_ends_while_the_listing_is_active() {
    let f = Fixture::new();
    let gov = f.reg.governance();
    // A test framework from Iceland to the US that needs a listing on a
    // test programme, invalidated while the organisation stays listed.
    let admin = key("is.test-admin", 71);
    let dpa = key("is.test-dpa", 72);
    let mut st = json!({"kind": "authority", "action": "enroll", "authority": "is.test-admin",
        "name": "Test programme administrator", "log": ORIGIN, "competence": [],
        "programmes": [{"id": "is.test-admin/shield", "name": "Test shield", "from": "IS", "to": "US"}],
        "keys": [admin.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
    assert_eq!(f.reg.post(&sign(st.clone(), &[&gov])).0, 201);
    st = json!({"kind": "authority", "action": "enroll", "authority": "is.test-dpa",
        "name": "Test authority", "log": ORIGIN, "competence": ["IS"],
        "keys": [dpa.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
    assert_eq!(f.reg.post(&sign(st, &[&gov])).0, 201);
    let mut rec = recognition_json(
        "is.test-dpa",
        "is.test-dpa/shield",
        "granted",
        "IS",
        "US",
        "2019-01-01",
    );
    rec["requires_listing"] =
        json!({"programme": "is.test-admin/shield", "data": ["hr", "non_hr"]});
    assert_eq!(f.reg.post(&sign(rec.clone(), &[&dpa])).0, 201);
    rec["action"] = json!("invalidated");
    rec["effective"] = json!("2020-07-16");
    assert_eq!(f.reg.post(&sign(rec, &[&dpa])).0, 201);
    let l = json!({"kind": "listing", "authority": "is.test-admin", "programme": "is.test-admin/shield",
        "record": "is.test-admin/shield/acme", "action": "listed",
        "organisation": {"programme_id": "acme", "name": "Test organisation (made up)"},
        "data": ["hr", "non_hr"], "effective": "2019-02-01", "issued_at": "2019-02-01T00:00:00Z"});
    assert_eq!(f.reg.post(&sign(l, &[&admin])).0, 201);

    let (_, v, _) = f.ask("from=IS&to=US&org=acme&at=2020-07-15");
    assert_eq!(v, "listed");
    let (_, v, reasons) = f.ask("from=IS&to=US&org=acme&at=2020-07-16");
    assert_ne!(v, "listed");
    let r = reasons
        .iter()
        .find(|r| r.contains("is.test-dpa/shield") || r.contains("framework"))
        .unwrap();
    assert!(
        r.contains("listing active but the framework is not in force"),
        "{reasons:?}"
    );

    // Refusals: a signer not competent for the programme.
    let (s, v) = f.reg.post(&sign(
        json!({"kind": "listing", "authority": "is.test-dpa", "programme": "is.test-admin/shield",
            "record": "is.test-admin/shield/initech", "action": "listed",
            "organisation": {"programme_id": "initech", "name": "Test organisation (made up)"},
            "data": ["hr"], "effective": "2019-02-01", "issued_at": "2019-02-01T00:00:00Z"}),
        &[&dpa],
    ));
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("does not administer programme"),
        "{v}"
    );
    // The administrator of another programme.
    let (s, v) = f.add(
        json!({"kind": "listing", "authority": "us.doc", "programme": "is.test-admin/shield",
            "record": "is.test-admin/shield/initech", "action": "listed",
            "organisation": {"programme_id": "initech", "name": "Test organisation (made up)"},
            "data": ["hr"], "effective": "2019-02-01", "issued_at": "2019-02-01T00:00:00Z"}),
    );
    assert_eq!(s, 422, "{v}");
    // A programme administrator has no competence over a country's transfers.
    let (s, v) = f.add(recognition_json(
        "us.doc",
        "us.doc/adq-de",
        "granted",
        "US",
        "DE",
        "2024-01-01",
    ));
    assert_eq!(s, 422, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("not competent")
            || v["message"].as_str().unwrap().contains("competence"),
        "{v}"
    );
    // A listing's first event is `listed`; its record is <programme>/<org>.
    let (s, v) = f.add(listing("hooli", "recertified", "2024-01-01", &["hr"]));
    assert_eq!(s, 422, "{v}");
    let mut wrong = listing("hooli", "listed", "2024-01-01", &["hr"]);
    wrong["record"] = json!(format!("{DPF}/someone-else"));
    assert_eq!(f.add(wrong).0, 400);
    let mut wrong = listing("hooli", "granted", "2024-01-01", &["hr"]);
    wrong["action"] = json!("granted");
    assert_eq!(
        f.add(wrong).0,
        400,
        "recognition actions are not listing actions"
    );
}

#[test]
fn dfft_counterparty_verifies_saves_and_reverifies_offline() {
    let f = Fixture::new();
    assert_eq!(
        f.add(listing("acme", "listed", "2023-08-01", &["hr", "non_hr"]))
            .0,
        201
    );
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("acme.json");
    let vkey = f.reg.log_key.to_string();
    let (code, out, err) = dfft(&[
        "counterparty",
        "--from",
        "DE",
        "--to",
        "US",
        "--org",
        "acme",
        "--at",
        "2024-01-01",
        "--data",
        "hr",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
        "--save",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": listed"), "{out}");
    assert!(out.contains("active on us.doc/us-doc-dpf-eu-2023"), "{out}");
    let (code, out, err) = dfft(&[
        "counterparty",
        "--answer",
        saved.to_str().unwrap(),
        "--log-key",
        &vkey,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("complete"), "{out}");
    // A saved answer with the listing's last event dropped is refused.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    v["listings"][0]["record"]["events"]
        .as_array_mut()
        .unwrap()
        .clear();
    std::fs::write(&saved, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, _, err) = dfft(&[
        "counterparty",
        "--answer",
        saved.to_str().unwrap(),
        "--log-key",
        &vkey,
    ]);
    assert_ne!(code, 0, "{err}");
    // Bad input: a clear usage error.
    let (code, _, err) = dfft(&[
        "counterparty",
        "--from",
        "DE",
        "--to",
        "US",
        "--org",
        "acme",
        "--data",
        "payroll",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--data"), "{err}");
}

#[test]
fn organisations_are_found_by_former_names_and_checked_in_bulk() {
    let f = Fixture::new();
    assert_eq!(
        f.add(listing("acme", "listed", "2023-08-01", &["hr", "non_hr"]))
            .0,
        201
    );
    let mut g = listing("globex", "listed", "2023-09-01", &["non_hr"]);
    g["organisation"]["lei"] = json!("5493001KJTIIGC8Y1R12");
    assert_eq!(f.add(g).0, 201);
    // Search: a former name, a piece of a name, an LEI; nothing found.
    let (s, v) = f.reg.get_json("/v1/organisations?q=old%20name%20of%20acme");
    assert_eq!(s, 200);
    assert_eq!(v["matches"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["matches"][0]["programme_id"], "acme");
    let (_, v) = f.reg.get_json("/v1/organisations?q=test%20organisation");
    assert_eq!(v["matches"].as_array().unwrap().len(), 2, "{v}");
    let (_, v) = f.reg.get_json("/v1/organisations?q=5493001KJTIIGC8Y1R12");
    assert_eq!(v["matches"][0]["programme_id"], "globex");
    let (_, v) = f.reg.get_json("/v1/organisations?q=initech");
    assert!(v["matches"].as_array().unwrap().is_empty());
    let (s, _) = f.reg.get_json("/v1/organisations?q=a");
    assert_eq!(s, 400, "one character is not a search");

    // The CLI by a former name; an ambiguous name is refused, naming both.
    let vkey = f.reg.log_key.to_string();
    let (code, out, err) = dfft(&[
        "counterparty",
        "--from",
        "DE",
        "--to",
        "US",
        "--name",
        "Old name of acme",
        "--at",
        "2024-01-01",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("acme"), "{out}");
    let (code, _, err) = dfft(&[
        "counterparty",
        "--from",
        "DE",
        "--to",
        "US",
        "--name",
        "Test organisation",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("matches 2 organisations"), "{err}");

    // In bulk: by id and by name, every row verified, answers saved.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("parties.csv");
    std::fs::write(
        &csv,
        "org,name,to,at,data\nacme,,US,2024-01-01,hr\n,Old name of acme,US,2023-07-31,\nglobex,,US,2024-01-01,hr\ninitech,,US,2024-01-01,\n",
    )
    .unwrap();
    let answers = dir.path().join("answers");
    let (code, out, err) = dfft(&[
        "check",
        "--counterparties",
        csv.to_str().unwrap(),
        "--from",
        "DE",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
        "--answers",
        answers.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "line,from,to,at,org,data,verdict,reasons,route_verdict,checkpoint_size,answer_file"
    );
    let field = |row: &str, i: usize| row.split(',').nth(i).unwrap().to_owned();
    assert_eq!(field(lines[1], 6), "listed");
    assert_eq!(
        (field(lines[2], 4), field(lines[2], 6)),
        ("acme".into(), "other_basis".into())
    );
    assert!(
        field(lines[3], 7).contains("not for hr data"),
        "{}",
        lines[3]
    );
    assert!(field(lines[4], 7).contains("not listed"), "{}", lines[4]);
    for row in &lines[1..] {
        let file = field(row, 10);
        let (code, out, err) = dfft(&["counterparty", "--answer", &file, "--log-key", &vkey]);
        assert_eq!(code, 0, "{file}: {out}{err}");
    }
    // A name nothing matches: refused whole, naming the line, nothing asked.
    std::fs::write(&csv, "name,to\nNobody at all,US\n").unwrap();
    let (code, _, err) = dfft(&[
        "check",
        "--counterparties",
        csv.to_str().unwrap(),
        "--from",
        "DE",
        "--log",
        &f.reg.base,
        "--log-key",
        &vkey,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 2") && err.contains("no organisation"),
        "{err}"
    );
}

#[test]
fn the_counterparty_page_shows_the_verdict_listings_and_panel() {
    let f = Fixture::new();
    assert_eq!(
        f.add(listing("acme", "listed", "2023-08-01", &["hr", "non_hr"]))
            .0,
        201
    );
    let page = |q: &str| {
        let (s, body) = f.reg.get(&format!("/counterparty?{q}"));
        (s, String::from_utf8(body).unwrap())
    };
    let (s, html) = page("from=DE&to=US&org=acme&at=2024-01-01&lang=en");
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("class=\"verdict-listed\""), "{html}");
    assert!(html.contains("data-kind=\"counterparty\""), "{html}");
    assert!(html.contains("data-verdict=\"listed\""), "{html}");
    assert!(
        html.contains("data-record=\"us.doc/us-doc-dpf-eu-2023/acme\""),
        "{html}"
    );
    assert!(
        html.contains("active on us.doc/us-doc-dpf-eu-2023"),
        "{html}"
    );
    let (_, html) = page("from=DE&to=US&org=initech&at=2024-01-01&data=hr&lang=ja");
    assert!(html.contains("掲載なし"), "{html}");
    assert!(html.contains("data-verdict=\"other_basis\""), "{html}");
    // The form alone, and a bad question: the API's error on a page.
    let (s, html) = page("lang=en");
    assert_eq!(s, 200);
    assert!(html.contains("name=\"org\""));
    let (s, _) = page("from=DE&to=US&org=acme&data=payroll");
    assert_eq!(s, 400);
}

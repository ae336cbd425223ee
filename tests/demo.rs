//! The demo: the real EU history loads from an empty data directory, and
//! route answers for EEA states to the US match Safe Harbor, Privacy Shield
//! and the Data Privacy Framework, with every proof verifying.

mod common;

use common::*;
use dfft_core::answer::{RecordHistory, RouteAnswer};
use dfft_core::statement::{Date, Status};
use std::time::Instant;

/// The log's key alone (no witness quorum).
fn no_witnesses(reg: &Registry) -> dfft_core::policy::Policy {
    dfft_core::policy::Policy::from_keys(reg.log_key.clone(), vec![], 0).unwrap()
}

const SAFE_HARBOR: &str = "eu.ec/eu-adq-us-safeharbor-2000";
const PRIVACY_SHIELD: &str = "eu.ec/eu-adq-us-privacyshield-2016";
const DPF: &str = "eu.ec/eu-adq-us-dpf-2023";

fn route(reg: &Registry, from: &str, at: &str) -> Vec<(String, Status)> {
    let (s, body) = reg.get(&format!(
        "/v1/route?from={from}&to=US&at={at}&mechanism=adequacy"
    ));
    assert_eq!(s, 200);
    let ans: RouteAnswer = serde_json::from_slice(&body).expect("route answer");
    let verified = ans
        .verify(&no_witnesses(reg))
        .expect("every proof in the answer verifies");
    assert_eq!(verified.records.len(), ans.records.len());
    let mut v: Vec<(String, Status)> = ans
        .records
        .iter()
        .map(|r| (r.record.clone(), r.status.unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn s(v: &[(&str, Status)]) -> Vec<(String, Status)> {
    let mut v: Vec<(String, Status)> = v.iter().map(|(r, s)| (r.to_string(), *s)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn demo_loads_real_history_and_answers_verifiable_routes() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    eprintln!("demo started and loaded in {:.2?}", t.elapsed());
    let cp = reg.checkpoint();
    // Genesis, 3 + 12 + 10 enrolments (the EU's, the world's with us.doc
    // as a programme administrator, rules.json's) and 59 + 35 + 50 events
    // (world.json's 37 less us.doc's 2, which are its programmes;
    // rules.json's recognitions and rules).
    let _ = cp;
    assert_eq!(statements(&reg), 1 + 3 + 12 + 10 + 59 + 35 + 50);

    use Status::*;
    for from in ["DE", "FR", "GB"] {
        assert_eq!(
            route(&reg, from, "2014-01-01"),
            s(&[(SAFE_HARBOR, InForce)]),
            "{from} 2014"
        );
        assert_eq!(
            route(&reg, from, "2016-01-01"),
            s(&[(SAFE_HARBOR, Ended)]),
            "{from} 2016"
        );
    }
    for from in ["DE", "FR", "NO"] {
        assert_eq!(
            route(&reg, from, "2021-01-01"),
            s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, Ended)]),
            "{from} 2021"
        );
        assert_eq!(
            route(&reg, from, "2024-01-01"),
            s(&[
                (SAFE_HARBOR, Ended),
                (PRIVACY_SHIELD, Ended),
                (DPF, InForce)
            ]),
            "{from} 2024"
        );
    }
    // The United Kingdom counted as a member until 2020-12-31.
    assert_eq!(
        route(&reg, "GB", "2020-12-31"),
        s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, Ended)])
    );
    assert_eq!(route(&reg, "GB", "2021-01-01"), vec![]);
    assert_eq!(route(&reg, "GB", "2024-01-01"), vec![]);
    // Boundaries: Schrems I (2015-10-06), Privacy Shield (2016-07-12, adoption of the decision),
    // Schrems II (2020-07-16), DPF (2023-07-10).
    assert_eq!(
        route(&reg, "DE", "2015-10-05"),
        s(&[(SAFE_HARBOR, InForce)])
    );
    assert_eq!(route(&reg, "DE", "2015-10-06"), s(&[(SAFE_HARBOR, Ended)]));
    assert_eq!(route(&reg, "DE", "2016-07-11"), s(&[(SAFE_HARBOR, Ended)]));
    assert_eq!(
        route(&reg, "DE", "2016-07-12"),
        s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, InForce)])
    );
    assert_eq!(
        route(&reg, "DE", "2020-07-15"),
        s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, InForce)])
    );
    assert_eq!(
        route(&reg, "DE", "2020-07-16"),
        s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, Ended)])
    );
    assert_eq!(
        route(&reg, "DE", "2023-07-09"),
        s(&[(SAFE_HARBOR, Ended), (PRIVACY_SHIELD, Ended)])
    );
    assert_eq!(
        route(&reg, "DE", "2023-07-10"),
        s(&[
            (SAFE_HARBOR, Ended),
            (PRIVACY_SHIELD, Ended),
            (DPF, InForce)
        ])
    );

    // A record's history verifies and names its events.
    let (st, body) = reg.get(&format!("/v1/records/{SAFE_HARBOR}"));
    assert_eq!(st, 200);
    let h: RecordHistory = serde_json::from_slice(&body).unwrap();
    let head = h.verify(&no_witnesses(&reg)).unwrap();
    assert!(head.events.len() >= 2);
    assert_eq!(
        head.status_on(dfft_core::statement::Date::parse("2015-10-06").unwrap()),
        Some(Ended)
    );

    // The 2001 clauses, repealed by Decision 2021/914 from 2021-09-27, are
    // in force until then and not after, in the record and in a route answer.
    let (st, body) = reg.get("/v1/records/eu.ec/eu-scc-2001");
    assert_eq!(st, 200);
    let h: RecordHistory = serde_json::from_slice(&body).unwrap();
    let head = h.verify(&no_witnesses(&reg)).unwrap();
    let on = |d: &str| head.status_on(dfft_core::statement::Date::parse(d).unwrap());
    assert_eq!(on("2021-09-26"), Some(InForce));
    assert_eq!(on("2021-09-27"), Some(Expired));
    assert_eq!(on("2022-01-01"), Some(Expired));
    let (st, body) = reg.get("/v1/route?from=DE&to=US&at=2022-01-01&mechanism=scc");
    assert_eq!(st, 200);
    let ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
    ans.verify(&no_witnesses(&reg)).unwrap();
    let scc2001 = ans
        .records
        .iter()
        .find(|r| r.record == "eu.ec/eu-scc-2001")
        .expect("the 2001 clauses answer for DE -> US");
    assert_ne!(scc2001.status, Some(InForce), "not in force on 2022-01-01");

    // Tampering with a served answer is caught.
    let (_, body) = reg.get("/v1/route?from=DE&to=US&at=2016-01-01&mechanism=adequacy");
    let mut ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
    ans.records[0].status = Some(InForce);
    assert!(
        ans.verify(&no_witnesses(&reg)).is_err(),
        "a claimed status must follow from the entries"
    );
    let mut ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
    ans.records[0].events[0].inclusion_proof.pop();
    assert!(
        ans.verify(&no_witnesses(&reg)).is_err(),
        "a truncated proof must fail"
    );

    // Authorities and the matrix.
    let (st, v) = reg.get_json("/v1/authorities");
    assert_eq!(st, 200);
    assert_eq!(v["authorities"].as_array().unwrap().len(), 3 + 12 + 10);
    let doc = v["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authority"] == "us.doc")
        .expect("us.doc is enrolled");
    assert_eq!(
        doc["competence"],
        serde_json::json!([]),
        "no outbound competence"
    );
    let programmes: Vec<&str> = doc["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        programmes,
        [
            "us.doc/us-doc-dpf-eu-2023",
            "us.doc/us-doc-dpf-uk-extension-2023"
        ]
    );
    let (st, v) = reg.get_json("/v1/matrix?at=2024-01-01");
    assert_eq!(st, 200);
    let pairs = v["pairs"].as_array().unwrap();
    let table = v["records"].as_array().unwrap();
    let de_jp = pairs
        .iter()
        .find(|p| p["from"] == "DE" && p["to"] == "JP")
        .expect("EEA->JP adequacy (2019) is in force in 2024");
    // Pairs name records by their position in the records table.
    let named_of = |p: &serde_json::Value| -> Vec<String> {
        p["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                table[i.as_u64().unwrap() as usize]["record"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(named_of(de_jp), ["eu.ec/eu-adq-jp-2019"]);
    assert!(
        !table.iter().any(|r| r["record"] == "eu.ec/eu-scc-2001"),
        "the 2001 clauses are not in force in 2024"
    );
    // GB's own records (the UK's, world.json) answer from GB in 2024, but
    // no EU record does.
    assert!(
        pairs.iter().any(|p| p["from"] == "GB" && p["to"] == "US"),
        "the UK data bridge to the US (2023)"
    );
    assert!(
        !pairs
            .iter()
            .filter(|p| p["from"] == "GB")
            .any(|p| named_of(p).iter().any(|r| r.starts_with("eu."))),
        "GB is not an EEA member in 2024"
    );
}

/// A country a code stands for in a route question: itself, or a member
/// of the group, or (for `*`) a destination no record names.
fn sample(code: &str, other: &str) -> String {
    match code {
        "EEA" | "EU" => if other == "DE" { "FR" } else { "DE" }.to_owned(),
        "*" => if other == "UY" { "PE" } else { "UY" }.to_owned(),
        c => c.to_owned(),
    }
}

#[test]
fn demo_answers_for_the_worlds_data_follow_it_around_each_event() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let world: serde_json::Value =
        serde_json::from_str(include_str!("../data/world.json")).unwrap();
    let policy = no_witnesses(&reg);
    let mut checked = 0;
    for ev in world["events"].as_array().unwrap() {
        let record = ev["record"].as_str().unwrap();
        if ev["authority"] == "us.doc" {
            // A programme (us.doc's enrolment names it), not a record.
            let (s, _) = reg.get(&format!("/v1/records/{record}"));
            assert_eq!(s, 404, "{record} is a programme, not a record");
            continue;
        }
        assert_eq!(ev["action"], "granted", "the world data holds grants only");
        let from = sample(ev["from"].as_str().unwrap(), "");
        let to = sample(ev["to"].as_str().unwrap(), &from);
        let day = Date::parse(ev["effective"].as_str().unwrap()).unwrap();
        let before = day.prev_day().unwrap();
        for (at, present) in [(before, false), (day, true)] {
            let (s, body) = reg.get(&format!(
                "/v1/route?from={from}&to={to}&at={at}&mechanism={}",
                ev["mechanism"].as_str().unwrap()
            ));
            assert_eq!(s, 200, "{record} {from}->{to} {at}");
            let ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
            ans.verify(&policy).expect("the answer verifies");
            let cp =
                dfft_core::checkpoint::SignedCheckpoint::parse(ans.checkpoint.as_bytes()).unwrap();
            ans.completeness
                .as_ref()
                .unwrap()
                .verify_route(&cp, &reg.log_key, &ans)
                .expect("and is complete");
            let got = ans.records.iter().find(|r| r.record == record);
            match present {
                false => assert!(got.is_none(), "{record} on {at}, the day before its grant"),
                true => assert_eq!(
                    got.and_then(|r| r.status),
                    Some(Status::InForce),
                    "{record} {from}->{to} on {at}, the day of its grant"
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 35);
    // Spot checks: the UK's data bridge to the US (2023-10-12) and Japan's
    // designation of the EEA (2019-01-23), and a CBPR economy.
    let has = |q: &str, id: &str| {
        let (_, v) = reg.get_json(&format!("/v1/route?{q}"));
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["record"] == id && r["status"] == "in_force")
    };
    assert!(has("from=GB&to=US&at=2024-01-01", "gb.dsit/uk-adq-us-2023"));
    assert!(!has(
        "from=GB&to=US&at=2023-10-11",
        "gb.dsit/uk-adq-us-2023"
    ));
    assert!(has(
        "from=JP&to=NO&at=2020-01-01",
        "jp.ppc/jp-ppc-designation-eu-2019"
    ));
    assert!(has(
        "from=SG&to=BR&at=2023-01-01",
        "gcbpr.forum/gcbpr-founding-sg"
    ));
    assert!(has(
        "from=CH&to=US&at=2024-09-15",
        "ch.federal-council/ch-adq-us-dpf-2024"
    ));
}

/// The verified, complete answer for a route, with its summary's verdict.
fn summary(reg: &Registry, q: &str) -> (String, RouteAnswer) {
    let (s, body) = reg.get(&format!("/v1/route?{q}"));
    assert_eq!(s, 200, "{q}");
    let ans: RouteAnswer = serde_json::from_slice(&body).unwrap();
    let v = ans
        .verify(&no_witnesses(reg))
        .expect("the answer verifies, its summary too");
    let cp = dfft_core::checkpoint::SignedCheckpoint::parse(ans.checkpoint.as_bytes()).unwrap();
    ans.completeness
        .as_ref()
        .unwrap()
        .verify_route(&cp, &reg.log_key, &ans)
        .expect("and is complete");
    (v.summary.verdict.as_str().to_owned(), ans)
}

#[test]
fn demo_answers_for_china_turkiye_and_saudi_arabia_follow_the_rule_facts() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let rules: serde_json::Value =
        serde_json::from_str(include_str!("../data/rules.json")).unwrap();
    let verdict = |q: &str| summary(&reg, q).0;

    // Every event of rules.json around its day: absent (or in its earlier
    // state) the day before, and on the day the status its action gives.
    let mut checked = 0;
    for ev in rules["events"].as_array().unwrap() {
        let record = ev["record"].as_str().unwrap();
        let from = sample(ev["from"].as_str().unwrap(), "");
        let to = sample(ev["to"].as_str().unwrap(), &from);
        let day = Date::parse(ev["effective"].as_str().unwrap()).unwrap();
        let want = match ev["action"].as_str().unwrap() {
            "granted" | "amended" => Status::InForce,
            "expired" => Status::Expired,
            a => panic!("rules.json holds no `{a}` event"),
        };
        let (_, ans) = summary(&reg, &format!("from={from}&to={to}&at={day}"));
        let got = ans.records.iter().find(|r| r.record == record);
        assert_eq!(got.and_then(|r| r.status), Some(want), "{record} on {day}");
        if ev["action"] == "granted" {
            let before = day.prev_day().unwrap();
            let (_, ans) = summary(&reg, &format!("from={from}&to={to}&at={before}"));
            assert!(
                !ans.records.iter().any(|r| r.record == record),
                "{record} the day before its grant"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 50);

    // China: the security assessment (2022-09-01) restricts personal and
    // important data; the standard contract (2023-06-01) does not lift it.
    assert_eq!(verdict("from=CN&to=JP&at=2022-08-31"), "no_information");
    assert_eq!(verdict("from=CN&to=JP&at=2022-09-01"), "restricted");
    assert_eq!(verdict("from=CN&to=JP&at=2023-06-01"), "restricted");
    for data in [
        "personal",
        "sensitive_personal",
        "important_data",
        "core_data",
    ] {
        assert_eq!(
            verdict(&format!("from=CN&to=JP&at=2024-06-01&data={data}")),
            "restricted",
            "{data}"
        );
    }
    let (v, ans) = summary(&reg, "from=CN&to=JP&at=2024-06-01&data=health");
    assert_eq!(
        v, "allowed",
        "health data is not named by the assessment rule"
    );
    assert!(ans.records.iter().all(|r| r.rule.is_none()));
    // Its amendments keep it in force: 2024-03-22 (CAC), 2025-01-01 (State Council).
    let (_, ans) = summary(&reg, "from=CN&to=JP&at=2025-01-01");
    let sa = ans
        .records
        .iter()
        .find(|r| r.record == "cn.cac/security-assessment-2022")
        .unwrap();
    assert_eq!(sa.events.len(), 3);
    assert_eq!(sa.events[2].authority, "cn.state-council");
    // The Greater Bay Area contract answers CN -> HK only.
    let (_, hk) = summary(&reg, "from=CN&to=HK&at=2023-12-13");
    assert!(hk
        .records
        .iter()
        .any(|r| r.record == "cn.cac/cn-gba-standard-contract-hk-2023"));
    let (_, jp) = summary(&reg, "from=CN&to=JP&at=2023-12-13");
    assert!(!jp
        .records
        .iter()
        .any(|r| r.record == "cn.cac/cn-gba-standard-contract-hk-2023"));

    // Türkiye: new Art. 9 (2024-06-01) needs a recognised basis; the old
    // bases serve it in the transition, the standard contracts from
    // 2024-07-10, and the old bases end on 2024-09-01.
    assert_eq!(verdict("from=TR&to=US&at=2024-05-31"), "no_information");
    let (v, ans) = summary(&reg, "from=TR&to=US&at=2024-06-01");
    assert_eq!(v, "allowed");
    let met = &ans.summary.as_ref().unwrap().met;
    assert_eq!(
        met[0].met_by[0].as_str(),
        "tr.kvkk/old-art9-bases-transition"
    );
    let (_, ans) = summary(&reg, "from=TR&to=US&at=2024-08-31");
    assert_eq!(ans.summary.as_ref().unwrap().met[0].met_by.len(), 2);
    let (v, ans) = summary(&reg, "from=TR&to=US&at=2024-09-01");
    assert_eq!(v, "allowed");
    let by: Vec<&str> = ans.summary.as_ref().unwrap().met[0]
        .met_by
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(by, ["tr.kvkk/tr-standard-contracts-2024"]);

    // Saudi Arabia: the transfer regulation (2023-09-14) needs a basis the
    // registry does not hold until the SDAIA clauses (2024-09-01).
    assert_eq!(verdict("from=SA&to=US&at=2023-09-13"), "no_information");
    assert_eq!(verdict("from=SA&to=US&at=2023-09-14"), "conditions");
    assert_eq!(verdict("from=SA&to=US&at=2024-08-31"), "conditions");
    assert_eq!(verdict("from=SA&to=US&at=2024-09-01"), "allowed");

    // Viet Nam's filing duty, Korea's grounds met by its EU recognition.
    assert_eq!(verdict("from=VN&to=US&at=2023-07-01"), "conditions");
    // (Korea is a CBPR economy in world.json, so a basis is in force
    // before the PIPC's recognition of the EU too.)
    let met_by = |at: &str| -> Vec<String> {
        let (v, ans) = summary(&reg, &format!("from=KR&to=DE&at={at}"));
        assert_eq!(v, "allowed");
        let s = ans.summary.unwrap();
        let n = s
            .met
            .iter()
            .find(|n| n.record.as_str() == "kr.pipc/pipa-art28-8-2023");
        n.unwrap().met_by.iter().map(|r| r.to_string()).collect()
    };
    assert!(!met_by("2025-09-15").contains(&"kr.pipc/kr-adq-eea-2025".to_owned()));
    assert!(met_by("2025-09-16").contains(&"kr.pipc/kr-adq-eea-2025".to_owned()));
    // A route nothing speaks about.
    assert_eq!(verdict("from=PE&to=CL&at=2025-01-01"), "no_information");

    // The matrix lists rules beside recognitions (CN -> any destination).
    let (st, v) = reg.get_json("/v1/matrix?at=2025-01-01&from=CN");
    assert_eq!(st, 200);
    let table = v["records"].as_array().unwrap();
    let rule = table
        .iter()
        .find(|r| r["record"] == "cn.cac/security-assessment-2022")
        .expect("the CN rule is in the matrix");
    assert_eq!(rule["requires"], "prior_assessment");
    assert!(rule.get("mechanism").is_none());
}

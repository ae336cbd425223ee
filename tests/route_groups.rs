//! Groups on both sides of a route (docs/statements.md): over the demo's
//! real history plus records with groups on both sides (EEA -> JP,
//! JP -> EEA, EU -> EU, `*`, GB before and after its exit from the EU),
//! every route answer of the real server, for every pair of a set of
//! places and groups and many dates, verifies, lists exactly what the
//! core's `Registry::route` lists over the same entries, and passes the
//! client's completeness check.

mod common;

use common::*;
use dfft_client::audit::check_route_complete;
use dfft_client::{Auditor, Client, HttpTransport, Policy, RouteQuery};
use dfft_core::note::SignerKey;
use dfft_core::statement::registry::{Registry as CoreRegistry, RouteFilter};
use dfft_core::statement::{Date, Jurisdiction, Mechanism, Status};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A recognition of any mechanism, optionally with `expires`.
fn event(
    key: &SignerKey,
    record: &str,
    action: &str,
    mechanism: &str,
    from: &str,
    to: &str,
    effective: &str,
) -> Vec<u8> {
    let mut s = recognition_json(key.name(), record, action, from, to, effective);
    s["mechanism"] = json!(mechanism);
    // An EU authority is competent for GB only while it was a member: what
    // it keeps in force there must end by 2020-12-31.
    if from == "GB" && key.name().starts_with("eu.") && action != "suspended" {
        s["expires"] = json!("2020-12-31");
    }
    sign(s, &[key])
}

fn post_ok(reg: &Registry, entry: &[u8]) {
    let (st, r) = reg.post(entry);
    assert_eq!(st, 201, "{r}");
}

/// Enrols the extra authorities and logs records with groups on either
/// side, on both sides, and on neither; each later event is effective on a
/// day its authority is competent.
fn add_group_records(reg: &Registry) {
    let gov = reg.governance();
    let (_, info) = reg.get_json("/v1/info");
    let origin = info["origin"].as_str().expect("origin").to_owned();
    let jp = key("jp.test-ppc", 61);
    let gb = key("gb.test-ico", 62);
    let eu = key("eu.x", 63);
    let ch = key("ch.test-fdpic", 64);
    let no = key("no.dt", 65);
    let ae = key("ae.dubai", 66);
    for (id, k, comp) in [
        ("jp.test-ppc", &jp, &["JP"][..]),
        ("gb.test-ico", &gb, &["GB"]),
        ("eu.x", &eu, &["EU", "EEA"]),
        ("ch.test-fdpic", &ch, &["CH"]),
        ("no.dt", &no, &["NO"]),
        ("ae.dubai", &ae, &["AE-DU"]),
    ] {
        post_ok(reg, &enroll_in(&origin, &gov, id, &[k], comp));
    }
    let entries = [
        // The case: JP -> EEA answers to=EU as well.
        event(
            &jp,
            "jp.test-ppc/eea",
            "granted",
            "designation",
            "JP",
            "EEA",
            "2019-01-23",
        ),
        event(
            &jp,
            "jp.test-ppc/eu",
            "granted",
            "designation",
            "JP",
            "EU",
            "2019-01-23",
        ),
        event(
            &jp,
            "jp.test-ppc/gb",
            "granted",
            "designation",
            "JP",
            "GB",
            "2019-01-23",
        ),
        event(
            &jp,
            "jp.test-ppc/any",
            "granted",
            "cbpr",
            "JP",
            "*",
            "2020-01-01",
        ),
        event(
            &jp,
            "jp.test-ppc/any",
            "suspended",
            "cbpr",
            "JP",
            "*",
            "2023-01-01",
        ),
        event(
            &eu,
            "eu.x/eea-jp",
            "granted",
            "adequacy",
            "EEA",
            "JP",
            "2019-01-23",
        ),
        event(
            &eu,
            "eu.x/eu-eu",
            "granted",
            "other",
            "EU",
            "EU",
            "1995-01-01",
        ),
        event(
            &eu,
            "eu.x/eea-eea",
            "granted",
            "other",
            "EEA",
            "EEA",
            "1994-01-01",
        ),
        event(
            &eu,
            "eu.x/eu-eea",
            "granted",
            "other",
            "EU",
            "EEA",
            "2000-01-01",
        ),
        event(
            &eu,
            "eu.x/eea-eu",
            "granted",
            "other",
            "EEA",
            "EU",
            "2000-01-01",
        ),
        event(
            &eu,
            "eu.x/eu-gb",
            "granted",
            "adequacy",
            "EU",
            "GB",
            "2021-06-28",
        ),
        // GB while it was a member, then not.
        event(
            &eu,
            "eu.x/gb-jp",
            "granted",
            "adequacy",
            "GB",
            "JP",
            "2019-01-01",
        ),
        event(
            &eu,
            "eu.x/gb-jp",
            "amended",
            "adequacy",
            "GB",
            "JP",
            "2020-12-31",
        ),
        event(
            &eu,
            "eu.x/eea-any",
            "granted",
            "scc",
            "EEA",
            "*",
            "2010-02-05",
        ),
        event(
            &eu,
            "eu.x/eea-any",
            "expired",
            "scc",
            "EEA",
            "*",
            "2021-09-27",
        ),
        event(
            &eu,
            "eu.x/eu-us",
            "granted",
            "adequacy",
            "EU",
            "US",
            "2000-07-26",
        ),
        event(
            &eu,
            "eu.x/eu-us",
            "revoked",
            "adequacy",
            "EU",
            "US",
            "2015-10-06",
        ),
        event(
            &eu,
            "eu.x/de-no",
            "granted",
            "bcr",
            "DE",
            "NO",
            "2004-05-01",
        ),
        event(
            &eu,
            "eu.x/eea-epo",
            "granted",
            "other",
            "EEA",
            "IO:EPO",
            "2004-05-01",
        ),
        event(
            &gb,
            "gb.test-ico/eea",
            "granted",
            "data_bridge",
            "GB",
            "EEA",
            "2021-01-01",
        ),
        event(
            &gb,
            "gb.test-ico/eu",
            "granted",
            "data_bridge",
            "GB",
            "EU",
            "2021-01-01",
        ),
        event(
            &gb,
            "gb.test-ico/any",
            "granted",
            "scc",
            "GB",
            "*",
            "2022-03-21",
        ),
        event(
            &ch,
            "ch.test-fdpic/eea",
            "granted",
            "adequacy",
            "CH",
            "EEA",
            "2000-01-01",
        ),
        event(
            &ch,
            "ch.test-fdpic/no",
            "granted",
            "adequacy",
            "CH",
            "NO",
            "2000-01-01",
        ),
        event(
            &no,
            "no.dt/eu",
            "granted",
            "adequacy",
            "NO",
            "EU",
            "1995-01-01",
        ),
        event(
            &ae,
            "ae.dubai/eea",
            "granted",
            "adequacy",
            "AE-DU",
            "EEA",
            "2020-07-01",
        ),
    ];
    for e in &entries {
        post_ok(reg, e);
    }
}

/// The places and groups asked about: every code of data/recognitions.json,
/// places of the UK, Swiss, Japanese and APEC decisions, EU and EEA
/// members and non-members (IS, LI, NO; GB; HR, which joined in 2013), and
/// codes no group covers.
const CODES: &[&str] = &[
    "EU", "EEA", "DE", "FR", "HR", "AT", "HU", "IS", "LI", "NO", "GB", "CH", "US", "JP", "CA",
    "KR", "AR", "NZ", "UY", "IL", "AD", "FO", "GG", "IM", "JE", "BR", "AU", "SG", "TW", "PH", "CN",
    "AE", "AE-DU", "IO:EPO",
];

/// Before the EEA (1993), its first years, Austria's accession (1995),
/// 2001, the 2004 and 2013 enlargements, the last day of GB in the EU and
/// the first after, the end of the 2001/2010 clauses, and today.
const DATES: &[&str] = &[
    "1993-06-01",
    "1995-01-01",
    "2001-01-01",
    "2004-05-01",
    "2013-07-01",
    "2019-06-01",
    "2020-12-31",
    "2021-01-01",
    "2022-01-01",
    "2024-01-01",
];

type Listed = Vec<(String, Status, Vec<u64>)>;

fn core_route(reg: &CoreRegistry, q: &RouteQuery) -> Listed {
    reg.route(
        &q.from,
        &q.to,
        q.at,
        RouteFilter {
            mechanism: q.mechanism,
            data: q.data,
        },
    )
    .into_iter()
    .map(|m| {
        (
            m.record.record.to_string(),
            m.status,
            m.record.events.iter().map(|e| e.index).collect(),
        )
    })
    .collect()
}

#[test]
fn every_route_answer_equals_the_core_and_passes_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    add_group_records(&reg);

    let policy = Policy::new(reg.log_key.clone()).unwrap();
    let transport = HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap();
    let client = Client::new(transport, policy);
    let cp = client.checkpoint().unwrap();
    // Genesis, 3 + 12 + 10 demo enrolments (EU, world, rules) and 6
    // here, 59 + 35 + 50 demo events and 26 here.
    assert_eq!(statements(&reg), 1 + 3 + 12 + 10 + 6 + 59 + 35 + 50 + 26);
    let mut auditor = Auditor::new();
    auditor.advance(&client, &cp, None, &mut |_| {}).unwrap();
    let core = auditor.registry();
    assert_eq!(core.size(), cp.checkpoint.size);

    // The case, by hand: JP -> EEA answers to=EU, EEA, DE, NO.
    let at = Date::parse("2024-01-01").unwrap();
    let q = |from: &str, to: &str, mechanism: Option<Mechanism>| RouteQuery {
        from: Jurisdiction::new(from).unwrap(),
        to: Jurisdiction::new(to).unwrap(),
        at,
        mechanism,
        data: None,
    };
    for to in ["EU", "EEA", "DE", "NO"] {
        let (ans, _) = client.route(&q("JP", to, None)).unwrap();
        assert!(
            ans.records.iter().any(|r| r.record == "jp.test-ppc/eea"),
            "JP -> EEA answers to={to}"
        );
    }
    let (ans, _) = client.route(&q("JP", "EEA", None)).unwrap();
    assert!(
        !ans.records.iter().any(|r| r.record == "jp.test-ppc/eu"),
        "JP -> EU does not answer to=EEA"
    );

    let mut questions = Vec::new();
    for at in DATES {
        let at = Date::parse(at).unwrap();
        for from in CODES {
            for to in CODES {
                questions.push(RouteQuery {
                    from: Jurisdiction::new(from).unwrap(),
                    to: Jurisdiction::new(to).unwrap(),
                    at,
                    mechanism: None,
                    data: None,
                });
            }
        }
        // The mechanism filter, for a few pairs.
        for (from, to) in [("DE", "US"), ("EU", "JP"), ("JP", "EU"), ("GB", "JP")] {
            for m in ["adequacy", "scc", "designation"] {
                questions.push(RouteQuery {
                    from: Jurisdiction::new(from).unwrap(),
                    to: Jurisdiction::new(to).unwrap(),
                    at,
                    mechanism: Some(Mechanism::new(m).unwrap()),
                    data: None,
                });
            }
        }
    }
    let t = Instant::now();
    let nonempty = std::sync::atomic::AtomicUsize::new(0);
    let threads = 3;
    let size = cp.checkpoint.size;
    std::thread::scope(|s| {
        for part in questions.chunks(questions.len().div_ceil(threads)) {
            let (client, nonempty) = (&client, &nonempty);
            s.spawn(move || {
                for q in part {
                    // Verifies the checkpoint, every entry, proof and status,
                    // and that it answers the question asked.
                    let (ans, verified) = client.route(q).unwrap();
                    assert_eq!(verified.checkpoint.checkpoint.size, size);
                    let got: Listed = ans
                        .records
                        .iter()
                        .map(|r| {
                            (
                                r.record.clone(),
                                r.status.expect("a route answer gives a status"),
                                r.events.iter().map(|e| e.index).collect(),
                            )
                        })
                        .collect();
                    let want = core_route(core, q);
                    assert_eq!(
                        got, want,
                        "{} -> {} on {} ({:?})",
                        q.from, q.to, q.at, q.mechanism
                    );
                    check_route_complete(core, &ans)
                        .unwrap_or_else(|e| panic!("{} -> {} on {}: {e}", q.from, q.to, q.at));
                    if !want.is_empty() {
                        nonempty.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let nonempty = nonempty.into_inner();
    eprintln!(
        "{} route questions ({nonempty} with records) in {:.2?}",
        questions.len(),
        t.elapsed()
    );
    // The comparison is not vacuous: most questions that involve the EEA
    // have records.
    assert!(nonempty > questions.len() / 4, "{nonempty}");

    // Groups on both sides, spot checks of the rule written in
    // docs/statements.md (the sweep above checks the server against the
    // core; these check the core against the text).
    let ids = |from: &str, to: &str, at: &str| -> Vec<String> {
        core.route(
            &Jurisdiction::new(from).unwrap(),
            &Jurisdiction::new(to).unwrap(),
            Date::parse(at).unwrap(),
            RouteFilter::NONE,
        )
        .into_iter()
        .map(|m| m.record.record.to_string())
        // This test's own records, not the demo's (EU and world data).
        .filter(|r| {
            [
                "eu.x/",
                "jp.test-ppc/",
                "gb.test-ico/",
                "ch.test-fdpic/",
                "no.dt/",
                "ae.dubai/",
            ]
            .iter()
            .any(|p| r.starts_with(p))
        })
        .collect()
    };
    // (`eu.x/eea-any` expired in 2021 but is listed, with that status.)
    let day = "2024-01-01";
    assert_eq!(
        ids("EU", "EU", day),
        [
            "eu.x/eea-any",
            "eu.x/eea-eea",
            "eu.x/eea-eu",
            "eu.x/eu-eea",
            "eu.x/eu-eu"
        ]
    );
    assert_eq!(ids("EEA", "EEA", day), ["eu.x/eea-any", "eu.x/eea-eea"]);
    assert_eq!(
        ids("NO", "DE", day),
        ["eu.x/eea-any", "eu.x/eea-eea", "eu.x/eea-eu", "no.dt/eu"]
    );
    assert_eq!(
        ids("DE", "NO", day),
        ["eu.x/de-no", "eu.x/eea-any", "eu.x/eea-eea", "eu.x/eu-eea"]
    );
    assert_eq!(ids("EU", "JP", day), ["eu.x/eea-any", "eu.x/eea-jp"]);
    assert_eq!(
        ids("JP", "EU", day),
        ["jp.test-ppc/any", "jp.test-ppc/eea", "jp.test-ppc/eu"]
    );
    assert_eq!(ids("JP", "NO", day), ["jp.test-ppc/any", "jp.test-ppc/eea"]);
    // GB: a member on 2020-12-31, not on 2021-01-01, on either side.
    assert_eq!(
        ids("GB", "JP", "2020-12-31"),
        ["eu.x/eea-any", "eu.x/eea-jp", "eu.x/gb-jp"]
    );
    assert_eq!(ids("GB", "JP", "2021-01-01"), ["eu.x/gb-jp"]);
    assert_eq!(
        ids("JP", "GB", "2020-12-31"),
        [
            "jp.test-ppc/any",
            "jp.test-ppc/eea",
            "jp.test-ppc/eu",
            "jp.test-ppc/gb"
        ]
    );
    assert_eq!(
        ids("JP", "GB", "2021-01-01"),
        ["jp.test-ppc/any", "jp.test-ppc/gb"]
    );
    assert_eq!(
        ids("GB", "DE", "2024-01-01"),
        ["gb.test-ico/any", "gb.test-ico/eea", "gb.test-ico/eu"]
    );
    // No group covers a subdivision or an organisation.
    assert_eq!(ids("AE-DU", "FR", day), ["ae.dubai/eea"]);
    assert_eq!(ids("AE", "FR", day), Vec::<String>::new());
    assert_eq!(ids("DE", "IO:EPO", day), ["eu.x/eea-any", "eu.x/eea-epo"]);
    // Before Norway was in the EEA (1994), EEA records do not answer it.
    assert_eq!(ids("NO", "DE", "1993-06-01"), Vec::<String>::new());

    // The case through the `dfft route --audit` command: the
    // replayed log finds the server's answer complete.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args([
            "route",
            "--from",
            "JP",
            "--to",
            "EU",
            "--at",
            "2024-01-01",
            "--audit",
            "--json",
        ])
        .args(["--log", &reg.base, "--log-key", &reg.log_key.to_string()])
        .env_remove("DFFT_LOG")
        .env_remove("DFFT_LOG_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let listed: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["record"].as_str())
        .collect();
    // The demo's own JP records (world.json: Japan's designation of the
    // EEA, Global CBPR) beside this test's.
    assert_eq!(
        listed,
        [
            "gcbpr.forum/gcbpr-founding-jp",
            "jp.ppc/jp-ppc-designation-eu-2019",
            "jp.test-ppc/any",
            "jp.test-ppc/eea",
            "jp.test-ppc/eu"
        ],
        "{v}"
    );
}

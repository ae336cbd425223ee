//! Bounded answers (issue 11): the matrix is compact, answers what the
//! core's route rule gives for each pair, filters by `from=`, is cached per
//! checkpoint, and refuses a registry too large for one answer with 413
//! `too_large` saying to use `from=`; route and record answers citing more
//! than 10,000 events are refused with 413, the route one naming
//! `mechanism=`.

mod common;

use common::*;
use dfft_client::{Auditor, Client, HttpTransport, Policy};
use dfft_core::answer::RecordHistory;
use dfft_core::note::SignerKey;
use dfft_core::statement::registry::{Registry as CoreRegistry, RouteFilter};
use dfft_core::statement::{Date, Destination, Jurisdiction, Status};
use dfft_server::matrix::MAX_CELLS;
use dfft_server::query::MAX_ANSWER_EVENTS as MAX_EVENTS;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The server's caps are the ones the README gives.
#[test]
fn the_caps_are_the_documented_ones() {
    assert_eq!(MAX_CELLS, 100_000);
    assert_eq!(MAX_EVENTS, 10_000);
    let readme = include_str!("../README.md");
    assert!(readme.contains("More than 100,000 (pair, record) cells"));
    assert!(readme.contains("cites at most 10,000 events"));
}

fn post_batch(reg: &Registry, envelopes: &[Vec<u8>]) {
    for chunk in envelopes.chunks(1000) {
        let mut body = b"[".to_vec();
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e);
        }
        body.push(b']');
        let r = agent()
            .post(&format!("{}/v1/entries/batch", reg.base))
            .set("Content-Type", "application/json")
            .send_bytes(&body)
            .expect("batch accepted");
        let v: Value = r.into_json().unwrap();
        for x in v["results"].as_array().unwrap() {
            assert_eq!(x["status"], 201, "{x}");
        }
    }
}

/// A recognition of `mechanism`, made distinct by `n` (its `issued_at`).
fn event(
    key: &SignerKey,
    record: &str,
    action: &str,
    mechanism: &str,
    (from, to): (&str, &str),
    effective: &str,
    n: u32,
) -> Vec<u8> {
    let mut s = recognition_json(key.name(), record, action, from, to, effective);
    s["mechanism"] = json!(mechanism);
    // An EU authority is competent for GB only while it was a member: what
    // it keeps in force there must end by 2020-12-31.
    if from == "GB" && key.name().starts_with("eu.") && action != "suspended" {
        s["expires"] = json!("2020-12-31");
    }
    s["issued_at"] = json!(format!(
        "2026-01-{:02}T{:02}:{:02}:{:02}Z",
        1 + n / 86_400,
        n / 3600 % 24,
        n / 60 % 60,
        n % 60
    ));
    sign(s, &[key])
}

fn replay(reg: &Registry) -> CoreRegistry {
    let policy = Policy::new(reg.log_key.clone()).unwrap();
    let client = Client::new(
        HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap(),
        policy,
    );
    let cp = client.checkpoint().unwrap();
    let mut auditor = Auditor::new();
    auditor.advance(&client, &cp, None, &mut |_| {}).unwrap();
    auditor.registry().clone()
}

/// The matrix as (from, to) -> record ids, resolving positions in the
/// records table; also checks each table row against the core.
fn pairs_of(v: &Value, core: &CoreRegistry) -> BTreeMap<(String, String), BTreeSet<String>> {
    let table = v["records"].as_array().expect("records table");
    for row in table {
        let id = row["record"].as_str().unwrap();
        let head = core.record(id).expect("a logged record");
        assert_eq!(row["mechanism"], head.mechanism.unwrap().as_str());
        assert_eq!(row["from"], head.from.as_str());
        assert_eq!(row["to"], head.to.as_str());
        assert_eq!(
            row["since_index"].as_u64(),
            head.events.last().map(|e| e.index)
        );
    }
    let mut out = BTreeMap::new();
    for p in v["pairs"].as_array().expect("pairs") {
        let ids: BTreeSet<String> = p["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let i = i.as_u64().expect("a position") as usize;
                table[i]["record"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(!ids.is_empty());
        let key = (
            p["from"].as_str().unwrap().to_owned(),
            p["to"].as_str().unwrap().to_owned(),
        );
        assert!(out.insert(key, ids).is_none(), "each pair once");
    }
    out
}

/// What the matrix must say, from the core's route rule: for countries
/// f != t, the records in force on the route f -> t whose `to` is not `*`;
/// for t = `*`, those in force whose `to` is `*`.
fn expected(
    core: &CoreRegistry,
    codes: &[&str],
    at: Date,
    from_filter: Option<&Jurisdiction>,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for f in codes {
        let fj = Jurisdiction::new(f).unwrap();
        if from_filter.is_some_and(|x| !x.covers(&fj, at)) {
            continue;
        }
        for t in codes.iter().chain(&["*"]) {
            if f == t {
                continue;
            }
            let ids: BTreeSet<String> = match Jurisdiction::new(t) {
                Ok(tj) => core
                    .route(&fj, &tj, at, RouteFilter::NONE)
                    .into_iter()
                    .filter(|m| m.status == Status::InForce && m.record.to != Destination::Any)
                    .map(|m| m.record.record.to_string())
                    .collect(),
                // `*`: records to any destination, asked with some code
                // no record names.
                Err(_) => core
                    .route(
                        &fj,
                        &Jurisdiction::new("AQ").unwrap(),
                        at,
                        RouteFilter::NONE,
                    )
                    .into_iter()
                    .filter(|m| m.status == Status::InForce && m.record.to == Destination::Any)
                    .map(|m| m.record.record.to_string())
                    .collect(),
            };
            if !ids.is_empty() {
                out.insert((f.to_string(), t.to_string()), ids);
            }
        }
    }
    out
}

/// Every country that can appear in the matrix of these tests.
fn codes(at: Date) -> Vec<&'static str> {
    let mut v = dfft_core::statement::Group::Eea.members_on(at);
    v.extend(["GB", "JP", "US", "CH", "KR"]);
    v.sort_unstable();
    v.dedup();
    v
}

fn peak_rss_kib(reg: &Registry) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", reg.child.id())).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn matrix_is_compact_filtered_cached_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 71);
    let jp = key("jp.ppc", 72);
    let (st, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(st, 201, "{r}");
    let (st, r) = reg.post(&enroll(&gov, "jp.ppc", &[&jp], &["JP"]));
    assert_eq!(st, 201, "{r}");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let normal = vec![
        event(
            &ec,
            "eu.ec/jp",
            "granted",
            "adequacy",
            ("EEA", "JP"),
            "2019-01-23",
            next(),
        ),
        event(
            &ec,
            "eu.ec/us",
            "granted",
            "adequacy",
            ("EU", "US"),
            "2000-07-26",
            next(),
        ),
        event(
            &ec,
            "eu.ec/us",
            "revoked",
            "adequacy",
            ("EU", "US"),
            "2015-10-06",
            next(),
        ),
        event(
            &ec,
            "eu.ec/scc",
            "granted",
            "scc",
            ("EEA", "*"),
            "2021-06-27",
            next(),
        ),
        event(
            &ec,
            "eu.ec/gb-jp",
            "granted",
            "adequacy",
            ("GB", "JP"),
            "2019-01-01",
            next(),
        ),
        event(
            &ec,
            "eu.ec/ch",
            "granted",
            "adequacy",
            ("EEA", "CH"),
            "2000-07-26",
            next(),
        ),
        event(
            &jp,
            "jp.ppc/eea",
            "granted",
            "designation",
            ("JP", "EEA"),
            "2019-01-23",
            next(),
        ),
        event(
            &jp,
            "jp.ppc/eu",
            "granted",
            "designation",
            ("JP", "EU"),
            "2019-01-23",
            next(),
        ),
    ];
    post_batch(&reg, &normal);

    // A normal registry: every pair the core's rule gives, and no other.
    let core = replay(&reg);
    for at in ["2014-01-01", "2020-06-01", "2024-01-01"] {
        let day = Date::parse(at).unwrap();
        let (st, v) = reg.get_json(&format!("/v1/matrix?at={at}"));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["at"], at);
        assert_eq!(v["tree_size"].as_u64(), Some(core.size()));
        let got = pairs_of(&v, &core);
        assert_eq!(got, expected(&core, &codes(day), day, None), "{at}");
        // from= keeps the rows its code covers, and nothing else changes.
        for f in ["DE", "NO", "EU", "EEA", "JP", "GB"] {
            let x = Jurisdiction::new(f).unwrap();
            let (st, w) = reg.get_json(&format!("/v1/matrix?at={at}&from={f}"));
            assert_eq!(st, 200, "{w}");
            assert_eq!(w["from"], f);
            let want: BTreeMap<_, _> = got
                .iter()
                .filter(|((pf, _), _)| x.covers(&Jurisdiction::new(pf).unwrap(), day))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(pairs_of(&w, &core), want, "{at} from={f}");
        }
    }
    let (_, v) = reg.get_json("/v1/matrix?at=2024-01-01");
    // The answer is the core's wire type, field for field.
    let typed: dfft_core::wire::Matrix = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), v);
    let got = pairs_of(&v, &core);
    let ids = |f: &str, t: &str| got.get(&(f.into(), t.into())).cloned().unwrap_or_default();
    assert_eq!(ids("DE", "JP"), BTreeSet::from(["eu.ec/jp".to_string()]));
    assert_eq!(ids("JP", "NO"), BTreeSet::from(["jp.ppc/eea".to_string()]));
    assert_eq!(
        ids("JP", "DE"),
        BTreeSet::from(["jp.ppc/eea".to_string(), "jp.ppc/eu".to_string()])
    );
    assert_eq!(ids("NO", "*"), BTreeSet::from(["eu.ec/scc".to_string()]));
    assert!(ids("DE", "US").is_empty(), "revoked in 2015");
    // GB left the EU: no GB row in 2024, not even for the record from GB
    // itself, which an EU authority could keep in force only until
    // 2020-12-31 (competence over time, issue 11).
    let gb_rows: Vec<_> = got.keys().filter(|(f, _)| f == "GB").collect();
    assert!(gb_rows.is_empty(), "{gb_rows:?}");
    // The table names each record once.
    let table: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(table.len(), table.iter().collect::<BTreeSet<_>>().len());

    // Cached per checkpoint: the same bytes again, and a new entry shows.
    let (_, a) = reg.get("/v1/matrix?at=2024-01-01");
    let (_, b) = reg.get("/v1/matrix?at=2024-01-01");
    assert_eq!(a, b);
    post_batch(
        &reg,
        &[event(
            &ec,
            "eu.ec/kr",
            "granted",
            "adequacy",
            ("EEA", "KR"),
            "2021-12-17",
            next(),
        )],
    );
    let core = replay(&reg);
    let (_, v) = reg.get_json("/v1/matrix?at=2024-01-01");
    assert_eq!(v["tree_size"].as_u64(), Some(core.size()));
    assert!(pairs_of(&v, &core)
        .get(&("DE".into(), "KR".into()))
        .is_some_and(|s| s.contains("eu.ec/kr")));
    // A bad from= is a 400 in the documented JSON.
    let (st, v) = reg.get_json("/v1/matrix?at=2024-01-01&from=XX");
    assert_eq!(st, 400);
    assert_eq!(v["error"], "malformed");

    // The registry: 1,500 EEA -> EEA records, 870 cells each on
    // 2024-01-01 (30 members, less the same-country pairs).
    let big: Vec<Vec<u8>> = (0..1500)
        .map(|i| {
            event(
                &ec,
                &format!("eu.ec/intra/{i:04}"),
                "granted",
                "other",
                ("EEA", "EEA"),
                "2020-01-01",
                next(),
            )
        })
        .collect();
    post_batch(&reg, &big);
    let rss_before = peak_rss_kib(&reg);
    let t = Instant::now();
    let (st, v) = reg.get_json("/v1/matrix?at=2024-01-01");
    let refused_in = t.elapsed();
    assert_eq!(st, 413, "{v}");
    assert_eq!(v["error"], "too_large");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("from=") && msg.contains(&MAX_CELLS.to_string()),
        "{msg}"
    );
    // A group that is all of it is still too large; the message says so.
    let (st, v) = reg.get_json("/v1/matrix?at=2024-01-01&from=EEA");
    assert_eq!(st, 413, "{v}");
    assert!(v["message"].as_str().unwrap().contains("from="), "{v}");
    // One origin: within the cap, and the same data as the full rule gives.
    let t = Instant::now();
    let (st, body) = reg.get("/v1/matrix?at=2024-01-01&from=DE");
    let answered_in = t.elapsed();
    assert_eq!(st, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let core = replay(&reg);
    let day = Date::parse("2024-01-01").unwrap();
    let de = Jurisdiction::new("DE").unwrap();
    let got = pairs_of(&v, &core);
    assert_eq!(got, expected(&core, &codes(day), day, Some(&de)));
    let cells: usize = got.values().map(BTreeSet::len).sum();
    assert!(cells > 1500 * 29 && cells <= MAX_CELLS, "{cells}");
    // Again: from the cache.
    let t = Instant::now();
    let (_, again) = reg.get("/v1/matrix?at=2024-01-01&from=DE");
    let cached_in = t.elapsed();
    assert_eq!(again, body);
    let rss_after = peak_rss_kib(&reg);
    eprintln!(
        "1,500 EEA->EEA records: full matrix refused in {refused_in:.2?}; from=DE: {cells} cells, \
         {} bytes in {answered_in:.2?}, {cached_in:.2?} cached; server peak RSS {} -> {} MiB",
        body.len(),
        rss_before / 1024,
        rss_after / 1024
    );
    // Each cell is a position, not a copy of the record.
    assert!(body.len() < 40 * cells, "{} bytes", body.len());
    assert!(
        rss_after < rss_before + 200 * 1024,
        "peak RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}

#[test]
fn route_and_record_answers_cite_at_most_10000_events() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let gov = reg.governance();
    let ec = key("eu.ec", 81);
    let (st, r) = reg.post(&enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]));
    assert_eq!(st, 201, "{r}");
    let route = ("EEA", "JP");
    let busy = "eu.ec/busy";
    // A record with exactly the cap of events, and a small one on the same
    // route with another mechanism.
    let mut entries = vec![
        event(&ec, busy, "granted", "adequacy", route, "2019-01-23", 0),
        event(&ec, "eu.ec/scc", "granted", "scc", route, "2021-06-27", 0),
    ];
    for n in 1..MAX_EVENTS as u32 {
        entries.push(event(
            &ec,
            busy,
            "amended",
            "adequacy",
            route,
            "2019-01-24",
            n,
        ));
    }
    post_batch(&reg, &entries);

    let (st, body) = reg.get(&format!("/v1/records/{busy}"));
    assert_eq!(st, 200);
    let h: RecordHistory = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        h.verify(&dfft_core::policy::Policy::from_keys(reg.log_key.clone(), vec![], 0).unwrap())
            .unwrap()
            .events
            .len(),
        MAX_EVENTS
    );
    let (st, v) = reg.get_json("/v1/route?from=DE&to=JP&at=2024-01-01&mechanism=adequacy");
    assert_eq!(st, 200, "{v}");
    // The cap plus the other record's event: too many for one answer.
    let (st, v) = reg.get_json("/v1/route?from=DE&to=JP&at=2024-01-01");
    assert_eq!(st, 413, "{v}");
    assert_eq!(v["error"], "too_large");
    assert!(v["message"].as_str().unwrap().contains("mechanism="), "{v}");

    // One event more: the record and its route are refused, the other
    // mechanism still answers.
    post_batch(
        &reg,
        &[event(
            &ec,
            busy,
            "amended",
            "adequacy",
            route,
            "2019-01-25",
            1 << 20,
        )],
    );
    let (st, v) = reg.get_json(&format!("/v1/records/{busy}"));
    assert_eq!(st, 413, "{v}");
    assert_eq!(v["error"], "too_large");
    assert!(
        v["message"].as_str().unwrap().contains("/v1/entries/"),
        "{v}"
    );
    let (st, v) = reg.get_json("/v1/route?from=DE&to=JP&at=2024-01-01&mechanism=adequacy");
    assert_eq!(st, 413, "{v}");
    let (st, v) = reg.get_json("/v1/route?from=DE&to=JP&at=2024-01-01&mechanism=scc");
    assert_eq!(st, 200, "{v}");
    let listed: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["eu.ec/scc"]);
}

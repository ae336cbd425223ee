//! `dfft monitor --via-map` against the demo (the real EU history), through
//! an HTTP proxy that refuses and counts every entry request: the monitor
//! reports a watched route's and record's first description, nothing on a
//! quiet poll, the same descriptions as the full audit (one state shared
//! by both modes, no spurious change), and the change a new suspension
//! makes, without one entry fetched. A proxy that drops a record from a
//! route answer, or denies a record it served before, raises the alert
//! `incomplete` (hook included). And the two description sources agree on
//! every record and matrix route of the demo.

mod common;

use common::*;
use dfft_client::{Auditor, Client, HttpTransport, Policy, Watch};
use dfft_core::note::SignerKey;
use dfft_core::statement::Date;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DPF: &str = "eu.ec/eu-adq-us-dpf-2023";
const ABSENT: &str = "eu.ec/never-logged";

/// What the proxy does to answers.
#[derive(Clone, Debug, PartialEq)]
enum Lie {
    None,
    /// Drops this record from every route answer.
    DropFromRoute(&'static str),
    /// Answers 404, without a proof of absence, to every record history.
    DenyRecords,
}

/// A plain HTTP proxy in front of the registry: refuses (403) and counts
/// every request for entries (`/v1/entries...`, `/tile/entries/...`),
/// counts route and record questions, and tells the lie it is set to.
struct Proxy {
    base: String,
    entry_requests: Arc<AtomicUsize>,
    questions: Arc<AtomicUsize>,
    lie: Arc<Mutex<Lie>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let p = Proxy {
            base,
            entry_requests: Arc::default(),
            questions: Arc::default(),
            lie: Arc::new(Mutex::new(Lie::None)),
        };
        let (upstream, entries, questions, lie) = (
            upstream.to_string(),
            p.entry_requests.clone(),
            p.questions.clone(),
            p.lie.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                let (upstream, entries, questions, lie) = (
                    upstream.clone(),
                    entries.clone(),
                    questions.clone(),
                    lie.clone(),
                );
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, &entries, &questions, &lie);
                });
            }
        });
        p
    }

    fn set(&self, lie: Lie) {
        *self.lie.lock().unwrap() = lie;
    }

    fn entry_requests(&self) -> usize {
        self.entry_requests.load(Ordering::SeqCst)
    }

    fn questions(&self) -> usize {
        self.questions.load(Ordering::SeqCst)
    }
}

/// Serves one connection (one request: the answer closes it).
fn serve(
    conn: TcpStream,
    upstream: &str,
    entries: &AtomicUsize,
    questions: &AtomicUsize,
    lie: &Mutex<Lie>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let (status, body) = if path.starts_with("/v1/entries") || path.starts_with("/tile/entries") {
        entries.fetch_add(1, Ordering::SeqCst);
        (
            403,
            br#"{"error":"forbidden","message":"the test proxy serves no entries"}"#.to_vec(),
        )
    } else {
        let (status, body) = get(upstream, &path);
        let lie = lie.lock().unwrap().clone();
        if path.starts_with("/v1/route") || path.starts_with("/v1/records/") {
            questions.fetch_add(1, Ordering::SeqCst);
        }
        match lie {
            Lie::DropFromRoute(id) if path.starts_with("/v1/route") && status == 200 => {
                let mut v: Value = serde_json::from_slice(&body).unwrap();
                v["records"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|r| r["record"] != id);
                // The summary would give it away; this liar drops it too,
                // so that the map is what catches it.
                if let Some(o) = v.as_object_mut() {
                    o.remove("summary");
                }
                (status, serde_json::to_vec(&v).unwrap())
            }
            Lie::DenyRecords if path.starts_with("/v1/records/") => (
                404,
                br#"{"error":"not_found","message":"no such record"}"#.to_vec(),
            ),
            _ => (status, body),
        }
    };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(&body)?;
    conn.flush()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `dfft monitor --once --json --quiet` with `extra`; gives the exit
/// code and the JSON events.
fn monitor(log: &str, vkey: &str, state: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec![
        "monitor",
        "--log",
        log,
        "--log-key",
        vkey,
        "--state",
        s(state),
        "--once",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = dfft(&args);
    let events = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{err}")))
        .collect();
    (code, events, err)
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// The `change` event of `key`, if any.
fn change<'a>(events: &'a [Value], key: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["event"] == "change" && e["watch"] == key)
}

fn lines(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a description: {v}"))
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

fn today() -> Date {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Date::today_from_unix_secs(secs).unwrap()
}

const WATCHES: [&str; 6] = ["--route", "DE:US", "--record", DPF, "--record", ABSENT];

#[test]
fn via_map_monitor_follows_watches_and_never_fetches_entries() {
    let dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let state = client_dir.path().join("state.json");
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let proxy = Proxy::start(&reg.base);
    let vkey = reg.log_key.to_string();
    let mut via_map = vec!["--via-map"];
    via_map.extend_from_slice(&WATCHES);

    // --via-map follows watches only.
    let (code, _, err) = dfft(&[
        "monitor",
        "--log",
        &proxy.base,
        "--log-key",
        &vkey,
        "--via-map",
        "--once",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least one --record or --route"), "{err}");

    // First poll: every watch described once.
    let (code, ev, err) = monitor(&proxy.base, &vkey, &state, &via_map);
    assert_eq!(code, 0, "{ev:?}{err}");
    let cps = of_kind(&ev, "checkpoint");
    assert_eq!(cps.len(), 1, "{ev:?}");
    assert_eq!(cps[0]["via_map"], true);
    assert_eq!(cps[0]["replayed"], 0);
    let first_size = cps[0]["checkpoint"]["size"].as_u64().unwrap();
    assert_eq!(of_kind(&ev, "change").len(), 3, "{ev:?}");
    let route = change(&ev, "route DE:US").unwrap();
    assert!(route["before"].is_null());
    let route_lines = lines(&route["after"]);
    let dpf_line = format!("{DPF} (adequacy, EEA -> US): in_force on {}", today());
    assert!(route_lines.contains(&dpf_line), "{route_lines:?}");
    assert!(
        route_lines.iter().any(|l| l
            .starts_with("eu.ec/eu-adq-us-privacyshield-2016 (adequacy, EEA -> US): ended on ")),
        "{route_lines:?}"
    );
    let record = lines(&change(&ev, &format!("record {DPF}")).unwrap()["after"]);
    assert_eq!(
        record[0],
        format!("adequacy EEA -> US: in_force on {}", today())
    );
    assert!(
        record[1].contains(" granted effective 2023-07-10 by eu.ec"),
        "{record:?}"
    );
    assert_eq!(
        lines(&change(&ev, &format!("record {ABSENT}")).unwrap()["after"]),
        vec!["not in the log"]
    );
    assert!(proxy.questions() >= 3, "the watches were asked");
    assert_eq!(proxy.entry_requests(), 0, "no entry fetched");
    let st: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(st["audited_size"], 0, "nothing was audited");
    assert!(st["checkpoint"].as_str().is_some());

    // A quiet poll: nothing changed.
    let (code, ev, err) = monitor(&proxy.base, &vkey, &state, &via_map);
    assert_eq!(code, 0, "{err}");
    assert!(of_kind(&ev, "change").is_empty(), "{ev:?}");

    // The full audit, from the same state, describes every watch the same.
    let (code, ev, err) = monitor(&reg.base, &vkey, &state, &WATCHES);
    assert_eq!(code, 0, "{err}");
    assert!(of_kind(&ev, "change").is_empty(), "{ev:?}");
    assert!(of_kind(&ev, "checkpoint")[0]["replayed"].as_u64().unwrap() > 0);

    // The Commission suspends the DPF (signed with the demo's key).
    let ec = SignerKey::parse(
        std::fs::read_to_string(dir.path().join("demo-keys/eu.ec.DEMO.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let (st, r) = reg.post(&recognition(
        &ec,
        DPF,
        "suspended",
        "EEA",
        "US",
        "2025-06-01",
    ));
    assert_eq!(st, 201, "{r}");
    let index = r["index"].as_u64().unwrap();

    let (code, ev, err) = monitor(&proxy.base, &vkey, &state, &via_map);
    assert_eq!(code, 0, "{ev:?}{err}");
    let cp = of_kind(&ev, "checkpoint");
    assert_eq!(cp[0]["previous_size"], first_size);
    assert!(cp[0]["checkpoint"]["size"].as_u64().unwrap() > index);
    assert_eq!(of_kind(&ev, "change").len(), 2, "{ev:?}");
    let route = change(&ev, "route DE:US").unwrap();
    assert_eq!(lines(&route["before"]), route_lines);
    let after = lines(&route["after"]);
    assert!(!after.contains(&dpf_line), "{after:?}");
    assert!(
        after.contains(&format!(
            "{DPF} (adequacy, EEA -> US): suspended on {}",
            today()
        )),
        "{after:?}"
    );
    let rec = change(&ev, &format!("record {DPF}")).unwrap();
    assert_eq!(lines(&rec["before"]), record);
    let after = lines(&rec["after"]);
    assert_eq!(
        after[0],
        format!("adequacy EEA -> US: suspended on {}", today())
    );
    assert_eq!(
        after.last().unwrap(),
        &format!("#{index} suspended effective 2025-06-01 by eu.ec")
    );
    assert_eq!(after.len(), record.len() + 1);
    assert_eq!(proxy.entry_requests(), 0, "still no entry fetched");

    // The people's output says the same, and what the mode leaves out is
    // in its help.
    let (code, out, err) = dfft(&[
        "monitor",
        "--log",
        &proxy.base,
        "--log-key",
        &vkey,
        "--state",
        s(&state),
        "--once",
        "--via-map",
        "--route",
        "DE:US",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no entry downloaded"), "{out}");
    let (_, help, _) = dfft(&["monitor", "--help"]);
    assert!(help.contains("--via-map"), "{help}");
    assert!(help.contains("entitled"), "{help}");
    assert_eq!(proxy.entry_requests(), 0);
}

#[test]
fn via_map_monitor_alerts_on_a_record_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let state = client_dir.path().join("state.json");
    let hook_out = client_dir.path().join("hook.json");
    let hook_kind = client_dir.path().join("kind.txt");
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let proxy = Proxy::start(&reg.base);
    let vkey = reg.log_key.to_string();
    let hook = format!(
        "cat > '{}'; printf %s \"$DFFT_ALERT\" > '{}'",
        s(&hook_out),
        s(&hook_kind)
    );

    // The truth first.
    let (code, ev, err) = monitor(
        &proxy.base,
        &vkey,
        &state,
        &["--via-map", "--route", "DE:US", "--record", DPF],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(of_kind(&ev, "change").len(), 2);
    let saved = std::fs::read(&state).unwrap();

    // Privacy Shield's successor dropped from the route answer.
    proxy.set(Lie::DropFromRoute(DPF));
    let (code, ev, err) = monitor(
        &proxy.base,
        &vkey,
        &state,
        &["--via-map", "--route", "DE:US", "--hook", &hook],
    );
    assert_eq!(code, 1, "{ev:?}{err}");
    let alert = of_kind(&ev, "alert");
    assert_eq!(alert.len(), 1, "{ev:?}");
    assert_eq!(alert[0]["alert"], "incomplete");
    assert_eq!(alert[0]["error"]["kind"], "incomplete");
    let message = alert[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains(DPF), "{message}");
    assert!(
        of_kind(&ev, "change").is_empty(),
        "no change is reported from a lie"
    );
    assert_eq!(std::fs::read_to_string(&hook_kind).unwrap(), "incomplete");
    let evidence: Value = serde_json::from_slice(&std::fs::read(&hook_out).unwrap()).unwrap();
    assert_eq!(evidence["kind"], "incomplete");
    assert_eq!(std::fs::read(&state).unwrap(), saved, "the state is kept");

    // A record it held before, denied.
    proxy.set(Lie::DenyRecords);
    std::fs::remove_file(&hook_kind).unwrap();
    let (code, ev, err) = monitor(
        &proxy.base,
        &vkey,
        &state,
        &["--via-map", "--record", DPF, "--hook", &hook],
    );
    assert_eq!(code, 1, "{ev:?}{err}");
    let alert = of_kind(&ev, "alert");
    assert_eq!(alert[0]["alert"], "incomplete", "{ev:?}");
    // A 404 without the map's proof of absence is not taken on its word.
    assert_eq!(alert[0]["error"]["kind"], "incomplete");
    let message = alert[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("no completeness proof"), "{message}");
    assert_eq!(std::fs::read_to_string(&hook_kind).unwrap(), "incomplete");
    assert_eq!(proxy.entry_requests(), 0);

    // Honest again: no alert, no change.
    proxy.set(Lie::None);
    let (code, ev, err) = monitor(
        &proxy.base,
        &vkey,
        &state,
        &["--via-map", "--route", "DE:US", "--record", DPF],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        of_kind(&ev, "alert").is_empty() && of_kind(&ev, "change").is_empty(),
        "{ev:?}"
    );
}

#[test]
fn registry_and_answers_describe_every_demo_watch_alike() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let client = Client::new(
        HttpTransport::new(&reg.base, Duration::from_secs(30)).unwrap(),
        Policy::new(reg.log_key.clone()).unwrap(),
    );
    let cp = client.checkpoint().unwrap();
    let mut auditor = Auditor::new();
    auditor.advance(&client, &cp, None, &mut |_| {}).unwrap();
    let registry = auditor.registry();
    let today = today();

    let mut watches: Vec<Watch> = registry
        .records()
        .map(|h| Watch::record(h.record.as_str()).unwrap())
        .collect();
    let records = watches.len();
    assert!(records >= 20, "the demo has {records} records");
    watches.push(Watch::record(ABSENT).unwrap());
    let (st, m) = reg.get_json(&format!("/v1/matrix?at={today}"));
    assert_eq!(st, 200, "{m}");
    let mut routes: Vec<String> = m["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["to"] != "*")
        .map(|p| {
            format!(
                "{}:{}",
                p["from"].as_str().unwrap(),
                p["to"].as_str().unwrap()
            )
        })
        .collect();
    // And routes no record covers, or only ended ones do.
    routes.extend(["GB:US".to_string(), "DE:US".into(), "JP:BR".into()]);
    routes.sort();
    routes.dedup();
    for r in &routes {
        watches.push(Watch::route(r).unwrap());
    }
    assert!(watches.len() > records + 5);
    for w in &watches {
        let answer = w
            .ask(&client, today)
            .unwrap_or_else(|e| panic!("{}: {e}", w.key()));
        // Every answer, the absent record's proof of absence included, is
        // under the same checkpoint.
        assert_eq!(
            answer.checkpoint().map(|c| c.checkpoint.size),
            Some(cp.checkpoint.size),
            "{}",
            w.key()
        );
        assert_eq!(
            w.describe_answer(&answer, today).unwrap(),
            w.describe(registry, today),
            "{}",
            w.key()
        );
    }
}

//! Verifying client commands: `verify`, `route`, `record`, `audit`,
//! `monitor`. They trust the pinned log key (and witness policy) alone and
//! check everything the log says with `dfft-client`.
//!
//! Exit codes: 0 ok; 1 a check or request failed; 2 bad usage or input
//! (keys, arguments, files, the state file); 3 the log is inconsistent (a
//! fork or a rollback: the evidence is printed, keep it).

use crate::exit;
use clap::Args;
use dfft_client::audit::{check_record_complete, check_route_complete};
use dfft_client::offline::{
    verify_record_json, verify_route_json, verify_tlog_proof, VerifiedRecord,
};
use dfft_client::watch::watch_changes;
use dfft_client::{
    AuditReport, Auditor, Client, ClientError, HttpTransport, Policy, Progress, RouteQuery, State,
    Watch,
};
use dfft_core::answer::{RecordHistory, RouteAnswer, VerifiedRoute};
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::hex;
use dfft_core::note::VerifierKey;
use dfft_core::statement::registry::RecordHead;
use dfft_core::statement::{Date, Jurisdiction, Mechanism};
use serde_json::{json, Value};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the client trusts.
#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// The log's verifier key to pin (`origin+hexid+base64`, as `dfft serve`
    /// prints it). Every checkpoint must be signed by it.
    #[arg(long = "log-key", value_name = "VKEY", env = "DFFT_LOG_KEY")]
    pub log_key: String,
    /// A witness's cosignature/v1 verifier key; repeat for several.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned each checkpoint
    /// (default: all of them).
    #[arg(long = "min-witnesses", value_name = "K")]
    pub min_witnesses: Option<usize>,
}

/// Options of `dfft verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The offline proof: a c2sp.org/tlog-proof file, as `dfft submit
    /// --proof-out` saves it (`-` reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The entry bytes (the canonical envelope), if the proof carries none
    /// (no `extra` line); if it does, they must be equal.
    #[arg(long, value_name = "FILE")]
    pub entry: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `dfft route`.
#[derive(Args, Debug)]
pub struct RouteArgs {
    /// Where data comes from: a jurisdiction code (DE, AE-DU, IO:EPO, EU, EEA).
    #[arg(long, value_name = "CODE", required_unless_present = "answer")]
    pub from: Option<String>,
    /// Where data goes: a jurisdiction code.
    #[arg(long, value_name = "CODE", required_unless_present = "answer")]
    pub to: Option<String>,
    /// The day asked about, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Only records of this mechanism (adequacy, data_bridge, designation,
    /// scc, bcr, certification, code_of_conduct, cbpr, dpf, other).
    #[arg(long, value_name = "MECHANISM")]
    pub mechanism: Option<String>,
    /// Base URL of the registry, e.g. http://127.0.0.1:8080 (ignored with --answer).
    #[arg(
        long,
        value_name = "URL",
        env = "DFFT_LOG",
        required_unless_present = "answer"
    )]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Re-verify a saved answer (from --save) offline instead of asking the log.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "at", "mechanism", "save", "state", "audit"])]
    pub answer: Option<PathBuf>,
    /// Save the verified answer (JSON) to FILE, to re-verify it later with --answer.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Client state file: the answer's checkpoint must be consistent with
    /// the last checkpoint verified (the file is created and kept up to date).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also replay the log up to the answer's checkpoint: checks that every
    /// cited entry's signer was entitled to sign it and that the answer
    /// leaves no record out.
    #[arg(long)]
    pub audit: bool,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Print the result as JSON (with the answer itself).
    #[arg(long)]
    pub json: bool,
}

/// Options of `dfft record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The record id, e.g. eu.ec/adequacy/jp.
    #[arg(value_name = "ID", required_unless_present = "answer")]
    pub id: Option<String>,
    /// Base URL of the registry, e.g. http://127.0.0.1:8080 (ignored with --answer).
    #[arg(
        long,
        value_name = "URL",
        env = "DFFT_LOG",
        required_unless_present = "answer"
    )]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The day to give the record's status for, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Re-verify a saved history (from --save) offline instead of asking the log.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["save", "state", "audit"])]
    pub answer: Option<PathBuf>,
    /// Save the verified history (JSON) to FILE, to re-verify it later with --answer.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Client state file: the history's checkpoint must be consistent with
    /// the last checkpoint verified (the file is created and kept up to date).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also replay the log up to the history's checkpoint: checks every
    /// signer's entitlement and that no event of the record is left out.
    #[arg(long)]
    pub audit: bool,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Print the result as JSON (with the history itself).
    #[arg(long)]
    pub json: bool,
}

/// Options of `dfft audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Base URL of the registry, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", env = "DFFT_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Client state file: the audited checkpoint must extend the last one
    /// verified; on success the file records it and the audited size.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// No progress report on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `dfft monitor`.
#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Base URL of the registry, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", env = "DFFT_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Client state file, updated after every audited checkpoint (so a
    /// restarted monitor still catches a fork or rollback).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seconds between polls of the log's checkpoint.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub interval: u64,
    /// Poll once, report, and exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// Shell command to run on an alert (inconsistency or failed audit):
    /// the evidence JSON on its standard input, DFFT_ALERT set to `fork`,
    /// `rollback` or `audit_failed`, DFFT_ALERT_MESSAGE to the reason.
    #[arg(long, value_name = "CMD")]
    pub hook: Option<String>,
    /// Watch a record and report its changes; repeat for several.
    #[arg(long = "record", value_name = "ID")]
    pub records: Vec<String>,
    /// Watch a route, FROM:TO (e.g. DE:US), and report its changes; repeat
    /// for several.
    #[arg(long = "route", value_name = "FROM:TO")]
    pub routes: Vec<String>,
    /// No progress report on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Print one JSON object a line for each event.
    #[arg(long)]
    pub json: bool,
}

// ---------------------------------------------------------------- helpers

fn usage(msg: impl Into<String>) -> ClientError {
    ClientError::Usage(msg.into())
}

fn policy(t: &TrustArgs) -> Result<Policy, ClientError> {
    let witnesses = t
        .witnesses
        .iter()
        .map(|w| VerifierKey::parse(w.trim()).map_err(|e| usage(format!("witness key {w:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let min = t.min_witnesses.unwrap_or(witnesses.len());
    Policy::parse(&t.log_key)?.with_witnesses(witnesses, min)
}

fn client(url: &str, timeout: u64, policy: Policy) -> Result<Client<HttpTransport>, ClientError> {
    let t = HttpTransport::new(url, Duration::from_secs(timeout.max(1)))
        .map_err(|e| usage(e.to_string()))?;
    Ok(Client::new(t, policy))
}

fn read_input(p: &Path) -> Result<Vec<u8>, ClientError> {
    if p.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|e| usage(format!("reading standard input: {e}")))?;
        return Ok(v);
    }
    std::fs::read(p).map_err(|e| usage(format!("reading {}: {e}", p.display())))
}

fn write_output(p: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    dfft_client::state::write_atomic(p, bytes)
        .map_err(|e| usage(format!("writing {}: {e}", p.display())))
}

fn load_state(p: Option<&PathBuf>, policy: &Policy) -> Result<State, ClientError> {
    match p {
        Some(p) => State::load(p, policy),
        None => Ok(State::new(policy.log_key().clone())),
    }
}

fn save_state(p: Option<&PathBuf>, state: &State) -> Result<(), ClientError> {
    match p {
        Some(p) => state.save(p),
        None => Ok(()),
    }
}

fn today() -> Result<Date, ClientError> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::today_from_unix_secs(secs).ok_or_else(|| usage("the system clock is out of range"))
}

fn date_arg(s: Option<&str>) -> Result<Date, ClientError> {
    match s {
        None => today(),
        Some(s) => Date::parse(s).map_err(|e| usage(format!("date {s:?}: {e}"))),
    }
}

fn error_kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::Transport { .. } => "transport",
        ClientError::Http { .. } => "http",
        ClientError::Malformed { .. } => "malformed",
        ClientError::Checkpoint(_) => "checkpoint",
        ClientError::Inclusion { .. } => "inclusion",
        ClientError::TilesMismatch { .. } => "tiles_mismatch",
        ClientError::TreeMismatch { .. } => "tree_mismatch",
        ClientError::Inconsistent(i) => i.kind.as_str(),
        ClientError::Answer(_) => "answer",
        ClientError::WrongAnswer(_) => "wrong_answer",
        ClientError::Rule { .. } => "rule",
        ClientError::GenesisOrigin { .. } => "genesis_origin",
        ClientError::ProofFile(_) => "proof_file",
        ClientError::State { .. } => "state",
        ClientError::Usage(_) => "usage",
        _ => "other",
    }
}

fn exit_code(e: &ClientError) -> u8 {
    if e.inconsistency().is_some() {
        exit::INCONSISTENT
    } else if e.is_usage() {
        exit::USAGE
    } else {
        exit::FAILED
    }
}

fn error_json(e: &ClientError) -> Value {
    let mut v = json!({"kind": error_kind(e), "message": e.to_string(), "exit_code": exit_code(e)});
    if let ClientError::Rule { index, .. } = e {
        v["index"] = json!(index);
    }
    if let Some(i) = e.inconsistency() {
        v["evidence"] = i.to_json();
    }
    v
}

/// Reports a failure and gives its exit code.
fn fail(what: &str, e: &ClientError, json_out: bool) -> ExitCode {
    if json_out {
        println!("{}", json!({"ok": false, "error": error_json(e)}));
    }
    eprintln!("{what} FAILED: {e}");
    if let Some(i) = e.inconsistency() {
        if !json_out {
            eprintln!("evidence (keep it: both checkpoints are signed by the log's key):");
            eprintln!(
                "{}",
                serde_json::to_string_pretty(&i.to_json()).unwrap_or_default()
            );
        }
    }
    ExitCode::from(exit_code(e))
}

fn finish(
    what: &str,
    json_out: bool,
    r: Result<ExitCode, ClientError>,
) -> anyhow::Result<ExitCode> {
    Ok(r.unwrap_or_else(|e| fail(what, &e, json_out)))
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn cp_line(cp: &SignedCheckpoint) -> String {
    let c = &cp.checkpoint;
    format!(
        "{} at size {} (root {})",
        c.origin,
        c.size,
        hex::encode(&c.root)
    )
}

fn cp_json(cp: &SignedCheckpoint) -> Value {
    json!({"origin": cp.checkpoint.origin, "size": cp.checkpoint.size, "root_hash": hex::encode(&cp.checkpoint.root), "note": cp.to_text()})
}

fn policy_line(p: &Policy) -> String {
    if p.witnesses().is_empty() {
        format!("signed by the log key {}", p.log_key())
    } else {
        format!(
            "signed by the log key {} and cosigned by at least {} of {} trusted witnesses",
            p.log_key(),
            p.min_witnesses(),
            p.witnesses().len()
        )
    }
}

/// Progress on standard error for long replays: a bar on a terminal,
/// a line every few seconds otherwise.
struct ProgressReport {
    label: &'static str,
    quiet: bool,
    tty: bool,
    started: Instant,
    last: Option<Instant>,
    drew: bool,
}

impl ProgressReport {
    fn new(label: &'static str, quiet: bool) -> ProgressReport {
        ProgressReport {
            label,
            quiet,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            drew: false,
        }
    }

    fn update(&mut self, p: Progress) {
        if self.quiet {
            return;
        }
        let now = Instant::now();
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        let done = p.done >= p.total;
        // Short runs stay silent: only report after the first second.
        if now.duration_since(self.started) < Duration::from_secs(1) && !(done && self.drew) {
            return;
        }
        if !done && self.last.is_some_and(|l| now.duration_since(l) < every) {
            return;
        }
        self.last = Some(now);
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-9);
        let rate = p.done as f64 / secs;
        let pct = if p.total == 0 {
            100.0
        } else {
            100.0 * p.done as f64 / p.total as f64
        };
        let mut err = std::io::stderr().lock();
        if self.tty {
            let filled = (pct / 5.0) as usize;
            let bar: String = "#".repeat(filled) + &"-".repeat(20 - filled.min(20));
            let _ = write!(
                err,
                "\r{}: [{bar}] {pct:5.1}% {}/{} entries, {rate:.0}/s ",
                self.label, p.done, p.total
            );
            if done {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(
                err,
                "{}: {}/{} entries ({pct:.1}%), {rate:.0} entries/s",
                self.label, p.done, p.total
            );
        }
        self.drew = true;
    }
}

// ---------------------------------------------------------------- verify

/// `dfft verify FILE.tlog-proof --log-key VKEY`.
pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    finish("verify", a.json, verify_inner(&a))
}

fn verify_inner(a: &VerifyArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    let file = read_input(&a.file)?;
    let entry = a.entry.as_deref().map(read_input).transpose()?;
    let v = verify_tlog_proof(&file, &policy, entry.as_deref())?;
    let env = v.submission.envelope();
    let statement: Value = serde_json::from_slice(&env.payload).unwrap_or(Value::Null);
    let signers: Vec<&str> = env.signatures.iter().map(|s| s.keyid.as_str()).collect();
    if a.json {
        print_json(&json!({
            "ok": true,
            "index": v.index,
            "leaf_hash": hex::encode(&v.leaf_hash),
            "checkpoint": cp_json(&v.checkpoint),
            "kind": v.submission.statement().kind(),
            "signers": signers,
            "statement": statement,
        }));
    } else {
        println!(
            "verified: entry {} is in the log {}",
            v.index,
            cp_line(&v.checkpoint)
        );
        println!("checkpoint {}", policy_line(&policy));
        println!("leaf hash: {}", hex::encode(&v.leaf_hash));
        println!(
            "{} statement signed by {}:",
            v.submission.statement().kind(),
            signers.join(", ")
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&statement).unwrap_or_default()
        );
        println!("checkpoint:\n{}", v.checkpoint.to_text().trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- route

/// `dfft route`: ask and verify, or re-verify a saved answer.
pub fn route(a: RouteArgs) -> anyhow::Result<ExitCode> {
    finish("route", a.json, route_inner(&a))
}

fn route_inner(a: &RouteArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    if let Some(file) = &a.answer {
        let (answer, verified) = verify_route_json(&read_input(file)?, &policy)?;
        print_route(&answer, &verified, &policy, None, a.json);
        return Ok(ExitCode::SUCCESS);
    }
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .ok_or_else(|| usage(format!("--{name} is required")))
    };
    let q = RouteQuery {
        from: Jurisdiction::new(&need(&a.from, "from")?)
            .map_err(|e| usage(format!("--from: {e}")))?,
        to: Jurisdiction::new(&need(&a.to, "to")?).map_err(|e| usage(format!("--to: {e}")))?,
        at: date_arg(a.at.as_deref())?,
        mechanism: a
            .mechanism
            .as_deref()
            .map(Mechanism::new)
            .transpose()
            .map_err(|e| usage(format!("--mechanism: {e}")))?,
    };
    let client = client(&need(&a.log, "log")?, a.timeout, policy.clone())?;
    let mut state = load_state(a.state.as_ref(), &policy)?;
    let (answer, verified) = client.route(&q)?;
    if a.state.is_some() {
        client.observe(&mut state, &verified.checkpoint)?;
    }
    let audited = if a.audit {
        let mut auditor = Auditor::new();
        let mut progress = ProgressReport::new("audit", a.json);
        let report = auditor.advance(&client, &verified.checkpoint, None, &mut |p| {
            progress.update(p)
        })?;
        check_route_complete(auditor.registry(), &answer)?;
        Some(report.replayed)
    } else {
        None
    };
    save_state(a.state.as_ref(), &state)?;
    if let Some(p) = &a.save {
        let mut bytes = serde_json::to_vec_pretty(&answer).map_err(|e| usage(e.to_string()))?;
        bytes.push(b'\n');
        write_output(p, &bytes)?;
    }
    print_route(&answer, &verified, &policy, audited, a.json);
    Ok(ExitCode::SUCCESS)
}

fn audit_note(audited: Option<u64>) -> String {
    match audited {
        Some(n) => format!("checked by replaying all {n} entries: every signer was entitled, and nothing is left out"),
        None => "not checked (add --audit to replay the log)".to_string(),
    }
}

fn print_route(
    answer: &RouteAnswer,
    v: &VerifiedRoute,
    policy: &Policy,
    audited: Option<u64>,
    json_out: bool,
) {
    let mech = answer
        .mechanism
        .map(|m| format!(" ({m} only)"))
        .unwrap_or_default();
    if json_out {
        print_json(&json!({
            "ok": true,
            "question": {"from": answer.from, "to": answer.to, "at": answer.at, "mechanism": answer.mechanism},
            "checkpoint": cp_json(&v.checkpoint),
            "records": v.records.iter().map(|(h, s)| json!({
                "record": h.record.as_str(), "mechanism": h.mechanism, "from": h.from, "to": h.to, "status": s,
                "events": h.events.iter().map(|e| json!({"index": e.index, "action": e.action, "effective": e.effective, "authority": e.authority.as_str()})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "audited_entries": audited,
            "answer": answer,
        }));
        return;
    }
    println!(
        "{} -> {} on {}{mech}: {} record(s)",
        answer.from,
        answer.to,
        answer.at,
        v.records.len()
    );
    for (h, s) in &v.records {
        print_head(h, &s.to_string(), answer.at);
    }
    println!(
        "verified against the checkpoint of {} ({})",
        cp_line(&v.checkpoint),
        policy_line(policy)
    );
    println!("every cited entry is in the log and every status follows from the entries");
    println!(
        "signers' entitlement and completeness: {}",
        audit_note(audited)
    );
}

fn print_head(h: &RecordHead, status: &str, at: Date) {
    println!(
        "  {}  [{}]  {} -> {}  {status}",
        h.record.as_str(),
        h.mechanism,
        h.from,
        h.to
    );
    for e in &h.events {
        let later = if e.effective > at {
            format!("  (after {at})")
        } else {
            String::new()
        };
        println!(
            "    #{:<6} {:<12} effective {}  by {}{later}",
            e.index,
            e.action.as_str(),
            e.effective,
            e.authority.as_str()
        );
    }
}

// ---------------------------------------------------------------- record

/// `dfft record ID`: the verified history of one record.
pub fn record(a: RecordArgs) -> anyhow::Result<ExitCode> {
    finish("record", a.json, record_inner(&a))
}

fn record_inner(a: &RecordArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    let at = date_arg(a.at.as_deref())?;
    if let Some(file) = &a.answer {
        let (history, verified) = verify_record_json(&read_input(file)?, &policy)?;
        if let Some(id) = &a.id {
            if &history.record.record != id {
                return Err(ClientError::WrongAnswer(format!(
                    "the saved history is of record {}, not {id}",
                    history.record.record
                )));
            }
        }
        print_record(&history, &verified, &policy, at, None, a.json);
        return Ok(ExitCode::SUCCESS);
    }
    let id = a.id.clone().ok_or_else(|| usage("give the record id"))?;
    let log = a.log.clone().ok_or_else(|| usage("--log is required"))?;
    let client = client(&log, a.timeout, policy.clone())?;
    let mut state = load_state(a.state.as_ref(), &policy)?;
    let (history, verified) = client.record(&id)?;
    if a.state.is_some() {
        client.observe(&mut state, &verified.checkpoint)?;
    }
    let audited = if a.audit {
        let mut auditor = Auditor::new();
        let mut progress = ProgressReport::new("audit", a.json);
        let report = auditor.advance(&client, &verified.checkpoint, None, &mut |p| {
            progress.update(p)
        })?;
        check_record_complete(auditor.registry(), &verified.head)?;
        Some(report.replayed)
    } else {
        None
    };
    save_state(a.state.as_ref(), &state)?;
    if let Some(p) = &a.save {
        let mut bytes = serde_json::to_vec_pretty(&history).map_err(|e| usage(e.to_string()))?;
        bytes.push(b'\n');
        write_output(p, &bytes)?;
    }
    print_record(&history, &verified, &policy, at, audited, a.json);
    Ok(ExitCode::SUCCESS)
}

fn print_record(
    history: &RecordHistory,
    v: &VerifiedRecord,
    policy: &Policy,
    at: Date,
    audited: Option<u64>,
    json_out: bool,
) {
    let status = v.head.status_on(at);
    let status_text = status.map_or_else(
        || format!("not yet in effect on {at}"),
        |s| format!("{s} on {at}"),
    );
    if json_out {
        print_json(&json!({
            "ok": true,
            "record": v.head.record.as_str(),
            "status": status,
            "at": at,
            "checkpoint": cp_json(&v.checkpoint),
            "events": v.head.events.iter().map(|e| json!({"index": e.index, "action": e.action, "effective": e.effective, "authority": e.authority.as_str()})).collect::<Vec<_>>(),
            "audited_entries": audited,
            "history": history,
        }));
        return;
    }
    print_head(&v.head, &status_text, at);
    println!(
        "verified against the checkpoint of {} ({})",
        cp_line(&v.checkpoint),
        policy_line(policy)
    );
    println!("every event is in the log and belongs to this record; the status is computed from the entries");
    println!(
        "signers' entitlement and completeness: {}",
        audit_note(audited)
    );
}

// ---------------------------------------------------------------- audit

/// `dfft audit`: replay the whole log and check every entry, proof and rule.
pub fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    finish("audit", a.json, audit_inner(&a))
}

fn audit_inner(a: &AuditArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    let client = client(&a.log, a.timeout, policy.clone())?;
    let mut state = load_state(a.state.as_ref(), &policy)?;
    let previous = state.checkpoint().cloned();
    let audited_before = state.audited_size;
    let cp = client.checkpoint()?;
    let mut progress = ProgressReport::new("audit", a.quiet);
    let report =
        Auditor::new().advance(&client, &cp, previous.as_ref(), &mut |p| progress.update(p))?;
    client.advance(&mut state, &cp)?;
    state.audited_size = cp.checkpoint.size;
    save_state(a.state.as_ref(), &state)?;
    print_audit(&report, &policy, previous.as_ref(), audited_before, a.json);
    Ok(if report.repeated.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    })
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn print_audit(
    r: &AuditReport,
    policy: &Policy,
    previous: Option<&SignedCheckpoint>,
    audited_before: u64,
    json_out: bool,
) {
    let size = r.checkpoint.checkpoint.size;
    let new_entries = size - audited_before.min(size);
    if json_out {
        print_json(&json!({
            "ok": true,
            "checkpoint": cp_json(&r.checkpoint),
            "replayed": r.replayed,
            "entries": {"genesis": r.counts.genesis, "authority": r.counts.authority, "recognition": r.counts.recognition, "repeated": r.counts.repeated},
            "findings": r.repeated.iter().map(|(i, f)| json!({"finding": "repeated_statement", "index": i, "first_index": f})).collect::<Vec<_>>(),
            "authorities": r.authorities,
            "records": r.records,
            "previous_checkpoint_size": previous.map(|p| p.checkpoint.size),
            "consistency_proofs": r.consistent_with.iter().map(|(m, n)| json!({"from": m, "to": size, "hashes": n})).collect::<Vec<_>>(),
            "new_since_last_audit": new_entries,
            "seconds": r.elapsed.as_secs_f64(),
            "entries_per_second": rate(r.replayed, r.elapsed),
        }));
        return;
    }
    if r.repeated.is_empty() {
        println!("audit passed: {}", cp_line(&r.checkpoint));
    } else {
        println!(
            "audit found {} finding(s): {}",
            r.repeated.len(),
            cp_line(&r.checkpoint)
        );
        for (i, f) in &r.repeated {
            println!("  FINDING entry {i} repeats the statement of entry {f} under other signatures; the rules give it no effect, but a registry that logs each statement once never logs it");
        }
    }
    println!("  checkpoint {}", policy_line(policy));
    println!(
        "  replayed {} entries ({} genesis, {} authority statements, {} recognition events) in {:.2}s ({:.0} entries/s)",
        r.replayed,
        r.counts.genesis,
        r.counts.authority,
        r.counts.recognition,
        r.elapsed.as_secs_f64(),
        rate(r.replayed, r.elapsed)
    );
    println!("  the tree rebuilt from the entry bundles has the checkpoint's root");
    println!(
        "  every entry is canonical, signed by keys entitled to sign it at its position, and keeps every registry rule ({} authorities, {} records)",
        r.authorities, r.records
    );
    match previous {
        None => println!("  no earlier checkpoint to compare with (use --state FILE to keep one)"),
        Some(p) if p.checkpoint.size == size => {
            println!("  same checkpoint as the last one verified; nothing new since")
        }
        Some(p) => {
            let hashes = r
                .consistent_with
                .iter()
                .find(|(m, _)| *m == p.checkpoint.size)
                .map_or(0, |(_, n)| *n);
            println!("  extends the last verified checkpoint of size {} (consistency proof of {hashes} hashes)", p.checkpoint.size);
        }
    }
    if audited_before > 0 || previous.is_some() {
        println!(
            "  {new_entries} new entries since the last audit (audited size {audited_before})"
        );
    }
}

// ---------------------------------------------------------------- monitor

/// `dfft monitor`: follow the log, audit each new checkpoint, report
/// changes of watched records and routes, alert on inconsistency.
pub fn monitor(a: MonitorArgs) -> anyhow::Result<ExitCode> {
    match monitor_inner(&a) {
        Ok(code) => Ok(code),
        Err(e) => {
            let kind = match e.inconsistency() {
                Some(i) => Some(i.kind.as_str()),
                None if is_transient(&e) || e.is_usage() => None,
                None => Some("audit_failed"),
            };
            match kind {
                Some(kind) => {
                    emit(
                        a.json,
                        json!({"event": "alert", "alert": kind, "error": error_json(&e)}),
                    );
                    if let Some(cmd) = &a.hook {
                        run_hook(cmd, kind, &e);
                    }
                }
                None => emit(a.json, json!({"event": "error", "error": error_json(&e)})),
            }
            if a.json {
                // The event above already carries the error as JSON.
                eprintln!("monitor FAILED: {e}");
                return Ok(ExitCode::from(exit_code(&e)));
            }
            Ok(fail("monitor", &e, false))
        }
    }
}

fn is_transient(e: &ClientError) -> bool {
    matches!(e, ClientError::Transport { .. } | ClientError::Http { .. })
}

fn emit(json_out: bool, v: Value) {
    if json_out {
        println!("{v}");
        let _ = std::io::stdout().flush();
    }
}

fn monitor_inner(a: &MonitorArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    let mut watches = Vec::new();
    for r in &a.records {
        watches.push(Watch::record(r)?);
    }
    for r in &a.routes {
        watches.push(Watch::route(r)?);
    }
    let client = client(&a.log, a.timeout, policy.clone())?;
    let mut state = load_state(a.state.as_ref(), &policy)?;
    let mut auditor = Auditor::new();
    loop {
        let before = state.clone();
        match poll(a, &client, &mut auditor, &mut state, &watches) {
            Ok(()) if state != before => save_state(a.state.as_ref(), &state)?,
            Ok(()) => {}
            Err(e) if is_transient(&e) && !a.once => {
                // The log may be restarting: try again at the next poll,
                // with a fresh auditor if this one stopped half way.
                if auditor.is_stopped() {
                    auditor = Auditor::new();
                }
                eprintln!("monitor: {e} (retrying in {}s)", a.interval.max(1));
                emit(a.json, json!({"event": "retry", "error": error_json(&e)}));
            }
            Err(e) => return Err(e),
        }
        if a.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}

fn poll(
    a: &MonitorArgs,
    client: &Client<HttpTransport>,
    auditor: &mut Auditor,
    state: &mut State,
    watches: &[Watch],
) -> Result<(), ClientError> {
    let cp = client.checkpoint()?;
    let before = auditor.checkpoint().cloned();
    if before.as_ref() != Some(&cp) {
        let trusted = state.checkpoint().cloned();
        let mut progress = ProgressReport::new("monitor", a.quiet);
        let report = auditor.advance(client, &cp, trusted.as_ref(), &mut |p| progress.update(p))?;
        client.advance(state, &cp)?;
        state.audited_size = cp.checkpoint.size;
        let prev = trusted.as_ref().map(|t| t.checkpoint.size);
        emit(
            a.json,
            json!({"event": "checkpoint", "checkpoint": cp_json(&cp), "previous_size": prev, "replayed": report.replayed,
                   "seconds": report.elapsed.as_secs_f64()}),
        );
        if !a.json {
            match prev {
                Some(p) if p == cp.checkpoint.size && report.from_size == 0 => {
                    println!(
                        "checkpoint {}: unchanged since last run; replayed and audited {} entries",
                        cp_line(&cp),
                        report.replayed
                    )
                }
                Some(p) if p == cp.checkpoint.size => {}
                Some(p) if report.from_size == 0 => println!(
                    "checkpoint {}: extends size {p} by {} entries; replayed and audited all {}",
                    cp_line(&cp),
                    cp.checkpoint.size.saturating_sub(p),
                    report.replayed
                ),
                Some(p) => println!(
                    "checkpoint {}: extends size {p}; audited {} new entries",
                    cp_line(&cp),
                    report.replayed
                ),
                None => println!(
                    "checkpoint {}: audited {} entries",
                    cp_line(&cp),
                    report.replayed
                ),
            }
        }
    } else if a.once && !a.json {
        println!("checkpoint {}: no change", cp_line(&cp));
    }
    for c in watch_changes(watches, auditor.registry(), today()?, &mut state.watch) {
        emit(
            a.json,
            json!({"event": "change", "watch": c.key, "before": c.before, "after": c.after}),
        );
        if !a.json {
            match &c.before {
                None => println!("watch {}:", c.key),
                Some(_) => println!("change in {}:", c.key),
            }
            let old = c.before.clone().unwrap_or_default();
            for l in old.iter().filter(|l| !c.after.contains(l)) {
                println!("  - {l}");
            }
            for l in &c.after {
                let mark = if c.before.is_none() || !old.contains(l) {
                    "+"
                } else {
                    " "
                };
                println!("  {mark} {l}");
            }
        }
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

fn run_hook(cmd: &str, kind: &str, e: &ClientError) {
    let evidence = serde_json::to_string_pretty(&error_json(e)).unwrap_or_default();
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("DFFT_ALERT", kind)
        .env("DFFT_ALERT_MESSAGE", e.to_string())
        .stdin(std::process::Stdio::piped())
        .spawn();
    match child {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(evidence.as_bytes());
            }
            match child.wait() {
                Ok(s) if s.success() => {}
                Ok(s) => eprintln!("monitor: alert hook exited with {s}"),
                Err(err) => eprintln!("monitor: alert hook: {err}"),
            }
        }
        Err(err) => eprintln!("monitor: cannot run the alert hook: {err}"),
    }
}

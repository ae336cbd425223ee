//! `dfft monitor`: follow the log, audit each new checkpoint, report
//! changes of watched records and routes, and alert (JSON event, hook
//! command) on a fork, a rollback or a failed audit.
//!
//! With `--via-map` it audits nothing: it proves each checkpoint consistent
//! with the state and follows the watches through the log's answers,
//! verified with their completeness proofs (`dfft_client::watch`), without
//! downloading entries; an answer that does not prove it is complete is
//! the alert `incomplete`. Leaves out (in that mode) what only the replay
//! checks: the signers' entitlement over the whole log, and every entry no
//! watch depends on.

use super::progress::ProgressReport;
use super::{
    client, cp_json, cp_line, error_json, exit_code, fail, load_state, policy, save_state, today,
    TrustArgs,
};
use clap::Args;
use dfft_client::watch::{answer_changes, watch_changes};
use dfft_client::{Auditor, Client, ClientError, HttpTransport, State, Watch, WatchChange};
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::statement::Date;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Shell command to run on an alert (inconsistency or failed check):
    /// the evidence JSON on its standard input, DFFT_ALERT set to `fork`,
    /// `rollback`, `incomplete` (--via-map: an answer does not prove it
    /// is complete, or the log denies a record it was seen to hold) or
    /// `audit_failed` (any other failed check), DFFT_ALERT_MESSAGE to the
    /// reason.
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
    /// Follow the watched --record and --route (at least one) through the
    /// log's answers and their map proofs instead of downloading and
    /// auditing every entry. Each poll verifies the checkpoint (signature,
    /// witness policy) and proves it consistent with the --state; then asks
    /// each watched route for today and each watched record's history,
    /// verifies every answer with its completeness proof required, proves
    /// each answer's checkpoint consistent with the state's, and reports
    /// changes as the full mode does (the state can be shared between the
    /// two modes). A failed completeness check is the alert `incomplete`.
    /// NOT checked, unlike the full audit: that every entry's signer was
    /// entitled to sign it (over the whole log: the registry refuses such
    /// entries, and only a replay re-checks that), and any entry no watch
    /// depends on. A record the log says it does not have (HTTP 404, which
    /// carries no proof of absence) is taken at its word until it has been
    /// seen once; denied after that, it is the alert `incomplete` (watch
    /// the record's route to have its absence proven).
    #[arg(long)]
    pub via_map: bool,
}

/// `dfft monitor`: follow the log, audit each new checkpoint, report
/// changes of watched records and routes, alert on inconsistency.
pub fn run(a: MonitorArgs) -> anyhow::Result<ExitCode> {
    match monitor_inner(&a) {
        Ok(code) => Ok(code),
        Err(e) => {
            let kind = match e.inconsistency() {
                Some(i) => Some(i.kind.as_str()),
                None if is_transient(&e) || e.is_usage() => None,
                None if is_incomplete(&e) => Some("incomplete"),
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

/// An answer that does not prove it left nothing out, or a record the log
/// denies after it was seen.
fn is_incomplete(e: &ClientError) -> bool {
    matches!(e, ClientError::Incomplete(_) | ClientError::Withheld { .. })
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
    if a.via_map && watches.is_empty() {
        return Err(ClientError::Usage(
            "--via-map follows watches: give at least one --record or --route".into(),
        ));
    }
    let client = client(&a.log, a.timeout, policy.clone())?;
    let mut state = load_state(a.state.as_ref(), &policy)?;
    let mut auditor = Auditor::new();
    let mut asked = None;
    loop {
        let before = state.clone();
        let polled = if a.via_map {
            poll_via_map(a, &client, &mut state, &watches, &mut asked)
        } else {
            poll(a, &client, &mut auditor, &mut state, &watches)
        };
        match polled {
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
    let changes = watch_changes(watches, auditor.registry(), today()?, &mut state.watch);
    report_changes(a.json, &changes);
    Ok(())
}

/// One poll of `--via-map`: the checkpoint, verified and proven consistent
/// with the state; then, unless neither it nor the day changed since the
/// last poll (`asked`), every watch through its verified, complete answer,
/// each answer's checkpoint proven consistent with the state's.
fn poll_via_map(
    a: &MonitorArgs,
    client: &Client<HttpTransport>,
    state: &mut State,
    watches: &[Watch],
    asked: &mut Option<(SignedCheckpoint, Date)>,
) -> Result<(), ClientError> {
    let cp = client.checkpoint()?;
    let trusted = state.checkpoint().cloned();
    client.advance(state, &cp)?;
    let today = today()?;
    let first_poll = asked.is_none();
    if asked.as_ref() == Some(&(cp.clone(), today)) {
        if a.once && !a.json {
            println!("checkpoint {}: no change", cp_line(&cp));
        }
        return Ok(());
    }
    if first_poll || trusted.as_ref() != Some(&cp) {
        let prev = trusted.as_ref().map(|t| t.checkpoint.size);
        emit(
            a.json,
            json!({"event": "checkpoint", "checkpoint": cp_json(&cp), "previous_size": prev,
                   "replayed": 0, "via_map": true}),
        );
        if !a.json {
            let how = format!(
                "no entry downloaded; following {} watch(es) through map proofs",
                watches.len()
            );
            match prev {
                Some(p) if p == cp.checkpoint.size => println!(
                    "checkpoint {}: unchanged since last run; {how}",
                    cp_line(&cp)
                ),
                Some(p) => println!(
                    "checkpoint {}: extends size {p} by {} entries (proven consistent); {how}",
                    cp_line(&cp),
                    cp.checkpoint.size.saturating_sub(p)
                ),
                None => println!("checkpoint {}: verified; {how}", cp_line(&cp)),
            }
        }
    }
    let mut answers = Vec::with_capacity(watches.len());
    for w in watches {
        let answer = w.ask(client, today)?;
        if let Some(at) = answer.checkpoint() {
            // Larger than the state's: the state moves to it; smaller: it
            // must be a prefix of the state's tree. Either way proven.
            client.observe(state, at)?;
        }
        answers.push(answer);
    }
    let changes = answer_changes(watches, &answers, today, &mut state.watch)?;
    report_changes(a.json, &changes);
    *asked = Some((cp, today));
    Ok(())
}

/// Prints each change: a JSON event, or the lines removed, added and kept.
fn report_changes(json_out: bool, changes: &[WatchChange]) {
    for c in changes {
        emit(
            json_out,
            json!({"event": "change", "watch": c.key, "before": c.before, "after": c.after}),
        );
        if !json_out {
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

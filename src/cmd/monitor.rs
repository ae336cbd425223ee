//! `dfft monitor`: follow the log, audit each new checkpoint, report
//! changes of watched records and routes, and alert (JSON event, hook
//! command) on a fork, a rollback or a failed audit.

use super::progress::ProgressReport;
use super::{
    client, cp_json, cp_line, error_json, exit_code, fail, load_state, policy, save_state, today,
    TrustArgs,
};
use clap::Args;
use dfft_client::watch::watch_changes;
use dfft_client::{Auditor, Client, ClientError, HttpTransport, State, Watch};
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

/// `dfft monitor`: follow the log, audit each new checkpoint, report
/// changes of watched records and routes, alert on inconsistency.
pub fn run(a: MonitorArgs) -> anyhow::Result<ExitCode> {
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

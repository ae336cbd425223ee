//! `dfft audit`: replay the whole log and check every entry, proof and
//! rule, against the last checkpoint kept in the state file. The replay and
//! its checks are `dfft_client::Auditor`'s; this file runs and reports it.

use super::progress::ProgressReport;
use super::{
    client, cp_json, cp_line, finish, load_state, policy, policy_line, print_json, save_state,
    TrustArgs,
};
use crate::exit;
use clap::Args;
use dfft_client::{AuditReport, Auditor, ClientError, Policy};
use dfft_core::checkpoint::SignedCheckpoint;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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

/// `dfft audit`: replay the whole log and check every entry, proof and rule.
pub fn run(a: AuditArgs) -> anyhow::Result<ExitCode> {
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
            "entries": {"genesis": r.counts.genesis, "authority": r.counts.authority, "recognition": r.counts.recognition, "repeated": r.counts.repeated, "index": r.counts.index},
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

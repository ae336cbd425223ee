//! `dfft record`: the verified history of one record and its status on a
//! date (optionally replaying the log to check that no event is left out),
//! or a saved history re-verified offline.

use super::progress::ProgressReport;
use super::{
    audit_note, client, complete_note, completeness, cp_json, cp_line, date_arg, finish,
    load_state, policy, policy_line, print_head, print_json, read_input, save_state, usage,
    AnswerArgs, TrustArgs,
};
use clap::Args;
use dfft_client::audit::check_record_complete;
use dfft_client::offline::{verify_record_json, VerifiedRecord};
use dfft_client::{Auditor, ClientError, Policy};
use dfft_core::answer::RecordHistory;
use dfft_core::statement::Date;
use serde_json::json;
use std::process::ExitCode;

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
    /// Also replay the log up to the history's checkpoint: checks every
    /// signer's entitlement and that no event of the record is left out.
    #[arg(long, conflicts_with = "answer")]
    pub audit: bool,
    #[command(flatten)]
    pub io: AnswerArgs,
}

/// `dfft record ID`: the verified history of one record.
pub fn run(a: RecordArgs) -> anyhow::Result<ExitCode> {
    finish("record", a.io.client.json, record_inner(&a))
}

fn record_inner(a: &RecordArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    let at = date_arg(a.at.as_deref())?;
    if let Some(file) = &a.io.answer {
        let (history, verified) = verify_record_json(
            &read_input(file)?,
            &policy,
            completeness(a.io.client.accept_incomplete),
        )?;
        if let Some(id) = &a.id {
            if &history.record.record != id {
                return Err(ClientError::WrongAnswer(format!(
                    "the saved history is of record {}, not {id}",
                    history.record.record
                )));
            }
        }
        print_record(&history, &verified, &policy, at, None, a.io.client.json);
        return Ok(ExitCode::SUCCESS);
    }
    let id = a.id.clone().ok_or_else(|| usage("give the record id"))?;
    let log = a.log.clone().ok_or_else(|| usage("--log is required"))?;
    let client = client(&log, a.io.client.timeout, policy.clone())?
        .with_completeness(completeness(a.io.client.accept_incomplete));
    let mut state = load_state(a.io.client.state.as_ref(), &policy)?;
    let (history, verified) = client.record(&id)?;
    if a.io.client.state.is_some() {
        client.observe(&mut state, &verified.checkpoint)?;
    }
    let audited = if a.audit {
        let mut auditor = Auditor::new();
        let mut progress = ProgressReport::new("audit", a.io.client.json);
        let report = auditor.advance(&client, &verified.checkpoint, None, &mut |p| {
            progress.update(p)
        })?;
        check_record_complete(auditor.registry(), &verified.head)?;
        Some(report.replayed)
    } else {
        None
    };
    save_state(a.io.client.state.as_ref(), &state)?;
    a.io.save_answer(|| serde_json::to_vec_pretty(&history))?;
    print_record(&history, &verified, &policy, at, audited, a.io.client.json);
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
            "complete": history.completeness.is_some(),
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
        "{}",
        complete_note(
            history.completeness.as_ref(),
            "no event of the record is left out"
        )
    );
    println!("signers' entitlement: {}", audit_note(audited));
}

//! `dfft route`: ask the log which recognitions and rules cover a route on
//! a date, with the answer's summary, and verify the answer (optionally replaying the log to check that it
//! leaves nothing out), or re-verify a saved answer offline.

use super::progress::ProgressReport;
use super::{
    audit_note, client, complete_note, completeness, cp_json, cp_line, date_arg, finish,
    load_state, policy, policy_line, print_head, print_json, read_input, save_state, usage,
    AnswerArgs, TrustArgs,
};
use clap::Args;
use dfft_client::audit::check_route_complete;
use dfft_client::offline::verify_route_json;
use dfft_client::{Auditor, ClientError, Policy, RouteQuery};
use dfft_core::answer::{RouteAnswer, VerifiedRoute};
use dfft_core::statement::{DataCategory, Jurisdiction, Mechanism};
use serde_json::json;
use std::process::ExitCode;

/// Options of `dfft route`.
#[derive(Args, Debug)]
pub struct RouteArgs {
    /// Where data comes from: a jurisdiction code (DE, AE-DU, IO:EPO, EU, EEA).
    #[arg(
        long,
        value_name = "CODE",
        required_unless_present = "answer",
        conflicts_with = "answer"
    )]
    pub from: Option<String>,
    /// Where data goes: a jurisdiction code.
    #[arg(
        long,
        value_name = "CODE",
        required_unless_present = "answer",
        conflicts_with = "answer"
    )]
    pub to: Option<String>,
    /// The day asked about, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE", conflicts_with = "answer")]
    pub at: Option<String>,
    /// Only records of this mechanism (adequacy, data_bridge, designation,
    /// scc, bcr, certification, code_of_conduct, cbpr, dpf, other).
    #[arg(long, value_name = "MECHANISM", conflicts_with = "answer")]
    pub mechanism: Option<String>,
    /// Only rules that apply to this category of data (personal,
    /// sensitive_personal, important_data, core_data, health, financial,
    /// geolocation, government, non_personal); recognitions are kept.
    #[arg(long, value_name = "CATEGORY", conflicts_with = "answer")]
    pub data: Option<String>,
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
    /// Also replay the log up to the answer's checkpoint: checks that every
    /// cited entry's signer was entitled to sign it and that the answer
    /// leaves no record out.
    #[arg(long, conflicts_with = "answer")]
    pub audit: bool,
    #[command(flatten)]
    pub io: AnswerArgs,
}

/// `dfft route`: ask and verify, or re-verify a saved answer.
pub fn run(a: RouteArgs) -> anyhow::Result<ExitCode> {
    finish("route", a.io.client.json, route_inner(&a))
}

fn route_inner(a: &RouteArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    if let Some(file) = &a.io.answer {
        let (answer, verified) = verify_route_json(
            &read_input(file)?,
            &policy,
            completeness(a.io.client.accept_incomplete),
        )?;
        print_route(&answer, &verified, &policy, None, a.io.client.json);
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
        data: a
            .data
            .as_deref()
            .map(DataCategory::new)
            .transpose()
            .map_err(|e| usage(format!("--data: {e}")))?,
    };
    let client = client(&need(&a.log, "log")?, a.io.client.timeout, policy.clone())?
        .with_completeness(completeness(a.io.client.accept_incomplete));
    let mut state = load_state(a.io.client.state.as_ref(), &policy)?;
    let (answer, verified) = client.route(&q)?;
    if a.io.client.state.is_some() {
        client.observe(&mut state, &verified.checkpoint)?;
    }
    let audited = if a.audit {
        let mut auditor = Auditor::new();
        let mut progress = ProgressReport::new("audit", a.io.client.json);
        let report = auditor.advance(&client, &verified.checkpoint, None, &mut |p| {
            progress.update(p)
        })?;
        check_route_complete(auditor.registry(), &answer)?;
        Some(report.replayed)
    } else {
        None
    };
    save_state(a.io.client.state.as_ref(), &state)?;
    a.io.save_answer(|| serde_json::to_vec_pretty(&answer))?;
    print_route(&answer, &verified, &policy, audited, a.io.client.json);
    Ok(ExitCode::SUCCESS)
}

fn print_route(
    answer: &RouteAnswer,
    v: &VerifiedRoute,
    policy: &Policy,
    audited: Option<u64>,
    json_out: bool,
) {
    let mut mech = answer
        .mechanism
        .map(|m| format!(" ({m} only)"))
        .unwrap_or_default();
    if let Some(d) = answer.data {
        mech.push_str(&format!(" (rules on {d} data)"));
    }
    if json_out {
        print_json(&json!({
            "ok": true,
            "question": {"from": answer.from, "to": answer.to, "at": answer.at, "mechanism": answer.mechanism, "data": answer.data},
            "summary": v.summary,
            "summary_words": v.summary.words(),
            "checkpoint": cp_json(&v.checkpoint),
            "records": v.records.iter().map(|(h, s)| json!({
                "record": h.record.as_str(), "mechanism": h.mechanism, "rule": h.rule, "from": h.from, "to": h.to, "status": s,
                "events": h.events.iter().map(|e| json!({"index": e.index, "action": e.action, "effective": e.effective, "authority": e.authority.as_str()})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "audited_entries": audited,
            "complete": answer.completeness.is_some(),
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
    println!("summary: {}", v.summary.words());
    println!(
        "verified against the checkpoint of {} ({})",
        cp_line(&v.checkpoint),
        policy_line(policy)
    );
    println!("every cited entry is in the log and every status follows from the entries");
    println!(
        "{}",
        complete_note(
            answer.completeness.as_ref(),
            "no record on the route is left out"
        )
    );
    println!("signers' entitlement: {}", audit_note(audited));
}

//! `dfft counterparty`: "may data go from X to organisation O in Y on D?"
//! (statements v2): asks the log, verifies both layers at one checkpoint
//! (the route, complete; the organisation's listing under every programme
//! the route's recognitions require, complete or proven absent), and
//! prints the verdict with its reasons; or re-verifies a saved answer
//! offline.
//!
//! `--name` finds the organisation's id with the registry's search (a
//! search aid: the answer about the id found is what is verified); batches
//! are `dfft check --counterparties`.

use super::{
    client, cp_json, cp_line, date_arg, finish, policy, policy_line, print_json, read_input, usage,
    AnswerArgs, TrustArgs,
};
use clap::Args;
use dfft_client::{ClientError, RouteQuery};
use dfft_core::counterparty::{CounterpartyAnswer, VerifiedCounterparty};
use dfft_core::statement::{Jurisdiction, ListingData};
use serde_json::json;
use std::process::ExitCode;

/// Options of `dfft counterparty`.
#[derive(Args, Debug)]
pub struct CounterpartyArgs {
    /// Where data comes from: a jurisdiction code (DE, EEA).
    #[arg(
        long,
        value_name = "CODE",
        required_unless_present = "answer",
        conflicts_with = "answer"
    )]
    pub from: Option<String>,
    /// Where the organisation is: a jurisdiction code (US).
    #[arg(
        long,
        value_name = "CODE",
        required_unless_present = "answer",
        conflicts_with = "answer"
    )]
    pub to: Option<String>,
    /// The organisation: the programme's id for it (its DPF List id).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present_any = ["answer", "name"],
        conflicts_with_all = ["answer", "name"]
    )]
    pub org: Option<String>,
    /// The organisation by name (or a former name, an LEI, a register id),
    /// found by the registry's organisation search, which must find one.
    #[arg(long, value_name = "NAME", conflicts_with = "answer")]
    pub name: Option<String>,
    /// The day asked about, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE", conflicts_with = "answer")]
    pub at: Option<String>,
    /// The kind of data: hr or non_hr (default: any kind the listing covers).
    #[arg(long, value_name = "KIND", conflicts_with = "answer")]
    pub data: Option<String>,
    /// Base URL of the registry (ignored with --answer).
    #[arg(
        long,
        value_name = "URL",
        env = "DFFT_LOG",
        required_unless_present = "answer"
    )]
    pub log: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub io: AnswerArgs,
}

/// `dfft counterparty`: ask and verify, or re-verify a saved answer.
pub fn run(a: CounterpartyArgs) -> anyhow::Result<ExitCode> {
    finish("counterparty", a.io.client.json, inner(&a))
}

fn inner(a: &CounterpartyArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    if let Some(file) = &a.io.answer {
        let bytes = read_input(file)?;
        let answer: CounterpartyAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            usage(format!(
                "{}: not a counterparty answer: {e}",
                file.display()
            ))
        })?;
        let verified = answer.verify(policy.core(), policy.log_key())?;
        print(&answer, &verified, &policy, a.io.client.json);
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
        mechanism: None,
        data: None,
    };
    let data = a
        .data
        .as_deref()
        .map(ListingData::new)
        .transpose()
        .map_err(|e| usage(format!("--data: {e}")))?;
    let client = client(&need(&a.log, "log")?, a.io.client.timeout, policy.clone())?;
    let org = match (&a.org, &a.name) {
        (Some(o), _) => o.clone(),
        (None, Some(n)) => client.organisation_id(n)?,
        (None, None) => return Err(usage("--org or --name is required")),
    };
    let (answer, verified) = client.counterparty(&q, &org, data)?;
    a.io.save_answer(|| serde_json::to_vec_pretty(&answer))?;
    print(&answer, &verified, &policy, a.io.client.json);
    Ok(ExitCode::SUCCESS)
}

fn print(
    answer: &CounterpartyAnswer,
    v: &VerifiedCounterparty,
    policy: &dfft_client::Policy,
    json_out: bool,
) {
    let r = &answer.route;
    if json_out {
        print_json(&json!({
            "ok": true,
            "question": {"from": r.from, "to": r.to, "at": r.at, "org": answer.org, "data": answer.data},
            "checkpoint": cp_json(&v.route.checkpoint),
            "verdict": v.verdict,
            "verdict_words": v.verdict.words(),
            "route_summary": v.route.summary,
            "complete": true,
            "answer": answer,
        }));
        return;
    }
    println!(
        "{} -> {} in {} on {}{}: {}",
        r.from,
        answer.org,
        r.to,
        r.at,
        answer
            .data
            .map(|d| format!(" ({d} data)"))
            .unwrap_or_default(),
        v.verdict.verdict
    );
    println!("  {}", v.verdict.words());
    println!("route: {}", v.route.summary.words());
    for (id, head) in &v.listings {
        match head {
            Some(h) => println!(
                "listing {id}: {} on {} ({} event(s))",
                h.status_on(r.at)
                    .map_or("not yet in effect", |s| s.as_str()),
                r.at,
                h.events.len()
            ),
            None => println!("listing {id}: never listed (proven absent from the map)"),
        }
    }
    println!(
        "verified against the checkpoint of {} ({})",
        cp_line(&v.route.checkpoint),
        policy_line(policy)
    );
    println!("complete: the route and every listing are proven complete (or absent) by map proofs under the checkpoint's index entry");
}

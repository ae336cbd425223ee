//! `dfft authorities`: the verified listing of every authority ever
//! enrolled, each in its current state, proven complete (no authority and
//! no statement about one left out), or a saved listing re-verified
//! offline.

use super::{
    audit_note, client, complete_note, completeness, cp_json, cp_line, finish, load_state, policy,
    policy_line, print_json, read_input, save_state, usage, AnswerArgs, TrustArgs,
};
use clap::Args;
use dfft_client::offline::verify_authorities;
use dfft_client::{ClientError, Policy};
use dfft_core::answer::VerifiedAuthorities;
use dfft_core::wire;
use serde_json::json;
use std::process::ExitCode;

/// Options of `dfft authorities`.
#[derive(Args, Debug)]
pub struct AuthoritiesArgs {
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
    #[command(flatten)]
    pub io: AnswerArgs,
}

/// `dfft authorities`: the verified authority listing.
pub fn run(a: AuthoritiesArgs) -> anyhow::Result<ExitCode> {
    finish("authorities", a.io.client.json, authorities_inner(&a))
}

fn authorities_inner(a: &AuthoritiesArgs) -> Result<ExitCode, ClientError> {
    let policy = policy(&a.trust)?;
    if let Some(file) = &a.io.answer {
        let listing: wire::Authorities = serde_json::from_slice(&read_input(file)?)
            .map_err(|e| ClientError::Usage(format!("not an authority listing: {e}")))?;
        let verified = verify_authorities(
            &listing,
            &policy,
            completeness(a.io.client.accept_incomplete),
        )?;
        print_listing(&listing, &verified, &policy, a.io.client.json);
        return Ok(ExitCode::SUCCESS);
    }
    let log = a.log.clone().ok_or_else(|| usage("--log is required"))?;
    let client = client(&log, a.io.client.timeout, policy.clone())?
        .with_completeness(completeness(a.io.client.accept_incomplete));
    let mut state = load_state(a.io.client.state.as_ref(), &policy)?;
    let (listing, verified) = client.authorities()?;
    if a.io.client.state.is_some() {
        client.observe(&mut state, &verified.checkpoint)?;
    }
    save_state(a.io.client.state.as_ref(), &state)?;
    a.io.save_answer(|| serde_json::to_vec_pretty(&listing))?;
    print_listing(&listing, &verified, &policy, a.io.client.json);
    Ok(ExitCode::SUCCESS)
}

fn print_listing(
    listing: &wire::Authorities,
    v: &VerifiedAuthorities,
    policy: &Policy,
    json_out: bool,
) {
    if json_out {
        print_json(&json!({
            "ok": true,
            "checkpoint": cp_json(&v.checkpoint),
            "authorities": v.authorities.iter().map(|a| json!({
                "authority": a.id.as_str(),
                "name": a.name,
                "competence": a.competence.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                "keys": a.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                "retired": a.retired,
                "set_at_index": a.set_at_index,
            })).collect::<Vec<_>>(),
            "complete": listing.completeness.is_some(),
            "listing": listing,
        }));
        return;
    }
    for a in &v.authorities {
        let competence: Vec<String> = a.competence.iter().map(|c| c.to_string()).collect();
        println!(
            "{}  {}{}  competence {}  {} key(s)  set by entry {}",
            a.id.as_str(),
            a.name,
            if a.retired { " (retired)" } else { "" },
            competence.join(","),
            a.keys.len(),
            a.set_at_index
        );
    }
    println!(
        "{} authorities, verified against the checkpoint of {} ({})",
        v.authorities.len(),
        cp_line(&v.checkpoint),
        policy_line(policy)
    );
    println!("each state is rebuilt from its statements, every one of them in the log");
    println!(
        "{}",
        complete_note(
            listing.completeness.as_ref(),
            "no authority and no statement about one is left out"
        )
    );
    println!("signers' entitlement: {}", audit_note(None));
}

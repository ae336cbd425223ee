//! `dfft verify`: check an offline c2sp.org/tlog-proof file against the
//! pinned log key, with no request to the log.

use super::{cp_json, cp_line, finish, policy, policy_line, print_json, read_input, TrustArgs};
use clap::Args;
use dfft_client::offline::verify_tlog_proof;
use dfft_client::ClientError;
use dfft_core::hex;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

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

/// `dfft verify FILE.tlog-proof --log-key VKEY`.
pub fn run(a: VerifyArgs) -> anyhow::Result<ExitCode> {
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

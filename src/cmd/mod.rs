//! Verifying client commands, one file each: `verify`, `route`, `check`, `record`, `authorities`,
//! `audit`, `monitor`; and `witness`, which runs a witness server (its
//! own module, sharing nothing below). They trust the pinned log key (and witness policy)
//! alone and check everything the log says with `dfft-client`. This module
//! holds what they share: the trust options and policy, state and output
//! files, error reporting and exit codes, and the printing of checkpoints,
//! policies and record heads; `progress` the progress report of replays.
//! The checks themselves live in `dfft-client`, not here.
//!
//! Exit codes: 0 ok; 1 a check or request failed; 2 bad usage or input
//! (keys, arguments, files, the state file); 3 the log is inconsistent (a
//! fork or a rollback: the evidence is printed, keep it).

pub mod audit;
pub mod authorities;
pub mod check;
pub mod check_parties;
pub mod counterparty;
pub mod monitor;
mod progress;
pub mod record;
pub mod route;
pub mod verify;
pub mod witness;

use crate::exit;
use clap::Args;
use dfft_client::{Client, ClientError, HttpTransport, Policy, State};
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::hex;
use dfft_core::note::VerifierKey;
use dfft_core::statement::registry::RecordHead;
use dfft_core::statement::Date;
use serde_json::{json, Value};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the client trusts.
#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// The log's verifier key to pin (`origin+hexid+base64`, as `dfft serve`
    /// prints it). Every checkpoint must be signed by it. May be left out
    /// with a --witness-policy that lists exactly one log; with both, the
    /// key must be one of the policy's logs.
    #[arg(long = "log-key", value_name = "VKEY", env = "DFFT_LOG_KEY")]
    pub log_key: Option<String>,
    /// A C2SP tlog-policy file: the logs, the witnesses (cosignature/v1 or
    /// subtree/v1 keys) and the quorum every checkpoint must meet
    /// (docs/witnesses.md, "Client policy"). Not with --witness or
    /// --min-witnesses.
    #[arg(
        long = "witness-policy",
        value_name = "FILE",
        env = "DFFT_WITNESS_POLICY"
    )]
    pub witness_policy: Option<PathBuf>,
    /// A witness's verifier key (cosignature/v1 or subtree/v1); repeat for
    /// several.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned each checkpoint
    /// (default: all of them).
    #[arg(long = "min-witnesses", value_name = "K")]
    pub min_witnesses: Option<usize>,
}

// ---------------------------------------------------------------- helpers

fn usage(msg: impl Into<String>) -> ClientError {
    ClientError::Usage(msg.into())
}

/// The options of every command that asks the log for answers (`route`,
/// `record`, `authorities`, `check`): the client state, completeness,
/// timeout and output.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Client state file: every answer's checkpoint must be consistent with
    /// the last checkpoint verified (the file is created and kept up to date).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Accept an answer that does not prove it is complete (from a server
    /// older than the index): it then proves only that the cited entries
    /// are in the log, and the output says so.
    #[arg(long)]
    pub accept_incomplete: bool,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The options every one-answer command shares (`route`, `record`,
/// `authorities`): a saved answer to re-verify offline, or where to save
/// the verified one, and the [`ClientArgs`].
#[derive(Args, Debug)]
pub struct AnswerArgs {
    /// Re-verify a saved answer (from --save) offline instead of asking the log.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["save", "state"])]
    pub answer: Option<PathBuf>,
    /// Save the verified answer (JSON) to FILE, to re-verify it later with --answer.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

impl AnswerArgs {
    /// Writes the verified answer (`json`: its pretty JSON, made only if
    /// needed) atomically to `--save`, if given.
    fn save_answer(
        &self,
        json: impl FnOnce() -> serde_json::Result<Vec<u8>>,
    ) -> Result<(), ClientError> {
        let Some(p) = &self.save else {
            return Ok(());
        };
        let mut bytes = json().map_err(|e| usage(e.to_string()))?;
        bytes.push(b'\n');
        write_output(p, &bytes)
    }
}

/// The trust policy of the flags: a --witness-policy file (pinned to its
/// one log, or to --log-key), or --log-key with k of n --witness keys.
fn policy(t: &TrustArgs) -> Result<Policy, ClientError> {
    let log_key = t
        .log_key
        .as_deref()
        .map(|k| VerifierKey::parse(k.trim()).map_err(|e| usage(format!("log key {k:?}: {e}"))))
        .transpose()?;
    if let Some(path) = &t.witness_policy {
        if !t.witnesses.is_empty() || t.min_witnesses.is_some() {
            return Err(usage(
                "--witness and --min-witnesses cannot be combined with --witness-policy: list the witnesses and the quorum in the policy file",
            ));
        }
        let bytes = read_input(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| usage(format!("{}: the policy file is not UTF-8", path.display())))?;
        let core = dfft_core::policy::Policy::parse(text)
            .map_err(|e| usage(format!("{}: {e}", path.display())))?;
        return Policy::from_policy(core, log_key)
            .map_err(|e| usage(format!("{}: {e}", path.display())));
    }
    let Some(log_key) = log_key else {
        return Err(usage(
            "no log key: give --log-key (or DFFT_LOG_KEY), or a --witness-policy file listing the log",
        ));
    };
    let witnesses = t
        .witnesses
        .iter()
        .map(|w| VerifierKey::parse(w.trim()).map_err(|e| usage(format!("witness key {w:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let min = t.min_witnesses.unwrap_or(witnesses.len());
    Policy::from_keys(log_key, witnesses, min)
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
        ClientError::Incomplete(_) => "incomplete",
        ClientError::Withheld { .. } => "withheld",
        ClientError::Absent { .. } => "absent",
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
    if !p.core().requires_cosignatures() {
        format!("signed by the log key {}", p.log_key())
    } else {
        format!(
            "signed by the log key {} and cosigned by the witness quorum {} ({} trusted witnesses)",
            p.log_key(),
            p.describe_quorum(),
            p.witnesses().len()
        )
    }
}

/// Whether answers must prove they are complete (`--accept-incomplete`).
fn completeness(accept_incomplete: bool) -> dfft_client::offline::Completeness {
    if accept_incomplete {
        dfft_client::offline::Completeness::AcceptIncomplete
    } else {
        dfft_client::offline::Completeness::Required
    }
}

/// The completeness line of an answer that verified.
fn complete_note(part: Option<&dfft_core::map::complete::Completeness>, what: &str) -> String {
    match part {
        Some(_) => format!("complete: the map proofs under the checkpoint's index entry show {what}"),
        None => "NOT proven complete: the answer carries no completeness proof (accepted with --accept-incomplete); it may leave records or events out".to_string(),
    }
}

fn audit_note(audited: Option<u64>) -> String {
    match audited {
        Some(n) => format!("checked by replaying all {n} entries: every signer was entitled, and the replay agrees that nothing is left out"),
        None => "not checked (add --audit to replay the log)".to_string(),
    }
}

fn print_head(h: &RecordHead, status: &str, at: Date) {
    println!(
        "  {}  [{}]  {} -> {}  {status}",
        h.record.as_str(),
        h.label(),
        h.from,
        h.to
    );
    if let Some(t) = &h.rule {
        let categories: Vec<&str> = t.categories.iter().map(|c| c.as_str()).collect();
        println!("    applies to: {}", categories.join(", "));
        if !t.satisfied_by.is_empty() {
            let by: Vec<&str> = t.satisfied_by.iter().map(|r| r.as_str()).collect();
            println!("    satisfied by: {}", by.join(", "));
        }
    }
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

/// Logging to stderr for the long-running commands (`serve`, `demo`,
/// `witness`): `RUST_LOG`, default `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

//! Authority tools: `keygen`, `authority enroll|update|retire`, `attest`,
//! `submit`. They build statements, validate them with the same strict
//! parser the registry uses, sign them as DSSE envelopes, and submit them.

use crate::exit;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use dfft_core::note::{KeyKind, KeyName, SignerKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::Statement;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Options of `dfft keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Key name: the authority id for authority keys (e.g. `eu.ec`).
    #[arg(long)]
    pub name: String,
    /// Where to write the private key (mode 0600). Refuses to overwrite.
    #[arg(long)]
    pub out: PathBuf,
    /// Make a witness cosignature (cosignature/v1) key instead.
    #[arg(long)]
    pub witness: bool,
}

/// `dfft keygen`: prints the verifier key; writes the private key.
pub fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let name = match KeyName::new(&a.name) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    if a.out.exists() {
        eprintln!("error: {} exists; not overwriting a key", a.out.display());
        return Ok(ExitCode::from(exit::USAGE));
    }
    let kind = if a.witness {
        KeyKind::CosignatureV1
    } else {
        KeyKind::Ed25519
    };
    let key = SignerKey::from_seed_kind(name, kind, dfft_server::keys::random_seed()?);
    dfft_server::keys::write_secret(&a.out, &key.to_private_string())?;
    println!("{}", key.verifier());
    eprintln!(
        "private key written to {} (keep it secret)",
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where to send a signed envelope, shared by the signing commands.
#[derive(Args, Debug, Clone)]
pub struct Output {
    /// Submit to this registry (base URL, e.g. http://127.0.0.1:8080).
    #[arg(long)]
    pub log: Option<String>,
    /// Write the signed envelope here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --log: write the c2sp.org/tlog-proof of the receipt here.
    #[arg(long)]
    pub proof_out: Option<PathBuf>,
    /// Print the receipt as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dfft authority ...`.
#[derive(Subcommand, Debug)]
pub enum AuthorityCmd {
    /// Enrol a new authority.
    Enroll(AuthorityArgs),
    /// Replace an authority's name, competence and key set (key rotation).
    Update(AuthorityArgs),
    /// Retire an authority: no further statements accepted from it.
    Retire(RetireArgs),
}

/// Options of `authority enroll|update`.
#[derive(Args, Debug)]
pub struct AuthorityArgs {
    /// Authority id (lowercase letters, digits, '.', '-').
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Jurisdictions whose outgoing transfers it rules on (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub competence: Vec<String>,
    /// Authority verifier key (repeatable); its name must be the id.
    #[arg(long = "key", required = true)]
    pub keys: Vec<String>,
    /// Governance private key file (repeatable, as many as the threshold).
    #[arg(long = "governance-key", required = true)]
    pub governance_keys: Vec<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

/// Options of `authority retire`.
#[derive(Args, Debug)]
pub struct RetireArgs {
    /// Authority id.
    #[arg(long)]
    pub id: String,
    /// Governance private key file (repeatable).
    #[arg(long = "governance-key", required = true)]
    pub governance_keys: Vec<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

fn load_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SignerKey>> {
    paths
        .iter()
        .map(|p| dfft_server::keys::load(p).map_err(anyhow::Error::from))
        .collect()
}

/// Validates a statement given as JSON with the registry's strict parser and
/// signs it. Returns `Err` with exit code USAGE on invalid input.
pub fn sign_statement(v: Value, keys: &[SignerKey]) -> Result<Envelope, String> {
    let bytes = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    let st = Statement::parse(&bytes).map_err(|e| format!("invalid statement: {e}"))?;
    let payload = st.to_payload().map_err(|e| e.to_string())?;
    let refs: Vec<&SignerKey> = keys.iter().collect();
    Envelope::sign(payload, &refs).map_err(|e| e.to_string())
}

fn emit(env: &Envelope, out: &Output) -> anyhow::Result<ExitCode> {
    let text = String::from_utf8(env.canonical_bytes()).context("envelope")?;
    if let Some(p) = &out.out {
        std::fs::write(p, format!("{text}\n"))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    match &out.log {
        Some(url) => submit_bytes(url, text.as_bytes(), out),
        None => {
            if out.out.is_none() {
                println!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `dfft authority ...`.
pub fn authority(cmd: AuthorityCmd) -> anyhow::Result<ExitCode> {
    let (v, gov, out) = match cmd {
        AuthorityCmd::Enroll(a) => (authority_json("enroll", &a), a.governance_keys, a.output),
        AuthorityCmd::Update(a) => (authority_json("update", &a), a.governance_keys, a.output),
        AuthorityCmd::Retire(a) => (
            json!({"kind": "authority", "action": "retire", "authority": a.id, "issued_at": dfft_server::timestamp_now().as_str()}),
            a.governance_keys,
            a.output,
        ),
    };
    let keys = load_keys(&gov)?;
    match sign_statement(v, &keys) {
        Ok(env) => emit(&env, &out),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(exit::USAGE))
        }
    }
}

fn authority_json(action: &str, a: &AuthorityArgs) -> Value {
    json!({
        "kind": "authority", "action": action, "authority": a.id, "name": a.name,
        "competence": a.competence, "keys": a.keys,
        "issued_at": dfft_server::timestamp_now().as_str(),
    })
}

/// Options of `dfft attest`.
#[derive(Args, Debug)]
pub struct AttestArgs {
    /// The authority's private key file (its name is the authority id).
    #[arg(long)]
    pub key: PathBuf,
    /// A JSON file with the statement (as in data/recognitions.json); flags
    /// below fill in or override its fields.
    #[arg(long)]
    pub json_file: Option<PathBuf>,
    /// Record id, e.g. `eu.ec/adequacy/jp`.
    #[arg(long)]
    pub record: Option<String>,
    /// granted, amended, renewed, suspended, reinstated, invalidated, revoked, expired.
    #[arg(long)]
    pub action: Option<String>,
    /// adequacy, data_bridge, designation, scc, bcr, certification, code_of_conduct, cbpr, dpf, other.
    #[arg(long)]
    pub mechanism: Option<String>,
    /// Origin jurisdiction (e.g. EEA, DE).
    #[arg(long)]
    pub from: Option<String>,
    /// Destination jurisdiction, or `*`.
    #[arg(long)]
    pub to: Option<String>,
    /// Effective date, YYYY-MM-DD.
    #[arg(long)]
    pub effective: Option<String>,
    /// Expiry date, YYYY-MM-DD.
    #[arg(long)]
    pub expires: Option<String>,
    /// Scope text.
    #[arg(long)]
    pub scope: Option<String>,
    /// Legal instrument id, SCHEME:value (e.g. CELEX:32019D0419).
    #[arg(long)]
    pub legal_id: Option<String>,
    /// Legal instrument title.
    #[arg(long)]
    pub legal_title: Option<String>,
    /// Legal instrument URL.
    #[arg(long)]
    pub legal_url: Option<String>,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
    #[command(flatten)]
    pub output: Output,
}

/// `dfft attest`.
pub fn attest(a: AttestArgs) -> anyhow::Result<ExitCode> {
    let key = dfft_server::keys::load(&a.key)?;
    let mut obj: Map<String, Value> = match &a.json_file {
        Some(p) => match serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        ) {
            Ok(Value::Object(m)) => m,
            _ => {
                eprintln!("error: {} must hold a JSON object", p.display());
                return Ok(ExitCode::from(exit::USAGE));
            }
        },
        None => Map::new(),
    };
    obj.insert("kind".into(), json!("recognition"));
    obj.insert("authority".into(), json!(key.name()));
    for (k, v) in [
        ("record", &a.record),
        ("action", &a.action),
        ("mechanism", &a.mechanism),
        ("from", &a.from),
        ("to", &a.to),
        ("effective", &a.effective),
        ("expires", &a.expires),
        ("scope", &a.scope),
        ("notes", &a.notes),
    ] {
        if let Some(v) = v {
            obj.insert(k.into(), json!(v));
        }
    }
    if a.legal_id.is_some() || a.legal_title.is_some() || a.legal_url.is_some() {
        let mut lr = obj
            .get("legal_reference")
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (k, v) in [
            ("id", &a.legal_id),
            ("title", &a.legal_title),
            ("url", &a.legal_url),
        ] {
            if let Some(v) = v {
                lr.insert(k.into(), json!(v));
            }
        }
        obj.insert("legal_reference".into(), Value::Object(lr));
    }
    obj.entry("issued_at")
        .or_insert_with(|| json!(dfft_server::timestamp_now().as_str()));
    match sign_statement(Value::Object(obj), &[key]) {
        Ok(env) => emit(&env, &a.output),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(exit::USAGE))
        }
    }
}

/// Options of `dfft submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The signed envelope (JSON file; `-` for standard input).
    pub file: PathBuf,
    /// The registry's base URL.
    #[arg(long)]
    pub log: String,
    /// Write the c2sp.org/tlog-proof of the receipt here.
    #[arg(long)]
    pub proof_out: Option<PathBuf>,
    /// Print the receipt as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dfft submit`.
pub fn submit(a: SubmitArgs) -> anyhow::Result<ExitCode> {
    let bytes = read_input(&a.file)?;
    let out = Output {
        log: Some(a.log.clone()),
        out: None,
        proof_out: a.proof_out,
        json: a.json,
    };
    submit_bytes(&a.log, &bytes, &out)
}

fn read_input(p: &Path) -> anyhow::Result<Vec<u8>> {
    if p.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
        Ok(v)
    } else {
        std::fs::read(p).with_context(|| format!("reading {}", p.display()))
    }
}

/// The outcome of one POST /v1/entries.
pub enum Submitted {
    /// 201 or 200 with the receipt.
    Ok { created: bool, receipt: Value },
    /// The registry refused it.
    Refused { status: u16, body: Value },
}

/// POSTs an envelope.
pub fn post_entry(base: &str, bytes: &[u8]) -> anyhow::Result<Submitted> {
    let url = format!("{}/v1/entries", base.trim_end_matches('/'));
    match ureq::post(&url)
        .set("Content-Type", "application/json")
        .send_bytes(bytes)
    {
        Ok(r) => {
            let created = r.status() == 201;
            let receipt: Value = r.into_json().context("reading the receipt")?;
            Ok(Submitted::Ok { created, receipt })
        }
        Err(ureq::Error::Status(status, r)) => {
            let body: Value = r.into_json().unwrap_or(Value::Null);
            Ok(Submitted::Refused { status, body })
        }
        Err(e) => Err(anyhow::anyhow!("POST {url}: {e}")),
    }
}

fn submit_bytes(base: &str, bytes: &[u8], out: &Output) -> anyhow::Result<ExitCode> {
    match post_entry(base, bytes)? {
        Submitted::Ok { created, receipt } => {
            if let (Some(p), Some(tp)) = (
                &out.proof_out,
                receipt.get("tlog_proof").and_then(|v| v.as_str()),
            ) {
                std::fs::write(p, tp).with_context(|| format!("writing {}", p.display()))?;
            }
            if out.json {
                println!("{}", serde_json::to_string_pretty(&receipt)?);
            } else {
                println!(
                    "{} at index {}",
                    if created { "logged" } else { "already logged" },
                    receipt["index"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Submitted::Refused { status, body } => {
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"status": status, "error": body}))?
                );
            }
            eprintln!(
                "refused ({status}): {}",
                body.get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("no message")
            );
            Ok(ExitCode::from(exit::FAILED))
        }
    }
}

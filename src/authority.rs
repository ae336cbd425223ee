//! Authority tools: `keygen`, `authority enroll|update|retire`, `attest`,
//! `submit`. They build statements, validate them with the same strict
//! parser the registry uses, sign them as DSSE envelopes, and submit them
//! through `dfft_client`, which returns only receipts it verified against
//! the log key (`--log-key`, or, trust on first use and with a warning, the
//! key the registry announces).
//!
//! Why this file is long: the four authority commands share their output,
//! binding and submission options; to be split under `src/cmd/` like the
//! client commands.

use crate::exit;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use dfft_client::{announce, Client, ClientError, HttpTransport, Policy, VerifiedReceipt};
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
    let kind = if a.witness {
        KeyKind::CosignatureV1
    } else {
        KeyKind::Ed25519
    };
    let key = SignerKey::from_seed_kind(name, kind, dfft_keys::random_seed()?);
    // Refused: an existing file or link at --out, or a leftover temp file.
    if let Err(e) = dfft_keys::write_secret(&a.out, &key.to_private_string()) {
        use dfft_keys::KeyError;
        if let KeyError::Exists { .. } | KeyError::Symlink { .. } | KeyError::LeftoverTemp { .. } =
            e
        {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
        return Err(e.into());
    }
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
    /// With --log: the log's verifier key, to check the receipt against
    /// (default: the key the registry announces at /v1/info, trusted on
    /// first use, with a warning).
    #[arg(long, value_name = "VKEY", requires = "log")]
    pub log_key: Option<String>,
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

/// Which log a governance statement is for, and which state it replaces
/// (statements v2: `log` and `supersedes`).
#[derive(Args, Debug, Clone)]
pub struct Binding {
    /// The origin of the log this statement is for (default with --log:
    /// asked from the registry's /v1/info).
    #[arg(long)]
    pub origin: Option<String>,
    /// update/retire: the index of the authority statement this one
    /// replaces, the authority's current `set_at_index` (default with
    /// --log: asked from the registry's /v1/authorities).
    #[arg(long)]
    pub supersedes: Option<u64>,
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
    pub binding: Binding,
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
    pub binding: Binding,
    #[command(flatten)]
    pub output: Output,
}

fn load_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SignerKey>> {
    paths
        .iter()
        .map(|p| dfft_keys::load(p).map_err(anyhow::Error::from))
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
        Some(url) => match log_client(url, out.log_key.as_deref()) {
            Ok(client) => submit_bytes(&client, text.as_bytes(), out),
            Err(code) => Ok(code),
        },
        None => {
            if out.out.is_none() {
                println!("{text}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// How long one request to the registry may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A verifying client of the registry at `url` that trusts `log_key`, or,
/// without one, the key the registry announces at `/v1/info`: trust on
/// first use, said in a warning. Errors are printed; the exit code returned.
pub fn log_client(url: &str, log_key: Option<&str>) -> Result<Client<HttpTransport>, ExitCode> {
    let usage = |e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        ExitCode::from(exit::USAGE)
    };
    let transport = HttpTransport::new(url, TIMEOUT).map_err(|e| usage(&e))?;
    let policy = match log_key {
        Some(k) => Policy::parse(k).map_err(|e| usage(&e))?,
        None => {
            let info = announce::info(&transport).map_err(|e| {
                eprintln!("error: asking the registry for its log key: {e}");
                ExitCode::from(exit::FAILED)
            })?;
            let policy = Policy::parse(&info.log_vkey).map_err(|e| {
                eprintln!("error: the registry announces an unusable log key: {e}");
                ExitCode::from(exit::FAILED)
            })?;
            eprintln!(
                "warning: no --log-key given: receipts are checked against the key the registry \
                 itself announces at /v1/info ({}), trusted on first use; pin it with --log-key",
                info.log_vkey
            );
            policy
        }
    };
    Ok(Client::new(transport, policy))
}

/// `dfft authority ...`.
pub fn authority(cmd: AuthorityCmd) -> anyhow::Result<ExitCode> {
    let (mut v, id, gov, binding, out) = match cmd {
        AuthorityCmd::Enroll(a) => (
            authority_json("enroll", &a),
            a.id,
            a.governance_keys,
            a.binding,
            a.output,
        ),
        AuthorityCmd::Update(a) => (
            authority_json("update", &a),
            a.id,
            a.governance_keys,
            a.binding,
            a.output,
        ),
        AuthorityCmd::Retire(a) => (
            json!({"kind": "authority", "action": "retire", "authority": a.id, "issued_at": dfft_keys::timestamp_now().as_str()}),
            a.id,
            a.governance_keys,
            a.binding,
            a.output,
        ),
    };
    let enroll = v["action"] == "enroll";
    match bind(&binding, &out, &id, enroll) {
        Ok((origin, supersedes)) => {
            v["log"] = json!(origin);
            if let Some(n) = supersedes {
                v["supersedes"] = json!(n);
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    }
    let keys = load_keys(&gov)?;
    match sign_statement(v, &keys) {
        Ok(env) => emit(&env, &out),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(exit::USAGE))
        }
    }
}

/// The `log` and `supersedes` of a governance statement: as given, or
/// asked from the registry of `--log` (the origin is the `--log-key`'s
/// name when one is given).
fn bind(
    b: &Binding,
    out: &Output,
    id: &str,
    enroll: bool,
) -> anyhow::Result<(String, Option<u64>)> {
    let transport = || -> anyhow::Result<HttpTransport> {
        let url = out.log.as_deref().ok_or_else(|| {
            anyhow::anyhow!("give --origin and, for update/retire, --supersedes (or --log URL to ask the registry)")
        })?;
        Ok(HttpTransport::new(url, TIMEOUT)?)
    };
    let key_origin = match &out.log_key {
        Some(k) => Some(Policy::parse(k)?.origin().to_owned()),
        None => None,
    };
    let origin = match (&b.origin, key_origin) {
        (Some(o), _) => o.clone(),
        (None, Some(o)) => o,
        (None, None) => announce::info(&transport()?)?.origin,
    };
    if enroll {
        if b.supersedes.is_some() {
            anyhow::bail!("--supersedes is for update and retire; an enrolment replaces nothing");
        }
        return Ok((origin, None));
    }
    let supersedes = match b.supersedes {
        Some(n) => n,
        None => announce::authorities(&transport()?)?
            .authorities
            .iter()
            .find(|a| a.authority == id)
            .map(|a| a.set_at_index)
            .ok_or_else(|| anyhow::anyhow!("the registry lists no authority {id:?}"))?,
    };
    Ok((origin, Some(supersedes)))
}

fn authority_json(action: &str, a: &AuthorityArgs) -> Value {
    json!({
        "kind": "authority", "action": action, "authority": a.id, "name": a.name,
        "competence": a.competence, "keys": a.keys,
        "issued_at": dfft_keys::timestamp_now().as_str(),
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
    let key = dfft_keys::load(&a.key)?;
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
        .or_insert_with(|| json!(dfft_keys::timestamp_now().as_str()));
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
    /// Signed envelopes (JSON files; `-` for standard input). Two or more go
    /// to the registry in batches (`POST /v1/entries/batch`), in the order
    /// given, which is then their order in the log.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The registry's base URL.
    #[arg(long)]
    pub log: String,
    /// The log's verifier key, to check receipts against (default: the key
    /// the registry announces at /v1/info, trusted on first use, with a
    /// warning).
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
    /// With one file: write the c2sp.org/tlog-proof of the receipt here.
    #[arg(long, conflicts_with = "proof_dir")]
    pub proof_out: Option<PathBuf>,
    /// Write the c2sp.org/tlog-proof of each logged envelope to
    /// `DIR/<file name>.tlog-proof`.
    #[arg(long, value_name = "DIR")]
    pub proof_dir: Option<PathBuf>,
    /// Envelopes per batch request (the registry takes at most 1,024 and
    /// 8 MiB per request by default; requests are also cut at 4 MiB).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub batch_size: u16,
    /// Print the receipt (one file) or the results (several) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dfft submit`.
pub fn submit(a: SubmitArgs) -> anyhow::Result<ExitCode> {
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        eprintln!("error: standard input (-) can be given only once");
        return Ok(ExitCode::from(exit::USAGE));
    }
    if let Some(d) = &a.proof_dir {
        if !d.is_dir() {
            eprintln!("error: --proof-dir {} is not a directory", d.display());
            return Ok(ExitCode::from(exit::USAGE));
        }
    }
    if a.files.len() > 1 && a.proof_out.is_some() {
        eprintln!("error: --proof-out takes one file; use --proof-dir for several");
        return Ok(ExitCode::from(exit::USAGE));
    }
    let client = match log_client(&a.log, a.log_key.as_deref()) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if a.files.len() > 1 {
        return submit_many(&client, &a);
    }
    let file = &a.files[0];
    let bytes = read_input(file)?;
    let out = Output {
        log: Some(a.log.clone()),
        log_key: a.log_key.clone(),
        out: None,
        proof_out: a
            .proof_out
            .clone()
            .or_else(|| a.proof_dir.as_ref().map(|d| proof_path(d, file))),
        json: a.json,
    };
    submit_bytes(&client, &bytes, &out)
}

/// Where `--proof-dir` puts the proof of `file`.
fn proof_path(dir: &Path, file: &Path) -> PathBuf {
    let name = match file.file_name() {
        Some(n) if file.as_os_str() != "-" => n.to_string_lossy().into_owned(),
        _ => "stdin".to_owned(),
    };
    dir.join(format!("{name}.tlog-proof"))
}

/// What happened to one file of a batched submission.
struct FileResult {
    file: PathBuf,
    status: Option<u16>,
    index: Option<u64>,
    error: Option<String>,
}

/// `dfft submit` of several files: batches of at most `--batch-size`
/// envelopes and 4 MiB. Every logged envelope's receipt is verified by the
/// client before it is reported (checkpoint signature, leaf hash,
/// inclusion proof); one that does not hold stops the command.
fn submit_many(client: &Client<HttpTransport>, a: &SubmitArgs) -> anyhow::Result<ExitCode> {
    const MAX_REQUEST: usize = 4 << 20;
    let mut results = Vec::with_capacity(a.files.len());
    // (file, canonical entry bytes) waiting for the next request.
    let mut pending: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut pending_bytes = 0usize;
    for (n, file) in a.files.iter().enumerate() {
        let parsed = read_input(file).and_then(|b| {
            Envelope::parse(&b).map_err(|e| anyhow::anyhow!("not a valid DSSE envelope: {e}"))
        });
        match parsed {
            Ok(env) => {
                let entry = env.canonical_bytes();
                pending_bytes += entry.len() + 1;
                pending.push((file.clone(), entry));
            }
            Err(e) => results.push(FileResult {
                file: file.clone(),
                status: None,
                index: None,
                error: Some(format!("{e:#}")),
            }),
        }
        let last = n + 1 == a.files.len();
        if !pending.is_empty()
            && (last || pending.len() == usize::from(a.batch_size) || pending_bytes >= MAX_REQUEST)
        {
            match post_batch(client, &pending, a.proof_dir.as_deref())? {
                Ok(r) => results.extend(r),
                Err(code) => return Ok(code),
            }
            pending.clear();
            pending_bytes = 0;
        }
    }
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    if a.json {
        let v: Vec<Value> = results
            .iter()
            .map(|r| {
                json!({
                    "file": r.file.display().to_string(),
                    "status": r.status,
                    "index": r.index,
                    "error": r.error,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &results {
            match (&r.error, r.status, r.index) {
                (None, Some(201), Some(i)) => println!("{}: logged at index {i}", r.file.display()),
                (None, _, Some(i)) => println!("{}: already logged at index {i}", r.file.display()),
                (e, status, _) => eprintln!(
                    "{}: refused{}: {}",
                    r.file.display(),
                    status.map(|s| format!(" ({s})")).unwrap_or_default(),
                    e.as_deref().unwrap_or("no message")
                ),
            }
        }
    }
    eprintln!(
        "{} of {} envelopes logged, {failed} refused",
        results.len() - failed,
        results.len()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    })
}

/// One `POST /v1/entries/batch` through the verifying client: a result per
/// file, or, when the batch as a whole failed or its answer does not
/// verify, the exit code (the reason printed).
fn post_batch(
    client: &Client<HttpTransport>,
    batch: &[(PathBuf, Vec<u8>)],
    proof_dir: Option<&Path>,
) -> anyhow::Result<Result<Vec<FileResult>, ExitCode>> {
    let entries: Vec<&[u8]> = batch.iter().map(|(_, e)| e.as_slice()).collect();
    let answers = match client.submit_batch(&entries) {
        Ok(a) => a,
        Err(e) => {
            match &e {
                ClientError::Refused(r) => eprintln!(
                    "error: the registry refused the whole batch ({}): {}",
                    r.status, r.message
                ),
                e => eprintln!("error: {}", failure(e)),
            }
            return Ok(Err(ExitCode::from(exit::FAILED)));
        }
    };
    let mut out = Vec::with_capacity(batch.len());
    for ((file, _), answer) in batch.iter().zip(answers) {
        out.push(match answer {
            Ok(v) => {
                if let Some(dir) = proof_dir {
                    let p = proof_path(dir, file);
                    std::fs::write(&p, v.tlog_proof().to_text())
                        .with_context(|| format!("writing {}", p.display()))?;
                }
                FileResult {
                    file: file.clone(),
                    status: Some(if v.created { 201 } else { 200 }),
                    index: Some(v.index),
                    error: None,
                }
            }
            Err(r) => FileResult {
                file: file.clone(),
                status: Some(r.status),
                index: None,
                error: Some(if r.message.is_empty() {
                    "refused without a message".to_owned()
                } else {
                    r.message
                }),
            },
        });
    }
    Ok(Ok(out))
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

/// What to print for a submission that failed other than by a refusal.
fn failure(e: &ClientError) -> String {
    match e {
        ClientError::Unsent { .. } | ClientError::SubmitFailed { .. } => e.to_string(),
        e => format!(
            "the registry's receipt does not verify, so it proves nothing (the envelope may \
             still be logged): {e}"
        ),
    }
}

/// One `POST /v1/entries` through the verifying client, reported.
fn submit_bytes(
    client: &Client<HttpTransport>,
    bytes: &[u8],
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let v: VerifiedReceipt = match client.submit(bytes) {
        Ok(v) => v,
        Err(ClientError::Refused(r)) => {
            if out.json {
                let body = json!({"error": r.code, "message": r.message});
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"status": r.status, "error": body}))?
                );
            }
            eprintln!("refused ({}): {}", r.status, r.message);
            return Ok(ExitCode::from(exit::FAILED));
        }
        Err(ClientError::Usage(m)) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(exit::USAGE));
        }
        Err(e) => {
            eprintln!("error: {}", failure(&e));
            return Ok(ExitCode::from(exit::FAILED));
        }
    };
    if let Some(p) = &out.proof_out {
        std::fs::write(p, v.tlog_proof().to_text())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if out.json {
        println!("{}", serde_json::to_string_pretty(&v.to_wire())?);
    } else {
        println!(
            "{} at index {}",
            if v.created {
                "logged"
            } else {
                "already logged"
            },
            v.index
        );
    }
    Ok(ExitCode::SUCCESS)
}

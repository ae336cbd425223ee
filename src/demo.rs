//! `dfft demo`: a registry loaded with real recognition histories, signed
//! with generated DEMO keys: the EU's of `data/recognitions.json` (59
//! events: every adequacy decision, Safe Harbor, Privacy Shield, the Data
//! Privacy Framework, SCCs), then the world's of `data/world.json` (UK
//! adequacy regulations and data bridges, the IDTA, Japan's designations,
//! the Swiss recognition of the DPF, Brazil's of the EU, the US
//! qualifying-state designation, APEC and Global CBPR membership), less
//! the US Department of Commerce enrolled as the administrator of the
//! programmes its records describe ([`PROGRAMME_ADMINISTRATORS`]), then the
//! national rules and other authorities' recognitions of `data/rules.json`
//! (China, Türkiye, Saudi Arabia, Viet Nam, Korea, Switzerland, Argentina,
//! Hong Kong, Brazil, New Zealand: v1 recognitions and v2 rules).
//!
//! On an empty data directory it creates the log, generates one demo key per
//! authority named in the data (written to `DIR/demo-keys/`, clearly named
//! as demo keys: they are not the authorities' keys), enrols the
//! authorities through governance, then signs and submits every event in
//! order through the real HTTP API, with `dfft_client`, which checks every
//! receipt against the log key of the server it started. On a directory
//! that already holds the demo it just serves it.

use crate::authority::sign_statement;
use crate::serve::{self, ServeArgs};
use anyhow::Context as _;
use clap::Args;
use dfft_client::{Client, HttpTransport, Policy};
use dfft_core::note::{KeyName, SignerKey, VerifierKey};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The recognition history, compiled in so the demo runs from any directory.
pub const RECOGNITIONS: &str = include_str!("../data/recognitions.json");

/// The world's recognitions outside the EU's own (a copy of the reference
/// data's `world.json`).
pub const WORLD: &str = include_str!("../data/world.json");

/// National rules on outbound transfers and more authorities'
/// recognitions: the reference data's `rule-facts.json` expressed in
/// statements (docs/statements.md, "Notes on data/rules.json").
pub const RULES: &str = include_str!("../data/rules.json");

/// Programme administrators of the data (statements v2): their records in
/// `world.json` describe the programmes they administer (the Data Privacy
/// Framework and its UK Extension), not recognitions of a destination, so
/// the demo enrols `us.doc` with those programmes (each record becomes a
/// programme: its id, its scope as the name, its from and to) and no
/// competence over any jurisdiction's outbound transfers, instead of
/// logging the records with a stretched competence (docs/statements.md,
/// "Data gaps").
pub const PROGRAMME_ADMINISTRATORS: &[&str] = &["us.doc"];

/// Recognitions that cover only organisations active on a programme (v2
/// `requires_listing`), as their own scope says ("US organisations on the
/// 'Data Privacy Framework List'"; "persons on the DPF List participating
/// in the UK Extension"): the demo adds the field to every event of the
/// record, with both kinds of data the DPF List has.
pub const REQUIRES_LISTING: &[(&str, &str)] = &[
    ("eu.ec/eu-adq-us-dpf-2023", "us.doc/us-doc-dpf-eu-2023"),
    (
        "gb.dsit/uk-adq-us-2023",
        "us.doc/us-doc-dpf-uk-extension-2023",
    ),
];

/// Options of `dfft demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data directory.
    #[arg(long, env = "DFFT_DATA", default_value = "./dfft-demo-data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "DFFT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Origin of the demo log.
    #[arg(long, default_value = "demo.dfft-registry.invalid/log")]
    pub origin: String,
    /// Load the data, print a summary and exit instead of serving.
    #[arg(long)]
    pub load_only: bool,
}

pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::init_logging();
    // `dfft serve`'s own defaults (one home for them), with the demo's
    // data directory, address and origin.
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let mut args = <Defaults as clap::Parser>::try_parse_from(["serve"])
        .context("default serve options")?
        .serve;
    args.data = a.data.clone();
    args.listen = a.listen.clone();
    args.origin = Some(a.origin.clone());
    let server = serve::open(&args)?;
    let created = server.info.created;
    let log_vkey = server.info.log_vkey.clone();
    let rt = serve::runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let load_only = a.load_only;
        let shutdown = async move {
            if load_only {
                let _ = stop_rx.await;
            } else {
                serve::shutdown_signal().await;
            }
        };
        let serving = tokio::spawn(server.serve(listener, shutdown));
        if created {
            let data = a.data.clone();
            let base2 = base.clone();
            let t = Instant::now();
            let n = tokio::task::spawn_blocking(move || load(&data, &base2, log_vkey)).await??;
            eprintln!("demo: loaded {n} statements in {:.2?}", t.elapsed());
        } else {
            eprintln!(
                "demo: serving the existing demo log in {}",
                a.data.display()
            );
        }
        eprintln!("demo: listening on {base}");
        eprintln!("demo: try  curl '{base}/v1/route?from=DE&to=US&at=2016-01-01'");
        if load_only {
            let _ = stop_tx.send(());
        }
        serving.await??;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Enrols the demo authorities and submits every event to the log at
/// `base`, whose key is `log_vkey`, verifying every receipt; returns how
/// many statements were logged.
pub fn load(data: &std::path::Path, base: &str, log_vkey: VerifierKey) -> anyhow::Result<usize> {
    let eu: Value = serde_json::from_str(RECOGNITIONS).context("recognitions.json")?;
    let world: Value = serde_json::from_str(WORLD).context("world.json")?;
    let rules: Value = serde_json::from_str(RULES).context("rules.json")?;
    let administrator =
        |v: &Value| PROGRAMME_ADMINISTRATORS.contains(&v["authority"].as_str().unwrap_or(""));
    let mut authorities = Vec::new();
    let mut events = Vec::new();
    let mut programmes: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for doc in [&eu, &world, &rules] {
        let a = doc["authorities"].as_array().context("authorities")?;
        authorities.extend(a.iter().cloned());
        let e = doc["events"].as_array().context("events")?;
        for ev in e {
            if administrator(ev) {
                let id = ev["authority"].as_str().unwrap_or("").to_owned();
                programmes.entry(id).or_default().push(json!({
                    "id": ev["record"], "name": ev["scope"], "from": ev["from"], "to": ev["to"],
                }));
                continue;
            }
            let mut ev = ev.clone();
            if let Some((_, p)) = REQUIRES_LISTING.iter().find(|(r, _)| ev["record"] == *r) {
                ev["requires_listing"] = json!({"programme": p, "data": ["hr", "non_hr"]});
            }
            events.push(ev);
        }
    }
    let client = Client::new(
        HttpTransport::new(base, std::time::Duration::from_secs(120))?,
        Policy::new(log_vkey)?,
    );
    let gov = dfft_keys::load(&data.join("governance.key"))
        .context("the demo signs enrolments with DIR/governance.key")?;
    let keydir = data.join("demo-keys");
    std::fs::create_dir_all(&keydir)?;
    std::fs::write(
        keydir.join("README"),
        "DEMO KEYS. These keys were generated by `dfft demo` to sign real, public recognition\n\
         decisions for demonstration. They are NOT the keys of the authorities named here,\n\
         and nothing signed with them is an official statement.\n",
    )?;
    // The server names the governance key it creates `<origin>/governance`.
    let origin = gov
        .name()
        .strip_suffix("/governance")
        .context("DIR/governance.key is not named <origin>/governance")?
        .to_owned();
    let mut keys = std::collections::HashMap::new();
    let mut n = 0;
    for a in &authorities {
        let id = a["authority"].as_str().context("authority id")?;
        let key = SignerKey::from_seed(KeyName::new(id)?, dfft_keys::random_seed()?);
        dfft_keys::write_secret(
            &keydir.join(format!("{id}.DEMO.key")),
            &key.to_private_string(),
        )?;
        let mut st = json!({
            "kind": "authority", "action": "enroll", "authority": id, "log": origin,
            "name": format!("{} [DEMO KEY]", a["name"].as_str().unwrap_or(id)),
            "competence": a["competence"], "keys": [key.verifier().to_string()],
            "issued_at": dfft_keys::timestamp_now().as_str(),
        });
        if let Some(p) = programmes.get(id) {
            // A programme administrator: its programmes, no competence.
            st["programmes"] = json!(p);
            st["competence"] = json!([]);
        }
        submit(&client, st, &gov, &format!("enrol {id}"))?;
        keys.insert(id.to_string(), key);
        n += 1;
    }
    for (i, ev) in events.iter().enumerate() {
        let mut ev = ev.clone();
        let id = ev["authority"]
            .as_str()
            .context("event authority")?
            .to_string();
        let key = keys
            .get(&id)
            .with_context(|| format!("event {i}: unknown authority {id}"))?;
        let effective = ev["effective"].as_str().context("effective")?.to_string();
        ev["issued_at"] = json!(format!("{effective}T00:00:00Z"));
        submit(&client, ev, key, &format!("event {i} ({})", effective))?;
        n += 1;
    }
    Ok(n)
}

fn submit(
    client: &Client<HttpTransport>,
    statement: Value,
    key: &SignerKey,
    what: &str,
) -> anyhow::Result<()> {
    let env = sign_statement(statement, std::slice::from_ref(key))
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    client
        .submit(&env.canonical_bytes())
        .map(drop)
        .with_context(|| what.to_owned())
}

//! `dfft witness`: run a C2SP tlog-witness (see `dfft-witness`) for the
//! logs of a `logs/v0` list. Built without the registry's server or store,
//! so it is in `--no-default-features` builds too.
//!
//! Leaves out: everything the library does; this file parses options,
//! starts logging, prints the keys and runs the server.

use anyhow::Context as _;
use clap::Args;
use dfft_witness::{Config, Witness};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `dfft witness`.
#[derive(Args, Debug, Clone)]
pub struct WitnessArgs {
    /// Data directory: keys (witness.key, witness.vkey, ...) and state
    /// (journal, state), created on first start.
    #[arg(long, env = "DFFT_WITNESS_DATA")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "DFFT_WITNESS_LISTEN", default_value = "127.0.0.1:7380")]
    pub listen: String,
    /// The logs to cosign, in the witness network's logs/v0 format;
    /// re-read on SIGHUP (logs are only ever added).
    #[arg(long, env = "DFFT_WITNESS_LOG_LIST")]
    pub log_list: PathBuf,
    /// The witness's name, a schemeless URL-like key name such as
    /// witness.example.org/w1: required on first start, checked on later ones.
    #[arg(long, env = "DFFT_WITNESS_NAME")]
    pub name: Option<String>,
    /// Largest add-checkpoint body in bytes.
    #[arg(long, env = "DFFT_WITNESS_MAX_BODY", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// Seconds allowed to receive a request body.
    #[arg(long, env = "DFFT_WITNESS_BODY_TIMEOUT", default_value_t = 10)]
    pub body_timeout: u64,
    /// Seconds allowed to receive a request head (also closes idle
    /// keep-alive connections).
    #[arg(long, env = "DFFT_WITNESS_HEADER_TIMEOUT", default_value_t = 30)]
    pub header_timeout: u64,
    /// Return only the Ed25519 cosignature/v1 cosignature, not the ML-DSA-44
    /// subtree/v1 one (its key is still created and kept): for verifiers
    /// that know only cosignature/v1, or for throughput (ML-DSA-44 signing
    /// is most of a request's CPU; docs/benchmarks.md).
    #[arg(long, env = "DFFT_WITNESS_NO_MLDSA")]
    pub no_mldsa: bool,
}

/// Runs the witness until SIGINT or SIGTERM.
pub fn run(a: WitnessArgs) -> anyhow::Result<ExitCode> {
    super::init_logging();
    let mut config = Config::new(a.data.clone(), a.log_list.clone());
    config.name = a.name.clone();
    config.max_body = a.max_body.max(1024);
    config.body_timeout = Duration::from_secs(a.body_timeout.max(1));
    config.header_timeout = Duration::from_secs(a.header_timeout.max(1));
    config.mldsa = !a.no_mldsa;
    let w = Witness::open(config)
        .with_context(|| format!("opening the witness in {}", a.data.display()))?;
    let i = &w.info;
    if i.created {
        eprintln!(
            "created witness keys for {:?} in {}",
            i.name,
            a.data.display()
        );
    }
    eprintln!("witness name:   {}", i.name);
    for (v, f) in i.vkeys.iter().zip(&i.vkey_files) {
        eprintln!("witness vkey:   {v}  ({})", f.display());
    }
    if a.no_mldsa {
        eprintln!("cosigning with: the Ed25519 cosignature/v1 key only (--no-mldsa)");
    }
    eprintln!("logs:           {} (from {})", i.logs, a.log_list.display());
    eprintln!(
        "state:          {} origins, {} journal records replayed{}",
        i.recovery.origins,
        i.recovery.replayed,
        if i.recovery.torn_bytes > 0 {
            format!(", a torn tail of {} bytes dropped", i.recovery.torn_bytes)
        } else {
            String::new()
        }
    );
    w.run(&a.listen, |addr| eprintln!("listening on http://{addr}"))
        .with_context(|| format!("serving on {}", a.listen))?;
    Ok(ExitCode::SUCCESS)
}

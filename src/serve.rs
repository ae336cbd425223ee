//! `dfft serve`.

use crate::fdlimit;
use anyhow::Context as _;
use clap::Args;
use dfft_server::{Config, GovernanceConfig, Limits, Server};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `dfft serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Data directory: RocksDB store and key files (created on first start).
    #[arg(long, env = "DFFT_DATA", default_value = "./dfft-data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "DFFT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The log's origin (its name in checkpoints); required on first start.
    #[arg(long, env = "DFFT_ORIGIN")]
    pub origin: Option<String>,
    /// Log private key file (default: DIR/log.key, created on first start).
    #[arg(long, env = "DFFT_LOG_KEY_FILE")]
    pub log_key: Option<PathBuf>,
    /// Governance private key file (repeatable). Default: DIR/governance.key,
    /// created on first start.
    #[arg(long = "governance-key")]
    pub governance_keys: Vec<PathBuf>,
    /// Governance verifier key whose private key stays offline (repeatable);
    /// needs --genesis on first start. Pins the genesis: a genesis with
    /// another key set is refused, on this start and later ones.
    #[arg(long = "governance-vkey")]
    pub governance_vkeys: Vec<String>,
    /// Governance threshold k (of the n governance keys). Pins the genesis
    /// like --governance-vkey.
    #[arg(long)]
    pub governance_threshold: Option<usize>,
    /// Genesis envelope (JSON) signed offline by the governance keys.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// Largest request body in bytes.
    #[arg(long, env = "DFFT_MAX_BODY", default_value_t = 256 * 1024)]
    pub max_body: usize,
    /// Largest body of a batch submission (POST /v1/entries/batch) in bytes.
    #[arg(long, env = "DFFT_MAX_BATCH_BODY", default_value_t = 8 << 20)]
    pub max_batch_body: usize,
    /// Most envelopes in one batch submission.
    #[arg(long, env = "DFFT_MAX_BATCH_ENTRIES", default_value_t = 1024)]
    pub max_batch_entries: usize,
    /// Most submissions waiting for the sequencer (more get 503).
    #[arg(long, env = "DFFT_MAX_PENDING", default_value_t = 65_536)]
    pub max_pending: usize,
    /// Most entries per sequencer batch.
    #[arg(long, env = "DFFT_BATCH_MAX", default_value_t = 4096)]
    pub batch_max: usize,
    /// Longest wait, in milliseconds, for more entries once one is queued.
    #[arg(long, env = "DFFT_BATCH_DELAY_MS", default_value_t = 1)]
    pub batch_delay_ms: u64,
    /// Submissions per second per signing key (0 = unlimited).
    #[arg(long, env = "DFFT_RATE_PER_SIGNER", default_value_t = 0.0)]
    pub rate_per_signer: f64,
    /// Burst of submissions allowed per signing key.
    #[arg(long, env = "DFFT_RATE_BURST", default_value_t = 1000.0)]
    pub rate_burst: f64,
    /// Seconds allowed to receive a request body.
    #[arg(long, env = "DFFT_BODY_TIMEOUT", default_value_t = 10)]
    pub body_timeout: u64,
    /// Refuse statements whose issued_at is more than this many seconds
    /// ahead of the registry's clock (422).
    #[arg(long, env = "DFFT_MAX_CLOCK_SKEW", default_value_t = 600)]
    pub max_clock_skew: u64,
    /// Exit (status 75, for a supervisor to restart the registry) when
    /// commits have failed with retryable storage errors other than a full
    /// disk for this many seconds; 0 never exits.
    #[arg(long, env = "DFFT_EXIT_AFTER_FAILING_WRITES", default_value_t = 120)]
    pub exit_after_failing_writes: u64,
    /// RocksDB block cache in MiB.
    #[arg(long, env = "DFFT_BLOCK_CACHE_MB", default_value_t = 64)]
    pub block_cache_mb: usize,
    /// Read the store's files through mmap: faster proofs on large logs,
    /// but the mapped page cache counts in the process's RSS.
    #[arg(long, env = "DFFT_MMAP_READS")]
    pub mmap_reads: bool,
    /// Keep the Merkle tree's stored hashes from this level up in memory
    /// (1-63): 4 costs ~4 MiB per million entries; 1 costs ~28 MiB per
    /// million and saves three disk reads per inclusion proof.
    #[arg(long, env = "DFFT_MEMORY_LEVELS_FROM", default_value_t = 4,
          value_parser = clap::value_parser!(u8).range(1..=63))]
    pub memory_levels_from: u8,
    /// Connection and resource limits.
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub witness: WitnessArgs,
}

/// Connection and resource limits of `dfft serve` (docs/operations.md,
/// "Connections and resource limits").
#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Seconds allowed to receive a request head, from its first byte.
    #[arg(long, env = "DFFT_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Close a connection with no request in progress after this many
    /// seconds without a byte read or written (idle keep-alive).
    #[arg(long, env = "DFFT_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Close a connection when writing an answer makes no progress for this
    /// many seconds (a client that does not read).
    #[arg(long, env = "DFFT_WRITE_TIMEOUT", default_value_t = 30)]
    pub write_timeout: u64,
    /// Most client connections served at once; lowered at start to keep
    /// --store-max-open-files and a margin of 64 descriptors free under the
    /// descriptor limit (raised to its hard limit at start). At the cap the
    /// connection idle longest is closed for a newcomer.
    #[arg(long, env = "DFFT_MAX_CONNECTIONS", default_value_t = 2048)]
    pub max_connections: usize,
    /// Most bytes of request bodies held at once over all requests (by
    /// declared length, or the body limit when none is declared); a body
    /// that does not fit gets 503 with Retry-After.
    #[arg(long, env = "DFFT_MAX_BODY_MEMORY", default_value_t = 256 << 20)]
    pub max_body_memory: usize,
    /// Most files RocksDB keeps open (its table cache); kept in reserve
    /// below the descriptor limit.
    #[arg(long, env = "DFFT_STORE_MAX_OPEN_FILES", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(16..))]
    pub store_max_open_files: u32,
}

impl ServeArgs {
    /// The server configuration these options describe.
    pub fn config(&self) -> Config {
        Config {
            data_dir: self.data.clone(),
            origin: self.origin.clone(),
            log_key: self.log_key.clone(),
            governance: GovernanceConfig {
                key_files: self.governance_keys.clone(),
                vkeys: self.governance_vkeys.clone(),
                threshold: self.governance_threshold,
                genesis_file: self.genesis.clone(),
            },
            limits: Limits {
                max_body: self.max_body,
                max_batch_body: self.max_batch_body,
                max_batch_entries: self.max_batch_entries.max(1),
                max_pending: self.max_pending,
                batch: dfft_server::sequencer::BatchLimits {
                    max: self.batch_max.max(1),
                    delay: Duration::from_millis(self.batch_delay_ms),
                    exit_after_failing: (self.exit_after_failing_writes > 0)
                        .then(|| Duration::from_secs(self.exit_after_failing_writes)),
                },
                admission: dfft_core::statement::admission::AdmissionPolicy {
                    max_future_skew_secs: self.max_clock_skew,
                },
                rate_per_signer: self.rate_per_signer,
                rate_burst: self.rate_burst,
                body_timeout: Duration::from_secs(self.body_timeout.max(1)),
                header_timeout: Duration::from_secs(self.conn.header_timeout.max(1)),
                idle_timeout: Duration::from_secs(self.conn.idle_timeout.max(1)),
                write_timeout: Duration::from_secs(self.conn.write_timeout.max(1)),
                max_connections: self.conn.max_connections.max(1),
                max_body_memory: self.conn.max_body_memory.max(1),
            },
            store: dfft_store::StoreOptions {
                block_cache_bytes: self.block_cache_mb.max(1) << 20,
                mmap_reads: self.mmap_reads,
                memory_from_level: self.memory_levels_from,
                max_open_files: self.conn.store_max_open_files,
            },
            witnesses: None,
        }
    }

    /// The witness options, reading the policy file if one is given.
    pub fn witnesses(&self) -> anyhow::Result<Option<dfft_server::witnessing::WitnessOptions>> {
        let Some(path) = &self.witness.witness_policy else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the witness policy {}", path.display()))?;
        let policy = dfft_core::policy::Policy::parse(&text)
            .with_context(|| format!("witness policy {}", path.display()))?;
        if let Some(w) = policy.witnesses().iter().find(|w| w.url.is_none()) {
            anyhow::bail!(
                "witness policy {}: witness {} has no URL; the log must know where to ask it",
                path.display(),
                w.name
            );
        }
        let mut o = dfft_server::witnessing::WitnessOptions::new(policy);
        o.timeout = Duration::from_millis(self.witness.witness_timeout_ms.max(1));
        o.wait = Duration::from_secs(self.witness.witness_wait);
        o.max_unwitnessed = self.witness.max_unwitnessed;
        o.interval = Duration::from_millis(self.witness.witness_interval_ms);
        Ok(Some(o))
    }
}

/// Witnessing options of `dfft serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct WitnessArgs {
    /// A C2SP tlog-policy file: the witnesses to ask (each `witness NAME
    /// VKEY URL`) and the quorum that must cosign a checkpoint before it is
    /// published (fail closed; see docs/witnesses.md).
    #[arg(long, env = "DFFT_WITNESS_POLICY", value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// Milliseconds allowed for one add-checkpoint request.
    #[arg(long, env = "DFFT_WITNESS_TIMEOUT_MS", default_value_t = 3000)]
    pub witness_timeout_ms: u64,
    /// Seconds a submission waits for a cosigned checkpoint covering it
    /// before it is answered 503 awaiting_witnesses (its entry is logged;
    /// a retry gets the receipt).
    #[arg(long, env = "DFFT_WITNESS_WAIT", default_value_t = 10)]
    pub witness_wait: u64,
    /// Entries logged but not yet cosigned beyond which new submissions
    /// are refused (503 awaiting_witnesses).
    #[arg(long, env = "DFFT_MAX_UNWITNESSED", default_value_t = 10_000)]
    pub max_unwitnessed: u64,
    /// Shortest time in milliseconds between two rounds of witness
    /// requests (each round covers every entry committed before it): bounds
    /// the witnesses' load, adds at most this much to a receipt's latency.
    #[arg(long, env = "DFFT_WITNESS_INTERVAL_MS", default_value_t = 10)]
    pub witness_interval_ms: u64,
}

/// Opens the server and prints what an operator needs to know.
pub fn open(args: &ServeArgs) -> anyhow::Result<Server> {
    let mut config = args.config();
    config.witnesses = args.witnesses()?;
    let nofile = fdlimit::raise();
    let reserve = config.store.max_open_files;
    let cap = fdlimit::connection_cap(config.limits.max_connections, nofile.after, reserve);
    if cap < config.limits.max_connections {
        tracing::warn!(
            configured = config.limits.max_connections,
            cap,
            "fewer connections than configured, to keep descriptors for the store"
        );
    }
    config.limits.max_connections = cap;
    let server =
        Server::open(config).with_context(|| format!("opening {}", args.data.display()))?;
    let i = &server.info;
    if i.created {
        eprintln!(
            "created a new log {:?} in {}",
            i.origin,
            args.data.display()
        );
    }
    eprintln!("origin:         {}", i.origin);
    eprintln!("log vkey:       {}", i.log_vkey);
    for k in &i.governance_vkeys {
        eprintln!("governance key: {k}");
    }
    eprintln!(
        "threshold:      {} of {}",
        i.threshold,
        i.governance_vkeys.len()
    );
    eprintln!("tree size:      {}", i.size);
    let show = |n: Option<u64>| n.map_or("unlimited".to_string(), |n| n.to_string());
    eprintln!(
        "connections:    at most {cap} (descriptor limit {}, raised from {}; {reserve} kept for the store, {} spare)",
        show(nofile.after),
        show(nofile.before),
        fdlimit::MARGIN
    );
    Ok(server)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::init_logging();
    let server = open(&args)?;
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!("listening on http://{}", listener.local_addr()?);
        server.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

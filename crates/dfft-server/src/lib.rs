//! # dfft-server
//!
//! The registry server as a library: open a data directory, recover the
//! sequencer, and serve the HTTP API. The `dfft serve` command is a thin
//! wrapper around [`Server::open`] and [`Server::serve`].
//!
//! - [`sequencer`]: the single writer, its batching and its crash-safety order.
//! - [`api`]: C2SP tlog-tiles reads, `POST /v1/entries`, proofs, info,
//!   health and metrics.
//! - [`conn`]: the accept loop, connection timeouts and the connection cap.
//! - [`error`]: the one place where HTTP status codes are chosen.
//! - [`keys`]: key files.
//! - [`mapstate`]: the map's nodes in the store (the index of complete
//!   answers, docs/index.md) and the proofs answers carry.
//! - [`query`]: routes, records, authorities and counterparty answers;
//!   [`organisations`]: the organisation search; [`matrix`]: the bounded,
//!   cached jurisdiction matrix; [`cache`]: the answer cache they share;
//!   `explorer`: HTML pages for people (`/`, `/route`, `/record/<id>`, `/log`).
//!
//! Leaves out: formats and rules (in `dfft-core`), storage details (in
//! `dfft-store`), TLS (terminate it in front of the server).

#![forbid(unsafe_code)]

pub mod api;
pub mod conn;
pub mod error;
/// Key files (re-exported from `dfft-keys`, their one home).
pub use dfft_keys as keys;
pub mod cache;
mod explorer;
pub mod mapstate;
pub mod matrix;
pub mod metrics;
pub mod organisations;
mod pinning;
pub mod query;
pub mod sequencer;
pub mod state;
pub mod submit;
pub mod upgrade;
pub mod witnessing;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use dfft_core::note::{SignerKey, VerifierKey};
use dfft_core::statement::dsse::Envelope;
use dfft_core::statement::registry::{verify_signatures, Submission};
use dfft_core::statement::{Genesis, Governance, Statement};
use dfft_store::Store;
use sequencer::{BatchLimits, Job, Outcome, Sequencer, Shared};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits on what clients may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body: usize,
    /// Largest body of a batch submission, bytes.
    pub max_batch_body: usize,
    /// Most envelopes in one batch submission.
    pub max_batch_entries: usize,
    /// Most submissions waiting for the sequencer; more get 503.
    pub max_pending: usize,
    /// Batching of the sequencer.
    pub batch: BatchLimits,
    /// Submissions per second per signer key (0 = unlimited).
    pub rate_per_signer: f64,
    /// Burst allowance per signer key.
    pub rate_burst: f64,
    /// Longest time to receive a request body.
    pub body_timeout: Duration,
    /// What new statements must satisfy (clock skew, v2 fields).
    pub admission: dfft_core::statement::admission::AdmissionPolicy,
    /// Longest time to receive a request head, from its first byte.
    pub header_timeout: Duration,
    /// Close a connection with no request in progress once no byte has
    /// moved for this long.
    pub idle_timeout: Duration,
    /// Close a connection once a response write has made no progress for
    /// this long (a client that does not read its answer).
    pub write_timeout: Duration,
    /// Most connections served at once (see [`conn`] for what happens at
    /// the cap). The binary lowers it to fit the descriptor limit.
    pub max_connections: usize,
    /// Most bytes of request bodies held at once, over all requests; a
    /// body that does not fit gets 503 at once.
    pub max_body_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 256 * 1024,
            max_batch_body: 8 << 20,
            max_batch_entries: 1024,
            max_pending: 65_536,
            batch: BatchLimits {
                max: 4096,
                delay: Duration::from_millis(1),
                exit_after_failing: Some(Duration::from_secs(120)),
            },
            rate_per_signer: 0.0,
            rate_burst: 1000.0,
            body_timeout: Duration::from_secs(10),
            admission: Default::default(),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_connections: 2048,
            max_body_memory: 256 << 20,
        }
    }
}

/// How the governance keys are set up on first start.
#[derive(Debug, Clone, Default)]
pub struct GovernanceConfig {
    /// Private governance key files the server may use to sign genesis.
    /// Empty and no `vkeys`: the server creates `DIR/governance.key`.
    pub key_files: Vec<PathBuf>,
    /// Governance verifier keys whose private keys stay offline; then
    /// `genesis_file` must hold the genesis envelope they signed.
    pub vkeys: Vec<String>,
    /// k of n (default 1).
    pub threshold: Option<usize>,
    /// A signed genesis envelope (JSON) for offline governance keys.
    pub genesis_file: Option<PathBuf>,
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory (created if missing).
    pub data_dir: PathBuf,
    /// The log's origin; required on first start, checked later.
    pub origin: Option<String>,
    /// Log private key file (default `DIR/log.key`, created if missing).
    pub log_key: Option<PathBuf>,
    /// Governance setup (used on first start; its verifier keys and
    /// threshold, if given, are checked against the genesis on every start).
    pub governance: GovernanceConfig,
    /// Limits.
    pub limits: Limits,
    /// Storage tuning.
    pub store: dfft_store::StoreOptions,
    /// Witnesses to ask before publishing (`None`: publish at once).
    pub witnesses: Option<witnessing::WitnessOptions>,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// Key files.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] dfft_store::StoreError),
    /// Recovery found something wrong.
    #[error(transparent)]
    Open(#[from] sequencer::OpenError),
    /// Directory creation.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Per-signer token buckets.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }
    /// Takes a token for `key`, or says how many seconds to wait.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() > 100_000 {
            b.clear();
        }
        let e = b.entry(key.to_string()).or_insert((self.burst, now));
        e.0 = (e.0 + now.duration_since(e.1).as_secs_f64() * self.rate).min(self.burst);
        e.1 = now;
        if e.0 >= 1.0 {
            e.0 -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - e.0) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// Handler state.
#[derive(Clone)]
pub struct App {
    /// Shared with the sequencer.
    pub shared: Arc<Shared>,
    queue: SyncSender<Job>,
    limits: Arc<Limits>,
    rate: Arc<RateLimiter>,
    alive: Arc<AtomicBool>,
    /// Permits for CPU-heavy verification (one per core).
    verify_pool: Arc<tokio::sync::Semaphore>,
    matrix: Arc<matrix::MatrixCache>,
    routes: Arc<cache::Lru<query::RouteKey, query::CachedRoute>>,
    /// Bytes of request bodies that may still be held ([`Limits::max_body_memory`]).
    body_memory: Arc<tokio::sync::Semaphore>,
    conn_stats: Arc<conn::ConnStats>,
}

impl App {
    fn queue_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }
}

/// What a start found or made, for the operator.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// The origin.
    pub origin: String,
    /// The log's verifier key.
    pub log_vkey: VerifierKey,
    /// Governance verifier keys.
    pub governance_vkeys: Vec<VerifierKey>,
    /// Governance threshold.
    pub threshold: usize,
    /// Whether this start created the log (genesis logged now).
    pub created: bool,
    /// Tree size at start.
    pub size: u64,
}

/// An opened registry, ready to serve.
pub struct Server {
    app: App,
    thread: std::thread::JoinHandle<()>,
    /// What the start found or made.
    pub info: StartInfo,
}

pub(crate) use dfft_keys::unix_now;

pub use dfft_keys::timestamp_now;

impl Server {
    /// Opens or creates the registry in `config.data_dir` and starts the
    /// sequencer thread.
    pub fn open(config: Config) -> Result<Server, StartError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir)?;
        let store = Arc::new(Store::open_with(&dir.join("db"), config.store)?);
        if store.migrated_hashes() > 0 {
            tracing::info!(
                hashes = store.migrated_hashes(),
                "moved stored hashes of tree levels 0-3 to the grouped key layout (once); compacting them in the background"
            );
            let st = store.clone();
            std::thread::Builder::new()
                .name("compact-layout".into())
                .spawn(move || {
                    let t = std::time::Instant::now();
                    st.compact_grouped();
                    tracing::info!(seconds = t.elapsed().as_secs(), "grouped layout compacted");
                })?;
        }
        // Fill the in-memory upper tree levels in the background, so that
        // start-up does not wait for it.
        let warm = store.clone();
        std::thread::Builder::new()
            .name("cache-warm".into())
            .spawn(move || {
                if let Err(e) = warm.warm_cache() {
                    tracing::warn!(error = %e, "warming the hash cache failed; reads use RocksDB");
                }
            })?;
        let size = store.size()?;
        let stored_origin = state::RegistryState::new(&*store).origin()?;
        let origin = match (&stored_origin, &config.origin) {
            (Some(s), Some(c)) if s != c => {
                return Err(StartError::Config(format!(
                    "this data directory holds the log {s:?}, not {c:?}"
                )));
            }
            (Some(s), _) => s.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(StartError::Config(
                    "--origin is required to create a new log".into(),
                ))
            }
        };
        if origin.is_empty() || origin.contains(char::is_whitespace) || origin.contains('+') {
            return Err(StartError::Config(format!(
                "origin {origin:?} must be non-empty, without spaces or '+'"
            )));
        }
        // Keys are created only for a new, empty log: an existing log whose
        // key file is missing must not get a fresh key.
        let log_key = match &config.log_key {
            Some(p) => keys::load(p)?,
            None if size == 0 => keys::load_or_create(&dir.join("log.key"), &origin)?.0,
            None => keys::load(&dir.join("log.key"))?,
        };
        if log_key.name() != origin {
            return Err(StartError::Config(format!(
                "the log key is named {:?}; it must be named after the origin {origin:?}",
                log_key.name()
            )));
        }
        let mut seq = Sequencer::open(
            store as Arc<dyn dfft_store::LogStore>,
            log_key.clone(),
            origin.clone(),
            metrics::Metrics::default(),
        )?;
        let witnessing = match &config.witnesses {
            Some(o) if o.policy.requires_cosignatures() || !o.policy.witnesses().is_empty() => {
                check_policy_log(&o.policy, &log_key.verifier())?;
                let w = Arc::new(witnessing::Witnessing::new(o.clone()));
                seq.enable_witnessing(w.clone())?;
                Some(w)
            }
            _ => None,
        };
        let mut created = false;
        if size == 0 {
            let genesis = genesis_submission(&config, dir, &origin)?;
            let verified = verify_signatures(genesis, None, None)
                .map_err(|e| StartError::Config(format!("genesis: {e}")))?;
            let leaf = dfft_core::merkle::leaf_hash(verified.entry());
            let (tx, mut rx) = tokio::sync::oneshot::channel();
            seq.process(vec![Job {
                verified,
                leaf,
                queued: Instant::now(),
                reply: tx,
            }]);
            match rx.try_recv() {
                Ok(Ok(Outcome::Created(0, _, _))) => created = true,
                Ok(Ok(o)) => {
                    return Err(StartError::Config(format!(
                        "genesis not logged at 0: {o:?}"
                    )))
                }
                Ok(Err(e)) => {
                    return Err(StartError::Config(format!(
                        "genesis refused: {}",
                        e.message
                    )))
                }
                Err(_) => {
                    return Err(StartError::Config(
                        "genesis: no answer from the sequencer".into(),
                    ))
                }
            }
        }
        // The public key, for operators and for monitors sharing the volume;
        // written only once the stored checkpoint verified with it.
        std::fs::write(dir.join("log.vkey"), format!("{}\n", log_key.verifier()))?;
        let shared = seq.shared();
        let snap = shared.snapshot();
        let gov = snap
            .governance
            .clone()
            .ok_or_else(|| StartError::Config("the log has no genesis".into()))?;
        pinning::check(&config.governance, &gov)?;
        let info = StartInfo {
            origin,
            log_vkey: log_key.verifier(),
            governance_vkeys: gov.keys.clone(),
            threshold: gov.threshold,
            created,
            size: shared.published().size,
        };
        let limits = config.limits.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(limits.max_pending.max(1));
        let alive = Arc::new(AtomicBool::new(true));
        let alive2 = alive.clone();
        let batch = limits.batch;
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || {
                seq.run(rx, batch);
                alive2.store(false, Ordering::Relaxed);
            })?;
        if let Some(w) = witnessing {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("witnessing".into())
                .spawn(move || witnessing::run(shared, w))?;
        }
        let rate = Arc::new(RateLimiter::new(limits.rate_per_signer, limits.rate_burst));
        let body_memory = Arc::new(tokio::sync::Semaphore::new(
            limits
                .max_body_memory
                .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
        ));
        let app = App {
            shared,
            queue: tx,
            limits: Arc::new(limits),
            rate,
            alive,
            verify_pool: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            )),
            matrix: Arc::default(),
            routes: Arc::new(cache::Lru::new(
                query::ROUTE_CACHED,
                query::ROUTE_CACHED_BYTES,
            )),
            body_memory,
            conn_stats: Arc::default(),
        };
        Ok(Server { app, thread, info })
    }

    /// The HTTP routes.
    pub fn router(&self) -> Router {
        router(self.app.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then lets the
    /// sequencer finish its batch and stop.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Server { app, thread, .. } = self;
        let (limits, stats) = (app.limits.clone(), app.conn_stats.clone());
        let store = app.shared.store.clone();
        let r = router(app);
        let res = conn::serve(listener, r, &limits, stats, shutdown).await;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        // Every commit is already durable (synced WAL); flushing the
        // memtable only spares the next start its WAL replay.
        if let Err(e) = store.flush() {
            tracing::warn!(error = %e, "flushing the store at shutdown failed; the next start replays its WAL");
        }
        res
    }
}

fn router(app: App) -> Router {
    // Answers and the explorer's pages and scripts are read by people on
    // slow connections and are text: gzip when the client asks for it.
    // Tiles, entries and checkpoints keep their exact bytes on the wire.
    let compressed = Router::new()
        .route("/v1/route", get(query::route))
        .route("/v1/counterparty", get(query::counterparty))
        .route("/v1/organisations", get(organisations::organisations))
        .route("/v1/records/{*id}", get(query::record))
        .route("/v1/authorities", get(query::authorities))
        .route("/v1/matrix", get(matrix::matrix))
        .route("/", get(explorer::route_page))
        .route("/route", get(explorer::route_page))
        .route("/route.atom", get(explorer::route_feed))
        .route("/record/{*id}", get(explorer::record_page))
        .route("/log", get(explorer::log_page))
        .route("/authorities", get(explorer::authorities_page))
        .route("/matrix", get(explorer::matrix_page))
        .route("/counterparty", get(explorer::counterparty_page))
        .route("/authority/{*id}", get(explorer::authority_page))
        .route("/explorer/{file}", get(explorer::asset))
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .route("/checkpoint", get(api::checkpoint))
        .route("/tile/{*rest}", get(api::tile))
        .route("/v1/entries", post(submit::submit))
        .route("/v1/entries/batch", post(submit::submit_batch))
        .route("/v1/entries/{index}", get(api::entry))
        .route("/v1/proof/inclusion", get(api::inclusion))
        .route("/v1/proof/consistency", get(api::consistency))
        .route("/v1/proof/tlog", get(api::tlog_proof))
        .route("/v1/info", get(api::info))
        .merge(compressed)
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(api::fallback)
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

/// A witness policy for this log must list its key among its logs (or no
/// log at all).
fn check_policy_log(
    policy: &dfft_core::policy::Policy,
    log: &dfft_core::note::VerifierKey,
) -> Result<(), StartError> {
    if policy.logs().is_empty() || policy.logs().contains(log) {
        Ok(())
    } else {
        Err(StartError::Config(format!(
            "the witness policy does not list this log's key {log}"
        )))
    }
}

/// The genesis statement for a new log: from a file (offline governance
/// keys) or signed now with governance key files.
fn genesis_submission(
    config: &Config,
    dir: &std::path::Path,
    origin: &str,
) -> Result<Submission, StartError> {
    let g = &config.governance;
    if let Some(path) = &g.genesis_file {
        let bytes = std::fs::read(path)
            .map_err(|e| StartError::Config(format!("{}: {e}", path.display())))?;
        let sub = Submission::parse(&bytes)
            .map_err(|e| StartError::Config(format!("{}: {e}", path.display())))?;
        match sub.statement() {
            Statement::Genesis(gs) if gs.origin == origin => {
                pinning::check(g, &gs.governance)?;
            }
            Statement::Genesis(gs) => {
                return Err(StartError::Config(format!(
                    "genesis is for origin {:?}, not {origin:?}",
                    gs.origin
                )))
            }
            _ => {
                return Err(StartError::Config(
                    "the genesis file holds another kind of statement".into(),
                ))
            }
        }
        return Ok(sub);
    }
    if !g.vkeys.is_empty() {
        return Err(StartError::Config("with offline governance keys (--governance-vkey), give the genesis envelope they signed (--genesis)".into()));
    }
    let signers: Vec<SignerKey> = if g.key_files.is_empty() {
        vec![keys::load_or_create(&dir.join("governance.key"), &format!("{origin}/governance"))?.0]
    } else {
        g.key_files
            .iter()
            .map(|p| keys::load(p))
            .collect::<Result<_, _>>()?
    };
    let threshold = g.threshold.unwrap_or(1);
    if threshold == 0 || threshold > signers.len() {
        return Err(StartError::Config(format!(
            "threshold {threshold} needs 1..={} governance keys",
            signers.len()
        )));
    }
    let statement = Statement::Genesis(Genesis {
        origin: origin.to_string(),
        governance: Governance {
            keys: signers.iter().map(|k| k.verifier()).collect(),
            threshold,
        },
        issued_at: timestamp_now(),
    });
    let payload = statement
        .to_payload()
        .map_err(|e| StartError::Config(format!("genesis: {e}")))?;
    let refs: Vec<&SignerKey> = signers.iter().collect();
    let env =
        Envelope::sign(payload, &refs).map_err(|e| StartError::Config(format!("genesis: {e}")))?;
    Submission::from_envelope(env).map_err(|e| StartError::Config(format!("genesis: {e}")))
}

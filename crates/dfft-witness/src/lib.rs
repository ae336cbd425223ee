//! A C2SP tlog-witness server (<https://c2sp.org/tlog-witness>): it
//! cosigns checkpoints of the logs in its log list, each only if it is
//! consistent with the latest one it cosigned for that log, and keeps that
//! latest state durably.
//!
//! - [`request`]: the add-checkpoint body (strict parser);
//! - [`loglist`]: the `logs/v0` log list (only ever extended on reload);
//! - [`verdict`]: the spec's checks, pure;
//! - [`keys`]: the cosigner keys and their files;
//! - [`journal`]: the state, group-committed with its crash-safety order;
//! - [`error`]: the one place HTTP codes are chosen;
//! - `server`: the HTTP routes and the connection loop.
//!
//! [`Witness::open`] creates or loads keys, log list and state;
//! [`Witness::serve`] answers on a listener until a shutdown future
//! resolves; [`Witness::reload_log_list`] re-reads the log list (SIGHUP in
//! [`Witness::run`]).
//!
//! Leaves out: the log side (asking witnesses), client policies, and the
//! optional `sign-subtree` call of the spec.

pub mod error;
pub mod journal;
pub mod keys;
pub mod loglist;
pub mod request;
mod server;
pub mod verdict;

use hyper_util::rt::{TokioIo, TokioTimer};
use journal::{Journal, JournalError, Recovery};
use keys::{Cosigners, KeysError};
use loglist::{LogList, LogListError};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How a witness is run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: keys and state (created on first start).
    pub data_dir: PathBuf,
    /// The `logs/v0` log list file.
    pub log_list: PathBuf,
    /// The witness's name (required on first start; checked later).
    pub name: Option<String>,
    /// Largest add-checkpoint body in bytes.
    pub max_body: usize,
    /// Time allowed to receive a body.
    pub body_timeout: Duration,
    /// Time allowed to receive a request head (also bounds idle keep-alive).
    pub header_timeout: Duration,
    /// Return the ML-DSA-44 `subtree/v1` cosignature too (the default);
    /// false returns only the Ed25519 `cosignature/v1` one (both keys are
    /// created and kept either way).
    pub mldsa: bool,
}

impl Config {
    /// Defaults for a data directory and log list.
    pub fn new(data_dir: PathBuf, log_list: PathBuf) -> Config {
        Config {
            data_dir,
            log_list,
            name: None,
            max_body: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            mldsa: true,
        }
    }
}

/// Why a witness could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The data directory could not be created.
    #[error("{path}: {source}")]
    Dir {
        /// Directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The keys.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// The log list could not be read.
    #[error("log list {path}: {source}")]
    LogListRead {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The log list is invalid.
    #[error("log list {path}: {source}")]
    LogList {
        /// File.
        path: String,
        /// What is wrong.
        source: LogListError,
    },
    /// The state.
    #[error(transparent)]
    State(#[from] JournalError),
}

/// What a start found.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// The witness's name.
    pub name: String,
    /// Its verifier keys (`name+id+base64`), one per cosignature type.
    pub vkeys: Vec<String>,
    /// Files they were written to.
    pub vkey_files: Vec<PathBuf>,
    /// Whether this start created the keys.
    pub created: bool,
    /// Logs in the list.
    pub logs: usize,
    /// What recovery found.
    pub recovery: Recovery,
}

pub(crate) struct Inner {
    config: Config,
    cosigners: Cosigners,
    logs: RwLock<Arc<LogList>>,
    journal: Journal,
}

impl Inner {
    fn logs(&self) -> Arc<LogList> {
        self.logs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running witness.
#[derive(Clone)]
pub struct Witness {
    inner: Arc<Inner>,
    /// What the start found.
    pub info: StartInfo,
}

fn read_log_list(path: &std::path::Path) -> Result<LogList, OpenError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| OpenError::LogListRead {
        path: shown.clone(),
        source,
    })?;
    LogList::parse(&text).map_err(|source| OpenError::LogList {
        path: shown,
        source,
    })
}

impl Witness {
    /// Creates or loads the keys, reads the log list, recovers the state.
    pub fn open(config: Config) -> Result<Witness, OpenError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let logs = read_log_list(&config.log_list)?;
        let mut cosigners = Cosigners::open(dir, config.name.as_deref())?;
        let (journal, recovery) = Journal::open(dir)?;
        let info = StartInfo {
            name: cosigners.name().to_string(),
            vkeys: cosigners
                .verifiers()
                .iter()
                .map(|v| v.to_string())
                .collect(),
            vkey_files: keys::KEY_SPECS
                .iter()
                .map(|s| dir.join(s.vkey_file))
                .collect(),
            created: cosigners.created,
            logs: logs.len(),
            recovery,
        };
        if !config.mldsa {
            cosigners.retain(|k| k != dfft_core::note::KeyKind::SubtreeV1);
        }
        Ok(Witness {
            inner: Arc::new(Inner {
                config,
                cosigners,
                logs: RwLock::new(Arc::new(logs)),
                journal,
            }),
            info,
        })
    }

    /// Re-reads the log list. A list that does not parse, or that removes a
    /// log or changes its keys, is refused and the old list stays. Returns
    /// the origins added.
    pub fn reload_log_list(&self) -> Result<Vec<String>, OpenError> {
        let path = &self.inner.config.log_list;
        let new = read_log_list(path)?;
        let mut cur = self.inner.logs.write().unwrap_or_else(|e| e.into_inner());
        let added = cur.extend(&new).map_err(|source| OpenError::LogList {
            path: path.display().to_string(),
            source,
        })?;
        *cur = Arc::new(new);
        Ok(added)
    }

    /// The HTTP routes (for tests that drive them without a socket).
    pub fn router(&self) -> axum::Router {
        server::router(self.inner.clone())
    }

    /// Answers connections on `listener` until `shutdown` resolves.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router();
        let header_timeout = self.inner.config.header_timeout;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, _peer) = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let svc = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc);
                let _ = conn.await;
            });
        }
    }

    /// Binds `listen`, calls `on_listening` with the bound address, and
    /// serves until SIGINT or SIGTERM, re-reading the log list on SIGHUP (a
    /// bad list is logged and ignored). Blocks.
    pub fn run(
        &self,
        listen: &str,
        on_listening: impl FnOnce(std::net::SocketAddr),
    ) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, name = %self.info.name, logs = self.info.logs, "witness listening");
            on_listening(addr);
            #[cfg(unix)]
            {
                let me = self.clone();
                let mut hup =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        match me.reload_log_list() {
                            Ok(added) => tracing::info!(
                                added = ?added,
                                logs = me.inner.logs().len(),
                                "log list re-read"
                            ),
                            Err(e) => tracing::warn!(error = %e, "log list refused; the old list stays"),
                        }
                    }
                });
            }
            self.serve(listener, shutdown_signal()).await
        })
    }
}

async fn shutdown_signal() {
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
}

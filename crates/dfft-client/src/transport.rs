//! The transport seam: how the client reads from a log and posts
//! submissions to it. Everything it reads is checked afterwards, so a
//! transport is trusted for nothing but delivering bytes.
//!
//! - [`HttpTransport`]: plain HTTP through `ureq` (this build has no TLS:
//!   put an `https://` log behind a local proxy, or use a TLS-enabled build).
//! - [`MemoryTransport`]: a map from paths to bodies, for tests, benchmarks
//!   and static mirrors loaded into memory; [`MemoryTransport::publish`]
//!   fills it with the tiles of a tree as a tlog-tiles server would, and
//!   [`MemoryTransport::set_post`] gives the canned answer to a POST.

use dfft_core::merkle::{MemoryTree, NodeId};
use dfft_core::tile::{self, TileError, TILE_HEIGHT, TILE_WIDTH};
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

/// A response: its HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code (200, 404, ...).
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a request could not be made or its answer read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The base URL cannot be used.
    #[error("cannot use log URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// Connection, timeout or read failure.
    #[error("{0}")]
    Io(String),
    /// The body is larger than the transport accepts.
    #[error("response body exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// This transport only reads.
    #[error("this transport cannot post")]
    ReadOnly,
}

/// Reads paths below a log's base URL.
///
/// `Send + Sync` so that an audit can fetch the next entry bundles on one
/// thread while it checks the current ones on another.
pub trait Transport: Send + Sync {
    /// GETs `path` (it starts with `/` and may carry a query string).
    /// Any HTTP status is a `Response`; only a failure to get one is an error.
    fn get(&self, path: &str) -> Result<Response, TransportError>;

    /// POSTs the JSON `body` to `path`. Any HTTP status is a `Response`;
    /// only a failure to get one is an error. A transport that only reads
    /// (a static mirror) keeps this default, [`TransportError::ReadOnly`].
    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        let _ = (path, body);
        Err(TransportError::ReadOnly)
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        (**self).get(path)
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        (**self).post(path, body)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        (**self).get(path)
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        (**self).post(path, body)
    }
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        (**self).get(path)
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        (**self).post(path, body)
    }
}

/// Largest body [`HttpTransport`] reads by default: a full entry bundle can
/// reach 256 * (2 + 65,535) bytes, and a route answer carries entries too.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

/// Plain-HTTP transport (`ureq`, no TLS in this build).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    base: String,
    agent: ureq::Agent,
    max_body: usize,
}

impl HttpTransport {
    /// A transport for the log at `base_url` (`http://host:port[/prefix]`),
    /// with a 10 s connect timeout and `timeout` for each whole request.
    pub fn new(base_url: &str, timeout: Duration) -> Result<HttpTransport, TransportError> {
        let bad = |reason| TransportError::BadUrl {
            url: base_url.to_string(),
            reason,
        };
        let rest = if let Some(rest) = base_url.strip_prefix("http://") {
            rest
        } else if base_url.starts_with("https://") {
            return Err(bad("this build speaks plain HTTP only (ureq without TLS); reach an https log through a local TLS proxy"));
        } else {
            return Err(bad("must start with http://"));
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("missing host"));
        }
        if base_url.contains(['?', '#']) || base_url.chars().any(char::is_whitespace) {
            return Err(bad("must not hold a query, a fragment or white space"));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(timeout)
            .user_agent(concat!("dfft-client/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpTransport {
            base: base_url.trim_end_matches('/').to_string(),
            agent,
            max_body: DEFAULT_MAX_BODY,
        })
    }

    /// Sets the largest body to read.
    pub fn with_max_body(mut self, max_body: usize) -> HttpTransport {
        self.max_body = max_body;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }
}

impl HttpTransport {
    /// Reads the answer to a request, whatever its status, up to the limit.
    fn answer(&self, r: Result<ureq::Response, ureq::Error>) -> Result<Response, TransportError> {
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(TransportError::Io(t.to_string())),
        };
        let status = resp.status();
        let limit = self.max_body;
        let mut body = Vec::new();
        resp.into_reader()
            .take(limit as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| TransportError::Io(format!("reading the body: {e}")))?;
        if body.len() > limit {
            return Err(TransportError::TooLarge { limit });
        }
        Ok(Response { status, body })
    }
}

impl Transport for HttpTransport {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        let url = format!("{}{}", self.base, path);
        self.answer(self.agent.get(&url).call())
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        let url = format!("{}{}", self.base, path);
        self.answer(
            self.agent
                .post(&url)
                .set("Content-Type", "application/json")
                .send_bytes(body),
        )
    }
}

/// An in-memory log: paths mapped to bodies; anything else is a 404.
/// It can be changed while a client uses it (to stage rollbacks, forks and
/// tampering in tests), and it records the paths asked for.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    files: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<Vec<String>>,
    posts: Mutex<HashMap<String, Response>>,
    posted: Mutex<Vec<(String, Vec<u8>)>>,
}

impl MemoryTransport {
    /// An empty transport.
    pub fn new() -> MemoryTransport {
        MemoryTransport::default()
    }

    /// Serves `body` at `path` (which starts with `/`).
    pub fn set(&self, path: &str, body: impl Into<Vec<u8>>) {
        lock(&self.files).insert(path.to_string(), body.into());
    }

    /// Stops serving `path`; returns what it served.
    pub fn remove(&self, path: &str) -> Option<Vec<u8>> {
        lock(&self.files).remove(path)
    }

    /// What is served at `path`.
    pub fn body(&self, path: &str) -> Option<Vec<u8>> {
        lock(&self.files).get(path).cloned()
    }

    /// Serves nothing any more.
    pub fn clear(&self) {
        lock(&self.files).clear();
    }

    /// Every path asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }

    /// Answers every POST to `path` with `status` and `body` (a POST to a
    /// path without an answer gets a JSON 404).
    pub fn set_post(&self, path: &str, status: u16, body: impl Into<Vec<u8>>) {
        lock(&self.posts).insert(
            path.to_string(),
            Response {
                status,
                body: body.into(),
            },
        );
    }

    /// Every POST so far, in order: its path and body.
    pub fn posted(&self) -> Vec<(String, Vec<u8>)> {
        lock(&self.posted).clone()
    }

    /// Publishes a tree as a tlog-tiles log does: `checkpoint` at
    /// `/checkpoint`, every full and partial hash tile of `tree` at its
    /// size, and, if `entries` is not empty (it must then hold one entry per
    /// leaf), every entry bundle. Tiles published earlier stay, as the
    /// partial tiles of a real log do after it grows.
    pub fn publish(
        &self,
        tree: &MemoryTree,
        entries: &[Vec<u8>],
        checkpoint: &str,
    ) -> Result<(), TileError> {
        let files = tile_files(tree, entries)?;
        let mut map = lock(&self.files);
        for (path, body) in files {
            map.insert(path, body);
        }
        map.insert("/checkpoint".to_string(), checkpoint.as_bytes().to_vec());
        Ok(())
    }
}

/// Every hash tile (and, with `entries`, every entry bundle) of `tree` at
/// its size, as `(path, body)` with paths starting with `/`.
pub fn tile_files(
    tree: &MemoryTree,
    entries: &[Vec<u8>],
) -> Result<Vec<(String, Vec<u8>)>, TileError> {
    let size = tree.size();
    let mut out = Vec::new();
    for level in 0u8..=63 {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        if shift >= 64 || size >> shift == 0 {
            break;
        }
        let mut n = 0u64;
        while let Some(width) = tile::tile_width(level, n, size) {
            let t = tile::Tile {
                level: Some(level),
                index: n,
                width,
            };
            let mut body = Vec::with_capacity(32 * usize::from(width));
            for i in 0..u64::from(width) {
                let id = NodeId::new(level * TILE_HEIGHT, n * TILE_WIDTH + i);
                let h = tree
                    .get(id)
                    .ok_or(TileError::MalformedBundle("tree is missing a stored hash"))?;
                body.extend_from_slice(&h);
            }
            out.push((format!("/{}", t.path()), body));
            n += 1;
        }
    }
    if !entries.is_empty() {
        if entries.len() as u64 != size {
            return Err(TileError::WrongBundleWidth {
                got: entries.len(),
                want: size as usize,
            });
        }
        let mut n = 0u64;
        while let Some(width) = tile::bundle_width(n, size) {
            let t = tile::Tile {
                level: None,
                index: n,
                width,
            };
            let first = (n * TILE_WIDTH) as usize;
            let chunk = &entries[first..first + usize::from(width)];
            out.push((
                format!("/{}", t.path()),
                tile::encode_bundle(chunk.iter().map(Vec::as_slice))?,
            ));
            n += 1;
        }
    }
    Ok(out)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Transport for MemoryTransport {
    fn get(&self, path: &str) -> Result<Response, TransportError> {
        lock(&self.requests).push(path.to_string());
        Ok(match lock(&self.files).get(path) {
            Some(b) => Response {
                status: 200,
                body: b.clone(),
            },
            None => not_found(),
        })
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Response, TransportError> {
        lock(&self.posted).push((path.to_string(), body.to_vec()));
        Ok(lock(&self.posts)
            .get(path)
            .cloned()
            .unwrap_or_else(not_found))
    }
}

fn not_found() -> Response {
    Response {
        status: 404,
        body: br#"{"error":"not_found","message":"no such path"}"#.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::merkle::leaf_hash;

    #[test]
    fn urls() {
        let t = Duration::from_secs(1);
        assert!(HttpTransport::new("http://127.0.0.1:8080/", t).is_ok());
        assert_eq!(
            HttpTransport::new("http://h/log/", t).map(|h| h.base().to_string()),
            Ok("http://h/log".to_string())
        );
        for bad in [
            "https://h",
            "ftp://h",
            "h:80",
            "http://",
            "http:///x",
            "http://h?x=1",
        ] {
            assert!(HttpTransport::new(bad, t).is_err(), "{bad}");
        }
    }

    #[test]
    fn tile_files_match_the_spec_example_shape() {
        let mut tree = MemoryTree::new();
        for i in 0..70_000u32 {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        let files = tile_files(&tree, &[]).unwrap();
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths.len(), 273 + 1 + 1 + 1 + 1);
        assert!(paths.contains(&"/tile/0/273.p/112"));
        assert!(paths.contains(&"/tile/1/000"));
        assert!(paths.contains(&"/tile/1/001.p/17"));
        assert!(paths.contains(&"/tile/2/000.p/1"));
    }
}

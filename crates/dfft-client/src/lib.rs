//! # dfft-client
//!
//! The verifying client of a dfft-registry log. It trusts one thing, the
//! log's public key (and optionally a k-of-n set of witness keys), and
//! checks everything else itself:
//!
//! - [`Policy`]: the pinned log key and witness policy; every checkpoint is
//!   verified against it (origin, log signature, cosignatures).
//! - [`Client`]: reads the log through a [`Transport`] (C2SP tlog-tiles:
//!   checkpoint, hash tiles, entry bundles, with a partial tile falling back
//!   to the full one); builds inclusion and consistency proofs itself from
//!   the tiles ([`client::TileHashes`] is a [`dfft_core::merkle::HashReader`])
//!   and checks them against verified checkpoints; asks route and record
//!   questions and verifies the answers.
//! - [`State`]: the last verified checkpoint in a small JSON file, replaced
//!   atomically; every new checkpoint must be proven to extend it. A fork
//!   or a rollback is [`ClientError::Inconsistent`], carrying an
//!   [`Inconsistency`] with both signed checkpoints and the proof.
//! - [`Auditor`]: replays the log from entry 0, recomputes the tree from the
//!   entry bundles, checks the root, applies every entry to a
//!   [`dfft_core::statement::registry::Registry`] (signatures against the
//!   governance and authority state at its position, every record rule),
//!   and proves consistency with what it trusted before. A monitor keeps
//!   one and advances it checkpoint by checkpoint.
//! - [`offline`]: tlog-proof files and saved answers, checked with the
//!   policy alone.
//! - [`watch`]: descriptions of watched records and routes, from an
//!   audited registry or from answers verified with their completeness
//!   proofs (no entry downloaded but those cited), and their changes.
//! - [`submit`]: [`Client::submit`] and [`Client::submit_batch`] post
//!   envelopes and return only receipts they verified (checkpoint signed by
//!   the pinned key, leaf hash, inclusion proof); a refusal is a
//!   [`Refusal`].
//! - [`announce`]: what a registry says about itself (`/v1/info`,
//!   `/v1/authorities`), unverified: a key learnt there is trust on first
//!   use.
//!
//! ```
//! use dfft_client::{Client, MemoryTransport, Policy, State};
//! use dfft_core::checkpoint::Checkpoint;
//! use dfft_core::merkle::{leaf_hash, MemoryTree};
//! use dfft_core::note::{KeyName, SignerKey};
//!
//! let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
//! let entries: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
//! let mut tree = MemoryTree::new();
//! entries.iter().for_each(|e| tree.push(leaf_hash(e)));
//! let cp = Checkpoint { origin: "example.org/log".into(), size: tree.size(), root: tree.root(), extensions: vec![] };
//! let log = MemoryTransport::new();
//! log.publish(&tree, &entries, &cp.sign(&[&key], 0).unwrap().to_text()).unwrap();
//!
//! let client = Client::new(&log, Policy::new(key.verifier()).unwrap());
//! let mut state = State::new(key.verifier());
//! let update = client.update(&mut state).unwrap();
//! assert_eq!(update.checkpoint.checkpoint.size, 300);
//! assert_eq!(client.entry(&update.checkpoint, 257).unwrap(), 257u32.to_be_bytes());
//! ```
//!
//! Leaves out: TLS (the `ureq` transport speaks plain HTTP in this build),
//! signing statements (the `dfft` commands do that), witnessing
//! (cosigning checkpoints), and persisting the replayed registry between
//! runs: a new audit replays from entry 0 and reports what is new since
//! the state's audited size.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod announce;
pub mod audit;
pub mod client;
pub mod error;
pub mod offline;
pub mod state;
pub mod submit;
pub mod transport;
pub mod watch;

pub use audit::{AuditReport, Auditor, Progress};
pub use client::{Client, Policy, RouteMemo, RouteQuery, Update};
pub use error::{ClientError, Inconsistency, InconsistencyKind};
pub use state::State;
pub use submit::{Refusal, VerifiedReceipt};
pub use transport::{HttpTransport, MemoryTransport, Response, Transport, TransportError};
pub use watch::{Answer, Watch, WatchChange};

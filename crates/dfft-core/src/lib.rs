//! # dfft-core
//!
//! The pure heart of dfft-registry: everything that the server, the client,
//! the auditor and a witness must agree on byte for byte.
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 hashing, tree hashes, inclusion and
//!   consistency proofs built from stored hashes through [`merkle::HashReader`],
//!   and their verification.
//! - [`tile`]: C2SP tlog-tiles math, tile and entry-bundle paths, bundles.
//! - [`note`]: C2SP signed-note keys, signing and verification, and
//!   the cosignature/v1 and subtree/v1 witness cosignatures (C2SP
//!   tlog-cosignature).
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies.
//! - [`policy`]: C2SP tlog-policy files and the witness quorum rule.
//! - [`tlog_proof`]: c2sp.org/tlog-proof offline proof files.
//! - [`answer`]: verifiable route and record answers.
//! - [`map`]: the sparse Merkle map derived from the log, its proofs, and
//!   the registry-appended `index` entry that binds its root into the log.
//! - [`wire`]: the JSON bodies of receipts, proofs, info and errors.
//! - `statement`: DSSE envelopes and the v1 statements of the data model,
//!   jurisdictions, the status rule and the registry rules.
//!
//! What it leaves out: any I/O (files, network, clocks, randomness). Callers
//! pass in bytes, keys, dates and seeds; storage plugs in through traits.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod answer;
pub mod checkpoint;
pub mod counterparty;
pub mod hex;
pub mod map;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod statement;
pub mod tile;
pub mod tlog_proof;
pub mod wire;

//! The `index` entry: the leaf the registry appends as the last of every
//! batch, binding the map root into the log (and so into every checkpoint
//! and every witness cosignature over it).
//!
//! An index entry is a DSSE envelope (payload type
//! `application/vnd.dfft.statement.v1+json`, the kind statements-v1
//! reserves) with exactly one signature, by the log's own key, over this
//! payload in RFC 8785 canonical JSON (docs/index.md, "The index entry"):
//! ```json
//! {"first":0,"kind":"index","last":5,"log":"<origin>","map_root":"<base64>","previous":null}
//! ```
//! - `first`..=`last`: the entries it covers, from the previous index
//!   entry's index + 1 (0 for the first) up to its own index;
//! - `map_root`: the map root after applying exactly entries 0..=`last`
//!   (the index entry itself changes nothing);
//! - `previous`: the previous index entry's index, or `null`.
//!
//! The payload has no time and the signature is Ed25519 (deterministic), so
//! an auditor recomputes each index entry byte for byte. Nobody can submit
//! one: the statement parser refuses the kind, and the auditor checks the
//! signature is the log's.
//!
//! [`MapReplay`] is the auditor's check of every index entry while it
//! replays the log. Leaves out: fetching entries, the registry rules.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::tree::{self, MemNodes};
use super::MapBatch;
use crate::merkle::Hash;
use crate::note::{SignerKey, VerifierKey};
use crate::statement::dsse::{DsseError, Envelope};
use crate::statement::registry::Change;

/// The payload of an index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The log's origin.
    pub log: String,
    /// The first entry covered.
    pub first: u64,
    /// The last entry covered: the index entry's own index.
    pub last: u64,
    /// The map root after entries 0..=`last`.
    pub map_root: Hash,
    /// The previous index entry's index (`first - 1`), or `None` if `first` is 0.
    pub previous: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    first: u64,
    kind: String,
    last: u64,
    log: String,
    map_root: String,
    previous: Option<u64>,
}

/// Why an index entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The envelope is not a canonical DSSE envelope.
    #[error("index entry envelope: {0}")]
    Envelope(#[from] DsseError),
    /// The payload is not an index payload in canonical form.
    #[error("index entry payload: {0}")]
    Payload(String),
    /// Not signed by exactly the log's key, or the signature fails.
    #[error("index entry is not signed by the log's key `{0}` alone")]
    Signature(String),
}

impl IndexEntry {
    /// The canonical JSON payload (module docs).
    pub fn payload(&self) -> Vec<u8> {
        // Written directly in JCS member order; only `log` needs escaping.
        let mut out = Vec::with_capacity(160 + self.log.len());
        out.extend_from_slice(
            format!(
                "{{\"first\":{},\"kind\":\"index\",\"last\":{},\"log\":",
                self.first, self.last
            )
            .as_bytes(),
        );
        crate::statement::jcs::write_string(&self.log, &mut out);
        out.extend_from_slice(b",\"map_root\":");
        crate::statement::jcs::write_string(&B64.encode(self.map_root), &mut out);
        out.extend_from_slice(b",\"previous\":");
        match self.previous {
            Some(p) => out.extend_from_slice(p.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        out
    }

    /// Parses a payload strictly: the fields above and no others, `last >=
    /// first`, `previous` equal to `first - 1` (null iff `first` is 0), and
    /// the bytes exactly the canonical form.
    pub fn parse_payload(bytes: &[u8]) -> Result<IndexEntry, IndexError> {
        let bad = |m: &str| IndexError::Payload(m.to_owned());
        let raw: Raw =
            serde_json::from_slice(bytes).map_err(|e| IndexError::Payload(e.to_string()))?;
        if raw.kind != "index" {
            return Err(bad("kind is not `index`"));
        }
        let map_root: Hash = B64
            .decode(&raw.map_root)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("map_root is not 32 bytes of base64"))?;
        if raw.last < raw.first {
            return Err(bad("last is before first"));
        }
        if raw.previous != raw.first.checked_sub(1) {
            return Err(bad("previous is not the entry before first"));
        }
        let ix = IndexEntry {
            log: raw.log,
            first: raw.first,
            last: raw.last,
            map_root,
            previous: raw.previous,
        };
        if ix.payload() != bytes {
            return Err(bad("not in canonical form"));
        }
        Ok(ix)
    }

    /// The entry bytes: the payload signed by the log's key, canonical.
    pub fn sign(&self, log_key: &SignerKey) -> Result<Vec<u8>, IndexError> {
        Ok(Envelope::sign(self.payload(), &[log_key])?.to_entry()?)
    }

    /// Parses a logged index entry (canonical envelope, strict payload)
    /// without checking its signature.
    pub fn parse_entry(entry: &[u8]) -> Result<IndexEntry, IndexError> {
        let env = Envelope::parse_canonical(entry)?;
        IndexEntry::parse_payload(&env.payload)
    }

    /// Parses a logged index entry and checks it carries exactly one
    /// signature, by `log_key`, valid under strict Ed25519.
    pub fn verify_entry(entry: &[u8], log_key: &VerifierKey) -> Result<IndexEntry, IndexError> {
        let env = Envelope::parse_canonical(entry)?;
        let ix = IndexEntry::parse_payload(&env.payload)?;
        let pae = env.pae();
        match env.signatures.as_slice() {
            [s] if s.verify(log_key, &pae) => Ok(ix),
            _ => Err(IndexError::Signature(log_key.keyid())),
        }
    }

    /// Whether `entry` carries an index payload (cheap test on the kind; a
    /// full check is [`IndexEntry::parse_entry`]).
    pub fn is_index_entry(entry: &[u8]) -> bool {
        IndexEntry::parse_entry(entry).is_ok()
    }
}

impl Serialize for IndexEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Raw {
            first: self.first,
            kind: "index".into(),
            last: self.last,
            log: self.log.clone(),
            map_root: B64.encode(self.map_root),
            previous: self.previous,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for IndexEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Raw::deserialize(d)?;
        let bytes = serde_json::to_vec(&raw).map_err(serde::de::Error::custom)?;
        IndexEntry::parse_payload(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Why an index entry does not match the log it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexMismatch {
    /// The entry itself is bad.
    #[error("index entry at {index}: {source}")]
    Entry {
        /// Its index.
        index: u64,
        /// Why.
        source: IndexError,
    },
    /// A field disagrees with the log.
    #[error("index entry at {index}: {field} is {found} but the log gives {expected}")]
    Field {
        /// Its index.
        index: u64,
        /// `log`, `first`, `last` or `previous`.
        field: &'static str,
        /// What the entry says.
        found: String,
        /// What the replay gives.
        expected: String,
    },
    /// The replayed map is damaged (only if nodes were inserted by hand).
    #[error("entry {index}: the replayed map: {reason}")]
    Replay {
        /// The entry.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The map root is not the one the entries give.
    #[error("index entry at {index}: map_root {found} but entries {first}..={index} give {expected}", found = crate::hex::encode(.found), expected = crate::hex::encode(.expected))]
    Root {
        /// Its index.
        index: u64,
        /// First entry covered.
        first: u64,
        /// The root it states.
        found: Hash,
        /// The root the replay gives.
        expected: Hash,
    },
}

/// The auditor's replay of the map: feed it every entry in log order with
/// the [`Change`] the registry rules gave it; it checks every index entry.
#[derive(Debug, Clone)]
pub struct MapReplay {
    origin: String,
    log_key: VerifierKey,
    nodes: MemNodes,
    batch: MapBatch,
    /// The last index entry's index.
    last_index: Option<u64>,
    /// Index entries checked.
    checked: u64,
}

impl MapReplay {
    /// A replay from entry 0 of the log `origin` signed by `log_key`.
    pub fn new(origin: &str, log_key: &VerifierKey) -> MapReplay {
        MapReplay {
            origin: origin.to_owned(),
            log_key: log_key.clone(),
            nodes: MemNodes::new(),
            batch: MapBatch::new(),
            last_index: None,
            checked: 0,
        }
    }

    /// Index entries checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The last index entry's index.
    pub fn last_index(&self) -> Option<u64> {
        self.last_index
    }

    /// The map's nodes after the last index entry (for monitors).
    pub fn nodes(&self) -> &MemNodes {
        &self.nodes
    }

    /// Applies entry `index` (bytes `entry`, leaf hash `leaf`) whose rules
    /// gave `change`; an index entry is checked against the replay.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &[u8],
        leaf: &Hash,
        change: &Change,
    ) -> Result<(), IndexMismatch> {
        let Change::Index(_) = change else {
            let nodes = &self.nodes;
            return self
                .batch
                .apply(index, leaf, change, |k| tree::get(nodes, k))
                .map_err(|e| IndexMismatch::Replay {
                    index,
                    reason: e.to_string(),
                });
        };
        let ix = IndexEntry::verify_entry(entry, &self.log_key)
            .map_err(|source| IndexMismatch::Entry { index, source })?;
        let field = |field, found: String, expected: String| IndexMismatch::Field {
            index,
            field,
            found,
            expected,
        };
        if ix.log != self.origin {
            return Err(field("log", ix.log.clone(), self.origin.clone()));
        }
        let first = self.last_index.map_or(0, |l| l + 1);
        if ix.first != first {
            return Err(field("first", ix.first.to_string(), first.to_string()));
        }
        if ix.last != index {
            return Err(field("last", ix.last.to_string(), index.to_string()));
        }
        let batch = std::mem::take(&mut self.batch);
        let root = self
            .nodes
            .apply(batch.updates())
            .map_err(|e| IndexMismatch::Replay {
                index,
                reason: e.to_string(),
            })?;
        if root != ix.map_root {
            return Err(IndexMismatch::Root {
                index,
                first,
                found: ix.map_root,
                expected: root,
            });
        }
        self.last_index = Some(index);
        self.checked += 1;
        Ok(())
    }
}

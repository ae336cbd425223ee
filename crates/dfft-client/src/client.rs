//! The verifying client: a pinned [`Policy`] and a [`Transport`]. Every
//! checkpoint it returns is verified against the policy; every proof it
//! returns was built from the log's tiles and checked against a verified
//! checkpoint.
//!
//! Why this file is long: every read the client makes shares one verified
//! checkpoint and one policy; the submission and announcement code already
//! live apart (`submit`, `announce`).

use crate::error::{ClientError, Inconsistency, InconsistencyKind};
use crate::offline::{verify_record, VerifiedRecord};
use crate::state::State;
use crate::transport::Transport;
use dfft_core::answer::{RecordHistory, RouteAnswer, VerifiedRoute};
use dfft_core::checkpoint::{CheckpointError, SignedCheckpoint};
use dfft_core::counterparty::{CounterpartyAnswer, VerifiedCounterparty};
use dfft_core::merkle::{self, BuildError, Hash, HashReader, NodeId};
use dfft_core::note::{KeyKind, VerifierKey};
use dfft_core::policy::{Policy as CorePolicy, PolicyWitness};
use dfft_core::statement::{DataCategory, Date, Jurisdiction, Mechanism, RecordId};
use dfft_core::tile::{self, Tile, TILE_WIDTH};
use dfft_core::wire;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the client trusts: the pinned log's key and a C2SP tlog-policy
/// (the core [`CorePolicy`], the one home of the quorum rule) of witnesses
/// and their quorum. A thin wrapper: it pins the one log this client talks
/// to and refuses checkpoints of the policy's other logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    log_key: VerifierKey,
    core: CorePolicy,
}

impl Policy {
    /// Trusts checkpoints signed by `log_key` (an Ed25519 signed-note key
    /// named after the log's origin), with no witness requirement.
    pub fn new(log_key: VerifierKey) -> Result<Policy, ClientError> {
        Policy::from_keys(log_key, Vec::new(), 0)
    }

    /// Parses the log's vkey string and trusts it.
    pub fn parse(log_vkey: &str) -> Result<Policy, ClientError> {
        let key = VerifierKey::parse(log_vkey.trim())
            .map_err(|e| ClientError::Usage(format!("log key {log_vkey:?}: {e}")))?;
        Policy::new(key)
    }

    /// The log key and `min` (k) of `witnesses` (n witness keys of either
    /// cosignature type, no two alike): [`CorePolicy::from_keys`].
    pub fn from_keys(
        log_key: VerifierKey,
        witnesses: Vec<VerifierKey>,
        min: usize,
    ) -> Result<Policy, ClientError> {
        if log_key.kind() != KeyKind::Ed25519 {
            return Err(ClientError::Usage(format!(
                "log key {log_key} is a witness key, not a log's Ed25519 key"
            )));
        }
        let core = CorePolicy::from_keys(log_key.clone(), witnesses, min)
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        Ok(Policy { log_key, core })
    }

    /// Requires `min` cosignatures (k-of-n) from `witnesses`, replacing the
    /// witness requirement (see [`Policy::from_keys`]).
    pub fn with_witnesses(
        self,
        witnesses: Vec<VerifierKey>,
        min: usize,
    ) -> Result<Policy, ClientError> {
        Policy::from_keys(self.log_key, witnesses, min)
    }

    /// A tlog-policy, pinned to one of its logs: `log_key` if given (it
    /// must be one of the policy's logs, or the policy lists none and it is
    /// added), else the policy's only log.
    pub fn from_policy(
        mut core: CorePolicy,
        log_key: Option<VerifierKey>,
    ) -> Result<Policy, ClientError> {
        let usage = ClientError::Usage;
        let log_key = match (log_key, core.logs()) {
            (Some(k), []) => {
                core.add_log(k.clone(), None)
                    .map_err(|e| usage(format!("log key {k}: {e}")))?;
                k
            }
            (Some(k), logs) => {
                if !logs.contains(&k) {
                    return Err(usage(format!(
                        "the log key {k} is not a log of the witness policy (it lists {})",
                        list(logs)
                    )));
                }
                k
            }
            (None, [only]) => only.clone(),
            (None, []) => {
                return Err(usage(
                    "the witness policy lists no log: give the log key too (--log-key)".into(),
                ))
            }
            (None, logs) => {
                return Err(usage(format!(
                    "the witness policy lists {} logs ({}): choose one with --log-key",
                    logs.len(),
                    list(logs)
                )))
            }
        };
        Ok(Policy { log_key, core })
    }

    /// The pinned log key.
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// The log's origin (the log key's name).
    pub fn origin(&self) -> &str {
        self.log_key.name()
    }

    /// The core policy: logs, witnesses, groups, quorum.
    pub fn core(&self) -> &CorePolicy {
        &self.core
    }

    /// The trusted witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        self.core.witnesses()
    }

    /// The quorum in words, for people.
    pub fn describe_quorum(&self) -> String {
        self.core.describe_quorum()
    }

    /// Verifies a checkpoint: origin (the pinned log's), log signature,
    /// every cosignature by a policy witness, the quorum. Returns the names
    /// of the witnesses that cosigned.
    pub fn verify(&self, cp: &SignedCheckpoint) -> Result<Vec<String>, ClientError> {
        self.check_origin(cp)?;
        Ok(self.core.verify_checkpoint(cp)?)
    }

    /// Refuses a checkpoint of another log than the pinned one (the core
    /// policy may list several).
    pub fn check_origin(&self, cp: &SignedCheckpoint) -> Result<(), ClientError> {
        if cp.checkpoint.origin != self.origin() {
            return Err(CheckpointError::WrongOrigin {
                got: cp.checkpoint.origin.clone(),
                want: self.origin().to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Parses and verifies a signed checkpoint note.
    pub fn parse_checkpoint(&self, note: &[u8]) -> Result<SignedCheckpoint, ClientError> {
        let cp = SignedCheckpoint::parse(note)?;
        self.verify(&cp)?;
        Ok(cp)
    }
}

fn list(logs: &[VerifierKey]) -> String {
    logs.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A route question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteQuery {
    /// Where data comes from.
    pub from: Jurisdiction,
    /// Where it goes.
    pub to: Jurisdiction,
    /// On which day.
    pub at: Date,
    /// Only recognitions of this mechanism, if given.
    pub mechanism: Option<Mechanism>,
    /// Only rules that apply to this category of data, if given (v2).
    pub data: Option<DataCategory>,
}

impl RouteQuery {
    /// The request path,
    /// `/v1/route?from=..&to=..&at=..[&mechanism=..][&data=..]`.
    pub fn path(&self) -> String {
        let mut p = format!(
            "/v1/route?from={}&to={}&at={}",
            query_escape(self.from.as_str()),
            query_escape(self.to.as_str()),
            self.at
        );
        if let Some(m) = self.mechanism {
            p.push_str("&mechanism=");
            p.push_str(&query_escape(m.as_str()));
        }
        if let Some(d) = self.data {
            p.push_str("&data=");
            p.push_str(&query_escape(d.as_str()));
        }
        p
    }

    /// Checks that `answer` answers this question.
    pub fn check(&self, answer: &RouteAnswer) -> Result<(), ClientError> {
        let asked = format!(
            "{} -> {} on {} ({:?}, {:?})",
            self.from,
            self.to,
            self.at,
            self.mechanism.map(|m| m.as_str()),
            self.data.map(|d| d.as_str())
        );
        let got = format!(
            "{} -> {} on {} ({:?}, {:?})",
            answer.from,
            answer.to,
            answer.at,
            answer.mechanism.map(|m| m.as_str()),
            answer.data.map(|d| d.as_str())
        );
        if asked != got {
            return Err(ClientError::WrongAnswer(format!(
                "asked {asked}, answered {got}"
            )));
        }
        Ok(())
    }
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Most hash tiles kept in memory (up to 16 KiB each with their inner nodes).
const MAX_CACHED_TILES: usize = 2048;

/// A hash tile and every perfect subtree inside it: `levels[r][j]` is the
/// node over tile hashes `[j * 2^r, (j + 1) * 2^r)` (complete ones only),
/// so any stored hash between two tile levels is one lookup.
#[derive(Debug)]
struct TileNodes {
    levels: Vec<Vec<Hash>>,
}

impl TileNodes {
    fn new(hashes: Vec<Hash>) -> TileNodes {
        let mut levels = vec![hashes];
        while let Some(last) = levels.last().filter(|l| l.len() >= 2) {
            let next: Vec<Hash> = last
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        TileNodes { levels }
    }

    fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The node over tile hashes `[start, end)`: a power of two of them,
    /// aligned to it.
    fn node(&self, start: usize, end: usize) -> Option<Hash> {
        let n = end.checked_sub(start)?;
        if !n.is_power_of_two() || start % n != 0 {
            return None;
        }
        let r = n.trailing_zeros() as usize;
        self.levels.get(r)?.get(start >> r).copied()
    }
}

/// Hash tiles already fetched. Full tiles never change; a partial tile of
/// a given width never changes either, and is a prefix of the full tile.
#[derive(Debug, Default)]
struct TileCache {
    tiles: Mutex<HashMap<(u8, u64, u16), Arc<TileNodes>>>,
}

impl TileCache {
    /// The tile, or the full tile it is a prefix of.
    fn get(&self, key: (u8, u64, u16)) -> Option<Arc<TileNodes>> {
        let map = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .or_else(|| map.get(&(key.0, key.1, TILE_WIDTH as u16)))
            .cloned()
    }

    fn put(&self, key: (u8, u64, u16), tile: Arc<TileNodes>) {
        let mut map = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED_TILES {
            map.clear();
        }
        map.insert(key, tile);
    }
}

/// The result of [`Client::update`].
#[derive(Debug, Clone)]
pub struct Update {
    /// The checkpoint verified before, if any.
    pub previous: Option<SignedCheckpoint>,
    /// The latest checkpoint, verified and proven consistent with it.
    pub checkpoint: SignedCheckpoint,
    /// The consistency proof (empty if the size did not change or there was
    /// no previous checkpoint).
    pub proof: Vec<Hash>,
}

/// The verifying client of one log.
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    policy: Policy,
    cache: TileCache,
    completeness: crate::offline::Completeness,
}

impl<T: Transport> Client<T> {
    /// A client of the log reached through `transport`, trusting `policy`.
    pub fn new(transport: T, policy: Policy) -> Client<T> {
        Client {
            transport,
            policy,
            cache: TileCache::default(),
            completeness: crate::offline::Completeness::Required,
        }
    }

    /// Whether route and record answers must prove they are complete (the
    /// default: required).
    pub fn with_completeness(mut self, c: crate::offline::Completeness) -> Client<T> {
        self.completeness = c;
        self
    }

    /// The trust policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// GETs `path`; anything but 200 is an error.
    pub fn fetch(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.get(path, false).map(|b| b.unwrap_or_default())
    }

    /// GETs `path`: `None` on 404, an error on any other status but 200.
    fn fetch_opt(&self, path: &str) -> Result<Option<Vec<u8>>, ClientError> {
        self.get(path, true)
    }

    /// GETs `path`; 200 gives the body, 404 gives `None` if `absent_ok`,
    /// anything else is an error carrying the server's message.
    fn get(&self, path: &str, absent_ok: bool) -> Result<Option<Vec<u8>>, ClientError> {
        let r = self
            .transport
            .get(path)
            .map_err(|source| ClientError::Transport {
                path: path.to_string(),
                source,
            })?;
        match r.status {
            200 => Ok(Some(r.body)),
            404 if absent_ok => Ok(None),
            status => Err(ClientError::Http {
                path: path.to_string(),
                status,
                message: error_body(&r.body).1,
            }),
        }
    }

    /// Fetches the latest checkpoint and verifies it against the policy.
    pub fn checkpoint(&self) -> Result<SignedCheckpoint, ClientError> {
        let body = self.fetch("/checkpoint")?;
        self.policy.parse_checkpoint(&body)
    }

    /// Fetches hash tile `index` at tile `level` with `width` hashes; a
    /// missing partial tile falls back to the full tile (the tree grew).
    /// The hashes are not checked here: proofs built from them are.
    pub fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, ClientError> {
        let t = self.tile_nodes(level, index, width)?;
        Ok(t.hashes()[..usize::from(width)].to_vec())
    }

    /// The tile (or the full tile it is a prefix of), from the cache or the log.
    fn tile_nodes(&self, level: u8, index: u64, width: u16) -> Result<Arc<TileNodes>, ClientError> {
        if width == 0 || u64::from(width) > TILE_WIDTH || level > 63 {
            return Err(ClientError::Usage(format!(
                "no hash tile {level}/{index} of width {width}"
            )));
        }
        let key = (level, index, width);
        if let Some(t) = self.cache.get(key) {
            return Ok(t);
        }
        let t = Tile {
            level: Some(level),
            index,
            width,
        };
        let path = format!("/{}", t.path());
        let (key, hashes) = match self.fetch_opt(&path)? {
            Some(body) => (
                key,
                tile::parse_hash_tile(&body, width)
                    .map_err(|e| ClientError::malformed(&path, e))?,
            ),
            None if !t.is_full() => {
                let full = Tile {
                    width: TILE_WIDTH as u16,
                    ..t
                };
                let full_path = format!("/{}", full.path());
                let body = self.fetch(&full_path)?;
                (
                    (level, index, full.width),
                    tile::parse_hash_tile(&body, full.width)
                        .map_err(|e| ClientError::malformed(&full_path, e))?,
                )
            }
            None => {
                return Err(ClientError::Http {
                    path,
                    status: 404,
                    message: "hash tile not found".into(),
                })
            }
        };
        let nodes = Arc::new(TileNodes::new(hashes));
        self.cache.put(key, nodes.clone());
        Ok(nodes)
    }

    /// Fetches entry bundle `index` of the tree of `size` (a missing
    /// partial bundle falls back to the full one) and splits it into
    /// entries. The entries are not checked here.
    pub fn entry_bundle(&self, index: u64, size: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let width = tile::bundle_width(index, size).ok_or_else(|| {
            ClientError::Usage(format!(
                "the tree of size {size} has no entry bundle {index}"
            ))
        })?;
        let t = Tile {
            level: None,
            index,
            width,
        };
        let path = format!("/{}", t.path());
        match self.fetch_opt(&path)? {
            Some(body) => {
                let entries = tile::decode_bundle_width(&body, width)
                    .map_err(|e| ClientError::malformed(&path, e))?;
                Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
            }
            None if !t.is_full() => {
                let full = Tile {
                    width: TILE_WIDTH as u16,
                    ..t
                };
                let full_path = format!("/{}", full.path());
                let body = self.fetch(&full_path)?;
                let entries = tile::decode_bundle_width(&body, full.width)
                    .map_err(|e| ClientError::malformed(&full_path, e))?;
                Ok(entries[..usize::from(width)]
                    .iter()
                    .map(|e| e.to_vec())
                    .collect())
            }
            None => Err(ClientError::Http {
                path,
                status: 404,
                message: "entry bundle not found".into(),
            }),
        }
    }

    /// The stored hashes of the tree of `size`, read from its tiles.
    pub fn hashes(&self, size: u64) -> TileHashes<'_, T> {
        TileHashes { client: self, size }
    }

    /// The root of the tree of `size` as the log's tiles give it.
    pub fn tree_hash(&self, size: u64) -> Result<Hash, ClientError> {
        merkle::tree_hash(&self.hashes(size), size).map_err(build_error)
    }

    /// Builds the inclusion proof of `leaf` at `index` from the tiles of the
    /// checkpoint's tree and checks it against the checkpoint's root.
    pub fn prove_inclusion(
        &self,
        cp: &SignedCheckpoint,
        index: u64,
        leaf: &Hash,
    ) -> Result<Vec<Hash>, ClientError> {
        let size = cp.checkpoint.size;
        if index >= size {
            return Err(ClientError::Inclusion {
                index,
                size,
                source: merkle::ProofError::IndexOutOfRange { index, size },
            });
        }
        let proof =
            merkle::inclusion_proof(&self.hashes(size), index, size).map_err(build_error)?;
        merkle::verify_inclusion(index, size, leaf, &proof, &cp.checkpoint.root).map_err(
            |source| ClientError::Inclusion {
                index,
                size,
                source,
            },
        )?;
        Ok(proof)
    }

    /// Fetches entry `index` from its bundle and proves it is in the
    /// checkpoint's tree.
    pub fn entry(&self, cp: &SignedCheckpoint, index: u64) -> Result<Vec<u8>, ClientError> {
        let size = cp.checkpoint.size;
        if index >= size {
            return Err(ClientError::Inclusion {
                index,
                size,
                source: merkle::ProofError::IndexOutOfRange { index, size },
            });
        }
        let mut bundle = self.entry_bundle(index / TILE_WIDTH, size)?;
        let entry = bundle.swap_remove((index % TILE_WIDTH) as usize);
        self.prove_inclusion(cp, index, &merkle::leaf_hash(&entry))?;
        Ok(entry)
    }

    /// Proves that `presented` extends `trusted` (both verified already),
    /// with a consistency proof built from the tiles of `presented`'s tree.
    ///
    /// - `presented` smaller than `trusted`: [`InconsistencyKind::Rollback`].
    /// - same size, different roots: [`InconsistencyKind::Fork`].
    /// - the proof fails although the tiles do lead to `presented`'s root:
    ///   [`InconsistencyKind::Fork`], with the proof and the root the
    ///   presented tree has at `trusted`'s size.
    /// - the tiles do not even match `presented`: [`ClientError::TilesMismatch`]
    ///   (the log is broken, but that is no evidence of a fork).
    pub fn prove_consistency(
        &self,
        trusted: &SignedCheckpoint,
        presented: &SignedCheckpoint,
    ) -> Result<Vec<Hash>, ClientError> {
        let (t, p) = (&trusted.checkpoint, &presented.checkpoint);
        if t.origin != p.origin {
            return Err(ClientError::Usage(format!(
                "checkpoints of two logs ({:?} and {:?}) cannot be compared",
                t.origin, p.origin
            )));
        }
        let evidence = |kind, proof, implied_root| {
            ClientError::inconsistent(Inconsistency {
                kind,
                trusted: trusted.clone(),
                presented: presented.clone(),
                proof,
                implied_root,
            })
        };
        if p.size < t.size {
            return Err(evidence(InconsistencyKind::Rollback, Vec::new(), None));
        }
        if p.size == t.size {
            if p.root != t.root {
                return Err(evidence(InconsistencyKind::Fork, Vec::new(), None));
            }
            return Ok(Vec::new());
        }
        if t.size == 0 {
            if t.root != merkle::EMPTY_ROOT {
                return Err(evidence(
                    InconsistencyKind::Fork,
                    Vec::new(),
                    Some(merkle::EMPTY_ROOT),
                ));
            }
            return Ok(Vec::new());
        }
        let reader = self.hashes(p.size);
        let proof = merkle::consistency_proof(&reader, t.size, p.size).map_err(build_error)?;
        match merkle::verify_consistency(t.size, p.size, &t.root, &p.root, &proof) {
            Ok(()) => Ok(proof),
            Err(e) => {
                // Is the proof good for the presented root? Then the log's
                // own tiles show its tree of the trusted size has another root.
                let implied = merkle::tree_hash(&reader, t.size).map_err(build_error)?;
                if implied != t.root
                    && merkle::verify_consistency(t.size, p.size, &implied, &p.root, &proof).is_ok()
                {
                    Err(evidence(InconsistencyKind::Fork, proof, Some(implied)))
                } else {
                    Err(ClientError::TilesMismatch {
                        size: p.size,
                        detail: format!("consistency proof from size {}: {e}", t.size),
                    })
                }
            }
        }
    }

    /// Moves `state` to `cp` after proving that `cp` extends the state's
    /// checkpoint (a smaller `cp` is a rollback). Returns the proof.
    pub fn advance(
        &self,
        state: &mut State,
        cp: &SignedCheckpoint,
    ) -> Result<Vec<Hash>, ClientError> {
        self.policy.verify(cp)?;
        let proof = match state.checkpoint() {
            Some(old) => self.prove_consistency(old, cp)?,
            None => Vec::new(),
        };
        state.set_checkpoint(cp.clone());
        Ok(proof)
    }

    /// Checks a checkpoint that an answer was computed against: if it is at
    /// least as large as the state's, as [`Self::advance`]; if smaller, it
    /// must be a prefix of the state's tree (answers may lag behind).
    pub fn observe(
        &self,
        state: &mut State,
        cp: &SignedCheckpoint,
    ) -> Result<Vec<Hash>, ClientError> {
        match state.checkpoint() {
            Some(old) if cp.checkpoint.size < old.checkpoint.size => {
                self.policy.verify(cp)?;
                self.prove_consistency(cp, old).map_err(|e| match e {
                    ClientError::Inconsistent(mut i) => {
                        std::mem::swap(&mut i.trusted, &mut i.presented);
                        ClientError::Inconsistent(i)
                    }
                    e => e,
                })
            }
            _ => self.advance(state, cp),
        }
    }

    /// Fetches the latest checkpoint, verifies it and proves it extends the
    /// state's; moves the state to it.
    pub fn update(&self, state: &mut State) -> Result<Update, ClientError> {
        let cp = self.checkpoint()?;
        let previous = state.checkpoint().cloned();
        let proof = self.advance(state, &cp)?;
        Ok(Update {
            previous,
            checkpoint: cp,
            proof,
        })
    }

    /// Asks a route question and verifies the answer: checkpoint, every
    /// cited entry and its inclusion proof, every status, that it answers
    /// the question asked, and that it is complete (map proofs for every
    /// route key, `dfft_core::map::complete`).
    pub fn route(&self, q: &RouteQuery) -> Result<(RouteAnswer, VerifiedRoute), ClientError> {
        let path = q.path();
        let body = self.fetch(&path)?;
        let answer: RouteAnswer =
            serde_json::from_slice(&body).map_err(|e| ClientError::malformed(&path, e))?;
        q.check(&answer)?;
        let verified = crate::offline::verify_route_with(&answer, &self.policy, self.completeness)?;
        Ok((answer, verified))
    }

    /// Asks a counterparty question (statements v2) and verifies both
    /// layers at one checkpoint: the route (complete) and the
    /// organisation's listing under every programme the route's
    /// recognitions require (complete, or proven absent); returns the
    /// verdict with them ([`dfft_core::counterparty`]).
    pub fn counterparty(
        &self,
        q: &RouteQuery,
        org: &str,
        data: Option<dfft_core::statement::ListingData>,
    ) -> Result<(CounterpartyAnswer, VerifiedCounterparty), ClientError> {
        self.counterparty_with(q, org, data, None)
    }

    /// [`Client::counterparty`], with a memo of route parts already
    /// verified in this batch (by their JSON's SHA-256): a route part met
    /// again, byte for byte, is not verified twice. The listings are
    /// always verified.
    pub fn counterparty_with(
        &self,
        q: &RouteQuery,
        org: &str,
        data: Option<dfft_core::statement::ListingData>,
        memo: Option<&RouteMemo>,
    ) -> Result<(CounterpartyAnswer, VerifiedCounterparty), ClientError> {
        let mut path = format!(
            "/v1/counterparty?from={}&to={}&at={}&org={}",
            query_escape(q.from.as_str()),
            query_escape(q.to.as_str()),
            q.at,
            query_escape(org)
        );
        if let Some(d) = data {
            path.push_str("&data=");
            path.push_str(d.as_str());
        }
        let body = self.fetch(&path)?;
        let answer: CounterpartyAnswer =
            serde_json::from_slice(&body).map_err(|e| ClientError::malformed(&path, e))?;
        q.check(&answer.route)?;
        if answer.org != org || answer.data != data {
            return Err(ClientError::WrongAnswer(format!(
                "asked about {org:?} ({data:?}), answered about {:?} ({:?})",
                answer.org, answer.data
            )));
        }
        // With a memo, the route part is known by a collision-resistant
        // digest of its JSON (the leaf hash is SHA-256); without, nothing
        // is serialised again.
        let digest = match memo {
            Some(_) => Some(dfft_core::merkle::leaf_hash(
                &serde_json::to_vec(&answer.route).map_err(|e| ClientError::malformed(&path, e))?,
            )),
            None => None,
        };
        let known = memo.zip(digest.as_ref()).and_then(|(m, d)| m.get(d));
        let route = match known {
            Some(r) => r,
            None => {
                self.policy.check_origin(&SignedCheckpoint::parse(
                    answer.route.checkpoint.as_bytes(),
                )?)?;
                let r = dfft_core::counterparty::verify_route_part(
                    &answer.route,
                    self.policy.core(),
                    self.policy.log_key(),
                )?;
                if let (Some(m), Some(d)) = (memo, digest) {
                    m.put(d, r.clone());
                }
                r
            }
        };
        let verified = answer.verify_listings(route, self.policy.log_key())?;
        Ok((answer, verified))
    }

    /// Searches organisations by name, former name or id (statements v2;
    /// `GET /v1/organisations`): a search aid, not a proof; ask
    /// [`Client::counterparty`] about the one found.
    pub fn organisations(&self, q: &str) -> Result<dfft_core::wire::Organisations, ClientError> {
        let path = format!("/v1/organisations?q={}", query_escape(q));
        let body = self.fetch(&path)?;
        serde_json::from_slice(&body).map_err(|e| ClientError::malformed(&path, e))
    }

    /// The one organisation id a name (or former name, or id) finds, or a
    /// usage error naming what was found.
    pub fn organisation_id(&self, name: &str) -> Result<String, ClientError> {
        let found = self.organisations(name)?;
        let mut ids: Vec<&str> = found
            .matches
            .iter()
            .map(|m| m.programme_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        match ids.as_slice() {
            [one] => Ok((*one).to_owned()),
            [] => Err(ClientError::Usage(format!(
                "no organisation listed in the registry matches {name:?}"
            ))),
            many => Err(ClientError::Usage(format!(
                "{name:?} matches {} organisations ({}{}); give the id instead",
                many.len(),
                found
                    .matches
                    .iter()
                    .take(5)
                    .map(|m| format!("{} = {}", m.programme_id, m.name))
                    .collect::<Vec<_>>()
                    .join("; "),
                if many.len() > 5 { "; ..." } else { "" }
            ))),
        }
    }

    /// Fetches one record's history and verifies it. A record the log does
    /// not hold is [`ClientError::Absent`] when the log proves it (its map
    /// proof verified), else the 404 as [`ClientError::Http`].
    pub fn record(&self, id: &str) -> Result<(RecordHistory, VerifiedRecord), ClientError> {
        let id =
            RecordId::new(id).map_err(|e| ClientError::Usage(format!("record id {id:?}: {e}")))?;
        let path = format!("/v1/records/{}", id.as_str());
        let r = self
            .transport
            .get(&path)
            .map_err(|source| ClientError::Transport {
                path: path.clone(),
                source,
            })?;
        if r.status == 404 {
            // A proof of absence, if the log sent one; without, the log's
            // plain word (an older server).
            if let Ok(wire::ErrorBody {
                checkpoint: Some(text),
                completeness: Some(part),
                ..
            }) = serde_json::from_slice::<wire::ErrorBody>(&r.body)
            {
                let cp = self.policy.parse_checkpoint(text.as_bytes())?;
                part.verify_absent(
                    &cp,
                    self.policy.log_key(),
                    &dfft_core::map::MapKey::Record(id.clone()),
                )?;
                return Err(ClientError::Absent {
                    record: id.as_str().to_owned(),
                    size: cp.checkpoint.size,
                    checkpoint: Box::new(cp),
                });
            }
        }
        if r.status != 200 {
            return Err(ClientError::Http {
                path,
                status: r.status,
                message: error_body(&r.body).1,
            });
        }
        let body = r.body;
        let history: RecordHistory =
            serde_json::from_slice(&body).map_err(|e| ClientError::malformed(&path, e))?;
        if history.record.record != id.as_str() {
            return Err(ClientError::WrongAnswer(format!(
                "asked for record {}, got {}",
                id.as_str(),
                history.record.record
            )));
        }
        let verified = verify_record(&history, &self.policy, self.completeness)?;
        Ok((history, verified))
    }

    /// Fetches the authority listing and verifies it: every authority's
    /// state rebuilt from its statements, and that it names every authority
    /// ever enrolled with all of its statements.
    pub fn authorities(
        &self,
    ) -> Result<(wire::Authorities, dfft_core::answer::VerifiedAuthorities), ClientError> {
        let path = "/v1/authorities";
        let body = self.fetch(path)?;
        let listing: wire::Authorities =
            serde_json::from_slice(&body).map_err(|e| ClientError::malformed(path, e))?;
        let verified =
            crate::offline::verify_authorities(&listing, &self.policy, self.completeness)?;
        Ok((listing, verified))
    }
}

/// The code and message of a log's JSON error body ([`wire::ErrorBody`]),
/// or no code and the start of its text.
pub(crate) fn error_body(body: &[u8]) -> (Option<String>, String) {
    if let Ok(e) = serde_json::from_slice::<wire::ErrorBody>(body) {
        return (Some(e.error), e.message);
    }
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    let text = match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    };
    (None, text)
}

pub(crate) fn build_error(e: BuildError<ClientError>) -> ClientError {
    match e {
        BuildError::Storage(e) => e,
        BuildError::Proof(p) => ClientError::malformed("proof", p),
        BuildError::ShortRead { got, want } => {
            ClientError::malformed("proof", format!("read {got} hashes for {want}"))
        }
    }
}

/// The stored hashes of a tree of a given size, read from the log's hash
/// tiles: a [`HashReader`], so the core builds proofs from tiles.
#[derive(Debug)]
pub struct TileHashes<'a, T> {
    client: &'a Client<T>,
    size: u64,
}

impl<T: Transport> HashReader for TileHashes<'_, T> {
    type Error = ClientError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, ClientError> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let outside = || {
                ClientError::Usage(format!(
                    "node {}/{} is not inside the tree of size {}",
                    id.level, id.index, self.size
                ))
            };
            if id.level >= 64 || (u128::from(id.index) + 1) << id.level > u128::from(self.size) {
                return Err(outside());
            }
            let span = tile::node_span(id);
            let width = tile::tile_width(span.level, span.index, self.size).ok_or_else(outside)?;
            if span.end > width {
                return Err(outside());
            }
            let t = self.client.tile_nodes(span.level, span.index, width)?;
            out.push(
                t.node(usize::from(span.start), usize::from(span.end))
                    .ok_or_else(outside)?,
            );
        }
        Ok(out)
    }
}

/// Route parts a batch has verified, by the SHA-256 of their JSON
/// ([`Client::counterparty_with`]); at most [`RouteMemo::MAX`] kept.
#[derive(Debug, Default)]
pub struct RouteMemo(std::sync::Mutex<Vec<([u8; 32], VerifiedRoute)>>);

impl RouteMemo {
    /// Most route parts kept (the oldest go first).
    pub const MAX: usize = 64;

    fn get(&self, digest: &[u8; 32]) -> Option<VerifiedRoute> {
        let v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.iter().find(|(d, _)| d == digest).map(|(_, r)| r.clone())
    }

    fn put(&self, digest: [u8; 32], r: VerifiedRoute) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if v.len() == Self::MAX {
            v.remove(0);
        }
        v.push((digest, r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_nodes_agree_with_the_core() {
        for width in [1usize, 2, 3, 77, 128, 255, 256] {
            let hashes: Vec<Hash> = (0..width).map(|i| merkle::leaf_hash(&[i as u8])).collect();
            let t = TileNodes::new(hashes.clone());
            for r in 0..=8u32 {
                let n = 1usize << r;
                for start in (0..width).step_by(n) {
                    let got = t.node(start, start + n);
                    if start + n <= width {
                        assert_eq!(
                            got,
                            Some(tile::node_from_tile_hashes(&hashes[start..start + n])),
                            "{width} {start} {n}"
                        );
                    } else {
                        assert_eq!(got, None);
                    }
                }
            }
            assert_eq!(t.node(1, 3), None, "unaligned");
            assert_eq!(t.node(0, 3), None, "not a power of two");
        }
    }

    #[test]
    fn query_paths_escape() {
        let q = RouteQuery {
            from: Jurisdiction::new("IO:EPO").unwrap(),
            to: Jurisdiction::new("AE-DU").unwrap(),
            at: Date::parse("2024-01-01").unwrap(),
            mechanism: Some(Mechanism::new("data_bridge").unwrap()),
            data: Some(DataCategory::SensitivePersonal),
        };
        assert_eq!(
            q.path(),
            "/v1/route?from=IO%3AEPO&to=AE-DU&at=2024-01-01&mechanism=data_bridge&data=sensitive_personal"
        );
    }
}

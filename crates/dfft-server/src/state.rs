//! Registry state: the one home of its storage schema, and a typed view of
//! it over any [`LogStore`].
//!
//! Covers: the state namespaces and their keys and values (the table in
//! ARCHITECTURE.md), reading governance, authorities, records, the route
//! index and the statement index back as core types, and the writes an
//! accepted entry produces ([`writes_for`]). Route candidates come from the
//! core's coverage rule ([`Destination::covering`] and
//! [`RecordHead::route_status`]), never a second copy.
//!
//! Leaves out: deciding what changes (the core's `check_rules`), when it
//! is written (the sequencer, in its one atomic batch), and HTTP.

use std::collections::HashMap;
use std::ops::ControlFlow;

use dfft_core::statement::registry::{AuthorityState, Change, RecordHead, RouteFilter};
use dfft_core::statement::{Date, Destination, Governance, Jurisdiction, Status};
use dfft_store::{LogStore, StoreError};

/// Namespace: governance and origin (`origin`, `governance`), and the
/// statement-index mark.
pub const NS_GENESIS: u8 = b'g';
/// Namespace: authorities by id (`AuthorityState` JSON).
pub const NS_AUTHORITY: u8 = b'a';
/// Namespace: record heads by record id (`RecordHead` JSON).
pub const NS_RECORD: u8 = b'r';
/// Namespace: route index, `<to>\0<record>` -> empty, written when a record
/// is granted (a record's `to` never changes).
pub const NS_ROUTE: u8 = b't';
/// Namespace: statement ids (SHA-256 of the PAE) -> the index (u64 BE) of
/// the entry that logged the statement.
pub const NS_STATEMENT: u8 = b'p';
/// Namespace: every authority statement, `<authority id>\0<index u64 BE>`
/// -> empty (what an authority listing proves each authority's state and
/// map key `authority <id>` from).
pub const NS_AUTHORITY_LOG: u8 = b'h';
/// Namespace: the map's nodes (`dfft_core::map::tree`), node id bytes ->
/// the node's 65 bytes (`crate::mapstate`).
pub const NS_MAP: u8 = b'm';
/// Key in [`NS_GENESIS`] written once the map covers every entry (the
/// upgrade build of a log written before the index; `upgrade::build_map`).
pub const MAP_BUILT: &[u8] = b"map_built";
/// Key in [`NS_GENESIS`]: how many entries an interrupted map build has
/// applied (u64 BE), so that it resumes there.
pub const MAP_BUILD_PROGRESS: &[u8] = b"map_build_progress";
/// Key in [`NS_GENESIS`] written once [`NS_AUTHORITY_LOG`] covers every
/// entry (`upgrade::build_authority_log`).
pub const AUTHORITY_LOG_DONE: &[u8] = b"authority_log";
/// Key in [`NS_GENESIS`] written once the statement index covers every
/// entry.
pub const STATEMENT_INDEX_DONE: &[u8] = b"statement_index";

/// One state write: (namespace, key, value).
pub type Write = (u8, Vec<u8>, Vec<u8>);

/// Key of the route index.
pub fn route_key(to: &str, record: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(to.len() + 1 + record.len());
    k.extend_from_slice(to.as_bytes());
    k.push(0);
    k.extend_from_slice(record.as_bytes());
    k
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Serialising our own plain data types cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn u64_be(v: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = v
        .try_into()
        .map_err(|_| StoreError::Corrupt("an index value is not 8 bytes".into()))?;
    Ok(u64::from_be_bytes(b))
}

/// The writes that store `change` (`new_record`: the record had no head
/// before, so its route key is written too). Repeats write nothing.
pub fn writes_for(change: &Change, new_record: bool) -> Vec<Write> {
    match change {
        Change::Genesis { origin, governance } => vec![
            (NS_GENESIS, b"origin".to_vec(), origin.as_bytes().to_vec()),
            (NS_GENESIS, b"governance".to_vec(), json(governance)),
        ],
        Change::Authority(a) => vec![
            (NS_AUTHORITY, a.id.as_str().as_bytes().to_vec(), json(a)),
            authority_log_write(a.id.as_str(), a.set_at_index),
        ],
        Change::Record(r) => {
            let id = r.record.as_str();
            let mut w = vec![record_write(r)];
            // Listings are on no route (the map's rule, `MapBatch::apply`).
            if new_record && !r.is_listing() {
                w.push((NS_ROUTE, route_key(r.to.as_str(), id), Vec::new()));
            }
            w
        }
        Change::Repeated { .. } | Change::Index(_) => Vec::new(),
    }
}

/// The write that logs authority statement `index` about `id`.
pub fn authority_log_write(id: &str, index: u64) -> Write {
    let mut k = Vec::with_capacity(id.len() + 9);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k.extend_from_slice(&index.to_be_bytes());
    (NS_AUTHORITY_LOG, k, Vec::new())
}

/// The write of one record head.
pub fn record_write(r: &RecordHead) -> Write {
    (NS_RECORD, r.record.as_str().as_bytes().to_vec(), json(r))
}

/// The write that indexes statement `id` at `index`.
pub fn statement_write(id: &[u8; 32], index: u64) -> Write {
    (NS_STATEMENT, id.to_vec(), index.to_be_bytes().to_vec())
}

/// A typed view of the registry state in a store.
#[derive(Clone, Copy)]
pub struct RegistryState<'a> {
    store: &'a dyn LogStore,
}

impl<'a> RegistryState<'a> {
    /// The view of `store`.
    pub fn new(store: &'a dyn LogStore) -> RegistryState<'a> {
        RegistryState { store }
    }

    /// The origin named by the genesis.
    pub fn origin(&self) -> Result<Option<String>, StoreError> {
        self.store
            .state(NS_GENESIS, b"origin")?
            .map(|v| String::from_utf8(v).map_err(|_| StoreError::Corrupt("origin".into())))
            .transpose()
    }

    /// The governance set by the genesis.
    pub fn governance(&self) -> Result<Option<Governance>, StoreError> {
        self.store
            .state(NS_GENESIS, b"governance")?
            .map(|v| parse("governance", &v))
            .transpose()
    }

    /// Every authority ever enrolled, by id.
    pub fn authorities(&self) -> Result<HashMap<String, AuthorityState>, StoreError> {
        let mut out = HashMap::new();
        for (_, v) in self.store.state_all(NS_AUTHORITY)? {
            let a: AuthorityState = parse("authority", &v)?;
            out.insert(a.id.to_string(), a);
        }
        Ok(out)
    }

    /// The head of record `id`, with every stored event (some may be newer
    /// than the published checkpoint).
    pub fn record(&self, id: &str) -> Result<Option<RecordHead>, StoreError> {
        self.store
            .state(NS_RECORD, id.as_bytes())?
            .map(|v| parse(&format!("record {id}"), &v))
            .transpose()
    }

    /// The head of record `id` cut to the events a tree of `size` covers;
    /// `None` if it has none there.
    pub fn record_at(&self, id: &str, size: u64) -> Result<Option<RecordHead>, StoreError> {
        Ok(self.record(id)?.and_then(|h| cut(h, size)))
    }

    /// Calls `f` with every record head cut to `size` (one at a time), in
    /// record id order, until it breaks.
    pub fn scan_records_at(
        &self,
        size: u64,
        mut f: impl FnMut(RecordHead) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut failed = None;
        self.store.state_scan(
            NS_RECORD,
            &mut |_, v| match parse::<RecordHead>("record head", v) {
                Ok(h) => match cut(h, size) {
                    Some(h) => f(h),
                    None => ControlFlow::Continue(()),
                },
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            },
        )?;
        failed.map_or(Ok(()), Err)
    }

    /// The route question over the tree of `size`: every record whose
    /// `from` covers `from` and whose `to` covers `to` on `at` (that pass
    /// `filter`), with its status, by record id. Candidates
    /// come from the route index under every destination that covers `to`.
    pub fn route(
        &self,
        from: &Jurisdiction,
        to: &Jurisdiction,
        at: Date,
        filter: RouteFilter,
        size: u64,
    ) -> Result<Vec<(RecordHead, Status)>, StoreError> {
        let mut ids = Vec::new();
        for d in Destination::covering(to, at) {
            let prefix = route_key(d.as_str(), "");
            for (k, _) in self.store.state_prefix(NS_ROUTE, &prefix)? {
                if let Some(id) = k.strip_prefix(prefix.as_slice()) {
                    ids.push(id.to_vec());
                }
            }
        }
        ids.sort();
        ids.dedup();
        let mut out = Vec::new();
        for id in ids {
            let id = String::from_utf8(id)
                .map_err(|_| StoreError::Corrupt("a route key is not UTF-8".into()))?;
            if let Some(h) = self.record_at(&id, size)? {
                if let Some(status) = h.route_status(from, to, at, filter) {
                    out.push((h, status));
                }
            }
        }
        Ok(out)
    }

    /// The records granted with this `to` in the tree of `size`, in the
    /// order of their grants (the order of the map's route keys
    /// `route <to> <from>`, one per `from`).
    pub fn records_to(&self, to: &Destination, size: u64) -> Result<Vec<RecordHead>, StoreError> {
        let prefix = route_key(to.as_str(), "");
        let mut out = Vec::new();
        for (k, _) in self.store.state_prefix(NS_ROUTE, &prefix)? {
            let Some(id) = k.strip_prefix(prefix.as_slice()) else {
                continue;
            };
            let id = std::str::from_utf8(id)
                .map_err(|_| StoreError::Corrupt("a route key is not UTF-8".into()))?;
            if let Some(h) = self.record_at(id, size)? {
                out.push(h);
            }
        }
        out.sort_by_key(|h| h.events.first().map(|e| e.index));
        Ok(out)
    }

    /// Every authority with a statement in the tree of `size`, each with the
    /// indices of its statements there, in log order; the authorities in
    /// the order of their enrolments.
    pub fn authority_log(&self, size: u64) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        let mut by_id: HashMap<String, Vec<u64>> = HashMap::new();
        for (k, _) in self.store.state_all(NS_AUTHORITY_LOG)? {
            let bad = || StoreError::Corrupt("an authority log key is malformed".into());
            let split = k.len().checked_sub(9).ok_or_else(bad)?;
            if k[split] != 0 {
                return Err(bad());
            }
            let id = std::str::from_utf8(&k[..split]).map_err(|_| bad())?;
            let index = u64_be(&k[split + 1..])?;
            if index < size {
                by_id.entry(id.to_owned()).or_default().push(index);
            }
        }
        let mut out: Vec<(String, Vec<u64>)> = by_id.into_iter().collect();
        for (_, v) in &mut out {
            v.sort_unstable();
        }
        out.sort_by_key(|(_, v)| v.first().copied());
        Ok(out)
    }

    /// The index of the entry that logged the statement with this id.
    pub fn statement_index(&self, id: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.store
            .state(NS_STATEMENT, id)?
            .map(|v| u64_be(&v))
            .transpose()
    }
}

fn cut(mut h: RecordHead, size: u64) -> Option<RecordHead> {
    h.events.retain(|e| e.index < size);
    (!h.events.is_empty()).then_some(h)
}

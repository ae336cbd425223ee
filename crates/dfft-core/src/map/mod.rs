//! The registry's map: a sparse Merkle map derived from the log by a fixed
//! function, so that an answer can prove it left nothing out.
//!
//! Covers (the format is docs/index.md, with test vectors under
//! `crates/dfft-core/testdata/map/`):
//! - [`MapKey`]: the typed keys (`record`, `route`, `authority`,
//!   `authorities`) and their 32-byte hashes under the tag `dfft-map/v1`;
//! - [`chain`]: the append-only values, one hash step per item, so that an
//!   update is O(1) whatever the history;
//! - [`MapBatch`]: the map function, from the [`Change`] the core rules
//!   return for each entry to the key updates of one batch;
//! - [`tree`]: the binary sparse Merkle tree (compressed leaves, batch
//!   updates through a [`tree::NodeStore`]);
//! - [`proof`]: presence and absence proofs, their compact encoding;
//! - [`reference`](mod@reference): a straight recursive implementation, only an oracle;
//! - [`index`]: the registry-appended `index` entry that binds a map root
//!   into the log as the last leaf of every batch;
//! - [`complete`]: the `completeness` part of answers and its verification.
//!
//! Leaves out: storage (the server keeps nodes in its store through
//! [`tree::NodeStore`]), HTTP, and route matching rules (those are the
//! core's `statement::registry` and `statement::jurisdiction`, used here).

pub mod complete;
pub mod index;
pub mod proof;
pub mod reference;
pub mod tree;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::statement::registry::Change;
use crate::statement::{AuthorityId, Date, Destination, Jurisdiction, RecordId};

/// The domain tag of keys and values.
pub const DOMAIN: &str = "dfft-map/v1";

/// A key of the map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MapKey {
    /// `record <id>`: the chain of the record's events.
    Record(RecordId),
    /// `route <to> <from>`: the chain of the ids of the records granted
    /// with exactly this `to` and `from`, in log order.
    Route {
        /// A record's `to` as written (`*` included).
        to: Destination,
        /// A record's `from` as written.
        from: Jurisdiction,
    },
    /// `authority <id>`: the chain of the authority statements about it.
    Authority(AuthorityId),
    /// `authorities`: the chain of authority ids in enrolment order.
    Authorities,
}

fn field(h: &mut Sha256, s: &str) {
    // Ids and codes are far shorter than 65,535 bytes (an entry's bound).
    h.update((s.len() as u16).to_be_bytes());
    h.update(s.as_bytes());
}

impl MapKey {
    /// The key's type and its fields, as hashed.
    pub fn parts(&self) -> Vec<&str> {
        match self {
            MapKey::Record(r) => vec!["record", r.as_str()],
            MapKey::Route { to, from } => vec!["route", to.as_str(), from.as_str()],
            MapKey::Authority(a) => vec!["authority", a.as_str()],
            MapKey::Authorities => vec!["authorities"],
        }
    }

    /// SHA-256("dfft-map/v1" || 0x00 || for each part: u16 BE length || bytes).
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(DOMAIN.as_bytes());
        h.update([0u8]);
        for p in self.parts() {
            field(&mut h, p);
        }
        h.finalize().into()
    }
}

impl std::fmt::Display for MapKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parts().join(" "))
    }
}

/// The route keys a question "from `x` to `y` on `date`" depends on: every
/// (`to`, `from`) pair with `to` covering `y` and `from` covering `x` that
/// day, from the core's coverage rules ([`Destination::covering`],
/// [`Jurisdiction::covering`]). Sorted.
pub fn route_keys(x: &Jurisdiction, y: &Jurisdiction, date: Date) -> Vec<MapKey> {
    let froms = Jurisdiction::covering(x, date);
    let mut out = Vec::new();
    for to in Destination::covering(y, date) {
        for from in &froms {
            out.push(MapKey::Route {
                to: to.clone(),
                from: from.clone(),
            });
        }
    }
    out.sort();
    out
}

/// One step of a value chain: SHA-256("dfft-map/v1 chain" || 0x00 || prev
/// || item), `prev` 32 zero bytes for a key without a value yet.
pub fn chain(prev: Option<&Hash>, item: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(DOMAIN.as_bytes());
    h.update(b" chain\0");
    h.update(prev.unwrap_or(&[0u8; 32]));
    h.update(item);
    h.finalize().into()
}

/// The item of an event or authority statement: u64 BE index || leaf hash.
pub fn entry_item(index: u64, leaf: &Hash) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&index.to_be_bytes());
    out[8..].copy_from_slice(leaf);
    out
}

/// The item of an id (a record on a route, an authority in the list):
/// u16 BE length || bytes.
pub fn id_item(id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + id.len());
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(id.as_bytes());
    out
}

/// The value of a chain over `items` from nothing.
pub fn chain_all<I: AsRef<[u8]>>(items: impl IntoIterator<Item = I>) -> Option<Hash> {
    items
        .into_iter()
        .fold(None, |prev, item| Some(chain(prev.as_ref(), item.as_ref())))
}

/// The map function over one batch: feed it each entry's [`Change`] in log
/// order, then take the key updates ([`MapBatch::updates`]) for
/// [`tree::update`].
///
/// Per entry at `index` with leaf hash `leaf` (docs/index.md):
/// - a record event (`Change::Record`): `record <id>` += (index, leaf); at
///   the record's grant (its first event) also `route <to> <from>` += id;
/// - an authority statement: `authority <id>` += (index, leaf); when the
///   key had no value yet (an enrolment) also `authorities` += id;
/// - a genesis, a repeated statement, an `index` entry: nothing.
#[derive(Debug, Clone, Default)]
pub struct MapBatch {
    updates: BTreeMap<Hash, Hash>,
}

impl MapBatch {
    /// An empty batch.
    pub fn new() -> MapBatch {
        MapBatch::default()
    }

    /// Applies one entry. `current` reads a key's value before this batch
    /// (from the tree); values set earlier in the batch are taken from the
    /// batch itself.
    pub fn apply<E>(
        &mut self,
        index: u64,
        leaf: &Hash,
        change: &Change,
        mut current: impl FnMut(&Hash) -> Result<Option<Hash>, E>,
    ) -> Result<(), E> {
        match change {
            Change::Record(r) => {
                self.push(
                    MapKey::Record(r.record.clone()).hash(),
                    &entry_item(index, leaf),
                    &mut current,
                )?;
                // A listing is on no route: it is found by its id
                // (`<programme>/<programme_id>`), present or proven absent.
                if r.events.len() == 1 && r.listing.is_none() {
                    let route = MapKey::Route {
                        to: r.to.clone(),
                        from: r.from.clone(),
                    };
                    self.push(route.hash(), &id_item(r.record.as_str()), &mut current)?;
                }
            }
            Change::Authority(a) => {
                let was = self.push(
                    MapKey::Authority(a.id.clone()).hash(),
                    &entry_item(index, leaf),
                    &mut current,
                )?;
                if was.is_none() {
                    self.push(
                        MapKey::Authorities.hash(),
                        &id_item(a.id.as_str()),
                        &mut current,
                    )?;
                }
            }
            Change::Genesis { .. } | Change::Repeated { .. } | Change::Index(_) => {}
        }
        Ok(())
    }

    /// Chains `item` onto `key`; returns the value before.
    fn push<E>(
        &mut self,
        key: Hash,
        item: &[u8],
        current: &mut impl FnMut(&Hash) -> Result<Option<Hash>, E>,
    ) -> Result<Option<Hash>, E> {
        let prev = match self.updates.get(&key) {
            Some(v) => Some(*v),
            None => current(&key)?,
        };
        self.updates.insert(key, chain(prev.as_ref(), item));
        Ok(prev)
    }

    /// The (key, new value) updates so far.
    pub fn updates(&self) -> &BTreeMap<Hash, Hash> {
        &self.updates
    }

    /// Whether no key changed.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_and_length_prefixed() {
        let a = MapKey::Authority(AuthorityId::new("record").unwrap());
        let r = MapKey::Record(RecordId::new("record/x").unwrap());
        assert_ne!(a.hash(), r.hash());
        assert_ne!(MapKey::Authorities.hash(), a.hash());
        assert_eq!(a.to_string(), "authority record");
        // Manual preimage.
        let mut h = Sha256::new();
        h.update(b"dfft-map/v1\0\x00\x0bauthorities");
        let want: Hash = h.finalize().into();
        assert_eq!(MapKey::Authorities.hash(), want);
    }

    #[test]
    fn chains_step_one_item_at_a_time() {
        let a = chain(None, b"a");
        assert_eq!(chain_all([b"a", b"b"]), Some(chain(Some(&a), b"b")));
        assert_eq!(chain_all(Vec::<Vec<u8>>::new()), None);
    }
}

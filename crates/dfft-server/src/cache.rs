//! A small cache of serialised answers, most recently used first, bounded
//! in entries and bytes: the jurisdiction matrix (`crate::matrix`) and
//! route answers (`crate::query`) keep their answers for the last few
//! questions here, so that a question asked again against the same
//! published checkpoint costs a copy.
//!
//! Covers: lookup, insertion, the bounds. Leaves out: what a key is (each
//! user includes the published tree in its key, so a new checkpoint is a
//! new question) and when to compute (the users).

use std::collections::VecDeque;
use std::sync::Mutex;

/// What a cached value weighs, in bytes.
pub trait Weigh {
    /// Its size in bytes.
    fn weight(&self) -> usize;
}

impl Weigh for axum::body::Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// The last `entries` answers (at most `bytes` of them; the newest is
/// always kept, however large).
#[derive(Debug)]
pub struct Lru<K, V> {
    items: Mutex<VecDeque<(K, V)>>,
    entries: usize,
    bytes: usize,
}

impl<K: PartialEq, V: Clone + Weigh> Lru<K, V> {
    /// An empty cache with these bounds.
    pub fn new(entries: usize, bytes: usize) -> Self {
        Lru {
            items: Mutex::new(VecDeque::with_capacity(entries)),
            entries,
            bytes,
        }
    }

    /// The answer for `key`, now the most recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut a = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let i = a.iter().position(|(k, _)| k == key)?;
        let hit = a.remove(i)?;
        let v = hit.1.clone();
        a.push_front(hit);
        Some(v)
    }

    /// Keeps `value` for `key`, dropping the least recently used beyond
    /// the bounds.
    pub fn put(&self, key: K, value: V) {
        let mut a = self.items.lock().unwrap_or_else(|p| p.into_inner());
        a.retain(|(k, _)| k != &key);
        a.push_front((key, value));
        a.truncate(self.entries);
        while a.len() > 1 && a.iter().map(|(_, v)| v.weight()).sum::<usize>() > self.bytes {
            a.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct W(usize);
    impl Weigh for W {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn keeps_the_most_recently_used_within_its_bounds() {
        let c: Lru<u64, W> = Lru::new(4, 100);
        for k in 0..4 {
            c.put(k, W(1));
        }
        // Touch the oldest, then add one more: the second oldest goes.
        assert!(c.get(&0).is_some());
        c.put(100, W(1));
        assert!(c.get(&0).is_some());
        assert!(c.get(&1).is_none());
        assert!(c.get(&100).is_some());
        // Over the byte budget only the newest stays, however large.
        c.put(200, W(1000));
        assert!(c.get(&200).is_some());
        assert!(c.get(&100).is_none());
        // The next one pushes it out: together they are over the budget.
        c.put(300, W(1));
        assert!(c.get(&300).is_some());
        assert!(c.get(&200).is_none());
        // The same key again replaces its value.
        c.put(300, W(7));
        assert_eq!(c.get(&300).map(|w| w.0), Some(7));
    }
}

//! What a witness decides about one add-checkpoint request, given the log
//! list and its latest cosigned checkpoint for the origin: the checks of
//! C2SP tlog-witness in the spec's order. Pure: no clock, no I/O.
//!
//! 1. the origin is listed (else 404);
//! 2. a trusted key signed the checkpoint, and no trusted key's signature
//!    fails (else 403); unknown keys' signatures are ignored;
//! 3. old size <= checkpoint size (else 400);
//! 4. old size == the witness's latest size for the origin, 0 if none (else
//!    409 with the latest size);
//! 5. a size-0 checkpoint has the empty tree's root; with old 0 the proof
//!    is empty; with old == size the roots are equal (and the proof empty);
//!    otherwise the proof is an RFC 6962 consistency proof from the latest
//!    root (else 422), checked by `dfft_core::merkle::verify_consistency`.
//!
//! The compare-and-swap that makes step 4 atomic with the update is the
//! journal's (`journal`): this module only says what the request expects.
//!
//! Leaves out: HTTP (`error` maps [`Refusal`] to status codes), signing.

use crate::loglist::LogList;
use crate::request::AddCheckpoint;
use dfft_core::merkle::{verify_consistency, Hash, EMPTY_ROOT};
use dfft_core::note::{NoteError, NoteSignature};

/// The witness's latest cosigned tree for an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Why a request is not cosigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The origin is not in the log list (404).
    #[error("unknown origin {0:?}")]
    UnknownOrigin(String),
    /// No valid signature by a trusted key (403).
    #[error("{0}")]
    NotSigned(String),
    /// Old size larger than the checkpoint's (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldTooLarge {
        /// Old size given.
        old: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// Old size is not the witness's latest (409).
    #[error("old size {old} is not the latest cosigned size {latest}")]
    Conflict {
        /// Old size given.
        old: u64,
        /// The witness's latest size.
        latest: u64,
    },
    /// The checkpoint is not consistent with what the witness cosigned (422).
    #[error("{0}")]
    Inconsistent(String),
}

/// What the checks established for a request that passed them.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The log signatures that verified (kept with the cosigned checkpoint).
    pub log_signatures: Vec<NoteSignature>,
    /// The latest tree the request extends (`None`: nothing cosigned yet);
    /// the journal's compare-and-swap expects exactly this.
    pub expect: Option<Latest>,
    /// The new latest tree.
    pub new: Latest,
}

/// Runs the checks of steps 1-5.
pub fn check(
    req: &AddCheckpoint,
    logs: &LogList,
    latest: Option<Latest>,
) -> Result<Accepted, Refusal> {
    let cp = &req.checkpoint.checkpoint;
    let keys = logs
        .keys(&cp.origin)
        .ok_or_else(|| Refusal::UnknownOrigin(cp.origin.clone()))?;
    let verified = match req.checkpoint.note.verify(keys) {
        Ok(v) => v,
        Err(NoteError::NoKnownSignature) => {
            return Err(Refusal::NotSigned(format!(
                "no signature by a key trusted for {:?}",
                cp.origin
            )))
        }
        Err(e) => return Err(Refusal::NotSigned(e.to_string())),
    };
    let log_signatures = req
        .checkpoint
        .note
        .signatures()
        .iter()
        .filter(|s| {
            verified
                .iter()
                .any(|v| v.key.name() == s.name && v.key.id() == s.id)
        })
        .cloned()
        .collect();
    if req.old > cp.size {
        return Err(Refusal::OldTooLarge {
            old: req.old,
            size: cp.size,
        });
    }
    let latest_size = latest.map_or(0, |l| l.size);
    if req.old != latest_size {
        return Err(Refusal::Conflict {
            old: req.old,
            latest: latest_size,
        });
    }
    let new = Latest {
        size: cp.size,
        root: cp.root,
    };
    if cp.size == 0 && cp.root != EMPTY_ROOT {
        return Err(Refusal::Inconsistent(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    if req.old == 0 {
        if !req.proof.is_empty() {
            return Err(Refusal::Inconsistent(
                "old size 0 takes no consistency proof".into(),
            ));
        }
        // A stored size-0 tree has the empty root, and so does `new` if it
        // is of size 0: nothing more to compare.
    } else {
        let l = latest.expect("old > 0 equals the latest size, so there is a latest tree");
        verify_consistency(req.old, cp.size, &l.root, &cp.root, &req.proof).map_err(|e| {
            Refusal::Inconsistent(format!(
                "not consistent with the cosigned tree of size {}: {e}",
                l.size
            ))
        })?;
    }
    Ok(Accepted {
        log_signatures,
        expect: latest,
        new,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::checkpoint::Checkpoint;
    use dfft_core::merkle::{consistency_proof, leaf_hash, MemoryTree};
    use dfft_core::note::{KeyName, SignerKey};

    struct Fixture {
        key: SignerKey,
        list: LogList,
        tree: MemoryTree,
        roots: Vec<Hash>,
    }

    fn fixture() -> Fixture {
        let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
        let list = LogList::parse(&format!("logs/v0\nvkey {}\n", key.verifier())).unwrap();
        let mut tree = MemoryTree::new();
        let mut roots = vec![tree.root()];
        for i in 0..20u32 {
            tree.push(leaf_hash(&i.to_be_bytes()));
            roots.push(tree.root());
        }
        Fixture {
            key,
            list,
            tree,
            roots,
        }
    }

    impl Fixture {
        fn req(&self, old: u64, size: u64, proof: Vec<Hash>) -> AddCheckpoint {
            self.req_root(old, size, self.roots[size as usize], proof)
        }
        fn req_root(&self, old: u64, size: u64, root: Hash, proof: Vec<Hash>) -> AddCheckpoint {
            let note = Checkpoint {
                origin: "example.org/log".into(),
                size,
                root,
                extensions: vec![],
            }
            .sign(&[&self.key], 0)
            .unwrap()
            .to_text();
            AddCheckpoint::parse(AddCheckpoint::to_body(old, &proof, &note).as_bytes()).unwrap()
        }
        fn latest(&self, size: u64) -> Option<Latest> {
            Some(Latest {
                size,
                root: self.roots[size as usize],
            })
        }
        fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
            consistency_proof(&self.tree, from, to).unwrap()
        }
    }

    #[test]
    fn accepts_consistent_checkpoints() {
        let f = fixture();
        let a = check(&f.req(0, 7, vec![]), &f.list, None).unwrap();
        assert_eq!(a.new.size, 7);
        assert_eq!(a.expect, None);
        assert_eq!(a.log_signatures.len(), 1);
        let p = f.proof(7, 13);
        let a = check(&f.req(7, 13, p), &f.list, f.latest(7)).unwrap();
        assert_eq!(a.expect, f.latest(7));
        // Same size, same root.
        check(&f.req(13, 13, vec![]), &f.list, f.latest(13)).unwrap();
        // The empty tree.
        check(&f.req(0, 0, vec![]), &f.list, None).unwrap();
    }

    #[test]
    fn refusals() {
        let f = fixture();
        let other = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [2; 32]);
        let unknown = LogList::parse(&format!(
            "logs/v0\nvkey {}\norigin another/log\n",
            f.key.verifier()
        ))
        .unwrap();
        assert!(matches!(
            check(&f.req(0, 7, vec![]), &unknown, None),
            Err(Refusal::UnknownOrigin(_))
        ));
        let untrusted = LogList::parse(&format!("logs/v0\nvkey {}\n", other.verifier())).unwrap();
        assert!(matches!(
            check(&f.req(0, 7, vec![]), &untrusted, None),
            Err(Refusal::NotSigned(_))
        ));
        assert_eq!(
            check(&f.req(8, 7, vec![]), &f.list, f.latest(8)).unwrap_err(),
            Refusal::OldTooLarge { old: 8, size: 7 }
        );
        assert_eq!(
            check(&f.req(3, 7, f.proof(3, 7)), &f.list, f.latest(5)).unwrap_err(),
            Refusal::Conflict { old: 3, latest: 5 }
        );
        assert_eq!(
            check(&f.req(3, 7, f.proof(3, 7)), &f.list, None).unwrap_err(),
            Refusal::Conflict { old: 3, latest: 0 }
        );
        for (req, latest) in [
            // Proof from another size.
            (f.req(5, 7, f.proof(4, 7)), f.latest(5)),
            // Proof that is not for this root.
            (f.req_root(5, 7, [9; 32], f.proof(5, 7)), f.latest(5)),
            // Non-empty proof with old 0.
            (f.req(0, 7, vec![[1; 32]]), None),
            // Size 0 with another root.
            (f.req_root(0, 0, [9; 32], vec![]), None),
            // Same size, another root.
            (f.req_root(7, 7, [9; 32], vec![]), f.latest(7)),
        ] {
            assert!(
                matches!(check(&req, &f.list, latest), Err(Refusal::Inconsistent(_))),
                "{req:?}"
            );
        }
        // A bad signature by the trusted key: 403 even with a good one beside it.
        let mut r = f.req(0, 7, vec![]);
        let mut s = r.checkpoint.note.signatures()[0].clone();
        s.sig[0] ^= 1;
        r.checkpoint.note = dfft_core::note::Note::parse(
            format!("{}\n{}", r.checkpoint.note.text(), s.to_line()).as_bytes(),
        )
        .unwrap();
        assert!(matches!(
            check(&r, &f.list, None),
            Err(Refusal::NotSigned(_))
        ));
    }
}

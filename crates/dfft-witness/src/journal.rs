//! The witness's state: for each origin, the latest cosigned size, root and
//! checkpoint note; persisted by group commit.
//!
//! Files in the data directory:
//!
//! | file | holds |
//! |---|---|
//! | `lock` | an exclusive `flock` for the life of the process: one witness per directory |
//! | `state` | the snapshot: a header, then ONE checksummed frame of every origin's entry and the sequence number it covers |
//! | `journal` | a header, then checksummed frames appended since the snapshot, one per group commit |
//!
//! A frame is `u32 length | 8 bytes of SHA-256(length || payload) | payload`;
//! a journal payload is `u64 first sequence number | u32 count | records`,
//! a record `u16 origin length | origin | u64 size | 32-byte root | u32
//! note length | note`. Every record has a sequence number (the frame's
//! first plus its place); the snapshot payload is `u64 last sequence number
//! covered | u32 count | records`.
//!
//! ## Group commit and compare-and-swap
//!
//! One thread, the committer, owns the journal and the authoritative map.
//! Handlers send it [`Proposal`]s (origin, the latest tree the request was
//! checked against, the new entry). It takes every proposal waiting (up to
//! [`MAX_GROUP`]) and, for each in order, compares the origin's current
//! entry (including earlier proposals of the same group) with the expected
//! one: equal, the entry is replaced in memory and its record added to the
//! group's frame; different, the proposal gets [`Outcome::Conflict`] with
//! the current size (409). So the check of the old size and the update are
//! one atomic step per origin and the spec's race (A checked, B checked, B
//! stored, A stored) cannot happen: A's compare fails once B is in.
//!
//! ## Crash-safety order
//!
//! 1. The group's frame is written at the end of the journal and the
//!    journal is fsynced (`fdatasync`).
//! 2. Only then is the group published to the read view (`GET
//!    /<hash>/checkpoint`, the 409 fast path) and every proposal of the
//!    group answered: no cosignature leaves the witness before the record
//!    that makes it the latest is on disk.
//! 3. A crash before 2 loses only unanswered proposals. Their frame, if it
//!    reached the disk in part, is the journal's last: on start a frame
//!    that fails its checksum or is cut short AND reaches the end of the
//!    file (or is followed by zeros only) is a torn tail, dropped (the file
//!    is truncated there and fsynced) with a warning. A bad frame with
//!    valid-looking bytes after it is damage before the tail: the start is
//!    refused, since acknowledged states might be lost.
//! 4. A failed write or fsync stops the committer for good: that group and
//!    every later proposal get [`Outcome::Failed`] (503), `/healthz`
//!    answers 503, and the operator restarts the witness, which recovers
//!    from the files as in 3. (After a failed fsync the page cache cannot
//!    be trusted to reach the disk, so the witness does not retry.)
//! 5. Compaction, when the journal exceeds [`COMPACT_BYTES`] (and at
//!    start when it is not empty): the whole map is written to `state.tmp`,
//!    fsynced, renamed over `state`, the directory fsynced; then the
//!    journal is truncated to its header and fsynced. A crash between the
//!    rename and the truncation leaves records that the snapshot already
//!    covers: replay skips records whose sequence number is not above the
//!    snapshot's. A damaged snapshot refuses the start.
//!
//! Leaves out: what is checked before a proposal (`verdict`) and signing.

use crate::verdict::Latest;
use dfft_core::merkle::Hash;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, RwLock};

/// Most proposals committed by one fsync.
pub const MAX_GROUP: usize = 4096;
/// Journal size that triggers a compaction into the snapshot.
pub const COMPACT_BYTES: u64 = 64 << 20;
/// Largest frame accepted on reading (a record holds a bounded note).
const MAX_FRAME: u32 = 1 << 30;

const JOURNAL_MAGIC: &[u8] = b"dfft-witness-journal/v1\n";
const STATE_MAGIC: &[u8] = b"dfft-witness-state/v1\n";

/// What the witness keeps for one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Latest cosigned size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The cosigned checkpoint: the log's verified signatures and the
    /// witness's cosignatures.
    pub note: String,
}

impl Entry {
    /// The tree this entry records.
    pub fn latest(&self) -> Latest {
        Latest {
            size: self.size,
            root: self.root,
        }
    }
}

/// Why the state could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Another process holds the directory.
    #[error("{0} is locked: another witness is running on this data directory")]
    Locked(String),
    /// A file is damaged where no crash could have left it.
    #[error("{path}: {message}; refusing to start (restore the file from a backup; never delete it, or the witness may cosign a fork)")]
    Damaged {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The answer to a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Durable: the entry is the origin's latest.
    Committed,
    /// The origin's latest is not the expected one; its size.
    Conflict(u64),
    /// The state could not be written; nothing more will be.
    Failed(String),
}

/// A request to make `entry` the latest for `origin`, if the latest is
/// still `expect`.
#[derive(Debug)]
pub struct Proposal {
    /// The origin.
    pub origin: String,
    /// The latest tree the request was checked against (`None`: nothing cosigned).
    pub expect: Option<Latest>,
    /// The new entry.
    pub entry: Entry,
    /// Where the outcome goes.
    pub reply: tokio::sync::oneshot::Sender<Outcome>,
}

/// The durable entries, as published after each fsync, by the SHA-256 of
/// their origin (the key of `GET /<origin hash>/checkpoint`).
pub type View = Arc<RwLock<HashMap<Hash, Arc<Entry>>>>;

/// SHA-256 of an origin: the key of the read view.
pub fn origin_hash(origin: &str) -> Hash {
    Sha256::digest(origin.as_bytes()).into()
}

/// Handle to the committer thread.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Proposal>,
    view: View,
    failed: Arc<AtomicBool>,
}

/// What opening found, for the start-up log.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Origins with an entry.
    pub origins: usize,
    /// Journal records replayed.
    pub replayed: usize,
    /// Bytes of a torn tail dropped.
    pub torn_bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.display().to_string();
    move |source| JournalError::Io { path, source }
}

/// Fsyncs a directory (where the file system can).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        r => r,
    }
}

fn checksum(len: u32, payload: &[u8]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(len.to_be_bytes());
    h.update(payload);
    let d = h.finalize();
    let mut c = [0u8; 8];
    c.copy_from_slice(&d[..8]);
    c
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a frame is below 4 GiB");
    let mut v = Vec::with_capacity(12 + payload.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&checksum(len, payload));
    v.extend_from_slice(payload);
    v
}

fn put_record(out: &mut Vec<u8>, origin: &str, e: &Entry) {
    let o = origin.as_bytes();
    out.extend_from_slice(&(o.len() as u16).to_be_bytes());
    out.extend_from_slice(o);
    out.extend_from_slice(&e.size.to_be_bytes());
    out.extend_from_slice(&e.root);
    out.extend_from_slice(&(e.note.len() as u32).to_be_bytes());
    out.extend_from_slice(e.note.as_bytes());
}

/// Reads `u64 seq | u32 count | records` from a verified payload.
fn parse_payload(p: &[u8]) -> Option<(u64, Vec<(String, Entry)>)> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if p.len() < n {
            return None;
        }
        let (a, b) = p.split_at(n);
        *p = b;
        Some(a)
    }
    let mut p = p;
    let seq = u64::from_be_bytes(take(&mut p, 8)?.try_into().ok()?);
    let count = u32::from_be_bytes(take(&mut p, 4)?.try_into().ok()?);
    let mut out = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        let ol = u16::from_be_bytes(take(&mut p, 2)?.try_into().ok()?) as usize;
        let origin = std::str::from_utf8(take(&mut p, ol)?).ok()?.to_string();
        let size = u64::from_be_bytes(take(&mut p, 8)?.try_into().ok()?);
        let root: Hash = take(&mut p, 32)?.try_into().ok()?;
        let nl = u32::from_be_bytes(take(&mut p, 4)?.try_into().ok()?) as usize;
        let note = std::str::from_utf8(take(&mut p, nl)?).ok()?.to_string();
        out.push((origin, Entry { size, root, note }));
    }
    if !p.is_empty() {
        return None;
    }
    Some((seq, out))
}

/// One frame read from `buf` at `at`: Ok(Some((payload, next))) for a good
/// frame, Ok(None) at the end, Err(declared end) for a bad one.
fn read_frame(buf: &[u8], at: usize) -> Result<Option<(&[u8], usize)>, usize> {
    if at == buf.len() {
        return Ok(None);
    }
    if buf.len() - at < 12 {
        return Err(buf.len());
    }
    let len = u32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
    let end = at.saturating_add(12).saturating_add(len as usize);
    if len == 0 || len > MAX_FRAME || end > buf.len() {
        return Err(end.max(buf.len()));
    }
    let payload = &buf[at + 12..end];
    if buf[at + 4..at + 12] != checksum(len, payload) {
        return Err(end);
    }
    Ok(Some((payload, end)))
}

/// The committer's side: files and the authoritative map.
struct Store {
    dir: PathBuf,
    journal: File,
    journal_len: u64,
    /// Journal size that triggers a compaction.
    compact_bytes: u64,
    seq: u64,
    map: HashMap<String, Arc<Entry>>,
}

impl Store {
    fn journal_path(dir: &Path) -> PathBuf {
        dir.join("journal")
    }
    fn state_path(dir: &Path) -> PathBuf {
        dir.join("state")
    }

    fn open(dir: &Path) -> Result<(Store, Recovery), JournalError> {
        let mut rec = Recovery::default();
        let mut map = HashMap::new();
        let mut seq = 0u64;
        // The snapshot.
        let sp = Self::state_path(dir);
        match std::fs::read(&sp) {
            Ok(buf) => {
                let damaged = |m: &str| JournalError::Damaged {
                    path: sp.display().to_string(),
                    message: m.to_string(),
                };
                let body = buf
                    .strip_prefix(STATE_MAGIC)
                    .ok_or_else(|| damaged("not a witness state file (bad header)"))?;
                let (payload, end) = match read_frame(body, 0) {
                    Ok(Some(f)) => f,
                    _ => return Err(damaged("its frame fails its checksum or is cut short")),
                };
                if end != body.len() {
                    return Err(damaged("bytes after its frame"));
                }
                let (s, records) =
                    parse_payload(payload).ok_or_else(|| damaged("malformed records"))?;
                seq = s;
                for (o, e) in records {
                    map.insert(o, Arc::new(e));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&sp)(e)),
        }
        // The journal.
        let jp = Self::journal_path(dir);
        let mut journal = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&jp)
            .map_err(io(&jp))?;
        let mut buf = Vec::new();
        journal.read_to_end(&mut buf).map_err(io(&jp))?;
        let damaged = |m: String| JournalError::Damaged {
            path: jp.display().to_string(),
            message: m,
        };
        let mut good = JOURNAL_MAGIC.len();
        if buf.len() < JOURNAL_MAGIC.len() {
            // New, or torn while its header was written (nothing was ever
            // committed then): start it again.
            if !JOURNAL_MAGIC.starts_with(&buf) {
                return Err(damaged("not a witness journal (bad header)".into()));
            }
            rec.torn_bytes = buf.len() as u64;
            buf.clear();
            buf.extend_from_slice(JOURNAL_MAGIC);
            journal.set_len(0).map_err(io(&jp))?;
            journal.seek(SeekFrom::Start(0)).map_err(io(&jp))?;
            journal.write_all(JOURNAL_MAGIC).map_err(io(&jp))?;
            journal.sync_data().map_err(io(&jp))?;
            sync_dir(dir).map_err(io(dir))?;
        } else if !buf.starts_with(JOURNAL_MAGIC) {
            return Err(damaged("not a witness journal (bad header)".into()));
        }
        loop {
            match read_frame(&buf, good) {
                Ok(None) => break,
                Ok(Some((payload, next))) => {
                    let (first, records) = parse_payload(payload).ok_or_else(|| {
                        damaged(format!(
                            "frame at byte {good} passes its checksum but its records are malformed"
                        ))
                    })?;
                    for (i, (o, e)) in records.into_iter().enumerate() {
                        let s = first + i as u64;
                        if s <= seq {
                            continue; // covered by the snapshot
                        }
                        if s != seq + 1 {
                            return Err(damaged(format!(
                                "record {s} at byte {good} does not follow record {seq}"
                            )));
                        }
                        seq = s;
                        rec.replayed += 1;
                        map.insert(o, Arc::new(e));
                    }
                    good = next;
                }
                Err(end) => {
                    let zeros = buf[good..].iter().all(|&b| b == 0);
                    if end >= buf.len() || zeros {
                        rec.torn_bytes = (buf.len() - good) as u64;
                        break;
                    }
                    return Err(damaged(format!(
                        "the frame at byte {good} is damaged and {} bytes follow it (not a torn tail)",
                        buf.len() - end
                    )));
                }
            }
        }
        if rec.torn_bytes > 0 && good < buf.len() {
            journal.set_len(good as u64).map_err(io(&jp))?;
            journal.sync_data().map_err(io(&jp))?;
        }
        journal
            .seek(SeekFrom::Start(good as u64))
            .map_err(io(&jp))?;
        rec.origins = map.len();
        let mut store = Store {
            dir: dir.to_path_buf(),
            journal,
            journal_len: good as u64,
            compact_bytes: COMPACT_BYTES,
            seq,
            map,
        };
        if store.journal_len > JOURNAL_MAGIC.len() as u64 {
            store.compact().map_err(io(&jp))?;
        }
        Ok((store, rec))
    }

    /// Writes the snapshot and empties the journal (order in the module docs, step 5).
    fn compact(&mut self) -> std::io::Result<()> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&self.seq.to_be_bytes());
        payload.extend_from_slice(&(self.map.len() as u32).to_be_bytes());
        let mut origins: Vec<&String> = self.map.keys().collect();
        origins.sort();
        for o in origins {
            put_record(&mut payload, o, &self.map[o]);
        }
        let mut bytes = STATE_MAGIC.to_vec();
        bytes.extend_from_slice(&frame(&payload));
        let sp = Self::state_path(&self.dir);
        let tmp = self.dir.join("state.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &sp)?;
        sync_dir(&self.dir)?;
        self.journal.set_len(JOURNAL_MAGIC.len() as u64)?;
        self.journal.sync_data()?;
        self.journal
            .seek(SeekFrom::Start(JOURNAL_MAGIC.len() as u64))?;
        self.journal_len = JOURNAL_MAGIC.len() as u64;
        Ok(())
    }
}

impl Journal {
    /// Opens (or creates) the state in `dir`, takes the directory's lock,
    /// recovers, and starts the committer thread.
    pub fn open(dir: &Path) -> Result<(Journal, Recovery), JournalError> {
        Self::open_compacting_at(dir, COMPACT_BYTES)
    }

    /// [`Journal::open`] with another compaction threshold (tests).
    pub fn open_compacting_at(
        dir: &Path,
        compact_bytes: u64,
    ) -> Result<(Journal, Recovery), JournalError> {
        let lock = lock_dir(dir)?;
        let (mut store, rec) = Store::open(dir)?;
        store.compact_bytes = compact_bytes;
        let view: View = Arc::new(RwLock::new(
            store
                .map
                .iter()
                .map(|(o, e)| (origin_hash(o), e.clone()))
                .collect(),
        ));
        let failed = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (v, f) = (view.clone(), failed.clone());
        std::thread::Builder::new()
            .name("witness-commit".into())
            .spawn(move || {
                let _lock = lock;
                committer(store, rx, v, f)
            })
            .map_err(io(dir))?;
        Ok((Journal { tx, view, failed }, rec))
    }

    /// The durable entry of `origin`.
    pub fn get(&self, origin: &str) -> Option<Arc<Entry>> {
        self.get_by_origin_hash(&origin_hash(origin))
    }

    /// The durable entry whose origin hashes (SHA-256) to `hash`.
    pub fn get_by_origin_hash(&self, hash: &Hash) -> Option<Arc<Entry>> {
        self.view
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    /// Whether the committer has stopped after a failed write.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Proposes a new latest entry; resolves once it is durable or refused.
    pub async fn propose(&self, origin: String, expect: Option<Latest>, entry: Entry) -> Outcome {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let p = Proposal {
            origin,
            expect,
            entry,
            reply,
        };
        if self.tx.send(p).is_err() {
            return Outcome::Failed("the committer has stopped".into());
        }
        rx.await
            .unwrap_or_else(|_| Outcome::Failed("the committer has stopped".into()))
    }
}

#[cfg(unix)]
fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let p = dir.join("lock");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(io(&p))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| JournalError::Locked(p.display().to_string()))?;
    Ok(f)
}

#[cfg(not(unix))]
fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let p = dir.join("lock");
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(io(&p))
}

fn committer(mut store: Store, rx: mpsc::Receiver<Proposal>, view: View, failed: Arc<AtomicBool>) {
    let mut dead: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        if let Some(why) = &dead {
            for p in group {
                let _ = p.reply.send(Outcome::Failed(why.clone()));
            }
            continue;
        }
        // Compare and swap, in order; earlier proposals of the group count.
        let mut payload = Vec::new();
        payload.extend_from_slice(&(store.seq + 1).to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes());
        let mut count = 0u32;
        let mut changed: Vec<(String, Arc<Entry>)> = Vec::new();
        let mut answers: Vec<(tokio::sync::oneshot::Sender<Outcome>, Outcome)> =
            Vec::with_capacity(group.len());
        for p in group {
            let current = store.map.get(&p.origin).map(|e| e.latest());
            if current != p.expect {
                let size = current.map_or(0, |l| l.size);
                answers.push((p.reply, Outcome::Conflict(size)));
                continue;
            }
            put_record(&mut payload, &p.origin, &p.entry);
            count += 1;
            let e = Arc::new(p.entry);
            store.map.insert(p.origin.clone(), e.clone());
            changed.push((p.origin, e));
            answers.push((p.reply, Outcome::Committed));
        }
        if count > 0 {
            payload[8..12].copy_from_slice(&count.to_be_bytes());
            let bytes = frame(&payload);
            // Step 1: write and fsync.
            let r = store
                .journal
                .write_all(&bytes)
                .and_then(|()| store.journal.sync_data());
            if let Err(e) = r {
                let why = format!("writing the journal failed: {e}; restart the witness");
                tracing::error!(error = %e, "journal write or fsync failed; the witness stops cosigning");
                failed.store(true, Ordering::Release);
                for (reply, o) in answers {
                    let o = match o {
                        Outcome::Committed => Outcome::Failed(why.clone()),
                        other => other,
                    };
                    let _ = reply.send(o);
                }
                dead = Some(why);
                continue;
            }
            store.seq += u64::from(count);
            store.journal_len += bytes.len() as u64;
            // Step 2: publish, then answer.
            {
                let mut v = view.write().unwrap_or_else(|e| e.into_inner());
                for (o, e) in changed {
                    v.insert(origin_hash(&o), e);
                }
            }
        }
        for (reply, o) in answers {
            let _ = reply.send(o);
        }
        if store.journal_len > store.compact_bytes {
            if let Err(e) = store.compact() {
                tracing::error!(error = %e, "compacting the journal failed; the witness stops cosigning");
                failed.store(true, Ordering::Release);
                dead = Some(format!(
                    "compacting the journal failed: {e}; restart the witness"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64) -> Entry {
        Entry {
            size,
            root: [size as u8; 32],
            note: format!("note {size}\n"),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn compare_and_swap_and_recovery() {
        let dir = tempfile::tempdir().unwrap();
        rt().block_on(async {
            let (j, rec) = Journal::open(dir.path()).unwrap();
            assert_eq!(rec.origins, 0);
            assert!(matches!(
                Journal::open(dir.path()),
                Err(JournalError::Locked(_))
            ));
            assert_eq!(
                j.propose("a".into(), None, entry(3)).await,
                Outcome::Committed
            );
            assert_eq!(
                j.propose("a".into(), None, entry(4)).await,
                Outcome::Conflict(3)
            );
            let l3 = Some(entry(3).latest());
            assert_eq!(
                j.propose("a".into(), l3, entry(5)).await,
                Outcome::Committed
            );
            assert_eq!(
                j.propose("a".into(), l3, entry(6)).await,
                Outcome::Conflict(5)
            );
            assert_eq!(
                j.propose("b".into(), None, entry(1)).await,
                Outcome::Committed
            );
            assert_eq!(j.get("a").unwrap().size, 5);
            let h: [u8; 32] = Sha256::digest(b"b").into();
            assert_eq!(j.get_by_origin_hash(&h).unwrap().size, 1);
        });
        // The committer thread holds the lock until its channel closes;
        // wait for it to let go.
        let (j, rec) = loop {
            match Journal::open(dir.path()) {
                Ok(x) => break x,
                Err(JournalError::Locked(_)) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(rec.origins, 2);
        assert_eq!(rec.replayed, 3);
        assert_eq!(j.get("a").unwrap().size, 5);
        assert_eq!(j.get("b").unwrap().note, "note 1\n");
    }

    fn open_again(dir: &Path) -> (Journal, Recovery) {
        // The committer thread of a dropped Journal lets go of the lock
        // once its channel closes.
        loop {
            match Journal::open(dir) {
                Ok(x) => return x,
                Err(JournalError::Locked(_)) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn compaction_while_running_keeps_every_state() {
        let dir = tempfile::tempdir().unwrap();
        rt().block_on(async {
            // Compact after every group.
            let (j, _) = Journal::open_compacting_at(dir.path(), 1).unwrap();
            let mut prev = None;
            for size in 1..=20u64 {
                assert_eq!(
                    j.propose("a".into(), prev, entry(size)).await,
                    Outcome::Committed
                );
                prev = Some(entry(size).latest());
                assert_eq!(
                    j.propose("b".into(), None, entry(size)).await,
                    if size == 1 {
                        Outcome::Committed
                    } else {
                        Outcome::Conflict(1)
                    }
                );
            }
        });
        let j = std::fs::metadata(dir.path().join("journal")).unwrap().len();
        assert_eq!(j, JOURNAL_MAGIC.len() as u64, "the journal was compacted");
        let (j, rec) = open_again(dir.path());
        assert_eq!(rec.replayed, 0);
        assert_eq!(j.get("a").unwrap().size, 20);
        assert_eq!(j.get("b").unwrap().size, 1);
        assert_eq!(
            rt().block_on(j.propose("a".into(), None, entry(21))),
            Outcome::Conflict(20)
        );
    }

    fn write_journal(dir: &Path, frames: &[Vec<u8>], tail: &[u8]) {
        let mut b = JOURNAL_MAGIC.to_vec();
        for f in frames {
            b.extend_from_slice(f);
        }
        b.extend_from_slice(tail);
        std::fs::write(dir.join("journal"), b).unwrap();
    }

    fn record_frame(seq: u64, origin: &str, e: &Entry) -> Vec<u8> {
        let mut p = seq.to_be_bytes().to_vec();
        p.extend_from_slice(&1u32.to_be_bytes());
        put_record(&mut p, origin, e);
        frame(&p)
    }

    #[test]
    fn torn_tail_is_dropped_damage_before_it_refuses() {
        let f1 = record_frame(1, "a", &entry(1));
        let f2 = record_frame(2, "a", &entry(2));
        // Torn tails: cut short, zeros, a bad checksum at the end.
        let mut bad_last = f2.clone();
        let n = bad_last.len();
        bad_last[n - 1] ^= 1;
        for tail in [
            f2[..f2.len() - 3].to_vec(),
            vec![0; 40],
            bad_last.clone(),
            f2[..5].to_vec(),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write_journal(dir.path(), std::slice::from_ref(&f1), &tail);
            let (_store, rec) = Store::open(dir.path()).unwrap();
            assert_eq!(rec.torn_bytes, tail.len() as u64);
            assert_eq!(rec.replayed, 1);
            // Compacted into the snapshot; opening again is clean.
            let (store, rec) = Store::open(dir.path()).unwrap();
            assert_eq!(rec.torn_bytes, 0);
            assert_eq!(store.map["a"].size, 1);
        }
        // Damage before the tail: a flipped byte in the first of two frames.
        let mut bad_first = f1.clone();
        bad_first[20] ^= 1;
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), &[bad_first, f2.clone()], &[]);
        assert!(matches!(
            Store::open(dir.path()),
            Err(JournalError::Damaged { .. })
        ));
        // A damaged snapshot refuses the start.
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), &[f1.clone(), f2.clone()], &[]);
        Store::open(dir.path()).unwrap();
        let sp = dir.path().join("state");
        let mut s = std::fs::read(&sp).unwrap();
        let n = s.len();
        s[n - 2] ^= 1;
        std::fs::write(&sp, s).unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(JournalError::Damaged { .. })
        ));
    }

    #[test]
    fn records_covered_by_the_snapshot_are_skipped() {
        // A crash between the snapshot's rename and the journal's truncation.
        let dir = tempfile::tempdir().unwrap();
        write_journal(
            dir.path(),
            &[
                record_frame(1, "a", &entry(1)),
                record_frame(2, "a", &entry(2)),
            ],
            &[],
        );
        let j = std::fs::read(dir.path().join("journal")).unwrap();
        Store::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("journal"), j).unwrap();
        let (store, rec) = Store::open(dir.path()).unwrap();
        assert_eq!(rec.replayed, 0);
        assert_eq!(store.map["a"].size, 2);
        // A gap in the sequence is damage.
        let dir = tempfile::tempdir().unwrap();
        write_journal(
            dir.path(),
            &[
                record_frame(1, "a", &entry(1)),
                record_frame(3, "a", &entry(2)),
            ],
            &[],
        );
        assert!(matches!(
            Store::open(dir.path()),
            Err(JournalError::Damaged { .. })
        ));
    }
}

//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and
//! C2SP tlog-cosignature `cosignature/v1` witness signatures.
//!
//! Covers: key names, key IDs, verifier-key (`vkey`) and private-key strings,
//! signing a note, parsing a signed note strictly, and verifying it against a
//! set of known keys (signatures by unknown keys are ignored; a note that no
//! known key verifies is rejected).
//!
//! Leaves out: key storage and randomness (callers pass 32-byte seeds), and
//! what the note text means (see [`crate::checkpoint`]).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Signature type byte of an Ed25519 signed-note key.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 `cosignature/v1` witness key.
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Notes with more signature lines than this are rejected as malformed
/// (the spec asks verifiers to accept at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Everything that can be wrong with a key, a note or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name was empty or held white space or '+'.
    #[error("invalid key name {0:?}: must be non-empty with no white space and no '+'")]
    InvalidKeyName(String),
    /// A verifier or private key string did not parse.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// The key ID in a key string does not match the key.
    #[error("key ID {stated:08x} does not match the key (computed {computed:08x})")]
    KeyIdMismatch {
        /// The key ID written in the string.
        stated: u32,
        /// The key ID computed from name, type and key.
        computed: u32,
    },
    /// The note is not a well-formed signed note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A known key's signature on the note is invalid.
    #[error("invalid signature by known key {name}+{id:08x}")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        id: u32,
    },
    /// No known key signed the note.
    #[error("note is not signed by any known key")]
    NoKnownSignature,
}

/// A validated signed-note key name: non-empty, no Unicode white space, no '+'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Validates a key name.
    pub fn new(name: &str) -> Result<Self, NoteError> {
        if name.is_empty()
            || name
                .chars()
                .any(|c| c.is_whitespace() || c == '+' || c.is_control())
        {
            return Err(NoteError::InvalidKeyName(name.to_string()));
        }
        Ok(KeyName(name.to_string()))
    }
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key ID: the first four bytes, big-endian, of
/// SHA-256(name || 0x0A || signature type || public key).
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// What a key signs: plain signed notes, or witness cosignatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Signature type 0x01: Ed25519 over the note text.
    Ed25519,
    /// Signature type 0x04: Ed25519 `cosignature/v1` over time and checkpoint.
    CosignatureV1,
}

impl KeyKind {
    fn sig_type(self) -> u8 {
        match self {
            KeyKind::Ed25519 => SIG_TYPE_ED25519,
            KeyKind::CosignatureV1 => SIG_TYPE_COSIGNATURE_V1,
        }
    }
    fn from_sig_type(t: u8) -> Option<Self> {
        match t {
            SIG_TYPE_ED25519 => Some(KeyKind::Ed25519),
            SIG_TYPE_COSIGNATURE_V1 => Some(KeyKind::CosignatureV1),
            _ => None,
        }
    }
}

/// A public key as a signed-note verifier key string
/// `name+hexid+base64(type||key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    id: u32,
    kind: KeyKind,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key from its parts, computing its key ID.
    pub fn new(name: KeyName, kind: KeyKind, key: VerifyingKey) -> Self {
        let id = key_id(name.as_str(), kind.sig_type(), key.as_bytes());
        VerifierKey {
            name,
            id,
            kind,
            key,
        }
    }

    /// Parses a vkey string strictly: the key ID must match, the key must be
    /// a valid Ed25519 point and not of small order.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, stated, kind, pk) = parse_key_parts(s, "expected name+hexid+base64")?;
        let key = VerifyingKey::from_bytes(&pk)
            .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(NoteError::MalformedKey("Ed25519 public key of small order"));
        }
        let v = VerifierKey::new(name, kind, key);
        if v.id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                computed: v.id,
            });
        }
        Ok(v)
    }

    /// Key name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
    /// Key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Signature kind of the key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }
    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
    /// `name+hexid`, the DSSE `keyid` of this key.
    pub fn keyid(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
    /// Strict Ed25519 verification (canonical S, no small-order points).
    pub fn verify_strict(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.key
            .verify_strict(msg, &Signature::from_bytes(sig))
            .is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.kind.sig_type());
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// Splits `name+hexid+base64(type||32 bytes)` into its validated parts; the
/// caller checks the key ID against the key it builds.
fn parse_key_parts(
    s: &str,
    shape: &'static str,
) -> Result<(KeyName, u32, KeyKind, [u8; 32]), NoteError> {
    let mut parts = s.splitn(3, '+');
    let (name, hexid, data) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(h), Some(d)) => (n, h, d),
        _ => return Err(NoteError::MalformedKey(shape)),
    };
    let name = KeyName::new(name)?;
    let stated = parse_hex_id(hexid)?;
    let raw = B64
        .decode(data)
        .map_err(|_| NoteError::MalformedKey("key data is not standard base64"))?;
    if raw.len() != 33 {
        return Err(NoteError::MalformedKey(
            "key data must be 1 type byte and 32 key bytes",
        ));
    }
    let kind = KeyKind::from_sig_type(raw[0])
        .ok_or(NoteError::MalformedKey("unsupported signature type"))?;
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&raw[1..]);
    Ok((name, stated, kind, bytes))
}

fn parse_hex_id(s: &str) -> Result<u32, NoteError> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(NoteError::MalformedKey(
            "key ID must be 8 lowercase hex digits",
        ));
    }
    u32::from_str_radix(s, 16)
        .map_err(|_| NoteError::MalformedKey("key ID must be 8 lowercase hex digits"))
}

/// A private key, written as `PRIVATE+KEY+name+hexid+base64(type||seed)`.
#[derive(Clone)]
pub struct SignerKey {
    verifier: VerifierKey,
    signing: SigningKey,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({})", self.verifier)
    }
}

impl SignerKey {
    /// An Ed25519 note-signing key from a 32-byte seed.
    pub fn from_seed(name: KeyName, seed: [u8; 32]) -> Self {
        Self::from_seed_kind(name, KeyKind::Ed25519, seed)
    }

    /// A key of the given kind from a 32-byte seed.
    pub fn from_seed_kind(name: KeyName, kind: KeyKind, seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let verifier = VerifierKey::new(name, kind, signing.verifying_key());
        SignerKey { verifier, signing }
    }

    /// Parses a private-key string; the key ID must match.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let rest = s
            .trim_end_matches('\n')
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey(
                "private key must start with PRIVATE+KEY+",
            ))?;
        let (name, stated, kind, seed) =
            parse_key_parts(rest, "expected PRIVATE+KEY+name+hexid+base64")?;
        let k = Self::from_seed_kind(name, kind, seed);
        if k.verifier.id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                computed: k.verifier.id,
            });
        }
        Ok(k)
    }

    /// The private-key string. Handle with care: it is the secret.
    pub fn to_private_string(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.verifier.kind.sig_type());
        raw.extend_from_slice(&self.signing.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name,
            self.verifier.id,
            B64.encode(raw)
        )
    }

    /// Key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }
    /// Key ID.
    pub fn id(&self) -> u32 {
        self.verifier.id
    }
    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        self.verifier.clone()
    }
    /// Signs a message with Ed25519.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub id: u32,
    /// Signature bytes after the key ID (64 bytes for Ed25519, 72 for cosignatures).
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, with its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }
}

/// A parsed signed note: its text (ending in a newline) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// A signature that [`Note::verify`] checked, with the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key that verified.
    pub key: VerifierKey,
    /// For cosignatures, the UNIX timestamp that was signed.
    pub timestamp: Option<u64>,
}

impl Note {
    /// Signs `text` (which must be non-empty and end in a newline; it may
    /// hold blank lines) with each key; cosignature keys sign `cosignature/v1` with
    /// `timestamp`.
    pub fn sign(text: &str, signers: &[&SignerKey], timestamp: u64) -> Result<Note, NoteError> {
        check_text(text)?;
        let mut signatures = Vec::with_capacity(signers.len());
        for k in signers {
            signatures.push(sign_line(text, k, timestamp));
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Parses a signed note strictly (UTF-8, no control characters but
    /// newline, the last blank line before at least one well-formed signature
    /// line, at most [`MAX_SIGNATURES`] lines). The text may hold blank lines.
    pub fn parse(msg: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::MalformedNote("not UTF-8"))?;
        if msg.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::MalformedNote("control character"));
        }
        let split = msg.rfind("\n\n").ok_or(NoteError::MalformedNote(
            "no blank line before the signatures",
        ))?;
        let text = &msg[..split + 1];
        let mut sigs = &msg[split + 2..];
        check_text(text)?;
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::MalformedNote(
                "signature block must end in a newline",
            ));
        }
        let mut signatures: Vec<NoteSignature> = Vec::new();
        while let Some(i) = sigs.find('\n') {
            let line = &sigs[..i];
            sigs = &sigs[i + 1..];
            let line = line
                .strip_prefix("\u{2014} ")
                .ok_or(NoteError::MalformedNote(
                    "signature line must start with an em dash and a space",
                ))?;
            let (name, b64) = line.split_once(' ').ok_or(NoteError::MalformedNote(
                "signature line must be name and base64",
            ))?;
            KeyName::new(name)
                .map_err(|_| NoteError::MalformedNote("invalid key name in signature line"))?;
            let raw = B64
                .decode(b64)
                .map_err(|_| NoteError::MalformedNote("signature is not standard base64"))?;
            if raw.len() < 5 {
                return Err(NoteError::MalformedNote("signature too short"));
            }
            let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            signatures.push(NoteSignature {
                name: name.to_string(),
                id,
                sig: raw[4..].to_vec(),
            });
            if signatures.len() > MAX_SIGNATURES {
                return Err(NoteError::MalformedNote("too many signatures"));
            }
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, known keys or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature (for a witness adding its cosignature, say).
    pub fn add_signature(&mut self, sig: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.id == sig.id));
        self.signatures.push(sig);
    }

    /// Signs the note's text with one more key and adds the line.
    pub fn add_signer(&mut self, key: &SignerKey, timestamp: u64) {
        let line = sign_line(&self.text, key, timestamp);
        self.add_signature(line);
    }

    /// Verifies the note against known keys. Signatures by unknown keys are
    /// ignored; an invalid signature by a known key is an error; a note that
    /// no known key verifies is an error. Returns the keys that verified.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut ok = Vec::new();
        for s in &self.signatures {
            let Some(key) = known.iter().find(|k| k.name() == s.name && k.id() == s.id) else {
                continue;
            };
            if ok.iter().any(|v: &VerifiedSignature| &v.key == key) {
                return Err(NoteError::MalformedNote("a known key signs twice"));
            }
            let timestamp = match key.kind {
                KeyKind::Ed25519 => {
                    let good = <[u8; 64]>::try_from(s.sig.as_slice())
                        .map(|sig| key.verify_strict(self.text.as_bytes(), &sig))
                        .unwrap_or(false);
                    if !good {
                        return Err(NoteError::InvalidSignature {
                            name: s.name.clone(),
                            id: s.id,
                        });
                    }
                    None
                }
                KeyKind::CosignatureV1 => {
                    let bad = || NoteError::InvalidSignature {
                        name: s.name.clone(),
                        id: s.id,
                    };
                    if s.sig.len() != 72 {
                        return Err(bad());
                    }
                    let mut ts = [0u8; 8];
                    ts.copy_from_slice(&s.sig[..8]);
                    let ts = u64::from_be_bytes(ts);
                    let mut sig = [0u8; 64];
                    sig.copy_from_slice(&s.sig[8..]);
                    if !key.verify_strict(cosignature_message(&self.text, ts).as_bytes(), &sig) {
                        return Err(bad());
                    }
                    Some(ts)
                }
            };
            ok.push(VerifiedSignature {
                key: key.clone(),
                timestamp,
            });
        }
        if ok.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(ok)
    }

    /// The whole signed note as text.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        s.push_str(&self.text);
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }
}

/// The message a `cosignature/v1` signs.
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

fn sign_line(text: &str, k: &SignerKey, timestamp: u64) -> NoteSignature {
    let sig = match k.verifier.kind {
        KeyKind::Ed25519 => k.sign(text.as_bytes()).to_vec(),
        KeyKind::CosignatureV1 => {
            let mut v = timestamp.to_be_bytes().to_vec();
            v.extend_from_slice(&k.sign(cosignature_message(text, timestamp).as_bytes()));
            v
        }
    };
    NoteSignature {
        name: k.name().to_string(),
        id: k.id(),
        sig,
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::MalformedNote(
            "text must be non-empty and end in a newline",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::MalformedNote("control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Go sumdb note package's test key (golang.org/x/mod/sumdb/note).
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn go_sumdb_test_key() {
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.id(), 0xc74f20a3);
        assert_eq!(v.to_string(), GO_VKEY);
        let s = SignerKey::parse(GO_SKEY).unwrap();
        assert_eq!(s.verifier(), v);
        assert_eq!(s.to_private_string(), GO_SKEY);
        let n = Note::parse(GO_NOTE.as_bytes()).unwrap();
        let ok = n.verify(std::slice::from_ref(&v)).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(n.to_text(), GO_NOTE);
        // Ed25519 is deterministic: signing again gives the same note.
        let again = Note::sign(n.text(), &[&s], 0).unwrap();
        assert_eq!(again.to_text(), GO_NOTE);
    }

    /// The example of the C2SP signed-note spec: its text holds a blank line,
    /// and the separator is the last blank line.
    #[test]
    fn c2sp_spec_example_parses() {
        let ex = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let n = Note::parse(ex.as_bytes()).unwrap();
        assert_eq!(n.text(), "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n");
        assert_eq!(n.signatures().len(), 1);
        assert_eq!(n.signatures()[0].name, "quasimodo.example/salvatore");
        assert_eq!(n.signatures()[0].id, 0x367ba04b);
        assert_eq!(n.signatures()[0].sig.len(), 64);
        assert_eq!(n.to_text(), ex);
        // Its key is not published with the example: no known key verifies it.
        let k = SignerKey::from_seed(
            KeyName::new("quasimodo.example/salvatore").unwrap(),
            [1; 32],
        );
        assert!(n.verify(&[k.verifier()]).is_err());
    }

    #[test]
    fn known_key_signing_twice_is_rejected_unknown_ignored() {
        let k = SignerKey::from_seed(KeyName::new("k").unwrap(), [3; 32]);
        let n = Note::sign("hello\n", &[&k], 0).unwrap();
        let line = n.signatures()[0].to_line();
        let twice = format!("{}{}", n.to_text(), line);
        let parsed = Note::parse(twice.as_bytes()).unwrap();
        assert!(matches!(
            parsed.verify(&[k.verifier()]),
            Err(NoteError::MalformedNote(_))
        ));
        let other = SignerKey::from_seed(KeyName::new("o").unwrap(), [4; 32]);
        assert!(parsed.verify(&[other.verifier()]).is_err());
    }

    #[test]
    fn tampered_text_or_signature_is_rejected() {
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        let bad = GO_NOTE.replace("cryptography", "Cryptography");
        assert!(matches!(
            Note::parse(bad.as_bytes())
                .unwrap()
                .verify(std::slice::from_ref(&v)),
            Err(NoteError::InvalidSignature { .. })
        ));
        let other = SignerKey::from_seed(KeyName::new("other").unwrap(), [7; 32]);
        assert_eq!(
            Note::parse(GO_NOTE.as_bytes())
                .unwrap()
                .verify(&[other.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn unknown_signatures_ignored_and_many_accepted() {
        let text = "origin\n5\nAAAA\n";
        let keys: Vec<SignerKey> = (0..20u8)
            .map(|i| SignerKey::from_seed(KeyName::new(&format!("k{i}")).unwrap(), [i; 32]))
            .collect();
        let refs: Vec<&SignerKey> = keys.iter().collect();
        let n = Note::sign(text, &refs, 0).unwrap();
        let parsed = Note::parse(n.to_text().as_bytes()).unwrap();
        assert_eq!(parsed.signatures().len(), 20);
        let ok = parsed.verify(&[keys[19].verifier()]).unwrap();
        assert_eq!(ok[0].key.name(), "k19");
    }

    #[test]
    fn cosignature_round_trip() {
        let text = "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
        let w = SignerKey::from_seed_kind(
            KeyName::new("witness").unwrap(),
            KeyKind::CosignatureV1,
            [2; 32],
        );
        let mut n = Note::sign(text, &[&log], 0).unwrap();
        n.add_signer(&w, 1_700_000_000);
        let parsed = Note::parse(n.to_text().as_bytes()).unwrap();
        let ok = parsed.verify(&[log.verifier(), w.verifier()]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].timestamp, Some(1_700_000_000));
        assert_eq!(
            VerifierKey::parse(&w.verifier().to_string())
                .unwrap()
                .kind(),
            KeyKind::CosignatureV1
        );
        // Changing the timestamp breaks the cosignature.
        let mut forged = parsed.clone();
        let mut s = forged.signatures()[1].clone();
        s.sig[7] ^= 1;
        forged.add_signature(s);
        assert!(matches!(
            forged.verify(&[w.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn malformed_notes_and_keys() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n\u{2014} k AAAA\n",
            "text\n\n- k AAAAAAAA\n",
            "text\n\n\u{2014} k AAAAAAAA",
            "text\r\n\n\u{2014} k AAAAAAAA\n",
            "text\n\n\u{2014} k  AAAAAAAA\n",
            "text\n\n\u{2014} k+x AAAAAAAA\n",
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
        for bad in [
            "",
            "name",
            "name+c74f20a3",
            "na me+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3+AhpjZHEHFDw4TEHoMMW84SqogX7FZJqqvyw4OIs1stdE",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(KeyName::new("a+b").is_err());
        assert!(KeyName::new("").is_err());
        assert!(SignerKey::parse("PRIVATE+KEY+x+00000000+AA==").is_err());
    }
}

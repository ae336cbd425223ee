//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and
//! the two C2SP tlog-cosignature witness signature types: Ed25519
//! `cosignature/v1` (type 0x04) and ML-DSA-44 `subtree/v1` (type 0x06).
//!
//! Covers: key names, key IDs, verifier-key (`vkey`) and private-key strings
//! for the three key types, signing a note, parsing a signed note strictly,
//! and verifying it against a set of known keys (signatures by unknown keys
//! are ignored; a note that no known key verifies is rejected), and the
//! signed messages of both cosignature types ([`cosignature_message`],
//! [`subtree_message`]).
//!
//! ML-DSA-44 (FIPS 204) keys come from a 32-byte seed xi by
//! `ML-DSA.KeyGen_internal`, and sign with the deterministic variant
//! (rnd = 32 zero bytes) and an empty context string, so the core stays free
//! of randomness. A `subtree/v1` cosignature signs the checkpoint's origin,
//! size and root hash, not the note text: verifying one parses the note text
//! as a checkpoint ([`crate::checkpoint::Checkpoint::parse`]).
//!
//! Private keys are `PRIVATE+KEY+name+hexid+base64(type||32-byte seed)` for
//! all three types (for ML-DSA-44 the seed is xi); existing Ed25519 key
//! strings are unchanged.
//!
//! Leaves out: key storage and randomness (callers pass 32-byte seeds), and
//! what the note text means (see [`crate::checkpoint`]).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use ml_dsa::MlDsa44;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// Signature type byte of an Ed25519 signed-note key.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 `cosignature/v1` witness key.
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of an ML-DSA-44 `subtree/v1` witness key.
pub const SIG_TYPE_SUBTREE_V1: u8 = 0x06;
/// Bytes of an ML-DSA-44 public key (FIPS 204 `pkEncode`).
pub const MLDSA44_PUBLIC_KEY_LEN: usize = 1312;
/// Bytes of an ML-DSA-44 signature.
pub const MLDSA44_SIGNATURE_LEN: usize = 2420;
/// The fixed label that starts a `subtree/v1` signed message.
pub const SUBTREE_V1_LABEL: &[u8; 12] = b"subtree/v1\n\0";
/// Cosignature timestamps above this are refused (tlog-cosignature: it
/// MUST NOT exceed 2^63 - 1).
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;
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
    /// The key cannot make this signature (an ML-DSA-44 key asked for an
    /// Ed25519 signature, a `subtree/v1` key asked to sign a note that is
    /// not a checkpoint, a name or origin too long for `subtree/v1`).
    #[error("cannot sign: {0}")]
    CannotSign(&'static str),
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

/// What a key signs: plain signed notes, or witness cosignatures of one of
/// the two tlog-cosignature types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Signature type 0x01: Ed25519 over the note text.
    Ed25519,
    /// Signature type 0x04: Ed25519 `cosignature/v1` over time and checkpoint.
    CosignatureV1,
    /// Signature type 0x06: ML-DSA-44 `subtree/v1` over cosigner name, time,
    /// origin, tree size and root hash.
    SubtreeV1,
}

impl KeyKind {
    /// The signed-note signature type byte.
    pub fn sig_type(self) -> u8 {
        match self {
            KeyKind::Ed25519 => SIG_TYPE_ED25519,
            KeyKind::CosignatureV1 => SIG_TYPE_COSIGNATURE_V1,
            KeyKind::SubtreeV1 => SIG_TYPE_SUBTREE_V1,
        }
    }
    /// The kind of a signature type byte, if it is one of the three.
    pub fn from_sig_type(t: u8) -> Option<Self> {
        match t {
            SIG_TYPE_ED25519 => Some(KeyKind::Ed25519),
            SIG_TYPE_COSIGNATURE_V1 => Some(KeyKind::CosignatureV1),
            SIG_TYPE_SUBTREE_V1 => Some(KeyKind::SubtreeV1),
            _ => None,
        }
    }
    /// Whether keys of this kind are witness (cosigner) keys.
    pub fn is_cosigner(self) -> bool {
        matches!(self, KeyKind::CosignatureV1 | KeyKind::SubtreeV1)
    }
    /// Bytes of a public key of this kind.
    fn public_key_len(self) -> usize {
        match self {
            KeyKind::Ed25519 | KeyKind::CosignatureV1 => 32,
            KeyKind::SubtreeV1 => MLDSA44_PUBLIC_KEY_LEN,
        }
    }
}

/// An ML-DSA-44 public key: its 1312 encoded bytes and the decoded key
/// (with its expanded matrix, computed once; cloning shares it).
#[derive(Clone)]
pub struct MlDsa44PublicKey(Arc<MlDsaInner>);

struct MlDsaInner {
    bytes: Vec<u8>,
    key: ml_dsa::VerifyingKey<MlDsa44>,
}

impl MlDsa44PublicKey {
    /// Decodes a 1312-byte public key (FIPS 204 `pkDecode`); the bytes must
    /// be the key's canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NoteError> {
        let enc = ml_dsa::EncodedVerifyingKey::<MlDsa44>::try_from(bytes)
            .map_err(|_| NoteError::MalformedKey("an ML-DSA-44 public key is 1312 bytes"))?;
        let key = ml_dsa::VerifyingKey::<MlDsa44>::decode(&enc);
        if key.encode().as_slice() != bytes {
            return Err(NoteError::MalformedKey(
                "ML-DSA-44 public key is not canonically encoded",
            ));
        }
        Ok(MlDsa44PublicKey(Arc::new(MlDsaInner {
            bytes: bytes.to_vec(),
            key,
        })))
    }
    /// The 1312 encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }
    /// FIPS 204 `ML-DSA.Verify` with an empty context string. A signature
    /// that is not 2420 bytes or does not decode is invalid.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != MLDSA44_SIGNATURE_LEN {
            return false;
        }
        match ml_dsa::Signature::<MlDsa44>::try_from(sig) {
            Ok(sig) => self.0.key.verify_with_context(msg, &[], &sig),
            Err(_) => false,
        }
    }
}

impl PartialEq for MlDsa44PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.bytes == other.0.bytes
    }
}
impl Eq for MlDsa44PublicKey {}

impl fmt::Debug for MlDsa44PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MlDsa44PublicKey({})",
            crate::hex::encode(&self.0.bytes[..8])
        )
    }
}

/// The public key material of a verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ed25519 key (types 0x01 and 0x04).
    Ed25519(VerifyingKey),
    /// An ML-DSA-44 key (type 0x06).
    MlDsa44(MlDsa44PublicKey),
}

impl PublicKey {
    /// The encoded key bytes (32 for Ed25519, 1312 for ML-DSA-44), the
    /// key material of the vkey and of the key ID.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(k) => k.as_bytes(),
            PublicKey::MlDsa44(k) => k.as_bytes(),
        }
    }
    fn fits(&self, kind: KeyKind) -> bool {
        matches!(
            (self, kind),
            (
                PublicKey::Ed25519(_),
                KeyKind::Ed25519 | KeyKind::CosignatureV1
            ) | (PublicKey::MlDsa44(_), KeyKind::SubtreeV1)
        )
    }
}

/// A public key as a signed-note verifier key string
/// `name+hexid+base64(type||key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    id: u32,
    kind: KeyKind,
    key: PublicKey,
}

impl VerifierKey {
    /// Builds a verifier key from its parts, computing its key ID. The key
    /// material must fit the kind (Ed25519 for types 0x01 and 0x04,
    /// ML-DSA-44 for 0x06); a `subtree/v1` key's name is at most 255 bytes.
    pub fn new(name: KeyName, kind: KeyKind, key: PublicKey) -> Result<Self, NoteError> {
        if !key.fits(kind) {
            return Err(NoteError::MalformedKey(
                "key material does not fit the signature type",
            ));
        }
        if kind == KeyKind::SubtreeV1 && name.as_str().len() > 255 {
            return Err(NoteError::MalformedKey(
                "a subtree/v1 cosigner name is at most 255 bytes",
            ));
        }
        let id = key_id(name.as_str(), kind.sig_type(), key.as_bytes());
        Ok(VerifierKey {
            name,
            id,
            kind,
            key,
        })
    }

    /// Parses a vkey string strictly: the key ID must match; an Ed25519 key
    /// must be a valid point and not of small order; an ML-DSA-44 key must
    /// be 1312 bytes, canonically encoded.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, stated, kind, raw) = parse_key_parts(s, "expected name+hexid+base64")?;
        if raw.len() != kind.public_key_len() {
            return Err(NoteError::MalformedKey(match kind {
                KeyKind::SubtreeV1 => "key data must be 1 type byte and 1312 key bytes",
                _ => "key data must be 1 type byte and 32 key bytes",
            }));
        }
        let key = match kind {
            KeyKind::Ed25519 | KeyKind::CosignatureV1 => {
                let mut b = [0u8; 32];
                b.copy_from_slice(&raw);
                let key = VerifyingKey::from_bytes(&b)
                    .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key"))?;
                if key.is_weak() {
                    return Err(NoteError::MalformedKey("Ed25519 public key of small order"));
                }
                PublicKey::Ed25519(key)
            }
            KeyKind::SubtreeV1 => PublicKey::MlDsa44(MlDsa44PublicKey::from_bytes(&raw)?),
        };
        let v = VerifierKey::new(name, kind, key)?;
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
    /// The key material.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
    /// The encoded public key bytes (what two keys are compared by).
    pub fn public_key_bytes(&self) -> &[u8] {
        self.key.as_bytes()
    }
    /// The Ed25519 public key, if this is an Ed25519 key (types 0x01, 0x04).
    pub fn ed25519_key(&self) -> Option<&VerifyingKey> {
        match &self.key {
            PublicKey::Ed25519(k) => Some(k),
            PublicKey::MlDsa44(_) => None,
        }
    }
    /// `name+hexid`, the DSSE `keyid` of this key.
    pub fn keyid(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
    /// Strict Ed25519 verification (canonical S, no small-order points).
    /// False for an ML-DSA-44 key.
    pub fn verify_strict(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        match &self.key {
            PublicKey::Ed25519(k) => k.verify_strict(msg, &Signature::from_bytes(sig)).is_ok(),
            PublicKey::MlDsa44(_) => false,
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.key.as_bytes();
        let mut raw = Vec::with_capacity(1 + bytes.len());
        raw.push(self.kind.sig_type());
        raw.extend_from_slice(bytes);
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// Splits `name+hexid+base64(type||data)` into its validated parts; the
/// caller checks the data length and the key ID against the key it builds.
fn parse_key_parts(
    s: &str,
    shape: &'static str,
) -> Result<(KeyName, u32, KeyKind, Vec<u8>), NoteError> {
    let mut parts = s.splitn(3, '+');
    let (name, hexid, data) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(h), Some(d)) => (n, h, d),
        _ => return Err(NoteError::MalformedKey(shape)),
    };
    let name = KeyName::new(name)?;
    let stated = parse_hex_id(hexid)?;
    let mut raw = B64
        .decode(data)
        .map_err(|_| NoteError::MalformedKey("key data is not standard base64"))?;
    if raw.is_empty() {
        return Err(NoteError::MalformedKey("key data is empty"));
    }
    let kind = KeyKind::from_sig_type(raw[0])
        .ok_or(NoteError::MalformedKey("unsupported signature type"))?;
    raw.remove(0);
    Ok((name, stated, kind, raw))
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

/// The secret key material of a signer key.
///
/// ML-DSA-44 keys are derived from their seed by the RustCrypto `ml-dsa`
/// crate (the public key) and sign with the `fips204` crate, whose signing
/// is about 1.9 times faster here (crates/dfft-core/benches/core.rs,
/// `mldsa44/sign_*_same_message`): both are pure Rust, both implement FIPS
/// 204's deterministic `ML-DSA.Sign` with an empty context, and the tests
/// (`tests/cosignature.rs`) check that they give the same public keys and
/// byte-identical signatures, so each is the other's oracle.
#[derive(Clone)]
enum SigningMaterial {
    Ed25519(SigningKey),
    MlDsa44 {
        seed: [u8; 32],
        signer: Box<fips204::ml_dsa_44::PrivateKey>,
    },
}

/// A private key, written as `PRIVATE+KEY+name+hexid+base64(type||seed)`.
#[derive(Clone)]
pub struct SignerKey {
    verifier: VerifierKey,
    signing: SigningMaterial,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({})", self.verifier.keyid())
    }
}

impl SignerKey {
    /// An Ed25519 note-signing key from a 32-byte seed.
    pub fn from_seed(name: KeyName, seed: [u8; 32]) -> Self {
        Self::from_seed_kind(name, KeyKind::Ed25519, seed)
    }

    /// A key of the given kind from a 32-byte seed: the Ed25519 seed, or
    /// for [`KeyKind::SubtreeV1`] the ML-DSA-44 seed xi
    /// (FIPS 204 `ML-DSA.KeyGen_internal`). A `subtree/v1` key whose name
    /// is longer than 255 bytes cannot sign (and its vkey does not parse).
    pub fn from_seed_kind(name: KeyName, kind: KeyKind, seed: [u8; 32]) -> Self {
        let signing = match kind {
            KeyKind::Ed25519 | KeyKind::CosignatureV1 => {
                SigningMaterial::Ed25519(SigningKey::from_bytes(&seed))
            }
            KeyKind::SubtreeV1 => {
                use fips204::traits::KeyGen as _;
                let (_, signer) = fips204::ml_dsa_44::KG::keygen_from_seed(&seed);
                SigningMaterial::MlDsa44 {
                    seed,
                    signer: Box::new(signer),
                }
            }
        };
        let key = match &signing {
            SigningMaterial::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            SigningMaterial::MlDsa44 { seed, .. } => {
                let k = ml_dsa::SigningKey::<MlDsa44>::from_seed(&(*seed).into());
                let vk: &ml_dsa::VerifyingKey<MlDsa44> = k.as_ref();
                PublicKey::MlDsa44(MlDsa44PublicKey(Arc::new(MlDsaInner {
                    bytes: vk.encode().as_slice().to_vec(),
                    key: vk.clone(),
                })))
            }
        };
        let verifier = VerifierKey {
            id: key_id(name.as_str(), kind.sig_type(), key.as_bytes()),
            name,
            kind,
            key,
        };
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
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            NoteError::MalformedKey("private key data must be 1 type byte and a 32-byte seed")
        })?;
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
        match &self.signing {
            SigningMaterial::Ed25519(k) => raw.extend_from_slice(&k.to_bytes()),
            SigningMaterial::MlDsa44 { seed, .. } => raw.extend_from_slice(seed),
        }
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
    /// Signature kind of the key.
    pub fn kind(&self) -> KeyKind {
        self.verifier.kind
    }
    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        self.verifier.clone()
    }
    /// Signs a message with Ed25519 (keys of types 0x01 and 0x04); an
    /// ML-DSA-44 key cannot.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; 64], NoteError> {
        match &self.signing {
            SigningMaterial::Ed25519(k) => Ok(k.sign(msg).to_bytes()),
            SigningMaterial::MlDsa44 { .. } => Err(NoteError::CannotSign(
                "an ML-DSA-44 key makes no Ed25519 signatures",
            )),
        }
    }
    /// Signs a message with ML-DSA-44, deterministically (FIPS 204
    /// deterministic variant, rnd = 32 zero bytes) with an empty context
    /// string; an Ed25519 key cannot.
    pub fn sign_mldsa44(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        match &self.signing {
            SigningMaterial::MlDsa44 { signer, .. } => {
                use fips204::traits::Signer as _;
                // Deterministic signing: the all-zero `rnd` of FIPS 204.
                let sig = signer
                    .try_sign_with_seed(&[0u8; 32], msg, &[])
                    .map_err(|_| NoteError::CannotSign("ML-DSA-44 signing failed"))?;
                Ok(sig.to_vec())
            }
            SigningMaterial::Ed25519(_) => Err(NoteError::CannotSign(
                "an Ed25519 key makes no ML-DSA-44 signatures",
            )),
        }
    }

    /// The signature line this key adds to a note with `text`: an Ed25519
    /// note signature, or a cosignature (of either type) with `timestamp`.
    /// A `subtree/v1` key signs only a checkpoint's text (it signs the
    /// origin, size and root hash parsed from it).
    pub fn sign_note_line(&self, text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        let sig = match self.verifier.kind {
            KeyKind::Ed25519 => self.sign(text.as_bytes())?.to_vec(),
            KeyKind::CosignatureV1 | KeyKind::SubtreeV1 => {
                if timestamp > MAX_COSIGNATURE_TIMESTAMP {
                    return Err(NoteError::CannotSign("timestamp above 2^63 - 1"));
                }
                let mut v = timestamp.to_be_bytes().to_vec();
                if self.verifier.kind == KeyKind::CosignatureV1 {
                    v.extend_from_slice(
                        &self.sign(cosignature_message(text, timestamp).as_bytes())?,
                    );
                } else {
                    let cp = crate::checkpoint::Checkpoint::parse(text).map_err(|_| {
                        NoteError::CannotSign("a subtree/v1 key signs checkpoints only")
                    })?;
                    let msg = cp.subtree_message(self.name(), timestamp)?;
                    v.extend_from_slice(&self.sign_mldsa44(&msg)?);
                }
                v
            }
        };
        Ok(NoteSignature {
            name: self.name().to_string(),
            id: self.id(),
            sig,
        })
    }
}

/// The `subtree/v1` signed message (the `cosigned_message` structure of
/// C2SP tlog-cosignature): label, u8-length-prefixed cosigner name, u64
/// timestamp, u8-length-prefixed log origin, u64 start, u64 end and the
/// 32-byte subtree hash, integers big-endian. Refuses an empty or longer
/// than 255 bytes name or origin, and a non-zero timestamp with a non-zero
/// start (the spec's rules). A checkpoint is the subtree `[0, size)`; see
/// [`crate::checkpoint::Checkpoint::subtree_message`].
pub fn subtree_message(
    cosigner: &str,
    timestamp: u64,
    origin: &str,
    start: u64,
    end: u64,
    hash: &[u8; 32],
) -> Result<Vec<u8>, NoteError> {
    let name_len =
        u8::try_from(cosigner.len())
            .ok()
            .filter(|n| *n > 0)
            .ok_or(NoteError::CannotSign(
                "a subtree/v1 cosigner name is 1 to 255 bytes",
            ))?;
    let origin_len =
        u8::try_from(origin.len())
            .ok()
            .filter(|n| *n > 0)
            .ok_or(NoteError::CannotSign(
                "a subtree/v1 log origin is 1 to 255 bytes",
            ))?;
    if start != 0 && timestamp != 0 {
        return Err(NoteError::CannotSign(
            "a subtree/v1 message with a non-zero start has a zero timestamp",
        ));
    }
    if start > end {
        return Err(NoteError::CannotSign("subtree start is after its end"));
    }
    let mut m = Vec::with_capacity(12 + 1 + cosigner.len() + 8 + 1 + origin.len() + 16 + 32);
    m.extend_from_slice(SUBTREE_V1_LABEL);
    m.push(name_len);
    m.extend_from_slice(cosigner.as_bytes());
    m.extend_from_slice(&timestamp.to_be_bytes());
    m.push(origin_len);
    m.extend_from_slice(origin.as_bytes());
    m.extend_from_slice(&start.to_be_bytes());
    m.extend_from_slice(&end.to_be_bytes());
    m.extend_from_slice(hash);
    Ok(m)
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub id: u32,
    /// Signature bytes after the key ID (64 bytes for Ed25519, 72 for
    /// `cosignature/v1`, 2428 for `subtree/v1`).
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
    /// hold blank lines) with each key; cosignature keys sign `cosignature/v1`
    /// or `subtree/v1` (text that is a checkpoint) with `timestamp`.
    pub fn sign(text: &str, signers: &[&SignerKey], timestamp: u64) -> Result<Note, NoteError> {
        check_text(text)?;
        let mut signatures = Vec::with_capacity(signers.len());
        for k in signers {
            signatures.push(k.sign_note_line(text, timestamp)?);
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

    /// Signs the note's text with one more key and adds the line (see
    /// [`SignerKey::sign_note_line`] for when that fails).
    pub fn add_signer(&mut self, key: &SignerKey, timestamp: u64) -> Result<(), NoteError> {
        let line = key.sign_note_line(&self.text, timestamp)?;
        self.add_signature(line);
        Ok(())
    }

    /// Verifies the note against known keys. Signatures by unknown keys are
    /// ignored; an invalid signature by a known key is an error; a note that
    /// no known key verifies is an error. Returns the keys that verified.
    /// A `subtree/v1` cosignature is checked against the checkpoint the
    /// text holds (a note that is not a checkpoint has no valid one); a
    /// cosignature timestamp above 2^63 - 1 is invalid.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut ok = Vec::new();
        // Parsed at the first subtree/v1 signature by a known key.
        let mut checkpoint: Option<Option<crate::checkpoint::Checkpoint>> = None;
        for s in &self.signatures {
            let Some(key) = known.iter().find(|k| k.name() == s.name && k.id() == s.id) else {
                continue;
            };
            if ok.iter().any(|v: &VerifiedSignature| &v.key == key) {
                return Err(NoteError::MalformedNote("a known key signs twice"));
            }
            let bad = || NoteError::InvalidSignature {
                name: s.name.clone(),
                id: s.id,
            };
            let timestamp = match key.kind {
                KeyKind::Ed25519 => {
                    let good = <[u8; 64]>::try_from(s.sig.as_slice())
                        .map(|sig| key.verify_strict(self.text.as_bytes(), &sig))
                        .unwrap_or(false);
                    if !good {
                        return Err(bad());
                    }
                    None
                }
                KeyKind::CosignatureV1 => {
                    let (ts, sig) = split_timestamp(&s.sig).ok_or_else(bad)?;
                    let sig = <[u8; 64]>::try_from(sig).map_err(|_| bad())?;
                    if !key.verify_strict(cosignature_message(&self.text, ts).as_bytes(), &sig) {
                        return Err(bad());
                    }
                    Some(ts)
                }
                KeyKind::SubtreeV1 => {
                    let (ts, sig) = split_timestamp(&s.sig).ok_or_else(bad)?;
                    let cp = checkpoint
                        .get_or_insert_with(|| {
                            crate::checkpoint::Checkpoint::parse(&self.text).ok()
                        })
                        .as_ref()
                        .ok_or_else(bad)?;
                    let msg = cp.subtree_message(key.name(), ts).map_err(|_| bad())?;
                    let PublicKey::MlDsa44(pk) = &key.key else {
                        return Err(bad());
                    };
                    if !pk.verify(&msg, sig) {
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

/// Splits a `timestamped_signature` into its timestamp (at most 2^63 - 1)
/// and its signature bytes.
fn split_timestamp(raw: &[u8]) -> Option<(u64, &[u8])> {
    let (ts, sig) = raw.split_first_chunk::<8>()?;
    let ts = u64::from_be_bytes(*ts);
    (ts <= MAX_COSIGNATURE_TIMESTAMP).then_some((ts, sig))
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
        n.add_signer(&w, 1_700_000_000).unwrap();
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

//! DSSE v1 envelopes (the "Dead Simple Signing Envelope") as statements-v1
//! uses them.
//!
//! Covers: strict parsing of an envelope from JSON (exactly `payload`,
//! `payloadType` and `signatures`, each signature exactly `keyid` and `sig`;
//! standard base64 with canonical padding; 64-byte signatures; the one
//! payload type `application/vnd.dfft.statement.v1+json`; at least one
//! signature and no keyid twice), its RFC 8785 canonical bytes (the logged
//! entry, at most 65,535 bytes), the PAE, signing with signed-note keys, and
//! strict Ed25519 verification of one signature.
//!
//! A `keyid` is `name+hexid`: the signed-note key name and the 8 lowercase
//! hex digits of the key ID, so one vkey string serves DSSE and notes.
//!
//! Leaves out: which keys must sign what (see [`super::registry`]) and what
//! the payload means (see [`super::Statement`]). Signature order is kept as
//! given: canonical JSON does not sort arrays, so the same signatures in
//! another order make another entry.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;

use crate::note::{KeyName, SignerKey, VerifierKey};

use super::jcs;

/// The one payload type of statements-v1.
pub const PAYLOAD_TYPE: &str = "application/vnd.dfft.statement.v1+json";

/// The largest entry a tlog-tiles bundle can hold.
pub const MAX_ENTRY_SIZE: usize = 65_535;

/// The statement id ([`Envelope::statement_id`]) of a PAE already built.
pub fn statement_id_of_pae(pae: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(pae).into()
}

/// The most signatures an envelope may carry (a governance quorum fits many
/// times over; more would only let a sender multiply the work of checking).
pub const MAX_SIGNATURES: usize = 32;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsseError {
    /// Not JSON of the envelope's shape (unknown, missing or repeated field,
    /// wrong type).
    #[error("the envelope is not a DSSE JSON object {{\"payload\",\"payloadType\",\"signatures\":[{{\"keyid\",\"sig\"}}]}}: {detail}")]
    Json {
        /// What the JSON parser said.
        detail: String,
    },
    /// A field that is not standard base64 with canonical padding.
    #[error("`{field}` is not standard base64 with padding (RFC 4648 section 4)")]
    Base64 {
        /// The field (`payload`, `signatures[0].sig`).
        field: String,
    },
    /// A signature that is not 64 bytes.
    #[error("`signatures[{index}].sig` is {len} bytes; an Ed25519 signature is 64")]
    SignatureLength {
        /// Which signature.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// Another payload type.
    #[error("payloadType `{found}` is not `application/vnd.dfft.statement.v1+json`")]
    PayloadType {
        /// The payload type given.
        found: String,
    },
    /// An empty signature list.
    #[error("the envelope has no signatures; at least one is required")]
    NoSignatures,
    /// More signatures than [`MAX_SIGNATURES`].
    #[error("the envelope has {count} signatures; at most 32 are allowed")]
    TooManySignatures {
        /// How many it has.
        count: usize,
    },
    /// A signer key that makes no Ed25519 signatures (an ML-DSA-44 key).
    #[error("key `{keyid}` is not an Ed25519 key; statements are signed with Ed25519")]
    NotEd25519 {
        /// The key's keyid.
        keyid: String,
    },
    /// Two signatures with one keyid.
    #[error("keyid `{keyid}` signs twice; each key signs at most once")]
    DuplicateKeyId {
        /// The repeated keyid.
        keyid: String,
    },
    /// A keyid that is not `name+hexid`.
    #[error(
        "`signatures[{index}].keyid` `{keyid}` is not a key name, '+' and 8 lowercase hex digits"
    )]
    KeyId {
        /// Which signature.
        index: usize,
        /// The refused keyid.
        keyid: String,
    },
    /// An entry that is not in canonical form.
    #[error("the entry is not the envelope's RFC 8785 canonical JSON")]
    NotCanonical,
    /// An envelope too large to log.
    #[error("the canonical envelope is {len} bytes; an entry is at most 65535")]
    TooLarge {
        /// Its size in bytes.
        len: usize,
    },
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `name+hexid` of the signing key.
    pub keyid: String,
    /// The Ed25519 signature over the PAE.
    pub sig: [u8; 64],
}

impl Signature {
    /// The key name part of the keyid.
    pub fn key_name(&self) -> &str {
        parse_keyid(&self.keyid).map_or("", |(n, _)| n)
    }

    /// Whether this signature is by `key` (same keyid) and verifies strictly
    /// over `pae`.
    pub fn verify(&self, key: &VerifierKey, pae: &[u8]) -> bool {
        self.keyid == key.keyid() && key.verify_strict(pae, &self.sig)
    }
}

/// Splits a keyid into key name and key ID; `None` unless it is a valid key
/// name, '+', and exactly 8 lowercase hex digits.
pub fn parse_keyid(keyid: &str) -> Option<(&str, u32)> {
    let (name, hex) = keyid.split_once('+')?;
    KeyName::new(name).ok()?;
    if hex.len() != 8
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some((name, u32::from_str_radix(hex, 16).ok()?))
}

/// DSSE's pre-authentication encoding:
/// `DSSEv1 <len(type)> <type> <len(payload)> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The statement bytes.
    pub payload: Vec<u8>,
    /// Always [`PAYLOAD_TYPE`] once parsed.
    pub payload_type: String,
    /// One or more signatures, each by a different keyid.
    pub signatures: Vec<Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<RawSignature>,
}

struct RawSignature {
    keyid: String,
    sig: String,
}

/// Written by hand (the derived one also takes `["keyid", "sig"]` arrays):
/// a signature must be a JSON object with exactly `keyid` and `sig`. The
/// messages are serde's own for unknown, missing and duplicate fields.
impl<'de> Deserialize<'de> for RawSignature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const FIELDS: &[&str] = &["keyid", "sig"];
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawSignature;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a signature object {\"keyid\", \"sig\"}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawSignature, A::Error> {
                use serde::de::Error as _;
                let (mut keyid, mut sig) = (None, None);
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let slot = match &*k {
                        "keyid" => &mut keyid,
                        "sig" => &mut sig,
                        other => return Err(A::Error::unknown_field(other, FIELDS)),
                    };
                    if slot.is_some() {
                        return Err(A::Error::duplicate_field(if &*k == "keyid" {
                            "keyid"
                        } else {
                            "sig"
                        }));
                    }
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(RawSignature {
                    keyid: keyid.ok_or_else(|| A::Error::missing_field("keyid"))?,
                    sig: sig.ok_or_else(|| A::Error::missing_field("sig"))?,
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl Envelope {
    /// Parses an envelope strictly (see the module docs). Any JSON layout is
    /// accepted; see [`Envelope::parse_canonical`] for logged entries.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, DsseError> {
        // serde's derived struct parsers also accept arrays (fields by
        // position): the envelope must open with `{` (JSON whitespace
        // aside), and signatures parse only from objects (`RawSignature`).
        let first = bytes
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first.is_some_and(|b| *b != b'{') {
            return Err(DsseError::Json {
                detail: "the envelope and each signature must be JSON objects".to_owned(),
            });
        }
        let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| DsseError::Json {
            detail: e.to_string(),
        })?;
        let payload = B64.decode(&raw.payload).map_err(|_| DsseError::Base64 {
            field: "payload".to_owned(),
        })?;
        if raw.payload_type != PAYLOAD_TYPE {
            return Err(DsseError::PayloadType {
                found: raw.payload_type,
            });
        }
        if raw.signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        if raw.signatures.len() > MAX_SIGNATURES {
            return Err(DsseError::TooManySignatures {
                count: raw.signatures.len(),
            });
        }
        let mut signatures: Vec<Signature> = Vec::with_capacity(raw.signatures.len());
        for (index, s) in raw.signatures.into_iter().enumerate() {
            if parse_keyid(&s.keyid).is_none() {
                return Err(DsseError::KeyId {
                    index,
                    keyid: s.keyid,
                });
            }
            let bytes = B64.decode(&s.sig).map_err(|_| DsseError::Base64 {
                field: format!("signatures[{index}].sig"),
            })?;
            let sig: [u8; 64] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| DsseError::SignatureLength {
                        index,
                        len: bytes.len(),
                    })?;
            if signatures.iter().any(|o| o.keyid == s.keyid) {
                return Err(DsseError::DuplicateKeyId { keyid: s.keyid });
            }
            signatures.push(Signature {
                keyid: s.keyid,
                sig,
            });
        }
        Ok(Envelope {
            payload,
            payload_type: raw.payload_type,
            signatures,
        })
    }

    /// Parses a logged entry: [`Envelope::parse`], and the bytes must be
    /// exactly the envelope's canonical form.
    pub fn parse_canonical(bytes: &[u8]) -> Result<Envelope, DsseError> {
        let env = Envelope::parse(bytes)?;
        if env.canonical_bytes() != bytes {
            return Err(DsseError::NotCanonical);
        }
        Ok(env)
    }

    /// The RFC 8785 canonical JSON of the envelope (members sorted:
    /// `payload`, `payloadType`, `signatures`; `keyid`, `sig`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Written directly: the envelope holds only strings, so JCS reduces
        // to fixed member order and JCS string escaping (tested against
        // `jcs::canonicalize`).
        let mut out = Vec::with_capacity(self.payload.len() * 4 / 3 + 200);
        out.extend_from_slice(b"{\"payload\":");
        jcs::write_string(&B64.encode(&self.payload), &mut out);
        out.extend_from_slice(b",\"payloadType\":");
        jcs::write_string(&self.payload_type, &mut out);
        out.extend_from_slice(b",\"signatures\":[");
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"keyid\":");
            jcs::write_string(&s.keyid, &mut out);
            out.extend_from_slice(b",\"sig\":");
            jcs::write_string(&B64.encode(s.sig), &mut out);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The canonical bytes, if they fit in one entry (65,535 bytes).
    pub fn to_entry(&self) -> Result<Vec<u8>, DsseError> {
        let bytes = self.canonical_bytes();
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(DsseError::TooLarge { len: bytes.len() });
        }
        Ok(bytes)
    }

    /// The message the signatures sign.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The statement's identity: SHA-256 of the PAE, the bytes every
    /// signature signs. Two envelopes carrying the same statement with other
    /// signature sets (reordered, a subset, other signers) have the same id
    /// but different entries; the registry logs a statement once, by this id
    /// (`docs/statements.md`, "A statement is logged once").
    pub fn statement_id(&self) -> [u8; 32] {
        statement_id_of_pae(&self.pae())
    }

    /// Signs `payload` (statement bytes) with each of `signers`, in order.
    /// Fails on no signers or two signers with one keyid.
    pub fn sign(payload: Vec<u8>, signers: &[&SignerKey]) -> Result<Envelope, DsseError> {
        if signers.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        let mut env = Envelope {
            payload,
            payload_type: PAYLOAD_TYPE.to_owned(),
            signatures: Vec::with_capacity(signers.len()),
        };
        for s in signers {
            env.add_signature(s)?;
        }
        Ok(env)
    }

    /// Adds a signature by `signer` (fails if its keyid already signed).
    pub fn add_signature(&mut self, signer: &SignerKey) -> Result<(), DsseError> {
        let keyid = signer.verifier().keyid();
        if self.signatures.iter().any(|s| s.keyid == keyid) {
            return Err(DsseError::DuplicateKeyId { keyid });
        }
        let sig = signer
            .sign(&self.pae())
            .map_err(|_| DsseError::NotEd25519 {
                keyid: keyid.clone(),
            })?;
        self.signatures.push(Signature { keyid, sig });
        Ok(())
    }

    /// The signature with this keyid, if any.
    pub fn signature_by(&self, keyid: &str) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.keyid == keyid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn keyids() {
        assert_eq!(parse_keyid("eu.ec+1a2b3c4d"), Some(("eu.ec", 0x1a2b3c4d)));
        for bad in [
            "eu.ec",
            "eu.ec+1A2B3C4D",
            "eu.ec+1a2b3c4",
            "eu.ec+1a2b3c4d5",
            "+1a2b3c4d",
            "e u+1a2b3c4d",
            "a+b+1a2b3c4d",
        ] {
            assert_eq!(parse_keyid(bad), None, "{bad}");
        }
    }
}

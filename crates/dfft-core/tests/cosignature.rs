//! ML-DSA-44 `subtree/v1` cosignatures (C2SP tlog-cosignature), checked
//! across two implementations (`dfft_core::note` derives public keys and
//! verifies with RustCrypto's `ml-dsa` and signs with `fips204`: here each
//! crate's own keys and signatures are compared with ours), a known answer
//! stored as data (`testdata/cosignature/`), and forgeries.

use dfft_core::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use dfft_core::note::{
    subtree_message, KeyKind, KeyName, Note, NoteError, SignerKey, VerifierKey,
    MLDSA44_PUBLIC_KEY_LEN, MLDSA44_SIGNATURE_LEN,
};
use fips204::ml_dsa_44;
use fips204::traits::{KeyGen, SerDes, Signer, Verifier};

fn mldsa(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed_kind(KeyName::new(name).unwrap(), KeyKind::SubtreeV1, [seed; 32])
}

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: "example.org/log".into(),
        size,
        root: [size as u8; 32],
        extensions: vec![],
    }
}

/// The `cosigned_message` written out by hand from the spec, as the
/// reference for [`subtree_message`].
fn reference_message(name: &str, ts: u64, origin: &str, size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut m = b"subtree/v1\n\0".to_vec();
    m.push(name.len() as u8);
    m.extend(name.bytes());
    m.extend(ts.to_be_bytes());
    m.push(origin.len() as u8);
    m.extend(origin.bytes());
    m.extend(0u64.to_be_bytes());
    m.extend(size.to_be_bytes());
    m.extend(root);
    m
}

#[test]
fn same_seed_same_public_key_as_fips204() {
    for seed in [0u8, 1, 0x22, 0xff] {
        let ours = mldsa("w", seed).verifier();
        let (pk, _) = ml_dsa_44::KG::keygen_from_seed(&[seed; 32]);
        assert_eq!(ours.public_key_bytes(), &pk.into_bytes()[..], "seed {seed}");
        assert_eq!(ours.public_key_bytes().len(), MLDSA44_PUBLIC_KEY_LEN);
    }
}

#[test]
fn signatures_cross_verify_with_fips204_and_are_identical() {
    for seed in [3u8, 77] {
        let ours = mldsa("witness.example/w", seed);
        let (pk, sk) = ml_dsa_44::KG::keygen_from_seed(&[seed; 32]);
        for msg in [&b""[..], b"subtree/v1\n\0 a message", &[0xa5; 3000]] {
            let sig = ours.sign_mldsa44(msg).unwrap();
            assert_eq!(sig.len(), MLDSA44_SIGNATURE_LEN);
            let arr: [u8; MLDSA44_SIGNATURE_LEN] = sig.clone().try_into().unwrap();
            assert!(pk.verify(msg, &arr, &[]), "fips204 refuses our signature");
            // Not under another context string: ours signs with the empty one.
            assert!(!pk.verify(msg, &arr, b"x"));
            // fips204's deterministic signature (rnd = 32 zero bytes, empty context).
            let theirs = sk.try_sign_with_seed(&[0u8; 32], msg, &[]).unwrap();
            assert_eq!(theirs.to_vec(), sig, "deterministic signatures differ");
            // RustCrypto's deterministic signature, from its own key.
            let rc = ml_dsa::SigningKey::<ml_dsa::MlDsa44>::from_seed(&[seed; 32].into());
            let rc_sig =
                ml_dsa::Signer::<ml_dsa::Signature<ml_dsa::MlDsa44>>::try_sign(&rc, msg).unwrap();
            assert_eq!(
                rc_sig.encode().as_slice(),
                &sig[..],
                "ml-dsa's deterministic signature differs"
            );
            let v = ours.verifier();
            let dfft_core::note::PublicKey::MlDsa44(k) = v.public_key() else {
                panic!("not an ML-DSA key")
            };
            assert!(k.verify(msg, &theirs));
            // A hedged (randomised) fips204 signature verifies under ours too.
            let hedged = sk.try_sign_with_seed(&[9u8; 32], msg, &[]).unwrap();
            assert_ne!(hedged.to_vec(), sig);
            assert!(k.verify(msg, &hedged));
            let mut flipped = hedged;
            flipped[100] ^= 1;
            assert!(!k.verify(msg, &flipped));
        }
    }
}

#[test]
fn subtree_message_matches_the_spec_layout() {
    let root = [7u8; 32];
    assert_eq!(
        subtree_message("w.example", 1_700_000_000, "example.org/log", 0, 42, &root).unwrap(),
        reference_message("w.example", 1_700_000_000, "example.org/log", 42, &root)
    );
    assert_eq!(
        checkpoint(5).subtree_message("w", 9).unwrap(),
        reference_message("w", 9, "example.org/log", 5, &[5; 32])
    );
    // The spec's rules: names and origins of 1 to 255 bytes; a non-zero
    // start only with a zero timestamp.
    assert!(subtree_message("", 0, "o", 0, 1, &root).is_err());
    assert!(subtree_message(&"n".repeat(256), 0, "o", 0, 1, &root).is_err());
    assert!(subtree_message("n", 0, &"o".repeat(256), 0, 1, &root).is_err());
    assert!(subtree_message(&"n".repeat(255), 0, &"o".repeat(255), 0, 1, &root).is_ok());
    assert!(subtree_message("n", 1, "o", 2, 4, &root).is_err());
    assert!(subtree_message("n", 0, "o", 2, 4, &root).is_ok());
}

/// Generated once with the code of this commit from the seeds below
/// (Ed25519 log key seed 0x11.., ML-DSA-44 witness seed 0x22..).
#[test]
fn known_answer_from_testdata() {
    let read = |f: &str| std::fs::read_to_string(format!("testdata/cosignature/{f}")).unwrap();
    let log = VerifierKey::parse(read("log.vkey").trim()).unwrap();
    let w = VerifierKey::parse(read("witness-mldsa.vkey").trim()).unwrap();
    assert_eq!(w.kind(), KeyKind::SubtreeV1);
    assert_eq!(w.name(), "witness.example/w1");
    assert_eq!(w.to_string(), read("witness-mldsa.vkey").trim());
    let sk = SignerKey::parse(read("witness-mldsa.private").trim()).unwrap();
    assert_eq!(sk.verifier(), w);
    assert_eq!(sk.to_private_string(), read("witness-mldsa.private").trim());
    assert_eq!(
        sk.to_private_string(),
        mldsa("witness.example/w1", 0x22).to_private_string()
    );

    let text = read("checkpoint");
    let cp = SignedCheckpoint::parse(text.as_bytes()).unwrap();
    cp.verify(&log, std::slice::from_ref(&w), 1).unwrap();
    let ok = cp.note.verify(&[log.clone(), w.clone()]).unwrap();
    assert_eq!(ok[1].timestamp, Some(1_760_000_000));

    // The stored cosignature verifies under fips204 over the hand-built message.
    let line = &cp.note.signatures()[1];
    assert_eq!(line.id, w.id());
    assert_eq!(line.sig.len(), 8 + MLDSA44_SIGNATURE_LEN);
    let ts = u64::from_be_bytes(line.sig[..8].try_into().unwrap());
    let msg = reference_message(
        w.name(),
        ts,
        &cp.checkpoint.origin,
        cp.checkpoint.size,
        &cp.checkpoint.root,
    );
    let pk =
        ml_dsa_44::PublicKey::try_from_bytes(w.public_key_bytes().try_into().unwrap()).unwrap();
    assert!(pk.verify(&msg, &line.sig[8..].try_into().unwrap(), &[]));

    // Signing is deterministic: the same line again.
    let again = sk.sign_note_line(cp.note.text(), ts).unwrap();
    assert_eq!(&again, line);
}

fn signed_with_both_witnesses() -> (SignerKey, SignerKey, SignerKey, SignedCheckpoint) {
    let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
    let ed = SignerKey::from_seed_kind(
        KeyName::new("w.example/ed").unwrap(),
        KeyKind::CosignatureV1,
        [2; 32],
    );
    let ml = mldsa("w.example/ml", 3);
    let mut cp = checkpoint(10).sign(&[&log], 0).unwrap();
    cp.note.add_signer(&ed, 1_700_000_000).unwrap();
    cp.note.add_signer(&ml, 1_700_000_001).unwrap();
    let cp = SignedCheckpoint::parse(cp.to_text().as_bytes()).unwrap();
    (log, ed, ml, cp)
}

#[test]
fn signed_checkpoint_verify_counts_both_witness_types() {
    let (log, ed, ml, cp) = signed_with_both_witnesses();
    let ws = [ed.verifier(), ml.verifier()];
    cp.verify(&log.verifier(), &ws, 2).unwrap();
    cp.verify(&log.verifier(), &ws[1..], 1).unwrap();
    assert!(matches!(
        cp.verify(&log.verifier(), &ws[1..], 2),
        Err(CheckpointError::TooFewCosignatures { got: 1, want: 2 })
    ));
}

#[test]
fn bit_flipped_or_forged_mldsa_cosignature_is_refused() {
    let (log, ed, ml, cp) = signed_with_both_witnesses();
    let ws = [ed.verifier(), ml.verifier()];
    for at in [0usize, 7, 8, 9, 500, 8 + MLDSA44_SIGNATURE_LEN - 1] {
        let mut forged = cp.clone();
        let mut s = forged.note.signatures()[2].clone();
        s.sig[at] ^= 0x01;
        forged.note.add_signature(s);
        let forged = SignedCheckpoint::parse(forged.to_text().as_bytes()).unwrap();
        assert!(
            matches!(
                forged.verify(&log.verifier(), &ws, 0),
                Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
            ),
            "flip at byte {at}"
        );
    }
    // Truncated, or padded.
    for len in [
        8usize,
        8 + MLDSA44_SIGNATURE_LEN - 1,
        8 + MLDSA44_SIGNATURE_LEN + 1,
    ] {
        let mut forged = cp.clone();
        let mut s = forged.note.signatures()[2].clone();
        s.sig.resize(len, 0);
        forged.note.add_signature(s);
        assert!(matches!(
            forged.note.verify(&ws),
            Err(NoteError::InvalidSignature { .. })
        ));
    }
    // Another checkpoint's cosignature (a valid signature over other bytes).
    let other = {
        let mut o = checkpoint(11).sign(&[&log], 0).unwrap();
        o.note.add_signer(&ml, 1_700_000_001).unwrap();
        o
    };
    let mut moved = cp.clone();
    moved.note.add_signature(other.note.signatures()[1].clone());
    assert!(matches!(
        moved.note.verify(&ws),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A key with the same seed under another name: the message commits to
    // the name, so re-labelling the line does not verify.
    let renamed = mldsa("w.example/other", 3);
    let mut relabelled = cp.clone();
    let mut s = cp.note.signatures()[2].clone();
    s.name = renamed.name().into();
    s.id = renamed.id();
    relabelled.note.add_signature(s);
    assert!(matches!(
        relabelled.note.verify(&[renamed.verifier()]),
        Err(NoteError::InvalidSignature { .. })
    ));
    // A timestamp above 2^63 - 1 is refused even if signed.
    let mut huge = cp.note.clone();
    let mut s = cp.note.signatures()[2].clone();
    s.sig[0] = 0x80;
    huge.add_signature(s);
    assert!(matches!(
        huge.verify(&ws),
        Err(NoteError::InvalidSignature { .. })
    ));
    assert!(ml.sign_note_line(cp.note.text(), 1 << 63).is_err());
}

#[test]
fn wrong_key_id_is_ignored_or_refused() {
    let (log, _ed, ml, cp) = signed_with_both_witnesses();
    // A cosignature line whose key ID is not the key's: not that key's
    // signature, so the key has not cosigned.
    let mut s = cp.note.signatures()[2].clone();
    s.id ^= 1;
    let mut only_wrong = Note::sign(cp.note.text(), &[&log], 0).unwrap();
    only_wrong.add_signature(s);
    let only_wrong = SignedCheckpoint::parse(only_wrong.to_text().as_bytes()).unwrap();
    assert!(matches!(
        only_wrong.verify(&log.verifier(), &[ml.verifier()], 1),
        Err(CheckpointError::TooFewCosignatures { got: 0, want: 1 })
    ));
    // A vkey string whose key ID does not match is refused.
    let v = ml.verifier().to_string();
    let (name, rest) = v.split_once('+').unwrap();
    let (id, key) = rest.split_once('+').unwrap();
    let id = u32::from_str_radix(id, 16).unwrap() ^ 0x10;
    assert!(matches!(
        VerifierKey::parse(&format!("{name}+{id:08x}+{key}")),
        Err(NoteError::KeyIdMismatch { .. })
    ));
    // The key ID commits to the type: the same bytes as type 0x04 are a
    // wrong length, and the ID of an 0x06 key is not that of an 0x04 key.
    assert_ne!(
        ml.id(),
        dfft_core::note::key_id(ml.name(), 0x04, ml.verifier().public_key_bytes())
    );
}

#[test]
fn vkey_and_private_key_round_trip_and_strictness() {
    let k = mldsa("witness.example/w1", 0x42);
    let v = k.verifier();
    let s = v.to_string();
    assert_eq!(VerifierKey::parse(&s).unwrap(), v);
    let p = SignerKey::parse(&k.to_private_string()).unwrap();
    assert_eq!(p.verifier(), v);
    assert_eq!(p.kind(), KeyKind::SubtreeV1);
    // A 1312-byte key as type 0x01 or 0x04, a 32-byte key as type 0x06: refused.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(s.splitn(3, '+').nth(2).unwrap()).unwrap();
    for t in [0x01u8, 0x04] {
        let mut r = raw.clone();
        r[0] = t;
        let id = dfft_core::note::key_id(v.name(), t, &r[1..]);
        assert!(VerifierKey::parse(&format!("{}+{id:08x}+{}", v.name(), b64.encode(&r))).is_err());
    }
    let short = [&[0x06u8][..], &[5u8; 32]].concat();
    let id = dfft_core::note::key_id(v.name(), 0x06, &short[1..]);
    assert!(VerifierKey::parse(&format!("{}+{id:08x}+{}", v.name(), b64.encode(&short))).is_err());
    // Ed25519 signing with an ML-DSA key, and the reverse: refused.
    assert!(k.sign(b"x").is_err());
    let ed = SignerKey::from_seed(KeyName::new("e").unwrap(), [1; 32]);
    assert!(ed.sign_mldsa44(b"x").is_err());
    // A subtree/v1 key signs checkpoints only.
    assert!(matches!(
        Note::sign("not a checkpoint\n", &[&k], 0),
        Err(NoteError::CannotSign(_))
    ));
}

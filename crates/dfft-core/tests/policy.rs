//! C2SP tlog-policy: the vectors of `testdata/policy/` (valid files with
//! quorum evaluations, invalid files with their expected errors), the
//! quorum rule against a brute-force reference on random policies, and
//! checkpoint verification against a policy.

use dfft_core::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use dfft_core::note::{KeyKind, KeyName, NoteError, SignerKey, VerifierKey};
use dfft_core::policy::{Policy, PolicyError, MAX_WITNESSES};
use proptest::prelude::*;
use std::path::Path;

fn files(dir: &str, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new("testdata/policy").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

#[test]
fn valid_vectors_parse_round_trip_and_evaluate() {
    for p in files("valid", "policy") {
        let text = std::fs::read_to_string(&p).unwrap();
        let policy = Policy::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        // The canonical text reads back to the same policy.
        assert_eq!(
            Policy::parse(&policy.to_string()).unwrap(),
            policy,
            "{}",
            p.display()
        );
        let q = p.with_extension("quorum");
        let Ok(evals) = std::fs::read_to_string(&q) else {
            continue;
        };
        for line in evals.lines().filter(|l| !l.starts_with('#')) {
            if let Some(names) = line.strip_prefix("met:") {
                let names: Vec<&str> = names.split_whitespace().collect();
                assert!(policy.quorum_met(&names), "{}: {line}", q.display());
                assert!(policy.missing(&names).is_empty());
            } else {
                let rest = line.strip_prefix("unmet:").unwrap();
                let (names, missing) = rest.split_once("| missing:").unwrap();
                let names: Vec<&str> = names.split_whitespace().collect();
                assert!(!policy.quorum_met(&names), "{}: {line}", q.display());
                assert_eq!(
                    policy.missing(&names).join(", "),
                    missing.trim(),
                    "{}",
                    q.display()
                );
            }
        }
    }
}

#[test]
fn spec_example_structure() {
    let text = std::fs::read_to_string("testdata/policy/valid/spec-example.policy").unwrap();
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.logs().len(), 1);
    assert_eq!(p.logs()[0].name(), "example.org/log");
    assert_eq!(p.witnesses().len(), 6);
    assert_eq!(p.witnesses()[5].key.kind(), KeyKind::SubtreeV1);
    assert_eq!(p.quorum(), Some("X-and-Y"));
    assert!(p.requires_cosignatures());
    assert_eq!(
        p.describe_quorum(),
        "X-and-Y = all of (X-witnesses = 2 of (X1, X2, X3), Y-witnesses = 1 of (Y1, Y2, Y3))"
    );
    let none = Policy::parse("quorum none\n").unwrap();
    assert!(!none.requires_cosignatures());
    assert!(none.quorum_met(&[]));
    let urls =
        std::fs::read_to_string("testdata/policy/valid/two-logs-mixed-witnesses.policy").unwrap();
    let p = Policy::parse(&urls).unwrap();
    assert_eq!(
        p.log_urls(),
        &[Some("https://log.example.org/".to_string()), None]
    );
    assert_eq!(p.witnesses()[0].url.as_deref(), Some("https://w1.example/"));
}

#[test]
fn invalid_vectors_fail_with_their_error() {
    for p in files("invalid", "policy") {
        let text = std::fs::read_to_string(&p).unwrap();
        let want = std::fs::read_to_string(p.with_extension("error")).unwrap();
        let err = Policy::parse(&text).expect_err(&p.display().to_string());
        let got = err.to_string();
        assert!(
            got.contains(want.trim()),
            "{}: got {got:?}, want it to contain {:?}",
            p.display(),
            want.trim()
        );
        // Every error of a line says which line.
        if let PolicyError::Line { line, .. } = err {
            assert!(got.starts_with(&format!("policy line {line}: ")));
        }
    }
}

fn ed_witness(i: usize) -> SignerKey {
    SignerKey::from_seed_kind(
        KeyName::new(&format!("w{i}.example")).unwrap(),
        KeyKind::CosignatureV1,
        {
            let mut seed = [100u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            seed
        },
    )
}

#[test]
fn limits() {
    // The spec's recommended minimum: 32 logs, 32 witnesses, 32 groups.
    let mut t = String::new();
    for i in 0..32u8 {
        let k = SignerKey::from_seed(KeyName::new(&format!("log{i}.example")).unwrap(), [i; 32]);
        t += &format!("log {}\n", k.verifier());
    }
    for i in 0..32 {
        t += &format!("witness W{i} {}\n", ed_witness(i).verifier());
        t += &format!("group G{i} any W{i}\n");
    }
    t += "group all all";
    for i in 0..32 {
        t += &format!(" G{i}");
    }
    t += "\nquorum all\n";
    let p = Policy::parse(&t).unwrap();
    assert_eq!(
        (p.logs().len(), p.witnesses().len(), p.groups().len()),
        (32, 32, 33)
    );
    // Beyond the documented bound: refused with the line.
    let mut t = String::new();
    for i in 0..=MAX_WITNESSES {
        t += &format!("witness W{i} {}\n", ed_witness(i).verifier());
    }
    let e = Policy::parse(&t).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("policy line {}: more than", MAX_WITNESSES + 1)),
        "{e}"
    );
    let big = "#".repeat(dfft_core::policy::MAX_POLICY_BYTES + 1);
    assert!(matches!(Policy::parse(&big), Err(PolicyError::File(_))));
    let long = format!("# {}\nquorum none\n", "x".repeat(9000));
    assert!(Policy::parse(&long)
        .unwrap_err()
        .to_string()
        .starts_with("policy line 1: "));
}

#[test]
fn from_keys_is_k_of_n() {
    let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
    let ws: Vec<VerifierKey> = (0..3).map(|i| ed_witness(i).verifier()).collect();
    let p = Policy::from_keys(log.verifier(), ws.clone(), 2).unwrap();
    assert_eq!(p.quorum(), Some("2 of 3 witnesses"));
    assert!(p.quorum_met(&["w0.example", "w2.example"]));
    assert!(!p.quorum_met(&["w0.example"]));
    assert_eq!(
        p.missing(&["w0.example"]),
        [
            "group 2 of 3 witnesses (2 of 3, has 1)",
            "w1.example",
            "w2.example"
        ]
    );
    assert!(!Policy::from_keys(log.verifier(), ws.clone(), 0)
        .unwrap()
        .requires_cosignatures());
    assert!(Policy::from_keys(log.verifier(), ws.clone(), 4).is_err());
    // A witness key as the log key, a log key as a witness, a key twice.
    assert!(Policy::from_keys(ws[0].clone(), ws[1..].to_vec(), 1).is_err());
    assert!(Policy::from_keys(log.verifier(), vec![log.verifier()], 1).is_err());
    assert!(Policy::from_keys(log.verifier(), vec![ws[0].clone(), ws[0].clone()], 1).is_err());
    // One witness with an Ed25519 and an ML-DSA key of one name: named by
    // keyid so that both can be told apart.
    let ml = SignerKey::from_seed_kind(
        KeyName::new("w0.example").unwrap(),
        KeyKind::SubtreeV1,
        [5; 32],
    );
    let p = Policy::from_keys(log.verifier(), vec![ws[0].clone(), ml.verifier()], 1).unwrap();
    assert_eq!(p.witnesses()[0].name, ws[0].keyid());
    assert_eq!(p.witnesses()[1].name, ml.verifier().keyid());
}

/// A quorum tree of the test's own making, evaluated by plain recursion.
#[derive(Debug, Clone)]
enum Node {
    Witness(usize),
    Group(usize, Vec<Node>),
}

fn reference(n: &Node, cosigned: &[bool]) -> bool {
    match n {
        Node::Witness(i) => cosigned[*i],
        Node::Group(k, ms) => ms.iter().filter(|m| reference(m, cosigned)).count() >= *k,
    }
}

/// Random trees over witnesses 0..n, each witness used at most once.
fn tree(n: usize) -> impl Strategy<Value = Node> {
    let leaf = (0..n).prop_map(Node::Witness);
    leaf.prop_recursive(3, 12, 4, |inner| {
        (
            prop::collection::vec(inner, 1..4),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(ms, k)| Node::Group(k.index(ms.len()) + 1, ms))
    })
}

/// Renames witnesses so that each is used once; drops trees that reuse one.
fn render(
    n: &Node,
    used: &mut Vec<usize>,
    lines: &mut Vec<String>,
    next: &mut usize,
) -> Option<String> {
    match n {
        Node::Witness(i) => {
            if used.contains(i) {
                return None;
            }
            used.push(*i);
            Some(format!("W{i}"))
        }
        Node::Group(k, ms) => {
            let mut names = Vec::new();
            for m in ms {
                names.push(render(m, used, lines, next)?);
            }
            let name = format!("G{next}");
            *next += 1;
            let k = if *k == ms.len() && *k > 1 {
                "all".to_string()
            } else if *k == 1 && ms.len() > 1 {
                "any".to_string()
            } else {
                k.to_string()
            };
            lines.push(format!("group {name} {k} {}", names.join(" ")));
            Some(name)
        }
    }
}

const N: usize = 7;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn quorum_matches_brute_force(t in tree(N)) {
        let keys: Vec<VerifierKey> = (0..N).map(|i| ed_witness(i).verifier()).collect();
        let mut lines: Vec<String> =
            (0..N).map(|i| format!("witness W{i} {}", keys[i])).collect();
        let mut used = Vec::new();
        let mut next = 0;
        let Some(q) = render(&t, &mut used, &mut lines, &mut next) else {
            return Ok(());
        };
        lines.push(format!("quorum {q}"));
        let p = Policy::parse(&lines.join("\n")).unwrap();
        for mask in 0u32..(1 << N) {
            let cos: Vec<bool> = (0..N).map(|i| mask & (1 << i) != 0).collect();
            let names: Vec<String> = (0..N).filter(|&i| cos[i]).map(|i| format!("W{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let met = p.quorum_met(&refs);
            prop_assert_eq!(met, reference(&t, &cos), "mask {:b}", mask);
            let missing = p.missing(&refs);
            prop_assert_eq!(missing.is_empty(), met);
            // The witnesses named missing are enough to meet the quorum.
            let mut more = refs.clone();
            more.extend(missing.iter().filter(|m| !m.starts_with("group ")).map(String::as_str));
            prop_assert!(p.quorum_met(&more));
        }
    }
}

struct Setup {
    log: SignerKey,
    ws: Vec<SignerKey>,
    policy: Policy,
}

/// A log, witnesses A, B (Ed25519) and C (ML-DSA-44) in a 2-of-3 group.
fn setup() -> Setup {
    let log = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
    let ws = vec![
        ed_witness(1),
        ed_witness(2),
        SignerKey::from_seed_kind(
            KeyName::new("pq.example").unwrap(),
            KeyKind::SubtreeV1,
            [3; 32],
        ),
    ];
    let text = format!(
        "log {}\nwitness A {}\nwitness B {}\nwitness C {}\ngroup two 2 A B C\nquorum two\n",
        log.verifier(),
        ws[0].verifier(),
        ws[1].verifier(),
        ws[2].verifier()
    );
    let policy = Policy::parse(&text).unwrap();
    Setup { log, ws, policy }
}

fn cosigned(s: &Setup, by: &[usize]) -> SignedCheckpoint {
    let cp = Checkpoint {
        origin: "example.org/log".into(),
        size: 9,
        root: [4; 32],
        extensions: vec![],
    };
    let mut signed = cp.sign(&[&s.log], 0).unwrap();
    for &i in by {
        signed.note.add_signer(&s.ws[i], 1_700_000_000).unwrap();
    }
    SignedCheckpoint::parse(signed.to_text().as_bytes()).unwrap()
}

#[test]
fn verify_checkpoint_two_of_three() {
    let s = setup();
    assert_eq!(
        s.policy.verify_checkpoint(&cosigned(&s, &[0, 2])).unwrap(),
        ["A", "C"]
    );
    assert_eq!(
        s.policy
            .verify_checkpoint(&cosigned(&s, &[1, 2, 0]))
            .unwrap(),
        ["A", "B", "C"]
    );
    let e = s.policy.verify_checkpoint(&cosigned(&s, &[2])).unwrap_err();
    let CheckpointError::QuorumNotMet {
        quorum,
        cosigned: c,
        missing,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(quorum, "two");
    assert_eq!(c, &["C"]);
    assert_eq!(missing, &["group two (2 of 3, has 1)", "A", "B"]);
    assert!(
        e.to_string()
            .contains("missing: group two (2 of 3, has 1), A, B"),
        "{e}"
    );
    let e = s.policy.verify_checkpoint(&cosigned(&s, &[])).unwrap_err();
    assert!(
        e.to_string().contains("cosigned by no policy witness"),
        "{e}"
    );
}

#[test]
fn verify_checkpoint_refuses_forgeries_of_both_types() {
    let s = setup();
    for (i, at) in [(0usize, 20usize), (2, 20), (2, 2000)] {
        let good = cosigned(&s, &[0, 1, 2]);
        let mut bad = good.clone();
        let mut line = good.note.signatures()[1 + i].clone();
        line.sig[at] ^= 0x40;
        bad.note.add_signature(line);
        let bad = SignedCheckpoint::parse(bad.to_text().as_bytes()).unwrap();
        // Even with the quorum met by the other two, a bad cosignature by a
        // policy witness is refused.
        assert!(
            matches!(
                s.policy.verify_checkpoint(&bad),
                Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
            ),
            "witness {i} byte {at}"
        );
    }
    // A log signature by another key under the log's name; another origin.
    let other = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [9; 32]);
    let forged = Checkpoint::parse(cosigned(&s, &[]).note.text())
        .unwrap()
        .sign(&[&other], 0)
        .unwrap();
    assert!(matches!(
        s.policy.verify_checkpoint(&forged),
        Err(CheckpointError::NotSignedByLog(_))
    ));
    let elsewhere = Checkpoint {
        origin: "other.org/log".into(),
        size: 1,
        root: [0; 32],
        extensions: vec![],
    }
    .sign(&[&s.log], 0)
    .unwrap();
    let e = s.policy.verify_checkpoint(&elsewhere).unwrap_err();
    assert!(matches!(e, CheckpointError::UnknownLog { .. }), "{e}");
    assert!(e.to_string().contains("example.org/log"));
}

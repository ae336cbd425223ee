//! Helpers for tests that run the real `dfft` binary.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::merkle::{self, Hash};
use dfft_core::note::{KeyName, SignerKey, VerifierKey};
use dfft_core::statement::dsse::Envelope;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ORIGIN: &str = "test.dfft.example/log";

/// A running `dfft serve`.
pub struct Registry {
    pub child: Child,
    pub base: String,
    pub log_key: VerifierKey,
    pub dir: PathBuf,
}

impl Registry {
    /// Starts `dfft serve` on a free loopback port and waits until it listens.
    pub fn start(dir: &Path, extra: &[&str]) -> Registry {
        let mut args = vec!["serve", "--origin", ORIGIN];
        args.extend_from_slice(extra);
        Self::start_cmd(dir, &args)
    }

    /// Starts `dfft <args> --listen 127.0.0.1:0 --data DIR`.
    pub fn start_cmd(dir: &Path, args: &[&str]) -> Registry {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfft"));
        cmd.args(args)
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn dfft serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("DFFT_TEST_VERBOSE").is_some() {
                    eprintln!("[server] {line}");
                }
                let _ = tx.send(line);
            }
        });
        let mut base = None;
        let mut vkey = None;
        while base.is_none() {
            let line = match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("server did not start: {:?}", child.wait());
                }
            };
            if let Some(v) = line.strip_prefix("log vkey:") {
                vkey = Some(VerifierKey::parse(v.trim()).expect("log vkey"));
            }
            if let Some(a) = line
                .strip_prefix("listening on ")
                .or_else(|| line.strip_prefix("demo: listening on "))
            {
                base = Some(a.trim().to_string());
            }
        }
        Registry {
            child,
            base: base.unwrap(),
            log_key: vkey.expect("vkey printed"),
            dir: dir.to_path_buf(),
        }
    }

    /// Kills the server with SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn governance(&self) -> SignerKey {
        SignerKey::parse(
            std::fs::read_to_string(self.dir.join("governance.key"))
                .unwrap()
                .trim(),
        )
        .unwrap()
    }

    pub fn post(&self, bytes: &[u8]) -> (u16, Value) {
        post(&self.base, bytes)
    }

    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        get(&self.base, path)
    }

    pub fn get_json(&self, path: &str) -> (u16, Value) {
        let (s, b) = self.get(path);
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    pub fn checkpoint(&self) -> SignedCheckpoint {
        let (s, b) = self.get("/checkpoint");
        assert_eq!(s, 200);
        let cp = SignedCheckpoint::parse(&b).expect("checkpoint parses");
        cp.verify(&self.log_key, &[], 0)
            .expect("checkpoint verifies");
        cp
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the `dfft` binary with `args` and without the environment's
/// `DFFT_LOG`, `DFFT_LOG_KEY` and `DFFT_WITNESS_POLICY` (a test says what
/// it means in flags): (exit code, stdout, stderr).
pub fn dfft(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dfft"))
        .args(args)
        .env_remove("DFFT_LOG")
        .env_remove("DFFT_LOG_KEY")
        .env_remove("DFFT_WITNESS_POLICY")
        .output()
        .expect("run dfft");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

pub fn post(base: &str, bytes: &[u8]) -> (u16, Value) {
    post_with(base, bytes, "application/json")
}

pub fn post_with(base: &str, bytes: &[u8], content_type: &str) -> (u16, Value) {
    match agent()
        .post(&format!("{base}/v1/entries"))
        .set("Content-Type", content_type)
        .send_bytes(bytes)
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST failed: {e}"),
    }
}

pub fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    let r = match agent().get(&format!("{base}{path}")).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path} failed: {e}"),
    };
    let s = r.status();
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut v).unwrap();
    (s, v)
}

/// Sends the head of a POST with a JSON body of `content_length` bytes, but
/// not the body, and returns what the server answers first: a body refused
/// from its headers is answered before it is read (a client that kept
/// writing would see a reset, which is why these checks use a raw socket).
pub fn headers_only_post(base: &str, path: &str, content_length: usize) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

pub fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

pub fn sign(statement: Value, keys: &[&SignerKey]) -> Vec<u8> {
    let bytes = serde_json::to_vec(&statement).unwrap();
    Envelope::sign(bytes, keys).unwrap().canonical_bytes()
}

pub fn enroll(gov: &SignerKey, id: &str, keys: &[&SignerKey], competence: &[&str]) -> Vec<u8> {
    enroll_in(ORIGIN, gov, id, keys, competence)
}

/// An enrolment for the log `origin`.
#[allow(dead_code)]
pub fn enroll_in(
    origin: &str,
    gov: &SignerKey,
    id: &str,
    keys: &[&SignerKey],
    competence: &[&str],
) -> Vec<u8> {
    sign(
        json!({"kind": "authority", "action": "enroll", "authority": id, "name": format!("Authority {id}"),
               "log": origin, "competence": competence, "keys": keys.iter().map(|k| k.verifier().to_string()).collect::<Vec<_>>(),
               "issued_at": "2026-01-01T00:00:00Z"}),
        &[gov],
    )
}

pub fn recognition_json(
    authority: &str,
    record: &str,
    action: &str,
    from: &str,
    to: &str,
    effective: &str,
) -> Value {
    json!({"kind": "recognition", "authority": authority, "record": record, "action": action,
           "mechanism": "adequacy", "from": from, "to": to,
           "legal_reference": {"id": "CELEX:32019D0419", "title": "Test decision"},
           "effective": effective, "issued_at": "2026-01-01T00:00:00Z"})
}

pub fn recognition(
    key: &SignerKey,
    record: &str,
    action: &str,
    from: &str,
    to: &str,
    effective: &str,
) -> Vec<u8> {
    sign(
        recognition_json(key.name(), record, action, from, to, effective),
        &[key],
    )
}

pub fn b64_hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect()
}

/// Checks a receipt: its checkpoint is signed by the log, and its inclusion
/// proof and its tlog-proof prove `entry` at its index.
pub fn check_receipt(reg: &Registry, r: &Value, entry: &[u8]) -> (u64, SignedCheckpoint) {
    let index = r["index"].as_u64().expect("index");
    let cp = SignedCheckpoint::parse(r["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    cp.verify(&reg.log_key, &[], 0).unwrap();
    let proof = b64_hashes(&r["inclusion_proof"]);
    let leaf = merkle::leaf_hash(entry);
    assert_eq!(
        r["leaf_hash"].as_str().unwrap(),
        dfft_core::hex::encode(&leaf)
    );
    merkle::verify_inclusion(
        index,
        cp.checkpoint.size,
        &leaf,
        &proof,
        &cp.checkpoint.root,
    )
    .unwrap();
    let tp = dfft_core::tlog_proof::TlogProof::parse(r["tlog_proof"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(tp.verify_with_extra(&reg.log_key, &[], 0).unwrap(), entry);
    assert_eq!(tp.index, index);
    (index, cp)
}

/// The statements in the log of `reg`'s latest checkpoint: its size less
/// the registry-appended index entries (one per batch, the last leaf of
/// each; followed back from the checkpoint's last leaf through `previous`).
pub fn statements(reg: &Registry) -> u64 {
    let size = reg.checkpoint().checkpoint.size;
    let mut index_entries = 0;
    let mut at = size.checked_sub(1);
    while let Some(i) = at {
        let (s, e) = reg.get_json(&format!("/v1/entries/{i}"));
        assert_eq!(s, 200, "{e}");
        assert_eq!(e["statement"]["kind"], "index", "entry {i}: {e}");
        index_entries += 1;
        at = e["statement"]["previous"].as_u64();
    }
    size - index_entries
}

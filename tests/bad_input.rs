//! Bad input: malformed and unauthorised requests each get the right status,
//! a JSON error with a useful message, and change nothing.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The tree (size and root) as the checkpoint shows it.
fn tree(reg: &Registry) -> (u64, [u8; 32]) {
    let cp = reg.checkpoint();
    (cp.checkpoint.size, cp.checkpoint.root)
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    content_type: &'static str,
    status: u16,
    error: &'static str,
    message: &'static str,
}

fn case(
    name: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
    error: &'static str,
    message: &'static str,
) -> Case {
    Case {
        name,
        body: body.into(),
        content_type: "application/json",
        status,
        error,
        message,
    }
}

fn envelope_with(payload: &[u8], keyid: &str, sig: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b = &base64::engine::general_purpose::STANDARD;
    serde_json::to_vec(&json!({
        "payload": b.encode(payload), "payloadType": "application/vnd.dfft.statement.v1+json",
        "signatures": [{"keyid": keyid, "sig": b.encode(sig)}]
    }))
    .unwrap()
}

/// Adds the group order L to the S half of an Ed25519 signature: the same
/// signature in a non-canonical encoding, which strict verification refuses.
fn malleate(sig: &[u8; 64]) -> [u8; 64] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = *sig;
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(out[32 + i]) + u16::from(L[i]) + carry;
        out[32 + i] = s as u8;
        carry = s >> 8;
    }
    out
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &["--body-timeout", "1", "--max-body", "100000"]);
    let gov = reg.governance();
    let ec = key("eu.ec", 31);
    let bfdi = key("de.bfdi", 32);
    let retired = key("xx.old", 33);
    let stranger = key("eu.ec", 34);
    for env in [
        enroll(&gov, "eu.ec", &[&ec], &["EU", "EEA"]),
        enroll(&gov, "de.bfdi", &[&bfdi], &["DE"]),
        enroll(&gov, "xx.old", &[&retired], &["FR"]),
        sign(
            json!({"kind": "authority", "action": "retire", "authority": "xx.old", "log": ORIGIN, "supersedes": 6, "issued_at": "2026-01-01T00:00:00Z"}),
            &[&gov],
        ),
        recognition(
            &ec,
            "eu.ec/adequacy/jp",
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        ),
    ] {
        let (s, r) = reg.post(&env);
        assert_eq!(s, 201, "{r}");
    }
    let good = recognition(
        &ec,
        "eu.ec/adequacy/kr",
        "granted",
        "EEA",
        "KR",
        "2021-12-17",
    );
    let good_v: Value = serde_json::from_slice(&good).unwrap();
    let payload = serde_json::to_vec(&recognition_json(
        "eu.ec",
        "eu.ec/adequacy/kr",
        "granted",
        "EEA",
        "KR",
        "2021-12-17",
    ))
    .unwrap();
    let pae = dfft_core::statement::dsse::pae("application/vnd.dfft.statement.v1+json", &payload);
    let sig = ec.sign(&pae).unwrap();
    let with_field = |f: &str, v: Value| {
        let mut s = recognition_json(
            "eu.ec",
            "eu.ec/adequacy/x",
            "granted",
            "EEA",
            "JP",
            "2019-01-23",
        );
        s[f] = v;
        sign(s, &[&ec])
    };
    let mut bad_b64 = good_v.clone();
    bad_b64["payload"] = json!("%%%not base64");
    let mut bad_sig_b64 = good_v.clone();
    bad_sig_b64["signatures"][0]["sig"] = json!("AAAA*");
    let mut short_sig = good_v.clone();
    short_sig["signatures"][0]["sig"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        [0u8; 63]
    ));
    let mut extra = good_v.clone();
    extra["extra"] = json!(1);
    let mut wrong_type = good_v.clone();
    wrong_type["payloadType"] = json!("application/json");
    let mut no_sigs = good_v.clone();
    no_sigs["signatures"] = json!([]);
    let mut payload_num = good_v.clone();
    payload_num["payload"] = json!(5);
    let mut forged = sig;
    forged[10] ^= 1;
    let huge_scope = "x".repeat(70_000);

    let cases = vec![
        case(
            "truncated JSON",
            &good[..good.len() / 2],
            400,
            "malformed",
            "JSON",
        ),
        case("not JSON at all", "hello", 400, "malformed", ""),
        case("JSON array", "[]", 400, "malformed", ""),
        case("empty body", "", 400, "malformed", ""),
        case(
            "payload of the wrong type",
            serde_json::to_vec(&payload_num).unwrap(),
            400,
            "malformed",
            "",
        ),
        case(
            "bad base64 payload",
            serde_json::to_vec(&bad_b64).unwrap(),
            400,
            "malformed",
            "base64",
        ),
        case(
            "bad base64 signature",
            serde_json::to_vec(&bad_sig_b64).unwrap(),
            400,
            "malformed",
            "base64",
        ),
        case(
            "signature of 63 bytes",
            serde_json::to_vec(&short_sig).unwrap(),
            400,
            "malformed",
            "64",
        ),
        case(
            "unknown envelope field",
            serde_json::to_vec(&extra).unwrap(),
            400,
            "malformed",
            "extra",
        ),
        case(
            "wrong payloadType",
            serde_json::to_vec(&wrong_type).unwrap(),
            400,
            "malformed",
            "payloadType",
        ),
        case(
            "no signatures",
            serde_json::to_vec(&no_sigs).unwrap(),
            400,
            "malformed",
            "signature",
        ),
        case(
            "payload not JSON",
            envelope_with(
                b"not json",
                &ec.verifier().keyid(),
                &ec.sign(&dfft_core::statement::dsse::pae(
                    "application/vnd.dfft.statement.v1+json",
                    b"not json",
                ))
                .unwrap(),
            ),
            400,
            "malformed",
            "",
        ),
        case(
            "unknown statement field",
            with_field("colour", json!("blue")),
            400,
            "malformed",
            "colour",
        ),
        case(
            "reserved kind index",
            sign(
                json!({"kind": "index", "issued_at": "2026-01-01T00:00:00Z"}),
                &[&ec],
            ),
            400,
            "malformed",
            "index",
        ),
        case(
            "invalid date",
            with_field("effective", json!("2019-02-30")),
            400,
            "malformed",
            "2019-02-30",
        ),
        case(
            "invalid jurisdiction",
            with_field("to", json!("J1")),
            400,
            "malformed",
            "J1",
        ),
        case(
            "unknown action",
            with_field("action", json!("blessed")),
            400,
            "malformed",
            "blessed",
        ),
        case(
            "invalid record id",
            with_field("record", json!("UPPER")),
            400,
            "malformed",
            "UPPER",
        ),
        case(
            "bad legal reference",
            with_field("legal_reference", json!({"id": "nope", "title": "t"})),
            400,
            "malformed",
            "nope",
        ),
        case(
            "forged signature",
            envelope_with(&payload, &ec.verifier().keyid(), &forged),
            403,
            "unauthorized",
            "does not verify",
        ),
        case(
            "non-canonical signature (S + L)",
            envelope_with(&payload, &ec.verifier().keyid(), &malleate(&sig)),
            403,
            "unauthorized",
            "does not verify",
        ),
        case(
            "unknown key",
            recognition(
                &stranger,
                "eu.ec/adequacy/y",
                "granted",
                "EEA",
                "JP",
                "2019-01-23",
            ),
            403,
            "unauthorized",
            "eu.ec",
        ),
        case(
            "right key, wrong authority",
            sign(
                recognition_json("de.bfdi", "de.bfdi/x", "granted", "DE", "JP", "2019-01-23"),
                &[&ec],
            ),
            403,
            "unauthorized",
            "de.bfdi",
        ),
        case(
            "authority statement signed by an authority",
            enroll(&ec, "zz.new", &[&key("zz.new", 36)], &["DE"]),
            403,
            "unauthorized",
            "governance",
        ),
        case(
            "unenrolled authority (its key is unknown to the log: refused before parsing)",
            sign(
                recognition_json("fr.cnil", "fr.cnil/x", "granted", "FR", "JP", "2019-01-23"),
                &[&key("fr.cnil", 35)],
            ),
            403,
            "unauthorized",
            "not a key of this log",
        ),
        case(
            "backdated grant from GB by an EU authority, in force for ever",
            recognition(
                &ec,
                "eu.ec/gb-backdated",
                "granted",
                "GB",
                "US",
                "2020-12-31",
            ),
            422,
            "rule_violated",
            "only until 2020-12-31",
        ),
        case(
            "a new record under another authority's prefix",
            recognition(&ec, "de.bfdi/x", "granted", "EEA", "JP", "2019-01-23"),
            422,
            "rule_violated",
            "must begin with the granting authority's id",
        ),
        case(
            "issued far in the future",
            sign(
                {
                    let mut v = recognition_json(
                        "eu.ec",
                        "eu.ec/future",
                        "granted",
                        "EEA",
                        "JP",
                        "2019-01-23",
                    );
                    v["issued_at"] = json!("2999-01-01T00:00:00Z");
                    v
                },
                &[&ec],
            ),
            422,
            "rule_violated",
            "ahead of the registry's clock",
        ),
        case(
            "authority statement without log (v1 form)",
            sign(
                json!({"kind": "authority", "action": "enroll", "authority": "it.gpdp", "name": "Garante",
                       "competence": ["IT"], "keys": [key("it.gpdp", 36).verifier().to_string()],
                       "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            422,
            "rule_violated",
            "must carry `log`",
        ),
        case(
            "authority statement for another log",
            sign(
                json!({"kind": "authority", "action": "enroll", "authority": "it.gpdp", "name": "Garante",
                       "log": "other.example/log", "competence": ["IT"],
                       "keys": [key("it.gpdp", 36).verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            422,
            "rule_violated",
            "not this log",
        ),
        case(
            "update without supersedes",
            sign(
                json!({"kind": "authority", "action": "update", "authority": "de.bfdi", "name": "BfDI", "log": ORIGIN,
                       "competence": ["DE"], "keys": [bfdi.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            422,
            "rule_violated",
            "must carry `supersedes`",
        ),
        case(
            "stale update (supersedes an older state)",
            sign(
                json!({"kind": "authority", "action": "update", "authority": "de.bfdi", "name": "BfDI", "log": ORIGIN,
                       "supersedes": 1, "competence": ["DE"], "keys": [bfdi.verifier().to_string()],
                       "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            422,
            "rule_violated",
            "current state was set at index 4",
        ),
        case(
            "too many keys",
            sign(
                json!({"kind": "authority", "action": "enroll", "authority": "it.gpdp", "name": "Garante", "log": ORIGIN,
                       "competence": ["IT"],
                       "keys": (0..17u8).map(|i| key("it.gpdp", 100 + i).verifier().to_string()).collect::<Vec<_>>(),
                       "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            400,
            "malformed",
            "at most 16",
        ),
        case(
            "retired authority",
            recognition(&retired, "xx.old/x", "granted", "FR", "JP", "2019-01-23"),
            422,
            "rule_violated",
            "retired",
        ),
        case(
            "not competent for from",
            recognition(&bfdi, "de.bfdi/x", "granted", "FR", "JP", "2019-01-23"),
            422,
            "rule_violated",
            "not competent",
        ),
        case(
            "first event not granted",
            recognition(
                &ec,
                "eu.ec/adequacy/new",
                "amended",
                "EEA",
                "JP",
                "2019-01-23",
            ),
            422,
            "rule_violated",
            "granted",
        ),
        case(
            "granted twice",
            recognition(
                &ec,
                "eu.ec/adequacy/jp",
                "granted",
                "EEA",
                "JP",
                "2019-01-24",
            ),
            422,
            "rule_violated",
            "granted",
        ),
        case(
            "later event changes to",
            recognition(
                &ec,
                "eu.ec/adequacy/jp",
                "amended",
                "EEA",
                "KR",
                "2020-01-01",
            ),
            422,
            "rule_violated",
            "repeat",
        ),
        case(
            "later event before grant",
            recognition(
                &ec,
                "eu.ec/adequacy/jp",
                "suspended",
                "EEA",
                "JP",
                "2018-01-01",
            ),
            422,
            "rule_violated",
            "before",
        ),
        case(
            "enrol an existing id",
            enroll(&gov, "eu.ec", &[&ec], &["EU"]),
            422,
            "rule_violated",
            "already enrolled",
        ),
        case(
            "second genesis",
            sign(
                json!({"kind": "genesis", "origin": ORIGIN, "governance": {"keys": [gov.verifier().to_string()], "threshold": 1}, "issued_at": "2026-01-01T00:00:00Z"}),
                &[&gov],
            ),
            422,
            "rule_violated",
            "genesis",
        ),
        case(
            "entry over 65,535 bytes",
            with_field("scope", json!(huge_scope)),
            413,
            "too_large",
            "65535",
        ),
        Case {
            name: "wrong content type",
            body: good.clone(),
            content_type: "text/plain",
            status: 415,
            error: "unsupported_media_type",
            message: "application/json",
        },
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let before = tree(&reg);
    for c in &cases {
        let (s, v) = post_with(&reg.base, &c.body, c.content_type);
        assert_eq!(s, c.status, "{}: {v}", c.name);
        assert_eq!(v["error"], c.error, "{}: {v}", c.name);
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty() && msg.contains(c.message),
            "{}: message {msg:?} should mention {:?}",
            c.name,
            c.message
        );
        assert_eq!(tree(&reg), before, "{} changed the tree", c.name);
    }

    // Missing content type.
    let r = agent()
        .post(&format!("{}/v1/entries", reg.base))
        .send_bytes(&good);
    assert!(matches!(r, Err(ureq::Error::Status(415, _))));

    // A body over the limit is refused from its Content-Length, before it
    // is read.
    let text = headers_only_post(&reg.base, "/v1/entries", 100_001);
    assert!(text.starts_with("HTTP/1.1 413"), "oversized body: {text}");
    assert!(
        text.contains("\"too_large\"") && text.contains("limit"),
        "{text}"
    );
    let addr = reg.base.trim_start_matches("http://").to_string();
    let mut buf = vec![0u8; 4096];
    // Without a Content-Length (chunked), the limit applies while reading.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    let chunk = vec![b' '; 50_000];
    for _ in 0..3 {
        if write!(s, "{:x}\r\n", chunk.len())
            .and_then(|_| s.write_all(&chunk))
            .and_then(|_| write!(s, "\r\n"))
            .is_err()
        {
            break;
        }
    }
    let n = s.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.starts_with("HTTP/1.1 413"),
        "oversized chunked body: {text}"
    );
    assert_eq!(tree(&reg), before);

    // A slow body: headers promise 200 bytes, 10 arrive; the server gives up.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"payload\"").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "slow body: {text}");
    assert!(text.contains("\"timeout\""), "{text}");

    // Bad query parameters on the read API.
    assert_eq!(reg.get("/v1/entries/abc").0, 400);
    assert_eq!(reg.get("/v1/entries/999999").0, 404);
    assert_eq!(reg.get("/v1/proof/inclusion?index=99999").0, 404);
    assert_eq!(reg.get("/v1/proof/inclusion?index=x").0, 400);
    assert_eq!(reg.get("/v1/proof/consistency?from=0&to=3").0, 400);
    assert_eq!(reg.get("/v1/route?from=DE").0, 400);
    assert_eq!(reg.get("/v1/route?from=DE&to=US&at=2024-13-01").0, 400);
    assert_eq!(reg.get("/nope").0, 404);
    assert_eq!(tree(&reg), before);

    // A replay is not an error: same index, 200, nothing appended.
    let (s, r1) = reg.post(&good);
    assert_eq!(s, 201);
    let after = tree(&reg);
    let (s, r2) = reg.post(&good);
    assert_eq!(s, 200);
    assert_eq!(r1["index"], r2["index"]);
    assert_eq!(tree(&reg), after);
}

/// Sends `METHOD target` on a raw socket (so the target reaches the server
/// byte for byte) and returns the status, the headers (lowercased) and the
/// body.
fn raw(base: &str, method: &str, target: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (status, head, buf[split + 4..].to_vec())
}

/// Every error, also those axum would answer in plain text (path and query
/// extractors, unknown paths, wrong methods), is the documented JSON.
#[test]
fn every_error_is_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(dir.path(), &[]);
    let cases: &[(&str, &str, u16, &str)] = &[
        // Path segments that are not percent-encoded UTF-8.
        ("GET", "/v1/entries/%FF", 400, "malformed"),
        ("GET", "/v1/entries/%C3%28", 400, "malformed"),
        ("GET", "/v1/records/%FF%FE", 400, "malformed"),
        ("GET", "/v1/records/eu.ec/%FF", 400, "malformed"),
        ("GET", "/tile/%FF/000", 400, "malformed"),
        ("GET", "/tile/entries/%80", 400, "malformed"),
        // Paths the routes do not take.
        ("GET", "/v1/records/", 404, "not_found"),
        ("GET", "/v1/entries/", 404, "not_found"),
        ("GET", "/tile/", 404, "not_found"),
        ("GET", "/tile/x/y", 404, "not_found"),
        ("GET", "/v1/records/no/such/record", 404, "not_found"),
        ("GET", "/nope", 404, "not_found"),
        // Query strings with bad or odd percent-encoding.
        (
            "GET",
            "/v1/proof/inclusion?index=%FF&size=1",
            400,
            "malformed",
        ),
        ("GET", "/v1/proof/inclusion?index=%ZZ", 400, "malformed"),
        ("GET", "/v1/proof/consistency?from=%&to=1", 400, "malformed"),
        (
            "GET",
            "/v1/route?from=%FF&to=US&at=2024-01-01",
            400,
            "malformed",
        ),
        ("GET", "/v1/matrix?at=%E2%80%AE2024-01-01", 400, "malformed"),
        // Methods a route does not serve.
        ("POST", "/checkpoint", 405, "method_not_allowed"),
        ("DELETE", "/v1/entries", 405, "method_not_allowed"),
        ("GET", "/v1/entries", 405, "method_not_allowed"),
        ("PUT", "/v1/entries/0", 405, "method_not_allowed"),
        ("POST", "/tile/0/000", 405, "method_not_allowed"),
        ("PATCH", "/v1/records/eu.ec/x", 405, "method_not_allowed"),
        ("POST", "/v1/info", 405, "method_not_allowed"),
    ];
    for (method, target, status, code) in cases {
        let (s, head, body) = raw(&reg.base, method, target);
        let what = format!("{method} {target}: {}", String::from_utf8_lossy(&body));
        assert_eq!(s, *status, "{what}");
        assert!(
            head.contains("content-type: application/json"),
            "{what}\n{head}"
        );
        let v: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{what}: {e}"));
        let obj = v.as_object().unwrap_or_else(|| panic!("{what}"));
        // A record the log does not hold: also the checkpoint and the map's
        // proof of absence (docs/index.md).
        let absent = target.starts_with("/v1/records/") && *status == 404 && obj.len() == 4;
        if absent {
            assert!(
                v["checkpoint"].is_string() && v["completeness"]["keys"].is_array(),
                "{what}"
            );
        } else {
            assert_eq!(obj.len(), 2, "only error and message: {what}");
        }
        assert_eq!(v["error"], *code, "{what}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        if *status == 405 {
            assert!(
                head.contains("\r\nallow: "),
                "405 says what is allowed: {head}"
            );
        }
    }
    let (_, head, _) = raw(&reg.base, "DELETE", "/v1/entries");
    assert!(head.contains("allow: post"), "{head}");
    let (_, head, _) = raw(&reg.base, "POST", "/checkpoint");
    assert!(head.contains("allow: get,head"), "{head}");
    // The right method on the same paths still works.
    assert_eq!(raw(&reg.base, "GET", "/checkpoint").0, 200);
    assert_eq!(raw(&reg.base, "GET", "/v1/entries/0").0, 200);
}

#[test]
fn governance_threshold_and_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let g1 = key("gov.one", 41);
    let g2 = key("gov.two", 42);
    let (p1, p2) = (dir.path().join("g1.key"), dir.path().join("g2.key"));
    std::fs::write(&p1, g1.to_private_string()).unwrap();
    std::fs::write(&p2, g2.to_private_string()).unwrap();
    let data = dir.path().join("data");
    let reg = Registry::start(
        &data,
        &[
            "--governance-key",
            p1.to_str().unwrap(),
            "--governance-key",
            p2.to_str().unwrap(),
            "--governance-threshold",
            "2",
            "--rate-per-signer",
            "1",
            "--rate-burst",
            "3",
        ],
    );
    let (s, v) = reg.get_json("/v1/info");
    assert_eq!(s, 200);
    assert_eq!(v["governance"]["threshold"], 2);
    let a = key("eu.ec", 43);
    let st = json!({"kind": "authority", "action": "enroll", "authority": "eu.ec", "name": "EC", "competence": ["EU"],
                    "log": ORIGIN, "keys": [a.verifier().to_string()], "issued_at": "2026-01-01T00:00:00Z"});
    let before = reg.checkpoint().checkpoint;
    let (s, v) = reg.post(&sign(st.clone(), &[&g1]));
    assert_eq!(s, 403, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("threshold is 2"),
        "{v}"
    );
    assert_eq!(reg.checkpoint().checkpoint, before);
    let (s, v) = reg.post(&sign(st, &[&g1, &g2]));
    assert_eq!(s, 201, "{v}");

    // Rate limit: burst of 3 for this signer, then 429 with Retry-After.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let env = recognition(
            &a,
            &format!("eu.ec/r{i}"),
            "granted",
            "EU",
            "JP",
            "2019-01-23",
        );
        let r = agent()
            .post(&format!("{}/v1/entries", reg.base))
            .set("Content-Type", "application/json")
            .send_bytes(&env);
        match r {
            Ok(r) => statuses.push(r.status()),
            Err(ureq::Error::Status(s, r)) => {
                if s == 429 {
                    assert!(r.header("Retry-After").is_some());
                }
                statuses.push(s)
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(&statuses[..3], &[201, 201, 201]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
}

#[test]
fn overload_gets_503_with_retry_after_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = std::sync::Arc::new(Registry::start(
        dir.path(),
        &[
            "--max-pending",
            "1",
            "--batch-max",
            "1",
            "--batch-delay-ms",
            "0",
        ],
    ));
    let a = key("eu.ec", 71);
    let (s, _) = reg.post(&enroll(&reg.governance(), "eu.ec", &[&a], &["EEA"]));
    assert_eq!(s, 201);
    let before = statements(&reg);
    let threads: Vec<_> = (0..48)
        .map(|i| {
            let (reg, a) = (reg.clone(), a.clone());
            std::thread::spawn(move || {
                let env = recognition(
                    &a,
                    &format!("eu.ec/load/{i}"),
                    "granted",
                    "EEA",
                    "JP",
                    "2019-01-23",
                );
                let r = agent()
                    .post(&format!("{}/v1/entries", reg.base))
                    .set("Content-Type", "application/json")
                    .send_bytes(&env);
                match r {
                    Ok(r) => (r.status(), None),
                    Err(ureq::Error::Status(s, r)) => {
                        (s, r.header("Retry-After").map(str::to_string))
                    }
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let results: Vec<(u16, Option<String>)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();
    let created = results.iter().filter(|r| r.0 == 201).count() as u64;
    let overloaded: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(created + overloaded.len() as u64, 48, "{results:?}");
    assert!(
        !overloaded.is_empty(),
        "48 concurrent submissions into a queue of one: some must be turned away"
    );
    assert!(
        overloaded.iter().all(|r| r.1.as_deref() == Some("1")),
        "{overloaded:?}"
    );
    // Exactly the acknowledged entries were appended.
    assert_eq!(statements(&reg), before + created);
}

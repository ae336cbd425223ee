//! Connections and resource limits, against the real binary: slow-header
//! and idle sockets are closed after their timeouts while new clients are
//! served; a flood of idle connections under a 1,024-descriptor limit
//! leaves writes working; a client that never reads its answers is
//! disconnected after the write timeout; request bodies beyond the memory
//! bound get 503 with Retry-After.

mod common;

use common::*;
use dfft_core::note::VerifierKey;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts `dfft serve` through `sh -c 'ulimit <ulimit>; exec dfft ...'`
/// and returns the registry and the cap it printed.
fn start_limited(dir: &Path, ulimit: &str, extra: &[&str]) -> (Registry, String) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_dfft"))
        .args([
            "serve",
            "--origin",
            ORIGIN,
            "--listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(dir)
        .args(extra)
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
    let (mut base, mut vkey, mut conns) = (None, None, None);
    while base.is_none() {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("server did not start: {:?}", child.wait());
        };
        if let Some(v) = line.strip_prefix("log vkey:") {
            vkey = Some(VerifierKey::parse(v.trim()).expect("log vkey"));
        }
        if let Some(c) = line.strip_prefix("connections:") {
            conns = Some(c.trim().to_string());
        }
        if let Some(a) = line.strip_prefix("listening on ") {
            base = Some(a.trim().to_string());
        }
    }
    let reg = Registry {
        child,
        base: base.expect("address"),
        log_key: vkey.expect("vkey printed"),
        dir: dir.to_path_buf(),
    };
    (reg, conns.expect("connection cap printed"))
}

fn addr(reg: &Registry) -> String {
    reg.base.trim_start_matches("http://").to_string()
}

/// The value of one metric line, e.g. `dfft_connections_closed_total{reason="idle"}`.
fn metric(reg: &Registry, name: &str) -> u64 {
    let (s, b) = reg.get("/metrics");
    assert_eq!(s, 200);
    let text = String::from_utf8(b).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
}

/// Whether the server closed `s`: reads what is there without blocking.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

/// Reads one whole answer (head and `Content-Length` body) from `s`.
fn read_answer(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("answer");
        assert!(n > 0, "closed before the answer");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("content-length");
            if got.len() >= end + 4 + len {
                return text;
            }
        }
    }
}

fn healthz_ok(reg: &Registry) {
    let (s, b) = reg.get("/healthz");
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
}

#[test]
fn slow_header_and_idle_sockets_are_closed_while_new_clients_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(
        dir.path(),
        &["--header-timeout", "1", "--idle-timeout", "2"],
    );
    let a = addr(&reg);
    let t0 = Instant::now();
    // Silent: connect and send nothing. Kept alive: one request answered,
    // then nothing. Slow header: a byte of a header every 100 ms. Each
    // with the time its timeout's clock started (at the latest).
    let silent = (0..40).map(|_| (TcpStream::connect(&a).unwrap(), Instant::now()));
    let kept = (0..40).map(|_| {
        let mut s = TcpStream::connect(&a).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let text = read_answer(&mut s);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        (s, Instant::now())
    });
    let slow = (0..40).map(|_| {
        let mut s = TcpStream::connect(&a).unwrap();
        s.write_all(b"GET /checkpoint HTTP/1.1\r\nX-Slow: ")
            .unwrap();
        (s, Instant::now())
    });
    let mut groups: Vec<Vec<(TcpStream, Instant)>> =
        vec![silent.collect(), kept.collect(), slow.collect()];
    for (s, _) in groups.iter().flatten() {
        s.set_nonblocking(true).unwrap();
    }
    let mut closed_after = [vec![None; 40], vec![None; 40], vec![None; 40]];
    let mut served = 0;
    while closed_after.iter().flatten().any(Option::is_none)
        && t0.elapsed() < Duration::from_secs(10)
    {
        for (g, group) in groups.iter_mut().enumerate() {
            for (i, (s, since)) in group.iter_mut().enumerate() {
                if closed_after[g][i].is_some() {
                    continue;
                }
                if g == 2 && s.write(b"a").is_err() || closed(s) {
                    closed_after[g][i] = Some(since.elapsed());
                }
            }
        }
        // A new client is served meanwhile, each round.
        healthz_ok(&reg);
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let worst = |g: usize| {
        closed_after[g]
            .iter()
            .map(|d| d.expect("closed in time"))
            .max()
            .unwrap()
    };
    let first = |g: usize| {
        closed_after[g]
            .iter()
            .map(|d| d.expect("closed in time"))
            .min()
            .unwrap()
    };
    // Slow headers: closed one header timeout after their first byte,
    // although bytes keep coming; idle sockets: after the idle timeout.
    assert!(
        first(2) >= Duration::from_millis(900),
        "slow header closed early: {:?}",
        first(2)
    );
    // (hyper's own header timer, the second line, would take 3 s.)
    assert!(
        worst(2) < Duration::from_millis(2500),
        "slow header closed late: {:?}",
        worst(2)
    );
    for g in [0, 1] {
        assert!(
            first(g) >= Duration::from_millis(1900),
            "idle group {g} closed early: {:?}",
            first(g)
        );
        assert!(
            worst(g) < Duration::from_secs(5),
            "idle group {g} closed late: {:?}",
            worst(g)
        );
    }
    eprintln!(
        "closed after: silent {:?}..{:?}, kept-alive {:?}..{:?}, slow header {:?}..{:?}; {served} new clients served meanwhile",
        first(0), worst(0), first(1), worst(1), first(2), worst(2)
    );
    assert!(served >= 10, "only {served} new clients served");
    assert!(
        metric(
            &reg,
            "dfft_connections_closed_total{reason=\"header_timeout\"}"
        ) >= 40
    );
    assert!(metric(&reg, "dfft_connections_closed_total{reason=\"idle\"}") >= 80);
    assert_eq!(
        metric(&reg, "dfft_connections_closed_total{reason=\"evicted\"}"),
        0
    );
}

#[test]
fn a_connection_flood_under_1024_descriptors_leaves_writes_working() {
    let dir = tempfile::tempdir().unwrap();
    // Both limits at 1024: nothing to raise.
    let (reg, conns) = start_limited(
        dir.path(),
        "-n 1024",
        &["--idle-timeout", "120", "--header-timeout", "120"],
    );
    let cap = 1024 - 512 - 64;
    assert!(conns.starts_with(&format!("at most {cap} ")), "{conns}");
    assert!(conns.contains("descriptor limit 1024"), "{conns}");
    let gov = reg.governance();
    let a = addr(&reg);
    let pid = reg.child.id();
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };

    let enroll_ok = |n: usize| {
        let k = key(&format!("xx.a{n}"), n as u8);
        let env = enroll(&gov, &format!("xx.a{n}"), &[&k], &["JP"]);
        let (s, r) = reg.post(&env);
        assert_eq!(s, 201, "write {n}: {r}");
        check_receipt(&reg, &r, &env);
    };
    enroll_ok(1);

    // 1,100 idle connections, more than the descriptors left to clients.
    let mut flood = Vec::new();
    for i in 0..1100 {
        flood.push(TcpStream::connect(&a).unwrap_or_else(|e| panic!("connection {i}: {e}")));
        if i % 100 == 99 {
            // Writes and health checks keep working during the flood.
            enroll_ok(2 + i / 100);
            healthz_ok(&reg);
        }
    }
    let during = fds();
    eprintln!("{during} descriptors open in the server during the flood");
    assert!(
        during + 512 <= 1024,
        "{during} descriptors open: the store's reserve of 512 is gone"
    );
    for n in 20..25 {
        enroll_ok(n);
    }
    healthz_ok(&reg);
    assert!(metric(&reg, "dfft_connections_open") <= cap as u64);
    // The oldest idle connections made room for the newcomers.
    let evicted = metric(&reg, "dfft_connections_closed_total{reason=\"evicted\"}");
    assert!(evicted >= 1100 - cap as u64, "only {evicted} evicted");
    assert_eq!(metric(&reg, "dfft_accept_errors_total"), 0);

    // And after it.
    drop(flood);
    for n in 30..35 {
        enroll_ok(n);
    }
    healthz_ok(&reg);
    // Statements; each batch also ended with its index entry.
    assert_eq!(statements(&reg), 1 + 1 + 11 + 5 + 5);
}

#[test]
fn a_client_that_never_reads_is_disconnected_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(
        dir.path(),
        &[
            "--write-timeout",
            "1",
            "--idle-timeout",
            "30",
            "--header-timeout",
            "30",
        ],
    );
    // Thousands of pipelined requests for the metrics page (a few KiB
    // each): far more answer than the socket buffers hold, never read.
    let (s, one) = reg.get("/metrics");
    assert_eq!(s, 200);
    let n = 5000;
    let mut sock = TcpStream::connect(addr(&reg)).unwrap();
    let mut writer = sock.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let t0 = Instant::now();
    let w = std::thread::spawn(move || {
        let req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n);
        // Fails (reset) once the server gives up on the connection.
        writer.write_all(&req).is_err()
    });
    while metric(
        &reg,
        "dfft_connections_closed_total{reason=\"write_timeout\"}",
    ) == 0
    {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "not closed after the write timeout"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = t0.elapsed();
    eprintln!("a client that does not read closed {after:?} after its first request");
    assert!(
        after >= Duration::from_secs(1),
        "closed before the write timeout: {after:?}"
    );
    // The socket is closed: reading it ends, far short of every answer.
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    assert!(
        got < n * one.len(),
        "read {got} bytes: every answer was sent"
    );
    let _ = w.join();
    healthz_ok(&reg);
}

/// POSTs `body` to `/v1/entries`: status, Retry-After and the JSON answer.
fn post_full(base: &str, body: &[u8]) -> (u16, Option<String>, serde_json::Value) {
    let r = match agent()
        .post(&format!("{base}/v1/entries"))
        .set("Content-Type", "application/json")
        .send_bytes(body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST failed: {e}"),
    };
    let retry = r.header("Retry-After").map(str::to_string);
    (r.status(), retry, r.into_json().unwrap_or_default())
}

#[test]
fn request_bodies_beyond_the_memory_bound_get_503() {
    let dir = tempfile::tempdir().unwrap();
    // Only the soft limit lowered: the server raises it to the hard one.
    let (reg, conns) = start_limited(
        dir.path(),
        "-S -n 1024",
        &["--max-body-memory", "4096", "--body-timeout", "30"],
    );
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
    if let Some(hard) = hard {
        assert!(
            conns.contains(&format!("descriptor limit {hard}, raised from 1024")),
            "{conns}"
        );
    }
    // A body that declares 4,000 bytes and sends 10 holds most of the bound.
    let mut held = TcpStream::connect(addr(&reg)).unwrap();
    write!(held, "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"payload\"").unwrap();
    // Let it take its share before anything else asks (a submission read
    // first would leave too little for it, and it would get the 503).
    std::thread::sleep(Duration::from_millis(300));
    let gov = reg.governance();
    let k = key("xx.mem", 7);
    let env = enroll(&gov, "xx.mem", &[&k], &["JP"]);
    assert!(env.len() > 96, "the enrolment fits beside the held body");
    let t0 = Instant::now();
    loop {
        let (s, retry, v) = post_full(&reg.base, &env);
        if s == 503 {
            assert_eq!(v["error"], "overloaded", "{v}");
            assert_eq!(retry.as_deref(), Some("1"));
            break;
        }
        // Only if the held body has not taken its share yet.
        assert!(s == 201 || s == 200, "{s}: {v}");
        assert!(t0.elapsed() < Duration::from_secs(10), "never refused");
        std::thread::sleep(Duration::from_millis(50));
    }
    let size = reg.checkpoint().checkpoint.size;
    // Small bodies that fit still pass.
    let (s, _, v) = post_full(&reg.base, b"{}");
    assert_eq!((s, v["error"].as_str()), (400, Some("malformed")), "{v}");
    // Once the held body is gone, the bound is free again.
    drop(held);
    let t0 = Instant::now();
    let s = loop {
        let (s, _, v) = post_full(&reg.base, &env);
        if s != 503 {
            assert!(s == 201 || s == 200, "{s}: {v}");
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the bound was not released"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    if s == 201 {
        // The entry and its batch's index entry.
        assert_eq!(reg.checkpoint().checkpoint.size, size + 2);
    }
    assert!(metric(&reg, "dfft_submissions_total{outcome=\"overloaded\"}") >= 1);
}

#[test]
fn shutdown_finishes_requests_in_progress_and_drops_half_read_heads() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::start(
        dir.path(),
        &["--header-timeout", "30", "--body-timeout", "30"],
    );
    let a = addr(&reg);
    let gov = reg.governance();
    let k = key("xx.stop", 9);
    let env = enroll(&gov, "xx.stop", &[&k], &["JP"]);
    // A submission whose body is half sent, a half-sent head, a silent
    // connection.
    let mut posting = TcpStream::connect(&a).unwrap();
    posting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(posting, "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", env.len()).unwrap();
    let (first, rest) = env.split_at(env.len() / 2);
    posting.write_all(first).unwrap();
    let mut slow = TcpStream::connect(&a).unwrap();
    slow.write_all(b"GET /checkpoint HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    let mut silent = TcpStream::connect(&a).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let pid = reg.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The head and the silent connection are closed at once, not after
    // the 30 s header timeout.
    for s in [&mut slow, &mut silent] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    }
    // The submission in progress is answered and logged.
    std::thread::sleep(Duration::from_millis(200));
    posting.write_all(rest).unwrap();
    let answer = read_answer(&mut posting);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = reg.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    // It was durable: a restart has it.
    let reg = Registry::start(dir.path(), &[]);
    assert_eq!(statements(&reg), 2);
}

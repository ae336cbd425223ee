//! The `dfft` server under test, as a child process on loopback: start it
//! (`serve` or `demo`) and learn its address, wait until it answers, read
//! its tree size and memory, stop it. Leaves out what is measured on it.

use crate::http::Conn;
use anyhow::{bail, Context as _};
use serde_json::Value;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
}

pub fn start_server(dfft: &Path, data: &Path, demo: bool) -> anyhow::Result<(Server, Duration)> {
    let cmd = if demo { "demo" } else { "serve" };
    start_with(dfft, data, &[cmd])
}

/// Starts `dfft ARGS --listen 127.0.0.1:0 --data DATA` (ARGS starting with
/// `serve` or `demo`).
pub fn start_with(dfft: &Path, data: &Path, args: &[&str]) -> anyhow::Result<(Server, Duration)> {
    let t = Instant::now();
    let mut cmd = Command::new(dfft);
    cmd.args(args)
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data);
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning dfft")?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    let base = loop {
        let Some(Ok(line)) = lines.next() else {
            bail!("dfft exited before listening")
        };
        if let Some(a) = line
            .strip_prefix("listening on ")
            .or_else(|| line.strip_prefix("demo: listening on "))
        {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let addr = base.trim_start_matches("http://").to_string();
    Ok((Server { child, addr }, t.elapsed()))
}

impl Server {
    pub fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }
    /// RSS, with its anonymous part (the server's own memory) and its
    /// file-backed part (mapped files, page cache) in parentheses.
    pub fn rss(&self) -> String {
        format!(
            "{:.1} MiB (anonymous {:.1}, file-backed {:.1})",
            self.status_kib("VmRSS:") as f64 / 1024.0,
            self.status_kib("RssAnon:") as f64 / 1024.0,
            self.status_kib("RssFile:") as f64 / 1024.0
        )
    }
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub async fn size_of(addr: &str) -> anyhow::Result<u64> {
    let mut c = Conn::open(addr).await?;
    let (_, b) = c.request("GET", "/v1/info", None).await?;
    let v: Value = serde_json::from_slice(&b)?;
    v["tree_size"].as_u64().context("tree_size")
}

pub async fn wait_ready(addr: &str) -> anyhow::Result<()> {
    for _ in 0..2000 {
        if let Ok(mut c) = Conn::open(addr).await {
            if let Ok((200, _)) = c.request("GET", "/healthz", None).await {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("server not ready")
}

/// Starts `dfft witness --listen 127.0.0.1:0 --name NAME --data DIR
/// --log-list LIST [EXTRA]` and returns it with its address (host:port)
/// once it listens.
pub fn start_witness(
    dfft: &Path,
    dir: &Path,
    name: &str,
    list: &Path,
    extra: &[&str],
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(dfft)
        .arg("witness")
        .args(extra)
        .args(["--listen", "127.0.0.1:0", "--name", name, "--data"])
        .arg(dir)
        .arg("--log-list")
        .arg(list)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawning dfft witness")?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            bail!("dfft witness exited before listening")
        };
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok((child, addr))
}

//! Prometheus metrics: submissions by outcome, batch sizes, sequencing
//! latency. Plain atomics; rendered in the text exposition format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A histogram with fixed upper bounds.
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
    /// Records one observation.
    pub fn observe(&self, v: f64) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            if v <= *b {
                c.fetch_add(1, Relaxed);
            }
        }
        self.sum_micros.fetch_add((v * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }
    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(Relaxed));
        }
        let n = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

/// Outcomes of a submission.
pub const OUTCOMES: &[&str] = &[
    "created",
    "duplicate",
    "malformed",
    "unauthorized",
    "rejected",
    "too_large",
    "rate_limited",
    "overloaded",
    "insufficient_storage",
    "log_stopped",
    "awaiting_witnesses",
    "error",
];

/// Kinds of failed commits, as `dfft_store::ErrorKind` names them.
pub const STORE_ERRORS: &[&str] = &["no_space", "corruption", "transient"];

/// All metrics of one server.
pub struct Metrics {
    submissions: Vec<AtomicU64>,
    /// Entries per committed batch.
    pub batch_size: Histogram,
    /// Seconds from a submission entering the queue to its commit.
    pub sequencing_seconds: Histogram,
    /// Seconds per synced batch write.
    pub commit_seconds: Histogram,
    store_errors: Vec<AtomicU64>,
    /// 1 once the sequencer stopped signing for good (see `Health::Fatal`).
    pub fatal: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            submissions: OUTCOMES.iter().map(|_| AtomicU64::new(0)).collect(),
            batch_size: Histogram::new(&[
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
            ]),
            sequencing_seconds: Histogram::new(&[
                0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
            ]),
            commit_seconds: Histogram::new(&[0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]),
            store_errors: STORE_ERRORS.iter().map(|_| AtomicU64::new(0)).collect(),
            fatal: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts a submission outcome (one of [`OUTCOMES`]).
    pub fn submission(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.submissions[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts a failed commit by kind (one of [`STORE_ERRORS`]).
    pub fn store_error(&self, kind: &str) {
        if let Some(i) = STORE_ERRORS.iter().position(|o| *o == kind) {
            self.store_errors[i].fetch_add(1, Relaxed);
        }
    }

    /// Renders the exposition text; `size` is the current tree size.
    pub fn render(&self, size: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP dfft_submissions_total Submissions by outcome.\n# TYPE dfft_submissions_total counter");
        for (o, c) in OUTCOMES.iter().zip(&self.submissions) {
            let _ = writeln!(
                out,
                "dfft_submissions_total{{outcome=\"{o}\"}} {}",
                c.load(Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP dfft_commit_failures_total Batches whose commit failed, by cause.\n# TYPE dfft_commit_failures_total counter");
        for (k, c) in STORE_ERRORS.iter().zip(&self.store_errors) {
            let _ = writeln!(
                out,
                "dfft_commit_failures_total{{kind=\"{k}\"}} {}",
                c.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dfft_sequencer_fatal 1 once the sequencer stopped signing for good.\n# TYPE dfft_sequencer_fatal gauge\ndfft_sequencer_fatal {}",
            self.fatal.load(Relaxed)
        );
        let _ = writeln!(out, "# HELP dfft_tree_size Entries in the log.\n# TYPE dfft_tree_size gauge\ndfft_tree_size {size}");
        self.batch_size.render(
            "dfft_batch_entries",
            "Entries per committed batch.",
            &mut out,
        );
        self.sequencing_seconds.render(
            "dfft_sequencing_seconds",
            "Time from queueing a submission to its durable commit.",
            &mut out,
        );
        self.commit_seconds.render(
            "dfft_commit_seconds",
            "Time of one synced batch write.",
            &mut out,
        );
        out
    }
}

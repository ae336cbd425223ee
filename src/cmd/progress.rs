//! Progress on standard error for long replays (`audit`, `monitor`,
//! `route --audit`, `record --audit`). Leaves the replay itself to
//! `dfft_client::Auditor`, which reports through its callback.

use dfft_client::Progress;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Progress on standard error for long replays: a bar on a terminal,
/// a line every few seconds otherwise.
pub(super) struct ProgressReport {
    label: &'static str,
    quiet: bool,
    tty: bool,
    started: Instant,
    last: Option<Instant>,
    drew: bool,
}

impl ProgressReport {
    pub(super) fn new(label: &'static str, quiet: bool) -> ProgressReport {
        ProgressReport {
            label,
            quiet,
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            drew: false,
        }
    }

    pub(super) fn update(&mut self, p: Progress) {
        if self.quiet {
            return;
        }
        let now = Instant::now();
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        let done = p.done >= p.total;
        // Short runs stay silent: only report after the first second.
        if now.duration_since(self.started) < Duration::from_secs(1) && !(done && self.drew) {
            return;
        }
        if !done && self.last.is_some_and(|l| now.duration_since(l) < every) {
            return;
        }
        self.last = Some(now);
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-9);
        let rate = p.done as f64 / secs;
        let pct = if p.total == 0 {
            100.0
        } else {
            100.0 * p.done as f64 / p.total as f64
        };
        let mut err = std::io::stderr().lock();
        if self.tty {
            let filled = (pct / 5.0) as usize;
            let bar: String = "#".repeat(filled) + &"-".repeat(20 - filled.min(20));
            let _ = write!(
                err,
                "\r{}: [{bar}] {pct:5.1}% {}/{} entries, {rate:.0}/s ",
                self.label, p.done, p.total
            );
            if done {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(
                err,
                "{}: {}/{} entries ({pct:.1}%), {rate:.0} entries/s",
                self.label, p.done, p.total
            );
        }
        self.drew = true;
    }
}

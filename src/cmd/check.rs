//! `dfft check --routes FILE.csv`: many route questions at once, for
//! compliance teams. Every row is asked, verified (signature, every proof,
//! completeness), proven consistent with the rows before it (one client
//! state across the batch), and written out as one CSV (or JSON) row: the
//! question, the verdict of the answer's summary (`allowed`, `conditions`,
//! `restricted`, `none_in_force`, `no_information`: `dfft_core::statement::
//! summary`), the records in force, the checkpoint it was
//! checked against, and the saved answer that `dfft route --answer`
//! re-verifies offline.
//!
//! Input: a header line naming the columns `from`, `to`, and optionally
//! `at` (YYYY-MM-DD; empty or absent: today), `mechanism` and `data` (a
//! data category: rules that do not apply to it are left out), in any order;
//! then one question per line; blank lines and lines starting with `#` are
//! skipped. Plain comma-separated values: codes and dates hold no commas or
//! quotes, so a quote is refused rather than guessed at. The whole file is
//! checked before anything is asked: a bad row is a usage error (exit 2)
//! naming its line, and nothing is written.
//!
//! `--counterparties FILE --from CODE` asks counterparty questions instead
//! (`super::check_parties`).

use super::{
    client, completeness, date_arg, finish, load_state, policy, read_input, save_state, usage,
    write_output, ClientArgs, TrustArgs,
};
use clap::Args;
use dfft_client::{ClientError, RouteQuery};
use dfft_core::statement::{DataCategory, Jurisdiction, Mechanism, Status};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Options of `dfft check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The questions: a CSV file with a header naming `from`, `to` and
    /// optionally `at`, `mechanism` and `data` (`-` reads standard input).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "counterparties",
        conflicts_with = "counterparties"
    )]
    pub routes: Option<PathBuf>,
    /// Counterparty questions instead (statements v2): a CSV file with a
    /// header naming `to` and `org` (the programme's id for the
    /// organisation) or `name` (found by the organisation search, which
    /// must give one organisation), and optionally `at` and `data` (`hr`,
    /// `non_hr`); every row from `--from`.
    #[arg(long, value_name = "FILE", requires = "from")]
    pub counterparties: Option<PathBuf>,
    /// Where data comes from, for `--counterparties` (DE, EEA).
    #[arg(long, value_name = "CODE")]
    pub from: Option<String>,
    /// Base URL of the registry, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", env = "DFFT_LOG")]
    pub log: String,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Save each verified answer in DIR (created if needed) as
    /// `<row>-<from>-<to>-<at>.json`; the output names the file.
    #[arg(long, value_name = "DIR")]
    pub answers: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Requests in flight at once.
pub(super) const WORKERS: usize = 4;
/// Rows asked before their answers are written and dropped.
pub(super) const WINDOW: usize = 512;

/// Asks and verifies every row of `rows` with [`WORKERS`] threads (`ask`
/// is one row's question); the answers in the rows' order (`None` for rows
/// not asked because one failed before them).
pub(super) fn ask_all<T: Sync, R: Send>(
    rows: &[T],
    ask: impl Fn(&T) -> Result<R, ClientError> + Sync,
) -> Vec<Option<Result<R, ClientError>>> {
    let next = AtomicUsize::new(0);
    let mut answers: Vec<Option<_>> = (0..rows.len()).map(|_| None).collect();
    let slots: Vec<Mutex<&mut Option<_>>> = answers.iter_mut().map(Mutex::new).collect();
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(rows.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(i) else { break };
                let r = ask(row);
                if r.is_err() {
                    // Stop asking: the batch fails at its first bad row.
                    next.store(rows.len(), Ordering::Relaxed);
                }
                if let Ok(mut slot) = slots[i].lock() {
                    **slot = Some(r);
                }
            });
        }
    });
    drop(slots);
    answers
}

/// One question of the file, and the line it came from.
struct Row {
    line: usize,
    q: RouteQuery,
}

/// A batch file read as plain comma-separated values: the header's columns
/// (lowercase) and each question line's fields, with its line number.
pub(super) struct Csv {
    cols: Vec<String>,
    pub(super) rows: Vec<(usize, Vec<String>)>,
}

impl Csv {
    /// Reads `text` (the `what` file: "routes", "counterparties"): blank
    /// and `#` lines skipped, a header naming only `known` columns, each
    /// once, then lines with as many fields; a quote is refused rather than
    /// guessed at (codes, ids and dates hold no commas). Errors name the
    /// line; nothing is asked before the whole file is read.
    pub(super) fn read(text: &str, what: &str, known: &[&str]) -> Result<Csv, ClientError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let (_, header) = lines.next().ok_or_else(|| {
            usage(format!(
                "the {what} file is empty: it needs a header line ({})",
                known.join(",")
            ))
        })?;
        let cols: Vec<String> = header
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        for c in &cols {
            if !known.contains(&c.as_str()) {
                return Err(usage(format!(
                    "{what} file: unknown column {c:?} in the header (known: {})",
                    known.join(", ")
                )));
            }
            if cols.iter().filter(|x| *x == c).count() > 1 {
                return Err(usage(format!("{what} file: column {c:?} appears twice")));
            }
        }
        let mut rows = Vec::new();
        for (line, l) in lines {
            let bad = |m: String| usage(format!("{what} file, line {line}: {m}"));
            if l.contains('"') {
                return Err(bad(
                    "quotes are not accepted: codes and dates hold no commas".into(),
                ));
            }
            let f: Vec<String> = l.split(',').map(|x| x.trim().to_owned()).collect();
            if f.len() != cols.len() {
                return Err(bad(format!(
                    "{} fields, the header has {}",
                    f.len(),
                    cols.len()
                )));
            }
            rows.push((line, f));
        }
        if rows.is_empty() {
            return Err(usage(format!(
                "the {what} file has a header but no questions"
            )));
        }
        Ok(Csv { cols, rows })
    }

    /// The position of column `name`, if the header names it.
    pub(super) fn col(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c == name)
    }
}

/// Parses the whole file (see the module docs).
fn parse(text: &str) -> Result<Vec<Row>, ClientError> {
    let csv = Csv::read(text, "routes", &["from", "to", "at", "mechanism", "data"])?;
    let col = |name: &str| csv.col(name);
    let (Some(from_i), Some(to_i)) = (col("from"), col("to")) else {
        return Err(usage(
            "routes file: the header must name the columns from and to",
        ));
    };
    let (at_i, mech_i, data_i) = (col("at"), col("mechanism"), col("data"));
    let mut rows = Vec::new();
    for (line, f) in &csv.rows {
        let line = *line;
        let bad = |m: String| usage(format!("routes file, line {line}: {m}"));
        let code = |i: usize, name: &str| {
            Jurisdiction::new(&f[i].to_ascii_uppercase()).map_err(|e| bad(format!("{name}: {e}")))
        };
        let at = match at_i.map(|i| f[i].as_str()).filter(|s| !s.is_empty()) {
            Some(s) => date_arg(Some(s)).map_err(|e| bad(e.to_string()))?,
            None => date_arg(None)?,
        };
        let mechanism = match mech_i.map(|i| f[i].as_str()).filter(|s| !s.is_empty()) {
            Some(m) => Some(Mechanism::new(m).map_err(|e| bad(format!("mechanism: {e}")))?),
            None => None,
        };
        let data = match data_i.map(|i| f[i].as_str()).filter(|s| !s.is_empty()) {
            Some(d) => Some(DataCategory::new(d).map_err(|e| bad(format!("data: {e}")))?),
            None => None,
        };
        rows.push(Row {
            line,
            q: RouteQuery {
                from: code(from_i, "from")?,
                to: code(to_i, "to")?,
                at,
                mechanism,
                data,
            },
        });
    }
    Ok(rows)
}

/// `dfft check`.
pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    finish("check", a.client.json, check_inner(&a))
}

fn check_inner(a: &CheckArgs) -> Result<ExitCode, ClientError> {
    if let Some(file) = &a.counterparties {
        return super::check_parties::run(a, file);
    }
    let Some(routes) = &a.routes else {
        return Err(usage("--routes FILE or --counterparties FILE is required"));
    };
    let text = String::from_utf8(read_input(routes)?)
        .map_err(|_| usage("the routes file is not UTF-8"))?;
    let rows = parse(&text)?;
    let policy = policy(&a.trust)?;
    let client = client(&a.log, a.client.timeout, policy.clone())?
        .with_completeness(completeness(a.client.accept_incomplete));
    let mut state = load_state(a.client.state.as_ref(), &policy)?;
    if let Some(d) = &a.answers {
        std::fs::create_dir_all(d).map_err(|e| usage(format!("creating {}: {e}", d.display())))?;
    }
    // Asked and verified by a few workers at once (each answer is checked
    // whole on its own), a window of rows at a time so that memory stays
    // bounded; then, in the file's order, each checkpoint is proven
    // consistent with the state and the row written.
    let mut out = Vec::with_capacity(rows.len());
    for (w, window) in rows.chunks(WINDOW).enumerate() {
        let answers = ask_all(window, |row: &Row| client.route(&row.q));
        for (k, (row, answer)) in window.iter().zip(answers).enumerate() {
            let n = w * WINDOW + k;
            // Every row is verified; a row that does not verify stops the
            // batch (a lying or broken registry), naming the row.
            let Some(answer) = answer else { break };
            let (answer, verified) = answer.inspect_err(|_| {
                eprintln!(
                    "check: line {}: {} -> {} on {} did not verify",
                    row.line, row.q.from, row.q.to, row.q.at
                )
            })?;
            client.observe(&mut state, &verified.checkpoint)?;

            let in_force: Vec<&str> = verified
                .records
                .iter()
                .filter(|(_, s)| *s == Status::InForce)
                .map(|(h, _)| h.record.as_str())
                .collect();
            let verdict = verified.summary.verdict.as_str();
            let file = match &a.answers {
                Some(d) => {
                    let name =
                        format!("{:04}-{}-{}-{}.json", n + 1, row.q.from, row.q.to, row.q.at)
                            .replace([':', '/'], "_");
                    let mut bytes =
                        serde_json::to_vec_pretty(&answer).map_err(|e| usage(e.to_string()))?;
                    bytes.push(b'\n');
                    write_output(&d.join(&name), &bytes)?;
                    Some(d.join(name).display().to_string())
                }
                None => None,
            };
            out.push(json!({
                "line": row.line,
                "from": row.q.from, "to": row.q.to, "at": row.q.at, "mechanism": row.q.mechanism, "data": row.q.data,
                "verdict": verdict,
                "in_force": in_force,
                "records": verified.records.len(),
                "complete": answer.completeness.is_some(),
                "checkpoint_size": verified.checkpoint.checkpoint.size,
                "answer_file": file,
            }));
        }
        if rows.len() > WINDOW {
            eprintln!("check: {} of {} verified", out.len(), rows.len());
        }
    }
    save_state(a.client.state.as_ref(), &state)?;
    if a.client.json {
        super::print_json(&serde_json::Value::Array(out));
    } else {
        println!("line,from,to,at,mechanism,data,verdict,in_force,records,complete,checkpoint_size,answer_file");
        for r in &out {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let in_force: Vec<&str> = r["in_force"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            println!(
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                r["line"],
                s("from"),
                s("to"),
                s("at"),
                s("mechanism"),
                s("data"),
                s("verdict"),
                in_force.join(";"),
                r["records"],
                r["complete"],
                r["checkpoint_size"],
                s("answer_file"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

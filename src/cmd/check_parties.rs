//! `dfft check --counterparties FILE.csv --from CODE` (statements v2): many
//! counterparty questions at once, for compliance teams. Every row is
//! resolved (an organisation named by `name` must be found, once, by the
//! organisation search) before anything is asked; then asked and verified
//! (both layers at one checkpoint, `dfft_core::counterparty`), each
//! checkpoint proven consistent with the rows before it, and written as one
//! CSV (or JSON) row: the question, the verdict and its reasons, the route
//! summary, the checkpoint size and the saved answer that `dfft
//! counterparty --answer` re-verifies offline.
//!
//! Input: a header naming `to` and `org` or `name`, optionally `at` and
//! `data` (`hr`, `non_hr`), in any order; plain comma-separated values (a
//! quote is refused); blank lines and `#` lines skipped. A bad file is a
//! usage error (exit 2) naming its line, and nothing is asked.

use super::check::{ask_all, CheckArgs, Csv, WINDOW};
use super::{client, date_arg, load_state, policy, read_input, save_state, usage};
use dfft_client::{ClientError, RouteMemo, RouteQuery};
use dfft_core::statement::{Jurisdiction, ListingData};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// One counterparty question of the file.
struct Row {
    line: usize,
    q: RouteQuery,
    org: Option<String>,
    name: Option<String>,
    data: Option<ListingData>,
}

fn parse(text: &str, from: &Jurisdiction) -> Result<Vec<Row>, ClientError> {
    let csv = Csv::read(text, "counterparties", &["org", "name", "to", "at", "data"])?;
    let col = |name: &str| csv.col(name);
    let (org_i, name_i) = (col("org"), col("name"));
    let Some(to_i) = col("to").filter(|_| org_i.is_some() || name_i.is_some()) else {
        return Err(usage(
            "counterparties file: the header must name the columns to and org (or name)",
        ));
    };
    let (at_i, data_i) = (col("at"), col("data"));
    let mut rows = Vec::new();
    for (line, f) in &csv.rows {
        let line = *line;
        let bad = |m: String| usage(format!("counterparties file, line {line}: {m}"));
        let get = |i: Option<usize>| i.map(|i| f[i].as_str()).filter(|s| !s.is_empty());
        let to = Jurisdiction::new(&f[to_i].to_ascii_uppercase())
            .map_err(|e| bad(format!("to: {e}")))?;
        let at = match get(at_i) {
            Some(s) => date_arg(Some(s)).map_err(|e| bad(e.to_string()))?,
            None => date_arg(None)?,
        };
        let data = match get(data_i) {
            Some(d) => Some(ListingData::new(d).map_err(|e| bad(format!("data: {e}")))?),
            None => None,
        };
        let (org, name) = (
            get(org_i).map(str::to_owned),
            get(name_i).map(str::to_owned),
        );
        if org.is_none() && name.is_none() {
            return Err(bad("neither org nor name is given".into()));
        }
        rows.push(Row {
            line,
            q: RouteQuery {
                from: from.clone(),
                to,
                at,
                mechanism: None,
                data: None,
            },
            org,
            name,
            data,
        });
    }
    Ok(rows)
}

/// Writes `bytes` to a temporary name beside `path` and renames it there,
/// without syncing (the caller syncs every file before it reports).
fn write_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Makes the answer files and their directory entries durable: on Linux
/// one `syncfs` of the directory's file system (it waits for every dirty
/// page and reports write errors), elsewhere every file and the directory.
fn sync_answers(dir: &Path, files: &[std::path::PathBuf]) -> Result<(), ClientError> {
    let err = |e: std::io::Error| usage(format!("syncing the answers in {}: {e}", dir.display()));
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        let d = std::fs::File::open(dir).map_err(err)?;
        rustix::fs::syncfs(&d).map_err(|e| err(e.into()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        for p in files {
            std::fs::File::open(p)
                .and_then(|f| f.sync_all())
                .map_err(err)?;
        }
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)
    }
}

/// The batch (see the module docs).
pub fn run(a: &CheckArgs, file: &Path) -> Result<ExitCode, ClientError> {
    let from = a
        .from
        .as_deref()
        .ok_or_else(|| usage("--from is required with --counterparties"))?;
    let from = Jurisdiction::new(from).map_err(|e| usage(format!("--from: {e}")))?;
    let text = String::from_utf8(read_input(file)?)
        .map_err(|_| usage("the counterparties file is not UTF-8"))?;
    let mut rows = parse(&text, &from)?;
    let policy = policy(&a.trust)?;
    let client = client(&a.log, a.client.timeout, policy.clone())?;
    let mut state = load_state(a.client.state.as_ref(), &policy)?;
    // Names first, all of them: a name that finds no organisation, or
    // several, stops the batch before anything is asked.
    for row in &mut rows {
        if row.org.is_none() {
            let name = row.name.clone().unwrap_or_default();
            let id = client
                .organisation_id(&name)
                .map_err(|e| usage(format!("counterparties file, line {}: {e}", row.line)))?;
            row.org = Some(id);
        }
    }
    if let Some(d) = &a.answers {
        std::fs::create_dir_all(d).map_err(|e| usage(format!("creating {}: {e}", d.display())))?;
    }
    // Rows on one route share its answer: a route part met again byte for
    // byte is verified once (the listings are verified for every row).
    let memo = RouteMemo::default();
    let mut out = Vec::with_capacity(rows.len());
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    for (w, window) in rows.chunks(WINDOW).enumerate() {
        let answers = ask_all(window, |r: &Row| {
            client.counterparty_with(&r.q, r.org.as_deref().unwrap_or(""), r.data, Some(&memo))
        });
        for (k, (row, answer)) in window.iter().zip(answers).enumerate() {
            let n = w * WINDOW + k;
            let Some(answer) = answer else { break };
            let org = row.org.as_deref().unwrap_or("");
            let (answer, verified) = answer.inspect_err(|_| {
                eprintln!(
                    "check: line {}: {} -> {org} in {} on {} did not verify",
                    row.line, row.q.from, row.q.to, row.q.at
                )
            })?;
            client.observe(&mut state, &verified.route.checkpoint)?;
            let file = match &a.answers {
                Some(d) => {
                    let name = format!(
                        "{:04}-{}-{org}-{}-{}.json",
                        n + 1,
                        row.q.from,
                        row.q.to,
                        row.q.at
                    )
                    .replace([':', '/'], "_");
                    // Compact: a batch writes many (pretty with `jq`).
                    let mut bytes =
                        serde_json::to_vec(&answer).map_err(|e| usage(e.to_string()))?;
                    bytes.push(b'\n');
                    let path = d.join(&name);
                    write_unsynced(&path, &bytes)
                        .map_err(|e| usage(format!("writing {}: {e}", path.display())))?;
                    let shown = path.display().to_string();
                    written.push(path);
                    Some(shown)
                }
                None => None,
            };
            let reasons: Vec<String> = verified
                .verdict
                .bases
                .iter()
                .map(|b| b.reason.clone())
                .collect();
            out.push(json!({
                "line": row.line, "from": row.q.from, "to": row.q.to, "at": row.q.at,
                "org": org, "name": row.name, "data": row.data,
                "verdict": verified.verdict.verdict,
                "reasons": reasons,
                "other_bases": verified.verdict.other_bases,
                "route_verdict": verified.route.summary.verdict,
                "checkpoint_size": verified.route.checkpoint.checkpoint.size,
                "answer_file": file,
            }));
        }
        if rows.len() > WINDOW {
            eprintln!("check: {} of {} verified", out.len(), rows.len());
        }
    }
    // Crash-safety order: every answer file written (to a temporary name,
    // then renamed), then each synced and the directory synced, and only
    // then the state saved and the rows printed: a batch that reports
    // success has every answer it names on disk. (One sync at the end,
    // not one per file as it is written.)
    if let Some(d) = &a.answers {
        sync_answers(d, &written)?;
    }
    save_state(a.client.state.as_ref(), &state)?;
    if a.client.json {
        super::print_json(&serde_json::Value::Array(out));
    } else {
        println!(
            "line,from,to,at,org,data,verdict,reasons,route_verdict,checkpoint_size,answer_file"
        );
        for r in &out {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let reasons: Vec<&str> = r["reasons"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            // Reasons are words: no commas in a CSV field.
            let reasons = reasons.join("; ").replace(',', "");
            println!(
                "{},{},{},{},{},{},{},{},{},{},{}",
                r["line"],
                s("from"),
                s("to"),
                s("at"),
                s("org"),
                s("data"),
                s("verdict"),
                reasons,
                s("route_verdict"),
                r["checkpoint_size"],
                s("answer_file"),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `dfft check --routes FILE.csv`: a batch of route questions against the
//! demo, each row verified and complete, with its verdict and a saved
//! answer that `dfft route --answer` re-verifies offline; a bad file is
//! refused whole, naming the line, before anything is asked or written.

mod common;

use common::*;

#[test]
fn a_batch_of_routes_is_verified_row_by_row_with_answers_to_keep() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let vkey = reg.log_key.to_string();
    let csv = dir.path().join("routes.csv");
    std::fs::write(
        &csv,
        "# questions of the compliance team\n\
         from,to,at,mechanism\n\
         DE,US,2014-01-01,\n\
         de,us,2016-01-01,adequacy\n\
         \n\
         BR,JP,2024-01-01,\n\
         GB,US,2024-01-01,data_bridge\n",
    )
    .unwrap();
    let answers = dir.path().join("answers");
    let (code, out, err) = dfft(&[
        "check",
        "--routes",
        csv.to_str().unwrap(),
        "--log",
        &reg.base,
        "--log-key",
        &vkey,
        "--answers",
        answers.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "line,from,to,at,mechanism,data,verdict,in_force,records,complete,checkpoint_size,answer_file"
    );
    assert_eq!(lines.len(), 5, "{out}");
    let field = |row: &str, i: usize| row.split(',').nth(i).unwrap().to_owned();
    // Safe Harbor in force in 2014; in 2016 it had been invalidated.
    assert_eq!(field(lines[1], 6), "allowed");
    assert!(field(lines[1], 7).contains("eu.ec/eu-adq-us-safeharbor-2000"));
    assert_eq!(
        (field(lines[2], 1), field(lines[2], 6)),
        ("DE".into(), "none_in_force".into())
    );
    assert_eq!(field(lines[2], 0), "4", "the file's own line number");
    assert_eq!(field(lines[3], 6), "no_information");
    assert_eq!(field(lines[4], 6), "allowed");
    assert_eq!(field(lines[4], 7), "gb.dsit/uk-adq-us-2023");
    for row in &lines[1..] {
        assert_eq!(field(row, 9), "true", "complete: {row}");
        let file = field(row, 11);
        let (code, out, err) = dfft(&["route", "--answer", &file, "--log-key", &vkey]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.contains("complete"), "{out}");
    }

    // JSON, from standard input is not needed: the same file as JSON.
    let (code, out, _) = dfft(&[
        "check",
        "--routes",
        csv.to_str().unwrap(),
        "--log",
        &reg.base,
        "--log-key",
        &vkey,
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert_eq!(v[3]["in_force"][0], "gb.dsit/uk-adq-us-2023");

    // Bad files: refused whole (exit 2), naming what and where; nothing asked.
    for (text, want) in [
        (
            "from,to,when\nDE,US,2020-01-01\n",
            "unknown column \"when\"",
        ),
        (
            "to,at\nUS,2020-01-01\n",
            "must name the columns from and to",
        ),
        ("from,to\nDE,US\nDE,XX-\n", "line 3"),
        ("from,to,at\nDE,US,2020-13-01\n", "line 2"),
        ("from,to\n\"DE\",US\n", "quotes are not accepted"),
        ("from,to\nDE\n", "1 fields, the header has 2"),
        ("# nothing\n", "empty"),
        ("from,to,mechanism\nDE,US,telepathy\n", "mechanism"),
    ] {
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, text).unwrap();
        let kept = dir.path().join("kept");
        let (code, out, err) = dfft(&[
            "check",
            "--routes",
            bad.to_str().unwrap(),
            "--log",
            &reg.base,
            "--log-key",
            &vkey,
            "--answers",
            kept.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{text:?}: {out}{err}");
        assert!(err.contains(want), "{text:?}: {err}");
        assert!(!kept.exists(), "{text:?}: nothing written");
    }
}

//! The status rule against its vectors as data
//! (`testdata/status/vectors.json`), the same file the explorer's
//! in-browser verifier is checked against (tests/js).

use dfft_core::statement::status::{status_on, StatusEvent};
use dfft_core::statement::{Action, Date};
use serde_json::Value;

#[test]
fn status_rule_matches_its_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/status/vectors.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for case in v["cases"].as_array().unwrap() {
        let desc = case["desc"].as_str().unwrap();
        let events: Vec<StatusEvent> = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| StatusEvent {
                index: e["index"].as_u64().unwrap(),
                action: serde_json::from_value::<Action>(e["action"].clone()).unwrap(),
                effective: Date::parse(e["effective"].as_str().unwrap()).unwrap(),
                expires: e
                    .get("expires")
                    .map(|x| x.as_str().map(|d| Date::parse(d).unwrap())),
            })
            .collect();
        for (day, want) in case["on"].as_object().unwrap() {
            let got = status_on(&events, Date::parse(day).unwrap());
            assert_eq!(got.map(|s| s.as_str()), want.as_str(), "{desc}: on {day}");
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} checks");
}

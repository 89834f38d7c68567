//! kube-scheduler's own filter tables, ported as data (tests/scheduler_cases/*.json): for each
//! case, the nodes, the pods already bound, the incoming pod and the nodes the scheduler lets
//! it onto. Each case is built into a snapshot through the same builders as a live read, and
//! ekas's verdict on every node must be the scheduler's.
//!
//! The files' shorthand is described in support/scheduler_shorthand.rs.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::scheduler_shorthand::verdicts;

#[test]
fn ekas_agrees_with_the_scheduler_on_its_own_filter_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scheduler_cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for file in &files {
        let table: Value = serde_json::from_slice(&std::fs::read(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let cases = table["cases"].as_array().unwrap();
        for case in cases {
            total += 1;
            let want: BTreeSet<String> = case["fits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            let (got, refusals) = verdicts(case);
            if got != want {
                failures.push(format!(
                    "{} / {}: scheduler fits {want:?}, ekas {got:?} ({refusals:?})",
                    file.file_name().unwrap().to_string_lossy(),
                    case["name"].as_str().unwrap_or("?"),
                ));
            }
        }
        eprintln!(
            "{}: {} cases",
            file.file_name().unwrap().to_string_lossy(),
            cases.len()
        );
    }
    eprintln!("{total} cases in all");
    assert!(
        failures.is_empty(),
        "{} of {total} cases disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 150, "only {total} cases");
}

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

/// The table files, each its own test (named for its file), and the list of them the
/// directory is checked against: a new file without its test fails
/// `every_table_file_is_run`.
macro_rules! tables {
    ($($name:ident: $file:literal),+ $(,)?) => {
        cases! { agrees_with_the_scheduler; $($name: $file),+ }

        const TABLE_FILES: &[&str] = &[$($file),+];
    };
}

tables! {
    inter_pod_affinity: "inter_pod_affinity.json",
    node_affinity: "node_affinity.json",
    node_ports: "node_ports.json",
    pod_topology_spread: "pod_topology_spread.json",
    taint_toleration: "taint_toleration.json",
    volume_binding: "volume_binding.json",
    volume_zone: "volume_zone.json",
}

fn tables_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scheduler_cases")
}

fn cases_of(file: &str) -> Vec<Value> {
    let path = tables_dir().join(file);
    let table: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    table["cases"].as_array().unwrap().clone()
}

/// ekas agrees with the scheduler on every case of one of its own filter tables; a failure
/// names each case that disagrees.
fn agrees_with_the_scheduler(file: &str) {
    let cases = cases_of(file);
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut failures = Vec::new();
    for case in &cases {
        let want: BTreeSet<String> = case["fits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        let (got, refusals) = verdicts(case);
        if got != want {
            failures.push(format!(
                "{file} / {}: scheduler fits {want:?}, ekas {got:?} ({refusals:?})",
                case["name"].as_str().unwrap_or("?"),
            ));
        }
    }
    eprintln!("{file}: {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_table_file_is_run() {
    let mut files: Vec<String> = std::fs::read_dir(tables_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files, TABLE_FILES,
        "a table file without its test in tables!"
    );
    let total: usize = TABLE_FILES.iter().map(|f| cases_of(f).len()).sum();
    assert!(total >= 150, "only {total} cases");
}

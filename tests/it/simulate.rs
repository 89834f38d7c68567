//! `ekas simulate` through the binary: the bundled example, its outputs, and bad input.

use serde_json::Value;

use crate::support::*;

fn week() -> String {
    repo_root()
        .join("examples/trace-batch-week.csv")
        .display()
        .to_string()
}

#[test]
fn the_example_week_replays_the_same_way_twice() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("week.svg");
    let cluster = example().display().to_string();
    let args = [
        "simulate",
        "--trace",
        &week(),
        "--cluster",
        &cluster,
        "--compare",
        "policy=ekas,original",
        "--output",
        "json",
        "--chart",
        chart.to_str().unwrap(),
    ];
    let first = ekas(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = ekas(&args);
    assert_eq!(stdout(&first), stdout(&second), "byte-identical JSON");

    let doc: Value = serde_json::from_str(&stdout(&first)).unwrap();
    let configs = doc["configurations"].as_array().unwrap();
    assert_eq!(configs.len(), 2);
    assert_eq!(configs[0]["label"], "policy=ekas");
    assert_eq!(configs[1]["label"], "policy=original");
    for c in configs {
        assert_eq!(c["jobs"], doc["trace"]["jobs"]);
        assert_eq!(c["jobsFinished"], c["jobs"], "{c}");
        assert_eq!(c["violations"].as_array().unwrap().len(), 0, "{c}");
        assert!(c["nodeHours"].as_f64().unwrap() > c["idleNodeHours"].as_f64().unwrap());
        assert_eq!(
            c["groups"].as_array().unwrap().len(),
            4,
            "the other cluster's group is not managed"
        );
    }
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for text in ["pending pods", "batch-prod-cpu-usw2", "policy=original"] {
        assert!(svg.contains(text), "the chart lacks {text:?}");
    }
}

#[test]
fn table_output_names_each_configuration() {
    let cluster = example().display().to_string();
    let out = ekas(&[
        "simulate",
        "--trace",
        &week(),
        "--cluster",
        &cluster,
        "--compare",
        "idle-threshold=10m,55m",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for row in [
        "idle-threshold=10m",
        "idle-threshold=55m",
        "WAIT P95",
        "NODE-HOURS",
        "× BOUND",
        "wait p95 by class: cpu",
    ] {
        assert!(text.contains(row), "{row} missing from\n{text}");
    }
}

/// The trace a bad-input case replays.
enum Trace {
    /// A file of this text.
    Written(&'static str),
    /// The example week.
    Week,
    /// A file that does not exist.
    Missing,
}

// Bad input is named and fails: (trace, more options, what ekas says).
cases! { names_the_bad_input;
    a_class_the_cluster_lacks: (
        Trace::Written("submit,duration,class\n0,10m,tpu\n"),
        &[],
        "no class \"tpu\"",
    ),
    a_memory_that_is_no_quantity: (
        Trace::Written("submit,duration,memory\n0,10m,lots\n"),
        &[],
        "\"lots\"",
    ),
    a_misspelt_option_to_set: (
        Trace::Week,
        &["--set", "idle-treshold=10m"],
        "no option --idle-treshold",
    ),
    a_comparison_without_values: (Trace::Week, &["--compare", "idle-threshold"], "FLAG=VALUE"),
    a_missing_trace_file: (Trace::Missing, &[], "cannot read trace file"),
}

fn names_the_bad_input((trace, extra, expected): (Trace, &[&str], &str)) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = example().display().to_string();
    let trace = match trace {
        Trace::Written(text) => {
            let path = dir.path().join("trace.csv");
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        }
        Trace::Week => week(),
        Trace::Missing => dir.path().join("none.csv").display().to_string(),
    };
    let mut args = vec!["simulate", "--trace", &trace, "--cluster", &cluster];
    args.extend(extra.iter().copied());
    let out = ekas(&args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = stderr(&out);
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

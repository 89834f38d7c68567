//! Planning cost on generated clusters: 5,000 nodes in 200 single-zone groups over two regions
//! and six zones, with 1k / 10k / 100k pending pods from 40 job templates.
//!
//! `cargo bench --bench plan` prints, per size: the engine alone (best and median of several
//! runs, one thread); then the same with 10% of the pods (4 of the 40 templates) carrying
//! constraints between pods — zone spread, hostname anti-affinity, zone affinity to a service,
//! hostname spread; for the largest size, ten gangs of 64 pods that cannot start (each costs the
//! planner one more round); for the largest size, ten ProvisioningRequests of 64 pods (five
//! best-effort-atomic, five check-capacity: their pods join the snapshot for the planning, as
//! `ekas plan` and the loop do it); and for the largest size the whole `ekas plan --snapshot … --output
//! json` path (read + parse + build + plan + render) against `python3 -c json.load` on the same
//! file.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use ekas::decode::{self, DecodeOptions};
use ekas::document::SnapshotDocument;
use ekas::source::file;

#[path = "support/cluster.rs"]
mod cluster;

use cluster::cluster;

/// Five pods on every node.
const RUNNING: usize = 25_000;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Best and median of `runs` timings of `f`, in milliseconds.
fn best_and_median<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    let mut times: Vec<Duration> = (0..runs).map(|_| timed(|| black_box(f())).1).collect();
    times.sort();
    (
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
    )
}

fn main() {
    // `cargo test --benches` runs this binary too; keep that a smoke run.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("EKAS_BENCH_QUICK").is_some();
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    // The defaults, as `ekas plan` with no options uses them.
    let config = ekas::engine::Config::default();
    let build_options = DecodeOptions::default();
    let runs = [(false, sizes), (true, &sizes[sizes.len() - 1..])];
    for (constrained, sizes) in runs {
        for &pending in sizes {
            let doc: SnapshotDocument =
                serde_json::from_value(cluster(RUNNING, pending, constrained)).unwrap();
            let snapshot = decode::snapshot(&doc, &build_options).unwrap();
            drop(doc);
            let runs = if pending >= 100_000 { 5 } else { 10 };
            let (best, median) = best_and_median(runs, || ekas::engine::plan(&snapshot, &config));
            let plan = ekas::engine::plan(&snapshot, &config);
            println!(
                "engine::plan  {pending:>7} pending pods{}, {} nodes, {} groups: best {:>8.1} ms, median {:>8.1} ms  ({} new nodes, {} unschedulable)",
                if constrained {
                    " (10% constrained)"
                } else {
                    ""
                },
                snapshot.nodes.len(),
                snapshot.groups.len(),
                best,
                median,
                plan.summary.new_nodes,
                plan.summary.unschedulable,
            );
        }
    }

    let largest = *sizes.last().unwrap();
    let gangs = 10;
    let doc: SnapshotDocument =
        serde_json::from_value(with_stuck_gangs(cluster(RUNNING, largest, false), gangs)).unwrap();
    let snapshot = decode::snapshot(&doc, &build_options).unwrap();
    drop(doc);
    let runs = 5;
    let (best, median) = best_and_median(runs, || ekas::engine::plan(&snapshot, &config));
    let plan = ekas::engine::plan(&snapshot, &config);
    println!(
        "engine::plan  {largest:>7} pending pods, {} of {gangs} gangs of 64 cannot start: best {:>8.1} ms, median {:>8.1} ms",
        plan.gangs
            .iter()
            .filter(|g| g.verdict == ekas::plan::GangVerdict::DoesNotFit)
            .count(),
        best,
        median,
    );

    let requests = 10;
    let doc: SnapshotDocument =
        serde_json::from_value(with_requests(cluster(RUNNING, largest, false), requests)).unwrap();
    let mut snapshot = decode::snapshot(&doc, &build_options).unwrap();
    drop(doc);
    // As `ekas plan` and the loop plan: the lent pods join the snapshot, no copy.
    let (best, median) =
        best_and_median(runs, || ekas::engine::plan_in_place(&mut snapshot, &config));
    let plan = ekas::engine::plan_in_place(&mut snapshot, &config);
    println!(
        "engine::plan_in_place {largest:>7} pending pods and {} ProvisioningRequests of 64 pods: best {:>8.1} ms, median {:>8.1} ms",
        plan.provisioning_requests.len(),
        best,
        median,
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&cluster(RUNNING, largest, false)).unwrap(),
    )
    .unwrap();
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    let ((), whole) = timed(|| {
        let doc = file::read(&path).unwrap();
        let snapshot = decode::snapshot(&doc, &build_options).unwrap();
        let plan = ekas::engine::plan(&snapshot, &config);
        let mut sink = std::io::sink();
        ekas::output::json::write_plan(&plan, &mut sink).unwrap();
        sink.flush().unwrap();
    });
    println!(
        "ekas plan --snapshot ({size_mb:.0} MB, {largest} pending pods) --output json: {:.2} s",
        whole.as_secs_f64()
    );
    let (status, python) = timed(|| {
        std::process::Command::new("python3")
            .args(["-c", "import json, sys; json.load(open(sys.argv[1]))"])
            .arg(&path)
            .status()
    });
    match status {
        Ok(s) if s.success() => println!(
            "python3 json.load of the same file:            {:.2} s",
            python.as_secs_f64()
        ),
        _ => println!("python3 json.load: not available"),
    }
}

/// Adds `requests` ProvisioningRequests of 64 pods of one core each, alternately
/// best-effort-atomic and check-capacity.
fn with_requests(mut doc: Value, requests: usize) -> Value {
    let templates: Vec<Value> = (0..requests)
        .map(|r| {
            json!({"metadata": {"name": format!("req-{r}"), "namespace": "batch"},
                "template": {"spec": {"containers": [{"name": "main",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}})
        })
        .collect();
    let items: Vec<Value> = (0..requests)
        .map(|r| {
            let class = if r % 2 == 0 {
                "best-effort-atomic-scale-up.autoscaling.x-k8s.io"
            } else {
                "check-capacity.autoscaling.x-k8s.io"
            };
            json!({"metadata": {"name": format!("req-{r}"), "namespace": "batch"},
                "spec": {"provisioningClassName": class,
                    "podSets": [{"podTemplateRef": {"name": format!("req-{r}")}, "count": 64}]}})
        })
        .collect();
    doc["kubernetes"]["podTemplates"] = json!({"items": templates});
    doc["kubernetes"]["provisioningRequests"] = json!({"items": items});
    doc
}

/// Puts the first `gangs` × 64 pending pods in gangs of 64, each with one pod no node can hold,
/// so no gang can start.
fn with_stuck_gangs(mut doc: Value, gangs: usize) -> Value {
    let items = doc["kubernetes"]["pods"]["items"].as_array_mut().unwrap();
    let pending: Vec<usize> = (0..items.len())
        .filter(|&i| items[i]["spec"]["nodeName"].is_null())
        .take(gangs * 64)
        .collect();
    for (k, &i) in pending.iter().enumerate() {
        let pod = &mut items[i];
        pod["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] =
            json!(format!("gang-{}", k / 64));
        if k % 64 == 0 {
            pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("1000");
        }
    }
    doc
}

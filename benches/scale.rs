//! Memory and time of `ekas plan --snapshot` at scale: 1k / 10k / 50k / 150k pods (a fifth of
//! them running, spread over the nodes; the rest pending, from 40 job templates) on 5,000 nodes
//! in 200 groups.
//!
//! `cargo bench --bench scale` writes each snapshot to a temporary file and runs the real
//! `ekas` binary on it, once per size (`--output json` to /dev/null), reporting the file's size,
//! the wall time and the child's peak resident set size (from `wait4`).
//!
//! Then, per size, the loop's side: a fake API server (tests/it/support/fake_kube.rs, in a
//! child process) holds the pods and nodes; `ekas run`'s watch caches fill from it in this
//! process, which reports its resident set size once they are ready, and the time of the work
//! a pass does around the AWS reads: the Kubernetes half from the caches, the snapshot built,
//! the plan (median of 5). Sizes can be picked
//! with `EKAS_BENCH_PODS=1000,150000`; `EKAS_BENCH_DIR=DIR` keeps the snapshot files there; `EKAS_BENCH_BIN`
//! runs another build of ekas.

use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "../tests/it/support/fake_kube.rs"]
mod fake_kube;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use ekas::kubernetes::KubeOptions;
use ekas::kubernetes::watch::Caches;
use ekas::source::build::{self, BuildOptions};
use ekas::source::document::{SnapshotDocument, aws::RegionPart};

/// Peak RSS (MiB) and wall time (s) of one child process.
fn measure(command: &mut Command) -> (f64, f64) {
    let start = Instant::now();
    // wait4 below reaps the child, with its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("ekas starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills in; the pid is our own child, which
    // std never waits for since `child` is not used again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "ekas failed: {status}"
    );
    // Linux reports ru_maxrss in KiB.
    (usage.ru_maxrss as f64 / 1024.0, elapsed)
}

/// Set in the child that writes one snapshot: `PATH RUNNING PENDING`.
const GENERATE: &str = "EKAS_BENCH_GENERATE";

/// Writes a snapshot in a child process: the parent stays small, and Linux counts the RSS a
/// process had before `exec` in its child's peak.
fn generate(path: &std::path::Path, running: usize, pending: usize) {
    let status = Command::new(std::env::current_exe().unwrap())
        .env(GENERATE, format!("{} {running} {pending}", path.display()))
        .status()
        .unwrap();
    assert!(status.success(), "generating {}", path.display());
}

/// Set in the child that serves a cluster's pods and nodes: `RUNNING PENDING`.
const SERVE: &str = "EKAS_BENCH_SERVE";

/// The child: a fake API server with the cluster's pods and nodes; prints its kubeconfig's
/// path and serves until its standard input closes.
fn serve(running: usize, pending: usize) {
    let kube = fake_kube::FakeKube::start();
    let mut doc = cluster::cluster(running, pending, false);
    for (kind, path) in [("nodes", "/api/v1/nodes"), ("pods", "/api/v1/pods")] {
        let items = doc["kubernetes"][kind]["items"].take();
        for item in items.as_array().unwrap() {
            kube.add(path, item.clone());
        }
    }
    drop(doc);
    println!("{}", kube.kubeconfig().display());
    std::io::stdin().lines().for_each(drop);
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// RSS (MiB) once the caches are ready, seconds to fill them, and the median seconds of a
/// pass's work around the AWS reads.
fn loop_caches(running: usize, pending: usize) -> (f64, f64, f64) {
    let mut server = Command::new(std::env::current_exe().unwrap())
        .env(SERVE, format!("{running} {pending}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let options = KubeOptions {
        kubeconfig: Some(line.trim().into()),
        ..KubeOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (rss, fill, caches) = runtime.block_on(async {
        let client = ekas::kubernetes::watch_client(&options).await.unwrap();
        let start = Instant::now();
        let caches = Caches::start(&client, None);
        caches.ready().await.unwrap();
        let fill = start.elapsed().as_secs_f64();
        // Let the watches settle before reading the process's size.
        tokio::time::sleep(Duration::from_millis(500)).await;
        (rss_mib(), fill, caches)
    });
    let aws = cluster::cluster(0, 0, false)["aws"].take();
    let aws: std::collections::BTreeMap<String, RegionPart> = serde_json::from_value(aws).unwrap();
    let config = ekas::engine::Config::default();
    let mut passes: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let doc = SnapshotDocument {
                captured_at: "2026-11-27T12:00:00Z".parse().unwrap(),
                cluster_name: Some("bench".into()),
                regions: vec!["us-west-2".into(), "us-east-1".into()],
                kubernetes: caches.kubernetes_part(),
                aws: aws.clone(),
                unreachable_regions: Default::default(),
            };
            let snapshot = build::snapshot(&doc, &BuildOptions::default()).unwrap();
            std::hint::black_box(ekas::engine::plan(&snapshot, &config));
            start.elapsed().as_secs_f64()
        })
        .collect();
    passes.sort_by(f64::total_cmp);
    drop(caches);
    drop(runtime);
    drop(server.stdin.take());
    server.wait().unwrap();
    (rss, fill, passes[2])
}

fn main() {
    if let Ok(args) = std::env::var(SERVE) {
        let (running, pending) = args.split_once(' ').unwrap();
        serve(running.parse().unwrap(), pending.parse().unwrap());
        return;
    }
    if let Ok(args) = std::env::var(GENERATE) {
        let [pending, running, path] = args.rsplitn(3, ' ').collect::<Vec<_>>()[..] else {
            panic!("{GENERATE}: PATH RUNNING PENDING");
        };
        let doc = cluster::cluster(running.parse().unwrap(), pending.parse().unwrap(), false);
        std::fs::write(path, serde_json::to_vec(&doc).unwrap()).unwrap();
        return;
    }
    // `cargo test --benches` runs this binary too; keep that a smoke run.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("EKAS_BENCH_QUICK").is_some();
    let sizes: Vec<usize> = match std::env::var("EKAS_BENCH_PODS") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse().expect("EKAS_BENCH_PODS: numbers"))
            .collect(),
        Err(_) if quick => vec![1_000],
        Err(_) => vec![1_000, 10_000, 50_000, 150_000],
    };
    // EKAS_BENCH_DIR keeps the snapshots for a closer look.
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("EKAS_BENCH_DIR").map_or(temporary.path().to_path_buf(), Into::into);
    println!(
        "{:>8} {:>8} {:>8} {:>6} {:>9} {:>9}",
        "pods", "pending", "nodes", "MB", "seconds", "peak MiB"
    );
    // EKAS_BENCH_BIN: another build of ekas to compare with.
    let ekas = std::env::var("EKAS_BENCH_BIN").unwrap_or(env!("CARGO_BIN_EXE_ekas").into());
    for &pods in &sizes {
        let running = pods / 5;
        let path = dir.join(format!("snapshot-{pods}.json"));
        generate(&path, running, pods - running);
        let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        let (rss, seconds) = measure(
            Command::new(&ekas)
                .args(["plan", "--output", "json", "--snapshot"])
                .arg(&path)
                .stdout(Stdio::null()),
        );
        println!(
            "{pods:>8} {:>8} {:>8} {size_mb:>6.0} {seconds:>9.2} {rss:>9.0}",
            pods - running,
            cluster::NODES,
        );
    }
    println!(
        "\nekas run's caches, fed by a fake API server\n{:>8} {:>8} {:>10} {:>9} {:>11}",
        "pods", "pending", "fill s", "RSS MiB", "pass s"
    );
    for &pods in &sizes {
        let running = pods / 5;
        let (rss, fill, pass) = loop_caches(running, pods - running);
        println!(
            "{pods:>8} {:>8} {fill:>10.2} {rss:>9.0} {pass:>11.2}",
            pods - running
        );
    }
}

//! Memory and time of `ekas plan --snapshot` at scale: 1k / 10k / 50k / 150k pods (a fifth of
//! them running, spread over the nodes; the rest pending, from 40 job templates) on 5,000 nodes
//! in 200 groups.
//!
//! `cargo bench --bench scale` writes each snapshot to a temporary file and runs the real
//! `ekas` binary on it, once per size (`--output json` to /dev/null), reporting the file's size,
//! the wall time and the child's peak resident set size (from `wait4`). Sizes can be picked
//! with `EKAS_BENCH_PODS=1000,150000`; `EKAS_BENCH_DIR=DIR` keeps the snapshot files there.

use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/cluster.rs"]
mod cluster;

/// Peak RSS (MiB) and wall time (s) of one child process.
fn measure(command: &mut Command) -> (f64, f64) {
    let start = Instant::now();
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

fn main() {
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
    for pods in sizes {
        let running = pods / 5;
        let path = dir.join(format!("snapshot-{pods}.json"));
        generate(&path, running, pods - running);
        let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        let (rss, seconds) = measure(
            Command::new(env!("CARGO_BIN_EXE_ekas"))
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
}

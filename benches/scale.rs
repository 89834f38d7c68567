//! Memory and time of `ekas plan --snapshot` at scale: 1k / 10k / 50k / 150k pods (a fifth of
//! them running, spread over the nodes; the rest pending, from 40 job templates) on 5,000 nodes
//! in 200 groups.
//!
//! `cargo bench --bench scale` writes each snapshot to a temporary file and runs the real
//! `ekas` binary on it, once per size (`--output json` to /dev/null), reporting the file's size,
//! the wall time and the child's peak resident set size (from `wait4`).
//!
//! Then, per size, the loop's side: a fake API server (the `fake-kube` crate, in a child
//! process) holds the pods and nodes; `ekas run`'s watch caches fill from it in this
//! process, which reports its resident set size once they are ready, and the time of the work
//! a pass does around the AWS reads: the Kubernetes half from the caches, the snapshot built
//! from them, the plan (median and slowest of 20), and its size after the passes and at
//! peak; and the time from a new pending pod on the API server to the loop's wake-up. Then
//! pods are created and deleted at 100/s for `EKAS_BENCH_CHURN_SECS` (60; 0 skips)
//! while passes run, and the RSS at the end and the passes' p50/p99 are reported. Sizes can be
//! picked with `EKAS_BENCH_PODS=1000,150000`; `EKAS_BENCH_DIR=DIR` keeps the snapshot files
//! there; `EKAS_BENCH_BIN` runs another build of ekas; `EKAS_BENCH_KUBECONFIG` measures the
//! loop's side on that cluster (a real control plane, as it is) instead of the fake.

use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "support/cluster.rs"]
mod cluster;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use ekas::decode::{self, DecodeOptions};
use ekas::document::{SnapshotDocument, aws::RegionPart};
use ekas::kubernetes::KubeOptions;
use ekas::kubernetes::watch::Caches;

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
    // Standard input says what to do: `pod N` adds one pending pod, `churn` starts creating and
    // deleting pods at 100/s each.
    let kube = std::sync::Arc::new(kube);
    let pending = kube
        .objects("pods")
        .into_iter()
        .find(|p| p["spec"]["nodeName"].is_null())
        .expect("a pending pod to copy");
    let copy = move |name: String| {
        let mut pod = pending.clone();
        pod["metadata"]["uid"] = format!("uid-{name}").into();
        pod["metadata"]["name"] = name.into();
        pod
    };
    for line in std::io::stdin().lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("pod ") {
            kube.add("/api/v1/pods", copy(format!("probe-{n}")));
        } else if line == "churn" {
            let (kube, copy) = (kube.clone(), copy.clone());
            std::thread::spawn(move || {
                for i in 0usize.. {
                    kube.add("/api/v1/pods", copy(format!("churn-{i}")));
                    if i >= CHURN_LIVE {
                        kube.remove("pods", Some("batch"), &format!("churn-{}", i - CHURN_LIVE));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
    }
}

/// Churned pods alive at once: each lives ten seconds.
const CHURN_LIVE: usize = 1_000;

/// A size from /proc/self/status (`VmRSS`, `VmHWM`), in MiB.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

/// What the loop's side measured at one size.
struct LoopFigures {
    /// Pods in the cache.
    pods: usize,
    /// Seconds from start until the caches were ready.
    fill: f64,
    /// RSS (MiB) once the caches are ready.
    ready: f64,
    /// RSS (MiB) after the passes, once the loop has handed their memory back.
    after_passes: f64,
    /// Peak RSS (MiB) of the process (the fake API server is another process).
    peak: f64,
    /// Seconds of a pass's work around the AWS reads: median and slowest of [`PASSES`].
    pass_p50: f64,
    pass_max: f64,
    /// Seconds from a new pending pod to the loop's wake-up, on the fake API server.
    wake: Option<f64>,
    /// During churn: RSS (MiB) at its end, passes made, and their p50 and p99 seconds.
    churn: Option<(f64, usize, f64, f64)>,
}

const PASSES: usize = 20;

/// The loop's side at one size, on the fake API server; or, when `given` names a kubeconfig, on
/// that cluster as it is (no churn then).
fn loop_caches(
    running: usize,
    pending: usize,
    churn_for: u64,
    given: Option<&std::path::Path>,
) -> LoopFigures {
    let mut server = given.is_none().then(|| {
        Command::new(std::env::current_exe().unwrap())
            .env(SERVE, format!("{running} {pending}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    });
    let kubeconfig = match (given, &mut server) {
        (Some(path), _) => path.to_path_buf(),
        (None, server) => {
            let mut line = String::new();
            let server = server.as_mut().unwrap();
            BufReader::new(server.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().into()
        }
    };
    let options = KubeOptions {
        kubeconfig: Some(kubeconfig),
        ..KubeOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ready, fill, caches) = runtime.block_on(async {
        let client = ekas::kubernetes::watch_client(&options).await.unwrap();
        let start = Instant::now();
        let caches = Caches::start(&client, None, std::time::Duration::from_secs(180));
        caches.ready().await.unwrap();
        let fill = start.elapsed().as_secs_f64();
        // Let the watches settle before reading the process's size.
        tokio::time::sleep(Duration::from_millis(500)).await;
        ekas::run::release_freed_memory();
        (rss_mib("VmRSS"), fill, caches)
    });
    let aws = cluster::cluster(0, 0, false)["aws"].take();
    let aws: std::collections::BTreeMap<String, RegionPart> = serde_json::from_value(aws).unwrap();
    let config = ekas::engine::Config::default();
    // As `ekas run` makes a pass, less the AWS reads and the actions.
    let pass = || {
        let start = Instant::now();
        let doc = SnapshotDocument {
            captured_at: "2026-11-27T12:00:00Z".parse().unwrap(),
            cluster_name: Some("bench".into()),
            regions: vec!["us-west-2".into(), "us-east-1".into()],
            kubernetes: caches.kubernetes_part(),
            aws: aws.clone(),
            unreachable_regions: Default::default(),
            recent_removals: Vec::new(),
        };
        let mut snapshot = caches
            .with_pods(|pods| {
                decode::snapshot_with_cached_pods(&doc, pods, &DecodeOptions::default())
            })
            .unwrap();
        drop(doc);
        std::hint::black_box(ekas::engine::plan_in_place(&mut snapshot, &config));
        drop(snapshot);
        ekas::run::release_freed_memory();
        start.elapsed().as_secs_f64()
    };
    let mut passes: Vec<f64> = (0..PASSES).map(|_| pass()).collect();
    let after_passes = rss_mib("VmRSS");
    let peak = rss_mib("VmHWM");
    passes.sort_by(f64::total_cmp);
    // Churn: pods come and go at 100/s while passes run back to back with a second between,
    // as they do while a queue moves.
    let pods = caches.with_pods(|pods| pods.len());
    let mut stdin = server.as_mut().map(|s| s.stdin.take().unwrap());
    // From a new pending pod on the API server to the loop being woken for it (median of 5).
    let wake = stdin.as_mut().map(|stdin| {
        use std::io::Write;
        let changed = caches.pods_changed();
        let mut wakes: Vec<f64> = (0..5)
            .map(|n| {
                runtime.block_on(async {
                    // A wake-up left over from earlier pods would answer at once.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(50), changed.notified()).await;
                    let start = Instant::now();
                    writeln!(stdin, "pod {n}").unwrap();
                    tokio::time::timeout(Duration::from_secs(30), changed.notified())
                        .await
                        .expect("the loop is woken");
                    start.elapsed().as_secs_f64()
                })
            })
            .collect();
        wakes.sort_by(f64::total_cmp);
        wakes[2]
    });
    let churn = stdin.as_mut().filter(|_| churn_for > 0).map(|stdin| {
        use std::io::Write;
        writeln!(stdin, "churn").unwrap();
        let until = Instant::now() + Duration::from_secs(churn_for);
        let mut during = Vec::new();
        while Instant::now() < until {
            during.push(pass());
            std::thread::sleep(Duration::from_secs(1));
        }
        during.sort_by(f64::total_cmp);
        let at = |q: f64| during[((during.len() - 1) as f64 * q).round() as usize];
        (rss_mib("VmRSS"), during.len(), at(0.5), at(0.99))
    });
    drop(caches);
    drop(runtime);
    drop(stdin);
    if let Some(mut server) = server {
        server.wait().unwrap();
    }
    LoopFigures {
        pods,
        fill,
        ready,
        after_passes,
        peak,
        pass_p50: passes[PASSES / 2],
        pass_max: passes[PASSES - 1],
        wake,
        churn,
    }
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
        "\nekas run's caches, fed by a fake API server; {PASSES} passes\n{:>8} {:>8} {:>7} {:>10} {:>12} {:>9} {:>8} {:>8} {:>7}",
        "pods",
        "pending",
        "fill s",
        "ready MiB",
        "passed MiB",
        "peak MiB",
        "p50 s",
        "max s",
        "wake s"
    );
    let churn_for = std::env::var("EKAS_BENCH_CHURN_SECS")
        .map_or(if quick { 2 } else { 60 }, |s| {
            s.parse().expect("EKAS_BENCH_CHURN_SECS: seconds")
        });
    let given = std::env::var_os("EKAS_BENCH_KUBECONFIG").map(std::path::PathBuf::from);
    let mut churned = Vec::new();
    // A given cluster is measured once, as it is.
    let sizes = if given.is_some() { vec![0] } else { sizes };
    for &pods in &sizes {
        let running = pods / 5;
        let f = loop_caches(running, pods - running, churn_for, given.as_deref());
        println!(
            "{:>8} {:>8} {:>7.2} {:>10.0} {:>12.0} {:>9.0} {:>8.2} {:>8.2} {:>7}",
            f.pods,
            if given.is_some() {
                "-".to_string()
            } else {
                (pods - running).to_string()
            },
            f.fill,
            f.ready,
            f.after_passes,
            f.peak,
            f.pass_p50,
            f.pass_max,
            f.wake.map_or("-".to_string(), |w| format!("{w:.3}")),
        );
        churned.extend(f.churn.map(|c| (pods, c)));
    }
    if !churned.is_empty() {
        println!(
            "\nthen pods created and deleted at 100/s, a pass a second after the last\n{:>8} {:>8} {:>8} {:>8} {:>8}",
            "pods", "RSS MiB", "passes", "p50 s", "p99 s"
        );
        for (pods, (rss, passes, p50, p99)) in churned {
            println!("{pods:>8} {rss:>8.0} {passes:>8} {p50:>8.2} {p99:>8.2}");
        }
    }
}

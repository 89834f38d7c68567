//! The Lease as it must hold on bad days: two `ekas run` and a cron `reap` contending for
//! minutes while passes are slow and the leader is frozen (SIGSTOP) past its Lease, checked
//! by an oracle over the fake API server's own record of who sent each write and who held the
//! Lease at that instant (so on the fake only); holders whose clocks are off by an hour; and two
//! loops on one host.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::cluster::TestCluster;
use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::groups::{REGION, reap_args, workers};
use crate::support::lease::{LEASES, hold_lease};
use crate::support::moto::Moto;
use crate::support::simulator::simulate;
use crate::support::*;

/// A short Lease, so that takeovers happen within the test; every call fits in half of it.
const SHORT_LEASE: [&str; 8] = [
    "--lease-duration",
    "9",
    "--kube-timeout",
    "2s",
    "--aws-timeout",
    "2s",
    "--aws-attempt-timeout",
    "2s",
];

/// `ekas run` as `who`: its host name (so the Lease's holder is `who_<random>`) and the token
/// the fake API server logs with each of its requests.
fn run_as(c: &TestCluster, moto: &Moto, who: &str, port: u16) -> Ekas {
    run_on(c, moto, (who, who), port, false)
}

/// `ekas run` with the token `who` on host `host`; `isolated`: as pid 1 of a pid namespace of
/// its own, as each replica of a Deployment with `hostNetwork` is.
fn run_on(
    c: &TestCluster,
    moto: &Moto,
    (who, host): (&str, &str),
    port: u16,
    isolated: bool,
) -> Ekas {
    let kubeconfig = c.kubeconfig_as(who);
    let mut cmd = match isolated {
        true => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--kill-child=SIGTERM"])
                .arg(env!("CARGO_BIN_EXE_ekas"));
            c
        }
        false => Command::new(env!("CARGO_BIN_EXE_ekas")),
    };
    cmd.args(["run", "--kubeconfig", kubeconfig.to_str().unwrap()])
        .args(["--cluster-name", "prod", "--regions", REGION])
        .args(["--metrics-address", &format!("127.0.0.1:{port}")])
        .args(["--launch-grace", "0", "--type-idle-count", "0"])
        .args(["--max-scale-in-fraction", "1", "--sleep", "1"])
        .args([
            "--idle-threshold",
            "2s",
            "--batch-idle",
            "200ms",
            "--batch-max",
            "1s",
        ])
        .args(SHORT_LEASE)
        .env_remove("KUBECONFIG")
        .env("HOSTNAME", host)
        .envs(moto.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Ekas(cmd.spawn().unwrap())
}

fn signal(pid: u32, sig: &str) {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
}

/// Waves of jobs that arrive together and finish together, so that the passes have things
/// to change all along: scale-ups, idle marks, cordons, evictions, terminations, deletions,
/// events.
async fn churn(c: Arc<TestCluster>, stop: Arc<AtomicBool>) {
    let mut wave = 0;
    while !stop.load(Ordering::Relaxed) {
        let names: Vec<String> = (0..20).map(|i| format!("job-{wave}-{i:02}")).collect();
        for name in &names {
            c.add_pod(pod(name, "250m", "256Mi")).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        for name in &names {
            c.remove_pod(name).await;
        }
        tokio::time::sleep(Duration::from_secs(7)).await;
        wave += 1;
    }
}

/// `ekas reap` from cron, every few seconds, as `cron`: (exit codes seen, how often each).
fn cron(
    c: &TestCluster,
    moto_env: Vec<(&'static str, String)>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<BTreeMap<Option<i32>, usize>> {
    let kubeconfig = c.kubeconfig_as("cron");
    std::thread::spawn(move || {
        let mut env = moto_env;
        env.push(("HOSTNAME", "cron".into()));
        let mut codes = BTreeMap::new();
        while !stop.load(Ordering::Relaxed) {
            let args = reap_args(kubeconfig.to_str().unwrap(), &SHORT_LEASE);
            let out = ekas_within(&args, &env, Duration::from_secs(60));
            *codes.entry(out.status.code()).or_default() += 1;
            std::thread::sleep(Duration::from_secs(4));
        }
        codes
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loops_and_a_cron_reap_never_change_anything_at_the_same_time() {
    let started = Instant::now();
    let moto = Arc::new(Moto::start());
    workers(&moto, 0, 0).await;
    let c = Arc::new(TestCluster::start().await);
    let Some(kube) = c.fake_only(
        "the fake's record of who sent each write and who held the Lease then (writes); slowed \
         requests (slow)",
    ) else {
        return;
    };
    // Slow passes: the last looks before a drain or a termination take seconds.
    kube.slow(
        "GET",
        "/api/v1/pods",
        "fieldSelector",
        Duration::from_millis(1500),
    );
    kube.slow("GET", "/api/v1/nodes/", "", Duration::from_millis(700));
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(c.clone(), moto.clone(), stop.clone()));
    let jobs = tokio::spawn(churn(c.clone(), stop.clone()));
    let ports = [free_port(), free_port()];
    let runs = [
        ("alpha", run_as(&c, &moto, "alpha", ports[0])),
        ("beta", run_as(&c, &moto, "beta", ports[1])),
    ];
    let cron = cron(&c, moto.env(), stop.clone());

    // Again and again, freeze whichever loop leads for longer than the Lease, then let it go
    // on from wherever it stopped — possibly right before a change.
    let mut frozen = 0;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let leader = c.lease_holder().await.unwrap_or_default();
        let Some((_, ekas)) = runs
            .iter()
            .find(|(who, _)| leader.starts_with(&format!("{who}_")))
        else {
            continue;
        };
        let pid = ekas.0.id();
        signal(pid, "-STOP");
        tokio::time::sleep(Duration::from_secs(13)).await;
        signal(pid, "-CONT");
        frozen += 1;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let passes: f64 = ports
        .iter()
        .filter_map(|&p| http_get(p, "/metrics"))
        .map(|(_, body)| metric(&body, "ekas_passes_total{result=\"ok\"}"))
        .sum();
    stop.store(true, Ordering::Relaxed);
    let codes = cron.join().unwrap();
    for (_, ekas) in runs {
        assert!(ekas.stop().success());
    }
    sim.await.unwrap();
    jobs.await.unwrap();

    // The oracle: every change was sent by the process that held the Lease at that instant.
    let writes = kube.writes();
    let changes: Vec<_> = writes
        .iter()
        .filter(|w| !w.path.starts_with(LEASES))
        .collect();
    let foreign: Vec<String> = changes
        .iter()
        .filter(|w| {
            let holder = w.lease_holder.as_deref().unwrap_or("");
            !holder.starts_with(&format!("{}_", w.who))
        })
        .map(|w| {
            format!(
                "{} {} by {} while {:?} held the Lease",
                w.method, w.path, w.who, w.lease_holder
            )
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "{} changes by a non-holder, e.g. {:?}",
        foreign.len(),
        &foreign[..foreign.len().min(5)]
    );

    // And the test was not vacuous: the Lease changed hands, and each holder changed things.
    let lease = c.lease().await.unwrap();
    let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap_or(0);
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &changes {
        *by.entry(w.who.as_str()).or_default() += 1;
    }
    eprintln!(
        "lease test: {:.0} s, {passes} passes, {} changes by {by:?}, {transitions} Lease \
         transitions, {frozen} leaders frozen, cron exits {codes:?}",
        started.elapsed().as_secs_f64(),
        changes.len()
    );
    assert!(frozen >= 3, "a leader was frozen only {frozen} times");
    assert!(transitions >= 3, "{lease}");
    assert!(
        by.get("alpha").is_some_and(|n| *n > 0) && by.get("beta").is_some_and(|n| *n > 0),
        "{by:?}"
    );
    assert!(
        codes.get(&Some(1)).is_some_and(|n| *n > 0),
        "a cron reap was refused: {codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_clock_is_off_keeps_its_lease_while_it_renews_and_loses_it_when_silent() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let hour = jiff::SignedDuration::from_hours(1);
    for skew in [-hour, hour] {
        let c = Arc::new(TestCluster::start().await);
        let kubeconfig = c.kubeconfig_as("cron");
        let args = reap_args(
            kubeconfig.to_str().unwrap(),
            &[
                "--lease-duration",
                "3",
                "--kube-timeout",
                "1s",
                "--aws-timeout",
                "1s",
                "--aws-attempt-timeout",
                "1s",
            ],
        );
        let stop = Arc::new(AtomicBool::new(false));
        let renewing = hold_lease(c.clone(), "skewed/1", skew, stop.clone()).await;
        // Alive: refused, however old (or new) its renewTime looks to us.
        let out = ekas_within(&args, &moto.env(), Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(1), "skew {skew}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("held by skewed/1"),
            "{}",
            stderr(&out)
        );
        assert_eq!(c.lease_holder().await.as_deref(), Some("skewed/1"));
        if let Some(kube) = c.fake_checks("the fake's record of writes: none while refused") {
            assert!(kube.writes().is_empty(), "skew {skew}: {:?}", kube.writes());
        }
        // Silent: taken once its record has stood for the Lease's duration of our clock.
        stop.store(true, Ordering::Relaxed);
        renewing.await.unwrap();
        let at = Instant::now();
        let out = ekas_within(&args, &moto.env(), Duration::from_secs(30));
        assert!(out.status.success(), "skew {skew}: {}", stderr(&out));
        assert!(at.elapsed() >= Duration::from_secs(3), "{:?}", at.elapsed());
        assert!(c.lease_holder().await.is_none(), "taken, then released");
        if let Some(kube) = c.fake_checks("the fake's record of writes: cron's to the Lease") {
            assert!(
                kube.writes()
                    .iter()
                    .any(|w| w.who == "cron" && w.path.starts_with(LEASES))
            );
        }
    }
}

/// Whether this machine lets a test start a process in a pid namespace of its own.
fn pid_namespaces() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loops_on_one_host_each_pid_1_never_both_lead() {
    let moto = Arc::new(Moto::start());
    workers(&moto, 0, 0).await;
    let c = Arc::new(TestCluster::start().await);
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(c.clone(), moto.clone(), stop.clone()));
    let jobs = tokio::spawn(churn(c.clone(), stop.clone()));
    // Both pid 1 where the machine allows it, as two hostNetwork replicas on one node are;
    // the same host name either way.
    let isolated = pid_namespaces();
    eprintln!("each in a pid namespace of its own: {isolated}");
    let ports = [free_port(), free_port()];
    let runs = [
        run_on(&c, &moto, ("alpha", "node-a"), ports[0], isolated),
        run_on(&c, &moto, ("beta", "node-a"), ports[1], isolated),
    ];
    let leader =
        |port| http_get(port, "/metrics").map(|(_, body)| metric(&body, "ekas_leader ") == 1.0);
    let (mut samples, mut led, mut both) = (0, 0, 0);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (Some(a), Some(b)) = (leader(ports[0]), leader(ports[1])) else {
            continue;
        };
        samples += 1;
        led += usize::from(a || b);
        both += usize::from(a && b);
    }
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();
    jobs.await.unwrap();
    let holder = c.lease_holder().await.unwrap_or_default();
    // SIGKILL (on drop): unshare keeps SIGTERM from its child.
    drop(runs);
    assert!(
        led > samples / 2,
        "a leader most of the time: {led} of {samples}"
    );
    assert_eq!(
        both, 0,
        "both led in {both} of {samples} samples; the Lease names {holder}"
    );
    // Every change came from one of the two, the one the Lease names.
    if let Some(kube) = c.fake_checks("the fake's record of who sent each write") {
        let writers: BTreeSet<String> = kube
            .writes()
            .iter()
            .filter(|w| !w.path.starts_with(LEASES))
            .map(|w| w.who.clone())
            .collect();
        assert_eq!(writers.len(), 1, "{writers:?}");
    }
    assert!(holder.starts_with("node-a_"), "{holder}");
}

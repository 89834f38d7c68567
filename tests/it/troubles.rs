//! `ekas run` on the days it cannot act, as a new operator meets them: its Lease's namespace
//! missing, RBAC refusing the Lease, the API server down. Each must be an ERROR naming the
//! cause within seconds of start, `ekas_cannot_act{reason}`, a failing `/healthz` within
//! `--unhealthy-after`, and — where waiting cannot help — an exit with the cause. And a loop
//! that can act again says so and turns healthy.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::cluster::TestCluster;
use crate::support::ekas_loop::{Logged, free_port, http_get, metric};
use crate::support::groups::{REGION, workers};
use crate::support::lease::LEASES;
use crate::support::moto::Moto;
use crate::support::*;

/// What the real API server answers a service account without RBAC for Leases (seen on
/// kube-apiserver v1.36).
const FORBIDDEN: &str = "leases.coordination.k8s.io \"ekas\" is forbidden: User \
    \"system:serviceaccount:ekas:ekas\" cannot get resource \"leases\" in API group \
    \"coordination.k8s.io\" in the namespace \"ekas\"";

/// `ekas run` with a short `--unhealthy-after` and `extra`, its log captured.
fn logged(kubeconfig: &std::path::Path, moto: &Moto, port: u16, extra: &[&str]) -> Logged {
    let mut args = vec![
        "--sleep",
        "1",
        "--unhealthy-after",
        "5s",
        "--regions",
        REGION,
    ];
    args.extend_from_slice(extra);
    let mut cmd: Command = crate::support::ekas_loop::Ekas::command_with(kubeconfig, port, &args);
    cmd.envs(moto.env());
    Logged::spawn(cmd)
}

fn cannot_act(port: u16, reason: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    Some(metric(
        &body,
        &format!("ekas_cannot_act{{reason=\"{reason}\"}}"),
    ))
}

async fn healthz_turns(port: u16, status: u16, within: Duration) {
    wait_for(&format!("/healthz {status}"), within, async || {
        http_get(port, "/healthz").is_some_and(|(s, _)| s == status)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_lease_namespace_the_loop_says_so_and_acts_once_it_exists() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    c.add_pod(pod("waiting", "250m", "256Mi")).await;
    // A Lease namespace nobody created yet (on the fake, refused as the real API server refuses
    // a create in a namespace that does not exist).
    let lease_namespace = format!("{}-lease", c.namespace);
    c.missing_namespace(&lease_namespace);
    let port = free_port();
    let started = Instant::now();
    let ekas = logged(
        &c.kubeconfig,
        &moto,
        port,
        &["--lease-namespace", &lease_namespace],
    );

    let missing = format!("namespace {lease_namespace} does not exist");
    let error = ekas
        .line(
            "an ERROR naming the namespace",
            Duration::from_secs(10),
            |l| l.contains("ERROR") && l.contains(&missing),
        )
        .await;
    assert!(error.contains("lease-namespace-missing"), "{error}");
    eprintln!("ERROR after {:?}", started.elapsed());
    wait_for("the metric", Duration::from_secs(5), async || {
        cannot_act(port, "lease-namespace-missing") == Some(1.0)
    })
    .await;
    healthz_turns(port, 503, Duration::from_secs(15)).await;
    assert!(ekas.ekas.0.id() > 0);

    // The operator creates the namespace: the loop leads, acts, and says it is over.
    c.create_namespace(&lease_namespace).await;
    wait_for("a scale-up", Duration::from_secs(30), async || {
        crate::support::groups::group(&moto).await.0 == 1
    })
    .await;
    healthz_turns(port, 200, Duration::from_secs(10)).await;
    assert_eq!(cannot_act(port, "lease-namespace-missing"), Some(0.0));
    ekas.line("the trouble resolved", Duration::from_secs(5), |l| {
        l.contains("resolved") && l.contains("lease-namespace-missing")
    })
    .await;
    assert!(ekas.ekas.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_refusing_the_lease_is_an_error_and_an_exit_naming_the_fix() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    let Some(kube) = c.fake_only("RBAC refusing the Lease, injected (refuse)") else {
        return;
    };
    kube.refuse("*", LEASES, 403, FORBIDDEN);
    let port = free_port();
    let mut ekas = logged(&c.kubeconfig, &moto, port, &[]);
    let error = ekas
        .line(
            "an ERROR naming the refusal",
            Duration::from_secs(10),
            |l| l.contains("ERROR") && l.contains("cannot get resource \"leases\""),
        )
        .await;
    assert!(error.contains("reason=forbidden"), "{error}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = ekas.ekas.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(1));
    // The reader thread may lag the exit a moment.
    let last = ekas
        .line("the exit's message", Duration::from_secs(5), |l| {
            l.starts_with("error:")
        })
        .await;
    assert!(
        last.contains("deploy/rbac.yaml") && last.contains("leases"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_that_does_not_answer_is_named_and_the_loop_waits_unhealthy() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    // No cluster at all: a kubeconfig naming a port nothing listens on.
    let down = format!("http://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig_for(dir.path(), &down);
    let port = free_port();
    let mut ekas = logged(&kubeconfig, &moto, port, &[]);
    let error = ekas
        .line("an ERROR naming the server", Duration::from_secs(10), |l| {
            l.contains("ERROR") && l.contains(&down)
        })
        .await;
    assert!(error.contains("reason=api-unreachable"), "{error}");
    assert_eq!(cannot_act(port, "api-unreachable"), Some(1.0));
    healthz_turns(port, 503, Duration::from_secs(15)).await;
    assert!(ekas.ekas.0.try_wait().unwrap().is_none(), "still waiting");
    // Said again only every few minutes, not at every retry.
    let errors = ekas
        .lines()
        .iter()
        .filter(|l| l.contains("ERROR") && l.contains("lease"))
        .count();
    assert_eq!(errors, 1, "{:#?}", ekas.lines());
    assert!(ekas.ekas.stop().success());
}

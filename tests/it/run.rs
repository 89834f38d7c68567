//! `ekas run` end to end, as a child process, against moto and the fake API server, with a
//! node-join simulator (a Ready Node for every running instance of the group) and a scheduler
//! simulator (pending pods bound to nodes with room).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::reap::{REGION, group, workers};
use crate::support::fake_kube::FakeKube;
use crate::support::moto::Moto;
use crate::support::*;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) struct Ekas(Child);

impl Ekas {
    pub(crate) fn start(kube: &FakeKube, moto: &Moto, port: u16, extra: &[&str]) -> Ekas {
        let kubeconfig = kube.kubeconfig();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ekas"));
        cmd.args([
            "run",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--lease-namespace",
            "default",
            "--leader-elect",
            "--metrics-address",
            &format!("127.0.0.1:{port}"),
            "--launch-grace",
            "0",
            "--type-idle-count",
            "0",
            "--max-scale-in-fraction",
            "1",
            "-v",
        ])
        .args(extra)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        Ekas(cmd.spawn().unwrap())
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ekas run did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ekas {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET on the metrics listener: (status, body).
pub(crate) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// The value of one metric line (name with labels as printed), summed over matches.
pub(crate) fn metric(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub(crate) async fn wait_for(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn job(name: &str) -> Value {
    pod(name, "250m", "256Mi")
}

/// The simulators, until `stop` is set: nodes join for running instances; pending pods are
/// bound to schedulable nodes with room (by CPU).
async fn simulate(kube: Arc<FakeKube>, moto: Arc<Moto>, stop: Arc<AtomicBool>) {
    let clients = moto.clients(&[REGION]).await;
    let mut joined: HashSet<String> = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        // Node join.
        if let Ok(out) = clients[0]
            .autoscaling
            .describe_auto_scaling_instances()
            .send()
            .await
        {
            for i in out.auto_scaling_instances() {
                let id = i.instance_id().unwrap_or_default().to_string();
                if i.lifecycle_state() != Some("InService") || !joined.insert(id.clone()) {
                    continue;
                }
                let name = format!("node-{id}");
                kube.add(
                    "/api/v1/nodes",
                    json!({"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": name, "creationTimestamp": jiff::Timestamp::now().to_string()},
                        "spec": {"providerID": format!("aws:///us-west-2a/{id}")},
                        "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                            "conditions": [{"type": "Ready", "status": "True"}]}}),
                );
            }
        }
        // Scheduler.
        let nodes = kube.objects("nodes");
        let pods = kube.objects("pods");
        let mut used: std::collections::HashMap<String, i64> = Default::default();
        for p in &pods {
            if let Some(n) = p["spec"]["nodeName"].as_str() {
                *used.entry(n.to_string()).or_default() += 250;
            }
        }
        for p in pods.iter().filter(|p| p["spec"]["nodeName"].is_null()) {
            let room = nodes.iter().find(|n| {
                n["spec"]["unschedulable"] != true
                    && used
                        .get(n["metadata"]["name"].as_str().unwrap())
                        .copied()
                        .unwrap_or(0)
                        + 250
                        <= 3920
            });
            let Some(node) = room else { break };
            let node = node["metadata"]["name"].as_str().unwrap().to_string();
            *used.entry(node.clone()).or_default() += 250;
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            kube.set("pods", Some("batch"), &name, |p| {
                p["spec"]["nodeName"] = json!(node);
                p["status"] = json!({"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]});
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_lifecycle_from_pending_pods_back_to_min_size() {
    let moto = Arc::new(Moto::start());
    workers(&moto, 0, 0).await;
    let kube = Arc::new(FakeKube::start());
    for i in 0..50 {
        kube.add("/api/v1/pods", job(&format!("job-{i:02}")));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(kube.clone(), moto.clone(), stop.clone()));
    let port = free_port();
    let ekas = Ekas::start(
        &kube,
        &moto,
        port,
        &["--sleep", "1", "--idle-threshold", "2s"],
    );

    // 50 pods of 0.25 cpu: 15 per m5.xlarge, so 4 nodes.
    wait_for(
        "the group to scale up",
        Duration::from_secs(60),
        async || group(&moto).await.0 == 4,
    )
    .await;
    wait_for(
        "every pod to be bound",
        Duration::from_secs(60),
        async || {
            kube.objects("pods")
                .iter()
                .all(|p| p["spec"]["nodeName"].is_string())
        },
    )
    .await;
    let (status, body) = http_get(port, "/metrics").expect("metrics served");
    assert_eq!(status, 200);
    assert!(
        metric(&body, "ekas_scale_ups_total{group=\"workers\"}") >= 1.0,
        "{body}"
    );
    assert!(
        metric(&body, "ekas_passes_total{result=\"ok\"}") >= 1.0,
        "{body}"
    );
    assert!(metric(&body, "ekas_aws_api_calls_total") >= 1.0, "{body}");
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    assert!(
        kube.count("POST", "/apis/events.k8s.io/v1/namespaces/batch/events") >= 1,
        "TriggeredScaleUp events were published"
    );

    // Steady state: count what a pass costs.
    let before = http_get(port, "/metrics").unwrap().1;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = http_get(port, "/metrics").unwrap().1;
    let passes = metric(&after, "ekas_passes_total") - metric(&before, "ekas_passes_total");
    let aws =
        metric(&after, "ekas_aws_api_calls_total") - metric(&before, "ekas_aws_api_calls_total");
    assert!(passes >= 1.0);
    eprintln!("steady state: {:.1} AWS calls per pass", aws / passes);

    // The jobs finish.
    for i in 0..50 {
        kube.remove("pods", Some("batch"), &format!("job-{i:02}"));
    }
    wait_for(
        "the group back at MinSize",
        Duration::from_secs(60),
        async || group(&moto).await.0 == 0,
    )
    .await;
    wait_for("every Node deleted", Duration::from_secs(30), async || {
        kube.objects("nodes").is_empty()
    })
    .await;
    assert_eq!(
        kube.lists("/api/v1/pods"),
        1,
        "one LIST at start, then only the watch"
    );
    assert_eq!(kube.lists("/api/v1/nodes"), 1);

    let status = ekas.stop();
    assert!(status.success(), "{status:?}");
    let lease = kube.object("leases", Some("default"), "ekas").unwrap();
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "released: {lease}"
    );
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pending_pod_starts_a_pass_long_before_the_sleep_ends() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let kube = FakeKube::start();
    let port = free_port();
    let ekas = Ekas::start(&kube, &moto, port, &["--sleep", "300"]);
    wait_for("the first pass", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, body)| metric(&body, "ekas_passes_total") >= 1.0)
    })
    .await;

    let appeared = Instant::now();
    kube.add("/api/v1/pods", job("urgent"));
    wait_for("the scale-up", Duration::from_secs(30), async || {
        group(&moto).await.0 == 1
    })
    .await;
    let reaction = appeared.elapsed();
    eprintln!("pending pod → SetDesiredCapacity: {reaction:?}");
    assert!(
        reaction < Duration::from_secs(30),
        "well before --sleep 300"
    );
    assert!(ekas.stop().success());
}

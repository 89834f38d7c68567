//! `ekas run` end to end, as a child process, against moto and the test's cluster (the fake API
//! server, or a real one), with a node-join simulator (a Ready Node for every running instance
//! of the group) and, on the fake, a scheduler simulator (pending pods bound to nodes with room).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cluster::TestCluster;
use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::groups::{REGION, desired, group, reap_args, workers, workers_in};
use crate::support::moto::Moto;
use crate::support::simulator::{simulate, simulate_in};
use crate::support::*;

fn job(name: &str) -> Value {
    pod(name, "250m", "256Mi")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_lifecycle_from_pending_pods_back_to_min_size() {
    let moto = Arc::new(Moto::start());
    workers(&moto, 0, 0).await;
    let c = Arc::new(TestCluster::start().await);
    for i in 0..50 {
        c.add_pod(job(&format!("job-{i:02}"))).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(c.clone(), moto.clone(), stop.clone()));
    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1", "--idle-threshold", "2s"]);

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
            c.pods()
                .await
                .iter()
                .all(|p| p["spec"]["nodeName"].is_string())
        },
    )
    .await;
    // A pass is counted once it ends, after its Events: the pods may be bound before that.
    wait_for(
        "a pass to be counted",
        Duration::from_secs(30),
        async || {
            http_get(port, "/metrics")
                .is_some_and(|(_, body)| metric(&body, "ekas_passes_total{result=\"ok\"}") >= 1.0)
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
    let events = c.events().await;
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "TriggeredScaleUp" && e["metadata"]["namespace"] == c.namespace),
        "TriggeredScaleUp events were published: {events:?}"
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
        c.remove_pod(&format!("job-{i:02}")).await;
    }
    wait_for(
        "the group back at MinSize",
        Duration::from_secs(60),
        async || group(&moto).await.0 == 0,
    )
    .await;
    wait_for("every Node deleted", Duration::from_secs(30), async || {
        c.nodes().await.is_empty()
    })
    .await;
    let requests = "the request log: one LIST at start, then only the watch; deploy/'s RBAC";
    if let Some(fake) = c.fake_checks(requests) {
        // One full LIST at start, then only the watch; the LISTs left are of one node's pods,
        // taken right before each termination.
        let full_lists = fake
            .request_log()
            .iter()
            .filter(|(method, path, query)| {
                method == "GET"
                    && path == "/api/v1/pods"
                    && !query.contains("watch")
                    && !query.contains("fieldSelector")
            })
            .count();
        assert_eq!(full_lists, 1, "one LIST at start, then only the watch");
        assert_eq!(fake.lists("/api/v1/nodes"), 1);
    }

    let status = ekas.stop();
    assert!(status.success(), "{status:?}");
    let lease = c.lease().await.unwrap();
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "released: {lease}"
    );
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();
    if let Some(fake) = &c.fake {
        // Everything the loop asked of the API server, deploy/'s RBAC grants.
        crate::support::manifests::assert_rbac_allows(&fake.request_log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pending_pod_starts_a_pass_long_before_the_sleep_ends() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "300"]);
    wait_for("the first pass", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, body)| metric(&body, "ekas_passes_total") >= 1.0)
    })
    .await;

    let appeared = Instant::now();
    c.add_pod(job("urgent")).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_preferred_region_cannot_launch_the_work_overflows_to_the_next() {
    use crate::support::fault_proxy::{Fault, FaultProxy, failed_launch_xml};
    let moto = Arc::new(Moto::start());
    const REGIONS: [&str; 2] = ["us-west-2", "us-east-1"];
    let regions = REGIONS;
    workers_in(&moto, &regions).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let start = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1)).to_string();
    proxy.inject(
        "DescribeScalingActivities",
        Some("AutoScalingGroupName=workers-us-west-2"),
        Fault::Respond(failed_launch_xml(
            "workers-us-west-2",
            &start,
            "Launching a new EC2 instance. Status Reason: We currently do not have sufficient \
             m5.xlarge capacity in the Availability Zone you requested (us-west-2a).",
        )),
    );
    let c = Arc::new(TestCluster::start().await);
    for i in 0..20 {
        c.add_pod(job(&format!("job-{i:02}"))).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate_in(c.clone(), moto.clone(), stop.clone(), &REGIONS));
    let port = free_port();
    let mut through_proxy = Ekas::command(
        &c,
        port,
        &["--sleep", "1", "--regions", "us-west-2,us-east-1"],
    );
    for (k, v) in moto.env() {
        through_proxy.env(k, v);
    }
    through_proxy.env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let ekas = Ekas(through_proxy.spawn().unwrap());

    wait_for("every pod bound", Duration::from_secs(60), async || {
        c.pods()
            .await
            .iter()
            .all(|p| p["spec"]["nodeName"].is_string())
    })
    .await;
    assert_eq!(
        desired(&moto, "us-west-2", "workers-us-west-2").await,
        0,
        "the failing region got nothing"
    );
    assert_eq!(
        desired(&moto, "us-east-1", "workers-us-east-1").await,
        2,
        "20 pods of 0.25 cpu: two nodes"
    );
    let body = http_get(port, "/metrics").unwrap().1;
    assert_eq!(metric(&body, "ekas_groups_in_backoff "), 1.0, "{body}");
    assert!(ekas.stop().success());
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();
}

/// A pod served by a Deployment (a utilisation drain leaves a Job's pod alone), running on node
/// `short` since January.
fn served(c: &TestCluster, name: &str, short: &str, cpu: &str) -> Value {
    let mut p = pod(name, cpu, "1Gi");
    p["metadata"]["ownerReferences"][0]["kind"] = json!("ReplicaSet");
    p["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    p["spec"]["nodeName"] = json!(c.node_name(short));
    p["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_cut_short_by_sigkill_is_finished_by_the_next_process_and_nothing_unsafe_goes() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 2).await;
    let c = TestCluster::start().await;
    let Some(kube) = c.fake_only(
        "refuses evictions with injected 429s (fail_next), counts eviction requests and reads \
         the eviction record",
    ) else {
        return;
    };
    for (name, id) in [("a", &ids[0]), ("b", &ids[1])] {
        c.instance_node(name, id, json!({})).await;
    }
    // `a` is barely used: drained for --drain-utilization-below 0.5. `b` is busy.
    c.add_pod(served(&c, "small", "a", "250m")).await;
    c.add_pod(served(&c, "big", "b", "3")).await;
    // The first process's evictions are refused, so its drain is still running when it dies.
    let eviction = format!("{}/small/eviction", c.collection("v1", "pods"));
    let eviction = eviction.as_str();
    for _ in 0..1000 {
        kube.fail_next("POST", eviction, 429);
    }
    let args = [
        "--sleep",
        "1",
        "--drain-utilization-below",
        "0.5",
        "--idle-threshold",
        "1h",
        // The killed process never releases the Lease: the next one waits for it to expire.
        "--lease-duration",
        "5",
        // Every call fits in half the Lease.
        "--kube-timeout",
        "2s",
        "--aws-timeout",
        "2s",
        "--aws-attempt-timeout",
        "2s",
    ];
    let port = free_port();
    let first = Ekas::start(&c, &moto, port, &args);
    wait_for("the drain to start", Duration::from_secs(30), async || {
        c.node_object("a").await.is_some_and(|n| {
            n["metadata"]["annotations"]["ekas/drain-started"].is_string()
                && n["spec"]["unschedulable"] == true
        }) && kube.count("POST", eviction) >= 1
    })
    .await;
    let mut first = first;
    first.0.kill().unwrap(); // SIGKILL: no chance to clean up
    first.0.wait().unwrap();

    // While no ekas ran, a pod that must not be evicted landed on the node.
    let mut precious = served(&c, "precious", "a", "100m");
    precious["metadata"]["annotations"] =
        json!({"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"});
    c.add_pod(precious).await;
    let refused_before = kube.count("POST", eviction);
    // Let evictions through now.
    let second_port = free_port();
    kube.clear_faults();
    let second = Ekas::start(&c, &moto, second_port, &args);
    wait_for(
        "the new process to lead",
        Duration::from_secs(30),
        async || {
            http_get(second_port, "/metrics")
                .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 2.0)
        },
    )
    .await;
    assert!(
        kube.evictions().is_empty(),
        "nothing evicted while precious is there"
    );
    assert_eq!(kube.count("POST", eviction), refused_before);
    // A pod that may never be evicted: the drain is given up, not left half done.
    let a = c.node_object("a").await.unwrap();
    assert!(a["spec"]["unschedulable"].is_null(), "{a}");
    assert!(
        a["metadata"]["annotations"]["ekas/drain-started"].is_null(),
        "{a}"
    );

    // The precious job ends; the node is drained again and goes.
    c.remove_pod("precious").await;
    wait_for("node a terminated", Duration::from_secs(30), async || {
        c.node_object("a").await.is_none()
    })
    .await;
    assert_eq!(kube.evictions(), [format!("{}/small", c.namespace)]);
    assert_eq!(group(&moto).await.0, 1, "desired decremented");
    assert!(c.pod_object("big").await.is_some());
    assert!(second.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_passes_are_retried_and_the_process_keeps_running() {
    use crate::support::fault_proxy::{Fault, FaultProxy, error_xml};
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(
        "DescribeAutoScalingGroups",
        None,
        Fault::Fail {
            times: 3,
            status: 503,
            body: error_xml("ServiceUnavailable", "Service is unavailable"),
        },
    );
    let c = TestCluster::start().await;
    c.add_pod(job("waiting")).await;
    let port = free_port();
    let mut cmd = Ekas::command(&c, port, &["--sleep", "1", "--regions", REGION]);
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let mut ekas = Ekas(cmd.spawn().unwrap());

    wait_for(
        "a scale-up after the failures",
        Duration::from_secs(60),
        async || group(&moto).await.0 == 1,
    )
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert!(
        metric(&body, "ekas_passes_total{result=\"error\"}") >= 1.0,
        "{body}"
    );
    assert!(
        metric(
            &body,
            "ekas_aws_api_errors_total{operation=\"DescribeAutoScalingGroups\"}"
        ) >= 1.0,
        "{body}"
    );
    assert!(ekas.0.try_wait().unwrap().is_none(), "still running");
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    assert!(ekas.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_no_group_can_take_is_reported_once_not_every_pass() {
    use crate::support::receiver::Receiver;
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    c.add_pod(pod("huge", "100", "1Gi")).await;
    let slack = Receiver::start(200);
    let hook = format!("{}/hook", slack.url);
    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1", "--slack-hook", &hook]);
    wait_for("four passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 4.0)
    })
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert_eq!(metric(&body, "ekas_unschedulable_pods "), 1.0, "{body}");
    assert!(ekas.stop().success());

    let texts = slack.texts();
    let reports: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("fit no node group"))
        .collect();
    assert_eq!(reports.len(), 1, "{texts:?}");
    assert!(
        reports[0].contains(&format!("{}/huge", c.namespace)) && reports[0].contains("workers"),
        "{}",
        reports[0]
    );
    let events = c.events().await;
    let warnings: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "NotTriggerScaleUp")
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(warnings[0]["type"], "Warning");
    assert_eq!(warnings[0]["regarding"]["name"], "huge");
    assert_eq!(group(&moto).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_cannot_be_read_is_named_and_the_rest_scales_up() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    if c.fake_only("stores a pod whose cpu request does not parse (no validation)")
        .is_none()
    {
        return;
    }
    c.add_pod(pod("garbled", "lots", "1Gi")).await;
    c.add_pod(job("fine")).await;
    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1"]);
    wait_for(
        "a scale-up for the pod that can be read",
        Duration::from_secs(30),
        async || group(&moto).await.0 == 1,
    )
    .await;
    wait_for("two passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 2.0)
    })
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert!(
        metric(&body, "ekas_skipped_objects_total{kind=\"Pod\"}") >= 2.0,
        "counted every pass: {body}"
    );
    assert_eq!(metric(&body, "ekas_pending_pods "), 1.0, "{body}");
    assert!(ekas.stop().success());
    let events = c.events().await;
    let unreadable: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "UnreadableByEkas")
        .collect();
    assert_eq!(unreadable.len(), 1, "once, not every pass: {events:?}");
    assert_eq!(unreadable[0]["type"], "Warning");
    assert_eq!(unreadable[0]["regarding"]["kind"], "Pod");
    assert_eq!(unreadable[0]["regarding"]["name"], "garbled");
    let note = unreadable[0]["note"].as_str().unwrap();
    assert!(note.contains("\"lots\""), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_a_cron_reap_share_one_lease_by_default() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    let kubeconfig = c.kubeconfig_arg();
    let port = free_port();
    // Outside a cluster, with no election flag: it elects all the same.
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1"]);
    let mut holder = String::new();
    wait_for(
        "run to hold the Lease",
        Duration::from_secs(30),
        async || {
            if let Some(h) = c.lease_holder().await {
                holder = h;
            }
            !holder.is_empty()
        },
    )
    .await;
    let before = (c.state().await, c.fake.as_ref().map(|f| f.all_objects()));
    let out = ekas_with_env(&reap_args(kubeconfig, &[]), &moto.env());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("held by {holder}")),
        "{}",
        stderr(&out)
    );
    // Refused before it changed anything (the loop itself renews the Lease meanwhile).
    assert_eq!(c.state().await, before.0);
    if let Some(fake) = c.fake_checks("every object of every kind (the fake's whole store)") {
        let strip = |mut v: Value| {
            let all = v.as_object_mut().unwrap();
            all.retain(|k, _| {
                !k.ends_with("/leases") && !k.ends_with("/events") && k != "resourceVersion"
            });
            v
        };
        assert_eq!(strip(fake.all_objects()), strip(before.1.unwrap()));
    }
    assert!(ekas.stop().success());
    // Released on SIGTERM: the next cron run goes ahead.
    let out = ekas_with_env(&reap_args(kubeconfig, &[]), &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_apis_are_watched_where_served_and_found_when_installed_later() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    let Some(kube) = c.fake_only("serves and stops serving API versions, and counts requests")
    else {
        return;
    };
    // The coscheduling CRD is not installed yet; the Workload API is a 1.36 one.
    kube.unserve("scheduling.x-k8s.io/v1alpha1");
    kube.unserve("scheduling.k8s.io/v1alpha3");
    kube.serve("scheduling.k8s.io/v1alpha2");
    let port = free_port();
    let ekas = Ekas::start(
        &c,
        &moto,
        port,
        &["--sleep", "1", "--api-discovery-every", "1s"],
    );
    wait_for("two passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 2.0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // No request at all for what is not served: no retry loop against a 404.
    let coscheduling = "/apis/scheduling.x-k8s.io/v1alpha1/podgroups";
    assert_eq!(kube.requests(coscheduling), 0);
    assert_eq!(
        kube.requests("/apis/scheduling.k8s.io/v1alpha3/podgroups"),
        0
    );
    assert!(kube.watches("/apis/scheduling.k8s.io/v1alpha2/podgroups") >= 1);
    assert!(kube.requests("/apis") >= 3, "discovery looks again");

    // The CRD is installed: watched within a discovery interval, without a restart.
    kube.serve("scheduling.x-k8s.io/v1alpha1");
    wait_for("the new API watched", Duration::from_secs(10), async || {
        kube.watches(coscheduling) >= 1
    })
    .await;
    // And removed again: no more requests once its watch is stopped.
    kube.unserve("scheduling.x-k8s.io/v1alpha1");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = kube.requests(coscheduling);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(kube.requests(coscheduling), after, "stopped, not retried");
    assert!(ekas.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_pass_finishes_the_action_under_way_and_hands_the_lease_over() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 6).await;
    let c = TestCluster::start().await;
    let Some(kube) = c.fake_only(
        "slows node PATCHes (slow) so that SIGTERM lands inside a pass; reads the request log",
    ) else {
        return;
    };
    // Six barely used nodes, each drained for --drain-utilization-below: six actions, each a
    // cordon, its drain bookkeeping and an eviction.
    for (i, id) in ids.iter().enumerate() {
        let name = format!("n{i}");
        c.instance_node(&name, id, json!({})).await;
        c.add_pod(served(&c, &format!("web-{i}"), &name, "250m"))
            .await;
    }
    // Slow node writes: an action takes seconds, so SIGTERM lands inside the pass.
    kube.slow("PATCH", "/api/v1/nodes/", "", Duration::from_millis(1500));
    let args = [
        "--sleep",
        "1",
        "--drain-utilization-below",
        "0.5",
        "--max-concurrent-drains",
        "6",
        "--idle-threshold",
        "1h",
    ];
    let port = free_port();
    let first = Ekas::start(&c, &moto, port, &args);
    wait_for("the first cordon", Duration::from_secs(30), async || {
        kube.count("PATCH", "/api/v1/nodes/") >= 1
    })
    .await;
    let stopping = Instant::now();
    let status = first.stop();
    let took = stopping.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < ekas::run::STOP_WITHIN, "stopped in {took:?}");
    eprintln!("stopped {took:?} after SIGTERM");
    let lease = c.lease().await.unwrap();
    assert!(
        lease["spec"]["holderIdentity"].is_null(),
        "released: {lease}"
    );

    // The oracle: every node ekas cordoned carries its drain's bookkeeping; none is cut in
    // between. And the stop was real: actions after the one under way never began.
    let nodes = c.nodes().await;
    let cordoned: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["spec"]["unschedulable"] == true)
        .collect();
    for n in &cordoned {
        assert!(
            n["metadata"]["annotations"]["ekas/drain-started"].is_string(),
            "cordoned without its drain's record: {n}"
        );
    }
    // SIGTERM came during the first of five drains the pass planned (one node stays for
    // the pods): that one finishes, the rest never begin.
    assert!(!cordoned.is_empty(), "the action under way finished");
    assert!(
        cordoned.len() <= 2,
        "{} nodes cordoned: actions began after SIGTERM",
        cordoned.len()
    );

    // The next process takes the released Lease at once and carries on.
    let second_port = free_port();
    let took_over = Instant::now();
    let second = Ekas::start(&c, &moto, second_port, &args);
    wait_for(
        "the next process to lead",
        Duration::from_secs(15),
        async || {
            http_get(second_port, "/metrics")
                .is_some_and(|(_, b)| metric(&b, "ekas_leader ") == 1.0)
        },
    )
    .await;
    assert!(
        took_over.elapsed() < Duration::from_secs(10),
        "no wait for an expiry"
    );
    assert!(second.stop().success());
    crate::support::manifests::assert_rbac_allows(&kube.request_log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_that_hangs_never_holds_up_a_pass_nor_health() {
    use crate::support::receiver::Receiver;
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = TestCluster::start().await;
    // Pods no group can take: each pass has something to say.
    for i in 0..3 {
        c.add_pod(pod(&format!("huge-{i}"), "100", "1Gi")).await;
    }
    // Every post hangs past --slack-timeout.
    let slack = Receiver::start_slow(200, Duration::from_secs(30));
    let hook = format!("{}/hook", slack.url);
    let port = free_port();
    let ekas = Ekas::start(
        &c,
        &moto,
        port,
        &[
            "--sleep",
            "1",
            "--slack-hook",
            &hook,
            "--slack-timeout",
            "10s",
        ],
    );
    let started = Instant::now();
    wait_for("five passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 5.0)
    })
    .await;
    // Five passes at --sleep 1 (not five Slack timeouts): the posts wait on their own.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let body = http_get(port, "/metrics").unwrap().1;
    assert!(
        metric(&body, "ekas_pass_duration_seconds_sum")
            < metric(&body, "ekas_pass_duration_seconds_count"),
        "passes take well under a second: {body}"
    );
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    assert!(ekas.stop().success());
}

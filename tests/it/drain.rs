//! Cordon ownership and `ekas drain` with the real kube client, against the fake API server (or
//! a real cluster named by `EKAS_TEST_KUBECONFIG`).

use std::time::{Duration, Instant};

use ekas::kubernetes::write::{self, Cordon, Uncordon};
use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};

use crate::support::cluster::TestCluster;
use crate::support::*;

fn unschedulable(node: &Node) -> bool {
    node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true)
}

fn label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

fn annotation<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ekas_uncordons_only_what_it_cordoned() {
    let c = TestCluster::start().await;
    c.node("free", json!({})).await;
    c.node("by-hand", json!({"spec": {"unschedulable": true}}))
        .await;
    c.node(
        "by-old-tool",
        json!({"metadata": {"labels": {"openai/cordoned-by-autoscaler": "true"}},
               "spec": {"unschedulable": true}}),
    )
    .await;
    let client = &c.client;

    let free = c.node_name("free");
    assert_eq!(
        write::cordon(client, &free, true).await.unwrap(),
        Cordon::Cordoned
    );
    let node = c.get_node("free").await;
    assert!(unschedulable(&node));
    assert_eq!(label(&node, "ekas/cordoned"), Some("true"));
    assert_eq!(
        write::uncordon(client, &free).await.unwrap(),
        Uncordon::Uncordoned
    );
    let node = c.get_node("free").await;
    assert!(!unschedulable(&node));
    assert_eq!(label(&node, "ekas/cordoned"), None);
    assert_eq!(
        write::uncordon(client, &free).await.unwrap(),
        Uncordon::NotCordoned
    );

    // A person's cordon is not claimed by cordoning again, and never lifted.
    let by_hand = c.node_name("by-hand");
    assert_eq!(
        write::cordon(client, &by_hand, true).await.unwrap(),
        Cordon::AlreadyUnschedulable
    );
    assert_eq!(
        write::uncordon(client, &by_hand).await.unwrap(),
        Uncordon::NotOurs
    );
    let node = c.get_node("by-hand").await;
    assert!(unschedulable(&node));
    assert_eq!(label(&node, "ekas/cordoned"), None);

    // The original tool's label is honoured, and removed with the cordon.
    let old = c.node_name("by-old-tool");
    assert_eq!(
        write::uncordon(client, &old).await.unwrap(),
        Uncordon::Uncordoned
    );
    let node = c.get_node("by-old-tool").await;
    assert!(!unschedulable(&node));
    assert_eq!(label(&node, "openai/cordoned-by-autoscaler"), None);

    let err = write::cordon(client, &c.node_name("missing"), true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing not found"), "{err}");
    c.cleanup().await;
}

fn drain_args<'a>(c: &'a TestCluster, nodes: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "drain",
        "--kubeconfig",
        c.kubeconfig_arg(),
        "--min-pod-age",
        "0",
    ];
    args.extend(nodes.iter().map(String::as_str));
    args.extend_from_slice(extra);
    args
}

/// Runs `ekas` on a thread, so the test can change the cluster while it works.
fn spawn_ekas(args: Vec<String>) -> std::thread::JoinHandle<std::process::Output> {
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ekas(&args)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_evicts_jobs_leaves_daemonsets_and_mirrors_and_waits_for_the_budget() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    c.node("n2", json!({})).await;
    let job = c.owner("Job", "batch").await;
    let ds = c.owner("DaemonSet", "logs").await;
    let web = c.owner("Job", "web").await;
    c.pod("job-a", "n1", Some(job.clone()), json!({})).await;
    c.pod("job-b", "n1", Some(job), json!({})).await;
    c.pod("logs-n1", "n1", Some(ds), json!({})).await;
    let mirror = json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}}});
    c.pod("static-n1", "n1", None, mirror).await;
    // Two healthy web pods and a budget of two: none may go until a third is up.
    let app = json!({"metadata": {"labels": {"app": "web"}}});
    c.pod("web-1", "n1", Some(web.clone()), app.clone()).await;
    c.pod("web-2", "n2", Some(web.clone()), app.clone()).await;
    c.pdb("web", 2, json!({"app": "web"})).await;

    let nodes = [c.node_name("n1")];
    let args: Vec<String> = drain_args(&c, &nodes, &["--timeout", "60"])
        .into_iter()
        .map(String::from)
        .collect();
    let drain = spawn_ekas(args);

    wait_for(
        "the job pods to be evicted",
        Duration::from_secs(30),
        async || {
            let names = c.pod_names().await;
            !names.contains(&"job-a".to_string()) && !names.contains(&"job-b".to_string())
        },
    )
    .await;
    if let Some(fake) = &c.fake {
        wait_for("a refused eviction", Duration::from_secs(30), async || {
            fake.refused_evictions() > 0
        })
        .await;
    } else {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let node = c.get_node("n1").await;
    assert!(unschedulable(&node), "cordoned while draining");
    assert!(annotation(&node, "ekas/drain-started").is_some());
    assert!(c.pod_names().await.contains(&"web-1".to_string()));

    c.pod("web-3", "n2", Some(web), app).await;
    let out = drain.join().unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        c.pod_names().await,
        ["logs-n1", "static-n1", "web-2", "web-3"]
    );
    let node = c.get_node("n1").await;
    assert!(unschedulable(&node));
    // An operator's drain stays the operator's cordon: the autoscaler will not lift it.
    assert_eq!(label(&node, "ekas/cordoned"), None);
    assert!(annotation(&node, "ekas/drained-at").is_some());
    assert_eq!(annotation(&node, "ekas/drain-started"), None);
    let text = stdout(&out);
    assert!(text.contains("drained"), "{text}");
    if let Some(fake) = &c.fake {
        let mut evicted = fake.evictions();
        evicted.sort();
        let ns = &c.namespace;
        assert_eq!(
            evicted,
            [
                format!("{ns}/job-a"),
                format!("{ns}/job-b"),
                format!("{ns}/web-1")
            ]
        );
    }
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_without_a_controller_stops_the_drain_before_anything_changes() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    let job = c.owner("Job", "batch").await;
    c.pod("job-a", "n1", Some(job), json!({})).await;
    c.pod("bare", "n1", None, json!({})).await;
    let keep = json!({"metadata": {"annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}}});
    let owner = c.owner("Job", "precious").await;
    c.pod("precious", "n1", Some(owner), keep).await;
    let before = c.state().await;

    let nodes = [c.node_name("n1")];
    let out = ekas(&drain_args(&c, &nodes, &[]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("bare") && text.contains("not owned by a controller"),
        "{text}"
    );
    assert!(
        text.contains("precious") && text.contains("safe-to-evict"),
        "{text}"
    );
    assert!(stderr(&out).contains("not drained"), "{}", stderr(&out));
    assert_eq!(c.state().await, before, "nothing changed");

    // --force takes the unmanaged pod, never the one marked safe-to-evict=false.
    let out = ekas(&drain_args(&c, &nodes, &["--force"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout(&out).contains("bare"), "{}", stdout(&out));
    assert_eq!(c.state().await, before, "still nothing changed");
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_that_times_out_reports_the_pods_left_and_why() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    let web = c.owner("Job", "web").await;
    let app = json!({"metadata": {"labels": {"app": "web"}}});
    c.pod("web-1", "n1", Some(web.clone()), app.clone()).await;
    c.pdb("web", 1, json!({"app": "web"})).await;
    let job = c.owner("Job", "batch").await;
    c.pod("job-a", "n1", Some(job), json!({})).await;

    let nodes = [c.node_name("n1")];
    let out = ekas(&drain_args(
        &c,
        &nodes,
        &["--timeout", "3s", "--output", "table"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains("web-1"), "{text}");
    assert!(text.contains("eviction refused"), "{text}");
    assert!(text.contains("disruption budget"), "{text}");
    assert!(
        stderr(&out).contains("1 of 1 nodes not drained"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.pod_names().await, ["web-1"]);
    let node = c.get_node("n1").await;
    assert!(unschedulable(&node), "left cordoned");
    assert!(
        annotation(&node, "ekas/drain-started").is_some(),
        "resumable"
    );

    // The JSON report says the same.
    let out = ekas(&drain_args(
        &c,
        &nodes,
        &["--timeout", "1s", "--output", "json"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["result"], "timedOut");
    assert_eq!(
        report[0]["remaining"][0]["pod"],
        format!("{}/web-1", c.namespace)
    );
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn young_pods_are_evicted_once_past_the_grace_period() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    let job = c.owner("Job", "batch").await;
    c.pod("job-a", "n1", Some(job), json!({})).await;
    let nodes = [c.node_name("n1")];
    let mut args = vec!["drain", "--kubeconfig", c.kubeconfig_arg(), &nodes[0]];
    // Creation times are whole seconds: 3s of grace leave at least 2s to wait.
    args.extend(["--min-pod-age", "3s", "--timeout", "30s"]);
    let start = Instant::now();
    let out = ekas(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "waited for the grace"
    );
    assert!(c.pod_names().await.is_empty());
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_drain_changes_nothing() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    c.node("n2", json!({})).await;
    let job = c.owner("Job", "batch").await;
    c.pod("job-a", "n1", Some(job.clone()), json!({})).await;
    c.pod("job-b", "n2", Some(job), json!({})).await;
    let before = c.state().await;
    let nodes = [c.node_name("n1"), c.node_name("n2")];
    let out = ekas(&drain_args(&c, &nodes, &["--dry-run"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("would drain") && text.contains("job-a") && text.contains("job-b"),
        "{text}"
    );
    assert_eq!(c.state().await, before);
    if let Some(fake) = &c.fake {
        assert!(fake.evictions().is_empty());
    }
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_a_missing_node_names_it() {
    let c = TestCluster::start().await;
    let nodes = [c.node_name("ghost")];
    let out = ekas(&drain_args(&c, &nodes, &[]));
    assert_eq!(out.status.code(), Some(1));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains(&format!("node {} not found", nodes[0])),
        "{text}"
    );
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_looks_again_for_pods_that_arrived_after_the_plan() {
    use ekas::actuate::maintenance::safe_to_terminate;
    use ekas::engine::scale_in::drain::DrainPolicy;
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    let ds = c.owner("DaemonSet", "logs").await;
    c.pod("logs-n1", "n1", Some(ds), json!({})).await;
    let node = c.node_name("n1");
    let policy = DrainPolicy::default();
    let now = jiff::Timestamp::now();
    // Only a DaemonSet pod: still idle.
    safe_to_terminate(&c.client, &node, false, &policy, now)
        .await
        .unwrap();
    // A job landed since the plan: the idle node is not idle any more.
    let job = c.owner("Job", "late").await;
    c.pod("late", "n1", Some(job), json!({})).await;
    let err = safe_to_terminate(&c.client, &node, false, &policy, now)
        .await
        .unwrap_err();
    assert!(
        err.message.contains(&format!("{}/late", c.namespace)),
        "{err}"
    );
    // Planned dead, but Ready when read again: not terminated.
    let late_enough = now + jiff::SignedDuration::from_hours(1);
    let err = safe_to_terminate(&c.client, &node, true, &policy, late_enough)
        .await
        .unwrap_err();
    assert!(err.message.contains("Ready again"), "{err}");
    // NotReady, its kubelet silent for an hour: dead. Its evictable pods are lost with it
    // anyway, but never a pod that must stay.
    let silent = json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown",
        "lastHeartbeatTime": now.to_string(), "lastTransitionTime": now.to_string()}]}});
    use kube::api::{Api, Patch, PatchParams};
    Api::<k8s_openapi::api::core::v1::Node>::all(c.client.clone())
        .patch_status(&node, &PatchParams::default(), &Patch::Merge(&silent))
        .await
        .unwrap();
    safe_to_terminate(&c.client, &node, true, &policy, late_enough)
        .await
        .unwrap();
    let keep = json!({"metadata": {"annotations": {"ekas/do-not-drain": "true"}}});
    let owner = c.owner("Job", "keep").await;
    c.pod("keep", "n1", Some(owner), keep).await;
    let err = safe_to_terminate(&c.client, &node, true, &policy, late_enough)
        .await
        .unwrap_err();
    assert!(err.message.contains("keep"), "{err}");
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_drain_flags_mean_what_they_mean_in_kubectl() {
    let c = TestCluster::start().await;
    c.node("n1", json!({})).await;
    let job = c.owner("Job", "batch").await;
    let etl = json!({"metadata": {"labels": {"app": "etl"}}});
    c.pod("etl-1", "n1", Some(job.clone()), etl).await;
    // Not selected, and not evictable either: outside the selector it neither blocks nor goes.
    c.pod("bare", "n1", None, json!({})).await;
    let nodes = [c.node_name("n1")];

    // kubectl drain's --disable-eviction deletes pods around their budgets: refused, and
    // nothing changes.
    let before = c.state().await;
    let out = ekas(&drain_args(&c, &nodes, &["--disable-eviction"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Eviction API"), "{}", stderr(&out));
    assert_eq!(c.state().await, before);

    // --grace-period is each pod's termination grace, in seconds; --ignore-daemonsets is
    // accepted; --pod-selector limits the drain to the pods it selects. A real cluster without
    // a kubelet ends only pods deleted with grace 0; the fake records the grace it was given.
    let grace = if c.fake.is_some() { "7" } else { "0" };
    let out = ekas(&drain_args(
        &c,
        &nodes,
        &[
            "--grace-period",
            grace,
            "--ignore-daemonsets",
            "--pod-selector",
            "app=etl",
            "--timeout",
            "30s",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(c.pod_names().await, ["bare"]);
    let node = c.get_node("n1").await;
    assert!(unschedulable(&node));
    // Pods outside the selector still run there: the node is not recorded as drained.
    assert_eq!(annotation(&node, "ekas/drained-at"), None);
    assert_eq!(annotation(&node, "ekas/drain-started"), None);
    if let Some(fake) = &c.fake {
        assert_eq!(fake.eviction_grace_periods(), [Some(7)]);
    }

    // Without --grace-period (kubectl's -1), each pod keeps its own grace.
    c.pod(
        "etl-2",
        "n1",
        Some(job),
        json!({"metadata": {"labels": {"app": "etl"}}}),
    )
    .await;
    let out = ekas(&drain_args(&c, &nodes, &["--pod-selector", "app=etl"]));
    assert!(out.status.success(), "{}", stderr(&out));
    if let Some(fake) = &c.fake {
        assert_eq!(fake.eviction_grace_periods(), [Some(7), None]);
    }
    c.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoning_drops_drain_records_ekas_did_not_write() {
    let c = TestCluster::start().await;
    let stale = json!({"metadata": {"annotations": {
        "ekas/drain-started": "2026-01-01T00:00:00Z",
        "ekas/drained-at": "2026-01-02T00:00:00Z"}}});
    c.node("stale", stale.clone()).await;
    let mut by_hand = stale;
    by_hand["spec"] = json!({"unschedulable": true});
    c.node("by-hand", by_hand).await;
    let client = &c.client;

    // Left over from somebody else: a claimed node with it would be taken for ekas's drain.
    write::cordon(client, &c.node_name("stale"), true)
        .await
        .unwrap();
    let node = c.get_node("stale").await;
    assert_eq!(annotation(&node, "ekas/drain-started"), None);
    assert_eq!(annotation(&node, "ekas/drained-at"), None);
    assert_eq!(label(&node, "ekas/cordoned"), Some("true"));
    // ekas's own drain record goes with its cordon.
    write::annotate(
        client,
        &c.node_name("stale"),
        &[("ekas/drained-at", Some("2026-11-27T12:00:00Z".into()))],
    )
    .await
    .unwrap();
    write::uncordon(client, &c.node_name("stale"))
        .await
        .unwrap();
    assert_eq!(
        annotation(&c.get_node("stale").await, "ekas/drained-at"),
        None
    );

    // A node somebody else cordoned keeps what they wrote.
    assert_eq!(
        write::cordon(client, &c.node_name("by-hand"), true)
            .await
            .unwrap(),
        Cordon::AlreadyUnschedulable
    );
    let node = c.get_node("by-hand").await;
    assert!(annotation(&node, "ekas/drain-started").is_some());
    c.cleanup().await;
}

//! `ekas reap` and `ekas scale-up` end to end: moto for AWS, the test's cluster (the fake API
//! server, or a real one) for Kubernetes, the real binary in between.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::cluster::TestCluster;
use crate::support::groups::{REGION, group, reap_args, workers};
use crate::support::moto::Moto;
use crate::support::receiver::Receiver;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_node_is_marked_then_cordoned_then_terminated() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 2).await;
    let c = TestCluster::start().await;
    c.instance_node("idle", &ids[0], json!({})).await;
    c.instance_node("busy", &ids[1], json!({})).await;
    let mut job = pod("job", "1", "1Gi");
    job["spec"]["nodeName"] = json!(c.node_name("busy"));
    job["status"]["phase"] = json!("Running");
    c.add_pod(job).await;
    let kubeconfig = c.kubeconfig_arg();
    let slack = Receiver::start(200);
    let hook = format!("{}/services/T0/B0/SECRET123", slack.url);
    let args = reap_args(kubeconfig, &["--slack-hook", &hook, "-vv"]);

    let mut logs = String::new();
    let mut reap = || {
        let out = ekas_with_env(&args, &moto.env());
        logs.push_str(&stderr(&out));
        out
    };

    // 1st pass: idle for the first time — remembered on the node.
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    let idle = c.node_object("idle").await.unwrap();
    assert!(idle["metadata"]["annotations"]["ekas/idle-since"].is_string());
    let busy = c.node_object("busy").await.unwrap();
    assert!(busy["metadata"]["annotations"]["ekas/idle-since"].is_null());
    assert!(stdout(&out).contains("mark-idle"), "{}", stdout(&out));

    // 2nd pass, past the threshold: cordoned, and claimed by ekas.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    let idle = c.node_object("idle").await.unwrap();
    assert_eq!(idle["spec"]["unschedulable"], true);
    assert_eq!(idle["metadata"]["labels"]["ekas/cordoned"], "true");
    assert_eq!(group(&moto).await.0, 2);

    // 3rd pass: terminated with the group shrinking, and the Node deleted.
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(c.node_object("idle").await.is_none(), "node deleted");
    assert!(c.node_object("busy").await.is_some());
    let (desired, live) = group(&moto).await;
    assert_eq!(desired, 1, "desired decremented");
    assert_eq!(live, [ids[1].clone()]);

    // Idempotent: nothing more to do.
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(group(&moto).await.0, 1);

    let texts = slack.texts();
    assert!(
        texts.iter().any(
            |t| t.contains(&format!("Terminated node {}", c.node_name("idle")))
                && t.contains(&ids[0])
        ),
        "{texts:?}"
    );
    assert!(
        !logs.contains("SECRET123"),
        "the hook never appears in logs"
    );
    assert!(logs.contains("INFO"), "-vv logs were captured");
    // The lease was released after each pass.
    let lease = c.lease().await.unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_never_joined_is_replaced_and_dry_run_changes_nothing() {
    let moto = Moto::start();
    let ids = workers(&moto, 1, 1).await;
    let c = TestCluster::start().await;
    let kubeconfig = c.kubeconfig_arg();

    let everything = async || {
        let fake = c.fake.as_ref().map(|f| f.all_objects());
        (c.state().await, c.lease().await, fake, group(&moto).await)
    };
    let before = everything().await;
    let dry = reap_args(kubeconfig, &["--instance-init-time", "0", "--dry-run"]);
    let out = ekas_with_env(&dry, &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dry run, would"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&ids[0]), "{}", stdout(&out));
    assert_eq!(everything().await, before);

    // Waited for while young.
    let out = ekas_with_env(&reap_args(kubeconfig, &[]), &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(group(&moto).await.1, ids);

    // Replaced once past --instance-init-time, even at MinSize: desired stays.
    let out = ekas_with_env(
        &reap_args(kubeconfig, &["--instance-init-time", "0"]),
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (desired, live) = group(&moto).await;
    assert_eq!(desired, 1);
    assert_eq!(live.len(), 1);
    assert_ne!(live, ids, "a new instance replaced it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_stops_reap_before_it_acts() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let c = Arc::new(TestCluster::start().await);
    let marked = json!({"metadata": {"annotations": {"ekas/idle-since": "2026-01-01T00:00:00Z"}}});
    c.instance_node("idle", &ids[0], marked).await;
    // A live holder: it renews while reap looks.
    let stop = Arc::new(AtomicBool::new(false));
    let holder = crate::support::lease::hold_lease(
        c.clone(),
        "ekas-run-7d9f",
        jiff::SignedDuration::ZERO,
        stop.clone(),
    )
    .await;
    let before = c.state().await;
    let out = ekas_with_env(&reap_args(c.kubeconfig_arg(), &[]), &moto.env());
    stop.store(true, Ordering::Relaxed);
    holder.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("held by ekas-run-7d9f"),
        "{}",
        stderr(&out)
    );
    assert_eq!(c.state().await, before, "nothing changed");
    assert_eq!(c.lease_holder().await.as_deref(), Some("ekas-run-7d9f"));
    if let Some(kube) = c.fake_checks("the fake's record of writes: none at all") {
        assert!(
            kube.writes().is_empty(),
            "nothing changed: {:?}",
            kube.writes()
        );
    }
    assert_eq!(group(&moto).await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_up_uncordons_a_node_ekas_cordoned_before_adding_capacity() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let c = TestCluster::start().await;
    let cordoned = json!({"metadata": {"labels": {"ekas/cordoned": "true"},
        "annotations": {"ekas/idle-since": "2026-01-01T00:00:00Z"}},
        "spec": {"unschedulable": true}});
    c.instance_node("spare", &ids[0], cordoned).await;
    // One pod fits the spare; five more need new nodes.
    c.add_pod(pod("small", "500m", "1Gi")).await;
    for i in 0..5 {
        c.add_pod(pod(&format!("big-{i}"), "3", "8Gi")).await;
    }
    let slack = Receiver::start(500);
    let hook = format!("{}/hook/SECRET123", slack.url);
    let out = ekas_with_env(
        &[
            "scale-up",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            // The spare joined long ago (a real API server makes every Node new).
            "--launch-grace",
            "0",
            "--slack-hook",
            &hook,
            "-vv",
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let spare = c.node_object("spare").await.unwrap();
    assert!(spare["spec"]["unschedulable"].is_null(), "{spare}");
    assert!(spare["metadata"]["labels"]["ekas/cordoned"].is_null());
    assert!(spare["metadata"]["annotations"]["ekas/idle-since"].is_null());
    // The spare takes a big pod and `small` (3.5 of 3.92 cpu); four bigs need four new nodes.
    let (desired, _) = group(&moto).await;
    assert_eq!(desired, 5, "{}", stdout(&out));
    // Slack refused every post: logged, without the hook, and no failure.
    assert!(!slack.texts().is_empty());
    assert!(
        stderr(&out).contains("Slack notification refused"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("SECRET123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_whose_instance_is_gone_are_deleted_and_others_kept() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let clients = moto.clients(&[REGION]).await;
    // Terminated behind ekas's back: the group forgets it and launches a replacement.
    clients[0]
        .ec2
        .terminate_instances()
        .instance_ids(&ids[0])
        .send()
        .await
        .unwrap();
    // Running, but in no group ekas manages (a control-plane node, say).
    let other = clients[0]
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let other = other.instances()[0].instance_id().unwrap().to_string();
    let c = TestCluster::start().await;
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    c.instance_node("terminated", &ids[0], not_ready.clone())
        .await;
    // Instances EC2 does not know: one whose kubelet is silent, one whose kubelet reports.
    c.instance_node("forgotten", "i-0123456789abcdef0", not_ready.clone())
        .await;
    c.instance_node("still-reporting", "i-0123456789abcdef1", json!({}))
        .await;
    c.instance_node("control", &other, json!({})).await;
    let reap = || {
        let out = ekas_with_env(&reap_args(c.kubeconfig_arg(), &[]), &moto.env());
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        out
    };
    let out = reap();
    assert!(
        c.node_object("terminated").await.is_none(),
        "EC2 says terminated and the Node is NotReady: {}",
        stdout(&out)
    );
    // One NotFound is not enough: it is remembered on the Node.
    let first_look = async |name: &str| {
        c.node_object(name).await.unwrap()["metadata"]["annotations"]
            ["ekas/instance-not-found-since"]
            .as_str()
            .map(str::to_string)
    };
    let marked = first_look("forgotten")
        .await
        .expect("the first NotFound is recorded");
    assert!(first_look("still-reporting").await.is_some());
    // A second look within five minutes changes nothing.
    reap();
    assert_eq!(
        first_look("forgotten").await.as_deref(),
        Some(marked.as_str())
    );
    // Five minutes on (the annotation says when EC2 first answered), the silent one goes.
    for name in ["forgotten", "still-reporting"] {
        let since = json!({"metadata": {"annotations":
            {"ekas/instance-not-found-since": "2026-01-01T00:00:00Z"}}});
        c.patch_node(name, since).await;
    }
    let out = reap();
    assert!(
        c.node_object("forgotten").await.is_none(),
        "{}",
        stdout(&out)
    );
    assert!(
        c.node_object("still-reporting").await.is_some(),
        "a Ready Node is never deleted for a NotFound"
    );
    assert!(c.node_object("control").await.is_some());
}

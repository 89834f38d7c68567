//! `ekas reap` and `ekas scale-up` end to end: moto for AWS, the fake API server for
//! Kubernetes, the real binary in between.

use serde_json::{Value, json};

use crate::support::fake_kube::FakeKube;
use crate::support::groups::{REGION, group, node, reap_args, workers};
use crate::support::moto::Moto;
use crate::support::receiver::Receiver;
use crate::support::*;

fn node_object(kube: &FakeKube, name: &str) -> Option<Value> {
    kube.object("nodes", None, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_node_is_marked_then_cordoned_then_terminated() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 2).await;
    let kube = FakeKube::start();
    kube.add("/api/v1/nodes", node("idle", &ids[0], json!({})));
    kube.add("/api/v1/nodes", node("busy", &ids[1], json!({})));
    let mut job = pod("job", "1", "1Gi");
    job["spec"]["nodeName"] = json!("busy");
    job["status"]["phase"] = json!("Running");
    kube.add("/api/v1/pods", job);
    let kubeconfig = kube.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
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
    let idle = node_object(&kube, "idle").unwrap();
    assert!(idle["metadata"]["annotations"]["ekas/idle-since"].is_string());
    assert!(
        node_object(&kube, "busy").unwrap()["metadata"]["annotations"]["ekas/idle-since"].is_null()
    );
    assert!(stdout(&out).contains("mark-idle"), "{}", stdout(&out));

    // 2nd pass, past the threshold: cordoned, and claimed by ekas.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    let idle = node_object(&kube, "idle").unwrap();
    assert_eq!(idle["spec"]["unschedulable"], true);
    assert_eq!(idle["metadata"]["labels"]["ekas/cordoned"], "true");
    assert_eq!(group(&moto).await.0, 2);

    // 3rd pass: terminated with the group shrinking, and the Node deleted.
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(node_object(&kube, "idle").is_none(), "node deleted");
    assert!(node_object(&kube, "busy").is_some());
    let (desired, live) = group(&moto).await;
    assert_eq!(desired, 1, "desired decremented");
    assert_eq!(live, [ids[1].clone()]);

    // Idempotent: nothing more to do.
    let out = reap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(group(&moto).await.0, 1);

    let texts = slack.texts();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Terminated node idle") && t.contains(&ids[0])),
        "{texts:?}"
    );
    assert!(
        !logs.contains("SECRET123"),
        "the hook never appears in logs"
    );
    assert!(logs.contains("INFO"), "-vv logs were captured");
    // The lease was released after each pass.
    let lease = kube.object("leases", Some("ekas"), "ekas").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_never_joined_is_replaced_and_dry_run_changes_nothing() {
    let moto = Moto::start();
    let ids = workers(&moto, 1, 1).await;
    let kube = FakeKube::start();
    let kubeconfig = kube.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();

    let before = (kube.all_objects(), group(&moto).await);
    let dry = reap_args(kubeconfig, &["--instance-init-time", "0", "--dry-run"]);
    let out = ekas_with_env(&dry, &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dry run, would"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&ids[0]), "{}", stdout(&out));
    assert_eq!((kube.all_objects(), group(&moto).await), before);

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
    let kube = std::sync::Arc::new(FakeKube::start());
    let marked = json!({"metadata": {"annotations": {"ekas/idle-since": "2026-01-01T00:00:00Z"}}});
    kube.add("/api/v1/nodes", node("idle", &ids[0], marked));
    // A live holder: it renews while reap looks.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let holder = crate::support::lease::hold_lease(
        kube.clone(),
        "ekas-run-7d9f",
        jiff::SignedDuration::ZERO,
        stop.clone(),
    );
    let kubeconfig = kube.kubeconfig();
    let out = ekas_with_env(&reap_args(kubeconfig.to_str().unwrap(), &[]), &moto.env());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    holder.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("held by ekas-run-7d9f"),
        "{}",
        stderr(&out)
    );
    assert!(
        kube.writes().is_empty(),
        "nothing changed: {:?}",
        kube.writes()
    );
    assert_eq!(group(&moto).await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_up_uncordons_a_node_ekas_cordoned_before_adding_capacity() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let kube = FakeKube::start();
    let cordoned = json!({"metadata": {"labels": {"ekas/cordoned": "true"},
        "annotations": {"ekas/idle-since": "2026-01-01T00:00:00Z"}},
        "spec": {"unschedulable": true}});
    kube.add("/api/v1/nodes", node("spare", &ids[0], cordoned));
    // One pod fits the spare; five more need new nodes.
    kube.add("/api/v1/pods", pod("small", "500m", "1Gi"));
    for i in 0..5 {
        kube.add("/api/v1/pods", pod(&format!("big-{i}"), "3", "8Gi"));
    }
    let kubeconfig = kube.kubeconfig();
    let slack = Receiver::start(500);
    let hook = format!("{}/hook/SECRET123", slack.url);
    let out = ekas_with_env(
        &[
            "scale-up",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--slack-hook",
            &hook,
            "-vv",
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let spare = node_object(&kube, "spare").unwrap();
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
    let kube = FakeKube::start();
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    kube.add(
        "/api/v1/nodes",
        node("terminated", &ids[0], not_ready.clone()),
    );
    // Instances EC2 does not know: one whose kubelet is silent, one whose kubelet reports.
    kube.add(
        "/api/v1/nodes",
        node("forgotten", "i-0123456789abcdef0", not_ready.clone()),
    );
    kube.add(
        "/api/v1/nodes",
        node("still-reporting", "i-0123456789abcdef1", json!({})),
    );
    kube.add("/api/v1/nodes", node("control", &other, json!({})));
    let kubeconfig = kube.kubeconfig();
    let reap = || {
        let out = ekas_with_env(&reap_args(kubeconfig.to_str().unwrap(), &[]), &moto.env());
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        out
    };
    let out = reap();
    assert!(
        node_object(&kube, "terminated").is_none(),
        "EC2 says terminated and the Node is NotReady: {}",
        stdout(&out)
    );
    // One NotFound is not enough: it is remembered on the Node.
    let first_look = |name: &str| {
        node_object(&kube, name).unwrap()["metadata"]["annotations"]
            ["ekas/instance-not-found-since"]
            .as_str()
            .map(str::to_string)
    };
    let marked = first_look("forgotten").expect("the first NotFound is recorded");
    assert!(first_look("still-reporting").is_some());
    // A second look within five minutes changes nothing.
    reap();
    assert_eq!(first_look("forgotten").as_deref(), Some(marked.as_str()));
    // Five minutes on (the annotation says when EC2 first answered), the silent one goes.
    for name in ["forgotten", "still-reporting"] {
        kube.set("nodes", None, name, |n| {
            n["metadata"]["annotations"]["ekas/instance-not-found-since"] =
                json!("2026-01-01T00:00:00Z");
        });
    }
    let out = reap();
    assert!(
        node_object(&kube, "forgotten").is_none(),
        "{}",
        stdout(&out)
    );
    assert!(
        node_object(&kube, "still-reporting").is_some(),
        "a Ready Node is never deleted for a NotFound"
    );
    assert!(node_object(&kube, "control").is_some());
}

//! `ekas run --interruption-queue` end to end: moto's SQS carries the EventBridge events, the
//! fake API server holds the nodes and pods, and a fault proxy answers the lifecycle hook call
//! (moto does not keep lifecycle actions).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::fake_kube::FakeKube;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::groups::{REGION, workers};
use crate::support::moto::Moto;
use crate::support::simulator::simulate;
use crate::support::*;

const COMPLETED: &str = "<CompleteLifecycleActionResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\">\
    <CompleteLifecycleActionResult/><ResponseMetadata><RequestId>injected</RequestId></ResponseMetadata>\
    </CompleteLifecycleActionResponse>";

/// (visible, hidden) messages on the queue.
async fn queue_counts(sqs: &aws_sdk_sqs::Client, url: &str) -> (u32, u32) {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(Name::All)
        .send()
        .await
        .unwrap();
    let count = |name| {
        attrs
            .attributes()
            .and_then(|a| a.get(&name))
            .map_or(0, |v| v.parse::<u32>().unwrap())
    };
    (
        count(Name::ApproximateNumberOfMessages),
        count(Name::ApproximateNumberOfMessagesNotVisible),
    )
}

fn spot_warning(instance: &str) -> String {
    json!({"version": "0", "id": "e-1", "detail-type": "EC2 Spot Instance Interruption Warning",
        "source": "aws.ec2", "time": jiff::Timestamp::now().to_string(), "region": REGION,
        "resources": [format!("arn:aws:ec2:{REGION}:123456789012:instance/{instance}")],
        "detail": {"instance-id": instance, "instance-action": "terminate"}})
    .to_string()
}

fn terminating_hook(instance: &str) -> String {
    json!({"Origin": "AutoScalingGroup", "Destination": "EC2", "Service": "AWS Auto Scaling",
        "AutoScalingGroupName": "workers", "LifecycleHookName": "ekas-drain",
        "LifecycleActionToken": "token-1", "EC2InstanceId": instance,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruption_notices_drain_their_nodes_at_once_and_only_once() {
    let moto = Arc::new(Moto::start());
    let ids = workers(&moto, 0, 2).await;
    let kube = Arc::new(FakeKube::start());
    // The scheduler simulator fits 15 pods a node: the 16th lands on the second.
    for i in 0..16 {
        kube.add("/api/v1/pods", pod(&format!("job-{i:02}"), "250m", "256Mi"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(kube.clone(), moto.clone(), stop.clone()));
    let sqs = moto.clients(&[REGION]).await[0].sqs.clone();
    let url = sqs
        .create_queue()
        .queue_name("ekas-interruptions")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    wait_for("both pods running", Duration::from_secs(30), async || {
        kube.objects("pods")
            .iter()
            .all(|p| p["status"]["phase"] == "Running")
    })
    .await;
    let node_of = |instance: &str| format!("node-{instance}");
    let mut pods: Vec<String> = kube
        .objects("pods")
        .iter()
        .map(|p| format!("batch/{}", p["metadata"]["name"].as_str().unwrap()))
        .collect();
    pods.sort();
    for id in &ids {
        assert!(
            kube.objects("pods")
                .iter()
                .any(|p| p["spec"]["nodeName"] == node_of(id).as_str()),
            "a pod on each node"
        );
    }

    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(
        "CompleteLifecycleAction",
        None,
        Fault::Respond(COMPLETED.into()),
    );
    let port = free_port();
    let mut cmd = Ekas::command(
        &kube,
        port,
        &[
            "--sleep",
            "1",
            "--regions",
            REGION,
            "--interruption-queue",
            "ekas-interruptions",
            // Scale-in stays out of the way: the drains here are the interruption handler's.
            "--no-maintenance",
        ],
    );
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let ekas = Ekas(cmd.spawn().unwrap());
    wait_for("a first pass", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 1.0)
    })
    .await;

    for body in [
        spot_warning(&ids[0]),
        spot_warning(&ids[0]),
        "this is not an event".to_string(),
        spot_warning("i-0123456789abcdef0"),
        terminating_hook(&ids[1]),
    ] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    wait_for("both nodes drained", Duration::from_secs(30), async || {
        kube.evictions().len() >= 16
    })
    .await;
    wait_for(
        "every message deleted",
        Duration::from_secs(30),
        async || queue_counts(&sqs, &url).await == (0, 0),
    )
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert!(ekas.stop().success());
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();

    let mut evicted = kube.evictions();
    evicted.sort();
    assert_eq!(
        evicted, pods,
        "each pod once: the duplicate changed nothing"
    );
    // The Spot pod's grace is capped below the two minutes left; the hook gives no deadline.
    let graces = kube.eviction_grace_periods();
    assert!(
        graces
            .iter()
            .any(|g| g.is_some_and(|g| (90..=105).contains(&g))),
        "{graces:?}"
    );
    for id in &ids {
        let node = kube.object("nodes", None, &node_of(id)).unwrap();
        assert_eq!(node["spec"]["unschedulable"], true, "{node}");
        assert!(
            !ekas::model::keys::cordoned_by_ekas(
                &serde_json::from_value(node["metadata"]["labels"].clone()).unwrap_or_default()
            ),
            "not claimed, so scale-in never uncordons it: {node}"
        );
    }
    assert_eq!(proxy.calls("CompleteLifecycleAction"), 1);
    assert_eq!(
        metric(
            &body,
            "ekas_interruptions_total{kind=\"spot-interruption\",group=\"workers\"}"
        ),
        1.0,
        "{body}"
    );
    assert_eq!(
        metric(
            &body,
            "ekas_interruptions_total{kind=\"lifecycle-hook\",group=\"workers\"}"
        ),
        1.0,
        "{body}"
    );
    assert_eq!(
        crate::support::groups::group(&moto).await.0,
        2,
        "the group's desired stays"
    );
    crate::support::manifests::assert_rbac_allows(&kube.request_log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_notices_cordon_and_let_running_jobs_finish() {
    let moto = Arc::new(Moto::start());
    let ids = workers(&moto, 0, 1).await;
    let kube = Arc::new(FakeKube::start());
    kube.add("/api/v1/pods", pod("job-0", "250m", "256Mi"));
    let stop = Arc::new(AtomicBool::new(false));
    let sim = tokio::spawn(simulate(kube.clone(), moto.clone(), stop.clone()));
    let sqs = moto.clients(&[REGION]).await[0].sqs.clone();
    let url = sqs
        .create_queue()
        .queue_name("ekas-interruptions")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    wait_for("the job running", Duration::from_secs(30), async || {
        kube.objects("pods")
            .iter()
            .all(|p| p["status"]["phase"] == "Running")
    })
    .await;
    let port = free_port();
    let ekas = Ekas::start(
        &kube,
        &moto,
        port,
        &[
            "--sleep",
            "1",
            "--interruption-queue",
            &url,
            "--no-maintenance",
        ],
    );
    wait_for("a first pass", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 1.0)
    })
    .await;
    let in_two_hours = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2)).to_string();
    let retirement = json!({"detail-type": "AWS Health Event", "source": "aws.health",
        "detail": {"service": "EC2", "eventTypeCategory": "scheduledChange",
            "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", "startTime": in_two_hours,
            "affectedEntities": [{"entityValue": &ids[0]}]}});
    let rebalance = json!({"detail-type": "EC2 Instance Rebalance Recommendation",
        "source": "aws.ec2", "detail": {"instance-id": &ids[0]}});
    for body in [retirement, rebalance] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }
    let node = format!("node-{}", ids[0]);
    wait_for("the node cordoned", Duration::from_secs(30), async || {
        kube.object("nodes", None, &node).unwrap()["spec"]["unschedulable"] == true
    })
    .await;
    wait_for(
        "the rebalance message deleted, the retirement kept hidden",
        Duration::from_secs(30),
        async || queue_counts(&sqs, &url).await == (0, 1),
    )
    .await;
    // A pass or two later, still nothing evicted: the job finishes where it runs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(ekas.stop().success());
    stop.store(true, Ordering::Relaxed);
    sim.await.unwrap();
    assert_eq!(kube.evictions(), Vec::<String>::new());
}

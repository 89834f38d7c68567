//! `ekas run --interruption-queue` end to end, with messages in the shapes AWS sends them (the
//! fixtures in tests/fixtures/aws-events, their ids and times set for the test): moto's SQS
//! carries them, the test's cluster (the fake API server, or a real one) holds the nodes and
//! pods, and a fault proxy stands in for what moto does not model (an instance in
//! `Terminating:Wait`, CompleteLifecycleAction). On the fake a drain is checked on its record
//! of evictions and of the grace each asked for; on a real cluster an evicted pod is one gone
//! or Terminating (no kubelet ends its grace there), and the grace is not checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::cluster::TestCluster;
use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::groups::{REGION, workers};
use crate::support::moto::Moto;
use crate::support::simulator::{joined, simulate};
use crate::support::*;

const COMPLETED: &str = "<CompleteLifecycleActionResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\">\
    <CompleteLifecycleActionResult/><ResponseMetadata><RequestId>injected</RequestId></ResponseMetadata>\
    </CompleteLifecycleActionResponse>";

/// The fixture's instance, group and times, replaced by the test's.
const FIXTURE_INSTANCE: &str = "i-0abc0000000000001";

/// A message as AWS sends it, from a fixture, with `swaps` made.
fn message(fixture: &str, swaps: &[(&str, &str)]) -> String {
    let path = repo_root().join(format!("tests/fixtures/aws-events/{fixture}.json"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in swaps {
        text = text.replace(from, to);
    }
    text
}

/// An instant as AWS Health writes it: `Tue, 15 Dec 2026 08:00:00 GMT`.
fn rfc_1123(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

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

/// A cluster of `nodes` instances of `workers` with `pods` jobs spread over them, a queue,
/// the simulators, and `ekas run` reading the queue through a fault proxy.
struct Setup {
    moto: Arc<Moto>,
    c: Arc<TestCluster>,
    proxy: FaultProxy,
    ids: Vec<String>,
    sqs: aws_sdk_sqs::Client,
    url: String,
    port: u16,
    /// How many jobs run at the start.
    pods: usize,
    stop: Arc<AtomicBool>,
    sim: tokio::task::JoinHandle<()>,
}

impl Setup {
    async fn start(c: TestCluster, nodes: i32, pods: usize) -> Setup {
        let c = Arc::new(c);
        let moto = Arc::new(Moto::start());
        let ids = workers(&moto, 0, nodes).await;
        for i in 0..pods {
            c.add_pod(pod(&format!("job-{i:02}"), "250m", "256Mi"))
                .await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let sim = tokio::spawn(simulate(c.clone(), moto.clone(), stop.clone()));
        let sqs = moto.clients(&[REGION]).await[0].sqs.clone();
        let url = sqs
            .create_queue()
            .queue_name("ekas-interruptions")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        wait_for("every pod running", Duration::from_secs(30), async || {
            c.pods()
                .await
                .iter()
                .all(|p| p["status"]["phase"] == "Running")
        })
        .await;
        let proxy = FaultProxy::start(&moto.endpoint);
        proxy.inject(
            "CompleteLifecycleAction",
            None,
            Fault::Respond(COMPLETED.into()),
        );
        Setup {
            moto,
            c,
            proxy,
            ids,
            sqs,
            url,
            port: free_port(),
            pods,
            stop,
            sim,
        }
    }

    /// `ekas run` on the queue, scale-in as the loop does it unless `extra` says otherwise.
    async fn ekas(&self, extra: &[&str]) -> Ekas {
        let mut args = vec![
            "--sleep",
            "1",
            "--regions",
            REGION,
            "--interruption-queue",
            "ekas-interruptions",
            "--interruption-retry-after",
            "1s",
        ];
        args.extend_from_slice(extra);
        let mut cmd = Ekas::command(&self.c, self.port, &args);
        cmd.envs(self.moto.env())
            .env("AWS_ENDPOINT_URL", &self.proxy.endpoint);
        let ekas = Ekas(cmd.spawn().unwrap());
        let port = self.port;
        wait_for("a first pass", Duration::from_secs(30), async || {
            http_get(port, "/metrics")
                .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 1.0)
        })
        .await;
        ekas
    }

    async fn send(&self, body: String) {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    async fn queue_empties(&self) {
        wait_for(
            "every message deleted",
            Duration::from_secs(30),
            async || queue_counts(&self.sqs, &self.url).await == (0, 0),
        )
        .await;
    }

    async fn node(&self, i: usize) -> Value {
        self.c.node_object(&joined(&self.ids[i])).await.unwrap()
    }

    /// The fake server (of a test that runs on it only).
    fn fake(&self) -> &crate::support::fake_kube::FakeKube {
        self.c.fake.as_ref().unwrap()
    }

    /// The pods evicted so far, as `namespace/name`: on the fake, its record of evictions; on
    /// a real cluster, the setup's pods that are gone or Terminating (nothing else deletes
    /// them there).
    async fn evicted(&self) -> Vec<String> {
        if let Some(fake) = &self.c.fake {
            return fake.evictions();
        }
        let running = self.c.pod_names().await;
        (0..self.pods)
            .map(|i| format!("job-{i:02}"))
            .filter(|name| !running.contains(name))
            .map(|name| format!("{}/{name}", self.c.namespace))
            .collect()
    }

    fn metrics(&self) -> String {
        http_get(self.port, "/metrics").unwrap().1
    }

    async fn stop(self, ekas: Ekas) -> Arc<TestCluster> {
        assert!(ekas.stop().success());
        self.stop.store(true, Ordering::Relaxed);
        self.sim.await.unwrap();
        self.c
    }
}

/// What a real cluster does not show of a drain.
const GRACES: &str = "the grace each eviction asked for (the fake's record of evictions)";

/// The pods on `node`, as `namespace/name`.
async fn pods_on(c: &TestCluster, node: &str) -> Vec<String> {
    let mut pods: Vec<String> = c
        .pods()
        .await
        .iter()
        .filter(|p| p["spec"]["nodeName"] == node)
        .map(|p| {
            format!(
                "{}/{}",
                c.namespace,
                p["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    pods.sort();
    pods
}

fn annotation<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    node["metadata"]["annotations"][key].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_warning_drains_at_once_and_a_lifecycle_hook_waits_for_jobs_then_continues() {
    // 15 pods a node on the fake: the 16th lands on the second.
    let s = Setup::start(TestCluster::start().await, 2, 16).await;
    let client = &s.moto.clients(&[REGION]).await[0];
    client
        .autoscaling
        .put_lifecycle_hook()
        .auto_scaling_group_name("workers")
        .lifecycle_hook_name("ekas-drain")
        .lifecycle_transition("autoscaling:EC2_INSTANCE_TERMINATING")
        .heartbeat_timeout(300)
        .send()
        .await
        .unwrap();
    // moto does not model a hook holding an instance: the group says so through the proxy.
    s.proxy.inject(
        "DescribeAutoScalingInstances",
        Some(&s.ids[1]),
        Fault::Rewrite {
            from: "<LifecycleState>InService</LifecycleState>".into(),
            to: "<LifecycleState>Terminating:Wait</LifecycleState>".into(),
        },
    );
    let ekas = s
        .ekas(&["--no-maintenance", "--lifecycle-hook-max-wait", "3s"])
        .await;
    let on_second = pods_on(&s.c, &s.c.node_name(&joined(&s.ids[1]))).await;
    let now = Timestamp::now().to_string();
    let spot = message(
        "spot-interruption",
        &[
            (FIXTURE_INSTANCE, &s.ids[0]),
            ("2026-11-29T12:00:00Z", &now),
        ],
    );
    let hook = message(
        "asg-terminate-lifecycle-direct",
        &[(FIXTURE_INSTANCE, &s.ids[1]), ("batch-spot", "workers")],
    );
    let held = Instant::now();
    for body in [
        spot.clone(),
        spot,
        "this is not an event".to_string(),
        message(
            "spot-interruption",
            &[(FIXTURE_INSTANCE, "i-0123456789abcdef0")],
        ),
        hook,
    ] {
        s.send(body).await;
    }
    wait_for("both nodes drained", Duration::from_secs(30), async || {
        s.evicted().await.len() >= 16
    })
    .await;
    s.queue_empties().await;
    // The hook held the second node's jobs for the wait, then they went and it continued.
    let waited = held.elapsed();
    assert!(waited >= Duration::from_secs(3), "jobs held {waited:?}");
    wait_for("CONTINUE", Duration::from_secs(10), async || {
        s.proxy.calls("CompleteLifecycleAction") == 1
    })
    .await;
    let body = s.metrics();
    let mut evicted = s.evicted().await;
    let s_ids = s.ids.clone();
    let c = s.stop(ekas).await;

    evicted.sort();
    assert_eq!(
        evicted.len(),
        16,
        "each pod once: the duplicate changed nothing"
    );
    assert!(on_second.iter().all(|p| evicted.contains(p)));
    if let Some(kube) = c.fake_checks(GRACES) {
        // The Spot pods' grace is cut below the two minutes left; the hook gives no deadline.
        let graces = kube.eviction_grace_periods();
        assert!(
            graces
                .iter()
                .any(|g| g.is_some_and(|g| (90..=105).contains(&g))),
            "{graces:?}"
        );
    }
    // Each node is ekas's cordon now, with the notice recorded on it.
    for (id, kind) in s_ids.iter().zip(["spot-interruption", "lifecycle-hook"]) {
        let node = c.node_object(&joined(id)).await.unwrap();
        assert_eq!(node["spec"]["unschedulable"], true, "{node}");
        assert_eq!(
            node["metadata"]["labels"]["ekas/cordoned"], "true",
            "{node}"
        );
        assert_eq!(annotation(&node, "ekas/interruption"), Some(kind), "{node}");
    }
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
    for (result, n) in [
        ("acted", 2.0),
        ("duplicate", 1.0),
        ("malformed", 1.0),
        ("foreign", 1.0),
    ] {
        assert_eq!(
            metric(
                &body,
                &format!("ekas_interruption_messages_total{{result=\"{result}\"}}")
            ),
            n,
            "{result}: {body}"
        );
    }
    if let Some(kube) = c.fake_checks("the request log against deploy/'s RBAC") {
        crate::support::manifests::assert_rbac_allows(&kube.request_log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retirement_due_in_three_minutes_written_as_aws_health_writes_it_is_drained_before_it_is_due()
 {
    let s = Setup::start(TestCluster::start().await, 1, 3).await;
    let ekas = s.ekas(&["--no-maintenance"]).await;
    let due = Timestamp::now() + SignedDuration::from_mins(3);
    let health = message(
        "health-scheduled-change",
        &[
            (FIXTURE_INSTANCE, &s.ids[0]),
            ("Tue, 15 Dec 2026 08:00:00 GMT", &rfc_1123(due)),
            (
                "Tue, 15 Dec 2026 10:00:00 GMT",
                &rfc_1123(due + SignedDuration::from_hours(2)),
            ),
        ],
    );
    s.send(health).await;
    wait_for("the node drained", Duration::from_secs(30), async || {
        s.evicted().await.len() == 3
    })
    .await;
    assert!(Timestamp::now() < due, "drained before it is due");
    s.queue_empties().await;
    let node = s.node(0).await;
    assert_eq!(
        annotation(&node, "ekas/interruption"),
        Some("scheduled-change")
    );
    if let Some(kube) = s.c.fake_checks(GRACES) {
        // Each pod's grace ends before the change.
        let graces = kube.eviction_grace_periods();
        assert!(
            graces.iter().all(|g| g.is_some_and(|g| g < 180)),
            "{graces:?}"
        );
    }
    s.stop(ekas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_ten_days_ahead_is_recorded_the_message_deleted_and_the_node_drained_when_it_is_due()
 {
    let s = Setup::start(TestCluster::start().await, 1, 2).await;
    let ekas = s.ekas(&[]).await;
    let due = Timestamp::now() + SignedDuration::from_hours(24 * 10);
    s.send(message(
        "health-scheduled-change",
        &[
            (FIXTURE_INSTANCE, &s.ids[0]),
            ("Tue, 15 Dec 2026 08:00:00 GMT", &rfc_1123(due)),
        ],
    ))
    .await;
    wait_for(
        "the notice recorded on the node",
        Duration::from_secs(30),
        async || annotation(&s.node(0).await, "ekas/interruption-due").is_some(),
    )
    .await;
    s.queue_empties().await;
    let node = s.node(0).await;
    assert_eq!(
        node["spec"]["unschedulable"], true,
        "cordoned: no new pod lands on it"
    );
    assert_eq!(
        annotation(&node, "ekas/interruption-message"),
        Some("0ekas0000000000000000000000000000000001-1")
    );
    assert!(s.evicted().await.is_empty(), "its jobs run on");
    let recorded: Timestamp = annotation(&node, "ekas/interruption-due")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(recorded.as_second(), due.as_second());

    // A restart, and ten days later (the due time moved to five minutes from now): the next
    // process drains it, from the node alone.
    assert!(ekas.stop().success());
    let soon = (Timestamp::now() + SignedDuration::from_mins(5)).to_string();
    let due_soon = json!({"metadata": {"annotations": {"ekas/interruption-due": soon}}});
    s.c.patch_node(&joined(&s.ids[0]), due_soon).await;
    let ekas = s.ekas(&[]).await;
    wait_for(
        "the node drained when due",
        Duration::from_secs(30),
        async || s.evicted().await.len() == 2,
    )
    .await;
    s.stop(ekas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_recommendation_with_no_follow_up_is_uncordoned_after_the_ttl() {
    let s = Setup::start(TestCluster::start().await, 1, 2).await;
    let ekas = s.ekas(&["--rebalance-cordon-ttl", "4s"]).await;
    let noticed = Instant::now();
    s.send(message(
        "rebalance-recommendation",
        &[(FIXTURE_INSTANCE, &s.ids[0])],
    ))
    .await;
    wait_for("the node cordoned", Duration::from_secs(30), async || {
        s.node(0).await["spec"]["unschedulable"] == true
    })
    .await;
    assert_eq!(
        annotation(&s.node(0).await, "ekas/interruption"),
        Some("rebalance-recommendation")
    );
    wait_for("the cordon undone", Duration::from_secs(30), async || {
        s.node(0).await["spec"]["unschedulable"].is_null()
    })
    .await;
    assert!(
        noticed.elapsed() >= Duration::from_secs(4),
        "not before the TTL"
    );
    let node = s.node(0).await;
    assert_eq!(annotation(&node, "ekas/interruption"), None, "{node}");
    assert!(s.evicted().await.is_empty(), "a hint evicts nothing");
    s.stop(ekas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_messages_touch_nothing_and_are_deleted_with_a_warning() {
    let s = Setup::start(TestCluster::start().await, 1, 2).await;
    let ekas = s
        .ekas(&[
            "--no-maintenance",
            "--interruption-accounts",
            "123456789012",
        ])
        .await;
    let nodes_before = s.c.nodes().await;
    // A lifecycle action for an instance of no group; a Spot warning from another account;
    // one from a source that is not EC2.
    for body in [
        message(
            "asg-terminate-lifecycle-direct",
            &[
                (FIXTURE_INSTANCE, "i-0f00f00f00f00f00f"),
                ("batch-spot", "workers"),
            ],
        ),
        message(
            "spot-interruption",
            &[
                (FIXTURE_INSTANCE, &s.ids[0]),
                ("123456789012", "999999999999"),
            ],
        ),
        message(
            "spot-interruption",
            &[(FIXTURE_INSTANCE, &s.ids[0]), ("\"aws.ec2\"", "\"my.app\"")],
        ),
    ] {
        s.send(body).await;
    }
    s.queue_empties().await;
    let body = s.metrics();
    assert_eq!(
        metric(
            &body,
            "ekas_interruption_messages_total{result=\"rejected\"}"
        ),
        3.0,
        "{body}"
    );
    let nodes_after = s.c.nodes().await;
    assert_eq!(nodes_after.len(), 1);
    assert_eq!(
        nodes_after[0]["spec"]["unschedulable"],
        Value::Null,
        "{:?}",
        nodes_before
    );
    assert!(s.evicted().await.is_empty());
    let events = s.c.events().await;
    let warned: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "InterruptionMessageRejected")
        .collect();
    // Events of one reason on one object are one Event with a series (as the API server
    // aggregates them).
    let told: u64 = warned
        .iter()
        .map(|e| e["series"]["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(told, 3, "{events:?}");
    assert!(
        warned
            .iter()
            .all(|e| e["type"] == "Warning" && e["regarding"]["kind"] == "Lease")
    );
    s.stop(ekas).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_is_dropped_after_five_tries_with_a_warning() {
    let c = TestCluster::start().await;
    if c.fake_only("a node PATCH that always fails, injected (refuse)")
        .is_none()
    {
        return;
    }
    let s = Setup::start(c, 1, 1).await;
    let ekas = s.ekas(&["--no-maintenance"]).await;
    // The node cannot be cordoned: every attempt fails.
    let node = s.c.node_name(&joined(&s.ids[0]));
    s.fake().refuse(
        "PATCH",
        &format!("/api/v1/nodes/{node}"),
        500,
        "etcd is unhappy",
    );
    s.send(message(
        "rebalance-recommendation",
        &[(FIXTURE_INSTANCE, &s.ids[0])],
    ))
    .await;
    wait_for("the message dropped", Duration::from_secs(60), async || {
        queue_counts(&s.sqs, &s.url).await == (0, 0)
    })
    .await;
    let body = s.metrics();
    assert_eq!(
        metric(&body, "ekas_interruption_messages_total{result=\"poison\"}"),
        1.0,
        "{body}"
    );
    assert_eq!(
        metric(&body, "ekas_interruption_messages_total{result=\"failed\"}"),
        4.0,
        "{body}"
    );
    let events = s.c.events().await;
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "InterruptionMessageDropped" && e["type"] == "Warning"),
        "{events:?}"
    );
    s.fake().clear_faults();
    s.stop(ekas).await;
}

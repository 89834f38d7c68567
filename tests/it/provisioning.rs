//! ProvisioningRequests end to end: the real binary answers requests on the test's cluster (the
//! fake API server, which serves cluster-autoscaler's CRD, or a real one given deploy/'s copy of
//! it) while moto plays AWS.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::cluster::TestCluster;
use crate::support::groups::{REGION, group, reap_args, workers};
use crate::support::moto::Moto;
use crate::support::*;

const ATOMIC: &str = "best-effort-atomic-scale-up.autoscaling.x-k8s.io";
const CHECK: &str = "check-capacity.autoscaling.x-k8s.io";

/// The test's cluster, serving ProvisioningRequests (deploy/'s CRD on a real cluster).
async fn cluster() -> TestCluster {
    let c = TestCluster::start().await;
    let crd = repo_root().join("deploy/provisioningrequest-crd.yaml");
    let crd: Value = serde_saphyr::from_str(&std::fs::read_to_string(crd).unwrap()).unwrap();
    c.serve_crd(crd).await;
    c
}

/// PodTemplate `<name>` of one container wanting `cpu`.
async fn template(c: &TestCluster, name: &str, cpu: &str) {
    c.add(
        &c.collection("v1", "podtemplates"),
        json!({"apiVersion": "v1", "kind": "PodTemplate",
            "metadata": {"name": name},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main",
                    "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}),
    )
    .await;
}

const REQUESTS: &str = "provisioningrequests";

/// Request `<name>` of `class` for `count` pods of PodTemplate `<name>`, its conditions set
/// through the status subresource.
async fn request(c: &TestCluster, name: &str, class: &str, count: u32, conditions: Value) {
    c.add(
        &c.collection("autoscaling.x-k8s.io/v1", REQUESTS),
        json!({"apiVersion": "autoscaling.x-k8s.io/v1", "kind": "ProvisioningRequest",
            "metadata": {"name": name, "generation": 1,
                "creationTimestamp": Timestamp::now().to_string()},
            "spec": {"provisioningClassName": class,
                "podSets": [{"podTemplateRef": {"name": name}, "count": count}]},
            "status": {"conditions": conditions}}),
    )
    .await;
}

/// Request `<name>` as stored.
async fn stored(c: &TestCluster, name: &str) -> Value {
    let path = format!(
        "{}/{name}",
        c.collection("autoscaling.x-k8s.io/v1", REQUESTS)
    );
    c.get(&path).await.unwrap()
}

/// A condition as a queue or an earlier pass left it, `minutes` ago.
fn condition(kind: &str, minutes: i64) -> Value {
    let at = Timestamp::now() - SignedDuration::from_mins(minutes);
    json!({"type": kind, "status": "True", "reason": "Earlier", "message": "",
        "lastTransitionTime": at.round(jiff::Unit::Second).unwrap().to_string()})
}

/// `type=status/reason` of every condition of request `name`.
async fn conditions(c: &TestCluster, name: &str) -> Vec<String> {
    let r = stored(c, name).await;
    r["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}={}/{}",
                c["type"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
                c["reason"].as_str().unwrap()
            )
        })
        .collect()
}

/// Status writes to ProvisioningRequests so far.
fn status_writes(kube: &crate::support::fake_kube::FakeKube) -> usize {
    kube.writes()
        .iter()
        .filter(|w| w.path.contains("/provisioningrequests/") && w.path.ends_with("/status"))
        .count()
}

fn scale_up(c: &TestCluster, moto: &Moto) -> std::process::Output {
    let out = ekas_with_env(
        &[
            "scale-up",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            // Nodes joined long ago (a real API server makes every Node new).
            "--launch-grace",
            "0",
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_effort_atomic_buys_for_all_pods_once_or_fails_buying_nothing() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let c = cluster().await;
    // 3 cpu each: one per m5.xlarge (3.92 cpu), 8 nodes for the 8 pods.
    template(&c, "train", "3").await;
    request(&c, "train", ATOMIC, 8, json!([])).await;
    // 64 cpu: no group's nodes are that big.
    template(&c, "huge", "64").await;
    request(&c, "huge", ATOMIC, 2, json!([])).await;

    scale_up(&c, &moto);
    assert_eq!(group(&moto).await.0, 8, "desired raised once by 8");
    assert_eq!(
        conditions(&c, "train").await,
        [
            "Accepted=True/Accepted",
            "Provisioned=True/CapacityIsProvisioned"
        ]
    );
    assert_eq!(
        conditions(&c, "huge").await,
        ["Accepted=True/Accepted", "Failed=True/CapacityIsNotFound"]
    );
    let huge = stored(&c, "huge").await;
    let message = huge["status"]["conditions"][1]["message"].as_str().unwrap();
    assert!(message.contains("no node group takes"), "{message}");
    let status_written = |c: &TestCluster| {
        c.fake_checks("the fake's record of writes: two status writes, none again")
            .map(status_writes)
    };
    let written = status_written(&c);
    assert!(written.is_none_or(|n| n == 2), "{written:?}");
    let before = (stored(&c, "train").await, stored(&c, "huge").await);

    // The next pass holds the 8 nodes on their way for the request: nothing more is bought
    // and nothing is written again.
    scale_up(&c, &moto);
    assert_eq!(group(&moto).await.0, 8);
    let written = status_written(&c);
    assert!(written.is_none_or(|n| n == 2), "{written:?}");
    assert_eq!(
        (stored(&c, "train").await, stored(&c, "huge").await),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_capacity_buys_nothing_whether_or_not_the_pods_fit() {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let c = cluster().await;
    c.instance_node("spare", &ids[0], json!({})).await;
    // Room for one 3-cpu pod on the spare: one request fits, the other does not.
    template(&c, "one", "3").await;
    request(&c, "one", CHECK, 1, json!([])).await;
    template(&c, "three", "3").await;
    request(&c, "three", CHECK, 3, json!([])).await;

    let out = scale_up(&c, &moto);
    assert_eq!(group(&moto).await.0, 1, "{}", stdout(&out));
    assert_eq!(
        conditions(&c, "one").await,
        ["Accepted=True/Accepted", "Provisioned=True/CapacityIsFound"]
    );
    assert_eq!(
        conditions(&c, "three").await,
        [
            "Accepted=True/Accepted",
            "Provisioned=False/CapacityIsNotFound"
        ]
    );
}

/// Node `spare`, idle for long, and request `train` for one pod that fits it, Provisioned
/// `minutes` ago; then `ekas reap`. Returns the spare and the request's conditions.
async fn reap_with_booking(minutes: i64) -> (Value, Vec<String>) {
    let moto = Moto::start();
    let ids = workers(&moto, 0, 1).await;
    let c = cluster().await;
    let idle = json!({"metadata": {"annotations": {"ekas/idle-since": "2026-01-01T00:00:00Z"}}});
    c.instance_node("spare", &ids[0], idle).await;
    template(&c, "train", "3").await;
    request(
        &c,
        "train",
        ATOMIC,
        1,
        json!([
            condition("Accepted", minutes + 1),
            condition("Provisioned", minutes)
        ]),
    )
    .await;
    let out = ekas_with_env(&reap_args(c.kubeconfig_arg(), &[]), &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let spare = c.node_object("spare").await.unwrap();
    (spare, conditions(&c, "train").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_room_keeps_its_node_until_the_booking_expires() {
    let (spare, set) = reap_with_booking(2).await;
    assert!(spare["spec"]["unschedulable"].is_null(), "held: {spare}");
    assert_eq!(set, ["Accepted=True/Earlier", "Provisioned=True/Earlier"]);

    // Eleven minutes on, past the 10-minute booking: released, and the idle node goes.
    let (spare, set) = reap_with_booking(11).await;
    assert_eq!(spare["spec"]["unschedulable"], true, "{spare}");
    assert_eq!(
        set,
        [
            "Accepted=True/Earlier",
            "Provisioned=True/Earlier",
            "BookingExpired=True/CapacityReservationTimeExpired"
        ]
    );
}

#[test]
fn a_snapshot_with_requests_plans_them_and_shows_them() {
    let mut doc = small_snapshot(0);
    doc["kubernetes"]["podTemplates"] = json!({"kind": "List", "items": [
        {"apiVersion": "v1", "kind": "PodTemplate",
            "metadata": {"name": "train", "namespace": "batch"},
            "template": {"spec": {"containers": [{"name": "main",
                "resources": {"requests": {"cpu": "3", "memory": "4Gi"}}}]}}}]});
    doc["kubernetes"]["provisioningRequests"] = json!({"kind": "List", "items": [
        {"apiVersion": "autoscaling.x-k8s.io/v1", "kind": "ProvisioningRequest",
            "metadata": {"name": "train", "namespace": "batch",
                "creationTimestamp": "2026-11-27T11:55:00Z"},
            "spec": {"provisioningClassName": ATOMIC,
                "podSets": [{"podTemplateRef": {"name": "train"}, "count": 4}]}},
        {"apiVersion": "autoscaling.x-k8s.io/v1", "kind": "ProvisioningRequest",
            "metadata": {"name": "gone", "namespace": "batch"},
            "spec": {"provisioningClassName": CHECK,
                "podSets": [{"podTemplateRef": {"name": "missing"}, "count": 1}]}}]});
    let (_dir, file) = write_snapshot(&doc);
    let plan = plan_json(&file, &[]);
    let requests = plan["provisioningRequests"].as_array().unwrap();
    // In namespace/name order.
    assert_eq!(requests[0]["request"], "batch/gone");
    assert_eq!(requests[0]["verdict"], "invalid");
    assert_eq!(requests[1]["request"], "batch/train");
    assert_eq!(requests[1]["verdict"], "scale-up", "{}", requests[1]);
    assert_eq!(requests[1]["groups"], json!(["workers"]));
    assert_eq!(plan["scaleUps"][0]["newDesired"], 4);
    assert_eq!(plan["scaleUps"][0]["pods"], json!([]));
    assert_eq!(
        plan["scaleUps"][0]["provisioningRequests"],
        json!(["batch/train"])
    );
    assert_eq!(plan["summary"]["pendingPods"], 0, "lent pods are not pods");

    let out = ekas(&["plan", "--snapshot", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("PROVISIONINGREQUESTS"), "{table}");
    assert!(
        table.contains("Provisioned=True (CapacityIsProvisioned)"),
        "{table}"
    );
    assert!(
        table.contains("PodTemplate batch/missing not found"),
        "{table}"
    );
}

//! The Kubernetes read path with the real kube client against the test's cluster (the fake API
//! server, or a real one), together with the AWS side on moto: `ekas plan` and `ekas snapshot`
//! on a live cluster, and the loop's watch caches.

use serde_json::json;

use crate::support::cluster::TestCluster;
use crate::support::moto::Moto;
use crate::support::*;

/// moto with one worker group of cluster `prod` (m5.xlarge, max 100).
async fn aws_with_workers(moto: &Moto) {
    let c = &moto.clients(&["us-west-2"]).await[0];
    crate::support::aws_setup::launch_configuration(c, "lc", "m5.xlarge").await;
    crate::support::aws_setup::workers(c, "workers", (0, 100, 0), "lc").await;
}

/// A cluster with `pods` pending pods of 0.1 cpu.
async fn with_pending(pods: usize) -> TestCluster {
    let c = TestCluster::start().await;
    for i in 0..pods {
        c.add_pod(pod(&format!("job-{i:04}"), "100m", "128Mi"))
            .await;
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_plan_reads_both_apis_with_paginated_lists() {
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let c = with_pending(1_100).await;
    let (plan, _) = live_plan(&c, &moto);
    assert_eq!(plan["summary"]["pendingPods"], 1_100);
    assert_eq!(plan["scaleUps"][0]["group"], "workers");
    // 39 pods of 0.1 cpu per m5.xlarge (3.92 cpu after the reservation): 29 nodes.
    assert_eq!(plan["scaleUps"][0]["newDesired"], 29);
    if let Some(kube) = c.fake_checks("the request log: pages of 500") {
        assert_eq!(
            kube.requests("/api/v1/pods"),
            3,
            "1,100 pods in pages of 500"
        );
        assert_eq!(kube.requests("/api/v1/nodes"), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_reads_the_kubernetes_half_live() {
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let c = with_pending(3).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.json");
    let out = ekas_with_env(
        &[
            "snapshot",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2",
            "--out",
            file.to_str().unwrap(),
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        doc["kubernetes"]["pods"]["items"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0]["AutoScalingGroupName"],
        "workers"
    );
    let plan = plan_json(&file, &[]);
    assert_eq!(plan["scaleUps"][0]["newDesired"], 1);
}

/// A pending pod whose claim waits for it, in a class that provisions in us-west-2b only, in
/// a namespace labelled `team=ml`. Returns the cluster and the class's name.
async fn with_zonal_claim() -> (TestCluster, String) {
    let c = with_pending(0).await;
    let class = c.node_name("gp3-2b");
    let mut p = pod("db-0", "100m", "128Mi");
    p["spec"]["volumes"] =
        json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]);
    c.add_pod(p).await;
    c.label_namespace(json!({"team": "ml"})).await;
    c.add(
        &c.collection("v1", "persistentvolumeclaims"),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "10Gi"}}}}),
    )
    .await;
    c.add(
        "/apis/storage.k8s.io/v1/storageclasses",
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": class}, "provisioner": "ebs.csi.aws.com",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowedTopologies": [{"matchLabelExpressions": [
                {"key": "topology.kubernetes.io/zone", "values": ["us-west-2b"]}]}]}),
    )
    .await;
    (c, class)
}

/// `ekas plan --output json` of cluster `prod` on the test's cluster and moto.
fn plan_live(c: &TestCluster, moto: &Moto) -> std::process::Output {
    ekas_with_env(
        &[
            "plan",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2",
            "--output",
            "json",
        ],
        &moto.env(),
    )
}

/// The plan, and the log.
fn live_plan(c: &TestCluster, moto: &Moto) -> (serde_json::Value, String) {
    let out = plan_live(c, moto);
    assert!(out.status.success(), "{}", stderr(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), stderr(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_storage_keeps_a_zonal_claim_off_a_group_in_another_zone() {
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let (c, class) = with_zonal_claim().await;
    let (plan, _) = live_plan(&c, &moto);
    assert!(plan["scaleUps"].as_array().unwrap().is_empty(), "{plan}");
    assert_eq!(
        plan["unschedulable"][0]["reasons"]["workers"],
        format!(
            "claim data (StorageClass {class}) needs topology.kubernetes.io/zone in (us-west-2b)"
        )
    );
    if let Some(kube) = c.fake_checks("the request log: each kind read once") {
        for path in [
            "/api/v1/namespaces",
            "/api/v1/persistentvolumeclaims",
            "/api/v1/persistentvolumes",
            "/apis/storage.k8s.io/v1/storageclasses",
        ] {
            assert_eq!(kube.lists(path), 1, "{path} read once");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_ekas_may_not_read_is_planned_without() {
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let (c, _) = with_zonal_claim().await;
    let Some(kube) = c.fake_only("RBAC refusals and a server error, injected (fail_next)") else {
        return;
    };
    // RBAC from before ekas read claims.
    kube.fail_next("GET", "/api/v1/persistentvolumeclaims", 403);
    let (plan, log) = live_plan(&c, &moto);
    assert_eq!(plan["scaleUps"][0]["group"], "workers", "{plan}");
    assert!(
        log.contains("may not list PersistentVolumeClaims") && log.contains("deploy/rbac.yaml"),
        "{log}"
    );
    // Any other error is still an error.
    kube.fail_next("GET", "/apis/storage.k8s.io/v1/storageclasses", 500);
    let out = plan_live(&c, &moto);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("listing StorageClasses"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_kubeconfig_is_named() {
    let moto = Moto::start();
    let out = ekas_with_env(
        &[
            "plan",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2",
        ],
        &moto.env(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read kubeconfig /nonexistent/kubeconfig"),
        "{}",
        stderr(&out)
    );
}

/// Objects as JSON.
fn values<T: serde::Serialize>(items: Vec<T>) -> Vec<serde_json::Value> {
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).unwrap())
        .collect()
}

/// Watch caches on the test's cluster, after their first lists.
async fn filled_caches(c: &TestCluster) -> ekas::kubernetes::watch::Caches {
    use ekas::kubernetes::{KubeOptions, watch::Caches, watch_client};
    let client = watch_client(&KubeOptions {
        kubeconfig: Some(c.kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let caches = Caches::start(&client, None, std::time::Duration::from_secs(180));
    tokio::time::timeout(std::time::Duration::from_secs(10), caches.ready())
        .await
        .expect("caches fill")
        .unwrap();
    caches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_caches_follow_changes_without_listing_again() {
    let c = with_pending(3).await;
    let caches = filled_caches(&c).await;
    let count = || caches.with_pods(|pods| pods.len());
    assert_eq!(count(), 3);

    let changed = caches.pods_changed();
    c.add_pod(pod("job-new", "1", "1Gi")).await;
    tokio::time::timeout(std::time::Duration::from_secs(10), changed.notified())
        .await
        .expect("a new pending pod is signalled");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count() != 4 {
        assert!(
            std::time::Instant::now() < until,
            "the new pod reaches the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    c.remove_pod("job-0000").await;
    while count() != 3 {
        assert!(
            std::time::Instant::now() < until,
            "the deletion reaches the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let names: Vec<_> = caches.with_pods(|pods| pods.keys().collect());
    let ns = &c.namespace;
    assert_eq!(
        names,
        [
            format!("{ns}/job-0001"),
            format!("{ns}/job-0002"),
            format!("{ns}/job-new")
        ],
        "sorted"
    );
    if let Some(kube) = c.fake_checks("the request log: one LIST, then the watch") {
        assert_eq!(kube.lists("/api/v1/pods"), 1, "one LIST, then the watch");
        assert!(kube.watches("/api/v1/pods") >= 1);
        assert_eq!(kube.lists("/api/v1/nodes"), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_caches_hold_namespaces_and_storage() {
    let (c, class) = with_zonal_claim().await;
    let caches = filled_caches(&c).await;
    let part = caches.kubernetes_part();
    // What the cluster holds: the test's namespace (labelled), claim and class among them.
    let names = |items: Vec<serde_json::Value>| -> Vec<String> {
        let mut names: Vec<String> = items
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let cached = |items: Vec<serde_json::Value>| names(items);
    let namespaces = values(part.namespaces.unwrap().items);
    assert_eq!(
        cached(namespaces.clone()),
        names(c.list("/api/v1/namespaces").await)
    );
    let ours = namespaces
        .iter()
        .find(|n| n["metadata"]["name"] == c.namespace.as_str())
        .expect("the test's namespace");
    assert_eq!(ours["metadata"]["labels"]["team"], "ml");
    let claims = values(part.persistent_volume_claims.unwrap().items);
    assert_eq!(
        cached(claims),
        names(c.list("/api/v1/persistentvolumeclaims").await)
    );
    let classes = cached(values(part.storage_classes.unwrap().items));
    assert_eq!(
        classes,
        names(c.list("/apis/storage.k8s.io/v1/storageclasses").await)
    );
    assert!(classes.contains(&class), "{classes:?}");
    assert!(part.persistent_volumes.unwrap().items.is_empty());
    if let Some(kube) = c.fake_checks("the request log: one LIST, then the watch") {
        let claims = "/api/v1/persistentvolumeclaims";
        wait_for(
            "a watch on claims",
            std::time::Duration::from_secs(10),
            async || kube.watches(claims) >= 1,
        )
        .await;
        assert_eq!(kube.lists(claims), 1, "one LIST, then the watch");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podgroups_are_read_live_where_their_crd_is_served() {
    let c = TestCluster::start().await;
    if c.fake_only(
        "serves the coscheduling CRD and scheduling.k8s.io/v1alpha3 PodGroups (a Kubernetes 1.37 \
         alpha API)",
    )
    .is_none()
    {
        return;
    }
    let ns = &c.namespace;
    // A gang of 3 pods whose PodGroup asks for 2 at once; Volcano's CRD is not served.
    for i in 0..3 {
        let mut p = pod(&format!("train-{i}"), "100m", "128Mi");
        p["metadata"]["labels"] = json!({"scheduling.x-k8s.io/pod-group": "train"});
        c.add_pod(p).await;
    }
    c.add(
        &c.collection("scheduling.x-k8s.io/v1alpha1", "podgroups"),
        json!({"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
            "metadata": {"name": "train"}, "spec": {"minMember": 2}}),
    )
    .await;
    // Two pods of Kubernetes' PodGroup `serve` (basic policy: no gang), one of `pair` (gang of 2).
    for (name, group) in [
        ("serve-0", "serve"),
        ("serve-1", "serve"),
        ("pair-0", "pair"),
    ] {
        let mut p = pod(name, "100m", "128Mi");
        p["spec"]["schedulingGroup"] = json!({"podGroupName": group});
        c.add_pod(p).await;
    }
    for (name, policy) in [
        ("serve", json!({"basic": {}})),
        ("pair", json!({"gang": {"minCount": 2}})),
    ] {
        c.add(
            &c.collection("scheduling.k8s.io/v1alpha3", "podgroups"),
            json!({"apiVersion": "scheduling.k8s.io/v1alpha3", "kind": "PodGroup",
                "metadata": {"name": name}, "spec": {"schedulingPolicy": policy}}),
        )
        .await;
    }
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let (plan, _) = live_plan(&c, &moto);
    let gangs: Vec<(String, u64)> = plan["gangs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["gang"].as_str().unwrap().into(),
                g["minMember"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gangs,
        [(format!("{ns}/pair"), 2), (format!("{ns}/train"), 2)],
        "{}",
        plan["gangs"]
    );

    let caches = filled_caches(&c).await;
    // PodGroup stores are optional: `ready` does not wait for them, they fill on their own.
    wait_for(
        "the PodGroups of the served APIs in the caches",
        std::time::Duration::from_secs(10),
        async || {
            caches
                .kubernetes_part()
                .pod_groups
                .is_some_and(|g| g.items.len() == 3)
        },
    )
    .await;
    let groups = caches
        .kubernetes_part()
        .pod_groups
        .expect("the served APIs");
    let mut versions: Vec<&str> = groups
        .items
        .iter()
        .map(|g| g.api_version.as_str())
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        [
            "scheduling.k8s.io/v1alpha3",
            "scheduling.k8s.io/v1alpha3",
            "scheduling.x-k8s.io/v1alpha1"
        ]
    );
    let train = groups
        .items
        .iter()
        .find(|g| g.metadata.name.as_deref() == Some("train"))
        .unwrap();
    assert_eq!(train.spec.min_member, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_podgroup_is_read_at_whichever_version_the_cluster_serves() {
    let c = TestCluster::start().await;
    let Some(kube) = c.fake_only("serves and stops serving API versions, and counts requests")
    else {
        return;
    };
    // A 1.36 cluster: scheduling.k8s.io serves PodGroup as v1alpha2 only.
    kube.unserve("scheduling.k8s.io/v1alpha3");
    kube.serve("scheduling.k8s.io/v1alpha2");
    for name in ["pair-0", "pair-1"] {
        let mut p = pod(name, "100m", "128Mi");
        p["spec"]["schedulingGroup"] = json!({"podGroupName": "pair"});
        c.add_pod(p).await;
    }
    c.add(
        &c.collection("scheduling.k8s.io/v1alpha2", "podgroups"),
        json!({"apiVersion": "scheduling.k8s.io/v1alpha2", "kind": "PodGroup",
            "metadata": {"name": "pair"},
            "spec": {"schedulingPolicy": {"gang": {"minCount": 2}}}}),
    )
    .await;
    let moto = Moto::start();
    aws_with_workers(&moto).await;
    let (plan, _) = live_plan(&c, &moto);
    assert_eq!(
        plan["gangs"][0]["gang"],
        format!("{}/pair", c.namespace),
        "{}",
        plan["gangs"]
    );
    assert_eq!(plan["gangs"][0]["minMember"], 2);
    // Nothing was asked of the versions and APIs not served.
    for unserved in [
        "/apis/scheduling.k8s.io/v1alpha3/podgroups",
        "/apis/scheduling.volcano.sh/v1beta1/podgroups",
    ] {
        assert_eq!(kube.requests(unserved), 0, "{unserved}");
    }
}

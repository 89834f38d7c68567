//! The AWS adapter with the real SDK over HTTP against moto's server.

use ekas::aws::{RegionClients, gather, scaling};
use ekas::decode::{self, DecodeOptions};
use ekas::document::SnapshotDocument;

use crate::support::aws_setup::{
    LEGACY, Source, group, launch_configuration, launch_template, workers,
};
use crate::support::fault_proxy::{Fault, FaultProxy, error_xml, failed_launch_xml};
use crate::support::moto::Moto;
use crate::support::*;

fn document(
    parts: std::collections::BTreeMap<String, ekas::document::aws::RegionPart>,
    regions: &[&str],
) -> SnapshotDocument {
    SnapshotDocument {
        captured_at: "2026-11-27T12:00:00Z".parse().unwrap(),
        cluster_name: Some("prod".into()),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        kubernetes: Default::default(),
        aws: parts,
        unreachable_regions: Default::default(),
        recent_removals: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_groups_by_every_tag_scheme_in_two_regions() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2", "us-east-1"]).await;
    let (west, east) = (&clients[0], &clients[1]);
    launch_configuration(west, "lc", "m5.xlarge").await;
    workers(west, "legacy-role", (0, 5, 0), "lc").await;
    group(
        west,
        "legacy-kubernetes-role",
        (0, 5, 0),
        Source::LaunchConfiguration("lc"),
        &[
            ("KubernetesCluster", "prod"),
            ("KubernetesRole", "kubernetes-minion"),
        ],
    )
    .await;
    group(
        west,
        "masters",
        (0, 5, 0),
        Source::LaunchConfiguration("lc"),
        &[("KubernetesCluster", "prod"), ("Role", "master")],
    )
    .await;
    group(
        west,
        "other-cluster",
        (0, 5, 0),
        Source::LaunchConfiguration("lc"),
        &[("KubernetesCluster", "dev"), ("Role", "worker")],
    )
    .await;
    let lt = launch_template(east, "east-lt", &["m5.large"]).await;
    group(
        east,
        "autodiscovered",
        (0, 5, 0),
        Source::LaunchTemplate(&lt, "$Latest"),
        &[
            ("k8s.io/cluster-autoscaler/enabled", "true"),
            ("k8s.io/cluster-autoscaler/prod", "owned"),
        ],
    )
    .await;
    group(
        east,
        "eks-managed",
        (0, 5, 0),
        Source::LaunchTemplate(&lt, "1"),
        &[("eks:cluster-name", "prod")],
    )
    .await;
    group(
        east,
        "untagged",
        (0, 5, 0),
        Source::LaunchTemplate(&lt, "1"),
        &[],
    )
    .await;

    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let names = |region: &str| -> Vec<String> {
        parts[region]
            .auto_scaling_groups
            .auto_scaling_groups
            .iter()
            .map(|g| g.auto_scaling_group_name.clone())
            .collect()
    };
    assert_eq!(
        names("us-west-2"),
        ["legacy-kubernetes-role", "legacy-role"]
    );
    assert_eq!(names("us-east-1"), ["autodiscovered", "eks-managed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_groups_from_templates_configurations_and_mixed_policies() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    let c = &clients[0];
    launch_configuration(c, "gpu-lc", "g4dn.xlarge").await;
    workers(c, "gpu", (0, 5, 0), "gpu-lc").await;
    // Version 1 (default) m5.large, version 2 (latest) m5.2xlarge.
    let lt = launch_template(c, "cpu-lt", &["m5.large", "m5.2xlarge"]).await;
    group(
        c,
        "latest",
        (0, 5, 0),
        Source::LaunchTemplate(&lt, "$Latest"),
        LEGACY,
    )
    .await;
    group(
        c,
        "default",
        (0, 5, 0),
        Source::LaunchTemplate(&lt, "$Default"),
        LEGACY,
    )
    .await;
    group(
        c,
        "mixed",
        (0, 5, 0),
        Source::Mixed(&lt, &["c5.2xlarge", "m5.xlarge", "r5.xlarge"]),
        LEGACY,
    )
    .await;

    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let snapshot =
        decode::snapshot(&document(parts, &["us-west-2"]), &DecodeOptions::default()).unwrap();
    let group = |name: &str| snapshot.groups.iter().find(|g| g.name == name).unwrap();
    assert_eq!(group("latest").instance_type, "m5.2xlarge");
    assert_eq!(group("default").instance_type, "m5.large");
    // The smallest override by vCPU then memory: m5.xlarge (4, 16 GiB) over r5.xlarge (4, 32 GiB).
    assert_eq!(group("mixed").instance_type, "m5.xlarge");
    assert!(
        group("mixed")
            .instance_type_note
            .as_deref()
            .unwrap()
            .contains("c5.2xlarge")
    );
    // Sized from moto's real DescribeInstanceTypes data, less the kubelet reservation.
    assert_eq!(group("latest").template.allocatable.cpu, 8000 - 90);
    assert_eq!(group("mixed").template.allocatable.cpu, 4000 - 80);
    assert_eq!(group("gpu").template.allocatable.get("nvidia.com/gpu"), 1);
    assert_eq!(group("gpu").template.labels["aws/class"], "g");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_up_never_passes_max_size_and_instances_appear() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    let c = &clients[0];
    launch_configuration(c, "lc", "m5.large").await;
    workers(c, "workers", (0, 5, 1), "lc").await;

    // moto itself would launch 50; ekas caps at MaxSize.
    assert_eq!(scaling::scale_up_to(c, "workers", 50).await.unwrap(), 5);
    assert_eq!(scaling::group_sizes(c, "workers").await.unwrap().desired, 5);
    // Never down.
    assert_eq!(scaling::scale_up_to(c, "workers", 2).await.unwrap(), 5);

    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let snapshot =
        decode::snapshot(&document(parts, &["us-west-2"]), &DecodeOptions::default()).unwrap();
    assert_eq!(snapshot.groups[0].members.len(), 5);
    assert_eq!(snapshot.instances.len(), 5);
    assert!(
        snapshot
            .instances
            .iter()
            .all(|i| i.state == "running" && i.launch_time.is_some())
    );
    assert!(
        snapshot
            .instances
            .iter()
            .all(|i| i.group.as_deref() == Some("workers"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_decrements_only_above_min_size() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    let c = &clients[0];
    launch_configuration(c, "lc", "m5.large").await;
    workers(c, "workers", (1, 5, 2), "lc").await;
    let members = |parts: &std::collections::BTreeMap<
        String,
        ekas::document::aws::RegionPart,
    >|
     -> Vec<String> {
        parts["us-west-2"].auto_scaling_groups.auto_scaling_groups[0]
            .instances
            .iter()
            .map(|i| i.instance_id.clone())
            .collect()
    };
    let before = members(&gather::all_regions(&clients, "prod", None).await.unwrap());
    assert_eq!(before.len(), 2);

    assert!(
        scaling::terminate_instance(c, "workers", &before[0], true)
            .await
            .unwrap()
    );
    assert_eq!(scaling::group_sizes(c, "workers").await.unwrap().desired, 1);

    // At MinSize the instance is replaced, not removed.
    let now = members(&gather::all_regions(&clients, "prod", None).await.unwrap());
    assert_eq!(now.len(), 1);
    assert!(
        !scaling::terminate_instance(c, "workers", &now[0], true)
            .await
            .unwrap()
    );
    assert_eq!(scaling::group_sizes(c, "workers").await.unwrap().desired, 1);
    let replaced = members(&gather::all_regions(&clients, "prod", None).await.unwrap());
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced[0], now[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginates_past_one_page_of_groups() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    let c = &clients[0];
    launch_configuration(c, "lc", "m5.large").await;
    for i in 0..120 {
        workers(c, &format!("g{i:03}"), (0, 3, 0), "lc").await;
    }
    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    assert_eq!(
        parts["us-west-2"]
            .auto_scaling_groups
            .auto_scaling_groups
            .len(),
        120
    );
}

/// moto with one worker group of cluster `prod` in us-west-2a (m5.xlarge, max 10).
async fn moto_with_workers() -> Moto {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    launch_configuration(&clients[0], "lc", "m5.xlarge").await;
    workers(&clients[0], "workers", (0, 10, 0), "lc").await;
    moto
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_command_writes_a_file_that_plans_like_the_live_read() {
    let moto = moto_with_workers().await;

    let dir = tempfile::tempdir().unwrap();
    let pods = dir.path().join("pods.json");
    let items: Vec<_> = (0..8)
        .map(|i| pod(&format!("job-{i}"), "1", "2Gi"))
        .collect();
    std::fs::write(
        &pods,
        serde_json::to_vec(&serde_json::json!({"kind": "List", "items": items})).unwrap(),
    )
    .unwrap();
    let out_file = dir.path().join("snap.json");
    // An older, world-readable file is replaced by one only its owner reads.
    std::fs::write(&out_file, "old").unwrap();
    let out = ekas_with_env(
        &[
            "snapshot",
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2",
            "--pods",
            pods.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bundled: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(bundled["aws"]["us-west-2"]["prices"]["m5.xlarge"], 0.192);
    // With --price-file, the operator's price is what the snapshot records.
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, r#"{"m5.xlarge": {"us-west-2": 0.15}}"#).unwrap();
    let out = ekas_with_env(
        &[
            "snapshot",
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2",
            "--pods",
            pods.to_str().unwrap(),
            "--price-file",
            prices.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        &moto.env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the snapshot holds the cluster's pods: {mode:o}"
        );
    }
    let plan = plan_json(&out_file, &[]);
    // 8 one-cpu pods, three per m5.xlarge after the reservation: 3 nodes.
    assert_eq!(plan["scaleUps"][0]["group"], "workers");
    assert_eq!(plan["scaleUps"][0]["newDesired"], 3);
    // The snapshot carries the price it was planned with, and the plan says it used it.
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(written["aws"]["us-west-2"]["prices"]["m5.xlarge"], 0.15);
    assert_eq!(plan["groups"][0]["priceSource"], "snapshot");
    let cost = plan["scaleUps"][0]["costPerHour"].as_f64().unwrap();
    assert!((cost - 3.0 * 0.15).abs() < 1e-9, "{cost}");

    // Read back, the document plans exactly as the one built in memory.
    let doc = ekas::source::file::read(&out_file).unwrap();
    let reread = serde_json::to_value(&doc).unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(
        reread, written,
        "the snapshot round-trips through ekas's reader unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_command_takes_storage_from_kubectl_files() {
    let moto = moto_with_workers().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, items: serde_json::Value| {
        let path = dir.path().join(name);
        let list = serde_json::json!({"kind": "List", "items": items});
        std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let mut db = pod("db-0", "1", "2Gi");
    db["spec"]["volumes"] =
        serde_json::json!([{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]);
    let pods = write("pods.json", serde_json::json!([db]));
    let pvcs = write(
        "pvcs.json",
        serde_json::json!([{"metadata": {"name": "data", "namespace": "batch",
            "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
            "spec": {"volumeName": "pv-data", "storageClassName": "gp3"}}]),
    );
    let pvs = write(
        "pvs.json",
        serde_json::json!([{"metadata": {"name": "pv-data"}, "spec": {
            "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.ebs.csi.aws.com/zone", "operator": "In", "values": ["us-west-2b"]}]}]}}}}]),
    );
    let classes = write(
        "classes.json",
        serde_json::json!([{"metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com"}]),
    );
    let out_file = dir.path().join("snap.json");
    let args = [
        "snapshot",
        "--cluster-name",
        "prod",
        "--regions",
        "us-west-2",
        "--pods",
        &pods,
        "--pvcs",
        &pvcs,
        "--pvs",
        &pvs,
        "--storage-classes",
        &classes,
        "--out",
        out_file.to_str().unwrap(),
    ];
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = plan_json(&out_file, &[]);
    // The group is in us-west-2a; the volume is in us-west-2b.
    assert!(plan["scaleUps"].as_array().unwrap().is_empty(), "{plan}");
    assert_eq!(
        plan["unschedulable"][0]["reasons"]["workers"],
        "PersistentVolume pv-data of claim data needs topology.ebs.csi.aws.com/zone in (us-west-2b)"
    );

    // Storage comes whole or not at all.
    let out = ekas_with_env(&args[..args.len() - 6], &moto.env());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_command_takes_pod_groups_from_a_kubectl_file() {
    let moto = moto_with_workers().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, items: serde_json::Value| {
        let path = dir.path().join(name);
        let list = serde_json::json!({"kind": "List", "items": items});
        std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let members: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            let mut p = pod(&format!("sweep-{i}"), "1", "1Gi");
            p["metadata"]["annotations"] =
                serde_json::json!({"scheduling.k8s.io/group-name": "sweep"});
            p
        })
        .collect();
    let pods = write("pods.json", serde_json::json!(members));
    let groups = write(
        "podgroups.json",
        serde_json::json!([{"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
            "metadata": {"name": "sweep", "namespace": "batch"}, "spec": {"minMember": 2}}]),
    );
    let out_file = dir.path().join("snap.json");
    let args = [
        "snapshot",
        "--cluster-name",
        "prod",
        "--regions",
        "us-west-2",
        "--pods",
        &pods,
        "--pod-groups",
        &groups,
        "--out",
        out_file.to_str().unwrap(),
    ];
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = plan_json(&out_file, &[]);
    let gang = &plan["gangs"][0];
    assert_eq!(
        (&gang["gang"], &gang["pods"], &gang["minMember"]),
        (
            &serde_json::json!("batch/sweep"),
            &serde_json::json!(3),
            &serde_json::json!(2)
        ),
        "{plan}"
    );
}

#[test]
fn snapshot_command_reports_aws_errors_with_the_region() {
    let moto = Moto::start();
    let out = ekas_with_env(
        &[
            "snapshot",
            "--cluster-name",
            "prod",
            "--regions",
            "us-west-2,not a region",
        ],
        &moto.env(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"not a region\" is not an AWS region name"),
        "{}",
        stderr(&out)
    );
    let out = ekas_with_env(&["snapshot", "--regions", "us-west-2"], &moto.env());
    assert!(
        stderr(&out).contains("--cluster-name is required"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_instance_type_fails_alone() {
    let moto = Moto::start();
    let clients = moto.clients(&["us-west-2"]).await;
    let c = &clients[0];
    // moto's data lacks p3.2xlarge: DescribeInstanceTypes fails for any batch holding it.
    launch_configuration(c, "p3", "p3.2xlarge").await;
    launch_configuration(c, "m5", "m5.large").await;
    workers(c, "gpu", (0, 5, 0), "p3").await;
    workers(c, "cpu", (0, 5, 0), "m5").await;
    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let types: Vec<&str> = parts["us-west-2"]
        .instance_types
        .instance_types
        .iter()
        .map(|t| t.instance_type.as_str())
        .collect();
    assert_eq!(types, ["m5.large"], "the known type is still described");
    // The other group is planned; the one whose type is unknown is left out and named.
    let snapshot =
        decode::snapshot(&document(parts, &["us-west-2"]), &DecodeOptions::default()).unwrap();
    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["cpu"]);
    let left = &snapshot.left_out.groups;
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].name.as_str(), left[0].region.as_str()),
        ("gpu", "us-west-2")
    );
    assert!(left[0].reason.contains("p3.2xlarge"), "{left:?}");
}

fn through(moto: &Moto, proxy: &FaultProxy, attempts: u32) -> ekas::aws::AwsOptions {
    ekas::aws::AwsOptions {
        endpoint_url: Some(proxy.endpoint.clone()),
        max_attempts: attempts,
        ..moto.options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_launch_sends_the_pods_to_the_next_region() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let regions = ["us-west-2".to_string(), "us-east-1".to_string()];
    let clients = ekas::aws::connect(&regions, &through(&moto, &proxy, 1))
        .await
        .unwrap();
    for c in &clients {
        launch_configuration(c, "lc", "m5.xlarge").await;
        group(
            c,
            &format!("workers-{}", c.region),
            (0, 10, 0),
            Source::LaunchConfiguration("lc"),
            LEGACY,
        )
        .await;
    }
    let now = jiff::Timestamp::now();
    let start = (now - jiff::SignedDuration::from_mins(1)).to_string();
    proxy.inject(
        "DescribeScalingActivities",
        Some("AutoScalingGroupName=workers-us-west-2"),
        Fault::Respond(failed_launch_xml("workers-us-west-2", &start,
            "We currently do not have sufficient m5.xlarge capacity in the Availability Zone you requested (us-west-2a). Launching EC2 instance failed.")),
    );

    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let mut doc = document(parts, &["us-west-2", "us-east-1"]);
    doc.captured_at = now;
    let pods: Vec<serde_json::Value> = (0..4)
        .map(|i| pod(&format!("job-{i}"), "1", "2Gi"))
        .collect();
    doc.kubernetes.pods = serde_json::from_value(serde_json::json!({"items": pods})).unwrap();
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default()).unwrap();
    let plan = ekas::engine::plan(&snapshot, &ekas::engine::Config::default());
    assert_eq!(plan.backoff.len(), 1);
    assert_eq!(plan.backoff[0].group, "workers-us-west-2");
    assert_eq!(plan.backoff[0].reason, "insufficient capacity");
    assert_eq!(plan.scale_ups.len(), 1);
    assert_eq!(plan.scale_ups[0].group, "workers-us-east-1");
    assert_eq!(plan.scale_ups[0].new_desired, 2);
    assert!(proxy.calls("DescribeScalingActivities") >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_answering_503_to_everything_sends_the_pods_to_the_next_region_in_the_same_pass() {
    use ekas::actuate::{Outcome, apply_scale_up};
    let moto = Moto::start();
    // us-west-2 (preferred) is reached through a proxy that answers every call with a 503;
    // us-east-1 straight.
    let down = FaultProxy::start(&moto.endpoint);
    let west = ekas::aws::connect(&["us-west-2".to_string()], &through(&moto, &down, 2))
        .await
        .unwrap();
    let east = ekas::aws::connect(&["us-east-1".to_string()], &moto.options())
        .await
        .unwrap();
    let direct = moto.clients(&["us-west-2"]).await;
    for c in [&direct[0], &east[0]] {
        launch_configuration(c, "lc", "m5.xlarge").await;
        workers(c, &format!("workers-{}", c.region), (0, 10, 0), "lc").await;
    }
    down.inject_path(
        "POST",
        "/",
        Fault::Fail {
            times: usize::MAX,
            status: 503,
            body: error_xml("ServiceUnavailable", "the region is down"),
        },
    );
    let clients: Vec<RegionClients> = west.into_iter().chain(east).collect();

    let strict = gather::all_regions(&clients, "prod", None).await;
    assert!(strict.is_err(), "the strict read still fails");
    let read = gather::each_region(&clients, "prod", None).await.unwrap();
    assert_eq!(read.parts.keys().collect::<Vec<_>>(), ["us-east-1"]);
    assert!(
        read.unreachable["us-west-2"].contains("ServiceUnavailable"),
        "{:?}",
        read.unreachable
    );
    let mut doc = document(read.parts, &["us-west-2", "us-east-1"]);
    doc.unreachable_regions = read.unreachable;
    let pods: Vec<serde_json::Value> = (0..4)
        .map(|i| pod(&format!("job-{i}"), "1", "2Gi"))
        .collect();
    doc.kubernetes.pods = serde_json::from_value(serde_json::json!({"items": pods})).unwrap();
    // The snapshot keeps the outage, so a saved one plans the same.
    let doc: SnapshotDocument =
        serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default()).unwrap();
    assert_eq!(snapshot.regions, ["us-west-2", "us-east-1"]);
    let plan = ekas::engine::plan(&snapshot, &ekas::engine::Config::default());
    assert_eq!(plan.scale_ups.len(), 1);
    assert_eq!(plan.scale_ups[0].group, "workers-us-east-1");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.kind == ekas::plan::WarningKind::RegionUnreachable
                && w.subject == "us-west-2"),
        "{:?}",
        plan.warnings
    );

    let applied = apply_scale_up(&plan, &clients, ekas::guard::Guard::open(), false).await;
    assert!(
        applied
            .iter()
            .all(|a| matches!(a.outcome, Outcome::Done(_))),
        "{applied:?}"
    );
    assert_eq!(
        scaling::group_sizes(&clients[1], "workers-us-east-1")
            .await
            .unwrap()
            .desired,
        plan.scale_ups[0].new_desired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_5xx_are_retried_without_duplicate_scale_ups() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = ekas::aws::connect(&["us-west-2".to_string()], &through(&moto, &proxy, 5))
        .await
        .unwrap();
    let c = &clients[0];
    launch_configuration(c, "lc", "m5.large").await;
    workers(c, "workers", (0, 10, 1), "lc").await;
    proxy.inject(
        "DescribeAutoScalingGroups",
        None,
        Fault::Fail {
            times: 1,
            status: 503,
            body: error_xml("ServiceUnavailable", "try later"),
        },
    );
    proxy.inject(
        "SetDesiredCapacity",
        None,
        Fault::Fail {
            times: 2,
            status: 400,
            body: error_xml("Throttling", "Rate exceeded"),
        },
    );

    assert_eq!(scaling::scale_up_to(c, "workers", 3).await.unwrap(), 3);
    assert_eq!(
        proxy.calls("SetDesiredCapacity"),
        3,
        "two throttled, one applied"
    );
    let sizes = scaling::group_sizes(c, "workers").await.unwrap();
    assert_eq!(sizes.desired, 3);
    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    assert_eq!(
        parts["us-west-2"].auto_scaling_groups.auto_scaling_groups[0]
            .instances
            .len(),
        3
    );

    // A call that keeps failing is reported with the group and region, and changes nothing.
    proxy.inject(
        "SetDesiredCapacity",
        None,
        Fault::Fail {
            times: 100,
            status: 400,
            body: error_xml("ValidationError", "no"),
        },
    );
    let err = format!(
        "{:#}",
        scaling::scale_up_to(c, "workers", 5).await.unwrap_err()
    );
    assert!(
        err.contains("group workers (us-west-2)") && err.contains("ValidationError"),
        "{err}"
    );
    assert_eq!(scaling::group_sizes(c, "workers").await.unwrap().desired, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scale_up_half_of_a_plan_is_applied_and_dry_run_changes_nothing() {
    use ekas::actuate::{Outcome, apply_scale_up};
    use ekas::guard::Guard;
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let regions = ["us-west-2".to_string(), "us-east-1".to_string()];
    let clients = ekas::aws::connect(&regions, &through(&moto, &proxy, 1))
        .await
        .unwrap();
    for c in &clients {
        launch_configuration(c, "lc", "m5.xlarge").await;
    }
    // West asked for 2 and (we pretend) failed to launch them; east is empty.
    workers(&clients[0], "west", (0, 10, 0), "lc").await;
    workers(&clients[1], "east", (0, 10, 0), "lc").await;
    let now = jiff::Timestamp::now();
    let start = (now - jiff::SignedDuration::from_mins(1)).to_string();
    proxy.inject(
        "DescribeScalingActivities",
        Some("AutoScalingGroupName=west"),
        Fault::Respond(failed_launch_xml(
            "west",
            &start,
            "Insufficient capacity. Launching EC2 instance failed.",
        )),
    );
    let parts = gather::all_regions(&clients, "prod", None).await.unwrap();
    let mut doc = document(parts, &["us-west-2", "us-east-1"]);
    doc.captured_at = now;
    // The snapshot saw west at desired 2 with nothing launched.
    doc.aws
        .get_mut("us-west-2")
        .unwrap()
        .auto_scaling_groups
        .auto_scaling_groups[0]
        .desired_capacity = 2;
    scaling::scale_up_to(&clients[0], "west", 2).await.unwrap();
    let pods: Vec<serde_json::Value> = (0..4)
        .map(|i| pod(&format!("job-{i}"), "1", "2Gi"))
        .collect();
    doc.kubernetes.pods = serde_json::from_value(serde_json::json!({"items": pods})).unwrap();
    let plan = ekas::engine::plan(
        &decode::snapshot(&doc, &DecodeOptions::default()).unwrap(),
        &Default::default(),
    );
    assert_eq!(plan.desired_resets.len(), 1);
    assert_eq!(plan.scale_ups[0].group, "east");

    let dry = apply_scale_up(&plan, &clients, Guard::open(), true).await;
    assert!(
        dry.iter().all(|a| matches!(a.outcome, Outcome::WouldDo(_))),
        "{dry:?}"
    );
    assert_eq!(
        proxy.calls("SetDesiredCapacity"),
        1,
        "only the test's own call"
    );
    assert_eq!(
        scaling::group_sizes(&clients[1], "east")
            .await
            .unwrap()
            .desired,
        0
    );

    let applied = apply_scale_up(&plan, &clients, Guard::open(), false).await;
    assert!(
        applied
            .iter()
            .all(|a| matches!(a.outcome, Outcome::Done(_))),
        "{applied:?}"
    );
    assert_eq!(
        scaling::group_sizes(&clients[1], "east")
            .await
            .unwrap()
            .desired,
        2
    );
    // moto launched west's two at once, so the reset keeps them rather than terminate them.
    assert_eq!(
        scaling::group_sizes(&clients[0], "west")
            .await
            .unwrap()
            .desired,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ekas_keeps_its_memory_of_unlaunched_capacity_in_a_group_tag() {
    let moto = Moto::start();
    let c = &moto.clients(&["us-west-2"]).await[0];
    launch_configuration(c, "lc", "m5.xlarge").await;
    workers(c, "workers", (0, 5, 0), "lc").await;
    let tag = |value: Option<&'static str>| async move {
        scaling::tag_group(c, "workers", "ekas/unlaunched-since", value).await
    };
    let read = || async {
        let parts = gather::all_regions(std::slice::from_ref(c), "prod", None)
            .await
            .unwrap();
        let snapshot =
            decode::snapshot(&document(parts, &["us-west-2"]), &DecodeOptions::default()).unwrap();
        snapshot.groups[0].unlaunched_since
    };
    tag(Some("2026-11-27T11:40:00Z")).await.unwrap();
    assert_eq!(read().await, Some("2026-11-27T11:40:00Z".parse().unwrap()));
    tag(None).await.unwrap();
    assert_eq!(read().await, None);
    let err = scaling::tag_group(c, "nope", "ekas/unlaunched-since", Some("x"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("group nope"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_writer_says_which_kind_of_error_stopped_a_change() {
    use ekas::actuate::ErrorClass;
    use ekas::aws::{AwsTimeouts, scaling::Regions};
    use ekas::provider::GroupWriter;
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = ekas::aws::connect(&["us-west-2".into()], &through(&moto, &proxy, 1))
        .await
        .unwrap();
    launch_configuration(&clients[0], "lc", "m5.xlarge").await;
    workers(&clients[0], "workers", (0, 10, 0), "lc").await;
    let groups = Regions(&clients);

    let err = groups
        .scale_up_to("us-west-2", "nope", 1)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound, "{err}");
    let err = groups
        .scale_up_to("eu-west-1", "workers", 1)
        .await
        .unwrap_err();
    assert!(err.message.contains("no AWS client"), "{err}");

    // (call, AWS error code, class)
    let cases = [
        ("Throttling", ErrorClass::Throttled),
        ("AccessDenied", ErrorClass::Forbidden),
        ("ScalingActivityInProgress", ErrorClass::Conflict),
    ];
    for (code, class) in cases {
        proxy.inject(
            "SetDesiredCapacity",
            None,
            Fault::Fail {
                times: 1,
                status: 400,
                body: error_xml(code, "injected"),
            },
        );
        let err = groups
            .scale_up_to("us-west-2", "workers", 2)
            .await
            .unwrap_err();
        assert_eq!(err.class, class, "{code}: {err}");
        assert!(err.message.contains("SetDesiredCapacity 0 → 2"), "{err}");
    }
    // A client with short deadlines, for an endpoint that never answers.
    let options = ekas::aws::AwsOptions {
        timeouts: AwsTimeouts {
            operation: std::time::Duration::from_secs(2),
            attempt: std::time::Duration::from_secs(1),
        },
        ..through(&moto, &proxy, 1)
    };
    let impatient = ekas::aws::connect(&["us-west-2".into()], &options)
        .await
        .unwrap();
    proxy.inject("DescribeAutoScalingGroups", None, Fault::Hang);
    let err = Regions(&impatient)
        .scale_up_to("us-west-2", "workers", 2)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Timeout, "{err}");
    assert!(err.message.contains("--aws-timeout"), "{err}");
}

//! The Auto Scaling group most tests use (`workers` of cluster `prod` in one region, on moto),
//! one per region for the tests of several, their Nodes, and the `ekas reap` command line a
//! cron job runs.

use serde_json::{Value, json};

use super::moto::Moto;

pub const REGION: &str = "us-west-2";

/// Group `workers` of cluster `prod` with `desired` m5.xlarge instances (moto launches them at
/// once); returns their ids.
pub async fn workers(moto: &Moto, min: i32, desired: i32) -> Vec<String> {
    let c = &moto.clients(&[REGION]).await[0];
    super::aws_setup::launch_configuration(c, "lc", "m5.xlarge").await;
    super::aws_setup::workers(c, "workers", (min, 10, desired), "lc").await;
    group(moto).await.1
}

/// (desired, live instance ids) of `workers`.
pub async fn group(moto: &Moto) -> (i32, Vec<String>) {
    let clients = moto.clients(&[REGION]).await;
    let out = clients[0]
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("workers")
        .send()
        .await
        .unwrap();
    let g = &out.auto_scaling_groups()[0];
    let mut ids: Vec<String> = g
        .instances()
        .iter()
        .filter(|i| {
            !i.lifecycle_state()
                .is_some_and(|s| s.as_str().starts_with("Terminat"))
        })
        .map(|i| i.instance_id().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    (g.desired_capacity().unwrap_or_default(), ids)
}

/// Group `workers-<region>` of cluster `prod` in each region (m5.xlarge, max 10, empty).
pub async fn workers_in(moto: &Moto, regions: &[&str]) {
    for c in moto.clients(regions).await {
        super::aws_setup::launch_configuration(&c, "lc", "m5.xlarge").await;
        super::aws_setup::workers(&c, &format!("workers-{}", c.region), (0, 10, 0), "lc").await;
    }
}

/// Desired capacity of group `name` in `region`.
pub async fn desired(moto: &Moto, region: &str, name: &str) -> i32 {
    let c = &moto.clients(&[region]).await[0];
    let out = c
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .unwrap();
    out.auto_scaling_groups()[0]
        .desired_capacity()
        .unwrap_or_default()
}

/// A Ready node for an instance, joined long ago.
pub fn node(name: &str, instance: &str, extra: Value) -> Value {
    let mut node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"node.kubernetes.io/instance-type": "m5.xlarge"}},
        "spec": {"providerID": format!("aws:///us-west-2a/{instance}")},
        "status": {
            "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "58"},
            "conditions": [{"type": "Ready", "status": "True",
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]
        }
    });
    super::cluster::merge(&mut node, extra);
    node
}

/// `ekas reap` as cron runs it: the default Lease, shared with `ekas run`. Like the tests'
/// `ekas run`, it takes every Node for joined long ago (`--launch-grace 0`): on a real cluster
/// the API server sets a Node's creation time, so every Node of a test is new there.
pub fn reap_args<'a>(kubeconfig: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "reap",
        "--kubeconfig",
        kubeconfig,
        "--cluster-name",
        "prod",
        "--regions",
        REGION,
        "--launch-grace",
        "0",
        "--idle-threshold",
        "1s",
        "--type-idle-count",
        "0",
        "--max-scale-in-fraction",
        "1",
    ];
    args.extend_from_slice(extra);
    args
}

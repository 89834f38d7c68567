//! The cluster's other actors, simulated for `ekas run` tests: a node joins for every running
//! instance of a group (providerID `aws:///<az>/<id>`), and pending pods are bound to
//! schedulable nodes with room (by CPU), as kube-scheduler would.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use super::fake_kube::FakeKube;
use super::groups::REGION;
use super::moto::Moto;

/// The simulators, until `stop` is set: nodes join for running instances; pending pods are
/// bound to schedulable nodes with room (by CPU).
pub async fn simulate(kube: Arc<FakeKube>, moto: Arc<Moto>, stop: Arc<AtomicBool>) {
    simulate_in(kube, moto, stop, &[REGION]).await
}

pub async fn simulate_in(
    kube: Arc<FakeKube>,
    moto: Arc<Moto>,
    stop: Arc<AtomicBool>,
    regions: &[&str],
) {
    let clients = moto.clients(regions).await;
    let mut joined: HashSet<String> = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        // Node join.
        for c in &clients {
            let Ok(out) = c.autoscaling.describe_auto_scaling_instances().send().await else {
                continue;
            };
            for i in out.auto_scaling_instances() {
                let id = i.instance_id().unwrap_or_default().to_string();
                if i.lifecycle_state() != Some("InService") || !joined.insert(id.clone()) {
                    continue;
                }
                let node = json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": format!("node-{id}"),
                        "creationTimestamp": jiff::Timestamp::now().to_string()},
                    "spec": {"providerID": format!("aws:///{}a/{id}", c.region)},
                    "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                        "conditions": [{"type": "Ready", "status": "True"}]}});
                kube.add("/api/v1/nodes", node);
            }
        }
        // Scheduler.
        let nodes = kube.objects("nodes");
        let pods = kube.objects("pods");
        let mut used: std::collections::HashMap<String, i64> = Default::default();
        for p in &pods {
            if let Some(n) = p["spec"]["nodeName"].as_str() {
                *used.entry(n.to_string()).or_default() += 250;
            }
        }
        for p in pods.iter().filter(|p| p["spec"]["nodeName"].is_null()) {
            let room = nodes.iter().find(|n| {
                n["spec"]["unschedulable"] != true
                    && used
                        .get(n["metadata"]["name"].as_str().unwrap())
                        .copied()
                        .unwrap_or(0)
                        + 250
                        <= 3920
            });
            let Some(node) = room else { break };
            let node = node["metadata"]["name"].as_str().unwrap().to_string();
            *used.entry(node.clone()).or_default() += 250;
            let name = p["metadata"]["name"].as_str().unwrap().to_string();
            kube.set("pods", Some("batch"), &name, |p| {
                p["spec"]["nodeName"] = json!(node);
                p["status"] = json!({"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]});
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

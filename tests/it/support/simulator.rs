//! The cluster's other actors, simulated for `ekas run` tests: a node joins for every running
//! instance of a group (providerID `aws:///<az>/<id>`), and bound pods are marked Running, as
//! their kubelets would; a pod being deleted (evicted with a grace period) is removed, as its
//! kubelet does once its containers stopped (the fake deletes at once). On the fake, which has
//! no scheduler, pending pods are also bound to schedulable nodes with room (by CPU), as
//! kube-scheduler would; on a real cluster kube-scheduler binds them.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use super::cluster::TestCluster;
use super::groups::REGION;
use super::moto::Moto;

/// The short name ([`TestCluster::node_name`]) of the Node that joins for instance `id`.
pub fn joined(id: &str) -> String {
    format!("node-{id}")
}

/// The simulators, until `stop` is set: nodes join for running instances; pending pods are
/// bound to schedulable nodes with room (by CPU) and run.
pub async fn simulate(cluster: Arc<TestCluster>, moto: Arc<Moto>, stop: Arc<AtomicBool>) {
    simulate_in(cluster, moto, stop, &[REGION]).await
}

pub async fn simulate_in(
    cluster: Arc<TestCluster>,
    moto: Arc<Moto>,
    stop: Arc<AtomicBool>,
    regions: &[&str],
) {
    let c = &cluster;
    let clients = moto.clients(regions).await;
    let mut joined_ids: HashSet<String> = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        // Node join.
        for client in &clients {
            let Ok(out) = client
                .autoscaling
                .describe_auto_scaling_instances()
                .send()
                .await
            else {
                continue;
            };
            for i in out.auto_scaling_instances() {
                let id = i.instance_id().unwrap_or_default().to_string();
                if i.lifecycle_state() != Some("InService") || !joined_ids.insert(id.clone()) {
                    continue;
                }
                let node = json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": c.node_name(&joined(&id)),
                        "creationTimestamp": jiff::Timestamp::now().to_string()},
                    "spec": {"providerID": format!("aws:///{}a/{id}", client.region)},
                    "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110"},
                        "conditions": [{"type": "Ready", "status": "True"}]}});
                c.create_node(node).await;
            }
        }
        let pods = c.pods().await;
        // Scheduler, on the fake.
        if c.fake.is_some() {
            let nodes = c.nodes().await;
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
                c.bind(p["metadata"]["name"].as_str().unwrap(), &node).await;
            }
        }
        // Kubelets.
        for p in c.pods().await {
            let name = p["metadata"]["name"].as_str().unwrap();
            if !p["metadata"]["deletionTimestamp"].is_null() {
                c.remove_pod(name).await;
            } else if p["spec"]["nodeName"].is_string() && p["status"]["phase"] != "Running" {
                c.run_pod(name).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

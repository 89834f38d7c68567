//! ekas against a real kube-scheduler, on generated scenarios: zones and hostnames, bound pods
//! with labels, anti-affinity and host ports, and an incoming pod with one or two of: pod
//! affinity or anti-affinity (zone or hostname), topology spread (zone or hostname), a host port,
//! a zone selector, a cpu request. Each scenario's nodes and bound pods are created in the
//! cluster; then, node by node, every other node is cordoned and the incoming pod is left to the
//! scheduler, so its decisions give the exact set of nodes it fits (cordoned nodes still count
//! as spread domains, as without the cordon). That set must be the one ekas finds.
//!
//! Runs only on a real cluster with a scheduler and no kubelet (`EKAS_TEST_KUBECONFIG`, see
//! support/cluster.rs and ../shared/realk8s); the fake API server schedules nothing, so without
//! one the test returns at once. Its Nodes (`<test namespace>-agree-*`) and pods (in its
//! namespace) are deleted after each scenario. `EKAS_SCHEDULER_SCENARIOS` sets how many
//! (default 50).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::support::cluster::TestCluster;

use crate::support::scheduler_shorthand::{node, pod, verdicts};

/// xorshift64*: scenarios are the same from run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn term(app: &str, key: &str) -> Value {
    json!({"key": "app", "op": "In", "values": [app], "topologyKey": key})
}

/// A scenario in the shorthand of tests/scheduler_cases (without `fits`), its nodes and pods
/// the test cluster's.
fn scenario(c: &TestCluster, seed: u64) -> Value {
    let namespace = c.namespace.as_str();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let zones = ["z1", "z2", "z3"];
    // Two apps and up to 12 bound pods: selectors often match, so constraints decide.
    let apps = ["a", "b"];
    let keys = ["topology.kubernetes.io/zone", "kubernetes.io/hostname"];
    let node_count = 2 + rng.below(4);
    let nodes: Vec<Value> = (0..node_count)
        .map(|i| {
            let name = c.node_name(&format!("agree-{seed}-{i}"));
            let mut n = json!({"name": name, "labels": {"agree": seed.to_string(),
                "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": rng.pick(&zones)},
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "20"}});
            if rng.below(8) == 0 {
                n["taints"] = json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]);
            }
            n
        })
        .collect();
    let mut pods = Vec::new();
    for i in 0..rng.below(13) {
        let on = &nodes[rng.below(node_count) as usize]["name"];
        let mut p = json!({"name": format!("bound-{i}"), "namespace": namespace, "node": on,
            "labels": {"app": rng.pick(&apps)},
            "spec": {"containers": [{"name": "main", "image": "x",
                "resources": {"requests": {"cpu": format!("{}m", 500 * (1 + rng.below(3)))}}}],
                "tolerations": [{"operator": "Exists"}]}});
        match rng.below(6) {
            0 => p["podAntiAffinity"] = json!([term(rng.pick(&apps), rng.pick(&keys))]),
            1 => p["ports"] = json!(["TCP/0.0.0.0/8080"]),
            _ => {}
        }
        pods.push(p);
    }
    let own = rng.pick(&apps);
    // The scenario's nodes only: not another scenario's, nor anyone else's.
    let mut incoming = json!({"name": "incoming", "namespace": namespace, "labels": {"app": own},
        "spec": {"nodeSelector": {"agree": seed.to_string()}, "containers": [{"name": "main",
            "image": "x", "resources": {"requests": {"cpu": format!("{}m", 500 * (1 + rng.below(5)))}}}]}});
    for _ in 0..1 + rng.below(2) {
        match rng.below(7) {
            0 => incoming["podAffinity"] = json!([term(rng.pick(&apps), rng.pick(&keys))]),
            1 => incoming["podAntiAffinity"] = json!([term(rng.pick(&apps), rng.pick(&keys))]),
            2 | 6 => {
                incoming["spread"] = json!([{"maxSkew": 1 + rng.below(2), "topologyKey": rng.pick(&keys),
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"app": own}}}]);
            }
            3 => incoming["ports"] = json!(["TCP/0.0.0.0/8080"]),
            4 => {
                incoming["spec"]["nodeSelector"]["topology.kubernetes.io/zone"] =
                    json!(rng.pick(&zones));
            }
            _ => {}
        }
    }
    json!({"name": format!("scenario {seed}"), "nodes": nodes, "pods": pods, "pod": incoming})
}

/// Where the scheduler put the incoming pod: `Some(node)`, or `None` once it gave up.
async fn decision(pods: &Api<Pod>) -> Option<String> {
    for _ in 0..150 {
        let p = pods.get("incoming").await.unwrap();
        if let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
            return Some(node);
        }
        let gave_up = p
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            });
        if gave_up {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scheduler decided nothing about the incoming pod in 15 s");
}

/// Deletes the incoming pod and waits until it is gone, so the next probe can reuse its name.
async fn delete_incoming(pods: &Api<Pod>) {
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    let _ = pods.delete("incoming", &now).await;
    for _ in 0..100 {
        if pods.get_opt("incoming").await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the incoming pod was not deleted");
}

/// Deletes a scenario's pods and Nodes.
async fn clean(c: &TestCluster, case: &Value) {
    for p in c.pods().await {
        c.remove_pod(p["metadata"]["name"].as_str().unwrap()).await;
    }
    for n in case["nodes"].as_array().unwrap() {
        c.delete(&format!("/api/v1/nodes/{}", n["name"].as_str().unwrap()))
            .await;
    }
    // Deletions reach the scheduler's cache through watches: let them land.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ekas_agrees_with_a_real_scheduler() {
    let Some(c) = TestCluster::real("needs kube-scheduler").await else {
        return;
    };
    let scenarios: u64 = std::env::var("EKAS_SCHEDULER_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), &c.namespace);
    let mut disagreements = Vec::new();
    let (mut bound, mut refused) = (0, 0);
    for seed in 1..=scenarios {
        let case = scenario(&c, seed);
        // Without a kubelet, the status comes from here, and the not-ready taint the API
        // server adds is replaced by the scenario's own.
        for n in case["nodes"].as_array().unwrap() {
            c.create_node(node(n)).await;
        }
        for (i, p) in case["pods"].as_array().unwrap().iter().enumerate() {
            let object: Pod = serde_json::from_value(pod(p, &format!("bound-{i}"))).unwrap();
            pods.create(&PostParams::default(), &object).await.unwrap();
        }
        let names: Vec<String> = case["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        let mut scheduler = BTreeSet::new();
        for only in &names {
            for name in &names {
                let cordon = json!({"spec": {"unschedulable": name != only}});
                c.patch(&format!("/api/v1/nodes/{name}"), cordon).await;
            }
            // Let the scheduler's cache see the nodes, the bound pods and the cordons first.
            tokio::time::sleep(Duration::from_millis(600)).await;
            let incoming: Pod = serde_json::from_value(pod(&case["pod"], "incoming")).unwrap();
            pods.create(&PostParams::default(), &incoming)
                .await
                .unwrap();
            if let Some(node) = decision(&pods).await {
                scheduler.insert(node);
            }
            delete_incoming(&pods).await;
        }
        let (fits, refusals): (BTreeSet<String>, _) = verdicts(&case);
        if scheduler.is_empty() {
            refused += 1;
        } else {
            bound += 1;
        }
        if scheduler != fits {
            disagreements.push(format!(
                "{}: scheduler fits {scheduler:?}, ekas {fits:?} ({refusals:?})\n{case}",
                case["name"]
            ));
        }
        clean(&c, &case).await;
    }
    println!(
        "{scenarios} scenarios: the pod fits some node in {bound}, none in {refused}; ekas disagreed on {}",
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}

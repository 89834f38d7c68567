//! The planner against a real kube-scheduler, pod by pod. On a cluster of generated nodes and
//! resident pods, each generated pending pod is created alone: the scheduler binds it or refuses
//! it, and ekas's plan for the same cluster must agree (fits an existing node, or not). Then the
//! pod is deleted and the next one tried.
//!
//! Runs only against a real cluster with kube-scheduler (`EKAS_TEST_KUBECONFIG`); the fake API
//! server schedules nothing, so without it the test returns at once. The cluster should have no
//! kubelets and no other Nodes (support/cluster.rs says how to start one).
//! `EKAS_FIDELITY_SEED` and `EKAS_FIDELITY_PODS` vary the generated cases.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::cluster::TestCluster;

/// A small deterministic generator (xorshift64*), so a seed names a set of cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];
const APPS: [&str; 5] = ["web", "db", "cache", "batch", "solo"];
const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";
const NODES: usize = 9;

fn node_extra(tc: &TestCluster, i: usize) -> Value {
    json!({"metadata": {"labels": {
        HOSTNAME: tc.node_name(&format!("n{i}")),
        ZONE: ZONES[i % 3],
        "topology.kubernetes.io/region": "us-west-2",
        "pool": if i % 4 == 3 { "gpu" } else { "cpu" },
        "rack": format!("r{}", i / 3),
    }}})
}

fn node_taints(i: usize) -> Value {
    if i % 5 == 4 {
        json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}])
    } else {
        json!([])
    }
}

fn container(cpu: &str, memory: &str, host_port: Option<(u16, &str)>) -> Value {
    let mut c = json!({"name": "main", "image": "busybox",
        "resources": {"requests": {"cpu": cpu, "memory": memory}}});
    if let Some((port, protocol)) = host_port {
        c["ports"] = json!([{"containerPort": port, "hostPort": port, "protocol": protocol}]);
    }
    c
}

fn term(app: &str, key: &str) -> Value {
    json!({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key})
}

/// A pending pod with a random mix of the constraints batch and service pods use.
fn candidate(rng: &mut Rng, name: &str) -> Value {
    let app = rng.pick(&APPS);
    let cpu = rng.pick(&["100m", "500m", "1", "2", "3"]);
    let memory = rng.pick(&["128Mi", "1Gi", "4Gi"]);
    let port = match rng.below(20) {
        0..=2 => Some((8080, "TCP")),
        3 => Some((8080, "UDP")),
        4 => Some((9090, "TCP")),
        _ => None,
    };
    let mut spec = json!({
        "terminationGracePeriodSeconds": 0,
        "containers": [container(cpu, memory, port)],
    });
    if rng.chance(10) {
        spec["nodeSelector"] = json!({"pool": "gpu"});
    }
    if rng.chance(15) {
        let mut zones: Vec<&str> = ZONES.iter().copied().filter(|_| rng.chance(50)).collect();
        if zones.is_empty() {
            zones.push(rng.pick(&ZONES));
        }
        spec["affinity"]["nodeAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": ZONE, "operator": "In", "values": zones}]}]}});
    }
    if rng.chance(20) {
        spec["tolerations"] = json!([{"key": "dedicated", "operator": "Exists"}]);
    }
    if rng.chance(20) {
        let key = rng.pick(&[HOSTNAME, ZONE, "rack"]);
        spec["affinity"]["podAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution":
            [term(rng.pick(&APPS), key)]});
    }
    if rng.chance(20) {
        let key = rng.pick(&[HOSTNAME, ZONE]);
        spec["affinity"]["podAntiAffinity"] = json!({"requiredDuringSchedulingIgnoredDuringExecution":
            [term(rng.pick(&APPS), key)]});
    }
    if rng.chance(20) {
        let mut constraint = json!({
            "maxSkew": 1 + rng.below(2),
            "topologyKey": rng.pick(&[ZONE, HOSTNAME]),
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": app}},
        });
        if rng.chance(20) {
            constraint["minDomains"] = json!(4);
        }
        spec["topologySpreadConstraints"] = json!([constraint]);
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": spec})
}

/// What the scheduler did with a pod: the node it bound it to, or None when it refused.
async fn scheduler_verdict(pods: &Api<Pod>, name: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let pod = pods.get(name).await.unwrap();
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
            return Some(node);
        }
        let refused = pod
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| c.type_ == "PodScheduled" && c.status == "False");
        if refused {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler decided nothing about {name} in 15 s: is kube-scheduler running?"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What ekas's plan says of the one pending pod: the existing node it fits, or None.
fn ekas_verdict(nodes: &[Value], pods: &[Value], name: &str) -> Option<String> {
    let doc = json!({
        "capturedAt": jiff::Timestamp::now(),
        "clusterName": "fidelity",
        "regions": ["us-west-2"],
        "kubernetes": {"pods": {"items": pods}, "nodes": {"items": nodes}},
        "aws": {"us-west-2": {}},
    });
    let doc = ekas::source::file::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let snapshot = ekas::decode::snapshot(&doc, &ekas::decode::DecodeOptions::default()).unwrap();
    let plan = ekas::engine::plan(&snapshot, &ekas::engine::Config::default());
    let pending = plan
        .pending
        .iter()
        .find(|p| p.pod.ends_with(&format!("/{name}")))
        .unwrap_or_else(|| panic!("ekas does not list {name} as pending"));
    (pending.destination == ekas::plan::Destination::ExistingNode)
        .then(|| pending.target.clone().unwrap_or_default())
}

fn values<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planner_agrees_with_kube_scheduler_pod_by_pod() {
    let Some(tc) = TestCluster::real("needs kube-scheduler").await else {
        return;
    };
    let seed = std::env::var("EKAS_FIDELITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let cases: usize = std::env::var("EKAS_FIDELITY_PODS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng(seed.max(1));
    let node_api = Api::<Node>::all(tc.client.clone());
    // Nodes left by an earlier, interrupted run would be places to schedule.
    node_api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("ekas-test"),
        )
        .await
        .unwrap();
    for i in 0..NODES {
        let short = format!("n{i}");
        tc.node(&short, node_extra(&tc, i)).await;
        // Replaces the not-ready taint a new Node gets on admission (no kubelet lifts it here).
        let taints = json!({"spec": {"taints": node_taints(i)}});
        node_api
            .patch(
                &tc.node_name(&short),
                &PatchParams::default(),
                &Patch::Merge(&taints),
            )
            .await
            .unwrap();
    }
    for r in 0..(2 * NODES) {
        let app = rng.pick(&APPS);
        let port = rng.chance(25).then_some((8080, "TCP"));
        let mut extra = json!({
            "metadata": {"labels": {"app": app}},
            "spec": {"containers": [container(rng.pick(&["250m", "500m", "1"]), "512Mi", port)]},
        });
        if rng.chance(20) {
            let key = rng.pick(&[HOSTNAME, ZONE]);
            extra["spec"]["affinity"] = json!({"podAntiAffinity":
                {"requiredDuringSchedulingIgnoredDuringExecution": [term(app, key)]}});
        }
        let owner = tc.owner("Job", &format!("resident-{r}")).await;
        tc.pod(
            &format!("resident-{r}"),
            &format!("n{}", rng.below(NODES)),
            Some(owner),
            extra,
        )
        .await;
    }

    let pods = Api::<Pod>::namespaced(tc.client.clone(), &tc.namespace);
    let all_pods = Api::<Pod>::all(tc.client.clone());
    let mut disagreements = Vec::new();
    let mut bound = 0;
    for c in 0..cases {
        let name = format!("candidate-{c:03}");
        let raw = candidate(&mut rng, &name);
        let pod: Pod = serde_json::from_value(raw).unwrap();
        let created = pods.create(&PostParams::default(), &pod).await.unwrap();
        // ekas sees the cluster as the scheduler did: every Node and pod, this one pending.
        let nodes = values(node_api.list(&ListParams::default()).await.unwrap().items);
        let mut everything: Vec<Value> =
            values(all_pods.list(&ListParams::default()).await.unwrap().items)
                .into_iter()
                .filter(|p| p["metadata"]["name"] != name.as_str())
                .collect();
        everything.push(serde_json::to_value(&created).unwrap());
        let scheduler = scheduler_verdict(&pods, &name).await;
        let ekas = ekas_verdict(&nodes, &everything, &name);
        bound += usize::from(scheduler.is_some());
        if scheduler.is_some() != ekas.is_some() {
            disagreements.push(format!(
                "{name}: scheduler {}, ekas {}\n    {}",
                scheduler.as_deref().unwrap_or("refused"),
                ekas.as_deref().unwrap_or("no existing node"),
                serde_json::to_string(&created.spec.as_ref().map(|s| (
                    &s.affinity,
                    &s.topology_spread_constraints,
                    &s.node_selector,
                    &s.tolerations,
                    s.containers.first().map(|c| (&c.resources, &c.ports)),
                )))
                .unwrap()
            ));
        }
        pods.delete(&name, &DeleteParams::default().grace_period(0))
            .await
            .unwrap();
        while pods.get_opt(&name).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the scheduler's cache see the deletion before the next pod.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    eprintln!(
        "seed {seed}: {cases} pods, {bound} bound by the scheduler, {} disagreements",
        disagreements.len()
    );
    tc.cleanup().await;
    assert!(
        disagreements.is_empty(),
        "{} of {cases} pods decided differently:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

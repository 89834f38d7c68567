//! What each expander buys on the original tool's benchmark mix: 200 empty groups of
//! m4.2xlarge, m4.4xlarge, c4.4xlarge and m4.10xlarge over 20 pools (10 groups a pool, over
//! three zones), and 10,000 pending pods of 0.5–4 cpu and 1–15 GiB, each pinned to a pool.
//!
//! `cargo bench --bench expanders` prints, per expander chain: vCPU bought per cpu requested
//! (whole instances, so the kubelet's reservation counts as bought), dollars per hour at the
//! bundled on-demand prices, nodes, and the engine's time; then a floor no packing beats: per
//! pool, the cheapest type's nodes if pods could be cut to fill every node's cpu or memory.

use std::collections::HashMap;
use std::time::Instant;

use ekas::engine::expander::Expander;
use ekas::source::build::{self, BuildOptions};
use ekas::source::document::SnapshotDocument;
use serde_json::{Value, json};

const POOLS: usize = 20;
const GROUPS_PER_POOL: usize = 10;
const PODS: usize = 10_000;
const REGION: &str = "us-east-1";

/// (type, vCPUs, MiB)
const TYPES: [(&str, u32, u64); 4] = [
    ("m4.2xlarge", 8, 32_768),
    ("m4.4xlarge", 16, 65_536),
    ("c4.4xlarge", 16, 30_720),
    ("m4.10xlarge", 40, 163_840),
];

/// A small fixed generator (64-bit LCG), so every run sees the same pods.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn cluster() -> Value {
    let mut groups = Vec::new();
    let mut configs = Vec::new();
    for pool in 0..POOLS {
        for g in 0..GROUPS_PER_POOL {
            let (ty, _, _) = TYPES[g % TYPES.len()];
            let name = format!("pool{pool:02}-{g}");
            let zone = format!("{REGION}{}", ["a", "b", "c"][g % 3]);
            groups.push(
                json!({"AutoScalingGroupName": name, "MinSize": 0, "MaxSize": 1000,
                "DesiredCapacity": 0, "AvailabilityZones": [zone],
                "LaunchConfigurationName": format!("{name}-lc"), "Instances": [],
                "Tags": [{"Key": "KubernetesCluster", "Value": "bench"},
                         {"Key": "Role", "Value": "worker"},
                         {"Key": "kube/pool", "Value": format!("p{pool}")}]}),
            );
            configs.push(json!({"LaunchConfigurationName": format!("{name}-lc"),
                "InstanceType": ty, "ImageId": "ami-1"}));
        }
    }
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(ty, vcpus, mib)| json!({"InstanceType": ty, "VCpuInfo": {"DefaultVCpus": vcpus},
            "MemoryInfo": {"SizeInMiB": mib}, "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}}))
        .collect();
    let mut rng = Lcg(17);
    let pods: Vec<Value> = (0..PODS)
        .map(|i| {
            let cpu = 500 * (1 + rng.below(8)); // 0.5 … 4 cpu
            let gib = 1 + rng.below(15); // 1 … 15 GiB
            let pool = rng.below(POOLS as u64);
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("job-{i:05}"), "namespace": "batch",
                    "creationTimestamp": "2026-11-27T11:00:00Z",
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u", "controller": true}]},
                "spec": {"containers": [{"name": "main", "image": "job",
                    "resources": {"requests": {"cpu": format!("{cpu}m"), "memory": format!("{gib}Gi")}}}],
                    "nodeSelector": {"pool": format!("p{pool}")}, "restartPolicy": "Never"},
                "status": {"phase": "Pending"}})
        })
        .collect();
    json!({"capturedAt": "2026-11-27T12:00:00Z", "clusterName": "bench", "regions": [REGION],
        "kubernetes": {"pods": {"kind": "List", "items": pods}, "nodes": {"kind": "List", "items": []}},
        "aws": {REGION: {
            "autoScalingGroups": {"AutoScalingGroups": groups},
            "launchConfigurations": {"LaunchConfigurations": configs},
            "instanceTypes": {"InstanceTypes": types}}}})
}

fn main() {
    let doc: SnapshotDocument = serde_json::from_value(cluster()).unwrap();
    let snapshot = build::snapshot(&doc, &BuildOptions::default()).unwrap();
    let vcpus: HashMap<&str, u32> = TYPES.iter().map(|(t, v, _)| (*t, *v)).collect();
    let requested: f64 = snapshot
        .pods
        .iter()
        .map(|p| p.requests.cpu as f64 / 1000.0)
        .sum();
    println!(
        "{PODS} pending pods requesting {requested:.0} cpu; {} groups in {POOLS} pools",
        snapshot.groups.len()
    );
    let chains: [&[Expander]; 4] = [
        &[Expander::Price],
        &[Expander::LeastWaste],
        &[Expander::MostPods],
        &[Expander::Random],
    ];
    floor(&snapshot, &vcpus);
    for chain in chains {
        let mut config = ekas::engine::Config::default();
        config.scale_up.expanders = chain.to_vec();
        let start = Instant::now();
        let plan = ekas::engine::plan(&snapshot, &config);
        let took = start.elapsed();
        let bought: u32 = plan
            .scale_ups
            .iter()
            .map(|s| (s.new_desired - s.current_desired) * vcpus[s.instance_type.as_str()])
            .sum();
        let names: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
        println!(
            "--expander {:<12} {:.3} vCPU bought per cpu requested, ${:>7.2}/h, {:>4} nodes, {} unschedulable, {:.0} ms",
            names.join(","),
            f64::from(bought) / requested,
            plan.summary.cost_per_hour.unwrap_or(f64::NAN),
            plan.summary.new_nodes,
            plan.summary.unschedulable,
            took.as_secs_f64() * 1e3,
        );
    }
}

/// Per pool and type, nodes ≥ max(requested cpu / room cpu, requested memory / room memory);
/// the cheapest type per pool, summed.
fn floor(snapshot: &ekas::model::Snapshot, vcpus: &HashMap<&str, u32>) {
    let (mut dollars, mut bought, mut requested) = (0.0, 0.0, 0.0);
    for pool in 0..POOLS {
        let label = format!("p{pool}");
        let pods = snapshot
            .pods
            .iter()
            .filter(|p| p.placement.node_selector.get("pool") == Some(&label));
        let (cpu, memory) = pods.fold((0.0, 0.0), |(c, m), p| {
            (c + p.requests.cpu as f64, m + p.requests.memory as f64)
        });
        requested += cpu / 1000.0;
        let best = snapshot
            .groups
            .iter()
            .filter(|g| g.template.labels.get("pool") == Some(&label))
            .map(|g| {
                let room = &g.template.allocatable;
                let nodes = (cpu / room.cpu as f64)
                    .max(memory / room.memory as f64)
                    .ceil();
                let price = g.price.expect("bundled types").dollars;
                (
                    nodes * price,
                    nodes * f64::from(vcpus[g.instance_type.as_str()]),
                )
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("every pool has groups");
        dollars += best.0;
        bought += best.1;
    }
    println!(
        "floor (pods cut to fill nodes) {:.3} vCPU bought per cpu requested, ${dollars:>7.2}/h",
        bought / requested
    );
}

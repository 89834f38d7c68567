//! What each expander buys on the original tool's benchmark mix: 200 empty groups of
//! m4.2xlarge, m4.4xlarge, c4.4xlarge and m4.10xlarge over 20 pools (10 groups a pool, over
//! three zones), and 10,000 pending pods of 0.5–4 cpu and 1–15 GiB, each pinned to a pool; and
//! the same pods on today's types (m5.2xlarge, m5.4xlarge, c5.4xlarge, m5.12xlarge).
//!
//! `cargo bench --bench expanders` prints, per mix and expander chain: vCPU bought per cpu
//! requested (whole instances, so the kubelet's reservation counts as bought), dollars per
//! hour at the bundled on-demand prices against the LP bound, nodes, and the engine's time.
//! Two floors no packing beats: per pool, the cheapest single type's nodes if pods could be cut
//! to fill every node's cpu or memory; and the per-pool LP bound, the cheapest mix of the
//! pool's types (fractional nodes) whose room holds the pool's cpu and memory.

use std::collections::HashMap;
use std::time::Instant;

use ekas::decode::{self, DecodeOptions};
use ekas::document::SnapshotDocument;
use ekas::engine::scale_up::expander::Expander;
use serde_json::{Value, json};

const POOLS: usize = 20;
const GROUPS_PER_POOL: usize = 10;
const PODS: usize = 10_000;
const REGION: &str = "us-east-1";

/// (type, vCPUs, MiB)
type Types = [(&'static str, u32, u64); 4];

/// The original tool's benchmark.
const M4: Types = [
    ("m4.2xlarge", 8, 32_768),
    ("m4.4xlarge", 16, 65_536),
    ("c4.4xlarge", 16, 30_720),
    ("m4.10xlarge", 40, 163_840),
];

/// The same shapes in today's types.
const M5: Types = [
    ("m5.2xlarge", 8, 32_768),
    ("m5.4xlarge", 16, 65_536),
    ("c5.4xlarge", 16, 32_768),
    ("m5.12xlarge", 48, 196_608),
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

fn cluster(types: &Types) -> Value {
    let mut groups = Vec::new();
    let mut configs = Vec::new();
    for pool in 0..POOLS {
        for g in 0..GROUPS_PER_POOL {
            let (ty, _, _) = types[g % types.len()];
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
    let types: Vec<Value> = types
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
    for (name, types) in [
        ("the original tool's mix (m4/c4)", M4),
        ("today's types (m5/c5)", M5),
    ] {
        println!("{name}:");
        mix(&types);
    }
}

fn mix(types: &Types) {
    let doc: SnapshotDocument = serde_json::from_value(cluster(types)).unwrap();
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default()).unwrap();
    let vcpus: HashMap<&str, u32> = types.iter().map(|(t, v, _)| (*t, *v)).collect();
    let requested: f64 = snapshot
        .pods
        .iter()
        .map(|p| p.requests.cpu as f64 / 1000.0)
        .sum();
    println!(
        "  {PODS} pending pods requesting {requested:.0} cpu; {} groups in {POOLS} pools",
        snapshot.groups.len()
    );
    let chains: [&[Expander]; 4] = [
        &[Expander::Price],
        &[Expander::LeastWaste],
        &[Expander::MostPods],
        &[Expander::Random],
    ];
    floor(&snapshot, &vcpus);
    let lp = lp_bound(&snapshot);
    println!("  LP bound (the cheapest mix of each pool's types, fractional nodes): ${lp:>7.2}/h");
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
        let dollars = plan.summary.cost_per_hour.unwrap_or(f64::NAN);
        println!(
            "  --expander {:<12} {:.3} vCPU bought per cpu requested, ${dollars:>7.2}/h = {:.3} x LP, {:>4} nodes, {} unschedulable, {:.0} ms",
            names.join(","),
            f64::from(bought) / requested,
            dollars / lp,
            plan.summary.new_nodes,
            plan.summary.unschedulable,
            took.as_secs_f64() * 1e3,
        );
    }
}

/// Per pool, the cheapest mix of its groups' types whose room holds the pool's cpu and memory,
/// nodes counted fractionally: a linear program with two constraints, whose optimum uses one
/// type or two (both constraints tight), so every single type and every pair is tried.
fn lp_bound(snapshot: &ekas::model::Snapshot) -> f64 {
    let mut total = 0.0;
    for pool in 0..POOLS {
        let label = format!("p{pool}");
        let (cpu, memory) = snapshot
            .pods
            .iter()
            .filter(|p| p.placement.node_selector.get("pool") == Some(&label))
            .fold((0.0, 0.0), |(c, m), p| {
                (c + p.requests.cpu as f64, m + p.requests.memory as f64)
            });
        // (room cpu, room memory, dollars per hour) of each type the pool can buy.
        let types: Vec<(f64, f64, f64)> = snapshot
            .groups
            .iter()
            .filter(|g| g.template.labels.get("pool") == Some(&label))
            .map(|g| {
                let room = &g.template.allocatable;
                let price = g.price.expect("bundled types").dollars;
                (room.cpu as f64, room.memory as f64, price)
            })
            .collect();
        let mut best = f64::INFINITY;
        for &(c, m, p) in &types {
            best = best.min(p * (cpu / c).max(memory / m));
        }
        for &(c1, m1, p1) in &types {
            for &(c2, m2, p2) in &types {
                let det = c1 * m2 - c2 * m1;
                if det.abs() < 1e-9 {
                    continue;
                }
                let x = (cpu * m2 - c2 * memory) / det;
                let y = (c1 * memory - m1 * cpu) / det;
                if x >= 0.0 && y >= 0.0 {
                    best = best.min(p1 * x + p2 * y);
                }
            }
        }
        total += best;
    }
    total
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
        "  floor (the cheapest single type, pods cut to fill nodes) {:.3} vCPU bought per cpu requested, ${dollars:>7.2}/h",
        bought / requested
    );
}

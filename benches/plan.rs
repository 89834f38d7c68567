//! Planning cost on generated clusters: 5,000 nodes in 200 single-zone groups over two regions
//! and six zones, with 1k / 10k / 100k pending pods from 40 job templates.
//!
//! `cargo bench --bench plan` prints, per size: the engine alone (best and median of several
//! runs, one thread); then the same with 10% of the pods (4 of the 40 templates) carrying
//! constraints between pods — zone spread, hostname anti-affinity, zone affinity to a service,
//! hostname spread; and for the largest size the whole `ekas plan --snapshot … --output json`
//! path (read + parse + build + plan + render) against `python3 -c json.load` on the same file.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use ekas::source::build::{self, BuildOptions};
use ekas::source::{document::SnapshotDocument, file};
use serde_json::{Value, json};

const NODES: usize = 5_000;
const GROUPS: usize = 200;
const REGIONS: [&str; 2] = ["us-west-2", "us-east-1"];

struct Kind {
    ty: &'static str,
    vcpus: u32,
    mib: u64,
    gpus: u32,
    pool: &'static str,
}

const KINDS: [Kind; 6] = [
    Kind {
        ty: "m5.2xlarge",
        vcpus: 8,
        mib: 32_768,
        gpus: 0,
        pool: "cpu",
    },
    Kind {
        ty: "m5.4xlarge",
        vcpus: 16,
        mib: 65_536,
        gpus: 0,
        pool: "cpu",
    },
    Kind {
        ty: "c5.9xlarge",
        vcpus: 36,
        mib: 73_728,
        gpus: 0,
        pool: "cpu",
    },
    Kind {
        ty: "r5.4xlarge",
        vcpus: 16,
        mib: 131_072,
        gpus: 0,
        pool: "mem",
    },
    Kind {
        ty: "p3.2xlarge",
        vcpus: 8,
        mib: 62_464,
        gpus: 1,
        pool: "gpu",
    },
    Kind {
        ty: "g5.12xlarge",
        vcpus: 48,
        mib: 196_608,
        gpus: 4,
        pool: "gpu",
    },
];

/// The constraints a template's pods carry, when `constrained`: 4 templates of 40.
fn constraints(template: usize, spec: &mut Value) {
    let own = json!({"matchLabels": {"job-name": format!("job-{template}")}});
    match template {
        2 => {
            spec["topologySpreadConstraints"] = json!([{"maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": own}]);
        }
        7 => {
            spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": own}]}});
        }
        12 => {
            spec["affinity"] = json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "topology.kubernetes.io/zone",
                 "labelSelector": {"matchLabels": {"app": "cache"}}}]}});
        }
        17 => {
            spec["topologySpreadConstraints"] = json!([{"maxSkew": 2,
                "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": own}]);
        }
        _ => {}
    }
}

fn pod(name: String, template: usize, node: Option<String>, constrained: bool) -> Value {
    let cpus = ["500m", "1", "2", "3500m", "4", "8"];
    let mems = ["1Gi", "2Gi", "4Gi", "8Gi", "16Gi", "30Gi"];
    let pool = ["cpu", "cpu", "mem", "cpu", "gpu"][template % 5];
    let mut requests = json!({"cpu": cpus[template % 6], "memory": mems[(template / 3) % 6]});
    let mut spec = json!({"containers": [{"name": "main", "image": "registry/job:1"}],
        "nodeSelector": {"pool": pool}, "restartPolicy": "Never"});
    if pool == "gpu" {
        requests["nvidia.com/gpu"] = json!("1");
        spec["tolerations"] =
            json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
    }
    spec["containers"][0]["resources"] = json!({"requests": requests});
    if constrained && node.is_none() {
        constraints(template, &mut spec);
    }
    let phase = if node.is_some() { "Running" } else { "Pending" };
    if let Some(node) = node {
        spec["nodeName"] = json!(node);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "batch", "uid": format!("uid-{name}"),
            "creationTimestamp": "2026-11-27T11:00:00Z",
            "labels": {"job-name": format!("job-{template}")},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": format!("job-{template}"), "uid": "u", "controller": true}]},
        "spec": spec,
        "status": {"phase": phase}
    })
}

/// A kubectl/aws-cli shaped snapshot document.
fn cluster(pending: usize, constrained: bool) -> Value {
    let mut nodes = Vec::new();
    let mut pods = Vec::new();
    let mut aws = serde_json::Map::new();
    for (r, region) in REGIONS.iter().enumerate() {
        let mut groups = Vec::new();
        let mut configs = Vec::new();
        for g in (r..GROUPS).step_by(REGIONS.len()) {
            let kind = &KINDS[g % KINDS.len()];
            let name = format!("group-{g:03}");
            let zone = format!("{region}{}", ["a", "b", "c"][(g / REGIONS.len()) % 3]);
            let members = NODES / GROUPS;
            let mut instances = Vec::new();
            for m in 0..members {
                let id = format!("i-{g:03}{m:05}");
                let node = format!("ip-{g}-{m}.{region}.compute.internal");
                instances.push(json!({"InstanceId": id, "InstanceType": kind.ty,
                    "AvailabilityZone": zone, "LifecycleState": "InService",
                    "HealthStatus": "Healthy", "ProtectedFromScaleIn": false}));
                let mut allocatable = json!({"cpu": format!("{}m", kind.vcpus * 1000 - 100),
                    "memory": format!("{}Mi", kind.mib - 2_000), "pods": "110"});
                let mut taints = json!([]);
                if kind.gpus > 0 {
                    allocatable["nvidia.com/gpu"] = json!(kind.gpus.to_string());
                    taints =
                        json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]);
                }
                nodes.push(json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": node, "labels": {"pool": kind.pool, "kubernetes.io/hostname": node,
                        "node.kubernetes.io/instance-type": kind.ty, "topology.kubernetes.io/zone": zone}},
                    "spec": {"providerID": format!("aws:///{zone}/{id}"), "taints": taints},
                    "status": {"allocatable": allocatable,
                        "conditions": [{"type": "Ready", "status": "True"}]}}));
                for p in 0..5 {
                    let template = [0, 1, 3][p % 3] + if kind.pool == "gpu" { 4 } else { 0 };
                    let mut running = pod(
                        format!("run-{g}-{m}-{p}"),
                        template,
                        Some(node.clone()),
                        constrained,
                    );
                    // A service the zone-affinity template wants to be near, on some nodes.
                    if p == 0 && m % 10 == 0 {
                        running["metadata"]["labels"]["app"] = json!("cache");
                    }
                    pods.push(running);
                }
            }
            let mut tags = vec![
                json!({"Key": "KubernetesCluster", "Value": "bench"}),
                json!({"Key": "Role", "Value": "worker"}),
                json!({"Key": "kube/pool", "Value": kind.pool}),
                json!({"Key": "ekas/priority", "Value": (g % 3).to_string()}),
            ];
            if kind.gpus > 0 {
                tags.push(json!({"Key": "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu", "Value": "true:NoSchedule"}));
            }
            groups.push(json!({"AutoScalingGroupName": name, "MinSize": 0, "MaxSize": 150,
                "DesiredCapacity": members, "AvailabilityZones": [zone],
                "LaunchConfigurationName": format!("{name}-lc"), "Instances": instances, "Tags": tags}));
            configs.push(json!({"LaunchConfigurationName": format!("{name}-lc"), "InstanceType": kind.ty, "ImageId": "ami-1"}));
        }
        let types: Vec<Value> = KINDS
            .iter()
            .map(|k| {
                let mut t = json!({"InstanceType": k.ty, "VCpuInfo": {"DefaultVCpus": k.vcpus},
                    "MemoryInfo": {"SizeInMiB": k.mib}, "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}});
                if k.gpus > 0 {
                    t["GpuInfo"] = json!({"Gpus": [{"Name": "V100", "Manufacturer": "NVIDIA", "Count": k.gpus}]});
                }
                t
            })
            .collect();
        aws.insert(
            region.to_string(),
            json!({
                "autoScalingGroups": {"AutoScalingGroups": groups},
                "launchConfigurations": {"LaunchConfigurations": configs},
                "instanceTypes": {"InstanceTypes": types},
            }),
        );
    }
    for i in 0..pending {
        pods.push(pod(
            format!("job-{}-{i:06}", i % 40),
            i % 40,
            None,
            constrained,
        ));
    }
    json!({"capturedAt": "2026-11-27T12:00:00Z", "clusterName": "bench", "regions": REGIONS,
        "kubernetes": {"pods": {"kind": "List", "items": pods}, "nodes": {"kind": "List", "items": nodes}},
        "aws": aws})
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    // `cargo test --benches` runs this binary too; keep that a smoke run.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("EKAS_BENCH_QUICK").is_some();
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    // The defaults, as `ekas plan` with no options uses them.
    let config = ekas::engine::Config::default();
    let build_options = BuildOptions::default();
    let runs = [(false, sizes), (true, &sizes[sizes.len() - 1..])];
    for (constrained, sizes) in runs {
        for &pending in sizes {
            let doc: SnapshotDocument =
                serde_json::from_value(cluster(pending, constrained)).unwrap();
            let snapshot = build::snapshot(&doc, &build_options).unwrap();
            drop(doc);
            let runs = if pending >= 100_000 { 5 } else { 10 };
            let mut times: Vec<Duration> = (0..runs)
                .map(|_| timed(|| black_box(ekas::engine::plan(&snapshot, &config))).1)
                .collect();
            times.sort();
            let plan = ekas::engine::plan(&snapshot, &config);
            println!(
                "engine::plan  {pending:>7} pending pods{}, {} nodes, {} groups: best {:>8.1} ms, median {:>8.1} ms  ({} new nodes, {} unschedulable)",
                if constrained {
                    " (10% constrained)"
                } else {
                    ""
                },
                snapshot.nodes.len(),
                snapshot.groups.len(),
                times[0].as_secs_f64() * 1e3,
                times[runs / 2].as_secs_f64() * 1e3,
                plan.summary.new_nodes,
                plan.summary.unschedulable,
            );
        }
    }

    let largest = *sizes.last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, serde_json::to_vec(&cluster(largest, false)).unwrap()).unwrap();
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
    let ((), whole) = timed(|| {
        let doc = file::read(&path).unwrap();
        let snapshot = build::snapshot(&doc, &build_options).unwrap();
        let plan = ekas::engine::plan(&snapshot, &config);
        let mut sink = std::io::sink();
        ekas::output::json::write_plan(&plan, &mut sink).unwrap();
        sink.flush().unwrap();
    });
    println!(
        "ekas plan --snapshot ({size_mb:.0} MB, {largest} pending pods) --output json: {:.2} s",
        whole.as_secs_f64()
    );
    let (status, python) = timed(|| {
        std::process::Command::new("python3")
            .args(["-c", "import json, sys; json.load(open(sys.argv[1]))"])
            .arg(&path)
            .status()
    });
    match status {
        Ok(s) if s.success() => println!(
            "python3 json.load of the same file:            {:.2} s",
            python.as_secs_f64()
        ),
        _ => println!("python3 json.load: not available"),
    }
}

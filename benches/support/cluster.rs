//! A generated cluster for the benches: 5,000 nodes in 200 single-zone groups over two regions
//! and six zones, running pods spread over the nodes, and pending pods from 40 job templates,
//! as a kubectl/aws-cli shaped snapshot document.

use serde_json::{Value, json};

pub const NODES: usize = 5_000;
pub const GROUPS: usize = 200;
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
/// `running` pods are spread evenly over the nodes (5 per node when 25,000).
pub fn cluster(running: usize, pending: usize, constrained: bool) -> Value {
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
                let index = g * members + m;
                let on_node = running / NODES + usize::from(index < running % NODES);
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
                for p in 0..on_node {
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

//! Simulation speed: one simulated week of 100,000 jobs on a cluster of 200 node groups over
//! two regions (all empty at the start), through the real engine, on one thread.
//!
//! `cargo bench --bench simulate` prints the wall time, the passes the engine planned and the
//! figures of the run; the target is under 10 s.

use std::time::Instant;

use ekas::simulate::policy::Policy;
use ekas::simulate::{Scenario, Settings, run};
use jiff::SignedDuration;
use serde_json::{Value, json};

const GROUPS: usize = 200;
const REGIONS: [&str; 2] = ["us-west-2", "us-east-1"];
const WEEK_S: u64 = 7 * 86_400;

/// (instance type, vCPUs, MiB, GPUs, pool) of the groups, in turn.
const KINDS: [(&str, u32, u64, u32, &str); 6] = [
    ("m5.2xlarge", 8, 32_768, 0, "cpu"),
    ("m5.4xlarge", 16, 65_536, 0, "cpu"),
    ("c5.9xlarge", 36, 73_728, 0, "cpu"),
    ("r5.4xlarge", 16, 131_072, 0, "mem"),
    ("p3.2xlarge", 8, 62_464, 1, "gpu"),
    ("g5.12xlarge", 48, 196_608, 4, "gpu"),
];

fn cluster() -> Vec<u8> {
    let mut aws = serde_json::Map::new();
    for (r, region) in REGIONS.iter().enumerate() {
        let mut groups = Vec::new();
        let mut configs = Vec::new();
        for g in (r..GROUPS).step_by(REGIONS.len()) {
            let (ty, _, _, gpus, pool) = KINDS[g % KINDS.len()];
            let name = format!("group-{g:03}");
            let mut tags = vec![
                json!({"Key": "KubernetesCluster", "Value": "bench"}),
                json!({"Key": "Role", "Value": "worker"}),
                json!({"Key": "kube/pool", "Value": pool}),
                json!({"Key": "ekas/priority", "Value": (g % 3).to_string()}),
            ];
            if gpus > 0 {
                tags.push(
                    json!({"Key": "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu",
                                 "Value": "true:NoSchedule"}),
                );
            }
            groups.push(json!({"AutoScalingGroupName": name, "MinSize": 0, "MaxSize": 50,
                "DesiredCapacity": 0, "AvailabilityZones": [format!("{region}a"), format!("{region}b")],
                "LaunchConfigurationName": name, "Tags": tags}));
            configs.push(json!({"LaunchConfigurationName": name, "InstanceType": ty}));
        }
        let types: Vec<Value> = KINDS
            .iter()
            .map(|&(ty, vcpus, mib, gpus, _)| {
                let mut t = json!({"InstanceType": ty, "VCpuInfo": {"DefaultVCpus": vcpus},
                                   "MemoryInfo": {"SizeInMiB": mib}});
                if gpus > 0 {
                    t["GpuInfo"] = json!({"Gpus": [{"Name": "V100", "Manufacturer": "NVIDIA", "Count": gpus}]});
                }
                t
            })
            .collect();
        aws.insert(
            region.to_string(),
            json!({"autoScalingGroups": {"AutoScalingGroups": groups},
                   "launchConfigurations": {"LaunchConfigurations": configs},
                   "instanceTypes": {"InstanceTypes": types}}),
        );
    }
    let toleration = json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"});
    serde_json::to_vec(&json!({
        "capturedAt": "2026-11-23T00:00:00Z",
        "clusterName": "bench",
        "regions": REGIONS,
        "aws": aws,
        "simulation": {"seed": 1, "classes": {
            "cpu": {"nodeSelector": {"pool": "cpu"}},
            "mem": {"nodeSelector": {"pool": "mem"}},
            "gpu": {"nodeSelector": {"pool": "gpu"}, "tolerations": [toleration]}
        }}
    }))
    .unwrap()
}

/// `jobs` jobs over a week, arriving by the hour of the day (busiest at 15:00).
fn trace(jobs: usize) -> String {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut submits: Vec<u64> = Vec::with_capacity(jobs);
    while submits.len() < jobs {
        let t = next() % WEEK_S;
        let hour = (t % 86_400) as f64 / 3600.0;
        let weight = 0.2 + (-((hour - 15.0) / 4.0).powi(2)).exp();
        if (next() % 1000) as f64 / 1000.0 < weight / 1.2 {
            submits.push(t);
        }
    }
    submits.sort_unstable();
    let mut out = String::from("submit,job,pods,cpu,memory,gpu,class,duration\n");
    for (j, at) in submits.into_iter().enumerate() {
        let class = match next() % 10 {
            0 => "gpu",
            1 | 2 => "mem",
            _ => "cpu",
        };
        let pods = [1, 1, 1, 2, 2, 4][(next() % 6) as usize];
        let cpu = ["500m", "1", "2", "4"][(next() % 4) as usize];
        let memory = match class {
            "mem" => ["16Gi", "32Gi"][(next() % 2) as usize],
            _ => ["1Gi", "2Gi", "4Gi", "8Gi"][(next() % 4) as usize],
        };
        let gpu = if class == "gpu" { "1" } else { "" };
        let minutes = 5 + next() % 55;
        out.push_str(&format!(
            "{at},j{j},{pods},{cpu},{memory},{gpu},{class},{minutes}m\n"
        ));
    }
    out
}

fn main() {
    // `cargo test --benches` runs this binary too; keep that a smoke run.
    let quick =
        std::env::args().any(|a| a == "--test") || std::env::var_os("EKAS_BENCH_QUICK").is_some();
    let jobs = if quick { 2_000 } else { 100_000 };
    let scenario = Scenario::parse(&cluster(), &trace(jobs)).unwrap();
    for policy in [Policy::Ekas, Policy::Original] {
        let settings = Settings {
            label: policy.to_string(),
            policy,
            engine: ekas::engine::Config::default(),
            build: Default::default(),
            sleep: SignedDuration::from_secs(60),
            batch_idle: SignedDuration::from_millis(1500),
            batch_max: SignedDuration::from_secs(10),
            scoring: Default::default(),
        };
        let start = Instant::now();
        let o = run(&scenario, &settings, &|_| {}).unwrap();
        let took = start.elapsed();
        assert!(o.violations.is_empty(), "{:?}", o.violations);
        println!(
            "simulate {policy:>8}: {jobs} jobs / 1 week / {GROUPS} groups in {:.2} s: {} passes \
             ({:.0} µs each), {} jobs finished, {} nodes launched, {:.0} node-hours, wait p95 {:.0} s",
            took.as_secs_f64(),
            o.passes,
            took.as_secs_f64() * 1e6 / o.passes as f64,
            o.jobs_finished,
            o.nodes_launched,
            o.node_hours,
            o.job_wait.p95,
        );
    }
}

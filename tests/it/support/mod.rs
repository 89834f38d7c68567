//! Test harness: run the binary, build snapshot documents, start moto; and every fixture more
//! than one test module uses (a test module never imports another):
//! - `cluster`: the Kubernetes cluster of a test ([`cluster::TestCluster`]): the fake API server,
//!   or a real cluster named by `EKAS_TEST_KUBECONFIG`, and the fake's simplifications tests rely
//!   on;
//! - `simulator`: the other actors of a cluster for `ekas run` (nodes joining, kube-scheduler on
//!   the fake, kubelets); `lease`: a Lease holder other than ekas;
//! - `groups`, `aws_setup`, `moto`, `fault_proxy`, `fake_pricing`: the AWS side;
//! - `ekas_loop`: `ekas run` as a child process, its metrics and log; `receiver`: Slack;
//! - `manifests`: deploy/ rendered, and its RBAC; `scheduler_shorthand`: the scheduler cases'
//!   shorthand built into objects, and ekas's verdicts on them.

pub mod aws_setup;
pub mod cluster;
pub mod ekas_loop;
pub mod fake_pricing;
pub mod fault_proxy;
pub mod groups;
pub mod lease;
pub mod manifests;
pub mod moto;
pub mod receiver;
pub mod scheduler_shorthand;
pub mod simulator;

// The fake API server is a crate of its own (crates/fake-kube); tests name it from here.
pub use fake_kube;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example() -> PathBuf {
    repo_root().join("examples/batch-cluster.json")
}

/// A kubeconfig file in `dir` naming `server`, without credentials: for a client pointed at
/// something that is no cluster (a closed port, a fault proxy).
pub fn kubeconfig_for(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
         clusters:\n- name: c\n  cluster:\n    server: {server}\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n\
         users:\n- name: u\n  user: {{}}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Runs `ekas` with `args`, from the repository root.
pub fn ekas(args: &[&str]) -> Output {
    ekas_with_env(args, &[])
}

/// The `ekas` command with `args` and extra environment variables, from the repository root.
fn ekas_command(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ekas"));
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("EKAS_CLUSTER_NAME")
        .env_remove("KUBECONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `ekas` with `args` and extra environment variables.
pub fn ekas_with_env(args: &[&str], env: &[(&str, String)]) -> Output {
    ekas_command(args, env)
        .output()
        .expect("the ekas binary runs")
}

/// Runs `ekas` like [`ekas_with_env`], but fails the test when it is still running after
/// `limit` (killing it): a call without a deadline must not hang the suite.
pub fn ekas_within(args: &[&str], env: &[(&str, String)], limit: Duration) -> Output {
    let mut child = ekas_command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ekas binary runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ekas was still running after {limit:?}: a call has no deadline\n{}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `ekas plan --output json` on a snapshot and returns the plan document.
pub fn plan_json(snapshot: &Path, extra: &[&str]) -> Value {
    let path = snapshot.to_str().unwrap();
    let mut args = vec!["plan", "--snapshot", path, "--output", "json"];
    args.extend_from_slice(extra);
    let out = ekas(&args);
    assert!(out.status.success(), "ekas failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("plan output is JSON")
}

/// Writes a document into a fresh temporary directory.
pub fn write_snapshot(doc: &Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    (dir, path)
}

/// A small, valid snapshot: one region, one CPU group (m5.xlarge) with no nodes, and
/// `pending` pending pods requesting 1 cpu and 2Gi each.
pub fn small_snapshot(pending: usize) -> Value {
    let pods: Vec<Value> = (0..pending)
        .map(|i| pod(&format!("job-{i}"), "1", "2Gi"))
        .collect();
    json!({
        "capturedAt": "2026-11-27T12:00:00Z",
        "clusterName": "test",
        "regions": ["us-west-2"],
        "kubernetes": {
            "pods": {"kind": "List", "items": pods},
            "nodes": {"kind": "List", "items": []}
        },
        "aws": {"us-west-2": {
            "autoScalingGroups": {"AutoScalingGroups": [{
                "AutoScalingGroupName": "workers",
                "MinSize": 0, "MaxSize": 10, "DesiredCapacity": 0,
                "AvailabilityZones": ["us-west-2a"],
                "LaunchConfigurationName": "workers-lc",
                "Instances": [],
                "Tags": [
                    {"Key": "KubernetesCluster", "Value": "test"},
                    {"Key": "Role", "Value": "worker"}
                ]
            }]},
            "launchConfigurations": {"LaunchConfigurations": [
                {"LaunchConfigurationName": "workers-lc", "InstanceType": "m5.xlarge", "ImageId": "ami-1"}
            ]},
            "instanceTypes": {"InstanceTypes": [{
                "InstanceType": "m5.xlarge",
                "VCpuInfo": {"DefaultVCpus": 4},
                "MemoryInfo": {"SizeInMiB": 16384},
                "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]}
            }]}
        }}
    })
}

pub fn pod(name: &str, cpu: &str, memory: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "batch",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "job", "uid": "u", "controller": true}]},
        "spec": {"containers": [{"name": "main", "image": "busybox",
            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"phase": "Pending"}
    })
}

/// Polls `check` until it holds; fails the test after `timeout`, naming what it waited for.
pub async fn wait_for(
    what: &str,
    timeout: std::time::Duration,
    mut check: impl AsyncFnMut() -> bool,
) {
    let start = std::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The loop's pod cache must build the pods a document builds: fed the document's pods as watch
/// events (in reverse, and each twice, as a relist would), the snapshot built from the cache
/// has the same pods, in namespace/name order, and names the same unreadable pods. Documents
/// the API server could not hold (two pods of one name, a pod without one) are skipped.
pub fn assert_cache_builds_same(
    doc: &ekas::document::SnapshotDocument,
    options: &ekas::decode::DecodeOptions,
    from_document: &ekas::model::Snapshot,
) {
    use ekas::decode::{self, cache::PodCache};
    use ekas::model::ObjectKind;
    let items = &doc.kubernetes.pods.items;
    let key = |p: &ekas::document::pod::Pod| {
        let meta = &p.metadata;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        Some((namespace, meta.name.clone()?))
    };
    let keys: Option<std::collections::BTreeSet<_>> = items.iter().map(key).collect();
    if keys.is_none_or(|k| k.len() != items.len()) {
        return;
    }
    let mut cache = PodCache::default();
    for pod in items.iter().rev() {
        cache.apply(pod.clone());
    }
    cache.relist_started();
    for pod in items {
        cache.apply(pod.clone());
    }
    cache.relist_done();
    let cached = decode::snapshot_with_cached_pods(doc, &cache, options)
        .expect("the document built, so the cache does");
    let mut expected: Vec<_> = from_document.pods.iter().collect();
    expected.sort_by_key(|p| (p.namespace.clone(), p.name.clone()));
    assert_eq!(
        format!("{:?}", cached.pods.iter().collect::<Vec<_>>()),
        format!("{expected:?}"),
        "the cache's pods are the document's"
    );
    let unreadable = |s: &ekas::model::Snapshot| {
        let mut pods: Vec<String> = s
            .left_out
            .objects
            .iter()
            .filter(|o| o.kind == ObjectKind::Pod)
            .map(|o| format!("{o:?}"))
            .collect();
        pods.sort();
        pods
    };
    assert_eq!(unreadable(&cached), unreadable(from_document));
}

//! A Kubernetes cluster for one test: the fake API server, or — when `EKAS_TEST_KUBECONFIG`
//! names one — a real cluster. Tests set up their objects through the API either way, in a
//! namespace of their own, with Node objects created directly (no kubelet runs) and pods marked
//! Running through the status subresource.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::fake_kube::FakeKube;

/// Label on every Node a test creates, so it finds (and cleans up) only its own.
const TEST_LABEL: &str = "ekas-test";

pub struct TestCluster {
    pub kubeconfig: PathBuf,
    /// The fake server, when not running against a real cluster.
    pub fake: Option<FakeKube>,
    pub client: kube::Client,
    /// This test's namespace, and the prefix of its node names.
    pub namespace: String,
}

fn unique_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestCluster {
    pub async fn start() -> TestCluster {
        let (kubeconfig, fake) = match std::env::var_os("EKAS_TEST_KUBECONFIG") {
            Some(path) => (PathBuf::from(path), None),
            None => {
                let fake = FakeKube::start();
                (fake.kubeconfig(), Some(fake))
            }
        };
        let client = ekas::kubernetes::client(&ekas::kubernetes::KubeOptions {
            kubeconfig: Some(kubeconfig.clone()),
            ..Default::default()
        })
        .await
        .expect("a client for the test cluster");
        let namespace = format!("ekas-test-{}", unique_id());
        let ns: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
        }))
        .unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("creating the test namespace");
        TestCluster {
            kubeconfig,
            fake,
            client,
            namespace,
        }
    }

    pub fn kubeconfig_arg(&self) -> &str {
        self.kubeconfig.to_str().unwrap()
    }

    /// This test's name for a node.
    pub fn node_name(&self, short: &str) -> String {
        format!("{}-{short}", self.namespace)
    }

    /// A Ready node with 4 cpu and 16Gi.
    pub async fn node(&self, short: &str, extra: Value) -> Node {
        let name = self.node_name(short);
        let mut node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {TEST_LABEL: self.namespace}},
            "spec": {"providerID": format!("aws:///us-west-2a/i-{short}")},
        });
        merge(&mut node, extra);
        let api = Api::<Node>::all(self.client.clone());
        let node: Node = serde_json::from_value(node).unwrap();
        api.create(&PostParams::default(), &node).await.unwrap();
        let status = json!({"status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        }});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap()
    }

    pub async fn get_node(&self, short: &str) -> Node {
        Api::<Node>::all(self.client.clone())
            .get(&self.node_name(short))
            .await
            .unwrap()
    }

    /// An owner for pods: a real object on a real cluster (its garbage collector deletes pods
    /// whose owner does not exist); a made-up uid on the fake. `kind` is Job, DaemonSet or
    /// ReplicaSet-like names served as Job.
    pub async fn owner(&self, kind: &str, name: &str) -> Value {
        let uid = if self.fake.is_some() {
            format!("uid-{kind}-{name}")
        } else if kind == "DaemonSet" {
            let ds: DaemonSet = serde_json::from_value(json!({
                "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"ds": name}},
                    "template": {"metadata": {"labels": {"ds": name}},
                        "spec": {"nodeSelector": {"ekas-test/nowhere": "true"},
                            "containers": [{"name": "c", "image": "busybox"}]}}}
            }))
            .unwrap();
            let api = Api::<DaemonSet>::namespaced(self.client.clone(), &self.namespace);
            let ds = api.create(&PostParams::default(), &ds).await.unwrap();
            ds.metadata.uid.unwrap()
        } else {
            let job: Job = serde_json::from_value(json!({
                "metadata": {"name": name},
                "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox"}]}}}
            }))
            .unwrap();
            let api = Api::<Job>::namespaced(self.client.clone(), &self.namespace);
            let job = api.create(&PostParams::default(), &job).await.unwrap();
            job.metadata.uid.unwrap()
        };
        let api_version = if kind == "DaemonSet" {
            "apps/v1"
        } else {
            "batch/v1"
        };
        json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
            "controller": true})
    }

    /// A pod bound to node `short`, Running and Ready, started `age_secs` ago (on a real
    /// cluster the API server sets the creation time: ages there are "now").
    pub async fn pod(&self, name: &str, short: &str, owner: Option<Value>, extra: Value) -> Pod {
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {
                "nodeName": self.node_name(short),
                // Deleted at once on a real cluster too, where no kubelet confirms it.
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": "busybox",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
            },
        });
        if let Some(owner) = owner {
            pod["metadata"]["ownerReferences"] = json!([owner]);
        }
        merge(&mut pod, extra);
        let api = Api::<Pod>::namespaced(self.client.clone(), &self.namespace);
        let pod: Pod = serde_json::from_value(pod).unwrap();
        api.create(&PostParams::default(), &pod).await.unwrap();
        let status = json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap()
    }

    pub async fn pdb(&self, name: &str, min_available: i32, match_labels: Value) {
        let pdb: PodDisruptionBudget = serde_json::from_value(json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": match_labels}},
        }))
        .unwrap();
        Api::<PodDisruptionBudget>::namespaced(self.client.clone(), &self.namespace)
            .create(&PostParams::default(), &pdb)
            .await
            .unwrap();
    }

    /// Names of the pods in this test's namespace that are not being deleted.
    pub async fn pod_names(&self) -> Vec<String> {
        let api = Api::<Pod>::namespaced(self.client.clone(), &self.namespace);
        let mut names: Vec<String> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.name)
            .collect();
        names.sort();
        names
    }

    /// Every object this test owns, for before/after comparison.
    pub async fn state(&self) -> Value {
        let pods = Api::<Pod>::namespaced(self.client.clone(), &self.namespace);
        let pdbs = Api::<PodDisruptionBudget>::namespaced(self.client.clone(), &self.namespace);
        let nodes = Api::<Node>::all(self.client.clone());
        let mine = ListParams::default().labels(&format!("{TEST_LABEL}={}", self.namespace));
        json!({
            "pods": pods.list(&ListParams::default()).await.unwrap().items,
            "pdbs": pdbs.list(&ListParams::default()).await.unwrap().items,
            "nodes": nodes.list(&mine).await.unwrap().items,
        })
    }

    /// Deletes what the test created (a real cluster keeps it otherwise).
    pub async fn cleanup(self) {
        if self.fake.is_some() {
            return;
        }
        let nodes = Api::<Node>::all(self.client.clone());
        let mine = ListParams::default().labels(&format!("{TEST_LABEL}={}", self.namespace));
        let _ = nodes
            .delete_collection(&DeleteParams::default(), &mine)
            .await;
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.namespace, &DeleteParams::default())
            .await;
    }
}

/// JSON merge of `extra` into `base` (objects merge, everything else replaces).
pub fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

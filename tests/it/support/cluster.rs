//! A Kubernetes cluster for one test: the fake API server, or — when `EKAS_TEST_KUBECONFIG`
//! names one — a real cluster. A test sets up its objects through [`TestCluster`], in a
//! namespace of its own, reads them back through it, and runs ekas (the binary, or its library
//! with [`TestCluster::client`]) against [`TestCluster::kubeconfig`].
//!
//! On a real cluster every object goes through the API: a Node is created with its status, as
//! its kubelet registers it (no kubelet runs); a pod is created, then marked Running through the
//! status subresource; whatever the test made is deleted when it ends (also when it fails). On
//! the fake the harness is not a client: it seeds and reads through the fake's own interface
//! (`add`, `set`, `remove`, `object`; none is a request), so that the fake's request log and
//! record of writes hold ekas's requests alone — tests count them and check them against
//! deploy/'s RBAC.
//!
//! A test that needs what only the fake does, or one of its simplifications, says so:
//! [`TestCluster::fake_only`] skips the whole test on a real cluster, [`TestCluster::fake_checks`]
//! skips only the checks that read the fake's bookkeeping; each prints what it needs. What only
//! the fake does: its request log (`request_log`, `requests`, `count`, `lists`, `watches`), its
//! record of writes with their sender and the Lease holder of the moment (`writes`), its record
//! of evictions and their grace (`evictions`, `eviction_grace_periods`), and injected faults
//! (`refuse`, `fail_next`, `slow`, `unserve`/`serve`, and a fault proxy in front of its plain
//! HTTP with `kubeconfig_via`).
//!
//! The fake's simplifications, and how the tests stand with them:
//! - It keeps the creation times a test gives: there a Node can be up since January. A real API
//!   server makes every object new, so the tests' `ekas` commands take Nodes for joined long ago
//!   (`--launch-grace 0`), and the fixtures whose Nodes went NotReady months after they joined
//!   run on the fake only (a new NotReady Node is one still starting, not a dead one).
//! - No admission or validation: it stores a pod whose quantities do not parse (fake only).
//! - It serves the coscheduling CRD, alpha PodGroups of a Kubernetes newer than the real cluster
//!   may be, and the ProvisioningRequest CRD; on a real cluster [`TestCluster::serve_crd`]
//!   installs deploy/'s copy of the last.
//! - Deletion is immediate. Without a kubelet a real cluster keeps a pod evicted with a grace
//!   period Terminating: the simulator ([`super::simulator`]) ends such pods as their kubelet
//!   would, and a test's own pods are deleted at once (grace period 0).
//! - No scheduler: on the fake a pod stays pending unless the simulator binds it; on a real
//!   cluster kube-scheduler binds it, and a pod that must still be pending when ekas looks is
//!   left to a scheduler that does not run ([`unscheduled`]).
//!
//! A real cluster for these tests (../shared/realk8s is one) must hold nothing else that ekas
//! would act on — ekas reads every Node, pod and ProvisioningRequest — so the tests run one at
//! a time on it:
//!
//! ```text
//! EKAS_TEST_KUBECONFIG=/tmp/realk8s/kubeconfig cargo test --test it -- --test-threads=1
//! ```
//!
//! Start its kube-controller-manager without the Job, DaemonSet and ReplicaSet controllers,
//! which would take the tests' pods from their inert owners
//! (`KCM_CONTROLLERS='*,-job-controller,-daemonset-controller,-replicaset-controller'`); the
//! node lifecycle controller may run: the harness renews each of its Nodes' Leases in
//! kube-node-lease, as a kubelet would. Tests also use ekas's default Lease namespace, `ekas`
//! (created if missing), and leave the ProvisioningRequest CRD installed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::Request;
use serde_json::{Value, json};

use super::fake_kube::FakeKube;

/// Label on every Node a test creates, so it finds (and cleans up) only its own.
const TEST_LABEL: &str = "ekas-test";

/// The namespace of ekas's default Lease (`--lease-namespace`), which `ekas run`, `reap` and
/// `scale-up` share unless told otherwise.
pub const LEASE_NAMESPACE: &str = "ekas";

/// ekas's default Lease, `ekas/ekas`.
pub const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ekas/leases/ekas";

pub struct TestCluster {
    pub kubeconfig: PathBuf,
    /// The fake server, when not running against a real cluster.
    pub fake: Option<FakeKube>,
    pub client: kube::Client,
    /// This test's namespace, and the prefix of its node names.
    pub namespace: String,
    /// Owners made for pods on a real cluster, by (kind, name).
    owners: Mutex<BTreeMap<(String, String), Value>>,
    /// Paths of cluster-scoped objects other than Nodes that this test created on a real
    /// cluster, deleted with it.
    created: Mutex<Vec<String>>,
    /// Renews the Leases of this test's Nodes on a real cluster.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

fn unique_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A path split as the fake names what it holds: (plural, or "plural.group" outside the core
/// group; namespace; name; subresource).
struct Target {
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    collection: String,
}

fn target(path: &str) -> Target {
    let (group, rest) = match path.strip_prefix("/api/v1/") {
        Some(rest) => ("", rest),
        None => {
            let rest = path.strip_prefix("/apis/").expect("an API path");
            let mut parts = rest.splitn(3, '/');
            let group = parts.next().unwrap();
            parts.next().expect("a version");
            (group, parts.next().expect("a resource"))
        }
    };
    let seg: Vec<&str> = rest.split('/').collect();
    let (namespace, seg) = match seg.as_slice() {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest.to_vec()),
        _ => (None, seg),
    };
    let plural = match group {
        "" => seg[0].to_string(),
        group => format!("{}.{group}", seg[0]),
    };
    let name = seg.get(1).map(|s| s.to_string());
    let collection = match &name {
        Some(name) => path[..path.len() - name.len() - 1].to_string(),
        None => path.to_string(),
    };
    Target {
        plural,
        namespace,
        name,
        collection,
    }
}

/// A JSON merge patch applied in place (RFC 7386: null deletes).
pub fn merge_patch(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge_patch(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

impl TestCluster {
    /// The test's cluster: the fake, or the real one `EKAS_TEST_KUBECONFIG` names.
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
        let mut c = TestCluster {
            kubeconfig,
            fake,
            client,
            namespace: format!("ekas-test-{}", unique_id()),
            owners: Mutex::default(),
            created: Mutex::default(),
            heartbeat: None,
        };
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": c.namespace}});
        c.add("/api/v1/namespaces", ns).await;
        if c.fake.is_some() {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": LEASE_NAMESPACE}});
            c.add("/api/v1/namespaces", ns).await;
        } else {
            c.prepare_real().await;
        }
        c
    }

    /// A real cluster, or None (the test is skipped, saying why) when `EKAS_TEST_KUBECONFIG`
    /// names none: for tests of what only a real control plane does.
    pub async fn real(reason: &str) -> Option<TestCluster> {
        if std::env::var_os("EKAS_TEST_KUBECONFIG").is_none() {
            eprintln!("skipped without a real cluster (EKAS_TEST_KUBECONFIG): {reason}");
            return None;
        }
        Some(TestCluster::start().await)
    }

    /// The fake server; on a real cluster None, after saying that the test is skipped and why
    /// (what of the fake it needs): `let Some(fake) = c.fake_only("…") else { return; };`
    pub fn fake_only(&self, reason: &str) -> Option<&FakeKube> {
        if self.fake.is_none() {
            eprintln!("skipped on a real cluster: {reason}");
        }
        self.fake.as_ref()
    }

    /// The fake server, for checks of its own bookkeeping; on a real cluster None, after saying
    /// which checks are left out.
    pub fn fake_checks(&self, what: &str) -> Option<&FakeKube> {
        if self.fake.is_none() {
            eprintln!("not checked on a real cluster: {what}");
        }
        self.fake.as_ref()
    }

    pub fn is_real(&self) -> bool {
        self.fake.is_none()
    }

    pub fn kubeconfig_arg(&self) -> &str {
        self.kubeconfig.to_str().unwrap()
    }

    /// A kubeconfig whose requests the fake records as sent by `who` ([`FakeKube::writes`]);
    /// on a real cluster, the test's own.
    pub fn kubeconfig_as(&self, who: &str) -> PathBuf {
        match &self.fake {
            Some(fake) => fake.kubeconfig_as(who),
            None => self.kubeconfig.clone(),
        }
    }

    /// The collection `plural` of `api_version` in this test's namespace:
    /// `/api/v1/namespaces/<ns>/pods`, `/apis/<group>/<version>/namespaces/<ns>/<plural>`.
    pub fn collection(&self, api_version: &str, plural: &str) -> String {
        let prefix = match api_version {
            "v1" => "/api/v1".to_string(),
            other => format!("/apis/{other}"),
        };
        format!("{prefix}/namespaces/{}/{plural}", self.namespace)
    }

    // ---- Objects by path ----

    async fn call(&self, request: http::Request<Vec<u8>>) -> Result<Value, kube::Error> {
        self.client.request::<Value>(request).await
    }

    /// Creates `object` in the collection at `path` (its namespace is the path's), then sets
    /// its `status`, if it has one the server did not keep, through the status subresource as a
    /// kubelet or a controller would. Returns the object as stored. Panics when refused.
    pub async fn add(&self, path: &str, mut object: Value) -> Value {
        let t = target(path);
        assert!(t.name.is_none(), "not a collection path: {path}");
        if let Some(ns) = &t.namespace {
            object["metadata"]["namespace"] = json!(ns);
        }
        let name = object["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        if let Some(fake) = &self.fake {
            fake.add(path, object.clone());
            // (The fake names a type by plural and group: of two versions it reads the first.)
            return self.get(&format!("{path}/{name}")).await.unwrap_or(object);
        }
        let request = Request::new(path)
            .create(&PostParams::default(), serde_json::to_vec(&object).unwrap())
            .unwrap();
        let mut stored = self
            .call(request)
            .await
            .unwrap_or_else(|e| panic!("creating {path}/{name}: {e}"));
        // A Node keeps the status it is created with (as its kubelet registers it); a pod's
        // and a custom resource's are the server's own until written through the subresource.
        let status = object
            .get("status")
            .and_then(Value::as_object)
            .filter(|given| given.iter().any(|(k, v)| stored["status"][k] != *v))
            .cloned();
        if t.namespace.is_none() && t.plural != "nodes" && t.plural != "namespaces" {
            self.created.lock().unwrap().push(format!("{path}/{name}"));
        }
        if let Some(status) = status {
            stored = self
                .patch_status(&format!("{path}/{name}"), json!({"status": status}))
                .await;
        }
        stored
    }

    /// The object at `path`, or None.
    pub async fn get(&self, path: &str) -> Option<Value> {
        let t = target(path);
        let name = t.name.expect("an object path");
        if let Some(fake) = &self.fake {
            return fake.object(&t.plural, t.namespace.as_deref(), &name);
        }
        let request = Request::new(&t.collection)
            .get(&name, &Default::default())
            .unwrap();
        match self.call(request).await {
            Ok(object) => Some(object),
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            Err(e) => panic!("reading {path}: {e}"),
        }
    }

    /// The objects of the collection at `path` (all namespaces, or the path's), ordered by
    /// namespace and name.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        self.list_selected(path, "").await
    }

    async fn list_selected(&self, path: &str, labels: &str) -> Vec<Value> {
        let t = target(path);
        assert!(t.name.is_none(), "not a collection path: {path}");
        let selected = |o: &Value| {
            labels.is_empty() || {
                let (k, v) = labels.split_once('=').unwrap();
                o["metadata"]["labels"][k] == v
            }
        };
        if let Some(fake) = &self.fake {
            let ns = t.namespace.as_deref();
            return fake
                .objects(&t.plural)
                .into_iter()
                .filter(|o| ns.is_none_or(|ns| o["metadata"]["namespace"] == ns))
                .filter(selected)
                .collect();
        }
        let request = Request::new(path)
            .list(&ListParams::default().labels(labels))
            .unwrap();
        let list = self
            .call(request)
            .await
            .unwrap_or_else(|e| panic!("listing {path}: {e}"));
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        let key = |o: &Value| {
            let meta = &o["metadata"];
            (meta["namespace"].to_string(), meta["name"].to_string())
        };
        items.sort_by_key(key);
        items
    }

    /// A JSON merge patch of the object at `path` (not its status).
    pub async fn patch(&self, path: &str, patch: Value) -> Value {
        self.patch_part(path, patch, false).await
    }

    /// A JSON merge patch of the status of the object at `path`, through its subresource.
    pub async fn patch_status(&self, path: &str, patch: Value) -> Value {
        self.patch_part(path, patch, true).await
    }

    async fn patch_part(&self, path: &str, patch: Value, status: bool) -> Value {
        self.try_patch(path, patch, status)
            .await
            .unwrap_or_else(|| panic!("patching {path}: not found"))
    }

    /// A JSON merge patch of the object at `path` (`status`: of its status), or None when the
    /// object is not there (any more).
    pub async fn try_patch(&self, path: &str, patch: Value, status: bool) -> Option<Value> {
        let t = target(path);
        let name = t.name.clone().expect("an object path");
        if let Some(fake) = &self.fake {
            fake.object(&t.plural, t.namespace.as_deref(), &name)?;
            fake.set(&t.plural, t.namespace.as_deref(), &name, |o| {
                merge_patch(o, &patch)
            });
            return self.get(path).await;
        }
        let params = PatchParams::default();
        let request = Request::new(&t.collection);
        let request = match status {
            true => request.patch_subresource("status", &name, &params, &Patch::Merge(&patch)),
            false => request.patch(&name, &params, &Patch::Merge(&patch)),
        };
        match self.call(request.unwrap()).await {
            Ok(object) => Some(object),
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            Err(e) => panic!("patching {path}: {e}"),
        }
    }

    /// Deletes the object at `path` at once (grace period 0; a pod as its kubelet would once
    /// it stopped). Whether it existed.
    pub async fn delete(&self, path: &str) -> bool {
        let t = target(path);
        let name = t.name.expect("an object path");
        if let Some(fake) = &self.fake {
            return fake
                .remove(&t.plural, t.namespace.as_deref(), &name)
                .is_some();
        }
        let request = Request::new(&t.collection)
            .delete(&name, &DeleteParams::default().grace_period(0))
            .unwrap();
        match self.call(request).await {
            Ok(_) => true,
            Err(kube::Error::Api(s)) if s.code == 404 => false,
            Err(e) => panic!("deleting {path}: {e}"),
        }
    }

    // ---- Nodes ----

    /// This test's name for a node.
    pub fn node_name(&self, short: &str) -> String {
        format!("{}-{short}", self.namespace)
    }

    /// Registers a Node as its kubelet would: `object` as given (named by the caller, usually
    /// with [`TestCluster::node_name`]), status included, labelled as this test's and, on a real
    /// cluster, without the not-ready taint the API server gives a new Node (its taints are the
    /// object's; the node lifecycle controller taints a NotReady one again).
    pub async fn create_node(&self, mut object: Value) -> Value {
        object["metadata"]["labels"][TEST_LABEL] = json!(self.namespace);
        let taints = object["spec"]["taints"].clone();
        let stored = self.add("/api/v1/nodes", object).await;
        if stored["spec"]["taints"] == taints {
            return stored;
        }
        let name = stored["metadata"]["name"].as_str().unwrap().to_string();
        let patch = json!({"spec": {"taints": taints}});
        self.patch(&format!("/api/v1/nodes/{name}"), patch).await
    }

    /// A Ready node with 4 cpu and 16Gi.
    pub async fn node(&self, short: &str, extra: Value) -> Node {
        let mut node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node_name(short)},
            "spec": {"providerID": format!("aws:///us-west-2a/i-{short}")},
            "status": {
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        });
        merge(&mut node, extra);
        serde_json::from_value(self.create_node(node).await).unwrap()
    }

    /// Node `short` of instance `instance`, as [`super::groups::node`] builds it.
    pub async fn instance_node(&self, short: &str, instance: &str, extra: Value) -> Value {
        let node = super::groups::node(&self.node_name(short), instance, extra);
        self.create_node(node).await
    }

    pub async fn get_node(&self, short: &str) -> Node {
        let node = self.node_object(short).await.expect("the node");
        serde_json::from_value(node).unwrap()
    }

    /// Node `short` as JSON, or None once it is gone.
    pub async fn node_object(&self, short: &str) -> Option<Value> {
        let name = self.node_name(short);
        self.get(&format!("/api/v1/nodes/{name}")).await
    }

    /// This test's Nodes, by name.
    pub async fn nodes(&self) -> Vec<Value> {
        let mine = format!("{TEST_LABEL}={}", self.namespace);
        self.list_selected("/api/v1/nodes", &mine).await
    }

    /// A JSON merge patch of Node `short`; `status`: of its status.
    pub async fn patch_node(&self, short: &str, patch: Value) -> Value {
        let path = format!("/api/v1/nodes/{}", self.node_name(short));
        self.patch(&path, patch).await
    }

    pub async fn patch_node_status(&self, short: &str, patch: Value) -> Value {
        let path = format!("/api/v1/nodes/{}", self.node_name(short));
        self.patch_status(&path, patch).await
    }

    // ---- Pods and their owners ----

    /// An owner for pods: a real object on a real cluster (its garbage collector deletes pods
    /// whose owner does not exist); a made-up uid on the fake. `kind` is Job, DaemonSet or
    /// ReplicaSet; one object per kind and name.
    pub async fn owner(&self, kind: &str, name: &str) -> Value {
        let key = (kind.to_string(), name.to_string());
        if let Some(owner) = self.owners.lock().unwrap().get(&key) {
            return owner.clone();
        }
        let api_version = match kind {
            "DaemonSet" | "ReplicaSet" => "apps/v1",
            _ => "batch/v1",
        };
        let uid = if self.fake.is_some() {
            json!(format!("uid-{kind}-{name}"))
        } else {
            // Inert without their controllers: a DaemonSet for no node, a ReplicaSet of none,
            // a suspended Job.
            let labels = json!({"ekas-test-owner": name});
            let template = json!({"metadata": {"labels": labels},
                "spec": {"nodeSelector": {"ekas-test/nowhere": "true"},
                    "containers": [{"name": "c", "image": "busybox"}]}});
            let (plural, spec) = match kind {
                "DaemonSet" => (
                    "daemonsets",
                    json!({"selector": {"matchLabels": labels}, "template": template}),
                ),
                "ReplicaSet" => (
                    "replicasets",
                    json!({"replicas": 0, "selector": {"matchLabels": labels},
                        "template": template}),
                ),
                _ => (
                    "jobs",
                    json!({"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox"}]}}}),
                ),
            };
            let object = json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"name": name}, "spec": spec});
            let path = self.collection(api_version, plural);
            self.add(&path, object).await["metadata"]["uid"].clone()
        };
        let owner = json!({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
            "controller": true});
        self.owners.lock().unwrap().insert(key, owner.clone());
        owner
    }

    /// A pod bound to node `short`, Running and Ready, with 0.1 cpu, deleted at once (grace
    /// period 0); `extra` is merged into it.
    pub async fn pod(&self, name: &str, short: &str, owner: Option<Value>, extra: Value) -> Value {
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "nodeName": self.node_name(short),
                // Deleted at once on a real cluster too, where no kubelet confirms it.
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": "busybox",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        });
        if let Some(owner) = owner {
            pod["metadata"]["ownerReferences"] = json!([owner]);
        }
        merge(&mut pod, extra);
        self.add(&self.collection("v1", "pods"), pod).await
    }

    /// Creates a pod of the snapshot builders ([`super::pod`]: namespace `batch`, owned by Job
    /// `job`) in this test's namespace; its `nodeName`, if any, is taken as is. On a real
    /// cluster its owners become real objects ([`TestCluster::owner`]) and, unless it says
    /// otherwise, it is deleted at once (no kubelet confirms a graceful deletion).
    pub async fn add_pod(&self, mut pod: Value) -> Value {
        if self.is_real() {
            if let Some(refs) = pod["metadata"]["ownerReferences"].as_array().cloned() {
                let mut owners = Vec::new();
                for r in refs {
                    let kind = r["kind"].as_str().unwrap();
                    owners.push(self.owner(kind, r["name"].as_str().unwrap()).await);
                }
                pod["metadata"]["ownerReferences"] = json!(owners);
            }
            let grace = &mut pod["spec"]["terminationGracePeriodSeconds"];
            if grace.is_null() {
                *grace = json!(0);
            }
        }
        if pod["status"] == json!({"phase": "Pending"}) {
            pod.as_object_mut().unwrap().remove("status");
        }
        self.add(&self.collection("v1", "pods"), pod).await
    }

    fn pod_path(&self, name: &str) -> String {
        format!("{}/{name}", self.collection("v1", "pods"))
    }

    pub async fn pod_object(&self, name: &str) -> Option<Value> {
        self.get(&self.pod_path(name)).await
    }

    /// The pods in this test's namespace.
    pub async fn pods(&self) -> Vec<Value> {
        self.list(&self.collection("v1", "pods")).await
    }

    /// Deletes pod `name` at once, as when its job finishes.
    pub async fn remove_pod(&self, name: &str) -> bool {
        self.delete(&self.pod_path(name)).await
    }

    /// Marks pod `name` Running and Ready, as its kubelet would; None when it is gone.
    pub async fn run_pod(&self, name: &str) -> Option<Value> {
        let running = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        self.try_patch(&self.pod_path(name), running, true).await
    }

    /// Binds pending pod `name` to `node`, as kube-scheduler does (on a real cluster through the
    /// binding subresource).
    pub async fn bind(&self, name: &str, node: &str) {
        if self.fake.is_some() {
            let patch = json!({"spec": {"nodeName": node}});
            self.patch(&self.pod_path(name), patch).await;
            return;
        }
        let binding = json!({"apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": name}, "target": {"kind": "Node", "name": node}});
        let request = Request::new(self.collection("v1", "pods"))
            .create_subresource(
                "binding",
                name,
                &PostParams::default(),
                serde_json::to_vec(&binding).unwrap(),
            )
            .unwrap();
        self.call(request)
            .await
            .unwrap_or_else(|e| panic!("binding {name} to {node}: {e}"));
    }

    /// Names of the pods in this test's namespace that are not being deleted.
    pub async fn pod_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pods()
            .await
            .into_iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
            .collect();
        names.sort();
        names
    }

    pub async fn pdb(&self, name: &str, min_available: i32, match_labels: Value) {
        let pdb = json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": match_labels}},
        });
        let path = self.collection("policy/v1", "poddisruptionbudgets");
        self.add(&path, pdb).await;
    }

    // ---- Namespaces, the Lease, Events ----

    /// Labels this test's namespace.
    pub async fn label_namespace(&self, labels: Value) {
        let path = format!("/api/v1/namespaces/{}", self.namespace);
        self.patch(&path, json!({"metadata": {"labels": labels}}))
            .await;
    }

    /// Namespace `name` does not exist: on a real cluster it does not; on the fake, which
    /// creates objects in any namespace (no admission), Leases and Events created in it are
    /// refused with the real server's 404 until [`TestCluster::create_namespace`].
    pub fn missing_namespace(&self, name: &str) {
        if let Some(fake) = &self.fake {
            let message = format!("namespaces \"{name}\" not found");
            for group in ["coordination.k8s.io", "events.k8s.io"] {
                let prefix = format!("/apis/{group}/v1/namespaces/{name}/");
                fake.refuse("POST", &prefix, 404, &message);
            }
        }
    }

    /// Creates namespace `name` (deleted with the test); on the fake, lifts every refusal.
    pub async fn create_namespace(&self, name: &str) {
        if let Some(fake) = &self.fake {
            fake.clear_faults();
        }
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.add("/api/v1/namespaces", ns).await;
        if self.is_real() {
            self.created
                .lock()
                .unwrap()
                .push(format!("/api/v1/namespaces/{name}"));
        }
    }

    /// ekas's default Lease, `ekas/ekas`.
    pub async fn lease(&self) -> Option<Value> {
        self.get(LEASE).await
    }

    /// Who holds ekas's default Lease.
    pub async fn lease_holder(&self) -> Option<String> {
        let lease = self.lease().await?;
        lease["spec"]["holderIdentity"].as_str().map(String::from)
    }

    /// The events.k8s.io Events in this test's namespace and the Lease's, as ekas publishes them
    /// about pods and about itself.
    pub async fn events(&self) -> Vec<Value> {
        let mut events = Vec::new();
        for ns in [self.namespace.as_str(), LEASE_NAMESPACE] {
            let path = format!("/apis/events.k8s.io/v1/namespaces/{ns}/events");
            events.extend(self.list(&path).await);
        }
        events
    }

    /// Serves the custom resource of `crd` (a CustomResourceDefinition's JSON): the fake serves
    /// the ones ekas reads already; a real cluster gets the definition (left installed for the
    /// next test) and is waited for until it serves it.
    pub async fn serve_crd(&self, crd: Value) {
        if self.fake.is_some() {
            return;
        }
        let name = crd["metadata"]["name"].as_str().unwrap().to_string();
        let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        let request = Request::new(path)
            .create(&PostParams::default(), serde_json::to_vec(&crd).unwrap())
            .unwrap();
        match self.call(request).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("installing CRD {name}: {e}"),
        }
        let established = async || {
            let crd = self.get(&format!("{path}/{name}")).await;
            crd.is_some_and(|c| {
                c["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
        };
        super::wait_for(
            &format!("CRD {name} established"),
            Duration::from_secs(30),
            established,
        )
        .await;
    }

    // ---- Comparisons and cleanup ----

    /// Every object this test owns, for before/after comparison.
    pub async fn state(&self) -> Value {
        json!({
            "pods": self.pods().await,
            "pdbs": self.list(&self.collection("policy/v1", "poddisruptionbudgets")).await,
            "nodes": self.nodes().await,
        })
    }

    /// Deletes what the test created (a real cluster keeps it otherwise); dropping the cluster
    /// does the same, also when a test fails.
    pub async fn cleanup(self) {
        drop(self);
    }

    /// On a real cluster: the Lease namespace exists, no Lease or Event is left there by an
    /// earlier test, pods can be created in this test's namespace (its default ServiceAccount
    /// exists), and the heartbeat of this test's Nodes runs.
    async fn prepare_real(&mut self) {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": LEASE_NAMESPACE}});
        let request = Request::new("/api/v1/namespaces")
            .create(&PostParams::default(), serde_json::to_vec(&ns).unwrap())
            .unwrap();
        match self.call(request).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("creating namespace {LEASE_NAMESPACE}: {e}"),
        }
        self.delete(LEASE).await;
        let events = format!("/apis/events.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/events");
        let request = Request::new(&events)
            .delete_collection(&DeleteParams::default(), &ListParams::default())
            .unwrap();
        self.call(request).await.unwrap();
        let account = format!(
            "/api/v1/namespaces/{}/serviceaccounts/default",
            self.namespace
        );
        super::wait_for(
            "the namespace's default ServiceAccount",
            Duration::from_secs(30),
            async || self.get(&account).await.is_some(),
        )
        .await;
        self.heartbeat = Some(tokio::spawn(heartbeat(
            self.client.clone(),
            self.namespace.clone(),
        )));
    }
}

/// Renews a Lease in kube-node-lease for each of the test's Nodes every few seconds, as their
/// kubelets would: the node lifecycle controller leaves them Ready (or NotReady, as the test
/// set them) instead of taking them for unreachable.
async fn heartbeat(client: kube::Client, namespace: String) {
    let leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
    loop {
        let mine = format!("{TEST_LABEL}={namespace}");
        let request = Request::new("/api/v1/nodes")
            .list(&ListParams::default().labels(&mine))
            .unwrap();
        let nodes: Value = client.request(request).await.unwrap_or_default();
        let now = serde_json::to_value(MicroTime(jiff::Timestamp::now())).unwrap();
        for node in nodes["items"].as_array().into_iter().flatten() {
            let name = node["metadata"]["name"].as_str().unwrap_or_default();
            let spec = json!({"holderIdentity": name, "leaseDurationSeconds": 40,
                "renewTime": now});
            let patch = json!({"spec": spec});
            let request = Request::new(leases)
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .unwrap();
            if client.request::<Value>(request).await.is_ok() {
                continue;
            }
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "ownerReferences": [{"apiVersion": "v1",
                    "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}]},
                "spec": spec});
            let request = Request::new(leases)
                .create(&PostParams::default(), serde_json::to_vec(&lease).unwrap())
                .unwrap();
            let _ = client.request::<Value>(request).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        if self.fake.is_some() {
            return;
        }
        let kubeconfig = self.kubeconfig.clone();
        let namespace = self.namespace.clone();
        let created = std::mem::take(&mut *self.created.lock().unwrap());
        // Its own thread and runtime: a test's runtime may be shutting down (or blocked here).
        let cleaning = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let Ok(client) = ekas::kubernetes::client(&ekas::kubernetes::KubeOptions {
                    kubeconfig: Some(kubeconfig),
                    ..Default::default()
                })
                .await
                else {
                    return;
                };
                let now = DeleteParams::default().grace_period(0);
                let mine = ListParams::default().labels(&format!("{TEST_LABEL}={namespace}"));
                let request = Request::new("/api/v1/nodes")
                    .delete_collection(&now, &mine)
                    .unwrap();
                let _ = client.request::<Value>(request).await;
                // Pods evicted with a grace period stay Terminating without a kubelet.
                let pods = format!("/api/v1/namespaces/{namespace}/pods");
                let request = Request::new(pods)
                    .delete_collection(&now, &ListParams::default())
                    .unwrap();
                let _ = client.request::<Value>(request).await;
                let paths = created
                    .into_iter()
                    .chain([format!("/api/v1/namespaces/{namespace}"), LEASE.to_string()]);
                for path in paths {
                    let t = target(&path);
                    let request = Request::new(&t.collection)
                        .delete(&t.name.unwrap(), &now)
                        .unwrap();
                    let _ = client.request::<Value>(request).await;
                }
                // The namespace controller deletes what it held meanwhile: the next test must
                // not see this one's pods or ProvisioningRequests (ekas reads every namespace).
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while std::time::Instant::now() < deadline {
                    let request = Request::new("/api/v1/namespaces")
                        .get(&namespace, &Default::default())
                        .unwrap();
                    match client.request::<Value>(request).await {
                        Err(kube::Error::Api(s)) if s.code == 404 => break,
                        _ => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            });
        });
        let _ = cleaning.join();
    }
}

/// `pod`, left to a scheduler that does not run: kube-scheduler leaves it pending on a real
/// cluster, as the fake (which schedules nothing) does, for a test whose pod must still be
/// pending when ekas looks although a node has room for it. ekas plans pods whatever their
/// scheduler.
pub fn unscheduled(mut pod: Value) -> Value {
    pod["spec"]["schedulerName"] = json!("ekas-test-no-scheduler");
    pod
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

//! Watch-fed caches for the long-running loop: one LIST per kind at start, then watch streams
//! keep in-memory stores current, so a pass reads the cluster without LIST calls. Namespaces
//! and storage are optional: a pass plans without them while they cannot be read.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use color_eyre::eyre::{Result, eyre};
use futures::{StreamExt, future};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::runtime::reflector::{self, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::read::PAGE_SIZE;
use crate::source::build::cache::{Arrival, PodCache};
use crate::source::document::pod::trim_metadata;
use crate::source::document::{
    CoschedulingPodGroup, ItemList, KubernetesPart, KubernetesPodGroup, Pod, PodTemplate,
    ProvisioningRequest, VolcanoPodGroup, pod_group_part,
};

/// The stores of the kinds a snapshot needs, each fed by its own watch.
pub struct Caches {
    /// Pods become model pods as they arrive (see [`PodCache`]): most of a large cluster's
    /// objects, kept in the least memory.
    pods: Arc<RwLock<PodCache>>,
    /// True once the pods' first list is in.
    pods_listed: watch::Receiver<bool>,
    nodes: Store<Node>,
    pdbs: Store<PodDisruptionBudget>,
    daemon_sets: Store<DaemonSet>,
    namespaces: Store<Namespace>,
    claims: Store<PersistentVolumeClaim>,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    coscheduling: Store<CoschedulingPodGroup>,
    volcano: Store<VolcanoPodGroup>,
    kubernetes_groups: Store<KubernetesPodGroup>,
    requests: Store<ProvisioningRequest>,
    pod_templates: Store<PodTemplate>,
    pods_changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

/// How long, once the required stores are full, a pass waits for the optional ones
/// (namespaces, storage) before planning without them: ekas's account may not be allowed them.
const OPTIONAL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts a reflector for one kind on the runtime; `trim` drops what ekas never reads before an
/// object is stored, and `changed` is notified for every object that `signal` picks out.
fn reflect<K>(
    api: Api<K>,
    trim: fn(&mut K),
    changed: Option<Arc<Notify>>,
    mut signal: impl FnMut(&K) -> bool + Send + 'static,
) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    let stream = reflector(writer, watcher(api, config).modify(trim))
        // A failed watch is retried with backoff: the caches outlive API-server restarts.
        .default_backoff()
        .applied_objects();
    let mut failures = Failures::new(kind);
    let task = tokio::spawn(stream.for_each(move |event| {
        match event {
            Ok(object) => {
                failures.reset();
                if let Some(changed) = changed.as_ref().filter(|_| signal(&object)) {
                    changed.notify_one();
                }
            }
            Err(e) => failures.note(e),
        }
        future::ready(())
    }));
    (reader, task)
}

/// A watch's failures in a row, logged so that a watch refused for good (say, RBAC without a
/// new kind) warns once, not at every backoff, until it recovers.
struct Failures {
    kind: String,
    count: u64,
}

impl Failures {
    fn new(kind: String) -> Failures {
        Failures { kind, count: 0 }
    }

    fn reset(&mut self) {
        self.count = 0;
    }

    fn note(&mut self, e: watcher::Error) {
        let kind = &self.kind;
        self.count += 1;
        match e {
            _ if self.count > 1 => {
                tracing::debug!(%kind, error = %e, failures = self.count, "watch failed again; retrying");
            }
            // A kind whose CRD is not installed (a PodGroup API): nothing to warn about.
            watcher::Error::InitialListFailed(kube::Error::Api(e)) if e.code == 404 => {
                tracing::debug!(%kind, "not served by the API server; planning without it");
            }
            e => tracing::warn!(%kind, error = %e, "watch failed; retrying"),
        }
    }
}

/// Watches pods into `cache`. `listed` turns true at the first complete list; `changed` is
/// notified when a pod starts waiting for a node.
fn watch_pods(
    api: Api<Pod>,
    cache: Arc<RwLock<PodCache>>,
    listed: watch::Sender<bool>,
    changed: Arc<Notify>,
) -> JoinHandle<()> {
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    // A failed watch is retried with backoff: the cache outlives API-server restarts.
    let stream = watcher(api, config).default_backoff();
    let mut failures = Failures::new("Pod".into());
    tokio::spawn(stream.for_each(move |event| {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                failures.note(e);
                return future::ready(());
            }
        };
        failures.reset();
        // A poisoned lock means a panic elsewhere while it was held; the cache itself is
        // whole after every call, so carry on with it.
        let mut cache = cache.write().unwrap_or_else(|e| e.into_inner());
        let arrival = match event {
            watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => cache.apply(pod),
            watcher::Event::Delete(pod) => {
                cache.delete(&pod);
                Arrival::Other
            }
            watcher::Event::Init => {
                cache.relist_started();
                Arrival::Other
            }
            watcher::Event::InitDone => {
                cache.relist_done();
                drop(cache);
                listed.send_replace(true);
                // A relist may have brought new waiting pods without saying which.
                changed.notify_one();
                return future::ready(());
            }
        };
        drop(cache);
        if arrival == Arrival::NewlyWaiting {
            changed.notify_one();
        }
        future::ready(())
    }))
}

impl Caches {
    /// Starts watching; the stores fill in the background (see [`Caches::ready`]).
    /// `namespace` limits pods and PodDisruptionBudgets, as for the one-shot reads.
    pub fn start(client: &kube::Client, namespace: Option<&str>) -> Caches {
        let pods_changed = Arc::new(Notify::new());
        // Pods arrive slim (see document::pod) and become model pods; the other kinds lose
        // their bulk on arrival.
        let pods = Arc::new(RwLock::new(PodCache::default()));
        let (listed, pods_listed) = watch::channel(false);
        let t1 = watch_pods(
            super::scoped(client, namespace),
            pods.clone(),
            listed,
            pods_changed.clone(),
        );
        let (nodes, t2) = reflect::<Node>(Api::all(client.clone()), trim_node, None, |_| false);
        let (pdbs, t3) =
            reflect::<PodDisruptionBudget>(super::scoped(client, namespace), trim, None, |_| false);
        let (daemon_sets, t4) =
            reflect::<DaemonSet>(Api::all(client.clone()), trim, None, |_| false);
        let (namespaces, t5) =
            reflect::<Namespace>(Api::all(client.clone()), trim, None, |_| false);
        let (claims, t6) =
            reflect::<PersistentVolumeClaim>(super::scoped(client, namespace), trim, None, |_| {
                false
            });
        let (volumes, t7) =
            reflect::<PersistentVolume>(Api::all(client.clone()), trim, None, |_| false);
        let (classes, t8) =
            reflect::<StorageClass>(Api::all(client.clone()), trim, None, |_| false);
        // Gangs' PodGroups, where their CRDs are installed (see `optional_items`).
        let (coscheduling, t9) =
            reflect::<CoschedulingPodGroup>(super::scoped(client, namespace), trim, None, |_| {
                false
            });
        let (volcano, t10) =
            reflect::<VolcanoPodGroup>(super::scoped(client, namespace), trim, None, |_| false);
        let (kubernetes_groups, t13) =
            reflect::<KubernetesPodGroup>(super::scoped(client, namespace), trim, None, |_| false);
        // ProvisioningRequests, where their CRD is installed, and the PodTemplates they name. A
        // new request starts a pass, as a new pending pod does.
        let (requests, t11) = reflect::<ProvisioningRequest>(
            super::scoped(client, namespace),
            trim,
            Some(pods_changed.clone()),
            first_seen(),
        );
        let (pod_templates, t12) = reflect::<PodTemplate>(
            super::scoped(client, namespace),
            PodTemplate::trim,
            None,
            |_| false,
        );
        Caches {
            pods,
            pods_listed,
            nodes,
            pdbs,
            daemon_sets,
            namespaces,
            claims,
            volumes,
            classes,
            coscheduling,
            volcano,
            kubernetes_groups,
            requests,
            pod_templates,
            pods_changed,
            tasks: vec![t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13],
        }
    }

    /// Waits until every required store has had its first full list, then a while for the
    /// optional ones (see [`OPTIONAL_WAIT`]).
    pub async fn ready(&self) -> Result<()> {
        let stopped = |_| eyre!("a Kubernetes watch stopped before its first list");
        let mut pods_listed = self.pods_listed.clone();
        tokio::try_join!(
            async {
                pods_listed
                    .wait_for(|listed| *listed)
                    .await
                    .map(drop)
                    .map_err(drop)
            },
            async { self.nodes.wait_until_ready().await.map_err(drop) },
            async { self.pdbs.wait_until_ready().await.map_err(drop) },
            async { self.daemon_sets.wait_until_ready().await.map_err(drop) },
        )
        .map_err(stopped)?;
        let optional = async {
            tokio::try_join!(
                self.namespaces.wait_until_ready(),
                self.claims.wait_until_ready(),
                self.volumes.wait_until_ready(),
                self.classes.wait_until_ready(),
            )
        };
        if tokio::time::timeout(OPTIONAL_WAIT, optional).await.is_err() {
            tracing::warn!(
                "namespaces or storage (PersistentVolumeClaims, PersistentVolumes, StorageClasses) \
                 not readable yet; planning without them until they are (grant list and watch, \
                 see deploy/rbac.yaml)"
            );
        }
        Ok(())
    }

    /// Notified when a pod becomes pending that was not before: the loop starts a pass soon
    /// after. Status updates of pods already seen waiting do not count, so a long queue of
    /// unschedulable pods does not keep the loop spinning.
    pub fn pods_changed(&self) -> Arc<Notify> {
        self.pods_changed.clone()
    }

    /// Runs `f` with the cached pods (see [`crate::source::build::snapshot_with_cached_pods`]);
    /// watch events wait meanwhile.
    pub fn with_pods<T>(&self, f: impl FnOnce(&PodCache) -> T) -> T {
        f(&self.pods.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The Kubernetes half of a snapshot, from the stores, in a stable order, but for the
    /// pods: they are in [`Caches::with_pods`].
    pub fn kubernetes_part(&self) -> KubernetesPart {
        KubernetesPart {
            nodes: items(&self.nodes),
            pod_disruption_budgets: items(&self.pdbs),
            daemon_sets: items(&self.daemon_sets),
            namespaces: optional_items(&self.namespaces),
            pod_groups: pod_group_part(
                optional_items(&self.coscheduling),
                optional_items(&self.volcano),
                optional_items(&self.kubernetes_groups),
            ),
            provisioning_requests: optional_items(&self.requests),
            pod_templates: optional_items(&self.pod_templates),
            ..KubernetesPart::default()
        }
        .with_storage(
            optional_items(&self.claims),
            optional_items(&self.volumes),
            optional_items(&self.classes),
        )
    }
}

fn trim<K: kube::Resource>(object: &mut K) {
    trim_metadata(object.meta_mut());
}

/// A node less its metadata's bulk and the status parts no decision reads: the images it
/// holds (often dozens of long names), its software versions and attached volumes.
fn trim_node(node: &mut Node) {
    trim(node);
    if let Some(status) = node.status.as_mut() {
        status.images = None;
        status.node_info = None;
        status.volumes_attached = None;
        status.volumes_in_use = None;
    }
}

/// A filter that is true the first time each object is seen.
fn first_seen<K: kube::Resource>() -> impl FnMut(&K) -> bool + Send + 'static {
    let mut seen: HashSet<String> = HashSet::new();
    move |object| seen.insert(object.meta().uid.clone().unwrap_or_default())
}

impl Drop for Caches {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The items of a store that has had its first list; `None` before (or never, when the kind
/// may not be read).
fn optional_items<K>(store: &Store<K>) -> Option<ItemList<K>>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let ready =
        futures::FutureExt::now_or_never(store.wait_until_ready()).is_some_and(|r| r.is_ok());
    ready.then(|| items(store))
}

fn items<K>(store: &Store<K>) -> ItemList<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let mut items: Vec<K> = store.state().iter().map(|k| K::clone(k)).collect();
    // Stores are hash maps; sorting keeps plans independent of their iteration order.
    // Keys borrowed, not cloned: a 150k-pod sort compares millions of times.
    fn key<K: kube::Resource>(k: &K) -> (Option<&str>, Option<&str>) {
        (k.meta().namespace.as_deref(), k.meta().name.as_deref())
    }
    items.sort_by(|a, b| key(a).cmp(&key(b)));
    ItemList::from(items)
}

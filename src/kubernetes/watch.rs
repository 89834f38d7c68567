//! Watch-fed caches for the long-running loop: one LIST per kind at start, then watch streams
//! keep in-memory stores current, so a pass reads the cluster without LIST calls. Namespaces
//! and storage are optional: a pass plans without them while they cannot be read. The optional
//! APIs (gangs' PodGroups, ProvisioningRequests) are watched only where API discovery finds
//! them served, at the version served, and looked for again every few minutes.
//!
//! Every watch reports how it stands ([`WatchHealth`]): a watch that keeps failing names its
//! kind and cause until it recovers, so the loop can say why it cannot act, and a pass can tell
//! a stale cache from a current one.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};
use futures::{StreamExt, future};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::DynamicObject;
use kube::core::ApiResource;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::discovery::{self, OptionalApi, Served};
use super::read::PAGE_SIZE;
use crate::decode::cache::{Arrival, PodCache};
use crate::document::pod::trim_metadata;
use crate::document::{ItemList, KubernetesPart, Pod, PodTemplate};

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
    /// The optional APIs' watches, as discovery finds them served.
    optional: Arc<OptionalWatches>,
    pod_templates: Store<PodTemplate>,
    pods_changed: Arc<Notify>,
    health: WatchHealth,
    tasks: Vec<JoinHandle<()>>,
}

/// How long a watch may fail before the loop calls its cache stale and says so.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// A watch that is failing: which kind, since when, and why.
#[derive(Debug, Clone)]
pub struct WatchFailure {
    pub kind: String,
    pub since: tokio::time::Instant,
    pub message: String,
    /// RBAC refuses it: waiting will not help.
    pub forbidden: bool,
    /// No answer from the API server at all.
    pub unreachable: bool,
    /// A kind every pass needs (pods, nodes, PodDisruptionBudgets, DaemonSets).
    pub required: bool,
}

/// The failing watches, by kind; shared by every watch task and read by the loop.
#[derive(Debug, Clone, Default)]
pub struct WatchHealth(Arc<Mutex<BTreeMap<String, WatchFailure>>>);

impl WatchHealth {
    fn failed(&self, failure: WatchFailure) {
        let mut failing = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let since = failing.get(&failure.kind).map(|f| f.since);
        let kind = failure.kind.clone();
        failing.insert(
            kind,
            WatchFailure {
                since: since.unwrap_or(failure.since),
                ..failure
            },
        );
    }

    fn recovered(&self, kind: &str) {
        let mut failing = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if failing.remove(kind).is_some() {
            tracing::info!(%kind, "watch recovered");
        }
    }

    /// Every watch failing now.
    pub fn failing(&self) -> Vec<WatchFailure> {
        let failing = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failing.values().cloned().collect()
    }
}

/// How long, once the required stores are full, a pass waits for the optional ones
/// (namespaces, storage) before planning without them: ekas's account may not be allowed them.
const OPTIONAL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts a reflector for one kind on the runtime; `trim` drops what ekas never reads before an
/// object is stored, and `changed` is notified for every object that `signal` picks out.
/// `kind` names it in logs and in [`WatchHealth`].
fn reflect<K>(
    api: Api<K>,
    watched: Watched<K>,
    trim: fn(&mut K),
    changed: Option<Arc<Notify>>,
    mut signal: impl FnMut(&K) -> bool + Send + 'static,
) -> (Store<K>, JoinHandle<()>)
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    let writer = Writer::new(watched.dyntype);
    let reader = writer.as_reader();
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    // A failed watch is retried with backoff: the caches outlive API-server restarts.
    let stream = reflector(writer, watcher(api, config).modify(trim)).default_backoff();
    let mut failures = watched.failures;
    let task = tokio::spawn(stream.for_each(move |event| {
        match event {
            Ok(event) => {
                failures.reset();
                if let watcher::Event::Apply(object) | watcher::Event::InitApply(object) = &event
                    && let Some(changed) = changed.as_ref().filter(|_| signal(object))
                {
                    changed.notify_one();
                }
            }
            Err(e) => failures.note(e),
        }
        future::ready(())
    }));
    (reader, task)
}

/// Starts the reflectors of the kinds whose changes wake no pass, each reporting to `health`;
/// `namespace` limits the namespaced kinds.
struct Reflectors<'a> {
    client: &'a kube::Client,
    namespace: Option<&'a str>,
    health: &'a WatchHealth,
}

impl Reflectors<'_> {
    /// A reflector of kind `K` in every namespace (or a cluster-scoped kind); `required`: a
    /// kind every pass needs.
    fn all<K>(&self, required: bool, trim: fn(&mut K)) -> (Store<K>, JoinHandle<()>)
    where
        K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync + Default,
    {
        let api = Api::all(self.client.clone());
        let watched = Watched::typed(self.health, required);
        reflect(api, watched, trim, None, |_| false)
    }

    /// A reflector of the namespaced kind `K`, limited to the namespace when one is given.
    fn scoped<K>(&self, required: bool, trim: fn(&mut K)) -> (Store<K>, JoinHandle<()>)
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K: Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync + Default,
    {
        let api = super::scoped(self.client, self.namespace);
        let watched = Watched::typed(self.health, required);
        reflect(api, watched, trim, None, |_| false)
    }
}

/// What a reflector watches: the kind's dynamic type, and where its failures are reported.
struct Watched<K: kube::Resource> {
    dyntype: K::DynamicType,
    failures: Failures,
}

impl<K: kube::Resource> Watched<K>
where
    K::DynamicType: Default,
{
    /// A kind of k8s-openapi's, or of ekas's own types.
    fn typed(health: &WatchHealth, required: bool) -> Watched<K> {
        let dyntype = K::DynamicType::default();
        let kind = K::kind(&dyntype).to_string();
        Watched {
            dyntype,
            failures: Failures::new(kind, health.clone(), required),
        }
    }
}

/// A watch's failures in a row. The first is logged at WARN, later ones at DEBUG until it
/// recovers; [`WatchHealth`] holds the failure meanwhile, for the loop to report.
struct Failures {
    kind: String,
    count: u64,
    health: WatchHealth,
    required: bool,
}

impl Failures {
    fn new(kind: String, health: WatchHealth, required: bool) -> Failures {
        Failures {
            kind,
            count: 0,
            health,
            required,
        }
    }

    fn reset(&mut self) {
        if self.count > 0 {
            self.health.recovered(&self.kind);
        }
        self.count = 0;
    }

    fn note(&mut self, e: watcher::Error) {
        let kind = &self.kind;
        self.count += 1;
        let api = match &e {
            watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) => Some(e),
            _ => None,
        };
        let status = api.and_then(super::status_code);
        let forbidden = matches!(status, Some(401 | 403));
        let unreachable = api.is_some_and(|e| !matches!(e, kube::Error::Api(_)));
        let mut message = format!("watching {kind}: {e}");
        if forbidden {
            message.push_str(": grant list and watch on it to ekas's account (deploy/rbac.yaml)");
        }
        if self.count == 1 {
            tracing::warn!(%kind, error = %e, "watch failed; retrying");
        } else {
            tracing::debug!(%kind, error = %e, failures = self.count, "watch failed again; retrying");
        }
        self.health.failed(WatchFailure {
            kind: kind.clone(),
            since: tokio::time::Instant::now(),
            message,
            forbidden,
            unreachable,
            required: self.required,
        });
    }
}

/// Watches pods into `cache`. `listed` turns true at the first complete list; `changed` is
/// notified when a pod starts waiting for a node.
fn watch_pods(
    api: Api<Pod>,
    cache: Arc<RwLock<PodCache>>,
    listed: watch::Sender<bool>,
    changed: Arc<Notify>,
    health: &WatchHealth,
) -> JoinHandle<()> {
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    // A failed watch is retried with backoff: the cache outlives API-server restarts.
    let stream = watcher(api, config).default_backoff();
    let mut failures = Failures::new("Pod".into(), health.clone(), true);
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
    /// `rediscover`: how often the optional APIs are looked for again, so a CRD installed
    /// later is read within that long, without a restart.
    pub fn start(client: &kube::Client, namespace: Option<&str>, rediscover: Duration) -> Caches {
        let health = WatchHealth::default();
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
            &health,
        );
        let reflectors = Reflectors {
            client,
            namespace,
            health: &health,
        };
        let (nodes, t2) = reflectors.all::<Node>(true, trim_node);
        let (pdbs, t3) = reflectors.scoped::<PodDisruptionBudget>(true, trim);
        let (daemon_sets, t4) = reflectors.all::<DaemonSet>(true, trim);
        let (namespaces, t5) = reflectors.all::<Namespace>(false, trim);
        let (claims, t6) = reflectors.scoped::<PersistentVolumeClaim>(false, trim);
        let (volumes, t7) = reflectors.all::<PersistentVolume>(false, trim);
        let (classes, t8) = reflectors.all::<StorageClass>(false, trim);
        // The PodTemplates ProvisioningRequests name; a core kind, always served.
        let (pod_templates, t9) = reflectors.scoped::<PodTemplate>(false, PodTemplate::trim);
        let optional = Arc::new(OptionalWatches {
            client: client.clone(),
            namespace: namespace.map(str::to_string),
            changed: pods_changed.clone(),
            health: health.clone(),
            running: Mutex::default(),
            discovered: watch::Sender::new(false),
            every: rediscover,
        });
        let t10 = tokio::spawn(optional.clone().keep_discovering());
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
            optional,
            pod_templates,
            pods_changed,
            health,
            tasks: vec![t1, t2, t3, t4, t5, t6, t7, t8, t9, t10],
        }
    }

    /// How the watches stand, shared: the loop reports those that keep failing.
    pub fn watch_health(&self) -> WatchHealth {
        self.health.clone()
    }

    /// The watches failing now (see [`WatchHealth`]).
    pub fn failing_watches(&self) -> Vec<WatchFailure> {
        self.health.failing()
    }

    /// Whether a watch every pass needs has failed for longer than [`STALE_AFTER`]: its cache
    /// may show the cluster as it was, not as it is.
    pub fn stale(&self) -> Option<WatchFailure> {
        self.failing_watches()
            .into_iter()
            .find(|f| f.required && f.since.elapsed() >= STALE_AFTER)
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
            let mut discovered = self.optional.discovered.subscribe();
            let _ = discovered.wait_for(|d| *d).await;
            self.optional.wait_until_ready().await;
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

    /// Runs `f` with the cached pods (see [`crate::decode::snapshot_with_cached_pods`]);
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
            pod_groups: super::pod_groups(&self.optional.objects(&OptionalApi::POD_GROUPS)),
            provisioning_requests: super::provisioning_requests(
                &self.optional.objects(&[OptionalApi::ProvisioningRequests]),
            ),
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
        self.optional.stop_all();
    }
}

/// The watches of the optional APIs the cluster serves, started, restarted at another version,
/// and stopped as discovery finds them.
struct OptionalWatches {
    client: kube::Client,
    namespace: Option<String>,
    /// Notified for a ProvisioningRequest seen for the first time, as for a new pending pod.
    changed: Arc<Notify>,
    health: WatchHealth,
    running: Mutex<BTreeMap<OptionalApi, OptionalWatch>>,
    /// True once the first discovery answered (or failed): the first pass waits for it.
    discovered: watch::Sender<bool>,
    /// How often to look again.
    every: Duration,
}

struct OptionalWatch {
    resource: ApiResource,
    store: Store<DynamicObject>,
    task: JoinHandle<()>,
}

impl OptionalWatches {
    /// Looks for the optional APIs now and every `self.every`, for the life of the caches.
    async fn keep_discovering(self: Arc<Self>) {
        let mut failing = false;
        loop {
            match discovery::served(&self.client).await {
                Ok(served) => {
                    failing = false;
                    self.align(&served);
                }
                // Keeps what runs: a discovery that fails says nothing about what is served.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "API discovery failed; looking again later");
                }
                Err(e) => tracing::debug!(error = %e, "API discovery failed again"),
            }
            self.discovered.send_replace(true);
            tokio::time::sleep(self.every).await;
        }
    }

    /// Starts a watch for each API newly served, moves one whose version changed, stops one
    /// no longer served.
    fn align(&self, served: &Served) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for api in OptionalApi::ALL {
            let wanted = served.get(&api);
            let current = running.get(&api).map(|w| &w.resource);
            if current == wanted {
                continue;
            }
            if let Some(old) = running.remove(&api) {
                old.task.abort();
                self.health.recovered(&api.name());
                match wanted {
                    Some(_) => tracing::info!(api = %api.name(), "served at another version now"),
                    None => {
                        tracing::info!(api = %api.name(), "no longer served; planning without it")
                    }
                }
            }
            if let Some(resource) = wanted {
                tracing::info!(api = %api.name(), version = %resource.version, "served; watching it");
                running.insert(api, self.watch(api, resource.clone()));
            }
        }
    }

    fn watch(&self, api: OptionalApi, resource: ApiResource) -> OptionalWatch {
        let client = self.client.clone();
        let dynamic = match &self.namespace {
            Some(ns) => Api::<DynamicObject>::namespaced_with(client, ns, &resource),
            None => Api::<DynamicObject>::all_with(client, &resource),
        };
        let watched = Watched {
            dyntype: resource.clone(),
            failures: Failures::new(api.name(), self.health.clone(), false),
        };
        // A new request starts a pass, as a new pending pod does.
        let changed = (api == OptionalApi::ProvisioningRequests).then(|| self.changed.clone());
        let (store, task) = reflect(dynamic, watched, trim, changed, first_seen());
        OptionalWatch {
            resource,
            store,
            task,
        }
    }

    /// Waits a while for the served APIs' first lists.
    async fn wait_until_ready(&self) {
        let stores: Vec<Store<DynamicObject>> = {
            let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            running.values().map(|w| w.store.clone()).collect()
        };
        for store in stores {
            let _ = store.wait_until_ready().await;
        }
    }

    /// The objects of `apis`, each with the ApiResource it was read at; `None` when none of
    /// them is served or listed yet.
    fn objects(&self, apis: &[OptionalApi]) -> Option<Vec<(ApiResource, Vec<DynamicObject>)>> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let listed: Vec<_> = apis
            .iter()
            .filter_map(|api| running.get(api))
            .filter(|w| {
                futures::FutureExt::now_or_never(w.store.wait_until_ready())
                    .is_some_and(|r| r.is_ok())
            })
            .map(|w| {
                let state = w.store.state();
                let objects = state.iter().map(|o| DynamicObject::clone(o)).collect();
                (w.resource.clone(), objects)
            })
            .collect();
        (!listed.is_empty()).then_some(listed)
    }

    fn stop_all(&self) {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for w in running.values() {
            w.task.abort();
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

//! Watch-fed caches for the long-running loop: one LIST per kind at start, then watch streams
//! keep in-memory stores current, so a pass reads the cluster without LIST calls.

use std::collections::HashSet;
use std::sync::Arc;

use color_eyre::eyre::{Result, eyre};
use futures::{StreamExt, future};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::runtime::reflector::{self, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::read::PAGE_SIZE;
use crate::source::document::{ItemList, KubernetesPart};

/// The stores of the kinds a snapshot needs, each fed by its own watch.
pub struct Caches {
    pods: Store<Pod>,
    nodes: Store<Node>,
    pdbs: Store<PodDisruptionBudget>,
    daemon_sets: Store<DaemonSet>,
    pods_changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a reflector for one kind on the runtime; `changed` is notified for every object that
/// `signal` picks out.
fn reflect<K>(
    api: Api<K>,
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
    let stream = reflector(writer, watcher(api, config))
        // A failed watch is retried with backoff: the caches outlive API-server restarts.
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(stream.for_each(move |event| {
        match event {
            Ok(object) => {
                if let Some(changed) = changed.as_ref().filter(|_| signal(&object)) {
                    changed.notify_one();
                }
            }
            Err(e) => tracing::warn!(%kind, error = %e, "watch failed; retrying"),
        }
        future::ready(())
    }));
    (reader, task)
}

impl Caches {
    /// Starts watching; the stores fill in the background (see [`Caches::ready`]).
    /// `namespace` limits pods and PodDisruptionBudgets, as for the one-shot reads.
    pub fn start(client: &kube::Client, namespace: Option<&str>) -> Caches {
        let scoped = |client: &kube::Client| match namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        let (pod_api, pdb_api) = scoped(client);
        let pods_changed = Arc::new(Notify::new());
        let (pods, t1) = reflect::<Pod>(pod_api, Some(pods_changed.clone()), new_pending());
        let (nodes, t2) = reflect::<Node>(Api::all(client.clone()), None, |_| false);
        let (pdbs, t3) = reflect::<PodDisruptionBudget>(pdb_api, None, |_| false);
        let (daemon_sets, t4) = reflect::<DaemonSet>(Api::all(client.clone()), None, |_| false);
        Caches {
            pods,
            nodes,
            pdbs,
            daemon_sets,
            pods_changed,
            tasks: vec![t1, t2, t3, t4],
        }
    }

    /// Waits until every store has had its first full list.
    pub async fn ready(&self) -> Result<()> {
        let stopped = |_| eyre!("a Kubernetes watch stopped before its first list");
        tokio::try_join!(
            self.pods.wait_until_ready(),
            self.nodes.wait_until_ready(),
            self.pdbs.wait_until_ready(),
            self.daemon_sets.wait_until_ready(),
        )
        .map_err(stopped)?;
        Ok(())
    }

    /// Notified when a pod becomes pending that was not before: the loop starts a pass soon
    /// after. Status updates of pods already seen waiting do not count, so a long queue of
    /// unschedulable pods does not keep the loop spinning.
    pub fn pods_changed(&self) -> Arc<Notify> {
        self.pods_changed.clone()
    }

    /// The Kubernetes half of a snapshot, from the stores, in a stable order.
    pub fn kubernetes_part(&self) -> KubernetesPart {
        KubernetesPart {
            pods: items(&self.pods),
            nodes: items(&self.nodes),
            pod_disruption_budgets: items(&self.pdbs),
            daemon_sets: items(&self.daemon_sets),
        }
    }
}

/// A filter that is true the first time each pod is seen waiting for a node.
fn new_pending() -> impl FnMut(&Pod) -> bool + Send + 'static {
    let mut seen: HashSet<String> = HashSet::new();
    move |pod| {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let unbound = pod.spec.as_ref().is_none_or(|s| s.node_name.is_none());
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let waiting = unbound
            && matches!(phase, None | Some("Pending"))
            && pod.metadata.deletion_timestamp.is_none();
        if waiting {
            seen.insert(uid)
        } else {
            seen.remove(&uid);
            false
        }
    }
}

impl Drop for Caches {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn items<K>(store: &Store<K>) -> ItemList<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let mut items: Vec<K> = store.state().iter().map(|k| K::clone(k)).collect();
    // Stores are hash maps; sorting keeps plans independent of their iteration order.
    items.sort_by(|a, b| {
        let key = |k: &K| (k.meta().namespace.clone(), k.meta().name.clone());
        key(a).cmp(&key(b))
    });
    ItemList::from(items)
}

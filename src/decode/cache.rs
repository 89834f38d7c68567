//! Pods built once, as they arrive, and held as model pods rather than documents: the loop's
//! watch events (a pass then takes the model pods as they are instead of reading every pod
//! again), a snapshot file's pods as each is parsed, a LIST's pages as each comes.
//!
//! 1. A pod that arrives is built on its own ([`kubernetes::pod`] with nothing else known), its
//!    placement and labels shared with the pods that have the same ones.
//! 2. What a pod refers to can change without the pod changing. Its PodGroup's minimum is looked
//!    up at each pass (a cheap lookup), and the few pods whose model depends on other objects
//!    (claims, namespace selectors: [`kubernetes::refers_elsewhere`]) keep their document and
//!    are built again at each pass, as a snapshot file's pods are.
//! 3. A relist (the watch started again) marks every pod it names; the pods it did not name are
//!    then dropped, without holding two copies of the cluster's pods meanwhile.

use std::collections::BTreeMap;

use super::kubernetes::{self, GangApi, Placements};
use crate::document::pod as doc;
use crate::model::{Pod, UnreadableObject};

/// Model pods by namespace and name (the order a snapshot's pods come in).
#[derive(Default)]
pub struct PodCache {
    /// Boxed: a B-tree's nodes are often half empty, and a pod is several hundred bytes.
    pods: BTreeMap<(String, String), Box<CachedPod>>,
    /// Shares placements and labels between the cached pods; knows no other objects.
    shared: Placements<'static>,
    /// The current relist's mark while one is under way.
    relist: Option<u32>,
    mark: u32,
    /// Changes since the interner was last swept of what no pod holds.
    changes: usize,
}

struct CachedPod {
    /// Built on arrival, on its own.
    pod: Pod,
    /// The document, for a pod built again at each pass (see the module doc).
    document: Option<Box<doc::Pod>>,
    /// The API of the PodGroup it names, whose minimum each pass looks up.
    gang_api: Option<GangApi>,
    /// Why the pod could not be read: it is kept as [`kubernetes::unreadable_pod`] says.
    unreadable: Option<String>,
    mark: u32,
}

/// What an arriving pod changed, for the loop's wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Waiting for a node, and was not before (or is new).
    NewlyWaiting,
    Other,
}

impl PodCache {
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// The cached pods' `namespace/name`, in order.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.pods.keys().map(|(ns, name)| format!("{ns}/{name}"))
    }

    /// Adds or replaces a pod. A pod without a name is ignored: the API server never sends one.
    pub fn apply(&mut self, raw: doc::Pod) -> Arrival {
        let Some(name) = raw.metadata.name.clone() else {
            return Arrival::Other;
        };
        let namespace = raw
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let mark = self.relist.unwrap_or(self.mark);
        let cached = self.build(raw, mark);
        let now_waiting = cached.as_ref().is_some_and(|c| waiting(&c.pod));
        let before = match cached {
            Some(cached) => self.pods.insert((namespace, name), cached),
            None => self.pods.remove(&(namespace, name)),
        };
        self.changed();
        let waited = before.is_some_and(|b| waiting(&b.pod));
        if now_waiting && !waited {
            Arrival::NewlyWaiting
        } else {
            Arrival::Other
        }
    }

    pub fn delete(&mut self, raw: &doc::Pod) {
        let namespace = raw.metadata.namespace.as_deref().unwrap_or("default");
        if let Some(name) = &raw.metadata.name {
            self.pods.remove(&(namespace.to_string(), name.clone()));
            self.changed();
        }
    }

    /// A relist starts: the pods it names will be applied again.
    pub fn relist_started(&mut self) {
        self.relist = Some(self.mark.wrapping_add(1));
    }

    /// The relist is complete: pods it did not name are gone.
    pub fn relist_done(&mut self) {
        if let Some(mark) = self.relist.take() {
            self.mark = mark;
            self.pods.retain(|_, p| p.mark == mark);
            self.shared.forget_unused();
            self.changes = 0;
        }
    }

    /// The model's pods for one pass, in order, and those that could not be read.
    /// `placements` resolves what pods name: their PodGroups, and what the pods that refer
    /// elsewhere name.
    pub fn pods(&self, placements: &mut Placements<'_>) -> (Vec<Pod>, Vec<UnreadableObject>) {
        let mut pods = Vec::with_capacity(self.pods.len());
        let mut unreadable = Vec::new();
        for cached in self.pods.values() {
            if let Some(document) = &cached.document {
                super::build_one(document, placements, &mut pods, &mut unreadable);
                continue;
            }
            let mut pod = cached.pod.clone();
            if let (Some(api), Some(gang)) = (cached.gang_api, &pod.gang) {
                pod.gang = placements.gang(api, &gang.namespace, &gang.name);
            }
            if let Some(reason) = &cached.unreadable {
                unreadable.push(super::unreadable(&pod.namespace, &pod.name, reason.clone()));
            }
            pods.push(pod);
        }
        (pods, unreadable)
    }

    /// The namespaces pods are in.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.pods.keys().map(|(ns, _)| ns.as_str())
    }

    fn build(&mut self, raw: doc::Pod, mark: u32) -> Option<Box<CachedPod>> {
        let gang_api = kubernetes::gang_api(&raw);
        let keep = raw.spec.as_ref().is_some_and(kubernetes::refers_elsewhere);
        let (pod, unreadable) = match kubernetes::pod(&raw, &mut self.shared) {
            Ok(pod) => (pod, None),
            Err(e) => (
                kubernetes::unreadable_pod(&raw, &mut self.shared)?,
                Some(format!("{e:#}")),
            ),
        };
        Some(Box::new(CachedPod {
            pod,
            document: keep.then(|| Box::new(raw)),
            gang_api,
            unreadable,
            mark,
        }))
    }

    /// Sweeps the interner once changes have added up to the pods cached, so what it holds for
    /// pods long gone stays bounded by the pods there are.
    fn changed(&mut self) {
        self.changes += 1;
        if self.changes > self.pods.len().max(1024) {
            self.shared.forget_unused();
            self.changes = 0;
        }
    }
}

/// Waiting for a node: what starts a pass soon.
fn waiting(pod: &Pod) -> bool {
    pod.node_name.is_none() && pod.phase == crate::model::PodPhase::Pending && !pod.deleting
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::decode::kubernetes::{GroupPolicy, PodGroups};

    fn raw(name: &str, node: Option<&str>, labels: serde_json::Value) -> doc::Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "batch", "labels": labels},
            "spec": {
                "nodeName": node,
                "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}],
            },
            "status": {"phase": if node.is_some() { "Running" } else { "Pending" }},
        }))
        .unwrap()
    }

    fn names(cache: &PodCache) -> Vec<String> {
        cache.keys().collect()
    }

    fn built(cache: &PodCache, pod_groups: &PodGroups) -> Vec<Pod> {
        let mut placements = Placements::default().with_pod_groups(pod_groups.clone());
        cache.pods(&mut placements).0
    }

    #[test]
    fn a_pod_wakes_the_loop_when_it_starts_waiting_and_only_then() {
        let mut cache = PodCache::default();
        let pending = raw("a", None, json!({}));
        assert_eq!(cache.apply(pending.clone()), Arrival::NewlyWaiting);
        assert_eq!(
            cache.apply(pending.clone()),
            Arrival::Other,
            "a status update"
        );
        assert_eq!(cache.apply(raw("a", Some("n1"), json!({}))), Arrival::Other);
        assert_eq!(cache.apply(pending), Arrival::NewlyWaiting, "waiting again");
    }

    #[test]
    fn a_relist_drops_the_pods_it_did_not_name() {
        let mut cache = PodCache::default();
        for name in ["a", "b", "c"] {
            cache.apply(raw(name, None, json!({})));
        }
        cache.relist_started();
        cache.apply(raw("c", None, json!({})));
        cache.apply(raw("d", None, json!({})));
        assert_eq!(names(&cache), ["batch/a", "batch/b", "batch/c", "batch/d"]);
        cache.relist_done();
        assert_eq!(names(&cache), ["batch/c", "batch/d"]);
        cache.delete(&raw("c", None, json!({})));
        assert_eq!(names(&cache), ["batch/d"]);
        cache.relist_done();
        assert_eq!(names(&cache), ["batch/d"], "no relist under way");
    }

    #[test]
    fn pods_of_one_job_share_labels_and_placement() {
        let mut cache = PodCache::default();
        for name in ["a", "b"] {
            cache.apply(raw(name, None, json!({"job-name": "j"})));
        }
        cache.apply(raw("c", None, json!({"job-name": "k"})));
        let pods = built(&cache, &PodGroups::new());
        assert!(Arc::ptr_eq(&pods[0].labels, &pods[1].labels));
        assert!(!Arc::ptr_eq(&pods[0].labels, &pods[2].labels));
        assert!(Arc::ptr_eq(&pods[0].placement, &pods[2].placement));
    }

    #[test]
    fn a_gangs_minimum_is_read_at_each_pass() {
        let mut cache = PodCache::default();
        cache.apply(raw(
            "a",
            None,
            json!({"scheduling.x-k8s.io/pod-group": "g"}),
        ));
        let gang = |groups: &PodGroups| built(&cache, groups)[0].gang.clone();
        assert_eq!(gang(&PodGroups::new()).unwrap().min_member, None);
        let key = (GangApi::Coscheduling, "batch".to_string(), "g".to_string());
        let groups = PodGroups::from([(key, GroupPolicy::Gang(4))]);
        assert_eq!(gang(&groups).unwrap().min_member, Some(4));
    }

    #[test]
    fn the_interner_forgets_what_pods_long_gone_held() {
        let mut cache = PodCache::default();
        for i in 0..5_000 {
            let pod = raw(&format!("p{i}"), None, json!({"job-name": format!("j{i}")}));
            cache.apply(pod.clone());
            cache.delete(&pod);
        }
        assert!(cache.is_empty());
        assert!(
            cache.shared.label_sets() < 1_100,
            "{} label sets kept for no pod",
            cache.shared.label_sets()
        );
    }
}

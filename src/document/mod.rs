//! The snapshot file (shared/DESIGN.md): one JSON object whose parts are the unmodified output
//! of `kubectl get … -o json` and `aws … describe-…`. This is the on-disk contract; everything
//! here is plain serde, and [`crate::decode`] turns it into a [`crate::model::Snapshot`].

pub mod aws;
pub mod pod;
pub mod provisioning;
pub mod tags;

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::model::keys;
pub use pod::Pod;
pub use provisioning::{PodTemplate, ProvisioningRequest};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDocument {
    pub captured_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub kubernetes: KubernetesPart,
    #[serde(default)]
    pub aws: BTreeMap<String, aws::RegionPart>,
    /// Regions whose AWS half could not be read when the snapshot was taken, with the error:
    /// planned without them (their groups neither grow nor shrink).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreachable_regions: BTreeMap<String, String>,
    /// ekas's own addition: when it removed capacity lately (its Lease's
    /// `ekas/recent-removals`), so a snapshot plans scale-in with the same budget left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_removals: Vec<Timestamp>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesPart {
    /// Only the fields ekas reads (see [`pod`]).
    #[serde(default)]
    pub pods: ItemList<Pod>,
    #[serde(default)]
    pub nodes: ItemList<Node>,
    #[serde(default)]
    pub pod_disruption_budgets: ItemList<PodDisruptionBudget>,
    #[serde(default)]
    pub daemon_sets: ItemList<DaemonSet>,
    /// `kubectl get ns -o json`: labels for the namespace selectors of pod affinity terms.
    /// Absent: each namespace a pod lives in has only its `kubernetes.io/metadata.name` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<ItemList<Namespace>>,
    /// `kubectl get pvc -A -o json`. The three storage parts are read together: without them,
    /// volumes limit no pod's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claims: Option<ItemList<PersistentVolumeClaim>>,
    /// `kubectl get pv -o json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volumes: Option<ItemList<PersistentVolume>>,
    /// `kubectl get storageclass -o json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_classes: Option<ItemList<StorageClass>>,
    /// `kubectl get podgroups.scheduling.x-k8s.io,podgroups.scheduling.volcano.sh -A -o json`
    /// (either kind, or both in one list): each gang's minMember. Absent, or a gang without its
    /// PodGroup here: every pod of the gang must start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_groups: Option<ItemList<PodGroup>>,
    /// `kubectl get provisioningrequests.autoscaling.x-k8s.io -A -o json`: capacity a queue asks
    /// for before it admits a workload. Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_requests: Option<ItemList<ProvisioningRequest>>,
    /// `kubectl get podtemplates -A -o json`: the pods those requests are for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_templates: Option<ItemList<PodTemplate>>,
}

/// A PodGroup of the coscheduling plugin (`scheduling.x-k8s.io/v1alpha1`), of Volcano
/// (`scheduling.volcano.sh/v1beta1`) or of Kubernetes' Workload API
/// (`scheduling.k8s.io/v1alpha3`): each names a group of pods and says how many must run at
/// once (a Kubernetes PodGroup only under its gang policy). Only what ekas reads; the kinds
/// are told apart by `apiVersion`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodGroup {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodGroupSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodGroupSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_member: Option<i32>,
    /// Kubernetes' PodGroup: `gang` (with `minCount`) or `basic` (pods scheduled one by one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_policy: Option<SchedulingPolicy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SchedulingPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gang: Option<GangPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GangPolicy {
    #[serde(default)]
    pub min_count: i32,
}

/// `kubectl get X -o json` output: `{"apiVersion": "v1", "kind": "List", "items": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ItemList<T> {
    #[serde(default = "list_api_version")]
    pub api_version: String,
    #[serde(default = "list_kind")]
    pub kind: String,
    #[serde(default)]
    pub items: Vec<T>,
}

impl<T> Default for ItemList<T> {
    fn default() -> Self {
        ItemList {
            api_version: list_api_version(),
            kind: list_kind(),
            items: Vec::new(),
        }
    }
}

impl<T> From<Vec<T>> for ItemList<T> {
    fn from(items: Vec<T>) -> Self {
        ItemList {
            items,
            ..Default::default()
        }
    }
}

fn list_api_version() -> String {
    "v1".to_string()
}

fn list_kind() -> String {
    "List".to_string()
}

impl KubernetesPart {
    /// The three storage parts, all or none: a volume is read against its claim and class, so
    /// one missing part would make every claim look unbound.
    pub fn with_storage(
        mut self,
        claims: Option<ItemList<PersistentVolumeClaim>>,
        volumes: Option<ItemList<PersistentVolume>>,
        classes: Option<ItemList<StorageClass>>,
    ) -> KubernetesPart {
        if let (Some(claims), Some(volumes), Some(classes)) = (claims, volumes, classes) {
            self.persistent_volume_claims = Some(claims);
            self.persistent_volumes = Some(volumes);
            self.storage_classes = Some(classes);
        }
        self
    }

    /// Instance id → Availability Zone of every Node that names its instance without EC2's
    /// help: an AWS providerID (`aws:///us-west-2a/i-0abc`), or the original tool's `aws/id`
    /// label (zone from `aws/az`). Nodes matched only by private DNS name or IP are not here:
    /// EC2 must be asked which instance has that name.
    pub fn registered_instances(&self) -> BTreeMap<String, String> {
        self.nodes
            .items
            .iter()
            .filter_map(|n| {
                let from_provider = || {
                    let provider = n.spec.as_ref()?.provider_id.as_deref()?;
                    let rest = provider.strip_prefix("aws://")?.trim_start_matches('/');
                    let (zone, id) = rest.rsplit_once('/')?;
                    id.starts_with("i-").then(|| {
                        (
                            id.to_string(),
                            zone.rsplit('/').next().unwrap_or(zone).to_string(),
                        )
                    })
                };
                let from_label = || {
                    let labels = n.metadata.labels.as_ref()?;
                    let id = labels.get(keys::AWS_ID).filter(|id| id.starts_with("i-"))?;
                    let zone = labels.get(keys::AWS_AZ).cloned().unwrap_or_default();
                    Some((id.clone(), zone))
                };
                from_provider().or_else(from_label)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_name_their_instances_by_provider_id_or_the_original_label() {
        let part: KubernetesPart = serde_json::from_value(json!({"nodes": {"items": [
            {"metadata": {"name": "a"}, "spec": {"providerID": "aws:///us-west-2a/i-a"}},
            {"metadata": {"name": "b", "labels": {"aws/id": "i-b", "aws/az": "us-west-2b"}}},
            {"metadata": {"name": "c"}, "status": {"addresses": [
                {"type": "InternalIP", "address": "10.0.0.3"}]}}
        ]}}))
        .unwrap();
        let registered = part.registered_instances();
        assert_eq!(
            registered.into_iter().collect::<Vec<_>>(),
            [
                ("i-a".to_string(), "us-west-2a".to_string()),
                ("i-b".to_string(), "us-west-2b".to_string())
            ],
            "c needs EC2 to say which instance has its IP"
        );
    }
}

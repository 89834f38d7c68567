//! A pod as ekas reads it: the fields of `kubectl get pods -o json` (and of the API server's
//! LIST and WATCH answers) that the snapshot builder uses, and nothing else.
//!
//! Pods are most of a large cluster's objects, and a full k8s-openapi `Pod` costs kilobytes
//! before it holds any data (every optional field of the spec, of each container, of each
//! volume), plus managedFields, env, probes and status messages. These types keep the field
//! names and JSON shape of the real objects, so the same bytes parse, the builder reads them as
//! it read the full types, and what ekas writes back is still a pod document. Unknown fields
//! are skipped while parsing, never stored.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer, Serialize};

/// `kubectl.kubernetes.io/last-applied-configuration`: a copy of the whole object, which can be
/// larger than everything else ekas keeps of it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    #[serde(default, deserialize_with = "slim_metadata")]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<Container>>,
    /// Pod-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<Pairs<Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<Pairs<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Box<core::Affinity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<core::Toleration>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<core::TopologySpreadConstraint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_gates: Option<Vec<core::PodSchedulingGate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Kubernetes' Workload API: the PodGroup the pod is scheduled with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_group: Option<SchedulingGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_group_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<core::ContainerPort>>,
    /// `Always` on an init container: a sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Pairs<Quantity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Pairs<Quantity>>,
}

/// A JSON object of a few entries (requests, a node selector) kept as a list of pairs in one
/// allocation: a `BTreeMap` takes a half-kilobyte node for one entry, and a pod has several.
/// A key given twice keeps its last value, as in a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs<V>(Vec<(String, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<V> Pairs<V> {
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V> FromIterator<(String, V)> for Pairs<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Self {
        let mut pairs = Pairs(Vec::new());
        for (key, value) in entries {
            match pairs.0.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => pairs.0.push((key, value)),
            }
        }
        pairs.0.shrink_to_fit();
        pairs
    }
}

impl<V: Serialize> Serialize for Pairs<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<V>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The volume sources that limit where a pod runs or what its node must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<core::EmptyDirVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<core::HostPathVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<core::PersistentVolumeClaimVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<Box<core::EphemeralVolumeSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_elastic_block_store: Option<core::AWSElasticBlockStoreVolumeSource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominated_node_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PodCondition>>,
}

/// A condition without its message: a queue of unschedulable pods each carries a long one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The metadata fields the builder, the caches and events read: managedFields and the
/// last-applied copy are dropped as they are parsed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimMetadata {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
}

fn slim_metadata<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ObjectMeta, D::Error> {
    let slim = SlimMetadata::deserialize(deserializer)?;
    let mut meta = ObjectMeta {
        name: slim.name,
        namespace: slim.namespace,
        uid: slim.uid,
        resource_version: slim.resource_version,
        labels: slim.labels,
        annotations: slim.annotations,
        owner_references: slim.owner_references,
        creation_timestamp: slim.creation_timestamp,
        deletion_timestamp: slim.deletion_timestamp,
        ..ObjectMeta::default()
    };
    trim_metadata(&mut meta);
    Ok(meta)
}

/// Drops what no part of ekas reads from any object's metadata, and that can outweigh the
/// rest: managedFields and kubectl's last-applied copy.
pub fn trim_metadata(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

impl PodSpec {
    /// The slim copy of a full pod spec (a DaemonSet's template): through JSON, so the two
    /// types cannot drift apart field by field.
    pub fn from_full(spec: &core::PodSpec) -> serde_json::Result<PodSpec> {
        serde_json::from_value(serde_json::to_value(spec)?)
    }
}

/// What the kube client needs to LIST and WATCH pods straight into this type.
impl k8s_openapi::Resource for Pod {
    const API_VERSION: &'static str = <core::Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <core::Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <core::Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <core::Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <core::Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for Pod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A pod as the API server sends it, with what ekas does not read.
    fn full() -> serde_json::Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "job-1", "namespace": "batch", "uid": "u1", "resourceVersion": "42",
                "labels": {"job-name": "job"},
                "annotations": {"ekas/do-not-drain": "true",
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"a\": 1}"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "job",
                    "uid": "j", "controller": true}],
                "creationTimestamp": "2026-11-27T11:00:00Z",
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"containers": [{"name": "main", "image": "registry/job:1", "env": [{"name": "A", "value": "1"}],
                    "command": ["run"], "resources": {"requests": {"cpu": "1"}},
                    "ports": [{"containerPort": 80, "hostPort": 8080}]}],
                "nodeSelector": {"pool": "cpu"}, "restartPolicy": "Never", "priority": 5,
                "serviceAccountName": "default",
                "volumes": [{"name": "scratch", "emptyDir": {}},
                    {"name": "token", "projected": {"sources": []}}]},
            "status": {"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/5000 nodes are available: 5000 Insufficient cpu."}]}
        })
    }

    #[test]
    fn keeps_what_the_builder_reads_and_drops_the_rest() {
        let pod: Pod = serde_json::from_value(full()).unwrap();
        let meta = &pod.metadata;
        assert_eq!(meta.name.as_deref(), Some("job-1"));
        assert_eq!(
            meta.resource_version.as_deref(),
            Some("42"),
            "watches resume from it"
        );
        assert!(meta.managed_fields.is_none());
        let annotations = meta.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            ["ekas/do-not-drain"]
        );
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.priority, Some(5));
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].host_port,
            Some(8080)
        );
        let volumes = spec.volumes.as_ref().unwrap();
        assert!(volumes[0].empty_dir.is_some());
        assert_eq!(
            volumes[1].name, "token",
            "a volume of a kind not read is kept by name"
        );
        let written = serde_json::to_value(&pod).unwrap();
        assert!(written["spec"]["containers"][0].get("env").is_none());
        assert!(written["status"]["conditions"][0].get("message").is_none());
        assert_eq!(
            serde_json::from_value::<Pod>(written).unwrap(),
            pod,
            "what ekas writes, it reads back the same"
        );
    }

    #[test]
    fn pairs_read_and_write_as_an_object() {
        let pairs: Pairs<String> =
            serde_json::from_str(r#"{"a": "1", "b": "2", "a": "3"}"#).unwrap();
        assert_eq!(
            pairs.get("a").map(String::as_str),
            Some("3"),
            "the last value wins"
        );
        assert!(pairs.contains_key("b") && !pairs.contains_key("c"));
        assert_eq!(
            serde_json::to_string(&pairs).unwrap(),
            r#"{"a":"3","b":"2"}"#
        );
        let err = serde_json::from_str::<Pairs<String>>(r#"["a"]"#).unwrap_err();
        assert!(err.to_string().contains("expected an object"), "{err}");
    }

    #[test]
    fn the_full_and_slim_pod_specs_agree() {
        let full: core::Pod = serde_json::from_value(full()).unwrap();
        let slim: Pod = serde_json::from_value(super::tests::full()).unwrap();
        assert_eq!(
            PodSpec::from_full(full.spec.as_ref().unwrap()).unwrap(),
            slim.spec.unwrap()
        );
    }
}

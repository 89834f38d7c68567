//! A pod's volumes → where it can run and what it attaches, as the scheduler's VolumeBinding,
//! VolumeZone and NodeVolumeLimits plugins read PersistentVolumeClaims, PersistentVolumes and
//! StorageClasses:
//!
//! 1. A claim that is missing, or not bound while its class binds immediately, keeps the pod
//!    off every node until the volume controller acts.
//! 2. A bound claim's volume limits the nodes by its node affinity and by its zone and region
//!    labels.
//! 3. An unbound claim whose class waits for the first consumer may bind any available volume
//!    of its class that fits (limiting the nodes to those volumes' node affinity) or, when the
//!    class provisions, a new volume where the class's allowedTopologies allow.
//! 4. Every EBS-backed volume takes one of the node's EBS attachments.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1::StorageClass;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::kubernetes::{label_selector, node_selector_term};
use crate::document::pod as doc;
use crate::model::scheduling::{
    NodeSelectorTerm, Operator, Requirement, VolumePlacement, VolumeRequirement, VolumeRule,
};

/// The CSI driver of EBS, and the in-tree provisioner it replaced.
const EBS_DRIVERS: [&str; 2] = ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];
/// A class with this provisioner (or none) only binds volumes made beforehand.
const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// A claim's class, in the annotation that predates `storageClassName`.
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// Set by the volume controller when a claim's binding is complete.
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// The node the scheduler chose for a claim waiting for its first consumer.
const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Volume labels the VolumeZone plugin reads.
const TOPOLOGY_LABELS: [&str; 4] = [
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
];

/// The cluster's claims, volumes and classes, indexed.
pub struct Storage<'a> {
    claims: HashMap<(&'a str, &'a str), &'a core::PersistentVolumeClaim>,
    volumes: HashMap<&'a str, &'a core::PersistentVolume>,
    classes: HashMap<&'a str, &'a StorageClass>,
}

/// What a pod's volumes mean for its placement.
#[derive(Debug, Default)]
pub struct PodVolumes {
    pub placement: VolumePlacement,
    /// EBS-backed volumes the pod attaches to its node.
    pub ebs_attachments: i64,
}

/// A claim as a pod refers to it: by name, or by the template of a generic ephemeral volume
/// whose claim the ephemeral volume controller has not made yet.
enum Claim<'a> {
    Named(&'a str),
    Ephemeral {
        name: String,
        template: Option<&'a core::PersistentVolumeClaimSpec>,
    },
}

/// A claim as found: its spec and annotations (those of an ephemeral volume's template when
/// the claim is not made yet), and the volume it is bound to, once binding is complete.
struct FoundClaim<'c> {
    name: String,
    spec: Option<&'c core::PersistentVolumeClaimSpec>,
    annotations: Option<&'c BTreeMap<String, String>>,
    bound: Option<&'c str>,
}

impl<'a> Storage<'a> {
    pub fn new(
        claims: &'a [core::PersistentVolumeClaim],
        volumes: &'a [core::PersistentVolume],
        classes: &'a [StorageClass],
    ) -> Storage<'a> {
        let name = |m: &'a ObjectMeta| m.name.as_deref().unwrap_or_default();
        Storage {
            claims: claims
                .iter()
                .map(|c| {
                    let ns = c.metadata.namespace.as_deref().unwrap_or("default");
                    ((ns, name(&c.metadata)), c)
                })
                .collect(),
            volumes: volumes.iter().map(|v| (name(&v.metadata), v)).collect(),
            classes: classes.iter().map(|c| (name(&c.metadata), c)).collect(),
        }
    }

    /// Where the volumes of pod `namespace/pod` let it run, and what it attaches.
    pub fn resolve(&self, namespace: &str, pod: &str, spec: &doc::PodSpec) -> PodVolumes {
        let mut out = PodVolumes::default();
        for volume in spec.volumes.iter().flatten() {
            if volume.aws_elastic_block_store.is_some() {
                out.ebs_attachments += 1;
            }
            let claim = if let Some(pvc) = &volume.persistent_volume_claim {
                Claim::Named(&pvc.claim_name)
            } else if let Some(ephemeral) = &volume.ephemeral {
                Claim::Ephemeral {
                    name: format!("{pod}-{}", volume.name),
                    template: ephemeral.volume_claim_template.as_ref().map(|t| &t.spec),
                }
            } else {
                continue;
            };
            if let Err(blocked) = self.claim(namespace, claim, &mut out) {
                out.placement.blocked.get_or_insert(blocked);
            }
        }
        out
    }

    /// Adds what one claim requires; `Err` says why no node can run the pod for now.
    fn claim(&self, namespace: &str, claim: Claim<'_>, out: &mut PodVolumes) -> Result<(), String> {
        let found = self.find(namespace, &claim)?;
        let name = &found.name;
        if let Some(volume_name) = found.bound {
            return self.bound(name, volume_name, out);
        }
        // Not bound (or pre-bound, which the scheduler treats the same).
        let (class_name, class) = self.waiting_class(&found)?;
        if EBS_DRIVERS.contains(&class.provisioner.as_str()) {
            out.ebs_attachments += 1;
        }
        if let Some(node) = found.annotations.and_then(|a| a.get(SELECTED_NODE)) {
            out.placement.requirements.push(VolumeRequirement {
                volume: format!("claim {name} (provisioning on node {node})"),
                rule: VolumeRule::NodeTerms(vec![NodeSelectorTerm {
                    expressions: vec![],
                    fields: vec![Requirement {
                        key: "metadata.name".into(),
                        operator: Operator::In,
                        values: vec![node.clone()],
                    }],
                }]),
            });
            return Ok(());
        }
        let label = format!("claim {name} (StorageClass {class_name})");
        let Some(terms) = self.binding_terms(namespace, &found, class_name, class) else {
            return Ok(());
        };
        if terms.is_empty() {
            return Err(format!(
                "no PersistentVolume available for claim {name}, and StorageClass {class_name} does not provision"
            ));
        }
        out.placement.requirements.push(VolumeRequirement {
            volume: label,
            rule: VolumeRule::NodeTerms(terms),
        });
        Ok(())
    }

    /// The claim the pod refers to, as the cluster has it or (an ephemeral volume's, not made
    /// yet) as its template says; `Err` when a named claim does not exist.
    fn find<'c>(&'c self, namespace: &str, claim: &'c Claim<'c>) -> Result<FoundClaim<'c>, String> {
        let (name, found) = match claim {
            Claim::Named(name) => (name.to_string(), self.claims.get(&(namespace, *name))),
            Claim::Ephemeral { name, .. } => {
                (name.clone(), self.claims.get(&(namespace, name.as_str())))
            }
        };
        match (found, claim) {
            (Some(pvc), _) => {
                let spec = pvc.spec.as_ref();
                let annotations = pvc.metadata.annotations.as_ref();
                let volume_name = spec
                    .and_then(|s| s.volume_name.as_deref())
                    .filter(|v| !v.is_empty());
                let completed = annotations.is_some_and(|a| a.contains_key(BIND_COMPLETED))
                    || pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
                Ok(FoundClaim {
                    name,
                    spec,
                    annotations,
                    bound: volume_name.filter(|_| completed),
                })
            }
            (None, Claim::Ephemeral { template, .. }) => Ok(FoundClaim {
                name,
                spec: *template,
                annotations: None,
                bound: None,
            }),
            (None, Claim::Named(_)) => Err(format!(
                "PersistentVolumeClaim {namespace}/{name} not found"
            )),
        }
    }

    /// Adds what the volume a claim (`name`) is bound to requires: its node affinity, its zone
    /// and region labels, and an EBS attachment.
    fn bound(&self, name: &str, volume_name: &str, out: &mut PodVolumes) -> Result<(), String> {
        let Some(pv) = self.volumes.get(volume_name) else {
            return Err(format!(
                "claim {name} is bound to PersistentVolume {volume_name}, which does not exist"
            ));
        };
        let label = format!("PersistentVolume {volume_name} of claim {name}");
        if let Some(terms) = volume_node_terms(pv) {
            out.placement.requirements.push(VolumeRequirement {
                volume: label.clone(),
                rule: VolumeRule::NodeTerms(terms),
            });
        }
        for key in TOPOLOGY_LABELS {
            if let Some(value) = pv.metadata.labels.as_ref().and_then(|l| l.get(key)) {
                out.placement.requirements.push(VolumeRequirement {
                    volume: label.clone(),
                    rule: VolumeRule::TopologyLabel {
                        key: key.to_string(),
                        values: value.split("__").map(str::to_string).collect(),
                    },
                });
            }
        }
        if is_ebs_volume(pv) {
            out.ebs_attachments += 1;
        }
        Ok(())
    }

    /// The StorageClass (name and object) of an unbound claim, when it waits for the pod to be
    /// placed before binding; `Err` when the claim cannot bind wherever the pod goes.
    fn waiting_class<'c>(
        &'c self,
        found: &'c FoundClaim<'_>,
    ) -> Result<(&'c str, &'c StorageClass), String> {
        let name = &found.name;
        let class_name = found
            .annotations
            .and_then(|a| a.get(BETA_CLASS))
            .map(String::as_str)
            .or_else(|| found.spec.and_then(|s| s.storage_class_name.as_deref()))
            .unwrap_or_default();
        if class_name.is_empty() {
            return Err(format!(
                "claim {name} is not bound and has no StorageClass to bind it when the pod is placed"
            ));
        }
        let Some(class) = self.classes.get(class_name) else {
            return Err(format!(
                "StorageClass {class_name} of claim {name} not found"
            ));
        };
        let waits = class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
        let prebound = found
            .spec
            .and_then(|s| s.volume_name.as_deref())
            .is_some_and(|v| !v.is_empty());
        if !waits || prebound {
            return Err(format!(
                "claim {name} is not bound yet (StorageClass {class_name} binds immediately)"
            ));
        }
        Ok((class_name, class))
    }

    /// Nodes where an unbound claim can bind: those of any available volume that fits it, and
    /// where its class may provision one. `None` when that is any node.
    fn binding_terms(
        &self,
        namespace: &str,
        found: &FoundClaim<'_>,
        class_name: &str,
        class: &StorageClass,
    ) -> Option<Vec<NodeSelectorTerm>> {
        let provisions = !(class.provisioner.is_empty() || class.provisioner == NO_PROVISIONER);
        let mut terms: Vec<NodeSelectorTerm> = Vec::new();
        for pv in self.available_volumes(namespace, &found.name, class_name, found.spec) {
            // A volume any node can reach: the claim limits nothing.
            terms.extend(volume_node_terms(pv)?);
        }
        if provisions {
            terms.extend(allowed_topologies(class)?);
        }
        Some(terms)
    }

    /// Volumes of `class` an unbound claim may bind: unclaimed (or claimed by it), not being
    /// deleted, large enough, with the claim's access modes and volume mode, and matching its
    /// selector.
    fn available_volumes<'s>(
        &'s self,
        namespace: &'s str,
        claim: &'s str,
        class: &'s str,
        spec: Option<&'s core::PersistentVolumeClaimSpec>,
    ) -> impl Iterator<Item = &'a core::PersistentVolume> + 's {
        let requested = storage_bytes(
            spec.and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref()),
        );
        let modes = spec
            .and_then(|s| s.access_modes.clone())
            .unwrap_or_default();
        let block = |mode: Option<&String>| mode.map(String::as_str) == Some("Block");
        let claim_block = block(spec.and_then(|s| s.volume_mode.as_ref()));
        let selector = spec
            .and_then(|s| s.selector.as_ref())
            .and_then(|s| label_selector(s).ok());
        let mut volumes: Vec<&'a core::PersistentVolume> = self.volumes.values().copied().collect();
        volumes.sort_by_key(|v| v.metadata.name.clone());
        volumes.into_iter().filter(move |pv| {
            let Some(pv_spec) = pv.spec.as_ref() else {
                return false;
            };
            let claimed_by_other = pv_spec.claim_ref.as_ref().is_some_and(|r| {
                r.name.as_deref() != Some(claim) || r.namespace.as_deref() != Some(namespace)
            });
            let capacity = storage_bytes(pv_spec.capacity.as_ref());
            let pv_modes = pv_spec.access_modes.clone().unwrap_or_default();
            pv_spec.storage_class_name.as_deref().unwrap_or_default() == class
                && !claimed_by_other
                && pv.metadata.deletion_timestamp.is_none()
                && capacity >= requested
                && modes.iter().all(|m| pv_modes.contains(m))
                && block(pv_spec.volume_mode.as_ref()) == claim_block
                && selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&pv.metadata.labels.clone().unwrap_or_default()))
        })
    }
}

/// A volume's required node affinity as node selector terms; `None` when any node may use it.
fn volume_node_terms(pv: &core::PersistentVolume) -> Option<Vec<NodeSelectorTerm>> {
    let required = pv
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?;
    let terms = required
        .node_selector_terms
        .iter()
        .filter_map(|t| node_selector_term(t).ok())
        .collect();
    Some(terms)
}

/// A class's allowedTopologies as node selector terms; `None` when it allows every node.
fn allowed_topologies(class: &StorageClass) -> Option<Vec<NodeSelectorTerm>> {
    let allowed = class
        .allowed_topologies
        .as_ref()
        .filter(|a| !a.is_empty())?;
    Some(
        allowed
            .iter()
            .map(|term| NodeSelectorTerm {
                expressions: term
                    .match_label_expressions
                    .iter()
                    .flatten()
                    .map(|e| Requirement {
                        key: e.key.clone(),
                        operator: Operator::In,
                        values: e.values.clone(),
                    })
                    .collect(),
                fields: vec![],
            })
            .collect(),
    )
}

/// The `storage` quantity of a request or capacity map, in bytes; 0 when absent or unreadable
/// (the API server rejects malformed quantities, so only hand-made snapshots have them).
fn storage_bytes(map: Option<&std::collections::BTreeMap<String, Quantity>>) -> i64 {
    map.and_then(|m| m.get("storage"))
        .and_then(|q| crate::model::quantity::Quantity::parse(&q.0).ok())
        .and_then(|q| q.value())
        .unwrap_or(0)
}

fn is_ebs_volume(pv: &core::PersistentVolume) -> bool {
    pv.spec.as_ref().is_some_and(|s| {
        s.aws_elastic_block_store.is_some()
            || s.csi
                .as_ref()
                .is_some_and(|c| EBS_DRIVERS.contains(&c.driver.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Cluster {
        claims: Vec<core::PersistentVolumeClaim>,
        volumes: Vec<core::PersistentVolume>,
        classes: Vec<StorageClass>,
    }

    fn cluster(
        claims: serde_json::Value,
        volumes: serde_json::Value,
        classes: serde_json::Value,
    ) -> Cluster {
        Cluster {
            claims: serde_json::from_value(claims).unwrap(),
            volumes: serde_json::from_value(volumes).unwrap(),
            classes: serde_json::from_value(classes).unwrap(),
        }
    }

    impl Cluster {
        fn resolve(&self, volumes: serde_json::Value) -> PodVolumes {
            let spec: doc::PodSpec =
                serde_json::from_value(json!({"containers": [], "volumes": volumes})).unwrap();
            Storage::new(&self.claims, &self.volumes, &self.classes).resolve("db", "db-0", &spec)
        }
    }

    fn claim(name: &str, spec: serde_json::Value, bound: bool) -> serde_json::Value {
        let mut c = json!({"metadata": {"name": name, "namespace": "db"}, "spec": spec});
        if bound {
            c["status"] = json!({"phase": "Bound"});
        }
        c
    }

    fn uses(claim: &str) -> serde_json::Value {
        json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}])
    }

    fn in_zone(zone: &str) -> serde_json::Value {
        json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}})
    }

    #[test]
    fn a_bound_ebs_volume_pins_its_zone_and_takes_an_attachment() {
        let c = cluster(
            json!([claim(
                "data-0",
                json!({"volumeName": "pv-1", "storageClassName": "gp3"}),
                true
            )]),
            json!([{"metadata": {"name": "pv-1", "labels": {"topology.kubernetes.io/zone": "us-west-2b__us-west-2c"}},
                    "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"},
                             "nodeAffinity": in_zone("us-west-2b")}}]),
            json!([]),
        );
        let v = c.resolve(uses("data-0"));
        assert_eq!(v.ebs_attachments, 1);
        assert_eq!(v.placement.blocked, None);
        let [terms, label] = &v.placement.requirements[..] else {
            panic!("{:?}", v.placement.requirements)
        };
        assert_eq!(terms.volume, "PersistentVolume pv-1 of claim data-0");
        assert!(
            matches!(&terms.rule, VolumeRule::NodeTerms(t) if t[0].expressions[0].values == ["us-west-2b"])
        );
        assert!(
            matches!(&label.rule, VolumeRule::TopologyLabel { values, .. } if values == &["us-west-2b", "us-west-2c"])
        );
    }

    #[test]
    fn claims_that_cannot_bind_yet_block_the_pod_and_say_why() {
        let c = cluster(
            json!([
                claim("waiting", json!({"storageClassName": "fast"}), false),
                claim(
                    "lost",
                    json!({"volumeName": "gone", "storageClassName": "fast"}),
                    true
                ),
                claim("classless", json!({}), false),
                claim("unknown-class", json!({"storageClassName": "nope"}), false)
            ]),
            json!([]),
            json!([{"metadata": {"name": "fast"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate"}]),
        );
        let blocked = |name: &str| c.resolve(uses(name)).placement.blocked.unwrap();
        assert_eq!(
            blocked("missing"),
            "PersistentVolumeClaim db/missing not found"
        );
        assert_eq!(
            blocked("waiting"),
            "claim waiting is not bound yet (StorageClass fast binds immediately)"
        );
        assert_eq!(
            blocked("lost"),
            "claim lost is bound to PersistentVolume gone, which does not exist"
        );
        assert!(blocked("classless").contains("no StorageClass"));
        assert_eq!(
            blocked("unknown-class"),
            "StorageClass nope of claim unknown-class not found"
        );
    }

    #[test]
    fn a_claim_waiting_for_its_pod_goes_where_its_class_or_volumes_allow() {
        let c = cluster(
            json!([
                claim("topo", json!({"storageClassName": "gp3-2b"}), false),
                claim("anywhere", json!({"storageClassName": "gp3"}), false),
                claim(
                    "local",
                    json!({"storageClassName": "local", "resources": {"requests": {"storage": "50Gi"}}, "accessModes": ["ReadWriteOnce"]}),
                    false
                ),
                claim("none", json!({"storageClassName": "empty-local"}), false),
                claim("picked", json!({"storageClassName": "gp3"}), false)
            ]),
            json!([
                {"metadata": {"name": "small"}, "spec": {"storageClassName": "local", "capacity": {"storage": "10Gi"},
                    "accessModes": ["ReadWriteOnce"], "nodeAffinity": in_zone("us-west-2a")}},
                {"metadata": {"name": "taken"}, "spec": {"storageClassName": "local", "capacity": {"storage": "100Gi"},
                    "accessModes": ["ReadWriteOnce"], "claimRef": {"name": "other", "namespace": "db"}, "nodeAffinity": in_zone("us-west-2b")}},
                {"metadata": {"name": "fits"}, "spec": {"storageClassName": "local", "capacity": {"storage": "100Gi"},
                    "accessModes": ["ReadWriteOnce", "ReadOnlyMany"], "nodeAffinity": in_zone("us-west-2c")}}
            ]),
            json!([
                {"metadata": {"name": "gp3-2b"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer",
                 "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.ebs.csi.aws.com/zone", "values": ["us-west-2b"]}]}]},
                {"metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"},
                {"metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"},
                {"metadata": {"name": "empty-local"}, "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}
            ]),
        );
        let topo = c.resolve(uses("topo"));
        assert_eq!(topo.ebs_attachments, 1);
        assert!(matches!(&topo.placement.requirements[0].rule,
            VolumeRule::NodeTerms(t) if t[0].expressions[0].key == "topology.ebs.csi.aws.com/zone"));
        assert!(
            c.resolve(uses("anywhere"))
                .placement
                .requirements
                .is_empty()
        );
        let local = c.resolve(uses("local"));
        let VolumeRule::NodeTerms(terms) = &local.placement.requirements[0].rule else {
            panic!()
        };
        assert_eq!(
            terms.len(),
            1,
            "only the volume that is large enough and free"
        );
        assert_eq!(terms[0].expressions[0].values, ["us-west-2c"]);
        assert_eq!(local.ebs_attachments, 0);
        assert!(
            c.resolve(uses("none"))
                .placement
                .blocked
                .unwrap()
                .contains("no PersistentVolume available")
        );

        let mut picked = c.claims.clone();
        picked[4].metadata.annotations =
            Some([(SELECTED_NODE.to_string(), "node-9".to_string())].into());
        let c = Cluster {
            claims: picked,
            ..c
        };
        let VolumeRule::NodeTerms(terms) =
            &c.resolve(uses("picked")).placement.requirements[0].rule
        else {
            panic!()
        };
        assert_eq!(terms[0].fields[0].values, ["node-9"]);
    }

    #[test]
    fn ephemeral_and_inline_volumes() {
        let c = cluster(
            json!([]),
            json!([]),
            json!([{"metadata": {"name": "gp3-2a"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer",
                 "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": ["us-west-2a"]}]}]}]),
        );
        let v = c.resolve(json!([
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"storageClassName": "gp3-2a"}}}},
            {"name": "legacy", "awsElasticBlockStore": {"volumeID": "vol-1"}},
            {"name": "tmp", "emptyDir": {}}
        ]));
        assert_eq!(v.ebs_attachments, 2);
        assert_eq!(
            v.placement.requirements[0].volume,
            "claim db-0-scratch (StorageClass gp3-2a)"
        );
    }
}

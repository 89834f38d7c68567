//! Kubernetes objects (k8s-openapi types) → model summaries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1::PodDisruptionBudget as K8sPdb;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::model::keys;
use crate::model::resources::{PODS, Resources};
use crate::model::scheduling::{
    AntiAffinityTerm, HOSTNAME_LABEL, LabelSelector, Labels, NodeSelectorTerm, Operator, Placement,
    Requirement, Taint, TaintEffect, Toleration, TolerationOperator,
};
use crate::model::{
    DaemonSet, MatchedBy, Node, NodeAddresses, NodeMarks, Owner, Pod, PodDisruptionBudget, PodPhase,
};

/// Gives pods with identical placement one shared `Arc`, so a 100k-pod queue made of a few
/// job templates holds a few placements, and equal placements compare by pointer first.
#[derive(Default)]
pub struct PlacementInterner(HashMap<Placement, Arc<Placement>>);

impl PlacementInterner {
    fn intern(&mut self, placement: Placement) -> Arc<Placement> {
        self.0
            .entry(placement)
            .or_insert_with_key(|p| Arc::new(p.clone()))
            .clone()
    }
}

pub fn pod(raw: &core::Pod, interner: &mut PlacementInterner) -> Result<Pod> {
    let meta = &raw.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta
        .name
        .clone()
        .ok_or_else(|| eyre!("a pod in namespace {namespace} has no metadata.name"))?;
    let context = || format!("pod {namespace}/{name}");
    let empty = core::PodSpec::default();
    let spec = raw.spec.as_ref().unwrap_or(&empty);
    let requests = effective_requests(spec).wrap_err_with(context)?;
    let placement = interner.intern(placement(spec).wrap_err_with(context)?);
    let labels = meta.labels.clone().unwrap_or_default();
    let annotations = meta.annotations.as_ref();
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(String::as_str);
    let controller = controller(meta);
    Ok(Pod {
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        phase: PodPhase::parse(raw.status.as_ref().and_then(|s| s.phase.as_deref())),
        deleting: meta.deletion_timestamp.is_some(),
        requests,
        do_not_evict: do_not_evict(&labels, annotations),
        labels,
        placement,
        runs_to_completion: runs_to_completion(spec, controller.as_ref()),
        controller,
        mirror: annotation(keys::MIRROR).is_some(),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
        local_storage: spec.volumes.iter().flatten().any(|v| v.empty_dir.is_some()),
        host_path: spec.volumes.iter().flatten().any(|v| v.host_path.is_some()),
        gated: spec
            .scheduling_gates
            .as_ref()
            .is_some_and(|g| !g.is_empty()),
        namespace,
        name,
    })
}

/// Marked never to be evicted: ekas's and the original tool's do-not-drain (label or
/// annotation), cluster-autoscaler's `safe-to-evict: "false"`, Karpenter's `do-not-disrupt`.
fn do_not_evict(labels: &Labels, annotations: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let annotations = annotations.unwrap_or(&empty);
    annotations
        .get(keys::SAFE_TO_EVICT)
        .is_some_and(|v| keys::is_false(v))
        || keys::any_true(annotations, &keys::DO_NOT_DRAIN)
        || keys::any_true(labels, &keys::DO_NOT_DRAIN)
        || keys::any_true(annotations, &[keys::DO_NOT_DISRUPT])
}

/// A Job's pod, or any pod that does not restart when its work is done.
fn runs_to_completion(spec: &core::PodSpec, controller: Option<&Owner>) -> bool {
    controller.is_some_and(|o| o.kind == "Job")
        || matches!(spec.restart_policy.as_deref(), Some("Never" | "OnFailure"))
}

fn controller(meta: &meta::ObjectMeta) -> Option<Owner> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| Owner {
            kind: o.kind.clone(),
            name: o.name.clone(),
        })
}

fn quantities(map: Option<&BTreeMap<String, K8sQuantity>>, field: &str) -> Result<Resources> {
    let Some(map) = map else {
        return Ok(Resources::default());
    };
    Resources::from_quantities(map.iter().map(|(k, v)| (k.as_str(), v.0.as_str())))
        .map_err(|e| eyre!("{field}.{e}"))
}

/// A container's request: `requests`, with `limits` standing in for any resource that has a
/// limit and no request (as the API server defaults it).
fn container_requests(container: &core::Container, kind: &str) -> Result<Resources> {
    let context = || format!("{kind} {}", container.name);
    let Some(res) = &container.resources else {
        return Ok(Resources::default());
    };
    let mut requests = quantities(res.requests.as_ref(), "requests").wrap_err_with(context)?;
    let limits = quantities(res.limits.as_ref(), "limits").wrap_err_with(context)?;
    for (name, limit) in limits.iter() {
        let has_request = res.requests.as_ref().is_some_and(|r| r.contains_key(name));
        if !has_request {
            requests.set(name, limit);
        }
    }
    Ok(requests)
}

/// What the scheduler reserves for a pod: the larger of (containers + sidecars) and each init
/// container plus the sidecars started before it; then pod-level requests where set, overhead,
/// and one pod slot.
pub fn effective_requests(spec: &core::PodSpec) -> Result<Resources> {
    let mut running = Resources::default();
    for c in &spec.containers {
        running.add(&container_requests(c, "container")?);
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let req = container_requests(c, "init container")?;
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&req);
            init_peak.max_with(&sidecars);
        } else {
            init_peak.max_with(&req.plus(&sidecars));
        }
    }
    running.add(&sidecars);
    running.max_with(&init_peak);
    if let Some(pod_level) = spec.resources.as_ref() {
        let pod_level = quantities(pod_level.requests.as_ref(), "spec.resources.requests")?;
        for (name, amount) in pod_level.iter() {
            running.set(name, amount);
        }
    }
    running.add(&quantities(spec.overhead.as_ref(), "overhead")?);
    running.set(PODS, 1);
    Ok(running)
}

pub fn placement(spec: &core::PodSpec) -> Result<Placement> {
    let node_affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|sel| {
            sel.node_selector_terms
                .iter()
                .map(node_selector_term)
                .collect::<Result<Vec<_>>>()
        })
        .transpose()
        .wrap_err("spec.affinity.nodeAffinity")?
        .unwrap_or_default();
    let tolerations = spec
        .tolerations
        .iter()
        .flatten()
        .map(toleration)
        .collect::<Result<Vec<_>>>()
        .wrap_err("spec.tolerations")?;
    let anti_affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|pa| {
            pa.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .into_iter()
        .flatten()
        // Other topology keys (zone, …) spread across groups, not nodes; they are not evaluated.
        .filter(|term| term.topology_key == HOSTNAME_LABEL)
        // A term without a label selector selects no pods.
        .filter_map(|term| {
            let selector = term.label_selector.as_ref()?;
            Some(label_selector(selector).map(|selector| AntiAffinityTerm {
                selector,
                namespaces: term.namespaces.clone().unwrap_or_default(),
                // Namespace labels are not in the snapshot: any namespace selector is taken to
                // select every namespace, which can only keep pods further apart.
                all_namespaces: term.namespace_selector.is_some(),
            }))
        })
        .collect::<Result<Vec<_>>>()
        .wrap_err("spec.affinity.podAntiAffinity")?;
    Ok(Placement {
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        node_affinity,
        tolerations,
        anti_affinity,
    })
}

fn requirement(key: &str, operator: &str, values: Option<&Vec<String>>) -> Result<Requirement> {
    let operator = Operator::parse(operator)
        .ok_or_else(|| eyre!("unknown operator {operator:?} for key {key:?}"))?;
    Ok(Requirement {
        key: key.to_string(),
        operator,
        values: values.cloned().unwrap_or_default(),
    })
}

fn node_selector_term(term: &core::NodeSelectorTerm) -> Result<NodeSelectorTerm> {
    let convert = |reqs: Option<&Vec<core::NodeSelectorRequirement>>| {
        reqs.into_iter()
            .flatten()
            .map(|r| requirement(&r.key, &r.operator, r.values.as_ref()))
            .collect::<Result<Vec<_>>>()
    };
    Ok(NodeSelectorTerm {
        expressions: convert(term.match_expressions.as_ref())?,
        fields: convert(term.match_fields.as_ref())?,
    })
}

pub fn label_selector(sel: &meta::LabelSelector) -> Result<LabelSelector> {
    let expressions = sel
        .match_expressions
        .iter()
        .flatten()
        .map(|r| {
            let req = requirement(&r.key, &r.operator, r.values.as_ref())?;
            if matches!(req.operator, Operator::Gt | Operator::Lt) {
                bail!(
                    "operator {:?} is not allowed in a label selector",
                    r.operator
                );
            }
            Ok(req)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LabelSelector {
        match_labels: sel.match_labels.clone().unwrap_or_default(),
        expressions,
    })
}

fn toleration(t: &core::Toleration) -> Result<Toleration> {
    let operator = match t.operator.as_deref() {
        None | Some("") | Some("Equal") => TolerationOperator::Equal,
        Some("Exists") => TolerationOperator::Exists,
        Some(other) => bail!("unknown toleration operator {other:?}"),
    };
    Ok(Toleration {
        key: t.key.clone().unwrap_or_default(),
        operator,
        value: t.value.clone().unwrap_or_default(),
        effect: match t.effect.as_deref() {
            None | Some("") => None,
            Some(e) => {
                Some(TaintEffect::parse(e).ok_or_else(|| eyre!("unknown taint effect {e:?}"))?)
            }
        },
    })
}

pub fn taint(key: &str, value: Option<&str>, effect: &str) -> Result<Taint> {
    Ok(Taint {
        key: key.to_string(),
        value: value.unwrap_or_default().to_string(),
        effect: TaintEffect::parse(effect).ok_or_else(|| {
            eyre!(
                "taint {key}: unknown effect {effect:?} (NoSchedule, PreferNoSchedule or NoExecute)"
            )
        })?,
    })
}

pub fn node(raw: &core::Node) -> Result<Node> {
    let name = raw
        .metadata
        .name
        .clone()
        .ok_or_else(|| eyre!("a node has no metadata.name"))?;
    let context = || format!("node {name}");
    let spec = raw.spec.clone().unwrap_or_default();
    let status = raw.status.clone().unwrap_or_default();
    let allocatable = quantities(
        status.allocatable.as_ref().or(status.capacity.as_ref()),
        "status.allocatable",
    )
    .wrap_err_with(context)?;
    let taints = spec
        .taints
        .iter()
        .flatten()
        .map(|t| taint(&t.key, t.value.as_deref(), &t.effect))
        .collect::<Result<Vec<_>>>()
        .wrap_err_with(context)?;
    let ready_condition = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let ready = ready_condition.is_some_and(|c| c.status == "True");
    let labels = raw.metadata.labels.clone().unwrap_or_default();
    let annotations = raw.metadata.annotations.as_ref();
    // A mangled time counts as absent: ekas writes a fresh one, rather than one hand-edited
    // annotation stopping every pass.
    let time = |key: &str| -> Option<jiff::Timestamp> {
        let value = annotations?.get(key)?;
        value
            .parse()
            .inspect_err(|e| tracing::warn!(node = %name, key, value, error = %e, "ignoring annotation: not an RFC 3339 time"))
            .ok()
    };
    let empty = BTreeMap::new();
    let marks = NodeMarks {
        cordoned_by_ekas: keys::cordoned_by_ekas(&labels),
        detached: keys::any_true(&labels, &keys::DETACHED),
        scale_down_disabled: keys::any_true(
            annotations.unwrap_or(&empty),
            &[keys::SCALE_DOWN_DISABLED],
        ),
        idle_since: time(keys::IDLE_SINCE),
        drain_started: time(keys::DRAIN_STARTED),
        drained_at: time(keys::DRAINED_AT),
        instance_not_found_since: time(keys::INSTANCE_NOT_FOUND_SINCE),
    };
    let instance_id = spec
        .provider_id
        .as_deref()
        .and_then(Node::instance_id_from_provider_id);
    Ok(Node {
        matched_by: instance_id.as_ref().map(|_| MatchedBy::ProviderId),
        instance_id,
        provider_id: spec.provider_id,
        addresses: addresses(&status),
        aws_id_label: labels.get(keys::AWS_ID).cloned(),
        labels,
        taints,
        allocatable,
        ready,
        unschedulable: spec.unschedulable.unwrap_or(false),
        created: raw.metadata.creation_timestamp.as_ref().map(|t| t.0),
        ready_changed: ready_condition
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0),
        marks,
        name,
    })
}

/// The names and InternalIP addresses a node reports for itself.
fn addresses(status: &core::NodeStatus) -> NodeAddresses {
    let mut out = NodeAddresses::default();
    for a in status.addresses.iter().flatten() {
        match a.type_.as_str() {
            "Hostname" | "InternalDNS" => out.hostnames.push(a.address.clone()),
            "InternalIP" => out.internal_ips.push(a.address.clone()),
            _ => {}
        }
    }
    out
}

pub fn daemonset(raw: &K8sDaemonSet, interner: &mut PlacementInterner) -> Result<DaemonSet> {
    let namespace = raw.metadata.namespace.clone().unwrap_or_default();
    let name = raw.metadata.name.clone().unwrap_or_default();
    let context = || format!("daemonset {namespace}/{name}");
    let empty = core::PodSpec::default();
    let spec = raw.spec.template.spec.as_ref().unwrap_or(&empty);
    Ok(DaemonSet {
        requests: effective_requests(spec).wrap_err_with(context)?,
        placement: interner.intern(placement(spec).wrap_err_with(context)?),
        namespace,
        name,
    })
}

pub fn pdb(raw: &K8sPdb) -> Result<PodDisruptionBudget> {
    let namespace = raw.metadata.namespace.clone().unwrap_or_default();
    let name = raw.metadata.name.clone().unwrap_or_default();
    let selector = raw
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .map(label_selector)
        .transpose()
        .wrap_err_with(|| format!("poddisruptionbudget {namespace}/{name}: spec.selector"))?
        .unwrap_or_default();
    Ok(PodDisruptionBudget {
        disruptions_allowed: raw
            .status
            .as_ref()
            .and_then(|s| s.disruptions_allowed)
            .unwrap_or(0),
        namespace,
        name,
        selector,
    })
}

/// Labels of a node as a template for its group's next node: the per-node hostname dropped.
pub fn template_labels(node: &Node) -> Labels {
    let mut labels = node.labels.clone();
    labels.remove(HOSTNAME_LABEL);
    labels
}

/// Taints that describe the group rather than this node's moment: not the lifecycle taints
/// Kubernetes and autoscalers put on and take off (`node.kubernetes.io/…`, to-be-deleted, …).
pub fn template_taints(node: &Node) -> Vec<Taint> {
    node.taints
        .iter()
        .filter(|t| {
            !(t.key.starts_with("node.kubernetes.io/")
                || t.key.starts_with("node.cloudprovider.kubernetes.io/")
                || t.key.starts_with("ekas/")
                || t.key == "ToBeDeletedByClusterAutoscaler"
                || t.key == "DeletionCandidateOfClusterAutoscaler")
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> core::PodSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn effective_request_sums_containers_and_takes_largest_init() {
        let s = spec(json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi", "nvidia.com/gpu": "1"}}}
            ],
            "initContainers": [
                {"name": "big", "resources": {"requests": {"cpu": "1", "memory": "12Gi"}}}
            ],
            "overhead": {"cpu": "100m", "memory": "64Mi"}
        }));
        let r = effective_requests(&s).unwrap();
        assert_eq!(r.cpu, 1600, "max(1.5, 1) + 0.1 overhead");
        assert_eq!(
            r.memory,
            (12 << 30) + (64 << 20),
            "init container's 12Gi wins, plus overhead"
        );
        assert_eq!(
            r.get("nvidia.com/gpu"),
            1,
            "limit stands in for a missing request"
        );
        assert_eq!(r.pods, 1);
    }

    #[test]
    fn sidecars_run_alongside_containers_and_later_init_containers() {
        let s = spec(json!({
            "containers": [{"name": "main", "resources": {"requests": {"cpu": "2"}}}],
            "initContainers": [
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "migrate", "resources": {"requests": {"cpu": "2500m"}}}
            ]
        }));
        // running: 2 + 1 (sidecar) = 3; init peak: 2.5 + 1 (sidecar started before) = 3.5
        assert_eq!(effective_requests(&s).unwrap().cpu, 3500);
        let s = spec(json!({
            "containers": [{"name": "main", "resources": {"requests": {"cpu": "2"}}}],
            "initContainers": [
                {"name": "migrate", "resources": {"requests": {"cpu": "2500m"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}
            ]
        }));
        // the sidecar starts after migrate: peak 2.5, running 3.
        assert_eq!(effective_requests(&s).unwrap().cpu, 3000);
    }

    #[test]
    fn pod_level_resources_override_the_container_sum() {
        let s = spec(json!({
            "resources": {"requests": {"cpu": "4"}},
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]
        }));
        let r = effective_requests(&s).unwrap();
        assert_eq!((r.cpu, r.memory), (4000, 1 << 30));
    }

    #[test]
    fn malformed_quantity_names_pod_container_and_field() {
        let raw: core::Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "batch"},
            "spec": {"containers": [{"name": "main", "resources": {"requests": {"cpu": "two"}}}]}
        }))
        .unwrap();
        let err = format!(
            "{:#}",
            pod(&raw, &mut PlacementInterner::default()).unwrap_err()
        );
        assert!(err.contains("pod batch/p"), "{err}");
        assert!(err.contains("container main"), "{err}");
        assert!(err.contains("requests.cpu"), "{err}");
        assert!(err.contains("\"two\""), "{err}");
    }

    #[test]
    fn placement_and_drain_markers() {
        let raw: core::Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ml",
                "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "train", "uid": "u", "controller": true}]},
            "spec": {
                "containers": [{"name": "main"}],
                "nodeSelector": {"pool": "gpu"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {
                    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}
                    ]}},
                    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "x"}}},
                        {"topologyKey": "topology.kubernetes.io/zone", "labelSelector": {"matchLabels": {"app": "x"}}}
                    ]}
                },
                "volumes": [{"name": "scratch", "emptyDir": {}}]
            },
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        let mut interner = PlacementInterner::default();
        let p = pod(&raw, &mut interner).unwrap();
        assert!(p.is_pending());
        assert!(p.do_not_evict);
        assert!(p.local_storage);
        assert_eq!(p.controller.as_ref().unwrap().kind, "Job");
        assert_eq!(p.placement.node_selector["pool"], "gpu");
        assert_eq!(p.placement.node_affinity.len(), 1);
        assert_eq!(p.placement.tolerations.len(), 1);
        assert_eq!(p.placement.anti_affinity.len(), 1, "only hostname terms");
        let again = pod(&raw, &mut interner).unwrap();
        assert!(
            Arc::ptr_eq(&p.placement, &again.placement),
            "placements are shared"
        );
    }

    #[test]
    fn batch_markers_gates_and_volumes() {
        let parse = |v: serde_json::Value| {
            let raw: core::Pod = serde_json::from_value(v).unwrap();
            pod(&raw, &mut PlacementInterner::default()).unwrap()
        };
        let job = |spec: serde_json::Value, annotations: serde_json::Value| {
            parse(json!({
                "metadata": {"name": "p", "namespace": "ml", "annotations": annotations,
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j",
                        "uid": "u", "controller": true}]},
                "spec": spec,
                "status": {"phase": "Pending"}
            }))
        };
        let plain = job(json!({"containers": []}), json!({}));
        assert!(plain.runs_to_completion, "a Job's pod");
        assert!(!plain.gated && !plain.do_not_evict && !plain.local_storage && !plain.host_path);
        let gated = job(
            json!({"containers": [], "schedulingGates": [{"name": "kueue.x-k8s.io/admission"}]}),
            json!({}),
        );
        assert!(gated.gated && !gated.is_pending() && gated.is_gated());
        let host = job(
            json!({"containers": [], "volumes": [{"name": "h", "hostPath": {"path": "/data"}}]}),
            json!({}),
        );
        assert!(host.host_path && !host.local_storage);
        for (key, value) in [
            ("karpenter.sh/do-not-disrupt", "true"),
            ("ekas/do-not-drain", "TRUE"),
            ("openai/do-not-drain", "1"),
            ("cluster-autoscaler.kubernetes.io/safe-to-evict", "False"),
        ] {
            let p = job(json!({"containers": []}), json!({key: value}));
            assert!(p.do_not_evict, "{key}={value}");
        }
        let p = job(
            json!({"containers": []}),
            json!({"ekas/do-not-drain": "yes"}),
        );
        assert!(!p.do_not_evict, "only true or 1 counts");
        let replica = parse(json!({
            "metadata": {"name": "web", "namespace": "ml",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web", "uid": "u", "controller": true}]},
            "spec": {"containers": []}
        }));
        assert!(!replica.runs_to_completion);
        let bare = parse(json!({
            "metadata": {"name": "once", "namespace": "ml"},
            "spec": {"containers": [], "restartPolicy": "OnFailure"}
        }));
        assert!(bare.runs_to_completion);
    }

    #[test]
    fn node_marks_names_and_the_original_tools_labels() {
        let raw: core::Node = serde_json::from_value(json!({
            "metadata": {"name": "ip-10-0-0-1",
                "labels": {"openai/detached": "True", "openai/cordoned-by-autoscaler": "1",
                    "aws/id": "i-0abc", "aws/az": "us-west-2a"},
                "annotations": {
                    "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true",
                    "ekas/drained-at": "2026-11-27T11:00:00Z",
                    "ekas/instance-not-found-since": "2026-11-27T11:50:00Z"}},
            "spec": {},
            "status": {"addresses": [
                {"type": "InternalIP", "address": "10.0.0.1"},
                {"type": "Hostname", "address": "ip-10-0-0-1"},
                {"type": "InternalDNS", "address": "ip-10-0-0-1.us-west-2.compute.internal"},
                {"type": "ExternalIP", "address": "54.0.0.1"}]}
        }))
        .unwrap();
        let n = node(&raw).unwrap();
        assert_eq!((n.instance_id, n.matched_by), (None, None), "no providerID");
        assert_eq!(n.aws_id_label.as_deref(), Some("i-0abc"));
        assert_eq!(n.addresses.internal_ips, ["10.0.0.1"]);
        assert_eq!(
            n.addresses.hostnames,
            ["ip-10-0-0-1", "ip-10-0-0-1.us-west-2.compute.internal"]
        );
        assert!(n.marks.detached && n.marks.cordoned_by_ekas && n.marks.scale_down_disabled);
        assert!(n.marks.drained_at.is_some() && n.marks.instance_not_found_since.is_some());
    }

    #[test]
    fn bad_operator_is_an_error() {
        let s = spec(json!({
            "containers": [],
            "tolerations": [{"key": "a", "operator": "Maybe"}]
        }));
        let err = format!("{:#}", placement(&s).unwrap_err());
        assert!(
            err.contains("spec.tolerations") && err.contains("Maybe"),
            "{err}"
        );
    }
}

//! Kubernetes objects (k8s-openapi types, and ekas's slim pods) → model summaries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::policy::v1::PodDisruptionBudget as K8sPdb;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::volumes::Storage;
use crate::document::PodGroup;
use crate::document::pod as doc;
use crate::model::keys;
use crate::model::resources::{EBS_ATTACHMENTS, PODS, Resources, UNLIMITED};
use crate::model::scheduling::{
    ALL_ADDRESSES, HOSTNAME_LABEL, HostPort, InclusionPolicy, LabelSelector, Labels,
    NamespaceScope, NodeSelectorTerm, Operator, Placement, PodAffinityTerm, Requirement,
    SpreadConstraint, Taint, TaintEffect, Toleration, TolerationOperator, VolumePlacement,
    ZONE_LABELS,
};
use crate::model::{
    DaemonSet, Gang, InterruptionMark, MatchedBy, Node, NodeAddresses, NodeMarks, Owner, Pod,
    PodDisruptionBudget, PodPhase, SchedulingState,
};

/// Namespace name → labels: what namespace selectors in affinity terms are matched against.
pub type Namespaces = BTreeMap<String, Labels>;

/// Builds pods' placements: resolves what they refer to (namespaces for namespace selectors,
/// claims for volumes, PodGroups for gangs) and gives pods with identical placement one shared
/// `Arc`, so a 100k-pod queue made of a few job templates holds a few placements, and equal
/// placements compare by pointer first. Pods' labels are shared the same way.
#[derive(Default)]
pub struct Placements<'a> {
    interned: HashMap<Placement, Arc<Placement>>,
    labels: HashSet<Arc<Labels>>,
    namespaces: Namespaces,
    /// `None` when the snapshot has no storage parts: volumes then limit nothing.
    storage: Option<Storage<'a>>,
    pod_groups: PodGroups,
}

impl<'a> Placements<'a> {
    pub fn new(namespaces: Namespaces, storage: Option<Storage<'a>>) -> Placements<'a> {
        Placements {
            interned: HashMap::new(),
            labels: HashSet::new(),
            namespaces,
            storage,
            pod_groups: PodGroups::new(),
        }
    }

    /// The PodGroups gangs take their minMember from.
    pub fn with_pod_groups(mut self, pod_groups: PodGroups) -> Placements<'a> {
        self.pod_groups = pod_groups;
        self
    }

    fn intern(&mut self, placement: Placement) -> Arc<Placement> {
        self.interned
            .entry(placement)
            .or_insert_with_key(|p| Arc::new(p.clone()))
            .clone()
    }

    fn intern_labels(&mut self, labels: Labels) -> Arc<Labels> {
        if let Some(shared) = self.labels.get(&labels) {
            return shared.clone();
        }
        let shared = Arc::new(labels);
        self.labels.insert(shared.clone());
        shared
    }

    /// The gang of the PodGroup `api`/`namespace`/`name`. A Kubernetes PodGroup of the basic
    /// policy is no gang; one not read is taken as a gang of all its pods, as a PodGroup of the
    /// other APIs is.
    pub fn gang(&self, api: GangApi, namespace: &str, name: &str) -> Option<Gang> {
        let key = (api, namespace.to_string(), name.to_string());
        let min_member = match self.pod_groups.get(&key) {
            Some(GroupPolicy::Basic) => return None,
            Some(GroupPolicy::Gang(min)) => Some(*min),
            None => None,
        };
        Some(Gang {
            namespace: namespace.to_string(),
            name: name.to_string(),
            min_member,
            from_request: false,
        })
    }

    /// How many label sets are shared.
    #[cfg(test)]
    pub fn label_sets(&self) -> usize {
        self.labels.len()
    }

    /// Drops the placements and label sets no pod holds any more: a long-lived interner (the
    /// loop's) would otherwise keep every one it ever saw.
    pub fn forget_unused(&mut self) {
        self.interned.retain(|_, p| Arc::strong_count(p) > 1);
        self.labels.retain(|l| Arc::strong_count(l) > 1);
    }
}

/// The API whose PodGroup names a gang: a coscheduling PodGroup and a Volcano one of the same
/// name are different gangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GangApi {
    Coscheduling,
    Volcano,
    /// Kubernetes' own PodGroup (Workload API), named by a pod's `spec.schedulingGroup`.
    Kubernetes,
}

/// How a PodGroup has its pods scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupPolicy {
    /// At least this many at once, or none.
    Gang(u32),
    /// Each pod on its own (Kubernetes' `basic` policy): not a gang.
    Basic,
}

/// Every PodGroup the snapshot has, by API, namespace and name.
pub type PodGroups = HashMap<(GangApi, String, String), GroupPolicy>;

pub fn pod_groups(items: &[PodGroup]) -> PodGroups {
    items
        .iter()
        .filter_map(|g| {
            let api = match g.api_version.split('/').next() {
                Some("scheduling.x-k8s.io") => GangApi::Coscheduling,
                Some("scheduling.volcano.sh") => GangApi::Volcano,
                Some("scheduling.k8s.io") => GangApi::Kubernetes,
                _ => return None,
            };
            let namespace = g
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            let min = match (api, &g.spec.scheduling_policy) {
                (GangApi::Kubernetes, Some(policy)) => match &policy.gang {
                    Some(gang) => gang.min_count,
                    None => {
                        return Some((
                            (api, namespace, g.metadata.name.clone()?),
                            GroupPolicy::Basic,
                        ));
                    }
                },
                (GangApi::Kubernetes, None) => return None,
                _ => g.spec.min_member?,
            };
            let policy = GroupPolicy::Gang(u32::try_from(min).ok()?);
            Some(((api, namespace, g.metadata.name.clone()?), policy))
        })
        .collect()
}

/// The PodGroup a pod names, by API: Kubernetes' `spec.schedulingGroup`, else the
/// coscheduling label, else Volcano's annotation.
fn gang_name<'p>(
    spec: &'p doc::PodSpec,
    labels: &'p Labels,
    annotations: Option<&'p BTreeMap<String, String>>,
) -> Option<(GangApi, &'p str)> {
    spec.scheduling_group
        .as_ref()
        .and_then(|g| g.pod_group_name.as_deref())
        .map(|name| (GangApi::Kubernetes, name))
        .or_else(|| {
            labels
                .get(keys::POD_GROUP)
                .map(|name| (GangApi::Coscheduling, name.as_str()))
        })
        .or_else(|| {
            let name = annotations?.get(keys::VOLCANO_GROUP)?;
            Some((GangApi::Volcano, name.as_str()))
        })
        .filter(|(_, name)| !name.is_empty())
}

/// Whether a pod's model depends on objects other than the pod, apart from its PodGroup: the
/// claims of its volumes (and whether storage is read at all), or the namespaces a
/// namespaceSelector of a pod (anti-)affinity term picks. Pods that do not can be built once,
/// on their own.
pub fn refers_elsewhere(spec: &doc::PodSpec) -> bool {
    let volumes = spec.volumes.iter().flatten().any(|v| {
        v.persistent_volume_claim.is_some()
            || v.ephemeral.is_some()
            || v.aws_elastic_block_store.is_some()
    });
    let affinity = spec.affinity.as_ref();
    let required = [
        affinity
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            }),
        affinity
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            }),
    ];
    let selects_namespaces = required
        .into_iter()
        .flatten()
        .flatten()
        .any(|t| t.namespace_selector.is_some());
    volumes || selects_namespaces
}

/// The API of the PodGroup a pod names, if any (see [`Placements::gang`]).
pub fn gang_api(raw: &doc::Pod) -> Option<GangApi> {
    let empty = doc::PodSpec::default();
    let spec = raw.spec.as_ref().unwrap_or(&empty);
    let no_labels = Labels::new();
    let labels = raw.metadata.labels.as_ref().unwrap_or(&no_labels);
    gang_name(spec, labels, raw.metadata.annotations.as_ref()).map(|(api, _)| api)
}

pub fn pod(raw: &doc::Pod, placements: &mut Placements<'_>) -> Result<Pod> {
    let meta = &raw.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta
        .name
        .clone()
        .ok_or_else(|| eyre!("a pod in namespace {namespace} has no metadata.name"))?;
    let context = || format!("pod {namespace}/{name}");
    let empty = doc::PodSpec::default();
    let spec = raw.spec.as_ref().unwrap_or(&empty);
    let mut requests = effective_requests(spec).wrap_err_with(context)?;
    let labels = meta.labels.clone().unwrap_or_default();
    let mut placement =
        placement(spec, &namespace, &labels, &placements.namespaces).wrap_err_with(context)?;
    if let Some(storage) = &placements.storage {
        let volumes = storage.resolve(&namespace, &name, spec);
        if volumes.ebs_attachments > 0 {
            requests.set(EBS_ATTACHMENTS, volumes.ebs_attachments);
        }
        placement.volumes = volumes.placement;
    }
    let placement = placements.intern(placement);
    let annotations = meta.annotations.as_ref();
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(String::as_str);
    let controller = controller(meta);
    let gang = gang_name(spec, &labels, annotations)
        .and_then(|(api, name)| placements.gang(api, &namespace, name));
    Ok(Pod {
        gang,
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        phase: PodPhase::parse(raw.status.as_ref().and_then(|s| s.phase.as_deref())),
        deleting: meta.deletion_timestamp.is_some(),
        requests,
        do_not_evict: do_not_evict(&labels, annotations),
        labels: placements.intern_labels(labels),
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
        scheduling: scheduling_state(spec, raw.status.as_ref()),
        unreadable: false,
        uid: meta.uid.clone(),
        consumes: consumes(annotations),
        requested_by: None,
        namespace,
        name,
    })
}

/// A pod whose spec could not be read, kept for what it tells about its node: it occupies
/// the node entirely (its requests are unknown), is never evicted and never scaled for.
/// `None` when not even its name is there.
pub fn unreadable_pod(raw: &doc::Pod, placements: &mut Placements<'_>) -> Option<Pod> {
    let meta = &raw.metadata;
    let empty = doc::PodSpec::default();
    let spec = raw.spec.as_ref().unwrap_or(&empty);
    let controller = controller(meta);
    let annotations = meta.annotations.as_ref();
    Some(Pod {
        namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name: meta.name.clone()?,
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        phase: PodPhase::parse(raw.status.as_ref().and_then(|s| s.phase.as_deref())),
        deleting: meta.deletion_timestamp.is_some(),
        requests: Resources::cpu_millis(UNLIMITED),
        labels: placements.intern_labels(meta.labels.clone().unwrap_or_default()),
        placement: placements.intern(Placement::default()),
        runs_to_completion: runs_to_completion(spec, controller.as_ref()),
        controller,
        mirror: annotations.is_some_and(|a| a.contains_key(keys::MIRROR)),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
        do_not_evict: true,
        local_storage: false,
        host_path: false,
        gated: false,
        scheduling: SchedulingState::default(),
        unreadable: true,
        uid: meta.uid.clone(),
        gang: None,
        consumes: None,
        requested_by: None,
    })
}

/// The ProvisioningRequest a pod says it uses the capacity of.
fn consumes(annotations: Option<&BTreeMap<String, String>>) -> Option<String> {
    let annotations = annotations?;
    keys::CONSUME_PROVISIONING_REQUEST
        .iter()
        .find_map(|key| annotations.get(*key))
        .filter(|name| !name.is_empty())
        .cloned()
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
fn runs_to_completion(spec: &doc::PodSpec, controller: Option<&Owner>) -> bool {
    controller.is_some_and(|o| o.kind == "Job")
        || matches!(spec.restart_policy.as_deref(), Some("Never" | "OnFailure"))
}

fn scheduling_state(spec: &doc::PodSpec, status: Option<&doc::PodStatus>) -> SchedulingState {
    SchedulingState {
        priority: spec.priority.unwrap_or(0),
        nominated_node: status
            .and_then(|s| s.nominated_node_name.clone())
            .filter(|n| !n.is_empty()),
        unschedulable: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            }),
    }
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

/// A node's map of quantities or a pod's list of pairs, as resources.
fn quantities<'a>(
    map: Option<impl IntoIterator<Item = (&'a String, &'a K8sQuantity)>>,
    field: &str,
) -> Result<Resources> {
    let Some(map) = map else {
        return Ok(Resources::default());
    };
    Resources::from_quantities(map.into_iter().map(|(k, v)| (k.as_str(), v.0.as_str())))
        .map_err(|e| eyre!("{field}.{e}"))
}

/// A container's request: `requests`, with `limits` standing in for any resource that has a
/// limit and no request (as the API server defaults it).
fn container_requests(container: &doc::Container, kind: &str) -> Result<Resources> {
    let context = || format!("{kind} {}", container.name);
    let Some(res) = &container.resources else {
        return Ok(Resources::default());
    };
    let mut requests = quantities(res.requests.as_ref().map(doc::Pairs::iter), "requests")
        .wrap_err_with(context)?;
    let limits =
        quantities(res.limits.as_ref().map(doc::Pairs::iter), "limits").wrap_err_with(context)?;
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
pub fn effective_requests(spec: &doc::PodSpec) -> Result<Resources> {
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
        let pod_level = quantities(
            pod_level.requests.as_ref().map(doc::Pairs::iter),
            "spec.resources.requests",
        )?;
        for (name, amount) in pod_level.iter() {
            running.set(name, amount);
        }
    }
    running.add(&quantities(
        spec.overhead.as_ref().map(doc::Pairs::iter),
        "overhead",
    )?);
    running.set(PODS, 1);
    Ok(running)
}

/// Everything in a pod spec that limits where it runs, apart from resources and volumes.
/// `namespace` and `labels` are the pod's: a term without namespaces means the pod's own, and
/// matchLabelKeys take the pod's values.
pub fn placement(
    spec: &doc::PodSpec,
    namespace: &str,
    labels: &Labels,
    namespaces: &Namespaces,
) -> Result<Placement> {
    let node_affinity = required_node_affinity(spec).wrap_err("spec.affinity.nodeAffinity")?;
    let tolerations = spec
        .tolerations
        .iter()
        .flatten()
        .map(toleration)
        .collect::<Result<Vec<_>>>()
        .wrap_err("spec.tolerations")?;
    let (pod_affinity, anti_affinity) = required_pod_affinity(spec, namespace, labels, namespaces)?;
    let spread = spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
        .map(|c| spread_constraint(c, labels))
        .collect::<Result<Vec<_>>>()
        .wrap_err("spec.topologySpreadConstraints")?;
    Ok(Placement {
        node_selector: spec
            .node_selector
            .iter()
            .flat_map(doc::Pairs::iter)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        node_affinity,
        tolerations,
        pod_affinity,
        anti_affinity,
        spread,
        host_ports: host_ports(spec)?,
        volumes: VolumePlacement::default(),
    })
}

/// The pod's required node affinity terms (none without any).
fn required_node_affinity(spec: &doc::PodSpec) -> Result<Vec<NodeSelectorTerm>> {
    let terms = spec
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
        .transpose()?;
    Ok(terms.unwrap_or_default())
}

/// The pod's required pod affinity and anti-affinity terms, in that order; an anti-affinity
/// term that selects no pod keeps no pod away, and is dropped.
fn required_pod_affinity(
    spec: &doc::PodSpec,
    namespace: &str,
    labels: &Labels,
    namespaces: &Namespaces,
) -> Result<(Vec<PodAffinityTerm>, Vec<PodAffinityTerm>)> {
    let affinity = spec.affinity.as_ref();
    let terms = |required: Option<&Vec<core::PodAffinityTerm>>| {
        required
            .into_iter()
            .flatten()
            .map(|t| pod_affinity_term(t, namespace, labels, namespaces))
            .collect::<Result<Vec<_>>>()
    };
    let pod_affinity = terms(
        affinity
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|pa| {
                pa.required_during_scheduling_ignored_during_execution
                    .as_ref()
            }),
    )
    .wrap_err("spec.affinity.podAffinity")?;
    let mut anti_affinity = terms(
        affinity
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|pa| {
                pa.required_during_scheduling_ignored_during_execution
                    .as_ref()
            }),
    )
    .wrap_err("spec.affinity.podAntiAffinity")?;
    anti_affinity.retain(|t| t.selector.is_some());
    Ok((pod_affinity, anti_affinity))
}

/// A label selector with the pod's own values for `match_keys` (`key in (value)`) and
/// `mismatch_keys` (`key notin (value)`) added, as the API server merges matchLabelKeys and
/// mismatchLabelKeys; keys the pod lacks add nothing, and no selector stays no selector.
fn merged_selector(
    selector: Option<&meta::LabelSelector>,
    labels: &Labels,
    match_keys: Option<&Vec<String>>,
    mismatch_keys: Option<&Vec<String>>,
) -> Result<Option<LabelSelector>> {
    let Some(selector) = selector else {
        return Ok(None);
    };
    let mut selector = label_selector(selector)?;
    for (keys, operator) in [(match_keys, Operator::In), (mismatch_keys, Operator::NotIn)] {
        for key in keys.into_iter().flatten() {
            if let Some(value) = labels.get(key) {
                selector.expressions.push(Requirement {
                    key: key.clone(),
                    operator,
                    values: vec![value.clone()],
                });
            }
        }
    }
    Ok(Some(selector))
}

fn pod_affinity_term(
    term: &core::PodAffinityTerm,
    namespace: &str,
    labels: &Labels,
    namespaces: &Namespaces,
) -> Result<PodAffinityTerm> {
    let selector = merged_selector(
        term.label_selector.as_ref(),
        labels,
        term.match_label_keys.as_ref(),
        term.mismatch_label_keys.as_ref(),
    )?;
    let listed = term.namespaces.clone().unwrap_or_default();
    let scope = match term.namespace_selector.as_ref() {
        None if listed.is_empty() => NamespaceScope {
            names: vec![namespace.to_string()],
            all: false,
        },
        None => NamespaceScope {
            names: listed,
            all: false,
        },
        Some(ns_selector) => {
            let ns_selector = label_selector(ns_selector).wrap_err_with(|| {
                format!("topologyKey {}: namespaceSelector", term.topology_key)
            })?;
            let mut names = listed;
            if !ns_selector.is_empty() {
                names.extend(
                    namespaces
                        .iter()
                        .filter(|(_, l)| ns_selector.matches(l))
                        .map(|(n, _)| n.clone()),
                );
            }
            names.sort();
            names.dedup();
            NamespaceScope {
                names,
                all: ns_selector.is_empty(),
            }
        }
    };
    Ok(PodAffinityTerm {
        selector,
        namespaces: scope,
        topology_key: term.topology_key.clone(),
    })
}

fn spread_constraint(
    c: &core::TopologySpreadConstraint,
    labels: &Labels,
) -> Result<SpreadConstraint> {
    let context = || format!("topologyKey {}", c.topology_key);
    let policy = |value: Option<&String>, default, field: &str| match value.map(String::as_str) {
        None | Some("") => Ok(default),
        Some("Honor") => Ok(InclusionPolicy::Honor),
        Some("Ignore") => Ok(InclusionPolicy::Ignore),
        Some(other) => Err(eyre!("{field} {other:?} is neither Honor nor Ignore")),
    };
    let max_skew = u32::try_from(c.max_skew)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| eyre!("maxSkew {} is not positive", c.max_skew))
        .wrap_err_with(context)?;
    let min_domains = match c.min_domains {
        None => 1,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| eyre!("minDomains {n} is not positive"))
            .wrap_err_with(context)?,
    };
    Ok(SpreadConstraint {
        max_skew,
        topology_key: c.topology_key.clone(),
        selector: merged_selector(
            c.label_selector.as_ref(),
            labels,
            c.match_label_keys.as_ref(),
            None,
        )
        .wrap_err_with(context)?,
        min_domains,
        node_affinity_policy: policy(
            c.node_affinity_policy.as_ref(),
            InclusionPolicy::Honor,
            "nodeAffinityPolicy",
        )
        .wrap_err_with(context)?,
        node_taints_policy: policy(
            c.node_taints_policy.as_ref(),
            InclusionPolicy::Ignore,
            "nodeTaintsPolicy",
        )
        .wrap_err_with(context)?,
    })
}

/// The ports a pod takes on its node: `hostPort`s of its containers and of the init containers
/// that keep running (sidecars). With `hostNetwork` every container port is a host port.
fn host_ports(spec: &doc::PodSpec) -> Result<Vec<HostPort>> {
    let host_network = spec.host_network == Some(true);
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    let mut ports = Vec::new();
    for container in spec.containers.iter().chain(sidecars) {
        for p in container.ports.iter().flatten() {
            let port = match p.host_port {
                Some(port) if port > 0 => port,
                None if host_network => p.container_port,
                _ => continue,
            };
            let port = u16::try_from(port).map_err(|_| {
                eyre!(
                    "container {}: host port {port} is not between 1 and 65535",
                    container.name
                )
            })?;
            ports.push(HostPort {
                port,
                protocol: p
                    .protocol
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "TCP".into()),
                ip: p
                    .host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| ALL_ADDRESSES.into()),
            });
        }
    }
    ports.sort();
    ports.dedup();
    Ok(ports)
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

pub(super) fn node_selector_term(term: &core::NodeSelectorTerm) -> Result<NodeSelectorTerm> {
    let convert = |reqs: Option<&Vec<core::NodeSelectorRequirement>>| {
        reqs.into_iter()
            .flatten()
            .map(|r| requirement(&r.key, &r.operator, r.values.as_ref()))
            .collect::<Result<Vec<_>>>()
    };
    let mut expressions = convert(term.match_expressions.as_ref())?;
    // The scheduler cannot read an expression that breaks the label rules, and its term then
    // selects no node: `key in ()` says the same.
    if let Some(bad) = expressions.iter().find(|r| !readable(r)) {
        expressions = vec![Requirement {
            key: bad.key.clone(),
            operator: Operator::In,
            values: vec![],
        }];
    }
    Ok(NodeSelectorTerm {
        expressions,
        fields: convert(term.match_fields.as_ref())?,
    })
}

/// Whether a node selector expression is one Kubernetes can turn into a label selector: In and
/// NotIn need valid label values, Exists and DoesNotExist none, Gt and Lt one integer.
fn readable(r: &Requirement) -> bool {
    match r.operator {
        Operator::In | Operator::NotIn => {
            !r.values.is_empty() && r.values.iter().all(|v| valid_label_value(v))
        }
        Operator::Exists | Operator::DoesNotExist => r.values.is_empty(),
        Operator::Gt | Operator::Lt => {
            matches!(r.values.as_slice(), [v] if v.parse::<i64>().is_ok())
        }
    }
}

/// At most 63 characters, alphanumerics with `-`, `_`, `.` inside.
fn valid_label_value(v: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge(v.chars().next())
        && edge(v.chars().last())
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
        Some("Gt" | "Lt") => TolerationOperator::Compare,
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
    let basics = node_basics(raw, name);
    let marks = node_marks(
        &basics.name,
        &basics.labels,
        raw.metadata.annotations.as_ref(),
        &spec,
    );
    Ok(Node {
        taints,
        allocatable,
        ready_changed: ready_condition(&status)
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0),
        marks,
        ..basics
    })
}

/// What a Node tells even when its room or taints cannot be read: its name, instance and
/// addresses, labels, readiness, cordon and age. No room, no taints, no marks.
fn node_basics(raw: &core::Node, name: String) -> Node {
    let spec = raw.spec.as_ref();
    let status = raw.status.as_ref();
    let provider_id = spec.and_then(|s| s.provider_id.clone());
    let instance_id = provider_id
        .as_deref()
        .and_then(Node::instance_id_from_provider_id);
    let labels = raw.metadata.labels.clone().unwrap_or_default();
    Node {
        matched_by: instance_id.as_ref().map(|_| MatchedBy::ProviderId),
        instance_id,
        provider_id,
        addresses: status.map(addresses).unwrap_or_default(),
        aws_id_label: labels.get(keys::AWS_ID).cloned(),
        labels,
        taints: Vec::new(),
        allocatable: Resources::default(),
        ready: status
            .and_then(ready_condition)
            .is_some_and(|c| c.status == "True"),
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        created: raw.metadata.creation_timestamp.as_ref().map(|t| t.0),
        ready_changed: None,
        marks: NodeMarks::default(),
        unreadable: false,
        name,
    }
}

fn ready_condition(status: &core::NodeStatus) -> Option<&core::NodeCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
}

/// What ekas (and the operator) recorded on a Node (`name`), from its labels, annotations
/// and taints. A mangled time counts as absent (with a warning).
fn node_marks(
    name: &str,
    labels: &Labels,
    annotations: Option<&BTreeMap<String, String>>,
    spec: &core::NodeSpec,
) -> NodeMarks {
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
    NodeMarks {
        cordoned_by_ekas: keys::cordoned_by_ekas(labels),
        detached: keys::any_true(labels, &keys::DETACHED),
        scale_down_disabled: keys::any_true(
            annotations.unwrap_or(&empty),
            &[keys::SCALE_DOWN_DISABLED],
        ),
        idle_since: time(keys::IDLE_SINCE),
        drain_started: time(keys::DRAIN_STARTED),
        drained_at: time(keys::DRAINED_AT),
        instance_not_found_since: time(keys::INSTANCE_NOT_FOUND_SINCE),
        // A mark whose kind or received time cannot be read is no mark: the cordon stays
        // whatever it is, and the plan's nodes say so.
        interruption: annotations
            .and_then(|a| a.get(keys::INTERRUPTION))
            .zip(time(keys::INTERRUPTION_NOTICED))
            .map(|(kind, noticed)| InterruptionMark {
                kind: kind.clone(),
                due: time(keys::INTERRUPTION_DUE),
                noticed,
            }),
        // Either half of the mark counts: a pass undoes or completes a half-written one.
        consolidating: annotations.is_some_and(|a| a.contains_key(keys::CONSOLIDATING))
            || spec
                .taints
                .iter()
                .flatten()
                .any(|t| t.key == keys::CONSOLIDATING),
        consolidating_since: time(keys::CONSOLIDATING),
    }
}

/// A Node whose allocatable or taints could not be read: it offers no room, is no template,
/// and maintenance leaves it alone; it still claims its instance, so the instance is not taken
/// for one that never joined. `None` when not even its name is there.
pub fn unreadable_node(raw: &core::Node) -> Option<Node> {
    let name = raw.metadata.name.clone()?;
    Some(Node {
        unreadable: true,
        ..node_basics(raw, name)
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

pub fn daemonset(raw: &K8sDaemonSet, placements: &mut Placements<'_>) -> Result<DaemonSet> {
    let namespace = raw.metadata.namespace.clone().unwrap_or_default();
    let name = raw.metadata.name.clone().unwrap_or_default();
    let context = || format!("daemonset {namespace}/{name}");
    let spec = match raw.spec.template.spec.as_ref() {
        Some(spec) => doc::PodSpec::from_full(spec)
            .map_err(|e| eyre!("{e}"))
            .wrap_err_with(|| format!("{}: spec.template.spec", context()))?,
        None => doc::PodSpec::default(),
    };
    let spec = &spec;
    let labels = raw
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let placement =
        placement(spec, &namespace, &labels, &placements.namespaces).wrap_err_with(context)?;
    Ok(DaemonSet {
        requests: effective_requests(spec).wrap_err_with(context)?,
        placement: placements.intern(placement),
        namespace,
        name,
    })
}

/// A budget whose selector could not be read: it covers every pod of its namespace and allows
/// no disruption, so no eviction is planned there until it is fixed.
pub fn unreadable_pdb(raw: &K8sPdb) -> PodDisruptionBudget {
    PodDisruptionBudget {
        namespace: raw.metadata.namespace.clone().unwrap_or_default(),
        name: raw.metadata.name.clone().unwrap_or_default(),
        selector: LabelSelector::default(),
        disruptions_allowed: 0,
    }
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

/// Labels of a node as a template for its group's next node: the per-node hostname dropped,
/// and when the group spans several zones, the zone (the next node may be in another).
pub fn template_labels(node: &Node, group_zones: &[String]) -> Labels {
    let mut labels = node.labels.clone();
    labels.remove(HOSTNAME_LABEL);
    if group_zones.len() > 1 {
        for key in ZONE_LABELS.iter().chain(&[ZONE_ID_LABEL]) {
            labels.remove(*key);
        }
    }
    labels
}

/// The zone id of a node (`usw2-az1`): per zone, so not known for a multi-zone group's next node.
const ZONE_ID_LABEL: &str = "topology.k8s.aws/zone-id";

/// Taints that describe the group rather than this node's moment: not the lifecycle taints
/// Kubernetes and autoscalers put on and take off (`node.kubernetes.io/…`, to-be-deleted, …).
pub fn template_taints(node: &Node) -> Vec<Taint> {
    node.taints
        .iter()
        .filter(|t| {
            !(t.key.starts_with("node.kubernetes.io/")
                || t.key.starts_with("node.cloudprovider.kubernetes.io/")
                || t.key.starts_with("ekas/")
                || t.key.starts_with("ekas.dev/")
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

    fn spec(v: serde_json::Value) -> doc::PodSpec {
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
        let raw: doc::Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "batch"},
            "spec": {"containers": [{"name": "main", "resources": {"requests": {"cpu": "two"}}}]}
        }))
        .unwrap();
        let err = format!("{:#}", pod(&raw, &mut Placements::default()).unwrap_err());
        assert!(err.contains("pod batch/p"), "{err}");
        assert!(err.contains("container main"), "{err}");
        assert!(err.contains("requests.cpu"), "{err}");
        assert!(err.contains("\"two\""), "{err}");
    }

    #[test]
    fn placement_and_drain_markers() {
        let raw: doc::Pod = serde_json::from_value(json!({
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
        let mut placements = Placements::default();
        let p = pod(&raw, &mut placements).unwrap();
        assert!(p.is_pending());
        assert!(p.do_not_evict);
        assert!(p.local_storage);
        assert_eq!(p.controller.as_ref().unwrap().kind, "Job");
        assert_eq!(p.placement.node_selector["pool"], "gpu");
        assert_eq!(p.placement.node_affinity.len(), 1);
        assert_eq!(p.placement.tolerations.len(), 1);
        assert_eq!(
            p.placement.anti_affinity.len(),
            2,
            "terms on every topology key"
        );
        assert_eq!(
            p.placement.anti_affinity[1].topology_key,
            "topology.kubernetes.io/zone"
        );
        assert_eq!(p.placement.anti_affinity[0].namespaces.names, ["ml"]);
        let again = pod(&raw, &mut placements).unwrap();
        assert!(
            Arc::ptr_eq(&p.placement, &again.placement),
            "placements are shared"
        );
    }

    fn parse(v: serde_json::Value) -> Pod {
        let raw: doc::Pod = serde_json::from_value(v).unwrap();
        pod(&raw, &mut Placements::default()).unwrap()
    }

    /// A pending pod of Job `j`.
    fn job(spec: serde_json::Value, annotations: serde_json::Value) -> Pod {
        parse(json!({
            "metadata": {"name": "p", "namespace": "ml", "annotations": annotations,
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j",
                    "uid": "u", "controller": true}]},
            "spec": spec,
            "status": {"phase": "Pending"}
        }))
    }

    cases! { is_not_evicted;
        karpenters_do_not_disrupt: (("karpenter.sh/do-not-disrupt", "true"), true),
        ekas_do_not_drain_in_capitals: (("ekas/do-not-drain", "TRUE"), true),
        the_original_tools_do_not_drain_as_one: (("openai/do-not-drain", "1"), true),
        cluster_autoscalers_not_safe_to_evict: (
            ("cluster-autoscaler.kubernetes.io/safe-to-evict", "False"),
            true,
        ),
        // Only true or 1 counts.
        do_not_drain_yes_is_evicted: (("ekas/do-not-drain", "yes"), false),
    }

    /// A Job's pod annotated `key: value` → not to be evicted.
    fn is_not_evicted(((key, value), want): ((&str, &str), bool)) {
        let p = job(json!({"containers": []}), json!({key: value}));
        assert_eq!(p.do_not_evict, want, "{key}={value}");
    }

    #[test]
    fn batch_markers_gates_and_volumes() {
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
    fn gangs_are_named_by_either_api_and_take_minmember_from_their_podgroup() {
        let groups: Vec<PodGroup> = serde_json::from_value(json!([
            {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
                "metadata": {"name": "train", "namespace": "ml"}, "spec": {"minMember": 6}},
            {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup",
                "metadata": {"name": "sweep", "namespace": "ml"}, "spec": {"minMember": 3}},
            {"apiVersion": "example.com/v1", "kind": "PodGroup",
                "metadata": {"name": "other", "namespace": "ml"}, "spec": {"minMember": 9}}
        ]))
        .unwrap();
        let mut placements = Placements::default().with_pod_groups(pod_groups(&groups));
        let mut gang = |labels: serde_json::Value, annotations: serde_json::Value| {
            let raw: doc::Pod = serde_json::from_value(json!({
                "metadata": {"name": "p", "namespace": "ml", "labels": labels,
                    "annotations": annotations},
                "spec": {"containers": []}
            }))
            .unwrap();
            pod(&raw, &mut placements)
                .unwrap()
                .gang
                .map(|g| (g.key(), g.min_member))
        };
        let coscheduled = gang(json!({"scheduling.x-k8s.io/pod-group": "train"}), json!({}));
        assert_eq!(coscheduled, Some(("ml/train".into(), Some(6))));
        let volcano = gang(json!({}), json!({"scheduling.k8s.io/group-name": "sweep"}));
        assert_eq!(volcano, Some(("ml/sweep".into(), Some(3))));
        let wrong_api = gang(json!({}), json!({"scheduling.k8s.io/group-name": "train"}));
        assert_eq!(
            wrong_api,
            Some(("ml/train".into(), None)),
            "Volcano's train is not the coscheduling train: no PodGroup, all its pods"
        );
        assert_eq!(gang(json!({}), json!({})), None);
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
        let err = format!(
            "{:#}",
            placement(&s, "ns", &Labels::new(), &Namespaces::new()).unwrap_err()
        );
        assert!(
            err.contains("spec.tolerations") && err.contains("Maybe"),
            "{err}"
        );
    }

    fn built(v: serde_json::Value) -> Pod {
        let raw: doc::Pod = serde_json::from_value(v).unwrap();
        let namespaces: Namespaces = [
            ("team-a".to_string(), [("team".into(), "a".into())].into()),
            ("team-b".to_string(), [("team".into(), "b".into())].into()),
            ("other".to_string(), Labels::new()),
        ]
        .into();
        pod(&raw, &mut Placements::new(namespaces, None)).unwrap()
    }

    #[test]
    fn affinity_terms_resolve_namespaces_and_merge_match_label_keys() {
        let p = built(json!({
            "metadata": {"name": "p", "namespace": "team-a",
                "labels": {"app": "web", "rev": "7", "tenant": "x"}},
            "spec": {"containers": [{"name": "main"}], "affinity": {
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "topology.kubernetes.io/zone",
                     "labelSelector": {"matchLabels": {"app": "cache"}},
                     "namespaceSelector": {"matchLabels": {"team": "b"}}}
                ]},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": "web"}},
                     "matchLabelKeys": ["rev", "missing"], "mismatchLabelKeys": ["tenant"]},
                    {"topologyKey": "kubernetes.io/hostname", "namespaceSelector": {}},
                    {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": "db"}}, "namespaces": ["other"],
                     "namespaceSelector": {}}
                ]}
            }}
        }));
        let affinity = &p.placement.pod_affinity[0];
        assert_eq!(affinity.namespaces.names, ["team-b"], "selected by label");
        assert!(!affinity.namespaces.all);
        let anti = &p.placement.anti_affinity;
        assert_eq!(
            anti.len(),
            2,
            "a term without a label selector selects nothing"
        );
        assert_eq!(
            anti[0].namespaces.names,
            ["team-a"],
            "the pod's own namespace"
        );
        let merged = anti[0].selector.as_ref().unwrap();
        assert!(merged.matches(&[("app".into(), "web".into()), ("rev".into(), "7".into())].into()));
        assert!(
            !merged.matches(&[("app".into(), "web".into()), ("rev".into(), "8".into())].into()),
            "matchLabelKeys pins the pod's own rev"
        );
        let same_tenant = [
            ("app".into(), "web".into()),
            ("rev".into(), "7".into()),
            ("tenant".into(), "x".into()),
        ];
        assert!(
            !merged.matches(&same_tenant.into()),
            "mismatchLabelKeys keeps the pod's own tenant out"
        );
        assert!(
            anti[1].namespaces.all,
            "an empty namespace selector selects every namespace"
        );
    }

    #[test]
    fn spread_host_ports_and_scheduling_state() {
        let p = built(json!({
            "metadata": {"name": "p", "namespace": "team-a", "labels": {"app": "web", "hash": "abc"}},
            "spec": {
                "priority": 1000,
                "hostNetwork": true,
                "containers": [{"name": "main", "ports": [
                    {"containerPort": 8080},
                    {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "10.0.0.1"}
                ]}],
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                     "whenUnsatisfiable": "DoNotSchedule", "minDomains": 3,
                     "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["hash"],
                     "nodeTaintsPolicy": "Honor"},
                    {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                     "whenUnsatisfiable": "ScheduleAnyway"}
                ]
            },
            "status": {"phase": "Pending", "nominatedNodeName": "node-7", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
            ]}
        }));
        assert_eq!(p.scheduling.priority, 1000);
        assert_eq!(p.scheduling.nominated_node.as_deref(), Some("node-7"));
        assert!(p.scheduling.unschedulable);
        let ports: Vec<String> = p
            .placement
            .host_ports
            .iter()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(
            ports,
            ["5353/UDP on 10.0.0.1", "8080/TCP"],
            "hostNetwork makes 8080 a host port"
        );
        let spread = &p.placement.spread;
        assert_eq!(spread.len(), 1, "ScheduleAnyway never blocks");
        assert_eq!(spread[0].min_domains, 3);
        assert_eq!(spread[0].node_affinity_policy, InclusionPolicy::Honor);
        assert_eq!(spread[0].node_taints_policy, InclusionPolicy::Honor);
        let other_hash = [("app".into(), "web".into()), ("hash".into(), "xyz".into())].into();
        assert!(
            !spread[0].counts(&other_hash),
            "matchLabelKeys pins the pod's own hash"
        );
    }

    #[test]
    fn malformed_constraints_name_the_field() {
        let err = |spec: serde_json::Value| {
            let raw: doc::Pod = serde_json::from_value(json!({
                "metadata": {"name": "p", "namespace": "ns"}, "spec": spec
            }))
            .unwrap();
            format!("{:#}", pod(&raw, &mut Placements::default()).unwrap_err())
        };
        let e = err(
            json!({"containers": [{"name": "c"}], "topologySpreadConstraints": [
            {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]}),
        );
        assert!(e.contains("pod ns/p") && e.contains("maxSkew 0"), "{e}");
        let e = err(
            json!({"containers": [{"name": "c"}], "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
             "nodeTaintsPolicy": "Sometimes"}]}),
        );
        assert!(
            e.contains("nodeTaintsPolicy") && e.contains("Sometimes"),
            "{e}"
        );
        let e = err(json!({"containers": [{"name": "c", "ports": [
            {"containerPort": 1, "hostPort": 70000}]}]}));
        assert!(e.contains("container c") && e.contains("70000"), "{e}");
    }

    #[test]
    fn unreadable_node_selector_values_select_no_node() {
        let s = spec(json!({"containers": [], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "foo", "operator": "NotIn", "values": ["not a value!"]}]},
            {"matchExpressions": [{"key": "bar", "operator": "Exists"}]}
        ]}}}}));
        let p = placement(&s, "ns", &Labels::new(), &Namespaces::new()).unwrap();
        let node = [("foo".to_string(), "x".to_string())].into();
        assert!(p.node_affinity[0].first_mismatch(&node, None).is_some());
        assert!(p.node_affinity[1].expressions[0].operator == Operator::Exists);
    }
}

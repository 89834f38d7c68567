//! Whether a pod may run on a node (or a group's next node), and why not. Resources are
//! checked by the packer and constraints between pods by [`crate::engine::scale_up::topology`]; these are the
//! rules that do not change as a node fills up: cordon, taints, nodeSelector, node affinity
//! and where the pod's volumes can be reached.

use std::fmt;

use crate::model::scheduling::{
    Labels, NodeSelectorTerm, Placement, REGION_LABEL, Requirement, Taint, VolumePlacement,
    VolumeRule, ZONE_LABEL, ZONE_LABELS,
};
use crate::model::{Node, NodeGroup};

/// Why a node cannot take a pod, whatever its free room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    Unschedulable,
    TaintNotTolerated(Taint),
    NodeSelector {
        key: String,
        wanted: String,
        found: Option<String>,
    },
    NodeAffinity(Requirement),
    /// Every required node affinity term is empty, and an empty term selects no node.
    NoNodeAffinityTerm,
    /// A volume limits the pod to nodes this one is not among.
    Volume {
        volume: String,
        need: String,
    },
    /// A volume keeps the pod off every node for now.
    VolumeBlocked(String),
    /// The node's zone decides, and a group spanning several zones cannot choose it.
    ZoneUnknown(UnknownZone),
}

/// A group's next node's zone, when it matters and cannot be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone {
    pub zones: Vec<String>,
}

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "group spans {}; ekas cannot choose a new node's zone — use one group per zone",
            zone_list(&self.zones)
        )
    }
}

/// The zones a group's next node may get, when its template cannot say which: empty for a
/// group with one zone, or whose template names its zone.
pub fn unknown_zones(group: &NodeGroup) -> &[String] {
    let labels = &group.template.labels;
    if group.zones.len() > 1 && !ZONE_LABELS.iter().any(|k| labels.contains_key(*k)) {
        &group.zones
    } else {
        &[]
    }
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::Unschedulable => write!(f, "node is cordoned"),
            Unfit::TaintNotTolerated(t) => write!(f, "taint {t} not tolerated"),
            Unfit::NodeSelector { key, wanted, found } => {
                write!(f, "nodeSelector {key}={wanted} not matched")?;
                match found {
                    Some(v) => write!(f, " (node has {key}={v})"),
                    None => write!(f, " (node has no {key} label)"),
                }
            }
            Unfit::NodeAffinity(req) => write!(f, "node affinity not matched: {req}"),
            Unfit::NoNodeAffinityTerm => write!(f, "node affinity has only empty terms"),
            Unfit::Volume { volume, need } => write!(f, "{volume} needs {need}"),
            Unfit::VolumeBlocked(why) => write!(f, "{why}"),
            Unfit::ZoneUnknown(unknown) => write!(f, "{unknown}"),
        }
    }
}

/// `us-west-2a,b,c`: the first zone in full, the rest by what differs from it.
pub fn zone_list(zones: &[String]) -> String {
    let Some(first) = zones.first() else {
        return String::new();
    };
    let common = zones.iter().skip(1).fold(first.len(), |n, z| {
        first
            .bytes()
            .zip(z.bytes())
            .take(n)
            .take_while(|(a, b)| a == b)
            .count()
    });
    let mut out = first.clone();
    for zone in &zones[1..] {
        out.push(',');
        out.push_str(&zone[common.min(zone.len())..]);
    }
    out
}

/// The node-side facts the static predicates read.
#[derive(Debug, Clone, Copy)]
pub struct NodeShape<'a> {
    pub name: Option<&'a str>,
    pub labels: &'a Labels,
    pub taints: &'a [Taint],
    pub unschedulable: bool,
    /// A group's next node when the group spans several zones: it will be in one of these, and
    /// which is not known. Empty for a node whose zone is known (or has none).
    pub unknown_zones: &'a [String],
}

impl<'a> NodeShape<'a> {
    /// An existing node. `reclaimable`: ekas cordoned it and would uncordon it for a pod, so its
    /// cordon does not count.
    pub fn of_node(node: &'a Node, reclaimable: bool) -> NodeShape<'a> {
        NodeShape {
            name: Some(&node.name),
            labels: &node.labels,
            taints: &node.taints,
            unschedulable: node.unschedulable && !reclaimable,
            unknown_zones: &[],
        }
    }
}

/// Checks cordon, taints, nodeSelector, required node affinity and the pod's volumes, in the
/// scheduler's order. On a node whose zone is not known yet, each rule must hold in every zone
/// the node may get.
pub fn static_fit(placement: &Placement, node: NodeShape<'_>) -> Result<(), Unfit> {
    if node.unschedulable {
        return Err(Unfit::Unschedulable);
    }
    if let Some(taint) = node
        .taints
        .iter()
        .find(|t| t.blocks_scheduling() && !placement.tolerates(t))
    {
        return Err(Unfit::TaintNotTolerated(taint.clone()));
    }
    if let Some(why) = &placement.volumes.blocked {
        return Err(Unfit::VolumeBlocked(why.clone()));
    }
    if node.unknown_zones.is_empty() {
        return label_fit(placement, node.labels, node.name);
    }
    for zone in node.unknown_zones {
        if let Err(unfit) = label_fit(placement, &with_zone(node.labels, zone), node.name) {
            let zonal = match &unfit {
                Unfit::NodeSelector { key, .. } => ZONE_LABELS.contains(&key.as_str()),
                Unfit::NodeAffinity(req) => ZONE_LABELS.contains(&req.key.as_str()),
                Unfit::Volume { .. } => true,
                _ => false,
            };
            return Err(if zonal {
                Unfit::ZoneUnknown(UnknownZone {
                    zones: node.unknown_zones.to_vec(),
                })
            } else {
                unfit
            });
        }
    }
    Ok(())
}

/// Labels with every zone label set to `zone`: a group's next node, once its zone is chosen.
pub fn with_zone(labels: &Labels, zone: &str) -> Labels {
    let mut labels = labels.clone();
    for key in ZONE_LABELS {
        labels.insert(key.to_string(), zone.to_string());
    }
    labels
}

/// Whether a pod of this placement may run on the node in some zone it may get: what decides
/// which DaemonSet pods a group's next node has to make room (and ports) for.
pub fn fits_in_some_zone(placement: &Placement, node: NodeShape<'_>) -> bool {
    if node.unknown_zones.is_empty() {
        return static_fit(placement, node).is_ok();
    }
    node.unknown_zones.iter().any(|zone| {
        let labels = with_zone(node.labels, zone);
        let known = NodeShape {
            labels: &labels,
            unknown_zones: &[],
            ..node
        };
        static_fit(placement, known).is_ok()
    })
}

/// The pod's nodeSelector and required node affinity hold on a node with these labels: what a
/// topology spread constraint's `nodeAffinityPolicy: Honor` asks.
pub fn matches_node_affinity(placement: &Placement, labels: &Labels, name: Option<&str>) -> bool {
    node_affinity_fit(placement, labels, name).is_ok()
}

/// The pod tolerates every taint that keeps pods off (`nodeTaintsPolicy: Honor`).
pub fn tolerates_taints(placement: &Placement, taints: &[Taint]) -> bool {
    taints
        .iter()
        .all(|t| !t.blocks_scheduling() || placement.tolerates(t))
}

/// The rules that read the node's labels (and name): nodeSelector, node affinity, volumes.
fn label_fit(placement: &Placement, labels: &Labels, name: Option<&str>) -> Result<(), Unfit> {
    node_affinity_fit(placement, labels, name)?;
    volume_fit(&placement.volumes, labels, name)
}

fn node_affinity_fit(
    placement: &Placement,
    labels: &Labels,
    name: Option<&str>,
) -> Result<(), Unfit> {
    if let Some((key, wanted)) = placement
        .node_selector
        .iter()
        .find(|(k, v)| labels.get(*k) != Some(*v))
    {
        return Err(Unfit::NodeSelector {
            key: key.clone(),
            wanted: wanted.clone(),
            found: labels.get(key).cloned(),
        });
    }
    if !placement.node_affinity.is_empty() {
        match first_term_failure(&placement.node_affinity, labels, name) {
            None => {}
            Some(Some(req)) => return Err(Unfit::NodeAffinity(req.clone())),
            Some(None) => return Err(Unfit::NoNodeAffinityTerm),
        }
    }
    Ok(())
}

/// `None` when some term matches (terms are ORed); otherwise the first term's first failing
/// expression (`Some(None)` when every term is empty: an empty term selects no node).
fn first_term_failure<'t>(
    terms: &'t [NodeSelectorTerm],
    labels: &Labels,
    name: Option<&str>,
) -> Option<Option<&'t Requirement>> {
    let mut first_failure = None;
    for term in terms {
        if term.expressions.is_empty() && term.fields.is_empty() {
            continue;
        }
        match term.first_mismatch(labels, name) {
            None => return None,
            Some(req) => {
                first_failure.get_or_insert(req);
            }
        }
    }
    Some(first_failure)
}

fn volume_fit(volumes: &VolumePlacement, labels: &Labels, name: Option<&str>) -> Result<(), Unfit> {
    for requirement in &volumes.requirements {
        let need = match &requirement.rule {
            VolumeRule::NodeTerms(terms) => match first_term_failure(terms, labels, name) {
                None => continue,
                Some(Some(req)) => req.to_string(),
                Some(None) => "a node no empty term can select".to_string(),
            },
            VolumeRule::TopologyLabel { key, values } => {
                if topology_label_fits(key, values, labels) {
                    continue;
                }
                format!("{} in ({})", key, values.join(","))
            }
        };
        return Err(Unfit::Volume {
            volume: requirement.volume.clone(),
            need,
        });
    }
    Ok(())
}

/// The scheduler's VolumeZone rule: a node with neither a zone nor a region label (GA or beta)
/// is not limited; otherwise its value for the volume's key (or the key's GA form) must be one
/// of the volume's values.
fn topology_label_fits(key: &str, values: &[String], labels: &Labels) -> bool {
    const BETA_REGION: &str = "failure-domain.beta.kubernetes.io/region";
    const BETA_ZONE: &str = "failure-domain.beta.kubernetes.io/zone";
    let labelled = [ZONE_LABEL, REGION_LABEL, BETA_ZONE, BETA_REGION]
        .iter()
        .any(|k| labels.contains_key(*k));
    if !labelled {
        return true;
    }
    let ga = match key {
        BETA_ZONE => ZONE_LABEL,
        BETA_REGION => REGION_LABEL,
        other => other,
    };
    labels
        .get(key)
        .or_else(|| labels.get(ga))
        .is_some_and(|v| values.contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scheduling::{
        NodeSelectorTerm, Operator, TaintEffect, Toleration, TolerationOperator,
    };

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn shape<'a>(labels: &'a Labels, taints: &'a [Taint]) -> NodeShape<'a> {
        NodeShape {
            name: Some("node-1"),
            labels,
            taints,
            unschedulable: false,
            unknown_zones: &[],
        }
    }

    fn gpu_taint(effect: TaintEffect) -> Taint {
        Taint {
            key: "nvidia.com/gpu".into(),
            value: "true".into(),
            effect,
        }
    }

    cases! { blocks_unless_tolerated;
        a_no_schedule_taint_blocks: TaintEffect::NoSchedule,
        a_no_execute_taint_blocks: TaintEffect::NoExecute,
    }

    fn blocks_unless_tolerated(effect: TaintEffect) {
        let l = Labels::new();
        let taints = [gpu_taint(effect)];
        let err = static_fit(&Placement::default(), shape(&l, &taints)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "taint nvidia.com/gpu=true:{} not tolerated",
                effect.as_str()
            ),
            "{effect:?}"
        );
    }

    #[test]
    fn a_tolerated_taint_does_not_block_and_prefer_never_blocks() {
        let l = Labels::new();
        let no_tolerations = Placement::default();
        let prefer = [gpu_taint(TaintEffect::PreferNoSchedule)];
        assert!(static_fit(&no_tolerations, shape(&l, &prefer)).is_ok());
        let tolerant = Placement {
            tolerations: vec![Toleration {
                key: "nvidia.com/gpu".into(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: None,
            }],
            ..Default::default()
        };
        let taints = [gpu_taint(TaintEffect::NoSchedule)];
        assert!(static_fit(&tolerant, shape(&l, &taints)).is_ok());
    }

    #[test]
    fn node_selector_reports_what_the_node_has() {
        let p = Placement {
            node_selector: labels(&[("pool", "x")]),
            ..Default::default()
        };
        let l = labels(&[("pool", "cpu")]);
        assert_eq!(
            static_fit(&p, shape(&l, &[])).unwrap_err().to_string(),
            "nodeSelector pool=x not matched (node has pool=cpu)"
        );
        let empty = Labels::new();
        assert_eq!(
            static_fit(&p, shape(&empty, &[])).unwrap_err().to_string(),
            "nodeSelector pool=x not matched (node has no pool label)"
        );
        assert!(static_fit(&p, shape(&labels(&[("pool", "x")]), &[])).is_ok());
    }

    #[test]
    fn node_affinity_terms_are_ored() {
        let term = |key: &str, values: &[&str]| NodeSelectorTerm {
            expressions: vec![Requirement {
                key: key.into(),
                operator: Operator::In,
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            fields: vec![],
        };
        let p = Placement {
            node_affinity: vec![
                term("kubernetes.io/arch", &["arm64"]),
                term("pool", &["cpu"]),
            ],
            ..Default::default()
        };
        let amd_cpu = labels(&[("kubernetes.io/arch", "amd64"), ("pool", "cpu")]);
        assert!(
            static_fit(&p, shape(&amd_cpu, &[])).is_ok(),
            "second term matches"
        );
        let amd_gpu = labels(&[("kubernetes.io/arch", "amd64"), ("pool", "gpu")]);
        assert_eq!(
            static_fit(&p, shape(&amd_gpu, &[]))
                .unwrap_err()
                .to_string(),
            "node affinity not matched: kubernetes.io/arch in (arm64)"
        );
    }

    #[test]
    fn cordoned_nodes_take_nothing() {
        let l = Labels::new();
        let node = NodeShape {
            unschedulable: true,
            ..shape(&l, &[])
        };
        assert_eq!(
            static_fit(&Placement::default(), node),
            Err(Unfit::Unschedulable)
        );
    }
}

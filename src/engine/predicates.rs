//! Whether a pod may run on a node (or a group's next node), and why not. Resources are
//! checked by the packer; these are the rules that do not change as a node fills up, plus
//! hostname anti-affinity against the pods already on a node.

use std::fmt;

use crate::model::Pod;
use crate::model::scheduling::{Labels, Placement, Requirement, Taint};

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
        }
    }
}

/// The node-side facts the static predicates read.
#[derive(Debug, Clone, Copy)]
pub struct NodeShape<'a> {
    pub name: Option<&'a str>,
    pub labels: &'a Labels,
    pub taints: &'a [Taint],
    pub unschedulable: bool,
}

/// Checks cordon, taints, nodeSelector and required node affinity, in the scheduler's order.
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
    if let Some((key, wanted)) = placement
        .node_selector
        .iter()
        .find(|(k, v)| node.labels.get(*k) != Some(*v))
    {
        return Err(Unfit::NodeSelector {
            key: key.clone(),
            wanted: wanted.clone(),
            found: node.labels.get(key).cloned(),
        });
    }
    if !placement.node_affinity.is_empty() {
        // Terms are ORed: the pod fits if any term matches; otherwise report the first term's
        // first failing expression.
        let mut first_failure = None;
        for term in &placement.node_affinity {
            match term.first_mismatch(node.labels, node.name) {
                None => return Ok(()),
                Some(req) => {
                    first_failure.get_or_insert_with(|| req.clone());
                }
            }
        }
        if let Some(req) = first_failure {
            return Err(Unfit::NodeAffinity(req));
        }
    }
    Ok(())
}

/// Whether `incoming` and `resident` may not share a node: either one's required hostname
/// anti-affinity selects the other.
pub fn repel(incoming: &Pod, resident: &Pod) -> bool {
    let one_way = |a: &Pod, b: &Pod| {
        a.placement
            .anti_affinity
            .iter()
            .any(|t| t.repels(&a.namespace, &b.namespace, &b.labels))
    };
    one_way(incoming, resident) || one_way(resident, incoming)
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
        }
    }

    fn gpu_taint(effect: TaintEffect) -> Taint {
        Taint {
            key: "nvidia.com/gpu".into(),
            value: "true".into(),
            effect,
        }
    }

    #[test]
    fn taints_block_unless_tolerated_and_prefer_never_blocks() {
        let l = Labels::new();
        let no_tolerations = Placement::default();
        for effect in [TaintEffect::NoSchedule, TaintEffect::NoExecute] {
            let taints = [gpu_taint(effect)];
            let err = static_fit(&no_tolerations, shape(&l, &taints)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "taint nvidia.com/gpu=true:{} not tolerated",
                    effect.as_str()
                )
            );
        }
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

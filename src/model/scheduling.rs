//! Kubernetes placement vocabulary: label selectors, node affinity, taints and tolerations.
//!
//! The matching rules here are Kubernetes' own semantics, not ekas decisions; the engine's
//! predicates combine them and explain failures.

use std::collections::BTreeMap;
use std::fmt;

pub type Labels = BTreeMap<String, String>;

pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            _ => return None,
        })
    }
}

/// One `key operator values` expression of a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            // Gt/Lt compare integers; a non-integer on either side never matches.
            Operator::Gt | Operator::Lt => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operator {
            Operator::Exists => write!(f, "{} exists", self.key),
            Operator::DoesNotExist => write!(f, "{} does not exist", self.key),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} not in ({})", self.key, self.values.join(",")),
            Operator::Gt => write!(f, "{} > {}", self.key, self.values.join(",")),
            Operator::Lt => write!(f, "{} < {}", self.key, self.values.join(",")),
        }
    }
}

/// A node selector term: every expression must match (AND). Terms of an affinity are ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeSelectorTerm {
    pub expressions: Vec<Requirement>,
    /// `matchFields`; Kubernetes supports only `metadata.name`.
    pub fields: Vec<Requirement>,
}

impl NodeSelectorTerm {
    /// The first expression that fails on a node with these labels and this name.
    pub fn first_mismatch(&self, labels: &Labels, node_name: Option<&str>) -> Option<&Requirement> {
        if let Some(r) = self.expressions.iter().find(|r| !r.matches(labels)) {
            return Some(r);
        }
        self.fields.iter().find(|r| {
            let mut fields = Labels::new();
            if let Some(name) = node_name {
                fields.insert("metadata.name".to_string(), name.to_string());
            }
            !r.matches(&fields)
        })
    }
}

/// `metav1.LabelSelector`: matchLabels and matchExpressions, all ANDed. An empty selector
/// matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSelector {
    pub match_labels: Labels,
    pub expressions: Vec<Requirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|r| r.matches(labels))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn parse(s: &str) -> Option<TaintEffect> {
        Some(match s {
            "NoSchedule" => TaintEffect::NoSchedule,
            "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
            "NoExecute" => TaintEffect::NoExecute,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

impl Taint {
    /// Whether the taint keeps pods that do not tolerate it off the node. PreferNoSchedule
    /// is a preference, never a block.
    pub fn blocks_scheduling(&self) -> bool {
        self.effect != TaintEffect::PreferNoSchedule
    }
}

impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect.as_str())
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect.as_str())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Toleration {
    /// Empty with `Exists` tolerates every taint.
    pub key: String,
    pub operator: TolerationOperator,
    pub value: String,
    /// `None` tolerates every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Exists => true,
            TolerationOperator::Equal => self.value == taint.value,
        }
    }
}

/// Required anti-affinity to pods matching `selector` on the same node (topology key
/// `kubernetes.io/hostname`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AntiAffinityTerm {
    pub selector: LabelSelector,
    /// Namespaces the selector looks in; empty means the pod's own namespace.
    pub namespaces: Vec<String>,
    /// `namespaceSelector: {}`: every namespace.
    pub all_namespaces: bool,
}

impl AntiAffinityTerm {
    /// Whether a pod (namespace, labels) is one this term, owned by a pod in `owner_ns`, repels.
    pub fn repels(&self, owner_ns: &str, namespace: &str, labels: &Labels) -> bool {
        let in_scope = self.all_namespaces
            || if self.namespaces.is_empty() {
                namespace == owner_ns
            } else {
                self.namespaces.iter().any(|n| n == namespace)
            };
        in_scope && self.selector.matches(labels)
    }
}

/// Everything about a pod that constrains which nodes may run it, apart from resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placement {
    pub node_selector: Labels,
    /// Required node affinity terms (ORed); empty means no requirement.
    pub node_affinity: Vec<NodeSelectorTerm>,
    pub tolerations: Vec<Toleration>,
    pub anti_affinity: Vec<AntiAffinityTerm>,
}

impl Placement {
    pub fn tolerates(&self, taint: &Taint) -> bool {
        self.tolerations.iter().any(|t| t.tolerates(taint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn requirement_operators() {
        let l = labels(&[("pool", "gpu"), ("cores", "16")]);
        assert!(req("pool", Operator::In, &["cpu", "gpu"]).matches(&l));
        assert!(!req("pool", Operator::In, &["cpu"]).matches(&l));
        assert!(!req("zone", Operator::In, &["a"]).matches(&l));
        assert!(req("pool", Operator::NotIn, &["cpu"]).matches(&l));
        assert!(!req("pool", Operator::NotIn, &["gpu"]).matches(&l));
        assert!(
            req("zone", Operator::NotIn, &["a"]).matches(&l),
            "absent key is NotIn"
        );
        assert!(req("pool", Operator::Exists, &[]).matches(&l));
        assert!(!req("zone", Operator::Exists, &[]).matches(&l));
        assert!(req("zone", Operator::DoesNotExist, &[]).matches(&l));
        assert!(!req("pool", Operator::DoesNotExist, &[]).matches(&l));
        assert!(req("cores", Operator::Gt, &["8"]).matches(&l));
        assert!(!req("cores", Operator::Gt, &["16"]).matches(&l));
        assert!(req("cores", Operator::Lt, &["17"]).matches(&l));
        assert!(!req("cores", Operator::Lt, &["16"]).matches(&l));
        assert!(
            !req("pool", Operator::Gt, &["1"]).matches(&l),
            "non-integer label"
        );
        assert!(
            !req("cores", Operator::Gt, &["x"]).matches(&l),
            "non-integer value"
        );
        assert!(!req("zone", Operator::Lt, &["1"]).matches(&l), "absent key");
    }

    #[test]
    fn match_fields_on_node_name() {
        let term = NodeSelectorTerm {
            expressions: vec![],
            fields: vec![req("metadata.name", Operator::In, &["node-a"])],
        };
        assert!(
            term.first_mismatch(&Labels::new(), Some("node-a"))
                .is_none()
        );
        assert!(
            term.first_mismatch(&Labels::new(), Some("node-b"))
                .is_some()
        );
        assert!(term.first_mismatch(&Labels::new(), None).is_some());
    }

    #[test]
    fn toleration_semantics() {
        let gpu = Taint {
            key: "nvidia.com/gpu".into(),
            value: "true".into(),
            effect: TaintEffect::NoSchedule,
        };
        let tol = |key: &str, op, value: &str, effect| Toleration {
            key: key.into(),
            operator: op,
            value: value.into(),
            effect,
        };
        use TolerationOperator::*;
        assert!(tol("nvidia.com/gpu", Exists, "", None).tolerates(&gpu));
        assert!(
            tol(
                "nvidia.com/gpu",
                Equal,
                "true",
                Some(TaintEffect::NoSchedule)
            )
            .tolerates(&gpu)
        );
        assert!(!tol("nvidia.com/gpu", Equal, "false", None).tolerates(&gpu));
        assert!(!tol("nvidia.com/gpu", Exists, "", Some(TaintEffect::NoExecute)).tolerates(&gpu));
        assert!(
            tol("", Exists, "", None).tolerates(&gpu),
            "empty key + Exists tolerates all"
        );
        assert!(!tol("other", Exists, "", None).tolerates(&gpu));
        let no_value = Taint {
            key: "dedicated".into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
        };
        assert!(tol("dedicated", Equal, "", None).tolerates(&no_value));
        assert!(!TaintEffect::PreferNoSchedule.eq(&TaintEffect::NoSchedule));
        assert!(
            !Taint {
                effect: TaintEffect::PreferNoSchedule,
                ..gpu.clone()
            }
            .blocks_scheduling()
        );
        assert_eq!(gpu.to_string(), "nvidia.com/gpu=true:NoSchedule");
    }

    #[test]
    fn label_selector_and_anti_affinity_scope() {
        let sel = LabelSelector {
            match_labels: labels(&[("app", "db")]),
            expressions: vec![req("tier", Operator::NotIn, &["test"])],
        };
        assert!(sel.matches(&labels(&[("app", "db")])));
        assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "test")])));
        assert!(LabelSelector::default().matches(&Labels::new()));
        let term = AntiAffinityTerm {
            selector: sel.clone(),
            namespaces: vec![],
            all_namespaces: false,
        };
        assert!(term.repels("prod", "prod", &labels(&[("app", "db")])));
        assert!(!term.repels("prod", "dev", &labels(&[("app", "db")])));
        let everywhere = AntiAffinityTerm {
            all_namespaces: true,
            ..term
        };
        assert!(everywhere.repels("prod", "dev", &labels(&[("app", "db")])));
    }
}

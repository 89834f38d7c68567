//! Kubernetes placement vocabulary: label selectors, node affinity, taints and tolerations.
//!
//! The matching rules here are Kubernetes' own semantics, not ekas decisions; the engine's
//! predicates combine them and explain failures.

use std::collections::BTreeMap;
use std::fmt;

pub type Labels = BTreeMap<String, String>;

pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// Labels whose value is a node's Availability Zone. A group spanning several zones cannot say
/// which one its next node gets.
pub const ZONE_LABELS: [&str; 3] = [
    ZONE_LABEL,
    "failure-domain.beta.kubernetes.io/zone",
    "topology.ebs.csi.aws.com/zone",
];

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
    /// No requirement at all (`{}`): selects every pod.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.expressions.is_empty()
    }

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
    /// `Gt` and `Lt` compare numbers behind an alpha feature gate (TaintTolerationComparisonOperators,
    /// off by default): with it off, such a toleration tolerates nothing.
    Compare,
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
            TolerationOperator::Compare => false,
        }
    }
}

/// Which namespaces a pod affinity term looks in. The builder resolves the term's
/// `namespaces` and `namespaceSelector` (against the namespaces' labels) into names, and a term
/// that names neither into its own pod's namespace, so a term means the same wherever it is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamespaceScope {
    pub names: Vec<String>,
    /// `namespaceSelector: {}`: every namespace.
    pub all: bool,
}

impl NamespaceScope {
    pub fn contains(&self, namespace: &str) -> bool {
        self.all || self.names.iter().any(|n| n == namespace)
    }
}

/// A required pod affinity or anti-affinity term: pods matching `selector` in `namespaces`,
/// in the same `topology_key` domain (node, zone, region, …) as the node under consideration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodAffinityTerm {
    /// `None` (no labelSelector) selects no pod.
    pub selector: Option<LabelSelector>,
    pub namespaces: NamespaceScope,
    pub topology_key: String,
}

impl PodAffinityTerm {
    /// Whether the term selects a pod in `namespace` with these labels.
    pub fn selects(&self, namespace: &str, labels: &Labels) -> bool {
        self.namespaces.contains(namespace)
            && self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }
}

/// Whether a topology spread constraint counts a node's pods (`nodeAffinityPolicy`,
/// `nodeTaintsPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InclusionPolicy {
    /// Only nodes that pass the pod's node affinity (or tolerate the node's taints) count.
    Honor,
    /// Every node counts.
    Ignore,
}

/// A `whenUnsatisfiable: DoNotSchedule` topology spread constraint (ScheduleAnyway ones never
/// block and are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpreadConstraint {
    pub max_skew: u32,
    pub topology_key: String,
    /// With matchLabelKeys merged in. `None` selects no pod. An empty selector selects the pod
    /// itself but counts no other pod (the scheduler's reading of `{}`).
    pub selector: Option<LabelSelector>,
    /// Fewer eligible domains than this make the global minimum 0 (default 1).
    pub min_domains: u32,
    pub node_affinity_policy: InclusionPolicy,
    pub node_taints_policy: InclusionPolicy,
}

impl SpreadConstraint {
    /// Whether another pod with these labels counts in a domain.
    pub fn counts(&self, labels: &Labels) -> bool {
        self.selector
            .as_ref()
            .is_some_and(|s| !s.is_empty() && s.matches(labels))
    }

    /// Whether the incoming pod itself adds one to the domain it goes to.
    pub fn counts_itself(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }
}

/// A port a pod takes on its node's network (`hostPort`, with its protocol and host IP).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub port: u16,
    /// TCP, UDP or SCTP.
    pub protocol: String,
    /// `0.0.0.0` when unset: every address.
    pub ip: String,
}

pub const ALL_ADDRESSES: &str = "0.0.0.0";

impl HostPort {
    /// Two pods cannot both bind the same port and protocol on one address, and an
    /// all-addresses binding takes the port on every address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == ALL_ADDRESSES || other.ip == ALL_ADDRESSES)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)?;
        if self.ip != ALL_ADDRESSES {
            write!(f, " on {}", self.ip)?;
        }
        Ok(())
    }
}

/// Where a pod's volumes let it run, resolved from its PersistentVolumeClaims, their volumes and
/// storage classes (see the `ekas` crate's `decode::volumes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumePlacement {
    /// Each volume that limits the pod's nodes; all must hold.
    pub requirements: Vec<VolumeRequirement>,
    /// Why no node can run the pod until something outside ekas changes (a claim missing or
    /// waiting to bind).
    pub blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeRequirement {
    /// What limits the nodes, for reasons: `PersistentVolume pv-1 of claim data-0`.
    pub volume: String,
    pub rule: VolumeRule,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VolumeRule {
    /// A node must match one of these terms: a bound volume's node affinity, a storage class's
    /// allowedTopologies, or the node affinities of the volumes an unbound claim may bind.
    NodeTerms(Vec<NodeSelectorTerm>),
    /// A volume's zone or region label: the node's label (GA or beta key) must be one of the
    /// values. A node with no zone or region label at all is not limited.
    TopologyLabel { key: String, values: Vec<String> },
}

/// Everything about a pod that constrains which nodes may run it, apart from resources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placement {
    pub node_selector: Labels,
    /// Required node affinity terms (ORed); empty means no requirement.
    pub node_affinity: Vec<NodeSelectorTerm>,
    pub tolerations: Vec<Toleration>,
    /// Required pod affinity terms; all must hold.
    pub pod_affinity: Vec<PodAffinityTerm>,
    /// Required pod anti-affinity terms; each must hold.
    pub anti_affinity: Vec<PodAffinityTerm>,
    pub spread: Vec<SpreadConstraint>,
    pub host_ports: Vec<HostPort>,
    pub volumes: VolumePlacement,
}

impl Placement {
    pub fn tolerates(&self, taint: &Taint) -> bool {
        self.tolerations.iter().any(|t| t.tolerates(taint))
    }

    /// Whether where other pods run matters to this pod: inter-pod affinity, anti-affinity,
    /// topology spread or host ports.
    pub fn depends_on_other_pods(&self) -> bool {
        !(self.pod_affinity.is_empty()
            && self.anti_affinity.is_empty()
            && self.spread.is_empty()
            && self.host_ports.is_empty())
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
        let term = PodAffinityTerm {
            selector: Some(sel.clone()),
            namespaces: NamespaceScope {
                names: vec!["prod".into()],
                all: false,
            },
            topology_key: HOSTNAME_LABEL.into(),
        };
        let db = labels(&[("app", "db")]);
        assert!(term.selects("prod", &db));
        assert!(!term.selects("dev", &db));
        let everywhere = PodAffinityTerm {
            namespaces: NamespaceScope {
                names: vec![],
                all: true,
            },
            ..term.clone()
        };
        assert!(everywhere.selects("dev", &db));
        let no_selector = PodAffinityTerm {
            selector: None,
            ..term
        };
        assert!(!no_selector.selects("prod", &db));
    }

    #[test]
    fn host_ports_conflict_on_shared_addresses() {
        let port = |port, protocol: &str, ip: &str| HostPort {
            port,
            protocol: protocol.into(),
            ip: ip.into(),
        };
        let any = port(8080, "TCP", ALL_ADDRESSES);
        assert!(any.conflicts(&port(8080, "TCP", "10.0.0.1")));
        assert!(port(8080, "TCP", "10.0.0.1").conflicts(&any));
        assert!(!port(8080, "TCP", "10.0.0.1").conflicts(&port(8080, "TCP", "10.0.0.2")));
        assert!(!any.conflicts(&port(8080, "UDP", ALL_ADDRESSES)));
        assert!(!any.conflicts(&port(8081, "TCP", ALL_ADDRESSES)));
        assert_eq!(any.to_string(), "8080/TCP");
        assert_eq!(
            port(53, "UDP", "127.0.0.1").to_string(),
            "53/UDP on 127.0.0.1"
        );
    }

    #[test]
    fn spread_selector_counts_others_only_when_it_says_something() {
        let constraint = |selector| SpreadConstraint {
            max_skew: 1,
            topology_key: ZONE_LABEL.into(),
            selector,
            min_domains: 1,
            node_affinity_policy: InclusionPolicy::Honor,
            node_taints_policy: InclusionPolicy::Ignore,
        };
        let app = labels(&[("app", "web")]);
        let by_app = constraint(Some(LabelSelector {
            match_labels: app.clone(),
            expressions: vec![],
        }));
        assert!(by_app.counts(&app) && by_app.counts_itself(&app));
        let everything = constraint(Some(LabelSelector::default()));
        assert!(!everything.counts(&app) && everything.counts_itself(&app));
        let nothing = constraint(None);
        assert!(!nothing.counts(&app) && !nothing.counts_itself(&app));
    }
}

use jiff::Timestamp;

use super::resources::Resources;
use super::scheduling::{Labels, Taint};

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub provider_id: Option<String>,
    /// The EC2 instance behind the node: from an AWS providerID when the node is read, else
    /// matched by private DNS name, IP or the original tool's `aws/id` label when the snapshot
    /// is built (the `ekas` crate's `decode::matching`).
    pub instance_id: Option<String>,
    /// How `instance_id` was found.
    pub matched_by: Option<MatchedBy>,
    /// Names and InternalIP addresses the node reports (`status.addresses`).
    pub addresses: NodeAddresses,
    /// The original tool's `aws/id` label.
    pub aws_id_label: Option<String>,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub allocatable: Resources,
    pub ready: bool,
    pub unschedulable: bool,
    pub created: Option<Timestamp>,
    /// When the Ready condition last changed: for a node that is not Ready, since when.
    pub ready_changed: Option<Timestamp>,
    pub marks: NodeMarks,
    /// Its allocatable or taints could not be read (see [`super::LeftOut`]): no room for
    /// pods, no template for its group, and left alone by maintenance.
    pub unreadable: bool,
}

/// How a node was tied to its EC2 instance, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    ProviderId,
    PrivateDns,
    PrivateIp,
    AwsIdLabel,
}

/// The node's own names for itself: `Hostname` and `InternalDNS` addresses, and `InternalIP`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    pub hostnames: Vec<String>,
    pub internal_ips: Vec<String>,
}

/// What ekas (or the tool it replaces) recorded on the node: its memory across passes,
/// processes and cron runs (shared/DESIGN.md, keys in [`super::keys`]), and the markers
/// operators set on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeMarks {
    /// Cordoned by ekas, so ekas may uncordon it.
    pub cordoned_by_ekas: bool,
    /// Labelled to be left alone.
    pub detached: bool,
    /// Annotated `cluster-autoscaler.kubernetes.io/scale-down-disabled`: never drained or
    /// terminated.
    pub scale_down_disabled: bool,
    pub idle_since: Option<Timestamp>,
    pub drain_started: Option<Timestamp>,
    pub drained_at: Option<Timestamp>,
    /// When EC2 first said it does not know the node's instance.
    pub instance_not_found_since: Option<Timestamp>,
    /// An interruption notice ekas took for the node's instance (`ekas/interruption…`).
    pub interruption: Option<InterruptionMark>,
    /// Being consolidated by attrition (the `ekas.dev/consolidating` taint or annotation).
    pub consolidating: bool,
    /// When the consolidation began (the annotation), when it can be read.
    pub consolidating_since: Option<Timestamp>,
}

/// An interruption notice recorded on a node (see `interruption::marks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptionMark {
    /// The notice's kind, as `interruption::NoticeKind::as_str` spells it.
    pub kind: String,
    /// When the change is due, for a dated notice.
    pub due: Option<Timestamp>,
    /// When ekas received the notice.
    pub noticed: Timestamp,
}

impl InterruptionMark {
    /// A hint AWS may never follow up on (a rebalance recommendation): its cordon is undone
    /// after a while, and the node may be reused meanwhile.
    pub fn is_hint(&self) -> bool {
        self.due.is_none() && self.kind == "rebalance-recommendation"
    }
}

impl NodeMarks {
    /// Whether ekas may uncordon the node for pending pods rather than buy a new one: its own
    /// cordon, no drain begun, not detached, and no change coming to its instance.
    pub fn reclaimable(&self) -> bool {
        let change_coming = self.interruption.as_ref().is_some_and(|m| m.due.is_some());
        self.cordoned_by_ekas && self.drain_started.is_none() && !self.detached && !change_coming
    }
}

impl Node {
    /// The instance id in an AWS providerID (`aws:///us-west-2a/i-0abc`, also `aws://us-west-2a/i-0abc`).
    pub fn instance_id_from_provider_id(provider_id: &str) -> Option<String> {
        let rest = provider_id.strip_prefix("aws://")?;
        let id = rest.rsplit('/').next()?;
        id.starts_with("i-").then(|| id.to_string())
    }
}

/// Taints a node carries while it starts (`--startup-taint`): until they are gone, the node is
/// capacity on its way, not room for pods. Any taint with cluster-autoscaler's startup prefix
/// counts too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupTaints(pub Vec<String>);

impl StartupTaints {
    pub const DEFAULT: [&str; 3] = [
        "node.kubernetes.io/not-ready",
        "node.cloudprovider.kubernetes.io/uninitialized",
        "node.cilium.io/agent-not-ready",
    ];
    /// cluster-autoscaler's convention: a taint with this prefix is a startup taint.
    pub const PREFIX: &str = "startup-taint.cluster-autoscaler.kubernetes.io/";

    pub fn default_keys() -> Vec<String> {
        Self::DEFAULT.iter().map(|k| k.to_string()).collect()
    }

    pub fn is_startup(&self, taint: &Taint) -> bool {
        taint.key.starts_with(Self::PREFIX) || self.0.contains(&taint.key)
    }
}

impl Default for StartupTaints {
    fn default() -> Self {
        StartupTaints(Self::default_keys())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scheduling::TaintEffect;

    #[test]
    fn provider_ids() {
        let id = Node::instance_id_from_provider_id;
        assert_eq!(id("aws:///us-west-2a/i-0abc").as_deref(), Some("i-0abc"));
        assert_eq!(id("aws://us-west-2a/i-0abc").as_deref(), Some("i-0abc"));
        assert_eq!(id("gce://project/zone/name"), None);
        assert_eq!(id("aws:///us-west-2a/fargate-ip-1"), None);
    }

    #[test]
    fn startup_taints_by_key_or_prefix() {
        let taint = |key: &str| Taint {
            key: key.into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        };
        let defaults = StartupTaints::default();
        assert!(defaults.is_startup(&taint("node.kubernetes.io/not-ready")));
        assert!(defaults.is_startup(&taint("node.cilium.io/agent-not-ready")));
        assert!(defaults.is_startup(&taint(
            "startup-taint.cluster-autoscaler.kubernetes.io/gpu-driver"
        )));
        assert!(!defaults.is_startup(&taint("nvidia.com/gpu")));
        let own = StartupTaints(vec!["example.com/warming".into()]);
        assert!(own.is_startup(&taint("example.com/warming")));
        assert!(!own.is_startup(&taint("node.kubernetes.io/not-ready")));
        assert!(own.is_startup(&taint("startup-taint.cluster-autoscaler.kubernetes.io/x")));
    }
}

use jiff::Timestamp;

use super::{
    DaemonSet, Instance, Node, NodeGroup, Pod, PodDisruptionBudget, ProvisioningRequest,
    ScalingActivity,
};

/// Everything the engine decides from, already checked and normalised.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The engine's "now".
    pub captured_at: Timestamp,
    pub cluster_name: String,
    /// Regions in order of preference.
    pub regions: Vec<String>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    pub groups: Vec<NodeGroup>,
    pub instances: Vec<Instance>,
    pub daemonsets: Vec<DaemonSet>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub activities: Vec<ScalingActivity>,
    /// ProvisioningRequests, in namespace/name order.
    pub provisioning_requests: Vec<ProvisioningRequest>,
    /// What could not be read and was left out of this pass or kept only as an obstacle.
    pub left_out: LeftOut,
    /// When ekas removed capacity lately (terminations, drains started, replacements): the
    /// `--max-scale-in-fraction` budget is spent over `--scale-in-window`, not per pass.
    pub recent_removals: Vec<Timestamp>,
    /// Why the view of Nodes or pods may be old (a watch failing for a while): no node is
    /// terminated as dead on it.
    pub stale_view: Option<String>,
}

/// What one pass could not read. One bad object, group or region does not stop the pass: it is
/// left out here, said in the plan, and the rest is planned as usual. Leaving a thing out never
/// makes ekas remove anything: an unreadable pod or Node is kept as an obstacle to every removal
/// of its node, an unreadable PodDisruptionBudget blocks evictions in its namespace, and the
/// members of a left-out group or an unreachable region are nobody's to remove this pass.
#[derive(Debug, Clone, Default)]
pub struct LeftOut {
    pub regions: Vec<UnreachableRegion>,
    pub groups: Vec<LeftOutGroup>,
    pub objects: Vec<UnreadableObject>,
}

impl LeftOut {
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.groups.is_empty() && self.objects.is_empty()
    }
}

/// A region whose AWS half could not be read (an outage, missing permissions, a hung endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreachableRegion {
    pub region: String,
    pub reason: String,
}

/// A group of the cluster that ekas could not turn into a node group (a bad tag, an unknown
/// instance type, a missing launch template): it is neither grown nor shrunk this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOutGroup {
    pub name: String,
    pub region: String,
    pub min_size: u32,
    pub max_size: u32,
    pub desired: u32,
    pub reason: String,
}

/// A Kubernetes object ekas could not read (a malformed quantity, selector or taint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableObject {
    pub kind: ObjectKind,
    /// `None` for a Node.
    pub namespace: Option<String>,
    pub name: String,
    pub reason: String,
    /// What ekas did with it instead.
    pub treatment: &'static str,
}

/// The kinds of object a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub enum ObjectKind {
    Pod,
    Node,
    DaemonSet,
    PodDisruptionBudget,
}

impl UnreadableObject {
    /// `namespace/name`, or the name of a Node.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl ObjectKind {
    /// The Kubernetes kind, as in `involvedObject.kind` and the metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Pod => "Pod",
            ObjectKind::Node => "Node",
            ObjectKind::DaemonSet => "DaemonSet",
            ObjectKind::PodDisruptionBudget => "PodDisruptionBudget",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            ObjectKind::Pod | ObjectKind::Node => "v1",
            ObjectKind::DaemonSet => "apps/v1",
            ObjectKind::PodDisruptionBudget => "policy/v1",
        }
    }
}

impl Snapshot {
    /// Node name → its index in `nodes`.
    pub fn node_index(&self) -> std::collections::HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect()
    }

    /// Per node (as `nodes`): its allocatable less the requests of its active pods — the room
    /// the scheduler sees.
    pub fn free_room(&self) -> Vec<super::Resources> {
        let by_name = self.node_index();
        let mut free: Vec<super::Resources> =
            self.nodes.iter().map(|n| n.allocatable.clone()).collect();
        for pod in &self.pods {
            if let Some(&n) = pod.node_name.as_deref().and_then(|name| by_name.get(name))
                && pod.is_active()
            {
                free[n].sub(&pod.requests);
            }
        }
        free
    }

    /// Rank of a region in the order of preference; unknown regions come last.
    pub fn region_rank(&self, region: &str) -> usize {
        self.regions
            .iter()
            .position(|r| r == region)
            .unwrap_or(self.regions.len())
    }
}

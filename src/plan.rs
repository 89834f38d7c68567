//! The engine's output: every decision of one pass, with its reasons. `ekas plan` prints it;
//! the other subcommands apply parts of it. Serialised as the `ekas plan --output json`
//! document (shared/DESIGN.md); field names are a contract.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub captured_at: Timestamp,
    pub cluster_name: String,
    pub regions: Vec<String>,
    pub summary: Summary,
    pub groups: Vec<GroupStatus>,
    pub scale_ups: Vec<ScaleUp>,
    /// Groups in backoff whose desired capacity is above what launched: set back, so AWS stops
    /// retrying launches that fail and the pods can go elsewhere.
    pub desired_resets: Vec<DesiredReset>,
    /// Every pending pod and where it is expected to run.
    pub pending: Vec<PendingPod>,
    pub unschedulable: Vec<Unschedulable>,
    /// Per-node maintenance decisions (filled by the maintenance planner).
    pub nodes: Vec<NodeAction>,
    /// Per-instance decisions for instances without a node (filled by the maintenance planner).
    pub instances: Vec<InstanceAction>,
    pub backoff: Vec<BackoffEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub pending_pods: usize,
    pub on_existing_nodes: usize,
    pub on_upcoming_nodes: usize,
    pub on_new_nodes: usize,
    pub unschedulable: usize,
    pub new_nodes: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub group: String,
    pub region: String,
    pub instance_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type_note: Option<String>,
    pub min_size: u32,
    pub max_size: u32,
    pub desired: u32,
    /// Nodes registered from this group's instances.
    pub nodes: u32,
    /// Capacity requested but not yet joined.
    pub upcoming: u32,
    pub priority: i64,
    /// Where the template came from: `node/<name>` or `instance-type`.
    pub template: String,
    /// Allocatable of a new node after DaemonSet pods, formatted. Shared by groups with the
    /// same room.
    pub new_node_room: Arc<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleUp {
    pub group: String,
    pub region: String,
    pub instance_type: String,
    pub current_desired: u32,
    pub new_desired: u32,
    /// Nodes the pods need.
    pub nodes_for_pods: u32,
    /// Spare nodes from `--over-provision` (after MaxSize).
    pub over_provision: u32,
    pub pods: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredReset {
    pub group: String,
    pub region: String,
    pub current_desired: u32,
    pub new_desired: u32,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Destination {
    /// Fits free room on a schedulable node.
    ExistingNode,
    /// Fits capacity already requested (desired > registered nodes).
    UpcomingNode,
    /// Needs a node this plan adds.
    NewNode,
    Unschedulable,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPod {
    pub pod: String,
    pub destination: Destination,
    /// The node (existing) or group (upcoming, new) the pod goes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Shared by pods with equal requests: a 100k-pod queue has few distinct ones.
    pub requests: Arc<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unschedulable {
    pub pod: String,
    /// Why each group cannot take the pod, keyed by group name.
    pub reasons: BTreeMap<String, String>,
}

/// What ekas makes of an existing node (the original tool's states, and a few more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Runs pods that need it.
    Busy,
    /// Runs pods, and is cordoned.
    BusyUnschedulable,
    /// Idle, but a pending pod could use it.
    PodPending,
    /// Idle for less than `--idle-threshold`.
    GracePeriod,
    /// One of the idle spares kept per group for `--type-idle-threshold`.
    TypeGracePeriod,
    /// Idle past the threshold and schedulable: cordon it.
    IdleSchedulable,
    /// Idle past the threshold and cordoned by ekas: terminate it.
    IdleUnschedulable,
    /// Below `--drain-utilization-below` with every pod drainable: drain it.
    UnderUtilizedDrainable,
    /// Below `--drain-utilization-below`, but some pod cannot be evicted now.
    UnderUtilizedUndrainable,
    /// A drain is under way (annotation `ekas/drain-started`).
    Draining,
    /// Its group cannot shrink below MinSize.
    AsgMinSize,
    /// NotReady for longer than `--dead-threshold`.
    Dead,
    /// Its instance is terminated: only the Node object is left.
    InstanceTerminated,
    /// Labelled `ekas/detached=true`: left alone.
    Detached,
    /// Joined less than `--launch-grace` ago: given time to receive pods.
    LaunchGrace,
    /// Its instance is protected from scale-in: never drained or terminated.
    ScaleInProtected,
    /// Cordoned by somebody else: left alone.
    CordonedByOthers,
    /// Not in a node group ekas manages.
    Unmanaged,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Busy => "busy",
            NodeState::BusyUnschedulable => "busy-unschedulable",
            NodeState::PodPending => "pod-pending",
            NodeState::GracePeriod => "grace-period",
            NodeState::TypeGracePeriod => "type-grace-period",
            NodeState::IdleSchedulable => "idle-schedulable",
            NodeState::IdleUnschedulable => "idle-unschedulable",
            NodeState::UnderUtilizedDrainable => "under-utilized-drainable",
            NodeState::UnderUtilizedUndrainable => "under-utilized-undrainable",
            NodeState::Draining => "draining",
            NodeState::AsgMinSize => "asg-min-size",
            NodeState::Dead => "dead",
            NodeState::InstanceTerminated => "instance-terminated",
            NodeState::Detached => "detached",
            NodeState::LaunchGrace => "launch-grace",
            NodeState::ScaleInProtected => "scale-in-protected",
            NodeState::CordonedByOthers => "cordoned-by-others",
            NodeState::Unmanaged => "unmanaged",
        }
    }
}

/// What a pass does to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeActionKind {
    None,
    /// Record `ekas/idle-since`.
    MarkIdle,
    /// Remove `ekas/idle-since`: the node is in use again.
    ClearIdle,
    Uncordon,
    Cordon,
    /// Cordon (if needed) and evict its pods; a later pass terminates it.
    Drain,
    /// Terminate the instance (lowering desired capacity when `decrement`) and delete the Node.
    Terminate,
    /// Delete the Node object only.
    DeleteNode,
}

impl NodeActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeActionKind::None => "none",
            NodeActionKind::MarkIdle => "mark-idle",
            NodeActionKind::ClearIdle => "clear-idle",
            NodeActionKind::Uncordon => "uncordon",
            NodeActionKind::Cordon => "cordon",
            NodeActionKind::Drain => "drain",
            NodeActionKind::Terminate => "terminate",
            NodeActionKind::DeleteNode => "delete-node",
        }
    }

    /// Takes capacity away: counted against the scale-in brakes.
    pub fn removes_capacity(self) -> bool {
        matches!(self, NodeActionKind::Drain | NodeActionKind::Terminate)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAction {
    pub name: String,
    pub group: Option<String>,
    pub region: Option<String>,
    pub instance_id: Option<String>,
    pub state: NodeState,
    pub action: NodeActionKind,
    /// Terminating also lowers the group's desired capacity (never below MinSize).
    pub decrement: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceActionKind {
    /// Still within `--instance-init-time`: waiting for it to join.
    Wait,
    /// Never joined: terminate without lowering desired capacity, so the group replaces it.
    Replace,
    /// Protected from scale-in: left alone.
    None,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAction {
    pub instance_id: String,
    pub group: Option<String>,
    pub region: String,
    pub action: InstanceActionKind,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffEntry {
    pub group: String,
    pub region: String,
    pub until: Timestamp,
    pub reason: String,
    pub failures: u32,
    pub message: String,
}

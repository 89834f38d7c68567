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
    /// Gangs with pending pods, and whether each starts whole; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gangs: Vec<GangStatus>,
    /// ProvisioningRequests and ekas's answer to each; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provisioning_requests: Vec<ProvisioningRequestStatus>,
    /// Per-node maintenance decisions (filled by the maintenance planner).
    pub nodes: Vec<NodeAction>,
    /// Per-instance decisions for instances without a node (filled by the maintenance planner).
    pub instances: Vec<InstanceAction>,
    pub backoff: Vec<BackoffEntry>,
    /// Pods held back by `spec.schedulingGates` (`namespace/name`): not pending for scale-up.
    pub gated: Vec<String>,
    /// Whether too many nodes are NotReady to trust the cluster with removals.
    pub cluster_health: ClusterHealth,
    /// Tags ekas sets or removes on groups: its memory of capacity requested but not launched.
    pub group_marks: Vec<GroupMark>,
    /// Things an operator should know that are not actions.
    pub warnings: Vec<PlanWarning>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub pending_pods: usize,
    pub on_existing_nodes: usize,
    pub on_upcoming_nodes: usize,
    pub on_new_nodes: usize,
    pub unschedulable: usize,
    /// Nominated, expendable and waiting pods: pending, but buying no node.
    pub not_scaled_for: usize,
    pub new_nodes: u32,
    /// Pods held back by scheduling gates, not counted in `pending_pods`.
    pub gated: usize,
    /// Dollars per hour the scale-ups add; absent when a group that grows has no known price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
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
    /// Capacity requested but not yet started: not launched, launched but not joined, or
    /// joined but still starting.
    pub upcoming: u32,
    /// Nodes of the group still starting (counted in `upcoming`).
    pub starting: u32,
    pub priority: i64,
    /// `on-demand`, `spot` or `mixed` (then with `onDemandBase` and `onDemandPercentage`).
    pub capacity_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_base: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_percentage: Option<u32>,
    /// Interruption notices for its instances in the last hour (`ekas run` only).
    pub interruptions: u32,
    /// Dollars per hour of one new node, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly_price: Option<f64>,
    /// Where `hourly_price` came from: `price-file`, `snapshot` or `bundled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_source: Option<crate::pricing::PriceSource>,
    /// Where the template came from: `node/<name>` or `instance-type`.
    pub template: String,
    /// Allocatable of a new node after DaemonSet pods, formatted. Shared by groups with the
    /// same room.
    pub new_node_room: Arc<BTreeMap<String, String>>,
    /// Why the group could not be read and was left out of this pass (neither grown nor
    /// shrunk); absent for groups planned as usual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
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
    /// Dollars per hour the added nodes cost, when the group's price is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_hour: Option<f64>,
    /// `cost_per_hour` over the cpu cores its pods request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_requested_vcpu: Option<f64>,
    pub pods: Vec<String>,
    /// ProvisioningRequests (`namespace/name`) some of whose pods the new nodes are for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provisioning_requests: Vec<String>,
}

impl ScaleUp {
    /// Whom the new nodes are for: "3 pods", "0 pods and ProvisioningRequest batch/train".
    pub fn for_whom(&self) -> String {
        let pods = format!("{} pod(s)", self.pods.len());
        match self.provisioning_requests.as_slice() {
            [] => pods,
            [one] => format!("{pods} and ProvisioningRequest {one}"),
            many => format!("{pods} and ProvisioningRequests {}", many.join(", ")),
        }
    }
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
    /// Preemption is making room on its nominated node (`target`): it fits there once pods of
    /// lower priority are evicted, and buys no node.
    Nominated,
    /// Priority below `--expendable-pods-priority-cutoff`: never buys a node.
    Expendable,
    /// Younger than `--new-pod-scale-up-delay`, or (with `--scale-up-only-unschedulable`) not
    /// yet marked unschedulable by the scheduler, or the cluster is unhealthy: buys no node yet.
    Waiting,
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
    /// The gang (`namespace/name`) that does not fit and holds the pod back; every group then
    /// gives the gang's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gang: Option<String>,
}

/// A gang's pending pods, planned as one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GangStatus {
    /// `namespace/name` of its PodGroup.
    pub gang: String,
    /// The pods of a ProvisioningRequest: shown as the request, not as a gang.
    #[serde(skip)]
    pub from_request: bool,
    /// Its pending pods.
    pub pods: usize,
    /// Its PodGroup's `spec.minMember`, or all its pods when there is no PodGroup.
    pub min_member: u32,
    pub verdict: GangVerdict,
    /// How many fit, and when they do not all fit, what stopped the rest.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GangVerdict {
    /// Enough of its pods have a destination: they are planned as usual.
    Fits,
    /// Too few would: none of its pods is planned anywhere or buys anything.
    DoesNotFit,
}

/// A ProvisioningRequest and ekas's answer to it this pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRequestStatus {
    /// `namespace/name`.
    pub request: String,
    /// `spec.provisioningClassName`.
    pub class: String,
    /// Pods it asks room for, over all its pod sets.
    pub pods: u32,
    pub verdict: RequestVerdict,
    pub reason: String,
    /// Groups that scale up for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Conditions set on it this pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<ConditionChange>,
    /// Its whole condition list once `set` is applied (what the status update writes); empty
    /// when nothing changes.
    #[serde(skip)]
    pub conditions: Vec<crate::model::RequestCondition>,
}

/// One condition set on a ProvisioningRequest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionChange {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

impl ProvisioningRequestStatus {
    /// The conditions set this pass, as tables and logs show them:
    /// `Accepted=True (Accepted), Provisioned=True (CapacityIsFound)`.
    pub fn sets(&self) -> String {
        let sets: Vec<String> = self
            .set
            .iter()
            .map(|c| format!("{}={} ({})", c.kind, c.status, c.reason))
            .collect();
        sets.join(", ")
    }
}

/// What ekas answers a ProvisioningRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestVerdict {
    /// All its pods fit the room there is: `Provisioned=True` (`CapacityIsFound`).
    CapacityFound,
    /// Nodes are bought for its pods: `Provisioned=True` (`CapacityIsProvisioned`) once they
    /// are requested.
    ScaleUp,
    /// Not all its pods fit: `Provisioned=False` (`CapacityIsNotFound`), asked again next
    /// pass.
    NotFound,
    /// `Failed=True`: its pods can never fit, it asked for no retry, or it waited a week.
    Failed,
    /// Provisioned: room is held for the pods still to come.
    Booked,
    /// The booking ran out before its pods arrived: `BookingExpired=True`.
    BookingExpired,
    /// Provisioned, and all its pods arrived.
    Consumed,
    /// Already failed or expired: nothing more to do.
    Finished,
    /// Its PodTemplates are missing or unreadable.
    Invalid,
    /// Another provisioning class.
    NotOurs,
}

impl Serialize for RequestVerdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl RequestVerdict {
    /// As in JSON, tables and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestVerdict::CapacityFound => "capacity-found",
            RequestVerdict::ScaleUp => "scale-up",
            RequestVerdict::NotFound => "not-found",
            RequestVerdict::Failed => "failed",
            RequestVerdict::Booked => "booked",
            RequestVerdict::BookingExpired => "booking-expired",
            RequestVerdict::Consumed => "consumed",
            RequestVerdict::Finished => "finished",
            RequestVerdict::Invalid => "invalid",
            RequestVerdict::NotOurs => "not-ours",
        }
    }
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
    /// Idle, but it holds room a ProvisioningRequest checked for or booked: never scaled in
    /// while the booking lasts.
    Booked,
    /// Idle between the pods of a Job: a Job that ran a pod here has pods waiting (gated, or
    /// pending and sent to no existing node) that would run here too. Its idle time counts: kept
    /// until it has been idle twice `--idle-threshold`, then treated as any idle node.
    JobPending,
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
    /// Its instance is protected from scale-in and `--respect-scale-in-protection` is given:
    /// never drained or terminated.
    ScaleInProtected,
    /// Annotated `cluster-autoscaler.kubernetes.io/scale-down-disabled`: left alone.
    ScaleDownDisabled,
    /// Registered, but not yet Ready, untainted and advertising what its group promises:
    /// capacity on its way.
    Starting,
    /// Outside every group, and EC2 said it does not know its instance: looked at again
    /// before the Node is deleted.
    InstanceNotFound,
    /// Cordoned by somebody else: left alone.
    CordonedByOthers,
    /// Not in a node group ekas manages.
    Unmanaged,
    /// Its allocatable or taints could not be read: left alone until they can.
    Unreadable,
    /// An interruption notice is recorded on it (`ekas/interruption`): cordoned while its pods
    /// finish, drained when the change is near, released when a hint has no follow-up.
    Interrupted,
    /// Consolidated by attrition (`ekas.dev/consolidating`): new pods go elsewhere while its
    /// own finish; removed once idle.
    Consolidating,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Busy => "busy",
            NodeState::BusyUnschedulable => "busy-unschedulable",
            NodeState::PodPending => "pod-pending",
            NodeState::Booked => "booked",
            NodeState::JobPending => "job-pending",
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
            NodeState::ScaleDownDisabled => "scale-down-disabled",
            NodeState::Starting => "starting",
            NodeState::InstanceNotFound => "instance-not-found",
            NodeState::CordonedByOthers => "cordoned-by-others",
            NodeState::Unmanaged => "unmanaged",
            NodeState::Unreadable => "unreadable",
            NodeState::Interrupted => "interrupted",
            NodeState::Consolidating => "consolidating",
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
    /// Record `ekas/instance-not-found-since`: EC2 does not know the node's instance.
    MarkInstanceNotFound,
    /// Remove `ekas/instance-not-found-since`: EC2 knows the instance again.
    ClearInstanceNotFound,
    /// Cordon and evict whatever may move, running jobs included: its instance is about to go
    /// (`interruptionDue`). One round a pass, until only what may not move is left.
    InterruptionDrain,
    /// Uncordon (when ekas cordoned it) and remove the interruption notice: a hint AWS did not
    /// follow up on, or a change that has passed with the node Ready.
    ClearInterruption,
    /// Taint `ekas.dev/consolidating:PreferNoSchedule` and annotate when: its pods would fit
    /// on the other nodes (or a cheaper group), so new pods should go there.
    Consolidate,
    /// Remove the consolidation taint and annotation: pending pods need the room, or the node
    /// can no longer be removed.
    ClearConsolidation,
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
            NodeActionKind::MarkInstanceNotFound => "mark-instance-not-found",
            NodeActionKind::ClearInstanceNotFound => "clear-instance-not-found",
            NodeActionKind::InterruptionDrain => "interruption-drain",
            NodeActionKind::ClearInterruption => "clear-interruption",
            NodeActionKind::Consolidate => "consolidate",
            NodeActionKind::ClearConsolidation => "clear-consolidation",
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
    /// When the interruption recorded on the node is due, for a dated one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interruption_due: Option<Timestamp>,
    /// The action is a removal the `--max-scale-in-fraction` budget counts (a termination
    /// other than of a node ekas drained, or a drain begun): recorded once it is done.
    #[serde(skip)]
    pub charged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceActionKind {
    /// Still within `--instance-init-time`: waiting for it to join.
    Wait,
    /// Never joined: terminate without lowering desired capacity, so the group replaces it.
    Replace,
    /// Left alone: protected from scale-in, in doubt whether a Node is it, or held back by a
    /// brake.
    None,
}

impl InstanceActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceActionKind::Wait => "wait",
            InstanceActionKind::Replace => "replace",
            InstanceActionKind::None => "none",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAction {
    pub instance_id: String,
    pub group: Option<String>,
    pub region: String,
    pub action: InstanceActionKind,
    pub reason: String,
    /// The names a Node of this instance would answer to: looked up again right before a
    /// replacement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_dns: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
}

/// cluster-autoscaler's health rule: the cluster is unhealthy when more than
/// `--ok-total-unready-count` nodes, and more than `--max-total-unready-percentage` of all
/// nodes, are NotReady after having started. Nodes still starting do not count as unready.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterHealth {
    pub healthy: bool,
    pub nodes: usize,
    pub unready: usize,
    pub starting: usize,
    /// One sentence for people: the counts and the thresholds.
    pub reason: String,
}

/// A tag to set (`value`) or remove (no `value`) on a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMark {
    pub group: String,
    pub region: String,
    pub tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A group without `NewInstancesProtectedFromScaleIn`.
    UnprotectedGroup,
    /// A group's members without a Node cannot be told apart from Nodes without an instance.
    MatchingInDoubt,
    /// Too many nodes are NotReady: nothing is removed.
    ClusterUnhealthy,
    /// A region's AWS half could not be read: planned without it.
    RegionUnreachable,
    /// A group could not be read (a bad tag, an unknown instance type): left out of the pass.
    GroupLeftOut,
    /// A Kubernetes object could not be read: kept only as an obstacle, or left out.
    UnreadableObject,
    /// The view of Nodes or pods may be old (a watch failing): dead nodes are kept.
    StaleView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanWarning {
    pub kind: WarningKind,
    /// What it is about: a group, or the cluster.
    pub subject: String,
    pub message: String,
    /// The Kubernetes object it is about, when it is one (events are recorded on it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<WarnedObject>,
}

/// A Kubernetes object a warning is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarnedObject {
    pub kind: crate::model::ObjectKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
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

use std::sync::Arc;

use jiff::Timestamp;

use super::resources::Resources;
use super::scheduling::{LabelSelector, Labels, Placement};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    pub fn parse(s: Option<&str>) -> PodPhase {
        match s {
            Some("Running") => PodPhase::Running,
            Some("Succeeded") => PodPhase::Succeeded,
            Some("Failed") => PodPhase::Failed,
            Some("Unknown") => PodPhase::Unknown,
            // A pod the API server has not given a phase yet is waiting to be scheduled.
            _ => PodPhase::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    /// `metadata.uid`, for the Events ekas records on the pod.
    pub uid: Option<String>,
    pub node_name: Option<String>,
    pub phase: PodPhase,
    /// Has a deletionTimestamp.
    pub deleting: bool,
    /// Effective request: what the scheduler reserves for the pod, including one pod slot.
    pub requests: Resources,
    /// Shared between pods with the same labels (the loop's cache interns them): the pods of
    /// one job usually differ in name only.
    pub labels: Arc<Labels>,
    /// Shared between pods of one template, so equivalent pods compare cheaply.
    pub placement: Arc<Placement>,
    /// The controlling owner reference, if any.
    pub controller: Option<Owner>,
    /// A static pod's mirror (annotation `kubernetes.io/config.mirror`).
    pub mirror: bool,
    pub created: Option<Timestamp>,
    /// Annotated or labelled never to be evicted.
    pub do_not_evict: bool,
    /// Uses emptyDir volumes (data lost on eviction).
    pub local_storage: bool,
    /// Uses hostPath volumes: scale-in treats them like emptyDir, as cluster-autoscaler does.
    pub host_path: bool,
    /// Has `spec.schedulingGates`: a queue (Kueue, …) holds it back; no node is bought for it.
    pub gated: bool,
    /// Runs to completion: owned by a Job, or `restartPolicy` Never or OnFailure. Evicting it
    /// throws its work away.
    pub runs_to_completion: bool,
    /// Priority and what the scheduler has said about the pod.
    pub scheduling: SchedulingState,
    /// Its spec could not be read (see [`super::LeftOut`]): never scaled for, never evicted,
    /// and its node is taken as full.
    pub unreadable: bool,
    /// The gang it must start with, if any.
    pub gang: Option<Gang>,
    /// The ProvisioningRequest (same namespace) whose capacity it uses (annotation
    /// `autoscaling.x-k8s.io/consume-provisioning-request`).
    pub consumes: Option<String>,
    /// Not a real pod: one a ProvisioningRequest asks room for, added by the engine.
    pub requested_by: Option<RequestedBy>,
}

/// What a pod the engine adds for a ProvisioningRequest stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedBy {
    /// Index into `Snapshot::provisioning_requests`.
    pub request: usize,
    /// Takes free room and capacity already requested, never a new node: a check-capacity
    /// request, or capacity already booked.
    pub hold_only: bool,
}

/// A gang: pods that must start together, named by a PodGroup of the coscheduling plugin
/// (label `scheduling.x-k8s.io/pod-group`) or of Volcano (annotation
/// `scheduling.k8s.io/group-name`). Its pods share one value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gang {
    pub namespace: String,
    pub name: String,
    /// `spec.minMember` of its PodGroup, when the snapshot has the PodGroup: how many of its
    /// pods must run at once. `None`: every pod of the gang.
    pub min_member: Option<u32>,
    /// The pods of a ProvisioningRequest (named `name`), not of a PodGroup.
    pub from_request: bool,
}

impl Gang {
    /// `namespace/name`, the gang's name in every output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A pod's priority and what the scheduler has recorded on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulingState {
    /// `spec.priority`, resolved from its PriorityClass at admission; 0 when unset.
    pub priority: i32,
    /// `status.nominatedNodeName`: preemption is making room for the pod on that node.
    pub nominated_node: Option<String>,
    /// `PodScheduled=False` with reason `Unschedulable`: the scheduler tried every node and
    /// gave up.
    pub unschedulable: bool,
}

impl Pod {
    /// `namespace/name`, the pod's name in every output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn is_daemonset(&self) -> bool {
        self.controller
            .as_ref()
            .is_some_and(|o| o.kind == "DaemonSet")
    }

    /// Still holds (or will hold) resources on its node: not finished.
    pub fn is_active(&self) -> bool {
        !matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }

    /// Waiting for a node: not bound, not finishing, not being deleted, not held back by a
    /// scheduling gate. DaemonSet pods are left out: they are bound to one existing node and
    /// never need a new one.
    pub fn is_pending(&self) -> bool {
        self.is_unbound() && !self.gated && !self.unreadable
    }

    /// Would be pending but for its scheduling gates.
    pub fn is_gated(&self) -> bool {
        self.is_unbound() && self.gated
    }

    fn is_unbound(&self) -> bool {
        self.node_name.is_none()
            && self.phase == PodPhase::Pending
            && !self.deleting
            && !self.is_daemonset()
    }
}

/// What one pod of a DaemonSet would take on a new node, and where it runs.
#[derive(Debug, Clone)]
pub struct DaemonSet {
    pub namespace: String,
    pub name: String,
    pub requests: Resources,
    pub placement: Arc<Placement>,
}

#[derive(Debug, Clone)]
pub struct PodDisruptionBudget {
    pub namespace: String,
    pub name: String,
    pub selector: LabelSelector,
    pub disruptions_allowed: i32,
}

use jiff::Timestamp;

use super::resources::Resources;
use super::scheduling::{Labels, Taint};

/// The shape of a node a group would add: what the scheduler will see on it.
#[derive(Debug, Clone)]
pub struct NodeTemplate {
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// Allocatable of a new node, before DaemonSet pods take their share.
    pub allocatable: Resources,
    pub source: TemplateSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// Copied from a Ready node of the group.
    Node(String),
    /// Built from the instance type, tags and the kubelet reservation.
    InstanceType,
}

/// An Auto Scaling Group that belongs to the cluster.
#[derive(Debug, Clone)]
pub struct NodeGroup {
    pub name: String,
    pub region: String,
    pub min_size: u32,
    pub max_size: u32,
    pub desired: u32,
    pub instance_type: String,
    /// How the instance type was chosen, when there was a choice (mixed-instances policies).
    pub instance_type_note: Option<String>,
    /// Tag `ekas/priority`; higher is preferred.
    pub priority: i64,
    /// Dollars per hour of one of its instances, when known.
    pub price: Option<super::price::HourlyPrice>,
    pub zones: Vec<String>,
    /// Members, as listed by the group, with their lifecycle state.
    pub members: Vec<GroupMember>,
    pub template: NodeTemplate,
    /// `NewInstancesProtectedFromScaleIn`, when known. Without it, AWS picks which instances
    /// to terminate whenever the desired capacity drops.
    pub new_instances_protected: Option<bool>,
    /// Tag `ekas/unlaunched-since`: since when ekas has seen desired capacity above the
    /// group's instances with nothing launching.
    pub unlaunched_since: Option<Timestamp>,
    /// On-demand, Spot or a mix of both.
    pub capacity: CapacityType,
    /// Interruption notices for its instances in the last hour (`ekas run
    /// --interruption-queue`; process memory, not part of a snapshot file).
    pub recent_interruptions: u32,
}

/// What a group's instances are bought as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CapacityType {
    #[default]
    OnDemand,
    Spot,
    /// A mixed-instances policy: this many on-demand instances first, then this share of the
    /// rest on-demand and the remainder Spot.
    Mixed {
        on_demand_base: u32,
        on_demand_percentage: u32,
    },
}

impl CapacityType {
    pub fn name(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "on-demand",
            CapacityType::Spot => "spot",
            CapacityType::Mixed { .. } => "mixed",
        }
    }
}

impl std::fmt::Display for CapacityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CapacityType::Mixed {
                on_demand_base,
                on_demand_percentage,
            } => write!(
                f,
                "mixed ({on_demand_base} on-demand, then {on_demand_percentage}% on-demand)"
            ),
            other => f.write_str(other.name()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GroupMember {
    pub instance_id: String,
    pub lifecycle_state: String,
    pub protected_from_scale_in: bool,
}

impl GroupMember {
    /// On its way in or in service (not leaving the group).
    pub fn is_live(&self) -> bool {
        !(self.lifecycle_state.starts_with("Terminat")
            || self.lifecycle_state.starts_with("Detach")
            || self.lifecycle_state.starts_with("Warmed"))
    }
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub region: String,
    pub group: Option<String>,
    pub instance_type: String,
    pub zone: Option<String>,
    /// EC2 state name: pending, running, shutting-down, terminated, stopping, stopped.
    pub state: String,
    pub launch_time: Option<Timestamp>,
    pub private_dns: Option<String>,
    pub private_ip: Option<String>,
}

impl Instance {
    /// The state of an instance EC2 answered `InvalidInstanceID.NotFound` for in this pass.
    pub const NOT_FOUND: &str = "not-found";

    /// EC2 reports it terminated or terminating.
    pub fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "terminated" | "shutting-down")
    }

    pub fn is_not_found(&self) -> bool {
        self.state == Self::NOT_FOUND
    }

    /// Launching or running: a machine that can still become, or be, a node.
    pub fn is_up(&self) -> bool {
        matches!(self.state.as_str(), "pending" | "running")
    }
}

/// One entry of DescribeScalingActivities.
#[derive(Debug, Clone)]
pub struct ScalingActivity {
    pub region: String,
    pub group: String,
    pub status_code: String,
    pub status_message: String,
    pub description: String,
    pub cause: String,
    pub start_time: Timestamp,
    pub end_time: Option<Timestamp>,
}

//! Plain data the engine decides from: quantities, resources, and summaries of pods, nodes,
//! node groups and instances, gathered into a [`Snapshot`]. No I/O and no decisions here.

pub mod group;
pub mod keys;
pub mod node;
pub mod pod;
pub mod price;
pub mod provisioning;
pub mod quantity;
pub mod resources;
pub mod scheduling;
pub mod snapshot;

pub use group::{Instance, NodeGroup, NodeTemplate, ScalingActivity, TemplateSource};
pub use node::{InterruptionMark, MatchedBy, Node, NodeAddresses, NodeMarks, StartupTaints};
pub use pod::{DaemonSet, Gang, Owner, Pod, PodDisruptionBudget, PodPhase, SchedulingState};
pub use provisioning::{ProvisioningClass, ProvisioningRequest, RequestCondition, RequestedPods};
pub use resources::Resources;
pub use snapshot::{
    LeftOut, LeftOutGroup, ObjectKind, Snapshot, UnreachableRegion, UnreadableObject,
};

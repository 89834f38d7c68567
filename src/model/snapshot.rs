use jiff::Timestamp;

use super::{DaemonSet, Instance, Node, NodeGroup, Pod, PodDisruptionBudget, ScalingActivity};

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
}

impl Snapshot {
    /// Rank of a region in the order of preference; unknown regions come last.
    pub fn region_rank(&self, region: &str) -> usize {
        self.regions
            .iter()
            .position(|r| r == region)
            .unwrap_or(self.regions.len())
    }
}

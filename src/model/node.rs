use jiff::Timestamp;

use super::resources::Resources;
use super::scheduling::{Labels, Taint};

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub provider_id: Option<String>,
    /// EC2 instance id from a providerID of the form `aws:///<az>/<instance-id>`.
    pub instance_id: Option<String>,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub allocatable: Resources,
    pub ready: bool,
    pub unschedulable: bool,
    pub created: Option<Timestamp>,
    /// When the Ready condition last changed: for a node that is not Ready, since when.
    pub ready_changed: Option<Timestamp>,
    pub marks: NodeMarks,
}

/// What ekas (or the tool it replaces) recorded on the node: its memory across passes,
/// processes and cron runs (shared/DESIGN.md, keys in [`super::keys`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeMarks {
    /// Cordoned by ekas, so ekas may uncordon it.
    pub cordoned_by_ekas: bool,
    /// Labelled to be left alone.
    pub detached: bool,
    pub idle_since: Option<Timestamp>,
    pub drain_started: Option<Timestamp>,
}

impl Node {
    /// The instance id in an AWS providerID (`aws:///us-west-2a/i-0abc`, also `aws://us-west-2a/i-0abc`).
    pub fn instance_id_from_provider_id(provider_id: &str) -> Option<String> {
        let rest = provider_id.strip_prefix("aws://")?;
        let id = rest.rsplit('/').next()?;
        id.starts_with("i-").then(|| id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids() {
        let id = Node::instance_id_from_provider_id;
        assert_eq!(id("aws:///us-west-2a/i-0abc").as_deref(), Some("i-0abc"));
        assert_eq!(id("aws://us-west-2a/i-0abc").as_deref(), Some("i-0abc"));
        assert_eq!(id("gce://project/zone/name"), None);
        assert_eq!(id("aws:///us-west-2a/fargate-ip-1"), None);
    }
}

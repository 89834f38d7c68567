//! Which group each Node belongs to — through the instance it was matched to
//! (the `ekas` crate's `decode::matching`) — and whether ekas may trust that a group's members without a
//! Node never joined (shared/DESIGN.md, safety invariant 6). A member "without a Node" may be
//! a Node ekas failed to match: one that claims no instance and registered after the member
//! launched. While such a Node exists, the member is not replaced.

use std::collections::{HashMap, HashSet};

use jiff::SignedDuration;

use crate::model::group::GroupMember;
use crate::model::{Instance, Snapshot};

/// Clocks differ a little between EC2 (launch times) and the API server (creation times).
const CLOCK_SLACK: SignedDuration = SignedDuration::from_mins(5);

pub struct Membership<'a> {
    /// Each node's group (index into `snapshot.groups`), in the order of `snapshot.nodes`.
    pub node_group: Vec<Option<usize>>,
    /// Instance id → its group (index) and membership record, for every group member.
    member_of: HashMap<&'a str, (usize, &'a GroupMember)>,
    /// Instance ids some Node is matched to.
    claimed: HashSet<&'a str>,
}

impl<'a> Membership<'a> {
    pub fn new(snapshot: &'a Snapshot) -> Membership<'a> {
        let member_of: HashMap<&str, (usize, &GroupMember)> = snapshot
            .groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| {
                group
                    .members
                    .iter()
                    .map(move |m| (m.instance_id.as_str(), (g, m)))
            })
            .collect();
        let node_group = snapshot
            .nodes
            .iter()
            .map(|n| {
                let id = n.instance_id.as_deref()?;
                member_of.get(id).map(|&(g, _)| g)
            })
            .collect();
        let claimed = snapshot
            .nodes
            .iter()
            .filter_map(|n| n.instance_id.as_deref())
            .collect();
        Membership {
            node_group,
            member_of,
            claimed,
        }
    }

    /// The group (index) and membership record of an instance.
    pub fn member(&self, instance_id: &str) -> Option<(usize, &'a GroupMember)> {
        self.member_of.get(instance_id).copied()
    }

    /// Whether some Node is matched to the instance.
    pub fn claimed(&self, instance_id: &str) -> bool {
        self.claimed.contains(instance_id)
    }
}

/// Why the members of a group that ekas would replace (`replacing`) might have a Node after
/// all, or None when no Node could be one of them. `unmatched` of the group's `live` members
/// have no Node.
pub fn doubt(
    snapshot: &Snapshot,
    unmatched: usize,
    live: usize,
    replacing: &[&Instance],
) -> Option<String> {
    if replacing.is_empty() {
        return None;
    }
    // A Node registered before the earliest of them launched cannot be one of them.
    let earliest = replacing
        .iter()
        .map(|i| i.launch_time)
        .min()
        .flatten()
        .map(|t| t.saturating_sub(CLOCK_SLACK).unwrap_or(t));
    let mut suspects: Vec<&str> = snapshot
        .nodes
        .iter()
        .filter(|n| n.instance_id.is_none())
        .filter(|n| match (n.created, earliest) {
            (Some(created), Some(earliest)) => created >= earliest,
            _ => true,
        })
        .map(|n| n.name.as_str())
        .collect();
    if suspects.is_empty() {
        return None;
    }
    suspects.sort_unstable();
    const SHOWN: usize = 3;
    let mut names = suspects
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if suspects.len() > SHOWN {
        names.push_str(&format!(" and {} more", suspects.len() - SHOWN));
    }
    Some(format!(
        "{unmatched} of {live} members match no Node by providerID, private DNS, IP or aws/id \
         label, and {} Node(s) that registered since they launched claim no instance ({names}); \
         none is replaced while either could be the other",
        suspects.len()
    ))
}

//! Where a drained node's pods would go. Draining a busy node to save money only works when its
//! pods fit on the nodes that stay: otherwise they wait for a new node, which the next pass finds
//! under-used in its turn, and the same jobs are evicted over and over.
//!
//! 1. [`Snapshot::free_room`]: each node's allocatable less its active pods' requests (the planner's
//!    starting bins use the same rule).
//! 2. [`SpareRoom::new`]: that room on nodes that take pods now, less what this plan's pending
//!    pods take there — pending pods come first.
//! 3. [`SpareRoom::rehome`]: first fit of a node's pods, by requests and the scheduler's static
//!    filters (cordon, taints, node selector and affinity, volumes' zones), all or nothing.
//!
//! Pod affinity, anti-affinity and topology spread are not checked: a `true` means the room is
//! there, not that the scheduler will agree, so drains stay a choice for `--drain-utilization-below`
//! to make, never a promise.

use std::collections::HashMap;

use crate::engine::capacity::startup::NodeUse;
use crate::engine::scale_up::predicates::{NodeShape, static_fit};
use crate::model::{Pod, Resources, Snapshot};

/// Room left for evicted pods, per node; `None` for a node that takes none.
#[derive(Debug, Clone)]
pub struct SpareRoom {
    free: Vec<Option<Resources>>,
}

impl SpareRoom {
    /// `planned`: the nodes this plan's pending pods go to, with each pod's requests.
    pub fn new<'a>(
        snapshot: &Snapshot,
        node_use: &[NodeUse],
        planned: impl IntoIterator<Item = (usize, &'a Resources)>,
    ) -> SpareRoom {
        let mut free: Vec<Option<Resources>> = snapshot
            .free_room()
            .into_iter()
            .zip(node_use)
            .map(|(room, use_)| (*use_ == NodeUse::Bin).then_some(room))
            .collect();
        for (n, requests) in planned {
            if let Some(room) = &mut free[n] {
                room.sub(requests);
            }
        }
        SpareRoom { free }
    }

    /// Node `n` takes no more pods: it is leaving too.
    pub fn close(&mut self, n: usize) {
        self.free[n] = None;
    }

    /// Places every pod on nodes other than `leaving`, first fit in node order, and keeps the
    /// room taken; returns the nodes that receive pods. Takes nothing when a pod fits nowhere,
    /// and returns that pod.
    pub fn rehome<'p>(
        &mut self,
        snapshot: &Snapshot,
        leaving: usize,
        pods: &[&'p Pod],
    ) -> Result<Vec<usize>, &'p Pod> {
        // What this node's pods take, per receiving node, until all are placed.
        let mut taken: HashMap<usize, Resources> = HashMap::new();
        for &pod in pods {
            let home = (0..self.free.len()).find(|&n| {
                let Some(room) = self.free[n].as_ref().filter(|_| n != leaving) else {
                    return false;
                };
                let wanted = match taken.get(&n) {
                    Some(t) => t.plus(&pod.requests),
                    None => pod.requests.clone(),
                };
                wanted.fits_in(room)
                    && static_fit(
                        &pod.placement,
                        NodeShape::of_node(&snapshot.nodes[n], false),
                    )
                    .is_ok()
            });
            let Some(n) = home else {
                return Err(pod);
            };
            let t = taken.entry(n).or_default();
            *t = t.plus(&pod.requests);
        }
        let mut receivers: Vec<usize> = taken.keys().copied().collect();
        receivers.sort_unstable();
        for (n, t) in taken {
            if let Some(room) = &mut self.free[n] {
                room.sub(&t);
            }
        }
        Ok(receivers)
    }
}

//! The brakes that keep scale-in safe, applied to the nodes' own decisions: nothing removed
//! while the cluster looks unhealthy or the view of it may be old, then each removal in a fixed
//! order against MinSize, `--max-scale-in-fraction` per `--scale-in-window`,
//! PodDisruptionBudgets, `--max-concurrent-drains`, and room for a drained node's pods.

use std::collections::HashMap;

use jiff::SignedDuration;

use super::facts::{Facts, budget_refusal};
use super::rehome::SpareRoom;
use super::{Decided, MaintenanceConfig, PassFacts};
use crate::model::Snapshot;
use crate::plan::{
    ClusterHealth, InstanceAction, InstanceActionKind, NodeActionKind, NodeState, PlanWarning,
    WarningKind,
};

/// The brakes one pass shares across its nodes.
pub(super) struct Brakes {
    /// Removals left under `--max-scale-in-fraction`, after those of the window so far.
    pub(super) removals_left: usize,
    drains_left: usize,
    /// Planned decrements per group (by index), so no group goes below MinSize.
    decrements: HashMap<usize, u32>,
    /// Evictions each PodDisruptionBudget still allows this pass, spent by the drains chosen.
    allowance: Vec<i32>,
}

impl Brakes {
    /// The pass's budgets: removals left in the window, drains left, each budget's allowance.
    pub(super) fn new(
        snapshot: &Snapshot,
        config: &MaintenanceConfig,
        facts: &[Facts<'_>],
    ) -> Brakes {
        let managed = snapshot
            .groups
            .iter()
            .flat_map(|g| &g.members)
            .filter(|m| m.is_live())
            .count();
        let already_draining = facts
            .iter()
            .filter(|f| f.node.marks.drain_started.is_some() && f.group.is_some())
            .count();
        Brakes {
            allowance: snapshot
                .pdbs
                .iter()
                .map(|p| p.disruptions_allowed)
                .collect(),
            removals_left: scale_in_budget(managed, config.max_scale_in_fraction)
                .saturating_sub(removals_within(snapshot, config.scale_in_window)),
            drains_left: config
                .max_concurrent_drains
                .saturating_sub(already_draining),
            decrements: HashMap::new(),
        }
    }

    /// Holds back each removal the brakes do not allow, in a fixed order — dead nodes,
    /// replacements, idle nodes, drains, each by name — so the same snapshot always removes
    /// the same machines. What each node's removal does to its group and the budget is
    /// returned per node.
    pub(super) fn apply(
        &mut self,
        snapshot: &Snapshot,
        pass: &PassFacts<'_>,
        facts: &[Facts<'_>],
        decided: &mut [Decided],
        replacements: &mut [InstanceAction],
    ) -> Spent {
        let order = removal_order(facts, decided, replacements);
        // Nodes on their way out take no evicted pods; nor do nodes still to be decided on,
        // once they are drained.
        let mut spare_room = pass.spare_room.clone();
        for (i, (_, action, _)) in decided.iter().enumerate() {
            if matches!(action, NodeActionKind::Cordon | NodeActionKind::Terminate) {
                spare_room.close(i);
            }
        }
        let mut receives_pods = vec![false; facts.len()];
        let mut spent = Spent {
            decrement: vec![false; facts.len()],
            charged: vec![false; facts.len()],
        };
        for removal in order {
            match removal {
                Removal::Instance(j) => self.replace(&mut replacements[j]),
                Removal::Node(i) => self.remove_node(
                    snapshot,
                    pass,
                    i,
                    facts,
                    &mut decided[i],
                    &mut spare_room,
                    &mut receives_pods,
                    &mut spent,
                ),
            }
        }
        spent
    }

    /// A replacement keeps the group's size: only the window's budget applies.
    fn replace(&mut self, r: &mut InstanceAction) {
        if self.removals_left == 0 {
            r.action = InstanceActionKind::None;
            r.reason = format!("{}; held back: {BUDGET_SPENT}", r.reason);
        } else {
            self.removals_left -= 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn remove_node(
        &mut self,
        snapshot: &Snapshot,
        pass: &PassFacts<'_>,
        i: usize,
        facts: &[Facts<'_>],
        (state, action, reason): &mut Decided,
        spare_room: &mut SpareRoom,
        receives_pods: &mut [bool],
        spent: &mut Spent,
    ) {
        let f = &facts[i];
        let Some(g) = f.group_index else { return };
        let group = &snapshot.groups[g];
        let planned = self.decrements.get(&g).copied().unwrap_or(0);
        let can_shrink = group.desired.saturating_sub(planned) > group.min_size;
        // A drain under way continues: its node was already counted when it started.
        let resumed = *state == NodeState::Draining;
        let drain = *action == NodeActionKind::Drain;
        let charge = charges(f, *state, *action);
        if !can_shrink && *state != NodeState::Dead {
            *state = NodeState::AsgMinSize;
            *action = NodeActionKind::None;
            *reason = format!("group {} is at MinSize {}", group.name, group.min_size);
            return;
        }
        // Drains chosen earlier this pass may have spent a budget this node needs.
        let over_budget = f.budget_needs.iter().find(|(k, n)| *n > self.allowance[*k]);
        let held = if charge && self.removals_left == 0 {
            Some(BUDGET_SPENT.to_string())
        } else if let (true, Some(&(k, n))) = (drain, over_budget) {
            Some(budget_refusal(&snapshot.pdbs[k], self.allowance[k], n))
        } else if drain && !resumed && self.drains_left == 0 {
            Some("--max-concurrent-drains under way".to_string())
        } else if drain && !resumed && pass.needed.contains(&i) {
            // Cordoned, it would send them to a new node.
            Some("pending pods are planned onto it".to_string())
        } else if drain && !resumed && receives_pods[i] {
            Some("it takes the pods of a node drained this pass".to_string())
        } else if drain && !resumed {
            match spare_room.rehome(snapshot, i, &f.workload) {
                Ok(receivers) => {
                    spare_room.close(i);
                    for n in receivers {
                        receives_pods[n] = true;
                    }
                    None
                }
                Err(pod) => Some(format!(
                    "{}/{} would fit on no node that stays",
                    pod.namespace, pod.name
                )),
            }
        } else {
            None
        };
        if let Some(why) = held {
            *action = NodeActionKind::None;
            *reason = format!("{reason}; held back: {why}");
            return;
        }
        if charge {
            self.removals_left -= 1;
            spent.charged[i] = true;
        }
        if drain {
            for &(k, n) in &f.budget_needs {
                self.allowance[k] -= n;
            }
            if !resumed {
                self.drains_left -= 1;
            }
        }
        // Drains reserve their group's room now, so later nodes see it shrinking.
        if drain || (*action == NodeActionKind::Terminate && can_shrink) {
            *self.decrements.entry(g).or_default() += 1;
            spent.decrement[i] = !drain;
        }
    }
}

/// Per node: whether its termination lowers its group's desired capacity, and whether its
/// action was charged to the removal budget.
pub(super) struct Spent {
    pub(super) decrement: Vec<bool>,
    pub(super) charged: Vec<bool>,
}

/// Dead nodes, replacements, idle nodes, drains; each by name.
fn removal_order(
    facts: &[Facts<'_>],
    decided: &[Decided],
    replacements: &[InstanceAction],
) -> Vec<Removal> {
    let mut order: Vec<Removal> = (0..facts.len())
        .filter(|&i| decided[i].1.removes_capacity())
        .map(Removal::Node)
        .chain(
            (0..replacements.len())
                .filter(|&j| replacements[j].action == InstanceActionKind::Replace)
                .map(Removal::Instance),
        )
        .collect();
    order.sort_by_key(|r| match *r {
        Removal::Node(i) => {
            let rank = match decided[i].0 {
                NodeState::Dead => 0,
                NodeState::IdleUnschedulable => 2,
                NodeState::Draining => 3,
                _ => 4,
            };
            (rank, facts[i].node.name.as_str())
        }
        Removal::Instance(j) => (1, replacements[j].instance_id.as_str()),
    });
    order
}

/// While the cluster looks unhealthy nothing is cordoned, drained (a drain under way goes
/// on), terminated, deleted or replaced; the warning says so.
pub(super) fn hold_while_unhealthy(
    snapshot: &Snapshot,
    health: &ClusterHealth,
    decided: &mut [Decided],
    replacements: &mut [InstanceAction],
) -> PlanWarning {
    let why = format!(
        "held back: the cluster looks unhealthy ({} of {} nodes NotReady)",
        health.unready, health.nodes
    );
    for (state, action, reason) in decided.iter_mut() {
        let resumed_drain = *action == NodeActionKind::Drain && *state == NodeState::Draining;
        let removing = matches!(
            action,
            NodeActionKind::Cordon
                | NodeActionKind::Drain
                | NodeActionKind::Terminate
                | NodeActionKind::DeleteNode
        );
        if removing && !resumed_drain {
            *action = NodeActionKind::None;
            *reason = format!("{reason}; {why}");
        }
    }
    for r in replacements
        .iter_mut()
        .filter(|r| r.action == InstanceActionKind::Replace)
    {
        r.action = InstanceActionKind::None;
        r.reason = format!("{}; {why}", r.reason);
    }
    PlanWarning {
        kind: WarningKind::ClusterUnhealthy,
        subject: snapshot.cluster_name.clone(),
        message: health.reason.clone(),
        object: None,
    }
}

/// A dead node is judged on the cached Node: while that view may be old, none is removed.
pub(super) fn hold_dead_while_stale(
    snapshot: &Snapshot,
    why: &str,
    decided: &mut [Decided],
) -> PlanWarning {
    let mut held = 0;
    for (state, action, reason) in decided.iter_mut() {
        if *state == NodeState::Dead && *action == NodeActionKind::Terminate {
            *action = NodeActionKind::None;
            *reason = format!("{reason}; held back: {why}");
            held += 1;
        }
    }
    PlanWarning {
        kind: WarningKind::StaleView,
        subject: snapshot.cluster_name.clone(),
        message: format!(
            "the view of the cluster may be old ({why}): {held} dead node(s) kept until it is \
             current again"
        ),
        object: None,
    }
}

/// Something one pass may remove, in the order the brakes consider them.
#[derive(Clone, Copy)]
enum Removal {
    Node(usize),
    Instance(usize),
}

/// Why a removal waits for the window to move on.
const BUDGET_SPENT: &str = "--max-scale-in-fraction reached for this --scale-in-window";

/// Removals ekas made in the window ending now (the snapshot's `recent_removals`).
pub fn removals_within(snapshot: &Snapshot, window: SignedDuration) -> usize {
    let now = snapshot.captured_at;
    snapshot
        .recent_removals
        .iter()
        .filter(|&&at| at <= now && now.duration_since(at) < window)
        .count()
}

/// Whether an action spends the removal budget: a drain begun, or the termination of a node
/// ekas did not drain or consolidate (one it did was counted when that began: one node, one
/// removal, however many passes it takes). Consolidation marks are charged where they are made.
fn charges(f: &Facts<'_>, state: NodeState, action: NodeActionKind) -> bool {
    let marks = &f.node.marks;
    let drained_by_ekas = marks.drain_started.is_some() || marks.drained_at.is_some();
    match action {
        NodeActionKind::Drain => state != NodeState::Draining,
        NodeActionKind::Terminate => !drained_by_ekas && !marks.consolidating,
        _ => false,
    }
}

/// Removals allowed in one window: the fraction of managed instances, at least one unless the
/// fraction is zero (a small cluster could otherwise never shrink).
pub fn scale_in_budget(managed: usize, fraction: f64) -> usize {
    if fraction <= 0.0 || managed == 0 {
        return 0;
    }
    ((managed as f64 * fraction).floor() as usize).max(1)
}

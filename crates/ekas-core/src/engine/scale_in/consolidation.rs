//! Consolidation by attrition: a busy node whose work could run elsewhere is marked (taint
//! `ekas.dev/consolidating:PreferNoSchedule` and an annotation of when), so kube-scheduler
//! sends new pods to other nodes while its own run to completion; once idle it is removed at
//! once, as any idle node is, under the same brakes. Nothing is ever evicted: a job that runs
//! for days keeps its node for days.
//!
//! 1. A node may be marked when it is busy and schedulable, in a managed group above MinSize,
//!    and either
//!    - under-used: the larger of its cpu and memory shares requested is below
//!      `--scale-down-utilization-threshold` (cluster-autoscaler's meaning), and its pods
//!      would fit on the nodes that take pods and stay ([`crate::engine::scale_in::rehome`]), or
//!    - dearer than another group its pods would run on: that group's nodes would hold the
//!      same pods for at most [`CHEAPER`] of the price, and can still grow. Pending pods go to
//!      the cheaper group (the `price` expander), so the dearer one shrinks as its jobs end.
//! 2. The emptiest first, at most [`MARKS_PER_PASS`] a pass out of the first [`TRIES_PER_PASS`]
//!    candidates (each mark is a write to the API server, each try a search for room); a node
//!    counted on to receive another's pods is not marked itself.
//! 3. A mark is a removal begun, as a drain is: it spends one of the scale-in budget's
//!    removals (`--max-scale-in-fraction` per `--scale-in-window`), after the pass's other
//!    removals, and the node's termination once idle is not counted again.
//! 4. A mark is undone when pending pods are planned onto the node (they need its room), when
//!    the node can no longer be removed (its group at MinSize, left alone by an operator), or
//!    when consolidation is turned off.

use std::collections::HashSet;

use crate::engine::scale_in::rehome::SpareRoom;
use crate::engine::scale_up::predicates::{NodeShape, static_fit, unknown_zones};
use crate::model::{Node, NodeGroup, Pod, Resources, Snapshot};
use crate::plan::{NodeActionKind, NodeState};

/// Marks made in one pass, at most: each is a Node patch, and a large cluster's budget (10 % of
/// 5,000 nodes) would otherwise have one pass write hundreds.
pub const MARKS_PER_PASS: usize = 20;
/// Candidates looked at in one pass, at most: each costs a search for room on every node.
pub const TRIES_PER_PASS: usize = 100;

/// A group is cheaper for a node's pods when it would hold them for at most this share of what
/// their own group charges.
pub const CHEAPER: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsolidationConfig {
    /// `--no-consolidation` turns it off.
    pub enabled: bool,
    /// `--scale-down-utilization-threshold`.
    pub utilization_below: f64,
}

impl Default for ConsolidationConfig {
    fn default() -> Self {
        ConsolidationConfig {
            enabled: true,
            utilization_below: 0.5,
        }
    }
}

/// What consolidation reads about one node.
pub struct NodeView<'a> {
    pub node: &'a Node,
    /// Its group's index in the snapshot, when managed.
    pub group: Option<usize>,
    /// Active pods that need the node.
    pub workload: &'a [&'a Pod],
    pub utilization: f64,
    /// Left alone by an operator: protected from scale-in, detached or scale-down-disabled.
    pub kept: bool,
}

/// One pass's decisions on one node: (state, action, reason), as maintenance keeps them.
pub type Decided = (NodeState, NodeActionKind, String);

/// The pass's facts consolidation decides with.
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub config: ConsolidationConfig,
    /// Nodes pending pods were planned onto.
    pub needed: &'a HashSet<usize>,
    pub spare_room: &'a SpareRoom,
    /// Per group (as `snapshot.groups`): the room of a new node once its DaemonSet pods run.
    pub rooms: &'a [Resources],
    /// Removals the scale-in budget has left once the pass's other removals are counted.
    pub budget_left: usize,
}

/// Undoes the marks that no longer hold, then marks new nodes (see the module doc).
pub fn decide(inputs: &Inputs<'_>, nodes: &[NodeView<'_>], decided: &mut [Decided]) {
    undo_marks(inputs, nodes, decided);
    if inputs.config.enabled {
        mark(inputs, nodes, decided);
    }
}

/// A marked node stays marked only while consolidation is on, no pending pod is planned onto
/// it, no operator keeps it and its group can shrink.
fn undo_marks(inputs: &Inputs<'_>, nodes: &[NodeView<'_>], decided: &mut [Decided]) {
    let groups = &inputs.snapshot.groups;
    for (i, view) in nodes.iter().enumerate() {
        if !view.node.marks.consolidating {
            continue;
        }
        let (_, action, reason) = &mut decided[i];
        if action.removes_capacity() || *action == NodeActionKind::Cordon {
            // On its way out already.
            continue;
        }
        let undo = if !inputs.config.enabled {
            Some("consolidation is turned off (--no-consolidation)".to_string())
        } else if inputs.needed.contains(&i) {
            Some("pending pods are planned onto it".to_string())
        } else if view.kept {
            Some("an operator keeps it (protected, detached or scale-down-disabled)".to_string())
        } else {
            match view.group.map(|g| &groups[g]) {
                None => Some("not in a group ekas manages".to_string()),
                Some(group) if group.desired <= group.min_size => Some(format!(
                    "group {} is at MinSize {}",
                    group.name, group.min_size
                )),
                Some(_) => None,
            }
        };
        if let Some(why) = undo {
            *action = NodeActionKind::ClearConsolidation;
            *reason = format!("consolidation undone: {why}");
        }
    }
}

/// Marks the least used eligible nodes whose pods would fit elsewhere, or run cheaper in
/// another group, within the budget left and the pass's caps; a node that would take a marked
/// node's pods is not marked itself.
fn mark(inputs: &Inputs<'_>, nodes: &[NodeView<'_>], decided: &mut [Decided]) {
    let groups = &inputs.snapshot.groups;
    let mut left = inputs.budget_left.min(MARKS_PER_PASS);
    if left == 0 {
        return;
    }
    let mut candidates: Vec<usize> = (0..nodes.len())
        .filter(|&i| !inputs.needed.contains(&i) && eligible(&nodes[i], &decided[i], groups))
        .collect();
    candidates.sort_by(|&a, &b| {
        nodes[a]
            .utilization
            .total_cmp(&nodes[b].utilization)
            .then_with(|| nodes[a].node.name.cmp(&nodes[b].node.name))
    });
    let mut room = inputs.spare_room.clone();
    for (i, view) in nodes.iter().enumerate() {
        if view.node.marks.consolidating {
            room.close(i);
        }
    }
    let mut receivers: HashSet<usize> = HashSet::new();
    for i in candidates.into_iter().take(TRIES_PER_PASS) {
        if left == 0 {
            break;
        }
        if receivers.contains(&i) {
            continue;
        }
        let view = &nodes[i];
        let why = if view.utilization < inputs.config.utilization_below {
            match room.rehome(inputs.snapshot, i, view.workload) {
                Ok(took) => {
                    receivers.extend(took);
                    room.close(i);
                    Some(format!(
                        "{:.0}% used; its pods would fit on the other nodes",
                        view.utilization * 100.0
                    ))
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let why = why.or_else(|| {
            cheaper_group(view.workload, view.group?, groups, inputs.rooms).map(
                |(cheaper, share)| {
                    format!(
                        "group {} would run its pods for {:.0}% of the price",
                        cheaper.name,
                        share * 100.0
                    )
                },
            )
        });
        if let Some(why) = why {
            decided[i] = (
                NodeState::Consolidating,
                NodeActionKind::Consolidate,
                format!("{why}: new pods go elsewhere, removed once its own finish"),
            );
            left -= 1;
        }
    }
}

/// Busy, schedulable, not marked yet, in a group above MinSize, not kept by an operator.
fn eligible(view: &NodeView<'_>, decided: &Decided, groups: &[NodeGroup]) -> bool {
    let node: &Node = view.node;
    let busy = matches!(
        decided,
        (
            NodeState::Busy,
            NodeActionKind::None | NodeActionKind::ClearIdle,
            _
        )
    );
    busy && !node.unschedulable
        && !node.marks.consolidating
        && !view.kept
        && !view.workload.is_empty()
        && view
            .group
            .is_some_and(|g| groups[g].desired > groups[g].min_size)
}

/// A group other than `own` whose new nodes take every pod, able to grow, that would hold the
/// pods for at most [`CHEAPER`] of `own`'s price; with that share. Prices first: they are cheap
/// to compare, the scheduler's filters are not.
fn cheaper_group<'g>(
    pods: &[&Pod],
    own: usize,
    groups: &'g [NodeGroup],
    rooms: &[Resources],
) -> Option<(&'g NodeGroup, f64)> {
    let mut requests = Resources::default();
    for pod in pods {
        requests.add(&pod.requests);
    }
    let own_cost = cost_of(&requests, &groups[own], &rooms[own])?;
    if own_cost <= 0.0 {
        return None;
    }
    (0..groups.len())
        .filter(|&g| g != own && groups[g].desired < groups[g].max_size)
        .filter_map(|g| Some((g, cost_of(&requests, &groups[g], &rooms[g])? / own_cost)))
        .filter(|&(_, share)| share <= CHEAPER)
        .filter(|&(g, _)| pods.iter().all(|p| takes(&groups[g], &rooms[g], p)))
        .map(|(g, share)| (&groups[g], share))
        .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.name.cmp(&b.0.name)))
}

/// Whether a new node of the group would take the pod: the scheduler's static filters, and
/// its requests within the node's room.
fn takes(group: &NodeGroup, room: &Resources, pod: &Pod) -> bool {
    let t = &group.template;
    let shape = NodeShape {
        name: None,
        labels: &t.labels,
        taints: &t.taints,
        unschedulable: false,
        unknown_zones: unknown_zones(group),
    };
    pod.requests.fits_in(room) && static_fit(&pod.placement, shape).is_ok()
}

/// Dollars an hour the group's new nodes charge for `requests`' share of them: the larger of
/// their cpu and memory shares of a node's room, times its price.
fn cost_of(requests: &Resources, group: &NodeGroup, room: &Resources) -> Option<f64> {
    let price = group.price?.dollars;
    let share = |used: i64, total: i64| (total > 0).then(|| used as f64 / total as f64);
    let nodes = [
        share(requests.cpu, room.cpu)?,
        share(requests.memory, room.memory)?,
    ]
    .into_iter()
    .fold(0.0, f64::max);
    Some(nodes * price)
}

//! What to do with the nodes and instances the cluster already has: the node state machine,
//! and the brakes that keep scale-in safe (shared/DESIGN.md, safety invariants 1, 3, 4, 6
//! and 7).
//!
//! Every decision is derived from the snapshot, including ekas's own memory on the nodes
//! (`ekas/idle-since`, `ekas/drain-started`, `ekas/drained-at`,
//! `ekas/instance-not-found-since`, the cordon label), so a cron `reap`, a restarted loop and
//! `plan` on a laptop decide alike.
//!
//! 1. Each node gets a state and at most one action on its own ([`state`]); a few idle
//!    nodes per group are kept as spares ([`spares`]), from the facts of the pass ([`facts`]).
//! 2. Each group member without a Node is waited for, then replaced ([`unregistered`]) —
//!    unless a Node that claims no instance might be it ([`crate::engine::capacity::membership::doubt`]).
//! 3. While the cluster looks unhealthy (too many nodes NotReady), nothing is cordoned,
//!    drained, terminated, deleted or replaced.
//! 4. The brakes ([`brakes`]), in a fixed order (dead nodes, replacements, idle nodes, drains; each by
//!    name): MinSize, `--max-scale-in-fraction` (replacements included), PodDisruptionBudgets,
//!    `--max-concurrent-drains`, and for a utilisation drain, room for its pods on the nodes
//!    that stay ([`crate::engine::scale_in::rehome`]); a node that receives them is not drained in the same pass.

mod brakes;
pub mod consolidation;
pub mod drain;
mod facts;
pub mod idle_threshold;
pub mod jobs;
pub mod rehome;
mod spares;
mod state;
mod unregistered;

use std::collections::{HashMap, HashSet};

use jiff::SignedDuration;

use crate::engine::capacity::health::UnreadyBrake;
use crate::engine::capacity::membership::Membership;
use crate::engine::capacity::startup::Startup;
use crate::model::{Instance, Snapshot};
use crate::plan::{
    ClusterHealth, InstanceAction, NodeAction, NodeActionKind, NodeState, PlanWarning,
};
use brakes::{Brakes, Spent};
pub use brakes::{removals_within, scale_in_budget};
use consolidation::{ConsolidationConfig, NodeView};
use drain::DrainPolicy;
use facts::{Facts, gather_facts};
use idle_threshold::IdleThreshold;
use jobs::WaitingJobs;
use rehome::SpareRoom;
use spares::keep_spares;
use state::{Wanted, state_of};
use unregistered::unregistered;

/// EC2 must say NotFound for an instance twice, this far apart, before its Node is deleted:
/// one answer may be EC2's eventual consistency, or a look in the wrong place.
pub const NOT_FOUND_CONFIRMATION: SignedDuration = SignedDuration::from_mins(5);

#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Idle this long → cordon, then terminate (`--idle-threshold`; per group by default). A
    /// node kept for a Job's waiting pods (`job-pending`) is held at most twice this long.
    pub idle_threshold: IdleThreshold,
    /// Spares kept this long (`--type-idle-threshold`).
    pub type_idle_threshold: SignedDuration,
    /// Idle spares kept per group (`--type-idle-count`).
    pub type_idle_count: usize,
    /// Group members without a Node after this long are replaced (`--instance-init-time`).
    pub instance_init_time: SignedDuration,
    /// NotReady this long → dead (`--dead-threshold`).
    pub dead_threshold: SignedDuration,
    /// Nodes younger than this are left to receive pods (`--launch-grace`).
    pub launch_grace: SignedDuration,
    /// At most this fraction of managed instances is removed per `scale_in_window`
    /// (`--max-scale-in-fraction`).
    pub max_scale_in_fraction: f64,
    /// The window removals are counted over, across passes (`--scale-in-window`).
    pub scale_in_window: SignedDuration,
    /// Busy nodes below this utilisation are drained when they can be (0 disables).
    pub drain_utilization_below: f64,
    /// Drains under way at once, across the cluster (`--max-concurrent-drains`).
    pub max_concurrent_drains: usize,
    /// Leave instances protected from scale-in alone (`--respect-scale-in-protection`). By
    /// default ekas removes protected instances it decided to remove, as the original tool
    /// did: protection is there so that the group never picks victims on its own.
    pub respect_scale_in_protection: bool,
    /// No removals while too many nodes are NotReady.
    pub unready: UnreadyBrake,
    /// Which pods scale-in drains may evict; `evict_running_jobs` is `--drain-running-jobs`.
    pub drain: DrainPolicy,
    /// A node whose recorded interruption is due within this long is drained, jobs included
    /// (`--interruption-drain-timeout`).
    pub interruption_drain_time: SignedDuration,
    /// A rebalance recommendation's cordon is undone after this long with no follow-up
    /// (`--rebalance-cordon-ttl`).
    pub rebalance_cordon_ttl: SignedDuration,
    /// Consolidation by attrition ([`crate::engine::scale_in::consolidation`]).
    pub consolidation: ConsolidationConfig,
}

/// A change this long past its due time, with its node Ready again, is over (a reboot, or a
/// change AWS moved): the node is released.
pub const INTERRUPTION_PASSED: SignedDuration = SignedDuration::from_hours(1);

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            idle_threshold: IdleThreshold::Auto,
            type_idle_threshold: SignedDuration::from_secs(604_800),
            // Spares held for days cost their price by the second; the auto idle threshold
            // keeps nodes longer where work keeps coming instead.
            type_idle_count: 0,
            instance_init_time: SignedDuration::from_secs(1500),
            dead_threshold: SignedDuration::from_mins(30),
            // Past Starting (Ready, untainted), the scheduler binds within seconds: five
            // minutes is ample for pods on their way, and a surplus node costs by the second.
            launch_grace: SignedDuration::from_mins(5),
            max_scale_in_fraction: 0.1,
            // 10 % a minute: the original tool's 10 % per 60-second pass, now counted over time
            // so passes started by new pods cannot spend it again.
            scale_in_window: SignedDuration::from_mins(1),
            drain_utilization_below: 0.0,
            max_concurrent_drains: 5,
            respect_scale_in_protection: false,
            unready: UnreadyBrake::default(),
            drain: DrainPolicy::default(),
            interruption_drain_time: SignedDuration::from_mins(10),
            rebalance_cordon_ttl: SignedDuration::from_hours(1),
            consolidation: ConsolidationConfig::default(),
        }
    }
}

/// What the rest of the pass found out, that maintenance decides with.
pub struct PassFacts<'a> {
    /// Nodes (by index) pending pods were placed on by the scale-up planner, including
    /// cordoned ones ekas may reclaim.
    pub needed: &'a HashSet<usize>,
    /// Nodes (by index) holding room for a ProvisioningRequest, with the request.
    pub booked: &'a HashMap<usize, String>,
    /// Pending pods (by index) the scale-up planner sends to existing nodes.
    pub onto_nodes: &'a [usize],
    pub membership: &'a Membership<'a>,
    /// Each node's start-up, in the order of `snapshot.nodes`.
    pub startups: &'a [Startup],
    /// Where pods evicted by a utilisation drain could go.
    pub spare_room: &'a SpareRoom,
    /// Per group (as `snapshot.groups`): the room of a new node once its DaemonSet pods run.
    pub rooms: &'a [crate::model::Resources],
    pub health: &'a ClusterHealth,
}

pub struct Maintenance {
    pub nodes: Vec<NodeAction>,
    pub instances: Vec<InstanceAction>,
    pub warnings: Vec<PlanWarning>,
}

pub fn plan_maintenance(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'_>,
) -> Maintenance {
    let now = snapshot.captured_at;
    let instances: HashMap<&str, &Instance> = snapshot
        .instances
        .iter()
        .map(|i| (i.id.as_str(), i))
        .collect();
    let facts = gather_facts(snapshot, config, pass, &instances, now);
    let mut decided = decide_each(snapshot, config, pass, &facts);
    keep_spares(&facts, &mut decided, config, now);
    let (mut replacements, mut warnings) =
        unregistered(snapshot, config, pass.membership, &instances, now);
    if !pass.health.healthy {
        warnings.push(brakes::hold_while_unhealthy(
            snapshot,
            pass.health,
            &mut decided,
            &mut replacements,
        ));
    }
    if let Some(why) = &snapshot.stale_view {
        warnings.push(brakes::hold_dead_while_stale(snapshot, why, &mut decided));
    }
    let mut brakes = Brakes::new(snapshot, config, &facts);
    let Spent {
        decrement,
        mut charged,
    } = brakes.apply(snapshot, pass, &facts, &mut decided, &mut replacements);

    // Marks come last: they spend what the removals left of the budget.
    consolidate(
        snapshot,
        config,
        pass,
        &facts,
        &mut decided,
        brakes.removals_left,
    );
    for (i, (_, action, _)) in decided.iter().enumerate() {
        if *action == NodeActionKind::Consolidate {
            charged[i] = true;
        }
    }

    let nodes = facts
        .iter()
        .zip(decided)
        .zip(decrement.into_iter().zip(charged))
        .map(
            |((f, (state, action, reason)), (decrement, charged))| NodeAction {
                name: f.node.name.clone(),
                group: f.group.map(|g| g.name.clone()),
                region: f.group.map(|g| g.region.clone()),
                instance_id: f.node.instance_id.clone(),
                state,
                action,
                decrement,
                reason,
                interruption_due: f.node.marks.interruption.as_ref().and_then(|m| m.due),
                charged,
            },
        )
        .collect();
    Maintenance {
        nodes,
        instances: replacements,
        warnings,
    }
}

/// A node's state, action and reason as decided so far.
type Decided = (NodeState, NodeActionKind, String);

/// Each node's state and action on its own, before spares and brakes.
fn decide_each(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'_>,
    facts: &[Facts<'_>],
) -> Vec<Decided> {
    let waiting = WaitingJobs::new(snapshot, pass.onto_nodes);
    let thresholds = idle_threshold::per_group(
        snapshot,
        config.idle_threshold,
        &pass.membership.node_group,
        pass.rooms,
    );
    facts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let wanted = match pass.booked.get(&i) {
                Some(request) => Wanted::Booked(request),
                None if pass.needed.contains(&i) => Wanted::Pending,
                None => Wanted::No,
            };
            let threshold = f.group_index.map(|g| &thresholds[g]);
            state_of(f, config, snapshot.captured_at, wanted, &waiting, threshold)
        })
        .collect()
}

/// Marks nodes for consolidation by attrition and undoes marks that no longer hold.
fn consolidate(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'_>,
    facts: &[Facts<'_>],
    decided: &mut [Decided],
    budget_left: usize,
) {
    let views: Vec<NodeView<'_>> = facts
        .iter()
        .map(|f| NodeView {
            node: f.node,
            group: f.group_index,
            workload: &f.workload,
            utilization: f.utilization,
            kept: f.protected || f.node.marks.detached || f.node.marks.scale_down_disabled,
        })
        .collect();
    let inputs = consolidation::Inputs {
        snapshot,
        config: config.consolidation,
        needed: pass.needed,
        spare_room: pass.spare_room,
        rooms: pass.rooms,
        budget_left,
    };
    consolidation::decide(&inputs, &views, decided);
}

#[cfg(test)]
mod consolidation_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;

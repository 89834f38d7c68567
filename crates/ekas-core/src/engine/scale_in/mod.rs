//! What to do with the nodes and instances the cluster already has: the node state machine,
//! and the brakes that keep scale-in safe (shared/DESIGN.md, safety invariants 1, 3, 4, 6
//! and 7).
//!
//! Every decision is derived from the snapshot, including ekas's own memory on the nodes
//! (`ekas/idle-since`, `ekas/drain-started`, `ekas/drained-at`,
//! `ekas/instance-not-found-since`, the cordon label), so a cron `reap`, a restarted loop and
//! `plan` on a laptop decide alike.
//!
//! 1. Each node gets a state and at most one action on its own ([`state_of`]); a few idle
//!    nodes per group are kept as spares.
//! 2. Each group member without a Node is waited for, then replaced — unless a Node that
//!    claims no instance might be it ([`crate::engine::capacity::membership::doubt`]).
//! 3. While the cluster looks unhealthy (too many nodes NotReady), nothing is cordoned,
//!    drained, terminated, deleted or replaced.
//! 4. The brakes, in a fixed order (dead nodes, replacements, idle nodes, drains; each by
//!    name): MinSize, `--max-scale-in-fraction` (replacements included), PodDisruptionBudgets,
//!    `--max-concurrent-drains`, and for a utilisation drain, room for its pods on the nodes
//!    that stay ([`crate::engine::scale_in::rehome`]); a node that receives them is not drained in the same pass.

pub mod consolidation;
pub mod drain;
pub mod idle_threshold;
pub mod jobs;
pub mod rehome;

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use crate::duration::human;
use crate::engine::capacity::health::UnreadyBrake;
use crate::engine::capacity::membership::{self, Membership};
use crate::engine::capacity::startup::Startup;
use crate::engine::scale_up::predicates::NodeShape;
use crate::model::resources::{CPU, MEMORY};
use crate::model::{
    Instance, InterruptionMark, Node, NodeGroup, Pod, PodDisruptionBudget, Snapshot,
};
use crate::plan::{
    ClusterHealth, InstanceAction, InstanceActionKind, NodeAction, NodeActionKind, NodeState,
    PlanWarning, WarningKind,
};
use consolidation::{ConsolidationConfig, NodeView};
use drain::{Blocker, DrainPolicy, PodDrain};
use idle_threshold::{GroupThreshold, IdleThreshold};
use jobs::WaitingJobs;
use rehome::SpareRoom;

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

/// Why a node's pods cannot all be evicted now. Kept as facts and put in words only when a
/// decision quotes them: a cluster of busy Job nodes has one per pod.
enum Obstacle<'a> {
    Pod(&'a Pod, Blocker),
    /// The Eviction API refuses a pod under more than one budget.
    TwoBudgets(&'a Pod, Vec<&'a str>),
    /// A budget allows fewer evictions than the node's pods need.
    Budget(&'a PodDisruptionBudget, i32),
}

impl Obstacle<'_> {
    /// Time alone will not lift it: a drain that meets it is given up.
    fn lasting(&self) -> bool {
        match self {
            Obstacle::Pod(_, b) => !matches!(b, Blocker::TooYoung { .. }),
            Obstacle::TwoBudgets(..) => true,
            Obstacle::Budget(..) => false,
        }
    }

    /// It also keeps a dead node from being terminated.
    fn holds_dead_node(&self) -> bool {
        match self {
            Obstacle::Pod(_, b) => b.holds_dead_node(),
            Obstacle::TwoBudgets(..) | Obstacle::Budget(..) => true,
        }
    }

    fn text(&self) -> String {
        match self {
            Obstacle::Pod(pod, b) => format!("{}: {b}", pod.key()),
            Obstacle::TwoBudgets(pod, names) => format!(
                "{}: under PodDisruptionBudgets {}; the Eviction API refuses a pod under more \
                 than one",
                pod.key(),
                names.join(", ")
            ),
            Obstacle::Budget(pdb, needed) => budget_refusal(pdb, pdb.disruptions_allowed, *needed),
        }
    }
}

/// Facts about one node that the decision needs.
struct Facts<'a> {
    node: &'a Node,
    group: Option<&'a NodeGroup>,
    /// The group's index in the snapshot.
    group_index: Option<usize>,
    /// Protected from scale-in, and `--respect-scale-in-protection` asks to honour it.
    protected: bool,
    /// EC2's record of the node's instance, when it was described.
    instance: Option<&'a Instance>,
    startup: &'a Startup,
    /// Every pod bound to the node, finished ones included.
    pods: Vec<&'a Pod>,
    /// Active pods that need the node (not DaemonSet or mirror pods).
    workload: Vec<&'a Pod>,
    /// Why the node's pods cannot all be evicted now; empty when they can.
    obstacles: Vec<Obstacle<'a>>,
    /// Evictions the node's pods need from each PodDisruptionBudget (by index).
    budget_needs: Vec<(usize, i32)>,
    utilization: f64,
}

impl Facts<'_> {
    fn blocked(&self, dead: bool) -> Option<String> {
        let texts: Vec<String> = self
            .obstacles
            .iter()
            .filter(|o| !dead || o.holds_dead_node())
            .map(Obstacle::text)
            .collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    }
}

/// The brakes one pass shares across its nodes.
struct Brakes {
    /// Removals left under `--max-scale-in-fraction`, after those of the window so far.
    removals_left: usize,
    drains_left: usize,
    /// Planned decrements per group (by index), so no group goes below MinSize.
    decrements: HashMap<usize, u32>,
    /// Evictions each PodDisruptionBudget still allows this pass, spent by the drains chosen.
    allowance: Vec<i32>,
}

/// Something one pass may remove, in the order the brakes consider them.
#[derive(Clone, Copy)]
enum Removal {
    Node(usize),
    Instance(usize),
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
    let waiting = WaitingJobs::new(snapshot, pass.onto_nodes);

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
    let mut brakes = Brakes {
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
    };

    let thresholds = idle_threshold::per_group(
        snapshot,
        config.idle_threshold,
        &pass.membership.node_group,
        pass.rooms,
    );
    let mut decided: Vec<(NodeState, NodeActionKind, String)> = facts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let wanted = match pass.booked.get(&i) {
                Some(request) => Wanted::Booked(request),
                None if pass.needed.contains(&i) => Wanted::Pending,
                None => Wanted::No,
            };
            let threshold = f.group_index.map(|g| &thresholds[g]);
            state_of(f, config, now, wanted, &waiting, threshold)
        })
        .collect();
    keep_spares(&facts, &mut decided, config, now);
    let (mut replacements, mut warnings) =
        unregistered(snapshot, config, pass.membership, &instances, now);

    if !pass.health.healthy {
        let why = format!(
            "held back: the cluster looks unhealthy ({} of {} nodes NotReady)",
            pass.health.unready, pass.health.nodes
        );
        for (state, action, reason) in &mut decided {
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
        warnings.push(PlanWarning {
            kind: WarningKind::ClusterUnhealthy,
            subject: snapshot.cluster_name.clone(),
            message: pass.health.reason.clone(),
            object: None,
        });
    }

    // A dead node is judged on the cached Node: while that view may be old, none is removed.
    if let Some(why) = &snapshot.stale_view {
        let mut held = 0;
        for (state, action, reason) in &mut decided {
            if *state == NodeState::Dead && *action == NodeActionKind::Terminate {
                *action = NodeActionKind::None;
                *reason = format!("{reason}; held back: {why}");
                held += 1;
            }
        }
        warnings.push(PlanWarning {
            kind: WarningKind::StaleView,
            subject: snapshot.cluster_name.clone(),
            message: format!(
                "the view of the cluster may be old ({why}): {held} dead node(s) kept until it \
                 is current again"
            ),
            object: None,
        });
    }

    // Brakes apply in a fixed order — dead nodes, replacements, idle nodes, drains, each by
    // name — so the same snapshot always removes the same machines.
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
    // Nodes on their way out take no evicted pods; nor do nodes still to be decided on, once
    // they are drained.
    let mut spare_room = pass.spare_room.clone();
    for (i, (_, action, _)) in decided.iter().enumerate() {
        if matches!(action, NodeActionKind::Cordon | NodeActionKind::Terminate) {
            spare_room.close(i);
        }
    }
    let mut receives_pods = vec![false; facts.len()];
    let mut decrement = vec![false; facts.len()];
    let mut charged = vec![false; facts.len()];
    for removal in order {
        let i = match removal {
            Removal::Instance(j) => {
                // A replacement keeps the group's size: only the pass's budget applies.
                let r = &mut replacements[j];
                if brakes.removals_left == 0 {
                    r.action = InstanceActionKind::None;
                    r.reason = format!("{}; held back: {BUDGET_SPENT}", r.reason);
                } else {
                    brakes.removals_left -= 1;
                }
                continue;
            }
            Removal::Node(i) => i,
        };
        let f = &facts[i];
        let (state, action, reason) = &mut decided[i];
        let Some(g) = f.group_index else { continue };
        let group = &snapshot.groups[g];
        let planned = brakes.decrements.get(&g).copied().unwrap_or(0);
        let can_shrink = group.desired.saturating_sub(planned) > group.min_size;
        // A drain under way continues: its node was already counted when it started.
        let resumed = *state == NodeState::Draining;
        let drain = *action == NodeActionKind::Drain;
        let charge = charges(f, *state, *action);
        if !can_shrink && *state != NodeState::Dead {
            *state = NodeState::AsgMinSize;
            *action = NodeActionKind::None;
            *reason = format!("group {} is at MinSize {}", group.name, group.min_size);
            continue;
        }
        // Drains chosen earlier this pass may have spent a budget this node needs.
        let spent = f
            .budget_needs
            .iter()
            .find(|(k, n)| *n > brakes.allowance[*k]);
        let held = if charge && brakes.removals_left == 0 {
            Some(BUDGET_SPENT.to_string())
        } else if let (true, Some(&(k, n))) = (drain, spent) {
            Some(budget_refusal(&snapshot.pdbs[k], brakes.allowance[k], n))
        } else if drain && !resumed && brakes.drains_left == 0 {
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
            continue;
        }
        if charge {
            brakes.removals_left -= 1;
            charged[i] = true;
        }
        if drain {
            for &(k, n) in &f.budget_needs {
                brakes.allowance[k] -= n;
            }
            if !resumed {
                brakes.drains_left -= 1;
            }
        }
        // Drains reserve their group's room now, so later nodes see it shrinking.
        if drain || (*action == NodeActionKind::Terminate && can_shrink) {
            *brakes.decrements.entry(g).or_default() += 1;
            decrement[i] = !drain;
        }
    }

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

/// Marks nodes for consolidation by attrition and undoes marks that no longer hold.
fn consolidate(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'_>,
    facts: &[Facts<'_>],
    decided: &mut [(NodeState, NodeActionKind, String)],
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

fn gather_facts<'a>(
    snapshot: &'a Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'a>,
    instances: &HashMap<&str, &'a Instance>,
    now: Timestamp,
) -> Vec<Facts<'a>> {
    let index = snapshot.node_index();
    let mut pods: Vec<Vec<&Pod>> = vec![Vec::new(); snapshot.nodes.len()];
    for pod in &snapshot.pods {
        if let Some(&n) = pod.node_name.as_deref().and_then(|name| index.get(name)) {
            pods[n].push(pod);
        }
    }
    snapshot
        .nodes
        .iter()
        .zip(pods)
        .enumerate()
        .map(|(i, (node, pods))| {
            let id = node.instance_id.as_deref();
            let group_index = pass.membership.node_group[i];
            let protected = config.respect_scale_in_protection
                && id
                    .and_then(|id| pass.membership.member(id))
                    .is_some_and(|(_, m)| m.protected_from_scale_in);
            let workload: Vec<&Pod> = pods
                .iter()
                .copied()
                .filter(|p| p.is_active() && !p.is_daemonset() && !p.mirror)
                .collect();
            let mut obstacles = Vec::new();
            let mut wanted: Vec<usize> = vec![0; snapshot.pdbs.len()];
            for pod in &pods {
                match drain::classify(pod, &config.drain, now) {
                    PodDrain::Leave => {}
                    PodDrain::Block(b) => obstacles.push(Obstacle::Pod(pod, b)),
                    PodDrain::Evict => {
                        let budgets: Vec<usize> = (0..snapshot.pdbs.len())
                            .filter(|&k| {
                                let pdb = &snapshot.pdbs[k];
                                pdb.namespace == pod.namespace && pdb.selector.matches(&pod.labels)
                            })
                            .collect();
                        if budgets.len() > 1 {
                            let names = budgets
                                .iter()
                                .map(|&k| snapshot.pdbs[k].name.as_str())
                                .collect();
                            obstacles.push(Obstacle::TwoBudgets(pod, names));
                        }
                        for k in budgets {
                            wanted[k] += 1;
                        }
                    }
                }
            }
            let budget_needs: Vec<(usize, i32)> = wanted
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (k, *n as i32))
                .collect();
            for &(k, n) in &budget_needs {
                let pdb = &snapshot.pdbs[k];
                if n > pdb.disruptions_allowed {
                    obstacles.push(Obstacle::Budget(pdb, n));
                }
            }
            Facts {
                node,
                group: group_index.map(|g| &snapshot.groups[g]),
                group_index,
                protected,
                instance: id.and_then(|id| instances.get(id).copied()),
                startup: &pass.startups[i],
                utilization: utilization(node, &workload),
                pods,
                workload,
                obstacles,
                budget_needs,
            }
        })
        .collect()
}

fn budget_refusal(pdb: &PodDisruptionBudget, allowed: i32, needed: i32) -> String {
    format!(
        "PodDisruptionBudget {}/{} allows {} disruption(s), {} needed",
        pdb.namespace,
        pdb.name,
        allowed.max(0),
        needed
    )
}

/// The larger of the CPU and memory shares the workload requests.
fn utilization(node: &Node, workload: &[&Pod]) -> f64 {
    [CPU, MEMORY]
        .iter()
        .map(|r| {
            let total = node.allocatable.get(r);
            if total <= 0 {
                return 0.0;
            }
            let used: i64 = workload.iter().map(|p| p.requests.get(r)).sum();
            used as f64 / total as f64
        })
        .fold(0.0, f64::max)
}

/// A node with an interruption notice recorded on it: cordoned while its pods finish, drained
/// (jobs included) once the change is within the drain time, terminated once drained, released
/// when a hint had no follow-up or the change passed with the node Ready. `None` for an idle
/// node still cordoned for a notice: scale-in removes it as any idle node ekas cordoned (a
/// hint's may also be reused for pending pods).
fn interrupted(
    f: &Facts<'_>,
    mark: &InterruptionMark,
    config: &MaintenanceConfig,
    now: Timestamp,
) -> Option<(NodeState, NodeActionKind, String)> {
    use NodeActionKind as A;
    let node = f.node;
    let kind = &mark.kind;
    let released = |why: String| Some((NodeState::Interrupted, A::ClearInterruption, why));
    let noticed = now.duration_since(mark.noticed);
    if mark.is_hint() && noticed >= config.rebalance_cordon_ttl && node.ready {
        return released(format!("{kind} {} ago, not followed up", human(noticed)));
    }
    if let Some(due) = mark.due {
        let left = due.duration_since(now);
        if -left >= INTERRUPTION_PASSED && node.ready {
            return released(format!("{kind} was due at {due}; the node is Ready"));
        }
        if left <= config.interruption_drain_time {
            return Some(match f.workload.is_empty() {
                true => (
                    NodeState::Interrupted,
                    A::Terminate,
                    format!("drained ahead of the {kind} due at {due}"),
                ),
                false => (
                    NodeState::Interrupted,
                    A::InterruptionDrain,
                    format!("{kind} due at {due}: {} pod(s) to move", f.workload.len()),
                ),
            });
        }
    }
    let due = mark.due.map_or(String::new(), |d| format!(" due at {d}"));
    if !node.unschedulable {
        return Some((NodeState::Interrupted, A::Cordon, format!("{kind}{due}")));
    }
    if !f.workload.is_empty() {
        return Some((
            NodeState::Interrupted,
            A::None,
            format!(
                "cordoned for the {kind}{due}; its {} pod(s) finish",
                f.workload.len()
            ),
        ));
    }
    None
}

/// Whether this pass's scale-up sends anything to an idle node.
#[derive(Debug, Clone, Copy)]
enum Wanted<'a> {
    No,
    /// A pending pod goes there.
    Pending,
    /// It holds room a ProvisioningRequest (named) checked for or booked.
    Booked(&'a str),
}

fn since(now: Timestamp, then: Option<Timestamp>) -> Option<SignedDuration> {
    then.map(|t| now.duration_since(t))
}

/// The state of a node on its own; the brakes and spares are applied afterwards. A stale
/// `ekas/instance-not-found-since` is removed when nothing else is to be done.
fn state_of(
    f: &Facts<'_>,
    config: &MaintenanceConfig,
    now: Timestamp,
    wanted: Wanted<'_>,
    waiting: &WaitingJobs<'_>,
    threshold: Option<&GroupThreshold>,
) -> (NodeState, NodeActionKind, String) {
    let decided = node_state(f, config, now, wanted, waiting, threshold);
    let not_found = f.instance.is_some_and(|i| i.is_not_found()) && f.group.is_none();
    match decided {
        (state, NodeActionKind::None, reason)
            if f.node.marks.instance_not_found_since.is_some() && !not_found =>
        {
            (state, NodeActionKind::ClearInstanceNotFound, reason)
        }
        decided => decided,
    }
}

fn node_state(
    f: &Facts<'_>,
    config: &MaintenanceConfig,
    now: Timestamp,
    wanted: Wanted<'_>,
    waiting: &WaitingJobs<'_>,
    threshold: Option<&GroupThreshold>,
) -> (NodeState, NodeActionKind, String) {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    let marks = &node.marks;
    let ours = marks.cordoned_by_ekas;
    if marks.detached {
        return (S::Detached, A::None, "labelled detached".into());
    }
    if node.unreadable {
        return (
            S::Unreadable,
            A::None,
            "its allocatable or taints could not be read (see the plan's warnings)".into(),
        );
    }
    if marks.scale_down_disabled {
        return (
            S::ScaleDownDisabled,
            A::None,
            "annotated cluster-autoscaler.kubernetes.io/scale-down-disabled".into(),
        );
    }
    if let Some(instance) = f.instance.filter(|i| i.is_gone()) {
        // A kubelet still reporting Ready contradicts EC2: wait until they agree.
        if node.ready {
            return (
                S::InstanceTerminated,
                A::None,
                format!(
                    "EC2 says instance {} is {}, but the Node is Ready",
                    instance.id, instance.state
                ),
            );
        }
        return (
            S::InstanceTerminated,
            A::DeleteNode,
            "its instance is terminated".into(),
        );
    }
    let (Some(group), Some(threshold)) = (f.group, threshold) else {
        if let Some(instance) = f.instance.filter(|i| i.is_not_found()) {
            return not_found(node, &instance.id, now);
        }
        return (
            S::Unmanaged,
            A::None,
            "not in a node group ekas manages".into(),
        );
    };
    let dead = !node.ready
        && since(now, node.ready_changed.or(node.created))
            .is_some_and(|d| d >= config.dead_threshold);
    if let (Some(mark), false) = (&marks.interruption, dead)
        && let Some(decided) = interrupted(f, mark, config, now)
    {
        return decided;
    }
    if f.protected {
        return (
            S::ScaleInProtected,
            A::None,
            "instance protected from scale-in (--respect-scale-in-protection)".into(),
        );
    }
    if !node.ready {
        let down = since(now, node.ready_changed.or(node.created));
        if down.is_some_and(|d| d >= config.dead_threshold) {
            if let Some(blocked) = f.blocked(true) {
                return (S::Dead, A::None, format!("NotReady, but {blocked}"));
            }
            return (
                S::Dead,
                A::Terminate,
                format!("NotReady for {}", human(down.unwrap_or_default())),
            );
        }
    }
    if let Startup::Starting(why) = f.startup {
        return (S::Starting, A::None, why.clone());
    }
    let drained_by_ekas = marks.drain_started.is_some() || marks.drained_at.is_some();
    if drained_by_ekas && node.unschedulable && ours {
        if f.workload.is_empty() {
            return (S::IdleUnschedulable, A::Terminate, "drained by ekas".into());
        }
        if f.obstacles.iter().any(Obstacle::lasting) {
            // Waiting would leave the node cordoned and draining for good.
            return (
                S::Draining,
                A::Uncordon,
                format!("drain given up: {}", f.blocked(false).unwrap_or_default()),
            );
        }
        if let Some(blocked) = f.blocked(false) {
            return (S::Draining, A::None, format!("drain waits: {blocked}"));
        }
        return (
            S::Draining,
            A::Drain,
            format!("{} pod(s) left to evict", f.workload.len()),
        );
    }
    let age = since(now, node.created);
    if age.is_some_and(|a| a < config.launch_grace) {
        return (
            S::LaunchGrace,
            A::None,
            format!("joined {} ago", human(age.unwrap_or_default())),
        );
    }
    let clear_idle = if marks.idle_since.is_some() {
        A::ClearIdle
    } else {
        A::None
    };
    if !f.workload.is_empty() {
        if node.unschedulable {
            return if ours {
                (
                    S::BusyUnschedulable,
                    A::Uncordon,
                    "runs pods; ekas had cordoned it".into(),
                )
            } else {
                (
                    S::CordonedByOthers,
                    A::None,
                    "runs pods; cordoned by somebody else".into(),
                )
            };
        }
        if marks.consolidating {
            let since = match since(now, marks.consolidating_since) {
                Some(d) => format!(" for {}", human(d)),
                None => String::new(),
            };
            return (
                S::Consolidating,
                clear_idle,
                format!(
                    "consolidating{since}: new pods go elsewhere; {} pod(s) left to finish",
                    f.workload.len()
                ),
            );
        }
        let threshold = config.drain_utilization_below;
        if threshold > 0.0 && f.utilization < threshold {
            let pct = format!("{:.0}% used", f.utilization * 100.0);
            return match f.blocked(false) {
                None => (S::UnderUtilizedDrainable, A::Drain, pct),
                Some(blocked) => (
                    S::UnderUtilizedUndrainable,
                    clear_idle,
                    format!("{pct}; {blocked}"),
                ),
            };
        }
        return (S::Busy, clear_idle, format!("{} pod(s)", f.workload.len()));
    }
    // Idle from here on.
    let reclaim = if node.unschedulable && marks.reclaimable() {
        A::Uncordon
    } else {
        clear_idle
    };
    match wanted {
        Wanted::Booked(request) => {
            return (
                S::Booked,
                reclaim,
                format!("holds room for ProvisioningRequest {request}"),
            );
        }
        Wanted::Pending => return (S::PodPending, reclaim, "a pending pod fits here".into()),
        Wanted::No => {}
    }
    if let Some(kept) = job_pending(f, threshold.threshold, now, waiting) {
        return kept;
    }
    // Consolidated: its room was not needed when it was marked, so it goes without the wait,
    // unless ekas cannot remove it.
    let removable = ours || !node.unschedulable;
    if marks.consolidating && removable && group.desired > group.min_size {
        let why = "consolidated: its last pod finished".to_string();
        return if node.unschedulable {
            (S::IdleUnschedulable, A::Terminate, why)
        } else {
            (S::IdleSchedulable, A::Cordon, why)
        };
    }
    let Some(idle) = since(now, marks.idle_since) else {
        return (S::GracePeriod, A::MarkIdle, "idle from now".into());
    };
    if idle < threshold.threshold {
        return (
            S::GracePeriod,
            A::None,
            format!("idle for {}; {}", human(idle), threshold.explain()),
        );
    }
    if node.unschedulable && !ours {
        return (
            S::CordonedByOthers,
            A::None,
            "idle; cordoned by somebody else".into(),
        );
    }
    if group.desired <= group.min_size {
        return (
            S::AsgMinSize,
            A::None,
            format!("group {} is at MinSize {}", group.name, group.min_size),
        );
    }
    if node.unschedulable {
        (
            S::IdleUnschedulable,
            A::Terminate,
            format!("idle for {}", human(idle)),
        )
    } else {
        (
            S::IdleSchedulable,
            A::Cordon,
            format!("idle for {}", human(idle)),
        )
    }
}

/// An idle node that a Job's pod ran on, while that Job has pods waiting (gated by a queue, or
/// pending and sent to no existing node) that would run here ([`crate::engine::scale_in::jobs`]): kept, and
/// uncordoned if ekas had cordoned it. Its idle time still counts (`ekas/idle-since` is
/// recorded as for any idle node), and it is kept only until it has been idle twice
/// `--idle-threshold`: a Job whose pods are never admitted does not hold a node for good, and
/// once past the bound the node is cordoned and terminated as before, never uncordoned again
/// for the same wait.
fn job_pending(
    f: &Facts<'_>,
    threshold: SignedDuration,
    now: Timestamp,
    waiting: &WaitingJobs<'_>,
) -> Option<(NodeState, NodeActionKind, String)> {
    let node = f.node;
    let ours = node.marks.cordoned_by_ekas;
    let idle = since(now, node.marks.idle_since);
    let bound = threshold.saturating_mul(2);
    if waiting.is_empty() || !node.ready || idle.is_some_and(|d| d >= bound) {
        return None;
    }
    // What the node's DaemonSet and mirror pods leave.
    let mut room = node.allocatable.clone();
    for pod in f.pods.iter().filter(|p| p.is_active()) {
        room.sub(&pod.requests);
    }
    let wait = waiting.wanting(&f.pods, NodeShape::of_node(node, ours), &room)?;
    let action = if node.unschedulable && ours {
        NodeActionKind::Uncordon
    } else if idle.is_none() {
        NodeActionKind::MarkIdle
    } else {
        NodeActionKind::None
    };
    let idle = match idle {
        Some(d) => format!("idle for {}", human(d)),
        None => "idle from now".to_string(),
    };
    Some((
        NodeState::JobPending,
        action,
        format!(
            "job {} has {} pod(s) waiting that fit here; {idle}, kept up to {}",
            wait.job,
            wait.pods,
            human(bound)
        ),
    ))
}

/// A Node outside every group whose instance EC2 does not know. It is deleted only when EC2
/// said so on two passes at least [`NOT_FOUND_CONFIRMATION`] apart and the Node is NotReady:
/// a kubelet that still reports means a machine that still runs.
fn not_found(node: &Node, id: &str, now: Timestamp) -> (NodeState, NodeActionKind, String) {
    let Some(first) = node.marks.instance_not_found_since else {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::MarkInstanceNotFound,
            format!(
                "EC2 does not know instance {id}; asking again in {}",
                human(NOT_FOUND_CONFIRMATION)
            ),
        );
    };
    let asked_again = first
        .saturating_add(NOT_FOUND_CONFIRMATION)
        .unwrap_or(first);
    if now < asked_again {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::None,
            format!(
                "EC2 has not known instance {id} since {first}; asking again from {asked_again}"
            ),
        );
    }
    if node.ready {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::None,
            format!("EC2 has not known instance {id} since {first}, but the Node is Ready"),
        );
    }
    (
        NodeState::InstanceTerminated,
        NodeActionKind::DeleteNode,
        format!("EC2 has not known instance {id} since {first}, and the Node is NotReady"),
    )
}

/// Keeps up to `type_idle_count` idle, schedulable nodes per group as spares while they have
/// been idle less than `--type-idle-threshold`: the next job of that shape starts at once.
fn keep_spares(
    facts: &[Facts<'_>],
    decided: &mut [(NodeState, NodeActionKind, String)],
    config: &MaintenanceConfig,
    now: Timestamp,
) {
    let mut kept: HashMap<&str, usize> = HashMap::new();
    let mut candidates: Vec<usize> = (0..facts.len())
        .filter(|&i| {
            decided[i].0 == NodeState::IdleSchedulable && !facts[i].node.marks.consolidating
        })
        .collect();
    // The most recently idle are kept: the likeliest to be wanted again.
    candidates.sort_by_key(|&i| {
        let f = &facts[i];
        (
            std::cmp::Reverse(f.node.marks.idle_since),
            f.node.name.as_str(),
        )
    });
    for i in candidates {
        let f = &facts[i];
        let Some(group) = f.group else { continue };
        let idle = since(now, f.node.marks.idle_since).unwrap_or_default();
        let count = kept.entry(group.name.as_str()).or_default();
        if *count < config.type_idle_count && idle < config.type_idle_threshold {
            *count += 1;
            decided[i] = (
                NodeState::TypeGracePeriod,
                NodeActionKind::None,
                format!(
                    "kept as a spare of {}; idle for {}",
                    group.name,
                    human(idle)
                ),
            );
        }
    }
}

/// Group members with no Node: waited for during `--instance-init-time`, then replaced —
/// unless some Node that claims no instance might be them.
fn unregistered(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    membership: &Membership<'_>,
    instances: &HashMap<&str, &Instance>,
    now: Timestamp,
) -> (Vec<InstanceAction>, Vec<PlanWarning>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for group in &snapshot.groups {
        let live: Vec<_> = group.members.iter().filter(|m| m.is_live()).collect();
        let unmatched: Vec<_> = live
            .iter()
            .filter(|m| !membership.claimed(&m.instance_id))
            .collect();
        let first = out.len();
        for member in &unmatched {
            let id = member.instance_id.as_str();
            let Some(instance) = instances.get(id).filter(|i| i.is_up()) else {
                continue;
            };
            let age = since(now, instance.launch_time).unwrap_or_default();
            let (action, reason) =
                if member.protected_from_scale_in && config.respect_scale_in_protection {
                    (
                        InstanceActionKind::None,
                        "not joined, but protected from scale-in (--respect-scale-in-protection)"
                            .to_string(),
                    )
                } else if age >= config.instance_init_time {
                    (
                        InstanceActionKind::Replace,
                        format!("launched {} ago and never joined", human(age)),
                    )
                } else {
                    (
                        InstanceActionKind::Wait,
                        format!("launched {} ago", human(age)),
                    )
                };
            out.push(InstanceAction {
                instance_id: id.to_string(),
                group: Some(group.name.clone()),
                region: group.region.clone(),
                action,
                reason,
                private_dns: instance.private_dns.clone(),
                private_ip: instance.private_ip.clone(),
            });
        }
        let replacing: Vec<&Instance> = out[first..]
            .iter()
            .filter(|a| a.action == InstanceActionKind::Replace)
            .filter_map(|a| instances.get(a.instance_id.as_str()).copied())
            .collect();
        let Some(doubt) = membership::doubt(snapshot, unmatched.len(), live.len(), &replacing)
        else {
            continue;
        };
        for a in &mut out[first..] {
            if a.action == InstanceActionKind::Replace {
                a.action = InstanceActionKind::None;
                a.reason = format!("{}; not replaced: {doubt}", a.reason);
            }
        }
        warnings.push(PlanWarning {
            kind: WarningKind::MatchingInDoubt,
            subject: format!("{} ({})", group.name, group.region),
            message: format!("group {} ({}): {doubt}", group.name, group.region),
            object: None,
        });
    }
    out.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    (out, warnings)
}

#[cfg(test)]
mod consolidation_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;

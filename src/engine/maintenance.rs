//! What to do with the nodes and instances the cluster already has: the node state machine,
//! and the brakes that keep scale-in safe (shared/DESIGN.md, safety invariants 1, 3 and 4).
//!
//! Every decision is derived from the snapshot, including ekas's own memory on the nodes
//! (`ekas/idle-since`, `ekas/drain-started`, the cordon label), so a cron `reap`, a restarted
//! loop and `plan` on a laptop decide alike.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use super::drain::{self, DrainPolicy, PodDrain};
use crate::model::group::GroupMember;
use crate::model::resources::{CPU, MEMORY};
use crate::model::{Instance, Node, NodeGroup, Pod, Snapshot};
use crate::plan::{InstanceAction, InstanceActionKind, NodeAction, NodeActionKind, NodeState};

#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Idle this long → cordon, then terminate (`--idle-threshold`).
    pub idle_threshold: SignedDuration,
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
    /// At most this fraction of managed instances is removed per pass (`--max-scale-in-fraction`).
    pub max_scale_in_fraction: f64,
    /// Busy nodes below this utilisation are drained when they can be (0 disables).
    pub drain_utilization_below: f64,
    /// Drains under way at once, across the cluster (`--max-concurrent-drains`).
    pub max_concurrent_drains: usize,
    pub drain: DrainPolicy,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            idle_threshold: SignedDuration::from_secs(3300),
            type_idle_threshold: SignedDuration::from_secs(604_800),
            type_idle_count: 1,
            instance_init_time: SignedDuration::from_secs(1500),
            dead_threshold: SignedDuration::from_mins(30),
            launch_grace: SignedDuration::from_mins(10),
            max_scale_in_fraction: 0.1,
            drain_utilization_below: 0.0,
            max_concurrent_drains: 5,
            drain: DrainPolicy::default(),
        }
    }
}

pub struct Maintenance {
    pub nodes: Vec<NodeAction>,
    pub instances: Vec<InstanceAction>,
}

/// Facts about one node that the decision needs.
struct Facts<'a> {
    node: &'a Node,
    group: Option<&'a NodeGroup>,
    /// The group's index in the snapshot.
    group_index: Option<usize>,
    protected: bool,
    instance_gone: bool,
    /// Active pods that need the node (not DaemonSet or mirror pods).
    workload: Vec<&'a Pod>,
    /// Why the node's pods cannot all be evicted now; empty when they can.
    undrainable: Vec<String>,
    /// Evictions the node's pods need from each PodDisruptionBudget (by index).
    budget_needs: Vec<(usize, i32)>,
    utilization: f64,
}

/// The brakes one pass shares across its nodes.
struct Brakes {
    /// Removals left this pass under `--max-scale-in-fraction`.
    removals_left: usize,
    drains_left: usize,
    /// Planned decrements per group (by index), so no group goes below MinSize.
    decrements: HashMap<usize, u32>,
    /// Evictions each PodDisruptionBudget still allows this pass, spent by the drains chosen.
    allowance: Vec<i32>,
}

/// `needed`: nodes (by index) that pending pods were placed on by the scale-up planner,
/// including cordoned ones ekas may reclaim.
pub fn plan_maintenance(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    needed: &HashSet<usize>,
) -> Maintenance {
    let now = snapshot.captured_at;
    // Each instance's group (by index) and its membership record.
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
    let instances: HashMap<&str, &Instance> = snapshot
        .instances
        .iter()
        .map(|i| (i.id.as_str(), i))
        .collect();
    let facts = gather_facts(snapshot, config, &member_of, &instances, now);

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
        removals_left: scale_in_budget(managed, config.max_scale_in_fraction),
        drains_left: config
            .max_concurrent_drains
            .saturating_sub(already_draining),
        decrements: HashMap::new(),
    };

    let mut decided: Vec<(NodeState, NodeActionKind, String)> = facts
        .iter()
        .enumerate()
        .map(|(i, f)| state_of(f, config, now, needed.contains(&i)))
        .collect();
    keep_spares(&facts, &mut decided, config, now);

    // Brakes apply in a fixed order — dead nodes, then idle ones, then drains, each by name —
    // so the same snapshot always removes the same nodes.
    let mut order: Vec<usize> = (0..facts.len())
        .filter(|&i| decided[i].1.removes_capacity())
        .collect();
    order.sort_by_key(|&i| {
        let rank = match decided[i].0 {
            NodeState::Dead => 0,
            NodeState::IdleUnschedulable => 1,
            NodeState::Draining => 2,
            _ => 3,
        };
        (rank, facts[i].node.name.as_str())
    });
    let mut decrement = vec![false; facts.len()];
    for i in order {
        let f = &facts[i];
        let (state, action, reason) = &mut decided[i];
        let Some(g) = f.group_index else { continue };
        let group = &snapshot.groups[g];
        let planned = brakes.decrements.get(&g).copied().unwrap_or(0);
        let can_shrink = group.desired.saturating_sub(planned) > group.min_size;
        // A drain under way continues: its node was already counted when it started.
        let resumed = *state == NodeState::Draining;
        let drain = *action == NodeActionKind::Drain;
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
        let held = if !resumed && brakes.removals_left == 0 {
            Some("--max-scale-in-fraction reached this pass".to_string())
        } else if let (true, Some(&(k, n))) = (drain, spent) {
            Some(budget_refusal(&snapshot.pdbs[k], brakes.allowance[k], n))
        } else if drain && !resumed && brakes.drains_left == 0 {
            Some("--max-concurrent-drains under way".to_string())
        } else {
            None
        };
        if let Some(why) = held {
            *action = NodeActionKind::None;
            *reason = format!("{reason}; held back: {why}");
            continue;
        }
        if !resumed {
            brakes.removals_left -= 1;
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

    let nodes = facts
        .iter()
        .zip(decided)
        .zip(decrement)
        .map(|((f, (state, action, reason)), decrement)| NodeAction {
            name: f.node.name.clone(),
            group: f.group.map(|g| g.name.clone()),
            region: f.group.map(|g| g.region.clone()),
            instance_id: f.node.instance_id.clone(),
            state,
            action,
            decrement,
            reason,
        })
        .collect();
    Maintenance {
        nodes,
        instances: unregistered(snapshot, config, &instances, now),
    }
}

/// Removals allowed in one pass: the fraction of managed instances, at least one unless the
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
    member_of: &HashMap<&str, (usize, &GroupMember)>,
    instances: &HashMap<&str, &Instance>,
    now: Timestamp,
) -> Vec<Facts<'a>> {
    let index: HashMap<&str, usize> = snapshot
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
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
        .map(|(node, pods)| {
            let id = node.instance_id.as_deref();
            let membership = id.and_then(|id| member_of.get(id));
            let group_index = membership.map(|&(g, _)| g);
            let protected = membership.is_some_and(|(_, m)| m.protected_from_scale_in);
            let instance_gone = id
                .and_then(|id| instances.get(id))
                .is_some_and(|i| matches!(i.state.as_str(), "terminated" | "shutting-down"));
            let workload: Vec<&Pod> = pods
                .iter()
                .copied()
                .filter(|p| p.is_active() && !p.is_daemonset() && !p.mirror)
                .collect();
            let mut undrainable = Vec::new();
            let mut wanted: Vec<usize> = vec![0; snapshot.pdbs.len()];
            for pod in &pods {
                match drain::classify(pod, &config.drain, now) {
                    PodDrain::Leave => {}
                    PodDrain::Block(b) => undrainable.push(format!("{}: {b}", pod.key())),
                    PodDrain::Evict => {
                        for (k, pdb) in snapshot.pdbs.iter().enumerate() {
                            if pdb.namespace == pod.namespace && pdb.selector.matches(&pod.labels) {
                                wanted[k] += 1;
                            }
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
                    undrainable.push(budget_refusal(pdb, pdb.disruptions_allowed, n));
                }
            }
            Facts {
                node,
                group: group_index.map(|g| &snapshot.groups[g]),
                group_index,
                protected,
                instance_gone,
                utilization: utilization(node, &workload),
                workload,
                undrainable,
                budget_needs,
            }
        })
        .collect()
}

fn budget_refusal(pdb: &crate::model::PodDisruptionBudget, allowed: i32, needed: i32) -> String {
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

fn since(now: Timestamp, then: Option<Timestamp>) -> Option<SignedDuration> {
    then.map(|t| now.duration_since(t))
}

/// The state of a node on its own; the brakes and spares are applied afterwards.
fn state_of(
    f: &Facts<'_>,
    config: &MaintenanceConfig,
    now: Timestamp,
    needed: bool,
) -> (NodeState, NodeActionKind, String) {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    let marks = &node.marks;
    let ours = marks.cordoned_by_ekas;
    let blocked = || f.undrainable.join("; ");
    if marks.detached {
        return (S::Detached, A::None, "labelled detached".into());
    }
    if f.instance_gone {
        return (
            S::InstanceTerminated,
            A::DeleteNode,
            "its instance is terminated".into(),
        );
    }
    let Some(group) = f.group else {
        return (
            S::Unmanaged,
            A::None,
            "not in a node group ekas manages".into(),
        );
    };
    if f.protected {
        return (
            S::ScaleInProtected,
            A::None,
            "instance protected from scale-in".into(),
        );
    }
    if !node.ready {
        let down = since(now, node.ready_changed.or(node.created));
        if down.is_some_and(|d| d >= config.dead_threshold) {
            if !f.undrainable.is_empty() {
                return (S::Dead, A::None, format!("NotReady, but {}", blocked()));
            }
            return (
                S::Dead,
                A::Terminate,
                format!("NotReady for {}", human(down.unwrap_or_default())),
            );
        }
    }
    if marks.drain_started.is_some() && node.unschedulable && ours {
        if f.workload.is_empty() {
            return (S::IdleUnschedulable, A::Terminate, "drained by ekas".into());
        }
        if !f.undrainable.is_empty() {
            return (S::Draining, A::None, format!("drain waits: {}", blocked()));
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
        let threshold = config.drain_utilization_below;
        if threshold > 0.0 && f.utilization < threshold {
            let pct = format!("{:.0}% used", f.utilization * 100.0);
            if f.undrainable.is_empty() {
                return (S::UnderUtilizedDrainable, A::Drain, pct);
            }
            return (
                S::UnderUtilizedUndrainable,
                clear_idle,
                format!("{pct}; {}", blocked()),
            );
        }
        return (S::Busy, clear_idle, format!("{} pod(s)", f.workload.len()));
    }
    // Idle from here on.
    if needed {
        let action = if node.unschedulable && ours {
            A::Uncordon
        } else {
            clear_idle
        };
        return (S::PodPending, action, "a pending pod fits here".into());
    }
    let Some(idle) = since(now, marks.idle_since) else {
        return (S::GracePeriod, A::MarkIdle, "idle from now".into());
    };
    if idle < config.idle_threshold {
        return (S::GracePeriod, A::None, format!("idle for {}", human(idle)));
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
        .filter(|&i| decided[i].0 == NodeState::IdleSchedulable)
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

/// Group members with no Node: waiting to join, or replaced when they never did.
fn unregistered(
    snapshot: &Snapshot,
    config: &MaintenanceConfig,
    instances: &HashMap<&str, &Instance>,
    now: Timestamp,
) -> Vec<InstanceAction> {
    let registered: HashSet<&str> = snapshot
        .nodes
        .iter()
        .filter_map(|n| n.instance_id.as_deref())
        .collect();
    let mut out = Vec::new();
    for group in &snapshot.groups {
        for member in group.members.iter().filter(|m| m.is_live()) {
            let id = member.instance_id.as_str();
            if registered.contains(id) {
                continue;
            }
            let Some(instance) = instances.get(id) else {
                continue;
            };
            if !matches!(instance.state.as_str(), "pending" | "running") {
                continue;
            }
            let age = since(now, instance.launch_time).unwrap_or_default();
            let (action, reason) = if member.protected_from_scale_in {
                (
                    InstanceActionKind::None,
                    "not joined, but protected from scale-in".to_string(),
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
            });
        }
    }
    out.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    out
}

/// A duration as an operator reads it: `42m`, `3h 5m`.
fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d", s / 86_400),
    }
}

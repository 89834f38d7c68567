//! The facts of one pass about each node: its group, instance and startup, its pods and what
//! keeps them from being evicted, the budgets its drain would spend, its utilisation.

use std::collections::HashMap;

use jiff::Timestamp;

use super::drain::{self, Blocker, PodDrain};
use super::{MaintenanceConfig, PassFacts};
use crate::engine::capacity::startup::Startup;
use crate::model::resources::{CPU, MEMORY};
use crate::model::{Instance, Node, NodeGroup, Pod, PodDisruptionBudget, Snapshot};

/// Why a node's pods cannot all be evicted now. Kept as facts and put in words only when a
/// decision quotes them: a cluster of busy Job nodes has one per pod.
pub(super) enum Obstacle<'a> {
    Pod(&'a Pod, Blocker),
    /// The Eviction API refuses a pod under more than one budget.
    TwoBudgets(&'a Pod, Vec<&'a str>),
    /// A budget allows fewer evictions than the node's pods need.
    Budget(&'a PodDisruptionBudget, i32),
}

impl Obstacle<'_> {
    /// Time alone will not lift it: a drain that meets it is given up.
    pub(super) fn lasting(&self) -> bool {
        match self {
            Obstacle::Pod(_, b) => !matches!(b, Blocker::TooYoung { .. }),
            Obstacle::TwoBudgets(..) => true,
            Obstacle::Budget(..) => false,
        }
    }

    /// It also keeps a dead node from being terminated.
    pub(super) fn holds_dead_node(&self) -> bool {
        match self {
            Obstacle::Pod(_, b) => b.holds_dead_node(),
            Obstacle::TwoBudgets(..) | Obstacle::Budget(..) => true,
        }
    }

    pub(super) fn text(&self) -> String {
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
pub(super) struct Facts<'a> {
    pub(super) node: &'a Node,
    pub(super) group: Option<&'a NodeGroup>,
    /// The group's index in the snapshot.
    pub(super) group_index: Option<usize>,
    /// Protected from scale-in, and `--respect-scale-in-protection` asks to honour it.
    pub(super) protected: bool,
    /// EC2's record of the node's instance, when it was described.
    pub(super) instance: Option<&'a Instance>,
    pub(super) startup: &'a Startup,
    /// Every pod bound to the node, finished ones included.
    pub(super) pods: Vec<&'a Pod>,
    /// Active pods that need the node (not DaemonSet or mirror pods).
    pub(super) workload: Vec<&'a Pod>,
    /// Why the node's pods cannot all be evicted now; empty when they can.
    pub(super) obstacles: Vec<Obstacle<'a>>,
    /// Evictions the node's pods need from each PodDisruptionBudget (by index).
    pub(super) budget_needs: Vec<(usize, i32)>,
    pub(super) utilization: f64,
}

impl Facts<'_> {
    pub(super) fn blocked(&self, dead: bool) -> Option<String> {
        let texts: Vec<String> = self
            .obstacles
            .iter()
            .filter(|o| !dead || o.holds_dead_node())
            .map(Obstacle::text)
            .collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    }
}

pub(super) fn gather_facts<'a>(
    snapshot: &'a Snapshot,
    config: &MaintenanceConfig,
    pass: &PassFacts<'a>,
    instances: &HashMap<&str, &'a Instance>,
    now: Timestamp,
) -> Vec<Facts<'a>> {
    snapshot
        .nodes
        .iter()
        .zip(pods_by_node(snapshot))
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
            let Drainability {
                obstacles,
                budget_needs,
            } = drainability(snapshot, &pods, config, now);
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

/// Every pod bound to each node, in the snapshot's node order.
fn pods_by_node(snapshot: &Snapshot) -> Vec<Vec<&Pod>> {
    let index = snapshot.node_index();
    let mut pods: Vec<Vec<&Pod>> = vec![Vec::new(); snapshot.nodes.len()];
    for pod in &snapshot.pods {
        if let Some(&n) = pod.node_name.as_deref().and_then(|name| index.get(name)) {
            pods[n].push(pod);
        }
    }
    pods
}

/// What draining one node's pods would meet, and spend from each budget.
struct Drainability<'a> {
    obstacles: Vec<Obstacle<'a>>,
    budget_needs: Vec<(usize, i32)>,
}

fn drainability<'a>(
    snapshot: &'a Snapshot,
    pods: &[&'a Pod],
    config: &MaintenanceConfig,
    now: Timestamp,
) -> Drainability<'a> {
    let mut obstacles = Vec::new();
    let mut wanted: Vec<usize> = vec![0; snapshot.pdbs.len()];
    for &pod in pods {
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
    Drainability {
        obstacles,
        budget_needs,
    }
}

/// The larger of the CPU and memory shares the workload requests.
pub(super) fn utilization(node: &Node, workload: &[&Pod]) -> f64 {
    [CPU, MEMORY]
        .iter()
        .map(|r| {
            let total = node.allocatable.get(r);
            if total <= 0 {
                return 0.0;
            }
            // Saturating: a pod may request absurd amounts that still parse.
            let used = workload
                .iter()
                .map(|p| p.requests.get(r))
                .fold(0, i64::saturating_add);
            used as f64 / total as f64
        })
        .fold(0.0, f64::max)
}

/// Why a drain waits for a PodDisruptionBudget.
pub(super) fn budget_refusal(pdb: &PodDisruptionBudget, allowed: i32, needed: i32) -> String {
    format!(
        "PodDisruptionBudget {}/{} allows {} disruption(s), {} needed",
        pdb.namespace,
        pdb.name,
        allowed.max(0),
        needed
    )
}

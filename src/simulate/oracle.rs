//! The invariants every simulation checks, restated here from shared/DESIGN.md and the issue
//! rather than asked of the code under test:
//!
//! - no group outside [MinSize, MaxSize] (the simulated AWS refuses such a request and
//!   records it; after each pass every group is looked at again);
//! - no busy node terminated (safety invariant 1: jobs are evicted, never killed);
//! - no job lost: no pod runs on a node that is gone (checked after every pass), and at the
//!   end every pod of every job finished, runs, or waits;
//! - node-hours at least the work's lower bound: a node runs at most its allocatable of each
//!   resource, so a group's node-time is at least its work divided by that;
//! - every pod scheduled when capacity allows: at the end, no pod waits that a fresh node of
//!   some group (not failing) could run, judged by this module's own reading of nodeSelector,
//!   taints and tolerations.

use crate::model::scheduling::{Taint, TaintEffect, Toleration, TolerationOperator};
use crate::model::{Node, Pod, Resources};

use super::workload::Workload;
use super::world::World;

/// Group sizes, and pods on nodes that are gone, after a pass.
pub fn after_pass(world: &World) -> Vec<String> {
    let mut out = lost_pods(world);
    for group in &world.snap.groups {
        let live = group.members.iter().filter(|m| m.is_live()).count() as u32;
        if group.desired < group.min_size || group.desired > group.max_size {
            out.push(format!(
                "{}: desired capacity {} outside [{}, {}]",
                group.name, group.desired, group.min_size, group.max_size
            ));
        }
        if live > group.max_size {
            out.push(format!(
                "{}: {live} instances, above MaxSize {}",
                group.name, group.max_size
            ));
        }
    }
    out
}

/// Job pods bound to a node that no longer exists: killed with it, not evicted.
fn lost_pods(world: &World) -> Vec<String> {
    world
        .pods
        .iter()
        .enumerate()
        .filter(|(_, sim)| sim.job.is_some())
        .filter(|(_, sim)| sim.node.is_some_and(|n| !world.node_at.contains_key(&n)))
        .map(|(i, _)| {
            format!(
                "pod {} runs on a node that no longer exists",
                world.snap.pods[i].name
            )
        })
        .collect()
}

/// The end-of-run checks.
pub fn at_end(world: &World, workload: &Workload) -> Vec<String> {
    let mut out = lost_pods(world);
    let mut present = vec![0u32; workload.jobs.len()];
    for sim in &world.pods {
        if let Some(j) = sim.job {
            present[j] += 1;
        }
    }
    for (j, job) in workload.jobs.iter().enumerate() {
        let finished = world.jobs[j].finished;
        if present[j] + finished != job.pods {
            out.push(format!(
                "job {} lost pods: {} of {} finished, {} still there",
                job.name, finished, job.pods, present[j]
            ));
        }
    }
    let ledger = &world.ledger;
    for (g, group) in world.snap.groups.iter().enumerate() {
        let needed = ledger.work[g].values().copied().fold(0.0, f64::max);
        let had = ledger.instance_ms[g] as f64;
        if had + 1.0 < needed {
            out.push(format!(
                "{}: {:.2} node-hours, below the {:.2} its work needs",
                group.name,
                had / 3_600_000.0,
                needed / 3_600_000.0
            ));
        }
    }
    for (i, sim) in world.pods.iter().enumerate() {
        let Some(j) = sim.job else { continue };
        if sim.node.is_some() {
            continue;
        }
        let pod = &world.snap.pods[i];
        // How many such pods fresh nodes of group g could run at once.
        let room_for = |g: usize| -> u64 {
            let group = &world.snap.groups[g];
            if group.max_size == 0 || world.failing(g) {
                return 0;
            }
            let room = world.fresh_room(g);
            if !could_run(pod, world.template(g), &room) {
                return 0;
            }
            u64::from(group.max_size).saturating_mul(copies(pod, &room))
        };
        let wanted = if workload.jobs[j].gang {
            u64::from(workload.jobs[j].pods)
        } else {
            1
        };
        let total: u64 = (0..world.snap.groups.len()).map(room_for).sum();
        if total >= wanted {
            let g = (0..world.snap.groups.len())
                .find(|&g| room_for(g) > 0)
                .expect("some group has room");
            out.push(format!(
                "pod {} still waits at the end, though group {} could run it",
                pod.name, world.snap.groups[g].name
            ));
        }
    }
    out
}

/// How many copies of the pod fit in `room`.
fn copies(pod: &Pod, room: &Resources) -> u64 {
    pod.requests
        .iter()
        .filter(|(_, amount)| *amount > 0)
        .map(|(r, amount)| (room.get(r) / amount).max(0) as u64)
        .min()
        .unwrap_or(u64::MAX)
}

/// Whether a fresh node shaped like `node`, with `room` left by its DaemonSet pods, runs the
/// pod. Pods with node affinity or anti-affinity are given the benefit of the doubt.
fn could_run(pod: &Pod, node: &Node, room: &Resources) -> bool {
    let p = &pod.placement;
    if !p.node_affinity.is_empty() || !p.anti_affinity.is_empty() {
        return false;
    }
    let selected = p
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v));
    let tolerated = node
        .taints
        .iter()
        .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
        .all(|t| p.tolerations.iter().any(|tol| tolerates(tol, t)));
    let fits = pod.requests.iter().all(|(r, amount)| amount <= room.get(r));
    selected && tolerated && fits
}

fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    let key =
        tol.key == taint.key || (tol.key.is_empty() && tol.operator == TolerationOperator::Exists);
    let value = tol.operator == TolerationOperator::Exists || tol.value == taint.value;
    let effect = tol.effect.is_none_or(|e| e == taint.effect);
    key && value && effect
}

//! How kube-scheduler ranks the nodes a pod fits on, for the simulated scheduler: the scores
//! of its default profile that depend on resources and taints, in its integer arithmetic
//! (kube-scheduler 1.36, `pkg/scheduler/framework/plugins`).
//!
//! A node's total is the sum of three plugins' scores, each from 0 to 100, times its weight:
//!
//! 1. NodeResourcesFit (weight 1), over cpu and memory, each weighing 1, averaged:
//!    `LeastAllocated` (the default) scores `(allocatable − requested) · 100 / allocatable`
//!    (0 when the pod does not fit), which spreads pods; `MostAllocated` scores
//!    `requested · 100 / allocatable`, which packs them. `requested` includes the pod.
//! 2. NodeResourcesBalancedAllocation (weight 1): with `f` a resource's requested share
//!    (at most 1), a node's balance is `⌊(1 − |f_cpu − f_memory| / 2) · 100⌋`; the score is
//!    `50 + (50 + balance with the pod − balance without it) / 2`: 75 when the pod changes
//!    nothing, towards 100 when it evens the node out. A pod requesting neither gets 0.
//! 3. TaintToleration (weight 3): the `PreferNoSchedule` taints a pod does not tolerate,
//!    counted per node, then normalised over the nodes it fits: `100 − 100 · count / most`.
//!    One such taint costs 300 points, more than both resource scores can make up: a pod
//!    goes to a soft-tainted node only when no other node fits it.
//!
//! The highest total wins; kube-scheduler picks one of the tied nodes uniformly at random,
//! here a hash of the pod and the node decides, so runs repeat.
//!
//! Left out, as the simulated pods never trigger them: preferred node affinity, inter-pod
//! affinity preferences, image locality, and the default topology spreading (which applies
//! to pods a Service or a ReplicaSet selects, not to Jobs' pods). Also left out:
//! `percentageOfNodesToScore`, by which a large cluster (past 100 nodes) scores only part of
//! the nodes that fit.

use crate::model::Resources;
use crate::model::scheduling::{Placement, Taint, TaintEffect};

/// The best a plugin scores a node.
const MAX_SCORE: i64 = 100;
/// TaintToleration's weight in the default profile.
const TAINT_WEIGHT: i64 = 3;

/// NodeResourcesFit's scoring strategy, as a KubeSchedulerConfiguration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scoring {
    /// The default profile: prefers the node with the most room left (spreads pods).
    #[default]
    LeastAllocated,
    /// Prefers the fullest node that fits (packs pods): kube-scheduler configured to pack.
    MostAllocated,
}

/// A node as scoring sees it.
#[derive(Debug, Clone, Copy)]
pub struct NodeLoad<'a> {
    pub allocatable: &'a Resources,
    /// What the pods already on it request, before the pod being placed.
    pub requested: &'a Resources,
    pub taints: &'a [Taint],
}

impl Scoring {
    /// NodeResourcesFit plus BalancedAllocation for `pod` on `node`.
    pub fn resource_score(self, node: NodeLoad, pod: &Resources) -> i64 {
        let after = node.requested.plus(pod);
        let dims = [
            (after.cpu, node.allocatable.cpu),
            (after.memory, node.allocatable.memory),
        ];
        let fit = average(dims.map(|(requested, allocatable)| match self {
            Scoring::LeastAllocated => least_allocated(requested, allocatable),
            Scoring::MostAllocated => most_allocated(requested, allocatable),
        }));
        fit + balanced_allocation(node.requested, &after, node.allocatable, pod)
    }
}

/// The average of per-resource scores, over the resources the node has (integer division,
/// as kube-scheduler's).
fn average(scores: [Option<i64>; 2]) -> i64 {
    let present: Vec<i64> = scores.into_iter().flatten().collect();
    match present.len() as i64 {
        0 => 0,
        n => present.iter().sum::<i64>() / n,
    }
}

fn least_allocated(requested: i64, allocatable: i64) -> Option<i64> {
    match allocatable {
        0 => None,
        a if requested > a => Some(0),
        a => Some((a - requested) * MAX_SCORE / a),
    }
}

fn most_allocated(requested: i64, allocatable: i64) -> Option<i64> {
    match allocatable {
        0 => None,
        a => Some(requested.min(a) * MAX_SCORE / a),
    }
}

fn balanced_allocation(
    before: &Resources,
    after: &Resources,
    allocatable: &Resources,
    pod: &Resources,
) -> i64 {
    if pod.cpu == 0 && pod.memory == 0 {
        return 0;
    }
    let with = balance(after, allocatable);
    let without = balance(before, allocatable);
    MAX_SCORE / 2 + (MAX_SCORE / 2 + with - without) / 2
}

fn balance(requested: &Resources, allocatable: &Resources) -> i64 {
    let fraction = |r: i64, a: i64| (a != 0).then(|| (r as f64 / a as f64).min(1.0));
    let fractions: Vec<f64> = [
        fraction(requested.cpu, allocatable.cpu),
        fraction(requested.memory, allocatable.memory),
    ]
    .into_iter()
    .flatten()
    .collect();
    let spread = match fractions[..] {
        [a, b] => ((a - b) / 2.0).abs(),
        _ => 0.0,
    };
    ((1.0 - spread) * MAX_SCORE as f64) as i64
}

/// The `PreferNoSchedule` taints on a node the pod does not tolerate.
pub fn soft_taints_against(placement: &Placement, taints: &[Taint]) -> i64 {
    taints
        .iter()
        .filter(|t| t.effect == TaintEffect::PreferNoSchedule && !placement.tolerates(t))
        .count() as i64
}

/// TaintToleration's weighted score of a node with `count` soft taints against the pod,
/// `most` being the highest count among the nodes the pod fits.
pub fn taint_score(count: i64, most: i64) -> i64 {
    let normalised = match most {
        0 => MAX_SCORE,
        most => MAX_SCORE - MAX_SCORE * count / most,
    };
    TAINT_WEIGHT * normalised
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu: i64, memory: i64) -> Resources {
        let mut r = Resources::default();
        (r.cpu, r.memory) = (cpu, memory);
        r
    }

    /// cpu and memory, in millicores and bytes (or any unit: only ratios count).
    type Pair = (i64, i64);

    /// (strategy, allocatable, requested before, pod) → NodeResourcesFit alone; the numbers
    /// are kube-scheduler's own test cases for LeastAllocated and MostAllocated.
    fn fit_only((scoring, allocatable, before, pod, expected): (Scoring, Pair, Pair, Pair, i64)) {
        let (allocatable, before, pod) = (
            res(allocatable.0, allocatable.1),
            res(before.0, before.1),
            res(pod.0, pod.1),
        );
        let after = before.plus(&pod);
        let score = average(
            [
                (after.cpu, allocatable.cpu),
                (after.memory, allocatable.memory),
            ]
            .map(|(r, a)| match scoring {
                Scoring::LeastAllocated => least_allocated(r, a),
                Scoring::MostAllocated => most_allocated(r, a),
            }),
        );
        assert_eq!(score, expected);
    }

    cases! { fit_only;
        // cpu (4000-3000)·100/4000 = 25, memory (10000-5000)·100/10000 = 50: (25+50)/2 = 37.
        least_allocated_small_node: (Scoring::LeastAllocated, (4000, 10000), (0, 0), (3000, 5000), 37),
        // cpu (6000-3000)·100/6000 = 50, memory 50: 50.
        least_allocated_larger_node: (Scoring::LeastAllocated, (6000, 10000), (0, 0), (3000, 5000), 50),
        // cpu (10000-6000)·100/10000 = 40, memory (20000-5000)·100/20000 = 75: 57.
        least_allocated_with_pods_on_it: (Scoring::LeastAllocated, (10000, 20000), (3000, 5000), (3000, 0), 57),
        // Requests above allocatable score 0 for that resource.
        least_allocated_over: (Scoring::LeastAllocated, (4000, 10000), (4000, 0), (1000, 0), 50),
        // cpu 3000·100/4000 = 75, memory 5000·100/10000 = 50: 62.
        most_allocated_small_node: (Scoring::MostAllocated, (4000, 10000), (0, 0), (3000, 5000), 62),
        // Above allocatable counts as full.
        most_allocated_over: (Scoring::MostAllocated, (4000, 10000), (4000, 10000), (1000, 1000), 100),
        // No memory allocatable: only cpu counts.
        a_resource_without_allocatable_is_skipped: (Scoring::MostAllocated, (4000, 0), (0, 0), (1000, 1000), 25),
    }

    /// (allocatable, requested before, pod) → BalancedAllocation.
    fn balanced((allocatable, before, pod, expected): (Pair, Pair, Pair, i64)) {
        let (allocatable, before, pod) = (
            res(allocatable.0, allocatable.1),
            res(before.0, before.1),
            res(pod.0, pod.1),
        );
        let after = before.plus(&pod);
        assert_eq!(
            balanced_allocation(&before, &after, &allocatable, &pod),
            expected
        );
    }

    cases! { balanced;
        // Empty node, pod at 1/4 cpu and 1/4 memory: balance 100 before and after: 75.
        an_even_pod_on_an_empty_node: ((4000, 16), (0, 0), (1000, 4), 75),
        // Before 0.5 cpu / 0 memory (balance 75); after 0.5 / 0.5 (100): 50 + (50 + 25)/2 = 87.
        a_pod_that_evens_the_node: ((4000, 16), (2000, 0), (0, 8), 87),
        // Before even (100); after 1.0 / 0 (50): 50 + (50 − 50)/2 = 50.
        a_pod_that_tips_the_node: ((4000, 16), (0, 0), (4000, 0), 50),
        // Beyond allocatable a share counts as 1.
        shares_stop_at_one: ((4000, 16), (4000, 0), (4000, 0), 75),
        a_pod_requesting_nothing_gets_nothing: ((4000, 16), (1000, 4), (0, 0), 0),
    }

    #[test]
    fn one_soft_taint_outweighs_the_resource_scores() {
        let spread = Scoring::LeastAllocated;
        let allocatable = res(4000, 16 << 30);
        let empty = res(0, 0);
        let busy = res(3000, 12 << 30);
        let pod = res(500, 1 << 30);
        let node = |requested| NodeLoad {
            allocatable: &allocatable,
            requested,
            taints: &[],
        };
        // The empty node beats the busy one on resources…
        let on_empty = spread.resource_score(node(&empty), &pod);
        let on_busy = spread.resource_score(node(&busy), &pod);
        assert!(on_empty > on_busy, "{on_empty} vs {on_busy}");
        // …but a soft taint on it costs more than any resource score makes up.
        assert!(on_empty + taint_score(1, 1) < on_busy + taint_score(0, 1));
        assert_eq!(taint_score(0, 0), 300);
        assert_eq!(taint_score(1, 2), 150);
        // Packing prefers the busy node.
        let pack = Scoring::MostAllocated;
        assert!(pack.resource_score(node(&busy), &pod) > pack.resource_score(node(&empty), &pod));
    }
}

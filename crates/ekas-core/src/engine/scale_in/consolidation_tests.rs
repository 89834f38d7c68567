//! Consolidation by attrition: which nodes are marked and when a mark is undone, case by case;
//! then a property over sequences of passes — jobs ending, jobs arriving, every action applied
//! — that it never evicts and never marks or removes more than the budget of a window. The
//! property's oracle restates the budget and reads only what the passes did.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::engine::scale_in::idle_threshold::IdleThreshold;
use crate::engine::tests::{Cluster, now};
use crate::engine::{Config, plan};
use crate::model::PodPhase;
use crate::plan::{NodeActionKind as A, NodeState as S, Plan};
use crate::pricing::{HourlyPrice, PriceSource};

fn action(plan: &Plan, node: &str) -> (S, A) {
    let n = plan.nodes.iter().find(|n| n.name == node).unwrap();
    (n.state, n.action)
}

/// Three 8-cpu, 32 GiB nodes of one group: `a` runs 1 cpu, `b` 3 cpu, `c` 6 cpu.
fn three_nodes() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    c.group("g", "r1", 3, 10, 8000, 32);
    for (name, cpu) in [("a", 1000), ("b", 3000), ("c", 6000)] {
        c.node(name, Some("g"), 8000, 32);
        c.running(&format!("{name}-job"), name, cpu, 4);
    }
    c
}

fn config() -> Config {
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = 0.5;
    config
}

#[test]
fn an_under_used_node_whose_pods_fit_elsewhere_is_marked() {
    let p = plan(&three_nodes().0, &config());
    // a: 1/8 cpu used, its pod fits on b. b receives it, so b is not marked in the same pass
    // even though it is under half used; c is above the threshold.
    assert_eq!(action(&p, "a"), (S::Consolidating, A::Consolidate));
    assert_eq!(action(&p, "b"), (S::Busy, A::None));
    assert_eq!(action(&p, "c"), (S::Busy, A::None));
    assert!(p.scale_ups.is_empty() && !p.nodes.iter().any(|n| n.action.removes_capacity()));
}

#[test]
fn a_node_whose_pods_fit_nowhere_else_is_not_marked() {
    let mut c = three_nodes();
    // a's pod grows to 3 cpu and 30 GiB: no other node has 30 GiB free.
    c.0.pods[0].requests.memory = 30 << 30;
    c.0.pods[0].requests.cpu = 3000;
    let p = plan(&c.0, &config());
    assert_eq!(action(&p, "a").1, A::None);
}

#[test]
fn the_budget_of_the_window_caps_the_marks() {
    let mut c = Cluster::new(&["r1"]);
    c.group("g", "r1", 10, 10, 8000, 32);
    for i in 0..10 {
        let name = format!("n{i}");
        c.node(&name, Some("g"), 8000, 32);
        c.running(&format!("{name}-job"), &name, 500, 1);
    }
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = 0.2;
    let marked = |p: &Plan| {
        p.nodes
            .iter()
            .filter(|n| n.action == A::Consolidate)
            .count()
    };
    // 20 % of 10 nodes: two a window, each mark a removal begun.
    let p = plan(&c.0, &config);
    assert_eq!(marked(&p), 2);
    assert!(
        p.nodes
            .iter()
            .filter(|n| n.action == A::Consolidate)
            .all(|n| n.charged)
    );
    // One removal within the window already (recorded on the Lease): one more.
    c.0.recent_removals = vec![now() - SignedDuration::from_secs(20)];
    assert_eq!(marked(&plan(&c.0, &config)), 1);
    // Before the window: two again.
    c.0.recent_removals = vec![now() - SignedDuration::from_mins(5)];
    assert_eq!(marked(&plan(&c.0, &config)), 2);
    // Idle nodes' removals come first: with one idle past its threshold, one mark.
    c.0.recent_removals.clear();
    c.0.pods[0].phase = PodPhase::Succeeded;
    c.0.nodes[0].unschedulable = true;
    c.0.nodes[0].marks.cordoned_by_ekas = true;
    c.0.nodes[0].marks.idle_since = Some(now() - SignedDuration::from_hours(2));
    let p = plan(&c.0, &config);
    assert_eq!(action(&p, "n0"), (S::IdleUnschedulable, A::Terminate));
    assert_eq!(marked(&p), 1);
}

#[test]
fn a_pass_marks_at_most_its_share_of_nodes() {
    let mut c = Cluster::new(&["r1"]);
    c.group("g", "r1", 100, 100, 8000, 32);
    for i in 0..100 {
        let name = format!("n{i:03}");
        c.node(&name, Some("g"), 8000, 32);
        c.running(&format!("{name}-job"), &name, 500, 1);
    }
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = 1.0;
    let p = plan(&c.0, &config);
    let marked = p
        .nodes
        .iter()
        .filter(|n| n.action == A::Consolidate)
        .count();
    assert_eq!(
        marked,
        crate::engine::scale_in::consolidation::MARKS_PER_PASS
    );
}

#[test]
fn pending_pods_planned_onto_a_marked_node_undo_the_mark() {
    let mut c = three_nodes();
    c.0.nodes[0].marks.consolidating = true;
    c.0.nodes[0].marks.consolidating_since = Some(now());
    // 7 cpu fits only on a.
    c.pod("big", 7000, 4);
    let p = plan(&c.0, &config());
    assert_eq!(action(&p, "a"), (S::Consolidating, A::ClearConsolidation));
    assert!(p.scale_ups.is_empty(), "a's room is used, no node bought");
}

#[test]
fn a_marked_node_is_removed_once_its_last_pod_ends_without_the_idle_wait() {
    let mut c = three_nodes();
    c.0.nodes[0].marks.consolidating = true;
    c.0.pods[0].phase = PodPhase::Succeeded;
    let mut config = config();
    config.maintenance.idle_threshold = IdleThreshold::Fixed(SignedDuration::from_hours(1));
    let p = plan(&c.0, &config);
    assert_eq!(action(&p, "a"), (S::IdleSchedulable, A::Cordon));
    c.0.nodes[0].unschedulable = true;
    c.0.nodes[0].marks.cordoned_by_ekas = true;
    let p = plan(&c.0, &config);
    assert_eq!(action(&p, "a"), (S::IdleUnschedulable, A::Terminate));
}

#[test]
fn marks_are_undone_when_the_node_cannot_go_or_consolidation_is_off() {
    let mut c = three_nodes();
    c.0.nodes[0].marks.consolidating = true;
    c.0.groups[0].min_size = 3;
    let p = plan(&c.0, &config());
    assert_eq!(action(&p, "a").1, A::ClearConsolidation);
    c.0.groups[0].min_size = 0;
    let mut off = config();
    off.maintenance.consolidation.enabled = false;
    assert_eq!(action(&plan(&c.0, &off), "a").1, A::ClearConsolidation);
    c.0.nodes[0].marks.scale_down_disabled = true;
    assert_eq!(action(&plan(&c.0, &config()), "a").1, A::ClearConsolidation);
}

#[test]
fn a_dearer_group_shrinks_by_attrition_while_a_cheaper_one_takes_the_work() {
    let mut c = Cluster::new(&["r1"]);
    let price = |dollars| {
        Some(HourlyPrice {
            dollars,
            source: PriceSource::Bundled,
        })
    };
    c.group("dear", "r1", 1, 5, 8000, 32).price = price(1.0);
    c.group("cheap", "r1", 0, 5, 8000, 32).price = price(0.5);
    c.node("d1", Some("dear"), 8000, 32);
    // 6 of 8 cpu: above the utilisation threshold, and nowhere else to go now.
    c.running("d1-job", "d1", 6000, 8);
    let mut config = config();
    config.maintenance.max_scale_in_fraction = 1.0;
    let p = plan(&c.0, &config);
    let d1 = p.nodes.iter().find(|n| n.name == "d1").unwrap();
    assert_eq!((d1.state, d1.action), (S::Consolidating, A::Consolidate));
    assert!(
        d1.reason.contains("group cheap would run its pods for 50%"),
        "{}",
        d1.reason
    );
    // Only 10 % cheaper: not worth it.
    c.0.groups[1].price = price(0.9);
    assert_eq!(action(&plan(&c.0, &config), "d1").1, A::None);
}

// ---- the property ------------------------------------------------------------------------

/// Passes over a cluster of busy nodes whose jobs end and arrive.
#[derive(Debug, Clone)]
struct Sequence {
    fraction: f64,
    window_mins: i64,
    /// Per node: its jobs' cpu (millicores) and how many passes each runs.
    jobs: Vec<Vec<(i64, u32)>>,
    /// Per pass: seconds since the previous one, and a job arriving (cpu) or none.
    passes: Vec<(i64, Option<i64>)>,
}

fn sequence() -> impl Strategy<Value = Sequence> {
    let job = (prop_oneof![250i64..1000, 1000i64..4000], 1u32..30);
    (
        0.05f64..0.6,
        1i64..15,
        prop::collection::vec(prop::collection::vec(job, 1..4), 3..16),
        prop::collection::vec(
            (
                prop_oneof![1i64..10, 10i64..120, 120i64..900],
                prop::option::weighted(0.3, 500i64..6000),
            ),
            5..40,
        ),
    )
        .prop_map(|(fraction, window_mins, jobs, passes)| Sequence {
            fraction,
            window_mins,
            jobs,
            passes,
        })
}

/// The budget of one window, restated: the fraction of the live instances, at least one.
fn budget(live: usize, fraction: f64) -> usize {
    match live {
        0 => 0,
        live => ((live as f64 * fraction).floor() as usize).max(1),
    }
}

fn attrition_never_evicts_and_keeps_the_budget(s: &Sequence) -> Result<(), TestCaseError> {
    let mut c = Cluster::new(&["r1"]);
    let nodes = s.jobs.len();
    c.group("g", "r1", nodes as u32, nodes as u32 + 5, 8000, 32);
    // Job pods and the pass they end at.
    let mut ends: Vec<(String, u32)> = Vec::new();
    for (i, jobs) in s.jobs.iter().enumerate() {
        let name = format!("n{i:02}");
        let node = c.node(&name, Some("g"), 8000, 32);
        node.created = Some(now() - SignedDuration::from_hours(2));
        for (k, &(cpu, passes)) in jobs.iter().enumerate() {
            let pod = format!("{name}-{k}");
            c.running(&pod, &name, cpu, 1);
            ends.push((pod, passes));
        }
    }
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = s.fraction;
    config.maintenance.scale_in_window = SignedDuration::from_mins(s.window_mins);
    config.maintenance.idle_threshold = IdleThreshold::Fixed(SignedDuration::from_mins(2));
    let window = SignedDuration::from_mins(s.window_mins);
    // What the actuator records on the Lease (the plan's charged actions), and the oracle's
    // own count: a node's removal begins when it is marked or, unmarked, terminated.
    let mut recorded: Vec<Timestamp> = Vec::new();
    let mut begun: Vec<Timestamp> = Vec::new();
    let mut ever_marked: HashSet<String> = HashSet::new();
    let mut at = now();
    for (pass, &(gap, arrival)) in s.passes.iter().enumerate() {
        at += SignedDuration::from_secs(gap);
        c.0.captured_at = at;
        c.0.recent_removals = recorded.clone();
        // Jobs end; a new one may arrive, pending.
        for (pod, end) in &ends {
            if pass as u32 >= *end
                && let Some(p) = c.0.pods.iter_mut().find(|p| &p.name == pod)
            {
                p.phase = PodPhase::Succeeded;
            }
        }
        if let Some(cpu) = arrival {
            c.pod(&format!("new-{pass}"), cpu, 1);
        }
        let live = c.0.groups[0].members.len();
        let p = plan(&c.0, &config);
        let busy: HashSet<&str> =
            c.0.pods
                .iter()
                .filter(|p| p.is_active())
                .filter_map(|p| p.node_name.as_deref())
                .collect();
        for n in &p.nodes {
            let evicts = matches!(n.action, A::Drain | A::InterruptionDrain);
            prop_assert!(
                !evicts,
                "{} {:?}: nothing is ever evicted",
                n.name,
                n.action
            );
            prop_assert!(
                !(n.action == A::Terminate && busy.contains(n.name.as_str())),
                "terminates {}, which runs pods",
                n.name
            );
        }
        let marked: Vec<&str> = p
            .nodes
            .iter()
            .filter(|n| n.action == A::Consolidate)
            .map(|n| n.name.as_str())
            .collect();
        let removed: Vec<String> = p
            .nodes
            .iter()
            .filter(|n| n.action == A::Terminate)
            .map(|n| n.name.clone())
            .collect();
        let starting = marked.len()
            + removed
                .iter()
                .filter(|name| !ever_marked.contains(*name))
                .count();
        begun.extend(std::iter::repeat_n(at, starting));
        ever_marked.extend(marked.iter().map(|n| n.to_string()));
        recorded.extend(std::iter::repeat_n(
            at,
            p.nodes.iter().filter(|n| n.charged).count(),
        ));
        let within = begun.iter().filter(|&&t| at - window < t).count();
        prop_assert!(
            starting == 0 || within <= budget(live, s.fraction),
            "{within} removals begun (marks included) in the window ending {at}, budget {}",
            budget(live, s.fraction)
        );
        // Apply the plan as the actuator would.
        for n in &p.nodes {
            let Some(i) = c.0.nodes.iter().position(|x| x.name == n.name) else {
                continue;
            };
            let node = &mut c.0.nodes[i];
            match n.action {
                A::Consolidate => {
                    node.marks.consolidating = true;
                    node.marks.consolidating_since = Some(at);
                }
                A::ClearConsolidation => {
                    node.marks.consolidating = false;
                    node.marks.consolidating_since = None;
                }
                A::MarkIdle => node.marks.idle_since = Some(at),
                A::ClearIdle => node.marks.idle_since = None,
                A::Cordon => {
                    node.unschedulable = true;
                    node.marks.cordoned_by_ekas = true;
                }
                A::Uncordon => {
                    node.unschedulable = false;
                    node.marks.cordoned_by_ekas = false;
                }
                A::Terminate => {
                    let id = c.0.nodes.remove(i).instance_id.unwrap();
                    let g = &mut c.0.groups[0];
                    g.members.retain(|m| m.instance_id != id);
                    g.desired = g.desired.saturating_sub(1);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn attrition_never_evicts_and_never_exceeds_the_budget(s in sequence()) {
        attrition_never_evicts_and_keeps_the_budget(&s)?;
    }
}

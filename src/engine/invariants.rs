//! The safety invariants of shared/DESIGN.md, checked on every plan of 10,000 generated
//! clusters: whatever the cluster looks like, the engine never proposes an unsafe action.

use std::collections::HashMap;

use jiff::SignedDuration;
use proptest::prelude::*;

use super::drain::{PodDrain, classify};
use super::maintenance::scale_in_budget;
use super::tests::{Cluster, now};
use super::{Config, maintenance::MaintenanceConfig};
use crate::model::PodDisruptionBudget;
use crate::model::scheduling::LabelSelector;
use crate::plan::{NodeActionKind, NodeState};

#[derive(Debug, Clone)]
struct GenGroup {
    min: u32,
    extra_desired: u32,
    headroom: u32,
}

#[derive(Debug, Clone)]
struct GenNode {
    group: usize,
    managed: bool,
    ready: bool,
    down_mins: i64,
    unschedulable: bool,
    ours: bool,
    idle_mins: Option<i64>,
    draining: bool,
    age_mins: i64,
    protected: bool,
}

#[derive(Debug, Clone)]
struct GenPod {
    node: Option<usize>,
    cpu: i64,
    /// 0 Job, 1 none, 2 DaemonSet, 3 do-not-evict, 4 emptyDir, 5 young
    kind: u8,
    finished: bool,
}

fn group() -> impl Strategy<Value = GenGroup> {
    (0u32..3, 0u32..4, 0u32..5).prop_map(|(min, extra_desired, headroom)| GenGroup {
        min,
        extra_desired,
        headroom,
    })
}

fn node() -> impl Strategy<Value = GenNode> {
    (
        (
            0usize..3,
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.8),
        ),
        (0i64..120, any::<bool>(), any::<bool>()),
        (prop::option::of(0i64..600), prop::bool::weighted(0.2)),
        (0i64..600, prop::bool::weighted(0.1)),
    )
        .prop_map(
            |(
                (group, managed, ready),
                (down_mins, unschedulable, ours),
                (idle_mins, draining),
                (age_mins, protected),
            )| GenNode {
                group,
                managed,
                ready,
                down_mins,
                unschedulable,
                ours,
                idle_mins,
                draining,
                age_mins,
                protected,
            },
        )
}

fn pod() -> impl Strategy<Value = GenPod> {
    (
        prop::option::of(0usize..16),
        100i64..3000,
        0u8..6,
        prop::bool::weighted(0.2),
    )
        .prop_map(|(node, cpu, kind, finished)| GenPod {
            node,
            cpu,
            kind,
            finished,
        })
}

fn config() -> impl Strategy<Value = Config> {
    (0.0f64..=1.0, 0.0f64..=1.0, 0usize..3, 0usize..4).prop_map(
        |(fraction, drain_below, spares, drains)| Config {
            maintenance: MaintenanceConfig {
                max_scale_in_fraction: fraction,
                drain_utilization_below: drain_below,
                type_idle_count: spares,
                max_concurrent_drains: drains,
                ..MaintenanceConfig::default()
            },
            ..Config::default()
        },
    )
}

fn build(groups: &[GenGroup], nodes: &[GenNode], pods: &[GenPod], pdb: Option<i32>) -> Cluster {
    let mut c = Cluster::new(&["us-west-2"]);
    for i in 0..groups.len() {
        let name = format!("g{i}");
        c.group(&name, "us-west-2", 0, 0, 4000, 16);
    }
    let ago = |m: i64| Some(now() - SignedDuration::from_mins(m));
    for (i, n) in nodes.iter().enumerate() {
        let g = n.group % groups.len();
        let group = format!("g{g}");
        let node = c.node(
            &format!("n{i:02}"),
            n.managed.then_some(group.as_str()),
            4000,
            16,
        );
        node.ready = n.ready;
        node.ready_changed = ago(n.down_mins);
        node.unschedulable = n.unschedulable || n.draining;
        node.marks.cordoned_by_ekas = n.ours || n.draining;
        node.marks.idle_since = n.idle_mins.and_then(ago);
        node.marks.drain_started = if n.draining { ago(5) } else { None };
        node.created = ago(n.age_mins);
        if n.managed {
            let members = &mut c.0.groups[g].members;
            members.last_mut().unwrap().protected_from_scale_in = n.protected;
        }
    }
    for (i, g) in groups.iter().enumerate() {
        let group = &mut c.0.groups[i];
        let members = group.members.len() as u32;
        group.min_size = g.min.min(members);
        group.desired = members + g.extra_desired;
        group.max_size = group.desired + g.headroom;
    }
    let node_count = nodes.len();
    for (i, p) in pods.iter().enumerate() {
        let name = format!("p{i:03}");
        let on = p.node.filter(|_| node_count > 0).map(|n| n % node_count);
        match on {
            Some(n) => c.running(&name, &format!("n{n:02}"), p.cpu, 1),
            None => {
                c.pod(&name, p.cpu, 1);
            }
        }
        let pod = c.0.pods.last_mut().unwrap();
        pod.created = Some(now() - SignedDuration::from_hours(1));
        match p.kind {
            1 => pod.controller = None,
            2 => pod.controller.as_mut().unwrap().kind = "DaemonSet".into(),
            3 => pod.do_not_evict = true,
            4 => pod.local_storage = true,
            5 => pod.created = Some(now() - SignedDuration::from_secs(30)),
            _ => {}
        }
        if p.finished && on.is_some() {
            pod.phase = crate::model::PodPhase::Succeeded;
        }
    }
    if let Some(allowed) = pdb {
        c.0.pdbs.push(PodDisruptionBudget {
            namespace: "batch".into(),
            name: "all".into(),
            selector: LabelSelector::default(),
            disruptions_allowed: allowed,
        });
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_safety_invariants(
        groups in prop::collection::vec(group(), 1..4),
        nodes in prop::collection::vec(node(), 0..16),
        pods in prop::collection::vec(pod(), 0..40),
        pdb in prop::option::of(0i32..3),
        config in config(),
    ) {
        let c = build(&groups, &nodes, &pods, pdb);
        let snapshot = &c.0;
        let plan = super::plan(snapshot, &config);
        let m = &config.maintenance;

        // 1. No drain or termination of a node running a pod that must not be evicted.
        for action in &plan.nodes {
            if !action.action.removes_capacity() {
                continue;
            }
            for pod in snapshot.pods.iter().filter(|p| p.node_name.as_deref() == Some(action.name.as_str())) {
                let verdict = classify(pod, &m.drain, now());
                prop_assert!(
                    !matches!(verdict, PodDrain::Block(_)),
                    "{} {:?} on {} with {}: {:?}", action.action.as_str(), action.state, action.name, pod.key(), verdict
                );
            }
        }

        // 1. …nor one whose evictions a PodDisruptionBudget would refuse.
        for pdb in &snapshot.pdbs {
            let evictions = plan
                .nodes
                .iter()
                .filter(|a| a.action == NodeActionKind::Drain)
                .flat_map(|a| snapshot.pods.iter().filter(move |p| p.node_name.as_deref() == Some(a.name.as_str())))
                .filter(|p| classify(p, &m.drain, now()) == PodDrain::Evict)
                .filter(|p| p.namespace == pdb.namespace && pdb.selector.matches(&p.labels))
                .count() as i32;
            prop_assert!(evictions <= pdb.disruptions_allowed.max(0), "{evictions} evictions against {}", pdb.name);
        }

        // 3. Within MinSize and MaxSize.
        let mut decrements: HashMap<&str, u32> = HashMap::new();
        for action in plan.nodes.iter().filter(|a| a.decrement) {
            prop_assert_eq!(action.action, NodeActionKind::Terminate);
            *decrements.entry(action.group.as_deref().unwrap()).or_default() += 1;
        }
        for group in &snapshot.groups {
            let down = decrements.get(group.name.as_str()).copied().unwrap_or(0);
            prop_assert!(group.desired - down >= group.min_size.min(group.desired), "{} below MinSize", group.name);
        }
        for up in &plan.scale_ups {
            let group = snapshot.groups.iter().find(|g| g.name == up.group).unwrap();
            prop_assert!(up.new_desired <= group.max_size);
        }

        // 3. The scale-in fraction: new removals within the pass's budget.
        let managed = snapshot.groups.iter().flat_map(|g| &g.members).filter(|m| m.is_live()).count();
        let removals = plan
            .nodes
            .iter()
            .filter(|a| a.action.removes_capacity() && a.state != NodeState::Draining)
            .count();
        prop_assert!(removals <= scale_in_budget(managed, m.max_scale_in_fraction));

        // 4. Uncordon only what ekas cordoned; protected and detached nodes are never removed.
        for action in &plan.nodes {
            let node = snapshot.nodes.iter().find(|n| n.name == action.name).unwrap();
            if action.action == NodeActionKind::Uncordon {
                prop_assert!(node.marks.cordoned_by_ekas, "uncordoned {}", node.name);
            }
            if action.action.removes_capacity() {
                prop_assert!(action.group.is_some(), "removing unmanaged {}", node.name);
                prop_assert!(!node.marks.detached);
                let member = snapshot.groups.iter().flat_map(|g| &g.members)
                    .find(|mem| Some(mem.instance_id.as_str()) == node.instance_id.as_deref()).unwrap();
                prop_assert!(!member.protected_from_scale_in, "removing protected {}", node.name);
            }
        }
    }
}

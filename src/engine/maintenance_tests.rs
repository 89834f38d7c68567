//! The node state machine, one row per state and transition, and its brakes.

use jiff::SignedDuration;

use super::tests::{Cluster, now};
use super::{Config, maintenance::MaintenanceConfig};
use crate::model::scheduling::LabelSelector;
use crate::model::{Instance, PodDisruptionBudget};
use crate::plan::{InstanceActionKind, NodeActionKind as A, NodeState as S, Plan};

fn ago(mins: i64) -> Option<jiff::Timestamp> {
    Some(now() - SignedDuration::from_mins(mins))
}

/// A cluster with group `g` (desired = nodes added, min 0, max 100) in one region.
fn cluster() -> Cluster {
    let mut c = Cluster::new(&["us-west-2"]);
    c.group("g", "us-west-2", 0, 100, 4000, 16);
    c
}

/// Adds a node of group `g`, raising the group's desired capacity with it.
fn node<'a>(c: &'a mut Cluster, name: &str) -> &'a mut crate::model::Node {
    c.0.groups[0].desired += 1;
    c.node(name, Some("g"), 4000, 16)
}

fn state(plan: &Plan, node: &str) -> (S, A, bool) {
    let n = plan
        .nodes
        .iter()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no decision for {node}"));
    (n.state, n.action, n.decrement)
}

fn config(f: impl FnOnce(&mut MaintenanceConfig)) -> Config {
    let mut config = Config::default();
    f(&mut config.maintenance);
    config
}

#[test]
fn every_state_of_a_single_node() {
    type Setup = fn(&mut Cluster);
    let cases: Vec<(&str, Setup, (S, A, bool))> = vec![
        (
            "busy",
            |c| c.running("job", "n", 2000, 4),
            (S::Busy, A::None, false),
        ),
        (
            "busy again clears the idle mark",
            |c| {
                c.0.nodes[0].marks.idle_since = ago(5);
                c.running("job", "n", 2000, 4);
            },
            (S::Busy, A::ClearIdle, false),
        ),
        (
            "idle for the first time is marked",
            |_| {},
            (S::GracePeriod, A::MarkIdle, false),
        ),
        (
            "idle less than the threshold waits",
            |c| c.0.nodes[0].marks.idle_since = ago(10),
            (S::GracePeriod, A::None, false),
        ),
        (
            "young node",
            |c| c.0.nodes[0].created = ago(2),
            (S::LaunchGrace, A::None, false),
        ),
        (
            "busy and cordoned by ekas is uncordoned",
            |c| {
                let n = &mut c.0.nodes[0];
                n.unschedulable = true;
                n.marks.cordoned_by_ekas = true;
                c.running("job", "n", 2000, 4);
            },
            (S::BusyUnschedulable, A::Uncordon, false),
        ),
        (
            "busy and cordoned by a person is left cordoned",
            |c| {
                c.0.nodes[0].unschedulable = true;
                c.running("job", "n", 2000, 4);
            },
            (S::CordonedByOthers, A::None, false),
        ),
        (
            "dead",
            |c| {
                let n = &mut c.0.nodes[0];
                n.ready = false;
                n.ready_changed = ago(45);
            },
            (S::Dead, A::Terminate, true),
        ),
        (
            "briefly NotReady is not dead",
            |c| {
                let n = &mut c.0.nodes[0];
                n.ready = false;
                n.ready_changed = ago(5);
                n.marks.idle_since = ago(1);
            },
            (S::GracePeriod, A::None, false),
        ),
        (
            "dead, but running a pod that must not be evicted",
            |c| {
                let n = &mut c.0.nodes[0];
                n.ready = false;
                n.ready_changed = ago(45);
                c.running("bare", "n", 100, 1);
                c.0.pods.last_mut().unwrap().controller = None;
            },
            (S::Dead, A::None, false),
        ),
        (
            "detached",
            |c| c.0.nodes[0].marks.detached = true,
            (S::Detached, A::None, false),
        ),
        (
            "instance terminated",
            |c| {
                c.0.instances.push(Instance {
                    id: "i-n".into(),
                    region: "us-west-2".into(),
                    group: Some("g".into()),
                    instance_type: "m5.test".into(),
                    zone: None,
                    state: "terminated".into(),
                    launch_time: ago(600),
                    private_dns: None,
                });
            },
            (S::InstanceTerminated, A::DeleteNode, false),
        ),
        (
            "protected from scale-in",
            |c| {
                c.0.groups[0].members[0].protected_from_scale_in = true;
                c.0.nodes[0].marks.idle_since = ago(600);
            },
            (S::ScaleInProtected, A::None, false),
        ),
        (
            "group at MinSize",
            |c| {
                c.0.groups[0].min_size = 2;
                c.0.nodes[0].marks.idle_since = ago(600);
            },
            (S::AsgMinSize, A::None, false),
        ),
        (
            "drained by ekas is terminated",
            |c| {
                let n = &mut c.0.nodes[0];
                n.unschedulable = true;
                n.marks.cordoned_by_ekas = true;
                n.marks.drain_started = ago(3);
            },
            (S::IdleUnschedulable, A::Terminate, true),
        ),
        (
            "a drain under way continues",
            |c| {
                let n = &mut c.0.nodes[0];
                n.unschedulable = true;
                n.marks.cordoned_by_ekas = true;
                n.marks.drain_started = ago(3);
                c.running("job", "n", 100, 1);
            },
            (S::Draining, A::Drain, false),
        ),
    ];
    for (name, setup, expected) in cases {
        let mut c = cluster();
        // A second, busy node keeps the scale-in budget at one.
        node(&mut c, "n");
        node(&mut c, "other");
        c.running("other-job", "other", 3000, 8);
        setup(&mut c);
        let plan = c.plan_with(config(|m| m.type_idle_count = 0));
        assert_eq!(state(&plan, "n"), expected, "{name}");
    }
}

#[test]
fn idle_past_the_threshold_is_cordoned_then_terminated() {
    let mut c = cluster();
    node(&mut c, "n").marks.idle_since = ago(120);
    node(&mut c, "busy");
    c.running("job", "busy", 1000, 1);
    let no_spares = config(|m| m.type_idle_count = 0);
    assert_eq!(
        state(&c.plan_with(no_spares.clone()), "n"),
        (S::IdleSchedulable, A::Cordon, false)
    );
    let n = &mut c.0.nodes[0];
    n.unschedulable = true;
    n.marks.cordoned_by_ekas = true;
    assert_eq!(
        state(&c.plan_with(no_spares), "n"),
        (S::IdleUnschedulable, A::Terminate, true)
    );
}

#[test]
fn under_utilized_nodes_are_drained_only_when_every_pod_may_go() {
    let drain_below_half = config(|m| m.drain_utilization_below = 0.5);
    let mut c = cluster();
    node(&mut c, "n");
    node(&mut c, "full");
    c.running("job", "n", 500, 1);
    c.running("big", "full", 3500, 12);
    assert_eq!(
        state(&c.plan_with(drain_below_half.clone()), "n"),
        (S::UnderUtilizedDrainable, A::Drain, false)
    );
    assert_eq!(
        state(&c.plan_with(drain_below_half.clone()), "full").0,
        S::Busy
    );
    assert_eq!(
        state(&c.plan(), "n").0,
        S::Busy,
        "draining is off by default"
    );

    // A pod without a controller keeps the node.
    c.0.pods[0].controller = None;
    assert_eq!(
        state(&c.plan_with(drain_below_half.clone()), "n"),
        (S::UnderUtilizedUndrainable, A::None, false)
    );

    // So does a PodDisruptionBudget that allows no disruption now.
    c.0.pods[0].controller = c.0.pods[1].controller.clone();
    c.0.pdbs.push(PodDisruptionBudget {
        namespace: "batch".into(),
        name: "jobs".into(),
        selector: LabelSelector::default(),
        disruptions_allowed: 0,
    });
    let plan = c.plan_with(drain_below_half);
    assert_eq!(state(&plan, "n").0, S::UnderUtilizedUndrainable);
    let why = &plan.nodes.iter().find(|n| n.name == "n").unwrap().reason;
    assert!(why.contains("PodDisruptionBudget batch/jobs"), "{why}");
}

#[test]
fn max_scale_in_fraction_stops_a_mass_termination() {
    let mut c = cluster();
    for i in 0..30 {
        let n = node(&mut c, &format!("n{i:02}"));
        n.unschedulable = true;
        n.marks.cordoned_by_ekas = true;
        n.marks.idle_since = ago(600);
    }
    let plan = c.plan_with(config(|m| m.type_idle_count = 0));
    let terminated: Vec<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.action == A::Terminate)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(terminated, ["n00", "n01", "n02"], "10% of 30");
    let held = plan.nodes.iter().find(|n| n.name == "n03").unwrap();
    assert!(
        held.reason.contains("--max-scale-in-fraction"),
        "{}",
        held.reason
    );

    let plan = c.plan_with(config(|m| {
        m.type_idle_count = 0;
        m.max_scale_in_fraction = 0.0;
    }));
    assert!(plan.nodes.iter().all(|n| n.action == A::None));
}

#[test]
fn never_below_min_size() {
    let mut c = cluster();
    for i in 0..4 {
        let n = node(&mut c, &format!("n{i}"));
        n.unschedulable = true;
        n.marks.cordoned_by_ekas = true;
        n.marks.idle_since = ago(600);
    }
    c.0.groups[0].min_size = 3;
    let plan = c.plan_with(config(|m| {
        m.type_idle_count = 0;
        m.max_scale_in_fraction = 1.0;
    }));
    let states: Vec<(S, A)> = plan.nodes.iter().map(|n| (n.state, n.action)).collect();
    assert_eq!(
        states,
        [
            (S::IdleUnschedulable, A::Terminate),
            (S::AsgMinSize, A::None),
            (S::AsgMinSize, A::None),
            (S::AsgMinSize, A::None),
        ]
    );
}

#[test]
fn a_few_idle_spares_are_kept_per_group() {
    let mut c = cluster();
    node(&mut c, "old").marks.idle_since = ago(300);
    node(&mut c, "recent").marks.idle_since = ago(100);
    node(&mut c, "busy");
    c.running("job", "busy", 1000, 1);
    let plan = c.plan_with(config(|m| m.max_scale_in_fraction = 1.0));
    assert_eq!(state(&plan, "recent").0, S::TypeGracePeriod);
    assert_eq!(state(&plan, "old"), (S::IdleSchedulable, A::Cordon, false));
    // Past --type-idle-threshold, spares go too.
    let plan = c.plan_with(config(|m| {
        m.max_scale_in_fraction = 1.0;
        m.type_idle_threshold = SignedDuration::from_mins(90);
    }));
    assert_eq!(state(&plan, "recent").1, A::Cordon);
}

#[test]
fn a_pending_pod_reclaims_a_node_ekas_cordoned_instead_of_a_new_one() {
    let mut c = cluster();
    let n = node(&mut c, "n");
    n.unschedulable = true;
    n.marks.cordoned_by_ekas = true;
    n.marks.idle_since = ago(600);
    c.pod("waiting", 1000, 2);
    let plan = c.plan();
    assert_eq!(state(&plan, "n"), (S::PodPending, A::Uncordon, false));
    assert!(plan.scale_ups.is_empty());

    // A person's cordon is never lifted: the pod gets a new node instead.
    c.0.nodes[0].marks.cordoned_by_ekas = false;
    let plan = c.plan();
    assert_eq!(state(&plan, "n").1, A::None);
    assert_eq!(plan.scale_ups.len(), 1);
}

#[test]
fn instances_that_never_joined_are_replaced() {
    let mut c = cluster();
    for (id, mins, protected) in [
        ("i-old", 60, false),
        ("i-new", 5, false),
        ("i-kept", 60, true),
    ] {
        c.0.groups[0].desired += 1;
        c.0.groups[0]
            .members
            .push(crate::model::group::GroupMember {
                instance_id: id.into(),
                lifecycle_state: "InService".into(),
                protected_from_scale_in: protected,
            });
        c.0.instances.push(Instance {
            id: id.into(),
            region: "us-west-2".into(),
            group: Some("g".into()),
            instance_type: "m5.test".into(),
            zone: None,
            state: "running".into(),
            launch_time: ago(mins),
            private_dns: None,
        });
    }
    let plan = c.plan();
    let actions: Vec<(&str, InstanceActionKind)> = plan
        .instances
        .iter()
        .map(|i| (i.instance_id.as_str(), i.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("i-kept", InstanceActionKind::None),
            ("i-new", InstanceActionKind::Wait),
            ("i-old", InstanceActionKind::Replace),
        ]
    );
}

#[test]
fn nodes_outside_managed_groups_are_left_alone() {
    let mut c = cluster();
    c.node("control", None, 4000, 16).marks.idle_since = ago(6000);
    assert_eq!(state(&c.plan(), "control"), (S::Unmanaged, A::None, false));
}

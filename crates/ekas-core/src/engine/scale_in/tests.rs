//! The node state machine, one row per state and transition, and its brakes.

use jiff::SignedDuration;

use crate::engine::scale_in::idle_threshold::IdleThreshold;
use crate::engine::tests::{Cluster, labels, now};
use crate::engine::{Config, scale_in::MaintenanceConfig};
use crate::model::group::GroupMember;
use crate::model::scheduling::LabelSelector;
use crate::model::scheduling::{HOSTNAME_LABEL, Placement, Taint, TaintEffect};
use crate::model::{Instance, Pod, PodDisruptionBudget, PodPhase};
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

/// Adds a member of group `g` with no Node, launched `mins` ago, raising desired with it.
fn member<'a>(c: &'a mut Cluster, id: &str, mins: i64) -> &'a mut GroupMember {
    let n = c.0.instances.len();
    c.0.instances.push(Instance {
        id: id.into(),
        region: "us-west-2".into(),
        group: Some("g".into()),
        instance_type: "m5.test".into(),
        zone: None,
        state: "running".into(),
        launch_time: ago(mins),
        private_dns: Some(format!("ip-10-0-0-{n}.us-west-2.compute.internal")),
        private_ip: Some(format!("10.0.0.{n}")),
    });
    let g = &mut c.0.groups[0];
    g.desired += 1;
    g.members.push(GroupMember {
        instance_id: id.into(),
        lifecycle_state: "InService".into(),
        protected_from_scale_in: false,
    });
    g.members.last_mut().unwrap()
}

fn state(plan: &Plan, node: &str) -> (S, A, bool) {
    let n = plan
        .nodes
        .iter()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no decision for {node}"));
    (n.state, n.action, n.decrement)
}

/// The state machine under fixed settings, so each case's times read plainly: a 55-minute
/// idle threshold, one spare per group, ten minutes of launch grace and of removal window, no
/// consolidation (its own tests are in consolidation_tests).
fn config(f: impl FnOnce(&mut MaintenanceConfig)) -> Config {
    let mut config = Config::default();
    let m = &mut config.maintenance;
    m.idle_threshold = IdleThreshold::Fixed(SignedDuration::from_mins(55));
    m.type_idle_count = 1;
    m.launch_grace = SignedDuration::from_mins(10);
    m.scale_in_window = SignedDuration::from_mins(10);
    m.consolidation.enabled = false;
    f(m);
    config
}

/// The plan under [`config`]'s settings.
fn plan_of(c: &Cluster) -> Plan {
    c.plan_with(config(|_| {}))
}

type Setup = fn(&mut Cluster);

/// Every state of a single node: node `n`, changed by `setup`, with a second, busy node
/// that keeps the scale-in budget at one → (state, action, group decremented).
fn decides_for_a_single_node((setup, expected): (Setup, (S, A, bool))) {
    let mut c = cluster();
    node(&mut c, "n");
    node(&mut c, "other");
    c.running("other-job", "other", 3000, 8);
    setup(&mut c);
    let plan = c.plan_with(config(|m| m.type_idle_count = 0));
    let reason = &plan.nodes.iter().find(|n| n.name == "n").unwrap().reason;
    assert_eq!(state(&plan, "n"), expected, "{reason}");
}

cases! { decides_for_a_single_node;
    busy_is_left_alone: (|c| c.running("job", "n", 2000, 4), (S::Busy, A::None, false)),
    busy_again_clears_the_idle_mark: (
        |c| {
            c.0.nodes[0].marks.idle_since = ago(5);
            c.running("job", "n", 2000, 4);
        },
        (S::Busy, A::ClearIdle, false),
    ),
    idle_for_the_first_time_is_marked: (|_| {}, (S::GracePeriod, A::MarkIdle, false)),
    idle_less_than_the_threshold_waits: (
        |c| c.0.nodes[0].marks.idle_since = ago(10),
        (S::GracePeriod, A::None, false),
    ),
    a_young_node_is_in_launch_grace: (
        |c| c.0.nodes[0].created = ago(2),
        (S::LaunchGrace, A::None, false),
    ),
    busy_and_cordoned_by_ekas_is_uncordoned: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            c.running("job", "n", 2000, 4);
        },
        (S::BusyUnschedulable, A::Uncordon, false),
    ),
    busy_and_cordoned_by_a_person_is_left_cordoned: (
        |c| {
            c.0.nodes[0].unschedulable = true;
            c.running("job", "n", 2000, 4);
        },
        (S::CordonedByOthers, A::None, false),
    ),
    dead_is_terminated: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.ready = false;
            n.ready_changed = ago(45);
        },
        (S::Dead, A::Terminate, true),
    ),
    // Briefly NotReady is not dead.
    briefly_not_ready_is_not_dead: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.ready = false;
            n.ready_changed = ago(5);
            n.marks.idle_since = ago(1);
        },
        (S::GracePeriod, A::None, false),
    ),
    // Dead, but running a pod that must not be evicted.
    dead_but_running_a_pod_that_must_not_be_evicted_is_kept: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.ready = false;
            n.ready_changed = ago(45);
            c.running("bare", "n", 100, 1);
            c.0.pods.last_mut().unwrap().controller = None;
        },
        (S::Dead, A::None, false),
    ),
    detached_is_left_alone: (|c| c.0.nodes[0].marks.detached = true, (S::Detached, A::None, false)),
    // Instance terminated, and the Node NotReady.
    instance_terminated_and_the_node_not_ready_is_deleted: (
        |c| {
            c.0.nodes[0].ready = false;
            c.0.nodes[0].ready_changed = ago(2);
            c.0.instances.push(Instance {
                id: "i-n".into(),
                region: "us-west-2".into(),
                group: Some("g".into()),
                instance_type: "m5.test".into(),
                zone: None,
                state: "terminated".into(),
                launch_time: ago(600),
                private_dns: None,
                private_ip: None,
            });
        },
        (S::InstanceTerminated, A::DeleteNode, false),
    ),
    // Protected from scale-in: removed all the same, as the original tool did.
    protected_from_scale_in_is_removed_all_the_same: (
        |c| {
            c.0.groups[0].members[0].protected_from_scale_in = true;
            c.0.nodes[0].marks.idle_since = ago(600);
        },
        (S::IdleSchedulable, A::Cordon, false),
    ),
    // Annotated scale-down-disabled.
    annotated_scale_down_disabled_is_kept: (
        |c| {
            c.0.nodes[0].marks.scale_down_disabled = true;
            c.0.nodes[0].marks.idle_since = ago(600);
        },
        (S::ScaleDownDisabled, A::None, false),
    ),
    // NotReady since registering 5 minutes ago: starting.
    not_ready_since_registering_5_minutes_ago_is_starting: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.created = ago(5);
            n.ready = false;
            n.ready_changed = ago(5);
        },
        (S::Starting, A::None, false),
    ),
    // Dead, running a Job's pod: its job cannot finish there.
    dead_running_a_jobs_pod_is_terminated: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.ready = false;
            n.ready_changed = ago(45);
            c.running("job", "n", 100, 1);
            c.0.pods.last_mut().unwrap().runs_to_completion = true;
        },
        (S::Dead, A::Terminate, true),
    ),
    // Dead, running a Job's pod that just started: the grace period still holds.
    dead_running_a_jobs_pod_that_just_started_is_kept: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.ready = false;
            n.ready_changed = ago(45);
            c.running("job", "n", 100, 1);
            let pod = c.0.pods.last_mut().unwrap();
            pod.runs_to_completion = true;
            pod.created = Some(now());
        },
        (S::Dead, A::None, false),
    ),
    // Drained by ekas on a pass before (ekas/drained-at) is terminated.
    drained_by_ekas_on_a_pass_before_is_terminated: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.drained_at = ago(1);
        },
        (S::IdleUnschedulable, A::Terminate, true),
    ),
    a_drain_that_meets_a_pod_it_may_never_evict_is_given_up: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.drain_started = ago(3);
            c.running("bare", "n", 100, 1);
            c.0.pods.last_mut().unwrap().controller = None;
        },
        (S::Draining, A::Uncordon, false),
    ),
    a_drain_waits_for_a_pod_that_just_started: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.drain_started = ago(3);
            c.running("young", "n", 100, 1);
            c.0.pods.last_mut().unwrap().created = Some(now());
        },
        (S::Draining, A::None, false),
    ),
    // Group at MinSize.
    at_the_groups_min_size_is_kept: (
        |c| {
            c.0.groups[0].min_size = 2;
            c.0.nodes[0].marks.idle_since = ago(600);
        },
        (S::AsgMinSize, A::None, false),
    ),
    drained_by_ekas_is_terminated: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.drain_started = ago(3);
        },
        (S::IdleUnschedulable, A::Terminate, true),
    ),
    a_drain_under_way_continues: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.drain_started = ago(3);
            c.running("job", "n", 100, 1);
        },
        (S::Draining, A::Drain, false),
    ),
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
fn requests_that_add_past_the_largest_quantity_leave_a_node_busy_not_a_panic() {
    // Two pods whose quantities parse, each near i64::MAX millicores, on one node (found by
    // tests/it/fuzz.rs): their sum must saturate.
    let mut c = cluster();
    node(&mut c, "n");
    c.running("a", "n", i64::MAX - 1, 1);
    c.running("b", "n", i64::MAX - 1, 1);
    let plan = c.plan();
    assert_eq!(state(&plan, "n").1, A::None, "{:?}", plan.nodes);
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
        state(&plan_of(&c), "n").0,
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
    let plan = plan_of(&c);
    assert_eq!(state(&plan, "n"), (S::PodPending, A::Uncordon, false));
    assert!(plan.scale_ups.is_empty());

    // A person's cordon is never lifted: the pod gets a new node instead.
    c.0.nodes[0].marks.cordoned_by_ekas = false;
    let plan = plan_of(&c);
    assert_eq!(state(&plan, "n").1, A::None);
    assert_eq!(plan.scale_ups.len(), 1);
}

/// Adds a pod of Job `job` (namespace `batch`), unbound and pending; the caller finishes it on
/// a node or gates it.
fn job_pod<'a>(c: &'a mut Cluster, job: &str, name: &str, cpu: i64, mem: i64) -> &'a mut Pod {
    let pod = c.pod(name, cpu, mem);
    pod.controller.as_mut().unwrap().name = job.into();
    pod
}

/// A pod of Job `job` that finished on `node`.
fn finished(c: &mut Cluster, job: &str, name: &str, node: &str) {
    let pod = job_pod(c, job, name, 2000, 4);
    pod.node_name = Some(node.into());
    pod.phase = PodPhase::Succeeded;
}

/// A pod of Job `job` held back by a scheduling gate (a queue has not admitted it).
fn gated<'a>(c: &'a mut Cluster, job: &str, name: &str, cpu: i64, mem: i64) -> &'a mut Pod {
    let pod = job_pod(c, job, name, cpu, mem);
    pod.gated = true;
    pod
}

/// A node between the pods of a Job is kept while the Job waits. Node "n" (4 cpu, 16 GiB),
/// changed by `setup`, has been idle 90 minutes: past --idle-threshold (55m), within twice it
/// (110m). A pod of Job train-7 finished on it. "other" is busy with 1 cpu free.
fn decides_between_the_pods_of_a_job((setup, expected): (Setup, (S, A))) {
    let mut c = cluster();
    node(&mut c, "n").marks.idle_since = ago(90);
    node(&mut c, "other");
    c.running("other-job", "other", 3000, 8);
    finished(&mut c, "train-7", "train-7-0", "n");
    setup(&mut c);
    let plan = c.plan_with(config(|m| {
        m.type_idle_count = 0;
        m.max_scale_in_fraction = 1.0;
    }));
    let n = plan.nodes.iter().find(|n| n.name == "n").unwrap();
    assert_eq!((n.state, n.action), expected, "{}", n.reason);
}

cases! { decides_between_the_pods_of_a_job;
    a_gated_pod_of_the_job_fits_is_kept: (
        |c| {
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::JobPending, A::None),
    ),
    // The pod that finished there failed: the Job still ran there.
    the_jobs_pod_that_ran_there_failed: (
        |c| {
            c.0.pods[1].phase = PodPhase::Failed;
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::JobPending, A::None),
    ),
    // First seen idle: kept, and the idle clock starts.
    first_seen_idle_is_kept_and_marked_idle: (
        |c| {
            c.0.nodes[0].marks.idle_since = None;
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::JobPending, A::MarkIdle),
    ),
    // No waiting pod: as before.
    no_waiting_pod_is_cordoned_as_before: (|_| {}, (S::IdleSchedulable, A::Cordon)),
    the_waiting_pod_is_bigger_than_the_node: (
        |c| {
            gated(c, "train-7", "train-7-1", 6000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    the_waiting_pod_selects_a_label_the_node_lacks: (
        |c| {
            let pod = gated(c, "train-7", "train-7-1", 2000, 4);
            pod.placement = std::sync::Arc::new(Placement {
                node_selector: labels(&[("pool", "gpu")]),
                ..Placement::default()
            });
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    // The waiting pod does not tolerate the node's taint.
    the_waiting_pod_does_not_tolerate_the_nodes_taint: (
        |c| {
            c.0.nodes[0].taints.push(Taint {
                key: "dedicated".into(),
                value: "web".into(),
                effect: TaintEffect::NoSchedule,
            });
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    the_waiting_pods_belong_to_another_job: (
        |c| {
            gated(c, "train-8", "train-8-0", 2000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    // The Job's pod finished on another node.
    the_jobs_pod_finished_on_another_node: (
        |c| {
            c.0.pods[1].node_name = Some("other".into());
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    the_waiting_pod_is_being_deleted: (
        |c| {
            gated(c, "train-7", "train-7-1", 2000, 4).deleting = true;
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    // Idle twice the threshold: the Job has held it long enough.
    idle_twice_the_threshold_is_cordoned: (
        |c| {
            c.0.nodes[0].marks.idle_since = ago(110);
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    // Ekas cordoned it: uncordoned.
    cordoned_by_ekas_is_uncordoned_for_the_job: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::JobPending, A::Uncordon),
    ),
    // Ekas cordoned it and the bound expired: terminated as before.
    cordoned_by_ekas_past_the_bound_is_terminated: (
        |c| {
            let n = &mut c.0.nodes[0];
            n.unschedulable = true;
            n.marks.cordoned_by_ekas = true;
            n.marks.idle_since = ago(120);
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::IdleUnschedulable, A::Terminate),
    ),
    // Somebody else cordoned it: left alone as before.
    cordoned_by_somebody_else_is_left_alone: (
        |c| {
            c.0.nodes[0].unschedulable = true;
            gated(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::CordonedByOthers, A::None),
    ),
    // A pending pod of the Job is sent here: pod-pending comes first.
    a_pending_pod_of_the_job_sent_here_comes_first: (
        |c| {
            job_pod(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::PodPending, A::ClearIdle),
    ),
    // The Job's only pending pod is sent to another idle node.
    the_jobs_only_pending_pod_sent_to_another_idle_node: (
        |c| {
            node(c, "a").marks.idle_since = ago(90);
            job_pod(c, "train-7", "train-7-1", 2000, 4);
        },
        (S::IdleSchedulable, A::Cordon),
    ),
    // Busy again: busy.
    busy_again_is_busy: (
        |c| {
            c.running("train-7-1", "n", 2000, 4);
            c.0.pods
                .last_mut()
                .unwrap()
                .controller
                .as_mut()
                .unwrap()
                .name = "train-7".into();
            gated(c, "train-7", "train-7-2", 2000, 4);
        },
        (S::Busy, A::ClearIdle),
    ),
}

#[test]
fn a_job_pending_node_names_the_job_and_its_waiting_pods() {
    let mut c = cluster();
    node(&mut c, "n").marks.idle_since = ago(90);
    finished(&mut c, "train-7", "train-7-0", "n");
    for i in 1..=3 {
        gated(&mut c, "train-7", &format!("train-7-{i}"), 1000, 2);
    }
    // Too big for the node: not counted.
    gated(&mut c, "train-7", "train-7-big", 8000, 2);
    // Another Job that ran here, with fewer pods waiting.
    finished(&mut c, "eval-2", "eval-2-0", "n");
    gated(&mut c, "eval-2", "eval-2-1", 1000, 2);
    let plan = plan_of(&c);
    let n = plan.nodes.iter().find(|n| n.name == "n").unwrap();
    assert_eq!((n.state, n.action), (S::JobPending, A::None));
    assert_eq!(
        n.reason,
        "job batch/train-7 has 3 pod(s) waiting that fit here; idle for 90m, kept up to 110m"
    );
    assert_eq!(S::JobPending.as_str(), "job-pending");
    assert_eq!(
        serde_json::to_value(S::JobPending).unwrap(),
        serde_json::json!("job-pending")
    );
}

#[test]
fn instances_that_never_joined_are_replaced() {
    let mut c = cluster();
    for (id, mins, protected) in [
        ("i-old", 60, false),
        ("i-new", 5, false),
        ("i-kept", 60, true),
    ] {
        member(&mut c, id, mins).protected_from_scale_in = protected;
    }
    let actions = |plan: &Plan| -> Vec<(String, InstanceActionKind)> {
        plan.instances
            .iter()
            .map(|i| (i.instance_id.clone(), i.action))
            .collect()
    };
    let all_at_once = config(|m| m.max_scale_in_fraction = 1.0);
    // Protection keeps the group from picking victims; ekas replaces what it decided to.
    assert_eq!(
        actions(&c.plan_with(all_at_once.clone())),
        [
            ("i-kept".to_string(), InstanceActionKind::Replace),
            ("i-new".to_string(), InstanceActionKind::Wait),
            ("i-old".to_string(), InstanceActionKind::Replace),
        ]
    );
    let respecting = config(|m| {
        m.max_scale_in_fraction = 1.0;
        m.respect_scale_in_protection = true;
    });
    assert_eq!(
        actions(&c.plan_with(respecting)),
        [
            ("i-kept".to_string(), InstanceActionKind::None),
            ("i-new".to_string(), InstanceActionKind::Wait),
            ("i-old".to_string(), InstanceActionKind::Replace),
        ]
    );
}

#[test]
fn nodes_outside_managed_groups_are_left_alone() {
    let mut c = cluster();
    c.node("control", None, 4000, 16).marks.idle_since = ago(6000);
    assert_eq!(
        state(&plan_of(&c), "control"),
        (S::Unmanaged, A::None, false)
    );
}

#[test]
fn protected_instances_are_left_alone_only_when_asked() {
    let mut c = cluster();
    let n = node(&mut c, "n");
    n.marks.idle_since = ago(600);
    n.unschedulable = true;
    n.marks.cordoned_by_ekas = true;
    node(&mut c, "busy");
    c.running("job", "busy", 1000, 1);
    c.0.groups[0].members[0].protected_from_scale_in = true;
    let default = config(|m| m.type_idle_count = 0);
    assert_eq!(state(&c.plan_with(default), "n").1, A::Terminate);
    let respecting = config(|m| {
        m.type_idle_count = 0;
        m.respect_scale_in_protection = true;
    });
    assert_eq!(
        state(&c.plan_with(respecting), "n"),
        (S::ScaleInProtected, A::None, false)
    );
}

#[test]
fn a_group_that_lets_aws_pick_victims_is_warned_about() {
    use crate::plan::WarningKind;
    let mut c = cluster();
    c.group("protected", "us-west-2", 0, 10, 4000, 16)
        .new_instances_protected = Some(true);
    c.group("unknown", "us-west-2", 0, 10, 4000, 16);
    c.0.groups[0].new_instances_protected = Some(false);
    let warned: Vec<(WarningKind, String)> = c
        .plan()
        .warnings
        .into_iter()
        .map(|w| (w.kind, w.subject))
        .collect();
    assert_eq!(
        warned,
        [(WarningKind::UnprotectedGroup, "g (us-west-2)".to_string())]
    );
}

/// `nodes` Nodes that claim no instance, registered `registered` minutes ago, and `members`
/// members without a Node launched `launched` minutes ago.
fn unmatched(nodes: usize, registered: i64, members: usize, launched: i64) -> Plan {
    let mut c = cluster();
    for i in 0..members {
        member(&mut c, &format!("i-{i}"), launched);
    }
    for i in 0..nodes {
        let n = c.node(&format!("worker-{i}"), None, 4000, 16);
        n.instance_id = None;
        n.provider_id = None;
        n.matched_by = None;
        n.created = ago(registered);
        c.running(&format!("job-{i}"), &format!("worker-{i}"), 1000, 1);
    }
    c.plan_with(config(|m| m.max_scale_in_fraction = 1.0))
}

/// Members that a node without an instance might be are not replaced: (Nodes claiming no
/// instance, registered min ago, members without a Node, launched min ago) → replacements.
fn replaces_members_that_never_joined(
    ((nodes, registered, members, launched), expected): ((usize, i64, usize, i64), usize),
) {
    let plan = unmatched(nodes, registered, members, launched);
    let replaced = plan
        .instances
        .iter()
        .filter(|i| i.action == InstanceActionKind::Replace)
        .count();
    assert_eq!(
        replaced, expected,
        "{nodes} instance-less Nodes registered {registered}m ago, {members} members launched {launched}m ago"
    );
}

cases! { replaces_members_that_never_joined;
    // kubeadm without a cloud provider: every member looks never-joined, every Node looks
    // instance-less — they are each other.
    kubeadm_without_a_cloud_provider_replaces_nothing: ((4, 50, 4, 60), 0),
    // The Nodes registered before the members launched: they cannot be them.
    nodes_registered_before_the_members_launched_are_not_them: ((4, 600, 4, 60), 4),
    // No Node without an instance: the members truly never joined.
    no_node_without_an_instance_replaces_every_member: ((0, 0, 2, 60), 2),
    // Young members are waited for; no doubt arises.
    young_members_are_waited_for: ((4, 1, 2, 5), 0),
}

#[test]
fn a_doubt_whether_members_joined_is_explained_and_warned() {
    use crate::plan::WarningKind;
    let plan = unmatched(4, 50, 3, 60);
    let why = &plan.instances[0].reason;
    assert!(
        why.contains("3 of 3 members match no Node by providerID, private DNS, IP or aws/id label"),
        "{why}"
    );
    assert!(
        why.contains("worker-0, worker-1, worker-2 and 1 more"),
        "{why}"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.kind == WarningKind::MatchingInDoubt && w.subject == "g (us-west-2)")
    );
}

/// Replacements count against the scale-in fraction after dead nodes: (dead nodes, members
/// that never joined, fraction) → (terminated, replaced).
fn terminates_then_replaces_within_the_fraction(
    ((dead, never_joined, fraction), expected): ((usize, usize, f64), (usize, usize)),
) {
    let mut c = cluster();
    for i in 0..dead {
        let n = node(&mut c, &format!("dead-{i}"));
        n.ready = false;
        n.ready_changed = ago(45);
    }
    for i in 0..never_joined {
        member(&mut c, &format!("i-never-{i:02}"), 60);
    }
    let plan = c.plan_with(config(|m| m.max_scale_in_fraction = fraction));
    let terminated = plan
        .nodes
        .iter()
        .filter(|n| n.action == A::Terminate)
        .count();
    let replaced = plan
        .instances
        .iter()
        .filter(|i| i.action == InstanceActionKind::Replace)
        .count();
    assert_eq!(
        (terminated, replaced),
        expected,
        "{dead} dead, {never_joined} never joined, fraction {fraction}"
    );
}

cases! { terminates_then_replaces_within_the_fraction;
    a_tenth_of_thirty_members_replaces_three: ((0, 30, 0.1), (0, 3)),
    two_dead_leave_room_for_one_replacement: ((2, 28, 0.1), (2, 1)),
    three_dead_leave_no_room_for_replacements: ((3, 27, 0.1), (3, 0)),
    a_fraction_of_zero_replaces_nothing: ((0, 5, 0.0), (0, 0)),
    a_fraction_of_one_replaces_every_member: ((0, 5, 1.0), (0, 5)),
}

/// A mass-NotReady cluster removes nothing: (NotReady for 45 minutes, Ready and idle) of 20
/// → (terminated, cordoned, healthy).
fn removes_only_from_a_healthy_cluster(
    ((unready, idle), expected): ((usize, usize), (usize, usize, bool)),
) {
    let mut c = cluster();
    for i in 0..unready {
        let n = node(&mut c, &format!("down-{i:02}"));
        n.ready = false;
        n.ready_changed = ago(45);
    }
    for i in 0..idle {
        node(&mut c, &format!("idle-{i:02}")).marks.idle_since = ago(600);
    }
    let plan = c.plan_with(config(|m| m.type_idle_count = 0));
    let count = |a: A| plan.nodes.iter().filter(|n| n.action == a).count();
    assert_eq!(
        (
            count(A::Terminate),
            count(A::Cordon),
            plan.cluster_health.healthy
        ),
        expected,
        "{unready} NotReady, {idle} idle"
    );
}

cases! { removes_only_from_a_healthy_cluster;
    twelve_of_twenty_not_ready_removes_nothing: ((12, 8), (0, 0, false)),
    half_not_ready_removes_nothing: ((10, 10), (0, 0, false)),
    // 3 is --ok-total-unready-count; 10% of 20 is 2 terminations
    three_not_ready_are_tolerated: ((3, 17), (2, 17, true)),
    one_not_ready_is_terminated: ((1, 19), (1, 19, true)),
}

#[test]
fn a_mass_notready_cluster_says_why_it_removes_nothing() {
    let mut c = cluster();
    for i in 0..12 {
        let n = node(&mut c, &format!("down-{i:02}"));
        n.ready = false;
        n.ready_changed = ago(45);
    }
    for i in 0..8 {
        node(&mut c, &format!("up-{i}"));
    }
    let plan = plan_of(&c);
    let held = plan.nodes.iter().find(|n| n.name == "down-00").unwrap();
    assert_eq!((held.state, held.action), (S::Dead, A::None));
    assert!(
        held.reason
            .contains("held back: the cluster looks unhealthy (12 of 20 nodes NotReady)"),
        "{}",
        held.reason
    );
    assert_eq!(
        (plan.cluster_health.unready, plan.cluster_health.nodes),
        (12, 20)
    );
    assert!(
        plan.cluster_health
            .reason
            .contains("--max-total-unready-percentage 45%")
    );
}

/// A utilisation drain needs room for its pods on the nodes that stay. Nodes of 4 cpu /
/// 16 GiB; "n" runs one 500m pod and is below half used; `setup` changes the cluster →
/// n's action and a part of its reason.
fn drains_for_utilisation((setup, action, why): (Setup, A, &str)) {
    let mut c = cluster();
    node(&mut c, "n");
    node(&mut c, "other");
    c.running("job", "n", 500, 1);
    setup(&mut c);
    let plan = c.plan_with(config(|m| {
        m.drain_utilization_below = 0.5;
        m.type_idle_count = 0;
    }));
    let n = plan.nodes.iter().find(|n| n.name == "n").unwrap();
    assert_eq!(
        (n.state, n.action),
        (S::UnderUtilizedDrainable, action),
        "{}",
        n.reason
    );
    assert!(n.reason.contains(why), "{why:?} not in {}", n.reason);
}

cases! { drains_for_utilisation;
    room_on_another_node_drains: (|c| c.running("big", "other", 3500, 12), A::Drain, ""),
    no_room_anywhere_else_keeps_it: (
        |c| c.running("big", "other", 3600, 12),
        A::None,
        "batch/job would fit on no node that stays",
    ),
    the_room_is_taken_by_a_pending_pod_first: (
        |c| {
            c.running("big", "other", 3000, 12);
            let only_other = Placement {
                node_selector: labels(&[(HOSTNAME_LABEL, "other")]),
                ..Placement::default()
            };
            c.pod_with("waiting", 800, 1, only_other);
        },
        A::None,
        "would fit on no node that stays",
    ),
    the_other_node_repels_the_pod: (
        |c| {
            c.running("big", "other", 1000, 1);
            c.0.nodes[1].taints.push(Taint {
                key: "dedicated".into(),
                value: "gpu".into(),
                effect: TaintEffect::NoSchedule,
            });
        },
        A::None,
        "would fit on no node that stays",
    ),
    // The other node is leaving too (idle past the threshold).
    the_other_node_leaving_too: (
        |c| c.0.nodes[1].marks.idle_since = ago(120),
        A::None,
        "would fit on no node that stays",
    ),
    a_pending_pod_is_planned_onto_it: (
        |c| {
            c.running("big", "other", 3000, 12);
            c.pod("waiting", 2000, 1);
        },
        A::None,
        "pending pods are planned onto it",
    ),
    // The other node is NotReady.
    the_other_node_not_ready: (
        |c| {
            c.running("big", "other", 1000, 1);
            c.0.nodes[1].ready = false;
        },
        A::None,
        "would fit on no node that stays",
    ),
}

#[test]
fn two_under_used_nodes_do_not_drain_into_each_other() {
    let mut c = cluster();
    node(&mut c, "a");
    node(&mut c, "b");
    c.running("job-a", "a", 500, 1);
    c.running("job-b", "b", 500, 1);
    let plan = c.plan_with(config(|m| {
        m.drain_utilization_below = 0.5;
        m.max_scale_in_fraction = 1.0;
    }));
    assert_eq!(state(&plan, "a").1, A::Drain);
    let b = plan.nodes.iter().find(|n| n.name == "b").unwrap();
    assert_eq!(b.action, A::None, "{}", b.reason);
    assert!(
        b.reason
            .contains("takes the pods of a node drained this pass"),
        "{}",
        b.reason
    );
}

#[test]
fn utilisation_drains_never_evict_running_jobs_unless_asked() {
    let mut c = cluster();
    node(&mut c, "n");
    node(&mut c, "full");
    c.running("job", "n", 500, 1);
    c.0.pods.last_mut().unwrap().runs_to_completion = true;
    c.running("big", "full", 3500, 12);
    let drain_below_half = |jobs: bool| {
        config(|m| {
            m.drain_utilization_below = 0.5;
            m.drain.evict_running_jobs = jobs;
        })
    };
    let plan = c.plan_with(drain_below_half(false));
    assert_eq!(state(&plan, "n").0, S::UnderUtilizedUndrainable);
    let why = &plan.nodes.iter().find(|n| n.name == "n").unwrap().reason;
    assert!(why.contains("--drain-running-jobs"), "{why}");
    assert_eq!(
        state(&c.plan_with(drain_below_half(true)), "n"),
        (S::UnderUtilizedDrainable, A::Drain, false)
    );
}

#[test]
fn a_pod_under_two_disruption_budgets_blocks_its_nodes_drain() {
    let budget = |name: &str| PodDisruptionBudget {
        namespace: "batch".into(),
        name: name.into(),
        selector: LabelSelector::default(),
        disruptions_allowed: 5,
    };
    let mut c = cluster();
    node(&mut c, "n");
    node(&mut c, "full");
    c.running("web", "n", 500, 1);
    c.running("big", "full", 3500, 12);
    c.0.pdbs.push(budget("a"));
    let drain_below_half = config(|m| m.drain_utilization_below = 0.5);
    assert_eq!(
        state(&c.plan_with(drain_below_half.clone()), "n").1,
        A::Drain
    );
    c.0.pdbs.push(budget("b"));
    let plan = c.plan_with(drain_below_half.clone());
    assert_eq!(
        state(&plan, "n"),
        (S::UnderUtilizedUndrainable, A::None, false)
    );
    let why = &plan.nodes.iter().find(|n| n.name == "n").unwrap().reason;
    assert!(
        why.contains("batch/web: under PodDisruptionBudgets a, b"),
        "{why}"
    );

    // A drain under way when the second budget appears is given up, not left forever.
    let n = &mut c.0.nodes[0];
    n.unschedulable = true;
    n.marks.cordoned_by_ekas = true;
    n.marks.drain_started = ago(3);
    assert_eq!(
        state(&c.plan_with(drain_below_half), "n"),
        (S::Draining, A::Uncordon, false)
    );
}

/// A node outside every group goes only after two NotFounds five minutes apart: (first
/// NotFound, minutes ago; Node Ready; EC2 says) → (state, action).
fn decides_for_a_node_outside_every_group(
    ((first, ready, ec2), expected): ((Option<i64>, bool, &str), (S, A)),
) {
    let mut c = cluster();
    let n = c.node("orphan", None, 4000, 16);
    n.ready = ready;
    n.ready_changed = ago(10);
    n.marks.instance_not_found_since = first.and_then(ago);
    c.0.instances.push(Instance {
        id: "i-orphan".into(),
        region: "us-west-2".into(),
        group: None,
        instance_type: String::new(),
        zone: None,
        state: ec2.into(),
        launch_time: None,
        private_dns: None,
        private_ip: None,
    });
    let plan = plan_of(&c);
    let (state, action, _) = state(&plan, "orphan");
    assert_eq!(
        (state, action),
        expected,
        "first NotFound {first:?}m ago, Ready {ready}, EC2 says {ec2}"
    );
}

cases! { decides_for_a_node_outside_every_group;
    a_first_not_found_is_marked: (
        (None, false, "not-found"),
        (S::InstanceNotFound, A::MarkInstanceNotFound),
    ),
    a_second_not_found_within_five_minutes_waits: (
        (Some(3), false, "not-found"),
        (S::InstanceNotFound, A::None),
    ),
    a_ready_node_not_found_twice_is_kept: (
        (Some(6), true, "not-found"),
        (S::InstanceNotFound, A::None),
    ),
    a_second_not_found_five_minutes_on_deletes_the_node: (
        (Some(6), false, "not-found"),
        (S::InstanceTerminated, A::DeleteNode),
    ),
    // EC2 knows it again: the mark goes.
    known_to_ec2_again_the_mark_goes: (
        (Some(6), false, "running"),
        (S::Unmanaged, A::ClearInstanceNotFound),
    ),
    // EC2 says terminated, but a kubelet still reports Ready.
    terminated_but_still_ready_is_kept: (
        (None, true, "terminated"),
        (S::InstanceTerminated, A::None),
    ),
    terminated_and_not_ready_is_deleted: (
        (None, false, "terminated"),
        (S::InstanceTerminated, A::DeleteNode),
    ),
}

/// (kind, due in minutes from now, noticed minutes ago, cordoned, busy, a pending pod fits
/// it, ready) → the node's state and action.
type Interruption = (&'static str, Option<i64>, i64, bool, bool, bool, bool);

fn interrupted((setup, want): (Interruption, (S, A))) {
    let (kind, due, noticed, cordoned, busy, wanted, ready) = setup;
    let mut c = cluster();
    {
        let n = node(&mut c, "n");
        n.created = ago(600);
        n.ready = ready;
        n.ready_changed = ago(1);
        n.unschedulable = cordoned;
        n.marks.cordoned_by_ekas = cordoned;
        n.marks.interruption = Some(crate::model::InterruptionMark {
            kind: kind.into(),
            due: due.map(|m| now() + SignedDuration::from_mins(m)),
            noticed: now() - SignedDuration::from_mins(noticed),
        });
    }
    // A spare node so the group can shrink and pods have somewhere else to be.
    node(&mut c, "spare").created = ago(600);
    c.running("spare-pod", "spare", 3900, 1);
    if busy {
        c.running("job", "n", 2000, 4);
    }
    if wanted {
        c.pod("waiting", 3000, 2);
    }
    let plan = c.plan_with(config(|m| m.type_idle_count = 0));
    let (got_state, got_action, _) = state(&plan, "n");
    assert_eq!((got_state, got_action), want);
}

const SCHEDULED: &str = "scheduled-change";
const HINT: &str = "rebalance-recommendation";
const DAY: i64 = 60 * 24;

cases! {
    interrupted;
    // A change days ahead: cordoned now, its jobs finish meanwhile.
    a_change_days_ahead_is_cordoned: ((SCHEDULED, Some(10 * DAY), 1, false, true, false, true), (S::Interrupted, A::Cordon)),
    a_cordoned_node_keeps_its_jobs_until_the_change_is_near: ((SCHEDULED, Some(10 * DAY), 1, true, true, false, true), (S::Interrupted, A::None)),
    // Within the drain time (10 minutes): drained, jobs too.
    a_change_within_the_drain_time_drains: ((SCHEDULED, Some(5), 100, true, true, false, true), (S::Interrupted, A::InterruptionDrain)),
    a_drained_node_goes_before_the_change: ((SCHEDULED, Some(5), 100, true, false, false, true), (S::Interrupted, A::Terminate)),
    // Long past, and Ready: the change did not take the node (a reboot, or moved).
    a_change_long_past_releases_a_ready_node: ((SCHEDULED, Some(-90), 200, true, true, false, true), (S::Interrupted, A::ClearInterruption)),
    // A node whose change is coming is never handed back to pending pods.
    // (an idle node like any other: removed once idle long enough)
    a_change_coming_keeps_its_node_from_pending_pods: ((SCHEDULED, Some(10 * DAY), 1, true, false, true, true), (S::GracePeriod, A::MarkIdle)),
    // A hint: cordoned, and released after the TTL (an hour) if nothing followed.
    a_hint_keeps_its_cordon_for_a_while: ((HINT, None, 10, true, true, false, true), (S::Interrupted, A::None)),
    a_hint_not_followed_up_is_released: ((HINT, None, 61, true, true, false, true), (S::Interrupted, A::ClearInterruption)),
    a_hint_not_followed_up_on_a_node_not_ready_is_kept: ((HINT, None, 61, true, true, false, false), (S::Interrupted, A::None)),
    // An idle hinted node is any idle node ekas cordoned: reused for a pending pod.
    a_hinted_idle_node_is_reused_for_pending_pods: ((HINT, None, 10, true, false, true, true), (S::PodPending, A::Uncordon)),
}

#[test]
fn a_dead_node_is_kept_while_the_view_of_the_cluster_may_be_old() {
    let mut c = cluster();
    {
        let n = node(&mut c, "dead");
        n.created = ago(600);
        n.ready = false;
        n.ready_changed = ago(120);
    }
    node(&mut c, "alive").created = ago(600);
    let (_, action, _) = state(&plan_of(&c), "dead");
    assert_eq!(action, A::Terminate, "a current view: dead, and terminated");
    c.0.stale_view = Some("the Node watch has failed for 40s: connection refused".into());
    let plan = plan_of(&c);
    let (state_now, action, _) = state(&plan, "dead");
    assert_eq!((state_now, action), (S::Dead, A::None));
    let n = plan.nodes.iter().find(|n| n.name == "dead").unwrap();
    assert!(
        n.reason.contains("the Node watch has failed"),
        "{}",
        n.reason
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.kind == crate::plan::WarningKind::StaleView),
        "{:?}",
        plan.warnings
    );
}

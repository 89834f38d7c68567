//! Capacity already on its way (safety invariant 9): nodes still starting, desired capacity
//! never launched, and pods a queue holds back. One row per case, small enough to check by
//! hand.

use jiff::{SignedDuration, Timestamp};

use crate::engine::tests::{Cluster, now};
use crate::model::ScalingActivity;
use crate::model::scheduling::{Taint, TaintEffect};
use crate::plan::{Destination, Plan};

fn ago(mins: i64) -> Option<Timestamp> {
    Some(now() - SignedDuration::from_mins(mins))
}

/// Group `gpu` (one GPU, 8 cpu per node; desired 1) with its one node `n`, registered 3
/// minutes ago, and a pending pod `train` that needs a GPU.
fn gpu_cluster() -> Cluster {
    let mut c = Cluster::new(&["us-west-2"]);
    c.group("gpu", "us-west-2", 1, 10, 8000, 32)
        .template
        .allocatable
        .set("nvidia.com/gpu", 1);
    let n = c.node("n", Some("gpu"), 8000, 32);
    n.allocatable.set("nvidia.com/gpu", 1);
    n.created = ago(3);
    n.ready_changed = ago(2);
    c.pod("train", 1000, 1).requests.set("nvidia.com/gpu", 1);
    c
}

fn destination(plan: &Plan, pod: &str) -> (Destination, Option<String>) {
    let p = plan.pending.iter().find(|p| p.pod == pod).unwrap();
    (p.destination, p.target.clone())
}

type Setup = fn(&mut crate::model::Node);

/// A node still starting is capacity on its way, not a reason to buy another: how node `n`
/// stands (after `setup`) → where `train` goes, and the nodes bought for it.
fn goes_while_a_node_starts(
    (setup, (dest, target), bought): (Setup, (Destination, Option<&str>), u32),
) {
    let mut c = gpu_cluster();
    setup(&mut c.0.nodes[0]);
    let plan = c.plan();
    let node = &plan.nodes[0];
    assert_eq!(
        destination(&plan, "batch/train"),
        (dest, target.map(str::to_string)),
        "node n {:?}: {}",
        node.state,
        node.reason
    );
    assert_eq!(
        plan.summary.new_nodes, bought,
        "node n {:?}: {}",
        node.state, node.reason
    );
}

cases! { goes_while_a_node_starts;
    started_takes_the_pod: (|_| {}, (Destination::ExistingNode, Some("n")), 0),
    // Ready, but its GPU not advertised yet.
    ready_but_its_gpu_not_advertised_yet_is_on_its_way: (
        |n| n.allocatable.set("nvidia.com/gpu", 0),
        (Destination::UpcomingNode, Some("gpu")),
        0,
    ),
    // NotReady since it registered.
    not_ready_since_it_registered_is_on_its_way: (
        |n| n.ready = false,
        (Destination::UpcomingNode, Some("gpu")),
        0,
    ),
    a_startup_taint_is_on_its_way: (
        |n| {
            n.taints.push(Taint {
                key: "node.cilium.io/agent-not-ready".into(),
                value: "true".into(),
                effect: TaintEffect::NoSchedule,
            })
        },
        (Destination::UpcomingNode, Some("gpu")),
        0,
    ),
    // No GPU 17 minutes after registering: a failed launch, the group backs off.
    no_gpu_17_minutes_after_registering_is_a_failed_launch: (
        |n| {
            n.allocatable.set("nvidia.com/gpu", 0);
            n.created = ago(17);
            n.ready_changed = ago(16);
        },
        (Destination::Unschedulable, None),
        0,
    ),
}

#[test]
fn a_node_still_starting_is_counted_and_its_failed_launch_named() {
    let mut c = gpu_cluster();
    c.0.nodes[0].allocatable.set("nvidia.com/gpu", 0);
    let plan = c.plan();
    assert_eq!((plan.groups[0].upcoming, plan.groups[0].starting), (1, 1));
    let n = &plan.nodes[0];
    assert_eq!(n.state, crate::plan::NodeState::Starting);
    assert_eq!(n.reason, "does not advertise nvidia.com/gpu yet");

    // The failed launch: backoff names it, and the pod's reason says so.
    c.0.nodes[0].created = ago(17);
    c.0.nodes[0].ready_changed = ago(16);
    let plan = c.plan();
    assert_eq!(plan.backoff[0].reason, "node did not start in time");
    assert!(
        plan.backoff[0]
            .message
            .starts_with("node n: does not advertise nvidia.com/gpu")
    );
    let why = &plan.unschedulable[0].reasons["gpu"];
    assert!(why.contains("node did not start in time"), "{why}");
}

/// Group `west` (desired and max 2, nothing launched), `east` as the overflow; four 4-cpu
/// pods.
fn unlaunched_cluster(since_mins: Option<i64>) -> Cluster {
    let mut c = Cluster::new(&["us-west-2", "us-east-1"]);
    c.group("west", "us-west-2", 2, 2, 4000, 16)
        .unlaunched_since = since_mins.and_then(ago);
    c.group("east", "us-east-1", 0, 10, 4000, 16);
    c.pods("p", 4, 4000, 1);
    c
}

fn launch_in_progress(c: &mut Cluster, minutes_ago: i64) {
    c.0.activities.push(ScalingActivity {
        region: "us-west-2".into(),
        group: "west".into(),
        status_code: "InProgress".into(),
        status_message: String::new(),
        description: "Launching a new EC2 instance: i-1".into(),
        cause: String::new(),
        start_time: now() - SignedDuration::from_mins(minutes_ago),
        end_time: None,
    });
}

/// Desired capacity never launched is a failed launch, not nodes forever coming: (tag
/// ekas/unlaunched-since, minutes ago; a launch in progress since, minutes ago) → (tag change,
/// west in backoff, nodes bought in east).
/// (tag set minutes ago, a launch in progress since minutes ago).
type Unlaunched = (Option<i64>, Option<i64>);
/// (tag written or removed, west in backoff, nodes bought in east).
type Outcome = (Option<bool>, bool, u32);

fn waits_for_a_launch(((since, launching), (mark, backoff, east)): (Unlaunched, Outcome)) {
    let mut c = unlaunched_cluster(since);
    if let Some(m) = launching {
        launch_in_progress(&mut c, m);
    }
    let plan = c.plan();
    let set = plan.group_marks.first().map(|m| m.value.is_some());
    assert_eq!(set, mark, "{since:?} {launching:?}");
    assert_eq!(!plan.backoff.is_empty(), backoff, "{since:?} {launching:?}");
    let bought: u32 = plan
        .scale_ups
        .iter()
        .filter(|s| s.group == "east")
        .map(|s| s.new_desired - s.current_desired)
        .sum();
    assert_eq!(bought, east, "{since:?} {launching:?}");
}

cases! { waits_for_a_launch;
    // First seen: remembered on the group; the two nodes are still expected.
    desired_first_seen_unlaunched_is_remembered: ((None, None), (Some(true), false, 2)),
    unlaunched_for_5_minutes_is_still_expected: ((Some(5), None), (None, false, 2)),
    // 17 minutes with nothing launching: a failed launch; the pods go east.
    unlaunched_for_17_minutes_is_a_failed_launch: ((Some(17), None), (None, true, 4)),
    // AWS is launching: the launch has its own deadline.
    a_launch_in_progress_has_its_own_deadline: ((Some(17), Some(5)), (None, false, 2)),
}

#[test]
fn desired_capacity_never_launched_is_reset_and_forgotten_once_launched() {
    let plan = unlaunched_cluster(Some(17)).plan();
    assert_eq!(
        plan.backoff[0].reason,
        "capacity requested but never launched"
    );
    assert_eq!(plan.desired_resets[0].new_desired, 0);

    // Launched at last: the memory goes.
    let mut c = unlaunched_cluster(Some(20));
    c.0.groups[0].desired = 0;
    let plan = c.plan();
    assert_eq!(plan.group_marks.len(), 1);
    assert_eq!(plan.group_marks[0].value, None);
    assert_eq!(plan.group_marks[0].tag, "ekas/unlaunched-since");
}

#[test]
fn gated_pods_are_shown_and_buy_nothing() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 4000, 16);
    c.pods("p", 2, 2000, 1);
    c.pod("held", 4000, 1).gated = true;
    let plan = c.plan();
    assert_eq!(plan.gated, ["batch/held"]);
    assert_eq!((plan.summary.gated, plan.summary.pending_pods), (1, 2));
    assert_eq!(
        plan.summary.new_nodes, 1,
        "the two ungated pods share a node"
    );
    assert!(plan.pending.iter().all(|p| p.pod != "batch/held"));
}

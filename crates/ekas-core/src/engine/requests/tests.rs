//! ProvisioningRequests, one row per case: the verdict, the conditions set, what is bought,
//! and what the booked room does to other pods and to scale-in.

use jiff::SignedDuration;

use crate::engine::Config;
use crate::engine::tests::{Cluster, now, scale_ups};
use crate::model::{ProvisioningClass, ProvisioningRequest, RequestCondition, RequestedPods};
use crate::plan::{NodeState, Plan, RequestVerdict as V};

const ATOMIC: &str = ProvisioningClass::BEST_EFFORT_ATOMIC;
const CHECK: &str = ProvisioningClass::CHECK_CAPACITY;

/// Request `batch/<name>` of `class` for `count` pods of `cpu` millicores, with `conditions`
/// (type, status, minutes ago) already set.
fn request<'c>(
    c: &'c mut Cluster,
    name: &str,
    class: &str,
    count: u32,
    cpu: i64,
    conditions: &[(&str, bool, i64)],
) -> &'c mut ProvisioningRequest {
    c.pod("template", cpu, 1);
    let template = c.0.pods.pop().unwrap();
    c.0.provisioning_requests.push(ProvisioningRequest {
        namespace: "batch".into(),
        name: name.into(),
        generation: Some(1),
        created: Some(now() - SignedDuration::from_mins(30)),
        class: ProvisioningClass::parse(class),
        pod_sets: vec![RequestedPods {
            template: format!("{name}-workers"),
            count,
            pod: Some(template),
        }],
        conditions: conditions
            .iter()
            .map(|&(kind, status, mins)| RequestCondition {
                kind: kind.into(),
                status,
                reason: "Earlier".into(),
                message: String::new(),
                last_transition: now() - SignedDuration::from_mins(mins),
                observed_generation: Some(1),
            })
            .collect(),
        no_retry: false,
        problem: None,
    });
    c.0.provisioning_requests.last_mut().unwrap()
}

/// `count` pods that arrived for request `batch/<name>`, pending.
fn arrived(c: &mut Cluster, name: &str, count: usize, cpu: i64) {
    for i in 0..count {
        c.pod(&format!("{name}-pod-{i}"), cpu, 1).consumes = Some(name.into());
    }
}

struct Expect {
    verdict: V,
    /// Start of the reason.
    reason: &'static str,
    /// `type=status/reason` of each condition set.
    set: &'static [&'static str],
    /// (group, desired before → after, real pods) of every scale-up.
    scale_ups: &'static [(&'static str, u32, u32, usize)],
    /// Unschedulable real pods.
    unschedulable: usize,
    /// State of node `n1`, when there is one.
    n1: Option<NodeState>,
}

fn set(plan: &Plan) -> Vec<String> {
    plan.provisioning_requests[0]
        .set
        .iter()
        .map(|c| format!("{}={}/{}", c.kind, c.status, c.reason))
        .collect()
}

type Setup = fn(&mut Cluster);

/// Provisioning requests are answered as cluster autoscaler answers them: the cluster
/// `setup` makes, planned with gangs and without.
fn answers_as_cluster_autoscaler((setup, expect): (Setup, Expect)) {
    for gangs in [true, false] {
        let mut c = Cluster::new(&["r1"]);
        setup(&mut c);
        let mut config = Config::default();
        // A request is all-or-nothing with or without --no-gangs.
        config.scale_up.gangs = gangs;
        // No idle spare per group: an idle node is cordoned unless something holds it.
        config.maintenance.type_idle_count = 0;
        let plan = c.plan_with(config.clone());
        // Planned in place, the same plan, and the snapshot is left as it was.
        let mut in_place = c.0.clone();
        let again = crate::engine::plan_in_place(&mut in_place, &config);
        assert_eq!(in_place.pods.len(), c.0.pods.len(), "gangs {gangs}");
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&plan).unwrap(),
            "gangs {gangs}"
        );
        let status = &plan.provisioning_requests[0];
        assert_eq!(status.verdict, expect.verdict, "gangs {gangs}: {status:?}");
        assert!(
            status.reason.starts_with(expect.reason),
            "gangs {gangs}: reason {:?}",
            status.reason
        );
        assert_eq!(set(&plan), expect.set, "gangs {gangs}");
        let ups: Vec<(&str, u32, u32, usize)> = expect.scale_ups.to_vec();
        let got = scale_ups(&plan);
        assert_eq!(
            got.iter()
                .map(|(g, a, b, n)| (g.as_str(), *a, *b, *n))
                .collect::<Vec<_>>(),
            ups,
            "gangs {gangs}"
        );
        assert_eq!(
            plan.unschedulable.len(),
            expect.unschedulable,
            "gangs {gangs}"
        );
        if let Some(state) = expect.n1 {
            let n1 = plan.nodes.iter().find(|n| n.name == "n1").unwrap();
            assert_eq!(n1.state, state, "gangs {gangs}: {}", n1.reason);
        }
        // Lent pods never show as pods.
        assert!(
            plan.pending.iter().all(|p| !p.pod.contains('#')),
            "gangs {gangs}: {:?}",
            plan.pending
        );
        assert!(plan.gangs.is_empty(), "gangs {gangs}");
    }
}

cases! { answers_as_cluster_autoscaler;
    // Best-effort-atomic: nodes for all 8 pods at once.
    atomic_buys_nodes_for_all_8_pods_at_once: (
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            request(c, "train", ATOMIC, 8, 4000, &[]);
        },
        Expect {
            verdict: V::ScaleUp,
            reason: "8 of 8 pods on new nodes of gpu",
            set: &[
                "Accepted=True/Accepted",
                "Provisioned=True/CapacityIsProvisioned",
            ],
            scale_ups: &[("gpu", 0, 8, 0)],
            unschedulable: 0,
            n1: None,
        },
    ),
    // Best-effort-atomic that fits only partly buys nothing and is asked again.
    atomic_that_fits_only_partly_buys_nothing: (
        |c| {
            c.group("gpu", "r1", 1, 5, 4000, 16);
            c.node("n1", Some("gpu"), 4000, 16);
            request(c, "train", ATOMIC, 8, 4000, &[("Accepted", true, 1)]);
        },
        Expect {
            verdict: V::NotFound,
            reason: "8 pods, 5 fit: gpu at MaxSize (5)",
            set: &["Provisioned=False/CapacityIsNotFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::GracePeriod),
        },
    ),
    // Best-effort-atomic that asked for no retry fails at once.
    atomic_without_retry_fails_at_once: (
        |c| {
            c.group("gpu", "r1", 0, 5, 4000, 16);
            request(c, "train", ATOMIC, 8, 4000, &[]).no_retry = true;
        },
        Expect {
            verdict: V::Failed,
            reason: "8 pods, 5 fit: gpu at MaxSize (5)",
            set: &["Accepted=True/Accepted", "Failed=True/CapacityIsNotFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // Best-effort-atomic whose pods no group can ever take fails.
    atomic_that_no_group_can_take_fails: (
        |c| {
            c.group("small", "r1", 0, 10, 2000, 16);
            request(c, "train", ATOMIC, 2, 4000, &[]);
        },
        Expect {
            verdict: V::Failed,
            reason: "no node group takes the pods of PodTemplate train-workers",
            set: &["Accepted=True/Accepted", "Failed=True/CapacityIsNotFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // Best-effort-atomic that fits the room there is buys nothing.
    atomic_that_fits_the_room_there_is_buys_nothing: (
        |c| {
            c.group("gpu", "r1", 1, 10, 8000, 16);
            c.node("n1", Some("gpu"), 8000, 16);
            request(c, "train", ATOMIC, 2, 4000, &[]);
        },
        Expect {
            verdict: V::CapacityFound,
            reason: "all 2 pods fit the room there is",
            set: &["Accepted=True/Accepted", "Provisioned=True/CapacityIsFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::Booked),
        },
    ),
    // Check-capacity that fits: Provisioned, nothing bought.
    check_capacity_that_fits_is_provisioned: (
        |c| {
            c.group("gpu", "r1", 1, 10, 8000, 16);
            c.node("n1", Some("gpu"), 8000, 16);
            request(c, "probe", CHECK, 2, 4000, &[]);
        },
        Expect {
            verdict: V::CapacityFound,
            reason: "all 2 pods fit the room there is",
            set: &["Accepted=True/Accepted", "Provisioned=True/CapacityIsFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::Booked),
        },
    ),
    // Check-capacity that does not fit buys nothing though the group has headroom.
    check_capacity_that_does_not_fit_buys_nothing: (
        |c| {
            c.group("gpu", "r1", 1, 10, 8000, 16);
            c.node("n1", Some("gpu"), 8000, 16);
            request(c, "probe", CHECK, 3, 4000, &[]);
        },
        Expect {
            verdict: V::NotFound,
            reason: "3 pods, 2 fit: not enough free room or capacity already requested",
            set: &[
                "Accepted=True/Accepted",
                "Provisioned=False/CapacityIsNotFound",
            ],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::GracePeriod),
        },
    ),
    // Booked room is held: loose pods of the same size buy nodes instead.
    booked_room_is_held_from_loose_pods: (
        |c| {
            c.group("gpu", "r1", 1, 10, 16000, 16);
            c.node("n1", Some("gpu"), 16000, 16);
            request(
                c,
                "train",
                ATOMIC,
                4,
                4000,
                &[("Accepted", true, 3), ("Provisioned", true, 2)],
            );
            arrived(c, "train", 1, 4000);
            c.pods("a-loose", 2, 4000, 1);
        },
        Expect {
            verdict: V::Booked,
            reason: "room held for 3 of 4 pods until",
            set: &[],
            // The arrived pod takes the fourth slot; the loose pods need a new node.
            scale_ups: &[("gpu", 1, 2, 2)],
            unschedulable: 0,
            n1: Some(NodeState::Booked),
        },
    ),
    an_idle_node_holding_booked_room_is_not_cordoned: (
        |c| {
            c.group("gpu", "r1", 1, 10, 16000, 16);
            c.node("n1", Some("gpu"), 16000, 16).marks.idle_since =
                Some(now() - SignedDuration::from_hours(2));
            request(
                c,
                "train",
                ATOMIC,
                4,
                4000,
                &[("Accepted", true, 3), ("Provisioned", true, 2)],
            );
        },
        Expect {
            verdict: V::Booked,
            reason: "room held for 4 of 4 pods until",
            set: &[],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::Booked),
        },
    ),
    a_booking_that_ran_out_frees_the_room_and_the_node: (
        |c| {
            c.group("gpu", "r1", 1, 10, 16000, 16);
            c.node("n1", Some("gpu"), 16000, 16).marks.idle_since =
                Some(now() - SignedDuration::from_hours(2));
            request(
                c,
                "train",
                ATOMIC,
                4,
                4000,
                &[("Accepted", true, 13), ("Provisioned", true, 11)],
            );
        },
        Expect {
            verdict: V::BookingExpired,
            reason: "its pods did not all arrive",
            set: &["BookingExpired=True/CapacityReservationTimeExpired"],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::IdleSchedulable),
        },
    ),
    // All pods arrived: nothing left to hold.
    all_pods_arrived_holds_nothing: (
        |c| {
            c.group("gpu", "r1", 1, 10, 16000, 16);
            c.node("n1", Some("gpu"), 16000, 16);
            request(
                c,
                "train",
                ATOMIC,
                2,
                4000,
                &[("Accepted", true, 3), ("Provisioned", true, 2)],
            );
            arrived(c, "train", 2, 4000);
        },
        Expect {
            verdict: V::Consumed,
            reason: "all 2 pods arrived",
            set: &[],
            scale_ups: &[],
            unschedulable: 0,
            n1: Some(NodeState::PodPending),
        },
    ),
    a_failed_request_is_left_alone: (
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            request(c, "train", ATOMIC, 2, 4000, &[("Failed", true, 3)]);
        },
        Expect {
            verdict: V::Finished,
            reason: "Failed",
            set: &[],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // Another class is somebody else's.
    another_class_is_somebody_elses: (
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            request(c, "train", "queued-provisioning.gke.io", 2, 4000, &[]);
        },
        Expect {
            verdict: V::NotOurs,
            reason: "class queued-provisioning.gke.io",
            set: &[],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // A missing PodTemplate is said, nothing bought.
    a_missing_pod_template_is_said: (
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            let r = request(c, "train", ATOMIC, 2, 4000, &[]);
            r.pod_sets[0].pod = None;
            r.problem = Some("PodTemplate batch/train-workers not found".into());
        },
        Expect {
            verdict: V::Invalid,
            reason: "PodTemplate batch/train-workers not found",
            set: &[
                "Accepted=True/Accepted",
                "Provisioned=False/FailedToCreatePods",
            ],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // Never provisioned within a week: Failed, Expired.
    never_provisioned_within_a_week_fails: (
        |c| {
            c.group("gpu", "r1", 0, 10, 4000, 16);
            request(c, "train", ATOMIC, 2, 4000, &[("Accepted", true, 3)]).created =
                Some(now() - SignedDuration::from_hours(8 * 24));
        },
        Expect {
            verdict: V::Failed,
            reason: "not provisioned within a week",
            set: &["Failed=True/Expired"],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    an_unhealthy_cluster_buys_nothing_for_a_request_either: (
        |c| {
            c.group("gpu", "r1", 4, 10, 4000, 16);
            for n in ["n1", "n2", "n3", "n4"] {
                c.node(n, Some("gpu"), 4000, 16).ready = false;
            }
            request(c, "train", ATOMIC, 2, 4000, &[("Accepted", true, 3)]);
        },
        Expect {
            verdict: V::NotFound,
            reason: "2 pods, 0 fit: waiting",
            set: &["Provisioned=False/CapacityIsNotFound"],
            scale_ups: &[],
            unschedulable: 0,
            n1: None,
        },
    ),
    // A request's pods and loose pods compete for headroom: the request is whole.
    a_request_competing_with_loose_pods_is_whole: (
        |c| {
            c.group("gpu", "r1", 0, 4, 4000, 16);
            c.pods("a-loose", 3, 4000, 1);
            request(c, "train", ATOMIC, 4, 4000, &[("Accepted", true, 1)]);
        },
        Expect {
            verdict: V::ScaleUp,
            reason: "4 of 4 pods on new nodes of gpu",
            set: &["Provisioned=True/CapacityIsProvisioned"],
            scale_ups: &[("gpu", 0, 4, 0)],
            unschedulable: 3,
            n1: None,
        },
    ),
}

#[test]
fn a_pod_group_and_a_request_of_one_name_are_two_gangs() {
    let pod_group = |c: &mut Cluster, pods: usize, cpu: i64, min_member: Option<u32>| {
        for i in 0..pods {
            c.pod(&format!("train-{i}"), cpu, 1).gang = Some(crate::model::Gang {
                namespace: "batch".into(),
                name: "train".into(),
                min_member,
                from_request: false,
            });
        }
    };
    // The request fits on the two nodes MaxSize allows; the PodGroup's pod is left without
    // room. The request is not answered with the PodGroup's verdict.
    let mut c = Cluster::new(&["r1"]);
    c.group("gpu", "r1", 0, 2, 4000, 16);
    request(&mut c, "train", ATOMIC, 2, 4000, &[]);
    pod_group(&mut c, 1, 3000, None);
    let plan = c.plan();
    let status = &plan.provisioning_requests[0];
    assert_eq!(status.verdict, V::ScaleUp, "{status:?}");
    assert_eq!(scale_ups(&plan), [("gpu".into(), 0, 2, 0)]);
    assert_eq!(plan.unschedulable[0].gang.as_deref(), Some("batch/train"));

    // The request does not fit; the PodGroup starts with one of its two pods. The pod left
    // over is not held back by the request's gang.
    let mut c = Cluster::new(&["r1"]);
    c.group("gpu", "r1", 0, 1, 4000, 16);
    request(&mut c, "train", ATOMIC, 2, 4000, &[]);
    pod_group(&mut c, 2, 3000, Some(1));
    let plan = c.plan();
    assert_eq!(plan.provisioning_requests[0].verdict, V::NotFound);
    assert_eq!(scale_ups(&plan), [("gpu".into(), 0, 1, 1)]);
    assert_eq!(plan.unschedulable.len(), 1);
    assert_eq!(plan.unschedulable[0].gang, None);
}

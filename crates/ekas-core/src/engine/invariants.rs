//! The safety invariants of shared/DESIGN.md, checked on every plan of 10,000 generated
//! clusters: whatever the cluster looks like, the engine never proposes an unsafe action.
//!
//! The checks are an oracle written apart from the engine: they restate the rules of
//! DESIGN.md and issue #10 from scratch (which pod must stay, which nodes are unready or still
//! starting, how many removals a pass allows) and never call the engine's own classification.
//! Where the generator knows a truth the engine must infer — which Node an instance really
//! is — the oracle checks against that truth.
//!
//! Beyond DESIGN.md's nine: 10–12 (pending pods' nodes stay, drains leave room, unreadable
//! objects are left alone), and 13, ProvisioningRequests, restated from cluster-autoscaler's
//! rules for its two classes without calling `engine::requests`: (a) check-capacity buys
//! nothing; (b) best-effort-atomic is served whole or buys nothing; (c) a node holding booked
//! room is not taken away; (d) `Accepted` is set once, and a finished request is left alone;
//! (e) the pods a request lends the planner never show as pods; and 14, a node between the pods
//! of a Job that still has pods waiting for it is not removed for idleness within the bound.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::engine::tests::{Cluster, now};
use crate::engine::{Config, scale_in::MaintenanceConfig, scale_up::ScaleUpPolicy};
use crate::model::group::GroupMember;
use crate::model::scheduling::{LabelSelector, Taint, TaintEffect};
use crate::model::{
    Instance, Node, Pod, PodDisruptionBudget, PodPhase, ProvisioningClass, ProvisioningRequest,
    RequestCondition, RequestedPods, Resources, Snapshot,
};
use crate::plan::{InstanceActionKind, NodeActionKind, Plan};

#[derive(Debug, Clone)]
struct GenGroup {
    min: u32,
    extra_desired: u32,
    headroom: u32,
    /// Its nodes promise one GPU each.
    gpu: bool,
}

#[derive(Debug, Clone)]
struct GenNode {
    group: usize,
    managed: bool,
    /// The Node carries no providerID and nothing matched it to its instance (kubeadm without
    /// a cloud provider): the engine sees a Node without an instance and a member without a
    /// Node, which are in truth the same machine.
    unmatched: bool,
    ready: bool,
    down_mins: i64,
    unschedulable: bool,
    ours: bool,
    idle_mins: Option<i64>,
    draining: bool,
    drained: bool,
    age_mins: i64,
    protected: bool,
    detached: bool,
    scale_down_disabled: bool,
    startup_taint: bool,
    /// A GPU node whose device plugin has not advertised the GPU yet.
    gpu_missing: bool,
    /// Its allocatable or taints could not be read.
    unreadable: bool,
}

#[derive(Debug, Clone)]
struct GenPod {
    node: Option<usize>,
    cpu: i64,
    /// 0 Job, 1 none, 2 DaemonSet, 3 do-not-evict, 4 emptyDir, 5 young, 6 mirror,
    /// 7 ReplicaSet, 8 hostPath, 9 a Job pod whose spec could not be read
    kind: u8,
    finished: bool,
    terminating: bool,
    /// Bound to its node but still Pending (pulling images, say).
    bound_pending: bool,
    gated: bool,
    gpu: bool,
    /// Which of the two PodDisruptionBudgets select it (bit 0: a, bit 1: b).
    budgets: u8,
    /// The gang it is in: 0 or 1 none, 2 gang `ga`, 3 gang `gb`.
    gang: u8,
}

/// A group member that never became a Node.
#[derive(Debug, Clone)]
struct GenMember {
    group: usize,
    launch_mins: i64,
    protected: bool,
}

/// A ProvisioningRequest `batch/r<k>` (k = 0, 1, 2) for `count` pods of one template.
#[derive(Debug, Clone)]
struct GenRequest {
    /// The first two may be named as gangs `ga` and `gb` are: a PodGroup and a request may
    /// share a name.
    named_like_gang: bool,
    /// best-effort-atomic, else check-capacity.
    atomic: bool,
    count: u32,
    cpu: i64,
    gpu: bool,
    /// 0 no Accepted yet; 1 `Accepted=True` in cluster-autoscaler's words; 2 in other words,
    /// so setting it again would be a change.
    accepted: u8,
    /// Minutes since `Provisioned=True`: under 10 is booked, 10 or more ran out.
    provisioned_mins: Option<i64>,
    /// `Provisioned=False` (`CapacityIsNotFound`) from an earlier pass, when not provisioned.
    not_found_before: bool,
    /// 0 none, 1 `Failed=True`, 2 `BookingExpired=True`.
    finished: u8,
    no_retry: bool,
    /// Created eight days ago: past the week a request may wait.
    old: bool,
    /// Pods already made for it (annotated as consuming it), at most `count`.
    arrived: u32,
    /// Where the arrived pods run (node index, as GenPod's), or pending.
    arrived_on: Option<usize>,
}

#[derive(Debug, Clone)]
struct World {
    groups: Vec<GenGroup>,
    nodes: Vec<GenNode>,
    pods: Vec<GenPod>,
    members: Vec<GenMember>,
    /// Evictions each of the two budgets allows, when it exists.
    budgets: [Option<i32>; 2],
    /// Most nodes NotReady at once: a CNI or control-plane outage.
    outage: bool,
    /// minMember of the PodGroups of gangs `ga` and `gb`, when the snapshot has them.
    gang_min: [Option<u32>; 2],
    requests: Vec<GenRequest>,
    /// Minutes ago ekas removed capacity, as its Lease recorded it.
    recent_removals: Vec<i64>,
}

fn group() -> impl Strategy<Value = GenGroup> {
    (0u32..3, 0u32..4, 0u32..5, prop::bool::weighted(0.3)).prop_map(
        |(min, extra_desired, headroom, gpu)| GenGroup {
            min,
            extra_desired,
            headroom,
            gpu,
        },
    )
}

fn node() -> impl Strategy<Value = GenNode> {
    (
        (
            0usize..3,
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.8),
        ),
        (0i64..120, any::<bool>(), any::<bool>()),
        (
            prop::option::of(0i64..600),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.1),
        ),
        // Young nodes (still starting, or just failed to) as often as old ones.
        (prop_oneof![0i64..25, 25i64..600], prop::bool::weighted(0.1)),
        (
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.05),
        ),
    )
        .prop_map(
            |(
                (group, managed, unmatched, ready),
                (down_mins, unschedulable, ours),
                (idle_mins, draining, drained),
                (age_mins, protected),
                (detached, scale_down_disabled, startup_taint, gpu_missing, unreadable),
            )| GenNode {
                group,
                managed,
                unmatched,
                ready,
                down_mins,
                unschedulable,
                ours,
                idle_mins,
                draining,
                drained,
                age_mins,
                protected,
                detached,
                scale_down_disabled,
                startup_taint,
                gpu_missing,
                unreadable,
            },
        )
}

fn pod() -> impl Strategy<Value = GenPod> {
    (
        (prop::option::of(0usize..16), 100i64..3000, 0u8..10),
        (
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.1),
        ),
        (prop::bool::weighted(0.1), 0u8..4, 0u8..4),
    )
        .prop_map(
            |(
                (node, cpu, kind),
                (finished, terminating, bound_pending, gated),
                (gpu, budgets, gang),
            )| {
                GenPod {
                    node,
                    cpu,
                    kind,
                    finished,
                    terminating,
                    bound_pending,
                    gated,
                    gpu,
                    budgets,
                    gang,
                }
            },
        )
}

fn member() -> impl Strategy<Value = GenMember> {
    (0usize..3, 0i64..120, prop::bool::weighted(0.2)).prop_map(|(group, launch_mins, protected)| {
        GenMember {
            group,
            launch_mins,
            protected,
        }
    })
}

fn request() -> impl Strategy<Value = GenRequest> {
    (
        (
            any::<bool>(),
            1u32..7,
            100i64..3000,
            prop::bool::weighted(0.1),
        ),
        (
            0u8..3,
            prop_oneof![
                2 => Just(None),
                2 => (0i64..10).prop_map(Some),
                1 => (10i64..40).prop_map(Some),
            ],
            any::<bool>(),
        ),
        (
            prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.05),
        ),
        (
            0u32..7,
            // Arrived pods are mostly scheduled already.
            prop::option::weighted(0.8, 0usize..16),
            prop::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(
                (atomic, count, cpu, gpu),
                (accepted, provisioned_mins, not_found_before),
                (finished, no_retry, old),
                (arrived, arrived_on, named_like_gang),
            )| GenRequest {
                named_like_gang,
                atomic,
                count,
                cpu,
                gpu,
                accepted,
                provisioned_mins,
                not_found_before,
                finished,
                no_retry,
                old,
                arrived: arrived.min(count),
                arrived_on,
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(group(), 1..4),
        prop::collection::vec(node(), 0..16),
        prop::collection::vec(pod(), 0..40),
        prop::collection::vec(member(), 0..4),
        [prop::option::of(0i32..3), prop::option::of(0i32..3)],
        prop::bool::weighted(0.15),
        [prop::option::of(0u32..8), prop::option::of(0u32..8)],
        (
            prop::collection::vec(request(), 0..4),
            prop::collection::vec(0i64..25, 0..3),
        ),
    )
        .prop_map(
            |(groups, nodes, pods, members, budgets, outage, gang_min, (requests, recent))| World {
                groups,
                nodes,
                pods,
                members,
                budgets,
                outage,
                gang_min,
                requests,
                recent_removals: recent,
            },
        )
}

/// Small quiet clusters holding booked room: a few nodes idle for a while, a few pods and
/// none pending, requests mostly provisioned within the booking. Where room is booked on a
/// node that would otherwise be cordoned (13c), which the busy clusters of [`world`] seldom
/// show.
fn booked_world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(group(), 1..3),
        prop::collection::vec(
            node().prop_map(|n| GenNode {
                idle_mins: Some(n.idle_mins.unwrap_or(0) + 55),
                ..n
            }),
            1..4,
        ),
        prop::collection::vec(
            pod().prop_map(|p| GenPod {
                node: Some(p.node.unwrap_or(p.cpu as usize)),
                ..p
            }),
            0..4,
        ),
        prop::collection::vec(
            request().prop_map(|r| GenRequest {
                provisioned_mins: Some(r.provisioned_mins.unwrap_or(0) % 10),
                ..r
            }),
            1..4,
        ),
        prop::collection::vec(member(), 0..2),
        [prop::option::of(0i32..3), prop::option::of(0i32..3)],
    )
        .prop_map(|(groups, nodes, pods, requests, members, budgets)| World {
            groups,
            nodes,
            pods,
            members,
            budgets,
            outage: false,
            gang_min: [None, None],
            requests,
            recent_removals: vec![],
        })
}

fn config() -> impl Strategy<Value = Config> {
    (
        (0.0f64..=1.0, 0.0f64..=1.0, 0usize..3, 0usize..4),
        (any::<bool>(), any::<bool>(), 0usize..5, 0.0f64..=100.0),
        // --no-gangs now and then: PodGroups are ignored, ProvisioningRequests still whole.
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(
                (fraction, drain_below, spares, drains),
                (respect_protection, drain_running_jobs, ok_unready, unready_percentage),
                gangs,
            )| {
                let mut m = MaintenanceConfig {
                    max_scale_in_fraction: fraction,
                    drain_utilization_below: drain_below,
                    type_idle_count: spares,
                    max_concurrent_drains: drains,
                    respect_scale_in_protection: respect_protection,
                    ..MaintenanceConfig::default()
                };
                m.drain.evict_running_jobs = drain_running_jobs;
                m.unready.ok_total_unready_count = ok_unready;
                m.unready.max_total_unready_percentage = unready_percentage;
                Config {
                    maintenance: m,
                    scale_up: ScaleUpPolicy {
                        gangs,
                        ..ScaleUpPolicy::default()
                    },
                    ..Config::default()
                }
            },
        )
}

fn ago(mins: i64) -> Timestamp {
    now() - SignedDuration::from_mins(mins)
}

const GPU: &str = "nvidia.com/gpu";

/// The generated cluster, and the truth the engine must not get wrong: which member instance
/// each unmatched Node really is.
struct Built {
    cluster: Cluster,
    truly_joined: HashSet<String>,
}

fn build(w: &World) -> Built {
    let mut c = Cluster::new(&["us-west-2"]);
    c.0.recent_removals = w.recent_removals.iter().map(|&m| ago(m)).collect();
    for (i, g) in w.groups.iter().enumerate() {
        let group = c.group(&format!("g{i}"), "us-west-2", 0, 0, 4000, 16);
        if g.gpu {
            group.template.allocatable.set(GPU, 1);
        }
    }
    let mut truly_joined = HashSet::new();
    for (i, n) in w.nodes.iter().enumerate() {
        let g = n.group % w.groups.len();
        let group = format!("g{g}");
        let name = format!("n{i:02}");
        let node = c.node(&name, n.managed.then_some(group.as_str()), 4000, 16);
        let ready = n.ready && !w.outage;
        node.ready = ready;
        node.created = Some(ago(n.age_mins));
        // Readiness cannot have changed before the node registered.
        let down = if w.outage && n.ready {
            45.min(n.age_mins)
        } else {
            n.down_mins.min(n.age_mins)
        };
        node.ready_changed = Some(ago(down));
        node.unschedulable = n.unschedulable || n.draining || n.drained;
        node.marks.cordoned_by_ekas = n.ours || n.draining || n.drained;
        node.marks.idle_since = n.idle_mins.map(ago);
        node.marks.drain_started = n.draining.then(|| ago(5));
        node.marks.drained_at = n.drained.then(|| ago(1));
        node.marks.detached = n.detached;
        node.marks.scale_down_disabled = n.scale_down_disabled;
        if n.startup_taint {
            node.taints.push(Taint {
                key: "node.kubernetes.io/not-ready".into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
            });
        }
        if n.managed && w.groups[g].gpu && !n.gpu_missing {
            node.allocatable.set(GPU, 1);
        }
        if n.unreadable {
            // What the snapshot builder keeps of a Node it cannot read.
            node.unreadable = true;
            node.allocatable = Resources::default();
            node.taints.clear();
        }
        let instance_id = node.instance_id.clone().unwrap();
        if n.unmatched {
            node.instance_id = None;
            node.provider_id = None;
            node.matched_by = None;
        }
        if n.managed {
            let members = &mut c.0.groups[g].members;
            members.last_mut().unwrap().protected_from_scale_in = n.protected;
            truly_joined.insert(instance_id.clone());
            if n.unmatched {
                // EC2 describes the member, since no Node claims it.
                c.0.instances
                    .push(instance(&instance_id, &group, n.age_mins + 2));
            }
        }
    }
    for (i, m) in w.members.iter().enumerate() {
        let g = m.group % w.groups.len();
        let id = format!("i-never-{i}");
        c.0.groups[g]
            .members
            .push(crate::model::group::GroupMember {
                instance_id: id.clone(),
                lifecycle_state: "InService".into(),
                protected_from_scale_in: m.protected,
            });
        c.0.instances
            .push(instance(&id, &format!("g{g}"), m.launch_mins));
    }
    for (i, g) in w.groups.iter().enumerate() {
        let group = &mut c.0.groups[i];
        let members = group.members.len() as u32;
        group.min_size = g.min.min(members);
        group.desired = members + g.extra_desired;
        group.max_size = group.desired + g.headroom;
    }
    let node_count = w.nodes.len();
    for (i, p) in w.pods.iter().enumerate() {
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
        // Batch pods run to completion; DaemonSet, mirror and ReplicaSet pods restart.
        pod.runs_to_completion = !matches!(p.kind, 2 | 6 | 7);
        match p.kind {
            1 => pod.controller = None,
            2 => pod.controller.as_mut().unwrap().kind = "DaemonSet".into(),
            3 => pod.do_not_evict = true,
            4 => pod.local_storage = true,
            5 => pod.created = Some(now() - SignedDuration::from_secs(30)),
            6 => {
                pod.controller = None;
                pod.mirror = true;
            }
            7 => pod.controller.as_mut().unwrap().kind = "ReplicaSet".into(),
            8 => pod.host_path = true,
            9 => pod.unreadable = true,
            _ => {}
        }
        if on.is_some() {
            if p.finished {
                pod.phase = PodPhase::Succeeded;
            } else if p.bound_pending {
                pod.phase = PodPhase::Pending;
            }
        }
        pod.deleting = p.terminating;
        pod.gated = p.gated && on.is_none();
        if p.gpu {
            pod.requests.set(GPU, 1);
        }
        if let Some(g) = p.gang.checked_sub(2) {
            pod.gang = Some(crate::model::Gang {
                namespace: "batch".into(),
                name: ["ga", "gb"][g as usize].into(),
                min_member: w.gang_min[g as usize],
                from_request: false,
            });
        }
        for (bit, name) in ["a", "b"].iter().enumerate() {
            if p.budgets & (1 << bit) != 0 {
                std::sync::Arc::make_mut(&mut pod.labels)
                    .insert(format!("pdb-{name}"), "yes".into());
            }
        }
    }
    for (bit, allowed) in w.budgets.iter().enumerate() {
        let Some(allowed) = allowed else { continue };
        let name = ["a", "b"][bit];
        c.0.pdbs.push(PodDisruptionBudget {
            namespace: "batch".into(),
            name: name.into(),
            selector: LabelSelector {
                match_labels: [(format!("pdb-{name}"), "yes".to_string())].into(),
                expressions: vec![],
            },
            disruptions_allowed: *allowed,
        });
    }
    for (k, r) in w.requests.iter().enumerate() {
        add_request(&mut c, k, r, node_count);
    }
    Built {
        cluster: c,
        truly_joined,
    }
}

fn add_request(c: &mut Cluster, k: usize, r: &GenRequest, node_count: usize) {
    let name = match k {
        0 | 1 if r.named_like_gang => ["ga", "gb"][k].to_string(),
        _ => format!("r{k}"),
    };
    let sized = |pod: &mut Pod| {
        if r.gpu {
            pod.requests.set(GPU, 1);
        }
    };
    c.pod("template", r.cpu, 1);
    let mut template = c.0.pods.pop().unwrap();
    sized(&mut template);
    let condition =
        |kind: &str, status: bool, reason: &str, message: &str, mins: i64| RequestCondition {
            kind: kind.into(),
            status,
            reason: reason.into(),
            message: message.into(),
            last_transition: ago(mins),
            observed_generation: Some(1),
        };
    let mut conditions = Vec::new();
    match r.accepted {
        1 => conditions.push(condition(
            "Accepted",
            true,
            "Accepted",
            "ProvisioningRequest is accepted by ClusterAutoscaler",
            50,
        )),
        2 => conditions.push(condition("Accepted", true, "Earlier", "", 50)),
        _ => {}
    }
    match r.provisioned_mins {
        Some(mins) => conditions.push(condition(
            "Provisioned",
            true,
            "CapacityIsProvisioned",
            "Capacity is found in the cluster",
            mins,
        )),
        None if r.not_found_before => conditions.push(condition(
            "Provisioned",
            false,
            "CapacityIsNotFound",
            "not enough room",
            5,
        )),
        None => {}
    }
    match r.finished {
        1 => conditions.push(condition("Failed", true, "CapacityIsNotFound", "", 2)),
        2 => conditions.push(condition(
            "BookingExpired",
            true,
            "CapacityReservationTimeExpired",
            "",
            2,
        )),
        _ => {}
    }
    let class = if r.atomic {
        ProvisioningClass::BestEffortAtomic
    } else {
        ProvisioningClass::CheckCapacity
    };
    c.0.provisioning_requests.push(ProvisioningRequest {
        namespace: "batch".into(),
        name: name.clone(),
        generation: Some(1),
        created: Some(ago(if r.old { 8 * 24 * 60 } else { 60 })),
        class,
        pod_sets: vec![RequestedPods {
            template: format!("{name}-workers"),
            count: r.count,
            pod: Some(template),
        }],
        conditions,
        no_retry: r.no_retry,
        problem: None,
    });
    for j in 0..r.arrived as usize {
        let pod_name = format!("{name}-pod-{j}");
        let on = r
            .arrived_on
            .filter(|_| node_count > 0)
            .map(|n| (n + j) % node_count);
        match on {
            Some(n) => c.running(&pod_name, &format!("n{n:02}"), r.cpu, 1),
            None => {
                c.pod(&pod_name, r.cpu, 1);
            }
        }
        let pod = c.0.pods.last_mut().unwrap();
        sized(pod);
        pod.created = Some(now() - SignedDuration::from_hours(1));
        pod.runs_to_completion = true;
        pod.consumes = Some(name.clone());
    }
}

fn instance(id: &str, group: &str, launch_mins: i64) -> Instance {
    Instance {
        id: id.into(),
        region: "us-west-2".into(),
        group: Some(group.into()),
        instance_type: "m5.test".into(),
        zone: None,
        state: "running".into(),
        launch_time: Some(ago(launch_mins)),
        private_dns: None,
        private_ip: None,
    }
}

// ---- The oracle: the rules, restated. ----

/// `--max-node-provision-time`, `--drain-grace-period` and `--dead-threshold` at their
/// defaults, which the generated configs keep.
const PROVISION: SignedDuration = SignedDuration::from_mins(15);
const GRACE: SignedDuration = SignedDuration::from_mins(2);
const DEAD: SignedDuration = SignedDuration::from_mins(30);

fn finished(p: &Pod) -> bool {
    matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed)
}

/// Never evicted and never in a drain's way: DaemonSet and mirror pods, and finished ones.
fn stays_out_of_the_way(p: &Pod) -> bool {
    finished(p) || p.mirror || p.controller.as_ref().is_some_and(|o| o.kind == "DaemonSet")
}

/// Why DESIGN.md's invariant 1 keeps this pod on its node, if it does. `drain` adds the
/// batch rule: scale-in drains leave pods that run to completion alone.
fn must_stay(p: &Pod, m: &MaintenanceConfig, drain: bool) -> Option<&'static str> {
    if stays_out_of_the_way(p) {
        return None;
    }
    if p.unreadable {
        return Some("unreadable");
    }
    if p.controller.is_none() {
        return Some("no controller");
    }
    if p.do_not_evict {
        return Some("do-not-evict");
    }
    if p.local_storage || p.host_path {
        return Some("local storage");
    }
    if p.created.is_some_and(|c| c + GRACE > now()) {
        return Some("too young");
    }
    if drain && p.runs_to_completion && !m.drain.evict_running_jobs {
        return Some("runs to completion");
    }
    None
}

fn budgets_of<'a>(p: &Pod, pdbs: &'a [PodDisruptionBudget]) -> Vec<&'a PodDisruptionBudget> {
    pdbs.iter()
        .filter(|b| b.namespace == p.namespace && b.selector.matches(&p.labels))
        .collect()
}

/// Registered less than the provision time ago and not yet Ready, untainted and advertising
/// the GPU its group promises.
fn still_starting(n: &Node, group_gpu: bool) -> bool {
    let young = n
        .created
        .is_some_and(|c| now().duration_since(c) < PROVISION);
    let tainted = n
        .taints
        .iter()
        .any(|t| t.key == "node.kubernetes.io/not-ready");
    young && (!n.ready || tainted || (group_gpu && n.allocatable.get(GPU) <= 0))
}

/// NotReady for longer than the dead threshold.
fn dead(n: &Node) -> bool {
    !n.ready
        && n.ready_changed
            .is_some_and(|r| now().duration_since(r) >= DEAD)
}

/// NotReady after having been Ready: its readiness changed long after it registered.
fn unready(n: &Node) -> bool {
    !n.ready
        && match (n.created, n.ready_changed) {
            (Some(c), Some(r)) => r.duration_since(c) >= PROVISION,
            _ => true,
        }
}

/// cluster-autoscaler's rule: more than the tolerated count and share of nodes unready.
fn unhealthy(nodes: &[Node], m: &MaintenanceConfig) -> bool {
    let bad = nodes.iter().filter(|n| unready(n)).count();
    bad > m.unready.ok_total_unready_count
        && bad as f64 > m.unready.max_total_unready_percentage / 100.0 * nodes.len() as f64
}

fn pods_on<'a>(
    snapshot: &'a crate::model::Snapshot,
    node: &'a str,
) -> impl Iterator<Item = &'a Pod> {
    snapshot
        .pods
        .iter()
        .filter(move |p| p.node_name.as_deref() == Some(node))
}

/// One generated cluster, its plan and options, with the lookups every invariant uses.
struct Case<'a> {
    w: &'a World,
    built: &'a Built,
    snapshot: &'a Snapshot,
    plan: &'a Plan,
    config: &'a Config,
    m: &'a MaintenanceConfig,
    node_named: HashMap<&'a str, &'a Node>,
}

impl<'a> Case<'a> {
    fn member(&self, id: &str) -> Option<&'a GroupMember> {
        self.snapshot
            .groups
            .iter()
            .flat_map(|g| &g.members)
            .find(|mem| mem.instance_id == id)
    }

    /// A drain under way — started or finished by ekas on a node it cordoned — was counted
    /// when it started.
    fn resumed(&self, name: &str) -> bool {
        let n = self.node_named[name];
        (n.marks.drain_started.is_some() || n.marks.drained_at.is_some())
            && n.unschedulable
            && n.marks.cordoned_by_ekas
    }

    /// The instances the plan replaces.
    fn replacements(&self) -> Vec<&'a str> {
        self.plan
            .instances
            .iter()
            .filter(|i| i.action == InstanceActionKind::Replace)
            .map(|i| i.instance_id.as_str())
            .collect()
    }
}

/// One invariant, checked on one case.
type Invariant = fn(&Case<'_>) -> Result<(), TestCaseError>;

/// Every invariant on one plan; the first broken one fails the case.
fn check(w: &World, built: &Built, plan: &Plan, config: &Config) -> Result<(), TestCaseError> {
    let snapshot = &built.cluster.0;
    let c = Case {
        w,
        built,
        snapshot,
        plan,
        config,
        m: &config.maintenance,
        node_named: snapshot
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n))
            .collect(),
    };
    let invariants: [Invariant; 13] = [
        each_node_action_is_safe,
        evictions_stay_within_budgets,
        groups_stay_within_their_bounds,
        removals_stay_within_the_window_budget,
        replacements_are_of_instances_without_nodes,
        an_unhealthy_cluster_loses_and_buys_nothing,
        starting_nodes_are_used_before_buying,
        unreadable_pods_buy_nothing,
        nodes_receiving_pods_stay,
        nodes_are_kept_for_waiting_jobs,
        drains_leave_room_for_their_pods,
        gangs_start_whole,
        gated_pods_buy_nothing,
    ];
    for invariant in invariants {
        invariant(&c)?;
    }
    check_requests(snapshot, plan)
}

/// Each node's own action: 1 (a drain evicts only what may go; a live node is terminated empty, a dead one only with pods that come back), 4 (uncordon only what ekas cordoned), 12 and the opt-outs (left alone), protection, 6 (a Node deleted only when not Ready).
fn each_node_action_is_safe(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let m = c.m;
    let node_named = &c.node_named;
    for action in &plan.nodes {
        let node = node_named[action.name.as_str()];
        let dead = dead(node);
        match action.action {
            // 1. A drain evicts only what may go.
            NodeActionKind::Drain => {
                for pod in pods_on(snapshot, &node.name) {
                    prop_assert!(
                        must_stay(pod, m, true).is_none(),
                        "drains {} running {}: {:?}",
                        node.name,
                        pod.key(),
                        must_stay(pod, m, true)
                    );
                    if !stays_out_of_the_way(pod) {
                        prop_assert!(
                            budgets_of(pod, &snapshot.pdbs).len() <= 1,
                            "drains {} with {} under two budgets",
                            node.name,
                            pod.key()
                        );
                    }
                }
            }
            // 1. A live node is terminated only when nothing but DaemonSet and mirror pods
            // run there; a dead one may take only pods whose controller brings them back.
            NodeActionKind::Terminate if !dead => {
                for pod in pods_on(snapshot, &node.name) {
                    prop_assert!(
                        stays_out_of_the_way(pod),
                        "terminates live {} running {}",
                        node.name,
                        pod.key()
                    );
                }
            }
            NodeActionKind::Terminate => {
                for pod in pods_on(snapshot, &node.name) {
                    prop_assert!(
                        must_stay(pod, m, false).is_none(),
                        "terminates dead {} running {}: {:?}",
                        node.name,
                        pod.key(),
                        must_stay(pod, m, false)
                    );
                }
            }
            _ => {}
        }
        // 4. Uncordon only what ekas cordoned.
        if action.action == NodeActionKind::Uncordon {
            prop_assert!(node.marks.cordoned_by_ekas, "uncordons {}", node.name);
        }
        // Nodes left alone are left alone; 12. so is a Node that could not be read.
        if node.marks.detached || node.marks.scale_down_disabled || node.unreadable {
            prop_assert_eq!(
                action.action,
                NodeActionKind::None,
                "{} is left alone",
                &node.name
            );
        }
        if action.action.removes_capacity() {
            let id = node.instance_id.as_deref();
            let mem = id.and_then(|id| c.member(id));
            prop_assert!(mem.is_some(), "removes {}, in no group", node.name);
            if m.respect_scale_in_protection {
                prop_assert!(
                    !mem.unwrap().protected_from_scale_in,
                    "removes protected {}",
                    node.name
                );
            }
        }
        // 6. A Node is deleted only when its instance is gone and its kubelet silent.
        if action.action == NodeActionKind::DeleteNode {
            prop_assert!(!node.ready, "deletes Ready {}", node.name);
        }
    }
    Ok(())
}

/// Invariant 1: Evictions within every budget, counting all the pass's drains.
fn evictions_stay_within_budgets(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    for pdb in &snapshot.pdbs {
        let evictions = plan
            .nodes
            .iter()
            .filter(|a| a.action == NodeActionKind::Drain)
            .flat_map(|a| pods_on(snapshot, &a.name))
            .filter(|p| !stays_out_of_the_way(p))
            .filter(|p| {
                budgets_of(p, &snapshot.pdbs)
                    .iter()
                    .any(|b| b.name == pdb.name)
            })
            .count() as i32;
        prop_assert!(
            evictions <= pdb.disruptions_allowed.max(0),
            "{} evictions against {}",
            evictions,
            pdb.name
        );
    }
    Ok(())
}

/// Invariant 3: Within MinSize and MaxSize. A live node is terminated only if its group shrinks with
/// it: at MinSize the group would launch its replacement at once.
fn groups_stay_within_their_bounds(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let node_named = &c.node_named;
    let mut decrements: HashMap<&str, u32> = HashMap::new();
    for action in plan.nodes.iter().filter(|a| a.decrement) {
        prop_assert_eq!(action.action, NodeActionKind::Terminate);
        *decrements
            .entry(action.group.as_deref().unwrap())
            .or_default() += 1;
    }
    for action in plan
        .nodes
        .iter()
        .filter(|a| a.action == NodeActionKind::Terminate)
    {
        let node = node_named[action.name.as_str()];
        prop_assert!(
            dead(node) || action.decrement,
            "terminates live {} at its group's MinSize",
            node.name
        );
    }
    for group in &snapshot.groups {
        let down = decrements.get(group.name.as_str()).copied().unwrap_or(0);
        prop_assert!(
            group.desired - down >= group.min_size.min(group.desired),
            "{} below MinSize",
            group.name
        );
    }
    for up in &plan.scale_ups {
        let group = snapshot.groups.iter().find(|g| g.name == up.group).unwrap();
        prop_assert!(up.new_desired <= group.max_size);
    }
    Ok(())
}

/// Invariant 3: Removals — terminations, new drains and replacements — within the fraction per
/// window, less those the window has seen already: at least one a window unless the
/// fraction is zero.
fn removals_stay_within_the_window_budget(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let m = c.m;
    let node_named = &c.node_named;
    let managed = snapshot
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .filter(|mem| mem.is_live())
        .count();
    let per_window = if m.max_scale_in_fraction <= 0.0 || managed == 0 {
        0
    } else {
        ((managed as f64 * m.max_scale_in_fraction).floor() as usize).max(1)
    };
    let at = snapshot.captured_at;
    let seen = snapshot
        .recent_removals
        .iter()
        .filter(|&&t| t <= at && at - m.scale_in_window < t)
        .count();
    let allowed = per_window.saturating_sub(seen);
    // One node is one removal: its drain when ekas drained it, else its termination.
    let drained = |name: &str| {
        let n = node_named[name];
        n.marks.drain_started.is_some() || n.marks.drained_at.is_some()
    };
    let removals = plan
        .nodes
        .iter()
        .filter(|a| {
            (a.action == NodeActionKind::Terminate && !drained(&a.name))
                || (a.action == NodeActionKind::Drain && !c.resumed(&a.name))
        })
        .count()
        + c.replacements().len();
    prop_assert!(
        removals <= allowed,
        "{} removals, {} allowed",
        removals,
        allowed
    );
    Ok(())
}

/// Invariant 6: No replacement of an instance that is in truth a Node, nor one protected when
/// protection is respected.
fn replacements_are_of_instances_without_nodes(c: &Case<'_>) -> Result<(), TestCaseError> {
    let built = c.built;
    let m = c.m;
    for id in &c.replacements() {
        prop_assert!(
            !built.truly_joined.contains(*id),
            "replaces {}, which has a Node",
            id
        );
        if m.respect_scale_in_protection {
            prop_assert!(
                !c.member(id).unwrap().protected_from_scale_in,
                "replaces protected {}",
                id
            );
        }
    }
    Ok(())
}

/// Invariant 7: A cluster with too many nodes NotReady loses nothing: no termination, no new
/// drain, no cordon, no Node deleted, no instance replaced; and buys nothing.
fn an_unhealthy_cluster_loses_and_buys_nothing(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let m = c.m;
    if unhealthy(&snapshot.nodes, m) {
        for a in &plan.nodes {
            let removing = matches!(
                a.action,
                NodeActionKind::Terminate | NodeActionKind::Cordon | NodeActionKind::DeleteNode
            ) || (a.action == NodeActionKind::Drain && !c.resumed(&a.name));
            prop_assert!(
                !removing,
                "{} {} while unhealthy",
                a.action.as_str(),
                a.name
            );
        }
        prop_assert!(c.replacements().is_empty(), "replaces while unhealthy");
        prop_assert!(plan.scale_ups.is_empty(), "buys nodes while unhealthy");
        prop_assert!(!plan.cluster_health.healthy);
    }
    Ok(())
}

/// Invariant 9: No group grows while a node of it still starting stands unused: every pod fits an
/// empty node of its group, so each such node takes one before a new node is bought.
/// ProvisioningRequests' pods, which the plan does not show, may be the ones that take
/// it: each request counts as many as it has pods.
fn starting_nodes_are_used_before_buying(c: &Case<'_>) -> Result<(), TestCaseError> {
    let w = c.w;
    let snapshot = c.snapshot;
    let plan = c.plan;
    let requested: usize = snapshot
        .provisioning_requests
        .iter()
        .flat_map(|r| &r.pod_sets)
        .map(|s| s.count as usize)
        .sum();
    for up in &plan.scale_ups {
        let g = snapshot
            .groups
            .iter()
            .position(|g| g.name == up.group)
            .unwrap();
        let starting = snapshot
            .nodes
            .iter()
            .filter(|n| {
                n.instance_id.as_deref().is_some_and(|id| {
                    snapshot.groups[g]
                        .members
                        .iter()
                        .any(|m| m.instance_id == id)
                })
            })
            .filter(|n| still_starting(n, w.groups[g].gpu))
            .count();
        let onto_upcoming = plan
            .pending
            .iter()
            .filter(|p| p.destination == crate::plan::Destination::UpcomingNode)
            .filter(|p| p.target.as_deref() == Some(up.group.as_str()))
            .count();
        prop_assert!(
            onto_upcoming + requested >= starting,
            "{} grows with {} node(s) still starting and {} pod(s) sent their way",
            up.group,
            starting,
            onto_upcoming
        );
    }
    Ok(())
}

/// Invariant 12: A pod that could not be read buys no node and is sent nowhere.
fn unreadable_pods_buy_nothing(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let unreadable: HashSet<String> = snapshot
        .pods
        .iter()
        .filter(|p| p.unreadable)
        .map(|p| p.key())
        .collect();
    for up in &plan.scale_ups {
        for pod in &up.pods {
            prop_assert!(!unreadable.contains(pod), "scales up for unreadable {pod}");
        }
    }
    for p in &plan.pending {
        prop_assert!(!unreadable.contains(&p.pod), "plans unreadable {}", p.pod);
    }
    Ok(())
}

/// Invariant 10: A node the plan sends pending pods to is not cordoned or newly drained by it.
fn nodes_receiving_pods_stay(c: &Case<'_>) -> Result<(), TestCaseError> {
    let plan = c.plan;
    for p in plan
        .pending
        .iter()
        .filter(|p| p.destination == crate::plan::Destination::ExistingNode)
    {
        let target = p.target.as_deref().unwrap_or_default();
        let action = plan.nodes.iter().find(|a| a.name == target);
        prop_assert!(
            action.is_none_or(|a| {
                let new_drain = a.action == NodeActionKind::Drain && !c.resumed(&a.name);
                a.action != NodeActionKind::Cordon && !new_drain
            }),
            "sends {} to {}, which it takes away",
            p.pod,
            target
        );
    }
    Ok(())
}

/// Invariant 14: A node a Job's pod finished on, while that Job has a pod waiting — gated, or
/// pending and sent to no existing node by the plan — that would run there (requests within
/// what its DaemonSet and mirror pods leave, taints tolerated), is neither cordoned nor
/// terminated for idleness until it has been idle twice --idle-threshold.
fn nodes_are_kept_for_waiting_jobs(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let m = c.m;
    let node_named = &c.node_named;
    let sent: HashSet<&str> = plan
        .pending
        .iter()
        .filter(|p| p.destination == crate::plan::Destination::ExistingNode)
        .map(|p| p.pod.as_str())
        .collect();
    let job_of = |p: &Pod| {
        p.controller
            .as_ref()
            .filter(|o| o.kind == "Job" && !p.unreadable)
            .map(|o| (p.namespace.clone(), o.name.clone()))
    };
    // The idle threshold of each node's group, as the option sets it (`auto` derives one per
    // group; deriving it is not what this invariant checks).
    let membership = crate::engine::capacity::membership::Membership::new(snapshot);
    let rooms: Vec<_> = snapshot
        .groups
        .iter()
        .map(|g| crate::engine::new_node_room(snapshot, g))
        .collect();
    let thresholds = crate::engine::scale_in::idle_threshold::per_group(
        snapshot,
        m.idle_threshold,
        &membership.node_group,
        &rooms,
    );
    let node_index = snapshot.node_index();
    for a in plan
        .nodes
        .iter()
        .filter(|a| matches!(a.action, NodeActionKind::Cordon | NodeActionKind::Terminate))
    {
        let node = node_named[a.name.as_str()];
        let drained = node.marks.drain_started.is_some() || node.marks.drained_at.is_some();
        let Some(threshold) =
            membership.node_group[node_index[node.name.as_str()]].map(|g| thresholds[g].threshold)
        else {
            continue;
        };
        let held = node
            .marks
            .idle_since
            .is_none_or(|t| now().duration_since(t) < threshold.saturating_mul(2));
        if dead(node) || drained || !node.ready || !held {
            continue;
        }
        let mut room = node.allocatable.clone();
        for p in pods_on(snapshot, &node.name).filter(|p| !finished(p)) {
            room.sub(&p.requests);
        }
        let ran: HashSet<(String, String)> = pods_on(snapshot, &node.name)
            .filter(|p| finished(p))
            .filter_map(job_of)
            .collect();
        for p in &snapshot.pods {
            let waits = p.node_name.is_none()
                && p.phase == PodPhase::Pending
                && !p.deleting
                && (p.gated || !sent.contains(p.key().as_str()));
            if !waits || !job_of(p).is_some_and(|j| ran.contains(&j)) {
                continue;
            }
            let fits = p.requests.fits_in(&room)
                && node
                    .taints
                    .iter()
                    .all(|t| t.effect == TaintEffect::PreferNoSchedule || p.placement.tolerates(t));
            prop_assert!(
                !fits,
                "{} {} for idleness while {} of a Job that ran there waits and fits",
                a.action.as_str(),
                node.name,
                p.key()
            );
        }
    }
    Ok(())
}

/// Invariant 11: A new drain of a busy node leaves its pods room on the nodes that stay — Ready,
/// schedulable, done starting, not drained, terminated or cordoned this pass — after the
/// pending pods the plan sends there. Checked as two necessary conditions: each evicted
/// pod fits one such node on its own, and all of them fit the room of all such nodes.
fn drains_leave_room_for_their_pods(c: &Case<'_>) -> Result<(), TestCaseError> {
    let w = c.w;
    let snapshot = c.snapshot;
    let plan = c.plan;
    let node_named = &c.node_named;
    let evicted: Vec<&Pod> = plan
        .nodes
        .iter()
        .filter(|a| a.action == NodeActionKind::Drain && !c.resumed(&a.name))
        .flat_map(|a| pods_on(snapshot, &a.name))
        .filter(|p| !stays_out_of_the_way(p))
        .collect();
    if !evicted.is_empty() {
        let leaving: HashSet<&str> = plan
            .nodes
            .iter()
            .filter(|a| {
                matches!(
                    a.action,
                    NodeActionKind::Drain | NodeActionKind::Terminate | NodeActionKind::Cordon
                )
            })
            .map(|a| a.name.as_str())
            .collect();
        let group_gpu = |n: &Node| {
            n.instance_id.as_deref().is_some_and(|id| {
                snapshot.groups.iter().enumerate().any(|(g, group)| {
                    w.groups[g].gpu && group.members.iter().any(|m| m.instance_id == id)
                })
            })
        };
        let mut room: HashMap<&str, Resources> = snapshot
            .nodes
            .iter()
            .filter(|n| n.ready && !n.unschedulable && !leaving.contains(n.name.as_str()))
            .filter(|n| !still_starting(n, group_gpu(n)))
            .map(|n| {
                let mut free = n.allocatable.clone();
                for p in pods_on(snapshot, &n.name).filter(|p| !finished(p)) {
                    free.sub(&p.requests);
                }
                (n.name.as_str(), free)
            })
            .collect();
        let pod_by_key: HashMap<String, &Pod> =
            snapshot.pods.iter().map(|p| (p.key(), p)).collect();
        for p in plan
            .pending
            .iter()
            .filter(|p| p.destination == crate::plan::Destination::ExistingNode)
        {
            if let Some(free) = p.target.as_deref().and_then(|t| room.get_mut(t)) {
                free.sub(&pod_by_key[&p.pod].requests);
            }
        }
        let takes = |n: &Node, p: &Pod| {
            n.taints
                .iter()
                .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
                .all(|t| p.placement.tolerates(t))
        };
        let mut total_free = Resources::default();
        for free in room.values() {
            // An overcommitted node gives nothing back to the others.
            let mut usable = free.clone();
            usable.max_with(&Resources::default());
            total_free.add(&usable);
        }
        let mut total_evicted = Resources::default();
        for pod in &evicted {
            total_evicted = total_evicted.plus(&pod.requests);
            prop_assert!(
                room.iter()
                    .any(|(n, free)| pod.requests.fits_in(free) && takes(node_named[n], pod)),
                "drains {}, which fits on no node that stays",
                pod.key()
            );
        }
        prop_assert!(
            total_evicted.fits_in(&total_free),
            "drains pods asking {:?} with {:?} left on the nodes that stay",
            total_evicted,
            total_free
        );
    }
    Ok(())
}

/// A gang starts whole or buys nothing (unless --no-gangs): of its pods waiting for a node,
/// either none is planned anywhere, or at least as many as it needs (minMember less its
/// members already bound, at most all of them; without a PodGroup, all of them).
fn gangs_start_whole(c: &Case<'_>) -> Result<(), TestCaseError> {
    let w = c.w;
    let snapshot = c.snapshot;
    let plan = c.plan;
    let config = c.config;
    let waiting = |p: &Pod| {
        p.node_name.is_none()
            && p.phase == PodPhase::Pending
            && !p.deleting
            && !p.gated
            && !p.unreadable
            && p.controller.as_ref().is_none_or(|o| o.kind != "DaemonSet")
    };
    let planned: HashSet<&str> = plan
        .pending
        .iter()
        .filter(|p| {
            use crate::plan::Destination as D;
            matches!(
                p.destination,
                D::ExistingNode | D::UpcomingNode | D::NewNode | D::Nominated
            )
        })
        .map(|p| p.pod.as_str())
        .collect();
    let gangs = if config.scale_up.gangs { 2 } else { 0 };
    for (g, name) in ["ga", "gb"].into_iter().enumerate().take(gangs) {
        let members: Vec<&Pod> = snapshot
            .pods
            .iter()
            .filter(|p| p.gang.as_ref().is_some_and(|gang| gang.name == name))
            .collect();
        let pending: Vec<&Pod> = members.iter().copied().filter(|p| waiting(p)).collect();
        let bound = members
            .iter()
            .filter(|p| p.node_name.is_some() && !finished(p))
            .count();
        let needed = match w.gang_min[g] {
            Some(min) => (min as usize).saturating_sub(bound).min(pending.len()),
            None => pending.len(),
        };
        let placed = pending
            .iter()
            .filter(|p| planned.contains(p.key().as_str()))
            .count();
        prop_assert!(
            placed == 0 || placed >= needed,
            "gang {name}: {placed} of {} pending pods planned, {needed} needed",
            pending.len()
        );
    }
    Ok(())
}

/// Gated pods buy nothing.
fn gated_pods_buy_nothing(c: &Case<'_>) -> Result<(), TestCaseError> {
    let snapshot = c.snapshot;
    let plan = c.plan;
    let gated: HashSet<String> = snapshot
        .pods
        .iter()
        .filter(|p| p.gated)
        .map(|p| p.key())
        .collect();
    for up in &plan.scale_ups {
        prop_assert!(
            up.pods.iter().all(|p| !gated.contains(p)),
            "{} grows for a gated pod",
            up.group
        );
    }
    Ok(())
}

/// How many pods like `pod` fit in `room`, counting to `most` at most.
fn copies(pod: &Pod, room: &Resources, most: u32) -> u32 {
    let mut left = room.clone();
    let mut n = 0;
    while n < most && pod.requests.fits_in(&left) {
        left.sub(&pod.requests);
        n += 1;
    }
    n
}

/// Pods on `node` that hold room: all but the finished.
fn holding_room<'a>(
    snapshot: &'a crate::model::Snapshot,
    node: &'a str,
) -> impl Iterator<Item = &'a Pod> {
    pods_on(snapshot, node).filter(|p| !finished(p))
}

/// Invariant 13: ProvisioningRequests, restated from cluster-autoscaler's rules for its two classes.
fn check_requests(snapshot: &crate::model::Snapshot, plan: &Plan) -> Result<(), TestCaseError> {
    use crate::plan::RequestVerdict as V;
    // The booking ekas keeps provisioned room for (`--provisioning-request-booking`'s default).
    const BOOKING: SignedDuration = SignedDuration::from_mins(10);
    let is_true = |r: &ProvisioningRequest, kind: &str| {
        r.conditions.iter().any(|c| c.kind == kind && c.status)
    };
    let any_gpu_group = snapshot
        .groups
        .iter()
        .any(|g| g.template.allocatable.get(GPU) > 0);

    for r in &snapshot.provisioning_requests {
        let key = r.key();
        let status = plan.provisioning_requests.iter().find(|s| s.request == key);
        prop_assert!(status.is_some(), "{key} gets no answer");
        let status = status.unwrap();
        let listed: Vec<&str> = plan
            .scale_ups
            .iter()
            .filter(|u| u.provisioning_requests.contains(&key))
            .map(|u| u.group.as_str())
            .collect();
        let total: u32 = r.pod_sets.iter().map(|s| s.count).sum();
        let pod = r.pod_sets[0].pod.as_ref().unwrap();

        // 13a. A check-capacity request only looks: no group grows for it.
        if r.class == ProvisioningClass::CheckCapacity {
            prop_assert!(listed.is_empty(), "{key} (check-capacity) grows {listed:?}");
        }

        // 13b. A best-effort-atomic request is served whole or buys nothing.
        if r.class == ProvisioningClass::BestEffortAtomic {
            if !listed.is_empty() {
                prop_assert_eq!(
                    status.verdict,
                    V::ScaleUp,
                    "{} grows {:?}: {}",
                    &key,
                    &listed,
                    &status.reason
                );
                prop_assert!(
                    status.set.iter().any(|c| c.kind == "Provisioned"
                        && c.status == "True"
                        && c.reason == "CapacityIsProvisioned"),
                    "{key} grows {listed:?} without Provisioned=True: {:?}",
                    status.set
                );
            }
            if matches!(status.verdict, V::NotFound | V::Failed) {
                prop_assert!(
                    listed.is_empty(),
                    "{key} is {:?} yet grows {listed:?}",
                    status.verdict
                );
            }
        }
        // 13b, whole (either class: an asking request's pods are one gang): a request said to
        // have its room has no more pods than every place that could take one holds — free
        // room on nodes that may take pods, and each group's nodes to come (up to desired;
        // for best-effort-atomic, up to MaxSize) with a new node's room. A loose upper bound:
        // a request served in part shows only when it is well short.
        if matches!(status.verdict, V::CapacityFound | V::ScaleUp) {
            let mut room = 0u32;
            for n in &snapshot.nodes {
                if !n.ready || (n.unschedulable && !n.marks.cordoned_by_ekas) {
                    continue;
                }
                let mut free = n.allocatable.clone();
                for p in holding_room(snapshot, &n.name) {
                    free.sub(&p.requests);
                }
                room += copies(pod, &free, total);
            }
            for g in &snapshot.groups {
                let nodes = match r.class {
                    ProvisioningClass::BestEffortAtomic => g.max_size,
                    _ => g.desired,
                }
                .max(g.members.len() as u32);
                room += nodes * copies(pod, &g.template.allocatable, total);
            }
            prop_assert!(
                total <= room,
                "{key} is {:?} for {total} pods with room for {room} at most",
                status.verdict
            );
        }

        // 13d. Accepted=True is set once, never again; a finished request is left alone.
        let accepted = status.set.iter().filter(|c| c.kind == "Accepted").count();
        prop_assert!(accepted <= 1, "{key}: Accepted set {accepted} times");
        if is_true(r, "Accepted") {
            prop_assert_eq!(accepted, 0, "{} accepted again", &key);
        }
        if is_true(r, "Failed") || is_true(r, "BookingExpired") {
            prop_assert!(
                status.set.is_empty(),
                "finished {key} gets {:?}",
                status.set
            );
            prop_assert!(listed.is_empty(), "finished {key} grows {listed:?}");
        }

        // 13c (last: it skips to the next request). Booked room is not taken away. The pods
        // still to come of a request provisioned within the booking are placed before any
        // other pod, on room there is: schedulable nodes first. So when some node surely
        // takes one (Ready, schedulable, untainted, started, readable, with the free room),
        // one lands on a node that might take it (Ready, schedulable, its allocatable big
        // enough) — whichever the planner picks, and whatever other booked pods took first —
        // and that node holds booked room. Not every such node is cordoned, drained or
        // terminated, then.
        let ours = matches!(
            r.class,
            ProvisioningClass::CheckCapacity | ProvisioningClass::BestEffortAtomic
        );
        let provisioned = r
            .conditions
            .iter()
            .find(|c| c.kind == "Provisioned" && c.status);
        let arrived = snapshot
            .pods
            .iter()
            .filter(|p| p.namespace == r.namespace && p.consumes.as_deref() == Some(&r.name))
            .count() as u32;
        let booked = ours
            && !is_true(r, "Failed")
            && !is_true(r, "BookingExpired")
            && provisioned.is_some_and(|c| now() < c.last_transition + BOOKING)
            && arrived < total;
        if !booked {
            continue;
        }
        let might_take =
            |n: &Node| n.ready && !n.unschedulable && pod.requests.fits_in(&n.allocatable);
        let surely_takes = |n: &Node| {
            let young = n
                .created
                .is_none_or(|c| now().duration_since(c) < PROVISION);
            let mut free = n.allocatable.clone();
            for p in holding_room(snapshot, &n.name) {
                free.sub(&p.requests);
            }
            might_take(n)
                && !n.unreadable
                && n.taints.is_empty()
                && !(young && any_gpu_group && n.allocatable.get(GPU) <= 0)
                && pods_on(snapshot, &n.name).all(|p| !p.unreadable)
                && pod.requests.fits_in(&free)
        };
        if !snapshot.nodes.iter().any(surely_takes) {
            continue;
        }
        let taken_away = |n: &Node| {
            plan.nodes.iter().find(|a| a.name == n.name).filter(|a| {
                matches!(
                    a.action,
                    NodeActionKind::Cordon | NodeActionKind::Drain | NodeActionKind::Terminate
                )
            })
        };
        let holders: Vec<&Node> = snapshot.nodes.iter().filter(|n| might_take(n)).collect();
        prop_assert!(
            !holders.iter().all(|n| taken_away(n).is_some()),
            "room booked for {key} is on one of {:?}, yet all are taken away",
            holders
                .iter()
                .filter_map(|n| taken_away(n))
                .map(|a| format!("{}: {} ({})", a.name, a.action.as_str(), a.reason))
                .collect::<Vec<_>>()
        );
    }

    // 13e. The pods a request lends the planner never show as pods.
    let real: HashSet<String> = snapshot.pods.iter().map(|p| p.key()).collect();
    for p in &plan.pending {
        prop_assert!(
            real.contains(&p.pod),
            "plans {}, no pod of the snapshot",
            p.pod
        );
    }
    for u in &plan.unschedulable {
        prop_assert!(
            real.contains(&u.pod),
            "{} unschedulable, no pod of it",
            u.pod
        );
    }
    for up in &plan.scale_ups {
        for p in &up.pods {
            prop_assert!(real.contains(p), "{} grows for {p}, no pod of it", up.group);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_safety_invariants(w in world(), config in config()) {
        let built = build(&w);
        let plan = crate::engine::plan(&built.cluster.0, &config);
        check(&w, &built, &plan, &config)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_safety_invariants_of_booked_room(w in booked_world(), config in config()) {
        let built = build(&w);
        let plan = crate::engine::plan(&built.cluster.0, &config);
        check(&w, &built, &plan, &config)?;
    }
}

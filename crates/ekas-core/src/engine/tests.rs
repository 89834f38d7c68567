//! Planner cases small enough to check by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::engine::{Config, plan};
use crate::model::group::GroupMember;
use crate::model::resources::{CPU, MEMORY, PODS};
use crate::model::scheduling::{
    HOSTNAME_LABEL, LabelSelector, Labels, NamespaceScope, Placement, PodAffinityTerm, Taint,
    TaintEffect, Toleration, TolerationOperator,
};
use crate::model::*;
use crate::plan::{Destination, Plan};

pub(super) const GI: i64 = 1 << 30;

pub(super) fn now() -> Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

pub(super) fn res(cpu_millis: i64, mem_gi: i64) -> Resources {
    let mut r = Resources::default();
    r.set(CPU, cpu_millis);
    r.set(MEMORY, mem_gi * GI);
    r
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) struct Cluster(pub(super) Snapshot);

impl Cluster {
    pub(super) fn new(regions: &[&str]) -> Cluster {
        Cluster(Snapshot {
            captured_at: now(),
            cluster_name: "test".into(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            pods: vec![],
            nodes: vec![],
            groups: vec![],
            instances: vec![],
            daemonsets: vec![],
            pdbs: vec![],
            activities: vec![],
            provisioning_requests: vec![],
            left_out: Default::default(),
            recent_removals: vec![],
            stale_view: None,
        })
    }

    /// A group whose new nodes offer `cpu` millicores and `mem` GiB (and 110 pods).
    pub(super) fn group(
        &mut self,
        name: &str,
        region: &str,
        desired: u32,
        max: u32,
        cpu: i64,
        mem: i64,
    ) -> &mut NodeGroup {
        let mut allocatable = res(cpu, mem);
        allocatable.set(PODS, 110);
        self.0.groups.push(NodeGroup {
            name: name.into(),
            region: region.into(),
            min_size: 0,
            max_size: max,
            desired,
            instance_type: "m5.test".into(),
            instance_type_note: None,
            priority: 0,
            price: None,
            zones: vec![],
            members: vec![],
            template: NodeTemplate {
                labels: labels(&[("pool", name)]),
                taints: vec![],
                allocatable,
                source: TemplateSource::InstanceType,
            },
            new_instances_protected: None,
            unlaunched_since: None,
            capacity: Default::default(),
            recent_interruptions: 0,
        });
        self.0.groups.last_mut().unwrap()
    }

    /// A ready node of `group` (registered as one of its instances).
    pub(super) fn node(
        &mut self,
        name: &str,
        group: Option<&str>,
        cpu: i64,
        mem: i64,
    ) -> &mut Node {
        let id = format!("i-{name}");
        if let Some(group) = group {
            let g = self.0.groups.iter_mut().find(|g| g.name == group).unwrap();
            g.members.push(GroupMember {
                instance_id: id.clone(),
                lifecycle_state: "InService".into(),
                protected_from_scale_in: false,
            });
        }
        let mut allocatable = res(cpu, mem);
        allocatable.set(PODS, 110);
        self.0.nodes.push(Node {
            name: name.into(),
            provider_id: Some(format!("aws:///us-west-2a/{id}")),
            instance_id: Some(id),
            matched_by: Some(MatchedBy::ProviderId),
            addresses: NodeAddresses::default(),
            aws_id_label: None,
            labels: labels(&[("pool", group.unwrap_or("none")), (HOSTNAME_LABEL, name)]),
            taints: vec![],
            allocatable,
            ready: true,
            unschedulable: false,
            created: None,
            ready_changed: None,
            marks: NodeMarks::default(),
            unreadable: false,
        });
        self.0.nodes.last_mut().unwrap()
    }

    pub(super) fn pod(&mut self, name: &str, cpu: i64, mem: i64) -> &mut Pod {
        self.pod_with(name, cpu, mem, Placement::default())
    }

    pub(super) fn pod_with(
        &mut self,
        name: &str,
        cpu: i64,
        mem: i64,
        placement: Placement,
    ) -> &mut Pod {
        let mut requests = res(cpu, mem);
        requests.set(PODS, 1);
        self.0.pods.push(Pod {
            namespace: "batch".into(),
            name: name.into(),
            node_name: None,
            phase: PodPhase::Pending,
            deleting: false,
            requests,
            labels: labels(&[("job", "j")]).into(),
            placement: Arc::new(placement),
            controller: Some(Owner {
                kind: "Job".into(),
                name: "j".into(),
            }),
            mirror: false,
            created: None,
            do_not_evict: false,
            local_storage: false,
            host_path: false,
            gated: false,
            runs_to_completion: false,
            scheduling: Default::default(),
            unreadable: false,
            gang: None,
            consumes: None,
            uid: None,
            requested_by: None,
        });
        self.0.pods.last_mut().unwrap()
    }

    pub(super) fn pods(&mut self, prefix: &str, count: usize, cpu: i64, mem: i64) {
        for i in 0..count {
            self.pod(&format!("{prefix}-{i:03}"), cpu, mem);
        }
    }

    pub(super) fn running(&mut self, name: &str, node: &str, cpu: i64, mem: i64) {
        let pod = self.pod(name, cpu, mem);
        pod.node_name = Some(node.into());
        pod.phase = PodPhase::Running;
    }

    pub(super) fn failed_launch(&mut self, group: &str, region: &str, minutes_ago: i64) {
        self.0.activities.push(ScalingActivity {
            region: region.into(),
            group: group.into(),
            status_code: "Failed".into(),
            status_message: "We currently do not have sufficient m5.test capacity in the Availability Zone you requested.".into(),
            description: "Launching a new EC2 instance.  Status Reason: capacity".into(),
            cause: String::new(),
            start_time: now() - SignedDuration::from_mins(minutes_ago),
            end_time: None,
        });
    }

    pub(super) fn plan(&self) -> Plan {
        plan(&self.0, &Config::default())
    }

    pub(super) fn plan_with(&self, config: Config) -> Plan {
        plan(&self.0, &config)
    }
}

/// (group, current → new desired, pods) of every scale-up.
pub(super) fn scale_ups(plan: &Plan) -> Vec<(String, u32, u32, usize)> {
    plan.scale_ups
        .iter()
        .map(|s| {
            (
                s.group.clone(),
                s.current_desired,
                s.new_desired,
                s.pods.len(),
            )
        })
        .collect()
}

pub(super) fn destinations(plan: &Plan) -> BTreeMap<String, (Destination, Option<String>)> {
    plan.pending
        .iter()
        .map(|p| (p.pod.clone(), (p.destination, p.target.clone())))
        .collect()
}

#[test]
fn identical_pods_pack_by_count() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 4000, 16);
    c.pods("p", 10, 1000, 1);
    let plan = c.plan();
    // Four 1-cpu pods per 4-cpu node: 10 pods need 3 nodes.
    assert_eq!(scale_ups(&plan), [("cpu".into(), 0, 3, 10)]);
    assert_eq!(plan.summary.on_new_nodes, 10);
    assert_eq!(plan.summary.new_nodes, 3);
}

#[test]
fn first_fit_decreasing_packs_mixed_sizes_tightly() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 10_000, 100);
    for (i, cpu) in [2, 6, 3, 4, 2, 6, 4, 3].into_iter().enumerate() {
        c.pod(&format!("p{i}"), cpu * 1000, 1);
    }
    // Decreasing: 6,6,4,4,3,3,2,2 → [6,4] [6,4] [3,3,2,2]: 30 cpu on exactly 3 nodes.
    assert_eq!(scale_ups(&c.plan()), [("cpu".into(), 0, 3, 8)]);
}

#[test]
fn pods_are_sized_in_cpu_and_memory_together() {
    let mut c = Cluster::new(&["r1"]);
    c.group("m", "r1", 0, 10, 4000, 16);
    c.pods("cpu-heavy", 4, 2000, 1);
    c.pods("mem-heavy", 4, 1500, 10);
    // By cpu alone, the 2-cpu pods go first, two to a node (2 nodes, 14 GiB left on each),
    // then the 10 GiB pods one to a node: 6 nodes. Sized as shares of a 4-cpu, 16 GiB node
    // (2/4 + 1/16 = 0.56 against 1.5/4 + 10/16 = 1.0), the 10 GiB pods go first, one to a
    // node, and each leaves 2.5 cpu and 6 GiB for a 2-cpu pod: 4 nodes.
    assert_eq!(scale_ups(&c.plan()), [("m".into(), 0, 4, 8)]);
}

#[test]
fn memory_can_be_the_binding_resource() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 16_000, 8);
    c.pods("p", 6, 500, 3);
    // Two 3Gi pods per 8Gi node, though cpu would allow 32.
    assert_eq!(scale_ups(&c.plan()), [("cpu".into(), 0, 3, 6)]);
}

#[test]
fn free_room_on_existing_nodes_is_used_first() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 1, 10, 4000, 16);
    c.node("n1", Some("cpu"), 4000, 16);
    c.running("busy", "n1", 2000, 2);
    c.pods("p", 3, 1000, 1);
    let plan = c.plan();
    let d = destinations(&plan);
    assert_eq!(
        d["batch/p-000"],
        (Destination::ExistingNode, Some("n1".into()))
    );
    assert_eq!(
        d["batch/p-001"],
        (Destination::ExistingNode, Some("n1".into()))
    );
    assert_eq!(d["batch/p-002"], (Destination::NewNode, Some("cpu".into())));
    assert_eq!(scale_ups(&plan), [("cpu".into(), 1, 2, 1)]);
}

#[test]
fn finished_pods_free_their_room_and_cordoned_or_unready_nodes_take_nothing() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 3, 10, 4000, 16);
    c.node("done", Some("cpu"), 4000, 16);
    c.running("finished", "done", 4000, 2);
    c.0.pods.last_mut().unwrap().phase = PodPhase::Succeeded;
    c.node("cordoned", Some("cpu"), 4000, 16).unschedulable = true;
    c.node("unready", Some("cpu"), 4000, 16).ready = false;
    c.pods("p", 2, 4000, 1);
    let d = destinations(&c.plan());
    assert_eq!(
        d["batch/p-000"],
        (Destination::ExistingNode, Some("done".into()))
    );
    assert_eq!(d["batch/p-001"].0, Destination::NewNode);
}

#[test]
fn capacity_already_requested_is_used_before_new_nodes() {
    let mut c = Cluster::new(&["r1"]);
    // Desired 3, one node joined: two nodes are on their way.
    c.group("cpu", "r1", 3, 10, 4000, 16);
    c.node("n1", Some("cpu"), 4000, 0);
    c.pods("p", 3, 4000, 1);
    let plan = c.plan();
    assert_eq!(plan.summary.on_upcoming_nodes, 2);
    assert_eq!(scale_ups(&plan), [("cpu".into(), 3, 4, 1)]);
    assert_eq!(plan.groups[0].upcoming, 2);
}

#[test]
fn never_above_max_size() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 2, 4, 4000, 16);
    c.pods("p", 10, 3000, 1);
    let plan = c.plan();
    // Two upcoming (desired 2, none joined) + two new: 4 pods placed, 6 left.
    assert_eq!(scale_ups(&plan), [("cpu".into(), 2, 4, 2)]);
    assert_eq!(plan.summary.on_upcoming_nodes, 2);
    assert_eq!(plan.unschedulable.len(), 6);
    assert_eq!(
        plan.unschedulable[0].reasons["cpu"],
        "group reaches MaxSize (4) in this plan"
    );
}

#[test]
fn group_at_max_size_says_so() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 1, 1, 4000, 16);
    c.node("n1", Some("cpu"), 4000, 16);
    c.running("busy", "n1", 4000, 1);
    c.pod("p", 1000, 1);
    let plan = c.plan();
    assert!(plan.scale_ups.is_empty());
    assert_eq!(plan.unschedulable[0].reasons["cpu"], "group at MaxSize (1)");
}

#[test]
fn overflow_to_the_next_region_when_the_first_is_full() {
    let mut c = Cluster::new(&["us-west-2", "us-east-1"]);
    c.group("west", "us-west-2", 0, 2, 4000, 16);
    c.group("east", "us-east-1", 0, 10, 4000, 16);
    c.pods("p", 5, 4000, 1);
    assert_eq!(
        scale_ups(&c.plan()),
        [("west".into(), 0, 2, 2), ("east".into(), 0, 3, 3)]
    );
}

#[test]
fn region_order_comes_before_priority_and_waste() {
    let mut c = Cluster::new(&["us-east-1", "us-west-2"]);
    // The west group packs perfectly and has higher priority, but east is the first region.
    c.group("west", "us-west-2", 0, 10, 4000, 4).priority = 100;
    c.group("east", "us-east-1", 0, 10, 8000, 64);
    c.pods("p", 4, 4000, 4);
    assert_eq!(scale_ups(&c.plan()), [("east".into(), 0, 2, 4)]);
}

#[test]
fn backoff_skips_a_group_and_its_pods_overflow() {
    let mut c = Cluster::new(&["us-west-2", "us-east-1"]);
    c.group("west", "us-west-2", 1, 10, 4000, 16);
    c.group("east", "us-east-1", 0, 10, 4000, 16);
    c.failed_launch("west", "us-west-2", 2);
    c.pods("p", 3, 4000, 1);
    let plan = c.plan();
    // The west group's desired 1 never launched, so it is not counted as coming either.
    assert_eq!(scale_ups(&plan), [("east".into(), 0, 3, 3)]);
    assert_eq!(plan.backoff.len(), 1);
    assert_eq!(plan.backoff[0].group, "west");
    assert_eq!(plan.backoff[0].until, now() + SignedDuration::from_mins(3));
    assert_eq!(
        plan.groups
            .iter()
            .find(|g| g.group == "west")
            .unwrap()
            .upcoming,
        0
    );

    // With the east group full, the reason names the backoff.
    c.0.groups[1].max_size = 0;
    let plan = c.plan();
    let reason = &plan.unschedulable[0].reasons["west"];
    assert!(
        reason.starts_with("in backoff until 2026-11-27T12:03:00Z"),
        "{reason}"
    );
    assert!(reason.contains("insufficient capacity"), "{reason}");

    // An old failure no longer counts.
    c.0.activities.clear();
    c.failed_launch("west", "us-west-2", 30);
    c.0.groups[1].max_size = 10;
    assert_eq!(scale_ups(&c.plan())[0].0, "west");
}

#[test]
fn over_provision_adds_spares_within_max_size() {
    let mut c = Cluster::new(&["r1"]);
    // a is preferred, so the pods that fit anywhere go there and b keeps its room for its own.
    c.group("a", "r1", 0, 10, 4000, 16).priority = 1;
    c.group("b", "r1", 0, 3, 4000, 16);
    c.pods("p", 2, 4000, 1);
    c.pod_with(
        "q",
        4000,
        1,
        Placement {
            node_selector: labels(&[("pool", "b")]),
            ..Default::default()
        },
    );
    c.pod_with(
        "r",
        4000,
        1,
        Placement {
            node_selector: labels(&[("pool", "b")]),
            ..Default::default()
        },
    );
    let plan = c.plan_with(Config {
        over_provision: 2,
        ..Config::default()
    });
    assert_eq!(
        scale_ups(&plan),
        [("a".into(), 0, 4, 2), ("b".into(), 0, 3, 2)],
        "a: 2 for pods + 2 spare; b: 2 for pods + 1 spare, capped at MaxSize 3"
    );
    assert_eq!(plan.scale_ups[0].over_provision, 2);
    assert_eq!(plan.scale_ups[1].over_provision, 1);
    assert_eq!(plan.summary.new_nodes, 7);
    // No pending pods: no spares.
    let mut idle = Cluster::new(&["r1"]);
    idle.group("a", "r1", 0, 10, 4000, 16);
    assert!(
        idle.plan_with(Config {
            over_provision: 2,
            ..Config::default()
        })
        .scale_ups
        .is_empty()
    );
}

#[test]
fn priority_then_least_waste_within_a_region() {
    let mut c = Cluster::new(&["r1"]);
    c.group("big", "r1", 0, 10, 16_000, 64);
    c.group("small", "r1", 0, 10, 6000, 24);
    for g in &mut c.0.groups {
        g.template.labels.clear();
    }
    c.pods("p", 4, 4000, 16);
    // big: one node, full; small: four nodes, a third empty.
    assert_eq!(scale_ups(&c.plan()), [("big".into(), 0, 1, 4)]);
    c.0.groups[1].priority = 1;
    assert_eq!(scale_ups(&c.plan()), [("small".into(), 0, 4, 4)]);
}

#[test]
fn daemonset_pods_take_room_on_new_nodes_where_they_would_run() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 4000, 16);
    let mut ds_requests = res(1000, 1);
    ds_requests.set(PODS, 1);
    c.0.daemonsets.push(DaemonSet {
        namespace: "monitoring".into(),
        name: "exporter".into(),
        requests: ds_requests.clone(),
        placement: Arc::new(Placement::default()),
    });
    c.0.daemonsets.push(DaemonSet {
        namespace: "kube-system".into(),
        name: "gpu-plugin".into(),
        requests: ds_requests,
        placement: Arc::new(Placement {
            node_selector: labels(&[("accelerator", "nvidia")]),
            ..Default::default()
        }),
    });
    c.pods("p", 4, 1500, 1);
    // 3 cpu left after the exporter: two 1.5-cpu pods per node; the GPU plugin does not run here.
    let plan = c.plan();
    assert_eq!(scale_ups(&plan), [("cpu".into(), 0, 2, 4)]);
    assert_eq!(plan.groups[0].new_node_room["cpu"], "3");
}

#[test]
fn taints_selectors_and_resources_explain_refusals() {
    let mut c = Cluster::new(&["r1"]);
    c.group("gpu", "r1", 0, 10, 8000, 60).template.taints = vec![Taint {
        key: "nvidia.com/gpu".into(),
        value: "true".into(),
        effect: TaintEffect::NoSchedule,
    }];
    c.0.groups[0].template.allocatable.set("nvidia.com/gpu", 1);
    c.group("cpu", "r1", 0, 10, 16_000, 60);
    c.pod("plain", 1000, 1);
    c.pod("huge", 100_000, 1);
    let gpu_placement = Placement {
        tolerations: vec![Toleration {
            key: "nvidia.com/gpu".into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: None,
        }],
        ..Default::default()
    };
    let gpu_pod = c.pod_with("train", 4000, 10, gpu_placement.clone());
    gpu_pod.requests.set("nvidia.com/gpu", 2);
    c.pod_with(
        "pool-x",
        1000,
        1,
        Placement {
            node_selector: labels(&[("pool", "x")]),
            ..Default::default()
        },
    );
    let plan = c.plan();
    assert_eq!(scale_ups(&plan), [("cpu".into(), 0, 1, 1)]);
    let reasons: BTreeMap<&str, &BTreeMap<String, String>> = plan
        .unschedulable
        .iter()
        .map(|u| (u.pod.as_str(), &u.reasons))
        .collect();
    assert_eq!(
        reasons["batch/huge"]["cpu"],
        "needs 100 cpu, m5.test offers 16"
    );
    assert_eq!(
        reasons["batch/huge"]["gpu"],
        "taint nvidia.com/gpu=true:NoSchedule not tolerated"
    );
    assert_eq!(
        reasons["batch/train"]["gpu"],
        "needs 2 nvidia.com/gpu, m5.test offers 1"
    );
    assert_eq!(
        reasons["batch/train"]["cpu"],
        "needs 2 nvidia.com/gpu, m5.test offers 0"
    );
    assert_eq!(
        reasons["batch/pool-x"]["cpu"],
        "nodeSelector pool=x not matched (node has pool=cpu)"
    );
    assert_eq!(plan.summary.unschedulable, 3);
    assert_eq!(plan.summary.pending_pods, 4);

    // PreferNoSchedule never blocks.
    c.0.groups[0].template.taints[0].effect = TaintEffect::PreferNoSchedule;
    c.0.groups[1].max_size = 0;
    let plan = c.plan();
    assert!(destinations(&plan)["batch/plain"].1.as_deref() == Some("gpu"));
}

#[test]
fn hostname_anti_affinity_spreads_pods_over_nodes() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 16_000, 64);
    let spread = Placement {
        anti_affinity: vec![PodAffinityTerm {
            selector: Some(LabelSelector {
                match_labels: labels(&[("job", "j")]),
                expressions: vec![],
            }),
            namespaces: NamespaceScope {
                names: vec!["batch".into()],
                all: false,
            },
            topology_key: HOSTNAME_LABEL.into(),
        }],
        ..Default::default()
    };
    for i in 0..3 {
        c.pod_with(&format!("spread-{i}"), 1000, 1, spread.clone());
    }
    assert_eq!(scale_ups(&c.plan()), [("cpu".into(), 0, 3, 3)]);

    // A resident pod's anti-affinity keeps newcomers off its node, too.
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 1, 10, 16_000, 64);
    c.node("n1", Some("cpu"), 16_000, 64);
    c.running("guard", "n1", 1000, 1);
    c.0.pods[0].placement = Arc::new(spread);
    c.pod("newcomer", 1000, 1);
    assert_eq!(
        destinations(&c.plan())["batch/newcomer"].0,
        Destination::NewNode
    );
}

#[test]
fn only_waiting_pods_are_pending() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 4000, 16);
    c.pod("deleting", 1000, 1).deleting = true;
    c.pod("ds", 1000, 1).controller = Some(Owner {
        kind: "DaemonSet".into(),
        name: "d".into(),
    });
    c.pod("done", 1000, 1).phase = PodPhase::Failed;
    c.pod("bound", 1000, 1).node_name = Some("elsewhere".into());
    let plan = c.plan();
    assert_eq!(plan.summary.pending_pods, 0);
    assert!(plan.scale_ups.is_empty());
}

#[test]
fn plans_are_deterministic() {
    let mut c = Cluster::new(&["r1", "r2"]);
    c.group("a", "r1", 0, 5, 4000, 16);
    c.group("b", "r2", 0, 50, 8000, 32);
    for i in 0..60 {
        c.pod(&format!("p{i}"), 500 + (i % 7) * 300, 1 + i % 3);
    }
    let one = serde_json::to_string(&c.plan()).unwrap();
    c.0.pods.reverse();
    let two = serde_json::to_string(&c.plan()).unwrap();
    assert_eq!(
        one, two,
        "pod order in the snapshot does not change the plan"
    );
}

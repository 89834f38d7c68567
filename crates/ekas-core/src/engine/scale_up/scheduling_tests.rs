//! Planner cases for constraints between pods, volumes and zones, priority and balance, each
//! small enough to check by hand.

use std::sync::Arc;

use jiff::SignedDuration;

use crate::engine::Config;
use crate::engine::scale_up::ScaleUpPolicy;
use crate::engine::tests::{Cluster, destinations, labels, now, scale_ups};
use crate::model::resources::CPU;
use crate::model::scheduling::{
    HOSTNAME_LABEL, HostPort, InclusionPolicy, LabelSelector, NamespaceScope, NodeSelectorTerm,
    Operator, Placement, PodAffinityTerm, Requirement, SpreadConstraint, VolumePlacement,
    VolumeRequirement, VolumeRule, ZONE_LABEL,
};
use crate::model::{DaemonSet, Resources};
use crate::plan::{Destination, Plan};

const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];

fn app(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: labels(&[("app", name)]),
        expressions: vec![],
    }
}

fn term(selector: LabelSelector, key: &str) -> PodAffinityTerm {
    PodAffinityTerm {
        selector: Some(selector),
        namespaces: NamespaceScope {
            names: vec!["batch".into()],
            all: false,
        },
        topology_key: key.into(),
    }
}

fn spread(name: &str, key: &str, max_skew: u32) -> SpreadConstraint {
    SpreadConstraint {
        max_skew,
        topology_key: key.into(),
        selector: Some(app(name)),
        min_domains: 1,
        node_affinity_policy: InclusionPolicy::Honor,
        node_taints_policy: InclusionPolicy::Ignore,
    }
}

/// Three single-zone groups `a`, `b`, `c` (4 cpu, 16 GiB a node), one per zone of us-west-2.
fn three_zones() -> Cluster {
    let mut c = Cluster::new(&["us-west-2"]);
    for (name, zone) in ["a", "b", "c"].into_iter().zip(ZONES) {
        let g = c.group(name, "us-west-2", 0, 10, 4000, 16);
        g.zones = vec![zone.into()];
        g.template.labels.insert(ZONE_LABEL.into(), zone.into());
        g.template.labels.insert("pool".into(), "web".into());
    }
    c
}

/// A ready node of `group` in `zone`.
fn zonal_node(c: &mut Cluster, name: &str, group: &str, zone: &str, cpu: i64) {
    let node = c.node(name, Some(group), cpu, 16);
    node.labels.insert(ZONE_LABEL.into(), zone.into());
}

fn pod_with(c: &mut Cluster, name: &str, cpu: i64, app_label: &str, placement: &Arc<Placement>) {
    let pod = c.pod(name, cpu, 1);
    pod.labels = labels(&[("app", app_label)]).into();
    pod.placement = placement.clone();
}

fn reason(plan: &Plan, pod: &str, group: &str) -> String {
    let u = plan
        .unschedulable
        .iter()
        .find(|u| u.pod == pod)
        .unwrap_or_else(|| panic!("{pod} is not unschedulable"));
    u.reasons[group].clone()
}

#[test]
fn a_three_zone_spread_opens_one_node_per_zone() {
    let mut c = three_zones();
    let p = Arc::new(Placement {
        spread: vec![spread("web", ZONE_LABEL, 1)],
        ..Default::default()
    });
    for i in 0..3 {
        pod_with(&mut c, &format!("web-{i}"), 1000, "web", &p);
    }
    // Each node would hold 4 of these pods, but a second pod in a zone would be 2 against 0.
    assert_eq!(
        scale_ups(&c.plan()),
        [
            ("a".into(), 0, 1, 1),
            ("b".into(), 0, 1, 1),
            ("c".into(), 0, 1, 1)
        ]
    );

    // Six pods: still three nodes, two pods in each zone.
    for i in 3..6 {
        pod_with(&mut c, &format!("web-{i}"), 1000, "web", &p);
    }
    let plan = c.plan();
    assert_eq!(
        scale_ups(&plan),
        [
            ("a".into(), 0, 1, 2),
            ("b".into(), 0, 1, 2),
            ("c".into(), 0, 1, 2)
        ]
    );
}

#[test]
fn spread_refuses_free_room_in_the_crowded_zone() {
    let mut c = three_zones();
    zonal_node(&mut c, "node-a", "a", ZONES[0], 16_000);
    zonal_node(&mut c, "node-b", "b", ZONES[1], 16_000);
    for g in &mut c.0.groups {
        g.desired = u32::from(g.name != "c");
    }
    let p = Arc::new(Placement {
        spread: vec![spread("web", ZONE_LABEL, 1)],
        ..Default::default()
    });
    // Two web pods run in zone a already, none in b.
    for i in 0..2 {
        c.running(&format!("old-{i}"), "node-a", 1000, 1);
        c.0.pods.last_mut().unwrap().labels = labels(&[("app", "web")]).into();
    }
    pod_with(&mut c, "web-new", 1000, "web", &p);
    let plan = c.plan();
    // Zone a would be 3 against 0 in b: the pod goes to node-b, though node-a has room.
    assert_eq!(
        destinations(&plan)["batch/web-new"],
        (Destination::ExistingNode, Some("node-b".into()))
    );

    // With node-b full, b is still at 0: the pod needs a new node in b or c, not room in a.
    c.running("filler", "node-b", 16_000, 1);
    c.0.pods.last_mut().unwrap().labels = labels(&[("app", "filler")]).into();
    let plan = c.plan();
    let (destination, group) = destinations(&plan)["batch/web-new"].clone();
    assert_eq!(destination, Destination::NewNode);
    assert_ne!(group.as_deref(), Some("a"));
}

#[test]
fn anti_affinity_on_zone_takes_one_zone_per_pod_across_two_groups() {
    let mut c = Cluster::new(&["us-west-2"]);
    for (name, zone) in [("left", ZONES[0]), ("right", ZONES[1])] {
        let g = c.group(name, "us-west-2", 0, 10, 4000, 16);
        g.zones = vec![zone.into()];
        g.template.labels.insert(ZONE_LABEL.into(), zone.into());
    }
    let p = Arc::new(Placement {
        anti_affinity: vec![term(app("db"), ZONE_LABEL)],
        ..Default::default()
    });
    for i in 0..3 {
        pod_with(&mut c, &format!("db-{i}"), 1000, "db", &p);
    }
    let plan = c.plan();
    // One db per zone: two zones, two nodes, and the third pod has nowhere to go.
    assert_eq!(
        scale_ups(&plan),
        [("left".into(), 0, 1, 1), ("right".into(), 0, 1, 1)]
    );
    assert_eq!(
        reason(&plan, "batch/db-2", "left"),
        "pod anti-affinity on topology.kubernetes.io/zone with batch/db-0 (us-west-2a)"
    );
    assert_eq!(
        reason(&plan, "batch/db-2", "right"),
        "pod anti-affinity on topology.kubernetes.io/zone with batch/db-1 (us-west-2b)"
    );
}

#[test]
fn a_resident_pods_zone_anti_affinity_keeps_newcomers_out_of_its_zone() {
    let mut c = three_zones();
    zonal_node(&mut c, "node-a", "a", ZONES[0], 16_000);
    c.0.groups[0].desired = 1;
    c.running("guard", "node-a", 1000, 1);
    c.0.pods[0].placement = Arc::new(Placement {
        anti_affinity: vec![term(app("web"), ZONE_LABEL)],
        ..Default::default()
    });
    let plain = Arc::new(Placement::default());
    pod_with(&mut c, "web-0", 1000, "web", &plain);
    let plan = c.plan();
    let (destination, group) = destinations(&plan)["batch/web-0"].clone();
    assert_eq!(destination, Destination::NewNode);
    assert_eq!(group.as_deref(), Some("b"), "not a, where guard runs");

    // With b and c full, the symmetric rule is the reason a gives.
    for g in &mut c.0.groups[1..] {
        g.max_size = 0;
    }
    let plan = c.plan();
    assert_eq!(
        reason(&plan, "batch/web-0", "a"),
        "pod anti-affinity of batch/guard on topology.kubernetes.io/zone (us-west-2a)"
    );
}

#[test]
fn a_host_port_job_needs_one_node_per_pod() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 3, 16_000, 64);
    let p = Arc::new(Placement {
        host_ports: vec![HostPort {
            port: 8080,
            protocol: "TCP".into(),
            ip: "0.0.0.0".into(),
        }],
        ..Default::default()
    });
    for i in 0..4 {
        pod_with(&mut c, &format!("agent-{i}"), 100, "agent", &p);
    }
    let plan = c.plan();
    // Tiny pods, but never two on a node: three nodes up to MaxSize, one pod left over.
    assert_eq!(scale_ups(&plan), [("cpu".into(), 0, 3, 3)]);
    assert_eq!(
        reason(&plan, "batch/agent-3", "cpu"),
        "group reaches MaxSize (3) in this plan"
    );

    // A DaemonSet holding the port on every new node keeps them all off.
    c.0.daemonsets.push(DaemonSet {
        namespace: "kube-system".into(),
        name: "proxy".into(),
        requests: Resources::default(),
        placement: p.clone(),
    });
    let plan = c.plan();
    assert!(plan.scale_ups.is_empty());
    assert_eq!(
        reason(&plan, "batch/agent-0", "cpu"),
        "host port 8080/TCP taken by DaemonSet kube-system/proxy"
    );
}

#[test]
fn a_claim_in_us_west_2b_goes_to_the_2b_group_only() {
    let mut c = three_zones();
    let in_2b = Arc::new(Placement {
        volumes: VolumePlacement {
            requirements: vec![VolumeRequirement {
                volume: "PersistentVolume pv-data of claim data-0".into(),
                rule: VolumeRule::NodeTerms(vec![NodeSelectorTerm {
                    expressions: vec![Requirement {
                        key: ZONE_LABEL.into(),
                        operator: Operator::In,
                        values: vec![ZONES[1].into()],
                    }],
                    fields: vec![],
                }]),
            }],
            blocked: None,
        },
        ..Default::default()
    });
    pod_with(&mut c, "db-0", 1000, "db", &in_2b);
    let plan = c.plan();
    assert_eq!(scale_ups(&plan), [("b".into(), 0, 1, 1)]);

    // Without the 2b group, the others say why.
    c.0.groups[1].max_size = 0;
    let plan = c.plan();
    assert_eq!(
        reason(&plan, "batch/db-0", "a"),
        "PersistentVolume pv-data of claim data-0 needs topology.kubernetes.io/zone in (us-west-2b)"
    );

    // One group over three zones cannot promise 2b.
    let mut c = Cluster::new(&["us-west-2"]);
    let g = c.group("spread", "us-west-2", 0, 10, 4000, 16);
    g.zones = ZONES.iter().map(|z| z.to_string()).collect();
    pod_with(&mut c, "db-0", 1000, "db", &in_2b);
    let plan = c.plan();
    assert!(plan.scale_ups.is_empty());
    assert_eq!(
        reason(&plan, "batch/db-0", "spread"),
        "group spans us-west-2a,b,c; ekas cannot choose a new node's zone — use one group per zone"
    );
}

#[test]
fn a_multi_zone_group_serves_what_holds_in_every_zone() {
    let mut c = Cluster::new(&["us-west-2"]);
    let g = c.group("spread", "us-west-2", 0, 10, 4000, 16);
    g.zones = ZONES.iter().map(|z| z.to_string()).collect();
    let any_of_three = Arc::new(Placement {
        node_affinity: vec![NodeSelectorTerm {
            expressions: vec![Requirement {
                key: ZONE_LABEL.into(),
                operator: Operator::In,
                values: ZONES.iter().map(|z| z.to_string()).collect(),
            }],
            fields: vec![],
        }],
        ..Default::default()
    });
    pod_with(&mut c, "any", 1000, "x", &any_of_three);
    // Zone spread needs the zone, which the group cannot say.
    let spread_zone = Arc::new(Placement {
        spread: vec![spread("web", ZONE_LABEL, 1)],
        ..Default::default()
    });
    pod_with(&mut c, "web-0", 1000, "web", &spread_zone);
    let plan = c.plan();
    assert_eq!(
        destinations(&plan)["batch/any"].0,
        Destination::NewNode,
        "whichever zone the node gets is allowed"
    );
    assert_eq!(
        reason(&plan, "batch/web-0", "spread"),
        "group spans us-west-2a,b,c; ekas cannot choose a new node's zone — use one group per zone"
    );
}

#[test]
fn required_affinity_follows_its_target_and_a_self_affine_gang_starts_anywhere() {
    let mut c = three_zones();
    zonal_node(&mut c, "node-b", "b", ZONES[1], 4000);
    c.0.groups[1].desired = 1;
    c.running("cache", "node-b", 3500, 1);
    c.0.pods[0].labels = labels(&[("app", "cache")]).into();
    let near_cache = Arc::new(Placement {
        pod_affinity: vec![term(app("cache"), ZONE_LABEL)],
        ..Default::default()
    });
    pod_with(&mut c, "client", 1000, "client", &near_cache);
    let plan = c.plan();
    // node-b is full; the new node must be in the cache's zone.
    assert_eq!(scale_ups(&plan), [("b".into(), 1, 2, 1)]);

    // No cache anywhere: nothing is near it, and the reason says so.
    c.0.pods.remove(0);
    let plan = c.plan();
    assert!(plan.scale_ups.is_empty());
    assert_eq!(
        reason(&plan, "batch/client", "a"),
        "pod affinity on topology.kubernetes.io/zone: no matching pod in us-west-2a"
    );

    // A gang with affinity to itself: the first pod goes anywhere, the rest follow it.
    let mut c = three_zones();
    let gang = Arc::new(Placement {
        pod_affinity: vec![term(app("gang"), ZONE_LABEL)],
        ..Default::default()
    });
    for i in 0..6 {
        pod_with(&mut c, &format!("gang-{i}"), 1000, "gang", &gang);
    }
    let plan = c.plan();
    assert_eq!(scale_ups(&plan), [("a".into(), 0, 2, 6)], "all in zone a");
}

#[test]
fn similar_groups_share_a_scale_up_unless_told_not_to() {
    let mut c = three_zones();
    c.pods("job", 12, 1000, 1);
    for pod in &mut c.0.pods {
        pod.placement = Arc::new(Placement {
            node_selector: labels(&[("pool", "web")]),
            ..Default::default()
        });
    }
    // 12 pods, 4 a node: 3 nodes, one per zone.
    assert_eq!(
        scale_ups(&c.plan()),
        [
            ("a".into(), 0, 1, 4),
            ("b".into(), 0, 1, 4),
            ("c".into(), 0, 1, 4)
        ]
    );
    // The smallest group grows first: b already has two nodes.
    c.0.groups[1].desired = 2;
    c.0.groups[1].members.clear();
    let plan = c.plan_with(Config::default());
    let grown: Vec<(String, u32, u32)> = plan
        .scale_ups
        .iter()
        .map(|s| (s.group.clone(), s.current_desired, s.new_desired))
        .collect();
    // Two upcoming nodes in b take 8 pods; the other 4 go to a (smallest, first by name).
    assert_eq!(grown, [("a".into(), 0, 1)]);

    let mut c = three_zones();
    c.pods("job", 12, 1000, 1);
    let config = Config {
        scale_up: ScaleUpPolicy {
            balance: false,
            ..ScaleUpPolicy::default()
        },
        ..Config::default()
    };
    assert_eq!(scale_ups(&c.plan_with(config)), [("a".into(), 0, 3, 12)]);

    // Groups that differ by more than the zone are not balanced.
    let mut c = three_zones();
    c.0.groups[2]
        .template
        .labels
        .insert("pool".into(), "other".into());
    c.pods("job", 8, 1000, 1);
    assert_eq!(
        scale_ups(&c.plan()),
        [("a".into(), 0, 1, 4), ("b".into(), 0, 1, 4)]
    );
}

#[test]
fn priority_decides_who_buys_nodes_and_who_gets_free_room() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 1, 10, 4000, 16);
    c.node("n1", Some("cpu"), 4000, 16);
    c.pod("low", 4000, 1).scheduling.priority = 0;
    c.pod("high", 4000, 1).scheduling.priority = 1000;
    c.pod("spare", 1000, 1).scheduling.priority = -100;
    let plan = c.plan();
    let d = destinations(&plan);
    // The high-priority pod gets the free node, as the scheduler would give it.
    assert_eq!(
        d["batch/high"],
        (Destination::ExistingNode, Some("n1".into()))
    );
    assert_eq!(d["batch/low"].0, Destination::NewNode);
    // Below the cutoff: no node is bought for it.
    assert_eq!(d["batch/spare"], (Destination::Expendable, None));
    assert_eq!(scale_ups(&plan), [("cpu".into(), 1, 2, 1)]);
    assert_eq!(plan.summary.not_scaled_for, 1);

    // An expendable pod still counts as served where it fits.
    c.0.pods.retain(|p| p.name == "spare");
    assert_eq!(
        destinations(&c.plan())["batch/spare"],
        (Destination::ExistingNode, Some("n1".into()))
    );
}

#[test]
fn a_pod_preemption_serves_buys_nothing_and_holds_its_room() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 1, 10, 4000, 16);
    c.node("n1", Some("cpu"), 4000, 16);
    c.running("victim", "n1", 3000, 1);
    c.0.pods[0].scheduling.priority = 0;
    let urgent = c.pod("urgent", 3000, 1);
    urgent.scheduling.priority = 1000;
    urgent.scheduling.nominated_node = Some("n1".into());
    c.pod("other", 1000, 1);
    let plan = c.plan();
    let d = destinations(&plan);
    assert_eq!(
        d["batch/urgent"],
        (Destination::Nominated, Some("n1".into()))
    );
    // n1 had 1 cpu free, but the nominated pod holds it: the other pod needs a node.
    assert_eq!(d["batch/other"].0, Destination::NewNode);
    assert_eq!(scale_ups(&plan), [("cpu".into(), 1, 2, 1)]);

    // The nominated pod counts where it will run: its anti-affinity keeps others off n1.
    c.0.nodes[0].allocatable.set(CPU, 16_000);
    c.0.pods[1].placement = Arc::new(Placement {
        anti_affinity: vec![term(app("other"), HOSTNAME_LABEL)],
        ..Default::default()
    });
    c.0.pods[2].labels = labels(&[("app", "other")]).into();
    let plan = c.plan();
    assert_eq!(destinations(&plan)["batch/other"].0, Destination::NewNode);
    c.0.pods[1].placement = Arc::new(Placement::default());
    assert_eq!(
        destinations(&c.plan())["batch/other"],
        (Destination::ExistingNode, Some("n1".into()))
    );

    // A nomination preemption cannot serve (the pods there outrank it) is an ordinary pod.
    c.0.nodes[0].allocatable.set(CPU, 4000);
    c.0.pods[0].scheduling.priority = 2000;
    let plan = c.plan();
    assert_eq!(destinations(&plan)["batch/urgent"].0, Destination::NewNode);
}

#[test]
fn young_pods_and_pods_the_scheduler_has_not_tried_wait() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 0, 10, 4000, 16);
    c.pod("old", 1000, 1).created = Some(now() - SignedDuration::from_mins(5));
    c.pod("new", 1000, 1).created = Some(now() - SignedDuration::from_secs(5));
    c.pod("tried", 1000, 1).scheduling.unschedulable = true;
    let delay = Config {
        scale_up: ScaleUpPolicy {
            new_pod_delay: SignedDuration::from_secs(30),
            ..ScaleUpPolicy::default()
        },
        ..Config::default()
    };
    let d = destinations(&c.plan_with(delay));
    assert_eq!(d["batch/new"], (Destination::Waiting, None));
    assert_eq!(d["batch/old"].0, Destination::NewNode);
    // By default every pending pod counts at once: batch bursts need not wait.
    assert_eq!(destinations(&c.plan())["batch/new"].0, Destination::NewNode);

    let only = Config {
        scale_up: ScaleUpPolicy {
            only_unschedulable: true,
            ..ScaleUpPolicy::default()
        },
        ..Config::default()
    };
    let d = destinations(&c.plan_with(only));
    assert_eq!(d["batch/tried"].0, Destination::NewNode);
    assert_eq!(d["batch/old"], (Destination::Waiting, None));
}

#[test]
fn hostname_spread_lets_nodes_fill_evenly() {
    let mut c = Cluster::new(&["r1"]);
    c.group("cpu", "r1", 2, 10, 8000, 32);
    c.node("n1", Some("cpu"), 8000, 32);
    c.node("n2", Some("cpu"), 8000, 32);
    let p = Arc::new(Placement {
        spread: vec![spread("web", HOSTNAME_LABEL, 1)],
        ..Default::default()
    });
    for i in 0..4 {
        pod_with(&mut c, &format!("web-{i}"), 1000, "web", &p);
    }
    let plan = c.plan();
    let on = |node: &str| {
        plan.pending
            .iter()
            .filter(|p| p.target.as_deref() == Some(node))
            .count()
    };
    assert_eq!((on("n1"), on("n2")), (2, 2));
    assert!(plan.scale_ups.is_empty());
}

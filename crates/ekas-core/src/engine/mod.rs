//! Pure decisions: `plan(&Snapshot, &Config) -> Plan`. No I/O and no clock — "now" is the
//! snapshot's capture time — so the same snapshot always yields the same plan.

pub mod capacity;
pub mod requests;
pub mod scale_in;
pub mod scale_up;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::group::CapacityType;
use crate::model::{
    LeftOut, LeftOutGroup, NodeGroup, Resources, Snapshot, StartupTaints, TemplateSource,
};
use crate::plan::{
    BackoffEntry, ClusterHealth, DesiredReset, Destination, GangVerdict, GroupMark, GroupStatus,
    PendingPod, Plan, PlanWarning, ScaleUp, Summary, Unschedulable, WarnedObject, WarningKind,
};
use capacity::backoff::{self, Backoff, BackoffPolicy};
use capacity::membership::Membership;
use capacity::startup::{self, NodeUse, Startup, StartupRules};
use capacity::{health, launch_failures};
use scale_in::{Maintenance, MaintenanceConfig, PassFacts, rehome};
use scale_up::predicates::{NodeShape, fits_in_some_zone, unknown_zones};
use scale_up::{GroupView, ScaleUpPolicy, ScaleUpResult};

/// The operator's choices that shape decisions.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Spare nodes added to every group that scales up (`--over-provision`).
    pub over_provision: u32,
    pub backoff: BackoffPolicy,
    pub maintenance: MaintenanceConfig,
    /// Taints of nodes still starting (`--startup-taint`).
    pub startup_taints: StartupTaints,
    pub scale_up: ScaleUpPolicy,
    pub requests: requests::RequestPolicy,
}

/// The plan for `snapshot`. ProvisioningRequests lend the planner pods (after the real ones),
/// planned like any other and then shown as their requests; here they go into a copy of the
/// snapshot, when some request needs room ([`plan_in_place`] spares the copy).
pub fn plan(snapshot: &Snapshot, config: &Config) -> Plan {
    let requests::Lending { pods: lent, stages } = requests::lend(snapshot, &config.requests);
    if lent.is_empty() {
        return plan_with(snapshot, config, stages, snapshot.pods.len());
    }
    let mut copy = snapshot.clone();
    let first_lent = copy.pods.len();
    copy.pods.extend(lent);
    plan_with(&copy, config, stages, first_lent)
}

/// [`plan`], with the lent pods added to `snapshot` for the planning and taken out again: the
/// same plan without copying a large cluster's pods.
pub fn plan_in_place(snapshot: &mut Snapshot, config: &Config) -> Plan {
    let requests::Lending { pods: lent, stages } = requests::lend(snapshot, &config.requests);
    let first_lent = snapshot.pods.len();
    snapshot.pods.extend(lent);
    let plan = plan_with(snapshot, config, stages, first_lent);
    snapshot.pods.truncate(first_lent);
    plan
}

/// The plan, the pods of `snapshot` from `first_lent` on being those the requests lent: what
/// the groups can give, the decisions, then the plan assembled from them.
fn plan_with(
    snapshot: &Snapshot,
    config: &Config,
    stages: Vec<requests::Stage>,
    first_lent: usize,
) -> Plan {
    let capacity = Capacity::assess(snapshot, config);
    let (views, starting) = group_views(
        snapshot,
        &capacity.backoffs,
        &capacity.membership,
        &capacity.startups,
    );
    let decisions = decide(snapshot, config, &capacity, &views);
    let lent = Lent { stages, first_lent };
    assemble(
        snapshot, config, &lent, &capacity, &views, starting, decisions,
    )
}

/// What the groups and nodes can give this pass: which node is whose, which are still starting,
/// the cluster's health, and the groups in backoff after failed launches.
struct Capacity<'a> {
    membership: Membership<'a>,
    startups: Vec<Startup>,
    health: ClusterHealth,
    group_marks: Vec<GroupMark>,
    backoffs: Vec<Backoff>,
}

impl<'a> Capacity<'a> {
    fn assess(snapshot: &'a Snapshot, config: &Config) -> Capacity<'a> {
        let now = snapshot.captured_at;
        let membership = Membership::new(snapshot);
        let rules = StartupRules {
            taints: &config.startup_taints,
            max_provision_time: config.backoff.max_provision_time,
            now,
        };
        let startups = startup::every_node(snapshot, &membership.node_group, rules);
        let health = health::assess(&snapshot.nodes, &startups, config.maintenance.unready);
        let (mut inferred, group_marks) =
            launch_failures::unlaunched(snapshot, &config.backoff, now);
        inferred.extend(launch_failures::failed_starts(
            snapshot,
            &membership,
            &startups,
            &config.backoff,
        ));
        let backoffs = backoff::in_backoff(snapshot, &config.backoff, now, &inferred);
        Capacity {
            membership,
            startups,
            health,
            group_marks,
            backoffs,
        }
    }
}

/// The pass's two decisions: where pending pods go and which groups grow, then what happens
/// to the nodes and instances there are.
struct Decisions {
    scale_up: ScaleUpResult,
    maintenance: Maintenance,
}

fn decide(
    snapshot: &Snapshot,
    config: &Config,
    capacity: &Capacity<'_>,
    views: &[GroupView<'_>],
) -> Decisions {
    // Nodes ekas cordoned (and is not draining) may be uncordoned for pending pods rather than
    // new nodes launched for them.
    let node_use: Vec<NodeUse> = snapshot
        .nodes
        .iter()
        .zip(&capacity.startups)
        .map(|(n, s)| startup::node_use(n, s, n.marks.reclaimable()))
        .collect();
    let policy = ScaleUpPolicy {
        halted: !capacity.health.healthy,
        ..config.scale_up.clone()
    };
    let result = scale_up::plan_scale_up(snapshot, views, &node_use, &policy);
    let node_index = snapshot.node_index();
    // (pod, node) of every pending pod the plan puts on an existing node, resolved once.
    let on_nodes: Vec<(usize, usize)> = result
        .assignments
        .iter()
        .filter(|(_, a)| a.destination == Destination::ExistingNode)
        .filter_map(|(p, a)| Some((*p, *node_index.get(a.target.as_deref()?)?)))
        .collect();
    let needed: HashSet<usize> = on_nodes.iter().map(|&(_, n)| n).collect();
    // Nodes holding room a ProvisioningRequest checked for or booked: never scaled in.
    let mut booked: HashMap<usize, String> = HashMap::new();
    for &(p, n) in &on_nodes {
        if let Some(by) = snapshot.pods[p].requested_by {
            booked
                .entry(n)
                .or_insert_with(|| snapshot.provisioning_requests[by.request].key());
        }
    }
    let onto_nodes: Vec<usize> = on_nodes.iter().map(|&(p, _)| p).collect();
    let spare_room = rehome::SpareRoom::new(
        snapshot,
        &node_use,
        on_nodes
            .iter()
            .map(|&(p, n)| (n, &snapshot.pods[p].requests)),
    );
    let rooms: Vec<Resources> = snapshot
        .groups
        .iter()
        .map(|g| new_node_room(snapshot, g))
        .collect();
    let maintenance = scale_in::plan_maintenance(
        snapshot,
        &config.maintenance,
        &PassFacts {
            needed: &needed,
            booked: &booked,
            onto_nodes: &onto_nodes,
            spare_room: &spare_room,
            rooms: &rooms,
            membership: &capacity.membership,
            startups: &capacity.startups,
            health: &capacity.health,
        },
    );
    Decisions {
        scale_up: result,
        maintenance,
    }
}

/// The pods ProvisioningRequests lent the planner: those from `first_lent` on, and the stage
/// each request is at.
struct Lent {
    stages: Vec<requests::Stage>,
    first_lent: usize,
}

impl Lent {
    /// A pod of the cluster, not one lent by a request.
    fn is_real(&self, pod: usize) -> bool {
        pod < self.first_lent
    }
}

/// The plan, from the decisions: what the operator and the actuator read.
fn assemble(
    snapshot: &Snapshot,
    config: &Config,
    lent: &Lent,
    capacity: &Capacity<'_>,
    views: &[GroupView<'_>],
    starting: Vec<u32>,
    decisions: Decisions,
) -> Plan {
    let Decisions {
        scale_up: result,
        maintenance,
    } = decisions;
    let (pending, mut summary) = pending_pods(snapshot, &result, lent);
    let mut gated: Vec<String> = snapshot
        .pods
        .iter()
        .filter(|p| p.is_gated())
        .map(|p| p.key())
        .collect();
    gated.sort();
    summary.gated = gated.len();
    let scale_ups = scale_ups(snapshot, config, views, &result, lent);
    summary.new_nodes = scale_ups
        .iter()
        .map(|s| s.new_desired - s.current_desired)
        .sum();
    summary.cost_per_hour = scale_ups.iter().map(|s| s.cost_per_hour).sum();

    let mut warnings = left_out_warnings(&snapshot.left_out);
    warnings.extend(unprotected_groups(snapshot));
    warnings.extend(maintenance.warnings);

    Plan {
        captured_at: snapshot.captured_at,
        cluster_name: snapshot.cluster_name.clone(),
        regions: snapshot.regions.clone(),
        summary,
        groups: group_statuses(snapshot, views, starting),
        scale_ups,
        desired_resets: desired_resets(views),
        pending,
        unschedulable: unschedulable(snapshot, &result, lent),
        provisioning_requests: requests::answer(
            snapshot,
            &lent.stages,
            lent.first_lent,
            &result,
            views,
        ),
        gangs: result
            .gangs
            .into_iter()
            .filter(|g| !g.from_request)
            .collect(),
        nodes: maintenance.nodes,
        instances: maintenance.instances,
        backoff: capacity
            .backoffs
            .iter()
            .map(|b| BackoffEntry {
                group: b.group.clone(),
                region: b.region.clone(),
                until: b.until,
                reason: b.failure.to_string(),
                failures: b.failures,
                message: b.message.clone(),
            })
            .collect(),
        gated,
        cluster_health: capacity.health.clone(),
        group_marks: capacity.group_marks.clone(),
        warnings,
    }
}

/// Every real pending pod with where the plan puts it, by name, and the counts of the summary.
fn pending_pods(
    snapshot: &Snapshot,
    result: &ScaleUpResult,
    lent: &Lent,
) -> (Vec<PendingPod>, Summary) {
    let pods = &snapshot.pods;
    // Pods of one size share their formatted requests.
    let mut request_maps: HashMap<&Resources, Arc<BTreeMap<String, String>>> = HashMap::new();
    let mut requests = |i: usize| {
        request_maps
            .entry(&pods[i].requests)
            .or_insert_with(|| Arc::new(pods[i].requests.to_display_map()))
            .clone()
    };
    let mut summary = Summary::default();
    let mut pending: Vec<PendingPod> = result
        .assignments
        .iter()
        .filter(|(i, _)| lent.is_real(*i))
        .map(|(i, a)| {
            match a.destination {
                Destination::ExistingNode => summary.on_existing_nodes += 1,
                Destination::UpcomingNode => summary.on_upcoming_nodes += 1,
                Destination::NewNode => summary.on_new_nodes += 1,
                Destination::Unschedulable => summary.unschedulable += 1,
                Destination::Nominated | Destination::Expendable | Destination::Waiting => {
                    summary.not_scaled_for += 1
                }
            }
            PendingPod {
                pod: pods[*i].key(),
                destination: a.destination,
                target: a.target.clone(),
                requests: requests(*i),
            }
        })
        .collect();
    pending.extend(
        result
            .unschedulable
            .iter()
            .filter(|(i, _)| lent.is_real(*i))
            .map(|(i, _)| PendingPod {
                pod: pods[*i].key(),
                destination: Destination::Unschedulable,
                target: None,
                requests: requests(*i),
            }),
    );
    pending.sort_by(|a, b| a.pod.cmp(&b.pod));
    summary.unschedulable = result
        .unschedulable
        .iter()
        .filter(|(i, _)| lent.is_real(*i))
        .count();
    summary.pending_pods = pending.len();
    (pending, summary)
}

/// The groups to grow, with the pods and requests each grows for, in region order.
fn scale_ups(
    snapshot: &Snapshot,
    config: &Config,
    views: &[GroupView<'_>],
    result: &ScaleUpResult,
    lent: &Lent,
) -> Vec<ScaleUp> {
    let pods = &snapshot.pods;
    let mut scale_ups: Vec<ScaleUp> = result
        .scale_ups
        .iter()
        .map(|s| {
            let group = views[s.group].group;
            // Saturating: `--over-provision` may be as large as a u32 holds.
            let for_pods = group.desired.saturating_add(s.nodes);
            let new_desired = for_pods
                .saturating_add(config.over_provision)
                .min(group.max_size);
            let mut pod_names: Vec<String> = s
                .pods
                .iter()
                .filter(|&&i| lent.is_real(i))
                .map(|&i| pods[i].key())
                .collect();
            pod_names.sort();
            let mut requests: Vec<String> = s
                .pods
                .iter()
                .filter_map(|&i| pods[i].requested_by)
                .map(|by| snapshot.provisioning_requests[by.request].key())
                .collect();
            requests.sort();
            requests.dedup();
            let cost_per_hour = group
                .price
                .map(|p| f64::from(new_desired - group.desired) * p.dollars);
            let requested_cpu = s
                .pods
                .iter()
                .map(|&i| pods[i].requests.cpu)
                .fold(0, i64::saturating_add);
            ScaleUp {
                group: group.name.clone(),
                region: group.region.clone(),
                instance_type: group.instance_type.clone(),
                current_desired: group.desired,
                new_desired,
                nodes_for_pods: s.nodes,
                over_provision: new_desired.saturating_sub(for_pods),
                cost_per_hour,
                cost_per_requested_vcpu: cost_per_hour
                    .filter(|_| requested_cpu > 0)
                    .map(|cost| cost / (requested_cpu as f64 / 1000.0)),
                pods: pod_names,
                provisioning_requests: requests,
            }
        })
        .collect();
    scale_ups.sort_by_key(|s| (snapshot.region_rank(&s.region), s.group.clone()));
    scale_ups
}

/// Groups in backoff whose desired capacity counts instances that never launched: set back to
/// what launched (never below MinSize).
fn desired_resets(views: &[GroupView<'_>]) -> Vec<DesiredReset> {
    views
        .iter()
        .filter_map(|v| {
            let backoff = v.backoff?;
            let launched = v.group.members.iter().filter(|m| m.is_live()).count() as u32;
            let new_desired = launched.max(v.group.min_size);
            (v.group.desired > new_desired).then(|| DesiredReset {
                group: v.group.name.clone(),
                region: v.group.region.clone(),
                current_desired: v.group.desired,
                new_desired,
                reason: format!("{} launched, {}", launched, backoff.failure),
            })
        })
        .collect()
}

/// Every group's status, the groups left out of the snapshot last.
fn group_statuses(
    snapshot: &Snapshot,
    views: &[GroupView<'_>],
    starting: Vec<u32>,
) -> Vec<GroupStatus> {
    // Groups of one instance type offer the same room: format it once.
    let mut rooms: HashMap<&Resources, Arc<BTreeMap<String, String>>> = HashMap::new();
    views
        .iter()
        .zip(starting)
        .map(|(v, starting)| {
            let room = rooms
                .entry(&v.room)
                .or_insert_with(|| Arc::new(v.room.to_display_map()));
            group_status(v, starting, room.clone())
        })
        .chain(snapshot.left_out.groups.iter().map(left_out_status))
        .collect()
}

/// The real pods no group can hold, with why, and the gang that holds each back.
fn unschedulable(snapshot: &Snapshot, result: &ScaleUpResult, lent: &Lent) -> Vec<Unschedulable> {
    let held: HashSet<&str> = result
        .gangs
        .iter()
        // Real pods are held back by PodGroups, never by a request of the same name.
        .filter(|g| !g.from_request && g.verdict == GangVerdict::DoesNotFit)
        .map(|g| g.gang.as_str())
        .collect();
    let pods = &snapshot.pods;
    result
        .unschedulable
        .iter()
        .filter(|(i, _)| lent.is_real(*i))
        .map(|(i, reasons)| Unschedulable {
            pod: pods[*i].key(),
            reasons: reasons.clone(),
            gang: pods[*i]
                .gang
                .as_ref()
                .map(|g| g.key())
                .filter(|k| held.contains(k.as_str())),
        })
        .collect()
}

/// Each group with what the planner needs — room on a new node, capacity on its way,
/// backoff — in preference order, and how many of its nodes are still starting.
fn group_views<'a>(
    snapshot: &'a Snapshot,
    backoffs: &'a [Backoff],
    membership: &Membership<'_>,
    startups: &[Startup],
) -> (Vec<GroupView<'a>>, Vec<u32>) {
    let mut starting = vec![0u32; snapshot.groups.len()];
    for (g, s) in membership.node_group.iter().zip(startups) {
        if let (Some(g), true) = (g, s.is_starting()) {
            starting[*g] += 1;
        }
    }
    let mut views: Vec<(GroupView<'a>, u32)> = snapshot
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let live: Vec<&str> = group
                .members
                .iter()
                .filter(|m| m.is_live())
                .map(|m| m.instance_id.as_str())
                .collect();
            let joined = live.iter().filter(|id| membership.claimed(id)).count() as u32;
            let launched = live.len() as u32;
            let backoff = backoffs
                .iter()
                .find(|b| b.group == group.name && b.region == group.region);
            // Launched instances will join; capacity not yet launched will not while the
            // group is failing to launch.
            let not_launched = if backoff.is_some() {
                0
            } else {
                group.desired.saturating_sub(launched)
            };
            let view = GroupView {
                group,
                rank: snapshot.region_rank(&group.region),
                room: new_node_room(snapshot, group),
                registered: joined,
                // Nodes still starting are counted with their template's room, not their own.
                upcoming: (launched - joined) + not_launched + starting[g],
                backoff,
            };
            (view, starting[g])
        })
        .collect();
    views.sort_by_key(|(v, _)| (v.rank, v.group.name.clone()));
    views.into_iter().unzip()
}

/// Groups that let AWS pick which instances to terminate when their desired capacity drops.
fn unprotected_groups(snapshot: &Snapshot) -> Vec<PlanWarning> {
    snapshot
        .groups
        .iter()
        .filter(|g| g.new_instances_protected == Some(false))
        .map(|g| PlanWarning {
            kind: WarningKind::UnprotectedGroup,
            subject: format!("{} ({})", g.name, g.region),
            message: format!(
                "group {} ({}) does not protect new instances from scale-in \
                 (NewInstancesProtectedFromScaleIn): whenever its desired capacity drops, AWS \
                 picks which instances to terminate, busy ones included",
                g.name, g.region
            ),
            object: None,
        })
        .collect()
}

/// A new node's allocatable less the DaemonSet pods that would land on it.
pub(crate) fn new_node_room(snapshot: &Snapshot, group: &NodeGroup) -> Resources {
    let t = &group.template;
    let shape = NodeShape {
        name: None,
        labels: &t.labels,
        taints: &t.taints,
        unschedulable: false,
        unknown_zones: unknown_zones(group),
    };
    let mut room = t.allocatable.clone();
    for ds in &snapshot.daemonsets {
        if fits_in_some_zone(&ds.placement, shape) {
            room.sub(&ds.requests);
        }
    }
    room
}

fn group_status(
    v: &GroupView<'_>,
    starting: u32,
    new_node_room: Arc<BTreeMap<String, String>>,
) -> GroupStatus {
    let g = v.group;
    GroupStatus {
        group: g.name.clone(),
        region: g.region.clone(),
        instance_type: g.instance_type.clone(),
        instance_type_note: g.instance_type_note.clone(),
        min_size: g.min_size,
        max_size: g.max_size,
        desired: g.desired,
        nodes: v.registered,
        upcoming: v.upcoming,
        starting,
        priority: g.priority,
        capacity_type: g.capacity.name(),
        on_demand_base: match g.capacity {
            CapacityType::Mixed { on_demand_base, .. } => Some(on_demand_base),
            _ => None,
        },
        on_demand_percentage: match g.capacity {
            CapacityType::Mixed {
                on_demand_percentage,
                ..
            } => Some(on_demand_percentage),
            _ => None,
        },
        interruptions: g.recent_interruptions,
        hourly_price: g.price.map(|p| p.dollars),
        price_source: g.price.map(|p| p.source),
        template: match &g.template.source {
            TemplateSource::Node(name) => format!("node/{name}"),
            TemplateSource::InstanceType => "instance-type".to_string(),
        },
        new_node_room,
        left_out: None,
    }
}

/// A group the snapshot could not read, listed with what AWS said of its sizes.
fn left_out_status(g: &LeftOutGroup) -> GroupStatus {
    GroupStatus {
        group: g.name.clone(),
        region: g.region.clone(),
        instance_type: String::new(),
        instance_type_note: None,
        min_size: g.min_size,
        max_size: g.max_size,
        desired: g.desired,
        nodes: 0,
        upcoming: 0,
        starting: 0,
        priority: 0,
        capacity_type: "unknown",
        on_demand_base: None,
        on_demand_percentage: None,
        interruptions: 0,
        hourly_price: None,
        price_source: None,
        template: String::new(),
        new_node_room: Arc::default(),
        left_out: Some(g.reason.clone()),
    }
}

/// What the snapshot could not read, one warning each, so an operator sees it in every plan.
fn left_out_warnings(left_out: &LeftOut) -> Vec<PlanWarning> {
    let regions = left_out.regions.iter().map(|r| PlanWarning {
        kind: WarningKind::RegionUnreachable,
        subject: r.region.clone(),
        message: format!(
            "AWS region {} could not be read, so its groups neither grow nor shrink this pass and \
             pods go to the other regions: {}",
            r.region, r.reason
        ),
        object: None,
    });
    let groups = left_out.groups.iter().map(|g| PlanWarning {
        kind: WarningKind::GroupLeftOut,
        subject: format!("{} ({})", g.name, g.region),
        message: format!(
            "group {} ({}) is left out of this pass (neither grown nor shrunk): {}",
            g.name, g.region, g.reason
        ),
        object: None,
    });
    let objects = left_out.objects.iter().map(|o| PlanWarning {
        kind: WarningKind::UnreadableObject,
        subject: format!("{} {}", o.kind.as_str(), o.key()),
        message: format!(
            "{} {} could not be read ({}): {}",
            o.kind.as_str(),
            o.key(),
            o.reason,
            o.treatment
        ),
        object: Some(WarnedObject {
            kind: o.kind,
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        }),
    });
    regions.chain(groups).chain(objects).collect()
}

#[cfg(test)]
mod invariants;
#[cfg(test)]
mod tests;

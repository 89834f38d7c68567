//! Pure decisions: `plan(&Snapshot, &Config) -> Plan`. No I/O and no clock — "now" is the
//! snapshot's capture time — so the same snapshot always yields the same plan.

pub mod backoff;
pub mod consolidation;
pub mod drain;
pub mod expander;
pub mod gang;
pub mod health;
pub mod idle_threshold;
pub mod jobs;
pub mod maintenance;
pub mod membership;
pub mod predicates;
pub mod provision;
pub mod provisioning;
pub mod rehome;
pub mod scale_up;
pub mod startup;
pub mod topology;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::group::CapacityType;
use crate::model::{
    LeftOut, LeftOutGroup, NodeGroup, Resources, Snapshot, StartupTaints, TemplateSource,
};
use crate::plan::{
    BackoffEntry, DesiredReset, Destination, GangVerdict, GroupStatus, PendingPod, Plan,
    PlanWarning, ScaleUp, Summary, Unschedulable, WarnedObject, WarningKind,
};
use backoff::{Backoff, BackoffPolicy};
use maintenance::{MaintenanceConfig, PassFacts};
use membership::Membership;
use predicates::{NodeShape, fits_in_some_zone, unknown_zones};
use scale_up::{GroupView, ScaleUpPolicy};
use startup::{NodeUse, Startup, StartupRules};

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
    pub requests: provisioning::RequestPolicy,
}

/// The plan for `snapshot`. ProvisioningRequests lend the planner pods (after the real ones),
/// planned like any other and then shown as their requests; here they go into a copy of the
/// snapshot, when some request needs room ([`plan_in_place`] spares the copy).
pub fn plan(snapshot: &Snapshot, config: &Config) -> Plan {
    let provisioning::Lending { pods: lent, stages } =
        provisioning::lend(snapshot, &config.requests);
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
    let provisioning::Lending { pods: lent, stages } =
        provisioning::lend(snapshot, &config.requests);
    let first_lent = snapshot.pods.len();
    snapshot.pods.extend(lent);
    let plan = plan_with(snapshot, config, stages, first_lent);
    snapshot.pods.truncate(first_lent);
    plan
}

/// The plan, the pods of `snapshot` from `first_lent` on being those the requests lent.
fn plan_with(
    snapshot: &Snapshot,
    config: &Config,
    stages: Vec<provisioning::Stage>,
    first_lent: usize,
) -> Plan {
    let now = snapshot.captured_at;
    let real = |i: &usize| *i < first_lent;
    let membership = Membership::new(snapshot);
    let rules = StartupRules {
        taints: &config.startup_taints,
        max_provision_time: config.backoff.max_provision_time,
        now,
    };
    let startups = startup::every_node(snapshot, &membership.node_group, rules);
    let cluster_health = health::assess(&snapshot.nodes, &startups, config.maintenance.unready);
    let (mut inferred, group_marks) = provision::unlaunched(snapshot, &config.backoff, now);
    inferred.extend(provision::failed_starts(
        snapshot,
        &membership,
        &startups,
        &config.backoff,
    ));
    let backoffs = backoff::in_backoff(snapshot, &config.backoff, now, &inferred);
    let (views, starting) = group_views(snapshot, &backoffs, &membership, &startups);
    // Nodes ekas cordoned (and is not draining) may be uncordoned for pending pods rather than
    // new nodes launched for them.
    let node_use: Vec<NodeUse> = snapshot
        .nodes
        .iter()
        .zip(&startups)
        .map(|(n, s)| startup::node_use(n, s, n.marks.reclaimable()))
        .collect();
    let policy = ScaleUpPolicy {
        halted: !cluster_health.healthy,
        ..config.scale_up.clone()
    };
    let result = scale_up::plan_scale_up(snapshot, &views, &node_use, &policy);
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
    let maintenance = maintenance::plan_maintenance(
        snapshot,
        &config.maintenance,
        &PassFacts {
            needed: &needed,
            booked: &booked,
            onto_nodes: &onto_nodes,
            spare_room: &spare_room,
            rooms: &rooms,
            membership: &membership,
            startups: &startups,
            health: &cluster_health,
        },
    );

    let pods = &snapshot.pods;
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
        .filter(|(i, _)| real(i))
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
            .filter(|(i, _)| real(i))
            .map(|(i, _)| PendingPod {
                pod: pods[*i].key(),
                destination: Destination::Unschedulable,
                target: None,
                requests: requests(*i),
            }),
    );
    pending.sort_by(|a, b| a.pod.cmp(&b.pod));
    summary.unschedulable = result.unschedulable.iter().filter(|(i, _)| real(i)).count();
    summary.pending_pods = pending.len();
    let mut gated: Vec<String> = pods
        .iter()
        .filter(|p| p.is_gated())
        .map(|p| p.key())
        .collect();
    gated.sort();
    summary.gated = gated.len();

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
                .filter(|i| real(i))
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
            let requested_cpu: i64 = s.pods.iter().map(|&i| pods[i].requests.cpu).sum();
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
    summary.new_nodes = scale_ups
        .iter()
        .map(|s| s.new_desired - s.current_desired)
        .sum();
    summary.cost_per_hour = scale_ups.iter().map(|s| s.cost_per_hour).sum();

    let desired_resets = views
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
        .collect();

    let mut warnings = left_out_warnings(&snapshot.left_out);
    warnings.extend(unprotected_groups(snapshot));
    warnings.extend(maintenance.warnings);

    Plan {
        captured_at: now,
        cluster_name: snapshot.cluster_name.clone(),
        regions: snapshot.regions.clone(),
        summary,
        groups: {
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
        },
        scale_ups,
        desired_resets,
        pending,
        unschedulable: {
            let held: HashSet<&str> = result
                .gangs
                .iter()
                // Real pods are held back by PodGroups, never by a request of the same name.
                .filter(|g| !g.from_request && g.verdict == GangVerdict::DoesNotFit)
                .map(|g| g.gang.as_str())
                .collect();
            result
                .unschedulable
                .iter()
                .filter(|(i, _)| real(i))
                .map(|(i, reasons)| (*i, reasons.clone()))
                .map(|(i, reasons)| Unschedulable {
                    pod: pods[i].key(),
                    reasons,
                    gang: pods[i]
                        .gang
                        .as_ref()
                        .map(|g| g.key())
                        .filter(|k| held.contains(k.as_str())),
                })
                .collect()
        },
        provisioning_requests: provisioning::answer(snapshot, &stages, first_lent, &result, &views),
        gangs: result
            .gangs
            .into_iter()
            .filter(|g| !g.from_request)
            .collect(),
        nodes: maintenance.nodes,
        instances: maintenance.instances,
        backoff: backoffs
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
        cluster_health,
        group_marks,
        warnings,
    }
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
mod capacity_tests;
#[cfg(test)]
mod consolidation_tests;
#[cfg(test)]
mod expander_tests;
#[cfg(test)]
mod gang_tests;
#[cfg(test)]
mod invariants;
#[cfg(test)]
mod maintenance_tests;
#[cfg(test)]
mod provisioning_tests;
#[cfg(test)]
mod scheduling_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod window_tests;

//! Pure decisions: `plan(&Snapshot, &Config) -> Plan`. No I/O and no clock — "now" is the
//! snapshot's capture time — so the same snapshot always yields the same plan.

pub mod backoff;
pub mod drain;
pub mod maintenance;
pub mod predicates;
pub mod scale_up;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::{NodeGroup, Resources, Snapshot, TemplateSource};
use crate::plan::{
    BackoffEntry, DesiredReset, Destination, GroupStatus, PendingPod, Plan, ScaleUp, Summary,
    Unschedulable,
};
use backoff::{Backoff, BackoffPolicy};
use maintenance::MaintenanceConfig;
use predicates::{NodeShape, static_fit};
use scale_up::GroupView;

/// The operator's choices that shape decisions.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Spare nodes added to every group that scales up (`--over-provision`).
    pub over_provision: u32,
    pub backoff: BackoffPolicy,
    pub maintenance: MaintenanceConfig,
}

pub fn plan(snapshot: &Snapshot, config: &Config) -> Plan {
    let now = snapshot.captured_at;
    let backoffs = backoff::in_backoff(snapshot, &config.backoff, now);
    let views = group_views(snapshot, &backoffs);
    // Nodes ekas cordoned (and is not draining) may be uncordoned for pending pods rather than
    // new nodes launched for them.
    let reclaimable: Vec<bool> = snapshot
        .nodes
        .iter()
        .map(|n| {
            n.unschedulable
                && n.marks.cordoned_by_ekas
                && n.marks.drain_started.is_none()
                && !n.marks.detached
        })
        .collect();
    let result = scale_up::plan_scale_up(snapshot, &views, &reclaimable);
    let node_index: HashMap<&str, usize> = snapshot
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let needed: HashSet<usize> = result
        .assignments
        .iter()
        .filter(|(_, a)| a.destination == Destination::ExistingNode)
        .filter_map(|(_, a)| node_index.get(a.target.as_deref()?).copied())
        .collect();
    let maintenance = maintenance::plan_maintenance(snapshot, &config.maintenance, &needed);

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
        .map(|(i, a)| {
            match a.destination {
                Destination::ExistingNode => summary.on_existing_nodes += 1,
                Destination::UpcomingNode => summary.on_upcoming_nodes += 1,
                Destination::NewNode => summary.on_new_nodes += 1,
                Destination::Unschedulable => summary.unschedulable += 1,
            }
            PendingPod {
                pod: pods[*i].key(),
                destination: a.destination,
                target: a.target.clone(),
                requests: requests(*i),
            }
        })
        .collect();
    pending.extend(result.unschedulable.iter().map(|(i, _)| PendingPod {
        pod: pods[*i].key(),
        destination: Destination::Unschedulable,
        target: None,
        requests: requests(*i),
    }));
    pending.sort_by(|a, b| a.pod.cmp(&b.pod));
    summary.unschedulable = result.unschedulable.len();
    summary.pending_pods = pending.len();

    let mut scale_ups: Vec<ScaleUp> = result
        .scale_ups
        .iter()
        .map(|s| {
            let group = views[s.group].group;
            let for_pods = group.desired + s.nodes;
            let new_desired = (for_pods + config.over_provision).min(group.max_size);
            let mut pod_names: Vec<String> = s.pods.iter().map(|&i| pods[i].key()).collect();
            pod_names.sort();
            ScaleUp {
                group: group.name.clone(),
                region: group.region.clone(),
                instance_type: group.instance_type.clone(),
                current_desired: group.desired,
                new_desired,
                nodes_for_pods: s.nodes,
                over_provision: new_desired - for_pods,
                pods: pod_names,
            }
        })
        .collect();
    scale_ups.sort_by_key(|s| (snapshot.region_rank(&s.region), s.group.clone()));
    summary.new_nodes = scale_ups
        .iter()
        .map(|s| s.new_desired - s.current_desired)
        .sum();

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
                .map(|v| {
                    let room = rooms
                        .entry(&v.room)
                        .or_insert_with(|| Arc::new(v.room.to_display_map()));
                    group_status(v, room.clone())
                })
                .collect()
        },
        scale_ups,
        desired_resets,
        pending,
        unschedulable: result
            .unschedulable
            .into_iter()
            .map(|(i, reasons)| Unschedulable {
                pod: pods[i].key(),
                reasons,
            })
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
    }
}

/// Each group with what the planner needs: room on a new node, capacity on its way, backoff.
fn group_views<'a>(snapshot: &'a Snapshot, backoffs: &'a [Backoff]) -> Vec<GroupView<'a>> {
    let registered: HashSet<&str> = snapshot
        .nodes
        .iter()
        .filter_map(|n| n.instance_id.as_deref())
        .collect();
    let mut views: Vec<GroupView<'a>> = snapshot
        .groups
        .iter()
        .map(|group| {
            let live: Vec<&str> = group
                .members
                .iter()
                .filter(|m| m.is_live())
                .map(|m| m.instance_id.as_str())
                .collect();
            let joined = live.iter().filter(|id| registered.contains(*id)).count() as u32;
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
            GroupView {
                group,
                rank: snapshot.region_rank(&group.region),
                room: new_node_room(snapshot, group),
                registered: joined,
                upcoming: (launched - joined) + not_launched,
                backoff,
            }
        })
        .collect();
    views.sort_by_key(|v| (v.rank, v.group.name.clone()));
    views
}

/// A new node's allocatable less the DaemonSet pods that would land on it.
fn new_node_room(snapshot: &Snapshot, group: &NodeGroup) -> Resources {
    let t = &group.template;
    let shape = NodeShape {
        name: None,
        labels: &t.labels,
        taints: &t.taints,
        unschedulable: false,
    };
    let mut room = t.allocatable.clone();
    for ds in &snapshot.daemonsets {
        if static_fit(&ds.placement, shape).is_ok() {
            room.sub(&ds.requests);
        }
    }
    room
}

fn group_status(v: &GroupView<'_>, new_node_room: Arc<BTreeMap<String, String>>) -> GroupStatus {
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
        priority: g.priority,
        template: match &g.template.source {
            TemplateSource::Node(name) => format!("node/{name}"),
            TemplateSource::InstanceType => "instance-type".to_string(),
        },
        new_node_room,
    }
}

#[cfg(test)]
mod invariants;
#[cfg(test)]
mod maintenance_tests;
#[cfg(test)]
mod tests;

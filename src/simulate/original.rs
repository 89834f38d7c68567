//! The original tool's decisions, for `--policy original`: a comparison point, so operators
//! see on their own trace what ekas changes. It is a model of that tool, not of ekas, and
//! shares none of ekas's planning:
//!
//! 1. Pending pods first fill free room on Ready nodes whose labels match their nodeSelector
//!    (first fit; taints and affinity were not looked at).
//! 2. The rest, per nodeSelector, go to the first matching group in region order (then by
//!    name), packed first-fit onto new nodes of the group's capacity. The group's desired
//!    capacity becomes its registered nodes + the new nodes + `--over-provision` (the
//!    original's default was 5), within MaxSize, and only ever goes up; what it cannot take
//!    goes to the next matching group. A group whose launch failed in the last hour takes
//!    nothing new and has its desired capacity set back to its instances.
//! 3. Idle nodes are judged by age since launch, not by how long they have been idle: up to
//!    `--type-idle-count` idle nodes per group younger than `--type-idle-threshold` are kept as
//!    spares, others younger than `--idle-threshold` wait; older idle nodes are cordoned, and
//!    terminated on the next pass (at most `--max-scale-in-fraction` of the nodes per pass).
//!    Busy cordoned nodes are uncordoned; a group at MinSize is left alone; instances that
//!    have not joined after `--instance-init-time` are replaced.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use super::policy::{Decisions, Desired};
use crate::engine;
use crate::engine::capacity::backoff::classify;
use crate::engine::capacity::membership::Membership;
use crate::engine::scale_in::idle_threshold::IdleThreshold;
use crate::engine::scale_in::scale_in_budget;

/// The original tool's `--idle-threshold` default: 55 minutes, for hourly billing.
pub const ORIGINAL_IDLE_THRESHOLD: jiff::SignedDuration = jiff::SignedDuration::from_secs(3300);
use crate::model::scheduling::Labels;
use crate::model::{NodeGroup, Pod, Resources, Snapshot};
use crate::plan::NodeActionKind;

/// How long the original tool avoided a group after a failed launch.
const TIMEOUT: SignedDuration = SignedDuration::from_hours(1);

pub fn decide(snapshot: &Snapshot, config: &engine::Config) -> Decisions {
    let mut decisions = Decisions::default();
    let mut cluster = Cluster::read(snapshot);
    let waiting = fill_free_room(snapshot, &mut cluster.free);
    let timed_out = reset_failed_groups(snapshot, &mut decisions);
    let raised = raise_groups(snapshot, config, &cluster, &waiting, &timed_out);
    put_back_to_work(snapshot, &cluster, &raised, &mut decisions);
    scale_in_by_age(snapshot, config, &cluster, &waiting, &mut decisions);
    replace_unjoined(snapshot, config, &mut decisions);
    decisions
}

/// The nodes as the original tool saw them: free room, whether busy, group of each.
struct Cluster {
    free: Vec<Resources>,
    /// Runs a pod other than a DaemonSet or mirror pod.
    busy: Vec<bool>,
    node_group: Vec<Option<usize>>,
    /// Registered nodes per group.
    nodes_in: Vec<u32>,
}

impl Cluster {
    fn read(snapshot: &Snapshot) -> Cluster {
        let by_name = snapshot.node_index();
        let mut busy = vec![false; snapshot.nodes.len()];
        for pod in snapshot.pods.iter().filter(|p| p.is_active()) {
            if let Some(&n) = pod.node_name.as_deref().and_then(|name| by_name.get(name)) {
                busy[n] |= !pod.is_daemonset() && !pod.mirror;
            }
        }
        let node_group = Membership::new(snapshot).node_group;
        let mut nodes_in = vec![0u32; snapshot.groups.len()];
        for g in node_group.iter().flatten() {
            nodes_in[*g] += 1;
        }
        Cluster {
            free: snapshot.free_room(),
            busy,
            node_group,
            nodes_in,
        }
    }
}

/// Pods still waiting for a node, by nodeSelector.
type Waiting<'a> = BTreeMap<&'a Labels, Vec<&'a Pod>>;

/// Step 1: pending pods onto free room of matching nodes; the rest wait, by nodeSelector.
fn fill_free_room<'a>(snapshot: &'a Snapshot, free: &mut [Resources]) -> Waiting<'a> {
    let mut pending: Vec<&Pod> = snapshot.pods.iter().filter(|p| p.is_pending()).collect();
    pending.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut waiting: Waiting<'a> = BTreeMap::new();
    for pod in pending {
        let fit = (0..snapshot.nodes.len()).find(|&n| {
            let node = &snapshot.nodes[n];
            node.ready
                && !node.unschedulable
                && matches(&pod.placement.node_selector, &node.labels)
                && pod.requests.fits_in(&free[n])
        });
        match fit {
            Some(n) => free[n].sub(&pod.requests),
            None => waiting
                .entry(&pod.placement.node_selector)
                .or_default()
                .push(pod),
        }
    }
    waiting
}

/// Groups whose launch failed in the last hour: set back to their instances, and marked.
fn reset_failed_groups(snapshot: &Snapshot, decisions: &mut Decisions) -> Vec<bool> {
    let now = snapshot.captured_at;
    let failed_lately: std::collections::HashSet<(&str, &str)> = snapshot
        .activities
        .iter()
        .filter(|a| now.duration_since(a.start_time) < TIMEOUT && classify(a).is_some())
        .map(|a| (a.region.as_str(), a.group.as_str()))
        .collect();
    let timed_out: Vec<bool> = snapshot
        .groups
        .iter()
        .map(|g| failed_lately.contains(&(g.region.as_str(), g.name.as_str())))
        .collect();
    for (g, group) in snapshot.groups.iter().enumerate() {
        let instances = group.members.iter().filter(|m| m.is_live()).count() as u32;
        if timed_out[g] && group.desired > instances.max(group.min_size) {
            decisions
                .resets
                .push(desired(group, instances.max(group.min_size)));
        }
    }
    timed_out
}

/// Step 2: the waiting pods onto new nodes of the first matching groups, in region order: the
/// desired capacity each group is raised to.
fn raise_groups(
    snapshot: &Snapshot,
    config: &engine::Config,
    cluster: &Cluster,
    waiting: &Waiting<'_>,
    timed_out: &[bool],
) -> BTreeMap<usize, u32> {
    let mut order: Vec<usize> = (0..snapshot.groups.len()).collect();
    order.sort_by_key(|&g| {
        let group = &snapshot.groups[g];
        (snapshot.region_rank(&group.region), group.name.as_str())
    });
    let mut raised: BTreeMap<usize, u32> = BTreeMap::new();
    for (selector, pods) in waiting {
        let mut left: Vec<&Pod> = pods.clone();
        for &g in &order {
            let group = &snapshot.groups[g];
            if left.is_empty() {
                break;
            }
            if !matches(selector, &group.template.labels) {
                continue;
            }
            let bins = first_fit(&left, &group.template.allocatable);
            let actual = cluster.nodes_in[g];
            let desired_now = raised.get(&g).copied().unwrap_or(group.desired);
            let needed = bins.len() as u32 + config.over_provision;
            let room = if timed_out[g] {
                desired_now.saturating_sub(actual)
            } else {
                group.max_size.saturating_sub(actual)
            };
            let requested = needed.min(room);
            let target = (actual + requested).min(group.max_size);
            if target > desired_now {
                raised.insert(g, target);
            }
            let mut served = vec![false; left.len()];
            for members in bins.iter().take(requested as usize) {
                for &i in members {
                    served[i] = true;
                }
            }
            left = left
                .iter()
                .zip(served)
                .filter(|(_, served)| !served)
                .map(|(p, _)| *p)
                .collect();
        }
    }
    raised
}

/// `pods` packed first fit onto new nodes of room `unit`: each node's pods (by index).
fn first_fit(pods: &[&Pod], unit: &Resources) -> Vec<Vec<usize>> {
    let mut bins: Vec<(Resources, Vec<usize>)> = Vec::new();
    for (i, pod) in pods.iter().enumerate() {
        if !pod.requests.fits_in(unit) {
            continue;
        }
        match bins.iter_mut().find(|(room, _)| pod.requests.fits_in(room)) {
            Some((room, members)) => {
                room.sub(&pod.requests);
                members.push(i);
            }
            None => bins.push((unit.minus(&pod.requests), vec![i])),
        }
    }
    bins.into_iter().map(|(_, members)| members).collect()
}

/// Each raised group: its cordoned nodes put back to work first, then its new size.
fn put_back_to_work(
    snapshot: &Snapshot,
    cluster: &Cluster,
    raised: &BTreeMap<usize, u32>,
    decisions: &mut Decisions,
) {
    let node_group = &cluster.node_group;
    for (&g, &target) in raised {
        let group = &snapshot.groups[g];
        let mut schedulable = snapshot
            .nodes
            .iter()
            .zip(node_group)
            .filter(|(n, x)| **x == Some(g) && !n.unschedulable)
            .count() as u32;
        for (n, node) in snapshot.nodes.iter().enumerate() {
            if schedulable >= target {
                break;
            }
            if node_group[n] == Some(g) && node.unschedulable && node.marks.cordoned_by_ekas {
                decisions
                    .nodes
                    .push((node.name.clone(), NodeActionKind::Uncordon, false));
                schedulable += 1;
            }
        }
        decisions.raises.push(desired(group, target));
    }
}

/// Step 3: idle nodes, by age since launch: spares kept, the young wait, the old cordoned, the
/// cordoned terminated within the pass's budget; busy cordoned nodes uncordoned.
fn scale_in_by_age(
    snapshot: &Snapshot,
    config: &engine::Config,
    cluster: &Cluster,
    waiting: &Waiting<'_>,
    decisions: &mut Decisions,
) {
    let now = snapshot.captured_at;
    let node_group = &cluster.node_group;
    let maintenance = &config.maintenance;
    // The original tool had one threshold for every group; `auto` is ekas's, not its.
    let idle_threshold = match maintenance.idle_threshold {
        IdleThreshold::Fixed(d) => d,
        IdleThreshold::Auto => ORIGINAL_IDLE_THRESHOLD,
    };
    let launched: HashMap<&str, Timestamp> = snapshot
        .instances
        .iter()
        .filter_map(|i| Some((i.id.as_str(), i.launch_time?)))
        .collect();
    let waiting_selectors: Vec<&Labels> = waiting.keys().copied().collect();
    let mut spares: HashMap<usize, usize> = HashMap::new();
    let mut removals = scale_in_budget(
        node_group.iter().filter(|g| g.is_some()).count(),
        maintenance.max_scale_in_fraction,
    );
    let mut decrements: HashMap<usize, u32> = HashMap::new();
    for (n, node) in snapshot.nodes.iter().enumerate() {
        let Some(g) = node_group[n] else { continue };
        let group = &snapshot.groups[g];
        if node.marks.detached || cluster.nodes_in[g] <= group.min_size {
            continue;
        }
        let uncordon = (node.name.clone(), NodeActionKind::Uncordon, false);
        if cluster.busy[n] {
            if node.unschedulable && !decisions.nodes.contains(&uncordon) {
                decisions.nodes.push(uncordon);
            }
            continue;
        }
        if !node.unschedulable && waiting_selectors.iter().any(|s| matches(s, &node.labels)) {
            continue;
        }
        let launch = node
            .instance_id
            .as_deref()
            .and_then(|id| launched.get(id).copied())
            .or(node.created)
            .unwrap_or(now);
        let age = now.duration_since(launch);
        let spare = spares.entry(g).or_default();
        if !node.unschedulable {
            if *spare < maintenance.type_idle_count && age <= maintenance.type_idle_threshold {
                *spare += 1;
                continue;
            }
            if age <= idle_threshold {
                continue;
            }
            decisions
                .nodes
                .push((node.name.clone(), NodeActionKind::Cordon, false));
            continue;
        }
        if removals == 0 {
            continue;
        }
        removals -= 1;
        let planned = decrements.entry(g).or_default();
        let decrement = group.desired.saturating_sub(*planned) > group.min_size;
        *planned += u32::from(decrement);
        decisions
            .nodes
            .push((node.name.clone(), NodeActionKind::Terminate, decrement));
    }
}

/// Instances that never joined after `--instance-init-time`: replaced.
fn replace_unjoined(snapshot: &Snapshot, config: &engine::Config, decisions: &mut Decisions) {
    let now = snapshot.captured_at;
    let maintenance = &config.maintenance;
    let joined: std::collections::HashSet<&str> = snapshot
        .nodes
        .iter()
        .filter_map(|n| n.instance_id.as_deref())
        .collect();
    for instance in &snapshot.instances {
        let age = instance.launch_time.map(|t| now.duration_since(t));
        if instance.group.is_some()
            && !joined.contains(&instance.id.as_str())
            && age.is_some_and(|a| a >= maintenance.instance_init_time)
        {
            decisions.replace.push(instance.id.clone());
        }
    }
}

/// The original tool's match: every nodeSelector label present with the same value.
fn matches(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn desired(group: &NodeGroup, desired: u32) -> Desired {
    Desired {
        region: group.region.clone(),
        group: group.name.clone(),
        desired,
    }
}

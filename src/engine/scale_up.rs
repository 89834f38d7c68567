//! Scale-up: where every pending pod will run.
//!
//! 1. Pending pods are grouped into classes of identical pods (same request, same placement),
//!    so a queue of 100k job pods made from a few templates costs a few predicate checks.
//! 2. Classes are packed largest first (first-fit decreasing) onto free room on schedulable
//!    nodes, then onto capacity already requested but not yet joined.
//! 3. The rest go to new nodes, one group at a time: among the groups that can take any of
//!    them, the first region in `--regions` order, then the highest `ekas/priority`, then the
//!    least estimated waste. Groups in backoff or at MaxSize take nothing.
//! 4. Whatever is left is unschedulable, with a reason for every group.
//!
//! Each class keeps a cursor into the list of nodes: nodes only fill up, so a node that could
//! not take one pod of a class cannot take the next one either, and first-fit stays linear.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use super::backoff::Backoff;
use super::predicates::{NodeShape, repel, static_fit};
use super::startup::NodeUse;
use crate::model::resources::format_amount;
use crate::model::{NodeGroup, Pod, Resources, Snapshot};
use crate::plan::Destination;

/// A group as the planner sees it.
#[derive(Debug)]
pub struct GroupView<'a> {
    pub group: &'a NodeGroup,
    pub rank: usize,
    /// Room on a new node once its DaemonSet pods run.
    pub room: Resources,
    pub registered: u32,
    pub upcoming: u32,
    pub backoff: Option<&'a Backoff>,
}

impl GroupView<'_> {
    fn headroom(&self) -> u32 {
        self.group.max_size.saturating_sub(self.group.desired)
    }
}

/// Where one pending pod goes.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub destination: Destination,
    /// Node name (existing) or group index as a name (upcoming, new).
    pub target: Option<String>,
}

#[derive(Debug)]
pub struct GroupScaleUp {
    pub group: usize,
    pub nodes: u32,
    pub pods: Vec<usize>,
}

#[derive(Debug)]
pub struct ScaleUpResult {
    /// Pending pod indices (into `snapshot.pods`) with their assignment.
    pub assignments: Vec<(usize, Assignment)>,
    pub scale_ups: Vec<GroupScaleUp>,
    /// Unschedulable pod indices with a reason per group name.
    pub unschedulable: Vec<(usize, BTreeMap<String, String>)>,
}

/// How much a group is wanted for the remaining pods; smaller is better.
struct Preference {
    rank: usize,
    priority: i64,
    waste: f64,
    pods: usize,
}

impl Preference {
    /// Region order, then higher priority, then less waste, then more pods served.
    fn cmp(&self, other: &Preference) -> std::cmp::Ordering {
        self.rank
            .cmp(&other.rank)
            .then(other.priority.cmp(&self.priority))
            .then(self.waste.total_cmp(&other.waste))
            .then(other.pods.cmp(&self.pods))
    }
}

struct Class {
    requests: Resources,
    /// A member, standing for all: they share requests, placement (and labels when
    /// anti-affinity is in play).
    rep: usize,
    pods: Vec<usize>,
    /// Pods before this index are placed.
    next: usize,
    /// Two pods of the class may not share a node.
    self_repel: bool,
}

impl Class {
    fn remaining(&self) -> usize {
        self.pods.len() - self.next
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Node(usize),
    Group(usize),
}

struct Bin {
    free: Resources,
    shape: Shape,
    /// Pods on the node, tracked only when some pod has hostname anti-affinity.
    residents: Vec<usize>,
}

struct Planner<'a> {
    snapshot: &'a Snapshot,
    groups: &'a [GroupView<'a>],
    /// Per node: room for pods, reclaimable (cordoned by ekas), or neither.
    node_use: &'a [NodeUse],
    classes: Vec<Class>,
    anti_affinity_in_play: bool,
    fit_cache: HashMap<(Shape, usize), bool>,
    assignments: Vec<(usize, Assignment)>,
}

/// `node_use` says which nodes take pods ([`super::startup::node_use`]); reclaimable ones
/// (cordoned by ekas) are used after the schedulable nodes and before any new node.
pub fn plan_scale_up(
    snapshot: &Snapshot,
    groups: &[GroupView<'_>],
    node_use: &[NodeUse],
) -> ScaleUpResult {
    let pending: Vec<usize> = (0..snapshot.pods.len())
        .filter(|&i| snapshot.pods[i].is_pending())
        .collect();
    let anti_affinity_in_play = snapshot
        .pods
        .iter()
        .any(|p| !p.placement.anti_affinity.is_empty() && p.is_active());
    let mut planner = Planner {
        snapshot,
        groups,
        node_use,
        classes: classes(snapshot, &pending, anti_affinity_in_play),
        anti_affinity_in_play,
        fit_cache: HashMap::new(),
        assignments: Vec::with_capacity(pending.len()),
    };
    let mut bins = planner.existing_bins();
    planner.upcoming_bins(&mut bins);
    planner.pack(&mut bins, None);
    let scale_ups = planner.scale_up_groups();
    let unschedulable = planner.explain_unschedulable();
    ScaleUpResult {
        assignments: planner.assignments,
        scale_ups,
        unschedulable,
    }
}

/// Pending pods grouped into classes of identical pods, largest first.
fn classes(snapshot: &Snapshot, pending: &[usize], by_labels: bool) -> Vec<Class> {
    type Key<'a> = (
        &'a Resources,
        *const (),
        Option<(&'a str, &'a crate::model::scheduling::Labels)>,
    );
    let mut index: HashMap<Key<'_>, usize> = HashMap::new();
    let mut classes: Vec<Class> = Vec::new();
    for &i in pending {
        let pod = &snapshot.pods[i];
        // Placements are interned: equal placements share one allocation.
        let placement = std::sync::Arc::as_ptr(&pod.placement) as *const ();
        let labels = by_labels.then_some((pod.namespace.as_str(), &pod.labels));
        let key = (&pod.requests, placement, labels);
        let c = *index.entry(key).or_insert_with(|| {
            classes.push(Class {
                requests: pod.requests.clone(),
                rep: i,
                pods: Vec::new(),
                next: 0,
                self_repel: repel(pod, pod),
            });
            classes.len() - 1
        });
        classes[c].pods.push(i);
    }
    for class in &mut classes {
        class
            .pods
            .sort_by(|&a, &b| pod_order(&snapshot.pods[a]).cmp(&pod_order(&snapshot.pods[b])));
        class.rep = class.pods[0];
    }
    // Largest first: scarce extended resources (GPUs), then cpu, memory, storage.
    classes.sort_by(|a, b| {
        let size = |c: &Class| {
            let extended: i64 = c.requests.extended().iter().map(|(_, v)| v).sum();
            Reverse((
                extended,
                c.requests.cpu,
                c.requests.memory,
                c.requests.ephemeral_storage,
            ))
        };
        size(a)
            .cmp(&size(b))
            .then_with(|| pod_order(&snapshot.pods[a.rep]).cmp(&pod_order(&snapshot.pods[b.rep])))
    });
    classes
}

fn pod_order(pod: &Pod) -> (&str, &str) {
    (&pod.namespace, &pod.name)
}

impl<'a> Planner<'a> {
    fn shape(&self, shape: Shape) -> NodeShape<'a> {
        match shape {
            Shape::Node(n) => {
                let node = &self.snapshot.nodes[n];
                NodeShape {
                    name: Some(&node.name),
                    labels: &node.labels,
                    taints: &node.taints,
                    unschedulable: node.unschedulable && self.node_use[n] != NodeUse::Reclaimable,
                }
            }
            Shape::Group(g) => {
                let t = &self.groups[g].group.template;
                NodeShape {
                    name: None,
                    labels: &t.labels,
                    taints: &t.taints,
                    unschedulable: false,
                }
            }
        }
    }

    fn fits_statically(&mut self, shape: Shape, class: usize) -> bool {
        if let Some(&fit) = self.fit_cache.get(&(shape, class)) {
            return fit;
        }
        let pod = &self.snapshot.pods[self.classes[class].rep];
        let fit = static_fit(&pod.placement, self.shape(shape)).is_ok();
        self.fit_cache.insert((shape, class), fit);
        fit
    }

    fn accepts(&mut self, bin: &Bin, class: usize, pod: usize) -> bool {
        if !self.classes[class].requests.fits_in(&bin.free)
            || !self.fits_statically(bin.shape, class)
        {
            return false;
        }
        if !self.anti_affinity_in_play {
            return true;
        }
        let pods = &self.snapshot.pods;
        !bin.residents.iter().any(|&r| repel(&pods[pod], &pods[r]))
    }

    /// Free room on ready, schedulable nodes, in name order.
    fn existing_bins(&self) -> Vec<Bin> {
        let nodes = &self.snapshot.nodes;
        let by_name: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut bins: Vec<Bin> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Bin {
                free: n.allocatable.clone(),
                shape: Shape::Node(i),
                residents: Vec::new(),
            })
            .collect();
        for (i, pod) in self.snapshot.pods.iter().enumerate() {
            let Some(&n) = pod.node_name.as_deref().and_then(|name| by_name.get(name)) else {
                continue;
            };
            if pod.is_active() {
                bins[n].free.sub(&pod.requests);
                if self.anti_affinity_in_play {
                    bins[n].residents.push(i);
                }
            }
        }
        let mut bins: Vec<Bin> = bins
            .into_iter()
            .filter(|b| {
                let Shape::Node(n) = b.shape else {
                    unreachable!()
                };
                self.node_use[n] != NodeUse::NotABin
            })
            .collect();
        // Schedulable nodes first: a cordoned node is reclaimed only for what they cannot take.
        bins.sort_by(|a, b| {
            let key = |bin: &Bin| match bin.shape {
                Shape::Node(n) => (nodes[n].unschedulable, nodes[n].name.as_str()),
                Shape::Group(_) => (false, ""),
            };
            key(a).cmp(&key(b))
        });
        bins
    }

    /// One bin per node requested but not yet joined, in group preference order. Each pod
    /// takes one bin, so a group needs no more bins than there are pending pods: a desired
    /// capacity of millions costs no more than the queue.
    fn upcoming_bins(&self, bins: &mut Vec<Bin>) {
        let pending: usize = self.classes.iter().map(|c| c.pods.len()).sum();
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&g| {
            let v = &self.groups[g];
            (v.rank, Reverse(v.group.priority), v.group.name.as_str())
        });
        for g in order {
            let upcoming = usize::try_from(self.groups[g].upcoming).unwrap_or(usize::MAX);
            for _ in 0..upcoming.min(pending) {
                bins.push(Bin {
                    free: self.groups[g].room.clone(),
                    shape: Shape::Group(g),
                    residents: Vec::new(),
                });
            }
        }
    }

    /// First-fit decreasing of the unplaced pods into `bins`. With `open`, new bins of that
    /// group are added on demand, up to its headroom. Returns the bins opened.
    fn pack(&mut self, bins: &mut Vec<Bin>, open: Option<usize>) -> Vec<usize> {
        let mut placed = Vec::new();
        let mut opened = 0u32;
        for c in 0..self.classes.len() {
            if self.classes[c].remaining() == 0 {
                continue;
            }
            let may_open = open.is_some_and(|g| {
                self.classes[c].requests.fits_in(&self.groups[g].room)
                    && self.fits_statically(Shape::Group(g), c)
            });
            let mut cursor = 0;
            while self.classes[c].remaining() > 0 {
                let pod = self.classes[c].pods[self.classes[c].next];
                while cursor < bins.len() && !self.accepts(&bins[cursor], c, pod) {
                    cursor += 1;
                }
                if cursor == bins.len() {
                    let Some(g) = open.filter(|&g| may_open && opened < self.groups[g].headroom())
                    else {
                        break;
                    };
                    bins.push(Bin {
                        free: self.groups[g].room.clone(),
                        shape: Shape::Group(g),
                        residents: Vec::new(),
                    });
                    opened += 1;
                }
                let bin = &mut bins[cursor];
                bin.free.sub(&self.classes[c].requests);
                if self.anti_affinity_in_play {
                    bin.residents.push(pod);
                }
                let assignment = match (open, bin.shape) {
                    (Some(g), _) => Assignment {
                        destination: Destination::NewNode,
                        target: Some(self.groups[g].group.name.clone()),
                    },
                    (None, Shape::Node(n)) => Assignment {
                        destination: Destination::ExistingNode,
                        target: Some(self.snapshot.nodes[n].name.clone()),
                    },
                    (None, Shape::Group(g)) => Assignment {
                        destination: Destination::UpcomingNode,
                        target: Some(self.groups[g].group.name.clone()),
                    },
                };
                self.assignments.push((pod, assignment));
                placed.push(pod);
                self.classes[c].next += 1;
            }
        }
        placed
    }

    /// Estimated nodes, pods served and waste (0 = every new node full) if `g` took every
    /// remaining pod it can. Each class is counted as the fraction of a node its pods fill, so
    /// small classes may share nodes; it only ranks groups, and `pack` decides.
    fn estimate(&mut self, g: usize) -> Option<(u32, usize, f64)> {
        let room = self.groups[g].room.clone();
        let headroom = f64::from(self.groups[g].headroom());
        let (mut node_share, mut pods) = (0f64, 0usize);
        let (mut cpu, mut memory) = (0f64, 0f64);
        for c in 0..self.classes.len() {
            let n = self.classes[c].remaining();
            if n == 0 || !self.fits_statically(Shape::Group(g), c) {
                continue;
            }
            let per_node = match self.classes[c].requests.copies_in(&room) {
                0 => continue,
                _ if self.classes[c].self_repel => 1,
                k => k,
            };
            node_share += n as f64 / per_node as f64;
            pods += n;
            cpu += n as f64 * self.classes[c].requests.cpu as f64;
            memory += n as f64 * self.classes[c].requests.memory as f64;
        }
        if pods == 0 {
            return None;
        }
        let nodes = (node_share - 1e-9).ceil().clamp(1.0, headroom.max(1.0));
        let share = |used: f64, per_node: i64| {
            if per_node <= 0 {
                1.0
            } else {
                (used / (nodes * per_node as f64)).min(1.0)
            }
        };
        let waste = 1.0 - (share(cpu, room.cpu) + share(memory, room.memory)) / 2.0;
        Some((nodes as u32, pods, waste))
    }

    fn scale_up_groups(&mut self) -> Vec<GroupScaleUp> {
        let mut candidates: Vec<usize> = (0..self.groups.len())
            .filter(|&g| self.groups[g].backoff.is_none() && self.groups[g].headroom() > 0)
            .collect();
        let mut out = Vec::new();
        loop {
            let mut best: Option<(usize, Preference)> = None;
            for &g in &candidates {
                let Some((_, pods, waste)) = self.estimate(g) else {
                    continue;
                };
                let v = &self.groups[g];
                let preference = Preference {
                    rank: v.rank,
                    priority: v.group.priority,
                    waste,
                    pods,
                };
                let better = best.as_ref().is_none_or(|(b, best_pref)| {
                    preference
                        .cmp(best_pref)
                        .then_with(|| v.group.name.cmp(&self.groups[*b].group.name))
                        .is_lt()
                });
                if better {
                    best = Some((g, preference));
                }
            }
            let Some((g, _)) = best else { break };
            candidates.retain(|&c| c != g);
            let mut bins = Vec::new();
            let pods = self.pack(&mut bins, Some(g));
            if !pods.is_empty() {
                out.push(GroupScaleUp {
                    group: g,
                    nodes: bins.len() as u32,
                    pods,
                });
            }
        }
        out
    }

    fn explain_unschedulable(&mut self) -> Vec<(usize, BTreeMap<String, String>)> {
        let mut out = Vec::new();
        for c in 0..self.classes.len() {
            if self.classes[c].remaining() == 0 {
                continue;
            }
            let reasons: BTreeMap<String, String> = (0..self.groups.len())
                .map(|g| (self.groups[g].group.name.clone(), self.refusal(g, c)))
                .collect();
            let class = &self.classes[c];
            for &pod in &class.pods[class.next..] {
                out.push((pod, reasons.clone()));
            }
        }
        out.sort_by(|a, b| {
            pod_order(&self.snapshot.pods[a.0]).cmp(&pod_order(&self.snapshot.pods[b.0]))
        });
        out
    }

    /// Why group `g` does not take the remaining pods of class `c`, most permanent reason first.
    fn refusal(&self, g: usize, c: usize) -> String {
        let v = &self.groups[g];
        let pod = &self.snapshot.pods[self.classes[c].rep];
        if let Err(unfit) = static_fit(&pod.placement, self.shape(Shape::Group(g))) {
            return unfit.to_string();
        }
        if let Some(short) = self.classes[c].requests.shortfall(&v.room) {
            return format!(
                "needs {} {}, {} offers {}",
                format_amount(&short.resource, short.needed),
                short.resource,
                v.group.instance_type,
                format_amount(&short.resource, short.available),
            );
        }
        if let Some(b) = v.backoff {
            return format!("in backoff until {}: {}", b.until, b.failure);
        }
        if v.headroom() == 0 {
            return format!("group at MaxSize ({})", v.group.max_size);
        }
        if self.classes[c].self_repel || self.anti_affinity_in_play {
            return format!(
                "group reaches MaxSize ({}) in this plan, or pod anti-affinity keeps it off the new nodes",
                v.group.max_size
            );
        }
        format!("group reaches MaxSize ({}) in this plan", v.group.max_size)
    }
}

//! Scale-up: where every pending pod will run.
//!
//! 1. A pod that preemption is making room for (`nominatedNodeName`, and it fits there once the
//!    lower-priority pods are evicted) is served on that node and reserves its room.
//! 2. The other pending pods are grouped into classes of identical pods (same request,
//!    placement and priority, and when pods constrain each other, same namespace and same
//!    answers to every pod selector in play), so a queue of 100k job pods made from a few
//!    templates costs a few predicate checks.
//! 3. Classes are packed highest priority first, then largest first (first-fit decreasing,
//!    the size being cpu and memory together, each as a share of the groups' room), onto free
//!    room on schedulable nodes, then onto capacity already requested.
//! 4. The rest go to new nodes — except pods below `--expendable-pods-priority-cutoff`, and pods
//!    younger than `--new-pod-scale-up-delay` or (with `--scale-up-only-unschedulable`) not yet
//!    given up on by the scheduler — one group at a time: among the groups that can take any of
//!    them, the first region in `--regions` order, then as the `--expander` chain ranks what
//!    each would do with all of them ([`crate::engine::scale_up::expander`]; by default the highest
//!    `ekas/priority`, then the fewest dollars per hour for the requests served). Groups in
//!    backoff or at MaxSize take nothing. With balancing, the
//!    chosen group's similar groups (equal but for zone) share its nodes, smallest first.
//!    Nodes opened for one group stay open to later pods, whichever group they came from.
//! 5. Whatever is left is unschedulable, with a reason for every group.
//! 6. A gang ([`crate::engine::scale_up::gang`]) is planned as one unit. Its pods form classes of their own,
//!    packed before loose pods of lower or equal size, so loose pods do not take the room it
//!    needs. When fewer of its pods than it needs get a destination, the plan is made again
//!    without the gang — the first such gang in packing order, one per round — so nothing of
//!    its failed try is left behind, and its pods are unschedulable with the gang's reason.
//!    A plan takes at most one round more than there are gangs that do not fit.
//!
//! Constraints between pods — inter-pod affinity and anti-affinity, topology spread, host
//! ports — are kept by [`crate::engine::scale_up::topology`] as pods are placed, so pods placed on new nodes in
//! this plan count for the later ones.
//!
//! Each class keeps a cursor into the list of bins: bins only fill up, so a bin that could not
//! take one pod of a class cannot take the next one either, and first-fit stays linear. Only a
//! class with pod affinity or spread constraints can find a refused bin taking it later (a
//! matching pod arrived, the spread minimum rose); it is told when, and starts over, skipping
//! the bins it was refused for good.

pub mod expander;
pub mod gang;
pub mod predicates;
pub mod topology;

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::engine::capacity::backoff::Backoff;
use crate::engine::capacity::startup::NodeUse;
use crate::model::resources::format_amount;
use crate::model::scheduling::{HostPort, Labels, ZONE_LABELS};
use crate::model::{NodeGroup, Pod, Resources, Snapshot};
use crate::plan::{Destination, GangStatus};
use expander::{Candidate, Estimate, Expander};
use gang::Gangs;
use predicates::{NodeShape, fits_in_some_zone, static_fit, unknown_zones};
use topology::{Selectors, SiteShape, Topology};

/// The operator's choices about which pods buy nodes and how groups share them.
#[derive(Debug, Clone)]
pub struct ScaleUpPolicy {
    /// Groups equal but for zone share each scale-up, so zones stay even (`--no-balance`).
    pub balance: bool,
    /// A gang's pods buy nodes all together or not at all (`--no-gangs` turns it off).
    pub gangs: bool,
    /// Pods with a lower priority never buy a node (`--expendable-pods-priority-cutoff`).
    pub expendable_cutoff: i32,
    /// Only pods the scheduler marked unschedulable buy nodes (`--scale-up-only-unschedulable`).
    pub only_unschedulable: bool,
    /// Pods younger than this do not buy nodes yet (`--new-pod-scale-up-delay`).
    pub new_pod_delay: SignedDuration,
    /// How the group that buys nodes is chosen, each narrowing the last's choice (`--expander`).
    pub expanders: Vec<Expander>,
    /// The cluster is unhealthy (too many nodes NotReady): pods take the room there is, and
    /// no node is bought — a CNI or control-plane fault would keep new nodes NotReady too, and
    /// each pass would buy more (cluster-autoscaler stops scaling up the same way).
    pub halted: bool,
    /// Within a region, groups with fewer interruption notices lately go first
    /// (`--avoid-interrupted-groups`).
    pub avoid_interrupted: bool,
}

impl Default for ScaleUpPolicy {
    fn default() -> Self {
        ScaleUpPolicy {
            balance: true,
            gangs: true,
            expendable_cutoff: -10,
            only_unschedulable: false,
            new_pod_delay: SignedDuration::ZERO,
            expanders: Expander::default_chain(),
            avoid_interrupted: false,
            halted: false,
        }
    }
}

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
    /// Every gang with pending pods and its verdict, in namespace/name order.
    pub gangs: Vec<GangStatus>,
}

/// Whether a pending pod's leftovers may buy a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Need {
    NewNode,
    /// Priority below the cutoff: served by free room only.
    Expendable,
    /// Too young, or not yet given up on by the scheduler: not yet.
    Waiting,
    /// Capacity a ProvisioningRequest checks for or has booked: free room and capacity
    /// already requested, never a new node.
    Hold,
}

struct Class {
    requests: Resources,
    /// A member, standing for all: they share requests, placement, priority (and namespace and
    /// selector matches when pods constrain each other).
    rep: usize,
    pods: Vec<usize>,
    /// Pods before this index are placed.
    next: usize,
    priority: i32,
    need: Need,
    /// First bin not yet found refusing the class.
    cursor: usize,
    /// Per bin: refused for good (kept only for classes whose refusals can lift).
    refused: Vec<bool>,
    /// The gang its pods are in (index into [`Gangs::list`]).
    gang: Option<usize>,
}

impl Class {
    fn remaining(&self) -> usize {
        self.pods.len() - self.next
    }
}

/// The groups' room together, which weighs a pod's cpu against its memory.
struct ReferenceRoom {
    cpu: i64,
    memory: i64,
}

impl ReferenceRoom {
    /// A pod's cpu and memory as shares of the reference, summed, in parts per 10^12 (an
    /// integer, to sort by). Without groups, nothing to weigh by: 0, and the next keys decide.
    fn size(&self, requests: &Resources) -> i64 {
        let share = |used: i64, total: i64| match total {
            t if t > 0 => used as f64 / t as f64,
            _ => 0.0,
        };
        let sum = share(requests.cpu, self.cpu) + share(requests.memory, self.memory);
        (sum * 1e12).round() as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Node(usize),
    Group(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinKind {
    Existing,
    Upcoming,
    New,
}

struct Bin {
    free: Resources,
    shape: Shape,
    kind: BinKind,
    /// The bin's site in the topology, when there is one.
    site: usize,
}

struct Planner<'a> {
    snapshot: &'a Snapshot,
    groups: &'a [GroupView<'a>],
    /// Per node: room for pods, reclaimable (cordoned by ekas), or neither.
    node_use: &'a [NodeUse],
    policy: &'a ScaleUpPolicy,
    gangs: &'a Gangs<'a>,
    classes: Vec<Class>,
    bins: Vec<Bin>,
    /// Constraints between pods, when any pod has one.
    topology: Option<Topology<'a>>,
    /// Per group: its template site, which asks whether the group's next node takes a class.
    template_sites: Vec<usize>,
    fit_cache: HashMap<(Shape, usize), bool>,
    /// Per group: new nodes opened in this plan.
    opened: Vec<u32>,
    assignments: Vec<(usize, Assignment)>,
}

/// `node_use` says which nodes take pods ([`crate::engine::capacity::startup::node_use`]); reclaimable ones
/// (cordoned by ekas) are used after the schedulable nodes and before any new node.
pub fn plan_scale_up(
    snapshot: &Snapshot,
    groups: &[GroupView<'_>],
    node_use: &[NodeUse],
    policy: &ScaleUpPolicy,
) -> ScaleUpResult {
    // A ProvisioningRequest's pods are a gang even with `--no-gangs`: all-or-nothing is what
    // the request asks for.
    let gangs = Gangs::of(snapshot, policy.gangs);
    // Gangs that do not fit, with what stopped them: planned without, one more per round.
    let mut set_aside: Vec<(usize, GangStatus)> = Vec::new();
    loop {
        let mut aside = vec![false; gangs.list.len()];
        for (g, _) in &set_aside {
            aside[*g] = true;
        }
        let mut planner = Planner::new(snapshot, groups, node_use, policy, &gangs);
        let pending: Vec<usize> = (0..snapshot.pods.len())
            .filter(|&i| snapshot.pods[i].is_pending())
            .filter(|&i| gangs.of_pod(i).is_none_or(|g| !aside[g]))
            .collect();
        planner.plan(pending);
        let scale_ups = planner.scale_up_groups();
        if let Some(short) = planner.first_short_gang() {
            set_aside.push(short);
            continue;
        }
        let mut unschedulable = planner.leftovers();
        let mut statuses = planner.fitting_gangs(&aside);
        for (g, status) in set_aside {
            // Every group gets the gang's reason: it is the gang, not a group, that stops them.
            let reasons: BTreeMap<String, String> = groups
                .iter()
                .map(|v| (v.group.name.clone(), status.reason.clone()))
                .collect();
            unschedulable.extend(gangs.list[g].pending.iter().map(|&i| (i, reasons.clone())));
            statuses.push(status);
        }
        unschedulable
            .sort_by(|a, b| pod_order(&snapshot.pods[a.0]).cmp(&pod_order(&snapshot.pods[b.0])));
        statuses.sort_by(|a, b| a.gang.cmp(&b.gang));
        return ScaleUpResult {
            assignments: planner.assignments,
            scale_ups,
            unschedulable,
            gangs: statuses,
        };
    }
}

/// Whether each node could take pod `pod` now, and if not why, as kube-scheduler's filters
/// judge it with every other pod where it is: the planner's own checks, on every node whatever
/// its state.
pub fn node_verdicts(snapshot: &Snapshot, pod: usize) -> Vec<(String, Result<(), String>)> {
    let node_use = vec![NodeUse::Bin; snapshot.nodes.len()];
    let policy = ScaleUpPolicy::default();
    let gangs = Gangs::default();
    let mut planner = Planner::new(snapshot, &[], &node_use, &policy, &gangs);
    let selectors = Selectors::new(snapshot, &[pod]);
    planner.classes = planner.classes(&[pod], selectors.in_play().then_some(&selectors));
    planner.bins = planner.node_bins();
    if selectors.in_play() {
        planner.start_topology(&[]);
    }
    (0..planner.bins.len())
        .map(|b| {
            let Shape::Node(n) = planner.bins[b].shape else {
                unreachable!("node bins")
            };
            (snapshot.nodes[n].name.clone(), planner.explain(0, b))
        })
        .collect()
}

fn pod_order(pod: &Pod) -> (&str, &str) {
    (&pod.namespace, &pod.name)
}

impl<'a> Planner<'a> {
    fn new(
        snapshot: &'a Snapshot,
        groups: &'a [GroupView<'a>],
        node_use: &'a [NodeUse],
        policy: &'a ScaleUpPolicy,
        gangs: &'a Gangs<'a>,
    ) -> Planner<'a> {
        Planner {
            snapshot,
            groups,
            node_use,
            policy,
            gangs,
            classes: Vec::new(),
            bins: Vec::new(),
            topology: None,
            template_sites: Vec::new(),
            fit_cache: HashMap::new(),
            opened: vec![0; groups.len()],
            assignments: Vec::new(),
        }
    }

    /// Places `pending` on room, upcoming capacity and new nodes (steps 1–4).
    fn plan(&mut self, pending: Vec<usize>) {
        let bins = self.existing_bins();
        let (nominated, pending) = self.preempting(&bins, pending);
        let selectors = Selectors::new(self.snapshot, &pending);
        self.classes = self.classes(&pending, selectors.in_play().then_some(&selectors));
        self.bins = bins;
        if selectors.in_play() {
            self.start_topology(&nominated);
        }
        self.serve_nominated(nominated);
        self.upcoming_bins();
        self.pack(None);
    }

    /// Per gang: how many of its pods this plan gives a destination.
    fn gang_fits(&self) -> Vec<usize> {
        let mut fit = vec![0; self.gangs.list.len()];
        for (pod, a) in &self.assignments {
            let placed = matches!(
                a.destination,
                Destination::ExistingNode
                    | Destination::UpcomingNode
                    | Destination::NewNode
                    | Destination::Nominated
            );
            if let Some(g) = self.gangs.of_pod(*pod).filter(|_| placed) {
                fit[g] += 1;
            }
        }
        fit
    }

    /// The first gang, in packing order, of which fewer pods got a destination than it
    /// needs, with what stopped the rest.
    fn first_short_gang(&mut self) -> Option<(usize, GangStatus)> {
        let fit = self.gang_fits();
        let c = (0..self.classes.len()).find(|&c| {
            self.classes[c]
                .gang
                .is_some_and(|g| fit[g] < self.gangs.list[g].needed)
        })?;
        let g = self.classes[c].gang.expect("found by its gang");
        let mut limits: Vec<String> = Vec::new();
        for c in 0..self.classes.len() {
            if self.classes[c].gang != Some(g) || self.classes[c].remaining() == 0 {
                continue;
            }
            for limit in self.gang_limits(c) {
                if !limits.contains(&limit) {
                    limits.push(limit);
                }
            }
        }
        if limits.is_empty() {
            limits.push("no node group takes them".to_string());
        }
        Some((g, self.gangs.status(g, fit[g], Some(&limits.join("; ")))))
    }

    /// The gangs this plan serves whole (every one not set `aside`).
    fn fitting_gangs(&self, aside: &[bool]) -> Vec<GangStatus> {
        let fit = self.gang_fits();
        (0..self.gangs.list.len())
            .filter(|&g| !aside[g])
            .map(|g| self.gangs.status(g, fit[g], None))
            .collect()
    }

    /// What stopped the remaining pods of gang class `c`: for pods that may buy nodes, each
    /// group that would take them but for its MaxSize, backoff or the pods already placed.
    fn gang_limits(&mut self, c: usize) -> Vec<String> {
        match self.classes[c].need {
            Need::Expendable => return vec!["priority below the expendable cutoff".into()],
            Need::Waiting => {
                return vec!["waiting to be old enough or marked unschedulable".into()];
            }
            Need::Hold => {
                return vec!["not enough free room or capacity already requested".into()];
            }
            Need::NewNode => {}
        }
        let mut limits = Vec::new();
        for g in 0..self.groups.len() {
            if !self.classes[c].requests.fits_in(&self.groups[g].room)
                || !self.fits_statically(Shape::Group(g), c)
            {
                continue;
            }
            let v = &self.groups[g];
            let name = &v.group.name;
            if let Some(b) = v.backoff {
                limits.push(format!("{name} in backoff until {}", b.until));
            } else if self.headroom_left(g) == 0 {
                limits.push(format!("{name} at MaxSize ({})", v.group.max_size));
            } else if let Some(conflict) = self
                .topology
                .as_ref()
                .and_then(|t| t.conflict(c, self.template_sites[g]))
            {
                limits.push(format!("{name}: {conflict}"));
            }
        }
        limits
    }

    fn shape(&self, shape: Shape) -> NodeShape<'a> {
        match shape {
            Shape::Node(n) => NodeShape::of_node(
                &self.snapshot.nodes[n],
                self.node_use[n] == NodeUse::Reclaimable,
            ),
            Shape::Group(g) => {
                let group = self.groups[g].group;
                let t = &group.template;
                NodeShape {
                    name: None,
                    labels: &t.labels,
                    taints: &t.taints,
                    unschedulable: false,
                    unknown_zones: unknown_zones(group),
                }
            }
        }
    }

    fn site_shape(&self, shape: Shape) -> SiteShape<'a> {
        SiteShape {
            node: self.shape(shape),
            group: match shape {
                Shape::Node(_) => None,
                Shape::Group(g) => Some(g),
            },
        }
    }

    /// Free room on ready, schedulable nodes (and nodes ekas may uncordon), schedulable nodes
    /// first, in name order.
    fn existing_bins(&self) -> Vec<Bin> {
        let nodes = &self.snapshot.nodes;
        let mut bins: Vec<Bin> = self
            .node_bins()
            .into_iter()
            .filter(|bin| {
                let Shape::Node(n) = bin.shape else {
                    unreachable!("node bins")
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

    /// A bin per node, with the room its active pods leave.
    fn node_bins(&self) -> Vec<Bin> {
        let free = self.snapshot.free_room();
        free.into_iter()
            .enumerate()
            .map(|(n, free)| Bin {
                free,
                shape: Shape::Node(n),
                kind: BinKind::Existing,
                // Node sites are numbered as the nodes.
                site: n,
            })
            .collect()
    }

    /// Splits off the pods preemption will serve: nominated to a schedulable node, which they
    /// fit once every pod of lower priority there is evicted (and the pods nominated before
    /// them are in). Each reserves its room on the node.
    fn preempting(&self, bins: &[Bin], pending: Vec<usize>) -> (Vec<(usize, usize)>, Vec<usize>) {
        let pods = &self.snapshot.pods;
        if pending
            .iter()
            .all(|&i| pods[i].scheduling.nominated_node.is_none())
        {
            return (Vec::new(), pending);
        }
        let bin_of: HashMap<&str, usize> = bins
            .iter()
            .enumerate()
            .filter_map(|(b, bin)| match bin.shape {
                Shape::Node(n) => Some((self.snapshot.nodes[n].name.as_str(), b)),
                Shape::Group(_) => None,
            })
            .collect();
        let mut reserved: HashMap<usize, Resources> = HashMap::new();
        let mut nominated = Vec::new();
        let mut rest = Vec::new();
        let mut order = pending;
        order.sort_by_key(|&i| (Reverse(pods[i].scheduling.priority), pod_order(&pods[i])));
        for i in order {
            let pod = &pods[i];
            let Some(&b) = pod
                .scheduling
                .nominated_node
                .as_deref()
                .and_then(|n| bin_of.get(n))
            else {
                rest.push(i);
                continue;
            };
            let Shape::Node(n) = bins[b].shape else {
                unreachable!("existing bins are nodes")
            };
            let node = &self.snapshot.nodes[n];
            // What stays on the node whatever preemption does: pods of equal or higher priority.
            let mut left = node.allocatable.clone();
            for other in pods.iter().filter(|p| {
                p.is_active()
                    && p.node_name.as_deref() == Some(node.name.as_str())
                    && p.scheduling.priority >= pod.scheduling.priority
            }) {
                left.sub(&other.requests);
            }
            if let Some(r) = reserved.get(&b) {
                left.sub(r);
            }
            if pod.requests.fits_in(&left)
                && static_fit(&pod.placement, self.shape(bins[b].shape)).is_ok()
            {
                reserved.entry(b).or_default().add(&pod.requests);
                nominated.push((i, b));
            } else {
                rest.push(i);
            }
        }
        rest.sort_unstable();
        (nominated, rest)
    }

    fn serve_nominated(&mut self, nominated: Vec<(usize, usize)>) {
        for (pod, b) in nominated {
            let bin = &mut self.bins[b];
            bin.free.sub(&self.snapshot.pods[pod].requests);
            let Shape::Node(n) = bin.shape else {
                unreachable!("existing bins are nodes")
            };
            self.assignments.push((
                pod,
                Assignment {
                    destination: Destination::Nominated,
                    target: Some(self.snapshot.nodes[n].name.clone()),
                },
            ));
        }
    }

    /// What a pending pod's leftovers may do.
    fn need(&self, pod: &Pod) -> Need {
        let now: Timestamp = self.snapshot.captured_at;
        // A request's pods were asked for outright: no age, scheduler verdict or cutoff
        // applies, only the cluster's health.
        if let Some(by) = pod.requested_by {
            return if by.hold_only {
                Need::Hold
            } else if self.policy.halted {
                Need::Waiting
            } else {
                Need::NewNode
            };
        }
        if pod.scheduling.priority < self.policy.expendable_cutoff {
            Need::Expendable
        } else if self.policy.halted
            || (self.policy.only_unschedulable && !pod.scheduling.unschedulable)
            || pod
                .created
                .is_some_and(|c| now.duration_since(c) < self.policy.new_pod_delay)
        {
            Need::Waiting
        } else {
            Need::NewNode
        }
    }

    /// Pending pods grouped into classes of identical pods: highest priority first, then
    /// largest first.
    fn classes(&self, pending: &[usize], selectors: Option<&Selectors<'_>>) -> Vec<Class> {
        type Key<'k> = (
            &'k Resources,
            *const (),
            i32,
            Need,
            Option<(&'k str, Vec<u64>)>,
            Option<usize>,
        );
        let snapshot = self.snapshot;
        let mut index: HashMap<Key<'_>, usize> = HashMap::new();
        let mut classes: Vec<Class> = Vec::new();
        // Pods of one template usually share labels: match them once.
        let mut signatures: HashMap<(&str, &Labels), Vec<u64>> = HashMap::new();
        for &i in pending {
            let pod = &snapshot.pods[i];
            // Placements are interned: equal placements share one allocation.
            let placement = Arc::as_ptr(&pod.placement) as *const ();
            let matches = selectors.map(|s| {
                let signature = signatures
                    .entry((pod.namespace.as_str(), &pod.labels))
                    .or_insert_with(|| s.signature(pod))
                    .clone();
                (pod.namespace.as_str(), signature)
            });
            let need = self.need(pod);
            let gang = self.gangs.of_pod(i);
            let key = (
                &pod.requests,
                placement,
                pod.scheduling.priority,
                need,
                matches,
                gang,
            );
            let c = *index.entry(key).or_insert_with(|| {
                classes.push(Class {
                    requests: pod.requests.clone(),
                    rep: i,
                    pods: Vec::new(),
                    next: 0,
                    priority: pod.scheduling.priority,
                    need,
                    cursor: 0,
                    refused: Vec::new(),
                    gang,
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
        self.sort_classes(&mut classes);
        classes
    }

    /// In the order they are planned: higher priority first, as the scheduler serves them;
    /// then scarce extended resources (GPUs); then the size in both cpu and memory, each as a
    /// share of the groups' room (first-fit decreasing by one dimension leaves the other's room
    /// stranded: on the original tool's mix it bought 1.195 vCPU per cpu requested, by both
    /// 1.04); then gangs before loose pods of the same size.
    fn sort_classes(&self, classes: &mut [Class]) {
        let snapshot = self.snapshot;
        let reference = self.reference_room();
        classes.sort_by(|a, b| {
            let size = |c: &Class| {
                let extended = c
                    .requests
                    .extended()
                    .iter()
                    .map(|&(_, v)| v)
                    .fold(0, i64::saturating_add);
                (
                    Reverse(c.priority),
                    Reverse((
                        extended,
                        reference.size(&c.requests),
                        c.requests.cpu,
                        c.requests.memory,
                        c.requests.ephemeral_storage,
                    )),
                )
            };
            size(a)
                .cmp(&size(b))
                .then_with(|| a.gang.is_none().cmp(&b.gang.is_none()))
                .then_with(|| {
                    pod_order(&snapshot.pods[a.rep]).cmp(&pod_order(&snapshot.pods[b.rep]))
                })
        });
    }

    /// The room of all groups' new nodes together: the scale a class's cpu and memory are
    /// measured against when classes are sorted by size.
    fn reference_room(&self) -> ReferenceRoom {
        let (cpu, memory) = self.groups.iter().fold((0i64, 0i64), |(c, m), v| {
            // Saturating: a snapshot may claim absurd room, and the sum only weighs.
            (
                c.saturating_add(v.room.cpu.max(0)),
                m.saturating_add(v.room.memory.max(0)),
            )
        });
        ReferenceRoom { cpu, memory }
    }

    /// Builds the topology: a site per node with its pods (and the nominated pods), and a
    /// template site per group.
    fn start_topology(&mut self, nominated: &[(usize, usize)]) {
        let snapshot = self.snapshot;
        let reps = self.classes.iter().map(|c| &snapshot.pods[c.rep]).collect();
        let mut topology = Topology::new(snapshot, reps);
        for g in 0..self.groups.len() {
            topology.add_group(unknown_zones(self.groups[g].group));
        }
        for n in 0..snapshot.nodes.len() {
            let site = topology.add_site(self.site_shape(Shape::Node(n)), None, Vec::new(), true);
            debug_assert_eq!(site, n, "node sites are numbered as the nodes");
        }
        let node_of = snapshot.node_index();
        for (i, pod) in snapshot.pods.iter().enumerate() {
            if let Some(&n) = pod.node_name.as_deref().and_then(|name| node_of.get(name))
                && pod.is_active()
            {
                topology.place(i, None, n);
            }
        }
        for &(pod, b) in nominated {
            topology.place(pod, None, self.bins[b].site);
        }
        self.template_sites = (0..self.groups.len())
            .map(|g| {
                let shape = self.site_shape(Shape::Group(g));
                let name = format!("a new node of {}", self.groups[g].group.name);
                topology.add_site(shape, Some(&name), self.daemonset_ports(g), false)
            })
            .collect();
        self.topology = Some(topology);
    }

    /// Ports the DaemonSet pods take on a group's next node.
    fn daemonset_ports(&self, g: usize) -> Vec<(HostPort, String)> {
        let shape = self.shape(Shape::Group(g));
        self.snapshot
            .daemonsets
            .iter()
            .filter(|ds| !ds.placement.host_ports.is_empty())
            .filter(|ds| fits_in_some_zone(&ds.placement, shape))
            .flat_map(|ds| {
                let by = format!("DaemonSet {}/{}", ds.namespace, ds.name);
                ds.placement
                    .host_ports
                    .iter()
                    .map(move |p| (p.clone(), by.clone()))
            })
            .collect()
    }

    /// Adds a bin for a group's planned node (upcoming or new), with its site.
    fn add_group_bin(&mut self, g: usize, kind: BinKind) {
        let site = self.planned_site(g, kind).unwrap_or(usize::MAX);
        self.bins.push(Bin {
            free: self.groups[g].room.clone(),
            shape: Shape::Group(g),
            kind,
            site,
        });
    }

    /// A topology site for a group's planned node, when pods constrain each other.
    fn planned_site(&mut self, g: usize, kind: BinKind) -> Option<usize> {
        self.topology.as_ref()?;
        let kind_name = match kind {
            BinKind::New => "new",
            _ => "upcoming",
        };
        let name = format!(
            "{kind_name} node {} of {}",
            self.bins.len(),
            self.groups[g].group.name
        );
        let shape = self.site_shape(Shape::Group(g));
        let ports = self.daemonset_ports(g);
        let topology = self.topology.as_mut()?;
        Some(topology.add_site(shape, Some(&name), ports, true))
    }

    /// One bin per node requested but not yet joined, in group preference order. No pod needs
    /// more than one bin, so a group gets at most as many as there are pods left to place (a
    /// hand-made desired capacity can be in the billions).
    fn upcoming_bins(&mut self) {
        let unplaced: usize = self.classes.iter().map(|c| c.pods.len() - c.next).sum();
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&g| {
            let v = &self.groups[g];
            (v.rank, Reverse(v.group.priority), v.group.name.as_str())
        });
        for g in order {
            let bins = (self.groups[g].upcoming as usize).min(unplaced);
            for _ in 0..bins {
                self.add_group_bin(g, BinKind::Upcoming);
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

    /// Whether bin `b` takes a pod of class `c`; `Err(true)` when it never will.
    fn check(&mut self, c: usize, b: usize) -> Result<(), bool> {
        if !self.classes[c].requests.fits_in(&self.bins[b].free)
            || !self.fits_statically(self.bins[b].shape, c)
        {
            return Err(true);
        }
        match self
            .topology
            .as_ref()
            .and_then(|t| t.conflict(c, self.bins[b].site))
        {
            Some(conflict) => Err(conflict.is_lasting()),
            None => Ok(()),
        }
    }

    /// Why bin `b` does not take a pod of class `c`, in the scheduler's terms.
    fn explain(&self, c: usize, b: usize) -> Result<(), String> {
        let bin = &self.bins[b];
        let pod = &self.snapshot.pods[self.classes[c].rep];
        static_fit(&pod.placement, self.shape(bin.shape)).map_err(|u| u.to_string())?;
        if let Some(short) = self.classes[c].requests.shortfall(&bin.free) {
            return Err(short.to_string());
        }
        match self.topology.as_ref().and_then(|t| t.conflict(c, bin.site)) {
            Some(conflict) => Err(conflict.to_string()),
            None => Ok(()),
        }
    }

    /// Whether group `g`'s next node takes a pod of class `c` now.
    fn group_takes(&mut self, g: usize, c: usize) -> bool {
        self.classes[c].requests.fits_in(&self.groups[g].room)
            && self.fits_statically(Shape::Group(g), c)
            && self
                .topology
                .as_ref()
                .is_none_or(|t| t.conflict(c, self.template_sites[g]).is_none())
    }

    fn headroom_left(&self, g: usize) -> u32 {
        self.groups[g].headroom().saturating_sub(self.opened[g])
    }

    /// First-fit of the unplaced pods into the bins, each class from its cursor. With `open`,
    /// pods that may buy a node get new nodes of those groups on demand: of the groups that
    /// take the pod and have headroom, the one with the fewest nodes. Returns the pods placed.
    fn pack(&mut self, open: Option<&[usize]>) -> usize {
        let mut placed = 0;
        for c in 0..self.classes.len() {
            if self.classes[c].remaining() == 0
                || open.is_some() && self.classes[c].need != Need::NewNode
            {
                continue;
            }
            let lifts = self
                .topology
                .as_ref()
                .is_some_and(|t| t.class(c).changes_with_placements);
            while self.classes[c].remaining() > 0 {
                if lifts && self.topology.as_mut().expect("lifts").take_lifted(c) {
                    self.classes[c].cursor = 0;
                }
                let mut cursor = self.classes[c].cursor;
                while cursor < self.bins.len() {
                    if lifts
                        && self.classes[c]
                            .refused
                            .get(cursor)
                            .copied()
                            .unwrap_or(false)
                    {
                        cursor += 1;
                        continue;
                    }
                    match self.check(c, cursor) {
                        Ok(()) => break,
                        Err(lasting) => {
                            if lifts && lasting {
                                let refused = &mut self.classes[c].refused;
                                if refused.len() <= cursor {
                                    refused.resize(cursor + 1, false);
                                }
                                refused[cursor] = true;
                            }
                            cursor += 1;
                        }
                    }
                }
                self.classes[c].cursor = cursor;
                if cursor == self.bins.len() {
                    let Some(g) = open.and_then(|set| self.group_to_open(set, c)) else {
                        break;
                    };
                    self.opened[g] += 1;
                    self.add_group_bin(g, BinKind::New);
                }
                let pod = self.classes[c].pods[self.classes[c].next];
                self.place(c, pod, cursor);
                placed += 1;
            }
        }
        placed
    }

    /// Of `set`, the group whose next node takes class `c`, with headroom, and the fewest
    /// nodes (so similar groups stay even).
    fn group_to_open(&mut self, set: &[usize], c: usize) -> Option<usize> {
        let mut best: Option<(u32, usize)> = None;
        for &g in set {
            if self.headroom_left(g) == 0 || !self.group_takes(g, c) {
                continue;
            }
            let size = self.groups[g].group.desired + self.opened[g];
            let better = best.is_none_or(|(s, b)| {
                (size, &self.groups[g].group.name) < (s, &self.groups[b].group.name)
            });
            if better {
                best = Some((size, g));
            }
        }
        best.map(|(_, g)| g)
    }

    fn place(&mut self, c: usize, pod: usize, b: usize) {
        let bin = &mut self.bins[b];
        bin.free.sub(&self.classes[c].requests);
        if let Some(topology) = self.topology.as_mut() {
            topology.place(pod, Some(c), bin.site);
        }
        let assignment = match (bin.kind, bin.shape) {
            (BinKind::Existing, Shape::Node(n)) => Assignment {
                destination: Destination::ExistingNode,
                target: Some(self.snapshot.nodes[n].name.clone()),
            },
            (BinKind::Upcoming, Shape::Group(g)) => Assignment {
                destination: Destination::UpcomingNode,
                target: Some(self.groups[g].group.name.clone()),
            },
            (BinKind::New, Shape::Group(g)) => Assignment {
                destination: Destination::NewNode,
                target: Some(self.groups[g].group.name.clone()),
            },
            _ => unreachable!("nodes are existing bins, groups planned ones"),
        };
        self.assignments.push((pod, assignment));
        self.classes[c].next += 1;
    }

    /// What `g`'s new nodes would hold if it took every remaining pod it can. Each class is
    /// counted as the fraction of a node its pods fill, so small classes may share nodes; it
    /// only ranks groups, and `pack` decides.
    fn estimate(&mut self, g: usize) -> Option<Estimate> {
        let room = self.groups[g].room.clone();
        let headroom = f64::from(self.headroom_left(g));
        let (mut node_share, mut pods) = (0f64, 0usize);
        let (mut cpu, mut memory) = (0f64, 0f64);
        for c in 0..self.classes.len() {
            let n = self.classes[c].remaining();
            if n == 0 || self.classes[c].need != Need::NewNode || !self.group_takes(g, c) {
                continue;
            }
            let one_per_node = self
                .topology
                .as_ref()
                .is_some_and(|t| t.class(c).one_per_node);
            let per_node = match self.classes[c].requests.copies_in(&room) {
                0 => continue,
                _ if one_per_node => 1,
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
        Some(Estimate {
            nodes: nodes as u32,
            pods,
            waste,
            cpu: cpu / 1000.0,
            memory_gib: memory / f64::from(1u32 << 30),
        })
    }

    /// Groups whose next node is the chosen one's but for its zone: same region, priority,
    /// taints, room (memory within 1.5%, as nodes of one type differ a little), and labels
    /// apart from zone and node-group names.
    fn similar(&self, g: usize, candidates: &[usize]) -> Vec<usize> {
        fn labels<'v>(v: &'v GroupView<'_>) -> Vec<(&'v String, &'v String)> {
            const IGNORED: [&str; 6] = [
                "topology.k8s.aws/zone-id",
                "eks.amazonaws.com/nodegroup",
                "alpha.eksctl.io/nodegroup-name",
                "k8s.amazonaws.com/eniConfig",
                "aws/ami-id",
                crate::model::scheduling::HOSTNAME_LABEL,
            ];
            v.group
                .template
                .labels
                .iter()
                .filter(|(k, _)| {
                    !ZONE_LABELS.contains(&k.as_str()) && !IGNORED.contains(&k.as_str())
                })
                .collect()
        }
        let a = &self.groups[g];
        let room_alike = |x: &Resources, y: &Resources| {
            let memory_close =
                (x.memory - y.memory).abs() as f64 <= 0.015 * x.memory.max(y.memory) as f64;
            let mut x = x.clone();
            x.memory = y.memory;
            memory_close && x == *y
        };
        let mut set: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&h| {
                let b = &self.groups[h];
                h == g
                    || (b.group.region == a.group.region
                        && b.group.priority == a.group.priority
                        && b.group.template.taints == a.group.template.taints
                        && labels(a) == labels(b)
                        && room_alike(&a.room, &b.room))
            })
            .collect();
        set.sort_unstable();
        set
    }

    fn scale_up_groups(&mut self) -> Vec<GroupScaleUp> {
        let mut candidates: Vec<usize> = (0..self.groups.len())
            .filter(|&g| self.groups[g].backoff.is_none() && self.groups[g].headroom() > 0)
            .collect();
        let shapes: Vec<SiteShape<'a>> = candidates
            .iter()
            .map(|&g| self.site_shape(Shape::Group(g)))
            .collect();
        if let Some(topology) = self.topology.as_mut() {
            for shape in shapes {
                topology.add_possible_domains(shape);
            }
        }
        let seed = expander::seed(
            self.snapshot.captured_at.as_nanosecond(),
            &self.snapshot.cluster_name,
        );
        for choice in 0u64.. {
            candidates.retain(|&g| self.headroom_left(g) > 0);
            let groups = self.groups;
            let mut able = Vec::new();
            let mut offers = Vec::new();
            for &g in &candidates.clone() {
                let Some(estimate) = self.estimate(g) else {
                    continue;
                };
                let v = &groups[g];
                able.push(g);
                offers.push(Candidate {
                    name: &v.group.name,
                    rank: v.rank,
                    priority: v.group.priority,
                    hourly: v.group.price.map(|p| p.dollars),
                    interrupted: if self.policy.avoid_interrupted {
                        v.group.recent_interruptions
                    } else {
                        0
                    },
                    estimate,
                });
            }
            let draw = expander::draw(seed, choice);
            let Some(chosen) = expander::choose(&self.policy.expanders, &offers, draw) else {
                break;
            };
            let g = able[chosen];
            let set = if self.policy.balance {
                self.similar(g, &candidates)
            } else {
                vec![g]
            };
            if self.pack(Some(&set)) == 0 {
                candidates.retain(|c| !set.contains(c));
            }
        }
        let mut pods: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let by_name: HashMap<&str, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(g, v)| (v.group.name.as_str(), g))
            .collect();
        for (pod, a) in &self.assignments {
            if a.destination == Destination::NewNode
                && let Some(&g) = a.target.as_deref().and_then(|t| by_name.get(t))
            {
                pods.entry(g).or_default().push(*pod);
            }
        }
        pods.into_iter()
            .map(|(group, pods)| GroupScaleUp {
                group,
                nodes: self.opened[group],
                pods,
            })
            .collect()
    }

    /// What is left once every node is counted: pods that may not buy one are set aside,
    /// the rest are unschedulable, with each group's reason.
    fn leftovers(&mut self) -> Vec<(usize, BTreeMap<String, String>)> {
        let mut out = Vec::new();
        for c in 0..self.classes.len() {
            if self.classes[c].remaining() == 0 {
                continue;
            }
            let class = &self.classes[c];
            let destination = match class.need {
                Need::Expendable => Some(Destination::Expendable),
                Need::Waiting | Need::Hold => Some(Destination::Waiting),
                Need::NewNode => None,
            };
            if let Some(destination) = destination {
                for &pod in &class.pods[class.next..] {
                    self.assignments.push((
                        pod,
                        Assignment {
                            destination,
                            target: None,
                        },
                    ));
                }
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
        if let Some(conflict) = self
            .topology
            .as_ref()
            .and_then(|t| t.conflict(c, self.template_sites[g]))
        {
            return conflict.to_string();
        }
        format!("group reaches MaxSize ({}) in this plan", v.group.max_size)
    }
}

#[cfg(test)]
mod expander_tests;
#[cfg(test)]
mod gang_tests;
#[cfg(test)]
mod scheduling_tests;

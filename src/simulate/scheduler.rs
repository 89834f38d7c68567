//! A stand-in for kube-scheduler: pending pods bind, in submit order, to the Ready,
//! schedulable node that fits them and scores best as the scheduler's profile scores
//! ([`super::scoring`]); a gang binds all its pods at once or none.
//!
//! Pods wait in queues of identical pods. A queue whose head fitted nowhere is blocked, and
//! is tried again only on nodes that gained room since (a pod ended, a node joined, a node was
//! uncordoned): room elsewhere only shrinks, so nothing else can have changed its answer. That
//! keeps a long queue waiting for new nodes from costing a scan per event. For the same reason,
//! the nodes one pod of a queue fits are the only ones the next can fit while the queue drains.

use std::collections::{HashMap, VecDeque};

use super::scoring::{NodeLoad, Scoring, soft_taints_against, taint_score};
use super::workload::Workload;
use super::world::{World, mix};
use crate::engine::scale_up::predicates::{NodeShape, static_fit};
use crate::model::scheduling::HOSTNAME_LABEL;
use crate::model::{Pod, Resources};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// Pods of one shape (template), from any job.
    Shape(usize),
    /// One job's pods: a gang, or pods whose anti-affinity depends on their job's labels.
    Job(usize),
}

struct Unit {
    /// Arrival order.
    seq: u64,
    job: usize,
    pods: Vec<u64>,
}

struct Queue {
    key: Key,
    units: VecDeque<Unit>,
    blocked: bool,
}

#[derive(Default)]
pub struct Scheduler {
    queues: Vec<Queue>,
    index: HashMap<Key, usize>,
    seq: u64,
    scoring: Scoring,
}

impl Scheduler {
    pub fn new(scoring: Scoring) -> Scheduler {
        Scheduler {
            scoring,
            ..Scheduler::default()
        }
    }

    /// Queues a job's new pods.
    pub fn enqueue(&mut self, workload: &Workload, job: usize, pods: Vec<u64>) {
        let spec = &workload.jobs[job];
        if spec.gang {
            self.push(Key::Job(job), job, pods);
        } else {
            for pod in pods {
                self.push(key(workload, job), job, vec![pod]);
            }
        }
    }

    /// Queues a pod that came back (evicted, or its node removed); it waits on its own.
    pub fn requeue(&mut self, workload: &Workload, job: usize, pod: u64) {
        self.push(key(workload, job), job, vec![pod]);
    }

    fn push(&mut self, key: Key, job: usize, pods: Vec<u64>) {
        self.seq += 1;
        let q = *self.index.entry(key).or_insert_with(|| {
            self.queues.push(Queue {
                key,
                units: VecDeque::new(),
                blocked: false,
            });
            self.queues.len() - 1
        });
        self.queues[q].units.push_back(Unit {
            seq: self.seq,
            job,
            pods,
        });
    }

    /// Binds what fits now.
    pub fn run(&mut self, world: &mut World, workload: &Workload) {
        let mut grown: Vec<usize> = world
            .grown
            .drain(..)
            .filter_map(|uid| world.node_at.get(&uid).copied())
            .collect();
        grown.sort_unstable();
        grown.dedup();
        let mut order: Vec<usize> = (0..self.queues.len())
            .filter(|&q| !(self.queues[q].blocked && grown.is_empty()))
            .collect();
        order.sort_by_key(|&q| self.queues[q].units.front().map_or(u64::MAX, |u| u.seq));
        for q in order {
            let mut queue = std::mem::replace(
                &mut self.queues[q],
                Queue {
                    key: Key::Job(usize::MAX),
                    units: VecDeque::new(),
                    blocked: false,
                },
            );
            self.drain_queue(&mut queue, &grown, world, workload);
            self.queues[q] = queue;
        }
        if self.queues.iter().any(|q| q.units.is_empty()) {
            self.queues.retain(|q| !q.units.is_empty());
            self.index = self
                .queues
                .iter()
                .enumerate()
                .map(|(i, q)| (q.key, i))
                .collect();
        }
    }

    fn drain_queue(
        &mut self,
        queue: &mut Queue,
        grown: &[usize],
        world: &mut World,
        workload: &Workload,
    ) {
        // The nodes the queue's pods may fit: shrinks as they bind (see the module doc).
        let mut feasible: Vec<usize> = if queue.blocked {
            grown.to_vec()
        } else {
            (0..world.nodes.len()).collect()
        };
        while let Some(unit) = queue.units.front() {
            let template = workload.jobs[unit.job].template;
            let placed = if matches!(queue.key, Key::Job(j) if workload.jobs[j].gang) {
                // A gang may spread over any nodes, so every node counts once one grew.
                let everything: Vec<usize> = (0..world.nodes.len()).collect();
                self.place_gang(&unit.pods, template, &everything, world, workload)
            } else {
                let pod = unit.pods[0];
                feasible.retain(|&n| self.fits(world, workload, pod, template, n, None));
                self.best(world, pod, &feasible, None)
                    .map(|n| vec![(pod, n)])
            };
            match placed {
                Some(bindings) => {
                    for (pod, n) in bindings {
                        world.bind(workload, pod, n);
                    }
                    queue.units.pop_front();
                }
                None => {
                    queue.blocked = true;
                    return;
                }
            }
        }
        queue.blocked = false;
    }

    /// The node among `feasible` that scores best for the pod, `taken` being room already
    /// promised on nodes (to a gang's earlier pods).
    fn best(
        &self,
        world: &World,
        uid: u64,
        feasible: &[usize],
        taken: Option<&HashMap<usize, Resources>>,
    ) -> Option<usize> {
        let pod = world.pod(uid)?;
        let soft: Vec<i64> = feasible
            .iter()
            .map(|&n| soft_taints_against(&pod.placement, &world.snap.nodes[n].taints))
            .collect();
        let most = soft.iter().copied().max().unwrap_or(0);
        feasible
            .iter()
            .zip(&soft)
            .map(|(&n, &count)| {
                let node = &world.snap.nodes[n];
                let mut requested = node.allocatable.clone();
                requested.sub(&world.nodes[n].free);
                if let Some(t) = taken.and_then(|t| t.get(&n)) {
                    requested.add(t);
                }
                let load = NodeLoad {
                    allocatable: &node.allocatable,
                    requested: &requested,
                    taints: &node.taints,
                };
                let score =
                    self.scoring.resource_score(load, &pod.requests) + taint_score(count, most);
                // Ties go to a node as if at random, the same in every run.
                (score, mix(uid ^ mix(world.nodes[n].uid)), n)
            })
            .max()
            .map(|(_, _, n)| n)
    }

    /// Where every pod of a gang goes, or `None` when one does not fit.
    fn place_gang(
        &mut self,
        pods: &[u64],
        template: usize,
        nodes: &[usize],
        world: &mut World,
        workload: &Workload,
    ) -> Option<Vec<(u64, usize)>> {
        let mut taken: HashMap<usize, Resources> = HashMap::new();
        let mut out = Vec::with_capacity(pods.len());
        for &pod in pods {
            let feasible: Vec<usize> = nodes
                .iter()
                .copied()
                .filter(|&n| {
                    let used = taken.get(&n);
                    self.fits(world, workload, pod, template, n, used)
                        && !out.iter().any(|&(other, m): &(u64, usize)| {
                            m == n && workload.anti_affinity && pods_repel(world, pod, other)
                        })
                })
                .collect();
            let n = self.best(world, pod, &feasible, Some(&taken))?;
            let requests = &world.pod(pod)?.requests;
            taken.entry(n).or_default().add(requests);
            out.push((pod, n));
        }
        Some(out)
    }

    /// Whether node `n` takes the pod now, with `taken` already promised on it.
    fn fits(
        &self,
        world: &mut World,
        workload: &Workload,
        uid: u64,
        template: usize,
        n: usize,
        taken: Option<&Resources>,
    ) -> bool {
        let node = &world.snap.nodes[n];
        if !node.ready || node.unschedulable {
            return false;
        }
        let Some(pod) = world.pod(uid) else {
            return false;
        };
        let free = &world.nodes[n].free;
        let fits = match taken {
            Some(t) => t.plus(&pod.requests).fits_in(free),
            None => pod.requests.fits_in(free),
        };
        if !fits {
            return false;
        }
        let allowed = match world.nodes[n].allows.get(template).copied().flatten() {
            Some(allowed) => allowed,
            None => {
                let shape = NodeShape {
                    name: Some(&node.name),
                    labels: &node.labels,
                    taints: &node.taints,
                    unschedulable: false,
                    unknown_zones: &[],
                };
                let allowed = static_fit(&pod.placement, shape).is_ok();
                let allows = &mut world.nodes[n].allows;
                if allows.len() <= template {
                    allows.resize(template + 1, None);
                }
                allows[template] = Some(allowed);
                allowed
            }
        };
        if !allowed {
            return false;
        }
        let pod = world.pod(uid).expect("looked up above");
        !workload.anti_affinity || !world.residents(n).any(|resident| repel(pod, resident))
    }

    /// Job pods waiting in the queues.
    pub fn waiting(&self) -> usize {
        self.queues
            .iter()
            .flat_map(|q| &q.units)
            .map(|u| u.pods.len())
            .sum()
    }

    /// Pods (by uid) still waiting.
    pub fn waiting_pods(&self) -> impl Iterator<Item = u64> + '_ {
        self.queues
            .iter()
            .flat_map(|q| &q.units)
            .flat_map(|u| u.pods.iter().copied())
    }
}

fn key(workload: &Workload, job: usize) -> Key {
    if workload.anti_affinity {
        Key::Job(job)
    } else {
        Key::Shape(workload.jobs[job].template)
    }
}

fn pods_repel(world: &World, a: u64, b: u64) -> bool {
    match (world.pod(a), world.pod(b)) {
        (Some(a), Some(b)) => repel(a, b),
        _ => false,
    }
}

/// Whether `a` and `b` may not share a node: either one's required anti-affinity on the
/// hostname selects the other (the only topology this scheduler models).
fn repel(a: &Pod, b: &Pod) -> bool {
    let one_way = |a: &Pod, b: &Pod| {
        a.placement
            .anti_affinity
            .iter()
            .any(|t| t.topology_key == HOSTNAME_LABEL && t.selects(&b.namespace, &b.labels))
    };
    one_way(a, b) || one_way(b, a)
}

//! The simulated cluster and its cloud. The state is a [`Snapshot`] kept current as jobs
//! arrive, pods bind and finish, groups launch instances and nodes join; each pass hands it to
//! the policy as it is, the way the live loop hands over what it read. ekas's memory lives on
//! the simulated Nodes (idle-since, the cordon, drain-started), as it does in a cluster.
//!
//! The cloud behaves as AWS does: a group launches instances up to its desired capacity, each
//! `running` after its launch delay and a Ready node after its join delay; a failure window
//! turns launches into failed scaling activities; a desired capacity outside [MinSize,
//! MaxSize] is refused, as is a decrement below MinSize. A refusal is also a broken invariant,
//! recorded in [`World::violations`]: ekas must never ask for one.

use std::collections::HashMap;

use color_eyre::eyre::{Result, eyre};
use jiff::{SignedDuration, Timestamp};

use super::bound::LowerBound;
use super::objects;
use super::params::{Params, Range};
use super::report::Ledger;
use super::workload::Workload;
use crate::decode::kubernetes::Placements;
use crate::document::SnapshotDocument;
use crate::engine::scale_in::drain::{DrainPolicy, PodDrain, classify};
use crate::engine::scale_up::predicates::{NodeShape, static_fit};
use crate::model::scheduling::{Taint, TaintEffect};
use crate::model::{Node, NodeGroup, Pod, Resources, Snapshot, keys};

/// Scaling activities kept per group, as many as the live read asks AWS for.
const ACTIVITIES_PER_GROUP: usize = 20;

/// Something due at a moment of simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A pod (by uid) ends its run.
    Finish(u64),
    /// An instance (by uid) reaches `running`.
    Running(u64),
    /// An instance's node registers, Ready.
    Join(u64),
}

pub(super) struct GroupSim {
    /// What a new node of the group looks like.
    template: Node,
    /// DaemonSet pods (indices into `World::daemon_pods`) every node of the group runs.
    daemons: Vec<usize>,
    launch: Range,
    join: Range,
    /// Dollars per instance-hour.
    pub price: f64,
    /// Launches so far: picks the zone and the draw of each delay.
    launches: u64,
    key: u64,
}

impl GroupSim {
    /// Group `group` as the simulated cloud runs it: what its new nodes look like and run,
    /// its delays (`params`), and its price.
    fn new(group: &NodeGroup, daemon_pods: &[Pod], params: &Params) -> Result<GroupSim> {
        let template = objects::node_template(group)?;
        let shape = template_shape(&template);
        let daemons = (0..daemon_pods.len())
            .filter(|&d| static_fit(&daemon_pods[d].placement, shape).is_ok())
            .collect();
        let (launch, join) = params.delays(&group.name);
        let price = params.prices.hourly(&group.instance_type).ok_or_else(|| {
            eyre!(
                "no hourly price for instance type {} (group {}): add it to simulation.prices \
                 in the cluster file, e.g. \"prices\": {{\"{}\": 0.5}}",
                group.instance_type,
                group.name,
                group.instance_type
            )
        })?;
        Ok(GroupSim {
            template,
            daemons,
            launch,
            join,
            price,
            launches: 0,
            key: fnv(&format!("{}/{}", group.region, group.name)),
        })
    }
}

pub(super) struct NodeSim {
    pub uid: u64,
    pub group: usize,
    pub instance: u64,
    pub free: Resources,
    /// Job pods on the node.
    pub workload: u32,
    idle_from_ms: Option<i64>,
    daemon_pods: Vec<u64>,
    /// Job pods on the node (uids), for anti-affinity.
    residents: Vec<u64>,
    /// Per pod template: whether its placement allows this node, cordon aside (the
    /// scheduler's memo).
    pub allows: Vec<Option<bool>>,
}

pub(super) struct PodSim {
    pub uid: u64,
    /// Index into the workload's jobs; `None` for DaemonSet pods.
    pub job: Option<usize>,
    /// Index into the workload's templates, for a job pod.
    template: Option<usize>,
    pub node: Option<u64>,
    started_ms: i64,
    /// This pod's ordinal already counted as started for its job.
    pub counted: bool,
}

struct InstanceSim {
    uid: u64,
    group: usize,
    running_from_ms: Option<i64>,
}

/// Where each job stands.
#[derive(Debug, Clone, Default)]
pub struct JobState {
    pub started: u32,
    pub finished: u32,
    /// When its last pod first started.
    pub started_ms: Option<i64>,
    pub done_ms: Option<i64>,
}

pub struct World {
    pub snap: Snapshot,
    pub start: Timestamp,
    pub now_ms: i64,
    seed: u64,
    failures: Vec<(usize, i64, i64, super::params::FailureKind)>,
    pub(super) groups: Vec<GroupSim>,
    pub(super) nodes: Vec<NodeSim>,
    pub(super) pods: Vec<PodSim>,
    instances: Vec<InstanceSim>,
    pod_at: HashMap<u64, usize>,
    pub(super) node_at: HashMap<u64, usize>,
    node_named: HashMap<String, u64>,
    instance_at: HashMap<u64, usize>,
    instance_named: HashMap<String, u64>,
    next_uid: u64,
    daemon_pods: Vec<Pod>,
    pub jobs: Vec<JobState>,
    /// Job pods waiting for a node.
    pub pending: usize,
    /// Events the last changes made due; the loop moves them to its queue.
    pub outbox: Vec<(i64, Event)>,
    /// Nodes (by uid) that gained room or became schedulable since the scheduler last looked.
    pub grown: Vec<u64>,
    /// Pods (job, uid) that are pending again and need queueing.
    pub requeued: Vec<(usize, u64)>,
    pub ledger: Ledger,
    /// The whole-node lower bound of the jobs as they run.
    pub bound: LowerBound,
    pub violations: Vec<String>,
}

/// The pod each DaemonSet of the document runs on a node.
fn daemon_pod_templates(doc: &SnapshotDocument) -> Result<Vec<Pod>> {
    let mut interner = Placements::default();
    doc.kubernetes
        .daemon_sets
        .items
        .iter()
        .map(|ds| objects::daemon_pod_template(ds, &mut interner))
        .collect()
}

/// The failure windows the parameters inject, by group index (a window naming no group of
/// the snapshot is dropped).
fn failure_windows(
    params: &Params,
    groups: &[NodeGroup],
) -> Vec<(usize, i64, i64, super::params::FailureKind)> {
    params
        .failures
        .iter()
        .flat_map(|f| {
            groups
                .iter()
                .enumerate()
                .filter(move |(_, g)| g.name == f.group)
                .map(move |(g, _)| (g, f.from_ms, f.until_ms, f.kind))
        })
        .collect()
}

/// Keeps the newest scaling activities of each group, as many as the live read asks for.
fn keep_newest_activities(snap: &mut Snapshot) {
    snap.activities
        .sort_by_key(|a| std::cmp::Reverse(a.start_time));
    let mut kept: HashMap<(String, String), usize> = HashMap::new();
    snap.activities.retain(|a| {
        let n = kept.entry((a.region.clone(), a.group.clone())).or_default();
        *n += 1;
        *n <= ACTIVITIES_PER_GROUP
    });
}

impl World {
    /// The cluster of `snapshot` (built from `doc`) at its capture time: its groups, their
    /// members and nodes, DaemonSet pods on every node; no job pods (the trace is the workload).
    pub fn new(
        doc: &SnapshotDocument,
        mut snap: Snapshot,
        params: &Params,
        seed: u64,
        workload: &Workload,
    ) -> Result<World> {
        let daemon_pods = daemon_pod_templates(doc)?;
        let groups = snap
            .groups
            .iter()
            .map(|group| GroupSim::new(group, &daemon_pods, params))
            .collect::<Result<Vec<_>>>()?;
        let failures = failure_windows(params, &snap.groups);
        keep_newest_activities(&mut snap);
        let start = snap.captured_at;
        let old_nodes = std::mem::take(&mut snap.nodes);
        let old_instances = std::mem::take(&mut snap.instances);
        snap.pods.clear();
        let mut world = World {
            snap,
            start,
            now_ms: 0,
            seed,
            failures,
            ledger: Ledger::new(groups.len()),
            bound: LowerBound::default(),
            groups,
            nodes: Vec::new(),
            pods: Vec::new(),
            instances: Vec::new(),
            pod_at: HashMap::new(),
            node_at: HashMap::new(),
            node_named: HashMap::new(),
            instance_at: HashMap::new(),
            instance_named: HashMap::new(),
            next_uid: 1,
            daemon_pods,
            jobs: vec![JobState::default(); workload.jobs.len()],
            pending: 0,
            outbox: Vec::new(),
            grown: Vec::new(),
            requeued: Vec::new(),
            violations: Vec::new(),
        };
        world.adopt(old_nodes, old_instances);
        world.bound = world.lower_bound(workload);
        Ok(world)
    }

    /// The bound's pools: for each pod template, the groups whose new nodes it fits.
    fn lower_bound(&self, workload: &Workload) -> LowerBound {
        let room: Vec<Resources> = (0..self.groups.len()).map(|g| self.fresh_room(g)).collect();
        let groups_of: Vec<Vec<usize>> = workload
            .templates
            .iter()
            .map(|pod| {
                (0..self.groups.len())
                    .filter(|&g| {
                        let shape = template_shape(&self.groups[g].template);
                        static_fit(&pod.placement, shape).is_ok() && pod.requests.fits_in(&room[g])
                    })
                    .collect()
            })
            .collect();
        LowerBound::new(&groups_of, &room)
    }

    /// Takes over the snapshot's group members: the ones with a Node run, the others are
    /// still launching or joining. Nodes and instances outside every group are dropped.
    fn adopt(&mut self, nodes: Vec<Node>, instances: Vec<crate::model::Instance>) {
        for g in 0..self.snap.groups.len() {
            let members = std::mem::take(&mut self.snap.groups[g].members);
            let live: Vec<_> = members.into_iter().filter(|m| m.is_live()).collect();
            for member in &live {
                let uid = self.uid();
                let known = instances.iter().find(|i| i.id == member.instance_id);
                let mut instance = match known {
                    Some(i) => i.clone(),
                    None => objects::instance(
                        &self.snap.groups[g],
                        member.instance_id.clone(),
                        None,
                        self.start,
                    ),
                };
                let node = nodes
                    .iter()
                    .find(|n| n.instance_id.as_deref() == Some(member.instance_id.as_str()));
                let running = node.is_some() || instance.state == "running";
                instance.state = if running { "running" } else { "pending" }.into();
                self.add_instance(g, uid, instance, running.then_some(0));
                match node {
                    Some(node) => self.add_node(g, uid, node.clone()),
                    None if running => {
                        let delay = self.draw(g, self.groups[g].join, 2);
                        self.outbox.push((delay, Event::Join(uid)));
                    }
                    None => {
                        let delay = self.draw(g, self.groups[g].launch, 1);
                        self.outbox.push((delay, Event::Running(uid)));
                    }
                }
            }
            self.snap.groups[g].members = live;
        }
        self.ledger.observe_nodes(&self.node_counts());
    }

    fn uid(&mut self) -> u64 {
        self.next_uid += 1;
        self.next_uid
    }

    pub fn now(&self) -> Timestamp {
        self.start
            .saturating_add(SignedDuration::from_millis(self.now_ms))
            .unwrap_or(self.start)
    }

    /// The snapshot as of now, for a pass.
    pub fn snapshot(&mut self) -> &Snapshot {
        self.snap.captured_at = self.now();
        &self.snap
    }

    /// Notes `count` removals made now, keeping those of the last `window`.
    pub fn record_removals(&mut self, count: usize, window: jiff::SignedDuration) {
        let now = self.now();
        let removals = &mut self.snap.recent_removals;
        removals.extend(std::iter::repeat_n(now, count));
        removals.retain(|&t| now.duration_since(t) < window);
    }

    /// A delay for the group's next launch, the same in every configuration compared: the
    /// draw depends on the seed, the group and the launch's ordinal only.
    fn draw(&self, g: usize, range: Range, salt: u64) -> i64 {
        let k = self.groups[g].launches;
        let bits = mix(self.seed ^ mix(self.groups[g].key ^ mix(k.wrapping_mul(4) ^ salt)));
        range.at((bits >> 11) as f64 / (1u64 << 53) as f64)
    }

    pub fn group_index(&self, region: &str, name: &str) -> Option<usize> {
        self.snap
            .groups
            .iter()
            .position(|g| g.name == name && g.region == region)
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.node_named
            .get(name)
            .and_then(|uid| self.node_at.get(uid))
            .copied()
    }

    /// Registered nodes per group.
    pub fn node_counts(&self) -> Vec<u32> {
        let mut counts = vec![0; self.groups.len()];
        for n in &self.nodes {
            counts[n.group] += 1;
        }
        counts
    }

    // ---- jobs and pods -------------------------------------------------------------------

    /// Creates the pods of job `j`, pending; returns their uids.
    pub fn submit(&mut self, workload: &Workload, j: usize) -> Vec<u64> {
        let job = &workload.jobs[j];
        let now = self.now();
        let mut uids = Vec::with_capacity(job.pods as usize);
        for ordinal in 0..job.pods {
            let mut pod =
                objects::job_pod(&workload.templates[job.template], &job.name, ordinal, now);
            if job.gang {
                objects::join_gang(&mut pod, &job.name);
            }
            uids.push(self.push_pod(pod, Some(j), None));
            let i = self.pod_at[uids.last().expect("just pushed")];
            self.pods[i].template = Some(job.template);
        }
        self.pending += job.pods as usize;
        uids
    }

    fn push_pod(&mut self, pod: Pod, job: Option<usize>, node: Option<u64>) -> u64 {
        let uid = self.uid();
        self.pod_at.insert(uid, self.pods.len());
        self.snap.pods.push(pod);
        self.pods.push(PodSim {
            uid,
            job,
            template: None,
            node,
            started_ms: self.now_ms,
            counted: false,
        });
        uid
    }

    pub fn pod(&self, uid: u64) -> Option<&Pod> {
        let &i = self.pod_at.get(&uid)?;
        Some(&self.snap.pods[i])
    }

    /// Binds a pending pod to node `n` (an index) and starts it.
    pub fn bind(&mut self, workload: &Workload, uid: u64, n: usize) {
        let i = self.pod_at[&uid];
        let node = &mut self.nodes[n];
        node.free.sub(&self.snap.pods[i].requests);
        node.workload += 1;
        node.residents.push(uid);
        if let Some(from) = node.idle_from_ms.take() {
            self.ledger.idle_ms += self.now_ms - from;
        }
        objects::bind(&mut self.snap.pods[i], &self.snap.nodes[n].name);
        if let Some(t) = self.pods[i].template {
            self.bound
                .start(t, &self.snap.pods[i].requests, self.now_ms);
        }
        let sim = &mut self.pods[i];
        sim.node = Some(node.uid);
        sim.started_ms = self.now_ms;
        self.pending -= 1;
        let Some(j) = sim.job else { return };
        if !sim.counted {
            sim.counted = true;
            let state = &mut self.jobs[j];
            state.started += 1;
            if state.started == workload.jobs[j].pods {
                state.started_ms = Some(self.now_ms);
            }
        }
        let done = self.now_ms + workload.jobs[j].duration_ms;
        self.outbox.push((done, Event::Finish(uid)));
    }

    /// A running pod ends. Stale uids (a pod evicted since) are ignored.
    pub fn finish(&mut self, workload: &Workload, uid: u64) {
        let Some(&i) = self.pod_at.get(&uid) else {
            return;
        };
        if self.pods[i].node.is_none() {
            return;
        }
        self.stop(i);
        if let Some(j) = self.pods[i].job {
            let state = &mut self.jobs[j];
            state.finished += 1;
            if state.finished == workload.jobs[j].pods {
                state.done_ms = Some(self.now_ms);
            }
        }
        self.remove_pod(i);
    }

    /// Takes a running pod off its node: the node's room, idleness and the work it did.
    fn stop(&mut self, i: usize) {
        let Some(&n) = self.pods[i].node.and_then(|uid| self.node_at.get(&uid)) else {
            return;
        };
        let node_uid = self.nodes[n].uid;
        let ran = self.now_ms - self.pods[i].started_ms;
        let pod = &self.snap.pods[i];
        if let Some(t) = self.pods[i].template {
            self.bound.stop(t, &pod.requests, self.now_ms);
        }
        let node = &mut self.nodes[n];
        node.free.add(&pod.requests);
        if self.pods[i].job.is_some() {
            node.workload -= 1;
            let uid = self.pods[i].uid;
            node.residents.retain(|&r| r != uid);
            if node.workload == 0 {
                node.idle_from_ms = Some(self.now_ms);
            }
            self.ledger.work(
                node.group,
                ran,
                &pod.requests,
                &self.snap.nodes[n].allocatable,
            );
        }
        self.grown.push(node_uid);
    }

    fn remove_pod(&mut self, i: usize) {
        let uid = self.pods[i].uid;
        self.pod_at.remove(&uid);
        self.snap.pods.swap_remove(i);
        self.pods.swap_remove(i);
        if i < self.pods.len() {
            self.pod_at.insert(self.pods[i].uid, i);
        }
    }

    /// Evicts a job pod: it is gone, and its Job makes a new pending one that starts over.
    /// Returns the new pod's uid.
    fn evict(&mut self, uid: u64) -> Option<u64> {
        let i = *self.pod_at.get(&uid)?;
        let j = self.pods[i].job?;
        self.stop(i);
        self.ledger.evictions += 1;
        let mut pod = self.snap.pods[i].clone();
        pod.node_name = None;
        pod.phase = crate::model::PodPhase::Pending;
        pod.created = Some(self.now());
        let (counted, template) = (self.pods[i].counted, self.pods[i].template);
        self.remove_pod(i);
        let new = self.push_pod(pod, Some(j), None);
        let k = self.pod_at[&new];
        self.pods[k].counted = counted;
        self.pods[k].template = template;
        self.pending += 1;
        self.requeued.push((j, new));
        Some(new)
    }

    // ---- instances and nodes -------------------------------------------------------------

    /// An instance reaches `running`: billing starts, and its node joins after the delay.
    pub fn running(&mut self, uid: u64) {
        let Some(&k) = self.instance_at.get(&uid) else {
            return;
        };
        let g = self.instances[k].group;
        self.instances[k].running_from_ms = Some(self.now_ms);
        let id = self.snap.instances[k].id.clone();
        self.snap.instances[k].state = "running".into();
        if let Some(m) = self.snap.groups[g]
            .members
            .iter_mut()
            .find(|m| m.instance_id == id)
        {
            m.lifecycle_state = "InService".into();
        }
        let now = self.now();
        if let Some(a) = self
            .snap
            .activities
            .iter_mut()
            .rev()
            .find(|a| a.status_code == "InProgress" && a.description.ends_with(&id))
        {
            a.status_code = "Successful".into();
            a.end_time = Some(now);
        }
        let delay = self.draw(g, self.groups[g].join, 2);
        self.outbox.push((self.now_ms + delay, Event::Join(uid)));
    }

    /// An instance's node registers, Ready.
    pub fn join(&mut self, uid: u64) {
        let Some(&k) = self.instance_at.get(&uid) else {
            return;
        };
        let g = self.instances[k].group;
        let name = format!("ip-{uid}.{}.compute.internal", self.snap.groups[g].region);
        let node = objects::node(
            &self.groups[g].template,
            &name,
            &self.snap.instances[k],
            self.now(),
        );
        self.add_node(g, uid, node);
        self.ledger.observe_nodes(&self.node_counts());
    }

    fn add_instance(
        &mut self,
        g: usize,
        uid: u64,
        instance: crate::model::Instance,
        running_from_ms: Option<i64>,
    ) {
        self.instance_named.insert(instance.id.clone(), uid);
        self.instance_at.insert(uid, self.instances.len());
        self.snap.instances.push(instance);
        self.instances.push(InstanceSim {
            uid,
            group: g,
            running_from_ms,
        });
    }

    fn add_node(&mut self, g: usize, instance: u64, node: Node) {
        let uid = self.uid();
        let now = self.now();
        let mut free = node.allocatable.clone();
        let mut daemon_pods = Vec::new();
        for d in self.groups[g].daemons.clone() {
            let pod = objects::daemon_pod(&self.daemon_pods[d], &node.name, now);
            free.sub(&pod.requests);
            daemon_pods.push(self.push_pod(pod, None, Some(uid)));
        }
        self.node_named.insert(node.name.clone(), uid);
        self.node_at.insert(uid, self.nodes.len());
        self.snap.nodes.push(node);
        self.nodes.push(NodeSim {
            uid,
            group: g,
            instance,
            free,
            workload: 0,
            idle_from_ms: Some(self.now_ms),
            daemon_pods,
            residents: Vec::new(),
            allows: Vec::new(),
        });
        self.grown.push(uid);
    }

    /// Terminates an instance, and its node if it has one. A job pod still on the node goes
    /// back to pending (the plan was made before it landed, and this is the look again).
    fn terminate_instance(&mut self, uid: u64) {
        let Some(&k) = self.instance_at.get(&uid) else {
            return;
        };
        if let Some(n) = self.nodes.iter().position(|n| n.instance == uid) {
            self.remove_node(n);
        }
        let g = self.instances[k].group;
        if let Some(from) = self.instances[k].running_from_ms {
            let price = self.groups[g].price;
            self.ledger.instance_stopped(g, self.now_ms - from, price);
        }
        self.ledger.terminations += 1;
        let id = self.snap.instances[k].id.clone();
        self.snap.groups[g].members.retain(|m| m.instance_id != id);
        self.instance_named.remove(&id);
        self.instance_at.remove(&uid);
        self.snap.instances.swap_remove(k);
        self.instances.swap_remove(k);
        if k < self.instances.len() {
            self.instance_at.insert(self.instances[k].uid, k);
        }
    }

    fn remove_node(&mut self, n: usize) {
        let on_node: Vec<u64> = self
            .pods
            .iter()
            .filter(|p| p.node == Some(self.nodes[n].uid) && p.job.is_some())
            .map(|p| p.uid)
            .collect();
        for uid in on_node {
            self.evict(uid);
        }
        let node = self.nodes.remove(n);
        if let Some(from) = node.idle_from_ms {
            self.ledger.idle_ms += self.now_ms - from;
        }
        for uid in node.daemon_pods {
            if let Some(&i) = self.pod_at.get(&uid) {
                self.remove_pod(i);
            }
        }
        let removed = self.snap.nodes.remove(n);
        self.node_named.remove(&removed.name);
        self.node_at = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.uid, i))
            .collect();
    }

    /// The group launches instances up to its desired capacity, or records a failed launch
    /// while a failure is injected.
    pub fn reconcile(&mut self, g: usize) {
        let group = &self.snap.groups[g];
        let live = group.members.iter().filter(|m| m.is_live()).count() as u32;
        if group.desired <= live {
            if group.desired < live {
                self.shed(g, live - group.desired);
            }
            return;
        }
        let now = self.now();
        if let Some(kind) = self.failure_now(g) {
            let activity = objects::failed_launch(group, kind, now);
            self.record(g, activity);
            return;
        }
        for _ in live..self.snap.groups[g].desired {
            let uid = self.uid();
            let group = &self.snap.groups[g];
            let zone = (!group.zones.is_empty()).then(|| {
                group.zones[(self.groups[g].launches % group.zones.len() as u64) as usize].clone()
            });
            let instance = objects::instance(group, format!("i-{uid:017x}"), zone, now);
            let activity = objects::launch_activity(group, &instance.id, now);
            let delay = self.draw(g, self.groups[g].launch, 1);
            self.groups[g].launches += 1;
            self.ledger.launched[g] += 1;
            self.snap.groups[g]
                .members
                .push(objects::member(&instance.id));
            self.add_instance(g, uid, instance, None);
            self.record(g, activity);
            self.outbox.push((self.now_ms + delay, Event::Running(uid)));
        }
    }

    /// AWS terminates instances when desired capacity drops below them: the newest first.
    fn shed(&mut self, g: usize, count: u32) {
        let mut newest: Vec<u64> = self
            .instances
            .iter()
            .filter(|i| i.group == g)
            .map(|i| i.uid)
            .collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        for uid in newest.into_iter().take(count as usize) {
            self.terminate_instance(uid);
        }
    }

    /// Adds a scaling activity, dropping the group's oldest beyond what the live read keeps.
    fn record(&mut self, g: usize, activity: crate::model::ScalingActivity) {
        let group = &self.snap.groups[g];
        let activities = &mut self.snap.activities;
        let mine =
            |a: &crate::model::ScalingActivity| a.group == group.name && a.region == group.region;
        if activities.iter().filter(|a| mine(a)).count() >= ACTIVITIES_PER_GROUP {
            if let Some(oldest) = activities
                .iter()
                .enumerate()
                .filter(|(_, a)| mine(a))
                .min_by_key(|(_, a)| a.start_time)
                .map(|(i, _)| i)
            {
                activities.remove(oldest);
            }
        }
        activities.push(activity);
    }

    // ---- the actions a pass applies -------------------------------------------------------

    /// SetDesiredCapacity, refused outside [MinSize, MaxSize] as AWS refuses it.
    pub fn set_desired(&mut self, g: usize, desired: u32) {
        let group = &self.snap.groups[g];
        if desired < group.min_size || desired > group.max_size {
            self.violations.push(format!(
                "{}: desired capacity {desired} asked, outside MinSize {} and MaxSize {}",
                group.name, group.min_size, group.max_size
            ));
            return;
        }
        self.snap.groups[g].desired = desired;
        self.reconcile(g);
    }

    /// TerminateInstanceInAutoScalingGroup for a node's instance; a decrement below MinSize
    /// is refused as AWS refuses it.
    pub fn terminate_node(&mut self, name: &str, decrement: bool) {
        let Some(n) = self.node_index(name) else {
            return;
        };
        let g = self.nodes[n].group;
        let group = &self.snap.groups[g];
        if self.nodes[n].workload > 0 {
            // The actuator's last look refuses it too; the plan should never have asked.
            self.violations.push(format!(
                "{}: terminating {name}, which runs {} job pod(s)",
                group.name, self.nodes[n].workload
            ));
            return;
        }
        if decrement && group.desired <= group.min_size {
            self.violations.push(format!(
                "{}: terminating {name} with a decrement would go below MinSize {}",
                group.name, group.min_size
            ));
            return;
        }
        let instance = self.nodes[n].instance;
        self.terminate_instance(instance);
        if decrement {
            self.snap.groups[g].desired -= 1;
        }
        self.reconcile(g);
    }

    /// Terminates an instance that never joined, without a decrement: the group replaces it.
    pub fn replace_instance(&mut self, id: &str) {
        let Some(&uid) = self.instance_named.get(id) else {
            return;
        };
        let g = self.instances[self.instance_at[&uid]].group;
        self.terminate_instance(uid);
        self.reconcile(g);
    }

    pub fn mark_idle(&mut self, name: &str) {
        let now = self.now();
        if let Some(n) = self.node_index(name) {
            self.snap.nodes[n].marks.idle_since = Some(now);
        }
    }

    /// Sets or removes the consolidation mark: the `PreferNoSchedule` taint the scheduler
    /// scores against, and the annotation's time.
    pub fn mark_consolidating(&mut self, name: &str, on: bool) {
        let now = self.now();
        let Some(n) = self.node_index(name) else {
            return;
        };
        let node = &mut self.snap.nodes[n];
        node.taints.retain(|t| t.key != keys::CONSOLIDATING);
        node.marks.consolidating = on;
        node.marks.consolidating_since = on.then_some(now);
        if on {
            node.taints.push(Taint {
                key: keys::CONSOLIDATING.to_string(),
                value: String::new(),
                effect: TaintEffect::PreferNoSchedule,
            });
        }
    }

    pub fn clear_idle(&mut self, name: &str) {
        if let Some(n) = self.node_index(name) {
            self.snap.nodes[n].marks.idle_since = None;
        }
    }

    /// Cordons, claiming the cordon as ekas's (a node cordoned already is left as it is).
    pub fn cordon(&mut self, name: &str) {
        if let Some(n) = self.node_index(name) {
            let node = &mut self.snap.nodes[n];
            if !node.unschedulable {
                node.unschedulable = true;
                node.marks.cordoned_by_ekas = true;
            }
        }
    }

    /// Uncordons a node only if ekas cordoned it; the idle and drain marks go too.
    pub fn uncordon(&mut self, name: &str) {
        let Some(n) = self.node_index(name) else {
            return;
        };
        let node = &mut self.snap.nodes[n];
        if node.marks.cordoned_by_ekas {
            if node.unschedulable {
                self.grown.push(self.nodes[n].uid);
            }
            node.unschedulable = false;
            node.marks.cordoned_by_ekas = false;
            node.marks.drain_started = None;
        }
        node.marks.idle_since = None;
    }

    /// One drain step, as the loop takes it: cordon, record the start, evict what the drain
    /// policy allows. Evicted job pods are pending again at once.
    pub fn drain(&mut self, name: &str, policy: &DrainPolicy) {
        self.cordon(name);
        let Some(n) = self.node_index(name) else {
            return;
        };
        let now = self.now();
        let node_uid = self.nodes[n].uid;
        let evictable: Vec<u64> = (0..self.pods.len())
            .filter(|&i| self.pods[i].node == Some(node_uid))
            .filter(|&i| classify(&self.snap.pods[i], policy, now) == PodDrain::Evict)
            .map(|i| self.pods[i].uid)
            .collect();
        for uid in evictable {
            self.evict(uid);
        }
        // Evicted pods take their grace period to go, so the one round of evictions ends with
        // pods still there and the mark stays: the next pass finds the node drained.
        if let Some(n) = self.node_index(name) {
            let marks = &mut self.snap.nodes[n].marks;
            marks.drain_started = marks.drain_started.or(Some(now));
        }
    }

    pub fn delete_node(&mut self, name: &str) {
        if let Some(n) = self.node_index(name) {
            self.remove_node(n);
        }
    }

    /// Closes the books at the end: instances still running are billed until now, idle nodes
    /// counted idle until now, running pods' work recorded.
    pub fn close(&mut self) {
        for k in 0..self.instances.len() {
            if let Some(from) = self.instances[k].running_from_ms {
                let g = self.instances[k].group;
                let price = self.groups[g].price;
                self.ledger.instance_stopped(g, self.now_ms - from, price);
            }
        }
        for n in 0..self.nodes.len() {
            if let Some(from) = self.nodes[n].idle_from_ms.take() {
                self.ledger.idle_ms += self.now_ms - from;
            }
        }
        for i in 0..self.pods.len() {
            if self.pods[i].job.is_some() && self.pods[i].node.is_some() {
                self.stop(i);
            }
        }
    }

    /// Instances launching or joining: capacity on its way.
    pub fn in_flight(&self) -> usize {
        self.snap.instances.len() - self.nodes.len()
    }

    pub fn running_pods(&self) -> usize {
        self.pods
            .iter()
            .filter(|p| p.job.is_some() && p.node.is_some())
            .count()
    }

    /// The failure injected into group `g` now, if any.
    fn failure_now(&self, g: usize) -> Option<super::params::FailureKind> {
        self.failures
            .iter()
            .find(|(fg, from, until, _)| *fg == g && *from <= self.now_ms && self.now_ms < *until)
            .map(|f| f.3)
    }

    pub fn failing(&self, g: usize) -> bool {
        self.failure_now(g).is_some()
    }

    /// Whether an injected failure is open now or opens later.
    pub fn failure_ahead(&self) -> bool {
        self.failures.iter().any(|f| f.2 > self.now_ms)
    }

    /// The room a fresh node of group `g` offers jobs, after its DaemonSet pods.
    pub fn fresh_room(&self, g: usize) -> Resources {
        let mut room = self.groups[g].template.allocatable.clone();
        for &d in &self.groups[g].daemons {
            room.sub(&self.daemon_pods[d].requests);
        }
        room
    }

    pub fn template(&self, g: usize) -> &Node {
        &self.groups[g].template
    }

    /// The job pods on node `n`.
    pub fn residents(&self, n: usize) -> impl Iterator<Item = &Pod> {
        self.nodes[n]
            .residents
            .iter()
            .filter_map(|uid| self.pod(*uid))
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of a 64-bit value.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a: a stable hash of bytes (the standard library's may change between releases).
pub fn fnv(text: &str) -> u64 {
    fnv_bytes(0xcbf2_9ce4_8422_2325, text.as_bytes())
}

pub fn fnv_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A group's new node as the predicates see its template: unnamed and uncordoned.
fn template_shape(template: &Node) -> NodeShape<'_> {
    NodeShape {
        name: None,
        labels: &template.labels,
        taints: &template.taints,
        unschedulable: false,
        unknown_zones: &[],
    }
}

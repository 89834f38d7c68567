//! `ekas simulate`: replays a batch workload through the real engine against a simulated
//! clock, scheduler and cloud, to choose settings before production. No sleeping and no
//! network: a week of trace runs in seconds, and the same inputs give the same figures.
//!
//! One run, for one configuration:
//!
//! 1. The cluster file's snapshot is built as `ekas plan --snapshot` builds it, with the
//!    configuration's options (regions, reservations); its groups, their members and nodes
//!    are the starting cluster. Its pods are not replayed: the trace is the workload.
//! 2. Events come in time order: a job arrives (its pods wait), a pod ends, an instance
//!    reaches `running`, a node joins. After the events of a moment, the simulated scheduler
//!    binds what fits (see [`scheduler`]).
//! 3. A pass runs every `--sleep`, and — as in `ekas run` — a batching window after new pods
//!    are left waiting (at most the batching maximum after the first). It hands the cluster's snapshot to
//!    the policy: ekas's own [`crate::engine::plan`], or the original tool's model. The
//!    decisions are applied as `ekas run` applies them, to the simulated Nodes and groups;
//!    groups then launch towards their desired capacity (see [`world`]).
//! 4. The run ends when every job is done and nothing is on its way; if pods still wait, it
//!    goes on until nothing has changed for the longest backoff and a pass.
//! 5. The invariants are checked after every pass and at the end ([`oracle`]).

pub mod bound;
pub mod chart;
pub mod objects;
pub mod oracle;
pub mod original;
pub mod params;
pub mod policy;
pub mod report;
pub mod scheduler;
pub mod scoring;
pub mod trace;
pub mod workload;
pub mod world;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr};
use jiff::SignedDuration;

use crate::decode::{self, DecodeOptions};
use crate::document::SnapshotDocument;
use crate::engine;
use crate::plan::NodeActionKind;
use crate::source::file;
use params::Params;
use policy::{Decisions, Policy};
use report::{GroupOutcome, Outcome, Series, Waits, hours, round2};
use scheduler::Scheduler;
use workload::Workload;
use world::{Event, World};

/// The longest a run goes on after the last submission, whatever happens.
const HORIZON_AFTER_TRACE: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Invariant violations listed per configuration; more are counted.
const MAX_VIOLATIONS_SHOWN: usize = 50;
/// Samples the chart gets over the trace's span, at most.
const CHART_SAMPLES: i64 = 1500;

/// The inputs every configuration shares.
pub struct Scenario {
    pub doc: SnapshotDocument,
    pub params: Params,
    pub workload: Workload,
    /// Seeds the launch and join delays.
    pub seed: u64,
    pub trace_span_ms: i64,
}

impl Scenario {
    pub fn load(cluster: &Path, trace: &Path) -> Result<Scenario> {
        let cluster_bytes = std::fs::read(cluster)
            .wrap_err_with(|| format!("cannot read cluster file {}", cluster.display()))?;
        let trace_text = std::fs::read_to_string(trace)
            .wrap_err_with(|| format!("cannot read trace file {}", trace.display()))?;
        Scenario::parse(&cluster_bytes, &trace_text)
            .wrap_err_with(|| format!("{} and {}", cluster.display(), trace.display()))
    }

    /// A scenario from the cluster file's bytes and the trace's text.
    pub fn parse(cluster: &[u8], trace: &str) -> Result<Scenario> {
        let doc = file::parse(cluster).wrap_err("cluster file")?;
        let groups: BTreeSet<String> = doc
            .aws
            .values()
            .flat_map(|r| &r.auto_scaling_groups.auto_scaling_groups)
            .map(|g| g.auto_scaling_group_name.clone())
            .collect();
        let params = params::parse(cluster, &groups, doc.captured_at).wrap_err("cluster file")?;
        let trace_text = trace;
        let trace = trace::parse(trace_text).wrap_err("trace")?;
        let workload = Workload::new(&trace, &params.classes)?;
        let seed = params.seed.unwrap_or_else(|| {
            world::fnv_bytes(world::fnv(""), cluster).wrapping_add(world::fnv(trace_text))
        });
        Ok(Scenario {
            doc,
            params,
            workload,
            seed,
            trace_span_ms: trace.span_ms(),
        })
    }
}

/// One configuration to simulate.
#[derive(Debug, Clone)]
pub struct Settings {
    pub label: String,
    pub policy: Policy,
    pub engine: engine::Config,
    pub build: DecodeOptions,
    pub sleep: SignedDuration,
    /// Quiet time after new pending pods before a pass (if the next periodic one is not
    /// sooner), as `ekas run` waits.
    pub batch_idle: SignedDuration,
    /// A burst that keeps arriving still gets its pass after this long.
    pub batch_max: SignedDuration,
    /// How the simulated scheduler ranks the nodes a pod fits.
    pub scoring: scoring::Scoring,
}

/// Simulates one configuration. `progress` hears the fraction of the trace replayed.
pub fn run(scenario: &Scenario, settings: &Settings, progress: &dyn Fn(f64)) -> Result<Outcome> {
    let snapshot = decode::snapshot(&scenario.doc, &settings.build)?;
    let workload = &scenario.workload;
    let mut world = World::new(
        &scenario.doc,
        snapshot,
        &scenario.params,
        scenario.seed,
        workload,
    )?;
    let step = (scenario.trace_span_ms / CHART_SAMPLES).max(60_000);
    world.ledger.series = Series::new(step - step % 60_000);
    let mut replay = Replay::new(scenario, settings, world);
    replay.go(progress);
    let mut world = replay.world;
    progress(1.0);
    world.close();
    let violations = violations(&mut world, workload);
    Ok(outcome(&world, workload, settings, violations))
}

/// The run's marks on the simulated clock, in milliseconds.
struct Pace {
    /// Between periodic passes (`--sleep`, at least a second).
    sleep: i64,
    /// The batching window after new pods are left waiting.
    window: i64,
    /// The longest a burst is batched after its first pod.
    batch_max: i64,
    /// With pods still waiting, the run ends after nothing has changed for this long.
    settle: i64,
    /// The run ends past this, whatever happens.
    horizon: i64,
}

impl Pace {
    /// The marks of a run of `settings` over the scenario's trace.
    fn of(scenario: &Scenario, settings: &Settings) -> Pace {
        let sleep = settings.sleep.as_millis().max(1000) as i64;
        Pace {
            sleep,
            window: settings.batch_idle.as_millis() as i64,
            batch_max: settings.batch_max.as_millis() as i64,
            settle: settings.engine.backoff.max.as_millis().max(3_600_000) as i64 + sleep,
            horizon: scenario.trace_span_ms + HORIZON_AFTER_TRACE.as_millis() as i64,
        }
    }
}

/// A replay under way: the simulated cluster, what is due to happen, and the marks that say
/// when the next pass is and when the run is over.
struct Replay<'s> {
    scenario: &'s Scenario,
    settings: &'s Settings,
    pace: Pace,
    world: World,
    /// Events to come, earliest first, then in the order they were made (`seq`).
    events: BinaryHeap<Reverse<(i64, u64, Event)>>,
    seq: u64,
    scheduler: Scheduler,
    /// The next job of the workload to arrive.
    next_arrival: usize,
    next_periodic: i64,
    /// (first new pending pod, when the pass is due) while a burst is being batched.
    burst: Option<(i64, i64)>,
    /// When a job last arrived or a pass last asked for anything.
    last_change: i64,
}

impl<'s> Replay<'s> {
    /// A replay of `world` from its start: no event yet, the first pass due at once.
    fn new(scenario: &'s Scenario, settings: &'s Settings, world: World) -> Replay<'s> {
        Replay {
            scenario,
            settings,
            pace: Pace::of(scenario, settings),
            world,
            events: BinaryHeap::new(),
            seq: 0,
            scheduler: Scheduler::new(settings.scoring),
            next_arrival: 0,
            next_periodic: 0,
            burst: None,
            last_change: 0,
        }
    }

    /// Replays moment after moment until the run is over (see the module).
    fn go(&mut self, progress: &dyn Fn(f64)) {
        let scenario = self.scenario;
        let workload = &scenario.workload;
        self.reconcile_groups();
        loop {
            let now = self.next_moment();
            if now > self.pace.horizon {
                break;
            }
            self.world.now_ms = now;
            // Pods created now: jobs arriving, and (below) pods coming back after an eviction.
            let mut fresh = self.arrive(now);
            self.happen(now);
            fresh.extend(schedule(&mut self.scheduler, &mut self.world, workload));
            if now == self.pass_at() {
                fresh.extend(self.pass(now, progress));
            }
            self.batch(now, &fresh);
            if self.over(now) {
                break;
            }
        }
    }

    /// Every group launches towards its desired capacity.
    fn reconcile_groups(&mut self) {
        for g in 0..self.world.snap.groups.len() {
            self.world.reconcile(g);
        }
    }

    /// When the next pass is due: the periodic one, or sooner at the end of a burst's window.
    fn pass_at(&self) -> i64 {
        self.burst
            .map_or(self.next_periodic, |(_, due)| due.min(self.next_periodic))
    }

    /// The next moment anything happens (a pass, an arrival, an event), once the world's new
    /// events are queued.
    fn next_moment(&mut self) -> i64 {
        for (at, event) in self.world.outbox.drain(..) {
            self.seq += 1;
            self.events.push(Reverse((at, self.seq, event)));
        }
        let pass_at = self.pass_at();
        let workload = &self.scenario.workload;
        let arrival_at = workload.jobs.get(self.next_arrival).map(|j| j.submit_ms);
        let event_at = self.events.peek().map(|Reverse((at, _, _))| *at);
        [Some(pass_at), arrival_at, event_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(pass_at)
    }

    /// Submits the jobs arriving `now`; returns their pods.
    fn arrive(&mut self, now: i64) -> Vec<u64> {
        let workload = &self.scenario.workload;
        let mut fresh = Vec::new();
        while self.next_arrival < workload.jobs.len()
            && workload.jobs[self.next_arrival].submit_ms == now
        {
            let pods = self.world.submit(workload, self.next_arrival);
            fresh.extend_from_slice(&pods);
            self.scheduler.enqueue(workload, self.next_arrival, pods);
            self.next_arrival += 1;
            self.last_change = now;
        }
        fresh
    }

    /// Carries out the events due `now`, in order.
    fn happen(&mut self, now: i64) {
        while let Some(Reverse((at, _, event))) = self.events.peek().copied() {
            if at != now {
                break;
            }
            self.events.pop();
            match event {
                Event::Finish(pod) => self.world.finish(&self.scenario.workload, pod),
                Event::Running(instance) => self.world.running(instance),
                Event::Join(instance) => self.world.join(instance),
            }
        }
    }

    /// A pass: the policy decides on the cluster's snapshot, the decisions are applied, the
    /// scheduler goes again, and the invariants are checked. Returns the pods that came back.
    fn pass(&mut self, now: i64, progress: &dyn Fn(f64)) -> Vec<u64> {
        let (settings, scenario) = (self.settings, self.scenario);
        let workload = &scenario.workload;
        let decisions = settings
            .policy
            .decide(self.world.snapshot(), &settings.engine);
        if apply(&mut self.world, &decisions, settings) {
            self.last_change = now;
        }
        self.reconcile_groups();
        self.burst = None;
        let fresh = schedule(&mut self.scheduler, &mut self.world, workload);
        let world = &mut self.world;
        let broken = oracle::after_pass(world);
        world.violations.extend(broken);
        world.ledger.passes += 1;
        let counts = world.node_counts();
        world.ledger.observe_nodes(&counts);
        let pending = world.pending;
        world.ledger.series.observe(now, pending, &counts);
        self.next_periodic = now + self.pace.sleep;
        let span = self.scenario.trace_span_ms;
        if span > 0 {
            progress((now as f64 / span as f64).min(1.0));
        }
        fresh
    }

    /// New pods still waiting after the scheduler's go start a batching window, or extend
    /// the one open. (The live loop's watch also wakes for pods the scheduler binds at once;
    /// that pass would find nothing waiting, so it is left out: a week of arrivals would
    /// otherwise double the passes for nothing but earlier idle marks.)
    fn batch(&mut self, now: i64, fresh: &[u64]) {
        if fresh
            .iter()
            .any(|&uid| self.world.pod(uid).is_some_and(|p| p.node_name.is_none()))
        {
            let first = self.burst.map_or(now, |(first, _)| first);
            let due = (now + self.pace.window).min(first + self.pace.batch_max);
            self.burst = Some((first, due));
        }
    }

    /// Whether the run is over: every job is done and nothing is on its way, and no pod
    /// waits or nothing has changed for long enough.
    fn over(&self, now: i64) -> bool {
        let world = &self.world;
        let quiet = self.next_arrival == self.scenario.workload.jobs.len()
            && world.running_pods() == 0
            && world.in_flight() == 0
            && !world.failure_ahead()
            && world.outbox.is_empty()
            && self.events.is_empty();
        quiet && (world.pending == 0 || now - self.last_change >= self.pace.settle)
    }
}

/// The invariant violations of the run (those after each pass, then those at the end),
/// without repeats in a row, and at most [`MAX_VIOLATIONS_SHOWN`] of them listed.
fn violations(world: &mut World, workload: &Workload) -> Vec<String> {
    let mut violations = std::mem::take(&mut world.violations);
    violations.extend(oracle::at_end(world, workload));
    violations.dedup();
    if violations.len() > MAX_VIOLATIONS_SHOWN {
        let more = violations.len() - MAX_VIOLATIONS_SHOWN;
        violations.truncate(MAX_VIOLATIONS_SHOWN);
        violations.push(format!("… and {more} more"));
    }
    violations
}

/// Moves pods that came back into the queues and binds what fits; returns those pods.
fn schedule(scheduler: &mut Scheduler, world: &mut World, workload: &Workload) -> Vec<u64> {
    let requeued = std::mem::take(&mut world.requeued);
    for &(job, pod) in &requeued {
        scheduler.requeue(workload, job, pod);
    }
    scheduler.run(world, workload);
    requeued.into_iter().map(|(_, pod)| pod).collect()
}

/// Applies a pass's decisions in `ekas run`'s order; returns whether anything was asked.
fn apply(world: &mut World, decisions: &Decisions, settings: &Settings) -> bool {
    for (name, action, _) in &decisions.nodes {
        if *action == NodeActionKind::Uncordon {
            world.uncordon(name);
        }
    }
    for reset in &decisions.resets {
        if let Some(g) = world.group_index(&reset.region, &reset.group) {
            world.set_desired(g, reset.desired);
        }
    }
    for raise in &decisions.raises {
        if let Some(g) = world.group_index(&raise.region, &raise.group) {
            if raise.desired > world.snap.groups[g].desired {
                world.ledger.scale_ups += 1;
            }
            world.set_desired(g, raise.desired);
        }
    }
    let drain = settings.engine.maintenance.drain;
    for (name, action, decrement) in &decisions.nodes {
        match action {
            // The simulated cloud never loses an instance a node still names.
            // Nor is any instance interrupted.
            NodeActionKind::None
            | NodeActionKind::Uncordon
            | NodeActionKind::MarkInstanceNotFound
            | NodeActionKind::ClearInstanceNotFound
            | NodeActionKind::InterruptionDrain
            | NodeActionKind::ClearInterruption => {}
            NodeActionKind::Consolidate => world.mark_consolidating(name, true),
            NodeActionKind::ClearConsolidation => world.mark_consolidating(name, false),
            NodeActionKind::MarkIdle => world.mark_idle(name),
            NodeActionKind::ClearIdle => world.clear_idle(name),
            NodeActionKind::Cordon => world.cordon(name),
            NodeActionKind::Drain => world.drain(name, &drain),
            NodeActionKind::Terminate => world.terminate_node(name, *decrement),
            NodeActionKind::DeleteNode => world.delete_node(name),
        }
    }
    for id in &decisions.replace {
        world.replace_instance(id);
    }
    // As `ekas run` records them on its Lease: the budget holds across passes.
    let window = settings.engine.maintenance.scale_in_window;
    world.record_removals(decisions.charged, window);
    !(decisions.resets.is_empty()
        && decisions.raises.is_empty()
        && decisions.nodes.is_empty()
        && decisions.replace.is_empty())
}

fn outcome(
    world: &World,
    workload: &Workload,
    settings: &Settings,
    violations: Vec<String>,
) -> Outcome {
    let ledger = &world.ledger;
    let waits: Vec<i64> = workload
        .jobs
        .iter()
        .zip(&world.jobs)
        .filter_map(|(job, state)| Some(state.started_ms? - job.submit_ms))
        .collect();
    let mut by_class: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (job, state) in workload.jobs.iter().zip(&world.jobs) {
        if let (Some(class), Some(started)) = (&job.class, state.started_ms) {
            by_class
                .entry(class.clone())
                .or_default()
                .push(started - job.submit_ms);
        }
    }
    let never = world
        .pods
        .iter()
        .filter(|p| p.job.is_some() && p.node.is_none() && !p.counted)
        .count() as u64;
    let groups: Vec<GroupOutcome> = world
        .snap
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| GroupOutcome {
            group: group.name.clone(),
            region: group.region.clone(),
            instance_type: group.instance_type.clone(),
            nodes_launched: ledger.launched[g],
            peak_nodes: ledger.peak_nodes[g],
            node_hours: round2(hours(ledger.instance_ms[g])),
            cost: round2(ledger.cost[g]),
        })
        .collect();
    Outcome {
        label: settings.label.clone(),
        policy: settings.policy.to_string(),
        jobs: workload.jobs.len(),
        jobs_started: world.jobs.iter().filter(|s| s.started_ms.is_some()).count(),
        jobs_finished: world.jobs.iter().filter(|s| s.done_ms.is_some()).count(),
        job_wait: Waits::of(waits),
        job_wait_by_class: by_class
            .into_iter()
            .map(|(class, waits)| (class, Waits::of(waits)))
            .collect(),
        node_hours: round2(hours(ledger.instance_ms.iter().sum())),
        lower_bound_node_hours: round2(hours(world.bound.node_ms(world.now_ms))),
        idle_node_hours: round2(hours(ledger.idle_ms)),
        cost: round2(ledger.cost.iter().sum()),
        scale_ups: ledger.scale_ups,
        nodes_launched: ledger.launched.iter().sum(),
        terminations: ledger.terminations,
        evictions: ledger.evictions,
        pods_never_scheduled: never,
        passes: ledger.passes,
        ended_at: world.now(),
        groups,
        violations,
        series: ledger.series.clone(),
    }
}

#[cfg(test)]
mod tests;

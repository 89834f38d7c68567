//! What a simulation measured: the running tallies ([`Ledger`]), the figures of one
//! configuration ([`Outcome`]), and their rendering as a table or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::Resources;
use crate::model::resources::PODS;
use crate::output::columns::{Columns, Layout, col, droppable, wide, write_wrapped};

const HOUR_MS: f64 = 3_600_000.0;
/// EC2 bills a Linux instance per second, at least a minute.
const MIN_BILLED_MS: i64 = 60_000;

/// Tallies kept as the simulation runs.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Per group: milliseconds instances ran (from `running` to termination).
    pub instance_ms: Vec<i64>,
    pub cost: Vec<f64>,
    pub launched: Vec<u64>,
    pub peak_nodes: Vec<u32>,
    /// Milliseconds nodes spent with no job pod.
    pub idle_ms: i64,
    pub terminations: u64,
    pub evictions: u64,
    pub scale_ups: u64,
    pub passes: u64,
    /// Per group: resource → Σ milliseconds run × request / the node's allocatable, the
    /// node-time the work needs at least.
    pub work: Vec<BTreeMap<String, f64>>,
    pub series: Series,
}

impl Ledger {
    pub fn new(groups: usize) -> Ledger {
        Ledger {
            instance_ms: vec![0; groups],
            cost: vec![0.0; groups],
            launched: vec![0; groups],
            peak_nodes: vec![0; groups],
            work: vec![BTreeMap::new(); groups],
            ..Ledger::default()
        }
    }

    pub fn instance_stopped(&mut self, g: usize, ran_ms: i64, price: f64) {
        self.instance_ms[g] += ran_ms;
        self.cost[g] += price * ran_ms.max(MIN_BILLED_MS) as f64 / HOUR_MS;
    }

    pub fn work(&mut self, g: usize, ran_ms: i64, requests: &Resources, allocatable: &Resources) {
        for (resource, amount) in requests.iter() {
            let total = allocatable.get(resource);
            if resource == PODS || total <= 0 {
                continue;
            }
            let share = ran_ms as f64 * amount as f64 / total as f64;
            match self.work[g].get_mut(resource) {
                Some(sum) => *sum += share,
                None => {
                    self.work[g].insert(resource.to_string(), share);
                }
            }
        }
    }

    pub fn observe_nodes(&mut self, counts: &[u32]) {
        for (peak, &count) in self.peak_nodes.iter_mut().zip(counts) {
            *peak = (*peak).max(count);
        }
    }
}

/// Pending pods and nodes per group over time, one sample per step (the largest values seen
/// within it), for the chart.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub step_ms: i64,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub at_ms: i64,
    pub pending: u32,
    pub nodes: Vec<u32>,
}

impl Series {
    pub fn new(step_ms: i64) -> Series {
        Series {
            step_ms: step_ms.max(1),
            samples: Vec::new(),
        }
    }

    pub fn observe(&mut self, at_ms: i64, pending: usize, nodes: &[u32]) {
        let at_ms = at_ms - at_ms % self.step_ms;
        match self.samples.last_mut() {
            Some(last) if last.at_ms == at_ms => {
                last.pending = last.pending.max(pending as u32);
                for (a, &b) in last.nodes.iter_mut().zip(nodes) {
                    *a = (*a).max(b);
                }
            }
            _ => self.samples.push(Sample {
                at_ms,
                pending: pending as u32,
                nodes: nodes.to_vec(),
            }),
        }
    }
}

/// Seconds a job waited from submission until its last pod started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Waits {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Waits {
    /// Nearest-rank percentiles of waits in milliseconds.
    pub fn of(mut waits_ms: Vec<i64>) -> Waits {
        if waits_ms.is_empty() {
            return Waits::default();
        }
        waits_ms.sort_unstable();
        let rank = |p: f64| {
            let i = ((p * waits_ms.len() as f64).ceil() as usize).clamp(1, waits_ms.len());
            waits_ms[i - 1] as f64 / 1000.0
        };
        Waits {
            p50: rank(0.50),
            p95: rank(0.95),
            max: rank(1.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOutcome {
    pub group: String,
    pub region: String,
    pub instance_type: String,
    pub nodes_launched: u64,
    pub peak_nodes: u32,
    pub node_hours: f64,
    pub cost: f64,
}

/// The figures of one configuration.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `ekas`, `original`, or the settings compared (`idle-threshold=10m`).
    pub label: String,
    pub policy: String,
    pub jobs: usize,
    pub jobs_started: usize,
    pub jobs_finished: usize,
    /// Seconds from submission until a job's last pod started, over the jobs that started.
    pub job_wait: Waits,
    /// The same, per class of the trace.
    pub job_wait_by_class: BTreeMap<String, Waits>,
    pub node_hours: f64,
    /// The whole-node lower bound ([`super::bound`]): at every instant, per pool, the fewest
    /// whole nodes that hold the running jobs, summed over the run.
    pub lower_bound_node_hours: f64,
    /// Hours Ready nodes ran no job pod.
    pub idle_node_hours: f64,
    /// On-demand dollars, per second with EC2's one-minute minimum.
    pub cost: f64,
    /// Desired capacities raised.
    pub scale_ups: u64,
    pub nodes_launched: u64,
    /// Instances terminated (idle, drained, or never joined).
    pub terminations: u64,
    pub evictions: u64,
    pub pods_never_scheduled: u64,
    pub passes: u64,
    /// When the simulation stopped: the last job done (or nothing more could start).
    pub ended_at: Timestamp,
    pub groups: Vec<GroupOutcome>,
    /// What the invariant checks found (empty when all held).
    pub violations: Vec<String>,
    #[serde(skip)]
    pub series: Series,
}

/// Two decimals, so the JSON stays stable and readable.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn hours(ms: i64) -> f64 {
    ms as f64 / HOUR_MS
}

/// A wait in seconds, to the second ([`crate::duration::precise`]).
fn human(seconds: f64) -> String {
    crate::duration::precise(jiff::SignedDuration::from_secs_f64(seconds.max(0.0)))
}

/// Thousands separated: 12,345.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn money(x: f64) -> String {
    let cents = (x * 100.0).round() as u64;
    format!("${}.{:02}", count(cents / 100), cents % 100)
}

/// One row per configuration, as `kubectl get` lists objects: the figures that compare them
/// (`-o wide` adds the counts behind them), each class's wait under its row.
pub fn write_table(
    header: &str,
    outcomes: &[Outcome],
    layout: Layout,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    write_wrapped(out, header, 0, 2, layout.width)?;
    let mut table = outcome_columns();
    for o in outcomes {
        table.row(outcome_cells(o), class_notes(o));
    }
    table.write(layout, out)?;
    write_wrapped(
        out,
        "BOUND: at every instant, per pool, the fewest whole nodes that hold the running jobs, \
         in node-hours; COST: on-demand, per second with a one-minute minimum.",
        0,
        0,
        layout.width,
    )?;
    for o in outcomes.iter().filter(|o| !o.violations.is_empty()) {
        writeln!(
            out,
            "{}: {} invariant violation(s):",
            o.label,
            o.violations.len()
        )?;
        for v in &o.violations {
            writeln!(out, "  {v}")?;
        }
    }
    Ok(())
}

/// The table's columns: those that compare configurations (the droppable ones hidden on a
/// narrow terminal), then the counts `-o wide` adds.
fn outcome_columns() -> Columns {
    Columns::new(&[
        col("CONFIGURATION"),
        droppable("JOBS DONE", 3),
        col("WAIT P50"),
        col("WAIT P95"),
        droppable("WAIT MAX", 2),
        col("NODE-HOURS"),
        col("BOUND"),
        col("× BOUND"),
        droppable("IDLE", 1),
        col("COST"),
        col("EVICTED"),
        wide("NEVER SCHEDULED"),
        wide("LAUNCHED"),
        wide("TERMINATED"),
        wide("SCALE-UPS"),
        wide("PASSES"),
    ])
}

/// One configuration's row, in the order of [`outcome_columns`].
fn outcome_cells(o: &Outcome) -> Vec<String> {
    let ratio = match o.lower_bound_node_hours {
        b if b > 0.0 => format!("{:.2}", o.node_hours / b),
        _ => String::new(),
    };
    vec![
        o.label.clone(),
        format!("{}/{}", count(o.jobs_finished as u64), count(o.jobs as u64)),
        human(o.job_wait.p50),
        human(o.job_wait.p95),
        human(o.job_wait.max),
        format!("{:.1}", o.node_hours),
        format!("{:.1}", o.lower_bound_node_hours),
        ratio,
        format!("{:.1}", o.idle_node_hours),
        money(o.cost),
        count(o.evictions),
        count(o.pods_never_scheduled),
        count(o.nodes_launched),
        count(o.terminations),
        count(o.scale_ups),
        count(o.passes),
    ]
}

/// The notes under a configuration's row: each class's wait, when there is more than one.
fn class_notes(o: &Outcome) -> Vec<String> {
    let mut notes = Vec::new();
    if o.job_wait_by_class.len() > 1 {
        let classes: Vec<String> = o
            .job_wait_by_class
            .iter()
            .map(|(class, w)| format!("{class} {} (max {})", human(w.p95), human(w.max)))
            .collect();
        notes.push(format!("wait p95 by class: {}", classes.join(", ")));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let w = Waits::of((1..=100).map(|s| s * 1000).collect());
        assert_eq!((w.p50, w.p95, w.max), (50.0, 95.0, 100.0));
        let w = Waits::of(vec![3000]);
        assert_eq!((w.p50, w.p95, w.max), (3.0, 3.0, 3.0));
        assert_eq!(Waits::of(vec![]), Waits::default());
    }

    #[test]
    fn figures_for_people() {
        assert_eq!(money(1234.567), "$1,234.57");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn billing_has_a_one_minute_minimum() {
        let mut ledger = Ledger::new(1);
        ledger.instance_stopped(0, 10_000, 3.6);
        assert!((ledger.cost[0] - 0.06).abs() < 1e-12);
        ledger.instance_stopped(0, 3_600_000, 3.6);
        assert!((ledger.cost[0] - 3.66).abs() < 1e-12);
        assert_eq!(ledger.instance_ms[0], 3_610_000);
    }

    #[test]
    fn series_keep_the_peak_of_each_step() {
        let mut s = Series::new(60_000);
        s.observe(0, 3, &[1]);
        s.observe(30_000, 7, &[2]);
        s.observe(45_000, 1, &[0]);
        s.observe(61_000, 2, &[4]);
        assert_eq!(s.samples.len(), 2);
        assert_eq!((s.samples[0].pending, s.samples[0].nodes[0]), (7, 2));
        assert_eq!((s.samples[1].at_ms, s.samples[1].pending), (60_000, 2));
    }
}

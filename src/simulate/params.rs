//! The simulation parameters: an optional top-level `simulation` object in the cluster file,
//! beside the snapshot's parts (which ignore it). Every field is optional:
//!
//! ```json
//! "simulation": {
//!   "seed": 7,
//!   "launchDelay": {"min": "90s", "max": "180s"},
//!   "joinDelay": {"min": "30s", "max": "60s"},
//!   "groups": {"batch-prod-gpu-usw2": {"launchDelay": {"min": "4m", "max": "8m"}}},
//!   "failures": [{"group": "batch-prod-gpu-usw2", "from": "26h", "until": "30h",
//!                 "reason": "insufficient-capacity"}],
//!   "prices": {"p3.2xlarge": 3.06},
//!   "classes": {"gpu": {"nodeSelector": {"pool": "gpu"},
//!               "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}}
//! }
//! ```
//!
//! Durations are seconds or units (`90s`, `4m`); failure times are offsets from the start
//! (the snapshot's `capturedAt`) or RFC 3339 times. A class is a pod spec fragment
//! (nodeSelector, tolerations, affinity, …) that the trace names per job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use jiff::Timestamp;
use serde::Deserialize;

use crate::duration::parse as parse_duration;
use crate::pricing::PriceTable;

/// How long an instance takes from the raised desired capacity to `running`, by default.
pub const DEFAULT_LAUNCH_DELAY: Range = Range {
    min_ms: 90_000,
    max_ms: 180_000,
};
/// How long a running instance takes to register a Ready node, by default.
pub const DEFAULT_JOIN_DELAY: Range = Range {
    min_ms: 30_000,
    max_ms: 60_000,
};

/// A delay drawn uniformly between two bounds, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min_ms: i64,
    pub max_ms: i64,
}

impl Range {
    /// The delay at `unit` ∈ [0, 1).
    pub fn at(&self, unit: f64) -> i64 {
        self.min_ms + ((self.max_ms - self.min_ms) as f64 * unit) as i64
    }
}

/// Why launches fail during an injected failure; each reads as AWS words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    #[default]
    InsufficientCapacity,
    InstanceLimit,
    VcpuLimit,
    SpotLimit,
    LaunchFailed,
}

/// Launches of `group` fail from `from_ms` until `until_ms` (after the start).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub group: String,
    pub from_ms: i64,
    pub until_ms: i64,
    pub kind: FailureKind,
}

/// The parameters, resolved against the start time.
#[derive(Debug, Clone)]
pub struct Params {
    pub seed: Option<u64>,
    launch: Range,
    join: Range,
    per_group: BTreeMap<String, (Option<Range>, Option<Range>)>,
    pub failures: Vec<Failure>,
    pub prices: PriceTable,
    /// Class name → pod spec fragment.
    pub classes: BTreeMap<String, serde_json::Value>,
}

impl Params {
    /// Launch and join delays of a group.
    pub fn delays(&self, group: &str) -> (Range, Range) {
        let (launch, join) = self.per_group.get(group).copied().unwrap_or_default();
        (launch.unwrap_or(self.launch), join.unwrap_or(self.join))
    }

    /// The failure injected into `group` at `at_ms`, if any.
    pub fn failure(&self, group: &str, at_ms: i64) -> Option<&Failure> {
        self.failures
            .iter()
            .find(|f| f.group == group && f.from_ms <= at_ms && at_ms < f.until_ms)
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            seed: None,
            launch: DEFAULT_LAUNCH_DELAY,
            join: DEFAULT_JOIN_DELAY,
            per_group: BTreeMap::new(),
            failures: Vec::new(),
            prices: PriceTable::bundled(),
            classes: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ClusterFile {
    #[serde(default)]
    simulation: Part,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Part {
    seed: Option<u64>,
    launch_delay: Option<RangePart>,
    join_delay: Option<RangePart>,
    #[serde(default)]
    groups: BTreeMap<String, GroupPart>,
    #[serde(default)]
    failures: Vec<FailurePart>,
    #[serde(default)]
    prices: BTreeMap<String, f64>,
    #[serde(default)]
    classes: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangePart {
    min: Duration,
    max: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupPart {
    launch_delay: Option<RangePart>,
    join_delay: Option<RangePart>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailurePart {
    group: String,
    from: Moment,
    until: Moment,
    #[serde(default)]
    reason: FailureKind,
}

/// Seconds, or a duration with units.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Duration {
    Seconds(u64),
    Text(String),
}

impl Duration {
    fn millis(&self) -> Result<i64> {
        match self {
            Duration::Seconds(s) => Ok(*s as i64 * 1000),
            Duration::Text(t) => Ok(parse_duration(t).map_err(|e| eyre!(e))?.as_millis() as i64),
        }
    }
}

/// An offset from the start (seconds or a duration), or an RFC 3339 time.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Moment {
    Seconds(u64),
    Text(String),
}

impl Moment {
    fn millis_after(&self, start: Timestamp) -> Result<i64> {
        match self {
            Moment::Seconds(s) => Ok(*s as i64 * 1000),
            Moment::Text(t) => match t.parse::<Timestamp>() {
                Ok(at) => Ok(at.duration_since(start).as_millis() as i64),
                Err(_) => Duration::Text(t.clone()).millis().map_err(|_| {
                    eyre!("{t:?} is neither an RFC 3339 time nor a duration after the start")
                }),
            },
        }
    }
}

impl RangePart {
    fn resolve(&self, what: &str) -> Result<Range> {
        let min_ms = self.min.millis().wrap_err_with(|| format!("{what}.min"))?;
        let max_ms = self.max.millis().wrap_err_with(|| format!("{what}.max"))?;
        if min_ms > max_ms {
            bail!("{what}: min is above max");
        }
        Ok(Range { min_ms, max_ms })
    }
}

/// Reads the `simulation` object of a cluster file. `groups` are the file's group names, to
/// catch a misspelt one; `start` anchors failure times.
pub fn read(path: &Path, groups: &BTreeSet<String>, start: Timestamp) -> Result<Params> {
    let bytes = std::fs::read(path)
        .wrap_err_with(|| format!("cannot read cluster file {}", path.display()))?;
    parse(&bytes, groups, start).wrap_err_with(|| format!("cluster file {}", path.display()))
}

pub fn parse(bytes: &[u8], groups: &BTreeSet<String>, start: Timestamp) -> Result<Params> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let file: ClusterFile = serde_path_to_error::deserialize(de)
        .map_err(|e| eyre!("at {}: {}", e.path(), e.inner()))?;
    let part = file.simulation;
    let known = |name: &str, what: &str| -> Result<()> {
        if groups.contains(name) {
            return Ok(());
        }
        bail!(
            "{what}: no group {name:?} in the cluster (it has: {})",
            groups.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    let mut per_group = BTreeMap::new();
    for (name, g) in &part.groups {
        let what = format!("simulation.groups.{name}");
        known(name, &what)?;
        let launch = g
            .launch_delay
            .as_ref()
            .map(|r| r.resolve(&format!("{what}.launchDelay")))
            .transpose()?;
        let join = g
            .join_delay
            .as_ref()
            .map(|r| r.resolve(&format!("{what}.joinDelay")))
            .transpose()?;
        per_group.insert(name.clone(), (launch, join));
    }
    let mut failures = Vec::new();
    for (i, f) in part.failures.iter().enumerate() {
        let what = format!("simulation.failures[{i}]");
        known(&f.group, &what)?;
        let from_ms = f.from.millis_after(start).wrap_err_with(|| what.clone())?;
        let until_ms = f.until.millis_after(start).wrap_err_with(|| what.clone())?;
        if until_ms <= from_ms {
            bail!("{what}: until is not after from");
        }
        failures.push(Failure {
            group: f.group.clone(),
            from_ms,
            until_ms,
            kind: f.reason,
        });
    }
    for (ty, &price) in &part.prices {
        crate::pricing::check_price(price, &format!("simulation.prices.{ty}"))?;
    }
    Ok(Params {
        seed: part.seed,
        launch: match &part.launch_delay {
            Some(r) => r.resolve("simulation.launchDelay")?,
            None => DEFAULT_LAUNCH_DELAY,
        },
        join: match &part.join_delay {
            Some(r) => r.resolve("simulation.joinDelay")?,
            None => DEFAULT_JOIN_DELAY,
        },
        per_group,
        failures,
        prices: PriceTable::bundled().with_overrides(&part.prices),
        classes: part.classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn groups() -> BTreeSet<String> {
        ["cpu".to_string(), "gpu".to_string()].into()
    }

    #[test]
    fn absent_means_defaults() {
        let p = parse(
            br#"{"capturedAt": "2026-11-27T12:00:00Z"}"#,
            &groups(),
            start(),
        )
        .unwrap();
        assert_eq!(p.delays("cpu"), (DEFAULT_LAUNCH_DELAY, DEFAULT_JOIN_DELAY));
        assert!(p.failures.is_empty() && p.classes.is_empty() && p.seed.is_none());
    }

    #[test]
    fn every_part_resolves() {
        let p = parse(
            br#"{"simulation": {"seed": 3, "launchDelay": {"min": 60, "max": "2m"},
                 "groups": {"gpu": {"joinDelay": {"min": "5m", "max": "5m"}}},
                 "failures": [{"group": "gpu", "from": "1h", "until": "2026-11-27T15:00:00Z",
                               "reason": "vcpu-limit"}],
                 "prices": {"m5.large": 0.1},
                 "classes": {"gpu": {"nodeSelector": {"pool": "gpu"}}}}}"#,
            &groups(),
            start(),
        )
        .unwrap();
        assert_eq!(p.seed, Some(3));
        let launch = Range {
            min_ms: 60_000,
            max_ms: 120_000,
        };
        assert_eq!(p.delays("cpu"), (launch, DEFAULT_JOIN_DELAY));
        let five = Range {
            min_ms: 300_000,
            max_ms: 300_000,
        };
        assert_eq!(p.delays("gpu"), (launch, five));
        assert_eq!(
            p.failures,
            [Failure {
                group: "gpu".into(),
                from_ms: 3_600_000,
                until_ms: 3 * 3_600_000,
                kind: FailureKind::VcpuLimit,
            }]
        );
        assert!(p.failure("gpu", 3_600_000).is_some());
        assert!(
            p.failure("gpu", 3 * 3_600_000).is_none(),
            "until is exclusive"
        );
        assert!(p.failure("cpu", 3_600_000).is_none());
        assert_eq!(p.prices.hourly("m5.large"), Some(0.1));
        assert_eq!(launch.at(0.5), 90_000);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |json: &str| {
            format!(
                "{:#}",
                parse(json.as_bytes(), &groups(), start()).unwrap_err()
            )
        };
        let e = err(r#"{"simulation": {"lauchDelay": {"min": 1, "max": 2}}}"#);
        assert!(e.contains("simulation") && e.contains("lauchDelay"), "{e}");
        let e = err(r#"{"simulation": {"failures": [{"group": "gpux", "from": 0, "until": 5}]}}"#);
        assert!(
            e.contains("no group \"gpux\"") && e.contains("cpu, gpu"),
            "{e}"
        );
        let e =
            err(r#"{"simulation": {"failures": [{"group": "gpu", "from": "2h", "until": "1h"}]}}"#);
        assert!(e.contains("until is not after from"), "{e}");
        let e = err(r#"{"simulation": {"launchDelay": {"min": "3m", "max": "1m"}}}"#);
        assert!(e.contains("min is above max"), "{e}");
        let e = err(
            r#"{"simulation": {"failures": [{"group": "gpu", "from": "soon", "until": "1h"}]}}"#,
        );
        assert!(e.contains("\"soon\""), "{e}");
        let e = err(
            r#"{"simulation": {"failures": [{"group": "gpu", "from": 0, "until": 9, "reason": "gremlins"}]}}"#,
        );
        assert!(e.contains("simulation.failures[0]"), "{e}");
    }
}

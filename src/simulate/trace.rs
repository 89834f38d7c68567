//! The workload a simulation replays: one job per CSV row (with a header) or per JSON line.
//!
//! Fields: `submit` (seconds or a duration such as `90m` after the start, or RFC 3339 times
//! throughout, the earliest being the start), `job` (a name; `job-<line>` when absent), `pods`
//! (how many, default 1), per-pod `cpu`, `memory` (quantities), `gpu` (`nvidia.com/gpu`),
//! `extended` (`name=quantity;…`, or an object in JSON), `class` (a class of the cluster file's
//! `simulation.classes`: nodeSelector, tolerations, affinity), `duration` (how long each pod runs)
//! and `gang` (`true`: all pods start together or none does).

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use jiff::Timestamp;

use crate::duration::parse as parse_duration;
use crate::model::quantity::Quantity;

/// One job of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceJob {
    pub name: String,
    /// Milliseconds after the start of the simulation.
    pub submit_ms: i64,
    pub pods: u32,
    /// Per-pod requests as a container states them: resource → quantity.
    pub requests: BTreeMap<String, String>,
    pub class: Option<String>,
    /// How long each pod runs once started, in milliseconds.
    pub duration_ms: i64,
    pub gang: bool,
}

/// The jobs in submit order (ties keep the file's order).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub jobs: Vec<TraceJob>,
}

impl Trace {
    pub fn pods(&self) -> u64 {
        self.jobs.iter().map(|j| u64::from(j.pods)).sum()
    }

    /// The last submit time, in milliseconds after the start.
    pub fn span_ms(&self) -> i64 {
        self.jobs.last().map_or(0, |j| j.submit_ms)
    }
}

const COLUMNS: [&str; 10] = [
    "submit", "job", "pods", "cpu", "memory", "gpu", "extended", "class", "duration", "gang",
];

/// Most pods one job may ask for: a guard against a unit slip (`pods` = 1e9) eating memory.
const MAX_PODS_PER_JOB: u32 = 100_000;

pub fn read(path: &Path) -> Result<Trace> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("cannot read trace file {}", path.display()))?;
    parse(&text).wrap_err_with(|| format!("trace file {}", path.display()))
}

/// Parses CSV (a header row first) or JSON lines (every line an object), told apart by the
/// first non-blank character.
pub fn parse(text: &str) -> Result<Trace> {
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let rows: Vec<Row> = if text.trim_start().starts_with('{') {
        lines
            .map(|(n, line)| Ok((n, json_row(line).wrap_err_with(|| format!("line {n}"))?)))
            .collect::<Result<_>>()?
    } else {
        csv_rows(lines)?
    };
    let mut raw = Vec::with_capacity(rows.len());
    for (n, row) in rows {
        raw.push(job(&row, n).wrap_err_with(|| format!("line {n}"))?);
    }
    let absolute = raw.iter().filter(|j| matches!(j.1, Submit::At(_))).count();
    if absolute != 0 && absolute != raw.len() {
        bail!("submit times mix RFC 3339 times and offsets; use one or the other");
    }
    let first = raw
        .iter()
        .filter_map(|j| match j.1 {
            Submit::At(t) => Some(t),
            Submit::After(_) => None,
        })
        .min();
    let mut jobs: Vec<TraceJob> = raw
        .into_iter()
        .map(|(mut job, submit)| {
            job.submit_ms = match (submit, first) {
                (Submit::After(ms), _) => ms,
                (Submit::At(t), Some(first)) => t.duration_since(first).as_millis() as i64,
                (Submit::At(_), None) => 0,
            };
            job
        })
        .collect();
    jobs.sort_by_key(|j| j.submit_ms);
    Ok(Trace { jobs })
}

fn csv_rows<'a>(mut lines: impl Iterator<Item = (usize, &'a str)>) -> Result<Vec<Row>> {
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    for name in &names {
        if !COLUMNS.contains(&name.as_str()) {
            bail!(
                "unknown column {name:?} in the header (known: {})",
                COLUMNS.join(", ")
            );
        }
    }
    lines
        .map(|(n, line)| {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != names.len() {
                bail!(
                    "line {n}: {} fields, the header has {}",
                    cells.len(),
                    names.len()
                );
            }
            Ok((
                n,
                names
                    .iter()
                    .cloned()
                    .zip(cells.iter().map(|c| c.to_string()))
                    .collect(),
            ))
        })
        .collect()
}

fn json_row(line: &str) -> Result<Vec<(String, String)>> {
    let value: serde_json::Value = serde_json::from_str(line)?;
    let serde_json::Value::Object(map) = value else {
        bail!("not a JSON object");
    };
    let mut row = Vec::new();
    for (key, value) in map {
        if !COLUMNS.contains(&key.as_str()) {
            bail!("unknown field {key:?} (known: {})", COLUMNS.join(", "));
        }
        let text = match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s,
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(";"),
            other => other.to_string(),
        };
        row.push((key, text));
    }
    Ok(row)
}

/// A line of the file as (field, text) pairs, with its line number.
type Row = (usize, Vec<(String, String)>);

enum Submit {
    After(i64),
    At(Timestamp),
}

fn job(row: &[(String, String)], line: usize) -> Result<(TraceJob, Submit)> {
    let field = |name: &str| {
        row.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let submit_text = field("submit").ok_or_else(|| eyre!("no submit time"))?;
    let submit = match submit_text.parse::<Timestamp>() {
        Ok(t) => Submit::At(t),
        Err(_) => Submit::After(millis("submit", submit_text)?),
    };
    let duration_text = field("duration").ok_or_else(|| eyre!("no duration"))?;
    let duration_ms = millis("duration", duration_text)?;
    if duration_ms <= 0 {
        bail!("duration {duration_text:?} must be positive");
    }
    let pods = match field("pods") {
        None => 1,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PODS_PER_JOB).contains(n))
            .ok_or_else(|| eyre!("pods {text:?} is not a count from 1 to {MAX_PODS_PER_JOB}"))?,
    };
    let mut requests = BTreeMap::new();
    for (column, resource) in [
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("gpu", "nvidia.com/gpu"),
    ] {
        if let Some(text) = field(column) {
            requests.insert(resource.to_string(), text.to_string());
        }
    }
    if let Some(text) = field("extended") {
        for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, quantity) = pair
                .split_once('=')
                .ok_or_else(|| eyre!("extended {pair:?} is not name=quantity"))?;
            requests.insert(name.trim().to_string(), quantity.trim().to_string());
        }
    }
    for (resource, text) in &requests {
        Quantity::parse(text).wrap_err_with(|| format!("{resource} request"))?;
    }
    let gang = match field("gang").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => bail!("gang {other:?} is not true or false"),
    };
    let job = TraceJob {
        name: field("job").map_or_else(|| format!("job-{line}"), str::to_string),
        submit_ms: 0,
        pods,
        requests,
        class: field("class").map(str::to_string),
        duration_ms,
        gang,
    };
    Ok((job, submit))
}

/// Whole seconds or a duration (`90m`), as every duration flag takes them.
fn millis(what: &str, text: &str) -> Result<i64> {
    let duration = parse_duration(text).map_err(|e| eyre!("{what}: {e}"))?;
    Ok(duration.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_in_any_order() {
        let trace = parse(
            "duration,submit,pods,cpu,memory,gpu,class,gang,job\n\
             30m,0,4,2,4Gi,,cpu,,train\n\
             # a comment\n\
             1h,90,2,4,16Gi,1,gpu,true,\n",
        )
        .unwrap();
        assert_eq!(trace.jobs.len(), 2);
        let a = &trace.jobs[0];
        assert_eq!(a.name, "train");
        assert_eq!(a.submit_ms, 0);
        assert_eq!(a.pods, 4);
        assert_eq!(a.duration_ms, 30 * 60_000);
        assert_eq!(a.requests["cpu"], "2");
        assert!(!a.gang);
        let b = &trace.jobs[1];
        assert_eq!(b.name, "job-4", "named after its line");
        assert_eq!(b.submit_ms, 90_000);
        assert_eq!(b.requests["nvidia.com/gpu"], "1");
        assert_eq!(b.class.as_deref(), Some("gpu"));
        assert!(b.gang);
        assert_eq!(trace.pods(), 6);
    }

    #[test]
    fn json_lines_and_absolute_times() {
        let trace = parse(concat!(
            r#"{"submit": "2026-11-27T12:10:00Z", "duration": 600, "cpu": "500m", "extended": {"example.com/fpga": 1}}"#,
            "\n",
            r#"{"submit": "2026-11-27T12:00:00Z", "duration": "1h", "pods": 3, "gang": true}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!(trace.jobs[0].submit_ms, 0, "sorted by submit time");
        assert_eq!(trace.jobs[0].pods, 3);
        assert_eq!(trace.jobs[1].submit_ms, 600_000);
        assert_eq!(trace.jobs[1].requests["example.com/fpga"], "1");
        assert_eq!(trace.span_ms(), 600_000);
    }

    #[test]
    fn bad_rows_name_the_line_and_the_field() {
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        let e = err("submit,duration,memory\n0,10m,4GG\n");
        assert!(
            e.contains("line 2") && e.contains("memory") && e.contains("4GG"),
            "{e}"
        );
        let e = err("submit,duration,gpus\n0,10m,1\n");
        assert!(e.contains("unknown column \"gpus\""), "{e}");
        let e = err("submit,duration\n0,soon\n");
        assert!(e.contains("line 2") && e.contains("\"soon\""), "{e}");
        let e = err("submit,duration,pods\n0,10m,0\n");
        assert!(e.contains("pods \"0\""), "{e}");
        let e = err("submit,duration\n0,10m,extra\n");
        assert!(e.contains("3 fields"), "{e}");
        let e = err("{\"submit\": 0}\n");
        assert!(e.contains("line 1") && e.contains("no duration"), "{e}");
        let e = err("submit,duration\n0,10m\n2026-11-27T12:00:00Z,10m\n");
        assert!(e.contains("mix"), "{e}");
        let e = err("{\"submit\": 0, \"duration\": 5, \"gnag\": true}\n");
        assert!(e.contains("unknown field \"gnag\""), "{e}");
    }
}

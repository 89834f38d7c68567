//! Arbitrary JSON in every part of a snapshot: reading, building, planning and rendering end in
//! a plan or a clear error, never a panic (nor an allocation that takes the machine down). The
//! base is the example cluster cut to a few objects of every kind; each case swaps one to three
//! of its values (anywhere: a whole part, an object, a field) for an arbitrary one, a string for
//! odd text, a number for one at the edges of its type, or removes a field, and plans with
//! arbitrary settings. `EKAS_FUZZ_CASES=20000` hunts longer than CI does;
//! `EKAS_FUZZ_TRACE=FILE` writes each case there before running it, for a crash (an abort, an
//! allocation the machine refuses) that leaves no report.

use std::sync::{Mutex, OnceLock};

use ekas::decode::{self, DecodeOptions, NodeReservation};
use ekas::engine::scale_in::idle_threshold::IdleThreshold;
use ekas::engine::{self, Config};
use ekas::plan::WarningKind;
use ekas::source::file;
use jiff::SignedDuration;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

use crate::support::example;

/// Objects kept from each list of the example but the pods, spread over it: enough to reach
/// every rule, small enough to run hundreds of cases in seconds.
const KEEP: usize = 8;

/// Text that has broken parsers before: quantities at the edges, times out of range, names
/// with multi-byte first characters, numbers as strings.
const ODD_TEXT: &[&str] = &[
    "",
    " ",
    "ñ",
    "ñ.large",
    "Ω",
    "p",
    "m5.xlarge",
    "0",
    "-1",
    "-0",
    "+5",
    "1e40",
    "1e-40",
    "9e18",
    "9223372036854775807",
    "99999999999999999999999999999",
    "8Ei",
    "1.5Gi",
    "0.0000000001",
    "1.",
    ".5",
    "..",
    "1e",
    "1e+",
    "Infinity",
    "NaN",
    "500m",
    "2026-11-27T12:00:00Z",
    "9999-12-31T23:59:59Z",
    "-009999-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "aws:///us-west-2a/i-0427d2a008b47ce77",
    "aws:///",
    "aws://ñ/i-",
    "true",
    "1",
    "InService",
    "Pending",
    "Failed",
    "NoSchedule",
    "In",
    "Exists",
    "DaemonSet",
    "$Latest",
    "$Default",
    "us-west-2",
];

/// Field names the snapshot's types read, so generated objects often deserialize and reach
/// the builder and the engine rather than stopping at the first type error.
const KEYS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "items",
    "spec",
    "status",
    "metadata",
    "cpu",
    "memory",
    "pods",
    "nvidia.com/gpu",
    "requests",
    "limits",
    "containers",
    "nodeName",
    "phase",
    "key",
    "operator",
    "values",
    "effect",
    "value",
    "Key",
    "Value",
    "InstanceType",
    "InstanceId",
    "MinSize",
    "MaxSize",
    "DesiredCapacity",
    "Instances",
    "LifecycleState",
    "StatusCode",
    "StartTime",
    "DefaultVCpus",
    "SizeInMiB",
    "Count",
    "x",
];

fn base() -> &'static Value {
    static BASE: OnceLock<Value> = OnceLock::new();
    BASE.get_or_init(|| {
        let text = std::fs::read(example()).unwrap();
        let mut doc: Value = serde_json::from_slice(&text).unwrap();
        // Every pod stays: the queue is what makes the plan scale up and explain.
        let pods = doc["kubernetes"]["pods"]["items"].take();
        truncate_lists(&mut doc);
        doc["kubernetes"]["pods"]["items"] = pods;
        doc
    })
}

/// Cuts every array of objects to [`KEEP`] entries evenly spread over it.
fn truncate_lists(value: &mut Value) {
    match value {
        Value::Array(items) => {
            if items.len() > KEEP && items.iter().all(Value::is_object) {
                let stride = items.len().div_ceil(KEEP);
                *items = std::mem::take(items).into_iter().step_by(stride).collect();
            }
            items.iter_mut().for_each(truncate_lists);
        }
        Value::Object(map) => map.values_mut().for_each(truncate_lists),
        _ => {}
    }
}

/// Every JSON pointer in `value`, the root excluded.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(item, p, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// The base's pointers: all of them, those to strings, and those to numbers.
struct Pointers {
    all: Vec<String>,
    text: Vec<String>,
    numbers: Vec<String>,
}

fn base_pointers() -> &'static Pointers {
    static POINTERS: OnceLock<Pointers> = OnceLock::new();
    POINTERS.get_or_init(|| {
        let mut all = Vec::new();
        pointers(base(), String::new(), &mut all);
        let of = |keep: fn(&Value) -> bool| -> Vec<String> {
            all.iter()
                .filter(|p| base().pointer(p).is_some_and(keep))
                .cloned()
                .collect()
        };
        Pointers {
            text: of(Value::is_string),
            numbers: of(Value::is_number),
            all: all.clone(),
        }
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(ODD_NUMBERS).prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        prop::sample::select(ODD_TEXT).prop_map(Value::from),
        prop::collection::vec(any::<char>(), 0..8)
            .prop_map(|chars| Value::from(chars.into_iter().collect::<String>())),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Numbers at the edges of the types that hold them.
const ODD_NUMBERS: &[i64] = &[
    0,
    1,
    -1,
    u32::MAX as i64,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Any JSON value in place of what is there.
    Replace(String, Value),
    /// A value of the same JSON type in place of a string or a number (odd text, an edge
    /// number), so the document still reads and the builder and the engine meet the value.
    Twist(String, Value),
    Remove(String),
}

fn pointer(among: &'static [String]) -> impl Strategy<Value = String> {
    prop::sample::select(among)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let p = base_pointers();
    let text = prop_oneof![
        3 => prop::sample::select(ODD_TEXT).prop_map(Value::from),
        1 => prop::collection::vec(any::<char>(), 0..8)
            .prop_map(|chars| Value::from(chars.into_iter().collect::<String>())),
    ];
    let number = prop_oneof![
        3 => prop::sample::select(ODD_NUMBERS).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => prop::num::f64::NORMAL.prop_map(|f| json!(f)),
    ];
    prop_oneof![
        2 => (pointer(&p.all), arbitrary_json()).prop_map(|(at, v)| Mutation::Replace(at, v)),
        2 => (pointer(&p.text), text).prop_map(|(at, v)| Mutation::Twist(at, v)),
        2 => (pointer(&p.numbers), number).prop_map(|(at, v)| Mutation::Twist(at, v)),
        1 => pointer(&p.all).prop_map(Mutation::Remove),
    ]
}

/// Applies a mutation by pointer; a pointer the earlier mutations removed is skipped.
fn apply(doc: &mut Value, mutation: &Mutation) {
    match mutation {
        Mutation::Replace(at, value) | Mutation::Twist(at, value) => {
            if let Some(slot) = doc.pointer_mut(at) {
                *slot = value.clone();
            }
        }
        Mutation::Remove(at) => {
            let (parent, last) = at.rsplit_once('/').unwrap();
            let key = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn duration() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![
        (0i64..100_000).prop_map(SignedDuration::from_secs),
        (0i64..=i64::MAX).prop_map(SignedDuration::from_secs),
    ]
}

/// Any u32, often one at the edges.
fn count() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), prop::sample::select(&[0, 1, 5, u32::MAX][..])]
}

fn settings() -> impl Strategy<Value = (Config, NodeReservation)> {
    (
        count(),
        (duration(), duration(), duration()),
        (duration(), duration(), duration(), duration()),
        (0.0f64..=1.0, 0.0f64..=1.0, count(), count()),
        (
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
            count(),
        ),
    )
        .prop_map(|(over, backoff, times, brakes, reserved)| {
            let mut config = Config {
                over_provision: over,
                ..Config::default()
            };
            (
                config.backoff.base,
                config.backoff.max,
                config.backoff.max_provision_time,
            ) = backoff;
            let m = &mut config.maintenance;
            let idle;
            (idle, m.dead_threshold, m.launch_grace, m.instance_init_time) = times;
            // Odd durations fixed, and the per-group `auto` (any duration stands for it half
            // the time: the low bit).
            m.idle_threshold = match idle.as_secs() & 1 {
                0 => IdleThreshold::Fixed(idle),
                _ => IdleThreshold::Auto,
            };
            m.type_idle_threshold = times.0;
            m.max_scale_in_fraction = brakes.0;
            m.consolidation.utilization_below = brakes.1;
            m.drain_utilization_below = brakes.1;
            m.type_idle_count = brakes.2 as usize;
            m.max_concurrent_drains = brakes.3 as usize;
            let reservation = NodeReservation {
                cpu: reserved.0,
                memory: reserved.1,
                max_pods: reserved.2,
            };
            (config, reservation)
        })
}

/// How far a case got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    ParseError,
    BuildError,
    Plan,
    /// A plan made without what could not be read, which the plan names.
    PlanLeavingOut,
}

/// Reads, builds, plans and renders; an error must say something.
fn plan_or_error(bytes: &[u8], config: &Config, reservation: NodeReservation) -> Reached {
    let doc = match file::parse(bytes) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(!format!("{e:#}").trim().is_empty());
            return Reached::ParseError;
        }
    };
    let options = DecodeOptions {
        reservation,
        ..DecodeOptions::default()
    };
    let snapshot = match decode::snapshot(&doc, &options) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            assert!(!format!("{e:#}").trim().is_empty());
            return Reached::BuildError;
        }
    };
    crate::support::assert_cache_builds_same(&doc, &options, &snapshot);
    let plan = engine::plan(&snapshot, config);
    ekas::output::json::write_plan(&plan, &mut std::io::sink()).unwrap();
    for wide in [false, true] {
        let layout = ekas::output::columns::Layout {
            width: Some(80),
            wide,
        };
        ekas::output::table::write_plan(&plan, layout, &mut std::io::sink()).unwrap();
    }
    if snapshot.left_out.is_empty() {
        return Reached::Plan;
    }
    let named = snapshot.left_out.objects.len() + snapshot.left_out.groups.len();
    let warned = plan
        .warnings
        .iter()
        .filter(|w| {
            matches!(
                w.kind,
                WarningKind::UnreadableObject | WarningKind::GroupLeftOut
            )
        })
        .count();
    assert_eq!(warned, named, "every thing left out is named in the plan");
    Reached::PlanLeavingOut
}

/// `EKAS_FUZZ_CASES` runs more cases than CI does, for a longer hunt.
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("EKAS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        // Shrinking a whole document is slow; a failure is reported after a bounded search.
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    })
}

#[test]
fn the_base_plans() {
    let bytes = serde_json::to_vec(base()).unwrap();
    let doc = file::parse(&bytes).unwrap();
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default()).unwrap();
    let plan = engine::plan(&snapshot, &Config::default());
    // The cut keeps objects of every part, so the cases start from a cluster that plans.
    assert!(!plan.groups.is_empty() && !plan.pending.is_empty() && !plan.nodes.is_empty());
    assert!(
        !plan.scale_ups.is_empty() && !plan.unschedulable.is_empty(),
        "{:?} {:?}",
        plan.summary,
        plan.pending
    );
}

#[test]
fn arbitrary_json_in_any_part_plans_or_fails_clearly() {
    let reached = Mutex::new(Vec::new());
    runner(300)
        .run(
            &(prop::collection::vec(mutation(), 1..4), settings()),
            |(mutations, (config, reservation))| {
                let mut doc = base().clone();
                for m in &mutations {
                    apply(&mut doc, m);
                }
                if let Ok(path) = std::env::var("EKAS_FUZZ_TRACE") {
                    std::fs::write(
                        &path,
                        format!(
                            "{config:?}\n{reservation:?}\n{}",
                            serde_json::to_string(&doc).unwrap()
                        ),
                    )
                    .unwrap();
                }
                let r = plan_or_error(&serde_json::to_vec(&doc).unwrap(), &config, reservation);
                reached.lock().unwrap().push(r);
                Ok(())
            },
        )
        .unwrap();
    // The cases must get past the reader often, or they test only serde.
    let reached = reached.into_inner().unwrap();
    let count = |r| reached.iter().filter(|x| **x == r).count();
    let (parse, build, plan, leaving_out) = (
        count(Reached::ParseError),
        count(Reached::BuildError),
        count(Reached::Plan),
        count(Reached::PlanLeavingOut),
    );
    eprintln!(
        "{} cases: {parse} parse errors, {build} build errors, {plan} plans, \
         {leaving_out} plans leaving something out",
        reached.len()
    );
    assert!(
        (plan + leaving_out) * 4 >= reached.len(),
        "too few cases reach the engine: {} of {}",
        plan + leaving_out,
        reached.len()
    );
    // Malformed objects and groups are left out, not fatal; a wrong shape is still an error.
    assert!(leaving_out > 0 && parse > 0);
}

/// A pointer with its array indices as `*`: one field of every object of a list.
fn pattern(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|part| match part.parse::<usize>() {
            Ok(_) => "*",
            Err(_) => part,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_number_at_the_edges_of_its_type_plans_or_fails_clearly() {
    // The random cases rarely pick a given field; this sweep sets each numeric field (in every
    // object of its list at once) to each edge, so an overflow anywhere shows every run.
    let numbers = &base_pointers().numbers;
    let patterns: std::collections::BTreeSet<String> = numbers.iter().map(|p| pattern(p)).collect();
    let edges = [json!(u64::MAX), json!(i64::MAX), json!(u32::MAX), json!(-1)];
    for p in &patterns {
        for edge in &edges {
            let mut doc = base().clone();
            for at in numbers.iter().filter(|at| pattern(at) == *p) {
                *doc.pointer_mut(at).unwrap() = edge.clone();
            }
            let bytes = serde_json::to_vec(&doc).unwrap();
            plan_or_error(&bytes, &Config::default(), NodeReservation::default());
        }
    }
    assert!(patterns.len() > 50, "{patterns:?}");
}

#[test]
fn unmodified_snapshot_plans_with_any_settings() {
    runner(100)
        .run(&settings(), |(config, reservation)| {
            let r = plan_or_error(&serde_json::to_vec(base()).unwrap(), &config, reservation);
            assert_eq!(r, Reached::Plan);
            Ok(())
        })
        .unwrap();
}

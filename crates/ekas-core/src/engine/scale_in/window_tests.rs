//! The removal budget over time: whatever the passes' rhythm — one a second after a burst of
//! pending pods, one a minute, hours apart — the removals of any `--scale-in-window` stay
//! within `--max-scale-in-fraction` of the nodes. The oracle counts each window's removals
//! from the history the sequence made, with the budget restated here, never the engine's.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::engine::tests::{Cluster, now};
use crate::engine::{Config, plan};
use crate::plan::{InstanceActionKind, NodeActionKind};

/// A sequence of passes over a cluster whose nodes keep dying.
#[derive(Debug, Clone)]
struct Sequence {
    nodes: usize,
    fraction: f64,
    window_mins: i64,
    /// Seconds between one pass and the next.
    gaps: Vec<i64>,
    /// Which nodes are dead at the start (the rest die one per pass).
    dead: Vec<bool>,
}

fn sequence() -> impl Strategy<Value = Sequence> {
    (4usize..30, 0.02f64..0.5, 1i64..30).prop_flat_map(|(nodes, fraction, window_mins)| {
        (
            prop::collection::vec(prop_oneof![1i64..5, 5i64..120, 120i64..3600], 5..40),
            prop::collection::vec(prop::bool::weighted(0.4), nodes),
        )
            .prop_map(move |(gaps, dead)| Sequence {
                nodes,
                fraction,
                window_mins,
                gaps,
                dead,
            })
    })
}

/// The budget of one window, restated: the fraction of the group's live instances, at least one.
fn budget(live: usize, fraction: f64) -> usize {
    if live == 0 {
        return 0;
    }
    ((live as f64 * fraction).floor() as usize).max(1)
}

/// Runs the passes, applying every removal the plans make; checks after each pass that
/// removed anything that the removals of the window ending then are within the budget of
/// that pass's cluster (a cluster that shrank since may hold a window spent by more, when the
/// budget was larger).
fn passes_keep_the_window(s: &Sequence) -> Result<(), TestCaseError> {
    let mut c = Cluster::new(&["us-west-2"]);
    c.group("g", "us-west-2", 0, s.nodes as u32, 4000, 16);
    for i in 0..s.nodes {
        let node = c.node(&format!("n{i:02}"), Some("g"), 4000, 16);
        node.created = Some(now() - SignedDuration::from_hours(10));
        node.ready_changed = Some(now() - SignedDuration::from_hours(5));
        node.ready = !s.dead[i];
    }
    c.0.groups[0].desired = s.nodes as u32;
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = s.fraction;
    config.maintenance.scale_in_window = SignedDuration::from_mins(s.window_mins);
    let window = config.maintenance.scale_in_window;
    let mut history: Vec<Timestamp> = Vec::new();
    let mut at = now();
    let mut next_death = 0;
    for gap in &s.gaps {
        at += SignedDuration::from_secs(*gap);
        // One more node dies before each pass, so there is always more to remove.
        if let Some(node) = c.0.nodes.iter_mut().filter(|n| n.ready).nth(next_death) {
            node.ready = false;
            next_death += 1;
        }
        c.0.captured_at = at;
        c.0.recent_removals = history.clone();
        let live = c.0.groups[0].members.len();
        let p = plan(&c.0, &config);
        let removed: Vec<String> = p
            .nodes
            .iter()
            .filter(|n| matches!(n.action, NodeActionKind::Terminate | NodeActionKind::Drain))
            .map(|n| n.name.clone())
            .collect();
        let replaced = p
            .instances
            .iter()
            .filter(|i| i.action == InstanceActionKind::Replace)
            .count();
        history.extend(std::iter::repeat_n(at, removed.len() + replaced));
        let in_window = history
            .iter()
            .filter(|&&t| t <= at && at - window < t)
            .count();
        let removing = removed.len() + replaced > 0;
        prop_assert!(
            !removing || in_window <= budget(live, s.fraction),
            "{in_window} removals in the {}m window ending {at}, budget {} of {live} nodes",
            s.window_mins,
            budget(live, s.fraction)
        );
        for name in &removed {
            let node = c.0.nodes.iter().position(|n| &n.name == name).unwrap();
            let id = c.0.nodes.remove(node).instance_id.unwrap();
            let g = &mut c.0.groups[0];
            g.members.retain(|m| m.instance_id != id);
            g.desired = g.desired.saturating_sub(1);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn removals_in_any_window_stay_within_the_budget(s in sequence()) {
        passes_keep_the_window(&s)?;
    }
}

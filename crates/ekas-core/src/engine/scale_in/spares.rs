//! Spares: a few recently idle nodes per group kept for the pods likely to come back
//! (`--type-idle-count` within `--type-idle-threshold`).

use std::collections::HashMap;

use jiff::Timestamp;

use super::facts::Facts;
use super::state::since;
use super::{Decided, MaintenanceConfig};
use crate::duration::human;
use crate::plan::{NodeActionKind, NodeState};

/// Keeps up to `type_idle_count` idle, schedulable nodes per group as spares while they have
/// been idle less than `--type-idle-threshold`: the next job of that shape starts at once.
pub(super) fn keep_spares(
    facts: &[Facts<'_>],
    decided: &mut [Decided],
    config: &MaintenanceConfig,
    now: Timestamp,
) {
    let mut kept: HashMap<&str, usize> = HashMap::new();
    let mut candidates: Vec<usize> = (0..facts.len())
        .filter(|&i| {
            decided[i].0 == NodeState::IdleSchedulable && !facts[i].node.marks.consolidating
        })
        .collect();
    // The most recently idle are kept: the likeliest to be wanted again.
    candidates.sort_by_key(|&i| {
        let f = &facts[i];
        (
            std::cmp::Reverse(f.node.marks.idle_since),
            f.node.name.as_str(),
        )
    });
    for i in candidates {
        let f = &facts[i];
        let Some(group) = f.group else { continue };
        let idle = since(now, f.node.marks.idle_since).unwrap_or_default();
        let count = kept.entry(group.name.as_str()).or_default();
        if *count < config.type_idle_count && idle < config.type_idle_threshold {
            *count += 1;
            decided[i] = (
                NodeState::TypeGracePeriod,
                NodeActionKind::None,
                format!(
                    "kept as a spare of {}; idle for {}",
                    group.name,
                    human(idle)
                ),
            );
        }
    }
}

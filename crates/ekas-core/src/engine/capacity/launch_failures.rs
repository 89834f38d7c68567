//! Capacity that should have arrived by now and did not, turned into launch failures, so the
//! group goes into backoff and its pods overflow elsewhere instead of waiting for nodes that
//! are not coming (shared/DESIGN.md, safety invariant 9):
//!
//! - a node of the group that registered and did not start within `--max-node-provision-time`
//!   ([`crate::engine::capacity::startup`]);
//! - desired capacity that has stood above the group's instances for longer than that with
//!   nothing launching (the Launch process suspended, say). Since when is ekas's memory, kept
//!   on the group itself in the tag `ekas/unlaunched-since` (plan part `groupMarks[]`), so every
//!   process and a snapshot file see the same time.

use jiff::Timestamp;

use crate::engine::capacity::backoff::{
    BackoffPolicy, InferredFailure, LaunchFailure, is_finished, is_launch,
};
use crate::engine::capacity::membership::Membership;
use crate::engine::capacity::startup::Startup;
use crate::model::{Snapshot, keys};
use crate::plan::GroupMark;

/// One failure per node of a group that never started.
pub fn failed_starts(
    snapshot: &Snapshot,
    membership: &Membership<'_>,
    startups: &[Startup],
    policy: &BackoffPolicy,
) -> Vec<InferredFailure> {
    snapshot
        .nodes
        .iter()
        .zip(startups)
        .zip(&membership.node_group)
        .filter_map(|((node, startup), group)| {
            let Startup::FailedToStart(why) = startup else {
                return None;
            };
            let group = &snapshot.groups[(*group)?];
            let at = node
                .created?
                .saturating_add(policy.max_provision_time)
                .ok()?;
            Some(InferredFailure {
                region: group.region.clone(),
                group: group.name.clone(),
                at,
                failure: LaunchFailure::NotStarted,
                message: format!("node {}: {why}", node.name),
            })
        })
        .collect()
}

/// Failures of groups whose desired capacity has not been launched for too long, and the tag
/// changes that keep track of since when.
pub fn unlaunched(
    snapshot: &Snapshot,
    policy: &BackoffPolicy,
    now: Timestamp,
) -> (Vec<InferredFailure>, Vec<GroupMark>) {
    let mut failures = Vec::new();
    let mut marks = Vec::new();
    for group in &snapshot.groups {
        let launched = group.members.iter().filter(|m| m.is_live()).count() as u32;
        let mark = |value: Option<String>, reason: String| GroupMark {
            group: group.name.clone(),
            region: group.region.clone(),
            tag: keys::UNLAUNCHED_SINCE.to_string(),
            value,
            reason,
        };
        if group.desired <= launched {
            if group.unlaunched_since.is_some() {
                marks.push(mark(
                    None,
                    format!("desired capacity {} is launched", group.desired),
                ));
            }
            continue;
        }
        let Some(since) = group.unlaunched_since else {
            marks.push(mark(
                Some(now.to_string()),
                format!(
                    "desired capacity {} is above the group's {launched} instance(s)",
                    group.desired
                ),
            ));
            continue;
        };
        let launches = snapshot
            .activities
            .iter()
            .filter(|a| a.region == group.region && a.group == group.name && is_launch(a));
        let mut launching = false;
        let mut from = since;
        for a in launches {
            launching |= !is_finished(a);
            from = from.max(a.start_time);
        }
        // A launch under way has its own deadline (LaunchFailure::Stuck).
        if launching {
            continue;
        }
        let Ok(at) = from.saturating_add(policy.max_provision_time) else {
            continue;
        };
        if at <= now {
            failures.push(InferredFailure {
                region: group.region.clone(),
                group: group.name.clone(),
                at,
                failure: LaunchFailure::NotLaunched,
                message: format!(
                    "desired capacity {} has stood above the group's {launched} instance(s) \
                     since {from} with nothing launching",
                    group.desired
                ),
            });
        }
    }
    (failures, marks)
}

//! Carries out parts of a [`Plan`] through the adapters. Every action is attempted; each one's
//! outcome is reported, and a failed one never stops the rest. `dry_run` reports what would be
//! done and calls nothing that changes anything.

pub mod drain;
pub mod maintenance;

use std::fmt;

use crate::aws::{RegionClients, scaling};
use crate::plan::{NodeActionKind, Plan};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    WouldDo(String),
    /// Looked again right before acting and found a reason not to: nothing was changed.
    Skipped(String),
    Failed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done(s) => write!(f, "done: {s}"),
            Outcome::WouldDo(s) => write!(f, "dry run, would: {s}"),
            Outcome::Skipped(s) => write!(f, "skipped: {s}"),
            Outcome::Failed(s) => write!(f, "failed: {s}"),
        }
    }
}

impl Outcome {
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// Which parts of a plan to apply: `scale-up` applies one, `reap` the other, `run` both (or
/// one, with `--no-scale` / `--no-maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub scale_up: bool,
    pub maintenance: bool,
}

/// What kind of action an [`Applied`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliedKind {
    ScaleUp,
    DesiredReset,
    /// A tag set or removed on a group (`groupMarks[]`).
    GroupMark,
    Node(NodeActionKind),
    ReplaceInstance,
}

/// One action and how it went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub kind: AppliedKind,
    /// What was acted on: a group, a node or an instance.
    pub target: String,
    pub region: String,
    pub action: String,
    pub outcome: Outcome,
}

pub fn clients_for<'a>(clients: &'a [RegionClients], region: &str) -> Option<&'a RegionClients> {
    clients.iter().find(|c| c.region == region)
}

/// Applies the AWS half of the scale-up part: ekas's marks on groups, desired capacities set
/// back after failed launches, then raised for the pending pods.
pub async fn apply_scale_up(plan: &Plan, clients: &[RegionClients], dry_run: bool) -> Vec<Applied> {
    let mut out = Vec::new();
    for mark in &plan.group_marks {
        let action = match &mark.value {
            Some(value) => format!("tag {}={value} ({})", mark.tag, mark.reason),
            None => format!("remove tag {} ({})", mark.tag, mark.reason),
        };
        let outcome = match (dry_run, clients_for(clients, &mark.region)) {
            (true, _) => Outcome::WouldDo(action.clone()),
            (false, None) => Outcome::Failed(format!("no client for region {}", mark.region)),
            (false, Some(c)) => {
                match scaling::tag_group(c, &mark.group, &mark.tag, mark.value.as_deref()).await {
                    Ok(()) => Outcome::Done("tagged".into()),
                    Err(e) => Outcome::Failed(format!("{e:#}")),
                }
            }
        };
        out.push(Applied {
            kind: AppliedKind::GroupMark,
            target: mark.group.clone(),
            region: mark.region.clone(),
            action,
            outcome,
        });
    }
    for reset in &plan.desired_resets {
        let action = format!(
            "set desired {} → {} ({})",
            reset.current_desired, reset.new_desired, reset.reason
        );
        let outcome = match (dry_run, clients_for(clients, &reset.region)) {
            (true, _) => Outcome::WouldDo(action.clone()),
            (false, None) => Outcome::Failed(format!("no client for region {}", reset.region)),
            (false, Some(c)) => {
                match scaling::reset_desired(c, &reset.group, reset.new_desired).await {
                    Ok(now) => Outcome::Done(format!("desired is {now}")),
                    Err(e) => Outcome::Failed(format!("{e:#}")),
                }
            }
        };
        out.push(Applied {
            kind: AppliedKind::DesiredReset,
            target: reset.group.clone(),
            region: reset.region.clone(),
            action,
            outcome,
        });
    }
    for up in &plan.scale_ups {
        let action = format!(
            "raise desired {} → {} for {} pods",
            up.current_desired,
            up.new_desired,
            up.pods.len()
        );
        let outcome = match (dry_run, clients_for(clients, &up.region)) {
            (true, _) => Outcome::WouldDo(action.clone()),
            (false, None) => Outcome::Failed(format!("no client for region {}", up.region)),
            (false, Some(c)) => match scaling::scale_up_to(c, &up.group, up.new_desired).await {
                Ok(now) => Outcome::Done(format!("desired is {now}")),
                Err(e) => Outcome::Failed(format!("{e:#}")),
            },
        };
        tracing::info!(group = %up.group, region = %up.region, %outcome, "scale-up");
        out.push(Applied {
            kind: AppliedKind::ScaleUp,
            target: up.group.clone(),
            region: up.region.clone(),
            action,
            outcome,
        });
    }
    out
}

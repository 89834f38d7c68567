//! Who decides in a simulation: ekas itself (the real [`engine::plan`], unchanged), or a model
//! of the original tool for comparison ([`super::original`]). Either way a pass yields
//! [`Decisions`], the part of a plan the simulated cluster applies.

use std::fmt;

use crate::engine;
use crate::model::Snapshot;
use crate::plan::{InstanceActionKind, NodeActionKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// ekas's engine.
    Ekas,
    /// The original tool's scale-up choice and idle rules.
    Original,
}

impl Policy {
    pub fn decide(self, snapshot: &Snapshot, config: &engine::Config) -> Decisions {
        match self {
            Policy::Ekas => Decisions::from_plan(&engine::plan(snapshot, config)),
            Policy::Original => super::original::decide(snapshot, config),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Ekas => "ekas",
            Policy::Original => "original",
        })
    }
}

/// A desired capacity to set on a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub region: String,
    pub group: String,
    pub desired: u32,
}

/// What one pass changes, in the order `ekas run` applies it: uncordons for pending pods,
/// desired capacities set back after failed launches, raised for pending pods, then every
/// other node action, then instances that never joined replaced.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    pub resets: Vec<Desired>,
    pub raises: Vec<Desired>,
    /// Node name, action, and whether a termination lowers desired capacity.
    pub nodes: Vec<(String, NodeActionKind, bool)>,
    /// Instance ids to terminate without lowering desired capacity.
    pub replace: Vec<String>,
    /// How many of the node actions and replacements the scale-in budget counts.
    pub charged: usize,
}

impl Decisions {
    pub fn from_plan(plan: &Plan) -> Decisions {
        let desired = |region: &str, group: &str, desired: u32| Desired {
            region: region.to_string(),
            group: group.to_string(),
            desired,
        };
        Decisions {
            resets: plan
                .desired_resets
                .iter()
                .map(|r| desired(&r.region, &r.group, r.new_desired))
                .collect(),
            raises: plan
                .scale_ups
                .iter()
                .map(|s| desired(&s.region, &s.group, s.new_desired))
                .collect(),
            nodes: plan
                .nodes
                .iter()
                .filter(|n| n.action != NodeActionKind::None)
                .map(|n| (n.name.clone(), n.action, n.decrement))
                .collect(),
            replace: plan
                .instances
                .iter()
                .filter(|i| i.action == InstanceActionKind::Replace)
                .map(|i| i.instance_id.clone())
                .collect(),
            charged: plan.nodes.iter().filter(|n| n.charged).count()
                + plan
                    .instances
                    .iter()
                    .filter(|i| i.action == InstanceActionKind::Replace)
                    .count(),
        }
    }
}

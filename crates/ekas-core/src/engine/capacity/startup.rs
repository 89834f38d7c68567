//! Nodes still starting (shared/DESIGN.md, safety invariant 9). A node that registered but is
//! NotReady, still carries a startup taint (`--startup-taint`), or does not yet advertise the
//! extended resources its group's template promises (a GPU node before its device plugin) is
//! neither room for pending pods nor nothing: it is capacity on its way, counted as upcoming
//! capacity of its group with the template's room — so its pods do not buy a second node on
//! every pass. Past `--max-node-provision-time` since it registered, it is a failed launch.
//!
//! Only a node that never started is "starting": one that was Ready for a while and lost it
//! (its readiness changed long after it registered) is unready, a different trouble.

use jiff::{SignedDuration, Timestamp};

use crate::model::{Node, NodeTemplate, Snapshot, StartupTaints};

/// Where a node stands in its start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// Started: Ready, untainted and advertising what was promised — or it was once, and what
    /// it lacks now is not start-up.
    Started,
    /// Registered less than `--max-node-provision-time` ago and not started yet, for this
    /// reason.
    Starting(String),
    /// Registered longer ago than that and still not started: a failed launch.
    FailedToStart(String),
}

impl Startup {
    pub fn is_starting(&self) -> bool {
        matches!(self, Startup::Starting(_))
    }
}

/// The start-up rules for one pass.
#[derive(Debug, Clone, Copy)]
pub struct StartupRules<'a> {
    pub taints: &'a StartupTaints,
    pub max_provision_time: SignedDuration,
    pub now: Timestamp,
}

/// What keeps `node` from having started, if anything. `template` is its group's, when it has
/// one.
fn not_started(
    node: &Node,
    template: Option<&NodeTemplate>,
    taints: &StartupTaints,
) -> Option<String> {
    if !node.ready {
        return Some("NotReady".into());
    }
    if let Some(t) = node.taints.iter().find(|t| taints.is_startup(t)) {
        return Some(format!("startup taint {t}"));
    }
    let missing: Vec<&str> = template
        .into_iter()
        .flat_map(|t| t.allocatable.extended())
        .filter(|(name, amount)| *amount > 0 && node.allocatable.get(name) <= 0)
        .map(|(name, _)| name.as_str())
        .collect();
    (!missing.is_empty()).then(|| format!("does not advertise {} yet", missing.join(", ")))
}

pub fn startup(node: &Node, template: Option<&NodeTemplate>, rules: StartupRules<'_>) -> Startup {
    let Some(why) = not_started(node, template, rules.taints) else {
        return Startup::Started;
    };
    let Some(created) = node.created else {
        // Without a registration time there is no telling whether it ever started: it is
        // taken as it is (NotReady, tainted), as before start-up was tracked.
        return Startup::Started;
    };
    // Its readiness last changed well after it registered: it had started, then lost it.
    let relapsed = node
        .ready_changed
        .is_some_and(|changed| changed.duration_since(created) >= rules.max_provision_time);
    if relapsed {
        return Startup::Started;
    }
    let age = rules.now.duration_since(created);
    if age < rules.max_provision_time {
        Startup::Starting(why)
    } else {
        Startup::FailedToStart(format!(
            "{why} {} after registering (--max-node-provision-time {:#})",
            crate::duration::human(age),
            rules.max_provision_time
        ))
    }
}

/// Every node's start-up, in the order of `snapshot.nodes`; `node_group` holds each node's
/// group (index), whose template says what it promises.
pub fn every_node(
    snapshot: &Snapshot,
    node_group: &[Option<usize>],
    rules: StartupRules<'_>,
) -> Vec<Startup> {
    snapshot
        .nodes
        .iter()
        .zip(node_group)
        .map(|(node, g)| startup(node, g.map(|g| &snapshot.groups[g].template), rules))
        .collect()
}

/// How the scale-up planner may use an existing node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeUse {
    /// Free room for pending pods.
    Bin,
    /// Cordoned by ekas and free to be uncordoned for pending pods.
    Reclaimable,
    /// Takes nothing: NotReady, still starting (its room is counted with its group's upcoming
    /// capacity instead), or cordoned by somebody else.
    NotABin,
}

pub fn node_use(node: &Node, startup: &Startup, reclaimable: bool) -> NodeUse {
    // A node that failed to start is what it is: its real allocatable is its room.
    if !node.ready || startup.is_starting() {
        NodeUse::NotABin
    } else if !node.unschedulable {
        NodeUse::Bin
    } else if reclaimable {
        NodeUse::Reclaimable
    } else {
        NodeUse::NotABin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{Cluster, now};
    use crate::model::scheduling::{Taint, TaintEffect};

    fn ago(mins: i64) -> Option<Timestamp> {
        Some(now() - SignedDuration::from_mins(mins))
    }

    type Setup = fn(&mut Node);

    /// A node `n` of a GPU group, Ready and registered 5 minutes ago, changed by `setup`:
    /// every way a node can be starting.
    fn starts((setup, expected): (Setup, Startup)) {
        let taints = StartupTaints::default();
        let rules = StartupRules {
            taints: &taints,
            max_provision_time: SignedDuration::from_mins(15),
            now: now(),
        };
        let mut c = Cluster::new(&["r"]);
        c.group("gpu", "r", 0, 10, 8000, 32)
            .template
            .allocatable
            .set("nvidia.com/gpu", 1);
        let template = c.0.groups[0].template.clone();
        let node = c.node("n", Some("gpu"), 8000, 32);
        node.allocatable.set("nvidia.com/gpu", 1);
        node.created = ago(5);
        node.ready_changed = ago(4);
        setup(node);
        assert_eq!(startup(node, Some(&template), rules), expected, "{node:?}");
    }

    cases! { starts;
        ready_untainted_with_its_gpu_advertised: (|_| {}, Startup::Started),
        not_ready_since_registering_5_minutes_ago: (
            |n| {
                n.ready = false;
                n.ready_changed = ago(5);
            },
            Startup::Starting("NotReady".into()),
        ),
        a_startup_taint: (
            |n| {
                n.taints.push(Taint {
                    key: "node.cloudprovider.kubernetes.io/uninitialized".into(),
                    value: "true".into(),
                    effect: TaintEffect::NoSchedule,
                })
            },
            Startup::Starting(
                "startup taint node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule"
                    .into(),
            ),
        ),
        ready_but_no_gpu_advertised_yet: (
            |n| n.allocatable.set("nvidia.com/gpu", 0),
            Startup::Starting("does not advertise nvidia.com/gpu yet".into()),
        ),
        no_gpu_20_minutes_after_registering: (
            |n| {
                n.allocatable.set("nvidia.com/gpu", 0);
                n.created = ago(20);
                n.ready_changed = ago(19);
            },
            Startup::FailedToStart(
                "does not advertise nvidia.com/gpu yet 20m after registering \
                 (--max-node-provision-time 15m)"
                    .into(),
            ),
        ),
        // Ready for a day, NotReady for an hour: unready, not starting.
        not_ready_for_an_hour_after_a_day_is_unready_not_starting: (
            |n| {
                n.created = ago(3000);
                n.ready = false;
                n.ready_changed = ago(60);
            },
            Startup::Started,
        ),
    }

    #[test]
    fn only_started_ready_nodes_are_bins() {
        let mut c = Cluster::new(&["r"]);
        c.group("g", "r", 0, 10, 4000, 16);
        let node = c.node("n", Some("g"), 4000, 16).clone();
        let starting = Startup::Starting("NotReady".into());
        assert_eq!(node_use(&node, &Startup::Started, false), NodeUse::Bin);
        assert_eq!(node_use(&node, &starting, false), NodeUse::NotABin);
        let failed = Startup::FailedToStart("no GPU".into());
        assert_eq!(node_use(&node, &failed, false), NodeUse::Bin);
        let cordoned = Node {
            unschedulable: true,
            ..node.clone()
        };
        assert_eq!(
            node_use(&cordoned, &Startup::Started, true),
            NodeUse::Reclaimable
        );
        assert_eq!(
            node_use(&cordoned, &Startup::Started, false),
            NodeUse::NotABin
        );
        let unready = Node {
            ready: false,
            ..node
        };
        assert_eq!(
            node_use(&unready, &Startup::Started, false),
            NodeUse::NotABin
        );
    }
}

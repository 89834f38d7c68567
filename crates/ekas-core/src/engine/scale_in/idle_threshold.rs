//! How long an idle node is kept before it is cordoned and removed (`--idle-threshold`).
//!
//! EC2 bills Linux instances per second, so an idle node costs its price for every minute it is
//! kept; letting it go costs, when work for it comes back, a new node's launch: its boot billed
//! and the jobs' wait. This is ski rental: keeping a node "rents", replacing it "buys". Keeping
//! an idle node for as long as a new one would take to arrive never costs more than twice the
//! best choice made knowing the future, whatever the jobs do. So by default (`auto`), per group:
//!
//! 1. `launch`: how long the group's nodes took from their instance's launch to Ready — the
//!    median over its nodes that show it (instance `LaunchTime`, the Node's Ready condition), or
//!    [`PRIOR_LAUNCH`] while none does.
//! 2. `arrivals`: the work that arrived for the group lately — pods created within
//!    [`ARRIVAL_WINDOW`] that run on its nodes, in nodes' worth (each pod's larger share of a
//!    new node's cpu or memory), per hour.
//! 3. The threshold is `launch × (1 + arrivals × launch)`, at most [`MAX_FACTOR`] × `launch`:
//!    a launch time when work is rare, longer when a node's worth of work is likely to come
//!    within a launch (then the node is likely reused before a new one could arrive).
//!
//! The price drops out: the node's price is both what keeping it costs and what its boot
//! costs again. A fixed `--idle-threshold` (the original tool's 55m, say) applies to every
//! group as it is.

use jiff::{SignedDuration, Timestamp};

use crate::duration::human;
use crate::model::{Resources, Snapshot};

/// A node's launch until Ready, until the group shows its own: EC2's launch and a kubelet's
/// join take two to four minutes on common AMIs.
pub const PRIOR_LAUNCH: SignedDuration = SignedDuration::from_mins(4);
/// Pods created this recently count as arrivals.
pub const ARRIVAL_WINDOW: SignedDuration = SignedDuration::from_mins(30);
/// The threshold is at most this many launch times.
pub const MAX_FACTOR: f64 = 4.0;
/// A launch-to-Ready longer than this is not a launch (the node went NotReady and back later).
const LONGEST_LAUNCH: SignedDuration = SignedDuration::from_mins(30);

/// `--idle-threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleThreshold {
    /// Per group, from what the cluster shows (the module doc).
    Auto,
    /// The same for every group.
    Fixed(SignedDuration),
}

/// One group's threshold, and what it was derived from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupThreshold {
    pub threshold: SignedDuration,
    pub basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    Fixed,
    Auto {
        launch: SignedDuration,
        /// Nodes the launch time was measured on; 0 for [`PRIOR_LAUNCH`].
        measured_on: usize,
        /// Nodes' worth of work per hour.
        arrivals: f64,
    },
}

impl GroupThreshold {
    /// What an operator reads beside an idle node: the threshold and where it came from.
    pub fn explain(&self) -> String {
        match self.basis {
            Basis::Fixed => format!("--idle-threshold {}", human(self.threshold)),
            Basis::Auto {
                launch,
                measured_on,
                arrivals,
            } => {
                let launch = match measured_on {
                    0 => format!("launch {} assumed", human(launch)),
                    n => format!("launch {} on {n} node(s)", human(launch)),
                };
                format!(
                    "kept {} ({launch}, {arrivals:.1} nodes of work an hour)",
                    human(self.threshold)
                )
            }
        }
    }
}

/// The threshold of every group (as `snapshot.groups`). `node_group`: each node's group;
/// `rooms`: each group's new-node room.
pub fn per_group(
    snapshot: &Snapshot,
    setting: IdleThreshold,
    node_group: &[Option<usize>],
    rooms: &[Resources],
) -> Vec<GroupThreshold> {
    let IdleThreshold::Fixed(threshold) = setting else {
        return auto(snapshot, node_group, rooms);
    };
    let fixed = GroupThreshold {
        threshold,
        basis: Basis::Fixed,
    };
    vec![fixed; snapshot.groups.len()]
}

fn auto(
    snapshot: &Snapshot,
    node_group: &[Option<usize>],
    rooms: &[Resources],
) -> Vec<GroupThreshold> {
    let groups = snapshot.groups.len();
    let now = snapshot.captured_at;
    let launched: std::collections::HashMap<&str, Timestamp> = snapshot
        .instances
        .iter()
        .filter_map(|i| Some((i.id.as_str(), i.launch_time?)))
        .collect();
    let mut launches: Vec<Vec<SignedDuration>> = vec![Vec::new(); groups];
    for (node, g) in snapshot.nodes.iter().zip(node_group) {
        let (Some(g), true) = (*g, node.ready) else {
            continue;
        };
        let started = node.instance_id.as_deref().and_then(|id| launched.get(id));
        let ready = node.ready_changed.or(node.created);
        if let (Some(&started), Some(ready)) = (started, ready) {
            let took = ready.duration_since(started);
            if took > SignedDuration::ZERO && took <= LONGEST_LAUNCH {
                launches[g].push(took);
            }
        }
    }
    let index = snapshot.node_index();
    let mut arrived = vec![0.0f64; groups];
    for pod in &snapshot.pods {
        let recent = pod
            .created
            .is_some_and(|c| c <= now && now.duration_since(c) < ARRIVAL_WINDOW);
        let group = pod
            .node_name
            .as_deref()
            .and_then(|n| index.get(n))
            .and_then(|&n| node_group[n]);
        if let (true, Some(g), false) = (recent, group, pod.is_daemonset()) {
            arrived[g] += node_share(&pod.requests, &rooms[g]);
        }
    }
    let per_hour = 3600.0 / ARRIVAL_WINDOW.as_secs_f64();
    (0..groups)
        .map(|g| {
            let measured_on = launches[g].len();
            let launch = match measured_on {
                0 => PRIOR_LAUNCH,
                _ => {
                    launches[g].sort_unstable();
                    launches[g][measured_on / 2]
                }
            };
            let arrivals = arrived[g] * per_hour;
            let factor = (1.0 + arrivals * launch.as_secs_f64() / 3600.0).min(MAX_FACTOR);
            GroupThreshold {
                threshold: SignedDuration::from_secs_f64(launch.as_secs_f64() * factor),
                basis: Basis::Auto {
                    launch,
                    measured_on,
                    arrivals,
                },
            }
        })
        .collect()
}

/// The larger of a request's cpu and memory shares of a node's room.
fn node_share(requests: &Resources, room: &Resources) -> f64 {
    let share = |used: i64, total: i64| match total {
        t if t > 0 => used as f64 / t as f64,
        _ => 0.0,
    };
    share(requests.cpu, room.cpu).max(share(requests.memory, room.memory))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{Cluster, now};
    use crate::model::Instance;

    /// A group `g` (8 cpu, 32 GiB nodes) whose nodes took these minutes from launch to Ready.
    fn group_with_launches(minutes: &[i64]) -> Cluster {
        let mut c = Cluster::new(&["r1"]);
        c.group("g", "r1", minutes.len() as u32, 10, 8000, 32);
        for (i, &m) in minutes.iter().enumerate() {
            let name = format!("n{i}");
            let ready = now() - SignedDuration::from_hours(1);
            let node = c.node(&name, Some("g"), 8000, 32);
            node.ready_changed = Some(ready);
            node.created = Some(ready);
            c.0.instances.push(Instance {
                id: format!("i-{name}"),
                region: "r1".into(),
                group: Some("g".into()),
                instance_type: "m5.test".into(),
                zone: None,
                state: "running".into(),
                launch_time: Some(ready - SignedDuration::from_mins(m)),
                private_dns: None,
                private_ip: None,
            });
        }
        c
    }

    fn auto(c: &Cluster) -> GroupThreshold {
        let node_group: Vec<Option<usize>> = c.0.nodes.iter().map(|_| Some(0)).collect();
        let rooms = vec![c.0.groups[0].template.allocatable.clone()];
        per_group(&c.0, IdleThreshold::Auto, &node_group, &rooms)[0]
    }

    #[test]
    fn a_launch_time_when_no_work_arrives() {
        let t = auto(&group_with_launches(&[3, 5, 4]));
        assert_eq!(t.threshold, SignedDuration::from_mins(4), "the median");
        assert_eq!(
            t.basis,
            Basis::Auto {
                launch: SignedDuration::from_mins(4),
                measured_on: 3,
                arrivals: 0.0
            }
        );
        assert_eq!(
            t.explain(),
            "kept 4m (launch 4m on 3 node(s), 0.0 nodes of work an hour)"
        );
    }

    #[test]
    fn the_prior_until_a_node_shows_its_launch() {
        // A node that went NotReady and back later shows no launch; nor one without a time.
        let mut c = group_with_launches(&[45]);
        c.node("bare", Some("g"), 8000, 32);
        let t = auto(&c);
        assert_eq!(t.threshold, PRIOR_LAUNCH);
        assert!(t.explain().contains("launch 4m assumed"), "{}", t.explain());
    }

    #[test]
    fn longer_when_work_keeps_arriving_but_at_most_four_launches() {
        let mut c = group_with_launches(&[4]);
        // Within the last half hour: pods worth a node and a half (12 of 8 cpu) arrived on n0,
        // so three nodes' worth an hour; 3 × 4 min / 60 = 0.2 of a node per launch.
        for k in 0..3 {
            c.running(&format!("p{k}"), "n0", 4000, 1);
            c.0.pods.last_mut().unwrap().created = Some(now() - SignedDuration::from_mins(10));
        }
        let t = auto(&c);
        assert_eq!(t.threshold, SignedDuration::from_secs(288), "4 min × 1.2");
        // Pods created before the window do not count.
        c.0.pods[0].created = Some(now() - SignedDuration::from_mins(31));
        assert!(auto(&c).threshold < t.threshold);
        // A flood: at most four launch times.
        for k in 0..200 {
            c.running(&format!("q{k}"), "n0", 8000, 1);
            c.0.pods.last_mut().unwrap().created = Some(now() - SignedDuration::from_mins(1));
        }
        assert_eq!(auto(&c).threshold, SignedDuration::from_mins(16));
    }

    #[test]
    fn a_fixed_threshold_is_every_groups() {
        let c = group_with_launches(&[3]);
        let t = per_group(
            &c.0,
            IdleThreshold::Fixed(SignedDuration::from_mins(55)),
            &[Some(0)],
            &[Resources::default()],
        );
        assert_eq!(t[0].threshold, SignedDuration::from_mins(55));
        assert_eq!(t[0].explain(), "--idle-threshold 55m");
    }
}

//! Whether the cluster looks healthy enough to remove anything (shared/DESIGN.md, safety
//! invariant 7). Many nodes NotReady at once is a cluster fault — the CNI, the network, the
//! control plane — not many dead machines: terminating them "10% per pass" would take the
//! cluster and its jobs with it. cluster-autoscaler's rule and flags, with its meaning: the
//! cluster is unhealthy when more than `--ok-total-unready-count` nodes AND more than
//! `--max-total-unready-percentage` of all nodes are unready. Nodes still starting (or that
//! failed to start) are not unready: they never worked.

use crate::engine::capacity::startup::Startup;
use crate::model::Node;
use crate::plan::ClusterHealth;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnreadyBrake {
    /// `--max-total-unready-percentage`, 0–100.
    pub max_total_unready_percentage: f64,
    /// `--ok-total-unready-count`.
    pub ok_total_unready_count: usize,
}

impl Default for UnreadyBrake {
    fn default() -> Self {
        UnreadyBrake {
            max_total_unready_percentage: 45.0,
            ok_total_unready_count: 3,
        }
    }
}

/// `startups` holds each node's start-up, in the order of `nodes`.
pub fn assess(nodes: &[Node], startups: &[Startup], brake: UnreadyBrake) -> ClusterHealth {
    let total = nodes.len();
    let unready = nodes
        .iter()
        .zip(startups)
        .filter(|(n, s)| !n.ready && **s == Startup::Started)
        .count();
    let starting = startups.iter().filter(|s| s.is_starting()).count();
    let over_count = unready > brake.ok_total_unready_count;
    let over_share = unready as f64 > brake.max_total_unready_percentage / 100.0 * total as f64;
    let healthy = !(over_count && over_share);
    let counts = format!("{unready} of {total} nodes NotReady");
    let reason = if healthy {
        format!(
            "{counts} (at most --ok-total-unready-count {} or --max-total-unready-percentage {}%)",
            brake.ok_total_unready_count, brake.max_total_unready_percentage
        )
    } else {
        format!(
            "the cluster looks unhealthy: {counts}, more than --ok-total-unready-count {} and \
             --max-total-unready-percentage {}%; no node is bought, cordoned, drained or \
             terminated and no instance replaced until fewer are",
            brake.ok_total_unready_count, brake.max_total_unready_percentage
        )
    };
    ClusterHealth {
        healthy,
        nodes: total,
        unready,
        starting,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::Cluster;

    /// `ready`, `unready` and `starting` nodes: (healthy, unready counted).
    fn health(ready: usize, unready: usize, starting: usize) -> (bool, usize) {
        let mut c = Cluster::new(&["r"]);
        let mut startups = Vec::new();
        for i in 0..ready + unready + starting {
            let node = c.node(&format!("n{i}"), None, 1000, 1);
            node.ready = i < ready;
            startups.push(if i >= ready + unready {
                Startup::Starting("NotReady".into())
            } else {
                Startup::Started
            });
        }
        let h = assess(&c.0.nodes, &startups, UnreadyBrake::default());
        (h.healthy, h.unready)
    }

    // Cluster autoscaler's rule: (ready, unready, starting) → (healthy, unready).
    cases! { follows_cluster_autoscalers_rule;
        all_ready: ((20, 0, 0), (true, 0)),
        // 3 is --ok-total-unready-count: tolerated whatever the share
        up_to_three_unready_whatever_the_share: ((1, 3, 0), (true, 3)),
        // 4 of 20 = 20% is within 45%
        a_fifth_unready_is_within_the_share: ((16, 4, 0), (true, 4)),
        // 12 of 20 = 60%: the issue's mass NotReady
        a_mass_not_ready_is_unhealthy: ((8, 12, 0), (false, 12)),
        // 9 of 20 = 45% exactly: not more than 45%
        exactly_the_share_is_healthy: ((11, 9, 0), (true, 9)),
        // 10 of 20 = 50%
        half_unready_is_unhealthy: ((10, 10, 0), (false, 10)),
        // nodes still starting are not unready
        nodes_still_starting_are_not_unready: ((4, 0, 12), (true, 0)),
        no_nodes_is_healthy: ((0, 0, 0), (true, 0)),
    }

    fn follows_cluster_autoscalers_rule(
        ((ready, unready, starting), expected): ((usize, usize, usize), (bool, usize)),
    ) {
        assert_eq!(
            health(ready, unready, starting),
            expected,
            "{ready} ready, {unready} unready, {starting} starting"
        );
    }
}

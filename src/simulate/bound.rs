//! The whole-node lower bound: at every instant, per pool, the fewest whole nodes that could
//! hold the job pods running then; summed over the run, node-hours no autoscaler can go
//! below with these jobs started when they were.
//!
//! A pool is the set of groups a pod template fits (its placement allows their nodes and its
//! requests fit a fresh node's room); pods of templates with the same set share it. Its
//! nodes at an instant are, over every resource the running pods request, the most of
//! `⌈requested / room⌉`, the room being the largest any of its groups' new nodes offers. No
//! packing can do with fewer: each node holds at most that room of each resource.

use std::collections::HashMap;

use crate::model::Resources;

#[derive(Debug, Clone)]
struct Pool {
    /// The most room a new node of any of the pool's groups offers, per resource.
    room: Resources,
    /// What the pool's running job pods request together.
    running: Resources,
    /// Whole nodes those pods need at least.
    nodes: i64,
    /// Since when `nodes` holds.
    since_ms: i64,
    node_ms: i64,
}

impl Pool {
    fn advance(&mut self, now_ms: i64) {
        self.node_ms += self.nodes * (now_ms - self.since_ms);
        self.since_ms = now_ms;
    }

    fn recount(&mut self) {
        self.nodes = self
            .running
            .iter()
            .filter(|&(_, amount)| amount > 0)
            .filter_map(|(resource, amount)| {
                let room = self.room.get(resource);
                (room > 0).then(|| (amount + room - 1) / room)
            })
            .max()
            .unwrap_or(0);
    }
}

/// The bound, kept as pods start and stop.
#[derive(Debug, Clone, Default)]
pub struct LowerBound {
    pools: Vec<Pool>,
    /// Per pod template: its pool, or `None` when no group takes it.
    pool_of: Vec<Option<usize>>,
}

impl LowerBound {
    /// `groups_of[t]`: the groups template `t` fits; `room[g]`: a new node's room in group `g`.
    pub fn new(groups_of: &[Vec<usize>], room: &[Resources]) -> LowerBound {
        let mut index: HashMap<&[usize], usize> = HashMap::new();
        let mut pools = Vec::new();
        let pool_of = groups_of
            .iter()
            .map(|groups| {
                if groups.is_empty() {
                    return None;
                }
                Some(*index.entry(groups).or_insert_with(|| {
                    let mut most = Resources::default();
                    for &g in groups {
                        for (resource, amount) in room[g].iter() {
                            if amount > most.get(resource) {
                                most.set(resource, amount);
                            }
                        }
                    }
                    pools.push(Pool {
                        room: most,
                        running: Resources::default(),
                        nodes: 0,
                        since_ms: 0,
                        node_ms: 0,
                    });
                    pools.len() - 1
                }))
            })
            .collect();
        LowerBound { pools, pool_of }
    }

    /// A pod of template `template` starts running.
    pub fn start(&mut self, template: usize, requests: &Resources, now_ms: i64) {
        self.change(template, now_ms, |running| running.add(requests));
    }

    /// A pod of template `template` stops.
    pub fn stop(&mut self, template: usize, requests: &Resources, now_ms: i64) {
        self.change(template, now_ms, |running| running.sub(requests));
    }

    fn change(&mut self, template: usize, now_ms: i64, update: impl FnOnce(&mut Resources)) {
        let Some(&Some(p)) = self.pool_of.get(template) else {
            return;
        };
        let pool = &mut self.pools[p];
        pool.advance(now_ms);
        update(&mut pool.running);
        pool.recount();
    }

    /// Node-milliseconds of the bound up to `now_ms`.
    pub fn node_ms(&self, now_ms: i64) -> i64 {
        self.pools
            .iter()
            .map(|p| p.node_ms + p.nodes * (now_ms - p.since_ms))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu: i64, memory: i64) -> Resources {
        let mut r = Resources::default();
        (r.cpu, r.memory) = (cpu, memory);
        r
    }

    #[test]
    fn whole_nodes_of_the_largest_room_for_the_tightest_resource() {
        // Template 0 fits groups 0 and 1 (rooms 4 cpu / 16 and 8 cpu / 8), template 1 only
        // group 2, template 2 none.
        let room = [res(4000, 16), res(8000, 8), res(2000, 2)];
        let mut bound = LowerBound::new(&[vec![0, 1], vec![2], vec![]], &room);
        // 3 pods of 3 cpu / 4 memory: cpu ⌈9000/8000⌉ = 2, memory ⌈12/16⌉ = 1: 2 nodes.
        for _ in 0..3 {
            bound.start(0, &res(3000, 4), 0);
        }
        // An hour later one stops: ⌈6000/8000⌉ = 1.
        bound.stop(0, &res(3000, 4), 3_600_000);
        // Template 1: 1 cpu / 1 for half an hour from 0.5 h: 1 node of its own pool.
        bound.start(1, &res(1000, 1), 1_800_000);
        bound.stop(1, &res(1000, 1), 3_600_000);
        // A pod no group takes counts nowhere.
        bound.start(2, &res(1000, 1), 0);
        assert_eq!(
            bound.node_ms(7_200_000),
            2 * 3_600_000 + 3_600_000 + 1_800_000
        );
    }
}

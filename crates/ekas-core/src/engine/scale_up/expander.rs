//! Expanders: which group buys nodes for the pods left, among those that can take some.
//!
//! The names and the chaining are cluster-autoscaler's (`--expander=priority,price`): each
//! expander keeps the candidates it likes best, ties included, and hands them to the next; a
//! tie left after the last one goes to the least waste, then to the name that sorts first (so
//! groups without a price still get a sensible choice). Region order (`--regions`) comes
//! before any expander.

use std::fmt;
use std::str::FromStr;

/// One way of ranking groups (`--expander`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expander {
    /// Fewest dollars per hour for the requested resources the group's new nodes would serve.
    Price,
    /// Least idle cpu and memory on the new nodes.
    LeastWaste,
    /// Most pods served.
    MostPods,
    /// Highest `ekas/priority` tag.
    Priority,
    /// Any one, drawn from the snapshot (its capture time and cluster name), so the same
    /// snapshot always draws the same group.
    Random,
}

impl Expander {
    pub const ALL: [Expander; 5] = [
        Expander::Price,
        Expander::LeastWaste,
        Expander::MostPods,
        Expander::Priority,
        Expander::Random,
    ];

    /// The default chain: the operator's `ekas/priority` tags first, then the bill. Groups
    /// without tags all rank 0, so this is `price` alone until someone sets one.
    pub fn default_chain() -> Vec<Expander> {
        vec![Expander::Priority, Expander::Price]
    }

    pub fn name(self) -> &'static str {
        match self {
            Expander::Price => "price",
            Expander::LeastWaste => "least-waste",
            Expander::MostPods => "most-pods",
            Expander::Priority => "priority",
            Expander::Random => "random",
        }
    }
}

impl fmt::Display for Expander {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Expander {
    type Err = String;

    fn from_str(s: &str) -> Result<Expander, String> {
        Expander::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Expander::ALL.iter().map(|e| e.name()).collect();
                format!(
                    "unknown expander {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// What a group would do for the pods left, as the expanders see it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub name: &'a str,
    /// Position of its region in `--regions`.
    pub rank: usize,
    pub priority: i64,
    /// Dollars per hour of one of its nodes, when known.
    pub hourly: Option<f64>,
    /// Interruption notices for its instances lately, when the operator avoids interrupted
    /// groups (`--avoid-interrupted-groups`); 0 otherwise.
    pub interrupted: u32,
    pub estimate: Estimate,
}

/// What a group's new nodes would hold if it took every remaining pod it can.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub nodes: u32,
    pub pods: usize,
    /// Share of the new nodes' cpu and memory left idle, averaged (0 = every node full).
    pub waste: f64,
    /// Requested cpu served, in cores.
    pub cpu: f64,
    /// Requested memory served, in GiB.
    pub memory_gib: f64,
}

/// GiB of memory worth one vCPU when pods' requests are added up: Fargate, which bills the two
/// apart, charges about nine times as much for a vCPU-hour as for a GiB-hour.
const GIB_PER_VCPU: f64 = 9.0;

impl Candidate<'_> {
    /// Dollars per hour per vCPU-equivalent of requests served; unknown prices rank last.
    fn price(&self) -> f64 {
        let Some(hourly) = self.hourly else {
            return f64::INFINITY;
        };
        let served = self.estimate.cpu + self.estimate.memory_gib / GIB_PER_VCPU;
        let cost = f64::from(self.estimate.nodes) * hourly;
        if served > 0.0 {
            cost / served
        } else {
            // Pods asking for neither (extended resources only): the bill alone.
            cost
        }
    }
}

/// The chosen candidate's index: the first region, then the fewest interruptions lately, then
/// each expander of `chain` narrowing, then the least waste and the first name. `draw` seeds
/// `random` (see [`draw`]).
pub fn choose(chain: &[Expander], candidates: &[Candidate<'_>], draw: u64) -> Option<usize> {
    let first_rank = candidates.iter().map(|c| c.rank).min()?;
    let mut left: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].rank == first_rank)
        .collect();
    let calmest = left.iter().map(|&i| candidates[i].interrupted).min()?;
    left.retain(|&i| candidates[i].interrupted == calmest);
    for expander in chain {
        let score = |i: usize| -> f64 {
            let c = &candidates[i];
            // Smaller is better.
            match expander {
                Expander::Price => c.price(),
                Expander::LeastWaste => c.estimate.waste,
                Expander::MostPods => -(c.estimate.pods as f64),
                Expander::Priority => -(c.priority as f64),
                Expander::Random => 0.0,
            }
        };
        if *expander == Expander::Random {
            left.sort_by_key(|&i| candidates[i].name);
            let pick = left[(draw % left.len() as u64) as usize];
            left = vec![pick];
            continue;
        }
        let best = left.iter().map(|&i| score(i)).fold(f64::INFINITY, f64::min);
        left.retain(|&i| same(score(i), best));
    }
    left.into_iter().min_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        (a.estimate.waste.total_cmp(&b.estimate.waste)).then(a.name.cmp(b.name))
    })
}

/// Equal up to rounding (scores are sums of products); an infinite score equals only itself.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_finite() && b.is_finite() && (a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
}

/// A number drawn from `seed` and the choice's ordinal (splitmix64), so `random` is
/// reproducible from a snapshot yet differs from one choice to the next.
pub fn draw(seed: u64, ordinal: u64) -> u64 {
    let mut z = seed.wrapping_add(ordinal.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed from what identifies a snapshot: its capture time and cluster name (FNV-1a).
pub fn seed(captured_at_nanos: i128, cluster_name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in captured_at_nanos
        .to_le_bytes()
        .iter()
        .chain(cluster_name.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

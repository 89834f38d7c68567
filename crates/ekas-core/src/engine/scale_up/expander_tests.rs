//! Which group buys the nodes, one row per expander rule; each row's arithmetic is in its
//! comment. Prices are the bundled on-demand ones of the types the groups are shaped after.

use crate::engine::Config;
use crate::engine::scale_up::expander::Expander::{
    self, LeastWaste, MostPods, Price, Priority, Random,
};
use crate::engine::tests::{Cluster, labels, scale_ups};
use crate::model::scheduling::Placement;
use crate::pricing::{HourlyPrice, PriceSource};

/// Adds a group of `cpu` cores and `mem` GiB per node at `dollars` an hour (None: unknown).
fn group(c: &mut Cluster, name: &str, region: &str, cpu: i64, mem: i64, dollars: Option<f64>) {
    let g = c.group(name, region, 0, 20, cpu * 1000, mem);
    g.price = dollars.map(|dollars| HourlyPrice {
        dollars,
        source: PriceSource::Bundled,
    });
}

fn chosen(c: &Cluster, chain: &[Expander]) -> Vec<(String, u32, u32, usize)> {
    let mut config = Config::default();
    config.scale_up.expanders = chain.to_vec();
    scale_ups(&c.plan_with(config))
}

/// Two groups, one node each for the same pods, at different prices.
fn same_pods_different_prices() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    // m5.xlarge and m5a.xlarge: 4 cpu, 16 GiB; $0.192 and $0.172.
    group(&mut c, "a-m5", "r1", 4, 16, Some(0.192));
    group(&mut c, "b-m5a", "r1", 4, 16, Some(0.172));
    c.pods("p", 4, 1000, 4);
    c
}

/// A memory-heavy class: 4 pods of 2 cpu, 7 GiB.
/// c4.4xlarge (16 cpu, 30 GiB, $0.796): all 4 on 1 node, cpu 8/16, memory 28/30:
///   waste 1 - (0.5 + 0.933)/2 = 0.283.
/// m5a.4xlarge (16 cpu, 64 GiB, $0.688): all 4 on 1 node, cpu 8/16, memory 28/64:
///   waste 1 - (0.5 + 0.4375)/2 = 0.531 — but $0.688 buys the same 8 cpu for less.
fn memory_heavy() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    group(&mut c, "a-c4", "r1", 16, 30, Some(0.796));
    group(&mut c, "b-m5a", "r1", 16, 64, Some(0.688));
    c.pods("p", 4, 2000, 7);
    c
}

/// A tagged group that costs more, and two untagged ones.
fn tagged() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    group(&mut c, "a-cheap", "r1", 4, 16, Some(0.172));
    group(&mut c, "b-tagged", "r1", 4, 16, Some(0.192));
    group(&mut c, "c-tagged-cheaper", "r1", 4, 16, Some(0.18));
    c.0.groups[1].priority = 5;
    c.0.groups[2].priority = 5;
    c.pods("p", 4, 1000, 4);
    c
}

/// The cheaper group is in the second region.
fn cheaper_elsewhere() -> Cluster {
    let mut c = Cluster::new(&["us-east-1", "us-west-2"]);
    group(&mut c, "east", "us-east-1", 4, 16, Some(0.192));
    group(&mut c, "west", "us-west-2", 4, 16, Some(0.10));
    c.pods("p", 4, 1000, 4);
    c
}

/// A group with no known price beside a priced one whose name sorts later.
fn unknown_price() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    group(&mut c, "a-unpriced", "r1", 4, 16, None);
    group(&mut c, "b-priced", "r1", 4, 16, Some(5.0));
    c.pods("p", 4, 1000, 4);
    c
}

/// A narrow group that takes only some pods, cheaply, and a wide one that takes all.
/// narrow (4 cpu, $0.10): the 2 pods for its pool, 1 node: $0.10 for 2 cpu (+2 GiB/9).
/// wide (8 cpu, $0.40): all 4 pods, 1 node: $0.40 for 4 cpu: dearer per cpu, more pods.
fn narrow_and_wide() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    group(&mut c, "narrow", "r1", 4, 16, Some(0.10));
    group(&mut c, "wide", "r1", 8, 32, Some(0.40));
    c.0.groups[1].template.labels = labels(&[("pool", "wide"), ("also", "narrow")]);
    for i in 0..2 {
        c.pods(&format!("any{i}"), 1, 1000, 1);
        c.pod_with(
            &format!("wide-only{i}"),
            1000,
            1,
            Placement {
                node_selector: labels(&[("also", "narrow")]),
                ..Default::default()
            },
        );
    }
    c
}

#[test]
fn each_expander_chooses_as_its_rule_says() {
    type Setup = fn() -> Cluster;
    // (case, cluster, chain, first group to scale up)
    let cases: Vec<(&str, Setup, Vec<Expander>, &str)> = vec![
        (
            "price: the cheaper of two groups that fit the same pods",
            same_pods_different_prices,
            vec![Price],
            "b-m5a",
        ),
        (
            "least-waste: equal waste, so the first name",
            same_pods_different_prices,
            vec![LeastWaste],
            "a-m5",
        ),
        (
            "least-waste: the snug c4 for the memory-heavy class",
            memory_heavy,
            vec![LeastWaste],
            "a-c4",
        ),
        (
            "price: the cheaper-per-vCPU m5a over the less-waste c4",
            memory_heavy,
            vec![Price],
            "b-m5a",
        ),
        (
            "the default chain is priority, then price",
            memory_heavy,
            Expander::default_chain(),
            "b-m5a",
        ),
        (
            "priority alone: both tagged tie, the less-waste (equal), then the first name",
            tagged,
            vec![Priority],
            "b-tagged",
        ),
        (
            "priority,price: the cheaper of the tagged groups",
            tagged,
            vec![Priority, Price],
            "c-tagged-cheaper",
        ),
        (
            "price alone ignores the tag",
            tagged,
            vec![Price],
            "a-cheap",
        ),
        (
            "price,priority: price already narrowed to one",
            tagged,
            vec![Price, Priority],
            "a-cheap",
        ),
        (
            "region order comes before price",
            cheaper_elsewhere,
            vec![Price],
            "east",
        ),
        (
            "an unknown price ranks after any known one",
            unknown_price,
            vec![Price],
            "b-priced",
        ),
        (
            "most-pods: the wide group takes all four",
            narrow_and_wide,
            vec![MostPods],
            "wide",
        ),
        (
            "price: narrow serves its two pods at $0.10/2.2 = $0.045 per unit, wide $0.40/4.4",
            narrow_and_wide,
            vec![Price],
            "narrow",
        ),
    ];
    for (case, setup, chain, expected) in cases {
        let ups = chosen(&setup(), &chain);
        let first = ups.first().map(|u| u.0.as_str());
        assert_eq!(first, Some(expected), "{case}: {ups:?}");
    }
}

#[test]
fn the_cheapest_choice_buys_the_fewest_dollars() {
    // The memory-heavy class: 1 node either way, so the bill is the node's price.
    let c = memory_heavy();
    let price = |chain: &[Expander]| {
        let mut config = Config::default();
        config.scale_up.expanders = chain.to_vec();
        c.plan_with(config).summary.cost_per_hour
    };
    assert_eq!(price(&[Price]), Some(0.688));
    assert_eq!(price(&[LeastWaste]), Some(0.796));
}

#[test]
fn random_is_reproducible_and_spreads() {
    let mut picks = std::collections::BTreeSet::new();
    for minute in 0..20 {
        let mut c = same_pods_different_prices();
        c.0.captured_at += jiff::SignedDuration::from_mins(minute);
        let first = chosen(&c, &[Random]);
        // The same snapshot draws the same group.
        assert_eq!(first, chosen(&c, &[Random]));
        picks.insert(first[0].0.clone());
    }
    // Over 20 snapshots both groups are drawn (a fixed pick would fail this).
    assert_eq!(picks.len(), 2, "{picks:?}");
}

/// A cheap Spot group and a dearer on-demand one behind it, for the same pods.
fn spot_and_on_demand() -> Cluster {
    let mut c = Cluster::new(&["r1"]);
    group(&mut c, "a-spot", "r1", 4, 16, Some(0.06));
    group(&mut c, "b-on-demand", "r1", 4, 16, Some(0.192));
    c.0.groups[0].capacity = crate::model::group::CapacityType::Spot;
    c.pods("p", 4, 1000, 4);
    c
}

#[test]
fn spot_groups_yield_to_others_when_out_of_capacity_or_interrupted() {
    use crate::model::ScalingActivity;
    let first = |c: &Cluster, avoid: bool| {
        let mut config = Config::default();
        config.scale_up.avoid_interrupted = avoid;
        let plan = c.plan_with(config);
        scale_ups(&plan).first().map(|u| u.0.clone())
    };
    // (case, cluster change, --avoid-interrupted-groups, first group to scale up)
    type Change = fn(&mut Cluster);
    let cases: Vec<(&str, Change, bool, &str)> = vec![
        (
            "the cheaper Spot group, as price says",
            |_| {},
            false,
            "a-spot",
        ),
        (
            "no Spot capacity: backoff, and the on-demand group takes the pods",
            |c| {
                c.0.activities.push(ScalingActivity {
                    region: "r1".into(),
                    group: "a-spot".into(),
                    status_code: "Failed".into(),
                    status_message: "Could not launch Spot Instances. UnfulfillableCapacity - \
                        There is no Spot capacity available that matches your request."
                        .into(),
                    description: "Launching a new EC2 instance.  Status Reason: capacity".into(),
                    cause: String::new(),
                    start_time: crate::engine::tests::now() - jiff::SignedDuration::from_mins(2),
                    end_time: None,
                })
            },
            false,
            "b-on-demand",
        ),
        (
            "interrupted lately, but not avoided: price decides",
            |c| c.0.groups[0].recent_interruptions = 3,
            false,
            "a-spot",
        ),
        (
            "interrupted lately and avoided: the calm group first",
            |c| c.0.groups[0].recent_interruptions = 3,
            true,
            "b-on-demand",
        ),
        (
            "avoided, but both interrupted alike: price decides",
            |c| {
                c.0.groups[0].recent_interruptions = 1;
                c.0.groups[1].recent_interruptions = 1;
            },
            true,
            "a-spot",
        ),
    ];
    for (case, change, avoid, expected) in cases.iter() {
        let mut c = spot_and_on_demand();
        change(&mut c);
        assert_eq!(first(&c, *avoid).as_deref(), Some(*expected), "{case}");
    }
    let mut out_of_spot = spot_and_on_demand();
    (cases[1].1)(&mut out_of_spot);
    let reasons: Vec<String> = out_of_spot
        .plan()
        .backoff
        .iter()
        .map(|b| b.reason.clone())
        .collect();
    assert_eq!(reasons, ["no Spot capacity"]);
    let plan = spot_and_on_demand().plan();
    let spot = plan.groups.iter().find(|g| g.group == "a-spot").unwrap();
    assert_eq!(spot.capacity_type, "spot");
}

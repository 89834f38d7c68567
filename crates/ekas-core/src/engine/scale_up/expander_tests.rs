//! Which group buys the nodes, one row per expander rule; each row's arithmetic is in its
//! comment. Prices are the bundled on-demand ones of the types the groups are shaped after.

use crate::engine::Config;
use crate::engine::scale_up::expander::Expander::{
    self, LeastWaste, MostPods, Price, Priority, Random,
};
use crate::engine::tests::{Cluster, labels, scale_ups};
use crate::model::ScalingActivity;
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

type Setup = fn() -> Cluster;

/// Each expander chooses as its rule says: the cluster, the chain, the first group to scale
/// up.
fn chooses((setup, chain, expected): (Setup, Vec<Expander>, &str)) {
    let ups = chosen(&setup(), &chain);
    let first = ups.first().map(|u| u.0.as_str());
    assert_eq!(first, Some(expected), "{chain:?}: {ups:?}");
}

cases! { chooses;
    // Price: the cheaper of two groups that fit the same pods.
    price_takes_the_cheaper_of_two_groups_for_the_same_pods: (
        same_pods_different_prices,
        vec![Price],
        "b-m5a",
    ),
    // Least-waste: equal waste, so the first name.
    least_waste_on_equal_waste_takes_the_first_name: (
        same_pods_different_prices,
        vec![LeastWaste],
        "a-m5",
    ),
    // Least-waste: the snug c4 for the memory-heavy class.
    least_waste_takes_the_snug_c4_for_a_memory_heavy_class: (
        memory_heavy,
        vec![LeastWaste],
        "a-c4",
    ),
    // Price: the cheaper-per-vCPU m5a over the less-waste c4.
    price_takes_the_cheaper_per_vcpu_m5a_over_the_snug_c4: (memory_heavy, vec![Price], "b-m5a"),
    // The default chain is priority, then price.
    the_default_chain_is_priority_then_price: (memory_heavy, Expander::default_chain(), "b-m5a"),
    // Priority alone: both tagged tie, the less-waste (equal), then the first name.
    priority_alone_breaks_a_tie_by_waste_then_name: (tagged, vec![Priority], "b-tagged"),
    // Priority,price: the cheaper of the tagged groups.
    priority_then_price_takes_the_cheaper_tagged_group: (
        tagged,
        vec![Priority, Price],
        "c-tagged-cheaper",
    ),
    // Price alone ignores the tag.
    price_alone_ignores_the_tag: (tagged, vec![Price], "a-cheap"),
    // Price,priority: price already narrowed to one.
    price_then_priority_has_nothing_left_to_choose: (tagged, vec![Price, Priority], "a-cheap"),
    // Region order comes before price.
    region_order_comes_before_price: (cheaper_elsewhere, vec![Price], "east"),
    // An unknown price ranks after any known one.
    an_unknown_price_ranks_after_any_known_one: (unknown_price, vec![Price], "b-priced"),
    // Most-pods: the wide group takes all four.
    most_pods_takes_the_wide_group: (narrow_and_wide, vec![MostPods], "wide"),
    // Price: narrow serves its two pods at $0.10/2.2 = $0.045 per unit, wide $0.40/4.4.
    price_takes_narrow_at_less_per_unit: (narrow_and_wide, vec![Price], "narrow"),
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

/// Spot group `a-spot` has no capacity: its last launch failed two minutes ago.
fn no_spot_capacity(c: &mut Cluster) {
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
    });
}

/// Spot groups yield to others when out of capacity or interrupted: (cluster change,
/// --avoid-interrupted-groups, first group to scale up).
fn spot_yields((change, avoid, expected): (fn(&mut Cluster), bool, &str)) {
    let mut c = spot_and_on_demand();
    change(&mut c);
    let mut config = Config::default();
    config.scale_up.avoid_interrupted = avoid;
    let plan = c.plan_with(config);
    let ups = scale_ups(&plan);
    assert_eq!(ups.first().map(|u| u.0.as_str()), Some(expected), "{ups:?}");
}

cases! { spot_yields;
    // The cheaper Spot group, as price says.
    the_cheaper_spot_group_goes_first_as_price_says: (|_| {}, false, "a-spot"),
    // No Spot capacity: backoff, and the on-demand group takes the pods.
    no_spot_capacity_backs_off_to_on_demand: (no_spot_capacity, false, "b-on-demand"),
    // Interrupted lately, but not avoided: price decides.
    interrupted_lately_but_not_avoided_price_decides: (
        |c| c.0.groups[0].recent_interruptions = 3,
        false,
        "a-spot",
    ),
    // Interrupted lately and avoided: the calm group first.
    interrupted_lately_and_avoided_the_calm_group_goes_first: (
        |c| c.0.groups[0].recent_interruptions = 3,
        true,
        "b-on-demand",
    ),
    // Avoided, but both interrupted alike: price decides.
    avoided_but_both_interrupted_alike_price_decides: (
        |c| {
            c.0.groups[0].recent_interruptions = 1;
            c.0.groups[1].recent_interruptions = 1;
        },
        true,
        "a-spot",
    ),
}

#[test]
fn a_spot_group_out_of_capacity_backs_off() {
    let mut out_of_spot = spot_and_on_demand();
    no_spot_capacity(&mut out_of_spot);
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

//! Hourly prices of EC2 instance types: what the `price` expander ranks groups by, what the
//! plan's cost figures and `ekas simulate` count.
//!
//! A group's price is the price of its next instance ([`PriceInputs::group`]):
//!
//! 1. `--price-file` names the type in the group's region: that price, whatever the market
//!    (the operator's own figure, e.g. with a negotiated discount).
//! 2. An on-demand group: the on-demand price of its type, from the first source that has it —
//!    the snapshot's `aws.<region>.prices`, the Price List API ([`live`] parses its answers;
//!    the `ekas` crate calls it and keeps the prices between passes), the bundled table
//!    ([`table`]).
//! 3. A Spot group: the mean of its type's current Spot price over the group's zones that have
//!    one — the snapshot's `aws.<region>.spotPrices`, else the Spot price history. Without any,
//!    the on-demand price stands in.
//! 4. A mixed-instances group: on-demand while below its on-demand base; above it, its
//!    on-demand percentage at the on-demand price and the rest at the Spot price (the on-demand
//!    price alone while the Spot one is unknown).
//!
//! The plan names each group's source; `ekas snapshot` records the prices each group was priced
//! from ([`GroupPrice`]), so the snapshot plans the same anywhere. `ekas simulate` prices from
//! the bundled table and the cluster file's `simulation.prices`.

pub mod live;
pub mod table;

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};

use crate::model::NodeGroup;
use crate::model::group::CapacityType;

pub use crate::model::price::{HourlyPrice, PriceSource};
pub use table::PriceTable;

/// Dollars per hour by instance type, for one region (`aws.<region>.prices` in a snapshot).
pub type RegionPrices = BTreeMap<String, f64>;

/// Spot dollars per hour by instance type and Availability Zone, for one region
/// (`aws.<region>.spotPrices` in a snapshot).
pub type SpotPrices = BTreeMap<String, BTreeMap<String, f64>>;

/// Prices read from AWS for one region: on-demand ones from the Price List API, Spot ones from
/// the Spot price history. Held for a pass, never written to a snapshot as such (`ekas
/// snapshot` records the prices used as `prices` and `spotPrices`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LivePrices {
    pub on_demand: RegionPrices,
    pub spot: SpotPrices,
}

/// The operator's own prices (`--price-file`): instance type → region → dollars per hour,
/// e.g. with negotiated discounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceFile(BTreeMap<String, BTreeMap<String, f64>>);

impl PriceFile {
    pub fn read(path: &Path) -> Result<PriceFile> {
        let bytes = std::fs::read(path)
            .wrap_err_with(|| format!("cannot read --price-file {}", path.display()))?;
        PriceFile::parse(&bytes).wrap_err_with(|| format!("--price-file {}", path.display()))
    }

    pub fn parse(bytes: &[u8]) -> Result<PriceFile> {
        let table: BTreeMap<String, BTreeMap<String, f64>> = serde_json::from_slice(bytes)
            .wrap_err(
                "expected a JSON object of instance type → region → dollars per hour, \
                 e.g. {\"m5.large\": {\"us-east-1\": 0.096}}",
            )?;
        for (ty, regions) in &table {
            for (region, &price) in regions {
                check_price(price, &format!("{ty}.{region}"))?;
            }
        }
        Ok(PriceFile(table))
    }

    pub fn get(&self, instance_type: &str, region: &str) -> Option<f64> {
        self.0.get(instance_type)?.get(region).copied()
    }
}

/// A cost as people read it: `$1.60/h`, or `$0.0416/h` below a dollar's tenth.
pub fn dollars_per_hour(dollars: f64) -> String {
    if dollars != 0.0 && dollars.abs() < 0.1 {
        format!("${dollars:.4}/h")
    } else {
        format!("${dollars:.2}/h")
    }
}

/// A price must be a finite number of dollars, zero or more.
pub fn check_price(price: f64, what: &str) -> Result<()> {
    if !price.is_finite() || price < 0.0 {
        bail!("{what}: {price} is not a price in dollars per hour");
    }
    Ok(())
}

/// Where one region's prices may come from, most trusted first.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriceInputs<'a> {
    /// The operator's `--price-file`.
    pub file: Option<&'a PriceFile>,
    /// A snapshot's `aws.<region>.prices`.
    pub snapshot: Option<&'a RegionPrices>,
    /// A snapshot's `aws.<region>.spotPrices`.
    pub snapshot_spot: Option<&'a SpotPrices>,
    /// Read from AWS for this pass.
    pub live: Option<&'a LivePrices>,
}

/// A group's price and the prices it was made of: what a snapshot records.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPrice {
    pub price: HourlyPrice,
    /// The on-demand price of its type, when it counted.
    pub on_demand: Option<f64>,
    /// The Spot price of its type in each of its zones, when they counted.
    pub spot: BTreeMap<String, f64>,
}

impl PriceInputs<'_> {
    /// One instance of `instance_type` on demand in `region`: the file, the snapshot, the
    /// Price List API, the bundled table.
    pub fn on_demand(&self, instance_type: &str, region: &str) -> Option<HourlyPrice> {
        let found =
            |dollars: Option<f64>, source| dollars.map(|dollars| HourlyPrice { dollars, source });
        found(
            self.file.and_then(|f| f.get(instance_type, region)),
            PriceSource::PriceFile,
        )
        .or_else(|| {
            found(
                self.snapshot.and_then(|p| p.get(instance_type).copied()),
                PriceSource::Snapshot,
            )
        })
        .or_else(|| {
            found(
                self.live
                    .and_then(|l| l.on_demand.get(instance_type).copied()),
                PriceSource::PriceListApi,
            )
        })
        .or_else(|| found(table::bundled(instance_type), PriceSource::Bundled))
    }

    /// The Spot price of `instance_type` in each of `zones` that has one (every zone known
    /// for the type when the group names none), from the snapshot, else the Spot price
    /// history.
    pub fn spot(
        &self,
        instance_type: &str,
        zones: &[String],
    ) -> Option<(BTreeMap<String, f64>, PriceSource)> {
        let of = |prices: Option<&SpotPrices>| {
            let by_zone = prices?.get(instance_type)?;
            let found: BTreeMap<String, f64> = by_zone
                .iter()
                .filter(|(zone, _)| zones.is_empty() || zones.contains(zone))
                .map(|(zone, dollars)| (zone.clone(), *dollars))
                .collect();
            (!found.is_empty()).then_some(found)
        };
        of(self.snapshot_spot)
            .map(|found| (found, PriceSource::Snapshot))
            .or_else(|| {
                of(self.live.map(|l| &l.spot)).map(|found| (found, PriceSource::SpotPriceHistory))
            })
    }

    /// The price of `group`'s next instance (see the module's rules).
    pub fn group(&self, group: &NodeGroup) -> Option<GroupPrice> {
        let (ty, region) = (group.instance_type.as_str(), group.region.as_str());
        let on_demand = self.on_demand(ty, region);
        let only_on_demand = |price: HourlyPrice| GroupPrice {
            price,
            on_demand: Some(price.dollars),
            spot: BTreeMap::new(),
        };
        // The operator's figure is the group's price, whatever the market.
        if let Some(price) = on_demand.filter(|p| p.source == PriceSource::PriceFile) {
            return Some(only_on_demand(price));
        }
        // The share of the next instance bought on demand, in percent.
        let on_demand_share = match group.capacity {
            CapacityType::OnDemand => 100,
            CapacityType::Spot => 0,
            CapacityType::Mixed {
                on_demand_base,
                on_demand_percentage,
            } => match group.desired < on_demand_base {
                true => 100,
                false => on_demand_percentage.min(100),
            },
        };
        let spot = match on_demand_share {
            100 => None,
            _ => self.spot(ty, &group.zones),
        };
        let Some((spot, spot_source)) = spot else {
            // No Spot price: the on-demand one stands in.
            return on_demand.map(only_on_demand);
        };
        let spot_mean = spot.values().sum::<f64>() / spot.len() as f64;
        let share = f64::from(on_demand_share) / 100.0;
        let (dollars, source, on_demand) = match (on_demand_share, on_demand) {
            (0, _) => (spot_mean, spot_source, None),
            (_, Some(od)) => (
                share * od.dollars + (1.0 - share) * spot_mean,
                // The less trusted of the two.
                spot_source.max(od.source),
                Some(od.dollars),
            ),
            (_, None) => return None,
        };
        Some(GroupPrice {
            price: HourlyPrice { dollars, source },
            on_demand,
            spot,
        })
    }
}

/// Checks the prices a snapshot file carries for one region, naming a bad one by its path.
pub fn check_recorded(
    region: &str,
    prices: Option<&RegionPrices>,
    spot: Option<&SpotPrices>,
) -> Result<()> {
    for (ty, &price) in prices.into_iter().flatten() {
        check_price(price, &format!("aws.{region}.prices.{ty}"))?;
    }
    for (ty, zones) in spot.into_iter().flatten() {
        for (zone, &price) in zones {
            check_price(price, &format!("aws.{region}.spotPrices.{ty}.{zone}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{NodeTemplate, TemplateSource};

    fn group(ty: &str, capacity: CapacityType, desired: u32, zones: &[&str]) -> NodeGroup {
        NodeGroup {
            name: "g".into(),
            region: "us-west-2".into(),
            min_size: 0,
            max_size: 10,
            desired,
            instance_type: ty.into(),
            instance_type_note: None,
            priority: 0,
            price: None,
            zones: zones.iter().map(|z| z.to_string()).collect(),
            members: vec![],
            template: NodeTemplate {
                labels: Default::default(),
                taints: vec![],
                allocatable: Default::default(),
                source: TemplateSource::InstanceType,
            },
            new_instances_protected: None,
            unlaunched_since: None,
            capacity,
            recent_interruptions: 0,
        }
    }

    fn live() -> LivePrices {
        LivePrices {
            on_demand: RegionPrices::from([("m5.xlarge".to_string(), 0.2)]),
            spot: SpotPrices::from([(
                "m5.xlarge".to_string(),
                BTreeMap::from([
                    ("us-west-2a".to_string(), 0.06),
                    ("us-west-2b".to_string(), 0.08),
                    ("us-west-2c".to_string(), 0.5),
                ]),
            )]),
        }
    }

    fn price(inputs: &PriceInputs<'_>, g: &NodeGroup) -> (f64, PriceSource) {
        let p = inputs.group(g).unwrap().price;
        ((p.dollars * 1e6).round() / 1e6, p.source)
    }

    #[test]
    fn the_file_beats_the_snapshot_which_beats_live_prices_which_beat_the_table() {
        let file = PriceFile::parse(br#"{"m5.large": {"us-west-2": 0.05}}"#).unwrap();
        let snapshot = RegionPrices::from([("m5.large".to_string(), 0.07)]);
        let live = LivePrices {
            on_demand: RegionPrices::from([("m5.large".to_string(), 0.09)]),
            ..LivePrices::default()
        };
        let on_demand = |file, snapshot, live| {
            let inputs = PriceInputs {
                file,
                snapshot,
                live,
                ..PriceInputs::default()
            };
            inputs.on_demand("m5.large", "us-west-2").unwrap()
        };
        let all = on_demand(Some(&file), Some(&snapshot), Some(&live));
        assert_eq!(
            all,
            HourlyPrice {
                dollars: 0.05,
                source: PriceSource::PriceFile
            }
        );
        let p = on_demand(None, Some(&snapshot), Some(&live));
        assert_eq!((p.dollars, p.source), (0.07, PriceSource::Snapshot));
        let p = on_demand(None, None, Some(&live));
        assert_eq!((p.dollars, p.source), (0.09, PriceSource::PriceListApi));
        let p = on_demand(None, None, None);
        assert_eq!((p.dollars, p.source), (0.096, PriceSource::Bundled));
        // The file names another region: the snapshot's price for this one stands.
        let inputs = PriceInputs {
            file: Some(&file),
            snapshot: Some(&snapshot),
            ..PriceInputs::default()
        };
        let other = inputs.on_demand("m5.large", "eu-west-1").unwrap();
        assert_eq!(other.source, PriceSource::Snapshot);
        assert_eq!(inputs.on_demand("x9.huge", "us-west-2"), None);
    }

    #[test]
    fn spot_groups_cost_the_mean_over_their_zones() {
        let live = live();
        let inputs = PriceInputs {
            live: Some(&live),
            ..PriceInputs::default()
        };
        let spot = |zones: &[&str]| group("m5.xlarge", CapacityType::Spot, 2, zones);
        assert_eq!(
            price(&inputs, &spot(&["us-west-2a", "us-west-2b"])),
            (0.07, PriceSource::SpotPriceHistory)
        );
        // A zone without a price is left out of the mean.
        assert_eq!(
            price(&inputs, &spot(&["us-west-2a", "us-west-2d"])),
            (0.06, PriceSource::SpotPriceHistory)
        );
        let priced = inputs.group(&spot(&["us-west-2a", "us-west-2d"])).unwrap();
        assert_eq!(priced.on_demand, None);
        assert_eq!(
            priced.spot,
            BTreeMap::from([("us-west-2a".to_string(), 0.06)])
        );
        // No zone of the group has one: the on-demand price stands in.
        assert_eq!(
            price(&inputs, &spot(&["us-west-2d"])),
            (0.2, PriceSource::PriceListApi)
        );
        // Nothing live at all: the bundled on-demand price.
        let bundled = PriceInputs::default()
            .group(&spot(&["us-west-2a"]))
            .unwrap();
        assert_eq!(bundled.price.source, PriceSource::Bundled);
        assert_eq!(bundled.on_demand, Some(0.192));
        // On-demand groups never look at Spot prices.
        let on_demand = group("m5.xlarge", CapacityType::OnDemand, 2, &["us-west-2a"]);
        assert_eq!(price(&inputs, &on_demand), (0.2, PriceSource::PriceListApi));
    }

    #[test]
    fn mixed_groups_cost_their_base_then_their_share() {
        let live = live();
        let inputs = PriceInputs {
            live: Some(&live),
            ..PriceInputs::default()
        };
        let mixed = |desired| {
            let capacity = CapacityType::Mixed {
                on_demand_base: 2,
                on_demand_percentage: 25,
            };
            group(
                "m5.xlarge",
                capacity,
                desired,
                &["us-west-2a", "us-west-2b"],
            )
        };
        // Below the base, the next instance is on demand.
        assert_eq!(price(&inputs, &mixed(1)), (0.2, PriceSource::PriceListApi));
        // Above it: a quarter at 0.2, three quarters at the zones' mean 0.07.
        assert_eq!(
            price(&inputs, &mixed(2)),
            (0.1025, PriceSource::SpotPriceHistory)
        );
        let priced = inputs.group(&mixed(5)).unwrap();
        assert_eq!(priced.on_demand, Some(0.2));
        assert_eq!(priced.spot.len(), 2);
        // The operator's file is the price, whatever the market.
        let file = PriceFile::parse(br#"{"m5.xlarge": {"us-west-2": 0.15}}"#).unwrap();
        let with_file = PriceInputs {
            file: Some(&file),
            ..inputs
        };
        assert_eq!(price(&with_file, &mixed(5)), (0.15, PriceSource::PriceFile));
        // A recorded snapshot prices the same as the live prices it recorded.
        let snapshot = RegionPrices::from([("m5.xlarge".to_string(), 0.2)]);
        let replay = PriceInputs {
            snapshot: Some(&snapshot),
            snapshot_spot: Some(&priced_spot(&priced)),
            ..PriceInputs::default()
        };
        assert_eq!(
            replay.group(&mixed(5)).unwrap().price.dollars,
            priced.price.dollars
        );
        assert_eq!(
            replay.group(&mixed(5)).unwrap().price.source,
            PriceSource::Snapshot
        );
        // An unknown type has no price on either market.
        let unknown = group("x9.huge", CapacityType::Spot, 0, &["us-west-2a"]);
        assert_eq!(inputs.group(&unknown), None);
    }

    fn priced_spot(priced: &GroupPrice) -> SpotPrices {
        SpotPrices::from([("m5.xlarge".to_string(), priced.spot.clone())])
    }

    #[test]
    fn recorded_prices_are_checked() {
        let bad = SpotPrices::from([(
            "m5.xlarge".to_string(),
            BTreeMap::from([("us-west-2a".to_string(), -0.5)]),
        )]);
        let err = check_recorded("us-west-2", None, Some(&bad)).unwrap_err();
        assert!(
            err.to_string()
                .contains("aws.us-west-2.spotPrices.m5.xlarge.us-west-2a: -0.5"),
            "{err}"
        );
        let bad = RegionPrices::from([("m5.xlarge".to_string(), f64::NAN)]);
        let err = check_recorded("us-west-2", Some(&bad), None).unwrap_err();
        assert!(
            err.to_string().contains("aws.us-west-2.prices.m5.xlarge"),
            "{err}"
        );
    }

    // A bad price file is named, and says what is wrong with it.
    cases! { is_refused_as_a_price_file;
        not_json: (&b"{not json"[..], "expected a JSON object"),
        prices_not_by_region: (br#"{"m5.large": 0.1}"#, "expected a JSON object"),
        a_negative_price: (br#"{"m5.large": {"us-east-1": -1}}"#, "m5.large.us-east-1: -1"),
    }

    fn is_refused_as_a_price_file((bad, says): (&[u8], &str)) {
        let err = format!("{:#}", PriceFile::parse(bad).unwrap_err());
        assert!(
            err.contains(says),
            "{} gave {err}",
            String::from_utf8_lossy(bad)
        );
    }
}

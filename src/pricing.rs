//! Hourly prices of EC2 instance types: what the `price` expander ranks groups by, what the
//! plan's cost figures and `ekas simulate` count.
//!
//! The bundled table is AWS's public on-demand price list for Linux, shared tenancy, in
//! us-east-1 (N. Virginia) and us-west-2 (Oregon), which list the same price for every type
//! below (as of 2025). Other regions differ by a few percent; prices change; reserved, savings
//! plan and spot prices are lower. So the table is a default: a snapshot's
//! `aws.<region>.prices` and `--price-file` (or, for `ekas simulate`, a cluster file's
//! `simulation.prices`) replace it type by type.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};

/// The regions whose on-demand prices the bundled table holds.
pub const BUNDLED_REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// US dollars per instance-hour.
const BUNDLED: &[(&str, f64)] = &[
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("t3.xlarge", 0.1664),
    ("t3.2xlarge", 0.3328),
    ("m4.large", 0.10),
    ("m4.xlarge", 0.20),
    ("m4.2xlarge", 0.40),
    ("m4.4xlarge", 0.80),
    ("m4.10xlarge", 2.00),
    ("m4.16xlarge", 3.20),
    ("c4.large", 0.10),
    ("c4.xlarge", 0.199),
    ("c4.2xlarge", 0.398),
    ("c4.4xlarge", 0.796),
    ("c4.8xlarge", 1.591),
    ("r4.large", 0.133),
    ("r4.xlarge", 0.266),
    ("r4.2xlarge", 0.532),
    ("r4.4xlarge", 1.064),
    ("r4.8xlarge", 2.128),
    ("r4.16xlarge", 4.256),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m5.2xlarge", 0.384),
    ("m5.4xlarge", 0.768),
    ("m5.8xlarge", 1.536),
    ("m5.12xlarge", 2.304),
    ("m5.16xlarge", 3.072),
    ("m5.24xlarge", 4.608),
    ("m5a.large", 0.086),
    ("m5a.xlarge", 0.172),
    ("m5a.2xlarge", 0.344),
    ("m5a.4xlarge", 0.688),
    ("m5a.8xlarge", 1.376),
    ("m5a.12xlarge", 2.064),
    ("m5a.16xlarge", 2.752),
    ("m5a.24xlarge", 4.128),
    ("m6i.large", 0.096),
    ("m6i.xlarge", 0.192),
    ("m6i.2xlarge", 0.384),
    ("m6i.4xlarge", 0.768),
    ("m6i.8xlarge", 1.536),
    ("m6i.12xlarge", 2.304),
    ("m6i.16xlarge", 3.072),
    ("m6i.24xlarge", 4.608),
    ("m6i.32xlarge", 6.144),
    ("m7i.large", 0.1008),
    ("m7i.xlarge", 0.2016),
    ("m7i.2xlarge", 0.4032),
    ("m7i.4xlarge", 0.8064),
    ("m7i.8xlarge", 1.6128),
    ("m7i.12xlarge", 2.4192),
    ("m7i.16xlarge", 3.2256),
    ("m7i.24xlarge", 4.8384),
    ("m7i.48xlarge", 9.6768),
    ("c5.large", 0.085),
    ("c5.xlarge", 0.17),
    ("c5.2xlarge", 0.34),
    ("c5.4xlarge", 0.68),
    ("c5.9xlarge", 1.53),
    ("c5.12xlarge", 2.04),
    ("c5.18xlarge", 3.06),
    ("c5.24xlarge", 4.08),
    ("c6i.large", 0.085),
    ("c6i.xlarge", 0.17),
    ("c6i.2xlarge", 0.34),
    ("c6i.4xlarge", 0.68),
    ("c6i.8xlarge", 1.36),
    ("c6i.12xlarge", 2.04),
    ("c6i.16xlarge", 2.72),
    ("c6i.24xlarge", 4.08),
    ("c6i.32xlarge", 5.44),
    ("r5.large", 0.126),
    ("r5.xlarge", 0.252),
    ("r5.2xlarge", 0.504),
    ("r5.4xlarge", 1.008),
    ("r5.8xlarge", 2.016),
    ("r5.12xlarge", 3.024),
    ("r5.16xlarge", 4.032),
    ("r5.24xlarge", 6.048),
    ("r6i.large", 0.126),
    ("r6i.xlarge", 0.252),
    ("r6i.2xlarge", 0.504),
    ("r6i.4xlarge", 1.008),
    ("r6i.8xlarge", 2.016),
    ("r6i.12xlarge", 3.024),
    ("r6i.16xlarge", 4.032),
    ("r6i.24xlarge", 6.048),
    ("r6i.32xlarge", 8.064),
    ("p3.2xlarge", 3.06),
    ("p3.8xlarge", 12.24),
    ("p3.16xlarge", 24.48),
    ("p4d.24xlarge", 32.7726),
    ("g4dn.xlarge", 0.526),
    ("g4dn.2xlarge", 0.752),
    ("g4dn.4xlarge", 1.204),
    ("g4dn.8xlarge", 2.176),
    ("g4dn.12xlarge", 3.912),
    ("g4dn.16xlarge", 4.352),
    ("g5.xlarge", 1.006),
    ("g5.2xlarge", 1.212),
    ("g5.4xlarge", 1.624),
    ("g5.8xlarge", 2.448),
    ("g5.12xlarge", 5.672),
    ("g5.16xlarge", 4.096),
    ("g5.24xlarge", 8.144),
    ("g5.48xlarge", 16.288),
];

/// Dollars per hour by instance type: the bundled table, with any overrides on top.
#[derive(Debug, Clone)]
pub struct PriceTable {
    prices: BTreeMap<String, f64>,
}

impl PriceTable {
    pub fn bundled() -> PriceTable {
        PriceTable {
            prices: BUNDLED.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
        }
    }

    /// The bundled table with these prices replacing or adding to it.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, f64>) -> PriceTable {
        self.prices
            .extend(overrides.iter().map(|(t, p)| (t.clone(), *p)));
        self
    }

    /// Dollars per hour of one instance of this type, when known.
    pub fn hourly(&self, instance_type: &str) -> Option<f64> {
        self.prices.get(instance_type).copied()
    }
}

/// Where a group's price came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceSource {
    /// The operator's `--price-file`.
    PriceFile,
    /// The snapshot's `aws.<region>.prices`: the prices the plan that wrote it used.
    Snapshot,
    /// The bundled on-demand table.
    Bundled,
}

impl fmt::Display for PriceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceSource::PriceFile => "--price-file",
            PriceSource::Snapshot => "snapshot",
            PriceSource::Bundled => "bundled on-demand table (us-east-1/us-west-2 list prices)",
        })
    }
}

/// Dollars per hour of one instance of a group's type in its region, and where that came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourlyPrice {
    pub dollars: f64,
    pub source: PriceSource,
}

/// Dollars per hour by instance type, for one region (`aws.<region>.prices` in a snapshot).
pub type RegionPrices = BTreeMap<String, f64>;

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

/// The price of one instance of `instance_type` in `region`: the operator's file first, then
/// the snapshot's prices, then the bundled table.
pub fn resolve(
    instance_type: &str,
    region: &str,
    file: Option<&PriceFile>,
    snapshot: Option<&RegionPrices>,
) -> Option<HourlyPrice> {
    let found =
        |dollars: Option<f64>, source| dollars.map(|dollars| HourlyPrice { dollars, source });
    found(
        file.and_then(|f| f.get(instance_type, region)),
        PriceSource::PriceFile,
    )
    .or_else(|| {
        found(
            snapshot.and_then(|p| p.get(instance_type).copied()),
            PriceSource::Snapshot,
        )
    })
    .or_else(|| {
        let bundled = BUNDLED.iter().find(|(t, _)| *t == instance_type);
        found(bundled.map(|(_, p)| *p), PriceSource::Bundled)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_beats_the_snapshot_which_beats_the_table() {
        let file = PriceFile::parse(br#"{"m5.large": {"us-east-1": 0.05}}"#).unwrap();
        let snapshot = RegionPrices::from([("m5.large".to_string(), 0.07)]);
        let price = |f, s| resolve("m5.large", "us-east-1", f, s).unwrap();
        assert_eq!(
            price(Some(&file), Some(&snapshot)),
            HourlyPrice {
                dollars: 0.05,
                source: PriceSource::PriceFile
            }
        );
        assert_eq!(price(None, Some(&snapshot)).dollars, 0.07);
        assert_eq!(price(None, None).source, PriceSource::Bundled);
        assert_eq!(price(None, None).dollars, 0.096);
        // The file names another region: the snapshot's price for this one stands.
        let other = resolve("m5.large", "eu-west-1", Some(&file), Some(&snapshot)).unwrap();
        assert_eq!(other.source, PriceSource::Snapshot);
        assert_eq!(resolve("x9.huge", "us-east-1", Some(&file), None), None);
    }

    #[test]
    fn a_bad_price_file_is_named() {
        for (bad, says) in [
            (&b"{not json"[..], "expected a JSON object"),
            (br#"{"m5.large": 0.1}"#, "expected a JSON object"),
            (
                br#"{"m5.large": {"us-east-1": -1}}"#,
                "m5.large.us-east-1: -1",
            ),
        ] {
            let err = format!("{:#}", PriceFile::parse(bad).unwrap_err());
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn prices_scale_with_size_within_a_family() {
        // A typo in the table would most likely break the doubling from one size to the next.
        let table = PriceTable::bundled();
        for family in ["m5", "m5a", "m6i", "m7i", "c5", "c6i", "r5", "r6i"] {
            let large = table.hourly(&format!("{family}.large")).unwrap();
            for (size, factor) in [("xlarge", 2.0), ("2xlarge", 4.0), ("4xlarge", 8.0)] {
                let price = table.hourly(&format!("{family}.{size}")).unwrap();
                assert!(
                    (price - large * factor).abs() < 1e-9,
                    "{family}.{size} costs {price}, expected {}",
                    large * factor
                );
            }
        }
    }

    #[test]
    fn overrides_replace_and_add() {
        let overrides = BTreeMap::from([
            ("m5.large".to_string(), 0.05),
            ("x9.huge".to_string(), 100.0),
        ]);
        let table = PriceTable::bundled().with_overrides(&overrides);
        assert_eq!(table.hourly("m5.large"), Some(0.05));
        assert_eq!(table.hourly("x9.huge"), Some(100.0));
        assert_eq!(table.hourly("m5.xlarge"), Some(0.192));
        assert_eq!(table.hourly("nope.large"), None);
    }
}

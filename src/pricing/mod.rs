//! Hourly prices of EC2 instance types: what the `price` expander ranks groups by, what the
//! plan's cost figures and `ekas simulate` count.
//!
//! The bundled table ([`table`]) is a default: a snapshot's `aws.<region>.prices` and
//! `--price-file` (or, for `ekas simulate`, a cluster file's `simulation.prices`) replace it
//! type by type.

pub mod live;
pub mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};

pub use table::PriceTable;

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

/// Spot dollars per hour by instance type and Availability Zone, for one region
/// (`aws.<region>.spotPrices` in a snapshot).
pub type SpotPrices = BTreeMap<String, BTreeMap<String, f64>>;

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
    .or_else(|| found(table::bundled(instance_type), PriceSource::Bundled))
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
}

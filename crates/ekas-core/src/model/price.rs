//! A group's price as the engine ranks groups by it; [`crate::pricing`] works it out.

use std::fmt;

/// Where a group's price came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriceSource {
    /// The operator's `--price-file`.
    PriceFile,
    /// The snapshot's `aws.<region>.prices` and `spotPrices`: the prices the plan that wrote
    /// it used.
    Snapshot,
    /// The Price List API's on-demand price (`GetProducts`).
    PriceListApi,
    /// The Spot price history (`DescribeSpotPriceHistory`); a mixed group's price also counts
    /// an on-demand part.
    SpotPriceHistory,
    /// The bundled on-demand table: no other source named the type.
    Bundled,
}

impl fmt::Display for PriceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceSource::PriceFile => "--price-file",
            PriceSource::Snapshot => "snapshot",
            PriceSource::PriceListApi => "Price List API (on-demand)",
            PriceSource::SpotPriceHistory => "Spot price history",
            PriceSource::Bundled => "bundled on-demand table (us-east-1/us-west-2 list prices)",
        })
    }
}

/// Dollars per hour of a group's next instance, and where that came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourlyPrice {
    pub dollars: f64,
    pub source: PriceSource,
}

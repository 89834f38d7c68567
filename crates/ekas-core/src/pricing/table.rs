//! The bundled table: AWS's public on-demand price list for Linux, shared tenancy, in
//! us-east-1 (N. Virginia) and us-west-2 (Oregon), which list the same price for every type
//! below (as of 2025). Other regions differ by a few percent and prices change, so it is the
//! last resort: what ekas prices by when nothing better names the type.

use std::collections::BTreeMap;

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

/// The bundled on-demand price of one instance of this type, when the table has it.
pub fn bundled(instance_type: &str) -> Option<f64> {
    BUNDLED
        .iter()
        .find(|(t, _)| *t == instance_type)
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Prices scale with size within a family: a typo in the table would most likely break
    // the doubling from one size to the next.
    cases! { prices_scale_with_size;
        m5_doubles_per_size: "m5",
        m5a_doubles_per_size: "m5a",
        m6i_doubles_per_size: "m6i",
        m7i_doubles_per_size: "m7i",
        c5_doubles_per_size: "c5",
        c6i_doubles_per_size: "c6i",
        r5_doubles_per_size: "r5",
        r6i_doubles_per_size: "r6i",
    }

    fn prices_scale_with_size(family: &str) {
        let table = PriceTable::bundled();
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

//! Prices read from AWS, as types: an instance type's on-demand price from the Price List API
//! (`GetProducts`), and the current Spot price of each type in each zone from the Spot price
//! history (`DescribeSpotPriceHistory`). Parsing only: the calls are in the `ekas` crate's `aws::prices`,
//! which hands the answers over in the shapes AWS documents (see
//! `tests/fixtures/aws-pricing/`).
//!
//! 1. On-demand: each `PriceList` entry is a product encoded as JSON in a string; its price is
//!    at `terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD`, a decimal string per
//!    `Hrs`. Dimensions priced at zero are skipped; the first product with a price wins.
//! 2. Spot: the current price of a (type, zone) pair is its entry with the latest `Timestamp`,
//!    whatever order the entries come in.
//!
//! A malformed answer is an error naming the product or entry and what is wrong with it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

use super::SpotPrices;

/// An answer of a price API that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The Price List API's endpoint for a cluster's region: it answers only in us-east-1,
/// eu-central-1 and ap-south-1, each for every region.
pub fn price_list_region(region: &str) -> &'static str {
    if region.starts_with("ap-") {
        "ap-south-1"
    } else if region.starts_with("eu-") {
        "eu-central-1"
    } else {
        "us-east-1"
    }
}

/// The `TERM_MATCH` filters of `GetProducts` (ServiceCode `AmazonEC2`) for one type's Linux
/// on-demand price: shared tenancy, no preinstalled software, capacity in use (not a
/// reservation's unused hours), no license included.
pub fn product_filters(region: &str, instance_type: &str) -> [(&'static str, String); 8] {
    [
        ("regionCode", region.to_string()),
        ("instanceType", instance_type.to_string()),
        ("operatingSystem", "Linux".to_string()),
        ("tenancy", "Shared".to_string()),
        ("preInstalledSw", "NA".to_string()),
        ("capacitystatus", "Used".to_string()),
        ("licenseModel", "No License required".to_string()),
        ("marketoption", "OnDemand".to_string()),
    ]
}

/// The `ProductDescriptions` Spot prices are read for: Linux, in a VPC or not.
pub const SPOT_PRODUCTS: [&str; 2] = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"];

#[derive(Deserialize)]
struct PriceItem {
    product: Product,
    terms: Terms,
}

#[derive(Deserialize)]
struct Product {
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    attributes: Attributes,
}

/// Only the attributes ekas checks; the others are ignored.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    instance_type: Option<String>,
    region_code: Option<String>,
}

#[derive(Deserialize)]
struct Terms {
    #[serde(rename = "OnDemand")]
    on_demand: BTreeMap<String, OfferTerm>,
}

#[derive(Deserialize)]
struct OfferTerm {
    #[serde(rename = "priceDimensions")]
    price_dimensions: BTreeMap<String, PriceDimension>,
}

#[derive(Deserialize)]
struct PriceDimension {
    unit: String,
    #[serde(rename = "pricePerUnit")]
    price_per_unit: BTreeMap<String, String>,
}

/// The on-demand dollars per hour of one `instance_type` in `region` from the `PriceList`
/// entries of `GetProducts` (all pages); `None` when no entry has a price.
pub fn on_demand_price(
    instance_type: &str,
    region: &str,
    price_list: &[String],
) -> Result<Option<f64>, Malformed> {
    for (i, entry) in price_list.iter().enumerate() {
        let what = format!("GetProducts {instance_type} in {region}: PriceList entry {i}");
        let de = &mut serde_json::Deserializer::from_str(entry);
        let item: PriceItem = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            // The whole document failed: no path to name.
            let at = match at.as_str() {
                "." | "?" => String::new(),
                _ => format!(" at {at}"),
            };
            Malformed(format!(
                "{what}{at}: {} (expected a product as JSON, with terms.OnDemand)",
                e.inner()
            ))
        })?;
        let sku = item.product.sku.as_deref().unwrap_or("without a sku");
        let what = format!("{what} (sku {sku})");
        let attributes = &item.product.attributes;
        for (name, got, want) in [
            ("instanceType", &attributes.instance_type, instance_type),
            ("regionCode", &attributes.region_code, region),
        ] {
            if let Some(got) = got.as_deref().filter(|got| *got != want) {
                return Err(Malformed(format!(
                    "{what}: is for {name} {got}, not {want}"
                )));
            }
        }
        if item.terms.on_demand.is_empty() {
            return Err(Malformed(format!("{what}: terms.OnDemand is empty")));
        }
        for (offer, term) in &item.terms.on_demand {
            for (rate, dimension) in &term.price_dimensions {
                let at = format!("{what}: terms.OnDemand.{offer}.priceDimensions.{rate}");
                let usd = dimension
                    .price_per_unit
                    .get("USD")
                    .ok_or_else(|| Malformed(format!("{at}: pricePerUnit has no USD")))?;
                let dollars: f64 = usd.trim().parse().map_err(|_| {
                    Malformed(format!("{at}: pricePerUnit.USD {usd:?} is not a number"))
                })?;
                super::check_price(dollars, &format!("{at}: pricePerUnit.USD"))
                    .map_err(|e| Malformed(format!("{e}")))?;
                // Free dimensions (and other units) are not the hourly price.
                if dimension.unit == "Hrs" && dollars > 0.0 {
                    return Ok(Some(dollars));
                }
            }
        }
    }
    Ok(None)
}

/// One entry of the Spot price history, as `aws ec2 describe-spot-price-history` prints it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpotPricePoint {
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub product_description: Option<String>,
    /// Dollars per hour, as a decimal string.
    #[serde(default)]
    pub spot_price: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
}

/// The current Spot price of each (type, zone) in `region`: the entry with the latest
/// timestamp for the pair.
pub fn current_spot_prices(
    region: &str,
    points: &[SpotPricePoint],
) -> Result<SpotPrices, Malformed> {
    let mut latest: BTreeMap<(String, String), (Timestamp, f64)> = BTreeMap::new();
    for (i, point) in points.iter().enumerate() {
        let what = format!("DescribeSpotPriceHistory in {region}: entry {i}");
        let field = |value: &Option<String>, name: &str| {
            value
                .clone()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Malformed(format!("{what}: no {name}")))
        };
        let ty = field(&point.instance_type, "InstanceType")?;
        let zone = field(&point.availability_zone, "AvailabilityZone")?;
        let what = format!("{what} ({ty} in {zone})");
        let price = point
            .spot_price
            .as_deref()
            .ok_or_else(|| Malformed(format!("{what}: no SpotPrice")))?;
        let dollars: f64 = price
            .trim()
            .parse()
            .map_err(|_| Malformed(format!("{what}: SpotPrice {price:?} is not a number")))?;
        super::check_price(dollars, &format!("{what}: SpotPrice"))
            .map_err(|e| Malformed(format!("{e}")))?;
        let at = point
            .timestamp
            .ok_or_else(|| Malformed(format!("{what}: no Timestamp")))?;
        let newest = latest.entry((ty, zone)).or_insert((at, dollars));
        if at > newest.0 {
            *newest = (at, dollars);
        }
    }
    let mut prices = SpotPrices::new();
    for ((ty, zone), (_, dollars)) in latest {
        prices.entry(ty).or_default().insert(zone, dollars);
    }
    Ok(prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET_PRODUCTS: &str = include_str!(
        "../../../../tests/fixtures/aws-pricing/get-products-m5.xlarge-us-west-2.json"
    );
    const SPOT_HISTORY: &str =
        include_str!("../../../../tests/fixtures/aws-pricing/describe-spot-price-history.json");

    /// The fixture's `PriceList`: JSON documents in strings.
    fn price_list() -> Vec<String> {
        let page: serde_json::Value = serde_json::from_str(GET_PRODUCTS).unwrap();
        assert_eq!(page["FormatVersion"], "aws_v1");
        assert!(
            page.get("NextToken").is_none(),
            "the fixture is a last page"
        );
        page["PriceList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().expect("each entry is a string").to_string())
            .collect()
    }

    fn spot_points() -> Vec<SpotPricePoint> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Page {
            spot_price_history: Vec<SpotPricePoint>,
        }
        serde_json::from_str::<Page>(SPOT_HISTORY)
            .unwrap()
            .spot_price_history
    }

    #[test]
    fn the_on_demand_price_is_read_and_the_reserved_one_ignored() {
        let price = on_demand_price("m5.xlarge", "us-west-2", &price_list()).unwrap();
        assert_eq!(price, Some(0.192));
        // No product: no price, and no error.
        assert_eq!(
            on_demand_price("m5.xlarge", "us-west-2", &[]).unwrap(),
            None
        );
    }

    #[test]
    fn zero_dimensions_are_skipped() {
        let entry = &price_list()[0];
        let free = entry.replace("\"0.1920000000\"", "\"0.0000000000\"");
        assert_eq!(
            on_demand_price("m5.xlarge", "us-west-2", std::slice::from_ref(&free)).unwrap(),
            None
        );
        // A later product with a price still counts.
        let both = [free, entry.clone()];
        assert_eq!(
            on_demand_price("m5.xlarge", "us-west-2", &both).unwrap(),
            Some(0.192)
        );
    }

    /// Makes a product from the fixture's first entry.
    type Make = fn(&str) -> String;

    /// A bad product is named, with the price asked for.
    fn is_refused_as_a_product((make, says): (Make, &str)) {
        let bad = make(&price_list()[0]);
        let err =
            on_demand_price("m5.xlarge", "us-west-2", std::slice::from_ref(&bad)).unwrap_err();
        assert!(err.0.contains(says), "{bad}: {err}");
        assert!(err.0.contains("m5.xlarge in us-west-2"), "{bad}: {err}");
    }

    cases! { is_refused_as_a_product;
        a_product_not_json: (|_| "{not json".into(), "PriceList entry 0"),
        a_product_not_an_object: (|_| "[]".into(), "expected a product as JSON"),
        a_product_without_terms: (
            |_| r#"{"product": {"sku": "X"}}"#.into(),
            "missing field `terms`",
        ),
        a_price_not_a_number: (
            |entry| entry.replace("\"0.1920000000\"", "\"about a dime\""),
            "pricePerUnit.USD \"about a dime\" is not a number",
        ),
        a_negative_price: (
            |entry| entry.replace("\"0.1920000000\"", "\"-1\""),
            "pricePerUnit.USD: -1 is not a price",
        ),
        a_price_not_in_dollars: (
            |entry| entry.replace("{\"USD\":\"0.1920000000\"}", "{\"EUR\":\"0.18\"}"),
            "pricePerUnit has no USD",
        ),
        a_unit_not_a_string: (
            |entry| entry.replace("\"unit\":\"Hrs\"", "\"unit\":7"),
            "terms.OnDemand",
        ),
    }

    #[test]
    fn products_of_another_region_or_without_terms_are_named() {
        let entry = &price_list()[0];
        let other = on_demand_price("m5.xlarge", "us-east-1", &price_list()).unwrap_err();
        assert!(
            other.0.contains("sku EKAS7Q2M5XLUSW2A") && other.0.contains("regionCode us-west-2"),
            "{other}"
        );
        let empty = entry
            .split("\"terms\":")
            .next()
            .map(|head| format!("{head}\"terms\":{{\"OnDemand\":{{}}}}}}"))
            .unwrap();
        let err = on_demand_price("m5.xlarge", "us-west-2", &[empty]).unwrap_err();
        assert!(err.0.contains("terms.OnDemand is empty"), "{err}");
    }

    #[test]
    fn the_current_spot_price_is_the_latest_of_each_type_and_zone() {
        let mut points = spot_points();
        let want = SpotPrices::from([
            (
                "c5.2xlarge".to_string(),
                BTreeMap::from([
                    ("us-west-2a".to_string(), 0.1398),
                    ("us-west-2b".to_string(), 0.1283),
                ]),
            ),
            (
                "m5.xlarge".to_string(),
                BTreeMap::from([
                    ("us-west-2a".to_string(), 0.0734),
                    ("us-west-2b".to_string(), 0.0817),
                ]),
            ),
        ]);
        assert_eq!(current_spot_prices("us-west-2", &points).unwrap(), want);
        // The order entries come in does not matter.
        points.reverse();
        assert_eq!(current_spot_prices("us-west-2", &points).unwrap(), want);
        points.swap(0, 5);
        assert_eq!(current_spot_prices("us-west-2", &points).unwrap(), want);
    }

    /// A spoiled entry of the fixture's spot price history is named.
    fn is_refused_as_a_spot_price((spoil, says): (fn(&mut SpotPricePoint), &str)) {
        let mut bad = spot_points()[0].clone();
        spoil(&mut bad);
        let err = current_spot_prices("us-west-2", std::slice::from_ref(&bad)).unwrap_err();
        assert!(err.0.contains(says), "{bad:?}: {err}");
        assert!(
            err.0.contains("DescribeSpotPriceHistory in us-west-2"),
            "{bad:?}: {err}"
        );
    }

    cases! { is_refused_as_a_spot_price;
        a_spot_price_not_a_number: (
            |p| p.spot_price = Some("cheap".into()),
            "entry 0 (c5.2xlarge in us-west-2b): SpotPrice \"cheap\" is not a number",
        ),
        a_spot_price_not_a_price: (|p| p.spot_price = Some("NaN".into()), "NaN is not a price"),
        no_spot_price: (|p| p.spot_price = None, "no SpotPrice"),
        no_timestamp: (|p| p.timestamp = None, "no Timestamp"),
        no_instance_type: (|p| p.instance_type = None, "entry 0: no InstanceType"),
        a_blank_zone: (
            |p| p.availability_zone = Some(" ".into()),
            "no AvailabilityZone",
        ),
    }

    #[test]
    fn a_spot_price_page_of_garbage_is_an_error_not_a_panic() {
        // Garbage in place of the CLI's page is a serde error, not a panic.
        assert!(serde_json::from_str::<Vec<SpotPricePoint>>(r#"[{"SpotPrice": 1}]"#).is_err());
    }

    // Each region asks its own Price List endpoint.
    cases! { asks_the_price_list_in;
        us_west_2_asks_us_east_1: ("us-west-2", "us-east-1"),
        ca_central_1_asks_us_east_1: ("ca-central-1", "us-east-1"),
        sa_east_1_asks_us_east_1: ("sa-east-1", "us-east-1"),
        eu_west_1_asks_eu_central_1: ("eu-west-1", "eu-central-1"),
        ap_northeast_1_asks_ap_south_1: ("ap-northeast-1", "ap-south-1"),
        ap_south_1_asks_itself: ("ap-south-1", "ap-south-1"),
    }

    fn asks_the_price_list_in((region, endpoint): (&str, &str)) {
        assert_eq!(price_list_region(region), endpoint, "{region}");
    }
}

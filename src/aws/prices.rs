//! The two price reads: `GetProducts` of the Price List API (one instance type's Linux
//! on-demand price; the API answers from three regions only, see
//! [`live::price_list_region`]) and EC2's `DescribeSpotPriceHistory` (the current Spot price of
//! a region's types in each zone: a start time of now returns the price in effect). Their
//! answers go to [`crate::pricing::live`] to be read, and [`crate::pricing::cache`] decides
//! when to call.

use std::future::Future;

use aws_sdk_ec2::types::InstanceType;
use aws_sdk_pricing::types::{Filter, FilterType};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{RegionClients, describe_error, error_class};
use crate::call::ErrorClass;
use crate::pricing::SpotPrices;
use crate::pricing::cache::{Failure, FetchError, PriceApis};
use crate::pricing::live::{self, SpotPricePoint};

/// AWS's price APIs, through each region's clients.
pub struct PriceReader<'a> {
    clients: &'a [RegionClients],
}

impl<'a> PriceReader<'a> {
    pub fn new(clients: &'a [RegionClients]) -> PriceReader<'a> {
        PriceReader { clients }
    }

    fn clients(&self, region: &str) -> Result<RegionClients, FetchError> {
        self.clients
            .iter()
            .find(|c| c.region == region)
            .cloned()
            .ok_or_else(|| FetchError {
                failure: Failure::Failed,
                message: format!("no clients for region {region}"),
            })
    }
}

impl PriceApis for PriceReader<'_> {
    fn on_demand(
        &self,
        region: &str,
        instance_type: &str,
    ) -> impl Future<Output = Result<Option<f64>, FetchError>> + Send {
        let clients = self.clients(region);
        let instance_type = instance_type.to_string();
        async move { on_demand_price(&clients?, &instance_type).await }
    }

    fn spot(
        &self,
        region: &str,
        types: &[String],
    ) -> impl Future<Output = Result<SpotPrices, FetchError>> + Send {
        let clients = self.clients(region);
        let types = types.to_vec();
        async move { spot_prices(&clients?, &types).await }
    }
}

/// The Linux on-demand dollars per hour of one type in the clients' region.
async fn on_demand_price(
    clients: &RegionClients,
    instance_type: &str,
) -> Result<Option<f64>, FetchError> {
    let region = &clients.region;
    let what = format!("GetProducts {instance_type} in {region}");
    let filters = live::product_filters(region, instance_type)
        .into_iter()
        .map(|(field, value)| {
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(field)
                .value(value)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FetchError {
            failure: Failure::Failed,
            message: format!("{what}: {e}"),
        })?;
    let pages = clients
        .pricing
        .get_products()
        .service_code("AmazonEC2")
        .format_version("aws_v1")
        .set_filters(Some(filters))
        .max_results(100)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| fetch_error(e, &what))?;
    let price_list: Vec<String> = pages
        .iter()
        .flat_map(|p| p.price_list().iter().cloned())
        .collect();
    live::on_demand_price(instance_type, region, &price_list).map_err(|e| FetchError {
        failure: Failure::Malformed,
        message: e.0,
    })
}

/// The current Spot dollars per hour of `types` in the clients' region, by type and zone.
async fn spot_prices(clients: &RegionClients, types: &[String]) -> Result<SpotPrices, FetchError> {
    let region = &clients.region;
    let what = format!("DescribeSpotPriceHistory {} in {region}", types.join(","));
    let pages = clients
        .ec2
        .describe_spot_price_history()
        .set_instance_types(Some(
            types
                .iter()
                .map(|t| InstanceType::from(t.as_str()))
                .collect(),
        ))
        .set_product_descriptions(Some(
            live::SPOT_PRODUCTS.iter().map(|p| p.to_string()).collect(),
        ))
        .start_time(aws_smithy_types::DateTime::from(
            std::time::SystemTime::now(),
        ))
        .max_results(1000)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| fetch_error(e, &what))?;
    let points: Vec<SpotPricePoint> = pages
        .iter()
        .flat_map(|p| p.spot_price_history())
        .map(|h| SpotPricePoint {
            availability_zone: h.availability_zone().map(str::to_string),
            instance_type: h.instance_type().map(|t| t.as_str().to_string()),
            product_description: h.product_description().map(|d| d.as_str().to_string()),
            spot_price: h.spot_price().map(str::to_string),
            timestamp: h
                .timestamp()
                .and_then(|t| jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok()),
        })
        .collect();
    live::current_spot_prices(region, &points).map_err(|e| FetchError {
        failure: Failure::Malformed,
        message: e.0,
    })
}

/// A failed call as the cache takes it: refused (a missing IAM permission), out of time, or
/// failed otherwise.
fn fetch_error<E, R>(error: SdkError<E, R>, what: &str) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let failure = match error_class(&error) {
        ErrorClass::Forbidden => Failure::Denied,
        ErrorClass::Timeout => Failure::Timeout,
        _ => Failure::Failed,
    };
    // The service's own words suffice (the response itself is noise in a warning).
    let said = match &error {
        SdkError::ServiceError(e) => e
            .err()
            .code()
            .map(|code| format!("{code}: {}", e.err().message().unwrap_or("(no message)"))),
        _ => None,
    };
    let said = said.unwrap_or_else(|| describe_error(error));
    FetchError {
        failure,
        message: format!("{what}: {said}"),
    }
}

//! The AWS side: clients per region, gathering the AWS half of a snapshot, reading prices, and
//! the two calls that change anything (SetDesiredCapacity, TerminateInstanceInAutoScalingGroup).
//! Adapters never decide: they read into [`crate::document`] and carry out a plan.

mod count;
pub mod gather;
pub mod prices;
pub mod scaling;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_autoscaling::config::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use color_eyre::eyre::{Result, bail};

use crate::document::aws::InstanceTypeInfo;
use crate::secret::Secret;

/// How to reach AWS. Anything unset comes from the SDK's default chain (environment, profile,
/// SSO, web identity / IRSA, instance role); `AWS_ENDPOINT_URL` is honoured.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    pub profile: Option<String>,
    /// Attempts per call, with the SDK's adaptive retry on throttling and 5xx.
    pub max_attempts: u32,
    pub timeouts: AwsTimeouts,
    /// An endpoint for every service (tests); otherwise `AWS_ENDPOINT_URL` or AWS's own.
    pub endpoint_url: Option<String>,
    /// An endpoint for the Price List API alone (tests: moto has none); otherwise
    /// `AWS_ENDPOINT_URL_PRICING`, the one above, or AWS's own.
    pub pricing_endpoint_url: Option<String>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            access_key: None,
            secret_key: None,
            profile: None,
            max_attempts: 5,
            timeouts: AwsTimeouts::default(),
            endpoint_url: None,
            pricing_endpoint_url: None,
        }
    }
}

/// Deadlines for every AWS call, so an endpoint that accepts and never answers fails the call
/// (naming it) instead of hanging the pass. The SDK has only a connect timeout of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    /// One call, all its attempts and the backoff between them (`--aws-timeout`).
    pub operation: Duration,
    /// One attempt; a timed-out attempt is retried (`--aws-attempt-timeout`).
    pub attempt: Duration,
}

impl Default for AwsTimeouts {
    fn default() -> Self {
        // A describe page or a SetDesiredCapacity answers in well under a second; a few slow
        // attempts fit, and a hung call ends at a third of the default Lease.
        AwsTimeouts {
            operation: Duration::from_secs(20),
            attempt: Duration::from_secs(8),
        }
    }
}

/// Clients for one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub ec2: aws_sdk_ec2::Client,
    /// Interruption queues (`ekas run --interruption-queue`).
    pub sqs: aws_sdk_sqs::Client,
    /// The Price List API, at the endpoint that serves this region's prices.
    pub pricing: aws_sdk_pricing::Client,
    /// Instance types never change: described once per process and region.
    instance_types: Arc<Mutex<HashMap<String, InstanceTypeInfo>>>,
    /// Running instances of Nodes outside every managed group (a control plane, other
    /// groups), and when each was last seen running: re-checked only after a while, so
    /// unmanaged Nodes cost no call per pass.
    unmanaged: Arc<Mutex<HashMap<String, std::time::Instant>>>,
    /// Asked before every call that changes a group (see `scaling`).
    guard: crate::guard::Guard,
}

impl RegionClients {
    /// Changes to groups go only while `guard` is open (the Lease is held).
    pub fn guarded(mut self, guard: crate::guard::Guard) -> RegionClients {
        self.guard = guard;
        self
    }
}

/// How long opening a connection may take (the SDK's own default is 3.1 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn connect(regions: &[String], options: &AwsOptions) -> Result<Vec<RegionClients>> {
    if regions.is_empty() {
        bail!("no AWS region: pass --regions, e.g. --regions us-west-2,us-east-1");
    }
    match (&options.access_key, &options.secret_key) {
        (Some(_), None) | (None, Some(_)) => {
            bail!("--aws-access-key and --aws-secret-key go together: give both or neither")
        }
        _ => {}
    }
    let mut out = Vec::new();
    for region in regions {
        if !is_region_name(region) {
            bail!("{region:?} is not an AWS region name (like us-west-2)");
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(RetryConfig::adaptive().with_max_attempts(options.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(options.timeouts.attempt.min(CONNECT_TIMEOUT))
                    .operation_attempt_timeout(options.timeouts.attempt)
                    .operation_timeout(options.timeouts.operation)
                    .build(),
            );
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let (Some(key), Some(secret)) = (&options.access_key, &options.secret_key) {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret.expose(),
                None,
                None,
                "ekas-flags",
            ));
        }
        let config = loader.load().await;
        let mut pricing = aws_sdk_pricing::config::Builder::from(&config)
            .region(Region::new(crate::pricing::live::price_list_region(region)))
            .interceptor(count::CountCalls);
        if let Some(endpoint) = &options.pricing_endpoint_url {
            pricing = pricing.endpoint_url(endpoint);
        }
        out.push(RegionClients {
            region: region.clone(),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(
                aws_sdk_autoscaling::config::Builder::from(&config)
                    .interceptor(count::CountCalls)
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&config)
                    .interceptor(count::CountCalls)
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&config)
                    .interceptor(count::CountCalls)
                    .build(),
            ),
            pricing: aws_sdk_pricing::Client::from_conf(pricing.build()),
            instance_types: Arc::default(),
            unmanaged: Arc::default(),
            guard: crate::guard::Guard::open(),
        });
    }
    Ok(out)
}

/// `us-west-2`, `eu-central-1`, `us-gov-west-1`, `ap-southeast-4`: letters and digits in dashed
/// parts ending in a number. Catches typos and flags in the wrong place before any call.
fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An SDK error with its full context (service code and message), for reports; a call that
/// ran out of time also says which options set its deadlines.
pub(crate) fn describe_error<E, R>(error: SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let timed_out = matches!(error, SdkError::TimeoutError(_));
    let text = aws_sdk_autoscaling::error::DisplayErrorContext(&error).to_string();
    if timed_out {
        format!("{text} (deadlines: --aws-timeout per call, --aws-attempt-timeout per attempt)")
    } else {
        text
    }
}

/// The class of a failed SDK call: a deadline, or the service's error code.
pub(crate) fn error_class<E, R>(error: &SdkError<E, R>) -> crate::call::ErrorClass
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use crate::call::ErrorClass;
    match error {
        SdkError::TimeoutError(_) => ErrorClass::Timeout,
        SdkError::ServiceError(e) => {
            let e = e.err();
            ErrorClass::of_aws(e.code().unwrap_or(""), e.message().unwrap_or(""))
        }
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    cases! { is_a_region_name;
        us_west_2_is_a_region: "us-west-2",
        eu_central_1_is_a_region: "eu-central-1",
        a_gov_cloud_region_is_a_region: "us-gov-west-1",
        ap_southeast_4_is_a_region: "ap-southeast-4",
    }

    fn is_a_region_name(ok: &str) {
        assert!(is_region_name(ok), "{ok:?}");
    }

    cases! { is_not_a_region_name;
        empty_is_no_region: "",
        no_number_is_no_region: "us-west",
        no_dashes_is_no_region: "uswest2",
        capitals_are_no_region: "US-WEST-2",
        a_list_is_no_region: "us-west-2,us-east-1",
        a_word_is_no_region: "mars",
    }

    fn is_not_a_region_name(bad: &str) {
        assert!(!is_region_name(bad), "{bad:?}");
    }
}

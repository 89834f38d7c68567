//! Counts every AWS API call (and failure) by operation, whichever code path made it: an SDK
//! interceptor on every client, so no call site can forget.

use aws_sdk_autoscaling::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_autoscaling::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

#[derive(Debug)]
pub struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "ekas-count-calls"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown".to_string(), |m| m.name().to_string());
        let labels = vec![("operation", operation)];
        let m = crate::metrics::metrics();
        m.aws_calls.get_or_create(&labels).inc();
        if !matches!(context.output_or_error(), Some(Ok(_))) {
            m.aws_errors.get_or_create(&labels).inc();
        }
        Ok(())
    }
}

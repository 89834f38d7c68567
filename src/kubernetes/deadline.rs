//! Names a Kubernetes call that fails before the server answers. kube reports a read timeout
//! as "client error (SendRequest)"; this layer, outermost on the client, wraps such a failure
//! in a [`FailedCall`] that says which call it was, on which server, and — for a timeout —
//! which deadline ran out: `GET https://10.0.0.1/api/v1/pods?limit=500: no answer within 10s
//! (--kube-timeout)`. Errors kube itself produced (an API status, an auth failure) pass as
//! they are.
//!
//! It is also the second line of the Lease's guard for Kubernetes writes (the actuator's
//! [`Gate`](crate::provider::Gate) is the first): a request that changes anything (any
//! method but GET, the Lease's own renewals excepted) is not sent while the [`Guard`] is shut.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::call::ErrorClass;
use crate::guard::Guard;

type BoxError = Box<dyn StdError + Send + Sync>;

#[derive(Clone)]
pub struct NameFailedCalls {
    server: http::Uri,
    timeout: Duration,
    /// What sets the timeout (`--kube-timeout`), named in the message.
    deadline: &'static str,
    guard: Guard,
}

impl NameFailedCalls {
    pub fn new(
        server: http::Uri,
        timeout: Duration,
        deadline: &'static str,
        guard: Guard,
    ) -> NameFailedCalls {
        NameFailedCalls {
            server,
            timeout,
            deadline,
            guard,
        }
    }
}

impl<S> tower_layer::Layer<S> for NameFailedCalls {
    type Service = Named<S>;

    fn layer(&self, inner: S) -> Named<S> {
        Named {
            inner,
            names: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Named<S> {
    inner: S,
    names: NameFailedCalls,
}

impl<S, B> tower_service::Service<http::Request<B>> for Named<S>
where
    S: tower_service::Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // Below this layer the request holds only the path; the server comes from the config.
        let server = self.names.server.to_string();
        let call = format!(
            "{} {}{}",
            request.method(),
            server.trim_end_matches('/'),
            request.uri().path_and_query().map_or("", |p| p.as_str())
        );
        let (timeout, deadline) = (self.names.timeout, self.names.deadline);
        let allowed = match changes(request.method(), request.uri().path()) {
            true => self.names.guard.check(),
            false => Ok(()),
        };
        // A refused change is never handed to the inner service: nothing goes on the wire.
        let sent = allowed.map(|()| self.inner.call(request));
        Box::pin(async move {
            let response = match sent {
                Ok(response) => response,
                Err(refused) => {
                    let cause = Box::new(refused);
                    let call = FailedCall {
                        call,
                        timeout: None,
                        cause,
                    };
                    return Err(Box::new(call) as BoxError);
                }
            };
            response.await.map_err(|e| {
                let error: BoxError = e.into();
                if error.is::<kube::Error>() {
                    return error;
                }
                Box::new(FailedCall {
                    call,
                    timeout: timed_out(&*error).then_some((timeout, deadline)),
                    cause: error,
                }) as BoxError
            })
        })
    }
}

/// Whether a request changes the cluster (the Lease's own renewals aside, which keep the guard
/// open rather than pass through it).
fn changes(method: &http::Method, path: &str) -> bool {
    let read = matches!(*method, http::Method::GET | http::Method::HEAD);
    !read && !path.split('/').any(|segment| segment == "leases")
}

/// A call that got no answer: the call, and why.
#[derive(Debug)]
pub struct FailedCall {
    call: String,
    /// Set when the call ran out of time: the deadline it had, and what set it.
    timeout: Option<(Duration, &'static str)>,
    cause: BoxError,
}

impl FailedCall {
    /// The kind of failure: a deadline that fired, a change the shut guard kept back, or other.
    pub(super) fn class(&self) -> ErrorClass {
        if self.timeout.is_some() {
            ErrorClass::Timeout
        } else if self.cause.is::<crate::guard::NotHeld>() {
            ErrorClass::LeaseLost
        } else {
            ErrorClass::Other
        }
    }
}

impl fmt::Display for FailedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timeout {
            Some((t, deadline)) => write!(
                f,
                "{}: no answer within {} ({deadline})",
                self.call,
                // jiff's friendly form: 10s, 1m 30s.
                jiff::SignedDuration::try_from(t)
                    .map_or_else(|_| format!("{t:?}"), |d| format!("{d:#}"))
            ),
            None => {
                write!(f, "{}: {}", self.call, self.cause)?;
                let mut source = self.cause.source();
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
                Ok(())
            }
        }
    }
}

impl StdError for FailedCall {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.cause)
    }
}

/// Whether an I/O timeout is anywhere in the error's causes (hyper-timeout reports a read or
/// connect timeout as `io::ErrorKind::TimedOut`, a few layers down).
fn timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    // Bounded, in case some source() points back at itself.
    for _ in 0..16 {
        let Some(e) = current else { return false };
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("client error (SendRequest)")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_timeout_names_the_call_and_the_deadline() {
        let cause = Wrapper(std::io::ErrorKind::TimedOut.into());
        assert!(timed_out(&cause));
        let failed = FailedCall {
            call: "GET https://10.0.0.1/api/v1/pods?limit=500".into(),
            timeout: Some((Duration::from_secs(10), "--kube-timeout")),
            cause: Box::new(cause),
        };
        assert_eq!(
            failed.to_string(),
            "GET https://10.0.0.1/api/v1/pods?limit=500: no answer within 10s (--kube-timeout)"
        );
        let refused = FailedCall {
            call: "GET https://10.0.0.1/api".into(),
            timeout: None,
            cause: Box::new(Wrapper(std::io::ErrorKind::ConnectionRefused.into())),
        };
        assert!(!timed_out(&*refused.cause));
        let text = refused.to_string();
        assert!(
            text.starts_with("GET https://10.0.0.1/api: client error (SendRequest): "),
            "{text}"
        );
    }
}

//! A call to AWS or the Kubernetes API that failed, and the kind of failure: the vocabulary the
//! adapters (`aws`, `kubernetes`), the actuator and the metrics share, so it lives apart from
//! all of them.

use std::fmt;

/// The kind of a failure, from the AWS error code or the Kubernetes HTTP status: what a caller
/// (or an operator reading a metric) may do about it differs by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Slow down: AWS throttling, HTTP 429 outside an eviction.
    Throttled,
    NotFound,
    /// Somebody else changed it meanwhile, or a scaling activity is under way.
    Conflict,
    /// Credentials, IAM or RBAC.
    Forbidden,
    /// A deadline fired (`--kube-timeout`, `--aws-timeout`).
    Timeout,
    /// An eviction a PodDisruptionBudget does not allow.
    RefusedByPdb,
    /// The Lease is not held (long enough): nothing was sent.
    LeaseLost,
    Other,
}

impl ErrorClass {
    /// The label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::NotFound => "not-found",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::Timeout => "timeout",
            ErrorClass::RefusedByPdb => "refused-by-pdb",
            ErrorClass::LeaseLost => "lease-lost",
            ErrorClass::Other => "other",
        }
    }

    /// The class of a Kubernetes API answer with HTTP status `code`. A 429 on an eviction is
    /// a PodDisruptionBudget's refusal, not throttling.
    pub fn of_http(code: u16, eviction: bool) -> ErrorClass {
        match code {
            429 if eviction => ErrorClass::RefusedByPdb,
            429 => ErrorClass::Throttled,
            404 => ErrorClass::NotFound,
            409 => ErrorClass::Conflict,
            401 | 403 => ErrorClass::Forbidden,
            408 | 504 => ErrorClass::Timeout,
            _ => ErrorClass::Other,
        }
    }

    /// The class of an AWS error code (Auto Scaling and EC2 spell some alike), with its
    /// message for the one code AWS uses for several things.
    pub fn of_aws(code: &str, message: &str) -> ErrorClass {
        match code {
            "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "RequestThrottled" => {
                ErrorClass::Throttled
            }
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                ErrorClass::Forbidden
            }
            "ResourceInUse" | "ScalingActivityInProgress" | "ResourceContention" => {
                ErrorClass::Conflict
            }
            "InvalidInstanceID.NotFound" => ErrorClass::NotFound,
            "ValidationError" if message.to_ascii_lowercase().contains("not found") => {
                ErrorClass::NotFound
            }
            _ => ErrorClass::Other,
        }
    }
}

/// A failed call: its class, and the message an operator reads (what was being done, on what,
/// and what the server said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub class: ErrorClass,
    pub message: String,
}

impl CallError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> CallError {
        CallError {
            class,
            message: message.into(),
        }
    }

    /// The class the adapters gave a report (the first [`CallError`] among its causes), and
    /// its full text; `Other` when none is there.
    pub fn from_report(report: &color_eyre::Report) -> CallError {
        let class = report
            .chain()
            .find_map(|e| e.downcast_ref::<CallError>())
            .map_or(ErrorClass::Other, |e| e.class);
        CallError::new(class, format!("{report:#}"))
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}

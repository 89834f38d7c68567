//! ProvisioningRequests as the engine reads them: a queue's question "is there — or can there
//! be — room for all of these pods at once?", with the conditions already given in answer.

use jiff::Timestamp;

use super::Pod;

/// The provisioning classes ekas serves, named as cluster-autoscaler names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisioningClass {
    /// `check-capacity.autoscaling.x-k8s.io`: room there now (free or already requested);
    /// nothing is bought.
    CheckCapacity,
    /// `best-effort-atomic-scale-up.autoscaling.x-k8s.io`: nodes for every pod at once, or
    /// none.
    BestEffortAtomic,
    /// Another class (a cloud's queued provisioning): somebody else's to answer.
    Other(String),
}

impl ProvisioningClass {
    pub const CHECK_CAPACITY: &str = "check-capacity.autoscaling.x-k8s.io";
    pub const BEST_EFFORT_ATOMIC: &str = "best-effort-atomic-scale-up.autoscaling.x-k8s.io";

    pub fn parse(name: &str) -> ProvisioningClass {
        match name {
            Self::CHECK_CAPACITY => ProvisioningClass::CheckCapacity,
            Self::BEST_EFFORT_ATOMIC => ProvisioningClass::BestEffortAtomic,
            other => ProvisioningClass::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ProvisioningClass::CheckCapacity => Self::CHECK_CAPACITY,
            ProvisioningClass::BestEffortAtomic => Self::BEST_EFFORT_ATOMIC,
            ProvisioningClass::Other(name) => name,
        }
    }
}

/// One ProvisioningRequest.
#[derive(Debug, Clone)]
pub struct ProvisioningRequest {
    pub namespace: String,
    pub name: String,
    /// `metadata.generation`, echoed in the conditions ekas sets.
    pub generation: Option<i64>,
    pub created: Option<Timestamp>,
    pub class: ProvisioningClass,
    pub pod_sets: Vec<RequestedPods>,
    /// `status.conditions` as they are; ekas rewrites the list whole.
    pub conditions: Vec<RequestCondition>,
    /// `spec.parameters.noRetry` is `"true"`: the first "no" is final (`Failed`), so the queue
    /// retries on its own schedule rather than waiting on this request.
    pub no_retry: bool,
    /// Why its pods could not be made (a PodTemplate missing or unreadable).
    pub problem: Option<String>,
}

/// `count` pods like `pod` (its PodTemplate, read as a pending pod).
#[derive(Debug, Clone)]
pub struct RequestedPods {
    pub template: String,
    pub count: u32,
    pub pod: Option<Pod>,
}

/// A `metav1.Condition` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCondition {
    pub kind: String,
    pub status: bool,
    pub reason: String,
    pub message: String,
    pub last_transition: Timestamp,
    pub observed_generation: Option<i64>,
}

impl ProvisioningRequest {
    /// `namespace/name`, its name in every output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn condition(&self, kind: &str) -> Option<&RequestCondition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    /// The condition `kind` is there and true.
    pub fn is(&self, kind: &str) -> bool {
        self.condition(kind).is_some_and(|c| c.status)
    }

    /// Every pod the request is for.
    pub fn pod_count(&self) -> u32 {
        self.pod_sets.iter().map(|s| s.count).sum()
    }
}

/// The condition types of the API.
pub mod condition {
    pub const ACCEPTED: &str = "Accepted";
    pub const PROVISIONED: &str = "Provisioned";
    pub const FAILED: &str = "Failed";
    pub const BOOKING_EXPIRED: &str = "BookingExpired";
}

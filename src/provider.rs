//! The two providers ekas changes, as small traits in the shape of cluster-autoscaler's
//! `NodeGroup` and Karpenter's `CloudProvider`: a handful of calls each. The AWS clients
//! (`aws::scaling`) and the kube client (`kubernetes::write`) implement them as thin wrappers of
//! their functions; the actuator's unit tests implement them in memory.
//!
//! [`Gate`] is the one place a change is let through: the Lease is asked right before each
//! call, a dry run sends nothing, and every call is counted by kind and result. [`Guarded`]
//! puts a provider behind the gate, so code handed one (a drain, the actuator) cannot write
//! around it.

use std::fmt;
use std::future::Future;

use k8s_openapi::api::core::v1::Node;

use crate::call::{CallError, ErrorClass};
use crate::guard::Guard;
use crate::model::{Pod, RequestCondition};
use crate::plan::InstanceAction;

/// What a cordon did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cordon {
    Cordoned,
    /// Somebody had cordoned it already; ekas does not claim that cordon as its own.
    AlreadyUnschedulable,
}

/// What an uncordon did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncordon {
    Uncordoned,
    /// Cordoned by somebody else: left cordoned (safety invariant 4).
    NotOurs,
    NotCordoned,
}

/// The Eviction API's answer for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    Evicted,
    /// The pod was gone already.
    Gone,
    /// Refused for now (HTTP 429): a PodDisruptionBudget allows no disruption at the moment.
    Refused(String),
    /// Refused for good: the pod is under more than one PodDisruptionBudget, which the
    /// Eviction API does not support (HTTP 500).
    Impossible(String),
}

/// The writes to Auto Scaling groups. Each re-reads the group first, so MinSize and MaxSize
/// hold against the group as it is now.
pub trait GroupWriter: Sync {
    /// Raises desired capacity to `desired` (never above MaxSize, never down); the desired
    /// capacity afterwards.
    fn scale_up_to(
        &self,
        region: &str,
        group: &str,
        desired: u32,
    ) -> impl Future<Output = Result<u32, CallError>> + Send;

    /// Lowers desired capacity to `desired` after failed launches (never below MinSize nor
    /// the instances there are); the desired capacity afterwards.
    fn reset_desired(
        &self,
        region: &str,
        group: &str,
        desired: u32,
    ) -> impl Future<Output = Result<u32, CallError>> + Send;

    /// Terminates one instance; with `decrement` the group shrinks unless at MinSize. Whether
    /// it shrank.
    fn terminate(
        &self,
        region: &str,
        group: &str,
        instance: &str,
        decrement: bool,
    ) -> impl Future<Output = Result<bool, CallError>> + Send;

    /// Sets (`Some`) or removes (`None`) one tag on a group.
    fn tag(
        &self,
        region: &str,
        group: &str,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// The writes to the cluster, and the few reads an action makes right before acting.
pub trait ClusterWriter: Sync {
    fn cordon(
        &self,
        node: &str,
        claim: bool,
    ) -> impl Future<Output = Result<Cordon, CallError>> + Send;

    fn uncordon(&self, node: &str) -> impl Future<Output = Result<Uncordon, CallError>> + Send;

    /// Sets (`Some`) or removes (`None`) annotations on a node.
    fn annotate(
        &self,
        node: &str,
        annotations: &[(&str, Option<String>)],
    ) -> impl Future<Output = Result<(), CallError>> + Send;

    fn evict(
        &self,
        namespace: &str,
        pod: &str,
        grace_seconds: Option<u32>,
    ) -> impl Future<Output = Result<Eviction, CallError>> + Send;

    /// Sets (`Some`: since when) or removes (`None`) the consolidation mark: the
    /// `PreferNoSchedule` taint and its annotation.
    fn mark_consolidating(
        &self,
        node: &str,
        since: Option<jiff::Timestamp>,
    ) -> impl Future<Output = Result<(), CallError>> + Send;

    /// Deletes the Node object; one already gone counts as deleted.
    fn delete_node(&self, node: &str) -> impl Future<Output = Result<(), CallError>> + Send;

    /// Reads the node now.
    fn node(&self, node: &str) -> impl Future<Output = Result<Node, CallError>> + Send;

    /// Reads the pods bound to a node now (those matching `selector`, when given).
    fn pods_on(
        &self,
        node: &str,
        selector: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Pod>, CallError>> + Send;

    /// The Node that answers to an instance now, if any.
    fn node_for(
        &self,
        instance: &InstanceAction,
    ) -> impl Future<Output = Result<Option<String>, CallError>> + Send;

    /// Replaces a ProvisioningRequest's `status.conditions` with `conditions`.
    fn set_request_conditions(
        &self,
        namespace: &str,
        name: &str,
        conditions: &[RequestCondition],
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// One kind of change, as counted and named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    SetDesired,
    Terminate,
    Tag,
    Cordon,
    Uncordon,
    Annotate,
    /// The consolidation taint and annotation, set or removed.
    Taint,
    Evict,
    DeleteNode,
    /// CompleteLifecycleAction or RecordLifecycleActionHeartbeat on a group's lifecycle hook.
    LifecycleAction,
    /// A ProvisioningRequest's conditions.
    RequestStatus,
    /// A Kubernetes Event.
    Event,
    /// A Slack post.
    Slack,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::SetDesired => "set-desired",
            Change::Terminate => "terminate",
            Change::Tag => "tag",
            Change::Cordon => "cordon",
            Change::Uncordon => "uncordon",
            Change::Annotate => "annotate",
            Change::Taint => "taint",
            Change::Evict => "evict",
            Change::DeleteNode => "delete-node",
            Change::LifecycleAction => "lifecycle-action",
            Change::RequestStatus => "request-status",
            Change::Event => "event",
            Change::Slack => "slack",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets a change through, or not. Cloning shares the guard.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    guard: Guard,
    dry_run: bool,
}

impl Gate {
    pub fn new(guard: Guard, dry_run: bool) -> Gate {
        Gate { guard, dry_run }
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Whether the process is stopping, so no new action may begin (see [`Guard::stopping`]).
    pub fn stopping(&self) -> bool {
        self.guard.stopping()
    }

    /// Runs `call` (a change of kind `change` to `target`) if the Lease is held with margin
    /// now and this is no dry run; counts it either way. `call` is a future, so nothing of it
    /// runs unless let through.
    pub async fn call<T>(
        &self,
        change: Change,
        target: &str,
        call: impl Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        let result = match self.may_send() {
            Ok(()) => call.await,
            Err((class, why)) => Err(CallError::new(class, format!("{change} {target}: {why}"))),
        };
        crate::metrics::change(change.as_str(), result.as_ref().err().map(|e| e.class));
        result
    }

    fn may_send(&self) -> Result<(), (ErrorClass, String)> {
        if self.dry_run {
            // The actuator reports a dry run before it gets here; this is the backstop.
            return Err((ErrorClass::Other, "not sent: dry run".into()));
        }
        self.guard
            .check()
            .map_err(|refused| (ErrorClass::LeaseLost, refused.to_string()))
    }
}

/// A provider whose every write passes the [`Gate`]; reads pass as they are.
pub struct Guarded<'a, P> {
    inner: &'a P,
    gate: Gate,
}

impl<'a, P> Guarded<'a, P> {
    pub fn new(inner: &'a P, gate: Gate) -> Guarded<'a, P> {
        Guarded { inner, gate }
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }
}

impl<P: GroupWriter> GroupWriter for Guarded<'_, P> {
    async fn scale_up_to(&self, region: &str, group: &str, desired: u32) -> Result<u32, CallError> {
        let call = self.inner.scale_up_to(region, group, desired);
        self.gate.call(Change::SetDesired, group, call).await
    }

    async fn reset_desired(
        &self,
        region: &str,
        group: &str,
        desired: u32,
    ) -> Result<u32, CallError> {
        let call = self.inner.reset_desired(region, group, desired);
        self.gate.call(Change::SetDesired, group, call).await
    }

    async fn terminate(
        &self,
        region: &str,
        group: &str,
        instance: &str,
        decrement: bool,
    ) -> Result<bool, CallError> {
        let call = self.inner.terminate(region, group, instance, decrement);
        self.gate.call(Change::Terminate, instance, call).await
    }

    async fn tag(
        &self,
        region: &str,
        group: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), CallError> {
        let call = self.inner.tag(region, group, key, value);
        self.gate.call(Change::Tag, group, call).await
    }
}

impl<P: ClusterWriter> ClusterWriter for Guarded<'_, P> {
    async fn cordon(&self, node: &str, claim: bool) -> Result<Cordon, CallError> {
        let call = self.inner.cordon(node, claim);
        self.gate.call(Change::Cordon, node, call).await
    }

    async fn uncordon(&self, node: &str) -> Result<Uncordon, CallError> {
        let call = self.inner.uncordon(node);
        self.gate.call(Change::Uncordon, node, call).await
    }

    async fn annotate(
        &self,
        node: &str,
        annotations: &[(&str, Option<String>)],
    ) -> Result<(), CallError> {
        let call = self.inner.annotate(node, annotations);
        self.gate.call(Change::Annotate, node, call).await
    }

    async fn mark_consolidating(
        &self,
        node: &str,
        since: Option<jiff::Timestamp>,
    ) -> Result<(), CallError> {
        let call = self.inner.mark_consolidating(node, since);
        self.gate.call(Change::Taint, node, call).await
    }

    async fn evict(
        &self,
        namespace: &str,
        pod: &str,
        grace_seconds: Option<u32>,
    ) -> Result<Eviction, CallError> {
        let call = self.inner.evict(namespace, pod, grace_seconds);
        self.gate.call(Change::Evict, pod, call).await
    }

    async fn delete_node(&self, node: &str) -> Result<(), CallError> {
        let call = self.inner.delete_node(node);
        self.gate.call(Change::DeleteNode, node, call).await
    }

    async fn node(&self, node: &str) -> Result<Node, CallError> {
        self.inner.node(node).await
    }

    async fn pods_on(&self, node: &str, selector: Option<&str>) -> Result<Vec<Pod>, CallError> {
        self.inner.pods_on(node, selector).await
    }

    async fn node_for(&self, instance: &InstanceAction) -> Result<Option<String>, CallError> {
        self.inner.node_for(instance).await
    }

    async fn set_request_conditions(
        &self,
        namespace: &str,
        name: &str,
        conditions: &[RequestCondition],
    ) -> Result<(), CallError> {
        let call = self
            .inner
            .set_request_conditions(namespace, name, conditions);
        self.gate.call(Change::RequestStatus, name, call).await
    }
}

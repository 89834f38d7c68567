//! Applies the maintenance part of a plan: the node actions and the replacement of instances
//! that never joined. Each action is attempted and reported on its own; one failure never
//! stops the rest, and a dry run calls nothing that changes anything.
//!
//! A drain here is one step, not a wait: cordon, record `ekas/drain-started`, ask for every
//! eviction once. The next pass (a later `reap`, or the loop) sees the annotation, evicts
//! what is left, and terminates the node once only DaemonSet and mirror pods remain.

use std::time::Duration;

use jiff::Timestamp;

use super::drain::{DrainOptions, DrainReport, DrainResult, drain_node};
use super::outcome::{CallError, Done, ErrorClass, Outcome, Skip};
use super::{Actuator, Applied, AppliedKind, Parts, Step};
use crate::aws::RegionClients;
use crate::aws::scaling::Regions;
use crate::engine::scale_in::drain::{DrainPolicy, PodDrain, classify};
use crate::guard::Guard;
use crate::model::keys;
use crate::plan::{
    InstanceAction, InstanceActionKind, NodeAction, NodeActionKind, NodeState, Plan,
};
use crate::provider::{ClusterWriter, GroupWriter};

/// The real providers: the kube client and the AWS clients of every region.
pub struct Maintainer<'a> {
    pub kube: &'a kube::Client,
    pub aws: &'a [RegionClients],
    /// Shut while the Lease is not held with margin: no change goes then.
    pub guard: Guard,
    pub drain: DrainPolicy,
    pub dry_run: bool,
}

impl Maintainer<'_> {
    /// See [`Actuator::apply_parts`].
    pub async fn apply_parts(&self, plan: &Plan, parts: Parts) -> Vec<Applied> {
        let regions = Regions(self.aws);
        let actuator = Actuator::new(
            &regions,
            self.kube,
            self.guard.clone(),
            self.drain,
            self.dry_run,
        );
        actuator.apply_parts(plan, parts).await
    }
}

fn other(message: impl Into<String>) -> CallError {
    CallError::new(ErrorClass::Other, message)
}

impl<G: GroupWriter, C: ClusterWriter> Actuator<'_, G, C> {
    /// Every node and instance action but those of kind `skip` (applied already).
    pub(super) async fn apply_maintenance(
        &self,
        plan: &Plan,
        skip: Option<NodeActionKind>,
    ) -> Vec<Applied> {
        let mut out = Vec::new();
        for node in plan
            .nodes
            .iter()
            .filter(|n| n.action != NodeActionKind::None && Some(n.action) != skip)
        {
            out.push(self.apply_node(node, plan.captured_at).await);
        }
        for instance in plan
            .instances
            .iter()
            .filter(|i| i.action == InstanceActionKind::Replace)
        {
            let action = format!("replace instance ({})", instance.reason);
            let step = Step {
                kind: AppliedKind::ReplaceInstance,
                target: &instance.instance_id,
                region: &instance.region,
                would: action.clone(),
                action,
            };
            out.push(step.run(self.cluster.gate(), self.replace(instance)).await);
        }
        out
    }

    /// Replaces an instance that never joined — unless, looked up afresh, a Node answers to it
    /// now (safety invariant 6): then nothing happens.
    async fn replace(&self, instance: &InstanceAction) -> Outcome {
        let Some(group) = &instance.group else {
            return Outcome::Failed(other("not in a group"));
        };
        match self.cluster.node_for(instance).await {
            Ok(Some(node)) => return Outcome::Skipped(Skip::NodeAnswers { node }),
            Ok(None) => {}
            Err(e) => return Outcome::Failed(e),
        }
        let id = &instance.instance_id;
        let terminated = self.groups.terminate(&instance.region, group, id, false);
        terminated.await.map(|_| Done::Replaced).into()
    }

    pub(super) async fn apply_node(&self, node: &NodeAction, now: Timestamp) -> Applied {
        let mut action = node.action.as_str().to_string();
        if node.decrement {
            action.push_str(" (-1 desired)");
        }
        let step = Step {
            kind: AppliedKind::Node(node.action),
            target: &node.name,
            region: node.region.as_deref().unwrap_or_default(),
            would: format!("{action}: {}", node.reason),
            action,
        };
        let call = async { self.node_action(node, now).await.into() };
        step.run(self.cluster.gate(), call).await
    }

    async fn node_action(&self, node: &NodeAction, now: Timestamp) -> Result<Done, CallError> {
        let cluster = &self.cluster;
        let name = node.name.as_str();
        match node.action {
            NodeActionKind::None => Ok(Done::Nothing),
            NodeActionKind::MarkIdle => {
                let since = Some(now.to_string());
                cluster.annotate(name, &[(keys::IDLE_SINCE, since)]).await?;
                Ok(Done::IdleMarked { since: now })
            }
            NodeActionKind::ClearIdle => {
                cluster.annotate(name, &[(keys::IDLE_SINCE, None)]).await?;
                Ok(Done::IdleCleared)
            }
            NodeActionKind::Uncordon => {
                let result = cluster.uncordon(name).await?;
                cluster.annotate(name, &[(keys::IDLE_SINCE, None)]).await?;
                Ok(Done::Uncordoned(result))
            }
            NodeActionKind::Cordon => Ok(Done::Cordoned(cluster.cordon(name, true).await?)),
            NodeActionKind::Drain => {
                let options = DrainOptions {
                    policy: self.drain,
                    // One round of evictions; the next pass carries on.
                    timeout: Duration::ZERO,
                    claim: true,
                    ..DrainOptions::default()
                };
                let report = drain_node(cluster, name, &options, &()).await;
                drained(report)
            }
            NodeActionKind::Terminate => self.terminate(node, now).await,
            NodeActionKind::DeleteNode => {
                cluster.delete_node(name).await?;
                Ok(Done::NodeDeleted)
            }
            NodeActionKind::MarkInstanceNotFound => {
                let at = Some(now.to_string());
                cluster
                    .annotate(name, &[(keys::INSTANCE_NOT_FOUND_SINCE, at)])
                    .await?;
                Ok(Done::InstanceNotFoundMarked { since: now })
            }
            NodeActionKind::ClearInstanceNotFound => {
                cluster
                    .annotate(name, &[(keys::INSTANCE_NOT_FOUND_SINCE, None)])
                    .await?;
                Ok(Done::InstanceNotFoundCleared)
            }
            NodeActionKind::InterruptionDrain => {
                let report = drain_node(cluster, name, &interruption_drain(node, now), &()).await;
                for left in &report.remaining {
                    tracing::warn!(node = name, pod = %left.pod, why = %left.why, "not evicted; it goes with the instance");
                }
                drained(report)
            }
            NodeActionKind::Consolidate => {
                cluster.mark_consolidating(name, Some(now)).await?;
                Ok(Done::ConsolidationMarked)
            }
            NodeActionKind::ClearConsolidation => {
                cluster.mark_consolidating(name, None).await?;
                Ok(Done::ConsolidationCleared)
            }
            NodeActionKind::ClearInterruption => {
                // Only ekas's cordon is undone (invariant 4); the notice goes either way.
                let uncordoned = cluster.uncordon(name).await?;
                let cleared = keys::INTERRUPTION_MARKS.map(|k| (k, None));
                cluster.annotate(name, &cleared).await?;
                Ok(Done::InterruptionCleared(uncordoned))
            }
        }
    }
}

impl<G: GroupWriter, C: ClusterWriter> Actuator<'_, G, C> {
    /// The node's instance terminated (its group shrinking when the plan says so) and its Node
    /// deleted, once the node is read again and found safe to go.
    async fn terminate(&self, node: &NodeAction, now: Timestamp) -> Result<Done, CallError> {
        let (Some(group), Some(region), Some(instance)) =
            (&node.group, &node.region, &node.instance_id)
        else {
            return Err(other("no group or instance known for this node"));
        };
        let name = node.name.as_str();
        let dead = node.state == NodeState::Dead;
        safe_to_terminate(&self.cluster, name, dead, &self.drain, now).await?;
        self.groups
            .terminate(region, group, instance, node.decrement)
            .await?;
        self.cluster.delete_node(name).await?;
        Ok(Done::Terminated {
            instance: instance.clone(),
        })
    }
}

/// One round of a drain, as an action's result: drained, still draining, or failed.
fn drained(report: DrainReport) -> Result<Done, CallError> {
    match report.result {
        DrainResult::Drained => Ok(Done::Drained),
        DrainResult::TimedOut => Ok(Done::Draining {
            evicted: report.evicted.len(),
            left: report.remaining.len(),
        }),
        _ => Err(CallError::new(
            report.error_class.unwrap_or(ErrorClass::Other),
            report.summary(),
        )),
    }
}

/// A kubelet that reported this recently is alive, whatever the cached Node said.
const RECENT_HEARTBEAT: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// A node planned as dead, read again right before its termination: the plan may rest on a
/// cached Node the watch had not updated. Ready again, or a kubelet that reported lately,
/// means it is not dead (a conflict: a later pass decides again).
fn still_dead(node: &k8s_openapi::api::core::v1::Node, now: Timestamp) -> Result<(), CallError> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let conflict = |why: String| {
        Err(CallError::new(
            ErrorClass::Conflict,
            format!("not terminated: {why}; a later pass decides again"),
        ))
    };
    let Some(ready) = ready else { return Ok(()) };
    if ready.status == "True" {
        return conflict("it is Ready again".into());
    }
    if let Some(beat) = ready.last_heartbeat_time.as_ref().map(|t| t.0) {
        let ago = now.duration_since(beat);
        if ago < RECENT_HEARTBEAT {
            return conflict(format!(
                "its kubelet reported {}s ago",
                ago.as_secs().max(0)
            ));
        }
    }
    Ok(())
}

/// One round of an interruption's drain: whatever may move, running jobs included, each pod's
/// grace cut to end before the change is due; pods that may never move are left to go with the
/// instance, and do not stop the rest.
fn interruption_drain(node: &NodeAction, now: Timestamp) -> DrainOptions {
    const MARGIN: i64 = 15;
    let grace = node.interruption_due.map(|due| {
        let left = due.duration_since(now).as_secs() - MARGIN;
        u32::try_from(left.max(1)).unwrap_or(u32::MAX)
    });
    DrainOptions {
        policy: DrainPolicy {
            min_pod_age: jiff::SignedDuration::ZERO,
            evict_unmanaged: true,
            evict_local_storage: true,
            evict_host_path: true,
            evict_running_jobs: true,
        },
        // One round a pass; the next carries on.
        timeout: Duration::ZERO,
        termination_grace_seconds: grace,
        best_effort: true,
        claim: true,
        ..DrainOptions::default()
    }
}

/// The plan is a moment old: a pod may have landed since (one that tolerates the cordon, or one
/// bound before the cordon took effect). Looks again right before the point of no return: an
/// idle node must still be idle, and no node — dead ones included — may run a pod that must
/// stay. Such a pod is a conflict: the node changed since the plan.
pub async fn safe_to_terminate(
    cluster: &impl ClusterWriter,
    node: &str,
    dead: bool,
    policy: &DrainPolicy,
    now: Timestamp,
) -> Result<(), CallError> {
    if dead {
        still_dead(&cluster.node(node).await?, now)?;
    }
    for pod in &cluster.pods_on(node, None).await? {
        let verdict = classify(pod, policy, now);
        let arrived = !dead && verdict == PodDrain::Evict;
        let held = match &verdict {
            PodDrain::Block(b) => !dead || b.holds_dead_node(),
            _ => false,
        };
        if arrived || held {
            return Err(CallError::new(
                ErrorClass::Conflict,
                format!(
                    "not terminated: it now runs {}; a later pass decides again",
                    pod.key()
                ),
            ));
        }
    }
    Ok(())
}

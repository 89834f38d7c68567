//! Applies the maintenance part of a plan: the node actions and the replacement of instances
//! that never joined. Each action is attempted and reported on its own; one failure never
//! stops the rest, and `dry_run` calls nothing that changes anything.
//!
//! A drain here is one step, not a wait: cordon, record `ekas/drain-started`, ask for every
//! eviction once. The next pass (a later `reap`, or the loop) sees the annotation, evicts
//! what is left, and terminates the node once only DaemonSet and mirror pods remain.

use std::time::Duration;

use jiff::Timestamp;

use super::drain::{DrainOptions, DrainResult, drain_node, node_pods};
use super::{Applied, AppliedKind, Outcome, Parts, apply_scale_up, clients_for};
use crate::aws::{RegionClients, scaling};
use crate::engine::drain::DrainPolicy;
use crate::engine::drain::{PodDrain, classify};
use crate::kubernetes::read;
use crate::kubernetes::write::{self, Cordon, Uncordon};
use crate::model::keys;
use crate::plan::{
    InstanceAction, InstanceActionKind, NodeAction, NodeActionKind, NodeState, Plan,
};

pub struct Maintainer<'a> {
    pub kube: &'a kube::Client,
    pub aws: &'a [RegionClients],
    pub drain: DrainPolicy,
    pub dry_run: bool,
}

impl Maintainer<'_> {
    /// Applies the chosen halves of a plan. The scale-up half first uncordons the nodes the
    /// plan reclaims for pending pods, then sets desired capacities; the maintenance half is
    /// every other node and instance action (uncordons too, when it runs alone).
    pub async fn apply_parts(&self, plan: &Plan, parts: Parts) -> Vec<Applied> {
        let Parts {
            scale_up,
            maintenance,
        } = parts;
        let mut out = Vec::new();
        if scale_up {
            for node in plan
                .nodes
                .iter()
                .filter(|n| n.action == NodeActionKind::Uncordon)
            {
                out.push(self.apply_node(node, plan.captured_at).await);
            }
            out.extend(apply_scale_up(plan, self.aws, self.dry_run).await);
        }
        if maintenance {
            let skip = scale_up.then_some(NodeActionKind::Uncordon);
            out.extend(self.apply_except(plan, skip).await);
        }
        out
    }

    /// Every node and instance action but those of kind `skip` (applied already).
    async fn apply_except(&self, plan: &Plan, skip: Option<NodeActionKind>) -> Vec<Applied> {
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
            let outcome = match (self.dry_run, &instance.group) {
                (true, _) => Outcome::WouldDo(action.clone()),
                (false, None) => Outcome::Failed("not in a group".into()),
                (false, Some(group)) => self.replace(instance, group).await,
            };
            tracing::info!(instance = %instance.instance_id, %outcome, "maintenance");
            out.push(Applied {
                kind: AppliedKind::ReplaceInstance,
                target: instance.instance_id.clone(),
                region: instance.region.clone(),
                action,
                outcome,
            });
        }
        out
    }

    /// Replaces an instance that never joined — unless, looked up afresh, a Node answers to it
    /// now (safety invariant 6): then nothing happens.
    async fn replace(&self, instance: &InstanceAction, group: &str) -> Outcome {
        match node_claiming(self.kube, instance).await {
            Ok(Some(node)) => {
                return Outcome::Skipped(format!(
                    "Node {node} answers to this instance now; a later pass decides again"
                ));
            }
            Ok(None) => {}
            Err(e) => return Outcome::Failed(format!("{e:#}")),
        }
        match self
            .terminate(&instance.region, group, &instance.instance_id, false)
            .await
        {
            Ok(()) => Outcome::Done("terminated; the group launches a replacement".into()),
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn apply_node(&self, node: &NodeAction, now: Timestamp) -> Applied {
        let kind = node.action;
        let mut action = kind.as_str().to_string();
        if node.decrement {
            action.push_str(" (-1 desired)");
        }
        let outcome = if self.dry_run {
            Outcome::WouldDo(format!("{action}: {}", node.reason))
        } else {
            match self.node_action(node, now).await {
                Ok(done) => Outcome::Done(done),
                Err(e) => Outcome::Failed(e),
            }
        };
        tracing::info!(node = %node.name, state = node.state.as_str(), %action, %outcome, "maintenance");
        Applied {
            kind: AppliedKind::Node(node.action),
            target: node.name.clone(),
            region: node.region.clone().unwrap_or_default(),
            action,
            outcome,
        }
    }

    async fn node_action(&self, node: &NodeAction, now: Timestamp) -> Result<String, String> {
        let kube = self.kube;
        let name = node.name.as_str();
        let err = |e: color_eyre::Report| format!("{e:#}");
        match node.action {
            NodeActionKind::None => Ok("nothing to do".into()),
            NodeActionKind::MarkIdle => {
                write::annotate(kube, name, &[(keys::IDLE_SINCE, Some(now.to_string()))])
                    .await
                    .map_err(err)?;
                Ok(format!("idle since {now}"))
            }
            NodeActionKind::ClearIdle => {
                write::annotate(kube, name, &[(keys::IDLE_SINCE, None)])
                    .await
                    .map_err(err)?;
                Ok("in use again".into())
            }
            NodeActionKind::Uncordon => {
                let result = write::uncordon(kube, name).await.map_err(err)?;
                write::annotate(kube, name, &[(keys::IDLE_SINCE, None)])
                    .await
                    .map_err(err)?;
                Ok(match result {
                    Uncordon::Uncordoned => "uncordoned".into(),
                    Uncordon::NotOurs => "left cordoned: cordoned by somebody else".into(),
                    Uncordon::NotCordoned => "already schedulable".into(),
                })
            }
            NodeActionKind::Cordon => {
                Ok(match write::cordon(kube, name, true).await.map_err(err)? {
                    Cordon::Cordoned => "cordoned".into(),
                    Cordon::AlreadyUnschedulable => "already cordoned".into(),
                })
            }
            NodeActionKind::Drain => {
                let options = DrainOptions {
                    policy: self.drain,
                    // One round of evictions; the next pass carries on.
                    timeout: Duration::ZERO,
                    claim: true,
                    ..DrainOptions::default()
                };
                let report = drain_node(kube, name, &options, &()).await;
                match report.result {
                    DrainResult::Drained => Ok("drained; terminated on the next pass".into()),
                    DrainResult::TimedOut => Ok(format!(
                        "draining: {} evicted, {} pod(s) left",
                        report.evicted.len(),
                        report.remaining.len()
                    )),
                    _ => Err(report.summary()),
                }
            }
            NodeActionKind::Terminate => {
                let (Some(group), Some(region), Some(instance)) =
                    (&node.group, &node.region, &node.instance_id)
                else {
                    return Err("no group or instance known for this node".into());
                };
                let dead = node.state == NodeState::Dead;
                safe_to_terminate(kube, name, dead, &self.drain, now).await?;
                self.terminate(region, group, instance, node.decrement)
                    .await?;
                write::delete_node(kube, name).await.map_err(err)?;
                Ok(format!("instance {instance} terminated, node deleted"))
            }
            NodeActionKind::DeleteNode => {
                write::delete_node(kube, name).await.map_err(err)?;
                Ok("node deleted".into())
            }
            NodeActionKind::MarkInstanceNotFound => {
                let at = Some(now.to_string());
                write::annotate(kube, name, &[(keys::INSTANCE_NOT_FOUND_SINCE, at)])
                    .await
                    .map_err(err)?;
                Ok(format!("EC2 does not know its instance, as of {now}"))
            }
            NodeActionKind::ClearInstanceNotFound => {
                write::annotate(kube, name, &[(keys::INSTANCE_NOT_FOUND_SINCE, None)])
                    .await
                    .map_err(err)?;
                Ok("EC2 knows its instance again".into())
            }
        }
    }

    async fn terminate(
        &self,
        region: &str,
        group: &str,
        instance: &str,
        decrement: bool,
    ) -> Result<(), String> {
        let clients = clients_for(self.aws, region)
            .ok_or_else(|| format!("no AWS client for region {region}"))?;
        scaling::terminate_instance(clients, group, instance, decrement)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    }
}

/// The plan is a moment old: a pod may have landed since (one that tolerates the cordon, or one
/// bound before the cordon took effect). Looks again right before the point of no return: an
/// idle node must still be idle, and no node — dead ones included — may run a pod that must stay.
pub async fn safe_to_terminate(
    kube: &kube::Client,
    node: &str,
    dead: bool,
    policy: &DrainPolicy,
    now: Timestamp,
) -> Result<(), String> {
    let pods = node_pods(kube, node, None)
        .await
        .map_err(|e| format!("{e:#}"))?;
    for pod in &pods {
        let verdict = classify(pod, policy, now);
        let arrived = !dead && verdict == PodDrain::Evict;
        let held = match &verdict {
            PodDrain::Block(b) => !dead || b.holds_dead_node(),
            _ => false,
        };
        if arrived || held {
            return Err(format!(
                "not terminated: it now runs {}; a later pass decides again",
                pod.key()
            ));
        }
    }
    Ok(())
}

/// The Node that answers to `instance` now, if any: looked up by the names its Node would have
/// (the private DNS name, its host part, the IP) and by the original tool's `aws/id` label.
async fn node_claiming(
    kube: &kube::Client,
    instance: &InstanceAction,
) -> color_eyre::Result<Option<String>> {
    let mut names: Vec<&str> = Vec::new();
    if let Some(dns) = instance.private_dns.as_deref() {
        names.push(dns);
        names.extend(dns.split('.').next().filter(|host| *host != dns));
    }
    names.extend(instance.private_ip.as_deref());
    for name in names {
        if read::node_if_exists(kube, name).await?.is_some() {
            return Ok(Some(name.to_string()));
        }
    }
    let labelled =
        read::nodes_labelled(kube, &format!("{}={}", keys::AWS_ID, instance.instance_id)).await?;
    Ok(labelled.into_iter().find_map(|n| n.metadata.name))
}

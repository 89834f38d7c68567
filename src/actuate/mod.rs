//! Carries out parts of a [`Plan`] through one boundary. Every change goes through a provider
//! ([`crate::provider::GroupWriter`] for the Auto Scaling groups, [`crate::provider::ClusterWriter`] for the
//! cluster) behind the [`crate::provider::Gate`], which asks the Lease right before each call; this
//! module reports a dry run without calling anything, and logs, counts and types what became
//! of each action ([`Outcome`]). Every action is attempted: a failed one never stops the rest.

pub mod drain;
pub mod maintenance;
pub mod outcome;

#[cfg(test)]
mod tests;

use std::future::Future;

use crate::provider::{ClusterWriter, Gate, GroupWriter, Guarded};
pub use outcome::{CallError, Done, ErrorClass, Outcome, Skip};

use crate::aws::RegionClients;
use crate::aws::scaling::Regions;
use crate::engine::scale_in::drain::DrainPolicy;
use crate::guard::Guard;
use crate::metrics::metrics;
use crate::plan::{NodeActionKind, Plan};

/// Which parts of a plan to apply: `scale-up` applies one, `reap` the other, `run` both (or
/// one, with `--no-scale` / `--no-maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub scale_up: bool,
    pub maintenance: bool,
}

/// What kind of action an [`Applied`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliedKind {
    ScaleUp,
    DesiredReset,
    /// A tag set or removed on a group (`groupMarks[]`).
    GroupMark,
    Node(NodeActionKind),
    ReplaceInstance,
    /// A ProvisioningRequest's conditions (`provisioningRequests[].set`).
    RequestStatus,
}

/// One action and how it went.
#[derive(Debug, Clone)]
pub struct Applied {
    pub kind: AppliedKind,
    /// What was acted on: a group, a node or an instance.
    pub target: String,
    pub region: String,
    pub action: String,
    pub outcome: Outcome,
}

impl AppliedKind {
    /// The label in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliedKind::ScaleUp => "scale-up",
            AppliedKind::DesiredReset => "desired-reset",
            AppliedKind::GroupMark => "group-mark",
            AppliedKind::ReplaceInstance => "replace-instance",
            AppliedKind::RequestStatus => "request-status",
            AppliedKind::Node(kind) => kind.as_str(),
        }
    }
}

/// Applies a plan to the two providers, each behind one gate.
pub struct Actuator<'a, G, C> {
    groups: Guarded<'a, G>,
    cluster: Guarded<'a, C>,
    drain: DrainPolicy,
}

impl<'a, G: GroupWriter, C: ClusterWriter> Actuator<'a, G, C> {
    /// Changes go only while `guard` is open (the Lease is held with margin); with `dry_run`,
    /// none go at all.
    pub fn new(
        groups: &'a G,
        cluster: &'a C,
        guard: Guard,
        drain: DrainPolicy,
        dry_run: bool,
    ) -> Self {
        let gate = Gate::new(guard, dry_run);
        Actuator {
            groups: Guarded::new(groups, gate.clone()),
            cluster: Guarded::new(cluster, gate),
            drain,
        }
    }

    /// Applies the chosen halves of a plan. The scale-up half first uncordons the nodes the
    /// plan reclaims for pending pods, then sets desired capacities; the maintenance half is
    /// every other node and instance action (uncordons too, when it runs alone).
    pub async fn apply_parts(&self, plan: &Plan, parts: Parts) -> Vec<Applied> {
        let mut out = Vec::new();
        if parts.scale_up {
            for node in plan
                .nodes
                .iter()
                .filter(|n| n.action == NodeActionKind::Uncordon)
            {
                out.push(self.apply_node(node, plan.captured_at).await);
            }
            out.extend(scale_up_half(&self.groups, plan).await);
        }
        if parts.maintenance {
            let skip = parts.scale_up.then_some(NodeActionKind::Uncordon);
            out.extend(self.apply_maintenance(plan, skip).await);
        }
        // Last: a request's answer may rest on the scale-ups, and a booking that ran out
        // is said whichever half runs.
        let answers = answer_requests(&self.cluster, plan, &out, parts.scale_up);
        out.extend(answers.await);
        out
    }
}

/// When each removal the scale-in budget counts was done: node actions the plan charged
/// (drains begun, terminations of nodes ekas did not drain) and replacements of instances,
/// once they went through.
pub fn removals_done(
    plan: &Plan,
    applied: &[Applied],
    at: jiff::Timestamp,
) -> Vec<jiff::Timestamp> {
    let charged: std::collections::HashSet<&str> = plan
        .nodes
        .iter()
        .filter(|n| n.charged)
        .map(|n| n.name.as_str())
        .collect();
    applied
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Done(_)))
        .filter(|a| match a.kind {
            AppliedKind::Node(_) => charged.contains(a.target.as_str()),
            AppliedKind::ReplaceInstance => true,
            _ => false,
        })
        .map(|_| at)
        .collect()
}

/// Applies the AWS half of the scale-up part through the real clients, while `guard` is open.
pub async fn apply_scale_up(
    plan: &Plan,
    clients: &[RegionClients],
    guard: Guard,
    dry_run: bool,
) -> Vec<Applied> {
    let regions = Regions(clients);
    let groups = Guarded::new(&regions, Gate::new(guard, dry_run));
    scale_up_half(&groups, plan).await
}

/// ekas's marks on groups, desired capacities set back after failed launches, then raised for
/// the pending pods.
async fn scale_up_half<G: GroupWriter>(groups: &Guarded<'_, G>, plan: &Plan) -> Vec<Applied> {
    let gate = groups.gate();
    let mut out = Vec::new();
    for mark in &plan.group_marks {
        let action = match &mark.value {
            Some(value) => format!("tag {}={value} ({})", mark.tag, mark.reason),
            None => format!("remove tag {} ({})", mark.tag, mark.reason),
        };
        let call = async {
            let value = mark.value.as_deref();
            let tagged = groups.tag(&mark.region, &mark.group, &mark.tag, value);
            tagged.await.map(|()| Done::Tagged).into()
        };
        let step = Step {
            kind: AppliedKind::GroupMark,
            target: &mark.group,
            region: &mark.region,
            would: action.clone(),
            action,
        };
        out.push(step.run(gate, call).await);
    }
    for reset in &plan.desired_resets {
        let action = format!(
            "set desired {} → {} ({})",
            reset.current_desired, reset.new_desired, reset.reason
        );
        let call = async {
            let set = groups.reset_desired(&reset.region, &reset.group, reset.new_desired);
            set.await.map(|now| Done::DesiredSet { now }).into()
        };
        let step = Step {
            kind: AppliedKind::DesiredReset,
            target: &reset.group,
            region: &reset.region,
            would: action.clone(),
            action,
        };
        out.push(step.run(gate, call).await);
    }
    for up in &plan.scale_ups {
        let action = format!(
            "raise desired {} → {} for {}",
            up.current_desired,
            up.new_desired,
            up.for_whom()
        );
        let call = async {
            let set = groups.scale_up_to(&up.region, &up.group, up.new_desired);
            set.await.map(|now| Done::DesiredSet { now }).into()
        };
        let step = Step {
            kind: AppliedKind::ScaleUp,
            target: &up.group,
            region: &up.region,
            would: action.clone(),
            action,
        };
        out.push(step.run(gate, call).await);
    }
    out
}

/// Writes the conditions the plan sets on ProvisioningRequests. A request answered with new
/// nodes gets `Provisioned=True` only once every scale-up for it went through (and not at all
/// when the scale-up half did not run, `scaled` false): otherwise it is asked again next
/// pass, and a queue never admits a workload on nodes not requested.
async fn answer_requests<C: ClusterWriter>(
    cluster: &Guarded<'_, C>,
    plan: &Plan,
    done: &[Applied],
    scaled: bool,
) -> Vec<Applied> {
    let gate = cluster.gate();
    let mut out = Vec::new();
    let answered = plan
        .provisioning_requests
        .iter()
        .filter(|r| !r.set.is_empty() && (scaled || r.groups.is_empty()));
    for request in answered {
        let (namespace, name) = request
            .request
            .split_once('/')
            .unwrap_or(("default", request.request.as_str()));
        let action = format!("set {}", request.sets());
        let failed_for_it = done.iter().find(|a| {
            a.kind == AppliedKind::ScaleUp
                && a.outcome.failed()
                && request.groups.contains(&a.target)
        });
        let step = Step {
            kind: AppliedKind::RequestStatus,
            target: &request.request,
            region: "",
            would: action.clone(),
            action,
        };
        if let Some(failed) = failed_for_it {
            let skip = Skip::ScaleUpFailed {
                group: failed.target.clone(),
            };
            out.push(step.run(gate, async { Outcome::Skipped(skip) }).await);
            continue;
        }
        let call = async {
            let set = cluster.set_request_conditions(namespace, name, &request.conditions);
            set.await.map(|()| Done::ConditionsSet).into()
        };
        out.push(step.run(gate, call).await);
    }
    out
}

/// One action about to be taken.
struct Step<'a> {
    kind: AppliedKind,
    target: &'a str,
    region: &'a str,
    /// The action, for the table.
    action: String,
    /// What a dry run reports.
    would: String,
}

impl Step<'_> {
    /// Reports a dry run, skips the action when the process is stopping, or runs `call`
    /// (nothing of which runs otherwise); logs and counts the outcome. Once begun, an action
    /// runs to its end: a stop request is only looked at here.
    async fn run(self, gate: &Gate, call: impl Future<Output = Outcome>) -> Applied {
        let outcome = if gate.dry_run() {
            Outcome::WouldDo(self.would)
        } else if gate.stopping() {
            Outcome::Skipped(Skip::Stopping)
        } else {
            call.await
        };
        tracing::info!(on = self.target, region = self.region, action = %self.action, %outcome, "applied");
        let applied = Applied {
            kind: self.kind,
            target: self.target.to_string(),
            region: self.region.to_string(),
            action: self.action,
            outcome,
        };
        count(&applied);
        applied
    }
}

/// Counts one action by kind and result (and a scale-up by group).
fn count(a: &Applied) {
    let m = metrics();
    let result = a.outcome.result();
    let group = vec![("group", a.target.clone())];
    match (a.kind, &a.outcome) {
        (AppliedKind::ScaleUp, Outcome::Done(_)) => m.scale_ups.get_or_create(&group).inc(),
        (AppliedKind::ScaleUp, Outcome::Failed(_)) => {
            m.scale_up_failures.get_or_create(&group).inc()
        }
        _ => 0,
    };
    let labels = vec![
        ("action", a.kind.as_str().into()),
        ("result", result.into()),
    ];
    m.actions.get_or_create(&labels).inc();
}

//! The node state machine: each node's state, and at most one action, on its own facts —
//! the brakes come after ([`super::brakes`]).

use jiff::{SignedDuration, Timestamp};

use super::facts::{Facts, Obstacle};
use super::idle_threshold::GroupThreshold;
use super::jobs::WaitingJobs;
use super::{Decided, INTERRUPTION_PASSED, MaintenanceConfig, NOT_FOUND_CONFIRMATION};
use crate::duration::human;
use crate::engine::capacity::startup::Startup;
use crate::engine::scale_up::predicates::NodeShape;
use crate::model::{InterruptionMark, Node, NodeGroup};
use crate::plan::{NodeActionKind, NodeState};

/// A node with an interruption notice recorded on it: cordoned while its pods finish, drained
/// (jobs included) once the change is within the drain time, terminated once drained, released
/// when a hint had no follow-up or the change passed with the node Ready. `None` for an idle
/// node still cordoned for a notice: scale-in removes it as any idle node ekas cordoned (a
/// hint's may also be reused for pending pods).
pub(super) fn interrupted(
    f: &Facts<'_>,
    mark: &InterruptionMark,
    config: &MaintenanceConfig,
    now: Timestamp,
) -> Option<(NodeState, NodeActionKind, String)> {
    use NodeActionKind as A;
    let node = f.node;
    let kind = &mark.kind;
    let released = |why: String| Some((NodeState::Interrupted, A::ClearInterruption, why));
    let noticed = now.duration_since(mark.noticed);
    if mark.is_hint() && noticed >= config.rebalance_cordon_ttl && node.ready {
        return released(format!("{kind} {} ago, not followed up", human(noticed)));
    }
    if let Some(due) = mark.due {
        let left = due.duration_since(now);
        if -left >= INTERRUPTION_PASSED && node.ready {
            return released(format!("{kind} was due at {due}; the node is Ready"));
        }
        if left <= config.interruption_drain_time {
            return Some(match f.workload.is_empty() {
                true => (
                    NodeState::Interrupted,
                    A::Terminate,
                    format!("drained ahead of the {kind} due at {due}"),
                ),
                false => (
                    NodeState::Interrupted,
                    A::InterruptionDrain,
                    format!("{kind} due at {due}: {} pod(s) to move", f.workload.len()),
                ),
            });
        }
    }
    let due = mark.due.map_or(String::new(), |d| format!(" due at {d}"));
    if !node.unschedulable {
        return Some((NodeState::Interrupted, A::Cordon, format!("{kind}{due}")));
    }
    if !f.workload.is_empty() {
        return Some((
            NodeState::Interrupted,
            A::None,
            format!(
                "cordoned for the {kind}{due}; its {} pod(s) finish",
                f.workload.len()
            ),
        ));
    }
    None
}

/// Whether this pass's scale-up sends anything to an idle node.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wanted<'a> {
    No,
    /// A pending pod goes there.
    Pending,
    /// It holds room a ProvisioningRequest (named) checked for or booked.
    Booked(&'a str),
}

pub(super) fn since(now: Timestamp, then: Option<Timestamp>) -> Option<SignedDuration> {
    then.map(|t| now.duration_since(t))
}

/// The state of a node on its own; the brakes and spares are applied afterwards. A stale
/// `ekas/instance-not-found-since` is removed when nothing else is to be done.
pub(super) fn state_of(
    f: &Facts<'_>,
    config: &MaintenanceConfig,
    now: Timestamp,
    wanted: Wanted<'_>,
    waiting: &WaitingJobs<'_>,
    threshold: Option<&GroupThreshold>,
) -> (NodeState, NodeActionKind, String) {
    let decided = node_state(f, config, now, wanted, waiting, threshold);
    let not_found = f.instance.is_some_and(|i| i.is_not_found()) && f.group.is_none();
    match decided {
        (state, NodeActionKind::None, reason)
            if f.node.marks.instance_not_found_since.is_some() && !not_found =>
        {
            (state, NodeActionKind::ClearInstanceNotFound, reason)
        }
        decided => decided,
    }
}

/// The ladder of a node's states: the first rule that holds decides — left alone, not ekas's,
/// interrupted, protected, dead, starting, draining, in its launch grace, busy, idle.
pub(super) fn node_state(
    f: &Facts<'_>,
    config: &MaintenanceConfig,
    now: Timestamp,
    wanted: Wanted<'_>,
    waiting: &WaitingJobs<'_>,
    threshold: Option<&GroupThreshold>,
) -> Decided {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    if let Some(decided) = left_alone(f) {
        return decided;
    }
    let (Some(group), Some(threshold)) = (f.group, threshold) else {
        if let Some(instance) = f.instance.filter(|i| i.is_not_found()) {
            return not_found(node, &instance.id, now);
        }
        return (
            S::Unmanaged,
            A::None,
            "not in a node group ekas manages".into(),
        );
    };
    let down = since(now, node.ready_changed.or(node.created));
    let dead = !node.ready && down.is_some_and(|d| d >= config.dead_threshold);
    if let (Some(mark), false) = (&node.marks.interruption, dead)
        && let Some(decided) = interrupted(f, mark, config, now)
    {
        return decided;
    }
    if f.protected {
        return (
            S::ScaleInProtected,
            A::None,
            "instance protected from scale-in (--respect-scale-in-protection)".into(),
        );
    }
    if dead {
        return match f.blocked(true) {
            Some(blocked) => (S::Dead, A::None, format!("NotReady, but {blocked}")),
            None => (
                S::Dead,
                A::Terminate,
                format!("NotReady for {}", human(down.unwrap_or_default())),
            ),
        };
    }
    if let Startup::Starting(why) = f.startup {
        return (S::Starting, A::None, why.clone());
    }
    if let Some(decided) = draining(f) {
        return decided;
    }
    let age = since(now, node.created);
    if age.is_some_and(|a| a < config.launch_grace) {
        return (
            S::LaunchGrace,
            A::None,
            format!("joined {} ago", human(age.unwrap_or_default())),
        );
    }
    if f.workload.is_empty() {
        idle(f, group, now, wanted, waiting, threshold)
    } else {
        busy(f, config, now)
    }
}

/// Nodes ekas leaves alone whatever else holds: detached, unreadable, scale-down disabled, or
/// whose instance EC2 says is gone.
fn left_alone(f: &Facts<'_>) -> Option<Decided> {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    if node.marks.detached {
        return Some((S::Detached, A::None, "labelled detached".into()));
    }
    if node.unreadable {
        return Some((
            S::Unreadable,
            A::None,
            "its allocatable or taints could not be read (see the plan's warnings)".into(),
        ));
    }
    if node.marks.scale_down_disabled {
        return Some((
            S::ScaleDownDisabled,
            A::None,
            "annotated cluster-autoscaler.kubernetes.io/scale-down-disabled".into(),
        ));
    }
    let instance = f.instance.filter(|i| i.is_gone())?;
    // A kubelet still reporting Ready contradicts EC2: wait until they agree.
    Some(if node.ready {
        (
            S::InstanceTerminated,
            A::None,
            format!(
                "EC2 says instance {} is {}, but the Node is Ready",
                instance.id, instance.state
            ),
        )
    } else {
        (
            S::InstanceTerminated,
            A::DeleteNode,
            "its instance is terminated".into(),
        )
    })
}

/// A node ekas cordoned and drains: terminated once empty, the drain given up on a lasting
/// obstacle, waiting on a passing one, else continued.
fn draining(f: &Facts<'_>) -> Option<Decided> {
    use NodeActionKind as A;
    use NodeState as S;
    let marks = &f.node.marks;
    let drained_by_ekas = marks.drain_started.is_some() || marks.drained_at.is_some();
    if !(drained_by_ekas && f.node.unschedulable && marks.cordoned_by_ekas) {
        return None;
    }
    if f.workload.is_empty() {
        return Some((S::IdleUnschedulable, A::Terminate, "drained by ekas".into()));
    }
    if f.obstacles.iter().any(Obstacle::lasting) {
        // Waiting would leave the node cordoned and draining for good.
        return Some((
            S::Draining,
            A::Uncordon,
            format!("drain given up: {}", f.blocked(false).unwrap_or_default()),
        ));
    }
    if let Some(blocked) = f.blocked(false) {
        return Some((S::Draining, A::None, format!("drain waits: {blocked}")));
    }
    Some((
        S::Draining,
        A::Drain,
        format!("{} pod(s) left to evict", f.workload.len()),
    ))
}

/// `ClearIdle` when the node carries an idle mark that no longer holds.
fn clear_idle(node: &Node) -> NodeActionKind {
    if node.marks.idle_since.is_some() {
        NodeActionKind::ClearIdle
    } else {
        NodeActionKind::None
    }
}

/// A node running pods: put back to work if ekas cordoned it, consolidating, drained when
/// under-used (`--drain-utilization-below`), else busy.
fn busy(f: &Facts<'_>, config: &MaintenanceConfig, now: Timestamp) -> Decided {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    let marks = &node.marks;
    if node.unschedulable {
        return if marks.cordoned_by_ekas {
            (
                S::BusyUnschedulable,
                A::Uncordon,
                "runs pods; ekas had cordoned it".into(),
            )
        } else {
            (
                S::CordonedByOthers,
                A::None,
                "runs pods; cordoned by somebody else".into(),
            )
        };
    }
    if marks.consolidating {
        let since = match since(now, marks.consolidating_since) {
            Some(d) => format!(" for {}", human(d)),
            None => String::new(),
        };
        return (
            S::Consolidating,
            clear_idle(node),
            format!(
                "consolidating{since}: new pods go elsewhere; {} pod(s) left to finish",
                f.workload.len()
            ),
        );
    }
    let threshold = config.drain_utilization_below;
    if threshold > 0.0 && f.utilization < threshold {
        let pct = format!("{:.0}% used", f.utilization * 100.0);
        return match f.blocked(false) {
            None => (S::UnderUtilizedDrainable, A::Drain, pct),
            Some(blocked) => (
                S::UnderUtilizedUndrainable,
                clear_idle(node),
                format!("{pct}; {blocked}"),
            ),
        };
    }
    (
        S::Busy,
        clear_idle(node),
        format!("{} pod(s)", f.workload.len()),
    )
}

/// An idle node: kept for what is coming (booked room, a pending pod, a Job's next pod),
/// removed at once when consolidated, else after its group's idle threshold — cordoned, then
/// terminated — unless somebody else cordoned it or its group is at MinSize.
fn idle(
    f: &Facts<'_>,
    group: &NodeGroup,
    now: Timestamp,
    wanted: Wanted<'_>,
    waiting: &WaitingJobs<'_>,
    threshold: &GroupThreshold,
) -> Decided {
    use NodeActionKind as A;
    use NodeState as S;
    let node = f.node;
    let marks = &node.marks;
    let ours = marks.cordoned_by_ekas;
    let reclaim = if node.unschedulable && marks.reclaimable() {
        A::Uncordon
    } else {
        clear_idle(node)
    };
    match wanted {
        Wanted::Booked(request) => {
            return (
                S::Booked,
                reclaim,
                format!("holds room for ProvisioningRequest {request}"),
            );
        }
        Wanted::Pending => return (S::PodPending, reclaim, "a pending pod fits here".into()),
        Wanted::No => {}
    }
    if let Some(kept) = job_pending(f, threshold.threshold, now, waiting) {
        return kept;
    }
    // Consolidated: its room was not needed when it was marked, so it goes without the wait,
    // unless ekas cannot remove it.
    let removable = ours || !node.unschedulable;
    if marks.consolidating && removable && group.desired > group.min_size {
        let why = "consolidated: its last pod finished".to_string();
        return if node.unschedulable {
            (S::IdleUnschedulable, A::Terminate, why)
        } else {
            (S::IdleSchedulable, A::Cordon, why)
        };
    }
    let Some(idle) = since(now, marks.idle_since) else {
        return (S::GracePeriod, A::MarkIdle, "idle from now".into());
    };
    if idle < threshold.threshold {
        return (
            S::GracePeriod,
            A::None,
            format!("idle for {}; {}", human(idle), threshold.explain()),
        );
    }
    if node.unschedulable && !ours {
        return (
            S::CordonedByOthers,
            A::None,
            "idle; cordoned by somebody else".into(),
        );
    }
    if group.desired <= group.min_size {
        return (
            S::AsgMinSize,
            A::None,
            format!("group {} is at MinSize {}", group.name, group.min_size),
        );
    }
    let why = format!("idle for {}", human(idle));
    if node.unschedulable {
        (S::IdleUnschedulable, A::Terminate, why)
    } else {
        (S::IdleSchedulable, A::Cordon, why)
    }
}

/// An idle node that a Job's pod ran on, while that Job has pods waiting (gated by a queue, or
/// pending and sent to no existing node) that would run here ([`crate::engine::scale_in::jobs`]): kept, and
/// uncordoned if ekas had cordoned it. Its idle time still counts (`ekas/idle-since` is
/// recorded as for any idle node), and it is kept only until it has been idle twice
/// `--idle-threshold`: a Job whose pods are never admitted does not hold a node for good, and
/// once past the bound the node is cordoned and terminated as before, never uncordoned again
/// for the same wait.
pub(super) fn job_pending(
    f: &Facts<'_>,
    threshold: SignedDuration,
    now: Timestamp,
    waiting: &WaitingJobs<'_>,
) -> Option<(NodeState, NodeActionKind, String)> {
    let node = f.node;
    let ours = node.marks.cordoned_by_ekas;
    let idle = since(now, node.marks.idle_since);
    let bound = threshold.saturating_mul(2);
    if waiting.is_empty() || !node.ready || idle.is_some_and(|d| d >= bound) {
        return None;
    }
    // What the node's DaemonSet and mirror pods leave.
    let mut room = node.allocatable.clone();
    for pod in f.pods.iter().filter(|p| p.is_active()) {
        room.sub(&pod.requests);
    }
    let wait = waiting.wanting(&f.pods, NodeShape::of_node(node, ours), &room)?;
    let action = if node.unschedulable && ours {
        NodeActionKind::Uncordon
    } else if idle.is_none() {
        NodeActionKind::MarkIdle
    } else {
        NodeActionKind::None
    };
    let idle = match idle {
        Some(d) => format!("idle for {}", human(d)),
        None => "idle from now".to_string(),
    };
    Some((
        NodeState::JobPending,
        action,
        format!(
            "job {} has {} pod(s) waiting that fit here; {idle}, kept up to {}",
            wait.job,
            wait.pods,
            human(bound)
        ),
    ))
}

/// A Node outside every group whose instance EC2 does not know. It is deleted only when EC2
/// said so on two passes at least [`NOT_FOUND_CONFIRMATION`] apart and the Node is NotReady:
/// a kubelet that still reports means a machine that still runs.
pub(super) fn not_found(
    node: &Node,
    id: &str,
    now: Timestamp,
) -> (NodeState, NodeActionKind, String) {
    let Some(first) = node.marks.instance_not_found_since else {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::MarkInstanceNotFound,
            format!(
                "EC2 does not know instance {id}; asking again in {}",
                human(NOT_FOUND_CONFIRMATION)
            ),
        );
    };
    let asked_again = first
        .saturating_add(NOT_FOUND_CONFIRMATION)
        .unwrap_or(first);
    if now < asked_again {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::None,
            format!(
                "EC2 has not known instance {id} since {first}; asking again from {asked_again}"
            ),
        );
    }
    if node.ready {
        return (
            NodeState::InstanceNotFound,
            NodeActionKind::None,
            format!("EC2 has not known instance {id} since {first}, but the Node is Ready"),
        );
    }
    (
        NodeState::InstanceTerminated,
        NodeActionKind::DeleteNode,
        format!("EC2 has not known instance {id} since {first}, and the Node is NotReady"),
    )
}

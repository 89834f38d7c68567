//! ProvisioningRequests: a queue (Kueue's ProvisioningRequest admission check) asks whether
//! room for a whole workload is there, or can be bought, before it admits the workload. ekas
//! answers the two classes cluster-autoscaler defines, with its conditions and reasons, so a
//! queue that works with one works with the other.
//!
//! 1. Each request is put in a [`Stage`] from its class and the conditions it already has: not
//!    ours (another class), finished (`Failed` or `BookingExpired`), asking (no `Provisioned`
//!    yet, or `Provisioned=False`), or booked (`Provisioned=True`).
//! 2. Asking and booked requests lend the planner pods made from their PodTemplates
//!    ([`lend`]). An asking request's pods are one gang ([`crate::engine::scale_up::gang`]): all of them get a
//!    destination or none does. A check-capacity request's pods take only free room and
//!    capacity already requested; a best-effort-atomic request's may buy nodes. A booked
//!    request lends the pods that have not arrived yet (pods annotated as consuming it count
//!    as arrived); they go first and take only room that is there, so other pods cannot take
//!    it and the nodes they hold are not scaled in.
//! 3. From where its pods went, each request gets its verdict and the conditions to set
//!    ([`answer`]): `Provisioned=True` (`CapacityIsFound`, or `CapacityIsProvisioned` once the
//!    nodes bought for it are requested), `Provisioned=False` (`CapacityIsNotFound`: asked
//!    again next pass), `Failed=True` when no group can ever take its pods or it asked for
//!    no retry, `BookingExpired=True` when the booking ran out before all its pods arrived,
//!    and `Failed=True` (`Expired`) when it was never provisioned within a week.
//!
//! The lent pods never leave the engine: the plan shows requests, not their pods.

use jiff::{SignedDuration, Timestamp};

use crate::engine::scale_up::predicates::{NodeShape, fits_in_some_zone, unknown_zones};
use crate::engine::scale_up::{GroupView, ScaleUpResult};
use crate::model::pod::RequestedBy;
use crate::model::provisioning::condition::{ACCEPTED, BOOKING_EXPIRED, FAILED, PROVISIONED};
use crate::model::{Gang, Pod, ProvisioningClass, ProvisioningRequest, RequestCondition, Snapshot};
use crate::plan::{
    ConditionChange, Destination, GangVerdict, ProvisioningRequestStatus, RequestVerdict,
};

/// The operator's choices about requests.
#[derive(Debug, Clone)]
pub struct RequestPolicy {
    /// How long capacity found or bought for a request is held for its pods
    /// (`--provisioning-request-booking`).
    pub booking: SignedDuration,
    /// A request never provisioned in this long fails (cluster-autoscaler's week).
    pub expiry: SignedDuration,
}

impl Default for RequestPolicy {
    fn default() -> Self {
        RequestPolicy {
            booking: SignedDuration::from_mins(10),
            expiry: SignedDuration::from_hours(7 * 24),
        }
    }
}

/// Reasons and messages as cluster-autoscaler writes them: queues read them.
mod reason {
    pub const ACCEPTED: (&str, &str) = (
        "Accepted",
        "ProvisioningRequest is accepted by ClusterAutoscaler",
    );
    pub const FOUND: (&str, &str) = ("CapacityIsFound", "Capacity is found in the cluster");
    pub const PROVISIONED: (&str, &str) =
        ("CapacityIsProvisioned", "Capacity is found in the cluster");
    pub const NOT_FOUND: &str = "CapacityIsNotFound";
    pub const BOOKING_EXPIRED: (&str, &str) = (
        "CapacityReservationTimeExpired",
        "Capacity reservation time is expired",
    );
    pub const EXPIRED: (&str, &str) = ("Expired", "ProvisioningRequest is expired");
    pub const FAILED_TO_CREATE_PODS: &str = "FailedToCreatePods";
}

/// Where a request stands before this pass answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Another provisioning class: somebody else answers it.
    NotOurs,
    /// `Failed` or `BookingExpired` is already true.
    Finished,
    /// Its pods cannot be made (a PodTemplate missing or unreadable).
    Invalid(String),
    /// Never provisioned, and older than the expiry.
    Expired,
    /// Waiting for an answer: its pods are planned as one gang.
    Asking,
    /// Provisioned, and `remaining` of its pods have not arrived: their room is held.
    Booked { remaining: u32, until: Timestamp },
    /// Provisioned, and the booking ran out before all its pods arrived.
    BookingOver,
    /// Provisioned, and all its pods arrived: nothing left to hold.
    Consumed,
}

/// What the requests add to a pass: the pods they lend the planner, and each one's stage.
#[derive(Debug, Default)]
pub struct Lending {
    pub pods: Vec<Pod>,
    /// Per request of the snapshot.
    pub stages: Vec<Stage>,
}

/// Step 1 and 2: each request's stage, and the pods the asking and booked ones lend.
pub fn lend(snapshot: &Snapshot, policy: &RequestPolicy) -> Lending {
    let now = snapshot.captured_at;
    let mut lending = Lending::default();
    if snapshot.provisioning_requests.is_empty() {
        return lending;
    }
    let mut arrived: std::collections::HashMap<(&str, &str), u32> = Default::default();
    for pod in &snapshot.pods {
        if let Some(request) = &pod.consumes {
            *arrived.entry((&pod.namespace, request)).or_default() += 1;
        }
    }
    for (r, request) in snapshot.provisioning_requests.iter().enumerate() {
        let stage = stage(
            request,
            arrived
                .get(&(request.namespace.as_str(), request.name.as_str()))
                .copied()
                .unwrap_or(0),
            policy,
            now,
        );
        match &stage {
            Stage::Asking => {
                let hold_only = request.class == ProvisioningClass::CheckCapacity;
                let gang = Gang {
                    namespace: request.namespace.clone(),
                    name: request.name.clone(),
                    min_member: Some(request.pod_count()),
                    from_request: true,
                };
                lend_pods(&mut lending.pods, request, r, request.pod_count(), |pod| {
                    pod.requested_by = Some(RequestedBy {
                        request: r,
                        hold_only,
                    });
                    pod.gang = Some(gang.clone());
                });
            }
            Stage::Booked { remaining, .. } => {
                lend_pods(&mut lending.pods, request, r, *remaining, |pod| {
                    pod.requested_by = Some(RequestedBy {
                        request: r,
                        hold_only: true,
                    });
                    pod.gang = None;
                    // Booked room is held before any pod is placed.
                    pod.scheduling.priority = i32::MAX;
                });
            }
            _ => {}
        }
        lending.stages.push(stage);
    }
    lending
}

fn stage(
    request: &ProvisioningRequest,
    arrived: u32,
    policy: &RequestPolicy,
    now: Timestamp,
) -> Stage {
    if let ProvisioningClass::Other(_) = request.class {
        return Stage::NotOurs;
    }
    if request.is(FAILED) || request.is(BOOKING_EXPIRED) {
        return Stage::Finished;
    }
    if let Some(provisioned) = request.condition(PROVISIONED).filter(|c| c.status) {
        let total = request.pod_count();
        if arrived >= total {
            return Stage::Consumed;
        }
        let until = provisioned.last_transition + policy.booking;
        if now >= until {
            return Stage::BookingOver;
        }
        return Stage::Booked {
            remaining: total - arrived,
            until,
        };
    }
    if request
        .created
        .is_some_and(|c| now.duration_since(c) >= policy.expiry)
    {
        return Stage::Expired;
    }
    if let Some(problem) = &request.problem {
        return Stage::Invalid(problem.clone());
    }
    Stage::Asking
}

/// `count` pods of `request`, spread over its pod sets in order.
fn lend_pods(
    out: &mut Vec<Pod>,
    request: &ProvisioningRequest,
    r: usize,
    mut count: u32,
    mark: impl Fn(&mut Pod),
) {
    for (s, set) in request.pod_sets.iter().enumerate() {
        let Some(template) = &set.pod else { continue };
        let take = set.count.min(count);
        count -= take;
        let mut pod = template.clone();
        mark(&mut pod);
        for j in 0..take {
            let mut pod = pod.clone();
            // Unique within the pass, never shown: the plan names the request.
            pod.name = format!("{}#{r}.{s}.{j}", request.name);
            out.push(pod);
        }
    }
}

/// Step 3: each request's verdict and the conditions to set, from where its lent pods went
/// in `result` (pods of `snapshot` from `first_lent` on are the lent ones).
pub fn answer(
    snapshot: &Snapshot,
    stages: &[Stage],
    first_lent: usize,
    result: &ScaleUpResult,
    views: &[GroupView<'_>],
) -> Vec<ProvisioningRequestStatus> {
    let now = snapshot.captured_at;
    let placed = placed(snapshot, first_lent, result);
    snapshot
        .provisioning_requests
        .iter()
        .zip(stages)
        .zip(placed)
        .map(|((request, stage), placed)| {
            let mut status = Answer::new(request, now);
            match stage {
                Stage::Asking => asking(&mut status, request, placed, result, views),
                Stage::Booked { remaining, until } => {
                    let total = request.pod_count();
                    let short = remaining - placed.held.min(*remaining);
                    let why = if short == 0 {
                        format!("room held for {remaining} of {total} pods until {until}")
                    } else {
                        format!(
                            "room held for {} of the {remaining} pods still to come until {until}; \
                             {short} no longer fit",
                            placed.held
                        )
                    };
                    status.accept();
                    status.verdict(RequestVerdict::Booked, why);
                }
                settled => answer_settled(&mut status, request, settled),
            }
            status.finish()
        })
        .collect()
}

/// Where one request's lent pods went: onto room there is, onto new nodes, and which groups
/// those new nodes are of.
#[derive(Debug, Clone, Default)]
struct Placed {
    held: u32,
    bought: u32,
    groups: Vec<String>,
}

fn placed(snapshot: &Snapshot, first_lent: usize, result: &ScaleUpResult) -> Vec<Placed> {
    let mut placed = vec![Placed::default(); snapshot.provisioning_requests.len()];
    for (p, a) in &result.assignments {
        let Some(by) = snapshot.pods[*p].requested_by.filter(|_| *p >= first_lent) else {
            continue;
        };
        let placed = &mut placed[by.request];
        match a.destination {
            Destination::ExistingNode | Destination::UpcomingNode => placed.held += 1,
            Destination::NewNode => {
                placed.bought += 1;
                // The target of a new node is its group's name.
                if let Some(group) = &a.target
                    && !placed.groups.contains(group)
                {
                    placed.groups.push(group.clone());
                }
            }
            _ => {}
        }
    }
    placed
}

/// A request this pass does not plan for: not ekas's, over, invalid or expired; one arm each.
fn answer_settled(status: &mut Answer<'_>, request: &ProvisioningRequest, stage: &Stage) {
    match stage {
        Stage::NotOurs => status.verdict(
            RequestVerdict::NotOurs,
            format!("class {} is not one ekas serves", request.class.as_str()),
        ),
        Stage::Finished => {
            let why = request
                .conditions
                .iter()
                .find(|c| c.status && (c.kind == FAILED || c.kind == BOOKING_EXPIRED))
                .map(|c| format!("{}: {}", c.kind, c.message))
                .unwrap_or_default();
            status.verdict(RequestVerdict::Finished, why);
        }
        Stage::Invalid(problem) => {
            status.accept();
            status.set(PROVISIONED, false, reason::FAILED_TO_CREATE_PODS, problem);
            status.verdict(RequestVerdict::Invalid, problem.clone());
        }
        Stage::Expired => {
            status.set(FAILED, true, reason::EXPIRED.0, reason::EXPIRED.1);
            status.verdict(
                RequestVerdict::Failed,
                "not provisioned within a week of its creation".into(),
            );
        }
        Stage::BookingOver => {
            let (why, message) = reason::BOOKING_EXPIRED;
            status.set(BOOKING_EXPIRED, true, why, message);
            status.verdict(
                RequestVerdict::BookingExpired,
                "its pods did not all arrive while the capacity was booked".into(),
            );
        }
        Stage::Consumed => status.verdict(
            RequestVerdict::Consumed,
            format!("all {} pods arrived", request.pod_count()),
        ),
        Stage::Asking | Stage::Booked { .. } => {}
    }
}

/// A request asking for room: found, bought, or not to be had (for now, or ever).
fn asking(
    status: &mut Answer<'_>,
    request: &ProvisioningRequest,
    placed: Placed,
    result: &ScaleUpResult,
    views: &[GroupView<'_>],
) {
    let total = request.pod_count();
    status.accept();
    let gang = result.gangs.iter().find(|g| {
        // A PodGroup may share the request's name: only its own gang counts.
        g.from_request && g.gang == request.key() && g.verdict == GangVerdict::DoesNotFit
    });
    // The gang's reason, without its "ProvisioningRequest ns/name: " prefix.
    let short_of = gang.map(|g| {
        g.reason
            .split_once(": ")
            .map_or(g.reason.clone(), |(_, rest)| rest.to_string())
    });
    match short_of {
        None if placed.bought > 0 => {
            let (why, message) = reason::PROVISIONED;
            status.set(PROVISIONED, true, why, message);
            status.groups = placed.groups;
            status.verdict(
                RequestVerdict::ScaleUp,
                format!(
                    "{} of {total} pods on new nodes of {}",
                    placed.bought,
                    status.groups.join(", ")
                ),
            );
        }
        None => {
            let (why, message) = reason::FOUND;
            status.set(PROVISIONED, true, why, message);
            status.verdict(
                RequestVerdict::CapacityFound,
                format!("all {total} pods fit the room there is"),
            );
        }
        Some(short) => {
            let never = never_fits(request, views);
            if request.no_retry || never.is_some() {
                let message = never.unwrap_or_else(|| short.clone());
                status.set(FAILED, true, reason::NOT_FOUND, &message);
                status.verdict(RequestVerdict::Failed, message);
            } else {
                status.set(PROVISIONED, false, reason::NOT_FOUND, &short);
                status.verdict(RequestVerdict::NotFound, short);
            }
        }
    }
}

/// Why no group could ever take some pod of a best-effort-atomic request, whatever else
/// runs: its pods are bigger than a new node's room, or no group's nodes suit them. `None`
/// for check-capacity requests, which wait for room rather than buy it.
fn never_fits(request: &ProvisioningRequest, views: &[GroupView<'_>]) -> Option<String> {
    if request.class != ProvisioningClass::BestEffortAtomic {
        return None;
    }
    request.pod_sets.iter().find_map(|set| {
        let pod = set.pod.as_ref()?;
        let taken = views.iter().any(|v| {
            let t = &v.group.template;
            pod.requests.fits_in(&v.room)
                && fits_in_some_zone(
                    &pod.placement,
                    NodeShape {
                        name: None,
                        labels: &t.labels,
                        taints: &t.taints,
                        unschedulable: false,
                        unknown_zones: unknown_zones(v.group),
                    },
                )
        });
        (!taken).then(|| {
            format!(
                "no node group takes the pods of PodTemplate {}",
                set.template
            )
        })
    })
}

/// One request's answer as it is built.
struct Answer<'a> {
    request: &'a ProvisioningRequest,
    now: Timestamp,
    conditions: Vec<RequestCondition>,
    set: Vec<ConditionChange>,
    verdict: RequestVerdict,
    reason: String,
    groups: Vec<String>,
}

impl<'a> Answer<'a> {
    fn new(request: &'a ProvisioningRequest, now: Timestamp) -> Answer<'a> {
        Answer {
            request,
            now,
            conditions: request.conditions.clone(),
            set: Vec::new(),
            verdict: RequestVerdict::NotOurs,
            reason: String::new(),
            groups: Vec::new(),
        }
    }

    fn verdict(&mut self, verdict: RequestVerdict, reason: String) {
        self.verdict = verdict;
        self.reason = reason;
    }

    /// `Accepted=True`, once.
    fn accept(&mut self) {
        if !self.request.is(ACCEPTED) {
            let (why, message) = reason::ACCEPTED;
            self.set(ACCEPTED, true, why, message);
        }
    }

    /// Sets condition `kind`, unless it already says exactly this. Its transition time moves
    /// only when its status changes, as `meta.SetStatusCondition` does.
    fn set(&mut self, kind: &str, status: bool, reason: &str, message: &str) {
        let old = self.conditions.iter().position(|c| c.kind == kind);
        if let Some(i) = old {
            let c = &self.conditions[i];
            if c.status == status && c.reason == reason && c.message == message {
                return;
            }
        }
        let last_transition = match old.map(|i| &self.conditions[i]) {
            Some(c) if c.status == status => c.last_transition,
            _ => self.now,
        };
        let condition = RequestCondition {
            kind: kind.to_string(),
            status,
            reason: reason.to_string(),
            message: message.to_string(),
            last_transition,
            observed_generation: self.request.generation,
        };
        self.set.push(ConditionChange {
            kind: condition.kind.clone(),
            status: if status { "True" } else { "False" }.into(),
            reason: condition.reason.clone(),
            message: condition.message.clone(),
        });
        match old {
            Some(i) => self.conditions[i] = condition,
            None => self.conditions.push(condition),
        }
    }

    fn finish(self) -> ProvisioningRequestStatus {
        ProvisioningRequestStatus {
            request: self.request.key(),
            class: self.request.class.as_str().to_string(),
            pods: self.request.pod_count(),
            verdict: self.verdict,
            reason: self.reason,
            groups: self.groups,
            conditions: if self.set.is_empty() {
                Vec::new()
            } else {
                self.conditions
            },
            set: self.set,
        }
    }
}

#[cfg(test)]
mod tests;

//! Groups that recently failed to launch are skipped for a while, so their pods overflow to
//! the next group or region. Derived from the scaling activities in the snapshot on every
//! pass: nothing is remembered in the process, so a restart changes nothing.

use std::collections::HashMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::model::{ScalingActivity, Snapshot};

/// How long a group is skipped after launch failures: `base` after the first, doubling with
/// each further failure since the last successful launch, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct BackoffPolicy {
    pub base: SignedDuration,
    pub max: SignedDuration,
    /// A launch still in progress after this long counts as failed (`--max-node-provision-time`).
    pub max_provision_time: SignedDuration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: SignedDuration::from_mins(5),
            max: SignedDuration::from_hours(1),
            max_provision_time: SignedDuration::from_mins(15),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchFailure {
    InstanceLimit,
    VcpuLimit,
    VolumeLimit,
    InsufficientCapacity,
    /// No Spot capacity for the group's types and zones: on-demand groups may still launch.
    SpotCapacity,
    SpotLimit,
    /// The requested Availability Zone cannot host the type (AZ capacity or unsupported).
    AvailabilityZone,
    /// A launch still in progress after `--max-node-provision-time`.
    Stuck,
    /// A node that registered but did not start within `--max-node-provision-time`.
    NotStarted,
    /// Desired capacity above the group's instances, with nothing launching, for longer than
    /// `--max-node-provision-time`.
    NotLaunched,
    /// Any other failed launch (bad AMI, IAM, subnet …): retrying at full speed would not help.
    Other,
}

impl fmt::Display for LaunchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LaunchFailure::InstanceLimit => "instance limit reached",
            LaunchFailure::VcpuLimit => "vCPU limit reached",
            LaunchFailure::VolumeLimit => "volume limit reached",
            LaunchFailure::InsufficientCapacity => "insufficient capacity",
            LaunchFailure::SpotCapacity => "no Spot capacity",
            LaunchFailure::SpotLimit => "spot instance limit reached",
            LaunchFailure::AvailabilityZone => "availability zone cannot launch the type",
            LaunchFailure::Stuck => "launch did not complete in time",
            LaunchFailure::NotStarted => "node did not start in time",
            LaunchFailure::NotLaunched => "capacity requested but never launched",
            LaunchFailure::Other => "launch failed",
        })
    }
}

pub(crate) fn is_launch(activity: &ScalingActivity) -> bool {
    activity.description.starts_with("Launching")
}

/// Classifies one activity: `Some` for a failed launch, `None` for anything else.
pub fn classify(activity: &ScalingActivity) -> Option<LaunchFailure> {
    if !matches!(activity.status_code.as_str(), "Failed" | "Cancelled") {
        return None;
    }
    let text = format!("{} {}", activity.status_message, activity.description).to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    // A spot request ekas (or an operator) cancelled is not a capacity signal.
    if has(&["spot instance request"]) && has(&["has been cancelled"]) {
        return None;
    }
    let failure = if has(&["vcpulimitexceeded", "vcpu limit", "more vcpu capacity"]) {
        LaunchFailure::VcpuLimit
    } else if has(&["instancelimitexceeded", "instance limit", "more instances"]) {
        LaunchFailure::InstanceLimit
    } else if has(&["volumelimitexceeded", "volume limit"]) {
        LaunchFailure::VolumeLimit
    } else if has(&["maxspotinstancecountexceeded", "max spot instance count"]) {
        LaunchFailure::SpotLimit
    } else if has(&[
        "no spot capacity",
        "capacity-not-available",
        "unfulfillablecapacity",
    ]) {
        LaunchFailure::SpotCapacity
    } else if has(&[
        "insufficientinstancecapacity",
        "insufficient capacity",
        "not have sufficient",
    ]) {
        LaunchFailure::InsufficientCapacity
    } else if has(&["availability zone"])
        && has(&["unsupported", "not supported", "no longer supported"])
        || has(&["unsupported"])
    {
        LaunchFailure::AvailabilityZone
    } else if is_launch(activity) {
        LaunchFailure::Other
    } else {
        return None;
    };
    Some(failure)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    pub region: String,
    pub group: String,
    pub until: Timestamp,
    pub failure: LaunchFailure,
    /// Failed launches since the last successful one (within the `max` window).
    pub failures: u32,
    pub message: String,
}

/// Whether an activity has ended, one way or the other.
pub(crate) fn is_finished(activity: &ScalingActivity) -> bool {
    matches!(
        activity.status_code.as_str(),
        "Successful" | "Failed" | "Cancelled"
    )
}

/// A failed launch, or one still running past the provision time, with when it counts from.
fn failure(
    activity: &ScalingActivity,
    policy: &BackoffPolicy,
    now: Timestamp,
) -> Option<(LaunchFailure, Timestamp)> {
    if let Some(failure) = classify(activity) {
        return Some((failure, activity.start_time));
    }
    let deadline = activity
        .start_time
        .saturating_add(policy.max_provision_time)
        .ok()?;
    (is_launch(activity) && !is_finished(activity) && deadline <= now)
        .then_some((LaunchFailure::Stuck, deadline))
}

/// A failed launch ekas infers from the cluster rather than reads in an activity
/// ([`crate::engine::capacity::launch_failures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredFailure {
    pub region: String,
    pub group: String,
    /// When it counts from.
    pub at: Timestamp,
    pub failure: LaunchFailure,
    pub message: String,
}

/// One thing that happened to a group's launches, newest first in the walk below.
struct Event {
    /// Orders the walk: an activity's start, an inferred failure's time.
    key: Timestamp,
    /// A failure, with when it counts from and what to say; None for a successful launch.
    failed: Option<(LaunchFailure, Timestamp, String)>,
}

/// Groups in backoff at `now`, from their scaling activities and the `inferred` failures.
pub fn in_backoff(
    snapshot: &Snapshot,
    policy: &BackoffPolicy,
    now: Timestamp,
    inferred: &[InferredFailure],
) -> Vec<Backoff> {
    // Each group's activities, gathered in one sweep (a 200-group cluster holds thousands).
    let mut by_group: HashMap<(&str, &str), Vec<&ScalingActivity>> = HashMap::new();
    for a in &snapshot.activities {
        by_group
            .entry((a.region.as_str(), a.group.as_str()))
            .or_default()
            .push(a);
    }
    let mut out = Vec::new();
    for group in &snapshot.groups {
        let mut events: Vec<Event> = by_group
            .remove(&(group.region.as_str(), group.name.as_str()))
            .unwrap_or_default()
            .into_iter()
            // Finished activities older than the longest backoff no longer matter; one still
            // running does, however old.
            .filter(|a| !is_finished(a) || now.duration_since(a.start_time) <= policy.max)
            .filter_map(|a| {
                let failed = match failure(a, policy, now) {
                    Some((kind, at)) => Some((kind, at, activity_message(a, kind, policy))),
                    None if is_launch(a) && a.status_code == "Successful" => None,
                    None => return None,
                };
                Some(Event {
                    key: a.start_time,
                    failed,
                })
            })
            .collect();
        events.extend(
            inferred
                .iter()
                .filter(|f| f.region == group.region && f.group == group.name)
                .filter(|f| now.duration_since(f.at) <= policy.max)
                .map(|f| Event {
                    key: f.at,
                    failed: Some((f.failure, f.at, f.message.clone())),
                }),
        );
        events.sort_by_key(|e| std::cmp::Reverse(e.key));
        let mut newest: Option<(LaunchFailure, Timestamp, String)> = None;
        let mut failures = 0u32;
        for event in events {
            let Some((kind, at, message)) = event.failed else {
                break;
            };
            failures += 1;
            if newest.as_ref().is_none_or(|(_, t, _)| at > *t) {
                newest = Some((kind, at, message));
            }
        }
        let Some((failure, at, message)) = newest else {
            continue;
        };
        let exponent = failures.saturating_sub(1).min(20);
        let wait = policy
            .base
            .checked_mul(1 << exponent)
            .unwrap_or(policy.max)
            .min(policy.max);
        let until = at.saturating_add(wait).unwrap_or(Timestamp::MAX);
        if until > now {
            out.push(Backoff {
                region: group.region.clone(),
                group: group.name.clone(),
                until,
                failure,
                failures,
                message,
            });
        }
    }
    out
}

fn activity_message(
    activity: &ScalingActivity,
    failure: LaunchFailure,
    policy: &BackoffPolicy,
) -> String {
    if failure == LaunchFailure::Stuck {
        format!(
            "launch started at {} still not complete after {:#}: {}",
            activity.start_time, policy.max_provision_time, activity.description
        )
    } else {
        activity.status_message.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(status: &str, message: &str, minutes_ago: i64) -> ScalingActivity {
        let now: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        ScalingActivity {
            region: "us-west-2".into(),
            group: "g".into(),
            status_code: status.into(),
            status_message: message.into(),
            description: "Launching a new EC2 instance.  Status Reason: x".into(),
            cause: String::new(),
            start_time: now - SignedDuration::from_mins(minutes_ago),
            end_time: None,
        }
    }

    // The original tool's messages and AWS's codes.
    cases! { classifies_a_failed_launch;
        more_instances_than_the_limit: (
            "You have requested more instances (11) than your current instance limit of 10 allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit. Launching EC2 instance failed.",
            LaunchFailure::InstanceLimit,
        ),
        a_volume_limit_while_waiting_for_in_service: (
            "Instance became unhealthy while waiting for instance to be in InService state. Termination Reason: Client.VolumeLimitExceeded: Volume limit exceeded",
            LaunchFailure::VolumeLimit,
        ),
        insufficient_capacity: (
            "Insufficient capacity. Launching EC2 instance failed.",
            LaunchFailure::InsufficientCapacity,
        ),
        no_capacity_of_a_type_in_the_zone: (
            "We currently do not have sufficient p3.2xlarge capacity in the Availability Zone you requested (us-west-2b).",
            LaunchFailure::InsufficientCapacity,
        ),
        the_insufficient_instance_capacity_code: (
            "InsufficientInstanceCapacity: no capacity",
            LaunchFailure::InsufficientCapacity,
        ),
        too_many_spot_instances: (
            "Max spot instance count exceeded. Placing Spot instance request failed.",
            LaunchFailure::SpotLimit,
        ),
        the_max_spot_instance_count_code: ("MaxSpotInstanceCountExceeded", LaunchFailure::SpotLimit),
        more_vcpus_than_the_limit: (
            "You have requested more vCPU capacity than your current vCPU limit of 32 allows (VcpuLimitExceeded).",
            LaunchFailure::VcpuLimit,
        ),
        the_instance_limit_exceeded_code: (
            "InstanceLimitExceeded: Your quota allows for 0 more running instance(s).",
            LaunchFailure::InstanceLimit,
        ),
        a_type_not_offered_in_the_zone: (
            "Your requested instance type (p3.2xlarge) is not supported in your requested Availability Zone (us-east-1e).",
            LaunchFailure::AvailabilityZone,
        ),
        an_unsupported_configuration: (
            "Unsupported: The requested configuration is currently not supported.",
            LaunchFailure::AvailabilityZone,
        ),
        any_other_failure: (
            "The image id '[ami-123]' does not exist. Launching EC2 instance failed.",
            LaunchFailure::Other,
        ),
    }

    fn classifies_a_failed_launch((message, expected): (&str, LaunchFailure)) {
        assert_eq!(
            classify(&activity("Failed", message, 1)),
            Some(expected),
            "{message}"
        );
    }

    #[test]
    fn only_failed_launches_are_classified() {
        assert_eq!(classify(&activity("Successful", "", 1)), None);
        assert_eq!(
            classify(&activity(
                "Cancelled",
                "Spot instance request: sir-1 has been cancelled.",
                1
            )),
            None
        );
        let mut terminate = activity("Failed", "some error", 1);
        terminate.description = "Terminating EC2 instance: i-1".into();
        assert_eq!(
            classify(&terminate),
            None,
            "only launches put a group in backoff"
        );
    }

    fn snapshot(activities: Vec<ScalingActivity>) -> Snapshot {
        use crate::model::*;
        Snapshot {
            captured_at: "2026-11-27T12:00:00Z".parse().unwrap(),
            cluster_name: "c".into(),
            regions: vec!["us-west-2".into()],
            pods: vec![],
            nodes: vec![],
            groups: vec![NodeGroup {
                name: "g".into(),
                region: "us-west-2".into(),
                min_size: 0,
                max_size: 10,
                desired: 1,
                instance_type: "m5.large".into(),
                instance_type_note: None,
                priority: 0,
                price: None,
                zones: vec![],
                members: vec![],
                template: NodeTemplate {
                    labels: Default::default(),
                    taints: vec![],
                    allocatable: Resources::default(),
                    source: TemplateSource::InstanceType,
                },
                new_instances_protected: None,
                unlaunched_since: None,
                capacity: Default::default(),
                recent_interruptions: 0,
            }],
            instances: vec![],
            daemonsets: vec![],
            pdbs: vec![],
            activities,
            provisioning_requests: vec![],
            left_out: Default::default(),
            recent_removals: vec![],
            stale_view: None,
        }
    }

    #[test]
    fn backoff_doubles_per_failure_and_resets_on_success() {
        let policy = BackoffPolicy::default();
        let s = snapshot(vec![activity("Failed", "Insufficient capacity.", 3)]);
        let b = in_backoff(&s, &policy, s.captured_at, &[]);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].until, s.captured_at + SignedDuration::from_mins(2));
        assert_eq!(b[0].failure, LaunchFailure::InsufficientCapacity);

        // One failure 6 minutes ago: the 5 minute backoff is over.
        let s = snapshot(vec![activity("Failed", "Insufficient capacity.", 6)]);
        assert!(in_backoff(&s, &policy, s.captured_at, &[]).is_empty());

        // Three failures in a row: 20 minutes from the newest.
        let s = snapshot(vec![
            activity("Failed", "Insufficient capacity.", 6),
            activity("Failed", "Insufficient capacity.", 12),
            activity("Failed", "Insufficient capacity.", 18),
        ]);
        let b = in_backoff(&s, &policy, s.captured_at, &[]);
        assert_eq!(b[0].failures, 3);
        assert_eq!(b[0].until, s.captured_at + SignedDuration::from_mins(14));

        // A success after older failures resets the count.
        let s = snapshot(vec![
            activity("Failed", "Insufficient capacity.", 2),
            activity("Successful", "", 10),
            activity("Failed", "Insufficient capacity.", 12),
            activity("Failed", "Insufficient capacity.", 18),
        ]);
        assert_eq!(in_backoff(&s, &policy, s.captured_at, &[])[0].failures, 1);

        // A launch still in progress after the provision time counts as failed, from its deadline.
        let mut stuck = activity("InProgress", "", 17);
        stuck.status_code = "InProgress".into();
        let s = snapshot(vec![stuck.clone()]);
        let b = in_backoff(&s, &policy, s.captured_at, &[]);
        assert_eq!(b[0].failure, LaunchFailure::Stuck);
        assert_eq!(b[0].until, s.captured_at + SignedDuration::from_mins(3));
        let mut young = stuck;
        young.start_time = s.captured_at - SignedDuration::from_mins(14);
        assert!(in_backoff(&snapshot(vec![young]), &policy, s.captured_at, &[]).is_empty());

        // Never longer than max.
        let many: Vec<_> = (1..=12)
            .map(|m| activity("Failed", "Insufficient capacity.", m))
            .collect();
        let s = snapshot(many);
        let b = in_backoff(&s, &policy, s.captured_at, &[]);
        assert_eq!(
            b[0].until,
            s.captured_at - SignedDuration::from_mins(1) + policy.max
        );
    }
}

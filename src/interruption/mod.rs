//! AWS's warnings that an instance is about to go, and what ekas does about them.
//!
//! - [`parse`]: a message as it arrives on the SQS queue, in every shape AWS sends — EventBridge
//!   events (Spot interruption warnings, rebalance recommendations, state changes, AWS Health
//!   scheduled changes, Auto Scaling lifecycle actions), the lifecycle notifications a group
//!   sends to SQS itself, and either wrapped by SNS — into [`Notice`]s and who sent them
//!   ([`Origin`]).
//! - [`trust`]: whether a message comes from where ekas expects (`source`, region, account),
//!   before anything is done about it.
//! - [`response`]: what a notice calls for now — cordon, drain with the time left, or record
//!   the due time on the Node for later.
//! - [`handler`]: the task of `ekas run` that reads the queues and acts, checking each claim
//!   against what ekas knows (membership, lifecycle state, the Node's providerID).
//! - [`marks`]: the Node annotations that carry a notice past the message (restart-safe).

pub mod handler;
pub mod marks;
pub mod parse;
pub mod response;
pub mod trust;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use response::Timing;
use trust::Trust;

/// AWS reclaims a Spot instance two minutes after its warning.
pub const SPOT_WARNING: SignedDuration = SignedDuration::from_mins(2);

/// What a message says is happening to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    SpotInterruption,
    RebalanceRecommendation,
    /// The instance is stopping or stopped: its pods must move.
    Stopping,
    /// The instance is shutting down or terminated: too late to drain; cordon only.
    Terminating,
    /// An AWS Health scheduled change (retirement, stop, reboot maintenance) for the instance.
    ScheduledChange,
    /// An Auto Scaling group is terminating it and waits on a lifecycle hook.
    TerminatingHook,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 6] = [
        NoticeKind::SpotInterruption,
        NoticeKind::RebalanceRecommendation,
        NoticeKind::Stopping,
        NoticeKind::Terminating,
        NoticeKind::ScheduledChange,
        NoticeKind::TerminatingHook,
    ];

    /// The metric label, log name and annotation value.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::SpotInterruption => "spot-interruption",
            NoticeKind::RebalanceRecommendation => "rebalance-recommendation",
            NoticeKind::Stopping => "stopping",
            NoticeKind::Terminating => "terminating",
            NoticeKind::ScheduledChange => "scheduled-change",
            NoticeKind::TerminatingHook => "lifecycle-hook",
        }
    }

    pub fn parse(text: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The EventBridge `source` (or, for a notification a group sends itself, its `Service`)
    /// a genuine message of this kind carries.
    pub fn source(self) -> &'static str {
        match self {
            NoticeKind::SpotInterruption
            | NoticeKind::RebalanceRecommendation
            | NoticeKind::Stopping
            | NoticeKind::Terminating => "aws.ec2",
            NoticeKind::ScheduledChange => "aws.health",
            NoticeKind::TerminatingHook => "aws.autoscaling",
        }
    }
}

/// An Auto Scaling lifecycle action waiting for ekas to say CONTINUE, as the message names it.
/// The group is only a claim: the handler acts on the group ekas itself finds the instance in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleAction {
    pub group: String,
    pub hook: String,
    pub token: Option<String>,
}

/// One instance about to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub instance_id: String,
    /// When the instance goes, when the message says.
    pub deadline: Option<Timestamp>,
    pub lifecycle: Option<LifecycleAction>,
}

/// Who a message says sent it. Checked by [`trust`] before any notice of it is acted on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// EventBridge's `source` (`aws.ec2`, `aws.health`, `aws.autoscaling`); a group's own
    /// notification counts as `aws.autoscaling` when its `Service` says "AWS Auto Scaling".
    pub source: Option<String>,
    pub account: Option<String>,
    /// The region the event is about (a Health event's `eventRegion`, else `region`); `None`
    /// for a group's own notification, which is the queue's region.
    pub region: Option<String>,
    /// The event's or notification's id, recorded with a notice kept for later.
    pub id: Option<String>,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Notices(Origin, Vec<Notice>),
    /// Well-formed, but nothing to act on (a test notification, another event type, a state
    /// that needs nothing): deleted.
    Ignored(String),
}

/// `--interruption-queue` and how its messages are taken.
#[derive(Debug, Clone)]
pub struct InterruptionSettings {
    /// SQS queues of interruption events, each in a region of `--regions`.
    pub queues: Vec<QueueRef>,
    /// Whom messages must come from (`--regions`, `--interruption-accounts`).
    pub trust: Trust,
    /// How long interruptions may take (`--interruption-drain-timeout`,
    /// `--lifecycle-hook-max-wait`).
    pub timing: Timing,
    /// A message whose handling failed is shown again after this long
    /// (`--interruption-retry-after`).
    pub retry_after: Duration,
}

/// An interruption queue as given: its region, and its name or URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub region: String,
    pub name_or_url: String,
}

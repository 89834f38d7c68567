//! What became of one action, as types: what was done, why nothing was, or which kind of error
//! stopped it. Slack, events, metrics and the exit code decide from these; the `Display` impls
//! are the human text the tables and JSON show.

use std::fmt;

use jiff::Timestamp;

pub use crate::call::{CallError, ErrorClass};
use crate::provider::{Cordon, Uncordon};

/// What an action did, one variant per kind of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// A group's desired capacity, as it is after a raise or a reset.
    DesiredSet {
        now: u32,
    },
    /// A tag set on a group or removed from it.
    Tagged,
    /// An instance that never joined was terminated; its group launches another.
    Replaced,
    IdleMarked {
        since: Timestamp,
    },
    IdleCleared,
    Cordoned(Cordon),
    Uncordoned(Uncordon),
    /// Only DaemonSet and mirror pods are left; the next pass terminates the node.
    Drained,
    /// One round of evictions asked for; the next pass carries on.
    Draining {
        evicted: usize,
        left: usize,
    },
    Terminated {
        instance: String,
    },
    NodeDeleted,
    /// A ProvisioningRequest's conditions written.
    ConditionsSet,
    InstanceNotFoundMarked {
        since: Timestamp,
    },
    InstanceNotFoundCleared,
    /// An interruption's notice removed (and ekas's cordon undone).
    InterruptionCleared(Uncordon),
    ConsolidationMarked,
    ConsolidationCleared,
    Nothing,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Done::DesiredSet { now } => write!(f, "desired is {now}"),
            Done::Tagged => f.write_str("tagged"),
            Done::ConditionsSet => f.write_str("conditions set"),
            Done::Replaced => f.write_str("terminated; the group launches a replacement"),
            Done::IdleMarked { since } => write!(f, "idle since {since}"),
            Done::IdleCleared => f.write_str("in use again"),
            Done::Cordoned(Cordon::Cordoned) => f.write_str("cordoned"),
            Done::Cordoned(Cordon::AlreadyUnschedulable) => f.write_str("already cordoned"),
            Done::Uncordoned(Uncordon::Uncordoned) => f.write_str("uncordoned"),
            Done::Uncordoned(Uncordon::NotOurs) => {
                f.write_str("left cordoned: cordoned by somebody else")
            }
            Done::Uncordoned(Uncordon::NotCordoned) => f.write_str("already schedulable"),
            Done::Drained => f.write_str("drained; terminated on the next pass"),
            Done::Draining { evicted, left } => {
                write!(f, "draining: {evicted} evicted, {left} pod(s) left")
            }
            Done::Terminated { instance } => {
                write!(f, "instance {instance} terminated, node deleted")
            }
            Done::NodeDeleted => f.write_str("node deleted"),
            Done::InstanceNotFoundMarked { since } => {
                write!(f, "EC2 does not know its instance, as of {since}")
            }
            Done::InstanceNotFoundCleared => f.write_str("EC2 knows its instance again"),
            Done::InterruptionCleared(how) => {
                write!(f, "interruption notice removed; {}", Done::Uncordoned(*how))
            }
            Done::ConsolidationMarked => {
                f.write_str("tainted PreferNoSchedule: new pods go elsewhere")
            }
            Done::ConsolidationCleared => f.write_str("consolidation mark removed"),
            Done::Nothing => f.write_str("nothing to do"),
        }
    }
}

/// Why an action, looked at again right before acting, changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A Node answers to the instance ekas meant to replace (safety invariant 6).
    NodeAnswers { node: String },
    /// The process is stopping (SIGTERM): the action was not begun; the next ekas decides
    /// again.
    Stopping,
    /// A ProvisioningRequest's answer waits for a scale-up that failed (`group`).
    ScaleUpFailed { group: String },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NodeAnswers { node } => write!(
                f,
                "Node {node} answers to this instance now; a later pass decides again"
            ),
            Skip::Stopping => f.write_str("ekas is stopping; the next process decides again"),
            Skip::ScaleUpFailed { group } => write!(
                f,
                "the scale-up of {group} failed; the request is asked again next pass"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(Done),
    /// Dry run: what would be done.
    WouldDo(String),
    /// Looked again right before acting and found a reason not to: nothing was changed.
    Skipped(Skip),
    Failed(CallError),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done(d) => write!(f, "done: {d}"),
            Outcome::WouldDo(s) => write!(f, "dry run, would: {s}"),
            Outcome::Skipped(s) => write!(f, "skipped: {s}"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

impl Outcome {
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// The result label in metrics and JSON: done, dry-run, skipped, failed.
    pub fn result(&self) -> &'static str {
        match self {
            Outcome::Done(_) => "done",
            Outcome::WouldDo(_) => "dry-run",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The failure's class, if it failed.
    pub fn error_class(&self) -> Option<ErrorClass> {
        match self {
            Outcome::Failed(e) => Some(e.class),
            _ => None,
        }
    }
}

impl From<Result<Done, CallError>> for Outcome {
    fn from(result: Result<Done, CallError>) -> Outcome {
        match result {
            Ok(done) => Outcome::Done(done),
            Err(e) => Outcome::Failed(e),
        }
    }
}

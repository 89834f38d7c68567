//! What a notice calls for now. An in-flight job is evicted only when its instance is about to
//! go: a rebalance recommendation is only a hint (AWS may never take the instance), a
//! scheduled change days ahead leaves jobs time to finish, and a lifecycle hook can hold the
//! instance while they do.

use jiff::{SignedDuration, Timestamp};

use super::{Notice, NoticeKind};

/// What to do about a notice now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Cordon only: new pods go elsewhere, running ones (jobs included) finish. The cordon is
    /// ekas's: undone after `--rebalance-cordon-ttl` with no follow-up, reused for pending pods,
    /// removed when idle.
    Cordon,
    /// Cordon, and evict what may move — jobs too — with this long before the instance goes.
    Drain { within: SignedDuration },
    /// Cordon, and record on the Node when the change is due: the loop drains it once that is
    /// within the drain time, whatever SQS keeps of the message.
    Record { due: Timestamp },
    /// A lifecycle hook holds the instance: evict what is not a running job now, keep the hook
    /// alive while the jobs finish, for at most this long, then evict them and continue.
    HoldForJobs { wait: SignedDuration },
}

/// How long each kind of notice may take to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The longest an undated drain may take (`--interruption-drain-timeout`); a dated
    /// change is drained this long ahead.
    pub drain: SignedDuration,
    /// How long a lifecycle hook is kept alive for running jobs (`--lifecycle-hook-max-wait`).
    pub hook_wait: SignedDuration,
}

impl Notice {
    pub fn response(&self, now: Timestamp, timing: Timing) -> Response {
        let left = self
            .deadline
            .map(|d| d.duration_since(now).max(SignedDuration::ZERO));
        match self.kind {
            NoticeKind::Terminating | NoticeKind::RebalanceRecommendation => Response::Cordon,
            NoticeKind::SpotInterruption => Response::Drain {
                within: left.unwrap_or(super::SPOT_WARNING),
            },
            NoticeKind::Stopping => Response::Drain {
                within: timing.drain,
            },
            NoticeKind::TerminatingHook => Response::HoldForJobs {
                wait: timing.hook_wait,
            },
            NoticeKind::ScheduledChange => match (left, self.deadline) {
                (Some(left), _) if left <= timing.drain => Response::Drain { within: left },
                (_, Some(due)) => Response::Record { due },
                _ => Response::Cordon,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-29T12:00:00Z";

    fn responds((kind, deadline_in_minutes, want): (NoticeKind, Option<i64>, Response)) {
        let now: Timestamp = NOW.parse().unwrap();
        let notice = Notice {
            kind,
            instance_id: "i-0a".into(),
            deadline: deadline_in_minutes.map(|m| now + SignedDuration::from_mins(m)),
            lifecycle: None,
        };
        let timing = Timing {
            drain: SignedDuration::from_mins(10),
            hook_wait: SignedDuration::from_hours(2),
        };
        assert_eq!(notice.response(now, timing), want);
    }

    fn mins(m: i64) -> SignedDuration {
        SignedDuration::from_mins(m)
    }

    fn at(m: i64) -> Timestamp {
        NOW.parse::<Timestamp>().unwrap() + mins(m)
    }

    use NoticeKind::*;

    cases! {
        responds;
        spot_with_its_two_minutes: (SpotInterruption, Some(2), Response::Drain { within: mins(2) }),
        spot_already_late: (SpotInterruption, Some(-1), Response::Drain { within: mins(0) }),
        rebalance_only_cordons: (RebalanceRecommendation, None, Response::Cordon),
        stopping_drains_in_the_drain_time: (Stopping, None, Response::Drain { within: mins(10) }),
        terminating_is_too_late_to_drain: (Terminating, None, Response::Cordon),
        a_hook_holds_for_running_jobs: (TerminatingHook, None, Response::HoldForJobs { wait: SignedDuration::from_hours(2) }),
        a_change_due_within_the_drain_time_drains: (ScheduledChange, Some(3), Response::Drain { within: mins(3) }),
        a_change_due_later_is_recorded: (ScheduledChange, Some(60 * 24 * 10), Response::Record { due: at(60 * 24 * 10) }),
        a_change_just_past_the_drain_time_is_recorded: (ScheduledChange, Some(11), Response::Record { due: at(11) }),
    }
}

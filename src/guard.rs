//! The Lease as a gate in front of every change. A process that holds the cluster's Lease knows,
//! by its own monotonic clock, until when its last renewal keeps the Lease its own; every write
//! (a Kubernetes call other than a GET, an AWS call that changes a group, a Slack post) asks the
//! [`Guard`] first and is not sent unless the Lease stays held for longer than the longest call
//! may take. A process that holds no Lease (a dry run, `run --leader-elect=false`, the read-only
//! subcommands) has an open guard.
//!
//! The guard also carries a stop request (SIGTERM): the actuator asks [`Guard::stopping`]
//! before each *action* (a scale-up, a node's drain), not before each call, so an action that
//! has begun — a cordon and its drain bookkeeping — finishes, and the next one never starts.
//!
//! Why "valid until" is safe: the holder counts its term from the moment it *sent* the renewal,
//! while a contender counts the same term from the moment it *saw* that renewal (client-go's
//! rule, see `kubernetes::lease`), which is later. So the holder's term always ends first, on
//! any two clocks that tick at the same rate, whatever their offset.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Shared by the renewal task, the clients and the loop; cloning shares it.
#[derive(Clone, Default)]
pub struct Guard {
    held: Option<Arc<Held>>,
    /// Set once the process is asked to stop: no new action begins.
    stop: Arc<AtomicBool>,
}

struct Held {
    /// Which Lease, for messages: `namespace/name`.
    lease: String,
    /// The longest a single call may take: a change starts only if the Lease outlasts it.
    margin: Duration,
    /// The end of the current term, or `None` while the Lease is not ours.
    until: Mutex<Option<Instant>>,
    /// Bumped on every change of `until`, so waiters re-read it.
    changed: watch::Sender<()>,
}

/// A change refused because the Lease is not held, or not held long enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotHeld {
    pub lease: String,
    /// How long the Lease still had, if it was held at all.
    pub left: Option<Duration>,
    pub margin: Duration,
}

impl fmt::Display for NotHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.left {
            None => write!(
                f,
                "not sent: this process does not hold Lease {}; another ekas may be acting",
                self.lease
            ),
            Some(left) => write!(
                f,
                "not sent: Lease {} is held for {:.1}s more, less than a call may take ({:.1}s); \
                 its renewal is failing",
                self.lease,
                left.as_secs_f64(),
                self.margin.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for NotHeld {}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.held {
            None => f.write_str("Guard(open)"),
            Some(h) => write!(f, "Guard({}, held: {:?})", h.lease, *h.lock()),
        }
    }
}

impl Held {
    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        // A panic elsewhere while holding this lock cannot leave a half-written Instant.
        self.until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Guard {
    /// No Lease to hold: every change may go.
    pub fn open() -> Guard {
        Guard::default()
    }

    /// A gate for `lease` (`namespace/name`), shut until [`Guard::held_until`] opens it.
    pub fn for_lease(lease: String, margin: Duration) -> Guard {
        Guard {
            held: Some(Arc::new(Held {
                lease,
                margin,
                until: Mutex::new(None),
                changed: watch::Sender::new(()),
            })),
            stop: Arc::default(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.held.is_none()
    }

    /// The process is stopping: actions under way finish, no new one begins.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a new action may not begin because the process is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// A renewal sent at some instant succeeded: the Lease is ours until that instant plus
    /// its duration.
    pub fn held_until(&self, until: Instant) {
        if let Some(h) = &self.held {
            *h.lock() = Some(until);
            h.changed.send_replace(());
        }
    }

    /// Somebody else holds the Lease now.
    pub fn lost(&self) {
        if let Some(h) = &self.held {
            *h.lock() = None;
            h.changed.send_replace(());
        }
    }

    /// Whether a change may be sent now.
    pub fn check(&self) -> Result<(), NotHeld> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), NotHeld> {
        let Some(h) = &self.held else { return Ok(()) };
        let until = *h.lock();
        match until {
            Some(until) if until > now + h.margin => Ok(()),
            _ => Err(NotHeld {
                lease: h.lease.clone(),
                left: until.map(|u| u.saturating_duration_since(now)),
                margin: h.margin,
            }),
        }
    }

    /// Resolves once a change may no longer be sent (at once if it may not now); never, for an
    /// open guard. A pass races this, so a lost Lease stops it before its next change.
    pub async fn closed(&self) -> NotHeld {
        let Some(h) = &self.held else {
            return std::future::pending().await;
        };
        let mut changed = h.changed.subscribe();
        loop {
            if let Err(refused) = self.check() {
                return refused;
            }
            let until = (*h.lock()).map(|u| u - h.margin);
            tokio::select! {
                _ = tokio::time::sleep_until(until.unwrap_or_else(Instant::now)) => {}
                _ = changed.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARGIN: Duration = Duration::from_secs(10);

    #[test]
    fn an_open_guard_lets_everything_through() {
        assert_eq!(Guard::open().check(), Ok(()));
    }

    // A change goes only while the term outlasts the longest call: (seconds into a term of
    // 60 s, may a change go), with 10 s kept for the longest call.
    cases! { a_change_goes;
        at_the_start_of_the_term: (0, true),
        just_before_the_margin: (49, true),
        not_within_the_margin: (50, false),
        not_just_before_the_term_ends: (59, false),
        not_after_the_term: (61, false),
    }

    fn a_change_goes((at, goes): (u64, bool)) {
        let guard = Guard::for_lease("ekas/ekas".into(), MARGIN);
        let now = Instant::now();
        guard.held_until(now + Duration::from_secs(60));
        let result = guard.check_at(now + Duration::from_secs(at));
        assert_eq!(result.is_ok(), goes, "at {at}s: {result:?}");
    }

    #[test]
    fn a_change_is_refused_before_the_lease_is_taken_near_its_end_and_once_lost() {
        let guard = Guard::for_lease("ekas/ekas".into(), MARGIN);
        let now = Instant::now();
        // Never taken.
        assert_eq!(guard.check_at(now).unwrap_err().left, None);
        guard.held_until(now + Duration::from_secs(60));
        let refused = guard.check_at(now + Duration::from_secs(55)).unwrap_err();
        assert_eq!(refused.left, Some(Duration::from_secs(5)));
        assert!(refused.to_string().contains("Lease ekas/ekas"), "{refused}");
        guard.lost();
        assert!(guard.check_at(now).is_err());
    }

    #[tokio::test]
    async fn closed_resolves_when_the_term_runs_short_or_the_lease_is_lost() {
        let ms = Duration::from_millis;
        let guard = Guard::for_lease("ekas/ekas".into(), ms(100));
        let start = Instant::now();
        guard.held_until(start + ms(300));
        // No renewal: closed a margin before the term ends, not earlier.
        guard.closed().await;
        let waited = start.elapsed();
        assert!(waited >= ms(200) && waited < ms(290), "{waited:?}");

        // Renewed meanwhile: stays open past the old term, then a loss closes it at once.
        guard.held_until(Instant::now() + ms(300));
        let renewer = guard.clone();
        let renew_then_lose = tokio::spawn(async move {
            tokio::time::sleep(ms(150)).await;
            renewer.held_until(Instant::now() + ms(10_000));
            tokio::time::sleep(ms(300)).await;
            renewer.lost();
        });
        let at = Instant::now();
        let refused = guard.closed().await;
        assert!(at.elapsed() >= ms(440), "{:?}", at.elapsed());
        assert_eq!(refused.left, None);
        renew_then_lose.await.unwrap();
    }
}

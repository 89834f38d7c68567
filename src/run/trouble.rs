//! Why the loop cannot act, said where an operator looks: an ERROR line when a trouble starts
//! and again every few minutes while it lasts, an INFO line when it ends, and
//! `ekas_cannot_act{reason}` at 1 meanwhile (0 for every other reason, so an alert can tell
//! "no trouble" from "no data").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::metrics;

/// A reason the loop cannot act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trouble {
    /// The Lease's namespace does not exist.
    LeaseNamespaceMissing,
    /// The Lease cannot be read or written for another reason (the message says which).
    LeaseFailing,
    /// RBAC refuses what ekas needs (the Lease, a kind it must watch).
    Forbidden,
    /// The API server does not answer.
    ApiUnreachable,
    /// A watch every pass needs keeps failing: its cache is stale.
    WatchFailing,
    /// No region of `--regions` could be read.
    NoRegionReadable,
    /// Passes fail for another reason (the message says which).
    PassFailing,
}

impl Trouble {
    pub const ALL: [Trouble; 7] = [
        Trouble::LeaseNamespaceMissing,
        Trouble::LeaseFailing,
        Trouble::Forbidden,
        Trouble::ApiUnreachable,
        Trouble::WatchFailing,
        Trouble::NoRegionReadable,
        Trouble::PassFailing,
    ];

    /// The `reason` label of `ekas_cannot_act`.
    pub fn reason(self) -> &'static str {
        match self {
            Trouble::LeaseNamespaceMissing => "lease-namespace-missing",
            Trouble::LeaseFailing => "lease-failing",
            Trouble::Forbidden => "forbidden",
            Trouble::ApiUnreachable => "api-unreachable",
            Trouble::WatchFailing => "watch-failing",
            Trouble::NoRegionReadable => "no-region-readable",
            Trouble::PassFailing => "pass-failing",
        }
    }
}

/// A trouble of one subject (the Lease, one kind's watch, the passes).
#[derive(Debug)]
struct Standing {
    trouble: Trouble,
    since: Instant,
    /// When it was last logged at ERROR.
    logged: Instant,
}

/// Every trouble standing now, by subject. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Troubles {
    standing: Arc<Mutex<BTreeMap<String, Standing>>>,
    /// How often a lasting trouble is said again.
    repeat: Duration,
}

impl Troubles {
    /// A lasting trouble is said again this often.
    pub const REPEAT: Duration = Duration::from_secs(300);

    pub fn new() -> Troubles {
        Troubles::repeating_every(Troubles::REPEAT)
    }

    fn repeating_every(repeat: Duration) -> Troubles {
        let troubles = Troubles {
            standing: Arc::default(),
            repeat,
        };
        troubles.publish(&BTreeMap::new());
        troubles
    }

    /// `subject` cannot go on because of `trouble`; `message` names the cause and the remedy.
    /// Logged at ERROR the first time and again every [`Troubles::REPEAT`] while it lasts.
    pub fn raise(&self, subject: &str, trouble: Trouble, message: &str) {
        let mut standing = self.standing.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let say = match standing.get_mut(subject) {
            Some(s) if s.trouble == trouble => {
                let due = now.duration_since(s.logged) >= self.repeat;
                if due {
                    s.logged = now;
                }
                due.then(|| now.duration_since(s.since))
            }
            _ => {
                standing.insert(
                    subject.to_string(),
                    Standing {
                        trouble,
                        since: now,
                        logged: now,
                    },
                );
                Some(Duration::ZERO)
            }
        };
        if let Some(lasting) = say {
            let reason = trouble.reason();
            let lasting = format!("{}s", lasting.as_secs());
            tracing::error!(%subject, %reason, %lasting, "ekas cannot act: {message}");
        }
        self.publish(&standing);
    }

    /// `subject`'s trouble, if any, is over.
    pub fn clear(&self, subject: &str) {
        let mut standing = self.standing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = standing.remove(subject) {
            let reason = s.trouble.reason();
            let lasted = format!("{}s", s.since.elapsed().as_secs());
            tracing::info!(%subject, %reason, %lasted, "resolved");
            self.publish(&standing);
        }
    }

    /// The troubles standing now.
    pub fn current(&self) -> Vec<Trouble> {
        let standing = self.standing.lock().unwrap_or_else(|e| e.into_inner());
        standing.values().map(|s| s.trouble).collect()
    }

    fn publish(&self, standing: &BTreeMap<String, Standing>) {
        let gauge = &metrics().cannot_act;
        for trouble in Trouble::ALL {
            let on = standing.values().any(|s| s.trouble == trouble);
            gauge
                .get_or_create(&vec![("reason", trouble.reason().to_string())])
                .set(i64::from(on));
        }
    }
}

impl Default for Troubles {
    fn default() -> Self {
        Troubles::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauge(trouble: Trouble) -> i64 {
        metrics()
            .cannot_act
            .get_or_create(&vec![("reason", trouble.reason().to_string())])
            .get()
    }

    #[tokio::test]
    async fn a_trouble_is_on_the_gauge_while_any_subject_has_it_and_said_again_now_and_then() {
        let repeat = Duration::from_millis(300);
        let troubles = Troubles::repeating_every(repeat);
        troubles.raise("lease", Trouble::Forbidden, "may not get leases");
        troubles.raise("watch Pod", Trouble::Forbidden, "may not list pods");
        assert_eq!(gauge(Trouble::Forbidden), 1);
        assert_eq!(troubles.current().len(), 2);
        troubles.clear("lease");
        assert_eq!(gauge(Trouble::Forbidden), 1, "the pods' watch still has it");
        troubles.clear("watch Pod");
        assert_eq!(gauge(Trouble::Forbidden), 0);
        // Another trouble of the same subject replaces the first.
        troubles.raise("lease", Trouble::ApiUnreachable, "connection refused");
        troubles.raise("lease", Trouble::LeaseNamespaceMissing, "no namespace ekas");
        assert_eq!(troubles.current(), [Trouble::LeaseNamespaceMissing]);
        assert_eq!(gauge(Trouble::ApiUnreachable), 0);

        // A lasting trouble is said again only after the repeat interval. (One test: the
        // gauge is the process's.)
        let logged = |t: &Troubles| t.standing.lock().unwrap()["pass"].logged;
        troubles.raise("pass", Trouble::PassFailing, "boom");
        let first = logged(&troubles);
        tokio::time::sleep(repeat / 3).await;
        troubles.raise("pass", Trouble::PassFailing, "boom");
        assert_eq!(
            logged(&troubles),
            first,
            "not said again within the interval"
        );
        tokio::time::sleep(repeat).await;
        troubles.raise("pass", Trouble::PassFailing, "boom");
        assert!(
            logged(&troubles) > first,
            "said again once the interval passed"
        );
    }
}

//! Contends for the Lease for as long as the loop runs, from the moment it starts (so a Lease
//! that cannot be taken is said at once, not after the caches fill), and says how it stands:
//! the guard learns each term won, the loop's health beats while a standby can see a leader,
//! and every failure is a [`Trouble`] named to the operator.
//!
//! A standby looks every third of the Lease; the leader renews at the same pace, and sooner
//! after a failed renewal (the term it could not extend runs out on its own, closing the
//! guard). A refusal by RBAC that repeats is fatal: the process exits with the cause, since
//! waiting does not grant a permission.

use std::sync::Arc;
use std::time::Duration;

use super::server::Health;
use super::trouble::{Trouble, Troubles};
use crate::guard::Guard;
use crate::kubernetes::lease::{Attempt, LeaseError, LeaseLock, LeaseTrouble};

/// RBAC refusals in a row after which the process gives up.
const FORBIDDEN_LIMIT: u32 = 3;

/// The troubles of the Lease are this subject's.
const SUBJECT: &str = "lease";

pub struct Elector {
    pub lock: Arc<LeaseLock>,
    pub client: kube::Client,
    pub guard: Guard,
    pub troubles: Troubles,
    pub health: Health,
}

/// Where this process stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    Unknown,
    Leader,
    Standby { holder: String },
}

impl Elector {
    /// Contends until a fatal refusal, which it returns as the message to exit with.
    pub async fn run(self) -> String {
        let mut standing = Standing::Unknown;
        let mut forbidden = 0;
        loop {
            let attempt = self.lock.try_acquire(&self.client).await;
            let wait = match attempt {
                Ok(Attempt::Ours { until }) => {
                    forbidden = 0;
                    self.guard.held_until(until);
                    self.troubles.clear(SUBJECT);
                    if standing != Standing::Leader {
                        tracing::info!(identity = %self.lock.holder, lease = %self.lock.key(), "became the leader");
                        standing = Standing::Leader;
                    }
                    self.lock.period()
                }
                Ok(Attempt::Theirs { holder, .. }) => {
                    forbidden = 0;
                    self.troubles.clear(SUBJECT);
                    if standing == Standing::Leader {
                        self.guard.lost();
                        tracing::warn!(%holder, lease = %self.lock.key(), "lost the lease");
                    }
                    let now = Standing::Standby { holder };
                    if standing != now {
                        if let Standing::Standby { holder } = &now {
                            tracing::info!(%holder, identity = %self.lock.holder, lease = %self.lock.key(), "standing by: another ekas leads; this one takes over if it stops renewing");
                        }
                        standing = now;
                    }
                    // A standby makes progress while it can see a leader.
                    self.health.beat();
                    self.lock.period()
                }
                Err(e) => {
                    forbidden = match e.trouble {
                        LeaseTrouble::Forbidden => forbidden + 1,
                        _ => 0,
                    };
                    if forbidden >= FORBIDDEN_LIMIT {
                        return format!(
                            "{e}; refused {forbidden} times in a row: grant ekas's account get, \
                             create and update on leases in namespace {} (deploy/rbac.yaml)",
                            self.lock.namespace
                        );
                    }
                    self.report(&e);
                    self.retry(&standing)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn report(&self, e: &LeaseError) {
        let trouble = match e.trouble {
            LeaseTrouble::NamespaceMissing => Trouble::LeaseNamespaceMissing,
            LeaseTrouble::Forbidden => Trouble::Forbidden,
            LeaseTrouble::Unreachable => Trouble::ApiUnreachable,
            // Another taker at the same instant: the next look settles it.
            LeaseTrouble::Conflict => {
                tracing::debug!(error = %e, "lease taken by another at the same moment");
                return;
            }
            LeaseTrouble::Other => Trouble::LeaseFailing,
        };
        self.troubles.raise(SUBJECT, trouble, &e.message);
    }

    /// How soon to try again after a failure: a leader soon (its term runs out), others
    /// within a couple of seconds, so a fatal refusal ends the process quickly.
    fn retry(&self, standing: &Standing) -> Duration {
        let period = self.lock.period();
        match standing {
            Standing::Leader => (period / 4).max(Duration::from_millis(200)),
            _ => period.min(Duration::from_secs(2)),
        }
    }
}

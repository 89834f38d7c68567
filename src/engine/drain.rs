//! Which pods a drain may evict. A pod that cannot be evicted safely blocks the drain of its
//! node (safety invariant 1); DaemonSet and mirror pods are left alone, never evicted
//! (invariant 2). PodDisruptionBudgets are enforced by the Eviction API itself.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::model::Pod;

#[derive(Debug, Clone, Copy)]
pub struct DrainPolicy {
    /// Pods younger than this are not evicted: a job that just started is not thrown away.
    pub grace_period: SignedDuration,
    /// Evict pods that no controller owns (`--force`); they will not come back.
    pub evict_unmanaged: bool,
    /// Evict pods with emptyDir volumes, whose data is lost.
    pub evict_local_storage: bool,
}

impl Default for DrainPolicy {
    fn default() -> Self {
        DrainPolicy {
            grace_period: SignedDuration::from_mins(2),
            evict_unmanaged: false,
            evict_local_storage: false,
        }
    }
}

/// Why a pod keeps its node from being drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    Unmanaged,
    DoNotEvict,
    LocalStorage,
    TooYoung { until: Timestamp },
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::Unmanaged => write!(f, "not owned by a controller (--force evicts it)"),
            Blocker::DoNotEvict => write!(f, "marked do-not-drain / safe-to-evict=false"),
            Blocker::LocalStorage => write!(f, "uses emptyDir data that eviction would lose"),
            Blocker::TooYoung { until } => write!(f, "started recently; evictable from {until}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodDrain {
    /// Evict through the Eviction API.
    Evict,
    /// DaemonSet, mirror or finished pods: not evicted, and no obstacle.
    Leave,
    Block(Blocker),
}

pub fn classify(pod: &Pod, policy: &DrainPolicy, now: Timestamp) -> PodDrain {
    if pod.is_daemonset() || pod.mirror || !pod.is_active() {
        return PodDrain::Leave;
    }
    if pod.do_not_evict {
        return PodDrain::Block(Blocker::DoNotEvict);
    }
    if pod.controller.is_none() && !policy.evict_unmanaged {
        return PodDrain::Block(Blocker::Unmanaged);
    }
    if pod.local_storage && !policy.evict_local_storage {
        return PodDrain::Block(Blocker::LocalStorage);
    }
    if let Some(until) = pod
        .created
        .and_then(|created| created.saturating_add(policy.grace_period).ok())
        .filter(|until| *until > now)
    {
        return PodDrain::Block(Blocker::TooYoung { until });
    }
    PodDrain::Evict
}

/// The pods to evict from a node, or every pod that blocks it.
pub fn plan_node<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    policy: &DrainPolicy,
    now: Timestamp,
) -> Result<Vec<&'a Pod>, Vec<(&'a Pod, Blocker)>> {
    let mut evict = Vec::new();
    let mut blocked = Vec::new();
    for pod in pods {
        match classify(pod, policy, now) {
            PodDrain::Evict => evict.push(pod),
            PodDrain::Leave => {}
            PodDrain::Block(blocker) => blocked.push((pod, blocker)),
        }
    }
    if blocked.is_empty() {
        Ok(evict)
    } else {
        Err(blocked)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Owner, PodPhase, Resources};

    fn now() -> Timestamp {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn pod(name: &str, owner: Option<&str>) -> Pod {
        Pod {
            namespace: "batch".into(),
            name: name.into(),
            node_name: Some("n1".into()),
            phase: PodPhase::Running,
            deleting: false,
            requests: Resources::default(),
            labels: Default::default(),
            placement: Arc::default(),
            controller: owner.map(|kind| Owner {
                kind: kind.into(),
                name: "o".into(),
            }),
            mirror: false,
            created: Some(now() - SignedDuration::from_hours(1)),
            do_not_evict: false,
            local_storage: false,
            scheduling: Default::default(),
        }
    }

    #[test]
    fn every_rule() {
        let p = DrainPolicy::default();
        assert_eq!(
            classify(&pod("job", Some("Job")), &p, now()),
            PodDrain::Evict
        );
        assert_eq!(
            classify(&pod("ds", Some("DaemonSet")), &p, now()),
            PodDrain::Leave
        );
        let mirror = Pod {
            mirror: true,
            ..pod("static", None)
        };
        assert_eq!(classify(&mirror, &p, now()), PodDrain::Leave);
        let done = Pod {
            phase: PodPhase::Succeeded,
            ..pod("done", None)
        };
        assert_eq!(classify(&done, &p, now()), PodDrain::Leave);
        assert_eq!(
            classify(&pod("bare", None), &p, now()),
            PodDrain::Block(Blocker::Unmanaged)
        );
        let forced = DrainPolicy {
            evict_unmanaged: true,
            ..p
        };
        assert_eq!(
            classify(&pod("bare", None), &forced, now()),
            PodDrain::Evict
        );
        let precious = Pod {
            do_not_evict: true,
            ..pod("keep", Some("Job"))
        };
        assert_eq!(
            classify(&precious, &forced, now()),
            PodDrain::Block(Blocker::DoNotEvict)
        );
        let scratch = Pod {
            local_storage: true,
            ..pod("scratch", Some("Job"))
        };
        assert_eq!(
            classify(&scratch, &p, now()),
            PodDrain::Block(Blocker::LocalStorage)
        );
        let allowed = DrainPolicy {
            evict_local_storage: true,
            ..p
        };
        assert_eq!(classify(&scratch, &allowed, now()), PodDrain::Evict);
        let young = Pod {
            created: Some(now() - SignedDuration::from_secs(30)),
            ..pod("young", Some("Job"))
        };
        assert_eq!(
            classify(&young, &p, now()),
            PodDrain::Block(Blocker::TooYoung {
                until: now() + SignedDuration::from_secs(90)
            })
        );
    }

    #[test]
    fn one_blocker_blocks_the_node() {
        let p = DrainPolicy::default();
        let pods = [
            pod("a", Some("Job")),
            pod("ds", Some("DaemonSet")),
            pod("bare", None),
        ];
        let blocked = plan_node(&pods, &p, now()).unwrap_err();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].0.name, "bare");
        let pods = [pod("a", Some("Job")), pod("ds", Some("DaemonSet"))];
        let evict = plan_node(&pods, &p, now()).unwrap();
        assert_eq!(
            evict.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
    }
}

//! Which pods a drain may evict. A pod that cannot be evicted safely blocks the drain of its
//! node (safety invariant 1); DaemonSet and mirror pods are left alone, never evicted
//! (invariant 2). PodDisruptionBudgets are enforced by the Eviction API itself.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::model::Pod;

#[derive(Debug, Clone, Copy)]
pub struct DrainPolicy {
    /// Pods younger than this are not evicted: a job that just started is not thrown away
    /// (`--min-pod-age`).
    pub min_pod_age: SignedDuration,
    /// Evict pods that no controller owns (`--force`); they will not come back.
    pub evict_unmanaged: bool,
    /// Evict pods with emptyDir volumes, whose data is lost.
    pub evict_local_storage: bool,
    /// Evict pods with hostPath volumes: `ekas drain` does, as `kubectl drain` does; scale-in
    /// treats them like emptyDir, as cluster-autoscaler does.
    pub evict_host_path: bool,
    /// Evict pods that run to completion (a Job's, or `restartPolicy` Never/OnFailure), whose
    /// work is lost: `ekas drain` does, as `kubectl drain` does; scale-in only with
    /// `--drain-running-jobs`.
    pub evict_running_jobs: bool,
}

impl Default for DrainPolicy {
    fn default() -> Self {
        DrainPolicy {
            min_pod_age: SignedDuration::from_mins(2),
            evict_unmanaged: false,
            evict_local_storage: false,
            evict_host_path: false,
            evict_running_jobs: false,
        }
    }
}

/// Why a pod keeps its node from being drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// Its spec could not be read: what evicting it would do is unknown.
    Unreadable,
    Unmanaged,
    DoNotEvict,
    LocalStorage,
    RunningJob,
    TooYoung {
        until: Timestamp,
    },
}

impl Blocker {
    /// Whether it also keeps a dead node from being terminated. A pod that runs to completion
    /// does not: a dead node's kubelet is gone and the job cannot finish there.
    pub fn holds_dead_node(&self) -> bool {
        !matches!(self, Blocker::RunningJob)
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::Unreadable => {
                write!(f, "its spec could not be read (see the plan's warnings)")
            }
            Blocker::Unmanaged => write!(f, "not owned by a controller (--force evicts it)"),
            Blocker::DoNotEvict => write!(
                f,
                "marked do-not-drain / safe-to-evict=false / do-not-disrupt"
            ),
            Blocker::LocalStorage => {
                write!(f, "uses emptyDir or hostPath data that eviction would lose")
            }
            Blocker::RunningJob => write!(
                f,
                "runs to completion; scale-in waits for it (--drain-running-jobs evicts it)"
            ),
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
    if pod.unreadable {
        return PodDrain::Block(Blocker::Unreadable);
    }
    if pod.do_not_evict {
        return PodDrain::Block(Blocker::DoNotEvict);
    }
    if pod.controller.is_none() && !policy.evict_unmanaged {
        return PodDrain::Block(Blocker::Unmanaged);
    }
    let host_path = pod.host_path && !policy.evict_host_path;
    if (pod.local_storage || host_path) && !policy.evict_local_storage {
        return PodDrain::Block(Blocker::LocalStorage);
    }
    if let Some(until) = pod
        .created
        .and_then(|created| created.saturating_add(policy.min_pod_age).ok())
        .filter(|until| *until > now)
    {
        return PodDrain::Block(Blocker::TooYoung { until });
    }
    // Last: it is the one blocker that spares a dead node, so it must not hide another.
    if pod.runs_to_completion && !policy.evict_running_jobs {
        return PodDrain::Block(Blocker::RunningJob);
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
            host_path: false,
            gated: false,
            runs_to_completion: false,
            scheduling: Default::default(),
            unreadable: false,
            gang: None,
            consumes: None,
            uid: None,
            requested_by: None,
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
        let host = Pod {
            host_path: true,
            ..pod("host", Some("Job"))
        };
        assert_eq!(
            classify(&host, &p, now()),
            PodDrain::Block(Blocker::LocalStorage),
            "hostPath blocks scale-in like emptyDir"
        );
        let kubectl_like = DrainPolicy {
            evict_host_path: true,
            ..p
        };
        assert_eq!(classify(&host, &kubectl_like, now()), PodDrain::Evict);
        let job = Pod {
            runs_to_completion: true,
            ..pod("job", Some("Job"))
        };
        assert_eq!(
            classify(&job, &p, now()),
            PodDrain::Block(Blocker::RunningJob)
        );
        let jobs_may_go = DrainPolicy {
            evict_running_jobs: true,
            ..p
        };
        assert_eq!(classify(&job, &jobs_may_go, now()), PodDrain::Evict);
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

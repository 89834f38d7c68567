//! Kubernetes Events for what a pass decided and did: TriggeredScaleUp / NotTriggerScaleUp on
//! pods, cordon / drain / terminate on nodes, and ClusterUnhealthy (on ekas's Lease) while too
//! many nodes are NotReady to remove any. Rate-limited, so a queue of 10,000 pods does
//! not flood the API server: one event per object and reason per quiet period, and a cap per
//! pass.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::actuate::{Applied, AppliedKind, CallError, Outcome};
use crate::guard::Guard;
use crate::kubernetes::error_class;
use crate::model::{Pod, Snapshot};
use crate::plan::{NodeActionKind, Plan};
use crate::provider::{Change, Gate};

/// Events published per pass at most; the rest wait for a later pass.
const PER_PASS: usize = 50;
/// The same reason on the same object is repeated at most this often.
const QUIET: Duration = Duration::from_secs(600);

pub struct Events {
    recorder: Recorder,
    /// Events are changes too: published only while the Lease is held.
    gate: Gate,
    /// What cluster-wide events are about: ekas's Lease.
    cluster: ObjectReference,
    last: HashMap<(String, &'static str), Instant>,
}

/// An Event to publish: about which object, under which key it is rate-limited, why.
pub struct Pending {
    pub reference: ObjectReference,
    pub key: String,
    pub reason: &'static str,
    pub warning: bool,
    pub note: String,
}

impl Events {
    /// `lease` (namespace, name) is the object cluster-wide events are recorded on.
    pub fn new(client: kube::Client, lease: (&str, &str), guard: Guard) -> Events {
        let reporter = Reporter {
            controller: "ekas".into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Events {
            recorder: Recorder::new(client, reporter),
            gate: Gate::new(guard, false),
            cluster: ObjectReference {
                api_version: Some("coordination.k8s.io/v1".into()),
                kind: Some("Lease".into()),
                namespace: Some(lease.0.into()),
                name: Some(lease.1.into()),
                ..Default::default()
            },
            last: HashMap::new(),
        }
    }

    /// The Events of a pass, built by [`events_of`], sent within the rate limits.
    pub async fn publish(&mut self, plan: &Plan, applied: &[Applied], snapshot: &Snapshot) {
        let queue = events_of(plan, applied, snapshot, &self.cluster);
        self.send(queue).await;
    }

    /// The object cluster-wide Events are recorded on: ekas's Lease.
    pub fn cluster(&self) -> ObjectReference {
        self.cluster.clone()
    }

    /// Sends `queue` in order: each object and reason at most once per [`QUIET`], at most
    /// [`PER_PASS`] in all; the first failure ends the rest.
    pub async fn send(&mut self, queue: Vec<Pending>) {
        let now = Instant::now();
        self.last.retain(|_, at| now.duration_since(*at) < QUIET);
        let mut sent = 0;
        for p in queue {
            if sent == PER_PASS {
                break;
            }
            if self.last.contains_key(&(p.key.clone(), p.reason)) {
                continue;
            }
            let event = Event {
                type_: if p.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: p.reason.into(),
                // The API server rejects notes over 1 kB.
                note: Some(p.note.chars().take(1000).collect()),
                action: p.reason.into(),
                secondary: None,
            };
            let publish = async {
                let published = self.recorder.publish(&event, &p.reference).await;
                published.map_err(|e| CallError::new(error_class(&e, false), e.to_string()))
            };
            match self.gate.call(Change::Event, &p.key, publish).await {
                Ok(()) => {
                    self.last.insert((p.key, p.reason), now);
                    sent += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not publish an event; skipping the rest this pass");
                    break;
                }
            }
        }
    }
}

/// The Events a pass's plan and actions call for, in the order they are sent: the cluster's
/// health, what was done, objects that could not be read, pods no group can take.
fn events_of(
    plan: &Plan,
    applied: &[Applied],
    snapshot: &Snapshot,
    cluster: &ObjectReference,
) -> Vec<Pending> {
    let pods = PodRefs::new(snapshot);
    let mut queue: Vec<Pending> = Vec::new();
    if !plan.cluster_health.healthy {
        queue.push(Pending {
            reference: cluster.clone(),
            key: "cluster".into(),
            reason: "ClusterUnhealthy",
            warning: true,
            note: plan.cluster_health.reason.clone(),
        });
    }
    for a in applied {
        applied_events(plan, a, &pods, &mut queue);
    }
    queue.extend(unreadable_events(plan));
    queue.extend(unschedulable_events(plan, &pods));
    queue
}

/// References to pods by `namespace/name`, the index made once and only when an Event names
/// a pod: a scale-up for 100k pods must not search the pods once per pod.
struct PodRefs<'a> {
    snapshot: &'a Snapshot,
    by_name: OnceCell<HashMap<(&'a str, &'a str), &'a Pod>>,
}

impl<'a> PodRefs<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        PodRefs {
            snapshot,
            by_name: OnceCell::new(),
        }
    }

    fn reference(&self, key: &str) -> Option<ObjectReference> {
        let (ns, name) = key.split_once('/')?;
        let by_name = self.by_name.get_or_init(|| {
            self.snapshot
                .pods
                .iter()
                .map(|p| ((p.namespace.as_str(), p.name.as_str()), p))
                .collect()
        });
        let pod = by_name.get(&(ns, name))?;
        Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(ns.into()),
            name: Some(name.into()),
            uid: pod.uid.clone(),
            ..Default::default()
        })
    }
}

/// A scale-up done: TriggeredScaleUp on each of its pods; a node action done: its Event on the
/// Node.
fn applied_events(plan: &Plan, a: &Applied, pods: &PodRefs<'_>, queue: &mut Vec<Pending>) {
    if !matches!(a.outcome, Outcome::Done(_)) {
        return;
    }
    match a.kind {
        AppliedKind::ScaleUp => {
            let Some(up) = plan.scale_ups.iter().find(|s| s.group == a.target) else {
                return;
            };
            for pod in &up.pods {
                if let Some(reference) = pods.reference(pod) {
                    queue.push(Pending {
                        reference,
                        key: pod.clone(),
                        reason: "TriggeredScaleUp",
                        warning: false,
                        note: format!(
                            "pod triggered scale-up: {} ({}) {} → {}",
                            up.group, up.region, up.current_desired, up.new_desired
                        ),
                    });
                }
            }
        }
        AppliedKind::Node(kind) => {
            let reason = match kind {
                NodeActionKind::Cordon => "CordonedByEkas",
                NodeActionKind::Uncordon => "UncordonedByEkas",
                NodeActionKind::Drain => "DrainingByEkas",
                NodeActionKind::Terminate => "TerminatingByEkas",
                _ => return,
            };
            queue.push(Pending {
                reference: ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Node".into()),
                    name: Some(a.target.clone()),
                    ..Default::default()
                },
                key: a.target.clone(),
                reason,
                warning: false,
                note: a.outcome.to_string(),
            });
        }
        _ => {}
    }
}

/// UnreadableByEkas on each object the plan's warnings name.
fn unreadable_events(plan: &Plan) -> impl Iterator<Item = Pending> + '_ {
    plan.warnings
        .iter()
        .filter_map(|w| Some((w, w.object.as_ref()?)))
        .map(|(w, object)| Pending {
            reference: ObjectReference {
                api_version: Some(object.kind.api_version().into()),
                kind: Some(object.kind.as_str().into()),
                namespace: object.namespace.clone(),
                name: Some(object.name.clone()),
                ..Default::default()
            },
            key: w.subject.clone(),
            reason: "UnreadableByEkas",
            warning: true,
            note: w.message.clone(),
        })
}

/// NotTriggerScaleUp on each pod no group can take, with every group's reason (or its gang's).
fn unschedulable_events<'p>(
    plan: &'p Plan,
    pods: &'p PodRefs<'_>,
) -> impl Iterator<Item = Pending> + 'p {
    plan.unschedulable.iter().filter_map(|u| {
        let reference = pods.reference(&u.pod)?;
        let note = match (&u.gang, u.reasons.values().next()) {
            // The gang's reason, which every group gives.
            (Some(_), Some(why)) => why.clone(),
            _ => {
                let why = u
                    .reasons
                    .iter()
                    .map(|(g, r)| format!("{g}: {r}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("pod fits no node group: {why}")
            }
        };
        Some(Pending {
            reference,
            key: u.pod.clone(),
            reason: "NotTriggerScaleUp",
            warning: true,
            note,
        })
    })
}

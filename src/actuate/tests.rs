//! The actuator against in-memory providers: one row per action and how its provider answers,
//! then the rules that hold across every action — a dry run calls nothing, a shut guard sends
//! nothing and says LeaseLost, one failure never stops the rest.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use tokio::time::Instant;

use super::outcome::{CallError, Done, ErrorClass, Outcome, Skip};
use super::{Actuator, Applied, Parts};
use crate::engine::scale_in::drain::DrainPolicy;
use crate::guard::Guard;
use crate::model::scheduling::Placement;
use crate::model::{Owner, Pod, PodPhase};
use crate::plan::{
    ClusterHealth, DesiredReset, GroupMark, InstanceAction, InstanceActionKind, NodeAction,
    NodeActionKind as A, NodeState, Plan, ScaleUp,
};
use crate::provider::{ClusterWriter, GroupWriter};
use crate::provider::{Cordon, Eviction, Uncordon};

fn now() -> Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

/// Both providers in memory: every call is written down, and the calls named in `failing`
/// fail with their class.
#[derive(Default)]
struct Fake {
    writes: Mutex<Vec<String>>,
    reads: Mutex<Vec<String>>,
    /// (first word of a call, the class it fails with)
    failing: Vec<(&'static str, ErrorClass)>,
    /// The pods on every node.
    pods: Vec<Pod>,
    /// The Node that answers to every instance.
    answers: Option<String>,
    /// What an eviction gets, when it does not fail.
    eviction: Option<Eviction>,
    /// Pods whose eviction fails (an API error) or is impossible (a pod under two budgets).
    evict_fails: Vec<&'static str>,
    evict_impossible: Vec<&'static str>,
    /// The Ready condition every Node reads with: (status, minutes since its kubelet's last
    /// heartbeat).
    ready: Option<(&'static str, i64)>,
}

impl Fake {
    fn failing(calls: &[(&'static str, ErrorClass)]) -> Fake {
        Fake {
            failing: calls.to_vec(),
            ..Fake::default()
        }
    }

    fn answer(&self, log: &Mutex<Vec<String>>, call: String) -> Result<(), CallError> {
        let verb = call.split(' ').next().unwrap_or_default();
        let failing = self.failing.iter().find(|(v, _)| *v == verb);
        log.lock().unwrap().push(call.clone());
        match failing {
            Some((_, class)) => Err(CallError::new(*class, format!("{call}: refused"))),
            None => Ok(()),
        }
    }

    fn write(&self, call: String) -> Result<(), CallError> {
        self.answer(&self.writes, call)
    }

    fn read(&self, call: String) -> Result<(), CallError> {
        self.answer(&self.reads, call)
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }

    fn reads(&self) -> Vec<String> {
        self.reads.lock().unwrap().clone()
    }
}

impl GroupWriter for Fake {
    async fn scale_up_to(&self, region: &str, group: &str, desired: u32) -> Result<u32, CallError> {
        self.write(format!("set-desired {region}/{group} {desired}"))
            .map(|()| desired)
    }

    async fn reset_desired(
        &self,
        region: &str,
        group: &str,
        desired: u32,
    ) -> Result<u32, CallError> {
        self.write(format!("set-desired {region}/{group} {desired}"))
            .map(|()| desired)
    }

    async fn terminate(
        &self,
        region: &str,
        group: &str,
        instance: &str,
        decrement: bool,
    ) -> Result<bool, CallError> {
        self.write(format!("terminate {region}/{group} {instance} {decrement}"))
            .map(|()| decrement)
    }

    async fn tag(
        &self,
        region: &str,
        group: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), CallError> {
        self.write(format!("tag {region}/{group} {key}={value:?}"))
    }
}

impl ClusterWriter for Fake {
    async fn set_request_conditions(
        &self,
        namespace: &str,
        name: &str,
        conditions: &[crate::model::RequestCondition],
    ) -> Result<(), CallError> {
        let set: Vec<String> = conditions
            .iter()
            .map(|c| format!("{}={}", c.kind, c.status))
            .collect();
        self.write(format!("conditions {namespace}/{name} {}", set.join(",")))
    }

    async fn cordon(&self, node: &str, claim: bool) -> Result<Cordon, CallError> {
        self.write(format!("cordon {node} {claim}"))
            .map(|()| Cordon::Cordoned)
    }

    async fn uncordon(&self, node: &str) -> Result<Uncordon, CallError> {
        self.write(format!("uncordon {node}"))
            .map(|()| Uncordon::Uncordoned)
    }

    async fn annotate(
        &self,
        node: &str,
        annotations: &[(&str, Option<String>)],
    ) -> Result<(), CallError> {
        let keys: Vec<&str> = annotations.iter().map(|(k, _)| *k).collect();
        self.write(format!("annotate {node} {}", keys.join(",")))
    }

    async fn mark_consolidating(
        &self,
        node: &str,
        since: Option<Timestamp>,
    ) -> Result<(), CallError> {
        let what = if since.is_some() { "mark" } else { "clear" };
        self.write(format!("consolidating {node} {what}"))
    }

    async fn evict(
        &self,
        namespace: &str,
        pod: &str,
        _grace_seconds: Option<u32>,
    ) -> Result<Eviction, CallError> {
        self.write(format!("evict {namespace}/{pod}"))?;
        if self.evict_fails.contains(&pod) {
            return Err(CallError::new(
                ErrorClass::Other,
                format!("evicting {pod}: boom"),
            ));
        }
        if self.evict_impossible.contains(&pod) {
            return Ok(Eviction::Impossible(
                "under two PodDisruptionBudgets".into(),
            ));
        }
        Ok(self.eviction.clone().unwrap_or(Eviction::Evicted))
    }

    async fn delete_node(&self, node: &str) -> Result<(), CallError> {
        self.write(format!("delete-node {node}"))
    }

    async fn node(&self, node: &str) -> Result<Node, CallError> {
        self.read(format!("node {node}"))?;
        let mut found = Node::default();
        found.metadata.name = Some(node.into());
        if let Some((status, mins)) = self.ready {
            let beat = now() - jiff::SignedDuration::from_mins(mins);
            let condition = k8s_openapi::api::core::v1::NodeCondition {
                type_: "Ready".into(),
                status: status.into(),
                last_heartbeat_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    beat,
                )),
                ..Default::default()
            };
            found.status = Some(k8s_openapi::api::core::v1::NodeStatus {
                conditions: Some(vec![condition]),
                ..Default::default()
            });
        }
        Ok(found)
    }

    async fn pods_on(&self, node: &str, _selector: Option<&str>) -> Result<Vec<Pod>, CallError> {
        self.read(format!("pods-on {node}"))?;
        Ok(self.pods.clone())
    }

    async fn node_for(&self, instance: &InstanceAction) -> Result<Option<String>, CallError> {
        self.read(format!("node-for {}", instance.instance_id))?;
        Ok(self.answers.clone())
    }
}

/// A running pod of a ReplicaSet: evictable.
fn web_pod(name: &str) -> Pod {
    Pod {
        namespace: "web".into(),
        name: name.into(),
        node_name: Some("n1".into()),
        phase: PodPhase::Running,
        deleting: false,
        requests: Default::default(),
        labels: Default::default(),
        placement: Arc::new(Placement::default()),
        controller: Some(Owner {
            kind: "ReplicaSet".into(),
            name: "web".into(),
        }),
        mirror: false,
        created: None,
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

fn empty_plan() -> Plan {
    Plan {
        captured_at: now(),
        cluster_name: "prod".into(),
        regions: vec!["us-west-2".into()],
        summary: Default::default(),
        groups: vec![],
        scale_ups: vec![],
        desired_resets: vec![],
        pending: vec![],
        unschedulable: vec![],
        gangs: vec![],
        provisioning_requests: vec![],
        nodes: vec![],
        instances: vec![],
        backoff: vec![],
        gated: vec![],
        cluster_health: ClusterHealth {
            healthy: true,
            ..Default::default()
        },
        group_marks: vec![],
        warnings: vec![],
    }
}

fn node(name: &str, action: A) -> NodeAction {
    NodeAction {
        name: name.into(),
        group: Some("g".into()),
        region: Some("us-west-2".into()),
        instance_id: Some(format!("i-{name}")),
        state: NodeState::IdleUnschedulable,
        action,
        decrement: true,
        reason: "test".into(),
        interruption_due: None,
        charged: true,
    }
}

fn scale_up(group: &str, to: u32) -> ScaleUp {
    ScaleUp {
        group: group.into(),
        region: "us-west-2".into(),
        instance_type: "m5.xlarge".into(),
        current_desired: 1,
        new_desired: to,
        nodes_for_pods: to - 1,
        over_provision: 0,
        cost_per_hour: None,
        cost_per_requested_vcpu: None,
        pods: vec!["batch/job-0".into()],
        provisioning_requests: vec![],
    }
}

fn replace(id: &str) -> InstanceAction {
    InstanceAction {
        instance_id: id.into(),
        group: Some("g".into()),
        region: "us-west-2".into(),
        action: InstanceActionKind::Replace,
        reason: "never joined".into(),
        private_dns: None,
        private_ip: None,
    }
}

/// One action of every kind there is.
fn every_action() -> Plan {
    let mut plan = empty_plan();
    plan.group_marks.push(GroupMark {
        group: "g".into(),
        region: "us-west-2".into(),
        tag: "ekas/unlaunched-since".into(),
        value: Some(now().to_string()),
        reason: "test".into(),
    });
    plan.desired_resets.push(DesiredReset {
        group: "g".into(),
        region: "us-west-2".into(),
        current_desired: 3,
        new_desired: 1,
        reason: "test".into(),
    });
    plan.scale_ups.push(scale_up("g", 2));
    let kinds = [
        A::MarkIdle,
        A::ClearIdle,
        A::Uncordon,
        A::Cordon,
        A::Drain,
        A::Terminate,
        A::DeleteNode,
        A::MarkInstanceNotFound,
        A::ClearInstanceNotFound,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        plan.nodes.push(node(&format!("n{i}"), kind));
    }
    plan.instances.push(replace("i-never"));
    plan
}

const BOTH: Parts = Parts {
    scale_up: true,
    maintenance: true,
};

/// A Lease held for a minute more, with a ten-second margin.
fn held() -> Guard {
    let guard = Guard::for_lease("ekas/ekas".into(), Duration::from_secs(10));
    guard.held_until(Instant::now() + Duration::from_secs(60));
    guard
}

async fn apply(fake: &Fake, plan: &Plan, guard: Guard, dry_run: bool) -> Vec<Applied> {
    let actuator = Actuator::new(fake, fake, guard, DrainPolicy::default(), dry_run);
    actuator.apply_parts(plan, BOTH).await
}

fn outcomes(applied: &[Applied]) -> Vec<(String, String)> {
    applied
        .iter()
        .map(|a| (a.target.clone(), a.outcome.to_string()))
        .collect()
}

/// Runs `f` to its end on a runtime of its own, as `#[tokio::test]` would.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

const PDB: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn with_nodes(nodes: Vec<NodeAction>) -> Plan {
    Plan {
        nodes,
        ..empty_plan()
    }
}

/// Each action makes its calls and says what it did: (plan, provider, outcome, writes).
fn acts((plan, fake, outcome, writes): (Plan, Fake, Outcome, &[&str])) {
    let applied = block_on(apply(&fake, &plan, held(), false));
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].outcome, outcome, "{applied:?}");
    assert_eq!(fake.writes(), writes, "{applied:?}");
}

cases! { acts;
    a_scale_up_sets_desired: (
        Plan {
            scale_ups: vec![scale_up("g", 5)],
            ..empty_plan()
        },
        Fake::default(),
        Outcome::Done(Done::DesiredSet { now: 5 }),
        &["set-desired us-west-2/g 5"],
    ),
    a_throttled_scale_up_fails: (
        Plan {
            scale_ups: vec![scale_up("g", 5)],
            ..empty_plan()
        },
        Fake::failing(&[("set-desired", ErrorClass::Throttled)]),
        Outcome::Failed(CallError::new(
            ErrorClass::Throttled,
            "set-desired us-west-2/g 5: refused",
        )),
        &["set-desired us-west-2/g 5"],
    ),
    a_cordon_cordons: (
        with_nodes(vec![node("n1", A::Cordon)]),
        Fake::default(),
        Outcome::Done(Done::Cordoned(Cordon::Cordoned)),
        &["cordon n1 true"],
    ),
    an_uncordon_clears_idle_since: (
        with_nodes(vec![node("n1", A::Uncordon)]),
        Fake::default(),
        Outcome::Done(Done::Uncordoned(Uncordon::Uncordoned)),
        &["uncordon n1", "annotate n1 ekas/idle-since"],
    ),
    a_mark_idle_annotates: (
        with_nodes(vec![node("n1", A::MarkIdle)]),
        Fake::default(),
        Outcome::Done(Done::IdleMarked { since: now() }),
        &["annotate n1 ekas/idle-since"],
    ),
    a_drain_of_an_empty_node_is_done: (
        with_nodes(vec![node("n1", A::Drain)]),
        Fake::default(),
        Outcome::Done(Done::Drained),
        &[
            "cordon n1 true",
            "annotate n1 ekas/drain-started",
            "annotate n1 ekas/drained-at,ekas/drain-started",
        ],
    ),
    // Drain refused by a PodDisruptionBudget for now: draining.
    a_drain_refused_by_a_budget_for_now_is_draining: (
        with_nodes(vec![node("n1", A::Drain)]),
        Fake {
            pods: vec![web_pod("web-1")],
            eviction: Some(Eviction::Refused(PDB.into())),
            ..Fake::default()
        },
        Outcome::Done(Done::Draining {
            evicted: 0,
            left: 1,
        }),
        &[
            "cordon n1 true",
            "annotate n1 ekas/drain-started",
            "evict web/web-1",
        ],
    ),
    // Drain refused for good (two PodDisruptionBudgets).
    a_drain_refused_for_good_fails: (
        with_nodes(vec![node("n1", A::Drain)]),
        Fake {
            pods: vec![web_pod("web-1")],
            eviction: Some(Eviction::Impossible(
                "more than one PodDisruptionBudget".into(),
            )),
            ..Fake::default()
        },
        Outcome::Failed(CallError::new(
            ErrorClass::RefusedByPdb,
            "failed: evicting pod web/web-1: more than one PodDisruptionBudget (HTTP 500)",
        )),
        &[
            "cordon n1 true",
            "annotate n1 ekas/drain-started",
            "evict web/web-1",
        ],
    ),
    a_terminate_terminates_and_deletes_the_node: (
        with_nodes(vec![node("n1", A::Terminate)]),
        Fake::default(),
        Outcome::Done(Done::Terminated {
            instance: "i-n1".into(),
        }),
        &["terminate us-west-2/g i-n1 true", "delete-node n1"],
    ),
    a_terminate_of_a_node_a_pod_landed_on_since_is_refused: (
        with_nodes(vec![node("n1", A::Terminate)]),
        Fake {
            pods: vec![web_pod("web-1")],
            ..Fake::default()
        },
        Outcome::Failed(CallError::new(
            ErrorClass::Conflict,
            "not terminated: it now runs web/web-1; a later pass decides again",
        )),
        &[],
    ),
    a_delete_of_a_node_gone_meanwhile_fails: (
        with_nodes(vec![node("n1", A::DeleteNode)]),
        Fake::failing(&[("delete-node", ErrorClass::NotFound)]),
        Outcome::Failed(CallError::new(
            ErrorClass::NotFound,
            "delete-node n1: refused",
        )),
        &["delete-node n1"],
    ),
    a_replace_terminates_without_a_decrement: (
        Plan {
            instances: vec![replace("i-never")],
            ..empty_plan()
        },
        Fake::default(),
        Outcome::Done(Done::Replaced),
        &["terminate us-west-2/g i-never false"],
    ),
    // Replace, but a Node answers to the instance now.
    a_replace_is_skipped_when_a_node_answers_now: (
        Plan {
            instances: vec![replace("i-never")],
            ..empty_plan()
        },
        Fake {
            answers: Some("n9".into()),
            ..Fake::default()
        },
        Outcome::Skipped(Skip::NodeAnswers { node: "n9".into() }),
        &[],
    ),
}

#[tokio::test]
async fn a_dry_run_calls_nothing() {
    let fake = Fake::default();
    let plan = every_action();
    let applied = apply(&fake, &plan, held(), true).await;
    assert_eq!(applied.len(), 13);
    for a in &applied {
        assert!(matches!(a.outcome, Outcome::WouldDo(_)), "{a:?}");
    }
    assert_eq!(fake.writes(), Vec::<String>::new());
    assert_eq!(fake.reads(), Vec::<String>::new());
}

// A shut guard sends nothing and says the Lease is lost: (held for how many seconds more).
cases! { sends_nothing_under_a_shut_guard;
    a_guard_never_held_sends_nothing: None,
    // Held five seconds more: less than a call may take.
    a_guard_running_out_sends_nothing: Some(5),
}

fn sends_nothing_under_a_shut_guard(held_for: Option<u64>) {
    let plan = every_action();
    let guard = Guard::for_lease("ekas/ekas".into(), Duration::from_secs(10));
    if let Some(secs) = held_for {
        guard.held_until(Instant::now() + Duration::from_secs(secs));
    }
    let fake = Fake::default();
    let applied = block_on(apply(&fake, &plan, guard, false));
    assert_eq!(applied.len(), 13);
    for a in &applied {
        assert_eq!(
            a.outcome.error_class(),
            Some(ErrorClass::LeaseLost),
            "{a:?}"
        );
        assert!(a.outcome.to_string().contains("Lease ekas/ekas"), "{a:?}");
    }
    assert_eq!(fake.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_action_never_stops_the_rest() {
    let mut plan = every_action();
    plan.scale_ups.push(scale_up("h", 3));
    // Every call of these kinds fails.
    let fake = Fake::failing(&[
        ("tag", ErrorClass::Forbidden),
        ("cordon", ErrorClass::Conflict),
        ("node-for", ErrorClass::Timeout),
    ]);
    let applied = apply(&fake, &plan, held(), false).await;
    let failed: Vec<(&str, Option<ErrorClass>)> = applied
        .iter()
        .filter(|a| a.outcome.failed())
        .map(|a| (a.target.as_str(), a.outcome.error_class()))
        .collect();
    assert_eq!(
        failed,
        [
            ("g", Some(ErrorClass::Forbidden)),
            ("n3", Some(ErrorClass::Conflict)),
            // The drain cordons first.
            ("n4", Some(ErrorClass::Conflict)),
            ("i-never", Some(ErrorClass::Timeout)),
        ],
        "{:#?}",
        outcomes(&applied)
    );
    // Everything after a failure was still tried.
    let writes = fake.writes();
    for call in [
        "set-desired us-west-2/g 1",
        "set-desired us-west-2/g 2",
        "set-desired us-west-2/h 3",
        "terminate us-west-2/g i-n5 true",
        "delete-node n6",
        "annotate n8 ekas/instance-not-found-since",
    ] {
        assert!(writes.iter().any(|w| w == call), "{call}: {writes:#?}");
    }
}

/// Outcomes read as before: (outcome, as the table and JSON show it).
fn reads_as((outcome, text): (Outcome, &str)) {
    assert_eq!(outcome.to_string(), text, "{outcome:?}");
}

cases! { reads_as;
    desired_set_reads_as_before: (Outcome::Done(Done::DesiredSet { now: 4 }), "done: desired is 4"),
    left_cordoned_reads_as_before: (
        Outcome::Done(Done::Uncordoned(Uncordon::NotOurs)),
        "done: left cordoned: cordoned by somebody else",
    ),
    draining_reads_as_before: (
        Outcome::Done(Done::Draining {
            evicted: 2,
            left: 1,
        }),
        "done: draining: 2 evicted, 1 pod(s) left",
    ),
    terminated_reads_as_before: (
        Outcome::Done(Done::Terminated {
            instance: "i-1".into(),
        }),
        "done: instance i-1 terminated, node deleted",
    ),
    skipped_reads_as_before: (
        Outcome::Skipped(Skip::NodeAnswers { node: "n1".into() }),
        "skipped: Node n1 answers to this instance now; a later pass decides again",
    ),
    failed_reads_as_before: (
        Outcome::Failed(CallError::new(ErrorClass::Timeout, "GET x: no answer")),
        "failed: GET x: no answer",
    ),
    a_dry_run_reads_as_before: (
        Outcome::WouldDo("cordon: idle".into()),
        "dry run, would: cordon: idle",
    ),
}

/// Errors are classed by HTTP status: (status, on an eviction, class).
fn classes_an_http_status((code, eviction, class): (u16, bool, ErrorClass)) {
    assert_eq!(
        ErrorClass::of_http(code, eviction),
        class,
        "{code}, eviction {eviction}"
    );
}

cases! { classes_an_http_status;
    http_429_is_throttled: (429, false, ErrorClass::Throttled),
    http_429_on_an_eviction_is_refused_by_a_budget: (429, true, ErrorClass::RefusedByPdb),
    http_404_is_not_found: (404, false, ErrorClass::NotFound),
    http_409_is_a_conflict: (409, false, ErrorClass::Conflict),
    http_403_is_forbidden: (403, false, ErrorClass::Forbidden),
    http_401_is_forbidden: (401, false, ErrorClass::Forbidden),
    http_504_is_a_timeout: (504, false, ErrorClass::Timeout),
    http_500_is_other: (500, false, ErrorClass::Other),
}

/// Errors are classed by AWS code: (code, message, class).
fn classes_an_aws_code((code, message, class): (&str, &str, ErrorClass)) {
    assert_eq!(
        ErrorClass::of_aws(code, message),
        class,
        "{code}: {message}"
    );
}

cases! { classes_an_aws_code;
    throttling_is_throttled: ("Throttling", "Rate exceeded", ErrorClass::Throttled),
    request_limit_exceeded_is_throttled: ("RequestLimitExceeded", "", ErrorClass::Throttled),
    access_denied_is_forbidden: ("AccessDenied", "", ErrorClass::Forbidden),
    unauthorized_operation_is_forbidden: ("UnauthorizedOperation", "", ErrorClass::Forbidden),
    scaling_activity_in_progress_is_a_conflict: (
        "ScalingActivityInProgress",
        "",
        ErrorClass::Conflict,
    ),
    resource_contention_is_a_conflict: ("ResourceContention", "", ErrorClass::Conflict),
    a_group_not_found_is_not_found: (
        "ValidationError",
        "AutoScalingGroup name not found - null",
        ErrorClass::NotFound,
    ),
    an_instance_not_found_is_not_found: (
        "ValidationError",
        "Instance Id not found - No managed instance found for instance ID: i-1",
        ErrorClass::NotFound,
    ),
    another_validation_error_is_other: (
        "ValidationError",
        "New SetDesiredCapacity value 5 is above max value 3",
        ErrorClass::Other,
    ),
    an_invalid_instance_id_is_not_found: ("InvalidInstanceID.NotFound", "", ErrorClass::NotFound),
}

#[test]
fn a_report_keeps_the_class_the_adapter_gave_it() {
    let report = color_eyre::Report::new(CallError::new(ErrorClass::Throttled, "SetDesired: slow"));
    let report = report.wrap_err("scaling up");
    let error = CallError::from_report(&report);
    assert_eq!(error.class, ErrorClass::Throttled);
    assert_eq!(error.message, "scaling up: SetDesired: slow");
    let plain = color_eyre::eyre::eyre!("something else");
    assert_eq!(CallError::from_report(&plain).class, ErrorClass::Other);
}

#[test]
fn slack_announces_from_the_types() {
    use super::AppliedKind;
    let applied = |target: &str, kind: A, outcome: Outcome| Applied {
        kind: AppliedKind::Node(kind),
        target: target.into(),
        region: "us-west-2".into(),
        action: kind.as_str().into(),
        outcome,
    };
    let lost = CallError::new(ErrorClass::LeaseLost, "cordon n5: not sent");
    let throttled = CallError::new(ErrorClass::Throttled, "cordoning node n4: slow down");
    let done = [
        applied("n1", A::Drain, Outcome::Done(Done::Drained)),
        applied(
            "n2",
            A::Drain,
            Outcome::Done(Done::Draining {
                evicted: 1,
                left: 1,
            }),
        ),
        applied(
            "n3",
            A::Terminate,
            Outcome::Done(Done::Terminated {
                instance: "i-n3".into(),
            }),
        ),
        applied("n4", A::Cordon, Outcome::Failed(throttled)),
        applied("n5", A::Cordon, Outcome::Failed(lost)),
        applied(
            "n6",
            A::Cordon,
            Outcome::Done(Done::Cordoned(Cordon::Cordoned)),
        ),
    ];
    let messages = crate::notify::messages("prod", &empty_plan(), &[], None, &done);
    assert_eq!(
        messages,
        [
            "[prod] Drained node n1",
            "[prod] Terminated node n3: instance i-n3 terminated, node deleted",
            "[prod] Failed to cordon node n4: cordoning node n4: slow down",
        ]
    );
}

/// A request answered `Provisioned=True` on new nodes of group `g`.
fn answered_request() -> crate::plan::ProvisioningRequestStatus {
    use crate::model::RequestCondition;
    use crate::plan::{ConditionChange, ProvisioningRequestStatus, RequestVerdict};
    let condition = |kind: &str| RequestCondition {
        kind: kind.into(),
        status: true,
        reason: "R".into(),
        message: String::new(),
        last_transition: now(),
        observed_generation: Some(1),
    };
    ProvisioningRequestStatus {
        request: "batch/train".into(),
        class: "best-effort-atomic-scale-up.autoscaling.x-k8s.io".into(),
        pods: 4,
        verdict: RequestVerdict::ScaleUp,
        reason: "4 of 4 pods on new nodes of g".into(),
        groups: vec!["g".into()],
        set: vec![ConditionChange {
            kind: "Provisioned".into(),
            status: "True".into(),
            reason: "CapacityIsProvisioned".into(),
            message: String::new(),
        }],
        conditions: vec![condition("Accepted"), condition("Provisioned")],
    }
}

/// A request is answered only once its scale-ups went through: (provider, parts, writes, the
/// request's outcome) for a plan that scales `g` up for `batch/train`.
fn answers_the_request((fake, parts, writes, outcome): (Fake, Parts, &[&str], &str)) {
    let plan = Plan {
        scale_ups: vec![scale_up("g", 5)],
        provisioning_requests: vec![answered_request()],
        ..empty_plan()
    };
    let actuator = Actuator::new(&fake, &fake, held(), DrainPolicy::default(), false);
    let applied = block_on(actuator.apply_parts(&plan, parts));
    assert_eq!(fake.writes(), writes, "{parts:?}");
    let request = applied.iter().find(|a| a.target == "batch/train");
    assert_eq!(
        request.map(|a| a.outcome.to_string()).unwrap_or_default(),
        outcome,
        "{parts:?}"
    );
}

cases! { answers_the_request;
    // The scale-up went through: the conditions follow it.
    conditions_follow_a_scale_up_that_went_through: (
        Fake::default(),
        BOTH,
        &[
            "set-desired us-west-2/g 5",
            "conditions batch/train Accepted=true,Provisioned=true",
        ],
        "done: conditions set",
    ),
    // The scale-up failed: no Provisioned=True, asked again next pass.
    a_failed_scale_up_leaves_the_request_to_be_asked_again: (
        Fake::failing(&[("set-desired", ErrorClass::Throttled)]),
        BOTH,
        &["set-desired us-west-2/g 5"],
        "skipped: the scale-up of g failed; the request is asked again next pass",
    ),
    // The scale-up half does not run (reap): an answer on new nodes is not given.
    without_the_scale_up_half_no_answer_is_given: (
        Fake::default(),
        Parts {
            scale_up: false,
            maintenance: true,
        },
        &[],
        "",
    ),
}

/// (a best-effort drain, or not) → whether every pod's eviction is asked for though one fails
/// and one cannot be evicted at all.
fn drains_past((best_effort, all_asked): (bool, bool)) {
    let fake = Fake {
        pods: vec![web_pod("a"), web_pod("b"), web_pod("c"), web_pod("d")],
        evict_fails: vec!["b"],
        evict_impossible: vec!["c"],
        ..Fake::default()
    };
    let options = crate::actuate::drain::DrainOptions {
        policy: crate::engine::scale_in::drain::DrainPolicy {
            min_pod_age: jiff::SignedDuration::ZERO,
            ..Default::default()
        },
        timeout: std::time::Duration::ZERO,
        best_effort,
        ..Default::default()
    };
    let report =
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(crate::actuate::drain::drain_node(
                &fake,
                "n1",
                &options,
                &(),
            ));
    let evicted: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.starts_with("evict "))
        .collect();
    assert_eq!(evicted.len() == 4, all_asked, "{evicted:?}");
    if best_effort {
        assert!(report.error.is_none(), "{report:?}");
        let why: Vec<(&str, &str)> = report
            .remaining
            .iter()
            .map(|p| (p.pod.as_str(), p.why.as_str()))
            .filter(|(p, _)| *p == "web/b" || *p == "web/c")
            .collect();
        assert_eq!(why.len(), 2, "{report:?}");
        assert!(
            why.iter().any(|(_, w)| w.contains("eviction failed")),
            "{why:?}"
        );
        assert!(
            why.iter().any(|(_, w)| w.contains("cannot be evicted")),
            "{why:?}"
        );
    } else {
        assert!(
            report.error.is_some(),
            "a scale-in drain stops at the first failure"
        );
    }
}

cases! {
    drains_past;
    a_best_effort_drain_goes_on_past_pods_it_cannot_evict: (true, true),
    a_scale_in_drain_stops_at_the_first_failure: (false, false),
}

/// (the Node as read right before, terminated?) for a node the plan calls dead.
fn dead_node_read_again(((status, heartbeat_mins), terminated): ((&'static str, i64), bool)) {
    let fake = Fake {
        ready: Some((status, heartbeat_mins)),
        ..Fake::default()
    };
    let mut plan = empty_plan();
    plan.nodes = vec![NodeAction {
        state: NodeState::Dead,
        ..node("n1", A::Terminate)
    }];
    let applied =
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(apply(&fake, &plan, Guard::open(), false));
    let terminated_now = fake.writes().iter().any(|w| w.starts_with("terminate "));
    assert_eq!(terminated_now, terminated, "{:?}", outcomes(&applied));
}

cases! {
    dead_node_read_again;
    a_node_still_not_ready_and_silent_is_terminated: (("False", 40), true),
    a_node_ready_again_is_kept: (("True", 40), false),
    a_node_whose_kubelet_reported_lately_is_kept: (("Unknown", 2), false),
}

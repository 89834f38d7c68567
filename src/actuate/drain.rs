//! Drains nodes through the Kubernetes API: check every pod first and touch nothing when one
//! can never be evicted; otherwise cordon, record the start on the node, evict what the engine
//! allows (retrying PodDisruptionBudget refusals with backoff), wait until only DaemonSet and
//! mirror pods remain, and record the finish. Which pod may go is the engine's decision
//! ([`crate::engine::scale_in::drain`]); this module only carries it out.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use serde::Serialize;
use tokio::time::Instant;

use super::outcome::{CallError, ErrorClass};
use crate::engine::scale_in::drain::{Blocker, DrainPolicy, PodDrain, classify};
use crate::kubernetes::write::annotation;
use crate::model::{Pod, keys};
use crate::provider::ClusterWriter;
use crate::provider::{Cordon, Eviction};

#[derive(Debug, Clone)]
pub struct DrainOptions {
    pub policy: DrainPolicy,
    /// Give up (leaving the node cordoned) when pods remain after this long.
    pub timeout: Duration,
    /// Overrides each pod's termination grace period when evicting it (`--grace-period`).
    pub termination_grace_seconds: Option<u32>,
    /// Only pods with these labels are evicted or waited for (`--pod-selector`, a label
    /// selector the API server applies); the others stay, and the node is not recorded as
    /// drained.
    pub pod_selector: Option<String>,
    /// Pause between looks at the node's pods.
    pub poll: Duration,
    /// First wait before asking again after a PodDisruptionBudget refusal; doubles up to
    /// `max_retry_wait`.
    pub retry_wait: Duration,
    pub max_retry_wait: Duration,
    /// Record the cordon as ekas's own (drains ekas decides on), or leave it the operator's
    /// (`ekas drain`), so the autoscaler never uncordons a node an operator drained.
    pub claim: bool,
    /// The node goes whatever ekas does (an interruption): pods that may not be evicted are
    /// left to go with it rather than stopping the drain, and the drain ends when only they
    /// are left.
    pub best_effort: bool,
    pub dry_run: bool,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            policy: DrainPolicy::default(),
            timeout: Duration::from_secs(900),
            termination_grace_seconds: None,
            pod_selector: None,
            poll: Duration::from_secs(1),
            retry_wait: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(30),
            claim: false,
            best_effort: false,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DrainResult {
    /// Only DaemonSet and mirror pods are left.
    Drained,
    /// A pod can never be evicted under the policy: nothing was changed.
    Blocked,
    /// Pods remained at the timeout; the node stays cordoned.
    TimedOut,
    /// An API call failed; the node may be cordoned.
    Failed,
    /// Dry run: the drain could proceed.
    WouldDrain,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodNote {
    pub pod: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    pub node: String,
    pub result: DrainResult,
    /// Pods evicted (or, in a dry run, that would be).
    pub evicted: Vec<String>,
    /// Pods left in place by design: DaemonSet, mirror and finished pods.
    pub left: Vec<String>,
    /// Pods still in the way at the end, and why.
    pub remaining: Vec<PodNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The class of `error`.
    #[serde(skip)]
    pub error_class: Option<ErrorClass>,
}

impl DrainReport {
    /// A drain of a node that had nothing to move.
    pub fn nothing(node: &str) -> DrainReport {
        DrainReport {
            node: node.to_string(),
            result: DrainResult::Drained,
            evicted: Vec::new(),
            left: Vec::new(),
            remaining: Vec::new(),
            error: None,
            error_class: None,
        }
    }

    /// One line on how the drain ended.
    pub fn summary(&self) -> String {
        match self.result {
            DrainResult::Drained => "drained".into(),
            DrainResult::WouldDrain => "dry run: would drain".into(),
            DrainResult::Blocked => format!(
                "blocked by {} pod(s) that cannot be evicted; nothing changed",
                self.remaining.len()
            ),
            DrainResult::TimedOut => format!(
                "timed out with {} pod(s) left; node left cordoned",
                self.remaining.len()
            ),
            DrainResult::Failed => format!(
                "failed: {}",
                self.error.as_deref().unwrap_or("unknown error")
            ),
        }
    }
}

/// What a drain tells its watcher as it goes (a progress bar, a log).
pub trait DrainProgress: Send + Sync {
    /// `left` of `total` pods still to go; `status` says what the drain is doing.
    fn update(&self, left: usize, total: usize, status: &str);
}

impl DrainProgress for () {
    fn update(&self, _: usize, _: usize, _: &str) {}
}

/// Whether a pod still stands in the drain's way, and why.
fn obstacle(pod: &Pod, verdict: &PodDrain) -> Option<String> {
    if pod.deleting && !matches!(verdict, PodDrain::Leave) {
        return Some("terminating".into());
    }
    match verdict {
        PodDrain::Leave => None,
        PodDrain::Evict => Some("waiting for eviction".into()),
        PodDrain::Block(b) => Some(b.to_string()),
    }
}

pub async fn drain_node(
    cluster: &impl ClusterWriter,
    node: &str,
    options: &DrainOptions,
    progress: &dyn DrainProgress,
) -> DrainReport {
    let mut report = DrainReport {
        node: node.to_string(),
        result: DrainResult::Failed,
        evicted: Vec::new(),
        left: Vec::new(),
        remaining: Vec::new(),
        error: None,
        error_class: None,
    };
    if let Err(e) = run(cluster, node, options, progress, &mut report).await {
        report.result = DrainResult::Failed;
        report.error = Some(e.message);
        report.error_class = Some(e.class);
    }
    report
}

async fn run(
    cluster: &impl ClusterWriter,
    node: &str,
    options: &DrainOptions,
    progress: &dyn DrainProgress,
    report: &mut DrainReport,
) -> Result<(), CallError> {
    let node_object = cluster.node(node).await?;
    let pods = cluster
        .pods_on(node, options.pod_selector.as_deref())
        .await?;
    let now = Timestamp::now();
    let verdicts: Vec<(Pod, PodDrain)> = pods
        .into_iter()
        .map(|p| {
            let v = classify(&p, &options.policy, now);
            (p, v)
        })
        .collect();
    report.left = keys_where(&verdicts, |v| *v == PodDrain::Leave);
    // Blockers that time does not lift stop the drain before anything changes.
    let permanent = permanent_blockers(&verdicts);
    if !permanent.is_empty() && !options.best_effort {
        report.result = DrainResult::Blocked;
        report.remaining = permanent;
        return Ok(());
    }
    let total = verdicts
        .iter()
        .filter(|(_, v)| *v != PodDrain::Leave)
        .count();
    if options.dry_run {
        report.evicted = keys_where(&verdicts, |v| *v != PodDrain::Leave);
        report.result = DrainResult::WouldDrain;
        return Ok(());
    }
    let mut drain = Drain::new(cluster, node, options);
    drain.start(&node_object, now).await?;
    drain.until_done(progress, total, report).await
}

/// The keys of the pods whose verdict passes `keep`, in the order they came.
fn keys_where(verdicts: &[(Pod, PodDrain)], keep: impl Fn(&PodDrain) -> bool) -> Vec<String> {
    verdicts
        .iter()
        .filter(|(_, v)| keep(v))
        .map(|(p, _)| p.key())
        .collect()
}

/// The pods blocked for a reason that waiting does not lift (all but [`Blocker::TooYoung`]).
fn permanent_blockers(verdicts: &[(Pod, PodDrain)]) -> Vec<PodNote> {
    verdicts
        .iter()
        .filter_map(|(p, v)| match v {
            PodDrain::Block(b) if !matches!(b, Blocker::TooYoung { .. }) => Some(PodNote {
                pod: p.key(),
                why: b.to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// One drain under way, past its checks: the node, how to drain it, and what it remembers
/// about each pod between looks at the node.
struct Drain<'a, C> {
    cluster: &'a C,
    node: &'a str,
    options: &'a DrainOptions,
    /// Per pod: when to ask again, and the wait after the next refusal.
    retry: HashMap<String, (Instant, Duration)>,
    /// Per pod: why the last eviction was refused.
    refusals: HashMap<String, String>,
    /// Pods a best-effort drain could not evict: reported, never asked again, and no reason to
    /// keep waiting.
    gave_up: HashMap<String, String>,
}

/// What asking to evict a pod came to.
enum Asked {
    /// Evicted: the pod is terminating.
    Evicted,
    /// The pod was already gone: it is no longer in the way.
    Gone,
    /// A best-effort drain gave up on the pod, for this reason.
    GaveUp(String),
    /// Refused (a PodDisruptionBudget): asked again later.
    Refused,
}

impl<'a, C: ClusterWriter> Drain<'a, C> {
    /// A drain of `node` that has not yet looked at its pods.
    fn new(cluster: &'a C, node: &'a str, options: &'a DrainOptions) -> Self {
        Drain {
            cluster,
            node,
            options,
            retry: HashMap::new(),
            refusals: HashMap::new(),
            gave_up: HashMap::new(),
        }
    }

    /// Cordons the node and records when the drain started (`now`), unless it resumes one
    /// already under way: a drain resumed after a restart keeps its original start time, and
    /// a new one starts now (the cordon dropped any stale record).
    async fn start(&self, node_object: &Node, now: Timestamp) -> Result<(), CallError> {
        let node = self.node;
        let cordon = self.cluster.cordon(node, self.options.claim).await?;
        match cordon {
            Cordon::Cordoned => tracing::info!(node, "cordoned"),
            Cordon::AlreadyUnschedulable => tracing::info!(node, "already cordoned"),
        }
        let resumed = cordon == Cordon::AlreadyUnschedulable
            && annotation(node_object, keys::DRAIN_STARTED).is_some();
        if !resumed {
            self.cluster
                .annotate(node, &[(keys::DRAIN_STARTED, Some(now.to_string()))])
                .await?;
        }
        Ok(())
    }

    /// Looks at the node's pods every poll, evicting what is due, until only pods left by
    /// design (or given up on) remain, or the timeout passes.
    async fn until_done(
        &mut self,
        progress: &dyn DrainProgress,
        total: usize,
        report: &mut DrainReport,
    ) -> Result<(), CallError> {
        let deadline = Instant::now() + self.options.timeout;
        loop {
            let remaining = self.look(report).await?;
            progress.update(
                remaining.len(),
                total.max(remaining.len()),
                &status(&remaining),
            );
            // Only the pods a best-effort drain gave up on are left: they go with the node.
            let waiting = remaining
                .iter()
                .filter(|p| !self.gave_up.contains_key(&p.pod))
                .count();
            if waiting == 0 && !remaining.is_empty() {
                report.result = DrainResult::Drained;
                report.remaining = remaining;
                return Ok(());
            }
            if remaining.is_empty() {
                self.finish().await?;
                report.result = DrainResult::Drained;
                return Ok(());
            }
            if Instant::now() >= deadline {
                report.result = DrainResult::TimedOut;
                report.remaining = remaining;
                return Ok(());
            }
            tokio::time::sleep(self.options.poll.min(deadline - Instant::now())).await;
        }
    }

    /// Records the end of the drain on the node. With a pod selector, pods outside it may
    /// still run there: the drain ends, but the node is not recorded as drained.
    async fn finish(&self) -> Result<(), CallError> {
        let finished = self
            .options
            .pod_selector
            .is_none()
            .then(|| Timestamp::now().to_string());
        self.cluster
            .annotate(
                self.node,
                &[(keys::DRAINED_AT, finished), (keys::DRAIN_STARTED, None)],
            )
            .await
    }

    /// One look at the node's pods: evicts those that are due, and returns those still in
    /// the way, with why.
    async fn look(&mut self, report: &mut DrainReport) -> Result<Vec<PodNote>, CallError> {
        let pods = self
            .cluster
            .pods_on(self.node, self.options.pod_selector.as_deref())
            .await?;
        let now = Timestamp::now();
        let mut remaining = Vec::new();
        for pod in &pods {
            if let Some(note) = self.attend(pod, now, report).await? {
                remaining.push(note);
            }
        }
        Ok(remaining)
    }

    /// One pod in a look: asks to evict it when the engine allows and it is due, and says why
    /// it is still in the way (`None`: it is not, or a best-effort drain leaves it be).
    async fn attend(
        &mut self,
        pod: &Pod,
        now: Timestamp,
        report: &mut DrainReport,
    ) -> Result<Option<PodNote>, CallError> {
        let verdict = classify(pod, &self.options.policy, now);
        let Some(mut why) = obstacle(pod, &verdict) else {
            return Ok(None);
        };
        if self.options.best_effort && matches!(verdict, PodDrain::Block(_)) {
            return Ok(None);
        }
        let key = pod.key();
        if let Some(why) = self.gave_up.get(&key) {
            return Ok(Some(PodNote {
                pod: key,
                why: why.clone(),
            }));
        }
        if verdict == PodDrain::Evict && !pod.deleting {
            let due = self
                .retry
                .get(&key)
                .is_none_or(|(at, _)| *at <= Instant::now());
            if due {
                match self.ask(pod, &key, report).await? {
                    Asked::Evicted => why = "terminating".into(),
                    Asked::Gone => return Ok(None),
                    Asked::GaveUp(why) => return Ok(Some(PodNote { pod: key, why })),
                    Asked::Refused => {}
                }
            }
            if let Some(reason) = self.refusals.get(&key) {
                why = format!("eviction refused: {reason}");
            }
        }
        Ok(Some(PodNote { pod: key, why }))
    }

    /// Asks the API server to evict the pod (`key`), and records what came of it. A
    /// best-effort drain goes on past a pod it cannot evict: the node goes anyway, and the
    /// other pods must still move in time.
    async fn ask(
        &mut self,
        pod: &Pod,
        key: &str,
        report: &mut DrainReport,
    ) -> Result<Asked, CallError> {
        let node = self.node;
        let eviction = self
            .cluster
            .evict(
                &pod.namespace,
                &pod.name,
                self.options.termination_grace_seconds,
            )
            .await;
        let eviction = match (eviction, self.options.best_effort) {
            (Ok(e), _) => e,
            (Err(e), true) => {
                tracing::warn!(node, pod = %key, error = %e, "eviction failed; going on with the others");
                return Ok(self.give_up(key, format!("eviction failed: {e}")));
            }
            (Err(e), false) => return Err(e),
        };
        match eviction {
            Eviction::Evicted => {
                tracing::info!(node, pod = %key, "evicted");
                report.evicted.push(key.to_string());
                self.refusals.remove(key);
                Ok(Asked::Evicted)
            }
            Eviction::Gone => Ok(Asked::Gone),
            Eviction::Impossible(reason) if self.options.best_effort => {
                tracing::warn!(node, pod = %key, %reason, "cannot be evicted; going on with the others");
                Ok(self.give_up(key, format!("cannot be evicted: {reason}")))
            }
            Eviction::Impossible(reason) => Err(CallError::new(
                ErrorClass::RefusedByPdb,
                format!("evicting pod {key}: {reason} (HTTP 500)"),
            )),
            Eviction::Refused(reason) => {
                self.refused(key, reason);
                Ok(Asked::Refused)
            }
        }
    }

    /// Gives up on a pod for good (a best-effort drain), remembering why.
    fn give_up(&mut self, key: &str, why: String) -> Asked {
        self.gave_up.insert(key.to_string(), why.clone());
        Asked::GaveUp(why)
    }

    /// Records a refused eviction: the pod is asked again after a wait that doubles with each
    /// refusal, up to `max_retry_wait`.
    fn refused(&mut self, key: &str, reason: String) {
        let options = self.options;
        let wait = self
            .retry
            .get(key)
            .map_or(options.retry_wait, |(_, w)| *w * 2)
            .min(options.max_retry_wait);
        tracing::info!(node = self.node, pod = %key, %reason, ?wait, "eviction refused");
        self.retry
            .insert(key.to_string(), (Instant::now() + wait, wait));
        self.refusals.insert(key.to_string(), reason);
    }
}

fn status(remaining: &[PodNote]) -> String {
    match remaining {
        [] => "drained".into(),
        [one] => format!("{}: {}", one.pod, one.why),
        [first, rest @ ..] => format!("{}: {} (+{} more)", first.pod, first.why, rest.len()),
    }
}

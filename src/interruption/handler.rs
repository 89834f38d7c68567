//! `ekas run --interruption-queue`: acts on AWS's warnings that an instance of a managed group
//! is about to go, in a task of its own so a Spot warning's two minutes are not spent waiting
//! for the next pass.
//!
//! 1. Long-poll each queue while this process holds the Lease (a standby must not consume
//!    messages it cannot act on) and once a pass has said which instances are ekas's. A message
//!    is kept hidden while it is handled (its visibility extended), so a process that stops
//!    mid-way leaves it to the next within minutes.
//! 2. Read it ([`super::parse`]). Malformed and ignored messages are deleted, the malformed with
//!    a Warning Event.
//! 3. Trust it only from the expected source, a region of `--regions` and (with
//!    `--interruption-accounts`) an allowed account ([`super::trust`]); otherwise delete it with
//!    a Warning Event. Then check each claim against what ekas reads itself: the instance is a
//!    member of a managed group (for a lifecycle action: the group AWS says it is in, in
//!    `Terminating:Wait`, under a termination hook that group has); the Node named for it still
//!    has that instance as its providerID. Group and hook names come from ekas's reads, never
//!    from the message.
//! 4. Act on the notice ([`super::response`]): cordon (as ekas's own), record it on the Node
//!    ([`super::marks`]), and drain with the time left — a best-effort drain that goes past
//!    what it cannot evict; or, for a lifecycle hook, move what is not a running job, heartbeat
//!    while the jobs finish (up to `--lifecycle-hook-max-wait`, inside the hook's own global
//!    timeout), then evict the rest and CONTINUE. An instance without a Node (ekas's own
//!    termination) is continued at once.
//! 5. Delete the message once handled. A failure leaves it for SQS to show again; after
//!    [`POISON_AFTER`] receives it is deleted with a Warning Event. A duplicate changes
//!    nothing twice.
//!
//! The group's desired capacity is left as it is: the group replaces the instance, and the
//! next pass plans for pods the replacement cannot take.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use color_eyre::eyre::{Result, WrapErr, eyre};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ObjectReference;

use super::marks;
use super::response::{Response, Timing};
use super::trust::Trust;
use super::{InterruptionSettings, QueueRef};
use super::{Message, Notice, NoticeKind, Origin};
use crate::actuate::drain::{DrainOptions, DrainReport, drain_node};
use crate::aws::scaling::{self, TerminationHook};
use crate::aws::{RegionClients, describe_error};
use crate::call::CallError;
use crate::engine::scale_in::drain::{DrainPolicy, PodDrain, classify};
use crate::events::{Events, Pending};
use crate::guard::Guard;
use crate::metrics::metrics;
use crate::model::{Node, Snapshot};
use crate::provider::{Change, ClusterWriter, Gate, Guarded};

/// Pods get this much less than the time left, so they are gone before the instance is.
const GRACE_MARGIN: Duration = Duration::from_secs(15);
/// A received message stays hidden this long, extended every half of it while it is handled:
/// a process that stops mid-way leaves it to the next this soon.
const VISIBILITY: Duration = Duration::from_secs(300);
/// How long a handled notice is remembered, so its duplicates change nothing.
const REMEMBER: Duration = Duration::from_secs(3600);
/// A message whose handling failed this many times is deleted, with a Warning Event.
pub const POISON_AFTER: u32 = 5;
/// Jobs held by a lifecycle hook are evicted this long before the hook's global timeout would
/// end the wait on its own.
const HOOK_MARGIN: Duration = Duration::from_secs(600);
/// How often the pods of a node whose hook is held are looked at.
const JOB_POLL: Duration = Duration::from_secs(15);

/// What ekas knows of an instance of one of its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub group: String,
    pub region: String,
    /// Its Node, when one registered.
    pub node: Option<String>,
}

/// What the loop and the interruption handler share: the managed groups and their instances,
/// as the last pass saw them (`None` until the first pass, so no notice is taken for foreign
/// before ekas knows its own), and the notices of the last hour, which the next pass shows per
/// group and `--avoid-interrupted-groups` ranks by.
#[derive(Debug, Clone, Default)]
pub struct Members {
    known: Arc<RwLock<Option<Known>>>,
    /// (group, region) of each notice, and when it came.
    notices: Arc<Mutex<Vec<(String, String, Instant)>>>,
}

#[derive(Debug, Default)]
struct Known {
    instances: HashMap<String, Member>,
    /// (region, group) of every managed group.
    groups: HashSet<(String, String)>,
}

impl Members {
    pub fn publish(&self, snapshot: &Snapshot) {
        let mut instances: HashMap<String, Member> = snapshot
            .groups
            .iter()
            .flat_map(|g| {
                g.members.iter().map(|m| {
                    let member = Member {
                        group: g.name.clone(),
                        region: g.region.clone(),
                        node: None,
                    };
                    (m.instance_id.clone(), member)
                })
            })
            .collect();
        for node in &snapshot.nodes {
            if let Some(m) = node
                .instance_id
                .as_ref()
                .and_then(|id| instances.get_mut(id))
            {
                m.node = Some(node.name.clone());
            }
        }
        let groups = snapshot
            .groups
            .iter()
            .map(|g| (g.region.clone(), g.name.clone()))
            .collect();
        *self.known.write().unwrap_or_else(|e| e.into_inner()) = Some(Known { instances, groups });
    }

    /// Sets each group's notices of the last hour.
    pub fn count_interruptions(&self, snapshot: &mut Snapshot) {
        let mut notices = self.notices.lock().unwrap_or_else(|e| e.into_inner());
        notices.retain(|(_, _, at)| at.elapsed() < REMEMBER);
        for group in &mut snapshot.groups {
            group.recent_interruptions = notices
                .iter()
                .filter(|(g, r, _)| *g == group.name && *r == group.region)
                .count() as u32;
        }
    }

    fn record(&self, member: &Member) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((member.group.clone(), member.region.clone(), Instant::now()));
    }

    fn known(&self) -> bool {
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn get(&self, instance_id: &str) -> Option<Member> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known.as_ref()?.instances.get(instance_id).cloned()
    }

    fn manages(&self, region: &str, group: &str) -> bool {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known
            .as_ref()
            .is_some_and(|k| k.groups.contains(&(region.to_string(), group.to_string())))
    }

    /// The Node of an instance, as the last pass matched them.
    fn node_of(&self, instance_id: &str) -> Option<String> {
        self.get(instance_id)?.node
    }
}

/// A queue, found.
struct Queue {
    url: String,
    clients: RegionClients,
}

/// Everything a handler needs; shared by the queues' tasks.
pub struct Handler {
    pub kube: kube::Client,
    pub aws: Vec<RegionClients>,
    pub members: Members,
    pub guard: Guard,
    pub trust: Trust,
    pub timing: Timing,
    /// A message whose handling failed is shown again after this long.
    retry_after: Duration,
    /// Warning Events about messages ekas would not act on.
    events: tokio::sync::Mutex<Events>,
    /// Notices handled lately: (instance, kind) → when.
    handled: Mutex<HashMap<(String, NoticeKind), Instant>>,
}

/// How a message ended. The label of `ekas_interruption_messages_total{result}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handled {
    /// Drained (or held for its jobs and continued).
    Acted,
    /// Recorded on its Node, to be drained when due.
    Recorded,
    /// Cordoned only.
    Cordoned,
    Duplicate,
    /// About instances of no managed group.
    Foreign,
    Ignored(String),
    Malformed(String),
    /// Not trusted: its origin, or a claim ekas's own reads contradict.
    Rejected(String),
}

impl Handled {
    fn label(&self) -> &'static str {
        match self {
            Handled::Acted => "acted",
            Handled::Recorded => "recorded",
            Handled::Cordoned => "cordoned",
            Handled::Duplicate => "duplicate",
            Handled::Foreign => "foreign",
            Handled::Ignored(_) => "ignored",
            Handled::Malformed(_) => "malformed",
            Handled::Rejected(_) => "rejected",
        }
    }

    /// The more telling of two outcomes of one message's notices.
    fn max(self, other: Handled) -> Handled {
        let rank = |h: &Handled| match h {
            Handled::Rejected(_) => 6,
            Handled::Acted => 5,
            Handled::Recorded => 4,
            Handled::Cordoned => 3,
            Handled::Duplicate => 2,
            _ => 1,
        };
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }
}

fn count(result: &str) {
    metrics()
        .interruption_messages
        .get_or_create(&vec![("result", result.to_string())])
        .inc();
}

impl Handler {
    /// `lease`: the object Warning Events about messages are recorded on.
    pub fn new(
        kube: kube::Client,
        aws: Vec<RegionClients>,
        members: Members,
        guard: Guard,
        settings: &InterruptionSettings,
        lease: (&str, &str),
    ) -> Handler {
        let events = Events::new(kube.clone(), lease, guard.clone());
        Handler {
            kube,
            aws,
            members,
            guard,
            trust: settings.trust.clone(),
            timing: settings.timing,
            retry_after: settings.retry_after,
            events: tokio::sync::Mutex::new(events),
            handled: Mutex::default(),
        }
    }
}

/// Finds every queue; a queue that cannot be found stops ekas before it starts.
pub async fn start(handler: Arc<Handler>, queues: &[QueueRef], poll: Duration) -> Result<()> {
    let mut found = Vec::new();
    for q in queues {
        let clients = handler
            .aws
            .iter()
            .find(|c| c.region == q.region)
            .ok_or_else(|| eyre!("no AWS client for region {}", q.region))?
            .clone();
        let url = if q.name_or_url.contains("://") {
            q.name_or_url.clone()
        } else {
            clients
                .sqs
                .get_queue_url()
                .queue_name(&q.name_or_url)
                .send()
                .await
                .map_err(describe_error)
                .map_err(|e| eyre!("{e}"))
                .wrap_err_with(|| {
                    format!(
                        "--interruption-queue {} ({}): GetQueueUrl; check the name and the \
                         sqs:GetQueueUrl permission",
                        q.name_or_url, q.region
                    )
                })?
                .queue_url
                .ok_or_else(|| eyre!("GetQueueUrl for {} returned no URL", q.name_or_url))?
        };
        tracing::info!(queue = %url, region = %q.region, "watching for interruptions");
        found.push(Queue { url, clients });
    }
    for queue in found {
        tokio::spawn(watch(handler.clone(), Arc::new(queue), poll));
    }
    Ok(())
}

/// Receives from one queue for the life of the process.
async fn watch(handler: Arc<Handler>, queue: Arc<Queue>, poll: Duration) {
    let wait = i32::try_from(poll.as_secs().clamp(1, 20)).unwrap_or(20);
    loop {
        if handler.guard.check().is_err() || !handler.members.known() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let received = queue
            .clients
            .sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .visibility_timeout(VISIBILITY.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue.url, error = %describe_error(e), "receiving interruption messages");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for message in messages {
            // Each message on its own: one slow drain does not hold up the next warning.
            tokio::spawn(one_message(handler.clone(), queue.clone(), message));
        }
    }
}

async fn one_message(
    handler: Arc<Handler>,
    queue: Arc<Queue>,
    message: aws_sdk_sqs::types::Message,
) {
    let body = message.body.as_deref().unwrap_or_default();
    let receives: u32 = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let Some(receipt) = message.receipt_handle.clone() else {
        return;
    };
    let hidden = tokio::spawn(keep_hidden(queue.clone(), receipt.clone()));
    let result = handler.handle(body, &queue.clients.region).await;
    hidden.abort();
    let delete = match &result {
        Ok(how) => {
            count(how.label());
            match how {
                Handled::Malformed(why) | Handled::Rejected(why) => {
                    tracing::warn!(queue = %queue.url, %why, body = %body.chars().take(300).collect::<String>(), "interruption message not acted on; deleted");
                    handler.warn(how.label(), why).await;
                }
                Handled::Ignored(why) => {
                    tracing::info!(queue = %queue.url, %why, "interruption message ignored")
                }
                how => {
                    tracing::info!(queue = %queue.url, result = how.label(), "interruption message handled")
                }
            }
            true
        }
        Err(e) if receives >= POISON_AFTER => {
            count("poison");
            let why = format!("handling failed {receives} times, last: {e:#}");
            tracing::error!(queue = %queue.url, %why, "interruption message dropped");
            handler.warn("poison", &why).await;
            true
        }
        Err(e) => {
            count("failed");
            let retry = handler.retry_after;
            tracing::warn!(queue = %queue.url, receives, error = %format!("{e:#}"), ?retry, "interruption message not handled; SQS shows it again");
            let shown_again = queue
                .clients
                .sqs
                .change_message_visibility()
                .queue_url(&queue.url)
                .receipt_handle(&receipt)
                .visibility_timeout(retry.as_secs().max(1) as i32)
                .send()
                .await;
            if let Err(e) = shown_again {
                tracing::warn!(queue = %queue.url, error = %describe_error(e), "setting when a failed message is shown again");
            }
            false
        }
    };
    if delete
        && let Err(e) = queue
            .clients
            .sqs
            .delete_message()
            .queue_url(&queue.url)
            .receipt_handle(receipt)
            .send()
            .await
    {
        tracing::warn!(queue = %queue.url, error = %describe_error(e), "deleting a handled message");
    }
}

/// Keeps a message hidden while it is handled, for as long as that takes.
async fn keep_hidden(queue: Arc<Queue>, receipt: String) {
    loop {
        tokio::time::sleep(VISIBILITY / 2).await;
        let extended = queue
            .clients
            .sqs
            .change_message_visibility()
            .queue_url(&queue.url)
            .receipt_handle(&receipt)
            .visibility_timeout(VISIBILITY.as_secs() as i32)
            .send()
            .await;
        if let Err(e) = extended {
            tracing::warn!(queue = %queue.url, error = %describe_error(e), "keeping a message hidden while it is handled");
        }
    }
}

/// A notice, checked: the member it is about, the region it is in, and for a lifecycle action
/// the hook as the group defines it.
struct Checked {
    member: Member,
    /// The Node to act on: the member's, when its providerID still names the instance.
    node: Option<String>,
    hook: Option<TerminationHook>,
}

impl Handler {
    async fn handle(&self, body: &str, queue_region: &str) -> Result<Handled> {
        let (origin, notices) = match super::parse::parse(body, Timestamp::now()) {
            Err(why) => return Ok(Handled::Malformed(why)),
            Ok(Message::Ignored(why)) => return Ok(Handled::Ignored(why)),
            Ok(Message::Notices(origin, notices)) => (origin, notices),
        };
        let mut how = Handled::Foreign;
        for notice in notices {
            let region = match self.trust.check(&origin, notice.kind, queue_region) {
                Ok(region) => region,
                Err(rejection) => {
                    return Ok(Handled::Rejected(format!(
                        "{} notice for {}: {rejection}",
                        notice.kind.as_str(),
                        notice.instance_id
                    )));
                }
            };
            let checked = match self.check(&notice, &region).await? {
                Ok(Some(checked)) => checked,
                Ok(None) => continue,
                Err(why) => return Ok(Handled::Rejected(why)),
            };
            how = how.max(self.once(&notice, &origin, checked).await?);
        }
        Ok(how)
    }

    /// The notice's claims against ekas's own reads: `Ok(None)` when the instance is no
    /// managed group's, `Err` when a claim is contradicted.
    async fn check(
        &self,
        notice: &Notice,
        region: &str,
    ) -> Result<Result<Option<Checked>, String>> {
        let id = &notice.instance_id;
        let Some(lifecycle) = &notice.lifecycle else {
            let Some(member) = self.members.get(id) else {
                tracing::info!(instance = %id, kind = notice.kind.as_str(), "not an instance of a managed group; ignored");
                return Ok(Ok(None));
            };
            if member.region != region {
                return Ok(Err(format!(
                    "{} notice from {region} for {id}, an instance of {} in {}",
                    notice.kind.as_str(),
                    member.group,
                    member.region
                )));
            }
            let node = self.node_still_of(member.node.as_deref(), id).await?;
            return Ok(Ok(Some(Checked {
                member,
                node,
                hook: None,
            })));
        };
        // A lifecycle action: which group holds the instance, and in which state, as the group
        // says now (ekas's own terminations have no Node left, and may be no member the last
        // pass saw).
        let clients = self.clients(region)?;
        let Some((group, state)) = scaling::instance_membership(clients, id).await? else {
            return Ok(Err(format!(
                "lifecycle action for {id}, which no group in {region} has"
            )));
        };
        if !self.members.manages(region, &group) {
            tracing::info!(instance = %id, %group, "lifecycle action for a group ekas does not manage; ignored");
            return Ok(Ok(None));
        }
        if group != lifecycle.group {
            return Ok(Err(format!(
                "lifecycle action names group {} for {id}, which is in {group}",
                lifecycle.group
            )));
        }
        if !state.starts_with("Terminating") {
            return Ok(Err(format!(
                "lifecycle action for {id} of {group}, which is {state}, not terminating"
            )));
        }
        let hooks = scaling::termination_hooks(clients, &group).await?;
        let Some(hook) = hooks.into_iter().find(|h| h.name == lifecycle.hook) else {
            return Ok(Err(format!(
                "lifecycle action names hook {} of {group}, which has no such termination hook",
                lifecycle.hook
            )));
        };
        let member = Member {
            group,
            region: region.to_string(),
            node: self.members.node_of(id),
        };
        let node = self.node_still_of(member.node.as_deref(), id).await?;
        Ok(Ok(Some(Checked {
            member,
            node,
            hook: Some(hook),
        })))
    }

    /// `node`, if it still exists and its providerID names `instance`: a Node replaced since
    /// the last pass (a reused name) must not be drained for another machine's notice.
    async fn node_still_of(&self, node: Option<&str>, instance: &str) -> Result<Option<String>> {
        let Some(name) = node else { return Ok(None) };
        let Some(found) = crate::kubernetes::read::node_if_exists(&self.kube, name).await? else {
            return Ok(None);
        };
        let now_of = found
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.as_deref())
            .and_then(Node::instance_id_from_provider_id);
        if now_of.as_deref() != Some(instance) {
            tracing::warn!(node = %name, %instance, provider = ?now_of, "the Node no longer runs the notice's instance; left alone");
            return Ok(None);
        }
        Ok(Some(name.to_string()))
    }

    fn clients(&self, region: &str) -> Result<&RegionClients> {
        self.aws
            .iter()
            .find(|c| c.region == region)
            .ok_or_else(|| eyre!("no AWS client for region {region}"))
    }

    /// Acts on a notice once: a duplicate arriving meanwhile, or within the hour, changes
    /// nothing.
    async fn once(&self, notice: &Notice, origin: &Origin, checked: Checked) -> Result<Handled> {
        let key = (notice.instance_id.clone(), notice.kind);
        {
            let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
            handled.retain(|_, at| at.elapsed() < REMEMBER);
            if handled.insert(key.clone(), Instant::now()).is_some() {
                return Ok(Handled::Duplicate);
            }
        }
        let result = self.act(notice, origin, &checked).await;
        if result.is_err() {
            // Not done: the message comes back, and is acted on then.
            let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
            handled.remove(&key);
        }
        result
    }

    async fn act(&self, notice: &Notice, origin: &Origin, checked: &Checked) -> Result<Handled> {
        let member = &checked.member;
        self.members.record(member);
        metrics()
            .interruptions
            .get_or_create(&vec![
                ("kind", notice.kind.as_str().to_string()),
                ("group", member.group.clone()),
            ])
            .inc();
        tracing::warn!(instance = %notice.instance_id, group = %member.group, node = ?checked.node, kind = notice.kind.as_str(), deadline = ?notice.deadline, "interruption notice");
        let started = Instant::now();
        let now = Timestamp::now();
        let response = notice.response(now, self.timing);
        if let Some(node) = &checked.node {
            self.mark(node, notice, origin, now).await?;
        }
        let how = match response {
            Response::Cordon => Handled::Cordoned,
            Response::Record { due } => {
                tracing::info!(instance = %notice.instance_id, %due, "recorded on its Node; drained when due");
                Handled::Recorded
            }
            Response::Drain { within } => {
                let within = Duration::try_from(within).unwrap_or_default();
                self.drain(checked, notice.deadline.is_some(), within, true)
                    .await?;
                Handled::Acted
            }
            Response::HoldForJobs { wait } => {
                self.hold_for_jobs(notice, checked, wait).await?;
                Handled::Acted
            }
        };
        if how == Handled::Acted {
            metrics()
                .interruption_drain
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(how)
    }

    fn gate(&self) -> Gate {
        Gate::new(self.guard.clone(), false)
    }

    /// Cordons the node as ekas's own and records the notice on it.
    async fn mark(
        &self,
        node: &str,
        notice: &Notice,
        origin: &Origin,
        now: Timestamp,
    ) -> Result<()> {
        let cluster = Guarded::new(&self.kube, self.gate());
        cluster
            .cordon(node, true)
            .await
            .map_err(|e| eyre!("cordoning {node}: {e}"))?;
        let annotations = marks::annotations(notice, origin, now);
        let refs: Vec<(&str, Option<String>)> = annotations.into_iter().collect();
        cluster
            .annotate(node, &refs)
            .await
            .map_err(|e| eyre!("recording the notice on {node}: {e}"))?;
        Ok(())
    }

    /// Evicts what may move from the node within `within`; `jobs`: running jobs too. With a
    /// known deadline, pods' grace is capped so they end before it.
    async fn drain(
        &self,
        checked: &Checked,
        dated: bool,
        within: Duration,
        jobs: bool,
    ) -> Result<DrainReport> {
        let Some(node) = &checked.node else {
            return Ok(DrainReport::nothing(""));
        };
        let cluster = Guarded::new(&self.kube, self.gate());
        let options = DrainOptions {
            // The node goes anyway: whatever may move, moves.
            policy: DrainPolicy {
                min_pod_age: SignedDuration::ZERO,
                evict_unmanaged: true,
                evict_local_storage: true,
                evict_host_path: true,
                evict_running_jobs: jobs,
            },
            timeout: within,
            termination_grace_seconds: dated.then(|| {
                u32::try_from(within.saturating_sub(GRACE_MARGIN).as_secs().max(1))
                    .unwrap_or(u32::MAX)
            }),
            best_effort: true,
            claim: true,
            ..DrainOptions::default()
        };
        let report = drain_node(&cluster, node, &options, &()).await;
        tracing::info!(%node, result = %report.summary(), evicted = report.evicted.len(), left = report.remaining.len(), "interruption drain");
        for left in &report.remaining {
            tracing::warn!(%node, pod = %left.pod, why = %left.why, "not evicted; it goes with the instance");
        }
        match &report.error {
            Some(e) => Err(eyre!("draining {node}: {e}")),
            None => Ok(report),
        }
    }

    /// A lifecycle hook holds the instance: what is not a running job moves now; the hook is
    /// kept alive while the jobs finish, at most `wait` and never past the hook's own global
    /// timeout; then the jobs left are evicted and the group told to continue.
    async fn hold_for_jobs(
        &self,
        notice: &Notice,
        checked: &Checked,
        wait: SignedDuration,
    ) -> Result<()> {
        let hook = checked
            .hook
            .as_ref()
            .ok_or_else(|| eyre!("a lifecycle action without its hook"))?;
        let action = notice
            .lifecycle
            .as_ref()
            .ok_or_else(|| eyre!("a lifecycle notice without its action"))?;
        let group = &checked.member.group;
        let clients = self.clients(&checked.member.region)?;
        let id = notice.instance_id.as_str();
        let token = action.token.as_deref();
        let drain_time = Duration::try_from(self.timing.drain).unwrap_or_default();
        let limit = Duration::try_from(wait)
            .unwrap_or_default()
            .min(hook.global_timeout.saturating_sub(drain_time + HOOK_MARGIN));
        let beat_every =
            (hook.heartbeat_timeout / 2).clamp(Duration::from_secs(5), Duration::from_secs(60));
        let gate = self.gate();
        let beat = || {
            gate.call(Change::LifecycleAction, id, async {
                scaling::record_lifecycle_heartbeat(clients, group, &hook.name, id, token)
                    .await
                    .map_err(|e| CallError::from_report(&e))
            })
        };
        let work = async {
            if checked.node.is_some() {
                self.drain(checked, false, drain_time, false).await?;
                let until = Instant::now() + limit;
                while Instant::now() < until && self.jobs_left(checked).await? > 0 {
                    tokio::time::sleep(
                        JOB_POLL.min(until.saturating_duration_since(Instant::now())),
                    )
                    .await;
                }
                let left = self.jobs_left(checked).await?;
                if left > 0 {
                    tracing::warn!(node = ?checked.node, left, waited = ?limit, "jobs still running when the lifecycle hook's wait ends; evicting them");
                }
                self.drain(checked, false, drain_time, true).await?;
            }
            Ok::<_, color_eyre::Report>(())
        };
        tokio::pin!(work);
        // The hook's wait runs out while the drain goes on unless it hears from ekas.
        loop {
            tokio::select! {
                result = &mut work => { result?; break; }
                _ = tokio::time::sleep(beat_every) => {
                    if let Err(e) = beat().await {
                        tracing::warn!(error = %e, "lifecycle heartbeat");
                    }
                }
            }
        }
        gate.call(Change::LifecycleAction, id, async {
            scaling::complete_lifecycle_action(clients, group, &hook.name, id, token)
                .await
                .map_err(|e| CallError::from_report(&e))
        })
        .await
        .map_err(|e| eyre!("{e}"))?;
        Ok(())
    }

    /// Running jobs still on the checked node (pods whose eviction would lose work).
    async fn jobs_left(&self, checked: &Checked) -> Result<usize> {
        let Some(node) = &checked.node else {
            return Ok(0);
        };
        let cluster = Guarded::new(&self.kube, self.gate());
        let pods = cluster
            .pods_on(node, None)
            .await
            .map_err(|e| eyre!("reading the pods on {node}: {e}"))?;
        let policy = DrainPolicy {
            min_pod_age: SignedDuration::ZERO,
            evict_unmanaged: true,
            evict_local_storage: true,
            evict_host_path: true,
            evict_running_jobs: false,
        };
        let now = Timestamp::now();
        Ok(pods
            .iter()
            .filter(|p| p.is_active() && !p.deleting)
            .filter(|p| matches!(classify(p, &policy, now), PodDrain::Block(_)))
            .count())
    }

    /// A Warning Event, on ekas's Lease, about a message ekas did not act on.
    async fn warn(&self, result: &'static str, why: &str) {
        let reason = match result {
            "malformed" => "InterruptionMessageMalformed",
            "rejected" => "InterruptionMessageRejected",
            _ => "InterruptionMessageDropped",
        };
        let mut events = self.events.lock().await;
        let reference: ObjectReference = events.cluster();
        events
            .send(vec![Pending {
                reference,
                key: format!("interruption-{why}"),
                reason,
                warning: true,
                note: why.to_string(),
            }])
            .await;
    }
}

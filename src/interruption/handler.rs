//! `ekas run --interruption-queue`: acts on AWS's warnings that an instance of a managed group
//! is about to go, in a task of its own so a Spot warning's two minutes are not spent waiting
//! for the next pass.
//!
//! 1. Long-poll each queue while this process holds the Lease (a standby must not consume
//!    messages it cannot act on) and once a pass has said which instances are ekas's.
//! 2. Read each message ([`crate::interruption::parse`]). Malformed and foreign messages are
//!    logged and deleted.
//! 3. For an instance of a managed group with a Node: cordon it, and unless the instance is
//!    already gone, drain it with the time left — pods' termination grace capped so they end
//!    before the deadline, pods that may not be evicted left to go with the node. The cordon is
//!    not claimed as ekas's, so scale-in never uncordons or reuses the node.
//! 4. For a lifecycle hook: heartbeat while draining, then CONTINUE.
//! 5. Delete the message only once handled; a failed handling is retried when SQS shows the
//!    message again. A notice already handled (a duplicate) changes nothing twice.
//!
//! The group's desired capacity is left as it is: the group replaces the instance, and the
//! next pass plans for pods the replacement cannot take.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, eyre};
use jiff::Timestamp;

use crate::actuate::drain::{DrainOptions, drain_node};
use crate::actuate::outcome::CallError;
use crate::actuate::provider::{Change, ClusterWriter, Gate, Guarded};
use crate::aws::{RegionClients, scaling};
use crate::engine::drain::DrainPolicy;
use crate::guard::Guard;
use crate::interruption::{Message, Notice, NoticeKind, Response};
use crate::metrics::metrics;
use crate::model::Snapshot;
use crate::settings::QueueRef;

/// Pods get this much less than the time left, so they are gone before the instance is.
const GRACE_MARGIN: Duration = Duration::from_secs(15);
/// SQS hides a received message this long: longer than any drain, so it reappears only when
/// this process stopped before deleting it.
const VISIBILITY: Duration = Duration::from_secs(900);
/// How long a handled notice is remembered, so its duplicates change nothing.
const REMEMBER: Duration = Duration::from_secs(3600);
/// How often a lifecycle hook hears that the drain goes on.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// What ekas knows of an instance of one of its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub group: String,
    pub region: String,
    /// Its Node, when one registered.
    pub node: Option<String>,
}

/// What the loop and the interruption handler share: the managed groups' instances, as the
/// last pass saw them (`None` until the first pass, so no notice is taken for foreign before
/// ekas knows its own), and the notices of the last hour, which the next pass shows per group
/// and `--avoid-interrupted-groups` ranks by.
#[derive(Debug, Clone, Default)]
pub struct Members {
    known: Arc<RwLock<Option<HashMap<String, Member>>>>,
    /// (group, region) of each notice, and when it came.
    notices: Arc<Mutex<Vec<(String, String, Instant)>>>,
}

impl Members {
    pub fn publish(&self, snapshot: &Snapshot) {
        let mut out: HashMap<String, Member> = snapshot
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
            if let Some(m) = node.instance_id.as_ref().and_then(|id| out.get_mut(id)) {
                m.node = Some(node.name.clone());
            }
        }
        *self.known.write().unwrap_or_else(|e| e.into_inner()) = Some(out);
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
        let members = self.known.read().unwrap_or_else(|e| e.into_inner());
        members.as_ref()?.get(instance_id).cloned()
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
    pub drain_timeout: Duration,
    /// Notices handled lately: (instance, kind) → when.
    handled: Mutex<HashMap<(String, NoticeKind), Instant>>,
}

/// How a message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handled {
    Acted,
    /// Cordoned; the drain is due later: the message is hidden until then, not deleted.
    Revisit(Duration),
    Duplicate,
    Foreign,
    Ignored(String),
    Malformed(String),
}

impl Handler {
    pub fn new(
        kube: kube::Client,
        aws: Vec<RegionClients>,
        members: Members,
        guard: Guard,
        drain_timeout: Duration,
    ) -> Handler {
        Handler {
            kube,
            aws,
            members,
            guard,
            drain_timeout,
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
                .map_err(crate::aws::describe_error)
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
        tokio::spawn(watch(handler.clone(), queue, poll));
    }
    Ok(())
}

/// Receives from one queue for the life of the process.
async fn watch(handler: Arc<Handler>, queue: Queue, poll: Duration) {
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
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue.url, error = %crate::aws::describe_error(e), "receiving interruption messages");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for message in messages {
            let (handler, clients, url) =
                (handler.clone(), queue.clients.clone(), queue.url.clone());
            // Each message on its own: one slow drain does not hold up the next warning.
            tokio::spawn(async move {
                let body = message.body.as_deref().unwrap_or_default();
                let result = handler.handle(body).await;
                match &result {
                    Ok(how) => tracing::info!(queue = %url, ?how, "interruption message handled"),
                    Err(e) => {
                        tracing::warn!(queue = %url, error = %format!("{e:#}"), "interruption message not handled; SQS shows it again later");
                        return;
                    }
                }
                let Some(receipt) = message.receipt_handle else {
                    return;
                };
                if let Ok(Handled::Revisit(after)) = result {
                    let hidden = clients
                        .sqs
                        .change_message_visibility()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .visibility_timeout(after.as_secs().clamp(1, 43_200) as i32)
                        .send()
                        .await;
                    if let Err(e) = hidden {
                        tracing::warn!(queue = %url, error = %crate::aws::describe_error(e), "hiding a notice until its drain is due");
                    }
                    return;
                }
                if let Err(e) = clients
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                {
                    tracing::warn!(queue = %url, error = %crate::aws::describe_error(e), "deleting a handled message");
                }
            });
        }
    }
}

impl Handler {
    async fn handle(&self, body: &str) -> Result<Handled> {
        let notices = match crate::interruption::parse(body) {
            Err(why) => {
                tracing::warn!(%why, body = %body.chars().take(200).collect::<String>(), "malformed interruption message; deleting it");
                return Ok(Handled::Malformed(why));
            }
            Ok(Message::Ignored(why)) => return Ok(Handled::Ignored(why)),
            Ok(Message::Notices(notices)) => notices,
        };
        let mut how = Handled::Foreign;
        for notice in notices {
            how = match (how, self.notice(&notice).await?) {
                // The message comes back for the first notice whose drain is due.
                (Handled::Revisit(a), Handled::Revisit(b)) => Handled::Revisit(a.min(b)),
                (Handled::Revisit(a), _) | (_, Handled::Revisit(a)) => Handled::Revisit(a),
                (how, Handled::Foreign) => how,
                (_, one) => one,
            };
        }
        Ok(how)
    }

    async fn notice(&self, notice: &Notice) -> Result<Handled> {
        let Some(member) = self.members.get(&notice.instance_id) else {
            tracing::info!(instance = %notice.instance_id, kind = notice.kind.as_str(), "not an instance of a managed group; ignored");
            return Ok(Handled::Foreign);
        };
        let key = (notice.instance_id.clone(), notice.kind);
        {
            let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
            handled.retain(|_, at| at.elapsed() < REMEMBER);
            // Taken at once: a duplicate arriving while this one drains changes nothing.
            if handled.insert(key.clone(), Instant::now()).is_some() {
                return Ok(Handled::Duplicate);
            }
        }
        let result = self.act(notice, &member).await;
        if matches!(result, Err(_) | Ok(Handled::Revisit(_))) {
            // Not done: the message comes back, and is acted on then.
            self.handled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
        result
    }

    async fn act(&self, notice: &Notice, member: &Member) -> Result<Handled> {
        self.members.record(member);
        metrics()
            .interruptions
            .get_or_create(&vec![
                ("kind", notice.kind.as_str().to_string()),
                ("group", member.group.clone()),
            ])
            .inc();
        tracing::warn!(instance = %notice.instance_id, group = %member.group, node = ?member.node, kind = notice.kind.as_str(), deadline = ?notice.deadline, "interruption notice");
        let started = Instant::now();
        let response = notice.response(
            Timestamp::now(),
            jiff::SignedDuration::try_from(self.drain_timeout).unwrap_or(jiff::SignedDuration::MAX),
        );
        if let Response::CordonAndRevisit { after } = response {
            self.cordon(member).await?;
            tracing::info!(instance = %notice.instance_id, revisit_in = %after, "cordoned; the drain waits until the change is near");
            return Ok(Handled::Revisit(
                Duration::try_from(after).unwrap_or_default(),
            ));
        }
        let drained = self.move_pods(notice, member, response);
        let drained = match &notice.lifecycle {
            Some(action) => {
                let clients = self
                    .aws
                    .iter()
                    .find(|c| c.region == member.region)
                    .ok_or_else(|| eyre!("no AWS client for region {}", member.region))?;
                let token = action.token.as_deref();
                let gate = self.gate();
                let id = notice.instance_id.as_str();
                // The hook's wait runs out while the drain goes on unless it hears from ekas.
                tokio::pin!(drained);
                let result = loop {
                    tokio::select! {
                        result = &mut drained => break result,
                        _ = tokio::time::sleep(HEARTBEAT) => {
                            let beat = gate.call(Change::LifecycleAction, id, async {
                                scaling::record_lifecycle_heartbeat(clients, &action.group, &action.hook, id, token)
                                    .await
                                    .map_err(|e| CallError::from_report(&e))
                            });
                            if let Err(e) = beat.await {
                                tracing::warn!(error = %e, "lifecycle heartbeat");
                            }
                        }
                    }
                };
                result?;
                gate.call(Change::LifecycleAction, id, async {
                    scaling::complete_lifecycle_action(
                        clients,
                        &action.group,
                        &action.hook,
                        id,
                        token,
                    )
                    .await
                    .map_err(|e| CallError::from_report(&e))
                })
                .await
                .map_err(|e| eyre!("{e}"))?;
                Ok(())
            }
            None => drained.await,
        };
        drained?;
        metrics()
            .interruption_drain
            .observe(started.elapsed().as_secs_f64());
        Ok(Handled::Acted)
    }

    /// Every change passes the actuator's gate: only while the Lease is held.
    fn gate(&self) -> Gate {
        Gate::new(self.guard.clone(), false)
    }

    /// Cordons the instance's Node, unclaimed, so scale-in never uncordons or reuses it.
    async fn cordon(&self, member: &Member) -> Result<()> {
        let Some(node) = &member.node else {
            return Ok(());
        };
        Guarded::new(&self.kube, self.gate())
            .cordon(node, false)
            .await
            .map_err(|e| eyre!("cordoning {node}: {e}"))?;
        Ok(())
    }

    /// Cordons the instance's Node and, when the response says so, drains it in time.
    async fn move_pods(&self, notice: &Notice, member: &Member, response: Response) -> Result<()> {
        let within = match response {
            Response::Drain { within } => Duration::try_from(within).unwrap_or_default(),
            Response::Cordon | Response::CordonAndRevisit { .. } => {
                return self.cordon(member).await;
            }
        };
        let Some(node) = &member.node else {
            return Ok(());
        };
        let cluster = Guarded::new(&self.kube, self.gate());
        // Pods' grace is capped only when the instance has a known end.
        let left = notice.deadline.map(|_| within);
        let options = DrainOptions {
            // The node goes anyway: whatever may move, moves now.
            policy: DrainPolicy {
                min_pod_age: jiff::SignedDuration::ZERO,
                evict_unmanaged: true,
                evict_local_storage: true,
                evict_host_path: true,
                evict_running_jobs: true,
            },
            timeout: within,
            termination_grace_seconds: left.map(|l| {
                u32::try_from(l.saturating_sub(GRACE_MARGIN).as_secs().max(1)).unwrap_or(u32::MAX)
            }),
            best_effort: true,
            claim: false,
            ..DrainOptions::default()
        };
        let report = drain_node(&cluster, node, &options, &()).await;
        tracing::info!(%node, result = %report.summary(), evicted = report.evicted.len(), "interruption drain");
        match report.error {
            Some(e) => Err(eyre!("draining {node}: {e}")),
            None => Ok(()),
        }
    }
}

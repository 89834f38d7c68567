//! Slack notifications (`--slack-hook`): scale-ups, failures to scale, pods no group can take,
//! drained and terminated nodes. A failed post is logged and never stops ekas; the hook URL is
//! a secret and never appears in logs or errors.

use std::fmt;
use std::time::Duration;

use crate::actuate::{Applied, AppliedKind, CallError, Done, ErrorClass, Outcome};
use crate::guard::Guard;
use crate::plan::{ClusterHealth, NodeActionKind, Plan, ScaleUp, Unschedulable};
use crate::provider::{Change, Gate};

/// An incoming-webhook URL, shown as `<redacted>` wherever it is printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackHook(String);

impl fmt::Debug for SlackHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlackHook(<redacted>)")
    }
}

impl std::str::FromStr for SlackHook {
    type Err = String;

    /// Accepts an absolute http(s) URL with a host; the message never repeats the value. Empty
    /// (a blank Secret key) means no hook.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(SlackHook(String::new()));
        }
        let why = match reqwest::Url::parse(s) {
            Err(e) => format!("not a URL ({e})"),
            Ok(url) if !matches!(url.scheme(), "https" | "http") => {
                format!("a {} URL, where an https one is expected", url.scheme())
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => "a URL without a host".into(),
            Ok(_) if s.contains(char::is_whitespace) => "a URL with spaces in it".into(),
            Ok(_) => return Ok(SlackHook(s.to_string())),
        };
        Err(format!("{why}; the value is not shown: it is a secret"))
    }
}

impl SlackHook {
    /// The hook, unless it was given empty.
    pub fn configured(hook: Option<&SlackHook>) -> Option<&SlackHook> {
        hook.filter(|h| !h.0.is_empty())
    }
}

/// Where to post, and how long one post may take (`--slack-hook`, `--slack-timeout`).
#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub hook: SlackHook,
    pub timeout: Duration,
}

pub struct Slack {
    hook: SlackHook,
    http: reqwest::Client,
    /// A post is a change like any other: it goes only while the Lease is held.
    gate: Gate,
}

impl Slack {
    /// A client whose every post ends within the timeout. Built before anything is changed, so
    /// a client that cannot be built stops the command instead of posting without a deadline.
    pub fn new(settings: &SlackSettings) -> color_eyre::Result<Slack> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| {
                color_eyre::eyre::eyre!(
                    "cannot build the HTTP client for Slack: {}",
                    e.without_url()
                )
            })?;
        Ok(Slack {
            hook: settings.hook.clone(),
            http,
            gate: Gate::default(),
        })
    }

    pub fn guarded(mut self, guard: Guard) -> Slack {
        // Posts go in a dry run too: they announce what would be done.
        self.gate = Gate::new(guard, false);
        self
    }

    /// Posts one message through the gate; a failure is logged without the URL.
    pub async fn post(&self, text: &str) -> bool {
        match self.gate.call(Change::Slack, "post", self.send(text)).await {
            Ok(()) => true,
            Err(refused) if refused.class == ErrorClass::LeaseLost => {
                tracing::warn!(%refused, "Slack notification");
                false
            }
            // Logged by `send`.
            Err(_) => false,
        }
    }

    async fn send(&self, text: &str) -> Result<(), CallError> {
        let body = serde_json::json!({ "text": text });
        let (class, error) = match self.http.post(&self.hook.0).json(&body).send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let status = resp.status();
                tracing::warn!(%status, "Slack notification refused");
                let class = ErrorClass::of_http(status.as_u16(), false);
                (class, format!("HTTP {status}"))
            }
            Err(e) if e.is_timeout() => {
                let e = e.without_url();
                tracing::warn!(error = %e, "Slack notification timed out (--slack-timeout)");
                (ErrorClass::Timeout, e.to_string())
            }
            Err(e) => {
                let e = e.without_url();
                tracing::warn!(error = %e, "Slack notification failed");
                (ErrorClass::Other, e.to_string())
            }
        };
        Err(CallError::new(class, format!("Slack: {error}")))
    }

    pub async fn post_all(&self, messages: &[String]) {
        for m in messages {
            self.post(m).await;
        }
    }
}

/// Slack off the pass: messages go into a bounded queue that a task of its own posts from, so a
/// slow or failing Slack never delays a pass (nor, through it, `/healthz`). A message already
/// posted within [`SlackQueue::REPEATS`] is not posted again; its repeats are summed up in one
/// message at the end of that window. A full queue drops messages and says how many.
#[derive(Clone)]
pub struct SlackQueue {
    tx: tokio::sync::mpsc::Sender<String>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SlackQueue {
    /// Messages waiting at most; more are dropped (and counted).
    pub const CAPACITY: usize = 200;
    /// The same message is posted once per this long; its repeats are summed up after.
    pub const REPEATS: Duration = Duration::from_secs(3600);

    /// Starts the task that posts through `slack`, for the life of the process.
    pub fn start(slack: Slack) -> SlackQueue {
        SlackQueue::start_with(slack, SlackQueue::REPEATS)
    }

    fn start_with(slack: Slack, repeats: Duration) -> SlackQueue {
        let (tx, rx) = tokio::sync::mpsc::channel(SlackQueue::CAPACITY);
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(post_from(slack, rx, dropped.clone(), repeats));
        SlackQueue { tx, dropped }
    }

    /// Queues `messages`; never waits.
    pub fn enqueue(&self, messages: Vec<String>) {
        for m in messages {
            if self.tx.try_send(m).is_err() {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// The poster: one post per new message, repeats summed up once their window ends.
async fn post_from(
    slack: Slack,
    mut rx: tokio::sync::mpsc::Receiver<String>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    window: Duration,
) {
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use tokio::time::Instant;
    // Message → (first posted, repeats since).
    let mut posted: HashMap<String, (Instant, u32)> = HashMap::new();
    let mut tick = tokio::time::interval(window.min(Duration::from_secs(60)));
    loop {
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else { return };
                match posted.get_mut(&message) {
                    Some((_, repeats)) => *repeats += 1,
                    None => {
                        slack.post(&message).await;
                        posted.insert(message, (Instant::now(), 0));
                    }
                }
            }
            _ = tick.tick() => {
                let ended: Vec<String> = posted
                    .iter()
                    .filter(|(_, (at, _))| at.elapsed() >= window)
                    .map(|(m, _)| m.clone())
                    .collect();
                for message in ended {
                    if let Some((_, repeats)) = posted.remove(&message)
                        && repeats > 0
                    {
                        let first = message.lines().next().unwrap_or_default();
                        slack
                            .post(&format!("Repeated {repeats} more time(s) in the last {}m: {first}", window.as_secs() / 60))
                            .await;
                    }
                }
                let lost = dropped.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    slack
                        .post(&format!("{lost} message(s) not posted: Slack was too slow to keep up"))
                        .await;
                }
            }
        }
    }
}

fn pods_text(pods: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = pods
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if pods.len() > SHOWN {
        text.push_str(&format!(" and {} more", pods.len() - SHOWN));
    }
    text
}

/// The messages one pass deserves: the cluster's health when it is news (`health`), what was
/// done, what failed, and the pods nothing can take (`unschedulable`: the ones not announced
/// before).
pub fn messages(
    cluster: &str,
    plan: &Plan,
    unschedulable: &[Unschedulable],
    health: Option<&ClusterHealth>,
    applied: &[Applied],
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = health {
        out.push(if h.healthy {
            format!("[{cluster}] The cluster looks healthy again: {}", h.reason)
        } else {
            format!("[{cluster}] Scale-in stopped: {}", h.reason)
        });
    }
    out.extend(
        applied
            .iter()
            .filter_map(|a| applied_message(cluster, plan, a)),
    );
    out.extend(unschedulable_message(cluster, unschedulable));
    out
}

/// What one applied action deserves to be told, if anything: scale-ups, drained and terminated
/// nodes, and every failure (but losing the Lease).
fn applied_message(cluster: &str, plan: &Plan, a: &Applied) -> Option<String> {
    let planned_up = || plan.scale_ups.iter().find(|s| s.group == a.target);
    match (a.kind, &a.outcome) {
        // Another ekas holds the Lease: its own announcements are the ones to read.
        (_, Outcome::Failed(e)) if e.class == ErrorClass::LeaseLost => None,
        (AppliedKind::ScaleUp, Outcome::Done(_)) => Some(scaled_up(cluster, planned_up()?)),
        (AppliedKind::ScaleUp | AppliedKind::DesiredReset, Outcome::Failed(e)) => {
            let waiting = planned_up().map_or(0, |s| s.pods.len());
            Some(format!(
                "[{cluster}] Failed to scale {} ({}): {e}. {waiting} pod(s) still wait.",
                a.target, a.region
            ))
        }
        (AppliedKind::Node(NodeActionKind::Terminate), Outcome::Done(done)) => {
            Some(format!("[{cluster}] Terminated node {}: {done}", a.target))
        }
        (AppliedKind::Node(NodeActionKind::Drain), Outcome::Done(Done::Drained)) => {
            Some(format!("[{cluster}] Drained node {}", a.target))
        }
        (AppliedKind::Node(kind), Outcome::Failed(e)) => Some(format!(
            "[{cluster}] Failed to {} node {}: {e}",
            kind.as_str(),
            a.target
        )),
        (AppliedKind::ReplaceInstance, Outcome::Failed(e)) => Some(format!(
            "[{cluster}] Failed to replace instance {}: {e}",
            a.target
        )),
        _ => None,
    }
}

/// A scale-up done: the group, by how much, what it costs, and for which pods.
fn scaled_up(cluster: &str, up: &ScaleUp) -> String {
    let cost = up
        .cost_per_hour
        .map(|c| format!(", costing {}", crate::pricing::dollars_per_hour(c)))
        .unwrap_or_default();
    format!(
        "[{cluster}] Scaled up {} ({}) by +{} {} ({} → {}){cost} for {}: {}",
        up.group,
        up.region,
        up.new_desired.saturating_sub(up.current_desired),
        up.instance_type,
        up.current_desired,
        up.new_desired,
        up.for_whom(),
        pods_text(&up.pods)
    )
}

/// The pods no group can take, with why the first of them fits none.
fn unschedulable_message(cluster: &str, unschedulable: &[Unschedulable]) -> Option<String> {
    let first = unschedulable.first()?;
    let pods: Vec<String> = unschedulable.iter().map(|u| u.pod.clone()).collect();
    let why = first
        .reasons
        .iter()
        .map(|(group, reason)| format!("{group}: {reason}"))
        .collect::<Vec<_>>()
        .join("; ");
    Some(format!(
        "[{cluster}] {} pod(s) fit no node group: {} (first: {})",
        pods.len(),
        pods_text(&pods),
        if why.is_empty() {
            "no node groups found".into()
        } else {
            why
        }
    ))
}

/// Posts the pass's messages, when Slack is configured.
pub async fn notify(slack: Option<&Slack>, cluster: &str, plan: &Plan, applied: &[Applied]) {
    let Some(slack) = slack else {
        return;
    };
    let health = (!plan.cluster_health.healthy).then_some(&plan.cluster_health);
    slack
        .post_all(&messages(
            cluster,
            plan,
            &plan.unschedulable,
            health,
            applied,
        ))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    // A bad hook is refused, and never printed: `bad` is named only by this test's name.
    cases! { is_refused_unprinted;
        a_hook_not_over_https: "ftp://x/tok3n",
        a_hook_with_credentials_and_no_host: "https://:tok3n@/",
        a_hook_without_a_scheme: "hooks.slack.com/tok3n",
        a_scheme_alone: "https://",
        a_hook_with_words_after_it: "https://hooks.slack.com/services/tok3n and more",
        a_bare_token: "tok3n",
    }

    fn is_refused_unprinted(bad: &str) {
        let err = bad.parse::<SlackHook>().unwrap_err();
        assert!(!err.contains("tok3n"), "{err}");
        assert!(err.contains("not shown"), "{err}");
    }

    #[test]
    fn the_hook_is_never_printed() {
        let hook: SlackHook = "https://hooks.slack.com/services/T0/B0/secret"
            .parse()
            .unwrap();
        assert!(!format!("{hook:?}").contains("secret"));
        assert!(SlackHook::configured(Some(&" ".parse().unwrap())).is_none());
    }
}

//! Slack notifications (`--slack-hook`): scale-ups, failures to scale, pods no group can take,
//! drained and terminated nodes. A failed post is logged and never stops ekas; the hook URL is
//! a secret and never appears in logs or errors.

use std::fmt;
use std::time::Duration;

use crate::actuate::{Applied, AppliedKind, Outcome};
use crate::plan::{ClusterHealth, NodeActionKind, Plan, Unschedulable};

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

    /// Checks the shape only; the message never repeats the URL. Empty (a blank Secret key)
    /// means no hook.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s.starts_with("https://") || s.starts_with("http://") {
            Ok(SlackHook(s.to_string()))
        } else {
            Err("the Slack hook must be an http(s) URL (value not shown: it is a secret)".into())
        }
    }
}

impl SlackHook {
    /// The hook, unless it was given empty.
    pub fn configured(hook: Option<&SlackHook>) -> Option<&SlackHook> {
        hook.filter(|h| !h.0.is_empty())
    }
}

pub struct Slack {
    hook: SlackHook,
    http: reqwest::Client,
}

impl Slack {
    pub fn new(hook: SlackHook) -> Slack {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Slack { hook, http }
    }

    /// Posts one message; a failure is logged without the URL.
    pub async fn post(&self, text: &str) -> bool {
        let body = serde_json::json!({ "text": text });
        match self.http.post(&self.hook.0).json(&body).send().await {
            Ok(resp) if resp.status().is_success() => true,
            Ok(resp) => {
                tracing::warn!(status = %resp.status(), "Slack notification refused");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "Slack notification failed");
                false
            }
        }
    }

    pub async fn post_all(&self, messages: &[String]) {
        for m in messages {
            self.post(m).await;
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
    for a in applied {
        let (Outcome::Done(detail) | Outcome::Failed(detail)) = &a.outcome else {
            continue;
        };
        let failed = a.outcome.failed();
        match (a.kind, failed) {
            (AppliedKind::ScaleUp, false) => {
                let Some(up) = plan.scale_ups.iter().find(|s| s.group == a.target) else {
                    continue;
                };
                out.push(format!(
                    "[{cluster}] Scaled up {} ({}) by +{} {} ({} → {}) for {} pod(s): {}",
                    up.group,
                    up.region,
                    up.new_desired - up.current_desired,
                    up.instance_type,
                    up.current_desired,
                    up.new_desired,
                    up.pods.len(),
                    pods_text(&up.pods)
                ));
            }
            (AppliedKind::ScaleUp | AppliedKind::DesiredReset, true) => {
                let waiting = plan
                    .scale_ups
                    .iter()
                    .find(|s| s.group == a.target)
                    .map_or(0, |s| s.pods.len());
                out.push(format!(
                    "[{cluster}] Failed to scale {} ({}): {detail}. {waiting} pod(s) still wait.",
                    a.target, a.region
                ));
            }
            (AppliedKind::Node(NodeActionKind::Terminate), false) => {
                out.push(format!(
                    "[{cluster}] Terminated node {}: {detail}",
                    a.target
                ));
            }
            (AppliedKind::Node(NodeActionKind::Drain), false) if detail.starts_with("drained") => {
                out.push(format!("[{cluster}] Drained node {}", a.target));
            }
            (AppliedKind::Node(kind), true) => {
                out.push(format!(
                    "[{cluster}] Failed to {} node {}: {detail}",
                    kind.as_str(),
                    a.target
                ));
            }
            (AppliedKind::ReplaceInstance, true) => {
                out.push(format!(
                    "[{cluster}] Failed to replace instance {}: {detail}",
                    a.target
                ));
            }
            _ => {}
        }
    }
    if let Some(first) = unschedulable.first() {
        let pods: Vec<String> = unschedulable.iter().map(|u| u.pod.clone()).collect();
        let why = first
            .reasons
            .iter()
            .map(|(group, reason)| format!("{group}: {reason}"))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(format!(
            "[{cluster}] {} pod(s) fit no node group: {} (first: {})",
            pods.len(),
            pods_text(&pods),
            if why.is_empty() {
                "no node groups found".into()
            } else {
                why
            }
        ));
    }
    out
}

/// Posts the pass's messages when a hook is configured.
pub async fn notify(hook: Option<&SlackHook>, cluster: &str, plan: &Plan, applied: &[Applied]) {
    let Some(hook) = SlackHook::configured(hook) else {
        return;
    };
    let health = (!plan.cluster_health.healthy).then_some(&plan.cluster_health);
    let messages = messages(cluster, plan, &plan.unschedulable, health, applied);
    if !messages.is_empty() {
        Slack::new(hook.clone()).post_all(&messages).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_is_never_printed() {
        let hook: SlackHook = "https://hooks.slack.com/services/T0/B0/secret"
            .parse()
            .unwrap();
        assert!(!format!("{hook:?}").contains("secret"));
        let err = "ftp://x/tok3n".parse::<SlackHook>().unwrap_err();
        assert!(!err.contains("tok3n"), "{err}");
    }
}

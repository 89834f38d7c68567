//! AWS's warnings that an instance is about to go, as they arrive on an SQS queue: EventBridge
//! events (Spot interruption warnings, rebalance recommendations, state changes, AWS Health
//! scheduled changes, Auto Scaling lifecycle actions) and the lifecycle hook notifications an
//! Auto Scaling group sends to SQS directly. This module only reads a message; what ekas does
//! about it is `run::interruptions`.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// AWS reclaims a Spot instance two minutes after its warning.
pub const SPOT_WARNING: SignedDuration = SignedDuration::from_mins(2);

/// What a message says is happening to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    SpotInterruption,
    RebalanceRecommendation,
    /// The instance is stopping or stopped: its pods must move.
    Stopping,
    /// The instance is shutting down or terminated: too late to drain; cordon only.
    Terminating,
    /// An AWS Health scheduled change (retirement, maintenance) for the instance.
    ScheduledChange,
    /// An Auto Scaling group is terminating it and waits on a lifecycle hook.
    TerminatingHook,
}

impl NoticeKind {
    /// The metric label and log name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::SpotInterruption => "spot-interruption",
            NoticeKind::RebalanceRecommendation => "rebalance-recommendation",
            NoticeKind::Stopping => "stopping",
            NoticeKind::Terminating => "terminating",
            NoticeKind::ScheduledChange => "scheduled-change",
            NoticeKind::TerminatingHook => "lifecycle-hook",
        }
    }
}

/// The longest SQS lets a message stay hidden: a notice revisited later comes back no later.
pub const LONGEST_REVISIT: SignedDuration = SignedDuration::from_hours(12);

/// What to do about a notice now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Cordon only: new pods go elsewhere, running ones (jobs included) finish.
    Cordon,
    /// Cordon, and evict what may move, with this long before the instance goes.
    Drain { within: SignedDuration },
    /// Cordon now and look again this much later, when the drain is due.
    CordonAndRevisit { after: SignedDuration },
}

impl Notice {
    /// The response to this notice at `now`, with `drain_time` the longest an undated drain
    /// may take (`--interruption-drain-timeout`). An in-flight job is evicted only when the
    /// instance is about to go: a rebalance recommendation is only a hint (AWS may never take
    /// the instance), and a scheduled change days ahead leaves jobs time to finish.
    pub fn response(&self, now: Timestamp, drain_time: SignedDuration) -> Response {
        let left = self.deadline.map(|d| d.duration_since(now));
        match self.kind {
            NoticeKind::Terminating | NoticeKind::RebalanceRecommendation => Response::Cordon,
            NoticeKind::SpotInterruption => Response::Drain {
                within: left.unwrap_or(SPOT_WARNING),
            },
            NoticeKind::Stopping | NoticeKind::TerminatingHook => {
                Response::Drain { within: drain_time }
            }
            NoticeKind::ScheduledChange => match left {
                None => Response::Cordon,
                Some(left) if left <= drain_time => Response::Drain { within: left },
                Some(left) => Response::CordonAndRevisit {
                    after: (left - drain_time).min(LONGEST_REVISIT),
                },
            },
        }
    }
}

/// An Auto Scaling lifecycle action waiting for ekas to say CONTINUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleAction {
    pub group: String,
    pub hook: String,
    pub token: Option<String>,
}

/// One instance about to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub instance_id: String,
    /// When the instance goes, when the message says.
    pub deadline: Option<Timestamp>,
    pub lifecycle: Option<LifecycleAction>,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Notices(Vec<Notice>),
    /// Well-formed, but nothing to act on (a test notification, another event type, a state
    /// that needs nothing): deleted.
    Ignored(String),
}

/// Reads one message body. An error means it is not JSON or lacks what its type needs.
pub fn parse(body: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("detail-type").is_some() {
        return event(&v);
    }
    if v.get("LifecycleTransition").is_some() || v.get("Event").is_some() {
        return hook_notification(&v);
    }
    Err("neither an EventBridge event nor an Auto Scaling notification".into())
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {key:?}"))
}

fn time(v: &Value, key: &str) -> Option<Timestamp> {
    v.get(key)?.as_str()?.parse().ok()
}

/// An EventBridge event.
fn event(v: &Value) -> Result<Message, String> {
    let kind = text(v, "detail-type")?;
    let detail = v.get("detail").ok_or("no \"detail\"")?;
    let one = |kind: NoticeKind, deadline: Option<Timestamp>| -> Result<Message, String> {
        Ok(Message::Notices(vec![Notice {
            kind,
            instance_id: text(detail, "instance-id")?.to_string(),
            deadline,
            lifecycle: None,
        }]))
    };
    match kind {
        "EC2 Spot Instance Interruption Warning" => {
            let sent = time(v, "time");
            one(
                NoticeKind::SpotInterruption,
                sent.and_then(|t| t.checked_add(SPOT_WARNING).ok()),
            )
        }
        "EC2 Instance Rebalance Recommendation" => one(NoticeKind::RebalanceRecommendation, None),
        "EC2 Instance State-change Notification" => match text(detail, "state")? {
            "stopping" | "stopped" => one(NoticeKind::Stopping, None),
            "shutting-down" | "terminated" => one(NoticeKind::Terminating, None),
            other => Ok(Message::Ignored(format!("state {other}"))),
        },
        "AWS Health Event" => {
            if detail.get("eventTypeCategory").and_then(Value::as_str) != Some("scheduledChange") {
                return Ok(Message::Ignored(
                    "a Health event that is not a scheduled change".into(),
                ));
            }
            let deadline = time(detail, "startTime");
            let notices: Vec<Notice> = detail
                .get("affectedEntities")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("entityValue")?.as_str())
                .filter(|id| id.starts_with("i-"))
                .map(|id| Notice {
                    kind: NoticeKind::ScheduledChange,
                    instance_id: id.to_string(),
                    deadline,
                    lifecycle: None,
                })
                .collect();
            if notices.is_empty() {
                return Ok(Message::Ignored("a Health event about no instance".into()));
            }
            Ok(Message::Notices(notices))
        }
        "EC2 Instance-terminate Lifecycle Action" => hook_notification(detail),
        other => Ok(Message::Ignored(format!("event type {other:?}"))),
    }
}

/// A lifecycle hook notification, sent by the group to SQS or carried by an EventBridge event.
fn hook_notification(v: &Value) -> Result<Message, String> {
    if v.get("Event").and_then(Value::as_str) == Some("autoscaling:TEST_NOTIFICATION") {
        return Ok(Message::Ignored("Auto Scaling test notification".into()));
    }
    let transition = text(v, "LifecycleTransition")?;
    if transition != "autoscaling:EC2_INSTANCE_TERMINATING" {
        return Ok(Message::Ignored(format!(
            "lifecycle transition {transition}"
        )));
    }
    Ok(Message::Notices(vec![Notice {
        kind: NoticeKind::TerminatingHook,
        instance_id: text(v, "EC2InstanceId")?.to_string(),
        deadline: None,
        lifecycle: Some(LifecycleAction {
            group: text(v, "AutoScalingGroupName")?.to_string(),
            hook: text(v, "LifecycleHookName")?.to_string(),
            token: v
                .get("LifecycleActionToken")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind, id: &str, deadline: Option<&str>) -> Notice {
        Notice {
            kind,
            instance_id: id.into(),
            deadline: deadline.map(|d| d.parse().unwrap()),
            lifecycle: None,
        }
    }

    /// Each row: a message body as AWS sends it (trimmed to the fields that matter), and what
    /// it means.
    #[test]
    fn jobs_are_evicted_only_when_the_instance_is_about_to_go() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let ten = SignedDuration::from_mins(10);
        let at = |mins: i64| Some(now + SignedDuration::from_mins(mins));
        let notice = |kind, deadline| Notice {
            kind,
            instance_id: "i-0a".into(),
            deadline,
            lifecycle: None,
        };
        use NoticeKind::*;
        // (notice kind, deadline, response)
        let rows = [
            (
                SpotInterruption,
                at(2),
                Response::Drain {
                    within: SignedDuration::from_mins(2),
                },
            ),
            (
                SpotInterruption,
                None,
                Response::Drain {
                    within: SPOT_WARNING,
                },
            ),
            (RebalanceRecommendation, None, Response::Cordon),
            (Stopping, None, Response::Drain { within: ten }),
            (Terminating, None, Response::Cordon),
            (TerminatingHook, None, Response::Drain { within: ten }),
            (
                ScheduledChange,
                at(5),
                Response::Drain {
                    within: SignedDuration::from_mins(5),
                },
            ),
            (
                ScheduledChange,
                at(70),
                Response::CordonAndRevisit {
                    after: SignedDuration::from_mins(60),
                },
            ),
            (
                ScheduledChange,
                at(60 * 24 * 14),
                Response::CordonAndRevisit {
                    after: LONGEST_REVISIT,
                },
            ),
            (ScheduledChange, None, Response::Cordon),
        ];
        for (kind, deadline, want) in rows {
            assert_eq!(
                notice(kind, deadline).response(now, ten),
                want,
                "{kind:?} {deadline:?}"
            );
        }
    }

    #[test]
    fn messages_read_as_aws_sends_them() {
        let hook = |token: Option<&str>| {
            Message::Notices(vec![Notice {
                lifecycle: Some(LifecycleAction {
                    group: "batch-spot".into(),
                    hook: "ekas-drain".into(),
                    token: token.map(str::to_string),
                }),
                ..notice(NoticeKind::TerminatingHook, "i-0a", None)
            }])
        };
        let rows: Vec<(&str, Result<Message, String>)> = vec![
            (
                r#"{"version":"0","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2",
                   "time":"2026-11-29T12:00:00Z","region":"us-west-2",
                   "detail":{"instance-id":"i-0a","instance-action":"terminate"}}"#,
                Ok(Message::Notices(vec![notice(
                    NoticeKind::SpotInterruption,
                    "i-0a",
                    Some("2026-11-29T12:02:00Z"),
                )])),
            ),
            (
                r#"{"detail-type":"EC2 Instance Rebalance Recommendation","time":"2026-11-29T12:00:00Z",
                   "detail":{"instance-id":"i-0a"}}"#,
                Ok(Message::Notices(vec![notice(
                    NoticeKind::RebalanceRecommendation,
                    "i-0a",
                    None,
                )])),
            ),
            (
                r#"{"detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0a","state":"stopping"}}"#,
                Ok(Message::Notices(vec![notice(
                    NoticeKind::Stopping,
                    "i-0a",
                    None,
                )])),
            ),
            (
                r#"{"detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0a","state":"terminated"}}"#,
                Ok(Message::Notices(vec![notice(
                    NoticeKind::Terminating,
                    "i-0a",
                    None,
                )])),
            ),
            (
                r#"{"detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-0a","state":"running"}}"#,
                Ok(Message::Ignored("state running".into())),
            ),
            (
                r#"{"detail-type":"AWS Health Event","source":"aws.health","detail":{"service":"EC2",
                   "eventTypeCategory":"scheduledChange","startTime":"2026-12-01T08:00:00Z",
                   "affectedEntities":[{"entityValue":"i-0a"},{"entityValue":"vol-1"},{"entityValue":"i-0b"}]}}"#,
                Ok(Message::Notices(vec![
                    notice(
                        NoticeKind::ScheduledChange,
                        "i-0a",
                        Some("2026-12-01T08:00:00Z"),
                    ),
                    notice(
                        NoticeKind::ScheduledChange,
                        "i-0b",
                        Some("2026-12-01T08:00:00Z"),
                    ),
                ])),
            ),
            (
                r#"{"detail-type":"AWS Health Event","detail":{"eventTypeCategory":"issue"}}"#,
                Ok(Message::Ignored(
                    "a Health event that is not a scheduled change".into(),
                )),
            ),
            (
                r#"{"detail-type":"EC2 Instance-terminate Lifecycle Action","source":"aws.autoscaling",
                   "detail":{"LifecycleActionToken":"tok","AutoScalingGroupName":"batch-spot",
                   "LifecycleHookName":"ekas-drain","EC2InstanceId":"i-0a",
                   "LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING"}}"#,
                Ok(hook(Some("tok"))),
            ),
            (
                r#"{"Origin":"AutoScalingGroup","AutoScalingGroupName":"batch-spot","LifecycleHookName":"ekas-drain",
                   "EC2InstanceId":"i-0a","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING"}"#,
                Ok(hook(None)),
            ),
            (
                r#"{"AutoScalingGroupName":"batch-spot","Event":"autoscaling:TEST_NOTIFICATION"}"#,
                Ok(Message::Ignored("Auto Scaling test notification".into())),
            ),
            (
                r#"{"detail-type":"Object Created","detail":{}}"#,
                Ok(Message::Ignored("event type \"Object Created\"".into())),
            ),
            (
                r#"{"detail-type":"EC2 Spot Instance Interruption Warning","detail":{}}"#,
                Err("no \"instance-id\"".into()),
            ),
            (
                r#"{"hello":"world"}"#,
                Err("neither an EventBridge event nor an Auto Scaling notification".into()),
            ),
        ];
        for (body, want) in rows {
            assert_eq!(parse(body), want, "{body}");
        }
        assert!(parse("garbage").unwrap_err().starts_with("not JSON"));
    }
}

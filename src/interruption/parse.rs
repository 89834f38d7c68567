//! Reads one SQS message body, in the shapes AWS documents and sends (the fixtures in
//! tests/fixtures/aws-events are kept in those shapes):
//!
//! - EventBridge events: `detail-type` and `detail`, with `source`, `account`, `region`, `id`
//!   and `time` around them.
//! - An Auto Scaling group's own lifecycle notification: flat `EC2InstanceId`,
//!   `LifecycleTransition`, `AccountId`, `Service`; or its `autoscaling:TEST_NOTIFICATION`.
//! - Either of these published to SNS and delivered to the queue without raw delivery: an SNS
//!   envelope whose `Message` is the JSON text of the above.
//!
//! AWS Health dates are RFC 1123 (`Tue, 15 Dec 2026 08:00:00 GMT`, the day sometimes one digit,
//! the weekday not always the date's); everything else is ISO 8601.

use jiff::Timestamp;
use serde_json::Value;

use super::{LifecycleAction, Message, Notice, NoticeKind, Origin, SPOT_WARNING};

/// Reads one message body at `now` (which bounds a Spot warning's deadline). An error means
/// it is not JSON or lacks what its type needs.
pub fn parse(body: &str, now: Timestamp) -> Result<Message, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("Type").and_then(Value::as_str) == Some("Notification") {
        return sns(&v, now);
    }
    if v.get("detail-type").is_some() {
        return event(&v, now);
    }
    if v.get("LifecycleTransition").is_some() || v.get("Event").is_some() {
        return hook_notification(&v, Origin::default());
    }
    Err("neither an EventBridge event, an Auto Scaling notification, nor SNS carrying one".into())
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {key:?}"))
}

fn optional(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// ISO 8601, or the RFC 1123 form AWS Health uses.
pub fn time(text: &str) -> Option<Timestamp> {
    static RFC_1123: jiff::fmt::rfc2822::DateTimeParser =
        jiff::fmt::rfc2822::DateTimeParser::new().relaxed_weekday(true);
    text.parse()
        .ok()
        .or_else(|| RFC_1123.parse_timestamp(text).ok())
}

/// A message published to SNS: the notification inside, with the topic's region and account
/// where the inner message does not say.
fn sns(v: &Value, now: Timestamp) -> Result<Message, String> {
    let inner = text(v, "Message")?;
    let topic = optional(v, "TopicArn").unwrap_or_default();
    // arn:aws:sns:REGION:ACCOUNT:NAME
    let mut arn = topic.split(':').skip(3);
    let (region, account) = (arn.next(), arn.next());
    match parse(inner, now)? {
        Message::Notices(origin, notices) => {
            let origin = Origin {
                account: origin
                    .account
                    .or_else(|| account.filter(|a| !a.is_empty()).map(str::to_string)),
                region: origin
                    .region
                    .or_else(|| region.filter(|r| !r.is_empty()).map(str::to_string)),
                id: origin.id.or_else(|| optional(v, "MessageId")),
                ..origin
            };
            Ok(Message::Notices(origin, notices))
        }
        ignored => Ok(ignored),
    }
}

/// An EventBridge event.
fn event(v: &Value, now: Timestamp) -> Result<Message, String> {
    let kind = text(v, "detail-type")?;
    let detail = v.get("detail").ok_or("no \"detail\"")?;
    let origin = Origin {
        source: optional(v, "source"),
        account: optional(v, "account"),
        region: optional(v, "region"),
        id: optional(v, "id"),
    };
    let one = |kind: NoticeKind, deadline: Option<Timestamp>| -> Result<Message, String> {
        let notice = Notice {
            kind,
            instance_id: text(detail, "instance-id")?.to_string(),
            deadline,
            lifecycle: None,
        };
        Ok(Message::Notices(origin.clone(), vec![notice]))
    };
    match kind {
        "EC2 Spot Instance Interruption Warning" => {
            // Two minutes after the warning was sent, but never later than two minutes from
            // now (a clock ahead, or a forged `time`) nor earlier than now (a late message).
            let sent = text(v, "time").ok().and_then(time).unwrap_or(now);
            let latest = now.checked_add(SPOT_WARNING).unwrap_or(now);
            let due = sent.checked_add(SPOT_WARNING).unwrap_or(latest);
            one(NoticeKind::SpotInterruption, Some(due.clamp(now, latest)))
        }
        "EC2 Instance Rebalance Recommendation" => one(NoticeKind::RebalanceRecommendation, None),
        "EC2 Instance State-change Notification" => match text(detail, "state")? {
            "stopping" | "stopped" => one(NoticeKind::Stopping, None),
            "shutting-down" | "terminated" => one(NoticeKind::Terminating, None),
            other => Ok(Message::Ignored(format!("state {other}"))),
        },
        "AWS Health Event" => health(detail, origin),
        "EC2 Instance-terminate Lifecycle Action" => hook_notification(detail, origin),
        "EC2 Instance-launch Lifecycle Action" => {
            Ok(Message::Ignored("a launch lifecycle action".into()))
        }
        other => Ok(Message::Ignored(format!("event type {other:?}"))),
    }
}

/// An AWS Health event: a scheduled change to EC2 instances, named bare (`i-…`) or by ARN
/// (`arn:aws:ec2:REGION:ACCOUNT:instance/i-…`). Its region is `eventRegion` (the envelope's is
/// where it was delivered).
fn health(detail: &Value, origin: Origin) -> Result<Message, String> {
    let service = detail.get("service").and_then(Value::as_str);
    let category = detail.get("eventTypeCategory").and_then(Value::as_str);
    if service != Some("EC2") || category != Some("scheduledChange") {
        return Ok(Message::Ignored(format!(
            "a Health event of {} {}, not an EC2 scheduled change",
            service.unwrap_or("no service"),
            category.unwrap_or("no category")
        )));
    }
    let start = text(detail, "startTime")?;
    let deadline = Some(time(start).ok_or_else(|| format!("startTime {start:?} is not a date"))?);
    let notices: Vec<Notice> = detail
        .get("affectedEntities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("entityValue")?.as_str())
        .filter_map(|value| {
            let id = value.rsplit_once("instance/").map_or(value, |(_, id)| id);
            id.starts_with("i-").then(|| id.to_string())
        })
        .map(|instance_id| Notice {
            kind: NoticeKind::ScheduledChange,
            instance_id,
            deadline,
            lifecycle: None,
        })
        .collect();
    if notices.is_empty() {
        return Ok(Message::Ignored("a Health event about no instance".into()));
    }
    let origin = Origin {
        region: optional(detail, "eventRegion").or(origin.region),
        id: optional(detail, "communicationId")
            .or_else(|| optional(detail, "eventArn"))
            .or(origin.id),
        ..origin
    };
    Ok(Message::Notices(origin, notices))
}

/// A lifecycle hook notification, sent by the group to SQS (`origin` empty: its own fields
/// say who sent it) or carried by an EventBridge event.
fn hook_notification(v: &Value, origin: Origin) -> Result<Message, String> {
    if v.get("Event").and_then(Value::as_str) == Some("autoscaling:TEST_NOTIFICATION") {
        return Ok(Message::Ignored("Auto Scaling test notification".into()));
    }
    let transition = text(v, "LifecycleTransition")?;
    if transition != "autoscaling:EC2_INSTANCE_TERMINATING" {
        return Ok(Message::Ignored(format!(
            "lifecycle transition {transition}"
        )));
    }
    let direct = origin.source.is_none();
    let origin = match direct {
        // A group's own notification names its service and account, not a region.
        true => Origin {
            source: (optional(v, "Service").as_deref() == Some("AWS Auto Scaling"))
                .then(|| "aws.autoscaling".to_string()),
            account: optional(v, "AccountId"),
            region: None,
            id: optional(v, "RequestId"),
        },
        false => origin,
    };
    let notice = Notice {
        kind: NoticeKind::TerminatingHook,
        instance_id: text(v, "EC2InstanceId")?.to_string(),
        deadline: None,
        lifecycle: Some(LifecycleAction {
            group: text(v, "AutoScalingGroupName")?.to_string(),
            hook: text(v, "LifecycleHookName")?.to_string(),
            token: optional(v, "LifecycleActionToken"),
        }),
    };
    Ok(Message::Notices(origin, vec![notice]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-29T12:00:30Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/aws-events/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// What a fixture must read as: (kind, instance, deadline) per notice, and the origin's
    /// (source, account, region); or the start of the reason it is ignored.
    enum Want<'a> {
        Notices(
            &'a [(NoticeKind, &'a str, Option<&'a str>)],
            (&'a str, &'a str, Option<&'a str>),
        ),
        Ignored(&'a str),
    }

    fn reads((name, want): (&str, Want<'_>)) {
        let got = parse(&fixture(name), now()).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (got, want) {
            (
                Message::Notices(origin, notices),
                Want::Notices(expected, (source, account, region)),
            ) => {
                let got: Vec<(NoticeKind, String, Option<Timestamp>)> = notices
                    .iter()
                    .map(|n| (n.kind, n.instance_id.clone(), n.deadline))
                    .collect();
                let expected: Vec<(NoticeKind, String, Option<Timestamp>)> = expected
                    .iter()
                    .map(|(k, id, d)| (*k, id.to_string(), d.map(|d| d.parse().unwrap())))
                    .collect();
                assert_eq!(got, expected, "{name}");
                assert_eq!(origin.source.as_deref(), Some(source), "{name}");
                assert_eq!(origin.account.as_deref(), Some(account), "{name}");
                assert_eq!(origin.region.as_deref(), region, "{name}");
                assert!(origin.id.is_some(), "{name}: an id to record");
            }
            (Message::Ignored(why), Want::Ignored(start)) => {
                assert!(why.starts_with(start), "{name}: {why}");
            }
            (got, _) => panic!("{name}: read as {got:?}"),
        }
    }

    use NoticeKind::*;
    const ACCOUNT: &str = "123456789012";
    const EC2: (&str, &str, Option<&str>) = ("aws.ec2", ACCOUNT, Some("us-west-2"));
    const ID: &str = "i-0abc0000000000001";

    cases! {
        reads;
        // The Spot warning was sent at 12:00:00: due two minutes later.
        spot_interruption: ("spot-interruption", Want::Notices(&[(SpotInterruption, ID, Some("2026-11-29T12:02:00Z"))], EC2)),
        spot_interruption_stop: ("spot-interruption-stop", Want::Notices(&[(SpotInterruption, ID, Some("2026-11-29T12:02:00Z"))], EC2)),
        rebalance: ("rebalance-recommendation", Want::Notices(&[(RebalanceRecommendation, ID, None)], EC2)),
        stopping: ("state-change-stopping", Want::Notices(&[(Stopping, ID, None)], EC2)),
        stopped: ("state-change-stopped", Want::Notices(&[(Stopping, ID, None)], EC2)),
        shutting_down: ("state-change-shutting-down", Want::Notices(&[(Terminating, ID, None)], EC2)),
        terminated: ("state-change-terminated", Want::Notices(&[(Terminating, ID, None)], EC2)),
        running: ("state-change-running", Want::Ignored("state running")),
        pending: ("state-change-pending", Want::Ignored("state pending")),
        lifecycle_eventbridge: ("asg-terminate-lifecycle-eventbridge", Want::Notices(&[(TerminatingHook, ID, None)], ("aws.autoscaling", ACCOUNT, Some("us-west-2")))),
        lifecycle_direct: ("asg-terminate-lifecycle-direct", Want::Notices(&[(TerminatingHook, ID, None)], ("aws.autoscaling", ACCOUNT, None))),
        // SNS adds the topic's region to a notification that has none.
        lifecycle_sns: ("asg-terminate-lifecycle-sns", Want::Notices(&[(TerminatingHook, ID, None)], ("aws.autoscaling", ACCOUNT, Some("us-west-2")))),
        launch_lifecycle: ("asg-launch-lifecycle-eventbridge", Want::Ignored("a launch lifecycle action")),
        test_notification: ("asg-test-notification-direct", Want::Ignored("Auto Scaling test notification")),
        // RFC 1123 dates; instances bare or as ARNs; a volume is no instance.
        health_retirement: ("health-scheduled-change", Want::Notices(&[(ScheduledChange, ID, Some("2026-12-15T08:00:00Z")), (ScheduledChange, "i-0abc0000000000002", Some("2026-12-15T08:00:00Z"))], ("aws.health", ACCOUNT, Some("us-west-2")))),
        health_maintenance_by_arn: ("health-scheduled-maintenance", Want::Notices(&[(ScheduledChange, "i-0abc0000000000003", Some("2026-12-02T03:00:00Z"))], ("aws.health", ACCOUNT, Some("us-west-2")))),
        health_issue: ("health-issue", Want::Ignored("a Health event of EC2 issue")),
    }

    fn spot_deadline((sent, due): (&str, &str)) {
        let body = format!(
            r#"{{"detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","time":"{sent}","detail":{{"instance-id":"i-0a"}}}}"#
        );
        let Message::Notices(_, notices) = parse(&body, now()).unwrap() else {
            panic!()
        };
        assert_eq!(
            notices[0].deadline,
            Some(due.parse().unwrap()),
            "sent {sent}"
        );
    }

    // (time the warning says it was sent, deadline) at 12:00:30
    cases! {
        spot_deadline;
        spot_sent_just_now: ("2026-11-29T12:00:30Z", "2026-11-29T12:02:30Z"),
        spot_sent_a_minute_ago: ("2026-11-29T11:59:30Z", "2026-11-29T12:01:30Z"),
        // A late message: the instance may go any moment.
        spot_sent_long_ago: ("2026-11-29T11:00:00Z", "2026-11-29T12:00:30Z"),
        // A `time` in the future (forged, or a clock ahead) never buys more than two minutes.
        spot_sent_in_the_future: ("2027-01-01T00:00:00Z", "2026-11-29T12:02:30Z"),
        spot_time_unreadable: ("not a date", "2026-11-29T12:02:30Z"),
    }

    fn malformed((body, error): (&str, &str)) {
        let got = parse(body, now()).unwrap_err();
        assert!(got.starts_with(error), "{body}: {got}");
    }

    cases! {
        malformed;
        not_json: ("garbage", "not JSON"),
        spot_without_instance: (r#"{"detail-type":"EC2 Spot Instance Interruption Warning","detail":{}}"#, "no \"instance-id\""),
        health_without_start: (r#"{"detail-type":"AWS Health Event","detail":{"service":"EC2","eventTypeCategory":"scheduledChange","affectedEntities":[{"entityValue":"i-0a"}]}}"#, "no \"startTime\""),
        health_with_a_bad_start: (r#"{"detail-type":"AWS Health Event","detail":{"service":"EC2","eventTypeCategory":"scheduledChange","startTime":"soon","affectedEntities":[{"entityValue":"i-0a"}]}}"#, "startTime \"soon\" is not a date"),
        sns_without_message: (r#"{"Type":"Notification","TopicArn":"arn:aws:sns:us-west-2:1:t"}"#, "no \"Message\""),
        sns_carrying_garbage: (r#"{"Type":"Notification","Message":"{nope"}"#, "not JSON"),
        something_else: (r#"{"hello":"world"}"#, "neither an EventBridge event"),
    }

    // Health dates read as AWS writes them: (text, the instant).
    cases! { reads_a_health_date;
        a_date_as_aws_writes_it: ("Tue, 15 Dec 2026 08:00:00 GMT", Some("2026-12-15T08:00:00Z")),
        a_day_of_one_digit: ("Thu, 3 Dec 2026 09:00:00 GMT", Some("2026-12-03T09:00:00Z")),
        // AWS's own sample pairs a date with another weekday.
        a_date_with_the_wrong_weekday: (
            "Thu, 27 Jan 2026 10:00:00 GMT",
            Some("2026-01-27T10:00:00Z"),
        ),
        an_rfc_3339_date: ("2026-12-15T08:00:00Z", Some("2026-12-15T08:00:00Z")),
        words_are_no_date: ("next Tuesday", None),
    }

    fn reads_a_health_date((text, want): (&str, Option<&str>)) {
        assert_eq!(
            time(text),
            want.map(|w| w.parse::<Timestamp>().unwrap()),
            "{text:?}"
        );
    }
}

//! The labels and annotations ekas reads and writes in the cluster (shared/DESIGN.md lists
//! them). Its memory lives on the objects, never in the process, so every subcommand and a
//! restarted loop see the same state.

/// Label `=true`: ekas cordoned this node, so ekas may uncordon it.
pub const CORDONED: &str = "ekas/cordoned";
/// The original tool's cordon label; ekas honours it so an upgrade does not strand its cordons.
pub const LEGACY_CORDONED: &str = "openai/cordoned-by-autoscaler";
/// Annotation: RFC 3339 time ekas first saw the node idle.
pub const IDLE_SINCE: &str = "ekas/idle-since";
/// Annotation: RFC 3339 time a drain began; a restarted ekas resumes it.
pub const DRAIN_STARTED: &str = "ekas/drain-started";
/// Annotation: RFC 3339 time a drain finished with only DaemonSet and mirror pods left.
pub const DRAINED_AT: &str = "ekas/drained-at";
/// Annotation: RFC 3339 time EC2 first answered NotFound for the node's instance; a second
/// NotFound at least five minutes later confirms the instance is gone.
pub const INSTANCE_NOT_FOUND_SINCE: &str = "ekas/instance-not-found-since";
/// Annotations: an interruption notice ekas took for this node's instance — its kind
/// (`scheduled-change`, `rebalance-recommendation`, …), when the change is due (RFC 3339, when
/// dated), when ekas received it, and the message's id. Written with ekas's cordon, so the
/// notice outlives its SQS message and a restart.
pub const INTERRUPTION: &str = "ekas/interruption";
pub const INTERRUPTION_DUE: &str = "ekas/interruption-due";
pub const INTERRUPTION_NOTICED: &str = "ekas/interruption-noticed";
pub const INTERRUPTION_MESSAGE: &str = "ekas/interruption-message";
/// Every annotation of an interruption notice on its Node: taken off together.
pub const INTERRUPTION_MARKS: [&str; 4] = [
    INTERRUPTION,
    INTERRUPTION_DUE,
    INTERRUPTION_NOTICED,
    INTERRUPTION_MESSAGE,
];
/// Taint key (`PreferNoSchedule`) and annotation (RFC 3339 time it was set): the node is
/// consolidated by attrition — new pods go elsewhere while its own finish; it is removed once
/// idle. The taint only steers the scheduler; nothing is evicted.
pub const CONSOLIDATING: &str = "ekas.dev/consolidating";
/// Annotation on ekas's Lease: RFC 3339 times of the removals (terminations, drains started,
/// replacements) of the last `--scale-in-window`, so the budget holds across passes and
/// restarts.
pub const RECENT_REMOVALS: &str = "ekas/recent-removals";
/// Tag on an Auto Scaling Group: RFC 3339 time ekas first saw its desired capacity above its
/// instances with nothing launching.
pub const UNLAUNCHED_SINCE: &str = "ekas/unlaunched-since";
/// Label `=true`: leave this node alone (ekas's own and the original tool's).
pub const DETACHED: [&str; 2] = ["ekas/detached", "openai/detached"];
/// Label or annotation `=true` on a pod: never evict it (ekas's own and the original tool's).
pub const DO_NOT_DRAIN: [&str; 2] = ["ekas/do-not-drain", "openai/do-not-drain"];
/// cluster-autoscaler's annotation; `"false"` forbids eviction.
pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/// Karpenter's annotation; `"true"` on a pod forbids disrupting it.
pub const DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";
/// cluster-autoscaler's annotation; `"true"` on a node keeps it from being scaled down.
pub const SCALE_DOWN_DISABLED: &str = "cluster-autoscaler.kubernetes.io/scale-down-disabled";
/// The original tool's node label naming the node's EC2 instance, with `aws/az` its zone.
pub const AWS_ID: &str = "aws/id";
pub const AWS_AZ: &str = "aws/az";
/// A static pod's mirror carries this annotation; the kubelet owns it, eviction cannot move it.
pub const MIRROR: &str = "kubernetes.io/config.mirror";

/// Label on a pod: the coscheduling plugin's PodGroup (`scheduling.x-k8s.io`) it starts with.
pub const POD_GROUP: &str = "scheduling.x-k8s.io/pod-group";
/// Annotation on a pod: Volcano's PodGroup (`scheduling.volcano.sh`) it starts with.
pub const VOLCANO_GROUP: &str = "scheduling.k8s.io/group-name";

/// A boolean label or annotation as the original tool read it: "true" or "1", in any case.
pub fn is_true(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value == "1"
}

/// The negative counterpart, for annotations whose "false" forbids something.
pub fn is_false(value: &str) -> bool {
    value.eq_ignore_ascii_case("false") || value == "0"
}

/// Whether any of `keys` is set to a true value in `map`.
pub fn any_true(map: &std::collections::BTreeMap<String, String>, keys: &[&str]) -> bool {
    keys.iter()
        .any(|key| map.get(*key).is_some_and(|v| is_true(v)))
}

/// Whether ekas (or the tool it replaces) cordoned a node with these labels.
pub fn cordoned_by_ekas(labels: &std::collections::BTreeMap<String, String>) -> bool {
    any_true(labels, &[CORDONED, LEGACY_CORDONED])
}

/// Annotation on a pod: the ProvisioningRequest (same namespace) whose capacity it uses.
pub const CONSUME_PROVISIONING_REQUEST: [&str; 2] = [
    "autoscaling.x-k8s.io/consume-provisioning-request",
    // The key cluster-autoscaler read before the API reached v1.
    "cluster-autoscaler.kubernetes.io/consume-provisioning-request",
];

#[cfg(test)]
mod tests {
    use super::*;

    // Booleans read as the original tool read them.
    cases! { reads_as_true;
        true_in_lowercase_is_true: "true",
        true_capitalised_is_true: "True",
        true_in_capitals_is_true: "TRUE",
        one_is_true: "1",
    }

    fn reads_as_true(text: &str) {
        assert!(is_true(text), "{text:?}");
    }

    cases! { does_not_read_as_true;
        false_is_not_true: "false",
        zero_is_not_true: "0",
        yes_is_not_true: "yes",
        empty_is_not_true: "",
        a_leading_space_is_not_true: " true",
    }

    fn does_not_read_as_true(text: &str) {
        assert!(!is_true(text), "{text:?}");
    }

    cases! { reads_as_false;
        false_in_lowercase_is_false: ("false", true),
        false_capitalised_is_false: ("False", true),
        zero_is_false: ("0", true),
        no_is_not_false: ("no", false),
    }

    fn reads_as_false((text, want): (&str, bool)) {
        assert_eq!(is_false(text), want, "{text:?}");
    }
}

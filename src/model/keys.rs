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
/// Label `=true`: leave this node alone (ekas's own and the original tool's).
pub const DETACHED: [&str; 2] = ["ekas/detached", "openai/detached"];
/// Label or annotation `=true` on a pod: never evict it (ekas's own and the original tool's).
pub const DO_NOT_DRAIN: [&str; 2] = ["ekas/do-not-drain", "openai/do-not-drain"];
/// cluster-autoscaler's annotation; `"false"` forbids eviction.
pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/// A static pod's mirror carries this annotation; the kubelet owns it, eviction cannot move it.
pub const MIRROR: &str = "kubernetes.io/config.mirror";

/// Whether ekas (or the tool it replaces) cordoned a node with these labels.
pub fn cordoned_by_ekas(labels: &std::collections::BTreeMap<String, String>) -> bool {
    [CORDONED, LEGACY_CORDONED]
        .iter()
        .any(|key| labels.get(*key).is_some_and(|v| v == "true"))
}

//! What Auto Scaling Group tags mean to ekas: which groups belong to a cluster, and the labels,
//! taints, resources and priority a group's new nodes will have. One place for every tag rule,
//! shared by the snapshot reader and the live AWS adapter.

use std::collections::BTreeMap;

/// The original tool's cluster tag.
pub const CLUSTER_TAG: &str = "KubernetesCluster";
/// The original tool's role tags and the values that mark worker groups.
pub const ROLE_TAGS: [&str; 2] = ["Role", "KubernetesRole"];
pub const WORKER_ROLES: [&str; 3] = ["minion", "worker", "kubernetes-minion"];
/// cluster-autoscaler auto-discovery.
pub const CA_ENABLED_TAG: &str = "k8s.io/cluster-autoscaler/enabled";
pub const CA_CLUSTER_TAG_PREFIX: &str = "k8s.io/cluster-autoscaler/";
/// EKS managed node groups.
pub const EKS_CLUSTER_TAG: &str = "eks:cluster-name";
pub const PRIORITY_TAG: &str = "ekas/priority";
pub use crate::model::keys::UNLAUNCHED_SINCE as UNLAUNCHED_SINCE_TAG;
/// The original tool's node-label tags: `kube/<label>` = value.
pub const KUBE_LABEL_PREFIX: &str = "kube/";
pub const TEMPLATE_LABEL_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/label/";
pub const TEMPLATE_TAINT_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/taint/";
pub const TEMPLATE_RESOURCE_PREFIX: &str = "k8s.io/cluster-autoscaler/node-template/resources/";

pub type Tags = BTreeMap<String, String>;

/// Whether a group with these tags is a worker group of `cluster`, by any of the three schemes.
pub fn is_cluster_group(tags: &Tags, cluster: &str) -> bool {
    let legacy = tags.get(CLUSTER_TAG).is_some_and(|c| c == cluster)
        && ROLE_TAGS.iter().any(|role_tag| {
            tags.get(*role_tag)
                .is_some_and(|role| WORKER_ROLES.contains(&role.as_str()))
        });
    let cluster_autoscaler = tags.contains_key(CA_ENABLED_TAG)
        && tags.contains_key(&format!("{CA_CLUSTER_TAG_PREFIX}{cluster}"));
    let eks = tags.get(EKS_CLUSTER_TAG).is_some_and(|c| c == cluster);
    legacy || cluster_autoscaler || eks
}

/// The `ekas/unlaunched-since` time; a mangled value counts as absent (ekas writes a fresh one).
pub fn unlaunched_since(tags: &Tags) -> Option<jiff::Timestamp> {
    let value = tags.get(UNLAUNCHED_SINCE_TAG)?;
    value
        .parse()
        .inspect_err(|e| tracing::warn!(tag = UNLAUNCHED_SINCE_TAG, value, error = %e, "ignoring tag: not an RFC 3339 time"))
        .ok()
}

/// Node labels the group's tags promise: `kube/<label>` and the node-template label tags.
pub fn labels(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|(k, v)| {
        k.strip_prefix(KUBE_LABEL_PREFIX)
            .or_else(|| k.strip_prefix(TEMPLATE_LABEL_PREFIX))
            .map(|label| (label, v.as_str()))
    })
}

/// Node-template taint tags: key → `value:Effect`.
pub fn taints(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|(k, v)| {
        k.strip_prefix(TEMPLATE_TAINT_PREFIX)
            .map(|key| (key, v.as_str()))
    })
}

/// Node-template resource tags: resource name → quantity.
pub fn resources(tags: &Tags) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|(k, v)| {
        k.strip_prefix(TEMPLATE_RESOURCE_PREFIX)
            .map(|name| (name, v.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn discovery_schemes() {
        for role_tag in ROLE_TAGS {
            for role in WORKER_ROLES {
                assert!(is_cluster_group(
                    &tags(&[("KubernetesCluster", "prod"), (role_tag, role)]),
                    "prod"
                ));
            }
        }
        assert!(!is_cluster_group(
            &tags(&[("KubernetesCluster", "prod"), ("Role", "master")]),
            "prod"
        ));
        assert!(!is_cluster_group(
            &tags(&[("KubernetesCluster", "other"), ("Role", "worker")]),
            "prod"
        ));
        assert!(!is_cluster_group(
            &tags(&[("KubernetesCluster", "prod")]),
            "prod"
        ));
        assert!(is_cluster_group(
            &tags(&[
                ("k8s.io/cluster-autoscaler/enabled", "true"),
                ("k8s.io/cluster-autoscaler/prod", "owned")
            ]),
            "prod"
        ));
        assert!(!is_cluster_group(
            &tags(&[("k8s.io/cluster-autoscaler/prod", "owned")]),
            "prod"
        ));
        assert!(!is_cluster_group(
            &tags(&[
                ("k8s.io/cluster-autoscaler/enabled", "true"),
                ("k8s.io/cluster-autoscaler/other", "owned")
            ]),
            "prod"
        ));
        assert!(is_cluster_group(
            &tags(&[("eks:cluster-name", "prod")]),
            "prod"
        ));
        assert!(!is_cluster_group(
            &tags(&[("eks:cluster-name", "dev")]),
            "prod"
        ));
    }

    #[test]
    fn template_tags() {
        let t = tags(&[
            ("kube/pool", "gpu"),
            (
                "k8s.io/cluster-autoscaler/node-template/label/accelerator",
                "nvidia",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu",
                "true:NoSchedule",
            ),
            (
                "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu",
                "1",
            ),
            ("Name", "x"),
        ]);
        assert_eq!(
            labels(&t).collect::<Vec<_>>(),
            [("accelerator", "nvidia"), ("pool", "gpu")]
        );
        assert_eq!(
            taints(&t).collect::<Vec<_>>(),
            [("nvidia.com/gpu", "true:NoSchedule")]
        );
        assert_eq!(resources(&t).collect::<Vec<_>>(), [("nvidia.com/gpu", "1")]);
    }
}

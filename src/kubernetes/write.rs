//! The writes ekas makes in the cluster: cordon and uncordon with ownership recorded on the
//! node, annotations that hold ekas's memory, evictions through the Eviction API (so
//! PodDisruptionBudgets hold), and node deletion.

use std::collections::BTreeMap;

use color_eyre::eyre::{Report, Result};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::Eviction as PolicyEviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, ObjectMeta};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{api_error, counted, status_code};
use crate::call::{CallError, ErrorClass};
use crate::decode::kubernetes::{Placements, pod as model_pod, unreadable_pod};
use crate::document::ProvisioningRequest;
use crate::model::{RequestCondition, keys};
use crate::plan::InstanceAction;
use crate::provider::ClusterWriter;
pub use crate::provider::{Cordon, Eviction, Uncordon};

/// Attempts at a read-modify-write before giving up on a node that keeps changing.
const CONFLICT_RETRIES: usize = 5;

fn nodes(client: &kube::Client) -> Api<Node> {
    Api::all(client.clone())
}

/// A merge patch of the node guarded by the resourceVersion it was computed from, so a change
/// made meanwhile (by a person or another ekas) is never overwritten. `decide` sees the current
/// node and returns the patch to make, or None for no change.
async fn patch_node<T>(
    client: &kube::Client,
    name: &str,
    doing: &str,
    decide: impl Fn(&Node) -> (T, Option<Value>),
) -> Result<T> {
    for _ in 0..CONFLICT_RETRIES {
        let node = super::read::node(client, name).await?;
        let (result, patch) = decide(&node);
        let Some(mut patch) = patch else {
            return Ok(result);
        };
        patch["metadata"]["resourceVersion"] = json!(node.metadata.resource_version);
        let patched = nodes(client)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        match counted("patch", "Node", patched) {
            Ok(_) => return Ok(result),
            Err(e) if status_code(&e) == Some(409) => continue,
            Err(e) => return Err(api_error(e, format_args!("{doing} node {name}"))),
        }
    }
    Err(Report::new(CallError::new(
        ErrorClass::Conflict,
        format!(
            "{doing} node {name}: it kept changing under ekas ({CONFLICT_RETRIES} conflicts); \
             try again"
        ),
    )))
}

fn labels(node: &Node) -> BTreeMap<String, String> {
    node.metadata.labels.clone().unwrap_or_default()
}

/// Marks the node unschedulable. With `claim`, records that ekas did it, so ekas may uncordon
/// it later, and drops drain records ekas did not write (a person's, an old one): a claimed
/// node with `ekas/drain-started` is one ekas drains. An operator's `ekas drain` does not
/// claim, and stays the operator's cordon.
pub async fn cordon(client: &kube::Client, name: &str, claim: bool) -> Result<Cordon> {
    patch_node(client, name, "cordoning", |node| {
        if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
            return (Cordon::AlreadyUnschedulable, None);
        }
        let mut patch = json!({"spec": {"unschedulable": true}});
        if claim {
            patch["metadata"] = json!({
                "labels": {keys::CORDONED: "true"},
                // An interruption's notice goes with its cordon: the node is handed back.
                "annotations": {keys::DRAIN_STARTED: null, keys::DRAINED_AT: null,
                    keys::INTERRUPTION: null, keys::INTERRUPTION_DUE: null,
                    keys::INTERRUPTION_NOTICED: null, keys::INTERRUPTION_MESSAGE: null},
            });
        }
        (Cordon::Cordoned, Some(patch))
    })
    .await
}

/// Makes the node schedulable again, only if ekas (or the tool it replaces) cordoned it.
pub async fn uncordon(client: &kube::Client, name: &str) -> Result<Uncordon> {
    patch_node(client, name, "uncordoning", |node| {
        let unschedulable = node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true);
        let ours = keys::cordoned_by_ekas(&labels(node));
        // Our labels go in every case, so a node a person uncordoned is not claimed later.
        let cleanup = json!({
            "metadata": {
                "labels": {keys::CORDONED: null, keys::LEGACY_CORDONED: null},
                // An interruption's notice goes with its cordon: the node is handed back.
                "annotations": {keys::DRAIN_STARTED: null, keys::DRAINED_AT: null,
                    keys::INTERRUPTION: null, keys::INTERRUPTION_DUE: null,
                    keys::INTERRUPTION_NOTICED: null, keys::INTERRUPTION_MESSAGE: null},
            },
            "spec": {"unschedulable": null},
        });
        match (unschedulable, ours) {
            (true, true) => (Uncordon::Uncordoned, Some(cleanup)),
            (true, false) => (Uncordon::NotOurs, None),
            (false, true) => {
                let mut labels_only = cleanup;
                labels_only.as_object_mut().map(|o| o.remove("spec"));
                (Uncordon::NotCordoned, Some(labels_only))
            }
            (false, false) => (Uncordon::NotCordoned, None),
        }
    })
    .await
}

/// Sets (`Some`: since when) or removes (`None`) the consolidation mark: the taint
/// `ekas.dev/consolidating:PreferNoSchedule` and the annotation of the same name. The taint list
/// is written whole (a merge patch replaces lists), guarded by the resourceVersion it was read at.
pub async fn mark_consolidating(
    client: &kube::Client,
    name: &str,
    since: Option<jiff::Timestamp>,
) -> Result<()> {
    let doing = match since {
        Some(_) => "marking for consolidation",
        None => "clearing the consolidation mark of",
    };
    patch_node(client, name, doing, |node| {
        let taints: Vec<Value> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .filter(|t| t.key != keys::CONSOLIDATING)
            .map(|t| json!(t))
            .collect();
        let had_taint = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|ts| ts.iter().any(|t| t.key == keys::CONSOLIDATING));
        let had_annotation = annotation(node, keys::CONSOLIDATING).is_some();
        match since {
            Some(_) if had_taint && had_annotation => ((), None),
            None if !had_taint && !had_annotation => ((), None),
            Some(since) => {
                let mut taints = taints;
                taints.push(json!({"key": keys::CONSOLIDATING, "effect": "PreferNoSchedule"}));
                let patch = json!({
                    "metadata": {"annotations": {keys::CONSOLIDATING: since.to_string()}},
                    "spec": {"taints": taints},
                });
                ((), Some(patch))
            }
            None => {
                let patch = json!({
                    "metadata": {"annotations": {keys::CONSOLIDATING: null}},
                    "spec": {"taints": taints},
                });
                ((), Some(patch))
            }
        }
    })
    .await
}

/// Sets (Some) or removes (None) annotations on a node.
pub async fn annotate(
    client: &kube::Client,
    name: &str,
    annotations: &[(&str, Option<String>)],
) -> Result<()> {
    let map: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let patch = json!({"metadata": {"annotations": map}});
    let result = nodes(client)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await;
    counted("patch", "Node", result)
        .map_err(|e| api_error(e, format_args!("annotating node {name}")))?;
    Ok(())
}

/// The value of one annotation on a node.
pub fn annotation<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// Replaces a ProvisioningRequest's conditions through its status subresource. The list is
/// written whole (a merge patch replaces lists): it is the request's list as read, with ekas's
/// changes, and nobody else writes the conditions of the classes ekas serves.
pub async fn set_request_conditions(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    conditions: &[RequestCondition],
) -> Result<()> {
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|c| {
            let mut condition = json!({
                "type": c.kind,
                "status": if c.status { "True" } else { "False" },
                "reason": c.reason,
                "message": c.message,
                "lastTransitionTime": c.last_transition.round(jiff::Unit::Second).ok().unwrap_or(c.last_transition).to_string(),
            });
            if let Some(generation) = c.observed_generation {
                condition["observedGeneration"] = json!(generation);
            }
            condition
        })
        .collect();
    let patch = json!({"status": {"conditions": conditions}});
    let api: Api<ProvisioningRequest> = Api::namespaced(client.clone(), namespace);
    let patched = api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await;
    counted("patch", "ProvisioningRequest", patched)
        .map(|_| ())
        .map_err(|e| {
            api_error(
                e,
                format_args!("setting the conditions of ProvisioningRequest {namespace}/{name}"),
            )
        })
}

/// Deletes the Node object; one already gone counts as deleted.
pub async fn delete_node(client: &kube::Client, name: &str) -> Result<()> {
    let result = nodes(client).delete(name, &DeleteParams::default()).await;
    match counted("delete", "Node", result) {
        Ok(_) => Ok(()),
        Err(e) if status_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(api_error(e, format_args!("deleting node {name}"))),
    }
}

/// Asks the API server to evict a pod, which checks its PodDisruptionBudgets first.
/// `grace_seconds` overrides the pod's termination grace period.
pub async fn evict(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    grace_seconds: Option<u32>,
) -> Result<Eviction> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    // Built here rather than with kube's `Api::evict`, which sends the delete options as
    // `delete_options`: the API server knows only `deleteOptions`, and would drop the grace.
    let eviction = PolicyEviction {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        delete_options: grace_seconds.map(|s| DeleteOptions {
            grace_period_seconds: Some(i64::from(s)),
            ..Default::default()
        }),
    };
    let result = pods
        .create_subresource::<_, Value>("eviction", name, &PostParams::default(), &eviction)
        .await;
    match counted("create", "Eviction", result) {
        Ok(_) => Ok(Eviction::Evicted),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Eviction::Gone),
        Err(kube::Error::Api(status)) if status.code == 429 => {
            let causes: Vec<&str> = status
                .details
                .iter()
                .flat_map(|d| d.causes.iter())
                .map(|c| c.message.as_str())
                .filter(|m| !m.is_empty())
                .collect();
            let why = if causes.is_empty() {
                status.message.clone()
            } else {
                causes.join("; ")
            };
            Ok(Eviction::Refused(why))
        }
        Err(kube::Error::Api(status))
            if status.code == 500
                && status.message.contains("more than one PodDisruptionBudget") =>
        {
            Ok(Eviction::Impossible(status.message.clone()))
        }
        Err(e) => Err(api_error(
            e,
            format_args!("evicting pod {namespace}/{name}"),
        )),
    }
}

/// The cluster as the actuator sees it: each method is one of the functions above, its error
/// with its class.
impl ClusterWriter for kube::Client {
    async fn cordon(&self, node: &str, claim: bool) -> Result<Cordon, CallError> {
        cordon(self, node, claim).await.map_err(classed)
    }

    async fn uncordon(&self, node: &str) -> Result<Uncordon, CallError> {
        uncordon(self, node).await.map_err(classed)
    }

    async fn annotate(
        &self,
        node: &str,
        annotations: &[(&str, Option<String>)],
    ) -> Result<(), CallError> {
        annotate(self, node, annotations).await.map_err(classed)
    }

    async fn mark_consolidating(
        &self,
        node: &str,
        since: Option<jiff::Timestamp>,
    ) -> Result<(), CallError> {
        mark_consolidating(self, node, since).await.map_err(classed)
    }

    async fn evict(
        &self,
        namespace: &str,
        pod: &str,
        grace_seconds: Option<u32>,
    ) -> Result<Eviction, CallError> {
        evict(self, namespace, pod, grace_seconds)
            .await
            .map_err(classed)
    }

    async fn delete_node(&self, node: &str) -> Result<(), CallError> {
        delete_node(self, node).await.map_err(classed)
    }

    async fn node(&self, node: &str) -> Result<Node, CallError> {
        super::read::node(self, node).await.map_err(classed)
    }

    async fn pods_on(
        &self,
        node: &str,
        selector: Option<&str>,
    ) -> Result<Vec<crate::model::Pod>, CallError> {
        let mut placements = Placements::default();
        let pods = super::read::pods_on_node(self, node, selector)
            .await
            .map_err(classed)?;
        // Each pod on its own: one whose spec cannot be read is kept as an obstacle (never
        // evicted, blocking scale-in), so it does not stop the drain of the others.
        pods.iter()
            .map(|raw| {
                model_pod(raw, &mut placements).or_else(|e| {
                    tracing::warn!(%node, error = %format!("{e:#}"), "a pod on the node cannot be read; left in place");
                    unreadable_pod(raw, &mut placements).ok_or(e)
                })
            })
            .collect::<Result<_>>()
            .map_err(classed)
    }

    async fn node_for(&self, instance: &InstanceAction) -> Result<Option<String>, CallError> {
        node_claiming(self, instance).await.map_err(classed)
    }

    async fn set_request_conditions(
        &self,
        namespace: &str,
        name: &str,
        conditions: &[RequestCondition],
    ) -> Result<(), CallError> {
        set_request_conditions(self, namespace, name, conditions)
            .await
            .map_err(classed)
    }
}

fn classed(report: Report) -> CallError {
    CallError::from_report(&report)
}

/// The Node that answers to `instance` now, if any: looked up by the names its Node would have
/// (the private DNS name, its host part, the IP), by the original tool's `aws/id` label, and
/// last in a full list of Nodes by providerID and addresses — a Node may have any name. The
/// list costs one paged LIST per replacement, and replacements are rare; terminating a machine
/// that is in truth a Node would cost its jobs.
async fn node_claiming(client: &kube::Client, instance: &InstanceAction) -> Result<Option<String>> {
    let mut names: Vec<&str> = Vec::new();
    if let Some(dns) = instance.private_dns.as_deref() {
        names.push(dns);
        names.extend(dns.split('.').next().filter(|host| *host != dns));
    }
    names.extend(instance.private_ip.as_deref());
    for name in names {
        if super::read::node_if_exists(client, name).await?.is_some() {
            return Ok(Some(name.to_string()));
        }
    }
    let selector = format!("{}={}", keys::AWS_ID, instance.instance_id);
    let labelled = super::read::nodes_labelled(client, &selector).await?;
    if let Some(name) = labelled.into_iter().find_map(|n| n.metadata.name) {
        return Ok(Some(name));
    }
    let answers = |node: &Node| {
        let spec = node.spec.as_ref();
        let by_provider = spec
            .and_then(|s| s.provider_id.as_deref())
            .and_then(crate::model::Node::instance_id_from_provider_id)
            .is_some_and(|id| id == instance.instance_id);
        let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
        let by_address = addresses.into_iter().flatten().any(|a| {
            Some(a.address.as_str()) == instance.private_ip.as_deref()
                || Some(a.address.as_str()) == instance.private_dns.as_deref()
        });
        by_provider || by_address
    };
    let every = super::read::all_nodes(client).await?;
    Ok(every
        .iter()
        .find(|n| answers(n))
        .and_then(|n| n.metadata.name.clone()))
}

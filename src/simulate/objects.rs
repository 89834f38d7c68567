//! Every model object the simulator makes, made here and nowhere else.
//!
//! Nodes and pods come from Kubernetes JSON through the same builders that read a snapshot
//! ([`crate::decode::kubernetes`]): a template per group, per DaemonSet and per (class,
//! requests), then copies with a name, a time and an id. So a simulated node or pod is exactly
//! what the engine would read from the cluster, and fields added to the model later get their
//! ordinary values without a change here. The few AWS records (instances, group members,
//! scaling activities) are built directly, below.

use std::collections::BTreeMap;

use color_eyre::eyre::{Result, WrapErr};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet as K8sDaemonSet;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::json;

use super::params::FailureKind;
use crate::decode::kubernetes::{self as build, Placements};
use crate::document::pod as doc;
use crate::model::group::GroupMember;
use crate::model::resources::CPU;
use crate::model::scheduling::HOSTNAME_LABEL;
use crate::model::{Instance, Node, NodeGroup, Pod, PodPhase, ScalingActivity};

/// Namespace of every simulated job pod.
pub const NAMESPACE: &str = "default";

/// What a new node of `group` looks like: its template's labels, taints and allocatable.
pub fn node_template(group: &NodeGroup) -> Result<Node> {
    let t = &group.template;
    let allocatable: BTreeMap<&str, String> = t
        .allocatable
        .iter()
        .map(|(name, amount)| {
            let quantity = if name == CPU {
                format!("{amount}m")
            } else {
                amount.to_string()
            };
            (name, quantity)
        })
        .collect();
    let taints: Vec<serde_json::Value> = t
        .taints
        .iter()
        .map(|taint| json!({"key": taint.key, "value": taint.value, "effect": taint.effect.as_str()}))
        .collect();
    let raw: core::Node = serde_json::from_value(json!({
        "metadata": {"name": "template", "labels": t.labels},
        "spec": {"taints": taints},
        "status": {
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))?;
    build::node(&raw).wrap_err_with(|| format!("node template of group {}", group.name))
}

/// A Ready node for a new instance, joined at `now`.
pub fn node(template: &Node, name: &str, instance: &Instance, now: Timestamp) -> Node {
    let mut node = template.clone();
    node.name = name.to_string();
    node.labels
        .insert(HOSTNAME_LABEL.to_string(), name.to_string());
    let zone = instance.zone.as_deref().unwrap_or_default();
    node.provider_id = Some(format!("aws:///{zone}/{}", instance.id));
    node.instance_id = Some(instance.id.clone());
    node.created = Some(now);
    node.ready_changed = Some(now);
    node
}

/// The pod every matching node runs for a DaemonSet of the snapshot.
pub fn daemon_pod_template(ds: &K8sDaemonSet, interner: &mut Placements<'_>) -> Result<Pod> {
    let name = ds.metadata.name.clone().unwrap_or_default();
    let spec = ds.spec.template.spec.as_ref().map(doc::PodSpec::from_full);
    let spec = spec
        .transpose()
        .wrap_err_with(|| format!("daemonset {name}: spec.template.spec"))?;
    let raw = doc::Pod {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: ds.metadata.namespace.clone(),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "DaemonSet".into(),
                name: name.clone(),
                uid: ds.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        },
        spec,
        status: Some(doc::PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        }),
    };
    build::pod(&raw, interner).wrap_err_with(|| format!("daemonset {name}"))
}

/// A DaemonSet's pod on `node`, started at `now`.
pub fn daemon_pod(template: &Pod, node: &str, now: Timestamp) -> Pod {
    let mut pod = template.clone();
    pod.name = format!("{}-{node}", template.name);
    pod.node_name = Some(node.to_string());
    pod.created = Some(now);
    pod
}

/// A pending job pod shape: the class's pod spec fragment with one container asking for
/// `requests`, owned by a Job.
pub fn job_pod_template(
    class: Option<(&str, &serde_json::Value)>,
    requests: &BTreeMap<String, String>,
    interner: &mut Placements<'_>,
) -> Result<Pod> {
    let mut spec = match class {
        Some((_, fragment)) => fragment.clone(),
        None => json!({}),
    };
    if !spec.is_object() {
        spec = json!({});
    }
    spec["containers"] =
        json!([{"name": "job", "image": "job", "resources": {"requests": requests}}]);
    spec["restartPolicy"] = json!("Never");
    let raw: doc::Pod = serde_json::from_value(json!({
        "metadata": {
            "name": "template",
            "namespace": NAMESPACE,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "job",
                                 "uid": "job", "controller": true}]
        },
        "spec": spec,
        "status": {"phase": "Pending"}
    }))
    .wrap_err_with(|| match class {
        Some((name, _)) => format!("class {name} is not a pod spec"),
        None => "requests".to_string(),
    })?;
    build::pod(&raw, interner)
}

/// A pod of job `job`, created (pending) at `now`.
pub fn job_pod(template: &Pod, job: &str, ordinal: u32, now: Timestamp) -> Pod {
    let mut pod = template.clone();
    pod.name = format!("{job}-{ordinal}");
    std::sync::Arc::make_mut(&mut pod.labels).insert("job-name".into(), job.to_string());
    pod.created = Some(now);
    pod
}

/// Makes a job's pod a member of the job's gang, as the coscheduling plugin's label does, so
/// the planner starts the job whole or buys nothing for it.
pub fn join_gang(pod: &mut Pod, job: &str) {
    std::sync::Arc::make_mut(&mut pod.labels)
        .insert(crate::model::keys::POD_GROUP.into(), job.to_string());
    pod.gang = Some(crate::model::Gang {
        namespace: pod.namespace.clone(),
        name: job.to_string(),
        min_member: None,
        from_request: false,
    });
}

/// Marks a pod bound to `node` and running.
pub fn bind(pod: &mut Pod, node: &str) {
    pod.node_name = Some(node.to_string());
    pod.phase = PodPhase::Running;
}

/// An instance the group just launched.
pub fn instance(group: &NodeGroup, id: String, zone: Option<String>, now: Timestamp) -> Instance {
    Instance {
        id,
        region: group.region.clone(),
        group: Some(group.name.clone()),
        instance_type: group.instance_type.clone(),
        zone,
        state: "pending".into(),
        launch_time: Some(now),
        private_dns: None,
        private_ip: None,
    }
}

pub fn member(id: &str) -> GroupMember {
    GroupMember {
        instance_id: id.to_string(),
        lifecycle_state: "Pending".into(),
        protected_from_scale_in: false,
    }
}

/// The activity AWS records when a group starts launching an instance; it stays
/// `InProgress` until the instance runs.
pub fn launch_activity(group: &NodeGroup, instance: &str, now: Timestamp) -> ScalingActivity {
    ScalingActivity {
        region: group.region.clone(),
        group: group.name.clone(),
        status_code: "InProgress".into(),
        status_message: String::new(),
        description: format!("Launching a new EC2 instance: {instance}"),
        cause: format!(
            "At {now} an instance was started in response to a difference between desired and \
             actual capacity."
        ),
        start_time: now,
        end_time: None,
    }
}

/// A failed launch, worded as AWS words it for each kind of failure.
pub fn failed_launch(group: &NodeGroup, kind: FailureKind, now: Timestamp) -> ScalingActivity {
    let ty = &group.instance_type;
    let message = match kind {
        FailureKind::InsufficientCapacity => format!(
            "We currently do not have sufficient {ty} capacity in the Availability Zone you \
             requested. Our system will be working on provisioning additional capacity. \
             Launching EC2 instance failed."
        ),
        FailureKind::InstanceLimit => format!(
            "You have requested more instances than your current instance limit allows for \
             the specified instance type ({ty}). Launching EC2 instance failed."
        ),
        FailureKind::VcpuLimit => "You have requested more vCPU capacity than your current vCPU \
             limit allows for the instance bucket that the specified instance type belongs to. \
             Launching EC2 instance failed."
            .to_string(),
        FailureKind::SpotLimit => {
            "Max spot instance count exceeded. Placing Spot instance request failed.".to_string()
        }
        FailureKind::LaunchFailed => {
            "The requested configuration is currently not valid. Launching EC2 instance failed."
                .to_string()
        }
    };
    ScalingActivity {
        region: group.region.clone(),
        group: group.name.clone(),
        status_code: "Failed".into(),
        description: format!("Launching a new EC2 instance.  Status Reason: {message}"),
        status_message: message,
        cause: format!(
            "At {now} an instance was started in response to a difference between desired and \
             actual capacity."
        ),
        start_time: now,
        end_time: Some(now),
    }
}

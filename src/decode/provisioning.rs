//! ProvisioningRequests and their PodTemplates → model requests, each pod set's template read
//! as a pending pod by the same builder as real pods.

use std::collections::HashMap;

use color_eyre::eyre::Result;

use super::kubernetes::{self, Placements};
use crate::document::pod as doc;
use crate::document::{PodTemplate, ProvisioningRequest as RawRequest};
use crate::model::{ProvisioningClass, ProvisioningRequest, RequestCondition, RequestedPods};

/// The requests of the snapshot, in namespace/name order. A request whose PodTemplate is
/// missing or unreadable is kept, with the problem, so its status can say so.
pub fn requests(
    raw: &[RawRequest],
    templates: &[PodTemplate],
    placements: &mut Placements<'_>,
) -> Vec<ProvisioningRequest> {
    let by_name: HashMap<(&str, &str), &PodTemplate> = templates
        .iter()
        .filter_map(|t| {
            let ns = t.metadata.namespace.as_deref().unwrap_or("default");
            Some(((ns, t.metadata.name.as_deref()?), t))
        })
        .collect();
    let mut out: Vec<ProvisioningRequest> = raw
        .iter()
        .filter_map(|r| request(r, &by_name, placements))
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

fn request(
    raw: &RawRequest,
    templates: &HashMap<(&str, &str), &PodTemplate>,
    placements: &mut Placements<'_>,
) -> Option<ProvisioningRequest> {
    let meta = &raw.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone()?;
    let created = meta.creation_timestamp.as_ref().map(|t| t.0);
    let mut problems = Vec::new();
    let pod_sets = raw
        .spec
        .pod_sets
        .iter()
        .map(|set| {
            let template = set.pod_template_ref.name.clone();
            let count = u32::try_from(set.count).unwrap_or(0);
            let pod = match templates.get(&(namespace.as_str(), template.as_str())) {
                None => {
                    problems.push(format!("PodTemplate {namespace}/{template} not found"));
                    None
                }
                Some(t) => match template_pod(t, &namespace, &name, created, placements) {
                    Ok(pod) => Some(pod),
                    Err(e) => {
                        problems.push(format!("PodTemplate {namespace}/{template}: {e:#}"));
                        None
                    }
                },
            };
            RequestedPods {
                template,
                count,
                pod,
            }
        })
        .collect::<Vec<_>>();
    if pod_sets.is_empty() {
        problems.push("spec.podSets is empty".into());
    }
    let conditions = raw
        .status
        .iter()
        .flat_map(|s| &s.conditions)
        .map(|c| RequestCondition {
            kind: c.type_.clone(),
            status: c.status == "True",
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition: c.last_transition_time.0,
            observed_generation: c.observed_generation,
        })
        .collect();
    let no_retry = raw
        .spec
        .parameters
        .as_ref()
        .and_then(|p| p.get("noRetry"))
        .is_some_and(|v| v == "true");
    Some(ProvisioningRequest {
        generation: meta.generation,
        created,
        class: ProvisioningClass::parse(&raw.spec.provisioning_class_name),
        pod_sets,
        conditions,
        no_retry,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
        namespace,
        name,
    })
}

/// The template as the pending pod it stands for: named after the request, created with it.
fn template_pod(
    template: &PodTemplate,
    namespace: &str,
    request: &str,
    created: Option<jiff::Timestamp>,
    placements: &mut Placements<'_>,
) -> Result<crate::model::Pod> {
    let mut metadata = template.template.metadata.clone();
    metadata.namespace = Some(namespace.to_string());
    metadata.name = Some(request.to_string());
    metadata.creation_timestamp = created.map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time);
    let raw = doc::Pod {
        metadata,
        spec: template.template.spec.clone().map(|mut spec| {
            // A template names no node; pods made from it are pending.
            spec.node_name = None;
            spec
        }),
        status: None,
    };
    kubernetes::pod(&raw, placements)
}

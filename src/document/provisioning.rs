//! ProvisioningRequests (`autoscaling.x-k8s.io/v1`, the CRD cluster-autoscaler publishes) and
//! the PodTemplates they name: how a queue such as Kueue asks whether capacity for a whole
//! workload is there, or can be bought, before it admits the workload. Only the fields ekas
//! reads and writes; the JSON shape is the API's, so `kubectl get … -o json` output parses.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use serde::{Deserialize, Serialize};

use super::pod::{PodSpec, trim_metadata};

/// The API group and version ekas serves.
pub const GROUP: &str = "autoscaling.x-k8s.io";
pub const VERSION: &str = "v1";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRequest {
    #[serde(default = "request_api_version")]
    pub api_version: String,
    #[serde(default = "request_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ProvisioningRequestSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProvisioningRequestStatus>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRequestSpec {
    #[serde(default)]
    pub pod_sets: Vec<PodSet>,
    #[serde(default)]
    pub provisioning_class_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSet {
    #[serde(default)]
    pub pod_template_ref: Reference,
    #[serde(default)]
    pub count: i32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reference {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRequestStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

fn request_api_version() -> String {
    format!("{GROUP}/{VERSION}")
}

fn request_kind() -> String {
    "ProvisioningRequest".to_string()
}

impl k8s_openapi::Resource for ProvisioningRequest {
    const API_VERSION: &'static str = "autoscaling.x-k8s.io/v1";
    const GROUP: &'static str = GROUP;
    const KIND: &'static str = "ProvisioningRequest";
    const VERSION: &'static str = VERSION;
    const URL_PATH_SEGMENT: &'static str = "provisioningrequests";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for ProvisioningRequest {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// A core PodTemplate (`v1`), with its pod template read like a pod (see [`super::pod`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodTemplate {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub template: PodTemplateSpec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PodTemplateSpec {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

impl PodTemplate {
    /// Drops what ekas never reads from both metadata (managedFields, kubectl's copy).
    pub fn trim(&mut self) {
        trim_metadata(&mut self.metadata);
        trim_metadata(&mut self.template.metadata);
    }
}

impl k8s_openapi::Resource for PodTemplate {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "PodTemplate";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "podtemplates";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for PodTemplate {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

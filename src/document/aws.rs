//! The AWS half of a snapshot, shaped exactly as the AWS CLI prints it (PascalCase). Only the
//! fields ekas reads are declared; anything else in the input is ignored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionPart {
    #[serde(default)]
    pub auto_scaling_groups: AutoScalingGroupsPage,
    #[serde(default)]
    pub launch_configurations: LaunchConfigurationsPage,
    #[serde(default)]
    pub launch_template_versions: LaunchTemplateVersionsPage,
    #[serde(default)]
    pub instances: InstancesPage,
    #[serde(default)]
    pub instance_types: InstanceTypesPage,
    #[serde(default)]
    pub scaling_activities: ActivitiesPage,
    /// Instance ids EC2 answered `InvalidInstanceID.NotFound` for (written by ekas; not an
    /// AWS CLI output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances_not_found: Vec<String>,
    /// On-demand dollars per hour by instance type: the prices the plan used (written by
    /// ekas, so a snapshot plans the same anywhere; not an AWS CLI output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<crate::pricing::RegionPrices>,
    /// Spot dollars per hour by instance type and zone, for the Spot and mixed groups (written
    /// by ekas like `prices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_prices: Option<crate::pricing::SpotPrices>,
    /// Prices read from AWS's price APIs for this pass (the live source only): never written,
    /// as `ekas snapshot` records the prices used in `prices` and `spotPrices` instead.
    #[serde(skip)]
    pub live_prices: Option<crate::pricing::LivePrices>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoScalingGroupsPage {
    #[serde(default)]
    pub auto_scaling_groups: Vec<AutoScalingGroup>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchConfigurationsPage {
    #[serde(default)]
    pub launch_configurations: Vec<LaunchConfiguration>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateVersionsPage {
    #[serde(default)]
    pub launch_template_versions: Vec<LaunchTemplateVersion>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstancesPage {
    #[serde(default)]
    pub reservations: Vec<Reservation>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypesPage {
    #[serde(default)]
    pub instance_types: Vec<InstanceTypeInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivitiesPage {
    #[serde(default)]
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoScalingGroup {
    pub auto_scaling_group_name: String,
    pub min_size: u32,
    pub max_size: u32,
    pub desired_capacity: u32,
    #[serde(default)]
    pub availability_zones: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_configuration_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<LaunchTemplateSpecification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed_instances_policy: Option<MixedInstancesPolicy>,
    #[serde(default)]
    pub instances: Vec<GroupInstance>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_instances_protected_from_scale_in: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateSpecification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_name: Option<String>,
    /// `$Latest`, `$Default` or a version number; absent means `$Default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixedInstancesPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<MixedLaunchTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances_distribution: Option<InstancesDistribution>,
}

/// How a mixed-instances group splits on-demand and Spot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstancesDistribution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_base_capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_percentage_above_base_capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_allocation_strategy: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MixedLaunchTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_specification: Option<LaunchTemplateSpecification>,
    #[serde(default)]
    pub overrides: Vec<LaunchTemplateOverride>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupInstance {
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub lifecycle_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(default)]
    pub protected_from_scale_in: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchConfiguration {
    pub launch_configuration_name: String,
    pub instance_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_price: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateVersion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_template_name: Option<String>,
    pub version_number: i64,
    #[serde(default)]
    pub default_version: bool,
    #[serde(default)]
    pub launch_template_data: LaunchTemplateData,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchTemplateData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_market_options: Option<InstanceMarketOptions>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceMarketOptions {
    /// `spot` for Spot instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Reservation {
    #[serde(default)]
    pub instances: Vec<Ec2Instance>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ec2Instance {
    pub instance_id: String,
    #[serde(default)]
    pub instance_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<Timestamp>,
    #[serde(default)]
    pub state: InstanceState,
    #[serde(default)]
    pub placement: Placement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_dns_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceState {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeInfo {
    pub instance_type: String,
    #[serde(default)]
    pub v_cpu_info: VCpuInfo,
    #[serde(default)]
    pub memory_info: MemoryInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_info: Option<GpuInfo>,
    #[serde(default)]
    pub processor_info: ProcessorInfo,
    /// `nitro` or `xen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_info: Option<EbsInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ebs_attachments: Option<u32>,
    /// `shared` (with network interfaces and instance store) or `dedicated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_limit_type: Option<String>,
}

impl InstanceTypeInfo {
    /// EBS volumes a node of this type can attach for pods: a dedicated limit as AWS states
    /// it, less the root volume; otherwise the defaults Kubernetes used for EBS (25 on Nitro
    /// instances, whose attachments are shared with network interfaces, 39 on the others).
    pub fn ebs_attachments(&self) -> i64 {
        let ebs = self.ebs_info.as_ref();
        match (
            ebs.and_then(|e| e.maximum_ebs_attachments),
            ebs.and_then(|e| e.attachment_limit_type.as_deref()),
        ) {
            (Some(max), Some("dedicated")) => i64::from(max.saturating_sub(1)),
            _ if self.hypervisor.as_deref() == Some("nitro") => 25,
            _ => 39,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VCpuInfo {
    #[serde(default)]
    pub default_v_cpus: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemoryInfo {
    #[serde(default, rename = "SizeInMiB")]
    pub size_in_mib: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GpuInfo {
    #[serde(default)]
    pub gpus: Vec<GpuDevice>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GpuDevice {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub count: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorInfo {
    #[serde(default)]
    pub supported_architectures: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Activity {
    #[serde(default)]
    pub activity_id: String,
    pub auto_scaling_group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub cause: String,
    pub start_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default)]
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

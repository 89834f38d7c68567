//! AWS CLI JSON → node groups, instances and scaling activities.

use std::collections::HashMap;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use super::kubernetes::{taint, template_labels, template_taints};
use crate::document::aws::{
    AutoScalingGroup, InstanceTypeInfo, LaunchTemplateSpecification, RegionPart,
};
use crate::document::tags::{self, Tags};
use crate::model::group::CapacityType;
use crate::model::group::GroupMember;
use crate::model::resources::{CPU, EPHEMERAL_STORAGE, MEMORY, PODS, Resources, UNLIMITED};
use crate::model::scheduling::Labels;
use crate::model::{
    Instance, LeftOutGroup, Node, NodeGroup, NodeTemplate, ScalingActivity, StartupTaints,
    TemplateSource,
};
use crate::pricing::cache::Wanted;

const MIB: i64 = 1 << 20;

/// What the kubelet and the system keep of a new node, so a template's allocatable matches what
/// the node will report.
#[derive(Debug, Clone)]
pub struct NodeReservation {
    /// Reserved CPU in millicores; `None` applies the EKS AMI's sliding scale (6% of the first
    /// core, 1% of the second, 0.5% of the next two, 0.25% of the rest).
    pub cpu: Option<i64>,
    /// Reserved memory in bytes; `None` reserves 255Mi + 11Mi per pod + 100Mi eviction
    /// threshold (the EKS AMI's kube-reserved and eviction-hard), plus 3.5% of the instance
    /// memory that the kernel and firmware keep before the kubelet sees it.
    pub memory: Option<i64>,
    /// Pods per node the kubelet allows (`--max-pods`).
    pub max_pods: u32,
}

impl Default for NodeReservation {
    fn default() -> Self {
        NodeReservation {
            cpu: None,
            memory: None,
            max_pods: 110,
        }
    }
}

impl NodeReservation {
    pub fn cpu_millis(&self, vcpus: u32) -> i64 {
        if let Some(cpu) = self.cpu {
            return cpu;
        }
        // Per-mille of a core reserved for each core, in tiers: 60, 10, 5, 5, then 2.5 each.
        let cores = i64::from(vcpus);
        let tier = |from: i64, to: i64| (cores.min(to) - from).max(0);
        (tier(0, 1) * 60_000 + tier(1, 2) * 10_000 + tier(2, 4) * 5_000 + tier(4, i64::MAX) * 2_500)
            / 1_000
    }

    pub fn memory_bytes(&self, instance_mib: u64) -> i64 {
        if let Some(memory) = self.memory {
            return memory;
        }
        let kube_reserved = (255 + 11 * i64::from(self.max_pods)) * MIB;
        let eviction = 100 * MIB;
        // Saturating: DescribeInstanceTypes data may come from a hand-made snapshot.
        let system = mib_bytes(instance_mib).saturating_mul(35) / 1000;
        kube_reserved
            .saturating_add(eviction)
            .saturating_add(system)
    }
}

/// Bytes in `mib` MiB, at most `i64::MAX`.
fn mib_bytes(mib: u64) -> i64 {
    i64::try_from(mib).unwrap_or(i64::MAX).saturating_mul(MIB)
}

/// What a group's template is built from, besides the region's AWS data.
pub struct TemplateInputs<'a> {
    pub nodes_by_instance: &'a HashMap<&'a str, &'a Node>,
    pub reservation: &'a NodeReservation,
    pub startup_taints: &'a StartupTaints,
}

/// Every group of `cluster` in one region, with its template, and the groups that could not
/// be read with the reason: those are left out of the pass (see [`LeftOut`]), not fatal to it.
pub fn node_groups(
    region: &str,
    part: &RegionPart,
    cluster: &str,
    inputs: &TemplateInputs<'_>,
) -> (Vec<NodeGroup>, Vec<LeftOutGroup>) {
    let types: HashMap<&str, &InstanceTypeInfo> = part
        .instance_types
        .instance_types
        .iter()
        .map(|t| (t.instance_type.as_str(), t))
        .collect();
    let mut groups = Vec::new();
    let mut left_out = Vec::new();
    for asg in &part.auto_scaling_groups.auto_scaling_groups {
        let tags: Tags = asg
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        if !tags::is_cluster_group(&tags, cluster) {
            continue;
        }
        match node_group(region, part, asg, &tags, &types, inputs) {
            Ok(group) => groups.push(group),
            Err(e) => {
                tracing::warn!(group = %asg.auto_scaling_group_name, region, error = %format!("{e:#}"), "group left out of the pass");
                left_out.push(LeftOutGroup {
                    name: asg.auto_scaling_group_name.clone(),
                    region: region.to_string(),
                    min_size: asg.min_size,
                    max_size: asg.max_size,
                    desired: asg.desired_capacity,
                    reason: format!("{e:#}"),
                });
            }
        }
    }
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    left_out.sort_by(|a, b| a.name.cmp(&b.name));
    (groups, left_out)
}

/// What the cluster's groups in one region want priced live: each group's instance type (the
/// one it is planned and priced by) on demand, and on the Spot market too for Spot and mixed
/// groups. A group whose type cannot be told is left to the builder to report.
pub fn wanted_prices(region: &str, part: &RegionPart, cluster: &str) -> Wanted {
    let types: HashMap<&str, &InstanceTypeInfo> = part
        .instance_types
        .instance_types
        .iter()
        .map(|t| (t.instance_type.as_str(), t))
        .collect();
    let mut wanted = Wanted::default();
    for asg in &part.auto_scaling_groups.auto_scaling_groups {
        let tags: Tags = asg
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        if !tags::is_cluster_group(&tags, cluster) {
            continue;
        }
        let Ok((ty, _, _)) = instance_type(region, part, asg, &types) else {
            continue;
        };
        if capacity_type(region, part, asg) != CapacityType::OnDemand {
            wanted.spot.insert(ty.clone());
        }
        wanted.on_demand.insert(ty);
    }
    wanted
}

fn node_group(
    region: &str,
    part: &RegionPart,
    asg: &AutoScalingGroup,
    tags: &Tags,
    types: &HashMap<&str, &InstanceTypeInfo>,
    inputs: &TemplateInputs<'_>,
) -> Result<NodeGroup> {
    let (instance_type, instance_type_note, image_id) = instance_type(region, part, asg, types)?;
    let priority = priority(tags)?;
    let members = members(asg);
    let info = types.get(instance_type.as_str()).copied();
    // A started, schedulable member is the truest picture of the next node; one still starting
    // (a startup taint, GPUs not yet advertised) would picture it short.
    let promised = promised_extended(info, tags)?;
    let template = match model_member(&members, &promised, inputs) {
        Some(node) => NodeTemplate {
            labels: template_labels(node, &asg.availability_zones),
            taints: template_taints(node),
            allocatable: node.allocatable.clone(),
            source: TemplateSource::Node(node.name.clone()),
        },
        None => {
            let info = info.ok_or_else(|| {
                eyre!(
                    "instance type {instance_type} is not in aws.{region}.instanceTypes; add the \
                     output of `aws ec2 describe-instance-types --instance-types {instance_type}`"
                )
            })?;
            let zones = &asg.availability_zones;
            type_template(
                region,
                info,
                image_id.as_deref(),
                zones,
                tags,
                inputs.reservation,
            )?
        }
    };
    Ok(NodeGroup {
        name: asg.auto_scaling_group_name.clone(),
        region: region.to_string(),
        min_size: asg.min_size,
        max_size: asg.max_size,
        desired: asg.desired_capacity,
        instance_type,
        instance_type_note,
        priority,
        // Set once the region's prices are known (`decode::snapshot`).
        price: None,
        zones: asg.availability_zones.clone(),
        members,
        template,
        new_instances_protected: asg.new_instances_protected_from_scale_in,
        unlaunched_since: tags::unlaunched_since(tags),
        capacity: capacity_type(region, part, asg),
        recent_interruptions: 0,
    })
}

/// The group's `ekas/priority` tag (0 without one).
fn priority(tags: &Tags) -> Result<i64> {
    match tags.get(tags::PRIORITY_TAG) {
        None => Ok(0),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| eyre!("tag {}={v:?} is not an integer", tags::PRIORITY_TAG)),
    }
}

/// The group's instances, as the group lists them.
fn members(asg: &AutoScalingGroup) -> Vec<GroupMember> {
    asg.instances
        .iter()
        .map(|i| GroupMember {
            instance_id: i.instance_id.clone(),
            lifecycle_state: i.lifecycle_state.clone(),
            protected_from_scale_in: i.protected_from_scale_in,
        })
        .collect()
}

/// The member node a new node is pictured from: ready, readable, past its startup taints and
/// advertising the `promised` extended resources; schedulable ones first, then by name.
fn model_member<'n>(
    members: &[GroupMember],
    promised: &Resources,
    inputs: &TemplateInputs<'n>,
) -> Option<&'n Node> {
    let mut member_nodes: Vec<&Node> = members
        .iter()
        .filter_map(|m| {
            inputs
                .nodes_by_instance
                .get(m.instance_id.as_str())
                .copied()
        })
        .filter(|n| {
            n.ready
                && !n.unreadable
                && !n.taints.iter().any(|t| inputs.startup_taints.is_startup(t))
                && promised.iter().all(|(name, _)| n.allocatable.get(name) > 0)
        })
        .collect();
    member_nodes.sort_by_key(|n| (n.unschedulable, n.name.as_str()));
    member_nodes.first().copied()
}

/// Extended resources (GPUs, …) a new node of the group will have: the instance type's GPUs
/// and the node-template resource tags.
fn promised_extended(info: Option<&InstanceTypeInfo>, tags: &Tags) -> Result<Resources> {
    let mut promised = Resources::default();
    for gpu in info.iter().flat_map(|i| &i.gpu_info).flat_map(|g| &g.gpus) {
        let resource = gpu_resource(&gpu.manufacturer);
        promised.set(resource, promised.get(resource) + i64::from(gpu.count));
    }
    let tagged = Resources::from_quantities(tags::resources(tags))
        .map_err(|e| eyre!("tag {}{e}", tags::TEMPLATE_RESOURCE_PREFIX))?;
    for (name, amount) in tagged.extended() {
        promised.set(name, *amount);
    }
    Ok(promised)
}

/// The extended resource a GPU is advertised as.
fn gpu_resource(manufacturer: &str) -> &'static str {
    match manufacturer.to_ascii_lowercase().as_str() {
        "amd" => "amd.com/gpu",
        _ => "nvidia.com/gpu",
    }
}

/// The group's instance type, a note on how it was chosen, and the image id when known.
fn instance_type(
    region: &str,
    part: &RegionPart,
    asg: &AutoScalingGroup,
    types: &HashMap<&str, &InstanceTypeInfo>,
) -> Result<(String, Option<String>, Option<String>)> {
    if let Some(mixed) = asg
        .mixed_instances_policy
        .as_ref()
        .and_then(|p| p.launch_template.as_ref())
    {
        let overrides: Vec<&str> = mixed
            .overrides
            .iter()
            .filter_map(|o| o.instance_type.as_deref())
            .collect();
        let spec = mixed.launch_template_specification.as_ref();
        let image = spec
            .and_then(|s| launch_template_data(region, part, s).ok())
            .and_then(|(_, image)| image);
        if !overrides.is_empty() {
            // Size by the smallest type, so a pod planned onto a new node fits whichever
            // type AWS launches.
            let size = |t: &str| {
                types
                    .get(t)
                    .map(|i| (i.v_cpu_info.default_v_cpus, i.memory_info.size_in_mib))
            };
            let smallest = overrides
                .iter()
                .min_by_key(|t| (size(t).unwrap_or((u32::MAX, u64::MAX)), **t))
                .expect("overrides is not empty");
            let note = format!(
                "smallest of mixed-instances overrides {}",
                overrides.join(", ")
            );
            return Ok((smallest.to_string(), Some(note), image));
        }
        let spec = spec.ok_or_else(|| {
            eyre!("MixedInstancesPolicy has neither Overrides nor a LaunchTemplateSpecification")
        })?;
        let (ty, image) = launch_template_data(region, part, spec)?;
        return Ok((ty, None, image));
    }
    if let Some(spec) = &asg.launch_template {
        let (ty, image) = launch_template_data(region, part, spec)?;
        return Ok((ty, None, image));
    }
    if let Some(name) = &asg.launch_configuration_name {
        let lc = part
            .launch_configurations
            .launch_configurations
            .iter()
            .find(|lc| &lc.launch_configuration_name == name)
            .ok_or_else(|| {
                eyre!("launch configuration {name} is not in aws.{region}.launchConfigurations")
            })?;
        return Ok((lc.instance_type.clone(), None, lc.image_id.clone()));
    }
    bail!("has no launch template, launch configuration or mixed-instances policy")
}

/// Instance type and image of a launch template version: `$Latest`, `$Default` or a number.
fn launch_template_data(
    region: &str,
    part: &RegionPart,
    spec: &LaunchTemplateSpecification,
) -> Result<(String, Option<String>)> {
    let version = template_version(region, part, spec)?;
    let name = template_name(spec);
    let ty = version
        .launch_template_data
        .instance_type
        .clone()
        .ok_or_else(|| {
            eyre!(
                "launch template {name} version {} sets no InstanceType",
                version.version_number
            )
        })?;
    Ok((ty, version.launch_template_data.image_id.clone()))
}

fn template_name(spec: &LaunchTemplateSpecification) -> &str {
    spec.launch_template_name
        .as_deref()
        .or(spec.launch_template_id.as_deref())
        .unwrap_or("(unnamed)")
}

/// The version of a launch template a group launches from.
fn template_version<'a>(
    region: &str,
    part: &'a RegionPart,
    spec: &LaunchTemplateSpecification,
) -> Result<&'a crate::document::aws::LaunchTemplateVersion> {
    let same_template = |v: &&crate::document::aws::LaunchTemplateVersion| {
        (spec.launch_template_id.is_some() && v.launch_template_id == spec.launch_template_id)
            || (spec.launch_template_name.is_some()
                && v.launch_template_name == spec.launch_template_name)
    };
    let versions: Vec<_> = part
        .launch_template_versions
        .launch_template_versions
        .iter()
        .filter(same_template)
        .collect();
    let wanted = spec.version.as_deref().unwrap_or("$Default");
    let version = match wanted {
        "$Latest" => versions.iter().max_by_key(|v| v.version_number),
        "$Default" => versions.iter().find(|v| v.default_version),
        number => {
            let n: i64 = number.parse().map_err(|_| {
                eyre!("launch template version {number:?} is not $Latest, $Default or a number")
            })?;
            versions.iter().find(|v| v.version_number == n)
        }
    };
    let name = template_name(spec);
    version.copied().ok_or_else(|| {
        eyre!(
            "launch template {name} version {wanted} is not in aws.{region}.launchTemplateVersions"
        )
    })
}

/// What the group's instances are bought as: a mixed-instances policy's distribution, else a
/// launch template asking for the spot market or a launch configuration with a Spot price.
fn capacity_type(region: &str, part: &RegionPart, asg: &AutoScalingGroup) -> CapacityType {
    if let Some(policy) = &asg.mixed_instances_policy {
        let d = policy.instances_distribution.clone().unwrap_or_default();
        // AWS's defaults: no on-demand base, 100% on-demand above it.
        let base = d.on_demand_base_capacity.unwrap_or(0);
        let percentage = d.on_demand_percentage_above_base_capacity.unwrap_or(100);
        return match (base, percentage) {
            (_, 100) => CapacityType::OnDemand,
            (0, 0) => CapacityType::Spot,
            (base, percentage) => CapacityType::Mixed {
                on_demand_base: base,
                on_demand_percentage: percentage,
            },
        };
    }
    if let Some(spec) = &asg.launch_template {
        let spot = template_version(region, part, spec).is_ok_and(|v| {
            v.launch_template_data
                .instance_market_options
                .as_ref()
                .and_then(|m| m.market_type.as_deref())
                == Some("spot")
        });
        return if spot {
            CapacityType::Spot
        } else {
            CapacityType::OnDemand
        };
    }
    let spot_price = asg.launch_configuration_name.as_ref().and_then(|name| {
        part.launch_configurations
            .launch_configurations
            .iter()
            .find(|lc| &lc.launch_configuration_name == name)?
            .spot_price
            .as_ref()
    });
    if spot_price.is_some() {
        CapacityType::Spot
    } else {
        CapacityType::OnDemand
    }
}

/// A template from the instance type's data, the group's tags and the kubelet reservation.
fn type_template(
    region: &str,
    info: &InstanceTypeInfo,
    image_id: Option<&str>,
    zones: &[String],
    tags: &Tags,
    reservation: &NodeReservation,
) -> Result<NodeTemplate> {
    let allocatable = type_allocatable(info, tags, reservation)?;
    let labels = type_labels(region, info, image_id, zones, tags);
    let taints = tags::taints(tags)
        .map(|(key, value)| {
            let (value, effect) = value.rsplit_once(':').unwrap_or(("", value));
            taint(key, Some(value), effect)
        })
        .collect::<Result<Vec<_>>>()
        .wrap_err_with(|| format!("tag {}…", tags::TEMPLATE_TAINT_PREFIX))?;
    Ok(NodeTemplate {
        labels,
        taints,
        allocatable,
        source: TemplateSource::InstanceType,
    })
}

/// What a new node of the type offers pods: its cpu and memory less the kubelet reservation,
/// the pods the kubelet allows, its GPUs, and what the node-template resource tags set.
fn type_allocatable(
    info: &InstanceTypeInfo,
    tags: &Tags,
    reservation: &NodeReservation,
) -> Result<Resources> {
    let vcpus = info.v_cpu_info.default_v_cpus;
    let mib = info.memory_info.size_in_mib;
    let mut allocatable = Resources::default();
    allocatable.set(
        CPU,
        (i64::from(vcpus) * 1000)
            .saturating_sub(reservation.cpu_millis(vcpus))
            .max(0),
    );
    allocatable.set(
        MEMORY,
        mib_bytes(mib)
            .saturating_sub(reservation.memory_bytes(mib))
            .max(0),
    );
    allocatable.set(PODS, i64::from(reservation.max_pods));
    // Root volume size is not in the instance type; without a node-template tag, storage is
    // not what limits a new node.
    allocatable.set(EPHEMERAL_STORAGE, UNLIMITED);
    for gpu in info.gpu_info.iter().flat_map(|g| &g.gpus) {
        let resource = gpu_resource(&gpu.manufacturer);
        let have = allocatable.get(resource);
        allocatable.set(resource, have.saturating_add(i64::from(gpu.count)));
    }
    let tagged = Resources::from_quantities(tags::resources(tags))
        .map_err(|e| eyre!("tag {}{e}", tags::TEMPLATE_RESOURCE_PREFIX))?;
    for (name, amount) in tagged.iter() {
        allocatable.set(name, amount);
    }
    Ok(allocatable)
}

/// The labels a new node of the type will have: the well-known ones the kubelet and the cloud
/// set, the original tool's `aws/…` ones, the zone when the group has just one, then the
/// node-template label tags.
fn type_labels(
    region: &str,
    info: &InstanceTypeInfo,
    image_id: Option<&str>,
    zones: &[String],
    tags: &Tags,
) -> Labels {
    let ty = info.instance_type.as_str();
    let arch = architecture(info);
    let mut labels = Labels::new();
    let mut label = |k: &str, v: &str| {
        labels.insert(k.to_string(), v.to_string());
    };
    for key in ["kubernetes.io/arch", "beta.kubernetes.io/arch"] {
        label(key, arch);
    }
    for key in ["kubernetes.io/os", "beta.kubernetes.io/os"] {
        label(key, "linux");
    }
    for key in [
        "node.kubernetes.io/instance-type",
        "beta.kubernetes.io/instance-type",
        "aws/type",
    ] {
        label(key, ty);
    }
    for key in [
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/region",
        "aws/region",
    ] {
        label(key, region);
    }
    // The original tool's class is the type's first letter (p for p3.2xlarge).
    // By character, not byte: a name from a hand-made snapshot may start with any letter.
    let class: String = ty.chars().take(1).collect();
    label("aws/class", &class);
    if let Some(image) = image_id {
        label("aws/ami-id", image);
    }
    // A zone is known only when the group has one.
    if let [zone] = zones {
        for key in [
            "topology.kubernetes.io/zone",
            "failure-domain.beta.kubernetes.io/zone",
            // The EBS CSI driver's node label: EBS volumes' node affinity names it.
            "topology.ebs.csi.aws.com/zone",
        ] {
            label(key, zone);
        }
    }
    for (k, v) in tags::labels(tags) {
        label(k, v);
    }
    labels
}

/// The type's architecture label: arm64 when it supports it, else amd64.
fn architecture(info: &InstanceTypeInfo) -> &'static str {
    match info
        .processor_info
        .supported_architectures
        .iter()
        .any(|a| a == "arm64")
    {
        true => "arm64",
        false => "amd64",
    }
}

/// EC2 instances of one region: members of the cluster's groups (with their group), any
/// other the document describes (instances of Nodes that left every group), and those EC2 said
/// it does not know.
pub fn instances(region: &str, part: &RegionPart, cluster: &str) -> Vec<Instance> {
    let group_of: HashMap<&str, &str> = part
        .auto_scaling_groups
        .auto_scaling_groups
        .iter()
        .filter(|asg| {
            let tags: Tags = asg
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            tags::is_cluster_group(&tags, cluster)
        })
        .flat_map(|asg| {
            asg.instances
                .iter()
                .map(|i| (i.instance_id.as_str(), asg.auto_scaling_group_name.as_str()))
        })
        .collect();
    let group = |id: &str| group_of.get(id).map(|g| g.to_string());
    let mut out: Vec<Instance> = part
        .instances
        .reservations
        .iter()
        .flat_map(|r| &r.instances)
        .map(|i| Instance {
            id: i.instance_id.clone(),
            region: region.to_string(),
            group: group(&i.instance_id),
            instance_type: i.instance_type.clone(),
            zone: i.placement.availability_zone.clone(),
            state: i.state.name.clone(),
            launch_time: i.launch_time,
            private_dns: i.private_dns_name.clone().filter(|d| !d.is_empty()),
            private_ip: i.private_ip_address.clone().filter(|a| !a.is_empty()),
        })
        .collect();
    out.extend(part.instances_not_found.iter().map(|id| Instance {
        id: id.clone(),
        region: region.to_string(),
        group: group(id),
        instance_type: String::new(),
        zone: None,
        state: Instance::NOT_FOUND.to_string(),
        launch_time: None,
        private_dns: None,
        private_ip: None,
    }));
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

pub fn activities(region: &str, part: &RegionPart, groups: &[NodeGroup]) -> Vec<ScalingActivity> {
    part.scaling_activities
        .activities
        .iter()
        .filter(|a| {
            groups
                .iter()
                .any(|g| g.region == region && g.name == a.auto_scaling_group_name)
        })
        .map(|a| ScalingActivity {
            region: region.to_string(),
            group: a.auto_scaling_group_name.clone(),
            status_code: a.status_code.clone(),
            status_message: a.status_message.clone().unwrap_or_default(),
            description: a.description.clone(),
            cause: a.cause.clone(),
            start_time: a.start_time,
            end_time: a.end_time,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::aws::InstancesDistribution;

    #[test]
    fn default_reservation_matches_the_eks_ami() {
        let r = NodeReservation::default();
        assert_eq!(r.cpu_millis(1), 60);
        assert_eq!(r.cpu_millis(2), 70);
        assert_eq!(r.cpu_millis(4), 80);
        assert_eq!(r.cpu_millis(16), 110);
        assert_eq!(r.cpu_millis(96), 310);
        // 255Mi + 11Mi * 110 + 100Mi eviction + 3.5% of 64Gi
        assert_eq!(
            r.memory_bytes(65_536),
            (1565 * MIB) + 65_536 * MIB * 35 / 1000
        );
        let fixed = NodeReservation {
            cpu: Some(250),
            memory: Some(MIB),
            max_pods: 58,
        };
        assert_eq!(fixed.cpu_millis(16), 250);
        assert_eq!(fixed.memory_bytes(65_536), MIB);
    }

    #[test]
    fn only_the_clusters_group_types_are_priced_and_spot_ones_on_both_markets() {
        let doc: crate::document::SnapshotDocument =
            serde_json::from_str(include_str!("../../examples/batch-cluster.json")).unwrap();
        let set = |types: &[&str]| types.iter().map(|t| t.to_string()).collect();
        // us-west-2: a launch template and a launch configuration; the other cluster's group
        // is not asked about.
        let west = wanted_prices("us-west-2", &doc.aws["us-west-2"], "batch-prod");
        assert_eq!(west.on_demand, set(&["m5.4xlarge", "p3.2xlarge"]));
        assert!(west.spot.is_empty());
        // A mixed group with Spot above its base: its type on both markets.
        let mut east = doc.aws["us-east-1"].clone();
        let group = &mut east.auto_scaling_groups.auto_scaling_groups[0];
        assert_eq!(group.auto_scaling_group_name, "batch-prod-cpu-use1");
        let policy = group.mixed_instances_policy.as_mut().unwrap();
        policy.instances_distribution = Some(InstancesDistribution {
            on_demand_base_capacity: Some(1),
            on_demand_percentage_above_base_capacity: Some(20),
            spot_allocation_strategy: None,
        });
        let wanted = wanted_prices("us-east-1", &east, "batch-prod");
        assert_eq!(wanted.spot.len(), 1);
        assert!(wanted.on_demand.is_superset(&wanted.spot));
        assert_eq!(wanted.on_demand.len(), 2);
    }
}

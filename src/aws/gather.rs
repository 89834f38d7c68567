//! Reads the AWS half of a snapshot, in the AWS CLI's shapes, so a live pass and a snapshot
//! file go through the same builder. Every list is paginated and every describe call batched.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::InstanceType;
use color_eyre::eyre::{Result, eyre};
use jiff::Timestamp;
use tokio::task::JoinSet;

use super::{RegionClients, describe_error};
use crate::document::aws::*;
use crate::document::tags::{self, Tags};

const LAUNCH_CONFIGURATIONS_PER_CALL: usize = 50;
const INSTANCE_TYPES_PER_CALL: usize = 100;
const INSTANCES_PER_CALL: usize = 1000;
/// Recent activities are all backoff needs (it looks back at most an hour).
const ACTIVITIES_PER_GROUP: i32 = 20;

fn timestamp(t: Option<&aws_smithy_types::DateTime>) -> Option<Timestamp> {
    t.and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok())
}

/// Instance ids that have a Node, with the zone from the Node's providerID, when the Kubernetes
/// half was read first. Their EC2 details are not needed (the Node says more), so a pass
/// describes only members without a Node and Nodes whose instance left every group — a cost
/// that does not grow with the cluster.
pub type Registered = std::sync::Arc<BTreeMap<String, String>>;

/// The AWS half of a snapshot for every region, read concurrently; any region's error fails
/// the whole read.
pub async fn all_regions(
    regions: &[RegionClients],
    cluster: &str,
    registered: Option<Registered>,
) -> Result<BTreeMap<String, RegionPart>> {
    let read = each_region(regions, cluster, registered).await?;
    match read.unreachable.into_iter().next() {
        Some((region, error)) => Err(eyre!("reading AWS region {region}: {error}")),
        None => Ok(read.parts),
    }
}

/// The regions that could be read, and why the others could not.
pub struct RegionsRead {
    pub parts: BTreeMap<String, RegionPart>,
    /// Region → the error that stopped its read.
    pub unreachable: BTreeMap<String, String>,
}

/// The AWS half of a snapshot for every region, read concurrently. A region that fails (an
/// outage, a hung endpoint, missing permissions) is reported, not fatal: the pass plans with
/// the others, so pods overflow to the next region exactly when the preferred one is down.
/// Fails only when no region could be read.
pub async fn each_region(
    regions: &[RegionClients],
    cluster: &str,
    registered: Option<Registered>,
) -> Result<RegionsRead> {
    let mut tasks = JoinSet::new();
    for clients in regions.iter().cloned() {
        let cluster = cluster.to_string();
        let registered = registered.clone();
        tasks.spawn(async move {
            let part = region_part(&clients, &cluster, registered.as_deref()).await;
            (clients.region, part)
        });
    }
    let mut read = RegionsRead {
        parts: BTreeMap::new(),
        unreachable: BTreeMap::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (region, part) = joined.map_err(|e| eyre!("a region's reader stopped: {e}"))?;
        match part {
            Ok(part) => {
                read.parts.insert(region, part);
            }
            Err(e) => {
                tracing::warn!(%region, error = %format!("{e:#}"), "AWS region unreachable; planning without it");
                read.unreachable.insert(region, format!("{e:#}"));
            }
        }
    }
    if read.parts.is_empty() && !read.unreachable.is_empty() {
        return Err(NoRegionReadable(read.unreachable).into());
    }
    Ok(read)
}

/// Every region failed to read: region → why.
#[derive(Debug, Clone)]
pub struct NoRegionReadable(pub BTreeMap<String, String>);

impl std::fmt::Display for NoRegionReadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let errors: Vec<String> = self
            .0
            .iter()
            .map(|(region, e)| format!("reading AWS region {region}: {e}"))
            .collect();
        write!(f, "no AWS region could be read; {}", errors.join("; "))
    }
}

impl std::error::Error for NoRegionReadable {}

pub async fn region_part(
    clients: &RegionClients,
    cluster: &str,
    registered: Option<&BTreeMap<String, String>>,
) -> Result<RegionPart> {
    let groups = cluster_groups(clients, cluster).await?;
    let launch_configurations = launch_configurations(clients, &groups).await?;
    let launch_template_versions = launch_template_versions(clients, &groups).await?;
    let mut wanted_types = BTreeSet::new();
    for lc in &launch_configurations {
        wanted_types.insert(lc.instance_type.clone());
    }
    for v in &launch_template_versions {
        wanted_types.extend(v.launch_template_data.instance_type.clone());
    }
    for g in &groups {
        let overrides = g
            .mixed_instances_policy
            .iter()
            .flat_map(|p| &p.launch_template);
        wanted_types.extend(
            overrides
                .flat_map(|t| &t.overrides)
                .filter_map(|o| o.instance_type.clone()),
        );
        wanted_types.extend(g.instances.iter().filter_map(|i| i.instance_type.clone()));
    }
    let instance_types = instance_types(clients, wanted_types).await?;
    let members: BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| g.instances.iter().map(|i| i.instance_id.as_str()))
        .collect();
    let (wanted, orphans): (Vec<String>, Vec<String>) = match registered {
        None => (
            members.iter().map(|id| id.to_string()).collect(),
            Vec::new(),
        ),
        Some(registered) => (
            members
                .iter()
                .filter(|id| !registered.contains_key(**id))
                .map(|id| id.to_string())
                .collect(),
            // Nodes of this region whose instance is in no group: gone, or not ours.
            registered
                .iter()
                .filter(|(id, zone)| {
                    !members.contains(id.as_str()) && in_region(zone, &clients.region)
                })
                .map(|(id, _)| id.clone())
                .collect(),
        ),
    };
    let mut reservations = instances(clients, &wanted).await?;
    let (orphans, instances_not_found) = orphan_instances(clients, &orphans).await?;
    reservations.extend(orphans);
    let activities = activities(clients, &groups).await?;
    Ok(RegionPart {
        auto_scaling_groups: AutoScalingGroupsPage {
            auto_scaling_groups: groups,
        },
        launch_configurations: LaunchConfigurationsPage {
            launch_configurations,
        },
        launch_template_versions: LaunchTemplateVersionsPage {
            launch_template_versions,
        },
        instances: InstancesPage { reservations },
        instance_types: InstanceTypesPage { instance_types },
        scaling_activities: ActivitiesPage { activities },
        instances_not_found,
        // Filled by whoever writes the snapshot, from the prices the plan would use.
        prices: None,
        spot_prices: None,
        // Read after every region's groups are known (`source::live`).
        live_prices: None,
    })
}

/// Every group of the cluster, by any discovery scheme (see [`tags::is_cluster_group`]).
async fn cluster_groups(clients: &RegionClients, cluster: &str) -> Result<Vec<AutoScalingGroup>> {
    let pages = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .max_records(100)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| eyre!("DescribeAutoScalingGroups: {}", describe_error(e)))?;
    let mut out = Vec::new();
    for group in pages.iter().flat_map(|p| p.auto_scaling_groups()) {
        let tags: Tags = group
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        if tags::is_cluster_group(&tags, cluster) {
            out.push(convert_group(group, &tags));
        }
    }
    out.sort_by(|a, b| a.auto_scaling_group_name.cmp(&b.auto_scaling_group_name));
    Ok(out)
}

fn template_spec(
    spec: &aws_sdk_autoscaling::types::LaunchTemplateSpecification,
) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification {
        launch_template_id: spec.launch_template_id().map(str::to_string),
        launch_template_name: spec.launch_template_name().map(str::to_string),
        version: spec.version().map(str::to_string),
    }
}

fn convert_group(
    g: &aws_sdk_autoscaling::types::AutoScalingGroup,
    tags: &Tags,
) -> AutoScalingGroup {
    let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    AutoScalingGroup {
        auto_scaling_group_name: g.auto_scaling_group_name().unwrap_or_default().to_string(),
        min_size: count(g.min_size()),
        max_size: count(g.max_size()),
        desired_capacity: count(g.desired_capacity()),
        availability_zones: g.availability_zones().to_vec(),
        launch_configuration_name: g.launch_configuration_name().map(str::to_string),
        launch_template: g.launch_template().map(template_spec),
        mixed_instances_policy: g.mixed_instances_policy().map(|p| MixedInstancesPolicy {
            launch_template: p.launch_template().map(|t| MixedLaunchTemplate {
                launch_template_specification: t.launch_template_specification().map(template_spec),
                overrides: t
                    .overrides()
                    .iter()
                    .map(|o| LaunchTemplateOverride {
                        instance_type: o.instance_type().map(str::to_string),
                    })
                    .collect(),
            }),
            instances_distribution: p.instances_distribution().map(|d| InstancesDistribution {
                on_demand_base_capacity: d
                    .on_demand_base_capacity()
                    .and_then(|n| u32::try_from(n).ok()),
                on_demand_percentage_above_base_capacity: d
                    .on_demand_percentage_above_base_capacity()
                    .and_then(|n| u32::try_from(n).ok()),
                spot_allocation_strategy: d.spot_allocation_strategy().map(str::to_string),
            }),
        }),
        instances: g
            .instances()
            .iter()
            .map(|i| GroupInstance {
                instance_id: i.instance_id().unwrap_or_default().to_string(),
                instance_type: i.instance_type().map(str::to_string),
                availability_zone: i.availability_zone().map(str::to_string),
                lifecycle_state: i
                    .lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health_status: i.health_status().map(str::to_string),
                protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
            })
            .collect(),
        tags: tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        new_instances_protected_from_scale_in: g.new_instances_protected_from_scale_in(),
    }
}

async fn launch_configurations(
    clients: &RegionClients,
    groups: &[AutoScalingGroup],
) -> Result<Vec<LaunchConfiguration>> {
    let names: BTreeSet<String> = groups
        .iter()
        .filter_map(|g| g.launch_configuration_name.clone())
        .collect();
    let names: Vec<String> = names.into_iter().collect();
    let mut out = Vec::new();
    for batch in names.chunks(LAUNCH_CONFIGURATIONS_PER_CALL) {
        let pages = clients
            .autoscaling
            .describe_launch_configurations()
            .set_launch_configuration_names(Some(batch.to_vec()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                eyre!(
                    "DescribeLaunchConfigurations {}: {}",
                    batch.join(","),
                    describe_error(e)
                )
            })?;
        for lc in pages.iter().flat_map(|p| p.launch_configurations()) {
            out.push(LaunchConfiguration {
                launch_configuration_name: lc
                    .launch_configuration_name()
                    .unwrap_or_default()
                    .to_string(),
                instance_type: lc.instance_type().unwrap_or_default().to_string(),
                image_id: lc.image_id().map(str::to_string),
                spot_price: lc.spot_price().map(str::to_string),
            });
        }
    }
    Ok(out)
}

/// The versions the groups name, per launch template.
async fn launch_template_versions(
    clients: &RegionClients,
    groups: &[AutoScalingGroup],
) -> Result<Vec<LaunchTemplateVersion>> {
    // (id, name) → versions asked for
    let mut wanted: BTreeMap<(Option<String>, Option<String>), BTreeSet<String>> = BTreeMap::new();
    for g in groups {
        let mixed = g
            .mixed_instances_policy
            .as_ref()
            .and_then(|p| p.launch_template.as_ref())
            .and_then(|t| t.launch_template_specification.as_ref());
        for spec in g.launch_template.iter().chain(mixed) {
            let key = (
                spec.launch_template_id.clone(),
                spec.launch_template_name.clone(),
            );
            let version = spec
                .version
                .clone()
                .unwrap_or_else(|| "$Default".to_string());
            wanted.entry(key).or_default().insert(version);
        }
    }
    let mut out = Vec::new();
    for ((id, name), versions) in wanted {
        let label = id.clone().or(name.clone()).unwrap_or_default();
        let pages = clients
            .ec2
            .describe_launch_template_versions()
            .set_launch_template_id(id.clone())
            .set_launch_template_name(if id.is_some() { None } else { name.clone() })
            .set_versions(Some(versions.into_iter().collect()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                eyre!(
                    "DescribeLaunchTemplateVersions {label}: {}",
                    describe_error(e)
                )
            })?;
        for v in pages.iter().flat_map(|p| p.launch_template_versions()) {
            let data = v.launch_template_data();
            out.push(LaunchTemplateVersion {
                launch_template_id: v.launch_template_id().map(str::to_string),
                launch_template_name: v.launch_template_name().map(str::to_string),
                version_number: v.version_number().unwrap_or_default(),
                default_version: v.default_version().unwrap_or(false),
                launch_template_data: LaunchTemplateData {
                    instance_type: data
                        .and_then(|d| d.instance_type())
                        .map(|t| t.as_str().to_string()),
                    image_id: data.and_then(|d| d.image_id()).map(str::to_string),
                    instance_market_options: data.and_then(|d| d.instance_market_options()).map(
                        |m| InstanceMarketOptions {
                            market_type: m.market_type().map(|t| t.as_str().to_string()),
                        },
                    ),
                },
            });
        }
    }
    Ok(out)
}

/// Instance type data, from the process-wide cache or DescribeInstanceTypes in batches. A batch
/// that fails (one unknown type fails the whole call) is retried type by type; types AWS does
/// not know are left out, and the builder reports the group that needs one.
async fn instance_types(
    clients: &RegionClients,
    wanted: BTreeSet<String>,
) -> Result<Vec<InstanceTypeInfo>> {
    let missing: Vec<String> = {
        let cache = clients.instance_types.lock().expect("cache lock");
        wanted
            .iter()
            .filter(|t| !cache.contains_key(*t))
            .cloned()
            .collect()
    };
    for batch in missing.chunks(INSTANCE_TYPES_PER_CALL) {
        let found = match describe_types(clients, batch).await {
            Ok(found) => found,
            Err(batch_error) => {
                tracing::debug!(region = %clients.region, "DescribeInstanceTypes batch failed, retrying one by one: {batch_error:#}");
                let mut found = Vec::new();
                for ty in batch {
                    match describe_types(clients, std::slice::from_ref(ty)).await {
                        Ok(one) => found.extend(one),
                        Err(e) => {
                            tracing::warn!(region = %clients.region, instance_type = %ty, "cannot describe instance type: {e:#}")
                        }
                    }
                }
                found
            }
        };
        let mut cache = clients.instance_types.lock().expect("cache lock");
        for info in found {
            cache.insert(info.instance_type.clone(), info);
        }
    }
    let cache = clients.instance_types.lock().expect("cache lock");
    Ok(wanted
        .iter()
        .filter_map(|t| cache.get(t).cloned())
        .collect())
}

async fn describe_types(
    clients: &RegionClients,
    types: &[String],
) -> Result<Vec<InstanceTypeInfo>> {
    let pages = clients
        .ec2
        .describe_instance_types()
        .set_instance_types(Some(
            types
                .iter()
                .map(|t| InstanceType::from(t.as_str()))
                .collect(),
        ))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            eyre!(
                "DescribeInstanceTypes {}: {}",
                types.join(","),
                describe_error(e)
            )
        })?;
    Ok(pages
        .iter()
        .flat_map(|p| p.instance_types())
        .map(|t| InstanceTypeInfo {
            instance_type: t
                .instance_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            v_cpu_info: VCpuInfo {
                default_v_cpus: t
                    .v_cpu_info()
                    .and_then(|v| v.default_v_cpus())
                    .unwrap_or(0)
                    .max(0) as u32,
            },
            memory_info: MemoryInfo {
                size_in_mib: t
                    .memory_info()
                    .and_then(|m| m.size_in_mib())
                    .unwrap_or(0)
                    .max(0) as u64,
            },
            gpu_info: t.gpu_info().map(|g| GpuInfo {
                gpus: g
                    .gpus()
                    .iter()
                    .map(|d| GpuDevice {
                        name: d.name().unwrap_or_default().to_string(),
                        manufacturer: d.manufacturer().unwrap_or_default().to_string(),
                        count: d.count().unwrap_or(0).max(0) as u32,
                    })
                    .collect(),
            }),
            processor_info: ProcessorInfo {
                supported_architectures: t
                    .processor_info()
                    .map(|p| {
                        p.supported_architectures()
                            .iter()
                            .map(|a| a.as_str().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            hypervisor: t.hypervisor().map(|h| h.as_str().to_string()),
            ebs_info: t.ebs_info().map(|e| EbsInfo {
                maximum_ebs_attachments: e
                    .maximum_ebs_attachments()
                    .and_then(|m| u32::try_from(m).ok()),
                attachment_limit_type: e.attachment_limit_type().map(|a| a.as_str().to_string()),
            }),
        })
        .collect())
}

/// Whether an Availability Zone (`us-west-2a`, `us-west-2-lax-1a`) is in `region`.
fn in_region(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region)
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_lowercase() || c == '-')
}

/// How long an instance seen running outside every group is trusted to stay so.
const UNMANAGED_RECHECK: std::time::Duration = std::time::Duration::from_secs(600);

/// Instances of Nodes outside every group, and the ids EC2 does not know (an instance
/// terminated long ago — or a wrong id: the engine wants two such answers minutes apart before
/// it believes one). Described in batches, then one by one when EC2 names no id in its
/// NotFound error. Running ones are remembered for a while, so a cluster with many unmanaged
/// Nodes pays no call per pass.
async fn orphan_instances(
    clients: &RegionClients,
    ids: &[String],
) -> Result<(Vec<Reservation>, Vec<String>)> {
    let now = std::time::Instant::now();
    let due: Vec<String> = {
        let known = clients.unmanaged.lock().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .filter(|id| {
                known
                    .get(*id)
                    .is_none_or(|seen| now.duration_since(*seen) > UNMANAGED_RECHECK)
            })
            .cloned()
            .collect()
    };
    if due.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut found = Vec::new();
    let mut not_found = Vec::new();
    let mut remaining = due;
    while !remaining.is_empty() {
        match instances(clients, &remaining).await {
            Ok(described) => {
                found.extend(described);
                break;
            }
            Err(e) if format!("{e}").contains("InvalidInstanceID.NotFound") => {
                // EC2 names the ids it does not know; without names, ask one at a time.
                let text = format!("{e}");
                let missing: Vec<String> = remaining
                    .iter()
                    .filter(|id| text.contains(id.as_str()))
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    // Unnamed: only a call for the one id proves that id is gone.
                    let id = remaining.remove(0);
                    match instances(clients, std::slice::from_ref(&id)).await {
                        Ok(one) => found.extend(one),
                        Err(e) if format!("{e}").contains("InvalidInstanceID.NotFound") => {
                            not_found.push(id);
                        }
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                remaining.retain(|id| !missing.contains(id));
                not_found.extend(missing);
            }
            Err(e) => return Err(e),
        }
    }
    let mut known = clients.unmanaged.lock().unwrap_or_else(|e| e.into_inner());
    let current: BTreeSet<&String> = ids.iter().collect();
    known.retain(|id, _| current.contains(id));
    for i in found.iter().flat_map(|r| &r.instances) {
        if matches!(i.state.name.as_str(), "running" | "pending") {
            known.insert(i.instance_id.clone(), now);
        }
    }
    not_found.sort();
    Ok((found, not_found))
}

async fn instances(clients: &RegionClients, ids: &[String]) -> Result<Vec<Reservation>> {
    let mut out = Vec::new();
    for batch in ids.chunks(INSTANCES_PER_CALL) {
        let mut token: Option<String> = None;
        loop {
            let page = clients
                .ec2
                .describe_instances()
                .set_instance_ids(Some(batch.to_vec()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| eyre!("DescribeInstances: {}", describe_error(e)))?;
            for r in page.reservations() {
                out.push(Reservation {
                    instances: r
                        .instances()
                        .iter()
                        .map(|i| Ec2Instance {
                            instance_id: i.instance_id().unwrap_or_default().to_string(),
                            instance_type: i
                                .instance_type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_default(),
                            launch_time: timestamp(i.launch_time()),
                            state: crate::document::aws::InstanceState {
                                name: i
                                    .state()
                                    .and_then(|s| s.name())
                                    .map(|n| n.as_str().to_string())
                                    .unwrap_or_default(),
                            },
                            placement: crate::document::aws::Placement {
                                availability_zone: i
                                    .placement()
                                    .and_then(|p| p.availability_zone())
                                    .map(str::to_string),
                            },
                            private_dns_name: i.private_dns_name().map(str::to_string),
                            private_ip_address: i.private_ip_address().map(str::to_string),
                            tags: i
                                .tags()
                                .iter()
                                .filter_map(|t| {
                                    Some(Tag {
                                        key: t.key()?.to_string(),
                                        value: t.value().unwrap_or_default().to_string(),
                                    })
                                })
                                .collect(),
                        })
                        .collect(),
                });
            }
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

async fn activities(clients: &RegionClients, groups: &[AutoScalingGroup]) -> Result<Vec<Activity>> {
    let mut out = Vec::new();
    for g in groups {
        let name = &g.auto_scaling_group_name;
        let page = clients
            .autoscaling
            .describe_scaling_activities()
            .auto_scaling_group_name(name)
            .max_records(ACTIVITIES_PER_GROUP)
            .send()
            .await
            .map_err(|e| eyre!("DescribeScalingActivities {name}: {}", describe_error(e)))?;
        for a in page.activities() {
            let Some(start_time) = timestamp(a.start_time()) else {
                continue;
            };
            out.push(Activity {
                activity_id: a.activity_id().unwrap_or_default().to_string(),
                auto_scaling_group_name: a.auto_scaling_group_name().unwrap_or(name).to_string(),
                description: a.description().unwrap_or_default().to_string(),
                cause: a.cause().unwrap_or_default().to_string(),
                start_time,
                end_time: timestamp(a.end_time()),
                status_code: a
                    .status_code()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_message: a.status_message().map(str::to_string),
            });
        }
    }
    Ok(out)
}

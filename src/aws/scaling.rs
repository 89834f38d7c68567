//! The AWS calls that change anything. Each re-reads the group first, so the MinSize and
//! MaxSize guards hold against the group as it is now, not as the snapshot saw it. Errors carry
//! their class ([`CallError`]), from the service's error code or the deadline that fired.
//! [`Regions`] puts them behind the actuator's [`GroupWriter`]. Each change also asks the Lease
//! itself, a second line behind the actuator's gate.

use color_eyre::eyre::{Report, Result};

use super::{RegionClients, describe_error, error_class};
use crate::call::{CallError, ErrorClass};
use crate::provider::GroupWriter;

/// A failed SDK call as a report: `what` it was doing, the service's words, and the class.
fn failed<E, R>(
    error: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    what: impl std::fmt::Display,
) -> Report
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let class = error_class(&error);
    Report::new(CallError::new(
        class,
        format!("{what}: {}", describe_error(error)),
    ))
}

/// A group's sizes as AWS reports them now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSizes {
    pub min_size: u32,
    pub max_size: u32,
    pub desired: u32,
}

pub async fn group_sizes(clients: &RegionClients, group: &str) -> Result<GroupSizes> {
    Ok(describe(clients, group).await?.0)
}

/// The group's sizes and how many instances it has now.
async fn describe(clients: &RegionClients, group: &str) -> Result<(GroupSizes, u32)> {
    let out = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): DescribeAutoScalingGroups",
                    clients.region
                ),
            )
        })?;
    let Some(g) = out.auto_scaling_groups().first() else {
        let message = format!("group {group} ({}) does not exist", clients.region);
        return Err(Report::new(CallError::new(ErrorClass::NotFound, message)));
    };
    let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    let sizes = GroupSizes {
        min_size: count(g.min_size()),
        max_size: count(g.max_size()),
        desired: count(g.desired_capacity()),
    };
    Ok((sizes, g.instances().len() as u32))
}

/// The Lease, asked right before a call that changes a group.
fn may_change(clients: &RegionClients, group: &str, call: &str) -> Result<()> {
    clients.guard.check().map_err(|refused| {
        let message = format!("group {group} ({}): {call}: {refused}", clients.region);
        Report::new(CallError::new(ErrorClass::LeaseLost, message))
    })
}

async fn set_desired(clients: &RegionClients, group: &str, from: u32, to: u32) -> Result<()> {
    may_change(clients, group, "SetDesiredCapacity")?;
    clients
        .autoscaling
        .set_desired_capacity()
        .auto_scaling_group_name(group)
        .desired_capacity(to as i32)
        .honor_cooldown(false)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): SetDesiredCapacity {from} → {to}",
                    clients.region
                ),
            )
        })?;
    Ok(())
}

/// Raises a group's desired capacity to `desired`, never above its MaxSize and never down.
/// Returns the desired capacity the group has afterwards.
pub async fn scale_up_to(clients: &RegionClients, group: &str, desired: u32) -> Result<u32> {
    let sizes = group_sizes(clients, group).await?;
    let target = desired.min(sizes.max_size);
    if target < desired {
        tracing::warn!(group, region = %clients.region, asked = desired, max = sizes.max_size, "capped at MaxSize");
    }
    if target <= sizes.desired {
        return Ok(sizes.desired);
    }
    set_desired(clients, group, sizes.desired, target).await?;
    Ok(target)
}

/// Lowers a group's desired capacity to `desired` after failed launches, never below MinSize
/// nor below the instances it has now (one may have launched since the snapshot, and lowering
/// past it would terminate it). A launch under way now (a scaling activity not yet ended) may
/// be about to add an instance the count misses: then nothing is set, and a later pass decides
/// again. Returns the desired capacity afterwards.
pub async fn reset_desired(clients: &RegionClients, group: &str, desired: u32) -> Result<u32> {
    let (sizes, instances) = describe(clients, group).await?;
    let target = desired.max(sizes.min_size).max(instances);
    if target >= sizes.desired {
        return Ok(sizes.desired);
    }
    if let Some(activity) = activity_under_way(clients, group).await? {
        let message = format!(
            "group {group} ({}): not lowered to {target}: a scaling activity is under way \
             ({activity}); a later pass decides again",
            clients.region
        );
        return Err(Report::new(CallError::new(ErrorClass::Conflict, message)));
    }
    set_desired(clients, group, sizes.desired, target).await?;
    Ok(target)
}

/// The status of a recent scaling activity of the group that has not ended, if any.
async fn activity_under_way(clients: &RegionClients, group: &str) -> Result<Option<String>> {
    let out = clients
        .autoscaling
        .describe_scaling_activities()
        .auto_scaling_group_name(group)
        .max_records(10)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): DescribeScalingActivities",
                    clients.region
                ),
            )
        })?;
    let ended = ["Successful", "Failed", "Cancelled"];
    Ok(out
        .activities()
        .iter()
        .filter_map(|a| a.status_code().map(|s| s.as_str().to_string()))
        .find(|status| !ended.contains(&status.as_str())))
}

/// An instance as its group sees it now: the group, and its lifecycle state
/// (`Terminating:Wait` while a termination hook holds it). `None` when no group has it.
pub async fn instance_membership(
    clients: &RegionClients,
    instance_id: &str,
) -> Result<Option<(String, String)>> {
    let out = clients
        .autoscaling
        .describe_auto_scaling_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "instance {instance_id} ({}): DescribeAutoScalingInstances",
                    clients.region
                ),
            )
        })?;
    Ok(out.auto_scaling_instances().first().map(|i| {
        (
            i.auto_scaling_group_name().unwrap_or_default().to_string(),
            i.lifecycle_state().unwrap_or_default().to_string(),
        )
    }))
}

/// A termination lifecycle hook of a group, as the group defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationHook {
    pub name: String,
    /// The hook lapses (with its default result) after this long without a heartbeat.
    pub heartbeat_timeout: std::time::Duration,
    /// The longest the hook can hold an instance, heartbeats or not.
    pub global_timeout: std::time::Duration,
}

/// The group's hooks on `autoscaling:EC2_INSTANCE_TERMINATING`.
pub async fn termination_hooks(
    clients: &RegionClients,
    group: &str,
) -> Result<Vec<TerminationHook>> {
    let out = clients
        .autoscaling
        .describe_lifecycle_hooks()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!("group {group} ({}): DescribeLifecycleHooks", clients.region),
            )
        })?;
    let seconds = |s: Option<i32>, default: u64| {
        std::time::Duration::from_secs(s.map_or(default, |s| s.max(0) as u64))
    };
    Ok(out
        .lifecycle_hooks()
        .iter()
        .filter(|h| h.lifecycle_transition() == Some("autoscaling:EC2_INSTANCE_TERMINATING"))
        .map(|h| {
            // AWS's defaults: an hour without a heartbeat; 48 hours, or 100 heartbeats, in all.
            let heartbeat = seconds(h.heartbeat_timeout(), 3600);
            let global = seconds(h.global_timeout(), (heartbeat.as_secs() * 100).min(172_800));
            TerminationHook {
                name: h.lifecycle_hook_name().unwrap_or_default().to_string(),
                heartbeat_timeout: heartbeat,
                global_timeout: global,
            }
        })
        .collect())
}

/// Terminates one instance of a group. With `decrement`, the group shrinks by one — unless it
/// is at MinSize, where the instance is replaced instead. Returns whether it shrank.
pub async fn terminate_instance(
    clients: &RegionClients,
    group: &str,
    instance_id: &str,
    decrement: bool,
) -> Result<bool> {
    let sizes = group_sizes(clients, group).await?;
    let decrement = decrement && sizes.desired > sizes.min_size;
    may_change(clients, group, "TerminateInstanceInAutoScalingGroup")?;
    clients
        .autoscaling
        .terminate_instance_in_auto_scaling_group()
        .instance_id(instance_id)
        .should_decrement_desired_capacity(decrement)
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): TerminateInstanceInAutoScalingGroup {instance_id}",
                    clients.region
                ),
            )
        })?;
    Ok(decrement)
}

/// Lets a group go on terminating an instance its lifecycle hook held: the drain is done.
pub async fn complete_lifecycle_action(
    clients: &RegionClients,
    group: &str,
    hook: &str,
    instance_id: &str,
    token: Option<&str>,
) -> Result<()> {
    may_change(clients, group, "CompleteLifecycleAction")?;
    clients
        .autoscaling
        .complete_lifecycle_action()
        .auto_scaling_group_name(group)
        .lifecycle_hook_name(hook)
        .instance_id(instance_id)
        .set_lifecycle_action_token(token.map(str::to_string))
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): CompleteLifecycleAction {hook} for {instance_id}",
                    clients.region
                ),
            )
        })?;
    Ok(())
}

/// Tells a group its lifecycle hook's wait is still needed: the drain goes on.
pub async fn record_lifecycle_heartbeat(
    clients: &RegionClients,
    group: &str,
    hook: &str,
    instance_id: &str,
    token: Option<&str>,
) -> Result<()> {
    may_change(clients, group, "RecordLifecycleActionHeartbeat")?;
    clients
        .autoscaling
        .record_lifecycle_action_heartbeat()
        .auto_scaling_group_name(group)
        .lifecycle_hook_name(hook)
        .instance_id(instance_id)
        .set_lifecycle_action_token(token.map(str::to_string))
        .send()
        .await
        .map_err(|e| {
            failed(
                e,
                format_args!(
                    "group {group} ({}): RecordLifecycleActionHeartbeat {hook} for {instance_id}",
                    clients.region
                ),
            )
        })?;
    Ok(())
}

/// Sets (`Some`) or removes (`None`) one tag on a group, not propagated to its instances.
pub async fn tag_group(
    clients: &RegionClients,
    group: &str,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    let tag = aws_sdk_autoscaling::types::Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(key)
        .set_value(value.map(str::to_string))
        .propagate_at_launch(false)
        .build();
    let a = &clients.autoscaling;
    let call = match value {
        Some(_) => "CreateOrUpdateTags",
        None => "DeleteTags",
    };
    may_change(clients, group, call)?;
    let what = format!("group {group} ({}): {call} {key}", clients.region);
    match value {
        Some(_) => a
            .create_or_update_tags()
            .tags(tag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(e, &what)),
        None => a
            .delete_tags()
            .tags(tag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(e, &what)),
    }
}

/// The groups of every region ekas manages, as the actuator changes them.
pub struct Regions<'a>(pub &'a [RegionClients]);

impl Regions<'_> {
    fn region(&self, region: &str) -> Result<&RegionClients, CallError> {
        self.0.iter().find(|c| c.region == region).ok_or_else(|| {
            CallError::new(
                ErrorClass::Other,
                format!("no AWS client for region {region}"),
            )
        })
    }
}

fn classed(report: Report) -> CallError {
    CallError::from_report(&report)
}

impl GroupWriter for Regions<'_> {
    async fn scale_up_to(&self, region: &str, group: &str, desired: u32) -> Result<u32, CallError> {
        scale_up_to(self.region(region)?, group, desired)
            .await
            .map_err(classed)
    }

    async fn reset_desired(
        &self,
        region: &str,
        group: &str,
        desired: u32,
    ) -> Result<u32, CallError> {
        reset_desired(self.region(region)?, group, desired)
            .await
            .map_err(classed)
    }

    async fn terminate(
        &self,
        region: &str,
        group: &str,
        instance: &str,
        decrement: bool,
    ) -> Result<bool, CallError> {
        terminate_instance(self.region(region)?, group, instance, decrement)
            .await
            .map_err(classed)
    }

    async fn tag(
        &self,
        region: &str,
        group: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), CallError> {
        tag_group(self.region(region)?, group, key, value)
            .await
            .map_err(classed)
    }
}

//! Auto Scaling groups on moto, set up through the real SDK: launch configurations and
//! templates, mixed-instances groups, the tags of each discovery scheme.

use aws_sdk_autoscaling::types::{
    LaunchTemplate, LaunchTemplateOverrides, LaunchTemplateSpecification, MixedInstancesPolicy, Tag,
};
use aws_sdk_ec2::types::{InstanceType, RequestLaunchTemplateData};
use ekas::aws::RegionClients;

/// An image moto knows in every region.
const AMI: &str = "ami-12c6146b";

pub enum Source<'a> {
    LaunchConfiguration(&'a str),
    LaunchTemplate(&'a str, &'a str),
    Mixed(&'a str, &'a [&'a str]),
}

pub async fn launch_configuration(c: &RegionClients, name: &str, ty: &str) {
    c.autoscaling
        .create_launch_configuration()
        .launch_configuration_name(name)
        .image_id(AMI)
        .instance_type(ty)
        .send()
        .await
        .unwrap();
}

/// A launch template whose versions have these types (version 1 is the default); returns its id.
pub async fn launch_template(c: &RegionClients, name: &str, types: &[&str]) -> String {
    let data = |ty: &str| {
        RequestLaunchTemplateData::builder()
            .image_id(AMI)
            .instance_type(InstanceType::from(ty))
            .build()
    };
    let created = c
        .ec2
        .create_launch_template()
        .launch_template_name(name)
        .launch_template_data(data(types[0]))
        .send()
        .await
        .unwrap();
    let id = created
        .launch_template()
        .unwrap()
        .launch_template_id()
        .unwrap()
        .to_string();
    for ty in &types[1..] {
        c.ec2
            .create_launch_template_version()
            .launch_template_id(&id)
            .launch_template_data(data(ty))
            .send()
            .await
            .unwrap();
    }
    id
}

pub async fn group(
    c: &RegionClients,
    name: &str,
    (min, max, desired): (i32, i32, i32),
    source: Source<'_>,
    tags: &[(&str, &str)],
) {
    let mut req = c
        .autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .min_size(min)
        .max_size(max)
        .desired_capacity(desired)
        .availability_zones(format!("{}a", c.region));
    req = match source {
        Source::LaunchConfiguration(lc) => req.launch_configuration_name(lc),
        Source::LaunchTemplate(id, version) => req.launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id(id)
                .version(version)
                .build(),
        ),
        Source::Mixed(id, types) => {
            let mut lt = LaunchTemplate::builder().launch_template_specification(
                LaunchTemplateSpecification::builder()
                    .launch_template_id(id)
                    .version("$Default")
                    .build(),
            );
            for ty in types {
                lt = lt.overrides(
                    LaunchTemplateOverrides::builder()
                        .instance_type(*ty)
                        .build(),
                );
            }
            req.mixed_instances_policy(
                MixedInstancesPolicy::builder()
                    .launch_template(lt.build())
                    .build(),
            )
        }
    };
    for (k, v) in tags {
        req = req.tags(
            Tag::builder()
                .key(*k)
                .value(*v)
                .resource_id(name)
                .resource_type("auto-scaling-group")
                .propagate_at_launch(true)
                .build(),
        );
    }
    req.send().await.unwrap();
}

pub const LEGACY: &[(&str, &str)] = &[("KubernetesCluster", "prod"), ("Role", "worker")];

/// A worker group of cluster `prod` (the original tool's tags) from a launch configuration.
pub async fn workers(c: &RegionClients, name: &str, sizes: (i32, i32, i32), lc: &str) {
    group(c, name, sizes, Source::LaunchConfiguration(lc), LEGACY).await;
}

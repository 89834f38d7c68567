#!/usr/bin/env python3
"""Generate examples/batch-cluster.json, a cluster snapshot for ekas.

The snapshot is one JSON object whose parts are shaped like the unmodified output
of `kubectl get <kind> -A -o json` (managedFields omitted) and of the AWS CLI v2
`aws autoscaling describe-*` / `aws ec2 describe-*` commands.

Everything is deterministic: identifiers (UIDs, instance IDs, pod name suffixes,
...) are derived from hashes of fixed names, so running this script again
produces a byte-identical file.

Usage: python3 examples/gen_batch_cluster.py [OUTPUT]
(default OUTPUT: batch-cluster.json next to this script)
"""

import hashlib
import json
import os
import sys
import uuid

CLUSTER = "batch-prod"
ACCOUNT = "123456789012"
CAPTURED_AT = "2026-11-27T12:00:00Z"
UID_NS = uuid.UUID("6f1c1f7e-5a0e-4c7b-9a53-2b1d0c7e8a41")

# ---------------------------------------------------------------------------
# Deterministic identifiers
# ---------------------------------------------------------------------------


def h(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def kuid(seed: str) -> str:
    return str(uuid.uuid5(UID_NS, seed))


def aws_id(prefix: str, seed: str, n: int = 17) -> str:
    # Modern EC2 ids: prefix + 17 hex digits, the first one usually "0".
    return prefix + "-0" + h(prefix + seed)[: n - 1]


# Alphabet used by k8s.io/apimachinery/pkg/util/rand for generated names.
K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def k8s_suffix(seed: str, n: int = 5) -> str:
    d = hashlib.sha256(seed.encode()).digest()
    return "".join(K8S_ALPHABET[b % len(K8S_ALPHABET)] for b in d[:n])


_rv = [41_200_000]


def resource_version() -> str:
    _rv[0] += 137
    return str(_rv[0])


# ---------------------------------------------------------------------------
# AWS: instance types (values from `aws ec2 describe-instance-types`)
# ---------------------------------------------------------------------------


def instance_type(name, vcpus, cores, valid_cores, mem_mib, manufacturer, clock,
                  enis, ips_per_eni, hypervisor="nitro", gpu=None, storage=None,
                  boot_modes=("legacy-bios", "uefi"), hibernation=True):
    nitro = hypervisor == "nitro"
    it = {
        "InstanceType": name,
        "CurrentGeneration": True,
        "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"],
        "BareMetal": False,
        "Hypervisor": hypervisor,
        "ProcessorInfo": {
            "SupportedArchitectures": ["x86_64"],
            "SustainedClockSpeedInGhz": clock,
            "Manufacturer": manufacturer,
        },
        "VCpuInfo": {
            "DefaultVCpus": vcpus,
            "DefaultCores": cores,
            "DefaultThreadsPerCore": vcpus // cores,
            "ValidCores": valid_cores,
            "ValidThreadsPerCore": [1, 2],
        },
        "MemoryInfo": {"SizeInMiB": mem_mib},
        "InstanceStorageSupported": storage is not None,
    }
    if storage is not None:
        it["InstanceStorageInfo"] = storage
    it.update({
        "EbsInfo": {
            "EbsOptimizedSupport": "default",
            "EncryptionSupport": "supported",
            "NvmeSupport": "required" if nitro else "unsupported",
        },
        "NetworkInfo": {
            "NetworkPerformance": "Up to 10 Gigabit",
            "MaximumNetworkInterfaces": enis,
            "MaximumNetworkCards": 1,
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": [{
                "NetworkCardIndex": 0,
                "NetworkPerformance": "Up to 10 Gigabit",
                "MaximumNetworkInterfaces": enis,
            }],
            "Ipv4AddressesPerInterface": ips_per_eni,
            "Ipv6AddressesPerInterface": ips_per_eni,
            "Ipv6Supported": True,
            "EnaSupport": "required" if nitro else "supported",
            "EfaSupported": False,
            "EncryptionInTransitSupported": False,
            "EnaSrdSupported": False,
        },
    })
    if gpu is not None:
        gname, gmem = gpu
        it["GpuInfo"] = {
            "Gpus": [{
                "Name": gname,
                "Manufacturer": "NVIDIA",
                "Count": 1,
                "MemoryInfo": {"SizeInMiB": gmem},
            }],
            "TotalGpuMemoryInMiB": gmem,
        }
    it.update({
        "PlacementGroupInfo": {"SupportedStrategies": ["cluster", "partition", "spread"]},
        "HibernationSupported": hibernation,
        "BurstablePerformanceSupported": False,
        "DedicatedHostsSupported": True,
        "AutoRecoverySupported": storage is None,
        "SupportedBootModes": list(boot_modes),
        "NitroEnclavesSupport": "supported" if nitro else "unsupported",
        "NitroTpmSupport": "supported" if nitro else "unsupported",
        "PhcSupport": "unsupported",
    })
    return it


IT = {
    "m5.2xlarge": instance_type("m5.2xlarge", 8, 4, [2, 4], 32768, "Intel", 3.1, 4, 15),
    "m5.4xlarge": instance_type("m5.4xlarge", 16, 8, [2, 4, 6, 8], 65536, "Intel", 3.1, 8, 30),
    "m5a.4xlarge": instance_type("m5a.4xlarge", 16, 8, [8], 65536, "AMD", 2.5, 8, 30,
                                 hibernation=False),
    "p3.2xlarge": instance_type("p3.2xlarge", 8, 4, [1, 2, 3, 4], 62464, "Intel", 2.7, 4, 15,
                                hypervisor="xen", gpu=("V100", 16384),
                                boot_modes=("legacy-bios",), hibernation=False),
    "g5.2xlarge": instance_type("g5.2xlarge", 8, 4, [2, 4], 32768, "AMD", 3.3, 4, 15,
                                gpu=("A10G", 24576),
                                storage={
                                    "TotalSizeInGB": 450,
                                    "Disks": [{"SizeInGB": 450, "Count": 1, "Type": "ssd"}],
                                    "NvmeSupport": "required",
                                    "EncryptionSupport": "required",
                                },
                                hibernation=False),
}

# ---------------------------------------------------------------------------
# AWS: network / images
# ---------------------------------------------------------------------------

VPC = {"us-west-2": aws_id("vpc", "usw2"), "us-east-1": aws_id("vpc", "use1")}
SUBNETS = {
    "us-west-2a": aws_id("subnet", "usw2a"),
    "us-west-2b": aws_id("subnet", "usw2b"),
    "us-west-2c": aws_id("subnet", "usw2c"),
    "us-east-1a": aws_id("subnet", "use1a"),
    "us-east-1b": aws_id("subnet", "use1b"),
    "us-east-1c": aws_id("subnet", "use1c"),
}
NODE_SG = {"us-west-2": aws_id("sg", "usw2-nodes"), "us-east-1": aws_id("sg", "use1-nodes")}
AMI = {
    ("us-west-2", "cpu"): aws_id("ami", "usw2-al2023-eks-1.34"),
    ("us-west-2", "gpu"): aws_id("ami", "usw2-al2023-eks-1.34-nvidia"),
    ("us-east-1", "cpu"): aws_id("ami", "use1-al2023-eks-1.34"),
    ("us-east-1", "gpu"): aws_id("ami", "use1-al2023-eks-1.34-nvidia"),
}
OTHER_AMI = aws_id("ami", "usw2-other-cluster")
INSTANCE_PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/{CLUSTER}-nodes"
IAM_USER = f"arn:aws:iam::{ACCOUNT}:user/platform-ci"

# ---------------------------------------------------------------------------
# AWS: launch templates / launch configurations
# ---------------------------------------------------------------------------

LT = {
    "batch-cpu": aws_id("lt", "batch-cpu"),
    "batch-cpu-east": aws_id("lt", "batch-cpu-east"),
    "batch-gpu-east": aws_id("lt", "batch-gpu-east"),
}


def lt_version(region, name, version, itype, pool, default, created, desc):
    return {
        "LaunchTemplateId": LT[name],
        "LaunchTemplateName": name,
        "VersionNumber": version,
        "VersionDescription": desc,
        "CreateTime": created,
        "CreatedBy": IAM_USER,
        "DefaultVersion": default,
        "LaunchTemplateData": {
            "IamInstanceProfile": {"Arn": INSTANCE_PROFILE},
            "BlockDeviceMappings": [{
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                    "VolumeSize": 100,
                    "VolumeType": "gp3",
                },
            }],
            "ImageId": AMI[(region, pool)],
            "InstanceType": itype,
            "SecurityGroupIds": [NODE_SG[region]],
            "MetadataOptions": {
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 2,
                "HttpEndpoint": "enabled",
            },
            "TagSpecifications": [{
                "ResourceType": "volume",
                "Tags": [{"Key": "KubernetesCluster", "Value": CLUSTER}],
            }],
        },
    }


def launch_configuration(region, name, itype, image, created, spot_price=None,
                         profile=INSTANCE_PROFILE):
    lc = {
        "LaunchConfigurationName": name,
        "LaunchConfigurationARN": (
            f"arn:aws:autoscaling:{region}:{ACCOUNT}:launchConfiguration:"
            f"{kuid('lc/' + name)}:launchConfigurationName/{name}"
        ),
        "ImageId": image,
        "KeyName": "",
        "SecurityGroups": [NODE_SG[region]],
        "ClassicLinkVPCSecurityGroups": [],
        "UserData": "",
        "InstanceType": itype,
        "KernelId": "",
        "RamdiskId": "",
        "BlockDeviceMappings": [{
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "VolumeSize": 100,
                "VolumeType": "gp3",
                "DeleteOnTermination": True,
                "Encrypted": True,
            },
        }],
        "InstanceMonitoring": {"Enabled": False},
        "IamInstanceProfile": profile,
        "CreatedTime": created,
        "EbsOptimized": True,
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
        },
    }
    if spot_price is not None:
        lc["SpotPrice"] = spot_price
    return lc


# ---------------------------------------------------------------------------
# Running instances (one node each, except the other cluster's)
# ---------------------------------------------------------------------------

# key, asg, type, zone, private ip, launch time, pool (None: not ours)
INSTANCES = [
    ("cpu-a", "batch-prod-cpu-usw2", "m5.4xlarge", "us-west-2a", "10.0.1.23",
     "2026-11-27T08:41:12+00:00", "cpu"),
    ("cpu-b", "batch-prod-cpu-usw2", "m5.4xlarge", "us-west-2b", "10.0.2.87",
     "2026-11-27T08:41:12+00:00", "cpu"),
    ("cpu-c", "batch-prod-cpu-usw2", "m5.4xlarge", "us-west-2a", "10.0.1.141",
     "2026-11-27T09:12:47+00:00", "cpu"),
    ("gpu-a", "batch-prod-gpu-usw2", "p3.2xlarge", "us-west-2a", "10.0.1.58",
     "2026-11-27T10:00:04+00:00", "gpu"),
    ("other-a", "other-cluster-workers", "m5.2xlarge", "us-west-2c", "10.0.3.12",
     "2026-11-20T16:03:31+00:00", None),
]
IID = {key: aws_id("i", key) for key, *_ in INSTANCES}
CPU_LT_RUNNING_VERSION = "2"  # "$Latest" resolved at launch time


def dns_name(ip, region):
    return "ip-" + ip.replace(".", "-") + f".{region}.compute.internal"


def asg_tags(name, tags):
    return [{
        "ResourceId": name,
        "ResourceType": "auto-scaling-group",
        "Key": k,
        "Value": v,
        "PropagateAtLaunch": True,
    } for k, v in sorted(tags.items())]


GPU_NODE_TEMPLATE_TAGS = {
    "k8s.io/cluster-autoscaler/node-template/label/accelerator": "nvidia",
    "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
    "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "1",
}

ASG_TAGS = {
    "batch-prod-cpu-usw2": {
        "KubernetesCluster": CLUSTER,
        "Role": "worker",
        "kube/pool": "cpu",
        "ekas/priority": "10",
    },
    "batch-prod-gpu-usw2": {
        "KubernetesCluster": CLUSTER,
        "KubernetesRole": "kubernetes-minion",
        "kube/pool": "gpu",
        **GPU_NODE_TEMPLATE_TAGS,
    },
    "other-cluster-workers": {
        "KubernetesCluster": "other",
        "Role": "worker",
    },
    "batch-prod-cpu-use1": {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{CLUSTER}": "owned",
        "kube/pool": "cpu",
    },
    "batch-prod-gpu-use1": {
        "KubernetesCluster": CLUSTER,
        "Role": "minion",
        "kube/pool": "gpu",
        **GPU_NODE_TEMPLATE_TAGS,
    },
}


def asg(region, name, min_size, max_size, desired, zones, created, launch, members):
    """launch: ("lc", name) | ("lt", template, version) | ("mixed", template, version,
    [override types], distribution)."""
    g = {
        "AutoScalingGroupName": name,
        "AutoScalingGroupARN": (
            f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:"
            f"{kuid('asg/' + name)}:autoScalingGroupName/{name}"
        ),
    }
    if launch[0] == "lc":
        g["LaunchConfigurationName"] = launch[1]
    elif launch[0] == "lt":
        g["LaunchTemplate"] = {
            "LaunchTemplateId": LT[launch[1]],
            "LaunchTemplateName": launch[1],
            "Version": launch[2],
        }
    else:
        _, tmpl, version, overrides, distribution = launch
        g["MixedInstancesPolicy"] = {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {
                    "LaunchTemplateId": LT[tmpl],
                    "LaunchTemplateName": tmpl,
                    "Version": version,
                },
                "Overrides": [{"InstanceType": t} for t in overrides],
            },
            "InstancesDistribution": distribution,
        }
    instances = []
    for key, _asg, itype, zone, *_rest in members:
        inst = {
            "InstanceId": IID[key],
            "InstanceType": itype,
            "AvailabilityZone": zone,
            "LifecycleState": "InService",
            "HealthStatus": "Healthy",
        }
        if launch[0] == "lc":
            inst["LaunchConfigurationName"] = launch[1]
        else:
            inst["LaunchTemplate"] = {
                "LaunchTemplateId": LT[launch[1]],
                "LaunchTemplateName": launch[1],
                "Version": CPU_LT_RUNNING_VERSION,
            }
        inst["ProtectedFromScaleIn"] = False
        instances.append(inst)
    g.update({
        "MinSize": min_size,
        "MaxSize": max_size,
        "DesiredCapacity": desired,
        "DefaultCooldown": 300,
        "AvailabilityZones": zones,
        "LoadBalancerNames": [],
        "TargetGroupARNs": [],
        "HealthCheckType": "EC2",
        "HealthCheckGracePeriod": 300,
        "Instances": instances,
        "CreatedTime": created,
        "SuspendedProcesses": [],
        "VPCZoneIdentifier": ",".join(SUBNETS[z] for z in zones),
        "EnabledMetrics": [],
        "Tags": asg_tags(name, ASG_TAGS[name]),
        "TerminationPolicies": ["Default"],
        "NewInstancesProtectedFromScaleIn": False,
        "ServiceLinkedRoleARN": (
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling"
        ),
        "CapacityRebalance": False,
        "TrafficSources": [],
    })
    return g


def members_of(name):
    return [i for i in INSTANCES if i[1] == name]


def ec2_reservation(region, inst, launch):
    key, asg_name, itype, zone, ip, launched, pool = inst
    tags = [{"Key": "aws:autoscaling:groupName", "Value": asg_name}]
    if launch[0] == "lt":
        tags += [
            {"Key": "aws:ec2launchtemplate:id", "Value": LT[launch[1]]},
            {"Key": "aws:ec2launchtemplate:version", "Value": CPU_LT_RUNNING_VERSION},
        ]
    tags += [{"Key": k, "Value": v} for k, v in sorted(ASG_TAGS[asg_name].items())]
    tags.append({"Key": "Name", "Value": asg_name})
    image = AMI[(region, pool)] if pool else OTHER_AMI
    it = IT[itype]
    return {
        "ReservationId": aws_id("r", key),
        "OwnerId": ACCOUNT,
        "Groups": [],
        "Instances": [{
            "AmiLaunchIndex": 0,
            "ImageId": image,
            "InstanceId": IID[key],
            "InstanceType": itype,
            "LaunchTime": launched,
            "Monitoring": {"State": "disabled"},
            "Placement": {"AvailabilityZone": zone, "GroupName": "", "Tenancy": "default"},
            "PrivateDnsName": dns_name(ip, region),
            "PrivateIpAddress": ip,
            "ProductCodes": [],
            "PublicDnsName": "",
            "State": {"Code": 16, "Name": "running"},
            "StateTransitionReason": "",
            "SubnetId": SUBNETS[zone],
            "VpcId": VPC[region],
            "Architecture": "x86_64",
            "BlockDeviceMappings": [{
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "AttachTime": launched,
                    "DeleteOnTermination": True,
                    "Status": "attached",
                    "VolumeId": aws_id("vol", key),
                },
            }],
            "ClientToken": kuid("token/" + key),
            "EbsOptimized": True,
            "EnaSupport": True,
            "Hypervisor": "xen",
            "IamInstanceProfile": {
                "Arn": INSTANCE_PROFILE,
                "Id": "AIPA" + h("profile")[:17].upper(),
            },
            "RootDeviceName": "/dev/xvda",
            "RootDeviceType": "ebs",
            "SecurityGroups": [{"GroupName": f"{CLUSTER}-nodes", "GroupId": NODE_SG[region]}],
            "SourceDestCheck": True,
            "Tags": tags,
            "VirtualizationType": "hvm",
            "CpuOptions": {
                "CoreCount": it["VCpuInfo"]["DefaultCores"],
                "ThreadsPerCore": it["VCpuInfo"]["DefaultThreadsPerCore"],
            },
            "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
            "HibernationOptions": {"Configured": False},
            "MetadataOptions": {
                "State": "applied",
                "HttpTokens": "required",
                "HttpPutResponseHopLimit": 2,
                "HttpEndpoint": "enabled",
                "HttpProtocolIpv6": "disabled",
                "InstanceMetadataTags": "disabled",
            },
            "EnclaveOptions": {"Enabled": False},
            "BootMode": "uefi-preferred" if itype != "p3.2xlarge" else "legacy-bios",
            "PlatformDetails": "Linux/UNIX",
            "UsageOperation": "RunInstances",
            "UsageOperationUpdateTime": launched,
            "PrivateDnsNameOptions": {
                "HostnameType": "ip-name",
                "EnableResourceNameDnsARecord": False,
                "EnableResourceNameDnsAAAARecord": False,
            },
            "MaintenanceOptions": {"AutoRecovery": "default"},
            "CurrentInstanceBootMode": "legacy-bios" if itype == "p3.2xlarge" else "uefi",
        }],
    }


def build_aws():
    usw2_cpu_launch = ("lt", "batch-cpu", "$Latest")
    usw2_gpu_launch = ("lc", "batch-gpu-p3-v1")
    other_launch = ("lc", "other-cluster-workers-20261120")
    launches = {
        "batch-prod-cpu-usw2": usw2_cpu_launch,
        "batch-prod-gpu-usw2": usw2_gpu_launch,
        "other-cluster-workers": other_launch,
    }
    gpu_asg_arn = (
        f"arn:aws:autoscaling:us-west-2:{ACCOUNT}:autoScalingGroup:"
        f"{kuid('asg/batch-prod-gpu-usw2')}:autoScalingGroupName/batch-prod-gpu-usw2"
    )
    failed_reason = (
        "We currently do not have sufficient p3.2xlarge capacity in the Availability Zone "
        "you requested (us-west-2b). Our system will be working on provisioning additional "
        "capacity. You can currently get p3.2xlarge capacity by not specifying an "
        "Availability Zone in your request or choosing us-west-2a, us-west-2c. "
        "Launching EC2 instance failed."
    )
    usw2 = {
        "autoScalingGroups": {"AutoScalingGroups": [
            asg("us-west-2", "batch-prod-cpu-usw2", 1, 12, 3, ["us-west-2a", "us-west-2b"],
                "2026-03-02T17:21:44.318000+00:00", usw2_cpu_launch,
                members_of("batch-prod-cpu-usw2")),
            asg("us-west-2", "batch-prod-gpu-usw2", 0, 4, 2, ["us-west-2a", "us-west-2b"],
                "2026-03-02T17:24:09.771000+00:00", usw2_gpu_launch,
                members_of("batch-prod-gpu-usw2")),
            asg("us-west-2", "other-cluster-workers", 1, 5, 1, ["us-west-2c"],
                "2026-11-20T16:01:55.102000+00:00", other_launch,
                members_of("other-cluster-workers")),
        ]},
        "launchConfigurations": {"LaunchConfigurations": [
            launch_configuration("us-west-2", "batch-gpu-p3-v1", "p3.2xlarge",
                                 AMI[("us-west-2", "gpu")],
                                 "2026-03-02T17:23:58.540000+00:00"),
            launch_configuration("us-west-2", "other-cluster-workers-20261120", "m5.2xlarge",
                                 OTHER_AMI, "2026-11-20T16:01:40.219000+00:00",
                                 spot_price="0.384",
                                 profile=f"arn:aws:iam::{ACCOUNT}:instance-profile/other-nodes"),
        ]},
        "launchTemplateVersions": {"LaunchTemplateVersions": [
            lt_version("us-west-2", "batch-cpu", 2, "m5.4xlarge", "cpu", False,
                       "2026-11-26T18:05:31+00:00", "bigger nodes for etl"),
            lt_version("us-west-2", "batch-cpu", 1, "m5.2xlarge", "cpu", True,
                       "2026-03-02T17:20:12+00:00", "initial"),
        ]},
        "instances": {"Reservations": [
            ec2_reservation("us-west-2", inst, launches[inst[1]]) for inst in INSTANCES
        ]},
        "instanceTypes": {"InstanceTypes": [
            IT["m5.2xlarge"], IT["m5.4xlarge"], IT["p3.2xlarge"],
        ]},
        # Newest first, as `aws autoscaling describe-scaling-activities` returns them.
        "scalingActivities": {"Activities": [
            {
                "ActivityId": kuid("activity/gpu-usw2/failed"),
                "AutoScalingGroupName": "batch-prod-gpu-usw2",
                "Description": "Launching a new EC2 instance.  Status Reason: " + failed_reason,
                "Cause": (
                    "At 2026-11-27T11:57:40Z an instance was started in response to a "
                    "difference between desired and actual capacity, increasing the "
                    "capacity from 1 to 2."
                ),
                "StartTime": "2026-11-27T11:58:00+00:00",
                "EndTime": "2026-11-27T11:58:00+00:00",
                "StatusCode": "Failed",
                "StatusMessage": failed_reason,
                "Progress": 100,
                "Details": json.dumps({
                    "Subnet ID": SUBNETS["us-west-2b"],
                    "Availability Zone": "us-west-2b",
                }, separators=(",", ":")),
                "AutoScalingGroupARN": gpu_asg_arn,
            },
            {
                "ActivityId": kuid("activity/gpu-usw2/launch-1"),
                "AutoScalingGroupName": "batch-prod-gpu-usw2",
                "Description": f"Launching a new EC2 instance: {IID['gpu-a']}",
                "Cause": (
                    "At 2026-11-27T09:59:41Z a user request update of AutoScalingGroup "
                    "constraints to min: 0, max: 4, desired: 1 changing the desired capacity "
                    "from 0 to 1.  At 2026-11-27T09:59:58Z an instance was started in "
                    "response to a difference between desired and actual capacity, "
                    "increasing the capacity from 0 to 1."
                ),
                "StartTime": "2026-11-27T10:00:00+00:00",
                "EndTime": "2026-11-27T10:00:36+00:00",
                "StatusCode": "Successful",
                "StatusMessage": "",
                "Progress": 100,
                "Details": json.dumps({
                    "Subnet ID": SUBNETS["us-west-2a"],
                    "Availability Zone": "us-west-2a",
                }, separators=(",", ":")),
                "AutoScalingGroupARN": gpu_asg_arn,
            },
        ]},
    }
    use1 = {
        "autoScalingGroups": {"AutoScalingGroups": [
            asg("us-east-1", "batch-prod-cpu-use1", 0, 20, 0,
                ["us-east-1a", "us-east-1b", "us-east-1c"],
                "2026-06-15T09:12:03.664000+00:00",
                ("mixed", "batch-cpu-east", "$Default", ["m5.4xlarge", "m5a.4xlarge"], {
                    "OnDemandAllocationStrategy": "prioritized",
                    "OnDemandBaseCapacity": 0,
                    "OnDemandPercentageAboveBaseCapacity": 100,
                    "SpotAllocationStrategy": "price-capacity-optimized",
                }), []),
            asg("us-east-1", "batch-prod-gpu-use1", 0, 6, 0,
                ["us-east-1a", "us-east-1b", "us-east-1c"],
                "2026-06-15T09:14:27.905000+00:00",
                ("lt", "batch-gpu-east", "1"), []),
        ]},
        "launchConfigurations": {"LaunchConfigurations": []},
        "launchTemplateVersions": {"LaunchTemplateVersions": [
            lt_version("us-east-1", "batch-cpu-east", 1, "m5.4xlarge", "cpu", True,
                       "2026-06-15T09:10:44+00:00", "initial"),
            lt_version("us-east-1", "batch-gpu-east", 1, "g5.2xlarge", "gpu", True,
                       "2026-06-15T09:11:02+00:00", "initial"),
        ]},
        "instances": {"Reservations": []},
        "instanceTypes": {"InstanceTypes": [
            IT["m5.4xlarge"], IT["m5a.4xlarge"], IT["g5.2xlarge"],
        ]},
        "scalingActivities": {"Activities": []},
    }
    return {"us-west-2": usw2, "us-east-1": use1}


# ---------------------------------------------------------------------------
# Kubernetes: nodes
# ---------------------------------------------------------------------------

KUBELET_VERSION = "v1.34.1-eks-113cf36"
PODS_PER_NODE = "110"

# capacity / allocatable (EKS bootstrap reservations for 110 pods:
# cpu 6%/1%/0.5%/0.25% ladder, memory 255Mi + 11Mi*110 + 100Mi eviction)
NODE_RESOURCES = {
    "m5.4xlarge": {
        "cpu": ("16", "15890m"),
        "memory": ("65063932Ki", "63461372Ki"),
    },
    "p3.2xlarge": {
        "cpu": ("8", "7910m"),
        "memory": ("62873856Ki", "61271296Ki"),
    },
}


def node_for(inst):
    key, asg_name, itype, zone, ip, launched, pool = inst
    region = zone[:-1]
    name = dns_name(ip, region)
    created = launched.replace("+00:00", "Z")
    # the node registers ~50s after launch
    hh, mm, ss = created[11:19].split(":")
    ss = int(ss) + 50
    mm = int(mm) + ss // 60
    created = f"{created[:11]}{hh}:{mm:02d}:{ss % 60:02d}Z"
    res = NODE_RESOURCES[itype]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": itype,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "k8s.io/cloud-provider-aws": h("cloud-provider-aws")[:32],
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": itype,
        "pool": pool,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
    }
    if pool == "gpu":
        labels["accelerator"] = "nvidia"
    labels = dict(sorted(labels.items()))
    capacity = {
        "cpu": res["cpu"][0],
        "ephemeral-storage": "104845292Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": res["memory"][0],
        "pods": PODS_PER_NODE,
    }
    allocatable = {
        "cpu": res["cpu"][1],
        "ephemeral-storage": "95551679124",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": res["memory"][1],
        "pods": PODS_PER_NODE,
    }
    if pool == "gpu":
        capacity["nvidia.com/gpu"] = "1"
        allocatable["nvidia.com/gpu"] = "1"
    spec = {"providerID": f"aws:///{zone}/{IID[key]}"}
    if pool == "gpu":
        spec["taints"] = [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}]
    heartbeat = "2026-11-27T11:58:12Z"

    def cond(typ, status, reason, message):
        return {
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": created,
            "message": message,
            "reason": reason,
            "status": status,
            "type": typ,
        }

    ready_at = created[:17] + f"{min(int(created[17:19]) + 9, 59):02d}Z"
    ready = cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")
    ready["lastTransitionTime"] = ready_at
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": created,
            "labels": labels,
            "name": name,
            "resourceVersion": resource_version(),
            "uid": kuid("node/" + name),
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"address": ip, "type": "InternalIP"},
                {"address": name, "type": "InternalDNS"},
                {"address": name, "type": "Hostname"},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                     "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID",
                     "kubelet has sufficient PID available"),
                ready,
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": kuid("boot/" + key),
                "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.12.46-66.121.amzn2023.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": KUBELET_VERSION,
                "machineID": "ec2" + h("machine/" + key)[:29],
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.9.20251110",
                "systemUUID": "ec2" + h("sys/" + key)[:5] + "-" + h("sys/" + key)[5:9] + "-"
                + h("sys/" + key)[9:13] + "-" + h("sys/" + key)[13:17] + "-"
                + h("sys/" + key)[17:29],
            },
        },
    }


NODE_INSTANCES = [i for i in INSTANCES if i[6] is not None]
NODE_NAME = {i[0]: dns_name(i[4], i[3][:-1]) for i in NODE_INSTANCES}
NODE_IP = {i[0]: i[4] for i in NODE_INSTANCES}

# ---------------------------------------------------------------------------
# Kubernetes: pods
# ---------------------------------------------------------------------------

NOT_READY_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
     "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
     "operator": "Exists", "tolerationSeconds": 300},
]
DS_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/pid-pressure", "operator": "Exists"},
    {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
]
GPU_TOLERATION = {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
ECR = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com"


def sa_volume(pod_name):
    vname = "kube-api-access-" + k8s_suffix("sa/" + pod_name)
    volume = {
        "name": vname,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                               "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                    "path": "namespace",
                }]}},
            ],
        },
    }
    mount = {
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        "name": vname,
        "readOnly": True,
    }
    return volume, mount


def container(name, image, requests, limits=None, command=None, args=None,
              ports=None, extra_mounts=()):
    c = {"name": name, "image": image}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    c["imagePullPolicy"] = "IfNotPresent"
    if ports:
        c["ports"] = ports
    res = {}
    if limits:
        res["limits"] = limits
    res["requests"] = requests
    c["resources"] = res
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    c["volumeMounts"] = list(extra_mounts)
    return c


def owner_ref(kind, name, ns):
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return {
        "apiVersion": api,
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": kind,
        "name": name,
        "uid": kuid(f"{kind}/{ns}/{name}"),
    }


def job_labels(job, ns, app=None):
    uid = kuid(f"Job/{ns}/{job}")
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": job,
        "controller-uid": uid,
        "job-name": job,
    }
    if app:
        labels["app"] = app
    return dict(sorted(labels.items()))


def add_seconds(ts, seconds):
    """ts: 'YYYY-MM-DDTHH:MM:SSZ' (same day, no rollover past midnight)."""
    hh, mm, ss = (int(x) for x in ts[11:19].split(":"))
    total = hh * 3600 + mm * 60 + ss + seconds
    return f"{ts[:11]}{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}Z"


def pod(*, name, ns, owner_kind, owner_name, labels, containers, created,
        node_key=None, init_containers=None, node_selector=None, tolerations=None,
        affinity=None, restart_policy="Never", generate_name=None, annotations=None,
        host_network=False, priority_class=None, priority=0, pending_message=None,
        service_account="default", ds_pod=False, extra_volumes=()):
    volume, mount = sa_volume(name)
    for c in (init_containers or []) + containers:
        c["volumeMounts"] = c["volumeMounts"] + [mount]
    meta = {}
    if annotations:
        meta["annotations"] = annotations
    meta["creationTimestamp"] = created
    if owner_kind == "Job":
        meta["finalizers"] = ["batch.kubernetes.io/job-tracking"]
    if generate_name:
        meta["generateName"] = generate_name
    meta.update({
        "labels": labels,
        "name": name,
        "namespace": ns,
        "ownerReferences": [owner_ref(owner_kind, owner_name, ns)],
        "resourceVersion": resource_version(),
        "uid": kuid(f"pod/{ns}/{name}"),
    })
    spec = {}
    if affinity:
        spec["affinity"] = affinity
    spec["containers"] = containers
    spec["dnsPolicy"] = "ClusterFirstWithHostNet" if host_network else "ClusterFirst"
    spec["enableServiceLinks"] = True
    if host_network:
        spec["hostNetwork"] = True
        spec["hostPID"] = True
    if init_containers:
        spec["initContainers"] = init_containers
    if node_key:
        spec["nodeName"] = NODE_NAME[node_key]
    if node_selector:
        spec["nodeSelector"] = node_selector
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    spec["priority"] = priority
    if priority_class:
        spec["priorityClassName"] = priority_class
    spec["restartPolicy"] = restart_policy
    spec["schedulerName"] = "default-scheduler"
    spec["securityContext"] = {}
    spec["serviceAccount"] = service_account
    spec["serviceAccountName"] = service_account
    spec["terminationGracePeriodSeconds"] = 30
    tol = list(tolerations or [])
    spec["tolerations"] = tol + (DS_TOLERATIONS if ds_pod else NOT_READY_TOLERATIONS)
    spec["volumes"] = list(extra_volumes) + [volume]

    has_limits_eq = all(
        c["resources"].get("limits", {}).get(r) == c["resources"]["requests"].get(r)
        for c in containers for r in ("cpu", "memory")
    )
    qos = "Guaranteed" if has_limits_eq else "Burstable"

    if node_key is None:
        status = {
            "conditions": [{
                "lastProbeTime": None,
                "lastTransitionTime": add_seconds(created, 1),
                "message": pending_message,
                "reason": "Unschedulable",
                "status": "False",
                "type": "PodScheduled",
            }],
            "phase": "Pending",
            "qosClass": qos,
        }
    else:
        node_ip = NODE_IP[node_key]
        pod_ip = node_ip if host_network else pod_ip_for(node_key, name)
        scheduled = add_seconds(created, 1)
        started = add_seconds(created, 4)
        running = add_seconds(created, 9)

        def cond(t, at):
            return {"lastProbeTime": None, "lastTransitionTime": at, "status": "True",
                    "type": t}

        status = {
            "conditions": [
                cond("PodReadyToStartContainers", started),
                cond("Initialized", started),
                cond("Ready", running),
                cond("ContainersReady", running),
                cond("PodScheduled", scheduled),
            ],
            "containerStatuses": [{
                "containerID": "containerd://" + h("ctr/" + name + c["name"]),
                "image": c["image"],
                "imageID": c["image"].rsplit(":", 1)[0] + "@sha256:" + h("img/" + c["image"]),
                "lastState": {},
                "name": c["name"],
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": running}},
            } for c in containers],
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "phase": "Running",
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "qosClass": qos,
            "startTime": started,
        }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": status}


_ip_next = {}


def pod_ip_for(node_key, name):
    base = NODE_IP[node_key].rsplit(".", 1)[0]
    n = _ip_next.get(node_key, 0)
    _ip_next[node_key] = n + 1
    last = int(NODE_IP[node_key].rsplit(".", 1)[1])
    return f"{base}.{(last + 30 + 7 * n) % 250 + 3}"


# scheduler messages (4 nodes: 3 cpu, 1 gpu tainted nvidia.com/gpu=true:NoSchedule)
TAINT_MSG = "1 node(s) had untolerated taint {nvidia.com/gpu: true}"
MSG_FEATURE = (f"0/4 nodes are available: {TAINT_MSG}, 3 Insufficient cpu. preemption: "
               "0/4 nodes are available: 1 Preemption is not helpful for scheduling, "
               "3 No preemption victims found for incoming pod.")
MSG_BERT = ("0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient nvidia.com/gpu, "
            "3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are "
            "available: 1 No preemption victims found for incoming pod, 3 Preemption is not "
            "helpful for scheduling.")
MSG_HUGE = (f"0/4 nodes are available: {TAINT_MSG}, 3 Insufficient cpu, 3 Insufficient "
            "memory. preemption: 0/4 nodes are available: 1 Preemption is not helpful for "
            "scheduling, 3 No preemption victims found for incoming pod.")
MSG_NO_MATCH = (f"0/4 nodes are available: {TAINT_MSG}, 3 node(s) didn't match Pod's node "
                "affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not "
                "helpful for scheduling.")


def job_pod(job, ns, idx, created, containers, *, node_key=None, app=None,
            pending_message=None, name=None, **kw):
    # Pods get "<job>-<random>" names unless the caller fixes the name.
    generate_name = None if name else f"{job}-"
    name = name or f"{job}-{k8s_suffix(f'{ns}/{job}/{idx}')}"
    return pod(name=name, ns=ns, owner_kind="Job", owner_name=job,
               labels=job_labels(job, ns, app), containers=containers, created=created,
               node_key=node_key, generate_name=generate_name,
               pending_message=pending_message, **kw)


def build_pods():
    pods = []
    counts = {}

    def add(category, p):
        counts[category] = counts.get(category, 0) + 1
        pods.append(p)

    # --- DaemonSet pods --------------------------------------------------
    for key, *_ in NODE_INSTANCES:
        name = "node-exporter-" + k8s_suffix("ne/" + key)
        node_created = next(n for n in NODES if n["metadata"]["name"] == NODE_NAME[key])[
            "metadata"]["creationTimestamp"]
        add("daemonset/node-exporter", pod(
            name=name, ns="monitoring", owner_kind="DaemonSet", owner_name="node-exporter",
            labels={
                "app.kubernetes.io/name": "node-exporter",
                "controller-revision-hash": "6c9d7b8f5d",
                "pod-template-generation": "1",
            },
            containers=[node_exporter_container()],
            created=add_seconds(node_created, 2), node_key=key,
            generate_name="node-exporter-", restart_policy="Always",
            tolerations=[{"operator": "Exists"}], host_network=True,
            affinity=ds_affinity(NODE_NAME[key]), ds_pod=True,
            service_account="node-exporter", extra_volumes=NODE_EXPORTER_VOLUMES,
        ))
    for key, *_rest in NODE_INSTANCES:
        if _rest[5] != "gpu":
            continue
        name = "nvidia-device-plugin-" + k8s_suffix("ndp/" + key)
        node_created = next(n for n in NODES if n["metadata"]["name"] == NODE_NAME[key])[
            "metadata"]["creationTimestamp"]
        add("daemonset/nvidia-device-plugin", pod(
            name=name, ns="kube-system", owner_kind="DaemonSet",
            owner_name="nvidia-device-plugin",
            labels={
                "app.kubernetes.io/name": "nvidia-device-plugin",
                "controller-revision-hash": "7f5c8d9b64",
                "pod-template-generation": "1",
            },
            containers=[nvidia_plugin_container()],
            created=add_seconds(node_created, 2), node_key=key,
            generate_name="nvidia-device-plugin-", restart_policy="Always",
            node_selector={"accelerator": "nvidia"}, tolerations=[GPU_TOLERATION],
            affinity=ds_affinity(NODE_NAME[key]), ds_pod=True,
            priority_class="system-node-critical", priority=2000001000,
        ))

    # --- running etl-nightly pods (3 on cpu-a, 3 on cpu-b, 1 on cpu-c) -----
    etl_image = f"{ECR}/batch/etl:2026.11.26"
    placement = ["cpu-a"] * 3 + ["cpu-b"] * 3 + ["cpu-c"]
    for i, key in enumerate(placement):
        created = "2026-11-27T09:14:00Z" if key == "cpu-c" else "2026-11-27T08:43:00Z"
        add("running/etl-nightly", job_pod(
            "etl-nightly", "batch", i, created,
            [container("etl", etl_image, {"cpu": "4", "memory": "8Gi"},
                       args=["--date=2026-11-26", f"--shard={i}"])],
            node_key=key,
        ))

    # --- running GPU training pod ------------------------------------------
    add("running/train-resnet", job_pod(
        "train-resnet", "ml", 0, "2026-11-27T10:05:00Z",
        [container("trainer", f"{ECR}/ml/resnet-train:1.8.2",
                   {"cpu": "4", "memory": "30Gi", "nvidia.com/gpu": "1"},
                   limits={"nvidia.com/gpu": "1"},
                   args=["--epochs=90", "--batch-size=256"])],
        node_key="gpu-a", app="train-resnet",
        node_selector={"pool": "gpu"}, tolerations=[GPU_TOLERATION],
    ))

    # --- pending: feature-extract x30 ---------------------------------------
    fe_image = f"{ECR}/batch/feature-extract:3.4.0"
    for i in range(30):
        init = None
        if i == 7:
            init = [container("stage-data", f"{ECR}/batch/stage-data:1.2.0",
                              {"cpu": "1", "memory": "12Gi"},
                              command=["/bin/stage", "--prefetch", "s3://batch-prod-data/fx/"])]
        add("pending/feature-extract", job_pod(
            "feature-extract", "batch", i, add_seconds("2026-11-27T11:55:00Z", i // 10),
            [container("extract", fe_image, {"cpu": "3500m", "memory": "6Gi"},
                       args=[f"--partition={i}"])],
            node_selector={"pool": "cpu"}, init_containers=init,
            pending_message=MSG_FEATURE,
        ))

    # --- pending: train-bert x6 ---------------------------------------------
    for i in range(6):
        add("pending/train-bert", job_pod(
            "train-bert", "ml", i, "2026-11-27T11:51:30Z",
            [container("trainer", f"{ECR}/ml/bert-train:0.9.1",
                       {"cpu": "6", "memory": "24Gi", "nvidia.com/gpu": "1"},
                       limits={"nvidia.com/gpu": "1"},
                       args=[f"--fold={i}"])],
            app="train-bert", node_selector={"pool": "gpu"}, tolerations=[GPU_TOLERATION],
            pending_message=MSG_BERT,
        ))

    # --- pending: unsatisfiable ones ----------------------------------------
    add("pending/huge-sim", job_pod(
        "huge-sim", "research", 0, "2026-11-27T11:55:10Z",
        [container("sim", f"{ECR}/research/sim:2.0.0", {"cpu": "100", "memory": "128Gi"})],
        name="huge-sim-0", pending_message=MSG_HUGE,
    ))
    add("pending/highmem-report", job_pod(
        "highmem-report", "batch", 0, "2026-11-27T11:55:20Z",
        [container("report", f"{ECR}/batch/report:5.1.3", {"cpu": "2", "memory": "16Gi"})],
        name="highmem-report-0", node_selector={"pool": "highmem"},
        pending_message=MSG_NO_MATCH,
    ))
    for i in range(2):
        add("pending/arm-build", job_pod(
            "arm-build", "ci", i, "2026-11-27T11:55:30Z",
            [container("build", f"{ECR}/ci/builder:2026.11", {"cpu": "2", "memory": "4Gi"},
                       args=["make", "release"])],
            affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{
                    "key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"],
                }]}],
            }}},
            pending_message=MSG_NO_MATCH,
        ))
    return pods, counts


def ds_affinity(node_name):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{
            "key": "metadata.name", "operator": "In", "values": [node_name],
        }]}],
    }}}


def node_exporter_container():
    return container(
        "node-exporter", "quay.io/prometheus/node-exporter:v1.10.2",
        {"cpu": "100m", "memory": "128Mi"}, limits={"memory": "180Mi"},
        args=["--path.procfs=/host/proc", "--path.sysfs=/host/sys",
              "--path.rootfs=/host/root", "--web.listen-address=:9100"],
        ports=[{"containerPort": 9100, "hostPort": 9100, "name": "metrics",
                "protocol": "TCP"}],
        extra_mounts=[
            {"mountPath": "/host/proc", "name": "proc", "readOnly": True},
            {"mountPath": "/host/sys", "name": "sys", "readOnly": True},
            {"mountPath": "/host/root", "mountPropagation": "HostToContainer",
             "name": "root", "readOnly": True},
        ],
    )


NODE_EXPORTER_VOLUMES = [
    {"hostPath": {"path": "/proc", "type": ""}, "name": "proc"},
    {"hostPath": {"path": "/sys", "type": ""}, "name": "sys"},
    {"hostPath": {"path": "/", "type": ""}, "name": "root"},
]


def nvidia_plugin_container():
    return container(
        "nvidia-device-plugin-ctr", "nvcr.io/nvidia/k8s-device-plugin:v0.18.0",
        {"cpu": "50m", "memory": "64Mi"},
    )


# ---------------------------------------------------------------------------
# Kubernetes: daemonsets, PDBs
# ---------------------------------------------------------------------------


def daemonset(name, ns, labels, ctr, scheduled, tolerations, node_selector=None,
              priority_class=None, host_network=False, service_account=None, volumes=None):
    ctr = dict(ctr)
    if not ctr["volumeMounts"]:
        del ctr["volumeMounts"]
    tspec = {"containers": [ctr], "dnsPolicy": "ClusterFirst"}
    if host_network:
        tspec["dnsPolicy"] = "ClusterFirstWithHostNet"
        tspec["hostNetwork"] = True
        tspec["hostPID"] = True
    if node_selector:
        tspec["nodeSelector"] = node_selector
    if priority_class:
        tspec["priorityClassName"] = priority_class
    tspec.update({
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
    })
    if service_account:
        tspec["serviceAccount"] = service_account
        tspec["serviceAccountName"] = service_account
    tspec["terminationGracePeriodSeconds"] = 30
    tspec["tolerations"] = tolerations
    if volumes:
        tspec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "annotations": {"deprecated.daemonset.template.generation": "1"},
            "creationTimestamp": "2026-03-02T17:40:11Z",
            "generation": 1,
            "labels": labels,
            "name": name,
            "namespace": ns,
            "resourceVersion": resource_version(),
            "uid": kuid(f"DaemonSet/{ns}/{name}"),
        },
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": labels},
                "spec": tspec,
            },
            "updateStrategy": {
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                "type": "RollingUpdate",
            },
        },
        "status": {
            "currentNumberScheduled": scheduled,
            "desiredNumberScheduled": scheduled,
            "numberAvailable": scheduled,
            "numberMisscheduled": 0,
            "numberReady": scheduled,
            "observedGeneration": 1,
            "updatedNumberScheduled": scheduled,
        },
    }


def build_daemonsets():
    n_gpu = sum(1 for i in NODE_INSTANCES if i[6] == "gpu")
    return [
        daemonset("node-exporter", "monitoring",
                  {"app.kubernetes.io/name": "node-exporter"},
                  node_exporter_container(), len(NODE_INSTANCES),
                  [{"operator": "Exists"}], host_network=True,
                  service_account="node-exporter", volumes=NODE_EXPORTER_VOLUMES),
        daemonset("nvidia-device-plugin", "kube-system",
                  {"app.kubernetes.io/name": "nvidia-device-plugin"},
                  nvidia_plugin_container(), n_gpu, [GPU_TOLERATION],
                  node_selector={"accelerator": "nvidia"},
                  priority_class="system-node-critical"),
    ]


def build_pdbs():
    return [{
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "creationTimestamp": "2026-11-27T10:04:58Z",
            "generation": 1,
            "name": "train-resnet",
            "namespace": "ml",
            "resourceVersion": resource_version(),
            "uid": kuid("pdb/ml/train-resnet"),
        },
        "spec": {
            "maxUnavailable": 0,
            "selector": {"matchLabels": {"app": "train-resnet"}},
        },
        "status": {
            "conditions": [{
                "lastTransitionTime": "2026-11-27T10:05:10Z",
                "message": "",
                "observedGeneration": 1,
                "reason": "InsufficientPods",
                "status": "False",
                "type": "DisruptionAllowed",
            }],
            "currentHealthy": 1,
            "desiredHealthy": 1,
            "disruptionsAllowed": 0,
            "expectedPods": 1,
            "observedGeneration": 1,
        },
    }]


def k8s_list(items):
    # `kubectl get ... -A -o json` lists objects ordered by namespace, then name.
    items = sorted(items, key=lambda o: (o["metadata"].get("namespace", ""),
                                         o["metadata"]["name"]))
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


NODES = [node_for(i) for i in NODE_INSTANCES]


def build_simulation():
    # Parameters for `ekas simulate` (the snapshot's readers ignore this object): the job
    # classes examples/trace-batch-week.csv names, slower GPU launches, and the us-west-2
    # GPU group out of capacity for four hours on the second day.
    gpu_toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    return {
        "seed": 20261127,
        "launchDelay": {"min": "90s", "max": "180s"},
        "joinDelay": {"min": "30s", "max": "60s"},
        "groups": {
            "batch-prod-gpu-usw2": {"launchDelay": {"min": "3m", "max": "6m"}},
            "batch-prod-gpu-use1": {"launchDelay": {"min": "3m", "max": "6m"}},
        },
        "failures": [
            {"group": "batch-prod-gpu-usw2", "from": "2026-11-28T14:00:00Z",
             "until": "2026-11-28T18:00:00Z", "reason": "insufficient-capacity"},
        ],
        "classes": {
            "cpu": {"nodeSelector": {"pool": "cpu"}},
            "gpu": {"nodeSelector": {"pool": "gpu"}, "tolerations": [gpu_toleration]},
        },
    }


def build():
    pods, counts = build_pods()
    snapshot = {
        "capturedAt": CAPTURED_AT,
        "clusterName": CLUSTER,
        "regions": ["us-west-2", "us-east-1"],
        "kubernetes": {
            "pods": k8s_list(pods),
            "nodes": k8s_list(NODES),
            "podDisruptionBudgets": k8s_list(build_pdbs()),
            "daemonSets": k8s_list(build_daemonsets()),
        },
        "aws": build_aws(),
        "simulation": build_simulation(),
    }
    return snapshot, counts


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "batch-cluster.json")
    snapshot, counts = build()
    with open(out, "w", encoding="utf-8") as f:
        # indent=1 keeps the file readable and under ~400 KB
        json.dump(snapshot, f, indent=1, ensure_ascii=False)
        f.write("\n")
    total = sum(counts.values())
    print(f"wrote {out} ({os.path.getsize(out)} bytes, {total} pods)", file=sys.stderr)
    for k, v in counts.items():
        print(f"  {k}: {v}", file=sys.stderr)


if __name__ == "__main__":
    main()

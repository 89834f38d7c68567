//! Which optional APIs the cluster serves, and at which version: the CRDs of gangs (the
//! coscheduling plugin's and Volcano's PodGroups) and of ProvisioningRequests, and Kubernetes'
//! own Workload API, whose PodGroup moves from version to version (`scheduling.k8s.io/v1alpha2`
//! in 1.36, `v1alpha3` in 1.37). API discovery answers both questions at once, so a kind that
//! is not served is never listed or watched, and a CRD installed later is found at the next
//! look.

use std::collections::BTreeMap;

use kube::core::{ApiResource, GroupVersionKind};

/// An API ekas reads where the cluster serves it, and plans without where it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OptionalApi {
    /// `podgroups.scheduling.x-k8s.io`: the coscheduling plugin's gangs.
    CoschedulingPodGroups,
    /// `podgroups.scheduling.volcano.sh`.
    VolcanoPodGroups,
    /// `podgroups.scheduling.k8s.io`: Kubernetes' Workload API.
    WorkloadPodGroups,
    /// `provisioningrequests.autoscaling.x-k8s.io`.
    ProvisioningRequests,
}

impl OptionalApi {
    /// The three gang APIs: one part of a snapshot.
    pub const POD_GROUPS: [OptionalApi; 3] = [
        OptionalApi::CoschedulingPodGroups,
        OptionalApi::VolcanoPodGroups,
        OptionalApi::WorkloadPodGroups,
    ];

    pub const ALL: [OptionalApi; 4] = [
        OptionalApi::CoschedulingPodGroups,
        OptionalApi::VolcanoPodGroups,
        OptionalApi::WorkloadPodGroups,
        OptionalApi::ProvisioningRequests,
    ];

    pub fn group(self) -> &'static str {
        match self {
            OptionalApi::CoschedulingPodGroups => "scheduling.x-k8s.io",
            OptionalApi::VolcanoPodGroups => "scheduling.volcano.sh",
            OptionalApi::WorkloadPodGroups => "scheduling.k8s.io",
            OptionalApi::ProvisioningRequests => "autoscaling.x-k8s.io",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            OptionalApi::ProvisioningRequests => "ProvisioningRequest",
            _ => "PodGroup",
        }
    }

    /// `plural.group`, as kubectl names a kind.
    pub fn name(self) -> String {
        let plural = match self {
            OptionalApi::ProvisioningRequests => "provisioningrequests",
            _ => "podgroups",
        };
        format!("{plural}.{}", self.group())
    }
}

/// The optional APIs the cluster serves, each at the version ekas reads it in.
pub type Served = BTreeMap<OptionalApi, ApiResource>;

/// Asks the API server which optional APIs it serves: one GET of `/apis`, then one of each
/// group-version of the groups present, in the server's order of preference, until one holds
/// the kind.
pub async fn served(client: &kube::Client) -> Result<Served, kube::Error> {
    let groups = super::counted("get", "APIGroupList", client.list_api_groups().await)?;
    let mut served = Served::new();
    for api in OptionalApi::ALL {
        let Some(group) = groups.groups.iter().find(|g| g.name == api.group()) else {
            continue;
        };
        let preferred = group.preferred_version.iter();
        let versions =
            preferred.chain(group.versions.iter().filter(|v| {
                Some(&v.version) != group.preferred_version.as_ref().map(|p| &p.version)
            }));
        for version in versions {
            let listed = client
                .list_api_group_resources(&version.group_version)
                .await;
            let resources = match super::counted("get", "APIResourceList", listed) {
                Ok(list) => list,
                // A version listed but not answering (an aggregated API that is down) is
                // skipped, like an unserved one.
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 503 => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let found = resources
                .resources
                .iter()
                .find(|r| r.kind == api.kind() && !r.name.contains('/'));
            if let Some(resource) = found {
                let gvk = GroupVersionKind::gvk(api.group(), &version.version, api.kind());
                served.insert(api, ApiResource::from_gvk_with_plural(&gvk, &resource.name));
                break;
            }
        }
    }
    Ok(served)
}

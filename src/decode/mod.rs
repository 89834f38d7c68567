//! A snapshot document decoded into the engine's [`Snapshot`]: quantities parsed, the cluster's
//! groups discovered, their templates built, and every object that cannot be read left out with
//! a reason. A file and the live adapters share this path, so a snapshot written by ekas plans
//! exactly as the live cluster did.

pub mod aws;
pub mod cache;
pub mod kubernetes;
pub mod matching;
pub mod provisioning;
pub mod volumes;

use std::collections::HashMap;

use color_eyre::eyre::{Result, bail, eyre};

use crate::document::{self, ItemList, KubernetesPart, SnapshotDocument, pod as doc};
use crate::model::resources::{EBS_ATTACHMENTS, UNLIMITED};
use crate::model::{
    LeftOut, NodeGroup, ObjectKind, ScalingActivity, Snapshot, StartupTaints, UnreachableRegion,
    UnreadableObject,
};
use crate::pricing::{self, PriceFile};
pub use aws::NodeReservation;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Choices the operator makes about how a snapshot is read.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// Overrides the document's `clusterName`.
    pub cluster_name: Option<String>,
    /// Overrides the document's `regions` (order of preference).
    pub regions: Option<Vec<String>>,
    pub reservation: NodeReservation,
    /// Taints of nodes still starting: such a node is not a template for its group.
    pub startup_taints: StartupTaints,
    /// The operator's prices (`--price-file`), ahead of the snapshot's and the bundled ones.
    pub price_file: Option<PriceFile>,
}

/// Writes the prices each group was priced from into its region's `prices` (on demand) and
/// `spotPrices`, so the snapshot plans the same wherever it is read, whatever table that ekas
/// bundles and whatever AWS's prices are by then.
pub fn record_prices(doc: &mut SnapshotDocument, snapshot: &Snapshot, file: Option<&PriceFile>) {
    let mut used = Vec::new();
    for group in &snapshot.groups {
        let Some(part) = doc.aws.get(&group.region) else {
            continue;
        };
        if let Some(priced) = price_inputs(part, file).group(group) {
            used.push((group, priced));
        }
    }
    for (group, priced) in used {
        let Some(part) = doc.aws.get_mut(&group.region) else {
            continue;
        };
        let ty = &group.instance_type;
        if let Some(dollars) = priced.on_demand {
            part.prices
                .get_or_insert_with(Default::default)
                .insert(ty.clone(), dollars);
        }
        if !priced.spot.is_empty() {
            part.spot_prices
                .get_or_insert_with(Default::default)
                .entry(ty.clone())
                .or_default()
                .extend(priced.spot);
        }
    }
}

/// Where a region's group prices come from: the operator's file, the part's recorded prices,
/// the prices read live for it.
fn price_inputs<'a>(
    part: &'a document::aws::RegionPart,
    file: Option<&'a PriceFile>,
) -> pricing::PriceInputs<'a> {
    pricing::PriceInputs {
        file,
        snapshot: part.prices.as_ref(),
        snapshot_spot: part.spot_prices.as_ref(),
        live: part.live_prices.as_ref(),
    }
}

pub fn snapshot(doc: &SnapshotDocument, opts: &DecodeOptions) -> Result<Snapshot> {
    decode(doc, RawPods::Borrowed(&doc.kubernetes.pods.items), opts)
}

/// Like [`snapshot`], but the document is used up: each pod is freed once it is read, so the
/// document's pods and the snapshot's are never both whole in memory (a large cluster's pods
/// are most of both).
pub fn snapshot_consuming(mut doc: SnapshotDocument, opts: &DecodeOptions) -> Result<Snapshot> {
    let pods = std::mem::take(&mut doc.kubernetes.pods.items);
    decode(&doc, RawPods::Owned(pods), opts)
}

/// Like [`snapshot`], with the pods taken from the loop's cache instead of the document's.
pub fn snapshot_with_cached_pods(
    doc: &SnapshotDocument,
    pods: &cache::PodCache,
    opts: &DecodeOptions,
) -> Result<Snapshot> {
    decode(doc, RawPods::Cached(pods), opts)
}

/// The snapshot's pods: the document's, borrowed or to be used up, or the loop's cache.
enum RawPods<'a> {
    Borrowed(&'a [doc::Pod]),
    Owned(Vec<doc::Pod>),
    Cached(&'a cache::PodCache),
}

impl RawPods<'_> {
    /// The namespace of each pod.
    fn namespaces(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        fn of(pod: &doc::Pod) -> &str {
            pod.metadata.namespace.as_deref().unwrap_or("default")
        }
        match self {
            RawPods::Borrowed(pods) => Box::new(pods.iter().map(of)),
            RawPods::Owned(pods) => Box::new(pods.iter().map(of)),
            RawPods::Cached(cache) => Box::new(cache.namespaces()),
        }
    }
}

/// A pod that could not be read, as the snapshot lists it.
fn unreadable(namespace: &str, name: &str, reason: String) -> UnreadableObject {
    UnreadableObject {
        kind: ObjectKind::Pod,
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
        reason,
        treatment: "not scaled for; its node is taken as full and is not drained",
    }
}

/// Builds one document pod onto `pods`, or notes in `unreadable` why it could not be read.
fn build_one(
    raw: &doc::Pod,
    placements: &mut kubernetes::Placements<'_>,
    pods: &mut Vec<crate::model::Pod>,
    unreadable_pods: &mut Vec<UnreadableObject>,
) {
    match kubernetes::pod(raw, placements) {
        Ok(pod) => pods.push(pod),
        Err(e) => {
            let meta = &raw.metadata;
            unreadable_pods.push(unreadable(
                meta.namespace.as_deref().unwrap_or("default"),
                meta.name.as_deref().unwrap_or("(unnamed)"),
                format!("{e:#}"),
            ));
            pods.extend(kubernetes::unreadable_pod(raw, placements));
        }
    }
}

/// The model's pods, in the document's order, and the pods that could not be read.
fn build_pods(
    raw: RawPods<'_>,
    placements: &mut kubernetes::Placements<'_>,
) -> (Vec<crate::model::Pod>, Vec<UnreadableObject>) {
    let mut pods = Vec::new();
    let mut unreadable = Vec::new();
    match raw {
        RawPods::Cached(cache) => return cache.pods(placements),
        RawPods::Borrowed(raw) => {
            pods.reserve(raw.len());
            for pod in raw {
                build_one(pod, placements, &mut pods, &mut unreadable);
            }
        }
        RawPods::Owned(mut raw) => {
            pods.reserve(raw.len());
            // From the back, so each pod read is freed at once and the list's own buffer
            // shrinks as it empties; then put back in order.
            while let Some(pod) = raw.pop() {
                build_one(&pod, placements, &mut pods, &mut unreadable);
                drop(pod);
                if raw.capacity() > 4096 && raw.len() < raw.capacity() / 2 {
                    raw.shrink_to_fit();
                }
            }
            pods.reverse();
            unreadable.reverse();
        }
    }
    (pods, unreadable)
}

fn decode(doc: &SnapshotDocument, raw_pods: RawPods<'_>, opts: &DecodeOptions) -> Result<Snapshot> {
    let cluster_name = opts
        .cluster_name
        .clone()
        .or_else(|| doc.cluster_name.clone())
        .ok_or_else(|| {
            eyre!("no cluster name: pass --cluster-name or set clusterName in the snapshot")
        })?;
    let regions = regions(doc, opts)?;
    let mut left_out = LeftOut {
        regions: unreachable_regions(doc, &regions),
        ..LeftOut::default()
    };
    let ClusterObjects {
        pods,
        mut nodes,
        daemonsets,
        pdbs,
        provisioning_requests,
    } = cluster_objects(&doc.kubernetes, raw_pods, &mut left_out);

    let parts: Vec<(&String, &document::aws::RegionPart)> = regions
        .iter()
        .filter_map(|region| Some((region, doc.aws.get(region)?)))
        .collect();
    let instances: Vec<_> = parts
        .iter()
        .flat_map(|(region, part)| aws::instances(region, part, &cluster_name))
        .collect();
    matching::match_nodes(&mut nodes, &instances);
    // Nodes, and then the templates built from them, count EBS attachments only when some
    // pod asks for one.
    let ebs_in_use = pods.iter().any(|p| p.requests.get(EBS_ATTACHMENTS) > 0);
    let attachments = ebs_attachments(doc, &regions);
    if ebs_in_use {
        for node in nodes.iter_mut().filter(|n| !n.unreadable) {
            let ty = node.labels.get(INSTANCE_TYPE_LABEL).map(String::as_str);
            set_ebs_attachments(&mut node.allocatable, ty, &attachments);
        }
    }
    let (mut groups, activities) = node_groups(&parts, &cluster_name, &nodes, opts, &mut left_out)?;
    if ebs_in_use {
        for group in &mut groups {
            let ty = Some(group.instance_type.as_str());
            set_ebs_attachments(&mut group.template.allocatable, ty, &attachments);
        }
    }

    Ok(Snapshot {
        captured_at: doc.captured_at,
        cluster_name,
        regions,
        pods,
        nodes,
        groups,
        instances,
        daemonsets,
        pdbs,
        activities,
        provisioning_requests,
        left_out,
        recent_removals: doc.recent_removals.clone(),
        stale_view: None,
    })
}

/// The regions planned for that the document says could not be reached, and why.
fn unreachable_regions(doc: &SnapshotDocument, regions: &[String]) -> Vec<UnreachableRegion> {
    doc.unreachable_regions
        .iter()
        .filter(|(region, _)| regions.contains(region))
        .map(|(region, reason)| UnreachableRegion {
            region: region.clone(),
            reason: reason.clone(),
        })
        .collect()
}

/// A snapshot's Kubernetes objects, decoded.
struct ClusterObjects {
    pods: Vec<crate::model::Pod>,
    nodes: Vec<crate::model::Node>,
    daemonsets: Vec<crate::model::DaemonSet>,
    pdbs: Vec<crate::model::PodDisruptionBudget>,
    provisioning_requests: Vec<crate::model::ProvisioningRequest>,
}

/// Decodes the Kubernetes part (with `raw_pods` for its pods): pods, Nodes, DaemonSets,
/// budgets and ProvisioningRequests, in that order, noting in `left_out` what cannot be read.
fn cluster_objects(
    k8s: &KubernetesPart,
    raw_pods: RawPods<'_>,
    left_out: &mut LeftOut,
) -> ClusterObjects {
    let pod_groups = kubernetes::pod_groups(k8s.pod_groups.as_ref().map_or(&[], |l| &l.items));
    let mut placements =
        kubernetes::Placements::new(namespaces(k8s, raw_pods.namespaces()), storage(k8s))
            .with_pod_groups(pod_groups);
    let (pods, unreadable_pods) = build_pods(raw_pods, &mut placements);
    left_out.objects.extend(unreadable_pods);
    let nodes = decode_each(
        &k8s.nodes.items,
        kubernetes::node,
        kubernetes::unreadable_node,
        Unreadable::cluster_scoped(ObjectKind::Node, |n| &n.metadata),
        "no pods planned onto it; left alone by maintenance",
        left_out,
    );
    let daemonsets = decode_each(
        &k8s.daemon_sets.items,
        |raw| kubernetes::daemonset(raw, &mut placements),
        |_| None,
        Unreadable::namespaced(ObjectKind::DaemonSet, |d| &d.metadata),
        "its pods are not counted on new nodes",
        left_out,
    );
    let pdbs = decode_each(
        &k8s.pod_disruption_budgets.items,
        kubernetes::pdb,
        |raw| Some(kubernetes::unreadable_pdb(raw)),
        Unreadable::namespaced(ObjectKind::PodDisruptionBudget, |p| &p.metadata),
        "no pod of its namespace is evicted",
        left_out,
    );
    let provisioning_requests = provisioning::requests(
        k8s.provisioning_requests.as_ref().map_or(&[], |l| &l.items),
        k8s.pod_templates.as_ref().map_or(&[], |l| &l.items),
        &mut placements,
    );
    ClusterObjects {
        pods,
        nodes,
        daemonsets,
        pdbs,
        provisioning_requests,
    }
}

/// The regions to plan for, in order of preference: `--regions` (each must be in the
/// snapshot), else the document's order and then any other region it has data for.
fn regions(doc: &SnapshotDocument, opts: &DecodeOptions) -> Result<Vec<String>> {
    Ok(match &opts.regions {
        Some(regions) => {
            for region in regions {
                if !doc.aws.contains_key(region) && !doc.unreachable_regions.contains_key(region) {
                    let known: Vec<&str> = doc.aws.keys().map(String::as_str).collect();
                    bail!(
                        "region {region} from --regions is not in the snapshot (it has: {}); \
                         check the spelling or drop it",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    );
                }
            }
            regions.clone()
        }
        None if !doc.regions.is_empty() => {
            // Regions present in the data but not in the order still count, after the rest.
            let mut regions = doc.regions.clone();
            regions.extend(doc.aws.keys().filter(|r| !doc.regions.contains(r)).cloned());
            regions
        }
        None => doc.aws.keys().cloned().collect(),
    })
}

/// How an object that cannot be read is named among the left-out ones.
struct Unreadable<R> {
    kind: ObjectKind,
    namespaced: bool,
    meta: fn(&R) -> &ObjectMeta,
}

impl<R> Unreadable<R> {
    fn namespaced(kind: ObjectKind, meta: fn(&R) -> &ObjectMeta) -> Self {
        Unreadable {
            kind,
            namespaced: true,
            meta,
        }
    }

    fn cluster_scoped(kind: ObjectKind, meta: fn(&R) -> &ObjectMeta) -> Self {
        Unreadable {
            kind,
            namespaced: false,
            meta,
        }
    }
}

/// Every object decoded, or left out with the reason and what that means for it
/// (`treatment`); where a stand-in is safer than nothing (an unreadable Node still holds
/// its pods, an unreadable budget still protects its namespace) the stand-in is kept.
fn decode_each<R, T>(
    raws: &[R],
    mut decode: impl FnMut(&R) -> Result<T>,
    stand_in: impl Fn(&R) -> Option<T>,
    named: Unreadable<R>,
    treatment: &'static str,
    left_out: &mut LeftOut,
) -> Vec<T> {
    let mut decoded = Vec::with_capacity(raws.len());
    for raw in raws {
        match decode(raw) {
            Ok(object) => decoded.push(object),
            Err(e) => {
                let meta = (named.meta)(raw);
                left_out.objects.push(UnreadableObject {
                    kind: named.kind,
                    namespace: named
                        .namespaced
                        .then(|| meta.namespace.clone().unwrap_or_default()),
                    name: meta.name.clone().unwrap_or_else(|| match named.namespaced {
                        true => String::new(),
                        false => "(unnamed)".into(),
                    }),
                    reason: format!("{e:#}"),
                    treatment,
                });
                decoded.extend(stand_in(raw));
            }
        }
    }
    decoded
}

/// Each region's groups of this cluster, priced, and their recent scaling activities.
fn node_groups(
    parts: &[(&String, &document::aws::RegionPart)],
    cluster_name: &str,
    nodes: &[crate::model::Node],
    opts: &DecodeOptions,
    left_out: &mut LeftOut,
) -> Result<(Vec<NodeGroup>, Vec<ScalingActivity>)> {
    let nodes_by_instance: HashMap<&str, &crate::model::Node> = nodes
        .iter()
        .filter_map(|n| Some((n.instance_id.as_deref()?, n)))
        .collect();
    let inputs = aws::TemplateInputs {
        nodes_by_instance: &nodes_by_instance,
        reservation: &opts.reservation,
        startup_taints: &opts.startup_taints,
    };
    let mut groups = Vec::new();
    let mut activities = Vec::new();
    for &(region, part) in parts {
        let (mut region_groups, left_out_groups) =
            aws::node_groups(region, part, cluster_name, &inputs);
        left_out.groups.extend(left_out_groups);
        pricing::check_recorded(region, part.prices.as_ref(), part.spot_prices.as_ref())?;
        let prices = price_inputs(part, opts.price_file.as_ref());
        for group in &mut region_groups {
            group.price = prices.group(group).map(|p| p.price);
        }
        activities.extend(aws::activities(region, part, &region_groups));
        groups.extend(region_groups);
    }
    Ok((groups, activities))
}

/// Every namespace's labels: the `namespaces` part, and for a namespace only pods name, the
/// label the API server gives every namespace.
fn namespaces<'p>(
    k8s: &KubernetesPart,
    pods: impl Iterator<Item = &'p str>,
) -> kubernetes::Namespaces {
    const NAME_LABEL: &str = "kubernetes.io/metadata.name";
    let mut out = kubernetes::Namespaces::new();
    for ns in k8s.namespaces.iter().flat_map(|l| &l.items) {
        if let Some(name) = &ns.metadata.name {
            out.insert(name.clone(), ns.metadata.labels.clone().unwrap_or_default());
        }
    }
    for name in pods {
        if !out.contains_key(name) {
            let labels = [(NAME_LABEL.to_string(), name.to_string())].into();
            out.insert(name.to_string(), labels);
        }
    }
    out
}

/// Claims, volumes and classes, when the snapshot has any of them.
fn storage(k8s: &KubernetesPart) -> Option<volumes::Storage<'_>> {
    let parts = [
        k8s.persistent_volume_claims.is_some(),
        k8s.persistent_volumes.is_some(),
        k8s.storage_classes.is_some(),
    ];
    if !parts.contains(&true) {
        return None;
    }
    fn items<T>(list: &Option<ItemList<T>>) -> &[T] {
        list.as_ref().map_or(&[], |l| &l.items)
    }
    Some(volumes::Storage::new(
        items(&k8s.persistent_volume_claims),
        items(&k8s.persistent_volumes),
        items(&k8s.storage_classes),
    ))
}

/// The label naming a node's instance type.
const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";

/// EBS attachments for pods, per instance type described in the snapshot.
fn ebs_attachments<'d>(doc: &'d SnapshotDocument, regions: &[String]) -> HashMap<&'d str, i64> {
    regions
        .iter()
        .filter_map(|r| doc.aws.get(r))
        .flat_map(|part| &part.instance_types.instance_types)
        .map(|t| (t.instance_type.as_str(), t.ebs_attachments()))
        .collect()
}

/// Gives a node (or template) its EBS attachment limit, unless it reports one: its type's, or
/// no limit when the type is not described.
fn set_ebs_attachments(
    allocatable: &mut crate::model::Resources,
    instance_type: Option<&str>,
    attachments: &HashMap<&str, i64>,
) {
    if allocatable.get(EBS_ATTACHMENTS) == 0 {
        let limit = instance_type
            .and_then(|t| attachments.get(t).copied())
            .unwrap_or(UNLIMITED);
        allocatable.set(EBS_ATTACHMENTS, limit);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::scheduling::ZONE_LABEL;

    fn group(name: &str, zones: &[&str], instances: &[&str]) -> Value {
        json!({"AutoScalingGroupName": name, "MinSize": 0, "MaxSize": 10,
            "DesiredCapacity": instances.len(), "AvailabilityZones": zones,
            "LaunchConfigurationName": "lc",
            "Instances": instances.iter().map(|i| json!({"InstanceId": i, "AvailabilityZone": zones[0],
                "LifecycleState": "InService", "HealthStatus": "Healthy"})).collect::<Vec<_>>(),
            "Tags": [{"Key": "KubernetesCluster", "Value": "c"}, {"Key": "Role", "Value": "worker"}]})
    }

    fn node(name: &str, instance: &str, zone: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {ZONE_LABEL: zone, "topology.k8s.aws/zone-id": "usw2-az1",
                "node.kubernetes.io/instance-type": "m5.large", "kubernetes.io/hostname": name}},
            "spec": {"providerID": format!("aws:///{zone}/{instance}")},
            "status": {"allocatable": {"cpu": "2", "memory": "8Gi", "pods": "29"},
                "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn document(pods: Value, storage: bool) -> SnapshotDocument {
        let mut kubernetes = json!({
            "pods": {"items": pods},
            "nodes": {"items": [node("wide-1", "i-1", "us-west-2a"), node("narrow-1", "i-2", "us-west-2b")]},
        });
        if storage {
            kubernetes["persistentVolumeClaims"] = json!({"items": [{"metadata": {"name": "data", "namespace": "db"},
                "spec": {"storageClassName": "gp3"}}]});
            kubernetes["persistentVolumes"] = json!({"items": []});
            kubernetes["storageClasses"] = json!({"items": [{"metadata": {"name": "gp3"},
                "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"}]});
        }
        serde_json::from_value(json!({
            "capturedAt": "2026-11-27T12:00:00Z", "clusterName": "c", "regions": ["us-west-2"],
            "kubernetes": kubernetes,
            "aws": {"us-west-2": {
                "autoScalingGroups": {"AutoScalingGroups": [
                    group("wide", &["us-west-2a", "us-west-2b"], &["i-1"]),
                    group("narrow", &["us-west-2b"], &["i-2"]),
                    group("empty", &["us-west-2c"], &[])
                ]},
                "launchConfigurations": {"LaunchConfigurations": [
                    {"LaunchConfigurationName": "lc", "InstanceType": "m5.large", "ImageId": "ami-1"}]},
                "instanceTypes": {"InstanceTypes": [{"InstanceType": "m5.large", "VCpuInfo": {"DefaultVCpus": 2},
                    "MemoryInfo": {"SizeInMiB": 8192}, "Hypervisor": "nitro"}]}
            }}
        }))
        .unwrap()
    }

    fn pod_with_claim() -> Value {
        json!([{"metadata": {"name": "db-0", "namespace": "db"}, "spec": {"containers": [{"name": "c"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}])
    }

    #[test]
    fn a_multi_zone_groups_next_node_has_no_zone() {
        let s = snapshot(&document(json!([]), false), &DecodeOptions::default()).unwrap();
        let labels = |name: &str| {
            &s.groups
                .iter()
                .find(|g| g.name == name)
                .unwrap()
                .template
                .labels
        };
        assert!(
            !labels("wide").contains_key(ZONE_LABEL),
            "copied from a node, less its zone"
        );
        assert!(!labels("wide").contains_key("topology.k8s.aws/zone-id"));
        assert_eq!(
            labels("narrow")[ZONE_LABEL],
            "us-west-2b",
            "one zone: the node's"
        );
        assert_eq!(
            labels("empty")["topology.ebs.csi.aws.com/zone"],
            "us-west-2c"
        );
    }

    #[test]
    fn ebs_attachments_count_only_when_pods_bring_ebs_volumes() {
        let s = snapshot(&document(json!([]), false), &DecodeOptions::default()).unwrap();
        assert_eq!(s.nodes[0].allocatable.get(EBS_ATTACHMENTS), 0);
        let s = snapshot(&document(pod_with_claim(), true), &DecodeOptions::default()).unwrap();
        assert_eq!(s.pods[0].requests.get(EBS_ATTACHMENTS), 1);
        assert_eq!(
            s.nodes[0].allocatable.get(EBS_ATTACHMENTS),
            25,
            "a Nitro m5.large"
        );
        let empty = s.groups.iter().find(|g| g.name == "empty").unwrap();
        assert_eq!(empty.template.allocatable.get(EBS_ATTACHMENTS), 25);
        // Without the storage parts, volumes limit nothing.
        let s = snapshot(
            &document(pod_with_claim(), false),
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!(s.pods[0].requests.get(EBS_ATTACHMENTS), 0);
        assert!(s.pods[0].placement.volumes.blocked.is_none());
    }

    #[test]
    fn a_document_used_up_builds_the_same_snapshot() {
        // Enough pods for the list to shrink as it empties, two of them unreadable.
        let pods: Vec<Value> = (0..9000)
            .map(|i| {
                let cpu = if i % 4000 == 7 { "lots" } else { "100m" };
                json!({"metadata": {"name": format!("p{i}"), "namespace": format!("ns{}", i % 3)},
                    "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}})
            })
            .collect();
        let doc = document(Value::Array(pods), false);
        let kept = snapshot(&doc, &DecodeOptions::default()).unwrap();
        let used_up = snapshot_consuming(doc, &DecodeOptions::default()).unwrap();
        let names = |s: &Snapshot| s.pods.iter().map(|p| p.key()).collect::<Vec<_>>();
        assert_eq!(names(&kept), names(&used_up));
        let left_out = |s: &Snapshot| {
            s.left_out
                .objects
                .iter()
                .map(|o| o.key())
                .collect::<Vec<_>>()
        };
        assert_eq!(left_out(&used_up), ["ns1/p7", "ns2/p4007", "ns0/p8007"]);
        assert_eq!(left_out(&kept), left_out(&used_up));
        assert_eq!(kept.pods[8999].requests, used_up.pods[8999].requests);
    }

    #[test]
    fn namespaces_known_only_from_pods_have_their_name_label() {
        let pods = json!([
            {"metadata": {"name": "a", "namespace": "team-a"}, "spec": {"containers": [{"name": "c"}]}},
            {"metadata": {"name": "b", "namespace": "team-b"}, "spec": {"containers": [{"name": "c"}],
                "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {},
                     "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}}]}}}}
        ]);
        let s = snapshot(&document(pods, false), &DecodeOptions::default()).unwrap();
        assert_eq!(
            s.pods[1].placement.pod_affinity[0].namespaces.names,
            ["team-a"]
        );
    }

    #[test]
    fn what_cannot_be_read_is_left_out_and_kept_from_every_removal() {
        let job = json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u",
            "controller": true}]);
        let pods = json!([
            {"metadata": {"name": "bad", "namespace": "ml", "ownerReferences": job},
             "spec": {"nodeName": "wide-1", "containers": [{"name": "c",
                "resources": {"requests": {"cpu": "lots"}}}]},
             "status": {"phase": "Running"}},
            {"metadata": {"name": "queued", "namespace": "ml"},
             "spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "12 GiB"}}}]},
             "status": {"phase": "Pending"}},
            {"metadata": {"name": "fine", "namespace": "ml"},
             "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
             "status": {"phase": "Pending"}}
        ]);
        let mut doc = document(pods, false);
        let mut narrow = node("narrow-1", "i-2", "us-west-2b");
        narrow["status"]["allocatable"]["cpu"] = json!("two");
        doc.kubernetes.nodes.items[1] = serde_json::from_value(narrow).unwrap();
        doc.kubernetes.pod_disruption_budgets = serde_json::from_value(json!({"items": [
            {"metadata": {"name": "guard", "namespace": "ml"}, "spec": {"selector":
                {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]}},
             "status": {"disruptionsAllowed": 3}}]}))
        .unwrap();
        doc.kubernetes.daemon_sets = serde_json::from_value(json!({"items": [
            {"metadata": {"name": "agent", "namespace": "kube-system"}, "spec": {
                "selector": {}, "template": {"spec": {"containers": [{"name": "c",
                    "resources": {"requests": {"cpu": "1 core"}}}]}}}}]}))
        .unwrap();
        let part = doc.aws.get_mut("us-west-2").unwrap();
        let empty = &mut part.auto_scaling_groups.auto_scaling_groups[2];
        empty.tags.push(
            serde_json::from_value(json!({"Key": "ekas/priority", "Value": "high"})).unwrap(),
        );

        let s = snapshot(&doc, &DecodeOptions::default()).expect("one bad thing fails nothing");
        let left: Vec<(ObjectKind, String)> = s
            .left_out
            .objects
            .iter()
            .map(|o| (o.kind, o.key()))
            .collect();
        assert_eq!(
            left,
            [
                (ObjectKind::Pod, "ml/bad".to_string()),
                (ObjectKind::Pod, "ml/queued".to_string()),
                (ObjectKind::Node, "narrow-1".to_string()),
                (ObjectKind::DaemonSet, "kube-system/agent".to_string()),
                (ObjectKind::PodDisruptionBudget, "ml/guard".to_string()),
            ]
        );
        assert!(
            s.left_out.objects[0].reason.contains("lots"),
            "{:?}",
            s.left_out.objects[0]
        );
        assert_eq!(s.left_out.groups.len(), 1);
        assert_eq!(s.left_out.groups[0].name, "empty");
        assert!(s.left_out.groups[0].reason.contains("ekas/priority"));
        assert_eq!(s.groups.len(), 2, "the readable groups are planned");
        assert!(s.daemonsets.is_empty());

        // Kept as obstacles: the pods and the Node, not dropped; the budget covers its namespace.
        let bad = s.pods.iter().find(|p| p.name == "bad").unwrap();
        assert!(bad.unreadable && bad.do_not_evict && bad.runs_to_completion);
        assert_eq!(bad.node_name.as_deref(), Some("wide-1"));
        let queued = s.pods.iter().find(|p| p.name == "queued").unwrap();
        assert!(queued.unreadable && !queued.is_pending());
        let narrow = s.nodes.iter().find(|n| n.name == "narrow-1").unwrap();
        assert!(narrow.unreadable && narrow.allocatable.is_zero());
        assert_eq!(
            narrow.instance_id.as_deref(),
            Some("i-2"),
            "still claims its instance"
        );
        assert_eq!(s.pdbs[0].disruptions_allowed, 0);
        assert!(s.pdbs[0].selector.matches(&Default::default()));

        let plan = crate::engine::plan(&s, &Default::default());
        let state = |name: &str| plan.nodes.iter().find(|n| n.name == name).unwrap();
        assert_eq!(state("narrow-1").state, crate::plan::NodeState::Unreadable);
        assert_eq!(state("narrow-1").action, crate::plan::NodeActionKind::None);
        assert_eq!(state("wide-1").action, crate::plan::NodeActionKind::None);
        let pending: Vec<&str> = plan.pending.iter().map(|p| p.pod.as_str()).collect();
        assert_eq!(pending, ["ml/fine"]);
        let left_out = plan.groups.iter().find(|g| g.group == "empty").unwrap();
        assert!(
            left_out
                .left_out
                .as_deref()
                .unwrap()
                .contains("ekas/priority")
        );
        assert_eq!(
            plan.warnings.iter().filter(|w| w.object.is_some()).count(),
            5
        );
    }

    #[test]
    fn each_group_says_how_its_instances_are_bought() {
        use crate::model::group::CapacityType;
        let mut doc = document(json!([]), false);
        let part = doc.aws.get_mut("us-west-2").unwrap();
        let asgs = &mut part.auto_scaling_groups.auto_scaling_groups;
        // wide: a mixed policy, 2 on-demand then 25 %; narrow: all Spot; empty: a Spot price.
        asgs[0].mixed_instances_policy = Some(
            serde_json::from_value(json!({
            "LaunchTemplate": {"Overrides": [{"InstanceType": "m5.large"}]},
            "InstancesDistribution": {"OnDemandBaseCapacity": 2,
                "OnDemandPercentageAboveBaseCapacity": 25}}))
            .unwrap(),
        );
        asgs[1].mixed_instances_policy = Some(
            serde_json::from_value(json!({
            "LaunchTemplate": {"Overrides": [{"InstanceType": "m5.large"}]},
            "InstancesDistribution": {"OnDemandPercentageAboveBaseCapacity": 0}}))
            .unwrap(),
        );
        part.launch_configurations.launch_configurations.push(
            serde_json::from_value(json!({
            "LaunchConfigurationName": "spot-lc", "InstanceType": "m5.large", "SpotPrice": "0.05"}))
            .unwrap(),
        );
        asgs[2].launch_configuration_name = Some("spot-lc".into());
        let s = snapshot(&doc, &DecodeOptions::default()).unwrap();
        let capacity = |name: &str| s.groups.iter().find(|g| g.name == name).unwrap().capacity;
        assert_eq!(
            capacity("wide"),
            CapacityType::Mixed {
                on_demand_base: 2,
                on_demand_percentage: 25
            }
        );
        assert_eq!(capacity("narrow"), CapacityType::Spot);
        assert_eq!(capacity("empty"), CapacityType::Spot);
        let plain = snapshot(&document(json!([]), false), &DecodeOptions::default()).unwrap();
        assert!(
            plain
                .groups
                .iter()
                .all(|g| g.capacity == CapacityType::OnDemand)
        );
    }
}

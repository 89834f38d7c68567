//! Snapshot document → [`Snapshot`]: parse quantities, discover the cluster's groups, build
//! their templates. The same path serves a file and (later) the live adapters, so a snapshot
//! written by ekas plans exactly as the live cluster did.

pub mod aws;
pub mod kubernetes;
pub mod matching;

use std::collections::HashMap;

use color_eyre::eyre::{Result, bail, eyre};

use super::document::{self, SnapshotDocument};
use crate::model::{Snapshot, StartupTaints};
pub use aws::NodeReservation;

/// Choices the operator makes about how a snapshot is read.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Overrides the document's `clusterName`.
    pub cluster_name: Option<String>,
    /// Overrides the document's `regions` (order of preference).
    pub regions: Option<Vec<String>>,
    pub reservation: NodeReservation,
    /// Taints of nodes still starting: such a node is not a template for its group.
    pub startup_taints: StartupTaints,
}

pub fn snapshot(doc: &SnapshotDocument, opts: &BuildOptions) -> Result<Snapshot> {
    let cluster_name = opts
        .cluster_name
        .clone()
        .or_else(|| doc.cluster_name.clone())
        .ok_or_else(|| {
            eyre!("no cluster name: pass --cluster-name or set clusterName in the snapshot")
        })?;
    let regions = match &opts.regions {
        Some(regions) => {
            for region in regions {
                if !doc.aws.contains_key(region) {
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
    };

    let k8s = &doc.kubernetes;
    let mut interner = kubernetes::PlacementInterner::default();
    let pods = k8s
        .pods
        .items
        .iter()
        .map(|p| kubernetes::pod(p, &mut interner))
        .collect::<Result<Vec<_>>>()?;
    let mut nodes = k8s
        .nodes
        .items
        .iter()
        .map(kubernetes::node)
        .collect::<Result<Vec<_>>>()?;
    let daemonsets = k8s
        .daemon_sets
        .items
        .iter()
        .map(|d| kubernetes::daemonset(d, &mut interner))
        .collect::<Result<Vec<_>>>()?;
    let pdbs = k8s
        .pod_disruption_budgets
        .items
        .iter()
        .map(kubernetes::pdb)
        .collect::<Result<Vec<_>>>()?;

    let parts: Vec<(&String, &document::aws::RegionPart)> = regions
        .iter()
        .filter_map(|region| Some((region, doc.aws.get(region)?)))
        .collect();
    let instances: Vec<_> = parts
        .iter()
        .flat_map(|(region, part)| aws::instances(region, part, &cluster_name))
        .collect();
    matching::match_nodes(&mut nodes, &instances);

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
    for (region, part) in parts {
        let region_groups = aws::node_groups(region, part, &cluster_name, &inputs)?;
        activities.extend(aws::activities(region, part, &region_groups));
        groups.extend(region_groups);
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
    })
}

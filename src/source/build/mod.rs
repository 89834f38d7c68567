//! Snapshot document → [`Snapshot`]: parse quantities, discover the cluster's groups, build
//! their templates. The same path serves a file and (later) the live adapters, so a snapshot
//! written by ekas plans exactly as the live cluster did.

pub mod aws;
pub mod kubernetes;

use std::collections::HashMap;

use color_eyre::eyre::{Result, bail, eyre};

use super::document::SnapshotDocument;
use crate::model::Snapshot;
pub use aws::NodeReservation;

/// Choices the operator makes about how a snapshot is read.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Overrides the document's `clusterName`.
    pub cluster_name: Option<String>,
    /// Overrides the document's `regions` (order of preference).
    pub regions: Option<Vec<String>>,
    pub reservation: NodeReservation,
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
    let nodes = k8s
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

    let nodes_by_instance: HashMap<&str, &crate::model::Node> = nodes
        .iter()
        .filter_map(|n| Some((n.instance_id.as_deref()?, n)))
        .collect();
    let mut groups = Vec::new();
    let mut instances = Vec::new();
    let mut activities = Vec::new();
    for region in &regions {
        let Some(part) = doc.aws.get(region) else {
            continue;
        };
        let region_groups = aws::node_groups(
            region,
            part,
            &cluster_name,
            &nodes_by_instance,
            &opts.reservation,
        )?;
        instances.extend(aws::instances(region, part, &region_groups));
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

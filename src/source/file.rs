//! Reading a snapshot file.

use std::collections::BTreeMap;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::decode::cache::PodCache;
use crate::document::{SnapshotDocument, pod};

pub fn read(path: &Path) -> Result<SnapshotDocument> {
    let bytes = std::fs::read(path)
        .wrap_err_with(|| format!("cannot read snapshot file {}", path.display()))?;
    parse(&bytes).wrap_err_with(|| format!("snapshot file {}", path.display()))
}

/// A snapshot file read to be planned.
pub enum ForPlanning {
    /// The document less its pods, which are model pods already.
    Streamed(SnapshotDocument, Box<PodCache>),
    /// The whole document: its pods could not be streamed (see [`read_for_planning`]).
    Whole(SnapshotDocument),
}

/// Reads a snapshot file to be planned. Each pod becomes a model pod as soon as it is parsed,
/// so a large cluster's pods are never all in memory as documents. A file whose pods a cluster
/// could not have (two of one name, one without a name) or that does not parse is read whole,
/// as [`read`] does, which plans it the same way or names what is wrong.
pub fn read_for_planning(path: &Path) -> Result<ForPlanning> {
    let bytes = std::fs::read(path)
        .wrap_err_with(|| format!("cannot read snapshot file {}", path.display()))?;
    match streamed(&bytes) {
        Some(Ok((doc, pods))) => Ok(ForPlanning::Streamed(doc, Box::new(pods))),
        _ => parse(&bytes)
            .map(ForPlanning::Whole)
            .wrap_err_with(|| format!("snapshot file {}", path.display())),
    }
}

/// The document less its pods, and its pods in a [`PodCache`]; `None` when the pods cannot be
/// streamed.
fn streamed(bytes: &[u8]) -> Option<Result<(SnapshotDocument, PodCache)>> {
    #[derive(Deserialize)]
    struct Items<'a> {
        #[serde(borrow, default)]
        items: Vec<&'a RawValue>,
    }
    type Parts<'a> = BTreeMap<String, &'a RawValue>;
    let mut top: Parts<'_> = serde_json::from_slice(bytes).ok()?;
    let mut kubernetes: Parts<'_> = match top.get("kubernetes") {
        Some(part) => serde_json::from_str(part.get()).ok()?,
        None => Parts::new(),
    };
    let mut cache = PodCache::default();
    if let Some(pods) = kubernetes.remove("pods") {
        let items: Items<'_> = serde_json::from_str(pods.get()).ok()?;
        for item in items.items {
            let pod: pod::Pod = serde_json::from_str(item.get()).ok()?;
            let before = cache.len();
            cache.apply(pod);
            if cache.len() == before {
                return None;
            }
        }
    }
    let rest = serde_json::to_string(&kubernetes).ok()?;
    let rest = RawValue::from_string(rest).ok()?;
    if top.contains_key("kubernetes") {
        top.insert("kubernetes".into(), &rest);
    }
    let rest = serde_json::to_vec(&top).ok()?;
    Some(parse(&rest).map(|doc| (doc, cache)))
}

/// Parses a snapshot document; an error names the JSON path of the offending part.
pub fn parse(bytes: &[u8]) -> Result<SnapshotDocument> {
    // The fast parser first; only a failure pays for tracking the path.
    serde_json::from_slice(bytes).or_else(|_| {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                eyre!("{inner}")
            } else {
                eyre!("at {path}: {inner}")
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(text: &str) -> ForPlanning {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, text).unwrap();
        read_for_planning(&path).unwrap()
    }

    fn pod(name: &str) -> String {
        format!(
            r#"{{"metadata": {{"name": "{name}", "namespace": "batch"}}, "spec": {{"containers": []}}}}"#
        )
    }

    #[test]
    fn pods_a_cluster_could_hold_are_streamed_and_others_read_whole() {
        let doc = |pods: &[String]| {
            format!(
                r#"{{"capturedAt": "2026-11-27T12:00:00Z", "clusterName": "c",
                    "kubernetes": {{"pods": {{"items": [{}]}}, "nodes": {{"items": []}}}}}}"#,
                pods.join(",")
            )
        };
        match planned(&doc(&[pod("b"), pod("a")])) {
            ForPlanning::Streamed(doc, pods) => {
                assert!(doc.kubernetes.pods.items.is_empty());
                assert_eq!(doc.cluster_name.as_deref(), Some("c"));
                assert_eq!(pods.keys().collect::<Vec<_>>(), ["batch/a", "batch/b"]);
            }
            ForPlanning::Whole(_) => panic!("streamed"),
        }
        let twice = doc(&[pod("a"), pod("a")]);
        assert!(
            matches!(planned(&twice), ForPlanning::Whole(d) if d.kubernetes.pods.items.len() == 2)
        );
        let unnamed = doc(&[r#"{"metadata": {}}"#.to_string()]);
        assert!(
            matches!(planned(&unnamed), ForPlanning::Whole(d) if d.kubernetes.pods.items.len() == 1)
        );
        let no_kubernetes = r#"{"capturedAt": "2026-11-27T12:00:00Z"}"#;
        assert!(matches!(planned(no_kubernetes), ForPlanning::Streamed(_, p) if p.is_empty()));
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_the_path_of_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        let bad = br#"{"capturedAt": "2026-11-27T12:00:00Z", "kubernetes": {"pods": {"items": [{"metadata": {"name": 5}}]}}}"#;
        std::fs::write(&path, bad).unwrap();
        let err = format!("{:#}", read_for_planning(&path).err().unwrap());
        assert!(
            err.contains("kubernetes.pods.items[0].metadata.name"),
            "{err}"
        );
        assert!(err.contains("snapshot.json"), "{err}");
    }

    #[test]
    fn errors_name_the_json_path() {
        let bad = br#"{"capturedAt": "2026-11-27T12:00:00Z", "kubernetes": {"pods": {"items": [{"metadata": {"name": 5}}]}}}"#;
        let err = format!("{:#}", parse(bad).unwrap_err());
        assert!(
            err.contains("kubernetes.pods.items[0].metadata.name"),
            "{err}"
        );
        let err = format!("{:#}", parse(b"{not json").unwrap_err());
        assert!(err.contains("line 1"), "{err}");
        let err = format!("{:#}", parse(b"{}").unwrap_err());
        assert!(err.contains("capturedAt"), "{err}");
        let bad_asg = br#"{"capturedAt": "2026-11-27T12:00:00Z", "aws": {"us-west-2": {"autoScalingGroups": {"AutoScalingGroups": [{"AutoScalingGroupName": "g", "MinSize": "zero"}]}}}}"#;
        let err = format!("{:#}", parse(bad_asg).unwrap_err());
        assert!(
            err.contains("aws.us-west-2.autoScalingGroups.AutoScalingGroups[0].MinSize"),
            "{err}"
        );
    }
}

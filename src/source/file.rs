//! Reading a snapshot file.

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};

use super::document::SnapshotDocument;

pub fn read(path: &Path) -> Result<SnapshotDocument> {
    let bytes = std::fs::read(path)
        .wrap_err_with(|| format!("cannot read snapshot file {}", path.display()))?;
    parse(&bytes).wrap_err_with(|| format!("snapshot file {}", path.display()))
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

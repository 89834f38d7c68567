//! Where a snapshot comes from: a file ([`file`]), or the live AWS and Kubernetes APIs
//! ([`live`]). Both produce the same [`crate::document::SnapshotDocument`], and
//! [`crate::decode`] turns either into the engine's input.

pub mod file;
pub mod live;

use std::path::PathBuf;

/// Where `ekas plan` reads the cluster.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Live(Box<live::LiveOptions>),
}

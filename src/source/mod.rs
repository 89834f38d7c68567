//! Where a snapshot comes from: a file, or the live AWS and Kubernetes APIs ([`live`]). Both
//! produce the same [`document::SnapshotDocument`], and [`build`] turns either into the
//! engine's input.

pub mod build;
pub mod document;
pub mod file;
pub mod live;
pub mod tags;

use std::path::PathBuf;

/// Where `ekas plan` reads the cluster.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Live(Box<live::LiveOptions>),
}

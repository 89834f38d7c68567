//! Where a snapshot comes from. A file today; the live AWS and Kubernetes adapters produce the
//! same [`document::SnapshotDocument`], and [`build`] turns either into the engine's input.

pub mod build;
pub mod document;
pub mod file;
pub mod tags;

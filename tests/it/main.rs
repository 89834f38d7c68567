//! Integration tests: the `ekas` binary on snapshot files, and the generated files.
//! One test crate, so the heavy dependency set links once.

mod aws;
mod cli;
mod drain;
mod errors;
mod generated;
mod kube;
mod loop_cost;
mod reap;
mod run;
mod simulate;
mod support;

//! Integration tests: the `ekas` binary on snapshot files, and the generated files.
//! One test crate, so the heavy dependency set links once.

mod aws;
mod cli;
mod deadlines;
mod deploy;
mod drain;
mod errors;
mod fidelity;
mod fuzz;
mod generated;
mod interruptions;
mod kube;
mod layers;
mod lease;
mod loop_cost;
mod maintenance;
mod prices;
mod provisioning;
mod reap;
mod run;
mod scheduler_agreement;
mod scheduler_cases;
mod simulate;
mod support;
mod troubles;

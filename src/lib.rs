//! ekas: a node autoscaler for Kubernetes on AWS EC2 Auto Scaling Groups.
//!
//! The pipeline, one module per stage:
//! `source` (file or live) → [`model::Snapshot`] → [`engine::plan`] → [`plan::Plan`] →
//! `output` (tables, JSON) or actuation. [`cli`] parses the command line once and
//! [`settings`] resolves it into what each stage takes.

pub mod actuate;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod generate;
pub mod guard;
pub mod interruption;
pub mod kubernetes;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod output;
pub mod plan;
pub mod pricing;
pub mod run;
pub mod secret;
pub mod settings;
pub mod simulate;
pub mod source;

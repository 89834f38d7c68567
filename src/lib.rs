//! ekas: a node autoscaler for Kubernetes on AWS EC2 Auto Scaling Groups.
//!
//! The decisions (model, engine, plan, pricing rules) are the `ekas-core` crate's, re-exported
//! here under the same names; this crate reads the world, and shows or applies plans.
//!
//! The pipeline, one module per stage:
//! `source` (file or live) → [`model::Snapshot`] → [`engine::plan`] → [`plan::Plan`] →
//! `output` (tables, JSON) or actuation. [`cli`] parses the command line once and
//! [`settings`] resolves it into what each stage takes.

/// One `#[test]` per row of a table: `cases! { check; name: (args), … }` makes a test `name`
/// that calls `check((args))`, so each row fails on its own and runs on its own
/// (`cargo test name`). The tests of this crate and of tests/it write their tables this way.
#[cfg(test)]
macro_rules! cases {
    ($check:path; $($name:ident: $args:expr),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check($args)
            }
        )+
    };
}

pub use ekas_core::{duration, engine, model, plan};

pub mod actuate;
pub mod aws;
pub mod call;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod document;
pub mod events;
pub mod generate;
pub mod guard;
pub mod interruption;
pub mod kubernetes;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod pricing;
pub mod provider;
pub mod run;
pub mod secret;
pub mod settings;
pub mod simulate;
pub mod source;

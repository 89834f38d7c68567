//! Integration tests: the `ekas` binary on snapshot files, and the generated files.
//! One test crate, so the heavy dependency set links once.

/// One `#[test]` per row of a table: `cases! { check; name: (args), … }` makes a test `name`
/// that calls `check((args))`, so each row fails on its own and runs on its own
/// (`cargo test --test it name`). The same macro as the library crates' (src/lib.rs,
/// crates/ekas-core/src/lib.rs); defined before the `mod` lines so every module sees it.
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

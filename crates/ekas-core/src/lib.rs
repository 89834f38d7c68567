//! ekas's decisions, free of I/O: the cluster as a [`model::Snapshot`], the planning
//! [`engine`] that turns it into a [`plan::Plan`], and the [`pricing`] rules and tables the
//! engine ranks groups by. Nothing here reads the cluster or AWS, sleeps or spawns: the `ekas`
//! crate builds snapshots (from a file or the live APIs), and shows or applies plans. The
//! crate's dependencies say so (no tokio, AWS SDK or kube), and the compiler keeps it that way.

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

pub mod duration;
pub mod engine;
pub mod model;
pub mod plan;
pub mod pricing;

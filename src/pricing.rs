//! Prices: the rules and tables are [`ekas_core::pricing`]'s; this crate adds [`cache`], which
//! keeps what AWS's price APIs answered between the loop's passes.

pub use ekas_core::pricing::*;

pub mod cache;

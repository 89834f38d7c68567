//! Rendering a plan for people (tables) and for programs (JSON).

pub mod json;
pub mod table;

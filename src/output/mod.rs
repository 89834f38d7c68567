//! Rendering a plan, and what was done with it, for people (tables) and for programs (JSON).

pub mod columns;
pub mod json;
pub mod table;

use std::io::Write;

use crate::actuate::Applied;

/// The actions a subcommand took, one row (or JSON object) each.
pub fn write_applied(
    applied: &[Applied],
    format: OutputFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            table::write_applied(applied, format.layout(), out)
        }
        OutputFormat::Json => json::write_applied(applied, out),
    }
}

/// `-o`: a table (`wide` adds columns) or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Wide,
    Json,
}

impl OutputFormat {
    /// How tables are laid out on standard output in this format.
    pub fn layout(self) -> columns::Layout {
        columns::Layout::for_stdout(self == OutputFormat::Wide)
    }
}

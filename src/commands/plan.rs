use std::io::Write;

use color_eyre::eyre::Result;

use crate::cli::{GlobalOptions, OutputFormat};
use crate::{engine, output};

pub fn run(g: &GlobalOptions, out: &mut dyn Write) -> Result<()> {
    let snapshot = super::load_snapshot(g)?;
    let plan = engine::plan(&snapshot, &super::engine_config(g));
    match g.output {
        OutputFormat::Table => output::table::write_plan(&plan, out)?,
        OutputFormat::Json => output::json::write_plan(&plan, out)?,
    }
    Ok(())
}

//! `ekas plan`: the plan for a snapshot file or the live cluster, printed.

use std::io::Write;

use color_eyre::eyre::Result;

use crate::cli::OutputFormat;
use crate::model::Snapshot;
use crate::settings::PlanSettings;
use crate::source::live::Live;
use crate::source::{Source, build, file};
use crate::{engine, output};

pub fn run(settings: &PlanSettings, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let mut snapshot = load(settings)?;
    let plan = engine::plan_in_place(&mut snapshot, &settings.planning.engine);
    match format {
        OutputFormat::Table => output::table::write_plan(&plan, out)?,
        OutputFormat::Json => output::json::write_plan(&plan, out)?,
    }
    Ok(())
}

/// The snapshot the settings point at: the `--snapshot` file, or the live cluster.
fn load(settings: &PlanSettings) -> Result<Snapshot> {
    let (doc, origin) = match &settings.source {
        Source::File(path) => (
            file::read(path)?,
            format!("snapshot file {}", path.display()),
        ),
        Source::Live(live) => (
            super::runtime()?.block_on(async { Live::connect(live).await?.document().await })?,
            "live cluster".to_string(),
        ),
    };
    let snapshot =
        build::snapshot_consuming(doc, &settings.planning.build).map_err(|e| e.wrap_err(origin))?;
    tracing::info!(
        pods = snapshot.pods.len(),
        nodes = snapshot.nodes.len(),
        groups = snapshot.groups.len(),
        "snapshot loaded"
    );
    Ok(snapshot)
}

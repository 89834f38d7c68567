//! `ekas plan`: the plan for a snapshot file or the live cluster, printed.

use std::io::Write;

use color_eyre::eyre::Result;

use crate::decode;
use crate::model::Snapshot;
use crate::output::OutputFormat;
use crate::settings::PlanSettings;
use crate::source::file::ForPlanning;
use crate::source::live::Live;
use crate::source::{Source, file};
use crate::{engine, output};

pub fn run(settings: &PlanSettings, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let mut snapshot = load(settings)?;
    let plan = engine::plan_in_place(&mut snapshot, &settings.planning.engine);
    match format {
        OutputFormat::Table | OutputFormat::Wide => {
            output::table::write_plan(&plan, format.layout(), out)?
        }
        OutputFormat::Json => output::json::write_plan(&plan, out)?,
    }
    Ok(())
}

/// The snapshot the settings point at: the `--snapshot` file, or the live cluster.
fn load(settings: &PlanSettings) -> Result<Snapshot> {
    let options = &settings.planning.build;
    let snapshot = match &settings.source {
        Source::File(path) => {
            let origin = || format!("snapshot file {}", path.display());
            match file::read_for_planning(path)? {
                ForPlanning::Streamed(doc, pods) => {
                    decode::snapshot_with_cached_pods(&doc, &pods, options)
                }
                ForPlanning::Whole(doc) => decode::snapshot_consuming(doc, options),
            }
            .map_err(|e| e.wrap_err(origin()))?
        }
        Source::Live(live) => super::runtime()?
            .block_on(async { Live::connect(live).await?.snapshot(options).await })?,
    };
    tracing::info!(
        pods = snapshot.pods.len(),
        nodes = snapshot.nodes.len(),
        groups = snapshot.groups.len(),
        "snapshot loaded"
    );
    Ok(snapshot)
}

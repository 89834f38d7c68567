//! `ekas simulate`: replays a trace through the engine for one or more configurations
//! (resolved by [`crate::settings::simulate`]) and prints their figures side by side (see
//! [`crate::simulate`]).

use std::io::Write;

use color_eyre::eyre::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::output::OutputFormat;
use crate::settings::SimulateSettings;
use crate::simulate::report::{self, Outcome};
use crate::simulate::{self, Scenario, chart};

pub fn run(s: &SimulateSettings, output: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let mut scenario = Scenario::load(&s.cluster, &s.trace)?;
    if let Some(seed) = s.seed {
        scenario.seed = seed;
    }
    let configurations = &s.configurations;

    let mut outcomes = Vec::with_capacity(configurations.len());
    for settings in configurations {
        let bar =
            ProgressBar::with_draw_target(Some(1000), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {percent}% of the trace")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(settings.label.clone());
        let outcome = simulate::run(&scenario, settings, &|done| {
            bar.set_position((done * 1000.0) as u64)
        })?;
        bar.finish_and_clear();
        tracing::info!(configuration = %settings.label, passes = outcome.passes, "simulated");
        outcomes.push(outcome);
    }

    if let Some(path) = &s.chart {
        chart::write(path, &title(&scenario, &outcomes), &outcomes)?;
    }
    match output {
        OutputFormat::Table | OutputFormat::Wide => report::write_table(
            &title(&scenario, &outcomes),
            &outcomes,
            output.layout(),
            out,
        )?,
        OutputFormat::Json => write_json(&scenario, &outcomes, out)?,
    }
    let broken: usize = outcomes.iter().map(|o| o.violations.len()).sum();
    if broken > 0 {
        out.flush()?;
        bail!(
            "{broken} invariant violation(s) in the simulation (listed above): please report them"
        );
    }
    Ok(())
}

fn title(scenario: &Scenario, outcomes: &[Outcome]) -> String {
    let w = &scenario.workload;
    format!(
        "{} jobs ({} pods) submitted over {:.1} days on cluster {} ({} groups), seed {}",
        w.jobs.len(),
        w.pods(),
        scenario.trace_span_ms as f64 / 86_400_000.0,
        scenario.doc.cluster_name.as_deref().unwrap_or("?"),
        outcomes.first().map_or(0, |o| o.groups.len()),
        scenario.seed
    )
}

fn write_json(scenario: &Scenario, outcomes: &[Outcome], out: &mut dyn Write) -> Result<()> {
    let w = &scenario.workload;
    let doc = json!({
        "trace": {"jobs": w.jobs.len(), "pods": w.pods(),
                  "spanHours": report::round2(scenario.trace_span_ms as f64 / 3_600_000.0)},
        "cluster": {"name": scenario.doc.cluster_name, "start": scenario.doc.captured_at},
        "seed": scenario.seed,
        "configurations": outcomes,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

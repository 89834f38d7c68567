//! `ekas drain NODE…`: cordon and evict safely, every node at once, with a progress bar per
//! node; a table of what happened, and of the pods still there with why, at the end.

use std::io::Write;

use color_eyre::eyre::{Result, bail, eyre};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::actuate::drain::{DrainProgress, DrainResult, drain_node};
use crate::kubernetes;
use crate::output;
use crate::output::OutputFormat;
use crate::provider::{Gate, Guarded};
use crate::settings::DrainSettings;

struct Bar(ProgressBar);

impl DrainProgress for Bar {
    fn update(&self, left: usize, total: usize, status: &str) {
        self.0.set_length(total as u64);
        self.0.set_position(total.saturating_sub(left) as u64);
        self.0.set_message(status.to_string());
    }
}

pub fn run(settings: &DrainSettings, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let options = &settings.options;
    let reports: Vec<_> = super::runtime()?.block_on(async {
        let client = kubernetes::client(&settings.kube).await?;
        let bars = MultiProgress::new();
        let style =
            ProgressStyle::with_template("{prefix:.bold} [{bar:25}] {pos}/{len} pods {msg}")
                .map_err(|e| eyre!("progress bar template: {e}"))?
                .progress_chars("=> ");
        let drains = settings.nodes.iter().map(|node| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(style.clone());
            bar.set_prefix(node.clone());
            // No Lease to hold: an operator's drain; its writes still pass the one gate.
            let cluster = Guarded::new(&client, Gate::default());
            async move {
                let report = drain_node(&cluster, node, options, &Bar(bar.clone())).await;
                bar.finish_with_message(report.summary());
                report
            }
        });
        Ok::<_, color_eyre::Report>(futures::future::join_all(drains).await)
    })?;
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &reports)?;
            writeln!(out)?;
        }
        OutputFormat::Table | OutputFormat::Wide => {
            output::table::write_drains(&reports, format.layout(), out)?
        }
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.result, DrainResult::Drained | DrainResult::WouldDrain))
        .map(|r| format!("{} {}", r.node, r.summary()))
        .collect();
    if !failed.is_empty() {
        out.flush()?;
        bail!(
            "{} of {} nodes not drained: {}",
            failed.len(),
            reports.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

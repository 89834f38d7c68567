//! `ekas scale-up`: the scale-up half of the plan, applied once: nodes ekas cordoned that the
//! pending pods can use are uncordoned first, then desired capacities are set back after
//! failed launches and raised for the rest.

use std::io::Write;

use color_eyre::eyre::{Result, bail};

use super::{Live, live_only, with_lease};
use crate::actuate::{apply_scale_up, maintenance::Maintainer};
use crate::cli::GlobalOptions;
use crate::{engine, output};

pub fn run(g: &GlobalOptions, out: &mut dyn Write) -> Result<()> {
    live_only(g, "scale-up")?;
    let config = super::engine_config(g);
    let applied = super::runtime()?.block_on(async {
        let live = Live::connect(g).await?;
        with_lease(g, &live, async || {
            let plan = engine::plan(&live.snapshot(g).await?, &config);
            let maintainer = Maintainer {
                kube: &live.kube,
                aws: &live.aws,
                drain: config.maintenance.drain,
                dry_run: g.dry_run,
            };
            let mut applied = maintainer.apply_uncordons(&plan).await;
            applied.extend(apply_scale_up(&plan, &live.aws, g.dry_run).await);
            crate::notify::notify(g.slack_hook.as_ref(), &live.cluster, &plan, &applied).await;
            Ok(applied)
        })
        .await
    })?;
    output::write_applied(&applied, g.output, out)?;
    let failed = applied.iter().filter(|a| a.outcome.failed()).count();
    if failed > 0 {
        out.flush()?;
        bail!("{failed} of {} scale-up actions failed", applied.len());
    }
    Ok(())
}

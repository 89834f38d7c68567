//! `ekas reap`: the maintenance half of the plan, applied once — for cron. Holds the cluster's
//! Lease while it acts, so it never races another `reap` or `ekas run`.

use std::io::Write;

use color_eyre::eyre::{Result, bail};

use super::{Live, live_only, with_lease};
use crate::actuate::maintenance::Maintainer;
use crate::cli::GlobalOptions;
use crate::{engine, output};

pub fn run(g: &GlobalOptions, out: &mut dyn Write) -> Result<()> {
    live_only(g, "reap")?;
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
            let applied = maintainer.apply(&plan).await;
            crate::notify::notify(g.slack_hook.as_ref(), &live.cluster, &plan, &applied).await;
            Ok(applied)
        })
        .await
    })?;
    output::write_applied(&applied, g.output, out)?;
    let failed = applied.iter().filter(|a| a.outcome.failed()).count();
    if failed > 0 {
        out.flush()?;
        bail!("{failed} of {} maintenance actions failed", applied.len());
    }
    Ok(())
}

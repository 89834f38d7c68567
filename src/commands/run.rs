//! `ekas run`: the continuous loop (see [`crate::run`]).

use std::time::Duration;

use color_eyre::eyre::{Result, eyre};

use crate::cli::{GlobalOptions, RunArgs};
use crate::run::{RunOptions, run as run_loop};

pub fn run(g: &GlobalOptions, args: &RunArgs) -> Result<()> {
    super::live_only(g, "run")?;
    if !args.no_maintenance {
        super::maintenance_sees_every_namespace(g, "run")?;
    }
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let options = RunOptions {
        sleep: g
            .sleep
            .try_into()
            .map_err(|_| eyre!("--sleep must not be negative"))?,
        no_scale: args.no_scale,
        no_maintenance: args.no_maintenance,
        // A dry run changes nothing, not even the Lease.
        leader_elect: args.leader_elect.unwrap_or(in_cluster) && !g.dry_run,
        metrics_address: args.metrics_address,
        batch_window: Duration::from_millis(1500),
        batch_max: Duration::from_secs(10),
    };
    super::runtime()?.block_on(run_loop(g, &options))
}

//! One function per subcommand; each loads what it needs, asks the engine, and applies or
//! prints its part of the plan.

pub mod completions;
pub mod plan;
pub mod snapshot;

use std::io::Write;

use color_eyre::eyre::{Result, bail};

use crate::cli::{Cli, Command, GlobalOptions};
use crate::engine::{self, backoff::BackoffPolicy};
use crate::model::Snapshot;
use crate::source::build::{self, BuildOptions, NodeReservation};
use crate::source::file;

pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Plan => plan::run(g, out),
        Command::Completions(args) => completions::run(args.shell, out),
        Command::ScaleUp => not_yet("scale-up", "needs the pending pods from the Kubernetes API"),
        Command::Drain(_) => not_yet("drain", "cordons and evicts through the Kubernetes API"),
        Command::Reap => not_yet("reap", "terminates idle and dead nodes through both APIs"),
        Command::Run => not_yet("run", "loops over live AWS and Kubernetes state"),
        Command::Snapshot(args) => snapshot::run(g, args, out),
    }
}

/// Subcommands whose adapter has not landed say so instead of pretending.
fn not_yet(command: &str, needs: &str) -> Result<()> {
    bail!(
        "`ekas {command}` is not available in this version: it {needs}, and the Kubernetes \
         adapter is not built yet. `ekas plan --snapshot FILE` shows the plan it would apply."
    )
}

pub fn engine_config(g: &GlobalOptions) -> engine::Config {
    engine::Config {
        over_provision: g.over_provision,
        backoff: BackoffPolicy {
            base: g.scale_up_backoff,
            max: g.scale_up_backoff_max.max(g.scale_up_backoff),
            max_provision_time: g.max_node_provision_time,
        },
    }
}

pub fn aws_options(g: &GlobalOptions) -> crate::aws::AwsOptions {
    crate::aws::AwsOptions {
        access_key: g.aws_access_key.clone(),
        secret_key: g.aws_secret_key.clone(),
        profile: g.aws_profile.clone(),
        max_attempts: std::env::var("AWS_MAX_ATTEMPTS")
            .ok()
            .and_then(|v| v.parse().ok()),
        endpoint_url: None,
    }
}

/// A runtime for the subcommands that talk to the APIs.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn build_options(g: &GlobalOptions) -> BuildOptions {
    BuildOptions {
        cluster_name: g.cluster_name.clone(),
        regions: g.regions.clone(),
        reservation: NodeReservation {
            cpu: g.kube_reserved_cpu.fixed(),
            memory: g.kube_reserved_memory.fixed(),
            max_pods: g.max_pods,
        },
    }
}

/// The snapshot the options point at.
pub fn load_snapshot(g: &GlobalOptions) -> Result<Snapshot> {
    let Some(path) = &g.snapshot else {
        bail!(
            "live mode is not available in this version (the Kubernetes adapter is not built yet): \
             pass --snapshot FILE, for example --snapshot examples/batch-cluster.json, or write one \
             with `ekas snapshot`"
        );
    };
    let doc = file::read(path)?;
    let snapshot = build::snapshot(&doc, &build_options(g))
        .map_err(|e| e.wrap_err(format!("snapshot file {}", path.display())))?;
    tracing::info!(
        pods = snapshot.pods.len(),
        nodes = snapshot.nodes.len(),
        groups = snapshot.groups.len(),
        "snapshot loaded"
    );
    Ok(snapshot)
}

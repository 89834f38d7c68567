//! One function per subcommand; each loads what it needs, asks the engine, and applies or
//! prints its part of the plan.

pub mod completions;
pub mod drain;
pub mod plan;
pub mod snapshot;

use std::io::Write;

use color_eyre::eyre::{Result, bail, eyre};
use jiff::Timestamp;

use crate::cli::{Cli, Command, GlobalOptions};
use crate::engine::drain::DrainPolicy;
use crate::engine::maintenance::MaintenanceConfig;
use crate::engine::{self, backoff::BackoffPolicy};
use crate::kubernetes::{self, KubeOptions};
use crate::model::Snapshot;
use crate::source::build::{self, BuildOptions, NodeReservation};
use crate::source::document::{KubernetesPart, SnapshotDocument};
use crate::source::file;

pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Plan => plan::run(g, out),
        Command::Completions(args) => completions::run(args.shell, out),
        Command::ScaleUp => not_yet(
            "scale-up",
            "uncordons nodes through the Kubernetes API first",
        ),
        Command::Drain(args) => drain::run(g, args, out),
        Command::Reap => not_yet("reap", "terminates idle and dead nodes through both APIs"),
        Command::Run => not_yet("run", "keeps watch-fed caches and acts on every pass"),
        Command::Snapshot(args) => snapshot::run(g, args, out),
    }
}

/// Subcommands whose adapter has not landed say so instead of pretending.
fn not_yet(command: &str, needs: &str) -> Result<()> {
    bail!(
        "`ekas {command}` is not available in this version: it {needs}, which is not built yet. \
         `ekas plan` shows the plan it would apply."
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
        maintenance: MaintenanceConfig {
            idle_threshold: g.idle_threshold,
            type_idle_threshold: g.type_idle_threshold,
            type_idle_count: g.type_idle_count,
            instance_init_time: g.instance_init_time,
            dead_threshold: g.dead_threshold,
            launch_grace: g.launch_grace,
            max_scale_in_fraction: g.max_scale_in_fraction,
            drain_utilization_below: g.drain_utilization_below,
            max_concurrent_drains: g.max_concurrent_drains,
            drain: DrainPolicy {
                grace_period: g.drain_grace_period,
                ..DrainPolicy::default()
            },
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

pub fn kube_options(g: &GlobalOptions) -> KubeOptions {
    KubeOptions {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
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

/// The snapshot the options point at: the `--snapshot` file, or the live cluster.
pub fn load_snapshot(g: &GlobalOptions) -> Result<Snapshot> {
    let (doc, origin) = match &g.snapshot {
        Some(path) => (
            file::read(path)?,
            format!("snapshot file {}", path.display()),
        ),
        None => (
            runtime()?.block_on(live_document(g, None))?,
            "live cluster".to_string(),
        ),
    };
    let snapshot = build::snapshot(&doc, &build_options(g)).map_err(|e| e.wrap_err(origin))?;
    tracing::info!(
        pods = snapshot.pods.len(),
        nodes = snapshot.nodes.len(),
        groups = snapshot.groups.len(),
        "snapshot loaded"
    );
    Ok(snapshot)
}

/// Reads the live cluster: the AWS half from every region, the Kubernetes half from the API
/// server unless `kubernetes` is given.
pub async fn live_document(
    g: &GlobalOptions,
    kubernetes: Option<KubernetesPart>,
) -> Result<SnapshotDocument> {
    let cluster = g
        .cluster_name
        .clone()
        .ok_or_else(|| eyre!("--cluster-name is required: it selects the node groups to read"))?;
    let regions = g
        .regions
        .clone()
        .ok_or_else(|| eyre!("--regions is required, e.g. --regions us-west-2,us-east-1"))?;
    let captured_at = Timestamp::now();
    let kube_options = kube_options(g);
    let kubernetes = async {
        match kubernetes {
            Some(part) => Ok(part),
            None => {
                let client = kubernetes::client(&kube_options).await?;
                kubernetes::gather(&client, g.namespace.as_deref()).await
            }
        }
    };
    // Connecting checks the region names and credentials flags before any call is made.
    let clients = crate::aws::connect(&regions, &aws_options(g)).await?;
    let aws = crate::aws::gather::all_regions(&clients, &cluster);
    let (kubernetes, aws) = tokio::try_join!(kubernetes, aws)?;
    Ok(SnapshotDocument {
        captured_at,
        cluster_name: Some(cluster),
        regions,
        kubernetes,
        aws,
    })
}

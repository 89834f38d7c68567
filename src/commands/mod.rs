//! The subcommands: each loads what it needs, asks the engine, and applies or prints its part
//! of the plan. `reap` and `scale-up` share one flow ([`act_once`]); the others have a module.

pub mod completions;
pub mod drain;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod snapshot;

use std::io::Write;

use color_eyre::eyre::{Result, bail, eyre};
use jiff::Timestamp;

use crate::actuate::maintenance::Maintainer;
use crate::aws::RegionClients;
use crate::cli::{Cli, Command, GlobalOptions};
use crate::engine::drain::DrainPolicy;
use crate::engine::maintenance::MaintenanceConfig;
use crate::engine::{self, backoff::BackoffPolicy};
use crate::kubernetes::lease::LeaseLock;
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
        Command::ScaleUp => act_once(g, "scale-up", true, false, out),
        Command::Drain(args) => drain::run(g, args, out),
        Command::Reap => act_once(g, "reap", false, true, out),
        Command::Run(args) => run::run(g, args),
        Command::Snapshot(args) => snapshot::run(g, args, out),
        Command::Simulate(args) => simulate::run(g, args, out),
    }
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
        // An empty value (a Secret key left blank) means "not given".
        access_key: g.aws_access_key.clone().filter(|k| !k.is_empty()),
        secret_key: g.aws_secret_key.clone().filter(|k| !k.is_empty()),
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

/// Both APIs, connected: what the subcommands that act on the cluster read and write through.
pub struct Live {
    pub cluster: String,
    pub regions: Vec<String>,
    pub aws: Vec<RegionClients>,
    pub kube: kube::Client,
}

impl Live {
    /// Connects to AWS first — that checks the region names and credential flags before any
    /// call — then to the Kubernetes API server.
    pub async fn connect(g: &GlobalOptions) -> Result<Live> {
        let (cluster, regions) = cluster_and_regions(g)?;
        let aws = crate::aws::connect(&regions, &aws_options(g)).await?;
        let kube = kubernetes::client(&kube_options(g)).await?;
        Ok(Live {
            cluster,
            regions,
            aws,
            kube,
        })
    }

    /// Reads both halves of a snapshot: Kubernetes first, so AWS is asked only about the
    /// instances the Nodes do not describe.
    pub async fn document(&self, g: &GlobalOptions) -> Result<SnapshotDocument> {
        let captured_at = Timestamp::now();
        let kubernetes = kubernetes::gather(&self.kube, g.namespace.as_deref()).await?;
        self.document_with(kubernetes, captured_at).await
    }

    /// Completes a snapshot from a Kubernetes half read elsewhere (the loop's caches).
    pub async fn document_with(
        &self,
        kubernetes: KubernetesPart,
        captured_at: Timestamp,
    ) -> Result<SnapshotDocument> {
        let registered = std::sync::Arc::new(kubernetes.registered_instances());
        let aws =
            crate::aws::gather::all_regions(&self.aws, &self.cluster, Some(registered)).await?;
        Ok(SnapshotDocument {
            captured_at,
            cluster_name: Some(self.cluster.clone()),
            regions: self.regions.clone(),
            kubernetes,
            aws,
        })
    }

    pub async fn snapshot(&self, g: &GlobalOptions) -> Result<Snapshot> {
        let doc = self.document(g).await?;
        build::snapshot(&doc, &build_options(g)).map_err(|e| e.wrap_err("live cluster"))
    }
}

fn cluster_and_regions(g: &GlobalOptions) -> Result<(String, Vec<String>)> {
    let cluster = g
        .cluster_name
        .clone()
        .ok_or_else(|| eyre!("--cluster-name is required: it selects the node groups to read"))?;
    let regions = g
        .regions
        .clone()
        .ok_or_else(|| eyre!("--regions is required, e.g. --regions us-west-2,us-east-1"))?;
    Ok((cluster, regions))
}

/// Reads the live cluster: the AWS half from every region, the Kubernetes half from the API
/// server unless `kubernetes` is given (then no Kubernetes connection is made).
pub async fn live_document(
    g: &GlobalOptions,
    kubernetes: Option<KubernetesPart>,
) -> Result<SnapshotDocument> {
    let Some(part) = kubernetes else {
        return Live::connect(g).await?.document(g).await;
    };
    let (cluster, regions) = cluster_and_regions(g)?;
    let captured_at = Timestamp::now();
    let clients = crate::aws::connect(&regions, &aws_options(g)).await?;
    let aws = crate::aws::gather::all_regions(&clients, &cluster, None).await?;
    Ok(SnapshotDocument {
        captured_at,
        cluster_name: Some(cluster),
        regions,
        kubernetes: part,
        aws,
    })
}

/// Refuses `--snapshot` for subcommands that act on the live cluster.
fn live_only(g: &GlobalOptions, command: &str) -> Result<()> {
    if g.snapshot.is_some() {
        bail!(
            "`ekas {command}` acts on the live cluster; --snapshot cannot be used with it \
             (`ekas plan --snapshot FILE` shows what it would do)"
        );
    }
    Ok(())
}

/// `ekas reap` and `ekas scale-up`: one live pass that applies the chosen half of the plan
/// under the cluster's Lease, a table of what was done, and a non-zero exit if anything failed.
fn act_once(
    g: &GlobalOptions,
    command: &str,
    scale_up: bool,
    maintenance: bool,
    out: &mut dyn Write,
) -> Result<()> {
    live_only(g, command)?;
    let config = engine_config(g);
    let applied = runtime()?.block_on(async {
        let live = Live::connect(g).await?;
        with_lease(g, &live, async || {
            let plan = engine::plan(&live.snapshot(g).await?, &config);
            let maintainer = Maintainer {
                kube: &live.kube,
                aws: &live.aws,
                drain: config.maintenance.drain,
                dry_run: g.dry_run,
            };
            let applied = maintainer.apply_parts(&plan, scale_up, maintenance).await;
            crate::notify::notify(g.slack_hook.as_ref(), &live.cluster, &plan, &applied).await;
            Ok(applied)
        })
        .await
    })?;
    crate::output::write_applied(&applied, g.output, out)?;
    let failed = applied.iter().filter(|a| a.outcome.failed()).count();
    if failed > 0 {
        out.flush()?;
        let what = if maintenance {
            "maintenance"
        } else {
            "scale-up"
        };
        bail!("{failed} of {} {what} actions failed", applied.len());
    }
    Ok(())
}

/// Runs `act` while holding the cluster's lease (not in a dry run, which changes nothing —
/// not even the lease), and releases it afterwards whatever happened.
pub async fn with_lease<T>(
    g: &GlobalOptions,
    live: &Live,
    act: impl AsyncFnOnce() -> Result<T>,
) -> Result<T> {
    if g.dry_run {
        return act().await;
    }
    let lock = LeaseLock::new(&g.lease_namespace, &g.lease_name, g.lease_duration);
    lock.acquire(&live.kube).await?;
    let result = act().await;
    if let Err(e) = lock.release(&live.kube).await {
        tracing::warn!(error = %format!("{e:#}"), "could not release the lease; it expires on its own");
    }
    result
}

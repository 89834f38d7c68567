//! The command line resolved once ([`Settings::from_cli`]) into the settings each part of ekas
//! takes: the engine's [`engine::Config`], the adapters' options, the Lease, Slack, the loop.
//! Every check that needs more than one flag (a live read needs a cluster and regions; no call
//! may take half the Lease or more) happens here, before anything is read or changed; nothing below this
//! module looks at flags again.
//!
//! # Where a default lives
//!
//! Once. A setting that the engine or an adapter also uses without flags (in tests, in the
//! benchmark) keeps its default in that type's `Default` (`MaintenanceConfig`, `AwsTimeouts`,
//! `KubeOptions`, `DrainOptions` …), and its flag shows it with
//! `default_value_t = DurationArg::from(EngineConfig::default().maintenance.idle_threshold)`.
//! A setting that exists only as a flag (the Lease's name, the loop's batching window) keeps
//! its default in its `#[arg]`.
//!
//! # Adding a flag
//!
//! 1. A field in the `Args` struct of [`crate::cli`] that matches who uses it: `ScalingArgs`
//!    (scale-up decisions) or `ScaleInArgs` (maintenance decisions) for the engine — every
//!    subcommand that plans takes both, so `ekas plan` shows what the others would do —,
//!    `DrainArgs`, `RunArgs`, `LeaseArgs`, `SlackArgs`, or `GlobalArgs` for what every
//!    subcommand needs to reach the cluster (a new field there is rare).
//! 2. One line here that puts it where it is used (for the engine: in [`planning`]).
//!
//! A new subcommand adds a `cli::Command` variant with its own `Args`, a [`Task`] variant with
//! its settings, and one arm in [`Settings::from_cli`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use color_eyre::eyre::{Result, bail, eyre};

use crate::actuate::Parts;
use crate::actuate::drain::DrainOptions;
use crate::aws::{AwsOptions, AwsTimeouts};
use crate::cli::{
    ActArgs, Cli, Command, DrainArgs, DurationArg, GlobalArgs, OutputFormat, PlanningArgs,
    ReadArgs, RunArgs, SnapshotArgs,
};
use crate::decode::{DecodeOptions, NodeReservation};
use crate::engine;
use crate::engine::capacity::backoff::BackoffPolicy;
use crate::engine::capacity::health::UnreadyBrake;
use crate::engine::requests::RequestPolicy;
use crate::engine::scale_in::MaintenanceConfig;
use crate::engine::scale_in::consolidation::ConsolidationConfig;
use crate::engine::scale_in::drain::DrainPolicy;
use crate::engine::scale_up::ScaleUpPolicy;
use crate::guard::Guard;
use crate::interruption::response::Timing;
use crate::interruption::trust::Trust;
pub use crate::interruption::{InterruptionSettings, QueueRef};
use crate::kubernetes::KubeOptions;
use crate::kubernetes::lease::LeaseSettings;
use crate::model::StartupTaints;
use crate::notify::{SlackHook, SlackSettings};
use crate::pricing::cache::Refresh;
use crate::source::Source;
use crate::source::live::LiveOptions;

pub mod simulate;

/// What to do, and everything needed to do it.
#[derive(Debug)]
pub struct Settings {
    pub output: OutputFormat,
    pub task: Task,
}

/// One per subcommand.
#[derive(Debug)]
pub enum Task {
    Plan(PlanSettings),
    ScaleUp(ActSettings),
    Drain(DrainSettings),
    Reap(ActSettings),
    Run(Box<RunSettings>),
    Snapshot(SnapshotSettings),
    Simulate(Box<SimulateSettings>),
    Completions(clap_complete::Shell),
}

#[derive(Debug)]
pub struct PlanSettings {
    pub source: Source,
    pub planning: Planning,
}

/// How a snapshot is built, and what the engine decides from it: the same for every
/// subcommand that plans.
#[derive(Debug, Clone)]
pub struct Planning {
    pub build: DecodeOptions,
    pub engine: engine::Config,
}

/// `scale-up`, `reap`, and each pass of `run`: read the live cluster, plan, apply `parts`.
#[derive(Debug, Clone)]
pub struct ActSettings {
    pub live: LiveOptions,
    pub planning: Planning,
    pub parts: Parts,
    /// The Lease to hold while acting; `None` in a dry run (which changes nothing, not even
    /// the Lease) and for `run --leader-elect=false`.
    pub lease: Option<LeaseSettings>,
    /// `None` when no hook is configured (or it is blank).
    pub slack: Option<SlackSettings>,
    pub dry_run: bool,
}

impl ActSettings {
    /// The gate every change passes: shut until the Lease is taken, and refusing a change the
    /// Lease might not outlast — the longest any one call may take. Open without a Lease.
    pub fn guard(&self) -> Guard {
        let Some(lease) = &self.lease else {
            return Guard::open();
        };
        let slack = self.slack.as_ref().map_or(Duration::ZERO, |s| s.timeout);
        let margin = self
            .live
            .kube
            .timeout
            .max(self.live.aws.timeouts.operation)
            .max(slack);
        Guard::for_lease(format!("{}/{}", lease.namespace, lease.name), margin)
    }
}

#[derive(Debug, Clone)]
pub struct RunSettings {
    pub act: ActSettings,
    /// Longest time between passes (`--sleep`).
    pub every: Duration,
    /// Quiet time after a new pending pod before the pass starts, so a burst is one pass.
    pub batch_idle: Duration,
    /// A burst that keeps arriving still starts its pass after this long.
    pub batch_max: Duration,
    pub metrics_address: SocketAddr,
    /// The object cluster-wide Events (an unhealthy cluster) are recorded on: the Lease's
    /// namespace and name, also when the loop does not elect.
    pub cluster_events_on: (String, String),
    pub interruptions: InterruptionSettings,
    /// `/healthz` fails after this long without progress (`--unhealthy-after`).
    pub unhealthy_after: Duration,
    /// How often the optional APIs are looked for again (`--api-discovery-every`).
    pub api_discovery_every: Duration,
}

/// `[REGION=]NAME_OR_URL`: the region given, else the one in an SQS URL's host
/// (`sqs.REGION.amazonaws.com`), else the first region; it must be one ekas connects to.
fn queue_ref(value: &str, regions: &[String]) -> Result<QueueRef> {
    let (region, queue) = match value.split_once('=') {
        Some((region, queue)) if !region.contains('/') => (Some(region.trim()), queue.trim()),
        _ => (None, value.trim()),
    };
    if queue.is_empty() {
        bail!("--interruption-queue {value:?}: no queue name or URL");
    }
    let from_url = queue
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|host| host.strip_prefix("sqs."))
        .and_then(|host| host.split('.').next());
    let region = region
        .or(from_url)
        .or(regions.first().map(String::as_str))
        .unwrap_or_default();
    if !regions.iter().any(|r| r == region) {
        bail!(
            "--interruption-queue {value:?}: region {region:?} is not in --regions ({}); \
             add it there or name the queue as REGION=QUEUE",
            regions.join(",")
        );
    }
    Ok(QueueRef {
        region: region.to_string(),
        name_or_url: queue.to_string(),
    })
}

#[derive(Debug)]
pub struct DrainSettings {
    pub kube: KubeOptions,
    pub nodes: Vec<String>,
    pub options: DrainOptions,
}

#[derive(Debug)]
pub struct SnapshotSettings {
    pub live: LiveOptions,
    /// kubectl JSON files that stand in for the live Kubernetes read.
    pub kubectl: Option<KubectlFiles>,
    pub out: Option<PathBuf>,
    /// Prices to record ahead of the bundled ones (`--price-file`).
    pub price_file: Option<crate::pricing::PriceFile>,
}

/// `ekas simulate`: the inputs, and one configuration per combination of compared values
/// (resolved by [`simulate::resolve`]).
#[derive(Debug)]
pub struct SimulateSettings {
    pub trace: PathBuf,
    pub cluster: PathBuf,
    pub chart: Option<PathBuf>,
    pub seed: Option<u64>,
    pub configurations: Vec<crate::simulate::Settings>,
}

/// `kubectl get … -o json` outputs; a part not given is empty.
#[derive(Debug, Default)]
pub struct KubectlFiles {
    pub pods: Option<PathBuf>,
    pub nodes: Option<PathBuf>,
    pub daemonsets: Option<PathBuf>,
    pub pdbs: Option<PathBuf>,
    pub namespaces: Option<PathBuf>,
    /// Claims, volumes and classes: all three or none (the CLI requires them together).
    pub pvcs: Option<PathBuf>,
    pub pvs: Option<PathBuf>,
    pub storage_classes: Option<PathBuf>,
    pub pod_groups: Option<PathBuf>,
    /// ProvisioningRequests and their PodTemplates: both or none (the CLI requires them
    /// together).
    pub provisioning_requests: Option<PathBuf>,
    pub pod_templates: Option<PathBuf>,
}

impl Settings {
    pub fn from_cli(cli: Cli) -> Result<Settings> {
        let g = &cli.global;
        let task = match cli.command {
            Command::Plan(args) => Task::Plan(PlanSettings {
                source: match args.snapshot {
                    Some(path) => Source::File(path),
                    None => Source::Live(Box::new(live(g, &args.planning.read)?)),
                },
                planning: planning(g, &args.planning),
            }),
            Command::ScaleUp(args) => Task::ScaleUp(act(
                g,
                &args,
                Parts {
                    scale_up: true,
                    maintenance: false,
                },
                true,
            )?),
            Command::Reap(args) => Task::Reap({
                maintenance_sees_every_namespace(&args.planning, "reap")?;
                act(
                    g,
                    &args,
                    Parts {
                        scale_up: false,
                        maintenance: true,
                    },
                    true,
                )?
            }),
            Command::Run(args) => Task::Run(Box::new(run(g, &args)?)),
            Command::Drain(args) => Task::Drain(drain(g, args)?),
            Command::Snapshot(args) => Task::Snapshot(snapshot(g, args)?),
            Command::Simulate(args) => Task::Simulate(Box::new(simulate::resolve(g, &args)?)),
            Command::Completions(args) => Task::Completions(args.shell),
        };
        Ok(Settings {
            output: g.output,
            task,
        })
    }
}

/// Builds a snapshot and configures the engine: one line per option.
pub(crate) fn planning(g: &GlobalArgs, args: &PlanningArgs) -> Planning {
    let s = &args.scaling;
    let m = &args.scale_in;
    Planning {
        build: DecodeOptions {
            cluster_name: g.cluster_name.clone(),
            regions: g.regions.clone(),
            reservation: NodeReservation {
                cpu: s.kube_reserved_cpu.fixed(),
                memory: s.kube_reserved_memory.fixed(),
                max_pods: s.max_pods,
            },
            startup_taints: StartupTaints(s.startup_taints.clone()),
            price_file: s.price_file.clone(),
        },
        engine: engine::Config {
            over_provision: s.over_provision,
            backoff: BackoffPolicy {
                base: s.scale_up_backoff.signed(),
                max: s.scale_up_backoff_max.max(s.scale_up_backoff).signed(),
                max_provision_time: s.max_node_provision_time.signed(),
            },
            maintenance: MaintenanceConfig {
                idle_threshold: m.idle_threshold.0,
                type_idle_threshold: m.type_idle_threshold.signed(),
                type_idle_count: m.type_idle_count,
                instance_init_time: m.instance_init_time.signed(),
                dead_threshold: m.dead_threshold.signed(),
                launch_grace: m.launch_grace.signed(),
                max_scale_in_fraction: m.max_scale_in_fraction,
                scale_in_window: m.scale_in_window.signed(),
                interruption_drain_time: m.interruption_drain_timeout.signed(),
                rebalance_cordon_ttl: m.rebalance_cordon_ttl.signed(),
                consolidation: ConsolidationConfig {
                    enabled: !m.no_consolidation,
                    utilization_below: m.scale_down_utilization_threshold,
                },
                drain_utilization_below: m.drain_utilization_below,
                max_concurrent_drains: m.max_concurrent_drains,
                respect_scale_in_protection: m.respect_scale_in_protection,
                unready: UnreadyBrake {
                    max_total_unready_percentage: m.max_total_unready_percentage,
                    ok_total_unready_count: m.ok_total_unready_count,
                },
                drain: DrainPolicy {
                    min_pod_age: m.min_pod_age.signed(),
                    evict_running_jobs: m.drain_running_jobs,
                    ..DrainPolicy::default()
                },
            },
            startup_taints: StartupTaints(s.startup_taints.clone()),
            scale_up: ScaleUpPolicy {
                balance: !s.no_balance,
                gangs: !s.no_gangs,
                expendable_cutoff: s.expendable_pods_priority_cutoff,
                only_unschedulable: s.scale_up_only_unschedulable,
                new_pod_delay: s.new_pod_scale_up_delay.signed(),
                expanders: s.expander.clone(),
                avoid_interrupted: s.avoid_interrupted_groups,
                // Decided each pass from the cluster's health.
                halted: false,
            },
            requests: RequestPolicy {
                booking: s.provisioning_request_booking.signed(),
                ..RequestPolicy::default()
            },
        },
    }
}

fn kube(g: &GlobalArgs) -> Result<KubeOptions> {
    Ok(KubeOptions {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        timeout: positive(g.kube_timeout, "--kube-timeout")?,
    })
}

fn aws(g: &GlobalArgs) -> Result<AwsOptions> {
    if g.use_aws_iam_role {
        tracing::warn!(
            "--use-aws-iam-role does nothing: without --aws-access-key, ekas uses the AWS SDK's \
             default credential chain, which includes instance roles and IRSA"
        );
    }
    let timeouts = AwsTimeouts {
        operation: positive(g.aws_timeout, "--aws-timeout")?,
        attempt: positive(g.aws_attempt_timeout, "--aws-attempt-timeout")?,
    };
    if timeouts.attempt > timeouts.operation {
        bail!(
            "--aws-attempt-timeout ({}) is longer than --aws-timeout ({}), which bounds all \
             attempts together: lower the first or raise the second",
            g.aws_attempt_timeout,
            g.aws_timeout
        );
    }
    Ok(AwsOptions {
        // An empty value (a Secret key left blank) means "not given".
        access_key: g.aws_access_key.clone().filter(|k| !k.is_empty()),
        secret_key: g.aws_secret_key.clone().filter(|k| !k.is_empty()),
        profile: g.aws_profile.clone(),
        max_attempts: g.aws_max_attempts,
        timeouts,
        endpoint_url: None,
        pricing_endpoint_url: None,
    })
}

/// The live cluster: it needs a cluster name and regions.
fn live(g: &GlobalArgs, read: &ReadArgs) -> Result<LiveOptions> {
    let cluster = g
        .cluster_name
        .clone()
        .ok_or_else(|| eyre!("--cluster-name is required: it selects the node groups to read"))?;
    let regions = g
        .regions
        .clone()
        .ok_or_else(|| eyre!("--regions is required, e.g. --regions us-west-2,us-east-1"))?;
    Ok(LiveOptions {
        cluster,
        regions,
        aws: aws(g)?,
        kube: kube(g)?,
        namespace: read.namespace.clone(),
        // One-shot commands read prices once; only the loop keeps them (see `run`).
        prices: read.live_prices.then(Refresh::default),
    })
}

/// `lease`: whether this subcommand takes the Lease at all (`run --leader-elect=false` does not;
/// nor does a dry run, which changes nothing, not even the Lease).
fn act(g: &GlobalArgs, args: &ActArgs, parts: Parts, lease: bool) -> Result<ActSettings> {
    let live = live(g, &args.planning.read)?;
    let lease_settings = LeaseSettings {
        namespace: args.lease.lease_namespace.clone(),
        name: args.lease.lease_name.clone(),
        duration_seconds: lease_seconds(args.lease.lease_duration)?,
    };
    let slack = SlackHook::configured(args.slack.slack_hook.as_ref())
        .map(|hook| {
            Ok::<_, color_eyre::Report>(SlackSettings {
                hook: hook.clone(),
                timeout: positive(args.slack.slack_timeout, "--slack-timeout")?,
            })
        })
        .transpose()?;
    let lease = (lease && !g.dry_run).then_some(lease_settings);
    // One call that hangs to its deadline must still end before the Lease runs out — and be
    // allowed to start: a change goes only while the Lease has longer left than the longest
    // call, and a term renewed every third of the Lease has two thirds left at worst.
    let lease_duration = args.lease.lease_duration;
    let slack_timeout = slack.is_some().then_some(args.slack.slack_timeout);
    let held = lease.is_some();
    for (flag, deadline) in [
        ("--kube-timeout", Some(g.kube_timeout)),
        ("--aws-timeout", Some(g.aws_timeout)),
        ("--slack-timeout", slack_timeout),
    ] {
        let Some(deadline) = deadline.filter(|_| held) else {
            continue;
        };
        if deadline.std().saturating_mul(2) >= lease_duration.std() {
            bail!(
                "{flag} ({deadline}) is not shorter than half of --lease-duration \
                 ({lease_duration}): a change starts only while the Lease outlasts the longest \
                 call, so ekas could not change anything; lower it or raise --lease-duration"
            );
        }
    }
    Ok(ActSettings {
        live,
        planning: planning(g, &args.planning),
        parts,
        lease,
        slack,
        dry_run: g.dry_run,
    })
}

fn run(g: &GlobalArgs, args: &RunArgs) -> Result<RunSettings> {
    if !args.no_maintenance {
        maintenance_sees_every_namespace(&args.act.planning, "run")?;
    }
    let parts = Parts {
        scale_up: !args.no_scale,
        maintenance: !args.no_maintenance,
    };
    let mut act = act(g, &args.act, parts, args.leader_elect)?;
    if let Some(refresh) = &mut act.live.prices {
        *refresh = Refresh {
            on_demand: positive(args.on_demand_price_refresh, "--on-demand-price-refresh")?,
            spot: positive(args.spot_price_refresh, "--spot-price-refresh")?,
        };
    }
    let interruption_queues = args
        .interruption_queue
        .iter()
        .filter(|q| !q.trim().is_empty())
        .map(|q| queue_ref(q, &act.live.regions))
        .collect::<Result<_>>()?;
    let interruption_trust = Trust {
        regions: act.live.regions.clone(),
        accounts: args
            .interruption_accounts
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect(),
    };
    let every = positive(args.timing.sleep, "--sleep")?;
    let unhealthy_after = match args.unhealthy_after {
        Some(d) => positive(d, "--unhealthy-after")?,
        None => every.saturating_mul(3).max(Duration::from_secs(120)),
    };
    Ok(RunSettings {
        act,
        every,
        unhealthy_after,
        api_discovery_every: positive(args.api_discovery_every, "--api-discovery-every")?,
        batch_idle: args.timing.batch_idle.std(),
        batch_max: args.timing.batch_max.std(),
        metrics_address: args.metrics_address,
        cluster_events_on: (
            args.act.lease.lease_namespace.clone(),
            args.act.lease.lease_name.clone(),
        ),
        interruptions: InterruptionSettings {
            queues: interruption_queues,
            trust: interruption_trust,
            retry_after: positive(args.interruption_retry_after, "--interruption-retry-after")?,
            timing: Timing {
                drain: positive(
                    args.act.planning.scale_in.interruption_drain_timeout,
                    "--interruption-drain-timeout",
                )?
                .try_into()
                .map_err(|_| eyre!("--interruption-drain-timeout is too long"))?,
                hook_wait: args
                    .lifecycle_hook_max_wait
                    .std()
                    .try_into()
                    .map_err(|_| eyre!("--lifecycle-hook-max-wait is too long"))?,
            },
        },
    })
}

/// Refuses `--namespace` where maintenance runs: a node's pods in other namespaces would be
/// invisible, and a busy node would look idle.
fn maintenance_sees_every_namespace(args: &PlanningArgs, command: &str) -> Result<()> {
    if let Some(namespace) = &args.read.namespace {
        bail!(
            "`ekas {command}` maintains nodes, which needs every pod on them; with --namespace \
             {namespace} the pods of other namespaces would be invisible and busy nodes would \
             look idle. Drop --namespace{}",
            if command == "run" {
                ", or pass --no-maintenance to only scale up"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn drain(g: &GlobalArgs, args: DrainArgs) -> Result<DrainSettings> {
    if args.disable_eviction {
        bail!(
            "--disable-eviction is not supported: ekas evicts only through the Eviction API, so \
             PodDisruptionBudgets hold (delete pods yourself, or drop the flag)"
        );
    }
    // kubectl: a negative grace period means each pod's own.
    let termination_grace_seconds = match args.grace_period {
        n if n < 0 => None,
        n => Some(u32::try_from(n).map_err(|_| {
            eyre!(
                "--grace-period {n} is too large: give at most {} seconds",
                u32::MAX
            )
        })?),
    };
    Ok(DrainSettings {
        kube: kube(g)?,
        nodes: args.nodes,
        options: DrainOptions {
            policy: DrainPolicy {
                min_pod_age: args.min_pod_age.signed(),
                evict_unmanaged: args.force,
                evict_local_storage: args.delete_emptydir_data,
                // An operator's drain evicts Job and hostPath pods, as `kubectl drain` does.
                evict_host_path: true,
                evict_running_jobs: true,
            },
            timeout: args.timeout.std(),
            termination_grace_seconds,
            pod_selector: args.pod_selector.filter(|s| !s.trim().is_empty()),
            dry_run: g.dry_run,
            ..DrainOptions::default()
        },
    })
}

fn snapshot(g: &GlobalArgs, args: SnapshotArgs) -> Result<SnapshotSettings> {
    let files = KubectlFiles {
        pods: args.pods,
        nodes: args.nodes,
        daemonsets: args.daemonsets,
        pdbs: args.pdbs,
        namespaces: args.namespaces,
        pvcs: args.pvcs,
        pvs: args.pvs,
        storage_classes: args.storage_classes,
        pod_groups: args.pod_groups,
        provisioning_requests: args.provisioning_requests,
        pod_templates: args.pod_templates,
    };
    let given = [
        &files.pods,
        &files.nodes,
        &files.daemonsets,
        &files.pdbs,
        &files.namespaces,
        &files.pvcs,
        &files.pod_groups,
        &files.provisioning_requests,
    ]
    .iter()
    .any(|f| f.is_some());
    Ok(SnapshotSettings {
        live: live(g, &args.read)?,
        kubectl: given.then_some(files),
        out: args.out,
        price_file: args.price_file,
    })
}

/// A deadline of zero would fail every call.
fn positive(value: DurationArg, flag: &str) -> Result<Duration> {
    let d = value.std();
    if d.is_zero() {
        bail!("{flag} must be longer than zero");
    }
    Ok(d)
}

/// A Lease counts whole seconds, in an int32.
fn lease_seconds(value: DurationArg) -> Result<i32> {
    let d = value.std();
    if d.as_secs() < 3 || d.subsec_nanos() != 0 {
        bail!("--lease-duration ({value}) must be whole seconds, at least 3");
    }
    i32::try_from(d.as_secs()).map_err(|_| eyre!("--lease-duration ({value}) is too long"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn settings(args: &[&str]) -> Result<Settings> {
        Settings::from_cli(Cli::try_parse_from([&["ekas"][..], args].concat())?)
    }

    fn act_settings(args: &[&str]) -> ActSettings {
        match settings(args).unwrap().task {
            Task::Reap(a) | Task::ScaleUp(a) => a,
            Task::Run(r) => r.act,
            other => panic!("{other:?}"),
        }
    }

    const LIVE: &[&str] = &["--cluster-name", "prod", "--regions", "us-west-2"];

    const QUEUE_REGIONS: [&str; 2] = ["us-west-2", "us-east-1"];

    // Interruption queues resolve to a region ekas connects to: (--interruption-queue,
    // (region, queue name or URL)) with --regions us-west-2,us-east-1.
    cases! { resolves_the_queue;
        a_name_is_in_the_first_region: ("ekas-q", ("us-west-2", "ekas-q")),
        a_region_and_a_name: ("us-east-1=ekas-q", ("us-east-1", "ekas-q")),
        a_url_names_its_region: (
            "https://sqs.us-east-1.amazonaws.com/123456789012/ekas-q",
            ("us-east-1", "https://sqs.us-east-1.amazonaws.com/123456789012/ekas-q"),
        ),
    }

    fn resolves_the_queue((value, (region, queue)): (&str, (&str, &str))) {
        let regions = QUEUE_REGIONS.map(String::from);
        let want = QueueRef {
            region: region.into(),
            name_or_url: queue.into(),
        };
        assert_eq!(queue_ref(value, &regions).unwrap(), want, "{value}");
    }

    #[test]
    fn an_interruption_queue_outside_the_regions_is_refused() {
        let regions = QUEUE_REGIONS.map(String::from);
        let err = queue_ref("eu-west-1=ekas-q", &regions)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"eu-west-1\" is not in --regions"), "{err}");
        let err = queue_ref("https://sqs.eu-west-1.amazonaws.com/1/q", &regions)
            .unwrap_err()
            .to_string();
        assert!(err.contains("eu-west-1"), "{err}");
        assert!(queue_ref("us-west-2=", &regions).is_err());
    }

    #[test]
    fn defaults_are_the_engines_own() {
        let Task::Plan(plan) = settings(&["plan", "--snapshot", "f.json"]).unwrap().task else {
            unreachable!()
        };
        let config = plan.planning.engine;
        let default = engine::Config::default();
        assert_eq!(format!("{config:?}"), format!("{default:?}"));
        assert_eq!(
            format!("{:?}", plan.planning.build.reservation),
            format!("{:?}", NodeReservation::default())
        );
    }

    #[test]
    fn every_acting_subcommand_shares_one_lease() {
        let reap = act_settings(&[&["reap"], LIVE].concat());
        let scale_up = act_settings(&[&["scale-up"], LIVE].concat());
        let run = act_settings(&[&["run"], LIVE].concat());
        let leases: Vec<_> = [reap, scale_up, run]
            .into_iter()
            .map(|a| a.lease.expect("takes the lease"))
            .map(|l| (l.namespace, l.name, l.duration_seconds))
            .collect();
        assert_eq!(leases[0], ("ekas".to_string(), "ekas".to_string(), 60));
        assert!(leases.iter().all(|l| *l == leases[0]), "{leases:?}");
    }

    #[test]
    fn who_takes_the_lease() {
        let no_election = act_settings(&[&["run", "--leader-elect=false"], LIVE].concat());
        assert!(no_election.lease.is_none());
        // A dry run changes nothing, not even the Lease.
        let dry = act_settings(&[&["reap", "--dry-run"], LIVE].concat());
        assert!(dry.lease.is_none() && dry.dry_run);
    }

    #[test]
    fn run_parts_and_batching() {
        let Task::Run(run) = settings(
            &[
                &[
                    "run",
                    "--no-maintenance",
                    "--batch-idle",
                    "2s",
                    "--batch-max",
                    "30s",
                ],
                LIVE,
            ]
            .concat(),
        )
        .unwrap()
        .task
        else {
            unreachable!()
        };
        assert_eq!(
            run.act.parts,
            Parts {
                scale_up: true,
                maintenance: false
            }
        );
        assert_eq!(run.batch_idle, Duration::from_secs(2));
        assert_eq!(run.batch_max, Duration::from_secs(30));
        assert_eq!(run.every, Duration::from_secs(60));
    }

    // Every call fits in half the Lease: a timeout of 60 s under the default Lease is refused.
    cases! { fits_in_half_the_lease;
        the_kubernetes_timeout_fits_in_half_the_lease: "--kube-timeout",
        the_aws_timeout_fits_in_half_the_lease: "--aws-timeout",
        the_slack_timeout_fits_in_half_the_lease: "--slack-timeout",
    }

    fn fits_in_half_the_lease(flag: &str) {
        let hook = ["--slack-hook", "https://hooks.slack.com/services/T0/B0/x"];
        let args = [
            &["reap", flag, "60s", "--aws-attempt-timeout", "5s"][..],
            &hook,
            LIVE,
        ]
        .concat();
        let err = format!("{:#}", settings(&args).unwrap_err());
        assert!(
            err.contains(flag) && err.contains("--lease-duration"),
            "{flag}: {err}"
        );
    }

    #[test]
    fn a_longer_lease_makes_room_and_timeouts_must_be_sane() {
        // Raising the Lease makes room.
        act_settings(
            &[
                &["reap", "--aws-timeout", "60s", "--lease-duration", "3m"],
                LIVE,
            ]
            .concat(),
        );
        let err = settings(&[&["plan", "--kube-timeout", "0"], LIVE].concat()).unwrap_err();
        assert!(err.to_string().contains("--kube-timeout"), "{err}");
        let err = settings(
            &[
                &[
                    "plan",
                    "--aws-attempt-timeout",
                    "1m",
                    "--aws-timeout",
                    "30s",
                ],
                LIVE,
            ]
            .concat(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--aws-attempt-timeout"), "{err}");
    }

    #[test]
    fn live_reads_need_a_cluster_and_regions() {
        let err = settings(&["plan", "--cluster-name", "x"]).unwrap_err();
        assert!(err.to_string().contains("--regions is required"), "{err}");
        let err = settings(&["reap", "--regions", "us-west-2"]).unwrap_err();
        assert!(
            err.to_string().contains("--cluster-name is required"),
            "{err}"
        );
        // A snapshot file needs neither.
        settings(&["plan", "--snapshot", "f.json"]).unwrap();
    }

    #[test]
    fn drain_settings_follow_kubectl() {
        let drain = |extra: &[&str]| match settings(&[&["drain", "n1"], extra].concat()) {
            Ok(Settings {
                task: Task::Drain(d),
                ..
            }) => Ok(d),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        let d = drain(&["--grace-period", "30", "--min-pod-age", "5m"]).unwrap();
        assert_eq!(d.options.termination_grace_seconds, Some(30));
        assert_eq!(
            d.options.policy.min_pod_age,
            jiff::SignedDuration::from_mins(5)
        );
        let d = drain(&[]).unwrap();
        assert_eq!(d.options.termination_grace_seconds, None);
        assert_eq!(
            d.options.policy.min_pod_age,
            DrainPolicy::default().min_pod_age
        );
        let err = drain(&["--disable-eviction"]).unwrap_err();
        assert!(err.to_string().contains("Eviction API"), "{err}");
        let err = drain(&["--grace-period", "99999999999"]).unwrap_err();
        assert!(err.to_string().contains("--grace-period"), "{err}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = settings(
            &[
                &[
                    "reap",
                    "--aws-secret-key",
                    "s3cr3tKey",
                    "--aws-access-key",
                    "AKIA",
                    "--slack-hook",
                    "https://hooks.slack.com/services/T0/B0/t0k3n",
                ],
                LIVE,
            ]
            .concat(),
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("s3cr3tKey") && !debug.contains("t0k3n"),
            "{debug}"
        );
    }

    #[test]
    fn live_prices_are_read_unless_turned_off_and_kept_by_the_loop() {
        let reap = act_settings(&[&["reap"], LIVE].concat());
        assert_eq!(reap.live.prices, Some(Refresh::default()));
        let off = act_settings(&[&["reap", "--live-prices=false"], LIVE].concat());
        assert_eq!(off.live.prices, None);
        let run = act_settings(
            &[
                &[
                    "run",
                    "--spot-price-refresh",
                    "5m",
                    "--on-demand-price-refresh",
                    "6h",
                ],
                LIVE,
            ]
            .concat(),
        );
        assert_eq!(
            run.live.prices,
            Some(Refresh {
                on_demand: Duration::from_secs(6 * 3600),
                spot: Duration::from_secs(300),
            })
        );
        let err = settings(&[&["run", "--spot-price-refresh", "0"], LIVE].concat()).unwrap_err();
        assert!(err.to_string().contains("--spot-price-refresh"), "{err}");
    }

    #[test]
    fn a_blank_slack_hook_means_none() {
        let a = act_settings(&[&["reap", "--slack-hook", ""], LIVE].concat());
        assert!(a.slack.is_none());
    }
}

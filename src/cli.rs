//! Command-line interface: what each subcommand accepts. These definitions also generate
//! completions/ and man/. They only parse; [`crate::settings`] turns them into the settings
//! the rest of ekas uses, and says where each default lives.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use jiff::SignedDuration;

use crate::actuate::drain::DrainOptions;
use crate::aws::{AwsOptions, AwsTimeouts};
use crate::decode::NodeReservation;
use crate::engine::Config as EngineConfig;
use crate::engine::capacity::health::UnreadyBrake;
use crate::engine::requests::RequestPolicy;
use crate::engine::scale_in::drain::DrainPolicy;
use crate::engine::scale_in::idle_threshold::IdleThreshold;
use crate::engine::scale_up::ScaleUpPolicy;
use crate::engine::scale_up::expander::Expander;
use crate::kubernetes::KubeOptions;
use crate::model::StartupTaints;
use crate::model::quantity::Quantity;
use crate::notify::SlackHook;
pub use crate::output::OutputFormat;
use crate::pricing::PriceFile;
use crate::pricing::cache::Refresh;
use crate::secret::Secret;
use crate::simulate::policy::Policy;
use crate::simulate::scoring::Scoring;

#[derive(Debug, Parser)]
#[command(
    name = "ekas",
    version,
    about = "Node autoscaler for Kubernetes on AWS EC2 Auto Scaling Groups, built for batch jobs",
    long_about = "Node autoscaler for Kubernetes on AWS EC2 Auto Scaling Groups, built for batch \
jobs.\n\nekas reads the queue of pending pods, works out which node groups must grow and by how \
much, grows them (overflowing to other groups and regions when AWS cannot launch), and shrinks the \
cluster without killing in-flight jobs. Every subcommand shares one planning engine; `ekas plan` \
shows what the others would do.",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preview the pending-pod deficit and every planned action, changing nothing
    Plan(PlanArgs),
    /// Apply one scale-up step: raise desired capacities for the pending pods
    ScaleUp(ActArgs),
    /// Cordon nodes and evict their pods safely
    Drain(DrainArgs),
    /// One-shot cleanup for cron: idle nodes, dead nodes, instances that never joined
    Reap(ActArgs),
    /// Run the autoscaler continuously
    Run(RunArgs),
    /// Write a snapshot of the cluster and its node groups to a file
    Snapshot(SnapshotArgs),
    /// Replay a workload trace through the planning engine on a simulated cluster
    Simulate(SimulateArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// Options every subcommand accepts, before or after its name: where the cluster is, how to
/// reach its APIs, and how ekas reports.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Name of the cluster whose node groups ekas manages (matched against the groups' tags)
    #[arg(
        long,
        global = true,
        env = "EKAS_CLUSTER_NAME",
        value_name = "NAME",
        help_heading = "Cluster"
    )]
    pub cluster_name: Option<String>,

    /// AWS regions to manage, comma-separated, in order of preference
    #[arg(
        long,
        global = true,
        alias = "aws-regions",
        value_delimiter = ',',
        value_name = "REGION,...",
        help_heading = "Cluster"
    )]
    pub regions: Option<Vec<String>>,

    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)
    #[arg(long, global = true, value_name = "PATH", help_heading = "Cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME", help_heading = "Cluster")]
    pub context: Option<String>,

    /// A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)
    #[arg(long, global = true, value_name = "DURATION", help_heading = "Cluster",
        default_value_t = DurationArg::from(KubeOptions::default().timeout))]
    pub kube_timeout: DurationArg,

    /// AWS access key id (default: the AWS SDK's credential chain)
    #[arg(
        long,
        global = true,
        env = "AWS_ACCESS_KEY_ID",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = "AWS"
    )]
    pub aws_access_key: Option<String>,

    /// AWS secret access key
    #[arg(
        long,
        global = true,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = "AWS"
    )]
    pub aws_secret_key: Option<Secret>,

    /// AWS profile from the shared config files
    #[arg(long, global = true, value_name = "NAME", help_heading = "AWS")]
    pub aws_profile: Option<String>,

    /// Accepted for the original tool's setups; does nothing: without keys, the AWS SDK's
    /// default credential chain (instance role, IRSA, …) is used anyway
    #[arg(long, global = true, help_heading = "AWS")]
    pub use_aws_iam_role: bool,

    /// Longest an AWS call may take, all its attempts and their backoff included
    #[arg(long, global = true, value_name = "DURATION", help_heading = "AWS",
        default_value_t = DurationArg::from(AwsTimeouts::default().operation))]
    pub aws_timeout: DurationArg,

    /// Longest one attempt of an AWS call may take before it is retried
    #[arg(long, global = true, value_name = "DURATION", help_heading = "AWS",
        default_value_t = DurationArg::from(AwsTimeouts::default().attempt))]
    pub aws_attempt_timeout: DurationArg,

    /// Attempts per AWS call, with the SDK's adaptive retry on throttling and 5xx
    #[arg(long, global = true, env = "AWS_MAX_ATTEMPTS", value_name = "N", help_heading = "AWS",
        default_value_t = AwsOptions::default().max_attempts,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub aws_max_attempts: u32,

    /// Log what would be changed, and change nothing
    #[arg(long, global = true, help_heading = "Output")]
    pub dry_run: bool,

    /// Output format: tables of what an operator scans, `wide` tables with every detail, or
    /// one JSON document (as kubectl's -o)
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = "Output")]
    pub output: OutputFormat,

    /// Log lines as text or as JSON objects
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, help_heading = "Output")]
    pub log_format: LogFormat,

    /// More log detail on standard error (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
}

/// `ekas plan`: where the cluster comes from, and the planning options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Read the cluster from a snapshot file instead of the live APIs
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub snapshot: Option<PathBuf>,

    #[command(flatten)]
    pub planning: PlanningArgs,
}

/// What every subcommand that makes a plan accepts: the same options make the same plan,
/// whether `ekas plan` shows it or `scale-up`, `reap` or `run` applies a part of it.
#[derive(Debug, Clone, Args)]
pub struct PlanningArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub scaling: ScalingArgs,
    #[command(flatten)]
    pub scale_in: ScaleInArgs,
}

/// How much of the cluster is read.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not
    /// with maintenance, which must see every pod on a node
    #[arg(
        long,
        alias = "pod-namespace",
        value_name = "NAME",
        help_heading = "Cluster"
    )]
    pub namespace: Option<String>,

    /// Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts),
    /// Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices
    /// from --price-file and the bundled on-demand table only
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true,
        default_missing_value = "true", action = ArgAction::Set, help_heading = "Cluster")]
    pub live_prices: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Scaling")]
pub struct ScalingArgs {
    /// Spare nodes to add to every group that scales up
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().over_provision)]
    pub over_provision: u32,

    /// First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().backoff.base))]
    pub scale_up_backoff: DurationArg,

    /// Longest wait after launch failures, and how far back failures count
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().backoff.max))]
    pub scale_up_backoff_max: DurationArg,

    /// A launch still in progress after this long counts as failed, putting its group in
    /// backoff; so do a node not started this long after registering and desired capacity not
    /// launched for this long
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().backoff.max_provision_time))]
    pub max_node_provision_time: DurationArg,

    /// A taint nodes carry while they start (repeatable; replaces the defaults); any taint
    /// prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too
    #[arg(long = "startup-taint", value_name = "KEY",
        default_values_t = StartupTaints::default_keys())]
    pub startup_taints: Vec<String>,

    /// CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI's sliding scale
    #[arg(long, value_name = "CPU", value_parser = parse_reserved_cpu,
        default_value_t = Reserved::cpu(NodeReservation::default().cpu))]
    pub kube_reserved_cpu: Reserved,

    /// Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel
    #[arg(long, value_name = "MEMORY", value_parser = parse_reserved_memory,
        default_value_t = Reserved::memory(NodeReservation::default().memory))]
    pub kube_reserved_memory: Reserved,

    /// Pods a new node accepts (the kubelet's --max-pods)
    #[arg(long, value_name = "N", default_value_t = NodeReservation::default().max_pods)]
    pub max_pods: u32,

    /// Pods with a priority below this never buy a node (cluster-autoscaler's rule)
    #[arg(long, value_name = "PRIORITY", allow_negative_numbers = true,
        default_value_t = ScaleUpPolicy::default().expendable_cutoff)]
    pub expendable_pods_priority_cutoff: i32,

    /// Buy nodes only for pods the scheduler has marked unschedulable (by default every
    /// pending pod counts at once, so a burst of jobs need not wait for the scheduler)
    #[arg(long)]
    pub scale_up_only_unschedulable: bool,

    /// Pods younger than this buy no node yet [seconds or 30s]
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(ScaleUpPolicy::default().new_pod_delay))]
    pub new_pod_scale_up_delay: DurationArg,

    /// Do not share scale-ups between groups that differ only by zone
    #[arg(long)]
    pub no_balance: bool,

    /// Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling
    /// plugin or Volcano); by default a gang's pods buy nodes all together or not at all
    #[arg(long)]
    pub no_gangs: bool,

    /// How long room found or bought for a ProvisioningRequest is held for its pods; when
    /// they have not all arrived by then, the request gets BookingExpired and the room goes
    /// back to other pods and to scale-in
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(RequestPolicy::default().booking))]
    pub provisioning_request_booking: DurationArg,

    /// How the group that buys nodes is chosen, after region order: price, least-waste,
    /// most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing
    /// the choice of the one before (cluster-autoscaler's names)
    #[arg(long, value_name = "NAME,...", value_delimiter = ',',
        value_parser = clap::builder::ValueParser::new(Expander::from_str),
        default_values_t = Expander::default_chain())]
    pub expander: Vec<Expander>,

    /// Within a region, prefer groups with fewer interruption notices in the last hour (counted
    /// by `ekas run --interruption-queue`), before any expander
    #[arg(long)]
    pub avoid_interrupted_groups: bool,

    /// Hourly prices that replace the snapshot's and the bundled on-demand ones (JSON: instance
    /// type → region → dollars per hour, e.g. with negotiated discounts)
    #[arg(long, value_name = "PATH", value_parser = parse_price_file)]
    pub price_file: Option<PriceFile>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Scaling in")]
pub struct ScaleInArgs {
    /// How long a node must be idle before ekas cordons and then removes it: auto (per group,
    /// from its nodes' launch time and the work arriving for it), or a duration for every
    /// group [seconds or 55m, the original tool's]
    #[arg(long, value_name = "auto|DURATION",
        default_value_t = IdleThresholdArg(EngineConfig::default().maintenance.idle_threshold))]
    pub idle_threshold: IdleThresholdArg,

    /// How long a few idle nodes of each instance type are kept as spares
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.type_idle_threshold))]
    pub type_idle_threshold: DurationArg,

    /// How long an instance may take to join the cluster before it is replaced
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.instance_init_time))]
    pub instance_init_time: DurationArg,

    /// Idle spares kept per group for --type-idle-threshold
    #[arg(long, value_name = "N",
        default_value_t = EngineConfig::default().maintenance.type_idle_count)]
    pub type_idle_count: usize,

    /// A node NotReady this long is dead: its Node is deleted and its instance terminated
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.dead_threshold))]
    pub dead_threshold: DurationArg,

    /// Nodes younger than this are left alone to receive their first pods
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.launch_grace))]
    pub launch_grace: DurationArg,

    /// Drains under way at once, across the cluster
    #[arg(long, value_name = "N",
        default_value_t = EngineConfig::default().maintenance.max_concurrent_drains)]
    pub max_concurrent_drains: usize,

    /// Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)
    #[arg(long, alias = "drain-grace-period", value_name = "DURATION",
        default_value_t = DurationArg::from(DrainPolicy::default().min_pod_age))]
    pub min_pod_age: DurationArg,

    /// Largest fraction of the cluster's instances removed (terminated, drained or replaced)
    /// within one --scale-in-window
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction,
        default_value_t = EngineConfig::default().maintenance.max_scale_in_fraction)]
    pub max_scale_in_fraction: f64,

    /// The window --max-scale-in-fraction counts removals over, across passes and restarts
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.scale_in_window))]
    pub scale_in_window: DurationArg,

    /// A node whose instance has an interruption due within this long is drained, its running
    /// jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.interruption_drain_time))]
    pub interruption_drain_timeout: DurationArg,

    /// A rebalance recommendation's cordon is undone after this long with no follow-up
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(EngineConfig::default().maintenance.rebalance_cordon_ttl))]
    pub rebalance_cordon_ttl: DurationArg,

    /// Busy nodes using less than this share of their cpu and of their memory are consolidated
    /// by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new
    /// pods go elsewhere, removed once idle, never evicted (cluster-autoscaler's meaning)
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction,
        default_value_t = EngineConfig::default().maintenance.consolidation.utilization_below)]
    pub scale_down_utilization_threshold: f64,

    /// Never consolidate nodes by attrition (marks already set are removed)
    #[arg(long)]
    pub no_consolidation: bool,

    /// Drain nodes whose utilisation is below this fraction (0 disables)
    #[arg(long, alias = "drain-utilization", value_name = "FRACTION", value_parser = parse_fraction,
        default_value_t = EngineConfig::default().maintenance.drain_utilization_below)]
    pub drain_utilization_below: f64,

    /// Let utilisation drains evict pods that run to completion (a Job's, restartPolicy
    /// Never/OnFailure), losing their work
    #[arg(long)]
    pub drain_running_jobs: bool,

    /// Never drain or terminate instances protected from scale-in (by default ekas removes
    /// protected instances it decided to remove, as the original tool did)
    #[arg(long)]
    pub respect_scale_in_protection: bool,

    /// No node is removed while more than this percentage of nodes is NotReady (and more than
    /// --ok-total-unready-count)
    #[arg(long, value_name = "PERCENT", value_parser = parse_percentage,
        default_value_t = UnreadyBrake::default().max_total_unready_percentage)]
    pub max_total_unready_percentage: f64,

    /// NotReady nodes tolerated whatever their share
    #[arg(long, value_name = "N",
        default_value_t = UnreadyBrake::default().ok_total_unready_count)]
    pub ok_total_unready_count: usize,
}

/// `ekas scale-up` and `ekas reap`: a plan applied once, under the Lease, with notifications.
#[derive(Debug, Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub planning: PlanningArgs,
    #[command(flatten)]
    pub lease: LeaseArgs,
    #[command(flatten)]
    pub slack: SlackArgs,
}

/// The Lease that keeps two ekas processes (`run` replicas, cron jobs) from acting at once.
/// Every subcommand that changes the cluster on its own shares these defaults.
#[derive(Debug, Args)]
#[command(next_help_heading = "Lease")]
pub struct LeaseArgs {
    /// Namespace of the Lease that keeps two ekas processes from acting at once
    #[arg(long, value_name = "NAME", default_value = "ekas")]
    pub lease_namespace: String,

    /// Name of that Lease
    #[arg(long, value_name = "NAME", default_value = "ekas")]
    pub lease_name: String,

    /// How long a holder keeps the Lease without renewing it; holders renew every third of it,
    /// and every call's deadline must fit in half of it [seconds or 1m]
    #[arg(long, value_name = "DURATION", default_value = "60")]
    pub lease_duration: DurationArg,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Slack")]
pub struct SlackArgs {
    /// Slack incoming-webhook URL for notifications (prefer the SLACK_HOOK variable: a command
    /// line is visible to every user of the machine)
    #[arg(long, env = "SLACK_HOOK", hide_env_values = true, value_name = "URL",
        value_parser = SlackHookParser)]
    pub slack_hook: Option<SlackHook>,

    /// A Slack post that has not finished after this long is given up (and logged)
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub slack_timeout: DurationArg,
}

/// `ekas run`: the options of a pass, and of the loop around it.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub act: ActArgs,

    #[command(flatten)]
    pub timing: PassTimingArgs,

    /// Never scale up: only maintain existing nodes
    #[arg(long, help_heading = "Loop")]
    pub no_scale: bool,

    /// Never scale in or touch existing nodes: only scale up
    #[arg(long, help_heading = "Loop")]
    pub no_maintenance: bool,

    /// Act only while holding the Lease; --leader-elect=false for a single replica that must not
    /// wait for one
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true,
        default_missing_value = "true", action = ArgAction::Set, help_heading = "Loop")]
    pub leader_elect: bool,

    /// SQS queue of EventBridge interruption events (Spot warnings, rebalance, state changes,
    /// Health scheduled changes, lifecycle hooks): [REGION=]NAME_OR_URL, repeatable; a name is
    /// looked up in REGION, else the URL's region, else the first of --regions
    #[arg(
        long,
        value_name = "[REGION=]QUEUE",
        value_delimiter = ',',
        help_heading = "Interruptions"
    )]
    pub interruption_queue: Vec<String>,

    /// Accept interruption messages only from these AWS accounts (comma-separated); by
    /// default any account's, from the expected source and a region of --regions
    #[arg(
        long,
        value_name = "ACCOUNT",
        value_delimiter = ',',
        help_heading = "Interruptions"
    )]
    pub interruption_accounts: Vec<String>,

    /// How long a lifecycle hook keeps an instance for its running jobs to finish (heartbeats)
    /// before they are evicted and the group told to continue; at most the hook's own global
    /// timeout
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2h",
        help_heading = "Interruptions"
    )]
    pub lifecycle_hook_max_wait: DurationArg,

    /// A message whose handling failed is shown again after this long (five failures and it
    /// is dropped, with a Warning Event)
    #[arg(long, value_name = "DURATION", default_value = "30s", hide = true)]
    pub interruption_retry_after: DurationArg,

    /// Where to serve /metrics and /healthz
    #[arg(
        long,
        default_value = "0.0.0.0:8080",
        value_name = "ADDRESS",
        help_heading = "Loop"
    )]
    pub metrics_address: std::net::SocketAddr,

    /// /healthz fails once no pass has completed (on a standby: no leader was seen) for this
    /// long [default: 3 × --sleep, at least 2m]
    #[arg(long, value_name = "DURATION", help_heading = "Loop")]
    pub unhealthy_after: Option<DurationArg>,

    /// How often the optional APIs (PodGroups, ProvisioningRequests) are looked for again, so
    /// a CRD installed later is read without a restart
    #[arg(long, value_name = "DURATION", default_value = "3m", hide = true)]
    pub api_discovery_every: DurationArg,

    /// How long on-demand prices read from AWS are used before they are read again
    #[arg(long, value_name = "DURATION", hide = true,
        default_value_t = DurationArg::from(Refresh::default().on_demand))]
    pub on_demand_price_refresh: DurationArg,

    /// How long Spot prices read from AWS are used before they are read again
    #[arg(long, value_name = "DURATION", hide = true,
        default_value_t = DurationArg::from(Refresh::default().spot))]
    pub spot_price_refresh: DurationArg,
}

/// When passes start: `ekas run` waits this way, and `ekas simulate` replays the same waits.
#[derive(Debug, Clone, Args)]
pub struct PassTimingArgs {
    /// Longest time between passes
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60",
        help_heading = "Loop"
    )]
    pub sleep: DurationArg,

    /// A pass starts once no new pending pod has appeared for this long, so a burst is one pass
    // 1 s, Karpenter's default for its batch idle duration: a lone pod waits the window plus
    // one pass before its group grows.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1s",
        help_heading = "Loop"
    )]
    pub batch_idle: DurationArg,

    /// A burst that keeps arriving still starts its pass after this long
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        help_heading = "Loop"
    )]
    pub batch_max: DurationArg,
}

/// `ekas simulate`: a workload trace, a cluster, and the options to compare.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The workload: CSV with a header row, or JSON lines (README: Simulating a workload)
    #[arg(long, value_name = "FILE")]
    pub trace: PathBuf,

    /// The cluster: a snapshot file (as `ekas snapshot` writes), with an optional `simulation` object
    #[arg(long, value_name = "FILE")]
    pub cluster: PathBuf,

    /// Change an option for every configuration, as its flag would (`--set idle-threshold=10m`); repeatable
    #[arg(long = "set", value_name = "FLAG=VALUE")]
    pub sets: Vec<String>,

    /// Simulate once per value, side by side (`--compare idle-threshold=10m,55m`; `policy=ekas,original`; `+` joins a list: `regions=us-west-2,us-west-2+us-east-1`); repeated, every combination
    #[arg(long, value_name = "FLAG=V1,V2,...")]
    pub compare: Vec<String>,

    /// Whose decisions: ekas's engine, or the original tool's (first fit by nodeSelector, over-provision 5, 5 spares per group, idle by node age)
    #[arg(long, value_enum, default_value_t = Policy::Ekas)]
    pub policy: Policy,

    /// Write an SVG chart of pending pods and nodes per group over time
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,

    /// Seed of the launch and join delays (default: the cluster file's simulation.seed, else one derived from the inputs)
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    #[command(flatten)]
    pub planning: PlanningArgs,

    #[command(flatten)]
    pub timing: PassTimingArgs,

    #[command(flatten)]
    pub cluster_model: SimulatedClusterArgs,
}

/// How the simulated cluster behaves where real clusters differ (`ekas simulate` only).
#[derive(Debug, Clone, Args)]
pub struct SimulatedClusterArgs {
    /// How the simulated kube-scheduler ranks the nodes a pod fits: least-allocated (its default profile, spreads pods) or most-allocated (configured to pack)
    #[arg(
        long,
        value_enum,
        default_value_t = Scoring::LeastAllocated,
        help_heading = "Simulation"
    )]
    pub scheduler_scoring: Scoring,
}

/// `ekas drain`, with kubectl drain's flags in kubectl's meaning.
#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Nodes to drain, all at once
    #[arg(required = true, value_name = "NODE")]
    pub nodes: Vec<String>,

    /// Give up when pods remain after this long; the node stays cordoned [seconds or 15m]
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(DrainOptions::default().timeout))]
    pub timeout: DurationArg,

    /// Seconds each evicted pod gets to stop; negative: the pod's own terminationGracePeriodSeconds
    /// (as kubectl drain)
    #[arg(long, alias = "termination-grace-period", value_name = "SECONDS",
        default_value_t = -1, allow_negative_numbers = true, value_parser = parse_grace_period)]
    pub grace_period: i64,

    /// Pods that started less than this ago are not evicted yet: the drain waits for them
    #[arg(long, value_name = "DURATION",
        default_value_t = DurationArg::from(DrainPolicy::default().min_pod_age))]
    pub min_pod_age: DurationArg,

    /// Evict only the pods that match this label selector (as kubectl drain); the others are
    /// neither evicted nor waited for
    #[arg(long, value_name = "SELECTOR")]
    pub pod_selector: Option<String>,

    /// Also evict pods that no controller owns; they will not be recreated
    #[arg(long)]
    pub force: bool,

    /// Also evict pods with emptyDir volumes, whose data is lost
    #[arg(long)]
    pub delete_emptydir_data: bool,

    /// Accepted for kubectl compatibility: DaemonSet pods are always left in place
    #[arg(long)]
    pub ignore_daemonsets: bool,

    /// Refused: ekas evicts only through the Eviction API, so PodDisruptionBudgets hold
    #[arg(long)]
    pub disable_eviction: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Where to write the snapshot, readable by its owner only (standard output when absent)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Pods for the Kubernetes half: `kubectl get pods -A -o json` output
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    /// Nodes for the Kubernetes half: `kubectl get nodes -o json` output
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// DaemonSets: `kubectl get ds -A -o json` output
    #[arg(long, value_name = "FILE")]
    pub daemonsets: Option<PathBuf>,
    /// PodDisruptionBudgets: `kubectl get pdb -A -o json` output
    #[arg(long, value_name = "FILE")]
    pub pdbs: Option<PathBuf>,
    /// Namespaces, for namespace selectors: `kubectl get ns -o json` output
    #[arg(long, value_name = "FILE")]
    pub namespaces: Option<PathBuf>,
    /// PersistentVolumeClaims: `kubectl get pvc -A -o json` output (with --pvs and --storage-classes)
    #[arg(long, value_name = "FILE", requires_all = ["pvs", "storage_classes"])]
    pub pvcs: Option<PathBuf>,
    /// PersistentVolumes: `kubectl get pv -o json` output
    #[arg(long, value_name = "FILE", requires_all = ["pvcs", "storage_classes"])]
    pub pvs: Option<PathBuf>,
    /// StorageClasses: `kubectl get storageclass -o json` output
    #[arg(long, value_name = "FILE", requires_all = ["pvcs", "pvs"])]
    pub storage_classes: Option<PathBuf>,
    /// PodGroups, for gangs' minMember: `kubectl get
    /// podgroups.scheduling.x-k8s.io,podgroups.scheduling.volcano.sh,podgroups.scheduling.k8s.io
    /// -A -o json` output
    #[arg(long, value_name = "FILE")]
    pub pod_groups: Option<PathBuf>,
    /// ProvisioningRequests: `kubectl get provisioningrequests.autoscaling.x-k8s.io -A -o
    /// json` output (with --pod-templates)
    #[arg(long, value_name = "FILE", requires = "pod_templates")]
    pub provisioning_requests: Option<PathBuf>,
    /// PodTemplates the ProvisioningRequests name: `kubectl get podtemplates -A -o json` output
    #[arg(long, value_name = "FILE", requires = "provisioning_requests")]
    pub pod_templates: Option<PathBuf>,
    /// Hourly prices to record in the snapshot instead of the bundled on-demand ones (JSON:
    /// instance type → region → dollars per hour)
    #[arg(long, value_name = "PATH", value_parser = parse_price_file)]
    pub price_file: Option<PriceFile>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Parses the command line; on a usage error prints it (with a hint when an option was put
/// before the subcommand that takes it) and exits with status 2.
pub fn parse() -> Cli {
    let error = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(error) => error,
    };
    match misplaced_option_hint(&error) {
        Some(hint) => {
            let _ = error.print();
            eprintln!("{hint}");
            std::process::exit(2);
        }
        // Help and version "errors" go to stdout with status 0; clap knows which.
        None => error.exit(),
    }
}

/// For an unknown option that some subcommand takes: which ones, and where it goes.
fn misplaced_option_hint(error: &clap::Error) -> Option<String> {
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split('=').next()?.strip_prefix("--")?;
    let takers: Vec<String> = Cli::command()
        .get_subcommands()
        .filter(|sub| {
            sub.get_arguments().any(|a| {
                a.get_long() == Some(long)
                    || a.get_all_aliases()
                        .is_some_and(|aliases| aliases.contains(&long))
            })
        })
        .map(|sub| format!("`ekas {}`", sub.get_name()))
        .collect();
    (!takers.is_empty()).then(|| {
        format!(
            "note: --{long} is an option of {}: write it after the subcommand's name",
            takers.join(", ")
        )
    })
}

/// A duration option: whole seconds (`3300`, as the original tool took them) or a duration
/// (`55m`, `1h 30m`, `PT1H`, `1500ms`); never negative. Help shows it in units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationArg(SignedDuration);

impl DurationArg {
    pub fn signed(self) -> SignedDuration {
        self.0
    }

    /// As a `std` duration for timers, at most a century: long enough to mean "never", short
    /// enough that adding it to the clock (`Instant::now() + sleep`) cannot overflow.
    pub fn std(self) -> std::time::Duration {
        const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
        self.0.unsigned_abs().min(CENTURY)
    }
}

impl From<SignedDuration> for DurationArg {
    fn from(d: SignedDuration) -> Self {
        DurationArg(d.abs())
    }
}

impl From<std::time::Duration> for DurationArg {
    fn from(d: std::time::Duration) -> Self {
        DurationArg(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff's friendly form (`55m`, `1h 30m`, `1s 500ms`), which parse_duration reads back.
        write!(f, "{:#}", self.0)
    }
}

/// `--idle-threshold`: `auto`, or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleThresholdArg(pub IdleThreshold);

impl fmt::Display for IdleThresholdArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IdleThreshold::Auto => f.write_str("auto"),
            IdleThreshold::Fixed(d) => write!(f, "{}", DurationArg::from(d)),
        }
    }
}

impl std::str::FromStr for IdleThresholdArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(IdleThresholdArg(IdleThreshold::Auto));
        }
        parse_duration(s)
            .map(|d| IdleThresholdArg(IdleThreshold::Fixed(d.abs())))
            .map_err(|e| format!("{e}; or auto"))
    }
}

impl std::str::FromStr for DurationArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(DurationArg)
    }
}

/// A duration flag's value: see [`ekas_core::duration::parse`].
pub use ekas_core::duration::parse as parse_duration;

fn parse_fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number between 0 and 1"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{text:?} is not between 0 and 1"));
    }
    Ok(value)
}

fn parse_percentage(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number between 0 and 100"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("{text:?} is not between 0 and 100"));
    }
    Ok(value)
}

/// kubectl's `--grace-period`: whole seconds; any negative value means "the pod's own".
fn parse_grace_period(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| {
        format!(
            "{text:?} is not a number of seconds: --grace-period is each pod's termination grace \
             (kubectl's meaning); the wait for young pods is --min-pod-age"
        )
    })
}

/// A reservation: `auto`, or a fixed amount in the resource's unit (millicores for CPU,
/// bytes for memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Auto,
    Fixed { amount: i64, milli: bool },
}

impl Reserved {
    fn cpu(millis: Option<i64>) -> Reserved {
        millis.map_or(Reserved::Auto, |amount| Reserved::Fixed {
            amount,
            milli: true,
        })
    }

    fn memory(bytes: Option<i64>) -> Reserved {
        bytes.map_or(Reserved::Auto, |amount| Reserved::Fixed {
            amount,
            milli: false,
        })
    }

    pub fn fixed(self) -> Option<i64> {
        match self {
            Reserved::Auto => None,
            Reserved::Fixed { amount, .. } => Some(amount),
        }
    }
}

impl fmt::Display for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reserved::Auto => f.write_str("auto"),
            Reserved::Fixed {
                amount,
                milli: true,
            } => write!(f, "{amount}m"),
            Reserved::Fixed { amount, .. } => write!(f, "{amount}"),
        }
    }
}

fn parse_reserved(text: &str, milli: bool) -> Result<Reserved, String> {
    if text.trim() == "auto" {
        return Ok(Reserved::Auto);
    }
    let q = Quantity::parse(text).map_err(|e| format!("{e}, or auto"))?;
    let value = if milli { q.milli_value() } else { q.value() };
    value
        .map(|amount| Reserved::Fixed { amount, milli })
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Reads `--price-file` while parsing, so a missing or malformed file stops every subcommand
/// before it reads the cluster.
fn parse_price_file(text: &str) -> Result<PriceFile, String> {
    PriceFile::read(Path::new(text)).map_err(|e| format!("{e:#}"))
}

fn parse_reserved_cpu(text: &str) -> Result<Reserved, String> {
    parse_reserved(text, true)
}

fn parse_reserved_memory(text: &str) -> Result<Reserved, String> {
    parse_reserved(text, false)
}

/// Parses `--slack-hook` / `SLACK_HOOK` without ever repeating the value: clap's own message
/// for a bad value quotes it, and a webhook URL is a secret.
#[derive(Debug, Clone, Copy)]
pub struct SlackHookParser;

impl clap::builder::TypedValueParser for SlackHookParser {
    type Value = SlackHook;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<SlackHook, clap::Error> {
        let invalid = |why: &str| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value for --slack-hook (SLACK_HOOK): {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid("not UTF-8 (value not shown: it is a secret)"))?;
        text.parse().map_err(|why: String| invalid(&why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    // Global options work before and after the subcommand.
    cases! { takes_global_options;
        global_options_after_the_subcommand: &[
            "ekas",
            "plan",
            "--cluster-name",
            "prod",
            "--kube-timeout",
            "20s",
            "--dry-run",
        ],
        global_options_before_the_subcommand: &[
            "ekas",
            "--cluster-name",
            "prod",
            "--kube-timeout",
            "20s",
            "--dry-run",
            "plan",
        ],
    }

    fn takes_global_options(args: &[&str]) {
        let cli = Cli::try_parse_from(args).unwrap();
        assert_eq!(cli.global.cluster_name.as_deref(), Some("prod"), "{args:?}");
        assert_eq!(cli.global.kube_timeout.std().as_secs(), 20, "{args:?}");
        assert!(cli.global.dry_run, "{args:?}");
    }

    // Planning options belong to the subcommands that plan.
    cases! { takes_planning_options;
        plan_takes_planning_options: "plan",
        scale_up_takes_planning_options: "scale-up",
        reap_takes_planning_options: "reap",
        run_takes_planning_options: "run",
    }

    fn takes_planning_options(sub: &str) {
        let cli = Cli::try_parse_from(["ekas", sub, "--idle-threshold", "600"])
            .unwrap_or_else(|e| panic!("{sub}: {e}"));
        let planning = match &cli.command {
            Command::Plan(a) => &a.planning,
            Command::ScaleUp(a) | Command::Reap(a) => &a.planning,
            Command::Run(a) => &a.act.planning,
            _ => unreachable!(),
        };
        assert_eq!(
            planning.scale_in.idle_threshold.0,
            IdleThreshold::Fixed(SignedDuration::from_secs(600)),
            "{sub}"
        );
    }

    #[test]
    fn planning_options_are_refused_elsewhere_with_a_hint() {
        // Drain takes none of them, so its help lists only what it uses.
        let err =
            Cli::try_parse_from(["ekas", "drain", "n1", "--idle-threshold", "600"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownArgument);
        let hint = misplaced_option_hint(&err).unwrap();
        assert!(
            hint.contains("`ekas plan`") && hint.contains("`ekas reap`"),
            "{hint}"
        );
        // Before the subcommand, the hint says where the option goes.
        let err = Cli::try_parse_from(["ekas", "--idle-threshold", "600", "plan"]).unwrap_err();
        let hint = misplaced_option_hint(&err).unwrap();
        assert!(hint.contains("after the subcommand"), "{hint}");
    }

    #[test]
    fn drain_grace_period_is_an_alias_of_min_pod_age() {
        let cli = Cli::try_parse_from(["ekas", "reap", "--drain-grace-period", "5m"]).unwrap();
        let Command::Reap(args) = cli.command else {
            unreachable!()
        };
        assert_eq!(
            args.planning.scale_in.min_pod_age.signed(),
            SignedDuration::from_mins(5)
        );
    }

    #[test]
    fn drain_takes_kubectl_flags_in_kubectls_meaning() {
        let cli = Cli::try_parse_from([
            "ekas",
            "drain",
            "n1",
            "--grace-period",
            "30",
            "--min-pod-age",
            "5m",
            "--ignore-daemonsets",
            "--pod-selector",
            "app=etl",
        ])
        .unwrap();
        let Command::Drain(args) = cli.command else {
            unreachable!()
        };
        assert_eq!(args.grace_period, 30);
        assert_eq!(args.min_pod_age.signed(), SignedDuration::from_mins(5));
        assert_eq!(args.pod_selector.as_deref(), Some("app=etl"));
        let cli = Cli::try_parse_from(["ekas", "drain", "n1", "--grace-period", "-1"]).unwrap();
        let Command::Drain(args) = cli.command else {
            unreachable!()
        };
        assert_eq!(args.grace_period, -1);
        // The old meaning (a duration) is refused with the new name in the message.
        let err = Cli::try_parse_from(["ekas", "drain", "n1", "--grace-period", "2m"]).unwrap_err();
        assert!(err.to_string().contains("--min-pod-age"), "{err}");
    }

    #[test]
    fn leader_election_is_on_unless_turned_off() {
        let elects = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["ekas", "run"], args].concat()).unwrap();
            let Command::Run(run) = cli.command else {
                unreachable!()
            };
            run.leader_elect
        };
        assert!(elects(&[]));
        assert!(elects(&["--leader-elect"]));
        assert!(elects(&["--leader-elect=true"]));
        assert!(!elects(&["--leader-elect=false"]));
    }

    #[test]
    fn regions_are_comma_separated_and_keep_their_order() {
        let cli =
            Cli::try_parse_from(["ekas", "plan", "--regions", "us-west-2,us-east-1"]).unwrap();
        assert_eq!(cli.global.regions.unwrap(), ["us-west-2", "us-east-1"]);
        let cli = Cli::try_parse_from(["ekas", "plan", "--aws-regions", "eu-west-1"]).unwrap();
        assert_eq!(cli.global.regions.unwrap(), ["eu-west-1"]);
    }

    // Help shows defaults in units, and they read back as the same duration.
    cases! { reads_back_as_shown;
        no_time_reads_back: SignedDuration::from_secs(0),
        a_second_reads_back: SignedDuration::from_secs(1),
        a_minute_reads_back: SignedDuration::from_secs(60),
        a_minute_and_a_half_reads_back: SignedDuration::from_secs(90),
        fifty_five_minutes_read_back: SignedDuration::from_secs(3300),
        a_week_reads_back: SignedDuration::from_secs(604_800),
        a_billion_seconds_and_some_read_back: SignedDuration::from_secs(1_000_000_007),
        a_second_and_a_half_reads_back: SignedDuration::from_millis(1500),
    }

    fn reads_back_as_shown(duration: SignedDuration) {
        let d = DurationArg(duration);
        assert_eq!(d.to_string().parse::<DurationArg>(), Ok(d), "{d}");
    }

    #[test]
    fn durations_take_seconds_or_units_and_show_in_units() {
        assert_eq!(parse_duration("3300"), Ok(SignedDuration::from_secs(3300)));
        assert_eq!(parse_duration("55m"), Ok(SignedDuration::from_mins(55)));
        assert_eq!(parse_duration("1h 30m"), Ok(SignedDuration::from_mins(90)));
        assert!(parse_duration("soon").unwrap_err().contains("\"soon\""));
        assert!(parse_duration("-5").is_err());
        assert_eq!(
            DurationArg(SignedDuration::from_secs(3300)).to_string(),
            "55m"
        );
    }

    #[test]
    fn bad_values_are_rejected_with_the_value_named() {
        let err =
            Cli::try_parse_from(["ekas", "plan", "--max-scale-in-fraction", "1.5"]).unwrap_err();
        assert!(err.to_string().contains("1.5"), "{err}");
        let err = Cli::try_parse_from(["ekas", "plan", "--kube-reserved-cpu", "lots"]).unwrap_err();
        assert!(err.to_string().contains("lots"), "{err}");
        let cli = Cli::try_parse_from(["ekas", "plan", "--kube-reserved-memory", "1Gi"]).unwrap();
        let Command::Plan(args) = cli.command else {
            unreachable!()
        };
        assert_eq!(
            args.planning.scaling.kube_reserved_memory.fixed(),
            Some(1 << 30)
        );
    }

    #[test]
    fn the_original_tools_spellings_are_accepted() {
        let cli = Cli::try_parse_from([
            "ekas",
            "run",
            "--pod-namespace",
            "batch",
            "--drain-utilization",
            "0.3",
            "--use-aws-iam-role",
        ])
        .unwrap();
        assert!(cli.global.use_aws_iam_role);
        let Command::Run(args) = cli.command else {
            unreachable!()
        };
        let planning = &args.act.planning;
        assert_eq!(planning.read.namespace.as_deref(), Some("batch"));
        assert_eq!(planning.scale_in.drain_utilization_below, 0.3);
    }

    #[test]
    fn startup_taints_and_the_unready_brake_default_and_repeat() {
        let planning = |args: &[&str]| {
            let mut argv = vec!["ekas", "plan"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).map(|cli| cli.command) {
                Ok(Command::Plan(a)) => a.planning,
                Ok(_) => unreachable!(),
                Err(e) => panic!("{e}"),
            }
        };
        let defaults = planning(&[]);
        assert_eq!(
            defaults.scaling.startup_taints,
            StartupTaints::default_keys()
        );
        assert_eq!(defaults.scale_in.max_total_unready_percentage, 45.0);
        assert_eq!(defaults.scale_in.ok_total_unready_count, 3);
        let given = planning(&["--startup-taint", "a/b", "--startup-taint", "c/d"]);
        assert_eq!(given.scaling.startup_taints, ["a/b", "c/d"]);
        let err = Cli::try_parse_from(["ekas", "plan", "--max-total-unready-percentage", "145"])
            .unwrap_err();
        assert!(err.to_string().contains("145"), "{err}");
    }

    #[test]
    fn scale_up_options_default_to_the_engines_policy() {
        let scaling = |args: &[&str]| {
            let mut argv = vec!["ekas", "plan"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).map(|cli| cli.command) {
                Ok(Command::Plan(a)) => a.planning.scaling,
                Ok(_) => unreachable!(),
                Err(e) => panic!("{e}"),
            }
        };
        let s = scaling(&[]);
        let policy = ScaleUpPolicy::default();
        assert_eq!(s.expendable_pods_priority_cutoff, policy.expendable_cutoff);
        assert_eq!(s.new_pod_scale_up_delay.signed(), policy.new_pod_delay);
        assert_eq!(!s.no_balance, policy.balance);
        assert_eq!(!s.no_gangs, policy.gangs);
        assert_eq!(s.scale_up_only_unschedulable, policy.only_unschedulable);
        let s = scaling(&[
            "--expendable-pods-priority-cutoff",
            "-100",
            "--new-pod-scale-up-delay",
            "30s",
            "--no-balance",
            "--scale-up-only-unschedulable",
        ]);
        assert_eq!(s.expendable_pods_priority_cutoff, -100);
        assert_eq!(
            s.new_pod_scale_up_delay.signed(),
            SignedDuration::from_secs(30)
        );
        assert!(s.no_balance && s.scale_up_only_unschedulable);
    }

    // A bad Slack hook is refused without repeating it.
    cases! { refuses_the_slack_hook;
        a_hook_without_a_scheme: "hooks.slack.com/services/T0/B0/tok3n",
        a_hook_not_over_https: "ftp://x/tok3n",
        a_hook_with_a_space: "https:// tok3n",
    }

    fn refuses_the_slack_hook(bad: &str) {
        let err = Cli::try_parse_from(["ekas", "reap", "--slack-hook", bad]).unwrap_err();
        let text = err.to_string();
        // The message names the flag, and `bad` (a secret) only by this test's name.
        assert!(!text.contains("tok3n"), "{text}");
        assert!(text.contains("--slack-hook"), "{text}");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let cli = Cli::try_parse_from([
            "ekas",
            "reap",
            "--aws-access-key",
            "AKIAEXAMPLE",
            "--aws-secret-key",
            "s3cr3tKey",
            "--slack-hook",
            "https://hooks.slack.com/services/T0/B0/t0k3n",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        assert!(
            !debug.contains("s3cr3tKey") && !debug.contains("t0k3n"),
            "{debug}"
        );
    }
}

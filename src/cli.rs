//! Command-line interface. These definitions also generate completions/ and man/.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use jiff::SignedDuration;

use crate::model::quantity::Quantity;

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
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preview the pending-pod deficit and every planned action, changing nothing
    Plan,
    /// Apply one scale-up step: raise desired capacities for the pending pods
    ScaleUp,
    /// Cordon nodes and evict their pods safely
    Drain(DrainArgs),
    /// One-shot cleanup for cron: idle nodes, dead nodes, instances that never joined
    Reap,
    /// Run the autoscaler continuously
    Run(RunArgs),
    /// Write a snapshot of the cluster and its node groups to a file
    Snapshot(SnapshotArgs),
    /// Replay a workload trace through the planning engine on a simulated cluster
    Simulate(crate::commands::simulate::SimulateArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Nodes to drain, all at once
    #[arg(required = true, value_name = "NODE")]
    pub nodes: Vec<String>,

    /// Give up when pods remain after this long; the node stays cordoned [seconds or 15m]
    #[arg(long, default_value = "15m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: SignedDuration,

    /// Pods that started less than this ago are not evicted yet: the drain waits for them
    #[arg(long, default_value = "2m", value_parser = parse_duration, value_name = "DURATION")]
    pub grace_period: SignedDuration,

    /// Also evict pods that no controller owns; they will not be recreated
    #[arg(long)]
    pub force: bool,

    /// Also evict pods with emptyDir volumes, whose data is lost
    #[arg(long)]
    pub delete_emptydir_data: bool,

    /// Seconds each evicted pod gets to stop (default: the pod's own terminationGracePeriodSeconds)
    #[arg(long, value_name = "SECONDS")]
    pub termination_grace_period: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Never scale up: only maintain existing nodes
    #[arg(long)]
    pub no_scale: bool,

    /// Never scale in or touch existing nodes: only scale up
    #[arg(long)]
    pub no_maintenance: bool,

    /// Act only while holding the Lease (default: true inside a cluster, false outside)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: Option<bool>,

    /// Where to serve /metrics and /healthz
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDRESS")]
    pub metrics_address: std::net::SocketAddr,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Where to write the snapshot (standard output when absent)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Options every subcommand accepts, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
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

    /// Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Cluster")]
    pub namespace: Option<String>,

    /// Read the cluster from a snapshot file instead of the live APIs
    #[arg(long, global = true, value_name = "FILE", help_heading = "Cluster")]
    pub snapshot: Option<PathBuf>,

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
    pub aws_secret_key: Option<String>,

    /// AWS profile from the shared config files
    #[arg(long, global = true, value_name = "NAME", help_heading = "AWS")]
    pub aws_profile: Option<String>,

    /// Spare nodes to add to every group that scales up
    #[arg(
        long,
        global = true,
        default_value_t = 0,
        value_name = "N",
        help_heading = "Scaling"
    )]
    pub over_provision: u32,

    /// First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]
    #[arg(long, global = true, default_value = "5m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling")]
    pub scale_up_backoff: SignedDuration,

    /// Longest wait after launch failures, and how far back failures count
    #[arg(long, global = true, default_value = "1h", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling")]
    pub scale_up_backoff_max: SignedDuration,

    /// A launch still in progress after this long counts as failed, putting its group in backoff
    #[arg(long, global = true, default_value = "15m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling")]
    pub max_node_provision_time: SignedDuration,

    /// CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI's sliding scale
    #[arg(long, global = true, default_value = "auto", value_parser = parse_reserved_cpu, value_name = "CPU", help_heading = "Scaling")]
    pub kube_reserved_cpu: Reserved,

    /// Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel
    #[arg(long, global = true, default_value = "auto", value_parser = parse_reserved_memory, value_name = "MEMORY", help_heading = "Scaling")]
    pub kube_reserved_memory: Reserved,

    /// Pods a new node accepts (the kubelet's --max-pods)
    #[arg(
        long,
        global = true,
        default_value_t = 110,
        value_name = "N",
        help_heading = "Scaling"
    )]
    pub max_pods: u32,

    /// How long a node must be idle before ekas cordons and then removes it [seconds or 55m]
    #[arg(long, global = true, default_value = "3300", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub idle_threshold: SignedDuration,

    /// How long a few idle nodes of each instance type are kept as spares
    #[arg(long, global = true, default_value = "604800", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub type_idle_threshold: SignedDuration,

    /// How long an instance may take to join the cluster before it is replaced
    #[arg(long, global = true, default_value = "1500", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub instance_init_time: SignedDuration,

    /// Idle spares kept per group for --type-idle-threshold
    #[arg(
        long,
        global = true,
        default_value_t = 1,
        value_name = "N",
        help_heading = "Scaling in"
    )]
    pub type_idle_count: usize,

    /// A node NotReady this long is dead: its Node is deleted and its instance terminated
    #[arg(long, global = true, default_value = "30m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub dead_threshold: SignedDuration,

    /// Nodes younger than this are left alone to receive their first pods
    #[arg(long, global = true, default_value = "10m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub launch_grace: SignedDuration,

    /// Drains under way at once, across the cluster
    #[arg(
        long,
        global = true,
        default_value_t = 5,
        value_name = "N",
        help_heading = "Scaling in"
    )]
    pub max_concurrent_drains: usize,

    /// Pods that started less than this ago are not evicted by scale-in drains
    #[arg(long, global = true, default_value = "2m", value_parser = parse_duration, value_name = "DURATION", help_heading = "Scaling in")]
    pub drain_grace_period: SignedDuration,

    /// Largest fraction of the cluster's instances removed in one pass
    #[arg(long, global = true, default_value_t = 0.1, value_parser = parse_fraction, value_name = "FRACTION", help_heading = "Scaling in")]
    pub max_scale_in_fraction: f64,

    /// Drain nodes whose utilisation is below this fraction (0 disables)
    #[arg(long, global = true, default_value_t = 0.0, value_parser = parse_fraction, value_name = "FRACTION", help_heading = "Scaling in")]
    pub drain_utilization_below: f64,

    /// Namespace of the Lease that keeps two ekas processes from acting at once
    #[arg(
        long,
        global = true,
        default_value = "kube-system",
        value_name = "NAME",
        help_heading = "Loop"
    )]
    pub lease_namespace: String,

    /// Name of that Lease
    #[arg(
        long,
        global = true,
        default_value = "ekas",
        value_name = "NAME",
        help_heading = "Loop"
    )]
    pub lease_name: String,

    /// Seconds a holder keeps the Lease without renewing it
    #[arg(
        long,
        global = true,
        default_value_t = 60,
        value_name = "SECONDS",
        help_heading = "Loop"
    )]
    pub lease_duration: i32,

    /// Seconds between passes of `ekas run`
    #[arg(long, global = true, default_value = "60", value_parser = parse_duration, value_name = "DURATION", help_heading = "Loop")]
    pub sleep: SignedDuration,

    /// Slack incoming-webhook URL for notifications
    #[arg(
        long,
        global = true,
        env = "SLACK_HOOK",
        hide_env_values = true,
        value_name = "URL",
        help_heading = "Loop"
    )]
    pub slack_hook: Option<crate::notify::SlackHook>,

    /// Log what would be changed, and change nothing
    #[arg(long, global = true, help_heading = "Output")]
    pub dry_run: bool,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = "Output")]
    pub output: OutputFormat,

    /// Log lines as text or as JSON objects
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, help_heading = "Output")]
    pub log_format: LogFormat,

    /// More log detail on standard error (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
}

/// A reservation: `auto`, or a fixed amount in the resource's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Auto,
    Fixed(i64),
}

impl Reserved {
    pub fn fixed(self) -> Option<i64> {
        match self {
            Reserved::Auto => None,
            Reserved::Fixed(v) => Some(v),
        }
    }
}

/// Whole seconds (`3300`, as the original tool took them) or a duration (`55m`, `1h 30m`, `PT1H`).
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let t = text.trim();
    let duration = match t.parse::<i64>() {
        Ok(secs) => SignedDuration::from_secs(secs),
        Err(_) => t.parse::<SignedDuration>().map_err(|_| {
            format!(
                "{text:?} is not a duration: give seconds (3300) or a duration such as 55m or 1h30m"
            )
        })?,
    };
    if duration.is_negative() {
        return Err(format!("{text:?} is negative"));
    }
    Ok(duration)
}

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

fn parse_reserved(text: &str, milli: bool) -> Result<Reserved, String> {
    if text.trim() == "auto" {
        return Ok(Reserved::Auto);
    }
    let q = Quantity::parse(text).map_err(|e| format!("{e}, or auto"))?;
    let value = if milli { q.milli_value() } else { q.value() };
    value
        .map(Reserved::Fixed)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn parse_reserved_cpu(text: &str) -> Result<Reserved, String> {
    parse_reserved(text, true)
}

fn parse_reserved_memory(text: &str) -> Result<Reserved, String> {
    parse_reserved(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_before_and_after_the_subcommand() {
        let after = Cli::try_parse_from([
            "ekas",
            "plan",
            "--snapshot",
            "f.json",
            "--idle-threshold",
            "600",
        ])
        .unwrap();
        let before = Cli::try_parse_from([
            "ekas",
            "--snapshot",
            "f.json",
            "--idle-threshold",
            "600",
            "plan",
        ])
        .unwrap();
        for cli in [after, before] {
            assert_eq!(
                cli.global.snapshot.as_deref(),
                Some(std::path::Path::new("f.json"))
            );
            assert_eq!(cli.global.idle_threshold, SignedDuration::from_secs(600));
        }
    }

    #[test]
    fn regions_are_comma_separated_and_keep_their_order() {
        let cli =
            Cli::try_parse_from(["ekas", "plan", "--regions", "us-west-2,us-east-1"]).unwrap();
        assert_eq!(cli.global.regions.unwrap(), ["us-west-2", "us-east-1"]);
        let cli = Cli::try_parse_from(["ekas", "plan", "--aws-regions", "eu-west-1"]).unwrap();
        assert_eq!(cli.global.regions.unwrap(), ["eu-west-1"]);
    }

    #[test]
    fn durations_take_seconds_or_units() {
        assert_eq!(parse_duration("3300"), Ok(SignedDuration::from_secs(3300)));
        assert_eq!(parse_duration("55m"), Ok(SignedDuration::from_mins(55)));
        assert_eq!(parse_duration("1h 30m"), Ok(SignedDuration::from_mins(90)));
        assert!(parse_duration("soon").unwrap_err().contains("\"soon\""));
        assert!(parse_duration("-5").is_err());
    }

    #[test]
    fn bad_values_are_rejected_with_the_value_named() {
        let err =
            Cli::try_parse_from(["ekas", "plan", "--max-scale-in-fraction", "1.5"]).unwrap_err();
        assert!(err.to_string().contains("1.5"), "{err}");
        let err = Cli::try_parse_from(["ekas", "plan", "--kube-reserved-cpu", "lots"]).unwrap_err();
        assert!(err.to_string().contains("lots"), "{err}");
        let cli = Cli::try_parse_from(["ekas", "plan", "--kube-reserved-memory", "1Gi"]).unwrap();
        assert_eq!(cli.global.kube_reserved_memory, Reserved::Fixed(1 << 30));
    }
}

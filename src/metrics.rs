//! Process-wide Prometheus metrics, served by `ekas run` on `/metrics`. The adapters count
//! their API calls here; the loop records what each pass saw and did.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    /// Every series name a scrape may hold (counters with `_total`, histograms with
    /// `_bucket`, `_sum`, `_count`): what dashboards and alerts may ask for.
    series: Vec<String>,
    pub pending_pods: Gauge,
    pub unschedulable_pods: Gauge,
    pub nodes: Family<Labels, Gauge>,
    pub provisioning_requests: Family<Labels, Gauge>,
    pub groups_in_backoff: Gauge,
    pub unready_nodes: Gauge,
    pub cluster_unhealthy: Gauge,
    pub scale_ups: Family<Labels, Counter>,
    pub scale_up_failures: Family<Labels, Counter>,
    pub actions: Family<Labels, Counter>,
    pub passes: Family<Labels, Counter>,
    pub pass_duration: Histogram,
    pub last_pass_completed: Gauge<f64, AtomicU64>,
    pub leader: Gauge,
    pub cannot_act: Family<Labels, Gauge>,
    pub aws_calls: Family<Labels, Counter>,
    pub aws_errors: Family<Labels, Counter>,
    pub kube_calls: Family<Labels, Counter>,
    pub kube_errors: Family<Labels, Counter>,
    pub skipped_objects: Family<Labels, Counter>,
    pub interruptions: Family<Labels, Counter>,
    pub interruption_drain: Histogram,
    pub interruption_messages: Family<Labels, Counter>,
    pub changes: Family<Labels, Counter>,
    pub price_fetch_failures: Family<Labels, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ekas");
        let mut series = Vec::new();
        let m = Metrics {
            series: Vec::new(),
            pending_pods: Gauge::default(),
            unschedulable_pods: Gauge::default(),
            nodes: Family::default(),
            provisioning_requests: Family::default(),
            groups_in_backoff: Gauge::default(),
            unready_nodes: Gauge::default(),
            cluster_unhealthy: Gauge::default(),
            scale_ups: Family::default(),
            scale_up_failures: Family::default(),
            actions: Family::default(),
            passes: Family::default(),
            pass_duration: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            last_pass_completed: Gauge::default(),
            leader: Gauge::default(),
            cannot_act: Family::default(),
            aws_calls: Family::default(),
            aws_errors: Family::default(),
            kube_calls: Family::default(),
            kube_errors: Family::default(),
            skipped_objects: Family::default(),
            interruptions: Family::default(),
            interruption_drain: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            interruption_messages: Family::default(),
            changes: Family::default(),
            price_fetch_failures: Family::default(),
            registry: Registry::default(),
        };
        register(
            &mut registry,
            &mut series,
            "pending_pods",
            "Pods waiting for a node",
            m.pending_pods.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "unschedulable_pods",
            "Pending pods no node group can take",
            m.unschedulable_pods.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "nodes",
            "Nodes by state",
            m.nodes.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "provisioning_requests",
            "ProvisioningRequests by class and ekas's verdict this pass",
            m.provisioning_requests.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "groups_in_backoff",
            "Node groups in launch-failure backoff",
            m.groups_in_backoff.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "unready_nodes",
            "Nodes NotReady after having started (the unready brake counts these)",
            m.unready_nodes.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "cluster_unhealthy",
            "1 while too many nodes are NotReady for ekas to remove any",
            m.cluster_unhealthy.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "scale_ups",
            "Scale-ups applied, by group",
            m.scale_ups.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "scale_up_failures",
            "Scale-ups that failed, by group",
            m.scale_up_failures.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "actions",
            "Node and instance actions, by action and result",
            m.actions.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "passes",
            "Passes of the loop, by result",
            m.passes.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "pass_duration_seconds",
            "Time a pass takes",
            m.pass_duration.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "last_pass_completed_timestamp_seconds",
            "Unix time the last pass completed",
            m.last_pass_completed.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "leader",
            "1 while this process holds the lease",
            m.leader.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "cannot_act",
            "1 while the loop cannot act for this reason (lease-namespace-missing, lease-failing, \
             forbidden, api-unreachable, watch-failing, no-region-readable, pass-failing)",
            m.cannot_act.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "aws_api_calls",
            "AWS API calls, by operation",
            m.aws_calls.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "aws_api_errors",
            "AWS API calls that failed, by operation",
            m.aws_errors.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "kubernetes_api_calls",
            "Kubernetes API calls, by verb and resource",
            m.kube_calls.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "kubernetes_api_errors",
            "Kubernetes API calls that failed, by verb and resource",
            m.kube_errors.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "skipped_objects",
            "Objects a pass could not read and left out, by kind (Pod, Node, DaemonSet, \
             PodDisruptionBudget, AutoScalingGroup, Region); counted once per pass",
            m.skipped_objects.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "interruptions",
            "Interruption notices for instances of managed groups, by kind and group",
            m.interruptions.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "interruption_drain_seconds",
            "Time from an interruption notice to its node drained (or the drain given up)",
            m.interruption_drain.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "interruption_messages",
            "Messages read from the interruption queues, by result: acted, recorded, cordoned, \
             duplicate, foreign, ignored, malformed, rejected (untrusted origin or a claim ekas's \
             own reads contradict), failed (left for SQS to show again), poison (deleted after \
             failing too often)",
            m.interruption_messages.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "changes",
            "Changes put to AWS or Kubernetes through the actuator, by kind and result (ok or \
             the error's class)",
            m.changes.clone(),
        );
        register(
            &mut registry,
            &mut series,
            "price_fetch_failures",
            "Failed reads of AWS's price APIs, by api (GetProducts, DescribeSpotPriceHistory) and \
             reason (denied, timeout, malformed, failed); the last good prices, or the bundled \
             on-demand table, stand in",
            m.price_fetch_failures.clone(),
        );
        Metrics {
            registry,
            series,
            ..m
        }
    }

    /// Every series name a scrape of `/metrics` may hold.
    pub fn series(&self) -> &[String] {
        &self.series
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Registers `metric` as `ekas_<name>`, and notes the series names a scrape will hold.
fn register(
    registry: &mut Registry,
    series: &mut Vec<String>,
    name: &str,
    help: &str,
    metric: impl Metric,
) {
    use prometheus_client::metrics::MetricType;
    let full = format!("ekas_{name}");
    match metric.metric_type() {
        MetricType::Counter => series.push(format!("{full}_total")),
        MetricType::Histogram => {
            series.extend(["_bucket", "_sum", "_count"].map(|s| format!("{full}{s}")))
        }
        _ => series.push(full),
    }
    registry.register(name, help, metric);
}

pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Counts one Kubernetes API call ekas made.
pub fn kube_call(verb: &'static str, resource: &str, ok: bool) {
    let labels = vec![
        ("verb", verb.to_string()),
        ("resource", resource.to_string()),
    ];
    metrics().kube_calls.get_or_create(&labels).inc();
    if !ok {
        metrics().kube_errors.get_or_create(&labels).inc();
    }
}

/// Counts one change the actuator let through or refused: `failed` holds the error's class.
pub fn change(kind: &'static str, failed: Option<crate::call::ErrorClass>) {
    let result = failed.map_or("ok", |class| class.as_str());
    let labels = vec![("change", kind.to_string()), ("result", result.to_string())];
    metrics().changes.get_or_create(&labels).inc();
}

/// Counts one failed read of a price API.
pub fn price_fetch_failure(api: &'static str, reason: &'static str) {
    let labels = vec![("api", api.to_string()), ("reason", reason.to_string())];
    metrics().price_fetch_failures.get_or_create(&labels).inc();
}

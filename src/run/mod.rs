//! `ekas run`: the continuous loop. Watch-fed caches hold the cluster, so a pass makes no
//! Kubernetes LIST call; a pass starts soon after new pending pods appear (after a short
//! batching window, `--batch-idle` / `--batch-max`) and at least every `--sleep`. Each pass:
//! snapshot (caches + AWS) → plan → apply scale-up and maintenance. A failed pass is logged and
//! retried with backoff; the process only stops on SIGTERM or SIGINT, releasing its Lease.

pub mod events;
pub mod interruptions;
pub mod server;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use jiff::Timestamp;
use tokio::time::{Instant, sleep_until};

use crate::actuate::maintenance::Maintainer;
use crate::engine;
use crate::guard::Guard;
use crate::kubernetes::lease::LeaseLock;
use crate::kubernetes::watch::Caches;
use crate::metrics::metrics;
use crate::notify::Slack;
use crate::plan::{Plan, WarningKind};
use crate::settings::RunSettings;
use crate::source::build;
use crate::source::live::Live;

/// What one pass did, for the log.
struct PassReport {
    pending: usize,
    actions: usize,
    failed: usize,
}

struct Loop<'a> {
    settings: &'a RunSettings,
    /// Open while the Lease is held with margin; the actuator asks it before every change.
    guard: Guard,
    live: Live,
    slack: Option<Slack>,
    caches: Caches,
    events: events::Events,
    health: server::Health,
    /// Unschedulable pods already announced on Slack.
    announced: HashSet<String>,
    /// Warnings already logged, so each is said once while it lasts.
    warned: HashSet<(WarningKind, String)>,
    /// Whether the last pass found the cluster unhealthy: Slack hears of each change.
    unhealthy: bool,
    /// The managed groups' instances, for the interruption handler.
    members: interruptions::Members,
}

pub async fn run(settings: &RunSettings) -> Result<()> {
    let act = &settings.act;
    let guard = act.guard();
    // Built first: a Slack client that cannot be built stops ekas before it changes anything.
    let slack = act.slack.as_ref().map(Slack::new).transpose()?;
    let slack = slack.map(|s| s.guarded(guard.clone()));
    let live = Live::connect_guarded(&act.live, guard.clone()).await?;
    // Healthy while passes complete; a few missed passes make it unhealthy.
    let health = server::Health::new(
        settings
            .every
            .saturating_mul(3)
            .max(Duration::from_secs(120)),
    );
    let address = server::serve(settings.metrics_address, health.clone()).await?;
    tracing::info!(%address, "serving /metrics and /healthz");

    // Watches are silent while nothing changes: they get a client of their own, whose read
    // timeout outlasts the server's watch timeout.
    let watches = crate::kubernetes::watch_client(&act.live.kube).await?;
    let caches = Caches::start(&watches, act.live.namespace.as_deref());
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    tokio::select! {
        ready = caches.ready() => ready.wrap_err("filling the caches")?,
        _ = &mut shutdown => return Ok(()),
    }
    tracing::info!("caches filled; starting passes");

    // Contends (and, once leader, renews) in the background, every third of the Lease, so a
    // slow pass never lets the Lease lapse; the guard says at every change whether it is held.
    let lock = act.lease.as_ref().map(|l| Arc::new(LeaseLock::new(l)));
    let elector = lock.clone().map(|lock| {
        let (client, guard) = (live.kube.clone(), guard.clone());
        tokio::spawn(async move { lock.keep_contending(&client, &guard).await })
    });
    // A pass is cut off after two renewal periods: one that long is stuck on something, and
    // the next starts afresh from the cluster.
    let pass_deadline = lock.as_ref().map(|l| l.period() * 2);
    let standby_look = lock.as_ref().map_or(Duration::ZERO, |l| l.period());
    let members = interruptions::Members::default();
    if !settings.interruption_queues.is_empty() {
        if act.dry_run {
            tracing::warn!(
                "dry run: interruption queues are not read (their messages would be consumed)"
            );
        } else {
            let handler = Arc::new(interruptions::Handler::new(
                live.kube.clone(),
                live.aws.clone(),
                members.clone(),
                guard.clone(),
                settings.interruption_drain_timeout,
            ));
            // A long poll must end within one attempt's deadline.
            let poll = act.live.aws.timeouts.attempt / 2;
            interruptions::start(handler, &settings.interruption_queues, poll).await?;
        }
    }
    let (events_namespace, events_name) = &settings.cluster_events_on;
    let events = events::Events::new(
        live.kube.clone(),
        (events_namespace, events_name),
        guard.clone(),
    );
    let pending = caches.pods_changed();
    let mut this = Loop {
        settings,
        guard: guard.clone(),
        live,
        slack,
        caches,
        events,
        health,
        announced: HashSet::new(),
        warned: HashSet::new(),
        unhealthy: false,
        members,
    };

    let mut failures: u32 = 0;
    let mut next_pass = Instant::now();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = sleep_until(next_pass) => {}
            _ = pending.notified() => {
                // New pending pods: let the burst settle, within bounds.
                let started = Instant::now();
                let mut stopping = false;
                loop {
                    tokio::select! {
                        _ = &mut shutdown => {
                            stopping = true;
                            break;
                        }
                        _ = tokio::time::sleep(settings.batch_idle) => break,
                        _ = pending.notified() => {
                            if started.elapsed() >= settings.batch_max {
                                break;
                            }
                        }
                    }
                }
                if stopping {
                    break;
                }
            }
        }
        let leader = guard.check().is_ok();
        metrics().leader.set(i64::from(leader));
        if !leader {
            // A standby is healthy while it keeps checking.
            this.health.beat();
            next_pass = Instant::now() + standby_look;
            continue;
        }
        let started = std::time::Instant::now();
        let pass = async {
            match pass_deadline {
                Some(deadline) => tokio::time::timeout(deadline, this.pass())
                    .await
                    .unwrap_or_else(|_| {
                        Err(eyre!(
                            "pass cut off after {deadline:?} (two thirds of --lease-duration)"
                        ))
                    }),
                None => this.pass().await,
            }
        };
        let result = tokio::select! {
            result = pass => result,
            refused = guard.closed() => Err(eyre!("pass stopped before its next change: {refused}")),
        };
        release_freed_memory();
        match result {
            Ok(report) => {
                failures = 0;
                this.health.beat();
                let m = metrics();
                m.passes.get_or_create(&vec![("result", "ok".into())]).inc();
                m.pass_duration.observe(started.elapsed().as_secs_f64());
                m.last_pass_completed
                    .set(Timestamp::now().as_millisecond() as f64 / 1000.0);
                tracing::info!(
                    pending = report.pending,
                    actions = report.actions,
                    failed = report.failed,
                    seconds = started.elapsed().as_secs_f64(),
                    "pass done"
                );
                next_pass = Instant::now() + settings.every;
            }
            Err(e) => {
                failures += 1;
                metrics()
                    .passes
                    .get_or_create(&vec![("result", "error".into())])
                    .inc();
                let wait = Duration::from_secs(1 << failures.min(6)).min(settings.every);
                tracing::error!(error = %format!("{e:#}"), retry_in = ?wait, "pass failed");
                next_pass = Instant::now() + wait;
            }
        }
    }
    tracing::info!("shutting down");
    if let Some(elector) = elector {
        elector.abort();
    }
    if let (Ok(()), Some(lock)) = (guard.check(), &lock) {
        if let Err(e) = lock.release(&this.live.kube).await {
            tracing::warn!(error = %format!("{e:#}"), "could not release the lease; it expires on its own");
        }
    }
    Ok(())
}

/// Hands memory the pass freed back to the system. glibc keeps a freed heap for reuse, so
/// without this the loop's resident size would stay at its largest pass's, not its caches'.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Loop<'_> {
    async fn pass(&mut self) -> Result<PassReport> {
        let act = &self.settings.act;
        let captured_at = Timestamp::now();
        let doc = self
            .live
            .document_with(self.caches.kubernetes_part(), captured_at)
            .await?;
        let mut snapshot = self
            .caches
            .with_pods(|pods| build::snapshot_with_cached_pods(&doc, pods, &act.planning.build))?;
        drop(doc);
        self.members.publish(&snapshot);
        self.members.count_interruptions(&mut snapshot);
        let plan = engine::plan_in_place(&mut snapshot, &act.planning.engine);
        record_plan(&plan);
        self.log_warnings(&plan);
        let unhealthy = !plan.cluster_health.healthy;
        let health_changed = self.unhealthy != unhealthy;
        self.unhealthy = unhealthy;

        let maintainer = Maintainer {
            kube: &self.live.kube,
            aws: &self.live.aws,
            guard: self.guard.clone(),
            drain: act.planning.engine.maintenance.drain,
            dry_run: act.dry_run,
        };
        let applied = maintainer.apply_parts(&plan, act.parts).await;

        // Each unschedulable pod is announced once per process, not on every pass.
        let fresh: Vec<_> = plan
            .unschedulable
            .iter()
            .filter(|u| self.announced.insert(u.pod.clone()))
            .cloned()
            .collect();
        let still: HashSet<&str> = plan.unschedulable.iter().map(|u| u.pod.as_str()).collect();
        self.announced.retain(|p| still.contains(p.as_str()));
        if let Some(slack) = &self.slack {
            let health = health_changed.then_some(&plan.cluster_health);
            let messages =
                crate::notify::messages(&self.live.cluster, &plan, &fresh, health, &applied);
            slack.post_all(&messages).await;
        }
        if !act.dry_run {
            self.events.publish(&plan, &applied, &snapshot).await;
        }
        Ok(PassReport {
            pending: plan.summary.pending_pods,
            actions: applied.len(),
            failed: applied.iter().filter(|a| a.outcome.failed()).count(),
        })
    }
}

impl Loop<'_> {
    /// Logs each warning once while it lasts, and again if it comes back.
    fn log_warnings(&mut self, plan: &Plan) {
        let current: HashSet<(WarningKind, String)> = plan
            .warnings
            .iter()
            .map(|w| (w.kind, w.subject.clone()))
            .collect();
        for w in &plan.warnings {
            if !self.warned.contains(&(w.kind, w.subject.clone())) {
                tracing::warn!(kind = ?w.kind, "{}", w.message);
            }
        }
        self.warned = current;
    }
}

fn record_plan(plan: &Plan) {
    let m = metrics();
    m.pending_pods.set(plan.summary.pending_pods as i64);
    m.unschedulable_pods.set(plan.summary.unschedulable as i64);
    m.groups_in_backoff.set(plan.backoff.len() as i64);
    m.unready_nodes.set(plan.cluster_health.unready as i64);
    m.cluster_unhealthy
        .set(i64::from(!plan.cluster_health.healthy));
    for w in &plan.warnings {
        let kind = match (&w.kind, &w.object) {
            (_, Some(object)) => object.kind.as_str(),
            (WarningKind::GroupLeftOut, None) => "AutoScalingGroup",
            (WarningKind::RegionUnreachable, None) => "Region",
            _ => continue,
        };
        m.skipped_objects
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
    }
    m.nodes.clear();
    for node in &plan.nodes {
        m.nodes
            .get_or_create(&vec![("state", node.state.as_str().to_string())])
            .inc();
    }
    m.provisioning_requests.clear();
    for request in &plan.provisioning_requests {
        m.provisioning_requests
            .get_or_create(&vec![
                ("class", request.class.clone()),
                ("verdict", request.verdict.as_str().to_string()),
            ])
            .inc();
    }
}

/// Resolves on SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

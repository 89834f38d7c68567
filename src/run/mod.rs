//! `ekas run`: the continuous loop. Watch-fed caches hold the cluster, so a pass makes no
//! Kubernetes LIST call; a pass starts soon after new pending pods appear (after a short
//! batching window, `--batch-idle` / `--batch-max`) and at least every `--sleep`. Each pass:
//! snapshot (caches + AWS) → plan → apply scale-up and maintenance.
//!
//! 1. Setup ([`run`]): clients, `/metrics` and `/healthz`, the caches' watches, and the
//!    [`elector`] contending for the Lease at once.
//! 2. Waiting ([`Batcher`]): for new pending pods to settle, or for `--sleep`.
//! 3. A pass, while this process leads ([`Loop::pass`]), cut off when the Lease is lost or
//!    after two renewal periods.
//! 4. Recording it: metrics, health, and [`Troubles`] — every reason the loop cannot act is
//!    an ERROR line, repeated every few minutes while it lasts, and `ekas_cannot_act{reason}`.
//! 5. Shutdown on SIGTERM or SIGINT ([`Loop::stop`]): the action under way finishes, no new
//!    one begins, the Lease is released and the process exits — within [`STOP_WITHIN`], less
//!    than the Pod's termination grace.
//!
//! A failed pass is retried with backoff; the process exits on its own only when it can never
//! succeed (RBAC refusing the Lease).

pub mod elector;

pub mod server;
pub mod trouble;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use jiff::Timestamp;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, sleep_until};

use crate::actuate::maintenance::Maintainer;
use crate::decode;
use crate::engine;
use crate::events;
use crate::guard::Guard;
use crate::interruption::handler::{Handler, Members};
use crate::kubernetes::lease::LeaseLock;
use crate::kubernetes::watch::{Caches, WatchHealth};
use crate::metrics::metrics;
use crate::model::Snapshot;
use crate::notify::{Slack, SlackQueue};
use crate::plan::{Plan, Unschedulable, WarningKind};
use crate::settings::RunSettings;
use crate::source::live::Live;
use trouble::{Trouble, Troubles};

/// The longest a stopping process waits for the action under way to finish: a drain's round
/// of evictions or a termination, each call within its own timeout. With the Lease's release,
/// shutdown stays within the 60 s grace deploy/ gives the Pod.
pub const STOP_WITHIN: Duration = Duration::from_secs(40);

/// A required watch failing this long is a trouble (a retry that works takes about a second).
const WATCH_TROUBLE_AFTER: Duration = Duration::from_secs(5);

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
    slack: Option<SlackQueue>,
    caches: Caches,
    events: events::Events,
    health: server::Health,
    troubles: Troubles,
    /// Unschedulable pods already announced on Slack.
    announced: HashSet<String>,
    /// Warnings already logged, so each is said once while it lasts.
    warned: HashSet<(WarningKind, String)>,
    /// Whether the last pass found the cluster unhealthy: Slack hears of each change.
    unhealthy: bool,
    /// The managed groups' instances, for the interruption handler.
    members: Members,
    lock: Option<Arc<LeaseLock>>,
    /// Removals of the last window, when there is no Lease to record them on.
    removals: Vec<Timestamp>,
}

pub async fn run(settings: &RunSettings) -> Result<()> {
    let act = &settings.act;
    let guard = act.guard();
    // Built first: a Slack client that cannot be built stops ekas before it changes anything.
    let slack = act.slack.as_ref().map(Slack::new).transpose()?;
    // Posted by a task of its own: a slow Slack never holds up a pass.
    let slack = slack.map(|s| SlackQueue::start(s.guarded(guard.clone())));
    let live = Live::connect_guarded(&act.live, guard.clone()).await?;
    let health = serve_health(settings).await?;
    let troubles = Troubles::new();
    let mut shutdown = Shutdown::listen();

    // Contends (and, once leader, renews) in the background from the start, so a Lease that
    // cannot be taken is said at once; the guard says at every change whether it is held.
    let lock = act.lease.as_ref().map(|l| Arc::new(LeaseLock::new(l)));
    let mut fatal = lock.as_ref().map(|lock| {
        let elector = elector::Elector {
            lock: lock.clone(),
            client: live.kube.clone(),
            guard: guard.clone(),
            troubles: troubles.clone(),
            health: health.clone(),
        };
        tokio::spawn(elector.run())
    });

    let caches = start_caches(settings).await?;
    let reporter = tokio::spawn(report_watches(caches.watch_health(), troubles.clone()));
    let _reporter = AbortOnDrop(reporter);
    tokio::select! {
        ready = caches.ready() => ready.wrap_err("filling the caches")?,
        reason = until_fatal(&mut fatal) => return Err(eyre!(reason)),
        () = shutdown.requested() => {
            stop_lease(&guard, lock.as_deref(), &live.kube).await;
            return Ok(());
        }
    }
    tracing::info!("caches filled; starting passes");

    let members = Members::default();
    start_interruptions(settings, &live, &members, &guard).await?;
    let events = cluster_events(settings, &live, &guard);
    let batcher = Batcher::new(settings, &caches);
    let mut this = Loop {
        settings,
        guard,
        live,
        slack,
        caches,
        events,
        health,
        troubles,
        announced: HashSet::new(),
        warned: HashSet::new(),
        unhealthy: false,
        members,
        lock,
        removals: Vec::new(),
    };
    let result = this.run_forever(&batcher, &mut shutdown, &mut fatal).await;
    this.stop().await;
    result
}

/// Serves `/metrics` and `/healthz`. Healthy while passes complete (or a standby sees its
/// leader); a few missed passes make it unhealthy.
async fn serve_health(settings: &RunSettings) -> Result<server::Health> {
    let health = server::Health::new(settings.unhealthy_after);
    let address = server::serve(settings.metrics_address, health.clone()).await?;
    tracing::info!(%address, "serving /metrics and /healthz");
    Ok(health)
}

/// Where the loop records the cluster's Events (on the object `--cluster-events-on` names).
fn cluster_events(settings: &RunSettings, live: &Live, guard: &Guard) -> events::Events {
    let (events_namespace, events_name) = &settings.cluster_events_on;
    events::Events::new(
        live.kube.clone(),
        (events_namespace, events_name),
        guard.clone(),
    )
}

/// Starts the caches' watches. Watches are silent while nothing changes: they get a client of
/// their own, whose read timeout outlasts the server's watch timeout.
async fn start_caches(settings: &RunSettings) -> Result<Caches> {
    let live = &settings.act.live;
    let watches = crate::kubernetes::watch_client(&live.kube).await?;
    Ok(Caches::start(
        &watches,
        live.namespace.as_deref(),
        settings.api_discovery_every,
    ))
}

/// Resolves with the elector's fatal message; never without an elector.
async fn until_fatal(fatal: &mut Option<tokio::task::JoinHandle<String>>) -> String {
    match fatal {
        Some(handle) => handle
            .await
            .unwrap_or_else(|e| format!("the Lease's task stopped: {e}")),
        None => std::future::pending().await,
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Turns the watches that keep failing into troubles, every second, for the life of the loop:
/// while the caches fill and between passes alike.
async fn report_watches(health: WatchHealth, troubles: Troubles) {
    let mut reported: HashSet<String> = HashSet::new();
    loop {
        let failing: Vec<_> = health
            .failing()
            .into_iter()
            .filter(|f| f.required && f.since.elapsed() >= WATCH_TROUBLE_AFTER)
            .collect();
        let now: HashSet<String> = failing
            .iter()
            .map(|f| format!("watch {}", f.kind))
            .collect();
        for f in &failing {
            let trouble = match (f.forbidden, f.unreachable) {
                (true, _) => Trouble::Forbidden,
                (false, true) => Trouble::ApiUnreachable,
                _ => Trouble::WatchFailing,
            };
            troubles.raise(&format!("watch {}", f.kind), trouble, &f.message);
        }
        for gone in reported.difference(&now) {
            troubles.clear(gone);
        }
        reported = now;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Starts reading the interruption queues, if any: only with the Lease, and not in a dry run.
async fn start_interruptions(
    settings: &RunSettings,
    live: &Live,
    members: &Members,
    guard: &Guard,
) -> Result<()> {
    let interruptions = &settings.interruptions;
    if interruptions.queues.is_empty() {
        return Ok(());
    }
    if settings.act.dry_run {
        tracing::warn!(
            "dry run: interruption queues are not read (their messages would be consumed)"
        );
        return Ok(());
    }
    let (lease_namespace, lease_name) = &settings.cluster_events_on;
    let handler = Arc::new(Handler::new(
        live.kube.clone(),
        live.aws.clone(),
        members.clone(),
        guard.clone(),
        interruptions,
        (lease_namespace, lease_name),
    ));
    // A long poll must end within one attempt's deadline.
    let poll = settings.act.live.aws.timeouts.attempt / 2;
    crate::interruption::handler::start(handler, &interruptions.queues, poll).await
}

/// SIGTERM or SIGINT, seen once and remembered, so it can be awaited again and again.
struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    fn listen() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            tx.send_replace(true);
        });
        Shutdown(rx)
    }

    async fn requested(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Waits for the next pass: a burst of new pending pods settles for `idle` (but no longer
/// than `max` in all), or `next` comes.
struct Batcher {
    pending: Arc<Notify>,
    idle: Duration,
    max: Duration,
}

impl Batcher {
    /// Waits on the caches' new pending pods, with `--batch-idle` and `--batch-max`.
    fn new(settings: &RunSettings, caches: &Caches) -> Batcher {
        Batcher {
            pending: caches.pods_changed(),
            idle: settings.batch_idle,
            max: settings.batch_max,
        }
    }

    async fn wait(&self, next: Instant) {
        tokio::select! {
            _ = sleep_until(next) => {}
            _ = self.pending.notified() => {
                let started = Instant::now();
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(self.idle) => break,
                        _ = self.pending.notified() => {
                            if started.elapsed() >= self.max {
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How a pass ended, seen from the loop.
enum PassEnd {
    Done(Result<PassReport>),
    /// SIGTERM came during the pass; it was let finish its action under way.
    Stopping,
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
    /// Passes until SIGTERM (Ok) or a fatal refusal (Err).
    async fn run_forever(
        &mut self,
        batcher: &Batcher,
        shutdown: &mut Shutdown,
        fatal: &mut Option<tokio::task::JoinHandle<String>>,
    ) -> Result<()> {
        let standby_look = self.lock.as_ref().map_or(Duration::ZERO, |l| l.period());
        let mut failures: u32 = 0;
        let mut next_pass = Instant::now();
        loop {
            tokio::select! {
                () = shutdown.requested() => return Ok(()),
                reason = until_fatal(fatal) => return Err(eyre!(reason)),
                () = batcher.wait(next_pass) => {}
            }
            let leader = self.guard.check().is_ok();
            metrics().leader.set(i64::from(leader));
            if !leader {
                next_pass = Instant::now() + standby_look;
                continue;
            }
            let started = std::time::Instant::now();
            let result = match self.pass_until_stopped(shutdown).await {
                PassEnd::Done(result) => result,
                PassEnd::Stopping => return Ok(()),
            };
            release_freed_memory();
            let retry = self.record(result, started.elapsed(), &mut failures);
            next_pass = Instant::now() + retry;
        }
    }

    /// Runs a pass, cut off when the Lease is lost or after two renewal periods. On SIGTERM the
    /// action under way finishes and no new one begins ([`Guard::request_stop`]), for at most
    /// [`STOP_WITHIN`].
    async fn pass_until_stopped(&mut self, shutdown: &mut Shutdown) -> PassEnd {
        let guard = self.guard.clone();
        // A pass is cut off after two renewal periods: one that long is stuck on something,
        // and the next starts afresh from the cluster.
        let deadline = self.lock.as_ref().map(|l| l.period() * 2);
        let pass = async {
            let bounded = async {
                match deadline {
                    Some(deadline) => tokio::time::timeout(deadline, self.pass())
                        .await
                        .unwrap_or_else(|_| {
                            Err(eyre!(
                                "pass cut off after {deadline:?} (two thirds of --lease-duration)"
                            ))
                        }),
                    None => self.pass().await,
                }
            };
            tokio::select! {
                result = bounded => result,
                refused = guard.closed() => Err(eyre!("pass stopped before its next change: {refused}")),
            }
        };
        tokio::pin!(pass);
        tokio::select! {
            result = &mut pass => PassEnd::Done(result),
            () = shutdown.requested() => {
                tracing::info!("stopping: finishing the action under way; no new one begins");
                guard.request_stop();
                if tokio::time::timeout(STOP_WITHIN, &mut pass).await.is_err() {
                    tracing::warn!(within = ?STOP_WITHIN, "the action under way did not finish in time; stopping all the same");
                }
                PassEnd::Stopping
            }
        }
    }

    /// Records how a pass went; returns how long to wait before the next.
    fn record(
        &mut self,
        result: Result<PassReport>,
        took: Duration,
        failures: &mut u32,
    ) -> Duration {
        let m = metrics();
        match result {
            Ok(report) => {
                *failures = 0;
                self.health.beat();
                self.troubles.clear("pass");
                m.passes.get_or_create(&vec![("result", "ok".into())]).inc();
                m.pass_duration.observe(took.as_secs_f64());
                m.last_pass_completed
                    .set(Timestamp::now().as_millisecond() as f64 / 1000.0);
                tracing::info!(
                    pending = report.pending,
                    actions = report.actions,
                    failed = report.failed,
                    seconds = took.as_secs_f64(),
                    "pass done"
                );
                self.settings.every
            }
            Err(e) => {
                *failures += 1;
                m.passes
                    .get_or_create(&vec![("result", "error".into())])
                    .inc();
                let wait = Duration::from_secs(1 << (*failures).min(6)).min(self.settings.every);
                let trouble = match e.downcast_ref::<crate::aws::gather::NoRegionReadable>() {
                    Some(_) => Trouble::NoRegionReadable,
                    None => Trouble::PassFailing,
                };
                let message = format!("{e:#}");
                self.troubles.raise("pass", trouble, &message);
                tracing::debug!(error = %message, retry_in = ?wait, "pass failed");
                wait
            }
        }
    }

    /// Shuts the guard (the interruption task's changes stop with it) and releases the Lease.
    async fn stop(&self) {
        tracing::info!("shutting down");
        stop_lease(&self.guard, self.lock.as_deref(), &self.live.kube).await;
    }
}

/// No change may go from now on; the Lease, if held, is given up so the next process need not
/// wait it out.
async fn stop_lease(guard: &Guard, lock: Option<&LeaseLock>, client: &kube::Client) {
    guard.request_stop();
    let held = guard.check().is_ok();
    guard.lost();
    metrics().leader.set(0);
    if let (true, Some(lock)) = (held, lock) {
        match lock.release(client).await {
            Ok(()) => tracing::info!(identity = %lock.holder, "released the lease"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not release the lease; it expires on its own")
            }
        }
    }
}

impl Loop<'_> {
    /// One pass: read the cluster, plan, apply, then tell (Slack, Events) what it did.
    async fn pass(&mut self) -> Result<PassReport> {
        let act = &self.settings.act;
        let captured_at = Timestamp::now();
        let mut snapshot = self.observe(captured_at).await?;
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
        self.record_removals(&plan, &applied, captured_at).await?;
        let report = PassReport {
            pending: plan.summary.pending_pods,
            actions: applied.len(),
            failed: applied.iter().filter(|a| a.outcome.failed()).count(),
        };

        let fresh = self.newly_unschedulable(&plan);
        if self.guard.stopping() {
            // Shutting down: the next process announces and records what it sees.
            return Ok(report);
        }
        if let Some(slack) = &self.slack {
            let health = health_changed.then_some(&plan.cluster_health);
            let messages =
                crate::notify::messages(&self.live.cluster, &plan, &fresh, health, &applied);
            slack.enqueue(messages);
        }
        if !act.dry_run {
            self.events.publish(&plan, &applied, &snapshot).await;
        }
        Ok(report)
    }

    /// The cluster as this pass sees it: AWS read now, Kubernetes from the watches' caches,
    /// the removals already spent in the scale-in window, and whether a watch is failing.
    async fn observe(&mut self, captured_at: Timestamp) -> Result<Snapshot> {
        let act = &self.settings.act;
        let window = act.planning.engine.maintenance.scale_in_window;
        let mut doc = self
            .live
            .document_with(self.caches.kubernetes_part(), captured_at)
            .await?;
        doc.recent_removals = match &self.lock {
            Some(lock) => {
                lock.recent_removals(&self.live.kube, window, captured_at)
                    .await?
            }
            None => self.removals.clone(),
        };
        let mut snapshot = self
            .caches
            .with_pods(|pods| decode::snapshot_with_cached_pods(&doc, pods, &act.planning.build))?;
        drop(doc);
        snapshot.stale_view = self.caches.stale().map(|f| {
            let secs = f.since.elapsed().as_secs();
            format!("the {} watch has failed for {secs}s: {}", f.kind, f.message)
        });
        Ok(snapshot)
    }

    /// The plan's unschedulable pods not yet announced by this process; each is announced
    /// once, not on every pass, and forgotten once it is no longer unschedulable.
    fn newly_unschedulable(&mut self, plan: &Plan) -> Vec<Unschedulable> {
        let fresh: Vec<_> = plan
            .unschedulable
            .iter()
            .filter(|u| self.announced.insert(u.pod.clone()))
            .cloned()
            .collect();
        let still: HashSet<&str> = plan.unschedulable.iter().map(|u| u.pod.as_str()).collect();
        self.announced.retain(|p| still.contains(p.as_str()));
        fresh
    }
}

impl Loop<'_> {
    /// Remembers the removals this pass made, on the Lease (or, without one, in the process),
    /// so the next passes spend the rest of the window's budget.
    async fn record_removals(
        &mut self,
        plan: &Plan,
        applied: &[crate::actuate::Applied],
        at: Timestamp,
    ) -> Result<()> {
        let window = self
            .settings
            .act
            .planning
            .engine
            .maintenance
            .scale_in_window;
        let done = crate::actuate::removals_done(plan, applied, at);
        match &self.lock {
            Some(lock) => {
                let gate = crate::provider::Gate::new(self.guard.clone(), false);
                lock.record_removals(&self.live.kube, &gate, &done, window, at)
                    .await
            }
            None => {
                self.removals.extend(done);
                self.removals
                    .retain(|&t| t <= at && at.duration_since(t) < window);
                Ok(())
            }
        }
    }

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

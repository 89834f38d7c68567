//! The subcommands: each takes its resolved settings, loads what it needs, asks the engine,
//! and applies or prints its part of the plan. `reap` and `scale-up` share one flow
//! ([`act_once`]); the others have a module.

pub mod completions;
pub mod drain;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod snapshot;

use std::io::Write;

use color_eyre::eyre::{Result, bail, eyre};

use crate::actuate::maintenance::Maintainer;
use crate::engine;
use crate::guard::Guard;
use crate::kubernetes::lease::{LeaseLock, LeaseSettings};
use crate::notify::Slack;
use crate::output::OutputFormat;
use crate::settings::{ActSettings, Settings, Task};
use crate::source::live::Live;

pub fn run(settings: Settings, out: &mut dyn Write) -> Result<()> {
    let output = settings.output;
    match settings.task {
        Task::Plan(s) => plan::run(&s, output, out),
        Task::Completions(shell) => completions::run(shell, out),
        Task::ScaleUp(s) => act_once(&s, "scale-up", output, out),
        Task::Drain(s) => drain::run(&s, output, out),
        Task::Reap(s) => act_once(&s, "maintenance", output, out),
        Task::Run(s) => run::run(&s),
        Task::Snapshot(s) => snapshot::run(&s, out),
        Task::Simulate(s) => simulate::run(&s, output, out),
    }
}

/// A runtime for the subcommands that talk to the APIs.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `ekas reap` and `ekas scale-up`: one live pass that applies the chosen part of the plan
/// under the cluster's Lease, a table of what was done, and a non-zero exit if anything failed.
fn act_once(
    settings: &ActSettings,
    what: &str,
    output: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let guard = settings.guard();
    // Built first: a Slack client that cannot be built stops ekas before it changes anything.
    let slack = settings.slack.as_ref().map(Slack::new).transpose()?;
    let slack = slack.map(|s| s.guarded(guard.clone()));
    let planning = &settings.planning;
    let applied = runtime()?.block_on(async {
        let live = Live::connect_guarded(&settings.live, guard.clone()).await?;
        with_lease(settings.lease.as_ref(), &live, &guard, async |lock| {
            let window = planning.engine.maintenance.scale_in_window;
            let mut snapshot = live.snapshot(&planning.build).await?;
            let captured_at = snapshot.captured_at;
            // The removals a loop or an earlier run made lately spend this window's budget too.
            if let Some(lock) = lock {
                snapshot.recent_removals =
                    lock.recent_removals(&live.kube, window, captured_at).await?;
            }
            let plan = engine::plan_in_place(&mut snapshot, &planning.engine);
            for w in &plan.warnings {
                tracing::warn!(kind = ?w.kind, "{}", w.message);
            }
            let maintainer = Maintainer {
                kube: &live.kube,
                aws: &live.aws,
                guard: guard.clone(),
                drain: planning.engine.maintenance.drain,
                dry_run: settings.dry_run,
            };
            let applied = maintainer.apply_parts(&plan, settings.parts).await;
            if let Some(lock) = lock {
                let done = crate::actuate::removals_done(&plan, &applied, captured_at);
                let gate = crate::provider::Gate::new(guard.clone(), settings.dry_run);
                if let Err(e) = lock.record_removals(&live.kube, &gate, &done, window, captured_at).await {
                    tracing::warn!(error = %format!("{e:#}"), "could not record this run's removals; the next pass may remove more this window");
                }
            }
            crate::notify::notify(slack.as_ref(), &live.cluster, &plan, &applied).await;
            Ok(applied)
        })
        .await
    })?;
    crate::output::write_applied(&applied, output, out)?;
    let failed = applied.iter().filter(|a| a.outcome.failed()).count();
    if failed > 0 {
        out.flush()?;
        bail!("{failed} of {} {what} actions failed", applied.len());
    }
    Ok(())
}

/// Runs `act` while holding the cluster's Lease (when there is one to hold: a dry run changes
/// nothing, not even the Lease), renewed in the background, and releases it afterwards
/// whatever happened. Should the Lease be lost meanwhile, `act` is stopped before its next
/// change (the `guard` the clients ask closes too).
pub async fn with_lease<T>(
    lease: Option<&LeaseSettings>,
    live: &Live,
    guard: &Guard,
    act: impl AsyncFnOnce(Option<&LeaseLock>) -> Result<T>,
) -> Result<T> {
    let Some(lease) = lease else {
        return act(None).await;
    };
    let lock = LeaseLock::new(lease);
    guard.held_until(lock.acquire(&live.kube).await?);
    let result = tokio::select! {
        result = act(Some(&lock)) => result,
        refused = guard.closed() => Err(eyre!("stopped before its next change: {refused}")),
        () = async {
            tokio::time::sleep(lock.period()).await;
            lock.keep_renewed(&live.kube, guard).await;
        } => Err(eyre!("stopped before its next change: lost Lease {}", lock.key())),
    };
    if let Err(e) = lock.release(&live.kube).await {
        tracing::warn!(error = %format!("{e:#}"), "could not release the lease; it expires on its own");
    }
    result
}

//! A coordination.k8s.io Lease as a lock, so two ekas processes (a cron `reap`, `run`) never
//! act on the cluster at once. Taking it is a guarded write: a create, or a replace at the
//! resourceVersion read, so two contenders cannot both win. Another holder's lease expires by
//! this process's own clock (client-go's rule): when its record has not changed for the lease's
//! duration since this process first saw it — never by comparing the holder's `renewTime` with
//! our clock. The holder counts its term from when it sent the renewal, which is earlier, so
//! its term ends first (see `crate::guard`).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use color_eyre::eyre::{Result, bail};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

use super::{api_error, status_code};
use crate::guard::Guard;

/// Why an attempt on the Lease failed, as the loop reports it (`ekas_cannot_act{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseTrouble {
    /// The Lease's namespace does not exist.
    NamespaceMissing,
    /// RBAC (or authentication) refuses the Lease: it will not pass by waiting.
    Forbidden,
    /// The API server did not answer: down, unreachable, or too slow.
    Unreachable,
    /// Another process wrote the Lease at the same moment: try again.
    Conflict,
    Other,
}

/// A failed attempt on the Lease: what kind of failure, and the message for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseError {
    pub trouble: LeaseTrouble,
    pub message: String,
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LeaseError {}

impl LeaseError {
    fn new(trouble: LeaseTrouble, message: String) -> LeaseError {
        LeaseError { trouble, message }
    }

    /// A failed API call while `doing` something with the Lease.
    fn of_call(error: kube::Error, doing: String) -> LeaseError {
        let trouble = match &error {
            kube::Error::Api(s) if s.code == 401 || s.code == 403 => LeaseTrouble::Forbidden,
            kube::Error::Api(s) if s.code == 409 => LeaseTrouble::Conflict,
            kube::Error::Api(_) => LeaseTrouble::Other,
            // No answer at all: refused, timed out, TLS, DNS.
            _ => LeaseTrouble::Unreachable,
        };
        let message = format!("{:#}", api_error(error, doing));
        LeaseError::new(trouble, message)
    }
}

/// This process's name in the Lease: the host name and a random suffix, as client-go does, so
/// two processes on one host — even both pid 1 in their own pid namespaces, as two replicas
/// with `hostNetwork` are — never take each other for the holder.
pub fn holder_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host}_{}", random_suffix())
}

/// Ten hex digits from the process's randomly keyed hasher (std seeds it from the OS), mixed
/// with the time and a counter so two locks of one process differ too.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

/// Which Lease, and for how long a holder keeps it (`--lease-namespace`, `--lease-name`,
/// `--lease-duration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub duration_seconds: i32,
}

impl LeaseSettings {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_seconds.max(0).unsigned_abs().into())
    }
}

/// A holder's record as last seen, and when (by this process's clock) it was first seen so.
#[derive(Debug, Clone)]
struct Observed {
    record: (Option<String>, Option<Timestamp>, Option<i32>),
    since: Instant,
}

/// What an attempt to take or renew the Lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Ours until this instant of our clock (the moment the request went out, plus the
    /// duration): a contender's count of the same term starts later.
    Ours { until: Instant },
    /// Another holder's. `renewed`: its record changed since this process last looked, so it
    /// is alive.
    Theirs { holder: String, renewed: bool },
}

#[derive(Debug)]
pub struct LeaseLock {
    pub namespace: String,
    pub name: String,
    /// Who holds it: the host and a random suffix ([`holder_identity`]), shown to whoever is
    /// refused.
    pub holder: String,
    /// A holder that stops renewing loses the lease after this long.
    pub duration_seconds: i32,
    observed: Mutex<Option<Observed>>,
}

impl LeaseLock {
    pub fn new(settings: &LeaseSettings) -> LeaseLock {
        LeaseLock {
            namespace: settings.namespace.clone(),
            name: settings.name.clone(),
            holder: holder_identity(),
            duration_seconds: settings.duration_seconds,
            observed: Mutex::new(None),
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_seconds.max(0).unsigned_abs().into())
    }

    fn api(&self, client: &kube::Client) -> Api<Lease> {
        Api::namespaced(client.clone(), &self.namespace)
    }

    fn spec(&self, now: Timestamp, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(self.duration_seconds),
            acquire_time: Some(acquired.unwrap_or(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Notes another holder's record as seen now. Returns (renewed since the last look, expired):
    /// expired when the same record has stood for the lease's duration of *this* process's
    /// clock — the holder's `renewTime` is never compared with our clock, so a holder whose
    /// clock is off neither loses its Lease early nor keeps it forever.
    fn observe(&self, spec: &LeaseSpec, now: Instant) -> (bool, bool) {
        let record = (
            spec.holder_identity.clone(),
            spec.renew_time.as_ref().map(|t| t.0),
            spec.lease_duration_seconds,
        );
        let duration = Duration::from_secs(
            spec.lease_duration_seconds
                .unwrap_or(0)
                .max(self.duration_seconds)
                .max(0)
                .unsigned_abs()
                .into(),
        );
        let mut observed = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        let renewed = match observed.as_ref() {
            Some(o) if o.record == record => false,
            previous => {
                let renewed = previous.is_some();
                *observed = Some(Observed { record, since: now });
                renewed
            }
        };
        let since = observed.as_ref().map_or(now, |o| o.since);
        (renewed, now.duration_since(since) >= duration)
    }

    /// One attempt to take the lease, or renew it when this process holds it already. Another
    /// holder's lease is taken only once it has expired by this process's own observation
    /// (see [`LeaseLock::observe`]), or was released. A conflict (another taker at the same
    /// moment) is an error; so is any API error, with its kind ([`LeaseTrouble`]).
    pub async fn try_acquire(&self, client: &kube::Client) -> Result<Attempt, LeaseError> {
        let api = self.api(client);
        let sent = Instant::now();
        let now = Timestamp::now();
        let doing = || format!("taking lease {}", self.key());
        let conflict = || {
            LeaseError::new(
                LeaseTrouble::Conflict,
                format!(
                    "{}: another ekas took it at the same moment; try again",
                    doing()
                ),
            )
        };
        let current = super::counted("get", "Lease", api.get_opt(&self.name).await)
            .map_err(|e| LeaseError::of_call(e, doing()))?;
        let until = sent + self.duration();
        let Some(lease) = current else {
            let lease = Lease {
                metadata: kube::api::ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, None, 0)),
            };
            return match super::counted(
                "create",
                "Lease",
                api.create(&PostParams::default(), &lease).await,
            ) {
                Ok(_) => Ok(Attempt::Ours { until }),
                Err(e) if status_code(&e) == Some(409) => Err(conflict()),
                Err(e) if status_code(&e) == Some(404) => Err(LeaseError::new(
                    LeaseTrouble::NamespaceMissing,
                    format!(
                        "{}: namespace {} does not exist: create it (deploy/namespace.yaml) or \
                         pass --lease-namespace with one that does",
                        doing(),
                        self.namespace
                    ),
                )),
                Err(e) => Err(LeaseError::of_call(e, doing())),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = holder.as_deref() == Some(self.holder.as_str());
        if let (Some(other), false) = (&holder, ours) {
            let (renewed, expired) = self.observe(&spec, sent);
            if !expired {
                return Ok(Attempt::Theirs {
                    holder: other.clone(),
                    renewed,
                });
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        let mut updated = lease.clone();
        updated.spec = Some(self.spec(now, acquired, transitions));
        // The read resourceVersion rides along: a concurrent taker makes this a 409.
        match super::counted(
            "replace",
            "Lease",
            api.replace(&self.name, &PostParams::default(), &updated)
                .await,
        ) {
            Ok(_) => Ok(Attempt::Ours { until }),
            Err(e) if status_code(&e) == Some(409) => Err(conflict()),
            Err(e) => Err(LeaseError::of_call(e, doing())),
        }
    }

    /// How often a holder renews, and a contender looks: a third of the duration, as
    /// `--lease-duration`'s help says.
    pub fn period(&self) -> Duration {
        self.duration() / 3
    }

    /// Takes the lease for a one-shot command (`reap`, `scale-up`): at once when it is free;
    /// when another process holds it, watches it until either that holder renews (then fails,
    /// naming it) or its record has stood unchanged for the lease's duration (then takes it).
    pub async fn acquire(&self, client: &kube::Client) -> Result<Instant> {
        let look = (self.duration() / 10).clamp(Duration::from_millis(200), Duration::from_secs(2));
        loop {
            match self.try_acquire(client).await? {
                Attempt::Ours { until } => return Ok(until),
                Attempt::Theirs {
                    holder,
                    renewed: true,
                } => bail!(
                    "taking lease {}: held by {holder}, who renewed it while ekas watched — \
                     another ekas is acting on this cluster",
                    self.key()
                ),
                Attempt::Theirs { holder, .. } => {
                    tracing::info!(%holder, lease = %self.key(), "waiting to see whether the lease's holder is alive");
                    tokio::time::sleep(look).await;
                }
            }
        }
    }

    /// Keeps the lease renewed every [`LeaseLock::period`] and `guard` told how long it is
    /// held, until the lease is lost (returns) or the task is dropped. A failed renewal is
    /// retried sooner; the term it could not extend runs out on its own, closing the guard.
    pub async fn keep_renewed(&self, client: &kube::Client, guard: &Guard) {
        let retry = (self.period() / 4).max(Duration::from_millis(200));
        loop {
            let wait = match self.try_acquire(client).await {
                Ok(Attempt::Ours { until }) => {
                    guard.held_until(until);
                    self.period()
                }
                Ok(Attempt::Theirs { holder, .. }) => {
                    guard.lost();
                    tracing::warn!(%holder, lease = %self.key(), "lost the lease");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not renew the lease");
                    retry
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The removals of the last `window` recorded on the Lease (`ekas/recent-removals`), so
    /// the scale-in budget holds across passes, processes and restarts. None recorded, or no
    /// Lease yet: none.
    pub async fn recent_removals(
        &self,
        client: &kube::Client,
        window: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        let doing = || format!("reading the removals recorded on lease {}", self.key());
        let lease = super::counted("get", "Lease", self.api(client).get_opt(&self.name).await)
            .map_err(|e| api_error(e, doing()))?;
        let recorded = lease
            .and_then(|l| l.metadata.annotations)
            .and_then(|a| a.get(crate::model::keys::RECENT_REMOVALS).cloned())
            .unwrap_or_default();
        Ok(within(parse_times(&recorded), window, now))
    }

    /// Adds `done` to the removals recorded on the Lease, dropping those older than `window`.
    /// A change like any other: sent only through `gate`.
    pub async fn record_removals(
        &self,
        client: &kube::Client,
        gate: &crate::provider::Gate,
        done: &[Timestamp],
        window: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut all = self.recent_removals(client, window, now).await?;
        all.extend_from_slice(done);
        all.sort();
        let text = all
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let patch = serde_json::json!({"metadata": {"annotations": {crate::model::keys::RECENT_REMOVALS: text}}});
        let api = self.api(client);
        let key = self.key();
        let sent = gate.call(crate::provider::Change::Annotate, &key, async {
            let patched = api
                .patch(
                    &self.name,
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(&patch),
                )
                .await;
            super::counted("patch", "Lease", patched)
                .map(drop)
                .map_err(|e| {
                    crate::call::CallError::new(
                        super::error_class(&e, false),
                        format!("{:#}", api_error(e, "recording removals")),
                    )
                })
        });
        sent.await
            .map_err(|e| color_eyre::eyre::eyre!("recording removals on lease {}: {e}", self.key()))
    }

    /// Gives the lease up if this process holds it, so the next taker need not wait it out.
    pub async fn release(&self, client: &kube::Client) -> Result<()> {
        let api = self.api(client);
        let doing = || format!("releasing lease {}/{}", self.namespace, self.name);
        let Some(mut lease) = api
            .get_opt(&self.name)
            .await
            .map_err(|e| api_error(e, doing()))?
        else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.holder.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        match api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            // Somebody took it over meanwhile: it is no longer ours to release.
            Err(e) if status_code(&e) == Some(409) => Ok(()),
            Err(e) => Err(api_error(e, doing())),
        }
    }
}

/// RFC 3339 times, comma-separated; what does not read as one is skipped.
fn parse_times(text: &str) -> Vec<Timestamp> {
    text.split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect()
}

/// The times in the window ending `now`.
fn within(times: Vec<Timestamp>, window: jiff::SignedDuration, now: Timestamp) -> Vec<Timestamp> {
    times
        .into_iter()
        .filter(|&t| t <= now && now.duration_since(t) < window)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_removals_read_back_within_their_window() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let text = "2026-11-29T11:49:00Z, 2026-11-29T11:55:00Z,garbage,2026-11-29T12:00:00Z,2026-11-29T12:05:00Z";
        let got = within(parse_times(text), jiff::SignedDuration::from_mins(10), now);
        let want: Vec<Timestamp> = ["2026-11-29T11:55:00Z", "2026-11-29T12:00:00Z"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(got, want);
    }

    fn lock() -> LeaseLock {
        LeaseLock::new(&LeaseSettings {
            namespace: "ekas".into(),
            name: "ekas".into(),
            duration_seconds: 60,
        })
    }

    fn record(holder: &str, renewed: &str) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            renew_time: Some(MicroTime(renewed.parse().unwrap())),
            lease_duration_seconds: Some(60),
            ..Default::default()
        }
    }

    #[test]
    fn two_locks_on_one_host_in_one_process_have_different_holders() {
        // Same HOSTNAME and same pid: what two replicas with hostNetwork, each pid 1 in its
        // own pid namespace, look like to each other.
        let (a, b) = (lock(), lock());
        assert_ne!(a.holder, b.holder);
        let host = a.holder.rsplit_once('_').unwrap().0;
        assert_eq!(host, b.holder.rsplit_once('_').unwrap().0);
        assert!(!host.is_empty());
    }

    #[test]
    fn a_lease_expires_by_our_clock_from_when_we_first_saw_its_record() {
        let lock = lock();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // A holder whose clock is an hour behind: its renewTime looks long past to us.
        let behind = record("a/1", "2026-11-29T11:00:00Z");
        // (seen at, record, renewed since the last look, expired)
        let cases = [
            (0, &behind, false, false),
            (59, &behind, false, false),
            (60, &behind, false, true),
        ];
        for (s, spec, renewed, expired) in cases {
            assert_eq!(lock.observe(spec, at(s)), (renewed, expired), "at {s}s");
        }
        // The holder renews (still with its skewed clock): alive again, counted afresh.
        let renewed = record("a/1", "2026-11-29T11:00:20Z");
        assert_eq!(lock.observe(&renewed, at(61)), (true, false));
        assert_eq!(lock.observe(&renewed, at(120)), (false, false));
        assert_eq!(lock.observe(&renewed, at(121)), (false, true));
        // A holder whose clock is an hour ahead, then silent: expired after 60 s all the same.
        let ahead = record("b/2", "2026-11-29T13:00:00Z");
        assert_eq!(lock.observe(&ahead, at(200)), (true, false));
        assert_eq!(lock.observe(&ahead, at(260)), (false, true));
    }
}

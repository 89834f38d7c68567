//! A coordination.k8s.io Lease as a lock, so two ekas processes (a cron `reap`, `run`) never
//! act on the cluster at once. Taking it is a guarded write: a create, or a replace at the
//! resourceVersion read, so two contenders cannot both win.

use color_eyre::eyre::{Result, bail};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use serde_json::json;

use super::{api_error, status_code};

/// Which Lease, and for how long a holder keeps it (`--lease-namespace`, `--lease-name`,
/// `--lease-duration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub duration_seconds: i32,
}

impl LeaseSettings {
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.duration_seconds.max(0).unsigned_abs().into())
    }
}

#[derive(Debug, Clone)]
pub struct LeaseLock {
    pub namespace: String,
    pub name: String,
    /// Who holds it: host and process, shown to whoever is refused.
    pub holder: String,
    /// A holder that stops renewing loses the lease after this long.
    pub duration_seconds: i32,
}

impl LeaseLock {
    pub fn new(settings: &LeaseSettings) -> LeaseLock {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".into());
        LeaseLock {
            namespace: settings.namespace.clone(),
            name: settings.name.clone(),
            holder: format!("{host}/{}", std::process::id()),
            duration_seconds: settings.duration_seconds,
        }
    }

    fn api(&self, client: &kube::Client) -> Api<Lease> {
        Api::namespaced(client.clone(), &self.namespace)
    }

    fn spec(
        &self,
        now: Timestamp,
        acquired: Option<MicroTime>,
        transitions: i32,
    ) -> serde_json::Value {
        json!({
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration_seconds,
            "acquireTime": acquired.unwrap_or(MicroTime(now)),
            "renewTime": MicroTime(now),
            "leaseTransitions": transitions,
        })
    }

    /// Takes the lease, or renews it when this process holds it already. Fails, naming the
    /// holder, while another holder's lease is current.
    pub async fn acquire(&self, client: &kube::Client) -> Result<()> {
        let api = self.api(client);
        let now = Timestamp::now();
        let doing = || format!("taking lease {}/{}", self.namespace, self.name);
        let current = match super::counted("get", "Lease", api.get_opt(&self.name).await) {
            Ok(lease) => lease,
            Err(e) => return Err(api_error(e, doing())),
        };
        let Some(lease) = current else {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self.spec(now, None, 0),
            }))?;
            return match super::counted(
                "create",
                "Lease",
                api.create(&PostParams::default(), &lease).await,
            ) {
                Ok(_) => Ok(()),
                Err(e) if status_code(&e) == Some(409) => {
                    bail!(
                        "{}: another ekas took it at the same moment; try again",
                        doing()
                    )
                }
                Err(e) if status_code(&e) == Some(404) => bail!(
                    "{}: namespace {} does not exist: create it (deploy/namespace.yaml) or pass \
                     --lease-namespace with one that does",
                    doing(),
                    self.namespace
                ),
                Err(e) => Err(api_error(e, doing())),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = holder.as_deref() == Some(self.holder.as_str());
        let expires = spec.renew_time.as_ref().map(|t| {
            t.0 + jiff::SignedDuration::from_secs(spec.lease_duration_seconds.unwrap_or(0).into())
        });
        if let (Some(other), false) = (&holder, ours) {
            if expires.is_some_and(|e| e > now) {
                bail!(
                    "{}: held by {other} until {} — another ekas is acting on this cluster",
                    doing(),
                    expires.map(|e| e.to_string()).unwrap_or_default()
                );
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        let mut updated = lease.clone();
        updated.spec = Some(serde_json::from_value(self.spec(
            now,
            acquired,
            transitions,
        ))?);
        // The read resourceVersion rides along: a concurrent taker makes this a 409.
        match api
            .replace(&self.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status_code(&e) == Some(409) => {
                bail!(
                    "{}: another ekas took it at the same moment; try again",
                    doing()
                )
            }
            Err(e) => Err(api_error(e, doing())),
        }
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

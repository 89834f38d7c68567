//! The Kubernetes side: a client from kubeconfig or the in-cluster service account, the reads
//! that fill the Kubernetes half of a snapshot (paginated lists for one-shot commands, watch-fed
//! caches for the loop), and the writes that carry out a plan. Adapters never decide.

pub mod lease;
pub mod read;
pub mod watch;
pub mod write;

pub use read::gather;

use std::path::PathBuf;

use color_eyre::eyre::{Report, Result, WrapErr, eyre};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, `~/.kube/config`, or the in-cluster account.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

pub async fn client(options: &KubeOptions) -> Result<kube::Client> {
    // Two TLS crypto providers are compiled in (the AWS SDK's and kube's); rustls needs one
    // chosen for the process. An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..Default::default()
    };
    let config = match &options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| eyre!("cannot read kubeconfig {}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(|e| eyre!("kubeconfig {}: {e}", path.display()))?
        }
        None if options.context.is_some() => {
            Config::from_kubeconfig(&kube_options).await.map_err(|e| {
                eyre!(
                    "kubeconfig context {:?}: {e}",
                    options.context.as_deref().unwrap_or("")
                )
            })?
        }
        None => Config::infer().await.map_err(|e| {
            eyre!(
                "no Kubernetes configuration found ({e}): pass --kubeconfig FILE, set KUBECONFIG, \
                 or run ekas inside the cluster with a service account"
            )
        })?,
    };
    // The client's own retry of 429 would hide an eviction refused by a PodDisruptionBudget
    // for minutes; ekas retries evictions itself, and failed passes as a whole.
    let mut config = config;
    config.default_retry = false;
    kube::Client::try_from(config).wrap_err("cannot build a Kubernetes client")
}

/// An API error as an operator reads it: what ekas was doing, what the server said, and what to
/// do when the cause is a permission.
pub fn api_error(error: kube::Error, doing: impl std::fmt::Display) -> Report {
    match &error {
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => eyre!(
            "{doing}: {} (HTTP {}): check the credentials and the RBAC rules of ekas's \
             account (deploy/ lists the verbs it needs)",
            status.message,
            status.code
        ),
        kube::Error::Api(status) => eyre!("{doing}: {} (HTTP {})", status.message, status.code),
        _ => eyre!("{doing}: {error}"),
    }
}

/// The HTTP status of an API error, if the server answered.
pub fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Records an API call's outcome in the metrics and passes the result on.
pub(crate) fn counted<T>(
    verb: &'static str,
    resource: &str,
    result: Result<T, kube::Error>,
) -> Result<T, kube::Error> {
    crate::metrics::kube_call(verb, resource, result.is_ok());
    result
}

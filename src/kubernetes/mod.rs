//! The Kubernetes side: a client from kubeconfig or the in-cluster service account, the reads
//! that fill the Kubernetes half of a snapshot (paginated lists for one-shot commands, watch-fed
//! caches for the loop), and the writes that carry out a plan. Adapters never decide.

mod deadline;
pub mod discovery;
pub mod lease;
pub mod read;
pub mod watch;
pub mod write;

pub use read::{gather, gather_cached};

use std::path::PathBuf;
use std::time::Duration;

use color_eyre::eyre::{Report, Result, WrapErr, eyre};
use kube::client::ClientBuilder;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::call::{CallError, ErrorClass};
use crate::document::{ItemList, PodGroup, ProvisioningRequest};
use crate::guard::Guard;

/// Objects of optional APIs, each list with the API version it was read at.
pub(crate) type ServedObjects = Vec<(kube::core::ApiResource, Vec<kube::api::DynamicObject>)>;

/// The PodGroups of whichever gang APIs were read, as one part of a snapshot; `None` when none
/// was. Each gets the `apiVersion` it was read at (list items may lack one), which says which
/// API it is of.
pub(crate) fn pod_groups(read: &Option<ServedObjects>) -> Option<ItemList<PodGroup>> {
    let items = typed(read.as_ref()?, |group: &mut PodGroup, api_version| {
        group.api_version = api_version.to_string();
    });
    Some(items.into())
}

/// The ProvisioningRequests read, if their API was.
pub(crate) fn provisioning_requests(
    read: &Option<ServedObjects>,
) -> Option<ItemList<ProvisioningRequest>> {
    let items = typed(
        read.as_ref()?,
        |request: &mut ProvisioningRequest, api_version| {
            request.api_version = api_version.to_string();
        },
    );
    Some(items.into())
}

/// Objects read dynamically, as ekas's types; one that does not fit its type is left out with
/// a warning naming it.
fn typed<T: serde::de::DeserializeOwned>(
    read: &ServedObjects,
    mut stamp: impl FnMut(&mut T, &str),
) -> Vec<T> {
    let mut out = Vec::new();
    for (resource, objects) in read {
        for object in objects {
            let value = serde_json::to_value(object).unwrap_or_default();
            match serde_json::from_value::<T>(value) {
                Ok(mut item) => {
                    stamp(&mut item, &resource.api_version);
                    out.push(item);
                }
                Err(e) => tracing::warn!(
                    kind = %resource.kind,
                    api_version = %resource.api_version,
                    namespace = object.metadata.namespace.as_deref().unwrap_or_default(),
                    name = object.metadata.name.as_deref().unwrap_or_default(),
                    error = %e,
                    "cannot read this object; planning without it"
                ),
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, `~/.kube/config`, or the in-cluster account.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// A call fails when the server sends nothing for this long, or a connection takes this
    /// long to open (`--kube-timeout`). kube's own default is to wait forever.
    pub timeout: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            kubeconfig: None,
            context: None,
            // A LIST page of 500 objects or a PATCH answers in well under a second; ten
            // seconds of silence is a server that is not coming back in time.
            timeout: Duration::from_secs(10),
        }
    }
}

/// A watch is silent for as long as nothing changes, up to the 290 s after which the server
/// closes it (kube's watcher asks for that); only a longer silence is a hung connection.
const WATCH_TIMEOUT: Duration = Duration::from_secs(305);

/// A client for calls that answer at once: each gets `options.timeout`.
pub async fn client(options: &KubeOptions) -> Result<kube::Client> {
    guarded_client(options, Guard::open()).await
}

/// A client whose writes go only while `guard` is open (the Lease is held).
pub async fn guarded_client(options: &KubeOptions, guard: Guard) -> Result<kube::Client> {
    build(options, options.timeout, "--kube-timeout", guard).await
}

/// A client for watches (and their initial lists), which may be silent for minutes. It only
/// reads.
pub async fn watch_client(options: &KubeOptions) -> Result<kube::Client> {
    let timeout = options.timeout.max(WATCH_TIMEOUT);
    build(options, timeout, "watch timeout", Guard::open()).await
}

/// `deadline`: what sets `read_timeout`, for the message when a call runs out of it.
async fn build(
    options: &KubeOptions,
    read_timeout: Duration,
    deadline: &'static str,
    guard: Guard,
) -> Result<kube::Client> {
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
    config.connect_timeout = Some(options.timeout);
    config.read_timeout = Some(read_timeout);
    // Count the read timeout from the request, not from when a pooled connection went idle.
    config.reset_reader_on_write = true;
    let names =
        deadline::NameFailedCalls::new(config.cluster_url.clone(), read_timeout, deadline, guard);
    let builder = ClientBuilder::try_from(config).wrap_err("cannot build a Kubernetes client")?;
    Ok(builder.with_layer(&names).build())
}

/// The API of a namespaced kind in `namespace` (`--namespace`), or in all of them.
pub(crate) fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => kube::Api::namespaced(client.clone(), ns),
        None => kube::Api::all(client.clone()),
    }
}

/// An API error as an operator reads it: what ekas was doing, what the server said, and what to
/// do when the cause is a permission. It carries the error's class ([`CallError`]).
pub fn api_error(error: kube::Error, doing: impl std::fmt::Display) -> Report {
    let class = error_class(&error, false);
    let text = match &error {
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => format!(
            "{doing}: {} (HTTP {}): check the credentials and the RBAC rules of ekas's \
             account (deploy/ lists the verbs it needs)",
            status.message, status.code
        ),
        kube::Error::Api(status) => format!("{doing}: {} (HTTP {})", status.message, status.code),
        // A failed call, named by deadline::NameFailedCalls with its method, URL and cause.
        kube::Error::Service(failed) => format!("{doing}: {failed}"),
        _ => format!("{doing}: {error}"),
    };
    Report::new(CallError::new(class, text))
}

/// The class of a failed call: by HTTP status when the server answered (`eviction`: a 429 is
/// a PodDisruptionBudget's refusal), else a deadline or a shut guard.
pub fn error_class(error: &kube::Error, eviction: bool) -> ErrorClass {
    match error {
        kube::Error::Api(status) => ErrorClass::of_http(status.code, eviction),
        kube::Error::Service(failed) => failed
            .downcast_ref::<deadline::FailedCall>()
            .map_or(ErrorClass::Other, deadline::FailedCall::class),
        _ => ErrorClass::Other,
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

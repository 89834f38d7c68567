//! The Kubernetes side: a client from kubeconfig or the in-cluster service account, and the
//! reads that fill the Kubernetes half of a snapshot. Adapters never decide.

use std::fmt::Debug;
use std::path::PathBuf;

use color_eyre::eyre::{Result, WrapErr, eyre};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use serde::de::DeserializeOwned;

use crate::source::document::{ItemList, KubernetesPart};

/// Objects per LIST page: bounded memory on the API server for large clusters.
const PAGE_SIZE: u32 = 500;

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
    kube::Client::try_from(config).wrap_err("cannot build a Kubernetes client")
}

/// Every object of one kind, page by page.
async fn list_all<K>(client: &kube::Client) -> Result<ItemList<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    K::DynamicType: Default,
{
    paginate(Api::<K>::all(client.clone())).await
}

async fn paginate<K>(api: Api<K>) -> Result<ItemList<K>>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(PAGE_SIZE);
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|e| eyre!("listing {kind}s: {e}"))?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(ItemList::from(items))
}

/// The Kubernetes half of a snapshot, read with paginated LISTs.
pub async fn gather(client: &kube::Client) -> Result<KubernetesPart> {
    let (pods, nodes, pdbs, daemon_sets) = tokio::try_join!(
        list_all::<Pod>(client),
        paginate(Api::<Node>::all(client.clone())),
        list_all::<PodDisruptionBudget>(client),
        list_all::<DaemonSet>(client),
    )?;
    Ok(KubernetesPart {
        pods,
        nodes,
        pod_disruption_budgets: pdbs,
        daemon_sets,
    })
}

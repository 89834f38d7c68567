//! Paginated LISTs for one-shot commands: the Kubernetes half of a snapshot, and the pods on
//! one node.

use std::fmt::Debug;

use color_eyre::eyre::Result;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject, ListParams};
use serde::de::DeserializeOwned;

use super::api_error;
use crate::call::{CallError, ErrorClass};
use crate::decode::cache::PodCache;
// Pods are read straight into ekas's slim type: only the fields it uses are kept.
use super::discovery::{self, OptionalApi, Served};
use crate::document::{ItemList, KubernetesPart, Pod, PodTemplate};

/// Objects per LIST page: bounded memory on the API server for large clusters.
pub const PAGE_SIZE: u32 = 500;

/// Every object of one kind, page by page.
async fn list_all<K>(client: &kube::Client, namespace: Option<&str>) -> Result<ItemList<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    K::DynamicType: Default,
{
    paginate(super::scoped(client, namespace), ListParams::default()).await
}

async fn paginate<K>(api: Api<K>, params: ListParams) -> Result<ItemList<K>>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    pages(api, params).await.map_err(listing_error::<K>)
}

/// A failed LIST of kind `K`, as an operator reads it.
fn listing_error<K: kube::Resource>(e: kube::Error) -> color_eyre::Report
where
    K::DynamicType: Default,
{
    api_error(e, format_args!("listing {}", plural::<K>()))
}

/// `Pods`, `StorageClasses`: a kind's name for people.
fn plural<K: kube::Resource>() -> String
where
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    if kind.ends_with('s') {
        format!("{kind}es")
    } else {
        format!("{kind}s")
    }
}

async fn pages<K>(api: Api<K>, params: ListParams) -> Result<ItemList<K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let mut items = Vec::new();
    each_page(api, params, |page| items.extend(page)).await?;
    Ok(ItemList::from(items))
}

/// Hands each page's objects to `take` as it arrives.
async fn each_page<K>(
    api: Api<K>,
    params: ListParams,
    mut take: impl FnMut(Vec<K>),
) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let mut params = params.limit(PAGE_SIZE);
    loop {
        let page = super::counted("list", &kind, api.list(&params).await)?;
        take(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Every object of a kind the plan can do without, or `None` when ekas's account may not list
/// it (RBAC from before ekas read it): the plan goes on without, and the log says what to grant.
async fn optional<K>(api: Api<K>) -> Result<Option<ItemList<K>>>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
    K::DynamicType: Default,
{
    let kinds = plural::<K>();
    match pages(api, ListParams::default()).await {
        Ok(list) => Ok(Some(list)),
        Err(e) if super::status_code(&e) == Some(403) => {
            tracing::warn!(
                "may not list {kinds}; planning without them (grant list and watch, see deploy/rbac.yaml)"
            );
            Ok(None)
        }
        // A kind the API server does not serve (a CRD not installed): nothing to read.
        Err(e) if super::status_code(&e) == Some(404) => {
            tracing::debug!("the API server does not serve {kinds}; planning without them");
            Ok(None)
        }
        Err(e) => Err(listing_error::<K>(e)),
    }
}

/// The objects of those of `apis` the cluster serves (see [`discovery`]), page by page; `None`
/// when none is served, or ekas may list none of them.
async fn served_objects(
    client: &kube::Client,
    namespace: Option<&str>,
    served: &Served,
    apis: &[OptionalApi],
) -> Result<Option<super::ServedObjects>> {
    let mut read = Vec::new();
    for api in apis {
        let Some(resource) = served.get(api) else {
            continue;
        };
        let dynamic = match namespace {
            Some(ns) => Api::<DynamicObject>::namespaced_with(client.clone(), ns, resource),
            None => Api::<DynamicObject>::all_with(client.clone(), resource),
        };
        let mut params = ListParams::default().limit(PAGE_SIZE);
        let mut objects = Vec::new();
        loop {
            let page = match super::counted("list", &resource.kind, dynamic.list(&params).await) {
                Ok(page) => page,
                Err(e) if super::status_code(&e) == Some(403) => {
                    tracing::warn!(
                        "may not list {}; planning without them (grant list and watch, see \
                         deploy/rbac.yaml)",
                        api.name()
                    );
                    break;
                }
                Err(e) => return Err(api_error(e, format_args!("listing {}", api.name()))),
            };
            objects.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => {
                    read.push((resource.clone(), std::mem::take(&mut objects)));
                    break;
                }
            }
        }
    }
    Ok((!read.is_empty()).then_some(read))
}

/// The Kubernetes half of a snapshot, read with paginated LISTs. `namespace` limits the pods,
/// PodDisruptionBudgets and PersistentVolumeClaims read (`--namespace`); nodes, DaemonSets,
/// namespaces, PersistentVolumes and StorageClasses are always read whole, since every
/// namespace's DaemonSets land on new nodes.
pub async fn gather(client: &kube::Client, namespace: Option<&str>) -> Result<KubernetesPart> {
    let (mut part, pods) = tokio::try_join!(
        gather_but_pods(client, namespace),
        list_all::<Pod>(client, namespace)
    )?;
    part.pods = pods;
    Ok(part)
}

/// Like [`gather`], with the pods built into a [`PodCache`] a page at a time instead of kept
/// as documents: what a plan reads, in the least memory.
pub async fn gather_cached(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<(KubernetesPart, PodCache)> {
    let mut cache = PodCache::default();
    let pods = async {
        let api = super::scoped::<Pod>(client, namespace);
        each_page(api, ListParams::default(), |page| {
            page.into_iter().for_each(|pod| {
                cache.apply(pod);
            })
        })
        .await
        .map_err(listing_error::<Pod>)
    };
    let (part, ()) = tokio::try_join!(gather_but_pods(client, namespace), pods)?;
    Ok((part, cache))
}

/// The Kubernetes half of a snapshot without its pods.
async fn gather_but_pods(client: &kube::Client, namespace: Option<&str>) -> Result<KubernetesPart> {
    let claims = super::scoped::<PersistentVolumeClaim>(client, namespace);
    let served = discovery::served(client).await.map_err(|e| {
        api_error(
            e,
            "discovering the optional APIs (PodGroups, ProvisioningRequests)",
        )
    })?;
    let (pod_groups, requests) = tokio::try_join!(
        served_objects(client, namespace, &served, &OptionalApi::POD_GROUPS),
        served_objects(
            client,
            namespace,
            &served,
            &[OptionalApi::ProvisioningRequests]
        )
    )?;
    let pod_groups = super::pod_groups(&pod_groups);
    let requests = super::provisioning_requests(&requests);
    // PodTemplates matter only for the requests that name them.
    let pod_templates = match &requests {
        Some(list) if !list.items.is_empty() => {
            optional(super::scoped::<PodTemplate>(client, namespace))
                .await?
                .map(|mut list| {
                    list.items.iter_mut().for_each(PodTemplate::trim);
                    list
                })
        }
        _ => None,
    };
    let (nodes, pdbs, daemon_sets, namespaces, claims, volumes, classes) = tokio::try_join!(
        paginate(Api::<Node>::all(client.clone()), ListParams::default()),
        list_all::<PodDisruptionBudget>(client, namespace),
        list_all::<DaemonSet>(client, None),
        optional(Api::<Namespace>::all(client.clone())),
        optional(claims),
        optional(Api::<PersistentVolume>::all(client.clone())),
        optional(Api::<StorageClass>::all(client.clone())),
    )?;
    Ok(KubernetesPart {
        nodes,
        pod_disruption_budgets: pdbs,
        daemon_sets,
        namespaces,
        pod_groups,
        provisioning_requests: requests,
        pod_templates,
        ..KubernetesPart::default()
    }
    .with_storage(claims, volumes, classes))
}

/// Every pod bound to `node`, in all namespaces; with `selector`, those whose labels match it.
pub async fn pods_on_node(
    client: &kube::Client,
    node: &str,
    selector: Option<&str>,
) -> Result<Vec<Pod>> {
    let mut params = ListParams::default().fields(&format!("spec.nodeName={node}"));
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    Ok(paginate(Api::<Pod>::all(client.clone()), params)
        .await?
        .items)
}

/// One node; a missing node is an error that names it.
pub async fn node(client: &kube::Client, name: &str) -> Result<Node> {
    super::counted(
        "get",
        "Node",
        Api::<Node>::all(client.clone()).get(name).await,
    )
    .map_err(|e| match super::status_code(&e) {
        Some(404) => color_eyre::Report::new(CallError::new(
            ErrorClass::NotFound,
            format!("node {name} not found"),
        )),
        _ => api_error(e, format_args!("reading node {name}")),
    })
}

/// One node, or None when there is no node of that name.
pub async fn node_if_exists(client: &kube::Client, name: &str) -> Result<Option<Node>> {
    let found = Api::<Node>::all(client.clone()).get_opt(name).await;
    super::counted("get", "Node", found)
        .map_err(|e| api_error(e, format_args!("reading node {name}")))
}

/// The nodes a label selector picks.
/// Every Node, in pages.
pub async fn all_nodes(client: &kube::Client) -> Result<Vec<Node>> {
    Ok(
        paginate(Api::<Node>::all(client.clone()), ListParams::default())
            .await?
            .items,
    )
}

pub async fn nodes_labelled(client: &kube::Client, selector: &str) -> Result<Vec<Node>> {
    let params = ListParams::default().labels(selector);
    Ok(paginate(Api::<Node>::all(client.clone()), params)
        .await?
        .items)
}

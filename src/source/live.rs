//! The live cluster as a snapshot source: both APIs connected, and the snapshot document read
//! from them — Kubernetes first (or from the loop's caches), so AWS is asked only about what
//! the Nodes do not describe — then the prices of the groups it found (kept between the
//! loop's passes, see [`crate::pricing::cache`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use color_eyre::eyre::Result;
use jiff::Timestamp;

use crate::aws::{self, AwsOptions, RegionClients};
use crate::decode::{self, DecodeOptions};
use crate::document::aws::RegionPart;
use crate::document::{KubernetesPart, SnapshotDocument};
use crate::guard::Guard;
use crate::kubernetes::{self, KubeOptions};
use crate::model::Snapshot;
use crate::pricing::cache::{PriceCache, Refresh};

/// Which cluster, and how to reach its two APIs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub cluster: String,
    /// In order of preference.
    pub regions: Vec<String>,
    pub aws: AwsOptions,
    pub kube: KubeOptions,
    /// Read pods and PodDisruptionBudgets of this namespace only.
    pub namespace: Option<String>,
    /// How long live prices are kept; `None` reads none (`--live-prices=false`).
    pub prices: Option<Refresh>,
}

/// Both APIs, connected: what the subcommands that act on the cluster read and write through.
pub struct Live {
    pub cluster: String,
    pub regions: Vec<String>,
    pub aws: Vec<RegionClients>,
    pub kube: kube::Client,
    namespace: Option<String>,
    /// Live prices, kept for as long as this connection (the loop's life).
    prices: Option<PriceCache>,
}

impl Live {
    /// Connects to AWS first — that checks the region names and credential flags before any
    /// call — then to the Kubernetes API server.
    pub async fn connect(options: &LiveOptions) -> Result<Live> {
        Live::connect_guarded(options, Guard::open()).await
    }

    /// Connects with every change through either API asking `guard` first.
    pub async fn connect_guarded(options: &LiveOptions, guard: Guard) -> Result<Live> {
        let aws = aws::connect(&options.regions, &options.aws)
            .await?
            .into_iter()
            .map(|c| c.guarded(guard.clone()))
            .collect();
        let kube = kubernetes::guarded_client(&options.kube, guard).await?;
        Ok(Live {
            cluster: options.cluster.clone(),
            regions: options.regions.clone(),
            aws,
            kube,
            namespace: options.namespace.clone(),
            prices: price_cache(options),
        })
    }

    /// Reads both halves of a snapshot with paginated LISTs.
    pub async fn document(&self) -> Result<SnapshotDocument> {
        let captured_at = Timestamp::now();
        let kubernetes = kubernetes::gather(&self.kube, self.namespace.as_deref()).await?;
        self.document_with(kubernetes, captured_at).await
    }

    /// Completes a snapshot from a Kubernetes half read elsewhere (the loop's caches).
    pub async fn document_with(
        &self,
        kubernetes: KubernetesPart,
        captured_at: Timestamp,
    ) -> Result<SnapshotDocument> {
        let registered = Arc::new(kubernetes.registered_instances());
        let mut read = aws::gather::each_region(&self.aws, &self.cluster, Some(registered)).await?;
        if let Some(cache) = &self.prices {
            add_prices(cache, &self.aws, &self.cluster, &mut read.parts).await;
        }
        Ok(SnapshotDocument {
            captured_at,
            cluster_name: Some(self.cluster.clone()),
            regions: self.regions.clone(),
            kubernetes,
            aws: read.parts,
            unreachable_regions: read.unreachable,
            recent_removals: Vec::new(),
        })
    }

    /// The live cluster, built: its pods are built a LIST page at a time, never all held as
    /// documents.
    pub async fn snapshot(&self, options: &DecodeOptions) -> Result<Snapshot> {
        let captured_at = Timestamp::now();
        let (kubernetes, pods) =
            kubernetes::gather_cached(&self.kube, self.namespace.as_deref()).await?;
        let doc = self.document_with(kubernetes, captured_at).await?;
        decode::snapshot_with_cached_pods(&doc, &pods, options)
            .map_err(|e| e.wrap_err("live cluster"))
    }
}

/// The AWS half read live, completed with a Kubernetes half from elsewhere (kubectl files):
/// no Kubernetes connection is made.
pub async fn document_with_kubernetes(
    options: &LiveOptions,
    kubernetes: KubernetesPart,
) -> Result<SnapshotDocument> {
    let captured_at = Timestamp::now();
    let clients = aws::connect(&options.regions, &options.aws).await?;
    let mut read = aws::gather::each_region(&clients, &options.cluster, None).await?;
    if let Some(cache) = price_cache(options) {
        add_prices(&cache, &clients, &options.cluster, &mut read.parts).await;
    }
    Ok(SnapshotDocument {
        captured_at,
        cluster_name: Some(options.cluster.clone()),
        regions: options.regions.clone(),
        kubernetes,
        aws: read.parts,
        unreachable_regions: read.unreachable,
        recent_removals: Vec::new(),
    })
}

/// An empty price cache, unless live prices are off; its reads end within `--aws-timeout`.
fn price_cache(options: &LiveOptions) -> Option<PriceCache> {
    let refresh = options.prices?;
    Some(PriceCache::new(refresh, options.aws.timeouts.operation))
}

/// Reads (or takes from the cache) the prices the regions' groups want and puts them in their
/// parts. Never fails: what cannot be read is logged, and other prices stand in.
async fn add_prices(
    cache: &PriceCache,
    clients: &[RegionClients],
    cluster: &str,
    parts: &mut BTreeMap<String, RegionPart>,
) {
    let wanted = parts
        .iter()
        .map(|(region, part)| {
            let wanted = decode::aws::wanted_prices(region, part, cluster);
            (region.clone(), wanted)
        })
        .collect();
    let reader = aws::prices::PriceReader::new(clients);
    let read = cache
        .read(&reader, &wanted, std::time::Instant::now())
        .await;
    for warning in &read.warnings {
        tracing::warn!("{warning}");
    }
    for (region, prices) in read.prices {
        if let Some(part) = parts.get_mut(&region) {
            part.live_prices = Some(prices);
        }
    }
}

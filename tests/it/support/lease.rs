//! A Lease holder other than ekas: a live holder that renews ekas's default Lease, with a clock
//! as far off as a test wants, for `ekas reap` and `ekas run` to contend with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use serde_json::json;

use super::cluster::{LEASE, LEASE_NAMESPACE, TestCluster};

/// The collection of ekas's default Lease (`--lease-namespace ekas`, `--lease-name ekas`).
pub const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ekas/leases";

/// Takes ekas's default Lease as `who` and renews it every 300 ms, writing `renewTime` from a
/// clock `skew` off, until `stop` is set. On the fake it writes through the fake's interface
/// (not requests: the fake's record of writes stays ekas's alone).
pub async fn hold_lease(
    cluster: Arc<TestCluster>,
    who: &str,
    skew: jiff::SignedDuration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let renew = move || json!(MicroTime(jiff::Timestamp::now() + skew));
    cluster
        .add(
            LEASES,
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "ekas", "namespace": LEASE_NAMESPACE},
                "spec": {"holderIdentity": who, "leaseDurationSeconds": 3, "renewTime": renew()}}),
        )
        .await;
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cluster
                .patch(LEASE, json!({"spec": {"renewTime": renew()}}))
                .await;
        }
    })
}

//! A Lease holder other than ekas: a live holder that renews Lease ekas/ekas, with a clock as
//! far off as a test wants, for `ekas reap` and `ekas run` to contend with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

use super::fake_kube::FakeKube;

/// Where ekas's default Lease lives (`--lease-namespace ekas`, `--lease-name ekas`).
pub const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ekas/leases";

/// Renews Lease ekas/ekas as `who` every 300 ms, writing `renewTime` from a clock `skew` off,
/// until `stop` is set.
pub fn hold_lease(
    kube: Arc<FakeKube>,
    who: &str,
    skew: jiff::SignedDuration,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    let renew = move || (jiff::Timestamp::now() + skew).to_string();
    kube.add(
        LEASES,
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "ekas", "namespace": "ekas"},
            "spec": {"holderIdentity": who, "leaseDurationSeconds": 3, "renewTime": renew()}}),
    );
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(300));
            kube.set("leases", Some("ekas"), "ekas", |l| {
                l["spec"]["renewTime"] = json!(renew())
            });
        }
    })
}

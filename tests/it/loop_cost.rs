//! What a steady-state pass of `ekas run` costs, by cluster size: AWS calls (counted by the
//! binary's own metrics) and Kubernetes LIST calls (counted by the fake API server, so on the
//! fake only). The numbers are printed for the README; the test pins the shape: AWS calls per
//! pass do not grow with the node count, and no LIST follows the first.

use std::time::Duration;

use serde_json::json;

use crate::support::cluster::TestCluster;
use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::groups::workers;
use crate::support::moto::Moto;
use crate::support::wait_for;

/// The metrics right after a pass ends, while the loop sleeps: a sample taken during a pass
/// would count some of its AWS calls and not the pass.
async fn just_after_a_pass(port: u16) -> String {
    let passes = |body: &str| metric(body, "ekas_passes_total");
    let start = passes(&http_get(port, "/metrics").unwrap().1);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let body = http_get(port, "/metrics").unwrap().1;
        if passes(&body) > start {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pass ended in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn steady_cost(c: &TestCluster, nodes: usize) -> (f64, usize) {
    let kube = c.fake.as_ref().unwrap();
    let moto = Moto::start();
    let ids = workers(&moto, 0, 2).await;
    // Two Nodes of the managed group; the rest run on instances outside it (other groups).
    for (i, id) in ids.iter().enumerate() {
        c.instance_node(&format!("managed-{i}"), id, json!({}))
            .await;
    }
    let others = nodes - ids.len();
    let clients = moto.clients(&[crate::support::groups::REGION]).await;
    let launched = clients[0]
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
        .min_count(others as i32)
        .max_count(others as i32)
        .send()
        .await
        .unwrap();
    for (i, instance) in launched.instances().iter().enumerate() {
        let id = instance.instance_id().unwrap();
        c.instance_node(&format!("other-{i:05}"), id, json!({}))
            .await;
    }
    let port = free_port();
    let ekas = Ekas::start(c, &moto, port, &["--sleep", "1"]);
    wait_for("two passes", Duration::from_secs(60), async || {
        http_get(port, "/metrics").is_some_and(|(_, b)| metric(&b, "ekas_passes_total") >= 2.0)
    })
    .await;
    let before = just_after_a_pass(port).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = just_after_a_pass(port).await;
    let passes = metric(&after, "ekas_passes_total") - metric(&before, "ekas_passes_total");
    let aws =
        metric(&after, "ekas_aws_api_calls_total") - metric(&before, "ekas_aws_api_calls_total");
    assert!(passes >= 2.0, "{after}");
    let lists = kube.lists("/api/v1/nodes") + kube.lists("/api/v1/pods");
    assert!(ekas.stop().success());
    assert_eq!(c.nodes().await.len(), nodes, "no Node was taken for gone");
    (aws / passes, lists)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_pass_costs_the_same_at_10_1000_and_5000_nodes() {
    let mut costs = Vec::new();
    for nodes in [10, 1_000, 5_000] {
        let c = TestCluster::start().await;
        if c.fake_only("counts LISTs (the request log); 5,000 Nodes")
            .is_none()
        {
            return;
        }
        let (aws, lists) = steady_cost(&c, nodes).await;
        eprintln!("{nodes} nodes: {aws:.1} AWS calls per steady pass; {lists} LISTs in all");
        costs.push(aws);
        // One LIST per kind at start (5,000 nodes take 10 pages of 500), none after.
        assert_eq!(lists, 1 + nodes.div_ceil(500), "{nodes} nodes");
    }
    assert!(
        costs.iter().all(|c| (c - costs[0]).abs() < 0.01),
        "AWS calls per pass grew with the cluster: {costs:?}"
    );
}

//! Every call has a deadline. An endpoint that accepts a connection and never answers (the
//! fault proxy's `Hang`) makes the call fail in time, with an error that names the call and
//! where it went, instead of hanging the command (and holding the Lease) for good.

use std::time::{Duration, Instant};

use ekas::aws::{AwsOptions, AwsTimeouts, gather};
use ekas::notify::{Slack, SlackSettings};

use crate::support::cluster::TestCluster;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::groups::{REGION, workers};
use crate::support::moto::Moto;
use crate::support::*;

/// How long a hung call took to fail, for the log of the test run.
fn elapsed(what: &str, started: Instant) -> Duration {
    let took = started.elapsed();
    eprintln!("{what} failed after {:.2} s", took.as_secs_f64());
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_kubernetes_api_server_fails_the_call_and_names_it() {
    let c = TestCluster::start().await;
    let Some(kube) =
        c.fake_only("a fault proxy in front of the fake's plain HTTP (kubeconfig_via)")
    else {
        return;
    };
    let proxy = FaultProxy::start(&kube.url);
    proxy.inject_path("GET", "/api/v1/pods", Fault::Hang);
    let kubeconfig = kube.kubeconfig_via(&proxy.endpoint);
    let started = Instant::now();
    let out = ekas_within(
        &[
            "plan",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--kube-timeout",
            "2s",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ],
        Duration::from_secs(30),
    );
    let took = elapsed("a hung Kubernetes LIST", started);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for needle in [
        "listing Pods",
        &format!("GET {}/api/v1/pods?", proxy.endpoint),
        "no answer within 2s (--kube-timeout)",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(proxy.hung() >= 1);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

/// Reads the region through the proxy with these attempts and deadlines: the error, and how
/// long it took to come.
async fn read_through(
    moto: &Moto,
    proxy: &FaultProxy,
    max_attempts: u32,
    timeouts: AwsTimeouts,
) -> (String, Duration) {
    let options = AwsOptions {
        endpoint_url: Some(proxy.endpoint.clone()),
        max_attempts,
        timeouts,
        ..moto.options()
    };
    let clients = ekas::aws::connect(&[REGION.to_string()], &options)
        .await
        .unwrap();
    let started = Instant::now();
    let err = gather::all_regions(&clients, "prod", None)
        .await
        .unwrap_err();
    let what = format!("a hung AWS call ({max_attempts} attempts, {timeouts:?})");
    (format!("{err:#}"), elapsed(&what, started))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_aws_endpoint_fails_each_attempt_then_the_call() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject("DescribeAutoScalingGroups", None, Fault::Hang);

    // Each attempt times out and is retried, until the attempts run out.
    let attempts = AwsTimeouts {
        operation: Duration::from_secs(30),
        attempt: Duration::from_secs(1),
    };
    let (err, took) = read_through(&moto, &proxy, 3, attempts).await;
    for needle in [
        "reading AWS region us-west-2",
        "DescribeAutoScalingGroups",
        "timeout",
        "--aws-attempt-timeout",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(proxy.hung(), 3, "every attempt was tried and timed out");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );

    // The call's deadline bounds all attempts together.
    let operation = AwsTimeouts {
        operation: Duration::from_millis(1500),
        attempt: Duration::from_secs(1),
    };
    let (err, took) = read_through(&moto, &proxy, 10, operation).await;
    assert!(
        err.contains("DescribeAutoScalingGroups") && err.contains("--aws-timeout"),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(proxy.hung() <= 3 + 2, "at most two attempts fit in 1.5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_aws_endpoint_stops_reap_in_time_and_frees_the_lease() {
    let moto = Moto::start();
    workers(&moto, 0, 0).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject("DescribeAutoScalingGroups", None, Fault::Hang);
    let c = TestCluster::start().await;
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", proxy.endpoint.clone()));
    let started = Instant::now();
    let out = ekas_within(
        &[
            "reap",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--aws-timeout",
            "2s",
            "--aws-attempt-timeout",
            "1s",
            "--aws-max-attempts",
            "5",
        ],
        &env,
        Duration::from_secs(30),
    );
    let took = elapsed("reap on a hung AWS endpoint", started);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("us-west-2") && err.contains("DescribeAutoScalingGroups"),
        "{err}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    // It held the default Lease while it waited, and gave it back.
    let lease = c.lease().await.expect("the Lease");
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_slack_post_ends_at_its_timeout() {
    // Nothing is ever forwarded: the upstream is never dialled.
    let proxy = FaultProxy::start("127.0.0.1:9");
    proxy.inject_path("POST", "/", Fault::Hang);
    let slack = Slack::new(&SlackSettings {
        hook: format!("{}/services/T0/B0/secret", proxy.endpoint)
            .parse()
            .unwrap(),
        timeout: Duration::from_secs(1),
    })
    .unwrap();
    let started = Instant::now();
    assert!(!slack.post("a scale-up").await, "the post failed");
    let took = elapsed("a hung Slack post", started);
    assert_eq!(proxy.hung(), 1);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_writer_says_which_kind_of_error_stopped_a_change() {
    use ekas::actuate::ErrorClass;
    use ekas::guard::Guard;
    use ekas::kubernetes::KubeOptions;
    use ekas::provider::ClusterWriter;
    let c = TestCluster::start().await;
    let Some(kube) =
        c.fake_only("a fault proxy in front of the fake's plain HTTP (kubeconfig_via)")
    else {
        return;
    };
    c.node("n1", serde_json::json!({})).await;
    let n1 = c.node_name("n1");
    let proxy = FaultProxy::start(&kube.url);
    let options = KubeOptions {
        kubeconfig: Some(kube.kubeconfig_via(&proxy.endpoint)),
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let client = ekas::kubernetes::client(&options).await.unwrap();
    let idle = [("ekas/idle-since", None)];

    let err = client.cordon("missing", true).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound, "{err}");
    // Shut, the client's own guard keeps the PATCH back (the actuator's gate asks first).
    let shut = Guard::for_lease("ekas/ekas".into(), Duration::from_secs(1));
    let guarded = ekas::kubernetes::guarded_client(&options, shut)
        .await
        .unwrap();
    let err = guarded.cordon(&n1, true).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::LeaseLost, "{err}");

    proxy.inject_path("PATCH", &format!("/api/v1/nodes/{n1}"), Fault::Hang);
    let started = Instant::now();
    let err = client.annotate(&n1, &idle).await.unwrap_err();
    elapsed("a hung PATCH", started);
    assert_eq!(err.class, ErrorClass::Timeout, "{err}");
    assert!(err.message.contains("--kube-timeout"), "{err}");
}

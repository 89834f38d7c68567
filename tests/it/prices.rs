//! Live prices end to end: the Price List API (a loopback fake serving the documented response;
//! moto has none) and the Spot price history (moto's, which is "0.00001" in every zone) price
//! the groups, are kept between passes, are recorded by `ekas snapshot` so `plan --snapshot`
//! prices the same, and a refusal or an unreadable answer falls back to the bundled table with
//! a warning.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ekas::aws::AwsOptions;
use ekas::decode::DecodeOptions;
use ekas::kubernetes::KubeOptions;
use ekas::model::Snapshot;
use ekas::pricing::cache::Refresh;
use ekas::pricing::{HourlyPrice, PriceSource};
use ekas::source::live::{Live, LiveOptions};
use serde_json::Value;

use crate::support::aws_setup::{self, LEGACY, Source};
use crate::support::cluster::TestCluster;
use crate::support::fake_pricing::{FakePricing, Mode};
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::groups::REGION;
use crate::support::moto::Moto;
use crate::support::{ekas_with_env, plan_json, stderr};

/// moto with two groups of cluster `prod` in us-west-2a: `od` of m5.xlarge on demand, and
/// `spot` of c5.2xlarge from a launch configuration with a Spot price.
async fn moto_with_groups() -> Moto {
    let moto = Moto::start();
    let c = &moto.clients(&[REGION]).await[0];
    aws_setup::launch_configuration(c, "od-lc", "m5.xlarge").await;
    c.autoscaling
        .create_launch_configuration()
        .launch_configuration_name("spot-lc")
        .image_id("ami-12c6146b")
        .instance_type("c5.2xlarge")
        .spot_price("0.5")
        .send()
        .await
        .unwrap();
    let od = Source::LaunchConfiguration("od-lc");
    aws_setup::group(c, "od", (0, 10, 0), od, LEGACY).await;
    let spot = Source::LaunchConfiguration("spot-lc");
    aws_setup::group(c, "spot", (0, 10, 0), spot, LEGACY).await;
    moto
}

fn price(snapshot: &Snapshot, group: &str) -> HourlyPrice {
    let group = snapshot.groups.iter().find(|g| g.name == group).unwrap();
    group.price.expect("a price")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_prices_price_each_group_and_are_kept_between_passes() {
    let moto = moto_with_groups().await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let pricing = FakePricing::start(Mode::Serve);
    let c = TestCluster::start().await;
    let options = LiveOptions {
        cluster: "prod".into(),
        regions: vec![REGION.into()],
        aws: AwsOptions {
            endpoint_url: Some(proxy.endpoint.clone()),
            pricing_endpoint_url: Some(pricing.endpoint.clone()),
            ..moto.options()
        },
        kube: KubeOptions {
            kubeconfig: Some(c.kubeconfig.clone()),
            ..Default::default()
        },
        namespace: None,
        prices: Some(Refresh {
            spot: Duration::from_secs(2),
            ..Refresh::default()
        }),
    };
    let live = Live::connect(&options).await.unwrap();
    let spot_calls = || proxy.calls("DescribeSpotPriceHistory");
    let pass = async || {
        let started = Instant::now();
        let snapshot = live.snapshot(&DecodeOptions::default()).await.unwrap();
        (snapshot, started.elapsed())
    };

    let (first, took) = pass().await;
    assert_eq!(
        price(&first, "od"),
        HourlyPrice {
            dollars: 0.192,
            source: PriceSource::PriceListApi
        }
    );
    assert_eq!(
        price(&first, "spot"),
        HourlyPrice {
            dollars: 0.00001,
            source: PriceSource::SpotPriceHistory
        }
    );
    // One GetProducts per group type (the fixture's in two pages), one
    // DescribeSpotPriceHistory for the region.
    let asked: BTreeSet<(String, String)> = pricing.calls().into_iter().collect();
    let want: BTreeSet<(String, String)> =
        [("us-west-2", "c5.2xlarge"), ("us-west-2", "m5.xlarge")]
            .into_iter()
            .map(|(r, t)| (r.to_string(), t.to_string()))
            .collect();
    assert_eq!(asked, want);
    assert_eq!((pricing.calls().len(), pricing.next_pages()), (3, 1));
    assert_eq!(spot_calls(), 1);

    // Within both periods: neither API is asked, the prices stand.
    let (second, took_again) = pass().await;
    assert_eq!(pricing.calls().len(), 3);
    assert_eq!(spot_calls(), 1);
    assert_eq!(price(&second, "spot"), price(&first, "spot"));
    eprintln!("a pass reading prices took {took:?}; one using the kept prices {took_again:?}");

    // Past the Spot period: one Spot call, and still no GetProducts.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (third, _) = pass().await;
    assert_eq!(spot_calls(), 2);
    assert_eq!(pricing.calls().len(), 3);
    assert_eq!(price(&third, "od").source, PriceSource::PriceListApi);
}

/// The AWS environment of the `ekas` binary: EC2 and Auto Scaling at `aws`, the Price List API
/// at `pricing`.
fn env(moto: &Moto, aws: &str, pricing: &FakePricing) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_ENDPOINT_URL")
        .collect();
    env.push(("AWS_ENDPOINT_URL", aws.to_string()));
    env.push(("AWS_ENDPOINT_URL_PRICING", pricing.endpoint.clone()));
    env
}

/// `ekas plan -o json` of the live cluster: the plan, and the log.
fn live_plan(c: &TestCluster, env: &[(&str, String)]) -> (Value, String) {
    let out = ekas_with_env(
        &[
            "plan",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "-o",
            "json",
        ],
        env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), stderr(&out))
}

fn group_price(plan: &Value, group: &str) -> (f64, String) {
    let groups = plan["groups"].as_array().unwrap();
    let g = groups.iter().find(|g| g["group"] == group).unwrap();
    (
        g["hourlyPrice"].as_f64().unwrap(),
        g["priceSource"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_records_the_live_prices_and_plans_with_them() {
    let moto = moto_with_groups().await;
    let pricing = FakePricing::start(Mode::Serve);
    let c = TestCluster::start().await;
    let env = env(&moto, &moto.endpoint, &pricing);

    let (plan, log) = live_plan(&c, &env);
    assert_eq!(group_price(&plan, "od"), (0.192, "price-list-api".into()));
    assert_eq!(
        group_price(&plan, "spot"),
        (0.00001, "spot-price-history".into())
    );
    // c5.2xlarge has no product in the fake: said, and no failure.
    assert!(
        log.contains("no Linux on-demand price for c5.2xlarge"),
        "{log}"
    );
    assert!(!log.contains("cannot read"), "{log}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    let out = ekas_with_env(
        &[
            "snapshot",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--out",
            file.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let part = &doc["aws"][REGION];
    assert_eq!(part["prices"], serde_json::json!({"m5.xlarge": 0.192}));
    assert_eq!(
        part["spotPrices"],
        serde_json::json!({"c5.2xlarge": {"us-west-2a": 0.00001}})
    );
    assert!(part.get("livePrices").is_none(), "{part}");

    // Read back anywhere, without AWS: the same prices, from the snapshot.
    let replay = plan_json(&file, &[]);
    assert_eq!(group_price(&replay, "od"), (0.192, "snapshot".into()));
    assert_eq!(group_price(&replay, "spot"), (0.00001, "snapshot".into()));
}

/// EC2's error document.
fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors><RequestID>injected</RequestID></Response>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_unreadable_prices_fall_back_to_the_bundled_table_with_a_warning() {
    let moto = moto_with_groups().await;
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(
        "DescribeSpotPriceHistory",
        None,
        Fault::Fail {
            times: usize::MAX,
            status: 403,
            body: ec2_error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
        },
    );
    let pricing = FakePricing::start(Mode::Deny);
    let c = TestCluster::start().await;
    let env = env(&moto, &proxy.endpoint, &pricing);

    let (plan, log) = live_plan(&c, &env);
    // The bundled on-demand table: m5.xlarge $0.192, c5.2xlarge $0.34 (the Spot group too).
    assert_eq!(group_price(&plan, "od"), (0.192, "bundled".into()));
    assert_eq!(group_price(&plan, "spot"), (0.34, "bundled".into()));
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    let said = |needles: &[&str]| {
        warnings
            .iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .count()
    };
    assert_eq!(
        said(&[
            "pricing:GetProducts",
            "AccessDeniedException",
            "bundled on-demand table",
            "--live-prices=false"
        ]),
        1,
        "{log}"
    );
    assert_eq!(
        said(&[
            "ec2:DescribeSpotPriceHistory",
            "UnauthorizedOperation",
            "as on-demand"
        ]),
        1,
        "{log}"
    );
    // Once per region and API, though every type was refused.
    assert_eq!(said(&["cannot read"]), 2, "{log}");

    // An answer ekas cannot read: named, and the bundled price stands.
    pricing.set_mode(Mode::Garbage);
    let (plan, log) = live_plan(&c, &env);
    assert_eq!(group_price(&plan, "od"), (0.192, "bundled".into()));
    assert!(
        log.contains("(malformed)")
            && log.contains(r#"pricePerUnit.USD "a dime" is not a number"#)
            && log.contains("pricing groups from the bundled on-demand table"),
        "{log}"
    );

    // Turned off: no call at all, no warning.
    let before = (
        pricing.calls().len(),
        proxy.calls("DescribeSpotPriceHistory"),
    );
    let out = ekas_with_env(
        &[
            "plan",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--live-prices=false",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("WARN"), "{}", stderr(&out));
    let after = (
        pricing.calls().len(),
        proxy.calls("DescribeSpotPriceHistory"),
    );
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_warns_once_counts_every_failure_and_asks_again_only_after_a_while() {
    use crate::support::ekas_loop::{Ekas, Logged, free_port, http_get, metric};
    let moto = moto_with_groups().await;
    let pricing = FakePricing::start(Mode::Deny);
    let c = TestCluster::start().await;
    let port = free_port();
    let mut cmd = Ekas::command(&c, port, &["--regions", REGION, "--sleep", "1"]);
    for (k, v) in env(&moto, &moto.endpoint, &pricing) {
        cmd.env(k, v);
    }
    let ekas = Logged::spawn(cmd);
    let passes =
        || http_get(port, "/metrics").map_or(0.0, |(_, b)| metric(&b, "ekas_passes_total"));
    crate::support::wait_for("three passes", Duration::from_secs(60), async || {
        passes() >= 3.0
    })
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    let denied = metric(
        &body,
        "ekas_price_fetch_failures_total{api=\"GetProducts\",reason=\"denied\"}",
    );
    // The first pass asked once for each type, and no pass since (the retry is minutes away).
    assert_eq!(denied, 2.0, "{body}");
    assert_eq!(pricing.calls().len(), 2);
    let warned = ekas
        .lines()
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("pricing:GetProducts"))
        .count();
    assert_eq!(warned, 1, "{}", ekas.lines().join("\n"));
    assert!(ekas.ekas.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_list_api_that_never_answers_costs_a_plan_its_deadline() {
    let moto = moto_with_groups().await;
    let pricing = FakePricing::start(Mode::Serve);
    // Takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = env(&moto, &moto.endpoint, &pricing);
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL_PRICING");
    env.push((
        "AWS_ENDPOINT_URL_PRICING",
        format!("http://{}", silent.local_addr().unwrap()),
    ));
    let c = TestCluster::start().await;
    let started = Instant::now();
    let out = crate::support::ekas_within(
        &[
            "plan",
            "--kubeconfig",
            c.kubeconfig_arg(),
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--aws-timeout",
            "3s",
            "--aws-attempt-timeout",
            "1s",
            "-o",
            "json",
        ],
        &env,
        Duration::from_secs(30),
    );
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    eprintln!("plan with a silent Price List API took {took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    let log = stderr(&out);
    assert!(log.contains("(timeout)"), "{log}");
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(group_price(&plan, "od"), (0.192, "bundled".into()));
    // Spot prices came from EC2 all the same.
    assert_eq!(
        group_price(&plan, "spot"),
        (0.00001, "spot-price-history".into())
    );
    drop(silent);
}

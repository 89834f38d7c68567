//! Scale-in and scale-up on the bad days of issue #10, end to end on moto, the test's cluster
//! (the fake API server, or a real one) and the real binary: a cluster whose Nodes carry no providerID, a cluster most of whose
//! Nodes went NotReady at once, and a GPU node whose device plugin is slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::groups::{REGION, desired, group, reap_args};

use crate::support::cluster::{TestCluster, unscheduled};
use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::moto::Moto;
use crate::support::receiver::Receiver;
use crate::support::*;

/// (private DNS name, private IP) of each instance, in the order of `ids`.
async fn addresses(moto: &Moto, ids: &[String]) -> Vec<(String, String)> {
    let c = &moto.clients(&[REGION]).await[0];
    let out = c
        .ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await
        .unwrap();
    let found: Vec<(String, String, String)> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap().to_string(),
                i.private_dns_name().unwrap().to_string(),
                i.private_ip_address().unwrap().to_string(),
            )
        })
        .collect();
    ids.iter()
        .map(|id| {
            let (_, dns, ip) = found.iter().find(|(i, _, _)| i == id).unwrap();
            (dns.clone(), ip.clone())
        })
        .collect()
}

/// A Ready node as kubeadm registers it without a cloud provider: no providerID, named by its
/// host, with its addresses.
fn kubeadm_node(name: &str, addresses: Value, created: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": created},
        "status": {
            "addresses": addresses,
            "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "58"},
            "conditions": [{"type": "Ready", "status": "True",
                "lastTransitionTime": created}]
        }
    })
}

fn running_on(name: &str, node: &str) -> Value {
    let mut p = pod(name, "500m", "1Gi");
    p["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    p["spec"]["nodeName"] = json!(node);
    p["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_on_a_cluster_without_provider_ids_terminates_nothing() {
    let moto = Moto::start();
    let ids = crate::support::groups::workers(&moto, 0, 3).await;
    let names = addresses(&moto, &ids).await;
    let c = TestCluster::start().await;
    // Nodes named by their private DNS name (Amazon Linux) or by their short host name with
    // the InternalIP (Ubuntu): ekas finds their instances without a providerID.
    for (i, (dns, ip)) in names.iter().enumerate() {
        let (name, addresses) = if i == 0 {
            (dns.clone(), json!([{"type": "Hostname", "address": dns}]))
        } else {
            let host = dns.split('.').next().unwrap().to_string();
            (
                host.clone(),
                json!([{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": host}]),
            )
        };
        c.create_node(kubeadm_node(&name, addresses, "2026-01-01T00:00:00Z"))
            .await;
        c.add_pod(running_on(&format!("job-{i}"), &name)).await;
    }
    let kubeconfig = c.kubeconfig_arg();
    // Every member is old enough to be replaced, were it taken for one that never joined.
    let args = reap_args(kubeconfig, &["--instance-init-time", "0"]);
    let before = group(&moto).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await, before, "{}", stdout(&out));
    assert!(!stdout(&out).contains("replace"), "{}", stdout(&out));
    let plan = ekas_with_env(
        &[
            "plan",
            "--kubeconfig",
            kubeconfig,
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--output",
            "json",
        ],
        &moto.env(),
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let groups: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["group"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(groups, ["workers"; 3], "{plan}");
    assert_eq!(plan["instances"], json!([]));

    // Nodes ekas cannot tie to an instance at all (custom names, no addresses), registered
    // after the instances launched: they may be the members, so no member is replaced.
    drop(c);
    let c = TestCluster::start().await;
    let now = jiff::Timestamp::now().to_string();
    for i in 0..3 {
        let name = c.node_name(&format!("worker-{i}"));
        c.create_node(kubeadm_node(&name, json!([]), &now)).await;
        c.add_pod(running_on(&format!("job-{i}"), &name)).await;
    }
    let args = reap_args(c.kubeconfig_arg(), &["--instance-init-time", "0"]);
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await, before, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(
            "3 of 3 members match no Node by providerID, private DNS, IP or aws/id label"
        ),
        "{}",
        stderr(&out)
    );
}

/// What the NotReady fixtures need of the fake: a real API server makes every Node new, and a
/// new Node that is NotReady is one still starting (it never worked), not a dead one.
const UP_SINCE_JANUARY: &str = "Nodes up since January (creation times as the test sets them)";

/// Five members of `workers` and their Nodes, up since January; four NotReady since June (the
/// CNI died, say): each alone would be dead. Returns the instance ids.
async fn mass_notready(moto: &Moto, c: &TestCluster) -> Vec<String> {
    let ids = crate::support::groups::workers(moto, 0, 5).await;
    for (i, id) in ids.iter().enumerate() {
        let extra = if i < 4 { not_ready() } else { json!({}) };
        c.instance_node(&format!("n{i}"), id, extra).await;
    }
    ids
}

/// NotReady since June.
fn not_ready() -> Value {
    json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "lastTransitionTime": "2026-06-01T00:00:00Z"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_on_a_mass_notready_cluster_terminates_nothing_and_says_why() {
    let moto = Moto::start();
    let c = TestCluster::start().await;
    if c.fake_only(UP_SINCE_JANUARY).is_none() {
        return;
    }
    let ids = mass_notready(&moto, &c).await;
    let slack = Receiver::start(200);
    let hook = format!("{}/hook", slack.url);
    let kubeconfig = c.kubeconfig_arg();
    let args = reap_args(kubeconfig, &["--slack-hook", &hook]);
    let before = group(&moto).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await, before, "nothing terminated");
    let nodes = c.nodes().await;
    assert_eq!(nodes.len(), 5, "no Node deleted");
    assert!(
        nodes.iter().all(|n| n["spec"]["unschedulable"].is_null()),
        "none cordoned: {nodes:?}"
    );
    let why = "the cluster looks unhealthy: 4 of 5 nodes NotReady, more than \
               --ok-total-unready-count 3 and --max-total-unready-percentage 45%";
    assert!(stderr(&out).contains(why), "{}", stderr(&out));
    let texts = slack.texts();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Scale-in stopped") && t.contains(why)),
        "{texts:?}"
    );

    // Told to tolerate four NotReady nodes, ekas takes them for dead machines.
    let more = reap_args(kubeconfig, &["--ok-total-unready-count", "4"]);
    let out = ekas_with_env(&more, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await.1, [ids[4].clone()], "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_node_that_joins_late_is_bought_once() {
    let moto = Arc::new(Moto::start());
    let aws = &moto.clients(&[REGION]).await[0];
    crate::support::aws_setup::launch_configuration(aws, "gpu-lc", "g4dn.xlarge").await;
    crate::support::aws_setup::workers(aws, "gpu", (0, 10, 0), "gpu-lc").await;
    let c = Arc::new(TestCluster::start().await);
    let mut train = pod("train", "1", "4Gi");
    train["spec"]["containers"][0]["resources"]["limits"] = json!({"nvidia.com/gpu": "1"});
    c.add_pod(train).await;
    let gpu_0 = c.node_name("gpu-0");

    // The node joins Ready, but its device plugin advertises the GPU only after a while.
    let advertise = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let join = tokio::spawn({
        let (c, moto, advertise, stop) = (c.clone(), moto.clone(), advertise.clone(), stop.clone());
        let gpu_0 = gpu_0.clone();
        async move {
            let aws = &moto.clients(&[REGION]).await[0];
            let mut joined: Option<String> = None;
            while !stop.load(Ordering::Relaxed) {
                let out = aws
                    .autoscaling
                    .describe_auto_scaling_instances()
                    .send()
                    .await;
                for i in out.iter().flat_map(|o| o.auto_scaling_instances()) {
                    let id = i.instance_id().unwrap_or_default().to_string();
                    if joined.is_some() || i.lifecycle_state() != Some("InService") {
                        continue;
                    }
                    let now = jiff::Timestamp::now().to_string();
                    c.create_node(json!({"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": gpu_0, "creationTimestamp": now},
                        "spec": {"providerID": format!("aws:///{REGION}a/{id}")},
                        "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "29"},
                            "conditions": [{"type": "Ready", "status": "True",
                                "lastTransitionTime": now}]}}))
                        .await;
                    joined = Some(id);
                }
                if joined.is_some() && advertise.load(Ordering::Relaxed) {
                    let gpu = json!({"status": {"allocatable": {"nvidia.com/gpu": "1"}}});
                    c.patch_node_status("gpu-0", gpu).await;
                    // Bound by kube-scheduler on a real cluster, by the test on the fake.
                    if c.fake.is_some() {
                        c.bind("train", &gpu_0).await;
                    }
                    while c.pod_object("train").await.unwrap()["spec"]["nodeName"] != gpu_0.as_str()
                    {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    c.patch_status(
                        &format!("{}/train", c.collection("v1", "pods")),
                        json!({"status": {"phase": "Running"}}),
                    )
                    .await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });

    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1"]);
    wait_for(
        "the GPU node to join",
        Duration::from_secs(60),
        async || c.node_object("gpu-0").await.is_some(),
    )
    .await;
    // Several passes while the node is Ready but shows no GPU.
    let passes =
        || http_get(port, "/metrics").map_or(0.0, |(_, b)| metric(&b, "ekas_passes_total"));
    let joined_at = passes();
    wait_for("three passes", Duration::from_secs(30), async || {
        passes() >= joined_at + 3.0
    })
    .await;
    assert_eq!(
        desired(&moto, REGION, "gpu").await,
        1,
        "no second GPU node for the same pod"
    );
    advertise.store(true, Ordering::Relaxed);
    wait_for("the pod to run", Duration::from_secs(30), async || {
        c.pod_object("train")
            .await
            .is_some_and(|p| p["spec"]["nodeName"] == gpu_0.as_str())
    })
    .await;
    let settled = passes();
    wait_for("two more passes", Duration::from_secs(30), async || {
        passes() >= settled + 2.0
    })
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert_eq!(
        metric(&body, "ekas_scale_ups_total{group=\"gpu\"}"),
        1.0,
        "{body}"
    );
    assert_eq!(desired(&moto, REGION, "gpu").await, 1);
    assert!(ekas.stop().success());
    stop.store(true, Ordering::Relaxed);
    join.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_is_skipped_when_a_node_answers_to_the_instance_now() {
    use ekas::actuate::maintenance::Maintainer;
    use ekas::actuate::{AppliedKind, Outcome, Skip};
    use ekas::decode::{self, DecodeOptions};
    use ekas::engine::{self, Config};

    // Three members that never joined, launched an hour before the snapshot.
    let mut doc = small_snapshot(0);
    let part = &mut doc["aws"]["us-west-2"];
    let ids = [
        "i-by-name",
        "i-by-label",
        "i-by-address",
        "i-by-provider",
        "i-nothing",
    ];
    part["autoScalingGroups"]["AutoScalingGroups"][0]["DesiredCapacity"] = json!(5);
    part["autoScalingGroups"]["AutoScalingGroups"][0]["Instances"] = ids
        .iter()
        .map(|id| json!({"InstanceId": id, "LifecycleState": "InService"}))
        .collect();
    part["instances"] = json!({"Reservations": [{"Instances": ids.iter().enumerate().map(|(i, id)| json!({
        "InstanceId": id, "InstanceType": "m5.xlarge", "State": {"Name": "running"},
        "LaunchTime": "2026-11-27T11:00:00Z",
        "PrivateDnsName": format!("ip-10-0-0-{i}.us-west-2.compute.internal"),
        "PrivateIpAddress": format!("10.0.0.{i}")})).collect::<Vec<_>>()}]});
    let doc = ekas::source::file::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default()).unwrap();
    let mut config = Config::default();
    config.maintenance.max_scale_in_fraction = 1.0;
    let plan = engine::plan(&snapshot, &config);
    assert!(
        plan.instances
            .iter()
            .all(|i| i.action == ekas::plan::InstanceActionKind::Replace)
    );

    // Since the plan, two of them registered: one under its DNS name, one with the original
    // tool's label.
    let c = TestCluster::start().await;
    let by_name = "ip-10-0-0-0.us-west-2.compute.internal";
    c.create_node(kubeadm_node(by_name, json!([]), "2026-11-27T12:00:00Z"))
        .await;
    let worker_7 = c.node_name("worker-7");
    let mut labelled = kubeadm_node(&worker_7, json!([]), "2026-11-27T12:00:00Z");
    labelled["metadata"]["labels"] = json!({"aws/id": "i-by-label"});
    c.create_node(labelled).await;
    // And two under names that say nothing: one reporting the instance's IP, one its providerID.
    let gpu_worker_3 = c.node_name("gpu-worker-3");
    c.create_node(kubeadm_node(
        &gpu_worker_3,
        json!([{"type": "InternalIP", "address": "10.0.0.2"}]),
        "2026-11-27T12:00:00Z",
    ))
    .await;
    let batch_9 = c.node_name("batch-9");
    let mut provided = kubeadm_node(&batch_9, json!([]), "2026-11-27T12:00:00Z");
    provided["spec"] = json!({"providerID": "aws:///us-west-2a/i-by-provider"});
    c.create_node(provided).await;
    let maintainer = Maintainer {
        kube: &c.client,
        aws: &[],
        guard: ekas::guard::Guard::open(),
        drain: config.maintenance.drain,
        dry_run: false,
    };
    let applied = maintainer
        .apply_parts(
            &plan,
            ekas::actuate::Parts {
                scale_up: false,
                maintenance: true,
            },
        )
        .await;
    let outcome = |id: &str| {
        applied
            .iter()
            .find(|a| a.kind == AppliedKind::ReplaceInstance && a.target == id)
            .map(|a| a.outcome.clone())
            .unwrap()
    };
    for (id, node) in [
        ("i-by-label", worker_7.as_str()),
        ("i-by-name", by_name),
        ("i-by-address", gpu_worker_3.as_str()),
        ("i-by-provider", batch_9.as_str()),
    ] {
        assert!(
            matches!(outcome(id), Outcome::Skipped(Skip::NodeAnswers { node: n }) if n == node),
            "{id}: {:?}",
            outcome(id)
        );
    }
    // Nothing answers to the last: it goes ahead (and, with no AWS client here, fails).
    assert!(
        matches!(outcome("i-nothing"), Outcome::Failed(why) if why.message.contains("no AWS client")),
        "{:?}",
        outcome("i-nothing")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_says_once_that_the_cluster_looks_unhealthy_and_again_when_it_recovers() {
    let moto = Moto::start();
    let c = TestCluster::start().await;
    if c.fake_only(UP_SINCE_JANUARY).is_none() {
        return;
    }
    mass_notready(&moto, &c).await;
    let slack = Receiver::start(200);
    let hook = format!("{}/hook", slack.url);
    let port = free_port();
    let ekas = Ekas::start(&c, &moto, port, &["--sleep", "1", "--slack-hook", &hook]);
    let passes =
        || http_get(port, "/metrics").map_or(0.0, |(_, b)| metric(&b, "ekas_passes_total"));
    wait_for("three passes", Duration::from_secs(30), async || {
        passes() >= 3.0
    })
    .await;
    let body = http_get(port, "/metrics").unwrap().1;
    assert_eq!(metric(&body, "ekas_cluster_unhealthy "), 1.0, "{body}");
    assert_eq!(metric(&body, "ekas_unready_nodes "), 4.0, "{body}");
    assert_eq!(group(&moto).await.1.len(), 5, "nothing terminated");
    let events = c.events().await;
    let warnings: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "ClusterUnhealthy")
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(warnings[0]["type"], "Warning");
    assert_eq!(warnings[0]["regarding"]["kind"], "Lease");

    // The network comes back.
    for i in 0..4 {
        let mut ready = not_ready();
        ready["status"]["conditions"][0]["status"] = json!("True");
        c.patch_node_status(&format!("n{i}"), ready).await;
    }
    wait_for("the all-clear", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_cluster_unhealthy ") == 0.0)
    })
    .await;
    let seen = passes();
    wait_for("two more passes", Duration::from_secs(30), async || {
        passes() >= seen + 2.0
    })
    .await;
    assert!(ekas.stop().success());
    let texts = slack.texts();
    let said = |what: &str| texts.iter().filter(|t| t.contains(what)).count();
    assert_eq!(said("Scale-in stopped"), 1, "{texts:?}");
    assert_eq!(said("looks healthy again"), 1, "{texts:?}");
}

/// Ten members of `workers` with Ready Nodes up since January; the first `dead` NotReady since
/// June. Returns the instance ids.
async fn some_dead(moto: &Moto, c: &TestCluster, dead: usize) -> Vec<String> {
    let ids = crate::support::groups::workers(moto, 0, 10).await;
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "lastTransitionTime": "2026-06-01T00:00:00Z",
        "lastHeartbeatTime": "2026-06-01T00:00:00Z"}]}});
    for (i, id) in ids.iter().enumerate() {
        let extra = if i < dead {
            not_ready.clone()
        } else {
            json!({})
        };
        c.instance_node(&format!("n{i}"), id, extra).await;
    }
    ids
}

/// `ekas run` with the default budget: a tenth of the nodes per ten minutes.
fn budgeted_run(c: &TestCluster, moto: &Moto, port: u16) -> Ekas {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ekas"));
    cmd.args(["run", "--kubeconfig", c.kubeconfig_arg()])
        .args([
            "--cluster-name",
            "prod",
            "--regions",
            REGION,
            "--sleep",
            "1",
        ])
        .args(["--metrics-address", &format!("127.0.0.1:{port}"), "-v"])
        .env_remove("KUBECONFIG")
        .envs(moto.env());
    Ekas(cmd.spawn().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_nodes_go_one_window_at_a_time_across_passes_and_restarts() {
    let moto = Moto::start();
    let c = TestCluster::start().await;
    if c.fake_only(UP_SINCE_JANUARY).is_none() {
        return;
    }
    // 40 % NotReady: under the unready brake, so each looks like one dead machine.
    some_dead(&moto, &c, 4).await;
    let port = free_port();
    let first = budgeted_run(&c, &moto, port);
    wait_for(
        "a dead node terminated",
        Duration::from_secs(30),
        async || c.nodes().await.len() == 9,
    )
    .await;
    // Passes follow each other (every second) for a while: nothing more this window.
    wait_for("ten more passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 10.0)
    })
    .await;
    assert_eq!(c.nodes().await.len(), 9, "one removal per window");
    let lease = c.lease().await.unwrap();
    let recorded = lease["metadata"]["annotations"]["ekas/recent-removals"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(recorded.split(',').count(), 1, "{lease}");
    assert!(first.stop().success());

    // A new process reads the window's removals from the Lease: still nothing more.
    let second_port = free_port();
    let second = budgeted_run(&c, &moto, second_port);
    wait_for("five passes", Duration::from_secs(30), async || {
        http_get(second_port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 5.0)
    })
    .await;
    assert_eq!(c.nodes().await.len(), 9, "the budget survived the restart");
    let held = http_get(second_port, "/metrics").unwrap().1;
    assert!(metric(&held, "ekas_nodes{state=\"dead\"}") >= 3.0, "{held}");
    assert!(second.stop().success());
}

/// Consolidation through the API: `ekas reap` taints the under-used node (keeping the taints it
/// had) and records the removal it began on the Lease; a pending pod that fits only there makes
/// the next `reap` take the mark off, and nothing was evicted or terminated on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consolidation_marks_a_node_through_the_api_and_takes_the_mark_off() {
    let moto = Moto::start();
    let ids = crate::support::groups::workers(&moto, 0, 3).await;
    // Its Lease namespace exists.
    let cluster = TestCluster::start().await;
    // 3.92 cpu nodes: a runs 0.5 cpu, b 2, c 3.
    let taint = json!({"key": "example.com/team", "value": "ml", "effect": "PreferNoSchedule"});
    for (i, (name, cpu)) in [("a", "500m"), ("b", "2"), ("c", "3")]
        .into_iter()
        .enumerate()
    {
        let extra = match name {
            "a" => json!({"spec": {"taints": [taint]}}),
            _ => json!({}),
        };
        cluster.instance_node(name, &ids[i], extra).await;
        let mut p = running_on(&format!("job-{name}"), &cluster.node_name(name));
        p["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": cpu, "memory": "1Gi"}});
        cluster.add_pod(p).await;
    }
    let args = reap_args(cluster.kubeconfig_arg(), &[]);
    let before = group(&moto).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let a = cluster.node_object("a").await.unwrap();
    assert_eq!(
        a["spec"]["taints"],
        json!([taint, {"key": "ekas.dev/consolidating", "effect": "PreferNoSchedule"}]),
        "{}",
        stdout(&out)
    );
    let since = a["metadata"]["annotations"]["ekas.dev/consolidating"]
        .as_str()
        .unwrap();
    assert!(since.parse::<jiff::Timestamp>().is_ok(), "{since}");
    for other in ["b", "c"] {
        let n = cluster.node_object(other).await.unwrap();
        assert!(n["spec"]["taints"].is_null(), "{other}: {n}");
    }
    let lease = cluster.lease().await.unwrap();
    assert!(
        lease["metadata"]["annotations"]["ekas/recent-removals"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "the mark is a removal begun: {lease}"
    );

    // 3 cpu fits only on a: the mark goes, the team's taint stays. (Pending while ekas looks:
    // kube-scheduler, on a real cluster, would bind it to a first.)
    let big = unscheduled(crate::support::pod("big", "3", "1Gi"));
    cluster.add_pod(big).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let a = cluster.node_object("a").await.unwrap();
    assert_eq!(a["spec"]["taints"], json!([taint]), "{}", stdout(&out));
    assert!(a["metadata"]["annotations"]["ekas.dev/consolidating"].is_null());
    assert_eq!(group(&moto).await, before, "nothing terminated");
    let pods = cluster.pod_names().await;
    assert_eq!(pods, ["big", "job-a", "job-b", "job-c"], "nothing evicted");
    if let Some(kube) = cluster.fake_checks("the fake's record of evictions") {
        assert!(kube.evictions().is_empty(), "{:?}", kube.evictions());
    }
}

//! Scale-in and scale-up on the bad days of issue #10, end to end on moto, the fake API server
//! and the real binary: a cluster whose Nodes carry no providerID, a cluster most of whose
//! Nodes went NotReady at once, and a GPU node whose device plugin is slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::groups::{REGION, desired, group, node, reap_args};

use crate::support::ekas_loop::{Ekas, free_port, http_get, metric};
use crate::support::fake_kube::FakeKube;
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
    let kube = FakeKube::start();
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
        kube.add(
            "/api/v1/nodes",
            kubeadm_node(&name, addresses, "2026-01-01T00:00:00Z"),
        );
        kube.add("/api/v1/pods", running_on(&format!("job-{i}"), &name));
    }
    let kubeconfig = kube.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
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
    let kube = FakeKube::start();
    let now = jiff::Timestamp::now().to_string();
    for i in 0..3 {
        let name = format!("worker-{i}");
        kube.add("/api/v1/nodes", kubeadm_node(&name, json!([]), &now));
        kube.add("/api/v1/pods", running_on(&format!("job-{i}"), &name));
    }
    let kubeconfig = kube.kubeconfig();
    let args = reap_args(kubeconfig.to_str().unwrap(), &["--instance-init-time", "0"]);
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

/// Five members of `workers` and their Nodes, up since January; four NotReady since June (the
/// CNI died, say): each alone would be dead. Returns the instance ids.
async fn mass_notready(moto: &Moto, kube: &FakeKube) -> Vec<String> {
    let ids = crate::support::groups::workers(moto, 0, 5).await;
    let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False",
        "lastTransitionTime": "2026-06-01T00:00:00Z"}]}});
    for (i, id) in ids.iter().enumerate() {
        let extra = if i < 4 { not_ready.clone() } else { json!({}) };
        kube.add("/api/v1/nodes", node(&format!("n{i}"), id, extra));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_on_a_mass_notready_cluster_terminates_nothing_and_says_why() {
    let moto = Moto::start();
    let kube = FakeKube::start();
    let ids = mass_notready(&moto, &kube).await;
    let slack = Receiver::start(200);
    let hook = format!("{}/hook", slack.url);
    let kubeconfig = kube.kubeconfig();
    let args = reap_args(kubeconfig.to_str().unwrap(), &["--slack-hook", &hook]);
    let before = group(&moto).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await, before, "nothing terminated");
    let nodes = kube.objects("nodes");
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
    let more = reap_args(
        kubeconfig.to_str().unwrap(),
        &["--ok-total-unready-count", "4"],
    );
    let out = ekas_with_env(&more, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(group(&moto).await.1, [ids[4].clone()], "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_node_that_joins_late_is_bought_once() {
    let moto = Arc::new(Moto::start());
    let c = &moto.clients(&[REGION]).await[0];
    crate::support::aws_setup::launch_configuration(c, "gpu-lc", "g4dn.xlarge").await;
    crate::support::aws_setup::workers(c, "gpu", (0, 10, 0), "gpu-lc").await;
    let kube = Arc::new(FakeKube::start());
    let mut train = pod("train", "1", "4Gi");
    train["spec"]["containers"][0]["resources"]["limits"] = json!({"nvidia.com/gpu": "1"});
    kube.add("/api/v1/pods", train);

    // The node joins Ready, but its device plugin advertises the GPU only after a while.
    let advertise = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let join = tokio::spawn({
        let (kube, moto, advertise, stop) =
            (kube.clone(), moto.clone(), advertise.clone(), stop.clone());
        async move {
            let c = &moto.clients(&[REGION]).await[0];
            let mut joined: Option<String> = None;
            while !stop.load(Ordering::Relaxed) {
                let out = c.autoscaling.describe_auto_scaling_instances().send().await;
                for i in out.iter().flat_map(|o| o.auto_scaling_instances()) {
                    let id = i.instance_id().unwrap_or_default().to_string();
                    if joined.is_some() || i.lifecycle_state() != Some("InService") {
                        continue;
                    }
                    let now = jiff::Timestamp::now().to_string();
                    kube.add(
                        "/api/v1/nodes",
                        json!({"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": "gpu-0", "creationTimestamp": now},
                            "spec": {"providerID": format!("aws:///{REGION}a/{id}")},
                            "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "29"},
                                "conditions": [{"type": "Ready", "status": "True",
                                    "lastTransitionTime": now}]}}),
                    );
                    joined = Some(id);
                }
                if joined.is_some() && advertise.load(Ordering::Relaxed) {
                    kube.set("nodes", None, "gpu-0", |n| {
                        n["status"]["allocatable"]["nvidia.com/gpu"] = json!("1");
                    });
                    kube.set("pods", Some("batch"), "train", |p| {
                        p["spec"]["nodeName"] = json!("gpu-0");
                        p["status"] = json!({"phase": "Running"});
                    });
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });

    let port = free_port();
    let ekas = Ekas::start(&kube, &moto, port, &["--sleep", "1"]);
    wait_for(
        "the GPU node to join",
        Duration::from_secs(60),
        async || kube.object("nodes", None, "gpu-0").is_some(),
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
        kube.object("pods", Some("batch"), "train")
            .is_some_and(|p| p["spec"]["nodeName"] == "gpu-0")
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
    let kube = FakeKube::start();
    kube.add(
        "/api/v1/nodes",
        kubeadm_node(
            "ip-10-0-0-0.us-west-2.compute.internal",
            json!([]),
            "2026-11-27T12:00:00Z",
        ),
    );
    let mut labelled = kubeadm_node("worker-7", json!([]), "2026-11-27T12:00:00Z");
    labelled["metadata"]["labels"] = json!({"aws/id": "i-by-label"});
    kube.add("/api/v1/nodes", labelled);
    // And two under names that say nothing: one reporting the instance's IP, one its providerID.
    kube.add(
        "/api/v1/nodes",
        kubeadm_node(
            "gpu-worker-3",
            json!([{"type": "InternalIP", "address": "10.0.0.2"}]),
            "2026-11-27T12:00:00Z",
        ),
    );
    let mut provided = kubeadm_node("batch-9", json!([]), "2026-11-27T12:00:00Z");
    provided["spec"] = json!({"providerID": "aws:///us-west-2a/i-by-provider"});
    kube.add("/api/v1/nodes", provided);
    let client = ekas::kubernetes::client(&ekas::kubernetes::KubeOptions {
        kubeconfig: Some(kube.kubeconfig()),
        ..Default::default()
    })
    .await
    .unwrap();
    let maintainer = Maintainer {
        kube: &client,
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
        ("i-by-label", "worker-7"),
        ("i-by-name", "ip-10-0-0-0.us-west-2.compute.internal"),
        ("i-by-address", "gpu-worker-3"),
        ("i-by-provider", "batch-9"),
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
    let kube = FakeKube::start();
    mass_notready(&moto, &kube).await;
    let slack = Receiver::start(200);
    let hook = format!("{}/hook", slack.url);
    let port = free_port();
    let ekas = Ekas::start(&kube, &moto, port, &["--sleep", "1", "--slack-hook", &hook]);
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
    let events = kube.objects("events.events.k8s.io");
    let warnings: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "ClusterUnhealthy")
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(warnings[0]["type"], "Warning");
    assert_eq!(warnings[0]["regarding"]["kind"], "Lease");

    // The network comes back.
    for i in 0..4 {
        kube.set("nodes", None, &format!("n{i}"), |n| {
            n["status"]["conditions"][0]["status"] = json!("True");
        });
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
async fn some_dead(moto: &Moto, kube: &FakeKube, dead: usize) -> Vec<String> {
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
        kube.add("/api/v1/nodes", node(&format!("n{i}"), id, extra));
    }
    ids
}

/// `ekas run` with the default budget: a tenth of the nodes per ten minutes.
fn budgeted_run(kube: &FakeKube, moto: &Moto, port: u16) -> Ekas {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ekas"));
    cmd.args(["run", "--kubeconfig", kube.kubeconfig().to_str().unwrap()])
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
    let kube = FakeKube::start();
    // 40 % NotReady: under the unready brake, so each looks like one dead machine.
    some_dead(&moto, &kube, 4).await;
    let port = free_port();
    let first = budgeted_run(&kube, &moto, port);
    wait_for(
        "a dead node terminated",
        Duration::from_secs(30),
        async || kube.objects("nodes").len() == 9,
    )
    .await;
    // Passes follow each other (every second) for a while: nothing more this window.
    wait_for("ten more passes", Duration::from_secs(30), async || {
        http_get(port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 10.0)
    })
    .await;
    assert_eq!(kube.objects("nodes").len(), 9, "one removal per window");
    let lease = kube.object("leases", Some("ekas"), "ekas").unwrap();
    let recorded = lease["metadata"]["annotations"]["ekas/recent-removals"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(recorded.split(',').count(), 1, "{lease}");
    assert!(first.stop().success());

    // A new process reads the window's removals from the Lease: still nothing more.
    let second_port = free_port();
    let second = budgeted_run(&kube, &moto, second_port);
    wait_for("five passes", Duration::from_secs(30), async || {
        http_get(second_port, "/metrics")
            .is_some_and(|(_, b)| metric(&b, "ekas_passes_total{result=\"ok\"}") >= 5.0)
    })
    .await;
    assert_eq!(
        kube.objects("nodes").len(),
        9,
        "the budget survived the restart"
    );
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
    let kube = FakeKube::start();
    kube.add("/api/v1/namespaces", json!({"metadata": {"name": "ekas"}}));
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
        kube.add("/api/v1/nodes", node(name, &ids[i], extra));
        let mut p = running_on(&format!("job-{name}"), name);
        p["spec"]["containers"][0]["resources"] =
            json!({"requests": {"cpu": cpu, "memory": "1Gi"}});
        kube.add("/api/v1/pods", p);
    }
    let kubeconfig = kube.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let args = reap_args(kubeconfig, &[]);
    let before = group(&moto).await;
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let a = kube.object("nodes", None, "a").unwrap();
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
        let n = kube.object("nodes", None, other).unwrap();
        assert!(n["spec"]["taints"].is_null(), "{other}: {n}");
    }
    let lease = kube.object("leases", Some("ekas"), "ekas").unwrap();
    assert!(
        lease["metadata"]["annotations"]["ekas/recent-removals"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "the mark is a removal begun: {lease}"
    );

    // 3 cpu fits only on a: the mark goes, the team's taint stays.
    kube.add("/api/v1/pods", crate::support::pod("big", "3", "1Gi"));
    let out = ekas_with_env(&args, &moto.env());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let a = kube.object("nodes", None, "a").unwrap();
    assert_eq!(a["spec"]["taints"], json!([taint]), "{}", stdout(&out));
    assert!(a["metadata"]["annotations"]["ekas.dev/consolidating"].is_null());
    assert_eq!(group(&moto).await, before, "nothing terminated");
    assert!(kube.evictions().is_empty(), "{:?}", kube.evictions());
}

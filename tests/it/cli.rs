//! `ekas plan` on snapshot files, end to end through the binary.

use serde_json::{Value, json};

use crate::support::*;

fn names(values: &Value, field: &str) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn example_plan_as_json_follows_the_contract() {
    let plan = plan_json(&example(), &[]);
    assert_eq!(plan["clusterName"], "batch-prod");
    assert_eq!(
        plan["regions"],
        serde_json::json!(["us-west-2", "us-east-1"])
    );

    // Discovery: the other cluster's group is not managed.
    let groups = names(&plan["groups"], "group");
    assert_eq!(
        groups,
        [
            "batch-prod-cpu-usw2",
            "batch-prod-gpu-usw2",
            "batch-prod-cpu-use1",
            "batch-prod-gpu-use1"
        ]
    );
    let group = |name: &str| {
        plan["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == name)
            .unwrap()
            .clone()
    };
    // $Latest of the launch template is version 2 (m5.4xlarge); $Default would be m5.2xlarge.
    assert_eq!(group("batch-prod-cpu-usw2")["instanceType"], "m5.4xlarge");
    // Groups with Ready nodes take them as the template.
    assert!(
        group("batch-prod-cpu-usw2")["template"]
            .as_str()
            .unwrap()
            .starts_with("node/")
    );
    assert_eq!(group("batch-prod-cpu-use1")["template"], "instance-type");
    assert!(
        group("batch-prod-cpu-use1")["instanceTypeNote"]
            .as_str()
            .unwrap()
            .contains("smallest")
    );
    assert_eq!(
        group("batch-prod-gpu-use1")["newNodeRoom"]["nvidia.com/gpu"],
        "1"
    );

    // The us-west-2 GPU group failed to launch two minutes ago: its pods overflow east.
    let backoff = &plan["backoff"][0];
    assert_eq!(backoff["group"], "batch-prod-gpu-usw2");
    assert_eq!(backoff["reason"], "insufficient capacity");
    assert_eq!(backoff["until"], "2026-11-27T12:03:00Z");
    // It asked for 2 and launched 1: desired goes back to 1.
    let reset = &plan["desiredResets"][0];
    assert_eq!(reset["group"], "batch-prod-gpu-usw2");
    assert_eq!(
        (
            reset["currentDesired"].as_u64(),
            reset["newDesired"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let scale_ups = plan["scaleUps"].as_array().unwrap();
    assert_eq!(
        names(&plan["scaleUps"], "group"),
        ["batch-prod-cpu-usw2", "batch-prod-gpu-use1"]
    );
    let cpu = &scale_ups[0];
    assert_eq!(cpu["region"], "us-west-2");
    assert_eq!(cpu["instanceType"], "m5.4xlarge");
    assert_eq!(cpu["currentDesired"], 3);
    // 30 pods of 3.5 cpu: 5 fit free room on the three nodes; 25 need 7 nodes at 4 per node
    // (room 15.79 cpu after the exporter DaemonSet).
    assert_eq!(cpu["newDesired"], 10);
    assert_eq!(cpu["pods"].as_array().unwrap().len(), 25);
    assert!(
        cpu["pods"][0]
            .as_str()
            .unwrap()
            .starts_with("batch/feature-extract-")
    );
    let gpu = &scale_ups[1];
    assert_eq!(
        (
            gpu["region"].as_str(),
            gpu["currentDesired"].as_u64(),
            gpu["newDesired"].as_u64()
        ),
        (Some("us-east-1"), Some(0), Some(6))
    );

    let summary = &plan["summary"];
    assert_eq!(summary["pendingPods"], 40);
    assert_eq!(summary["onExistingNodes"], 5);
    assert_eq!(summary["onNewNodes"], 31);
    assert_eq!(summary["unschedulable"], 4);

    let unschedulable: Vec<String> = names(&plan["unschedulable"], "pod");
    assert_eq!(
        unschedulable,
        [
            "batch/highmem-report-0",
            "ci/arm-build-jcfl5",
            "ci/arm-build-xh4jd",
            "research/huge-sim-0"
        ]
    );
    let huge = &plan["unschedulable"][3]["reasons"];
    assert_eq!(
        huge["batch-prod-cpu-usw2"],
        "needs 100 cpu, m5.4xlarge offers 15.79"
    );
    assert_eq!(
        huge["batch-prod-gpu-usw2"],
        "taint nvidia.com/gpu=true:NoSchedule not tolerated"
    );
    assert_eq!(
        huge.as_object().unwrap().len(),
        4,
        "a reason for every group"
    );

    // Contract arrays are present even while empty.
    assert!(plan["nodes"].is_array() && plan["instances"].is_array());
}

#[test]
fn example_plan_as_tables() {
    let out = ekas(&["plan", "--snapshot", "examples/batch-cluster.json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "SCALE-UPS",
        "batch-prod-cpu-usw2",
        "3→10",
        "0→6",
        "in backoff until 2026-11-27T12:03:00Z",
        "UNSCHEDULABLE PODS",
        "needs 100 cpu, m5.4xlarge offers 15.79",
        "nodeSelector pool=highmem not matched",
        "node affinity not matched: kubernetes.io/arch in (arm64)",
        "40 pending pods: 5 fit existing nodes, 0 fit capacity already requested, 31 need 13 new nodes, 4 cannot be scheduled.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// `ekas plan` on the example, as a terminal `columns` wide would show it (`COLUMNS`), or piped
/// (no width).
fn plan_at(columns: Option<usize>, extra: &[&str]) -> String {
    let env: Vec<(&str, String)> = columns
        .map(|c| ("COLUMNS", c.to_string()))
        .into_iter()
        .collect();
    let args = [
        &["plan", "--snapshot", "examples/batch-cluster.json"][..],
        extra,
    ]
    .concat();
    let out = ekas_with_env(&args, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

// The first plan fits a terminal without a broken word: (terminal width).
cases! { fits_a_terminal;
    the_first_plan_fits_80_columns: 80,
    the_first_plan_fits_120_columns: 120,
}

fn fits_a_terminal(width: usize) {
    let words = |text: &str| -> std::collections::HashSet<String> {
        text.split_whitespace().map(str::to_string).collect()
    };
    // Every word a narrow terminal shows is a word of the full output: nothing cut mid-word.
    let whole = words(&(plan_at(None, &[]) + &plan_at(None, &["-o", "wide"])));
    let text = plan_at(Some(width), &[]);
    for line in text.lines() {
        let one_word = !line.trim().contains(' ');
        assert!(
            line.chars().count() <= width || one_word,
            "{} columns > {width}: {line:?}",
            line.chars().count()
        );
    }
    // (The line that says which columns a narrow terminal hides is the only new one.)
    let shown: Vec<&str> = text.lines().filter(|l| !l.starts_with('(')).collect();
    for word in words(&shown.join("\n")) {
        assert!(
            whole.contains(&word),
            "{word:?} broken at {width} columns:\n{text}"
        );
    }
    // Each group is its row and at most one line of detail.
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("GROUP ")).unwrap();
    let rows: Vec<usize> = (start + 1..lines.len())
        .take_while(|&i| !lines[i].is_empty() && !lines[i].starts_with('('))
        .filter(|&i| lines[i].starts_with("batch-prod-"))
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].is_empty())
        .unwrap();
    for (k, &row) in rows.iter().enumerate() {
        let next = rows.get(k + 1).copied().unwrap_or(end);
        let spread = lines[row..next]
            .iter()
            .filter(|l| !l.starts_with('('))
            .count();
        assert!(
            spread <= 2,
            "{} takes {spread} lines at {width}:\n{text}",
            lines[row]
        );
    }
}

#[test]
fn a_terminal_of_120_columns_shows_every_default_column() {
    // At 120 columns, every default column of the groups.
    let wide_terminal = plan_at(Some(120), &[]);
    let header = wide_terminal
        .lines()
        .find(|l| l.starts_with("GROUP "))
        .unwrap();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "GROUP",
            "REGION",
            "TYPE",
            "MIN/DES/MAX",
            "NODES",
            "UPCOMING",
            "STATUS"
        ]
    );
}

#[test]
fn piped_tables_split_on_spaces_and_wide_adds_the_details() {
    let text = plan_at(None, &[]);
    let row = text
        .lines()
        .find(|l| l.starts_with("batch-prod-gpu-usw2 "))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "batch-prod-gpu-usw2",
            "us-west-2",
            "p3.2xlarge",
            "0/2/4",
            "1",
            "0",
            "backoff"
        ]
    );
    let wide = plan_at(None, &["-o", "wide"]);
    let header = wide.lines().find(|l| l.starts_with("GROUP ")).unwrap();
    for column in ["PRIORITY", "CAPACITY", "$/H", "NEW-NODE-ROOM"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(wide.contains("nvidia.com/gpu=1"), "{wide}");
    // `-o` is kubectl's short form of --output.
    let json: serde_json::Value = serde_json::from_str(&plan_at(None, &["-o", "json"])).unwrap();
    assert!(json["groups"].is_array());
}

#[test]
fn global_options_after_the_subcommand_change_the_plan() {
    // us-east-1 first: the CPU pods now go to the east group.
    let plan = plan_json(
        &example(),
        &["--regions", "us-east-1,us-west-2", "--over-provision", "1"],
    );
    let first = &plan["scaleUps"][0];
    assert_eq!(first["group"], "batch-prod-cpu-use1");
    assert_eq!(first["overProvision"], 1);
    assert_eq!(
        first["newDesired"].as_u64().unwrap(),
        first["nodesForPods"].as_u64().unwrap() + 1
    );
    // And before it.
    let out = ekas(&[
        "--output",
        "json",
        "--regions",
        "us-east-1",
        "plan",
        "--snapshot",
        "examples/batch-cluster.json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names(&plan["groups"], "region"), ["us-east-1", "us-east-1"]);
}

#[test]
fn backoff_window_is_configurable() {
    // With a one-minute first backoff the failure two minutes ago no longer counts.
    let plan = plan_json(&example(), &["--scale-up-backoff", "1m"]);
    assert!(plan["backoff"].as_array().unwrap().is_empty());
    assert_eq!(plan["scaleUps"][1]["group"], "batch-prod-gpu-usw2");
}

#[test]
fn kubelet_reservation_is_configurable() {
    let (_dir, path) = write_snapshot(&small_snapshot(8));
    // 4 vCPU minus the default 80m: three 1-cpu pods per node → 3 nodes for 8 pods.
    let plan = plan_json(&path, &[]);
    assert_eq!(plan["scaleUps"][0]["newDesired"], 3);
    // With nothing reserved, four per node → 2 nodes.
    let plan = plan_json(
        &path,
        &["--kube-reserved-cpu", "0", "--kube-reserved-memory", "0"],
    );
    assert_eq!(plan["scaleUps"][0]["newDesired"], 2);
    assert_eq!(plan["groups"][0]["newNodeRoom"]["cpu"], "4");
}

#[test]
fn cluster_name_flag_overrides_the_snapshot() {
    let (_dir, path) = write_snapshot(&small_snapshot(1));
    let plan = plan_json(&path, &["--cluster-name", "someone-else"]);
    assert!(plan["groups"].as_array().unwrap().is_empty());
    assert_eq!(plan["unschedulable"][0]["pod"], "batch/job-0");
}

#[test]
fn completions_and_help() {
    let out = ekas(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("--idle-threshold"));
    let out = ekas(&["--help"]);
    let help = stdout(&out);
    for sub in [
        "plan",
        "scale-up",
        "drain",
        "reap",
        "run",
        "snapshot",
        "completions",
    ] {
        assert!(help.contains(sub), "help lacks {sub}");
    }
}

#[test]
fn plan_shows_node_states_and_instances_without_nodes() {
    let mut doc = small_snapshot(0);
    let group = &mut doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0];
    group["DesiredCapacity"] = json!(2);
    group["Instances"] = json!([
        {"InstanceId": "i-idle", "LifecycleState": "InService", "AvailabilityZone": "us-west-2a"},
        {"InstanceId": "i-lost", "LifecycleState": "InService", "AvailabilityZone": "us-west-2a"}
    ]);
    doc["aws"]["us-west-2"]["instances"] = json!({"Reservations": [{"Instances": [
        {"InstanceId": "i-idle", "InstanceType": "m5.xlarge", "State": {"Name": "running"},
         "LaunchTime": "2026-11-01T00:00:00Z", "Placement": {"AvailabilityZone": "us-west-2a"}},
        {"InstanceId": "i-lost", "InstanceType": "m5.xlarge", "State": {"Name": "running"},
         "LaunchTime": "2026-11-27T11:00:00Z", "Placement": {"AvailabilityZone": "us-west-2a"}}
    ]}]});
    doc["kubernetes"]["nodes"]["items"] = json!([{
        "metadata": {"name": "idle", "creationTimestamp": "2026-11-01T00:00:00Z",
            "labels": {"ekas/cordoned": "true"},
            "annotations": {"ekas/idle-since": "2026-11-27T10:00:00Z"}},
        "spec": {"providerID": "aws:///us-west-2a/i-idle", "unschedulable": true},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]}
    }]);
    let (_dir, path) = write_snapshot(&doc);
    // Two removals: the replacement counts against the fraction too.
    let both = ["--type-idle-count", "0", "--max-scale-in-fraction", "1"];
    let plan = plan_json(&path, &both);
    let node = &plan["nodes"][0];
    assert_eq!(node["name"], "idle");
    assert_eq!(node["group"], "workers");
    assert_eq!(node["instanceId"], "i-idle");
    assert_eq!(node["state"], "idle-unschedulable");
    assert_eq!(node["action"], "terminate");
    assert_eq!(node["decrement"], true);
    assert_eq!(node["reason"], "idle for 2h 0m");
    let instance = &plan["instances"][0];
    assert_eq!(instance["instanceId"], "i-lost");
    assert_eq!(instance["action"], "replace");
    assert_eq!(instance["reason"], "launched 60m ago and never joined");

    let mut args = vec!["plan", "--snapshot", path.to_str().unwrap()];
    args.extend(both);
    let text = stdout(&ekas(&args));
    for fact in [
        "idle-unschedulable",
        "terminate,-1-desired",
        "i-lost",
        "never joined",
    ] {
        assert!(text.contains(fact), "{fact}: {text}");
    }

    // At the default fraction (10% of 2, so one), the replacement goes first.
    let plan = plan_json(&path, &["--type-idle-count", "0"]);
    assert_eq!(plan["instances"][0]["action"], "replace");
    assert_eq!(plan["nodes"][0]["action"], "none");
    let held = plan["nodes"][0]["reason"].as_str().unwrap();
    assert!(
        held.ends_with("held back: --max-scale-in-fraction reached for this --scale-in-window"),
        "{held}"
    );
}

#[test]
fn a_node_between_the_pods_of_a_job_is_job_pending() {
    // kubectl's JSON as it is: a Succeeded pod of Job train-7 still names its node, and the
    // Job's next pod waits behind a scheduling gate (a queue has not admitted it).
    let mut doc = small_snapshot(0);
    let group = &mut doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0];
    group["DesiredCapacity"] = json!(1);
    group["Instances"] = json!([
        {"InstanceId": "i-n", "LifecycleState": "InService", "AvailabilityZone": "us-west-2a"}
    ]);
    doc["kubernetes"]["nodes"]["items"] = json!([{
        "metadata": {"name": "n", "creationTimestamp": "2026-11-01T00:00:00Z",
            "annotations": {"ekas/idle-since": "2026-11-27T10:30:00Z"}},
        "spec": {"providerID": "aws:///us-west-2a/i-n"},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]}
    }]);
    let mut done = pod("train-7-0", "2", "4Gi");
    done["metadata"]["ownerReferences"][0]["name"] = json!("train-7");
    done["spec"]["nodeName"] = json!("n");
    done["status"]["phase"] = json!("Succeeded");
    let mut next = pod("train-7-1", "2", "4Gi");
    next["metadata"]["ownerReferences"][0]["name"] = json!("train-7");
    next["spec"]["schedulingGates"] = json!([{"name": "kueue.x-k8s.io/admission"}]);
    doc["kubernetes"]["pods"]["items"] = json!([done, next]);
    let (_dir, path) = write_snapshot(&doc);
    let args = ["--max-scale-in-fraction", "1"];
    let plan = plan_json(&path, &[&args[..], &["--idle-threshold", "55m"]].concat());
    let node = &plan["nodes"][0];
    assert_eq!(node["state"], "job-pending");
    assert_eq!(node["action"], "none");
    assert_eq!(
        node["reason"],
        "job batch/train-7 has 1 pod(s) waiting that fit here; idle for 90m, kept up to 110m"
    );

    // Past twice --idle-threshold the Job has held it long enough.
    let plan = plan_json(&path, &[&args[..], &["--idle-threshold", "40m"]].concat());
    assert_eq!(plan["nodes"][0]["state"], "idle-schedulable");
    // `auto`: the node shows no launch time, so the group's threshold is the 4-minute prior,
    // and 90 minutes idle is far past twice that.
    let plan = plan_json(&path, &args);
    assert_eq!(plan["nodes"][0]["state"], "idle-schedulable");
    assert_eq!(plan["nodes"][0]["action"], "cordon");
}

#[test]
fn a_snapshot_without_provider_ids_matches_nodes_by_private_dns_name_and_ip() {
    let mut doc = small_snapshot(0);
    let group = &mut doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0];
    group["DesiredCapacity"] = json!(2);
    group["Instances"] = json!([
        {"InstanceId": "i-a", "LifecycleState": "InService"},
        {"InstanceId": "i-b", "LifecycleState": "InService"}
    ]);
    // `aws ec2 describe-instances` output, as it comes.
    doc["aws"]["us-west-2"]["instances"] = json!({"Reservations": [{"Instances": [
        {"InstanceId": "i-a", "InstanceType": "m5.xlarge", "State": {"Name": "running"},
         "LaunchTime": "2026-11-01T00:00:00Z",
         "PrivateDnsName": "ip-10-0-0-1.us-west-2.compute.internal",
         "PrivateIpAddress": "10.0.0.1"},
        {"InstanceId": "i-b", "InstanceType": "m5.xlarge", "State": {"Name": "running"},
         "LaunchTime": "2026-11-01T00:00:00Z",
         "PrivateDnsName": "ip-10-0-0-2.us-west-2.compute.internal",
         "PrivateIpAddress": "10.0.0.2"}
    ]}]});
    let node = |name: &str, addresses: Value| {
        json!({"metadata": {"name": name, "creationTimestamp": "2026-11-01T00:10:00Z"},
            "status": {"addresses": addresses,
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}]}})
    };
    doc["kubernetes"]["nodes"]["items"] = json!([
        node("ip-10-0-0-1.us-west-2.compute.internal", json!([])),
        node(
            "ip-10-0-0-2",
            json!([{"type": "InternalIP", "address": "10.0.0.2"}])
        ),
    ]);
    let (_dir, path) = write_snapshot(&doc);
    let plan = plan_json(&path, &["--instance-init-time", "0"]);
    let matched: Vec<(&str, &str)> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["group"].as_str().unwrap_or("-"),
                n["instanceId"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(matched, [("workers", "i-a"), ("workers", "i-b")], "{plan}");
    assert_eq!(plan["instances"], json!([]), "no member looks never-joined");
    assert_eq!(plan["groups"][0]["nodes"], 2);
}

#[test]
fn an_option_before_the_subcommand_that_takes_it_says_where_it_goes() {
    let out = ekas(&["--idle-threshold", "600", "plan", "--snapshot", "x.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--idle-threshold is an option of `ekas plan`")
            && err.contains("after the subcommand"),
        "{err}"
    );
    // `ekas drain` takes no planning options: its help lists what it uses.
    let help = stdout(&ekas(&["drain", "--help"]));
    assert!(
        help.contains("--pod-selector") && !help.contains("--idle-threshold"),
        "{help}"
    );
}

/// The example's cpu group in us-west-2 grows by 7 m5.4xlarge nodes for its pods.
fn cpu_scale_up(plan: &Value) -> &Value {
    plan["scaleUps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["group"] == "batch-prod-cpu-usw2")
        .expect("the cpu group scales up")
}

fn price_source(plan: &Value, group: &str) -> Value {
    let groups = plan["groups"].as_array().unwrap();
    groups.iter().find(|g| g["group"] == group).unwrap()["priceSource"].clone()
}

/// The example's mixed-instances group in us-east-1, bought as `distribution` says.
fn with_distribution(distribution: Value) -> Value {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(example()).unwrap()).unwrap();
    let groups = doc["aws"]["us-east-1"]["autoScalingGroups"]["AutoScalingGroups"]
        .as_array_mut()
        .unwrap();
    let group = groups
        .iter_mut()
        .find(|g| g["AutoScalingGroupName"] == "batch-prod-cpu-use1")
        .unwrap();
    group["MixedInstancesPolicy"]["InstancesDistribution"] = distribution;
    doc
}

#[test]
fn recorded_spot_prices_price_spot_and_mixed_groups() {
    let group = |plan: &Value| -> Value {
        let groups = plan["groups"].as_array().unwrap();
        groups
            .iter()
            .find(|g| g["group"] == "batch-prod-cpu-use1")
            .unwrap()
            .clone()
    };
    let spot = with_distribution(
        json!({"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 0}),
    );
    let (_dir, snapshot) = write_snapshot(&spot);
    let before = group(&plan_json(&snapshot, &[]));
    assert_eq!(before["capacityType"], "spot");
    // Without Spot prices, the on-demand one stands in (as before ekas read Spot prices).
    assert_eq!(before["priceSource"], "bundled");
    let ty = before["instanceType"].as_str().unwrap().to_string();
    let on_demand = before["hourlyPrice"].as_f64().unwrap();

    // Spot prices for two of its three zones: their mean.
    let mut priced = spot.clone();
    priced["aws"]["us-east-1"]["spotPrices"] =
        json!({ty.clone(): {"us-east-1a": 0.1, "us-east-1b": 0.2, "us-east-1z": 9.0}});
    let (_dir, snapshot) = write_snapshot(&priced);
    let after = group(&plan_json(&snapshot, &[]));
    assert_eq!(after["priceSource"], "snapshot");
    assert!(
        (after["hourlyPrice"].as_f64().unwrap() - 0.15).abs() < 1e-9,
        "{after}"
    );

    // Mixed, above a base of 0: half on demand (bundled), half Spot (recorded).
    let mut mixed = with_distribution(
        json!({"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 50}),
    );
    mixed["aws"]["us-east-1"]["spotPrices"] = priced["aws"]["us-east-1"]["spotPrices"].clone();
    let (_dir, snapshot) = write_snapshot(&mixed);
    let half = group(&plan_json(&snapshot, &[]));
    assert_eq!(half["capacityType"], "mixed");
    let want = 0.5 * on_demand + 0.5 * 0.15;
    assert!(
        (half["hourlyPrice"].as_f64().unwrap() - want).abs() < 1e-9,
        "{half}"
    );
    // The less trusted of the two sources is named.
    assert_eq!(half["priceSource"], "bundled");

    // A bad recorded price is named by its path.
    let mut bad = spot;
    bad["aws"]["us-east-1"]["spotPrices"] = json!({ty.clone(): {"us-east-1a": -1}});
    let (_dir, snapshot) = write_snapshot(&bad);
    let out = ekas(&["plan", "--snapshot", snapshot.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("aws.us-east-1.spotPrices.{ty}.us-east-1a: -1")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn prices_come_from_the_file_then_the_snapshot_then_the_bundled_table() {
    // Bundled: m5.4xlarge lists at $0.768 an hour.
    let plan = plan_json(&example(), &[]);
    let up = cpu_scale_up(&plan);
    assert_eq!(up["newDesired"].as_u64().unwrap() - 3, 7);
    assert!((up["costPerHour"].as_f64().unwrap() - 7.0 * 0.768).abs() < 1e-9);
    assert_eq!(price_source(&plan, "batch-prod-cpu-usw2"), "bundled");
    let total: f64 = plan["scaleUps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["costPerHour"].as_f64().unwrap())
        .sum();
    assert!((plan["summary"]["costPerHour"].as_f64().unwrap() - total).abs() < 1e-9);

    // The snapshot's own prices replace the table; the file replaces both, region by region.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(example()).unwrap()).unwrap();
    doc["aws"]["us-west-2"]["prices"] = json!({"m5.4xlarge": 0.6});
    let (dir, snapshot) = write_snapshot(&doc);
    let plan = plan_json(&snapshot, &[]);
    assert!((cpu_scale_up(&plan)["costPerHour"].as_f64().unwrap() - 4.2).abs() < 1e-9);
    assert_eq!(price_source(&plan, "batch-prod-cpu-usw2"), "snapshot");
    assert_eq!(price_source(&plan, "batch-prod-cpu-use1"), "bundled");

    let file = dir.path().join("prices.json");
    std::fs::write(&file, r#"{"m5.4xlarge": {"us-west-2": 0.5}}"#).unwrap();
    let plan = plan_json(&snapshot, &["--price-file", file.to_str().unwrap()]);
    assert!((cpu_scale_up(&plan)["costPerHour"].as_f64().unwrap() - 3.5).abs() < 1e-9);
    assert_eq!(price_source(&plan, "batch-prod-cpu-usw2"), "price-file");
    let out = ekas(&[
        "plan",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--price-file",
        file.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    let row = text.lines().find(|l| l.contains("→")).unwrap_or_default();
    assert!(row.split_whitespace().any(|c| c == "3.50"), "{text}");
    assert!(
        text.contains("prices: --price-file, bundled on-demand table"),
        "{text}"
    );
}

// Bad expanders and price files are named: (the options, with `{dir}` for a directory that
// holds `garbage.json`, a price file of the wrong shape; what ekas says).
cases! { names_what_is_bad;
    an_unknown_expander: (
        &["--expander", "price,cheapest"],
        "unknown expander \"cheapest\": expected one of price, least-waste",
    ),
    a_price_file_of_the_wrong_shape: (
        &["--price-file", "{dir}/garbage.json"],
        "expected a JSON object of instance type → region → dollars per hour",
    ),
    a_missing_price_file: (&["--price-file", "{dir}/missing.json"], "cannot read --price-file"),
}

fn names_what_is_bad((args, says): (&[&str], &str)) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.json"), "{\"m5.large\": 0.1}").unwrap();
    let dir = dir.path().to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", dir)).collect();
    let mut all = vec!["plan", "--snapshot", "examples/batch-cluster.json"];
    all.extend(args.iter().map(String::as_str));
    let out = ekas(&all);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
}

#[test]
fn random_draws_the_same_in_every_process() {
    // The draw is seeded by the snapshot alone, never by the process.
    let first = plan_json(&example(), &["--expander", "random"]);
    for _ in 0..2 {
        let again = plan_json(&example(), &["--expander", "random"]);
        assert_eq!(first["scaleUps"], again["scaleUps"]);
    }
}

#[test]
fn a_gang_that_cannot_start_whole_buys_nothing() {
    // The six pending train-bert pods are a coscheduling gang; the east GPU group can take only
    // four of them and the west one is in backoff.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(example()).unwrap()).unwrap();
    for pod in doc["kubernetes"]["pods"]["items"].as_array_mut().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        if name.starts_with("train-bert-") {
            pod["metadata"]["labels"]["scheduling.x-k8s.io/pod-group"] = json!("train-bert");
        }
    }
    doc["kubernetes"]["podGroups"] = json!({"items": [{
        "apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
        "metadata": {"name": "train-bert", "namespace": "ml"}, "spec": {"minMember": 6}}]});
    let (_dir, whole) = write_snapshot(&doc);
    let plan = plan_json(&whole, &[]);
    assert_eq!(plan["gangs"][0]["gang"], "ml/train-bert");
    assert_eq!(plan["gangs"][0]["verdict"], "fits");
    assert!(names(&plan["scaleUps"], "group").contains(&"batch-prod-gpu-use1".to_string()));

    for group in doc["aws"]["us-east-1"]["autoScalingGroups"]["AutoScalingGroups"]
        .as_array_mut()
        .unwrap()
    {
        if group["AutoScalingGroupName"] == "batch-prod-gpu-use1" {
            group["MaxSize"] = json!(4);
        }
    }
    let (_dir, short) = write_snapshot(&doc);
    let plan = plan_json(&short, &[]);
    let gang = &plan["gangs"][0];
    assert_eq!(
        (&gang["pods"], &gang["minMember"], &gang["verdict"]),
        (&json!(6), &json!(6), &json!("does-not-fit"))
    );
    let reason = gang["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("gang ml/train-bert: 6 pods, 4 fit: ")
            && reason.contains("batch-prod-gpu-use1 at MaxSize (4)"),
        "{reason}"
    );
    assert!(
        !names(&plan["scaleUps"], "group")
            .iter()
            .any(|g| g.contains("gpu"))
    );
    let unschedulable = names(&plan["unschedulable"], "pod");
    assert_eq!(
        unschedulable
            .iter()
            .filter(|p| p.starts_with("ml/train-bert-"))
            .count(),
        6
    );
    for u in plan["unschedulable"].as_array().unwrap() {
        let bert = u["pod"].as_str().unwrap().starts_with("ml/train-bert-");
        assert_eq!(u.get("gang"), bert.then(|| json!("ml/train-bert")).as_ref());
    }
    let out = ekas(&["plan", "--snapshot", short.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("GANGS") && text.contains("does-not-fit"),
        "{text}"
    );

    // Without gangs, four of the six buy nodes.
    let plan = plan_json(&short, &["--no-gangs"]);
    assert!(plan.get("gangs").is_none(), "no gangs part without gangs");
    let up = plan["scaleUps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["group"] == "batch-prod-gpu-use1")
        .expect("the east GPU group grows");
    assert_eq!(up["newDesired"], 4);
}

#[test]
fn kubernetes_podgroups_of_the_gang_policy_are_gangs_and_of_the_basic_policy_not() {
    // Six GPU pods name Kubernetes' PodGroup train-bert through spec.schedulingGroup; the east
    // GPU group can take four of them.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(example()).unwrap()).unwrap();
    for pod in doc["kubernetes"]["pods"]["items"].as_array_mut().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        if name.starts_with("train-bert-") {
            pod["spec"]["schedulingGroup"] = json!({"podGroupName": "train-bert"});
        }
    }
    for group in doc["aws"]["us-east-1"]["autoScalingGroups"]["AutoScalingGroups"]
        .as_array_mut()
        .unwrap()
    {
        if group["AutoScalingGroupName"] == "batch-prod-gpu-use1" {
            group["MaxSize"] = json!(4);
        }
    }
    let with_policy = |policy: Value| {
        let mut doc = doc.clone();
        doc["kubernetes"]["podGroups"] = json!({"items": [{
            "apiVersion": "scheduling.k8s.io/v1alpha3", "kind": "PodGroup",
            "metadata": {"name": "train-bert", "namespace": "ml"},
            "spec": {"schedulingPolicy": policy}}]});
        doc
    };
    let gpu_nodes = |plan: &Value| {
        plan["scaleUps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["group"] == "batch-prod-gpu-use1")
            .map(|s| s["newDesired"].clone())
    };

    // Gang policy, all six at once: none fit whole, nothing bought.
    let (_dir, file) = write_snapshot(&with_policy(json!({"gang": {"minCount": 6}})));
    let plan = plan_json(&file, &[]);
    assert_eq!(
        plan["gangs"][0]["gang"], "ml/train-bert",
        "{}",
        plan["gangs"]
    );
    assert_eq!(plan["gangs"][0]["minMember"], 6);
    assert_eq!(plan["gangs"][0]["verdict"], "does-not-fit");
    assert_eq!(gpu_nodes(&plan), None);

    // Gang policy, four at once: four fit, four nodes.
    let (_dir, file) = write_snapshot(&with_policy(json!({"gang": {"minCount": 4}})));
    let plan = plan_json(&file, &[]);
    assert_eq!(plan["gangs"][0]["verdict"], "fits", "{}", plan["gangs"]);
    assert_eq!(gpu_nodes(&plan), Some(json!(4)));

    // Basic policy: no gang, each pod on its own.
    let (_dir, file) = write_snapshot(&with_policy(json!({"basic": {}})));
    let plan = plan_json(&file, &[]);
    assert!(plan.get("gangs").is_none(), "{}", plan["gangs"]);
    assert_eq!(gpu_nodes(&plan), Some(json!(4)));
}

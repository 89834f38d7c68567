//! Bad input gets a clear message naming the thing, and a non-zero exit; never a panic.

use std::process::Output;

use serde_json::json;

use crate::support::*;

fn fails_with(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

/// What cannot be read is left out of the plan and named in it, and the rest is planned.
fn plans_leaving_out(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "exit code; stderr:\n{err}");
    assert!(text.contains("WARNINGS"), "{text}");
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

fn plan_on(doc: &serde_json::Value, extra: &[&str]) -> Output {
    let (_dir, path) = write_snapshot(doc);
    let mut args = vec!["plan", "--snapshot", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    ekas(&args)
}

#[test]
fn unreadable_file() {
    let out = ekas(&["plan", "--snapshot", "/nonexistent/snap.json"]);
    fails_with(
        &out,
        &[
            "cannot read snapshot file /nonexistent/snap.json",
            "No such file",
        ],
    );
}

#[test]
fn invalid_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        "{\"capturedAt\": \"2026-11-27T12:00:00Z\", \"aws\": [}",
    )
    .unwrap();
    let out = ekas(&["plan", "--snapshot", path.to_str().unwrap()]);
    fails_with(&out, &["bad.json", "line 1"]);
}

#[test]
fn wrong_shape_names_the_json_path() {
    let mut doc = small_snapshot(1);
    doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0]["MaxSize"] = json!("ten");
    fails_with(
        &plan_on(&doc, &[]),
        &[
            "aws.us-west-2.autoScalingGroups.AutoScalingGroups[0].MaxSize",
            "invalid type",
        ],
    );
}

#[test]
fn malformed_quantity_names_pod_container_and_field() {
    let mut doc = small_snapshot(2);
    doc["kubernetes"]["pods"]["items"][1]["spec"]["containers"][0]["resources"]["requests"]["memory"] =
        json!("2 gigs");
    plans_leaving_out(
        &plan_on(&doc, &[]),
        &[
            "pod batch/job-1",
            "container main",
            "requests.memory",
            "\"2 gigs\"",
            "not a Kubernetes quantity",
        ],
    );
}

#[test]
fn unknown_instance_type_names_group_and_type() {
    let mut doc = small_snapshot(1);
    doc["aws"]["us-west-2"]["launchConfigurations"]["LaunchConfigurations"][0]["InstanceType"] =
        json!("p9.mega");
    plans_leaving_out(
        &plan_on(&doc, &[]),
        &[
            "group workers (us-west-2)",
            "instance type p9.mega is not in aws.us-west-2.instanceTypes",
        ],
    );
}

#[test]
fn missing_launch_template_version() {
    let mut doc = small_snapshot(1);
    let asg = &mut doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0];
    asg.as_object_mut()
        .unwrap()
        .remove("LaunchConfigurationName");
    asg["LaunchTemplate"] = json!({"LaunchTemplateName": "lt", "Version": "$Latest"});
    plans_leaving_out(
        &plan_on(&doc, &[]),
        &["launch template lt version $Latest is not in aws.us-west-2.launchTemplateVersions"],
    );
}

#[test]
fn unknown_region() {
    fails_with(
        &plan_on(&small_snapshot(1), &["--regions", "us-west-2,mars-north-1"]),
        &["region mars-north-1", "not in the snapshot", "us-west-2"],
    );
}

#[test]
fn missing_cluster_name() {
    let mut doc = small_snapshot(1);
    doc.as_object_mut().unwrap().remove("clusterName");
    fails_with(&plan_on(&doc, &[]), &["no cluster name", "--cluster-name"]);
}

#[test]
fn bad_priority_tag() {
    let mut doc = small_snapshot(1);
    doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0]["Tags"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Key": "ekas/priority", "Value": "high"}));
    plans_leaving_out(
        &plan_on(&doc, &[]),
        &[
            "group workers",
            "ekas/priority",
            "\"high\"",
            "not an integer",
        ],
    );
}

#[test]
fn live_mode_without_regions_or_cluster_says_what_to_do() {
    fails_with(
        &ekas(&["plan", "--cluster-name", "x"]),
        &["--regions is required"],
    );
    fails_with(
        &ekas(&["plan", "--regions", "us-west-2"]),
        &["--cluster-name is required"],
    );
}

#[test]
fn bad_flag_values_exit_with_usage_errors() {
    let out = ekas(&["plan", "--idle-threshold", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"soon\" is not a duration"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn odd_but_valid_values_plan_without_a_panic() {
    // An instance type whose name starts with a multi-byte letter.
    let mut doc = small_snapshot(2);
    let region = &mut doc["aws"]["us-west-2"];
    region["launchConfigurations"]["LaunchConfigurations"][0]["InstanceType"] = json!("ñ5.xlarge");
    region["instanceTypes"]["InstanceTypes"][0]["InstanceType"] = json!("ñ5.xlarge");
    let (_dir, path) = write_snapshot(&doc);
    let plan = plan_json(&path, &[]);
    assert_eq!(plan["scaleUps"][0]["instanceType"], "ñ5.xlarge");

    // A desired capacity above MaxSize (AWS never reports one, a hand-made file may), with
    // every spare node asked for.
    let mut doc = small_snapshot(30);
    let group = &mut doc["aws"]["us-west-2"]["autoScalingGroups"]["AutoScalingGroups"][0];
    group["DesiredCapacity"] = json!(4_000_000_000u32);
    group["MaxSize"] = json!(10);
    let (_dir, path) = write_snapshot(&doc);
    let plan = plan_json(&path, &["--over-provision", "4294967295"]);
    assert!(plan["scaleUps"].as_array().unwrap().is_empty(), "{plan}");

    // Every spare node asked for, within MaxSize.
    let (_dir, path) = write_snapshot(&small_snapshot(3));
    let plan = plan_json(&path, &["--over-provision", "4294967295"]);
    assert_eq!(plan["scaleUps"][0]["newDesired"], 10);

    // Durations too long for any clock.
    let out = ekas(&[
        "plan",
        "--snapshot",
        path.to_str().unwrap(),
        "--idle-threshold",
        "9223372036854775807",
        "--scale-up-backoff",
        "9223372036854775807",
        "--launch-grace",
        "9223372036854775807",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn namespace_is_refused_where_maintenance_runs() {
    let live = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--cluster-name", "prod", "--regions", "us-west-2"]);
        ekas(&args)
    };
    // A node's pods in other namespaces would be invisible: busy nodes would look idle.
    let refused = [
        "maintains nodes, which needs every pod on them",
        "--namespace batch",
    ];
    fails_with(&live(&["reap", "--namespace", "batch"]), &refused);
    let out = live(&["run", "--pod-namespace", "batch"]);
    fails_with(&out, &refused);
    assert!(
        stderr(&out).contains("--no-maintenance"),
        "{}",
        stderr(&out)
    );
    // Scaling up alone reads pods of one namespace, as before: it gets past the check.
    let missing = "/nonexistent/kubeconfig";
    let out = live(&[
        "run",
        "--no-maintenance",
        "--namespace",
        "batch",
        "--kubeconfig",
        missing,
    ]);
    assert!(
        !stderr(&out).contains("maintains nodes"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(missing), "{}", stderr(&out));
}

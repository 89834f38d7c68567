//! The shorthand of tests/scheduler_cases/*.json built into API objects, and ekas's verdicts on
//! a case: shared by the filter tables (scheduler_cases.rs) and the generated scenarios checked
//! against a real kube-scheduler (scheduler_agreement.rs).
//!
//! The files mirror the Go tables they come from (`source` names the test function), with a
//! few shorthands for what the Go tests build with helpers:
//! - node: `name`, `labels`, `taints`, `allocatable` (default: plenty), `unschedulable`;
//! - pod: `name`, `namespace` (default `default`), `node`, `labels`, `terminating`, `spec`
//!   (raw PodSpec JSON, merged), `ports` (`"TCP/127.0.0.1/8080"`), `podAffinity` and
//!   `podAntiAffinity` (required terms: raw PodAffinityTerm JSON, or
//!   `{"key", "op", "values", "topologyKey"}`), `spread` (raw TopologySpreadConstraints),
//!   `claims` (PersistentVolumeClaim names, one volume each);
//! - `namespaces`, `persistentVolumeClaims`, `persistentVolumes`, `storageClasses`: raw
//!   kubectl JSON; `fits`: the names of the nodes the pod fits.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use ekas::decode::{self, DecodeOptions};
use ekas::document::SnapshotDocument;

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A shorthand pod affinity term as the API's PodAffinityTerm.
fn affinity_term(term: &Value) -> Value {
    if term.get("labelSelector").is_some() || term.get("namespaceSelector").is_some() {
        return term.clone();
    }
    let mut expression = json!({"key": term["key"], "operator": term["op"]});
    if let Some(values) = term.get("values") {
        expression["values"] = values.clone();
    }
    json!({
        "labelSelector": {"matchExpressions": [expression]},
        "topologyKey": term["topologyKey"],
    })
}

pub fn node(n: &Value) -> Value {
    let allocatable = n.get("allocatable").cloned().unwrap_or_else(
        || json!({"cpu": "100", "memory": "1Ti", "pods": "1000", "ephemeral-storage": "1Ti"}),
    );
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": n["name"], "labels": n.get("labels").cloned().unwrap_or(json!({}))},
        "spec": {
            "taints": n.get("taints").cloned().unwrap_or(json!([])),
            "unschedulable": n.get("unschedulable").cloned().unwrap_or(json!(false)),
        },
        "status": {
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    })
}

pub fn pod(p: &Value, default_name: &str) -> Value {
    let mut spec = object(&p["spec"]);
    spec.entry("containers")
        .or_insert_with(|| json!([{"name": "main"}]));
    if let Some(node) = p.get("node") {
        spec.insert("nodeName".into(), node.clone());
    }
    if let Some(ports) = p.get("ports").and_then(Value::as_array) {
        let ports: Vec<Value> = ports
            .iter()
            .map(|port| {
                let parts: Vec<&str> = port.as_str().unwrap().split('/').collect();
                let number: u16 = parts[2].parse().unwrap();
                json!({"protocol": parts[0], "hostIP": parts[1], "hostPort": number, "containerPort": number})
            })
            .collect();
        spec["containers"][0]["ports"] = json!(ports);
    }
    let mut affinity = object(spec.get("affinity").unwrap_or(&Value::Null));
    for (field, kind) in [
        ("podAffinity", "podAffinity"),
        ("podAntiAffinity", "podAntiAffinity"),
    ] {
        if let Some(terms) = p.get(field).and_then(Value::as_array) {
            let terms: Vec<Value> = terms.iter().map(affinity_term).collect();
            affinity.insert(
                kind.into(),
                json!({"requiredDuringSchedulingIgnoredDuringExecution": terms}),
            );
        }
    }
    if !affinity.is_empty() {
        spec.insert("affinity".into(), Value::Object(affinity));
    }
    if let Some(spread) = p.get("spread") {
        spec.insert("topologySpreadConstraints".into(), spread.clone());
    }
    if let Some(claims) = p.get("claims").and_then(Value::as_array) {
        let mut volumes: Vec<Value> = spec
            .get("volumes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, claim) in claims.iter().enumerate() {
            volumes.push(
                json!({"name": format!("v{i}"), "persistentVolumeClaim": {"claimName": claim}}),
            );
        }
        spec.insert("volumes".into(), json!(volumes));
    }
    let mut metadata = json!({
        "name": p.get("name").cloned().unwrap_or(json!(default_name)),
        "namespace": p.get("namespace").cloned().unwrap_or(json!("default")),
        "labels": p.get("labels").cloned().unwrap_or(json!({})),
        "uid": format!("uid-{default_name}"),
    });
    if p.get("terminating") == Some(&json!(true)) {
        metadata["deletionTimestamp"] = json!("2026-11-27T11:59:00Z");
    }
    let phase = if p.get("node").is_some() {
        "Running"
    } else {
        "Pending"
    };
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
        "status": {"phase": phase}})
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// The nodes where ekas lets the case's pod run, with the reasons for the others.
pub fn verdicts(case: &Value) -> (BTreeSet<String>, Vec<(String, String)>) {
    let nodes: Vec<Value> = case["nodes"].as_array().unwrap().iter().map(node).collect();
    let mut pods: Vec<Value> = case["pods"]
        .as_array()
        .map(|pods| {
            pods.iter()
                .enumerate()
                .map(|(i, p)| pod(p, &format!("existing-{i}")))
                .collect()
        })
        .unwrap_or_default();
    let incoming = pod(&case["pod"], "incoming");
    let incoming_key = format!(
        "{}/{}",
        incoming["metadata"]["namespace"].as_str().unwrap(),
        incoming["metadata"]["name"].as_str().unwrap()
    );
    pods.push(incoming);
    let mut kubernetes = json!({"pods": list(pods), "nodes": list(nodes)});
    for part in [
        "namespaces",
        "persistentVolumeClaims",
        "persistentVolumes",
        "storageClasses",
    ] {
        if let Some(items) = case.get(part) {
            kubernetes[part] = list(items.as_array().unwrap().clone());
        }
    }
    let doc: SnapshotDocument = serde_json::from_value(json!({
        "capturedAt": "2026-11-27T12:00:00Z",
        "clusterName": "cases",
        "kubernetes": kubernetes,
    }))
    .unwrap_or_else(|e| panic!("case {}: {e}", case["name"]));
    let snapshot = decode::snapshot(&doc, &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("case {}: {e:#}", case["name"]));
    crate::support::assert_cache_builds_same(&doc, &DecodeOptions::default(), &snapshot);
    let index = snapshot
        .pods
        .iter()
        .position(|p| p.key() == incoming_key)
        .unwrap();
    let mut fits = BTreeSet::new();
    let mut refusals = Vec::new();
    for (node, verdict) in ekas::engine::scale_up::node_verdicts(&snapshot, index) {
        match verdict {
            Ok(()) => {
                fits.insert(node);
            }
            Err(why) => refusals.push((node, why)),
        }
    }
    (fits, refusals)
}

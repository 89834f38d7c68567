//! What `deploy/` ships, checked as an operator's cluster would take it: every kustomization
//! (the base, each component alone, the example overlay) renders with `kubectl kustomize`;
//! every built-in object reads back field for field through the API's own types (a misspelt or
//! misplaced field is dropped, and the comparison fails); the pod runs as the numeric user the
//! image names; the alerts and the dashboard ask only for metrics ekas exports; and the RBAC
//! rules grant every request the loop makes (see [`assert_rbac_allows`], used by the loop's
//! tests). The server-side dry run on a real API server is by hand (README).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::manifests::{assert_rbac_allows, rbac_request, render};
use crate::support::repo_root;

const COMPONENTS: [&str; 4] = ["irsa", "interruptions", "monitoring", "ha"];

/// `to`, relative to `from` (both absolute): kustomize takes bases and components only by
/// relative path.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for c in &to[common..] {
        path.push(c);
    }
    path
}

/// The base with one component, as an overlay of its own would compose it.
fn with_component(component: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let deploy = repo_root().join("deploy").canonicalize().unwrap();
    let base = relative(&dir.path().canonicalize().unwrap(), &deploy);
    let kustomization = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {}\ncomponents:\n  - {}\n",
        base.display(),
        base.join("components").join(component).display()
    );
    std::fs::write(dir.path().join("kustomization.yaml"), kustomization).unwrap();
    render(dir.path())
}

fn every_rendering() -> Vec<(String, Vec<Value>)> {
    let mut all = vec![
        ("deploy/".to_string(), render(&repo_root().join("deploy"))),
        (
            "examples/kustomize-overlay".to_string(),
            render(&repo_root().join("examples/kustomize-overlay")),
        ),
    ];
    for c in COMPONENTS {
        all.push((format!("deploy/ + components/{c}"), with_component(c)));
    }
    all
}

/// Reads `object` as the API type `T` and back: what the type does not know is lost, which
/// the comparison shows.
fn reads_back<T: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
    let typed: T = serde_json::from_value(object.clone())
        .unwrap_or_else(|e| panic!("{e}: {}", serde_json::to_string_pretty(object).unwrap()));
    serde_json::to_value(typed).unwrap()
}

/// Fields of `given` that `read` lacks or holds otherwise, as JSON paths.
fn lost(given: &Value, read: &Value, at: &str, out: &mut Vec<String>) {
    match (given, read) {
        (Value::Object(g), Value::Object(r)) => {
            for (k, v) in g {
                match r.get(k) {
                    Some(rv) => lost(v, rv, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}")),
                }
            }
        }
        (Value::Array(g), Value::Array(r)) if g.len() == r.len() => {
            for (i, (gv, rv)) in g.iter().zip(r).enumerate() {
                lost(gv, rv, &format!("{at}[{i}]"), out);
            }
        }
        // Quantities and numbers may be spelt otherwise; their meaning is the same.
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {}
        _ if given == read => {}
        _ => out.push(format!("{at} ({given} read as {read})")),
    }
}

fn check_fields(object: &Value) -> Result<(), String> {
    use k8s_openapi::api::{apps, core, policy, rbac};
    let kind = object["kind"].as_str().unwrap_or_default();
    let read = match kind {
        "Namespace" => reads_back::<core::v1::Namespace>(object),
        "ServiceAccount" => reads_back::<core::v1::ServiceAccount>(object),
        "Service" => reads_back::<core::v1::Service>(object),
        "ConfigMap" => reads_back::<core::v1::ConfigMap>(object),
        "Deployment" => reads_back::<apps::v1::Deployment>(object),
        "PodDisruptionBudget" => reads_back::<policy::v1::PodDisruptionBudget>(object),
        "ClusterRole" => reads_back::<rbac::v1::ClusterRole>(object),
        "ClusterRoleBinding" => reads_back::<rbac::v1::ClusterRoleBinding>(object),
        "Role" => reads_back::<rbac::v1::Role>(object),
        "RoleBinding" => reads_back::<rbac::v1::RoleBinding>(object),
        "ServiceMonitor" | "PrometheusRule" => return check_monitoring(object),
        other => return Err(format!("no check for kind {other}")),
    };
    let mut missing = Vec::new();
    lost(object, &read, "", &mut missing);
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("{kind}: unknown or misplaced {missing:?}")),
    }
}

/// The Prometheus Operator's kinds are CRDs: their required shape, by hand.
fn check_monitoring(object: &Value) -> Result<(), String> {
    let api = object["apiVersion"].as_str().unwrap_or_default();
    if api != "monitoring.coreos.com/v1" {
        return Err(format!("apiVersion {api}"));
    }
    match object["kind"].as_str() {
        Some("ServiceMonitor") => {
            let endpoints = object["spec"]["endpoints"].as_array();
            let ok = endpoints.is_some_and(|e| e.iter().all(|e| e["port"].is_string()))
                && object["spec"]["selector"]["matchLabels"].is_object();
            ok.then_some(())
                .ok_or("ServiceMonitor without endpoints' port or selector".into())
        }
        _ => {
            let groups = object["spec"]["groups"].as_array().ok_or("no groups")?;
            for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
                let named = rule["alert"].is_string() && rule["expr"].is_string();
                let said = rule["annotations"]["summary"].is_string()
                    && rule["annotations"]["description"].is_string()
                    && rule["labels"]["severity"].is_string();
                if !(named && said) {
                    return Err(format!("incomplete rule {rule}"));
                }
            }
            Ok(())
        }
    }
}

#[test]
fn every_kustomization_renders_and_every_object_reads_back_whole() {
    for (name, objects) in every_rendering() {
        assert!(!objects.is_empty(), "{name}");
        for object in &objects {
            if let Err(e) = check_fields(object) {
                panic!(
                    "{name}: {}/{}: {e}",
                    object["kind"], object["metadata"]["name"]
                );
            }
        }
        let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(pod["securityContext"]["runAsUser"], 65532, "{name}");
        assert_eq!(pod["securityContext"]["runAsGroup"], 65532, "{name}");
        // Longer than a stopping process may take: the action under way, then the Lease's
        // release (one call within --kube-timeout, 10 s).
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
        let stop = ekas::run::STOP_WITHIN.as_secs() + 10;
        assert!(
            grace > stop,
            "{name}: grace {grace}s, stopping may take {stop}s"
        );
    }
}

#[test]
fn each_component_adds_its_part() {
    let base = render(&repo_root().join("deploy"));
    let kinds = |objects: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap().into())
            .collect();
        k.sort();
        k
    };
    let deployment = |objects: &[Value]| {
        objects
            .iter()
            .find(|o| o["kind"] == "Deployment")
            .cloned()
            .unwrap()
    };
    let args = |objects: &[Value]| -> Vec<String> {
        let d = deployment(objects);
        d["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(deployment(&base)["spec"]["replicas"], 1);

    let irsa = with_component("irsa");
    let sa = irsa.iter().find(|o| o["kind"] == "ServiceAccount").unwrap();
    assert!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_string());

    let interruptions = with_component("interruptions");
    assert!(
        args(&interruptions)
            .iter()
            .any(|a| a.starts_with("--interruption-queue="))
    );
    assert_eq!(args(&interruptions)[..args(&base).len()], args(&base)[..]);

    let monitoring = with_component("monitoring");
    for kind in ["Service", "ServiceMonitor", "PrometheusRule", "ConfigMap"] {
        assert!(kinds(&monitoring).contains(&kind.to_string()), "{kind}");
    }

    let ha = with_component("ha");
    let d = deployment(&ha);
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    let keys: Vec<&str> = pod["topologySpreadConstraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["topologyKey"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    );
    assert!(pod["affinity"]["nodeAffinity"].is_object());
    assert!(kinds(&ha).contains(&"PodDisruptionBudget".to_string()));
}

#[test]
fn the_image_runs_as_the_numeric_user_the_pod_names() {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    // The kubelet refuses runAsNonRoot with a user it cannot tell is not root.
    assert_eq!(user.trim(), "65532:65532");
}

/// Every metric name a PromQL expression or the dashboard asks for.
fn asked_for(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("ekas_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.push(name);
    }
    names
}

#[test]
fn alerts_and_the_dashboard_ask_only_for_metrics_ekas_exports() {
    let exported = ekas::metrics::metrics().series();
    assert!(
        exported.contains(&"ekas_cannot_act".to_string()),
        "{exported:?}"
    );
    let monitoring = repo_root().join("deploy/components/monitoring");
    for file in ["prometheusrule.yaml", "ekas-dashboard.json"] {
        let text = std::fs::read_to_string(monitoring.join(file)).unwrap();
        let asked = asked_for(&text);
        assert!(!asked.is_empty(), "{file}");
        for name in asked {
            assert!(
                exported.contains(&name),
                "{file} asks for {name}, which ekas does not export"
            );
        }
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(monitoring.join("ekas-dashboard.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(dashboard["uid"], "ekas");
}

#[test]
fn the_rbac_check_knows_a_request_when_it_sees_one() {
    // (method, path, query, the request as RBAC sees it)
    let cases = [
        (
            "GET",
            "/api/v1/pods",
            "limit=500",
            Some(("list", "", "pods", None)),
        ),
        (
            "GET",
            "/api/v1/pods",
            "watch=true&resourceVersion=1",
            Some(("watch", "", "pods", None)),
        ),
        (
            "POST",
            "/api/v1/namespaces/batch/pods/a/eviction",
            "",
            Some(("create", "", "pods/eviction", Some("batch"))),
        ),
        (
            "PATCH",
            "/api/v1/nodes/n1",
            "",
            Some(("patch", "", "nodes", None)),
        ),
        (
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/ekas/leases/ekas",
            "",
            Some(("update", "coordination.k8s.io", "leases", Some("ekas"))),
        ),
        ("GET", "/apis", "", None),
        ("GET", "/version", "", None),
    ];
    for (method, path, query, want) in cases {
        let got = rbac_request(method, path, query);
        let want = want.map(|(v, g, r, n): (&str, &str, &str, Option<&str>)| {
            (
                v.to_string(),
                g.to_string(),
                r.to_string(),
                n.map(str::to_string),
            )
        });
        assert_eq!(got, want, "{method} {path}");
    }
    // And the check refuses what the base does not grant.
    let log = [(
        "DELETE".to_string(),
        "/api/v1/namespaces/batch/pods/a".to_string(),
        String::new(),
    )];
    let refused = std::panic::catch_unwind(|| assert_rbac_allows(&log));
    assert!(refused.is_err(), "deleting pods is not granted");
}

/// The operations of an AWS SDK crate, by their client method names: the directories of its
/// `src/operation/`, in the crate's source as Cargo.lock pins it.
fn sdk_operations(service: &str) -> Vec<String> {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
    let crate_name = format!("aws-sdk-{service}");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains(&format!("name = \"{crate_name}\"\n")))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("{crate_name} in Cargo.lock"));
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registry = home.join("registry/src");
    let dir = std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("{}: {e}", registry.display()))
        .filter_map(Result::ok)
        .map(|index| {
            index
                .path()
                .join(format!("{crate_name}-{version}/src/operation"))
        })
        .find(|d| d.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "the source of {crate_name} {version} under {}",
                registry.display()
            )
        });
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `describe_auto_scaling_groups` → `DescribeAutoScalingGroups`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// Every AWS operation ekas's code calls, as IAM names it (`autoscaling:SetDesiredCapacity`):
/// each call of an SDK operation's client method, attributed to the client named last before
/// it (`clients.autoscaling`, or a variable bound to it).
fn operations_called() -> std::collections::BTreeSet<String> {
    let services = ["autoscaling", "ec2", "sqs", "pricing"];
    let known: Vec<(&str, Vec<String>)> = services
        .iter()
        .filter(|s| {
            std::fs::read_to_string(repo_root().join("Cargo.toml"))
                .unwrap()
                .contains(&format!("aws-sdk-{s} ="))
        })
        .map(|s| (*s, sdk_operations(s)))
        .collect();
    let mut called = std::collections::BTreeSet::new();
    let mut files = vec![repo_root().join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        // Method chains are split over lines: join them.
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(" .", ".");
        for (service, operations) in &known {
            for op in operations {
                let call = format!(".{op}(");
                let mut at = 0;
                while let Some(found) = text[at..].find(&call) {
                    let pos = at + found;
                    at = pos + call.len();
                    // The client it is called on: the service named last before the call.
                    let before = &text[..pos];
                    let last = services
                        .iter()
                        .filter_map(|s| before.rfind(&format!(".{s}")).map(|i| (i, *s)))
                        .max();
                    if last.is_some_and(|(_, s)| s == *service) {
                        called.insert(format!("{service}:{}", pascal(op)));
                    }
                }
            }
        }
    }
    called
}

/// The actions the IAM policies in deploy/ grant.
fn granted() -> std::collections::BTreeSet<String> {
    let mut actions = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(repo_root().join("deploy")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("iam-") && name.ends_with(".json")) {
            continue;
        }
        let policy: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for statement in policy["Statement"].as_array().unwrap() {
            for action in statement["Action"].as_array().unwrap() {
                actions.insert(action.as_str().unwrap().to_string());
            }
        }
    }
    actions
}

#[test]
fn the_iam_policies_grant_exactly_the_calls_ekas_makes() {
    let called = operations_called();
    let granted = granted();
    // Tags are set and removed through one function, whose two calls the scan sees.
    assert!(
        called.contains("autoscaling:SetDesiredCapacity"),
        "{called:?}"
    );
    let missing: Vec<&String> = called.difference(&granted).collect();
    let unused: Vec<&String> = granted.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "called without a permission in deploy/iam-*.json: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "granted in deploy/iam-*.json but never called: {unused:?}"
    );
}

//! What deploy/ renders to, for the tests that check it: `kubectl kustomize`'s output as
//! objects, and its RBAC rules against the requests ekas made.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::repo_root;

/// `kubectl kustomize DIR`, as objects.
pub fn render(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl (with kustomize) is on the machine");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One rule of a Role or ClusterRole, as the API server matches it.
fn grants(rule: &Value, verb: &str, group: &str, resource: &str) -> bool {
    let has = |key: &str, want: &str| {
        rule[key]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x == want || x == "*"))
    };
    has("verbs", verb) && has("apiGroups", group) && has("resources", resource)
}

/// The request a path and method make, as RBAC sees it: (verb, group, resource incl.
/// subresource, namespace). `None` for discovery, which every account may read.
pub fn rbac_request(
    method: &str,
    path: &str,
    query: &str,
) -> Option<(String, String, String, Option<String>)> {
    let (group, rest) = match path.strip_prefix("/api/v1/") {
        Some(rest) => ("", rest),
        None => {
            let rest = path.strip_prefix("/apis/")?;
            let mut parts = rest.splitn(3, '/');
            let (group, _version) = (parts.next()?, parts.next()?);
            (group, parts.next()?)
        }
    };
    let seg: Vec<&str> = rest.split('/').collect();
    let (namespace, seg) = match seg.as_slice() {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest.to_vec()),
        _ => (None, seg),
    };
    let (resource, named) = match seg.as_slice() {
        [plural] => (plural.to_string(), false),
        [plural, _name] => (plural.to_string(), true),
        [plural, _name, sub] => (format!("{plural}/{sub}"), true),
        _ => return None,
    };
    let verb = match (method, named) {
        ("GET", false) if query.contains("watch=true") || query.contains("watch=1") => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => return None,
    };
    Some((verb.into(), group.into(), resource, namespace))
}

/// Every request in `log` ((method, path, query), as the fake API server kept it) is one the
/// base's RBAC grants ekas's ServiceAccount: the ClusterRole anywhere, the Role in its
/// namespace.
pub fn assert_rbac_allows(log: &[(String, String, String)]) {
    let objects = render(&repo_root().join("deploy"));
    let rules = |kind: &str| -> Vec<(Value, Option<String>)> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .flat_map(|o| {
                let ns = o["metadata"]["namespace"].as_str().map(str::to_string);
                o["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |r| (r.clone(), ns.clone()))
            })
            .collect()
    };
    let mut all = rules("ClusterRole");
    all.extend(rules("Role"));
    let mut refused = Vec::new();
    for (method, path, query) in log {
        let Some((verb, group, resource, namespace)) = rbac_request(method, path, query) else {
            continue;
        };
        let allowed = all.iter().any(|(rule, scope)| {
            grants(rule, &verb, &group, &resource)
                && scope.as_ref().is_none_or(|s| Some(s) == namespace.as_ref())
        });
        if !allowed {
            refused.push(format!(
                "{verb} {group}/{resource} in {namespace:?} ({method} {path})"
            ));
        }
    }
    refused.sort();
    refused.dedup();
    assert!(
        refused.is_empty(),
        "deploy/rbac.yaml does not grant: {refused:#?}"
    );
}

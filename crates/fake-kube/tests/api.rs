//! The fake API server's behaviour, as specifications: each test is one thing a client can
//! rely on, checked over plain HTTP the way a client sees it. Codes, `Status` reasons and body
//! shapes are those a real kube-apiserver (v1.36) answered for the same requests.

mod support;

use std::time::{Duration, Instant};

use fake_kube::FakeKube;
use serde_json::{Value, json};
use support::{Client, JSON_PATCH, MERGE, Reply, STRATEGIC, enc, summary};

const PODS: &str = "/api/v1/namespaces/web/pods";
const PDBS: &str = "/apis/policy/v1/namespaces/web/poddisruptionbudgets";
const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/web/leases";
const NODES: &str = "/api/v1/nodes";

fn start() -> (FakeKube, Client) {
    let kube = FakeKube::start();
    let client = Client::new(&kube.url);
    (kube, client)
}

fn pod(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

fn on_node(mut pod: Value, node: &str) -> Value {
    pod["spec"]["nodeName"] = json!(node);
    pod
}

/// Running and Ready: what a disruption budget counts as healthy.
fn running(mut pod: Value) -> Value {
    pod["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}]});
    pod
}

/// Running but not Ready.
fn unready(mut pod: Value) -> Value {
    pod["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}]});
    pod
}

fn web(name: &str) -> Value {
    pod(name, json!({"app": "web"}))
}

fn pdb(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["selector"] = json!({"matchLabels": {"app": "web"}});
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name}, "spec": spec})
}

fn eviction(name: &str) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": name, "namespace": "web"}})
}

/// Checks a failure `Status`: its code, and the `reason` the real server gives.
#[track_caller]
fn assert_status(reply: &Reply, code: u16, reason: &str) {
    assert_eq!(reply.code, code, "{}", reply.body);
    assert_eq!(reply.reason(), reason, "{}", reply.body);
    assert_eq!(reply.body["status"], "Failure", "{}", reply.body);
}

fn rv(object: &Value) -> u64 {
    let rv = object["metadata"]["resourceVersion"].as_str();
    rv.and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion in {object}"))
}

fn names(events: &[(String, String)]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|(kind, name)| (kind.as_str(), name.as_str()))
        .collect()
}

// ---- Routing ----

#[test]
fn core_resources_are_served_under_api_v1() {
    let (_kube, mut api) = start();
    assert_eq!(api.post(PODS, web("a")).code, 201);
    let got = api.get(&format!("{PODS}/a"));
    assert_eq!(got.code, 200);
    assert_eq!(got.body["kind"], "Pod");
    assert_eq!(got.body["apiVersion"], "v1");
    assert_eq!(got.body["metadata"]["namespace"], "web");
    let list = api.get(PODS);
    assert_eq!(list.body["kind"], "PodList");
    assert_eq!(list.names(), ["a"]);
}

#[test]
fn group_resources_are_served_under_apis_group_version() {
    let (_kube, mut api) = start();
    let lease = json!({"metadata": {"name": "lock"}, "spec": {"holderIdentity": "me"}});
    assert_eq!(api.post(LEASES, lease).code, 201);
    let got = api.get(&format!("{LEASES}/lock"));
    assert_eq!(got.code, 200);
    assert_eq!(got.body["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(got.body["kind"], "Lease");
    assert_eq!(got.body["spec"]["holderIdentity"], "me");
    // Not under the core path, nor under another group.
    assert_status(&api.get("/api/v1/namespaces/web/leases"), 404, "NotFound");
    let elsewhere = "/apis/policy/v1/namespaces/web/leases";
    assert_status(&api.get(elsewhere), 404, "NotFound");
}

#[test]
fn a_namespaced_list_shows_its_namespace_and_the_all_namespaces_list_shows_all() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    kube.add("/api/v1/namespaces/other/pods", web("b"));
    kube.add("/api/v1/pods", web("c")); // no namespace given: "default"
    assert_eq!(api.get(PODS).names(), ["a"]);
    let all = api.get("/api/v1/pods");
    assert_eq!(all.names(), ["c", "b", "a"]); // by namespace, then name
    let namespaces: Vec<&Value> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["metadata"]["namespace"])
        .collect();
    assert_eq!(namespaces, ["default", "other", "web"]);
}

#[test]
fn cluster_scoped_objects_have_no_namespace() {
    let (_kube, mut api) = start();
    let node = json!({"metadata": {"name": "n1", "namespace": "web"}});
    let created = api.post(NODES, node);
    assert_eq!(created.code, 201);
    assert!(created.body["metadata"].get("namespace").is_none());
    assert_eq!(api.get("/api/v1/nodes/n1").code, 200);
    assert_eq!(api.get(NODES).names(), ["n1"]);
    // Not under a namespace.
    let namespaced = api.get("/api/v1/namespaces/web/nodes/n1");
    assert_status(&namespaced, 404, "NotFound");
}

#[test]
fn a_namespaced_object_needs_its_namespace_in_the_path() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    assert_status(&api.get("/api/v1/pods/a"), 404, "NotFound");
}

#[test]
fn a_namespace_has_a_status_subresource() {
    let (kube, mut api) = start();
    kube.add("/api/v1/namespaces", json!({"metadata": {"name": "web"}}));
    let got = api.get("/api/v1/namespaces/web/status");
    assert_eq!(got.code, 200);
    assert_eq!(got.body["kind"], "Namespace");
    assert_eq!(got.body["status"]["phase"], "Active");
}

#[test]
fn an_unknown_path_is_not_found() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    for path in [
        "/api/v1/widgets",
        "/api/v2/pods",
        "/apis/nope.io/v1/things",
        "/apis/policy/v1/widgets",
        "/api/v1/namespaces/web/pods/a/bogus",
        "/api/v1/namespaces/web/pods/a/status/more",
        "/nothing",
    ] {
        let reply = api.get(path);
        assert_status(&reply, 404, "NotFound");
        let message = &reply.body["message"];
        assert_eq!(message, "the server could not find the requested resource");
    }
}

#[test]
fn a_missing_object_is_not_found_with_its_name_and_kind() {
    let (_kube, mut api) = start();
    let reply = api.get(&format!("{PODS}/zz"));
    assert_status(&reply, 404, "NotFound");
    assert_eq!(reply.body["message"], "pods \"zz\" not found");
    // The core group's empty name is left out, as the real server does.
    assert_eq!(reply.body["details"], json!({"name": "zz", "kind": "pods"}));
    let reply = api.get(&format!("{LEASES}/zz"));
    assert_status(&reply, 404, "NotFound");
    let details = json!({"name": "zz", "kind": "leases", "group": "coordination.k8s.io"});
    assert_eq!(reply.body["details"], details);
}

#[test]
fn an_unserved_api_version_is_not_found() {
    let (kube, mut api) = start();
    // 1.36's PodGroups are not served unless a test asks.
    let old = "/apis/scheduling.k8s.io/v1alpha2/namespaces/web/podgroups";
    assert_status(&api.get(old), 404, "NotFound");
    let current = "/apis/scheduling.k8s.io/v1alpha3/namespaces/web/podgroups";
    assert_eq!(api.get(current).code, 200);
    kube.unserve("scheduling.k8s.io/v1alpha3");
    assert_status(&api.get(current), 404, "NotFound");
    let group = json!({"metadata": {"name": "g"}});
    assert_status(&api.post(current, group), 404, "NotFound");
}

#[test]
fn serving_an_api_version_again_brings_back_its_objects() {
    let (kube, mut api) = start();
    let path = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/web/podgroups";
    assert_eq!(api.post(path, json!({"metadata": {"name": "g"}})).code, 201);
    kube.unserve("scheduling.x-k8s.io/v1alpha1");
    assert_status(&api.get(&format!("{path}/g")), 404, "NotFound");
    kube.serve("scheduling.x-k8s.io/v1alpha1");
    assert_eq!(api.get(&format!("{path}/g")).code, 200);
}

#[test]
fn creating_in_the_all_namespaces_collection_is_not_allowed() {
    let (_kube, mut api) = start();
    let reply = api.post("/api/v1/pods", web("a"));
    assert_status(&reply, 405, "MethodNotAllowed");
}

#[test]
fn a_method_a_path_does_not_take_is_not_allowed() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    assert_status(&api.put(PODS, web("a")), 405, "MethodNotAllowed");
    assert_status(
        &api.post(&format!("{PODS}/a"), web("a")),
        405,
        "MethodNotAllowed",
    );
    let status = api.delete(&format!("{PODS}/a/status"));
    assert_status(&status, 405, "MethodNotAllowed");
}

// ---- Discovery ----

#[test]
fn core_discovery_lists_v1() {
    let (_kube, mut api) = start();
    let reply = api.get("/api");
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["kind"], "APIVersions");
    assert_eq!(reply.body["versions"], json!(["v1"]));
}

#[test]
fn group_discovery_lists_every_served_group_with_a_preferred_version() {
    let (_kube, mut api) = start();
    let reply = api.get("/apis");
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["kind"], "APIGroupList");
    let groups = reply.body["groups"].as_array().unwrap();
    let policy = groups.iter().find(|g| g["name"] == "policy").unwrap();
    let v1 = json!({"groupVersion": "policy/v1", "version": "v1"});
    assert_eq!(policy["versions"], json!([v1]));
    assert_eq!(policy["preferredVersion"], v1);
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    for group in [
        "apps",
        "coordination.k8s.io",
        "events.k8s.io",
        "scheduling.k8s.io",
    ] {
        assert!(names.contains(&group), "{group} missing from {names:?}");
    }
    assert!(!names.contains(&""), "the core group is not a group");
}

#[test]
fn a_group_document_lists_its_versions() {
    let (_kube, mut api) = start();
    let reply = api.get("/apis/coordination.k8s.io");
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["kind"], "APIGroup");
    assert_eq!(reply.body["name"], "coordination.k8s.io");
    let v1 = json!({"groupVersion": "coordination.k8s.io/v1", "version": "v1"});
    assert_eq!(reply.body["versions"], json!([v1]));
    assert_eq!(reply.body["preferredVersion"], v1);
    assert_status(&api.get("/apis/nope.io"), 404, "NotFound");
}

#[test]
fn a_group_version_document_lists_its_resources() {
    let (_kube, mut api) = start();
    let reply = api.get("/api/v1");
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["kind"], "APIResourceList");
    assert_eq!(reply.body["groupVersion"], "v1");
    let resources = reply.body["resources"].as_array().unwrap();
    let find = |name: &str| {
        resources
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    let pods = find("pods");
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["namespaced"], true);
    assert!(pods["verbs"].as_array().unwrap().contains(&json!("watch")));
    assert_eq!(find("nodes")["namespaced"], false);

    let policy = api.get("/apis/policy/v1");
    assert_eq!(policy.body["groupVersion"], "policy/v1");
    let names: Vec<&Value> = policy.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["name"])
        .collect();
    assert_eq!(names, ["poddisruptionbudgets"]);
}

#[test]
fn an_unserved_version_leaves_discovery() {
    let (kube, mut api) = start();
    let versions = |api: &mut Client| {
        let groups = api.get("/apis").body["groups"].clone();
        let groups = groups.as_array().unwrap().clone();
        let scheduling = groups.iter().find(|g| g["name"] == "scheduling.k8s.io");
        scheduling.map(|g| g["versions"].clone())
    };
    let v1alpha3 = json!({"groupVersion": "scheduling.k8s.io/v1alpha3", "version": "v1alpha3"});
    assert_eq!(versions(&mut api), Some(json!([v1alpha3])));
    let doc = "/apis/scheduling.k8s.io/v1alpha2";
    assert_status(&api.get(doc), 404, "NotFound");
    kube.serve("scheduling.k8s.io/v1alpha2");
    assert_eq!(api.get(doc).code, 200);
    kube.unserve("scheduling.k8s.io/v1alpha2");
    kube.unserve("scheduling.k8s.io/v1alpha3");
    assert_eq!(versions(&mut api), None);
    let doc = "/apis/scheduling.k8s.io/v1alpha3";
    assert_status(&api.get(doc), 404, "NotFound");
}

#[test]
fn the_version_document_names_the_server() {
    let (_kube, mut api) = start();
    let reply = api.get("/version");
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["major"], "1");
    assert!(
        reply.body["gitVersion"]
            .as_str()
            .unwrap()
            .starts_with("v1.")
    );
}

// ---- Label selectors ----

/// a: app=web tier=front; b: app=web; c: app=db tier=back; d: no labels.
fn labelled() -> (FakeKube, Client) {
    let (kube, api) = start();
    kube.add(PODS, pod("a", json!({"app": "web", "tier": "front"})));
    kube.add(PODS, pod("b", json!({"app": "web"})));
    kube.add(PODS, pod("c", json!({"app": "db", "tier": "back"})));
    kube.add(PODS, pod("d", json!({})));
    (kube, api)
}

fn select(api: &mut Client, selector: &str) -> Vec<String> {
    let reply = api.get(&format!("{PODS}?labelSelector={}", enc(selector)));
    assert_eq!(reply.code, 200, "{selector}: {}", reply.body);
    reply.names()
}

#[test]
fn a_label_selector_matches_by_equality() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "app=web"), ["a", "b"]);
    assert_eq!(select(&mut api, "app==web"), ["a", "b"]);
    assert_eq!(select(&mut api, "app=nope"), [] as [&str; 0]);
}

#[test]
fn a_label_selector_inequality_includes_objects_without_the_label() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "app!=web"), ["c", "d"]);
}

#[test]
fn a_label_selector_matches_a_set() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "app in (web,db)"), ["a", "b", "c"]);
    assert_eq!(select(&mut api, "tier in (front, nope)"), ["a"]);
}

#[test]
fn a_label_selector_notin_includes_objects_without_the_label() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "app notin (web)"), ["c", "d"]);
}

#[test]
fn a_label_selector_tests_whether_a_label_exists() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "tier"), ["a", "c"]);
    assert_eq!(select(&mut api, "!tier"), ["b", "d"]);
}

#[test]
fn every_requirement_of_a_label_selector_must_hold() {
    let (_kube, mut api) = labelled();
    assert_eq!(select(&mut api, "app=web,tier=front"), ["a"]);
    assert_eq!(select(&mut api, "app=web,!tier"), ["b"]);
    assert_eq!(
        select(&mut api, "app in (web,db),tier notin (front)"),
        ["b", "c"]
    );
}

#[test]
fn an_unparsable_label_selector_is_a_bad_request() {
    let (_kube, mut api) = labelled();
    let reply = api.get(&format!("{PODS}?labelSelector={}", enc("bad sel ==(")));
    assert_status(&reply, 400, "BadRequest");
}

// ---- Field selectors ----

/// a: on n1, Running; b: on n2, Pending; c: not bound, Pending.
fn placed() -> (FakeKube, Client) {
    let (kube, api) = start();
    kube.add(PODS, running(on_node(web("a"), "n1")));
    kube.add(PODS, on_node(web("b"), "n2"));
    kube.add(PODS, web("c"));
    (kube, api)
}

fn fields(api: &mut Client, selector: &str) -> Vec<String> {
    let reply = api.get(&format!("{PODS}?fieldSelector={}", enc(selector)));
    assert_eq!(reply.code, 200, "{selector}: {}", reply.body);
    reply.names()
}

#[test]
fn a_field_selector_matches_the_node_name() {
    let (_kube, mut api) = placed();
    assert_eq!(fields(&mut api, "spec.nodeName=n1"), ["a"]);
    assert_eq!(fields(&mut api, "spec.nodeName!=n1"), ["b", "c"]);
    // Unbound pods, as the scheduler lists them.
    assert_eq!(fields(&mut api, "spec.nodeName="), ["c"]);
}

#[test]
fn a_field_selector_matches_the_name() {
    let (_kube, mut api) = placed();
    assert_eq!(fields(&mut api, "metadata.name=b"), ["b"]);
    assert_eq!(fields(&mut api, "metadata.name!=b"), ["a", "c"]);
}

#[test]
fn a_field_selector_matches_the_phase() {
    let (_kube, mut api) = placed();
    assert_eq!(fields(&mut api, "status.phase=Pending"), ["b", "c"]);
    let settled = "status.phase!=Pending,status.phase!=Succeeded,status.phase!=Failed";
    assert_eq!(fields(&mut api, settled), ["a"]);
}

#[test]
fn field_and_label_selectors_apply_together() {
    let (kube, mut api) = placed();
    kube.add(PODS, on_node(pod("d", json!({"app": "db"})), "n1"));
    let path = format!(
        "{PODS}?fieldSelector={}&labelSelector={}",
        enc("spec.nodeName=n1"),
        enc("app=db")
    );
    assert_eq!(api.get(&path).names(), ["d"]);
}

#[test]
fn an_unsupported_field_selector_is_a_bad_request() {
    let (_kube, mut api) = placed();
    let reply = api.get(&format!("{PODS}?fieldSelector={}", enc("spec.bogus=x")));
    assert_status(&reply, 400, "BadRequest");
    assert_eq!(
        reply.body["message"],
        "field label not supported: spec.bogus"
    );
    // A pod's field, asked of nodes.
    let reply = api.get(&format!(
        "{NODES}?fieldSelector={}",
        enc("spec.nodeName=n1")
    ));
    assert_status(&reply, 400, "BadRequest");
    let reply = api.get(&format!("{PODS}?fieldSelector={}", enc("metadata.name")));
    assert_status(&reply, 400, "BadRequest");
}

// ---- Pagination ----

fn five_pods() -> (FakeKube, Client) {
    let (kube, api) = start();
    for name in ["p1", "p2", "p3", "p4", "p5"] {
        kube.add(PODS, web(name));
    }
    (kube, api)
}

#[test]
fn a_limited_list_continues_where_it_stopped() {
    let (_kube, mut api) = five_pods();
    let first = api.get(&format!("{PODS}?limit=2"));
    assert_eq!(first.names(), ["p1", "p2"]);
    assert_eq!(first.body["metadata"]["remainingItemCount"], 3);
    let mut token = first.body["metadata"]["continue"]
        .as_str()
        .unwrap()
        .to_string();
    let mut seen = first.names();
    let mut pages = 1;
    while !token.is_empty() {
        let page = api.get(&format!("{PODS}?limit=2&continue={}", enc(&token)));
        assert_eq!(page.code, 200, "{}", page.body);
        seen.extend(page.names());
        pages += 1;
        let next = page.body["metadata"]["continue"].as_str();
        token = next.unwrap_or_default().to_string();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["p1", "p2", "p3", "p4", "p5"]);
}

#[test]
fn the_last_page_has_no_continue_token() {
    let (_kube, mut api) = five_pods();
    let all = api.get(&format!("{PODS}?limit=5"));
    assert_eq!(all.names().len(), 5);
    assert!(all.body["metadata"].get("continue").is_none());
    assert!(all.body["metadata"].get("remainingItemCount").is_none());
    // limit=0 is no limit.
    assert_eq!(api.get(&format!("{PODS}?limit=0")).names().len(), 5);
}

#[test]
fn a_limit_counts_only_selected_objects() {
    let (kube, mut api) = five_pods();
    kube.add(PODS, pod("p0", json!({"app": "db"})));
    let path = format!("{PODS}?limit=2&labelSelector={}", enc("app=web"));
    let first = api.get(&path);
    assert_eq!(first.names(), ["p1", "p2"]);
    assert_eq!(first.body["metadata"]["remainingItemCount"], 3);
}

#[test]
fn a_continued_page_keeps_the_resource_version_of_the_first() {
    let (kube, mut api) = five_pods();
    let first = api.get(&format!("{PODS}?limit=2"));
    let token = first.body["metadata"]["continue"].as_str().unwrap();
    kube.add(PODS, web("p9"));
    let next = api.get(&format!("{PODS}?limit=2&continue={}", enc(token)));
    let version = |r: &Reply| r.body["metadata"]["resourceVersion"].clone();
    assert_eq!(version(&next), version(&first));
    assert_ne!(json!(kube.resource_version()), version(&first));
}

#[test]
fn an_invalid_continue_token_is_a_bad_request() {
    let (_kube, mut api) = five_pods();
    let reply = api.get(&format!("{PODS}?limit=2&continue=zzz"));
    assert_status(&reply, 400, "BadRequest");
}

// ---- Watches ----

#[test]
fn a_watch_from_a_resource_version_replays_the_changes_after_it() {
    let (kube, mut api) = start();
    kube.add(PODS, web("before"));
    let since = kube.resource_version();
    assert_eq!(api.post(PODS, web("a")).code, 201);
    let label = json!({"metadata": {"labels": {"x": "1"}}});
    assert_eq!(api.patch(&format!("{PODS}/a"), MERGE, label).code, 200);
    let deleted = api.delete(&format!("{PODS}/a"));
    assert_eq!(deleted.code, 200);

    let path = format!("{PODS}?watch=true&resourceVersion={since}&timeoutSeconds=1");
    let mut watch = api.watch(&path);
    let events: Vec<Value> = (0..3).map(|_| watch.next().unwrap()).collect();
    let got: Vec<_> = events.iter().map(summary).collect();
    let expected = [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")];
    assert_eq!(names(&got), expected);
    let versions: Vec<u64> = events.iter().map(|e| rv(&e["object"])).collect();
    let since: u64 = since.parse().unwrap();
    assert_eq!(versions, [since + 1, since + 2, since + 3]);
    // The deleted object carries the deletion's resourceVersion.
    assert_eq!(versions[2].to_string(), kube.resource_version());
    assert_eq!(events[1]["object"]["metadata"]["labels"]["x"], "1");
    // Then the stream ends at its timeout.
    assert_eq!(watch.next(), None);
}

#[test]
fn a_watch_follows_changes_as_they_happen() {
    let (kube, mut api) = start();
    let since = kube.resource_version();
    let path = format!("{PODS}?watch=true&resourceVersion={since}&timeoutSeconds=10");
    let mut watch = api.watch(&path);
    assert_eq!(api.post(PODS, web("a")).code, 201);
    kube.set("pods", Some("web"), "a", |p| {
        p["spec"]["nodeName"] = json!("n1")
    });
    kube.remove("pods", Some("web"), "a");
    // Other namespaces and types are not this watch's.
    kube.add("/api/v1/namespaces/other/pods", web("b"));
    kube.add(NODES, json!({"metadata": {"name": "n1"}}));
    kube.add(PODS, web("c"));
    let expected = [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
        ("ADDED", "c"),
    ];
    assert_eq!(names(&watch.take(4)), expected);
}

#[test]
fn a_watch_without_a_resource_version_starts_with_every_current_object() {
    let (kube, api) = start();
    kube.add(PODS, web("a"));
    kube.add(PODS, web("b"));
    let mut watch = api.watch(&format!("{PODS}?watch=true&timeoutSeconds=10"));
    assert_eq!(names(&watch.take(2)), [("ADDED", "a"), ("ADDED", "b")]);
    kube.add(PODS, web("c"));
    assert_eq!(names(&watch.take(1)), [("ADDED", "c")]);
}

#[test]
fn a_watch_sees_an_object_leaving_its_selection_as_deleted() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let since = kube.resource_version();
    let selector = enc("app=web");
    let path = format!(
        "{PODS}?watch=true&labelSelector={selector}&resourceVersion={since}&timeoutSeconds=10"
    );
    let mut watch = api.watch(&path);
    let relabel = |app: &str| json!({"metadata": {"labels": {"app": app}}});
    let a = format!("{PODS}/a");
    assert_eq!(api.patch(&a, MERGE, relabel("db")).code, 200);
    let note = json!({"metadata": {"annotations": {"n": "1"}}});
    assert_eq!(api.patch(&a, MERGE, note.clone()).code, 200); // out of sight
    assert_eq!(api.patch(&a, MERGE, relabel("web")).code, 200);
    let note = json!({"metadata": {"annotations": {"n": "2"}}});
    assert_eq!(api.patch(&a, MERGE, note).code, 200);
    let expected = [("DELETED", "a"), ("ADDED", "a"), ("MODIFIED", "a")];
    assert_eq!(names(&watch.take(3)), expected);
}

#[test]
fn a_watch_with_a_field_selector_sees_only_matching_objects() {
    let (kube, mut api) = start();
    let since = kube.resource_version();
    let selector = enc("spec.nodeName=n1");
    let path = format!(
        "{PODS}?watch=true&fieldSelector={selector}&resourceVersion={since}&timeoutSeconds=10"
    );
    let mut watch = api.watch(&path);
    assert_eq!(api.post(PODS, web("unbound")).code, 201);
    assert_eq!(api.post(PODS, on_node(web("bound"), "n1")).code, 201);
    assert_eq!(names(&watch.take(1)), [("ADDED", "bound")]);
}

#[test]
fn an_idle_watch_sends_bookmarks_when_asked() {
    let (kube, api) = start();
    kube.add(PODS, web("a"));
    let now = kube.resource_version();
    let path = format!(
        "{PODS}?watch=true&allowWatchBookmarks=true&resourceVersion={now}&timeoutSeconds=10"
    );
    let started = Instant::now();
    let mut watch = api.watch(&path);
    let events = watch.until("BOOKMARK", Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(events.len(), 1, "only a bookmark: {events:?}");
    let object = &events[0]["object"];
    assert_eq!(object["kind"], "Pod");
    assert_eq!(object["apiVersion"], "v1");
    assert_eq!(object["metadata"]["resourceVersion"], json!(now));
    // A bookmark moves on with later changes.
    kube.add("/api/v1/namespaces/other/pods", web("elsewhere"));
    let later = kube.resource_version();
    let events = watch.until("BOOKMARK", Duration::from_secs(5));
    let last = &events.last().unwrap()["object"]["metadata"]["resourceVersion"];
    assert_eq!(last, &json!(later));
}

#[test]
fn an_idle_watch_sends_no_bookmarks_unless_asked() {
    let (kube, api) = start();
    let now = kube.resource_version();
    let path = format!("{PODS}?watch=true&resourceVersion={now}&timeoutSeconds=2");
    let mut watch = api.watch(&path);
    assert_eq!(watch.next(), None);
}

#[test]
fn a_streaming_list_ends_its_initial_events_with_a_bookmark() {
    let (kube, api) = start();
    kube.add(PODS, web("a"));
    kube.add(PODS, web("b"));
    let path = format!(
        "{PODS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true\
         &resourceVersionMatch=NotOlderThan&timeoutSeconds=10"
    );
    let mut watch = api.watch(&path);
    let events = watch.until("BOOKMARK", Duration::from_secs(5));
    let got: Vec<_> = events.iter().map(summary).collect();
    assert_eq!(
        names(&got),
        [("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", "")]
    );
    let bookmark = &events[2]["object"]["metadata"];
    assert_eq!(bookmark["annotations"]["k8s.io/initial-events-end"], "true");
    assert_eq!(bookmark["resourceVersion"], json!(kube.resource_version()));
}

#[test]
fn an_invalid_watch_resource_version_is_refused() {
    let (_kube, mut api) = start();
    let reply = api.get(&format!("{PODS}?watch=true&resourceVersion=abc"));
    assert_status(&reply, 400, "BadRequest");
}

// ---- Create ----

#[test]
fn the_server_gives_a_new_object_its_identity() {
    let (_kube, mut api) = start();
    let mut sent = web("a");
    sent["metadata"]["resourceVersion"] = json!("12345");
    let created = api.post(PODS, sent);
    assert_eq!(created.code, 201);
    let meta = &created.body["metadata"];
    assert!(!meta["uid"].as_str().unwrap().is_empty());
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(meta["generation"], 1);
    assert_ne!(meta["resourceVersion"], "12345");
    let got = api.get(&format!("{PODS}/a"));
    assert_eq!(got.body, created.body);
}

#[test]
fn a_new_pod_starts_pending_whatever_status_it_was_sent_with() {
    let (_kube, mut api) = start();
    let created = api.post(PODS, running(web("a")));
    assert_eq!(created.code, 201);
    assert_eq!(created.body["status"], json!({"phase": "Pending"}));
    let ns = api.post("/api/v1/namespaces", json!({"metadata": {"name": "web"}}));
    assert_eq!(ns.body["status"]["phase"], "Active");
}

#[test]
fn creating_an_existing_name_is_already_exists() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let reply = api.post(PODS, web("a"));
    assert_status(&reply, 409, "AlreadyExists");
    assert_eq!(reply.body["message"], "pods \"a\" already exists");
    assert_eq!(reply.body["details"], json!({"name": "a", "kind": "pods"}));
    // The same name in another namespace is another object.
    assert_eq!(
        api.post("/api/v1/namespaces/other/pods", web("a")).code,
        201
    );
}

#[test]
fn a_generated_name_is_the_prefix_and_a_unique_suffix() {
    let (_kube, mut api) = start();
    let generated = || json!({"metadata": {"generateName": "job-"}, "spec": {}});
    let a = api.post(PODS, generated());
    let b = api.post(PODS, generated());
    assert_eq!((a.code, b.code), (201, 201));
    let name = |r: &Reply| r.body["metadata"]["name"].as_str().unwrap().to_string();
    assert!(name(&a).starts_with("job-") && name(&a).len() == "job-".len() + 5);
    assert_ne!(name(&a), name(&b));
}

#[test]
fn a_create_without_a_name_is_invalid() {
    let (_kube, mut api) = start();
    let reply = api.post(PODS, json!({"metadata": {}, "spec": {}}));
    assert_status(&reply, 422, "Invalid");
}

#[test]
fn a_namespace_in_the_body_must_match_the_path() {
    let (_kube, mut api) = start();
    let mut sent = web("a");
    sent["metadata"]["namespace"] = json!("other");
    assert_status(&api.post(PODS, sent), 400, "BadRequest");
    let mut sent = web("a");
    sent["metadata"]["namespace"] = json!("web");
    assert_eq!(api.post(PODS, sent).code, 201);
}

#[test]
fn a_body_that_is_not_json_is_a_bad_request() {
    let (_kube, mut api) = start();
    let reply = api.send("POST", PODS, Some("{nope"), support::JSON);
    assert_status(&reply, 400, "BadRequest");
    let reply = api.post(PODS, json!([1, 2]));
    assert_status(&reply, 400, "BadRequest");
}

#[test]
fn a_dry_run_create_stores_nothing() {
    let (kube, mut api) = start();
    let before = kube.resource_version();
    let reply = api.post(&format!("{PODS}?dryRun=All"), web("a"));
    assert_eq!(reply.code, 201);
    assert_eq!(reply.body["metadata"]["name"], "a");
    assert_status(&api.get(&format!("{PODS}/a")), 404, "NotFound");
    assert_eq!(kube.resource_version(), before);
}

// ---- Delete ----

#[test]
fn a_delete_answers_with_the_object_and_removes_it() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let reply = api.delete(&format!("{PODS}/a"));
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["kind"], "Pod");
    assert_eq!(reply.body["metadata"]["name"], "a");
    assert_status(&api.get(&format!("{PODS}/a")), 404, "NotFound");
    assert_status(&api.delete(&format!("{PODS}/a")), 404, "NotFound");
}

#[test]
fn deleting_a_namespace_deletes_what_is_in_it() {
    let (kube, mut api) = start();
    kube.add("/api/v1/namespaces", json!({"metadata": {"name": "web"}}));
    kube.add(PODS, web("a"));
    kube.add(LEASES, json!({"metadata": {"name": "lock"}}));
    kube.add("/api/v1/namespaces/other/pods", web("b"));
    kube.add(NODES, json!({"metadata": {"name": "n1"}}));
    assert_eq!(api.delete("/api/v1/namespaces/web").code, 200);
    assert_eq!(api.get("/api/v1/pods").names(), ["b"]);
    assert_eq!(api.get(LEASES).names(), [] as [&str; 0]);
    assert_eq!(api.get(NODES).names(), ["n1"]);
}

#[test]
fn a_collection_delete_removes_the_selected_objects() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    kube.add(PODS, pod("b", json!({"app": "db"})));
    let reply = api.delete(&format!("{PODS}?labelSelector={}", enc("app=web")));
    assert_eq!(reply.code, 200);
    assert_eq!(reply.names(), ["a"]);
    assert_eq!(api.get(PODS).names(), ["b"]);
}

// ---- Patches ----

fn labels(api: &mut Client, name: &str) -> Value {
    api.get(&format!("{PODS}/{name}")).body["metadata"]["labels"].clone()
}

#[test]
fn a_merge_patch_sets_and_removes_fields() {
    let (kube, mut api) = start();
    kube.add(PODS, pod("a", json!({"app": "web", "tier": "front"})));
    let patch = json!({"metadata": {"labels": {"x": "1", "tier": null}}});
    let reply = api.patch(&format!("{PODS}/a"), MERGE, patch);
    assert_eq!(reply.code, 200);
    assert_eq!(
        reply.body["metadata"]["labels"],
        json!({"app": "web", "x": "1"})
    );
    assert_eq!(labels(&mut api, "a"), json!({"app": "web", "x": "1"}));
}

#[test]
fn a_merge_patch_replaces_a_list_whole() {
    let (kube, mut api) = start();
    let mut two = web("a");
    two["spec"]["tolerations"] = json!([{"key": "k1"}, {"key": "k2"}]);
    kube.add(PODS, two);
    let patch = json!({"spec": {"tolerations": [{"key": "k3"}]}});
    let reply = api.patch(&format!("{PODS}/a"), MERGE, patch);
    assert_eq!(reply.body["spec"]["tolerations"], json!([{"key": "k3"}]));
}

#[test]
fn a_strategic_merge_patch_merges_conditions_by_type() {
    let (kube, mut api) = start();
    let mut a = web("a");
    a["status"] = json!({"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "Starting"}]});
    kube.add(PODS, a);
    let patch = json!({"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": null},
        {"type": "DisruptionTarget", "status": "True"}]}});
    let reply = api.patch(&format!("{PODS}/a/status"), STRATEGIC, patch);
    assert_eq!(reply.code, 200, "{}", reply.body);
    let conditions = json!([
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True"},
        {"type": "DisruptionTarget", "status": "True"}]);
    assert_eq!(reply.body["status"]["conditions"], conditions);
    assert_eq!(reply.body["status"]["phase"], "Running");
}

#[test]
fn a_strategic_merge_patch_merges_containers_by_name() {
    let (kube, mut api) = start();
    let mut a = web("a");
    a["spec"]["containers"] =
        json!([{"name": "c1", "image": "x:1"}, {"name": "c2", "image": "y:1"}]);
    kube.add(PODS, a);
    let patch = json!({"spec": {"containers": [{"name": "c2", "image": "y:2"}]}});
    let reply = api.patch(&format!("{PODS}/a"), STRATEGIC, patch);
    let containers = json!([{"name": "c1", "image": "x:1"}, {"name": "c2", "image": "y:2"}]);
    assert_eq!(reply.body["spec"]["containers"], containers);
}

#[test]
fn a_strategic_merge_patch_deletes_a_list_item_by_its_key() {
    let (kube, mut api) = start();
    let mut a = web("a");
    a["status"] = json!({"conditions": [
        {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]});
    kube.add(PODS, a);
    let patch = json!({"status": {"conditions": [{"type": "Ready", "$patch": "delete"}]}});
    let reply = api.patch(&format!("{PODS}/a/status"), STRATEGIC, patch);
    let left = json!([{"type": "PodScheduled", "status": "True"}]);
    assert_eq!(reply.body["status"]["conditions"], left);
}

#[test]
fn a_json_patch_applies_its_operations_in_order() {
    let (kube, mut api) = start();
    kube.add(PODS, pod("a", json!({"app": "web", "x": "1"})));
    let ops = json!([
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "add", "path": "/metadata/labels/new", "value": "n"},
        {"op": "replace", "path": "/metadata/labels/app", "value": "api"},
        {"op": "remove", "path": "/metadata/labels/x"},
        {"op": "copy", "from": "/metadata/labels/new", "path": "/metadata/labels/copied"},
        {"op": "move", "from": "/metadata/labels/new", "path": "/metadata/labels/moved"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "d", "image": "y"}},
    ]);
    let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, ops);
    assert_eq!(reply.code, 200, "{}", reply.body);
    let expected = json!({"app": "api", "copied": "n", "moved": "n"});
    assert_eq!(reply.body["metadata"]["labels"], expected);
    assert_eq!(reply.body["spec"]["containers"][1]["name"], "d");
}

#[test]
fn a_json_patch_replace_of_a_missing_key_adds_it() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let ops = json!([{"op": "replace", "path": "/metadata/labels/new", "value": "n"}]);
    let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, ops);
    assert_eq!(reply.code, 200, "{}", reply.body);
    assert_eq!(reply.body["metadata"]["labels"]["new"], "n");
    let ops = json!([{"op": "replace", "path": "/metadata/nope/new", "value": "n"}]);
    let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, ops);
    assert_status(&reply, 422, "Invalid");
}

#[test]
fn a_failing_json_patch_test_is_invalid_and_changes_nothing() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let before = kube.resource_version();
    let ops = json!([
        {"op": "add", "path": "/metadata/labels/new", "value": "n"},
        {"op": "test", "path": "/metadata/labels/app", "value": "db"},
    ]);
    let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, ops);
    assert_status(&reply, 422, "Invalid");
    assert_eq!(labels(&mut api, "a"), json!({"app": "web"}));
    assert_eq!(kube.resource_version(), before);
}

#[test]
fn a_json_patch_on_a_missing_path_is_invalid() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    for op in [
        json!({"op": "remove", "path": "/metadata/labels/nope"}),
        json!({"op": "add", "path": "/metadata/nope/x", "value": "x"}),
        json!({"op": "frob", "path": "/metadata/labels/app"}),
        json!({"op": "add", "value": "x"}),
    ] {
        let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, json!([op]));
        assert_status(&reply, 422, "Invalid");
    }
}

#[test]
fn a_json_patch_that_is_not_a_list_is_a_bad_request() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let reply = api.patch(&format!("{PODS}/a"), JSON_PATCH, json!({"op": "add"}));
    assert_status(&reply, 400, "BadRequest");
}

#[test]
fn an_unknown_patch_type_is_an_unsupported_media_type() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let path = format!("{PODS}/a");
    assert_status(
        &api.patch(&path, "text/plain", json!({})),
        415,
        "UnsupportedMediaType",
    );
    // Server-side apply is not supported.
    let apply = "application/apply-patch+yaml";
    let reply = api.patch(&format!("{path}?fieldManager=t"), apply, json!({}));
    assert_status(&reply, 415, "UnsupportedMediaType");
}

#[test]
fn patching_a_missing_object_is_not_found() {
    let (_kube, mut api) = start();
    let patch = json!({"metadata": {"labels": {"x": "1"}}});
    let reply = api.patch(&format!("{PODS}/zz"), MERGE, patch);
    assert_status(&reply, 404, "NotFound");
    assert_eq!(reply.body["details"]["name"], "zz");
}

// ---- resourceVersion and generation ----

#[test]
fn a_stale_resource_version_in_a_merge_patch_is_a_conflict() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let stale = rv(&api.get(&format!("{PODS}/a")).body);
    kube.set("pods", Some("web"), "a", |p| {
        p["metadata"]["labels"]["v"] = json!("2")
    });
    let patch = json!({"metadata": {"resourceVersion": stale.to_string(),
        "labels": {"mine": "1"}}});
    let reply = api.patch(&format!("{PODS}/a"), MERGE, patch);
    assert_status(&reply, 409, "Conflict");
    let message = "Operation cannot be fulfilled on pods \"a\": the object has been modified; \
        please apply your changes to the latest version and try again";
    assert_eq!(reply.body["message"], message);
    assert_eq!(reply.body["details"], json!({"name": "a", "kind": "pods"}));
    assert!(labels(&mut api, "a").get("mine").is_none());
}

#[test]
fn a_stale_resource_version_in_a_status_patch_is_a_conflict() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let stale = rv(&api.get(&format!("{PODS}/a")).body);
    kube.set("pods", Some("web"), "a", |p| {
        p["metadata"]["labels"]["v"] = json!("2")
    });
    let patch = json!({"metadata": {"resourceVersion": stale.to_string()},
        "status": {"phase": "Running"}});
    let reply = api.patch(&format!("{PODS}/a/status"), MERGE, patch);
    assert_status(&reply, 409, "Conflict");
}

#[test]
fn a_stale_resource_version_in_a_put_is_a_conflict() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let mut mine = api.get(&format!("{PODS}/a")).body;
    kube.set("pods", Some("web"), "a", |p| {
        p["metadata"]["labels"]["v"] = json!("2")
    });
    mine["metadata"]["labels"]["mine"] = json!("1");
    let reply = api.put(&format!("{PODS}/a"), mine);
    assert_status(&reply, 409, "Conflict");
    assert_eq!(labels(&mut api, "a"), json!({"app": "web", "v": "2"}));
}

#[test]
fn a_put_with_the_current_resource_version_replaces_the_object() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let mut mine = api.get(&format!("{PODS}/a")).body;
    let before = rv(&mine);
    mine["metadata"]["labels"] = json!({"mine": "1"});
    let reply = api.put(&format!("{PODS}/a"), mine);
    assert_eq!(reply.code, 200, "{}", reply.body);
    assert_eq!(reply.body["metadata"]["labels"], json!({"mine": "1"}));
    assert!(rv(&reply.body) > before);
    assert_eq!(rv(&reply.body).to_string(), kube.resource_version());
}

#[test]
fn a_put_without_a_resource_version_overwrites_a_pod() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let mut blind = web("a");
    blind["metadata"]["labels"]["blind"] = json!("1");
    let reply = api.put(&format!("{PODS}/a"), blind);
    assert_eq!(reply.code, 200, "{}", reply.body);
    assert_eq!(reply.body["metadata"]["labels"]["blind"], "1");
}

#[test]
fn a_put_without_a_resource_version_is_invalid_for_a_lease_or_a_budget() {
    let (kube, mut api) = start();
    kube.add(
        LEASES,
        json!({"metadata": {"name": "lock"}, "spec": {"holderIdentity": "a"}}),
    );
    let blind = json!({"metadata": {"name": "lock"}, "spec": {"holderIdentity": "b"}});
    let reply = api.put(&format!("{LEASES}/lock"), blind);
    assert_status(&reply, 422, "Invalid");
    let message = "leases.coordination.k8s.io \"lock\" is invalid: metadata.resourceVersion: \
        Invalid value: 0: must be specified for an update";
    assert_eq!(reply.body["message"], message);
    assert_eq!(
        reply.body["details"]["causes"][0]["field"],
        "metadata.resourceVersion"
    );
    let lease = api.get(&format!("{LEASES}/lock")).body;
    assert_eq!(lease["spec"]["holderIdentity"], "a");

    kube.add(PDBS, pdb("budget", json!({"minAvailable": 1})));
    let reply = api.put(
        &format!("{PDBS}/budget"),
        pdb("budget", json!({"minAvailable": 2})),
    );
    assert_status(&reply, 422, "Invalid");
    // With the read resourceVersion it goes through.
    let mut current = api.get(&format!("{LEASES}/lock")).body;
    current["spec"]["holderIdentity"] = json!("b");
    assert_eq!(api.put(&format!("{LEASES}/lock"), current).code, 200);
}

#[test]
fn a_put_of_a_missing_object_is_not_found() {
    let (_kube, mut api) = start();
    assert_status(&api.put(&format!("{PODS}/zz"), web("zz")), 404, "NotFound");
    let budget = pdb("zz", json!({"minAvailable": 1}));
    assert_status(&api.put(&format!("{PDBS}/zz"), budget), 404, "NotFound");
}

#[test]
fn a_put_of_a_missing_lease_creates_it() {
    let (kube, mut api) = start();
    let lease = json!({"metadata": {"name": "lock"}, "spec": {"holderIdentity": "me"}});
    let reply = api.put(&format!("{LEASES}/lock"), lease);
    assert_eq!(reply.code, 201, "{}", reply.body);
    assert_eq!(reply.body["metadata"]["namespace"], "web");
    let stored = kube.object("leases", Some("web"), "lock").unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "me");
    let other = json!({"metadata": {"name": "other"}});
    assert_status(
        &api.put(&format!("{LEASES}/nope"), other),
        400,
        "BadRequest",
    );
}

#[test]
fn a_put_naming_another_object_is_a_bad_request() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    assert_status(&api.put(&format!("{PODS}/a"), web("b")), 400, "BadRequest");
}

#[test]
fn a_write_that_changes_nothing_keeps_the_resource_version() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let before = kube.resource_version();
    let same = json!({"metadata": {"labels": {"app": "web"}}});
    let reply = api.patch(&format!("{PODS}/a"), MERGE, same);
    assert_eq!(reply.code, 200);
    assert_eq!(rv(&reply.body).to_string(), before);
    assert_eq!(kube.resource_version(), before);
}

#[test]
fn the_generation_counts_changes_to_the_spec_only() {
    let (kube, mut api) = start();
    kube.add(PODS, web("a"));
    let a = format!("{PODS}/a");
    let generation = |r: &Reply| r.body["metadata"]["generation"].as_i64().unwrap();
    let label = json!({"metadata": {"labels": {"x": "1"}}});
    assert_eq!(generation(&api.patch(&a, MERGE, label)), 1);
    let status = json!({"status": {"phase": "Running"}});
    assert_eq!(
        generation(&api.patch(&format!("{a}/status"), MERGE, status)),
        1
    );
    let spec = json!({"spec": {"nodeName": "n1"}});
    assert_eq!(generation(&api.patch(&a, MERGE, spec)), 2);
}

// ---- The status subresource ----

#[test]
fn a_write_to_the_object_keeps_its_status() {
    let (kube, mut api) = start();
    kube.add(PODS, running(web("a")));
    let a = format!("{PODS}/a");
    let patch = json!({"metadata": {"labels": {"x": "1"}}, "status": {"phase": "Failed"}});
    let reply = api.patch(&a, MERGE, patch);
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["metadata"]["labels"]["x"], "1");
    assert_eq!(reply.body["status"]["phase"], "Running");

    let mut whole = reply.body;
    whole["status"] = json!({"phase": "Succeeded"});
    whole["spec"]["nodeName"] = json!("n1");
    let reply = api.put(&a, whole);
    assert_eq!(reply.code, 200);
    assert_eq!(reply.body["spec"]["nodeName"], "n1");
    assert_eq!(reply.body["status"]["phase"], "Running");
}

#[test]
fn a_status_write_changes_only_the_status() {
    let (kube, mut api) = start();
    kube.add(PODS, on_node(running(web("a")), "n1"));
    let status = format!("{PODS}/a/status");
    let patch = json!({"spec": {"nodeName": "n2"}, "status": {"phase": "Succeeded"}});
    let reply = api.patch(&status, MERGE, patch);
    assert_eq!(reply.code, 200, "{}", reply.body);
    assert_eq!(reply.body["spec"]["nodeName"], "n1");
    assert_eq!(reply.body["status"]["phase"], "Succeeded");

    let mut whole = reply.body;
    whole["spec"]["nodeName"] = json!("n3");
    whole["status"] = json!({"phase": "Failed"});
    let reply = api.put(&status, whole);
    assert_eq!(reply.code, 200, "{}", reply.body);
    assert_eq!(reply.body["spec"]["nodeName"], "n1");
    assert_eq!(reply.body["status"], json!({"phase": "Failed"}));
    let got = api.get(&format!("{PODS}/a")).body;
    assert_eq!(got["spec"]["nodeName"], "n1");
    assert_eq!(got["status"]["phase"], "Failed");
}

#[test]
fn a_node_status_write_is_how_a_node_gets_its_capacity() {
    let (kube, mut api) = start();
    kube.add(NODES, json!({"metadata": {"name": "n1"}}));
    let patch = json!({"status": {"allocatable": {"cpu": "4"}, "conditions": [
        {"type": "Ready", "status": "True"}]}});
    let object_write = api.patch("/api/v1/nodes/n1", MERGE, patch.clone());
    assert!(object_write.body.get("status").is_none());
    let status_write = api.patch("/api/v1/nodes/n1/status", STRATEGIC, patch);
    assert_eq!(status_write.code, 200);
    assert_eq!(status_write.body["status"]["allocatable"]["cpu"], "4");
}

#[test]
fn a_type_without_a_status_subresource_has_no_status_path() {
    let (kube, mut api) = start();
    kube.add(LEASES, json!({"metadata": {"name": "lock"}}));
    let reply = api.get(&format!("{LEASES}/lock/status"));
    assert_status(&reply, 404, "NotFound");
}

#[test]
fn a_status_write_to_a_missing_object_is_not_found() {
    let (_kube, mut api) = start();
    let patch = json!({"status": {"phase": "Running"}});
    let reply = api.patch(&format!("{PODS}/zz/status"), MERGE, patch);
    assert_status(&reply, 404, "NotFound");
}

// ---- Evictions ----

fn evict(api: &mut Client, name: &str) -> Reply {
    api.post(&format!("{PODS}/{name}/eviction"), eviction(name))
}

/// `n` Running and Ready pods labelled app=web: web-0, web-1, ...
fn healthy(n: usize) -> (FakeKube, Client) {
    let (kube, api) = start();
    for i in 0..n {
        kube.add(PODS, running(web(&format!("web-{i}"))));
    }
    (kube, api)
}

#[test]
fn an_eviction_the_budget_allows_deletes_the_pod() {
    let (kube, mut api) = healthy(3);
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 2})));
    let reply = evict(&mut api, "web-0");
    assert_eq!(reply.code, 201, "{}", reply.body);
    let success = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Success", "code": 201});
    assert_eq!(reply.body, success);
    assert_status(&api.get(&format!("{PODS}/web-0")), 404, "NotFound");
    assert_eq!(kube.evictions(), ["web/web-0"]);
    let budget = api.get(&format!("{PDBS}/budget")).body;
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
}

#[test]
fn an_eviction_the_budget_forbids_is_too_many_requests() {
    let (kube, mut api) = healthy(2);
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 2})));
    let reply = evict(&mut api, "web-0");
    assert_status(&reply, 429, "TooManyRequests");
    let message = "Cannot evict pod as it would violate the pod's disruption budget.";
    assert_eq!(reply.body["message"], message);
    let cause = json!({"reason": "DisruptionBudget",
        "message": "The disruption budget budget needs 2 healthy pods and has 2 currently"});
    assert_eq!(reply.body["details"]["causes"], json!([cause]));
    assert_eq!(api.get(&format!("{PODS}/web-0")).code, 200);
    assert!(kube.evictions().is_empty());
    assert_eq!(kube.refused_eviction_pods(), ["web/web-0"]);
}

#[test]
fn a_pod_under_two_budgets_cannot_be_evicted() {
    let (kube, mut api) = healthy(3);
    kube.add(PDBS, pdb("one", json!({"minAvailable": 1})));
    kube.add(PDBS, pdb("two", json!({"maxUnavailable": 1})));
    let reply = evict(&mut api, "web-0");
    assert_eq!(reply.code, 500);
    // The real server sends this Status without a reason.
    assert_eq!(reply.reason(), "");
    assert!(reply.body.get("reason").is_none(), "{}", reply.body);
    let message = "This pod has more than one PodDisruptionBudget, which the eviction \
        subresource does not support.";
    assert_eq!(reply.body["message"], message);
    assert_eq!(api.get(&format!("{PODS}/web-0")).code, 200);
}

#[test]
fn evicting_a_missing_pod_is_not_found() {
    let (_kube, mut api) = start();
    let reply = evict(&mut api, "zz");
    assert_status(&reply, 404, "NotFound");
    assert_eq!(reply.body["message"], "pods \"zz\" not found");
}

#[test]
fn an_eviction_naming_another_pod_is_a_bad_request() {
    let (_kube, mut api) = healthy(2);
    let reply = api.post(&format!("{PODS}/web-0/eviction"), eviction("web-1"));
    assert_status(&reply, 400, "BadRequest");
    assert_eq!(api.get(PODS).names().len(), 2);
}

#[test]
fn a_pod_not_running_is_evicted_whatever_its_budget() {
    let (kube, mut api) = healthy(1);
    kube.add(PODS, web("pending"));
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 5})));
    assert_eq!(evict(&mut api, "pending").code, 201);
    assert_status(&evict(&mut api, "web-0"), 429, "TooManyRequests");
}

#[test]
fn an_unready_pod_is_evicted_while_its_budget_is_met() {
    let (kube, mut api) = healthy(2);
    kube.add(PODS, unready(web("sick")));
    kube.add(PODS, unready(web("sick-2")));
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 2})));
    // 2 healthy of 2 desired: nothing may be disrupted, but an unhealthy pod costs nothing.
    assert_eq!(evict(&mut api, "sick").code, 201);
    assert_status(&evict(&mut api, "web-0"), 429, "TooManyRequests");
    // Once the budget is not met, not even an unready pod goes.
    kube.set("pods", Some("web"), "web-1", |p| {
        p["status"]["conditions"][0]["status"] = json!("False");
    });
    assert_status(&evict(&mut api, "sick-2"), 429, "TooManyRequests");
}

#[test]
fn an_unready_pod_goes_whatever_the_budget_when_the_policy_always_allows() {
    let (kube, mut api) = healthy(1);
    kube.add(PODS, unready(web("sick")));
    let spec = json!({"minAvailable": 2, "unhealthyPodEvictionPolicy": "AlwaysAllow"});
    kube.add(PDBS, pdb("budget", spec));
    assert_eq!(evict(&mut api, "sick").code, 201);
}

#[test]
fn a_dry_run_eviction_deletes_nothing() {
    let (kube, mut api) = healthy(2);
    let mut dry = eviction("web-0");
    dry["deleteOptions"] = json!({"dryRun": ["All"]});
    let reply = api.post(&format!("{PODS}/web-0/eviction"), dry);
    assert_eq!(reply.code, 201);
    assert_eq!(api.get(PODS).names().len(), 2);
    assert!(kube.evictions().is_empty());
}

#[test]
fn an_eviction_records_its_grace_period() {
    let (kube, mut api) = healthy(2);
    let mut quick = eviction("web-0");
    quick["deleteOptions"] = json!({"gracePeriodSeconds": 5});
    assert_eq!(api.post(&format!("{PODS}/web-0/eviction"), quick).code, 201);
    assert_eq!(evict(&mut api, "web-1").code, 201);
    assert_eq!(kube.eviction_grace_periods(), [Some(5), None]);
}

// ---- PodDisruptionBudget status ----

fn budget_status(api: &mut Client, name: &str) -> Value {
    let reply = api.get(&format!("{PDBS}/{name}"));
    assert_eq!(reply.code, 200, "{}", reply.body);
    reply.body["status"].clone()
}

/// (disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods)
fn counts(status: &Value) -> (i64, i64, i64, i64) {
    let n = |f: &str| {
        status[f]
            .as_i64()
            .unwrap_or_else(|| panic!("no {f} in {status}"))
    };
    (
        n("disruptionsAllowed"),
        n("currentHealthy"),
        n("desiredHealthy"),
        n("expectedPods"),
    )
}

#[test]
fn a_min_available_budget_counts_its_healthy_pods() {
    let (kube, mut api) = healthy(3);
    kube.add(PODS, web("pending"));
    kube.add(PODS, unready(web("sick")));
    kube.add(PODS, running(pod("other", json!({"app": "db"}))));
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 2})));
    let status = budget_status(&mut api, "budget");
    assert_eq!(counts(&status), (1, 3, 2, 5));
    assert_eq!(status["observedGeneration"], 1);
    let condition = &status["conditions"][0];
    assert_eq!(condition["type"], "DisruptionAllowed");
    assert_eq!(condition["status"], "True");
    assert_eq!(condition["reason"], "SufficientPods");
}

#[test]
fn a_max_unavailable_budget_allows_that_many_below_the_expected_pods() {
    let (kube, mut api) = healthy(3);
    kube.add(PDBS, pdb("budget", json!({"maxUnavailable": 1})));
    assert_eq!(counts(&budget_status(&mut api, "budget")), (1, 3, 2, 3));
    kube.set("pods", Some("web"), "web-2", |p| {
        p["status"]["conditions"][0]["status"] = json!("False");
    });
    let status = budget_status(&mut api, "budget");
    assert_eq!(counts(&status), (0, 2, 2, 3));
    let condition = &status["conditions"][0];
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "InsufficientPods");
}

#[test]
fn a_percentage_in_a_budget_rounds_up() {
    let (kube, mut api) = healthy(3);
    kube.add(PDBS, pdb("min", json!({"minAvailable": "50%"})));
    kube.add(PDBS, pdb("max", json!({"maxUnavailable": "50%"})));
    // 50% of 3 is 2 either way: 2 must stay, or 2 may go.
    assert_eq!(counts(&budget_status(&mut api, "min")), (1, 3, 2, 3));
    assert_eq!(counts(&budget_status(&mut api, "max")), (2, 3, 1, 3));
}

#[test]
fn a_budget_without_pods_allows_nothing() {
    let (kube, mut api) = start();
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 1})));
    assert_eq!(counts(&budget_status(&mut api, "budget")), (0, 0, 1, 0));
}

#[test]
fn finished_and_deleting_pods_are_not_expected_by_a_budget() {
    let (kube, mut api) = healthy(2);
    let mut done = web("done");
    done["status"] = json!({"phase": "Succeeded"});
    kube.add(PODS, done);
    let mut leaving = running(web("leaving"));
    leaving["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    kube.add(PODS, leaving);
    kube.add(PDBS, pdb("budget", json!({"maxUnavailable": 1})));
    assert_eq!(counts(&budget_status(&mut api, "budget")), (1, 2, 1, 2));
}

#[test]
fn a_budget_status_is_the_same_in_a_list() {
    let (kube, mut api) = healthy(2);
    kube.add(PDBS, pdb("budget", json!({"minAvailable": 1})));
    let list = api.get(PDBS);
    assert_eq!(counts(&list.body["items"][0]["status"]), (1, 2, 1, 2));
}

// ---- Fault injection ----

#[test]
fn a_refusal_answers_every_matching_request_with_its_code_and_a_status() {
    let (kube, mut api) = start();
    let message = "pods is forbidden: User \"ekas\" cannot create resource \"pods\"";
    kube.refuse("POST", PODS, 403, message);
    for _ in 0..2 {
        let reply = api.post(PODS, web("a"));
        assert_status(&reply, 403, "Forbidden");
        assert_eq!(reply.body["message"], message);
    }
    // Other methods go through, and nothing was created.
    assert_eq!(api.get(PODS).names(), [] as [&str; 0]);
    kube.clear_faults();
    assert_eq!(api.post(PODS, web("a")).code, 201);
}

#[test]
fn a_refusal_of_any_method_covers_every_method_under_its_prefix() {
    let (kube, mut api) = start();
    let gone = "/api/v1/namespaces/gone";
    kube.refuse("*", gone, 404, "namespaces \"gone\" not found");
    assert_status(&api.get(&format!("{gone}/pods")), 404, "NotFound");
    let reply = api.post(&format!("{gone}/pods"), web("a"));
    assert_status(&reply, 404, "NotFound");
    assert_eq!(reply.body["message"], "namespaces \"gone\" not found");
    assert_eq!(api.get(PODS).code, 200);
}

#[test]
fn fail_next_fails_one_matching_request() {
    let (kube, mut api) = start();
    kube.fail_next("get", NODES, 503);
    // Another method under the prefix is not the one to fail.
    let node = json!({"metadata": {"name": "n1"}});
    assert_eq!(api.post(NODES, node).code, 201);
    let reply = api.get(NODES);
    assert_status(&reply, 503, "ServiceUnavailable");
    assert_eq!(api.get(NODES).names(), ["n1"]);
}

#[test]
fn each_fail_next_queues_one_failure() {
    let (kube, mut api) = start();
    kube.fail_next("*", NODES, 500);
    kube.fail_next("*", NODES, 429);
    assert_status(&api.get(NODES), 500, "InternalError");
    assert_status(&api.get(NODES), 429, "TooManyRequests");
    assert_eq!(api.get(NODES).code, 200);
}

#[test]
fn a_failed_write_changes_nothing() {
    let (kube, mut api) = start();
    let before = kube.resource_version();
    kube.fail_next("POST", PODS, 504);
    assert_status(&api.post(PODS, web("a")), 504, "Timeout");
    assert_eq!(kube.resource_version(), before);
    assert!(kube.object("pods", Some("web"), "a").is_none());
}

#[test]
fn clear_faults_drops_queued_failures() {
    let (kube, mut api) = start();
    kube.fail_next("GET", NODES, 500);
    kube.clear_faults();
    assert_eq!(api.get(NODES).code, 200);
}

// ---- What the test helpers see ----

#[test]
fn seeding_emits_a_change_but_is_not_a_request() {
    let (kube, api) = start();
    let since = kube.resource_version();
    kube.add(PODS, web("a"));
    assert!(kube.request_log().is_empty());
    let path = format!("{PODS}?watch=true&resourceVersion={since}&timeoutSeconds=10");
    let mut watch = api.watch(&path);
    assert_eq!(names(&watch.take(1)), [("ADDED", "a")]);
    let stored = kube.object("pods", Some("web"), "a").unwrap();
    assert_eq!(rv(&stored).to_string(), kube.resource_version());
}

#[test]
fn requests_are_counted_by_path_and_by_list_or_watch() {
    let (kube, mut api) = start();
    api.get(PODS);
    api.get(&format!("{PODS}?labelSelector=app%3Dweb"));
    let mut watch = api.watch(&format!("{PODS}?watch=true&timeoutSeconds=0"));
    assert_eq!(watch.next(), None);
    api.post(PODS, web("a"));
    kube.fail_next("GET", "/api/v1/namespaces/web/pods/a", 500);
    api.get(&format!("{PODS}/a"));
    assert_eq!(kube.lists(PODS), 2);
    assert_eq!(kube.watches(PODS), 1);
    assert_eq!(kube.requests(PODS), 4);
    assert_eq!(kube.count("get", PODS), 4); // the failed one counts too
    assert_eq!(kube.count("POST", "/api/v1"), 1);
    let writes = kube.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(
        (writes[0].method.as_str(), writes[0].path.as_str()),
        ("POST", PODS)
    );
}

//! A stateful fake Kubernetes API server on a loopback port. It speaks the real REST paths and
//! JSON shapes over plain HTTP/1.1 (keep-alive), so the real kube client talks to it through a
//! generated kubeconfig: list (`limit`/`continue`, label and field selectors), watch (chunked
//! event streams, bookmarks, streaming lists), get, create, replace, patch (merge, strategic,
//! JSON patch), delete, the `status` subresource, and pod eviction checked against
//! PodDisruptionBudgets. Every change gets the next global resourceVersion and goes to an event
//! log that watches replay and follow.
//!
//! ```ignore
//! let kube = FakeKube::start();
//! kube.add("/api/v1/pods", pod_json);                  // seeds; emits ADDED, not a request
//! run_ekas(kube.kubeconfig());
//! assert_eq!(kube.lists("/api/v1/pods"), 0);
//! assert_eq!(kube.evictions(), ["batch/job-1"]);
//! kube.set("nodes", None, "n1", |n| n["spec"]["unschedulable"] = true.into());
//! ```
//!
//! Simplifications against a real API server, on purpose:
//! - Deletion is immediate: no grace period, no finalizers; deleting a Namespace deletes its
//!   contents at once. Objects may be created in a namespace that does not exist (`refuse`
//!   gives the real server's 404 for one).
//! - A continued list page shows the store as it is now, not a snapshot at the first page.
//! - PodDisruptionBudget status is computed live from the pods on every read (expected pods are
//!   the matching pods, not the owners' scale: the real disruption controller expects 0 pods
//!   without owners for `maxUnavailable` and percentages); a pod change emits no MODIFIED for
//!   the budget.
//! - Strategic merge patch is a JSON merge patch in which lists of objects merge by a key
//!   (`type` for conditions, `mountPath`, `containerPort`, `uid` for owner references, `name`
//!   otherwise); of the `$` directives only `$patch: delete` in such a list is honoured (it
//!   leaves an empty list where the real server drops the field).
//! - Server-side apply is not supported (415); no admission, validation or defaulting beyond a
//!   new pod's `Pending` and a new namespace's `Active` phase.
//! - A `status` write changes only the status. The real server also takes metadata (labels,
//!   annotations) there for Pods, Nodes and PodDisruptionBudgets.
//! - An idle watch that allows bookmarks gets one every second; the real server sends them
//!   about once a minute and before its timeout. An unparsable watch resourceVersion is a 400
//!   (the real server answers 500 without a reason).
//! - Codes and `reason`s are the real server's, and so are the messages and `details` of
//!   NotFound, AlreadyExists, Conflict and eviction refusals; other messages are the fake's
//!   own, and of the `Invalid`s only the missing-resourceVersion one carries `causes`.
//! - Discovery lists only the main resources (no subresources, short or singular names), and
//!   unknown non-resource paths get a 404 `Status` rather than the real plain-text one.
//! - The event log is never compacted, so there is no `410 Gone`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Served types: (apiVersion, plural, kind, namespaced, has a `status` subresource).
const RESOURCES: [(&str, &str, &str, bool, bool); 16] = [
    ("v1", "pods", "Pod", true, true),
    ("v1", "nodes", "Node", false, true),
    ("v1", "events", "Event", true, false),
    ("v1", "namespaces", "Namespace", false, true),
    ("apps/v1", "daemonsets", "DaemonSet", true, true),
    (
        "policy/v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        true,
    ),
    ("coordination.k8s.io/v1", "leases", "Lease", true, false),
    ("events.k8s.io/v1", "events", "Event", true, false),
    (
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        true,
    ),
    ("v1", "persistentvolumes", "PersistentVolume", false, true),
    (
        "storage.k8s.io/v1",
        "storageclasses",
        "StorageClass",
        false,
        false,
    ),
    // The coscheduling plugin's CRD; Volcano's is not installed here.
    (
        "scheduling.x-k8s.io/v1alpha1",
        "podgroups",
        "PodGroup",
        true,
        true,
    ),
    // Kubernetes' own PodGroups (the Workload API, alpha): 1.37 serves v1alpha3, 1.36
    // v1alpha2 (not served unless a test asks, see `FakeKube::serve`).
    (
        "scheduling.k8s.io/v1alpha3",
        "podgroups",
        "PodGroup",
        true,
        true,
    ),
    (
        "scheduling.k8s.io/v1alpha2",
        "podgroups",
        "PodGroup",
        true,
        true,
    ),
    // cluster-autoscaler's ProvisioningRequest CRD, and the PodTemplates requests name.
    (
        "autoscaling.x-k8s.io/v1",
        "provisioningrequests",
        "ProvisioningRequest",
        true,
        true,
    ),
    ("v1", "podtemplates", "PodTemplate", true, false),
];
const POD: usize = 0;
const NAMESPACE: usize = 3;
const PDB: usize = 5;

/// One entry of `RESOURCES`, by name.
struct Resource {
    api_version: &'static str,
    /// "/api/v1" or "/apis/{group}/{version}"
    prefix: String,
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    /// Writes to the object itself keep the stored status; `/status` writes only change it.
    status: bool,
}

fn resource(res: usize) -> Resource {
    let (api_version, plural, kind, namespaced, status) = RESOURCES[res];
    let (group, prefix) = match api_version.split_once('/') {
        Some((group, _)) => (group, format!("/apis/{api_version}")),
        None => ("", format!("/api/{api_version}")),
    };
    Resource {
        api_version,
        prefix,
        group,
        plural,
        kind,
        namespaced,
        status,
    }
}

fn resources() -> impl Iterator<Item = Resource> {
    (0..RESOURCES.len()).map(resource)
}

/// Watches without a `timeoutSeconds` end after this; longer ones are cut to `MAX_WATCH`.
const DEFAULT_WATCH: u64 = 30;
const MAX_WATCH: u64 = 300;
/// An idle watch sends a bookmark (when asked for) and checks its client after this long.
const IDLE: Duration = Duration::from_secs(1);

/// (resource index, namespace or "" when cluster-scoped, name)
type Key = (usize, String, String);
/// An HTTP status code and JSON body.
type Reply = (u16, Value);
type Outcome<T> = Result<T, Reply>;

/// One change, for watches: `old` is absent on creation, `new` on deletion.
struct Change {
    rv: u64,
    res: usize,
    ns: String,
    old: Option<Value>,
    new: Option<Value>,
}

#[derive(Default)]
struct State {
    /// The global resourceVersion: bumped by every change.
    rv: u64,
    uids: u64,
    store: BTreeMap<Key, Value>,
    log: Vec<Change>,
    /// (method, path, raw query) of every request served.
    requests: Vec<(String, String, String)>,
    evictions: Vec<String>,
    /// The deleteOptions.gracePeriodSeconds of each eviction, in order.
    eviction_grace: Vec<Option<i64>>,
    refused_evictions: Vec<String>,
    /// (method or "*", path prefix, status code), each used once.
    faults: Vec<(String, String, u16)>,
    /// (method or "*", path prefix, status code, message): every matching request, until
    /// cleared; as RBAC or a missing namespace answers.
    refusals: Vec<(String, String, u16, String)>,
    /// (method, path prefix, query fragment, delay): requests answered that much later.
    slow: Vec<(String, String, String, Duration)>,
    /// Every request that may change something, with who sent it and who held the Lease.
    writes: Vec<WriteRequest>,
    /// Who has a request held back by a `slow` rule right now.
    slowed: Vec<String>,
    /// API versions (`group/version`) not served now: absent from discovery, 404 on their
    /// paths, as when a CRD is not installed.
    unserved: std::collections::BTreeSet<String>,
    shutdown: bool,
}

/// A request other than a GET, as the server saw it.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The bearer token it came with: [`FakeKube::kubeconfig_as`] names a client so.
    pub who: String,
    pub method: String,
    pub path: String,
    /// The holder of Lease ekas/ekas at the instant the request was served.
    pub lease_holder: Option<String>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled after every change, for watches.
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test helper must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct FakeKube {
    pub url: String,
    shared: Arc<Shared>,
    dir: tempfile::TempDir,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        shared
            .lock()
            .unserved
            .insert("scheduling.k8s.io/v1alpha2".into());
        let server = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if server.lock().shutdown {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = server.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        FakeKube {
            url,
            shared,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A kubeconfig file pointing at this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.kubeconfig_via(&self.url)
    }

    /// A kubeconfig file pointing at `server`: a proxy in front of this one.
    pub fn kubeconfig_via(&self, server: &str) -> PathBuf {
        let name = if server == self.url {
            "kubeconfig".to_string()
        } else {
            format!("kubeconfig-{}", server.replace([':', '/'], "_"))
        };
        self.write_kubeconfig(&name, server, "{}")
    }

    /// A kubeconfig whose requests carry the token `user`, so that [`FakeKube::writes`] can
    /// tell which client sent each.
    pub fn kubeconfig_as(&self, user: &str) -> PathBuf {
        let name = format!("kubeconfig-as-{user}");
        self.write_kubeconfig(&name, &self.url, &format!("{{token: {user}}}"))
    }

    fn write_kubeconfig(&self, name: &str, server: &str, user: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let yaml = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: {server}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             users:\n- name: fake\n  user: {user}\n"
        );
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// Creates an object as a POST to `collection` would (`/api/v1/pods`, or namespaced
    /// `/api/v1/namespaces/batch/pods`; on an all-namespaces path the namespace comes from the
    /// object, else "default"), without counting as a request. Panics when refused.
    pub fn add(&self, collection: &str, object: Value) {
        let Some(t) = parse_path(collection).filter(|t| t.name.is_none()) else {
            panic!("not a collection path: {collection}");
        };
        let ns = match (resource(t.res).namespaced, t.ns) {
            (false, _) => String::new(),
            (true, Some(ns)) => ns,
            (true, None) => object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string(),
        };
        if let Err((code, status)) = self.mutate(|st| st.create(t.res, &ns, object, false)) {
            panic!("add to {collection}: {code} {}", status["message"]);
        }
    }

    /// Answers every `method` request (or every one, with "*") under `path_prefix` with `code`
    /// and `message`, as the real server does for an RBAC refusal or a missing namespace, until
    /// [`FakeKube::clear_faults`].
    pub fn refuse(&self, method: &str, path_prefix: &str, code: u16, message: &str) {
        let refusal = (
            method.to_ascii_uppercase(),
            path_prefix.to_string(),
            code,
            message.to_string(),
        );
        self.mutate(|st| st.refusals.push(refusal));
    }

    /// Stops serving an API version (`group/version`), as when its CRD is removed: it leaves
    /// discovery and its paths answer 404. Its objects stay, for when it is served again.
    pub fn unserve(&self, api_version: &str) {
        self.mutate(|st| st.unserved.insert(api_version.to_string()));
    }

    /// Serves an API version again (or for the first time), as when its CRD is installed.
    pub fn serve(&self, api_version: &str) {
        self.mutate(|st| st.unserved.remove(api_version));
    }

    /// How many requests reached `path` (query string excluded).
    pub fn requests(&self, path: &str) -> usize {
        self.tally("*", |p| p == path)
    }

    fn mutate<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.shared.lock());
        self.shared.changed.notify_all();
        out
    }

    fn tally(&self, method: &str, keep: impl Fn(&str) -> bool) -> usize {
        let st = self.shared.lock();
        st.requests
            .iter()
            .filter(|(m, p, _)| (method == "*" || m == method) && keep(p))
            .count()
    }
}

impl FakeKube {
    /// Every request served: (method, path, raw query), in order.
    pub fn request_log(&self) -> Vec<(String, String, String)> {
        self.shared.lock().requests.clone()
    }

    /// Requests with `method` ("*" for any) whose path starts with `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        let method = method.to_ascii_uppercase();
        self.tally(&method, |p| p.starts_with(path_prefix))
    }

    /// GETs of the collection `path` that are lists, not watches.
    pub fn lists(&self, path: &str) -> usize {
        self.gets(path, false)
    }

    /// GETs of the collection `path` that are watches.
    pub fn watches(&self, path: &str) -> usize {
        self.gets(path, true)
    }

    fn gets(&self, path: &str, watch: bool) -> usize {
        let st = self.shared.lock();
        st.requests
            .iter()
            .filter(|(m, p, q)| m == "GET" && p == path && is_watch(&parse_query(q)) == watch)
            .count()
    }

    /// One object, as a GET would show it. `plural` is e.g. "pods" or "events.events.k8s.io".
    pub fn object(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let st = self.shared.lock();
        let key = (lookup(plural), namespace.unwrap_or("").into(), name.into());
        st.store.get(&key).map(|o| st.present(key.0, o))
    }

    /// All objects of one type, in every namespace, ordered by (namespace, name).
    pub fn objects(&self, plural: &str) -> Vec<Value> {
        let st = self.shared.lock();
        let res = lookup(plural);
        st.range(res).map(|(_, o)| st.present(res, o)).collect()
    }

    /// The whole store and the global resourceVersion, for before/after comparisons.
    pub fn all_objects(&self) -> Value {
        let st = self.shared.lock();
        let mut all = json!({"resourceVersion": st.rv.to_string()});
        for (res, r) in resources().enumerate() {
            let items: Vec<Value> = st.range(res).map(|(_, o)| st.present(res, o)).collect();
            all[format!("{}/{}", r.prefix, r.plural)] = Value::Array(items);
        }
        all
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> String {
        self.shared.lock().rv.to_string()
    }

    /// Changes a stored object in place: bumps its resourceVersion and emits MODIFIED.
    /// Panics when it does not exist.
    pub fn set(
        &self,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) {
        let (res, ns) = (lookup(plural), namespace.unwrap_or(""));
        let key = (res, ns.to_string(), name.to_string());
        let Some(mut object) = self.shared.lock().store.get(&key).cloned() else {
            panic!("no {plural} {ns}/{name} to set");
        };
        f(&mut object);
        self.mutate(|st| st.commit(res, ns, name, Some(object)));
    }

    /// Deletes an object (a Namespace with its contents), emitting DELETED.
    pub fn remove(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let (res, ns) = (lookup(plural), namespace.unwrap_or(""));
        self.mutate(|st| st.delete(res, ns, name, false).ok())
    }

    /// Successful evictions, as "namespace/name", in order.
    pub fn evictions(&self) -> Vec<String> {
        self.shared.lock().evictions.clone()
    }

    /// The termination grace each eviction asked for (None: the pod's own).
    pub fn eviction_grace_periods(&self) -> Vec<Option<i64>> {
        self.shared.lock().eviction_grace.clone()
    }

    /// How many evictions a disruption budget refused (429). kube's default client retries a
    /// 429 by itself, so one refused eviction call of ekas's may count several times here.
    pub fn refused_evictions(&self) -> usize {
        self.shared.lock().refused_evictions.len()
    }

    /// The refused evictions, as "namespace/name", in order.
    pub fn refused_eviction_pods(&self) -> Vec<String> {
        self.shared.lock().refused_evictions.clone()
    }

    /// Makes the next request with `method` ("*" for any) and a path starting with
    /// `path_prefix` fail with a `Status` of `code`. Each call queues one failure: kube's
    /// default client retries 429, 503 and 504 (up to 15 times), so queue enough of those.
    pub fn fail_next(&self, method: &str, path_prefix: &str, code: u16) {
        let fault = (method.to_ascii_uppercase(), path_prefix.to_string(), code);
        self.shared.lock().faults.push(fault);
    }

    /// Answers every request with `method` whose path starts with `path_prefix` and whose
    /// query contains `query` only after `delay`, from now on.
    pub fn slow(&self, method: &str, path_prefix: &str, query: &str, delay: Duration) {
        let rule = (method.into(), path_prefix.into(), query.into(), delay);
        self.shared.lock().slow.push(rule);
    }

    /// Whether a request from `who` is being held back by a [`FakeKube::slow`] rule now.
    pub fn slowed(&self, who: &str) -> bool {
        self.shared.lock().slowed.iter().any(|w| w == who)
    }

    /// Every request other than a GET, in the order served.
    pub fn writes(&self) -> Vec<WriteRequest> {
        self.shared.lock().writes.clone()
    }

    /// Drops every failure still queued by [`FakeKube::fail_next`].
    pub fn clear_faults(&self) {
        let mut st = self.shared.lock();
        st.faults.clear();
        st.refusals.clear();
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.mutate(|st| st.shutdown = true);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// The resource for a plural, or "plural.group" for the non-core ones.
fn lookup(plural: &str) -> usize {
    let named = |r: Resource| r.plural == plural || format!("{}.{}", r.plural, r.group) == plural;
    let found = resources().position(named);
    found.unwrap_or_else(|| panic!("unknown resource {plural}"))
}

// ---- HTTP ----

struct Request {
    method: String,
    path: String,
    raw_query: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

enum Response {
    Json(u16, Value),
    Watch(Watch),
}

fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    // Keep-alive: the client reuses the connection until it closes it.
    while let Some(req) = read_request(&mut reader)? {
        let connection = req.headers.get("connection");
        let close = connection.is_some_and(|c| c.eq_ignore_ascii_case("close"));
        match handle(shared, &req) {
            Response::Json(code, body) => {
                let body = serde_json::to_vec(&body).unwrap();
                let head = format!(
                    "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                    reason(code),
                    body.len(),
                    if close { "Connection: close\r\n" } else { "" }
                );
                out.write_all(&[head.as_bytes(), &body].concat())?;
            }
            Response::Watch(watch) => stream_watch(&mut out, shared, watch)?,
        }
        if close {
            break;
        }
    }
    Ok(())
}

fn read_request(r: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    while line.trim().is_empty() {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/");
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if r.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let size = size.split(';').next().unwrap_or_default().trim();
            let n = usize::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
            if n == 0 {
                // Trailers, up to the blank line.
                let mut trailer = String::from("-");
                while !trailer.trim().is_empty() {
                    trailer.clear();
                    if r.read_line(&mut trailer)? == 0 {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + n, 0);
            r.read_exact(&mut body[start..])?;
            r.read_exact(&mut [0; 2])?;
        }
    } else if let Some(n) = headers.get("content-length") {
        body.resize(n.parse().map_err(|_| bad("content-length"))?, 0);
        r.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path: path.to_string(),
        query: parse_query(raw_query),
        raw_query: raw_query.to_string(),
        headers,
        body,
    }))
}

fn parse_query(raw: &str) -> BTreeMap<String, String> {
    let pairs = raw.split('&').filter(|kv| !kv.is_empty());
    pairs
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let (bytes, mut out, mut i) = (s.as_bytes(), Vec::new(), 0);
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_watch(query: &BTreeMap<String, String>) -> bool {
    query.get("watch").is_some_and(|w| w == "true" || w == "1")
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// A failure `Status`, as the API server sends with every error.
fn status(code: u16, reason: &str, message: impl Into<String>) -> Reply {
    let message = message.into();
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (code, body)
}

/// A failure about one named object, with the `details` kube-rs and kubectl read.
fn object_status(code: u16, reason: &str, res: usize, name: &str, message: String) -> Reply {
    let r = resource(res);
    let (code, mut body) = status(code, reason, message);
    body["details"] = json!({"name": name, "kind": r.plural});
    // Like the real server, which leaves out the core group's empty name.
    if !r.group.is_empty() {
        body["details"]["group"] = json!(r.group);
    }
    (code, body)
}

fn not_found(res: usize, name: &str) -> Reply {
    let message = format!("{} \"{name}\" not found", resource(res).plural);
    object_status(404, "NotFound", res, name, message)
}

// ---- Routing ----

/// A parsed resource path: a collection (no name), an object, or an object's subresource.
struct Target {
    res: usize,
    /// None for cluster-scoped resources, and for lists across all namespaces.
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let (prefix, rest) = match path.strip_prefix("/api/v1/") {
        Some(rest) => ("/api/v1", rest),
        None => {
            let mut parts = path.strip_prefix("/apis/")?.splitn(3, '/');
            let (group, version) = (parts.next()?, parts.next()?);
            (&path[..7 + group.len() + version.len()], parts.next()?)
        }
    };
    let seg: Vec<&str> = rest.split('/').collect();
    if seg.iter().any(|s| s.is_empty()) {
        return None;
    }
    let find = |plural: &str| resources().position(|r| r.prefix == prefix && r.plural == plural);
    let target = |res, ns: Option<&str>, rest: &[&str]| Target {
        res,
        ns: ns.map(str::to_string),
        name: rest.first().map(|s| s.to_string()),
        sub: rest.get(1).map(|s| s.to_string()),
    };
    match seg.as_slice() {
        ["namespaces", ns, plural, rest @ ..] if rest.len() <= 2 => match find(plural) {
            Some(res) if resource(res).namespaced => Some(target(res, Some(ns), rest)),
            // `/api/v1/namespaces/{name}/status` is the Namespace's own subresource.
            _ if rest.is_empty() => Some(target(NAMESPACE, None, &seg[1..])),
            _ => None,
        },
        [plural, rest @ ..] if rest.len() <= 2 => {
            let res = find(plural)?;
            let namespaced_object = resource(res).namespaced && !rest.is_empty();
            (!namespaced_object).then(|| target(res, None, rest))
        }
        _ => None,
    }
}

fn handle(shared: &Shared, req: &Request) -> Response {
    let delay = shared
        .lock()
        .slow
        .iter()
        .find_map(|(m, prefix, query, delay)| {
            let hit = *m == req.method
                && req.path.starts_with(prefix.as_str())
                && req.raw_query.contains(query.as_str());
            hit.then_some(*delay)
        });
    let who = req.headers.get("authorization");
    let who = who.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    if let Some(delay) = delay {
        shared.lock().slowed.push(who.to_string());
        std::thread::sleep(delay);
        let mut st = shared.lock();
        if let Some(i) = st.slowed.iter().position(|w| w == who) {
            st.slowed.remove(i);
        }
    }
    let mut st = shared.lock();
    if req.method != "GET" {
        let holder = st
            .store
            .get(&(lookup("leases"), "ekas".into(), "ekas".into()))
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string));
        st.writes.push(WriteRequest {
            who: who.to_string(),
            method: req.method.clone(),
            path: req.path.clone(),
            lease_holder: holder,
        });
    }
    let logged = (req.method.clone(), req.path.clone(), req.raw_query.clone());
    st.requests.push(logged);
    let fault = st.faults.iter().position(|(m, prefix, _)| {
        (m == "*" || *m == req.method) && req.path.starts_with(prefix.as_str())
    });
    if let Some(i) = fault {
        let code = st.faults.remove(i).2;
        let (code, body) = status(code, reason(code), format!("injected failure ({code})"));
        return Response::Json(code, body);
    }
    let refusal = st.refusals.iter().find(|(m, prefix, _, _)| {
        (m == "*" || *m == req.method) && req.path.starts_with(prefix.as_str())
    });
    if let Some((_, _, code, message)) = refusal {
        let (code, body) = status(*code, reason(*code), message.clone());
        return Response::Json(code, body);
    }
    let before = st.rv;
    let out = route(&mut st, req);
    if st.rv != before {
        shared.changed.notify_all();
    }
    out.unwrap_or_else(|(code, body)| Response::Json(code, body))
}

fn route(st: &mut State, req: &Request) -> Outcome<Response> {
    let ok = |code, body| Ok(Response::Json(code, body));
    if let Some(doc) = discovery(&req.path, &st.unserved).filter(|_| req.method == "GET") {
        return ok(200, doc);
    }
    let unknown = || {
        status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    let t = parse_path(&req.path)
        .filter(|t| !st.unserved.contains(resource(t.res).api_version))
        .ok_or_else(unknown)?;
    let r = resource(t.res);
    let q = &req.query;
    let dry = q.get("dryRun").is_some_and(|d| !d.is_empty());
    let ns = t.ns.as_deref().unwrap_or("");
    let body = || -> Outcome<Value> {
        serde_json::from_slice(&req.body)
            .map_err(|e| status(400, "BadRequest", format!("invalid JSON body: {e}")))
    };
    let ctype = req.headers.get("content-type").map_or("", String::as_str);
    let status_sub = match t.sub.as_deref() {
        None => false,
        Some("status") if r.status => true,
        Some("eviction") if t.res == POD && req.method == "POST" => false,
        Some(_) => return Err(unknown()),
    };
    match (req.method.as_str(), t.name.as_deref()) {
        ("GET", None) if is_watch(q) => Ok(Response::Watch(Watch::parse(t.res, t.ns, q)?)),
        ("GET", None) => ok(200, st.list(t.res, t.ns.as_deref(), q)?),
        ("POST", None) if r.namespaced && t.ns.is_none() => Err(method_not_allowed(req)),
        ("POST", None) => {
            let mut object = body()?;
            // The real server ignores the status of a new pod.
            if let (POD, Some(fields)) = (t.res, object.as_object_mut()) {
                fields.remove("status");
            }
            ok(201, st.create(t.res, ns, object, dry)?)
        }
        ("DELETE", None) => {
            let list = st.list(t.res, t.ns.as_deref(), q)?;
            for item in list["items"].as_array().into_iter().flatten() {
                let (ns, name) = (&item["metadata"]["namespace"], &item["metadata"]["name"]);
                let (ns, name) = (ns.as_str().unwrap_or(""), name.as_str().unwrap_or(""));
                st.delete(t.res, ns, name, dry)?;
            }
            ok(200, list)
        }
        ("POST", Some(name)) if t.sub.as_deref() == Some("eviction") => {
            st.evict(ns, name, &body()?, dry)
        }
        ("GET", Some(name)) => {
            let found = st.store.get(&(t.res, ns.to_string(), name.to_string()));
            let found = found.map(|o| st.present(t.res, o));
            ok(200, found.ok_or_else(|| not_found(t.res, name))?)
        }
        ("PUT", Some(name)) => {
            let mut object = body()?;
            let key = (t.res, ns.to_string(), name.to_string());
            let exists = st.store.contains_key(&key);
            // As on the real server, a PUT creates a missing Lease or Event.
            if !exists && !status_sub && matches!(r.plural, "leases" | "events") {
                with_metadata(&mut object)?;
                let given = object["metadata"]["name"].as_str().unwrap_or_default();
                if given != name {
                    return Err(name_mismatch(given, name));
                }
                return ok(201, st.create(t.res, ns, object, dry)?);
            }
            let rv = object["metadata"]["resourceVersion"].as_str();
            if exists && rv.is_none_or(str::is_empty) && !unconditional_update(&r) {
                return Err(resource_version_required(t.res, name));
            }
            ok(200, st.update(t.res, ns, name, object, status_sub, dry)?)
        }
        ("PATCH", Some(name)) => {
            let key = (t.res, ns.to_string(), name.to_string());
            let object = st.store.get(&key).cloned();
            let mut object = object.ok_or_else(|| not_found(t.res, name))?;
            apply_patch(&mut object, ctype, &body()?)?;
            ok(200, st.update(t.res, ns, name, object, status_sub, dry)?)
        }
        ("DELETE", Some(name)) if t.sub.is_none() => ok(200, st.delete(t.res, ns, name, dry)?),
        _ => Err(method_not_allowed(req)),
    }
}

/// Whether a PUT may leave out the resourceVersion (and overwrite whatever is stored), as the
/// real server's `AllowUnconditionalUpdate` says: not for Leases, PodDisruptionBudgets and
/// custom resources.
fn unconditional_update(r: &Resource) -> bool {
    !matches!(
        (r.group, r.plural),
        ("coordination.k8s.io", "leases")
            | ("policy", "poddisruptionbudgets")
            | ("scheduling.x-k8s.io" | "autoscaling.x-k8s.io", _)
    )
}

fn resource_version_required(res: usize, name: &str) -> Reply {
    let r = resource(res);
    let what = match r.group {
        "" => r.plural.to_string(),
        group => format!("{}.{group}", r.plural),
    };
    let cause = "Invalid value: 0: must be specified for an update";
    let message = format!("{what} \"{name}\" is invalid: metadata.resourceVersion: {cause}");
    let (code, mut body) = object_status(422, "Invalid", res, name, message);
    body["details"]["causes"] = json!([{"reason": "FieldValueInvalid", "message": cause,
        "field": "metadata.resourceVersion"}]);
    (code, body)
}

fn name_mismatch(given: &str, name: &str) -> Reply {
    let message =
        format!("the name of the object ({given}) does not match the name on the URL ({name})");
    status(400, "BadRequest", message)
}

fn method_not_allowed(req: &Request) -> Reply {
    let message = format!(
        "the server does not allow this method on the requested resource: {} {}",
        req.method, req.path
    );
    status(405, "MethodNotAllowed", message)
}

/// `/version` and discovery: the group list (each group's versions, the first preferred), each
/// group, and each group-version's resources, of the API versions served now.
fn discovery(path: &str, unserved: &std::collections::BTreeSet<String>) -> Option<Value> {
    let served = || resources().filter(|r| !unserved.contains(r.api_version));
    let groups = || {
        let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for r in served().filter(|r| !r.group.is_empty()) {
            let version = r.api_version.split_once('/').unwrap().1;
            let version = json!({"groupVersion": r.api_version, "version": version});
            let versions = groups.entry(r.group).or_default();
            if !versions.contains(&version) {
                versions.push(version);
            }
        }
        let groups = groups.into_iter().map(|(name, versions)| {
            json!({"name": name, "preferredVersion": versions[0], "versions": versions})
        });
        groups.collect::<Vec<Value>>()
    };
    let doc = match path {
        "/version" => json!({"major": "1", "minor": "37", "gitVersion": "v1.37.0",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-04-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
            "platform": "linux/amd64"}),
        "/api" => {
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        }
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups()}),
        _ if path
            .strip_prefix("/apis/")
            .is_some_and(|g| !g.contains('/')) =>
        {
            let mut group = groups().into_iter().find(|g| g["name"] == path[6..])?;
            group["kind"] = json!("APIGroup");
            group["apiVersion"] = json!("v1");
            group
        }
        _ => {
            let group_version = path
                .strip_prefix("/apis/")
                .or_else(|| path.strip_prefix("/api/"))?;
            let listed: Vec<Value> = served()
                .filter(|r| r.api_version == group_version)
                .map(|r| {
                    json!({"name": r.plural, "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch",
                        "update", "watch"]})
                })
                .collect();
            if listed.is_empty() {
                return None;
            }
            json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": group_version, "resources": listed})
        }
    };
    Some(doc)
}

// ---- The store ----

impl State {
    fn range(&self, res: usize) -> impl Iterator<Item = (&Key, &Value)> {
        let bound = |res| (res, String::new(), String::new());
        self.store.range(bound(res)..bound(res + 1))
    }

    /// An object as clients see it: PodDisruptionBudgets get their status computed now.
    fn present(&self, res: usize, object: &Value) -> Value {
        let mut object = object.clone();
        if res == PDB {
            let b = self.budget(&object);
            let meta = &object["metadata"];
            let since = meta["creationTimestamp"]
                .as_str()
                .map_or_else(now, str::to_string);
            let (allowed, why) = match b.allowed > 0 {
                true => ("True", "SufficientPods"),
                false => ("False", "InsufficientPods"),
            };
            let condition = json!({"type": "DisruptionAllowed", "status": allowed, "reason": why,
                "message": "", "lastTransitionTime": since, "observedGeneration": meta["generation"]});
            object["status"] = json!({"observedGeneration": meta["generation"],
                "disruptionsAllowed": b.allowed, "currentHealthy": b.healthy,
                "desiredHealthy": b.desired, "expectedPods": b.expected, "conditions": [condition]});
        }
        object
    }

    fn list(&self, res: usize, ns: Option<&str>, q: &BTreeMap<String, String>) -> Outcome<Value> {
        let r = resource(res);
        let filter = Filter::parse(res, q)?;
        let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok());
        let limit = limit.filter(|&l| l > 0);
        let token = q.get("continue").filter(|c| !c.is_empty());
        // The token is hex of "{rv}/{namespace}/{name}" of the last item sent.
        let (rv, after) = match token {
            None => (self.rv.to_string(), None),
            Some(token) => {
                let bad = || {
                    status(
                        400,
                        "BadRequest",
                        format!("invalid continue token {token:?}"),
                    )
                };
                let hex = |i| {
                    token
                        .get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                };
                let bytes: Option<Vec<u8>> = (0..token.len()).step_by(2).map(hex).collect();
                let text = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
                let parts: Vec<String> = text.splitn(3, '/').map(str::to_string).collect();
                let [rv, ns, name] = <[String; 3]>::try_from(parts).map_err(|_| bad())?;
                (rv, Some((ns, name)))
            }
        };
        let (mut items, mut last, mut remaining) = (Vec::new(), None, 0);
        for ((_, ons, oname), object) in self.range(res) {
            let seen = after.as_ref().is_some_and(|(a, b)| (ons, oname) <= (a, b));
            if seen || ns.is_some_and(|n| n != ons) || !filter.matches(object) {
                continue;
            }
            if limit.is_some_and(|l| items.len() == l) {
                remaining += 1;
                continue;
            }
            items.push(self.present(res, object));
            last = Some((ons, oname));
        }
        let mut metadata = json!({"resourceVersion": rv});
        if let (true, Some((ons, oname))) = (remaining > 0, last) {
            let token = format!("{rv}/{ons}/{oname}");
            let token: String = token.bytes().map(|b| format!("{b:02x}")).collect();
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(remaining);
        }
        let kind = format!("{}List", r.kind);
        Ok(json!({"apiVersion": r.api_version, "kind": kind, "metadata": metadata, "items": items}))
    }

    /// Stores (or with `None` deletes) an object under a new resourceVersion and logs the
    /// change. Returns the object as stored, or as deleted.
    fn commit(&mut self, res: usize, ns: &str, name: &str, new: Option<Value>) -> Value {
        self.rv += 1;
        let rv = json!(self.rv.to_string());
        let key = (res, ns.to_string(), name.to_string());
        let (old, new) = match new {
            Some(mut object) => {
                object["metadata"]["resourceVersion"] = rv;
                (self.store.insert(key, object.clone()), Some(object))
            }
            // A deleted object carries the deletion's resourceVersion, as watches show it.
            None => {
                let old = self.store.remove(&key).map(|mut o| {
                    o["metadata"]["resourceVersion"] = rv;
                    o
                });
                (old, None)
            }
        };
        let shown = new.clone().or_else(|| old.clone()).unwrap_or_default();
        let (rv, ns) = (self.rv, ns.to_string());
        self.log.push(Change {
            rv,
            res,
            ns,
            old,
            new,
        });
        shown
    }

    fn create(&mut self, res: usize, ns: &str, mut object: Value, dry: bool) -> Outcome<Value> {
        let r = resource(res);
        with_metadata(&mut object)?;
        let meta = &mut object["metadata"];
        match meta["namespace"].as_str() {
            _ if !r.namespaced => _ = meta.as_object_mut().unwrap().remove("namespace"),
            Some(given) if given != ns => {
                let message = "the namespace of the provided object does not match the namespace sent on the request";
                return Err(status(400, "BadRequest", message));
            }
            _ => meta["namespace"] = json!(ns),
        }
        let name = match (meta["name"].as_str(), meta["generateName"].as_str()) {
            (Some(name), _) if !name.is_empty() => name.to_string(),
            (_, Some(prefix)) => loop {
                // Five characters like the real random suffix, but reproducible.
                self.uids += 1;
                let n = self.uids.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20;
                let digit =
                    |i| b"bcdfghjklmnpqrstvwxz2456789"[(n >> (5 * i)) as usize % 27] as char;
                let name = format!("{prefix}{}", (0..5).map(digit).collect::<String>());
                if !self
                    .store
                    .contains_key(&(res, ns.to_string(), name.clone()))
                {
                    break name;
                }
            },
            _ => return Err(status(422, "Invalid", "name or generateName is required")),
        };
        if self
            .store
            .contains_key(&(res, ns.to_string(), name.clone()))
        {
            let message = format!("{} \"{name}\" already exists", r.plural);
            return Err(object_status(409, "AlreadyExists", res, &name, message));
        }
        meta["name"] = json!(name);
        self.uids += 1;
        let uid = format!("{:08x}-0000-4000-8000-{:012x}", res, self.uids);
        let meta = meta.as_object_mut().unwrap();
        for (field, value) in [
            ("uid", json!(uid)),
            ("creationTimestamp", json!(now())),
            ("generation", json!(1)),
        ] {
            meta.entry(field).or_insert(value);
        }
        meta.remove("resourceVersion");
        // As with the real server, a pod starts Pending and a namespace Active.
        let phase = match res {
            POD => "Pending",
            NAMESPACE => "Active",
            _ => "",
        };
        let status_ok = object.get("status").is_none_or(Value::is_object);
        if !phase.is_empty() && status_ok && object["status"]["phase"].is_null() {
            object["status"]["phase"] = json!(phase);
        }
        let object = object.as_object_mut().unwrap();
        object.entry("apiVersion").or_insert(json!(r.api_version));
        object.entry("kind").or_insert(json!(r.kind));
        let object = Value::Object(object.clone());
        let stored = match dry {
            true => object,
            false => self.commit(res, ns, &name, Some(object)),
        };
        Ok(self.present(res, &stored))
    }

    /// PUT and PATCH: `new` is the whole wanted object; with `status_only` only its status
    /// counts, else (for types with a status subresource) only the rest does.
    fn update(
        &mut self,
        res: usize,
        ns: &str,
        name: &str,
        mut new: Value,
        status_only: bool,
        dry: bool,
    ) -> Outcome<Value> {
        let key = (res, ns.to_string(), name.to_string());
        let Some(old) = self.store.get(&key) else {
            return Err(not_found(res, name));
        };
        with_metadata(&mut new)?;
        let stored_rv = &old["metadata"]["resourceVersion"];
        // Optimistic concurrency: a resourceVersion in the body must be the stored one.
        let wanted_rv = new["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if !wanted_rv.is_empty() && stored_rv.as_str() != Some(wanted_rv) {
            let message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                resource(res).plural
            );
            return Err(object_status(409, "Conflict", res, name, message));
        }
        if let Some(given) = new["metadata"]["name"].as_str().filter(|n| *n != name) {
            return Err(name_mismatch(given, name));
        }
        let keep_status = |from: &Value, to: &mut Value| match from.get("status") {
            Some(s) => to["status"] = s.clone(),
            None => _ = to.as_object_mut().unwrap().remove("status"),
        };
        if status_only {
            let wanted = new;
            new = old.clone();
            keep_status(&wanted, &mut new);
        } else if resource(res).status {
            keep_status(old, &mut new);
        }
        // Identity is the server's.
        let identity = [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "resourceVersion",
        ];
        for field in identity.into_iter().chain(["generation"]) {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => _ = new["metadata"].as_object_mut().unwrap().remove(field),
            }
        }
        for field in ["apiVersion", "kind"] {
            new[field] = old[field].clone();
        }
        // Like the real server: generation counts changes to anything but metadata and status.
        fn spec(o: &Value) -> Vec<(&String, &Value)> {
            let fields = o.as_object().unwrap().iter();
            fields
                .filter(|(k, _)| *k != "metadata" && *k != "status")
                .collect()
        }
        if spec(old) != spec(&new) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
            new["metadata"]["generation"] = json!(generation + 1);
        }
        // A no-op write changes nothing, not even the resourceVersion.
        if new == *old || dry {
            return Ok(self.present(res, &new));
        }
        let stored = self.commit(res, ns, name, Some(new));
        Ok(self.present(res, &stored))
    }

    fn delete(&mut self, res: usize, ns: &str, name: &str, dry: bool) -> Outcome<Value> {
        let key = (res, ns.to_string(), name.to_string());
        let Some(object) = self.store.get(&key) else {
            return Err(not_found(res, name));
        };
        if dry {
            return Ok(self.present(res, object));
        }
        if res == NAMESPACE {
            let inside = |(r, n, _): &&Key| resource(*r).namespaced && n == name;
            let keys: Vec<Key> = self.store.keys().filter(inside).cloned().collect();
            for (r, n, m) in keys {
                self.commit(r, &n, &m, None);
            }
        }
        let deleted = self.commit(res, ns, name, None);
        Ok(self.present(res, &deleted))
    }

    /// The eviction subresource, with the API server's PodDisruptionBudget checks.
    fn evict(&mut self, ns: &str, name: &str, eviction: &Value, dry: bool) -> Outcome<Response> {
        let Some(pod) = self.store.get(&(POD, ns.to_string(), name.to_string())) else {
            return Err(not_found(POD, name));
        };
        if let Some(given) = eviction["metadata"]["name"].as_str().filter(|n| *n != name) {
            let message = format!("name in URL does not match name in Eviction object: {given}");
            return Err(status(400, "BadRequest", message));
        }
        let dry_run = eviction["deleteOptions"]["dryRun"].as_array();
        let dry = dry || dry_run.is_some_and(|d| !d.is_empty());
        let phase = pod["status"]["phase"].as_str().unwrap_or("");
        // Like the real server: pods not (yet, or any more) running are not protected.
        let unprotected = matches!(phase, "Pending" | "Succeeded" | "Failed")
            || !pod["metadata"]["deletionTimestamp"].is_null();
        if !unprotected {
            let labels = &pod["metadata"]["labels"];
            let covers = |pdb: &Value| {
                let reqs = selector(&pdb["spec"]["selector"]);
                reqs.is_some_and(|s| s.iter().all(|r| r.matches(labels)))
            };
            let in_ns = self.range(PDB).filter(|((_, n, _), _)| n == ns);
            let pdbs: Vec<&Value> = in_ns.map(|(_, pdb)| pdb).filter(|p| covers(p)).collect();
            if pdbs.len() > 1 {
                let message = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
                // The real server sends this one without a `reason`.
                let (code, mut body) = status(500, "", message);
                body.as_object_mut().unwrap().remove("reason");
                return Err((code, body));
            }
            if let Some(pdb) = pdbs.first() {
                let b = self.budget(pdb);
                let ready = ready(pod);
                // An unready pod does not count as healthy, so evicting it costs nothing
                // while the budget holds (policy IfHealthyBudget), or ever (AlwaysAllow).
                let policy = pdb["spec"]["unhealthyPodEvictionPolicy"].as_str();
                let free = !ready
                    && (policy == Some("AlwaysAllow") || (b.healthy >= b.desired && b.desired > 0));
                if !free && b.allowed < 1 {
                    let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or("");
                    let cause = format!(
                        "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                        b.desired, b.healthy
                    );
                    let (code, mut body) = status(
                        429,
                        "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.",
                    );
                    body["details"] =
                        json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]});
                    if !dry {
                        self.refused_evictions.push(format!("{ns}/{name}"));
                    }
                    return Err((code, body));
                }
            }
        }
        if !dry {
            self.commit(POD, ns, name, None);
            self.evictions.push(format!("{ns}/{name}"));
            let grace = eviction["deleteOptions"]["gracePeriodSeconds"].as_i64();
            self.eviction_grace.push(grace);
        }
        let success = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
        Ok(Response::Json(201, success))
    }

    fn budget(&self, pdb: &Value) -> Budget {
        let ns = pdb["metadata"]["namespace"].as_str().unwrap_or("");
        let reqs = selector(&pdb["spec"]["selector"]);
        let counted = |p: &&Value| {
            let phase = p["status"]["phase"].as_str().unwrap_or("");
            let labels = &p["metadata"]["labels"];
            reqs.as_ref()
                .is_some_and(|s| s.iter().all(|r| r.matches(labels)))
                && p["metadata"]["deletionTimestamp"].is_null()
                && !matches!(phase, "Succeeded" | "Failed")
        };
        let in_ns = self.range(POD).filter(|((_, n, _), _)| n == ns);
        let pods: Vec<&Value> = in_ns.map(|(_, p)| p).filter(counted).collect();
        let expected = pods.len() as i64;
        let running = |p: &&&Value| p["status"]["phase"] == "Running" && ready(p);
        let healthy = pods.iter().filter(running).count() as i64;
        let spec = &pdb["spec"];
        // Percentages round up, as intstr.GetScaledValueFromIntOrPercent(.., true) does.
        let scaled = |v: &Value| match v {
            Value::String(s) => match s.strip_suffix('%') {
                Some(p) => (p.parse::<i64>().unwrap_or(0) * expected + 99) / 100,
                None => s.parse().unwrap_or(0),
            },
            v => v.as_i64().unwrap_or(0),
        };
        let desired = match (&spec["maxUnavailable"], &spec["minAvailable"]) {
            (Value::Null, Value::Null) => 0,
            (Value::Null, min) => scaled(min),
            (max, _) => (expected - scaled(max)).max(0),
        };
        let allowed = (healthy - desired).max(0);
        Budget {
            expected,
            healthy,
            desired,
            allowed,
        }
    }
}

/// Checks that a body is an object, and gives it metadata when it has none.
fn with_metadata(object: &mut Value) -> Outcome<()> {
    if !object.is_object() || !object.get("metadata").is_none_or(Value::is_object) {
        let message = "the body must be a JSON object with object metadata";
        return Err(status(400, "BadRequest", message));
    }
    if object["metadata"].is_null() {
        object["metadata"] = json!({});
    }
    Ok(())
}

struct Budget {
    expected: i64,
    healthy: i64,
    desired: i64,
    allowed: i64,
}

fn ready(pod: &Value) -> bool {
    let conditions = pod["status"]["conditions"].as_array().into_iter().flatten();
    conditions
        .into_iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// RFC 3339 UTC, to the second.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

// ---- Selectors ----

enum Op {
    In,
    NotIn,
    Exists,
    NotExists,
}

/// One label requirement; `a=b` is `a in (b)` and `a!=b` is `a notin (b)`.
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Value) -> bool {
        let value = labels.get(&self.key).and_then(Value::as_str);
        let listed = value.is_some_and(|v| self.values.iter().any(|x| x == v));
        match self.op {
            Op::In => listed,
            Op::NotIn => !listed,
            Op::Exists => value.is_some(),
            Op::NotExists => value.is_none(),
        }
    }
}

fn parse_label_selector(s: &str) -> Result<Vec<Requirement>, String> {
    // Split at the commas outside parentheses.
    let (mut terms, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    let terms = terms.into_iter().map(str::trim).filter(|t| !t.is_empty());
    terms
        .map(|t| parse_requirement(t).ok_or_else(|| format!("unable to parse requirement: {t:?}")))
        .collect()
}

fn parse_requirement(t: &str) -> Option<Requirement> {
    let valid = |k: &str| (k.chars()).all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    let req = |key: &str, op, values| {
        let key = key.to_string();
        (valid(&key) && !key.is_empty()).then_some(Requirement { key, op, values })
    };
    if let Some(key) = t.strip_prefix('!') {
        return req(key.trim(), Op::NotExists, vec![]);
    }
    if let Some((head, rest)) = t.split_once('(') {
        let values = rest.trim_end().strip_suffix(')')?.split(',');
        let values = values.map(|v| v.trim().to_string()).collect();
        let words: Vec<&str> = head.split_whitespace().collect();
        return match words.as_slice() {
            [key, "in"] => req(key, Op::In, values),
            [key, "notin"] => req(key, Op::NotIn, values),
            _ => None,
        };
    }
    let (key, op, value) = if let Some((k, v)) = t.split_once("!=") {
        (k, Op::NotIn, v)
    } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
        (k, Op::In, v)
    } else {
        return req(t, Op::Exists, vec![]);
    };
    let value = value.trim();
    (value.is_empty() || valid(value)).then_some(())?;
    req(key.trim(), op, vec![value.to_string()])
}

/// A metav1.LabelSelector's requirements; None (matching nothing) when absent or invalid.
fn selector(sel: &Value) -> Option<Vec<Requirement>> {
    let sel = sel.as_object()?;
    let (mut reqs, none) = (Vec::new(), Vec::new());
    let labels = sel.get("matchLabels").and_then(Value::as_object);
    for (key, value) in labels.into_iter().flatten() {
        let values = vec![value.as_str()?.to_string()];
        let key = key.clone();
        reqs.push(Requirement {
            key,
            op: Op::In,
            values,
        });
    }
    let expressions = sel.get("matchExpressions").and_then(Value::as_array);
    for e in expressions.unwrap_or(&none) {
        let op = match e["operator"].as_str()? {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::NotExists,
            _ => return None,
        };
        let values = e["values"].as_array().unwrap_or(&none).iter();
        let values = values
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let key = e["key"].as_str()?.to_string();
        reqs.push(Requirement { key, op, values });
    }
    Some(reqs)
}

/// The label and field selectors of a list or watch.
struct Filter {
    labels: Vec<Requirement>,
    /// (field path, equal rather than unequal, value)
    fields: Vec<(String, bool, String)>,
}

impl Filter {
    fn parse(res: usize, q: &BTreeMap<String, String>) -> Outcome<Filter> {
        let bad = |m: String| status(400, "BadRequest", m);
        let labels =
            parse_label_selector(q.get("labelSelector").map_or("", String::as_str)).map_err(bad)?;
        let mut fields = Vec::new();
        let terms = q.get("fieldSelector").map_or("", String::as_str).split(',');
        for term in terms.map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = match term.split_once("!=") {
                Some((f, v)) => (f, false, v),
                None => match term.split_once("==").or_else(|| term.split_once('=')) {
                    Some((f, v)) => (f, true, v),
                    None => return Err(bad(format!("invalid field selector: {term:?}"))),
                },
            };
            if !field_supported(resource(res).kind, field.trim()) {
                return Err(bad(format!("field label not supported: {}", field.trim())));
            }
            fields.push((field.trim().to_string(), equal, value.trim().to_string()));
        }
        Ok(Filter { labels, fields })
    }

    fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.labels.iter().all(|r| r.matches(labels))
            && self.fields.iter().all(|(field, equal, value)| {
                let found = field.split('.').fold(object, |o, k| &o[k]);
                let found = match found {
                    Value::String(s) => s.clone(),
                    Value::Null if field == "spec.unschedulable" => "false".to_string(),
                    Value::Null => String::new(),
                    v => v.to_string(),
                };
                (found == *value) == *equal
            })
    }
}

/// The field selectors the real API server serves, besides metadata.name and .namespace.
const FIELDS: &str = "Pod:spec.nodeName Pod:spec.schedulerName Pod:spec.serviceAccountName \
    Pod:spec.restartPolicy Pod:status.phase Pod:status.podIP Pod:status.nominatedNodeName \
    Node:spec.unschedulable Event:reason Event:type Event:reportingComponent \
    Event:involvedObject.kind Event:involvedObject.namespace Event:involvedObject.name \
    Event:involvedObject.uid Event:involvedObject.apiVersion Event:involvedObject.fieldPath";

fn field_supported(kind: &str, field: &str) -> bool {
    let known = |f: &str| f.split_once(':') == Some((kind, field));
    matches!(field, "metadata.name" | "metadata.namespace") || FIELDS.split_whitespace().any(known)
}

// ---- Watches ----

struct Watch {
    res: usize,
    ns: Option<String>,
    filter: Filter,
    /// Send changes after this resourceVersion; None: first ADDED for every current object.
    since: Option<u64>,
    bookmarks: bool,
    /// `sendInitialEvents=true`: a bookmark marks the end of the initial ADDED events.
    initial_events: bool,
    timeout: Duration,
}

impl Watch {
    fn parse(res: usize, ns: Option<String>, q: &BTreeMap<String, String>) -> Outcome<Watch> {
        let initial_events = q.get("sendInitialEvents").is_some_and(|s| s == "true");
        let since = match q.get("resourceVersion").map(String::as_str) {
            _ if initial_events => None,
            None | Some("" | "0") => None,
            Some(rv) => Some(rv.parse().map_err(|_| {
                status(400, "BadRequest", format!("invalid resourceVersion {rv:?}"))
            })?),
        };
        let secs = q.get("timeoutSeconds").and_then(|t| t.parse().ok());
        let secs = secs.unwrap_or(DEFAULT_WATCH);
        Ok(Watch {
            res,
            ns,
            filter: Filter::parse(res, q)?,
            since,
            bookmarks: q.get("allowWatchBookmarks").is_some_and(|b| b == "true"),
            initial_events,
            timeout: Duration::from_secs(secs.min(MAX_WATCH)),
        })
    }

    /// The event a change makes for this watch: a change in or out of the selection is an
    /// ADDED or DELETED, as with the real server.
    fn event(&self, st: &State, c: &Change) -> Option<Value> {
        if c.res != self.res || self.ns.as_ref().is_some_and(|ns| *ns != c.ns) {
            return None;
        }
        let was = c.old.as_ref().is_some_and(|o| self.filter.matches(o));
        let is = c.new.as_ref().is_some_and(|o| self.filter.matches(o));
        let kind = match (was, is) {
            (true, true) => "MODIFIED",
            (false, true) => "ADDED",
            (true, false) => "DELETED",
            (false, false) => return None,
        };
        let object = c.new.as_ref().or(c.old.as_ref())?;
        Some(json!({"type": kind, "object": st.present(c.res, object)}))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let r = resource(self.res);
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"type": "BOOKMARK", "object": {"kind": r.kind, "apiVersion": r.api_version, "metadata": metadata}})
    }
}

fn stream_watch(out: &mut TcpStream, shared: &Shared, w: Watch) -> io::Result<()> {
    let deadline = Instant::now() + w.timeout;
    let (mut pending, mut pos, mut rv) = {
        let st = shared.lock();
        let mut initial = Vec::new();
        let pos = match w.since {
            Some(since) => st.log.partition_point(|c| c.rv <= since),
            None => {
                let current = st.range(w.res).filter(|((_, ns, _), o)| {
                    w.ns.as_ref().is_none_or(|n| n == ns) && w.filter.matches(o)
                });
                for (_, o) in current {
                    initial.push(json!({"type": "ADDED", "object": st.present(w.res, o)}));
                }
                st.log.len()
            }
        };
        (initial, pos, st.rv)
    };
    if w.initial_events {
        pending.push(w.bookmark(rv, true));
    }
    out.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    let mut last_sent = Instant::now();
    loop {
        for event in pending.drain(..) {
            let mut line = serde_json::to_vec(&event).unwrap();
            line.push(b'\n');
            out.write_all(&[format!("{:x}\r\n", line.len()).as_bytes(), &line, b"\r\n"].concat())?;
            last_sent = Instant::now();
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if now - last_sent >= IDLE {
            if peer_closed(out) {
                return Err(io::ErrorKind::ConnectionAborted.into());
            }
            if w.bookmarks {
                pending.push(w.bookmark(rv, false));
                continue;
            }
            last_sent = now;
        }
        let mut st = shared.lock();
        if st.log.len() == pos && !st.shutdown {
            let wait = (deadline - now)
                .min(IDLE.saturating_sub(now - last_sent))
                .max(Duration::from_millis(10));
            st = shared
                .changed
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if st.shutdown {
            break;
        }
        pending.extend(st.log[pos..].iter().filter_map(|c| w.event(&st, c)));
        (pos, rv) = (st.log.len(), st.rv);
    }
    out.write_all(b"0\r\n\r\n")
}

/// Whether the client has closed the connection, without blocking.
fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let peeked = stream.peek(&mut [0; 1]);
    let _ = stream.set_nonblocking(false);
    match peeked {
        Ok(n) => n == 0,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    }
}

// ---- Patches ----

fn apply_patch(object: &mut Value, content_type: &str, patch: &Value) -> Outcome<()> {
    match content_type.split(';').next().unwrap_or_default().trim() {
        "application/merge-patch+json" => merge(object, patch, false),
        "application/strategic-merge-patch+json" => merge(object, patch, true),
        "application/json-patch+json" if !patch.is_array() => {
            let message = "error decoding patch: a JSON patch must be a list of operations";
            return Err(status(400, "BadRequest", message));
        }
        "application/json-patch+json" => {
            json_patch(object, patch).map_err(|m| status(422, "Invalid", m))?
        }
        other => {
            let message = format!(
                "the body of the request was in an unknown format ({other}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            );
            return Err(status(415, "UnsupportedMediaType", message));
        }
    }
    Ok(())
}

/// RFC 7386 JSON merge patch; `strategic` merges lists of keyed objects item by item.
fn merge(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().unwrap();
    for (field, value) in patch {
        if strategic && field.starts_with('$') {
            continue;
        }
        if value.is_null() {
            target.remove(field);
            continue;
        }
        let slot = target.entry(field.clone()).or_insert(Value::Null);
        let key = match (&*slot, value) {
            (Value::Array(items), Value::Array(changes)) if strategic => {
                merge_key(field, items, changes)
            }
            _ => None,
        };
        match (key, slot, value) {
            (Some(key), Value::Array(items), Value::Array(changes)) => {
                merge_list(items, changes, key)
            }
            (_, slot, _) => merge(slot, value, strategic),
        }
    }
}

/// The key lists of objects merge by in a strategic merge patch (a subset of Kubernetes').
fn merge_key(field: &str, items: &[Value], changes: &[Value]) -> Option<&'static str> {
    let key = match field {
        "conditions" | "addresses" => "type",
        "volumeMounts" | "volumeDevices" => "mountPath",
        "ports" => "containerPort",
        "ownerReferences" => "uid",
        _ => "name",
    };
    let keyed = |v: &Value| v.get(key).is_some();
    (items.iter().chain(changes).all(keyed) && !changes.is_empty()).then_some(key)
}

fn merge_list(items: &mut Vec<Value>, changes: &[Value], key: &str) {
    for change in changes {
        let found = items.iter().position(|i| i[key] == change[key]);
        match (found, change.get("$patch").and_then(Value::as_str)) {
            (Some(i), Some("delete")) => _ = items.remove(i),
            (None, Some("delete")) => {}
            (Some(i), _) => merge(&mut items[i], change, true),
            (None, _) => {
                let mut item = json!({});
                merge(&mut item, change, true);
                items.push(item);
            }
        }
    }
}

/// RFC 6902 JSON patch.
fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    for op in ops.as_array().ok_or("a JSON patch must be an array")? {
        let path = op["path"].as_str().ok_or("an operation without a path")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or(format!("no value for {path}"))
        };
        let from = || op["from"].as_str().ok_or(format!("no from for {path}"));
        match op["op"].as_str().unwrap_or_default() {
            "add" => pointer_add(doc, path, value()?)?,
            "remove" => _ = pointer_remove(doc, path)?,
            "replace" => {
                // Like the real server: replacing a missing key of an object adds it.
                let parent = doc.pointer(split_pointer(path)?.0);
                if doc.pointer(path).is_none() && parent.is_some_and(Value::is_object) {
                    pointer_add(doc, path, value()?)?;
                } else {
                    *doc.pointer_mut(path)
                        .ok_or(format!("no {path} to replace"))? = value()?;
                }
            }
            "test" if doc.pointer(path) == Some(&value()?) => {}
            "test" => return Err(format!("test of {path} failed")),
            "move" => {
                let moved = pointer_remove(doc, from()?)?;
                pointer_add(doc, path, moved)?;
            }
            "copy" => {
                let copied = doc
                    .pointer(from()?)
                    .cloned()
                    .ok_or(format!("no {path} to copy"))?;
                pointer_add(doc, path, copied)?;
            }
            other => return Err(format!("unsupported JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

fn split_pointer(path: &str) -> Result<(&str, String), String> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or(format!("invalid path {path:?}"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn pointer_add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, key) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => _ = map.insert(key, value),
        Some(Value::Array(items)) => {
            let len = items.len();
            let index = if key == "-" {
                Some(len)
            } else {
                key.parse().ok()
            };
            let index = index.filter(|&i| i <= len);
            items.insert(index.ok_or(format!("invalid index in {path}"))?, value);
        }
        _ => return Err(format!("no {parent} to add {path} to")),
    }
    Ok(())
}

fn pointer_remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, key) = split_pointer(path)?;
    let removed = match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&key),
        Some(Value::Array(items)) => {
            let index = key.parse().ok().filter(|&i| i < items.len());
            index.map(|i| items.remove(i))
        }
        _ => None,
    };
    removed.ok_or(format!("no {path} to remove"))
}

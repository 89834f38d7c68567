//! A fake Kubernetes API server on a loopback port, speaking the real REST paths over HTTP so
//! the real kube client talks to it through a generated kubeconfig. So far: paginated LISTs
//! (`limit` / `continue`) of pods, nodes, PodDisruptionBudgets and DaemonSets.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// (collection path, list kind)
const COLLECTIONS: [(&str, &str); 4] = [
    ("/api/v1/pods", "PodList"),
    ("/api/v1/nodes", "NodeList"),
    (
        "/apis/policy/v1/poddisruptionbudgets",
        "PodDisruptionBudgetList",
    ),
    ("/apis/apps/v1/daemonsets", "DaemonSetList"),
];

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Vec<Value>>,
    /// Requests served, by path.
    requests: Vec<String>,
}

pub struct FakeKube {
    pub url: String,
    state: Arc<Mutex<State>>,
    dir: tempfile::TempDir,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        FakeKube {
            url,
            state,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Adds an object to a collection (`/api/v1/pods`, …).
    pub fn add(&self, collection: &str, object: Value) {
        let mut state = self.state.lock().unwrap();
        state
            .objects
            .entry(collection.to_string())
            .or_default()
            .push(object);
    }

    /// How many requests reached `path` (query string excluded).
    pub fn requests(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// A kubeconfig file pointing at this server.
    pub fn kubeconfig(&self) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        let yaml = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             users:\n- name: fake\n  user: {{}}\n",
            self.url
        );
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

fn serve(mut client: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let (status, body) = {
        let mut state = state.lock().unwrap();
        state.requests.push(path.to_string());
        match COLLECTIONS.iter().find(|(p, _)| *p == path) {
            Some((_, kind)) if request_line.starts_with("GET ") => {
                let all = state.objects.get(path).cloned().unwrap_or_default();
                let start: usize = params
                    .get("continue")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let limit: usize = params
                    .get("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(usize::MAX);
                let end = start.saturating_add(limit).min(all.len());
                let mut metadata = json!({"resourceVersion": "1"});
                if end < all.len() {
                    metadata["continue"] = json!(end.to_string());
                }
                let list = json!({"apiVersion": "v1", "kind": kind, "metadata": metadata, "items": all[start.min(end)..end]});
                (200, list)
            }
            _ => (
                404,
                json!({"apiVersion": "v1", "kind": "Status", "status": "Failure",
                    "message": format!("{path} not found"), "reason": "NotFound", "code": 404}),
            ),
        }
    };
    let body = serde_json::to_vec(&body).unwrap();
    write!(
        client,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    client.write_all(&body)?;
    Ok(())
}

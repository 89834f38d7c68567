//! `ekas run` as a child process, and what a test reads of it: its `/metrics` and `/healthz`,
//! and (when captured) its log lines.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cluster::TestCluster;
use super::groups::REGION;
use super::moto::Moto;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Ekas(pub Child);

impl Ekas {
    pub fn start(cluster: &TestCluster, moto: &Moto, port: u16, extra: &[&str]) -> Ekas {
        let mut cmd = Ekas::command(cluster, port, extra);
        cmd.args(["--regions", REGION]);
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        Ekas(cmd.spawn().unwrap())
    }

    /// The `ekas run` command line, without the AWS environment.
    pub fn command(cluster: &TestCluster, port: u16, extra: &[&str]) -> Command {
        Ekas::command_with(&cluster.kubeconfig, port, extra)
    }

    /// The `ekas run` command line for the API server a kubeconfig names.
    pub fn command_with(kubeconfig: &std::path::Path, port: u16, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ekas"));
        cmd.args([
            "run",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--cluster-name",
            "prod",
            // The Lease is the default one, and election is on by default.
            "--metrics-address",
            &format!("127.0.0.1:{port}"),
            "--launch-grace",
            "0",
            "--type-idle-count",
            "0",
            "--max-scale-in-fraction",
            "1",
            "-v",
        ])
        .args(extra)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        cmd
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ekas run did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ekas {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET on the metrics listener: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// The value of one metric line (name with labels as printed), summed over matches.
pub fn metric(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A process whose log lines (standard error) the test reads as they come; they are echoed
/// to the test's own standard error too.
pub struct Logged {
    pub ekas: Ekas,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    pub fn spawn(mut cmd: Command) -> Logged {
        use std::io::BufRead;
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                eprintln!("{line}");
                sink.lock().unwrap().push(line);
            }
        });
        Logged {
            ekas: Ekas(child),
            lines,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The first line `matching` says yes to, waiting up to `within` from now.
    pub async fn line(
        &self,
        what: &str,
        within: Duration,
        matching: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| matching(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line for {what} within {within:?}:\n{}",
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

//! moto's server on a loopback port, one per test, so tests stay isolated.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ekas::aws::{AwsOptions, AwsTimeouts, RegionClients};

/// Where `./scripts/test.sh` installs moto's server.
const DEFAULT_SERVER: &str = "/var/tmp/ekas-venv/bin/moto_server";

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let server =
            std::env::var("EKAS_MOTO_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        assert!(
            std::path::Path::new(&server).exists(),
            "moto's server is not at {server}: run the tests with ./scripts/test.sh, which installs \
             moto[server] there, or point EKAS_MOTO_SERVER at a moto_server"
        );
        // The free port is found before moto binds it, so another test may take it meanwhile:
        // moto then exits, and another port is tried. Something answering on the port is moto
        // only while moto still runs.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut exited = false;
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if child.try_wait().ok().flatten().is_some() {
                    exited = true;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "moto_server did not listen on port {port} within 30 s"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_millis(200));
            if exited || child.try_wait().ok().flatten().is_some() {
                continue;
            }
            return Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
        }
        panic!("moto_server exited at start five times (ports taken?)")
    }

    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            access_key: Some("testing".into()),
            secret_key: Some(ekas::secret::Secret::new("testing")),
            // moto answers unknown names with HTTP 500: retrying only slows the tests.
            max_attempts: 1,
            // moto takes seconds to launch thousands of instances; the tests that check
            // deadlines set their own.
            timeouts: AwsTimeouts {
                operation: Duration::from_secs(300),
                attempt: Duration::from_secs(300),
            },
            endpoint_url: Some(self.endpoint.clone()),
            ..AwsOptions::default()
        }
    }

    pub async fn clients(&self, regions: &[&str]) -> Vec<RegionClients> {
        let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
        ekas::aws::connect(&regions, &self.options()).await.unwrap()
    }

    /// Environment for running the `ekas` binary against this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_MAX_ATTEMPTS", "1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

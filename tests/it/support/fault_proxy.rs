//! A fault-injecting HTTP proxy between a client and a server (the AWS SDK and moto, or kube
//! and the fake API server). moto records no scaling activities and never throttles, and no
//! server here ever hangs; this proxy answers chosen calls itself (a Failed launch activity, a
//! throttling error, a 503), or takes them and never answers, and forwards everything else.
//! AWS calls are chosen by their Action, Kubernetes calls by method and path. One request per
//! connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What to do with calls of one Action (`Action=...` in the query-protocol body).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer the next `n` calls with this status and body, then forward.
    Fail {
        times: usize,
        status: u16,
        body: String,
    },
    /// Always answer with this XML body (status 200).
    Respond(String),
    /// Accept the call and never answer: the connection stays open and silent until the
    /// client gives up and closes it.
    Hang,
    /// Forward the call, and replace `from` by `to` in the answer: moto's own response, with one
    /// fact it does not model (an instance's `Terminating:Wait` under a lifecycle hook).
    Rewrite { from: String, to: String },
}

/// Which calls a fault applies to.
#[derive(Clone, Debug)]
enum Target {
    /// An AWS query-protocol Action, optionally only when the body contains a needle.
    Action(String, Option<String>),
    /// An HTTP method and a path prefix (`GET /api/v1/pods`).
    Path(String, String),
}

#[derive(Default)]
struct Rules {
    faults: Vec<(Target, Fault)>,
    /// Every Action seen, in order (also the faulted ones).
    calls: Vec<String>,
    /// Calls taken and never answered.
    hung: usize,
}

pub struct FaultProxy {
    pub endpoint: String,
    rules: Arc<Mutex<Rules>>,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let rules: Arc<Mutex<Rules>> = Arc::default();
        let shared = rules.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let rules = shared.clone();
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, &rules);
                });
            }
        });
        FaultProxy { endpoint, rules }
    }

    /// Injects `fault` for calls of `action` whose body contains `needle` (any, when `None`).
    pub fn inject(&self, action: &str, needle: Option<&str>, fault: Fault) {
        let target = Target::Action(action.to_string(), needle.map(str::to_string));
        self.rules.lock().unwrap().faults.push((target, fault));
    }

    /// Injects `fault` for `method` requests whose path starts with `path`.
    pub fn inject_path(&self, method: &str, path: &str, fault: Fault) {
        let target = Target::Path(method.to_string(), path.to_string());
        self.rules.lock().unwrap().faults.push((target, fault));
    }

    /// How many calls were taken and never answered.
    pub fn hung(&self) -> usize {
        self.rules.lock().unwrap().hung
    }

    pub fn calls(&self, action: &str) -> usize {
        self.rules
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|a| *a == action)
            .count()
    }
}

fn serve(mut client: TcpStream, upstream: &str, rules: &Mutex<Rules>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        let end = line == "\r\n";
        if end {
            head.extend_from_slice(b"Connection: close\r\n");
        }
        head.extend_from_slice(line.as_bytes());
        if end {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let action = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("")
        .to_string();

    let request_line = String::from_utf8_lossy(&head);
    let mut words = request_line.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));

    let injected = {
        let mut rules = rules.lock().unwrap();
        rules.calls.push(action.clone());
        let mut answer = None;
        let mut hang = false;
        let mut rewrite = None;
        for (target, fault) in rules.faults.iter_mut() {
            let applies = match target {
                Target::Action(a, needle) => {
                    *a == action && needle.as_ref().is_none_or(|n| text.contains(n.as_str()))
                }
                Target::Path(m, prefix) => m == method && path.starts_with(prefix.as_str()),
            };
            if !applies {
                continue;
            }
            match fault {
                Fault::Hang => hang = true,
                Fault::Rewrite { from, to } => rewrite = Some((from.clone(), to.clone())),
                Fault::Respond(xml) => answer = Some((200, xml.clone())),
                Fault::Fail {
                    times,
                    status,
                    body,
                } if *times > 0 => {
                    *times -= 1;
                    answer = Some((*status, body.clone()));
                }
                Fault::Fail { .. } => continue,
            }
            break;
        }
        if hang {
            rules.hung += 1;
            None
        } else {
            Some((answer, rewrite))
        }
    };
    let Some((injected, rewrite)) = injected else {
        // Silent until the client closes the connection (a read of 0 bytes, or an error).
        let mut sink = [0u8; 1024];
        while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
        return Ok(());
    };
    if let Some((status, xml)) = injected {
        let response = format!(
            "HTTP/1.1 {status} Injected\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(response.as_bytes())?;
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&head)?;
    server.write_all(&body)?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    if let Some((from, to)) = rewrite {
        response = rewritten(&response, &from, &to);
    }
    client.write_all(&response)?;
    Ok(())
}

/// An HTTP/1.1 response with `from` replaced by `to` in its body, its Content-Length fixed.
fn rewritten(response: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return response.to_vec();
    };
    let body = body.replace(from, to);
    let head: Vec<String> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding"))
        .map(
            |l| match l.to_ascii_lowercase().starts_with("content-length") {
                true => format!("Content-Length: {}", body.len()),
                false => l.to_string(),
            },
        )
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

/// A query-protocol error document (`Throttling`, `ServiceUnavailable`, …).
pub fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
    )
}

/// A DescribeScalingActivities answer with one failed launch of `group`.
pub fn failed_launch_xml(group: &str, start: &str, message: &str) -> String {
    format!(
        "<DescribeScalingActivitiesResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\">\
         <DescribeScalingActivitiesResult><Activities><member>\
         <ActivityId>injected-1</ActivityId><AutoScalingGroupName>{group}</AutoScalingGroupName>\
         <Description>Launching a new EC2 instance.  Status Reason: {message}</Description>\
         <Cause>At {start} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1.</Cause>\
         <StartTime>{start}</StartTime><EndTime>{start}</EndTime><StatusCode>Failed</StatusCode>\
         <StatusMessage>{message}</StatusMessage><Progress>100</Progress>\
         </member></Activities></DescribeScalingActivitiesResult>\
         <ResponseMetadata><RequestId>injected</RequestId></ResponseMetadata></DescribeScalingActivitiesResponse>"
    )
}

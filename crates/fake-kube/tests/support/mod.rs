//! A tiny blocking HTTP/1.1 client for the fake API server: plain HTTP over one keep-alive
//! connection, and chunked watch streams read one event at a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any one read may block before a test fails instead of hanging.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A status code and the JSON body that came with it (`Value::Null` when there was none).
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

impl Reply {
    /// The `reason` of a `Status` body, checking that it is one.
    pub fn reason(&self) -> &str {
        assert_eq!(self.body["kind"], "Status", "not a Status: {}", self.body);
        assert_eq!(self.body["apiVersion"], "v1", "{}", self.body);
        assert_eq!(self.body["code"], self.code, "{}", self.body);
        self.body["reason"].as_str().unwrap_or("")
    }

    /// The `items` of a list, by `metadata.name`.
    pub fn names(&self) -> Vec<String> {
        let items = self.body["items"].as_array();
        let items = items.unwrap_or_else(|| panic!("not a list: {}", self.body));
        let name = |i: &Value| i["metadata"]["name"].as_str().unwrap().to_string();
        items.iter().map(name).collect()
    }
}

/// One keep-alive connection to the server.
pub struct Client {
    addr: String,
    conn: BufReader<TcpStream>,
}

pub const JSON: &str = "application/json";
pub const MERGE: &str = "application/merge-patch+json";
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";

impl Client {
    /// Connects to `url` (`http://127.0.0.1:port`).
    pub fn new(url: &str) -> Client {
        let addr = url.trim_start_matches("http://").to_string();
        let conn = BufReader::new(connect(&addr));
        Client { addr, conn }
    }

    pub fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None, JSON)
    }

    pub fn delete(&mut self, path: &str) -> Reply {
        self.send("DELETE", path, None, JSON)
    }

    pub fn post(&mut self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(&body.to_string()), JSON)
    }

    pub fn put(&mut self, path: &str, body: Value) -> Reply {
        self.send("PUT", path, Some(&body.to_string()), JSON)
    }

    pub fn patch(&mut self, path: &str, content_type: &str, body: Value) -> Reply {
        self.send("PATCH", path, Some(&body.to_string()), content_type)
    }

    /// One request and its reply, on the kept-alive connection.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: &str,
    ) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(body) = &body {
            head += &format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        head += "Accept: application/json\r\n\r\n";
        let stream = self.conn.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream
            .write_all(body.unwrap_or_default().as_bytes())
            .unwrap();
        let (code, headers) = read_head(&mut self.conn);
        let length = header(&headers, "content-length").map_or(0, |n| n.parse().unwrap());
        let mut body = vec![0; length];
        self.conn.read_exact(&mut body).unwrap();
        let body = match body.is_empty() {
            true => Value::Null,
            false => serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!("{e}: {}", String::from_utf8_lossy(&body));
            }),
        };
        Reply { code, body }
    }

    /// Starts a watch on a new connection: `path` includes its query, with `watch=true`.
    pub fn watch(&self, path: &str) -> Watch {
        let mut stream = connect(&self.addr);
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        stream.write_all(request.as_bytes()).unwrap();
        let mut conn = BufReader::new(stream);
        let (code, headers) = read_head(&mut conn);
        assert_eq!(code, 200, "watch {path}");
        let chunked = header(&headers, "transfer-encoding");
        assert_eq!(chunked.as_deref(), Some("chunked"), "watch {path}");
        Watch {
            conn,
            buffered: Vec::new(),
            ended: false,
        }
    }
}

/// Percent-encodes a query parameter's value.
pub fn enc(value: &str) -> String {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
    let byte = |b: u8| match keep(b) {
        true => (b as char).to_string(),
        false => format!("%{b:02X}"),
    };
    value.bytes().map(byte).collect()
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
}

/// The status line's code and the headers (names in lower case).
fn read_head(conn: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let code = line.split_whitespace().nth(1);
    let code = code.and_then(|c| c.parse().ok());
    let code = code.unwrap_or_else(|| panic!("not an HTTP status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    (code, headers)
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    let found = headers.iter().find(|(n, _)| n == name);
    found.map(|(_, v)| v.clone())
}

/// A chunked stream of watch events, one JSON object a line.
pub struct Watch {
    conn: BufReader<TcpStream>,
    buffered: Vec<u8>,
    ended: bool,
}

impl Watch {
    /// The next event, or None when the server ended the stream.
    pub fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffered.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffered.drain(..=end).collect();
                return Some(serde_json::from_slice(&line).unwrap());
            }
            if self.ended {
                assert!(self.buffered.is_empty(), "a partial event at the end");
                return None;
            }
            let mut size = String::new();
            self.conn.read_line(&mut size).unwrap();
            let parsed = usize::from_str_radix(size.trim(), 16);
            let size = parsed.unwrap_or_else(|_| panic!("not a chunk size: {size:?}"));
            let mut chunk = vec![0; size + 2];
            self.conn.read_exact(&mut chunk).unwrap();
            assert!(chunk.ends_with(b"\r\n"), "a chunk without its CRLF");
            chunk.truncate(size);
            self.ended = size == 0;
            self.buffered.extend(chunk);
        }
    }

    /// Events until one of type `kind` (included), failing after `within`.
    pub fn until(&mut self, kind: &str, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let mut events = Vec::new();
        while Instant::now() < deadline {
            let Some(event) = self.next() else { break };
            let done = event["type"] == kind;
            events.push(event);
            if done {
                return events;
            }
        }
        panic!("no {kind} event within {within:?}, only {events:?}");
    }

    /// `(type, metadata.name)` of the next `n` events.
    pub fn take(&mut self, n: usize) -> Vec<(String, String)> {
        let mut events = Vec::new();
        for _ in 0..n {
            let event = self
                .next()
                .unwrap_or_else(|| panic!("ended after {events:?}"));
            events.push(summary(&event));
        }
        events
    }
}

/// An event as `(type, metadata.name)`.
pub fn summary(event: &Value) -> (String, String) {
    let name = event["object"]["metadata"]["name"].as_str().unwrap_or("");
    (
        event["type"].as_str().unwrap().to_string(),
        name.to_string(),
    )
}

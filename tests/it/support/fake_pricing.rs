//! A loopback stand-in for the Price List API, which moto does not have: `GetProducts` over
//! JSON 1.1, answered with the documented response in `tests/fixtures/aws-pricing/` for
//! m5.xlarge in us-west-2 and an empty `PriceList` for anything else; or refused as IAM refuses
//! it; or answered with a product ekas cannot read. Counts what it is asked. One request per
//! connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::repo_root;

/// How the fake answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The fixture for m5.xlarge in us-west-2, in two pages (the first empty, with a
    /// NextToken); an empty last page for any other type.
    Serve,
    /// `AccessDeniedException`, as when the role lacks pricing:GetProducts.
    Deny,
    /// The fixture with its price spoiled.
    Garbage,
}

#[derive(Default)]
struct State {
    mode: Option<Mode>,
    /// (regionCode, instanceType, NextToken) of every call.
    calls: Vec<(String, String, Option<String>)>,
}

pub struct FakePricing {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FakePricing {
    pub fn start(mode: Mode) -> FakePricing {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            mode: Some(mode),
            calls: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        FakePricing { endpoint, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    /// (regionCode, instanceType) of every call, pages included.
    pub fn calls(&self) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        state
            .calls
            .iter()
            .map(|(region, ty, _)| (region.clone(), ty.clone()))
            .collect()
    }

    /// How many calls asked for a next page.
    pub fn next_pages(&self) -> usize {
        let state = self.state.lock().unwrap();
        state.calls.iter().filter(|c| c.2.is_some()).count()
    }
}

fn fixture() -> String {
    std::fs::read_to_string(
        repo_root().join("tests/fixtures/aws-pricing/get-products-m5.xlarge-us-west-2.json"),
    )
    .unwrap()
}

fn serve(mut client: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "x-amz-target" => target = value.to_string(),
                _ => {}
            }
        }
    }
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        body
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let filter = |field: &str| {
        request["Filters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["Field"] == field && f["Type"] == "TERM_MATCH")
            .and_then(|f| f["Value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (region, ty) = (filter("regionCode"), filter("instanceType"));
    let token = request["NextToken"].as_str().map(str::to_string);
    let mode = {
        let mut state = state.lock().unwrap();
        state
            .calls
            .push((region.clone(), ty.clone(), token.clone()));
        state.mode.unwrap_or(Mode::Serve)
    };
    let empty = r#"{"FormatVersion":"aws_v1","PriceList":[]}"#.to_string();
    let ours = target == "AWSPriceListService.GetProducts"
        && request["ServiceCode"] == "AmazonEC2"
        && (region.as_str(), ty.as_str()) == ("us-west-2", "m5.xlarge");
    let (status, body) = match mode {
        Mode::Deny => (
            400,
            r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/ekas/test is not authorized to perform: pricing:GetProducts"}"#
                .to_string(),
        ),
        Mode::Garbage if ours => (200, fixture().replace("0.1920000000", "a dime")),
        Mode::Serve if ours && token.is_none() => (
            200,
            r#"{"FormatVersion":"aws_v1","PriceList":[],"NextToken":"page-2"}"#.to_string(),
        ),
        Mode::Serve if ours => (200, fixture()),
        _ => (200, empty),
    };
    let error_type = match status {
        200 => String::new(),
        _ => "x-amzn-ErrorType: AccessDeniedException\r\n".to_string(),
    };
    let response = format!(
        "HTTP/1.1 {status} Fake\r\nContent-Type: application/x-amz-json-1.1\r\n{error_type}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes())
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

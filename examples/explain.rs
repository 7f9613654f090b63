//! Explains one raw HTTP error response: what the API said, what kind of error it is, whether
//! a client should retry, and the documented solution.
//!
//! ```text
//! cargo run -q --example explain -- [--now "<IMF-fixdate>"] [FILE]
//! cargo run -q --example explain -- --jsonl [--now "<IMF-fixdate>"] [FILE]
//! ```
//!
//! Without `--jsonl`, FILE (or stdin) holds one response as `curl -i` prints it: status line,
//! headers, a blank line, the body. When it holds several (an interim `100 Continue`, a
//! proxy's `200 Connection established`, redirects followed with `-L`), the last one is the
//! answer. Statuses outside 100..=599 are an error. With `--jsonl`, each line is
//! `{"status":429,"headers":{"Retry-After":"2"},"body":"...","now":"<IMF-fixdate>"}` (or
//! `body_base64` for bytes that are not UTF-8), and one JSON object is printed per line.
//! Bad usage or unreadable input: one line on stderr, exit status 2.

use std::io::Read as _;
use std::process::ExitCode;
use std::time::SystemTime;

use base64::Engine as _;
use errors_core::ApiError;
use errors_core::clock::{Clock as _, SystemClock};
use errors_core::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};

const USAGE: &str = "usage: explain [--jsonl] [--now <IMF-fixdate>] [FILE]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("explain: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut jsonl = false;
    let mut now: Option<SystemTime> = None;
    let mut file: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--jsonl" => jsonl = true,
            "--now" => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--now needs a date; {USAGE}"))?;
                now = Some(parse_date(&value)?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("unknown option {flag}; {USAGE}"));
            }
            path if file.is_none() => file = Some(path.to_owned()),
            extra => return Err(format!("unexpected argument {extra}; {USAGE}")),
        }
    }
    let input = read_input(file.as_deref())?;
    let default_now = now.unwrap_or_else(|| SystemClock.now());

    if !jsonl {
        let (status, headers, body) = parse_raw_response(&input)?;
        let out = explain(status, &headers, body, default_now);
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("json values serialize")
        );
        return Ok(ExitCode::SUCCESS);
    }

    let text = String::from_utf8(input).map_err(|_| "jsonl input is not utf-8".to_owned())?;
    let mut failed = false;
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match explain_json_line(line, default_now) {
            Ok(out) => println!("{out}"),
            Err(message) => {
                failed = true;
                eprintln!("explain: line {}: {message}", number + 1);
                println!("{}", json!({ "line": number + 1, "error": message }));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_input(file: Option<&str>) -> Result<Vec<u8>, String> {
    let mut input = Vec::new();
    match file {
        Some(path) if path != "-" => {
            input = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut input)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
        }
    }
    Ok(input)
}

fn parse_date(value: &str) -> Result<SystemTime, String> {
    httpdate::parse_http_date(value).map_err(|_| {
        format!(
            "--now wants an IMF-fixdate such as \"Tue, 24 Nov 2026 12:00:00 GMT\", not {value:?}"
        )
    })
}

/// The explain object: the error's JSON fields, plus `ok` for a success status. `retryable`
/// is the API's contract for an idempotent GET (whether the same request can succeed later,
/// however long the server asks to wait), not any client's caps.
pub(crate) fn explain(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Value {
    let error = ApiError::parse(status, headers, body, now);
    let mut out = serde_json::to_value(&error).expect("ApiError serializes");
    let ok = !status.is_client_error() && !status.is_server_error();
    if ok {
        // Not an error: there is no error kind or message, and nothing to retry.
        out["kind"] = Value::Null;
        out["message"] = Value::Null;
        out["retryable"] = Value::Bool(false);
    }
    out["ok"] = Value::Bool(ok);
    out
}

/// Splits a `curl -i` dump into status, headers and body. The dump may hold several
/// responses (an interim `100 Continue`, a proxy's `200 Connection established`, redirects
/// followed with `-L`): the last one is the answer.
pub(crate) fn parse_raw_response(input: &[u8]) -> Result<(StatusCode, HeaderMap, &[u8]), String> {
    let mut rest = skip_line_breaks(input);
    loop {
        let (head, body) = split_head(rest).ok_or("no blank line after the headers")?;
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = lines.next().unwrap_or_default();
        let status = parse_status_line(status_line)?;
        let mut headers = HeaderMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(format!(
                    "malformed header line: {}",
                    String::from_utf8_lossy(line)
                ));
            };
            let name = HeaderName::from_bytes(line[..colon].trim_ascii()).map_err(|_| {
                format!(
                    "invalid header name: {}",
                    String::from_utf8_lossy(&line[..colon])
                )
            })?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
                .map_err(|_| format!("invalid value for header {name}"))?;
            headers.append(name, value);
        }
        match next_response(status, body) {
            Some(next) => rest = next,
            None => return Ok((status, headers, body)),
        }
    }
}

/// Where the next response of a dump starts, if `body` is not the answer's. A response
/// directly followed by a status line (curl prints nothing between a proxy's `200 Connection
/// established`, a `1xx` or a followed redirect and the next response) gives way to it; an
/// interim or redirect response may also carry a body before the next status line.
fn next_response(status: StatusCode, body: &[u8]) -> Option<&[u8]> {
    let body = skip_line_breaks(body);
    if is_status_line(body) {
        return Some(body);
    }
    if !(status.is_informational() || status.is_redirection()) {
        return None;
    }
    let mut start = 0;
    while start < body.len() {
        if is_status_line(&body[start..]) {
            return Some(&body[start..]);
        }
        start += body[start..].iter().position(|&b| b == b'\n')? + 1;
    }
    None
}

fn skip_line_breaks(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(input.len());
    &input[start..]
}

/// `HTTP/<version> <3 digits>` followed by a space or the end of the line.
fn is_status_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"HTTP/") else {
        return false;
    };
    let version = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .count();
    let Some(rest) = rest[version..].strip_prefix(b" ") else {
        return false;
    };
    version > 0
        && rest.len() >= 3
        && rest[..3].iter().all(u8::is_ascii_digit)
        && matches!(rest.get(3), None | Some(b' ' | b'\r' | b'\n'))
}

/// The head ends at the first empty line (`\r\n\r\n` or `\n\n`); a response with no blank
/// line at all is all head and no body.
fn split_head(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut start = 0;
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' {
            let line = &input[start..i];
            if line.is_empty() || line == b"\r" {
                return Some((&input[..start], &input[i + 1..]));
            }
            start = i + 1;
        }
    }
    // No blank line: accept a head with no body if it ends the input.
    (!input.is_empty()).then_some((input, &input[input.len()..]))
}

fn parse_status_line(line: &[u8]) -> Result<StatusCode, String> {
    let text = std::str::from_utf8(line).map_err(|_| "status line is not text".to_owned())?;
    let mut parts = text.split_ascii_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(format!(
            "no status line (expected \"HTTP/1.1 429 ...\"), found {:?}",
            truncate(text)
        ));
    }
    let code = parts.next().ok_or("status line has no status code")?;
    status_code(code.parse::<u64>().ok()).ok_or_else(|| {
        format!(
            "invalid status code {:?}: HTTP statuses are 100 to 599",
            truncate(code)
        )
    })
}

/// A status in 100..=599, the range RFC 9110 §15 defines.
fn status_code(code: Option<u64>) -> Option<StatusCode> {
    code.filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c as u16).ok())
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}

pub(crate) fn explain_json_line(line: &str, default_now: SystemTime) -> Result<Value, String> {
    let input: Value = serde_json::from_str(line).map_err(|e| format!("invalid json: {e}"))?;
    let status = status_code(input["status"].as_u64())
        .ok_or("\"status\" must be an HTTP status between 100 and 599")?;
    let mut headers = HeaderMap::new();
    match &input["headers"] {
        Value::Object(map) => {
            for (name, value) in map {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("invalid header name {name:?}"))?;
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("header {name} must be a string"))?;
                let value = HeaderValue::from_str(value)
                    .map_err(|_| format!("invalid value for header {name}"))?;
                headers.append(name, value);
            }
        }
        Value::Null => {}
        _ => return Err("\"headers\" must be an object of strings".to_owned()),
    }
    let body = match (&input["body"], &input["body_base64"]) {
        (Value::String(text), Value::Null) => text.clone().into_bytes(),
        (Value::Null, Value::String(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("invalid body_base64: {e}"))?,
        (Value::Null, Value::Null) => Vec::new(),
        _ => return Err("give \"body\" (a string) or \"body_base64\", not both".to_owned()),
    };
    let now = match &input["now"] {
        Value::String(date) => parse_date(date)?,
        Value::Null => default_now,
        _ => return Err("\"now\" must be an IMF-fixdate string".to_owned()),
    };
    Ok(explain(status, &headers, &body, now))
}

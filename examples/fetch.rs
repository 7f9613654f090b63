//! Sends one logical request through the async stack (or the blocking one with `--blocking`)
//! and prints what happened as one JSON object.
//!
//! ```text
//! cargo run -q --example fetch -- [--blocking] [-X METHOD] [-H "Name: value"]... [-d BODY]
//!     [--max-retries N] [--max-wait SECS] [--deadline SECS] [--idempotent] [--cacert PEM] URL
//! ```
//!
//! Every `-H` value is treated as a credential: it is not sent across a redirect to another
//! origin, and is redacted from an error body that echoes it.
//!
//! `--cacert PEM` trusts the certificate authorities in that file in addition to the
//! system's (as `curl --cacert` does). `--deadline` bounds the whole call, body included.
//!
//! Output: `ok`, `status`, `attempts` (`{"status", "code", "waited_ms", ...}` per attempt,
//! the wait being the pause before it), `body` on success, `error` (the `explain` object) on
//! failure. Exit status 0 on success, 1 on an API error, 2 on bad usage or a transport failure.

use std::process::ExitCode;
use std::time::Duration;

use errors_core::RetryPolicy;
use errors_http::{ApiClient, ApiClientBuilder, ApiResponse, Error, SafeToRepeat};
use reqwest::Method;
use reqwest_middleware::RequestBuilder;
use serde_json::{Value, json};

const USAGE: &str = "usage: fetch [--blocking] [-X METHOD] [-H \"Name: value\"]... [-d BODY] [--max-retries N] [--max-wait SECS] [--deadline SECS] [--idempotent] [--cacert PEM] URL";

pub(crate) struct Args {
    blocking: bool,
    method: Method,
    headers: Vec<(String, String)>,
    body: Option<String>,
    policy: RetryPolicy,
    idempotent: bool,
    cacert: Option<std::path::PathBuf>,
    url: String,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("fetch: {message}");
            return ExitCode::from(2);
        }
    };
    let (out, code) = report(run(&args));
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("json values serialize")
    );
    ExitCode::from(code)
}

pub(crate) fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        blocking: false,
        method: Method::GET,
        headers: Vec::new(),
        body: None,
        policy: RetryPolicy::default(),
        idempotent: false,
        cacert: None,
        url: String::new(),
    };
    let mut url = None;
    let value = |args: &mut dyn Iterator<Item = String>, flag: &str| {
        args.next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
    };
    let secs = |text: String, flag: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{flag} wants seconds, not {text:?}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--blocking" => parsed.blocking = true,
            "--idempotent" => parsed.idempotent = true,
            "-X" => {
                let m = value(&mut args, "-X")?;
                parsed.method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("invalid method {m:?}"))?;
            }
            "-H" => {
                let h = value(&mut args, "-H")?;
                let (name, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("-H wants \"Name: value\", not {h:?}"))?;
                parsed
                    .headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "-d" => parsed.body = Some(value(&mut args, "-d")?),
            "--cacert" => parsed.cacert = Some(value(&mut args, "--cacert")?.into()),
            "--max-retries" => {
                let n = value(&mut args, "--max-retries")?;
                parsed.policy = parsed.policy.with_max_retries(
                    n.parse()
                        .map_err(|_| format!("--max-retries wants a number, not {n:?}"))?,
                );
            }
            "--max-wait" => {
                parsed.policy = parsed
                    .policy
                    .with_max_wait(secs(value(&mut args, "--max-wait")?, "--max-wait")?)
            }
            "--deadline" => {
                parsed.policy = parsed
                    .policy
                    .with_deadline(secs(value(&mut args, "--deadline")?, "--deadline")?)
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}; {USAGE}")),
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}; {USAGE}")),
        }
    }
    parsed.url = url.ok_or_else(|| format!("no URL; {USAGE}"))?;
    if reqwest::Url::parse(&parsed.url).is_err() {
        return Err(format!("invalid URL {:?}", parsed.url));
    }
    Ok(parsed)
}

fn build(args: &Args, client: &ApiClient) -> RequestBuilder {
    let mut request = client.request(args.method.clone(), &args.url);
    // Every `-H` may carry a credential (`Authorization`, `X-API-Key`, a cookie): marked
    // sensitive, it is not sent across a redirect to another origin, and an error body that
    // echoes it has it redacted.
    for (name, value) in &args.headers {
        match reqwest::header::HeaderValue::from_str(value) {
            Ok(mut sensitive) => {
                sensitive.set_sensitive(true);
                request = request.header(name.as_str(), sensitive);
            }
            // reqwest reports the invalid value when the request is sent.
            Err(_) => request = request.header(name.as_str(), value.as_str()),
        }
    }
    if let Some(body) = &args.body {
        if serde_json::from_str::<Value>(body).is_ok() {
            request = request.header("content-type", "application/json");
        }
        request = request.body(body.clone());
    }
    if args.idempotent {
        request = request.with_extension(SafeToRepeat);
    }
    request
}

/// Sends the request through the stack `--blocking` chose.
pub(crate) fn run(args: &Args) -> Result<ApiResponse, Error> {
    if args.blocking {
        run_blocking(args)
    } else {
        run_async(args)
    }
}

/// The settings both stacks share: the policy and the `--cacert` authorities.
fn settings(args: &Args) -> Result<ApiClientBuilder, Error> {
    let mut builder = ApiClient::builder().policy(args.policy.clone());
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path).map_err(|e| {
            Error::invalid_request(format!("cannot read --cacert {}: {e}", path.display()))
        })?;
        builder = builder.add_root_certificates_pem(pem);
    }
    Ok(builder)
}

pub(crate) fn run_async(args: &Args) -> Result<ApiResponse, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::invalid_request(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        let client = settings(args)?.build()?;
        client.send(build(args, &client)).await
    })
}

pub(crate) fn run_blocking(args: &Args) -> Result<ApiResponse, Error> {
    let client = errors_blocking::ApiClientBuilder::from(settings(args)?).build()?;
    client.send(build(args, client.async_client()))
}

pub(crate) fn report(result: Result<ApiResponse, Error>) -> (Value, u8) {
    match result {
        Ok(response) => {
            let body = serde_json::from_slice::<Value>(&response.body)
                .unwrap_or_else(|_| Value::String(response.text()));
            let out = json!({
                "ok": true,
                "status": response.status.as_u16(),
                "attempts": response.attempts,
                "body": body,
            });
            (out, 0)
        }
        Err(err) => {
            let (error, code) = match err.api_error() {
                Some(api) => (serde_json::to_value(api).expect("ApiError serializes"), 1),
                None => (
                    json!({ "kind": "transport", "message": err.to_string() }),
                    2,
                ),
            };
            let out = json!({
                "ok": false,
                "status": err.status().map(|s| s.as_u16()),
                "attempts": err.attempts(),
                "stop": err.stop_reason().map(|s| s.as_str()),
                "error": error,
            });
            (out, code)
        }
    }
}

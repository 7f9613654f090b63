//! A corpus of real error responses (`tests/corpus/responses.jsonl`, each with its source):
//! every entry must parse to the expected shape, code, message, request id, kind, retry
//! decision and `Retry-After`, and what users see is snapshotted.

use std::collections::BTreeMap;
use std::time::SystemTime;

use errors_core::ApiError;
use errors_core::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};

fn now() -> SystemTime {
    httpdate::parse_http_date("Tue, 24 Nov 2026 12:00:00 GMT").unwrap()
}

fn entries() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/responses.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn parse(entry: &Value) -> ApiError {
    let status = StatusCode::from_u16(entry["status"].as_u64().unwrap() as u16).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in entry["headers"].as_object().unwrap() {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let body = entry["body"].as_str().unwrap();
    ApiError::parse(status, &headers, body.as_bytes(), now())
}

#[test]
fn every_real_response_parses_as_expected() {
    let entries = entries();
    assert!(entries.len() >= 30, "the corpus lost entries");
    let mut failures = Vec::new();
    let mut seen = BTreeMap::new();
    for entry in &entries {
        let name = entry["name"].as_str().unwrap();
        assert!(
            entry["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{name} has no source"
        );
        assert!(seen.insert(name.to_owned(), ()).is_none(), "{name} twice");
        let error = parse(entry);
        let shown = serde_json::to_value(&error).unwrap();
        let got = json!({
            "shape": shown["shape"],
            "code": shown["code"],
            "message": shown["message"],
            "request_id": shown["request_id"],
            "retryable": shown["retryable"],
            "retry_after_ms": shown["retry_after_ms"],
            "kind": shown["kind"],
            "field": shown["field"],
            "repairs": shown.get("repairs").cloned().unwrap_or(json!([])),
        });
        for (key, want) in entry["expect"].as_object().unwrap() {
            if got[key] != *want {
                failures.push(format!("{name}: {key} is {} not {want}", got[key]));
            }
        }
        // Whatever the body, the error stays on one line and keeps its status.
        let line = error.to_string();
        assert!(!line.contains('\n'), "{name}: {line}");
        assert!(
            line.starts_with(&entry["status"].to_string()),
            "{name}: {line}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn what_users_see_for_the_corpus() {
    let shown: BTreeMap<String, Value> = entries()
        .iter()
        .map(|entry| {
            let error = parse(entry);
            (
                entry["name"].as_str().unwrap().to_owned(),
                json!({ "display": error.to_string(), "json": error }),
            )
        })
        .collect();
    insta::assert_json_snapshot!("corpus", shown);
}

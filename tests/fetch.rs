//! The `fetch` example's contract (DESIGN.md), through both clients, against the testkit's
//! mock API. The example's functions are compiled in here and driven directly.

#[allow(dead_code)]
#[path = "../examples/fetch.rs"]
mod fetch;

use errors_testkit::{BlockingMockApi, FaultServer, Fixture, Script, fixtures};

fn run(api: &BlockingMockApi, extra: &[&str], blocking: bool) -> (serde_json::Value, u8) {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    if blocking {
        args.insert(0, "--blocking".into());
    }
    args.push(format!("{}/v1/images", api.uri()));
    let args = fetch::parse_args(args.into_iter()).unwrap();
    let result = if blocking {
        fetch::run_blocking(&args)
    } else {
        fetch::run_async(&args)
    };
    fetch::report(result)
}

#[test]
fn success_after_a_rate_limit_lists_every_attempt() {
    for blocking in [false, true] {
        let api = BlockingMockApi::start();
        api.mount_script(
            Script::new()
                .then(fixtures::rate_limited().with_retry_after_secs(0))
                .then(fixtures::ok_json(&serde_json::json!({"id": 1}))),
        );
        let (out, code) = run(&api, &["-H", "X-Test: 1"], blocking);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out["ok"], true);
        assert_eq!(out["status"], 200);
        assert_eq!(out["body"]["id"], 1);
        let attempts = out["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0]["status"], 429);
        assert_eq!(attempts[0]["code"], "RATE_LIMIT_ERROR");
        assert_eq!(attempts[0]["waited_ms"], 0);
        // `Retry-After: 0` asks for no wait: the first backoff, below its 500 ms ceiling.
        let waited = attempts[1]["waited_ms"].as_u64().unwrap();
        assert!(waited < 500, "{waited}");
        assert_eq!(attempts[1]["status"], 200);
        api.journal().assert_header_sent("x-test", "1");
    }
}

#[test]
fn an_api_error_exits_1_with_the_explain_object() {
    for blocking in [false, true] {
        let api = BlockingMockApi::start();
        api.mount(fixtures::usage_limit_exceeded());
        let (out, code) = run(&api, &[], blocking);
        assert_eq!(code, 1);
        assert_eq!(out["ok"], false);
        assert_eq!(out["error"]["code"], "USAGE_LIMIT_EXCEEDED");
        assert_eq!(out["error"]["kind"], "quota");
        assert_eq!(out["error"]["retryable"], false);
        assert_eq!(
            out["error"]["solution"],
            "Wait for next billing cycle or upgrade plan"
        );
        assert_eq!(out["attempts"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn a_post_is_not_repeated_unless_idempotent_is_given() {
    for blocking in [false, true] {
        let api = BlockingMockApi::start();
        api.mount(fixtures::internal_error_text());
        let (_, code) = run(
            &api,
            &["-X", "POST", "-d", "{\"a\":1}", "--max-retries", "2"],
            blocking,
        );
        assert_eq!(code, 1);
        api.journal().assert_attempts(1);
        let (out, _) = run(
            &api,
            &[
                "-X",
                "POST",
                "-d",
                "{}",
                "--max-retries",
                "2",
                "--idempotent",
            ],
            blocking,
        );
        assert_eq!(out["attempts"].as_array().unwrap().len(), 3, "{out}");
    }
}

#[test]
fn max_wait_and_transport_failures() {
    let api = BlockingMockApi::start();
    api.mount(fixtures::rate_limited().with_retry_after_secs(30));
    let (out, code) = run(&api, &["--max-wait", "5"], false);
    assert_eq!(code, 1);
    assert_eq!(out["stop"], "retry_after_too_long");
    assert_eq!(out["error"]["retry_after_ms"], 30_000);

    let refusing = FaultServer::refusing();
    let args = fetch::parse_args(
        ["--max-retries", "0", &format!("{}/", refusing.uri())]
            .iter()
            .map(|s| s.to_string()),
    )
    .unwrap();
    let (out, code) = fetch::report(fetch::run_async(&args));
    assert_eq!(code, 2);
    assert_eq!(out["error"]["kind"], "transport");
}

#[test]
fn bad_usage_is_an_error_message() {
    for args in [
        &[][..],
        &["-X"],
        &["--max-retries", "x", "http://127.0.0.1:1/"],
        &["--nope", "http://127.0.0.1:1/"],
        &["not a url"],
        &["-H", "novalue", "http://127.0.0.1:1/"],
    ] {
        assert!(
            fetch::parse_args(args.iter().map(|s| s.to_string())).is_err(),
            "{args:?}"
        );
    }
}

#[test]
fn every_header_given_with_h_is_kept_from_other_origins_and_from_echoes() {
    let api = BlockingMockApi::start();
    let other = BlockingMockApi::start();
    let to_other = format!("{}/file", other.uri());
    api.mount_at(
        "/export",
        Fixture::empty(302).with_header("location", to_other),
    );
    // An error that echoes what it was sent.
    let echo = r#"{"detail":"invalid key tok-echoed-123"}"#;
    api.mount_at("/echo", Fixture::raw(401, "application/json", echo));
    other.mount_at("/file", fixtures::ok());
    let fetch_with_header = |at: &str, blocking: bool| {
        let mut args = vec![
            "-H".to_owned(),
            "X-Session: tok-echoed-123".to_owned(),
            format!("{}{at}", api.uri()),
        ];
        if blocking {
            args.insert(0, "--blocking".into());
        }
        fetch::report(fetch::run(&fetch::parse_args(args.into_iter()).unwrap()))
    };
    for blocking in [false, true] {
        let (out, code) = fetch_with_header("/export", blocking);
        assert_eq!(code, 0, "{out}");
        let (out, code) = fetch_with_header("/echo", blocking);
        assert_eq!(code, 1, "{out}");
        assert!(!out.to_string().contains("tok-echoed-123"), "{out}");
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap()
                .contains("[redacted]"),
            "{out}"
        );
    }
    let hops = other.journal().requests();
    assert_eq!(hops.len(), 2);
    assert!(hops.iter().all(|hop| hop.header("x-session").is_none()));
    let to_api = api.journal().requests();
    assert!(
        to_api
            .iter()
            .all(|r| r.header("x-session") == Some("tok-echoed-123"))
    );
}

use serde_json::Value;

use super::lenient::MAX_REPAIRS;
use super::*;
use crate::ErrorCode;

fn parse(json: &str) -> ErrorBody {
    ErrorBody::from_json(json.as_bytes()).unwrap()
}

#[test]
fn the_documented_shapes() {
    let envelope = parse(
        r#"{ "error": { "code": "RATE_LIMIT_ERROR", "message": "Rate limit exceeded: 100 calls per 60 seconds", "details": {} }, "request_id": "550e8400-e29b-41d4-a716-446655440000"}"#,
    );
    let ErrorBody::Envelope(e) = &envelope else {
        panic!("{envelope:?}")
    };
    assert_eq!(e.code, Some(ErrorCode::RateLimitError));
    assert_eq!(
        e.request_id.as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440000")
    );
    assert_eq!(e.details, Some(serde_json::json!({})));

    assert_eq!(
        parse(r#"{ "detail": "Rule not found"}"#),
        ErrorBody::DetailString("Rule not found".into())
    );

    let object = parse(
        r#"{ "detail": { "code": "VALIDATION_ERROR", "message": "Invalid request parameters", "field": "limit" }}"#,
    );
    assert_eq!(
        object,
        ErrorBody::DetailObject(
            DetailObject::new(ErrorCode::ValidationError, "Invalid request parameters")
                .with_field("limit")
        )
    );

    let list = parse(
        r#"{"detail":[{"type":"missing","loc":["body","items",0,"name"],"msg":"Field required","input":{"api_key":"sk-secret"}}]}"#,
    );
    let ErrorBody::DetailList(issues) = &list else {
        panic!("{list:?}")
    };
    assert_eq!(issues[0].field(), "items.0.name");
    assert_eq!(issues[0].kind, "missing");
    assert!(!format!("{list:?}").contains("sk-secret"));
}

#[test]
fn request_id_before_error_and_unknown_members_are_fine() {
    let body =
        parse(r#"{"request_id":"r1","extra":[1,2,{"a":null}],"error":{"code":"X","hint":1}}"#);
    let ErrorBody::Envelope(e) = body else {
        panic!()
    };
    assert_eq!(e.request_id.as_deref(), Some("r1"));
    assert_eq!(e.code, Some(ErrorCode::Other("X".into())));
    assert_eq!(e.message, None);
}

#[test]
fn json_that_is_not_the_apis_is_rejected() {
    for json in [
        r#"{}"#,
        r#"{"detail":null}"#,
        r#"{"message":"x"}"#,
        r#"{"error":"invalid_token"}"#,
        r#"{"error":[1]}"#,
        "[]",
        "1",
        r#""x""#,
        "null",
        r#"{"error":{}"#,
        r#"{"detail":"a"} x"#,
    ] {
        assert!(ErrorBody::from_json(json.as_bytes()).is_err(), "{json}");
    }
}

fn repairs(json: &[u8]) -> (Option<ErrorBody>, Vec<String>) {
    let parsed = parse_bytes(json).unwrap();
    (
        parsed.body,
        parsed.repairs.iter().map(ToString::to_string).collect(),
    )
}

#[test]
fn mistyped_members_are_dropped_or_kept_as_text_and_noted() {
    let (body, notes) =
        repairs(br#"{"error":{"code":429,"message":["a"],"details":"x"},"request_id":12345}"#);
    let Some(ErrorBody::Envelope(e)) = body else {
        panic!("{body:?}")
    };
    assert_eq!(e.code, Some(ErrorCode::Other("429".into())));
    assert_eq!(e.message, None);
    assert_eq!(e.details, Some(Value::from("x")));
    assert_eq!(e.request_id.as_deref(), Some("12345"));
    assert_eq!(
        notes,
        [
            "kept error.code (a number) as text",
            "dropped error.message (a list)",
            "kept request_id (a number) as text"
        ]
    );

    let (body, notes) = repairs(
        br#"{"detail":[{"loc":["body",2.5,-1,true,null,{"a":1}],"msg":null,"type":7},"plain",3,[]]}"#,
    );
    let Some(ErrorBody::DetailList(issues)) = body else {
        panic!("{body:?}")
    };
    assert_eq!(
        issues[0].loc,
        [
            LocSegment::from("body"),
            LocSegment::from("2.5"),
            LocSegment::from("-1"),
            LocSegment::from("true"),
        ]
    );
    assert_eq!(issues[0].msg, "");
    assert_eq!(issues[0].kind, "7");
    assert_eq!(issues[1].msg, "plain");
    assert_eq!(issues.len(), 2);
    assert_eq!(
        notes,
        [
            "kept detail[0].loc[1] (a number) as text",
            "kept detail[0].loc[2] (a number) as text",
            "kept detail[0].loc[3] (a boolean) as text",
            "dropped detail[0].loc[5] (an object)",
            "kept detail[0].type (a number) as text",
            "dropped detail[2] (a number)",
            "dropped detail[3] (a list)",
        ]
    );

    let (body, notes) = repairs(
        b"\xEF\xBB\xBF{\"detail\":{\"code\":\"X\",\"message\":\"caf\xe9\",\"field\":false}}",
    );
    let Some(ErrorBody::DetailObject(d)) = body else {
        panic!("{body:?}")
    };
    assert_eq!(d.message.as_deref(), Some("caf\u{fffd}"));
    assert_eq!(d.field.as_deref(), Some("false"));
    assert_eq!(
        notes,
        [
            "skipped a utf-8 byte order mark",
            "replaced bytes that are not utf-8",
            "kept detail.field (a boolean) as text"
        ]
    );

    assert_eq!(
        repairs(br#"{"detail":5}"#).0,
        Some(ErrorBody::DetailString("5".into()))
    );
}

#[test]
fn repairs_are_bounded() {
    let items = vec!["1"; 1000].join(",");
    let parsed = parse_bytes(format!(r#"{{"detail":[{items}]}}"#).as_bytes()).unwrap();
    assert_eq!(parsed.repairs.len(), MAX_REPAIRS);
}

#[test]
fn nesting_past_the_limit_is_rejected_wherever_it_is() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for json in [
        format!(r#"{{"detail":{deep}}}"#),
        format!(r#"{{"error":{{"code":"X","message":{deep}}}}}"#),
        format!(r#"{{"detail":[{{"loc":[{deep}]}}]}}"#),
        format!(r#"{{"error":{deep}}}"#),
    ] {
        assert!(parse_bytes(json.as_bytes()).is_err(), "{}", &json[..30]);
    }
    // Members outside the API's model are skipped without recursion: no stack at risk.
    let parsed = parse_bytes(format!(r#"{{"detail":"x","other":{deep}}}"#).as_bytes());
    assert_eq!(
        parsed.unwrap().body,
        Some(ErrorBody::DetailString("x".into()))
    );
}

#[test]
fn foreign_json_keeps_its_summary_and_request_id() {
    let parsed = parse_bytes(br#"{"title":"Forbidden","request_id":"r-7","status":403}"#).unwrap();
    assert_eq!(parsed.body, None);
    assert_eq!(parsed.hint.as_deref(), Some("Forbidden"));
    assert_eq!(parsed.request_id.as_deref(), Some("r-7"));
}

#[test]
fn every_json_shape_round_trips() {
    let bodies = [
        ErrorBody::Envelope(
            Envelope::new("USAGE_LIMIT_EXCEEDED", "Monthly limit")
                .with_details(serde_json::json!({"limit": 1000}))
                .with_request_id("abc"),
        ),
        ErrorBody::Envelope(Envelope::default()),
        ErrorBody::DetailString("Rule not found".into()),
        ErrorBody::DetailObject(DetailObject::new("AUTHZ_ERROR", "no scope").with_field("scope")),
        ErrorBody::DetailList(vec![ValidationIssue::new(
            ["query".into(), "limit".into()],
            "Input should be less than or equal to 100",
            "less_than_equal",
        )]),
    ];
    for body in bodies {
        let json = body.to_json().unwrap();
        assert_eq!(
            ErrorBody::from_json(&json).unwrap(),
            body,
            "{}",
            String::from_utf8_lossy(&json)
        );
    }
}

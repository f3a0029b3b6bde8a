//! The spans an operation leaves: one `thingspace.operation` span, one `thingspace.attempt`
//! span per attempt, with their outcomes recorded, under the SDK's names and under
//! OpenTelemetry's HTTP semantic conventions.

use thingspace::mock::{Fault, Route};
use thingspace_tests::{CapturedLogs, Harness};

/// The closing lines of the spans named `name` (the line's innermost span is the one closing).
fn closed<'a>(logs: &'a str, name: &str) -> Vec<&'a str> {
    logs.lines()
        .filter(|l| {
            let Some((spans, _)) = l.split_once(": thingspace_core::pipeline: close time.busy=")
            else {
                return false;
            };
            // `...outer{..}:inner{..}`: the innermost span follows the last `}:`.
            let innermost = spans.rsplit_once("}:").map_or(spans, |(_, last)| last);
            innermost.trim_start().starts_with(&format!("{name}{{"))
                || spans.rsplit_once("}:").is_none() && spans.contains(&format!(" {name}{{"))
        })
        .collect()
}

/// The fields of the innermost span of a closing line, which must be `name`.
fn own_fields<'a>(line: &'a str, name: &str) -> &'a str {
    let start = format!("{name}{{");
    let (_, rest) = line
        .rsplit_once(&start)
        .unwrap_or_else(|| panic!("no {name} span in {line}"));
    rest.split_once("}: ").map_or(rest, |(fields, _)| fields)
}

/// OpenTelemetry's HTTP client fields that every operation span carries once it is closed.
fn assert_otel_fields(fields: &str, method: &str, status: u16) {
    for field in [
        format!("http.request.method={method}"),
        "url.template=\"/".to_owned(),
        "server.address=\"127.0.0.1\"".to_owned(),
        "server.port=".to_owned(),
        format!("http.response.status_code={status}"),
        "otel.kind=\"client\"".to_owned(),
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields}");
    }
}

#[tokio::test]
async fn every_operation_token_and_login_included_has_one_span_per_attempt() {
    let h = Harness::start().await.expect("mock");
    // The first call: the token request and the login are operations too (one test, since
    // tracing's callsite cache makes parallel tests with their own subscribers unreliable).
    {
        let logs = CapturedLogs::default();
        let _guard = tracing::subscriber::set_default(logs.span_subscriber());
        h.m2m.accounts().get("0000123456").await.expect("account");
        drop(_guard);
        let text = logs.text();
        let operations = closed(&text, "thingspace.operation");
        assert_eq!(operations.len(), 3, "{text}");
        for (line, name, method) in [
            (operations[0], "oauth2.token", "POST"),
            (operations[1], "m2m.session.login", "POST"),
            (operations[2], "m2m.accounts.get", "GET"),
        ] {
            let own = own_fields(line, "thingspace.operation");
            assert_otel_fields(own, method, 200);
            for absent in [
                "http.request.resend_count",
                "error.type",
                "otel.status_code",
            ] {
                assert!(!own.contains(absent), "{absent} in {own}");
            }
            for field in [
                format!("operation=\"{name}\""),
                format!("method={method}"),
                "path=".to_owned(),
                "status=200".to_owned(),
                "attempts=1".to_owned(),
                "latency_ms=".to_owned(),
            ] {
                assert!(line.contains(&field), "{field} missing from {line}");
            }
        }
        // The template, never the path with its values.
        let account = own_fields(operations[2], "thingspace.operation");
        assert!(
            account.contains("url.template=\"/m2m/v1/accounts/{accountname}\"")
                && !account.contains("0000123456"),
            "{account}"
        );
        // The credential requests run inside the operation that needed them, in its budget.
        assert!(
            operations[1].contains("operation=\"m2m.accounts.get\""),
            "{}",
            operations[1]
        );
        for secret in ["mock-secret", "mock-password"] {
            assert!(!text.contains(secret), "{secret} in the traces");
        }
    }
    h.server.inject(Route::Account, Fault::Status(503));

    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.span_subscriber());
    h.m2m.accounts().get("0000123456").await.expect("retried");
    drop(_guard);
    let text = logs.text();

    let attempts = closed(&text, "thingspace.attempt");
    assert_eq!(attempts.len(), 2, "{text}");
    assert!(
        attempts[0].contains("attempt=1") && attempts[0].contains("status=503"),
        "{}",
        attempts[0]
    );
    assert!(
        attempts[1].contains("attempt=2") && attempts[1].contains("status=200"),
        "{}",
        attempts[1]
    );
    for line in &attempts {
        assert!(line.contains("latency_ms="), "{line}");
        let own = own_fields(line, "thingspace.attempt");
        for field in [
            "http.request.method=GET",
            "url.template=\"/m2m/v1/accounts/{accountname}\"",
            "server.address=\"127.0.0.1\"",
        ] {
            assert!(own.contains(field), "{field} missing from {own}");
        }
    }
    let (first, second) = (
        own_fields(attempts[0], "thingspace.attempt"),
        own_fields(attempts[1], "thingspace.attempt"),
    );
    assert!(
        first.contains("http.response.status_code=503")
            && first.contains("error.type=\"503\"")
            && !first.contains("http.request.resend_count"),
        "{first}"
    );
    assert!(
        second.contains("http.response.status_code=200")
            && second.contains("http.request.resend_count=1")
            && !second.contains("error.type"),
        "{second}"
    );
    let operations = closed(&text, "thingspace.operation");
    assert_eq!(operations.len(), 1, "{text}");
    let op = operations[0];
    for field in [
        "operation=\"m2m.accounts.get\"",
        "attempts=2",
        "status=200",
        "latency_ms=",
    ] {
        assert!(op.contains(field), "{field} missing from {op}");
    }
    let own = own_fields(op, "thingspace.operation");
    assert_otel_fields(own, "GET", 200);
    assert!(own.contains("http.request.resend_count=1"), "{own}");
    // The attempt spans are children of the operation span.
    assert!(
        attempts[1].contains("thingspace.operation{"),
        "{}",
        attempts[1]
    );

    // A failure: its status as OpenTelemetry's `error.type`, and the span's status an error.
    h.server.inject(Route::Account, Fault::Status(404));
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.span_subscriber());
    h.m2m
        .accounts()
        .get("0000123456")
        .await
        .expect_err("not found");
    drop(_guard);
    let text = logs.text();
    let operations = closed(&text, "thingspace.operation");
    assert_eq!(operations.len(), 1, "{text}");
    let own = own_fields(operations[0], "thingspace.operation");
    assert_otel_fields(own, "GET", 404);
    for field in ["error.type=\"404\"", "otel.status_code=\"ERROR\""] {
        assert!(own.contains(field), "{field} missing from {own}");
    }

    // No answer at all: the kind of error, and no status.
    h.server.inject(Route::Account, Fault::Reset);
    let logs = CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.span_subscriber());
    h.m2m.accounts().get("0000123456").await.expect("retried");
    drop(_guard);
    let text = logs.text();
    let attempts = closed(&text, "thingspace.attempt");
    assert_eq!(attempts.len(), 2, "{text}");
    let first = own_fields(attempts[0], "thingspace.attempt");
    assert!(
        first.contains("error.type=\"") && !first.contains("http.response.status_code"),
        "{first}"
    );
}

//! The spans an operation leaves: one `thingspace.operation` span, one `thingspace.attempt`
//! span per attempt, with their outcomes recorded.

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
    }
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
    // The attempt spans are children of the operation span.
    assert!(
        attempts[1].contains("thingspace.operation{"),
        "{}",
        attempts[1]
    );
}

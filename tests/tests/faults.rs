//! The fault matrix: every operation against every fault the mock can inject.
//! docs/reliability.md lists the same matrix; each cell is checked here.

use std::time::Duration;

use thingspace::{
    Client, Error,
    m2m::M2m,
    mock::{Fault, MockServer, Route},
    oc::{OcConfig, OperatorConnect},
    subsc::{ServiceName, Subsc},
};
use thingspace_tests::loader_for;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AccountGet,
    LeadsList,
    StatesAndServices,
    ManagedAccounts,
    OcLeadGet,
    OcLeadsList,
}

const OPS: [Op; 6] = [
    Op::AccountGet,
    Op::LeadsList,
    Op::StatesAndServices,
    Op::ManagedAccounts,
    Op::OcLeadGet,
    Op::OcLeadsList,
];

impl Op {
    fn route(self) -> Route {
        match self {
            Op::AccountGet => Route::Account,
            Op::LeadsList => Route::Leads,
            Op::StatesAndServices => Route::StatesAndServices,
            Op::ManagedAccounts => Route::ManagedAccounts,
            Op::OcLeadGet | Op::OcLeadsList => Route::OcLeads,
        }
    }
}

struct Clients {
    server: MockServer,
    m2m: M2m,
    subsc: Subsc,
    oc: OperatorConnect,
}

async fn clients() -> Clients {
    let server = MockServer::start().await.expect("mock");
    let loaded = loader_for(&server)
        .set("timeout_secs", "0.4")
        .load()
        .expect("load");
    let client = Client::thingspace(&loaded.thingspace().expect("config")).expect("client");
    let oc =
        OperatorConnect::from_config(&OcConfig::load(&loaded).expect("oc")).expect("oc client");
    server.set_lead_count("0000123456", 2_500);
    Clients {
        m2m: M2m::new(client.clone()),
        subsc: Subsc::new(client),
        oc,
        server,
    }
}

async fn run(c: &Clients, op: Op) -> Result<(), Error> {
    match op {
        Op::AccountGet => c.m2m.accounts().get("0000123456").await.map(drop),
        Op::LeadsList => c
            .m2m
            .leads()
            .all("0000123456")
            .await
            .map(|l| assert_eq!(l.len(), 2_500)),
        Op::StatesAndServices => c
            .m2m
            .states_and_services()
            .get("0000123456")
            .await
            .map(drop),
        Op::ManagedAccounts => c
            .subsc
            .managed_accounts()
            .list("2024009649-00001", &ServiceName::Location, None)
            .await
            .map(drop),
        Op::OcLeadGet => {
            c.oc.leads()
                .get("f94238e5-4f2c-4e1b-8125-2d27122ca75f")
                .await
                .map(drop)
        }
        Op::OcLeadsList => c.oc.leads().all(10).await.map(|l| assert_eq!(l.len(), 25)),
    }
}

/// Warm the credentials, so the counts below are of the operation's own requests.
async fn warm(c: &Clients) {
    run(c, Op::AccountGet).await.expect("warm m2m");
    // Also learns which states-and-services path spelling the mock answers, so a 404 injected
    // later is not taken for the other spelling's.
    run(c, Op::StatesAndServices).await.expect("warm states");
    run(c, Op::OcLeadGet).await.expect("warm oc");
    c.server.reset_counts();
}

impl Op {
    fn is_oc(self) -> bool {
        matches!(self, Op::OcLeadGet | Op::OcLeadsList)
    }
}

/// The error of a `Fault::Status(status)` carries the service's own error body: ThingSpace's
/// envelope (`errorCode`/`errorMessage`), or for Operator Connect the RFC 7807 problem the
/// mock answers there (`title` read as the code, `detail` as the message).
fn assert_error_body(op: Op, status: u16, e: &Error) {
    let reason = thingspace::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    let expected_code = if op.is_oc() {
        reason
    } else {
        Some("INJECTED_FAULT")
    };
    assert_eq!(e.api_code(), expected_code, "{op:?} {status}: {e}");
    assert_eq!(
        e.api_message(),
        Some(format!("fault injected by the mock: HTTP {status}").as_str()),
        "{op:?} {status}: {e}"
    );
}

/// Requests one successful run of `op` makes with no fault.
fn clean_requests(op: Op) -> usize {
    match op {
        Op::LeadsList => 3,
        // Three pages of leads, then the empty page that ends the listing.
        Op::OcLeadsList => 4,
        _ => 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_for_every_operation() {
    let c = clients().await;
    warm(&c).await;
    let transient = [
        Fault::RetryAfter(429, "0".into()),
        Fault::RetryAfter(429, "Wed, 21 Oct 2015 07:28:00 GMT".into()),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Status(504),
        Fault::Html(502),
        Fault::Reset,
        Fault::CutBody,
        Fault::Delay(Duration::from_millis(1_500)),
    ];
    for op in OPS {
        for fault in &transient {
            c.server.reset_counts();
            c.server.inject(op.route(), fault.clone());
            run(&c, op)
                .await
                .unwrap_or_else(|e| panic!("{op:?} under {fault:?}: {e}"));
            assert_eq!(
                c.server.count(op.route()),
                clean_requests(op) + 1,
                "{op:?} under {fault:?}: one retry"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_attempt_limit() {
    let c = clients().await;
    warm(&c).await;
    for op in OPS {
        c.server.reset_counts();
        c.server.inject_times(op.route(), Fault::Status(503), 3);
        let e = run(&c, op).await.expect_err("three 503s");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{op:?}");
        assert!(e.is_retryable());
        assert_error_body(op, 503, &e);
        assert_eq!(
            c.server.count(op.route()),
            3,
            "{op:?}: three attempts, no more"
        );
        c.server.clear_faults();
    }
    c.server.reset_counts();
    c.server
        .inject_times(Route::Account, Fault::Delay(Duration::from_secs(2)), 3);
    let e = run(&c, Op::AccountGet).await.expect_err("timeouts");
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(c.server.count(Route::Account), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_and_500_are_never_retried() {
    let c = clients().await;
    warm(&c).await;
    for op in OPS {
        for status in [400u16, 403, 404, 500] {
            c.server.reset_counts();
            c.server.inject(op.route(), Fault::Status(status));
            // A 404 is an error everywhere, OC's lead included: it is also what a wrong base
            // URL gets, and taking it for "no lead" would hide that.
            let e = run(&c, op).await.expect_err("an error");
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{op:?}");
            assert!(!e.is_retryable());
            assert_error_body(op, status, &e);
            assert_eq!(
                c.server.count(op.route()),
                1,
                "{op:?} {status}: not retried"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_retried_once_through_reauthentication() {
    let c = clients().await;
    warm(&c).await;
    for op in OPS {
        c.server.reset_counts();
        c.server.inject(op.route(), Fault::Unauthorized);
        run(&c, op).await.unwrap_or_else(|e| panic!("{op:?}: {e}"));
        assert_eq!(c.server.count(op.route()), clean_requests(op) + 1, "{op:?}");
        let renewals = c.server.count(Route::Login) + c.server.count(Route::EntraToken);
        assert_eq!(renewals, 1, "{op:?}: one re-authentication");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_typed_errors_with_a_snippet() {
    let c = clients().await;
    warm(&c).await;
    let bodies = [
        "<html><body>Service Unavailable</body></html>",
        "",
        "null",
        r#"{"accountName": 12, "carriers": "Verizon"}"#,
        r#"[1, 2, 3]"#,
        r#"{"leads": "none", "hasMoreData": "maybe"}"#,
        "{}",
        r#"{"somethingElse": []}"#,
        "[{}]",
        r#"[{"unrelated": 1}, {"other": true}]"#,
        r#"{"accountName": null}"#,
    ];
    // None of these is an answer of any operation: each is a decode error, never an empty
    // result.
    for op in OPS {
        for body in bodies {
            c.server.reset_counts();
            c.server.inject(op.route(), Fault::Json(200, body.into()));
            let e = run(&c, op)
                .await
                .expect_err(&format!("{op:?} {body:?} is not an answer"));
            assert!(e.is_decode(), "{op:?} {body:?}: {e:?}");
            if !body.is_empty() {
                assert!(e.body_snippet().is_some(), "{op:?} {body:?}");
            }
            assert_eq!(
                c.server.count(op.route()),
                1,
                "{op:?}: a decode error is not retried"
            );
        }
        // An error envelope in a 200 is reported as the service's error.
        c.server.inject(
            op.route(),
            Fault::Json(
                200,
                r#"{"errorCode":"E1","errorMessage":"in a 200"}"#.into(),
            ),
        );
        let e = run(&c, op).await.expect_err("an envelope is not an answer");
        if !matches!(op, Op::OcLeadGet | Op::OcLeadsList) {
            assert_eq!(e.api_code(), Some("E1"), "{op:?}: {e}");
        }
    }
}

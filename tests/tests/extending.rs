//! The example family of docs/extending.md, built only on the core's public API, runs: paging,
//! retries, unsafe requests that are never sent twice, secrets kept out of traces and
//! cassettes, and typed errors, all from the core.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::Duration;

use async_trait::async_trait;
use axum::{Router, routing::post};
use thingspace::{
    Client, ErrorKind, Request, Response, RetryPolicy, SecretString, Transport,
    http::StatusCode,
    mock::{MockConfig, MockServer},
    replay::RecordingTransport,
    url::Url,
};
use thingspace_tests::example_family::{
    Devices, REGISTER_WEBHOOK, Webhook, register_webhook_request,
};
use thingspace_tests::{CapturedLogs, loader_for};

const SIGNING_KEY: &str = "sk-live-7f3a9c2e";
const WEBHOOKS: &str = "/api/m2m/v1/devices/{accountname}/webhooks";

fn webhook() -> Webhook {
    Webhook {
        url: "https://hooks.example.com/in".into(),
        signing_key: SecretString::new(SIGNING_KEY),
    }
}

/// A webhook route answering each call with what `answer` says for the call's number (from
/// 1), after reading the whole body; and the count of calls.
fn webhooks(
    answer: impl Fn(usize) -> axum::response::Response + Clone + Send + Sync + 'static,
) -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        WEBHOOKS,
        post(move |body: String| {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            let answer = answer.clone();
            async move {
                assert!(body.contains(SIGNING_KEY), "the body arrived whole");
                answer(n)
            }
        }),
    );
    (router, hits)
}

fn created() -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::Json(serde_json::json!({"webhookId": "wh-1"})).into_response()
}

/// The mock serving `routes` behind its credential check, and the settings for it (fast
/// retries).
async fn mock_with(routes: Router) -> (MockServer, thingspace::Config) {
    let server = MockServer::start_with(MockConfig::default().routes(routes))
        .await
        .expect("mock");
    let config = loader_for(&server)
        .load()
        .expect("load")
        .thingspace()
        .expect("config");
    (server, config)
}

/// The mock serving `routes`, and the family on a client for it.
async fn family_on_mock(routes: Router) -> (MockServer, Devices) {
    let (server, config) = mock_with(routes).await;
    let devices = Devices::new(Client::thingspace(&config).expect("client"));
    (server, devices)
}

#[tokio::test]
async fn an_unsafe_post_answered_503_after_its_body_arrived_is_not_sent_again() {
    use axum::response::IntoResponse;
    let (routes, hits) = webhooks(|_| StatusCode::SERVICE_UNAVAILABLE.into_response());
    let (_server, devices) = family_on_mock(routes).await;
    let e = devices
        .register_webhook("0000123456", &webhook())
        .await
        .expect_err("unknown");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "sent once: {e}");
    assert!(e.is_outcome_unknown(), "{e}");
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
    assert!(!e.is_retryable());
    assert_eq!(e.operation(), Some(REGISTER_WEBHOOK));
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    let text = e.to_string();
    assert!(
        text.contains("outcome is unknown")
            && text.contains("list the account's webhooks before registering it again"),
        "{text}"
    );

    // A caller who knows better marks one call safe to repeat: then it is retried.
    let request = register_webhook_request("0000123456", &webhook())
        .with_idempotency(thingspace::Idempotency::Safe);
    hits.store(0, Ordering::SeqCst);
    let e = devices
        .client()
        .send(&request)
        .await
        .expect_err("503 each time");
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "the policy's three attempts"
    );
}

#[tokio::test]
async fn an_unsafe_post_throttled_with_retry_after_is_sent_again_after_the_wait() {
    use axum::response::IntoResponse;
    let (routes, hits) = webhooks(|n| {
        if n == 1 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                r#"{"fault":{"code":"900800","message":"Message throttled out"}}"#,
            )
                .into_response()
        } else {
            created()
        }
    });
    let (_server, devices) = family_on_mock(routes).await;
    let started = std::time::Instant::now();
    let id = devices
        .register_webhook("0000123456", &webhook())
        .await
        .expect("retried after the wait");
    assert_eq!(id.webhook_id, "wh-1");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Retry-After was honoured (the configured backoff is 10 ms).
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unsafe_post_whose_connection_was_refused_is_sent_again() {
    // A port with nothing listening, where a server starts a moment later.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let (routes, hits) = webhooks(|_| created());
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        axum::serve(listener, routes).await.expect("serve");
    });
    let client = Client::builder(Url::parse(&format!("http://{addr}/api")).expect("url"))
        .retry(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(400)),
        )
        .build()
        .expect("client");
    let id = Devices::new(client)
        .register_webhook("0000123456", &webhook())
        .await
        .expect("sent again once something listened");
    assert_eq!(id.webhook_id, "wh-1");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn the_signing_key_is_in_no_trace_cassette_or_debug() {
    let (routes, hits) = webhooks(|_| created());
    let (_server, config) = mock_with(routes).await;
    let dir = std::env::temp_dir().join(format!(
        "thingspace-example-family-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let cassette = dir.join("webhook.json");
    let recorder = Arc::new(RecordingTransport::new(
        Arc::new(thingspace::ReqwestTransport::new().expect("transport")),
        &cassette,
    ));
    let devices =
        Devices::new(Client::thingspace_with_transport(&config, recorder.clone()).expect("client"));

    let logs = CapturedLogs::default();
    let guard = tracing::subscriber::set_default(logs.span_subscriber());
    tracing::callsite::rebuild_interest_cache();
    devices
        .register_webhook("0000123456", &webhook())
        .await
        .expect("registered");
    drop(guard);
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let traces = logs.text();
    assert!(
        traces.contains("operation=\"devices.webhooks.register\"")
            && traces.contains("body_bytes="),
        "the operation is traced, with its body's size: {traces}"
    );
    recorder.save().expect("saved");
    let recorded = std::fs::read_to_string(&cassette).expect("cassette");
    assert!(recorded.contains("signingKey"), "{recorded}");
    let request = register_webhook_request("0000123456", &webhook());
    let debug = format!("{request:?} {:?}", webhook());
    for (what, text) in [
        ("traces", &traces),
        ("cassette", &recorded),
        ("Debug", &debug),
    ] {
        assert!(
            !text.contains(SIGNING_KEY),
            "the signing key in the {what}: {text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An in-memory service for the hypothetical devices family: 3 pages of 2 devices, with one
/// 503 on page 2.
#[derive(Debug, Default)]
struct DevicesService {
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl Transport for DevicesService {
    async fn send(&self, request: Request) -> thingspace::Result<Response> {
        let target = format!(
            "{}?{}",
            request.url.path(),
            request.url.query().unwrap_or("")
        );
        let first_time = {
            let mut seen = self.seen.lock().expect("lock");
            let first = !seen.contains(&target);
            seen.push(target.clone());
            first
        };
        let page: u32 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if page == 2 && first_time {
            return Ok(Response::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Default::default(),
                "",
            ));
        }
        let body = format!(
            r#"{{"usage":[{{"deviceId":"d{0}a","bytes":{0}}},{{"deviceId":"d{0}b","bytes":1}}],"lastPage":{1}}}"#,
            page,
            page == 3
        );
        Ok(Response::new(StatusCode::OK, Default::default(), body))
    }
}

fn devices(service: Arc<DevicesService>) -> Devices {
    let client = Client::builder(Url::parse("https://thingspace.example/api").expect("url"))
        .transport(service)
        .retry(RetryPolicy::default().with_initial_backoff(std::time::Duration::from_millis(1)))
        .build()
        .expect("client");
    Devices::new(client)
}

#[tokio::test]
async fn a_family_written_against_the_core_pages_retries_and_validates() {
    let service = Arc::new(DevicesService::default());
    let usage = devices(service.clone())
        .usage("0000123456")
        .collect_all()
        .await
        .expect("every page");
    let ids: Vec<_> = usage.iter().map(|u| u.device_id.as_str()).collect();
    assert_eq!(ids, ["d1a", "d1b", "d2a", "d2b", "d3a", "d3b"]);
    let seen = service.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4, "three pages and one retry: {seen:?}");
    assert!(seen[0].starts_with("/api/m2m/v1/devices/0000123456/usage"));

    let e = devices(service)
        .usage("")
        .collect_all()
        .await
        .expect_err("empty account");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

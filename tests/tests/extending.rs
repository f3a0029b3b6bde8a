//! The example family of docs/extending.md, built only on the core's public API, runs: paging,
//! retries and typed errors come from the core.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use thingspace::{
    Client, ErrorKind, Request, Response, RetryPolicy, Transport, http::StatusCode, url::Url,
};
use thingspace_tests::example_family::Devices;

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
        .expect("listing")
        .collect_all()
        .await
        .expect("every page");
    let ids: Vec<_> = usage.iter().map(|u| u.device_id.as_str()).collect();
    assert_eq!(ids, ["d1a", "d1b", "d2a", "d2b", "d3a", "d3b"]);
    let seen = service.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4, "three pages and one retry: {seen:?}");
    assert!(seen[0].starts_with("/api/m2m/v1/devices/0000123456/usage"));

    let e = devices(service).usage("").expect_err("empty account");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

//! Shared by the delivery tests: a mock with a logged-in client (token, then session, over
//! HTTP as any client does) and a small axum receiver on 127.0.0.1 that records every callback.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};
use thingspace_mock::{Listener, MockConfig, MockServer};

pub const ACCOUNT: &str = "0000123456";
pub const CB_USER: &str = "cb-user";
pub const CB_PASSWORD: &str = "cb-pass-5e2b";
pub const SETTLE: Duration = Duration::from_secs(10);
pub const IMEIS: [&str; 3] = ["990013907835573", "990013907835581", "990013907835599"];

/// One message the receiver got.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub body: Value,
    pub content_type: Option<String>,
    /// Whether a message for the same device was still unanswered when this one arrived.
    pub overlapped: bool,
}

#[derive(Default)]
pub struct Inbox {
    arrivals: Vec<Arrival>,
    /// Devices (their `deviceIds`, as text) whose messages are being answered.
    open: Vec<String>,
    /// How many more messages to answer 503.
    refusals: usize,
    /// How long each answer takes.
    latency: Duration,
}

/// A listener on 127.0.0.1 that records every message.
#[derive(Clone, Default)]
pub struct Receiver(pub Arc<Mutex<Inbox>>);

impl Receiver {
    pub async fn start(refusals: usize, latency: Duration) -> (Self, String) {
        let receiver = Self::default();
        {
            let mut inbox = receiver.0.lock().expect("inbox");
            inbox.refusals = refusals;
            inbox.latency = latency;
        }
        let app = Router::new()
            .route("/in", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let url = format!("http://{}/in", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (receiver, url)
    }

    pub fn arrivals(&self) -> Vec<Arrival> {
        self.0.lock().expect("inbox").arrivals.clone()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.arrivals().into_iter().map(|a| a.body).collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let key = body["deviceIds"].to_string();
    let (status, latency) = {
        let mut inbox = receiver.0.lock().expect("inbox");
        let overlapped = inbox.open.contains(&key);
        inbox.open.push(key.clone());
        inbox.arrivals.push(Arrival {
            body,
            content_type: headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            overlapped,
        });
        let status = if inbox.refusals > 0 {
            inbox.refusals -= 1;
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        (status, inbox.latency)
    };
    tokio::time::sleep(latency).await;
    let mut inbox = receiver.0.lock().expect("inbox");
    if let Some(i) = inbox.open.iter().position(|k| *k == key) {
        inbox.open.remove(i);
    }
    status
}

/// A mock with a logged-in client.
pub struct Rig {
    pub server: MockServer,
    http: reqwest::Client,
    bearer: String,
    session: String,
}

impl Rig {
    pub async fn start() -> Self {
        Self::start_with(MockConfig::default()).await
    }

    pub async fn start_with(config: MockConfig) -> Self {
        let server = MockServer::start_with(config).await.expect("mock");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let c = server.config();
        let token: Value = json_of(
            http.post(format!("{}/ts/v1/oauth2/token", server.base_url()))
                .basic_auth(&c.client_id, Some(&c.client_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await,
        )
        .await;
        let bearer = token["access_token"].as_str().expect("token").to_owned();
        let login: Value = json_of(
            http.post(format!("{}/m2m/v1/session/login", server.base_url()))
                .bearer_auth(&bearer)
                .header("content-type", "application/json")
                .body(json!({"username": c.username, "password": c.password}).to_string())
                .send()
                .await,
        )
        .await;
        let session = login["sessionToken"].as_str().expect("session").to_owned();
        Self {
            server,
            http,
            bearer,
            session,
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server.base_url()))
            .bearer_auth(&self.bearer)
            .header("VZ-M2M-Token", &self.session)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Registers `url` for `service` on `account` over the mock's HTTP API.
    pub async fn register(&self, account: &str, service: &str, url: &str) {
        let body =
            json!({"name": service, "url": url, "username": CB_USER, "password": CB_PASSWORD});
        let answer = json_of(
            self.request(
                reqwest::Method::POST,
                &format!("/m2m/v1/callbacks/{account}"),
                body,
            )
            .send()
            .await,
        )
        .await;
        assert_eq!(answer["serviceName"], service);
    }

    /// Registers `url` for `service` on `account` without HTTP.
    pub fn register_directly(&self, account: &str, service: &str, url: &str) {
        self.server.register_listener(
            account,
            service,
            Listener {
                url: url.to_owned(),
                username: Some(CB_USER.to_owned()),
                password: Some(CB_PASSWORD.to_owned()),
            },
        );
    }

    /// Activates `devices` (IMEIs) on `ACCOUNT` and returns the request id.
    pub async fn activate(&self, imeis: &[&str]) -> String {
        let devices: Vec<Value> = imeis
            .iter()
            .map(|id| json!({"deviceIds": [{"id": id, "kind": "imei"}]}))
            .collect();
        let body = json!({
            "accountName": ACCOUNT,
            "devices": devices,
            "servicePlan": "M2MPlan",
            "mdnZipCode": "94203",
        });
        let answer = json_of(
            self.request(
                reqwest::Method::POST,
                "/m2m/v1/devices/actions/activate",
                body,
            )
            .send()
            .await,
        )
        .await;
        answer["requestId"].as_str().expect("requestId").to_owned()
    }

    /// Moves `imeis` into a custom state, without `accountName`, and returns the request id.
    pub async fn go_to_state(&self, imeis: &[&str]) -> String {
        let devices: Vec<Value> = imeis
            .iter()
            .map(|id| json!({"deviceIds": [{"id": id, "kind": "imei"}]}))
            .collect();
        let body = json!({
            "serviceName": "Connectivity",
            "stateName": "Ready",
            "servicePlan": "M2MPlan",
            "mdnZipCode": "94203",
            "devices": devices,
        });
        let answer = json_of(
            self.request(
                reqwest::Method::PUT,
                "/m2m/v1/devices/actions/goToState",
                body,
            )
            .send()
            .await,
        )
        .await;
        answer["requestId"].as_str().expect("requestId").to_owned()
    }

    pub async fn settle(&self) {
        assert!(
            self.server.settle_callbacks(SETTLE).await,
            "deliveries settle"
        );
    }
}

pub async fn json_of(sent: reqwest::Result<reqwest::Response>) -> Value {
    let response = sent.expect("sent");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

pub fn first_id(body: &Value) -> &str {
    body["deviceIds"][0]["id"].as_str().unwrap_or_default()
}

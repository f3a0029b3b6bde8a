//! The listener over real HTTP on 127.0.0.1: what it acknowledges, what it refuses, and that an
//! acknowledged callback is never lost.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use thingspace_callbacks::{
    ChannelSink, Credentials, DeviceId, FileSink, Listener, Network, RunningListener, Tracker,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USER: &str = "ts-callbacks";
const PASSWORD: &str = "cb-pa55word-secret";

fn message(request: &str, device: &str, count: u64) -> Value {
    json!({
        "username": USER, "password": PASSWORD, "requestId": request,
        "deviceIds": [{"id": device, "kind": "IMEI"}],
        "deviceResponse": {"activateResponse": {"servicePlan": "M2MPlan"}},
        "status": "Success", "callbackCount": count, "maxCallbackThreshold": 4
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client")
}

async fn post(listener: &RunningListener, path: &str, body: &Value) -> u16 {
    client()
        .post(format!("http://{}{path}", listener.local_addr()))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap_or_default())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn credentials() -> Credentials {
    Credentials::new(USER, PASSWORD)
}

#[tokio::test]
async fn acknowledges_what_it_kept_on_any_path_and_refuses_the_rest() {
    let (sink, mut received) = ChannelSink::new(16);
    let listener = Listener::builder(credentials())
        .sink(sink)
        .max_body_bytes(4096)
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");

    assert_eq!(post(&listener, "/", &message("r-1", "1", 1)).await, 200);
    assert_eq!(
        post(&listener, "/ts/carrier", &message("r-1", "2", 1)).await,
        200
    );
    let first = received.recv().await.expect("kept");
    assert_eq!(
        (first.request_id.as_str(), first.device_ids[0].id.as_str()),
        ("r-1", "1")
    );
    assert_eq!(
        received.recv().await.map(|c| c.device_ids[0].id.clone()),
        Some("2".into())
    );

    let mut wrong = message("r-1", "3", 1);
    wrong["password"] = json!("guess");
    assert_eq!(post(&listener, "/", &wrong).await, 401);
    let mut no_user = message("r-1", "3", 1);
    no_user.as_object_mut().map(|o| o.remove("username"));
    assert_eq!(post(&listener, "/", &no_user).await, 401);
    assert_eq!(
        post(&listener, "/", &json!({"requestId": "r-1"})).await,
        400
    );
    let mut large = message("r-1", "4", 1);
    large["padding"] = json!("x".repeat(5000));
    assert_eq!(post(&listener, "/", &large).await, 413);
    let html = client()
        .post(format!("http://{}/", listener.local_addr()))
        .body("<html>hello</html>")
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(html.ok(), Some(400));
    let get = client()
        .get(format!("http://{}/", listener.local_addr()))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(get.ok(), Some(405));

    assert!(
        received.try_recv().is_err(),
        "nothing refused was delivered"
    );
    let stats = listener.stats();
    assert_eq!(
        (stats.accepted, stats.unauthorized, stats.malformed),
        (2, 2, 3)
    );
}

#[tokio::test]
async fn a_full_sink_is_answered_503_so_the_service_sends_again() {
    let (sink, mut received) = ChannelSink::new(1);
    let listener = Listener::builder(credentials())
        .sink(sink)
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    assert_eq!(post(&listener, "/", &message("r", "1", 1)).await, 200);
    assert_eq!(post(&listener, "/", &message("r", "2", 1)).await, 503);
    assert!(received.recv().await.is_some());
    assert_eq!(post(&listener, "/", &message("r", "2", 2)).await, 200);
    assert_eq!(listener.stats().unavailable, 1);

    let no_sink = Listener::builder(credentials())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    assert_eq!(post(&no_sink, "/", &message("r", "1", 1)).await, 503);
}

/// A sink that never finishes keeping a callback.
#[derive(Debug)]
struct Stalled;

#[async_trait::async_trait]
impl thingspace_callbacks::Sink for Stalled {
    async fn accept(
        &self,
        _: &thingspace_callbacks::Callback,
    ) -> Result<(), thingspace_callbacks::SinkError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_sink_that_stalls_is_answered_503_in_time() {
    let listener = Listener::builder(credentials())
        .sink(Stalled)
        .sink_timeout(Duration::from_millis(200))
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    let answered = tokio::time::timeout(
        Duration::from_secs(10),
        post(&listener, "/", &message("r", "1", 1)),
    )
    .await;
    assert_eq!(answered.ok(), Some(503), "a stalled sink held the callback");
    assert_eq!(listener.stats().unavailable, 1);
}

#[tokio::test]
async fn an_acknowledged_callback_survives_a_restart_with_the_file_sink() {
    let dir = std::env::temp_dir().join(format!("ts-callbacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("callbacks.ndjson");
    let _ = std::fs::remove_file(&path);

    let mut acknowledged = Vec::new();
    for round in 0..2 {
        let listener = Listener::builder(credentials())
            .sink(FileSink::open(&path).expect("opened"))
            .build()
            .bind("127.0.0.1:0")
            .await
            .expect("bound");
        let addr = listener.local_addr();
        let sends = (0..40).map(|i| {
            let body = message(&format!("r-{round}"), &i.to_string(), 1);
            async move {
                let status = client()
                    .post(format!("http://{addr}/"))
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body).unwrap_or_default())
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                (i, status.ok())
            }
        });
        for (i, status) in futures_util::future::join_all(sends).await {
            if status == Some(200) {
                acknowledged.push((format!("r-{round}"), i.to_string()));
            }
        }
        // Killed, not shut down: whatever was acknowledged must already be on disk.
        drop(listener);
    }
    assert_eq!(acknowledged.len(), 80);
    let kept = FileSink::read(&path).expect("readable");
    for (request, device) in &acknowledged {
        assert!(
            kept.iter()
                .any(|c| &c.request_id == request && &c.device_ids[0].id == device),
            "{request}/{device} was acknowledged but is not in the file"
        );
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(!text.contains(PASSWORD), "the file holds no password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(mode & 0o077, 0, "the file is readable by its owner only");
    }
    // A torn last line (a crash mid-write, never acknowledged) is skipped on reading.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"requestId\":\"torn"))
        .expect("appended");
    assert_eq!(FileSink::read(&path).map(|k| k.len()).ok(), Some(80));
    // Opened again after that crash: the torn line is cut off, and what follows is readable.
    let listener = Listener::builder(credentials())
        .sink(FileSink::open(&path).expect("opened"))
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    assert_eq!(post(&listener, "/", &message("r-after", "1", 1)).await, 200);
    drop(listener);
    let kept = FileSink::read(&path).expect("readable after the repair");
    assert_eq!(kept.len(), 81);
    assert_eq!(kept.last().map(|c| c.request_id.as_str()), Some("r-after"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn resends_reach_the_waiter_once_even_when_concurrent() {
    let tracker = Tracker::new();
    let listener = Listener::builder(credentials())
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    let devices: Vec<DeviceId> = (0..3)
        .map(|i| DeviceId::new("imei", i.to_string()))
        .collect();
    let mut outcomes = tracker.wait("r", devices).timeout(Duration::from_secs(30));
    // Each message three times at once, the last device first.
    let sends = (0..3).rev().flat_map(|i| {
        let listener = &listener;
        (1..=3).map(
            move |n| async move { post(listener, "/", &message("r", &i.to_string(), n)).await },
        )
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let mut seen = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        seen.push(outcome.expect("no timeout").device.id);
    }
    seen.sort();
    assert_eq!(seen, ["0", "1", "2"]);
    assert_eq!(tracker.stats().duplicates, 6);
}

#[tokio::test]
async fn a_slow_body_and_slow_headers_do_not_hold_the_listener() {
    let (sink, _received) = ChannelSink::new(16);
    let listener = Listener::builder(credentials())
        .sink(sink)
        .body_timeout(Duration::from_millis(200))
        .header_timeout(Duration::from_millis(200))
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = listener.local_addr();

    let mut slow_body = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connected");
    slow_body
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"req")
        .await
        .expect("written");
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), slow_body.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the listener never answered a slow body");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let mut slow_headers = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connected");
    slow_headers
        .write_all(b"POST / HTTP/1.1\r\nhost:")
        .await
        .expect("written");
    let mut rest = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(10), slow_headers.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "a connection sending headers slowly was kept open"
    );
}

#[tokio::test]
async fn connections_are_capped_and_sources_can_be_restricted() {
    let (sink, _received) = ChannelSink::new(16);
    let listener = Listener::builder(credentials())
        .sink(sink)
        .max_connections(1)
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = listener.local_addr();
    let idle = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connected");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let blocked = client()
        .post(format!("http://{addr}/"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&message("r", "1", 1)).unwrap_or_default())
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(
        blocked.is_err(),
        "a second connection was served beside the first"
    );
    drop(idle);
    assert_eq!(post(&listener, "/", &message("r", "1", 1)).await, 200);

    let elsewhere: Network = "10.0.0.0/8".parse().expect("a network");
    let (sink, mut received) = ChannelSink::new(16);
    let restricted = Listener::builder(credentials())
        .sink(sink)
        .allow_from([elsewhere])
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    assert_eq!(
        post(&restricted, "/", &message("r", "1", 1)).await,
        0,
        "refused at connection"
    );
    assert!(received.try_recv().is_err());
    assert_eq!(restricted.stats().forbidden, 1);
}

#[tokio::test]
async fn the_router_mounts_in_an_app_and_shuts_down_cleanly() {
    let (sink, mut received) = ChannelSink::new(16);
    let listener = Listener::builder(credentials()).sink(sink).build();
    let app = axum::Router::new().nest("/hooks", listener.router());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = socket.local_addr().expect("an address");
    let server = tokio::spawn(async move { axum::serve(socket, app).await });
    let status = client()
        .post(format!("http://{addr}/hooks/carrier"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&message("r", "1", 1)).unwrap_or_default())
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(status.ok(), Some(200));
    assert!(received.recv().await.is_some());
    server.abort();

    let (sink, _r) = ChannelSink::new(1);
    let running = Listener::builder(credentials())
        .sink(sink)
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = running.local_addr();
    tokio::time::timeout(Duration::from_secs(15), running.shutdown())
        .await
        .expect("shut down");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

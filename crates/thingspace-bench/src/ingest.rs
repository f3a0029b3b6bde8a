//! Scenario 7: the callback listener's ingest. 64 concurrent senders post callbacks on
//! loopback to the SDK's listener (channel sink, then fsynced file sink) and to a hand-written
//! axum handler that parses the same JSON and acknowledges; runs alternate between the two
//! sides, and the report gives callbacks per second, the ratio and each side's p99
//! acknowledgement latency.

use std::{net::SocketAddr, time::Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use thingspace::callbacks::{ChannelSink, Credentials, FileSink, Listener, RunningListener};

use thingspace::{mock::RedisServer, redis::RedisFleet};

use crate::figure::Figure;

const USER: &str = "bench-callbacks";
const PASSWORD: &str = "bench-callbacks-password";

/// The bodies, each a distinct device of a distinct request.
fn bodies(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let v = serde_json::json!({
                "username": USER, "password": PASSWORD,
                "requestId": format!("595f5c44-c31c-4552-8670-{:012x}", i / 100),
                "deviceIds": [{"id": format!("99001390{i:07}"), "kind": "imei"}],
                "deviceResponse": {"activateResponse": {"deviceIds": [{"id": format!("55512{i:05}"), "kind": "msisdn"}], "servicePlan": "M2MPlan"}},
                "status": "Success", "callbackCount": 1, "maxCallbackThreshold": 4
            });
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
        })
        .collect()
}

/// Posts every body to `url`, 64 in flight: the wall time and each acknowledgement's latency
/// in µs; an error unless every one was answered 200.
async fn post_all(
    client: &reqwest::Client,
    url: &str,
    bodies: &[Bytes],
) -> Result<(f64, Vec<f64>), String> {
    let started = Instant::now();
    let answers: Vec<Result<f64, String>> = futures_util::stream::iter(bodies.iter().cloned())
        .map(|body| async move {
            let t = Instant::now();
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != reqwest::StatusCode::OK {
                return Err(format!("answered {}", response.status()));
            }
            Ok(t.elapsed().as_secs_f64() * 1e6)
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();
    let latencies: Result<Vec<f64>, String> = answers.into_iter().collect();
    Ok((wall, latencies?))
}

/// The hand-written listener: parse, acknowledge.
async fn baseline() -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    async fn handle(body: Bytes) -> axum::http::StatusCode {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(v) if v["requestId"].is_string() => axum::http::StatusCode::OK,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }
    let app = axum::Router::new().fallback(axum::routing::post(handle));
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(socket, app).await;
    });
    Ok((addr, task))
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get((v.len() * 99 / 100).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Where the SDK's listener keeps each callback before acknowledging it.
enum Keep {
    /// A channel drained by a task.
    Channel,
    /// The fsynced file sink, at this path.
    File(std::path::PathBuf),
    /// The fleet's Redis sink (a stream per request), on this Redis.
    Redis(String),
}

/// The SDK's listener with the sink `keep` says.
async fn sdk_listener(keep: &Keep) -> Result<RunningListener, String> {
    let builder = Listener::builder(Credentials::new(USER, PASSWORD));
    let builder = match keep {
        Keep::File(path) => builder.sink(FileSink::open(path).map_err(|e| e.to_string())?),
        Keep::Channel => {
            let (sink, mut received) = ChannelSink::new(4096);
            tokio::spawn(async move { while received.recv().await.is_some() {} });
            builder.sink(sink)
        }
        Keep::Redis(url) => builder.sink(
            RedisFleet::connect(url, "bench-ingest")
                .await
                .map_err(|e| e.to_string())?
                .sink(),
        ),
    };
    builder
        .build()
        .bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())
}

/// Scenario 7's figures: 7a with the channel sink (target ≥ 0.9 of the baseline's rate), 7b
/// with the fsynced file sink and 7c with the fleet's Redis sink (reported).
pub(crate) async fn figures(smoke: bool) -> Result<Vec<Figure>, String> {
    let (n, reps) = if smoke { (2_000, 1) } else { (100_000, 3) };
    let bodies = bodies(n);
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let (base_addr, base_task) = baseline().await?;
    let base_url = format!("http://{base_addr}/callbacks");
    let dir = std::env::temp_dir().join(format!("thingspace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut figures = Vec::new();
    let redis = RedisServer::start().map_err(|e| e.to_string())?;
    for (name, keep) in [
        ("7a. listener ingest, channel sink", Keep::Channel),
        (
            "7b. listener ingest, fsynced file sink",
            Keep::File(dir.join("callbacks.ndjson")),
        ),
        ("7c. listener ingest, Redis sink", Keep::Redis(redis.url())),
    ] {
        let listener = sdk_listener(&keep).await?;
        let sdk_url = format!("http://{}/callbacks", listener.local_addr());
        let (mut sdk_rates, mut base_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sdk_lat, mut base_lat) = (Vec::new(), Vec::new());
        // Warm both sides' connections, then alternate who goes first.
        post_all(&client, &sdk_url, &bodies[..bodies.len().min(500)]).await?;
        post_all(&client, &base_url, &bodies[..bodies.len().min(500)]).await?;
        for rep in 0..reps {
            let mut rates = [0.0; 2];
            for sdk_side in [rep % 2 == 0, rep % 2 != 0] {
                let url = if sdk_side { &sdk_url } else { &base_url };
                let (wall, lat) = post_all(&client, url, &bodies).await?;
                let rate = n as f64 / wall;
                if sdk_side {
                    rates[0] = rate;
                    sdk_lat.extend(lat);
                } else {
                    rates[1] = rate;
                    base_lat.extend(lat);
                }
            }
            sdk_rates.push(rates[0]);
            base_rates.push(rates[1]);
            ratios.push(rates[0] / rates[1]);
        }
        let accepted = listener.stats().accepted;
        listener.shutdown().await;
        let expected = (n * reps + bodies.len().min(500)) as u64;
        if accepted != expected {
            return Err(format!(
                "{name}: {accepted} of {expected} callbacks acknowledged"
            ));
        }
        let ratio = median(ratios);
        let reported = !matches!(keep, Keep::Channel);
        figures.push(Figure {
            scenario: format!("{name} ×{n}, 64 senders"),
            metric: "callbacks per second".into(),
            sdk: median(sdk_rates),
            baseline: median(base_rates),
            ratio,
            target: match keep {
                Keep::Channel => "≥ 0.9".into(),
                Keep::File(_) => "reported (each ack after fsync)".into(),
                Keep::Redis(_) => "reported (each ack after XADD)".into(),
            },
            met: reported || ratio >= 0.9,
        });
        let (sdk_p99, base_p99) = (p99(sdk_lat), p99(base_lat));
        figures.push(Figure {
            scenario: format!("{name}: acknowledgement latency"),
            metric: "p99 µs".into(),
            sdk: sdk_p99,
            baseline: base_p99,
            ratio: sdk_p99 / base_p99,
            target: "reported".into(),
            met: true,
        });
    }
    base_task.abort();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

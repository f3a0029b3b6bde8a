//! The `thingspace` binary with `[redis] url` set: commands share credentials through a real
//! Redis on 127.0.0.1 (started here), and `callbacks listen` writes callbacks to it.

#[path = "../../thingspace-redis/tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use thingspace::DeviceId;
use thingspace::mock::{MockServer, Route};

use common::Redis;

/// The binary with `args`, configured by the environment for `server` and Redis at `redis`.
fn command(server: &MockServer, redis: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_thingspace"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("THINGSPACE_REDIS__URL", redis)
        .env("THINGSPACE_REDIS__PREFIX", "cli");
    for (key, value) in server.settings() {
        cmd.env(format!("THINGSPACE_{}", key.to_ascii_uppercase()), value);
    }
    cmd
}

async fn run(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sharing_redis_log_in_once_and_never_end_the_shared_session() {
    let redis = Redis::start();
    redis.fleet("cli").await;
    let server = MockServer::start().await.expect("mock");
    for _ in 0..5 {
        let out = run(command(
            &server,
            &redis.url,
            &["accounts", "get", "0000123456"],
        ))
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(server.count(Route::Token), 1, "one token for five commands");
    assert_eq!(server.count(Route::Login), 1, "one login for five commands");
    assert_eq!(
        server.count(Route::Logout),
        0,
        "a shared session is left open for the next command"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_command_goes_on_with_its_own_credentials() {
    let server = MockServer::start().await.expect("mock");
    let dead = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        format!("redis://127.0.0.1:{port}")
    };
    let out = run(command(&server, &dead, &["accounts", "get", "0000123456"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not shared: it logged in, and out, by itself.
    assert_eq!(server.count(Route::Login), 1);
    assert_eq!(server.count(Route::Logout), 1);
    let bad = run(command(
        &server,
        "http://not-redis",
        &["accounts", "get", "0000123456"],
    ))
    .await;
    assert_eq!(
        bad.status.code(),
        Some(3),
        "a malformed [redis] url is a configuration error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("redis.url"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_listen_writes_each_callback_to_redis_for_any_waiter() {
    let redis = Redis::start();
    let fleet = redis.fleet("cli").await;
    let server = MockServer::start().await.expect("mock");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut listener = command(
        &server,
        &redis.url,
        &[
            "callbacks",
            "listen",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .env("THINGSPACE_CALLBACKS__USERNAME", "ts-callbacks")
    .env("THINGSPACE_CALLBACKS__PASSWORD", "cli-callback-secret")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("listener");
    let body = serde_json::json!({
        "username": "ts-callbacks", "password": "cli-callback-secret", "requestId": "r-cli",
        "deviceIds": [{"id": "1", "kind": "IMEI"}],
        "deviceResponse": {"activateResponse": {"servicePlan": "M2MPlan"}},
        "status": "Success", "callbackCount": 1, "maxCallbackThreshold": 4
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut status = 0;
    for _ in 0..400 {
        if let Ok(r) = client
            .post(format!("http://127.0.0.1:{port}/"))
            .json(&body)
            .send()
            .await
        {
            status = r.status().as_u16();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = listener.kill();
    let _ = listener.wait();
    assert_eq!(status, 200);
    // Another process waits for it through Redis.
    let mut wait = fleet
        .tracker()
        .wait("r-cli", [DeviceId::new("imei", "1")])
        .timeout(Duration::from_secs(10));
    let outcome = wait.next().await.expect("one").expect("delivered");
    assert_eq!(outcome.device.id, "1");
    assert!(wait.next().await.is_none());
}

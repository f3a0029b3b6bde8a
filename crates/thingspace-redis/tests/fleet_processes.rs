//! A fleet of processes (real processes: this test binary started again in a worker role)
//! sharing credentials and a rate limit through a real Redis on 127.0.0.1, against the
//! embedded mock server.
//!
//! Without a test harness: `main` runs each scenario, or a worker's role when started as one.

mod common;

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use futures_util::StreamExt;
use thingspace_callbacks::{Credentials, Listener};
use thingspace_core::DeviceId;
use thingspace_core::{
    ApiRequest, Budget, CachedAuth, Client, ConfigLoader, Credential, CredentialSource, Result,
    StoreKey, transport::ReqwestTransport,
};
use thingspace_mock::{DOCUMENT_ACCOUNT, MockServer, Route};
use thingspace_redis::{RateLimit, RedisFleet, RedisRateLimiter};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use common::Redis;

/// How many worker processes share Redis and the mock.
const PROCESSES: usize = 16;
/// Requests in flight in each worker.
const IN_FLIGHT: usize = 64;
/// The fleet's limit in the rate-limit scenario (scaled down from 100 activations a minute).
const LIMIT: u32 = 20;
const LIMIT_WINDOW: Duration = Duration::from_secs(1);
/// The credentials the mock posts with each callback.
const CALLBACK_USER: &str = "ts-callbacks";
const CALLBACK_PASSWORD: &str = "fleet-callback-secret";
/// Requests each worker asks for under the limit.
const LIMITED_PER_PROCESS: usize = 10;
/// How long a killed waiter's outcomes stay its own.
const LEASE: Duration = Duration::from_secs(3);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--worker") {
        let role = args.next().unwrap_or_default();
        std::process::exit(runtime.block_on(worker(&role)));
    }
    let scenarios: [(&str, ScenarioFn); 9] = [
        (
            "a_fleet_obtains_one_token_and_one_session_per_expiry",
            || Box::pin(one_token_and_one_session_per_expiry()) as Scenario,
        ),
        ("a_wrong_password_is_tried_once_by_the_fleet", || {
            Box::pin(a_wrong_password_is_tried_once()) as Scenario
        }),
        ("a_refresher_killed_mid_refresh_is_taken_over", || {
            Box::pin(a_killed_refresher_is_taken_over()) as Scenario
        }),
        (
            "without_redis_each_process_fetches_its_own_and_shares_again_later",
            || Box::pin(without_redis_each_process_fetches_for_itself()) as Scenario,
        ),
        ("processes_stay_together_under_the_rate_limit", || {
            Box::pin(processes_stay_under_the_rate_limit()) as Scenario
        }),
        ("a_rate_limit_wait_past_the_budget_sends_nothing", || {
            Box::pin(a_wait_past_the_budget_sends_nothing()) as Scenario
        }),
        ("a_retry_counts_against_the_rate_limit", || {
            Box::pin(a_retry_counts_against_the_limit()) as Scenario
        }),
        (
            "outcomes_reach_their_waiters_once_across_listener_and_waiter_restarts",
            || Box::pin(outcomes_reach_their_waiters_once_across_restarts()) as Scenario,
        ),
        (
            "an_outcome_held_by_a_killed_waiter_reaches_its_successor",
            || Box::pin(an_outcome_held_by_a_killed_waiter_reaches_its_successor()) as Scenario,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, scenario) in scenarios {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        runtime.block_on(scenario());
        println!("test {name} ... ok");
    }
}

type Scenario = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;
type ScenarioFn = fn() -> Scenario;

/// The configuration pointing at the mock, from the worker's environment.
fn worker_client(fleet: &RedisFleet) -> Client {
    worker_client_with(fleet, None)
}

/// As [`worker_client`], held to `limiter` when given.
fn worker_client_with(fleet: &RedisFleet, limiter: Option<RedisRateLimiter>) -> Client {
    let mut loader = ConfigLoader::new().without_default_file().without_env();
    for (key, value) in std::env::vars().filter_map(|(k, v)| {
        k.strip_prefix("FLEET_SET_")
            .map(|k| (k.to_ascii_lowercase(), v))
    }) {
        loader = loader.set(key, value);
    }
    let config = loader
        .load()
        .and_then(|l| l.thingspace())
        .expect("configuration");
    let transport = Arc::new(ReqwestTransport::new().expect("transport"));
    let store = Arc::new(fleet.credentials());
    let mut pipeline = config.pipeline(transport);
    if let Some(limiter) = limiter {
        pipeline = pipeline.with_interceptor(Arc::new(limiter));
    }
    Client::thingspace_with_pipeline(&config, pipeline, Some(store)).expect("client")
}

fn account_request() -> ApiRequest {
    ApiRequest::get("m2m.accounts.get", "/m2m/v1/accounts/{accountname}")
        .path_param("accountname", DOCUMENT_ACCOUNT)
}

/// A worker process: its role's work, answering the parent on stdout.
async fn worker(role: &str) -> i32 {
    let url = std::env::var("FLEET_REDIS").expect("FLEET_REDIS");
    let fleet = RedisFleet::connect(&url, "fleet").await.expect("redis");
    match role {
        "requests" => {
            let client = worker_client(&fleet);
            let mut stdin = BufReader::new(tokio::io::stdin()).lines();
            for round in 1..=2 {
                let request = account_request();
                let sent =
                    futures_util::future::join_all((0..IN_FLIGHT).map(|_| client.send(&request)))
                        .await;
                if let Some(e) = sent.iter().find_map(|r| r.as_ref().err()) {
                    println!("failed: {e}");
                    return 1;
                }
                println!("round {round} ok");
                if round == 1 && stdin.next_line().await.ok().flatten().is_none() {
                    return 1;
                }
            }
            0
        }
        "refused" => match client_send(&worker_client(&fleet)).await {
            Err(e) if e.kind() == thingspace_core::ErrorKind::Auth => {
                println!("refused");
                0
            }
            other => {
                println!("expected a refusal, got {other:?}");
                1
            }
        },
        "limited" => {
            let limiter =
                fleet.rate_limiter([RateLimit::new("m2m.accounts.get", LIMIT, LIMIT_WINDOW)]);
            let client = worker_client_with(&fleet, Some(limiter));
            let request = account_request().for_account(DOCUMENT_ACCOUNT);
            let sent = futures_util::future::join_all(
                (0..LIMITED_PER_PROCESS).map(|_| client.send(&request)),
            )
            .await;
            if let Some(e) = sent.iter().find_map(|r| r.as_ref().err()) {
                println!("failed: {e}");
                return 1;
            }
            println!("done");
            0
        }
        "listener" => {
            // A listener replica writing every callback to Redis, until killed.
            let running = Listener::builder(Credentials::new(CALLBACK_USER, CALLBACK_PASSWORD))
                .sink(fleet.sink())
                .build()
                .bind("127.0.0.1:0")
                .await
                .expect("listening");
            println!("listening {}", running.local_addr().port());
            std::future::pending::<()>().await;
            1
        }
        "waiter" => {
            // Waits for the outcomes of one request, one line per device.
            let request = std::env::var("FLEET_REQUEST").expect("FLEET_REQUEST");
            let devices: Vec<DeviceId> = std::env::var("FLEET_DEVICES")
                .expect("FLEET_DEVICES")
                .split(',')
                .map(|id| DeviceId::new("imei", id))
                .collect();
            // A holder stops at its first outcome, as a job killed while it handles one.
            let holds = std::env::var_os("FLEET_HOLD").is_some();
            println!("waiting");
            let mut outcomes = fleet
                .tracker()
                .lease(LEASE)
                .wait(&request, devices)
                .timeout(Duration::from_secs(120));
            while let Some(outcome) = outcomes.next().await {
                match outcome {
                    Ok(o) if holds => {
                        println!("outcome {}", o.device.id);
                        std::future::pending::<()>().await;
                    }
                    Ok(o) => println!("outcome {}", o.device.id),
                    Err(e) => {
                        println!("failed: {e}");
                        return 1;
                    }
                }
            }
            println!("done");
            0
        }
        "hang" => {
            // Takes the refresh lock and never finishes: killed by the parent mid-refresh.
            let auth = CachedAuth::new(Hangs).with_store(Arc::new(fleet.credentials()), key());
            let _ = auth.credential().await;
            1
        }
        _ => 2,
    }
}

async fn client_send(client: &Client) -> Result<thingspace_core::Response> {
    client.send(&account_request()).await
}

fn key() -> StoreKey {
    StoreKey::new("test.token", &["app"], &["secret"])
}

/// A source that announces its fetch and never finishes it.
#[derive(Debug)]
struct Hangs;

#[async_trait]
impl CredentialSource for Hangs {
    async fn fetch(&self, _: &Budget) -> Result<Credential> {
        println!("fetching");
        std::future::pending().await
    }
}

/// A source counting its fetches.
#[derive(Debug, Default)]
struct Counting(AtomicUsize);

#[async_trait]
impl CredentialSource for Counting {
    async fn fetch(&self, _: &Budget) -> Result<Credential> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Credential::bearer(&format!("local-{n}"), Some(Duration::from_secs(3600)))
    }
}

/// A worker process of `role`, with the mock's settings (`password` replaced when given).
fn spawn(
    role: &str,
    redis: &Redis,
    mock: Option<&MockServer>,
    password: Option<&str>,
) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(std::env::current_exe().expect("exe"));
    command
        .args(["--worker", role])
        .env("FLEET_REDIS", &redis.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (key, value) in mock.map(MockServer::settings).unwrap_or_default() {
        if key.contains('.') {
            continue;
        }
        let value = match (key, password) {
            ("password", Some(p)) => p.to_owned(),
            _ => value,
        };
        command.env(format!("FLEET_SET_{}", key.to_ascii_uppercase()), value);
    }
    command.spawn().expect("worker process")
}

/// The next line a worker writes, failing the test with what it said otherwise.
async fn expect_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    want: &str,
) {
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the worker answers within a minute")
        .expect("stdout")
        .unwrap_or_default();
    assert_eq!(line, want, "a worker said {line:?}");
}

async fn one_token_and_one_session_per_expiry() {
    let redis = Redis::start();
    redis.fleet("fleet").await;
    let mock = MockServer::start().await.expect("mock");
    let mut workers: Vec<_> = (0..PROCESSES)
        .map(|_| spawn("requests", &redis, Some(&mock), None))
        .collect();
    let mut outputs = Vec::new();
    for w in &mut workers {
        let mut lines = BufReader::new(w.stdout.take().expect("stdout")).lines();
        expect_line(&mut lines, "round 1 ok").await;
        outputs.push(lines);
    }
    assert_eq!(mock.count(Route::Token), 1, "one token for the fleet");
    assert_eq!(mock.count(Route::Login), 1, "one login for the fleet");
    assert_eq!(mock.count(Route::Account), PROCESSES * IN_FLIGHT);

    // The token and the session end on the server mid-run.
    mock.expire_tokens();
    mock.expire_sessions();
    for w in &mut workers {
        let stdin = w.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").await.expect("go");
        stdin.flush().await.expect("flush");
    }
    for lines in &mut outputs {
        expect_line(lines, "round 2 ok").await;
    }
    for w in &mut workers {
        assert!(w.wait().await.expect("exit").success());
    }
    assert_eq!(
        mock.count(Route::Token),
        2,
        "one more token for the fleet after the expiry"
    );
    assert_eq!(
        mock.count(Route::Login),
        2,
        "one more login for the fleet after the expiry"
    );
    assert_eq!(
        mock.count(Route::Logout),
        0,
        "a shared session is never ended by one of its users"
    );
}

async fn a_wrong_password_is_tried_once() {
    let redis = Redis::start();
    redis.fleet("fleet").await;
    let mock = MockServer::start().await.expect("mock");
    let mut workers: Vec<_> = (0..PROCESSES)
        .map(|_| spawn("refused", &redis, Some(&mock), Some("not-the-password")))
        .collect();
    for w in &mut workers {
        let mut lines = BufReader::new(w.stdout.take().expect("stdout")).lines();
        expect_line(&mut lines, "refused").await;
        assert!(w.wait().await.expect("exit").success());
    }
    assert_eq!(mock.count(Route::Login), 1, "one login attempt in all");
    assert_eq!(mock.count(Route::Account), 0);
}

async fn a_killed_refresher_is_taken_over() {
    let redis = Redis::start();
    let fleet = redis.fleet("fleet").await;
    let mut holder = spawn("hang", &redis, None, None);
    let mut lines = BufReader::new(holder.stdout.take().expect("stdout")).lines();
    expect_line(&mut lines, "fetching").await;
    let auth = CachedAuth::new(Counting::default()).with_store(
        Arc::new(fleet.credentials().lease(Duration::from_secs(1))),
        key(),
    );
    // While the holder lives, it renews its 3 s lease: a wait longer than the lease ends with
    // the waiter's own budget, and nothing is fetched.
    let short = Budget::new(Some(Duration::from_secs(5)));
    let e = auth
        .credential_within(&short)
        .await
        .expect_err("the live holder keeps the lock past its lease");
    assert!(e.is_timeout(), "{e}");
    assert_eq!(auth.source().0.load(Ordering::SeqCst), 0);
    // The holder dies mid-refresh, holding the lock.
    holder.kill().await.expect("kill");
    // Without the lease's end this would wait for ever; the budget bounds the test.
    let budget = Budget::new(Some(Duration::from_secs(30)));
    let credential = auth
        .credential_within(&budget)
        .await
        .expect("taken over within the lease");
    assert_eq!(auth.source().0.load(Ordering::SeqCst), 1);
    assert!(!credential.headers().is_empty());
}

async fn without_redis_each_process_fetches_for_itself() {
    let mut redis = Redis::start();
    let fleet = redis.fleet("fleet").await;
    let store = Arc::new(fleet.credentials());
    let one = CachedAuth::new(Counting::default()).with_store(store.clone(), key());
    redis.stop();
    // Redis is gone: the process goes on with a credential of its own.
    one.credential().await.expect("a local credential");
    assert_eq!(one.source().0.load(Ordering::SeqCst), 1);
    // Redis returns: after its 5 s without Redis, the store reconnects by itself and shares
    // again.
    redis.restart();
    redis.fleet("fleet").await;
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let two = CachedAuth::new(Counting::default()).with_store(store.clone(), key());
    let three = CachedAuth::new(Counting::default()).with_store(store, key());
    let a = two.credential().await.expect("shared again");
    let b = three.credential().await.expect("from the store");
    assert!(a.same_as(&b));
    assert_eq!(
        two.source().0.load(Ordering::SeqCst) + three.source().0.load(Ordering::SeqCst),
        1
    );
}

async fn processes_stay_under_the_rate_limit() {
    let redis = Redis::start();
    redis.fleet("fleet").await;
    let mock = MockServer::start().await.expect("mock");
    let started = std::time::Instant::now();
    let mut workers: Vec<_> = (0..PROCESSES)
        .map(|_| spawn("limited", &redis, Some(&mock), None))
        .collect();
    for w in &mut workers {
        let mut lines = BufReader::new(w.stdout.take().expect("stdout")).lines();
        expect_line(&mut lines, "done").await;
        assert!(w.wait().await.expect("exit").success());
    }
    let total = PROCESSES * LIMITED_PER_PROCESS;
    assert_eq!(
        mock.count(Route::Account),
        total,
        "every request was sent once"
    );
    // 160 requests at 20 a second: the first 20 at once, then 20 per window. A limit that did
    // not hold the fleet together would end in a fraction of a second; a slow machine only
    // takes longer. One window of tolerance.
    let windows = u32::try_from(total).expect("small") / LIMIT - 1;
    let least = LIMIT_WINDOW * (windows - 1);
    assert!(
        started.elapsed() >= least,
        "{total} requests under a limit of {LIMIT} per {LIMIT_WINDOW:?} took {:?}, less than {least:?}",
        started.elapsed()
    );
}

async fn a_wait_past_the_budget_sends_nothing() {
    let redis = Redis::start();
    let fleet = redis.fleet("fleet").await;
    let limiter = fleet.rate_limiter([RateLimit::per_minute("m2m.devices.activate", 1)]);
    let budget = Budget::new(Some(Duration::from_secs(5)));
    limiter
        .admit("m2m.devices.activate", Some("acct"), &budget)
        .await
        .expect("the first request of the minute");
    // Another account has a window of its own; an operation without a limit is not held.
    limiter
        .admit("m2m.devices.activate", Some("other"), &budget)
        .await
        .expect("another account");
    limiter
        .admit("m2m.accounts.get", Some("acct"), &budget)
        .await
        .expect("no limit");
    let e = limiter
        .admit("m2m.devices.activate", Some("acct"), &budget)
        .await
        .expect_err("the window is full for a minute, the budget is 5 s");
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("nothing was sent"), "{e}");
    assert!(e.to_string().contains("`acct`"), "{e}");
}

/// A client of `mock` in this process, sharing credentials through `fleet`, held to `limiter`.
fn mock_client(mock: &MockServer, fleet: &RedisFleet, limiter: Option<RedisRateLimiter>) -> Client {
    let mut loader = ConfigLoader::new().without_default_file().without_env();
    for (key, value) in mock.settings() {
        loader = loader.set(key, value);
    }
    let config = loader.load().and_then(|l| l.thingspace()).expect("config");
    let transport = Arc::new(ReqwestTransport::new().expect("transport"));
    let mut pipeline = config.pipeline(transport);
    if let Some(limiter) = limiter {
        pipeline = pipeline.with_interceptor(Arc::new(limiter));
    }
    Client::thingspace_with_pipeline(&config, pipeline, Some(Arc::new(fleet.credentials())))
        .expect("client")
}

/// A listener replica process and the port it listens on.
async fn start_listener(redis: &Redis) -> (tokio::process::Child, u16) {
    let mut child = spawn("listener", redis, None, None);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines.next_line().await.expect("stdout").unwrap_or_default();
    let port = line
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a listener said {line:?}"));
    (child, port)
}

/// A waiter process for `request`'s `devices`, and its output.
async fn start_waiter(
    redis: &Redis,
    request: &str,
    devices: &[String],
) -> (
    tokio::process::Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    start_waiter_with(redis, request, devices, false).await
}

/// As [`start_waiter`]; a holder stops at its first outcome, without asking for the next.
async fn start_waiter_with(
    redis: &Redis,
    request: &str,
    devices: &[String],
    holds: bool,
) -> (
    tokio::process::Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let mut command = tokio::process::Command::new(std::env::current_exe().expect("exe"));
    if holds {
        command.env("FLEET_HOLD", "1");
    }
    command
        .args(["--worker", "waiter"])
        .env("FLEET_REDIS", &redis.url)
        .env("FLEET_REQUEST", request)
        .env("FLEET_DEVICES", devices.join(","))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("waiter");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    expect_line(&mut lines, "waiting").await;
    (child, lines)
}

/// The load balancer in front of the listener replicas: each connection to the next replica
/// in turn (a dead one refuses it, and the mock sends that callback again). Sending on the
/// returned channel closes every open connection, as a load balancer that noticed a dead
/// replica does, so the next deliveries open new ones.
async fn load_balancer(
    backends: Arc<std::sync::Mutex<Vec<u16>>>,
) -> (u16, tokio::sync::watch::Sender<()>) {
    let front = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("front");
    let port = front.local_addr().expect("addr").port();
    let (reset, resets) = tokio::sync::watch::channel(());
    tokio::spawn(async move {
        let mut turn = 0usize;
        while let Ok((mut inbound, _)) = front.accept().await {
            let backend = {
                let ports = backends.lock().expect("lock");
                turn += 1;
                ports[turn % ports.len()]
            };
            let mut reset = resets.clone();
            reset.mark_unchanged();
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                {
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = reset.changed() => {}
                    }
                }
            });
        }
    });
    (port, reset)
}

async fn outcomes_reach_their_waiters_once_across_restarts() {
    const REQUESTS: usize = 4;
    const DEVICES: usize = 20;
    let redis = Redis::start();
    redis.fleet("fleet").await;
    let mock = MockServer::start_with(
        thingspace_mock::MockConfig::default()
            .callback_delay(Duration::from_millis(40))
            .callback_retry_interval(Duration::from_millis(100)),
    )
    .await
    .expect("mock");
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(start_listener(&redis).await);
    }
    let backends = Arc::new(std::sync::Mutex::new(
        listeners.iter().map(|(_, port)| *port).collect::<Vec<_>>(),
    ));
    let (front, reset_connections) = load_balancer(backends.clone()).await;
    mock.register_listener(
        DOCUMENT_ACCOUNT,
        "CarrierService",
        thingspace_mock::Listener {
            url: format!("http://127.0.0.1:{front}/callbacks"),
            username: Some(CALLBACK_USER.to_owned()),
            password: Some(CALLBACK_PASSWORD.to_owned()),
        },
    );

    // Four activations, each awaited by a process of its own.
    let fleet = redis.fleet("fleet").await;
    let client = mock_client(&mock, &fleet, None);
    // Held back until every waiter runs, so the restarts below happen mid-delivery.
    mock.pause_callbacks();
    let mut requests = Vec::new();
    for r in 0..REQUESTS {
        let devices: Vec<String> = (0..DEVICES).map(|d| format!("35{r:02}{d:011}")).collect();
        let body = serde_json::json!({
            "accountName": DOCUMENT_ACCOUNT,
            "servicePlan": "M2MPlan",
            "mdnZipCode": "94203",
            "devices": devices.iter().map(|id| serde_json::json!({"deviceIds": [{"kind": "imei", "id": id}]})).collect::<Vec<_>>(),
        });
        let answer = client
            .send(
                &ApiRequest::post("m2m.devices.activate", "/m2m/v1/devices/actions/activate")
                    .json(&body),
            )
            .await
            .expect("activated");
        let id =
            serde_json::from_slice::<serde_json::Value>(&answer.body).expect("json")["requestId"]
                .as_str()
                .expect("requestId")
                .to_owned();
        requests.push((id, devices));
    }
    let mut waiters = Vec::new();
    for (id, devices) in &requests {
        waiters.push(start_waiter(&redis, id, devices).await);
    }
    mock.resume_callbacks();
    // Held again once request 0 has three outcomes through, so most deliveries (the four
    // requests go out side by side) are still to come when the replica and the waiter die.
    let first_id = requests[0].0.clone();
    tokio::time::timeout(Duration::from_secs(30), async {
        while mock
            .callback_deliveries()
            .iter()
            .filter(|d| d.request_id == first_id && d.is_acknowledged())
            .count()
            < 3
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("request 0's first outcomes were delivered");
    mock.pause_callbacks();

    // Mid-run: a listener replica dies and comes back on another port; a waiter dies and is
    // started again.
    let mut seen: Vec<Vec<String>> = vec![Vec::new(); REQUESTS];
    let first = &mut waiters[0].1;
    for _ in 0..3 {
        let line = first.next_line().await.expect("stdout").unwrap_or_default();
        seen[0].push(
            line.strip_prefix("outcome ")
                .unwrap_or_else(|| panic!("waiter 0 said {line:?}"))
                .to_owned(),
        );
    }
    // Deliveries held while the waiter dies, so it dies idle and each device is seen once (an
    // outcome it took and its caller had not finished with would come again to its successor:
    // see the holder scenario); what it wrote before dying is read to the end of its output.
    tokio::time::sleep(Duration::from_millis(300)).await;
    waiters[0].0.kill().await.expect("kill waiter");
    while let Ok(Some(line)) = waiters[0].1.next_line().await {
        if let Some(device) = line.strip_prefix("outcome ") {
            seen[0].push(device.to_owned());
        }
    }
    listeners[1].0.kill().await.expect("kill listener");
    // The deliveries still to come open new connections, one in three to the dead replica.
    reset_connections.send_replace(());
    mock.resume_callbacks();
    // The dead replica refuses a delivery (the mock will send it again) before it is replaced.
    tokio::time::timeout(Duration::from_secs(30), async {
        while !mock
            .callback_deliveries()
            .iter()
            .any(|d| d.outcome.is_none())
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a delivery reached the dead replica mid-run");
    let (replacement, port) = start_listener(&redis).await;
    backends.lock().expect("lock")[1] = port;
    listeners[1] = (replacement, port);
    waiters[0] = start_waiter(&redis, &requests[0].0, &requests[0].1).await;

    for (i, (_, lines)) in waiters.iter_mut().enumerate() {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .expect("the waiter finishes")
                .expect("stdout")
                .unwrap_or_default();
            if line == "done" {
                break;
            }
            seen[i].push(
                line.strip_prefix("outcome ")
                    .unwrap_or_else(|| panic!("waiter {i} said {line:?}"))
                    .to_owned(),
            );
        }
    }
    for (i, (_, devices)) in requests.iter().enumerate() {
        let mut got = seen[i].clone();
        got.sort();
        let mut want = devices.clone();
        want.sort();
        assert_eq!(got, want, "request {i}: every device once, none twice");
    }
    for (child, _) in &mut listeners {
        let _ = child.kill().await;
    }
}

async fn a_retry_counts_against_the_limit() {
    let redis = Redis::start();
    let fleet = redis.fleet("fleet").await;
    let mock = MockServer::start().await.expect("mock");
    let limiter = fleet.rate_limiter([RateLimit::per_minute("m2m.accounts.get", 2)]);
    let client = mock_client(&mock, &fleet, Some(limiter));
    // One 503, then the answer: two requests reach the service, two of the minute's two.
    mock.inject_times(Route::Account, thingspace_mock::Fault::Status(503), 1);
    client
        .send(&account_request().for_account(DOCUMENT_ACCOUNT))
        .await
        .expect("retried");
    assert_eq!(mock.count(Route::Account), 2);
    let e = client
        .send_within(
            &account_request().for_account(DOCUMENT_ACCOUNT),
            &Budget::new(Some(Duration::from_secs(3))),
        )
        .await
        .expect_err("the retry used the minute's second request");
    assert!(e.is_timeout(), "{e}");
    assert_eq!(mock.count(Route::Account), 2, "nothing more was sent");
}

async fn an_outcome_held_by_a_killed_waiter_reaches_its_successor() {
    let redis = Redis::start();
    let fleet = redis.fleet("fleet").await;
    let devices: Vec<String> = (1..=3).map(|d| format!("3500000000000{d}")).collect();
    let (mut holder, mut held) = start_waiter_with(&redis, "r", &devices, true).await;
    for id in &devices {
        let body = serde_json::json!({
            "username": CALLBACK_USER, "password": CALLBACK_PASSWORD, "requestId": "r",
            "deviceIds": [{"id": id, "kind": "IMEI"}],
            "deviceResponse": {"activateResponse": {"servicePlan": "M2MPlan"}},
            "status": "Success", "callbackCount": 1, "maxCallbackThreshold": 4,
        });
        let callback =
            thingspace_callbacks::decode_callback(body.to_string().as_bytes()).expect("a callback");
        thingspace_callbacks::Sink::accept(&fleet.sink(), &callback)
            .await
            .expect("kept in Redis");
    }
    // The holder's caller has its first outcome, and the other two are taken and on their
    // way to it, when its process is killed.
    let line = held.next_line().await.expect("stdout").unwrap_or_default();
    let first = line
        .strip_prefix("outcome ")
        .unwrap_or_else(|| panic!("the holder said {line:?}"))
        .to_owned();
    let mut conn = redis::Client::open(redis.url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connected");
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let marks: std::collections::HashMap<String, String> =
                redis::AsyncCommands::hgetall(&mut conn, "fleet:delivered:r")
                    .await
                    .expect("marks");
            if marks.len() == devices.len() && marks.values().all(|m| m.starts_with("taken:")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the holder took every outcome");
    holder.kill().await.expect("kill the holder");

    // Its successor receives every outcome once, the one the killed caller held included,
    // once the dead waiter's lease has ended.
    let (_successor, mut lines) = start_waiter(&redis, "r", &devices).await;
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the successor finishes")
            .expect("stdout")
            .unwrap_or_default();
        if line == "done" {
            break;
        }
        seen.push(
            line.strip_prefix("outcome ")
                .unwrap_or_else(|| panic!("the successor said {line:?}"))
                .to_owned(),
        );
    }
    assert!(
        seen.contains(&first),
        "{first} was held by the killed waiter: {seen:?}"
    );
    seen.sort();
    assert_eq!(seen, devices, "every device once");
}

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
/// Requests each worker asks for under the limit.
const LIMITED_PER_PROCESS: usize = 10;

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
    let scenarios: [(&str, ScenarioFn); 6] = [
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
    // The holder dies mid-refresh, holding the lock.
    holder.kill().await.expect("kill");
    let auth = CachedAuth::new(Counting::default()).with_store(
        Arc::new(fleet.credentials().lease(Duration::from_secs(1))),
        key(),
    );
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
    // Redis returns: the store reconnects by itself and shares again.
    redis.restart();
    redis.fleet("fleet").await;
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

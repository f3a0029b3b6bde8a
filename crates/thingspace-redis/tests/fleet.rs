//! The fleet against a real Redis on 127.0.0.1 (started here, on a free port, and stopped):
//! callbacks received by any replica, each device's outcome awaited once from any process.

mod common;

use std::time::Duration;

use common::Redis;
use futures_util::StreamExt;
use serde_json::json;
use thingspace_callbacks::{Credentials, Listener, RunningListener, WaitError};
use thingspace_core::DeviceId;
use thingspace_redis::RedisFleet;

const USER: &str = "ts-callbacks";
const PASSWORD: &str = "fleet-callback-secret";

async fn replica(fleet: &RedisFleet) -> RunningListener {
    Listener::builder(Credentials::new(USER, PASSWORD))
        .sink(fleet.sink())
        .build()
        .bind("127.0.0.1:0")
        .await
        .expect("listening")
}

fn message(request: &str, device: &str, status: &str, count: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "username": USER, "password": PASSWORD, "requestId": request,
        "deviceIds": [{"id": device, "kind": "IMEI"}],
        "deviceResponse": {"activateResponse": {"servicePlan": "M2MPlan"}},
        "status": status, "callbackCount": count, "maxCallbackThreshold": 4
    }))
    .unwrap_or_default()
}

async fn post(to: &RunningListener, body: Vec<u8>) -> u16 {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("http://{}/", to.local_addr()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn imei(id: &str) -> DeviceId {
    DeviceId::new("imei", id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_received_by_any_replica_reach_the_waiter_once() {
    let redis = Redis::start();
    let fleet = redis.fleet("t1").await;
    let (a, b) = (replica(&fleet).await, replica(&fleet).await);
    // One outcome before anyone waits, on replica A.
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    // The waiter runs in "another process": its own connection.
    let waiter = redis.fleet("t1").await.tracker();
    let mut outcomes = waiter
        .wait("r", [imei("1"), imei("2"), imei("3")])
        .timeout(Duration::from_secs(30));
    // The rest on either replica, each resent to the other one at once.
    let sends = [
        (&a, "2", "Success", 1),
        (&b, "2", "Success", 2),
        (&b, "3", "Failed", 1),
        (&a, "3", "Failed", 2),
    ]
    .map(|(to, id, status, count)| post(to, message("r", id, status, count)));
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let mut seen = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        let outcome = outcome.expect("every device in time");
        seen.push((outcome.device.id.clone(), outcome.is_success()));
    }
    seen.sort();
    assert_eq!(
        seen,
        [("1".into(), true), ("2".into(), true), ("3".into(), false)],
        "each device once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_waiter_gets_the_rest_and_a_second_waiter_gets_nothing_twice() {
    let redis = Redis::start();
    let fleet = redis.fleet("t2").await;
    let a = replica(&fleet).await;
    let devices = [imei("1"), imei("2"), imei("3")];
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    {
        let mut first = fleet.tracker().wait("r", devices.clone());
        let got = first
            .next()
            .await
            .and_then(Result::ok)
            .expect("the first device");
        assert_eq!(got.device.id, "1");
        // The first waiter stops here (a restart).
    }
    assert_eq!(post(&a, message("r", "2", "Success", 1)).await, 200);
    assert_eq!(
        post(&a, message("r", "1", "Success", 2)).await,
        200,
        "a resend"
    );
    let mut second = fleet
        .tracker()
        .wait("r", devices.clone())
        .timeout(Duration::from_secs(30));
    let got = second
        .next()
        .await
        .and_then(Result::ok)
        .expect("the second device");
    assert_eq!(
        got.device.id, "2",
        "device 1 was delivered before the restart"
    );
    assert_eq!(post(&a, message("r", "3", "Success", 1)).await, 200);
    let got = second
        .next()
        .await
        .and_then(Result::ok)
        .expect("the third device");
    assert_eq!(got.device.id, "3");
    assert!(second.next().await.is_none(), "every device reported");

    // A wait for a request whose devices all reported elsewhere ends at once, empty.
    let mut third = fleet
        .tracker()
        .wait("r", devices)
        .timeout(Duration::from_secs(30));
    assert!(third.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_keep_for_keeps_the_outcomes() {
    let redis = Redis::start();
    let fleet = redis.fleet("t4").await.keep_for(Duration::MAX);
    let a = replica(&fleet).await;
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    let mut wait = fleet
        .tracker()
        .wait("r", [imei("1")])
        .timeout(Duration::from_secs(10));
    assert!(
        wait.next().await.is_some_and(|o| o.is_ok()),
        "an expiry that overflowed would have deleted the outcome"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_names_the_pending_devices_and_redis_down_is_a_503_until_it_returns() {
    let mut redis = Redis::start();
    let fleet = redis.fleet("t3").await;
    let a = replica(&fleet).await;
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    let mut wait = fleet
        .tracker()
        .wait("r", [imei("1"), imei("2")])
        .timeout(Duration::from_secs(2));
    assert!(wait.next().await.and_then(Result::ok).is_some());
    match wait.next().await {
        Some(Err(WaitError::TimedOut { pending, .. })) => assert_eq!(pending, [imei("2")]),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Redis goes away: the listener refuses with 503, so ThingSpace sends the callback again.
    redis.stop();
    assert_eq!(post(&a, message("r", "2", "Success", 1)).await, 503);
    assert_eq!(a.stats().unavailable, 1);
    // Redis returns: ThingSpace's resend is kept, and reaches a waiter.
    redis.restart();
    redis.fleet("t3").await;
    let mut kept = 0;
    for _ in 0..100 {
        kept = post(&a, message("r", "2", "Success", 2)).await;
        if kept == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        kept, 200,
        "the listener's connection to Redis came back by itself"
    );
    let mut wait = fleet
        .tracker()
        .wait("r", [imei("2")])
        .timeout(Duration::from_secs(10));
    let outcome = wait.next().await.expect("one").expect("delivered");
    assert_eq!(outcome.callback_count, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_waits_share_a_request_without_losing_or_doubling_an_outcome() {
    let redis = Redis::start();
    let fleet = redis.fleet("t5").await;
    let a = replica(&fleet).await;
    // Two waits for different devices of one request, in two "processes".
    let first = redis.fleet("t5").await.tracker();
    let second = redis.fleet("t5").await.tracker();
    let one = first
        .wait("r", [imei("1")])
        .timeout(Duration::from_secs(30));
    let two = second
        .wait("r", [imei("2")])
        .timeout(Duration::from_secs(30));
    for (id, count) in [("2", 1), ("1", 1), ("2", 2), ("1", 2)] {
        assert_eq!(post(&a, message("r", id, "Success", count)).await, 200);
    }
    let (one, two): (Vec<_>, Vec<_>) = tokio::join!(one.collect(), two.collect());
    let ids = |v: &Vec<Result<thingspace_callbacks::DeviceOutcome, WaitError>>| -> Vec<String> {
        v.iter()
            .map(|o| o.as_ref().map(|o| o.device.id.clone()).unwrap_or_default())
            .collect()
    };
    assert_eq!(
        ids(&one),
        ["1"],
        "each wait gets its own device, even read by the other"
    );
    assert_eq!(ids(&two), ["2"]);

    // Two waits for the same device: it is delivered once, to one of them.
    let x = first
        .wait("s", [imei("9")])
        .timeout(Duration::from_secs(30));
    let y = second
        .wait("s", [imei("9")])
        .timeout(Duration::from_secs(30));
    assert_eq!(post(&a, message("s", "9", "Success", 1)).await, 200);
    assert_eq!(post(&a, message("s", "9", "Success", 2)).await, 200);
    let (x, y): (Vec<_>, Vec<_>) = tokio::join!(x.collect(), y.collect());
    let delivered = x.iter().chain(&y).filter(|o| o.is_ok()).count();
    assert_eq!(delivered, 1, "{x:?} {y:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_an_error_not_a_hang() {
    // Accepts connections and says nothing, as a half-open connection after a failover does.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let addr = silent.local_addr().expect("an address");
    let _holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let bounded = tokio::time::timeout(Duration::from_secs(20), async {
        // The connection may open (the server accepted it); what is asked of it then fails.
        let Ok(fleet) = RedisFleet::connect(&format!("redis://{addr}"), "t6").await else {
            return true;
        };
        let callback = thingspace_callbacks::decode_callback(&message("r", "1", "Success", 1))
            .expect("a callback");
        let kept = thingspace_callbacks::Sink::accept(&fleet.sink(), &callback).await;
        let mut wait = fleet
            .tracker()
            .wait("r", [imei("1")])
            .timeout(Duration::from_secs(5));
        let waited = wait.next().await;
        kept.is_err() && matches!(waited, Some(Err(WaitError::TimedOut { .. })))
    })
    .await;
    assert_eq!(
        bounded.ok(),
        Some(true),
        "a silent server must fail in bounded time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_url_is_understood_and_a_failed_handshake_is_an_error() {
    let redis = Redis::start();
    // Wait for the plain server, then speak TLS to it: the handshake fails, nothing panics.
    redis.fleet("tls").await;
    let tls = redis.url.replace("redis://", "rediss://");
    let e = RedisFleet::connect(&tls, "tls")
        .await
        .expect_err("a plain server does not speak TLS");
    assert!(
        !e.to_string().contains("not a Redis URL"),
        "rediss:// is supported: {e}"
    );
    assert!(
        RedisFleet::connect("http://127.0.0.1:1", "x")
            .await
            .expect_err("not redis")
            .to_string()
            .contains("not a Redis URL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_connects_and_a_wrong_password_is_an_error_that_does_not_repeat_it() {
    let redis = Redis::start_with_acl_user(&[]);
    let fleet = redis.fleet_as_acl_user("acl").await;
    let a = replica(&fleet).await;
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    let mut wait = fleet
        .tracker()
        .wait("r", [imei("1")])
        .timeout(Duration::from_secs(10));
    assert!(wait.next().await.and_then(Result::ok).is_some());
    // Without the user's password: refused, and the error does not repeat what was sent.
    let e = RedisFleet::connect(&redis.url_as("wrong-pass-xyz"), "acl")
        .await
        .expect_err("wrong password");
    assert!(!e.to_string().contains("wrong-pass-xyz"), "{e}");
    assert!(!format!("{fleet:?}").contains(common::ACL_PASSWORD));
    assert!(
        RedisFleet::connect(&redis.url, "acl").await.is_err(),
        "the default user is off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_costs_one_timeout_not_one_per_request() {
    let redis = Redis::start();
    let fleet = redis.fleet("frozen").await;
    let limiter = fleet.rate_limiter([thingspace_redis::RateLimit::per_minute("op", 1000)]);
    let budget = thingspace_core::Budget::new(Some(Duration::from_secs(30)));
    limiter.admit("op", None, &budget).await.expect("admitted");
    redis.freeze(true);
    // The first request after the partition waits for Redis's answer (2 s) and goes on
    // without the limit; the next ones do not ask Redis for a while.
    let started = std::time::Instant::now();
    limiter.admit("op", None, &budget).await.expect("not held");
    let first = started.elapsed();
    let started = std::time::Instant::now();
    for _ in 0..10 {
        limiter.admit("op", None, &budget).await.expect("not held");
    }
    let next_ten = started.elapsed();
    redis.freeze(false);
    assert!(
        first >= Duration::from_secs(1),
        "the first waited for Redis: {first:?}"
    );
    assert!(
        next_ten < first / 2,
        "ten more requests took {next_ten:?}, one alone {first:?}: Redis was asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_user_that_may_not_run_the_limit_script_is_an_error_not_a_silent_pass() {
    let redis = Redis::start_with_acl_user(&["-eval"]);
    let limiter = redis
        .fleet_as_acl_user("noeval")
        .await
        .rate_limiter([thingspace_redis::RateLimit::per_minute("op", 10)]);
    let budget = thingspace_core::Budget::new(Some(Duration::from_secs(5)));
    let e = limiter
        .admit("op", None, &budget)
        .await
        .expect_err("the script is refused");
    assert_eq!(e.kind(), thingspace_core::ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("nothing was sent"), "{e}");
    assert!(!e.to_string().contains(common::ACL_PASSWORD), "{e}");
}

/// The mark a request's `delivered` hash holds for `device`, read from Redis directly.
async fn mark(redis: &Redis, prefix: &str, request: &str, device: &str) -> Option<String> {
    let client = redis::Client::open(redis.url.as_str()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connected");
    redis::AsyncCommands::hget(
        &mut conn,
        format!("{prefix}:delivered:{request}"),
        format!("imei:{device}"),
    )
    .await
    .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_a_live_waiter_holds_is_neither_taken_again_nor_lost() {
    let redis = Redis::start();
    let fleet = redis.fleet("t7").await;
    let a = replica(&fleet).await;
    let lease = Duration::from_secs(3);
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    let mut holder = fleet.tracker().lease(lease).wait("r", [imei("1")]);
    let got = holder
        .next()
        .await
        .and_then(Result::ok)
        .expect("the outcome");
    assert_eq!(got.device.id, "1");

    // The holder's caller takes its time, past the lease (which its reader renews): a waiter
    // in another process does not take the outcome meanwhile.
    let other = redis.fleet("t7").await.tracker().lease(lease);
    let mut second = other.wait("r", [imei("1")]).timeout(lease * 2);
    match second.next().await {
        Some(Err(WaitError::TimedOut { pending, .. })) => assert_eq!(pending, [imei("1")]),
        got => panic!("a live waiter's outcome was taken again: {got:?}"),
    }
    // The caller asks for the next outcome: it had this one, and the wait ends once that is
    // recorded, so no later waiter receives it again.
    assert!(holder.next().await.is_none(), "every device reported");
    assert!(
        mark(&redis, "t7", "r", "1")
            .await
            .is_some_and(|m| m.starts_with("done:")),
        "marked done"
    );
    let mut third = other
        .wait("r", [imei("1")])
        .timeout(Duration::from_secs(10));
    assert!(third.next().await.is_none(), "delivered once, earlier");

    // A wait dropped before its caller asked for the outcome it took gives it back.
    let unasked = fleet.tracker().lease(lease).wait("s", [imei("2")]);
    assert_eq!(post(&a, message("s", "2", "Success", 1)).await, 200);
    tokio::time::timeout(Duration::from_secs(10), async {
        while !mark(&redis, "t7", "s", "2")
            .await
            .is_some_and(|m| m.starts_with("taken:"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first wait took it");
    drop(unasked);
    // Given back within a poll of the reader, long before the lease would have ended.
    let mut next = other
        .wait("s", [imei("2")])
        .timeout(lease - Duration::from_millis(500));
    let got = next
        .next()
        .await
        .expect("one")
        .expect("given back and delivered");
    assert_eq!(got.device.id, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_wait_records_what_the_caller_had_and_gives_back_the_rest() {
    let redis = Redis::start();
    let fleet = redis.fleet("t8").await;
    let a = replica(&fleet).await;
    assert_eq!(post(&a, message("r", "1", "Success", 1)).await, 200);
    let mut wait = fleet.tracker().wait("r", [imei("1"), imei("2")]);
    let got = wait.next().await.and_then(Result::ok).expect("the outcome");
    assert_eq!(got.device.id, "1");
    // Device 2's outcome arrives and is taken, but the caller stops before asking for it.
    assert_eq!(post(&a, message("r", "2", "Success", 1)).await, 200);
    tokio::time::timeout(Duration::from_secs(10), async {
        while !mark(&redis, "t8", "r", "2")
            .await
            .is_some_and(|m| m.starts_with("taken:"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("taken by the wait");
    wait.close().await;
    // Written before `close` returned: an exiting process loses neither.
    assert!(
        mark(&redis, "t8", "r", "1")
            .await
            .is_some_and(|m| m.starts_with("done:")),
        "device 1 was had"
    );
    assert_eq!(
        mark(&redis, "t8", "r", "2").await,
        None,
        "device 2 was given back"
    );
}

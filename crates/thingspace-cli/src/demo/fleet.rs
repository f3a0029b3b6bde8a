//! A fleet on Redis: replicas sharing one login, and a callback received by one replica
//! awaited in another, through a real `redis-server` started for the demo on a free loopback
//! port (skipped, saying why, where none is installed).

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use thingspace::{
    Client, CredentialStore, DeviceId, ReqwestTransport,
    callbacks::{Credentials, Listener},
    m2m::{self, Activation, M2m, callbacks::services},
    mock::{RedisServer, Route},
    redis::RedisFleet,
};

use super::{
    ACCOUNT, Demo,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// The fleet's key prefix in Redis.
const PREFIX: &str = "demo";

/// The credentials the fleet's listener checks.
const USERNAME: &str = "demo-fleet-callbacks";
const PASSWORD: &str = "demo-fleet-callbacks-password";

/// How long the wait for the device's outcome may take.
const WAIT: Duration = Duration::from_secs(20);

/// How long the mock may take to finish delivering earlier requests' callbacks.
const SETTLE: Duration = Duration::from_secs(10);

/// Three replicas (each with its own connection to Redis and its own credential cache, as
/// three processes) make their first requests together: one token request and one login for
/// the three. Then replica A's listener receives a device's callback and replica C awaits it.
///
/// # Errors
/// The SDK's; [`CliError::Demo`] when Redis cannot be started or reached, or a check fails.
pub(super) async fn replicas_share_redis(demo: &Demo) -> Result<(), CliError> {
    step(
        "A fleet on Redis: three replicas share one login; a callback received by replica A reaches the wait in replica C",
    )?;
    if !RedisServer::is_installed() {
        return outln!(
            "skipped: redis-server is not installed (`cargo xtask test` installs it; or `apt-get install redis-server`)"
        );
    }
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .map_err(|e| CliError::Demo(e.to_string()))?
        .map_err(|e| CliError::Demo(e.to_string()))?;
    outln!("redis-server listening at {}", redis.url())?;
    let a = Replica::connect(demo, &redis.url()).await?;
    let b = Replica::connect(demo, &redis.url()).await?;
    let c = Replica::connect(demo, &redis.url()).await?;

    demo.server.reset_counts();
    let firsts = [&a, &b, &c].map(|r| async { r.m2m.accounts().get(ACCOUNT).await });
    for answer in futures_util::future::join_all(firsts).await {
        answer?;
    }
    let (tokens, logins) = (
        demo.server.count(Route::Token),
        demo.server.count(Route::Login),
    );
    outln!("3 replicas' first requests: token requests: {tokens}, logins: {logins}")?;
    check((tokens, logins) == (1, 1), || {
        format!(
            "three replicas sharing Redis made {tokens} token requests and {logins} logins, not 1 and 1"
        )
    })?;

    // Earlier requests' callbacks first, so that the listener sees this one's only.
    let settled = demo.server.settle_callbacks(SETTLE).await;
    check(settled, || {
        format!("the mock was still delivering callbacks after {SETTLE:?}")
    })?;
    let listener = Listener::builder(Credentials::new(USERNAME, PASSWORD))
        .sink(a.fleet.sink())
        .build()
        .bind("127.0.0.1:0")
        .await
        .map_err(CliError::Listen)?;
    let url = format!("http://{}/ts/fleet", listener.local_addr());
    let registration =
        m2m::Listener::new(services::CARRIER_SERVICE, &url).with_credentials(USERNAME, PASSWORD);
    b.m2m.callbacks().register(ACCOUNT, &registration).await?;
    let device = DeviceId::new("imei", "990013907835599");
    let id = b
        .m2m
        .devices()
        .activate(
            &Activation::new("M2MPlan", "94203")
                .account(ACCOUNT)
                .device(&device.kind, &device.id),
        )
        .await?;
    outln!(
        "replica A listens at {url}; replica B activated {} (request {}); replica C waits",
        safe(&device.id),
        safe(&id.request_id)
    )?;
    let outcomes: Vec<_> = c
        .fleet
        .tracker()
        .wait(&id.request_id, [device.clone()])
        .timeout(WAIT)
        .collect()
        .await;
    let stats = listener.stats();
    listener.shutdown().await;
    let received: Vec<_> = outcomes
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::Demo(format!("replica C did not receive the outcome: {e}")))?;
    for o in &received {
        outln!(
            "replica C: {} {}",
            safe(&o.device.id),
            if o.is_success() {
                "succeeded"
            } else {
                "failed"
            }
        )?;
    }
    outln!(
        "replica A's listener kept {} callbacks in Redis",
        stats.accepted
    )?;
    check(
        received.len() == 1 && received.iter().all(|o| o.device == device),
        || format!("one outcome for {device} expected, received {received:?}"),
    )?;
    drop(redis);
    outln!("redis-server stopped")
}

/// One replica of the fleet: its own connection to Redis and its own client, with its own
/// credential cache in front of the shared one.
struct Replica {
    fleet: RedisFleet,
    m2m: M2m,
}

impl Replica {
    async fn connect(demo: &Demo, url: &str) -> Result<Self, CliError> {
        let fleet = RedisFleet::connect(url, PREFIX)
            .await
            .map_err(|e| CliError::Demo(format!("Redis could not be reached: {e}")))?;
        let store: Arc<dyn CredentialStore> = Arc::new(fleet.credentials());
        let pipeline = demo.config.pipeline(Arc::new(ReqwestTransport::new()?));
        let client = Client::thingspace_with_pipeline(&demo.config, pipeline, Some(store))?;
        Ok(Self {
            fleet,
            m2m: M2m::new(client),
        })
    }
}

//! The connection to Redis and the names of the keys the fleet shares.

use std::{fmt, time::Duration};

use redis::aio::ConnectionManager;
use thingspace_core::{DeviceId, StoreKey};

/// Why the fleet could not use Redis.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetError {
    message: String,
}

impl FleetError {
    pub(crate) fn redis(what: &str, e: &redis::RedisError) -> Self {
        // Redis errors name the command and the server's words, never a value sent.
        Self {
            message: format!("{what}: {e}"),
        }
    }
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FleetError {}

/// How long a part that found Redis unreachable goes on without it before trying again: a
/// Redis that does not answer would otherwise cost every request the 2 s response timeout.
const OUTAGE_BACKOFF: Duration = Duration::from_secs(5);

/// A part's view of Redis's availability: after a failure it goes on without Redis for a few
/// seconds (one warning), then tries again (one notice when Redis answers).
#[derive(Debug)]
pub(crate) struct Outage {
    /// What goes on without Redis meanwhile, for the warning.
    without: &'static str,
    /// Until when Redis is not asked, after a failure.
    until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Outage {
    pub(crate) fn new(without: &'static str) -> Self {
        Self {
            without,
            until: std::sync::Mutex::new(None),
        }
    }

    fn until(&self) -> std::sync::MutexGuard<'_, Option<tokio::time::Instant>> {
        self.until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True while Redis is not to be asked, after a recent failure.
    pub(crate) fn skipping(&self) -> bool {
        let now = tokio::time::Instant::now();
        let mut until = self.until();
        match *until {
            Some(t) if now < t => true,
            // The pause is over: this caller asks Redis, the others go on without it until it
            // has answered (or failed again).
            Some(_) => {
                *until = Some(now + OUTAGE_BACKOFF);
                false
            }
            None => false,
        }
    }

    /// Redis answered.
    pub(crate) fn reached(&self) {
        if self.until().take().is_some() {
            tracing::info!(
                "Redis answers again: {} is shared with the fleet again",
                self.without
            );
        }
    }

    /// Redis did not answer: warned once per outage, not asked again for a few seconds.
    pub(crate) fn failed(&self, error: &redis::RedisError) {
        let first = self
            .until()
            .replace(tokio::time::Instant::now() + OUTAGE_BACKOFF)
            .is_none();
        if first {
            tracing::warn!(error = %error, "Redis cannot be reached: {} is this process's own until it answers again", self.without);
        }
    }
}

/// The key names of one fleet: every key starts with its prefix (by default `thingspace`), so
/// several fleets (or applications) can share a Redis instance.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The stream of the outcomes posted for `request_id`.
    pub(crate) fn outcomes(&self, request_id: &str) -> String {
        format!("{}:outcomes:{request_id}", self.prefix)
    }

    /// The hash of the devices of `request_id` whose outcome a waiter took: device →
    /// `taken:<waiter>` or, once its caller had it, `done:<waiter>`.
    pub(crate) fn delivered(&self, request_id: &str) -> String {
        format!("{}:delivered:{request_id}", self.prefix)
    }

    /// The hash of the leases of the waiters of `request_id`: waiter → end of its lease in
    /// milliseconds on Redis's clock.
    pub(crate) fn waiters(&self, request_id: &str) -> String {
        format!("{}:waiters:{request_id}", self.prefix)
    }

    /// The hash of the credential shared under `key`.
    pub(crate) fn credential(&self, key: &StoreKey) -> String {
        format!("{}:credential:{key}", self.prefix)
    }

    /// The lock of the process refreshing the credential under `key`.
    pub(crate) fn credential_lock(&self, key: &StoreKey) -> String {
        format!("{}:credential-lock:{key}", self.prefix)
    }

    /// The fleet's record of a refusal of the secret behind `key`.
    pub(crate) fn credential_refused(&self, key: &StoreKey) -> String {
        format!("{}:credential-refused:{key}", self.prefix)
    }

    /// The sorted set of the requests of `operation` for `account` admitted in the window.
    pub(crate) fn rate(&self, operation: &str, account: Option<&str>) -> String {
        format!(
            "{}:rate:{operation}:{}",
            self.prefix,
            account.unwrap_or("*")
        )
    }
}

/// How a device is named in the shared keys: its kind in lower case, then its id.
pub(crate) fn device_key(device: &DeviceId) -> String {
    format!("{}:{}", device.kind.to_ascii_lowercase(), device.id)
}

/// The longest a request's outcomes are kept.
const MAX_KEEP: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A fleet of processes sharing callbacks through one Redis.
///
/// Every replica's listener writes each callback to Redis before acknowledging it
/// ([`RedisFleet::sink`]), and any process awaits the outcomes of its request
/// ([`RedisFleet::tracker`]), whichever replica received them.
///
/// The Redis instance holds device data and must be trusted: reach it over a private network,
/// with an ACL user (`redis://user:password@host:6379`). Keys expire after
/// [`RedisFleet::keep_for`] (a day by default).
#[derive(Clone)]
pub struct RedisFleet {
    pub(crate) client: redis::Client,
    pub(crate) manager: ConnectionManager,
    pub(crate) keys: Keys,
    pub(crate) keep_for: Duration,
    pub(crate) max_outcomes: usize,
}

impl fmt::Debug for RedisFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info can hold an ACL password: only the prefix is shown.
        f.debug_struct("RedisFleet")
            .field("prefix", &self.keys.prefix)
            .field("keep_for", &self.keep_for)
            .finish_non_exhaustive()
    }
}

impl RedisFleet {
    /// Connects to the Redis at `url` (`redis://[user:password@]host:port[/db]`), with keys
    /// under `prefix`.
    ///
    /// # Errors
    /// When the URL is not a Redis URL or the server cannot be reached now (later outages are
    /// survived: the connection is made again by itself).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, FleetError> {
        // The URL may hold a password: neither it nor the parser's words are repeated.
        let client = redis::Client::open(url).map_err(|_| FleetError {
            message: "not a Redis URL (redis://[user:password@]host:port[/db])".to_owned(),
        })?;
        // Bounded answers: a half-open connection after a failover errs instead of hanging.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            // A refused connection is reported within a second, not after a minute of backoff:
            // callers go on without Redis (their own credentials, a 503 for callbacks) and the
            // next command connects again.
            .set_number_of_retries(2)
            .set_max_delay(500);
        let manager = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| FleetError {
            message: "Redis did not answer within 5 s".to_owned(),
        })?
        .map_err(|e| FleetError::redis("could not reach Redis", &e))?;
        // One command now, so a user Redis refuses (NOAUTH, a disabled ACL user) is an error at
        // start, not on the first callback.
        let mut conn = manager.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| FleetError::redis("Redis refused the connection", &e))?;
        Ok(Self {
            client,
            manager,
            keys: Keys {
                prefix: prefix.to_owned(),
            },
            keep_for: Duration::from_secs(24 * 3600),
            max_outcomes: 100_000,
        })
    }

    /// Keeps a request's outcomes this long after its last callback (default a day; from a
    /// second to ten years).
    pub fn keep_for(mut self, keep_for: Duration) -> Self {
        self.keep_for = keep_for.clamp(Duration::from_secs(1), MAX_KEEP);
        self
    }

    /// [`keep_for`](Self::keep_for) in whole seconds, as `EXPIRE` takes it.
    pub(crate) fn keep_secs(&self) -> i64 {
        i64::try_from(self.keep_for.as_secs()).unwrap_or(i64::MAX)
    }
}

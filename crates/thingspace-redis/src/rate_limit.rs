//! The fleet's rate limit: an interceptor that keeps every process together under a rate per
//! operation and account, counted by one atomic script on Redis.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use thingspace_core::hooks::{Interceptor, OperationInfo};
use thingspace_core::{Error, ErrorKind, Result};

use crate::fleet::{Keys, Outage, RedisFleet};

/// Admits one request if the window has room, by the server's clock: the sorted set of the
/// window's admissions (scored by time in microseconds) loses what is older than the window,
/// and the request is added if fewer than the limit remain. Answers 0 when admitted, else the
/// microseconds until the oldest admission leaves the window.
///
/// KEYS[1] the window's set; ARGV[1] the window in microseconds, ARGV[2] the limit, ARGV[3] a
/// member unique to this request.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
";

/// A limit: at most `max` requests of an operation per `per`, for each account (or in all,
/// for operations that name no account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    operation: String,
    max: u32,
    per: Duration,
}

impl RateLimit {
    /// At most `max` requests of `operation` (such as `m2m.devices.activate`) per `per`, per
    /// account. `max` is at least 1 and `per` at least a millisecond.
    pub fn new(operation: impl Into<String>, max: u32, per: Duration) -> Self {
        Self {
            operation: operation.into(),
            max: max.max(1),
            per: per.max(Duration::from_millis(1)),
        }
    }

    /// At most `max` requests of `operation` a minute, per account.
    pub fn per_minute(operation: impl Into<String>, max: u32) -> Self {
        Self::new(operation, max, Duration::from_secs(60))
    }
}

/// The fleet's rate limiter ([`RedisFleet::rate_limiter`]): give it to the client as an
/// interceptor (`config.pipeline(transport).with_interceptor(Arc::new(limiter))`).
///
/// Before each operation with a limit (and each retry of it), one atomic script on Redis counts
/// the requests admitted in the last window (a sliding window, by Redis's clock, so the
/// processes' clocks do not matter) for that operation and account, across every process. A request that would exceed
/// the limit waits until the window has room, within the operation's budget; when the wait
/// would outlast the budget, the operation ends with a timeout before anything is sent.
///
/// While Redis cannot be reached, requests are not held back (one warning): ThingSpace's own
/// limit answers 429, which the client retries after `Retry-After` for every operation. A Redis
/// that answers but refuses the script (a user without `EVAL`) is a configuration error.
#[derive(Clone)]
pub struct RedisRateLimiter {
    manager: ConnectionManager,
    keys: Keys,
    limits: Arc<Vec<RateLimit>>,
    outage: Arc<Outage>,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("keys", &self.keys)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RedisFleet {
    /// A rate limiter shared by the fleet, with `limits` (operations without one are not held).
    pub fn rate_limiter(&self, limits: impl IntoIterator<Item = RateLimit>) -> RedisRateLimiter {
        RedisRateLimiter {
            manager: self.manager.clone(),
            keys: self.keys.clone(),
            limits: Arc::new(limits.into_iter().collect()),
            outage: Arc::new(Outage::new("the rate")),
        }
    }
}

impl RedisRateLimiter {
    /// Admits one request of `operation` for `account`, waiting within `budget` for room.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] when the window would have room only after the budget ends;
    /// [`ErrorKind::Config`] when Redis refuses the script.
    pub async fn admit(
        &self,
        operation: &'static str,
        account: Option<&str>,
        budget: &thingspace_core::Budget,
    ) -> Result<()> {
        let Some(limit) = self.limits.iter().find(|l| l.operation == operation) else {
            return Ok(());
        };
        let key = self.keys.rate(&limit.operation, account);
        let member = format!(
            "{}-{}",
            std::process::id(),
            fastrand::u64(..) // unique within the window
        );
        let window = u64::try_from(limit.per.as_micros()).unwrap_or(u64::MAX);
        loop {
            if self.outage.skipping() {
                return Ok(());
            }
            let mut conn = self.manager.clone();
            let answer: redis::RedisResult<u64> = redis::cmd("EVAL")
                .arg(ADMIT)
                .arg(1)
                .arg(&key)
                .arg(window)
                .arg(limit.max)
                .arg(&member)
                .query_async(&mut conn)
                .await;
            let wait = match answer {
                Ok(0) => {
                    self.outage.reached();
                    return Ok(());
                }
                Ok(micros) => {
                    self.outage.reached();
                    Duration::from_micros(micros)
                }
                Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                    // Redis away: not held meanwhile; ThingSpace's own 429s are retried by the
                    // client.
                    self.outage.failed(&e);
                    return Ok(());
                }
                Err(e) => {
                    // Redis answered, and refused the limit's script (an ACL user without
                    // EVAL, say): holding nothing would exceed the limit silently.
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "Redis refused the fleet's rate-limit script ({e}); nothing was sent: give the Redis user EVAL (ACL +eval), or remove the limit"
                        ),
                    )
                    .with_operation(operation));
                }
            };
            // Waiters spread over a few milliseconds, so they do not all ask again at once.
            let wait = wait + Duration::from_millis(fastrand::u64(0..=5));
            if budget.would_pass(wait) {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the fleet's rate limit of {} `{operation}` requests per {:.1} s{} has room only after the operation's time budget ends; nothing was sent",
                        limit.max,
                        limit.per.as_secs_f64(),
                        account.map(|a| format!(" for account `{a}`")).unwrap_or_default()
                    ),
                )
                .with_operation(operation));
            }
            tracing::debug!(
                operation,
                wait_ms = wait.as_millis(),
                "held by the fleet's rate limit"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl Interceptor for RedisRateLimiter {
    async fn before_operation(&self, op: &OperationInfo<'_>) -> Result<()> {
        self.admit(op.operation, op.account, op.budget).await
    }

    /// Each attempt after the first is a request the service sees too: it counts.
    async fn before_attempt(
        &self,
        op: &OperationInfo<'_>,
        attempt: u32,
        _request: &mut thingspace_core::Request,
    ) -> Result<()> {
        if attempt > 1 {
            self.admit(op.operation, op.account, op.budget).await?;
        }
        Ok(())
    }
}

//! Retry policy: which failures are retried, how often, and how long to wait.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};
use serde::Deserialize;

/// How failed requests are retried.
///
/// Retried: 429, 502, 503, 504, connection failures and timeouts, for GET requests and token
/// requests. Backoff is exponential from `initial_backoff`, capped at `max_backoff`, with full
/// jitter; a `Retry-After` header replaces the computed delay when it is no longer than
/// `max_retry_after` (a longer one ends the retries, and the error carries the delay). No retry
/// starts once it could not begin before the overall `deadline` (two minutes by default).
///
/// ```
/// use std::time::Duration;
/// use thingspace_core::RetryPolicy;
///
/// let policy = RetryPolicy::default().with_max_attempts(5).with_initial_backoff(Duration::from_millis(50));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(RetryPolicy::disabled().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(120)),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn disabled() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Total attempts, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay before the first retry.
    pub fn with_initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// The longest computed delay between attempts.
    pub fn with_max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// The longest `Retry-After` honoured; beyond it, the error is returned at once.
    pub fn with_max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// The overall time budget of one operation, all attempts and waits included: a retry that
    /// could not start before it is not made, and each attempt (the token request and login
    /// it may need included) gets at most what is left of it. `None` removes the budget.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The overall time budget of one operation.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Total attempts, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before attempt `attempt + 1`, given the failed attempt number (from 1) and
    /// the server's `Retry-After`, or `None` when no further attempt should be made.
    pub fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        // Full jitter, but never below half the step, so retries do not hammer a struggling server.
        let half = cap / 2;
        let jitter = half.mul_f64(fastrand::f64());
        Some(half + jitter)
    }
}

/// `[retry]` configuration table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Total attempts, the first included; `1` turns retries off.
    #[serde(deserialize_with = "crate::config::lenient_u64")]
    pub max_attempts: u64,
    /// Delay before the first retry, in milliseconds.
    #[serde(deserialize_with = "crate::config::lenient_u64")]
    pub initial_backoff_ms: u64,
    /// Longest delay between attempts, in milliseconds.
    #[serde(deserialize_with = "crate::config::lenient_u64")]
    pub max_backoff_ms: u64,
    /// Overall budget of one operation in seconds, retries and waits included (0: none).
    #[serde(deserialize_with = "crate::config::lenient_f64")]
    pub deadline_secs: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            max_attempts: u64::from(p.max_attempts),
            initial_backoff_ms: p.initial_backoff.as_millis() as u64,
            max_backoff_ms: p.max_backoff.as_millis() as u64,
            deadline_secs: p.deadline.map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

impl RetryConfig {
    /// Checks the values: `table` names the table in errors, such as `retry` or `oc.retry`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for no attempts at all, rather than
    /// quietly making one.
    pub fn check(&self, table: &str) -> crate::Result<()> {
        if self.max_attempts == 0 {
            return Err(crate::Error::config(format!(
                "`{table}.max_attempts` must be at least 1 (1 turns retries off)"
            )));
        }
        Ok(())
    }
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(c: &RetryConfig) -> Self {
        RetryPolicy::default()
            .with_max_attempts(u32::try_from(c.max_attempts).unwrap_or(u32::MAX))
            .with_initial_backoff(Duration::from_millis(c.initial_backoff_ms))
            .with_max_backoff(Duration::from_millis(c.max_backoff_ms))
            .with_deadline(crate::config::secs(c.deadline_secs))
    }
}

/// True for the statuses worth retrying: 429, 502, 503, 504.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The delay asked for by a `Retry-After` header, in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Runs `attempt` until it succeeds, fails for good, or the policy says stop.
///
/// `attempt` receives the attempt number (from 1). A response with a retryable status and an
/// error for which [`Error::is_retryable`](crate::Error::is_retryable) holds are retried; the
/// last outcome is returned as it is.
pub(crate) async fn run<F, Fut>(
    policy: &RetryPolicy,
    operation: &'static str,
    mut attempt: F,
) -> crate::Result<crate::Response>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = crate::Result<crate::Response>>,
{
    let started = tokio::time::Instant::now();
    let mut n = 1;
    loop {
        let outcome = attempt(n).await;
        let Some(delay) = next_delay(policy, operation, started, n, &outcome) else {
            return outcome;
        };
        tokio::time::sleep(delay).await;
        n += 1;
    }
}

/// After attempt `n` of an operation begun at `started` ended with `outcome`: how long to wait
/// before the next attempt, or `None` when `outcome` is final (a success, a failure not worth
/// retrying, no attempts left, or the deadline would pass).
pub(crate) fn next_delay(
    policy: &RetryPolicy,
    operation: &'static str,
    started: tokio::time::Instant,
    n: u32,
    outcome: &crate::Result<crate::Response>,
) -> Option<Duration> {
    let retry_after = match outcome {
        Ok(r) if is_retryable_status(r.status) => retry_after(&r.headers),
        Err(e) if e.is_retryable() => e.retry_after(),
        _ => return None,
    };
    let delay = policy.delay_after(n, retry_after)?;
    if policy
        .deadline
        .is_some_and(|budget| started.elapsed().saturating_add(delay) >= budget)
    {
        tracing::debug!(operation, attempt = n, "no retry: the deadline would pass");
        return None;
    }
    match outcome {
        Ok(r) => tracing::debug!(
            operation,
            attempt = n,
            status = r.status.as_u16(),
            ?delay,
            "retrying"
        ),
        Err(e) => tracing::debug!(operation, attempt = n, error = %e, ?delay, "retrying"),
    }
    Some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn backoff_grows_is_capped_and_stops() {
        let p = RetryPolicy::default()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(400));
        for _ in 0..50 {
            let d1 = p.delay_after(1, None).expect("retry");
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d5 = p.delay_after(5, None).expect("retry");
            assert!(d5 >= Duration::from_millis(200) && d5 <= Duration::from_millis(400));
        }
        assert_eq!(p.delay_after(10, None), None);
        assert_eq!(RetryPolicy::disabled().delay_after(1, None), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay_after(1, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay_after(1, Some(Duration::from_secs(3600))), None);
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let future = SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(future)).expect("date"),
        );
        let d = retry_after(&h).expect("date parsed");
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_past_the_deadline() {
        let policy = RetryPolicy::default()
            .with_max_attempts(100)
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(1))
            .with_deadline(Some(Duration::from_secs(5)));
        let mut calls = 0;
        let started = tokio::time::Instant::now();
        let outcome = run(&policy, "op", |_| {
            calls += 1;
            async {
                Ok(crate::Response::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    HeaderMap::new(),
                    "",
                ))
            }
        })
        .await;
        assert!(outcome.is_ok_and(|r| r.status == StatusCode::SERVICE_UNAVAILABLE));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            (5..=11).contains(&calls),
            "{calls} attempts within a 5 s budget of 0.5-1 s waits"
        );
    }

    #[test]
    fn classifies_statuses() {
        for s in [429, 502, 503, 504] {
            assert!(is_retryable_status(
                StatusCode::from_u16(s).expect("status")
            ));
        }
        for s in [400, 401, 403, 404, 500] {
            assert!(!is_retryable_status(
                StatusCode::from_u16(s).expect("status")
            ));
        }
    }
}

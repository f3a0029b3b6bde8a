//! Retries: whether an operation may be repeated ([`Idempotency`]), and the one decision,
//! after each attempt, of what to do next ([`RetryPolicy::decide`]).

use std::time::Duration;

use http::StatusCode;

use crate::error::{Error, ErrorKind};
use crate::message::{Response, is_transient_status};

/// Whether an operation may be sent again when its first attempt's fate is unknown.
///
/// ThingSpace has no idempotency keys, so a request that changes something (an activation,
/// which spends one of a line's five daily provisioning actions) must never be repeated unless
/// the service surely did not act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Repeating it is harmless: reads, token requests, logins, and writes whose repetition
    /// changes nothing more.
    Safe,
    /// Repeating it may do the thing twice: retried only when the service surely did not act
    /// on it (the connection was never made, or a 429 throttled it at the gateway).
    Unsafe,
}

impl Idempotency {
    /// The default for a method: `Safe` for GET and HEAD, `Unsafe` for everything else (a
    /// family marks the harmless PUTs and DELETEs `Safe` itself).
    pub fn of_method(method: &http::Method) -> Self {
        if matches!(*method, http::Method::GET | http::Method::HEAD) {
            Self::Safe
        } else {
            Self::Unsafe
        }
    }
}

/// What one attempt came to, as the retry decision sees it.
#[derive(Debug, Clone, Copy)]
pub enum Attempted<'a> {
    /// The service answered (any status).
    Answered(&'a Response),
    /// No complete answer came: the transport's error, or the error made of a response.
    Failed(&'a Error),
}

/// What to do after an attempt: the value [`RetryPolicy::decide`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAction {
    /// The outcome is final: a success, or a failure that trying again would not change.
    Return,
    /// Try again after this delay.
    Retry(Duration),
    /// Worth retrying, but the attempts are used up.
    Exhausted,
    /// Worth retrying, but the server asked to wait this long, more than the policy's
    /// `max_retry_after`.
    WaitTooLong(Duration),
    /// An [`Idempotency::Unsafe`] request was sent and the answer was lost: it must not be
    /// repeated, and the caller must be told its outcome is unknown.
    OutcomeUnknown,
}

/// How failed requests are retried.
///
/// What is retried is decided by [`decide`](Self::decide): 429, 502, 503, 504, connection
/// failures and timeouts for [`Idempotency::Safe`] operations; for [`Idempotency::Unsafe`] ones
/// only what proves the service did not act (a connection never made, a 429). Backoff is exponential from `initial_backoff`, capped at `max_backoff`, with full
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

    /// The delay before the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest computed delay between attempts.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

impl RetryPolicy {
    /// The retry decision, after attempt number `attempt` (from 1) of an operation of
    /// `idempotency` ended with `outcome`. The one place where retries are decided: the
    /// client's pipeline calls it after every attempt, token requests and logins included;
    /// tests can call it directly. The operation's time budget is the caller's to check.
    ///
    /// ```
    /// use thingspace_core::retry::{Attempted, Idempotency, RetryAction, RetryPolicy};
    /// use thingspace_core::{Response, http::StatusCode};
    ///
    /// let policy = RetryPolicy::default();
    /// let busy = Response::new(StatusCode::SERVICE_UNAVAILABLE, Default::default(), "");
    /// assert!(matches!(policy.decide(Idempotency::Safe, 1, Attempted::Answered(&busy)), RetryAction::Retry(_)));
    /// assert_eq!(policy.decide(Idempotency::Unsafe, 1, Attempted::Answered(&busy)), RetryAction::OutcomeUnknown);
    /// ```
    pub fn decide(
        &self,
        idempotency: Idempotency,
        attempt: u32,
        outcome: Attempted<'_>,
    ) -> RetryAction {
        let unsafe_op = idempotency == Idempotency::Unsafe;
        let (status, retry_after) = match outcome {
            Attempted::Answered(response) => (response.status, response.retry_after()),
            Attempted::Failed(err) => match (err.kind(), err.status()) {
                // No connection: the request never left.
                (ErrorKind::Connect, _) => {
                    return self.again(attempt, err.retry_after(), true, unsafe_op);
                }
                // Sent, perhaps whole, and the answer lost.
                (ErrorKind::Timeout | ErrorKind::Transport, _) => {
                    return self.again(attempt, err.retry_after(), false, unsafe_op);
                }
                // The service answered, but the answer could not be read.
                (ErrorKind::BodyTooLarge, _) if unsafe_op => return RetryAction::OutcomeUnknown,
                // An error made of a response: decided by its status.
                (ErrorKind::Api, Some(status)) => (status, err.retry_after()),
                _ => return RetryAction::Return,
            },
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Throttled at the gateway, before the service.
            self.again(attempt, retry_after, true, unsafe_op)
        } else if is_transient_status(status) {
            self.again(attempt, retry_after, false, unsafe_op)
        } else if unsafe_op && status.is_server_error() {
            // A 500 after the body was received: the service may have acted before failing.
            RetryAction::OutcomeUnknown
        } else {
            RetryAction::Return
        }
    }

    /// The decision for a failure worth a retry: `not_acted_on` when the service surely did
    /// not act on the request.
    fn again(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        not_acted_on: bool,
        unsafe_op: bool,
    ) -> RetryAction {
        if unsafe_op && !not_acted_on {
            return RetryAction::OutcomeUnknown;
        }
        if attempt >= self.max_attempts {
            return RetryAction::Exhausted;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => RetryAction::WaitTooLong(wait),
            Some(wait) => RetryAction::Retry(wait),
            None => RetryAction::Retry(self.backoff(attempt)),
        }
    }

    /// The computed delay after failed attempt `attempt`: exponential, capped, jittered
    /// between half and all of the step.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        // Full jitter, but never below half the step, so retries do not hammer a struggling server.
        let half = cap / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, header::RETRY_AFTER};

    fn answered(code: u16) -> Response {
        Response::new(
            StatusCode::from_u16(code).expect("status"),
            HeaderMap::new(),
            "",
        )
    }

    fn failed(kind: ErrorKind) -> Error {
        Error::new(kind, "test")
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(400))
    }

    #[test]
    fn backoff_grows_is_capped_and_stops() {
        let p = policy().with_max_attempts(10);
        let busy = answered(503);
        for _ in 0..50 {
            let RetryAction::Retry(d1) = p.decide(Idempotency::Safe, 1, Attempted::Answered(&busy))
            else {
                panic!("retry");
            };
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let RetryAction::Retry(d5) = p.decide(Idempotency::Safe, 5, Attempted::Answered(&busy))
            else {
                panic!("retry");
            };
            assert!(d5 >= Duration::from_millis(200) && d5 <= Duration::from_millis(400));
        }
        assert_eq!(
            p.decide(Idempotency::Safe, 10, Attempted::Answered(&busy)),
            RetryAction::Exhausted
        );
        assert_eq!(
            RetryPolicy::disabled().decide(Idempotency::Safe, 1, Attempted::Answered(&busy)),
            RetryAction::Exhausted
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let throttled = Response::new(StatusCode::TOO_MANY_REQUESTS, headers.clone(), "");
        assert_eq!(
            p.decide(Idempotency::Unsafe, 1, Attempted::Answered(&throttled)),
            RetryAction::Retry(Duration::from_secs(2))
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        let throttled = Response::new(StatusCode::TOO_MANY_REQUESTS, headers, "");
        assert_eq!(
            p.decide(Idempotency::Safe, 1, Attempted::Answered(&throttled)),
            RetryAction::WaitTooLong(Duration::from_secs(3600))
        );
    }

    #[test]
    fn safe_operations_retry_every_transient_failure() {
        let p = policy();
        for code in [429, 502, 503, 504] {
            let r = answered(code);
            assert!(
                matches!(
                    p.decide(Idempotency::Safe, 1, Attempted::Answered(&r)),
                    RetryAction::Retry(_)
                ),
                "{code}"
            );
        }
        for kind in [ErrorKind::Connect, ErrorKind::Timeout, ErrorKind::Transport] {
            let e = failed(kind);
            assert!(
                matches!(
                    p.decide(Idempotency::Safe, 1, Attempted::Failed(&e)),
                    RetryAction::Retry(_)
                ),
                "{kind:?}"
            );
        }
        for code in [200, 202, 400, 401, 403, 404, 500] {
            let r = answered(code);
            assert_eq!(
                p.decide(Idempotency::Safe, 1, Attempted::Answered(&r)),
                RetryAction::Return,
                "{code}"
            );
        }
        let e = failed(ErrorKind::BodyTooLarge);
        assert_eq!(
            p.decide(Idempotency::Safe, 1, Attempted::Failed(&e)),
            RetryAction::Return
        );
    }

    #[test]
    fn unsafe_operations_retry_only_what_the_service_surely_did_not_act_on() {
        let p = policy();
        // Never sent, or throttled before the service: retried.
        let refused = failed(ErrorKind::Connect);
        assert!(matches!(
            p.decide(Idempotency::Unsafe, 1, Attempted::Failed(&refused)),
            RetryAction::Retry(_)
        ));
        let throttled = answered(429);
        assert!(matches!(
            p.decide(Idempotency::Unsafe, 2, Attempted::Answered(&throttled)),
            RetryAction::Retry(_)
        ));
        assert_eq!(
            p.decide(Idempotency::Unsafe, 3, Attempted::Answered(&throttled)),
            RetryAction::Exhausted
        );
        // Sent, and the answer lost or a server error: unknown, whatever the attempts left.
        for code in [500, 502, 503, 504] {
            let r = answered(code);
            assert_eq!(
                p.decide(Idempotency::Unsafe, 1, Attempted::Answered(&r)),
                RetryAction::OutcomeUnknown,
                "{code}"
            );
        }
        for kind in [
            ErrorKind::Timeout,
            ErrorKind::Transport,
            ErrorKind::BodyTooLarge,
        ] {
            let e = failed(kind);
            assert_eq!(
                p.decide(Idempotency::Unsafe, 1, Attempted::Failed(&e)),
                RetryAction::OutcomeUnknown,
                "{kind:?}"
            );
        }
        // A refusal is an answer: the service did not act, and saying so is final.
        for code in [200, 400, 404, 409] {
            let r = answered(code);
            assert_eq!(
                p.decide(Idempotency::Unsafe, 1, Attempted::Answered(&r)),
                RetryAction::Return,
                "{code}"
            );
        }
    }

    #[test]
    fn the_default_idempotency_follows_the_method() {
        assert_eq!(
            Idempotency::of_method(&http::Method::GET),
            Idempotency::Safe
        );
        for m in [
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
        ] {
            assert_eq!(Idempotency::of_method(&m), Idempotency::Unsafe, "{m}");
        }
    }
}

//! Interceptors: users' own behaviour around every operation and every attempt (a rate
//! limiter, metrics, an extra header), above the transport and inside retries and auth.

use std::{fmt, time::Duration};

use async_trait::async_trait;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::message::{Request, Response};
use crate::retry::Idempotency;

/// What an interceptor is told of the operation a call belongs to.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OperationInfo<'a> {
    /// The operation name, such as `m2m.accounts.get` or `oauth2.token`.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'a http::Method,
    /// Whether the operation may be repeated.
    pub idempotency: Idempotency,
    /// The operation's time budget: an interceptor that waits (a rate limiter) waits within it.
    pub budget: &'a Budget,
    /// The account the operation acts on, when it names one
    /// ([`ApiRequest::for_account`](crate::ApiRequest::for_account)).
    pub account: Option<&'a str>,
}

/// Behaviour of your own around each operation and each attempt of the client's pipeline.
///
/// Every method has a default that does nothing; implement what you need. Interceptors run in
/// the order they were added, for API requests and for the token and login requests they need
/// (each is an operation of its own, named `oauth2.token` or `m2m.session.login`).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use thingspace_core::hooks::{Interceptor, OperationInfo};
/// use thingspace_core::{Error, Request, Response, Result};
///
/// /// Counts the attempts of every operation, and tags each with a header.
/// #[derive(Debug, Default)]
/// struct Metrics { attempts: AtomicU64 }
///
/// #[async_trait::async_trait]
/// impl Interceptor for Metrics {
///     async fn before_attempt(&self, _op: &OperationInfo<'_>, _attempt: u32, request: &mut Request) -> Result<()> {
///         self.attempts.fetch_add(1, Ordering::Relaxed);
///         request.headers.insert("x-team", http::HeaderValue::from_static("fleet"));
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Interceptor: Send + Sync + fmt::Debug {
    /// Once per operation, before its first attempt (and before its credentials). May wait,
    /// within `op.budget`; an error ends the operation before anything is sent.
    async fn before_operation(&self, op: &OperationInfo<'_>) -> Result<()> {
        let _ = op;
        Ok(())
    }

    /// Before each attempt is sent (`attempt` from 1), after its credentials were added: may
    /// add headers. An error ends the operation; the attempt is not sent.
    async fn before_attempt(
        &self,
        op: &OperationInfo<'_>,
        attempt: u32,
        request: &mut Request,
    ) -> Result<()> {
        let _ = (op, attempt, request);
        Ok(())
    }

    /// After each attempt, with what the transport returned.
    fn after_attempt(
        &self,
        op: &OperationInfo<'_>,
        attempt: u32,
        outcome: std::result::Result<&Response, &Error>,
    ) {
        let _ = (op, attempt, outcome);
    }

    /// Once per operation, with its result and how long it took.
    fn after_operation(
        &self,
        op: &OperationInfo<'_>,
        result: std::result::Result<&Response, &Error>,
        elapsed: Duration,
    ) {
        let _ = (op, result, elapsed);
    }
}

//! The pipeline: the stages every request goes through, API requests and the token and login
//! requests they need alike, within one time budget.
//!
//! 1. **build**: [`ApiRequest::build`] makes the transport request (URL, headers, body).
//! 2. **before the operation**: each [`Interceptor`]'s `before_operation`.
//! 3. **attempt**, as often as the retry decision allows:
//!    1. **authorize**: the [`AuthProvider`] adds its credentials, obtaining them through this
//!       same pipeline if needed, from the same budget;
//!    2. **send**: the [`Transport`](crate::Transport), with the per-attempt timeout cut to
//!       what is left of the budget;
//!    3. **classify**: a success, a refusal of the credentials ([`AuthProvider::rejection`]),
//!       another answer, or no answer at all ([`Outcome`]);
//! 4. **renew**: after a refusal of the credentials, forget them and send once more, if the
//!    service surely did not act or the operation is safe to repeat;
//! 5. **decide**: [`RetryPolicy::decide`] says return, retry after a delay, or (for an unsafe
//!    request whose answer was lost) that the outcome is unknown;
//! 6. **trace**: one `thingspace.operation` span per operation, one `thingspace.attempt` span per
//!    attempt, with the same fields for every operation.
//!
//! # Span fields
//!
//! Beside the SDK's own fields (`operation`, the `family.resource.verb` name; `method`, `path`,
//! `body_bytes`, `status`, `attempts`, `latency_ms`), both spans carry the names of
//! OpenTelemetry's HTTP client semantic conventions, so a pipeline that exports `tracing`
//! spans to OpenTelemetry (`tracing-opentelemetry`) puts them in the same columns as every
//! other HTTP client's:
//!
//! | field | on | value |
//! |---|---|---|
//! | `http.request.method` | operation, attempt | `GET`, `POST`, ... |
//! | `url.template` | operation, attempt | the path template, `/m2m/v1/accounts/{accountname}` (never the path with its values, never a query) |
//! | `server.address`, `server.port` | operation, attempt | the host and port the request goes to |
//! | `http.response.status_code` | operation, attempt | the status of the last answer, when there was one |
//! | `http.request.resend_count` | operation, attempt | how many times the request was sent again (retries and renewals of refused credentials); absent when sent once |
//! | `error.type` | operation, attempt | on failure: the status code (`"503"`) when there was an answer, else the kind of error (`timeout`, `connect`, `transport`, ...) |
//! | `otel.kind` | operation | `client` |
//! | `otel.status_code` | operation | `ERROR` on failure |
//!
//! No span field ever holds a body, a credential, a path parameter's value or a query.

use std::{fmt, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;
use tracing::{Instrument, field::Empty};
use url::Url;

use crate::auth::{AuthProvider, Rejection};
use crate::budget::Budget;
use crate::error::{Error, ErrorKind, Result};
use crate::hooks::{Interceptor, OperationInfo};
use crate::message::{Request, Response};
use crate::request::ApiRequest;
use crate::retry::{Attempted, Idempotency, RetryAction, RetryPolicy};
use crate::transport::{DEFAULT_TIMEOUT, SharedTransport};

/// How long an unsafe request must have left of its budget to be sent at all.
const UNSAFE_WINDOW: Duration = Duration::from_secs(1);

/// How much later than the budget's end a provider that ignores the budget is cut off.
const CREDENTIALS_GRACE: Duration = Duration::from_millis(100);

/// The stages every request goes through: cheap to clone, shared by a client and the
/// credential sources that serve it, so token requests and logins are sent, retried, timed and
/// traced exactly as API requests are.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use thingspace_core::{Pipeline, RetryPolicy, ReqwestTransport};
///
/// # fn main() -> thingspace_core::Result<()> {
/// let pipeline = Pipeline::new(Arc::new(ReqwestTransport::new()?))
///     .with_retry(RetryPolicy::default().with_max_attempts(5))
///     .with_timeout(Duration::from_secs(10));
/// assert_eq!(pipeline.retry_policy().max_attempts(), 5);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Stages>,
}

#[derive(Clone)]
struct Stages {
    transport: SharedTransport,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    interceptors: Vec<Arc<dyn Interceptor>>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("transport", &self.inner.transport)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .field("interceptors", &self.inner.interceptors)
            .finish()
    }
}

/// What one attempt came to: the classify stage's verdict.
#[derive(Debug)]
pub enum Outcome {
    /// A 2xx answer.
    Success(Response),
    /// The credentials sent (`sent`, the request's sensitive headers) were refused.
    Rejected {
        /// The answer.
        response: Response,
        /// The credential headers the request carried.
        sent: HeaderMap,
        /// Whether the service surely did not act on the request.
        rejection: Rejection,
    },
    /// Any other answer.
    Answered(Response),
    /// No complete answer: the transport's error.
    Failed(Error),
    /// Nothing was sent: credentials could not be obtained, the budget was spent, or an
    /// interceptor refused. Final.
    NotSent(Error),
}

/// Where an operation's attempts start: with the request built for the first one, or with the
/// outcome of a first attempt already made (untraced, when nobody listens).
enum Start {
    Send(Request),
    Judge(Outcome),
}

impl Pipeline {
    /// A pipeline sending with `transport`, with the default retry policy and a 30 s timeout
    /// per attempt.
    pub fn new(transport: SharedTransport) -> Self {
        Self {
            inner: Arc::new(Stages {
                transport,
                retry: RetryPolicy::default(),
                timeout: Some(DEFAULT_TIMEOUT),
                interceptors: Vec::new(),
            }),
        }
    }

    /// Retries with `retry` ([`RetryPolicy::disabled`] turns retries off); its deadline is the
    /// budget of each operation.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.inner).retry = retry;
        self
    }

    /// Limits each attempt to `timeout` (`None`: only the budget limits it).
    pub fn with_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        Arc::make_mut(&mut self.inner).timeout = timeout.into();
        self
    }

    /// Adds an interceptor, run after those added before it.
    pub fn with_interceptor(mut self, interceptor: Arc<dyn Interceptor>) -> Self {
        Arc::make_mut(&mut self.inner)
            .interceptors
            .push(interceptor);
        self
    }

    /// The transport.
    pub fn transport(&self) -> &SharedTransport {
        &self.inner.transport
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// A fresh budget for one operation: the retry policy's deadline, from now.
    pub fn budget(&self) -> Budget {
        Budget::new(self.inner.retry.deadline())
    }

    /// Runs `request` through every stage, with `auth` adding credentials (`None`: none) and
    /// `base` the URL its path template is relative to; returns a 2xx response.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`] before anything is sent;
    /// - [`ErrorKind::Api`] or [`ErrorKind::Auth`]
    ///   for a non-success answer, with the service's error body;
    /// - [`ErrorKind::OutcomeUnknown`] for an unsafe request
    ///   that was sent and whose answer was lost (never sent again);
    /// - the transport's error, or [`ErrorKind::Timeout`] when the
    ///   budget ran out (naming the step), after the retries the policy allows.
    pub async fn send(
        &self,
        request: &ApiRequest,
        base: &Url,
        auth: Option<&dyn AuthProvider>,
        budget: &Budget,
    ) -> Result<Response> {
        let http = request.build(base)?;
        let span = tracing::info_span!(
            "thingspace.operation",
            operation = request.operation(),
            method = %request.method(),
            path = request.template(),
            body_bytes = request.body_len(),
            status = Empty,
            attempts = Empty,
            latency_ms = Empty,
            // OpenTelemetry's HTTP client semantic conventions (see the module's documentation).
            http.request.method = %request.method(),
            url.template = request.template(),
            server.address = http.url.host_str().unwrap_or_default(),
            server.port = http.url.port_or_known_default(),
            http.response.status_code = Empty,
            http.request.resend_count = Empty,
            error.type = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
        );
        let op = OperationInfo {
            operation: request.operation(),
            method: request.method(),
            idempotency: request.idempotency(),
            budget,
            account: request.account(),
        };
        let listened = !span.is_disabled() || !self.inner.interceptors.is_empty();
        if !listened {
            // Nobody listens: no span to enter, no clock to read, no interceptor to call. The
            // first attempt runs bare, and only an outcome other than a success goes on to the
            // loop that renews, retries or reports.
            let result = match Box::pin(self.attempt(http, auth, &op, 1)).await {
                Outcome::Success(response) => return Ok(response),
                outcome => {
                    self.operation(request, Start::Judge(outcome), base, auth, &op, &mut None)
                        .await
                }
            };
            if let Err(e) = &result {
                tracing::debug!(error = %e, "failed");
            }
            return result;
        }
        async {
            // Clocks are read for spans and interceptors only when someone listens.
            let started = listened.then(Instant::now);
            let mut status = None;
            let result = self
                .operation(request, Start::Send(http), base, auth, &op, &mut status)
                .await;
            if let Some(started) = started {
                let span = tracing::Span::current();
                if let Some(status) = status {
                    span.record("status", status);
                    span.record("http.response.status_code", status);
                }
                if let Err(e) = &result {
                    record_error_type(&span, e);
                    span.record("otel.status_code", "ERROR");
                }
                let elapsed = started.elapsed();
                span.record("latency_ms", elapsed.as_millis() as u64);
                for i in &self.inner.interceptors {
                    i.after_operation(&op, result.as_ref(), elapsed);
                }
            }
            match &result {
                Ok(_) => tracing::debug!("done"),
                Err(e) => tracing::debug!(error = %e, "failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The attempts of one operation: send, renew refused credentials once, and do what the
    /// retry decision says.
    ///
    /// `status` is set to the status of each answer this operation receives (never that of a
    /// token request or login it needed, which are operations of their own).
    async fn operation(
        &self,
        request: &ApiRequest,
        start: Start,
        base: &Url,
        auth: Option<&dyn AuthProvider>,
        op: &OperationInfo<'_>,
        status: &mut Option<u16>,
    ) -> Result<Response> {
        let operation = request.operation();
        // An answer of a request whose body holds secrets keeps no snippet of its body in
        // errors (a token or login endpoint may echo what it was sent).
        let answer_error = |response: &Response| {
            let e = Error::from_response(operation, response);
            if request.has_secret_fields() {
                e.without_snippet()
            } else {
                e
            }
        };
        for i in &self.inner.interceptors {
            // Boxed, as the waits below: rare, and their timers would otherwise take room in
            // every operation's future.
            Box::pin(op.budget.run("an interceptor", i.before_operation(op)))
                .await
                .map_err(|e| e.with_operation(operation))?;
        }
        // `attempt` counts what the retry policy counts; `sends` every request sent, a
        // renewal's included.
        let operation_span = tracing::Span::current();
        // The server the request goes to, for the attempts' spans (copied only when traced).
        let server = match &start {
            Start::Send(http) if !operation_span.is_disabled() => {
                let host = http.url.host_str().unwrap_or_default().to_owned();
                Some((host, http.url.port_or_known_default()))
            }
            _ => None,
        };
        let mut start = Some(start);
        let mut attempt = 1;
        let mut sends = 0;
        let mut renewed = false;
        loop {
            sends += 1;
            let outcome = match start.take() {
                // The first attempt, already made by the caller.
                Some(Start::Judge(outcome)) => outcome,
                first => {
                    let span = if operation_span.is_disabled() {
                        tracing::Span::none()
                    } else {
                        operation_span.record("attempts", sends);
                        let span = tracing::debug_span!(
                            "thingspace.attempt",
                            attempt = sends,
                            status = Empty,
                            latency_ms = Empty,
                            http.request.method = %request.method(),
                            url.template = request.template(),
                            server.address = server.as_ref().map(|(host, _)| host.as_str()),
                            server.port = server.as_ref().and_then(|(_, port)| *port),
                            http.response.status_code = Empty,
                            http.request.resend_count = Empty,
                            error.type = Empty,
                        );
                        if sends > 1 {
                            operation_span.record("http.request.resend_count", sends - 1);
                            span.record("http.request.resend_count", sends - 1);
                        }
                        span
                    };
                    // The first send takes the request built for it; a later one (rare) builds
                    // it again, rather than every operation paying for a copy.
                    let to_send = match first {
                        Some(Start::Send(built)) => built,
                        _ => request.build(base)?,
                    };
                    // Boxed: the attempt's future (credentials, interceptors, the transport) is
                    // large, and carried inline it would make every operation's future twice
                    // the size.
                    Box::pin(self.attempt(to_send, auth, op, sends))
                        .instrument(span)
                        .await
                }
            };
            if let Outcome::Success(r)
            | Outcome::Rejected { response: r, .. }
            | Outcome::Answered(r) = &outcome
            {
                *status = Some(r.status.as_u16());
            }
            let (error, action) = match outcome {
                Outcome::Success(response) => return Ok(response),
                Outcome::NotSent(e) => return Err(e.with_operation(operation)),
                Outcome::Rejected {
                    response,
                    sent,
                    rejection,
                } => {
                    let repeatable = op.idempotency == Idempotency::Safe
                        || rejection == Rejection::BeforeProcessing;
                    if !renewed
                        && repeatable
                        && let Some(auth) = auth
                    {
                        tracing::debug!(?rejection, "credentials refused: renewing them once");
                        auth.invalidate(&sent, &response).await;
                        renewed = true;
                        continue;
                    }
                    let e = answer_error(&response);
                    if !repeatable {
                        // Refused, but perhaps after the service saw it: its outcome is unknown.
                        return Err(Error::outcome_unknown(e, request.check_hint()));
                    }
                    return Err(e);
                }
                Outcome::Answered(response) => {
                    let action = self.inner.retry.decide(
                        op.idempotency,
                        attempt,
                        Attempted::Answered(&response),
                    );
                    (answer_error(&response), action)
                }
                Outcome::Failed(e) => {
                    let action =
                        self.inner
                            .retry
                            .decide(op.idempotency, attempt, Attempted::Failed(&e));
                    (e.with_operation(operation), action)
                }
            };
            // An unsafe request is not started without a window to finish in: sent with a
            // sliver of budget left, it would time out, and its outcome would be unknown.
            let window = match op.idempotency {
                Idempotency::Unsafe => self.unsafe_window(),
                Idempotency::Safe => Duration::ZERO,
            };
            match action {
                RetryAction::Retry(delay) if op.budget.would_pass(delay + window) => {
                    tracing::debug!(attempt, ?delay, "no retry: the budget would run out");
                    let mut error = error;
                    error.append_message(&format!(
                        "; not retried: the wait of {:.1} s would outlast the time budget (retry.deadline_secs)",
                        delay.as_secs_f64()
                    ));
                    return Err(error);
                }
                RetryAction::Retry(delay) => {
                    tracing::debug!(attempt, error = %error, ?delay, "retrying");
                    Box::pin(tokio::time::sleep(delay)).await;
                    attempt += 1;
                }
                RetryAction::WaitTooLong(wait) => {
                    let mut error = error;
                    error.append_message(&format!(
                        "; not retried: the server asked to wait {} s, more than the {} s the retry policy allows",
                        wait.as_secs(),
                        self.inner.retry.max_retry_after().as_secs()
                    ));
                    return Err(error);
                }
                RetryAction::OutcomeUnknown => {
                    return Err(Error::outcome_unknown(error, request.check_hint()));
                }
                _ => return Err(error),
            }
        }
    }

    /// The least budget an unsafe request needs left to be sent: a second, or the per-attempt
    /// timeout when shorter.
    fn unsafe_window(&self) -> Duration {
        self.inner
            .timeout
            .map_or(UNSAFE_WINDOW, |t| t.min(UNSAFE_WINDOW))
    }

    /// One attempt: authorize, send, classify.
    async fn attempt(
        &self,
        mut http: Request,
        auth: Option<&dyn AuthProvider>,
        op: &OperationInfo<'_>,
        send: u32,
    ) -> Outcome {
        let budget = op.budget;
        if let Some(auth) = auth {
            // The credential sources bound their own requests by the budget; this bounds a
            // provider that does not, a moment later, so theirs name the step first.
            let authorized = budget
                .run_with_grace(
                    "obtaining credentials",
                    CREDENTIALS_GRACE,
                    auth.authorize(&mut http, budget),
                )
                .await;
            if let Err(e) = authorized {
                return Outcome::NotSent(e);
            }
        }
        for i in &self.inner.interceptors {
            let intercepted = budget
                .run("an interceptor", i.before_attempt(op, send, &mut http))
                .await;
            if let Err(e) = intercepted {
                return Outcome::NotSent(e);
            }
        }
        http.timeout = budget.cap(self.inner.timeout);
        let window = match op.idempotency {
            Idempotency::Unsafe => self.unsafe_window(),
            Idempotency::Safe => Duration::ZERO,
        };
        if budget.limited() && http.timeout.is_some_and(|t| t.is_zero() || t < window) {
            return Outcome::NotSent(budget.spent("the attempt"));
        }
        // The credentials sent (headers marked sensitive), to forget them if refused.
        // A list, not a map: it is needed only after a refusal, and hashing costs on every request.
        let sent: Vec<(HeaderName, HeaderValue)> = match auth {
            Some(_) => http
                .headers
                .iter()
                .filter(|(_, v)| v.is_sensitive())
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            None => Vec::new(),
        };
        let span = tracing::Span::current();
        // Clocks are read for spans only when someone listens.
        let started = (!span.is_disabled()).then(Instant::now);
        let result = self.inner.transport.send(http).await;
        for i in &self.inner.interceptors {
            i.after_attempt(op, send, result.as_ref());
        }
        if let Some(started) = started {
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            match &result {
                Ok(r) => {
                    span.record("status", r.status.as_u16());
                    span.record("http.response.status_code", r.status.as_u16());
                    if !r.status.is_success() {
                        span.record("error.type", r.status.as_str());
                    }
                }
                Err(e) => record_error_type(&span, e),
            }
        }
        match result {
            Ok(r) if r.status.is_success() => Outcome::Success(r),
            Ok(r) => match auth.and_then(|a| a.rejection(&r)) {
                Some(rejection) => Outcome::Rejected {
                    response: r,
                    sent: sent.into_iter().collect(),
                    rejection,
                },
                None => Outcome::Answered(r),
            },
            Err(e) if e.is_timeout() && budget.is_spent() => {
                Outcome::Failed(budget.spent("the wait for the answer").with_source(e))
            }
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// Records OpenTelemetry's `error.type` of a failed operation or attempt on `span`: the status
/// code when the service answered, else the kind of error, in a few low-cardinality words.
fn record_error_type(span: &tracing::Span, e: &Error) {
    match e.status() {
        Some(status) => span.record("error.type", status.as_str()),
        None => span.record("error.type", error_kind_name(e.kind())),
    };
}

/// The kind of an error, as `error.type` names it.
fn error_kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => "config",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::Insecure => "insecure",
        ErrorKind::Connect => "connect",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Transport => "transport",
        ErrorKind::Auth => "auth",
        ErrorKind::Api => "api",
        ErrorKind::Decode => "decode",
        ErrorKind::BodyTooLarge => "body_too_large",
        ErrorKind::Pagination => "pagination",
        ErrorKind::OutcomeUnknown => "outcome_unknown",
    }
}

//! The client: runs a request through auth, retry and tracing.

use std::{fmt, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tokio::time::Instant;
use tracing::{Instrument, field::Empty};
use url::Url;

use crate::auth::{
    AuthProvider, CachedAuth, ClientAuthStyle, ClientCredentials, M2mSession, ThingSpaceAuth,
    ensure_secure,
};
use crate::config::{Config, join};
use crate::error::{Error, Result};
use crate::path::expand;
use crate::retry::{self, RetryPolicy};
use crate::transport::{Request, Response, SharedTransport};

/// One API operation, as a value: what a family crate builds and the client sends.
///
/// ```
/// use thingspace_core::ApiRequest;
///
/// let request = ApiRequest::get("m2m.accounts.get", "/m2m/v1/accounts/{accountname}")
///     .path_param("accountname", "0000123456");
/// assert_eq!(request.operation(), "m2m.accounts.get");
/// ```
#[derive(Debug, Clone)]
pub struct ApiRequest {
    operation: &'static str,
    method: Method,
    template: &'static str,
    params: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
}

impl ApiRequest {
    /// A GET of `template` (relative to the client's base URL), for the operation `operation`.
    pub fn get(operation: &'static str, template: &'static str) -> Self {
        Self {
            operation,
            method: Method::GET,
            template,
            params: Vec::new(),
            query: Vec::new(),
        }
    }

    /// Sets the value of `{name}` in the path template. Values are checked and percent-encoded
    /// when the request is sent; an empty one fails before anything is sent.
    pub fn path_param(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.params.push((name, value.into()));
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    /// The operation name used in errors and traces.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The absolute URL of this request on `base`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty or unusable path parameter.
    pub fn url(&self, base: &Url) -> Result<Url> {
        let path =
            expand(self.template, &self.params).map_err(|e| e.with_operation(self.operation))?;
        // Only the path is parsed again; the scheme and host of the base stay as parsed.
        let mut url = base.clone();
        url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    fn is_idempotent(&self) -> bool {
        self.method.is_idempotent()
    }
}

/// The SDK's client: cheap to clone, shared by every family crate.
///
/// It holds the base URL, the transport, the auth provider and the retry policy; family crates
/// turn their operations into [`ApiRequest`]s and call [`send`](Self::send).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    transport: SharedTransport,
    auth: Option<Arc<dyn AuthProvider>>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("transport", &self.inner.transport)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

impl Client {
    /// A builder for a client on `base_url`.
    pub fn builder(base_url: Url) -> ClientBuilder {
        ClientBuilder {
            base_url,
            transport: None,
            auth: None,
            retry: RetryPolicy::default(),
            timeout: Some(crate::config::DEFAULT_TIMEOUT),
            max_body_bytes: None,
        }
    }

    /// A ThingSpace client (m2m, subsc) from configuration, with the default transport.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when a credential is missing or a URL is insecure.
    #[cfg(feature = "reqwest")]
    pub fn thingspace(config: &Config) -> Result<Self> {
        let transport = crate::transport::ReqwestTransport::new()?
            .with_max_body_bytes(usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX));
        Self::thingspace_with_transport(config, Arc::new(transport))
    }

    /// A ThingSpace client from configuration, on the given transport.
    ///
    /// The bearer token and the M2M session are obtained on first use and renewed
    /// automatically; the caller never handles a token.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when a credential is missing; [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) when a URL
    /// would carry credentials over plain http to a non-loopback host.
    pub fn thingspace_with_transport(config: &Config, transport: SharedTransport) -> Result<Self> {
        crate::config::require_settings(
            "ThingSpace credentials",
            &[
                (
                    "client_id",
                    config.client_id.as_deref().is_some_and(|v| !v.is_empty()),
                ),
                (
                    "client_secret",
                    config.client_secret.as_ref().is_some_and(|s| !s.is_empty()),
                ),
                (
                    "username",
                    config.username.as_deref().is_some_and(|v| !v.is_empty()),
                ),
                (
                    "password",
                    config.password.as_ref().is_some_and(|s| !s.is_empty()),
                ),
            ],
            "set them in thingspace.toml or as THINGSPACE_CLIENT_ID, THINGSPACE_CLIENT_SECRET, THINGSPACE_USERNAME and THINGSPACE_PASSWORD",
        )?;
        let (Some(client_id), Some(secret), Some(username), Some(password)) = (
            &config.client_id,
            &config.client_secret,
            &config.username,
            &config.password,
        ) else {
            return Err(Error::config("missing ThingSpace credentials"));
        };
        let token_url = config.token_url()?;
        let login_url = join(&config.base_url, "m2m/v1/session/login")?;
        ensure_secure(&config.base_url)?;
        ensure_secure(&token_url)?;
        let retry = config.retry_policy();
        let mut credentials = ClientCredentials::new(
            transport.clone(),
            token_url,
            client_id.clone(),
            secret.clone(),
            ClientAuthStyle::BasicHeader,
        )
        .with_retry(retry.clone())
        .with_timeout(config.timeout());
        if let Some(scope) = &config.scope {
            credentials = credentials.with_scope(scope.clone());
        }
        let bearer = Arc::new(CachedAuth::new(credentials));
        let session = M2mSession::new(
            transport.clone(),
            login_url,
            username.clone(),
            password.clone(),
            bearer.clone(),
        )
        .with_retry(retry.clone())
        .with_timeout(config.timeout());
        Client::builder(config.base_url.clone())
            .transport(transport)
            .auth(Arc::new(ThingSpaceAuth::new(bearer, session)))
            .retry(retry)
            .timeout(config.timeout())
            .build()
    }

    /// The base URL requests are relative to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Sends `request` through auth, retry and tracing; returns a success response.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before anything is sent, for a bad path parameter;
    /// - [`ErrorKind::Api`](crate::ErrorKind::Api) or [`ErrorKind::Auth`](crate::ErrorKind::Auth) for a non-success status, with the envelope;
    /// - connection, timeout and body errors from the transport, after the retries.
    pub async fn send(&self, request: &ApiRequest) -> Result<Response> {
        let url = request.url(&self.inner.base_url)?;
        let span = tracing::info_span!(
            "thingspace.operation",
            operation = request.operation,
            method = %request.method,
            path = request.template,
            status = Empty,
            attempts = Empty,
            latency_ms = Empty,
        );
        self.run(request, url).instrument(span).await
    }

    /// The attempts of one operation: authorize, send, on a 401 forget the credential and send
    /// once more, and retry what the policy retries.
    async fn run(&self, request: &ApiRequest, url: Url) -> Result<Response> {
        let started = Instant::now();
        let disabled = RetryPolicy::disabled();
        let policy = if request.is_idempotent() {
            &self.inner.retry
        } else {
            &disabled
        };
        // The operation's budget bounds everything in it, credentials included: each attempt
        // gets at most what is left of it.
        let deadline = self
            .inner
            .retry
            .deadline()
            .and_then(|budget| Some((budget, started.checked_add(budget)?)));
        let mut attempt = 1;
        let mut reauthenticated = false;
        let outcome = loop {
            // Each attempt has its own span, entered only while the attempt's futures run.
            let span = tracing::debug_span!(
                "thingspace.attempt",
                attempt,
                status = Empty,
                latency_ms = Empty
            );
            // Clocks are read for spans only when someone listens.
            let attempt_started = (!span.is_disabled()).then(Instant::now);
            let outcome = match self
                .attempt(request, &url, deadline, &mut reauthenticated)
                .instrument(span.clone())
                .await
            {
                Ok(outcome) => outcome,
                // Credentials could not be obtained: their source has retried by its own
                // policy already, so retrying here would only multiply its attempts.
                Err(unauthorized) => break Err(unauthorized),
            };
            if let Some(attempt_started) = attempt_started {
                span.record("latency_ms", attempt_started.elapsed().as_millis() as u64);
                if let Ok(response) = &outcome {
                    span.record("status", response.status.as_u16());
                }
            }
            match retry::next_delay(policy, request.operation, started, attempt, &outcome) {
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => break outcome,
            }
        };
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record("attempts", attempt);
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            if let Ok(response) = &outcome {
                span.record("status", response.status.as_u16());
            }
        }
        match outcome {
            Ok(response) => {
                if response.status.is_success() {
                    Ok(response)
                } else {
                    let err = Error::from_response(request.operation, &response);
                    tracing::debug!(error = %err, "request failed");
                    Err(err)
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "request failed");
                Err(err.with_operation(request.operation))
            }
        }
    }

    /// Sends `request` and decodes the JSON body into `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), plus [`ErrorKind::Decode`](crate::ErrorKind::Decode) with the failing JSON path.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<T> {
        self.send(request).await?.json(request.operation)
    }

    /// One attempt: authorize and send; on the first 401 of the operation, forget the
    /// credential that was sent and send once more with a fresh one. The outer error is a
    /// failure to obtain credentials, the inner result what the server or transport said.
    ///
    /// `deadline` is the operation's budget and the moment it runs out: no attempt, token
    /// request or login runs past it.
    async fn attempt(
        &self,
        request: &ApiRequest,
        url: &Url,
        deadline: Option<(Duration, Instant)>,
        reauthenticated: &mut bool,
    ) -> std::result::Result<Result<Response>, Error> {
        loop {
            let mut http = Request::new(request.method.clone(), url.clone());
            http.headers
                .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            http.timeout = self.inner.timeout;
            let left =
                deadline.map(|(budget, at)| (budget, at.saturating_duration_since(Instant::now())));
            if let Some((budget, remaining)) = left {
                if remaining.is_zero() {
                    return Ok(Err(out_of_budget(budget)));
                }
                http.timeout = Some(http.timeout.map_or(remaining, |t| t.min(remaining)));
            }
            let Some(auth) = &self.inner.auth else {
                return Ok(self.inner.transport.send(http).await);
            };
            match left {
                Some((budget, remaining)) => {
                    tokio::time::timeout(remaining, auth.authorize(&mut http))
                        .await
                        .map_err(|_| out_of_budget(budget))??;
                }
                None => auth.authorize(&mut http).await?,
            }
            // The credentials sent (headers marked sensitive), to forget them after a 401. A
            // list, not a map: it is needed only after a 401, and hashing costs on every request.
            let sent: Vec<(HeaderName, HeaderValue)> = http
                .headers
                .iter()
                .filter(|(_, v)| v.is_sensitive())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            let response = match self.inner.transport.send(http).await {
                Ok(response) => response,
                Err(e) => return Ok(Err(e)),
            };
            if response.status != http::StatusCode::UNAUTHORIZED || *reauthenticated {
                return Ok(Ok(response));
            }
            tracing::debug!("401: renewing credentials and retrying once");
            let mut headers = HeaderMap::with_capacity(sent.len());
            for (name, value) in sent {
                headers.append(name, value);
            }
            auth.invalidate(&headers).await;
            *reauthenticated = true;
        }
    }
}

/// The error of an operation whose budget ran out before or during an attempt.
fn out_of_budget(budget: Duration) -> Error {
    Error::new(
        crate::error::ErrorKind::Timeout,
        format!(
            "the operation's time budget of {:.1} s ran out (retry.deadline_secs)",
            budget.as_secs_f64()
        ),
    )
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    base_url: Url,
    transport: Option<SharedTransport>,
    auth: Option<Arc<dyn AuthProvider>>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    max_body_bytes: Option<usize>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url.as_str())
            .field("transport", &self.transport)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ClientBuilder {
    /// Sends requests with `transport` (a mock, a recorder, your own).
    pub fn transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Authenticates requests with `auth`.
    pub fn auth(mut self, auth: Arc<dyn AuthProvider>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Retries with `retry` ([`RetryPolicy::disabled`] turns retries off).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Limits each attempt to `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Caps response bodies of the default transport (ignored with a transport of your own).
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = Some(max);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no transport was given and the `reqwest` feature is off;
    /// [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) when credentials would go over plain http to a remote host.
    pub fn build(self) -> Result<Client> {
        if self.auth.is_some() {
            ensure_secure(&self.base_url)?;
        }
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport(self.max_body_bytes)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                base_url: self.base_url,
                transport,
                auth: self.auth,
                retry: self.retry,
                timeout: self.timeout,
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
fn default_transport(max_body_bytes: Option<usize>) -> Result<SharedTransport> {
    let mut t = crate::transport::ReqwestTransport::new()?;
    if let Some(max) = max_body_bytes {
        t = t.with_max_body_bytes(max);
    }
    Ok(Arc::new(t))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(_: Option<usize>) -> Result<SharedTransport> {
    Err(Error::new(
        crate::error::ErrorKind::Config,
        "no transport: enable the `reqwest` feature of thingspace-core or pass one with ClientBuilder::transport",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::auth::MockAuthProvider;
    use crate::transport::MockTransport;
    use http::StatusCode;
    use mockall::Sequence;

    fn base() -> Url {
        Url::parse("https://api.example.com/api").expect("url")
    }

    fn ok(body: &'static str) -> Result<Response> {
        Ok(Response::new(StatusCode::OK, Default::default(), body))
    }

    fn status(code: u16) -> Result<Response> {
        Ok(Response::new(
            StatusCode::from_u16(code).expect("status"),
            Default::default(),
            "",
        ))
    }

    fn client(transport: MockTransport, auth: Option<MockAuthProvider>) -> Client {
        let mut b = Client::builder(base())
            .transport(Arc::new(transport))
            .retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)));
        if let Some(a) = auth {
            b = b.auth(Arc::new(a));
        }
        b.build().expect("client")
    }

    #[tokio::test]
    async fn builds_the_url_and_accepts_json() {
        let mut t = MockTransport::new();
        t.expect_send()
            .withf(|r| {
                r.url.as_str() == "https://api.example.com/api/m2m/v1/accounts/0000123%3F4?next=5"
                    && r.headers[header::ACCEPT] == "application/json"
                    && r.method == Method::GET
            })
            .times(1)
            .returning(|_| ok("{}"));
        let req = ApiRequest::get("op", "/m2m/v1/accounts/{accountname}")
            .path_param("accountname", "0000123?4")
            .query("next", 5);
        client(t, None).send(&req).await.expect("sent");
    }

    #[tokio::test(start_paused = true)]
    async fn no_attempt_outlasts_the_operations_budget() {
        // Each attempt's timeout is cut to what is left of the budget.
        let mut t = MockTransport::new();
        t.expect_send()
            .withf(|r| r.timeout == Some(Duration::from_secs(10)))
            .times(1)
            .returning(|_| ok("{}"));
        let c = Client::builder(base())
            .transport(Arc::new(t))
            .timeout(Duration::from_secs(30))
            .retry(RetryPolicy::default().with_deadline(Some(Duration::from_secs(10))))
            .build()
            .expect("client");
        c.send(&ApiRequest::get("op", "/x")).await.expect("sent");

        // Credentials that take longer than the budget are given up on at its end.
        #[derive(Debug)]
        struct Stalled;
        #[async_trait::async_trait]
        impl AuthProvider for Stalled {
            async fn authorize(&self, _: &mut Request) -> Result<()> {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            async fn invalidate(&self, _: &HeaderMap) {}
        }
        let mut t = MockTransport::new();
        t.expect_send().times(0);
        let c = Client::builder(base())
            .transport(Arc::new(t))
            .auth(Arc::new(Stalled))
            .retry(RetryPolicy::default().with_deadline(Some(Duration::from_secs(10))))
            .build()
            .expect("client");
        let started = Instant::now();
        let e = c
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect_err("out of budget");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("deadline_secs"), "{e}");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn invalid_input_sends_nothing() {
        let mut t = MockTransport::new();
        t.expect_send().times(0);
        let req = ApiRequest::get("op", "/a/{name}").path_param("name", "");
        let e = client(t, None).send(&req).await.expect_err("empty");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn retries_transient_statuses_then_succeeds() {
        let mut t = MockTransport::new();
        let mut seq = Sequence::new();
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| status(503));
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| status(429));
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| ok("[1]"));
        let v: Vec<u8> = client(t, None)
            .get_json(&ApiRequest::get("op", "/x"))
            .await
            .expect("third try");
        assert_eq!(v, vec![1]);
    }

    #[tokio::test]
    async fn stops_after_max_attempts_and_never_retries_a_404() {
        let mut t = MockTransport::new();
        t.expect_send().times(3).returning(|_| status(502));
        let e = client(t, None)
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect_err("gives up");
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert!(e.is_retryable());

        let mut t = MockTransport::new();
        t.expect_send().times(1).returning(|_| status(404));
        let e = client(t, None)
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect_err("404");
        assert!(e.is_not_found());
    }

    #[tokio::test]
    async fn connection_errors_are_retried() {
        let mut t = MockTransport::new();
        let mut seq = Sequence::new();
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(Error::new(ErrorKind::Connect, "refused")));
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| ok("{}"));
        client(t, None)
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect("retried");
    }

    #[tokio::test]
    async fn a_401_invalidates_once_and_retries_once() {
        let mut t = MockTransport::new();
        let mut seq = Sequence::new();
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| status(401));
        t.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| ok("{}"));
        let mut a = MockAuthProvider::new();
        a.expect_authorize().times(2).returning(|r| {
            let mut value = HeaderValue::from_static("Bearer t");
            value.set_sensitive(true);
            r.headers.insert(header::AUTHORIZATION, value);
            Ok(())
        });
        a.expect_invalidate()
            .withf(|sent| sent.contains_key(header::AUTHORIZATION))
            .times(1)
            .returning(|_| ());
        client(t, Some(a))
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect("re-authenticated");
    }

    #[tokio::test]
    async fn a_second_401_is_an_auth_error() {
        let mut t = MockTransport::new();
        t.expect_send().times(2).returning(|_| status(401));
        let mut a = MockAuthProvider::new();
        a.expect_authorize().times(2).returning(|_| Ok(()));
        a.expect_invalidate().times(1).returning(|_| ());
        let e = client(t, Some(a))
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect_err("401");
        assert!(e.is_auth());
    }

    #[tokio::test]
    async fn credentials_are_renewed_once_per_operation_not_once_per_attempt() {
        // 401 → renew → 503 → retry → 401: the second 401 ends the operation.
        let mut t = MockTransport::new();
        let mut seq = Sequence::new();
        for code in [401, 503, 401] {
            t.expect_send()
                .times(1)
                .in_sequence(&mut seq)
                .returning(move |_| status(code));
        }
        let mut a = MockAuthProvider::new();
        a.expect_authorize().times(3).returning(|_| Ok(()));
        a.expect_invalidate().times(1).returning(|_| ());
        let e = client(t, Some(a))
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect_err("401");
        assert!(e.is_auth(), "{e}");
    }

    #[test]
    fn refuses_credentials_over_plain_http_to_remote_hosts() {
        let e = Client::builder(Url::parse("http://thingspace.example.com/api").expect("url"))
            .transport(Arc::new(MockTransport::new()))
            .auth(Arc::new(MockAuthProvider::new()))
            .build()
            .expect_err("insecure");
        assert_eq!(e.kind(), ErrorKind::Insecure);
    }
}

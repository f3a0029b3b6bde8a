//! The client: a base URL, a [`Pipeline`] and the credentials its requests carry.

use std::{fmt, sync::Arc, time::Duration};

use url::Url;

use crate::auth::{AuthProvider, CredentialStore};
use crate::budget::Budget;
use crate::config::{Config, DEFAULT_PROFILE};
use crate::credentials::{ThingSpaceUsers, require_credentials};
use crate::error::Result;
use crate::hooks::Interceptor;
use crate::message::Response;
use crate::pipeline::Pipeline;
use crate::request::ApiRequest;
use crate::retry::RetryPolicy;
use crate::transport::SharedTransport;
use crate::urls::ensure_secure;

/// The SDK's client: cheap to clone, shared by every family crate.
///
/// It holds the base URL, the [`Pipeline`] (transport, retry policy, timeout, interceptors)
/// and the auth provider; family crates turn their operations into [`ApiRequest`]s and call
/// [`send`](Self::send).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    pipeline: Pipeline,
    auth: Option<Arc<dyn AuthProvider>>,
    /// The application's UWS users, for [`Client::as_profile`] (ThingSpace clients only).
    users: Option<Arc<ThingSpaceUsers>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("pipeline", &self.inner.pipeline)
            .field("auth", &self.inner.auth)
            .finish()
    }
}

impl Client {
    /// A builder for a client on `base_url`.
    pub fn builder(base_url: Url) -> ClientBuilder {
        ClientBuilder {
            base_url,
            transport: None,
            pipeline: None,
            auth: None,
            retry: RetryPolicy::default(),
            timeout: Some(crate::transport::DEFAULT_TIMEOUT),
            max_body_bytes: None,
            interceptors: Vec::new(),
        }
    }

    /// A client on `base_url` sending through `pipeline`, with `auth` adding credentials.
    ///
    /// # Errors
    /// [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) when credentials would go over plain
    /// http to a remote host.
    pub fn new(
        base_url: Url,
        pipeline: Pipeline,
        auth: Option<Arc<dyn AuthProvider>>,
    ) -> Result<Self> {
        if auth.is_some() {
            ensure_secure(&base_url)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                base_url,
                pipeline,
                auth,
                users: None,
            }),
        })
    }

    /// A ThingSpace client (m2m, subsc) from configuration, with the default transport.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when a credential is missing or a URL is insecure.
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub fn thingspace(config: &Config) -> Result<Self> {
        let transport = crate::transport::ReqwestTransport::new()?
            .with_max_body_bytes(usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX));
        Self::thingspace_with_transport(config, Arc::new(transport))
    }

    /// Without the `reqwest` feature there is no default transport: a call says so when it is
    /// compiled, instead of "no function `thingspace`". Enable the feature, or give a
    /// transport of your own to [`Client::thingspace_with_transport`].
    #[cfg(not(feature = "reqwest"))]
    #[doc(hidden)]
    pub fn thingspace<C: ReqwestFeatureIsOff + ?Sized>(config: &C) -> Result<Self> {
        config.never_called()
    }

    /// A ThingSpace client from configuration, on the given transport.
    ///
    /// The bearer token and the M2M session are obtained on first use and renewed
    /// automatically ([`ThingSpaceAuth`](crate::ThingSpaceAuth)); the caller never handles a token.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when a credential is missing; [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) when a URL
    /// would carry credentials over plain http to a non-loopback host.
    pub fn thingspace_with_transport(config: &Config, transport: SharedTransport) -> Result<Self> {
        Self::thingspace_with_pipeline(config, config.pipeline(transport), None)
    }

    /// A ThingSpace client from configuration, sending through `pipeline` (built with
    /// [`Config::pipeline`] and your [interceptors](crate::hooks::Interceptor), such as a
    /// shared rate limiter), its bearer token and sessions shared through `store` with the
    /// other processes of a fleet when one is given (`thingspace-redis`).
    ///
    /// # Errors
    /// As [`thingspace_with_transport`](Self::thingspace_with_transport).
    pub fn thingspace_with_pipeline(
        config: &Config,
        pipeline: Pipeline,
        store: Option<Arc<dyn CredentialStore>>,
    ) -> Result<Self> {
        // Every credential named at once when some are missing.
        require_credentials(config)?;
        let users = Arc::new(match store {
            Some(store) => ThingSpaceUsers::shared(config, &pipeline, store)?,
            None => ThingSpaceUsers::from_config(config, &pipeline)?,
        });
        let auth: Arc<dyn AuthProvider> = users.user(DEFAULT_PROFILE)?;
        ensure_secure(&config.base_url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: config.base_url.clone(),
                pipeline,
                auth: Some(auth),
                users: Some(users),
            }),
        })
    }

    /// The same client acting as another UWS user of the same application: the profile `name`
    /// of the configuration (`[profiles.<name>]`; `default` is the top-level user). The bearer
    /// token is shared; the user's session is its own, opened on first use and shared by every
    /// client of that profile. Managed billing needs this: `add` runs as the primary account's
    /// user, `provision` and `cancel` as the managed account's.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a profile that is not configured,
    /// or a client not made by [`Client::thingspace`].
    pub fn as_profile(&self, name: &str) -> Result<Self> {
        let users = self.inner.users.as_ref().ok_or_else(|| {
            crate::Error::config("profiles are for ThingSpace clients (Client::thingspace)")
        })?;
        let auth: Arc<dyn AuthProvider> = users.user(name)?;
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: self.inner.base_url.clone(),
                pipeline: self.inner.pipeline.clone(),
                auth: Some(auth),
                users: Some(users.clone()),
            }),
        })
    }

    /// The base URL requests are relative to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The pipeline requests go through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.inner.pipeline.retry_policy()
    }

    /// Sends `request` through the pipeline (authorize, send, classify, retry, trace) within
    /// a fresh budget of `retry.deadline_secs`; returns a success response.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before anything is sent, for a bad path parameter;
    /// - [`ErrorKind::Api`](crate::ErrorKind::Api) or [`ErrorKind::Auth`](crate::ErrorKind::Auth) for a non-success status, with the envelope;
    /// - [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown) for an unsafe request sent whose answer was lost;
    /// - connection, timeout and body errors from the transport, after the retries.
    pub async fn send(&self, request: &ApiRequest) -> Result<Response> {
        self.send_within(request, &self.inner.pipeline.budget())
            .await
    }

    /// As [`send`](Self::send), within `budget` (an operation made of several requests shares one).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_within(&self, request: &ApiRequest, budget: &Budget) -> Result<Response> {
        self.inner
            .pipeline
            .send(
                request,
                &self.inner.base_url,
                self.inner.auth.as_deref(),
                budget,
            )
            .await
    }

    /// Ends the session the client's credentials opened on the server, if any (ThingSpace's
    /// M2M session: `POST /m2m/v1/session/logout`); the next request opens a new one. Returns
    /// whether a session was ended. Call it when a program is done: sessions otherwise live on
    /// until they are 20 minutes idle. Callbacks of requests already made still arrive.
    ///
    /// # Errors
    /// As [`send`](Self::send), for the logout request.
    pub async fn end_session(&self) -> Result<bool> {
        match &self.inner.auth {
            Some(auth) => auth.end_session(&self.inner.pipeline.budget()).await,
            None => Ok(false),
        }
    }

    /// Sends `request` and decodes the JSON body into `T`.
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`ErrorKind::Decode`](crate::ErrorKind::Decode) with the failing JSON path.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<T> {
        self.send(request).await?.json(request.operation())
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    base_url: Url,
    transport: Option<SharedTransport>,
    pipeline: Option<Pipeline>,
    auth: Option<Arc<dyn AuthProvider>>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    max_body_bytes: Option<usize>,
    interceptors: Vec<Arc<dyn Interceptor>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url.as_str())
            .field("transport", &self.transport)
            .field("pipeline", &self.pipeline)
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

    /// Sends requests through `pipeline`, which carries its own transport, retry policy,
    /// timeout and interceptors (the builder's are then ignored). Use it when credential
    /// sources must share the client's pipeline.
    pub fn pipeline(mut self, pipeline: Pipeline) -> Self {
        self.pipeline = Some(pipeline);
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

    /// Adds an interceptor (see [`Interceptor`]).
    pub fn interceptor(mut self, interceptor: Arc<dyn Interceptor>) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no transport was given and the `reqwest` feature is off;
    /// [`ErrorKind::Insecure`](crate::ErrorKind::Insecure) when credentials would go over plain http to a remote host.
    pub fn build(self) -> Result<Client> {
        let pipeline = match self.pipeline {
            Some(p) => p,
            None => {
                let transport = match self.transport {
                    Some(t) => t,
                    None => default_transport(self.max_body_bytes)?,
                };
                let mut p = Pipeline::new(transport)
                    .with_retry(self.retry)
                    .with_timeout(self.timeout);
                for i in self.interceptors {
                    p = p.with_interceptor(i);
                }
                p
            }
        };
        Client::new(self.base_url, pipeline, self.auth)
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
    Err(crate::error::Error::new(
        crate::error::ErrorKind::Config,
        "no transport: enable the `reqwest` feature of thingspace-core or pass one with ClientBuilder::transport",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::MockAuthProvider;
    use crate::message::Request;
    use crate::transport::MockTransport;
    use crate::{Error, ErrorKind};
    use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
    use mockall::Sequence;
    use tokio::time::Instant;

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

    /// An auth mock that reads a 401 as a refusal, as the default does.
    fn auth_mock() -> MockAuthProvider {
        let mut a = MockAuthProvider::new();
        a.expect_rejection().returning(|r| {
            (r.status == StatusCode::UNAUTHORIZED).then_some(crate::Rejection::Unknown)
        });
        a
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
            async fn authorize(&self, _: &mut Request, _: &Budget) -> Result<()> {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            async fn invalidate(&self, _: &HeaderMap, _: &Response) {}
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
        // A provider that ignores the budget is cut a moment after its end (the SDK's own
        // sources are bounded by the budget itself, and say which step ran out).
        assert_eq!(started.elapsed(), Duration::from_millis(10_100));
        assert!(e.to_string().contains("obtaining credentials"), "{e}");
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
        let mut a = auth_mock();
        a.expect_authorize().times(2).returning(|r, _| {
            let mut value = HeaderValue::from_static("Bearer t");
            value.set_sensitive(true);
            r.headers.insert(header::AUTHORIZATION, value);
            Ok(())
        });
        a.expect_invalidate()
            .withf(|sent, _| sent.contains_key(header::AUTHORIZATION))
            .times(1)
            .returning(|_, _| ());
        client(t, Some(a))
            .send(&ApiRequest::get("op", "/x"))
            .await
            .expect("re-authenticated");
    }

    #[tokio::test]
    async fn a_second_401_is_an_auth_error() {
        let mut t = MockTransport::new();
        t.expect_send().times(2).returning(|_| status(401));
        let mut a = auth_mock();
        a.expect_authorize().times(2).returning(|_, _| Ok(()));
        a.expect_invalidate().times(1).returning(|_, _| ());
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
        let mut a = auth_mock();
        a.expect_authorize().times(3).returning(|_, _| Ok(()));
        a.expect_invalidate().times(1).returning(|_, _| ());
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

    #[tokio::test]
    async fn an_unsafe_request_is_sent_again_after_a_refusal_only_if_it_was_not_processed() {
        // A 401 of which nothing more is known: an unsafe request is not sent again.
        let mut t = MockTransport::new();
        t.expect_send().times(1).returning(|_| status(401));
        let mut a = auth_mock();
        a.expect_authorize().times(1).returning(|_, _| Ok(()));
        a.expect_invalidate().times(0);
        let e = client(t, Some(a))
            .send(&ApiRequest::post("op", "/x").json(&1))
            .await
            .expect_err("401");
        assert!(e.is_auth() && e.is_outcome_unknown(), "{e}");
        assert!(e.to_string().contains("not sent again"), "{e}");

        // Refused before processing (a gateway's answer): renewed and sent again.
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
        a.expect_rejection()
            .returning(|_| Some(crate::Rejection::BeforeProcessing));
        a.expect_authorize().times(2).returning(|_, _| Ok(()));
        a.expect_invalidate().times(1).returning(|_, _| ());
        client(t, Some(a))
            .send(&ApiRequest::post("op", "/x").json(&1))
            .await
            .expect("sent again");
    }

    #[derive(Debug, Default)]
    struct Counting {
        operations: std::sync::atomic::AtomicUsize,
        attempts: std::sync::atomic::AtomicUsize,
        finished: std::sync::Mutex<Vec<Option<u16>>>,
    }

    #[async_trait::async_trait]
    impl crate::hooks::Interceptor for Counting {
        async fn before_operation(&self, op: &crate::hooks::OperationInfo<'_>) -> Result<()> {
            assert_eq!(op.operation, "op");
            assert_eq!(op.account, Some("acct"), "the account reaches interceptors");
            self.operations
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }

        async fn before_attempt(
            &self,
            _: &crate::hooks::OperationInfo<'_>,
            attempt: u32,
            request: &mut Request,
        ) -> Result<()> {
            self.attempts
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            request.headers.insert(
                "x-attempt",
                HeaderValue::from_str(&attempt.to_string()).expect("header"),
            );
            Ok(())
        }

        fn after_operation(
            &self,
            _: &crate::hooks::OperationInfo<'_>,
            result: std::result::Result<&Response, &Error>,
            _: Duration,
        ) {
            self.finished
                .lock()
                .expect("lock")
                .push(result.ok().map(|r| r.status.as_u16()));
        }
    }

    #[tokio::test]
    async fn interceptors_see_each_operation_once_and_each_attempt() {
        let mut t = MockTransport::new();
        let mut seq = Sequence::new();
        t.expect_send()
            .withf(|r| r.headers["x-attempt"] == "1")
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| status(503));
        t.expect_send()
            .withf(|r| r.headers["x-attempt"] == "2")
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| ok("{}"));
        let counting = Arc::new(Counting::default());
        let c = Client::builder(base())
            .transport(Arc::new(t))
            .retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1)))
            .interceptor(counting.clone())
            .build()
            .expect("client");
        c.send(&ApiRequest::get("op", "/x").for_account("acct"))
            .await
            .expect("retried");
        use std::sync::atomic::Ordering::SeqCst;
        assert_eq!(counting.operations.load(SeqCst), 1);
        assert_eq!(counting.attempts.load(SeqCst), 2);
        assert_eq!(*counting.finished.lock().expect("lock"), [Some(200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unsafe_request_is_not_started_with_a_sliver_of_budget_left() {
        /// Credentials that take 9.6 s of a 10 s budget.
        #[derive(Debug)]
        struct Slow;
        #[async_trait::async_trait]
        impl AuthProvider for Slow {
            async fn authorize(&self, _: &mut Request, _: &Budget) -> Result<()> {
                tokio::time::sleep(Duration::from_millis(9_600)).await;
                Ok(())
            }
            async fn invalidate(&self, _: &HeaderMap, _: &Response) {}
        }
        let mut t = MockTransport::new();
        t.expect_send().times(0);
        let c = Client::builder(base())
            .transport(Arc::new(t))
            .auth(Arc::new(Slow))
            .retry(RetryPolicy::default().with_deadline(Some(Duration::from_secs(10))))
            .build()
            .expect("client");
        let e = c
            .send(&ApiRequest::post("op", "/x").json(&1))
            .await
            .expect_err("not sent");
        assert!(e.is_timeout() && !e.is_outcome_unknown(), "{e}");
        assert!(e.to_string().contains("during the attempt"), "{e}");
    }

    #[tokio::test]
    async fn an_answer_to_a_request_holding_secrets_keeps_no_snippet() {
        let mut t = MockTransport::new();
        t.expect_send().times(1).returning(|_| {
            Ok(Response::new(
                StatusCode::BAD_REQUEST,
                Default::default(),
                "<html>you sent pin=4321</html>",
            ))
        });
        let e = client(t, None)
            .send(
                &ApiRequest::post("op", "/x")
                    .json(&serde_json::json!({"pin": "4321"}))
                    .secret_fields(&["pin"]),
            )
            .await
            .expect_err("400");
        assert_eq!(e.body_snippet(), None);
        assert!(!format!("{e} {e:?}").contains("4321"));
    }
}

/// Implemented by nothing: the bound of `Client::thingspace` without the `reqwest` feature,
/// whose message tells what to enable.
#[cfg(not(feature = "reqwest"))]
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`Client::thingspace` needs the `reqwest` feature (the default transport), which is off",
    label = "needs the `reqwest` feature",
    note = "enable it: `thingspace = {{ version = \"0.1\", default-features = false, features = [\"m2m\", \"reqwest\"] }}` (or `features = [\"reqwest\"]` on thingspace-core), or give a transport of your own to `Client::thingspace_with_transport`"
)]
pub trait ReqwestFeatureIsOff {
    /// Never called: nothing implements the trait.
    fn never_called(&self) -> Result<Client>;
}

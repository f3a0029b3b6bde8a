//! Authentication: providers that add credentials to requests, and the cache they share.
//!
//! A [`CredentialSource`] knows how to obtain a credential (a token request, a login).
//! [`CachedAuth`] wraps any source and gives it the behaviour every provider needs: one
//! caller refreshes at a time, refresh happens ahead of expiry, a still-valid credential is
//! kept when an early refresh fails, and a credential the server rejected is dropped once,
//! however many requests saw it rejected. [`AuthProvider`] is what the client calls.

use std::{
    fmt,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::budget::Budget;
use crate::error::{Error, ErrorKind, Result};
use crate::message::{Request, Response};
use crate::urls::ensure_secure;

mod store;
pub use self::store::{CredentialStore, StoreKey};
mod static_auth;
pub use self::static_auth::StaticAuth;

/// Adds credentials to requests. Held by the client as `Arc<dyn AuthProvider>`.
#[cfg_attr(any(test, feature = "mockall"), mockall::automock)]
#[async_trait]
pub trait AuthProvider: Send + Sync + fmt::Debug {
    /// Adds this provider's credential headers to `request`, obtaining them first if needed,
    /// within what is left of the operation's `budget` (a token request or a login it needs
    /// takes from the same budget as the request it serves).
    async fn authorize(&self, request: &mut Request, budget: &Budget) -> Result<()>;

    /// Whether `response` says the credentials sent were refused, and if so whether the
    /// service surely did not act on the request. The default: a 401 is a refusal, of which
    /// nothing more is known. A provider that knows its service says more (ThingSpace's
    /// gateway answers a bad bearer with its own body; its expired sessions come back as 400).
    fn rejection(&self, response: &Response) -> Option<Rejection> {
        (response.status == http::StatusCode::UNAUTHORIZED).then_some(Rejection::Unknown)
    }

    /// The server answered 401 to a request that carried the credential headers `sent` (the
    /// request's headers marked sensitive: providers mark theirs, as [`Credential`] does):
    /// forget the credentials found there, so the next [`authorize`](Self::authorize) obtains
    /// fresh ones. Credentials already replaced since are kept.
    ///
    /// `answer` is the response that refused them, for a provider with several credentials to
    /// tell which one was refused.
    async fn invalidate(&self, sent: &HeaderMap, answer: &Response);

    /// Ends what this provider opened on the server, if anything (ThingSpace's M2M session,
    /// with `POST /m2m/v1/session/logout`), within `budget`, and forgets it: the next request
    /// opens a new one. Returns whether something was ended. The default has nothing to end.
    async fn end_session(&self, budget: &Budget) -> Result<bool> {
        let _ = budget;
        Ok(false)
    }
}

/// A refusal of the credentials a request carried, as its provider reads the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Refused by the credential check before the service processed the request (a gateway's
    /// answer, or a session the service refused before acting): renewing the credentials and
    /// sending the request again is safe for every operation.
    BeforeProcessing,
    /// Refused, but the service may have seen the request: only an
    /// [`Idempotency::Safe`](crate::retry::Idempotency::Safe) operation is sent again.
    Unknown,
}

/// A credential: the headers it adds and when it stops being valid.
#[derive(Clone)]
pub struct Credential {
    headers: Vec<(HeaderName, HeaderValue)>,
    obtained_at: Instant,
    expires_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

impl Credential {
    /// A credential made of `headers` (marked sensitive here), valid for `lifetime` (forever when `None`).
    pub fn new(headers: Vec<(HeaderName, HeaderValue)>, lifetime: Option<Duration>) -> Self {
        let now = Instant::now();
        let headers = headers
            .into_iter()
            .map(|(n, mut v)| {
                v.set_sensitive(true);
                (n, v)
            })
            .collect();
        // A lifetime too long to represent is no expiry at all.
        let lifetime = lifetime.filter(|l| now.checked_add(*l).is_some());
        Self {
            headers,
            obtained_at: now,
            expires_at: lifetime.and_then(|l| now.checked_add(l)),
            refresh_at: lifetime.and_then(|l| now.checked_add(l.saturating_sub(refresh_margin(l)))),
        }
    }

    /// A bearer credential: `Authorization: Bearer <token>`.
    ///
    /// # Errors
    /// When the token has characters a header cannot carry.
    pub fn bearer(token: &str, lifetime: Option<Duration>) -> Result<Self> {
        let value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
            Error::new(
                ErrorKind::Decode,
                "the token endpoint returned a token that is not a valid header value",
            )
        })?;
        Ok(Self::new(
            vec![(http::header::AUTHORIZATION, value)],
            lifetime,
        ))
    }

    /// The headers this credential adds.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// Copies the headers into `headers`, replacing earlier values.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (n, v) in &self.headers {
            headers.insert(n.clone(), v.clone());
        }
    }

    /// How long ago this credential was obtained.
    pub fn age(&self) -> Duration {
        self.obtained_at.elapsed()
    }

    /// How long it stays valid from now (zero once expired), or `None` when it does not expire.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_at
            .map(|t| t.saturating_duration_since(Instant::now()))
    }

    /// How long until it is due for refresh (zero once due), or `None` when it never is.
    pub fn refresh_in(&self) -> Option<Duration> {
        self.refresh_at
            .map(|t| t.saturating_duration_since(Instant::now()))
    }

    /// The same credential, due for refresh `after` from now (never later than its expiry): for
    /// a store that hands out a credential obtained elsewhere, with the refresh time its
    /// fetcher chose, so every holder refreshes at once and one refresh serves them all.
    #[must_use]
    pub fn refreshing_in(mut self, after: Duration) -> Self {
        let at = Instant::now().checked_add(after);
        self.refresh_at = match (at, self.expires_at) {
            (Some(at), Some(expires)) => Some(at.min(expires)),
            (at, expires) => at.or(expires),
        };
        self
    }

    /// True when the headers of `self` and `other` are the same: the same credential, whoever
    /// obtained it.
    pub fn same_as(&self, other: &Credential) -> bool {
        self.headers == other.headers
    }

    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    fn wants_refresh(&self, now: Instant) -> bool {
        self.refresh_at.is_some_and(|t| now >= t)
    }

    /// True when every header of this credential was sent with the same value in `sent`.
    fn was_sent_in(&self, sent: &HeaderMap) -> bool {
        self.headers.iter().all(|(n, v)| sent.get(n) == Some(v))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// How far ahead of expiry a credential is refreshed: a minute, or a quarter of a short
/// lifetime, less up to a tenth of that at random so many clients do not refresh together.
fn refresh_margin(lifetime: Duration) -> Duration {
    let base = Duration::from_secs(60).min(lifetime / 4);
    base + (base / 10).mul_f64(fastrand::f64())
}

/// Obtains a fresh credential: a token request, a login.
#[async_trait]
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// Requests a new credential, within what is left of `budget`: the budget of the operation
    /// that needs it.
    async fn fetch(&self, budget: &Budget) -> Result<Credential>;
}

/// The caching layer every provider shares. Implements [`AuthProvider`] by adding the cached
/// credential's headers.
pub struct CachedAuth<S> {
    source: S,
    /// Where credentials are shared with other processes, and under which key.
    store: Option<(Arc<dyn CredentialStore>, StoreKey)>,
    current: RwLock<Option<Arc<Credential>>>,
    refresh: tokio::sync::Mutex<()>,
    fetches: Mutex<Fetches>,
}

/// What the fetches so far came to, for callers who waited on one.
#[derive(Default)]
struct Fetches {
    /// Fetches completed.
    count: u64,
    /// The error of the last one, if it failed.
    failure: Option<Error>,
    /// After a failed early refresh: the credential in hand serves until then.
    refresh_paused_until: Option<Instant>,
    /// After a refusal of the credentials (an `Auth` error, such as a wrong password): the
    /// refusal is the answer until then, without asking again.
    refused_until: Option<Instant>,
}

/// How long a refusal answers for itself, so a loop of requests with a wrong password does
/// not become a loop of failed logins (and a locked account).
const REFUSAL_HOLD: Duration = Duration::from_secs(5);

impl<S: CredentialSource> CachedAuth<S> {
    /// Caches credentials obtained from `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            store: None,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            fetches: Mutex::new(Fetches::default()),
        }
    }

    /// Shares credentials with other processes through `store`, under `key`: on a miss, when
    /// due for refresh and after a refusal, the cache asks the store, which hands out the
    /// credential another process obtained or has one process of all fetch it. The cache stays
    /// in front: requests with a valid credential in hand never reach the store.
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn CredentialStore>, key: StoreKey) -> Self {
        self.store = Some((store, key));
        self
    }

    /// True when credentials are shared with other processes through a store.
    pub fn is_shared(&self) -> bool {
        self.store.is_some()
    }

    /// The source behind the cache.
    pub fn source(&self) -> &S {
        &self.source
    }

    fn cached(&self) -> Option<Arc<Credential>> {
        self.current.read().map_or(None, |g| g.clone())
    }

    fn store(&self, value: Option<Arc<Credential>>) {
        if let Ok(mut g) = self.current.write() {
            *g = value;
        }
    }

    fn fetches(&self) -> std::sync::MutexGuard<'_, Fetches> {
        self.fetches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached credential, unless it is due for a refresh that is not paused (after a
    /// failed refresh, a valid credential serves on).
    fn usable(&self, now: Instant) -> Option<Arc<Credential>> {
        let c = self.cached()?;
        if !c.wants_refresh(now) {
            return Some(c);
        }
        let paused = {
            let f = self.fetches();
            f.refresh_paused_until.is_some_and(|t| now < t)
                || f.refused_until.is_some_and(|t| now < t)
        };
        (paused && !c.is_expired(now)).then_some(c)
    }

    /// A valid credential: the cached one, or a fresh one from the source. Only one caller
    /// fetches at a time; the others wait and share its result, a failure included (a wrong
    /// password is tried once, not once per waiting caller). A refusal of the credentials
    /// (an [`ErrorKind::Auth`] error) answers every caller for five seconds before the source
    /// is asked again.
    ///
    /// # Errors
    /// The source's error, when there is no still-valid credential to fall back on.
    pub async fn credential(&self) -> Result<Arc<Credential>> {
        self.credential_within(&Budget::unlimited()).await
    }

    /// As [`credential`](Self::credential), within what is left of `budget`: waiting for
    /// another caller's fetch, and a fetch of its own, end when the budget does.
    ///
    /// # Errors
    /// As [`credential`](Self::credential); [`ErrorKind::Timeout`] when the budget runs out.
    pub async fn credential_within(&self, budget: &Budget) -> Result<Arc<Credential>> {
        if let Some(c) = self.usable(Instant::now()) {
            return Ok(c);
        }
        let seen = {
            let fetches = self.fetches();
            if fetches.refused_until.is_some_and(|t| Instant::now() < t)
                && let Some(refusal) = &fetches.failure
            {
                return Err(refusal.shared_copy());
            }
            fetches.count
        };
        let _guard = match self.refresh.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another caller is refreshing. A credential that is still valid serves now
                // rather than waiting for the early refresh to finish.
                if let Some(c) = self.cached()
                    && !c.is_expired(Instant::now())
                {
                    return Ok(c);
                }
                budget
                    .run("the wait for a credential", async {
                        Ok(self.refresh.lock().await)
                    })
                    .await?
            }
        };
        if let Some(c) = self.usable(Instant::now()) {
            return Ok(c);
        }
        {
            // A fetch that ended while this caller waited failed: share its error.
            let fetches = self.fetches();
            if fetches.count != seen
                && let Some(failure) = &fetches.failure
            {
                return Err(failure.shared_copy());
            }
        }
        let previous = self.cached();
        let outcome = match &self.store {
            Some((store, key)) => store.obtain(key, &self.source, budget).await,
            None => self.source.fetch(budget).await,
        };
        if let Some(err) = outcome
            .as_ref()
            .err()
            .filter(|e| e.is_timeout() && budget.is_spent())
        {
            // This caller's budget ran out, not the source: the callers waiting have budgets of
            // their own and fetch with them, rather than share this caller's end.
            return Err(err.shared_copy());
        }
        let mut fetches = self.fetches();
        fetches.count += 1;
        match outcome {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                self.store(Some(fresh.clone()));
                fetches.failure = None;
                fetches.refresh_paused_until = None;
                fetches.refused_until = None;
                Ok(fresh)
            }
            Err(err) => {
                fetches.failure = Some(err.shared_copy());
                let now = Instant::now();
                fetches.refused_until = (err.kind() == ErrorKind::Auth)
                    .then(|| now.checked_add(REFUSAL_HOLD))
                    .flatten();
                // The credential in hand serves on, unless a 401 dropped it during the fetch.
                let still_held =
                    previous.filter(|p| self.cached().is_some_and(|c| Arc::ptr_eq(&c, p)));
                match still_held {
                    Some(c) if !c.is_expired(now) => {
                        // Keep the credential in hand, and do not try again on every request:
                        // wait a quarter of its remaining life (at most 15 s).
                        let left = c.expires_at.map_or(Duration::from_secs(15), |t| {
                            t.saturating_duration_since(now)
                        });
                        fetches.refresh_paused_until =
                            now.checked_add((left / 4).min(Duration::from_secs(15)));
                        tracing::warn!(error = %err, "early credential refresh failed; keeping the current one");
                        Ok(c)
                    }
                    _ => Err(err),
                }
            }
        }
    }

    /// Drops the cached credential if it is the one sent in `sent`. Returns whether it did.
    pub fn invalidate_sent(&self, sent: &HeaderMap) -> bool {
        let Ok(mut g) = self.current.write() else {
            return false;
        };
        if g.as_ref().is_some_and(|c| c.was_sent_in(sent)) {
            *g = None;
            true
        } else {
            false
        }
    }

    /// Drops the cached credential if it is the one sent in `sent`, and tells the store, if
    /// credentials are shared, to forget it if it still holds it. Returns whether the cached
    /// credential was dropped.
    pub async fn refused(&self, sent: &HeaderMap) -> bool {
        let dropped = {
            let Ok(mut g) = self.current.write() else {
                return false;
            };
            if g.as_ref().is_some_and(|c| c.was_sent_in(sent)) {
                g.take()
            } else {
                None
            }
        };
        let Some(dropped) = dropped else {
            return false;
        };
        if let Some((store, key)) = &self.store {
            store.refused(key, &dropped).await;
        }
        true
    }

    /// Drops the cached credential unconditionally.
    pub fn clear(&self) {
        self.store(None);
    }

    /// Removes the cached credential and returns it, to end it on the server.
    pub fn take(&self) -> Option<Arc<Credential>> {
        self.current.write().ok().and_then(|mut g| g.take())
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let has = self.current.read().map(|g| g.is_some()).unwrap_or(false);
        f.debug_struct("CachedAuth")
            .field("source", &self.source)
            .field("cached", &has)
            .field(
                "shared",
                &self.store.as_ref().map(|(_, key)| key.identity()),
            )
            .finish()
    }
}

#[async_trait]
impl<S: CredentialSource> AuthProvider for CachedAuth<S> {
    async fn authorize(&self, request: &mut Request, budget: &Budget) -> Result<()> {
        ensure_secure(&request.url)?;
        self.credential_within(budget)
            .await?
            .apply(&mut request.headers);
        Ok(())
    }

    async fn invalidate(&self, sent: &HeaderMap, _answer: &Response) {
        self.refused(sent).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use url::Url;

    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Option<Duration>,
    }

    #[async_trait]
    impl CredentialSource for Counting {
        async fn fetch(&self, _: &Budget) -> Result<Credential> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Credential::bearer(&format!("token-{n}"), self.lifetime)
        }
    }

    fn get() -> Request {
        Request::new(
            http::Method::GET,
            Url::parse("https://example.com/x").expect("url"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hundred_concurrent_callers_cause_one_fetch() {
        let auth = Arc::new(CachedAuth::new(Counting::default()));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move {
                    let mut r = get();
                    auth.authorize(&mut r, &Budget::unlimited())
                        .await
                        .map(|_| r)
                })
            })
            .collect();
        for t in tasks {
            let r = t.await.expect("join").expect("authorized");
            assert_eq!(r.headers[http::header::AUTHORIZATION], "Bearer token-0");
            assert!(r.headers[http::header::AUTHORIZATION].is_sensitive());
        }
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_ahead_of_expiry() {
        let auth = CachedAuth::new(Counting {
            lifetime: Some(Duration::from_secs(3600)),
            ..Default::default()
        });
        auth.credential().await.expect("first");
        tokio::time::advance(Duration::from_secs(3500)).await;
        auth.credential().await.expect("still cached");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(50)).await;
        auth.credential().await.expect("refreshed");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
    }

    #[derive(Debug)]
    struct Slow {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl CredentialSource for Slow {
        async fn fetch(&self, _: &Budget) -> Result<Credential> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Credential::bearer(&format!("slow-{n}"), Some(Duration::from_secs(100)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_early_refresh_does_not_hold_up_callers_with_a_valid_credential() {
        let auth = Arc::new(CachedAuth::new(Slow {
            calls: AtomicUsize::new(0),
        }));
        auth.credential().await.expect("first");
        // Inside the refresh window (the last quarter), but not expired.
        tokio::time::advance(Duration::from_secs(80)).await;
        let refresher = tokio::spawn({
            let auth = auth.clone();
            async move { auth.credential().await }
        });
        tokio::task::yield_now().await;
        let started = Instant::now();
        let during = auth.credential().await.expect("served at once");
        assert_eq!(during.headers()[0].1, "Bearer slow-0");
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "did not wait for the refresh"
        );
        let refreshed = refresher.await.expect("join").expect("refreshed");
        assert_eq!(refreshed.headers()[0].1, "Bearer slow-1");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
    }

    /// Fails the fetches whose number (from 0) is in `failing`, after 20 ms: with a refusal,
    /// or with a connection error when `transient`.
    #[derive(Debug, Default)]
    struct Failing {
        calls: AtomicUsize,
        failing: Vec<usize>,
        transient: bool,
    }

    #[async_trait]
    impl CredentialSource for Failing {
        async fn fetch(&self, _: &Budget) -> Result<Credential> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.failing.contains(&n) {
                let kind = if self.transient {
                    ErrorKind::Connect
                } else {
                    ErrorKind::Auth
                };
                return Err(Error::new(kind, "refused: wrong password")
                    .with_source(std::io::Error::other("the server said no")));
            }
            Credential::bearer(&format!("t-{n}"), Some(Duration::from_secs(100)))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_on_a_failed_fetch_share_its_error() {
        let auth = Arc::new(CachedAuth::new(Failing {
            failing: vec![0],
            transient: true,
            ..Default::default()
        }));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move { auth.credential().await })
            })
            .collect();
        for t in tasks {
            match t.await.expect("join") {
                // A task that started after the failure tries again, and succeeds.
                Ok(c) => assert_eq!(c.headers()[0].1, "Bearer t-1"),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Connect);
                    assert!(e.to_string().contains("wrong password"), "{e}");
                }
            }
        }
        assert!(auth.source().calls.load(Ordering::SeqCst) <= 2);
        // A later caller tries again: the failure was transient.
        auth.credential().await.expect("a later fetch");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_early_refresh_keeps_the_valid_credential() {
        let auth = CachedAuth::new(Failing {
            failing: vec![1, 2, 3, 4],
            ..Default::default()
        });
        auth.credential().await.expect("first");
        tokio::time::advance(Duration::from_secs(80)).await;
        for _ in 0..3 {
            let c = auth.credential().await.expect("kept");
            assert_eq!(c.headers()[0].1, "Bearer t-0");
            tokio::time::advance(Duration::from_secs(6)).await;
        }
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 4);
        // Expired, and refused again: now it is an error.
        tokio::time::advance(Duration::from_secs(10)).await;
        auth.credential().await.expect_err("expired and refused");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_answers_for_itself_for_a_few_seconds() {
        let auth = CachedAuth::new(Failing {
            failing: vec![0, 1],
            ..Default::default()
        });
        for _ in 0..10 {
            let e = auth.credential().await.expect_err("refused");
            assert_eq!(e.kind(), ErrorKind::Auth);
        }
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(REFUSAL_HOLD).await;
        auth.credential()
            .await
            .expect_err("asked again, refused again");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(REFUSAL_HOLD).await;
        auth.credential().await.expect("accepted at last");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_early_refresh_is_not_retried_on_every_request() {
        let auth = CachedAuth::new(Failing {
            failing: vec![1, 2],
            transient: true,
            ..Default::default()
        });
        auth.credential().await.expect("first");
        // In the refresh window, 20 s before expiry: the refresh fails, the token serves.
        tokio::time::advance(Duration::from_secs(80)).await;
        for _ in 0..10 {
            let c = auth.credential().await.expect("kept");
            assert_eq!(c.headers()[0].1, "Bearer t-0");
        }
        assert_eq!(
            auth.source().calls.load(Ordering::SeqCst),
            2,
            "one refresh tried"
        );
        // Paused for a quarter of the remaining life (5 s), then tried again.
        tokio::time::advance(Duration::from_secs(6)).await;
        auth.credential().await.expect("kept again");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 3);
        tokio::time::advance(Duration::from_secs(4)).await;
        let c = auth.credential().await.expect("refreshed");
        assert_eq!(c.headers()[0].1, "Bearer t-3");
    }

    #[test]
    fn an_unrepresentable_lifetime_never_expires() {
        let c = Credential::bearer("t", Some(Duration::MAX)).expect("credential");
        assert!(!c.is_expired(Instant::now()));
        assert!(!c.wants_refresh(Instant::now()));
    }

    #[tokio::test]
    async fn invalidation_drops_only_the_rejected_credential() {
        let auth = CachedAuth::new(Counting::default());
        let mut first = get();
        auth.authorize(&mut first, &Budget::unlimited())
            .await
            .expect("auth");
        assert!(auth.invalidate_sent(&first.headers));
        let mut second = get();
        auth.authorize(&mut second, &Budget::unlimited())
            .await
            .expect("auth");
        assert_eq!(
            second.headers[http::header::AUTHORIZATION],
            "Bearer token-1"
        );
        // A late 401 for the first token must not throw away the second.
        assert!(!auth.invalidate_sent(&first.headers));
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://thingspace.verizon.com/api",
            "http://127.0.0.1:8080",
            "http://[::1]:1",
            "http://localhost",
        ] {
            assert!(ensure_secure(&Url::parse(ok).expect("url")).is_ok(), "{ok}");
        }
        for bad in [
            "http://thingspace.verizon.com/api",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://me:pw-123@thingspace.verizon.com/api",
            "http://me@127.0.0.1:8080",
        ] {
            let e = ensure_secure(&Url::parse(bad).expect("url")).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Insecure);
            assert!(!e.to_string().contains("pw-123"), "{e}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_cut_by_its_callers_budget_is_not_the_answer_for_the_others() {
        /// Takes 5 s, within the caller's budget, as the SDK's sources do.
        #[derive(Debug)]
        struct Budgeted;
        #[async_trait]
        impl CredentialSource for Budgeted {
            async fn fetch(&self, budget: &Budget) -> Result<Credential> {
                budget
                    .run("the fetch", async {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        Credential::bearer("slow-0", Some(Duration::from_secs(100)))
                    })
                    .await
            }
        }
        let auth = Arc::new(CachedAuth::new(Budgeted));
        // The first caller has 1 s left; the fetch takes 5 s.
        let short = tokio::spawn({
            let auth = auth.clone();
            async move {
                auth.credential_within(&Budget::new(Some(Duration::from_secs(1))))
                    .await
            }
        });
        tokio::task::yield_now().await;
        let long = tokio::spawn({
            let auth = auth.clone();
            async move { auth.credential().await }
        });
        let e = short.await.expect("join").expect_err("out of budget");
        assert!(e.is_timeout(), "{e}");
        let c = long
            .await
            .expect("join")
            .expect("fetched with its own budget");
        assert!(
            c.headers()[0]
                .1
                .to_str()
                .is_ok_and(|v| v.starts_with("Bearer slow-"))
        );
    }
}

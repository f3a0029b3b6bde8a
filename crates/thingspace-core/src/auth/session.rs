//! The ThingSpace M2M session (`VZ-M2M-Token`) and the combined ThingSpace provider.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use url::Url;

use super::{
    AuthProvider, CachedAuth, ClientCredentials, Credential, CredentialSource, DEFAULT_TIMEOUT,
    ensure_secure, require_token,
};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::{self, RetryPolicy};
use crate::secret::SecretString;
use crate::transport::{Request, Response, SharedTransport, decode_json};

/// The header that carries the M2M session token.
pub const M2M_TOKEN_HEADER: HeaderName = HeaderName::from_static("vz-m2m-token");

const OPERATION: &str = "m2m.session.login";

/// Sessions last 20 minutes when the login response does not say.
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// A ThingSpace M2M session for a UWS user, as a [`CredentialSource`] of `VZ-M2M-Token` headers.
///
/// Logs in with `POST {base}/m2m/v1/session/login`, carrying the bearer token from `bearer`.
/// If the login is refused with 401 because the bearer token went stale, the bearer token is
/// renewed once and the login tried again.
pub struct M2mSession {
    login_url: Url,
    username: String,
    password: SecretString,
    bearer: Arc<CachedAuth<ClientCredentials>>,
    transport: SharedTransport,
    retry: RetryPolicy,
    timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    session_token: SecretString,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl M2mSession {
    /// A session source logging in at `login_url` as `username`.
    pub fn new(
        transport: SharedTransport,
        login_url: Url,
        username: impl Into<String>,
        password: SecretString,
        bearer: Arc<CachedAuth<ClientCredentials>>,
    ) -> Self {
        Self {
            login_url,
            username: username.into(),
            password,
            bearer,
            transport,
            retry: RetryPolicy::default(),
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }

    /// Retries logins with this policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Limits each login attempt to `timeout` (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    async fn login(&self, bearer: &Credential) -> Result<Response> {
        ensure_secure(&self.login_url)?;
        let body = serde_json::json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let mut req = Request::new(Method::POST, self.login_url.clone());
        bearer.apply(&mut req.headers);
        req.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req.headers
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        req.body = body.to_string().into();
        req.timeout = self.timeout;
        retry::run(&self.retry, OPERATION, |_| self.transport.send(req.clone()))
            .await
            .map_err(|e| e.with_operation(OPERATION))
    }
}

#[async_trait]
impl CredentialSource for M2mSession {
    #[tracing::instrument(name = "thingspace.login", skip_all, fields(username = %self.username))]
    async fn fetch(&self) -> Result<Credential> {
        let bearer = self.bearer.credential().await?;
        let mut response = self.login(&bearer).await?;
        if response.status == StatusCode::UNAUTHORIZED {
            let mut sent = HeaderMap::new();
            bearer.apply(&mut sent);
            if self.bearer.invalidate_sent(&sent) {
                tracing::debug!("login refused the bearer token; renewing it once");
            }
            let bearer = self.bearer.credential().await?;
            response = self.login(&bearer).await?;
        }
        if !response.status.is_success() {
            return Err(Error::credential_failure(
                OPERATION,
                &response,
                || format!("the M2M login for UWS user `{}` was refused", self.username),
                || format!("the M2M login for UWS user `{}` failed", self.username),
            ));
        }
        let login: LoginResponse = decode_json(OPERATION, &response.body, true)?;
        require_token(OPERATION, "sessionToken", &login.session_token)?;
        let lifetime = login
            .expires_in
            .as_ref()
            .and_then(super::oauth::lifetime_from_json)
            .unwrap_or(DEFAULT_SESSION_LIFETIME);
        let value = HeaderValue::try_from(login.session_token.expose_secret()).map_err(|_| {
            Error::new(
                ErrorKind::Auth,
                "the login returned a session token that is not a valid header value",
            )
            .with_operation(OPERATION)
        })?;
        tracing::debug!(lifetime_secs = lifetime.as_secs(), "opened an M2M session");
        Ok(Credential::new(
            vec![(M2M_TOKEN_HEADER, value)],
            Some(lifetime),
        ))
    }
}

impl fmt::Debug for M2mSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("M2mSession")
            .field("login_url", &self.login_url.as_str())
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// The provider for m2m and subsc requests: the OAuth bearer token and the M2M session,
/// obtained, cached and renewed automatically.
///
/// A 401 from the API drops the session that was sent (and the bearer token too if the
/// re-login finds it stale); the client then retries the request once.
#[derive(Debug)]
pub struct ThingSpaceAuth {
    bearer: Arc<CachedAuth<ClientCredentials>>,
    session: CachedAuth<M2mSession>,
}

impl ThingSpaceAuth {
    /// Combines a bearer-token cache with an M2M session source that uses the same cache.
    pub fn new(bearer: Arc<CachedAuth<ClientCredentials>>, session: M2mSession) -> Self {
        Self {
            bearer,
            session: CachedAuth::new(session),
        }
    }
}

#[async_trait]
impl AuthProvider for ThingSpaceAuth {
    async fn authorize(&self, request: &mut Request) -> Result<()> {
        ensure_secure(&request.url)?;
        let session = self.session.credential().await?;
        let bearer = self.bearer.credential().await?;
        bearer.apply(&mut request.headers);
        session.apply(&mut request.headers);
        Ok(())
    }

    async fn invalidate(&self, sent: &HeaderMap) {
        if self.session.invalidate_sent(sent) {
            tracing::debug!("the API refused the M2M session; it will be renewed");
        }
    }
}

//! ThingSpace's two credentials (the OAuth bearer token and the `VZ-M2M-Token` session of a
//! UWS user), how its services say they refused them, and how a client is wired from
//! configuration.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Deserialize;
use url::Url;

use super::{ClientAuthStyle, ClientCredentials, read_answer, require_token};
use crate::auth::{
    AuthProvider, CachedAuth, Credential, CredentialSource, CredentialStore, Rejection, StoreKey,
};
use crate::budget::Budget;
use crate::config::{Config, DEFAULT_PROFILE, UserProfile};
use crate::error::{ApiErrorBody, Error, ErrorKind, Result};
use crate::message::{Request, Response};
use crate::pipeline::Pipeline;
use crate::request::ApiRequest;
use crate::retry::Idempotency;
use crate::secret::SecretString;
use crate::urls::{ensure_secure, join};

/// The header that carries the M2M session token.
pub const M2M_TOKEN_HEADER: HeaderName = HeaderName::from_static("vz-m2m-token");

/// The operation name of a login, in errors and traces.
pub const LOGIN_OPERATION: &str = "m2m.session.login";
/// Operation name of the logout ([`AuthProvider::end_session`] of [`ThingSpaceAuth`]).
pub const LOGOUT_OPERATION: &str = "m2m.session.logout";

/// Sessions last 20 minutes when the login response does not say.
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// The error codes with which ThingSpace refuses a session before acting on the request,
/// without the service prefix they may carry (`UnifiedWebService.REQUEST_FAILED...`).
const SESSION_REFUSALS: &[&str] = &[
    "REQUEST_FAILED.SessionToken.Expired",
    "REQUEST_FAILED.SessionToken.Format",
    "INPUT_INVALID.SessionToken.Invalid",
];

/// A ThingSpace M2M session for a UWS user, as a [`CredentialSource`] of `VZ-M2M-Token` headers.
///
/// Logs in with `POST {base}/m2m/v1/session/login` through the client's pipeline, carrying
/// the bearer token from `bearer`: if the gateway refuses the bearer token, it is renewed once
/// and the login sent again, as for any request.
pub struct M2mSession {
    login_url: Url,
    username: String,
    password: SecretString,
    bearer: Arc<CachedAuth<ClientCredentials>>,
    pipeline: Pipeline,
    /// The service's refusal of the password, once it happened: the login is never sent again
    /// (five refused logins in a row lock the UWS user until Verizon support unlocks it).
    refused: std::sync::Mutex<Option<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    session_token: SecretString,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// The login body; the password is marked secret on the request.
#[derive(serde::Serialize)]
struct LoginBody<'a> {
    username: &'a str,
    password: &'a str,
}

impl M2mSession {
    /// A session source logging in at `login_url` as `username`, through `pipeline`.
    pub fn new(
        pipeline: Pipeline,
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
            pipeline,
            refused: std::sync::Mutex::new(None),
        }
    }

    /// The UWS user this source logs in as.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The key under which a [`CredentialStore`](crate::auth::CredentialStore) shares this
    /// user's session: the application's client id, the user name and a fingerprint of the
    /// login URL and password.
    pub fn store_key(&self) -> StoreKey {
        StoreKey::new(
            LOGIN_OPERATION,
            &[self.bearer.source().client_id(), &self.username],
            &[self.login_url.as_str(), self.password.expose_secret()],
        )
    }
}

#[async_trait]
impl CredentialSource for M2mSession {
    async fn fetch(&self, budget: &Budget) -> Result<Credential> {
        ensure_secure(&self.login_url)?;
        if let Some(refusal) = self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "{refusal}; the login is not sent again: five refused logins in a row lock UWS user `{}` until Verizon support unlocks it. Correct the password and start the program again",
                    self.username
                ),
            )
            .with_operation(LOGIN_OPERATION));
        }
        // A login may be repeated: a second session does no harm.
        let request = ApiRequest::to_url(LOGIN_OPERATION, Method::POST, self.login_url.clone())
            .json(&LoginBody {
                username: &self.username,
                password: self.password.expose_secret(),
            })
            .secret_fields(&["password"])
            .with_idempotency(Idempotency::Safe);
        let refused = || format!("the M2M login for UWS user `{}` was refused", self.username);
        let failed = || format!("the M2M login for UWS user `{}` failed", self.username);
        let bearer = GatewayBearer(&self.bearer);
        let sent = self
            .pipeline
            .send(&request, &self.login_url, Some(&bearer), budget)
            .await;
        let login: LoginResponse = match read_answer(LOGIN_OPERATION, sent, refused, failed) {
            Ok(login) => login,
            Err(e) => {
                // The service refused the password (the gateway's refusals of the bearer token
                // were renewed and sent again by the pipeline before this).
                if e.kind() == ErrorKind::Auth && e.status().is_some() {
                    *self
                        .refused
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
                    return Err(e.with_note(&format!(
                        "the login is not sent again: five refused logins in a row lock UWS user `{}` until Verizon support unlocks it. Correct the password and start the program again",
                        self.username
                    )));
                }
                return Err(e);
            }
        };
        require_token(LOGIN_OPERATION, "sessionToken", &login.session_token)?;
        let lifetime = login
            .expires_in
            .as_ref()
            .and_then(super::oauth::lifetime_from_json)
            .unwrap_or(DEFAULT_SESSION_LIFETIME);
        let value = HeaderValue::try_from(login.session_token.expose_secret()).map_err(|_| {
            Error::new(
                ErrorKind::Decode,
                "the login returned a session token that is not a valid header value",
            )
            .with_operation(LOGIN_OPERATION)
        })?;
        tracing::debug!(
            username = %self.username,
            lifetime_secs = lifetime.as_secs(),
            "opened an M2M session"
        );
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
/// How it reads a refusal ([`AuthProvider::rejection`]):
/// - a **401 with the gateway's body** (`{"fault": {"code": "900901", ...}}`, WSO2's answer to a
///   missing, wrong or expired bearer token) was refused by the gateway's credential check,
///   before the service saw the request: safe to send again after renewing, for any operation;
/// - a **400 whose `errorCode` is `REQUEST_FAILED.SessionToken.Expired`**, `...Format` or
///   `INPUT_INVALID.SessionToken.Invalid` (with or without a service prefix) is the service
///   refusing the session before acting: the same;
/// - any **other 401** is a refusal whose effect is unknown: renewed and sent again only for
///   safe operations.
///
/// After a refusal the session that was sent is dropped (the next request logs in once, however
/// many saw it refused); if the login itself finds the bearer token stale, that is renewed too.
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

    /// As [`new`](Self::new), the session shared with other processes through `store` (under
    /// [`M2mSession::store_key`]): one login serves the fleet, and the session is never ended
    /// by one of its users ([`AuthProvider::end_session`] only forgets it).
    pub fn shared(
        bearer: Arc<CachedAuth<ClientCredentials>>,
        session: M2mSession,
        store: Arc<dyn CredentialStore>,
    ) -> Self {
        let key = session.store_key();
        Self {
            bearer,
            session: CachedAuth::new(session).with_store(store, key),
        }
    }

    /// ThingSpace's credentials from configuration, sent through `pipeline`: the client id
    /// and secret (Basic header on the token endpoint) and the UWS user's login.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming every missing credential; [`ErrorKind::Insecure`] when a
    /// URL would carry them over plain http to a non-loopback host.
    pub fn from_config(config: &Config, pipeline: &Pipeline) -> Result<Self> {
        require_credentials(config)?;
        ThingSpaceUsers::from_config(config, pipeline)?.new_auth(DEFAULT_PROFILE)
    }
}

/// Fails naming every missing credential of the default user: the client id and secret, the
/// user name and the password.
pub(crate) fn require_credentials(config: &Config) -> Result<()> {
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
    Ok(())
}

/// ThingSpace's credentials for every UWS user of one OAuth application: one bearer token,
/// cached once for all of them, and, per user, a session of its own (cached, obtained once
/// however many requests wait for it, renewed, and never sent again after the service refused
/// the password). The users are the configuration's profiles (`[profiles.<name>]`), the
/// top-level `username` and `password` being the profile `default`; errors and traces name
/// the user, never the password.
pub struct ThingSpaceUsers {
    bearer: Arc<CachedAuth<ClientCredentials>>,
    pipeline: Pipeline,
    login_url: Url,
    profiles: BTreeMap<String, UserProfile>,
    users: Mutex<HashMap<String, Arc<ThingSpaceAuth>>>,
    store: Option<Arc<dyn CredentialStore>>,
}

impl fmt::Debug for ThingSpaceUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThingSpaceUsers")
            .field("bearer", &self.bearer)
            .field("login_url", &self.login_url.as_str())
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .field("shared", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl ThingSpaceUsers {
    /// The application's token source and every profile of `config`, sent through `pipeline`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the client id or secret is missing; [`ErrorKind::Insecure`]
    /// when a URL would carry credentials over plain http to a non-loopback host.
    pub fn from_config(config: &Config, pipeline: &Pipeline) -> Result<Self> {
        Self::build(config, pipeline, None)
    }

    fn build(
        config: &Config,
        pipeline: &Pipeline,
        store: Option<Arc<dyn CredentialStore>>,
    ) -> Result<Self> {
        let (Some(client_id), Some(secret)) = (&config.client_id, &config.client_secret) else {
            return Err(Error::config(
                "missing ThingSpace credentials: client_id and client_secret",
            ));
        };
        let token_url = config.token_url()?;
        let login_url = join(&config.base_url, "m2m/v1/session/login")?;
        ensure_secure(&config.base_url)?;
        ensure_secure(&token_url)?;
        let mut credentials = ClientCredentials::new(
            pipeline.clone(),
            token_url,
            client_id.clone(),
            secret.clone(),
            ClientAuthStyle::BasicHeader,
        );
        if let Some(scope) = &config.scope {
            credentials = credentials.with_scope(scope.clone());
        }
        let mut profiles = config.profiles.clone();
        if config.username.is_some() || config.password.is_some() {
            profiles.insert(
                DEFAULT_PROFILE.to_owned(),
                UserProfile {
                    username: config.username.clone(),
                    password: config.password.clone(),
                },
            );
        }
        let key = credentials.store_key();
        let mut bearer = CachedAuth::new(credentials);
        if let Some(store) = &store {
            bearer = bearer.with_store(store.clone(), key);
        }
        Ok(Self {
            bearer: Arc::new(bearer),
            pipeline: pipeline.clone(),
            login_url,
            profiles,
            users: Mutex::new(HashMap::new()),
            store,
        })
    }

    /// As [`from_config`](Self::from_config), sharing the bearer token and every user's
    /// session with the other processes that use `store` (a fleet of replicas or workers:
    /// `thingspace-redis`): one token request and one login per expiry for all of them, and a
    /// refused password tried once by the fleet. Each process keeps its own copy in front of
    /// the store.
    ///
    /// # Errors
    /// As [`from_config`](Self::from_config).
    pub fn shared(
        config: &Config,
        pipeline: &Pipeline,
        store: Arc<dyn CredentialStore>,
    ) -> Result<Self> {
        Self::build(config, pipeline, Some(store))
    }

    /// The credentials of the profile `name` (any case): the application's bearer token and
    /// that user's session, the same provider every time it is asked for.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a profile that is not configured or lacks a user name or
    /// password, naming the settings to set.
    pub fn user(&self, name: &str) -> Result<Arc<ThingSpaceAuth>> {
        let name = name.to_ascii_lowercase();
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(auth) = users.get(&name) {
            return Ok(auth.clone());
        }
        let auth = Arc::new(self.new_auth(&name)?);
        users.insert(name, auth.clone());
        Ok(auth)
    }

    /// A new provider for the profile `name` (lower case).
    fn new_auth(&self, name: &str) -> Result<ThingSpaceAuth> {
        let settings = if name == DEFAULT_PROFILE {
            "username and password (THINGSPACE_USERNAME, THINGSPACE_PASSWORD)".to_owned()
        } else {
            let env = name.to_ascii_uppercase();
            format!(
                "[profiles.{name}] username and password (THINGSPACE_PROFILES__{env}__USERNAME, THINGSPACE_PROFILES__{env}__PASSWORD)"
            )
        };
        let profile = self.profiles.get(name);
        let (Some(username), Some(password)) = (
            profile
                .and_then(|p| p.username.clone())
                .filter(|u| !u.is_empty()),
            profile
                .and_then(|p| p.password.clone())
                .filter(|p| !p.is_empty()),
        ) else {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            return Err(Error::config(format!(
                "no UWS user for the profile `{name}`: set {settings} (profiles configured: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        };
        let session = M2mSession::new(
            self.pipeline.clone(),
            self.login_url.clone(),
            username,
            password,
            self.bearer.clone(),
        );
        Ok(match &self.store {
            Some(store) => ThingSpaceAuth::shared(self.bearer.clone(), session, store.clone()),
            None => ThingSpaceAuth::new(self.bearer.clone(), session),
        })
    }
}

#[async_trait]
impl AuthProvider for ThingSpaceAuth {
    async fn authorize(&self, request: &mut Request, budget: &Budget) -> Result<()> {
        ensure_secure(&request.url)?;
        let session = self.session.credential_within(budget).await?;
        let bearer = self.bearer.credential_within(budget).await?;
        bearer.apply(&mut request.headers);
        session.apply(&mut request.headers);
        Ok(())
    }

    fn rejection(&self, response: &Response) -> Option<Rejection> {
        match response.status {
            StatusCode::UNAUTHORIZED if is_gateway_fault(&response.body) => {
                Some(Rejection::BeforeProcessing)
            }
            StatusCode::UNAUTHORIZED => Some(Rejection::Unknown),
            StatusCode::BAD_REQUEST if is_session_refusal(&response.body) => {
                Some(Rejection::BeforeProcessing)
            }
            _ => None,
        }
    }

    async fn end_session(&self, budget: &Budget) -> Result<bool> {
        let Some(session) = self.session.take() else {
            return Ok(false);
        };
        if self.session.is_shared() {
            // Other processes are using it: forget this process's copy, end nothing.
            tracing::debug!(username = %self.session.source().username, "left the shared M2M session open");
            return Ok(false);
        }
        let source = self.session.source();
        let url = source.login_url.join("logout").map_err(|_| {
            Error::config("the logout URL cannot be made from the login URL")
                .with_operation(LOGOUT_OPERATION)
        })?;
        ensure_secure(&url)?;
        // Ending a session twice does no harm.
        let mut request = ApiRequest::to_url(LOGOUT_OPERATION, Method::POST, url.clone())
            .with_idempotency(Idempotency::Safe);
        for (name, value) in session.headers() {
            request = request.header(name.clone(), value.clone());
        }
        let bearer = GatewayBearer(&self.bearer);
        source
            .pipeline
            .send(&request, &url, Some(&bearer), budget)
            .await?;
        tracing::debug!(username = %source.username, "ended the M2M session");
        Ok(true)
    }

    async fn invalidate(&self, sent: &HeaderMap, answer: &Response) {
        // The gateway checks the bearer token, the service the session. A refused bearer token
        // drops the session too: one renewal must serve a request whose two credentials both
        // ended on the server, and a session outliving its token is not worth a second refusal.
        if answer.status == StatusCode::UNAUTHORIZED
            && is_gateway_fault(&answer.body)
            && self.bearer.refused(sent).await
        {
            tracing::debug!("the gateway refused the bearer token; it will be renewed");
        }
        // Shared sessions included: the pipeline renews a refused request's credentials once,
        // so a session left in the store after its token was refused would cost the request a
        // second refusal when both ended on the server (one login more when only the token did).
        if self.session.refused(sent).await {
            tracing::debug!("the API refused the M2M session; it will be renewed");
        }
    }
}

/// The bearer token as a login carries it: only the gateway's refusal of the token renews it
/// and sends the login again. Any other refusal is the service's answer to the password, and a
/// password is never sent twice (five failures lock the UWS user).
#[derive(Debug)]
struct GatewayBearer<'a>(&'a CachedAuth<ClientCredentials>);

#[async_trait]
impl AuthProvider for GatewayBearer<'_> {
    async fn authorize(&self, request: &mut Request, budget: &Budget) -> Result<()> {
        self.0.authorize(request, budget).await
    }

    fn rejection(&self, response: &Response) -> Option<Rejection> {
        (response.status == StatusCode::UNAUTHORIZED && is_gateway_fault(&response.body))
            .then_some(Rejection::BeforeProcessing)
    }

    async fn invalidate(&self, sent: &HeaderMap, answer: &Response) {
        self.0.invalidate(sent, answer).await;
    }
}

/// WSO2's answer to a bad bearer token: `{"fault": {"code": "9009xx", ...}}`.
fn is_gateway_fault(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Fault {
        fault: FaultBody,
    }
    #[derive(Deserialize)]
    struct FaultBody {
        code: serde_json::Value,
    }
    serde_json::from_slice::<Fault>(body).is_ok_and(|f| {
        let code = match &f.fault.code {
            serde_json::Value::String(s) => s.trim().to_owned(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return false,
        };
        code.starts_with("9009")
    })
}

/// ThingSpace's envelope refusing the session (documented under 400).
fn is_session_refusal(body: &[u8]) -> bool {
    let Ok(api) = serde_json::from_slice::<ApiErrorBody>(body) else {
        return false;
    };
    let Some(code) = api.error_code.as_deref().map(str::trim) else {
        return false;
    };
    SESSION_REFUSALS.iter().any(|known| {
        code.len() >= known.len()
            && code.is_char_boundary(code.len() - known.len())
            && code[code.len() - known.len()..].eq_ignore_ascii_case(known)
            && (code.len() == known.len() || code[..code.len() - known.len()].ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_session_refusals_with_or_without_a_prefix() {
        for code in [
            "REQUEST_FAILED.SessionToken.Expired",
            "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired",
            "UnifiedWebService.REQUEST_FAILED.SessionToken.Format",
            "INPUT_INVALID.SessionToken.Invalid",
        ] {
            let body = format!(r#"{{"errorCode":"{code}","errorMessage":"x"}}"#);
            assert!(is_session_refusal(body.as_bytes()), "{code}");
        }
        for code in [
            "REQUEST_FAILED.UnexpectedError",
            "XREQUEST_FAILED.SessionToken.Expired",
            "SessionToken.Expired",
        ] {
            let body = format!(r#"{{"errorCode":"{code}"}}"#);
            assert!(!is_session_refusal(body.as_bytes()), "{code}");
        }
        assert!(!is_session_refusal(b"<html>"));
    }

    #[test]
    fn tells_the_gateway_from_the_service() {
        assert!(is_gateway_fault(
            br#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"x"}}"#
        ));
        assert!(is_gateway_fault(br#"{"fault":{"code":900902}}"#));
        assert!(!is_gateway_fault(
            br#"{"errorCode":"UnauthorizedAccess","errorMessage":"x"}"#
        ));
        assert!(!is_gateway_fault(br#"{"fault":{"code":"900800"}}"#));
    }
}

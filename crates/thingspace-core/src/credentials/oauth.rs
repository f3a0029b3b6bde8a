//! OAuth 2.0 client credentials (ThingSpace, Microsoft Entra ID).

use std::{fmt, time::Duration};

use async_trait::async_trait;
use base64::Engine as _;
use http::{HeaderValue, Method, header};
use serde::Deserialize;
use url::Url;

use super::{read_answer, require_token};
use crate::auth::{Credential, CredentialSource};
use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::request::ApiRequest;
use crate::retry::Idempotency;
use crate::secret::SecretString;
use crate::urls::ensure_secure;

/// The operation name of a token request, in errors and traces.
pub const TOKEN_OPERATION: &str = "oauth2.token";

/// Where the client id and secret go in a token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthStyle {
    /// `Authorization: Basic base64(id:secret)` (ThingSpace).
    BasicHeader,
    /// `client_id` and `client_secret` in the form body (Microsoft Entra ID).
    RequestBody,
}

/// The OAuth 2.0 client-credentials grant, as a [`CredentialSource`] of bearer tokens.
///
/// Token requests go through the client's [`Pipeline`] like any request (retried on transient
/// failures, within the budget of the operation that needs the token, traced as
/// `oauth2.token`); a refusal (`invalid_client`, 400, 401) fails at once with an
/// [`ErrorKind::Auth`](crate::ErrorKind::Auth) error naming the client id (never the secret).
pub struct ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: Option<String>,
    style: ClientAuthStyle,
    label: &'static str,
    pipeline: Pipeline,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl ClientCredentials {
    /// A client-credentials source posting to `token_url` through `pipeline`.
    pub fn new(
        pipeline: Pipeline,
        token_url: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
        style: ClientAuthStyle,
    ) -> Self {
        Self {
            token_url,
            client_id: client_id.into(),
            client_secret,
            scope: None,
            style,
            label: "OAuth client",
            pipeline,
        }
    }

    /// What the client is called in errors, such as `Entra app` (default: `OAuth client`).
    pub fn with_label(mut self, label: &'static str) -> Self {
        self.label = label;
        self
    }

    /// The key under which a [`CredentialStore`](crate::auth::CredentialStore) shares this
    /// application's token: its client id, scope and a fingerprint of the token URL and secret.
    pub fn store_key(&self) -> crate::auth::StoreKey {
        crate::auth::StoreKey::new(
            TOKEN_OPERATION,
            &[&self.client_id, self.scope.as_deref().unwrap_or("")],
            &[self.token_url.as_str(), self.client_secret.expose_secret()],
        )
    }

    /// Requests this `scope` (required by Entra ID: `api://<app-id>/.default`).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The token request: safe to repeat (each answer is a valid token).
    fn request(&self) -> Result<ApiRequest> {
        ensure_secure(&self.token_url)?;
        let mut form = vec![("grant_type", "client_credentials")];
        let mut request = ApiRequest::to_url(TOKEN_OPERATION, Method::POST, self.token_url.clone())
            .with_idempotency(Idempotency::Safe)
            .secret_fields(&["client_secret"]);
        match self.style {
            ClientAuthStyle::BasicHeader => {
                let raw = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
                    .map_err(|_| Error::config("the client credentials cannot form a header"))?;
                value.set_sensitive(true);
                request = request.header(header::AUTHORIZATION, value);
            }
            ClientAuthStyle::RequestBody => {
                form.push(("client_id", self.client_id.as_str()));
                form.push(("client_secret", self.client_secret.expose_secret()));
            }
        }
        if let Some(scope) = &self.scope {
            form.push(("scope", scope.as_str()));
        }
        Ok(request.form(form))
    }
}

#[async_trait]
impl CredentialSource for ClientCredentials {
    async fn fetch(&self, budget: &Budget) -> Result<Credential> {
        let request = self.request()?;
        let refused = || {
            format!(
                "the token endpoint refused {} `{}`",
                self.label, self.client_id
            )
        };
        let failed = || {
            format!(
                "the token endpoint failed for {} `{}`",
                self.label, self.client_id
            )
        };
        let sent = self
            .pipeline
            .send(&request, &self.token_url, None, budget)
            .await;
        let token: TokenResponse = read_answer(TOKEN_OPERATION, sent, refused, failed)?;
        require_token(TOKEN_OPERATION, "access_token", &token.access_token)?;
        let lifetime = token
            .expires_in
            .as_ref()
            .and_then(lifetime_from_json)
            .unwrap_or(Duration::from_secs(3600));
        tracing::debug!(
            client_id = %self.client_id,
            lifetime_secs = lifetime.as_secs(),
            "obtained an access token"
        );
        Credential::bearer(token.access_token.expose_secret(), Some(lifetime))
            .map_err(|e| e.with_operation(TOKEN_OPERATION))
    }
}

/// A lifetime in seconds given as a number or a numeric string.
pub(crate) fn lifetime_from_json(v: &serde_json::Value) -> Option<Duration> {
    let secs = match v {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("style", &self.style)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::retry::RetryPolicy;
    use crate::transport::{MockTransport, Response};
    use http::StatusCode;
    use std::sync::Arc;

    fn source(mock: MockTransport, style: ClientAuthStyle) -> ClientCredentials {
        ClientCredentials::new(
            Pipeline::new(Arc::new(mock))
                .with_retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1))),
            Url::parse("https://login.example.com/token").expect("url"),
            "my-client",
            SecretString::new("top-secret"),
            style,
        )
    }

    #[tokio::test]
    async fn basic_header_style_and_token_lifetime() {
        let mut mock = MockTransport::new();
        mock.expect_send()
            .withf(|r| {
                r.headers[header::AUTHORIZATION]
                    == format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode("my-client:top-secret")
                    )
                    .as_str()
                    && r.body == "grant_type=client_credentials"
            })
            .times(1)
            .returning(|_| {
                Ok(Response::new(
                    StatusCode::OK,
                    Default::default(),
                    r#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#,
                ))
            });
        let cred = source(mock, ClientAuthStyle::BasicHeader)
            .fetch(&Budget::unlimited())
            .await
            .expect("token");
        assert_eq!(cred.headers()[0].1, "Bearer abc");
    }

    #[tokio::test]
    async fn body_style_carries_scope_and_retries_transient_failures() {
        let mut mock = MockTransport::new();
        let mut seq = mockall::Sequence::new();
        mock.expect_send()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| {
                Ok(Response::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Default::default(),
                    "",
                ))
            });
        mock.expect_send()
            .withf(|r| {
                let body = std::str::from_utf8(&r.body).unwrap_or("");
                body.contains("client_id=my-client")
                    && body.contains("client_secret=top-secret")
                    && body.contains("scope=api%3A%2F%2Fapp%2F.default")
                    && !r.headers.contains_key(header::AUTHORIZATION)
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| {
                Ok(Response::new(
                    StatusCode::OK,
                    Default::default(),
                    r#"{"access_token":"xyz","expires_in":"60"}"#,
                ))
            });
        let cred = source(mock, ClientAuthStyle::RequestBody)
            .with_scope("api://app/.default")
            .fetch(&Budget::unlimited())
            .await
            .expect("token");
        assert_eq!(cred.headers()[0].1, "Bearer xyz");
    }

    #[tokio::test]
    async fn refusal_is_an_auth_error_naming_the_client_not_the_secret() {
        let mut mock = MockTransport::new();
        mock.expect_send().times(1).returning(|_| {
            Ok(Response::new(
                StatusCode::UNAUTHORIZED,
                Default::default(),
                r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
            ))
        });
        let err = source(mock, ClientAuthStyle::BasicHeader)
            .fetch(&Budget::unlimited())
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(
            err.oauth_error().map(|o| o.error.as_str()),
            Some("invalid_client")
        );
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("my-client") && !text.contains("top-secret"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn token_decode_errors_keep_no_snippet() {
        let mut mock = MockTransport::new();
        mock.expect_send().returning(|_| {
            Ok(Response::new(
                StatusCode::OK,
                Default::default(),
                r#"{"access_token":"leaky","expires_in":[]"#,
            ))
        });
        let err = source(mock, ClientAuthStyle::BasicHeader)
            .fetch(&Budget::unlimited())
            .await
            .expect_err("bad json");
        assert!(err.is_decode());
        assert!(!format!("{err} {err:?}").contains("leaky"));
    }
}

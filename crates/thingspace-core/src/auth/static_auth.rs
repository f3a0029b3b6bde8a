//! [`StaticAuth`]: the same credential headers on every request, for tests and for services
//! with a fixed key.

use std::fmt;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::{AuthProvider, Rejection};
use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::message::{Request, Response};
use crate::urls::ensure_secure;

/// An [`AuthProvider`] that adds the same headers to every request, obtains nothing and renews
/// nothing: for unit tests (with `MockTransport`, of the `mockall` feature, or a transport of
/// your own, so the code under test sees the credentials it would see in production without a
/// token request or a login), and for services whose key never changes.
///
/// The values are marked sensitive, and `Debug` prints the header names only. Like every
/// provider, it refuses to send credentials anywhere but over https or to a loopback address.
/// A refusal of them (a 401) is final: there is nothing to renew, so the request is not sent
/// again, and the error is the service's answer.
///
/// ```
/// use thingspace_core::{AuthProvider, Budget, Request, StaticAuth, http::Method, url::Url};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> thingspace_core::Result<()> {
/// // ThingSpace's two credentials: the OAuth bearer token and the M2M session.
/// let auth = StaticAuth::bearer("test-token")?.with_header("VZ-M2M-Token", "test-session")?;
/// let url = Url::parse("https://thingspace.example/api/m2m/v1/accounts/1").expect("url");
/// let mut request = Request::new(Method::GET, url);
/// auth.authorize(&mut request, &Budget::unlimited()).await?;
/// assert_eq!(request.headers["authorization"], "Bearer test-token");
/// assert_eq!(request.headers["vz-m2m-token"], "test-session");
/// assert!(!format!("{auth:?}").contains("test-token"));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct StaticAuth {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl StaticAuth {
    /// A provider that adds no header yet; add them with [`with_header`](Self::with_header).
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider that sends `Authorization: Bearer <token>`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the token cannot be a
    /// header value (a line break, a control character); the token is not quoted.
    pub fn bearer(token: &str) -> Result<Self> {
        Self::new().with_header(header::AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    /// The same provider, also sending `name: value` (replacing a header of that name it
    /// already sends).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `name` is not a header
    /// name or `value` cannot be a header value; the value is not quoted.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid_input(format!("`{name}` is not a header name")))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            Error::invalid_input(format!(
                "the value of the {name} header cannot be sent (a line break or a control character?)"
            ))
        })?;
        value.set_sensitive(true);
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        Ok(self)
    }

    /// The names of the headers it sends.
    pub fn header_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.headers.iter().map(|(name, _)| name)
    }
}

impl fmt::Debug for StaticAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticAuth")
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[async_trait]
impl AuthProvider for StaticAuth {
    async fn authorize(&self, request: &mut Request, _budget: &Budget) -> Result<()> {
        ensure_secure(&request.url)?;
        for (name, value) in &self.headers {
            request.headers.insert(name.clone(), value.clone());
        }
        Ok(())
    }

    /// None: with nothing to renew, a refusal is an answer like any other.
    fn rejection(&self, _response: &Response) -> Option<Rejection> {
        None
    }

    async fn invalidate(&self, _sent: &HeaderMap, _answer: &Response) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use http::{Method, StatusCode};
    use url::Url;

    fn request(url: &str) -> Request {
        Request::new(Method::GET, Url::parse(url).expect("url"))
    }

    #[tokio::test]
    async fn adds_its_headers_marked_sensitive_and_replaces_what_was_there() {
        let auth = StaticAuth::bearer("t1")
            .and_then(|a| a.with_header("VZ-M2M-Token", "s1"))
            .and_then(|a| a.with_header("vz-m2m-token", "s2"))
            .expect("valid");
        let mut r = request("https://thingspace.example/api");
        r.headers
            .insert(header::AUTHORIZATION, HeaderValue::from_static("old"));
        auth.authorize(&mut r, &Budget::unlimited())
            .await
            .expect("authorized");
        assert_eq!(r.headers["authorization"], "Bearer t1");
        assert_eq!(r.headers.get_all("vz-m2m-token").iter().count(), 1);
        assert_eq!(r.headers["vz-m2m-token"], "s2");
        assert!(r.headers.values().all(HeaderValue::is_sensitive));
        assert_eq!(auth.header_names().count(), 2);
    }

    #[tokio::test]
    async fn never_shows_or_sends_its_secrets_where_it_should_not() {
        let auth = StaticAuth::bearer("very-secret").expect("valid");
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("authorization") && !shown.contains("very-secret"),
            "{shown}"
        );
        let mut plain = request("http://thingspace.example/api");
        let e = auth
            .authorize(&mut plain, &Budget::unlimited())
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Insecure);
        assert!(plain.headers.is_empty());
        let mut local = request("http://127.0.0.1:8080/api");
        auth.authorize(&mut local, &Budget::unlimited())
            .await
            .expect("loopback");
    }

    #[test]
    fn bad_names_and_values_are_refused_without_quoting_the_value() {
        let e = StaticAuth::bearer("hush-hush\nvalue").expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!e.to_string().contains("hush"), "{e}");
        assert!(StaticAuth::new().with_header("bad name", "v").is_err());
    }

    #[test]
    fn a_refusal_is_final() {
        let answer = Response::new(StatusCode::UNAUTHORIZED, HeaderMap::new(), "");
        assert_eq!(StaticAuth::new().rejection(&answer), None);
    }
}

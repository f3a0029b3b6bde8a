//! One API operation as a value: what a family crate builds and the client sends. Built
//! without knowing the transport; its body is serialised once, when it is built.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use url::Url;

use crate::error::{Error, Result};
use crate::message::Request;
use crate::path::expand_into;
use crate::retry::Idempotency;

/// What a caller is told to do when an unsafe request's outcome is unknown, unless the
/// operation says better.
const DEFAULT_CHECK: &str = "look the resource up before sending the request again";

/// One API operation, as a value: what a family crate builds and the client sends.
///
/// ```
/// use thingspace_core::{ApiRequest, retry::Idempotency};
///
/// let read = ApiRequest::get("m2m.accounts.get", "/m2m/v1/accounts/{accountname}")
///     .path_param("accountname", "0000123456");
/// assert_eq!(read.operation(), "m2m.accounts.get");
/// assert_eq!(read.idempotency(), Idempotency::Safe);
///
/// #[derive(serde::Serialize)]
/// struct Listener<'a> { name: &'a str, url: &'a str, password: &'a str }
/// let write = ApiRequest::post("m2m.callbacks.register", "/m2m/v1/callbacks/{accountname}")
///     .path_param("accountname", "0000123456")
///     .json(&Listener { name: "CarrierService", url: "https://example.com/cb", password: "pw" })
///     .secret_fields(&["password"]);
/// assert_eq!(write.idempotency(), Idempotency::Unsafe);
/// assert!(!format!("{write:?}").contains("pw"));
/// ```
#[derive(Clone)]
pub struct ApiRequest {
    operation: &'static str,
    method: Method,
    target: Target,
    params: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    headers: HeaderMap,
    body: Body,
    secret_fields: &'static [&'static str],
    idempotency: Idempotency,
    how_to_check: &'static str,
    account: Option<String>,
}

/// Where a request goes: a path template on the client's base URL, or a URL of its own (a
/// token endpoint on another host).
#[derive(Clone)]
enum Target {
    Template(&'static str),
    Url(Url),
}

/// The body, serialised once.
#[derive(Clone)]
enum Body {
    None,
    Bytes {
        bytes: Bytes,
        content_type: HeaderValue,
    },
    /// The value could not be serialised: reported when the request is sent, before anything
    /// goes out.
    Invalid(String),
}

impl ApiRequest {
    /// A request of `method` to `template` (relative to the client's base URL), for the
    /// operation `operation`; its idempotency is the method's default
    /// ([`Idempotency::of_method`]).
    pub fn new(operation: &'static str, method: Method, template: &'static str) -> Self {
        Self::with_target(operation, method, Target::Template(template))
    }

    /// A request of `method` to an absolute `url`, such as a token endpoint.
    pub fn to_url(operation: &'static str, method: Method, url: Url) -> Self {
        Self::with_target(operation, method, Target::Url(url))
    }

    fn with_target(operation: &'static str, method: Method, target: Target) -> Self {
        Self {
            operation,
            idempotency: Idempotency::of_method(&method),
            method,
            target,
            params: Vec::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::None,
            secret_fields: &[],
            how_to_check: DEFAULT_CHECK,
            account: None,
        }
    }

    /// A GET ([`Idempotency::Safe`]).
    pub fn get(operation: &'static str, template: &'static str) -> Self {
        Self::new(operation, Method::GET, template)
    }

    /// A POST ([`Idempotency::Unsafe`] unless marked otherwise).
    pub fn post(operation: &'static str, template: &'static str) -> Self {
        Self::new(operation, Method::POST, template)
    }

    /// A PUT ([`Idempotency::Unsafe`] unless marked otherwise).
    pub fn put(operation: &'static str, template: &'static str) -> Self {
        Self::new(operation, Method::PUT, template)
    }

    /// A PATCH ([`Idempotency::Unsafe`] unless marked otherwise).
    pub fn patch(operation: &'static str, template: &'static str) -> Self {
        Self::new(operation, Method::PATCH, template)
    }

    /// A DELETE ([`Idempotency::Unsafe`] unless marked otherwise).
    pub fn delete(operation: &'static str, template: &'static str) -> Self {
        Self::new(operation, Method::DELETE, template)
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

    /// Adds a header. A value marked sensitive stays out of `Debug` and traces.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets a JSON body, serialised now, once, whatever the number of attempts. A value that
    /// cannot be serialised fails the request when it is sent, before anything goes out.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = match serde_json::to_vec(body) {
            Ok(bytes) => Body::Bytes {
                bytes: bytes.into(),
                content_type: HeaderValue::from_static("application/json"),
            },
            Err(e) => Body::Invalid(e.to_string()),
        };
        self
    }

    /// Sets a form body (`application/x-www-form-urlencoded`), as token endpoints take.
    pub fn form<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Body::Bytes {
            bytes: form.into(),
            content_type: HeaderValue::from_static("application/x-www-form-urlencoded"),
        };
        self
    }

    /// Marks the body's fields that hold secrets (JSON keys or form names): they are scrubbed
    /// from recordings, as `password` and the token fields always are. Traces never carry a
    /// body, only its size.
    pub fn secret_fields(mut self, fields: &'static [&'static str]) -> Self {
        self.secret_fields = fields;
        self
    }

    /// Declares whether the operation may be repeated; overrides the method's default, for
    /// the whole operation or, on a request you build yourself, for one call.
    pub fn with_idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Says how a caller finds out whether the service acted, when an unsafe request was sent
    /// and its answer lost (the error of [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown)
    /// quotes it), such as "wait for the callback, or ask for the request's status".
    pub fn how_to_check(mut self, how: &'static str) -> Self {
        self.how_to_check = how;
        self
    }

    /// Names the account the request acts on, for [interceptors](crate::hooks::Interceptor)
    /// that keep something per account (a rate limit): family operations set it.
    pub fn for_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The account the request acts on, when its operation names one.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The operation name used in errors and traces.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template, or the URL for a request to a URL of its own: what traces show.
    pub fn template(&self) -> &str {
        match &self.target {
            Target::Template(t) => t,
            Target::Url(u) => u.path(),
        }
    }

    /// Whether the operation may be repeated.
    pub fn idempotency(&self) -> Idempotency {
        self.idempotency
    }

    /// How to find out whether the service acted (see [`how_to_check`](Self::how_to_check)).
    pub fn check_hint(&self) -> &'static str {
        self.how_to_check
    }

    /// Whether the body has fields marked secret.
    pub fn has_secret_fields(&self) -> bool {
        !self.secret_fields.is_empty()
    }

    /// The body's size in bytes (what traces show of it).
    pub fn body_len(&self) -> usize {
        match &self.body {
            Body::Bytes { bytes, .. } => bytes.len(),
            _ => 0,
        }
    }

    /// The absolute URL of this request on `base`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty or unusable path parameter.
    pub fn url(&self, base: &Url) -> Result<Url> {
        let mut url = match &self.target {
            Target::Url(url) => url.clone(),
            Target::Template(template) => {
                let prefix = base.path().trim_end_matches('/');
                let mut path = String::with_capacity(prefix.len() + template.len() + 32);
                path.push_str(prefix);
                expand_into(&mut path, template, &self.params)
                    .map_err(|e| e.with_operation(self.operation))?;
                // Only the path is parsed again; the scheme and host of the base stay as parsed.
                let mut url = base.clone();
                url.set_path(&path);
                url
            }
        };
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// The build stage: the transport request for `base` (its URL, headers and body), before
    /// credentials. Each attempt sends a copy; the body's bytes are shared, not copied.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a bad path parameter or
    /// a body that could not be serialised; nothing is sent.
    pub fn build(&self, base: &Url) -> Result<Request> {
        let mut request = Request::new(self.method.clone(), self.url(base)?);
        request
            .headers
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        match &self.body {
            Body::None => {}
            Body::Bytes {
                bytes,
                content_type,
            } => {
                request
                    .headers
                    .insert(header::CONTENT_TYPE, content_type.clone());
                request.body = bytes.clone();
            }
            Body::Invalid(why) => {
                return Err(Error::invalid_input(format!(
                    "the request body could not be serialised: {why}"
                ))
                .with_operation(self.operation));
            }
        }
        for (name, value) in &self.headers {
            request.headers.append(name.clone(), value.clone());
        }
        request.secret_fields = self.secret_fields;
        Ok(request)
    }
}

impl fmt::Debug for ApiRequest {
    /// The operation, method, path template and body size: never a parameter's or the body's
    /// content, which may be personal data or a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("template", &self.template())
            .field("headers", &self.headers)
            .field("body_len", &self.body_len())
            .field("idempotency", &self.idempotency)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://api.example.com/api").expect("url")
    }

    #[test]
    fn builds_the_url_the_headers_and_the_body_once() {
        let request = ApiRequest::post("op", "/m2m/v1/things/{name}")
            .path_param("name", "0000123?4")
            .query("next", 5)
            .json(&serde_json::json!({"a": 1, "password": "hunter2"}))
            .secret_fields(&["password"]);
        let built = request.build(&base()).expect("built");
        assert_eq!(
            built.url.as_str(),
            "https://api.example.com/api/m2m/v1/things/0000123%3F4?next=5"
        );
        assert_eq!(built.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(built.headers[header::ACCEPT], "application/json");
        assert_eq!(built.secret_fields, ["password"]);
        let again = request.build(&base()).expect("built");
        // The same bytes, not a second serialisation.
        assert_eq!(built.body.as_ptr(), again.body.as_ptr());
        let shown = format!("{request:?} {built:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn an_unserialisable_body_fails_before_sending() {
        use std::collections::BTreeMap;
        let mut map = BTreeMap::new();
        map.insert((1, 2), "keys that are not strings");
        let e = ApiRequest::post("op", "/x")
            .json(&map)
            .build(&base())
            .expect_err("refused");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(e.operation(), Some("op"));
    }

    #[test]
    fn a_request_to_a_url_of_its_own_ignores_the_base() {
        let url = Url::parse("https://login.example.com/t/token").expect("url");
        let built = ApiRequest::to_url("oauth2.token", Method::POST, url)
            .form([("grant_type", "client_credentials")])
            .with_idempotency(Idempotency::Safe)
            .build(&base())
            .expect("built");
        assert_eq!(built.url.as_str(), "https://login.example.com/t/token");
        assert_eq!(&built.body[..], b"grant_type=client_credentials");
    }
}

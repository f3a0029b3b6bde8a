//! Record and replay: a transport that writes every exchange to a file with the secrets
//! scrubbed, and one that serves such a file, for tests that run offline.
//!
//! ```no_run
//! use std::sync::Arc;
//! use thingspace_core::replay::{RecordingTransport, ReplayTransport};
//! use thingspace_core::{ReqwestTransport, Transport};
//!
//! # async fn run() -> thingspace_core::Result<()> {
//! // Once, against a real or mock service: record.
//! let recorder = Arc::new(RecordingTransport::new(Arc::new(ReqwestTransport::new()?), "tests/cassettes/account.json"));
//! // ... build the client with `.transport(recorder.clone())` and run the flow ...
//!
//! // Then, in CI, offline: replay, and check that the same requests were made.
//! let replay = Arc::new(ReplayTransport::from_file("tests/cassettes/account.json")?);
//! // ... build the client with `.transport(replay.clone())` and run the same flow ...
//! replay.assert_done()?;
//! # Ok(()) }
//! ```

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Mutex,
};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Request, Response, SharedTransport, Transport};

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Header names whose values are always scrubbed.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "vz-m2m-token",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// JSON and form fields whose values are always scrubbed (compared without case).
const SECRET_FIELDS: &[&str] = &[
    "password",
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "sessiontoken",
    "token",
];

/// One recorded request and its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request, scrubbed.
    pub request: RecordedRequest,
    /// The response, scrubbed.
    pub response: RecordedResponse,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The method, such as `GET`.
    pub method: String,
    /// The path and query (the host is left out, so a replay works on any base URL).
    pub path_and_query: String,
    /// Headers, secrets scrubbed.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as text, secrets scrubbed.
    #[serde(default)]
    pub body: String,
}

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The status code.
    pub status: u16,
    /// Headers, secrets scrubbed.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as text, secrets scrubbed.
    #[serde(default)]
    pub body: String,
}

/// A file of exchanges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cassette {
    /// The exchanges, in the order they happened.
    pub exchanges: Vec<Exchange>,
}

impl Cassette {
    /// Reads a cassette file.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the file cannot be read or is not a cassette.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("could not read the cassette {}", path.display())).with_source(e)
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::config(format!("{} is not a cassette", path.display())).with_source(e)
        })
    }

    /// Writes the cassette as pretty JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::config(format!("could not create {}", dir.display())).with_source(e)
            })?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::config("could not encode the cassette").with_source(e))?;
        // Written beside, then renamed over: a reader never sees half a cassette.
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let written =
            std::fs::write(&partial, text + "\n").and_then(|()| std::fs::rename(&partial, path));
        written.map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            Error::config(format!("could not write the cassette {}", path.display())).with_source(e)
        })
    }
}

fn scrub_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let value = if SECRET_HEADERS.contains(&n.as_str()) || v.is_sensitive() {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (n.as_str().to_owned(), value)
        })
        .collect()
}

fn is_secret_field(name: &str, marked: &[&str]) -> bool {
    SECRET_FIELDS
        .iter()
        .chain(marked)
        .any(|f| f.eq_ignore_ascii_case(name))
}

fn scrub_json(value: &mut Value, marked: &[&str]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_field(k, marked) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    scrub_json(v, marked);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, marked)),
        _ => {}
    }
}

/// Scrubs secrets from a body: JSON fields, or form fields, by name. A body that is neither
/// (a UTF-8 byte-order mark aside) and names a secret field anywhere is replaced whole: it
/// cannot be scrubbed field by field, so none of it is kept.
pub(crate) fn scrub_body(body: &[u8]) -> String {
    scrub_body_marked(body, &[])
}

/// As [`scrub_body`], also scrubbing the fields an operation marked secret
/// ([`ApiRequest::secret_fields`](crate::ApiRequest::secret_fields)).
pub(crate) fn scrub_body_marked(body: &[u8], marked: &[&str]) -> String {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        scrub_json(&mut json, marked);
        return json.to_string();
    }
    let text = String::from_utf8_lossy(body);
    if looks_like_form(&text) {
        return scrub_form(body, marked);
    }
    let lower = text.to_ascii_lowercase();
    if SECRET_FIELDS
        .iter()
        .chain(marked)
        .any(|f| lower.contains(&f.to_ascii_lowercase()))
    {
        return format!("{REDACTED} (an unparsed body naming a secret field)");
    }
    text.into_owned()
}

/// Whether `text` is a form: `key=value` pairs joined by `&`, every key a plain name. JSON
/// that failed to parse but holds a `=` (a padded base64 token) is not one: its "keys" carry
/// quotes and braces, and scrubbing it as a form would miss the secret.
fn looks_like_form(text: &str) -> bool {
    text.contains('=')
        && !text.contains(char::is_whitespace)
        && text.split('&').all(|pair| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.[]%+".contains(&b))
        })
}

/// Scrubs the secret fields of a form (or a query string).
fn scrub_form(form: &[u8], marked: &[&str]) -> String {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form)
        .map(|(k, v)| {
            let v = if is_secret_field(&k, marked) {
                REDACTED.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn path_and_query(request: &Request) -> String {
    match request.url.query() {
        Some(q)
            if request
                .url
                .query_pairs()
                .any(|(k, _)| is_secret_field(&k, &[])) =>
        {
            format!("{}?{}", request.url.path(), scrub_form(q.as_bytes(), &[]))
        }
        Some(q) => format!("{}?{q}", request.url.path()),
        None => request.url.path().to_owned(),
    }
}

/// A transport that forwards to another and records every exchange, secrets scrubbed, to a
/// cassette file (rewritten after each exchange, so a test that stops early keeps what it did).
pub struct RecordingTransport {
    inner: SharedTransport,
    path: PathBuf,
    cassette: Mutex<Cassette>,
}

impl RecordingTransport {
    /// Records what `inner` sends and receives into `path`.
    pub fn new(inner: SharedTransport, path: impl Into<PathBuf>) -> Self {
        Self {
            inner,
            path: path.into(),
            cassette: Mutex::new(Cassette::default()),
        }
    }

    /// Writes the exchanges recorded so far to the cassette file (each exchange already
    /// does; call this at the end of a recording to be told of a failure).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the file cannot be written.
    pub fn save(&self) -> Result<()> {
        self.cassette
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .save(&self.path)
    }

    /// The exchanges recorded so far.
    pub fn cassette(&self) -> Cassette {
        self.cassette.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl fmt::Debug for RecordingTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingTransport")
            .field("inner", &self.inner)
            .field("path", &self.path)
            .finish()
    }
}

#[async_trait]
impl Transport for RecordingTransport {
    async fn send(&self, request: Request) -> Result<Response> {
        let recorded = RecordedRequest {
            method: request.method.to_string(),
            path_and_query: path_and_query(&request),
            headers: scrub_headers(&request.headers),
            body: scrub_body_marked(&request.body, request.secret_fields),
        };
        let response = self.inner.send(request).await?;
        let exchange = Exchange {
            request: recorded,
            response: RecordedResponse {
                status: response.status.as_u16(),
                headers: scrub_headers(&response.headers),
                body: scrub_body(&response.body),
            },
        };
        // Saved under the lock, so concurrent exchanges are written in order and none is lost.
        // A failed save does not lose the response (the request was made): it is logged, and
        // [`save`](Self::save) reports it.
        let mut cassette = self
            .cassette
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cassette.exchanges.push(exchange);
        if let Err(e) = cassette.save(&self.path) {
            tracing::warn!(error = %e, "the cassette could not be saved");
        }
        Ok(response)
    }
}

/// A transport that answers from a cassette, in order, and checks that each request is the
/// one recorded (method, path and query).
pub struct ReplayTransport {
    cassette: Cassette,
    next: Mutex<usize>,
}

impl ReplayTransport {
    /// Replays `cassette`.
    pub fn new(cassette: Cassette) -> Self {
        Self {
            cassette,
            next: Mutex::new(0),
        }
    }

    /// Replays the cassette file at `path`.
    ///
    /// # Errors
    /// As [`Cassette::load`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(Cassette::load(path)?))
    }

    /// Fails unless every recorded exchange was replayed.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming how many exchanges were left.
    pub fn assert_done(&self) -> Result<()> {
        let next = *self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let total = self.cassette.exchanges.len();
        if next == total {
            Ok(())
        } else {
            Err(Error::invalid_input(format!(
                "replay: {} of {total} recorded exchanges were not requested",
                total - next
            )))
        }
    }
}

impl fmt::Debug for ReplayTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayTransport")
            .field("exchanges", &self.cassette.exchanges.len())
            .field("next", &self.next)
            .finish()
    }
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn send(&self, request: Request) -> Result<Response> {
        let index = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let i = *next;
            *next += 1;
            i
        };
        let actual = format!("{} {}", request.method, path_and_query(&request));
        let Some(exchange) = self.cassette.exchanges.get(index) else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "replay: unexpected request #{} {actual}: the cassette has only {}",
                    index + 1,
                    self.cassette.exchanges.len()
                ),
            ));
        };
        let expected = format!(
            "{} {}",
            exchange.request.method, exchange.request.path_and_query
        );
        if actual != expected {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "replay: request #{} was {actual}, the cassette expected {expected}",
                    index + 1
                ),
            ));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &exchange.response.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(n, v);
            }
        }
        let status = StatusCode::from_u16(exchange.response.status)
            .map_err(|e| Error::config("the cassette has an invalid status").with_source(e))?;
        Ok(Response::new(
            status,
            headers,
            exchange.response.body.clone().into_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_json_form_and_headers() {
        let json = scrub_body(br#"{"username":"u","password":"p4ss","nested":[{"access_token":"tok"}],"sessionToken":"s"}"#);
        assert!(
            !json.contains("p4ss") && !json.contains("tok\"") && !json.contains("\"s\""),
            "{json}"
        );
        assert!(json.contains("\"username\":\"u\""));
        let form = scrub_body(
            b"grant_type=client_credentials&client_id=id&client_secret=shh&scope=api%3A%2F%2Fx",
        );
        assert!(
            !form.contains("shh") && form.contains("client_id=id"),
            "{form}"
        );
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer secret"));
        h.insert("accept", HeaderValue::from_static("application/json"));
        let s = scrub_headers(&h);
        assert!(s.contains(&("authorization".into(), REDACTED.into())));
        assert!(s.contains(&("accept".into(), "application/json".into())));
    }

    #[test]
    fn bodies_that_are_not_json_or_a_form_keep_no_secret() {
        // A byte-order mark, a number serde_json refuses, a lone surrogate: not parsable, so
        // the whole body goes when it names a secret field.
        for body in [
            "\u{feff}{\"access_token\":\"tok-1\",\"expires_in\":3600}",
            "{\"access_token\":\"tok-1\",\"expires_in\":1e400}",
            // A padded base64 token and no white space: it has a `=` but is not a form.
            "{\"access_token\":\"tok-1=\",\"expires_in\":1e400}",
            "{\"sessionToken\":\"tok-1\",\"x\":\"\\ud800\"}",
            "access_token: tok-1",
        ] {
            let scrubbed = scrub_body(body.as_bytes());
            assert!(!scrubbed.contains("tok-1"), "{body} → {scrubbed}");
        }
        // The byte-order mark is stripped and the JSON scrubbed field by field.
        let bom = scrub_body("\u{feff}{\"access_token\":\"tok-1\",\"expires_in\":3600}".as_bytes());
        assert!(bom.contains("3600"), "{bom}");
        // An HTML error page names nothing secret and is kept.
        let html = "<html><body>502 Bad Gateway</body></html>";
        assert_eq!(scrub_body(html.as_bytes()), html);
    }

    #[test]
    fn query_strings_are_scrubbed() {
        let request = Request::new(
            http::Method::GET,
            url::Url::parse("https://h/api/x?next=5&access_token=tok-1").expect("url"),
        );
        let recorded = path_and_query(&request);
        assert!(
            !recorded.contains("tok-1") && recorded.contains("next=5"),
            "{recorded}"
        );
    }
}

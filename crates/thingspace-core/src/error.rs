//! The one error type of the SDK.

use std::{error::Error as StdError, fmt, time::Duration};

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;

use crate::message::{Response, is_transient_status};

/// Result alias used across the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Longest body excerpt an error keeps, in bytes.
pub const SNIPPET_LIMIT: usize = 512;

/// Longest body of a non-success answer an error keeps whole, for
/// [`Error::response_body`], in bytes.
pub const RESPONSE_BODY_LIMIT: usize = 64 * 1024;

/// What went wrong, broadly. Use the predicates on [`Error`] for decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Configuration is missing or malformed.
    Config,
    /// An argument was rejected before any request was sent.
    InvalidInput,
    /// Credentials would have been sent over an insecure channel; nothing was sent.
    Insecure,
    /// The connection could not be established.
    Connect,
    /// The request or the response did not complete in time.
    Timeout,
    /// The connection failed while the request or response was in flight.
    Transport,
    /// A credential was refused: the token endpoint, the login, or a 401 after re-authentication.
    Auth,
    /// The service answered with a non-success status.
    Api,
    /// The response body could not be decoded.
    Decode,
    /// The response body was larger than the configured cap, or its head (status line and
    /// headers) larger than the transport reads.
    BodyTooLarge,
    /// Paging broke its own rules: "more data" without a cursor, or a cursor seen before; or
    /// the task fetching a page panicked (a bug, never retried).
    Pagination,
    /// A request that changes something may or may not have been acted on: it was sent, and
    /// then the answer was lost (a timeout, a dropped connection, a 5xx from a gateway). It is
    /// never repeated by the SDK; the message says how to find out what happened.
    OutcomeUnknown,
}

/// A service's error body: ThingSpace's envelope `{"errorCode": "...", "errorMessage": "..."}`,
/// or an RFC 7807 problem `{"title": "...", "status": 400, "detail": "..."}` (Operator
/// Connect), read as code and message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// The service's error code, such as `INVALID_REQUEST` (a problem's `title`).
    #[serde(default, alias = "title", deserialize_with = "bounded_opt")]
    pub error_code: Option<String>,
    /// The service's human-readable message (a problem's `detail`).
    #[serde(default, alias = "detail", deserialize_with = "bounded_opt")]
    pub error_message: Option<String>,
}

/// An OAuth 2.0 error response: `{"error": "...", "error_description": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OAuthErrorBody {
    /// The OAuth error code, such as `invalid_client`.
    #[serde(deserialize_with = "bounded")]
    pub error: String,
    /// The server's description, when given.
    #[serde(default, deserialize_with = "bounded_opt")]
    pub error_description: Option<String>,
}

/// True when `body` is a ThingSpace error envelope (an object with `errorCode`).
pub(crate) fn is_error_envelope(body: &[u8]) -> bool {
    serde_json::from_slice::<ApiErrorBody>(body)
        .is_ok_and(|api| api.error_code.is_some() && body.trim_ascii_start().starts_with(b"{"))
}

/// Text from a server, as it goes into messages and logs: bounded, control characters blanked.
fn bounded<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let text = String::deserialize(d)?;
    Ok(
        if text.len() <= SNIPPET_LIMIT && !text.contains(char::is_control) {
            text
        } else {
            snippet(text.as_bytes())
        },
    )
}

fn bounded_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Bounded(#[serde(deserialize_with = "bounded")] String);
    Ok(Option::<Bounded>::deserialize(d)?.map(|b| b.0))
}

/// The error type of every fallible operation in the SDK.
///
/// It carries the HTTP status, the service's `errorCode`/`errorMessage` or OAuth
/// `error`/`error_description` when the body had them, a bounded snippet of a body that could
/// not be decoded with the JSON path that failed, and the cursor to resume a listing from.
/// Its `Display` never contains a secret.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    operation: Option<&'static str>,
    status: Option<StatusCode>,
    api: Option<ApiErrorBody>,
    oauth: Option<OAuthErrorBody>,
    snippet: Option<String>,
    json_path: Option<String>,
    retry_after: Option<Duration>,
    resume_cursor: Option<String>,
    /// The body of the non-success answer (shared, not copied); never displayed.
    response_body: Option<Bytes>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                operation: None,
                status: None,
                api: None,
                oauth: None,
                snippet: None,
                json_path: None,
                retry_after: None,
                resume_cursor: None,
                response_body: None,
                source: None,
            }),
        }
    }

    /// An argument rejected before any request was sent.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A configuration problem.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Attaches the underlying cause, kept in the `source()` chain.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Names the operation that failed (for example `m2m.accounts.get`).
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        if self.inner.operation.is_none() {
            self.inner.operation = Some(operation);
        }
        self
    }

    /// Records the cursor from which a listing can be resumed without loss or repetition.
    pub fn with_resume_cursor(mut self, cursor: impl Into<String>) -> Self {
        self.inner.resume_cursor = Some(cursor.into());
        self
    }

    /// Adds `note` (what to do about it) after the message.
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.inner.message = format!("{}; {note}", self.inner.message);
        self
    }

    pub(crate) fn prepend_message(&mut self, text: &str) {
        self.inner.message = format!("{text}: {}", self.inner.message);
    }

    /// Builds the error for a non-success response: status, envelope or OAuth body, snippet.
    pub fn from_response(operation: &'static str, response: &Response) -> Self {
        let status = response.status;
        let kind = if status == StatusCode::UNAUTHORIZED {
            ErrorKind::Auth
        } else {
            ErrorKind::Api
        };
        let mut err = Self::new(kind, format!("HTTP {status}")).with_operation(operation);
        err.inner.status = Some(status);
        err.inner.retry_after = response.retry_after();
        let body = response.body.as_ref();
        if !body.is_empty() && body.len() <= RESPONSE_BODY_LIMIT {
            err.inner.response_body = Some(response.body.clone());
        }
        if let Ok(api) = serde_json::from_slice::<ApiErrorBody>(body)
            && (api.error_code.is_some() || api.error_message.is_some())
        {
            err.inner.api = Some(api);
        } else if let Ok(oauth) = serde_json::from_slice::<OAuthErrorBody>(body) {
            err.inner.oauth = Some(oauth);
        } else if !body.is_empty() {
            err.inner.snippet = Some(snippet(body));
        }
        err
    }

    /// Builds a decode error with the JSON path that failed and a bounded snippet of the body.
    ///
    /// Pass `sensitive = true` for bodies that may hold a secret (token and login responses):
    /// then no snippet is kept and serde's message, which may quote a value, is withheld; that
    /// the body was empty or an HTML page is still said.
    pub(crate) fn decode(
        operation: &'static str,
        body: &[u8],
        err: serde_path_to_error::Error<serde_json::Error>,
        sensitive: bool,
    ) -> Self {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let plain = if body.iter().all(u8::is_ascii_whitespace) {
            Some("the body is empty")
        } else if looks_like_html(body) {
            Some("the body is HTML, not JSON")
        } else {
            None
        };
        let mut e = match (plain, sensitive) {
            (Some(what), _) => Self::new(
                ErrorKind::Decode,
                format!("could not decode the response: {what}"),
            ),
            (None, true) => Self::new(
                ErrorKind::Decode,
                "could not decode the response (details withheld: the body may hold a secret)",
            ),
            // serde quotes the offending value whole: a megabyte string makes a megabyte
            // message, so it is bounded like a snippet.
            (None, false) => Self::new(
                ErrorKind::Decode,
                format!(
                    "could not decode the response: {}",
                    snippet(inner.to_string().as_bytes())
                ),
            ),
        }
        .with_operation(operation);
        if !sensitive && !body.is_empty() {
            e.inner.snippet = Some(snippet(body));
        }
        e.inner.json_path = (path != ".").then_some(path);
        e
    }

    /// The error of a token request or a login whose answer was not a credential. 400, 401
    /// and 403 are a refusal of the credentials ([`ErrorKind::Auth`]: not retried, and held
    /// for a few seconds by the credential cache); anything else (429, 5xx, a 404 from a wrong
    /// URL) is the endpoint failing ([`ErrorKind::Api`]). `refused` and `failed` say whose
    /// credentials, for each case. The service's envelope or OAuth error is kept; no snippet
    /// of the body is (it may echo what was sent). Errors without a status (a connection
    /// failure, the budget) and errors of another operation (a login's token request) are
    /// returned as they are.
    pub(crate) fn into_credential_failure(
        mut self,
        operation: &'static str,
        refused: impl FnOnce() -> String,
        failed: impl FnOnce() -> String,
    ) -> Self {
        let Some(status) = self.inner.status else {
            return self;
        };
        if self.inner.operation != Some(operation) {
            return self;
        }
        if self.inner.kind == ErrorKind::Decode {
            return self;
        }
        let refusal = matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) || status.is_success();
        self.inner.kind = if refusal {
            ErrorKind::Auth
        } else {
            ErrorKind::Api
        };
        let what = if refusal { refused() } else { failed() };
        self.inner.message = format!("{what} (HTTP {status})");
        self.inner.snippet = None;
        self.inner.response_body = None;
        self
    }

    /// The error of a request that changes something, sent, whose outcome is not known:
    /// `cause` is what happened (kept as the status and the source), `how_to_check` how the
    /// caller can find out whether the service acted.
    pub fn outcome_unknown(cause: Error, how_to_check: &str) -> Self {
        let operation = cause.inner.operation;
        let status = cause.inner.status;
        let api = cause.inner.api.clone();
        let mut err = Self::new(
            ErrorKind::OutcomeUnknown,
            format!(
                "the request was sent but its outcome is unknown ({}); it was not sent again, \
                 since the service may have acted on it: {how_to_check}",
                cause.summary()
            ),
        );
        err.inner.operation = operation;
        err.inner.status = status;
        err.inner.api = api;
        err.inner.source = Some(Box::new(cause));
        err
    }

    /// The message without the operation: what went wrong, in a few words.
    fn summary(&self) -> String {
        match self.inner.status {
            Some(status) => format!("HTTP {status}"),
            None => self.inner.message.clone(),
        }
    }

    /// Adds `text` to the message, after what it says.
    pub(crate) fn append_message(&mut self, text: &str) {
        self.inner.message.push_str(text);
    }

    /// A copy for another caller who shares this outcome; the source, which cannot be
    /// copied, is summed up in the message.
    pub(crate) fn shared_copy(&self) -> Self {
        let i = &self.inner;
        let mut message = i.message.clone();
        if let Some(source) = &i.source {
            message.push_str(&format!(": {source}"));
        }
        Self {
            inner: Box::new(Inner {
                kind: i.kind,
                message,
                operation: i.operation,
                status: i.status,
                api: i.api.clone(),
                oauth: i.oauth.clone(),
                snippet: i.snippet.clone(),
                json_path: i.json_path.clone(),
                retry_after: i.retry_after,
                resume_cursor: i.resume_cursor.clone(),
                response_body: i.response_body.clone(),
                source: None,
            }),
        }
    }

    /// The same error without the snippet of the body, nor the body.
    pub(crate) fn without_snippet(mut self) -> Self {
        self.inner.snippet = None;
        self.inner.response_body = None;
        self
    }

    pub(crate) fn with_snippet_of(mut self, body: &[u8]) -> Self {
        if !body.is_empty() {
            self.inner.snippet = Some(snippet(body));
        }
        self
    }

    pub(crate) fn set_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// The broad category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The operation that failed, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status of the response, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// ThingSpace's `errorCode`, when the body had one.
    pub fn api_code(&self) -> Option<&str> {
        self.inner.api.as_ref()?.error_code.as_deref()
    }

    /// ThingSpace's `errorMessage`, when the body had one.
    pub fn api_message(&self) -> Option<&str> {
        self.inner.api.as_ref()?.error_message.as_deref()
    }

    /// The OAuth error body, when the token endpoint sent one.
    pub fn oauth_error(&self) -> Option<&OAuthErrorBody> {
        self.inner.oauth.as_ref()
    }

    /// A bounded excerpt (at most [`SNIPPET_LIMIT`] bytes) of a body that could not be understood.
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.snippet.as_deref()
    }

    /// The JSON path at which decoding failed, such as `servicePlans[0].sizeKb`.
    pub fn json_path(&self) -> Option<&str> {
        self.inner.json_path.as_deref()
    }

    /// The whole body of the non-success answer this error stands for, for a family to decode
    /// an error format of its own (such as the `errors` of an ASP.NET validation problem).
    /// `None` when there was no answer, when the body was empty or longer than
    /// [`RESPONSE_BODY_LIMIT`], and for the answers of requests that carry secrets (token
    /// requests, logins): those may echo what was sent. Neither `Display` nor `Debug` shows it.
    pub fn response_body(&self) -> Option<&[u8]> {
        self.inner.response_body.as_deref()
    }

    /// The delay the server asked for with `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The cursor from which an interrupted listing can be resumed.
    pub fn resume_cursor(&self) -> Option<&str> {
        self.inner.resume_cursor.as_deref()
    }

    /// True for failures worth retrying: 429, 502, 503, 504, connection failures and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Transport => true,
            ErrorKind::Api => self.inner.status.is_some_and(is_transient_status),
            _ => false,
        }
    }

    /// True when a credential was refused (401, 403, or a token or login failure).
    pub fn is_auth(&self) -> bool {
        self.inner.kind == ErrorKind::Auth
            || matches!(
                self.inner.status,
                Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            )
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(StatusCode::NOT_FOUND)
    }

    /// True when the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// True when a response body could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == ErrorKind::Decode
    }

    /// True when a request that changes something was sent and its outcome is unknown: check
    /// before sending it again (the message says how).
    pub fn is_outcome_unknown(&self) -> bool {
        self.inner.kind == ErrorKind::OutcomeUnknown
    }
}

/// True when the body starts like an HTML document.
fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    body.get(start..start + 1) == Some(b"<")
}

/// At most [`SNIPPET_LIMIT`] bytes of `body`, cut on a character boundary, control characters escaped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let mut cut = &body[..body.len().min(SNIPPET_LIMIT)];
    if let Err(e) = std::str::from_utf8(cut)
        && e.error_len().is_none()
    {
        // The limit fell inside a multi-byte character: stop before it.
        cut = &cut[..e.valid_up_to()];
    }
    let mut out = String::with_capacity(SNIPPET_LIMIT + 3);
    let mut cut_short = body.len() > SNIPPET_LIMIT;
    // Invalid bytes become U+FFFD (three bytes each), so the output is bounded on its own.
    for c in String::from_utf8_lossy(cut).chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > SNIPPET_LIMIT {
            cut_short = true;
            break;
        }
        out.push(c);
    }
    if cut_short {
        out.push('…');
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let Some(op) = i.operation {
            write!(f, "{op}: ")?;
        }
        f.write_str(&i.message)?;
        if let Some(api) = &i.api {
            match (&api.error_code, &api.error_message) {
                (Some(c), Some(m)) => write!(f, ": {c}: {m}")?,
                (Some(c), None) => write!(f, ": {c}")?,
                (None, Some(m)) => write!(f, ": {m}")?,
                (None, None) => {}
            }
        }
        if let Some(o) = &i.oauth {
            write!(f, ": {}", o.error)?;
            if let Some(d) = &o.error_description {
                write!(f, ": {d}")?;
            }
        }
        if let Some(p) = &i.json_path {
            write!(f, " (at `{p}`)")?;
        }
        if let Some(s) = &i.snippet {
            write!(f, "; body: {s}")?;
        }
        if let Some(c) = &i.resume_cursor {
            write!(f, "; resume from cursor {c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("message", &i.message);
        if let Some(v) = &i.operation {
            d.field("operation", v);
        }
        if let Some(v) = &i.status {
            d.field("status", v);
        }
        if let Some(v) = &i.api {
            d.field("api", v);
        }
        if let Some(v) = &i.oauth {
            d.field("oauth", v);
        }
        if let Some(v) = &i.json_path {
            d.field("json_path", v);
        }
        if let Some(v) = &i.snippet {
            d.field("snippet", v);
        }
        if let Some(v) = &i.retry_after {
            d.field("retry_after", v);
        }
        if let Some(v) = &i.resume_cursor {
            d.field("resume_cursor", v);
        }
        if let Some(v) = &i.response_body {
            d.field("response_body_len", &v.len());
        }
        if let Some(v) = &i.source {
            d.field("source", v);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn response(status: u16, body: &'static str) -> Response {
        Response {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn envelope_reaches_display() {
        let e = Error::from_response(
            "m2m.accounts.get",
            &response(
                400,
                r#"{"errorCode":"INVALID_ACCOUNT","errorMessage":"no such account"}"#,
            ),
        );
        assert_eq!(e.api_code(), Some("INVALID_ACCOUNT"));
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        let text = e.to_string();
        assert!(
            text.contains("INVALID_ACCOUNT") && text.contains("no such account"),
            "{text}"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn the_body_of_an_answer_is_kept_for_families_but_never_shown() {
        let body = r#"{"errors":{"TenantId":["already exists"]},"title":"One or more validation errors occurred.","status":400}"#;
        let e = Error::from_response("oc.leads.create", &response(400, body));
        assert_eq!(e.response_body(), Some(body.as_bytes()));
        assert!(!e.to_string().contains("already exists"), "{e}");
        assert!(!format!("{e:?}").contains("already exists"), "{e:?}");
        assert_eq!(e.shared_copy().response_body(), Some(body.as_bytes()));
        // Not for requests that carry secrets, nor for credential failures.
        assert_eq!(e.without_snippet().response_body(), None);
        let e = Error::from_response("oauth2.token", &response(400, body)).into_credential_failure(
            "oauth2.token",
            || "refused".into(),
            || "failed".into(),
        );
        assert_eq!(e.response_body(), None);
        // Nor when there is nothing, or too much, to keep.
        assert_eq!(
            Error::from_response("op", &response(500, "")).response_body(),
            None
        );
        let big = Response::new(
            StatusCode::BAD_REQUEST,
            HeaderMap::new(),
            vec![b' '; RESPONSE_BODY_LIMIT + 1],
        );
        assert_eq!(Error::from_response("op", &big).response_body(), None);
    }

    #[test]
    fn problem_details_are_read_as_code_and_message() {
        let body = r#"{"title":"Bad Request","status":400,"detail":"PageSize is 1 to 20000"}"#;
        let r = Response::new(StatusCode::BAD_REQUEST, HeaderMap::new(), body);
        let e = Error::from_response("op", &r);
        assert_eq!(e.api_code(), Some("Bad Request"));
        assert_eq!(e.api_message(), Some("PageSize is 1 to 20000"));
        assert!(e.to_string().contains("PageSize is 1 to 20000"), "{e}");
    }

    #[test]
    fn server_messages_are_bounded_and_single_line() {
        let long = "x".repeat(100_000);
        let body = format!(r#"{{"errorCode":"E","errorMessage":"{long}\nforged log line"}}"#);
        let r = Response::new(StatusCode::BAD_REQUEST, HeaderMap::new(), body);
        let e = Error::from_response("op", &r);
        let text = e.to_string();
        assert!(text.len() < 1_000, "{}", text.len());
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(e.api_code(), Some("E"));
    }

    #[test]
    fn oauth_error_and_html_snippet() {
        let e = Error::from_response(
            "token",
            &response(
                401,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
            ),
        );
        assert_eq!(
            e.oauth_error().map(|o| o.error.as_str()),
            Some("invalid_client")
        );
        assert!(e.is_auth());
        let e = Error::from_response("x", &response(502, "<html><body>Bad gateway</body></html>"));
        assert!(e.is_retryable());
        assert!(e.body_snippet().is_some_and(|s| s.contains("Bad gateway")));
    }

    #[test]
    fn snippet_is_bounded_and_safe_on_char_boundaries() {
        let long = "é".repeat(2000);
        let s = snippet(long.as_bytes());
        assert!(s.len() <= SNIPPET_LIMIT + '…'.len_utf8());
        assert!(s.ends_with('…'));
    }

    #[test]
    fn snippet_stays_bounded_when_invalid_bytes_expand() {
        // Found by the fuzzer: each invalid byte becomes a three-byte U+FFFD.
        let s = snippet(&[0xff; 600]);
        assert!(s.len() <= SNIPPET_LIMIT + '…'.len_utf8(), "{}", s.len());
        assert!(s.ends_with('…'));
        let s = snippet(&[0xff; 10]);
        assert_eq!(s.chars().count(), 10);
    }

    #[test]
    fn decode_error_names_the_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: Vec<u32>,
        }
        let body = br#"{"a":[1,"x"]}"#;
        let de = &mut serde_json::Deserializer::from_slice(body);
        let err = serde_path_to_error::deserialize::<_, T>(de).expect_err("must fail");
        let e = Error::decode("op", body, err, false);
        assert_eq!(e.json_path(), Some("a[1]"));
        assert!(e.to_string().contains("a[1]"));
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn decode_errors_stay_bounded_whatever_the_value_quoted() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            more: bool,
        }
        let body = format!(r#"{{"more":"{}"}}"#, "x".repeat(1_000_000));
        let de = &mut serde_json::Deserializer::from_slice(body.as_bytes());
        let err = serde_path_to_error::deserialize::<_, T>(de).expect_err("must fail");
        let e = Error::decode("op", body.as_bytes(), err, false);
        assert!(
            e.to_string().len() < 4 * SNIPPET_LIMIT,
            "{}",
            e.to_string().len()
        );
        assert!(format!("{e:?}").len() < 4 * SNIPPET_LIMIT);
        let mut source = e.source();
        while let Some(s) = source {
            assert!(s.to_string().len() < 4 * SNIPPET_LIMIT);
            source = s.source();
        }
    }
}

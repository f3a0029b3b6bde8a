//! Fault injection and the error responses the real services send: ThingSpace's envelope
//! (`errorCode`/`errorMessage`) on its routes, RFC 7807 problems (`title`/`status`/`detail`) on
//! Operator Connect's.

use std::time::Duration;

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::Route;

/// A fault applied to one request on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and the route's error body: ThingSpace's envelope (code
    /// `INJECTED_FAULT`), or on Operator Connect's lead route an RFC 7807 problem whose `title`
    /// is the status's reason phrase.
    Status(u16),
    /// Answer with this status and a `Retry-After` header (seconds, or an HTTP date).
    RetryAfter(u16, String),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with a gateway's HTML error page and this status.
    Html(u16),
    /// Answer 200 with a body cut off in the middle of the JSON.
    Truncated,
    /// Answer with this status and an empty body.
    Empty(u16),
    /// Answer with this status and body, as `application/json`.
    Json(u16, String),
    /// Answer 401 with the route's error body, as if the credentials had expired on the server.
    Unauthorized,
    /// Send the status line and headers, then drop the connection without a body.
    Reset,
    /// Answer 200 announcing a body, send the start of the JSON, then drop the connection.
    CutBody,
    /// Leads only: answer the page normally, but a 202 page comes without its `Location` header.
    NoLocation,
    /// Leads only: the 202 page's `Location` has no `next` parameter.
    LocationWithoutNext,
    /// Leads only: the 202 page's `Location` repeats the cursor this page was fetched with.
    RepeatCursor,
    /// Leads only: a 202 page whose body says `"hasMoreData": false`, contradicting its status.
    ContradictoryMoreFlag,
    /// Leads only: a 202 page whose body has no `hasMoreData` at all.
    NoMoreFlag,
    /// Leads only: serve the first page again, under a fresh cursor, as a server or cache that
    /// ignores `next` would.
    IgnoreCursor,
    /// Answer with this redirect status and `Location` (as a misconfigured gateway might).
    Redirect(u16, String),
}

pub(crate) fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorCode": code, "errorMessage": message })),
    )
        .into_response()
}

/// An RFC 7807 problem, as the Operator Connect service answers errors: its `title` is the
/// status's reason phrase (`Bad Request`), its `detail` says what was wrong.
pub(crate) fn problem(status: StatusCode, detail: Option<&str>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut body = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15",
        "title": title,
        "status": status.as_u16(),
    });
    if let Some(detail) = detail {
        body["detail"] = json!(detail);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// How a route's service spells its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// ThingSpace's `{"errorCode", "errorMessage"}`.
    Envelope,
    /// RFC 7807 `{"title", "status", "detail"}` (Operator Connect).
    Problem,
}

impl Dialect {
    fn of(route: Route) -> Self {
        match route {
            Route::OcLeads => Dialect::Problem,
            _ => Dialect::Envelope,
        }
    }

    fn error(self, status: StatusCode, code: &str, message: &str) -> Response {
        match self {
            Dialect::Envelope => envelope(status, code, message),
            Dialect::Problem => problem(status, Some(message)),
        }
    }
}

/// A fault taken from a route's queue, with the route it was queued on (which decides how
/// its error bodies are spelled).
#[derive(Debug, Clone)]
pub(crate) struct Injected {
    pub(crate) route: Route,
    pub(crate) fault: Fault,
}

impl Fault {
    /// True for the leads quirks, which change a normal answer instead of replacing it.
    pub(crate) fn is_leads_quirk(&self) -> bool {
        matches!(
            self,
            Fault::NoLocation
                | Fault::LocationWithoutNext
                | Fault::RepeatCursor
                | Fault::ContradictoryMoreFlag
                | Fault::NoMoreFlag
                | Fault::IgnoreCursor
        )
    }

    /// The response for this fault, or `None` for a delay (after waiting it out) and for the
    /// leads quirks (applied by the leads route itself).
    pub(crate) async fn respond(self, route: Route) -> Option<Response> {
        let dialect = Dialect::of(route);
        Some(match self {
            Fault::Status(code) => dialect.error(
                status(code),
                "INJECTED_FAULT",
                &format!("fault injected by the mock: HTTP {code}"),
            ),
            Fault::RetryAfter(code, after) => {
                let mut r = dialect.error(status(code), "RATE_LIMITED", "slow down");
                if let Ok(v) = HeaderValue::from_str(&after) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                return None;
            }
            Fault::Html(code) => (
                status(code),
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>Gateway error</title></head><body><h1>The gateway failed</h1></body></html>",
            )
                .into_response(),
            Fault::Truncated => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"accountName":"0000123456","servicePlans":[{"name":"#,
            )
                .into_response(),
            Fault::Empty(code) => (status(code), Body::empty()).into_response(),
            Fault::Json(code, body) => (
                status(code),
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response(),
            Fault::NoLocation
            | Fault::LocationWithoutNext
            | Fault::RepeatCursor
            | Fault::ContradictoryMoreFlag
            | Fault::NoMoreFlag
            | Fault::IgnoreCursor => return None,
            Fault::Reset => {
                let chunks: Vec<Result<&'static str, std::io::Error>> =
                    vec![Err(std::io::Error::other("connection reset by the mock"))];
                (StatusCode::OK, Body::from_stream(futures_util::stream::iter(chunks))).into_response()
            }
            Fault::CutBody => {
                let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
                    Ok(r#"{"accountName":"0000123456","carriers":["Verizon"#),
                    Err(std::io::Error::other("connection dropped by the mock")),
                ];
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json"), (header::CONTENT_LENGTH, "4096")],
                    Body::from_stream(futures_util::stream::iter(chunks)),
                )
                    .into_response()
            }
            Fault::Redirect(code, location) => (
                status(code),
                [(header::LOCATION, location)],
                Body::empty(),
            )
                .into_response(),
            Fault::Unauthorized => dialect.error(
                StatusCode::UNAUTHORIZED,
                "UnauthorizedAccess",
                "The token is invalid or has expired",
            ),
        })
    }
}

/// Applies the fault queued for this request, if any: `Some(response)` ends the request.
pub(crate) async fn apply(injected: Option<Injected>) -> Option<Response> {
    let Injected { route, fault } = injected?;
    fault.respond(route).await
}

/// A path no route serves: what a gateway answers, not the service, so without the service's
/// error body (a JSON fault of the gateway's own on ThingSpace paths, an empty body under
/// Operator Connect's `/tenantui`, as ASP.NET Core answers an unknown route).
pub(crate) async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/tenantui/") {
        return (StatusCode::NOT_FOUND, Body::empty()).into_response();
    }
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "fault": {
            "faultstring": format!("no resource matches {}", uri.path()),
            "detail": { "errorcode": "messaging.adaptors.http.flow.ResourceNotFound" },
        }})),
    )
        .into_response()
}

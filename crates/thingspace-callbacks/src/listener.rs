//! The listener: what it checks before acknowledging a callback, in order.
//!
//! 1. **admit**: a POST (any path), from an allowed network when an allow-list is set;
//! 2. **read**: the body, at most [`ListenerBuilder::max_body_bytes`], within
//!    [`ListenerBuilder::body_timeout`];
//! 3. **decode**: [`decode_callback`];
//! 4. **authenticate**: the posted user name and password, in constant time;
//! 5. **keep**: every sink, in the order given; a refusal answers 503 so ThingSpace sends the
//!    callback again;
//! 6. **acknowledge**: 200.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body::Body as _;

use crate::{Callback, Credentials, Network, Sink, decode_callback};

/// Counters of a listener, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Callbacks kept by every sink and acknowledged.
    pub accepted: u64,
    /// Callbacks refused for wrong credentials (401).
    pub unauthorized: u64,
    /// Bodies that were not callbacks, too large or too slow (4xx).
    pub malformed: u64,
    /// Callbacks a sink refused (503; ThingSpace sends them again).
    pub unavailable: u64,
    /// Requests or connections from outside the allow-list.
    pub forbidden: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    unavailable: AtomicU64,
    forbidden: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) struct Shared {
    credentials: Credentials,
    sinks: Vec<Arc<dyn Sink>>,
    max_body_bytes: usize,
    body_timeout: Duration,
    sink_timeout: Duration,
    pub(crate) header_timeout: Duration,
    pub(crate) max_connections: usize,
    allow: Vec<Network>,
    counters: Counters,
}

impl Shared {
    /// True when `ip` may post callbacks.
    pub(crate) fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|n| n.contains(ip))
    }

    /// Counts a connection refused by the allow-list.
    pub(crate) fn forbid(&self) {
        bump(&self.counters.forbidden);
    }

    pub(crate) fn stats(&self) -> ListenerStats {
        let c = &self.counters;
        ListenerStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            unauthorized: c.unauthorized.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            unavailable: c.unavailable.load(Ordering::Relaxed),
            forbidden: c.forbidden.load(Ordering::Relaxed),
        }
    }
}

/// A callback listener: checks each callback, hands it to its sinks, then acknowledges it.
///
/// Serve it with [`Listener::bind`] (its own HTTP server, with timeouts and a connection cap),
/// or mount [`Listener::router`] in your own axum application. Terminate TLS in front of it:
/// ThingSpace only posts to https URLs with a CA-signed certificate (see the crate docs).
///
/// ```no_run
/// use thingspace_callbacks::{Credentials, FileSink, Listener, Tracker};
///
/// # async fn run() -> std::io::Result<()> {
/// let tracker = Tracker::new();
/// let listener = Listener::builder(Credentials::new("ts-callbacks", "from-your-vault"))
///     .sink(FileSink::open("callbacks.ndjson")?) // on disk before the acknowledgement
///     .sink(tracker.clone()) // then handed to whoever waits
///     .build()
///     .bind("127.0.0.1:9001")
///     .await?;
/// println!("listening on {}", listener.local_addr());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Listener {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("username", &self.shared.credentials.username())
            .field("sinks", &self.shared.sinks)
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .field("allow", &self.shared.allow)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Listener`].
#[derive(Debug)]
pub struct ListenerBuilder {
    credentials: Credentials,
    sinks: Vec<Arc<dyn Sink>>,
    max_body_bytes: usize,
    body_timeout: Duration,
    sink_timeout: Duration,
    header_timeout: Duration,
    max_connections: usize,
    allow: Vec<Network>,
}

impl Listener {
    /// A listener accepting callbacks that carry `credentials`. Add at least one sink: without
    /// one, every callback is answered 503 (and sent again by ThingSpace).
    pub fn builder(credentials: Credentials) -> ListenerBuilder {
        ListenerBuilder {
            credentials,
            sinks: Vec::new(),
            max_body_bytes: 64 * 1024,
            body_timeout: Duration::from_secs(10),
            sink_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            allow: Vec::new(),
        }
    }

    /// The listener as an axum [`Router`] answering POST on every path, to mount in your own
    /// application. Your server's timeouts and connection limits apply instead of this crate's;
    /// with an allow-list, serve it with `into_make_service_with_connect_info::<SocketAddr>()`,
    /// or every request is refused (403), since the source address is unknown.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&self.shared))
    }

    /// Counters since the listener was built.
    pub fn stats(&self) -> ListenerStats {
        self.shared.stats()
    }
}

impl ListenerBuilder {
    /// Hands each accepted callback to `sink`, after the sinks added before it. Put durable
    /// sinks first and the [`crate::Tracker`] last, so a callback reaches waiters only once it is
    /// kept.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Refuses bodies larger than `bytes` (413). Default 64 KiB; a callback is about 1 KiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Refuses a body not received within `timeout` (408). Default 10 s.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Answers 503 (so ThingSpace sends the callback again) when the sinks have not kept a
    /// callback within `timeout` (a disk or a queue that stalls must not hold connections).
    /// Default 10 s.
    pub fn sink_timeout(mut self, timeout: Duration) -> Self {
        self.sink_timeout = timeout;
        self
    }

    /// Closes a connection whose request headers are not received within `timeout`, including
    /// an idle keep-alive connection. Default 10 s. Only for [`Listener::bind`].
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Serves at most `count` connections at once (1 to 100,000; default 1,024); more wait to
    /// be accepted. Only for [`Listener::bind`].
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.clamp(1, 100_000);
        self
    }

    /// Accepts callbacks only from these networks (Verizon publishes the addresses its
    /// callbacks come from; a proxy in front of the listener must then be among them). Others
    /// are closed at once ([`Listener::bind`]) or answered 403 ([`Listener::router`]).
    pub fn allow_from(mut self, networks: impl IntoIterator<Item = Network>) -> Self {
        self.allow.extend(networks);
        self
    }

    /// The listener.
    pub fn build(self) -> Listener {
        if self.sinks.is_empty() {
            tracing::error!(
                "callback listener built without a sink: every callback will be answered 503"
            );
        }
        Listener {
            shared: Arc::new(Shared {
                credentials: self.credentials,
                sinks: self.sinks,
                max_body_bytes: self.max_body_bytes,
                body_timeout: self.body_timeout,
                sink_timeout: self.sink_timeout,
                header_timeout: self.header_timeout,
                max_connections: self.max_connections,
                allow: self.allow,
                counters: Counters::default(),
            }),
        }
    }
}

/// An answer with a short plain-text reason (never a value from the request).
fn answer(status: StatusCode, reason: &'static str) -> Response {
    (status, reason).into_response()
}

enum Unreadable {
    TooLarge,
    Broken,
}

/// Reads the body, refusing it as soon as it passes `max` bytes.
async fn read_body(body: Body, max: usize) -> Result<Vec<u8>, Unreadable> {
    if body.size_hint().lower() > max as u64 {
        return Err(Unreadable::TooLarge);
    }
    let mut body = body;
    let mut bytes = Vec::with_capacity(body.size_hint().lower().min(max as u64) as usize);
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| Unreadable::Broken)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > max {
                return Err(Unreadable::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    // 1. admit
    if request.method() != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "callbacks are POSTed",
        )
            .into_response();
    }
    if !shared.allow.is_empty() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if !peer.is_some_and(|ip| shared.allowed(ip)) {
            bump(&shared.counters.forbidden);
            if peer.is_none() {
                tracing::error!(
                    "callback refused: an allow-list is set but the source address is unknown (serve the router with connect info)"
                );
            } else {
                tracing::warn!(peer = ?peer, "callback refused: source outside the allow-list");
            }
            return answer(StatusCode::FORBIDDEN, "source not allowed");
        }
    }
    // 2. read
    let read = tokio::time::timeout(
        shared.body_timeout,
        read_body(request.into_body(), shared.max_body_bytes),
    )
    .await;
    let body = match read {
        Ok(Ok(body)) => body,
        refused => {
            bump(&shared.counters.malformed);
            let (status, reason) = match refused {
                Err(_) => (StatusCode::REQUEST_TIMEOUT, "body not received in time"),
                Ok(Err(Unreadable::TooLarge)) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body too large for a callback",
                ),
                Ok(Err(Unreadable::Broken)) | Ok(Ok(_)) => {
                    (StatusCode::BAD_REQUEST, "body could not be read")
                }
            };
            tracing::warn!(status = status.as_u16(), "callback refused: {reason}");
            return answer(status, reason);
        }
    };
    // 3. decode
    let callback = match decode_callback(&body) {
        Ok(c) => c,
        Err(e) => {
            bump(&shared.counters.malformed);
            tracing::warn!(reason = %e.reason, "callback refused: not a ThingSpace callback");
            return answer(StatusCode::BAD_REQUEST, "not a ThingSpace callback");
        }
    };
    // 4. authenticate
    if !shared
        .credentials
        .check(callback.username.as_deref(), callback.password.as_ref())
    {
        bump(&shared.counters.unauthorized);
        tracing::warn!(request_id = ?callback.request_id, "callback refused: wrong user name or password");
        return answer(StatusCode::UNAUTHORIZED, "wrong callback credentials");
    }
    // 5. keep
    match tokio::time::timeout(shared.sink_timeout, keep(&shared, &callback)).await {
        Ok(Ok(())) => {}
        Ok(Err(response)) => return response,
        Err(_) => {
            bump(&shared.counters.unavailable);
            tracing::warn!(request_id = ?callback.request_id, "callback not kept in time; answered 503 so that it is sent again");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
                "callback not kept in time, send it again",
            )
                .into_response();
        }
    }
    // 6. acknowledge
    bump(&shared.counters.accepted);
    tracing::debug!(request_id = ?callback.request_id, count = ?callback.callback_count, "callback kept and acknowledged");
    StatusCode::OK.into_response()
}

/// Hands `callback` to every sink in order; the 503 to answer if one refuses.
async fn keep(shared: &Shared, callback: &Callback) -> Result<(), Response> {
    if shared.sinks.is_empty() {
        bump(&shared.counters.unavailable);
        return Err(answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "no sink to keep callbacks",
        ));
    }
    for sink in &shared.sinks {
        if let Err(e) = sink.accept(callback).await {
            bump(&shared.counters.unavailable);
            tracing::warn!(request_id = ?callback.request_id, error = %e, "callback not kept; answered 503 so that it is sent again");
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
                "callback not kept, send it again",
            )
                .into_response());
        }
    }
    Ok(())
}

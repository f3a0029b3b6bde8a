//! The transport: one HTTP request in, one HTTP response out.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::error::Result;
pub use crate::message::{Request, Response};

/// Sends HTTP requests. The SDK holds one as `Arc<dyn Transport>`; swap it in tests.
///
/// Implementations return `Ok` for every HTTP response, whatever its status, and `Err` only
/// when no complete response arrived: [`ErrorKind::Connect`](crate::ErrorKind::Connect),
/// [`Timeout`](crate::ErrorKind::Timeout), [`Transport`](crate::ErrorKind::Transport) or
/// [`BodyTooLarge`](crate::ErrorKind::BodyTooLarge).
///
/// ```
/// use async_trait::async_trait;
/// use thingspace_core::{Request, Response, Result, Transport};
///
/// /// A transport that answers every request with 204.
/// #[derive(Debug)]
/// struct NoContent;
///
/// #[async_trait]
/// impl Transport for NoContent {
///     async fn send(&self, _request: Request) -> Result<Response> {
///         Ok(Response::new(http::StatusCode::NO_CONTENT, Default::default(), ""))
///     }
/// }
/// ```
#[cfg_attr(any(test, feature = "mockall"), mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends one request and reads the whole response.
    async fn send(&self, request: Request) -> Result<Response>;
}

/// A shared transport.
pub type SharedTransport = Arc<dyn Transport>;

/// The per-attempt timeout when none is configured: a stalled endpoint must not hold a caller
/// (or every caller waiting for a credential) forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default cap on a response body: 32 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[cfg(feature = "reqwest")]
pub use self::reqwest_transport::ReqwestTransport;

#[cfg(feature = "reqwest")]
mod reqwest_transport {
    use super::*;
    use crate::error::{Error, ErrorKind};

    /// How long the default transport tries to connect: a connection that stalls fails as a
    /// connection failure (nothing sent, safe to retry for any request), not as a timeout of a
    /// request that may have been sent.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The default transport, on [`reqwest`] with rustls. It follows no redirect: a 3xx
    /// answer reaches the client, which returns it as an error.
    ///
    /// Build it from your own `reqwest::ClientBuilder` for a proxy, extra root certificates or
    /// pool settings:
    ///
    /// ```
    /// # fn main() -> thingspace_core::Result<()> {
    /// let builder = reqwest::Client::builder().pool_max_idle_per_host(16);
    /// let transport = thingspace_core::ReqwestTransport::from_builder(builder)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// There is deliberately no way to wrap a finished `reqwest::Client`: its redirect policy
    /// cannot be read or changed, and reqwest's default follows redirects carrying every header
    /// but `Authorization` and `Cookie`, so the `VZ-M2M-Token` session (and, on 307/308, a login
    /// body with the password) would go wherever a `Location` pointed.
    #[derive(Debug, Clone)]
    pub struct ReqwestTransport {
        client: reqwest::Client,
        max_body_bytes: usize,
    }

    impl ReqwestTransport {
        /// A transport with reqwest's defaults (rustls, connection pooling).
        ///
        /// # Errors
        /// When the TLS backend cannot be initialised.
        pub fn new() -> Result<Self> {
            Self::from_builder(reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT))
        }

        /// A transport from the caller's own client settings. The SDK sets its user agent
        /// and turns redirects off, whatever the builder said about them.
        ///
        /// # Errors
        /// When reqwest cannot build the client (the TLS backend or a setting is refused).
        pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self> {
            let client = builder
                .user_agent(concat!("thingspace-rs/", env!("CARGO_PKG_VERSION")))
                // A redirect is an error, never followed: following one would carry the M2M
                // session header (and, on 307/308, a login body) to wherever it points.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::config("could not build the HTTP client").with_source(e))?;
            Ok(Self {
                client,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            })
        }

        /// Caps the size of a response body; a larger one fails with
        /// [`ErrorKind::BodyTooLarge`] without being read further.
        pub fn with_max_body_bytes(mut self, max: usize) -> Self {
            self.max_body_bytes = max;
            self
        }

        fn map_error(err: reqwest::Error) -> Error {
            // A head too large (thousands of headers) is an answer that will not change when
            // asked again, not a dropped connection: never retried.
            if head_too_large(&err) {
                return Error::new(
                    ErrorKind::BodyTooLarge,
                    "the response head was too large (too many headers, or too long)",
                )
                .with_source(err.without_url());
            }
            // A connection that could not be made in time is a connection failure (nothing
            // was sent), not a request that timed out.
            let kind = if err.is_connect() {
                ErrorKind::Connect
            } else if err.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            };
            let message = match kind {
                ErrorKind::Timeout => "the request timed out",
                ErrorKind::Connect => "could not connect",
                _ => "the connection failed",
            };
            // reqwest's message names the URL, which holds no secret.
            Error::new(kind, message).with_source(err.without_url())
        }

        fn too_large(&self) -> Error {
            Error::new(
                ErrorKind::BodyTooLarge,
                format!("the response body exceeds {} bytes", self.max_body_bytes),
            )
        }
    }

    /// Whether hyper refused the response's head as too large: more headers than it accepts,
    /// or more bytes.
    fn head_too_large(err: &reqwest::Error) -> bool {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = source {
            // `is_parse_too_large` needs hyper's server feature: its message names the case.
            if e.downcast_ref::<hyper::Error>()
                .is_some_and(|h| h.is_parse() && h.to_string().contains("too large"))
            {
                return true;
            }
            source = e.source();
        }
        false
    }

    #[async_trait]
    impl Transport for ReqwestTransport {
        async fn send(&self, request: Request) -> Result<Response> {
            // The request is built whole (its header map moved in, not merged header by
            // header through a builder).
            let mut http = reqwest::Request::new(request.method, request.url);
            *http.headers_mut() = request.headers;
            if !request.body.is_empty() {
                // A GET goes without a body (and so without `content-length: 0`), as by hand.
                *http.body_mut() = Some(request.body.into());
            }
            *http.timeout_mut() = request.timeout;
            let mut response = self.client.execute(http).await.map_err(Self::map_error)?;
            if response
                .content_length()
                .is_some_and(|len| len > self.max_body_bytes as u64)
            {
                return Err(self.too_large());
            }
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            if response.content_length().is_some() {
                // The length is known and within the cap: let reqwest read it in one piece.
                let body = response.bytes().await.map_err(Self::map_error)?;
                if body.len() > self.max_body_bytes {
                    return Err(self.too_large());
                }
                return Ok(Response {
                    status,
                    headers,
                    body,
                });
            }
            let mut body = Vec::with_capacity(
                response
                    .content_length()
                    .map_or(8 * 1024, |l| l as usize)
                    .min(self.max_body_bytes),
            );
            while let Some(chunk) = response.chunk().await.map_err(Self::map_error)? {
                if body.len() + chunk.len() > self.max_body_bytes {
                    return Err(self.too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body: body.into(),
            })
        }
    }
}
#[cfg(all(test, feature = "reqwest"))]
mod tests {
    use super::*;
    use http::{HeaderValue, Method, header::USER_AGENT};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The head of the one request a loopback server receives, answered with 204.
    async fn head_received(request: impl FnOnce(url::Url) -> Request) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = url::Url::parse(&format!(
            "http://{}/x",
            listener.local_addr().expect("addr")
        ))
        .expect("url");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.expect("read");
                assert!(n > 0, "closed before the end of the head");
                head.extend_from_slice(&buf[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .expect("write");
            String::from_utf8_lossy(&head).to_lowercase()
        });
        let transport = ReqwestTransport::new().expect("transport");
        let response = transport.send(request(url)).await.expect("sent");
        assert_eq!(response.status, http::StatusCode::NO_CONTENT);
        server.await.expect("server")
    }

    #[tokio::test]
    async fn every_request_names_the_sdk_unless_it_names_itself() {
        let head = head_received(|url| Request::new(Method::GET, url)).await;
        assert!(
            head.contains(&format!(
                "\r\nuser-agent: thingspace-rs/{}\r\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{head}"
        );
        let head = head_received(|url| {
            let mut request = Request::new(Method::GET, url);
            request
                .headers
                .insert(USER_AGENT, HeaderValue::from_static("fleet-sync/2"));
            request
        })
        .await;
        assert!(head.contains("\r\nuser-agent: fleet-sync/2\r\n"), "{head}");
        assert!(!head.contains("thingspace-rs"), "{head}");
    }
}

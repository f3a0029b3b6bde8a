//! The listener's own HTTP/1.1 server: an allow-list checked at accept, a cap on connections,
//! a timeout for request headers (idle keep-alive connections included), graceful shutdown.

use std::{convert::Infallible, fmt, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, ToSocketAddrs},
    sync::{Semaphore, watch},
    task::JoinHandle,
};
use tower_service::Service;

use crate::{Listener, ListenerStats, listener::Shared};

/// How long [`RunningListener::shutdown`] lets requests in flight finish.
const DRAIN: Duration = Duration::from_secs(10);

/// A listener serving on a socket. Dropping it stops accepting connections; requests in flight
/// finish in the background. [`RunningListener::shutdown`] waits for them.
pub struct RunningListener {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for RunningListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningListener")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Binds `addr` (such as `127.0.0.1:9001`; the proxy that terminates TLS forwards to it)
    /// and serves callbacks until the returned handle is dropped or shut down.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> std::io::Result<RunningListener> {
        self.serve(TcpListener::bind(addr).await?)
    }

    /// Serves callbacks on a socket already bound.
    ///
    /// # Errors
    /// When the socket's address cannot be read.
    pub fn serve(self, socket: TcpListener) -> std::io::Result<RunningListener> {
        let addr = socket.local_addr()?;
        let (stop, stopped) = watch::channel(());
        let router = self.router();
        let task = tokio::spawn(accept(socket, Arc::clone(&self.shared), router, stopped));
        tracing::info!(%addr, "callback listener serving");
        Ok(RunningListener {
            addr,
            shared: self.shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl RunningListener {
    /// The address it listens on (with the port chosen, when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters since the listener was built.
    pub fn stats(&self) -> ListenerStats {
        self.shared.stats()
    }

    /// Stops accepting, and waits up to 10 seconds for requests in flight to be answered.
    pub async fn shutdown(mut self) {
        self.stop.take();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningListener {
    fn drop(&mut self) {
        // Dropping the sender is the signal every connection watches.
        self.stop.take();
    }
}

async fn accept(
    socket: TcpListener,
    shared: Arc<Shared>,
    router: Router,
    mut stopped: watch::Receiver<()>,
) {
    let max = shared.max_connections;
    let permits = Arc::new(Semaphore::new(max));
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stopped.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "callback listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        if !shared.allowed(peer.ip()) {
            shared.forbid();
            tracing::warn!(%peer, "connection refused: source outside the allow-list");
            continue;
        }
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            shared.header_timeout,
            stopped.clone(),
            permit,
        ));
    }
    drop(socket);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("callback listener stopped with requests still in flight");
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut stopped: watch::Receiver<()>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            let response: Result<_, Infallible> =
                router.call(request.map(axum::body::Body::new)).await;
            response
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "callback connection ended with an error");
    }
    drop(permit);
}

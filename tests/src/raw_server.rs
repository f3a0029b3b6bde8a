//! A raw TCP server on loopback, for answers no HTTP framework would send: a head of thousands
//! of headers, a body that never ends, a `Content-Length` that is never honoured.

use std::{
    future::Future,
    io,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use thingspace::url::Url;
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// A server on `127.0.0.1` and an ephemeral port that reads each request's head and then hands
/// the connection to its answer; it counts the connections made to it. It stops when dropped.
#[derive(Debug)]
pub struct RawServer {
    url: Url,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Starts a server answering every connection with `answer`, after reading the request's
    /// head (requests with a body are not expected).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start<F, Fut>(answer: F) -> io::Result<Self>
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let url = Url::parse(&format!("http://{addr}/api/"))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let answer = Arc::new(answer);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    if read_head(&mut socket).await.is_ok() {
                        answer(socket).await;
                    }
                });
            }
        });
        Ok(Self {
            url,
            connections,
            task,
        })
    }

    /// The server's base URL, `http://127.0.0.1:<port>/api/`.
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// How many connections were made so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads `socket` up to the end of a request head (an empty line).
async fn read_head(socket: &mut TcpStream) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > 64 * 1024 {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
    Ok(())
}

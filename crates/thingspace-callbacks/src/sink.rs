//! Where an accepted callback goes before the listener acknowledges it.
//!
//! The listener answers 2xx only after every sink it was built with accepted the callback; a
//! sink that fails or is full makes it answer 503, and ThingSpace sends the callback again. So
//! nothing acknowledged is lost by the listener: durability is the sink's promise.

use std::fmt;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::Callback;

/// A destination for accepted callbacks.
///
/// Implementations decide what "kept" means: an in-process channel ([`ChannelSink`]), a file
/// fsynced before returning ([`crate::FileSink`]), the [`crate::Tracker`] that hands outcomes
/// to waiters, or your own queue or database. Return only once the callback is as safe as the
/// sink promises: the acknowledgement follows.
#[async_trait]
pub trait Sink: Send + Sync + fmt::Debug + 'static {
    /// Keeps `callback`, or says why it could not.
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError>;
}

/// Why a sink did not keep a callback. The listener answers 503, so ThingSpace sends it again.
#[derive(Debug)]
#[non_exhaustive]
pub enum SinkError {
    /// The sink is full; a later delivery may succeed.
    Full,
    /// The sink was closed (its consumer is gone).
    Closed,
    /// Writing failed.
    Io(std::io::Error),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Full => f.write_str("the callback sink is full"),
            SinkError::Closed => f.write_str("the callback sink is closed"),
            SinkError::Io(e) => write!(f, "the callback sink could not write: {e}"),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SinkError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A bounded in-process channel: each accepted callback is sent to the [`mpsc::Receiver`]
/// returned with it. When the channel is full the callback is refused (503), not awaited, so a
/// slow consumer cannot hold ThingSpace's connections open.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (sink, mut received) = thingspace_callbacks::ChannelSink::new(1024);
/// # drop(sink); assert!(received.recv().await.is_none());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: mpsc::Sender<Callback>,
}

impl ChannelSink {
    /// A channel holding at most `capacity` callbacks (at least 1) not yet received.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Callback>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx }, rx)
    }
}

#[async_trait]
impl Sink for ChannelSink {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        self.tx.try_send(callback.clone()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SinkError::Full,
            mpsc::error::TrySendError::Closed(_) => SinkError::Closed,
        })
    }
}

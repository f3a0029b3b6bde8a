//! The listener's sink: each callback appended to its request's stream in Redis before the
//! acknowledgement.

use std::{io, time::Duration};

use async_trait::async_trait;
use thingspace_callbacks::{Callback, Sink, SinkError};

use crate::fleet::RedisFleet;

/// How long a write to Redis may take before the callback is refused (503).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Appends each callback (without its password) to the stream of its request, so that the
/// waiter of that request receives it in whichever process it runs. Give it to every replica's
/// listener, before any in-process sink.
#[derive(Debug, Clone)]
pub struct RedisSink {
    fleet: RedisFleet,
}

impl RedisFleet {
    /// The sink for each replica's listener: a callback is acknowledged only once it is in
    /// Redis; while Redis is unreachable the listener answers 503 and ThingSpace sends it again.
    pub fn sink(&self) -> RedisSink {
        RedisSink {
            fleet: self.clone(),
        }
    }
}

#[async_trait]
impl Sink for RedisSink {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        let key = self.fleet.keys.outcomes(&callback.request_id);
        let line = callback.to_json_line();
        let mut conn = self.fleet.manager.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .xadd_maxlen(
                &key,
                redis::streams::StreamMaxlen::Approx(self.fleet.max_outcomes),
                "*",
                &[("body", line.as_slice())],
            )
            .ignore()
            .expire(&key, self.fleet.keep_secs())
            .ignore();
        match tokio::time::timeout(WRITE_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SinkError::Io(io::Error::other(format!(
                "Redis refused the callback: {e}"
            )))),
            Err(_) => Err(SinkError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "Redis did not answer in time",
            ))),
        }
    }
}

//! Awaiting a request's outcomes from Redis, in any process of the fleet.
//!
//! Each request's outcomes are a stream. Every waiter reads the whole stream from its own
//! cursor (so waits for different devices of one request never take each other's entries),
//! and takes a device's outcome by writing its own name for the device in the request's
//! `delivered` hash with `HSETNX`: the first waiter to write it delivers the outcome, so a
//! resend, or a second waiter, never delivers it again; a waiter that finds its own name there
//! (a reply lost on the way) delivers it; a waiter started after another one stopped (a
//! restart) skips the devices delivered by others and receives the rest, including what
//! arrived meanwhile.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    hash::BuildHasher as _,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures_core::Stream;
use redis::{AsyncCommands, Value, aio::MultiplexedConnection, streams::StreamReadOptions};
use thingspace_callbacks::{DeviceOutcome, WaitError, decode_callback};
use thingspace_core::DeviceId;
use tokio::sync::mpsc;

use crate::fleet::{RedisFleet, device_key};

/// Awaits the outcomes of requests through Redis. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisTracker {
    fleet: RedisFleet,
    poll: Duration,
}

impl RedisFleet {
    /// The tracker of this process: [`RedisTracker::wait`] receives the outcomes of a request
    /// whichever replica received them.
    pub fn tracker(&self) -> RedisTracker {
        RedisTracker::new(self.clone())
    }
}

impl RedisTracker {
    fn new(fleet: RedisFleet) -> Self {
        Self {
            fleet,
            poll: Duration::from_secs(1),
        }
    }

    /// Waits for the outcome of each of `devices` (one identifier each, as sent) in request
    /// `request_id`: a [`Stream`] of [`DeviceOutcome`]s, each device once, ending when every
    /// device has reported (devices whose outcome an earlier waiter took count as reported),
    /// or, with [`RedisWait::timeout`], with [`WaitError::TimedOut`] listing those still
    /// pending. While Redis is unreachable the wait goes on, reconnecting.
    pub fn wait(
        &self,
        request_id: impl Into<String>,
        devices: impl IntoIterator<Item = DeviceId>,
    ) -> RedisWait {
        let request_id = request_id.into();
        let pending: HashSet<DeviceId> = devices.into_iter().collect();
        let (tx, rx) = mpsc::unbounded_channel();
        // The reader ends by itself once every device reported or the wait is gone.
        tokio::spawn(read(self.clone(), request_id.clone(), pending.clone(), tx));
        RedisWait {
            request_id,
            pending,
            rx,
            deadline: None,
            error: None,
            ended: false,
        }
    }
}

enum Event {
    /// Devices an earlier waiter delivered.
    Delivered(Vec<DeviceId>),
    /// A device's outcome, taken by this waiter.
    Outcome(DeviceOutcome),
}

/// The outcomes of one request, read from Redis; see [`RedisTracker::wait`]. Dropping it stops
/// the wait.
pub struct RedisWait {
    request_id: String,
    pending: HashSet<DeviceId>,
    rx: mpsc::UnboundedReceiver<Event>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    error: Option<WaitError>,
    ended: bool,
}

impl fmt::Debug for RedisWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisWait")
            .field("request_id", &self.request_id)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl RedisWait {
    /// Ends the wait after `timeout` with [`WaitError::TimedOut`] if devices are still pending.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Box::pin(tokio::time::sleep(timeout)));
        self
    }

    /// The devices that have not reported yet.
    pub fn pending(&self) -> Vec<DeviceId> {
        self.pending.iter().cloned().collect()
    }

    /// Stops the reader (it gives back a device it took but could not hand over) and says
    /// which devices are pending; outcomes already received are delivered before the error.
    fn timed_out(&mut self) -> WaitError {
        self.rx.close();
        let pending: Vec<DeviceId> = self.pending.drain().collect();
        WaitError::timed_out(self.request_id.clone(), pending)
    }
}

impl Stream for RedisWait {
    type Item = Result<DeviceOutcome, WaitError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            if self.error.is_none() && self.pending.is_empty() {
                self.ended = true;
                self.rx.close();
                return Poll::Ready(None);
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Event::Delivered(devices))) => {
                    for d in devices {
                        self.pending.remove(&d);
                    }
                    continue;
                }
                Poll::Ready(Some(Event::Outcome(outcome))) => {
                    self.pending.remove(&outcome.device);
                    return Poll::Ready(Some(Ok(outcome)));
                }
                // The reader stopped: every device reported, or the timeout closed the channel
                // and what was buffered is delivered; the error, if any, comes last.
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(self.error.take().map(Err));
                }
                Poll::Pending => {}
            }
            if let Some(deadline) = self.deadline.as_mut()
                && deadline.as_mut().poll(cx).is_ready()
            {
                self.deadline = None;
                let e = self.timed_out();
                self.error = Some(e);
                continue;
            }
            return Poll::Pending;
        }
    }
}

impl Drop for RedisWait {
    fn drop(&mut self) {
        // Not aborted: the reader sees the closed channel at its next step (within a poll) and
        // gives back a device it took but could not hand over.
        self.rx.close();
    }
}

/// Reads the request's stream until every device reported, sending each taken outcome.
async fn read(
    tracker: RedisTracker,
    request_id: String,
    mut pending: HashSet<DeviceId>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let consumer = consumer_name();
    let mut conn: Option<MultiplexedConnection> = None;
    let mut warned = false;
    // Where this waiter's reading of the stream stands ("0": from the start); and whether the
    // devices delivered by earlier waiters were skipped yet.
    let mut cursor = "0".to_owned();
    let mut skipped_earlier = false;
    while !pending.is_empty() && !tx.is_closed() {
        // A connection of its own: the blocking read would hold a shared one.
        let c = match &mut conn {
            Some(c) => c,
            None => match tracker
                .fleet
                .client
                .get_multiplexed_async_connection_with_config(
                    // A blocking read answers within the poll: past it and a margin, the
                    // connection is taken for dead and made again.
                    &redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Duration::from_secs(2))
                        .set_response_timeout(tracker.poll + Duration::from_secs(2)),
                )
                .await
            {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if !warned {
                        tracing::warn!(error = %e, "Redis unreachable; the wait goes on and reconnects");
                        warned = true;
                    }
                    tokio::time::sleep(tracker.poll).await;
                    continue;
                }
            },
        };
        let mut reader = Reader {
            tracker: &tracker,
            request_id: &request_id,
            consumer: &consumer,
            cursor: &mut cursor,
            skipped_earlier: &mut skipped_earlier,
        };
        match reader.round(c, &mut pending, &tx).await {
            Ok(true) => warned = false,
            Ok(false) => return, // the waiter is gone
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "Redis failed while waiting; reconnecting");
                    warned = true;
                }
                conn = None;
                tokio::time::sleep(tracker.poll).await;
            }
        }
    }
}

/// One waiter's reading of a request's stream.
struct Reader<'a> {
    tracker: &'a RedisTracker,
    request_id: &'a str,
    consumer: &'a str,
    cursor: &'a mut String,
    skipped_earlier: &'a mut bool,
}

impl Reader<'_> {
    /// One round: skip what earlier waiters delivered (once), then read what follows the
    /// cursor and take each pending device's outcome. `Ok(false)` when the waiter is gone.
    async fn round(
        &mut self,
        conn: &mut MultiplexedConnection,
        pending: &mut HashSet<DeviceId>,
        tx: &mpsc::UnboundedSender<Event>,
    ) -> redis::RedisResult<bool> {
        let keys = &self.tracker.fleet.keys;
        let stream = keys.outcomes(self.request_id);
        let delivered = keys.delivered(self.request_id);
        if !*self.skipped_earlier {
            let owners: HashMap<String, String> = conn.hgetall(&delivered).await?;
            let earlier: Vec<DeviceId> = pending
                .iter()
                .filter(|d| {
                    owners
                        .get(&device_key(d))
                        .is_some_and(|owner| owner != self.consumer)
                })
                .cloned()
                .collect();
            *self.skipped_earlier = true;
            if !earlier.is_empty() {
                for d in &earlier {
                    pending.remove(d);
                }
                if tx.send(Event::Delivered(earlier)).is_err() {
                    return Ok(false);
                }
            }
        }
        if pending.is_empty() {
            return Ok(true);
        }
        let options = StreamReadOptions::default()
            .count(100)
            .block(self.tracker.poll.as_millis() as usize);
        let read: Option<redis::streams::StreamReadReply> = conn
            .xread_options(&[&stream], &[self.cursor.as_str()], &options)
            .await?;
        for key in read.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let body = match entry.map.get("body") {
                    Some(Value::BulkString(b)) => b.as_slice(),
                    _ => &[],
                };
                if !self.take(conn, &delivered, pending, tx, body).await? {
                    return Ok(false);
                }
                *self.cursor = entry.id;
            }
        }
        Ok(true)
    }

    /// Delivers the outcome in `body` if it is a pending device's and no other waiter took it.
    /// `Ok(false)` when the waiter is gone.
    async fn take(
        &self,
        conn: &mut MultiplexedConnection,
        delivered: &str,
        pending: &mut HashSet<DeviceId>,
        tx: &mpsc::UnboundedSender<Event>,
        body: &[u8],
    ) -> redis::RedisResult<bool> {
        let Ok(callback) = decode_callback(body) else {
            tracing::warn!("an entry of the outcomes stream is not a callback; skipped");
            return Ok(true);
        };
        let Some(device) = callback
            .device_ids
            .iter()
            .find(|d| pending.contains(*d))
            .cloned()
        else {
            // A resend of a delivered device, or a device this waiter did not name.
            return Ok(true);
        };
        if tx.is_closed() {
            return Ok(false);
        }
        let waited_as = pending.get(&device).cloned().unwrap_or(device);
        let field = device_key(&waited_as);
        // Take it, or learn who did: one round trip, atomic.
        let (_, owner, _): (i64, String, i64) = redis::pipe()
            .atomic()
            .hset_nx(delivered, &field, self.consumer)
            .hget(delivered, &field)
            .expire(delivered, self.tracker.fleet.keep_secs())
            .query_async(conn)
            .await?;
        pending.remove(&waited_as);
        if owner != self.consumer {
            // Another waiter took it: it is delivered, once, there.
            return Ok(tx.send(Event::Delivered(vec![waited_as])).is_ok());
        }
        let outcome = DeviceOutcome::from_callback(waited_as.clone(), callback);
        if tx.send(Event::Outcome(outcome)).is_err() {
            // Nobody received it: give it back for the next waiter.
            let _: i64 = conn.hdel(delivered, &field).await?;
            return Ok(false);
        }
        Ok(true)
    }
}

/// A consumer name unique to this wait: the process and a random part.
fn consumer_name() -> String {
    let random: u64 =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    format!("waiter-{}-{random:016x}", std::process::id())
}

impl thingspace_callbacks::AwaitOutcomes for RedisTracker {
    fn await_outcomes(
        &self,
        request_id: &str,
        devices: Vec<DeviceId>,
        timeout: Option<Duration>,
    ) -> thingspace_callbacks::OutcomeStream {
        let wait = self.wait(request_id, devices);
        Box::pin(match timeout {
            Some(timeout) => wait.timeout(timeout),
            None => wait,
        })
    }
}

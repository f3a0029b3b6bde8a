//! Awaiting a request's outcomes from Redis, in any process of the fleet.
//!
//! Each request's outcomes are a stream, read by the consumer group `waiters`. A waiter takes
//! a device's outcome by adding the device to the request's `delivered` set: the first waiter to
//! add it delivers it, so a resend, or a second waiter, never delivers it again; a waiter
//! started after another one stopped (a restart) skips the devices already delivered and
//! receives the rest, including what arrived meanwhile. Entries a stopped waiter had read but
//! not acknowledged are claimed after [`RedisTracker::reclaim_after`].

use std::{
    collections::HashSet,
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

use crate::fleet::{RedisFleet, WAITERS, device_key};

/// Awaits the outcomes of requests through Redis. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisTracker {
    fleet: RedisFleet,
    reclaim_after: Duration,
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
            reclaim_after: Duration::from_secs(30),
            poll: Duration::from_secs(1),
        }
    }

    /// Claims outcomes that another waiter read but did not finish with after `idle` (a waiter
    /// that died); default 30 s.
    pub fn reclaim_after(mut self, idle: Duration) -> Self {
        self.reclaim_after = idle;
        self
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
        let mut pending: Vec<DeviceId> = self.pending.drain().collect();
        pending.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
        WaitError::TimedOut {
            request_id: self.request_id.clone(),
            pending,
        }
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
    while !pending.is_empty() && !tx.is_closed() {
        // A connection of its own: the blocking read would hold a shared one.
        let c = match &mut conn {
            Some(c) => c,
            None => match tracker
                .fleet
                .client
                .get_multiplexed_async_connection()
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
        match round(&tracker, c, &request_id, &consumer, &mut pending, &tx).await {
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

/// One round: skip what earlier waiters delivered, claim what dead waiters left, read what is
/// new. `Ok(false)` when the waiter is gone.
async fn round(
    tracker: &RedisTracker,
    conn: &mut MultiplexedConnection,
    request_id: &str,
    consumer: &str,
    pending: &mut HashSet<DeviceId>,
    tx: &mpsc::UnboundedSender<Event>,
) -> redis::RedisResult<bool> {
    let keys = &tracker.fleet.keys;
    let stream = keys.outcomes(request_id);
    let delivered = keys.delivered(request_id);
    // The group starts at the stream's beginning: outcomes that came before the first waiter
    // are read too. Creating it twice is refused (BUSYGROUP), which is fine.
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&stream, WAITERS, "0").await;
    if let Err(e) = created
        && e.code() != Some("BUSYGROUP")
    {
        return Err(e);
    }
    // A stream made by the group (no callback yet) expires too.
    let _: i64 = redis::cmd("EXPIRE")
        .arg(&stream)
        .arg(tracker.fleet.keep_secs())
        .arg("NX")
        .query_async(conn)
        .await?;
    let taken: Vec<String> = conn.smembers(&delivered).await?;
    let taken: HashSet<&str> = taken.iter().map(String::as_str).collect();
    let earlier: Vec<DeviceId> = pending
        .iter()
        .filter(|d| taken.contains(device_key(d).as_str()))
        .cloned()
        .collect();
    if !earlier.is_empty() {
        for d in &earlier {
            pending.remove(d);
        }
        if tx.send(Event::Delivered(earlier)).is_err() {
            return Ok(false);
        }
    }
    if pending.is_empty() {
        return Ok(true);
    }
    // Entries a dead waiter read and never acknowledged.
    let claimed: Value = redis::cmd("XAUTOCLAIM")
        .arg(&stream)
        .arg(WAITERS)
        .arg(consumer)
        .arg(tracker.reclaim_after.as_millis() as u64)
        .arg("0-0")
        .arg("COUNT")
        .arg(100)
        .query_async(conn)
        .await?;
    let mut entries = claimed_entries(claimed);
    let options = StreamReadOptions::default()
        .group(WAITERS, consumer)
        .count(100)
        .block(tracker.poll.as_millis() as usize);
    let read: Option<redis::streams::StreamReadReply> =
        conn.xread_options(&[&stream], &[">"], &options).await?;
    for key in read.map(|r| r.keys).unwrap_or_default() {
        for id in key.ids {
            let body = match id.map.get("body") {
                Some(Value::BulkString(b)) => b.clone(),
                _ => Vec::new(),
            };
            entries.push((id.id, body));
        }
    }
    for (id, body) in entries {
        if !take(conn, &delivered, tracker, pending, tx, &body).await? {
            return Ok(false);
        }
        let _: i64 = conn.xack(&stream, WAITERS, &[&id]).await?;
    }
    Ok(true)
}

/// Delivers the outcome in `body` if it is a pending device's and no waiter took it yet.
/// `Ok(false)` when the waiter is gone.
async fn take(
    conn: &mut MultiplexedConnection,
    delivered: &str,
    tracker: &RedisTracker,
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
    let waited_as = pending
        .get(&device)
        .cloned()
        .unwrap_or_else(|| device.clone());
    let first: i64 = conn.sadd(delivered, device_key(&waited_as)).await?;
    let _: bool = conn.expire(delivered, tracker.fleet.keep_secs()).await?;
    pending.remove(&waited_as);
    if first == 0 {
        // Another waiter took it: it is delivered, once, there.
        return tx
            .send(Event::Delivered(vec![waited_as]))
            .map(|()| true)
            .or(Ok(false));
    }
    let outcome = DeviceOutcome::from_callback(waited_as.clone(), callback);
    if tx.send(Event::Outcome(outcome)).is_err() {
        // Nobody received it: give it back for the next waiter.
        let _: i64 = conn.srem(delivered, device_key(&waited_as)).await?;
        return Ok(false);
    }
    Ok(true)
}

/// The entries of an XAUTOCLAIM answer: `[next, [[id, [field, value, …]], …], deleted]`.
fn claimed_entries(value: Value) -> Vec<(String, Vec<u8>)> {
    let Value::Array(parts) = value else {
        return Vec::new();
    };
    let Some(Value::Array(entries)) = parts.into_iter().nth(1) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let Value::Array(mut pair) = entry else {
                return None;
            };
            let fields = pair.pop()?;
            let id = match pair.pop()? {
                Value::BulkString(b) => String::from_utf8(b).ok()?,
                Value::SimpleString(s) => s,
                _ => return None,
            };
            let Value::Array(fields) = fields else {
                return None;
            };
            let mut it = fields.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if matches!(&k, Value::BulkString(b) if b == b"body")
                    && let Value::BulkString(body) = v
                {
                    return Some((id, body));
                }
            }
            None
        })
        .collect()
}

/// A consumer name unique to this wait: the process and a random part.
fn consumer_name() -> String {
    let random: u64 =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    format!("waiter-{}-{random:016x}", std::process::id())
}

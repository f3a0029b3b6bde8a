//! Awaiting a request's outcomes from Redis, in any process of the fleet.
//!
//! Each request's outcomes are a stream. Every waiter reads the whole stream from its own
//! cursor (so waits for different devices of one request never take each other's entries),
//! and a device's outcome passes through two marks in the request's `delivered` hash, each
//! written by a script that checks the mark before it:
//! - **taken** by a waiter, which hands it to its caller;
//! - **done** once the caller had it: when it asks for the next outcome, or drops the wait.
//!
//! While it runs, each waiter renews a lease in the request's `waiters` hash. A device taken by
//! a waiter whose lease ended (its process died before its caller had the outcome, or before
//! the mark was written) is taken again by the next waiter: an outcome is never lost, and is
//! delivered twice only to a caller that died holding it. A device taken by a live waiter stays
//! pending for the others until that waiter marks it done (then it counts as reported) or gives
//! it back (a wait dropped before it yielded the outcome).

use std::{
    collections::{HashMap, HashSet},
    fmt,
    hash::BuildHasher as _,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures_core::Stream;
use redis::{
    AsyncCommands, RedisResult, Value, aio::ConnectionManager, aio::MultiplexedConnection,
    streams::StreamReadOptions,
};
use thingspace_callbacks::{Callback, DeviceOutcome, WaitError, decode_callback};
use thingspace_core::DeviceId;
use tokio::{sync::mpsc, time::Instant};

use crate::fleet::{RedisFleet, device_key};

/// How long a waiter that stopped renewing its lease keeps the outcomes it took, by default.
const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// The shortest lease: a waiter renews it when a third has passed, between reads of a second.
const MIN_LEASE: Duration = Duration::from_secs(3);

/// Takes a device's outcome for a waiter.
///
/// KEYS: the request's `delivered` and `waiters` hashes. ARGV: the device, the waiter, how long
/// to keep the hash (seconds). Answers `taken` (this waiter's, now or before), `reclaimed`
/// (from a waiter whose lease ended), `held` (a live waiter has it) or `done` (a caller had it).
const TAKE: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
local mine = 'taken:' .. ARGV[2]
if not v then
  redis.call('HSET', KEYS[1], ARGV[1], mine)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 'taken'
end
if v == mine then return 'taken' end
if string.sub(v, 1, 6) ~= 'taken:' then return 'done' end
local lease = tonumber(redis.call('HGET', KEYS[2], string.sub(v, 7)))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if lease and lease > now then return 'held' end
redis.call('HSET', KEYS[1], ARGV[1], mine)
return 'reclaimed'
";
/// Marks a device's outcome done, if this waiter still has it taken: 1, else 0 (its lease
/// ended and another waiter took it again).
///
/// KEYS: the `delivered` hash. ARGV: the device, the waiter, how long to keep the hash
/// (seconds).
const CONFIRM: &str = r"
if redis.call('HGET', KEYS[1], ARGV[1]) == 'taken:' .. ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], 'done:' .. ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
";
/// Gives a device's outcome back for the next waiter, if this waiter still has it taken: 1,
/// else 0.
///
/// KEYS: the `delivered` hash. ARGV: the device, the waiter (and, unused, how long to keep the
/// hash, as for [`CONFIRM`]).
const GIVE_BACK: &str = r"
if redis.call('HGET', KEYS[1], ARGV[1]) == 'taken:' .. ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
";
/// Renews a waiter's lease, on Redis's clock.
///
/// KEYS: the `waiters` hash. ARGV: the waiter, the lease (milliseconds), how long to keep the
/// hash (seconds).
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
";

/// Awaits the outcomes of requests through Redis. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisTracker {
    fleet: RedisFleet,
    poll: Duration,
    lease: Duration,
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
            lease: DEFAULT_LEASE,
        }
    }

    /// How long the outcomes a waiter took stay its own after its process stopped (10 s by
    /// default, at least 3 s): past it, the next waiter of the request takes them again. A
    /// live waiter renews its lease when a third of it has passed, in a task of its own, so a
    /// shorter lease hands over sooner after a crash; but a waiter that cannot reach Redis for
    /// longer than the lease, or whose runtime is kept from running that task (a
    /// `current_thread` runtime blocked by the caller between outcomes), may see an outcome it
    /// holds delivered again elsewhere.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(MIN_LEASE);
        self
    }

    /// Waits for the outcome of each of `devices` (one identifier each, as sent) in request
    /// `request_id`: a [`Stream`] of [`DeviceOutcome`]s, each device once, ending when every
    /// device has reported (devices whose outcome an earlier waiter delivered count as
    /// reported), or, with [`RedisWait::timeout`], with [`WaitError::TimedOut`] listing those
    /// still pending. While Redis is unreachable the wait goes on, reconnecting.
    ///
    /// An outcome counts as delivered once the caller asks for the next one, or drops or
    /// [closes](RedisWait::close) the wait (not when it unwinds from a panic): a process that
    /// dies before then leaves it to the next waiter of the request, so a restarted job
    /// receives it again rather than never. Combinators that poll ahead (`buffered`,
    /// `for_each_concurrent`) ask for the next outcome before the caller is done with this one.
    pub fn wait(
        &self,
        request_id: impl Into<String>,
        devices: impl IntoIterator<Item = DeviceId>,
    ) -> RedisWait {
        let request_id = request_id.into();
        let pending: HashSet<DeviceId> = devices.into_iter().collect();
        let (tx, rx) = mpsc::unbounded_channel();
        let (control, control_rx) = mpsc::unbounded_channel();
        let reader = Reader::new(self.clone(), &request_id, pending.clone(), tx, control_rx);
        // The reader ends by itself once every device reported and was had, or once the wait
        // is gone (it gives back what it took and did not hand over).
        tokio::spawn(reader.run());
        RedisWait {
            request_id,
            pending,
            rx,
            control,
            handed: None,
            deadline: None,
            timed_out: false,
            ended: false,
        }
    }
}

/// What the reader tells the wait.
enum Event {
    /// Devices whose outcome another waiter delivered.
    Delivered(Vec<DeviceId>),
    /// A device's outcome, taken by this waiter.
    Outcome(DeviceOutcome),
}

/// What the wait tells the reader.
enum Control {
    /// The caller had this device's outcome: it asked for the next one, or dropped the wait.
    Had(DeviceId),
    /// The wait timed out: take nothing more.
    Stop,
}

/// The outcomes of one request, read from Redis; see [`RedisTracker::wait`]. Dropping it stops
/// the wait.
pub struct RedisWait {
    request_id: String,
    pending: HashSet<DeviceId>,
    rx: mpsc::UnboundedReceiver<Event>,
    control: mpsc::UnboundedSender<Control>,
    /// The device of the outcome last yielded, until the caller asks for the next one.
    handed: Option<DeviceId>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: bool,
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
    /// Ends the wait after `timeout` with [`WaitError::TimedOut`] if devices are still pending;
    /// outcomes already taken are yielded before the error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Box::pin(tokio::time::sleep(timeout)));
        self
    }

    /// Ends the wait and returns once Redis has it: the outcome last yielded counts as had
    /// (as when the wait is dropped), those taken but not yet yielded go back to the next
    /// waiter. While Redis is unreachable it returns after a lease at most. Call it when a
    /// process stops waiting early and then exits: a drop does the same in the background,
    /// which an exiting process may not let finish (the next waiter of the request would then
    /// receive the last outcome again). A wait that ran to its end needs nothing more.
    pub async fn close(mut self) {
        self.had();
        let (closed, _) = mpsc::unbounded_channel();
        // The reader sees the control channel closed, marks, gives back and ends.
        drop(std::mem::replace(&mut self.control, closed));
        while self.rx.recv().await.is_some() {}
    }

    /// The devices that have not reported yet.
    pub fn pending(&self) -> Vec<DeviceId> {
        self.pending.iter().cloned().collect()
    }

    /// Tells the reader that the caller had the outcome last yielded.
    fn had(&mut self) {
        if let Some(device) = self.handed.take() {
            // A reader already gone has nothing left to mark.
            let _ = self.control.send(Control::Had(device));
        }
    }
}

impl Stream for RedisWait {
    type Item = Result<DeviceOutcome, WaitError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Asking for the next outcome says the caller had the last one.
        self.had();
        loop {
            if self.ended {
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
                    self.handed = Some(outcome.device.clone());
                    return Poll::Ready(Some(Ok(outcome)));
                }
                // The reader is done: every device reported and every outcome yielded was
                // marked, or the timeout stopped it and what it had taken was yielded.
                Poll::Ready(None) => {
                    self.ended = true;
                    if self.timed_out && !self.pending.is_empty() {
                        let pending: Vec<DeviceId> = self.pending.drain().collect();
                        let e = WaitError::timed_out(self.request_id.clone(), pending);
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => {}
            }
            if let Some(deadline) = self.deadline.as_mut()
                && deadline.as_mut().poll(cx).is_ready()
            {
                self.deadline = None;
                self.timed_out = true;
                let _ = self.control.send(Control::Stop);
                continue;
            }
            return Poll::Pending;
        }
    }
}

impl Drop for RedisWait {
    fn drop(&mut self) {
        // The caller had the outcome it holds, unless it is unwinding from a panic while
        // handling it. The control channel closes with the wait: the reader then gives back
        // what it took and did not hand over.
        if std::thread::panicking() {
            self.handed = None;
        }
        self.had();
    }
}

/// The keys of one request.
struct RequestKeys {
    stream: String,
    delivered: String,
    waiters: String,
}

/// One waiter's reading of a request's stream, in a task of its own.
struct Reader {
    tracker: RedisTracker,
    request_id: String,
    keys: RequestKeys,
    /// This waiter's name, unique to the wait.
    consumer: String,
    /// Where this waiter's reading of the stream stands ("0": from the start).
    cursor: String,
    /// Whether the devices delivered by earlier waiters were skipped yet.
    skipped_earlier: bool,
    /// Devices neither taken by this waiter nor delivered by another.
    pending: HashSet<DeviceId>,
    /// Outcomes of pending devices that a live waiter has taken: taken here if it gives them
    /// back or stops renewing its lease.
    held: HashMap<DeviceId, Callback>,
    /// Outcomes sent to the wait, by whether the caller had them (not yet marked done).
    handed: HashMap<DeviceId, bool>,
    renewed: Option<Instant>,
    /// The wait timed out: take nothing more.
    stopped: bool,
    /// The wait is gone.
    gone: bool,
    tx: mpsc::UnboundedSender<Event>,
    control: mpsc::UnboundedReceiver<Control>,
}

impl Reader {
    fn new(
        tracker: RedisTracker,
        request_id: &str,
        pending: HashSet<DeviceId>,
        tx: mpsc::UnboundedSender<Event>,
        control: mpsc::UnboundedReceiver<Control>,
    ) -> Self {
        let keys = &tracker.fleet.keys;
        let keys = RequestKeys {
            stream: keys.outcomes(request_id),
            delivered: keys.delivered(request_id),
            waiters: keys.waiters(request_id),
        };
        Self {
            tracker,
            request_id: request_id.to_owned(),
            keys,
            consumer: consumer_name(),
            cursor: "0".to_owned(),
            skipped_earlier: false,
            pending,
            held: HashMap::new(),
            handed: HashMap::new(),
            renewed: None,
            stopped: false,
            gone: false,
            tx,
            control,
        }
    }

    /// Reads until every device reported and every outcome handed over was had and marked,
    /// or until the wait is gone; Redis failures are waited out.
    async fn run(mut self) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut warned = false;
        let mut failing_since: Option<Instant> = None;
        loop {
            self.take_messages();
            let reading = !self.stopped && !self.gone && !self.pending.is_empty();
            if !reading && self.handed.is_empty() {
                break;
            }
            let step = if reading {
                self.read_round(&mut conn).await
            } else {
                self.settle().await
            };
            match step {
                Ok(()) => {
                    warned = false;
                    failing_since = None;
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!(error = %e, request_id = %self.request_id, "Redis failed while waiting; trying again");
                        warned = true;
                    }
                    conn = None;
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if !reading && since.elapsed() > self.tracker.lease {
                        // What is left is marking: past the lease, the marks would come too late.
                        tracing::warn!(
                            request_id = %self.request_id,
                            devices = self.handed.len(),
                            "could not record in Redis which outcomes were had; the next waiter of this request receives them again"
                        );
                        break;
                    }
                    tokio::time::sleep(self.tracker.poll).await;
                }
            }
        }
        // The wait ends here (its channel closes with the reader); the lease is removed after,
        // as a courtesy to the other waiters: it ends by itself anyway.
        let (mut manager, waiters, consumer) = (
            self.manager(),
            self.keys.waiters.clone(),
            self.consumer.clone(),
        );
        drop(self);
        let removal = manager.hdel::<_, _, i64>(&waiters, &consumer);
        let _ = tokio::time::timeout(Duration::from_secs(2), removal).await;
    }

    fn manager(&self) -> ConnectionManager {
        self.tracker.fleet.manager.clone()
    }

    /// Takes the messages of the wait that arrived, without waiting.
    fn take_messages(&mut self) {
        loop {
            match self.control.try_recv() {
                Ok(message) => self.on(message),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.gone = true;
                    return;
                }
            }
        }
    }

    fn on(&mut self, message: Control) {
        match message {
            Control::Had(device) => {
                if let Some(had) = self.handed.get_mut(&device) {
                    *had = true;
                }
            }
            Control::Stop => self.stopped = true,
        }
    }

    /// One round of reading: mark what the caller had, renew the lease, skip what earlier
    /// waiters delivered (once), try the held devices again, then read what follows the
    /// cursor and take each pending device's outcome.
    async fn read_round(&mut self, conn: &mut Option<MultiplexedConnection>) -> RedisResult<()> {
        let mut manager = self.manager();
        self.mark(&mut manager).await?;
        self.renew(&mut manager).await?;
        if !self.skipped_earlier {
            self.skip_earlier(&mut manager).await?;
        }
        for (device, callback) in self.held.clone() {
            self.take(&mut manager, device, callback).await?;
        }
        if self.pending.is_empty() || self.gone {
            return Ok(());
        }
        let c = match conn {
            Some(c) => c,
            None => conn.insert(self.connect().await?),
        };
        let options = StreamReadOptions::default()
            .count(100)
            .block(self.tracker.poll.as_millis() as usize);
        let (streams, cursors) = ([self.keys.stream.clone()], [self.cursor.clone()]);
        let read = c.xread_options(&streams, &cursors, &options);
        tokio::pin!(read);
        // The wait's messages are taken while the read blocks, so what the caller had is
        // marked at once.
        let read: Option<redis::streams::StreamReadReply> = loop {
            tokio::select! {
                biased;
                read = &mut read => break read?,
                message = self.control.recv() => {
                    match message {
                        Some(message) => self.on(message),
                        None => self.gone = true,
                    }
                    if self.gone || self.stopped {
                        return Ok(());
                    }
                    self.mark(&mut manager).await?;
                }
            }
        };
        for key in read.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let body = match entry.map.get("body") {
                    Some(Value::BulkString(b)) => b.as_slice(),
                    _ => &[],
                };
                self.take_entry(&mut manager, body).await?;
                self.cursor = entry.id;
                if self.gone {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// With nothing left to read: mark what the caller had (giving back the rest if the wait
    /// is gone), renew the lease, and wait for the wait's next message or the next poll.
    async fn settle(&mut self) -> RedisResult<()> {
        let mut manager = self.manager();
        self.mark(&mut manager).await?;
        if self.gone {
            return self.give_back(&mut manager).await;
        }
        if self.handed.is_empty() {
            // Nothing left to mark: the wait ends now, not a poll later.
            return Ok(());
        }
        self.renew(&mut manager).await?;
        tokio::select! {
            message = self.control.recv() => match message {
                Some(message) => self.on(message),
                None => self.gone = true,
            },
            () = tokio::time::sleep(self.tracker.poll) => {}
        }
        Ok(())
    }

    /// A connection of the reader's own: a blocking read would hold a shared one.
    async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        self.tracker
            .fleet
            .client
            .get_multiplexed_async_connection_with_config(
                // A blocking read answers within the poll: past it and a margin, the connection
                // is taken for dead and made again.
                &redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Duration::from_secs(2))
                    .set_response_timeout(self.tracker.poll + Duration::from_secs(2)),
            )
            .await
    }

    /// Renews this waiter's lease when a third of it has passed.
    async fn renew(&mut self, manager: &mut ConnectionManager) -> RedisResult<()> {
        if self
            .renewed
            .is_some_and(|at| at.elapsed() < self.tracker.lease / 3)
        {
            return Ok(());
        }
        let started = Instant::now();
        let _: i64 = redis::cmd("EVAL")
            .arg(RENEW)
            .arg(1)
            .arg(&self.keys.waiters)
            .arg(&self.consumer)
            .arg(self.tracker.lease.as_millis() as u64)
            // Kept at least as long as a lease, whatever `keep_for` says.
            .arg(
                self.tracker
                    .fleet
                    .keep_secs()
                    .max(self.tracker.lease.as_secs() as i64 + 1),
            )
            .query_async(manager)
            .await?;
        self.renewed = Some(started);
        Ok(())
    }

    /// Marks done the outcomes the caller had, in one round trip.
    async fn mark(&mut self, manager: &mut ConnectionManager) -> RedisResult<()> {
        let had: Vec<DeviceId> = self
            .handed
            .iter()
            .filter(|(_, had)| **had)
            .map(|(d, _)| d.clone())
            .collect();
        if had.is_empty() {
            return Ok(());
        }
        let marked = self.for_each_device(manager, CONFIRM, &had).await?;
        for (device, marked) in had.iter().zip(marked) {
            if marked == 0 {
                tracing::warn!(
                    request_id = %self.request_id,
                    "a device's outcome was taken again by another waiter while this one could not renew its lease: it was delivered twice"
                );
            }
            self.handed.remove(device);
        }
        Ok(())
    }

    /// Gives back every outcome sent to the wait that its caller did not have.
    async fn give_back(&mut self, manager: &mut ConnectionManager) -> RedisResult<()> {
        let unhad: Vec<DeviceId> = self.handed.keys().cloned().collect();
        if unhad.is_empty() {
            return Ok(());
        }
        self.for_each_device(manager, GIVE_BACK, &unhad).await?;
        self.handed.clear();
        Ok(())
    }

    /// Runs `script` ([`CONFIRM`] or [`GIVE_BACK`]) for each of `devices` taken by this waiter,
    /// in one round trip: 1 for each device that was still this waiter's, else 0.
    async fn for_each_device(
        &self,
        manager: &mut ConnectionManager,
        script: &str,
        devices: &[DeviceId],
    ) -> RedisResult<Vec<i64>> {
        let mut pipe = redis::pipe();
        for device in devices {
            pipe.cmd("EVAL")
                .arg(script)
                .arg(1)
                .arg(&self.keys.delivered)
                .arg(device_key(device))
                .arg(&self.consumer)
                .arg(self.tracker.fleet.keep_secs());
        }
        pipe.query_async(manager).await
    }

    /// Counts the devices a caller of an earlier waiter had as reported.
    async fn skip_earlier(&mut self, manager: &mut ConnectionManager) -> RedisResult<()> {
        let marks: HashMap<String, String> = manager.hgetall(&self.keys.delivered).await?;
        let earlier: Vec<DeviceId> = self
            .pending
            .iter()
            .filter(|d| {
                marks
                    .get(&device_key(d))
                    .is_some_and(|mark| mark.starts_with("done:"))
            })
            .cloned()
            .collect();
        self.skipped_earlier = true;
        self.delivered(earlier);
        Ok(())
    }

    /// Takes the outcome in a stream entry if it is a pending device's.
    async fn take_entry(
        &mut self,
        manager: &mut ConnectionManager,
        body: &[u8],
    ) -> RedisResult<()> {
        let Ok(callback) = decode_callback(body) else {
            tracing::warn!("an entry of the outcomes stream is not a callback; skipped");
            return Ok(());
        };
        // The device as the caller named it.
        let Some(device) = callback
            .device_ids
            .iter()
            .find_map(|d| self.pending.get(d))
            .cloned()
        else {
            // A resend of a reported device, or a device this waiter did not name.
            return Ok(());
        };
        self.take(manager, device, callback).await
    }

    /// Takes `device`'s outcome, or learns that another waiter holds or delivered it.
    async fn take(
        &mut self,
        manager: &mut ConnectionManager,
        device: DeviceId,
        callback: Callback,
    ) -> RedisResult<()> {
        let field = device_key(&device);
        let answer: String = redis::cmd("EVAL")
            .arg(TAKE)
            .arg(2)
            .arg(&self.keys.delivered)
            .arg(&self.keys.waiters)
            .arg(&field)
            .arg(&self.consumer)
            .arg(self.tracker.fleet.keep_secs())
            .query_async(manager)
            .await?;
        match answer.as_str() {
            "taken" | "reclaimed" => {
                if answer == "reclaimed" {
                    tracing::info!(
                        request_id = %self.request_id,
                        "a device's outcome taken by a waiter that stopped is delivered here"
                    );
                }
                self.pending.remove(&device);
                self.held.remove(&device);
                let outcome = DeviceOutcome::from_callback(device.clone(), callback);
                self.handed.insert(device, false);
                if self.tx.send(Event::Outcome(outcome)).is_err() {
                    // Nobody will have it: given back for the next waiter once what the
                    // caller did have (its last message may still be queued) is marked.
                    self.gone = true;
                }
            }
            "held" => {
                self.held.insert(device, callback);
            }
            _ => self.delivered(vec![device]),
        }
        Ok(())
    }

    /// Counts `devices` as reported elsewhere.
    fn delivered(&mut self, devices: Vec<DeviceId>) {
        if devices.is_empty() {
            return;
        }
        for d in &devices {
            self.pending.remove(d);
            self.held.remove(d);
        }
        if self.tx.send(Event::Delivered(devices)).is_err() {
            self.gone = true;
        }
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

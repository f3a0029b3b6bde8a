//! Correlating callbacks with the requests that wait for them: each device's outcome delivered
//! once, whatever the resends, the order or the moment it arrives.
//!
//! The tracker is a [`Sink`]: give it to the listener (after any durable sink) and call
//! [`Tracker::wait`] with the request id and the devices of the request. Memory is bounded by
//! the outstanding devices, plus outcomes that arrived before anyone waited for them (bounded
//! in count and age), plus the ids of recently finished requests (so that late resends are
//! recognised and dropped).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures_core::Stream;
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use thingspace_core::DeviceId;

use crate::{Callback, Fault, Sink, SinkError};

/// What became of one device.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// The device succeeded; the operation's response, keyed by its name (such as
    /// `activateResponse`), when the service sent one.
    Success {
        /// The `deviceResponse` object, as sent.
        response: Option<Map<String, Value>>,
    },
    /// The device failed.
    Failed {
        /// The status the service wrote (such as `Failed`).
        status: String,
        /// The `faultResponse`, when the service sent one.
        fault: Option<Fault>,
    },
}

/// The outcome of one device of a request, delivered once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeviceOutcome {
    /// The request.
    pub request_id: String,
    /// The device, as the waiter named it.
    pub device: DeviceId,
    /// Success with the response, or failure with the fault.
    pub outcome: Outcome,
    /// Which delivery of the message this was (1 for the first).
    pub callback_count: Option<u64>,
}

impl DeviceOutcome {
    /// The outcome `callback` reports for `device` (the device as the waiter named it): success
    /// with the response, or failure with the fault. For trackers of your own (such as one
    /// shared by a fleet through a store).
    pub fn from_callback(device: DeviceId, callback: Callback) -> Self {
        Self::new(device, callback)
    }

    fn new(device: DeviceId, callback: Callback) -> Self {
        let outcome = if callback.is_success() {
            Outcome::Success {
                response: callback.device_response,
            }
        } else {
            Outcome::Failed {
                status: callback.status,
                fault: callback.fault_response,
            }
        };
        Self {
            request_id: callback.request_id,
            device,
            outcome,
            callback_count: callback.callback_count,
        }
    }

    /// True when the device succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, Outcome::Success { .. })
    }
}

/// Serialises as one flat object: `requestId`, `kind`, `id`, `status` (`success` or
/// `failed`), then `response` or `fault` (and the service's own `serviceStatus` for a failure),
/// and `callbackCount`.
impl Serialize for DeviceOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("requestId", &self.request_id)?;
        map.serialize_entry("kind", &self.device.kind)?;
        map.serialize_entry("id", &self.device.id)?;
        match &self.outcome {
            Outcome::Success { response } => {
                map.serialize_entry("status", "success")?;
                map.serialize_entry("response", response)?;
            }
            Outcome::Failed { status, fault } => {
                map.serialize_entry("status", "failed")?;
                map.serialize_entry("serviceStatus", status)?;
                map.serialize_entry("fault", fault)?;
            }
        }
        if let Some(n) = self.callback_count {
            map.serialize_entry("callbackCount", &n)?;
        }
        map.end()
    }
}

/// Why a wait ended without every device's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// The timeout passed; these devices had not reported. For a single-device request, the
    /// request status (`GET /m2m/v1/accounts/{account}/requests/{id}/status`) may tell more.
    TimedOut {
        /// The request.
        request_id: String,
        /// The devices still pending.
        pending: Vec<DeviceId>,
    },
    /// Another wait for this request is running: each outcome is delivered once, to one waiter.
    AlreadyWaiting {
        /// The request.
        request_id: String,
    },
    /// Every outcome of this request was already delivered to an earlier wait.
    AlreadyDelivered {
        /// The request.
        request_id: String,
    },
}

impl WaitError {
    /// The timeout of a wait for `request_id`, with the devices still `pending`, listed in
    /// order (kind, then id). For trackers of your own too.
    pub fn timed_out(
        request_id: impl Into<String>,
        pending: impl IntoIterator<Item = DeviceId>,
    ) -> Self {
        let mut pending: Vec<DeviceId> = pending.into_iter().collect();
        pending.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
        WaitError::TimedOut {
            request_id: request_id.into(),
            pending,
        }
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::TimedOut {
                request_id,
                pending,
            } => {
                write!(
                    f,
                    "request {request_id}: {} device(s) did not report in time:",
                    pending.len()
                )?;
                for d in pending {
                    write!(f, " {d}")?;
                }
                Ok(())
            }
            WaitError::AlreadyWaiting { request_id } => {
                write!(f, "request {request_id} is already awaited by another wait")
            }
            WaitError::AlreadyDelivered { request_id } => write!(
                f,
                "every outcome of request {request_id} was already delivered to an earlier wait"
            ),
        }
    }
}

impl std::error::Error for WaitError {}

/// Counters of a tracker, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerStats {
    /// Outcomes handed to waiters.
    pub delivered: u64,
    /// Callbacks dropped because their device's outcome was already delivered or held.
    pub duplicates: u64,
    /// Callbacks for an awaited request naming no device the waiter named.
    pub unmatched: u64,
    /// Callbacks held for requests nobody waits for yet.
    pub held: usize,
    /// Requests being awaited.
    pub waiting: usize,
}

/// Correlates callbacks with waiters. Cheap to clone (clones share their state).
///
/// ```
/// use thingspace_callbacks::{DeviceId, Sink, Tracker, decode_callback};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tracker = Tracker::new();
/// let body = br#"{"requestId":"r-1","deviceIds":[{"id":"1","kind":"IMEI"}],"status":"Success"}"#;
/// // The result can arrive before the wait starts: it is held for the waiter.
/// tracker.accept(&decode_callback(body)?).await?;
/// tracker.accept(&decode_callback(body)?).await?; // a resend
///
/// let mut outcomes = tracker.wait("r-1", [DeviceId::new("imei", "1")]);
/// assert!(outcomes.next().await.transpose()?.is_some_and(|o| o.is_success()));
/// assert!(outcomes.next().await.is_none()); // every device reported, once
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tracker {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

struct Waiting {
    waiter: u64,
    pending: HashSet<DeviceId>,
    reported: HashSet<DeviceId>,
    tx: mpsc::UnboundedSender<DeviceOutcome>,
}

struct Held {
    since: Instant,
    devices: HashSet<DeviceId>,
    callbacks: Vec<Callback>,
}

struct State {
    waiting: HashMap<String, Waiting>,
    held: HashMap<String, Held>,
    held_order: VecDeque<(Instant, String)>,
    held_count: usize,
    finished: VecDeque<String>,
    finished_set: HashSet<String>,
    /// Devices already delivered of requests whose wait stopped before every device reported
    /// (a timeout, a dropped wait): a later wait for the request does not get them again.
    stopped: HashMap<String, HashSet<DeviceId>>,
    stopped_order: VecDeque<String>,
    next_waiter: u64,
    max_held: usize,
    hold_for: Duration,
    remember_finished: usize,
    stats: TrackerStats,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tracker {
    /// A tracker that holds up to 100,000 early callbacks for up to 10 minutes and remembers
    /// the last 10,000 finished requests.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                waiting: HashMap::new(),
                held: HashMap::new(),
                held_order: VecDeque::new(),
                held_count: 0,
                finished: VecDeque::new(),
                finished_set: HashSet::new(),
                stopped: HashMap::new(),
                stopped_order: VecDeque::new(),
                next_waiter: 0,
                max_held: 100_000,
                hold_for: Duration::from_secs(600),
                remember_finished: 10_000,
                stats: TrackerStats::default(),
            })),
        }
    }

    /// Holds at most `count` callbacks for requests nobody waits for yet; past that, they are
    /// refused (the listener answers 503 and ThingSpace sends them again later).
    pub fn hold_at_most(self, count: usize) -> Self {
        lock(&self.state).max_held = count;
        self
    }

    /// Drops held callbacks of a request nobody waited for within `age`.
    pub fn hold_for(self, age: Duration) -> Self {
        lock(&self.state).hold_for = age;
        self
    }

    /// Remembers this many finished requests, to drop their late resends.
    pub fn remember_finished(self, count: usize) -> Self {
        lock(&self.state).remember_finished = count.max(1);
        self
    }

    /// Waits for the outcome of each of `devices` (one identifier each, as sent in the request)
    /// in request `request_id`. The stream yields each device's outcome once, in the order they
    /// arrive (outcomes that arrived before the call first), and ends when every device has
    /// reported; with [`Wait::timeout`], it ends with [`WaitError::TimedOut`] listing the devices
    /// still pending.
    pub fn wait(
        &self,
        request_id: impl Into<String>,
        devices: impl IntoIterator<Item = DeviceId>,
    ) -> Wait {
        let request_id = request_id.into();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = lock(&self.state);
        state.next_waiter += 1;
        let waiter = state.next_waiter;
        let mut wait = Wait {
            request_id: request_id.clone(),
            waiter,
            rx,
            deadline: None,
            tracker: Arc::clone(&self.state),
            error: None,
            ended: false,
        };
        if state.waiting.contains_key(&request_id) {
            wait.error = Some(WaitError::AlreadyWaiting { request_id });
            return wait;
        }
        if state.finished_set.contains(&request_id) {
            wait.error = Some(WaitError::AlreadyDelivered { request_id });
            return wait;
        }
        let reported = state.stopped.remove(&request_id).unwrap_or_default();
        let mut waiting = Waiting {
            waiter,
            pending: devices
                .into_iter()
                .filter(|d| !reported.contains(d))
                .collect(),
            reported,
            tx,
        };
        if let Some(held) = state.held.remove(&request_id) {
            state.held_count -= held.callbacks.len();
            for callback in held.callbacks {
                deliver(&mut state.stats, &mut waiting, callback);
            }
        }
        if waiting.pending.is_empty() {
            state.finish(request_id);
        } else {
            state.waiting.insert(request_id, waiting);
        }
        wait
    }

    /// Counters, for monitoring.
    pub fn stats(&self) -> TrackerStats {
        let state = lock(&self.state);
        TrackerStats {
            held: state.held_count,
            waiting: state.waiting.len(),
            ..state.stats
        }
    }
}

/// Hands `callback` to `waiting` if it names a pending device; counts it otherwise.
fn deliver(stats: &mut TrackerStats, waiting: &mut Waiting, callback: Callback) {
    let device = callback
        .device_ids
        .iter()
        .find(|d| waiting.pending.contains(*d))
        .cloned();
    match device {
        Some(device) => {
            waiting.pending.remove(&device);
            let waited_as = device.clone();
            waiting.reported.insert(device);
            stats.delivered += 1;
            // A dropped receiver removes the waiting entry itself; nothing to do if it is gone.
            let _ = waiting.tx.send(DeviceOutcome::new(waited_as, callback));
        }
        None if callback
            .device_ids
            .iter()
            .any(|d| waiting.reported.contains(d)) =>
        {
            stats.duplicates += 1;
            tracing::debug!(request_id = %callback.request_id, count = ?callback.callback_count, "resent callback dropped: its outcome was delivered");
        }
        None => {
            stats.unmatched += 1;
            tracing::warn!(request_id = %callback.request_id, devices = callback.device_ids.len(), "callback names no device this request's waiter named; dropped");
        }
    }
}

impl State {
    fn finish(&mut self, request_id: String) {
        if self.finished_set.insert(request_id.clone()) {
            self.finished.push_back(request_id);
        }
        while self.finished.len() > self.remember_finished {
            if let Some(old) = self.finished.pop_front() {
                self.finished_set.remove(&old);
            }
        }
    }

    /// Remembers the devices delivered by a wait that stopped early, bounded like the finished
    /// requests.
    fn remember_stopped(&mut self, request_id: String, reported: HashSet<DeviceId>) {
        if reported.is_empty() {
            return;
        }
        if self.stopped.insert(request_id.clone(), reported).is_none() {
            self.stopped_order.push_back(request_id);
        }
        while self.stopped_order.len() > self.remember_finished {
            if let Some(old) = self.stopped_order.pop_front() {
                self.stopped.remove(&old);
            }
        }
    }

    fn drop_expired(&mut self, now: Instant) {
        while let Some((since, _)) = self.held_order.front() {
            if now.duration_since(*since) < self.hold_for {
                break;
            }
            let Some((since, id)) = self.held_order.pop_front() else {
                break;
            };
            // The entry may have been taken by a waiter and held again since.
            if self.held.get(&id).is_some_and(|h| h.since == since)
                && let Some(held) = self.held.remove(&id)
            {
                self.held_count -= held.callbacks.len();
                tracing::warn!(request_id = %id, callbacks = held.callbacks.len(), "callbacks nobody waited for were dropped");
            }
        }
    }
}

#[async_trait]
impl Sink for Tracker {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if let Some(waiting) = state.waiting.get_mut(&callback.request_id) {
            deliver(&mut state.stats, waiting, callback.clone());
            if waiting.pending.is_empty() {
                state.waiting.remove(&callback.request_id);
                state.finish(callback.request_id.clone());
            }
            return Ok(());
        }
        if state.finished_set.contains(&callback.request_id)
            || state
                .stopped
                .get(&callback.request_id)
                .is_some_and(|done| callback.device_ids.iter().any(|d| done.contains(d)))
        {
            state.stats.duplicates += 1;
            return Ok(());
        }
        let now = Instant::now();
        state.drop_expired(now);
        if let Some(held) = state.held.get(&callback.request_id)
            && callback.device_ids.iter().any(|d| held.devices.contains(d))
        {
            state.stats.duplicates += 1;
            return Ok(());
        }
        if state.held_count >= state.max_held {
            return Err(SinkError::Full);
        }
        let held = state
            .held
            .entry(callback.request_id.clone())
            .or_insert_with(|| Held {
                since: now,
                devices: HashSet::new(),
                callbacks: Vec::new(),
            });
        if held.callbacks.is_empty() {
            state
                .held_order
                .push_back((held.since, callback.request_id.clone()));
        }
        held.devices.extend(callback.device_ids.iter().cloned());
        held.callbacks.push(callback.clone());
        state.held_count += 1;
        Ok(())
    }
}

/// The outcomes of one request's devices, as a [`Stream`]; see [`Tracker::wait`]. Dropping it
/// stops the wait: outcomes arriving later are held for a later wait, and the devices already
/// delivered are not delivered again.
pub struct Wait {
    request_id: String,
    waiter: u64,
    rx: mpsc::UnboundedReceiver<DeviceOutcome>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    tracker: Arc<Mutex<State>>,
    error: Option<WaitError>,
    ended: bool,
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("request_id", &self.request_id)
            .field("pending", &self.pending().len())
            .finish_non_exhaustive()
    }
}

impl Wait {
    /// Ends the wait after `timeout` with [`WaitError::TimedOut`] if devices are still pending.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Box::pin(tokio::time::sleep(timeout)));
        self
    }

    /// The request awaited.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The devices that have not reported yet.
    pub fn pending(&self) -> Vec<DeviceId> {
        lock(&self.tracker)
            .waiting
            .get(&self.request_id)
            .filter(|w| w.waiter == self.waiter)
            .map(|w| w.pending.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops waiting: the pending devices, if this wait was still registered.
    fn stop(&self) -> Option<Vec<DeviceId>> {
        let mut state = lock(&self.tracker);
        if state
            .waiting
            .get(&self.request_id)
            .is_some_and(|w| w.waiter == self.waiter)
        {
            let waiting = state.waiting.remove(&self.request_id)?;
            state.remember_stopped(self.request_id.clone(), waiting.reported);
            return Some(waiting.pending.into_iter().collect());
        }
        None
    }
}

impl Stream for Wait {
    type Item = Result<DeviceOutcome, WaitError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(outcome)) => return Poll::Ready(Some(Ok(outcome))),
            Poll::Ready(None) => {
                // Every device reported, the wait was refused, or it timed out and its buffer
                // is drained: the error, if any, comes last.
                self.ended = true;
                return Poll::Ready(self.error.take().map(Err));
            }
            Poll::Pending => {}
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            self.deadline = None;
            if let Some(pending) = self.stop() {
                self.error = Some(WaitError::timed_out(self.request_id.clone(), pending));
            }
            // The sender is gone now: deliver what is buffered, then the error.
            return self.poll_next(cx);
        }
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The outcomes of one request's devices, as [`AwaitOutcomes::await_outcomes`] gives them:
/// each device once, ending when every device reported or with a [`WaitError`].
pub type OutcomeStream = Pin<Box<dyn Stream<Item = Result<DeviceOutcome, WaitError>> + Send>>;

/// Something that awaits the outcomes of a request's devices: the in-process [`Tracker`], or
/// a tracker shared by a fleet (`thingspace_redis::RedisTracker`). Jobs that send many
/// requests (such as `thingspace::bulk`) take one as `&dyn AwaitOutcomes`, so they work with
/// either.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use thingspace_callbacks::{AwaitOutcomes, DeviceId, Sink, Tracker, decode_callback};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tracker = Tracker::new();
/// let outcomes: &dyn AwaitOutcomes = &tracker;
/// let body = br#"{"requestId":"r-1","deviceIds":[{"id":"1","kind":"imei"}],"status":"Success"}"#;
/// tracker.accept(&decode_callback(body)?).await?;
/// let mut wait = outcomes.await_outcomes("r-1", vec![DeviceId::new("imei", "1")], Some(Duration::from_secs(5)));
/// assert!(wait.next().await.transpose()?.is_some_and(|o| o.is_success()));
/// assert!(wait.next().await.is_none());
/// # Ok(()) }
/// ```
pub trait AwaitOutcomes: Send + Sync {
    /// Waits for the outcome of each of `devices` (one identifier each, as sent) in request
    /// `request_id`: each device's outcome once, then the end of the stream; after `timeout`
    /// (when given), [`WaitError::TimedOut`] listing the devices still pending.
    fn await_outcomes(
        &self,
        request_id: &str,
        devices: Vec<DeviceId>,
        timeout: Option<Duration>,
    ) -> OutcomeStream;
}

impl AwaitOutcomes for Tracker {
    fn await_outcomes(
        &self,
        request_id: &str,
        devices: Vec<DeviceId>,
        timeout: Option<Duration>,
    ) -> OutcomeStream {
        let wait = self.wait(request_id, devices);
        Box::pin(match timeout {
            Some(timeout) => wait.timeout(timeout),
            None => wait,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_callback;
    use futures_util::StreamExt;

    fn callback(request: &str, id: &str, status: &str, count: u64) -> Callback {
        let body = serde_json::json!({
            "requestId": request, "deviceIds": [{"id": id, "kind": "IMEI"}],
            "status": status, "callbackCount": count,
        });
        decode_callback(&serde_json::to_vec(&body).unwrap_or_default()).expect("a callback")
    }

    fn imei(id: &str) -> DeviceId {
        DeviceId::new("imei", id)
    }

    #[tokio::test]
    async fn each_device_once_whatever_the_order_and_resends() {
        let tracker = Tracker::new();
        let mut wait = tracker.wait("r", [imei("1"), imei("2"), imei("3")]);
        for (id, n) in [("2", 1), ("2", 2), ("1", 1), ("2", 3), ("3", 1), ("1", 2)] {
            tracker
                .accept(&callback("r", id, "Success", n))
                .await
                .expect("kept");
        }
        let mut ids = Vec::new();
        while let Some(o) = wait.next().await {
            ids.push(o.expect("an outcome").device.id);
        }
        assert_eq!(ids, ["2", "1", "3"]);
        let stats = tracker.stats();
        assert_eq!((stats.delivered, stats.waiting, stats.held), (3, 0, 0));
        // A late resend of a finished request is dropped, not held.
        tracker
            .accept(&callback("r", "1", "Success", 4))
            .await
            .expect("kept");
        assert_eq!(tracker.stats().held, 0);
        assert_eq!(tracker.stats().duplicates, 4);
    }

    #[tokio::test]
    async fn early_outcomes_are_held_once_and_handed_over() {
        let tracker = Tracker::new();
        tracker
            .accept(&callback("r", "1", "Failed", 1))
            .await
            .expect("kept");
        tracker
            .accept(&callback("r", "1", "Failed", 2))
            .await
            .expect("kept");
        assert_eq!(tracker.stats().held, 1);
        let mut wait = tracker.wait("r", [imei("1"), imei("2")]);
        let first = wait
            .next()
            .await
            .and_then(Result::ok)
            .expect("the held outcome");
        assert!(!first.is_success());
        assert_eq!(tracker.stats().held, 0);
        tracker
            .accept(&callback("r", "2", "Success", 1))
            .await
            .expect("kept");
        assert!(
            wait.next()
                .await
                .and_then(Result::ok)
                .is_some_and(|o| o.is_success())
        );
        assert!(wait.next().await.is_none());
    }

    #[tokio::test]
    async fn held_outcomes_are_bounded_in_count_and_age() {
        let tracker = Tracker::new().hold_at_most(2);
        tracker
            .accept(&callback("a", "1", "Success", 1))
            .await
            .expect("kept");
        tracker
            .accept(&callback("b", "1", "Success", 1))
            .await
            .expect("kept");
        assert!(matches!(
            tracker.accept(&callback("c", "1", "Success", 1)).await,
            Err(SinkError::Full)
        ));
        let tracker = Tracker::new().hold_for(Duration::ZERO);
        tracker
            .accept(&callback("a", "1", "Success", 1))
            .await
            .expect("kept");
        tracker
            .accept(&callback("b", "1", "Success", 1))
            .await
            .expect("kept");
        assert_eq!(
            tracker.stats().held,
            1,
            "a's callback expired when b's arrived"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_lists_the_pending_devices_after_what_arrived() {
        let tracker = Tracker::new();
        let mut wait = tracker
            .wait("r", [imei("1"), imei("2"), imei("3")])
            .timeout(Duration::from_secs(30));
        tracker
            .accept(&callback("r", "2", "Success", 1))
            .await
            .expect("kept");
        assert!(wait.next().await.and_then(Result::ok).is_some());
        match wait.next().await {
            Some(Err(WaitError::TimedOut { pending, .. })) => {
                assert_eq!(pending, [imei("1"), imei("3")]);
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(wait.next().await.is_none());
        assert_eq!(tracker.stats().waiting, 0);
    }

    #[tokio::test]
    async fn one_waiter_per_request_and_a_dropped_wait_unregisters() {
        let tracker = Tracker::new();
        let first = tracker.wait("r", [imei("1")]);
        let mut second = tracker.wait("r", [imei("1")]);
        assert!(matches!(
            second.next().await,
            Some(Err(WaitError::AlreadyWaiting { .. }))
        ));
        drop(second);
        assert_eq!(
            tracker.stats().waiting,
            1,
            "the refused wait unregistered nothing"
        );
        drop(first);
        assert_eq!(tracker.stats().waiting, 0);
        let mut done = tracker.wait("done", [imei("1")]);
        tracker
            .accept(&callback("done", "1", "Success", 1))
            .await
            .expect("kept");
        assert!(done.next().await.is_some() && done.next().await.is_none());
        let mut again = tracker.wait("done", [imei("1")]);
        assert!(matches!(
            again.next().await,
            Some(Err(WaitError::AlreadyDelivered { .. }))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_wait_after_a_timeout_gets_only_what_the_first_did_not() {
        let tracker = Tracker::new();
        let mut first = tracker
            .wait("r", [imei("1"), imei("2")])
            .timeout(Duration::from_secs(5));
        tracker
            .accept(&callback("r", "1", "Success", 1))
            .await
            .expect("kept");
        assert!(first.next().await.and_then(Result::ok).is_some());
        assert!(matches!(
            first.next().await,
            Some(Err(WaitError::TimedOut { .. }))
        ));
        drop(first);
        // Device 1 is resent, device 2 reports; then the caller waits again.
        tracker
            .accept(&callback("r", "1", "Success", 2))
            .await
            .expect("kept");
        tracker
            .accept(&callback("r", "2", "Success", 1))
            .await
            .expect("kept");
        let mut second = tracker.wait("r", [imei("1"), imei("2")]);
        let got = second.next().await.and_then(Result::ok).expect("device 2");
        assert_eq!(got.device, imei("2"));
        assert!(
            second.next().await.is_none(),
            "device 1 is not delivered twice"
        );
    }

    #[test]
    fn an_outcome_serialises_flat() {
        let c = callback("r", "1", "Failed", 2);
        let o = DeviceOutcome::new(imei("1"), c);
        let v = serde_json::to_value(&o).unwrap_or_default();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["kind"], "imei");
        assert_eq!(v["requestId"], "r");
        assert_eq!(v["callbackCount"], 2);
    }
}

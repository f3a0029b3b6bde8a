//! Callback delivery: after the mock accepts an asynchronous device action it POSTs one JSON
//! message per device to the listener registered for the action's callback service, as
//! ThingSpace does. Any 2xx acknowledges a message; a refusal (another status, a connection
//! error, a timeout) is answered by sending it again, `callbackCount` one higher, until
//! `callbackCount` reaches `maxCallbackThreshold`.
//!
//! A [`CallbackPlan`] makes the deliveries of the next accepted request misbehave the way
//! production has been seen to (a resend, even while the first message is unanswered; devices
//! out of order; failed devices). Every POST is recorded as a [`CallbackDelivery`].
//!
//! The mock only delivers to loopback listeners (`127.0.0.0/8`, `::1`, `localhost`), as it
//! only listens on loopback addresses: a listener elsewhere is never contacted.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::sync::watch;
use url::{Host, Url};

use crate::{Listener, Route, State, data, lock};

/// The documented `maxCallbackThreshold`: a message is sent at most this many times.
const MAX_CALLBACKS: u32 = 4;

/// How long one POST to a listener may take before it counts as refused.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The fault a failed device carries.
const FAULT_CODE: &str = "UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive";
const FAULT_STRING: &str = "The device is already active";

/// How the callbacks of the next accepted asynchronous request misbehave.
///
/// Queue one with [`MockServer::plan_callbacks`](crate::MockServer::plan_callbacks); it applies
/// to the next request that delivers callbacks (an activation, or a go-to-state with a `devices`
/// array). Devices are named by their position in the request's `devices` array, from 0.
/// Without a plan each device's message is delivered once, in order, with success.
///
/// ```
/// use thingspace_mock::CallbackPlan;
///
/// // Device 1's message arrives twice, the second while the first is still unanswered,
/// // and device 2 fails.
/// let plan = CallbackPlan::default().resend([1]).concurrent(true).fail([2]);
/// assert!(plan.concurrent);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackPlan {
    /// Devices whose message is sent a second time (the same message, `callbackCount` one
    /// higher) even though it was acknowledged.
    pub resend: Vec<usize>,
    /// Whether the resend goes out at the same time as the first delivery, without waiting for
    /// its answer (production has sent a resend while the first was still unanswered).
    pub concurrent: bool,
    /// Whether devices are delivered last to first.
    pub reverse_order: bool,
    /// Devices that fail: `status` `Failed`, no `deviceResponse`, and a `faultResponse`
    /// (`UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive`).
    pub fail: Vec<usize>,
}

impl CallbackPlan {
    /// These devices' messages are sent a second time, even though acknowledged.
    pub fn resend(mut self, devices: impl IntoIterator<Item = usize>) -> Self {
        self.resend.extend(devices);
        self
    }

    /// Whether the resend goes out with the first delivery instead of after its answer.
    pub fn concurrent(mut self, concurrent: bool) -> Self {
        self.concurrent = concurrent;
        self
    }

    /// Whether devices are delivered last to first.
    pub fn reverse_order(mut self, reverse: bool) -> Self {
        self.reverse_order = reverse;
        self
    }

    /// These devices fail with `UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive`.
    pub fn fail(mut self, devices: impl IntoIterator<Item = usize>) -> Self {
        self.fail.extend(devices);
        self
    }
}

/// One POST of a callback message to a listener, and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackDelivery {
    /// The asynchronous request the message reports on.
    pub request_id: String,
    /// The device's position in the request's `devices` array, from 0.
    pub device: usize,
    /// The message's `callbackCount` (1 for the first delivery).
    pub callback_count: u32,
    /// The listener's HTTP status, or `None` for a connection error or a timeout.
    pub outcome: Option<u16>,
}

impl CallbackDelivery {
    /// Whether the listener acknowledged the message (any 2xx).
    pub fn is_acknowledged(&self) -> bool {
        self.outcome.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The asynchronous operation a request started: it names the callback service and the key
/// inside `deviceResponse`.
#[derive(Debug, Clone)]
pub(crate) enum Operation {
    /// An activation (`CarrierService`, `activateResponse`).
    Activate { service_plan: String },
    /// A move into a custom state (`StateService`, `goToStateResponse`).
    GoToState {
        service_name: String,
        state_name: String,
        service_plan: String,
    },
}

impl Operation {
    /// The callback service whose listener receives the messages.
    fn service(&self) -> &'static str {
        match self {
            Operation::Activate { .. } => "CarrierService",
            Operation::GoToState { .. } => "StateService",
        }
    }

    /// The `deviceResponse` of a device that succeeded.
    fn response(&self, device_ids: &Value, mdn: String) -> Value {
        match self {
            Operation::Activate { service_plan } => {
                let mut ids = device_ids.as_array().cloned().unwrap_or_default();
                ids.push(json!({"id": mdn, "kind": "msisdn"}));
                json!({"activateResponse": {"deviceIds": ids, "servicePlan": service_plan}})
            }
            Operation::GoToState {
                service_name,
                state_name,
                service_plan,
            } => json!({"goToStateResponse": {
                "serviceName": service_name,
                "stateName": state_name,
                "servicePlan": service_plan,
            }}),
        }
    }
}

/// The callbacks an accepted request owes.
#[derive(Debug)]
pub(crate) struct Job {
    /// The request's id.
    pub(crate) request_id: String,
    /// The body's `accountName`, or empty.
    pub(crate) account: String,
    /// What the request does.
    pub(crate) operation: Operation,
    /// Each device's `deviceIds`, as sent.
    pub(crate) devices: Vec<Value>,
}

/// The outbound side of the mock: the HTTP client, queued plans, the record of deliveries and
/// the count of delivery tasks in flight.
pub(crate) struct Outbox {
    client: reqwest::Client,
    plans: Mutex<VecDeque<CallbackPlan>>,
    deliveries: Mutex<Vec<CallbackDelivery>>,
    in_flight: watch::Sender<usize>,
    stop: watch::Sender<bool>,
    /// Whether deliveries wait (see [`MockServer::pause_callbacks`](crate::MockServer::pause_callbacks)).
    paused: watch::Sender<bool>,
}

impl Outbox {
    /// An outbox with its HTTP client (no proxy, no redirects, a timeout per attempt).
    pub(crate) fn new() -> std::io::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            client,
            plans: Mutex::default(),
            deliveries: Mutex::default(),
            in_flight: watch::Sender::new(0),
            stop: watch::Sender::new(false),
            paused: watch::Sender::new(false),
        })
    }

    /// Queues `plan` for the next request that delivers callbacks.
    pub(crate) fn plan(&self, plan: CallbackPlan) {
        lock(&self.plans).push_back(plan);
    }

    /// Every POST made so far, in the order their answers came.
    pub(crate) fn deliveries(&self) -> Vec<CallbackDelivery> {
        lock(&self.deliveries).clone()
    }

    /// Waits until no delivery task is in flight (true) or `timeout` passes (false).
    pub(crate) async fn settle(&self, timeout: Duration) -> bool {
        let mut idle = self.in_flight.subscribe();
        matches!(
            tokio::time::timeout(timeout, idle.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }

    /// Holds (`true`) or lets go (`false`) every delivery.
    pub(crate) fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// Returns once deliveries are not paused.
    async fn unpaused(&self) {
        let mut paused = self.paused.subscribe();
        let _ = paused.wait_for(|p| !*p).await;
    }

    /// Ends every delivery task: nothing is sent after this.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Counts a delivery task in flight for as long as it lives.
struct InFlight(Arc<State>);

impl InFlight {
    fn enter(state: Arc<State>) -> Self {
        state.outbox.in_flight.send_modify(|n| *n += 1);
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .outbox
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Spawns `work`, counted in flight from now until it ends or the mock stops.
fn spawn_tracked(state: &Arc<State>, work: impl Future<Output = ()> + Send + 'static) {
    let guard = InFlight::enter(state.clone());
    let mut stop = state.outbox.stop.subscribe();
    tokio::spawn(async move {
        let _guard = guard;
        tokio::select! {
            () = work => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
    });
}

/// Schedules the callbacks of an accepted request, with the next queued plan: they start after
/// the configured delay. Call it from a handler, before answering, so that the delivery is in
/// flight by the time the client has its `requestId`.
pub(crate) fn schedule(state: &Arc<State>, job: Job) {
    let plan = lock(&state.outbox.plans).pop_front().unwrap_or_default();
    let run = deliver(state.clone(), Arc::new(job), Arc::new(plan));
    spawn_tracked(state, run);
}

/// What one POST came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A 2xx.
    Acknowledged,
    /// Another status, a connection error or a timeout.
    Refused,
    /// Nothing was sent: no listener is registered (any more), or it is not on loopback.
    NotSent,
}

/// Delivers every device's first message, in order (or last to first), one after the other;
/// refused messages are resent by tasks of their own, so that one listener failure does not
/// hold up the other devices.
async fn deliver(state: Arc<State>, job: Arc<Job>, plan: Arc<CallbackPlan>) {
    tokio::time::sleep(state.config.callback_delay).await;
    if target(&state, &job).is_none() {
        tracing::debug!(
            request_id = %job.request_id,
            service = job.operation.service(),
            "no loopback listener is registered: no callback is sent"
        );
        return;
    }
    let mut order: Vec<usize> = (0..job.devices.len()).collect();
    if plan.reverse_order {
        order.reverse();
    }
    for device in order {
        let resend = plan.resend.contains(&device);
        let (first, sent) = if resend && plan.concurrent {
            let (first, _) = tokio::join!(
                post(&state, &job, &plan, device, 1),
                post(&state, &job, &plan, device, 2),
            );
            (first, 2)
        } else {
            (post(&state, &job, &plan, device, 1).await, 1)
        };
        match first {
            Answer::Acknowledged => {
                if resend && !plan.concurrent {
                    post(&state, &job, &plan, device, 2).await;
                }
            }
            Answer::Refused => {
                let retry = resend_refused(state.clone(), job.clone(), plan.clone(), device, sent);
                spawn_tracked(&state, retry);
            }
            Answer::NotSent => {}
        }
    }
}

/// Sends a refused message again every retry interval, `callbackCount` one higher each time,
/// until it is acknowledged or its count reaches the threshold. `sent` is the highest count
/// already sent.
async fn resend_refused(
    state: Arc<State>,
    job: Arc<Job>,
    plan: Arc<CallbackPlan>,
    device: usize,
    sent: u32,
) {
    let mut count = sent + 1;
    while count <= MAX_CALLBACKS {
        tokio::time::sleep(state.config.callback_retry_interval).await;
        match post(&state, &job, &plan, device, count).await {
            Answer::Refused => count += 1,
            Answer::Acknowledged => {
                if plan.resend.contains(&device) && !plan.concurrent {
                    post(&state, &job, &plan, device, (count + 1).min(MAX_CALLBACKS)).await;
                }
                return;
            }
            Answer::NotSent => return,
        }
    }
    tracing::debug!(
        request_id = %job.request_id,
        device,
        "callback refused {MAX_CALLBACKS} times: given up"
    );
}

/// The listener of the job's account for its service and its URL, if it is on loopback. With
/// no account in the request, the only account with a listener for the service, if exactly one.
fn target(state: &State, job: &Job) -> Option<(Listener, Url)> {
    let service = job.operation.service();
    let listener = {
        let listeners = lock(&state.listeners);
        if job.account.is_empty() {
            let mut matching = listeners
                .iter()
                .filter(|((_, s), _)| s == service)
                .map(|(_, l)| l);
            let only = matching.next()?;
            if matching.next().is_some() {
                return None;
            }
            only.clone()
        } else {
            listeners
                .get(&(job.account.clone(), service.to_owned()))?
                .clone()
        }
    };
    let url = loopback(&listener.url)?;
    Some((listener, url))
}

/// `url`, if it is an http(s) URL on a loopback host.
fn loopback(url: &str) -> Option<Url> {
    let url = Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let local = match url.host()? {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    local.then_some(url)
}

/// A generated 10-digit MDN for `device` of `request_id`: the same for every resend.
fn mdn(request_id: &str, device: usize) -> String {
    let n = 1_000_000_000 + data::hash(&format!("{request_id}/{device}")) % 9_000_000_000;
    n.to_string()
}

/// The message for `device`, `callbackCount` `count`, with the listener's credentials.
fn message(
    job: &Job,
    plan: &CallbackPlan,
    listener: &Listener,
    device: usize,
    count: u32,
) -> Value {
    let ids = job
        .devices
        .get(device)
        .cloned()
        .unwrap_or_else(|| json!([]));
    let mut m = json!({
        "username": listener.username.as_deref().unwrap_or_default(),
        "password": listener.password.as_deref().unwrap_or_default(),
        "requestId": job.request_id,
        "deviceIds": ids,
        "callbackCount": count,
        "maxCallbackThreshold": MAX_CALLBACKS,
    });
    if plan.fail.contains(&device) {
        m["status"] = json!("Failed");
        m["faultResponse"] = json!({"faultcode": FAULT_CODE, "faultstring": FAULT_STRING});
    } else {
        m["status"] = json!("Success");
        m["deviceResponse"] = job.operation.response(&ids, mdn(&job.request_id, device));
    }
    m
}

/// POSTs `device`'s message with `callbackCount` `count` to the listener registered now, and
/// records the answer. The body (which carries the listener's password) is never logged.
async fn post(state: &State, job: &Job, plan: &CallbackPlan, device: usize, count: u32) -> Answer {
    state.outbox.unpaused().await;
    let Some((listener, url)) = target(state, job) else {
        return Answer::NotSent;
    };
    let body = message(job, plan, &listener, device, count).to_string();
    state.tally(Route::CallbackDelivery);
    let sent = state
        .outbox
        .client
        .post(url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let outcome = match sent {
        Ok(response) => Some(response.status().as_u16()),
        Err(e) => {
            tracing::debug!(
                request_id = %job.request_id,
                device,
                callback_count = count,
                timeout = e.is_timeout(),
                "callback not answered"
            );
            None
        }
    };
    let delivery = CallbackDelivery {
        request_id: job.request_id.clone(),
        device,
        callback_count: count,
        outcome,
    };
    let answer = if delivery.is_acknowledged() {
        Answer::Acknowledged
    } else {
        Answer::Refused
    };
    tracing::debug!(
        request_id = %job.request_id,
        device,
        callback_count = count,
        status = ?outcome,
        "callback posted"
    );
    lock(&state.outbox.deliveries).push(delivery);
    answer
}

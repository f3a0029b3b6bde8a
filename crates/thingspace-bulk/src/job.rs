//! The job: devices split into batches, each sent once and awaited, all of it journaled.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    path::{Path, PathBuf},
    pin::{Pin, pin},
    time::Duration,
};

use futures_util::{
    FutureExt, Stream, StreamExt,
    future::{Fuse, FusedFuture},
    stream::{self, SelectAll},
};
use serde_json::json;
use sha2::{Digest, Sha256};
use thingspace_callbacks::{AwaitOutcomes, DeviceOutcome, WaitError};
use thingspace_core::{DeviceId, Error};
use thingspace_m2m::{
    M2m,
    devices::{Activation, ActivationDevice, MAX_DEVICES_PER_REQUEST, RequestId, StateChange},
};

use crate::{
    error::BulkError,
    journal::{Header, Journal, Logged},
};

/// How many outcomes that arrived together are written before one sync of the journal.
const GROUP_COMMIT: usize = 1_000;

/// What a bulk job does to its devices: an activation or a move into a custom state, with
/// everything but the devices (which the job adds, a batch at a time).
#[derive(Debug, Clone)]
pub struct BulkAction {
    account: String,
    kind: ActionKind,
}

#[derive(Debug, Clone)]
enum ActionKind {
    Activate {
        activation: Activation,
        lead: Option<String>,
    },
    GoToState {
        change: StateChange,
    },
}

impl BulkAction {
    /// Activates the devices in `account` as `activation` says (its plan, ZIP and other
    /// settings; its own devices, if any, are left out).
    pub fn activate(account: impl Into<String>, activation: Activation) -> Self {
        let account = account.into();
        let mut activation = activation.account(account.clone());
        activation.devices.clear();
        Self {
            account,
            kind: ActionKind::Activate {
                activation,
                lead: None,
            },
        }
    }

    /// As [`activate`](Self::activate), credited to the lead `lead_id` of `account`: the lead
    /// is looked up once, before the first request, and its ZIP chooses the MDNs.
    pub fn activate_for_lead(
        account: impl Into<String>,
        lead_id: impl Into<String>,
        activation: Activation,
    ) -> Self {
        let mut action = Self::activate(account, activation);
        if let ActionKind::Activate { lead, .. } = &mut action.kind {
            *lead = Some(lead_id.into());
        }
        action
    }

    /// Moves the devices of `account` into a custom state as `change` says (its service,
    /// state, plan, ZIP and other settings; its own devices, if any, are left out).
    pub fn go_to_state(account: impl Into<String>, change: StateChange) -> Self {
        let mut change = change;
        change.devices.clear();
        Self {
            account: account.into(),
            kind: ActionKind::GoToState { change },
        }
    }

    /// The account.
    pub fn account_name(&self) -> &str {
        &self.account
    }

    /// `activate` or `state`, as the journal names it.
    pub fn name(&self) -> &'static str {
        match self.kind {
            ActionKind::Activate { .. } => "activate",
            ActionKind::GoToState { .. } => "state",
        }
    }

    /// How to find out what became of devices whose request may have reached the service
    /// without its answer reaching us.
    fn how_to_check(&self) -> String {
        let (what, service) = match self.kind {
            ActionKind::Activate { .. } => ("whether each is active", "CarrierService"),
            ActionKind::GoToState { .. } => ("the state each is in", "StateService"),
        };
        format!(
            "its request id never reached us, so the request status cannot be asked for: look \
             the devices up in the device list (`thingspace devices list {}`: {what}, and when \
             it last changed), and keep a listener for the {service} callbacks, which may still \
             arrive; then send the devices that were not acted on in a job of their own",
            self.account
        )
    }

    /// The journal's first line for this action on `devices`.
    fn header(&self, devices: &[DeviceId], batch_size: usize) -> Header {
        let mut digest = Sha256::new();
        for d in devices {
            digest.update(d.kind.to_ascii_lowercase().as_bytes());
            digest.update(b"\t");
            digest.update(d.id.as_bytes());
            digest.update(b"\n");
        }
        let request = match &self.kind {
            ActionKind::Activate { activation, .. } => serde_json::to_vec(activation),
            ActionKind::GoToState { change } => serde_json::to_vec(change),
        }
        .unwrap_or_default();
        let mut header = Header::new(
            self.name(),
            &self.account,
            devices.len(),
            hex(&digest.finalize()),
            hex(&Sha256::digest(&request)),
            batch_size,
        );
        match &self.kind {
            ActionKind::Activate { activation, lead } => {
                header.plan.clone_from(&activation.service_plan);
                header.zip.clone_from(&activation.mdn_zip_code);
                header.lead.clone_from(lead);
            }
            ActionKind::GoToState { change } => {
                header.plan.clone_from(&change.service_plan);
                header.zip.clone_from(&change.mdn_zip_code);
                header.service = Some(change.service_name.clone());
                header.state = Some(change.state_name.clone());
            }
        }
        header
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request of one batch, ready but for its devices.
enum Prepared {
    Activate(Activation),
    GoToState(StateChange),
}

/// Sends batch `batch` with `devices`.
async fn send_batch(
    m2m: &M2m,
    prepared: &Prepared,
    batch: usize,
    devices: &[DeviceId],
) -> (usize, Result<RequestId, Error>) {
    let listed = || {
        devices
            .iter()
            .map(|d| ActivationDevice::new(d.kind.as_str(), d.id.as_str()))
            .collect()
    };
    let sent = match prepared {
        Prepared::Activate(template) => {
            let mut activation = template.clone();
            activation.devices = listed();
            m2m.devices().activate(&activation).await
        }
        Prepared::GoToState(template) => {
            let mut change = template.clone();
            change.devices = listed();
            m2m.devices().go_to_state(&change).await
        }
    };
    (batch, sent)
}

/// What happens in a bulk job, in order, for a progress display. Each is reported after the
/// journal holds it.
#[derive(Debug)]
#[non_exhaustive]
pub enum BulkEvent<'a> {
    /// The job starts (or resumes): its devices and batches, the devices whose outcome the
    /// journal already holds, and the batches to send.
    Started {
        /// Devices in all.
        devices: usize,
        /// Batches in all.
        batches: usize,
        /// Devices whose outcome an earlier run recorded.
        reported: usize,
        /// Batches this run sends.
        to_send: usize,
    },
    /// A batch whose request may have reached the service without its answer reaching us
    /// (a crash between the two, or an answer lost now): it is not sent again.
    Unknown {
        /// The batch, from 1.
        batch: usize,
        /// Its devices.
        devices: &'a [DeviceId],
    },
    /// A batch is being sent (its intent is in the journal).
    Sending {
        /// The batch, from 1.
        batch: usize,
        /// How many devices it has.
        devices: usize,
    },
    /// The service answered a batch with its request id.
    Sent {
        /// The batch, from 1.
        batch: usize,
        /// The request id.
        request_id: &'a str,
        /// How many devices it has.
        devices: usize,
    },
    /// The service refused a batch, or it could not be sent: the service did not act on it,
    /// and no further batch is sent in this run.
    NotSent {
        /// The batch, from 1.
        batch: usize,
        /// Why.
        error: &'a Error,
    },
    /// A batch an earlier run sent is awaited again, for the devices that had not reported.
    Resumed {
        /// The batch, from 1.
        batch: usize,
        /// Its request id.
        request_id: &'a str,
        /// The devices still awaited.
        pending: usize,
    },
    /// One device's outcome (in the journal now).
    Outcome {
        /// The batch, from 1.
        batch: usize,
        /// The outcome.
        outcome: &'a DeviceOutcome,
    },
    /// Every device of a batch has reported.
    BatchDone {
        /// The batch, from 1.
        batch: usize,
    },
    /// A batch's wait ended before every device reported.
    Unfinished(&'a Unfinished),
}

/// A batch whose request may have reached the service, without its request id reaching us.
#[derive(Debug)]
#[non_exhaustive]
pub struct UnknownBatch {
    /// The batch, from 1.
    pub batch: usize,
    /// Its devices.
    pub devices: Vec<DeviceId>,
    /// The failure of this run's request, when it was this run's (none when an earlier run
    /// crashed between sending it and recording its answer).
    pub error: Option<Error>,
    /// How to find out what became of its devices.
    pub how_to_check: String,
}

/// Why a sent batch's wait ended with devices still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unawaited {
    /// No outcomes were awaited ([`BulkJob::send`]): a rerun with [`BulkJob::run`] awaits them.
    NotAwaited,
    /// The wait failed: timed out ([`WaitError::TimedOut`]), or was refused.
    Wait(WaitError),
    /// The wait ended without these devices (a fleet tracker on which another waiter, such as
    /// a crashed earlier run, took their outcomes).
    EndedEarly,
}

impl fmt::Display for Unawaited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unawaited::NotAwaited => f.write_str("not awaited"),
            Unawaited::Wait(e) => e.fmt(f),
            Unawaited::EndedEarly => {
                f.write_str("the wait ended without them (another waiter took their outcomes)")
            }
        }
    }
}

/// A sent batch with devices whose outcome did not arrive in this run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Unfinished {
    /// The batch, from 1.
    pub batch: usize,
    /// Its request id.
    pub request_id: String,
    /// The devices that did not report.
    pub pending: Vec<DeviceId>,
    /// Why the wait ended.
    pub reason: Unawaited,
}

/// What a bulk job came to, over this run and the earlier runs its journal recorded.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BulkReport {
    /// Devices in all.
    pub devices: usize,
    /// Batches in all.
    pub batches: usize,
    /// Requests this run sent.
    pub sent: usize,
    /// Devices that succeeded.
    pub succeeded: usize,
    /// Devices that failed.
    pub failed: Vec<DeviceId>,
    /// Batches whose outcome is unknown: never sent again, see their `how_to_check`.
    pub unknown: Vec<UnknownBatch>,
    /// Sent batches with devices still pending.
    pub unfinished: Vec<Unfinished>,
    /// Batches not sent, because sending stopped (see `stopped`, or an unknown batch of this
    /// run): a rerun sends them.
    pub unsent: Vec<usize>,
    /// Why sending stopped before every batch was sent, unless an unknown outcome stopped it.
    pub stopped: Option<Error>,
}

impl BulkReport {
    /// True when every device of every batch reported success.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
            && self.unknown.is_empty()
            && self.unfinished.is_empty()
            && self.unsent.is_empty()
            && self.stopped.is_none()
    }
}

/// A batch being awaited.
struct Awaiting {
    request_id: String,
    pending: HashSet<DeviceId>,
}

type BatchStream =
    Pin<Box<dyn Stream<Item = (usize, Option<Result<DeviceOutcome, WaitError>>)> + Send>>;

/// Activates, or moves into a state, any number of devices: in requests of at most 10,000
/// (the service's limit), sent one after the other through the client (so under its
/// interceptors, a rate limiter among them), each device's outcome awaited, and everything
/// written to a journal first, so that a rerun of the same job after a crash sends nothing
/// twice and awaits what is still pending.
///
/// ```no_run
/// use thingspace_bulk::{BulkAction, BulkEvent, BulkJob};
/// use thingspace_callbacks::{Credentials, Listener, Tracker};
/// use thingspace_m2m::{M2m, devices::Activation};
///
/// # async fn run(m2m: M2m) -> Result<(), Box<dyn std::error::Error>> {
/// let tracker = Tracker::new();
/// let _listener = Listener::builder(Credentials::new("ts-callbacks", "from-your-vault"))
///     .sink(tracker.clone())
///     .build()
///     .bind("127.0.0.1:9001")
///     .await?;
/// let devices = thingspace_bulk::read_devices("fleet.txt", "imei")?;
/// let action = BulkAction::activate("0000123456", Activation::new("M2MPlan", "94203"));
/// let job = BulkJob::new(action, devices, "fleet.txt.journal")?;
/// let report = job
///     .run(&m2m, &tracker, |event| {
///         if let BulkEvent::Sent { batch, request_id, .. } = event {
///             println!("batch {batch}: request {request_id}");
///         }
///     })
///     .await?;
/// println!("{} succeeded, {} failed", report.succeeded, report.failed.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BulkJob {
    action: BulkAction,
    devices: Vec<DeviceId>,
    journal: PathBuf,
    batch_size: usize,
    timeout: Option<Duration>,
}

impl BulkJob {
    /// A job doing `action` to `devices`, journaled in `journal` (created if missing; an
    /// existing one is resumed, if this same job wrote it).
    ///
    /// # Errors
    /// [`BulkError::Devices`] for no device, a device without a kind or an id, or a device
    /// named twice.
    pub fn new(
        action: BulkAction,
        devices: Vec<DeviceId>,
        journal: impl Into<PathBuf>,
    ) -> Result<Self, BulkError> {
        if devices.is_empty() {
            return Err(BulkError::Devices(
                "a bulk job needs at least one device".into(),
            ));
        }
        let mut seen = HashSet::with_capacity(devices.len());
        for (i, d) in devices.iter().enumerate() {
            if d.kind.trim().is_empty() || d.id.trim().is_empty() {
                return Err(BulkError::Devices(format!(
                    "device {} has no kind or no id",
                    i + 1
                )));
            }
            if !seen.insert(d) {
                return Err(BulkError::Devices(format!(
                    "{d} is named twice: a device is sent once"
                )));
            }
        }
        Ok(Self {
            action,
            devices,
            journal: journal.into(),
            batch_size: MAX_DEVICES_PER_REQUEST,
            timeout: None,
        })
    }

    /// Sends at most `size` devices a request (from 1 to 10,000, the default). A resumed job
    /// keeps the size its journal recorded.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.clamp(1, MAX_DEVICES_PER_REQUEST);
        self
    }

    /// Stops awaiting a batch `timeout` after its wait started, listing the devices still
    /// pending in [`BulkReport::unfinished`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the job does.
    pub fn action(&self) -> &BulkAction {
        &self.action
    }

    /// The journal's path.
    pub fn journal_path(&self) -> &Path {
        &self.journal
    }

    /// The devices, in order.
    pub fn devices(&self) -> &[DeviceId] {
        &self.devices
    }

    /// Runs the job: sends each batch not yet sent, one after the other, and awaits through
    /// `outcomes` every device's outcome not yet recorded (the outcomes of batches sent by an
    /// earlier run included), calling `progress` at each step. Start the listener that feeds
    /// `outcomes` first: outcomes can arrive before a request's answer.
    ///
    /// # Errors
    /// A journal that cannot be read or written, or that another job wrote; nothing is sent
    /// then. Failures of requests and devices are in the report, not errors.
    pub async fn run(
        &self,
        m2m: &M2m,
        outcomes: &dyn AwaitOutcomes,
        mut progress: impl FnMut(&BulkEvent<'_>),
    ) -> Result<BulkReport, BulkError> {
        self.execute(m2m, Some(outcomes), &mut progress).await
    }

    /// As [`run`](Self::run), without awaiting outcomes: each batch not yet sent is sent and
    /// its request id recorded; every sent batch with pending devices is listed as
    /// [`Unawaited::NotAwaited`].
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn send(
        &self,
        m2m: &M2m,
        mut progress: impl FnMut(&BulkEvent<'_>),
    ) -> Result<BulkReport, BulkError> {
        self.execute(m2m, None, &mut progress).await
    }

    async fn execute(
        &self,
        m2m: &M2m,
        outcomes: Option<&dyn AwaitOutcomes>,
        progress: &mut dyn FnMut(&BulkEvent<'_>),
    ) -> Result<BulkReport, BulkError> {
        let (mut journal, replayed) = Journal::open(&self.journal)?;
        let header = self.action.header(&self.devices, self.batch_size);
        let size = match &replayed.header {
            Some(recorded) => {
                if let Some((what, journaled, command)) = recorded.difference(&header) {
                    return Err(BulkError::OtherCommand {
                        path: self.journal.clone(),
                        what,
                        journal: journaled,
                        command,
                    });
                }
                recorded.batch_size.clamp(1, MAX_DEVICES_PER_REQUEST)
            }
            None => {
                let mut record = serde_json::to_value(&header)
                    .map_err(|e| BulkError::io(&self.journal, e.into()))?;
                record["type"] = json!("job");
                journal.commit(&record)?;
                self.batch_size
            }
        };
        let chunks: Vec<&[DeviceId]> = self.devices.chunks(size).collect();
        for (&batch, log) in &replayed.batches {
            if chunks.get(batch.wrapping_sub(1)) != Some(&log.devices.as_slice()) {
                return Err(BulkError::Malformed {
                    path: self.journal.clone(),
                    line: log.line,
                    reason: format!("batch {batch} is not the devices' batch {batch}"),
                });
            }
        }

        let mut report = BulkReport {
            devices: self.devices.len(),
            batches: chunks.len(),
            ..BulkReport::default()
        };
        let mut to_send = VecDeque::new();
        let mut resumed = Vec::new();
        let mut reported = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            let batch = i + 1;
            let Some(log) = replayed.batches.get(&batch) else {
                to_send.push_back(batch);
                continue;
            };
            for (device, success) in &log.outcomes {
                reported += 1;
                if *success {
                    report.succeeded += 1;
                } else {
                    report.failed.push(device.clone());
                }
            }
            match &log.state {
                Logged::NotSent => to_send.push_back(batch),
                Logged::Intent => report.unknown.push(UnknownBatch {
                    batch,
                    devices: chunk.to_vec(),
                    error: None,
                    how_to_check: self.action.how_to_check(),
                }),
                Logged::Sent(request_id) => {
                    let pending: Vec<DeviceId> = chunk
                        .iter()
                        .filter(|d| !log.outcomes.contains_key(*d))
                        .cloned()
                        .collect();
                    if !pending.is_empty() {
                        resumed.push((batch, request_id.clone(), pending));
                    }
                }
            }
        }
        progress(&BulkEvent::Started {
            devices: self.devices.len(),
            batches: chunks.len(),
            reported,
            to_send: to_send.len(),
        });
        for unknown in &report.unknown {
            progress(&BulkEvent::Unknown {
                batch: unknown.batch,
                devices: &unknown.devices,
            });
        }

        let mut waits: SelectAll<BatchStream> = SelectAll::new();
        let mut awaiting: HashMap<usize, Awaiting> = HashMap::new();
        for (batch, request_id, pending) in resumed {
            progress(&BulkEvent::Resumed {
                batch,
                request_id: &request_id,
                pending: pending.len(),
            });
            self.await_batch(
                outcomes,
                batch,
                request_id,
                pending,
                &mut waits,
                &mut awaiting,
                &mut report,
                progress,
            );
        }

        // The request template, the lead looked up once, before the first send.
        let prepared = if to_send.is_empty() {
            None
        } else {
            match self.prepare(m2m).await {
                Ok(p) => Some(p),
                Err(e) => {
                    report.stopped = Some(e);
                    None
                }
            }
        };
        let mut sending = pin!(Fuse::terminated());
        loop {
            if sending.is_terminated()
                && report.stopped.is_none()
                && report.unknown.iter().all(|u| u.error.is_none())
                && let Some(prepared) = &prepared
                && let Some(batch) = to_send.pop_front()
            {
                let devices = chunks[batch - 1];
                journal.commit(&json!({"type": "intent", "batch": batch, "devices": devices}))?;
                progress(&BulkEvent::Sending {
                    batch,
                    devices: devices.len(),
                });
                sending.set(send_batch(m2m, prepared, batch, devices).fuse());
            }
            if sending.is_terminated() && waits.is_empty() {
                break;
            }
            tokio::select! {
                (batch, sent) = &mut sending, if !sending.is_terminated() => {
                    let devices = chunks[batch - 1];
                    match sent {
                        Ok(id) => {
                            journal.commit(&json!({"type": "sent", "batch": batch, "requestId": id.request_id}))?;
                            report.sent += 1;
                            progress(&BulkEvent::Sent { batch, request_id: &id.request_id, devices: devices.len() });
                            self.await_batch(outcomes, batch, id.request_id, devices.to_vec(), &mut waits, &mut awaiting, &mut report, progress);
                        }
                        Err(e) if e.is_outcome_unknown() => {
                            progress(&BulkEvent::Unknown { batch, devices });
                            report.unknown.push(UnknownBatch {
                                batch,
                                devices: devices.to_vec(),
                                error: Some(e),
                                how_to_check: self.action.how_to_check(),
                            });
                        }
                        Err(e) => {
                            journal.commit(&json!({"type": "notSent", "batch": batch, "error": e.to_string()}))?;
                            progress(&BulkEvent::NotSent { batch, error: &e });
                            report.unsent.push(batch);
                            report.stopped = Some(e);
                        }
                    }
                }
                Some(first) = waits.next(), if !waits.is_empty() => {
                    let mut items = vec![first];
                    while items.len() < GROUP_COMMIT {
                        match waits.next().now_or_never() {
                            Some(Some(item)) => items.push(item),
                            _ => break,
                        }
                    }
                    self.record(&mut journal, items, &mut awaiting, &mut report, progress)?;
                }
            }
        }
        report.unsent.extend(to_send);
        report.unsent.sort_unstable();
        report.unknown.sort_by_key(|u| u.batch);
        report.unfinished.sort_by_key(|u| u.batch);
        Ok(report)
    }

    /// The request template, credited to the lead when there is one.
    async fn prepare(&self, m2m: &M2m) -> Result<Prepared, Error> {
        Ok(match &self.action.kind {
            ActionKind::Activate {
                activation,
                lead: Some(lead),
            } => Prepared::Activate(
                m2m.devices()
                    .credit_to_lead(&self.action.account, lead, activation.clone())
                    .await?,
            ),
            ActionKind::Activate { activation, .. } => Prepared::Activate(activation.clone()),
            ActionKind::GoToState { change } => Prepared::GoToState(change.clone()),
        })
    }

    /// Starts awaiting `pending` of batch `batch`, or lists them as not awaited.
    #[allow(clippy::too_many_arguments)]
    fn await_batch(
        &self,
        outcomes: Option<&dyn AwaitOutcomes>,
        batch: usize,
        request_id: String,
        pending: Vec<DeviceId>,
        waits: &mut SelectAll<BatchStream>,
        awaiting: &mut HashMap<usize, Awaiting>,
        report: &mut BulkReport,
        progress: &mut dyn FnMut(&BulkEvent<'_>),
    ) {
        let Some(outcomes) = outcomes else {
            let unfinished = Unfinished {
                batch,
                request_id,
                pending,
                reason: Unawaited::NotAwaited,
            };
            progress(&BulkEvent::Unfinished(&unfinished));
            report.unfinished.push(unfinished);
            return;
        };
        let wait = outcomes
            .await_outcomes(&request_id, pending.clone(), self.timeout)
            .map(move |item| (batch, Some(item)))
            .chain(stream::once(async move { (batch, None) }));
        waits.push(Box::pin(wait));
        awaiting.insert(
            batch,
            Awaiting {
                request_id,
                pending: pending.into_iter().collect(),
            },
        );
    }

    /// Writes the outcomes among `items` to the journal, syncs it once, then reports each
    /// item in order.
    fn record(
        &self,
        journal: &mut Journal,
        items: Vec<(usize, Option<Result<DeviceOutcome, WaitError>>)>,
        awaiting: &mut HashMap<usize, Awaiting>,
        report: &mut BulkReport,
        progress: &mut dyn FnMut(&BulkEvent<'_>),
    ) -> Result<(), BulkError> {
        enum Step {
            Outcome(usize, DeviceOutcome, bool),
            Unfinished(Unfinished),
        }
        let mut steps = Vec::with_capacity(items.len());
        for (batch, item) in items {
            let Some(waiting) = awaiting.get_mut(&batch) else {
                continue;
            };
            match item {
                Some(Ok(outcome)) => {
                    if !waiting.pending.remove(&outcome.device) {
                        continue;
                    }
                    let mut record = serde_json::to_value(&outcome)
                        .map_err(|e| BulkError::io(journal.path(), e.into()))?;
                    record["type"] = json!("outcome");
                    record["batch"] = json!(batch);
                    journal.write(&record)?;
                    let done = waiting.pending.is_empty();
                    if done {
                        awaiting.remove(&batch);
                    }
                    steps.push(Step::Outcome(batch, outcome, done));
                }
                Some(Err(e)) => {
                    if let Some(waiting) = awaiting.remove(&batch) {
                        steps.push(Step::Unfinished(unfinished(
                            batch,
                            waiting,
                            Unawaited::Wait(e),
                        )));
                    }
                }
                None => {
                    if let Some(waiting) = awaiting.remove(&batch) {
                        steps.push(Step::Unfinished(unfinished(
                            batch,
                            waiting,
                            Unawaited::EndedEarly,
                        )));
                    }
                }
            }
        }
        journal.sync()?;
        for step in steps {
            match step {
                Step::Outcome(batch, outcome, done) => {
                    if outcome.is_success() {
                        report.succeeded += 1;
                    } else {
                        report.failed.push(outcome.device.clone());
                    }
                    progress(&BulkEvent::Outcome {
                        batch,
                        outcome: &outcome,
                    });
                    if done {
                        progress(&BulkEvent::BatchDone { batch });
                    }
                }
                Step::Unfinished(u) => {
                    progress(&BulkEvent::Unfinished(&u));
                    report.unfinished.push(u);
                }
            }
        }
        Ok(())
    }
}

/// The pending devices of `waiting`, in order, as unfinished for `reason`.
fn unfinished(batch: usize, waiting: Awaiting, reason: Unawaited) -> Unfinished {
    let mut pending: Vec<DeviceId> = waiting.pending.into_iter().collect();
    pending.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    Unfinished {
        batch,
        request_id: waiting.request_id,
        pending,
        reason,
    }
}

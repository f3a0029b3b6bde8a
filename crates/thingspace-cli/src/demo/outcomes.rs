//! The end of the workflow: device actions whose results arrive later as callbacks, each
//! device's outcome awaited with the tracker and printed as it arrives.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{Map, Value};
use thingspace::{
    DeviceId,
    callbacks::{DeviceOutcome, Outcome, Tracker},
    m2m::{Activation, Lead, StateChange, StatesAndServices, callbacks::services},
    mock::CallbackPlan,
};

use super::{
    ACCOUNT, Demo,
    callbacks::Receiver,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// The fault of the device the mock is told to fail.
const ALREADY_ACTIVE: &str = "UnifiedWebService.REQUEST_FAILED.DeviceAlreadyActive";

/// How long a wait for a request's outcomes may take.
const WAIT: Duration = Duration::from_secs(20);

/// How long the mock may take to finish its deliveries, resends included.
const SETTLE: Duration = Duration::from_secs(10);

/// Activates three devices credited to `lead`, the mock told to fail the third and to resend
/// the first while its first delivery is unanswered, and awaits each device's callback.
///
/// # Errors
/// The SDK's, or [`CliError::Demo`] when an outcome is missing, repeated or not the planned
/// one, or the resend was not recognised. Returns the devices that were activated.
pub(super) async fn activate_and_await(
    demo: &Demo,
    receiver: &Receiver,
    lead: &Lead,
) -> Result<Vec<DeviceId>, CliError> {
    step(
        "Activate three devices for the lead and await each one's callback: the third fails, the first is resent while unanswered",
    )?;
    let lead_id = lead.lead_id.as_deref().unwrap_or_default();
    let activation = Activation::new("M2MPlan", "")
        .device("imei", "990013907835580")
        .device("imei", "990013907835581")
        .device("iccid", "89148000000800784260");
    let devices: Vec<DeviceId> = activation.device_ids().cloned().collect();
    // Consumed by the next request that sends callbacks: this activation.
    demo.server.plan_callbacks(
        CallbackPlan::default()
            .resend([0])
            .concurrent(true)
            .fail([2]),
    );
    let started = Instant::now();
    let id = demo
        .m2m
        .devices()
        .activate_for_lead(ACCOUNT, lead_id, activation)
        .await?;
    outln!(
        "request {} accepted for lead {}; awaiting {} devices",
        safe(&id.request_id),
        safe(lead_id),
        devices.len()
    )?;
    let outcomes = await_outcomes(&receiver.tracker, &id.request_id, &devices, started).await?;
    check_each_device_once(&devices, &outcomes)?;
    let third = devices
        .get(2)
        .and_then(|d| outcomes.iter().find(|o| &o.device == d));
    let third_fault = third.and_then(|o| match &o.outcome {
        Outcome::Failed { fault, .. } => fault.as_ref().and_then(|f| f.code.clone()),
        _ => None,
    });
    check(third_fault.as_deref() == Some(ALREADY_ACTIVE), || {
        format!("the third device should have failed with {ALREADY_ACTIVE}: {third:?}")
    })?;
    let activated: Vec<DeviceId> = outcomes
        .iter()
        .filter(|o| o.is_success())
        .map(|o| o.device.clone())
        .collect();
    check(
        activated.len() == 2 && outcomes.iter().all(|o| o.request_id == id.request_id),
        || format!("the first two devices should have succeeded: {outcomes:?}"),
    )?;
    // The resend may arrive after the wait ended: let the mock finish before counting it.
    let settled = demo.server.settle_callbacks(SETTLE).await;
    let posted = demo
        .server
        .callback_deliveries()
        .iter()
        .filter(|d| d.request_id == id.request_id)
        .count();
    let duplicates = receiver.tracker.stats().duplicates;
    outln!(
        "the mock posted {posted} callbacks for {} devices; resends dropped by the tracker: {duplicates}",
        devices.len()
    )?;
    check(settled, || {
        format!("the mock was still delivering callbacks after {SETTLE:?}")
    })?;
    check(duplicates >= 1, || {
        format!("the first device's resend was not recognised: {duplicates} resends dropped")
    })?;
    Ok(activated)
}

/// Registers the listener for `StateService`, moves `devices` into the first state of the
/// account's states and services that takes a plan (the mock delivers last to first), and
/// awaits each device's callback.
///
/// # Errors
/// The SDK's, or [`CliError::Demo`] when the account has no such state, or an outcome is
/// missing, repeated or not a success in that state.
pub(super) async fn go_to_state_and_await(
    demo: &Demo,
    receiver: &Receiver,
    lead: &Lead,
    devices: &[DeviceId],
) -> Result<(), CliError> {
    step(
        "Move the activated devices into a custom state and await their StateService callbacks, delivered last to first",
    )?;
    let url = receiver
        .register(demo, services::STATE_SERVICE, "/ts/state")
        .await?;
    outln!("registered {} at {url}", services::STATE_SERVICE)?;
    let states = demo.m2m.states_and_services().get(ACCOUNT).await?;
    let (service, state, plan) = first_state_with_a_plan(&states)?;
    let zip = lead.address.zip.as_deref().unwrap_or_default();
    let change = devices.iter().fold(
        StateChange::new(&service, &state, &plan, zip),
        |change, d| change.device(&d.kind, &d.id),
    );
    change.check_against(&states)?;
    // Consumed by the next request that sends callbacks: this state change.
    demo.server
        .plan_callbacks(CallbackPlan::default().reverse_order(true));
    let started = Instant::now();
    let id = demo.m2m.devices().go_to_state(&change).await?;
    outln!(
        "request {} moves {} devices into {} / {} on plan {}",
        safe(&id.request_id),
        devices.len(),
        safe(&service),
        safe(&state),
        safe(&plan)
    )?;
    let outcomes = await_outcomes(&receiver.tracker, &id.request_id, devices, started).await?;
    check_each_device_once(devices, &outcomes)?;
    let moved = |o: &DeviceOutcome| match &o.outcome {
        Outcome::Success {
            response: Some(response),
        } => response
            .get("goToStateResponse")
            .is_some_and(|r| r["stateName"].as_str() == Some(state.as_str())),
        _ => false,
    };
    check(outcomes.iter().all(moved), || {
        format!("every device should be in {state}: {outcomes:?}")
    })?;
    let settled = demo.server.settle_callbacks(SETTLE).await;
    check(settled, || {
        format!("the mock was still delivering callbacks after {SETTLE:?}")
    })
}

/// The service, state and plan of the first custom state that takes a plan.
fn first_state_with_a_plan(
    states: &StatesAndServices,
) -> Result<(String, String, String), CliError> {
    states
        .engagement
        .iter()
        .flat_map(|e| &e.services)
        .flat_map(|s| s.states.iter().map(move |st| (s, st)))
        .find_map(|(s, st)| {
            Some((
                s.name.clone()?,
                st.name.clone()?,
                st.service_plans.first()?.clone(),
            ))
        })
        .ok_or_else(|| CliError::Demo("the account has no custom state that takes a plan".into()))
}

/// Waits for the outcome of each of `devices` in `request_id`, printing each as it arrives
/// with the time since `started`.
///
/// # Errors
/// [`CliError::Demo`] when the wait ends without every outcome (the devices still pending
/// are named).
async fn await_outcomes(
    tracker: &Tracker,
    request_id: &str,
    devices: &[DeviceId],
    started: Instant,
) -> Result<Vec<DeviceOutcome>, CliError> {
    let mut wait = tracker
        .wait(request_id, devices.iter().cloned())
        .timeout(WAIT);
    let mut outcomes = Vec::new();
    while let Some(next) = wait.next().await {
        let outcome = next.map_err(|e| CliError::Demo(safe(e)))?;
        outln!(
            "  after {:>4} ms  {}",
            started.elapsed().as_millis(),
            describe(&outcome)
        )?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Checks that `outcomes` has one outcome for each of `devices`, and no other.
fn check_each_device_once(
    devices: &[DeviceId],
    outcomes: &[DeviceOutcome],
) -> Result<(), CliError> {
    let reported: HashSet<&DeviceId> = outcomes.iter().map(|o| &o.device).collect();
    check(
        outcomes.len() == devices.len()
            && reported.len() == devices.len()
            && devices.iter().all(|d| reported.contains(d)),
        || {
            format!(
                "one outcome for each of {} devices expected, got {}: {outcomes:?}",
                devices.len(),
                outcomes.len()
            )
        },
    )
}

/// One line for `outcome`: the device, then the operation for a success, or the fault for a
/// failure, and which delivery of its message it was.
fn describe(outcome: &DeviceOutcome) -> String {
    let what = match &outcome.outcome {
        Outcome::Success { response } => format!(
            "succeeded: {}",
            response
                .as_ref()
                .map_or_else(|| "no response".to_owned(), summary)
        ),
        Outcome::Failed { status, fault } => format!(
            "failed ({}): {}",
            safe(status),
            fault
                .as_ref()
                .map_or_else(|| "no fault given".to_owned(), safe)
        ),
        _ => "an outcome this demo does not know".to_owned(),
    };
    let delivery = outcome
        .callback_count
        .map_or_else(String::new, |n| format!(" (delivery {n})"));
    format!("{}  {what}{delivery}", safe(&outcome.device))
}

/// A success's response in a few words: the operation's name, and the MDN an activation
/// assigned or the state a device moved into.
fn summary(response: &Map<String, Value>) -> String {
    let Some((operation, body)) = response.iter().next() else {
        return "an empty response".to_owned();
    };
    let mdn = body["deviceIds"].as_array().and_then(|ids| {
        ids.iter()
            .find(|id| {
                id["kind"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case("msisdn"))
            })
            .and_then(|id| id["id"].as_str())
    });
    let detail = match (mdn, body["stateName"].as_str()) {
        (Some(mdn), _) => format!(", MDN {mdn}"),
        (None, Some(state)) => format!(", now in {state}"),
        (None, None) => String::new(),
    };
    safe(format!("{operation}{detail}"))
}

//! Steps on device actions as the service answers them: a listener registered (its password a
//! secret), three devices activated for a lead (its ZIP sent as `mdnZipCode`), and an
//! activation whose answer is lost not sent twice.

use thingspace::{
    m2m::{Activation, Listener, callbacks::services},
    mock::{Fault, Route},
};

use super::{
    ACCOUNT, Demo,
    checks::{check, expect_err},
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// Registers a `CarrierService` listener with credentials and lists it back: its password is
/// never shown.
pub(super) async fn register_a_listener(demo: &Demo) -> Result<(), CliError> {
    step("Register a callback listener: its password is a secret, even when listed back")?;
    let listener = Listener::new(
        services::CARRIER_SERVICE,
        "https://callbacks.example.com/in",
    )
    .with_credentials("demo-listener", "demo-listener-password");
    demo.m2m.callbacks().register(ACCOUNT, &listener).await?;
    let listed = demo.m2m.callbacks().list(ACCOUNT).await?;
    outln!("listed: {}", safe(format!("{listed:?}")))?;
    check(
        listed.len() == 1 && !format!("{listed:?}").contains("demo-listener-password"),
        || format!("one listener, its password hidden, expected: {listed:?}"),
    )
}

/// Activates three devices credited to a lead: the lead's ZIP is sent as `mdnZipCode`.
pub(super) async fn activate_for_a_lead(demo: &Demo) -> Result<(), CliError> {
    step("Activate three devices credited to a lead: the lead's ZIP becomes mdnZipCode")?;
    let server = &demo.server;
    server.set_lead_count(ACCOUNT, 30);
    let lead = server
        .leads(ACCOUNT)
        .get(12)
        .cloned()
        .ok_or_else(|| CliError::Demo("the mock has no 13th lead".into()))?;
    let lead_id = lead["leadId"].as_str().unwrap_or_default().to_owned();
    let activation = Activation::new("M2MPlan", "")
        .device("imei", "990013907835573")
        .device("imei", "990013907835574")
        .device("iccid", "89148000000800784259");
    let id = demo
        .m2m
        .devices()
        .activate_for_lead(ACCOUNT, &lead_id, activation)
        .await?;
    let sent = server.request_body(&id.request_id).unwrap_or_default();
    outln!(
        "request {} for lead {}: mdnZipCode {}",
        safe(&id.request_id),
        safe(&lead_id),
        safe(&sent["mdnZipCode"])
    )?;
    check(sent["mdnZipCode"] == lead["address"]["zip"], || {
        format!(
            "mdnZipCode {} expected, sent {}",
            lead["address"]["zip"], sent["mdnZipCode"]
        )
    })
}

/// An activation answered with a 503: sent once (it is not idempotent), and its error says
/// the outcome is unknown and how to find it out.
pub(super) async fn a_lost_activation_is_sent_once(demo: &Demo) -> Result<(), CliError> {
    step("An activation whose answer is lost (a 503) is sent once, and says how to find out")?;
    let server = &demo.server;
    server.reset_counts();
    server.inject(Route::Activate, Fault::Status(503));
    let lost = expect_err(
        demo.m2m
            .devices()
            .activate(&Activation::new("M2MPlan", "94203").device("imei", "990013907835575"))
            .await,
        "a lost activation answer",
    )?;
    outln!("error: {}", safe(&lost))?;
    check(
        lost.is_outcome_unknown() && server.count(Route::Activate) == 1,
        || format!("one attempt and an unknown outcome expected: {lost:?}"),
    )
}

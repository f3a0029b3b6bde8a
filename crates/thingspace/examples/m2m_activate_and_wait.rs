//! Activate devices and print each device's outcome as ThingSpace reports it:
//! `cargo run -p thingspace --example m2m_activate_and_wait --features mock,callbacks`.
//!
//! A callback listener receives ThingSpace's POSTs, and a tracker hands each device's outcome to
//! this program once, however often it is resent. Against the embedded mock unless credentials
//! are configured; with real credentials, set `CALLBACK_URL` to the public https URL of the proxy
//! that forwards to `LISTEN` (default 127.0.0.1:9001).

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use thingspace::{
    Client, DeviceId,
    callbacks::{Credentials, Listener, Outcome, Tracker},
    m2m::{Activation, Listener as Registration, M2m},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = "0000123456";
    let (config, mock) = common::load_or_mock().await?;
    let m2m = M2m::new(Client::thingspace(&config.thingspace()?)?);

    // The listener first: a device's result can arrive before the activation's answer.
    let (user, password) = ("example-callbacks", "example-callbacks-password");
    let tracker = Tracker::new();
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = Listener::builder(Credentials::new(user, password))
        .sink(tracker.clone())
        .build()
        .bind(listen.as_str())
        .await?;
    let url = match (&mock, std::env::var("CALLBACK_URL")) {
        (_, Ok(url)) => url,
        (Some(_), Err(_)) => format!("http://{}/carrier", listener.local_addr()),
        (None, Err(_)) => return Err("set CALLBACK_URL to the listener's public https URL".into()),
    };
    m2m.callbacks()
        .register(
            account,
            &Registration::new("CarrierService", url).with_credentials(user, password),
        )
        .await?;

    let devices = vec![
        DeviceId::new("imei", "990013907835573"),
        DeviceId::new("imei", "990013907835574"),
    ];
    let activation = devices
        .iter()
        .fold(Activation::new("M2MPlan", "94203"), |a, d| {
            a.device(d.kind.as_str(), d.id.as_str())
        })
        .account(account);
    let request = m2m.devices().activate(&activation).await?;
    println!("request {}", request.request_id);

    let mut outcomes = tracker
        .wait(request.request_id, devices)
        .timeout(Duration::from_secs(60));
    while let Some(outcome) = outcomes.next().await {
        let outcome = outcome?; // a timeout names the devices still pending
        match &outcome.outcome {
            Outcome::Success { .. } => println!("{}: activated", outcome.device),
            Outcome::Failed { status, fault } => {
                println!("{}: {status} {fault:?}", outcome.device);
            }
            _ => println!("{}: {:?}", outcome.device, outcome.outcome),
        }
    }
    listener.shutdown().await;
    m2m.client().end_session().await?;
    Ok(())
}

//! The demo's callback listener: a real [`Listener`] of `thingspace::callbacks` on 127.0.0.1,
//! feeding a [`Tracker`], registered with the mock through the SDK, and stopped with its
//! counters checked.

use std::time::Duration;

use thingspace::{
    callbacks::{Credentials, Listener, RunningListener, Tracker},
    m2m::{self, callbacks::services},
};

use super::{
    ACCOUNT, Demo,
    checks::check,
    print::{safe, step},
};
use crate::{error::CliError, output::outln};

/// The user name registered with the listener, which every callback must carry.
const USERNAME: &str = "demo-callbacks";

/// The password registered with the listener, which every callback must carry.
const PASSWORD: &str = "demo-callbacks-password";

/// How long the mock may take to finish delivering earlier requests' callbacks.
const SETTLE: Duration = Duration::from_secs(10);

/// The listener, the tracker it hands each callback to, and the address it receives on.
#[derive(Debug)]
pub(super) struct Receiver {
    /// The listener, serving until stopped.
    running: RunningListener,
    /// Awaits each device's outcome; the listener's only sink.
    pub(super) tracker: Tracker,
    /// `http://127.0.0.1:<port>`.
    base_url: String,
}

impl Receiver {
    /// Registers the listener with the mock, through the SDK, for `service` on the account, at
    /// `path` of its URL, with the credentials it checks. Returns the URL registered.
    ///
    /// # Errors
    /// The registration's.
    pub(super) async fn register(
        &self,
        demo: &Demo,
        service: &str,
        path: &str,
    ) -> Result<String, CliError> {
        let url = format!("{}{path}", self.base_url);
        let listener = m2m::Listener::new(service, &url).with_credentials(USERNAME, PASSWORD);
        demo.m2m.callbacks().register(ACCOUNT, &listener).await?;
        Ok(url)
    }

    /// Stops the listener, printing its counters, and checks them: every callback it kept was
    /// handed to a waiter once or dropped as a resend, and none was refused.
    ///
    /// # Errors
    /// [`CliError::Demo`] when a counter is off.
    pub(super) async fn stop(self) -> Result<(), CliError> {
        let listener = self.running.stats();
        let tracker = self.tracker.stats();
        self.running.shutdown().await;
        outln!(
            "listener stopped: {} callbacks kept, of which outcomes delivered: {}, resends dropped: {}; refused: {} for credentials, {} malformed, {} by a sink",
            listener.accepted,
            tracker.delivered,
            tracker.duplicates,
            listener.unauthorized,
            listener.malformed,
            listener.unavailable
        )?;
        check(
            listener.accepted == tracker.delivered + tracker.duplicates
                && tracker.unmatched == 0
                && tracker.held == 0
                && tracker.waiting == 0,
            || format!("callbacks kept but not accounted for: {listener:?}, {tracker:?}"),
        )?;
        check(
            listener.unauthorized + listener.malformed + listener.unavailable + listener.forbidden
                == 0,
            || format!("the listener refused callbacks: {listener:?}"),
        )
    }
}

/// Starts the listener on a free port of 127.0.0.1 with the tracker as its sink, registers its
/// URL for `CarrierService` through the SDK, and lists the account's listeners back.
///
/// # Errors
/// [`CliError::Listen`] when no port can be bound; the SDK's; [`CliError::Demo`] when the
/// listing does not show the URL, or shows the password.
pub(super) async fn start_a_listener(demo: &Demo) -> Result<Receiver, CliError> {
    step(
        "Receive the callbacks: a listener on 127.0.0.1 feeding a tracker, registered for CarrierService through the SDK",
    )?;
    let tracker = Tracker::new();
    let running = Listener::builder(Credentials::new(USERNAME, PASSWORD))
        .sink(tracker.clone())
        .build()
        .bind("127.0.0.1:0")
        .await
        .map_err(CliError::Listen)?;
    let receiver = Receiver {
        base_url: format!("http://{}", running.local_addr()),
        running,
        tracker,
    };
    outln!(
        "listening on {}; callbacks must carry the user {USERNAME} and its password",
        receiver.base_url
    )?;
    // The earlier activations' callbacks go to the URL registered before (nowhere): let the
    // mock finish them first, so that the tracker sees the workflow's callbacks only.
    let settled = demo.server.settle_callbacks(SETTLE).await;
    check(settled, || {
        format!("the mock was still delivering callbacks after {SETTLE:?}")
    })?;
    let url = receiver
        .register(demo, services::CARRIER_SERVICE, "/ts/carrier")
        .await?;
    let listed = demo.m2m.callbacks().list(ACCOUNT).await?;
    let carrier = listed
        .iter()
        .find(|l| l.service_name == services::CARRIER_SERVICE);
    outln!(
        "registered for {} at {url}; listed back as {}",
        services::CARRIER_SERVICE,
        carrier.map_or_else(|| "nothing".to_owned(), |l| safe(format!("{l:?}")))
    )?;
    check(
        carrier.and_then(|l| l.url.as_deref()) == Some(url.as_str()),
        || format!("{url} registered for CarrierService, but the account lists {listed:?}"),
    )?;
    check(!format!("{listed:?}").contains(PASSWORD), || {
        "the listed listeners show the password".to_owned()
    })?;
    Ok(receiver)
}

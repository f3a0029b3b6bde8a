//! `--wait --listen`: a listener started before the request is sent (results can arrive before
//! its answer), then each device's outcome printed as one NDJSON line as it arrives.

use std::{io::Write, net::SocketAddr, time::Duration};

use futures_util::StreamExt;
use thingspace::{
    DeviceId, LoadedConfig,
    callbacks::{Outcome, RunningListener, Tracker, WaitError},
    m2m::{M2m, RequestId},
};

use crate::{
    error::CliError,
    listen,
    output::{outln, print_json},
    report,
    safe_text::terminal_safe,
};

/// The `--wait`, `--listen` and `--timeout` flags of the device actions.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WaitArgs {
    /// Wait for each device's result and print it (one JSON object a line); needs --listen.
    /// Exits 0 only if every device succeeded (10 if some failed, 11 on --timeout).
    #[arg(long, requires = "listen")]
    pub(crate) wait: bool,
    /// Receive the callbacks on this address (ADDR:PORT), which the URL registered with
    /// `callbacks register` must reach. Credentials from the [callbacks] table.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Option<SocketAddr>,
    /// Stop waiting after this many seconds, listing the devices that did not report.
    #[arg(long, value_name = "SECONDS", requires = "wait")]
    pub(crate) timeout: Option<u64>,
}

/// A listener receiving callbacks for the command's request.
pub(crate) struct Receiver {
    running: RunningListener,
    tracker: Tracker,
    timeout: Option<Duration>,
}

impl WaitArgs {
    /// Starts the listener when `--wait` is given.
    pub(crate) async fn start(&self, loaded: &LoadedConfig) -> Result<Option<Receiver>, CliError> {
        let (true, Some(addr)) = (self.wait, self.listen) else {
            return Ok(None);
        };
        let tracker = Tracker::new();
        let running = listen::builder(loaded)?
            .sink(tracker.clone())
            .build()
            .bind(addr)
            .await
            .map_err(CliError::Listen)?;
        crate::logging::note(&format!(
            "listening for callbacks on http://{}",
            running.local_addr()
        ));
        Ok(Some(Receiver {
            running,
            tracker,
            timeout: self.timeout.map(Duration::from_secs),
        }))
    }
}

impl Receiver {
    /// The tracker the listener feeds.
    pub(crate) fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Stops the listener.
    pub(crate) async fn shutdown(self) {
        self.running.shutdown().await;
    }

    /// Prints each device's outcome of `request_id` as it arrives, and names each failed device
    /// on stderr.
    ///
    /// # Errors
    /// [`CliError::DevicesFailed`] when a device failed, [`CliError::Pending`] on the timeout,
    /// [`CliError::Interrupted`] on Ctrl-C.
    pub(crate) async fn print_outcomes(
        self,
        request_id: &str,
        devices: Vec<DeviceId>,
    ) -> Result<(), CliError> {
        let total = devices.len();
        let mut wait = self.tracker.wait(request_id, devices);
        if let Some(timeout) = self.timeout {
            wait = wait.timeout(timeout);
        }
        let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
        let bar = crate::progress::devices_bar(total as u64);
        let mut failed = 0;
        let ended = loop {
            let next = tokio::select! {
                biased;
                _ = &mut interrupt => break Err(CliError::Interrupted),
                next = wait.next() => next,
            };
            match next {
                None => break Ok(()),
                Some(Ok(outcome)) => {
                    bar.suspend(|| -> Result<(), CliError> {
                        let mut out = std::io::stdout().lock();
                        serde_json::to_writer(&mut out, &outcome)?;
                        writeln!(out)?;
                        out.flush()?;
                        Ok(())
                    })?;
                    bar.inc(1);
                    if let Outcome::Failed { status, fault } = &outcome.outcome {
                        failed += 1;
                        let why = fault
                            .as_ref()
                            .map_or_else(|| status.clone(), ToString::to_string);
                        bar.suspend(|| {
                            report(&format!(
                                "device {} failed: {}",
                                terminal_safe(&outcome.device.to_string()),
                                terminal_safe(&why)
                            ));
                        });
                    }
                }
                Some(Err(WaitError::TimedOut {
                    request_id,
                    pending,
                })) => {
                    break Err(CliError::Pending {
                        request_id,
                        pending,
                    });
                }
                Some(Err(other)) => break Err(CliError::Usage(other.to_string())),
            }
        };
        bar.finish_and_clear();
        self.running.shutdown().await;
        ended?;
        if failed > 0 {
            return Err(CliError::DevicesFailed { failed, total });
        }
        Ok(())
    }
}

/// What a device action prints: its request id, and with `--wait` (a `receiver`) one line
/// per device outcome, with the request's status when a single-device wait timed out.
///
/// # Errors
/// As [`Receiver::print_outcomes`], and the output's.
pub(crate) async fn print_request(
    receiver: Option<Receiver>,
    id: &RequestId,
    devices: Vec<DeviceId>,
    m2m: &M2m,
    account: &str,
) -> Result<(), CliError> {
    let Some(receiver) = receiver else {
        return print_json(id);
    };
    outln!("{}", serde_json::to_string(id)?)?;
    let waited = receiver.print_outcomes(&id.request_id, devices).await;
    with_status(waited, m2m, account).await
}

/// After a wait for a single-device request timed out, asks the service for the request's
/// status (reported for single-device requests only) and says it on stderr; the wait's result
/// stands either way.
pub(crate) async fn with_status(
    waited: Result<(), CliError>,
    m2m: &M2m,
    account: &str,
) -> Result<(), CliError> {
    if let Err(CliError::Pending {
        request_id,
        pending,
    }) = &waited
        && pending.len() == 1
    {
        match m2m.requests().status(account, request_id).await {
            Ok(status) => report(&format!(
                "the request's status, as the service reports it: {}",
                terminal_safe(&String::from(status.status))
            )),
            Err(e) => report(&format!("the request's status could not be read: {e}")),
        }
    }
    waited
}

//! `devices activate|state --devices-file`: a bulk job, journaled, with a progress bar.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use indicatif::ProgressBar;
use thingspace::{
    DeviceId,
    bulk::{BulkEvent, BulkJob, BulkReport, MAX_DEVICES_PER_REQUEST, Unawaited},
    callbacks::Outcome,
    m2m::M2m,
};

use crate::{error::CliError, safe_text::terminal_safe, wait::Receiver};

/// The flags of a bulk job, with `--devices-file`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BulkArgs {
    /// The journal of the job (default: the devices file's path with `.journal` added): a rerun
    /// of the same command after a crash sends nothing twice and awaits what is pending.
    #[arg(long, value_name = "FILE", requires = "devices_file")]
    pub(crate) journal: Option<PathBuf>,
    /// The kind of the devices file's lines that give an id alone.
    #[arg(
        long,
        value_name = "KIND",
        default_value = "imei",
        requires = "devices_file"
    )]
    pub(crate) kind: String,
    /// Devices per request, at most 10000 (a resumed job keeps its journal's).
    #[arg(
        long,
        value_name = "N",
        default_value_t = MAX_DEVICES_PER_REQUEST,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_DEVICES_PER_REQUEST as u64),
        requires = "devices_file"
    )]
    pub(crate) batch_size: usize,
}

impl BulkArgs {
    /// The devices of the `--device` flags, then of the devices file.
    pub(crate) fn devices(
        &self,
        flags: &[DeviceId],
        file: &Path,
    ) -> Result<Vec<DeviceId>, CliError> {
        let mut devices = flags.to_vec();
        devices.extend(thingspace::bulk::read_devices(file, &self.kind)?);
        Ok(devices)
    }

    /// The journal: `--journal`, or the devices file's path with `.journal` added.
    pub(crate) fn journal(&self, file: &Path) -> PathBuf {
        self.journal.clone().unwrap_or_else(|| {
            let mut name = file.as_os_str().to_owned();
            name.push(".journal");
            PathBuf::from(name)
        })
    }
}

/// Draws the job's progress on stderr (when it is a terminal) and prints its lines: on stdout
/// `{"batch","requestId","devices"}` for each request sent and one line per device outcome; on
/// stderr each failed device, each batch whose outcome is unknown (with all its devices) and
/// each batch whose wait ended early.
struct Display {
    bar: ProgressBar,
    /// The first stdout failure: the job goes on (its journal keeps everything), the error is
    /// reported at the end.
    output: Option<CliError>,
    /// Failed devices named in this run.
    failed_shown: usize,
}

impl Display {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), crate::progress::draw_target(false));
        if let Some(style) = crate::progress::style(
            "{bar:30} {pos}/{len} devices reported ({rate}, {elapsed}, {eta} left) {msg}",
        ) {
            bar.set_style(style);
        }
        Self {
            bar,
            output: None,
            failed_shown: 0,
        }
    }

    /// Writes `line` on stderr above the bar.
    fn note(&self, line: &str) {
        self.bar.suspend(|| crate::report(line));
    }

    /// Writes an informational `line` on stderr above the bar, unless `--quiet`.
    fn inform(&self, line: &str) {
        self.bar.suspend(|| crate::logging::note(line));
    }

    /// Writes `value` as one JSON line on stdout.
    fn print(&mut self, value: &impl serde::Serialize) {
        if self.output.is_some() {
            return;
        }
        let written = self.bar.suspend(|| -> Result<(), CliError> {
            let mut out = io::stdout().lock();
            serde_json::to_writer(&mut out, value)?;
            writeln!(out)?;
            out.flush()?;
            Ok(())
        });
        if let Err(e) = written {
            self.output = Some(e);
        }
    }

    fn show(&mut self, event: &BulkEvent<'_>, journal: &Path) {
        match event {
            BulkEvent::Started {
                devices,
                batches,
                reported,
                to_send,
            } => {
                self.bar.set_length(*devices as u64);
                self.bar.set_position(*reported as u64);
                if *reported > 0 || *to_send < *batches {
                    self.inform(&format!(
                        "resuming the job of {}: {reported} of {devices} devices reported, {to_send} of {batches} requests to send",
                        journal.display()
                    ));
                }
                self.bar.set_message(format!("{batches} requests"));
            }
            BulkEvent::Unknown { batch, devices } => {
                let names: Vec<String> = devices
                    .iter()
                    .map(|d| terminal_safe(&d.to_string()))
                    .collect();
                self.note(&format!(
                    "batch {batch}: the outcome is unknown (its request may have reached the service; it is not sent again); its {} devices: {}",
                    devices.len(),
                    names.join(" ")
                ));
            }
            BulkEvent::Sending { batch, devices } => {
                self.bar
                    .set_message(format!("sending batch {batch} ({devices} devices)"));
            }
            BulkEvent::Sent {
                batch,
                request_id,
                devices,
            } => {
                self.print(&serde_json::json!({"batch": batch, "requestId": request_id, "devices": devices}));
                self.bar.set_message(format!("batch {batch} sent"));
            }
            BulkEvent::NotSent { batch, error } => {
                self.note(&format!("batch {batch} was not sent: {error}"));
            }
            BulkEvent::Resumed {
                batch,
                request_id,
                pending,
            } => {
                self.inform(&format!(
                    "batch {batch}: awaiting the {pending} devices of request {} that had not reported",
                    terminal_safe(request_id)
                ));
            }
            BulkEvent::Outcome { outcome, .. } => {
                self.print(outcome);
                self.bar.inc(1);
                if let Outcome::Failed { status, fault } = &outcome.outcome {
                    self.failed_shown += 1;
                    let why = fault
                        .as_ref()
                        .map_or_else(|| status.clone(), ToString::to_string);
                    self.note(&format!(
                        "device {} failed: {}",
                        terminal_safe(&outcome.device.to_string()),
                        terminal_safe(&why)
                    ));
                }
            }
            BulkEvent::Unfinished(u) if u.reason != Unawaited::NotAwaited => {
                let names: Vec<String> = u
                    .pending
                    .iter()
                    .map(|d| terminal_safe(&d.to_string()))
                    .collect();
                self.note(&format!(
                    "batch {} (request {}): {} device(s) did not report ({}): {}",
                    u.batch,
                    terminal_safe(&u.request_id),
                    u.pending.len(),
                    terminal_safe(&u.reason.to_string()),
                    names.join(" ")
                ));
            }
            _ => {}
        }
    }
}

/// Runs `job`: with a `receiver` (`--wait`), every outcome awaited; without, the requests
/// sent and their ids printed.
///
/// # Errors
/// The job's [`thingspace::bulk::BulkError`]; then, in this order: [`CliError::BulkUnknown`]
/// when a batch's outcome is unknown (status 9), the error that stopped the sending,
/// [`CliError::BulkPending`] when devices did not report (11), [`CliError::DevicesFailed`]
/// when devices failed (10).
pub(crate) async fn run(
    job: BulkJob,
    receiver: Option<Receiver>,
    m2m: &M2m,
) -> Result<(), CliError> {
    let journal = job.journal_path().to_owned();
    let mut display = Display::new();
    let waited = receiver.is_some();
    let report = {
        let show = |event: &BulkEvent<'_>| display.show(event, &journal);
        let running = async {
            match &receiver {
                Some(receiver) => job.run(m2m, receiver.tracker(), show).await,
                None => job.send(m2m, show).await,
            }
        };
        let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
        tokio::select! {
            biased;
            _ = &mut interrupt => Err(CliError::Interrupted),
            report = running => report.map_err(CliError::from),
        }
    };
    display.bar.finish_and_clear();
    if let Some(receiver) = receiver {
        receiver.shutdown().await;
    }
    let report = report?;
    let earlier = report.failed.len().saturating_sub(display.failed_shown);
    if earlier > 0 {
        let names: Vec<String> = report.failed[..earlier]
            .iter()
            .map(|d| terminal_safe(&d.to_string()))
            .collect();
        crate::report(&format!(
            "{earlier} device(s) failed in an earlier run (the journal has their faults): {}",
            names.join(" ")
        ));
    }
    if let Some(e) = display.output {
        return Err(e);
    }
    outcome(report, waited, &journal)
}

/// The command's result for `report`.
fn outcome(report: BulkReport, waited: bool, journal: &Path) -> Result<(), CliError> {
    if !report.unknown.is_empty() {
        return Err(CliError::BulkUnknown {
            batches: report
                .unknown
                .iter()
                .map(|u| (u.batch, u.devices.len()))
                .collect(),
            journal: journal.to_owned(),
            how_to_check: report.unknown[0].how_to_check.clone(),
        });
    }
    if let Some(e) = report.stopped {
        return Err(CliError::Sdk(e));
    }
    let pending: usize = report
        .unfinished
        .iter()
        .filter(|u| waited || u.reason != Unawaited::NotAwaited)
        .map(|u| u.pending.len())
        .sum();
    if pending > 0 {
        return Err(CliError::BulkPending {
            pending,
            journal: journal.to_owned(),
        });
    }
    if !report.failed.is_empty() {
        return Err(CliError::DevicesFailed {
            failed: report.failed.len(),
            total: report.succeeded + report.failed.len(),
        });
    }
    Ok(())
}

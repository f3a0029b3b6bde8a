//! The journal: an append-only NDJSON file, synced to disk, of what a bulk job did.
//!
//! Its records, one JSON object a line, each with a `type`:
//! - `job` (the first line): what the job does (`action`, `account`, `service`, `state`,
//!   `plan`, `zip`, `lead`), its devices (`devices`, their count, and `devicesSha256`), the
//!   rest of the request (`requestSha256`) and `batchSize`;
//! - `intent`: batch `batch` (from 1) is about to be sent with these `devices`; written and
//!   synced before the request goes out;
//! - `sent`: the service answered batch `batch` with `requestId`;
//! - `notSent`: the service surely did not act on batch `batch` (refused, or never reached),
//!   with the `error`; a rerun sends it again;
//! - `outcome`: one device's outcome, as the CLI prints it (`requestId`, `kind`, `id`, `status`
//!   `success` or `failed`, …) and its `batch`.
//!
//! An `intent` with neither `sent` nor `notSent` after it is a batch whose request may have
//! reached the service: it is never sent again.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thingspace_core::DeviceId;

use crate::error::BulkError;

/// The journal format this crate writes and reads.
const VERSION: u32 = 1;

/// What a job is: the first line of its journal. Two runs are the same command when these
/// are equal (the batch size aside: a rerun keeps the journal's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Header {
    pub(crate) version: u32,
    pub(crate) action: String,
    pub(crate) account: String,
    pub(crate) service: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) plan: String,
    pub(crate) zip: String,
    pub(crate) lead: Option<String>,
    pub(crate) devices: usize,
    pub(crate) devices_sha256: String,
    pub(crate) request_sha256: String,
    pub(crate) batch_size: usize,
}

impl Header {
    pub(crate) fn new(
        action: &str,
        account: &str,
        devices: usize,
        devices_sha256: String,
        request_sha256: String,
        batch_size: usize,
    ) -> Self {
        Self {
            version: VERSION,
            action: action.to_owned(),
            account: account.to_owned(),
            service: None,
            state: None,
            plan: String::new(),
            zip: String::new(),
            lead: None,
            devices,
            devices_sha256,
            request_sha256,
            batch_size,
        }
    }

    /// The first difference between the journal's header (`self`) and the command's: what,
    /// the journal's value, the command's.
    pub(crate) fn difference(&self, command: &Header) -> Option<(&'static str, String, String)> {
        let text =
            |v: &Option<String>| v.as_deref().map_or("none".to_owned(), |v| format!("`{v}`"));
        let quoted = |v: &str| format!("`{v}`");
        let pairs = [
            ("action", quoted(&self.action), quoted(&command.action)),
            ("account", quoted(&self.account), quoted(&command.account)),
            ("service", text(&self.service), text(&command.service)),
            ("state", text(&self.state), text(&command.state)),
            ("lead", text(&self.lead), text(&command.lead)),
            ("plan", quoted(&self.plan), quoted(&command.plan)),
            ("ZIP code", quoted(&self.zip), quoted(&command.zip)),
            (
                "number of devices",
                self.devices.to_string(),
                command.devices.to_string(),
            ),
            (
                "devices (SHA-256 of the list)",
                self.devices_sha256.clone(),
                command.devices_sha256.clone(),
            ),
            (
                "request settings (SHA-256)",
                self.request_sha256.clone(),
                command.request_sha256.clone(),
            ),
        ];
        pairs.into_iter().find(|(_, a, b)| a != b)
    }
}

/// One line of the journal, as read back.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Line {
    Job(Header),
    Intent {
        batch: usize,
        devices: Vec<DeviceId>,
    },
    #[serde(rename_all = "camelCase")]
    Sent {
        batch: usize,
        request_id: String,
    },
    NotSent {
        batch: usize,
    },
    Outcome {
        batch: usize,
        kind: String,
        id: String,
        status: String,
    },
}

/// Where a batch stands in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Logged {
    /// Its intent was written; nothing after it: the service may have acted.
    Intent,
    /// The service answered with this request id.
    Sent(String),
    /// The service surely did not act: send it again.
    NotSent,
}

/// A batch as the journal tells it.
#[derive(Debug, Clone)]
pub(crate) struct BatchLog {
    /// The line of its (last) intent.
    pub(crate) line: usize,
    pub(crate) devices: Vec<DeviceId>,
    /// The same devices, to look them up.
    members: HashSet<DeviceId>,
    pub(crate) state: Logged,
    /// The devices that reported, and whether each succeeded.
    pub(crate) outcomes: HashMap<DeviceId, bool>,
}

/// An open journal, appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

/// What an existing journal holds.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    pub(crate) header: Option<Header>,
    /// By batch number (from 1).
    pub(crate) batches: BTreeMap<usize, BatchLog>,
}

impl Journal {
    /// Opens the journal at `path`, creating it if need be, and reads what it holds. A last
    /// line without its newline (torn by a crash mid-write) is cut off.
    pub(crate) fn open(path: &Path) -> Result<(Self, Replayed), BulkError> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| BulkError::io(path, e))?;
        if !existed {
            sync_dir(path);
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| BulkError::io(path, e))?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            tracing::warn!(
                journal = %path.display(),
                bytes = bytes.len() - whole,
                "the journal's last line was torn (a crash mid-write): cut off"
            );
            file.set_len(whole as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| BulkError::io(path, e))?;
            bytes.truncate(whole);
        }
        let replayed = replay(path, &bytes)?;
        Ok((
            Self {
                path: path.to_owned(),
                file,
            },
            replayed,
        ))
    }

    /// The journal's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line (not yet synced).
    pub(crate) fn write(&mut self, record: &Value) -> Result<(), BulkError> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| BulkError::io(&self.path, e.into()))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| BulkError::io(&self.path, e))
    }

    /// Makes what was written durable.
    pub(crate) fn sync(&mut self) -> Result<(), BulkError> {
        self.file
            .sync_data()
            .map_err(|e| BulkError::io(&self.path, e))
    }

    /// Appends `record` and makes it durable.
    pub(crate) fn commit(&mut self, record: &Value) -> Result<(), BulkError> {
        self.write(record)?;
        self.sync()
    }
}

/// Syncs the directory of a new file, so the file survives a crash (on Unix; elsewhere the
/// file system does).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
            tracing::warn!(error = %e, "could not sync the journal's directory");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads the whole lines of a journal.
fn replay(path: &Path, bytes: &[u8]) -> Result<Replayed, BulkError> {
    let bad = |line: usize, reason: String| BulkError::Malformed {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut replayed = Replayed::default();
    let Some(whole) = bytes.strip_suffix(b"\n") else {
        return Ok(replayed);
    };
    for (i, raw) in whole.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(bad(n, "not UTF-8 text".into()));
        };
        let line: Line = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
        match (line, &replayed.header) {
            (Line::Job(header), None) if n == 1 => {
                if header.version != VERSION {
                    return Err(bad(
                        n,
                        format!(
                            "journal version {} (this program reads {VERSION})",
                            header.version
                        ),
                    ));
                }
                replayed.header = Some(header);
            }
            (Line::Job(_), _) => return Err(bad(n, "a second `job` line".into())),
            (_, None) => return Err(bad(n, "the first line is not the `job` line".into())),
            (Line::Intent { batch, devices }, Some(_)) => {
                if batch == 0 || devices.is_empty() {
                    return Err(bad(
                        n,
                        "an intent needs a batch (from 1) and devices".into(),
                    ));
                }
                if let Some(earlier) = replayed.batches.get(&batch)
                    && earlier.state != Logged::NotSent
                {
                    return Err(bad(
                        n,
                        format!(
                            "batch {batch} is sent again, but its intent on line {} was not refused",
                            earlier.line
                        ),
                    ));
                }
                replayed.batches.insert(
                    batch,
                    BatchLog {
                        line: n,
                        members: devices.iter().cloned().collect(),
                        devices,
                        state: Logged::Intent,
                        outcomes: HashMap::new(),
                    },
                );
            }
            (Line::Sent { batch, request_id }, Some(_)) => {
                let log = intent_of(&mut replayed, batch).ok_or_else(|| {
                    bad(
                        n,
                        format!("batch {batch} is sent without an intent before it"),
                    )
                })?;
                if request_id.trim().is_empty() {
                    return Err(bad(n, "an empty request id".into()));
                }
                log.state = Logged::Sent(request_id);
            }
            (Line::NotSent { batch }, Some(_)) => {
                let log = intent_of(&mut replayed, batch).ok_or_else(|| {
                    bad(
                        n,
                        format!("batch {batch} is refused without an intent before it"),
                    )
                })?;
                log.state = Logged::NotSent;
            }
            (
                Line::Outcome {
                    batch,
                    kind,
                    id,
                    status,
                },
                Some(_),
            ) => {
                let success = match status.as_str() {
                    "success" => true,
                    "failed" => false,
                    other => {
                        return Err(bad(
                            n,
                            format!("the status `{other}` is neither success nor failed"),
                        ));
                    }
                };
                let device = DeviceId::new(kind, id);
                let log = replayed
                    .batches
                    .get_mut(&batch)
                    .filter(|l| matches!(l.state, Logged::Sent(_)))
                    .ok_or_else(|| {
                        bad(
                            n,
                            format!("an outcome of batch {batch}, which was not sent"),
                        )
                    })?;
                if !log.members.contains(&device) {
                    return Err(bad(n, format!("{device} is not a device of batch {batch}")));
                }
                log.outcomes.insert(device, success);
            }
        }
    }
    Ok(replayed)
}

/// The batch `batch` if its last record is its intent.
fn intent_of(replayed: &mut Replayed, batch: usize) -> Option<&mut BatchLog> {
    replayed
        .batches
        .get_mut(&batch)
        .filter(|l| l.state == Logged::Intent)
}

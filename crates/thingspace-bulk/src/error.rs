//! Why a bulk job could not start or go on.

use std::{fmt, io, path::PathBuf};

/// Why a bulk job could not start, or stopped: a devices file or a journal that cannot be used,
/// or a failure before anything was sent. Failures of single requests and devices are not
/// errors: the [`BulkReport`](crate::BulkReport) lists them.
#[derive(Debug)]
#[non_exhaustive]
pub enum BulkError {
    /// A line of the devices file is not a device (or repeats one).
    DevicesFile {
        /// The file (empty for a reader).
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The devices cannot be sent: none, a repeated one, one without an id or kind.
    Devices(String),
    /// The devices file or the journal could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A line of the journal is not a record this job wrote (never a torn last line: that one
    /// is cut off, as a crash mid-write leaves it).
    Malformed {
        /// The journal.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The journal was written by another command: another action, account, lead, state,
    /// plan, ZIP or devices. Nothing was sent.
    OtherCommand {
        /// The journal.
        path: PathBuf,
        /// What differs (`account`, `devices`, …).
        what: &'static str,
        /// Its value in the journal.
        journal: String,
        /// Its value in this command.
        command: String,
    },
    /// The SDK failed before any request of this run was sent (such as looking the lead up).
    Sdk(thingspace_core::Error),
}

impl BulkError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        BulkError::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BulkError::DevicesFile { path, line, reason } if path.as_os_str().is_empty() => {
                write!(f, "devices, line {line}: {reason}")
            }
            BulkError::DevicesFile { path, line, reason } => {
                write!(f, "{}, line {line}: {reason}", path.display())
            }
            BulkError::Devices(what) => f.write_str(what),
            BulkError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            BulkError::Malformed { path, line, reason } => write!(
                f,
                "the journal {}, line {line}, is not a record of this job: {reason}; nothing was sent",
                path.display()
            ),
            BulkError::OtherCommand {
                path,
                what,
                journal,
                command,
            } => write!(
                f,
                "the journal {} was written by another command (its {what} is {journal}, this \
                 command's is {command}); nothing was sent: give this command a journal of its \
                 own (--journal FILE), or run the command that wrote it",
                path.display()
            ),
            BulkError::Sdk(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BulkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BulkError::Io { source, .. } => Some(source),
            BulkError::Sdk(e) => Some(e),
            _ => None,
        }
    }
}

impl From<thingspace_core::Error> for BulkError {
    fn from(e: thingspace_core::Error) -> Self {
        BulkError::Sdk(e)
    }
}

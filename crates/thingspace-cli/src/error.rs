//! Why a command failed, and the exit status that says so (the table in the README).

use std::{fmt, io, path::PathBuf};

use thingspace::{DeviceId, Error, ErrorKind, bulk::BulkError};

use crate::safe_text::terminal_safe;

/// The exit status when the output could not be written or encoded.
pub(crate) const EXIT_OUTPUT: u8 = 8;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The SDK failed: configuration, credentials, the network, the service, a broken listing.
    Sdk(Error),
    /// The output could not be written or encoded, such as to a full disk.
    Output(io::Error),
    /// Whoever read the output stopped reading (`thingspace … | head`). Not a failure: the
    /// command stops quietly with status 0.
    Closed,
    /// The embedded mock server could not be started (`mock`, `demo`), such as when no port
    /// could be bound: not a configuration problem, so status 1.
    MockStart(io::Error),
    /// A check of the demo failed: the SDK did not do what it promises.
    Demo(String),
    /// The user interrupted the command (Ctrl-C): status 130, as a shell reports SIGINT.
    Interrupted,
    /// The command line asks for something that cannot be done (such as a devices file that
    /// cannot be read), found after clap parsed it: status 2, as clap's own errors.
    Usage(String),
    /// The callback listener could not be started (`--listen`, `callbacks listen`), such as
    /// when the address is in use: status 1.
    Listen(io::Error),
    /// Every device reported, and some failed (each was named on stderr): status 10.
    DevicesFailed {
        /// How many failed.
        failed: usize,
        /// How many reported.
        total: usize,
    },
    /// A bulk job could not start or go on: its devices file (status 2), a journal of another
    /// command (2), a journal that cannot be read or written (1), the SDK's error.
    Bulk(BulkError),
    /// Batches of a bulk job whose request may have reached the service without its answer
    /// reaching us (each named with its devices on stderr): status 9.
    BulkUnknown {
        /// Each batch and its number of devices.
        batches: Vec<(usize, usize)>,
        /// The job's journal.
        journal: PathBuf,
        /// How to find out what became of them.
        how_to_check: String,
    },
    /// Devices of a bulk job that did not report (named on stderr): status 11.
    BulkPending {
        /// How many.
        pending: usize,
        /// The job's journal.
        journal: PathBuf,
    },
    /// `--timeout` passed before these devices reported: status 11.
    Pending {
        /// The request.
        request_id: String,
        /// The devices that did not report.
        pending: Vec<DeviceId>,
    },
}

/// The most causes [`report_lines`] prints under an error.
pub(crate) const MAX_CAUSES: usize = 6;

/// The longest a printed cause may be, in characters.
const MAX_CAUSE_CHARS: usize = 300;

/// The longest the error's own line may be, in characters (the SDK bounds its errors well
/// below this: a body snippet is at most 512 bytes).
const MAX_ERROR_CHARS: usize = 2_000;

impl CliError {
    /// The exit status (documented in the README).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Sdk(err) => sdk_exit_code(err),
            CliError::Output(_) => EXIT_OUTPUT,
            CliError::Closed => 0,
            CliError::MockStart(_) | CliError::Demo(_) | CliError::Listen(_) => 1,
            CliError::DevicesFailed { .. } => 10,
            CliError::Pending { .. } | CliError::BulkPending { .. } => 11,
            CliError::BulkUnknown { .. } => 9,
            CliError::Bulk(BulkError::Sdk(err)) => sdk_exit_code(err),
            CliError::Bulk(
                BulkError::DevicesFile { .. }
                | BulkError::Devices(_)
                | BulkError::OtherCommand { .. },
            ) => 2,
            CliError::Bulk(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Interrupted => 130,
        }
    }
}

/// The exit status for an SDK error.
fn sdk_exit_code(err: &Error) -> u8 {
    match err.kind() {
        // First: a refused request whose outcome is unknown is also an auth error.
        ErrorKind::OutcomeUnknown => 9,
        ErrorKind::Config | ErrorKind::Insecure => 3,
        _ if err.is_auth() => 4,
        ErrorKind::Api | ErrorKind::InvalidInput | ErrorKind::Pagination => 5,
        ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Transport => 6,
        ErrorKind::Decode | ErrorKind::BodyTooLarge => 7,
        _ => 1,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Sdk(err) => err.fmt(f),
            CliError::Output(err) => write!(f, "could not write the output: {err}"),
            CliError::Closed => f.write_str("the output was closed"),
            CliError::MockStart(err) => write!(f, "could not start the mock server: {err}"),
            CliError::Demo(what) => write!(f, "demo check failed: {what}"),
            CliError::Usage(what) => f.write_str(what),
            CliError::Interrupted => f.write_str("interrupted"),
            CliError::Listen(err) => write!(f, "could not start the callback listener: {err}"),
            CliError::DevicesFailed { failed, total } => {
                write!(f, "{failed} of {total} devices failed (named above)")
            }
            CliError::Bulk(err) => err.fmt(f),
            CliError::BulkUnknown {
                batches,
                journal,
                how_to_check,
            } => {
                let listed: Vec<String> = batches
                    .iter()
                    .map(|(batch, n)| format!("batch {batch} ({n} devices)"))
                    .collect();
                write!(
                    f,
                    "the outcome of {} is unknown (named above, and in the journal {}): it is never sent again, as the service may have acted on it; {how_to_check}",
                    listed.join(", "),
                    journal.display()
                )
            }
            CliError::BulkPending { pending, journal } => write!(
                f,
                "{pending} device(s) did not report (named above); run the same command again to await them (the journal {} keeps their request ids)",
                journal.display()
            ),
            CliError::Pending {
                request_id,
                pending,
            } => {
                let names: Vec<String> = pending
                    .iter()
                    .map(|d| terminal_safe(&d.to_string()))
                    .collect();
                write!(
                    f,
                    "request {}: {} device(s) did not report in time: {}; their results may still arrive at the listener (`thingspace callbacks listen`), and a single-device request's status is `thingspace requests status <ACCOUNT> {}`",
                    terminal_safe(request_id),
                    pending.len(),
                    names.join(" "),
                    terminal_safe(request_id),
                )
            }
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Sdk(err) => Some(err),
            CliError::Bulk(err) => err.source(),
            CliError::Output(err) | CliError::MockStart(err) | CliError::Listen(err) => Some(err),
            CliError::Closed
            | CliError::Demo(_)
            | CliError::Usage(_)
            | CliError::Interrupted
            | CliError::DevicesFailed { .. }
            | CliError::BulkUnknown { .. }
            | CliError::BulkPending { .. }
            | CliError::Pending { .. } => None,
        }
    }
}

impl From<BulkError> for CliError {
    fn from(err: BulkError) -> Self {
        CliError::Bulk(err)
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        CliError::Sdk(err)
    }
}

/// A closed pipe is [`CliError::Closed`]; any other write error is [`CliError::Output`].
impl From<io::Error> for CliError {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            CliError::Closed
        } else {
            CliError::Output(err)
        }
    }
}

/// Encoding errors, and the write errors serde_json met on the way (a closed pipe among them).
impl From<serde_json::Error> for CliError {
    fn from(err: serde_json::Error) -> Self {
        io::Error::from(err).into()
    }
}

/// What is printed on stderr for `err`: `error: ` and the error on one line, then one
/// `  caused by: ` line for each cause in its `source()` chain (at most [`MAX_CAUSES`], each
/// on one line and cut to a bounded length). A cause whose text was already printed (many
/// errors repeat their source's message in their own) is left out: texts are compared whole,
/// before either is cut, so a long message is not taken for new because its cut copy differs.
///
/// The SDK's errors never hold a secret in their text, nor keep a source that might (a
/// configuration parser's message, a token response's body): so neither do these lines.
pub(crate) fn report_lines(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let first = flat(&err.to_string());
    let mut lines = vec![format!("error: {}", cut(&first, MAX_ERROR_CHARS))];
    let mut printed = vec![first];
    let mut cause = err.source();
    let mut depth = 0;
    while let Some(source) = cause {
        depth += 1;
        if depth > 32 {
            break;
        }
        let text = flat(&source.to_string());
        if !text.is_empty() && !printed.iter().any(|p| p.contains(&text)) {
            if lines.len() > MAX_CAUSES {
                lines.push("  caused by: …".to_owned());
                break;
            }
            lines.push(format!("  caused by: {}", cut(&text, MAX_CAUSE_CHARS)));
            printed.push(text);
        }
        cause = source.source();
    }
    lines
}

/// `text` on one line: line breaks and other control characters become spaces; what else a
/// terminal would act on (bidirectional overrides, from the service's messages an error
/// quotes) is written as a visible escape.
fn flat(text: &str) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    terminal_safe(&flat)
}

/// `text` cut to `limit` characters, the last of them `…` when cut.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() > limit {
        let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_failures_have_their_own_status_and_a_closed_pipe_is_none() {
        let closed = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(closed, CliError::Closed));
        assert_eq!(closed.exit_code(), 0);
        let full = CliError::from(io::Error::other("no space left on device"));
        assert_eq!(full.exit_code(), EXIT_OUTPUT);
        assert!(full.to_string().starts_with("could not write the output"));
        let network = CliError::from(Error::new(ErrorKind::Transport, "reset"));
        assert_eq!(network.exit_code(), 6);
        let paging = CliError::from(Error::new(ErrorKind::Pagination, "repeated cursor"));
        assert_eq!(paging.exit_code(), 5);
        // Each documented status, one by one.
        for (kind, code) in [
            (ErrorKind::Config, 3),
            (ErrorKind::Insecure, 3),
            (ErrorKind::Auth, 4),
            (ErrorKind::Api, 5),
            (ErrorKind::InvalidInput, 5),
            (ErrorKind::Connect, 6),
            (ErrorKind::Timeout, 6),
            (ErrorKind::Decode, 7),
            (ErrorKind::BodyTooLarge, 7),
            (ErrorKind::OutcomeUnknown, 9),
        ] {
            assert_eq!(
                CliError::from(Error::new(kind, "x")).exit_code(),
                code,
                "{kind:?}"
            );
        }
        assert_eq!(CliError::Interrupted.exit_code(), 130);
    }

    #[test]
    fn a_mock_that_cannot_start_says_why_and_is_not_a_configuration_error() {
        let err = CliError::MockStart(io::Error::new(
            io::ErrorKind::AddrInUse,
            "address already in use",
        ));
        assert_eq!(err.exit_code(), 1);
        let lines = report_lines(&err);
        assert_eq!(
            lines,
            ["error: could not start the mock server: address already in use"]
        );
        assert_eq!(CliError::Demo("x".into()).exit_code(), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::Listen(io::Error::other("in use")).exit_code(), 1);
        let failed = CliError::DevicesFailed {
            failed: 1,
            total: 3,
        };
        assert_eq!(failed.exit_code(), 10);
        let pending = CliError::Pending {
            request_id: "r\u{1b}[2J".into(),
            pending: vec![
                DeviceId::new("imei", "1"),
                DeviceId::new("IMEI", "2\u{1b}]0;x"),
            ],
        };
        assert_eq!(pending.exit_code(), 11);
        let text = pending.to_string();
        assert!(
            text.contains("imei=1 imei=2") && !text.contains('\u{1b}'),
            "{text}"
        );
        let unknown = Error::outcome_unknown(
            Error::new(ErrorKind::Timeout, "timed out"),
            "wait for the callbacks",
        );
        assert_eq!(CliError::from(unknown).exit_code(), 9);
    }

    #[test]
    fn causes_are_printed_one_per_line_without_repeats_and_bounded() {
        // The SDK's error names its cause, whose own cause it does not.
        let inner = io::Error::new(io::ErrorKind::ConnectionRefused, "connection\nrefused");
        let middle = Error::new(ErrorKind::Connect, "could not connect").with_source(inner);
        let err = CliError::from(
            Error::new(ErrorKind::Connect, "m2m.accounts.get: could not connect")
                .with_source(middle),
        );
        let lines = report_lines(&err);
        assert_eq!(
            lines,
            [
                "error: m2m.accounts.get: could not connect",
                "  caused by: connection refused",
            ],
            "the repeated message is left out, the line break flattened"
        );

        #[derive(Debug)]
        struct Chain(u32, Option<Box<Chain>>);
        impl fmt::Display for Chain {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "level {} {}", self.0, "x".repeat(1_000))
            }
        }
        impl std::error::Error for Chain {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|c| c as _)
            }
        }
        let chain = (1..20)
            .rev()
            .fold(None, |next, n| Some(Box::new(Chain(n, next))));
        let lines = report_lines(chain.as_deref().expect("a chain"));
        assert_eq!(lines.len(), 1 + MAX_CAUSES + 1, "{lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("  caused by: …"));
        assert!(lines[1].starts_with("  caused by: level 2 x"));
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.chars().count() <= MAX_CAUSE_CHARS + 13)
        );
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }

    #[test]
    fn server_text_in_an_error_cannot_drive_the_terminal() {
        let inner = Error::new(
            ErrorKind::Api,
            "task failed: Error: \u{202e}gnp.exe\u{1b}[2J",
        );
        let err = CliError::from(Error::new(ErrorKind::Api, "failed").with_source(inner));
        let lines = report_lines(&err);
        assert_eq!(
            lines[1], "  caused by: task failed: Error: \\u{202e}gnp.exe [2J",
            "{lines:?}"
        );
    }

    #[test]
    fn a_long_error_is_not_printed_again_as_its_own_cause() {
        for len in [MAX_CAUSE_CHARS + 1, 1_000, MAX_ERROR_CHARS + 500] {
            let message = format!("the service said {}", "no ".repeat(len / 3));
            let inner = Error::new(ErrorKind::Api, message.clone());
            let err = CliError::from(
                Error::new(ErrorKind::Api, format!("m2m.leads.list: {message}")).with_source(inner),
            );
            let lines = report_lines(&err);
            assert_eq!(lines.len(), 1, "{len}: {lines:?}");
        }
        // A long cause that says something new is still printed, cut.
        let inner = Error::new(ErrorKind::Api, "y".repeat(1_000));
        let err = CliError::from(Error::new(ErrorKind::Api, "failed").with_source(inner));
        let lines = report_lines(&err);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].ends_with('…'), "{lines:?}");
    }
}

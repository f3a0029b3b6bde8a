//! Why a command failed, and the exit status that says so (the table in the README).

use std::{fmt, io};

use thingspace::{Error, ErrorKind};

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
}

impl CliError {
    /// The exit status (documented in the README).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Sdk(err) => sdk_exit_code(err),
            CliError::Output(_) => EXIT_OUTPUT,
            CliError::Closed => 0,
        }
    }
}

/// The exit status for an SDK error.
fn sdk_exit_code(err: &Error) -> u8 {
    match err.kind() {
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
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Sdk(err) => Some(err),
            CliError::Output(err) => Some(err),
            CliError::Closed => None,
        }
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
    }
}

//! How the demo prints: step headings, and text from the server made safe for a terminal
//! before it is shown.

use std::fmt::Display;

use serde::Serialize;

use crate::{error::CliError, output::outln, safe_text::terminal_safe};

/// Prints the heading of a step.
pub(super) fn step(title: &str) -> Result<(), CliError> {
    outln!("\n== {title}")
}

/// `value` as a terminal may show it: every piece of text from the server (names, ids,
/// errors, which quote the service's messages) goes through this before it is printed.
pub(super) fn safe(value: impl Display) -> String {
    terminal_safe(&value.to_string())
}

/// Prints `value` as indented JSON, each line made safe for a terminal (JSON escapes control
/// characters, but not bidirectional overrides).
pub(super) fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)?;
    for line in text.lines() {
        outln!("{}", terminal_safe(line))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        assert_eq!(safe("0000123456"), "0000123456");
        assert_eq!(safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(safe("x\u{202e}y"), "x\\u{202e}y");
    }
}

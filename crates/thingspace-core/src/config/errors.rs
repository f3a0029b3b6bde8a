//! Configuration errors: figment's, told without quoting a value.

use crate::error::Error;

impl From<figment::Error> for Error {
    /// Names each failing key and the layer it came from, never the value: a parser's message
    /// quotes the offending line, which may be `password = hunter2` with its quotes missing.
    /// The figment error is not kept as the source, for the same reason.
    fn from(err: figment::Error) -> Self {
        table_error(err, None)
    }
}

/// The error of extracting `table` (a family's, such as `oc`), or the top level for `None`:
/// figment names a table's keys last (`base_url.oc`); they are named as written here
/// (`oc.base_url`).
pub(crate) fn table_error(err: figment::Error, table: Option<&str>) -> Error {
    let problems: Vec<String> = err
        .into_iter()
        .map(|mut e| {
            if let Some(table) = table
                && e.path.len() > 1
                && e.path.last().map(String::as_str) == Some(table)
            {
                e.path.pop();
                e.path.insert(0, table.to_owned());
            }
            describe_config_error(&e)
        })
        .collect();
    Error::config(format!("invalid configuration: {}", problems.join("; ")))
}

/// `message` without the text it quotes: a parser's message quotes the value it refused, and a
/// URL that does not parse may hold a user name and password.
fn without_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '"' => quoted = !quoted,
            _ if !quoted => out.push(c),
            _ => {}
        }
    }
    out.trim().trim_end_matches(':').trim_end().to_owned()
}

/// A parser's message told without the source it quotes: its first line ("… at line L, column
/// C") and its reason ("duplicate key", "invalid string"), each reason without what it quotes.
///
/// toml's message is that first line, the offending source line drawn between `|` gutters (it
/// may be `password = hunter2`), then the reason, which may quote a key or a character.
fn parse_error(message: &str) -> String {
    let mut lines = message.lines();
    let location = lines.next().unwrap_or("unreadable").trim().to_owned();
    let reasons: Vec<String> = lines
        .filter(|line| !is_source_excerpt(line))
        .map(reason_without_quotes)
        .filter(|reason| !reason.is_empty() && reason != "expected")
        .collect();
    if reasons.is_empty() {
        location
    } else {
        format!("{location}: {}", reasons.join(", "))
    }
}

/// Whether `line` belongs to the excerpt of the source a parser draws: `  |`, `2 | a = 2`,
/// `  | ^`.
fn is_source_excerpt(line: &str) -> bool {
    line.trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start()
        .starts_with('|')
}

/// A reason's words without anything between backticks or double quotes, and without the
/// punctuation left dangling: "duplicate key `a` in document root" is "duplicate key in
/// document root"; "expected newline, `#`" is "expected newline".
fn reason_without_quotes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '`' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, _) => out.push(c),
            (Some(_), _) => {}
        }
    }
    let words: Vec<&str> = out
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect();
    words.join(" ").trim_end_matches([',', ':', ';']).to_owned()
}

/// Key names whose values are never quoted in an error.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "password", "token", "key"]
        .iter()
        .any(|s| key.contains(s))
}

fn describe_config_error(e: &figment::Error) -> String {
    use figment::error::Kind;
    // `Actual`'s Display is "<type> <value>": keep the type only.
    fn type_of(actual: &figment::error::Actual) -> String {
        let text = actual.to_string();
        match text.split_once(' ') {
            Some((kind, _)) if !kind.is_empty() => kind.to_owned(),
            _ => text,
        }
    }
    let key = e.path.join(".");
    let what = match &e.kind {
        Kind::Message(message) if key.is_empty() => parse_error(message),
        Kind::Message(_) if is_secret_key(&key) => "a malformed value".to_owned(),
        Kind::Message(message) => without_quotes(message),
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", type_of(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found another {}", type_of(actual))
        }
        Kind::Unsupported(actual) => format!("unsupported {}", type_of(actual)),
        Kind::UnsupportedKey(actual, _) => format!("unsupported key type {}", type_of(actual)),
        other => other.to_string(),
    };
    let mut text = if key.is_empty() {
        what
    } else {
        format!("`{key}`: {what}")
    };
    if let Some(metadata) = &e.metadata {
        match &metadata.source {
            Some(source) => text.push_str(&format!(" (in {} {source})", metadata.name)),
            None => text.push_str(&format!(" (in {})", metadata.name)),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_dropped() {
        assert_eq!(
            without_quotes(r#"invalid port number: "https://u:pw@h:99999/api""#),
            "invalid port number"
        );
        assert_eq!(without_quotes("expected a number"), "expected a number");
    }

    #[test]
    fn a_parse_error_keeps_its_location_and_reason_only() {
        assert_eq!(
            parse_error(
                "TOML parse error at line 2, column 1\n  |\n2 | a = 2\n  | ^\nduplicate key `a` in document root\n"
            ),
            "TOML parse error at line 2, column 1: duplicate key in document root"
        );
        assert_eq!(
            parse_error(
                "TOML parse error at line 1, column 12\n  |\n1 | password = hunter2\n  |            ^\ninvalid string\nexpected `\"`, `'`\n"
            ),
            "TOML parse error at line 1, column 12: invalid string"
        );
        assert_eq!(
            parse_error("at line 1, column 7\n1 | k = 1 2\nexpected newline, `#`"),
            "at line 1, column 7: expected newline"
        );
        assert_eq!(parse_error(""), "unreadable");
    }
}

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
        // A parse error quotes the source line: keep its first line, "… at line L, column C",
        // only.
        Kind::Message(message) if key.is_empty() => {
            message.lines().next().unwrap_or("unreadable").to_owned()
        }
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
}

//! `thingspace config show`: the effective settings, where each came from, secrets masked.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::Value;
use thingspace::{Config, LoadedConfig};

use crate::{error::CliError, output::print_json, safe_text::terminal_safe};

/// How `config show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ShowFormat {
    /// Aligned columns: key, value, source.
    Table,
    /// One JSON array of `{"key", "value", "source"}`.
    Json,
}

/// The flags that set a setting in the code layer, by key.
pub(crate) const FLAGS: &[(&str, &str)] = &[
    ("base_url", "--base-url"),
    ("token_url", "--token-url"),
    ("client_id", "--client-id"),
    ("username", "--username"),
    ("timeout_secs", "--timeout-secs"),
    ("retry.max_attempts", "--max-attempts"),
];

/// What a masked secret shows.
const MASK: &str = "***";

/// One setting: its dotted key, its value (secrets masked) and where it came from.
#[derive(Debug, Serialize)]
struct Setting {
    key: String,
    value: Value,
    source: String,
}

/// Prints the settings of `loaded` in `format`; `user_file` is the user-level file, named as
/// such in the sources. The settings the SDK derives or defaults without a layer saying so
/// (`token_url`, `max_body_bytes`, `[retry]`) are shown with the source `default`.
///
/// # Errors
/// The output's; then, once everything that could be read was printed, the configuration's
/// own error (such as a malformed value), so that a bad configuration still exits 3.
pub(crate) fn run(
    loaded: &LoadedConfig,
    user_file: Option<&Path>,
    format: ShowFormat,
) -> Result<(), CliError> {
    let merged: Value = loaded.extract().unwrap_or(Value::Null);
    let mut leaves = Vec::new();
    flatten("", &merged, &mut leaves);
    let mut settings: Vec<Setting> = leaves
        .into_iter()
        .map(|(key, value)| {
            let source = loaded.origin(&key).map_or_else(
                || "unknown".to_owned(),
                |o| source(&o.layer, o.file.as_deref(), &key, user_file),
            );
            Setting {
                value: mask(&key, value),
                key,
                source,
            }
        })
        .collect();
    let checked = loaded.thingspace();
    if let Ok(config) = &checked {
        for (key, value) in derived(config) {
            if !settings.iter().any(|s| s.key == key) {
                settings.push(Setting {
                    key: key.to_owned(),
                    value,
                    source: "default".to_owned(),
                });
            }
        }
    }
    settings.sort_by(|a, b| order(&a.key).cmp(&order(&b.key)));
    match format {
        ShowFormat::Json => print_json(&settings)?,
        ShowFormat::Table => print_table(&settings)?,
    }
    checked.map(|_| ()).map_err(CliError::from)
}

/// Sorts top-level keys first, then tables, each by name.
fn order(key: &str) -> (usize, &str) {
    (key.matches('.').count().min(1), key)
}

/// The settings the SDK uses without a layer giving them.
fn derived(config: &Config) -> Vec<(&'static str, Value)> {
    let mut derived = Vec::new();
    if let Ok(url) = config.token_url() {
        derived.push(("token_url", Value::from(url.as_str())));
    }
    let retry = &config.retry;
    derived.extend([
        ("max_body_bytes", Value::from(config.max_body_bytes)),
        ("retry.max_attempts", Value::from(retry.max_attempts)),
        (
            "retry.initial_backoff_ms",
            Value::from(retry.initial_backoff_ms),
        ),
        ("retry.max_backoff_ms", Value::from(retry.max_backoff_ms)),
        ("retry.deadline_secs", Value::from(retry.deadline_secs)),
    ]);
    derived
}

/// The leaves of `value`, with their dotted keys.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, inner, out);
            }
        }
        Value::Null if prefix.is_empty() => {}
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

/// Where the setting `key` came from: the layer figment recorded (`name`, and the `file` it
/// read, if one).
fn source(name: &str, file: Option<&Path>, key: &str, user_file: Option<&Path>) -> String {
    if name == "defaults" {
        return "default".to_owned();
    }
    if name.starts_with("environment") {
        return format!(
            "environment THINGSPACE_{}",
            key.to_ascii_uppercase().replace('.', "__")
        );
    }
    if name == "code" {
        return match FLAGS.iter().find(|(k, _)| *k == key) {
            Some((_, flag)) => format!("flag {flag}"),
            None => "flag".to_owned(),
        };
    }
    match file {
        Some(path) if user_file.is_some_and(|u| same_file(u, path)) => {
            format!("user file {}", path.display())
        }
        Some(path) => format!("file {}", path.display()),
        None => name.to_owned(),
    }
}

/// Whether `a` and `b` name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    canonical(a) == canonical(b)
}

/// `value` with its secret masked: a password or secret (`client_secret`, `password`,
/// `profiles.<name>.password`, `[callbacks] password`, `[oc] client_secret`, any key naming
/// a password, a secret or a token other than a URL), and the password of a URL (`[redis]
/// url`'s `redis://:PASSWORD@host`).
fn mask(key: &str, value: Value) -> Value {
    let last = key.rsplit('.').next().unwrap_or(key);
    let secret = ["password", "secret", "token", "key"]
        .iter()
        .any(|word| last.contains(word))
        && !last.ends_with("url");
    if secret {
        return match value {
            Value::Null => Value::Null,
            _ => Value::from(MASK),
        };
    }
    match value {
        Value::String(text) => Value::String(mask_url_password(&text)),
        other => other,
    }
}

/// `text` with the password of its URL's user information replaced by `***`, when it has
/// one; any other text as it is.
fn mask_url_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &text[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_owned();
    };
    let userinfo = &rest[..at];
    let shown = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{MASK}"),
        // A user alone may be a token (`redis://TOKEN@host`): masked too.
        None if !userinfo.is_empty() => MASK.to_owned(),
        None => String::new(),
    };
    format!("{}{shown}{}", &text[..rest_start], &rest[at..])
}

/// The settings as aligned columns.
fn print_table(settings: &[Setting]) -> Result<(), CliError> {
    let rows: Vec<[String; 3]> = settings
        .iter()
        .map(|s| {
            let value = match &s.value {
                Value::String(text) => format!("{text:?}"),
                other => other.to_string(),
            };
            [
                terminal_safe(&s.key),
                terminal_safe(&value),
                terminal_safe(&s.source),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([6])
            .max()
            .unwrap_or(0)
    };
    let (key_width, value_width) = (width(0), width(1));
    let mut out = io::BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "{:key_width$}  {:value_width$}  SOURCE",
        "KEY", "VALUE"
    )?;
    for [key, value, source] in &rows {
        writeln!(out, "{key:key_width$}  {value:value_width$}  {source}")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_url_passwords_are_masked() {
        for key in [
            "client_secret",
            "password",
            "profiles.ops.password",
            "callbacks.password",
            "oc.client_secret",
        ] {
            assert_eq!(
                mask(key, Value::from("hunter2")),
                Value::from(MASK),
                "{key}"
            );
        }
        assert_eq!(
            mask("redis.url", Value::from("rediss://me:hunter2@cache:6380/0")),
            Value::from("rediss://me:***@cache:6380/0")
        );
        assert_eq!(
            mask("redis.url", Value::from("redis://:hunter2@cache")),
            Value::from("redis://:***@cache")
        );
        assert_eq!(
            mask("redis.url", Value::from("redis://tok@cache/x@y")),
            Value::from("redis://***@cache/x@y")
        );
        assert_eq!(
            mask("token_url", Value::from("https://a.example/t?x=@")),
            Value::from("https://a.example/t?x=@")
        );
        assert_eq!(mask("retry.max_attempts", Value::from(3)), Value::from(3));
    }
}

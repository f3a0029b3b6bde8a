//! What the command writes on stderr besides errors: the log (`-v`: one line per request),
//! colours (`--color`, `NO_COLOR`), and informational lines that `--quiet` silences.

use std::{
    fmt::Write as _,
    io::{self, IsTerminal, Write},
    sync::atomic::{AtomicBool, Ordering},
};

use tracing::{
    Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{
    Layer, fmt::time::FormatTime, layer::Context, prelude::*, registry::LookupSpan,
};

/// `--color`: whether stderr gets colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colours when stderr is a terminal and `NO_COLOR` is not set (to anything but nothing).
    #[default]
    Auto,
    /// Colours, even into a file or a pipe, and whatever `NO_COLOR` says.
    Always,
    /// No colours.
    Never,
}

impl ColorChoice {
    /// Whether stderr gets colours: `always` and `never` say so; `auto` when stderr is a terminal
    /// and `NO_COLOR` is unset or empty (<https://no-color.org>: a flag overrides it).
    pub(crate) fn enabled(self) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        colours(self, no_color, io::stderr().is_terminal())
    }

    /// The same choice, for clap's help and usage errors.
    pub(crate) fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorChoice::Auto => clap::ColorChoice::Auto,
            ColorChoice::Always => clap::ColorChoice::Always,
            ColorChoice::Never => clap::ColorChoice::Never,
        }
    }

    /// The `--color` of `args` (the last one given), before clap parses them, so that clap's
    /// own help and errors follow it; `auto` when there is none or it is not a choice (clap then
    /// refuses it).
    pub(crate) fn from_args(args: &[std::ffi::OsString]) -> Self {
        let mut choice = ColorChoice::Auto;
        let mut words = args.iter().skip(1).map(|a| a.to_str().unwrap_or_default());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = match word.strip_prefix("--color") {
                Some("") => words.next().unwrap_or_default(),
                Some(rest) => match rest.strip_prefix('=') {
                    Some(value) => value,
                    None => continue,
                },
                None => continue,
            };
            if let Ok(parsed) = <Self as clap::ValueEnum>::from_str(value, false) {
                choice = parsed;
            }
        }
        choice
    }
}

/// Whether colours are used, for `choice`, `NO_COLOR` set and stderr a terminal.
fn colours(choice: ColorChoice, no_color: bool, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color,
    }
}

/// `--quiet`: no progress and no informational lines on stderr.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the whole command.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Writes an informational line on stderr (what the command is doing, not what went wrong),
/// unless `--quiet`. Never panics.
pub(crate) fn note(text: &str) {
    if !quiet() {
        crate::report(text);
    }
}

/// Starts the log on stderr. Each request the SDK sends is an INFO span
/// (`thingspace.operation`: operation, method, path template, status, attempts, latency),
/// each attempt a DEBUG span inside it; the token request and the login are operations of
/// their own. When a span closes, [`RequestLines`] writes one line with that span's own fields
/// (not its parents', not the OpenTelemetry copies of them): so `-v` gives one line per
/// request, `-vv` adds the attempts, the retries and the SDK's debug events, `-vvv`
/// everything. Span fields never hold a secret. `--quiet` logs errors only.
pub(crate) fn init(verbose: u8, quiet: bool, ansi: bool) {
    // `thingspace` matches every crate whose name starts with it: the core and the families.
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,thingspace=info",
        (false, 2) => "warn,thingspace=debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let events = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(io::stderr);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(events)
        .with(RequestLines { ansi });
    // Only fails when a subscriber is already set, which nothing else here does.
    let _ = tracing::subscriber::set_global_default(registry);
}

/// The spans that get a line when they close.
const REQUEST_SPANS: &[&str] = &["thingspace.operation", "thingspace.attempt"];

/// A request span's fields, each once, in the order the span declares them; values recorded
/// later replace earlier ones, fields never recorded are left out. OpenTelemetry's copies
/// (`http.*`, `url.*`, `server.*`, `otel.*`) are left out too: they repeat the SDK's own.
#[derive(Debug)]
struct Fields(Vec<(&'static str, Option<String>)>);

impl Fields {
    /// The fields `metadata` declares, without values yet.
    fn declared(metadata: &tracing::Metadata<'_>) -> Self {
        Self(
            metadata
                .fields()
                .iter()
                .map(|f| f.name())
                .filter(|name| !name.contains('.') || *name == "error.type")
                .map(|name| (name, None))
                .collect(),
        )
    }

    fn set(&mut self, field: &Field, value: String) {
        if let Some((_, old)) = self.0.iter_mut().find(|(n, _)| *n == field.name()) {
            *old = Some(value);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, format!("{value:?}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

/// Writes one line on stderr when a request span closes:
/// `<time>  INFO thingspace_core::pipeline: thingspace.operation{operation="m2m.accounts.get"
/// method=GET path="/m2m/v1/accounts/{accountname}" … status=200 attempts=1 latency_ms=9}: close`.
struct RequestLines {
    ansi: bool,
}

impl<S> Layer<S> for RequestLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !REQUEST_SPANS.contains(&attrs.metadata().name()) {
            return;
        }
        if let Some(span) = ctx.span(id) {
            let mut fields = Fields::declared(attrs.metadata());
            attrs.record(&mut fields);
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let extensions = span.extensions();
        let Some(fields) = extensions.get::<Fields>() else {
            return;
        };
        let meta = span.metadata();
        let mut line = String::new();
        // The event lines' clock and format.
        let _ = tracing_subscriber::fmt::time::SystemTime
            .format_time(&mut tracing_subscriber::fmt::format::Writer::new(&mut line));
        line.push(' ');
        let level = format!("{:>5}", meta.level());
        if self.ansi {
            let colour = match *meta.level() {
                tracing::Level::ERROR => "31",
                tracing::Level::WARN => "33",
                tracing::Level::INFO => "32",
                tracing::Level::DEBUG => "34",
                tracing::Level::TRACE => "35",
            };
            let _ = write!(line, "\x1b[{colour}m{level}\x1b[0m ");
        } else {
            let _ = write!(line, "{level} ");
        }
        let shown: Vec<String> = fields
            .0
            .iter()
            .filter_map(|(n, v)| Some(format!("{n}={}", v.as_ref()?)))
            .collect();
        let _ = write!(
            line,
            "{}: {}{{{}}}: close",
            meta.target(),
            meta.name(),
            shown.join(" ")
        );
        let _ = writeln!(io::stderr().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_overrides_no_color_and_auto_needs_a_terminal() {
        assert!(colours(ColorChoice::Always, true, false));
        assert!(!colours(ColorChoice::Never, false, true));
        assert!(colours(ColorChoice::Auto, false, true));
        assert!(!colours(ColorChoice::Auto, true, true), "NO_COLOR");
        assert!(!colours(ColorChoice::Auto, false, false), "not a terminal");
    }

    #[test]
    fn the_color_flag_is_found_before_parsing() {
        let args =
            |words: &[&str]| -> Vec<std::ffi::OsString> { words.iter().map(Into::into).collect() };
        assert_eq!(
            ColorChoice::from_args(&args(&["ts", "--color", "never", "x"])),
            ColorChoice::Never
        );
        assert_eq!(
            ColorChoice::from_args(&args(&["ts", "--color=always"])),
            ColorChoice::Always
        );
        assert_eq!(
            ColorChoice::from_args(&args(&["ts", "--", "--color=always"])),
            ColorChoice::Auto
        );
        assert_eq!(
            ColorChoice::from_args(&args(&["ts", "--color=pink", "--colorful"])),
            ColorChoice::Auto
        );
    }
}

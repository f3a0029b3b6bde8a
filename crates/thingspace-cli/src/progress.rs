//! Progress on stderr (indicatif): the items of a listing, the devices of a `--wait`, with
//! the rate and the time elapsed. Drawn only when stderr is a terminal and `--quiet` was not
//! given; a listing's also only when stdout is not that terminal (it would be drawn over the
//! output).

use std::{
    io::{self, IsTerminal},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a bar is redrawn while nothing happens, so its elapsed time goes on.
const TICK: Duration = Duration::from_millis(250);

/// Where progress is drawn: stderr when it is a terminal (and `--quiet` was not given and, for
/// `over_output`, stdout is not a terminal), else nowhere.
pub(crate) fn draw_target(over_output: bool) -> ProgressDrawTarget {
    let shown = shows_progress(
        crate::logging::quiet(),
        io::stderr().is_terminal(),
        over_output && io::stdout().is_terminal(),
    );
    if shown {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// Whether progress is drawn: not `--quiet`, on a terminal, and not over the output.
fn shows_progress(quiet: bool, stderr_is_terminal: bool, output_on_that_terminal: bool) -> bool {
    !quiet && stderr_is_terminal && !output_on_that_terminal
}

/// The style of `template`, where `{rate}` is the items per second, whole.
pub(crate) fn style(template: &str) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    Some(style.with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        },
    ))
}

/// A listing's progress line: `⠙ 2500 leads, 3 pages (1234/s, 2s)`.
pub(crate) struct ListProgress {
    bar: ProgressBar,
    noun: (&'static str, &'static str),
}

impl ListProgress {
    /// A progress line counting `noun`s (singular, plural).
    pub(crate) fn new(noun: (&'static str, &'static str)) -> Self {
        let bar = ProgressBar::with_draw_target(None, draw_target(true));
        if let Some(style) = style("{spinner} {msg} ({rate}, {elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(progress_text(noun, 0, 0));
        if !bar.is_hidden() {
            bar.enable_steady_tick(TICK);
        }
        Self { bar, noun }
    }

    /// Shows `items` listed in `pages` pages.
    pub(crate) fn update(&self, items: u64, pages: u64) {
        self.bar.set_position(items);
        self.bar.set_message(progress_text(self.noun, items, pages));
    }

    /// Clears the line.
    pub(crate) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// The progress message: `1 lead, 1 page`, `2500 leads, 3 pages`.
fn progress_text(noun: (&str, &str), items: u64, pages: u64) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}",
        plural(items, noun.0, noun.1),
        plural(pages, "page", "pages")
    )
}

/// The bar of devices reporting, for `--wait`: `[####    ] 3/10 devices reported (2/s, 5s)`.
/// Lines printed while it is drawn go through [`ProgressBar::suspend`].
pub(crate) fn devices_bar(devices: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(devices), draw_target(false));
    if let Some(style) = style("{bar:30} {pos}/{len} devices reported ({rate}, {elapsed}) {msg}") {
        bar.set_style(style);
    }
    if !bar.is_hidden() {
        bar.enable_steady_tick(TICK);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_shown_only_on_a_terminal_that_is_not_the_output_and_not_quiet() {
        assert!(shows_progress(false, true, false));
        assert!(!shows_progress(true, true, false), "--quiet");
        assert!(
            !shows_progress(false, true, true),
            "stdout on the same terminal"
        );
        assert!(!shows_progress(false, false, false));
    }

    #[test]
    fn progress_counts_are_pluralised() {
        let leads = ("lead", "leads");
        assert_eq!(progress_text(leads, 1, 1), "1 lead, 1 page");
        assert_eq!(progress_text(leads, 0, 1), "0 leads, 1 page");
        assert_eq!(
            progress_text(("device", "devices"), 2_500, 3),
            "2500 devices, 3 pages"
        );
    }
}

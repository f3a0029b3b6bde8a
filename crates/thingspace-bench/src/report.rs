//! The report people look at: a self-contained HTML page (no script, no external file) and the
//! same chart as a standalone SVG, written beside the JSON. For each scenario: the SDK's and the
//! baseline's figures as bars, their ratio on a scale with the target marked, whether the
//! target was met; above them, the machine.

use std::{fmt::Write as _, path::Path};

use serde_json::Value;

use crate::figure::Figure;

/// The chart's width, in pixels.
const WIDTH: f64 = 1180.0;
/// The height of one scenario's row.
const ROW: f64 = 58.0;
/// Where the rows start, below the title and the legend.
const TOP: f64 = 78.0;
/// The columns: the scenario's name, its bars, its ratio scale, the verdict.
const BARS_X: f64 = 450.0;
const BARS_W: f64 = 240.0;
const SCALE_X: f64 = 770.0;
const SCALE_W: f64 = 170.0;
/// The ratio scale runs from 0 to this.
const SCALE_MAX: f64 = 2.0;

const SDK_COLOUR: &str = "#2b6cb0";
const BASELINE_COLOUR: &str = "#a0aec0";
const MET_COLOUR: &str = "#2f855a";
const MISSED_COLOUR: &str = "#c53030";
const REPORTED_COLOUR: &str = "#718096";
/// The most characters of a target the chart shows (the table shows it whole).
const TARGET_CHARS: usize = 52;

/// What one run measured, as the JSON holds it.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    pub(crate) smoke: bool,
    pub(crate) machine: &'a Value,
    /// When the run ended (UTC), when known.
    pub(crate) written: Option<&'a str>,
    pub(crate) figures: &'a [Figure],
}

/// Writes `<stem>.html` and `<stem>.svg` in `dir`; returns their paths.
pub(crate) fn write(
    dir: &Path,
    stem: &str,
    run: &Run<'_>,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let html_path = dir.join(format!("{stem}.html"));
    let svg_path = dir.join(format!("{stem}.svg"));
    std::fs::write(&html_path, html(run)).map_err(|e| format!("{}: {e}", html_path.display()))?;
    std::fs::write(&svg_path, svg(run)).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    Ok((html_path, svg_path))
}

/// `report <JSON>`: the report of an earlier run, from its JSON, written beside it.
pub(crate) fn from_json(args: &[String]) -> Result<(), String> {
    let [path] = args else {
        return Err("usage: thingspace-bench report <target/bench/bench.json>".to_owned());
    };
    let path = Path::new(path);
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let figures: Vec<Figure> = serde_json::from_value(json["figures"].clone())
        .map_err(|e| format!("{}: figures: {e}", path.display()))?;
    let run = Run {
        smoke: json["smoke"].as_bool().unwrap_or(false),
        machine: &json["machine"],
        written: json["written"].as_str(),
        figures: &figures,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("bench");
    let (html, svg) = write(dir, stem, &run)?;
    println!("report written to {} and {}", html.display(), svg.display());
    Ok(())
}

/// Text made safe for HTML and SVG.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The bound a target puts on the ratio (`≤ 1.05`, `≥ 0.95; ...`, `speed-up ≥ 1.5`): whether
/// the ratio must stay at most (`true`) or at least (`false`) the value. `None` for a target
/// that is not about the ratio (`SDK ≤ 64 MiB`, `reported`).
pub(crate) fn ratio_bound(target: &str) -> Option<(bool, f64)> {
    let t = target.trim_start();
    let t = t.strip_prefix("speed-up").unwrap_or(t).trim_start();
    let (at_most, rest) = if let Some(rest) = t.strip_prefix('≤') {
        (true, rest)
    } else {
        (false, t.strip_prefix('≥')?)
    };
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    // `≤ 64 MiB` bounds a figure, not the ratio.
    let after = rest.trim_start()[number.len()..].trim_start();
    if after.starts_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    number.parse().ok().map(|n| (at_most, n))
}

/// One line about the machine: CPUs, model, kernel.
fn machine_line(machine: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(n) = machine["cpus"].as_u64() {
        parts.push(format!("{n} CPUs"));
    }
    if let Some(model) = machine["cpu_model"].as_str() {
        parts.push(model.to_owned());
    }
    if let Some(kernel) = machine["kernel"].as_str() {
        parts.push(format!("Linux {kernel}"));
    }
    if parts.is_empty() {
        "machine unknown".to_owned()
    } else {
        parts.join(", ")
    }
}

/// A figure as the table prints it: few digits for large numbers, more for small ones.
fn number(v: f64) -> String {
    if v.abs() >= 1000.0 {
        // Thousands separated, as the performance page writes them.
        let whole = format!("{:.0}", v);
        let (sign, digits) = whole
            .strip_prefix('-')
            .map_or(("", whole.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn title(run: &Run<'_>) -> String {
    format!(
        "ThingSpace SDK against hand-written reqwest + serde_json{}",
        if run.smoke { " (smoke run)" } else { "" }
    )
}

/// A figure with nothing to meet, only to report.
fn reported_only(f: &Figure) -> bool {
    f.target.starts_with("reported")
}

fn subtitle(run: &Run<'_>) -> String {
    let targets: Vec<&Figure> = run.figures.iter().filter(|f| !reported_only(f)).collect();
    let met = targets.iter().filter(|f| f.met).count();
    let mut line = format!(
        "{}; {met} of {} targets met",
        machine_line(run.machine),
        targets.len()
    );
    if let Some(written) = run.written {
        let _ = write!(line, "; {written}");
    }
    if run.smoke {
        line.push_str("; a smoke run's figures say nothing about the targets");
    }
    line
}

/// `text`, cut to `max` characters with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The chart, as a standalone SVG document.
pub(crate) fn svg(run: &Run<'_>) -> String {
    let height = TOP + ROW * run.figures.len() as f64 + 16.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r##"<title>{}</title><rect width="100%" height="100%" fill="#ffffff"/>"##,
        escape(&title(run))
    );
    let _ = write!(
        s,
        r##"<text x="12" y="22" font-size="16" font-weight="bold" fill="#1a202c">{}</text><text x="12" y="42" fill="#4a5568">{}</text>"##,
        escape(&title(run)),
        escape(&subtitle(run))
    );
    // The legend.
    let _ = write!(
        s,
        r##"<rect x="{BARS_X}" y="54" width="10" height="10" fill="{SDK_COLOUR}"/><text x="{}" y="63" fill="#2d3748">SDK</text><rect x="{}" y="54" width="10" height="10" fill="{BASELINE_COLOUR}"/><text x="{}" y="63" fill="#2d3748">baseline</text><text x="{SCALE_X}" y="63" fill="#2d3748">ratio SDK / baseline, 0 to {SCALE_MAX} (┃ the target, ┆ 1)</text>"##,
        BARS_X + 14.0,
        BARS_X + 50.0,
        BARS_X + 64.0,
    );
    for (i, f) in run.figures.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        row(&mut s, y, f);
    }
    s.push_str("</svg>\n");
    s
}

/// One scenario's row of the chart.
fn row(s: &mut String, y: f64, f: &Figure) {
    if ((y - TOP) / ROW) as usize % 2 == 1 {
        let _ = write!(
            s,
            r##"<rect x="0" y="{}" width="{WIDTH}" height="{ROW}" fill="#f7fafc"/>"##,
            y - 4.0
        );
    }
    // The scenario and its metric.
    let _ = write!(
        s,
        r##"<text x="12" y="{}" fill="#1a202c">{}</text><text x="12" y="{}" fill="#718096">{}</text>"##,
        y + 14.0,
        escape(&f.scenario),
        y + 32.0,
        escape(&f.metric),
    );
    // The two figures, as bars on the row's own scale.
    let max = f.sdk.max(f.baseline);
    let width = |v: f64| {
        if max > 0.0 && v.is_finite() {
            (v / max * BARS_W).max(1.0)
        } else {
            1.0
        }
    };
    for (k, (label, value, colour)) in [
        ("SDK", f.sdk, SDK_COLOUR),
        ("baseline", f.baseline, BASELINE_COLOUR),
    ]
    .into_iter()
    .enumerate()
    {
        let by = y + 4.0 + k as f64 * 18.0;
        let w = width(value);
        let _ = write!(
            s,
            r##"<rect x="{BARS_X}" y="{by}" width="{w:.1}" height="14" fill="{colour}"><title>{label}: {}</title></rect><text x="{:.1}" y="{}" fill="#2d3748">{}</text>"##,
            escape(&number(value)),
            BARS_X + w + 4.0,
            by + 11.0,
            escape(&number(value)),
        );
    }
    // The ratio on a 0..SCALE_MAX scale, with 1.0 and the target marked.
    let at = |r: f64| SCALE_X + (r.clamp(0.0, SCALE_MAX) / SCALE_MAX) * SCALE_W;
    let axis_y = y + 18.0;
    let (colour, verdict) = if reported_only(f) {
        (REPORTED_COLOUR, "reported")
    } else if f.met {
        (MET_COLOUR, "met")
    } else {
        (MISSED_COLOUR, "MISSED")
    };
    let _ = write!(
        s,
        r##"<line x1="{SCALE_X}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#cbd5e0" stroke-width="2"/><line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#a0aec0" stroke-dasharray="2,2"/>"##,
        SCALE_X + SCALE_W,
        at(1.0),
        axis_y - 8.0,
        at(1.0),
        axis_y + 8.0,
    );
    if let Some((_, bound)) = ratio_bound(&f.target) {
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#1a202c" stroke-width="2"><title>target {}</title></line>"##,
            at(bound),
            axis_y - 9.0,
            at(bound),
            axis_y + 9.0,
            escape(&f.target),
        );
    }
    if f.ratio.is_finite() && f.ratio > 0.0 {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{axis_y}" r="5" fill="{colour}"><title>ratio {:.3}</title></circle>"##,
            at(f.ratio),
            f.ratio,
        );
    }
    let _ = write!(
        s,
        r##"<text x="{SCALE_X}" y="{}" fill="#2d3748">target {}<title>{}</title></text>"##,
        y + 44.0,
        escape(&cut(&f.target, TARGET_CHARS)),
        escape(&f.target),
    );
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" fill="#2d3748">{}</text><text x="{}" y="{}" font-weight="bold" fill="{colour}">{verdict}</text>"##,
        SCALE_X + SCALE_W + 14.0,
        y + 22.0,
        if f.ratio.is_finite() && f.ratio > 0.0 {
            format!("{:.3}", f.ratio)
        } else {
            "-".to_owned()
        },
        SCALE_X + SCALE_W + 60.0,
        y + 22.0,
    );
}

/// The whole page: the title, the machine, the chart, and the table of figures.
pub(crate) fn html(run: &Run<'_>) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\nbody {{ font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px; color: #1a202c; }}\ntable {{ border-collapse: collapse; margin-top: 16px; }}\nth, td {{ padding: 4px 10px; border-bottom: 1px solid #e2e8f0; text-align: right; }}\nth:first-child, td:first-child, td.text {{ text-align: left; }}\n.met {{ color: {MET_COLOUR}; font-weight: bold; }}\n.missed {{ color: {MISSED_COLOUR}; font-weight: bold; }}\nsvg {{ max-width: 100%; height: auto; }}\n</style>\n</head>\n<body>\n",
        escape(&title(run))
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1>\n<p>{}</p>",
        escape(&title(run)),
        escape(&subtitle(run))
    );
    let _ = writeln!(
        s,
        "<p>Each scenario runs through the SDK and through hand-written reqwest + serde_json code in the same run, side by side; the bars share one scale per scenario; the ratio is SDK / baseline (for throughputs and speed-ups, higher is better), and for scenarios measured in repetitions it is the median of the repetitions' ratios, which can differ from the ratio of the two medians shown. <code>cargo xtask bench</code> writes this page; <code>docs/performance.md</code> explains the method.</p>"
    );
    s.push_str(&svg(run));
    s.push_str("<table>\n<tr><th>scenario</th><th>metric</th><th>SDK</th><th>baseline</th><th>ratio</th><th>target</th><th>met</th></tr>\n");
    for f in run.figures {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td class=\"text\">{}</td><td class=\"{}\">{}</td></tr>",
            escape(&f.scenario),
            escape(&f.metric),
            escape(&number(f.sdk)),
            escape(&number(f.baseline)),
            f.ratio,
            escape(&f.target),
            if reported_only(f) {
                ""
            } else if f.met {
                "met"
            } else {
                "missed"
            },
            if reported_only(f) {
                ""
            } else if f.met {
                "yes"
            } else {
                "no"
            },
        );
    }
    s.push_str("</table>\n</body>\n</html>\n");
    s
}

/// Now, as an HTTP date (`Sun, 29 Nov 2026 02:45:07 GMT`): the workspace's `httpdate`, rather
/// than a calendar written again here.
pub(crate) fn now_utc() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(scenario: &str, target: &str, met: bool) -> Figure {
        Figure {
            scenario: scenario.to_owned(),
            metric: "µs per request".to_owned(),
            sdk: 201.73,
            baseline: 195.24,
            ratio: 1.033,
            target: target.to_owned(),
            met,
        }
    }

    #[test]
    fn reads_the_ratio_bound_of_a_target() {
        assert_eq!(ratio_bound("≤ 1.05"), Some((true, 1.05)));
        assert_eq!(
            ratio_bound("≥ 0.95; tokens 1, logins 1 (1 each)"),
            Some((false, 0.95))
        );
        assert_eq!(ratio_bound("speed-up ≥ 1.5"), Some((false, 1.5)));
        assert_eq!(
            ratio_bound("≤ 1.2 (hand-written loop: 14.5 MiB)"),
            Some((true, 1.2))
        );
        assert_eq!(ratio_bound("SDK ≤ 64 MiB"), None);
        assert_eq!(ratio_bound("reported"), None);
    }

    #[test]
    fn every_scenario_the_machine_and_the_verdicts_are_in_the_page() {
        let machine = serde_json::json!({"cpus": 2, "cpu_model": "AMD EPYC", "kernel": "6.18"});
        let figures = [
            figure("1. sequential accounts get ×5000", "≤ 1.05", true),
            figure("<script>6a. POST & body</script>", "≥ 0.95", false),
            figure("7a. acknowledgement latency", "reported", true),
        ];
        let run = Run {
            smoke: false,
            machine: &machine,
            written: Some("2026-11-28 23:32 UTC"),
            figures: &figures,
        };
        let page = html(&run);
        let chart = svg(&run);
        for text in [&page, &chart] {
            assert!(text.contains("1. sequential accounts get ×5000"));
            assert!(text.contains("&lt;script&gt;6a. POST &amp; body&lt;/script&gt;"));
            assert!(!text.contains("<script>"), "nothing runs in the report");
            assert!(text.contains("2 CPUs, AMD EPYC, Linux 6.18"));
            assert!(
                text.contains("1 of 2 targets met"),
                "a figure only reported is no target"
            );
            assert!(text.contains("1.033"));
        }
        assert!(page.contains("MISSED") && page.contains(">no</td>"));
        assert!(chart.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        // Self-contained: no file, script or style sheet fetched from elsewhere.
        for outside in ["src=", "href=", "<link", "@import", "url("] {
            assert!(!page.contains(outside), "{outside}");
        }
    }

    #[test]
    fn numbers_read_as_the_table_writes_them() {
        assert_eq!(number(10_733.4), "10,733");
        assert_eq!(number(1_000_000.0), "1,000,000");
        assert_eq!(number(201.734), "201.7");
        assert_eq!(number(1.0339), "1.03");
    }

    #[test]
    fn dates_are_civil() {
        let now = now_utc();
        assert!(
            now.len() == 29 && now.ends_with(" GMT") && now.contains(" 20"),
            "{now}"
        );
    }
}

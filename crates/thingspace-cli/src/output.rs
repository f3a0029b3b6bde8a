//! Output formats: streamed so a million leads never sit in memory.

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;
use thingspace::m2m::Lead;

/// How lists are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One JSON array (streamed element by element).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Aligned columns.
    Table,
    /// Comma-separated values with a header row.
    Csv,
}

/// Writes leads in a format, one at a time.
pub(crate) struct LeadWriter<W: Write> {
    out: W,
    format: Format,
    written: u64,
}

const COLUMNS: [&str; 8] = [
    "leadId",
    "leadState",
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "zip",
    "zip4",
];
const WIDTHS: [usize; 8] = [16, 10, 28, 12, 16, 6, 10, 5];

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn fields(lead: &Lead) -> [&str; 8] {
    let a = &lead.address;
    let s = text;
    [
        s(&lead.lead_id),
        s(&lead.lead_state),
        s(&a.address_line1),
        s(&a.address_line2),
        s(&a.city),
        s(&a.state),
        s(&a.zip),
        s(&a.zip4),
    ]
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub(crate) fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// Pads or cuts `v` to `width` characters.
fn cell(v: &str, width: usize) -> String {
    let count = v.chars().count();
    if count > width {
        let mut s: String = v.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        format!("{v}{}", " ".repeat(width - count))
    }
}

impl<W: Write> LeadWriter<W> {
    pub(crate) fn new(out: W, format: Format) -> Self {
        Self {
            out,
            format,
            written: 0,
        }
    }

    pub(crate) fn begin(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => write!(self.out, "["),
            Format::Ndjson => Ok(()),
            Format::Csv => writeln!(self.out, "{}", COLUMNS.join(",")),
            Format::Table => {
                let header: Vec<String> = COLUMNS
                    .iter()
                    .zip(WIDTHS)
                    .map(|(c, w)| cell(c, w))
                    .collect();
                writeln!(self.out, "{}", header.join(" ").trim_end())
            }
        }
    }

    pub(crate) fn write(&mut self, lead: &Lead) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let sep = if self.written == 0 { "\n  " } else { ",\n  " };
                write!(self.out, "{sep}")?;
                serde_json::to_writer(&mut self.out, lead)?;
            }
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, lead)?;
                writeln!(self.out)?;
            }
            Format::Csv => {
                let row: Vec<String> = fields(lead).iter().map(|f| csv_field(f)).collect();
                writeln!(self.out, "{}", row.join(","))?;
            }
            Format::Table => {
                let row: Vec<String> = fields(lead)
                    .iter()
                    .zip(WIDTHS)
                    .map(|(f, w)| cell(f, w))
                    .collect();
                writeln!(self.out, "{}", row.join(" ").trim_end())?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output; flushes per page so `ndjson` streams as pages arrive.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub(crate) fn finish(mut self) -> io::Result<u64> {
        if self.format == Format::Json {
            if self.written == 0 {
                writeln!(self.out, "]")?;
            } else {
                writeln!(self.out, "\n]")?;
            }
        }
        self.out.flush()?;
        Ok(self.written)
    }
}

/// A progress line on stderr, only when stderr is a terminal.
pub(crate) struct Progress {
    enabled: bool,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            enabled: io::stderr().is_terminal(),
        }
    }

    pub(crate) fn update(&self, leads: u64, pages: u64) {
        if self.enabled {
            eprint!("\r{leads} leads, {pages} pages…");
        }
    }

    pub(crate) fn done(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: &str, line1: &str) -> Lead {
        serde_json::from_value(serde_json::json!({
            "leadId": id, "leadState": "Qualified",
            "address": {"addressLine1": line1, "city": "Austin", "state": "TX", "zip": "78701"}
        }))
        .expect("lead")
    }

    fn render(format: Format, leads: &[Lead]) -> String {
        let mut buf = Vec::new();
        let mut w = LeadWriter::new(&mut buf, format);
        w.begin().expect("begin");
        for l in leads {
            w.write(l).expect("write");
        }
        assert_eq!(w.finish().expect("finish"), leads.len() as u64);
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn json_is_one_valid_array_even_when_empty() {
        let leads = [lead("L-1", "1 Main St"), lead("L-2", "2 Main St")];
        let v: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &leads)).expect("json");
        assert_eq!(v[1]["leadId"], "L-2");
        assert_eq!(v[0]["address"]["addressLine1"], "1 Main St");
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json, &[])).expect("json");
        assert_eq!(v, serde_json::json!([]));
    }

    #[test]
    fn ndjson_has_one_lead_per_line() {
        let out = render(Format::Ndjson, &[lead("L-1", "a"), lead("L-2", "b")]);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[1]).expect("line");
        assert_eq!(v["leadId"], "L-2");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let out = render(Format::Csv, &[lead("L-1", "1 Main St, \"Suite\" 2")]);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some("L-1,Qualified,\"1 Main St, \"\"Suite\"\" 2\",,Austin,TX,78701,")
        );
    }

    #[test]
    fn table_aligns_and_cuts() {
        let out = render(Format::Table, &[lead("L-1", &"x".repeat(40))]);
        assert!(out.lines().nth(1).is_some_and(|l| l.contains('…')));
    }
}

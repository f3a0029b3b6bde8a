//! Output formats: streamed so a million leads never sit in memory.
//!
//! Everything written to stdout goes through [`outln!`], [`out!`], [`print_json`] or a
//! [`ListWriter`], which return write errors instead of panicking like `println!` does when
//! the reader has gone away (`thingspace leads list X | head -1`).

use std::io::{self, Write};

use clap::ValueEnum;
use serde::Serialize;
use thingspace::m2m::{Device, Lead};

use crate::{
    error::CliError,
    safe_text::{csv_field, terminal_safe},
};

/// Like `println!`, but evaluates to `Result<(), CliError>` instead of panicking when stdout
/// cannot be written (a closed pipe becomes [`CliError::Closed`]).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        writeln!(::std::io::stdout().lock(), $($arg)*).map_err($crate::error::CliError::from)
    }};
}
pub(crate) use outln;

/// Like `print!`, but evaluates to `Result<(), CliError>`; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        write!(::std::io::stdout().lock(), $($arg)*).map_err($crate::error::CliError::from)
    }};
}
pub(crate) use out;

/// Prints `value` as indented JSON and a newline on stdout.
///
/// # Errors
/// [`CliError::Closed`] when the reader has gone away, [`CliError::Output`] when the value
/// cannot be encoded or stdout cannot be written.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// How `leads list` prints.
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

impl Format {
    /// The name given to `--output`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Table => "table",
            Format::Csv => "csv",
        }
    }
}

/// How `oc leads list` prints: the JSON formats only (an Operator Connect lead is nested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum JsonFormat {
    /// One JSON array (streamed element by element).
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl From<JsonFormat> for Format {
    fn from(format: JsonFormat) -> Self {
        match format {
            JsonFormat::Json => Format::Json,
            JsonFormat::Ndjson => Format::Ndjson,
        }
    }
}

/// How `accounts states` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatesFormat {
    /// The states and services as JSON, with the wire field names.
    Json,
    /// An indented outline.
    Table,
}

/// Writes the items of a list in a format, one at a time.
pub(crate) struct ListWriter<W: Write> {
    out: W,
    format: Format,
    columns: &'static [Column],
    written: u64,
}

/// A column of `table` and `csv` output: its header and its width in a table.
pub(crate) type Column = (&'static str, usize);

/// The columns of a lead.
pub(crate) const LEAD_COLUMNS: &[Column] = &[
    ("leadId", 16),
    ("leadState", 10),
    ("addressLine1", 28),
    ("addressLine2", 12),
    ("city", 16),
    ("state", 6),
    ("zip", 10),
    ("zip4", 5),
    ("country", 7),
    ("phone", 12),
    ("phoneType", 9),
    ("emailAddress", 24),
];

/// The columns of a device.
pub(crate) const DEVICE_COLUMNS: &[Column] = &[
    ("deviceIds", 44),
    ("state", 10),
    ("servicePlan", 14),
    ("connected", 9),
    ("ipAddress", 15),
    ("lastActivationDate", 20),
];

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn fields(lead: &Lead) -> Vec<String> {
    let a = &lead.address;
    [
        &lead.lead_id,
        &lead.lead_state,
        &a.address_line1,
        &a.address_line2,
        &a.city,
        &a.state,
        &a.zip,
        &a.zip4,
        &a.country,
        &a.phone,
        &a.phone_type,
        &a.email_address,
    ]
    .map(|v| text(v).to_owned())
    .to_vec()
}

fn device_fields(device: &Device) -> Vec<String> {
    let ids: Vec<String> = device.device_ids.iter().map(ToString::to_string).collect();
    let carrier = device.carrier_informations.first();
    vec![
        ids.join(" "),
        text(&carrier.and_then(|c| c.state.clone())).to_owned(),
        text(&carrier.and_then(|c| c.service_plan.clone())).to_owned(),
        device.connected.map(|c| c.to_string()).unwrap_or_default(),
        text(&device.ip_address).to_owned(),
        text(&device.last_activation_date).to_owned(),
    ]
}

/// Pads or cuts `v` to `width` characters, made safe for a terminal first (so a cut never
/// falls inside an escape sequence).
fn cell(v: &str, width: usize) -> String {
    let v = &terminal_safe(v);
    let count = v.chars().count();
    if count > width {
        let mut s: String = v.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        format!("{v}{}", " ".repeat(width - count))
    }
}

impl<W: Write> ListWriter<W> {
    /// A writer of `format` to `out`; `columns` are those of `table` and `csv`.
    pub(crate) fn new(out: W, format: Format, columns: &'static [Column]) -> Self {
        Self {
            out,
            format,
            columns,
            written: 0,
        }
    }

    /// Starts the output: the opening bracket of a JSON array, or the header row.
    pub(crate) fn begin(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => write!(self.out, "["),
            Format::Ndjson => Ok(()),
            Format::Csv => {
                let header: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
                writeln!(self.out, "{}", header.join(","))
            }
            Format::Table => {
                let header: Vec<String> = self
                    .columns
                    .iter()
                    .map(|(name, width)| cell(name, *width))
                    .collect();
                writeln!(self.out, "{}", header.join(" ").trim_end())
            }
        }
    }

    /// Writes one lead, in any format.
    pub(crate) fn write_lead(&mut self, lead: &Lead) -> io::Result<()> {
        self.write_row(lead, &fields(lead))
    }

    /// Writes one device, in any format.
    pub(crate) fn write_device(&mut self, device: &Device) -> io::Result<()> {
        self.write_row(device, &device_fields(device))
    }

    /// Writes `item` as JSON, or its `cells` (one per column) as a row.
    fn write_row<T: Serialize>(&mut self, item: &T, cells: &[String]) -> io::Result<()> {
        let row = match self.format {
            Format::Json | Format::Ndjson => return self.write_json(item),
            Format::Csv => {
                let row: Vec<String> = cells.iter().map(|f| csv_field(f)).collect();
                row.join(",")
            }
            Format::Table => {
                let row: Vec<String> = cells
                    .iter()
                    .zip(self.columns)
                    .map(|(f, (_, width))| cell(f, *width))
                    .collect();
                row.join(" ").trim_end().to_owned()
            }
        };
        writeln!(self.out, "{row}")?;
        self.written += 1;
        Ok(())
    }

    /// Writes one item as JSON: an element of the array for [`Format::Json`], a line otherwise
    /// (items without columns are never given to a table or CSV writer: see [`JsonFormat`]).
    pub(crate) fn write_json<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        if self.format == Format::Json {
            let sep = if self.written == 0 { "\n  " } else { ",\n  " };
            write!(self.out, "{sep}")?;
            serde_json::to_writer(&mut self.out, item)?;
        } else {
            serde_json::to_writer(&mut self.out, item)?;
            writeln!(self.out)?;
        }
        self.written += 1;
        Ok(())
    }

    /// Flushes what was written; done once per page, so `ndjson` streams as pages arrive.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the output (closes the JSON array) and flushes it; returns how many items were
    /// written.
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

#[cfg(test)]
mod fuzz;

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
        let mut w = ListWriter::new(&mut buf, format, LEAD_COLUMNS);
        w.begin().expect("begin");
        for l in leads {
            w.write_lead(l).expect("write");
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
        assert_eq!(
            lines.next(),
            Some(
                "leadId,leadState,addressLine1,addressLine2,city,state,zip,zip4,country,phone,phoneType,emailAddress"
            )
        );
        assert_eq!(
            lines.next(),
            Some("L-1,Qualified,\"1 Main St, \"\"Suite\"\" 2\",,Austin,TX,78701,,,,,")
        );
    }

    #[test]
    fn every_field_of_a_lead_has_a_column() {
        let full: Lead = serde_json::from_value(serde_json::json!({
            "leadId": "L-1", "leadState": "Qualified",
            "address": {"addressLine1": "1", "addressLine2": "2", "city": "c", "state": "s",
                "zip": "z", "zip4": "4", "country": "USA", "phone": "p", "phoneType": "t",
                "emailAddress": "e"}
        }))
        .expect("lead");
        let mut names = Vec::new();
        leaf_names(&serde_json::to_value(&full).expect("json"), &mut names);
        let mut columns: Vec<&str> = LEAD_COLUMNS.iter().map(|(name, _)| *name).collect();
        names.sort();
        columns.sort_unstable();
        assert_eq!(
            names, columns,
            "a field of Lead has no column, or a column no field"
        );
        let row = fields(&full);
        assert!(row.iter().all(|cell| !cell.is_empty()), "{row:?}");
    }

    /// The names of the leaves of `value`, in order.
    fn leaf_names(value: &serde_json::Value, names: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = value {
            for (name, inner) in map {
                if inner.is_object() {
                    leaf_names(inner, names);
                } else {
                    names.push(name.clone());
                }
            }
        }
    }

    #[test]
    fn format_names_are_the_flag_values() {
        for format in Format::value_variants() {
            let value = format.to_possible_value().expect("a value");
            assert_eq!(format.name(), value.get_name());
        }
    }

    #[test]
    fn oc_items_are_written_as_json() {
        let mut buf = Vec::new();
        let mut w = ListWriter::new(&mut buf, JsonFormat::Json.into(), LEAD_COLUMNS);
        w.begin().expect("begin");
        w.write_json(&serde_json::json!({"tenantId": "t-1"}))
            .expect("write");
        w.write_json(&serde_json::json!({"tenantId": "t-2"}))
            .expect("write");
        assert_eq!(w.finish().expect("finish"), 2);
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("one array");
        assert_eq!(v[1]["tenantId"], "t-2");
    }

    #[test]
    fn table_aligns_and_cuts() {
        let out = render(Format::Table, &[lead("L-1", &"x".repeat(40))]);
        assert!(out.lines().nth(1).is_some_and(|l| l.contains('…')));
    }

    #[test]
    fn server_text_cannot_run_in_a_spreadsheet_or_drive_a_terminal() {
        for (value, cell) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("plain", "plain"),
            ("two\nlines", "\"two\nlines\""),
            ("a,b", "\"a,b\""),
        ] {
            assert_eq!(csv_field(value), cell, "{value:?}");
        }
        let shown = terminal_safe("a\u{1b}]8;;http://x\u{7}b\r\nc\u{202e}d\0");
        assert!(
            !shown.contains(|c: char| c.is_control() || c == '\u{202e}'),
            "{shown:?}"
        );
        assert!(shown.starts_with("a\\u{1b}]8;;"), "{shown}");
        // A cut falls after the whole escape, never inside an escape sequence.
        let cut = cell("\u{1b}[31mred", 4);
        assert!(!cut.contains('\u{1b}'), "{cut:?}");
    }
}

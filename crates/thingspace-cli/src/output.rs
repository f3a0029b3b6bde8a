//! Output formats: streamed so a million leads never sit in memory.
//!
//! Everything written to stdout goes through [`outln!`], [`out!`], [`print_json`] or a
//! [`ListWriter`], which return write errors instead of panicking like `println!` does when
//! the reader has gone away (`thingspace leads list X | head -1`).

use std::io::{self, Write};

use clap::ValueEnum;
use serde::Serialize;
use thingspace::m2m::{Device, KeyValue, Lead, devices::CarrierInformation};

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

/// The columns of a device: one for every field of [`Device`], those of its carriers by their
/// own names. The first six are the columns of earlier versions, in their order.
pub(crate) const DEVICE_COLUMNS: &[Column] = &[
    ("deviceIds", 44),
    ("state", 10),
    ("servicePlan", 14),
    ("connected", 9),
    ("ipAddress", 15),
    ("lastActivationDate", 20),
    ("lastActivationBy", 16),
    ("lastConnectionDate", 20),
    ("createdAt", 20),
    ("billingCycleEndDate", 20),
    ("carrierName", 16),
    ("accountName", 12),
    ("groupNames", 16),
    ("customFields", 24),
    ("extendedAttributes", 24),
];

/// What separates the values of a field that holds several (groups, custom fields, carriers).
const LIST_SEPARATOR: &str = "; ";

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

/// The cells of `device`, in the order of [`DEVICE_COLUMNS`]. A field with several values
/// (identifiers, carriers, groups, key/value pairs) is one cell, its values in order: the
/// identifiers as `kind=id` separated by spaces, the others separated by `; ` (a carrier
/// without a plan leaves its place empty, so the carriers' columns stay aligned).
fn device_fields(device: &Device) -> Vec<String> {
    let ids: Vec<String> = device.device_ids.iter().map(ToString::to_string).collect();
    let carriers = |field: fn(&CarrierInformation) -> &Option<String>| {
        let values: Vec<&str> = device
            .carrier_informations
            .iter()
            .map(|c| text(field(c)))
            .collect();
        values.join(LIST_SEPARATOR)
    };
    let pairs = |pairs: &[KeyValue]| {
        let pairs: Vec<String> = pairs
            .iter()
            .map(|kv| format!("{}={}", text(&kv.key), text(&kv.value)))
            .collect();
        pairs.join(LIST_SEPARATOR)
    };
    vec![
        ids.join(" "),
        carriers(|c| &c.state),
        carriers(|c| &c.service_plan),
        device.connected.map(|c| c.to_string()).unwrap_or_default(),
        text(&device.ip_address).to_owned(),
        text(&device.last_activation_date).to_owned(),
        text(&device.last_activation_by).to_owned(),
        text(&device.last_connection_date).to_owned(),
        text(&device.created_at).to_owned(),
        text(&device.billing_cycle_end_date).to_owned(),
        carriers(|c| &c.carrier_name),
        text(&device.account_name).to_owned(),
        device.group_names.join(LIST_SEPARATOR),
        pairs(&device.custom_fields),
        pairs(&device.extended_attributes),
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
#[path = "../tests/support/carried.rs"]
mod carried;

#[cfg(test)]
mod tests {
    use super::carried::carried;
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

    /// A device with every field set, each to a value no other field holds.
    fn full_device() -> Device {
        serde_json::from_value(serde_json::json!({
            "accountName": "0000123456",
            "deviceIds": [
                {"id": "990013907835573", "kind": "imei"},
                {"id": "89148000000800000001", "kind": "iccid"}
            ],
            "carrierInformations": [
                {"carrierName": "Verizon Wireless", "servicePlan": "M2MPlan", "state": "active"},
                {"carrierName": "Other Carrier", "servicePlan": "OtherPlan", "state": "pending"}
            ],
            "connected": true,
            "createdAt": "2026-01-05T10:00:00Z",
            "billingCycleEndDate": "2026-02-01T00:00:00Z",
            "customFields": [{"key": "CustomField1", "value": "dock 7"}],
            "extendedAttributes": [{"key": "DeviceId", "value": "1000007"}],
            "groupNames": ["Fleet", "North"],
            "ipAddress": "10.0.0.7",
            "lastActivationBy": "ops-user",
            "lastActivationDate": "2026-01-06T08:00:00Z",
            "lastConnectionDate": "2026-01-07T09:30:00Z"
        }))
        .expect("device")
    }

    /// The paths in `value` that hold nothing (null, an empty text, list or object).
    fn empty_paths(path: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match value {
            Value::Null => out.push(path.to_owned()),
            Value::String(s) if s.is_empty() => out.push(path.to_owned()),
            Value::Array(items) if items.is_empty() => out.push(path.to_owned()),
            Value::Object(map) if map.is_empty() => out.push(path.to_owned()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    empty_paths(&format!("{path}[{i}]"), item, out);
                }
            }
            Value::Object(map) => {
                for (key, inner) in map {
                    empty_paths(&format!("{path}.{key}"), inner, out);
                }
            }
            _ => {}
        }
    }

    /// Asserts that `cells`, one per column, carry every value of `item`'s JSON in the column
    /// named for its field, and that every column carries a field.
    fn assert_carries(item: &serde_json::Value, columns: &[Column], cells: &[String]) {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        assert_eq!(cells.len(), names.len(), "one cell per column");
        let mut used = std::collections::BTreeSet::new();
        for (path, column, value) in carried(item, &names) {
            let index = names
                .iter()
                .position(|n| *n == column)
                .unwrap_or_else(|| panic!("{path}: no column `{column}` in {names:?}"));
            assert!(
                cells[index].contains(&value),
                "{path} = {value:?} is not in the column {column}: {:?}",
                cells[index]
            );
            used.insert(column);
        }
        let unused: Vec<&&str> = names.iter().filter(|n| !used.contains(**n)).collect();
        assert!(unused.is_empty(), "columns that no field fills: {unused:?}");
    }

    #[test]
    fn every_field_of_a_device_is_in_its_column() {
        let device = full_device();
        let json = serde_json::to_value(&device).expect("json");
        // A field added to `Device` and not set in `full_device` fails here first.
        let mut empty = Vec::new();
        empty_paths("device", &json, &mut empty);
        assert!(
            empty.is_empty(),
            "set these fields in full_device(): {empty:?}"
        );
        assert_carries(&json, DEVICE_COLUMNS, &device_fields(&device));
        // Carriers stay aligned: the second carrier's plan and state are second.
        let cells = device_fields(&device);
        assert_eq!(cells[1], "active; pending");
        assert_eq!(cells[2], "M2MPlan; OtherPlan");
        assert_eq!(cells[10], "Verizon Wireless; Other Carrier");
    }

    #[test]
    fn every_field_of_a_lead_is_in_its_column() {
        let full: Lead = serde_json::from_value(serde_json::json!({
            "leadId": "L-1", "leadState": "Qualified",
            "address": {"addressLine1": "1 Main", "addressLine2": "Suite 2", "city": "Austin",
                "state": "TX", "zip": "78701", "zip4": "1234", "country": "USA",
                "phone": "5125550100", "phoneType": "mobile", "emailAddress": "a@example.com"}
        }))
        .expect("lead");
        let json = serde_json::to_value(&full).expect("json");
        let mut empty = Vec::new();
        empty_paths("lead", &json, &mut empty);
        assert!(empty.is_empty(), "set these fields in the lead: {empty:?}");
        assert_carries(&json, LEAD_COLUMNS, &fields(&full));
    }

    #[test]
    fn a_device_in_csv_and_table_has_a_cell_per_column() {
        let device = full_device();
        for format in [Format::Csv, Format::Table] {
            let mut buf = Vec::new();
            let mut w = ListWriter::new(&mut buf, format, DEVICE_COLUMNS);
            w.begin().expect("begin");
            w.write_device(&device).expect("write");
            w.finish().expect("finish");
            let text = String::from_utf8(buf).expect("utf8");
            let header = text.lines().next().expect("header");
            let names: Vec<&str> = header.split([',', ' ']).filter(|n| !n.is_empty()).collect();
            let columns: Vec<&str> = DEVICE_COLUMNS.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, columns, "{format:?}");
            assert!(text.contains("dock 7"), "{format:?}: {text}");
        }
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

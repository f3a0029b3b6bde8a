//! Fuzzing of what the CLI writes from a server's text: CSV fields and rows, text made safe for
//! a terminal, table cells and rows. CI runs a short pass with a fixed seed; `cargo xtask fuzz`
//! runs it longer (`THINGSPACE_FUZZ_ITERATIONS`, `THINGSPACE_FUZZ_SEED`, as
//! `tests/tests/fuzz.rs` does).

use super::*;
use crate::safe_text::{csv_field, terminal_safe};

fn iterations() -> usize {
    std::env::var("THINGSPACE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn rng() -> fastrand::Rng {
    let seed = std::env::var("THINGSPACE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7153_9ace);
    fastrand::Rng::with_seed(seed)
}

/// Pieces of hostile text: what a spreadsheet runs, what drives a terminal, what reorders it,
/// and what CSV must quote.
const PIECES: &[&str] = &[
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\r\n",
    ",",
    "\"",
    "'",
    " ",
    "a",
    "1",
    "é",
    "中",
    "😀",
    "…",
    "=HYPERLINK(\"http://x\")",
    "\u{1b}[31m",
    "\u{1b}]8;;http://x\u{7}",
    "\u{1b}[2J",
    "\u{9b}31m",
    "\0",
    "\u{7f}",
    "\u{85}",
    "\u{61c}",
    "\u{200e}",
    "\u{200f}",
    "\u{202a}",
    "\u{202e}",
    "\u{2066}",
    "\u{2069}",
    "\\u{1b}",
];

/// A server's text: hostile pieces, and now and then any character at all.
fn text(rng: &mut fastrand::Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.usize(0..=8) {
        if rng.u8(0..8) == 0 {
            out.push(rng.char(..));
        } else {
            out.push_str(PIECES[rng.usize(0..PIECES.len())]);
        }
    }
    out
}

/// The characters a terminal must never receive from a server: controls (C0, DEL, C1) and the
/// bidirectional marks, embeddings, overrides and isolates.
fn drives_a_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// What a spreadsheet takes for a formula when a cell begins with it.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The records of `text` by RFC 4180's rules: fields separated by `,`, records by a line
/// feed, a field in double quotes may hold anything (`""` for a quote), and an unquoted field
/// holds no quote and no carriage return. `None` when `text` breaks those rules.
fn parse_csv(text: &str) -> Option<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if at_start && c == '"' {
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            if !matches!(chars.peek(), Some(',' | '\n') | None) {
                return None;
            }
            at_start = false;
            continue;
        }
        match c {
            ',' => {
                record.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_start = true;
            }
            '"' | '\r' => return None,
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if !at_start || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Some(records)
}

/// What a CSV cell must read for `value`: the value, behind a `'` when a spreadsheet would
/// run it.
fn csv_cell_for(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn check_csv_field(value: &str) {
    let field = csv_field(value);
    let records = parse_csv(&format!("{field}\n"));
    let expected = csv_cell_for(value);
    assert_eq!(
        records,
        Some(vec![vec![expected.clone()]]),
        "{value:?} written as {field:?}"
    );
    assert!(!expected.starts_with(FORMULA_STARTS), "{field:?}");
    assert_eq!(
        field.starts_with('"'),
        expected.contains([',', '"', '\r', '\n']),
        "quoted if and only if it must be: {field:?}"
    );
}

fn check_terminal_text(value: &str, width: usize) {
    let safe = terminal_safe(value);
    assert!(
        !safe.contains(drives_a_terminal),
        "{value:?} shown as {safe:?}"
    );
    if !value.contains(drives_a_terminal) {
        assert_eq!(safe, value, "harmless text is shown as it is");
    }
    let shown = cell(value, width);
    assert!(
        !shown.contains(drives_a_terminal),
        "{value:?} in a cell: {shown:?}"
    );
    assert_eq!(shown.chars().count(), width, "{shown:?}");
    if safe.chars().count() <= width {
        assert!(shown.starts_with(&safe), "{shown:?}");
    } else {
        assert!(shown.ends_with('…'), "{shown:?}");
        let kept: String = shown.chars().take(width - 1).collect();
        assert!(safe.starts_with(&kept), "a cut keeps the start: {shown:?}");
    }
}

fn hostile_lead(rng: &mut fastrand::Rng) -> Lead {
    serde_json::from_value(serde_json::json!({
        "leadId": text(rng),
        "leadState": text(rng),
        "address": {
            "addressLine1": text(rng),
            "addressLine2": text(rng),
            "city": text(rng),
            "state": text(rng),
            "zip": text(rng),
            "zip4": text(rng),
        }
    }))
    .expect("a lead with text fields")
}

fn written(format: Format, leads: &[Lead]) -> String {
    let mut buf = Vec::new();
    let mut w = ListWriter::new(&mut buf, format, LEAD_COLUMNS);
    w.begin().expect("begin");
    for lead in leads {
        w.write_lead(lead).expect("write");
    }
    w.finish().expect("finish");
    String::from_utf8(buf).expect("UTF-8")
}

fn check_writers(leads: &[Lead]) {
    let csv = written(Format::Csv, leads);
    let records = parse_csv(&csv).unwrap_or_else(|| panic!("not CSV: {csv:?}"));
    assert_eq!(records.len(), leads.len() + 1, "one record a lead: {csv:?}");
    for (record, lead) in records[1..].iter().zip(leads) {
        let expected: Vec<String> = fields(lead).iter().map(|f| csv_cell_for(f)).collect();
        assert_eq!(record, &expected, "{csv:?}");
    }

    let table = written(Format::Table, leads);
    assert_eq!(
        table.lines().count(),
        leads.len() + 1,
        "one line a lead: {table:?}"
    );
    assert!(
        !table.replace('\n', "").contains(drives_a_terminal),
        "{table:?}"
    );
}

#[test]
fn fuzz_csv_and_table_writers() {
    let mut rng = rng();
    for _ in 0..iterations() {
        let value = text(&mut rng);
        let width = rng.usize(1..=40);
        let input = format!("{value:?} (width {width})");
        let checked = std::panic::catch_unwind(|| {
            check_csv_field(&value);
            check_terminal_text(&value, width);
        });
        assert!(checked.is_ok(), "the CLI's writers failed on {input}");
    }
    for _ in 0..iterations() / 10 + 1 {
        let leads: Vec<Lead> = (0..rng.usize(0..=3))
            .map(|_| hostile_lead(&mut rng))
            .collect();
        check_writers(&leads);
    }
}

#[test]
fn the_csv_parser_of_these_tests_follows_rfc_4180() {
    assert_eq!(
        parse_csv("a,\"b,\"\"c\"\"\r\nd\",\n,x\n"),
        Some(vec![
            vec!["a".to_owned(), "b,\"c\"\r\nd".to_owned(), String::new()],
            vec![String::new(), "x".to_owned()],
        ])
    );
    assert_eq!(parse_csv("a\"b\n"), None, "a bare quote");
    assert_eq!(parse_csv("a\rb\n"), None, "a bare carriage return");
    assert_eq!(parse_csv("\"a\"b\n"), None, "text after the closing quote");
}

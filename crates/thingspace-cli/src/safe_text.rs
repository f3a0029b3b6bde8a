//! Text from a server made safe for where it is shown: a terminal, a spreadsheet.

/// A CSV field: a value a spreadsheet would run as a formula (it begins with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises; then it is quoted
/// when it needs it (RFC 4180).
pub(crate) fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// `v` as a terminal may show it: control characters (escape sequences, carriage returns, NUL,
/// new lines) and bidirectional overrides written as visible escapes (`\u{1b}`), so text from a
/// server can neither drive the terminal nor reorder what is shown.
pub(crate) fn terminal_safe(v: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !v.contains(unsafe_char) {
        return v.to_owned();
    }
    v.chars()
        .map(|c| {
            if unsafe_char(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

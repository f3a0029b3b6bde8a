//! Path templates and the encoding of path parameters.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, Result};

/// Everything but the unreserved characters of RFC 3986 is encoded, so a value can never
/// add a segment (`/`), start a query (`?`) or fragment (`#`), or smuggle an escape (`%`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Longest path parameter accepted, in bytes.
pub const MAX_PARAM_LEN: usize = 256;

/// Checks and percent-encodes one path parameter.
///
/// Rejected before any request: an empty or blank value, leading or trailing white space, `.`
/// and `..` (which URL normalisation would turn into a different path), `/` and `\\` (no
/// account name has one, and gateways decode `%2F` into a segment separator, so the request
/// would reach another resource and its 404 would read as "no such account"), control
/// characters, and values longer than [`MAX_PARAM_LEN`] bytes. Everything else is encoded and
/// reaches the server unchanged: `0000123456` keeps its zeros.
///
/// ```
/// use thingspace_core::path::encode_param;
///
/// assert_eq!(encode_param("accountname", "0000123456")?, "0000123456");
/// assert_eq!(encode_param("accountname", "a?c#d%e")?, "a%3Fc%23d%25e");
/// assert!(encode_param("accountname", " ").is_err());
/// assert!(encode_param("accountname", "a/b").is_err());
/// assert!(encode_param("accountname", "..").is_err());
/// # Ok::<(), thingspace_core::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), naming the parameter.
pub fn encode_param(name: &str, value: &str) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    push_param(&mut out, name, value)?;
    Ok(out)
}

/// Checks `value` as [`encode_param`] does and appends it, percent-encoded, to `out`.
fn push_param(out: &mut String, name: &str, value: &str) -> Result<()> {
    if value.len() > MAX_PARAM_LEN {
        // Refused before any encoding work.
        return check_param(name, value);
    }
    let encoded = Cow::from(utf8_percent_encode(value, SEGMENT));
    // Most values (account names, device ids) are unreserved characters only: nothing to
    // encode (the encoding is the value itself), and so no white space, control or
    // invisible character to look for.
    if encoded == value && !value.is_empty() && value != "." && value != ".." {
        out.push_str(value);
        return Ok(());
    }
    check_param(name, value)?;
    out.push_str(&encoded);
    Ok(())
}

/// The checks of [`encode_param`], for a value with characters to encode.
fn check_param(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(format!("`{name}` must not be empty")));
    }
    if value.trim() != value {
        return Err(Error::invalid_input(format!(
            "`{name}` must not begin or end with white space"
        )));
    }
    if value.contains(['/', '\\']) {
        return Err(Error::invalid_input(format!(
            "`{name}` must not contain `/` or `\\`"
        )));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(format!(
            "`{name}` must not be `{value}`"
        )));
    }
    if value.len() > MAX_PARAM_LEN {
        return Err(Error::invalid_input(format!(
            "`{name}` is longer than {MAX_PARAM_LEN} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(format!(
            "`{name}` must not contain control characters"
        )));
    }
    if let Some(c) = value.chars().find(|c| is_invisible(*c)) {
        return Err(Error::invalid_input(format!(
            "`{name}` holds an invisible character (U+{:04X}), likely pasted in by accident: no name has one",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Format characters that show as nothing: byte-order mark, zero-width spaces and joiners,
/// soft hyphen, bidirectional marks and overrides, invisible operators.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
    )
}

/// Fills a template such as `/m2m/v1/accounts/{accountname}` with encoded parameters.
#[cfg(test)]
fn expand(template: &str, params: &[(&'static str, String)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 32);
    expand_into(&mut out, template, params)?;
    Ok(out)
}

/// Appends `template` to `out`, filled with encoded parameters.
pub(crate) fn expand_into(
    out: &mut String,
    template: &str,
    params: &[(&'static str, String)],
) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
            Error::invalid_input(format!("unclosed `{{` in path template `{template}`"))
        })?;
        let name = &rest[open + 1..close];
        let value = params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::invalid_input(format!("missing path parameter `{name}`")))?;
        push_param(out, name, value)?;
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_stay_in_their_segment() {
        for (raw, enc) in [
            ("a b", "a%20b"),
            ("x?y=1", "x%3Fy%3D1"),
            ("#frag", "%23frag"),
            ("100%", "100%25"),
            ("zürich", "z%C3%BCrich"),
            ("2024009649-00001", "2024009649-00001"),
            ("a..b", "a..b"),
        ] {
            assert_eq!(encode_param("p", raw).expect(raw), enc);
        }
    }

    #[test]
    fn the_shortcut_for_plain_values_agrees_with_the_full_encoding() {
        for value in [
            "0000123456",
            "a.b~c_d-e",
            "A",
            "a..b",
            "...",
            "zürich",
            "a b",
            "%41",
        ] {
            let full =
                check_param("p", value).map(|()| utf8_percent_encode(value, SEGMENT).to_string());
            assert_eq!(encode_param("p", value).ok(), full.ok(), "{value}");
        }
    }

    #[test]
    fn rejects_before_sending() {
        for bad in [
            "",
            "   ",
            ".",
            "..",
            "a\nb",
            "a\u{0}b",
            "a/b",
            "../admin",
            "a\\b",
            "/",
            " 0000123456",
            "0000123456\t",
        ] {
            let e = encode_param("accountname", bad).expect_err(bad);
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("accountname"));
        }
        assert!(encode_param("p", &"x".repeat(MAX_PARAM_LEN + 1)).is_err());
    }

    #[test]
    fn expands_templates() {
        let p = expand(
            "/m2m/v1/accounts/{accountname}/x",
            &[("accountname", "0001?2".into())],
        )
        .expect("expand");
        assert_eq!(p, "/m2m/v1/accounts/0001%3F2/x");
        assert!(expand("/a/{b}", &[]).is_err());
    }

    #[test]
    fn invisible_characters_are_refused() {
        for bad in [
            "\u{feff}0000123456",
            "0000\u{200b}123456",
            "0000123456\u{202e}",
            "a\u{00ad}b",
        ] {
            let e = encode_param("accountname", bad).expect_err(bad);
            assert!(e.to_string().contains("invisible character"), "{e}");
        }
        assert!(encode_param("accountname", "Zoë-0001").is_ok());
    }
}

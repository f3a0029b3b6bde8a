//! Devices files: one device a line, read line by line.

use std::{
    collections::HashMap,
    io::BufRead,
    path::{Path, PathBuf},
};

use thingspace_core::DeviceId;

use crate::error::BulkError;

/// The longest line a devices file may have, in bytes.
const MAX_LINE: usize = 512;

/// Reads the devices of the file at `path`, line by line: one device a line, either an id
/// alone (of kind `default_kind`) or `kind,id`; blank lines and lines starting with `#` are
/// skipped, and so is a first line `kind,id` (a CSV header). A device may appear once.
///
/// ```
/// # fn main() -> Result<(), thingspace_bulk::BulkError> {
/// let text = "# the spring fleet\nkind,id\n990013907835573\niccid,89148000000800784259\n\n";
/// let devices = thingspace_bulk::parse_devices(text.as_bytes(), "imei")?;
/// assert_eq!(devices.len(), 2);
/// assert_eq!(devices[0].to_string(), "imei=990013907835573");
/// assert!(thingspace_bulk::parse_devices("1\n1\n".as_bytes(), "imei").is_err()); // repeated
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`BulkError::Io`] when the file cannot be read; [`BulkError::DevicesFile`] naming the first
/// line that is not a device (more than two fields, an empty field, a kind that is not letters
/// and digits, white space or a control character in an id, more than 512 bytes, not UTF-8) or
/// that repeats an earlier one; [`BulkError::Devices`] when the file names no device.
pub fn read_devices(
    path: impl AsRef<Path>,
    default_kind: &str,
) -> Result<Vec<DeviceId>, BulkError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| BulkError::io(path, e))?;
    parse(std::io::BufReader::new(file), default_kind, path)
}

/// As [`read_devices`], from any reader (errors name no file).
///
/// # Errors
/// As [`read_devices`].
pub fn parse_devices(reader: impl BufRead, default_kind: &str) -> Result<Vec<DeviceId>, BulkError> {
    parse(reader, default_kind, Path::new(""))
}

fn parse(
    mut reader: impl BufRead,
    default_kind: &str,
    path: &Path,
) -> Result<Vec<DeviceId>, BulkError> {
    let bad = |line: usize, reason: String| BulkError::DevicesFile {
        path: PathBuf::from(path),
        line,
        reason,
    };
    let mut devices = Vec::new();
    let mut seen: HashMap<DeviceId, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut n = 0;
    let mut first = true;
    loop {
        buf.clear();
        let read = std::io::Read::take(&mut reader, MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| BulkError::io(path, e))?;
        if read == 0 {
            break;
        }
        n += 1;
        let content = buf
            .strip_suffix(b"\n")
            .map_or(buf.as_slice(), |b| b.strip_suffix(b"\r").unwrap_or(b));
        if content.len() > MAX_LINE {
            return Err(bad(n, format!("longer than {MAX_LINE} bytes")));
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Err(bad(n, "not UTF-8 text".into()));
        };
        let mut line = text.trim();
        if n == 1 {
            line = line.trim_start_matches('\u{feff}').trim();
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if std::mem::take(&mut first)
            && fields.len() == 2
            && fields[0].eq_ignore_ascii_case("kind")
            && fields[1].eq_ignore_ascii_case("id")
        {
            continue;
        }
        let (kind, id) = match fields.as_slice() {
            [id] => (default_kind, *id),
            [kind, id] => (*kind, *id),
            _ => return Err(bad(n, "expected an id, or `kind,id`".into())),
        };
        if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(
                n,
                format!(
                    "`{}` is not a kind (esn, eid, iccid, imei, mdn, meid, msisdn)",
                    kind.escape_debug()
                ),
            ));
        }
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                n,
                format!(
                    "`{}` is not a device id (empty, or with spaces)",
                    id.escape_debug()
                ),
            ));
        }
        let device = DeviceId::new(kind.to_ascii_lowercase(), id);
        if let Some(earlier) = seen.insert(device.clone(), n) {
            return Err(bad(
                n,
                format!("{device} is already on line {earlier}: a device is sent once"),
            ));
        }
        devices.push(device);
    }
    if devices.is_empty() {
        return Err(BulkError::Devices(if path.as_os_str().is_empty() {
            "no device: the devices file names none".into()
        } else {
            format!("no device: {} names none", path.display())
        }));
    }
    Ok(devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Vec<DeviceId>, BulkError> {
        parse_devices(text.as_bytes(), "imei")
    }

    #[test]
    fn ids_alone_or_with_their_kind_comments_and_blanks_skipped() {
        let devices =
            parse_text("\u{feff}Kind,ID\n# a comment\n\n 1 \r\nICCID, 2\n").expect("devices");
        assert_eq!(
            devices,
            [DeviceId::new("imei", "1"), DeviceId::new("iccid", "2")]
        );
        assert_eq!(devices[1].kind, "iccid");
        let devices = parse_text("990013907835573").expect("no final newline");
        assert_eq!(devices.len(), 1);
    }

    #[test]
    fn a_bad_line_is_named() {
        for (text, line) in [
            ("1\n2\nimei,3,x\n", 3),
            ("1\n,2\n", 2),
            ("1\nim ei,2\n", 2),
            ("1\n\n# c\nimei,\n", 4),
            ("1\n2 3\n", 2),
            ("1\nimei,1\n", 2),
            ("kind,id\nimei,1\nIMEI,1\n", 3),
        ] {
            match parse_text(text) {
                Err(BulkError::DevicesFile { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let long = format!("1\n{}\n", "9".repeat(MAX_LINE + 1));
        assert!(matches!(
            parse_text(&long),
            Err(BulkError::DevicesFile { line: 2, .. })
        ));
        let bytes: &[u8] = b"1\n\xff\xfe\n";
        assert!(matches!(
            parse_devices(bytes, "imei"),
            Err(BulkError::DevicesFile { line: 2, .. })
        ));
        assert!(matches!(
            parse_text("# only\n\n"),
            Err(BulkError::Devices(_))
        ));
        let e = parse_text("1\n1\n").expect_err("repeated");
        assert_eq!(
            e.to_string(),
            "devices, line 2: imei=1 is already on line 1: a device is sent once"
        );
    }
}

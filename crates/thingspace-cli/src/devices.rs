//! The devices of `devices activate` and `devices state`: `--device KIND=ID` flags and `--devices-file` CSV files
//! (a header row `kind,id`, then one device a line).

use std::path::Path;

use thingspace::m2m::DeviceId;

use crate::error::CliError;

/// Parses `--device KIND=ID`.
pub(crate) fn device_flag(text: &str) -> Result<DeviceId, String> {
    let (kind, id) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KIND=ID (such as imei=990013907835573)"))?;
    let (kind, id) = (kind.trim(), id.trim());
    if kind.is_empty() || id.is_empty() {
        return Err(format!("`{text}` needs both a kind and an id: KIND=ID"));
    }
    Ok(DeviceId::new(kind, id))
}

/// The devices of `--device` flags and a `--devices-file`, at least one.
pub(crate) fn collect(flags: &[DeviceId], file: Option<&Path>) -> Result<Vec<DeviceId>, CliError> {
    let mut ids = flags.to_vec();
    if let Some(path) = file {
        ids.extend(read_file(path).map_err(CliError::Usage)?);
    }
    if ids.is_empty() {
        return Err(CliError::Usage(
            "no device: give --device KIND=ID or --devices-file".into(),
        ));
    }
    Ok(ids)
}

/// Reads a devices file: a header row `kind,id` (any case, in that order), then one `kind,id`
/// a line; blank lines are skipped.
pub(crate) fn read_file(path: &Path) -> Result<Vec<DeviceId>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read the devices file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(text: &str) -> Result<Vec<DeviceId>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header = lines.next().map(|(_, l)| l.trim_start_matches('\u{feff}'));
    let columns: Vec<String> = header
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if columns != ["kind", "id"] {
        return Err("the first line must be the header `kind,id`".into());
    }
    lines
        .map(|(n, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            match fields.as_slice() {
                [kind, id] if !kind.is_empty() && !id.is_empty() => Ok(DeviceId::new(*kind, *id)),
                _ => Err(format!("line {}: expected `kind,id`", n + 1)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flags_and_files() {
        assert_eq!(
            device_flag("imei=990013907835573").expect("flag"),
            DeviceId::new("imei", "990013907835573")
        );
        for bad in ["imei", "=1", "imei="] {
            assert!(device_flag(bad).is_err(), "{bad}");
        }
        let devices = parse("\u{feff}Kind,ID\nimei,1\n\niccid, 2 \n").expect("file");
        assert_eq!(
            devices,
            [DeviceId::new("imei", "1"), DeviceId::new("iccid", "2")]
        );
        assert!(parse("id,kind\nimei,1").is_err());
        let e = parse("kind,id\nimei,1\nimei\n").expect_err("bad line");
        assert!(e.contains("line 3"), "{e}");
        assert!(parse("").is_err());
    }
}

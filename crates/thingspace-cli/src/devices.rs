//! The devices of `devices activate` and `devices state`: `--device KIND=ID` flags (a
//! `--devices-file` is read by the bulk job, `thingspace::bulk::read_devices`).

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

/// The devices of `--device` flags, at least one (a `--devices-file` is a bulk job, see
/// [`crate::bulk`]).
pub(crate) fn collect(flags: &[DeviceId]) -> Result<Vec<DeviceId>, CliError> {
    if flags.is_empty() {
        return Err(CliError::Usage(
            "no device: give --device KIND=ID or --devices-file".into(),
        ));
    }
    Ok(flags.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flags() {
        assert_eq!(
            device_flag("imei=990013907835573").expect("flag"),
            DeviceId::new("imei", "990013907835573")
        );
        for bad in ["imei", "=1", "imei="] {
            assert!(device_flag(bad).is_err(), "{bad}");
        }
        assert!(collect(&[]).is_err());
    }
}

//! Devices as every family names them: one identifier and its kind.

use std::{
    fmt,
    hash::{Hash, Hasher},
};

use serde::{Deserialize, Serialize};

/// One identifier of a device: its kind (`imei`, `iccid`, `msisdn`, …) and value.
///
/// Kinds are compared without regard to case, as ThingSpace writes them in any case
/// (`imei`, `IMEI`, `Imei`); the value is compared exactly.
///
/// ```
/// use thingspace_core::DeviceId;
///
/// assert_eq!(DeviceId::new("IMEI", "990013907835573"), DeviceId::new("imei", "990013907835573"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceId {
    /// The identifier.
    pub id: String,
    /// The kind, as written (`esn`, `eid`, `iccid`, `imei`, `mdn`, `meid`, `msisdn`, …).
    pub kind: String,
}

impl DeviceId {
    /// A device identifier of `kind` with value `id`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

impl PartialEq for DeviceId {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.kind.eq_ignore_ascii_case(&other.kind)
    }
}

impl Eq for DeviceId {}

impl Hash for DeviceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.kind.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
        self.id.hash(state);
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind.to_ascii_lowercase(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_compare_kinds_without_case() {
        use std::collections::HashSet;
        let set: HashSet<DeviceId> = [DeviceId::new("IMEI", "1")].into_iter().collect();
        assert!(set.contains(&DeviceId::new("imei", "1")));
        assert!(!set.contains(&DeviceId::new("imei", "2")));
        assert!(!set.contains(&DeviceId::new("iccid", "1")));
    }
}

//! The devices' data: identifiers, the devices of an activation or a state change, a device
//! as the list answers, and the request id of the asynchronous actions.

use serde::{Deserialize, Serialize};
pub use thingspace_core::DeviceId;
use thingspace_core::de::{nonempty_text, null_as_default, opt_string_or_number};
use thingspace_core::{Error, Result};

use crate::accounts::KeyValue;

/// The most devices one activation, or one state change, takes.
pub const MAX_DEVICES_PER_REQUEST: usize = 10_000;

/// Refuses more than [`MAX_DEVICES_PER_REQUEST`] devices in one request of `operation`, a
/// request that the message names `what` (`activation`, `state change`).
pub(super) fn check_device_count(n: usize, operation: &'static str, what: &str) -> Result<()> {
    if n <= MAX_DEVICES_PER_REQUEST {
        return Ok(());
    }
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    Err(Error::invalid_input(format!(
        "{article} {what} takes at most {MAX_DEVICES_PER_REQUEST} devices, not {n}: split it"
    ))
    .with_operation(operation))
}

/// One device of an activation: its identifiers, and an optional static IP address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActivationDevice {
    /// The device's identifiers.
    pub device_ids: Vec<DeviceId>,
    /// A static IP address, when the plan takes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

impl ActivationDevice {
    /// A device known by one identifier, `id` of kind `kind`, without a static IP address.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            device_ids: vec![DeviceId::new(kind, id)],
            ip_address: None,
        }
    }
}

/// A custom field of a device (`CustomField1` to `CustomField5`, values up to 50 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CustomField {
    /// `CustomField1` to `CustomField5`.
    pub key: String,
    /// The value.
    pub value: String,
}

/// A device, as the device list answers. Serialises with the wire names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// The account the device belongs to.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub account_name: Option<String>,
    /// The device's identifiers (any number).
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_ids: Vec<DeviceId>,
    /// Carrier, plan and state, per carrier.
    #[serde(default, deserialize_with = "null_as_default")]
    pub carrier_informations: Vec<CarrierInformation>,
    /// Whether the device is connected.
    #[serde(default)]
    pub connected: Option<bool>,
    /// When the device was added, as sent.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub created_at: Option<String>,
    /// The end of the billing cycle, as sent.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub billing_cycle_end_date: Option<String>,
    /// Custom fields.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: Vec<KeyValue>,
    /// Extended attributes (among them `DeviceId`, the id the listing pages by).
    #[serde(default, deserialize_with = "null_as_default")]
    pub extended_attributes: Vec<KeyValue>,
    /// The device groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_names: Vec<String>,
    /// The IP address.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub ip_address: Option<String>,
    /// Who last activated it.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub last_activation_by: Option<String>,
    /// When it was last activated, as sent.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub last_activation_date: Option<String>,
    /// When it last connected, as sent.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub last_connection_date: Option<String>,
}

impl Device {
    /// The id the listing pages by: the `DeviceId` extended attribute, when numeric (a
    /// [`DeviceCursor`](super::DeviceCursor)).
    pub fn paging_id(&self) -> Option<i64> {
        self.extended_attributes
            .iter()
            .find(|kv| kv.key.as_deref() == Some("DeviceId"))
            .and_then(|kv| kv.value.as_deref()?.trim().parse().ok())
    }
}

/// A device's carrier, plan and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CarrierInformation {
    /// The carrier.
    #[serde(default)]
    pub carrier_name: Option<String>,
    /// The service plan.
    #[serde(default)]
    pub service_plan: Option<String>,
    /// The state, such as `active`.
    #[serde(default)]
    pub state: Option<String>,
}

/// The synchronous answer of an asynchronous request: its id. Each device's result arrives
/// later at the callback listener, carrying the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestId {
    /// The request's id.
    #[serde(deserialize_with = "nonempty_text")]
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_devices_are_refused_in_the_requests_words() {
        assert!(check_device_count(MAX_DEVICES_PER_REQUEST, "op", "activation").is_ok());
        for (what, said) in [
            (
                "activation",
                "op: an activation takes at most 10000 devices, not 10001: split it",
            ),
            (
                "state change",
                "op: a state change takes at most 10000 devices, not 10001: split it",
            ),
        ] {
            let e = check_device_count(MAX_DEVICES_PER_REQUEST + 1, "op", what).expect_err(what);
            assert_eq!(e.kind(), thingspace_core::ErrorKind::InvalidInput);
            assert_eq!(e.to_string(), said);
        }
    }
}

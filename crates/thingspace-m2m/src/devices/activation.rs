//! Activation: `POST /m2m/v1/devices/actions/activate`, credited to a lead or not.

use std::pin::Pin;

use futures_core::Stream;
use serde::Serialize;
use thingspace_core::{ApiRequest, Error, Response, Result};

use super::model::{ActivationDevice, CustomField, DeviceId, RequestId, check_device_count};
use crate::leads::{Lead, LeadsApi};

/// Operation name of [`DevicesApi::activate`](super::DevicesApi::activate).
pub const ACTIVATE_DEVICES: &str = "m2m.devices.activate";

/// The lead states the activation document names as creditable.
const CREDITABLE_LEAD_STATES: &[&str] = &["Qualified", "Closed - Won"];

/// An activation: the body of `POST /m2m/v1/devices/actions/activate`.
///
/// ```
/// use thingspace_m2m::devices::Activation;
///
/// let activation = Activation::new("M2MPlan", "94203")
///     .device("imei", "990013907835573")
///     .device("iccid", "89148000000800784259");
/// assert_eq!(activation.devices.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Activation {
    /// The devices (at most 10,000).
    pub devices: Vec<ActivationDevice>,
    /// The service plan's code (see `servicePlans[].code` in the account).
    pub service_plan: String,
    /// The ZIP code used to choose the MDN (with a lead, the lead's ZIP).
    pub mdn_zip_code: String,
    /// The lead credited for the activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    /// The account the devices go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// The carrier's IP pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_ip_pool_name: Option<String>,
    /// The carrier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    /// A cost center code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center_code: Option<String>,
    /// Custom fields set on every device.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomField>,
    /// The device group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// The primary place of use (`customerName`, `address`), as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_place_of_use: Option<serde_json::Value>,
    /// `restricted` or `unrestricted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip_restriction: Option<String>,
    /// The SKU of a device bought from Verizon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku_number: Option<String>,
}

impl Activation {
    /// An activation on `service_plan`, choosing MDNs near `mdn_zip_code`, of no device yet.
    pub fn new(service_plan: impl Into<String>, mdn_zip_code: impl Into<String>) -> Self {
        Self {
            service_plan: service_plan.into(),
            mdn_zip_code: mdn_zip_code.into(),
            ..Self::default()
        }
    }

    /// Adds a device known by one identifier.
    pub fn device(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.devices.push(ActivationDevice::new(kind, id));
        self
    }

    /// Adds a device known by several identifiers, with an optional static IP address.
    pub fn device_with(mut self, ids: Vec<DeviceId>, ip_address: Option<String>) -> Self {
        self.devices.push(ActivationDevice {
            device_ids: ids,
            ip_address,
        });
        self
    }

    /// Sends the devices to `account`.
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account_name = Some(account.into());
        self
    }

    /// Every device's identifiers, in order.
    pub fn device_ids(&self) -> impl Iterator<Item = &DeviceId> {
        self.devices.iter().flat_map(|d| d.device_ids.iter())
    }
}

/// The lead `lead_id` of `account`, read from the listing until it appears.
pub(super) async fn find_lead(leads: LeadsApi<'_>, account: &str, lead_id: &str) -> Result<Lead> {
    let mut listing = leads.list(account);
    while let Some(lead) = std::future::poll_fn(|cx| Pin::new(&mut listing).poll_next(cx)).await {
        let lead = lead?;
        if lead.lead_id.as_deref().map(str::trim) == Some(lead_id.trim()) {
            return Ok(lead);
        }
    }
    Err(Error::invalid_input(format!(
        "lead `{lead_id}` is not among the leads of account `{account}`; nothing was activated"
    ))
    .with_operation(ACTIVATE_DEVICES))
}

/// `activation` credited to `lead`: its id, its ZIP as `mdnZipCode`, and `account`.
pub(super) fn for_lead(
    mut activation: Activation,
    account: &str,
    lead: &Lead,
) -> Result<Activation> {
    let Some(zip) = lead
        .address
        .zip
        .as_deref()
        .map(str::trim)
        .filter(|z| !z.is_empty())
    else {
        return Err(Error::invalid_input(format!(
            "lead `{}` has no ZIP code to send as mdnZipCode; nothing was activated",
            lead.lead_id.as_deref().unwrap_or_default()
        ))
        .with_operation(ACTIVATE_DEVICES));
    };
    let state = lead.lead_state.as_deref().unwrap_or_default();
    if !CREDITABLE_LEAD_STATES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(state.trim()))
    {
        tracing::warn!(
            lead = lead.lead_id.as_deref().unwrap_or_default(),
            state,
            "the lead is neither Qualified nor Closed - Won; the service may refuse to credit it"
        );
    }
    activation.mdn_zip_code = zip.to_owned();
    activation.lead_id = lead.lead_id.clone();
    if activation.account_name.is_none() {
        activation.account_name = Some(account.to_owned());
    }
    Ok(activation)
}

/// The request of [`DevicesApi::activate`](super::DevicesApi::activate).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for no device, more
/// than 10,000, a device without a usable identifier, or no plan or ZIP.
pub fn activate_request(activation: &Activation) -> Result<ApiRequest> {
    let invalid = |what: String| Err(Error::invalid_input(what).with_operation(ACTIVATE_DEVICES));
    let n = activation.devices.len();
    if n == 0 {
        return invalid("an activation needs at least one device".into());
    }
    check_device_count(n, ACTIVATE_DEVICES, "activation")?;
    if let Some(i) = activation.devices.iter().position(|d| {
        d.device_ids.is_empty()
            || d.device_ids
                .iter()
                .any(|id| id.id.trim().is_empty() || id.kind.trim().is_empty())
    }) {
        return invalid(format!(
            "device {} of the activation has no identifier, or one without an id or kind",
            i + 1
        ));
    }
    if activation.service_plan.trim().is_empty() {
        return invalid("an activation needs a service plan".into());
    }
    if activation.mdn_zip_code.trim().is_empty() {
        return invalid("an activation needs a ZIP code (mdnZipCode)".into());
    }
    let mut request =
        ApiRequest::post(ACTIVATE_DEVICES, "/m2m/v1/devices/actions/activate").json(activation);
    if let Some(account) = &activation.account_name {
        request = request.for_account(account.clone());
    }
    Ok(request.how_to_check(
        "wait for the CarrierService callbacks of this activation, or look the devices up \
                 (each activation spends one of a line's five daily provisioning actions; do not \
                 send it again blind)",
    ))
}

/// Decodes the answer to [`DevicesApi::activate`](super::DevicesApi::activate).
///
/// # Errors
/// A decode error for an answer without a `requestId`.
pub fn decode_activate(response: &Response) -> Result<RequestId> {
    response.json(ACTIVATE_DEVICES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::MAX_DEVICES_PER_REQUEST;
    use crate::leads::LeadAddress;

    #[test]
    fn the_body_has_the_documents_names() {
        let a = Activation::new("M2MPlan", "94203").device("imei", "990013907835573");
        let v = serde_json::to_value(&a).expect("json");
        assert_eq!(v["servicePlan"], "M2MPlan");
        assert_eq!(v["mdnZipCode"], "94203");
        assert_eq!(v["devices"][0]["deviceIds"][0]["kind"], "imei");
        assert!(v.get("leadId").is_none() && v.get("customFields").is_none());
    }

    #[test]
    fn bad_activations_are_refused_before_sending() {
        let many = (0..=MAX_DEVICES_PER_REQUEST).fold(Activation::new("P", "1"), |a, i| {
            a.device("imei", i.to_string())
        });
        for a in [
            Activation::new("P", "94203"),
            many,
            Activation::new("", "94203").device("imei", "1"),
            Activation::new("P", " ").device("imei", "1"),
            Activation::new("P", "94203").device("", "1"),
            Activation::new("P", "94203").device_with(Vec::new(), None),
        ] {
            let e = activate_request(&a).expect_err("refused");
            assert_eq!(e.kind(), thingspace_core::ErrorKind::InvalidInput, "{e}");
        }
        let max = (0..MAX_DEVICES_PER_REQUEST).fold(Activation::new("P", "1"), |a, i| {
            a.device("imei", i.to_string())
        });
        assert!(activate_request(&max).is_ok());
    }

    #[test]
    fn a_lead_gives_its_zip_and_id() {
        let lead = Lead {
            lead_id: Some("1234".into()),
            lead_state: Some("Closed".into()),
            address: LeadAddress {
                zip: Some("94203".into()),
                ..LeadAddress::default()
            },
        };
        let a = for_lead(
            Activation::new("P", "").device("imei", "1"),
            "0000123456",
            &lead,
        )
        .expect("credited");
        assert_eq!(a.mdn_zip_code, "94203");
        assert_eq!(a.lead_id.as_deref(), Some("1234"));
        assert_eq!(a.account_name.as_deref(), Some("0000123456"));
        // The account is named to interceptors, so a rate limit per account can hold it.
        let request = activate_request(&a).expect("request");
        assert_eq!(request.account(), Some("0000123456"));
        let no_zip = Lead {
            lead_id: Some("1".into()),
            ..Lead::default()
        };
        assert!(for_lead(Activation::new("P", ""), "a", &no_zip).is_err());
    }
}

//! State changes: `PUT /m2m/v1/devices/actions/goToState` (or `gotostate`).

use serde::Serialize;
use thingspace_core::{ApiRequest, Error, Response, Result};

use super::model::{ActivationDevice, CustomField, RequestId, check_device_count};
use crate::states_and_services::StatesAndServices;

/// Operation name of [`DevicesApi::go_to_state`](super::DevicesApi::go_to_state).
pub const GO_TO_STATE: &str = "m2m.devices.go_to_state";

/// The go-to-state path as the document spells it, then as the generated SDKs do.
pub(super) const GO_TO_STATE_PATHS: [&str; 2] = [
    "/m2m/v1/devices/actions/goToState",
    "/m2m/v1/devices/actions/gotostate",
];

/// A move of devices into a custom state: the body of `PUT /m2m/v1/devices/actions/goToState`.
/// The service, state and plan come from the account's states and services
/// ([`check_against`](Self::check_against) verifies them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StateChange {
    /// The custom service.
    pub service_name: String,
    /// The state to move the devices into.
    pub state_name: String,
    /// One of that state's service plans.
    pub service_plan: String,
    /// The ZIP code used to choose MDNs.
    pub mdn_zip_code: String,
    /// The devices (at most 10,000), unless a group is named.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<ActivationDevice>,
    /// Every device of this group, instead of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// The carrier's IP pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_ip_pool_name: Option<String>,
    /// `restricted` or `unrestricted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip_restriction: Option<String>,
    /// Custom fields set on every device.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomField>,
}

impl StateChange {
    /// A move into `state` of `service`, on `plan`, choosing MDNs near `mdn_zip_code`.
    pub fn new(
        service: impl Into<String>,
        state: impl Into<String>,
        plan: impl Into<String>,
        mdn_zip_code: impl Into<String>,
    ) -> Self {
        Self {
            service_name: service.into(),
            state_name: state.into(),
            service_plan: plan.into(),
            mdn_zip_code: mdn_zip_code.into(),
            ..Self::default()
        }
    }

    /// Adds a device known by one identifier.
    pub fn device(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.devices.push(ActivationDevice::new(kind, id));
        self
    }

    /// Checks that the service, the state and the plan exist in `states` (the account's
    /// states and services), so a typo is found before anything is sent.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) naming what is missing.
    pub fn check_against(&self, states: &StatesAndServices) -> Result<()> {
        let invalid = |what: String| Err(Error::invalid_input(what).with_operation(GO_TO_STATE));
        let services: Vec<_> = states
            .engagement
            .iter()
            .flat_map(|e| &e.services)
            .filter(|s| s.name.as_deref() == Some(self.service_name.as_str()))
            .collect();
        if services.is_empty() {
            return invalid(format!(
                "the account has no custom service `{}`",
                self.service_name
            ));
        }
        let Some(state) = services
            .iter()
            .flat_map(|s| &s.states)
            .find(|st| st.name.as_deref() == Some(self.state_name.as_str()))
        else {
            return invalid(format!(
                "the service `{}` has no state `{}`",
                self.service_name, self.state_name
            ));
        };
        if !state.service_plans.contains(&self.service_plan) {
            return invalid(format!(
                "the state `{}` does not take the plan `{}`",
                self.state_name, self.service_plan
            ));
        }
        Ok(())
    }
}

/// The request of [`DevicesApi::go_to_state`](super::DevicesApi::go_to_state) on `path` (one
/// of the two spellings).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for a missing service, state, plan or ZIP, no device and no
/// group, or more than 10,000 devices.
pub fn go_to_state_request(change: &StateChange, path: &'static str) -> Result<ApiRequest> {
    let invalid = |what: String| Err(Error::invalid_input(what).with_operation(GO_TO_STATE));
    for (name, value) in [
        ("service", &change.service_name),
        ("state", &change.state_name),
        ("service plan", &change.service_plan),
        ("ZIP code (mdnZipCode)", &change.mdn_zip_code),
    ] {
        if value.trim().is_empty() {
            return invalid(format!("a state change needs a {name}"));
        }
    }
    if change.devices.is_empty() && change.group_name.is_none() {
        return invalid("a state change needs devices or a group".into());
    }
    check_device_count(change.devices.len(), GO_TO_STATE, "state change")?;
    Ok(ApiRequest::put(GO_TO_STATE, path)
        .json(change)
        .how_to_check(
            "wait for the StateService callbacks of this request, or look the devices up \
         before sending it again",
        ))
}

/// Decodes the answer to [`DevicesApi::go_to_state`](super::DevicesApi::go_to_state).
///
/// # Errors
/// A decode error for an answer without a `requestId`.
pub fn decode_go_to_state(response: &Response) -> Result<RequestId> {
    response.json(GO_TO_STATE)
}

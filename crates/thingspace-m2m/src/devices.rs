//! Device actions: `POST /m2m/v1/devices/actions/activate`, for devices credited to a lead or
//! not. Asynchronous: the service answers with a request id, and the result of each device
//! arrives later at the account's `CarrierService` callback listener.
//!
//! An activation is not idempotent: sent twice it can spend a line's five daily provisioning
//! actions, or fail the second time. It is never sent again after its answer was lost; the
//! error then says how to find out what happened.

use std::pin::Pin;

use futures_core::Stream;
use serde::{Deserialize, Serialize};
use thingspace_core::de::{nonempty_text, null_as_default, opt_string_or_number};
use thingspace_core::http::StatusCode;
use thingspace_core::pagination::{Items, Page, PageSource, Pages};
use thingspace_core::{ApiRequest, Client, Error, ErrorKind, Idempotency, Response, Result};

use crate::accounts::KeyValue;
use crate::leads::{Lead, LeadsApi};
use crate::spelling::KnownSpelling;
use crate::states_and_services::StatesAndServices;

/// Operation name of [`DevicesApi::go_to_state`].
pub const GO_TO_STATE: &str = "m2m.devices.go_to_state";

/// The go-to-state path as the document spells it, then as the generated SDKs do.
const GO_TO_STATE_PATHS: [&str; 2] = [
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
        self.devices.push(ActivationDevice {
            device_ids: vec![DeviceId::new(kind, id)],
            ip_address: None,
        });
        self
    }

    /// Checks that the service, the state and the plan exist in `states` (the account's
    /// states and services), so a typo is found before anything is sent.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming what is missing.
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

/// Operation name of a device-list page request.
pub const LIST_DEVICES: &str = "m2m.devices.list";

/// The cursor of the device list: the largest device id seen so far (`largestDeviceIdSeen`).
pub type DeviceCursor = i64;

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
    /// The id the listing pages by: the `DeviceId` extended attribute, when numeric.
    pub fn paging_id(&self) -> Option<DeviceCursor> {
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

/// Which devices to list: an account, and optional narrowing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeviceFilter {
    /// The account.
    pub account_name: String,
    /// Only devices in this group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Only devices on this plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_plan: Option<String>,
    /// Only devices in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
}

impl DeviceFilter {
    /// Every device of `account`.
    pub fn account(account: impl Into<String>) -> Self {
        Self {
            account_name: account.into(),
            ..Self::default()
        }
    }

    /// Only devices in `group`.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group_name = Some(group.into());
        self
    }
}

/// The [`PageSource`] of a device list.
#[derive(Debug, Clone)]
pub struct DevicePages {
    client: Client,
    filter: DeviceFilter,
}

#[async_trait::async_trait]
impl PageSource for DevicePages {
    type Item = Device;
    type Cursor = DeviceCursor;

    async fn fetch_page(&self, cursor: Option<DeviceCursor>) -> Result<Page<Device, DeviceCursor>> {
        decode_list(
            &self
                .client
                .send(&list_request(&self.filter, cursor))
                .await?,
        )
    }
}

/// The body of a device-list page request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    #[serde(flatten)]
    filter: &'a DeviceFilter,
    largest_device_id_seen: DeviceCursor,
}

/// The request of one page of [`DevicesApi::list`]: a read, safe to repeat.
pub fn list_request(filter: &DeviceFilter, cursor: Option<DeviceCursor>) -> ApiRequest {
    ApiRequest::post(LIST_DEVICES, "/m2m/v1/devices/actions/list")
        .json(&ListBody {
            filter,
            largest_device_id_seen: cursor.unwrap_or(0),
        })
        .with_idempotency(Idempotency::Safe)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer {
    /// Required: a body without `devices` is not a page.
    #[serde(deserialize_with = "null_as_default")]
    devices: Vec<Device>,
    #[serde(default)]
    has_more_data: Option<bool>,
}

/// Decodes one device-list page: its devices, whether more follow (a 202 or `hasMoreData`),
/// and the next cursor, the largest device id on the page (the `DeviceId` extended attribute,
/// or else the largest numeric identifier).
///
/// # Errors
/// A decode error for a body that is not a device page.
pub fn decode_list(response: &Response) -> Result<Page<Device, DeviceCursor>> {
    let body: ListAnswer = response.json(LIST_DEVICES)?;
    let more = body.has_more_data == Some(true) || response.status == StatusCode::ACCEPTED;
    if !more {
        return Ok(Page::last(body.devices));
    }
    let largest = body
        .devices
        .iter()
        .filter_map(|d| {
            d.paging_id().or_else(|| {
                d.device_ids
                    .iter()
                    .filter_map(|id| id.id.trim().parse::<DeviceCursor>().ok())
                    .max()
            })
        })
        .max();
    Ok(Page::more(body.devices, largest))
}

/// Operation name of [`DevicesApi::activate`].
pub const ACTIVATE_DEVICES: &str = "m2m.devices.activate";

/// The most devices one activation takes.
pub const MAX_DEVICES_PER_REQUEST: usize = 10_000;

/// The lead states the activation document names as creditable.
const CREDITABLE_LEAD_STATES: &[&str] = &["Qualified", "Closed - Won"];

/// One identifier of a device: `{"id", "kind"}`, the kind being `esn`, `eid`, `iccid`, `imei`,
/// `mdn`, `meid` or `msisdn` (sent as given; the service reads any case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceId {
    /// The identifier.
    pub id: String,
    /// Its kind.
    pub kind: String,
}

impl DeviceId {
    /// The identifier `id` of kind `kind`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: kind.into(),
        }
    }
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

/// A custom field of a device (`CustomField1` to `CustomField5`, values up to 50 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CustomField {
    /// `CustomField1` to `CustomField5`.
    pub key: String,
    /// The value.
    pub value: String,
}

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
        self.devices.push(ActivationDevice {
            device_ids: vec![DeviceId::new(kind, id)],
            ip_address: None,
        });
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

/// The devices resource. Get it with [`M2m::devices`](crate::M2m::devices).
#[derive(Debug, Clone, Copy)]
pub struct DevicesApi<'a> {
    client: &'a Client,
    state_change_spelling: &'a KnownSpelling,
}

impl<'a> DevicesApi<'a> {
    pub(crate) fn new(client: &'a Client, state_change_spelling: &'a KnownSpelling) -> Self {
        Self {
            client,
            state_change_spelling,
        }
    }

    /// Moves devices into a custom state, on the path spelt `goToState` (the document's) or,
    /// when that answers 404, `gotostate` (the SDKs'), remembered for later calls. Sent once
    /// otherwise: a lost answer is an
    /// [`ErrorKind::OutcomeUnknown`](thingspace_core::ErrorKind::OutcomeUnknown) error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] before sending for a missing service, state, plan or ZIP, no
    /// device and no group, or more than 10,000 devices; the service's error otherwise.
    pub async fn go_to_state(&self, change: &StateChange) -> Result<RequestId> {
        let requests = [
            go_to_state_request(change, GO_TO_STATE_PATHS[0])?,
            go_to_state_request(change, GO_TO_STATE_PATHS[1])?,
        ];
        self.state_change_spelling
            .send(|i| {
                let request = &requests[i];
                async move { decode_go_to_state(&self.client.send(request).await?) }
            })
            .await
    }

    /// Every device that `filter` selects, one by one, over the pages of 2,000 the service
    /// answers (202 while more follow), the next page fetched while you process the current
    /// one, in memory about two pages whatever the fleet's size. A page that says more follow
    /// without a device id to continue from, or repeats one, ends the listing with
    /// [`ErrorKind::Pagination`]; a failure mid-listing carries the cursor to resume from
    /// ([`list_from`](Self::list_from)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty account name, before any request.
    pub fn list(&self, filter: DeviceFilter) -> Result<Items<DevicePages>> {
        self.list_from(filter, None)
    }

    /// As [`list`](Self::list), from `cursor` (a failed listing's resume cursor).
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub fn list_from(
        &self,
        filter: DeviceFilter,
        cursor: Option<DeviceCursor>,
    ) -> Result<Items<DevicePages>> {
        if filter.account_name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the device list needs an account name",
            )
            .with_operation(LIST_DEVICES));
        }
        let source = DevicePages {
            client: self.client.clone(),
            filter,
        };
        Ok(Pages::starting_at(source, cursor).items())
    }

    /// Activates the devices of `activation`. Sent once: a lost answer is an
    /// [`ErrorKind::OutcomeUnknown`](thingspace_core::ErrorKind::OutcomeUnknown) error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before sending for
    /// no device, more than 10,000, a device without an identifier, or no plan or ZIP; the
    /// service's refusal otherwise (`REQUEST_FAILED.DeviceAlreadyActive`, ...).
    pub async fn activate(&self, activation: &Activation) -> Result<RequestId> {
        let request = activate_request(activation)?;
        decode_activate(&self.client.send(&request).await?)
    }

    /// Activates the devices of `activation` in `account`, credited to the lead `lead_id`: the
    /// lead is looked up among the account's leads (streaming, stopping at the match) and its
    /// ZIP sent as `mdnZipCode`, as the leads document says. A lead whose state is neither
    /// `Qualified` nor `Closed - Won` draws a warning naming the state (the service decides).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before any
    /// activation is sent, for a lead that is not among the account's leads or has no ZIP; the
    /// listing's errors; then as [`activate`](Self::activate).
    pub async fn activate_for_lead(
        &self,
        account: &str,
        lead_id: &str,
        activation: Activation,
    ) -> Result<RequestId> {
        let lead = find_lead(LeadsApi::new(self.client), account, lead_id).await?;
        let activation = for_lead(activation, account, &lead)?;
        self.activate(&activation).await
    }
}

/// The lead `lead_id` of `account`, read from the listing until it appears.
async fn find_lead(leads: LeadsApi<'_>, account: &str, lead_id: &str) -> Result<Lead> {
    let mut listing = leads.list(account)?;
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
fn for_lead(mut activation: Activation, account: &str, lead: &Lead) -> Result<Activation> {
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

/// The request of [`DevicesApi::activate`].
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
    if n > MAX_DEVICES_PER_REQUEST {
        return invalid(format!(
            "an activation takes at most {MAX_DEVICES_PER_REQUEST} devices, not {n}: split it"
        ));
    }
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
    Ok(
        ApiRequest::post(ACTIVATE_DEVICES, "/m2m/v1/devices/actions/activate")
            .json(activation)
            .how_to_check(
                "wait for the CarrierService callbacks of this activation, or look the devices up \
                 (each activation spends one of a line's five daily provisioning actions; do not \
                 send it again blind)",
            ),
    )
}

/// The request of [`DevicesApi::go_to_state`] on `path` (one of the two spellings).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a missing service, state, plan or ZIP, no device and no
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
    if change.devices.len() > MAX_DEVICES_PER_REQUEST {
        return invalid(format!(
            "a state change takes at most {MAX_DEVICES_PER_REQUEST} devices, not {}: split it",
            change.devices.len()
        ));
    }
    Ok(ApiRequest::put(GO_TO_STATE, path)
        .json(change)
        .how_to_check(
            "wait for the StateService callbacks of this request, or look the devices up \
         before sending it again",
        ))
}

/// Decodes the answer to [`DevicesApi::go_to_state`].
///
/// # Errors
/// A decode error for an answer without a `requestId`.
pub fn decode_go_to_state(response: &Response) -> Result<RequestId> {
    response.json(GO_TO_STATE)
}

/// Decodes the answer to [`DevicesApi::activate`].
///
/// # Errors
/// A decode error for an answer without a `requestId`.
pub fn decode_activate(response: &Response) -> Result<RequestId> {
    response.json(ACTIVATE_DEVICES)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let no_zip = Lead {
            lead_id: Some("1".into()),
            ..Lead::default()
        };
        assert!(for_lead(Activation::new("P", ""), "a", &no_zip).is_err());
    }

    #[test]
    fn a_page_continues_from_its_largest_device_id() {
        let page = |status: u16, body: &str| {
            decode_list(&Response::new(
                StatusCode::from_u16(status).expect("status"),
                Default::default(),
                body.to_owned(),
            ))
        };
        let p = page(
            202,
            r#"{"hasMoreData":true,"devices":[
                {"deviceIds":[{"id":"5","kind":"imei"}],"extendedAttributes":[{"key":"DeviceId","value":"1000014"}]},
                {"deviceIds":[{"id":"6","kind":"imei"}],"extendedAttributes":[{"key":"DeviceId","value":"1000007"}]}]}"#,
        )
        .expect("page");
        assert_eq!((p.has_more, p.next), (true, Some(1_000_014)));
        // No DeviceId attribute: the largest numeric identifier.
        let p = page(
            202,
            r#"{"devices":[{"deviceIds":[{"id":"990013907835573","kind":"imei"},{"id":"x","kind":"eid"}]}]}"#,
        )
        .expect("page");
        assert_eq!(p.next, Some(990_013_907_835_573));
        // More, but nothing to continue from: no cursor, which the listing turns into an error.
        let p = page(202, r#"{"hasMoreData":true,"devices":[]}"#).expect("page");
        assert_eq!((p.has_more, p.next), (true, None));
        let p = page(200, r#"{"hasMoreData":false,"devices":[{"deviceIds":[]}]}"#).expect("page");
        assert!(!p.has_more);
        assert!(
            page(200, r#"{"hasMoreData":false}"#).is_err(),
            "no devices: not a page"
        );
    }
}

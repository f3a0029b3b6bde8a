//! Device actions: `POST /m2m/v1/devices/actions/activate`, for devices credited to a lead or
//! not. Asynchronous: the service answers with a request id, and the result of each device
//! arrives later at the account's `CarrierService` callback listener.
//!
//! An activation is not idempotent: sent twice it can spend a line's five daily provisioning
//! actions, or fail the second time. It is never sent again after its answer was lost; the
//! error then says how to find out what happened.

mod activation;
mod list;
mod model;
mod state_change;

pub use activation::{ACTIVATE_DEVICES, Activation, activate_request, decode_activate};
pub use list::{DeviceCursor, DeviceFilter, DevicePages, LIST_DEVICES, decode_list, list_request};
pub use model::{
    ActivationDevice, CarrierInformation, CustomField, Device, DeviceId, MAX_DEVICES_PER_REQUEST,
    RequestId,
};
pub use state_change::{GO_TO_STATE, StateChange, decode_go_to_state, go_to_state_request};

use thingspace_core::pagination::{Items, Pages};
use thingspace_core::{Client, Error, ErrorKind, Result};

use activation::{find_lead, for_lead};
use state_change::GO_TO_STATE_PATHS;

use crate::leads::LeadsApi;
use crate::spelling::KnownSpelling;

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
    /// otherwise: a lost answer is an [`ErrorKind::OutcomeUnknown`] error.
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
    /// The stream's first item is [`ErrorKind::InvalidInput`] for an empty account name, and
    /// nothing is sent.
    pub fn list(&self, filter: DeviceFilter) -> Items<DevicePages> {
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
    ) -> Items<DevicePages> {
        self.pages_from(filter, cursor).items()
    }

    /// As [`list_from`](Self::list_from), page by page: each page with the cursor after it.
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub fn pages_from(
        &self,
        filter: DeviceFilter,
        cursor: Option<DeviceCursor>,
    ) -> Pages<DevicePages> {
        let check = if filter.account_name.trim().is_empty() {
            Err(Error::new(
                ErrorKind::InvalidInput,
                "the device list needs an account name",
            )
            .with_operation(LIST_DEVICES))
        } else {
            Ok(())
        };
        let source = DevicePages::new(self.client.clone(), filter);
        Pages::starting_at(source, cursor).checked(check)
    }

    /// Activates the devices of `activation`. Sent once: a lost answer is an
    /// [`ErrorKind::OutcomeUnknown`] error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] before sending for no device, more than 10,000, a device
    /// without an identifier, or no plan or ZIP; the service's refusal otherwise (`REQUEST_FAILED.DeviceAlreadyActive`, ...).
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
    /// [`ErrorKind::InvalidInput`] before any activation is sent, for a lead that is not among
    /// the account's leads or has no ZIP; the listing's errors; then as [`activate`](Self::activate).
    pub async fn activate_for_lead(
        &self,
        account: &str,
        lead_id: &str,
        activation: Activation,
    ) -> Result<RequestId> {
        let activation = self.credit_to_lead(account, lead_id, activation).await?;
        self.activate(&activation).await
    }

    /// `activation` credited to the lead `lead_id` of `account`, as
    /// [`activate_for_lead`](Self::activate_for_lead) would send it (the lead's id, its ZIP as
    /// `mdnZipCode`, the account), without sending it: for jobs that send the same activation
    /// in several requests and look the lead up once.
    ///
    /// # Errors
    /// As [`activate_for_lead`](Self::activate_for_lead), before anything is sent.
    pub async fn credit_to_lead(
        &self,
        account: &str,
        lead_id: &str,
        activation: Activation,
    ) -> Result<Activation> {
        let lead = find_lead(LeadsApi::new(self.client), account, lead_id).await?;
        for_lead(activation, account, &lead)
    }
}

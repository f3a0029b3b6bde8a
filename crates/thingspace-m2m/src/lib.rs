#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod accounts;
pub mod callbacks;
pub mod devices;
pub mod leads;
pub mod requests;
mod spelling;
pub mod states_and_services;

use std::sync::Arc;

use thingspace_core::Client;

pub use accounts::{Account, AccountsApi, ExtendedAttributes, IpPool, KeyValue, ServicePlan};
pub use callbacks::{CallbacksApi, Listener, ListenerConfig, ListenerRef, RegisteredListener};
pub use devices::{
    Activation, Device, DeviceCursor, DeviceFilter, DeviceId, DevicePages, DevicesApi, RequestId,
    StateChange,
};
pub use leads::{Lead, LeadAddress, LeadCursor, LeadPages, LeadsApi};
pub use requests::{RequestState, RequestStatus, RequestsApi};
pub use states_and_services::{
    Engagement, RatingGroup, Service, ServiceState, StatesAndServices, StatesAndServicesApi,
};

/// The M2M API family: a handle on a ThingSpace [`Client`], cheap to clone.
#[derive(Debug, Clone)]
pub struct M2m {
    client: Client,
    /// Which states-and-services path spelling the service answers, once known.
    states_spelling: Arc<spelling::KnownSpelling>,
    /// Which go-to-state path spelling the service answers, once known.
    state_change_spelling: Arc<spelling::KnownSpelling>,
}

impl M2m {
    /// The M2M family on `client` (built with [`Client::thingspace`]).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            states_spelling: Arc::default(),
            state_change_spelling: Arc::default(),
        }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Accounts: `GET /m2m/v1/accounts/{accountname}`.
    pub fn accounts(&self) -> AccountsApi<'_> {
        AccountsApi::new(&self.client)
    }

    /// Account leads, every page followed: `GET /m2m/v1/leads/{accountname}`.
    pub fn leads(&self) -> LeadsApi<'_> {
        LeadsApi::new(&self.client)
    }

    /// Callback listeners: `/m2m/v1/callbacks/{accountname}`.
    pub fn callbacks(&self) -> CallbacksApi<'_> {
        CallbacksApi::new(&self.client)
    }

    /// Device actions: activation, for devices credited to a lead or not.
    pub fn devices(&self) -> DevicesApi<'_> {
        DevicesApi::new(&self.client, &self.state_change_spelling)
    }

    /// The status of single-device asynchronous requests.
    pub fn requests(&self) -> RequestsApi<'_> {
        RequestsApi::new(&self.client)
    }

    /// Custom states and services: `GET /m2m/v1/accounts/{accountname}/stateandservices`
    /// (or the SDKs' `statesandservices`, whichever the service answers).
    pub fn states_and_services(&self) -> StatesAndServicesApi<'_> {
        StatesAndServicesApi::new(&self.client, &self.states_spelling)
    }
}

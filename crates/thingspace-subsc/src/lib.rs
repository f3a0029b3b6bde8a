#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod managed_accounts;

use thingspace_core::Client;

pub use managed_accounts::actions::{AccountStatus, Added, ManagedAction, Transaction};
pub use managed_accounts::{
    ManagedAccount, ManagedAccountState, ManagedAccounts, ManagedAccountsApi, ManagedStatus,
    ServiceName,
};

/// The subsc API family: a handle on a ThingSpace [`Client`], cheap to clone.
#[derive(Debug, Clone)]
pub struct Subsc {
    client: Client,
}

impl Subsc {
    /// The subsc family on `client` (built with [`Client::thingspace`]).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Managed accounts of a primary account.
    pub fn managed_accounts(&self) -> ManagedAccountsApi<'_> {
        ManagedAccountsApi::new(&self.client)
    }
}

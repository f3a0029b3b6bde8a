#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod config;
pub mod leads;

use std::sync::Arc;

use thingspace_core::{
    CachedAuth, Client, ClientAuthStyle, ClientCredentials, Pipeline, SharedTransport,
};

pub use config::OcConfig;
pub use leads::{
    CivicAddress, ConsentStatus, Contact, ContactDetails, LeadPages, LeadsApi, Location, OcLead,
    Timestamp,
};

/// The Operator Connect API: a handle on its own [`Client`], cheap to clone.
#[derive(Debug, Clone)]
pub struct OperatorConnect {
    client: Client,
}

impl OperatorConnect {
    /// The API on a client you built (base URL `https://<host>/tenantui`, Entra auth).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The API configured from the `[oc]` table, on the default transport.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](thingspace_core::ErrorKind::Config) naming a missing `oc.*` key;
    /// [`ErrorKind::Insecure`](thingspace_core::ErrorKind::Insecure) for plain http to a remote host.
    #[cfg(feature = "reqwest")]
    pub fn from_config(config: &OcConfig) -> thingspace_core::Result<Self> {
        let transport =
            thingspace_core::ReqwestTransport::new()?.with_max_body_bytes(config.max_body_bytes());
        Self::from_config_with_transport(config, Arc::new(transport))
    }

    /// The API configured from the `[oc]` table, on `transport`.
    ///
    /// # Errors
    /// As [`from_config`](Self::from_config).
    pub fn from_config_with_transport(
        config: &OcConfig,
        transport: SharedTransport,
    ) -> thingspace_core::Result<Self> {
        let settings = config.require()?;
        let pipeline = Pipeline::new(transport)
            .with_retry(config.retry_policy())
            .with_timeout(config.timeout());
        let credentials = ClientCredentials::new(
            pipeline.clone(),
            settings.token_url,
            settings.client_id,
            settings.client_secret,
            ClientAuthStyle::RequestBody,
        )
        .with_scope(settings.scope)
        .with_label("Entra app");
        let client = Client::new(
            settings.base_url,
            pipeline,
            Some(Arc::new(CachedAuth::new(credentials))),
        )?;
        Ok(Self { client })
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Operator Connect leads.
    pub fn leads(&self) -> LeadsApi<'_> {
        LeadsApi::new(&self.client)
    }
}

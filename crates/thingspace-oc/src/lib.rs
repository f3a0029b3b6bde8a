#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod config;
pub mod customers;
mod decode;
pub mod leads;
pub mod numbers;
pub mod problem;
pub mod tasks;
mod timestamp;

use std::sync::Arc;

use thingspace_core::{
    CachedAuth, Client, ClientAuthStyle, ClientCredentials, Pipeline, SharedTransport,
};

pub use config::OcConfig;
pub use customers::{CustomersApi, OcCustomer};
pub use leads::{
    CivicAddress, ConsentStatus, Contact, ContactDetails, LeadAlreadyExists, LeadPages, LeadsApi,
    Location, OcLead, Timestamp,
};
pub use numbers::{NumbersApi, OcNumber, Sbc};
pub use problem::{FieldError, ValidationProblem};
pub use tasks::{
    ExecutionMessage, Task, TaskFailed, TaskId, TaskOutput, TaskStatus, TaskWait, TasksApi,
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

    /// Operator Connect leads: get, list, create, convert into a customer.
    pub fn leads(&self) -> LeadsApi<'_> {
        LeadsApi::new(&self.client)
    }

    /// Tasks: what a conversion runs as; get one, or wait for it to finish.
    pub fn tasks(&self) -> TasksApi<'_> {
        TasksApi::new(&self.client)
    }

    /// The telephone numbers of a customer.
    pub fn numbers(&self) -> NumbersApi<'_> {
        NumbersApi::new(&self.client)
    }

    /// The operator's customers.
    pub fn customers(&self) -> CustomersApi<'_> {
        CustomersApi::new(&self.client)
    }
}

/// What an error of this crate holds beyond the core's [`Error`](thingspace_core::Error):
/// the service's field messages and the typed refusals and failures, found in its `source()`
/// chain. Import the trait and call these on any error.
///
/// ```
/// use thingspace_oc::{OcErrorExt, OperatorConnect};
///
/// # async fn run(oc: OperatorConnect) -> thingspace_core::Result<()> {
/// match oc.leads().create("f94238e5-4f2c-4e1b-8125-2d27122ca75f", "Contoso").await {
///     Ok(_) => println!("created"),
///     Err(e) if e.lead_already_exists().is_some() => println!("already there: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
pub trait OcErrorExt {
    /// The service's validation problem (a 400 with field messages), when the error is a
    /// refusal that carried one.
    fn validation_problem(&self) -> Option<&ValidationProblem>;
    /// The refusal of a [`LeadsApi::create`] because the tenant or the company already has a
    /// lead, with the service's field messages.
    fn lead_already_exists(&self) -> Option<&LeadAlreadyExists>;
    /// The task a [`TasksApi::wait`] waited for, when it ended `Failed`, with its execution
    /// messages.
    fn task_failed(&self) -> Option<&TaskFailed>;
}

impl OcErrorExt for thingspace_core::Error {
    fn validation_problem(&self) -> Option<&ValidationProblem> {
        find(self, |e| {
            e.downcast_ref::<ValidationProblem>().or_else(|| {
                e.downcast_ref::<LeadAlreadyExists>()
                    .map(|exists| &exists.problem)
            })
        })
    }

    fn lead_already_exists(&self) -> Option<&LeadAlreadyExists> {
        find(self, |e| e.downcast_ref::<LeadAlreadyExists>())
    }

    fn task_failed(&self) -> Option<&TaskFailed> {
        find(self, |e| e.downcast_ref::<TaskFailed>())
    }
}

/// The first cause in the `source()` chain of `err` that `pick` recognises.
fn find<'a, T: ?Sized>(
    err: &'a thingspace_core::Error,
    pick: impl Fn(&'a (dyn std::error::Error + 'static)) -> Option<&'a T>,
) -> Option<&'a T> {
    let mut cause = std::error::Error::source(err);
    // Bounded: a chain is a few links long, and a cycle cannot be built from owned sources.
    for _ in 0..16 {
        let e = cause?;
        if let Some(found) = pick(e) {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

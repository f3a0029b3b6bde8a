//! `thingspace demo`: every flow of the SDK against the embedded mock server.
//!
//! [`run`] lists the steps in the order they run. Each step is an async function over the
//! shared [`Demo`], in the module of what it shows, and checks what the SDK did: a step that
//! did not get what the SDK promises fails the demo with [`CliError::Demo`].

mod accounts;
mod callbacks;
mod checks;
mod devices;
mod errors;
mod fleet;
mod leads;
mod operator_connect;
mod outcomes;
mod print;
mod replay;
mod resilience;
mod states_table;
mod subsc;

use std::time::Duration;

use thingspace::{
    Client, Config, ConfigLoader,
    m2m::M2m,
    mock::{MockConfig, MockServer},
    oc::{OcConfig, OperatorConnect},
    subsc::Subsc,
};

use crate::{error::CliError, output::outln};

pub(crate) use states_table::states_table;

/// The account most steps work on.
const ACCOUNT: &str = "0000123456";

/// What every step works with: the mock server, the configuration pointed at it, and the SDK's
/// clients built from that configuration as users build them.
#[derive(Debug)]
struct Demo {
    /// The embedded mock: it serves every API, counts requests, and takes injected faults.
    server: MockServer,
    /// The ThingSpace configuration, for the steps that build clients of their own.
    config: Config,
    /// The M2M family.
    m2m: M2m,
    /// The subsc family, on the same client (so the same token and session) as `m2m`.
    subsc: Subsc,
    /// Operator Connect, with its own base URL and Entra ID token.
    oc: OperatorConnect,
}

impl Demo {
    /// Starts the mock and configures the SDK exactly as users configure it, with the layers
    /// pointed at the mock (the environment and ./thingspace.toml are left out so the demo
    /// always hits the mock).
    async fn start() -> Result<Self, CliError> {
        let server = MockServer::start_with(MockConfig::default().managed_user(
            subsc::MANAGED,
            subsc::MANAGED_USER,
            subsc::MANAGED_PASSWORD,
        ))
        .await
        .map_err(CliError::MockStart)?;
        outln!("ThingSpace mock listening at {}", server.base_url())?;
        let mut loader = ConfigLoader::new()
            .without_env()
            .without_default_file()
            .set("retry.initial_backoff_ms", "50")
            // The managed account's own UWS user, for managed billing.
            .set("profiles.managed.username", subsc::MANAGED_USER)
            .set("profiles.managed.password", subsc::MANAGED_PASSWORD);
        for (key, value) in server.settings() {
            loader = loader.set(key, value);
        }
        let loaded = loader.load()?;
        let config = loaded.thingspace()?;
        outln!("config: {config:?}")?;
        let client = Client::thingspace(&config)?;
        let m2m = M2m::new(client.clone());
        let subsc = Subsc::new(client);
        let oc_config = OcConfig::load(&loaded)?;
        outln!("oc config: {oc_config:?}")?;
        let oc = OperatorConnect::from_config(&oc_config)?;
        Ok(Self {
            server,
            config,
            m2m,
            subsc,
            oc,
        })
    }

    /// Stops the mock server and says that every check passed.
    async fn finish(self) -> Result<(), CliError> {
        drop(self);
        tokio::time::sleep(Duration::from_millis(10)).await;
        outln!("\nDemo finished: every check passed; the mock server is stopped.")
    }
}

/// Runs the demo, printing as it goes. Every step checks what the SDK did: a step that did
/// not get what the SDK promises fails the demo with [`CliError::Demo`].
///
/// # Errors
/// A flow that failed or a check that did not hold, or the output (a closed pipe stops the
/// demo quietly).
pub(crate) async fn run() -> Result<(), CliError> {
    let demo = Demo::start().await?;

    accounts::get_the_document_example(&demo).await?;
    accounts::names_are_text(&demo).await?;
    resilience::first_requests_share_one_login(&demo).await?;
    resilience::transient_failures_are_retried(&demo).await?;
    resilience::an_expired_session_is_renewed(&demo).await?;
    leads::pages_are_followed(&demo).await?;
    leads::failed_pages_are_retried_or_resumed(&demo).await?;
    leads::a_broken_listing_ends_with_an_error(&demo).await?;
    errors::an_unexpected_body_is_a_decode_error(&demo).await?;
    accounts::states_and_services(&demo).await?;

    devices::register_a_listener(&demo).await?;
    devices::activate_for_a_lead(&demo).await?;
    devices::a_lost_activation_is_sent_once(&demo).await?;

    // The whole workflow: a lead, a listener that receives the results, device actions, and
    // each device's outcome.
    let lead = leads::choose_one_to_credit(&demo).await?;
    let receiver = callbacks::start_a_listener(&demo).await?;
    let activated = outcomes::activate_and_await(&demo, &receiver, &lead).await?;
    outcomes::go_to_state_and_await(&demo, &receiver, &lead, &activated).await?;
    receiver.stop().await?;
    fleet::replicas_share_redis(&demo).await?;

    subsc::managed_accounts(&demo).await?;
    subsc::add_provision_cancel(&demo).await?;
    operator_connect::leads(&demo).await?;
    operator_connect::onboarding(&demo).await?;
    replay::record_then_replay(&demo).await?;
    errors::service_errors_carry_their_code(&demo).await?;
    errors::bad_input(&demo).await?;

    demo.finish().await
}

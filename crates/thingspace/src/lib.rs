#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

pub use thingspace_core::*;

/// The M2M family: accounts, leads, states and services.
#[cfg(feature = "m2m")]
#[cfg_attr(docsrs, doc(cfg(feature = "m2m")))]
pub use thingspace_m2m as m2m;

/// The subsc family: managed accounts.
#[cfg(feature = "subsc")]
#[cfg_attr(docsrs, doc(cfg(feature = "subsc")))]
pub use thingspace_subsc as subsc;

/// The Operator Connect family: OC leads.
#[cfg(feature = "oc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oc")))]
pub use thingspace_oc as oc;

/// The embedded mock server.
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use thingspace_mock as mock;

/// The callback listener: receives, checks, keeps and deduplicates ThingSpace's callbacks, and
/// awaits each device's outcome.
#[cfg(feature = "callbacks")]
#[cfg_attr(docsrs, doc(cfg(feature = "callbacks")))]
pub use thingspace_callbacks as callbacks;

/// Configuration for examples and first steps: the configured services when credentials are
/// configured (a ThingSpace `client_id` or an Operator Connect `oc.client_id`, in the
/// environment or the file), otherwise an embedded mock server, started here, with every layer
/// pointed at it. Keep the returned server alive as long as the client is used.
///
/// # Errors
/// A configuration error, or a mock that could not start.
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub async fn load_or_mock() -> Result<(LoadedConfig, Option<thingspace_mock::MockServer>)> {
    let loaded = ConfigLoader::new().load()?;
    let configured = loaded.thingspace()?.client_id.is_some()
        || loaded.figment().find_value("oc.client_id").is_ok();
    if configured {
        return Ok((loaded, None));
    }
    let server = thingspace_mock::MockServer::start()
        .await
        .map_err(|e| Error::config("could not start the embedded mock server").with_source(e))?;
    server.set_lead_count("0000123456", 2_500);
    let mut loader = ConfigLoader::new().without_env().without_default_file();
    for (key, value) in server.settings() {
        loader = loader.set(key, value);
    }
    eprintln!(
        "(no credentials configured: using the embedded mock at {})",
        server.base_url()
    );
    Ok((loader.load()?, Some(server)))
}

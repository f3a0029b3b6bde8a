//! What every example shares: where it sends its requests.
//!
//! This lives in the examples, not in the library, on purpose: falling back to fake data when
//! nothing is configured is right for a first run, and wrong for a job in production, where a
//! missing setting must be an error (`Config::load` gives one). Copy this into your own
//! examples if you like; in a service, load the configuration with `ConfigLoader` or
//! `Config::load` and let a missing `client_id` fail.

use thingspace::{ConfigLoader, Error, LoadedConfig, Result, mock::MockServer};

/// The configured services when credentials are configured (a ThingSpace `client_id` or an
/// Operator Connect `oc.client_id`, in the environment or `thingspace.toml`); otherwise an
/// embedded mock server, started here, with every layer pointed at it, and a line on stderr
/// saying so. Keep the returned server alive as long as the client is used.
///
/// # Errors
/// A configuration error, or a mock that could not start.
pub async fn load_or_mock() -> Result<(LoadedConfig, Option<MockServer>)> {
    let loaded = ConfigLoader::new().load()?;
    let oc: serde_json::Value = loaded.extract_table("oc")?;
    let configured = loaded.thingspace()?.client_id.is_some() || oc.get("client_id").is_some();
    if configured {
        return Ok((loaded, None));
    }
    let server = MockServer::start()
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

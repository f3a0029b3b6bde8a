//! The fleet's shared layer when `[redis] url` is set: the commands' clients share the bearer
//! token and the sessions through Redis (a script calling `thingspace` a hundred times logs in
//! once) and are held to the fleet's rate limits; `callbacks listen` writes each callback to
//! Redis for any process's waits.

use std::sync::Arc;

use thingspace::redis::{RedisConfig, RedisFleet, RedisSink};
use thingspace::{Client, Config, CredentialStore, Error, LoadedConfig, ReqwestTransport};

/// Redis, connected, and what the commands take from it.
#[derive(Debug)]
pub(crate) struct Fleet {
    fleet: RedisFleet,
    config: RedisConfig,
}

impl Fleet {
    /// The fleet of the configuration, when `[redis] url` is set and Redis answers. When it does
    /// not, the command goes on with credentials of its own (one warning).
    ///
    /// # Errors
    /// A malformed `[redis]` table.
    pub(crate) async fn connect(loaded: &LoadedConfig) -> Result<Option<Self>, Error> {
        let config = RedisConfig::load(loaded)?;
        match config.connect().await {
            Ok(Some(fleet)) => Ok(Some(Self { fleet, config })),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "Redis ([redis] url) cannot be reached: this command obtains its own credentials and is not held to the fleet's rate limits");
                Ok(None)
            }
        }
    }

    /// A ThingSpace client sharing credentials through Redis and held to the rate limits.
    ///
    /// # Errors
    /// As `Client::thingspace`.
    pub(crate) fn client(&self, config: &Config) -> Result<Client, Error> {
        let transport = ReqwestTransport::new()?
            .with_max_body_bytes(usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX));
        let mut pipeline = config.pipeline(Arc::new(transport));
        let limits = self.config.rate_limits();
        if !limits.is_empty() {
            pipeline = pipeline.with_interceptor(Arc::new(self.fleet.rate_limiter(limits)));
        }
        let store: Arc<dyn CredentialStore> = Arc::new(self.config.credentials(&self.fleet));
        Client::thingspace_with_pipeline(config, pipeline, Some(store))
    }

    /// The sink writing each callback to Redis, before any of the command's own.
    pub(crate) fn sink(&self) -> RedisSink {
        self.fleet.sink()
    }
}

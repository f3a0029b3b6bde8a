//! The `[redis]` configuration table.

use std::{fmt, time::Duration};

use serde::Deserialize;
use thingspace_core::config::positive_secs;
use thingspace_core::de::{lenient_opt_u64, opt_f64_lenient};
use thingspace_core::{Error, LoadedConfig, Result, SecretString};

use crate::fleet::{FleetError, RedisFleet};
use crate::rate_limit::RateLimit;

/// The `[redis]` table: `url`, `prefix`, `lease_secs`, `refusal_hold_secs` and
/// `[[redis.rate_limits]]` (environment: `THINGSPACE_REDIS__URL`, `THINGSPACE_REDIS__PREFIX`, …).
/// Without a `url`, nothing is shared: every process keeps its own credentials, as by default.
///
/// ```toml
/// [redis]
/// url = "rediss://fleet:password@redis.internal:6380"
/// prefix = "thingspace"
///
/// [[redis.rate_limits]]
/// operation = "m2m.devices.activate"
/// max = 100
/// per_secs = 60
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. A secret: it may hold
    /// the ACL password.
    pub url: Option<SecretString>,
    /// The first part of every key (default `thingspace`), so several fleets can share a Redis.
    pub prefix: Option<String>,
    /// How long the credential refresh lock holds without renewal, in seconds (default 3).
    #[serde(deserialize_with = "opt_f64_lenient")]
    pub lease_secs: Option<f64>,
    /// How long a refused secret answers for the fleet, in seconds (default: until the secret
    /// changes or the record is deleted).
    #[serde(deserialize_with = "opt_f64_lenient")]
    pub refusal_hold_secs: Option<f64>,
    /// The fleet's rate limits, per operation and account.
    pub rate_limits: Vec<RateLimitConfig>,
}

/// One `[[redis.rate_limits]]` entry: at most `max` requests of `operation` per `per_secs`
/// seconds, for each account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// The operation name, such as `m2m.devices.activate`.
    pub operation: String,
    /// The most requests in a window.
    #[serde(deserialize_with = "lenient_opt_u64")]
    pub max: Option<u64>,
    /// The window in seconds (default 60).
    #[serde(deserialize_with = "opt_f64_lenient")]
    pub per_secs: Option<f64>,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("prefix", &self.prefix)
            .field("lease_secs", &self.lease_secs)
            .field("refusal_hold_secs", &self.refusal_hold_secs)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

/// The default key prefix.
const DEFAULT_PREFIX: &str = "thingspace";

impl RedisConfig {
    /// Reads the `[redis]` table from loaded configuration layers.
    ///
    /// # Errors
    /// A malformed value, naming the key (never the URL, which may hold a password).
    pub fn load(loaded: &LoadedConfig) -> Result<Self> {
        let config: RedisConfig = loaded.extract_table("redis")?;
        if let Some(url) = &config.url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(Error::config(
                    "`redis.url` must start with redis:// or rediss:// (TLS)",
                ));
            }
        }
        if let Some(prefix) = &config.prefix
            && (prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(Error::config(
                "`redis.prefix` must be a non-empty name without spaces",
            ));
        }
        if let Some(secs) = config.lease_secs {
            positive_secs("redis.lease_secs", secs)?;
        }
        if let Some(secs) = config.refusal_hold_secs {
            positive_secs("redis.refusal_hold_secs", secs)?;
        }
        for (i, limit) in config.rate_limits.iter().enumerate() {
            if limit.operation.trim().is_empty() {
                return Err(Error::config(format!(
                    "`redis.rate_limits[{i}]` needs an `operation`"
                )));
            }
            if limit.max.is_none_or(|m| m == 0 || m > u64::from(u32::MAX)) {
                return Err(Error::config(format!(
                    "`redis.rate_limits[{i}].max` must be a number of requests from 1 to {}",
                    u32::MAX
                )));
            }
            if let Some(secs) = limit.per_secs {
                positive_secs(&format!("redis.rate_limits[{i}].per_secs"), secs)?;
            }
        }
        Ok(config)
    }

    /// True when a `url` is configured: the fleet shares through Redis.
    pub fn is_enabled(&self) -> bool {
        self.url.is_some()
    }

    /// The key prefix: `prefix`, or `thingspace`.
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX)
    }

    /// Connects to the configured Redis; `None` without a `url`.
    ///
    /// # Errors
    /// As [`RedisFleet::connect`].
    pub async fn connect(&self) -> std::result::Result<Option<RedisFleet>, FleetError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        RedisFleet::connect(url.expose_secret(), self.prefix())
            .await
            .map(Some)
    }

    /// The credential store of `fleet`, with the configured lease and refusal hold.
    pub fn credentials(&self, fleet: &RedisFleet) -> crate::RedisCredentials {
        let mut store = fleet.credentials();
        // Values `load` checked; one out of range here is left at the default.
        if let Some(lease) = self
            .lease_secs
            .and_then(|s| positive_secs("redis.lease_secs", s).ok())
        {
            store = store.lease(lease);
        }
        if let Some(hold) = self
            .refusal_hold_secs
            .and_then(|s| positive_secs("redis.refusal_hold_secs", s).ok())
        {
            store = store.refusal_hold(hold);
        }
        store
    }

    /// The configured rate limits.
    pub fn rate_limits(&self) -> Vec<RateLimit> {
        self.rate_limits
            .iter()
            .map(|l| {
                RateLimit::new(
                    l.operation.clone(),
                    l.max
                        .and_then(|m| u32::try_from(m).ok())
                        .unwrap_or(u32::MAX),
                    l.per_secs
                        .and_then(|s| positive_secs("per_secs", s).ok())
                        .unwrap_or(Duration::from_secs(60)),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::ConfigLoader;

    fn load(pairs: &[(&str, &str)]) -> Result<RedisConfig> {
        let mut loader = ConfigLoader::new().without_default_file().without_env();
        for (k, v) in pairs {
            loader = loader.set(*k, *v);
        }
        RedisConfig::load(&loader.load()?)
    }

    #[test]
    fn reads_the_table_from_the_environment_and_never_shows_the_url() {
        let loaded = ConfigLoader::new()
            .without_default_file()
            .env_vars([
                (
                    "THINGSPACE_REDIS__URL",
                    "redis://fleet:hunter2@127.0.0.1:6379",
                ),
                ("THINGSPACE_REDIS__PREFIX", "jobs"),
            ])
            .load()
            .expect("loaded");
        let config = RedisConfig::load(&loaded).expect("config");
        assert!(config.is_enabled());
        assert_eq!(config.prefix(), "jobs");
        assert!(!format!("{config:?}").contains("hunter2"));
        let none = load(&[]).expect("absent");
        assert!(!none.is_enabled());
        assert_eq!(none.prefix(), "thingspace");
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let e = load(&[("redis.url", "http://h:1")]).expect_err("scheme");
        assert!(e.to_string().contains("redis.url"), "{e}");
        let e = load(&[("redis.prefix", "a b")]).expect_err("prefix");
        assert!(e.to_string().contains("redis.prefix"), "{e}");
        let e = load(&[("redis.lease_secs", "-1")]).expect_err("lease");
        assert!(e.to_string().contains("redis.lease_secs"), "{e}");
    }

    /// The `[redis]` table of a configuration file holding `toml` (written to a directory of
    /// its own named `name`, removed after).
    fn from_file(name: &str, toml: &str) -> Result<RedisConfig> {
        let dir = std::env::temp_dir().join(format!("ts-redis-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("thingspace.toml");
        std::fs::write(&file, toml).expect("write");
        let loaded = ConfigLoader::new()
            .without_default_file()
            .without_env()
            .file(&file)
            .load();
        let _ = std::fs::remove_dir_all(dir);
        RedisConfig::load(&loaded?)
    }

    #[test]
    fn rate_limits_come_from_the_table() {
        let config = from_file(
            "limits",
            "[redis]\nurl = \"redis://127.0.0.1:1\"\n[[redis.rate_limits]]\noperation = \"m2m.devices.activate\"\nmax = 100\nper_secs = 60\n",
        )
        .expect("config");
        assert_eq!(
            config.rate_limits(),
            [RateLimit::per_minute("m2m.devices.activate", 100)]
        );
        let e = from_file(
            "zero",
            "[redis]\n[[redis.rate_limits]]\noperation = \"x\"\nmax = 0\n",
        )
        .expect_err("max 0");
        assert!(e.to_string().contains("rate_limits[0].max"), "{e}");
    }
}

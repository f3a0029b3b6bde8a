//! The `[oc]` configuration table.

use std::{fmt, time::Duration};

use serde::Deserialize;
#[cfg(feature = "config")]
use thingspace_core::LoadedConfig;
use thingspace_core::config::{DEFAULT_TIMEOUT, positive_secs, require_settings};
use thingspace_core::de::{lenient_opt_u64, opt_f64_lenient, opt_string_or_number};
use thingspace_core::transport::DEFAULT_MAX_BODY_BYTES;
use thingspace_core::url::Url;
use thingspace_core::urls::url_for_display;
#[cfg(feature = "config")]
use thingspace_core::urls::{no_credentials_in_url, usable_base_url};
use thingspace_core::{Error, Result, RetryConfig, RetryPolicy, SecretString};

/// The `[oc]` table: `base_url`, `token_url`, `client_id`, `client_secret`, `scope`,
/// `timeout_secs`, `max_body_bytes`, `[oc.retry]` (environment: `THINGSPACE_OC__BASE_URL`, …).
/// `timeout_secs`, `max_body_bytes` and `retry` default to the top-level settings of the same
/// names.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OcConfig {
    /// `https://<service-provider-host>/tenantui`.
    pub base_url: Option<Url>,
    /// The Entra token endpoint, `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub token_url: Option<Url>,
    /// The Entra application (client) id.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub client_id: Option<String>,
    /// The Entra client secret.
    pub client_secret: Option<SecretString>,
    /// The scope, `api://<app-id>/.default`.
    #[serde(deserialize_with = "opt_string_or_number")]
    pub scope: Option<String>,
    /// Per-attempt timeout in seconds (the top-level `timeout_secs`, or 30, when absent).
    #[serde(deserialize_with = "opt_f64_lenient")]
    pub timeout_secs: Option<f64>,
    /// Retry settings (the top-level `[retry]` when absent).
    pub retry: Option<RetryConfig>,
    /// Largest response body accepted, in bytes (the top-level `max_body_bytes`, or 32 MiB,
    /// when absent). A page of 20,000 leads with several civic addresses each can pass 32 MiB.
    #[serde(deserialize_with = "lenient_opt_u64")]
    pub max_body_bytes: Option<u64>,
}

/// The top-level settings the `[oc]` table inherits.
#[derive(Default, Deserialize)]
#[serde(default)]
#[cfg(feature = "config")]
struct Inherited {
    #[serde(deserialize_with = "opt_f64_lenient")]
    timeout_secs: Option<f64>,
    retry: Option<RetryConfig>,
    #[serde(deserialize_with = "lenient_opt_u64")]
    max_body_bytes: Option<u64>,
}

/// The settings every request needs, all present.
pub(crate) struct Required {
    pub(crate) base_url: Url,
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scope: String,
}

impl OcConfig {
    /// Reads the `[oc]` table from loaded configuration layers.
    ///
    /// # Errors
    /// A malformed value, naming the key and the layer it came from.
    #[cfg(feature = "config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config")))]
    pub fn load(loaded: &LoadedConfig) -> Result<Self> {
        loaded.check_keys()?;
        let mut oc: OcConfig = loaded.extract_table("oc")?;
        let top: Inherited = loaded.extract()?;
        oc.timeout_secs = oc.timeout_secs.or(top.timeout_secs);
        oc.retry = oc.retry.or(top.retry);
        oc.max_body_bytes = oc.max_body_bytes.or(top.max_body_bytes);
        if let Some(url) = &oc.base_url {
            usable_base_url("oc.base_url", url)?;
        }
        if let Some(url) = &oc.token_url {
            no_credentials_in_url("oc.token_url", url)?;
        }
        if let Some(secs) = oc.timeout_secs {
            positive_secs("oc.timeout_secs", secs)?;
        }
        if let Some(retry) = &oc.retry {
            retry.check("oc.retry")?;
        }
        Ok(oc)
    }

    /// The per-attempt timeout: `[oc] timeout_secs`, else the top-level one, else 30 s.
    pub fn timeout(&self) -> Duration {
        self.timeout_secs
            .and_then(|t| positive_secs("oc.timeout_secs", t).ok())
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The largest response body accepted: `[oc] max_body_bytes`, else the top-level one,
    /// else 32 MiB.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes.map_or(DEFAULT_MAX_BODY_BYTES, |max| {
            usize::try_from(max).unwrap_or(usize::MAX)
        })
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
            .as_ref()
            .map(RetryPolicy::from)
            .unwrap_or_default()
    }

    pub(crate) fn require(&self) -> Result<Required> {
        let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        require_settings(
            "Operator Connect settings",
            &[
                ("oc.base_url", self.base_url.is_some()),
                ("oc.token_url", self.token_url.is_some()),
                ("oc.client_id", text(&self.client_id).is_some()),
                (
                    "oc.client_secret",
                    self.client_secret.as_ref().is_some_and(|s| !s.is_empty()),
                ),
                ("oc.scope", text(&self.scope).is_some()),
            ],
            "set them in the [oc] table or as THINGSPACE_OC__*",
        )?;
        match (
            &self.base_url,
            &self.token_url,
            text(&self.client_id),
            &self.client_secret,
            text(&self.scope),
        ) {
            (Some(base_url), Some(token_url), Some(client_id), Some(secret), Some(scope)) => {
                Ok(Required {
                    base_url: base_url.clone(),
                    token_url: token_url.clone(),
                    client_id,
                    client_secret: secret.clone(),
                    scope,
                })
            }
            _ => Err(Error::config("missing Operator Connect settings")),
        }
    }
}

impl fmt::Debug for OcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcConfig")
            .field("base_url", &self.base_url.as_ref().map(url_for_display))
            .field("token_url", &self.token_url.as_ref().map(url_for_display))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("timeout_secs", &self.timeout_secs)
            .field("retry", &self.retry)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

#[cfg(all(test, feature = "config"))]
mod tests {
    use super::*;
    use thingspace_core::ConfigLoader;

    #[test]
    fn reads_the_oc_table_from_every_layer() {
        let loaded = ConfigLoader::new()
            .without_default_file()
            .env_vars([
                ("THINGSPACE_OC__BASE_URL", "https://oc.example.net/tenantui"),
                ("THINGSPACE_OC__CLIENT_ID", "0012"),
                ("THINGSPACE_OC__CLIENT_SECRET", "s3cret"),
            ])
            .set("oc.scope", "api://app/.default")
            .set(
                "oc.token_url",
                "https://login.example.com/t/oauth2/v2.0/token",
            )
            .load()
            .expect("load");
        let oc = OcConfig::load(&loaded).expect("oc");
        let r = oc.require().expect("complete");
        assert_eq!(r.client_id, "0012");
        assert_eq!(r.scope, "api://app/.default");
        assert!(!format!("{oc:?}").contains("s3cret"));
    }

    #[test]
    fn inherits_timeout_and_retry_from_the_top_level() {
        let loaded = ConfigLoader::new()
            .without_default_file()
            .without_env()
            .set("timeout_secs", "2.5")
            .set("retry.max_attempts", "5")
            .load()
            .expect("load");
        let oc = OcConfig::load(&loaded).expect("oc");
        assert_eq!(oc.timeout(), Duration::from_millis(2500));
        assert_eq!(oc.retry_policy().max_attempts(), 5);
        let loaded = ConfigLoader::new()
            .without_default_file()
            .without_env()
            .set("timeout_secs", "2.5")
            .set("oc.timeout_secs", "1")
            .load()
            .expect("load");
        assert_eq!(
            OcConfig::load(&loaded).expect("oc").timeout(),
            Duration::from_secs(1)
        );
        let loaded = ConfigLoader::new()
            .without_default_file()
            .env_vars([("THINGSPACE_MAX_BODY_BYTES", "1000")])
            .load()
            .expect("load");
        assert_eq!(OcConfig::load(&loaded).expect("oc").max_body_bytes(), 1000);
        let loaded = ConfigLoader::new()
            .without_default_file()
            .env_vars([
                ("THINGSPACE_MAX_BODY_BYTES", "1000"),
                ("THINGSPACE_OC__MAX_BODY_BYTES", "67108864"),
            ])
            .load()
            .expect("load");
        assert_eq!(
            OcConfig::load(&loaded).expect("oc").max_body_bytes(),
            64 << 20
        );
        let loaded = ConfigLoader::new()
            .without_default_file()
            .without_env()
            .load()
            .expect("load");
        assert_eq!(
            OcConfig::load(&loaded).expect("oc").max_body_bytes(),
            DEFAULT_MAX_BODY_BYTES
        );
    }

    #[test]
    fn names_the_missing_keys() {
        let loaded = ConfigLoader::new()
            .without_default_file()
            .without_env()
            .load()
            .expect("load");
        let err = OcConfig::load(&loaded)
            .expect("empty")
            .require()
            .err()
            .expect("incomplete");
        let text = err.to_string();
        assert!(
            text.contains("oc.base_url") && text.contains("oc.scope"),
            "{text}"
        );
    }
}

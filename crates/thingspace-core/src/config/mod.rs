//! The settings: [`Config`], made in code with [`Config::builder`], or (with the `config`
//! feature, on by default) loaded in layers with figment: defaults, a TOML file, environment
//! variables, code ([`ConfigLoader`]).
//!
//! | key | environment variable | default |
//! |---|---|---|
//! | `base_url` | `THINGSPACE_BASE_URL` | `https://thingspace.verizon.com/api` |
//! | `token_url` | `THINGSPACE_TOKEN_URL` | `<base_url>/ts/v1/oauth2/token` |
//! | `client_id` | `THINGSPACE_CLIENT_ID` | |
//! | `client_secret` | `THINGSPACE_CLIENT_SECRET` | |
//! | `username` | `THINGSPACE_USERNAME` | |
//! | `password` | `THINGSPACE_PASSWORD` | |
//! | `scope` | `THINGSPACE_SCOPE` | none |
//! | `timeout_secs` | `THINGSPACE_TIMEOUT_SECS` | `30` (per attempt; fractions allowed) |
//! | `max_body_bytes` | `THINGSPACE_MAX_BODY_BYTES` | 32 MiB |
//! | `[retry] max_attempts` | `THINGSPACE_RETRY__MAX_ATTEMPTS` | `3` |
//! | `[retry] initial_backoff_ms` | `THINGSPACE_RETRY__INITIAL_BACKOFF_MS` | `200` |
//! | `[retry] max_backoff_ms` | `THINGSPACE_RETRY__MAX_BACKOFF_MS` | `10000` |
//! | `[retry] deadline_secs` | `THINGSPACE_RETRY__DEADLINE_SECS` | `120` (no retry starts past it) |
//! | `[profiles.<name>] username`, `password` | `THINGSPACE_PROFILES__<NAME>__USERNAME`, `__PASSWORD` | none: other UWS users of the same application ([`Client::as_profile`](crate::Client::as_profile)) |
//!
//! Tables of other families (such as `[oc]`, `THINGSPACE_OC__BASE_URL`) are read by those
//! families from the same layers with [`LoadedConfig::extract_table`].
//!
//! The file is `./thingspace.toml` when it exists, or the path in `THINGSPACE_CONFIG`, or one
//! given in code (the CLI's `--config`); a file named explicitly must exist. Environment values
//! are taken as text, so `0000123456` keeps its zeros.

use std::{collections::BTreeMap, fmt, time::Duration};
#[cfg(feature = "config")]
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

#[cfg(feature = "config")]
use figment::{
    Figment, Metadata, Profile, Provider,
    providers::{Format, Toml},
    value::{Dict, Map, Value},
};
#[cfg(feature = "config")]
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use url::Url;

#[cfg(feature = "config")]
mod errors;

use crate::de::{lenient_f64, lenient_string, lenient_u64};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::retry::RetryPolicy;
use crate::secret::SecretString;
pub use crate::transport::DEFAULT_TIMEOUT;
use crate::transport::SharedTransport;
use crate::urls::{join, no_credentials_in_url, url_for_display, usable_base_url};

/// Production base URL of ThingSpace.
pub const DEFAULT_BASE_URL: &str = "https://thingspace.verizon.com/api";
/// Prefix of every environment variable the SDK reads.
pub const ENV_PREFIX: &str = "THINGSPACE_";
/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "THINGSPACE_CONFIG";
/// The configuration file read when it exists and no other is named.
pub const DEFAULT_CONFIG_FILE: &str = "thingspace.toml";

/// The ThingSpace settings (the top level of the configuration).
#[derive(Clone, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Config {
    /// Base URL of the ThingSpace API, `.../api`.
    pub base_url: Url,
    /// OAuth token endpoint; `<base_url>/ts/v1/oauth2/token` when absent.
    pub token_url: Option<Url>,
    /// OAuth client id (the ThingSpace app key).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// OAuth scopes to request, space separated; none by default.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub scope: Option<String>,
    /// UWS username for the M2M session.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub username: Option<String>,
    /// UWS password for the M2M session.
    pub password: Option<SecretString>,
    /// Per-attempt timeout in seconds (fractions allowed).
    #[serde(deserialize_with = "lenient_f64")]
    pub timeout_secs: f64,
    /// Largest response body accepted, in bytes.
    #[serde(deserialize_with = "lenient_u64")]
    pub max_body_bytes: u64,
    /// Retry settings.
    pub retry: RetryConfig,
    /// Other UWS users of the same OAuth application, by profile name (lower case); the
    /// top-level `username` and `password` are the profile `default`.
    pub profiles: BTreeMap<String, UserProfile>,
}

/// A UWS user of a `[profiles.<name>]` table. `Debug` never shows the password.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserProfile {
    /// The UWS user name.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub username: Option<String>,
    /// The UWS password.
    pub password: Option<SecretString>,
}

impl UserProfile {
    /// A profile for `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self {
            username: Some(username.into()),
            password: Some(password.into()),
        }
    }
}

/// The profile name of the top-level `username` and `password`.
pub const DEFAULT_PROFILE: &str = "default";

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: Url::parse(DEFAULT_BASE_URL).expect("the default base URL is valid"),
            token_url: None,
            client_id: None,
            client_secret: None,
            scope: None,
            username: None,
            password: None,
            timeout_secs: DEFAULT_TIMEOUT.as_secs_f64(),
            max_body_bytes: crate::transport::DEFAULT_MAX_BODY_BYTES as u64,
            retry: RetryConfig::default(),
            profiles: BTreeMap::new(),
        }
    }
}

impl Config {
    /// A typed builder, for settings made in code rather than read from files or the
    /// environment; its values are checked as loaded ones are.
    ///
    /// ```
    /// use std::time::Duration;
    /// use thingspace_core::{Config, url::Url};
    ///
    /// let config = Config::builder()
    ///     .base_url(Url::parse("https://thingspace.verizon.com/api").unwrap())
    ///     .client_id("my-app-key")
    ///     .client_secret("my-app-secret")
    ///     .username("my-uws-user")
    ///     .password("my-uws-password")
    ///     .timeout(Duration::from_secs(10))
    ///     .max_attempts(5)
    ///     .build()?;
    /// assert_eq!(config.retry_policy().max_attempts(), 5);
    /// assert!(!format!("{config:?}").contains("my-uws-password"));
    /// # Ok::<(), thingspace_core::Error>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
        }
    }

    /// Checks what no type says: URLs without credentials in them, a positive timeout, at
    /// least one attempt.
    fn check(&self) -> Result<()> {
        usable_base_url("base_url", &self.base_url)?;
        if let Some(url) = &self.token_url {
            no_credentials_in_url("token_url", url)?;
        }
        positive_secs("timeout_secs", self.timeout_secs)?;
        self.retry.check("retry")
    }

    /// Loads the configuration from the default layers (file, environment).
    ///
    /// # Errors
    /// A missing or malformed value, naming the key and the layer it came from.
    #[cfg(feature = "config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config")))]
    pub fn load() -> Result<Self> {
        ConfigLoader::new().load()?.thingspace()
    }

    /// The token endpoint: `token_url`, or the default derived from `base_url`.
    pub fn token_url(&self) -> Result<Url> {
        match &self.token_url {
            Some(u) => Ok(u.clone()),
            None => join(&self.base_url, "ts/v1/oauth2/token"),
        }
    }

    /// The per-attempt timeout (checked positive when loaded).
    pub fn timeout(&self) -> Duration {
        secs(self.timeout_secs).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::from(&self.retry)
    }

    /// The pipeline these settings describe (retry policy, timeout), on `transport`.
    pub fn pipeline(&self, transport: SharedTransport) -> Pipeline {
        Pipeline::new(transport)
            .with_retry(self.retry_policy())
            .with_timeout(self.timeout())
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &url_for_display(&self.base_url))
            .field("token_url", &self.token_url.as_ref().map(url_for_display))
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retry", &self.retry)
            .field("profiles", &self.profiles)
            .finish()
    }
}

/// Builds a [`Config`] in code, with types: see [`Config::builder`].
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// The base URL of the ThingSpace API (`.../api`).
    pub fn base_url(mut self, url: Url) -> Self {
        self.config.base_url = url;
        self
    }

    /// The OAuth token endpoint, when not `<base_url>/ts/v1/oauth2/token`.
    pub fn token_url(mut self, url: Url) -> Self {
        self.config.token_url = Some(url);
        self
    }

    /// The OAuth client id (the ThingSpace app key).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = Some(id.into());
        self
    }

    /// The OAuth client secret.
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.config.client_secret = Some(secret.into());
        self
    }

    /// OAuth scopes to request, space separated.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.config.scope = Some(scope.into());
        self
    }

    /// The UWS user of the M2M session.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.config.username = Some(username.into());
        self
    }

    /// The UWS user's password.
    pub fn password(mut self, password: impl Into<SecretString>) -> Self {
        self.config.password = Some(password.into());
        self
    }

    /// Another UWS user of the same application, as the profile `name` (any case; kept in
    /// lower case, as the environment spells it).
    pub fn profile(mut self, name: &str, user: UserProfile) -> Self {
        self.config.profiles.insert(name.to_ascii_lowercase(), user);
        self
    }

    /// The per-attempt timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout_secs = timeout.as_secs_f64();
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.config.max_body_bytes = max;
        self
    }

    /// Total attempts of an operation, the first included (`1` turns retries off).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.retry.max_attempts = u64::from(attempts);
        self
    }

    /// The budget of one operation, retries, waits and credentials included (`None`: none).
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.config.retry.deadline_secs = deadline.map_or(0.0, |d| d.as_secs_f64());
        self
    }

    /// The whole `[retry]` table.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.config.retry = retry;
        self
    }

    /// The configuration, checked as a loaded one is.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the setting: a URL holding a
    /// user name or password, a timeout that is not positive, no attempts at all.
    pub fn build(self) -> Result<Config> {
        self.config.check()?;
        Ok(self.config)
    }
}

/// Builds the layered configuration.
///
/// ```
/// use thingspace_core::ConfigLoader;
///
/// let config = ConfigLoader::new()
///     .without_env()
///     .without_default_file()
///     .set("base_url", "http://127.0.0.1:9000/api")
///     .set("client_id", "0042")
///     .load()?
///     .thingspace()?;
/// assert_eq!(config.base_url.as_str(), "http://127.0.0.1:9000/api");
/// assert_eq!(config.client_id.as_deref(), Some("0042"));
/// # Ok::<(), thingspace_core::Error>(())
/// ```
#[derive(Clone)]
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    user_file: Option<PathBuf>,
    default_file: bool,
    env: Option<Vec<(OsString, OsString)>>,
    use_process_env: bool,
    overrides: Vec<(String, String)>,
}

#[cfg(feature = "config")]
impl fmt::Debug for ConfigLoader {
    /// Keys only: the values set or given as variables may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |pairs: &[(String, String)]| -> Vec<String> {
            pairs.iter().map(|(k, _)| k.clone()).collect()
        };
        let env_keys = |pairs: &[(OsString, OsString)]| -> Vec<String> {
            pairs
                .iter()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect()
        };
        f.debug_struct("ConfigLoader")
            .field("file", &self.file)
            .field("user_file", &self.user_file)
            .field("default_file", &self.default_file)
            .field("env_keys", &self.env.as_deref().map(env_keys))
            .field("use_process_env", &self.use_process_env)
            .field("override_keys", &keys(&self.overrides))
            .finish()
    }
}

#[cfg(feature = "config")]
impl Default for ConfigLoader {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "config")]
impl ConfigLoader {
    /// Defaults, then `./thingspace.toml` or `$THINGSPACE_CONFIG`, then the process environment.
    pub fn new() -> Self {
        Self {
            file: None,
            user_file: None,
            default_file: true,
            env: None,
            use_process_env: true,
            overrides: Vec::new(),
        }
    }

    /// Reads this TOML file (it must exist) instead of the default one.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Reads this TOML file too, when it exists, below the configuration file: a user's own
    /// settings (the `thingspace` command passes `~/.config/thingspace/config.toml`). The
    /// configuration file's rules hold for it: which file is in use is logged, and a secret in
    /// a file that group or others may read is warned about.
    pub fn user_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.user_file = Some(path.into());
        self
    }

    /// Reads no file unless one is named with [`file`](Self::file) or `THINGSPACE_CONFIG`.
    pub fn without_default_file(mut self) -> Self {
        self.default_file = false;
        self
    }

    /// Ignores the process environment.
    pub fn without_env(mut self) -> Self {
        self.use_process_env = false;
        self
    }

    /// Reads the environment layer from these variables instead of the process environment.
    pub fn env_vars<I, K, V>(self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env_vars_os(vars.into_iter().map(|(k, v)| (k.into(), v.into())))
    }

    /// As [`env_vars`](Self::env_vars), from variables as the operating system gives them
    /// (`std::env::vars_os()`, a snapshot taken by the caller), which need not be UTF-8. They
    /// are read as the process environment is: only `THINGSPACE_*` variables count, and
    /// [`load`](Self::load) fails naming one that is not UTF-8, never quoting its value.
    pub fn env_vars_os<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets `key` (dotted for tables: `retry.max_attempts`, `oc.base_url`) in the code layer,
    /// the last and strongest one.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// Reads every layer.
    ///
    /// # Errors
    /// A configuration file that was named but cannot be read or parsed; a `THINGSPACE_*`
    /// variable that is not UTF-8.
    pub fn load(self) -> Result<LoadedConfig> {
        let env: Vec<(String, String)> = match self.env {
            Some(vars) => own_variables(vars.into_iter())?,
            None if self.use_process_env => own_variables(std::env::vars_os())?,
            None => Vec::new(),
        };
        let named = self.file.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == CONFIG_ENV)
                .map(|(_, v)| PathBuf::from(v))
        });
        let mut figment = Figment::from(TextLayer::from_pairs(
            "defaults",
            [
                ("base_url".to_owned(), DEFAULT_BASE_URL.to_owned()),
                ("timeout_secs".to_owned(), "30".to_owned()),
            ],
        ));
        // A user file that is not there is no error: it is optional wherever it is named.
        let user_file = self.user_file.filter(|path| path.is_file());
        if let Some(path) = &user_file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let file = match named {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::config(format!(
                        "the configuration file `{}` does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file(&path));
                Some((path, false))
            }
            None if self.default_file && Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE));
                Some((PathBuf::from(DEFAULT_CONFIG_FILE), true))
            }
            None => None,
        };
        figment = figment.merge(TextLayer::from_env(env));
        figment = figment.merge(TextLayer::from_pairs("code", self.overrides));
        if let Some(path) = user_file {
            warn_about_file(&figment, &path, false);
        }
        if let Some((path, implicit)) = file {
            warn_about_file(&figment, &path, implicit);
        }
        Ok(LoadedConfig { figment })
    }
}

/// URL settings: where credentials are sent.
#[cfg(feature = "config")]
const URL_KEYS: &[&str] = &["base_url", "token_url", "oc.base_url", "oc.token_url"];

/// Secret settings.
#[cfg(feature = "config")]
const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "password",
    "oc.client_secret",
    "callbacks.password",
];

/// Says which configuration file is in use (at INFO), and warns when it is dangerous: a file
/// found implicitly in the working directory that changes where credentials go while the
/// credentials come from elsewhere (a file planted in a directory would redirect them), or a
/// file holding a secret that others may read.
#[cfg(feature = "config")]
fn warn_about_file(figment: &Figment, path: &Path, implicit: bool) {
    tracing::info!(file = %path.display(), "configuration file in use");
    let from_file = |key: &str| {
        figment.find_metadata(key).is_some_and(|m| {
            m.source
                .as_ref()
                .and_then(figment::Source::file_path)
                .is_some_and(|source| same_file(source, path))
        })
    };
    let secrets_in_file: Vec<&str> = SECRET_KEYS
        .iter()
        .copied()
        .filter(|k| from_file(k))
        .collect();
    if !secrets_in_file.is_empty() && readable_by_others(path) {
        tracing::warn!(
            file = %path.display(),
            "the configuration file holds {} and can be read by group or others: make it readable by its owner only (chmod 600)",
            secrets_in_file.join(", ")
        );
    }
    if !implicit {
        return;
    }
    let urls: Vec<&str> = URL_KEYS.iter().copied().filter(|k| from_file(k)).collect();
    let credentials_elsewhere = SECRET_KEYS
        .iter()
        .any(|k| figment.find_value(k).is_ok() && !from_file(k));
    if !urls.is_empty() && credentials_elsewhere {
        tracing::warn!(
            file = %path.display(),
            "`{}` in the working directory sets {}, while the credentials come from elsewhere: they will be sent where this file says",
            path.display(),
            urls.join(", ")
        );
    }
}

/// Whether `a` and `b` name the same file (figment holds the path it found, made absolute).
#[cfg(feature = "config")]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether the file at `path` can be read by its group or by others.
#[cfg(all(unix, feature = "config"))]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(all(not(unix), feature = "config"))]
fn readable_by_others(_: &Path) -> bool {
    false
}

/// This program's variables (`THINGSPACE_*`) among `vars`, as text. Any other variable is
/// left alone, whatever it holds; one of ours that is not UTF-8 is an error naming it, never
/// quoting it (it may be a password).
#[cfg(feature = "config")]
fn own_variables(
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> Result<Vec<(String, String)>> {
    let mut own = Vec::new();
    for (key, value) in vars {
        // Our names are ASCII: a name that is not UTF-8 is not ours.
        let Some(key) = key.to_str().filter(|k| k.starts_with(ENV_PREFIX)) else {
            continue;
        };
        let Some(value) = value.to_str() else {
            return Err(Error::config(format!(
                "the environment variable `{key}` is not valid UTF-8 (its value is not shown)"
            )));
        };
        own.push((key.to_owned(), value.to_owned()));
    }
    Ok(own)
}

/// The configuration layers, read: extract the ThingSpace settings or a family's table.
///
/// Its `Debug` names the layers, never their values (they hold secrets).
#[derive(Clone)]
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub struct LoadedConfig {
    figment: Figment,
}

#[cfg(feature = "config")]
impl fmt::Debug for LoadedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layers: Vec<String> = self
            .figment
            .metadata()
            .map(|m| match &m.source {
                Some(source) => format!("{} ({source})", m.name),
                None => m.name.to_string(),
            })
            .collect();
        f.debug_struct("LoadedConfig")
            .field("layers", &layers)
            .finish()
    }
}

#[cfg(feature = "config")]
impl LoadedConfig {
    /// The ThingSpace settings at the top level.
    ///
    /// # Errors
    /// A malformed value, naming the key and the layer it came from.
    pub fn thingspace(&self) -> Result<Config> {
        let config: Config = self.figment.extract()?;
        config.check()?;
        self.check_keys()?;
        Ok(config)
    }

    /// Checks the spelling of the settings (done by [`thingspace`](Self::thingspace); families
    /// call it too). A misspelt setting is not applied, silently, unless someone looks: this
    /// refuses unknown `[retry]` keys and top-level keys that are a table's key with one
    /// underscore (`THINGSPACE_RETRY_MAX_ATTEMPTS` for `THINGSPACE_RETRY__MAX_ATTEMPTS`), and logs
    /// other unknown top-level values, which may belong to something else.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the key, its layer and the
    /// spelling meant.
    pub fn check_keys(&self) -> Result<()> {
        let top: BTreeMap<String, Value> = self.figment.extract()?;
        let layer = |key: &str| {
            self.figment
                .find_metadata(key)
                .map_or_else(String::new, |m| format!(" (from {})", m.name))
        };
        let tables: Vec<&str> = top
            .iter()
            .filter(|(_, v)| matches!(v, Value::Dict(..)))
            .map(|(k, _)| k.as_str())
            .chain(["retry"])
            .collect();
        for (key, value) in &top {
            if let Value::Dict(_, inner) = value {
                if key == "retry"
                    && let Some(k) = inner.keys().find(|k| !RETRY_KEYS.contains(&k.as_str()))
                {
                    let path = format!("retry.{k}");
                    return Err(Error::config(format!(
                        "unknown setting `{path}`{}; [retry] takes {}",
                        layer(&path),
                        RETRY_KEYS.join(", ")
                    )));
                }
                continue;
            }
            if TOP_KEYS.contains(&key.as_str()) {
                continue;
            }
            if let Some((table, rest)) = tables
                .iter()
                .find_map(|t| Some((*t, key.strip_prefix(t)?.strip_prefix('_')?)))
            {
                return Err(Error::config(format!(
                    "unknown setting `{key}`{}: did you mean `{table}.{rest}` (THINGSPACE_{}__{})?",
                    layer(key),
                    table.to_ascii_uppercase(),
                    rest.to_ascii_uppercase()
                )));
            }
            tracing::warn!(
                key = key.as_str(),
                "unknown ThingSpace setting{}, ignored",
                layer(key)
            );
        }
        Ok(())
    }

    /// A family's table, such as `oc`; its type's defaults apply when the table is absent.
    ///
    /// # Errors
    /// A malformed value, naming the key and the layer it came from.
    pub fn extract_table<T: DeserializeOwned + Default>(&self, table: &str) -> Result<T> {
        if self.figment.find_value(table).is_err() {
            return Ok(T::default());
        }
        self.figment
            .extract_inner(table)
            .map_err(|e| errors::table_error(e, Some(table)))
    }

    /// The whole configuration, every table, as `T` (a family's view of top-level settings it
    /// inherits, say).
    ///
    /// # Errors
    /// A malformed value, naming the key and the layer it came from.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(self.figment.extract()?)
    }

    /// Where the setting `key` (dotted: `retry.max_attempts`, `oc.base_url`) got its value:
    /// the layer, and the file for a file's; `None` when no layer sets it.
    pub fn origin(&self, key: &str) -> Option<Origin> {
        self.figment.find_metadata(key).map(|m| Origin {
            layer: m.name.to_string(),
            file: m
                .source
                .as_ref()
                .and_then(figment::Source::file_path)
                .map(Path::to_path_buf),
        })
    }
}

/// Where a setting got its value ([`LoadedConfig::origin`]).
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The layer: `defaults`, `TOML file`, `environment variable(s)`, `code`, ….
    pub layer: String,
    /// The file, for a value read from one.
    pub file: Option<PathBuf>,
}

/// A layer of text values: figment's own `Env` parses `0000123456` as a number and loses the
/// zeros, so values here stay strings, and numeric settings accept numeric text.
#[cfg(feature = "config")]
struct TextLayer {
    name: &'static str,
    dict: Dict,
}

#[cfg(feature = "config")]
impl TextLayer {
    fn from_env(vars: Vec<(String, String)>) -> Self {
        let pairs = vars.into_iter().filter_map(|(k, v)| {
            let rest = k.strip_prefix(ENV_PREFIX)?;
            if k == CONFIG_ENV || rest.is_empty() {
                return None;
            }
            Some((rest.to_ascii_lowercase().replace("__", "."), v))
        });
        Self::from_pairs("environment variable(s)", pairs)
    }

    fn from_pairs(name: &'static str, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut dict = Dict::new();
        for (key, value) in pairs {
            insert_dotted(&mut dict, &key, value);
        }
        Self { name, dict }
    }
}

#[cfg(feature = "config")]
fn insert_dotted(dict: &mut Dict, key: &str, value: String) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), Value::from(value));
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::from(BTreeMap::<String, Value>::new()));
            if let Value::Dict(_, inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

#[cfg(feature = "config")]
impl Provider for TextLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> std::result::Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient_string(d).map(Some)
}

/// `[retry]` configuration table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Total attempts, the first included; `1` turns retries off.
    #[serde(deserialize_with = "crate::de::lenient_u64")]
    pub max_attempts: u64,
    /// Delay before the first retry, in milliseconds.
    #[serde(deserialize_with = "crate::de::lenient_u64")]
    pub initial_backoff_ms: u64,
    /// Longest delay between attempts, in milliseconds.
    #[serde(deserialize_with = "crate::de::lenient_u64")]
    pub max_backoff_ms: u64,
    /// Overall budget of one operation in seconds, retries and waits included (0: none).
    #[serde(deserialize_with = "crate::de::lenient_f64")]
    pub deadline_secs: f64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            max_attempts: u64::from(p.max_attempts()),
            initial_backoff_ms: p.initial_backoff().as_millis() as u64,
            max_backoff_ms: p.max_backoff().as_millis() as u64,
            deadline_secs: p.deadline().map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

impl RetryConfig {
    /// Checks the values: `table` names the table in errors, such as `retry` or `oc.retry`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for no attempts at all, rather than
    /// quietly making one.
    pub fn check(&self, table: &str) -> crate::Result<()> {
        if self.max_attempts == 0 {
            return Err(crate::Error::config(format!(
                "`{table}.max_attempts` must be at least 1 (1 turns retries off)"
            )));
        }
        // A negative, infinite or NaN budget would silently turn the budget off.
        if !(self.deadline_secs.is_finite() && self.deadline_secs >= 0.0) {
            return Err(crate::Error::config(format!(
                "`{table}.deadline_secs` must be a number of seconds, 0 or more (0: no budget), not {}",
                self.deadline_secs
            )));
        }
        Ok(())
    }
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(c: &RetryConfig) -> Self {
        RetryPolicy::default()
            .with_max_attempts(u32::try_from(c.max_attempts).unwrap_or(u32::MAX))
            .with_initial_backoff(Duration::from_millis(c.initial_backoff_ms))
            .with_max_backoff(Duration::from_millis(c.max_backoff_ms))
            .with_deadline(secs(c.deadline_secs))
    }
}

/// The top-level settings of [`Config`].
#[cfg(feature = "config")]
const TOP_KEYS: &[&str] = &[
    "base_url",
    "token_url",
    "client_id",
    "client_secret",
    "scope",
    "username",
    "password",
    "timeout_secs",
    "max_body_bytes",
];

/// The settings of the `[retry]` table.
#[cfg(feature = "config")]
const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "initial_backoff_ms",
    "max_backoff_ms",
    "deadline_secs",
];

/// The setting `key`, a number of seconds, as a duration (at most a day).
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming `key` when the value is zero,
/// negative or not a number: a timeout of nothing is a mistake, not a request for the default.
pub fn positive_secs(key: &str, value: f64) -> Result<Duration> {
    secs(value).ok_or_else(|| {
        Error::config(format!(
            "`{key}` must be a positive number of seconds, not {value}"
        ))
    })
}

/// Fails naming every setting of `settings` (name, whether it is set) that is not set, as
/// "missing {what}: a, b ({hint})". Families use it for their own tables.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when any is missing.
pub fn require_settings(what: &str, settings: &[(&str, bool)], hint: &str) -> Result<()> {
    let missing: Vec<&str> = settings
        .iter()
        .filter(|(_, set)| !set)
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::config(format!(
        "missing {what}: {} ({hint})",
        missing.join(", ")
    )))
}

/// A positive, finite number of seconds as a duration (at most a day).
pub(crate) fn secs(value: f64) -> Option<Duration> {
    (value.is_finite() && value > 0.0).then(|| Duration::from_secs_f64(value.min(86_400.0)))
}

#[cfg(all(test, unix, feature = "config"))]
mod environment_tests {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    fn var(key: &[u8], value: &[u8]) -> (OsString, OsString) {
        (
            OsString::from_vec(key.to_vec()),
            OsString::from_vec(value.to_vec()),
        )
    }

    #[test]
    fn only_this_programs_variables_are_read_and_none_is_quoted() {
        let own = own_variables(
            [
                var(b"FOO", b"\xff\xfe"),
                var(b"\xffKEY", b"x"),
                var(b"THINGSPACE_CLIENT_ID", b"0042"),
                var(b"PATH", b"/bin"),
            ]
            .into_iter(),
        )
        .expect("unrelated variables are left alone");
        assert_eq!(
            own,
            [("THINGSPACE_CLIENT_ID".to_owned(), "0042".to_owned())]
        );
        let e = own_variables([var(b"THINGSPACE_PASSWORD", b"secret\xff")].into_iter())
            .expect_err("not UTF-8");
        let text = format!("{e} {e:?}");
        assert!(
            text.contains("THINGSPACE_PASSWORD") && !text.contains("secret"),
            "{text}"
        );
        assert_eq!(e.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn variables_given_as_the_os_gives_them_are_read_as_the_process_environment_is() {
        let loaded = ConfigLoader::new()
            .without_default_file()
            .env_vars_os([var(b"FOO", b"\xff"), var(b"THINGSPACE_CLIENT_ID", b"0042")])
            .load()
            .and_then(|l| l.thingspace())
            .expect("unrelated variables are left alone");
        assert_eq!(loaded.client_id.as_deref(), Some("0042"));
        let e = ConfigLoader::new()
            .without_default_file()
            .env_vars_os([var(b"THINGSPACE_PASSWORD", b"secret\xff")])
            .load()
            .expect_err("not UTF-8");
        let text = format!("{e} {e:?}");
        assert!(
            text.contains("THINGSPACE_PASSWORD") && !text.contains("secret"),
            "{text}"
        );
    }
}

#[cfg(test)]
mod builder_tests {
    use super::*;

    #[test]
    fn the_builder_checks_what_loading_checks() {
        let e = Config::builder()
            .base_url(Url::parse("https://me:pw@example.com/api").expect("url"))
            .build()
            .expect_err("credentials in the URL");
        assert!(
            e.to_string().contains("base_url") && !e.to_string().contains("pw"),
            "{e}"
        );
        let e = Config::builder()
            .timeout(Duration::ZERO)
            .build()
            .expect_err("zero timeout");
        assert!(e.to_string().contains("timeout_secs"), "{e}");
        let e = Config::builder()
            .max_attempts(0)
            .build()
            .expect_err("no attempts");
        assert!(e.to_string().contains("max_attempts"), "{e}");
        let c = Config::builder()
            .deadline(None)
            .client_id("0042")
            .build()
            .expect("built");
        assert_eq!(c.retry_policy().deadline(), None);
        assert_eq!(c.client_id.as_deref(), Some("0042"));
    }
}

#[cfg(all(test, feature = "config"))]
mod tests {
    use super::*;

    fn loader() -> ConfigLoader {
        ConfigLoader::new()
            .without_default_file()
            .env_vars(Vec::<(String, String)>::new())
    }

    #[test]
    fn a_url_holding_credentials_is_refused_and_never_printed() {
        let e = loader()
            .set("base_url", "https://me:pw-123@thingspace.example.com/api")
            .load()
            .and_then(|l| l.thingspace())
            .expect_err("credentials in a URL");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.to_string().contains("base_url"), "{e}");
        assert!(!e.to_string().contains("pw-123") && !format!("{e:?}").contains("pw-123"));
        let config = Config {
            base_url: Url::parse("https://me:pw-123@thingspace.example.com/api").expect("url"),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("pw-123"), "{config:?}");
        assert!(!format!("{config:?}").contains("//me"), "{config:?}");
    }

    #[test]
    fn defaults() {
        let c = loader().load().expect("load").thingspace().expect("config");
        assert_eq!(c.base_url.as_str(), DEFAULT_BASE_URL);
        assert_eq!(
            c.token_url().expect("url").as_str(),
            "https://thingspace.verizon.com/api/ts/v1/oauth2/token"
        );
        assert_eq!(c.retry.max_attempts, 3);
        assert_eq!(c.timeout(), Duration::from_secs(30));
    }

    #[test]
    fn layers_file_then_env_then_code() {
        let dir = std::env::temp_dir().join(format!("ts-config-{}-secrets", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("t.toml");
        std::fs::write(
            &file,
            "base_url = \"https://file.example/api\"\nclient_id = \"from-file\"\nusername = \"u\"\ntimeout_secs = 5\n[retry]\nmax_attempts = 7\n[oc]\nscope = \"s\"\n",
        )
        .expect("write");
        let c = loader()
            .file(&file)
            .env_vars([
                ("THINGSPACE_CLIENT_ID", "0000123456"),
                ("THINGSPACE_RETRY__MAX_ATTEMPTS", "4"),
                ("THINGSPACE_PASSWORD", "0012"),
                ("OTHER", "x"),
            ])
            .set("username", "from-code")
            .load()
            .expect("load");
        let ts = c.thingspace().expect("config");
        assert_eq!(ts.base_url.as_str(), "https://file.example/api");
        assert_eq!(ts.client_id.as_deref(), Some("0000123456"));
        assert_eq!(
            ts.password.as_ref().map(SecretString::expose_secret),
            Some("0012")
        );
        assert_eq!(ts.username.as_deref(), Some("from-code"));
        assert_eq!(ts.timeout(), Duration::from_secs(5));
        assert_eq!(ts.retry.max_attempts, 4);

        #[derive(Debug, Default, Deserialize)]
        struct Oc {
            scope: Option<String>,
            base_url: Option<String>,
        }
        let oc: Oc = c.extract_table("oc").expect("oc");
        assert_eq!(oc.scope.as_deref(), Some("s"));
        assert_eq!(oc.base_url, None);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_user_file_sits_below_the_configuration_file_and_may_be_absent() {
        let dir = std::env::temp_dir().join(format!("ts-config-{}-user", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (user, file) = (dir.join("user.toml"), dir.join("t.toml"));
        std::fs::write(
            &user,
            "client_id = \"from-user\"\nusername = \"user-u\"\n[retry]\nmax_attempts = 6\n",
        )
        .expect("write");
        std::fs::write(&file, "username = \"file-u\"\n").expect("write");
        let loaded = loader()
            .user_file(&user)
            .file(&file)
            .env_vars([("THINGSPACE_RETRY__MAX_ATTEMPTS", "2")])
            .load()
            .expect("load");
        let ts = loaded.thingspace().expect("config");
        assert_eq!(ts.client_id.as_deref(), Some("from-user"));
        assert_eq!(ts.username.as_deref(), Some("file-u"), "the file wins");
        assert_eq!(ts.retry.max_attempts, 2, "the environment wins");
        let origin = loaded.origin("client_id").expect("set");
        assert_eq!(origin.file.as_deref(), Some(user.as_path()));
        let absent = loader()
            .user_file(dir.join("none.toml"))
            .load()
            .expect("load");
        assert_eq!(absent.thingspace().expect("config").client_id, None);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn errors_name_the_key_and_the_layer() {
        let err = loader()
            .env_vars([("THINGSPACE_TIMEOUT_SECS", "soon")])
            .load()
            .expect("load")
            .thingspace()
            .expect_err("bad number");
        let text = err.to_string();
        assert!(
            text.contains("timeout_secs") && text.contains("environment"),
            "{text}"
        );
        let err = loader()
            .set("base_url", "not a url")
            .load()
            .expect("load")
            .thingspace()
            .expect_err("bad url");
        assert!(err.to_string().contains("base_url"), "{err}");
        let err = loader()
            .file("/definitely/missing.toml")
            .load()
            .expect_err("missing");
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }

    #[test]
    fn misspelt_settings_are_refused_not_ignored() {
        let err = loader()
            .env_vars([("THINGSPACE_RETRY_MAX_ATTEMPTS", "1")])
            .load()
            .and_then(|l| l.thingspace())
            .expect_err("one underscore");
        let text = err.to_string();
        assert!(
            text.contains("retry_max_attempts") && text.contains("THINGSPACE_RETRY__MAX_ATTEMPTS"),
            "{text}"
        );
        let err = loader()
            .set("retry.max_attempt", "1")
            .load()
            .and_then(|l| l.thingspace())
            .expect_err("not a retry key");
        assert!(err.to_string().contains("retry.max_attempt"), "{err}");
        // Family tables and unrelated values pass.
        loader()
            .set("oc.scope", "s")
            .env_vars([("THINGSPACE_LOG", "debug")])
            .load()
            .and_then(|l| l.thingspace())
            .expect("fine");
        let err = loader()
            .set("oc.scope", "s")
            .env_vars([("THINGSPACE_OC_CLIENT_ID", "x")])
            .load()
            .and_then(|l| l.thingspace())
            .expect_err("a family table with one underscore");
        assert!(
            err.to_string().contains("THINGSPACE_OC__CLIENT_ID"),
            "{err}"
        );
    }

    #[test]
    fn a_timeout_of_nothing_is_refused() {
        for bad in ["0", "-1", "NaN"] {
            let err = loader()
                .set("timeout_secs", bad)
                .load()
                .and_then(|l| l.thingspace())
                .expect_err(bad);
            assert!(err.to_string().contains("timeout_secs"), "{err}");
        }
        let ok = loader()
            .set("timeout_secs", "0.25")
            .load()
            .and_then(|l| l.thingspace());
        assert_eq!(ok.expect("fraction").timeout(), Duration::from_millis(250));
    }

    #[test]
    fn debug_hides_secrets() {
        let c = loader()
            .set("client_secret", "cs-123")
            .set("password", "pw-456")
            .load()
            .expect("load")
            .thingspace()
            .expect("config");
        let d = format!("{c:?}");
        assert!(!d.contains("cs-123") && !d.contains("pw-456"), "{d}");
        let l = loader()
            .set("client_secret", "cs-123")
            .env_vars([("THINGSPACE_PASSWORD", "pw-456")]);
        let d = format!("{l:?}");
        assert!(!d.contains("cs-123") && !d.contains("pw-456"), "{d}");
        assert!(
            d.contains("client_secret") && d.contains("THINGSPACE_PASSWORD"),
            "{d}"
        );
    }

    #[test]
    fn a_malformed_file_is_located_without_quoting_its_lines() {
        let dir = std::env::temp_dir().join(format!("ts-config-{}-malformed", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("thingspace.toml");
        std::fs::write(&file, "client_id = \"id\"\npassword = hunter2\n").expect("write");
        let err = loader().file(&file).load().and_then(|l| l.thingspace());
        let _ = std::fs::remove_dir_all(&dir);
        let err = err.expect_err("not TOML");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("thingspace.toml"), "{text}");
        assert!(std::error::Error::source(&err).is_none());
    }

    #[test]
    fn a_malformed_file_says_why_without_quoting_a_value() {
        let dir = std::env::temp_dir().join(format!("ts-config-{}-reasons", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let cases = [
            // The parser's reason quotes the key: a password pasted as a key stays unprinted.
            (
                "dup.toml",
                "client_id = \"id\"\ns3cr3t-pw = 1\ns3cr3t-pw = 2\n",
                "duplicate key",
                "line 3",
            ),
            (
                "string.toml",
                "client_id = \"id\"\npassword = s3cr3t-pw\n",
                "invalid string",
                "line 2",
            ),
            (
                "escape.toml",
                "password = \"s3cr3t-pw\\q\"\n",
                "invalid escape sequence",
                "line 1",
            ),
        ];
        for (name, text, reason, line) in cases {
            let file = dir.join(name);
            std::fs::write(&file, text).expect("write");
            let err = loader()
                .file(&file)
                .load()
                .and_then(|l| l.thingspace())
                .expect_err(name);
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(reason), "{name}: {shown}");
            assert!(shown.contains(line), "{name}: {shown}");
            assert!(!shown.contains("s3cr3t"), "{name}: {shown}");
            assert!(!shown.contains('`'), "{name}: {shown}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

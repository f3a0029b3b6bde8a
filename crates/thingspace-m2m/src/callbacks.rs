//! Callback listeners: where ThingSpace posts the result of each device of an asynchronous
//! request (`POST`, `GET /m2m/v1/callbacks/{accountname}`,
//! `DELETE /m2m/v1/callbacks/{accountname}/name/{serviceName}`).
//!
//! One listener per callback service per account. The user name and password are posted by
//! ThingSpace in each callback's body (its only authentication); they are secrets here both
//! ways, including the password that `list` returns in clear text.

use serde::{Deserialize, Serialize};
use thingspace_core::de::nonempty_text;
use thingspace_core::{ApiRequest, Client, Error, Idempotency, Response, Result, SecretString};

/// Operation name of [`CallbacksApi::register`].
pub const REGISTER_CALLBACK: &str = "m2m.callbacks.register";
/// Operation name of [`CallbacksApi::list`].
pub const LIST_CALLBACKS: &str = "m2m.callbacks.list";
/// Operation name of [`CallbacksApi::delete`].
pub const DELETE_CALLBACK: &str = "m2m.callbacks.delete";

/// The longest user name or password ThingSpace accepts for a listener, in characters.
pub const MAX_CREDENTIAL_CHARS: usize = 40;

/// Callback services that device actions report to (others exist; any name is accepted).
pub mod services {
    /// Activate, suspend, restore, deactivate and device changes.
    pub const CARRIER_SERVICE: &str = "CarrierService";
    /// Go-to-state results.
    pub const STATE_SERVICE: &str = "StateService";
}

/// A listener to register. Its `Debug` never shows the password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Listener {
    /// The callback service, such as `CarrierService`.
    pub service: String,
    /// The https URL ThingSpace posts to (a reverse proxy or load balancer in front of the
    /// listener, with a CA-signed certificate).
    pub url: String,
    /// The user name ThingSpace puts in each callback's body (at most 40 characters).
    pub username: Option<String>,
    /// The password ThingSpace puts in each callback's body (at most 40 characters; never the
    /// UWS user's).
    pub password: Option<SecretString>,
}

impl Listener {
    /// A listener for `service` at `url`, without credentials.
    pub fn new(service: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            url: url.into(),
            username: None,
            password: None,
        }
    }

    /// The credentials ThingSpace will post in each callback's body.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }
}

/// The `[callbacks]` table: the credentials of this program's listener (`username`, `password`;
/// environment `THINGSPACE_CALLBACKS__USERNAME`, `THINGSPACE_CALLBACKS__PASSWORD`), registered
/// with ThingSpace and checked on each callback. Never the UWS user's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// The user name ThingSpace posts in each callback.
    #[serde(deserialize_with = "thingspace_core::de::opt_string_or_number")]
    pub username: Option<String>,
    /// The password ThingSpace posts in each callback.
    pub password: Option<SecretString>,
}

impl ListenerConfig {
    /// The `[callbacks]` table of `config` (empty when absent).
    ///
    /// # Errors
    /// A malformed value, naming the key and its layer.
    #[cfg(feature = "config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config")))]
    pub fn load(config: &thingspace_core::LoadedConfig) -> Result<Self> {
        config.extract_table("callbacks")
    }

    /// `listener` with these credentials, when both are set.
    pub fn apply(&self, listener: Listener) -> Listener {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => listener.with_credentials(u.clone(), p.clone()),
            _ => listener,
        }
    }
}

/// A registered listener, as `list` returns it. Its `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RegisteredListener {
    /// The account.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The callback service.
    #[serde(deserialize_with = "nonempty_text")]
    pub service_name: String,
    /// The URL ThingSpace posts to.
    #[serde(default)]
    pub url: Option<String>,
    /// The user name posted in each callback.
    #[serde(default)]
    pub username: Option<String>,
    /// The password posted in each callback: the service returns it in clear text; here it is
    /// a secret.
    #[serde(default)]
    pub password: Option<SecretString>,
}

/// The answer to a registration or a deletion: which listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListenerRef {
    /// The account.
    #[serde(default)]
    pub account_name: Option<String>,
    /// The callback service.
    #[serde(deserialize_with = "nonempty_text")]
    pub service_name: String,
}

/// The callback listeners resource. Get it with [`M2m::callbacks`](crate::M2m::callbacks).
#[derive(Debug, Clone, Copy)]
pub struct CallbacksApi<'a> {
    client: &'a Client,
}

impl<'a> CallbacksApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Registers `listener` for `account`. Not repeated after a lost answer (whether a second
    /// registration replaces the first or fails is not documented): the error then says to
    /// list the listeners first.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) before sending, for
    /// an empty service or URL or a user name or password over 40 characters; the service's
    /// error otherwise.
    pub async fn register(&self, account: &str, listener: &Listener) -> Result<ListenerRef> {
        let request = register_request(account, listener)?;
        decode_register(&self.client.send(&request).await?)
    }

    /// The listeners registered for `account`.
    ///
    /// # Errors
    /// The service's error; a decode error for an answer that is not a list of listeners.
    pub async fn list(&self, account: &str) -> Result<Vec<RegisteredListener>> {
        decode_list(&self.client.send(&list_request(account)).await?)
    }

    /// Removes the listener of `service` from `account`.
    ///
    /// # Errors
    /// The service's error, such as a 404 when none is registered.
    pub async fn delete(&self, account: &str, service: &str) -> Result<ListenerRef> {
        decode_delete(&self.client.send(&delete_request(account, service)).await?)
    }
}

/// The wire body of a registration; the password is marked secret on the request.
#[derive(Serialize)]
struct RegistrationBody<'a> {
    name: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

/// The request of [`CallbacksApi::register`].
///
/// # Errors
/// [`ErrorKind::InvalidInput`](thingspace_core::ErrorKind::InvalidInput) for an empty service
/// or URL, or a user name or password over 40 characters.
pub fn register_request(account: &str, listener: &Listener) -> Result<ApiRequest> {
    let invalid = |what: &str| Err(Error::invalid_input(what).with_operation(REGISTER_CALLBACK));
    if listener.service.trim().is_empty() {
        return invalid("the listener's service name is empty");
    }
    if listener.url.trim().is_empty() {
        return invalid("the listener's URL is empty");
    }
    let too_long = |v: Option<&str>| v.is_some_and(|v| v.chars().count() > MAX_CREDENTIAL_CHARS);
    if too_long(listener.username.as_deref())
        || too_long(listener.password.as_ref().map(SecretString::expose_secret))
    {
        return invalid("the listener's user name and password are at most 40 characters each");
    }
    Ok(
        ApiRequest::post(REGISTER_CALLBACK, "/m2m/v1/callbacks/{accountname}")
            .path_param("accountname", account)
            .json(&RegistrationBody {
                name: &listener.service,
                url: &listener.url,
                username: listener.username.as_deref(),
                password: listener.password.as_ref().map(SecretString::expose_secret),
            })
            .secret_fields(&["password"])
            .how_to_check(
                "list the account's callback listeners (callbacks list) before registering again",
            ),
    )
}

/// Decodes the answer to [`CallbacksApi::register`].
///
/// # Errors
/// A decode error for an answer without `serviceName`.
pub fn decode_register(response: &Response) -> Result<ListenerRef> {
    response.json(REGISTER_CALLBACK)
}

/// The request of [`CallbacksApi::list`].
pub fn list_request(account: &str) -> ApiRequest {
    ApiRequest::get(LIST_CALLBACKS, "/m2m/v1/callbacks/{accountname}")
        .path_param("accountname", account)
}

/// Decodes the answer to [`CallbacksApi::list`] (an array; `null` is none).
///
/// # Errors
/// A decode error for anything else.
pub fn decode_list(response: &Response) -> Result<Vec<RegisteredListener>> {
    let listeners: Option<Vec<RegisteredListener>> = response.json(LIST_CALLBACKS)?;
    Ok(listeners.unwrap_or_default())
}

/// The request of [`CallbacksApi::delete`]: safe to repeat (a second deletion changes nothing).
pub fn delete_request(account: &str, service: &str) -> ApiRequest {
    ApiRequest::delete(
        DELETE_CALLBACK,
        "/m2m/v1/callbacks/{accountname}/name/{servicename}",
    )
    .path_param("accountname", account)
    .path_param("servicename", service)
    .with_idempotency(Idempotency::Safe)
}

/// Decodes the answer to [`CallbacksApi::delete`].
///
/// # Errors
/// A decode error for an answer without `serviceName`.
pub fn decode_delete(response: &Response) -> Result<ListenerRef> {
    response.json(DELETE_CALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingspace_core::http::StatusCode;

    #[test]
    fn the_password_is_a_secret_both_ways() {
        let listener = Listener::new(services::CARRIER_SERVICE, "https://cb.example.com/in")
            .with_credentials("cb-user", "cb-pass-123");
        let request = register_request("0000123456", &listener).expect("request");
        let shown = format!("{listener:?} {request:?}");
        assert!(!shown.contains("cb-pass-123"), "{shown}");
        let listed = Response::new(
            StatusCode::OK,
            Default::default(),
            r#"[{"accountName":"0000123456","serviceName":"CarrierService","url":"https://x","username":"u","password":"cb-pass-123"}]"#,
        );
        let listeners = decode_list(&listed).expect("list");
        assert_eq!(
            listeners[0]
                .password
                .as_ref()
                .map(SecretString::expose_secret),
            Some("cb-pass-123")
        );
        assert!(!format!("{listeners:?}").contains("cb-pass-123"));
    }

    #[test]
    fn bad_listeners_are_refused_before_sending() {
        for listener in [
            Listener::new("", "https://x"),
            Listener::new("CarrierService", " "),
            Listener::new("CarrierService", "https://x").with_credentials("u".repeat(41), "p"),
            Listener::new("CarrierService", "https://x").with_credentials("u", "p".repeat(41)),
        ] {
            let e = register_request("0000123456", &listener).expect_err("refused");
            assert_eq!(e.kind(), thingspace_core::ErrorKind::InvalidInput, "{e}");
        }
        assert!(
            register_request(
                "0000123456",
                &Listener::new("CarrierService", "https://x").with_credentials("u", "p".repeat(40))
            )
            .is_ok()
        );
    }
}

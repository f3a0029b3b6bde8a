//! A small API family written only against `thingspace-core`'s public API, as
//! `docs/extending.md` describes: a paged GET and a POST that changes something. It proves the
//! guide: if the core changes in a way that breaks a family, this stops compiling.
//!
//! The operations are hypothetical:
//! - `GET /m2m/v1/devices/{accountname}/usage?page=N` answers `{"usage": [...], "lastPage": bool}`
//!   with page numbers from 1;
//! - `POST /m2m/v1/devices/{accountname}/webhooks` with `{"url", "signingKey"}` registers a
//!   webhook and answers `{"webhookId"}`. The signing key is a secret; registering twice makes
//!   two webhooks, so the operation is unsafe to repeat.

use serde::{Deserialize, Serialize};
use thingspace::{
    ApiRequest, Client, Response, Result, SecretString,
    de::null_as_default,
    pagination::{Items, Page, PageSource, Pages},
    path::encode_param,
};

/// Operation name, used in errors and traces.
pub const LIST_USAGE: &str = "devices.usage.list";

/// Operation name of [`Devices::register_webhook`].
pub const REGISTER_WEBHOOK: &str = "devices.webhooks.register";

/// A webhook to register. Its `Debug` never shows the signing key.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where the service will post.
    pub url: String,
    /// The key the service signs its posts with: a secret.
    pub signing_key: SecretString,
}

/// The wire body of a registration.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    url: &'a str,
    signing_key: &'a str,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookId {
    /// The new webhook's id.
    pub webhook_id: String,
}

/// One device's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceUsage {
    /// The device id.
    pub device_id: String,
    /// Bytes used this month.
    #[serde(default)]
    pub bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsagePage {
    #[serde(deserialize_with = "null_as_default")]
    usage: Vec<DeviceUsage>,
    #[serde(default)]
    last_page: bool,
}

/// The family's handle, like `M2m` or `Subsc`.
#[derive(Debug, Clone)]
pub struct Devices {
    client: Client,
}

impl Devices {
    /// The family on a ThingSpace client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Registers `webhook` for `account`. Never sent twice: a 503 or a timeout after the body
    /// went out is an `ErrorKind::OutcomeUnknown` error saying how to check.
    ///
    /// # Errors
    /// As `Client::send`, and a decode error for an answer without `webhookId`.
    pub async fn register_webhook(&self, account: &str, webhook: &Webhook) -> Result<WebhookId> {
        let request = register_webhook_request(account, webhook);
        decode_webhook_id(&self.client.send(&request).await?)
    }

    /// Every device's usage for `account`, page after page, one page fetched ahead. The paging
    /// is a closure: no `PageSource` type to write.
    ///
    /// # Errors
    /// The stream's first item is `ErrorKind::InvalidInput` for an empty account name, and
    /// nothing is sent.
    pub fn usage(
        &self,
        account: &str,
    ) -> Items<impl PageSource<Item = DeviceUsage, Cursor = u32> + use<>> {
        let check = encode_param("accountname", account).map(drop);
        let (client, account) = (self.client.clone(), account.to_owned());
        Pages::from_fn(move |cursor: Option<u32>| {
            let (client, account) = (client.clone(), account.clone());
            async move {
                let page = cursor.unwrap_or(1);
                let request = ApiRequest::get(LIST_USAGE, "/m2m/v1/devices/{accountname}/usage")
                    .path_param("accountname", account)
                    .query("page", page);
                let body: UsagePage = client.get_json(&request).await?;
                Ok(if body.last_page {
                    Page::last(body.usage)
                } else {
                    Page::more(body.usage, page.checked_add(1))
                })
            }
        })
        .checked(check)
        .items()
    }
}

/// The request of [`Devices::register_webhook`], to send yourself (with another idempotency for
/// one call, say).
pub fn register_webhook_request(account: &str, webhook: &Webhook) -> ApiRequest {
    ApiRequest::post(REGISTER_WEBHOOK, "/m2m/v1/devices/{accountname}/webhooks")
        .path_param("accountname", account)
        .json(&WebhookBody {
            url: &webhook.url,
            signing_key: webhook.signing_key.expose_secret(),
        })
        .secret_fields(&["signingKey"])
        .how_to_check("list the account's webhooks before registering it again")
}

/// Decodes the answer to a registration.
///
/// # Errors
/// A decode error naming the JSON path.
pub fn decode_webhook_id(response: &Response) -> Result<WebhookId> {
    response.json(REGISTER_WEBHOOK)
}

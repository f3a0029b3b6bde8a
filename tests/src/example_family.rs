//! A small API family written only against `thingspace-core`'s public API, as
//! `docs/extending.md` describes: one GET operation with paging. It proves the guide: if the
//! core changes in a way that breaks a family, this stops compiling.
//!
//! The operation is a hypothetical `GET /m2m/v1/devices/{accountname}/usage?page=N`, which
//! answers `{"usage": [...], "lastPage": bool}` with page numbers from 1.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thingspace::{
    ApiRequest, Client, Result,
    de::null_as_default,
    pagination::{Items, Page, PageSource, Pages},
    path::encode_param,
};

/// Operation name, used in errors and traces.
pub const LIST_USAGE: &str = "devices.usage.list";

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

    /// Every device's usage for `account`, page after page, one page fetched ahead.
    ///
    /// # Errors
    /// `ErrorKind::InvalidInput` for an empty account name, before any request.
    pub fn usage(&self, account: &str) -> Result<Items<UsagePages>> {
        encode_param("accountname", account)?;
        Ok(Pages::new(UsagePages {
            client: self.client.clone(),
            account: account.to_owned(),
        })
        .items())
    }
}

/// The paging of the usage listing: the cursor is the page number.
#[derive(Debug, Clone)]
pub struct UsagePages {
    client: Client,
    account: String,
}

#[async_trait]
impl PageSource for UsagePages {
    type Item = DeviceUsage;
    type Cursor = u32;

    async fn fetch_page(&self, cursor: Option<u32>) -> Result<Page<DeviceUsage, u32>> {
        let page = cursor.unwrap_or(1);
        let request = ApiRequest::get(LIST_USAGE, "/m2m/v1/devices/{accountname}/usage")
            .path_param("accountname", self.account.clone())
            .query("page", page);
        let body: UsagePage = self.client.get_json(&request).await?;
        Ok(if body.last_page {
            Page::last(body.usage)
        } else {
            Page::more(body.usage, page.checked_add(1))
        })
    }
}
